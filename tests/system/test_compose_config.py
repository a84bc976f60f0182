# SPDX-License-Identifier: Apache-2.0
"""`skiff config` on good and bad compose files: the exit code, the exact
file:line:col error line, the resolved model (YAML and JSON), the default
file search, -p, .env and --hash.  Needs no root and starts nothing."""
import json
import os
import shutil
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("SKIFF_BUILD", os.path.join(REPO, "build", "san"))
SKIFF = os.path.join(BUILD, "skiff")
BAD = os.path.join(REPO, "examples", "compose", "bad")


def skiff_config(*args, cwd=None, env=None):
    e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/root"}
    e.update(env or {})
    return subprocess.run([SKIFF, "config", *args], cwd=cwd, env=e, capture_output=True, text=True, timeout=30)


GOOD = """\
name: Shop
x-base: &base
  restart: unless-stopped
services:
  web:
    <<: *base
    image: busybox:${TAG:-1.36}
    command: httpd -f -p 8080
    environment: [GREETING, FROM_DOTENV]
    ports: ["8080:8080"]
    volumes: ["./www:/www:ro"]
    depends_on:
      db: {condition: service_healthy}
    deploy:
      replicas: 2
      resources: {limits: {memory: 64m, cpus: "0.5"}}
    x-skiff:
      health: {http: {path: /, port: 8080}}
  db:
    image: busybox
    healthcheck: {test: ["CMD", "true"], interval: 2s}
    build: ./db
"""


@pytest.fixture
def project(tmp_path):
    d = tmp_path / "My Shop"
    d.mkdir()
    (d / "compose.yaml").write_text(GOOD)
    (d / ".env").write_text("FROM_DOTENV=dot # comment\nTAG=2.0\n")
    return d


@pytest.mark.parametrize(
    "name,line",
    [
        ("syntax.yaml", "syntax.yaml:6:3: wrongly indented flow sequence"),
        ("unknown-dependency.yaml", 'unknown-dependency.yaml:7:9: services.web.depends_on: unknown service "cache"'),
        ("cycle.yaml", "cycle.yaml:13:18: services.c.depends_on: dependency cycle: a -> b -> c -> a"),
        ("bad-duration.yaml", 'bad-duration.yaml:7:17: services.web.healthcheck.interval: invalid duration "10x"'),
        ("bad-memory.yaml",
         'bad-memory.yaml:8:19: services.web.deploy.resources.limits.memory: invalid byte size "64q"'),
    ],
)
def test_bad_files(name, line):
    r = skiff_config("-f", name, cwd=BAD)
    assert r.returncode == 1, r
    assert r.stdout == ""
    assert r.stderr.splitlines() == [line]


def test_bad_file_path_as_given():
    r = skiff_config("-f", os.path.join(BAD, "bad-duration.yaml"))
    assert r.returncode == 1
    assert r.stderr.startswith(os.path.join(BAD, "bad-duration.yaml") + ":7:17: ")


def test_good_file_json(project):
    r = skiff_config("--json", cwd=project, env={"GREETING": "hi"})
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == ["compose.yaml:22:5: warning: services.db.build is not supported by skiff, ignored"]
    app = json.loads(r.stdout)
    assert app["name"] == "shop"
    web = app["services"]["web"]
    assert web["image"] == "busybox:2.0"  # TAG from .env
    assert web["command"] == ["httpd", "-f", "-p", "8080"]
    assert web["environment"] == {"GREETING": "hi", "FROM_DOTENV": "dot"}
    assert web["restart"] == "unless-stopped"
    assert web["replicas"] == 2
    assert web["limits"]["memory"] == 64 << 20 and web["limits"]["cpus"] == 0.5
    assert web["volumes"][0]["source"] == str(project / "www") and web["volumes"][0]["read_only"]
    assert web["ports"][0]["host_start"] == 8080
    assert web["depends_on"]["db"]["condition"] == "service_healthy"
    assert web["x-skiff"]["health"]["http"]["status"] == "200-399"
    db = app["services"]["db"]
    assert db["healthcheck"]["interval"] == "2s" and db["healthcheck"]["timeout"] == "30s"
    assert db["stop_grace_period"] == "10s"


def test_good_file_yaml_and_lists(project):
    r = skiff_config(cwd=project)
    assert r.returncode == 0, r.stderr
    assert "\nservices:\n  db:\n" in r.stdout
    assert "    image: busybox:2.0\n" in r.stdout
    r = skiff_config("--services", cwd=project)
    assert r.stdout.splitlines() == ["db", "web"]


def test_project_name_sources(project):
    assert json.loads(skiff_config("--json", cwd=project).stdout)["name"] == "shop"
    assert json.loads(skiff_config("--json", "-p", "Other-1", cwd=project).stdout)["name"] == "other-1"
    text = GOOD.replace("name: Shop\n", "")
    (project / "compose.yaml").write_text(text)
    assert json.loads(skiff_config("--json", cwd=project).stdout)["name"] == "myshop"


