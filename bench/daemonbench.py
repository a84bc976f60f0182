#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""daemonbench.py - skiffd with many replicas vs podman: start time, idle
memory, crash-to-running latency.  Called by bench/daemon.sh, which starts a
private skiffd (and owns its cleanup) and a private podman environment.

Phases (one run):
  1 up     `skiff -p APP up -d` of one service with N replicas; timed from
           before the command to the moment the N-th `start` event arrives
           on GET /v1/events?follow=1 (opened beforehand), then checked with
           one GET /v1/apps/APP/ps (all N running with a pid).
  2 memory VmRSS of the keeper and skiffd with 0 replicas (before phase 1)
           and with N idle ones (2 s after phase 1); kernel memory of the
           containers: memory.kmem.usage_in_bytes summed over the container
           cgroups (cgroup v1) and the /proc/meminfo slab/stack/page-table
           delta; process count below the keeper that are not in a
           container cgroup (want: skiffd only).
  3 crash  K times: kill -9 the pid of a different replica (each replica's
           first crash: restart backoff 0), wait for its `start` event with a
           new pid.  kill -> exit event, kill -> start event (daemon
           timestamps, CLOCK_REALTIME like ours), kill -> event received.
  podman   the same N as `podman run -d --restart always --runtime crun`
           sequentially and with 2 in parallel; conmon RSS and container
           kmem; K kills of distinct containers, kill -> new pid in `podman
           inspect` (polled) and kill -> `start` in podman's events file.
