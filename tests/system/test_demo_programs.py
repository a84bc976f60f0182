# SPDX-License-Identifier: Apache-2.0
"""The demo apps' programs (examples/programs), run directly on the host:
shopd's endpoints, roles (catalog, recommendations, popular) and HTTP
behaviour over loopback on ephemeral ports (keep-alive, pipelining, /slow not
blocking others, strict parsing, /fail, exit codes); the gateway forwarding to
shopd and to scripted upstreams (status, body and X-Served-By passed on, 502
for refused, reset or junk answers, 504 after its timeout while it keeps
answering others); worker's lines, streams and exit codes.  Plus `skiff
config` on examples/demo and examples/shop.

Builds nothing: the binaries come from $SKIFF_EXAMPLES (default
build/examples), where scripts/mk-demo-images.sh puts them.  The tests of
/tmp/unhealthy and /tmp/fail need root (they give shopd a private /tmp), and
so does the gateway's name resolution test (a network and mount namespace of
its own, with a scripted nameserver and its own /etc/resolv.conf and
/etc/hosts)."""
import json
import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.environ.get("SKIFF_EXAMPLES", os.path.join(REPO, "build", "examples"))
BUILD = os.environ.get("SKIFF_BUILD", os.path.join(REPO, "build", "san"))
TIMEOUT = 10


def program(name):
    path = os.path.join(EXAMPLES, name)
    assert os.access(path, os.X_OK), f"{path} not built (scripts/mk-demo-images.sh builds it)"
    return path


SHOPD_STARTED = r"shopd: (?P<name>\S+) listening on 127\.0\.0\.1:(?P<port>\d+) \(pid (?P<pid>\d+), replica (?P<replica>.*)\)$"
GATEWAY_STARTED = (r"gateway: listening on 127\.0\.0\.1:(?P<port>\d+) \(pid (?P<pid>\d+), replica (?P<replica>.*)\), "
                   r"catalog (?P<catalog>\S+), recommendations (?P<recommendations>\S+), timeout (?P<timeout>\d+) ms$")


