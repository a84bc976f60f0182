# SPDX-License-Identifier: Apache-2.0
"""A bounded HTTP/TCP client for skiff-proxy's system tests (test_proxy.py).

Run under `nsenter --net=...` with Debian's python3; prints one JSON object.

HTTP requests (the default):
  proxy_client.py --addr H:P [--n N] [--concurrency C] [--keepalive]
      [--method M] [--path P] [--header 'K: V']... [--body-size N [--chunked]
      [--expect-continue]] [--interval-ms MS] [--deadline S] [--timeout S]
  -> {"results": [{"i", "worker", "conn", "status", "upstream", "headers",
       "body" (the first 64 KiB, latin-1), "body_len", "body_sha256",
       "latency", "interim", "error"}...], "elapsed"}
  N requests in total, shared by C worker threads; each worker keeps one
  connection open with --keepalive (reconnecting when the server closes it),
  else sends `Connection: close` and connects per request.  A request body is
  pattern(N) bytes, with Content-Length or chunked (64 KiB chunks).  Workers
  stop taking requests after --deadline seconds; each socket operation times
  out after --timeout seconds (an error result).

Pipelining:
  --pipeline K   K requests in one write on one connection, then K responses

Raw bytes:
  --raw-hex HEX  sends the bytes in one write (then shuts down the sending
                 side with --shut-wr), reads until the server closes or --idle
                 seconds pass without data
  -> {"raw": latin-1 text, "closed": bool, "responses": [{"status", "headers", "body"}...]}

TCP echo:
  --tcp-echo N   sends pattern(N) on one connection, reads N bytes back
  -> {"sent", "received", "equal", "latency", "error"}

WebSocket (RFC 6455):
  --websocket TEXT   a handshake to --path (a random Sec-WebSocket-Key, the
                     --header fields added), then one masked text frame TEXT,
                     one frame read back, then a close frame (code 1000) and
                     the answer to it, and the end of the connection
  --ws-pipelined     the text frame goes in the same write as the handshake
  --ws-abrupt        after the reply, close the socket without a close frame
  -> {"status", "headers", "accept_ok", "reply", "reply_opcode", "close_code",
      "closed", "error"}
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
    out = bytearray()
    while len(out) < n:
        out += PATTERN[: n - len(out)]
    return bytes(out)


class Closed(Exception):
    pass


class Reader:
    """Reads HTTP responses from a socket through a buffer."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def fill(self):
        data = self.sock.recv(262144)
        if not data:
            raise Closed("connection closed by the server")
        self.buf += data

    def line(self):
        while b"\n" not in self.buf:
            if len(self.buf) > 65536:
                raise ValueError("line too long")
            self.fill()
        line, _, self.buf = self.buf.partition(b"\n")
        return line.rstrip(b"\r")

    def exact(self, n, sink):
        while n:
            if not self.buf:
                self.fill()
            k = min(n, len(self.buf))
            sink(self.buf[:k])
            self.buf = self.buf[k:]
            n -= k

    def to_eof(self, sink):
        while True:
            if self.buf:
                sink(self.buf)
                self.buf = b""
            try:
                self.fill()
            except Closed:
                return

    def response(self, head=False):
        """(status, headers dict (lowercase names, values joined by ', '),
        body sink result, interim statuses, must_close)."""
        interim = []
        while True:
            status_line = self.line()
            if not status_line:
                raise Closed("empty status line")
            parts = status_line.decode("latin-1").split(" ", 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
                raise ValueError(f"bad status line {status_line!r}")
            status = int(parts[1])
            headers = {}
            while True:
                h = self.line()
                if not h:
                    break
                k, _, v = h.decode("latin-1").partition(":")
                k = k.strip().lower()
                headers[k] = headers[k] + ", " + v.strip() if k in headers else v.strip()
            if 100 <= status < 200 and status != 101:
                interim.append(status)
                continue
            break
        body = Body()
        conn_hdr = headers.get("connection", "").lower()
        must_close = "close" in conn_hdr or parts[0] == "HTTP/1.0"
        if head or status in (204, 304):
            pass
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            while True:
                size = int(self.line().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.line():
                        pass
                    break
                self.exact(size, body.add)
                if self.line() != b"":
                    raise ValueError("chunk not followed by CRLF")
        elif "content-length" in headers:
            self.exact(int(headers["content-length"]), body.add)
        else:
            self.to_eof(body.add)
            must_close = True
        return status, headers, body, interim, must_close


class Body:
    def __init__(self):
        self.h = hashlib.sha256()
        self.n = 0
        self.head = bytearray()

    def add(self, data):
        self.h.update(data)
        self.n += len(data)
        if len(self.head) < 65536:
            self.head.extend(data[: 65536 - len(self.head)])


def build_request(a, close, body_len=None):
    hdrs = [f"Host: {a.host_header}"]
    hdrs += a.header
    if close:
        hdrs.append("Connection: close")
    n = a.body_size if body_len is None else body_len
    if n is not None:
        if a.chunked:
            hdrs.append("Transfer-Encoding: chunked")
        else:
            hdrs.append(f"Content-Length: {n}")
        if a.expect_continue:
            hdrs.append("Expect: 100-continue")
    head = f"{a.method} {a.path} HTTP/1.1\r\n" + "".join(h + "\r\n" for h in hdrs) + "\r\n"
    return head.encode("latin-1")


def send_body(sock, a):
    n = a.body_size
    if n is None:
        return
    sent = 0
    while sent < n:
        k = min(65536, n - sent)
        data = PATTERN[:k]
        sock.sendall(b"%x\r\n" % k + data + b"\r\n" if a.chunked else data)
        sent += k
    if a.chunked:
        sock.sendall(b"0\r\n\r\n")


def connect(a):
    s = socket.create_connection((a.host, a.port), timeout=a.timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def one_request(a, state):
    """One request on state['sock'] (connecting if needed); a result dict."""
    t0 = time.monotonic()
    res = {"status": None, "error": None}
    close = not a.keepalive
    try:
        if state.get("sock") is None:
            state["sock"] = connect(a)
            state["reader"] = Reader(state["sock"])
            state["conns"] = state.get("conns", 0) + 1
        s, r = state["sock"], state["reader"]
        s.sendall(build_request(a, close))
        if a.expect_continue and a.body_size is not None:
            # wait for the interim 100 (or a final answer) before the body
            status, headers, body, interim, must_close = None, None, None, [], False
            line = r.line()
            if b" 100 " in line + b" ":
                while r.line():
                    pass
                res["interim"] = [100]
                send_body(s, a)
                status, headers, body, interim, must_close = r.response(head=a.method == "HEAD")
            else:
                r.buf = line + b"\r\n" + r.buf
                status, headers, body, interim, must_close = r.response(head=a.method == "HEAD")
                must_close = True
        else:
            send_body(s, a)
            status, headers, body, interim, must_close = r.response(head=a.method == "HEAD")
            res["interim"] = interim
        res.update(status=status, headers=headers, upstream=headers.get("x-skiff-upstream"),
                   body=bytes(body.head).decode("latin-1"), body_len=body.n,
                   body_sha256=body.h.hexdigest())
        if must_close or close:
            drop(state)
    except (OSError, Closed, ValueError) as e:
        res["error"] = f"{type(e).__name__}: {e}"
        drop(state)
    res["latency"] = time.monotonic() - t0
    res["conn"] = state.get("conns", 0)
    return res


def drop(state):
    s = state.pop("sock", None)
    state.pop("reader", None)
    if s:
        try:
            s.close()
        except OSError:
            pass


def run_requests(a):
    results = []
    lock = threading.Lock()
    counter = iter(range(a.n))
    t_end = time.monotonic() + a.deadline

    def worker(w):
        state = {}
        while time.monotonic() < t_end:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            res = one_request(a, state)
            res["i"], res["worker"] = i, w
            with lock:
                results.append(res)
            if a.interval_ms:
                time.sleep(a.interval_ms / 1000)
        drop(state)

    threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(a.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.1, t_end - time.monotonic() + a.timeout + 1))
    with lock:
        return sorted(results, key=lambda r: r["i"])


def run_pipeline(a):
    s = connect(a)
    r = Reader(s)
    reqs = b"".join(build_request(a, close=(i == a.pipeline - 1 and not a.keepalive))
                    for i in range(a.pipeline))
    s.sendall(reqs)
    results = []
    for i in range(a.pipeline):
        t0 = time.monotonic()
        try:
            status, headers, body, interim, _ = r.response()
            results.append({"i": i, "status": status, "headers": headers,
                            "upstream": headers.get("x-skiff-upstream"),
                            "body": bytes(body.head).decode("latin-1"), "error": None,
                            "latency": time.monotonic() - t0})
        except (OSError, Closed, ValueError) as e:
            results.append({"i": i, "status": None, "error": f"{type(e).__name__}: {e}"})
            break
    s.close()
    return results


def run_raw(a):
    s = connect(a)
    s.sendall(bytes.fromhex(a.raw_hex))
    if a.shut_wr:
        s.shutdown(socket.SHUT_WR)
    data = b""
    closed = False
    t_end = time.monotonic() + a.deadline
    s.settimeout(a.idle)
    while time.monotonic() < t_end:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            closed = True
            break
        if not chunk:
            closed = True
            break
        data += chunk
    s.close()
    responses = []
    r = Reader(None)
    r.buf = data

    def nofill():
        raise Closed("end of data")
    r.fill = nofill
    while r.buf:
        try:
            status, headers, body, interim, _ = r.response()
        except (Closed, ValueError):
            break
        responses.append({"status": status, "headers": headers, "body": bytes(body.head).decode("latin-1")})
    return {"raw": data.decode("latin-1"), "closed": closed, "responses": responses}


def run_tcp_echo(a):
    t0 = time.monotonic()
    out = {"sent": a.tcp_echo, "received": 0, "equal": False, "error": None}
    try:
        s = connect(a)
        data = pattern(a.tcp_echo)
        got = bytearray()

        def reader():
            try:
                while len(got) < len(data):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    got.extend(chunk)
            except OSError as e:
                out["error"] = f"{type(e).__name__}: {e}"
        t = threading.Thread(target=reader, daemon=True)
        t.start()
        s.sendall(data)
        t.join(a.timeout)
        s.close()
        out["received"] = len(got)
        out["equal"] = bytes(got) == data
    except OSError as e:
        out["error"] = f"{type(e).__name__}: {e}"
    out["latency"] = time.monotonic() - t0
    return out


def ws_frame(opcode, payload):
    """One final, masked client frame (payloads under 64 KiB)."""
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | opcode]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack("!H", n))
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def ws_read(r):
    """(opcode, payload) of the next (unmasked) server frame."""
    buf = bytearray()
    r.exact(2, buf.extend)
    opcode, masked, n = buf[0] & 0x0F, buf[1] & 0x80, buf[1] & 0x7F
    ext = {126: 2, 127: 8}.get(n, 0)
    if ext:
        b = bytearray()
        r.exact(ext, b.extend)
        n = int.from_bytes(b, "big")
    if masked:
        raise ValueError("masked frame from the server")
    data = bytearray()
    r.exact(n, data.extend)
    return opcode, bytes(data)


