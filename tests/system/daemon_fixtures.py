# SPDX-License-Identifier: Apache-2.0
"""A private skiffd for system tests: the Daemon class and its leak check.

Daemon(dir) starts `skiffd --run-dir D/run --data-dir D/data --cgroup-parent
skiff-test-daemon-<pid>-<n>` with its stderr in D/skiffd.log (the Popen'd
process becomes the keeper, its child the daemon) inside a network namespace
the fixture made (`ip netns add skt-<pid>-<n>`, entered with nsenter --net so
the mount namespace stays the host's): bridges, veths, addresses and proxy
listeners never touch the machine's own namespace.  It imports a busybox image
(scripts/mk-example-image.sh) as test/busybox:1, and offers:
  cli(*args, app=, file=)  the skiff CLI against it (a Result: rc, out, err)
  api(method, path, body)  one HTTP request on the unix socket: (status, obj)
  ps(app), events(app)     decoded replicas / events
  netns, nsenter(argv)     the namespace's name; argv prefixed to run inside it
  nsrun(*argv)             run a command inside it (a Result)
  links()                  the namespace's links other than lo
  stop()                   `skiff down` of every app, SIGTERM to the keeper
  leaks()                  what the kernel still shows of it: processes in its
                           cgroups, cgroup dirs in any hierarchy, mounts under
                           D, runtime state
"""
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from conftest import BUILD, REPO, cgroup_mounts, mountinfo, read, rmdir_tree

IMAGE = "test/busybox:1"
TIMEOUT = 30


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=TIMEOUT):
        super().__init__("localhost", timeout=timeout)
        self.sock_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.sock_path)


