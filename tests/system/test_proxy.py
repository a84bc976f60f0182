# SPDX-License-Identifier: Apache-2.0
"""skiff-proxy, the standalone load-balancing proxy, seen from its clients
and its upstreams (docs/proxy.md is the contract).

Everything runs inside one network namespace this module creates
(skt-proxy-<pid>, lo up): the upstreams (proxy_backend.py), skiff-proxy and
the clients (proxy_client.py) are started with `nsenter --net=...`, so no
test touches the host's network.  Ports are fixed per test from a counter;
the namespace is otherwise empty.  Each test's `lab` kills what it started,
by PID, and fails the test if skiff-proxy did not exit 0 on SIGTERM or wrote
a sanitizer report.

Skipped when $SKIFF_BUILD/skiff-proxy does not exist.  Needs root (ip netns).
"""
import contextlib
import hashlib
import itertools
import json
import os
import re
import select
import signal
import subprocess
import threading
import time

import pytest

from conftest import BUILD, HERE, proc_status, read, wait_for
from proxy_backend import pattern

PROXY = os.path.abspath(os.path.join(BUILD, "skiff-proxy"))
BACKEND = os.path.join(HERE, "proxy_backend.py")
CLIENT = os.path.join(HERE, "proxy_client.py")
PYTHON = "/usr/bin/python3"
LO = "127.0.0.1"

if not os.access(PROXY, os.X_OK):
    pytest.skip(f"{PROXY} not built", allow_module_level=True)

pytestmark = pytest.mark.root

SANITIZER = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:", "Sanitizer")

_ports = itertools.count(21000)


def sha(data):
    return hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------- namespace

@pytest.fixture(scope="module")
def netns():
    if os.geteuid() != 0:
        pytest.skip("needs root (ip netns)")
    name = f"skt-proxy-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=10)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True, timeout=10)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], timeout=10)


def in_ns(ns, argv):
    return ["nsenter", f"--net=/run/netns/{ns}"] + [str(a) for a in argv]


def listening_ports(ns):
    out = subprocess.run(in_ns(ns, ["ss", "-Hltn"]), capture_output=True, text=True, timeout=10,
                         check=True).stdout
    ports = set()
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 4:
            ports.add(int(f[3].rsplit(":", 1)[1]))
    return ports


# ------------------------------------------------------------- processes

class Backend:
    """One proxy_backend.py: .id, .port, .addr, .pid; .requests() reads its
    log; .set_mode() changes its mode while it runs."""

    def __init__(self, lab, bid, mode, tcp):
        self.lab, self.id = lab, bid
        self.port = next(_ports)
        self.addr = f"{LO}:{self.port}"
        self.log_path = os.path.join(lab.dir, f"backend-{bid}.log")
        self.state_path = os.path.join(lab.dir, f"backend-{bid}.state")
        argv = [PYTHON, BACKEND, "--port", self.port, "--id", bid, "--mode", mode,
                "--log", self.log_path, "--state", self.state_path] + (["--tcp"] if tcp else [])
        self.err = open(os.path.join(lab.dir, f"backend-{bid}.err"), "wb")
        self.proc = subprocess.Popen(in_ns(lab.ns, argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self.err)
        self.pid = self.proc.pid  # nsenter execs python: the same pid
        ready, _, _ = select.select([self.proc.stdout], [], [], 10)
        line = self.proc.stdout.readline().decode() if ready else ""
        assert line.startswith("listening"), f"backend {bid} did not start: {line!r} {read(self.err.name, '')}"

    def requests(self):
        return [json.loads(x) for x in read(self.log_path, "").splitlines() if x.strip()]

    def set_mode(self, mode):
        with open(self.state_path + ".tmp", "w") as f:
            f.write(mode)
        os.rename(self.state_path + ".tmp", self.state_path)

    def kill(self):
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.proc.stdout.close()
        self.err.close()


class Proxy:
    """One skiff-proxy: .pid, .port (of its first listener), .metrics_addr;
    .reload(config) rewrites the file and sends SIGHUP."""

    def __init__(self, lab, config, threads=2, metrics=True, env=None, wait=True, raw_config=None):
        self.lab = lab
        self.n = len(lab.proxies)
        self.config_path = os.path.join(lab.dir, f"proxy{self.n}.json")
        self.err_path = os.path.join(lab.dir, f"proxy{self.n}.err")
        if raw_config is None:
            self.write(config)
        else:
            with open(self.config_path, "w") as f:
                f.write(raw_config)
            config = {}
        self.metrics_addr = f"{LO}:{next(_ports)}" if metrics else None
        argv = [PROXY, "--config", self.config_path, "--threads", threads]
        if metrics:
            argv += ["--metrics-addr", self.metrics_addr]
        self.err = open(self.err_path, "wb")
        self.proc = subprocess.Popen(in_ns(lab.ns, argv), stdin=subprocess.DEVNULL, stdout=self.err,
                                     stderr=self.err, env=env)
        self.pid = self.proc.pid
        self.listeners = [x["address"] for x in config.get("listeners", [])]
        if wait:
            wait_for(lambda: "skiff-proxy: listening on" in self.stderr() or self.proc.poll() is not None,
                     timeout=10, what="skiff-proxy to listen")
            assert self.proc.poll() is None, f"skiff-proxy exited {self.proc.returncode}: {self.stderr()}"

    @property
    def addr(self):
        return self.listeners[0]

    def write(self, config):
        with open(self.config_path + ".tmp", "w") as f:
            json.dump(config, f, indent=1)
        os.rename(self.config_path + ".tmp", self.config_path)

    def reload(self, config):
        self.write(config)
        os.kill(self.pid, signal.SIGHUP)

    def stderr(self):
        return read(self.err_path, "")

    def rss_kb(self):
        return int(proc_status(read(f"/proc/{self.pid}/status"))["VmRSS"].split()[0])

    def stop(self):
        """SIGTERM; the problems seen (exit status, sanitizer reports)."""
        problems = []
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                problems.append(f"skiff-proxy {self.pid} did not exit on SIGTERM")
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(10)
            if self.proc.returncode != 0 and not problems:
                problems.append(f"skiff-proxy exited {self.proc.returncode} on SIGTERM")
        self.err.close()
        err = self.stderr()
        if any(s in err for s in SANITIZER):
            problems.append("sanitizer report from skiff-proxy:\n" + err[-6000:])
        return problems


class Lab:
    """What one test starts inside the module's namespace."""

    def __init__(self, ns, workdir):
        self.ns, self.dir = ns, workdir
        self.backends, self.proxies, self.bg = [], [], []

    def backend(self, bid, mode="ok", tcp=False):
        b = Backend(self, bid, mode, tcp)
        self.backends.append(b)
        return b

    def proxy(self, config, **kw):
        p = Proxy(self, config, **kw)
        self.proxies.append(p)
        return p

    def dead_addr(self):
        """An address nothing listens on (connect is refused)."""
        return f"{LO}:{next(_ports)}"

    def client_argv(self, addr, n=1, concurrency=1, keepalive=False, method="GET", path="/",
                    headers=(), body_size=None, chunked=False, expect_continue=False, interval_ms=0,
                    deadline=20, timeout=10, pipeline=None, raw=None, tcp_echo=None, idle=1.0, shut_wr=False,
                    websocket=None, ws_pipelined=False, ws_abrupt=False):
        argv = [PYTHON, CLIENT, "--addr", addr, "--n", n, "--concurrency", concurrency, "--method", method,
                "--path", path, "--deadline", deadline, "--timeout", timeout, "--idle", idle,
                "--interval-ms", interval_ms]
        for h in headers:
            argv += ["--header", h]
        if keepalive:
            argv.append("--keepalive")
        if body_size is not None:
            argv += ["--body-size", body_size]
        if chunked:
            argv.append("--chunked")
        if expect_continue:
            argv.append("--expect-continue")
        if pipeline:
            argv += ["--pipeline", pipeline]
        if raw is not None:
            argv += ["--raw-hex", raw.hex()]
        if tcp_echo is not None:
            argv += ["--tcp-echo", tcp_echo]
        if shut_wr:
            argv.append("--shut-wr")
        if websocket is not None:
            argv += ["--websocket", websocket]
        if ws_pipelined:
            argv.append("--ws-pipelined")
        if ws_abrupt:
            argv.append("--ws-abrupt")
        return in_ns(self.ns, argv)

    def client(self, addr, **kw):
        """Runs proxy_client.py to the end; its JSON output."""
        argv = self.client_argv(addr, **kw)
        limit = kw.get("deadline", 20) + kw.get("timeout", 10) + 10
        p = subprocess.run(argv, capture_output=True, timeout=limit)
        assert p.returncode == 0, f"client failed: {p.stderr.decode()[-3000:]}"
        return json.loads(p.stdout)

    def client_bg(self, addr, **kw):
        """Starts proxy_client.py; .result() waits for its JSON output."""
        c = BgClient(self.client_argv(addr, **kw), kw.get("deadline", 20) + kw.get("timeout", 10) + 10)
        self.bg.append(c)
        return c

    def teardown(self):
        problems = []
        for c in self.bg:
            c.kill()
        for p in self.proxies:
            problems += p.stop()
        for b in self.backends:
            b.kill()
        return problems


class BgClient:
    def __init__(self, argv, limit):
        self.limit = limit
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)

    def result(self):
        out, err = self.proc.communicate(timeout=self.limit)
        assert self.proc.returncode == 0, f"client failed: {err.decode()[-3000:]}"
        return json.loads(out)

    def kill(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            self.proc.communicate(timeout=10)


@pytest.fixture
def lab(netns, tmp_path):
    lab = Lab(netns, str(tmp_path))
    yield lab
    problems = lab.teardown()
    assert not problems, "; ".join(problems)


# ------------------------------------------------------------- config

def cluster(name, endpoints=(), policy=None, fault=None, fallback=None, app="skt", service=None):
    """A clusters[] entry; endpoints are Backends or (id, address) pairs."""
    c = {"name": name, "app": app, "service": service or name.replace("/", "-"),
         "endpoints": [{"id": e.id, "address": e.addr} if isinstance(e, Backend) else
                       {"id": e[0], "address": e[1]} for e in endpoints]}
    if policy:
        c["policy"] = policy
    if fault:
        c["fault"] = fault
    if fallback:
        c["fallback"] = fallback
    return c


def config(*clusters, listen=None):
    """A config: `listen` maps addresses to cluster names (default: one new
    port for the first cluster)."""
    if listen is None:
        listen = {f"{LO}:{next(_ports)}": clusters[0]["name"]}
    return {"listeners": [{"address": a, "cluster": c} for a, c in listen.items()],
            "clusters": list(clusters)}


def simple(lab, backends, **kw):
    """A proxy with one listener and one cluster 'web' over backends."""
    return lab.proxy(config(cluster("web", backends, **kw)))


# ------------------------------------------------------------- helpers

_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][\w:]*)(\{.*\})?\s+(\S+)$", line)
        assert m, f"bad metrics line {line!r}"
        labels = dict(_LABEL.findall(m.group(2) or ""))
        out.append((m.group(1), labels, float(m.group(3))))
    return out


