# SPDX-License-Identifier: Apache-2.0
"""What a container sees of its own isolation: namespaces, id mappings,
mounts, a read-only root, masked and read-only paths, devices, sysctls,
rlimits, the OOM score, user and groups, umask, cwd, env, capabilities,
no_new_privs, seccomp, personality.

Each test runs a command as the container process with `run` in the
foreground and asserts on what it printed, or looks at /proc/<pid> from the
host.
"""
import json
import os
import stat
import subprocess

import pytest

from conftest import TIMEOUT, mountinfo, proc_status, read, skip_on_old_runc, wait_for
from test_lifecycle import wait_output

pytestmark = pytest.mark.root


def run_ok(b, script=None):
    if script is not None:
        b.sh(script)
    r = b.run()
    assert r.rc == 0, r
    return r.out


def host_ns(kind):
    return os.readlink(f"/proc/self/ns/{kind}")


def parse_mountinfo(text):
    res = {}
    for line in text.splitlines():
        left, right = line.split(" - ", 1)
        f, r = left.split(), right.split()
        res[f[4]] = {"options": f[5].split(","), "optional": f[6:], "fstype": r[0], "source": r[1],
                     "super": r[2].split(",") if len(r) > 2 else [], "root": f[3]}
    return res


# --------------------------------------------------------------- namespaces

def test_hostname(bundle):
    bundle.config["hostname"] = "skt-host"
    out = run_ok(bundle, "hostname; readlink /proc/self/ns/uts")
    assert out.splitlines()[0] == "skt-host"
    assert out.splitlines()[1] != host_ns("uts")
    assert os.uname().nodename != "skt-host"


def test_domainname(bundle):
    skip_on_old_runc((1, 2, 0), "domainname")
    bundle.config["domainname"] = "skt.example"
    out = run_ok(bundle, "cat /proc/sys/kernel/domainname")
    assert out.strip() == "skt.example"
    assert read("/proc/sys/kernel/domainname").strip() != "skt.example"


NS = {"pid": "pid", "network": "net", "ipc": "ipc", "uts": "uts", "mount": "mnt", "cgroup": "cgroup"}


@pytest.mark.parametrize("oci_type", sorted(NS))
def test_namespace_created(bundle, oci_type):
    proc = NS[oci_type]
    bundle.namespace(oci_type)
    out = run_ok(bundle, f"readlink /proc/self/ns/{proc}")
    assert out.strip().startswith(f"{proc}:[")
    assert out.strip() != host_ns(proc)


@pytest.mark.parametrize("oci_type", ["network", "ipc", "uts", "cgroup"])
def test_namespace_shared_with_host_when_absent(bundle, oci_type):
    proc = NS[oci_type]
    bundle.no_namespace(oci_type)
    if oci_type == "uts":
        bundle.config.pop("hostname", None)  # a hostname needs a uts namespace
    if oci_type == "network":
        bundle.config["mounts"] = [m for m in bundle.config["mounts"] if m["type"] != "sysfs"]
    out = run_ok(bundle, f"readlink /proc/self/ns/{proc}")
    assert out.strip() == host_ns(proc)


def test_pid_namespace_init_is_pid1(bundle):
    bundle.no_namespace("network")  # a sysfs mount needs a netns; drop it too
    bundle.config["mounts"] = [m for m in bundle.config["mounts"] if m["type"] != "sysfs"]
    out = run_ok(bundle, "echo $$; ls /proc | grep -c '^[0-9]'")
    # sh, ls and grep: no host process is visible
    assert out.split() == ["1", "3"]


@pytest.fixture
def netns(tracker):
    """A network namespace made for this test, removed afterwards (depends
    on tracker so it goes after the containers and before the leak check)."""
    name = f"skiff-test-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=TIMEOUT)
    try:
        subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True,
                       timeout=TIMEOUT)
        yield f"/run/netns/{name}"
    finally:
        subprocess.run(["ip", "netns", "del", name], timeout=TIMEOUT)


