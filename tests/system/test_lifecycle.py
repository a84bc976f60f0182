# SPDX-License-Identifier: Apache-2.0
"""The runc command line's container lifecycle: create, start, state, kill,
delete, list, ps, pause/resume, run, exec, --pid-file, and its errors.

Every test observes the effect (the container's output, /proc/<pid>, the
state JSON) rather than trusting an exit code alone.
"""
import json
import os
import re
import time

import pytest

from conftest import controller_dir, proc_alive, proc_starttime, proc_status, read, wait_for

pytestmark = pytest.mark.root

LOOP = "trap 'echo got-term; exit 3' TERM; echo ready; sleep 300 & wait"


def wait_output(b, text, timeout=10):
    return wait_for(lambda: text in b.output(), timeout, what=f"{text!r} in output of {b.id}")


def ns_of(pid, kind):
    return os.readlink(f"/proc/{pid}/ns/{kind}")


def test_create_start_state_stop(bundle, state_root):
    bundle.sh("echo started; sleep 300")
    bundle.config["annotations"] = {"org.skiff.test": "lifecycle", "n": "1"}
    bundle.create()
    st = bundle.state()
    assert st["status"] == "created"
    assert st["id"] == bundle.id
    assert os.path.realpath(st["bundle"]) == os.path.realpath(bundle.path)
    assert st["ociVersion"].startswith("1.")
    assert st.get("annotations") == {"org.skiff.test": "lifecycle", "n": "1"}
    pid = st["pid"]
    assert pid > 0 and os.path.exists(f"/proc/{pid}")
    # the container has its own pid namespace and has not run its args yet
    assert ns_of(pid, "pid") != ns_of("self", "pid")
    time.sleep(0.2)
    assert bundle.output() == "", "create must not run process.args"
    assert os.path.isdir(os.path.join(state_root, bundle.id))

    bundle.start()
    wait_output(bundle, "started")
    st = bundle.state()
    assert st["status"] == "running"
    assert st["pid"] == pid
    # the shell execs sleep after the echo: not necessarily done yet
    wait_for(lambda: read(f"/proc/{pid}/cmdline").split("\0")[0] == "sleep", 5, what="init to exec sleep")

    bundle.kill("KILL")
    bundle.wait_status("stopped")
    assert not proc_alive(pid, proc_starttime(pid) or "gone")
    bundle.delete()
    assert not os.path.exists(os.path.join(state_root, bundle.id))
    r = bundle.state(check=False)
    assert r.rc != 0
    assert re.search(r"not exist|no such|not found", r.errors(), re.I), r


@pytest.mark.parametrize("sig", [None, "TERM", "SIGTERM", "15"])
def test_kill_term(bundle, sig):
    """The default signal and TERM by name, SIG-name and number reach init."""
    bundle.sh(LOOP)
    bundle.create_started()
    wait_output(bundle, "ready")
    bundle.kill(sig)
    wait_output(bundle, "got-term")
    bundle.wait_status("stopped")


@pytest.mark.parametrize("sig", ["KILL", "SIGKILL", "9"])
def test_kill_kill(bundle, sig):
    bundle.sh("trap 'echo got-term' TERM; echo ready; sleep 300 & wait; echo after-wait; sleep 300")
    st = bundle.create_started()
    wait_output(bundle, "ready")
    bundle.kill(sig)
    bundle.wait_status("stopped")
    assert "got-term" not in bundle.output()
    assert not os.path.exists(f"/proc/{st['pid']}/cmdline") or read(f"/proc/{st['pid']}/cmdline") == ""


def test_kill_all(bundle):
    """kill --all signals every process of the container, not only init."""
    bundle.linux["namespaces"] = [n for n in bundle.linux["namespaces"] if n["type"] != "pid"]
    # without a pid namespace, init's death would not take the children along
    bundle.sh("sleep 301 & sleep 302 & echo ready; wait")
    st = bundle.create_started()
    wait_output(bundle, "ready")
    pids = json.loads(bundle.rt("ps", "--format", "json", bundle.id).check().out)
    assert st["pid"] in pids and len(pids) == 3, pids
    starts = {p: proc_starttime(p) for p in pids}
    bundle.kill("KILL", "--all")
    for p in pids:
        wait_for(lambda: not proc_alive(p, starts[p]), 5, what=f"pid {p} to die")
    bundle.wait_status("stopped")