class Result:
    def __init__(self, argv, rc, out, err):
        self.argv, self.rc, self.out, self.err = argv, rc, out, err

    def __repr__(self):
        return f"<{' '.join(self.argv)} -> rc={self.rc}\n--- stdout\n{self.out[-3000:]}\n--- stderr\n{self.err[-3000:]}>"

    def check(self):
        assert self.rc == 0, f"command failed: {self!r}"
        return self

    def json(self):
        return json.loads(self.check().out)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    seq = 0

    def __init__(self, extra_args=()):
        Daemon.seq += 1
        # short: sun_path is 108 bytes
        self.dir = tempfile.mkdtemp(prefix="skd", dir="/tmp")
        self.run_dir = os.path.join(self.dir, "run")
        self.data_dir = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.run_dir, "skiffd.sock")
        self.log_path = os.path.join(self.dir, "skiffd.log")
        self.parent = f"skiff-test-daemon-{os.getpid()}-{Daemon.seq}"
        self.skiff = os.path.join(BUILD, "skiff")
        self.skiffd = os.path.join(BUILD, "skiffd")
        self.extra_args = list(extra_args)
        self.keeper = None
        self.n = 0
        self.netns = f"skt-{os.getpid()}-{Daemon.seq}"
        subprocess.run(["ip", "netns", "add", self.netns], check=True, timeout=TIMEOUT)
        subprocess.run(["ip", "-n", self.netns, "link", "set", "lo", "up"], check=True,
                       timeout=TIMEOUT)
        img = os.path.join(self.dir, "img")
        subprocess.run([os.path.join(REPO, "scripts", "mk-example-image.sh"), IMAGE, img],
                       check=True, timeout=TIMEOUT, capture_output=True)
        self.cli("image", "import", img, "--name", IMAGE).check()
        self.start()

    # ---- process
    def start(self):
        self.log = open(self.log_path, "ab")
        self.keeper = subprocess.Popen(
            self.nsenter([self.skiffd, "--run-dir", self.run_dir, "--data-dir", self.data_dir,
             "--cgroup-parent", self.parent] + self.extra_args),
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, start_new_session=True)
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.connect(self.sock)
                break
            except OSError:
                problem = (f"skiffd exited: {self.log_tail()}" if self.keeper.poll() is not None else
                           f"skiffd socket never answered: {self.log_tail()}"
                           if time.monotonic() >= deadline else None)
                if problem:
                    self.abandon()
                    raise AssertionError(problem)
                time.sleep(0.05)

    def abandon(self):
        """A start that failed: end the keeper and the daemon (by pid), drop the netns."""
        pid = self.daemon_pid()
        for p in (pid, self.keeper.pid if self.keeper else None):
            if p:
                with contextlib.suppress(OSError):
                    os.kill(p, signal.SIGKILL)
        if self.keeper:
            with contextlib.suppress(Exception):
                self.keeper.wait(5)
        self.leaks()

    def daemon_pid(self):
        try:
            return int(read(os.path.join(self.run_dir, "skiffd.pid")).strip())
        except (OSError, ValueError):
            return None

    def nsenter(self, argv):
        return ["nsenter", f"--net=/run/netns/{self.netns}", "--"] + [str(a) for a in argv]

    def nsrun(self, *argv, timeout=TIMEOUT, input=None):
        p = subprocess.run(self.nsenter(argv), capture_output=True, text=True, timeout=timeout,
                           input=input)
        return Result(self.nsenter(argv), p.returncode, p.stdout, p.stderr)

    def links(self):
        out = self.nsrun("ip", "-o", "link", "show").check().out
        names = [line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if line]
        return [n for n in names if n != "lo"]

    def addresses(self):
        out = self.nsrun("ip", "-o", "-4", "addr", "show").check().out
        return [line.split()[3] for line in out.splitlines() if " lo " not in line]

    def log_tail(self, n=60):
        return "\n".join(read(self.log_path, "").splitlines()[-n:])

    def stop(self):
        """down every app, then SIGTERM the keeper; returns the problems."""
        problems = []
        with contextlib.suppress(Exception):
            for a in self.api("GET", "/v1/apps")[1]["apps"]:
                r = self.cli("-p", a["name"], "down", "-v")
                if r.rc:
                    problems.append(f"down {a['name']}: {r!r}")
        if self.keeper and self.keeper.poll() is None:
            self.keeper.send_signal(signal.SIGTERM)
            try:
                self.keeper.wait(15)
            except subprocess.TimeoutExpired:
                problems.append("keeper did not exit on SIGTERM")
                self.keeper.kill()
                self.keeper.wait()
        if self.keeper and self.keeper.returncode:
            problems.append(f"keeper exited {self.keeper.returncode}")
        self.log.close()
        problems += self.leaks()
        return problems

    # ---- clients
    def cli(self, *args, timeout=TIMEOUT, cwd=None):
        self.n += 1
        argv = [self.skiff, "--sock", self.sock, "--store", self.data_dir] + [str(a) for a in args]
        out_p = os.path.join(self.dir, f"cli{self.n}.out")
        err_p = os.path.join(self.dir, f"cli{self.n}.err")
        with open(out_p, "wb") as o, open(err_p, "wb") as e:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=o, stderr=e, cwd=cwd,
                                 start_new_session=True)
            try:
                rc = p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
                raise AssertionError(f"{' '.join(argv)} did not finish in {timeout}s")
        r = Result(argv, rc, read(out_p, ""), read(err_p, ""))
        assert "Sanitizer" not in r.err and "runtime error:" not in r.err, f"sanitizer: {r!r}"
        return r

    def api(self, method, path, body=None, tcp=None, raw=False):
        conn = http.client.HTTPConnection(*tcp, timeout=TIMEOUT) if tcp else UnixHTTPConnection(self.sock)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data,
                         headers={"Content-Type": "application/json"} if data else {})
            resp = conn.getresponse()
            text = resp.read().decode()
            if raw:
                return resp.status, text
            return resp.status, (json.loads(text) if text.strip() else None)
        finally:
            conn.close()

    def ps(self, app):
        st, obj = self.api("GET", f"/v1/apps/{app}/ps")
        assert st == 200, obj
        return obj["replicas"]

    def replica(self, app, name):
        for r in self.ps(app):
            if r["name"] == name:
                return r
        return None

    def events(self, app=None):
        st, obj = self.api("GET", "/v1/events" + (f"?app={app}" if app else ""))
        assert st == 200, obj
        return obj["events"]

    def logs(self, app, query=""):
        st, text = self.api("GET", f"/v1/apps/{app}/logs{query}", raw=True)
        assert st == 200, text
        return [json.loads(x) for x in text.splitlines() if x.strip()]

    # ---- what the kernel shows
    def cgroup_dirs(self, rel=""):
        out = []
        for mnt, _, _ in cgroup_mounts():
            p = os.path.join(mnt, self.parent, rel)
            if os.path.isdir(p):
                out.append(p)
        return out

    def cgroup_procs(self):
        needle = f"/{self.parent}/"
        found = []
        for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
            cg = read(f"/proc/{pid}/cgroup", "")
            if any(needle in line or line.endswith(f"/{self.parent}") for line in cg.splitlines()):
                found.append(int(pid))
        return found

    def mounts_under(self):
        return [m["mountpoint"] for m in mountinfo()
                if m["mountpoint"].startswith(self.dir + "/")]

    def leaks(self, cleanup=True):
        problems = []
        procs = self.cgroup_procs()
        if procs:
            problems.append(f"processes left in {self.parent}: {procs}")
            if cleanup:
                for p in procs:
                    with contextlib.suppress(OSError):
                        os.kill(p, signal.SIGKILL)
                time.sleep(0.2)
        dirs = self.cgroup_dirs()
        if dirs:
            problems.append(f"cgroups left: {dirs}")
            if cleanup:
                for d in dirs:
                    rmdir_tree(d)
        mounts = self.mounts_under()
        if mounts:
            problems.append(f"mounts left: {mounts}")
            if cleanup:
                for m in reversed(mounts):
                    subprocess.run(["umount", "-l", m], timeout=TIMEOUT)
        rt = os.path.join(self.run_dir, "runtime")
        if os.path.isdir(rt) and os.listdir(rt):
            problems.append(f"runtime state left: {os.listdir(rt)}")
        if os.path.exists(f"/run/netns/{self.netns}"):
            links = self.links()
            if links:
                problems.append(f"links left in {self.netns}: {links}")
            if cleanup:
                subprocess.run(["ip", "netns", "del", self.netns], timeout=TIMEOUT)
        netns_dir = os.path.join(self.run_dir, "netns")
        if os.path.isdir(netns_dir) and os.listdir(netns_dir):
            problems.append(f"netns files left: {os.listdir(netns_dir)}")
        return problems

    def remove(self):
        if not self.mounts_under():
            shutil.rmtree(self.dir, ignore_errors=True)


