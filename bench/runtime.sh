#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# runtime.sh - container start-to-exit latency and memory: skiff-runtime vs
# crun vs runc, in one run, on one busybox bundle.
#
# Usage: bench/runtime.sh [-n N] [--no-profile]
#   env: N (runs per runtime, default 50), SKIFF_RUNTIME (default
#        build/rel/skiff-runtime), CRUN, RUNC (default: from PATH),
#        PROFILE=0 to skip the strace/perf profiles, PROFILE_SKIFF=1 to also
#        profile skiff-runtime.
#
# What it runs: `RUNTIME --root <private root> run --bundle B <id>` (create,
# start, wait, delete in one command) for each runtime, round-robin, N times
# each, after 2 untimed warm-up runs each. The bundle is `runc spec`'s default
# (namespaces pid, network, ipc, uts, mount, plus cgroup; the default mounts;
# read-only root) with process.args ["/bin/true"], terminal false and
# linux.cgroupsPath /skiff-bench/<id>. bench/runbench.py does the timing and
# prints the table and the ratio lines; see bench/README.md.
#
# HOST CHANGE (for crun): none outside this script's own mount namespace.
#   This host is cgroup v1 "hybrid": v1 controllers under /sys/fs/cgroup/<name>
#   and a cgroup2 mount at /sys/fs/cgroup/unified that holds the hugetlb
#   controller. crun 1.8 refuses such hosts:
#     "cgroups in hybrid mode not supported, drop all controllers from cgroupv2"
#   What we do: the script re-executes itself under
#     unshare --mount --propagation private
#   and, inside that new mount namespace only,
#     umount /sys/fs/cgroup/unified
#   crun then sees a plain cgroup v1 host and runs. The benchmark, the
#   profiles and the cleanup all run inside the namespace, so crun, runc and
#   skiff-runtime see the same host (v1 only; hugetlb not mounted - the bundle
#   sets no hugetlb limits). Undo: nothing to undo on the host; the namespace
#   and its mount table vanish when the script's last process exits, on every
#   exit path including SIGKILL. Mount propagation is private, so the umount
#   is never seen by the host. Set BENCH_NO_NS=1 to run on the host's view
#   (crun will then fail and be reported as failed).
#   Rejected alternative (tried first): moving hugetlb to its own v1 hierarchy
#   host-wide (mount -t cgroup -o hugetlb x /sys/fs/cgroup/hugetlb, undone by
#   umount). It works for crun, but while it is mounted every other runtime
#   on the machine (e.g. a concurrent test suite) creates hugetlb cgroups in
#   it, and the kernel keeps an unmounted v1 hierarchy alive while it has
#   child cgroups, so the undo can race with them. Too invasive for a shared
#   host.
#
# Other state: everything else lives in a mktemp directory under /tmp
# (bundle, runtime roots), removed at exit; leftover /skiff-bench cgroups
# (only ours) are removed at exit. Profiles go to bench/out/ (gitignored).
set -euo pipefail

ORIG_ARGS=("$@")
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
PY=/usr/bin/python3
N=${N:-50}
PROFILE=${PROFILE:-1}
PROFILE_SKIFF=${PROFILE_SKIFF:-0}
while [ $# -gt 0 ]; do
	case $1 in
	-n) N=$2; shift 2 ;;
	-n*) N=${1#-n}; shift ;;
	--no-profile) PROFILE=0; shift ;;
	-h|--help) sed -n '2,12p' "$0"; exit 0 ;;
	*) echo "runtime.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done

SKIFF=${SKIFF_RUNTIME:-$TOP/build/rel/skiff-runtime}
CRUN=${CRUN:-$(command -v crun || true)}
RUNC=${RUNC:-$(command -v runc || echo /usr/sbin/runc)}
OUT=$TOP/bench/out
CG=/sys/fs/cgroup

log() { echo "runtime.sh: $*" >&2; }