def test_kill_created(bundle):
    """A created, never started container can be signalled."""
    st = bundle.create()
    st = bundle.state()
    start = proc_starttime(st["pid"])
    bundle.kill("KILL")
    wait_for(lambda: not proc_alive(st["pid"], start), 5, what="init to die")
    bundle.wait_status("stopped")
    assert bundle.output() == ""


def test_state_after_external_kill(bundle):
    """The runtime notices an init killed behind its back."""
    import signal
    st = bundle.create_started()
    os.kill(st["pid"], signal.SIGKILL)  # our container's init
    bundle.wait_status("stopped")
    entries = {e["id"]: e for e in json.loads(bundle.rt("list", "--format", "json").check().out)}
    assert entries[bundle.id]["status"] == "stopped"


def test_kill_unknown_signal(bundle):
    bundle.create_started()
    r = bundle.kill("NOTASIGNAL", check=False)
    assert r.rc != 0
    assert "NOTASIGNAL" in r.errors() or "signal" in r.errors().lower(), r
    assert bundle.status() == "running"


def test_kill_stopped_fails(bundle):
    bundle.args("true")
    bundle.create_started()
    bundle.wait_status("stopped")
    r = bundle.kill("KILL", check=False)
    assert r.rc != 0
    assert r.errors().strip(), r


def test_delete_stopped(bundle, state_root):
    bundle.args("true")
    bundle.create_started()
    bundle.wait_status("stopped")
    bundle.delete()
    assert not os.path.exists(os.path.join(state_root, bundle.id))
    assert bundle.rt("list", "-q").check().out.split() == [] or bundle.id not in bundle.rt("list", "-q").out


def test_delete_running_needs_force(bundle):
    st = bundle.create_started()
    r = bundle.delete(check=False)
    assert r.rc != 0
    assert r.errors().strip(), r
    assert bundle.status() == "running"
    assert proc_alive(st["pid"], proc_starttime(st["pid"]))
    start = proc_starttime(st["pid"])
    bundle.delete("--force")
    wait_for(lambda: not proc_alive(st["pid"], start), 5, what="init to die")
    assert bundle.state(check=False).rc != 0


def test_delete_force_created(bundle):
    """A created (never started) container can be force-deleted too."""
    st = bundle.create()
    st = bundle.state()
    start = proc_starttime(st["pid"])
    bundle.delete("--force")
    wait_for(lambda: not proc_alive(st["pid"], start), 5, what="init to die")
    assert bundle.state(check=False).rc != 0


def test_list(make_bundle, rt):
    a, b = make_bundle(), make_bundle()
    a.create_started()
    b.create()
    ids = rt("list", "-q").check().out.split()
    assert a.id in ids and b.id in ids
    entries = {e["id"]: e for e in json.loads(rt("list", "--format", "json").check().out)}
    assert entries[a.id]["status"] == "running"
    assert entries[b.id]["status"] == "created"
    assert entries[a.id]["pid"] == a.state()["pid"]
    assert os.path.realpath(entries[b.id]["bundle"]) == os.path.realpath(b.path)
    table = rt("list").check().out.splitlines()
    assert table[0].split()[:2] == ["ID", "PID"]
    assert any(line.split()[0] == a.id and "running" in line.split() for line in table[1:])


def test_ps_json(bundle):
    bundle.sh("sleep 301 & echo ready; exec sleep 302")
    st = bundle.create_started()
    wait_output(bundle, "ready")
    wait_for(lambda: len(json.loads(bundle.rt("ps", "--format", "json", bundle.id).check().out)) == 2,
             5, what="two processes")
    pids = json.loads(bundle.rt("ps", "--format", "json", bundle.id).check().out)
    assert st["pid"] in pids
    other = [p for p in pids if p != st["pid"]][0]
    wait_for(lambda: read(f"/proc/{other}/cmdline").split("\0")[:2] == ["sleep", "301"], 5,
             what="the background child to exec sleep 301")


def freezer_state(b):
    d, v = controller_dir("freezer", b.cgroups_path)
    if d and v == 1:
        return read(os.path.join(d, "freezer.state")).strip()
    d = controller_dir("cpu", b.cgroups_path)[0] or d
    ev = read(os.path.join(d, "cgroup.events"))
    return "FROZEN" if "frozen 1" in ev else "THAWED"


