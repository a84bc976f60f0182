# SPDX-License-Identifier: Apache-2.0
"""skiffd's networking and proxy end to end: bridges, veths, leases, DNS and
the load-balancing proxy, as containers and clients see them.

One private daemon for the module, inside a network namespace the fixture
made (daemon_fixtures.Daemon): every bridge, veth, address and listener is
created there, and every client (curl, dig, tests/system/net_client.py) runs
there through nsenter.  Apps run the demo's shopd (scripts/mk-demo-images.sh)
so replicas answer with their hostname and can be told to fail.
"""
import json
import os
import re
import signal
import sqlite3
import subprocess
import time

import pytest

from conftest import REPO, wait_for
from daemon_fixtures import ComposeApp, Daemon, app_factory, finish, log_on_failure

pytestmark = [pytest.mark.root, pytest.mark.cgroup_v1]

SHOP = "skiff-demo/shop:1"
CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "net_client.py")
PY = "/usr/bin/python3"


@pytest.fixture(scope="module")
def daemon():
    if os.geteuid() != 0:
        pytest.skip("needs root")
    d = Daemon()
    out = os.path.join(d.dir, "demo-images")
    subprocess.run([os.path.join(REPO, "scripts", "mk-demo-images.sh"), out], check=True,
                   timeout=120, capture_output=True)
    d.cli("image", "import", os.path.join(out, "shop"), "--name", SHOP).check()
    yield d
    finish(d)


@pytest.fixture(autouse=True)
def daemon_log_on_failure(request, daemon):
    yield from log_on_failure(request, daemon)


class App(ComposeApp):
    def ps(self, service=None):
        return [r for r in self.d.ps(self.name) if service is None or r["service"] == service]

    def ready(self, service, n, timeout=20):
        def ok():
            rs = [r for r in self.ps(service) if r.get("ready")]
            return rs if len(rs) == n else None
        return wait_for(ok, timeout, 0.05, f"{n} ready replica(s) of {service}")

    def network(self):
        st, obj = self.d.api("GET", f"/v1/apps/{self.name}/network")
        assert st == 200, obj
        return obj["network"]

    def load(self, url, n, *extra, timeout=90):
        r = self.d.nsrun(PY, CLIENT, url, str(n), *extra, timeout=timeout).check()
        return json.loads(r.out)["results"]


@pytest.fixture
def app(daemon, tmp_path):
    yield from app_factory(daemon, tmp_path, App)


def shop(role="catalog", replicas=1, port=None, xskiff="", extra=""):
    pub = f'\n    ports: ["{port}:8080"]' if port else "\n    expose: [8080]"
    xs = f"\n    x-skiff:\n{xskiff}" if xskiff else ""
    return (f"    image: {SHOP}\n    environment: {{ROLE: {role}}}{pub}\n"
            f"    deploy: {{replicas: {replicas}}}{xs}{extra}\n")


def dig(daemon, server, name):
    r = daemon.nsrun("dig", "+short", "+time=2", "+tries=2", f"@{server}", name)
    return sorted(x for x in r.out.split() if re.match(r"^\d+\.\d+\.\d+\.\d+$", x)), r


# ------------------------------------------------------------------ network

def test_replicas_get_addresses_routes_and_dns_config(daemon, app):
    a = app("nw", "services:\n  web:\n" + shop(replicas=2))
    a.up()
    rs = a.ready("web", 2)
    net = a.network()
    assert re.match(r"^10\.89\.\d+\.0/24$", net["subnet"]), net
    gw = net["gateway"]
    assert net["bridge"] in daemon.links()
    addrs = sorted(r["address"] for r in rs)
    assert len(set(addrs)) == 2 and all(x.startswith(gw.rsplit(".", 1)[0] + ".") for x in addrs)
    # inside the container: eth0 with the leased address, default route via the gateway
    out = a.cli("exec", "web", "cat", "/proc/net/route").check().out
    assert re.search(r"^eth0\s+00000000\s+", out, re.M), out
    fib = a.cli("exec", "web", "cat", "/proc/net/fib_trie").check().out
    assert rs[0]["address"] in fib or rs[1]["address"] in fib
    resolv = a.cli("exec", "web", "cat", "/etc/resolv.conf").check().out
    assert f"nameserver {gw}" in resolv
    hosts = a.cli("exec", "web", "cat", "/etc/hosts").check().out
    assert "nw-web-1" in hosts and "localhost" in hosts
    # the host side reaches each replica at its address
    for r in rs:
        body = daemon.nsrun("curl", "-sS", "--max-time", "5", f"http://{r['address']}:8080/").check().out
        assert json.loads(body)["replica"] == r["name"]


