# SPDX-License-Identifier: Apache-2.0
"""Shared fixtures for skiff's system tests (real kernel, real binaries).

The OCI runtime tests (test_lifecycle, test_isolation, test_cgroups, ...) are
written against runc's documented command line so that they are
runtime-agnostic: the runtime under test is the built skiff-runtime
($SKIFF_BUILD/skiff-runtime) unless SKIFF_TEST_RUNTIME names another
runc-compatible binary, e.g. SKIFF_TEST_RUNTIME=/usr/sbin/runc.

What the fixtures give a test:
  runtime      path of a session copy of the runtime under test
  rt           Runtime: runs it with --root <session state dir> --log <file>
  bundle       a fresh Bundle (config.json as a dict, a unique container id,
               cgroupsPath /skiff-test/<id>, root.path = the session rootfs)
  make_bundle  factory for more bundles in the same test
  tracker      the object behind them; its teardown force-deletes every
               container the test touched and then fails the test if
               anything leaked: a container process, a cgroup directory in
               any hierarchy, a mount, the state directory.

The session builds one busybox rootfs (scripts/mk-busybox-rootfs.sh) under
/run/skiff-test-<pid>/ and uses /run/skiff-test-<pid>/state as --root; its
teardown asserts /sys/fs/cgroup/*/skiff-test is gone (removing it if empty).
"""
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("SKIFF_BUILD", os.path.join(REPO, "build", "san"))
TIMEOUT = 30
CGROUP_PARENT = "skiff-test"

# The mount leak check looks at mounts that appeared during a test and name
# the test's paths (bundle, rootfs, state root) or container ids: other users
# of the host (benchmarks, podman) mount things concurrently. With
# SKIFF_TEST_STRICT_MOUNTS=1 every new mount counts.
STRICT_MOUNTS = os.environ.get("SKIFF_TEST_STRICT_MOUNTS") == "1"


@pytest.fixture(scope="session")
def runtime_bin():
    """The built skiff-runtime (test_cli checks its own --version)."""
    path = os.path.abspath(os.path.join(BUILD, "skiff-runtime"))
    assert os.access(path, os.X_OK), f"{path} not built"
    return path


def runtime_path():
    env = os.environ.get("SKIFF_TEST_RUNTIME")
    if env:
        return env
    return os.path.abspath(os.path.join(BUILD, "skiff-runtime"))


def runtime_is_runc():
    return os.path.basename(runtime_path()).startswith("runc")


def runc_version():
    """(major, minor, patch) of the runtime under test if it is runc, else None."""
    if not runtime_is_runc():
        return None
    out = subprocess.run([runtime_path(), "--version"], capture_output=True, text=True, timeout=TIMEOUT).stdout
    v = out.split()[2].split("+")[0].split("-")[0]
    return tuple(int(x) for x in v.split(".")[:3])


def skip_on_old_runc(version, feature):
    """Skip a test of a spec feature the runc under test predates (the same
    test still runs against skiff-runtime)."""
    rv = runc_version()
    if rv is not None and rv < version:
        pytest.skip(f"runc {'.'.join(map(str, rv))} predates {feature}")


def skip_on_runc(why):
    """Skip where runc deliberately differs from the spec (crun and
    skiff-runtime follow the spec there)."""
    if runtime_is_runc():
        pytest.skip(f"runc: {why}")


@pytest.fixture(scope="session")
def runtime(session_dir):
    """A private copy of the runtime under test: one binary for the whole
    session, untouched by a rebuild that replaces build/san meanwhile."""
    path = runtime_path()
    assert os.access(path, os.X_OK), f"runtime under test {path} not executable"
    copy = os.path.join(session_dir, "bin", os.path.basename(path))
    os.makedirs(os.path.dirname(copy), exist_ok=True)
    for _ in range(50):  # a concurrent build may be writing it right now
        try:
            shutil.copy2(path, copy)
            break
        except OSError:
            time.sleep(0.1)
    return copy


# ---------------------------------------------------------------- host facts

def read(path, default=None):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        if default is None:
            raise
        return default


def mountinfo(pid="self"):
    """Parsed /proc/<pid>/mountinfo: list of dicts."""
    out = []
    for line in read(f"/proc/{pid}/mountinfo").splitlines():
        left, right = line.split(" - ", 1)
        f = left.split()
        r = right.split()
        out.append({
            "id": f[0], "parent": f[1], "dev": f[2], "root": unescape(f[3]),
            "mountpoint": unescape(f[4]), "options": f[5], "optional": f[6:],
            "fstype": r[0], "source": unescape(r[1]) if len(r) > 1 else "",
            "super": r[2] if len(r) > 2 else "", "line": line,
        })
    return out