def test_pause_resume(bundle):
    bundle.sh("i=0; while :; do i=$((i+1)); echo $i; sleep 0.02; done")
    bundle.create_started()
    wait_for(lambda: len(bundle.output().split()) > 3, 5, what="the loop to run")
    bundle.rt("pause", bundle.id).check()
    assert bundle.status() == "paused"
    assert freezer_state(bundle) == "FROZEN"
    n = len(bundle.output().split())
    time.sleep(0.3)
    assert len(bundle.output().split()) == n, "a paused container made progress"
    bundle.rt("resume", bundle.id).check()
    assert bundle.status() == "running"
    assert freezer_state(bundle) == "THAWED"
    wait_for(lambda: len(bundle.output().split()) > n + 3, 5, what="the loop to continue")


def test_pause_delete_force(bundle):
    """A paused container can be force-deleted (it must be thawed to die)."""
    st = bundle.create_started()
    bundle.rt("pause", bundle.id).check()
    start = proc_starttime(st["pid"])
    bundle.delete("--force")
    wait_for(lambda: not proc_alive(st["pid"], start), 5, what="init to die")


def test_run_exit_code_and_stdout(bundle):
    bundle.sh("echo hello from $(hostname); echo to-stderr >&2; exit 7")
    r = bundle.run()
    assert r.rc == 7, r
    assert r.out == "hello from skt\n"
    assert "to-stderr" in r.err
    # run deletes the container when it exits
    assert bundle.state(check=False).rc != 0


def test_run_stdin_passthrough(bundle):
    bundle.args("cat")
    r = bundle.run(input="through stdin\n")
    assert r.rc == 0, r
    assert r.out == "through stdin\n"


def test_run_killed_by_signal(bundle):
    """A container killed by a signal: run exits 128+signo like a shell."""
    bundle.no_namespace("pid")  # init of a pid namespace ignores its own USR1
    bundle.sh("kill -USR1 $$; sleep 5")
    r = bundle.run()
    assert r.rc == 128 + 10, r


