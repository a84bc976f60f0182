# SPDX-License-Identifier: Apache-2.0
"""containerd (through containerd-shim-runc-v2) drives the runtime under test
(`ctr run --runc-binary <runtime>`).

The daemon is a private containerd from scripts/containerd-env.sh, with
per-session directories (/var/tmp/skiff-ctr-test-<pid>,
/run/skiff-ctr-test-<pid>), its own sockets, no CRI plugin, overlayfs
snapshots, namespace skiff-test; it is started here and stopped by PID.
Containers get `--cgroup /skiff-ctr-test-<pid>/<id>`, `--runc-root` and
`--fifo-dir` under the private run directory (ctr's defaults are under
/run/containerd), and ctr's default network setting (a new empty network
namespace; no CNI, no NAT).

Validate a test against runc first:
    SKIFF_TEST_RUNTIME=/usr/sbin/runc /usr/bin/python3 -m pytest tests/system/test_containerd.py

Teardown: every test must leave no task, no container and no cgroup; the
session kills the daemon by PID, checks no shim of ours is alive, unmounts
and removes its directories and the cgroup parent.
"""
import os
import shutil
import signal
import subprocess

import pytest

import clients
from conftest import runtime_path

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(shutil.which("containerd") is None or shutil.which("ctr") is None,
                                 reason="containerd/ctr not installed")]

ENV_SCRIPT = os.path.join(clients.REPO, "scripts", "containerd-env.sh")
LOOP = 'trap "exit 0" TERM; while :; do sleep 0.1; done'


def our_processes(env):
    """Live processes of this session's containerd world: shims and runtime
    invocations (their command lines name our socket, state or runc root,
    all under $SKIFF_CTR_RUN) and container processes (in our cgroups)."""
    run_dir = env["SKIFF_CTR_RUN"] + "/"
    pids = set()
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) == os.getpid():
            continue
        cmd = clients.read(f"/proc/{p}/cmdline", "").split("\0")
        if cmd and os.path.basename(cmd[0]) == "containerd" and "--config" in cmd:
            continue  # the daemon: stopped separately
        if any(a.startswith(run_dir) for a in cmd[1:]) and clients.pid_alive(int(p)):
            pids.add(int(p))
    for d in clients.cgroup_dirs(env["SKIFF_CTR_CGROUP_PARENT"]):
        pids.update(x for x in clients.procs_in_cgroup_tree(d) if clients.pid_alive(x))
    return sorted(pids)


@pytest.fixture(scope="session")
def ctrd():
    pid = os.getpid()
    extra = {
        "SKIFF_CTR_DIR": f"/var/tmp/skiff-ctr-test-{pid}",
        "SKIFF_CTR_RUN": f"/run/skiff-ctr-test-{pid}",
        "SKIFF_CTR_CGROUP_PARENT": f"/skiff-ctr-test-{pid}",
    }
    env = clients.sourced_env(ENV_SCRIPT, extra)  # writes config.toml
    log = open(env["SKIFF_CTR_LOG"], "ab")
    daemon = subprocess.Popen(["containerd", "--config", env["SKIFF_CTR_CONFIG"]],
                              stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                              env=env, start_new_session=True)
    log.close()
    try:
        clients.wait_for(lambda: daemon.poll() is not None or
                         clients.run(["ctr", "version"], env=env, timeout=10).ok,
                         20, what="containerd to answer")
        assert daemon.poll() is None, "containerd exited: " + clients.read(env["SKIFF_CTR_LOG"], "")[-3000:]
        clients.bash_fn(ENV_SCRIPT, "skiff_ctr_import", env, timeout=120).check()
        yield env
    finally:
        session_teardown(env, daemon)


