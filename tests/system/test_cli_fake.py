# SPDX-License-Identifier: Apache-2.0
"""The compose verbs of `skiff` (up, down, ps, logs, scale, stop, start,
events, inspect, exec) against a fake skiffd: a small HTTP server on a unix
socket in a temp dir that answers per docs/api.md and records every request.
Checks what the CLI sends (paths, queries, bodies: the model with the
resolved environment) and what it prints.  Needs no root and starts no
container; the whole file runs in a few seconds."""
import json
import os
import select
import shutil
import signal
import socketserver
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("SKIFF_BUILD", os.path.join(REPO, "build", "san"))
SKIFF = os.path.join(BUILD, "skiff")
NOW_NS = time.time_ns()


class Stream:
    """A chunked NDJSON answer: these objects, then end (or hold until released)."""

    def __init__(self, objs, hold=False):
        self.objs = objs
        self.hold = hold


class FakeSkiffd:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="skf")  # short: sun_path is 108 bytes
        self.sock = os.path.join(self.dir, "skiffd.sock")
        self.requests = []  # (method, path, query dict, body or None)
        self.routes = {}  # (method, path) -> (status, obj) | Stream | callable(req) -> either
        self.release = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def address_string(self):
                return "unix"

            def _any(self):
                u = urlsplit(self.path)
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                req = (self.command, u.path, {k: v[0] for k, v in parse_qs(u.query).items()},
                       json.loads(raw) if raw else None)
                fake.requests.append(req)
                ans = fake.routes.get((self.command, u.path))
                if callable(ans):
                    ans = ans(req)
                if ans is None:
                    ans = (404, {"error": f"no route {self.command} {u.path}"})
                if isinstance(ans, Stream):
                    return self._stream(ans)
                status, obj = ans
                body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _stream(self, s):
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    for o in s.objs:
                        line = (json.dumps(o) + "\n").encode()
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                        self.wfile.flush()
                    if s.hold:
                        fake.release.wait(10)
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True

            do_GET = do_PUT = do_POST = do_DELETE = _any

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True

        self.server = Server(self.sock, Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def sent(self, method=None, path=None):
        return [r for r in self.requests if (method is None or r[0] == method) and (path is None or r[1] == path)]


@pytest.fixture
def skiffd():
    d = FakeSkiffd()
    yield d
    d.close()


COMPOSE = """\
services:
  web:
    image: busybox
    command: httpd -f
    environment:
      GREETING: ${GREETING:-none}
      FIXED: "1"
    deploy: {replicas: 2}
  db:
    image: busybox
    restart: "no"
"""


@pytest.fixture
def project(tmp_path):
    d = tmp_path / "My Shop"
    d.mkdir()
    (d / "compose.yaml").write_text(COMPOSE)
    return d


def run(skiffd, *args, cwd=None, env=None, timeout=10):
    e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/root"}
    if skiffd is not None:
        e["SKIFF_SOCK"] = skiffd.sock
    e.update(env or {})
    return subprocess.run([SKIFF, *args], cwd=cwd, env=e, capture_output=True, text=True, timeout=timeout)


def replica(service, index, state="running", health="none", app="myshop", **kw):
    r = {"name": f"{app}-{service}-{index}", "app": app, "service": service, "index": index,
         "container_id": f"{app}-{service}-{index}", "desired": "running", "state": state,
         "health": health, "restarts": 0, "pid": 4242 if state == "running" else 0,
         "started_ns": NOW_NS - 192 * 10**9, "exit_code": None, "exit_ns": None,
         "cpu_seconds": 1.5, "memory_bytes": 13107200, "log_path": "/x.log"}
    r.update(kw)
    return r


def put_ok(req):
    _, path, _, body = req
    return 200, {"app": path.split("/")[3], "revision": 1, "changed": True,
                 "services": {name: "created" for name in sorted(body["model"]["services"])}}


# ---------------------------------------------------------------- up

def test_up_sends_model_with_resolved_env(skiffd, project):
    skiffd.routes[("PUT", "/v1/apps/myshop")] = put_ok
    r = run(skiffd, "up", "-d", cwd=project, env={"GREETING": "hello there"})
    assert r.returncode == 0, r.stderr
    (req,) = skiffd.requests
    assert req[:2] == ("PUT", "/v1/apps/myshop")
    model = req[3]["model"]
    assert model["name"] == "myshop"
    assert model["services"]["web"]["environment"] == {"GREETING": "hello there", "FIXED": "1"}
    assert model["services"]["web"]["replicas"] == 2
    assert "db: created" in r.stdout and "web: created" in r.stdout


def test_up_project_name_and_file(skiffd, project, tmp_path):
    skiffd.routes[("PUT", "/v1/apps/other")] = put_ok
    r = run(skiffd, "up", "-d", "-p", "Other", "-f", str(project / "compose.yaml"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert [q[1] for q in skiffd.requests] == ["/v1/apps/other"]
    assert skiffd.requests[0][3]["model"]["services"]["web"]["environment"]["GREETING"] == "none"


def test_up_bad_compose_sends_nothing(skiffd, tmp_path):
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: busybox\n    replicas: [\n")
    r = run(skiffd, "up", "-d", cwd=tmp_path)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("compose.yaml:"), r.stderr
    assert lines[0].split(":")[1].isdigit() and lines[0].split(":")[2].isdigit()
    assert skiffd.requests == []


def test_up_wait_polls_until_ready(skiffd, project):
    skiffd.routes[("PUT", "/v1/apps/myshop")] = put_ok
    polls = []

    def ps(req):
        polls.append(req)
        ready = len(polls) >= 3
        return 200, {"replicas": [replica("db", 1),
                                  replica("web", 1, health="healthy" if ready else "starting"),
                                  replica("web", 2, state="running" if ready else "created")]}
    skiffd.routes[("GET", "/v1/apps/myshop/ps")] = ps
    t0 = time.monotonic()
    r = run(skiffd, "up", "--wait", cwd=project)
    assert r.returncode == 0, r.stderr
    assert len(polls) == 3
    assert time.monotonic() - t0 < 5


def test_up_wait_timeout_lists_bad_replicas(skiffd, project):
    skiffd.routes[("PUT", "/v1/apps/myshop")] = put_ok
    skiffd.routes[("GET", "/v1/apps/myshop/ps")] = (200, {"replicas": [
        replica("db", 1), replica("web", 1, health="unhealthy"), replica("web", 2)]})
    r = run(skiffd, "up", "--wait", "--wait-timeout", "1", cwd=project)
    assert r.returncode == 1
    assert "timed out" in r.stderr and "myshop-web-1 (unhealthy)" in r.stderr
    assert "web-2" not in r.stderr


def test_up_wait_fails_fast_when_restart_no_replica_exited(skiffd, project):
    skiffd.routes[("PUT", "/v1/apps/myshop")] = put_ok
    skiffd.routes[("GET", "/v1/apps/myshop/ps")] = (200, {"replicas": [
        replica("db", 1, state="exited", exit_code=3), replica("web", 1), replica("web", 2)]})
    t0 = time.monotonic()
    r = run(skiffd, "up", "--wait", cwd=project)
    assert r.returncode == 1
    assert "myshop-db-1 (exited with code 3" in r.stderr
    assert time.monotonic() - t0 < 3


def test_up_attached_follows_logs_and_stops_on_sigint(skiffd, project):
    skiffd.routes[("PUT", "/v1/apps/myshop")] = put_ok
    skiffd.routes[("GET", "/v1/apps/myshop/logs")] = Stream([
        {"service": "web", "index": 1, "stream": "stdout", "time_ns": NOW_NS, "msg": "hello", "partial": False},
    ], hold=True)
    skiffd.routes[("POST", "/v1/apps/myshop/stop")] = (200, {"stopped": 3})
    e = {"PATH": os.environ.get("PATH", ""), "HOME": "/root", "SKIFF_SOCK": skiffd.sock}
    p = subprocess.Popen([SKIFF, "up"], cwd=project, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # SIGINT once the followed line is printed (the reader and its handler are set up by then)
    seen, deadline = b"", time.monotonic() + 5
    while b"hello" not in seen and time.monotonic() < deadline:
        if select.select([p.stdout], [], [], 0.1)[0]:
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                break
            seen += chunk
    assert b"hello" in seen, f"no log line from skiff up: {seen!r}"
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=5)
    out = seen.decode() + out
    assert p.returncode == 0, err
    assert "web-1  | hello" in out
    (logs,) = skiffd.sent("GET", "/v1/apps/myshop/logs")
    assert logs[2]["follow"] == "1" and int(logs[2]["since"]) > NOW_NS - 10**9
    (stop,) = skiffd.sent("POST", "/v1/apps/myshop/stop")
    assert stop[3] in ({}, {"services": []})
    assert "stopped: 3" in out


# ---------------------------------------------------------------- ps

def ps_answer():
    return {"replicas": [replica("db", 1, health="healthy", started_ns=time.time_ns() - 192 * 10**9 - 10**8,
                                 address="10.89.1.2"),
                         replica("web", 1), replica("web", 2, state="exited", exit_code=137)]}


PS = ps_answer()


def test_ps_table(skiffd):
    skiffd.routes[("GET", "/v1/apps/myshop/ps")] = lambda q: (200, ps_answer())
    r = run(skiffd, "ps", "-p", "myshop")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["NAME", "SERVICE", "STATE", "HEALTH", "RESTARTS", "UPTIME", "CPU", "MEM", "PID",
                                "ADDRESS"]
    assert lines[1].split() == ["myshop-db-1", "db", "running", "healthy", "0", "3m12s", "1.50s", "12.5MiB", "4242",
                                "10.89.1.2"]
    assert lines[2].split()[:4] == ["myshop-web-1", "web", "running", "-"]
    assert lines[2].split()[-1] == "-"  # no address (host network, none)
    assert len(lines) == 3  # exited only with -a
    assert lines[0].index("SERVICE") == lines[1].index("db  ")
    r = run(skiffd, "ps", "-p", "myshop", "-a")
    assert "exited (137)" in r.stdout.splitlines()[3]


def test_ps_json(skiffd):
    skiffd.routes[("GET", "/v1/apps/myshop/ps")] = (200, PS)
    r = run(skiffd, "ps", "-p", "myshop", "--json", "-a")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == PS["replicas"]
    r = run(skiffd, "ps", "-p", "myshop", "--json", "web")
    assert [x["name"] for x in json.loads(r.stdout)] == ["myshop-web-1"]


def test_ps_app_from_compose_name(skiffd, tmp_path):
    (tmp_path / "compose.yaml").write_text("name: Named\nservices:\n  a: {image: busybox}\n")
    skiffd.routes[("GET", "/v1/apps/named/ps")] = (200, {"replicas": []})
    r = run(skiffd, "ps", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert skiffd.requests[0][1] == "/v1/apps/named/ps"


# ---------------------------------------------------------------- logs

def log(service, index, msg, t, partial=False, stream="stdout"):
    return {"service": service, "index": index, "stream": stream, "time_ns": t, "msg": msg, "partial": partial}


def test_logs_prefixes_partials_and_timestamps(skiffd):
    t = 1764151200_123456789  # 2025-11-26T10:00:00.123456789Z
    skiffd.routes[("GET", "/v1/apps/myshop/ps")] = (200, PS)
    skiffd.routes[("GET", "/v1/apps/myshop/logs")] = Stream([
        log("web", 1, "hel", t, partial=True),
        log("db", 1, "ready", t + 1),
        log("web", 1, "lo world", t + 2),
        log("web", 2, "oops", t + 3, stream="stderr"),
    ])
    r = run(skiffd, "logs", "-p", "myshop")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["db-1   | ready", "web-1  | hello world", "web-2  | oops"]
    r = run(skiffd, "logs", "-p", "myshop", "-t", "--tail", "5", "--since", "1764151000", "web", "db")
    assert r.stdout.splitlines()[1] == "web-1  | 2025-11-26T10:00:00.123456789Z hello world"
    q = skiffd.sent("GET", "/v1/apps/myshop/logs")[-1][2]
    assert q == {"service": "web,db", "tail": "5", "since": str(1764151000 * 10**9)}
    r = run(skiffd, "logs", "-p", "myshop", "--no-prefix", "--since", "2025-11-26T11:00:00+01:00")
    assert r.stdout.splitlines() == ["ready", "hello world", "oops"]
    assert skiffd.sent("GET", "/v1/apps/myshop/logs")[-1][2] == {"since": str(1764151200 * 10**9)}


def test_logs_follow_and_bad_since(skiffd):
    skiffd.routes[("GET", "/v1/apps/myshop/ps")] = (200, PS)
    skiffd.routes[("GET", "/v1/apps/myshop/logs")] = Stream([log("db", 1, "x", NOW_NS)])
    r = run(skiffd, "logs", "-p", "myshop", "-f", "--since", "10m")
    assert r.returncode == 0 and r.stdout == "db-1   | x\n"
    q = skiffd.sent("GET", "/v1/apps/myshop/logs")[-1][2]
    assert q["follow"] == "1" and abs(int(q["since"]) - (time.time_ns() - 600 * 10**9)) < 5 * 10**9
    r = run(skiffd, "logs", "-p", "myshop", "--since", "yesterday")
    assert r.returncode == 2 and "--since" in r.stderr


# ---------------------------------------------------------------- control verbs

def test_scale_stop_start_restart_bodies(skiffd):
    skiffd.routes[("POST", "/v1/apps/myshop/scale")] = lambda q: (200, {"service": q[3]["service"], "from": 1, "to": q[3]["replicas"]})
    skiffd.routes[("POST", "/v1/apps/myshop/stop")] = (200, {"stopped": 2})
    skiffd.routes[("POST", "/v1/apps/myshop/start")] = (200, {"started": 2})
    skiffd.routes[("POST", "/v1/apps/myshop/restart")] = (200, {"restarted": 1})
    r = run(skiffd, "scale", "-p", "myshop", "web=3", "db=0")
    assert r.returncode == 0, r.stderr
    assert [q[3] for q in skiffd.sent("POST", "/v1/apps/myshop/scale")] == [
        {"service": "web", "replicas": 3}, {"service": "db", "replicas": 0}]
    assert "web: 1 -> 3" in r.stdout
    assert run(skiffd, "scale", "-p", "myshop", "web=x").returncode == 2
    assert run(skiffd, "stop", "-p", "myshop", "web", "db").stdout == "stopped: 2\n"
    assert skiffd.sent("POST", "/v1/apps/myshop/stop")[0][3] == {"services": ["web", "db"]}
    assert run(skiffd, "start", "-p", "myshop").returncode == 0
    assert skiffd.sent("POST", "/v1/apps/myshop/start")[0][3] in ({}, {"services": []})
    assert run(skiffd, "restart", "-p", "myshop", "web").stdout == "restarted: 1\n"


def test_down_volumes_query_and_app_from_dir(skiffd, project):
    skiffd.routes[("DELETE", "/v1/apps/myshop")] = (200, {"removed": ["myshop-web-1", "myshop-db-1"]})
    r = run(skiffd, "down", "-v", cwd=project)
    assert r.returncode == 0, r.stderr
    assert skiffd.requests[-1][:3] == ("DELETE", "/v1/apps/myshop", {"volumes": "1"})
    assert r.stdout.splitlines() == ["removed myshop-web-1", "removed myshop-db-1"]
    assert run(skiffd, "down", cwd=project).returncode == 0
    assert skiffd.requests[-1][2] == {}


def test_events_lines(skiffd):
    skiffd.routes[("GET", "/v1/events")] = (200, {"events": [
        {"id": 7, "time_ns": 1764151200_123456789, "app": "myshop", "service": "web", "replica": 1,
         "type": "exit", "message": "exited", "attrs": {"code": 0, "signal": "TERM"}}]})
    r = run(skiffd, "events", "-p", "myshop", "--since", "1764151000")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "2025-11-26T10:00:00.123Z myshop web.1 exit exited code=0 signal=TERM\n"
    assert skiffd.requests[-1][2] == {"app": "myshop", "since": str(1764151000 * 10**9)}
    r = run(skiffd, "events", "-p", "myshop", "--json")
    assert json.loads(r.stdout)["id"] == 7


def test_inspect_filters(skiffd):
    doc = {"name": "myshop", "revision": 2, "project_dir": "/x",
           "model": {"services": {"web": {"image": "busybox"}}},
           "services": [{"name": "web", "replicas": 1, "spec_replicas": 1, "config_hash": "ab", "revision": 2}],
           "replicas": [replica("web", 1)]}
    skiffd.routes[("GET", "/v1/apps/myshop")] = (200, doc)
    assert json.loads(run(skiffd, "inspect", "-p", "myshop").stdout) == doc
    s = json.loads(run(skiffd, "inspect", "-p", "myshop", "web").stdout)
    assert s["model"] == {"image": "busybox"} and s["replicas"][0]["name"] == "myshop-web-1"
    assert json.loads(run(skiffd, "inspect", "-p", "myshop", "web-1").stdout)["pid"] == 4242
    r = run(skiffd, "inspect", "-p", "myshop", "nope")
    assert r.returncode == 1 and "no service or replica 'nope'" in r.stderr


def test_exec_finds_the_container(skiffd, tmp_path):
    skiffd.routes[("GET", "/v1/info")] = (200, {"version": "0", "runtime_root": str(tmp_path)})
    skiffd.routes[("GET", "/v1/apps/myshop/ps")] = (200, {"replicas": [replica("web", 1), replica("web", 2, state="exited")]})
    r = run(skiffd, "exec", "-T", "-p", "myshop", "web", "true")
    assert r.returncode == 1 and "myshop-web-1" in r.stderr and "does not exist" in r.stderr, r.stderr
    r = run(skiffd, "exec", "-p", "myshop", "web.2", "true")
    assert r.returncode == 1 and "not running" in r.stderr
    r = run(skiffd, "exec", "-p", "myshop", "--index", "3", "web", "true")
    assert r.returncode == 1 and "no replica web.3" in r.stderr


# ---------------------------------------------------------------- errors

def test_not_running_message(tmp_path):
    sock = str(tmp_path / "none.sock")
    r = run(None, "--sock", sock, "ps", "-p", "x")
    assert r.returncode == 1
    assert r.stderr == (f"skiff: cannot reach skiffd at {sock}: start it with `skiffd &` "
                        "or `systemctl start skiffd`\n")
    r = run(None, "stop", "-p", "x", env={"SKIFF_SOCK": sock})
    assert r.returncode == 1 and "cannot reach skiffd" in r.stderr


def test_daemon_error_passthrough(skiffd, project):
    skiffd.routes[("GET", "/v1/apps/ghost/ps")] = (404, {"error": 'no such app "ghost"'})
    r = run(skiffd, "ps", "-p", "ghost")
    assert (r.returncode, r.stderr) == (1, 'skiff: no such app "ghost"\n')
    skiffd.routes[("PUT", "/v1/apps/myshop")] = (400, {"error": "model: services.web.image: required"})
    r = run(skiffd, "up", "-d", cwd=project)
    assert (r.returncode, r.stderr) == (1, "skiff: model: services.web.image: required\n")
    skiffd.routes[("GET", "/v1/apps/ghost/logs")] = (404, {"error": 'no such app "ghost"'})
    r = run(skiffd, "logs", "-p", "ghost", "--no-prefix")
    assert (r.returncode, r.stderr) == (1, 'skiff: no such app "ghost"\n')


@pytest.mark.root
def test_exec_runs_in_a_real_container(skiffd, bundle, state_root):
    """exec needs no API: a container made by skiff-runtime under the session
    root stands in for the replica skiffd would have started."""
    bundle.config["process"]["env"].append("FROM_SPEC=spec")
    bundle.create_started()
    skiffd.routes[("GET", "/v1/info")] = (200, {"version": "0", "runtime_root": state_root})
    skiffd.routes[("GET", "/v1/apps/myshop/ps")] = (200, {"replicas": [replica("web", 1, container_id=bundle.id)]})
    r = run(skiffd, "exec", "-T", "-p", "myshop", "-e", "EXTRA=x", "-w", "/mnt", "-u", "app:nogroup", "web",
            "sh", "-c", 'echo "$FROM_SPEC $EXTRA $(pwd) $(id -u):$(id -g)"; exit 7')
    assert r.returncode == 7, r.stderr
    assert r.stdout == "spec x /mnt 1000:65534\n"


def test_events_follow_and_top(skiffd):
    ev = {"id": 1, "time_ns": 1764151200_000000000, "app": "a", "service": "", "replica": 0,
          "type": "update", "message": "", "attrs": {}}
    skiffd.routes[("GET", "/v1/events")] = Stream([ev, dict(ev, id=2, service="web", replica=2, type="start")])
    r = run(skiffd, "events", "-f")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["2025-11-26T10:00:00.000Z a - update", "2025-11-26T10:00:00.000Z a web.2 start"]
    assert skiffd.requests[-1][2] == {"follow": "1"}
    skiffd.routes[("GET", "/v1/events")] = (503, {"error": "store is busy"})
    r = run(skiffd, "events", "-f", "-p", "a")
    assert (r.returncode, r.stderr) == (1, "skiff: store is busy\n")
    skiffd.routes[("GET", "/v1/apps/a/top")] = (200, {"replicas": [
        {"name": "a-web-1", "service": "web", "index": 1, "processes": [
            {"pid": 100, "ppid": 1, "uid": 0, "state": "S", "cmd": "httpd -f"}]}]})
    r = run(skiffd, "top", "-p", "a")
    assert r.stdout.splitlines() == ["a-web-1", "PID  PPID  UID  STATE  CMD", "100  1     0    S      httpd -f"]