def msum(samples, name, **labels):
    """Sum of the samples called name whose labels include `labels`."""
    return sum(v for n, lb, v in samples if n == name and all(lb.get(k) == w for k, w in labels.items()))


def get_metrics(proxy):
    """Full /metrics text (the client keeps only 2000 body bytes, so read it raw)."""
    req = f"GET /metrics HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n".encode()
    out = proxy.lab.client(proxy.metrics_addr, raw=req, idle=2.0)
    head, _, body = out["raw"].partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 200"), out["raw"][:500]
    if "chunked" in head.lower():
        body = dechunk(body)
    return parse_metrics(body)


def dechunk(s):
    out = []
    while True:
        size, _, rest = s.partition("\r\n")
        n = int(size.split(";")[0], 16)
        if n == 0:
            return "".join(out)
        out.append(rest[:n])
        s = rest[n + 2:]


def statuses(out):
    return [r["status"] for r in out["results"]]


def upstreams(out):
    counts = {}
    for r in out["results"]:
        counts[r.get("upstream")] = counts.get(r.get("upstream"), 0) + 1
    return counts


def brief(r):
    """The interesting part of one client result, for failure messages."""
    return {k: r.get(k) for k in ("i", "status", "error", "upstream", "latency") if r.get(k) is not None}


def all_ok(out, n):
    res = out["results"]
    bad = [brief(r) for r in res if r["status"] != 200]
    assert len(res) == n and not bad, f"{len(res)} results of {n}, {len(bad)} not 200: {bad[:8]}"


def wait_upstream(lab, addr, want, tries=100):
    """Sends requests until one is answered by endpoint `want` (a reload
    took effect)."""
    for _ in range(tries):
        r = lab.client(addr, n=5, keepalive=False)
        if want in upstreams(r):
            return
        time.sleep(0.02)
    pytest.fail(f"endpoint {want} never answered")


# ============================================================= balancing

def test_round_robin_spreads_requests_evenly(lab):
    bs = [lab.backend(f"rr{i}") for i in range(3)]
    p = simple(lab, bs, policy={"lb": "round_robin"})
    out = lab.client(p.addr, n=300, concurrency=3, keepalive=True)
    all_ok(out, 300)
    counts = upstreams(out)
    assert set(counts) == {"rr0", "rr1", "rr2"}, counts
    assert all(85 <= counts[b.id] <= 115 for b in bs), counts
    # the header names the endpoint that really answered
    assert all(r["upstream"] + "\n" == r["body"] for r in out["results"])
    assert sum(len(b.requests()) for b in bs) == 300


