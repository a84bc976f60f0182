# SPDX-License-Identifier: Apache-2.0
"""skiffd end to end: one private daemon (daemon_fixtures.Daemon) for the
module, apps brought up with the real CLI from compose files in tmp_path,
and every check made on what the kernel or a client observes: /proc,
/sys/fs/cgroup, mountinfo, the API's answers.  The module teardown downs
every app, stops the keeper and fails if a process, cgroup, mount or
runtime state dir is left.  A failing test prints the tail of skiffd's log.
"""
import json
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import proc_status, read, wait_for
from daemon_fixtures import IMAGE, ComposeApp, Daemon, app_factory, finish, free_port, log_on_failure

pytestmark = [pytest.mark.root, pytest.mark.cgroup_v1]

METRICS_PORT = free_port()


@pytest.fixture(scope="module")
def daemon():
    if os.geteuid() != 0:
        pytest.skip("needs root")
    d = Daemon(extra_args=["--metrics-addr", f"127.0.0.1:{METRICS_PORT}"])
    yield d
    finish(d)


@pytest.fixture(autouse=True)
def daemon_log_on_failure(request, daemon):
    yield from log_on_failure(request, daemon)


class App(ComposeApp):
    """One compose project in tmp_path (IMAGE and LOOP stand for the test image and a loop)."""

    def write(self, text):
        self.file.write_text(text.replace("IMAGE", IMAGE).replace("LOOP", LOOP))

    def down(self, *args):
        return self.cli("down", *args).check()

    def ps(self):
        return self.d.ps(self.name)

    def rep(self, service, index=1):
        return self.d.replica(self.name, f"{self.name}-{service}-{index}")

    def running(self, service, index=1, timeout=10, not_pid=None):
        """Wait until the replica runs (with a pid other than not_pid); its REPLICA."""
        def ok():
            r = self.rep(service, index)
            return r if r and r["state"] == "running" and r["pid"] > 0 and r["pid"] != not_pid else None
        return wait_for(ok, timeout, 0.05, f"{self.name}-{service}-{index} running")

    def exited(self, service, index=1, timeout=10):
        def ok():
            r = self.rep(service, index)
            return r if r and r["state"] == "exited" else None
        return wait_for(ok, timeout, 0.05, f"{self.name}-{service}-{index} exited")

    def events(self, type=None, service=None):
        return [e for e in self.d.events(self.name)
                if (type is None or e["type"] == type) and (service is None or e["service"] == service)]

    def cgroup(self, controller, service, index=1):
        return f"/sys/fs/cgroup/{controller}/{self.d.parent}/{self.name}/{self.name}-{service}-{index}"

    def exec(self, service, *argv):
        return self.cli("exec", service, *argv)


@pytest.fixture
def app(daemon, tmp_path):
    yield from app_factory(daemon, tmp_path, App)


def alive(pid):
    try:
        stat = read(f"/proc/{pid}/stat")
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


# ------------------------------------------------------------------ features

# a long runner that stops on SIGTERM (sh as pid 1 ignores it otherwise: every
# stop would wait the 10 s grace period)
LOOP = """["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]"""

WEB = """\
services:
  web:
    image: IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; echo hello $$HOSTNAME; while true; do sleep 0.1; done"]
    environment:
      GREETING: hi-there
    working_dir: /tmp
    user: "1000"
    hostname: webhost
    cap_drop: [ALL]
    labels: {org.example.tier: front}
    ulimits:
      nofile: {soft: 1234, hard: 2345}
    tmpfs: [/scratch]
    volumes:
      - BIND:/bind:ro
    deploy:
      replicas: 2
      resources:
        limits: {memory: 64M, cpus: "0.5", pids: 50}
"""