def session_teardown(env, daemon):
    """Never raises before the daemon is stopped and everything is gone."""
    problems = []

    def quiet(argv):
        try:
            return clients.run(argv, env=env, timeout=15)
        except AssertionError as e:
            problems.append(str(e)[:500])
            return clients.Result(argv, -1, "", "")

    if daemon.poll() is None:
        for t in quiet(["ctr", "tasks", "ls", "-q"]).out.split():
            quiet(["ctr", "tasks", "kill", "-s", "SIGKILL", t])
            quiet(["ctr", "tasks", "delete", "-f", t])
        for c in quiet(["ctr", "containers", "ls", "-q"]).out.split():
            quiet(["ctr", "containers", "delete", c])
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(20)
        except subprocess.TimeoutExpired:
            problems.append("containerd ignored SIGTERM")
            daemon.kill()
            daemon.wait()
    try:
        clients.wait_for(lambda: not our_processes(env), 10, what="shims and containers to exit")
    except AssertionError:
        procs = our_processes(env)
        problems.append("processes left: " + "; ".join(
            f"{p} {clients.read(f'/proc/{p}/cmdline', '').replace(chr(0), ' ')[:200]}" for p in procs))
        for p in procs:
            clients.kill_pid(p)
    r = clients.bash_fn(ENV_SCRIPT, "skiff_ctr_cleanup", env, timeout=120)
    if r.rc != 0:
        problems.append(f"skiff_ctr_cleanup failed: {r!r}")
    for d in (env["SKIFF_CTR_DIR"], env["SKIFF_CTR_RUN"]):
        if os.path.exists(d):
            problems.append(f"{d} left behind")
        if clients.mounts_under(d):
            problems.append(f"mounts left under {d}: {clients.mounts_under(d)}")
    left = clients.cgroup_dirs(env["SKIFF_CTR_CGROUP_PARENT"])
    if left:
        problems.append(f"cgroups left: {left}")
    assert not problems, "containerd session teardown: " + "; ".join(problems)


class Ctr:
    def __init__(self, runtime, env):
        self.runtime, self.env = runtime, env
        self.image = env["SKIFF_CTR_IMAGE"]
        self.parent = env["SKIFF_CTR_CGROUP_PARENT"]
        self.n = 0

    def __call__(self, *args, timeout=clients.TIMEOUT):
        return clients.run(["ctr"] + [str(a) for a in args], env=self.env, timeout=timeout)

    def new_id(self):
        self.n += 1
        return f"skc{os.getpid()}-{self.n}"

    def run_argv(self, cid, *opts, cmd=()):
        return ["ctr", "run", "--runc-binary", self.runtime,
                "--runc-root", self.env["SKIFF_CTR_RUNC_ROOT"],
                "--fifo-dir", self.env["SKIFF_CTR_FIFO_DIR"],
                "--cgroup", f"{self.parent}/{cid}", *opts, self.image, cid, *cmd]

    def exec(self, cid, exec_id, *cmd, timeout=clients.TIMEOUT):
        return self("task", "exec", "--fifo-dir", self.env["SKIFF_CTR_FIFO_DIR"],
                    "--exec-id", exec_id, cid, *cmd, timeout=timeout)

    def run(self, cid, *opts, cmd=(), timeout=clients.TIMEOUT):
        return clients.run(self.run_argv(cid, *opts, cmd=cmd), env=self.env, timeout=timeout)

    def tasks(self):
        """{id: (pid, status)} from `ctr task ls`."""
        res = {}
        for line in self("task", "ls").check().out.splitlines()[1:]:
            f = line.split()
            if len(f) >= 3:
                res[f[0]] = (int(f[1]), f[2])
        return res

    def status(self, cid):
        return self.tasks().get(cid, (0, None))[1]


@pytest.fixture(scope="session")
def ctr_runtime():
    path = runtime_path()
    assert os.access(path, os.X_OK), f"runtime under test {path} not executable"
    return path


@pytest.fixture
def ctr(ctrd, ctr_runtime):
    c = Ctr(ctr_runtime, ctrd)
    yield c
    problems = []

    def quiet(*args):
        try:
            return c(*args, timeout=15)
        except AssertionError as e:
            problems.append(str(e)[:500])
            return clients.Result(list(args), -1, "", "")

    tasks = quiet("task", "ls", "-q").out.split()
    if tasks:
        problems.append(f"tasks left: {tasks}")
        for t in tasks:
            quiet("task", "kill", "-s", "SIGKILL", t)
            quiet("task", "delete", "-f", t)
    ctrs = quiet("container", "ls", "-q").out.split()
    if ctrs:
        problems.append(f"containers left: {ctrs}")
        for x in ctrs:
            quiet("container", "delete", x)

    def container_cgroups():
        return [os.path.join(d, x) for d in clients.cgroup_dirs(c.parent) for x in os.listdir(d)
                if os.path.isdir(os.path.join(d, x))]

    try:
        clients.wait_for(lambda: not container_cgroups(), 10, what="container cgroups to go")
    except AssertionError:
        cg = container_cgroups()
        problems.append(f"cgroups left: {cg}")
        for d in cg:
            for p in clients.procs_in_cgroup_tree(d):
                clients.kill_pid(p)
            clients.rmdir_tree(d)
    assert not problems, "leaked: " + "; ".join(problems)