def unescape(s):
    return s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def cgroup_mounts():
    """Host cgroup hierarchies: list of (mountpoint, controllers set, version).

    controllers of a v1 hierarchy are taken from its super options (cpu,
    memory, name=systemd, ...); of the v2 hierarchy from cgroup.controllers.
    """
    res = []
    seen = set()
    for m in mountinfo():
        if m["fstype"] not in ("cgroup", "cgroup2") or m["dev"] in seen:
            continue
        seen.add(m["dev"])
        if m["fstype"] == "cgroup":
            flags = ("rw", "ro", "clone_children", "noprefix", "xattr", "cpuset_v2_mode")
            ctl = {o for o in m["super"].split(",")
                   if (o not in flags and "=" not in o) or o.startswith("name=")}
            res.append((m["mountpoint"], ctl, 1))
        else:
            ctl = set(read(os.path.join(m["mountpoint"], "cgroup.controllers"), "").split())
            res.append((m["mountpoint"], ctl, 2))
    return res


def host_cgroup_versions():
    """{1, 2} subset: 1 if some controller is on a v1 hierarchy, 2 if the
    host runs the unified hierarchy with controllers (pure v2)."""
    vs = set()
    for mnt, ctl, v in cgroup_mounts():
        if v == 1 and any(not c.startswith("name=") for c in ctl):
            vs.add(1)
        if v == 2 and mnt == "/sys/fs/cgroup":
            vs.add(2)
    return vs


def controller_dir(controller, rel):
    """Directory of cgroup `rel` (e.g. /skiff-test/x) for `controller`
    (memory, pids, ...) on whichever hierarchy holds it, and that hierarchy's
    version; (None, None) if the host has no such controller."""
    for mnt, ctl, v in cgroup_mounts():
        if controller in ctl:
            return os.path.join(mnt, rel.lstrip("/")), v
    return None, None


def proc_status(text):
    """'Key:\tvalue' lines (of /proc/<pid>/status) as a dict."""
    d = {}
    for line in text.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            d[k.strip()] = v.strip()
    return d


def proc_starttime(pid):
    try:
        stat = read(f"/proc/{pid}/stat")
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def proc_alive(pid, starttime):
    """True if pid is alive, is the same process (start time) and no zombie."""
    try:
        stat = read(f"/proc/{pid}/stat")
    except OSError:
        return False
    fields = stat.rsplit(")", 1)[1].split()
    return fields[19] == starttime and fields[0] not in ("Z", "X")


