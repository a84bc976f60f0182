#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# daemon.sh - skiffd with many replicas vs podman, in one run: time to start
# N replicas, idle memory per container, crash-to-running latency.
#
# Usage: bench/daemon.sh [-n REPLICAS] [-k KILLS] [--no-podman]
#   env: N (replicas, default 100), KILLS (default 20), SKIFF_BUILD (default
#        build/rel: skiffd and skiff), PODMAN=0 to skip the podman peer,
#        PROFILE=1 to also record `strace -f -c` of skiffd during an extra
#        up of N replicas (bench/out/strace-skiffd-up.txt; not timed).
#
# What runs: a private skiffd (`skiffd --run-dir W/run --data-dir W/data
# --cgroup-parent skiff-bench`; the process started is the keeper, it forks
# the daemon) with the busybox image of scripts/mk-example-image.sh imported
# into W/data, and one compose app "bench": service s, image bench/busybox,
# command sleep 3600, restart always, N replicas, stop_signal SIGKILL (sleep
# as pid 1 ignores SIGTERM: `down` would wait the 10 s grace period).
# The peer: podman with a private storage/runroot (scripts/podman-env.sh:
# offline, --network none, ulimits nofile 20000 / nproc 32768), the same
# busybox rootfs imported, `podman run -d --restart always --runtime crun`.
# bench/daemonbench.py does the measuring and prints the figures; see
# bench/README.md.  Raw figures: bench/out/daemon.json, text daemon.txt.
#
# HOST CHANGE: none outside this script's own mount namespace, as in
#   bench/runtime.sh: re-executed under `unshare --mount --propagation
#   private`, /sys/fs/cgroup/unified (cgroup2 holding hugetlb on this hybrid
#   host) is unmounted there only, because crun refuses hybrid hosts.
#   skiffd runs in the same namespace (its keeper is our child), so both
#   see a cgroup-v1-only host.  Side effect handled at exit: with unified
#   unmounted, crun (podman) mkdirs its "unified" cgroups in the tmpfs
#   under it (/sys/fs/cgroup/unified/<podman parent>/libpod-*, hidden below
#   the mount on the host); the cleanup removes that tmpfs tree.
#
# Cleanup (every exit path but SIGKILL): `skiff down`, SIGTERM to the keeper
# we started (and wait for it), `podman rm -a -f`, the podman storage reset
# and unmounted, the work dir /tmp/skiff-bench-daemon.* removed, our cgroups
# removed; then checks that /sys/fs/cgroup/*/skiff-bench/bench and the
# podman parent are gone and that no process of ours is left.
set -euo pipefail

ORIG_ARGS=("$@")
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
PY=/usr/bin/python3
N=${N:-100}
KILLS=${KILLS:-20}
PODMAN=${PODMAN:-1}
PROFILE=${PROFILE:-0}
while [ $# -gt 0 ]; do
	case $1 in
	-n) N=$2; shift 2 ;;
	-k) KILLS=$2; shift 2 ;;
	--no-podman) PODMAN=0; shift ;;
	-h|--help) sed -n '2,11p' "$0"; exit 0 ;;
	*) echo "daemon.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
BUILD=${SKIFF_BUILD:-$TOP/build/rel}
SKIFFD=$BUILD/skiffd
SKIFF=$BUILD/skiff
OUT=$TOP/bench/out
CG=/sys/fs/cgroup
CG_PARENT=skiff-bench
APP=bench

log() { echo "daemon.sh: $*" >&2; }
[ "$(id -u)" = 0 ] || { log "needs root"; exit 1; }
for b in "$SKIFFD" "$SKIFF"; do
	[ -x "$b" ] || { log "$b not built (make)"; exit 1; }
done
if [ "$PODMAN" = 1 ] && ! command -v podman >/dev/null; then
	log "podman not installed: skipping the peer"
	PODMAN=0
fi

# ---- the private mount namespace (see HOST CHANGE above) --------------
if [ "${BENCH_NO_NS:-0}" != 1 ] && [ "${SKIFF_BENCH_IN_NS:-0}" != 1 ]; then
	export SKIFF_BENCH_IN_NS=1
	exec unshare --mount --propagation private -- "$0" "${ORIG_ARGS[@]}"