class Server:
    """A running shopd or gateway on 127.0.0.1:<ephemeral port>; its stdout
    lines are collected by a thread."""

    def __init__(self, argv, env, started=SHOPD_STARTED):
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        self.lines = queue.Queue()
        self.log = []
        self.reader = threading.Thread(target=self._reader, daemon=True)
        self.reader.start()
        first = self.next_line()
        m = re.match(started, first)
        assert m, f"unexpected startup line {first!r}"
        self.started = m.groupdict()
        self.name, self.port, self.replica = m.groupdict().get("name"), int(m["port"]), m["replica"]
        assert int(m["pid"]) == self.proc.pid

    def _reader(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def next_line(self, timeout=TIMEOUT):
        line = self.lines.get(timeout=timeout)
        assert line is not None, "the server closed its stdout"
        self.log.append(line)
        return line

    def wait_line(self, pattern, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            line = self.next_line(max(0.01, deadline - time.monotonic()))
            if re.search(pattern, line):
                return line

    def connect(self):
        return Client(self.port)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=TIMEOUT)
        self.reader.join(timeout=TIMEOUT)  # it reads to the end of the pipe
        self.proc.stdout.close()


@pytest.fixture
def start_shopd():
    started = []

    def start(name="web", prefix=(), **more):
        env = {"PATH": "/usr/bin:/bin", "PORT": "0", "ADDR": "127.0.0.1", "NAME": name, **more}
        if name is None:
            del env["NAME"]
        s = Server([*prefix, program("shopd")], env)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


@pytest.fixture
def shopd(start_shopd):
    return start_shopd()


class Client:
    """One connection to shopd, read through a buffer: pipelined answers
    arrive together."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.f = self.sock.makefile("rb")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.f.close()
        self.sock.close()

    def send(self, raw):
        self.sock.sendall(raw)

    def response(self, head=False):
        """The next answer: (status, headers with lowercase names, body).
        Reads exactly Content-Length body bytes (none after HEAD)."""
        status = self.f.readline().decode()
        m = re.match(r"HTTP/1\.1 (\d{3}) \S.*\r\n$", status)
        assert m, f"bad status line {status!r}"
        headers = {}
        while (line := self.f.readline().decode()) != "\r\n":
            assert line.endswith("\r\n"), f"bad header line {line!r}"
            k, v = line.split(":", 1)
            headers[k.lower()] = v.strip()
        n = 0 if head else int(headers["content-length"])
        body = self.f.read(n)
        assert len(body) == n, "connection closed inside a body"
        return int(m.group(1)), headers, body

    def request(self, raw, head=False):
        self.send(raw)
        return self.response(head)

    def assert_closed(self):
        # A reset counts: closing with unread bytes (a 431 leaves some) sends RST.
        try:
            assert self.f.read(1) == b"", "the server kept the connection open"
        except ConnectionResetError:
            pass


def req(path, method="GET", extra=""):
    return f"{method} {path} HTTP/1.1\r\nHost: t\r\n{extra}\r\n".encode()


def get(srv, path, extra=""):
    with srv.connect() as c:
        return c.request(req(path, extra=extra))


# ------------------------------------------------------------------ shopd

def test_root_reports_service_replica_pid_and_count(shopd):
    st, h, body = get(shopd, "/")
    assert st == 200 and h["content-type"] == "application/json"
    assert json.loads(body) == {"service": "web", "replica": socket.gethostname(),
                                "pid": shopd.proc.pid, "requests": 1}
    assert json.loads(get(shopd, "/")[2])["requests"] == 2


def test_name_is_json_escaped(start_shopd):
    srv = start_shopd(name='we"b\\x')
    assert json.loads(get(srv, "/")[2])["service"] == "we_b_x"


def test_healthz_and_items(shopd):
    assert get(shopd, "/healthz")[:1] == (200,) and get(shopd, "/healthz")[2] == b"ok\n"
    st, h, body = get(shopd, "/items")
    doc = json.loads(body)
    assert st == 200 and h["content-type"] == "application/json"
    assert doc["service"] == "web" and doc["replica"] == socket.gethostname()
    items = doc["items"]
    assert [i["name"] for i in items] == ["teapot", "kettle", "mug", "tea tin"]
    assert all(set(i) == {"id", "name", "price_cents", "stock"} for i in items)
    assert get(shopd, "/recommendations")[0] == 404  # the catalog role has none


@pytest.mark.root
def test_healthz_500_while_tmp_unhealthy_exists(start_shopd, tmp_path):
    # A private mount namespace with its own /tmp: the host's /tmp is not touched.
    if os.path.realpath(EXAMPLES).startswith("/tmp/"):
        pytest.skip("the binaries are under /tmp, which this test hides")
    srv = start_shopd(prefix=("unshare", "--mount", "--propagation", "private", "sh", "-c",
                              'mount -t tmpfs tmpfs /tmp && exec "$0"'))
    assert get(srv, "/healthz")[0] == 200
    pid = srv.proc.pid  # sh exec'd shopd: same pid
    subprocess.run(["nsenter", "-t", str(pid), "-m", "touch", "/tmp/unhealthy"], check=True)
    st, _, body = get(srv, "/healthz")
    assert (st, body) == (500, b"unhealthy\n")
    subprocess.run(["nsenter", "-t", str(pid), "-m", "rm", "/tmp/unhealthy"], check=True)
    assert get(srv, "/healthz")[0] == 200


def test_recommendations_role_picks_differ_per_request(start_shopd):
    srv = start_shopd(name=None, ROLE="recommendations")
    assert srv.name == "recommendations"  # NAME defaults to the ROLE
    answers = []
    for _ in range(3):
        st, h, body = get(srv, "/recommendations")
        assert st == 200 and h["content-type"] == "application/json"
        answers.append(json.loads(body))
    for a in answers:
        assert set(a) == {"source", "replica", "items"}
        assert a["source"] == "recommendations" and a["replica"] == socket.gethostname()
        assert len(a["items"]) == 3 and all(set(i) == {"id", "name", "reason"} for i in a["items"])
    assert answers[0]["items"] != answers[1]["items"] != answers[2]["items"]
    assert get(srv, "/items")[0] == 404


def test_popular_role_serves_the_same_path_with_fixed_titles(start_shopd):
    srv = start_shopd(name="popular", ROLE="popular")
    a, b = (json.loads(get(srv, "/recommendations")[2]) for _ in range(2))
    assert a == b and a["source"] == "popular" and a["replica"] == socket.gethostname()
    assert [i["name"] for i in a["items"]] == ["teapot", "mug", "kettle"]
    assert get(srv, "/items")[0] == 404


def test_invalid_role_exits_2():
    p = subprocess.run([program("shopd")], env={"ROLE": "cart"}, capture_output=True, text=True,
                       timeout=TIMEOUT)
    assert p.returncode == 2 and "invalid ROLE 'cart'" in p.stderr


def test_fail_answers_the_code_and_keeps_the_connection(shopd):
    with shopd.connect() as c:
        st, h, body = c.request(req("/fail?code=503"))
        assert (st, h["connection"], body) == (503, "keep-alive", b"failed on request\n")
        assert c.request(req("/fail?code=500"))[0] == 500
        assert c.request(req("/healthz"))[0] == 200
    shopd.wait_line(r"^GET /fail\?code=503 503 \d+\.\dms$")
    for bad in ("/fail", "/fail?code=499", "/fail?code=600", "/fail?code=5x3", "/fail?x=503"):
        assert get(shopd, bad)[0] == 400, bad


@pytest.mark.root
def test_every_request_but_healthz_gets_503_while_tmp_fail_exists(start_shopd):
    if os.path.realpath(EXAMPLES).startswith("/tmp/"):
        pytest.skip("the binaries are under /tmp, which this test hides")
    srv = start_shopd(prefix=("unshare", "--mount", "--propagation", "private", "sh", "-c",
                              'mount -t tmpfs tmpfs /tmp && exec "$0"'), ROLE="catalog")
    assert get(srv, "/items")[0] == 200
    subprocess.run(["nsenter", "-t", str(srv.proc.pid), "-m", "touch", "/tmp/fail"], check=True)
    for path in ("/items", "/", "/nope", "/slow?ms=1"):
        st, _, body = get(srv, path)
        assert (st, body) == (503, b"failing: /tmp/fail exists\n"), path
    assert get(srv, "/healthz")[0] == 200  # healthy all along: only the proxy notices
    subprocess.run(["nsenter", "-t", str(srv.proc.pid), "-m", "rm", "/tmp/fail"], check=True)
    assert get(srv, "/items")[0] == 200


def test_head_has_the_length_and_no_body(shopd):
    with shopd.connect() as c:
        st, h, body = c.request(req("/items", "HEAD"), head=True)
        assert st == 200 and int(h["content-length"]) > 100 and body == b""
        # the same connection goes on: no body bytes were left behind
        st, h, body = c.request(req("/items"))
        assert st == 200 and len(body) == int(h["content-length"])


def test_keep_alive_two_requests_on_one_connection(shopd):
    with shopd.connect() as c:
        st1, h1, b1 = c.request(req("/"))
        st2, h2, b2 = c.request(req("/"))
    assert (st1, st2) == (200, 200)
    assert h1["connection"] == h2["connection"] == "keep-alive"
    assert json.loads(b2)["requests"] == json.loads(b1)["requests"] + 1


def test_pipelined_requests_are_answered_in_order(shopd):
    with shopd.connect() as c:
        c.send(req("/healthz") + req("/nope") + req("/", extra="Connection: close\r\n"))
        assert c.response()[0] == 200
        assert c.response()[0] == 404
        st, h, _ = c.response()
        assert st == 200 and h["connection"] == "close"
        c.assert_closed()


def test_slow_does_not_block_other_connections(shopd):
    with shopd.connect() as slow:
        t0 = time.monotonic()
        slow.send(req("/slow?ms=1500"))
        time.sleep(0.1)
        st, _, _ = get(shopd, "/healthz")
        fast = time.monotonic() - t0
        assert st == 200 and fast < 1.0, f"/healthz waited {fast:.2f}s behind /slow"
        st, _, body = slow.response()
        took = time.monotonic() - t0
    assert (st, body) == (200, b"done\n")
    assert 1.4 < took < 5, took
    shopd.wait_line(r"^GET /slow\?ms=1500 200 1[5-9]\d\d\.\dms$")


def test_many_connections_at_once(shopd):
    clients = [shopd.connect() for _ in range(200)]
    try:
        for c in clients:
            c.send(req("/healthz"))
        assert all(c.response()[0] == 200 for c in clients)
    finally:
        for c in clients:
            c.close()


def test_one_log_line_per_request(shopd):
    get(shopd, "/")
    get(shopd, "/nope")
    assert re.match(r"^GET / 200 \d+\.\dms$", shopd.next_line())
    assert re.match(r"^GET /nope 404 \d+\.\dms$", shopd.next_line())


BAD_REQUESTS = [  # (id, request, status)
    ("post", b"POST / HTTP/1.1\r\nHost: t\r\n\r\n", 405),
    ("delete", b"DELETE /items HTTP/1.1\r\nHost: t\r\n\r\n", 405),
    ("no-host", b"GET / HTTP/1.1\r\n\r\n", 400),
    ("http2", b"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505),
    ("ftp", b"GET / FTP/1.1\r\nHost: t\r\n\r\n", 400),
    ("two-spaces", b"GET  / HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    ("lowercase-method", b"get / HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    ("relative-target", b"GET nope HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    ("space-before-colon", b"GET / HTTP/1.1\r\nHost : t\r\n\r\n", 400),
    ("obs-fold", b"GET / HTTP/1.1\r\nHost: t\r\n folded\r\n\r\n", 400),
    ("bare-cr", b"GET / HTTP/1.1\r\nHost: t\rx\r\n\r\n", 400),
    ("nul", b"GET / HTTP/1.1\r\nHost: t\r\nX: a\x00b\r\n\r\n", 400),
    ("content-length", b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello", 400),
    ("chunked", b"GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("long-target", b"GET /" + b"a" * 200 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    ("head-too-large", b"GET / HTTP/1.1\r\nHost: t\r\nX: " + b"a" * 9000 + b"\r\n\r\n", 431),
    ("slow-ms-junk", b"GET /slow?ms=abc HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    ("slow-ms-negative", b"GET /slow?ms=-1 HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    ("slow-ms-too-big", b"GET /slow?ms=60001 HTTP/1.1\r\nHost: t\r\n\r\n", 400),
]


@pytest.mark.parametrize("raw, status", [r[1:] for r in BAD_REQUESTS],
                         ids=[r[0] for r in BAD_REQUESTS])
def test_bad_requests_are_refused_and_closed(shopd, raw, status):
    with shopd.connect() as c:
        st, h, _ = c.request(raw)
        assert st == status
        assert h["connection"] == "close"
        if status == 405:
            assert h["allow"] == "GET, HEAD"
        c.assert_closed()
    assert get(shopd, "/healthz")[0] == 200  # and the server goes on


def test_http10_closes_after_the_answer(shopd):
    with shopd.connect() as c:
        st, h, body = c.request(b"GET /healthz HTTP/1.0\r\n\r\n")
        assert (st, h["connection"], body) == (200, "close", b"ok\n")
        c.assert_closed()


def test_idle_connection_does_not_block_others(shopd):
    with shopd.connect() as idle:
        idle.send(b"GET / HTTP/1.1\r\nHost")  # half a head, then nothing
        assert get(shopd, "/healthz")[0] == 200


def test_crash_answers_then_exits_3(shopd):
    st, h, body = get(shopd, "/crash")
    assert (st, body) == (200, b"crashing\n")
    assert shopd.proc.wait(timeout=TIMEOUT) == 3


def test_sigterm_exits_0_and_closes_the_listener(shopd):
    port = shopd.port
    with shopd.connect() as c:
        c.request(req("/"))  # an open keep-alive connection does not hold it up
        shopd.proc.send_signal(signal.SIGTERM)
        assert shopd.proc.wait(timeout=TIMEOUT) == 0
    shopd.wait_line(r"^shutting down$")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT).close()


def test_invalid_port_exits_2():
    p = subprocess.run([program("shopd")], env={"PORT": "80x"}, capture_output=True, text=True,
                       timeout=TIMEOUT)
    assert p.returncode == 2 and "invalid PORT" in p.stderr


# ----------------------------------------------------------------- worker

def run_worker(timeout=TIMEOUT, **env):
    e = {"PATH": "/usr/bin:/bin", "INTERVAL_MS": "10"}
    e.update({k: str(v) for k, v in env.items()})
    return subprocess.run([program("worker")], env=e, capture_output=True, text=True, timeout=timeout)


def test_worker_exit_after_n_lines_with_exit_code():
    p = run_worker(EXIT_AFTER=3, EXIT_CODE=7, NAME="jobs")
    assert p.returncode == 7
    out = p.stdout.splitlines()
    assert out[0].startswith("jobs: started (pid ")
    assert out[1:] == ["jobs: tick 1", "jobs: tick 2", "jobs: tick 3",
                       "jobs: exiting with 7 after 3 ticks"]


def test_worker_exit_code_defaults_to_1():
    assert run_worker(EXIT_AFTER=1).returncode == 1


def test_worker_every_fifth_line_goes_to_stderr():
    p = run_worker(EXIT_AFTER=10, EXIT_CODE=0)
    assert p.returncode == 0
    assert p.stderr.splitlines() == ["worker: tick 5 (stderr)", "worker: tick 10 (stderr)"]
    ticks = [int(m) for m in re.findall(r"^worker: tick (\d+)$", p.stdout, re.M)]
    assert ticks == [1, 2, 3, 4, 6, 7, 8, 9]


def test_worker_sigterm_exits_0():
    w = subprocess.Popen([program("worker")], env={"INTERVAL_MS": "20"}, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    try:
        assert w.stdout.readline().startswith("worker: started")
        assert w.stdout.readline() == "worker: tick 1\n"
        w.send_signal(signal.SIGTERM)
        assert w.wait(timeout=TIMEOUT) == 0
        assert re.match(r"worker: stopping after \d+ ticks$", w.stdout.read().splitlines()[-1])
    finally:
        if w.poll() is None:
            w.kill()
            w.wait()
        w.stdout.close()


def test_worker_alloc_mb_touches_the_memory():
    w = subprocess.Popen([program("worker")], env={"INTERVAL_MS": "60000", "ALLOC_MB": "40"},
                         stdout=subprocess.PIPE, text=True)
    try:
        lines = [w.stdout.readline() for _ in range(4)]
        assert lines[-1] == "worker: allocated 40 MiB\n", lines
        with open(f"/proc/{w.pid}/status") as f:
            rss_kb = int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1))
        assert rss_kb >= 40 * 1024, rss_kb
        w.terminate()
        assert w.wait(timeout=TIMEOUT) == 0
    finally:
        if w.poll() is None:
            w.kill()
            w.wait()
        w.stdout.close()


@pytest.mark.parametrize("env", [{"EXIT_AFTER": "x"}, {"INTERVAL_MS": "0"}, {"EXIT_CODE": "256"},
                                 {"ALLOC_MB": "-1"}, {"INTERVAL_MS": "99999999999999999999"}])
def test_worker_rejects_bad_settings(env):
    p = run_worker(**env)
    assert p.returncode == 2 and "invalid" in p.stderr


# ----------------------------------------------------------- compose file

def test_demo_compose_file_loads_without_warnings():
    skiff = os.path.join(BUILD, "skiff")
    assert os.access(skiff, os.X_OK), f"{skiff} not built"
    compose = os.path.join(REPO, "examples", "demo", "compose.yaml")
    p = subprocess.run([skiff, "config", "--json", "-f", compose], capture_output=True, text=True,
                       timeout=TIMEOUT)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    app = json.loads(p.stdout)
    svcs = app["services"]
    assert app["name"] == "demo" and sorted(svcs) == ["api", "web", "worker"]
    assert svcs["web"]["replicas"] == 3
    assert svcs["worker"]["depends_on"]["web"]["condition"] == "service_healthy"
    assert svcs["api"]["x-skiff"]["health"]["http"]["port"] == 18080