def test_default_file_search(tmp_path):
    r = skiff_config(cwd=tmp_path)
    assert r.returncode == 1
    assert "no compose file" in r.stderr
    (tmp_path / "docker-compose.yml").write_text("services: {a: {image: x}}\n")
    r = skiff_config("--services", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == "a\n"
    (tmp_path / "compose.yaml").write_text("services: {b: {image: x}}\n")
    assert skiff_config("--services", cwd=tmp_path).stdout == "b\n"


def test_required_variable(tmp_path):
    (tmp_path / "compose.yaml").write_text('services:\n  a:\n    image: "x:${TAG:?set TAG}"\n')
    r = skiff_config(cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        'compose.yaml:3:12: services.a.image: required variable TAG is missing a value: set TAG']
    assert skiff_config(cwd=tmp_path, env={"TAG": "1"}).returncode == 0


def test_hash_changes_only_with_the_service(project):
    h1 = skiff_config("--hash", "web", cwd=project).stdout.strip()
    d1 = skiff_config("--hash", "db", cwd=project).stdout.strip()
    assert len(h1) == 64
    (project / "compose.yaml").write_text(GOOD.replace("replicas: 2", "replicas: 5").replace("64m", "128m"))
    h2 = skiff_config("--hash", "web", cwd=project).stdout.strip()
    d2 = skiff_config("--hash", "db", cwd=project).stdout.strip()
    assert h1 != h2 and d1 == d2
    (project / "compose.yaml").write_text(GOOD.replace("replicas: 2", "replicas: 5"))
    assert skiff_config("--hash", "web", cwd=project).stdout.strip() == h1
    r = skiff_config("--hash", "nope", cwd=project)
    assert r.returncode == 1


def test_all_errors_listed(tmp_path):
    (tmp_path / "compose.yaml").write_text(
        "services:\n  a:\n    image: x\n    restart: sometimes\n    depends_on: [b]\n  b:\n    image: y\n"
        "    depends_on: [a]\n    mem_limit: lots\n")
    r = skiff_config(cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        'compose.yaml:4:14: services.a.restart: invalid restart policy "sometimes" '
        "(no, always, on-failure[:N], unless-stopped)",
        "compose.yaml:8:18: services.b.depends_on: dependency cycle: a -> b -> a",
        'compose.yaml:9:16: services.b.mem_limit: invalid byte size "lots"',
    ]


XSKIFF = """\
x-skiff: {egress: true, subnet: 10.89.7.0/24}
services:
  web:
    image: busybox
    ports: ["8080:8080"]
    x-skiff:
      proxy:
        balance: least_request
        timeout: 2s
        retries: {attempts: 3, on: [connect-failure, 503, 502], budget: 20%}
        outlier: {consecutive_5xx: 3}
      fallback: popular
      fault:
        delay: {fixed: 100ms, jitter: 20ms, percent: 50}
        abort: {status: 503}
  popular:
    image: busybox
    expose: ["8080"]
  worker:
    image: busybox
    x-skiff: {proxy: {mode: tcp}}
"""


def test_xskiff_proxy_fault_fallback(tmp_path):
    (tmp_path / "compose.yaml").write_text(XSKIFF)
    r = skiff_config("--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == [
        "compose.yaml:21:15: warning: services.worker.x-skiff.proxy: has no effect: "
        "the service has no ports or expose for the proxy to serve"]
    app = json.loads(r.stdout)
    assert app["x-skiff"] == {"egress": True, "subnet": "10.89.7.0/24"}
    x = app["services"]["web"]["x-skiff"]
    assert x["fallback"] == "popular"
    assert x["fault"] == {"delay": {"fixed": "100ms", "jitter": "20ms", "percent": 50},
                          "abort": {"status": 503, "percent": 100}}
    p = x["proxy"]
    assert p["mode"] == "http" and p["balance"] == "least_request" and p["timeout"] == "2s"
    assert p["retries"] == {"attempts": 3, "on": ["connect-failure", 502, 503], "backoff": "0s",
                            "max_backoff": "0s", "budget": 20}
    assert p["outlier"]["consecutive_5xx"] == 3 and p["outlier"]["consecutive_failures"] == 5
    # defaults for a service without x-skiff
    d = app["services"]["popular"]["x-skiff"]
    assert d["fallback"] is None
    assert d["proxy"]["retries"]["on"] == ["connect-failure", "reset"]
    assert d["proxy"]["retries"]["attempts"] == 2
    assert d["fault"]["abort"] == {"status": 0, "percent": 0}
    assert "\n      fallback: popular\n" in skiff_config(cwd=tmp_path).stdout


@pytest.mark.parametrize(
    "text,line",
    [
        (XSKIFF.replace("fallback: popular", "fallback: nope"),
         'compose.yaml:12:17: services.web.x-skiff.fallback: unknown service "nope"'),
        (XSKIFF.replace("503, 502]", "503, teapot]"),
         'compose.yaml:10:59: services.web.x-skiff.proxy.retries.on[2]: unknown retry condition "teapot" '
         "(connect-failure, reset, timeout, or a status 500-599)"),
        (XSKIFF.replace("10.89.7.0/24", "10.89.7.9/24"),
         'compose.yaml:1:33: x-skiff.subnet: subnet "10.89.7.9/24" has host bits set (did you mean 10.89.7.0/24?)'),
    ],
)
def test_xskiff_errors(tmp_path, text, line):
    (tmp_path / "compose.yaml").write_text(text)
    r = skiff_config(cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.splitlines()[0] == line