def test_up_replicas_and_service_settings(daemon, app, tmp_path):
    bind = tmp_path / "bindsrc"
    bind.mkdir()
    (bind / "f").write_text("from-the-host\n")
    a = app("feat", WEB.replace("BIND", str(bind)))
    a.up()
    reps = [a.running("web", i) for i in (1, 2)]
    out = json.loads(a.cli("ps", "--json").check().out)
    assert sorted((r["name"], r["state"]) for r in out) == [("feat-web-1", "running"), ("feat-web-2", "running")]
    assert {r["pid"] for r in out} == {r["pid"] for r in reps}
    for i, r in enumerate(reps, 1):
        pid = r["pid"]
        assert os.path.isdir(f"/proc/{pid}")
        assert read(a.cgroup("memory", "web", i) + "/memory.limit_in_bytes").strip() == str(64 << 20)
        assert read(a.cgroup("cpu", "web", i) + "/cpu.cfs_quota_us").strip() == "50000"
        assert read(a.cgroup("pids", "web", i) + "/pids.max").strip() == "50"
        assert str(pid) in read(a.cgroup("memory", "web", i) + "/cgroup.procs").split()
        env = read(f"/proc/{pid}/environ").split("\0")
        assert "GREETING=hi-there" in env
        st = proc_status(read(f"/proc/{pid}/status"))
        assert st["Uid"].split()[0] == "1000"
        assert st["CapEff"] == "0000000000000000"
        assert os.readlink(f"/proc/{pid}/cwd").endswith("/tmp")
        lim = [ln for ln in read(f"/proc/{pid}/limits").splitlines() if ln.startswith("Max open files")][0]
        assert lim.split()[3:5] == ["1234", "2345"]
        cfg = json.loads(read(os.path.join(daemon.run_dir, "bundles", f"feat-web-{i}", "config.json")))
        assert cfg.get("annotations", {}).get("org.example.tier") == "front"
    r = a.exec("web", "sh", "-c", "pwd; hostname; id -u; cat /bind/f; "
               "grep -c ' /scratch tmpfs ' /proc/mounts; touch /bind/x || echo bind-ro").check()
    assert r.out.split("\n")[:6] == ["/tmp", "webhost", "1000", "from-the-host", "1", "bind-ro"], r
    assert not (bind / "x").exists()


def test_read_only_root(daemon, app):
    a = app("ro", """\
services:
  ro:
    image: IMAGE
    command: LOOP
    read_only: true
""")
    a.up()
    a.running("ro")
    r = a.exec("ro", "sh", "-c", "touch /x")
    assert r.rc != 0 and "Read-only file system" in r.err, r


def test_read_only_root_with_volume(daemon, app):
    a = app("rov", """\
services:
  rov:
    image: IMAGE
    command: LOOP
    read_only: true
    tmpfs: [/scratch]
    volumes: [data:/data]
volumes:
  data: {}
""")
    a.up()
    a.running("rov", timeout=5)
    assert a.exec("rov", "sh", "-c", "echo x > /data/y && echo x > /scratch/y").rc == 0


def test_named_volume_persists_across_down(daemon, app):
    a = app("vol", """\
services:
  v:
    image: IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; date +%s%N >> /data/boots; while true; do sleep 0.1; done"]
    volumes: [data:/data]
volumes:
  data: {}
""")
    vdir = os.path.join(daemon.data_dir, "volumes", "vol_data")
    a.up()
    a.running("v")
    wait_for(lambda: len(read(os.path.join(vdir, "boots"), "x").split()) == 1 and
             read(os.path.join(vdir, "boots"), "") != "", 5, what="first boot line in volume")
    a.down()
    assert os.path.isdir(vdir)
    a.up()
    a.running("v")
    wait_for(lambda: len(read(os.path.join(vdir, "boots"), "").split()) == 2, 5, what="second boot line")
    r = a.exec("v", "cat", "/data/boots").check()
    assert len(r.out.split()) == 2


def test_down_v_removes_named_volume(daemon, app):
    a = app("volv", """\
services:
  v:
    image: IMAGE
    command: LOOP
    volumes: [data:/data]
volumes:
  data: {}
""")
    vdir = os.path.join(daemon.data_dir, "volumes", "volv_data")
    a.up()
    a.running("v")
    assert os.path.isdir(vdir)
    a.down("-v")
    assert not os.path.exists(vdir)


STOP = """\
services:
  trap:
    image: IMAGE
    command: ["sh", "-c", "trap 'echo got USR1; exit 0' USR1; echo armed; while true; do sleep 0.1; done"]
    stop_signal: SIGUSR1
    stop_grace_period: 30s
  deaf:
    image: IMAGE
    command: ["sh", "-c", "trap '' TERM; echo deaf; while true; do sleep 0.1; done"]
    stop_grace_period: 1s
"""