def test_join_netns_by_path(bundle, netns):
    bundle.namespace("network", netns)
    out = run_ok(bundle, "readlink /proc/self/ns/net; cat /sys/class/net/lo/operstate")
    ns, lo = out.split()
    assert ns == f"net:[{os.stat(netns).st_ino}]"
    assert lo == "unknown"  # lo is up in that namespace (a fresh one has it down)


def test_user_namespace_mappings(bundle):
    bundle.namespace("user")
    bundle.linux["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    bundle.linux["gidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 65536}]
    bundle.sh("cat /proc/self/uid_map /proc/self/gid_map; id -u; readlink /proc/self/ns/user; "
              "echo ready; sleep 300")
    st = bundle.create_started()
    wait_output(bundle, "ready")
    lines = bundle.output().splitlines()
    assert lines[0].split() == ["0", "100000", "65536"]
    assert lines[1].split() == ["0", "200000", "65536"]
    assert lines[2] == "0"
    assert lines[3] != host_ns("user")
    host = proc_status(read(f"/proc/{st['pid']}/status"))
    assert host["Uid"].split() == ["100000"] * 4
    assert host["Gid"].split() == ["200000"] * 4


# ------------------------------------------------------------------- mounts

def test_configured_mounts(bundle):
    src = os.path.join(bundle.path, "share")
    os.makedirs(src)
    with open(os.path.join(src, "hello"), "w") as f:
        f.write("from the host\n")
    bundle.mount("/mnt/ro", "bind", src, ["rbind", "ro", "nosuid", "nodev"])
    bundle.mount("/mnt/tmp", "tmpfs", "tmpfs", ["size=1m", "mode=700", "noexec"])
    out = run_ok(bundle, "cat /proc/self/mountinfo; echo ===; cat /mnt/ro/hello; "
                         "touch /mnt/ro/x 2>&1; touch /mnt/tmp/x && echo tmp-writable")
    info, rest = out.split("===\n")
    mi = parse_mountinfo(info)
    assert mi["/proc"]["fstype"] == "proc"
    assert mi["/dev"]["fstype"] == "tmpfs" and "nosuid" in mi["/dev"]["options"]
    assert mi["/dev/pts"]["fstype"] == "devpts" and "noexec" in mi["/dev/pts"]["options"]
    assert mi["/dev/shm"]["fstype"] == "tmpfs" and "nodev" in mi["/dev/shm"]["options"]
    assert mi["/dev/mqueue"]["fstype"] == "mqueue"
    assert mi["/sys"]["fstype"] == "sysfs" and "ro" in mi["/sys"]["options"]
    ro = mi["/mnt/ro"]
    assert {"ro", "nosuid", "nodev"} <= set(ro["options"]), ro
    tmp = mi["/mnt/tmp"]
    assert tmp["fstype"] == "tmpfs" and "noexec" in tmp["options"] and "mode=700" in tmp["super"], tmp
    lines = rest.splitlines()
    assert lines[0] == "from the host"
    assert "Read-only file system" in lines[1]
    assert lines[2] == "tmp-writable"
    assert not os.path.exists(os.path.join(src, "x"))
    # the container's mounts did not appear on the host
    assert not [m for m in mountinfo() if m["mountpoint"].startswith(bundle.config["root"]["path"] + "/")]


@pytest.fixture
def shared_rootfs(bundle, tracker):
    """The bundle's own rootfs copy, bind-mounted on itself and made shared
    on the host, so host mounts below it can propagate (or not)."""
    root = bundle.private_rootfs()
    subprocess.run(["mount", "--bind", root, root], check=True, timeout=TIMEOUT)
    try:
        subprocess.run(["mount", "--make-shared", root], check=True, timeout=TIMEOUT)
        yield root
    finally:
        # delete the containers first: their mounts are peers of this one
        tracker.teardown_containers()
        subprocess.run(["umount", root], timeout=TIMEOUT)
    # anything still mounted there came back from the container's mount
    # namespace through the shared peer group: the runtime did not make its
    # mounts private/slave before binding the rootfs
    leaked = [m["line"] for m in mountinfo() if m["mountpoint"] == root or m["mountpoint"].startswith(root + "/")]
    for _ in range(len(leaked)):
        subprocess.run(["umount", "-l", root], timeout=TIMEOUT)
    assert not leaked, "mounts propagated to the host from the container: " + "; ".join(leaked)


