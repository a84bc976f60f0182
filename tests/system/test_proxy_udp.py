# SPDX-License-Identifier: Apache-2.0
"""skiff-proxy's udp mode (docs/proxy.md, "UDP mode"), seen from UDP clients
and echo backends (udp_peer.py).

Everything runs in the network namespace of test_proxy.py, whose fixtures
(netns, lab) and config helpers this module imports: backends, skiff-proxy
and clients are started with `nsenter --net=...`, and `lab` kills them by
PID and fails the test if skiff-proxy did not exit 0 on SIGTERM or wrote a
sanitizer report.  Every wait is bounded (a second per datagram at most).
"""
import os
import select
import signal
import subprocess
import time

import pytest

import udp_peer
from conftest import HERE, read, wait_for
from test_proxy import (LO, PYTHON, _ports, cluster, config, get_metrics, in_ns, lab, msum,  # noqa: F401
                        netns)

PEER = os.path.join(HERE, "udp_peer.py")

pytestmark = pytest.mark.root


class UdpBackend:
    """A udp_peer.py echo server: .id, .port, .addr; answers "<id>:<via>:<data>"."""

    def __init__(self, lab, bid):
        self.id, self.port = bid, next(_ports)
        self.addr = f"{LO}:{self.port}"
        self.err = open(os.path.join(lab.dir, f"udp-{bid}.err"), "wb")
        self.proc = subprocess.Popen(in_ns(lab.ns, [PYTHON, PEER, "serve", "--port", self.port, "--id", bid]),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.err)
        ready, _, _ = select.select([self.proc.stdout], [], [], 10)
        line = self.proc.stdout.readline().decode() if ready else ""
        assert line.startswith("listening"), f"udp backend {bid}: {line!r} {read(self.err.name, '')}"
        lab.backends.append(self)  # the lab's teardown kills it

    def kill(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.proc.stdout.close()
        self.err.close()


class UdpClient(udp_peer.Client):
    """A udp_peer.py client in the lab's namespace, killed by the lab's teardown."""

    def __init__(self, lab):
        super().__init__(in_ns(lab.ns, [PYTHON, PEER, "client"]))
        lab.bg.append(self)


def udp_cluster(name, backends, policy=None, **kw):
    eps = [(b.id, b.addr) for b in backends]
    return cluster(name, eps, policy=dict({"mode": "udp"}, **(policy or {})), **kw)


def udp_proxy(lab, backends, policy=None, threads=2, listen_ip=LO):
    """skiff-proxy with one UDP listener for cluster "dns" over backends; its address."""
    addr = f"{listen_ip}:{next(_ports)}"
    p = lab.proxy(config(udp_cluster("dns", backends, policy=policy, service="dns"), listen={addr: "dns"}),
                  threads=threads)
    return p, addr


def udp_ports(ns):
    out = subprocess.run(in_ns(ns, ["ss", "-Hlun"]), capture_output=True, text=True, timeout=10,
                         check=True).stdout
    return {int(f[3].rsplit(":", 1)[1]) for f in (x.split() for x in out.splitlines()) if len(f) >= 4}


def m(proxy, name, **labels):
    return msum(get_metrics(proxy), name, app="skt", service="dns", **labels)


# ------------------------------------------------------------------ tests

def test_udp_flows_spread_stick_and_answer_from_the_published_address(lab):
    a, b = UdpBackend(lab, "a"), UdpBackend(lab, "b")
    p, addr = udp_proxy(lab, [a, b])
    assert f"listening on {addr}/udp" in p.stderr()
    c = UdpClient(lab)
    first = {}
    for rnd in range(3):
        for k in range(6):
            r = c.must(addr, sock=k)
            assert r["from"] == addr, r  # the published address answers
            assert first.setdefault(k, r["id"]) == r["id"], f"client {k} moved: {first[k]} -> {r}"
    # round robin over the six flows
    assert sorted(first.values()) == ["a"] * 3 + ["b"] * 3, first
    assert m(p, "skiff_service_udp_datagrams_total", direction="to_endpoint") == 18
    # counted just after the answer went out
    wait_for(lambda: m(p, "skiff_service_udp_datagrams_total", direction="to_client") == 18, timeout=5,
             what="18 datagrams counted to the clients")
    assert m(p, "skiff_service_udp_flows_total") == 6
    assert m(p, "skiff_service_active_connections") == 6


def test_udp_wildcard_listener_answers_from_the_address_the_client_used(lab):
    a = UdpBackend(lab, "a")
    p, addr = udp_proxy(lab, [a], listen_ip="0.0.0.0")
    port = addr.rsplit(":", 1)[1]
    c = UdpClient(lab)
    # lo answers all of 127/8; the client's source is 127.0.0.1, so without
    # IP_PKTINFO the answer would come from 127.0.0.1 and a connected socket
    # would drop it
    for k, ip in enumerate(("127.0.0.2", "127.0.0.1", "127.0.0.3")):
        r = c.must(f"{ip}:{port}", sock=k, connect=True)
        assert r["from"] == f"{ip}:{port}", r


def test_udp_killed_backend_moves_the_flow_and_is_ejected(lab):
    a, b = UdpBackend(lab, "a"), UdpBackend(lab, "b")
    p, addr = udp_proxy(lab, [a, b], policy={"outlier_consecutive_failures": 1})
    c = UdpClient(lab)
    used = c.must(addr)["id"]
    gone, other = (a, b) if used == "a" else (b, a)
    gone.kill()  # its port is closed: ICMP port unreachable
    answers = [c.send(addr, timeout=0.5) for _ in range(5)]
    assert sum(not r["ok"] for r in answers) <= 1, answers  # the datagram that was refused
    assert {r["id"] for r in answers if r["ok"]} == {other.id}, answers
    # the refusal ejected it: new clients go to the other backend at once
    for k in range(1, 4):
        assert c.must(addr, sock=k)["id"] == other.id
    assert msum(get_metrics(p), "skiff_service_ejections_total", service="dns") == 1


def test_udp_reload_moves_flows_and_listeners(lab, netns):
    a, b = UdpBackend(lab, "a"), UdpBackend(lab, "b")
    p, addr = udp_proxy(lab, [a, b])
    c = UdpClient(lab)
    used = c.must(addr)["id"]
    keep = b if used == "a" else a
    # the flow's endpoint leaves the configuration: the next datagram goes to the other one
    p.reload(config(udp_cluster("dns", [keep], service="dns"), listen={addr: "dns"}))
    wait_for(lambda: "reloaded" in p.stderr(), timeout=5, what="the reload")
    for _ in range(3):
        assert c.must(addr)["id"] == keep.id
    # the listener moves: the old UDP port is closed, the new one answers
    old, new = int(addr.rsplit(":", 1)[1]), next(_ports)
    p.reload(config(udp_cluster("dns", [keep], service="dns"), listen={f"{LO}:{new}": "dns"}))
    wait_for(lambda: new in udp_ports(netns) and old not in udp_ports(netns), timeout=5,
             what="the UDP listener to move")
    assert c.must(f"{LO}:{new}")["id"] == keep.id
    assert not c.send(addr, timeout=0.3)["ok"]


def test_udp_idle_flows_end(lab):
    a = UdpBackend(lab, "a")
    p, addr = udp_proxy(lab, [a], policy={"idle_timeout": "300ms"})
    c = UdpClient(lab)
    via = c.must(addr)["via"]
    for _ in range(3):  # datagrams keep it
        time.sleep(0.15)
        assert c.must(addr)["via"] == via
    assert m(p, "skiff_service_active_connections") == 1
    wait_for(lambda: m(p, "skiff_service_active_connections") == 0, timeout=3, interval=0.1,
             what="the idle flow to end")
    c.must(addr)
    assert m(p, "skiff_service_udp_flows_total") == 2


def test_udp_large_datagrams_pass_intact(lab):
    a = UdpBackend(lab, "a")
    p, addr = udp_proxy(lab, [a])
    c = UdpClient(lab)
    for size in (1, 1472, 9000, 60000, 65000):
        r = c.must(addr, size=size, timeout=2)
        assert r["len"] == size, r
    assert m(p, "skiff_service_udp_dropped_total") == 0


def test_udp_and_tcp_listeners_share_a_port(lab):
    u = UdpBackend(lab, "u")
    t = lab.backend("t", tcp=True)
    addr = f"{LO}:{next(_ports)}"
    cfg = {"listeners": [{"address": addr, "cluster": "tcp"}, {"address": addr, "cluster": "udp"}],
           "clusters": [cluster("tcp", [t], policy={"mode": "tcp"}), udp_cluster("udp", [u])]}
    p = lab.proxy(cfg)
    assert f"listening on {addr}, {addr}/udp" in p.stderr()
    assert UdpClient(lab).must(addr)["id"] == "u"
    out = lab.client(addr, tcp_echo=1000)
    assert out["equal"], out


def test_udp_port_in_use_is_an_error_naming_it(lab):
    holder = UdpBackend(lab, "holder")
    cfg = config(udp_cluster("dns", []), listen={holder.addr: "dns"})
    p = lab.proxy(cfg, wait=False, metrics=False)
    try:
        p.proc.wait(10)
    except subprocess.TimeoutExpired:
        pytest.fail(f"skiff-proxy kept running: {p.stderr()}")
    assert p.proc.returncode != 0
    assert f"'{holder.addr}/udp'" in p.stderr(), p.stderr()


def test_udp_config_errors(lab):
    for cfg, words in (
        (config(udp_cluster("dns", [], fallback="web"), cluster("web"), listen={f"{LO}:{next(_ports)}": "dns"}),
         "no fallback to or from a udp cluster"),
        ({"clusters": [{"name": "x", "policy": {"mode": "sctp"}}]}, 'expected "http", "tcp" or "udp"'),
    ):
        p = lab.proxy(cfg, wait=False, metrics=False)
        try:
            p.proc.wait(10)
        except subprocess.TimeoutExpired:
            pytest.fail(f"skiff-proxy kept running: {p.stderr()}")
        assert p.proc.returncode != 0 and words in p.stderr(), p.stderr()