def run_websocket(a):
    out = {"status": None, "headers": {}, "accept_ok": False, "reply": None, "reply_opcode": None,
           "close_code": None, "closed": False, "error": None}
    key = base64.b64encode(os.urandom(16)).decode()
    head = (f"GET {a.path} HTTP/1.1\r\nHost: {a.host_header}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            + "".join(h + "\r\n" for h in a.header) + "\r\n").encode("latin-1")
    frame = ws_frame(0x1, a.websocket.encode())
    try:
        s = connect(a)
        r = Reader(s)
        s.sendall(head + frame if a.ws_pipelined else head)
        parts = r.line().decode("latin-1").split(" ", 2)
        out["status"] = int(parts[1])
        while True:
            h = r.line()
            if not h:
                break
            k, _, v = h.decode("latin-1").partition(":")
            out["headers"][k.strip().lower()] = v.strip()
        if out["status"] != 101:
            s.close()
            return out
        want = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        out["accept_ok"] = out["headers"].get("sec-websocket-accept") == want
        if not a.ws_pipelined:
            s.sendall(frame)
        out["reply_opcode"], reply = ws_read(r)
        out["reply"] = reply.decode("utf-8", "replace")
        if a.ws_abrupt:
            s.close()
            return out
        s.sendall(ws_frame(0x8, struct.pack("!H", 1000)))
        opcode, data = ws_read(r)
        if opcode == 0x8 and len(data) >= 2:
            out["close_code"] = struct.unpack("!H", data[:2])[0]
        try:
            r.fill()
        except Closed:
            out["closed"] = True
        s.close()
    except (OSError, Closed, ValueError) as e:
        out["error"] = f"{type(e).__name__}: {e}"
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--n", type=int, default=1)
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--keepalive", action="store_true")
    ap.add_argument("--method", default="GET")
    ap.add_argument("--path", default="/")
    ap.add_argument("--host-header", default="skt")
    ap.add_argument("--header", action="append", default=[])
    ap.add_argument("--body-size", type=int)
    ap.add_argument("--chunked", action="store_true")
    ap.add_argument("--expect-continue", action="store_true")
    ap.add_argument("--interval-ms", type=float, default=0)
    ap.add_argument("--deadline", type=float, default=20)
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("--idle", type=float, default=1.0)
    ap.add_argument("--pipeline", type=int)
    ap.add_argument("--raw-hex")
    ap.add_argument("--tcp-echo", type=int)
    ap.add_argument("--shut-wr", action="store_true")
    ap.add_argument("--websocket")
    ap.add_argument("--ws-pipelined", action="store_true")
    ap.add_argument("--ws-abrupt", action="store_true")
    a = ap.parse_args()
    a.host, _, port = a.addr.rpartition(":")
    a.port = int(port)
    socket.setdefaulttimeout(a.timeout)
    t0 = time.monotonic()
    if a.raw_hex is not None:
        out = run_raw(a)
    elif a.tcp_echo is not None:
        out = run_tcp_echo(a)
    elif a.websocket is not None:
        out = run_websocket(a)
    elif a.pipeline:
        out = {"results": run_pipeline(a)}
    else:
        out = {"results": run_requests(a)}
    out["elapsed"] = time.monotonic() - t0
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