@pytest.mark.parametrize("prop,propagates", [("private", False)])
def test_rootfs_propagation(bundle, shared_rootfs, prop, propagates):
    """A host mount made under a shared rootfs after start does not show up
    inside with rootfsPropagation private. (runc makes the rootfs' parent
    mount private whatever the setting, so slave/shared are not asserted.)"""
    bundle.linux["rootfsPropagation"] = prop
    bundle.sh("echo ready; i=0; while [ ! -e /mnt/rw/hello ] && [ $i -lt 40 ]; do sleep 0.05; i=$((i+1)); done; "
              "cat /mnt/rw/hello 2>/dev/null || echo not-seen; sleep 300")
    bundle.create_started()
    wait_output(bundle, "ready")
    target = os.path.join(shared_rootfs, "mnt", "rw")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "skt-prop", target], check=True, timeout=TIMEOUT)
    try:
        with open(os.path.join(target, "hello"), "w") as f:
            f.write("propagated\n")
        out = wait_for(lambda: ("propagated" in bundle.output() or "not-seen" in bundle.output())
                       and bundle.output(), 10, what="the container to look")
    finally:
        subprocess.run(["umount", target], timeout=TIMEOUT)
    assert ("propagated" in out) == propagates, out


def test_readonly_root(bundle):
    out = run_ok(bundle, "touch /x 2>&1; awk '$5 == \"/\"' /proc/self/mountinfo")
    assert "Read-only file system" in out.splitlines()[0]
    assert "ro" in out.splitlines()[1].split()[5].split(",")


def test_writable_root(bundle):
    root = bundle.private_rootfs()
    bundle.config["root"]["readonly"] = False
    out = run_ok(bundle, "echo written > /x && cat /x")
    assert out == "written\n"
    assert read(os.path.join(root, "x")) == "written\n"


def nonempty_masked_candidates():
    """Masked paths of runc's default list that have content on this host."""
    files = [f for f in ("/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug")
             if os.path.isfile(f) and open(f, "rb").read(1)]
    dirs = [d for d in ("/sys/firmware", "/proc/acpi", "/proc/scsi") if os.path.isdir(d) and os.listdir(d)]
    if not files or not dirs:
        pytest.skip("no maskable file and directory with content on this host")
    return files, dirs


@pytest.mark.parametrize("masked", [True, False])
def test_masked_paths(bundle, masked):
    """Masked files read empty, masked directories list empty; unmasked
    (the control) they have content."""
    files, dirs = nonempty_masked_candidates()
    bundle.linux["maskedPaths"] = files + dirs if masked else []
    script = "; ".join([f"cat {f} | wc -c" for f in files] + [f"ls -A {d} | wc -l" for d in dirs])
    counts = run_ok(bundle, script).split()
    assert len(counts) == len(files) + len(dirs)
    if masked:
        assert counts == ["0"] * len(counts)
    else:
        assert "0" not in counts


def test_readonly_paths(bundle):
    bundle.linux["readonlyPaths"] = ["/proc/sys", "/proc/sysrq-trigger"]
    out = run_ok(bundle, "{ echo 1 > /proc/sys/kernel/domainname; } 2>&1; echo rc=$?; "
                         "awk '$5 == \"/proc/sys\"' /proc/self/mountinfo")
    lines = out.splitlines()
    assert "Read-only file system" in lines[0]
    assert lines[1] == "rc=1"
    assert "ro" in lines[2].split()[5].split(",")


# ------------------------------------------------------------------ devices

DEFAULT_DEVICES = {"/dev/null": (1, 3), "/dev/zero": (1, 5), "/dev/full": (1, 7), "/dev/random": (1, 8),
                   "/dev/urandom": (1, 9), "/dev/tty": (5, 0)}