def test_stop_signal_and_grace_period(daemon, app):
    a = app("stp", STOP)
    a.up()
    a.running("trap")
    deaf = a.running("deaf")
    wait_for(lambda: "armed" in a.cli("logs", "trap").out, 5, what="trap armed")
    t0 = time.monotonic()
    a.cli("stop", "trap").check()
    assert time.monotonic() - t0 < 20  # well before the 30 s grace period: the signal stopped it
    r = a.rep("trap")
    assert r["state"] == "exited" and r["exit_code"] == 0, r
    assert "got USR1" in a.cli("logs", "trap").check().out
    t0 = time.monotonic()
    a.cli("stop", "deaf").check()
    took = time.monotonic() - t0
    assert 1.0 <= took < 8, took  # its 1 s grace period, not the default 10 s
    r = a.rep("deaf")
    assert r["state"] == "exited" and r["exit_code"] == 137, r
    assert not alive(deaf["pid"])


# ------------------------------------------------------------------ logs

LOGS = """\
services:
  talk:
    image: IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; echo hello $$HOSTNAME; i=0; while true; do i=$$((i+1)); echo tick $$i; sleep 0.2; done"]
    deploy: {replicas: 2}
"""


def test_logs(daemon, app):
    a = app("lg", LOGS)
    a.up()
    a.running("talk", 1)
    a.running("talk", 2)
    wait_for(lambda: all(f"talk-{i} " in a.cli("logs").out for i in (1, 2)) and
             a.cli("logs").out.count("tick") >= 4, 5, what="both replicas' output")
    out = a.cli("logs", "--no-color").check().out.splitlines()
    assert any(re.match(r"talk-1\s+\| hello ", ln) for ln in out), out
    assert any(re.match(r"talk-2\s+\| hello ", ln) for ln in out), out
    tail = a.cli("logs", "--tail", "1", "talk").check().out.splitlines()
    assert len(tail) == 2 and all("tick" in ln for ln in tail), tail
    ts = a.cli("logs", "-t", "--tail", "1").check().out.splitlines()
    assert all(re.match(r"talk-\d\s+\| \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z tick \d+$", ln) for ln in ts), ts
    # logs -f: a reader that keeps getting new lines; killed by its pid
    p = subprocess.Popen([daemon.skiff, "--sock", daemon.sock, "--store", daemon.data_dir,
                          "-p", a.name, "logs", "-f", "--tail", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        got = [p.stdout.readline() for _ in range(3)]
        assert all("tick" in g for g in got), got
    finally:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
    # logs survive a restart of the container
    old = a.rep("talk", 1)["pid"]
    a.cli("restart", "talk").check()
    a.running("talk", 1, not_pid=old)
    wait_for(lambda: a.cli("logs", "talk").out.count("talk-1  | hello") +
             a.cli("logs", "talk").out.count("talk-1 | hello") >= 2, 5,
             what="hello of both incarnations in logs")


# ------------------------------------------------------------------ restarts

RESTARTS = """\
services:
  always:
    image: IMAGE
    command: LOOP
    restart: always
  onfail:
    image: IMAGE
    command: ["sh", "-c", "exit 3"]
    restart: on-failure:2
  never:
    image: IMAGE
    command: ["sh", "-c", "exit 4"]
    restart: "no"
  flap:
    image: IMAGE
    command: ["sh", "-c", "exit 1"]
    restart: always
"""


def test_restart_policies(daemon, app):
    a = app("rs", RESTARTS)
    a.up()
    first = a.running("always")
    os.kill(first["pid"], signal.SIGKILL)
    again = a.running("always", not_pid=first["pid"], timeout=15)
    assert alive(again["pid"]) and again["restarts"] == 1, again
    ex = [e for e in a.events("exit", "always") if e["attrs"].get("exit_code") == 137]
    assert ex, a.events(service="always")
    # restarted at once: the first restart has no backoff
    rst = a.events("restart", "always")
    assert rst and rst[0]["attrs"]["backoff_ms"] == 0, rst

    r = a.exited("onfail", timeout=20)
    wait_for(lambda: a.rep("onfail")["restarts"] == 2 and a.rep("onfail")["state"] == "exited", 20,
             what="onfail: 2 restarts")
    time.sleep(0.5)
    r = a.rep("onfail")
    assert r["restarts"] == 2 and r["exit_code"] == 3 and r["state"] == "exited", r
    assert len(a.events("start", "onfail")) == 3

    r = a.exited("never")
    assert r["exit_code"] == 4 and r["restarts"] == 0
    time.sleep(0.3)
    assert a.rep("never")["state"] == "exited" and len(a.events("start", "never")) == 1

    wait_for(lambda: len(a.events("restart", "flap")) >= 4, 20, what="4 restarts of flap")
    backoff = [e["attrs"]["backoff_ms"] for e in a.events("restart", "flap")][:4]
    assert backoff[0] == 0 and all(y > x for x, y in zip(backoff[1:], backoff[2:])) and backoff[1] > 0, backoff


# ------------------------------------------------------------------ depends_on, health

DEPENDS = """\
services:
  a:
    image: IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 2; touch /tmp/ready; while true; do sleep 0.1; done"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 1s
      timeout: 1s
      retries: 1
      start_period: 5s
  b:
    image: IMAGE
    command: LOOP
    depends_on:
      a: {condition: service_healthy}
  once:
    image: IMAGE
    command: ["sh", "-c", "sleep 1; exit 0"]
  c:
    image: IMAGE
    command: LOOP
    depends_on:
      once: {condition: service_completed_successfully}
"""


def test_depends_on(daemon, app):
    a = app("dep", DEPENDS)
    a.up()
    a.running("b", timeout=30)
    a.running("c", timeout=30)
    healthy = [e for e in a.events("health", "a") if "healthy" in (e["message"] + json.dumps(e["attrs"]))
               and "unhealthy" not in (e["message"] + json.dumps(e["attrs"]))]
    assert healthy, a.events(service="a")
    b_start = a.events("start", "b")[0]["time_ns"]
    a_start = a.events("start", "a")[0]["time_ns"]
    assert b_start >= healthy[0]["time_ns"] and b_start - a_start >= 2e9
    assert a.rep("a")["health"] == "healthy"
    once_exit = a.events("exit", "once")[0]
    assert once_exit["attrs"]["exit_code"] == 0
    assert a.events("start", "c")[0]["time_ns"] >= once_exit["time_ns"]


HEALTH = """\
services:
  hc:
    image: IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; touch /tmp/ready; while true; do sleep 0.1; done"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 1s
      timeout: 1s
      retries: 1
  web:
    image: IMAGE
    network_mode: host
    stop_grace_period: 1s
    command: ["sh", "-c", "mkdir -p /tmp/www && echo ok > /tmp/www/index.html && exec httpd -f -p 127.0.0.1:PORT -h /tmp/www"]
    x-skiff:
      health:
        http: {port: PORT, path: /index.html, interval: 1s, timeout: 1s, retries: 1}
"""


def test_health(daemon, app):
    a = app("hl", HEALTH.replace("PORT", str(free_port())))
    a.up()
    first = a.running("hc")
    wait_for(lambda: a.rep("hc")["health"] == "healthy", 20, 0.1, "hc healthy")
    a.exec("hc", "rm", "/tmp/ready").check()
    wait_for(lambda: a.rep("hc")["health"] == "unhealthy" or a.rep("hc")["pid"] != first["pid"], 20, 0.05,
             "hc unhealthy")
    again = a.running("hc", not_pid=first["pid"], timeout=20)
    assert again["restarts"] >= 1
    assert not alive(first["pid"])
    assert any("unhealthy" in (e["message"] + json.dumps(e["attrs"])) for e in a.events("health", "hc"))
    wait_for(lambda: a.rep("web")["health"] == "healthy", 20, 0.1, "http probe healthy")


# ------------------------------------------------------------------ scale, update

SCALE = """\
services:
  web:
    image: IMAGE
    command: LOOP
  db:
    image: IMAGE
    command: LOOP
    environment: {V: "1"}
"""


def test_scale(daemon, app):
    a = app("sc", SCALE)
    a.up()
    a.running("web")
    a.cli("scale", "web=3").check()
    pids = [a.running("web", i)["pid"] for i in (1, 2, 3)]
    assert all(alive(p) for p in pids)
    a.cli("scale", "web=1").check()
    wait_for(lambda: not alive(pids[1]) and not alive(pids[2]), 10, what="replicas 2, 3 gone")
    wait_for(lambda: not any(os.path.exists(a.cgroup(c, "web", i)) for c in ("memory", "pids", "cpu", "unified")
                             for i in (2, 3)), 5, what="removed replicas' cgroups gone")
    assert alive(pids[0])
    wait_for(lambda: [r["name"] for r in a.ps() if r["service"] == "web"] == ["sc-web-1"], 5,
             what="ps: only sc-web-1")
    assert a.events("scale", "web")


def test_up_again_recreates_only_changed(daemon, app):
    a = app("upd", SCALE)
    a.up()
    web, db = a.running("web"), a.running("db")
    a.write(SCALE.replace('V: "1"', 'V: "2"'))
    out = a.up().out
    assert "db: updated" in out and "web: unchanged" in out, out
    db2 = a.running("db", not_pid=db["pid"])
    assert "V=2" in read(f"/proc/{db2['pid']}/environ").split("\0")
    assert a.rep("web")["pid"] == web["pid"] and alive(web["pid"])
    assert not alive(db["pid"])


# ------------------------------------------------------------------ daemon death

SURVIVE = """\
services:
  tick:
    image: IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; i=0; while true; do i=$$((i+1)); echo tick $$i; sleep 0.1; done"]
  quit:
    image: IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; trap 'exit 7' USR1; echo armed; while true; do sleep 0.1; done"]
"""


def test_kill_daemon_keeps_containers(daemon, app):
    a = app("kd", SURVIVE)
    a.up()
    tick, quit_ = a.running("tick"), a.running("quit")
    # sh as pid 1 ignores a signal it has no trap for: USR1 only once the traps are set
    wait_for(lambda: "armed" in a.cli("logs", "quit").out, 20, what="quit armed")
    old = daemon.daemon_pid()
    assert old and alive(old)
    os.kill(old, signal.SIGKILL)
    t_kill = time.time_ns()
    wait_for(lambda: not alive(old), 10, what="skiffd dead")
    os.kill(quit_["pid"], signal.SIGUSR1)
    wait_for(lambda: not alive(quit_["pid"]), 10, what="quit replica exited")
    assert alive(tick["pid"])
    new = wait_for(lambda: (p := daemon.daemon_pid()) and p != old and alive(p) and p, 30, 0.05,
                   "a new skiffd pid")
    wait_for(lambda: daemon.api("GET", "/v1/info")[0] == 200, 30, 0.05, "new skiffd answering")
    t_new = daemon.api("GET", "/v1/info")[1]["started_ns"]
    assert daemon.api("GET", "/v1/info")[1]["pid"] == new
    assert a.rep("tick")["pid"] == tick["pid"] and a.rep("tick")["state"] == "running"
    assert alive(tick["pid"])
    assert a.events("adopt", "tick"), a.events()
    r = wait_for(lambda: (x := a.rep("quit")) and x["state"] == "exited" and x, 20, what="quit recorded exited")
    assert r["exit_code"] == 7, r
    lines = [x for x in daemon.logs(a.name, "?service=tick") if t_kill < x["time_ns"] < t_new]
    assert lines and lines[0]["msg"].startswith("tick"), "no line written while skiffd was down"


ONFAIL = """\
services:
  onfail:
    image: IMAGE
    command: ["sh", "-c", "sleep 1.5; exit 3"]
    restart: on-failure:2
"""


def test_restart_limit_survives_daemon_restart(daemon, app):
    """on-failure:2 counts the attempts made before a kill -9 of skiffd."""
    a = app("rl", ONFAIL)
    a.up()
    first = a.running("onfail")
    second = a.running("onfail", not_pid=first["pid"], timeout=20)
    assert second["restarts"] == 1, second
    old = daemon.daemon_pid()
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: not alive(old), 10, what="skiffd dead")
    wait_for(lambda: (p := daemon.daemon_pid()) and p != old and alive(p), 30, 0.05, "a new skiffd")
    wait_for(lambda: daemon.api("GET", "/v1/info")[0] == 200, 30, 0.05, "new skiffd answering")
    assert second["pid"] != first["pid"]
    r = wait_for(lambda: (x := a.rep("onfail")) and x["state"] == "exited" and x["restarts"] >= 2 and x,
                 30, what="onfail exited after its last attempt")
    time.sleep(2)  # a third attempt would have started and be running by now
    r = a.rep("onfail")
    assert r["state"] == "exited" and r["restarts"] == 2 and r["exit_code"] == 3, r
    assert len(a.events("start", "onfail")) == 3, a.events(service="onfail")


# ------------------------------------------------------------------ seccomp, security_opt

SECCOMP = """\
services:
  def:
    image: IMAGE
    command: LOOP
  admin:
    image: IMAGE
    command: LOOP
    cap_add: [SYS_ADMIN]
"""


def seccomp_mode(pid):
    st = proc_status(read(f"/proc/{pid}/status"))
    return st["Seccomp"], st.get("Seccomp_filters")


def test_seccomp_default_profile(daemon, app):
    a = app("scd", SECCOMP)
    a.up()
    pid = a.running("def")["pid"]
    assert seccomp_mode(pid) == ("2", "1")
    r = a.exec("def", "grep", "Seccomp:", "/proc/self/status").check()
    assert r.out.split() == ["Seccomp:", "2"], r
    r = a.exec("def", "unshare", "-n", "true")
    assert r.rc != 0 and "Operation not permitted" in r.err, r
    # a user namespace needs no capability: only the filter refuses it
    r = a.exec("def", "unshare", "-U", "true")
    assert r.rc != 0 and "Operation not permitted" in r.err, r
    # cap_add SYS_ADMIN re-allows what it governs, as in Docker
    a.running("admin")
    a.exec("admin", "unshare", "-n", "true").check()
    a.exec("admin", "unshare", "-U", "true").check()
    cfg = json.loads(read(os.path.join(daemon.run_dir, "bundles", "scd-def-1", "config.json")))
    assert cfg["linux"]["seccomp"]["defaultAction"] == "SCMP_ACT_ALLOW"


def test_security_opt(daemon, app):
    a = app("sco", """\
services:
  open:
    image: IMAGE
    command: LOOP
    security_opt: [seccomp=unconfined, "no-new-privileges:false"]
  prof:
    image: IMAGE
    command: LOOP
    security_opt: [seccomp=nomkdir.json, apparmor=unconfined]
""")
    (a.dir / "nomkdir.json").write_text(json.dumps({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}))
    r = a.up()
    assert re.search(r"compose\.yaml:9:42: warning: services\.prof\.security_opt\[1\]: \"apparmor=unconfined\" is not supported", r.err), r
    pid = a.running("open")["pid"]
    assert seccomp_mode(pid) == ("0", "0")
    assert proc_status(read(f"/proc/{pid}/status"))["NoNewPrivs"] == "0"
    assert a.exec("open", "grep", "Seccomp:", "/proc/self/status").check().out.split() == ["Seccomp:", "0"]
    a.exec("open", "unshare", "-U", "true").check()
    pid = a.running("prof")["pid"]
    assert seccomp_mode(pid) == ("2", "1")
    assert proc_status(read(f"/proc/{pid}/status"))["NoNewPrivs"] == "1"
    r = a.exec("prof", "mkdir", "/tmp/d")
    assert r.rc != 0 and "Operation not permitted" in r.err, r
    # the file's profile replaces the default one
    a.exec("prof", "unshare", "-U", "true").check()


def test_secrets(daemon, app):
    a = app("sct", """\
services:
  web:
    image: IMAGE
    command: LOOP
    user: "1000"
    secrets:
      - db_pass
      - {source: token, target: api_token}
      - {source: token, target: /etc/token, uid: "0", gid: "0", mode: 0440}
secrets:
  db_pass: {file: ./db_pass.txt}
  token: {environment: SKT_TOKEN}
""")
    (a.dir / "db_pass.txt").write_text("hunter2\n")
    os.chmod(a.dir / "db_pass.txt", 0o644)
    (a.dir / ".env").write_text("SKT_TOKEN=s3cr3t-value\n")
    a.up()
    a.running("web")
    r = a.exec("web", "sh", "-c", "cat /run/secrets/db_pass /run/secrets/api_token; echo; "
               "stat -c '%a %u %g' /run/secrets/api_token /etc/token; "
               "grep -c ' /run/secrets/db_pass ' /proc/mounts; "
               "echo x > /run/secrets/db_pass || echo read-only").check()
    assert r.out.split("\n")[:6] == ["hunter2", "s3cr3t-value", "400 1000 1000", "440 0 0", "1",
                                      "read-only"], r
    # the daemon's copy of an environment secret lives with the replica's bundle
    sdir = os.path.join(daemon.run_dir, "bundles", "sct-web-1", "secrets")
    assert sorted(os.listdir(sdir)) == ["1-token", "2-token"]
    assert os.stat(os.path.join(sdir, "1-token")).st_mode & 0o7777 == 0o400
    a.down()
    assert not os.path.exists(sdir)


def test_shm_pid_memory_options(daemon, app):
    a = app("kop", """\
services:
  k:
    image: IMAGE
    command: LOOP
    shm_size: 256m
    pid: host
    mem_limit: 64m
    memswap_limit: 128m
    mem_swappiness: 10
    oom_kill_disable: true
  plain:
    image: IMAGE
    command: LOOP
""")
    a.up()
    pid = a.running("k")["pid"]
    r = a.exec("k", "sh", "-c", "grep ' /dev/shm ' /proc/mounts; cat /proc/1/comm; "
               "test -d /proc/%d && echo sees-own-pid" % pid).check()
    lines = r.out.splitlines()
    assert "size=262144k" in lines[0].split()[3].split(","), r
    # no pid namespace: pid 1 is the host's init, and the host pid is visible as such
    assert lines[1] == read("/proc/1/comm").strip(), r
    assert lines[2] == "sees-own-pid", r
    mem = a.cgroup("memory", "k")
    assert read(mem + "/memory.limit_in_bytes").strip() == str(64 << 20)
    assert read(mem + "/memory.memsw.limit_in_bytes").strip() == str(128 << 20)
    assert read(mem + "/memory.swappiness").strip() == "10"
    assert "oom_kill_disable 1" in read(mem + "/memory.oom_control").splitlines()
    # defaults: Docker's 64 MiB /dev/shm, a pid namespace of its own
    a.running("plain")
    r = a.exec("plain", "sh", "-c", "grep ' /dev/shm ' /proc/mounts; cat /proc/1/comm").check()
    lines = r.out.splitlines()
    assert "size=65536k" in lines[0].split()[3].split(","), r
    assert lines[1] == "sh", r
    assert "oom_kill_disable 0" in read(a.cgroup("memory", "plain") + "/memory.oom_control").splitlines()


ONFAIL_THEN_UP = """\
services:
  flaky:
    image: IMAGE
    command: ["sh", "-c", "n=$$(cat /cnt/n 2>/dev/null || echo 0); echo $$((n+1)) > /cnt/n; [ $$n -ge 2 ] || exit 3; trap 'exit 0' TERM; while true; do sleep 0.1; done"]
    restart: on-failure:2
    volumes: ["cnt:/cnt"]
volumes:
  cnt: {}
"""


def test_restart_count_resets_after_adoption(daemon, app):
    """Two failed starts, then it runs; skiffd is killed and adopts it: after 10 s of
    running the attempt count resets, so a later crash is restarted again."""
    a = app("ra", ONFAIL_THEN_UP)
    a.up()
    r = wait_for(lambda: (x := a.rep("flaky")) and x["state"] == "running" and x["restarts"] == 2 and x,
                 30, 0.05, "flaky running after 2 failed starts")
    old = daemon.daemon_pid()
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: (p := daemon.daemon_pid()) and p != old and alive(p), 30, 0.05, "a new skiffd")
    wait_for(lambda: daemon.api("GET", "/v1/info")[0] == 200, 30, 0.05, "new skiffd answering")
    assert a.events("adopt", "flaky"), a.events(service="flaky")
    started = r["started_ns"] / 1e9 if r.get("started_ns") else time.time()
    time.sleep(max(0.0, started + 11 - time.time()))  # past the 10 s of running
    os.kill(r["pid"], signal.SIGKILL)
    again = a.running("flaky", not_pid=r["pid"], timeout=30)
    assert again["restarts"] == 3, again


