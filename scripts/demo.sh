#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# demo.sh - what `make demo` runs.  Until skiffd and `skiff up` exist (issue 4),
# it shows skiff-runtime on a busybox bundle: a container with its own
# namespaces, a read-only root, limits in its cgroup, then exec and cleanup.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
rt="$top/build/rel/skiff-runtime"
work=$(mktemp -d /tmp/skiff-demo.XXXXXX)
root="$work/state"
id="skiff-demo-$$"

cleanup() {
	"$rt" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

"$top/scripts/mk-busybox-rootfs.sh" "$work/rootfs" >/dev/null
( cd "$work" && "$rt" spec )
/usr/bin/python3 - "$work/config.json" "$id" <<'PY'
import json, sys
path, cid = sys.argv[1], sys.argv[2]
c = json.load(open(path))
c["process"]["terminal"] = False
c["process"]["args"] = ["sleep", "300"]
c["hostname"] = "skiff-demo"
c["linux"]["cgroupsPath"] = "/skiff-demo/" + cid
c["linux"]["resources"] = {"memory": {"limit": 64 << 20}, "pids": {"limit": 32},
                           "cpu": {"quota": 50000, "period": 100000}}
json.dump(c, open(path, "w"), indent=2)
PY

echo "== skiff-runtime $("$rt" --version | head -n 1 | cut -d' ' -f3): create + start a busybox container"
"$rt" --root "$root" create --bundle "$work" "$id"
"$rt" --root "$root" start "$id"
"$rt" --root "$root" list
pid=$("$rt" --root "$root" state "$id" | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
echo
echo "== inside: hostname, pid 1, read-only root, capabilities"
"$rt" --root "$root" exec "$id" sh -c 'echo "hostname: $(hostname)"; echo "pid 1: $(cat /proc/1/comm)"; touch /x 2>&1 | sed "s/^/root: /"; grep -E "^(CapEff|NoNewPrivs)" /proc/self/status'
echo
echo "== from the host: its cgroup limits"
for f in memory/skiff-demo/$id/memory.limit_in_bytes pids/skiff-demo/$id/pids.max cpu/skiff-demo/$id/cpu.cfs_quota_us \
	 skiff-demo/$id/memory.max skiff-demo/$id/pids.max skiff-demo/$id/cpu.max; do
	[ -f "/sys/fs/cgroup/$f" ] && echo "  $f = $(cat "/sys/fs/cgroup/$f")"
done
echo "  host pid of the container: $pid"
echo
echo "== delete: nothing left behind"
"$rt" --root "$root" delete --force "$id"
left=$(find /sys/fs/cgroup -maxdepth 3 -name "$id" | wc -l)
echo "  cgroup directories left: $left"
echo
echo "The platform demo (skiffd + skiff up of a Compose app) comes with the daemon (issue 4)."