def test_default_devices(bundle):
    paths = " ".join(DEFAULT_DEVICES)
    out = run_ok(bundle, f"stat -c '%n %F %t %T' {paths} /dev/pts/ptmx; "
                         "for l in /dev/fd /dev/stdin /dev/stdout /dev/stderr /dev/ptmx; do echo $l $(readlink $l); done; "
                         "head -c 4 /dev/zero | wc -c; echo x > /dev/null && echo null-ok")
    lines = out.splitlines()
    for line, (path, (major, minor)) in zip(lines, DEFAULT_DEVICES.items()):
        name, rest = line.split(" ", 1)
        assert name == path
        assert rest == f"character special file {major:x} {minor:x}", line
    assert lines[6] == "/dev/pts/ptmx character special file 5 2"
    links = dict(line.split() for line in lines[7:12])
    assert links == {"/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0",
                     "/dev/stdout": "/proc/self/fd/1", "/dev/stderr": "/proc/self/fd/2",
                     "/dev/ptmx": "pts/ptmx"}
    assert lines[12:] == ["4", "null-ok"]


def test_extra_device(bundle):
    bundle.linux["devices"] = [{"path": "/dev/skt-zero", "type": "c", "major": 1, "minor": 5,
                                "fileMode": 0o640, "uid": 0, "gid": 1000}]
    bundle.resources()["devices"].append({"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"})
    out = run_ok(bundle, "stat -c '%F %t %T %a %u %g' /dev/skt-zero; head -c 3 /dev/skt-zero | wc -c")
    assert out.splitlines() == ["character special file 1 5 640 0 1000", "3"]


def test_host_devices_not_visible(bundle):
    out = run_ok(bundle, "ls /dev")
    assert "vda" not in out.split() and "kmsg" not in out.split()


# ---------------------------------------------------- sysctl, rlimits, oom

@pytest.fixture
def host_sysctls():
    """Restore host sysctls a broken runtime might set outside the
    container's namespaces (and let the test see they changed)."""
    keys = ["net/ipv4/ip_forward", "kernel/shmmax"]
    before = {k: read(f"/proc/sys/{k}") for k in keys}
    yield before
    for k, v in before.items():
        if read(f"/proc/sys/{k}") != v:
            with open(f"/proc/sys/{k}", "w") as f:
                f.write(v)


def test_sysctl_in_new_netns(bundle, host_sysctls):
    bundle.linux["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shmmax": "12345678"}
    out = run_ok(bundle, "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax")
    assert out.split() == ["1", "12345678"]
    for k, v in host_sysctls.items():
        assert read(f"/proc/sys/{k}") == v, f"host {k} changed"


def test_rlimits(bundle):
    bundle.process["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1000},
                                 {"type": "RLIMIT_NPROC", "soft": 300, "hard": 400},
                                 {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}]
    out = run_ok(bundle, "ulimit -n; ulimit -Hn; grep -E 'Max (processes|open files|core)' /proc/self/limits")
    lines = out.splitlines()
    assert lines[:2] == ["512", "1000"]
    limits = {line[:26].strip(): line[26:].split()[:2] for line in lines[2:]}
    assert limits["Max open files"] == ["512", "1000"]
    assert limits["Max processes"] == ["300", "400"]
    assert limits["Max core file size"] == ["0", "0"]


def test_rlimit_above_hard_max_fails(bundle, tracker):
    hard = int(read("/proc/self/limits").split("Max open files")[1].split()[1])
    if (int(proc_status(read("/proc/self/status"))["CapEff"], 16) >> 24) & 1:  # CAP_SYS_RESOURCE
        pytest.skip("this host lets root raise RLIMIT_NOFILE's hard limit")
    bundle.process["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": hard + 1, "hard": hard + 1}]
    bundle.args("true")
    r = bundle.run()
    assert r.rc != 0
    assert "rlimit" in r.errors().lower() or "RLIMIT_NOFILE" in r.errors(), r
    assert not tracker.leaks(bundle.id)


def test_oom_score_adj(bundle):
    bundle.process["oomScoreAdj"] = 123
    assert run_ok(bundle, "cat /proc/self/oom_score_adj").strip() == "123"


# -------------------------------------------------------- user, cwd, env