def wait_for(pred, timeout=10.0, interval=0.02, what="condition"):
    """Poll pred() until truthy; return its value or fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def sh(script):
    return ["sh", "-c", script]


# ------------------------------------------------------------------ markers

def pytest_configure(config):
    for line in (
        "root: needs to run as root (skipped otherwise)",
        "cgroup_v1: needs a host with cgroup v1 controllers",
        "cgroup_v2: needs a host on the unified cgroup v2 hierarchy",
        "slow: takes more than a few seconds",
    ):
        config.addinivalue_line("markers", line)


def pytest_runtest_setup(item):
    if item.get_closest_marker("root") and os.geteuid() != 0:
        pytest.skip("needs root")
    vs = host_cgroup_versions()
    if item.get_closest_marker("cgroup_v1") and 1 not in vs:
        pytest.skip("host has no cgroup v1 controllers")
    if item.get_closest_marker("cgroup_v2") and 2 not in vs:
        pytest.skip("host is not on the unified cgroup v2 hierarchy")


# ---------------------------------------------------------------- session

@pytest.fixture(scope="session")
def session_dir():
    """/run/skiff-test-<pid>: rootfs/ (busybox) and state/ (--root)."""
    d = f"/run/skiff-test-{os.getpid()}"
    os.makedirs(d, exist_ok=True)
    rootfs = os.path.join(d, "rootfs")
    subprocess.run([os.path.join(REPO, "scripts", "mk-busybox-rootfs.sh"), rootfs],
                   check=True, timeout=TIMEOUT)
    # mount points the tests use; created here so a read-only root works
    for sub in ("mnt/ro", "mnt/rw", "mnt/tmp", "data"):
        os.makedirs(os.path.join(rootfs, sub), exist_ok=True)
    os.makedirs(os.path.join(d, "state"), exist_ok=True)
    yield d
    problems = []
    mine = f"skt{os.getpid()}-"
    for mnt, _, _ in cgroup_mounts():
        p = os.path.join(mnt, CGROUP_PARENT)
        if os.path.isdir(p):
            left = sorted(x for x in os.listdir(p) if x.startswith(mine))
            if left:
                problems.append(f"{p} still holds {left[:10]}")
            with contextlib.suppress(OSError):
                os.rmdir(p)  # fails while another session's containers use it
            others = [x for x in os.listdir(p) if os.path.isdir(os.path.join(p, x))] if os.path.isdir(p) else []
            if os.path.isdir(p) and not others:
                problems.append(f"{p} left behind")
    under = [m["mountpoint"] for m in mountinfo() if m["mountpoint"].startswith(d + "/") or m["mountpoint"] == d]
    if under:
        problems.append(f"mounts left under {d}: {under}")
    else:
        shutil.rmtree(d, ignore_errors=True)
    assert not problems, "session teardown: " + "; ".join(problems)


@pytest.fixture(scope="session")
def rootfs(session_dir):
    return os.path.join(session_dir, "rootfs")


@pytest.fixture(scope="session")
def state_root(session_dir):
    return os.path.join(session_dir, "state")


# ------------------------------------------------------------------ runtime

class Result:
    """Outcome of one runtime command: rc, out, err, log (its --log lines)."""

    def __init__(self, argv, rc, out, err, log):
        self.argv, self.rc, self.out, self.err, self.log = argv, rc, out, err, log

    @property
    def ok(self):
        return self.rc == 0

    def __repr__(self):
        return (f"<{' '.join(self.argv)} -> rc={self.rc}\n--- stdout\n{self.out[-3000:]}"
                f"\n--- stderr\n{self.err[-3000:]}\n--- log\n{self.log[-3000:]}>")

    def check(self):
        assert self.rc == 0, f"command failed: {self!r}"
        return self

    def errors(self):
        """stderr plus log text: where a runtime reports an error."""
        return self.err + "\n" + self.log


class Runtime:
    """Runs the runtime under test with --root and --log (per-test file).

    stdout/stderr go to files, never pipes: a container created with
    terminal false inherits them and would keep a pipe open.
    """

    def __init__(self, binary, root, workdir):
        self.binary, self.root, self.workdir = binary, root, workdir
        self.logfile = os.path.join(workdir, "runtime.log")
        self.n = 0

    def argv(self, *args, log_format=None, global_args=()):
        a = [self.binary, "--root", self.root, "--log", self.logfile]
        if log_format:
            a += ["--log-format", log_format]
        return a + list(global_args) + [str(x) for x in args]

    def __call__(self, *args, input=None, timeout=TIMEOUT, log_format=None, global_args=(),
                 cwd=None, stdout_path=None, pass_fds=(), env=None):
        self.n += 1
        argv = self.argv(*args, log_format=log_format, global_args=global_args)
        out_path = stdout_path or os.path.join(self.workdir, f"cmd{self.n}.out")
        err_path = os.path.join(self.workdir, f"cmd{self.n}.err")
        log_start = os.path.getsize(self.logfile) if os.path.exists(self.logfile) else 0
        with open(out_path, "wb") as o, open(err_path, "wb") as e:
            if input is not None:
                stdin = tempfile.TemporaryFile(dir=self.workdir)
                stdin.write(input.encode() if isinstance(input, str) else input)
                stdin.seek(0)
            else:
                stdin = open(os.devnull, "rb")
            with stdin:
                p = subprocess.Popen(argv, stdin=stdin, stdout=o, stderr=e, cwd=cwd,
                                     pass_fds=pass_fds, env=env, start_new_session=True)
                try:
                    rc = p.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    os.kill(p.pid, signal.SIGKILL)
                    p.wait()
                    pytest.fail(f"{' '.join(argv)} did not finish in {timeout}s")
        r = Result(argv, rc, read(out_path, ""), read(err_path, ""), "")
        if os.path.exists(self.logfile):
            with open(self.logfile, errors="replace") as f:
                f.seek(log_start)
                r.log = f.read()
        for bad in ("Sanitizer", "runtime error:", "LeakSanitizer"):
            assert bad not in r.err, f"sanitizer report from the runtime: {r!r}"
        return r


# ------------------------------------------------------------------ bundles

DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]


def default_config(rootfs, cid):
    """The shape `runc spec` writes, with terminal false, an absolute
    read-only root and cgroupsPath /skiff-test/<id>."""
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": ["sleep", "300"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            # runc spec also lists them as ambient (without inheritable, so the
            # raise cannot work); test_isolation checks that shape on its own
            "capabilities": {k: list(DEFAULT_CAPS) for k in ("bounding", "effective", "permitted")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": rootfs, "readonly": True},
        "hostname": "skt",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
        ],
        "linux": {
            "cgroupsPath": f"/{CGROUP_PARENT}/{cid}",
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                            "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                            "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
        },
    }


class Bundle:
    """A bundle directory with config.json (edit .config, then a lifecycle
    call writes it) and the id of the container made from it."""

    def __init__(self, tracker, path, cid, rootfs):
        self.tracker, self.path, self.id = tracker, path, cid
        self.config = default_config(rootfs, cid)
        self.stdout_path = os.path.join(path, "container.out")
        os.makedirs(path, exist_ok=True)

    # config editing
    @property
    def process(self):
        return self.config["process"]

    @property
    def linux(self):
        return self.config["linux"]

    @property
    def cgroups_path(self):
        return self.linux["cgroupsPath"]

    def args(self, *argv):
        self.process["args"] = list(argv)
        return self

    def sh(self, script):
        return self.args("sh", "-c", script)

    def mount(self, destination, type, source, options=None):
        m = {"destination": destination, "type": type, "source": source}
        if options is not None:
            m["options"] = list(options)
        self.config["mounts"].append(m)
        return m

    def namespace(self, type, path=None):
        """Add (or replace) a namespace entry; path joins an existing one."""
        ns = [n for n in self.linux["namespaces"] if n["type"] != type]
        n = {"type": type}
        if path:
            n["path"] = path
        ns.append(n)
        self.linux["namespaces"] = ns
        return self

    def no_namespace(self, type):
        self.linux["namespaces"] = [n for n in self.linux["namespaces"] if n["type"] != type]
        return self

    def resources(self):
        return self.linux.setdefault("resources", {})

    def private_rootfs(self):
        """Copy the session rootfs into the bundle (for writable roots)."""
        dst = os.path.join(self.path, "rootfs")
        if not os.path.isdir(dst):
            subprocess.run(["cp", "-a", self.config["root"]["path"], dst], check=True, timeout=TIMEOUT)
        self.config["root"]["path"] = dst
        return dst

    def write(self, text=None):
        with open(os.path.join(self.path, "config.json"), "w") as f:
            if text is None:
                json.dump(self.config, f, indent=1)
            else:
                f.write(text)

    # lifecycle; each records the id so the teardown cleans it up
    def rt(self, *args, **kw):
        self.tracker.ids.add(self.id)
        return self.tracker.rt(*args, **kw)

    def create(self, *extra, check=True, write=True, **kw):
        if write:
            self.write()
        r = self.rt("create", "--bundle", self.path, *extra, self.id, stdout_path=self.stdout_path, **kw)
        if check:
            r.check()
            self.tracker.remember_pid(self.id)
        return r

    def start(self, check=True):
        r = self.rt("start", self.id)
        return r.check() if check else r

    def run(self, *extra, check=False, write=True, **kw):
        """`run` in the foreground; the container's stdout is r.out."""
        if write:
            self.write()
        return self.rt("run", "--bundle", self.path, *extra, self.id, **kw)

    def create_started(self):
        self.create()
        self.start()
        return self.state()

    def state(self, check=True):
        r = self.rt("state", self.id)
        if not check:
            return r
        r.check()
        st = json.loads(r.out)
        if st.get("pid"):
            self.tracker.remember_pid(self.id, st["pid"])
        return st

    def status(self):
        return self.state()["status"]

    def wait_status(self, want, timeout=10):
        return wait_for(lambda: self.status() == want, timeout, what=f"{self.id} to be {want}")

    def kill(self, sig=None, *opts, check=True):
        r = self.rt("kill", *opts, self.id, *([str(sig)] if sig is not None else []))
        return r.check() if check else r

    def delete(self, *extra, check=True):
        r = self.rt("delete", *extra, self.id)
        return r.check() if check else r

    def exec(self, argv, *opts, **kw):
        """`exec [opts] <id> argv...` in the foreground; argv may be []."""
        return self.rt("exec", *opts, self.id, *argv, **kw)

    def output(self):
        return read(self.stdout_path, "")