def test_round_robin_one_connection_is_exact(lab):
    bs = [lab.backend(f"rx{i}") for i in range(3)]
    p = simple(lab, bs)
    out = lab.client(p.addr, n=60, keepalive=True)
    all_ok(out, 60)
    assert upstreams(out) == {"rx0": 20, "rx1": 20, "rx2": 20}


def test_least_request_prefers_the_fast_endpoints(lab):
    slow = lab.backend("lr-slow", mode="slow:300")
    fast = [lab.backend(f"lr-fast{i}") for i in range(2)]
    p = simple(lab, [slow] + fast, policy={"lb": "least_request"})
    out = lab.client(p.addr, n=150, concurrency=4, keepalive=True, deadline=15)
    all_ok(out, 150)
    counts = upstreams(out)
    # round robin would give the slow one 50
    assert counts.get("lr-slow", 0) <= 30, counts


# ============================================================= connections

def test_keep_alive_many_requests_on_one_connection(lab):
    b = lab.backend("ka")
    p = simple(lab, [b])
    out = lab.client(p.addr, n=200, keepalive=True)
    all_ok(out, 200)
    assert {r["conn"] for r in out["results"]} == {1}, "the client had to reconnect"
    assert all("close" not in r["headers"].get("connection", "") for r in out["results"])
    # upstream connections are pooled and reused
    conns = {r["conn"] for r in b.requests()}
    assert len(conns) <= 4, f"200 requests used {len(conns)} upstream connections"