def test_run_rm_echo(ctr):
    r = ctr.run(ctr.new_id(), "--rm", cmd=("echo", "hi")).check()
    assert r.out == "hi\n"
    assert ctr("container", "ls", "-q").check().out.strip() == ""


def test_exit_code_propagates(ctr):
    assert ctr.run(ctr.new_id(), "--rm", cmd=("sh", "-c", "exit 3")).rc == 3


def test_image_config_reaches_process(ctr):
    # PATH from the image config, cwd /, the default (empty) network namespace
    r = ctr.run(ctr.new_id(), "--rm", cmd=("sh", "-c", 'echo "$PATH"; pwd; cat /proc/net/dev')).check()
    lines = r.out.splitlines()
    assert lines[0] == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    assert lines[1] == "/"
    assert [ln.split(":")[0].strip() for ln in lines[4:]] == ["lo"]


def test_detached_exec_kill_delete(ctr):
    cid = ctr.new_id()
    ctr.run(cid, "-d", cmd=("sh", "-c", LOOP)).check()
    pid, status = ctr.tasks()[cid]
    assert status == "RUNNING"
    assert clients.pid_alive(pid)
    # the container process is in the cgroup ctr asked for
    assert clients.cgroup_of(pid).get("memory", clients.cgroup_of(pid).get("")) == f"{ctr.parent}/{cid}"

    r = ctr.exec(cid, "e1", "sh", "-c", "tr '\\0' ' ' </proc/1/cmdline; echo; echo $$").check()
    lines = r.out.splitlines()
    assert lines[0].startswith("sh -c trap"), r
    assert int(lines[1]) > 1
    assert ctr.exec(cid, "e2", "sh", "-c", "exit 5").rc == 5

    ctr("task", "kill", cid).check()  # SIGTERM: the trap exits 0
    clients.wait_for(lambda: ctr.status(cid) == "STOPPED", 10, what=f"{cid} to stop")
    assert not clients.pid_alive(pid)
    ctr("task", "delete", cid).check()
    assert cid not in ctr.tasks()
    ctr("container", "delete", cid).check()


def test_pause_resume(ctr):
    cid = ctr.new_id()
    ctr.run(cid, "-d", cmd=("sh", "-c", LOOP)).check()
    pid, _ = ctr.tasks()[cid]
    ctr("task", "pause", cid).check()
    assert ctr.status(cid) == "PAUSED"
    try:
        state = clients.read(clients.cgroup_file(pid, "freezer", "freezer.state")).strip()
        assert state == "FROZEN"
    except AssertionError as e:
        if "no freezer.state" not in str(e):
            raise
        assert clients.read(clients.cgroup_file(pid, "", "cgroup.freeze")).strip() == "1"
    ctr("task", "resume", cid).check()
    assert ctr.status(cid) == "RUNNING"
    ctr("task", "kill", "-s", "SIGKILL", cid).check()
    clients.wait_for(lambda: ctr.status(cid) == "STOPPED", 10, what=f"{cid} to stop")
    ctr("task", "delete", cid).check()
    ctr("container", "delete", cid).check()


def test_memory_limit(ctr):
    cid = ctr.new_id()
    ctr.run(cid, "-d", "--memory-limit", str(64 * 1024 * 1024), cmd=("sh", "-c", LOOP)).check()
    pid, _ = ctr.tasks()[cid]
    try:
        path = clients.cgroup_file(pid, "memory", "memory.limit_in_bytes")
    except AssertionError:
        path = clients.cgroup_file(pid, "memory", "memory.max")
    assert int(clients.read(path).strip()) == 64 * 1024 * 1024, path
    ctr("task", "kill", "-s", "SIGKILL", cid).check()
    clients.wait_for(lambda: ctr.status(cid) == "STOPPED", 10, what=f"{cid} to stop")
    ctr("task", "delete", cid).check()
    ctr("container", "delete", cid).check()


def test_tty(ctr):
    argv = ctr.run_argv(ctr.new_id(), "--rm", "-t", cmd=("tty",))
    r = clients.run_tty(argv, env=ctr.env)
    assert r.rc == 0, r
    assert r.out.strip() == "/dev/pts/0", r