class Tracker:
    """Per-test bookkeeping and the no-leak teardown."""

    def __init__(self, runtime, state_root, rootfs, workdir):
        self.rt = Runtime(runtime, state_root, workdir)
        self.state_root, self.rootfs, self.workdir = state_root, rootfs, workdir
        self.ids = set()
        self.deleted = set()
        self.pids = {}  # pid -> (starttime, id)
        self.mounts_before = {self._mkey(m) for m in mountinfo()}
        self.n = 0

    _seq = 0

    def new_id(self):
        Tracker._seq += 1
        return f"skt{os.getpid()}-{Tracker._seq}"

    def new_bundle(self):
        cid = self.new_id()
        self.n += 1
        return Bundle(self, os.path.join(self.workdir, f"bundle{self.n}"), cid, self.rootfs)

    def remember_pid(self, cid, pid=None):
        if pid is None:
            r = self.rt("state", cid)
            if r.rc != 0:
                return
            try:
                pid = json.loads(r.out).get("pid")
            except ValueError:
                return
        if pid and pid > 0:
            st = proc_starttime(pid)
            if st:
                self.pids.setdefault(pid, (st, cid))

    @staticmethod
    def _mkey(m):
        return (m["mountpoint"], m["root"], m["fstype"], m["source"], m["dev"])

    # ---- the leak checks, also called explicitly by tests
    def leaks(self, cid, cleanup=True):
        """Everything container `cid` left behind, as a list of strings."""
        problems = []
        for pid, (st, owner) in list(self.pids.items()):
            if owner != cid:
                continue
            with contextlib.suppress(pytest.fail.Exception):
                wait_for(lambda: not proc_alive(pid, st), 3, what=f"pid {pid} to exit")
            if proc_alive(pid, st):
                problems.append(f"container process {pid} still alive")
                if cleanup:
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
        needle = f"/{CGROUP_PARENT}/{cid}"

        def in_cgroup():
            """The live processes in the container's cgroup (a zombie waiting
            to be reaped by its parent still shows its cgroup: not counted)."""
            found = []
            for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
                cg = read(f"/proc/{pid}/cgroup", "")
                if any(line.split(":", 2)[-1] == needle or line.split(":", 2)[-1].startswith(needle + "/")
                       for line in cg.splitlines()):
                    stat = read(f"/proc/{pid}/stat", "")
                    if stat and stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X"):
                        found.append(pid)
            return found
        with contextlib.suppress(pytest.fail.Exception):
            wait_for(lambda: not in_cgroup(), 3, what=f"cgroup {needle} to empty")
        for pid in in_cgroup():
            problems.append(f"process {pid} still in cgroup {needle}")
            if cleanup:
                with contextlib.suppress(OSError):
                    os.kill(int(pid), signal.SIGKILL)
        for mnt, _, _ in cgroup_mounts():
            p = os.path.join(mnt, CGROUP_PARENT, cid)
            if os.path.exists(p):
                problems.append(f"cgroup {p} left behind")
                if cleanup:
                    rmdir_tree(p)
        sdir = os.path.join(self.state_root, cid)
        if os.path.exists(sdir):
            problems.append(f"state dir {sdir} left behind")
            if cleanup:
                shutil.rmtree(sdir, ignore_errors=True)
        return problems

    def new_mounts(self):
        mine = (self.workdir, self.rootfs, self.state_root)
        new = []
        for m in mountinfo():
            if self._mkey(m) in self.mounts_before:
                continue
            related = any(m["mountpoint"].startswith(p) or m["source"].startswith(p) for p in mine) or \
                any(cid in m["line"] for cid in self.ids)
            if related or STRICT_MOUNTS:
                new.append(m)
        return new

    def teardown_containers(self):
        """Force-delete every container the test touched (idempotent)."""
        for cid in sorted(self.ids - self.deleted):
            self.remember_pid(cid)
            self.rt("delete", "--force", cid)
            self.deleted.add(cid)

    def teardown(self):
        self.teardown_containers()
        problems = []
        for cid in sorted(self.ids):
            problems += self.leaks(cid)
        new = self.new_mounts()
        if new:
            problems.append("new mounts: " + "; ".join(m["line"] for m in new))
            for m in reversed(new):
                if m["mountpoint"].startswith((self.workdir, self.rootfs, self.state_root)):
                    subprocess.run(["umount", "-l", m["mountpoint"]], timeout=TIMEOUT)
        return problems


def rmdir_tree(path):
    for dirpath, dirnames, _ in os.walk(path, topdown=False):
        for d in dirnames:
            with contextlib.suppress(OSError):
                os.rmdir(os.path.join(dirpath, d))
    with contextlib.suppress(OSError):
        os.rmdir(path)


@pytest.fixture
def tracker(runtime, state_root, rootfs, tmp_path):
    t = Tracker(runtime, state_root, rootfs, str(tmp_path))
    yield t
    problems = t.teardown()
    assert not problems, "leaked: " + "; ".join(problems)


@pytest.fixture
def rt(tracker):
    return tracker.rt


@pytest.fixture
def bundle(tracker):
    return tracker.new_bundle()


@pytest.fixture
def make_bundle(tracker):
    return tracker.new_bundle