def test_pipelined_requests_are_answered_in_order(lab):
    b = lab.backend("pipe")
    p = simple(lab, [b])
    raw = (b"GET /echo?i=1 HTTP/1.1\r\nHost: t\r\n\r\n"
           b"GET /echo?i=2 HTTP/1.1\r\nHost: t\r\n\r\n"
           b"GET /echo?i=3 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    out = lab.client(p.addr, raw=raw, idle=5)
    rs = out["responses"]
    assert [r["status"] for r in rs] == [200, 200, 200], out["raw"][:2000]
    assert [json.loads(r["body"])["target"] for r in rs] == ["/echo?i=1", "/echo?i=2", "/echo?i=3"]
    assert out["closed"], "Connection: close on the last request: the proxy must close"


def test_pipelined_requests_through_the_client(lab):
    b = lab.backend("pipe2")
    p = simple(lab, [b])
    out = lab.client(p.addr, pipeline=3, path="/echo", timeout=3)
    assert [r["status"] for r in out["results"]] == [200, 200, 200], out


def test_http10_client_gets_its_answer_and_a_close(lab):
    b = lab.backend("h10")
    p = simple(lab, [b])
    out = lab.client(p.addr, raw=b"GET / HTTP/1.0\r\nHost: t\r\n\r\n", idle=5)
    assert out["closed"], out
    assert out["raw"].startswith("HTTP/1."), out["raw"][:300]
    assert out["raw"].endswith("h10\n"), out["raw"][:300]


# ============================================================= bodies

def test_chunked_request_body_reaches_the_backend_intact(lab):
    b = lab.backend("chq")
    p = simple(lab, [b])
    n = 300_000
    out = lab.client(p.addr, method="POST", path="/echo", body_size=n, chunked=True)
    all_ok(out, 1)
    echo = json.loads(out["results"][0]["body"])
    assert (echo["body_len"], echo["body_sha256"]) == (n, sha(pattern(n)))


def test_content_length_request_body_reaches_the_backend_intact(lab):
    b = lab.backend("clq")
    p = simple(lab, [b])
    n = 100_000
    out = lab.client(p.addr, method="PUT", path="/echo", body_size=n, keepalive=True)
    all_ok(out, 1)
    echo = json.loads(out["results"][0]["body"])
    assert (echo["body_len"], echo["body_sha256"]) == (n, sha(pattern(n)))


def test_chunked_response_reaches_the_client_intact(lab):
    b = lab.backend("chr")
    p = simple(lab, [b])
    out = lab.client(p.addr, n=3, keepalive=True, path="/chunked?n=40&size=1500")
    all_ok(out, 3)
    for r in out["results"]:
        assert (r["body_len"], r["body_sha256"]) == (60_000, sha(pattern(60_000)))
        assert r["headers"].get("transfer-encoding", "").lower() == "chunked", r["headers"]
    assert {r["conn"] for r in out["results"]} == {1}


def test_close_delimited_response_is_sent_chunked(lab):
    b = lab.backend("eof")
    p = simple(lab, [b])
    out = lab.client(p.addr, n=6, path="/eof?n=50000", timeout=2)
    all_ok(out, 6)
    for r in out["results"]:
        assert (r["body_len"], r["body_sha256"]) == (50_000, sha(pattern(50_000)))
        assert r["headers"].get("transfer-encoding", "").lower() == "chunked", r["headers"]
    out = lab.client(p.addr, n=3, keepalive=True, path="/eof?n=1000", timeout=2)
    all_ok(out, 3)
    assert {r["conn"] for r in out["results"]} == {1}, "the client connection stays open"


def test_close_delimited_response_to_http10_ends_with_close(lab):
    b = lab.backend("eof10")
    p = simple(lab, [b])
    for _ in range(3):
        out = lab.client(p.addr, raw=b"GET /eof?n=50000 HTTP/1.0\r\nHost: t\r\n\r\n", idle=2)
        head, _, body = out["raw"].partition("\r\n\r\n")
        assert out["closed"], f"the proxy did not close after the body ({len(body)} bytes came)"
        assert body.encode("latin-1") == pattern(50_000)


def test_ambiguous_response_is_a_502(lab):
    b = lab.backend("badresp")
    p = simple(lab, [b])
    r = lab.client(p.addr, path="/badresp")["results"][0]
    assert r["status"] == 502, brief(r)


def test_oversized_request_head_is_431(lab):
    b = lab.backend("big-head")
    p = simple(lab, [b])
    raw = b"GET / HTTP/1.1\r\nHost: t\r\n" + b"".join(b"X-Pad-%d: %s\r\n" % (i, b"a" * 1000) for i in range(40)) + b"\r\n"
    out = lab.client(p.addr, raw=raw, idle=1.5)
    assert [r["status"] for r in out["responses"]] == [431], out["raw"][:300]
    assert b.requests() == []


def rss_watch(proxy, stop, peak):
    while not stop.is_set():
        with contextlib.suppress(OSError, KeyError):
            peak[0] = max(peak[0], proxy.rss_kb())
        time.sleep(0.01)


def test_large_bodies_are_streamed(lab):
    """20 MB up and 20 MB down; the proxy's RSS stays far below that."""
    b = lab.backend("big")
    # a small ASan quarantine: freed buffers are not counted as live memory
    env = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=4")
    p = lab.proxy(config(cluster("web", [b])), env=env)
    lab.client(p.addr, n=5, keepalive=True)  # warm up
    base = p.rss_kb()
    n = 20 * 1024 * 1024
    stop, peak = threading.Event(), [base]
    t = threading.Thread(target=rss_watch, args=(p, stop, peak), daemon=True)
    t.start()
    try:
        up = lab.client(p.addr, method="POST", path="/echo", body_size=n, timeout=20, deadline=30)
        down = lab.client(p.addr, path=f"/bytes/{n}", timeout=20, deadline=30)
    finally:
        stop.set()
        t.join(5)
    all_ok(up, 1)
    all_ok(down, 1)
    echo = json.loads(up["results"][0]["body"])
    assert (echo["body_len"], echo["body_sha256"]) == (n, sha(pattern(n)))
    assert (down["results"][0]["body_len"], down["results"][0]["body_sha256"]) == (n, sha(pattern(n)))
    grew = (peak[0] - base) // 1024
    print(f"skiff-proxy RSS {base // 1024} MB -> {peak[0] // 1024} MB")
    assert grew < 12 and peak[0] < 64 * 1024 + base, \
        f"RSS went from {base // 1024} MB to {peak[0] // 1024} MB for a 20 MB body"


def test_expect_100_continue(lab):
    b = lab.backend("exp")
    p = simple(lab, [b])
    n = 200_000
    out = lab.client(p.addr, method="POST", path="/echo", body_size=n, expect_continue=True)
    all_ok(out, 1)
    r = out["results"][0]
    assert r["interim"] == [100]
    echo = json.loads(r["body"])
    assert (echo["body_len"], echo["body_sha256"]) == (n, sha(pattern(n)))
    assert not [h for h in echo["headers"] if h[0].lower() == "expect"], "Expect is hop-by-hop here"


def test_expect_100_continue_rejected_by_the_bulkhead_gets_no_100(lab):
    b = lab.backend("exp-slow", mode="hold:10000")  # held until set_mode below
    p = simple(lab, [b], policy={"max_concurrent": 1})
    hold = lab.client_bg(p.addr, n=1)
    wait_for(lambda: len(b.requests()) == 1, timeout=5, what="the first request to arrive")
    out = lab.client(p.addr, method="POST", path="/echo", body_size=1000, expect_continue=True)
    r = out["results"][0]
    assert r["status"] == 503 and not r.get("interim"), r
    assert len(b.requests()) == 1
    b.set_mode("ok")  # lets the held request go
    assert statuses(hold.result()) == [200]


# ============================================================= headers

def echo_headers(out):
    echo = json.loads(out["results"][0]["body"])
    return [(k.lower(), v) for k, v in echo["headers"]]


def test_forwarded_headers_reach_the_backend(lab):
    b = lab.backend("xff")
    p = simple(lab, [b])
    h = dict(echo_headers(lab.client(p.addr, path="/echo")))
    assert h.get("x-forwarded-for") == "127.0.0.1", h
    assert h.get("x-forwarded-proto") == "http", h
    h = dict(echo_headers(lab.client(p.addr, path="/echo", headers=["X-Forwarded-For: 10.1.2.3"])))
    assert re.fullmatch(r"10\.1\.2\.3,\s*127\.0\.0\.1", h.get("x-forwarded-for", "")), h


def test_hop_by_hop_headers_are_not_forwarded(lab):
    b = lab.backend("hop")
    p = simple(lab, [b])
    out = lab.client(p.addr, path="/echo", headers=[
        "Connection: X-Foo, close", "X-Foo: secret", "Keep-Alive: timeout=5", "TE: trailers",
        "Proxy-Connection: keep-alive", "X-Keep: yes"])
    all_ok(out, 1)
    hs = echo_headers(out)
    names = {k for k, _ in hs}
    assert "x-keep" in names, hs
    for gone in ("x-foo", "keep-alive", "te", "proxy-connection"):
        assert gone not in names, f"{gone} forwarded: {hs}"
    for k, v in hs:
        if k == "connection":
            assert "close" not in v.lower() and "x-foo" not in v.lower(), hs
    # the client asked for close: it gets its answer, then the proxy closes
    raw = (b"GET /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    out = lab.client(p.addr, raw=raw, idle=5)
    assert out["closed"] and [r["status"] for r in out["responses"]] == [200], out["raw"][:500]


def test_upgrade_answered_without_101_is_an_ordinary_response(lab):
    b = lab.backend("upg")
    p = simple(lab, [b])
    out = lab.client(p.addr, path="/echo", n=2, keepalive=True,
                     headers=["Connection: keep-alive, Upgrade, X-Foo", "Upgrade: websocket", "X-Foo: 1",
                              "Trailer: X-T"])
    all_ok(out, 2)
    # the upgrade was offered to the backend, which did not take it: still HTTP on the same connection
    assert [r["conn"] for r in out["results"]] == [1, 1], [brief(r) for r in out["results"]]
    hs = echo_headers(out)
    assert ("upgrade", "websocket") in hs and ("connection", "upgrade") in hs, hs
    names = {k for k, _ in hs}
    assert not names & {"trailer", "x-foo", "keep-alive"}, names


def test_upgrade_with_a_body_or_another_method_is_not_forwarded(lab):
    b = lab.backend("upg2")
    p = simple(lab, [b])
    ws = ["Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="]
    for kw in ({"method": "POST", "body_size": 10}, {"method": "GET", "body_size": 3, "chunked": True},
               {"method": "DELETE"}):
        out = lab.client(p.addr, path="/echo", headers=ws, **kw)
        all_ok(out, 1)
        hs = echo_headers(out)
        assert "upgrade" not in {k for k, _ in hs}, (kw, hs)
        assert not any(k == "connection" and "upgrade" in v.lower() for k, v in hs), (kw, hs)
        # so the WebSocket endpoint refuses it as a plain request
        assert statuses(lab.client(p.addr, path="/ws", headers=ws, **kw)) == [426], kw


# ============================================================= WebSocket

@pytest.mark.parametrize("pipelined", [False, True], ids=["frame-after-101", "frame-with-handshake"])
def test_websocket_handshake_and_echo_through_http_mode(lab, pipelined):
    b = lab.backend("ws1")
    p = simple(lab, [b])
    out = lab.client(p.addr, path="/ws", websocket="hello through the proxy", ws_pipelined=pipelined)
    assert out["error"] is None and out["status"] == 101, out
    assert out["accept_ok"], out
    h = out["headers"]
    assert h.get("upgrade", "").lower() == "websocket" and h.get("connection", "").lower() == "upgrade", h
    assert h.get("x-skiff-upstream") == "ws1" and "content-length" not in h, h
    assert out["reply_opcode"] == 1 and out["reply"] == "ws1: hello through the proxy", out
    assert out["close_code"] == 1000 and out["closed"], out
    ends = [r for r in b.requests() if r.get("event") == "ws-end"]
    assert len(ends) == 1 and ends[0]["how"] == "close" and ends[0]["frames"] == 2, ends


def test_websocket_client_going_away_ends_the_upstream(lab):
    b = lab.backend("ws2")
    p = simple(lab, [b])
    out = lab.client(p.addr, path="/ws", websocket="bye", ws_abrupt=True)
    assert out["reply"] == "ws2: bye", out
    ends = wait_for(lambda: [r for r in b.requests() if r.get("event") == "ws-end"], timeout=5,
                    what="the backend to see the end of the tunnel")
    assert ends[0]["how"] in ("eof", "error") and ends[0]["frames"] == 1, ends


def test_websocket_counts_once_as_1xx(lab):
    b = lab.backend("ws3")
    p = lab.proxy(config(cluster("chat/ws:80", [b], app="chat", service="ws")))
    for i in range(3):
        out = lab.client(p.addr, path="/ws", websocket=f"m{i}")
        assert out["reply"] == f"ws3: m{i}" and out["closed"], out
    lab_ = {"app": "chat", "service": "ws"}

    def settled():
        m = get_metrics(p)
        return m if msum(m, "skiff_service_active_connections", **lab_) == 0 else None
    m = wait_for(settled, timeout=5, what="the tunnels to close")
    assert msum(m, "skiff_service_requests_total", method="GET", code="1xx", **lab_) == 3
    assert msum(m, "skiff_service_requests_total", **lab_) == 3
    assert msum(m, "skiff_endpoint_requests_total", replica="ws3", code="1xx", **lab_) == 3
    assert msum(m, "skiff_service_request_duration_seconds_count", **lab_) == 3


def test_response_carries_the_upstream_id(lab):
    b = lab.backend("hdr-id")
    p = simple(lab, [b])
    r = lab.client(p.addr, method="HEAD")["results"][0]
    assert r["status"] == 200 and r["upstream"] == "hdr-id" and r["body_len"] == 0


# ============================================================= smuggling

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n"

SMUGGLING = [  # (id, raw request, whether the proxy can see it in the head[, statuses allowed])
    ("cl-and-te", b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"0\r\n\r\n" + SMUGGLED, True),
    ("te-and-cl", b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n"
                  b"0\r\n\r\n" + SMUGGLED, True),
    ("two-content-lengths", b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nContent-Length: "
                            + str(len(SMUGGLED)).encode() + b"\r\n\r\n" + SMUGGLED, True),
    ("content-length-list", b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 0, "
                            + str(len(SMUGGLED)).encode() + b"\r\n\r\n" + SMUGGLED, True),
    ("chunk-size-not-hex", b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                           b"zz\r\n" + SMUGGLED, False),
    ("chunk-size-overflow", b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                            b"10000000000000001\r\nx\r\n0\r\n\r\n" + SMUGGLED, False),
    ("chunk-size-negative", b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                            b"-5\r\n" + SMUGGLED, False),
    # RFC 9112 6.3: chunked not last -> 400 (an unknown coding may also be 501)
    ("te-not-chunked-last", b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, identity\r\n\r\n"
                            b"0\r\n\r\n" + SMUGGLED, True, (400, 501)),
    ("obs-fold", b"GET /echo HTTP/1.1\r\nHost: t\r\nX-A: a\r\n Transfer-Encoding: chunked\r\n\r\n"
                 + SMUGGLED, True),
    ("bare-lf", b"GET /echo HTTP/1.1\r\nHost: t\nX-A: b\r\n\r\n" + SMUGGLED, True),
    ("space-before-colon", b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding : chunked\r\n"
                           b"Content-Length: 5\r\n\r\n0\r\n\r\n" + SMUGGLED, True),
    ("bad-content-length", b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: +5\r\n\r\n"
                           b"hello" + SMUGGLED, True),
]


@pytest.mark.parametrize("raw,in_head,want", [(x[1], x[2], x[3] if len(x) > 3 else (400,)) for x in SMUGGLING],
                         ids=[x[0] for x in SMUGGLING])
def test_request_smuggling_gets_400_and_never_reaches_the_backend(lab, raw, in_head, want):
    b = lab.backend("smug")
    p = simple(lab, [b])
    out = lab.client(p.addr, raw=raw, idle=1.5)
    rs = out["responses"]
    assert rs and rs[0]["status"] in want, out["raw"][:1000]
    assert len(rs) == 1 and out["closed"], f"the connection must be closed after the 400: {out['raw'][:1000]}"
    # the proxy is still fine afterwards
    all_ok(lab.client(p.addr, n=2), 2)
    seen = b.requests()
    assert not [r for r in seen if "smuggled" in r.get("target", "")], seen
    if in_head:
        assert [r["target"] for r in seen] == ["/", "/"], f"a malformed head was forwarded: {seen}"


# ============================================================= retries

def test_retry_on_connect_failure_with_a_dead_endpoint(lab):
    bs = [lab.backend(f"rt{i}") for i in range(2)]
    dead = ("rt-dead", lab.dead_addr())
    p = simple(lab, [bs[0], dead, bs[1]], policy={"retry_attempts": 2, "retry_on": ["connect"],
                                                 "retry_backoff": "1ms"})
    out = lab.client(p.addr, n=200, concurrency=2, keepalive=True)
    all_ok(out, 200)
    assert "rt-dead" not in upstreams(out)
    wait_for(lambda: msum(get_metrics(p), "skiff_service_retries_total", service="web") > 0, timeout=3,
             what="skiff_service_retries_total to move")


def test_no_retries_means_502_for_the_dead_endpoint(lab):
    b = lab.backend("nr0")
    p = simple(lab, [b, ("nr-dead", lab.dead_addr())], policy={"retry_attempts": 0})
    st = statuses(lab.client(p.addr, n=10, keepalive=True))
    assert st.count(502) == 5 and st.count(200) == 5, st


def test_backend_killed_during_load_loses_no_idempotent_request(lab):
    bs = [lab.backend(f"kl{i}") for i in range(3)]
    p = simple(lab, bs, policy={"retry_attempts": 2, "retry_on": ["connect", "reset"],
                                "retry_backoff": "1ms", "retry_budget_percent": 100,
                                "outlier_consecutive_failures": 2, "outlier_base_ejection": "5s"})
    c = lab.client_bg(p.addr, n=600, concurrency=4, keepalive=True, interval_ms=2, deadline=20)
    wait_for(lambda: len(bs[1].requests()) >= 30, timeout=10, what="load to reach kl1")
    bs[1].kill()
    out = c.result()
    all_ok(out, 600)
    counts = upstreams(out)
    assert counts["kl0"] + counts["kl2"] >= 400, counts


def test_per_try_timeout_gives_504(lab):
    b = lab.backend("to-slow", mode="slow:10000")
    p = simple(lab, [b], policy={"try_timeout": "200ms"})
    r = lab.client(p.addr)["results"][0]
    assert r["status"] == 504 and 0.15 < r["latency"] < 5, r


def test_total_timeout_gives_504(lab):
    b = lab.backend("tt-slow", mode="slow:10000")
    p = simple(lab, [b], policy={"total_timeout": "300ms"})
    r = lab.client(p.addr)["results"][0]
    assert r["status"] == 504 and 0.25 < r["latency"] < 5, r


def test_per_try_timeout_retries_to_a_fast_endpoint(lab):
    slow = lab.backend("tr-slow", mode="slow:10000")
    fast = lab.backend("tr-fast")
    p = simple(lab, [slow, fast], policy={"try_timeout": "200ms", "retry_attempts": 1,
                                          "retry_on": ["timeout"], "retry_backoff": "1ms",
                                          "retry_budget_percent": 100})
    out = lab.client(p.addr, n=6, keepalive=True)
    all_ok(out, 6)
    assert upstreams(out) == {"tr-fast": 6}
    assert all(r["latency"] < 5 for r in out["results"]), [r["latency"] for r in out["results"]]
    assert len(slow.requests()) >= 1  # first tries went there too


def test_retry_on_status(lab):
    flaky = lab.backend("rs-flaky", mode="fail")
    good = lab.backend("rs-good")
    p = simple(lab, [flaky, good], policy={"retry_attempts": 1, "retry_on": ["status"],
                                           "retry_status": [500], "retry_backoff": "1ms",
                                           "retry_budget_percent": 100})
    out = lab.client(p.addr, n=10, keepalive=True)
    all_ok(out, 10)
    assert upstreams(out) == {"rs-good": 10}
    # a POST is not idempotent: its 500 is passed on
    out = lab.client(p.addr, n=4, method="POST", body_size=10, keepalive=True)
    assert sorted(statuses(out)) == [200, 200, 500, 500], out


def test_reset_before_the_response_is_retried_for_get_only(lab):
    rude = lab.backend("rst-rude", mode="close")
    good = lab.backend("rst-good")
    p = simple(lab, [rude, good], policy={"retry_attempts": 1, "retry_on": ["reset"], "retry_backoff": "1ms",
                                          "retry_budget_percent": 100})
    out = lab.client(p.addr, n=10, keepalive=True)
    all_ok(out, 10)
    assert upstreams(out) == {"rst-good": 10}
    out = lab.client(p.addr, n=4, method="POST", body_size=10, keepalive=True)
    assert sorted(statuses(out)) == [200, 200, 502, 502], [brief(r) for r in out["results"]]


# ============================================================= outlier ejection

def test_outlier_ejection_and_return(lab):
    bad = lab.backend("oe-bad", mode="fail")
    good = lab.backend("oe-good")
    # the ejection (8 s) is long enough for the window below to fall inside it on a loaded machine
    p = simple(lab, [bad, good], policy={"outlier_consecutive_5xx": 3, "outlier_base_ejection": "8s",
                                         "outlier_max_ejection_percent": 50})
    t0 = time.monotonic()
    out = lab.client(p.addr, n=20, keepalive=True)
    st = statuses(out)
    assert st.count(500) == 3 and st.count(200) == 17, st
    assert len(bad.requests()) == 3
    bad.set_mode("ok")  # healthy again, but still ejected
    out = lab.client(p.addr, n=40, keepalive=True, interval_ms=20, deadline=1.0)
    assert upstreams(out) == {"oe-good": len(out["results"])}, upstreams(out)
    assert len(bad.requests()) == 3, "an ejected endpoint got requests"
    wait_for(lambda: msum(get_metrics(p), "skiff_service_ejections_total", service="web") >= 1, timeout=10,
             what="skiff_service_ejections_total to move")
    assert len(bad.requests()) == 3, "an ejected endpoint got requests"
    # it comes back once the ejection is over (not before: it began after t0)
    wait_for(lambda: "oe-bad" in upstreams(lab.client(p.addr, n=4, keepalive=True)), timeout=20, interval=0.2,
             what="oe-bad to answer again after its ejection")
    assert time.monotonic() - t0 >= 7.5, "oe-bad came back before its 8 s ejection was over"
    out = lab.client(p.addr, n=20, keepalive=True)
    all_ok(out, 20)
    assert upstreams(out).get("oe-bad", 0) >= 7, upstreams(out)


def test_ejection_survives_a_reload(lab):
    bad = lab.backend("er-bad", mode="fail")
    good = lab.backend("er-good")
    pol = {"outlier_consecutive_5xx": 2, "outlier_base_ejection": "10s"}
    p = simple(lab, [bad, good], policy=pol)
    st = statuses(lab.client(p.addr, n=10, keepalive=True))
    assert st.count(500) == 2, st
    bad.set_mode("ok")
    # the same cluster and endpoints again, plus one to see the reload happen
    extra = lab.backend("er-extra")
    p.reload(config(cluster("web", [bad, good, extra], policy=pol), listen={p.addr: "web"}))
    wait_upstream(lab, p.addr, "er-extra")
    out = lab.client(p.addr, n=20, keepalive=True)
    all_ok(out, 20)
    assert "er-bad" not in upstreams(out), "the ejection was forgotten on reload"


def test_consecutive_connect_failures_eject(lab):
    good = lab.backend("cf-good")
    p = simple(lab, [good, ("cf-dead", lab.dead_addr())],
               policy={"outlier_consecutive_failures": 2, "outlier_base_ejection": "10s"})
    st = statuses(lab.client(p.addr, n=20, keepalive=True))
    assert st.count(502) == 2 and st.count(200) == 18, st
    wait_for(lambda: msum(get_metrics(p), "skiff_service_ejections_total", service="web") == 1, timeout=3,
             what="one ejection counted")


# ============================================================= bulkhead

def test_bulkhead_rejects_the_third_concurrent_request_at_once(lab):
    b = lab.backend("bh", mode="hold:10000")  # held until set_mode below
    p = simple(lab, [b], policy={"max_concurrent": 2})
    held = lab.client_bg(p.addr, n=2, concurrency=2)
    wait_for(lambda: len(b.requests()) == 2, timeout=5, what="two requests in flight")
    r = lab.client(p.addr)["results"][0]
    # at once: well before the held requests end
    assert r["status"] == 503 and r["latency"] < 1.0, r
    b.set_mode("ok")  # lets the two held requests go
    assert statuses(held.result()) == [200, 200]
    assert len(b.requests()) == 2
    # freed again
    assert statuses(lab.client(p.addr)) == [200]
    wait_for(lambda: msum(get_metrics(p), "skiff_service_rejected_total", service="web") == 1, timeout=3,
             what="skiff_service_rejected_total == 1")


def test_tcp_bulkhead_closes_the_extra_connection(lab):
    e = lab.backend("tcp-bh", tcp=True)
    p = simple(lab, [e], policy={"mode": "tcp", "max_concurrent": 1})
    # the first connection stays open (an echo of 1 byte, then idle); the second is closed at once
    # (the holder's idle outlasts starting the second client on a loaded machine)
    hold = lab.client_bg(p.addr, raw=b"x", idle=10.0)
    wait_for(lambda: len(e.requests()) == 1, timeout=5, what="the first connection to reach the echo")
    out = lab.client(p.addr, raw=b"y", idle=3.0)
    assert out["closed"] and out["raw"] == "", out
    assert hold.result()["raw"] == "x"
    assert len(e.requests()) == 1


# ============================================================= fallback

def test_fallback_cluster_answers_for_an_empty_or_dead_primary(lab):
    fb = lab.backend("fb1")
    empty_port, dead_port = next(_ports), next(_ports)
    cfg = config(cluster("empty", [], fallback="fb", service="empty"),
                 cluster("dead", [("d1", lab.dead_addr()), ("d2", lab.dead_addr())], fallback="fb",
                         service="dead"),
                 cluster("fb", [fb], service="fb"),
                 listen={f"{LO}:{empty_port}": "empty", f"{LO}:{dead_port}": "dead"})
    p = lab.proxy(cfg)
    out = lab.client(f"{LO}:{empty_port}", n=10, keepalive=True)
    all_ok(out, 10)
    assert {r["body"] for r in out["results"]} == {"fb1\n"} and upstreams(out) == {"fb1": 10}
    out = lab.client(f"{LO}:{dead_port}", n=5, keepalive=True)
    all_ok(out, 5)
    assert {r["body"] for r in out["results"]} == {"fb1\n"}
    # a refused connect is known at once: no waiting for connect_timeout (2 s)
    slow = [brief(r) for r in out["results"] if r["latency"] > 0.5]
    assert not slow, f"falling back took long: {slow}"

    def counted():
        m = get_metrics(p)
        return (msum(m, "skiff_service_fallbacks_total", service="empty"),
                msum(m, "skiff_service_fallbacks_total", service="dead"))
    wait_for(lambda: counted() == (10, 5), timeout=3, what="fallbacks counted")


def test_no_endpoint_and_no_fallback_is_503(lab):
    p = lab.proxy(config(cluster("none", [])))
    assert statuses(lab.client(p.addr, n=3, keepalive=True)) == [503, 503, 503]


def test_fallback_cycle_is_refused(lab, netns):
    port = next(_ports)
    cfg = config(cluster("cyc-a", [], fallback="cyc-b"), cluster("cyc-b", [], fallback="cyc-a"),
                 listen={f"{LO}:{port}": "cyc-a"})
    p = lab.proxy(cfg, wait=False, metrics=False)
    check_bad_config(p, netns, port, ("cyc-a", "cyc-b"))


# ============================================================= faults

def test_fault_abort_fraction_and_reload_without_fault(lab):
    b = lab.backend("fa")
    c = cluster("web", [b], fault={"abort_status": 503, "abort_percent": 30})
    p = lab.proxy(config(c))
    out = lab.client(p.addr, n=400, concurrency=2, keepalive=True)
    st = statuses(out)
    assert set(st) <= {200, 503} and len(st) == 400, set(st)
    frac = st.count(503) / 400
    assert 0.18 <= frac <= 0.42, frac  # 30 % of 400: sigma 2.3 %, this is about 5 sigma
    assert len(b.requests()) == st.count(200), "an aborted request reached the endpoint"
    wait_for(lambda: msum(get_metrics(p), "skiff_service_faults_total", kind="abort") == st.count(503),
             timeout=3, what="skiff_service_faults_total{kind=abort} to count the aborts")
    # reload without the fault; the renamed endpoint shows when it took effect
    cfg = config(cluster("web", [("fa-v2", b.addr)]), listen={p.addr: "web"})
    p.reload(cfg)
    wait_upstream(lab, p.addr, "fa-v2")
    out = lab.client(p.addr, n=100, concurrency=2, keepalive=True)
    all_ok(out, 100)


def test_fault_delay_fraction(lab):
    b = lab.backend("fd")
    p = simple(lab, [b], fault={"delay": "100ms", "delay_percent": 50})
    out = lab.client(p.addr, n=200, concurrency=8, keepalive=True)
    all_ok(out, 200)
    # the proxy counts the delays it injects (latency alone cannot tell them on a loaded machine)
    delayed = msum(get_metrics(p), "skiff_service_faults_total", service="web", kind="delay")
    assert 0.3 <= delayed / 200 <= 0.7, f"{delayed} of 200 delayed"
    # and each of them really waited: at least as many requests took >= 100 ms
    slow = sum(r["latency"] >= 0.099 for r in out["results"])
    assert slow >= delayed, f"{delayed} delays counted, only {slow} requests took >= 100 ms"


# ============================================================= TCP

def test_tcp_mode_echoes_raw_bytes(lab):
    e = lab.backend("echo1", tcp=True)
    p = simple(lab, [e], policy={"mode": "tcp"})
    out = lab.client(p.addr, tcp_echo=1_000_000)
    assert out["equal"] and out["received"] == 1_000_000, out


def test_tcp_mode_retries_connect_to_another_endpoint(lab):
    e = lab.backend("echo2", tcp=True)
    p = simple(lab, [("tcp-dead", lab.dead_addr()), e], policy={"mode": "tcp"})
    for _ in range(6):
        out = lab.client(p.addr, tcp_echo=5000)
        assert out["equal"], out
    assert len(e.requests()) == 6


def test_tcp_half_close_is_passed_on(lab):
    e = lab.backend("echo3", tcp=True)
    p = simple(lab, [e], policy={"mode": "tcp"})
    # the client sends and shuts down its side; the echo answers and closes
    out = lab.client(p.addr, raw=b"ping over tcp\n", shut_wr=True, idle=3)
    assert out["raw"] == "ping over tcp\n" and out["closed"], out


# ============================================================= metrics

def test_metrics_count_requests_and_durations(lab):
    b = lab.backend("mt")
    p = lab.proxy(config(cluster("mapp/msvc:80", [b], app="mapp", service="msvc")))
    all_ok(lab.client(p.addr, n=50, keepalive=True), 50)
    st = statuses(lab.client(p.addr, n=7, path="/status/500"))
    assert st == [500] * 7
    st = statuses(lab.client(p.addr, n=3, method="HEAD", path="/status/404"))
    assert st == [404] * 3
    lab_ = {"app": "mapp", "service": "msvc"}

    def settled():
        m = get_metrics(p)
        return m if msum(m, "skiff_service_request_duration_seconds_count", **lab_) == 60 else None
    m = wait_for(settled, timeout=3, what="60 requests counted")
    assert msum(m, "skiff_service_requests_total", method="GET", code="2xx", **lab_) == 50
    assert msum(m, "skiff_service_requests_total", method="GET", code="5xx", **lab_) == 7
    assert msum(m, "skiff_service_requests_total", method="HEAD", code="4xx", **lab_) == 3
    assert msum(m, "skiff_service_requests_total", **lab_) == 60
    assert msum(m, "skiff_endpoint_requests_total", replica="mt", **lab_) == 60
    buckets = {lb["le"]: v for n, lb, v in m
               if n == "skiff_service_request_duration_seconds_bucket" and lb.get("service") == "msvc"}
    assert buckets.get("+Inf") == 60, buckets
    les = sorted((float(k), v) for k, v in buckets.items() if k != "+Inf")
    assert les and all(a[1] <= b_[1] for a, b_ in zip(les, les[1:])), "buckets are cumulative"
    s = msum(m, "skiff_service_request_duration_seconds_sum", **lab_)
    assert 0 < s < 60, s
    names = {n for n, _, _ in m}
    for want in ("skiff_service_active_connections", "skiff_service_retries_total",
                 "skiff_service_ejections_total", "skiff_service_fallbacks_total",
                 "skiff_service_rejected_total"):
        assert want in names, f"{want} missing"


def test_metrics_other_paths_are_404(lab):
    b = lab.backend("m404")
    p = simple(lab, [b])
    assert statuses(lab.client(p.metrics_addr, path="/nope")) == [404]


# ============================================================= config

def check_bad_config(p, netns, port, words):
    try:
        p.proc.wait(10)
    except subprocess.TimeoutExpired:
        pytest.fail(f"skiff-proxy kept running with a bad config: {p.stderr()}")
    err = p.stderr()
    assert p.proc.returncode != 0, err
    assert "listening on" not in err, err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1, f"want one error line: {err!r}"
    assert any(w in lines[0] for w in words), f"the error does not name {words}: {lines[0]!r}"
    assert port not in listening_ports(netns)


def bad_proxy(lab, cfg):
    return lab.proxy(cfg, wait=False, metrics=False)


def test_bad_config_unknown_cluster_in_listener(lab, netns):
    b = lab.backend("bc")
    good, bad = next(_ports), next(_ports)
    cfg = config(cluster("web", [b]), listen={f"{LO}:{good}": "web", f"{LO}:{bad}": "nosuch"})
    p = bad_proxy(lab, cfg)
    check_bad_config(p, netns, good, ("nosuch",))
    assert bad not in listening_ports(netns)


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.1:99999", "localhost:80", "127.0.0.300:80",
                                     "127.0.0.1:0x50", "127.0.0.1:0"])