def test_dns_follows_replicas(daemon, app):
    a = app("dn", "services:\n  web:\n" + shop(replicas=3) + "  other:\n" + shop())
    a.up()
    rs = a.ready("web", 3)
    gw = a.network()["gateway"]
    ips, r = dig(daemon, gw, "web")
    assert ips == sorted(x["address"] for x in rs), r
    one, _ = dig(daemon, gw, "dn-web-2")
    assert one == [a.ps("web")[1]["address"]]
    two, _ = dig(daemon, gw, "3.web")
    assert two == [a.ps("web")[2]["address"]]
    # round robin: the first answer rotates
    firsts = set()
    for _ in range(6):
        r = daemon.nsrun("dig", "+short", f"@{gw}", "web").check()
        firsts.add(r.out.split()[0])
    assert len(firsts) > 1
    nx = daemon.nsrun("dig", f"@{gw}", "no-such-service").check().out
    assert "NXDOMAIN" in nx
    # a container resolves names through the bridge's DNS (busybox nslookup in the image)
    out = a.cli("exec", "other", "nslookup", "web").out
    assert all(x["address"] in out for x in rs), out
    # scale down: the answer shrinks once the replica is gone
    a.cli("scale", "web=1").check()
    wait_for(lambda: dig(daemon, gw, "web")[0] == [a.ps("web")[0]["address"]] or None, 15, 0.1,
             "DNS with one replica")
    a.cli("scale", "web=2").check()
    a.ready("web", 2)
    wait_for(lambda: len(dig(daemon, gw, "web")[0]) == 2 or None, 15, 0.1, "DNS with two replicas")


# ------------------------------------------------------------------ proxy

def test_published_port_spreads_over_replicas(daemon, app):
    a = app("lb", "services:\n  web:\n" + shop(replicas=3, port=18181))
    a.up()
    a.ready("web", 3)
    res = a.load("http://127.0.0.1:18181/", 60)
    assert all(r[0] == 200 for r in res), res[:5]
    by = {}
    for r in res:
        by[r[1]] = by.get(r[1], 0) + 1
    assert sorted(by) == ["lb-web-1", "lb-web-2", "lb-web-3"], by
    assert min(by.values()) >= 10, by
    # the body comes from the replica the header names
    assert all(json.loads(r[3])["replica"] == r[1] for r in res[:10])
    # keep-alive on the client side
    res = a.load("http://127.0.0.1:18181/", 30, "--keepalive")
    assert all(r[0] == 200 for r in res)


def test_killed_replica_costs_no_request_with_retries(daemon, app):
    xs = "      proxy:\n        retries: {attempts: 3, on: [connect-failure, reset, 503]}\n"
    a = app("rt", "services:\n  web:\n" + shop(replicas=3, port=18182, xskiff=xs))
    a.up()
    rs = a.ready("web", 3)
    victim = rs[0]
    p = subprocess.Popen(daemon.nsenter([PY, CLIENT, "http://127.0.0.1:18182/", "400",
                                         "--interval", "0.005"]),
                         stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    os.kill(victim["pid"], signal.SIGKILL)
    out, _ = p.communicate(timeout=90)
    res = json.loads(out)["results"]
    failed = [r for r in res if r[0] != 200]
    assert not failed, failed[:5]
    assert len(res) == 400


def test_ejected_replica_comes_back(daemon, app):
    # the ejection (10 s) outlasts the first load on a loaded machine
    xs = ("      proxy:\n        retries: {attempts: 0}\n"
          "        outlier: {consecutive_5xx: 3, base_ejection_time: 10s, max_ejection_percent: 50}\n")
    a = app("ej", "services:\n  web:\n" + shop(replicas=2, port=18183, xskiff=xs))
    a.up()
    a.ready("web", 2)
    # replica 1 fails every request (but stays running)
    a.cli("exec", "--index", "1", "web", "touch", "/tmp/fail").check()
    res = a.load("http://127.0.0.1:18183/", 40)
    bad = [r for r in res if r[0] == 503]
    assert 1 <= len(bad) <= 4, [r[:2] for r in res]  # ejected after 3 consecutive 5xx
    assert all(r[1] == "ej-web-2" for r in res[-20:])
    a.cli("exec", "--index", "1", "web", "rm", "/tmp/fail").check()

    def both():
        res = a.load("http://127.0.0.1:18183/", 20)
        assert all(r[0] == 200 for r in res), [r[:3] for r in res]
        return {r[1] for r in res} == {"ej-web-1", "ej-web-2"}
    wait_for(both, 30, 0.2, "ej-web-1 back after its ejection")


def test_fallback_answers_when_primary_scaled_to_zero(daemon, app):
    text = ("services:\n  recs:\n" +
            shop(role="recommendations", replicas=2, port=18184, xskiff="      fallback: popular\n") +
            "  popular:\n" + shop(role="popular"))
    a = app("fb", text)
    a.up()
    a.ready("recs", 2)
    a.ready("popular", 1)
    res = a.load("http://127.0.0.1:18184/recommendations", 10)
    assert all(r[0] == 200 and '"recommendations"' in r[3] for r in res), res
    a.cli("scale", "recs=0").check()
    wait_for(lambda: not a.ps("recs") or None, 20, 0.1, "recs scaled to 0")
    res = a.load("http://127.0.0.1:18184/recommendations", 10)
    assert all(r[0] == 200 and '"popular"' in r[3] for r in res), res
    assert all(r[1] == "fb-popular-1" for r in res)
    metrics = daemon.api("GET", "/metrics", raw=True)[1]
    assert re.search(r'^skiff_service_fallbacks_total\{[^}]*service="recs"[^}]*\} ([1-9]\d*)', metrics, re.M), \
        [x for x in metrics.splitlines() if "fallback" in x]


def service_metric(daemon, name, **labels):
    """The sum of skiffd's /metrics samples `name` whose labels include `labels`."""
    text = daemon.api("GET", "/metrics", raw=True)[1]
    total = 0.0
    for m in re.finditer(r"^(\w+)\{([^}]*)\} (\S+)$", text, re.M):
        lb = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2)))
        if m.group(1) == name and all(lb.get(k) == v for k, v in labels.items()):
            total += float(m.group(3))
    return total