def test_run_forwards_signals(bundle, rt):
    """Foreground run proxies signals it receives to the container."""
    import signal
    import subprocess
    bundle.sh(LOOP)
    bundle.write()
    bundle.tracker.ids.add(bundle.id)
    with open(bundle.stdout_path, "w") as out:
        p = subprocess.Popen(rt.argv("run", "--bundle", bundle.path, bundle.id), stdout=out,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        wait_output(bundle, "ready")
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert "got-term" in bundle.output()
    assert rc == 3


def test_exec_in_paused_fails(bundle):
    bundle.create_started()
    bundle.rt("pause", bundle.id).check()
    r = bundle.exec(["true"], timeout=10)
    assert r.rc != 0
    assert r.errors().strip(), r
    bundle.rt("resume", bundle.id).check()


def test_run_detached(bundle):
    bundle.sh("echo detached; sleep 300")
    t = time.monotonic()
    r = bundle.run("-d", stdout_path=bundle.stdout_path)
    assert r.rc == 0, r
    assert time.monotonic() - t < 10
    st = bundle.state()
    assert st["status"] == "running"
    wait_output(bundle, "detached")
    wait_for(lambda: read(f"/proc/{st['pid']}/cmdline").split("\0")[0] == "sleep", 5, what="init to exec sleep")


def test_pid_file(bundle):
    pidfile = os.path.join(bundle.path, "init.pid")
    bundle.create("--pid-file", pidfile)
    st = bundle.state()
    assert read(pidfile).strip() == str(st["pid"])


class TestExec:
    @pytest.fixture
    def running(self, bundle):
        bundle.config["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"})
        bundle.create_started()
        return bundle

    def test_inline_args(self, running):
        r = running.exec(["sh", "-c", "echo exec-ok; cat /proc/1/cmdline; echo; hostname"])
        assert r.rc == 0, r
        assert r.out.splitlines() == ["exec-ok", "sleep\x00300\x00", "skt"]

    def test_exit_code(self, running):
        assert running.exec(["sh", "-c", "exit 5"]).rc == 5

    def test_exit_by_signal(self, running):
        assert running.exec(["sh", "-c", "kill -KILL $$"]).rc == 128 + 9

    def test_joins_namespaces(self, running):
        init = running.state()["pid"]
        r = running.exec(["sh", "-c", "for n in pid net ipc uts mnt; do readlink /proc/self/ns/$n; done"])
        assert r.rc == 0, r
        assert r.out.split() == [ns_of(init, n) for n in ("pid", "net", "ipc", "uts", "mnt")]

    def test_env(self, running):
        r = running.exec(["sh", "-c", "echo $FOO-$BAR; echo $PATH"], "--env", "FOO=foo", "--env", "BAR=bar")
        assert r.rc == 0, r
        lines = r.out.splitlines()
        assert lines[0] == "foo-bar"
        assert "/bin" in lines[1].split(":"), "exec keeps the process env of config.json"

    def test_cwd(self, running):
        r = running.exec(["pwd"], "--cwd", "/home/app")
        assert r.rc == 0, r
        assert r.out.strip() == "/home/app"

    def test_user(self, running):
        r = running.exec(["sh", "-c", "id -u; id -g; grep -E '^(Uid|Gid)' /proc/self/status"],
                         "--user", "1000:1000")
        assert r.rc == 0, r
        lines = r.out.splitlines()
        assert lines[:2] == ["1000", "1000"]
        assert lines[2].split()[1:] == ["1000"] * 4
        assert lines[3].split()[1:] == ["1000"] * 4

    def test_process_file(self, running):
        proc = dict(running.process)
        proc.update(args=["sh", "-c", "echo $WHO; pwd; id -u"], env=["WHO=from-process-json", "PATH=/bin"],
                    cwd="/tmp", user={"uid": 65534, "gid": 65534})
        path = os.path.join(running.path, "process.json")
        with open(path, "w") as f:
            json.dump(proc, f)
        r = running.exec([], "--process", path)
        assert r.rc == 0, r
        assert r.out.splitlines() == ["from-process-json", "/tmp", "65534"]

    def test_detached_pid_file(self, running, tracker):
        pidfile = os.path.join(running.path, "exec.pid")
        r = running.exec(["sleep", "299"], "-d", "--pid-file", pidfile)
        assert r.rc == 0, r
        pid = int(read(pidfile).strip())
        tracker.remember_pid(running.id, pid)
        assert read(f"/proc/{pid}/cmdline").split("\0")[:2] == ["sleep", "299"]
        init = running.state()["pid"]
        assert ns_of(pid, "pid") == ns_of(init, "pid")
        assert ns_of(pid, "mnt") == ns_of(init, "mnt")
        assert pid in json.loads(running.rt("ps", "--format", "json", running.id).check().out)

    def test_exec_in_stopped_fails(self, bundle):
        bundle.args("true")
        bundle.create_started()
        bundle.wait_status("stopped")
        r = bundle.exec(["true"])
        assert r.rc != 0
        assert r.errors().strip(), r

    def test_exec_not_found(self, running):
        r = running.exec(["nope-no-such-binary"])
        assert r.rc != 0
        assert "nope-no-such-binary" in r.errors(), r

    def test_exec_status_in_container(self, running):
        status = proc_status(running.exec(["cat", "/proc/self/status"]).check().out)
        assert status["NoNewPrivs"] == "1"
        assert status["Name"] == "cat"


def test_create_existing_id_fails(make_bundle):
    a = make_bundle()
    st = a.create_started()
    b = make_bundle()
    b.id = a.id
    b.config["linux"]["cgroupsPath"] = a.cgroups_path
    r = b.create(check=False)
    assert r.rc != 0
    assert re.search(r"exist|in use|already", r.errors(), re.I), r
    after = a.state()
    assert after["status"] == "running" and after["pid"] == st["pid"]
    assert os.path.realpath(after["bundle"]) == os.path.realpath(a.path)


def test_start_unknown_fails(tracker, rt):
    cid = tracker.new_id()
    r = rt("start", cid)
    assert r.rc != 0
    assert re.search(r"not exist|no such|not found", r.errors(), re.I), r


def test_start_twice_fails(bundle):
    st = bundle.create_started()
    r = bundle.start(check=False)
    assert r.rc != 0
    assert r.errors().strip(), r
    assert bundle.state()["pid"] == st["pid"]


def test_state_unknown_fails(tracker, rt):
    r = rt("state", tracker.new_id())
    assert r.rc != 0
    assert r.out.strip() == ""