def test_bad_config_bad_endpoint_address(lab, netns, address):
    port = next(_ports)
    cfg = config(cluster("web", [("e1", address)]), listen={f"{LO}:{port}": "web"})
    p = bad_proxy(lab, cfg)
    check_bad_config(p, netns, port, (address,))


@pytest.mark.parametrize("address", ["127.0.0.1:0", "127.0.0.1:", "1.2.3.4.5:80", "127.0.0.1:65536"])
def test_bad_config_bad_listener_address(lab, netns, address):
    b = lab.backend("bl")
    good = next(_ports)
    cfg = config(cluster("web", [b]), listen={f"{LO}:{good}": "web", address: "web"})
    p = bad_proxy(lab, cfg)
    check_bad_config(p, netns, good, (address,))


def test_bad_config_unknown_field_and_bad_json(lab, netns):
    b = lab.backend("bf")
    port = next(_ports)
    cfg = config(cluster("web", [b], policy={"retry_attemps": 2}), listen={f"{LO}:{port}": "web"})
    check_bad_config(bad_proxy(lab, cfg), netns, port, ("retry_attemps",))
    p = lab.proxy(None, raw_config='{"listeners": [', wait=False, metrics=False)
    check_bad_config(p, netns, port, (os.path.basename(p.config_path), "json", "JSON"))