# ------------------------------------------------------------------ metrics

def test_metrics(daemon, app):
    a = app("mt", SCALE)
    a.up()
    a.running("web")
    st, text = daemon.api("GET", "/metrics", raw=True)
    assert st == 200
    assert re.search(r'^container_cpu_usage_seconds_total\{[^}]*app="mt",service="web",replica="1"[^}]*\} [0-9.e+-]+$',
                     text, re.M), text[:2000]
    assert re.search(r'^container_memory_working_set_bytes\{[^}]*app="mt"[^}]*\} \d+', text, re.M)
    assert "skiff_container_restarts_total" in text
    # --metrics-addr listens in the daemon's network namespace
    tcp = daemon.nsrun("curl", "-sS", "--max-time", "10", f"http://127.0.0.1:{METRICS_PORT}/metrics").check().out
    assert 'app="mt"' in tcp


# ------------------------------------------------------------------ bad files

BAD = [
    ("syntax", "services:\n  a: [\n    image: IMAGE\n", r"compose\.yaml:\d+:\d+: "),
    ("unknown-dep", "services:\n  a:\n    image: IMAGE\n    depends_on: [b]\n", r"compose\.yaml:4:\d+: .*unknown service"),
    ("cycle", "services:\n  a:\n    image: IMAGE\n    depends_on: [b]\n  b:\n    image: IMAGE\n    depends_on: [a]\n",
     r"compose\.yaml:\d+:\d+: .*cycle"),
    ("duration", "services:\n  a:\n    image: IMAGE\n    stop_grace_period: 1x\n", r"compose\.yaml:4:\d+: .*duration"),
    ("memory", "services:\n  a:\n    image: IMAGE\n    deploy:\n      resources:\n        limits: {memory: 64Q}\n",
     r"compose\.yaml:6:\d+: .*64Q"),
    ("secopt", "services:\n  a:\n    image: IMAGE\n    security_opt: [seccomp=none.json]\n",
     r"compose\.yaml:4:20: services\.a\.security_opt\[0\]: seccomp profile 'none\.json': No such file"),
    ("secret", "services:\n  a:\n    image: IMAGE\n    secrets: [nope]\n",
     r"compose\.yaml:4:15: services\.a\.secrets\[0\]: secret \"nope\" is not declared"),
    ("pid", "services:\n  a:\n    image: IMAGE\n    pid: container:x\n",
     r"compose\.yaml:4:10: services\.a\.pid: invalid pid \"container:x\" \(only host is supported\)"),
    ("secopt-key", "services:\n  a:\n    image: IMAGE\n    security_opt: [apparmor]\n",
     r"compose\.yaml:4:20: services\.a\.security_opt\[0\]: unknown security option \"apparmor\""),
]


