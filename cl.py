import socket, time, sys
def run(port, n):
    s=socket.create_connection(("127.0.0.1",port))
    for i in range(n):
        t=time.time(); s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"); d=b""
        while not d.endswith(b"\n") or b"hello" not in d: d+=s.recv(4096)
        print(port, i, round(time.time()-t,3))
run(18070, 3); run(18080, 3)
