# SPDX-License-Identifier: Apache-2.0
"""Helpers for the real-client tests (podman, containerd): environments from
scripts/podman-env.sh and scripts/containerd-env.sh, command runners that
never leave a pipe open to a container, host-side cgroup readers.

Runtime under test: conftest.runtime_path() (the built skiff-runtime, or
$SKIFF_TEST_RUNTIME, e.g. /usr/sbin/runc to validate a test).
"""
import contextlib
import os
import select
import signal
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
TIMEOUT = 30


def read(path, default=None):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        if default is None:
            raise
        return default


class Result:
    def __init__(self, argv, rc, out, err):
        self.argv, self.rc, self.out, self.err = argv, rc, out, err

    @property
    def ok(self):
        return self.rc == 0

    def __repr__(self):
        return (f"<{' '.join(self.argv)} -> rc={self.rc}\n--- stdout\n{self.out[-3000:]}"
                f"\n--- stderr\n{self.err[-3000:]}>")

    def check(self):
        assert self.rc == 0, f"command failed: {self!r}"
        return self


def run(argv, env=None, timeout=TIMEOUT, input=None, workdir=None):
    """Run argv with stdout/stderr to files (not pipes: a detached container
    or shim inherits them and would hold a pipe open forever)."""
    with tempfile.TemporaryDirectory(dir=workdir) as d:
        out_p, err_p = os.path.join(d, "out"), os.path.join(d, "err")
        with open(out_p, "wb") as o, open(err_p, "wb") as e:
            if input is not None:
                stdin = tempfile.TemporaryFile(dir=d)
                stdin.write(input.encode() if isinstance(input, str) else input)
                stdin.seek(0)
            else:
                stdin = open(os.devnull, "rb")
            with stdin:
                p = subprocess.Popen([str(a) for a in argv], stdin=stdin, stdout=o, stderr=e,
                                     env=env, start_new_session=True)
                try:
                    rc = p.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    os.kill(p.pid, signal.SIGKILL)
                    p.wait()
                    rc = -9
        res = Result([str(a) for a in argv], rc, read(out_p, ""), read(err_p, ""))
    if rc == -9:
        raise AssertionError(f"timed out after {timeout}s: {res!r}")
    return res


def run_tty(argv, env=None, timeout=TIMEOUT):
    """Run argv with stdin/stdout/stderr on a fresh pseudo-terminal, so a
    client that asks "is stdin a terminal?" says yes; nothing is typed into
    it. Returns Result with the terminal's output in .out (a tty turns \n
    into \r\n) and "" in .err."""
    master, slave = os.openpty()
    try:
        p = subprocess.Popen([str(a) for a in argv], stdin=slave, stdout=slave, stderr=slave,
                             env=env, start_new_session=True)
    finally:
        os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
                raise AssertionError(f"timed out after {timeout}s: {argv} output {out!r}")
            r, _, _ = select.select([master], [], [], min(left, 0.2))
            if r:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: every slave fd is closed
                    break
                if not chunk:
                    break
                out += chunk
            elif p.poll() is not None and not _readable(master):
                break
    finally:
        os.close(master)
    rc = p.wait()
    return Result([str(a) for a in argv], rc, out.decode(errors="replace"), "")


def _readable(fd):
    r, _, _ = select.select([fd], [], [], 0)
    return bool(r)


def _shquote(s):
    s = str(s)
    if s and all(c.isalnum() or c in "@%+=:,./-_" for c in s):
        return s
    return "'" + s.replace("'", "'\"'\"'") + "'"


def sourced_env(script, extra=None, setup=True):
    """The environment after `. script` in bash (script runs its setup)."""
    env = dict(os.environ)
    env.update(extra or {})
    env["SKIFF_REPO"] = REPO
    cmd = f". {_shquote(script)} && env -0"
    if not setup:
        env["SKIFF_PODMAN_NO_SETUP"] = "1"
        env["SKIFF_CTR_NO_SETUP"] = "1"
    p = subprocess.run(["bash", "-c", cmd], env=env, capture_output=True, timeout=TIMEOUT)
    assert p.returncode == 0, f"sourcing {script} failed: {p.stderr.decode(errors='replace')}"
    out = {}
    for item in p.stdout.split(b"\0"):
        if b"=" in item:
            k, v = item.split(b"=", 1)
            out[k.decode()] = v.decode(errors="replace")
    return out


def bash_fn(script, fn, env, timeout=TIMEOUT):
    """Source script without its setup and call one of its functions."""
    e = dict(env)
    e["SKIFF_PODMAN_NO_SETUP"] = "1"
    e["SKIFF_CTR_NO_SETUP"] = "1"
    return run(["bash", "-c", f". {_shquote(script)} && {fn}"], env=e, timeout=timeout)


# ------------------------------------------------------------ host views

def cgroup_of(pid):
    """{controller-or-'': path} from /proc/<pid>/cgroup."""
    res = {}
    for line in read(f"/proc/{pid}/cgroup").splitlines():
        _, ctls, path = line.split(":", 2)
        for c in (ctls.split(",") if ctls else [""]):
            res[c] = path
    return res


def cgroup_file(pid, controller, name):
    """Host path of cgroup file `name` (e.g. memory.limit_in_bytes) for the
    cgroup that process pid is in: v1 /sys/fs/cgroup/<controller>/<path>,
    else the unified hierarchy (pure v2 host, or the hybrid's unified mount)."""
    cg = cgroup_of(pid)
    if controller in cg:
        for base in (f"/sys/fs/cgroup/{controller}",):
            p = os.path.join(base, cg[controller].lstrip("/"), name)
            if os.path.exists(p):
                return p
    if "" in cg:
        for base in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
            p = os.path.join(base, cg[""].lstrip("/"), name)
            if os.path.exists(p):
                return p
    raise AssertionError(f"no {name} for pid {pid} (cgroups {cg})")


def proc_status(pid):
    d = {}
    for line in read(f"/proc/{pid}/status").splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            d[k.strip()] = v.strip()
    return d


def wait_for(pred, timeout=10.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def pid_alive(pid):
    try:
        stat = read(f"/proc/{pid}/stat")
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def kill_pid(pid, sig=signal.SIGKILL):
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def mounts_under(prefix):
    res = []
    for line in read("/proc/self/mountinfo").splitlines():
        mp = line.split()[4].replace("\\040", " ")
        if mp == prefix or mp.startswith(prefix.rstrip("/") + "/"):
            res.append(mp)
    return res


def cgroup_dirs(rel):
    """Existing directories for cgroup path rel in every hierarchy."""
    res = []
    for h in sorted(os.listdir("/sys/fs/cgroup")):
        p = os.path.join("/sys/fs/cgroup", h, rel.lstrip("/"))
        if os.path.isdir(p):
            res.append(p)
    if os.path.isdir(os.path.join("/sys/fs/cgroup", rel.lstrip("/"))) and \
            os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        res.append(os.path.join("/sys/fs/cgroup", rel.lstrip("/")))
    return res


def procs_in_cgroup_tree(path):
    """PIDs in a cgroup directory and below."""
    pids = []
    for d, _, files in os.walk(path):
        if "cgroup.procs" in files:
            pids += [int(x) for x in read(os.path.join(d, "cgroup.procs"), "").split()]
    return pids


def rmdir_tree(path):
    for d, dirs, _ in os.walk(path, topdown=False):
        for x in dirs:
            with contextlib.suppress(OSError):
                os.rmdir(os.path.join(d, x))
    with contextlib.suppress(OSError):
        os.rmdir(path)