def test_fault_injection_rates(daemon, app):
    a = app("ft", "services:\n  web:\n" + shop(replicas=2, port=18185))
    a.up()
    a.ready("web", 2)
    a.cli("fault", "web", "--abort", "503", "--abort-percent", "30").check()
    lst = a.cli("fault").check().out
    assert "503" in lst and "runtime" in lst
    res = a.load("http://127.0.0.1:18185/", 300, "--keepalive")
    frac = sum(1 for r in res if r[0] == 503) / len(res)
    assert 0.17 <= frac <= 0.43, frac  # 30 % of 300: sigma 2.6 %, this is about 5 sigma
    assert all(r[0] in (200, 503) for r in res)

    # the injected delays are counted by the proxy (latency alone cannot tell them on a loaded machine)
    def delays():
        return service_metric(daemon, "skiff_service_faults_total", app="ft", service="web", kind="delay")
    a.cli("fault", "web", "--delay", "100ms", "--delay-percent", "50").check()
    d0 = delays()
    res = a.load("http://127.0.0.1:18185/", 100, "--keepalive")
    d1 = delays()
    assert 25 <= d1 - d0 <= 75, (d0, d1)  # 50 % of 100: sigma 5
    slow = sum(1 for r in res if r[2] >= 99)
    assert slow >= d1 - d0, f"{d1 - d0} delays counted, only {slow} requests took >= 100 ms"
    assert all(r[0] == 200 for r in res)
    a.cli("fault", "web", "--clear").check()
    res = a.load("http://127.0.0.1:18185/", 40, "--keepalive")
    assert all(r[0] == 200 for r in res), res
    assert delays() == d1, "delays were injected after --clear"
    bad = a.cli("fault", "web", "--abort", "700")
    assert bad.rc == 2 and "700" in bad.err


def test_smuggling_attempts_get_400(daemon, app):
    a = app("sm", "services:\n  web:\n" + shop(port=18186))
    a.up()
    a.ready("web", 1)
    cases = [
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
    ]
    for raw in cases:
        script = ("import socket,sys\ns=socket.create_connection(('127.0.0.1',18186),timeout=5)\n"
                  f"s.sendall({raw!r})\nd=b''\n"
                  "while True:\n  try:\n    c=s.recv(65536)\n  except OSError:\n    break\n"
                  "  if not c: break\n  d+=c\nsys.stdout.write(d.decode('latin-1'))\n")
        out = daemon.nsrun(PY, "-c", script).check().out
        assert out.startswith("HTTP/1.1 400"), (raw, out[:200])
    logs = a.cli("logs", "web").check().out
    assert "/smuggled" not in logs


def test_internal_service_virtual_address(daemon, app):
    xs = "      proxy: {internal: true}\n"
    a = app("vi", "services:\n  web:\n" + shop(replicas=2, xskiff=xs))
    a.up()
    a.ready("web", 2)
    net = a.network()
    vip = net["services"]["web"]["virtual_address"]
    assert vip, net
    ips, r = dig(daemon, net["gateway"], "web")
    assert ips == [vip], r
    assert f"{vip}/32" in daemon.addresses()
    res = a.load(f"http://{vip}:8080/", 20)
    assert all(r[0] == 200 for r in res)
    assert {r[1] for r in res} == {"vi-web-1", "vi-web-2"}


