# SPDX-License-Identifier: Apache-2.0
# containerd-env.sh - a private containerd for skiff's tests. Source it:
#
#   . scripts/containerd-env.sh        # writes the config, exports the env
#   skiff_ctr_start                    # containerd in the background (pidfile)
#   skiff_ctr_import                   # busybox image as $SKIFF_CTR_IMAGE
#   ctr run --rm --runc-binary build/san/skiff-runtime \
#       --runc-root "$SKIFF_CTR_RUNC_ROOT" --fifo-dir "$SKIFF_CTR_FIFO_DIR" \
#       --cgroup "$SKIFF_CTR_CGROUP_PARENT/c1" "$SKIFF_CTR_IMAGE" c1 echo hi
#   skiff_ctr_cleanup                  # tasks, containers, daemon, mounts,
#                                      # cgroups, directories: gone
#
# or run it: `scripts/containerd-env.sh start|import|cleanup|env`.
#
# The daemon is the host's containerd binary with its own everything:
#   config   $SKIFF_CTR_RUN/config.toml
#   root     $SKIFF_CTR_DIR/root      (content store, snapshots, metadata)
#   state    $SKIFF_CTR_RUN/state     (shim sockets, bundles, rootfs mounts)
#   sockets  $SKIFF_CTR_RUN/containerd.sock (+ .ttrpc); no debug/metrics listener
#   plugins  the CRI plugin and the aufs/btrfs/zfs/devmapper snapshotters and
#            /opt installer are disabled (no CNI, no network set up); the
#            snapshotter is overlayfs ($SKIFF_CTR_SNAPSHOTTER)
# CONTAINERD_ADDRESS and CONTAINERD_NAMESPACE (skiff-test) are exported so a
# plain `ctr` talks to it. Pass --runc-root "$SKIFF_CTR_RUNC_ROOT" and
# --fifo-dir "$SKIFF_CTR_FIFO_DIR" to `ctr run` (and --fifo-dir to `ctr task
# exec`): their defaults are under /run/containerd. The shim's socket
# directory /run/containerd/s is fixed in containerd 1.6; cleanup removes it
# (and /run/containerd) if empty and no host containerd socket is there. Containers keep the default network namespace
# setting of `ctr run` (a new, empty netns: loopback only); no CNI, no NAT.
#
# The image is an OCI archive built here from scripts/mk-busybox-rootfs.sh
# (one uncompressed layer, config with PATH and Cmd ["sh"]) and imported
# with `ctr images import`.
#
# Knobs (set before sourcing): SKIFF_CTR_DIR (default
# /var/tmp/skiff-ctr-test), SKIFF_CTR_RUN (default /run/skiff-ctr-test),
# SKIFF_CTR_CGROUP_PARENT (default /skiff-ctr-test; for `ctr run --cgroup`),
# SKIFF_CTR_IMAGE (default localhost/skiff-busybox:test),
# SKIFF_CTR_SNAPSHOTTER (default overlayfs).

SKIFF_CTR_DIR=${SKIFF_CTR_DIR:-/var/tmp/skiff-ctr-test}
SKIFF_CTR_RUN=${SKIFF_CTR_RUN:-/run/skiff-ctr-test}
SKIFF_CTR_CGROUP_PARENT=${SKIFF_CTR_CGROUP_PARENT:-/skiff-ctr-test}
SKIFF_CTR_IMAGE=${SKIFF_CTR_IMAGE:-localhost/skiff-busybox:test}
SKIFF_CTR_SNAPSHOTTER=${SKIFF_CTR_SNAPSHOTTER:-overlayfs}
SKIFF_CTR_CONFIG=$SKIFF_CTR_RUN/config.toml
SKIFF_CTR_SOCK=$SKIFF_CTR_RUN/containerd.sock
SKIFF_CTR_PIDFILE=$SKIFF_CTR_RUN/containerd.pid
SKIFF_CTR_LOG=$SKIFF_CTR_RUN/containerd.log
SKIFF_CTR_RUNC_ROOT=$SKIFF_CTR_RUN/runc
SKIFF_CTR_FIFO_DIR=$SKIFF_CTR_RUN/fifo
CONTAINERD_ADDRESS=$SKIFF_CTR_SOCK
CONTAINERD_NAMESPACE=${CONTAINERD_NAMESPACE:-skiff-test}
CONTAINERD_SNAPSHOTTER=$SKIFF_CTR_SNAPSHOTTER
export SKIFF_CTR_DIR SKIFF_CTR_RUN SKIFF_CTR_CGROUP_PARENT SKIFF_CTR_IMAGE SKIFF_CTR_SNAPSHOTTER
export SKIFF_CTR_CONFIG SKIFF_CTR_SOCK SKIFF_CTR_PIDFILE SKIFF_CTR_LOG SKIFF_CTR_RUNC_ROOT SKIFF_CTR_FIFO_DIR
export CONTAINERD_ADDRESS CONTAINERD_NAMESPACE CONTAINERD_SNAPSHOTTER

