# SPDX-License-Identifier: Apache-2.0
"""podman drives the runtime under test (`podman --runtime <runtime>`).

The environment is scripts/podman-env.sh with per-session directories:
private containers.conf/storage.conf, overlay storage under
/var/tmp/skiff-podman-test-<pid>, state under /run/skiff-podman-test-<pid>,
--cgroup-parent /skiff-podman-test-<pid>, no network (netns none), and the
image localhost/skiff-busybox:test imported from a busybox rootfs.

Validate a test against runc first:
    SKIFF_TEST_RUNTIME=/usr/sbin/runc ./scripts/run-system.sh tests/system/test_podman.py

What is asserted is what podman or the kernel observes: podman's output and
exit codes, and the container's cgroup files read on the host through
/proc/<pid>/cgroup of the container process (podman inspect .State.Pid).
Teardown: every test must leave no container, no container cgroup and no
process in the session's cgroup parent; the session removes the storage,
its mounts and the cgroup parent (podman system reset, umount, rm -rf).
"""
import os
import shutil
import time

import pytest

import clients
from conftest import runtime_path

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(shutil.which("podman") is None, reason="podman not installed")]

ENV_SCRIPT = os.path.join(clients.REPO, "scripts", "podman-env.sh")
LOOP = 'trap "exit 0" TERM; while :; do sleep 0.1; done'


class Podman:
    def __init__(self, runtime, env):
        self.runtime, self.env = runtime, env
        self.image = env["SKIFF_PODMAN_IMAGE"]
        self.cgroup_parent = env["SKIFF_PODMAN_CGROUP_PARENT"]

    def argv(self, *args):
        return ["podman", "--runtime", self.runtime] + [str(a) for a in args]

    def __call__(self, *args, timeout=clients.TIMEOUT):
        return clients.run(self.argv(*args), env=self.env, timeout=timeout)

    def run(self, *opts, cmd=(), timeout=clients.TIMEOUT):
        """podman run [opts] --cgroup-parent P IMAGE cmd..."""
        return self("run", "--cgroup-parent", self.cgroup_parent, *opts, self.image, *cmd,
                    timeout=timeout)

    def run_tty(self, *opts, cmd=()):
        argv = self.argv("run", "--cgroup-parent", self.cgroup_parent, *opts, self.image, *cmd)
        return clients.run_tty(argv, env=self.env)

    def inspect(self, name, fmt):
        return self("inspect", "--format", fmt, name).check().out.strip()

    def pid(self, name):
        pid = int(self.inspect(name, "{{.State.Pid}}"))
        assert pid > 0, f"{name} has no pid"
        return pid

    def detached(self, name, *opts, cmd=("sh", "-c", LOOP)):
        self.run("-d", "--name", name, *opts, cmd=cmd).check()
        return self.pid(name)

    def remove_all(self):
        """Force-remove every container; returns the ids found. Never
        raises (a hung client is reported in the returned list)."""
        try:
            ids = self("ps", "-a", "-q", timeout=15).out.split()
            if ids:
                self("rm", "-f", "-t", "0", *ids, timeout=30)
            return ids
        except AssertionError as e:
            return [f"(podman hung: {str(e)[:300]})"]


@pytest.fixture(scope="session")
def podman_env():
    pid = os.getpid()
    extra = {
        "SKIFF_PODMAN_DIR": f"/var/tmp/skiff-podman-test-{pid}",
        "SKIFF_PODMAN_RUN": f"/run/skiff-podman-test-{pid}",
        "SKIFF_PODMAN_CGROUP_PARENT": f"/skiff-podman-test-{pid}",
    }
    env = clients.sourced_env(ENV_SCRIPT, extra)
    yield env
    problems = []
    try:
        r = clients.bash_fn(ENV_SCRIPT, "skiff_podman_cleanup", env, timeout=120)
        if r.rc != 0:
            problems.append(f"skiff_podman_cleanup failed: {r!r}")
    except AssertionError as e:
        problems.append(f"skiff_podman_cleanup hung: {str(e)[:500]}")
    # whatever is still running in our cgroup parent (conmon, containers)
    procs = [p for d in clients.cgroup_dirs(env["SKIFF_PODMAN_CGROUP_PARENT"])
             for p in clients.procs_in_cgroup_tree(d)]
    if procs:
        problems.append(f"processes left in {env['SKIFF_PODMAN_CGROUP_PARENT']}: {procs}")
        for p in procs:
            clients.kill_pid(p)
        clients.bash_fn(ENV_SCRIPT, "skiff_podman_cleanup", env, timeout=120)
    for d in (env["SKIFF_PODMAN_DIR"], env["SKIFF_PODMAN_RUN"]):
        if os.path.exists(d):
            problems.append(f"{d} left behind")
        if clients.mounts_under(d):
            problems.append(f"mounts left under {d}: {clients.mounts_under(d)}")
    left = clients.cgroup_dirs(env["SKIFF_PODMAN_CGROUP_PARENT"])
    if left:
        problems.append(f"cgroups left: {left}")
    assert not problems, "podman session teardown: " + "; ".join(problems)