# ---- the private mount namespace (see HOST CHANGE above) --------------
CG_PARENT=skiff-bench
if [ "${BENCH_NO_NS:-0}" != 1 ] && [ "${SKIFF_BENCH_IN_NS:-0}" != 1 ]; then
	export SKIFF_BENCH_IN_NS=1
	exec unshare --mount --propagation private -- "$0" "${ORIG_ARGS[@]}"
fi
if [ "${SKIFF_BENCH_IN_NS:-0}" = 1 ] &&
   [ "$(stat -f -c %T $CG 2>/dev/null)" = tmpfs ] &&
   mountpoint -q $CG/unified 2>/dev/null &&
   [ -n "$(cat $CG/unified/cgroup.controllers 2>/dev/null)" ]; then
	umount $CG/unified
	log "private mount namespace: unmounted $CG/unified (hybrid cgroups; crun needs v1 only)"
fi

# ---- workspace and cleanup ---------------------------------------------
WORK=$(mktemp -d /tmp/skiff-bench.XXXXXX)
cleanup() {
	local rc=$? name bin root id
	set +e
	for name in skiff crun runc; do
		case $name in skiff) bin=$SKIFF ;; crun) bin=$CRUN ;; runc) bin=$RUNC ;; esac
		root=$WORK/root-$name
		[ -d "$root" ] && [ -n "$bin" ] || continue
		for id in "$root"/skb-*; do
			[ -e "$id" ] || continue
			timeout 10 "$bin" --root "$root" delete -f "${id##*/}" >/dev/null 2>&1
		done
	done
	# Our cgroups, in every hierarchy (leaves, then the parent if empty).
	for d in $CG/*/$CG_PARENT; do
		[ -d "$d" ] || continue
		find "$d" -mindepth 1 -maxdepth 1 -type d -name 'skb-*' -exec rmdir {} + 2>/dev/null
		rmdir "$d" 2>/dev/null
	done
	rm -rf "$WORK"
	exit $rc
}
trap cleanup EXIT
# The parent cgroup exists before the runs, as a slice or a daemon's subtree
# would in real use, so no runtime pays for creating and removing it per run.
for d in $CG/*/; do
	[ "$(stat -f -c %T "$d" 2>/dev/null)" = cgroup ] || [ "$(stat -f -c %T "$d" 2>/dev/null)" = cgroup2fs ] || continue
	mkdir -p "$d$CG_PARENT"
	if [ -f "${d}cpuset.cpus" ]; then
		cat "${d}cpuset.cpus" >"$d$CG_PARENT/cpuset.cpus"
		cat "${d}cpuset.mems" >"$d$CG_PARENT/cpuset.mems"
	fi
done
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---- bundle ------------------------------------------------------------
B=$WORK/bundle
mkdir -p "$B"
"$TOP/scripts/mk-busybox-rootfs.sh" "$B/rootfs"
"$RUNC" spec --bundle "$B"
$PY - "$B/config.json" <<'EOF'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["args"] = ["/bin/true"]
c["process"]["terminal"] = False
ns = c["linux"]["namespaces"]
if not any(n["type"] == "cgroup" for n in ns):
    ns.append({"type": "cgroup"})
c["linux"]["cgroupsPath"] = "/skiff-bench/template"
json.dump(c, open(p, "w"), indent=1)
EOF
mkdir -p "$OUT"
cp "$B/config.json" "$OUT/config.json"

# ---- which runtimes ----------------------------------------------------
RTS=()
SKIFF_OK=1
RTS+=(--rt "skiff=$SKIFF")
if [ ! -x "$SKIFF" ]; then
	log "skiff-runtime not found at $SKIFF (make -C $TOP); continuing with the peers"
	SKIFF_OK=0
fi
if [ -n "$CRUN" ]; then
	RTS+=(--rt "crun=$CRUN")
else
	log "crun not installed"
fi
RTS+=(--rt "runc=$RUNC")