fi
UNIFIED_OFF=0
if [ "${SKIFF_BENCH_IN_NS:-0}" = 1 ] &&
   [ "$(stat -f -c %T $CG 2>/dev/null)" = tmpfs ] &&
   mountpoint -q $CG/unified 2>/dev/null &&
   [ -n "$(cat $CG/unified/cgroup.controllers 2>/dev/null)" ]; then
	umount $CG/unified
	UNIFIED_OFF=1
	log "private mount namespace: unmounted $CG/unified (hybrid cgroups; crun needs v1 only)"
fi

# ---- workspace and cleanup ---------------------------------------------
WORK=$(mktemp -d /tmp/skiff-bench-daemon.XXXXXX)
KEEPER=
export SKIFF_PODMAN_DIR=$WORK/podman
export SKIFF_PODMAN_RUN=/run/skiff-bench-daemon-podman-$$
export SKIFF_PODMAN_CGROUP_PARENT=/skiff-bench-podman-$$
export SKIFF_PODMAN_NO_SETUP=1 SKIFF_REPO=$TOP
# shellcheck source=../scripts/podman-env.sh
. "$TOP/scripts/podman-env.sh"

cleanup() {
	local rc=$? d i left=0
	set +e
	trap - INT TERM HUP
	if [ -n "$KEEPER" ] && kill -0 "$KEEPER" 2>/dev/null; then
		if [ -S "$WORK/run/skiffd.sock" ] &&
		   curl -sf --unix-socket "$WORK/run/skiffd.sock" http://x/v1/apps/$APP >/dev/null 2>&1; then
			(cd "$WORK/proj" && SKIFF_SOCK=$WORK/run/skiffd.sock timeout 30 "$SKIFF" -p $APP down >/dev/null 2>&1) ||
				log "skiff down failed"
		fi
		kill -TERM "$KEEPER"
		for i in $(seq 100); do kill -0 "$KEEPER" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$KEEPER" 2>/dev/null; then
			log "keeper $KEEPER still alive after 10 s: SIGKILL"
			kill -KILL "$KEEPER"
		fi
		wait "$KEEPER" 2>/dev/null
	fi
	# container processes left in our cgroups (only ours: bench app below skiff-bench)
	for d in $CG/pids/$CG_PARENT/$APP/*/ $CG/pids/$CG_PARENT/warm/*/; do
		[ -f "$d/cgroup.procs" ] || continue
		for i in $(cat "$d/cgroup.procs"); do kill -KILL "$i" 2>/dev/null && left=$((left + 1)); done
	done
	[ $left = 0 ] || { log "killed $left leftover container processes"; sleep 0.5; }
	for d in $CG/*/$CG_PARENT/$APP; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	for d in $CG/*/$CG_PARENT; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null # fails if someone else uses it
	done
	if [ "$PODMAN" = 1 ] || [ -d "$SKIFF_PODMAN_RUN" ]; then
		skiff_podman_cleanup >/dev/null 2>&1
		# crun's cgroup2 dirs in the tmpfs below the unmounted unified (see HOST CHANGE)
		if [ "$UNIFIED_OFF" = 1 ] && ! mountpoint -q $CG/unified && [ -d "$CG/unified$SKIFF_PODMAN_CGROUP_PARENT" ]; then
			rm -rf "$CG/unified$SKIFF_PODMAN_CGROUP_PARENT"
		fi
		skiff_podman_cleanup >/dev/null 2>&1 || log "podman cleanup: something is left (see above)"
	fi
	rm -rf "$WORK" "$SKIFF_PODMAN_RUN"
	for d in $CG/*/$CG_PARENT/$APP $CG/*$SKIFF_PODMAN_CGROUP_PARENT; do
		[ -e "$d" ] && { log "LEFT: $d"; [ $rc != 0 ] || rc=1; }
	done
	for d in $CG/*/$CG_PARENT; do
		[ -e "$d" ] && log "note: $d still exists, not ours ($(find "$d" -mindepth 1 -maxdepth 1 -type d | wc -l) subdirs of other users)"
	done
	[ -z "$KEEPER" ] || ! kill -0 "$KEEPER" 2>/dev/null || log "LEFT: keeper $KEEPER"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

mkdir -p "$OUT" "$WORK/proj"

# ---- image and app -----------------------------------------------------
"$TOP/scripts/mk-example-image.sh" bench/busybox:latest "$WORK/image" --cmd sh >/dev/null
"$SKIFF" --store "$WORK/data" image import "$WORK/image" >/dev/null
cat >"$WORK/proj/compose.yaml" <<EOF
services:
  s:
    image: bench/busybox:latest
    command: ["sleep", "3600"]
    restart: always
    stop_signal: SIGKILL
    deploy:
      replicas: $N
EOF

{
	echo "# $(date -u +%FT%TZ) $(uname -r) $(nproc) cpus"
	"$SKIFFD" --version 2>&1 | head -1
	if [ "$PODMAN" = 1 ]; then crun --version | head -1; conmon --version | head -1; fi
} | tee "$OUT/daemon-versions.txt"

# ---- the daemon ----------------------------------------------------------
"$SKIFFD" --run-dir "$WORK/run" --data-dir "$WORK/data" --cgroup-parent $CG_PARENT \
	>"$WORK/skiffd.log" 2>&1 </dev/null &
KEEPER=$!
for i in $(seq 100); do
	[ -S "$WORK/run/skiffd.sock" ] && curl -sf --unix-socket "$WORK/run/skiffd.sock" http://x/v1/info >/dev/null 2>&1 && break
	kill -0 $KEEPER 2>/dev/null || { log "skiffd exited: $(tail -5 "$WORK/skiffd.log")"; exit 1; }
	sleep 0.05
done
log "skiffd up: keeper $KEEPER, daemon $(cat "$WORK/run/skiffd.pid")"

# ---- podman ----------------------------------------------------------------
PARGS=()
if [ "$PODMAN" = 1 ]; then
	if skiff_podman_setup >/dev/null; then
		PARGS=(--podman --podman-image "$SKIFF_PODMAN_IMAGE" --podman-cg-parent "$SKIFF_PODMAN_CGROUP_PARENT")
		podman --version | tee -a "$OUT/daemon-versions.txt"
	else
		log "podman setup failed: skipping the peer"
		PODMAN=0
	fi
fi

# ---- the benchmark ---------------------------------------------------------
rc=0
$PY "$HERE/daemonbench.py" --skiff "$SKIFF" --sock "$WORK/run/skiffd.sock" --proj "$WORK/proj" \
	--app $APP --replicas "$N" --kills "$KILLS" --keeper-pid "$KEEPER" --cg-parent $CG_PARENT \
	"${PARGS[@]}" --json "$OUT/daemon.json" | tee "$OUT/daemon.txt" || rc=1
[ "${PIPESTATUS[0]}" = 0 ] || rc=1

# ---- profile (optional, untimed) -----------------------------------------
if [ "$PROFILE" = 1 ] && command -v strace >/dev/null; then
	DPID=$(cat "$WORK/run/skiffd.pid")
	strace -f -c -o "$OUT/strace-skiffd-up.txt" -p "$DPID" &
	ST=$!
	sleep 0.5
	(cd "$WORK/proj" && SKIFF_SOCK=$WORK/run/skiffd.sock "$SKIFF" -p $APP up --wait --wait-timeout 120 >/dev/null) ||
		log "profile: up failed"
	kill -INT $ST; wait $ST 2>/dev/null
	(cd "$WORK/proj" && SKIFF_SOCK=$WORK/run/skiffd.sock "$SKIFF" -p $APP down >/dev/null) || log "profile: down failed"
	log "profile: $OUT/strace-skiffd-up.txt"
fi
cp "$WORK/skiffd.log" "$OUT/daemon-skiffd.log" 2>/dev/null || true
exit $rc