skiff_ctr_repo() {
	if [ -n "${SKIFF_REPO:-}" ]; then
		echo "$SKIFF_REPO"
	elif [ -n "${BASH_SOURCE:-}" ]; then
		(cd "$(dirname "$BASH_SOURCE")/.." && pwd)
	else
		pwd
	fi
}

skiff_ctr_setup() {
	mkdir -p "$SKIFF_CTR_DIR/root" "$SKIFF_CTR_RUN/state" "$SKIFF_CTR_RUNC_ROOT" "$SKIFF_CTR_FIFO_DIR" || return 1
	cat >"$SKIFF_CTR_CONFIG" <<-EOF
	# written by skiff scripts/containerd-env.sh
	version = 2
	root = "$SKIFF_CTR_DIR/root"
	state = "$SKIFF_CTR_RUN/state"
	oom_score = 0
	disabled_plugins = [
	  "io.containerd.grpc.v1.cri",
	  "io.containerd.internal.v1.opt",
	  "io.containerd.snapshotter.v1.aufs",
	  "io.containerd.snapshotter.v1.btrfs",
	  "io.containerd.snapshotter.v1.zfs",
	  "io.containerd.snapshotter.v1.devmapper",
	  "io.containerd.tracing.processor.v1.otlp",
	]

	[grpc]
	  address = "$SKIFF_CTR_SOCK"

	[ttrpc]
	  address = "$SKIFF_CTR_SOCK.ttrpc"

	[debug]
	  address = ""
	  level = "info"

	[metrics]
	  address = ""
	EOF
}

# Start containerd in the background unless ours is already running; the
# pid goes to $SKIFF_CTR_PIDFILE. Waits until the socket answers.
skiff_ctr_start() {
	if skiff_ctr_running; then return 0; fi
	skiff_ctr_setup || return 1
	setsid containerd --config "$SKIFF_CTR_CONFIG" </dev/null >>"$SKIFF_CTR_LOG" 2>&1 &
	echo $! >"$SKIFF_CTR_PIDFILE"
	i=0
	while [ $i -lt 100 ]; do
		if [ -S "$SKIFF_CTR_SOCK" ] && ctr version >/dev/null 2>&1; then return 0; fi
		kill -0 "$(cat "$SKIFF_CTR_PIDFILE")" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	echo "containerd-env: containerd did not come up; log: $SKIFF_CTR_LOG" >&2
	tail -20 "$SKIFF_CTR_LOG" >&2
	return 1
}

skiff_ctr_running() {
	[ -f "$SKIFF_CTR_PIDFILE" ] || return 1
	pid=$(cat "$SKIFF_CTR_PIDFILE")
	[ -n "$pid" ] && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = containerd ]
}

# Stop the daemon we started: SIGTERM to the pid in the pidfile, then wait.
skiff_ctr_stop() {
	skiff_ctr_running || { rm -f "$SKIFF_CTR_PIDFILE"; return 0; }
	pid=$(cat "$SKIFF_CTR_PIDFILE")
	kill -TERM "$pid" 2>/dev/null
	i=0
	while [ $i -lt 100 ] && [ -d /proc/"$pid" ]; do sleep 0.1; i=$((i + 1)); done
	[ -d /proc/"$pid" ] && kill -KILL "$pid" 2>/dev/null
	rm -f "$SKIFF_CTR_PIDFILE"
}