# ---- shared by the test modules that drive a module-wide Daemon

def finish(d):
    """Module teardown: down every app, stop skiffd, fail on anything left behind."""
    problems = d.stop()
    if problems:
        print("skiffd log tail:\n" + d.log_tail())
    assert not problems, "daemon teardown: " + "; ".join(problems)
    d.remove()


def log_on_failure(request, d):
    """An autouse fixture's body: prints skiffd's log tail when the test failed."""
    failed = request.session.testsfailed
    yield
    if request.session.testsfailed > failed:
        print("---- skiffd log tail\n" + d.log_tail())


class ComposeApp:
    """One compose project in tmp_path driven through the real CLI."""

    def __init__(self, daemon, tmp_path, name, text):
        self.d, self.name = daemon, name
        self.dir = tmp_path / name
        self.dir.mkdir(exist_ok=True)
        self.file = self.dir / "compose.yaml"
        self.write(text)

    def write(self, text):
        self.file.write_text(text)

    def cli(self, *args, **kw):
        return self.d.cli("-f", self.file, "-p", self.name, *args, **kw)

    def up(self):
        return self.cli("up", "-d").check()


def app_factory(daemon, tmp_path, cls):
    """A fixture's body: yields make(name, text) -> cls; downs every app it made after the test."""
    made = []

    def make(name, text):
        a = cls(daemon, tmp_path, name, text)
        made.append(a)
        return a
    yield make
    for a in made:
        st, _ = daemon.api("GET", f"/v1/apps/{a.name}")
        if st == 200:
            a.cli("down", "-v")