"""
import argparse
import concurrent.futures
import glob
import http.client
import json
import os
import queue
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

CG = "/sys/fs/cgroup"


# ---------------------------------------------------------------- helpers

class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.path)
        self.sock = s


def api(sock, method, path, body=None):
    c = UnixHTTP(sock)
    try:
        c.request(method, path, body=json.dumps(body) if body is not None else None,
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        if r.status >= 300:
            raise RuntimeError(f"{method} {path}: {r.status} {data[:300]!r}")
        return json.loads(data) if data else None
    finally:
        c.close()


class EventStream(threading.Thread):
    """GET /v1/events?follow=1 in a thread; every event goes to a queue with
    the CLOCK_REALTIME time we read it at."""

    def __init__(self, sock, app, after):
        super().__init__(daemon=True)
        self.q = queue.Queue()
        self.conn = UnixHTTP(sock, timeout=None)
        self.conn.request("GET", f"/v1/events?app={app}&follow=1&after={after}")
        self.resp = self.conn.getresponse()
        if self.resp.status != 200:
            raise RuntimeError(f"events stream: {self.resp.status}")

    def run(self):
        try:
            while True:
                line = self.resp.readline()
                if not line:
                    break
                line = line.strip()
                if line:
                    self.q.put((time.time_ns(), json.loads(line)))
        except Exception as e:  # closed under us at the end
            self.q.put((time.time_ns(), {"type": "_stream_error", "message": str(e)}))

    def get(self, timeout):
        return self.q.get(timeout=timeout)

    def close(self):
        try:
            self.conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def last_event_id(sock, app):
    ev = api(sock, "GET", f"/v1/events?app={app}&limit=1")["events"]
    return ev[-1]["id"] if ev else 0


def status_kib(pid, key="VmRSS"):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def meminfo():
    m = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":", 1)
            m[k] = int(v.split()[0])
    return m


KMEM_KEYS = ("Slab", "SUnreclaim", "KernelStack", "PageTables", "Shmem")


def slabinfo():
    """{cache: bytes} from /proc/slabinfo (active objects x object size)."""
    out = {}
    try:
        with open("/proc/slabinfo") as f:
            for line in f:
                if line.startswith(("slabinfo", "#")):
                    continue
                v = line.split()
                out[v[0]] = int(v[1]) * int(v[3])
    except OSError:
        pass
    return out


def read_int(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def kmem_sum(cgdirs):
    tot, n = 0, 0
    for d in cgdirs:
        v = read_int(os.path.join(d, "memory.kmem.usage_in_bytes"))
        if v is not None:
            tot += v
            n += 1
    return tot, n


def mem_cgroup(pid):
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            for line in f:
                _, ctrl, path = line.rstrip("\n").split(":", 2)
                if "memory" in ctrl.split(","):
                    return path
    except OSError:
        pass
    return None


def proc_tree():
    """{pid: (ppid, comm)} for every process."""
    t = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                s = f.read()
        except OSError:
            continue
        comm = s[s.index("(") + 1:s.rindex(")")]
        ppid = int(s[s.rindex(")") + 2:].split()[1])
        t[int(p)] = (ppid, comm)
    return t


def descendants(root):
    t = proc_tree()
    kids = {}
    for p, (pp, _) in t.items():
        kids.setdefault(pp, []).append(p)
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return [(p, t.get(p, (0, "?"))[1]) for p in out]


def pct(vals, p):
    v = sorted(vals)
    if not v:
        return float("nan")
    import math
    return v[max(0, math.ceil(p / 100 * len(v)) - 1)]


def ms(ns):
    return ns / 1e6


def mib(b):
    return b / (1024 * 1024)


def log(msg):
    print(f"daemonbench: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- skiff

def skiff_ps(a):
    return api(a.sock, "GET", f"/v1/apps/{a.app}/ps")["replicas"]


def skiff_up(a, res):
    after = last_event_id(a.sock, a.app)
    ev = EventStream(a.sock, a.app, after)
    ev.start()
    env = dict(os.environ, SKIFF_SOCK=a.sock)
    t0m, t0 = time.monotonic_ns(), time.time_ns()
    p = subprocess.run([a.skiff, "-p", a.app, "up", "-d"], cwd=a.proj, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t_cmd = time.monotonic_ns() - t0m
    if p.returncode != 0:
        raise RuntimeError(f"skiff up -d: exit {p.returncode}: {p.stderr.decode()[-500:]}")
    started, last_ev_ns, first_ev_ns = set(), 0, None
    deadline = time.monotonic() + a.timeout
    while len(started) < a.replicas:
        try:
            _, e = ev.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            raise RuntimeError(f"up: only {len(started)}/{a.replicas} started after {a.timeout}s")
        if e["type"] == "start":
            started.add(e["replica"])
            last_ev_ns = e["time_ns"]
            first_ev_ns = first_ev_ns or e["time_ns"]
        elif e["type"] in ("error", "exit", "_stream_error"):
            log(f"up: event {e['type']}: {e.get('message')}")
    t_all = time.monotonic_ns() - t0m
    reps = skiff_ps(a)
    t_ps = time.monotonic_ns() - t0m
    running = [r for r in reps if r["state"] == "running" and r["pid"] > 0]
    ev.close()
    if len(running) != a.replicas:
        raise RuntimeError(f"up: ps shows {len(running)} running of {a.replicas}")
    res["skiff_up"] = {"cmd_ms": ms(t_cmd), "first_start_ms": ms(first_ev_ns - t0),
                       "last_start_event_ms": ms(last_ev_ns - t0), "all_seen_ms": ms(t_all),
                       "ps_confirmed_ms": ms(t_ps)}


def skiff_memory(a, res, tag):
    info = api(a.sock, "GET", "/v1/info")
    d = {"keeper_kib": status_kib(a.keeper_pid), "skiffd_kib": status_kib(info["pid"]),
         "skiffd_pid": info["pid"], "meminfo": {k: meminfo().get(k) for k in KMEM_KEYS},
         "slab": slabinfo()}
    cgs = sorted(glob.glob(f"{CG}/memory/{a.cg_parent}/{a.app}/*/"))
    d["kmem_bytes"], d["n_cgroups"] = kmem_sum(cgs)
    d["kmem_app_cgroup_bytes"] = read_int(f"{CG}/memory/{a.cg_parent}/{a.app}/memory.kmem.usage_in_bytes")
    d["usage_bytes"] = sum(read_int(os.path.join(c, "memory.usage_in_bytes")) or 0 for c in cgs)
    prefix = f"/{a.cg_parent}/{a.app}/"
    tree = descendants(a.keeper_pid)
    d["in_containers"] = sum(1 for p, _ in tree if (mem_cgroup(p) or "").startswith(prefix))
    d["others"] = [(p, c) for p, c in tree if not (mem_cgroup(p) or "").startswith(prefix)]
    res["skiff_mem_" + tag] = d


def skiff_crash(a, res):
    reps = {r["index"]: r for r in skiff_ps(a)}
    after = last_event_id(a.sock, a.app)
    ev = EventStream(a.sock, a.app, after)
    ev.start()
    samples = []
    for k in range(a.kills):
        idx = 1 + k % a.replicas
        old = reps[idx]["pid"]
        t_kill = time.time_ns()
        os.kill(old, signal.SIGKILL)
        t_exit = t_start = None
        deadline = time.monotonic() + 15
        while True:
            try:
                t_rx, e = ev.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError(f"crash {k}: replica {idx} not running again after 15 s")
            if e.get("replica") != idx:
                continue
            if e["type"] == "exit":
                t_exit = e["time_ns"]
            if e["type"] == "start" and e.get("attrs", {}).get("pid") not in (None, old):
                t_start = e["time_ns"]
                break
        new = {r["index"]: r for r in skiff_ps(a)}[idx]
        t_ps = time.time_ns()
        if new["state"] != "running" or new["pid"] in (0, old):
            raise RuntimeError(f"crash {k}: ps after the start event: {new['state']} pid {new['pid']}")
        reps[idx] = new
        samples.append({"replica": idx, "kill_to_exit_ms": ms(t_exit - t_kill) if t_exit else None,
                        "kill_to_start_ms": ms(t_start - t_kill), "kill_to_received_ms": ms(t_rx - t_kill),
                        "kill_to_ps_ms": ms(t_ps - t_kill)})
        time.sleep(0.05)
    ev.close()
    res["skiff_crash"] = samples


def skiff_down(a, res):
    env = dict(os.environ, SKIFF_SOCK=a.sock)
    t0 = time.monotonic_ns()
    p = subprocess.run([a.skiff, "-p", a.app, "down"], cwd=a.proj, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    res["skiff_down_ms"] = ms(time.monotonic_ns() - t0)
    if p.returncode != 0:
        raise RuntimeError(f"skiff down: {p.stderr.decode()[-300:]}")


# ---------------------------------------------------------------- podman

def podman(*args, check=True):
    p = subprocess.run(["podman", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and p.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args[:3])}...: exit {p.returncode}: {p.stderr[-400:]}")
    return p.stdout.strip()


def prun_args(a, name):
    return ["run", "-d", "--restart", "always", "--runtime", "crun", "--cgroup-parent",
            a.podman_cg_parent, "--name", name, a.podman_image, "sleep", "3600"]


def podman_batch(a, prefix, par):
    names = [f"{prefix}{i}" for i in range(1, a.replicas + 1)]
    t0 = time.monotonic_ns()
    if par == 1:
        for n in names:
            podman(*prun_args(a, n))
    else:
        with concurrent.futures.ThreadPoolExecutor(par) as ex:
            list(ex.map(lambda n: podman(*prun_args(a, n)), names))
    t = time.monotonic_ns() - t0
    out = podman("ps", "-q", "--filter", f"name=^{prefix}", "--filter", "status=running")
    running = len(out.split())
    if running != a.replicas:
        raise RuntimeError(f"podman: {running} of {a.replicas} running")
    return ms(t), names


def podman_memory(a, res):
    run = os.environ.get("SKIFF_PODMAN_RUN", "")
    conmons = []
    for p, (pp, comm) in proc_tree().items():
        if comm == "conmon":
            try:
                with open(f"/proc/{p}/cmdline", "rb") as f:
                    if run.encode() in f.read():
                        conmons.append(p)
            except OSError:
                pass
    rss = sum(status_kib(p) or 0 for p in conmons)
    cgs = [d for d in glob.glob(f"{CG}/memory{a.podman_cg_parent}/*/") if "conmon" not in d]
    kmem, n = kmem_sum(cgs)
    allcg = glob.glob(f"{CG}/memory{a.podman_cg_parent}/*/")
    res["podman_mem"] = {"conmons": len(conmons), "conmon_rss_kib": rss, "kmem_bytes": kmem,
                         "n_cgroups": n, "kmem_all_bytes": kmem_sum(allcg)[0],
                         "meminfo": {k: meminfo().get(k) for k in KMEM_KEYS}, "slab": slabinfo()}


def podman_events_since(path, offset):
    out = []
    try:
        with open(path) as f:
            f.seek(offset)
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    except OSError:
        pass
    return out


def parse_rfc3339_ns(s):
    # 2026-11-26T08:06:07.909138343Z -> ns
    import calendar
    base, _, frac = s.rstrip("Z").partition(".")
    sec = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
    return sec * 10**9 + int((frac + "000000000")[:9])


def podman_crash(a, names, res):
    evpath = os.path.join(os.environ.get("SKIFF_PODMAN_RUN", ""), "events.log")
    samples = []
    for k in range(a.kills):
        name = names[k % len(names)]
        cid = podman("inspect", "--format", "{{.Id}}", name)
        old = int(podman("inspect", "--format", "{{.State.Pid}}", name))
        off = os.path.getsize(evpath) if os.path.exists(evpath) else 0
        t_kill = time.time_ns()
        os.kill(old, signal.SIGKILL)
        deadline = time.monotonic() + 15
        while True:
            out = podman("inspect", "--format", "{{.State.Pid}} {{.State.Status}}", name, check=False)
            t_seen = time.time_ns()
            f = out.split()
            if len(f) == 2 and f[1] == "running" and f[0].isdigit() and int(f[0]) not in (0, old):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"podman crash {k}: {name} not running again after 15 s ({out})")
        t_died = t_start = None
        for e in podman_events_since(evpath, off):
            if e.get("ID") != cid:
                continue
            if e.get("Status") == "died" and t_died is None:
                t_died = parse_rfc3339_ns(e["Time"])
            if e.get("Status") == "start":
                t_start = parse_rfc3339_ns(e["Time"])
        samples.append({"name": name, "kill_to_died_ms": ms(t_died - t_kill) if t_died else None,
                        "kill_to_start_ms": ms(t_start - t_kill) if t_start else None,
                        "kill_to_inspect_ms": ms(t_seen - t_kill)})
        time.sleep(0.05)
    res["podman_crash"] = samples


def podman_rm_all(a):
    podman("rm", "-a", "-f", "-t", "0", check=False)


# ---------------------------------------------------------------- report

def summarize(samples, key):
    v = [s[key] for s in samples if s.get(key) is not None]
    if not v:
        return None
    return {"n": len(v), "median": statistics.median(v), "p90": pct(v, 90), "min": min(v), "max": max(v)}


def fmt_stat(st):
    if not st:
        return "n/a"
    return f"median {st['median']:7.1f}  p90 {st['p90']:7.1f}  min {st['min']:6.1f}  max {st['max']:7.1f} ms"


def report(a, res):
    N = a.replicas
    P = print
    P(f"\n== 1. start {N} replicas (busybox, sleep 3600, restart always) ==")
    u = res.get("skiff_up")
    if u:
        P(f"skiff up -d + all running:      {u['all_seen_ms'] / 1000:7.3f} s   (target <= 0.3 s)")
        P(f"  skiff up -d returned after     {u['cmd_ms']:7.1f} ms; first start event {u['first_start_ms']:.1f} ms,"
          f" last {u['last_start_event_ms']:.1f} ms; ps confirmed at {u['ps_confirmed_ms']:.1f} ms")
    ps = res.get("podman_seq_ms")
    pp = res.get("podman_par2_ms")
    if ps:
        P(f"podman run -d x{N}, sequential:  {ps / 1000:7.3f} s   ({ps / N:.1f} ms each)")
    if pp:
        P(f"podman run -d x{N}, 2 parallel:  {pp / 1000:7.3f} s")
    if u and ps:
        P(f"skiff/podman start ratio (sequential): {u['all_seen_ms'] / ps:.3f}")
    if u and pp:
        P(f"skiff/podman start ratio (2 parallel): {u['all_seen_ms'] / pp:.3f}")
    if "podman_error" in res:
        P(f"podman: FAILED: {res['podman_error']}")

    P(f"\n== 2. idle memory, 0 vs {N} replicas ==")
    m0, m1 = res.get("skiff_mem_0"), res.get(f"skiff_mem_{N}")
    if m0 and m1:
        dk = m1["keeper_kib"] - m0["keeper_kib"]
        ds = m1["skiffd_kib"] - m0["skiffd_kib"]
        P(f"keeper VmRSS:   {m0['keeper_kib']:6d} KiB -> {m1['keeper_kib']:6d} KiB  ({dk / N:+.1f} KiB per container)")
        P(f"skiffd VmRSS:   {m0['skiffd_kib']:6d} KiB -> {m1['skiffd_kib']:6d} KiB  ({ds / N:+.1f} KiB per container)")
        P(f"container kmem: {mib(m1['kmem_bytes']):.2f} MiB over {m1['n_cgroups']} cgroups = "
          f"{mib(m1['kmem_bytes']) / max(1, m1['n_cgroups']):.3f} MiB per container "
          f"(app cgroup total {mib(m1['kmem_app_cgroup_bytes'] or 0):.2f} MiB; memory.usage incl. user pages "
          f"{mib(m1['usage_bytes']) / max(1, m1['n_cgroups']):.3f} MiB each)")
        mi = " ".join(f"{k} {(m1['meminfo'][k] - m0['meminfo'][k]) / N:+.0f}" for k in KMEM_KEYS)
        slab = (m1['meminfo']['Slab'] + m1['meminfo']['KernelStack'] + m1['meminfo']['PageTables']
                - m0['meminfo']['Slab'] - m0['meminfo']['KernelStack'] - m0['meminfo']['PageTables'])
        P(f"/proc/meminfo delta per container, KiB: {mi}  (shared host: noisy)")
        per = (dk + ds) / 1024 / N + mib(m1["kmem_bytes"]) / max(1, m1["n_cgroups"])
        top = sorted(((m1["slab"].get(k, 0) - m0["slab"].get(k, 0), k) for k in m1["slab"]), reverse=True)[:8]
        if top:
            P("  largest slab growth per container, KiB: " +
              ", ".join(f"{k} {d / 1024 / N:+.1f}" for d, k in top))
        P(f"skiff per idle container (keeper+skiffd RSS delta + container kmem): {per:.3f} MiB   (target <= 0.2 MiB)")
        P(f"  (with the meminfo Slab+KernelStack+PageTables delta instead of cgroup kmem: "
          f"{(dk + ds + slab) / 1024 / N:.3f} MiB)")
        P(f"processes below the keeper: {m1['in_containers']} in container cgroups, "
          f"{len(m1['others'])} others: {', '.join(f'{c}({p})' for p, c in m1['others'])}")
        P(f"  (with 0 replicas: {len(m0['others'])} others: {', '.join(f'{c}({p})' for p, c in m0['others'])})")
        me = res.get("skiff_mem_end")
        if me:
            P(f"after skiff down: keeper {me['keeper_kib']} KiB, skiffd {me['skiffd_kib']} KiB")
    pm = res.get("podman_mem")
    if pm:
        P(f"podman: {pm['conmons']} conmon processes, {pm['conmon_rss_kib'] / 1024:.1f} MiB RSS "
          f"({pm['conmon_rss_kib'] / max(1, pm['conmons']) / 1024:.3f} MiB each); container kmem "
          f"{mib(pm['kmem_bytes']) / max(1, pm['n_cgroups']):.3f} MiB each over {pm['n_cgroups']} cgroups")
        p0 = res.get("podman_mem_0")
        if p0:
            mi = " ".join(f"{k} {(pm['meminfo'][k] - p0['meminfo'][k]) / N:+.0f}" for k in KMEM_KEYS)
            P(f"podman /proc/meminfo delta per container, KiB: {mi}")
        if m1:
            P(f"podman per idle container (conmon RSS + container kmem): "
              f"{pm['conmon_rss_kib'] / 1024 / N + mib(pm['kmem_bytes']) / max(1, pm['n_cgroups']):.3f} MiB")

    P(f"\n== 3. crash-to-running, kill -9 of a replica's pid, {a.kills} times ==")
    sc = res.get("skiff_crash")
    if sc:
        P(f"skiff kill -> start event:    {fmt_stat(summarize(sc, 'kill_to_start_ms'))}   (target <= 100 ms)")
        P(f"skiff kill -> exit event:     {fmt_stat(summarize(sc, 'kill_to_exit_ms'))}")
        P(f"skiff kill -> event received: {fmt_stat(summarize(sc, 'kill_to_received_ms'))}")
        P(f"skiff kill -> ps new pid:     {fmt_stat(summarize(sc, 'kill_to_ps_ms'))}")
    pc = res.get("podman_crash")
    if pc:
        P(f"podman kill -> start event:   {fmt_stat(summarize(pc, 'kill_to_start_ms'))}")
        P(f"podman kill -> died event:    {fmt_stat(summarize(pc, 'kill_to_died_ms'))}")
        P(f"podman kill -> inspect new pid: {fmt_stat(summarize(pc, 'kill_to_inspect_ms'))}  (polled; each inspect ~30 ms)")
    s1, s2 = summarize(sc or [], "kill_to_start_ms"), summarize(pc or [], "kill_to_start_ms")
    if s1 and s2:
        P(f"skiff/podman crash-to-running median ratio: {s1['median'] / s2['median']:.2f}")
    if "skiff_down_ms" in res:
        P(f"\n(skiff down of {N}: {res['skiff_down_ms'] / 1000:.2f} s)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skiff", required=True)
    ap.add_argument("--sock", required=True)
    ap.add_argument("--proj", required=True, help="directory with compose.yaml")
    ap.add_argument("--app", default="bench")
    ap.add_argument("--replicas", type=int, default=100)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--keeper-pid", type=int, required=True)
    ap.add_argument("--cg-parent", default="skiff-bench")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--podman", action="store_true")
    ap.add_argument("--podman-image")
    ap.add_argument("--podman-cg-parent")
    ap.add_argument("--json")
    a = ap.parse_args()
    res = {"replicas": a.replicas, "kills": a.kills}
    rc = 0
    try:
        skiff_memory(a, res, "0")
        log(f"skiff: up -d {a.replicas} replicas")
        skiff_up(a, res)
        time.sleep(2)
        skiff_memory(a, res, str(a.replicas))
        log(f"skiff: {a.kills} kills")
        skiff_crash(a, res)
        log("skiff: down")
        skiff_down(a, res)
        time.sleep(0.5)
        skiff_memory(a, res, "end")
    except Exception as e:
        res["skiff_error"] = str(e)
        log(f"skiff FAILED: {e}")
        rc = 1
    if a.podman:
        try:
            log("podman: warm-up run")
            podman(*prun_args(a, "skb-warm"))
            podman_rm_all(a)
            res["podman_mem_0"] = {"meminfo": {k: meminfo().get(k) for k in KMEM_KEYS}, "slab": slabinfo()}
            log(f"podman: {a.replicas} runs, sequential")
            res["podman_seq_ms"], names = podman_batch(a, "skb-s", 1)
            time.sleep(2)
            podman_memory(a, res)
            log(f"podman: {a.kills} kills")
            podman_crash(a, names, res)
            podman_rm_all(a)
            log(f"podman: {a.replicas} runs, 2 in parallel")
            res["podman_par2_ms"], _ = podman_batch(a, "skb-p", 2)
            podman_rm_all(a)
        except Exception as e:
            res["podman_error"] = str(e)
            log(f"podman FAILED: {e}")
            podman_rm_all(a)
            rc = 1
    report(a, res)
    if "skiff_error" in res:
        print(f"skiff: FAILED: {res['skiff_error']}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    return rc


if __name__ == "__main__":
    sys.exit(main())
