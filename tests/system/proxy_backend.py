# SPDX-License-Identifier: Apache-2.0
"""A small upstream for skiff-proxy's system tests (test_proxy.py).

Started by the tests under `nsenter --net=...` with Debian's python3:

  proxy_backend.py --port P --id ID [--mode MODE] [--state FILE] [--log FILE] [--tcp]

HTTP/1.1 with keep-alive, one thread per connection.  MODE (re-read from
--state FILE before every request when that file exists and is not empty,
so a test can change it while the backend runs):
  ok          200, body "<ID>\\n" (default)
  fail        500 for every request
  failn:N     500 for the first N requests, then as ok
  slow:MS     waits MS milliseconds, then as ok
  hold:MS     waits MS milliseconds or until the mode is changed (--state),
              whichever comes first, then as ok (a test holds requests in
              flight for as long as it needs them, then lets them go)
  close       reads the request, closes the connection without a response
Paths, served in modes ok / failn (after N) / slow / hold:
  /echo           200, JSON: id, method, target, headers (a list of pairs in
                  the order received), body_len, body_sha256, body (the first
                  4 KiB, latin-1)
  /chunked?n=K&size=S   K chunks of S bytes, Transfer-Encoding: chunked
  /bytes/N        N bytes (pattern(N)), Content-Length
  /delay/MS       waits MS milliseconds, then as /
  /eof?n=N        N bytes delimited by closing the connection (no length)
  /badresp        an ambiguous response (Content-Length and chunked), then close
  /status/CODE    answers CODE
  /ws             a WebSocket (RFC 6455): a GET with Connection: upgrade,
                  Upgrade: websocket and Sec-WebSocket-Key gets 101 with
                  Sec-WebSocket-Accept, then every text or binary frame is
                  answered with a frame of the same opcode whose payload is
                  "<ID>: " + the payload; pings get pongs, a close frame is
                  answered and ends the connection (as does an unmasked
                  frame, with 1002).  Any other request to /ws: 426.  The log
                  gets {"id", "conn", "event": "ws-end", "frames", "how"}.
Every response carries x-backend-id: ID.  Request bodies (Content-Length or
chunked) are read in a streaming way and only hashed.  With --log, one JSON
line per request (id, conn, method, target, headers, body_len, body_sha256)
is appended and flushed before the response is sent.

--tcp: a raw TCP echo server instead; it logs one line per connection
({"id", "conn", "event": "open"}) and echoes every byte back.

Prints "listening <port>" on stdout once the socket is bound.
"""
import argparse
import base64
import hashlib
import json
import os
import socket
import struct
import sys
import threading
import time

PATTERN = bytes(range(256)) * 256  # 64 KiB
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def pattern(n):
    """n deterministic bytes (the same function the client uses)."""
    out = bytearray()
    while len(out) < n:
        out += PATTERN[: n - len(out)]
    return bytes(out)


class BadRequest(Exception):
    pass


def ws_frame(opcode, payload, mask=None):
    """One final WebSocket frame; masked with the 4 bytes `mask` if given."""
    n = len(payload)
    head = bytes([0x80 | opcode])
    m = 0x80 if mask else 0
    if n < 126:
        head += bytes([m | n])
    elif n < 65536:
        head += bytes([m | 126]) + struct.pack("!H", n)
    else:
        head += bytes([m | 127]) + struct.pack("!Q", n)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        head += mask
    return head + payload