def test_user_and_groups(bundle):
    bundle.process["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [5, 65534]}
    st = proc_status(run_ok(bundle, "cat /proc/self/status"))
    assert st["Uid"].split() == ["1000"] * 4
    assert st["Gid"].split() == ["1000"] * 4
    assert sorted(st["Groups"].split()) == ["5", "65534"]


def test_umask(bundle):
    bundle.process["user"]["umask"] = 0o027
    bundle.mount("/mnt/tmp", "tmpfs", "tmpfs")
    out = run_ok(bundle, "umask; touch /mnt/tmp/f; stat -c %a /mnt/tmp/f")
    assert out.split() == ["0027", "640"]


def test_cwd(bundle):
    bundle.process["cwd"] = "/home/app"
    assert run_ok(bundle, "pwd").strip() == "/home/app"


def test_cwd_created_if_missing(bundle):
    bundle.process["cwd"] = "/mnt/tmp/new/dir"
    bundle.mount("/mnt/tmp", "tmpfs", "tmpfs")
    assert run_ok(bundle, "pwd").strip() == "/mnt/tmp/new/dir"


def test_env(bundle):
    bundle.process["env"] = ["PATH=/bin", "A=1", "B=two words", "EMPTY="]
    env = run_ok(bundle, "env").splitlines()
    assert "A=1" in env and "B=two words" in env and "EMPTY=" in env and "PATH=/bin" in env
    assert not any(e.startswith("PYTEST") or e.startswith("SKIFF_") for e in env), env


def test_args_exec_directly(bundle):
    """process.args[0] is exec'ed with the rest as argv, no shell involved."""
    bundle.args("/bin/echo", "a  b", "$HOME", "*")
    assert run_ok(bundle) == "a  b $HOME *\n"


# ------------------------------------------------------------ capabilities

CAP = {"CAP_CHOWN": 0, "CAP_KILL": 5, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_RAW": 13, "CAP_SYS_ADMIN": 21,
       "CAP_AUDIT_WRITE": 29}


def capmask(*names):
    return f"{sum(1 << CAP[n] for n in names):016x}"


def test_capabilities_non_root(bundle):
    """As uid 1000 (no file capabilities on busybox) the kernel keeps what
    the runtime set: effective = permitted = ambient after execve."""
    bundle.process["user"] = {"uid": 1000, "gid": 1000}
    bundle.process["capabilities"] = {
        "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SYS_ADMIN"],
        "effective": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "permitted": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "inheritable": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "ambient": ["CAP_NET_BIND_SERVICE"],
    }
    st = proc_status(run_ok(bundle, "cat /proc/self/status"))
    assert st["CapBnd"] == capmask("CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SYS_ADMIN")
    assert st["CapInh"] == capmask("CAP_KILL", "CAP_NET_BIND_SERVICE")
    assert st["CapAmb"] == capmask("CAP_NET_BIND_SERVICE")
    assert st["CapPrm"] == capmask("CAP_NET_BIND_SERVICE")
    assert st["CapEff"] == capmask("CAP_NET_BIND_SERVICE")


def test_capabilities_root(bundle):
    """As uid 0 the bounding set decides (execve gives root the bounding
    set); the runtime must have dropped everything else."""
    caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"]
    bundle.process["capabilities"] = {k: list(caps) for k in ("bounding", "effective", "permitted")}
    st = proc_status(run_ok(bundle, "cat /proc/self/status"))
    assert st["CapBnd"] == capmask(*caps)
    assert st["CapPrm"] == capmask(*caps)
    assert st["CapEff"] == capmask(*caps)
    assert st["CapInh"] == "0" * 16
    assert st["CapAmb"] == "0" * 16


def test_runc_spec_default_capabilities(bundle):
    """`runc spec` lists its three capabilities as ambient but not
    inheritable; the kernel refuses such an ambient raise, and runc ignores
    that: the container must start, with the bounding set applied."""
    caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    bundle.process["capabilities"] = {k: list(caps) for k in ("bounding", "effective", "permitted", "ambient")}
    st = proc_status(run_ok(bundle, "cat /proc/self/status"))
    assert st["CapBnd"] == capmask(*caps)
    assert st["CapEff"] == capmask(*caps)


