#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""runbench.py - time `RUNTIME --root R run --bundle B ID` for several runtimes.

Called by bench/runtime.sh; it can also be run by hand on a prepared bundle:

  runbench.py --bundle B --work W --n 50 --rt skiff=/path/skiff-runtime \
              --rt crun=/usr/bin/crun --rt runc=/usr/sbin/runc

Method
  * Runs are interleaved round-robin (skiff, crun, runc, skiff, ...) after
    --warmup untimed runs per runtime, so drift on the machine hits all alike.
  * Each run gets a fresh container id and cgroupsPath /skiff-bench/<id>;
    config.json is rewritten between runs, outside the timed region.
  * Wall time: measured by the small C helper bench/spawn-time.c with
    CLOCK_MONOTONIC around vfork + execv + wait4 of the runtime process;
    neither Python's nor the helper's start-up is inside the timing.
  * RSS "tree": ru_maxrss from that wait4. Linux reports max(self, every
    child the runtime reaped) there - for `run` that includes the
    container's init process (runc's `runc init` re-exec, crun's cloned
    child) before and after it execs /bin/true. (Measured from C, not from
    Python: a process keeps the peak RSS of the image it exec'd from in
    ru_maxrss, so a child of a 13 MiB Python reports >= 13 MiB.)
  * RSS "self": the runtime process alone: the largest VmHWM read from
    /proc/<pid>/status at its ptrace syscall stops and its exit stop
    (PTRACE_O_TRACEEXIT; its children are not traced; sampling at syscall
    stops catches the image before a re-exec, e.g. crun's memfd re-exec). Measured in a few
    extra, untimed runs (--rss-runs) because ptrace stops perturb timing.
  * After every run the script checks that the runtime removed its state
    directory and its cgroup; leftovers are counted and reported.

A runtime that fails is reported with its stderr and dropped from the
rotation; the others continue. Exit status 1 if any runtime failed.
"""
import argparse
import ctypes
import json
import math
import os
import signal
import statistics
import sys
import time

CG_CHECK = ("memory", "pids", "cpu", "devices", "freezer")
CG_ROOT = "/sys/fs/cgroup"
CG_PARENT = "skiff-bench"

PTRACE_TRACEME = 0
PTRACE_CONT = 7
PTRACE_SETOPTIONS = 0x4200
PTRACE_O_TRACEEXIT = 0x40
PTRACE_SYSCALL = 24
PTRACE_O_TRACESYSGOOD = 0x1
PTRACE_O_TRACEEXEC = 0x10
PTRACE_O_EXITKILL = 0x100000
PTRACE_EVENT_EXEC = 4
PTRACE_EVENT_EXIT = 6

libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
libc.ptrace.restype = ctypes.c_long


class Runtime:
    def __init__(self, name, path, work):
        self.name = name
        self.path = path
        self.root = os.path.join(work, "root-" + name)
        os.makedirs(self.root, exist_ok=True)
        self.times = []       # ns
        self.cpu = []         # user+sys seconds
        self.rss_tree = []    # KiB
        self.rss_self = []    # KiB
        self.leaks = 0
        self.error = None
        self.seq = 0

    def next_id(self):
        self.seq += 1
        return f"skb-{self.name}-{os.getpid()}-{self.seq}"


def write_config(bundle, template, cid):
    cfg = dict(template)
    cfg["linux"] = dict(template["linux"])
    cfg["linux"]["cgroupsPath"] = f"/{CG_PARENT}/{cid}"
    tmp = os.path.join(bundle, "config.json.tmp")
    with open(tmp, "w") as f:
        json.dump(cfg, f)
    os.rename(tmp, os.path.join(bundle, "config.json"))


def argv_for(rt, bundle, cid):
    return [rt.path, "--root", rt.root, "run", "--bundle", bundle, cid]


class Usage:
    def __init__(self, utime_us, stime_us, maxrss):
        self.ru_utime = utime_us / 1e6
        self.ru_stime = stime_us / 1e6
        self.ru_maxrss = maxrss


def timed_run(rt, bundle, cid, errpath, helper):
    """One run under the spawn-time helper (bench/spawn-time.c): it times
    vfork+exec+wait4 with CLOCK_MONOTONIC and reports wait4's rusage."""
    argv = [helper, errpath] + argv_for(rt, bundle, cid)
    r, w = os.pipe()
    pid = os.posix_spawn(helper, argv, os.environ,
                         file_actions=[(os.POSIX_SPAWN_DUP2, w, 1)])
    os.close(w)
    with os.fdopen(r) as f:
        line = f.read()
    _, hstatus = os.waitpid(pid, 0)
    if hstatus != 0 or not line.strip():
        raise OSError(f"spawn-time helper failed ({status_text(hstatus)})")
    ns, status, ut, st, rss = (int(x) for x in line.split())
    return ns, status, Usage(ut, st, rss)


def traced_run(rt, bundle, cid, errpath):
    """Run once under ptrace; return (status, VmHWM KiB of the runtime process)."""
    argv = argv_for(rt, bundle, cid)
    pid = os.fork()
    if pid == 0:
        try:
            fd = os.open("/dev/null", os.O_RDONLY)
            os.dup2(fd, 0)
            fd = os.open(errpath, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            if libc.ptrace(PTRACE_TRACEME, 0, None, None) != 0:
                os._exit(126)
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    hwm = 0
    started = False

    def read_hwm():
        nonlocal hwm
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        hwm = max(hwm, int(line.split()[1]))
        except OSError:
            pass

    while True:
        _, status = os.waitpid(pid, 0)
        if os.WIFEXITED(status) or os.WIFSIGNALED(status):
            return status, (hwm or None)
        if not os.WIFSTOPPED(status):
            continue
        sig = os.WSTOPSIG(status)
        event = (status >> 16) & 0xff
        inject = 0
        if sig == signal.SIGTRAP and not started:
            started = True  # the stop after our execve
            libc.ptrace(PTRACE_SETOPTIONS, pid, None,
                        PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC |
                        PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL)
        elif sig == (signal.SIGTRAP | 0x80):
            # syscall entry/exit: VmHWM is per image, so sample it before
            # an execve replaces the image (crun re-execs itself).
            read_hwm()
        elif sig == signal.SIGTRAP and event in (PTRACE_EVENT_EXEC, PTRACE_EVENT_EXIT):
            read_hwm()
        else:
            inject = sig
        libc.ptrace(PTRACE_SYSCALL, pid, None, inject)


def leaked(rt, cid):
    n = 0
    if os.path.exists(os.path.join(rt.root, cid)):
        n += 1
    for c in CG_CHECK:
        if os.path.isdir(os.path.join(CG_ROOT, c, CG_PARENT, cid)):
            n += 1
            break
    return n


def status_text(status):
    if os.WIFEXITED(status):
        return f"exit status {os.WEXITSTATUS(status)}"
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"wait status {status:#x}"


def fail(rt, status, errpath, cid):
    try:
        with open(errpath, errors="replace") as f:
            err = f.read().strip()
    except OSError:
        err = ""
    rt.error = f"{status_text(status)} (id {cid}): {err[-2000:] or '(no output)'}"
    print(f"runbench: {rt.name} FAILED: {rt.error}", file=sys.stderr, flush=True)


def pct(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    k = max(0, math.ceil(p / 100.0 * len(sorted_vals)) - 1)
    return sorted_vals[k]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--rss-runs", type=int, default=3)
    ap.add_argument("--rt", action="append", required=True, help="name=path, first is the subject")
    ap.add_argument("--json", help="write raw samples here")
    ap.add_argument("--order", choices=["round-robin", "blocks"], default="round-robin",
                    help="interleave the runtimes, or run each one's runs back to back "
                         "(the kernel's cgroup-migration lock state carries over between "
                         "runs, so each order favours different runtimes; report both)")
    ap.add_argument("--helper", required=True, help="the built bench/spawn-time.c")
    a = ap.parse_args()

    bundle = os.path.abspath(a.bundle)
    with open(os.path.join(bundle, "config.json")) as f:
        template = json.load(f)
    rts = []
    for spec in a.rt:
        name, _, path = spec.partition("=")
        rts.append(Runtime(name, path, a.work))
    errpath = os.path.join(a.work, "run.err")

    def one(rt, mode):
        cid = rt.next_id()
        write_config(bundle, template, cid)
        try:
            if mode == "traced":
                status, hwm = traced_run(rt, bundle, cid, errpath)
                ns = ru = None
            else:
                ns, status, ru = timed_run(rt, bundle, cid, errpath, a.helper)
        except OSError as e:
            rt.error = f"cannot run {rt.path}: {e}"
            print(f"runbench: {rt.name} FAILED: {rt.error}", file=sys.stderr, flush=True)
            return
        if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
            fail(rt, status, errpath, cid)
            return
        rt.leaks += leaked(rt, cid)
        if mode == "timed":
            rt.times.append(ns)
            rt.cpu.append(ru.ru_utime + ru.ru_stime)
            rt.rss_tree.append(ru.ru_maxrss)
        elif mode == "traced" and hwm is not None:
            rt.rss_self.append(hwm)

    for _ in range(a.warmup):
        for rt in rts:
            if rt.error is None:
                one(rt, "warmup")
    if a.order == "blocks":
        for rt in rts:
            for _ in range(a.n):
                if rt.error is None:
                    one(rt, "timed")
    else:
        for _ in range(a.n):
            for rt in rts:
                if rt.error is None:
                    one(rt, "timed")
    for _ in range(a.rss_runs):
        for rt in rts:
            if rt.error is None:
                one(rt, "traced")

    print(f"\n{a.n} runs each, {a.order}; `RUNTIME --root R run --bundle B ID` of /bin/true")
    hdr = f"{'runtime':8} {'ok':>4} {'median':>8} {'p90':>8} {'min':>8} {'cpu med':>8} {'rss self':>9} {'rss tree':>9} {'leaks':>5}"
    print(hdr)
    print(f"{'':8} {'':>4} {'ms':>8} {'ms':>8} {'ms':>8} {'ms':>8} {'KiB':>9} {'KiB':>9}")
    summary = {}
    for rt in rts:
        t = sorted(x / 1e6 for x in rt.times)
        s = {
            "ok": len(t),
            "median_ms": statistics.median(t) if t else float("nan"),
            "p90_ms": pct(t, 90),
            "min_ms": t[0] if t else float("nan"),
            "cpu_median_ms": statistics.median(rt.cpu) * 1000 if rt.cpu else float("nan"),
            "rss_self_kib": max(rt.rss_self) if rt.rss_self else None,
            "rss_tree_kib": max(rt.rss_tree) if rt.rss_tree else None,
            "leaks": rt.leaks,
            "error": rt.error,
        }
        summary[rt.name] = s
        rs = s["rss_self_kib"] if s["rss_self_kib"] is not None else "-"
        rtr = s["rss_tree_kib"] if s["rss_tree_kib"] is not None else "-"
        print(f"{rt.name:8} {s['ok']:4} {s['median_ms']:8.2f} {s['p90_ms']:8.2f} {s['min_ms']:8.2f} "
              f"{s['cpu_median_ms']:8.2f} {rs!s:>9} {rtr!s:>9} {s['leaks']:5}")
    for rt in rts:
        if rt.error:
            print(f"{rt.name}: FAILED: {rt.error}")

    subj = rts[0].name
    def ratio(key, peer):
        x, y = summary[subj].get(key), summary.get(peer, {}).get(key)
        if x is None or y is None or not summary[subj]["ok"] or not summary[peer]["ok"]:
            return "n/a"
        return f"{x / y:.2f}"
    print()
    for peer in [r.name for r in rts[1:]]:
        tag = "" if a.order == "round-robin" else " (blocks)"
        print(f"{subj}/{peer} median ratio{tag}: {ratio('median_ms', peer)}")
    if "crun" in summary:
        key = "rss_self_kib" if summary[subj]["rss_self_kib"] and summary["crun"]["rss_self_kib"] else "rss_tree_kib"
        print(f"{subj}/crun rss ratio: {ratio(key, 'crun')}")

    if a.json:
        with open(a.json, "w") as f:
            json.dump({"n": a.n, "summary": summary,
                       "samples_ns": {r.name: r.times for r in rts},
                       "rss_tree_kib": {r.name: r.rss_tree for r in rts},
                       "rss_self_kib": {r.name: r.rss_self for r in rts}}, f, indent=1)
    return 1 if any(r.error for r in rts) else 0


if __name__ == "__main__":
    sys.exit(main())