@pytest.fixture(scope="session")
def podman_runtime():
    path = runtime_path()
    assert os.access(path, os.X_OK), f"runtime under test {path} not executable"
    return path


@pytest.fixture
def podman(podman_env, podman_runtime):
    p = Podman(podman_runtime, podman_env)
    yield p
    problems = []
    left = p.remove_all()
    if left:
        problems.append(f"containers left: {left}")
    parent = p.cgroup_parent

    def container_cgroups():
        return [os.path.join(d, x) for d in clients.cgroup_dirs(parent)
                for x in os.listdir(d) if x.startswith("libpod-")]

    def busy():
        return [pid for d in clients.cgroup_dirs(parent) for pid in clients.procs_in_cgroup_tree(d)]

    try:
        clients.wait_for(lambda: not container_cgroups() and not busy(), 10,
                         what="container cgroups and processes to go")
    except AssertionError:
        cg, procs = container_cgroups(), busy()
        problems.append(f"left in {parent}: cgroups {cg}, processes {procs}")
        for pid in set(procs):
            clients.kill_pid(pid)
        for d in cg:
            clients.rmdir_tree(d)
    assert not problems, "leaked: " + "; ".join(problems)


def test_run_rm_echo(podman):
    r = podman.run("--rm", cmd=("echo", "hello", "from skiff")).check()
    assert r.out == "hello from skiff\n"
    assert podman("ps", "-a", "-q").check().out.strip() == ""


def test_exit_code_propagates(podman):
    assert podman.run("--rm", cmd=("sh", "-c", "exit 42")).rc == 42
    assert podman.run("--rm", cmd=("false",)).rc == 1
    assert podman.run("--rm", cmd=("true",)).rc == 0


def test_command_not_found_is_127(podman):
    # podman maps the runtime's "executable file not found" error to 127
    r = podman.run("--rm", cmd=("/no/such/binary",))
    assert r.rc == 127, r


def test_detached_exec_stop_rm(podman):
    pid = podman.detached("skp-exec")
    assert podman.inspect("skp-exec", "{{.State.Running}}") == "true"
    assert clients.pid_alive(pid)
    # exec sees the same pid namespace: the loop is pid 1
    r = podman("exec", "skp-exec", "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; echo $$").check()
    lines = r.out.splitlines()
    assert lines[0].startswith("sh -c trap"), r
    assert int(lines[1]) > 1
    assert podman("exec", "skp-exec", "sh", "-c", "exit 7").rc == 7
    r = podman("exec", "-e", "FOO=bar", "-w", "/tmp", "skp-exec", "sh", "-c", 'echo "$FOO $(pwd)"').check()
    assert r.out == "bar /tmp\n"
    t0 = time.monotonic()
    podman("stop", "-t", "10", "skp-exec").check()
    assert time.monotonic() - t0 < 8, "SIGTERM was not delivered (stop fell back to SIGKILL)"
    assert podman.inspect("skp-exec", "{{.State.Running}}") == "false"
    assert podman.inspect("skp-exec", "{{.State.ExitCode}}") == "0"
    clients.wait_for(lambda: not clients.pid_alive(pid), 5, what="container process to exit")
    podman("rm", "skp-exec").check()
    assert podman("ps", "-a", "-q").check().out.strip() == ""