@pytest.mark.parametrize("name,text,want", BAD, ids=[b[0] for b in BAD])
def test_bad_compose(daemon, app, name, text, want):
    a = app("bad" + name.replace("-", ""), text)
    r = a.cli("up", "-d")
    assert r.rc != 0 and re.search(want, r.err), r
    st, obj = daemon.api("GET", "/v1/apps")
    assert st == 200 and a.name not in [x["name"] for x in obj["apps"]]
    assert not daemon.cgroup_dirs(a.name)


# ------------------------------------------------------------------ down, events

def test_down_leaves_nothing(daemon, app):
    a = app("dn", SCALE)
    a.up()
    pids = [a.running("web")["pid"], a.running("db")["pid"]]
    a.down()
    assert not any(alive(p) for p in pids)
    assert not daemon.cgroup_dirs(a.name)
    assert not [m for m in daemon.mounts_under() if "dn-" in m]
    for sub in ("runtime", "bundles"):
        d = os.path.join(daemon.run_dir, sub)
        assert not [x for x in (os.listdir(d) if os.path.isdir(d) else []) if x.startswith("dn-")], sub
    assert daemon.api("GET", f"/v1/apps/{a.name}")[0] == 404


EVENTS = """\
services:
  web:
    image: IMAGE
    command: LOOP
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
      timeout: 1s
      retries: 1
  flap:
    image: IMAGE
    command: ["sh", "-c", "exit 1"]
    restart: always
"""