{
	echo "# $(date -u +%FT%TZ) $(uname -r) $(nproc) cpus"
	[ -x "$SKIFF" ] && "$SKIFF" --version 2>&1 | head -1
	[ -n "$CRUN" ] && "$CRUN" --version | head -1
	"$RUNC" --version | head -1
} | tee "$OUT/versions.txt"

# ---- the benchmark -----------------------------------------------------
HELPER=$WORK/spawn-time
gcc -O2 -static -o "$HELPER" "$HERE/spawn-time.c" 2>/dev/null ||
	gcc -O2 -o "$HELPER" "$HERE/spawn-time.c"
rc=0
$PY "$HERE/runbench.py" --bundle "$B" --work "$WORK" --n "$N" "${RTS[@]}" \
	--helper "$HELPER" \
	--json "$OUT/runtime.json" | tee "$OUT/runtime.txt" || rc=1
[ "${PIPESTATUS[0]}" = 0 ] || rc=1
# The same again with each runtime's runs back to back: a cgroup v1
# migration (writing another process's pid to cgroup.procs) waits for an RCU
# grace period unless a recent one left the lock in its slow mode, so who
# runs before whom changes the peers' figures.  Both orders are printed.
$PY "$HERE/runbench.py" --bundle "$B" --work "$WORK" --n "$N" "${RTS[@]}" \
	--helper "$HELPER" --order blocks --rss-runs 0 \
	--json "$OUT/runtime-blocks.json" | tee "$OUT/runtime-blocks.txt" || rc=1
[ "${PIPESTATUS[0]}" = 0 ] || rc=1
[ "$SKIFF_OK" = 1 ] || rc=1

# ---- profiles (one run each) -------------------------------------------
profile() { # name bin
	local name=$1 bin=$2 id
	id=skb-$name-prof-$$
	$PY - "$B/config.json" "$id" <<-'EOF'
	import json, sys
	c = json.load(open(sys.argv[1])); c["linux"]["cgroupsPath"] = "/skiff-bench/" + sys.argv[2]
	json.dump(c, open(sys.argv[1], "w"))
	EOF
	mkdir -p "$WORK/root-$name"
	strace -c -f -o "$OUT/strace-$name.txt" \
		"$bin" --root "$WORK/root-$name" run --bundle "$B" "$id" </dev/null >/dev/null 2>&1 ||
		log "strace of $name failed"
	id=$id-full
	$PY - "$B/config.json" "$id" <<-'EOF'
	import json, sys
	c = json.load(open(sys.argv[1])); c["linux"]["cgroupsPath"] = "/skiff-bench/" + sys.argv[2]
	json.dump(c, open(sys.argv[1], "w"))
	EOF
	strace -f -ttt -T -o "$OUT/strace-full-$name.txt" \
		"$bin" --root "$WORK/root-$name" run --bundle "$B" "$id" </dev/null >/dev/null 2>&1 ||
		log "strace (full) of $name failed"
	id=$id-perf
	$PY - "$B/config.json" "$id" <<-'EOF'
	import json, sys
	c = json.load(open(sys.argv[1])); c["linux"]["cgroupsPath"] = "/skiff-bench/" + sys.argv[2]
	json.dump(c, open(sys.argv[1], "w"))
	EOF
	if command -v perf >/dev/null; then
		perf stat -r 5 -o "$OUT/perf-stat-$name.txt" -- \
			"$bin" --root "$WORK/root-$name" run --bundle "$B" "$id" </dev/null >/dev/null 2>&1 ||
			log "perf stat of $name failed"
	fi
}
if [ "$PROFILE" = 1 ]; then
	[ -n "$CRUN" ] && profile crun "$CRUN"
	profile runc "$RUNC"
	if [ "$PROFILE_SKIFF" = 1 ] && [ -x "$SKIFF" ]; then profile skiff "$SKIFF"; fi
	log "profiles: $(cd "$OUT" && ls strace-* perf-stat-* 2>/dev/null | tr '\n' ' ')"
fi
exit $rc