def test_kill_signal(podman):
    podman.detached("skp-kill", cmd=("sh", "-c", 'trap "exit 3" USR1; while :; do sleep 0.1; done'))
    podman("kill", "--signal", "USR1", "skp-kill").check()
    podman("wait", "skp-kill", timeout=20).check()
    assert podman.inspect("skp-kill", "{{.State.ExitCode}}") == "3"
    podman("rm", "skp-kill").check()


def test_memory_limit(podman):
    pid = podman.detached("skp-mem", "-m", "64m")
    try:
        path = clients.cgroup_file(pid, "memory", "memory.limit_in_bytes")
    except AssertionError:
        path = clients.cgroup_file(pid, "memory", "memory.max")
    assert int(clients.read(path).strip()) == 64 * 1024 * 1024, path
    podman("rm", "-f", "-t", "0", "skp-mem").check()


def test_cpus(podman):
    pid = podman.detached("skp-cpu", "--cpus", "0.5")
    try:
        quota = int(clients.read(clients.cgroup_file(pid, "cpu", "cpu.cfs_quota_us")))
        period = int(clients.read(clients.cgroup_file(pid, "cpu", "cpu.cfs_period_us")))
    except AssertionError:
        q, p = clients.read(clients.cgroup_file(pid, "cpu", "cpu.max")).split()
        quota, period = int(q), int(p)
    assert (quota, period) == (50000, 100000)
    podman("rm", "-f", "-t", "0", "skp-cpu").check()


def test_pids_limit(podman):
    pid = podman.detached("skp-pids", "--pids-limit", "20")
    assert clients.read(clients.cgroup_file(pid, "pids", "pids.max")).strip() == "20"
    # and the kernel enforces it: 30 background sleeps cannot all start
    r = podman("exec", "skp-pids", "sh", "-c", "for i in $(seq 30); do sleep 5 & done")
    assert "fork" in r.err, r
    podman("rm", "-f", "-t", "0", "skp-pids").check()


def test_cap_drop_all(podman):
    r = podman.run("--rm", "--cap-drop", "ALL", cmd=("grep", "^Cap", "/proc/self/status")).check()
    caps = dict(line.split(":\t") for line in r.out.splitlines())
    assert caps["CapEff"] == "0000000000000000"
    assert caps["CapPrm"] == "0000000000000000"
    assert caps["CapBnd"] == "0000000000000000"
    # control: the default set is not empty
    r = podman.run("--rm", cmd=("grep", "^CapEff", "/proc/self/status")).check()
    assert r.out.split(":\t")[1].strip() != "0000000000000000"


def test_read_only(podman):
    r = podman.run("--rm", "--read-only", cmd=("touch", "/x"))
    assert r.rc != 0
    assert "Read-only file system" in r.out + r.err
    # podman's --read-only keeps tmpfs on /tmp (read_only_tmpfs)
    podman.run("--rm", "--read-only", cmd=("touch", "/tmp/x")).check()
    # control: the default root is writable
    podman.run("--rm", cmd=("touch", "/x")).check()


def test_tty(podman):
    r = podman.run_tty("--rm", "-t", cmd=("tty",))
    assert r.rc == 0, r
    assert r.out.strip() == "/dev/pts/0", r
    r = podman.run("--rm", cmd=("tty",))
    assert r.rc == 1 and "not a tty" in r.out, r


def test_user_env_workdir(podman):
    r = podman.run("--rm", "-u", "1000:1000", "-w", "/tmp", "-e", "FOO=bar",
                   cmd=("sh", "-c", 'echo "$(id -u) $(id -g) $(pwd) $FOO"')).check()
    assert r.out == "1000 1000 /tmp bar\n"


def test_ulimits_and_no_network(podman):
    # default_ulimits from the private containers.conf reach the process
    r = podman.run("--rm", cmd=("sh", "-c", "ulimit -n; ulimit -u")).check()
    assert r.out.split() == ["20000", "32768"]
    # netns "none": only the loopback device
    r = podman.run("--rm", cmd=("cat", "/proc/net/dev")).check()
    devs = [line.split(":")[0].strip() for line in r.out.splitlines()[2:]]
    assert devs == ["lo"]
