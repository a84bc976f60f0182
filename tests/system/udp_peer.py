# SPDX-License-Identifier: Apache-2.0
"""UDP echo servers and clients for the system tests of skiff's udp proxy
mode (test_proxy_udp.py, test_network.py).  Run under `nsenter --net=...`
with Debian's python3.

  udp_peer.py serve --port P --id ID [--addr A]
      Echoes every datagram to its sender, prefixed with "ID:PORT:" (PORT:
      the sender's source port, i.e. the proxy's socket of that flow).
      Prints "listening <port>" once bound; runs until killed.

  udp_peer.py client
      Reads one JSON command per line on stdin and answers one JSON line on
      stdout, so a test can interleave sends with other actions:
        {"sock": K, "to": "H:P", "size": N, "timeout": S}
      sends a datagram of N bytes (default 16) from client socket K (made on
      first use, bound to an ephemeral port) to H:P and waits up to S seconds
      (default 1) for the echo of that very datagram (earlier, late echoes
      are skipped), -> {"ok", "id", "via", "from", "len", "intact"};
      ok false when nothing came.  `"connect": true` makes socket K a
      connected one (the kernel then drops datagrams from other sources).

Imported by the tests, Client is the other end of `udp_peer.py client`.
"""
import argparse
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time


class Client:
    """Runs `argv` (an `udp_peer.py client` command line, e.g. behind
    nsenter) and talks to it; kill() ends it (the owner calls it)."""

    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)

    def send(self, to, sock=0, size=16, timeout=1.0, connect=False):
        """One datagram to "H:P" from client socket `sock`; the answer (see above)."""
        cmd = {"sock": sock, "to": to, "size": size, "timeout": timeout, "connect": connect}
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout + 10)
        assert ready, "udp client hangs"
        line = self.proc.stdout.readline()
        assert line, f"udp client died: {self.proc.stderr.read().decode()[-2000:]}"
        return json.loads(line)

    def must(self, to, **kw):
        """send() whose datagram must come back intact."""
        r = self.send(to, **kw)
        assert r["ok"] and r["intact"], f"no intact echo through {to}: {r}"
        return r

    def kill(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.communicate(timeout=10)


def serve(args):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind((args.addr, args.port))
    print(f"listening {s.getsockname()[1]}", flush=True)
    prefix = args.id.encode() + b":"
    while True:
        data, peer = s.recvfrom(65535)
        s.sendto(prefix + str(peer[1]).encode() + b":" + data, peer)


def payload(seq, size):
    """size bytes, unique per seq, that a test can check."""
    head = f"{seq:08d}|".encode()
    body = bytes((seq + i * 7) % 251 for i in range(max(size - len(head), 0)))
    return (head + body)[:size] if size >= len(head) else head[:size]


def client(_args):
    socks = {}
    seq = 0
    for line in sys.stdin:
        cmd = json.loads(line)
        k = cmd.get("sock", 0)
        host, port = cmd["to"].rsplit(":", 1)
        to = (host, int(port))
        if k not in socks:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            s.bind(("0.0.0.0", 0))
            if cmd.get("connect"):
                s.connect(to)
            socks[k] = s
        s = socks[k]
        seq += 1
        data = payload(seq, cmd.get("size", 16))
        if cmd.get("connect"):
            s.send(data)
        else:
            s.sendto(data, to)
        deadline = time.monotonic() + cmd.get("timeout", 1.0)
        out = {"ok": False}
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([s], [], [], left)[0]:
                break
            try:
                got, src = s.recvfrom(65535)
            except ConnectionRefusedError:
                continue
            parts = got.split(b":", 2)
            if len(parts) != 3 or not parts[2].startswith(data[:9]):
                continue  # the echo of an earlier datagram
            out = {"ok": True, "id": parts[0].decode(), "via": int(parts[1]),
                   "from": f"{src[0]}:{src[1]}", "len": len(parts[2]), "intact": parts[2] == data}
            break
        print(json.dumps(out), flush=True)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    sv = sub.add_parser("serve")
    sv.add_argument("--port", type=int, required=True)
    sv.add_argument("--id", required=True)
    sv.add_argument("--addr", default="127.0.0.1")
    sub.add_parser("client")
    args = ap.parse_args()
    try:
        serve(args) if args.cmd == "serve" else client(args)
    except (KeyboardInterrupt, BrokenPipeError):
        pass
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