def test_listener_address_in_use_is_an_error(lab, netns):
    b = lab.backend("inuse")
    cfg = config(cluster("web", [b]), listen={b.addr: "web"})  # the backend holds that port
    p = bad_proxy(lab, cfg)
    try:
        p.proc.wait(10)
    except subprocess.TimeoutExpired:
        pytest.fail(f"skiff-proxy kept running: {p.stderr()}")
    assert p.proc.returncode != 0
    assert str(b.port) in p.stderr(), p.stderr()


def test_idle_client_connection_is_closed(lab):
    b = lab.backend("idle")
    p = simple(lab, [b], policy={"idle_timeout": "300ms"})
    out = lab.client(p.addr, raw=b"GET / HTTP/1.1\r\nHost: t\r\n\r\n", idle=10)
    # the client's own time on the connection (not starting python under nsenter); the default is 60 s
    took = out["elapsed"]
    assert [r["status"] for r in out["responses"]] == [200] and out["closed"], out
    assert took < 5, f"the idle connection lived {took:.1f}s"


def test_reload_adds_and_removes_endpoints(lab):
    b1, b2, b3 = (lab.backend(f"rl{i}") for i in (1, 2, 3))
    p = simple(lab, [b1, b2])
    out = lab.client(p.addr, n=30, keepalive=True)
    assert upstreams(out) == {"rl1": 15, "rl2": 15}
    # add rl3
    p.reload(config(cluster("web", [b1, b2, b3]), listen={p.addr: "web"}))
    wait_upstream(lab, p.addr, "rl3")
    out = lab.client(p.addr, n=60, concurrency=3)
    all_ok(out, 60)
    assert all(15 <= upstreams(out).get(b.id, 0) <= 25 for b in (b1, b2, b3)), upstreams(out)
    # remove rl1 (and add rl4 to see when it took effect)
    b4 = lab.backend("rl4")
    p.reload(config(cluster("web", [b2, b3, b4]), listen={p.addr: "web"}))
    wait_upstream(lab, p.addr, "rl4")
    before = len(b1.requests())
    out = lab.client(p.addr, n=60, concurrency=3)
    all_ok(out, 60)
    assert "rl1" not in upstreams(out)
    assert len(b1.requests()) == before, "a removed endpoint got new requests"