def test_capability_enforced(bundle):
    """Without CAP_CHOWN, root cannot chown a file it does not own."""
    bundle.mount("/mnt/tmp", "tmpfs", "tmpfs")
    bundle.process["capabilities"] = {k: ["CAP_KILL"] for k in ("bounding", "effective", "permitted")}
    out = run_ok(bundle, "touch /mnt/tmp/f; chown 1000 /mnt/tmp/f 2>&1; echo rc=$?")
    assert "Operation not permitted" in out and "rc=1" in out


@pytest.mark.parametrize("nnp", [True, False])
def test_no_new_privileges(bundle, nnp):
    bundle.process["noNewPrivileges"] = nnp
    st = proc_status(run_ok(bundle, "cat /proc/self/status"))
    assert st["NoNewPrivs"] == ("1" if nnp else "0")


# ----------------------------------------------------------------- seccomp

def seccomp(errno_ret=None):
    rule = {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}
    if errno_ret is not None:
        rule["errnoRet"] = errno_ret
    return {"defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [rule]}


@pytest.mark.parametrize("errno_ret,message", [(None, "Operation not permitted"), (13, "Permission denied"),
                                               (1, "Operation not permitted")])
def test_seccomp_errno(bundle, errno_ret, message):
    bundle.linux["seccomp"] = seccomp(errno_ret)
    bundle.mount("/mnt/tmp", "tmpfs", "tmpfs")
    out = run_ok(bundle, "grep -E '^Seccomp:' /proc/self/status; mkdir /mnt/tmp/x 2>&1; echo rc=$?; "
                         "touch /mnt/tmp/f && echo touch-ok")
    lines = out.splitlines()
    assert lines[0].split() == ["Seccomp:", "2"]
    assert message in lines[1], out
    assert lines[2:] == ["rc=1", "touch-ok"]


def test_no_seccomp_control(bundle):
    bundle.mount("/mnt/tmp", "tmpfs", "tmpfs")
    out = run_ok(bundle, "grep -E '^Seccomp:' /proc/self/status; mkdir /mnt/tmp/x && echo mkdir-ok")
    assert out.split() == ["Seccomp:", "0", "mkdir-ok"]


def test_seccomp_kill_action(bundle):
    bundle.linux["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
                               "syscalls": [{"names": ["ioprio_get"], "action": "SCMP_ACT_KILL"}]}
    bundle.sh("echo before; ionice; echo after $?")
    r = bundle.run()
    assert r.rc == 0, r
    # ionice calls ioprio_get(2) and is killed with SIGSYS: the shell sees 128 + 31
    assert r.out.split() == ["before", "after", "159"], r


# -------------------------------------------------------------- personality

def test_personality_linux32(bundle):
    skip_on_old_runc((1, 2, 0), "linux.personality")
    bundle.linux["personality"] = {"domain": "LINUX32"}
    assert run_ok(bundle, "uname -m").strip() == "i686"


# --------------------------------------------------------------------- fds

def run_with_fd3(b, *extra):
    """`run` with a file open on fd 3 in the runtime (opened by a shell
    wrapper) and stdout to a file; returns (rc, stdout)."""
    b.write()
    secret = os.path.join(b.path, "fd3.txt")
    with open(secret, "w") as f:
        f.write("fd3-content\n")
    argv = b.tracker.rt.argv("run", "--bundle", b.path, *extra, b.id)
    b.tracker.ids.add(b.id)
    out = os.path.join(b.path, "run.out")
    with open(out, "w") as o:
        p = subprocess.run(["/bin/sh", "-c", 'exec 3<"$0"; exec "$@"', secret] + argv, stdout=o,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=TIMEOUT)
    return p.returncode, read(out)


def test_no_fd_leaks_into_container(bundle):
    """Only stdio reaches the container process: no runtime fd, no fd the
    runtime inherited (CVE-2024-21626 was a leaked fd)."""
    bundle.sh("ls /proc/self/fd; readlink /proc/self/cwd")
    rc, out = run_with_fd3(bundle)
    assert rc == 0, out
    fds = out.split()[:-1]
    # 0-2 and the one ls opened to read the directory
    assert len(fds) <= 4 and {"0", "1", "2"} <= set(fds), out
    assert out.split()[-1] == "/"


def test_preserve_fds(bundle):
    bundle.sh("cat <&3")
    rc, out = run_with_fd3(bundle, "--preserve-fds", "1")
    assert rc == 0, out
    assert out == "fd3-content\n"


# ------------------------------------------------ mount destinations, paths

def test_mount_destination_created(bundle):
    """Missing destinations are created: nested directories on a tmpfs and
    an empty file for a file bind mount."""
    src = os.path.join(bundle.path, "hello.txt")
    with open(src, "w") as f:
        f.write("file bind\n")
    bundle.mount("/mnt/tmp", "tmpfs", "tmpfs")
    bundle.mount("/mnt/tmp/a/b/c", "tmpfs", "tmpfs", ["size=1m"])
    bundle.mount("/mnt/tmp/etc/hello.txt", "bind", src, ["bind", "ro"])
    out = run_ok(bundle, "awk '$5 ~ /^\\/mnt\\/tmp/ {print $5}' /proc/self/mountinfo; cat /mnt/tmp/etc/hello.txt")
    assert out.splitlines() == ["/mnt/tmp", "/mnt/tmp/a/b/c", "/mnt/tmp/etc/hello.txt", "file bind"]


def test_mount_destination_symlink_stays_in_rootfs(bundle, tmp_path):
    """A destination through a symlink pointing outside (/x -> host path) is
    resolved inside the rootfs: nothing is created or mounted on the host."""
    outside = tmp_path / "outside"
    outside.mkdir()
    root = bundle.private_rootfs()
    os.symlink(str(outside), os.path.join(root, "mnt", "evil"))
    bundle.mount("/mnt/evil/sub", "tmpfs", "tmpfs", ["size=1m"])
    bundle.config["root"]["readonly"] = False
    bundle.args("true")
    r = bundle.run()
    assert list(outside.iterdir()) == [], "the runtime followed a rootfs symlink onto the host"
    if r.rc == 0:
        assert os.path.isdir(os.path.join(root, str(outside).lstrip("/"), "sub"))


def test_nonexistent_masked_and_readonly_paths_ignored(bundle):
    bundle.linux["maskedPaths"] = ["/proc/skt-nonexistent", "/proc/keys"]
    bundle.linux["readonlyPaths"] = ["/proc/skt-nonexistent-ro", "/proc/sys"]
    assert run_ok(bundle, "echo ok") == "ok\n"


def test_relative_root_path(bundle):
    """root.path relative to the bundle, whatever the runtime's cwd."""
    bundle.private_rootfs()
    bundle.config["root"]["path"] = "rootfs"
    bundle.args("cat", "/etc/hostname-skt")
    with open(os.path.join(bundle.path, "rootfs", "etc", "hostname-skt"), "w") as f:
        f.write("in the bundle's rootfs\n")
    bundle.write()
    r = bundle.rt("run", "--bundle", bundle.path, bundle.id, cwd="/")
    assert r.rc == 0, r
    assert r.out == "in the bundle's rootfs\n"


def test_relative_bundle_path(bundle):
    """--bundle relative to cwd; state reports it absolute."""
    bundle.write()
    parent, name = os.path.split(bundle.path)
    r = bundle.rt("create", "--bundle", name, bundle.id, cwd=parent, stdout_path=bundle.stdout_path)
    assert r.rc == 0, r
    st = bundle.state()
    assert os.path.isabs(st["bundle"]) and os.path.realpath(st["bundle"]) == os.path.realpath(bundle.path)


def test_new_netns_has_loopback_up(bundle):
    """As runc: a new network namespace gets `lo` up, so 127.0.0.1 routes
    (a closed port refuses the connection rather than being unreachable)."""
    out = run_ok(bundle, "cat /sys/class/net/lo/flags; nc 127.0.0.1 1 </dev/null 2>&1; true")
    lines = out.splitlines()
    assert int(lines[0], 16) & 0x1, f"lo not up: flags {lines[0]}"
    assert "refused" in out and "unreachable" not in out, out