def ws_read(f):
    """(opcode, masked, unmasked payload) of the next frame from a binary
    file, or None at EOF."""
    h = f.read(2)
    if len(h) < 2:
        return None
    opcode, masked, n = h[0] & 0x0F, bool(h[1] & 0x80), h[1] & 0x7F
    if n == 126:
        n = struct.unpack("!H", f.read(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", f.read(8))[0]
    mask = f.read(4) if masked else None
    data = f.read(n)
    if len(data) < n:
        return None
    if mask:
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    return opcode, masked, data


class Backend:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.nreq = 0
        self.nconn = 0
        self.log = open(args.log, "a") if args.log else None

    # ---- state
    def mode(self):
        if self.args.state:
            try:
                with open(self.args.state) as f:
                    m = f.read().strip()
                if m:
                    return m
            except OSError:
                pass
        return self.args.mode

    def record(self, obj):
        if self.log:
            with self.lock:
                self.log.write(json.dumps(obj) + "\n")
                self.log.flush()

    # ---- HTTP
    def serve_http(self, conn, cid):
        f = conn.makefile("rb")
        try:
            while True:
                line = f.readline(65536)
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    continue
                try:
                    method, target, version = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
                except ValueError:
                    self.raw_response(conn, 400, b"bad request line\n", close=True)
                    return
                headers = []
                while True:
                    h = f.readline(65536)
                    if not h:
                        return
                    if h in (b"\r\n", b"\n"):
                        break
                    k, _, v = h.decode("latin-1").rstrip("\r\n").partition(":")
                    headers.append([k, v.strip()])
                hd = {}
                for k, v in headers:
                    hd.setdefault(k.lower(), []).append(v)
                with self.lock:
                    self.nreq += 1
                    n = self.nreq
                mode = self.mode()
                if "100-continue" in ",".join(hd.get("expect", [])).lower():
                    conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                try:
                    blen, bsha, bhead = self.read_body(f, hd)
                except BadRequest as e:
                    self.record({"id": self.args.id, "conn": cid, "method": method, "target": target,
                                 "headers": headers, "error": str(e)})
                    self.raw_response(conn, 400, f"{e}\n".encode(), close=True)
                    return
                self.record({"id": self.args.id, "conn": cid, "n": n, "method": method, "target": target,
                             "headers": headers, "body_len": blen, "body_sha256": bsha, "t": time.time()})
                close = version != "HTTP/1.1" or "close" in ",".join(hd.get("connection", [])).lower()
                if mode == "close":
                    return
                if target.partition("?")[0] == "/ws":
                    if self.websocket(conn, f, cid, method, hd):
                        return
                    if close:
                        return
                    continue
                if mode == "fail" or (mode.startswith("failn:") and n <= int(mode[6:])):
                    self.respond(conn, 500, b"failing\n", close, head=method == "HEAD")
                elif not self.route(conn, method, target, headers, blen, bsha, bhead, close, mode):
                    return
                if close:
                    return
        except (ConnectionError, OSError):
            return
        finally:
            f.close()

    def read_body(self, f, hd):
        """(length, sha256 hex, first 4 KiB) of the request body."""
        h = hashlib.sha256()
        head = bytearray()
        total = 0

        def take(data):
            nonlocal total
            h.update(data)
            total += len(data)
            if len(head) < 4096:
                head.extend(data[: 4096 - len(head)])

        te = ",".join(hd.get("transfer-encoding", [])).lower()
        if "chunked" in te:
            while True:
                line = f.readline(1024)
                if not line.endswith(b"\n"):
                    raise BadRequest("bad chunk size line")
                size = line.split(b";")[0].strip()
                try:
                    n = int(size, 16)
                except ValueError:
                    raise BadRequest(f"bad chunk size {size!r}")
                if n == 0:
                    while f.readline(65536) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                while n:
                    data = f.read(min(n, 65536))
                    if not data:
                        raise BadRequest("eof in chunk")
                    take(data)
                    n -= len(data)
                f.readline(16)
        elif "content-length" in hd:
            n = int(hd["content-length"][0])
            while n:
                data = f.read(min(n, 65536))
                if not data:
                    raise BadRequest("eof in body")
                take(data)
                n -= len(data)
        return total, h.hexdigest(), bytes(head)

    def route(self, conn, method, target, headers, blen, bsha, bhead, close, mode):
        """Answers one request; False if the connection must be dropped."""
        if mode.startswith("slow:"):
            time.sleep(int(mode[5:]) / 1000)
        elif mode.startswith("hold:"):
            end = time.monotonic() + int(mode[5:]) / 1000
            while time.monotonic() < end and self.mode() == mode:
                time.sleep(0.02)
        path, _, query = target.partition("?")
        q = dict(p.partition("=")[::2] for p in query.split("&") if p)
        if path.startswith("/delay/"):
            time.sleep(int(path[7:]) / 1000)
        if path == "/echo":
            body = json.dumps({"id": self.args.id, "method": method, "target": target, "headers": headers,
                               "body_len": blen, "body_sha256": bsha,
                               "body": bhead[:512].decode("latin-1")}).encode()
            self.respond(conn, 200, body, close, ctype="application/json")
        elif path == "/chunked":
            n, size = int(q.get("n", "8")), int(q.get("size", "1000"))
            head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                    f"Transfer-Encoding: chunked\r\nx-backend-id: {self.args.id}\r\n"
                    + ("Connection: close\r\n" if close else "") + "\r\n").encode()
            conn.sendall(head)
            data = pattern(n * size)
            for i in range(n):
                conn.sendall(b"%x\r\n" % size + data[i * size:(i + 1) * size] + b"\r\n")
                time.sleep(0.005)
            conn.sendall(b"0\r\n\r\n")
        elif path.startswith("/bytes/"):
            n = int(path[7:])
            head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {n}\r\n"
                    f"x-backend-id: {self.args.id}\r\n" + ("Connection: close\r\n" if close else "")
                    + "\r\n").encode()
            conn.sendall(head)
            block = PATTERN
            left = n
            while left:
                k = min(left, len(block))
                conn.sendall(block[:k])
                left -= k
        elif path == "/eof":
            # a body delimited by the end of the connection
            n = int(q.get("n", "1000"))
            conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                         f"x-backend-id: {self.args.id}\r\nConnection: close\r\n\r\n".encode() + pattern(n))
            return False
        elif path == "/badresp":
            # an ambiguous response: Content-Length and Transfer-Encoding
            conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n"
                         f"x-backend-id: {self.args.id}\r\n\r\n0\r\n\r\n".encode())
            return False
        elif path.startswith("/status/"):
            self.respond(conn, int(path[8:]), f"status {path[8:]}\n".encode(), close, head=method == "HEAD")
        else:
            self.respond(conn, 200, f"{self.args.id}\n".encode(), close, head=method == "HEAD")
        return True

    def respond(self, conn, status, body, close, ctype="text/plain", head=False):
        """A response with Content-Length; after HEAD, without the body."""
        reason = {200: "OK", 400: "Bad Request", 426: "Upgrade Required", 500: "Internal Server Error",
                  503: "Service Unavailable"}
        head_ = (f"HTTP/1.1 {status} {reason.get(status, 'Whatever')}\r\nContent-Type: {ctype}\r\n"
                 f"Content-Length: {len(body)}\r\nx-backend-id: {self.args.id}\r\n"
                 + ("Connection: close\r\n" if close else "") + "\r\n").encode()
        conn.sendall(head_ if head else head_ + body)

    def raw_response(self, conn, status, body, close):
        self.respond(conn, status, body, close)

    # ---- WebSocket
    def websocket(self, conn, f, cid, method, hd):
        """Serves /ws; True when the connection was upgraded (and is done)."""
        def tokens(name):
            return [t.strip().lower() for t in ",".join(hd.get(name, [])).split(",")]
        key = hd.get("sec-websocket-key", [""])[0]
        if method != "GET" or "upgrade" not in tokens("connection") or "websocket" not in tokens("upgrade") \
                or not key:
            self.respond(conn, 426, b"websocket upgrade required\n", False)
            return False
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        conn.sendall((f"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Accept: {accept}\r\nx-backend-id: {self.args.id}\r\n\r\n").encode())
        frames, how = 0, "eof"
        try:
            while True:
                fr = ws_read(f)
                if fr is None:
                    break
                opcode, masked, data = fr
                frames += 1
                if not masked:
                    conn.sendall(ws_frame(0x8, struct.pack("!H", 1002)))
                    how = "unmasked"
                    break
                if opcode in (0x1, 0x2):
                    conn.sendall(ws_frame(opcode, f"{self.args.id}: ".encode() + data))
                elif opcode == 0x9:
                    conn.sendall(ws_frame(0xA, data))
                elif opcode == 0x8:
                    conn.sendall(ws_frame(0x8, data[:2]))
                    how = "close"
                    break
        except (ConnectionError, OSError):
            how = "error"
        self.record({"id": self.args.id, "conn": cid, "event": "ws-end", "frames": frames, "how": how,
                     "t": time.time()})
        return True

    # ---- TCP
    def serve_tcp(self, conn, cid):
        self.record({"id": self.args.id, "conn": cid, "event": "open", "t": time.time()})
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                conn.sendall(data)
        except OSError:
            pass

    # ---- accept loop
    def handle(self, conn):
        with self.lock:
            self.nconn += 1
            cid = self.nconn
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.args.tcp:
                self.serve_tcp(conn, cid)
            else:
                self.serve_http(conn, cid)
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def run(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.args.host, self.args.port))
        s.listen(512)
        print(f"listening {s.getsockname()[1]}", flush=True)
        while True:
            conn, _ = s.accept()
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--id", required=True)
    ap.add_argument("--mode", default="ok")
    ap.add_argument("--state")
    ap.add_argument("--log")
    ap.add_argument("--tcp", action="store_true")
    args = ap.parse_args()
    try:
        Backend(args).run()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