# Build an OCI image archive (one uncompressed layer) from a rootfs.
# usage: skiff_ctr_oci_archive ROOTFS REF OUT.tar
skiff_ctr_oci_archive() {
	/usr/bin/python3 - "$@" <<-'EOF'
	import hashlib, json, os, platform, subprocess, sys, tempfile
	rootfs, ref, out = sys.argv[1:4]
	arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
	with tempfile.TemporaryDirectory() as d:
	    blobs = os.path.join(d, "blobs", "sha256")
	    os.makedirs(blobs)
	    def put(data):
	        h = hashlib.sha256(data).hexdigest()
	        with open(os.path.join(blobs, h), "wb") as f:
	            f.write(data)
	        return "sha256:" + h, len(data)
	    layer = subprocess.run(["tar", "-C", rootfs, "--sort=name", "--numeric-owner", "-c", "."],
	                           check=True, capture_output=True).stdout
	    ldig, lsize = put(layer)
	    config = {
	        "architecture": arch, "os": "linux",
	        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
	                   "Cmd": ["sh"], "WorkingDir": "/"},
	        "rootfs": {"type": "layers", "diff_ids": [ldig]},
	        "history": [{"created_by": "skiff scripts/containerd-env.sh (busybox-static)"}],
	    }
	    cdig, csize = put(json.dumps(config, sort_keys=True).encode())
	    manifest = {
	        "schemaVersion": 2,
	        "mediaType": "application/vnd.oci.image.manifest.v1+json",
	        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdig, "size": csize},
	        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ldig, "size": lsize}],
	    }
	    mdig, msize = put(json.dumps(manifest, sort_keys=True).encode())
	    index = {"schemaVersion": 2, "manifests": [{
	        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mdig, "size": msize,
	        "platform": {"architecture": arch, "os": "linux"},
	        "annotations": {"io.containerd.image.name": ref,
	                        "org.opencontainers.image.ref.name": ref.rsplit(":", 1)[-1]}}]}
	    with open(os.path.join(d, "index.json"), "w") as f:
	        json.dump(index, f)
	    with open(os.path.join(d, "oci-layout"), "w") as f:
	        json.dump({"imageLayoutVersion": "1.0.0"}, f)
	    subprocess.run(["tar", "-C", d, "--sort=name", "-cf", out, "oci-layout", "index.json", "blobs"], check=True)
	EOF
}

# Import the busybox image (idempotent).
skiff_ctr_import() {
	if ctr images ls -q 2>/dev/null | grep -qx "$SKIFF_CTR_IMAGE"; then return 0; fi
	"$(skiff_ctr_repo)/scripts/mk-busybox-rootfs.sh" "$SKIFF_CTR_DIR/rootfs" || return 1
	skiff_ctr_oci_archive "$SKIFF_CTR_DIR/rootfs" "$SKIFF_CTR_IMAGE" "$SKIFF_CTR_DIR/busybox-oci.tar" || return 1
	ctr images import --snapshotter "$SKIFF_CTR_SNAPSHOTTER" "$SKIFF_CTR_DIR/busybox-oci.tar" >/dev/null
}

skiff_ctr_umount_under() {
	awk -v p="$1" '$5 == p || index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo |
		sort -r | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
}

skiff_ctr_cleanup() {
	rc=0
	if skiff_ctr_running; then
		for t in $(ctr tasks ls -q 2>/dev/null); do
			ctr tasks kill -s SIGKILL "$t" >/dev/null 2>&1
			ctr tasks delete -f "$t" >/dev/null 2>&1
		done
		for c in $(ctr containers ls -q 2>/dev/null); do
			ctr containers delete "$c" >/dev/null 2>&1
		done
		skiff_ctr_stop
	fi
	rm -f "$SKIFF_CTR_PIDFILE"
	skiff_ctr_umount_under "$SKIFF_CTR_RUN"
	skiff_ctr_umount_under "$SKIFF_CTR_DIR"
	rm -rf "$SKIFF_CTR_DIR" "$SKIFF_CTR_RUN"
	if [ ! -e /run/containerd/containerd.sock ]; then
		rmdir /run/containerd/s /run/containerd/fifo /run/containerd/runc /run/containerd 2>/dev/null
	fi
	for h in /sys/fs/cgroup/*; do
		d=$h$SKIFF_CTR_CGROUP_PARENT
		[ -d "$d" ] || continue
		find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
		if [ -d "$d" ]; then
			echo "containerd-env: cgroup $d still in use" >&2
			rc=1
		fi
	done
	return $rc
}

case "${0##*/}" in
containerd-env.sh)
	set -eu
	case "${1:-env}" in
	start) skiff_ctr_start ;;
	import) skiff_ctr_start && skiff_ctr_import ;;
	stop) skiff_ctr_stop ;;
	cleanup) skiff_ctr_cleanup ;;
	env) skiff_ctr_setup && env | grep -E '^(SKIFF_CTR_|CONTAINERD_)' ;;
	*) echo "usage: $0 start|import|stop|cleanup|env" >&2; exit 2 ;;
	esac
	;;
*)
	[ "${SKIFF_CTR_NO_SETUP:-0}" = 1 ] || skiff_ctr_setup
	;;
esac