def test_events_json(daemon, app):
    # every kind of event made here, not left by the tests before
    a = app("evj", EVENTS)
    a.up()
    a.running("web")
    wait_for(lambda: a.events("restart", "flap"), 20, what="a restart of flap")
    wait_for(lambda: a.events("health", "web"), 20, what="a health event of web")
    a.cli("scale", "web=2").check()
    a.running("web", 2)
    old = daemon.daemon_pid()
    os.kill(old, signal.SIGKILL)  # the new skiffd adopts the running replicas
    wait_for(lambda: not alive(old), 10, what="skiffd dead")
    wait_for(lambda: (p := daemon.daemon_pid()) and p != old and alive(p), 30, 0.05, "a new skiffd")
    wait_for(lambda: daemon.api("GET", "/v1/info")[0] == 200, 30, 0.05, "new skiffd answering")
    wait_for(lambda: a.events("adopt", "web"), 20, what="web adopted")
    a.down()
    out = daemon.cli("events", "--json", "-p", a.name).check().out
    evs = [json.loads(ln) for ln in out.splitlines() if ln.strip()]
    assert evs and all(e["app"] == a.name for e in evs), evs[:5]
    types = {e["type"] for e in evs}
    assert {"start", "exit", "restart", "health", "scale", "adopt", "delete"} <= types, sorted(types)


def test_events_create(daemon, app):
    a = app("evc", SCALE)
    a.up()
    a.running("web")
    assert a.events("create", "web")


# last: when the bug is present the daemon dies here (the keeper restarts it)
def test_down_unknown_app_keeps_daemon(daemon):
    pid = daemon.daemon_pid()
    try:
        r = daemon.cli("-p", "nosuchapp", "down")
        assert r.rc != 0 and "no such app" in r.err, r
        time.sleep(0.3)
        assert daemon.daemon_pid() == pid and alive(pid), "skiffd died on DELETE of an unknown app"
    finally:
        def back():
            try:
                return daemon.api("GET", "/v1/info")[0] == 200
            except OSError:
                return False
        wait_for(back, 10, 0.1, "skiffd back")