def test_down_leaves_no_network_objects(daemon, app):
    a = app("gone", "services:\n  web:\n" + shop(replicas=2, port=18187,
                                                  xskiff="      proxy: {internal: true}\n"))
    a.up()
    a.ready("web", 2)
    bridge = a.network()["bridge"]
    before = set(daemon.links())
    assert bridge in before and len([x for x in before if x.startswith("skv")]) >= 2
    a.cli("down").check()
    assert bridge not in daemon.links()
    assert not [x for x in daemon.links() if x.startswith("skv")]
    assert not [x for x in daemon.addresses() if x.startswith("10.89.")]
    assert not os.listdir(os.path.join(daemon.run_dir, "netns"))
    db = sqlite3.connect(os.path.join(daemon.data_dir, "skiff.db"))
    try:
        assert db.execute("SELECT count(*) FROM leases WHERE app = 'gone'").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM networks WHERE app = 'gone'").fetchone()[0] == 0
    finally:
        db.close()
    # the published port is free again
    r = daemon.nsrun("curl", "-sS", "--max-time", "3", "http://127.0.0.1:18187/")
    assert r.rc != 0


def test_host_and_none_network_modes_still_work(daemon, app):
    text = (f"services:\n  h:\n    image: {SHOP}\n    network_mode: host\n"
            "    environment: {PORT: '18188'}\n"
            f"  n:\n    image: {SHOP}\n    network_mode: none\n")
    a = app("modes", text)
    a.up()
    wait_for(lambda: all(r["state"] == "running" for r in a.ps()) and len(a.ps()) == 2 or None,
             20, 0.1, "both running")
    assert all("address" not in r for r in a.ps())
    body = daemon.nsrun("curl", "-sS", "--max-time", "5", "http://127.0.0.1:18188/").check().out
    assert json.loads(body)["replica"]
    route = a.cli("exec", "n", "cat", "/proc/net/dev").check().out
    assert "eth0" not in route and "lo:" in route
    assert a.network() is None


def test_scaled_up_replica_gets_traffic_once_ready(daemon, app):
    a = app("su", "services:\n  web:\n" + shop(replicas=1, port=18189))
    a.up()
    a.ready("web", 1)
    a.cli("scale", "web=3").check()
    a.ready("web", 3)
    res = a.load("http://127.0.0.1:18189/", 30)
    assert all(r[0] == 200 for r in res)
    assert {r[1] for r in res} == {"su-web-1", "su-web-2", "su-web-3"}


def test_egress_is_opt_in_and_removed_on_down(daemon, app):
    a = app("eg", "x-skiff: {egress: true}\nservices:\n  web:\n" + shop())
    b = app("noeg", "services:\n  web:\n" + shop())
    a.up()
    b.up()
    a.ready("web", 1)
    b.ready("web", 1)
    subnet = a.network()["subnet"]
    assert a.network()["egress"] is True and b.network()["egress"] is False
    rules = daemon.nsrun("nft", "list", "table", "ip", "skiff").check().out
    assert subnet in rules and "masquerade" in rules
    assert b.network()["subnet"] not in rules
    fwd = daemon.nsrun("cat", "/proc/sys/net/ipv4/ip_forward").check().out.strip()
    assert fwd == "1"

    def rule_gone():
        r = daemon.nsrun("nft", "list", "table", "ip", "skiff")
        return r.rc != 0 or subnet not in r.out
    # `up` without egress takes the rule away; the replica keeps running
    pid = a.ps("web")[0]["pid"]
    a.file.write_text(a.file.read_text().replace("x-skiff: {egress: true}\n", ""))
    a.up()
    wait_for(rule_gone, 10, 0.1, "masquerade rule removed")
    assert a.ps("web")[0]["pid"] == pid and a.network()["egress"] is False
    a.file.write_text("x-skiff: {egress: true}\n" + a.file.read_text())
    a.up()
    wait_for(lambda: not rule_gone() or None, 10, 0.1, "masquerade rule back")
    a.cli("down").check()
    assert rule_gone()