def test_reload_with_a_bad_config_keeps_the_old_one(lab):
    b = lab.backend("rb")
    p = simple(lab, [b])
    all_ok(lab.client(p.addr, n=3), 3)
    cfg = config(cluster("web", [b]), listen={p.addr: "nosuch"})
    p.reload(cfg)
    wait_for(lambda: "nosuch" in p.stderr(), timeout=5, what="the reload error on stderr")
    assert p.proc.poll() is None
    all_ok(lab.client(p.addr, n=3), 3)


def test_reload_moves_a_listener(lab, netns):
    b = lab.backend("mv")
    p = simple(lab, [b])
    old = int(p.addr.rsplit(":", 1)[1])
    new = next(_ports)
    p.reload(config(cluster("web", [b]), listen={f"{LO}:{new}": "web"}))
    wait_for(lambda: new in listening_ports(netns) and old not in listening_ports(netns), timeout=5,
             what="the listener to move")
    all_ok(lab.client(f"{LO}:{new}", n=3), 3)


def test_sigterm_exits_0_under_load(lab):
    b = lab.backend("term", mode="slow:50")
    p = simple(lab, [b])
    c = lab.client_bg(p.addr, n=200, concurrency=4, keepalive=True, deadline=5)
    wait_for(lambda: len(b.requests()) >= 10, timeout=5, what="load")
    os.kill(p.pid, signal.SIGTERM)
    assert p.proc.wait(10) == 0, p.stderr()
    c.kill()