def test_janitor_removes_links_of_unknown_apps(daemon, app):
    a = app("jn", "services:\n  web:\n" + shop(xskiff="      proxy: {internal: true}\n"))
    a.up()
    a.ready("web", 1)
    bridge = a.network()["bridge"]
    detail = daemon.nsrun("ip", "-d", "link", "show", bridge).check().out
    alias = re.search(r"alias (skiff:[0-9a-f]+:)jn", detail)
    assert alias, detail
    # what a daemon killed mid-way leaves: a bridge of an app the store does not know
    daemon.nsrun("ip", "link", "add", "sk-deadbeef", "type", "bridge").check()
    daemon.nsrun("ip", "link", "set", "sk-deadbeef", "alias", alias.group(1) + "ghost").check()
    daemon.nsrun("ip", "link", "add", "sk-other", "type", "bridge").check()  # not skiff's
    try:
        pid = daemon.daemon_pid()
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: daemon.daemon_pid() not in (None, pid) and
                 daemon.api("GET", "/v1/info")[0] == 200 or None, 20, 0.1, "skiffd restarted")
        wait_for(lambda: "sk-deadbeef" not in daemon.links() or None, 10, 0.1, "ghost bridge removed")
        links = daemon.links()
        assert bridge in links and "sk-other" in links
        # the app's replica still answers through its address
        rep = a.ready("web", 1)[0]
        body = daemon.nsrun("curl", "-sS", "--max-time", "5", f"http://{rep['address']}:8080/").check().out
        assert json.loads(body)["replica"] == "jn-web-1"
        # the restarted daemon serves the app's DNS zone and virtual address again
        net = a.network()
        vip = net["services"]["web"]["virtual_address"]
        wait_for(lambda: dig(daemon, net["gateway"], "web")[0] == [vip] or None, 10, 0.2,
                 "DNS after the restart")
        res = a.load(f"http://{vip}:8080/", 3)
        assert all(r[0] == 200 and r[1] == "jn-web-1" for r in res), res
    finally:
        daemon.nsrun("ip", "link", "del", "sk-other")
        daemon.nsrun("ip", "link", "del", "sk-deadbeef")


def test_port_conflict_is_an_event_and_other_routes_go_on(daemon, app):
    a = app("pa", "services:\n  web:\n" + shop(port=18190))
    a.up()
    a.ready("web", 1)
    b = app("pb", "services:\n  web:\n" + shop(port=18190) + "  api:\n" + shop(port=18191))
    b.up()
    b.ready("web", 1)
    b.ready("api", 1)
    errs = [e for e in daemon.events("pb") if e["type"] == "error"]
    assert any("18190" in e["message"] for e in errs), errs
    # the first app keeps its port; the second app's other port works
    res = a.load("http://127.0.0.1:18190/", 6)
    assert all(r[0] == 200 and r[1] == "pa-web-1" for r in res), res
    res = b.load("http://127.0.0.1:18191/", 6)
    assert all(r[0] == 200 and r[1] == "pb-api-1" for r in res), res
    assert len([e for e in daemon.events("pb") if e["type"] == "error"]) == len(errs)  # said once
    # once the port is free, the second app gets it (retried every 5 s)
    a.cli("down").check()

    def served_by_b():
        r = b.load("http://127.0.0.1:18190/", 1)
        return r[0][0] == 200 and r[0][1] == "pb-web-1"
    wait_for(served_by_b, 15, 0.5, "18190 served by pb after pa's down")


def test_subnet_and_ipv4_address_from_the_file(daemon, app):
    text = ("x-skiff: {subnet: 10.89.200.0/24}\nservices:\n  web:\n" + shop() +
            "    networks:\n      default:\n        ipv4_address: 10.89.200.50\n        aliases: [www]\n")
    a = app("fx", text)
    a.up()
    rep = a.ready("web", 1)[0]
    assert a.network()["subnet"] == "10.89.200.0/24"
    assert rep["address"] == "10.89.200.50"
    ips, r = dig(daemon, "10.89.200.1", "www")
    assert ips == ["10.89.200.50"], r


def test_port_taken_by_another_program_is_retried(daemon, app):
    holder = subprocess.Popen(daemon.nsenter([PY, "-c",
                              "import socket,time\ns=socket.socket()\n"
                              "s.bind(('0.0.0.0',18192))\ns.listen()\nprint('up',flush=True)\n"
                              "time.sleep(60)\n"]), stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "up"
        a = app("tk", "services:\n  web:\n" + shop(port=18192))
        a.up()
        a.ready("web", 1)
        wait_for(lambda: [e for e in daemon.events("tk") if e["type"] == "error"
                          and "18192" in e["message"]] or None, 10, 0.1, "port error event")
    finally:
        holder.kill()
        holder.wait()

    def served():
        r = a.load("http://127.0.0.1:18192/", 1)
        return r[0][0] == 200 and r[0][1] == "tk-web-1"
    wait_for(served, 15, 0.5, "18192 served once the other program let go")
    assert len([e for e in daemon.events("tk") if e["type"] == "error"]) == 1


def test_scale_down_drains_without_failed_requests(daemon, app, tmp_path):
    # no retries: only the drain (out of the routes before the stop signal) keeps requests whole
    xs = "      proxy:\n        retries: {attempts: 0}\n"
    a = app("dr", "services:\n  web:\n" + shop(replicas=3, port=18193, xskiff=xs))
    a.up()
    a.ready("web", 3)
    # the client runs until told to stop, so it goes on well after the scale-down however long that takes
    stop = tmp_path / "stop-client"
    p = subprocess.Popen(daemon.nsenter([PY, CLIENT, "http://127.0.0.1:18193/", "5000", "--budget", "60",
                                         "--keepalive", "--interval", "0.005", "--stop-file", stop]),
                         stdout=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: service_metric(daemon, "skiff_service_requests_total", app="dr", service="web") >= 20,
                 15, 0.05, "the client's requests to arrive")
        t_scale = time.time()
        a.cli("scale", "web=1").check()
        t_scaled = time.time()
        time.sleep(2)  # more requests after the scale-down
        stop.touch()
        out, _ = p.communicate(timeout=90)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    res = json.loads(out)["results"]
    assert not [r for r in res if r[0] != 200], [r for r in res if r[0] != 200][:5]
    before = {r[1] for r in res if r[4] < t_scale}
    assert before == {"dr-web-1", "dr-web-2", "dr-web-3"}, before
    late = [r for r in res if r[4] >= t_scaled + 1.0]
    assert late, f"no request after the scale-down: {len(res)} in all"
    assert all(r[1] == "dr-web-1" for r in late), {r[1] for r in late}


def test_dns_port_taken_keeps_routes_and_is_retried(daemon, app):
    # another program holds the app's gateway:53 before the bridge exists (IP_FREEBIND)
    holder = subprocess.Popen(daemon.nsenter([PY, "-c",
                              "import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                              "s.setsockopt(socket.SOL_IP, 15, 1)\n"
                              "s.bind(('10.89.201.1',53))\nprint('up',flush=True)\ntime.sleep(60)\n"]),
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "up"
        a = app("dt", "x-skiff: {subnet: 10.89.201.0/24}\nservices:\n  web:\n" + shop(port=18194))
        a.up()
        a.ready("web", 1)
        # the proxy's routes are published although the DNS zone is not
        res = a.load("http://127.0.0.1:18194/", 3)
        assert all(r[0] == 200 for r in res), res
        wait_for(lambda: [e for e in daemon.events() if e["type"] == "error"
                          and ":53" in e["message"]] or None, 10, 0.1, "dns error event")
    finally:
        holder.kill()
        holder.wait()
    gw = a.network()["gateway"]
    wait_for(lambda: dig(daemon, gw, "web")[0] == [a.ps("web")[0]["address"]] or None, 15, 0.5,
             "DNS served once port 53 is free")


def test_fallback_to_a_host_network_service_does_not_freeze_routes(daemon, app):
    text = ("services:\n  web:\n" + shop(port=18195, xskiff="      fallback: h\n") +
            f"  h:\n    image: {SHOP}\n    network_mode: host\n    environment: {{PORT: '18196'}}\n")
    a = app("fh", text)
    a.up()
    a.ready("web", 1)
    a.cli("scale", "web=2").check()
    a.ready("web", 2)
    res = a.load("http://127.0.0.1:18195/", 20)
    assert all(r[0] == 200 for r in res), res
    assert {r[1] for r in res} == {"fh-web-1", "fh-web-2"}
    assert not [e for e in daemon.events("fh") if e["type"] == "error"]


def test_a_lone_replica_is_never_blackholed_by_ejection(daemon, app):
    # its 5xx eject it, but with every endpoint ejected the proxy still uses it
    # (panic routing), so it serves again the moment it recovers
    xs = "      proxy:\n        retries: {attempts: 0}\n        outlier: {consecutive_5xx: 3, base_ejection_time: 60s}\n"
    a = app("lone", "services:\n  web:\n" + shop(port=18197, xskiff=xs))
    a.up()
    a.ready("web", 1)
    a.cli("exec", "web", "touch", "/tmp/fail").check()
    res = a.load("http://127.0.0.1:18197/", 8)
    assert all(r[0] == 503 and r[1] == "lone-web-1" for r in res), res
    a.cli("exec", "web", "rm", "/tmp/fail").check()
    res = a.load("http://127.0.0.1:18197/", 4)
    assert all(r[0] == 200 for r in res), res


def test_virtual_address_keeps_working_from_containers_after_a_restart(daemon, app):
    # the bridge has a fixed MAC: otherwise it changes as veths come and go and
    # containers' neighbour entries for the virtual address go stale
    xs = "      proxy: {internal: true}\n"
    a = app("rs", "services:\n  web:\n" + shop(replicas=2, xskiff=xs) + "  cli:\n" + shop())
    a.up()
    a.ready("web", 2)
    a.ready("cli", 1)
    vip = a.network()["services"]["web"]["virtual_address"]
    # busybox nc with an address (busybox-static's name lookups are not reliable)
    get = ["exec", "cli", "sh", "-c",
           f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {vip} 8080"]
    assert '"replica"' in a.cli(*get).check().out
    a.cli("restart", "web").check()
    a.ready("web", 2)
    ok = 0
    for _ in range(4):
        r = a.cli(*get)
        ok += r.rc == 0 and '"replica"' in r.out
    assert ok == 4


def test_published_port_waits_instead_of_refusing_while_skiffd_restarts(daemon, app):
    """The keeper holds the published ports' sockets: after kill -9 of skiffd,
    connections queue until the restarted skiffd serves them; `down` then frees
    the port (the keeper's copies are dropped too)."""
    # another program holds the port of a second service: every publish fails on it first, and
    # must not cost the held socket of the port before it
    holder = subprocess.Popen(daemon.nsenter([PY, "-c",
                              "import socket,time\ns=socket.socket()\n"
                              "s.bind(('0.0.0.0',18187))\ns.listen()\nprint('up',flush=True)\n"
                              "time.sleep(120)\n"]), stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "up"
    a = app("kp", "services:\n  web:\n" + shop(replicas=2, port=18190) +
            "  zz:\n" + shop(port=18187))
    a.up()
    a.ready("web", 2)
    p = subprocess.Popen(daemon.nsenter([PY, CLIENT, "http://127.0.0.1:18190/", "300",
                                         "--interval", "0.01", "--timeout", "15"]),
                         stdout=subprocess.PIPE, text=True)
    gw = a.network()["gateway"]
    want = sorted(r["address"] for r in a.ready("web", 2))
    q = h = None
    try:
        time.sleep(0.5)
        pid = daemon.daemon_pid()
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not os.path.exists(f"/proc/{pid}") or None, 5, 0.01, "skiffd dead")
        # a DNS query and an HTTP request sent while no skiffd runs wait in the held sockets
        q = subprocess.Popen(daemon.nsenter(["dig", "+short", "+time=10", "+tries=1", f"@{gw}", "web"]),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        h = subprocess.Popen(daemon.nsenter(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                                             "--max-time", "15", "http://127.0.0.1:18190/"]),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: daemon.daemon_pid() not in (None, pid) and
                 daemon.api("GET", "/v1/info")[0] == 200 or None, 20, 0.1, "skiffd restarted")
        out, _ = p.communicate(timeout=120)
        dns_out, dns_err = q.communicate(timeout=30)
        http_out, http_err = h.communicate(timeout=30)
    finally:
        holder.kill()
        holder.wait()
        for proc in (p, q, h):
            if proc and proc.poll() is None:
                proc.kill()
                proc.wait()
    assert sorted(dns_out.split()) == want, (dns_out, dns_err)
    assert http_out == "200", (http_out, http_err)
    res = json.loads(out)["results"]
    assert len(res) == 300
    refused = [r for r in res if "ConnectionRefused" in r[3]]
    assert not refused, refused[:3]
    # at most the request in flight when skiffd died fails; those sent while it was dead waited
    failed = [r for r in res if r[0] != 200]
    assert len(failed) <= 1, failed[:5]
    assert max(r[2] for r in res) > 300, "no request waited for the restart"
    a.cli("down").check()
    r = daemon.nsrun("curl", "-sS", "--max-time", "3", "http://127.0.0.1:18190/")
    assert r.rc == 7, r  # connection refused: neither skiffd nor the keeper holds the port


def test_udp_port_is_published_through_the_proxy(daemon, app, tmp_path):
    import udp_peer  # the UDP client of test_proxy_udp.py
    examples = os.environ.get("SKIFF_EXAMPLES", os.path.join(REPO, "build", "examples"))
    peer = os.path.join(os.path.dirname(os.path.abspath(__file__)), "udp_peer.py")
    # busybox's nc has no UDP mode: a static echo server (examples/programs/udpecho.c, built
    # by mk-demo-images.sh for the daemon fixture) that prefixes answers with the hostname
    img = str(tmp_path / "udpecho-img")
    subprocess.run([os.path.join(REPO, "scripts", "mk-example-image.sh"), "test/udpecho:1", img,
                    "--bin", os.path.join(examples, "udpecho"), "--entrypoint", "/usr/local/bin/udpecho"],
                   check=True, timeout=60, capture_output=True)
    daemon.cli("image", "import", img, "--name", "test/udpecho:1").check()
    # another program holds 18199/udp: that port is left out (one error event) and retried
    holder = subprocess.Popen(daemon.nsenter([PY, "-c",
                              "import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                              "s.bind(('0.0.0.0',18199))\nprint('up',flush=True)\ntime.sleep(60)\n"]),
                              stdout=subprocess.PIPE, text=True)
    c = udp_peer.Client(daemon.nsenter([PY, peer, "client"]))
    try:
        assert holder.stdout.readline().strip() == "up"
        a = app("ud", "services:\n  dns:\n    image: test/udpecho:1\n    environment: {PORT: '53'}\n"
                      '    ports: ["18198:53/udp", "18199:53/udp"]\n    deploy: {replicas: 2}\n'
                      "    x-skiff:\n      proxy: {internal: true}\n")
        a.up()
        rs = a.ready("dns", 2)
        for r in rs:  # ready is "running": wait until each server has bound its port
            wait_for(lambda: c.send(f"{r['address']}:53", timeout=0.3)["ok"], 10, 0.1,
                     f"{r['name']} to answer")
        pub = "127.0.0.1:18198"
        wait_for(lambda: c.send(pub, sock=0, timeout=0.3)["ok"], 10, 0.1, "the published port")
        first = {}
        for _ in range(2):
            for k in range(1, 5):
                ans = c.must(pub, sock=k)
                assert ans["from"] == pub, ans  # the published address answers
                assert first.setdefault(k, ans["id"]) == ans["id"], (k, first, ans)  # the flow sticks
        assert set(first.values()) == {"ud-dns-1", "ud-dns-2"}, first  # flows spread
        vip = a.network()["services"]["dns"]["virtual_address"]
        assert c.must(f"{vip}:53", sock=9)["from"] == f"{vip}:53"
        errs = [e for e in daemon.events("ud") if e["type"] == "error"]
        assert len(errs) == 1 and "0.0.0.0:18199/udp not published" in errs[0]["message"], errs
        holder.kill()
        holder.wait()
        wait_for(lambda: c.send("127.0.0.1:18199", sock=10, timeout=0.3)["ok"], 15, 0.5,
                 "18199/udp served once the other program let go")
        assert len([e for e in daemon.events("ud") if e["type"] == "error"]) == 1
        # a datagram sent while skiffd is dead waits in the socket the keeper holds
        pid = daemon.daemon_pid()
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not os.path.exists(f"/proc/{pid}") or None, 5, 0.01, "skiffd dead")
        ans = c.send(pub, sock=11, timeout=15)
        assert ans["ok"] and ans["from"] == pub, ans
        wait_for(lambda: daemon.api("GET", "/v1/info")[0] == 200 or None, 20, 0.1, "skiffd back")
        a.cli("down").check()
        assert not c.send(pub, sock=1, timeout=0.3)["ok"]
        # the ports are free (the proxy's workers close them as they take the new table)
        bind = ("import socket\nfor p in (18198, 18199):\n"
                "    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).bind(('0.0.0.0', p))\n")
        wait_for(lambda: daemon.nsrun(PY, "-c", bind).rc == 0, 5, 0.05, "the UDP ports to be free")
    finally:
        c.kill()
        holder.kill()
        holder.wait()


def test_drain_time_is_configurable(daemon, app):
    """x-skiff.proxy.drain: a replica scaled away leaves DNS and the routes at once and
    gets its stop signal only after the drain time."""
    xs = "      proxy:\n        internal: true\n        drain: 5s\n"
    a = app("dt", "services:\n  web:\n" + shop(replicas=2, port=18194, xskiff=xs))
    a.up()
    rs = {r["name"]: r for r in a.ready("web", 2)}
    gone = rs["dt-web-2"]
    gw = a.network()["gateway"]
    assert dig(daemon, gw, "2.web")[0] == [gone["address"]]
    t0 = time.monotonic()
    a.cli("scale", "web=1").check()
    # out of DNS (and the routes) while its process still runs
    wait_for(lambda: dig(daemon, gw, "2.web")[0] == [] or None, 10, 0.1, "dt-web-2 out of DNS")
    res = a.load("http://127.0.0.1:18194/", 10)
    assert all(r[0] == 200 and r[1] == "dt-web-1" for r in res), res
    if time.monotonic() - t0 < 4:  # checked well inside the drain time
        assert os.path.exists(f"/proc/{gone['pid']}"), "stopped before the drain time"
    wait_for(lambda: not os.path.exists(f"/proc/{gone['pid']}") or None, 30, 0.05, "dt-web-2 stopped")
    assert time.monotonic() - t0 >= 4.9, "the stop signal came before the drain time"
