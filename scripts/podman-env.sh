# SPDX-License-Identifier: Apache-2.0
# podman-env.sh - an isolated podman for skiff's tests. Source it:
#
#   . scripts/podman-env.sh            # set up (idempotent) and export the env
#   podman --runtime build/san/skiff-runtime run --rm \
#       --cgroup-parent "$SKIFF_PODMAN_CGROUP_PARENT" "$SKIFF_PODMAN_IMAGE" echo hi
#   skiff_podman_cleanup               # containers, storage, mounts, cgroups: gone
#
# or run it: `scripts/podman-env.sh setup|cleanup|env`.
#
# Nothing of the host's podman is used or touched:
#   CONTAINERS_CONF          $SKIFF_PODMAN_RUN/containers.conf: default_ulimits
#                            nofile=20000:20000 and nproc=32768:32768 (podman's
#                            defaults exceed this host's hard limits), netns
#                            "none" (no network set up, no CNI/netavark),
#                            cgroup_manager "cgroupfs", events_logger "file",
#                            private tmp_dir, volume_path, network_config_dir
#   CONTAINERS_STORAGE_CONF  $SKIFF_PODMAN_RUN/storage.conf: overlay driver,
#                            graphroot $SKIFF_PODMAN_DIR/root, runroot
#                            $SKIFF_PODMAN_RUN/runroot
#   CONTAINERS_REGISTRIES_CONF  an empty registries.conf (no pulls: offline)
# and the image $SKIFF_PODMAN_IMAGE (localhost/skiff-busybox:test) is imported
# from a busybox rootfs (scripts/mk-busybox-rootfs.sh).
#
# Knobs (set before sourcing):
#   SKIFF_PODMAN_DIR            persistent storage, default /var/tmp/skiff-podman-test
#   SKIFF_PODMAN_RUN            runtime state (tmpfs), default /run/skiff-podman-test
#   SKIFF_PODMAN_CGROUP_PARENT  for --cgroup-parent, default /skiff-podman-test;
#                               cleanup removes it (and conmon's cgroup under it)
#                               in every hierarchy
#   SKIFF_PODMAN_IMAGE          default localhost/skiff-busybox:test

SKIFF_PODMAN_DIR=${SKIFF_PODMAN_DIR:-/var/tmp/skiff-podman-test}
SKIFF_PODMAN_RUN=${SKIFF_PODMAN_RUN:-/run/skiff-podman-test}
SKIFF_PODMAN_CGROUP_PARENT=${SKIFF_PODMAN_CGROUP_PARENT:-/skiff-podman-test}
SKIFF_PODMAN_IMAGE=${SKIFF_PODMAN_IMAGE:-localhost/skiff-busybox:test}
CONTAINERS_CONF=$SKIFF_PODMAN_RUN/containers.conf
CONTAINERS_STORAGE_CONF=$SKIFF_PODMAN_RUN/storage.conf
CONTAINERS_REGISTRIES_CONF=$SKIFF_PODMAN_RUN/registries.conf
export SKIFF_PODMAN_DIR SKIFF_PODMAN_RUN SKIFF_PODMAN_CGROUP_PARENT SKIFF_PODMAN_IMAGE
export CONTAINERS_CONF CONTAINERS_STORAGE_CONF CONTAINERS_REGISTRIES_CONF

skiff_podman_repo() {
	if [ -n "${SKIFF_REPO:-}" ]; then
		echo "$SKIFF_REPO"
	elif [ -n "${BASH_SOURCE:-}" ]; then
		(cd "$(dirname "$BASH_SOURCE")/.." && pwd)
	else
		pwd
	fi
}

skiff_podman_setup() {
	mkdir -p "$SKIFF_PODMAN_DIR/root" "$SKIFF_PODMAN_DIR/volumes" \
		"$SKIFF_PODMAN_RUN/runroot" "$SKIFF_PODMAN_RUN/tmp" "$SKIFF_PODMAN_RUN/networks" || return 1
	cat >"$CONTAINERS_CONF" <<-EOF
	# written by skiff scripts/podman-env.sh
	[containers]
	default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
	netns = "none"
	log_driver = "k8s-file"

	[engine]
	cgroup_manager = "cgroupfs"
	events_logger = "file"
	events_logfile_path = "$SKIFF_PODMAN_RUN/events.log"
	tmp_dir = "$SKIFF_PODMAN_RUN/tmp"
	volume_path = "$SKIFF_PODMAN_DIR/volumes"

	[network]
	network_config_dir = "$SKIFF_PODMAN_RUN/networks"
	EOF
	cat >"$CONTAINERS_STORAGE_CONF" <<-EOF
	# written by skiff scripts/podman-env.sh
	[storage]
	driver = "overlay"
	graphroot = "$SKIFF_PODMAN_DIR/root"
	runroot = "$SKIFF_PODMAN_RUN/runroot"
	EOF
	printf '# written by skiff scripts/podman-env.sh: no registries (offline)\nunqualified-search-registries = []\n' \
		>"$CONTAINERS_REGISTRIES_CONF"
	if ! podman image exists "$SKIFF_PODMAN_IMAGE" 2>/dev/null; then
		"$(skiff_podman_repo)/scripts/mk-busybox-rootfs.sh" "$SKIFF_PODMAN_DIR/rootfs" || return 1
		tar -C "$SKIFF_PODMAN_DIR/rootfs" -c . | podman import -q - "$SKIFF_PODMAN_IMAGE" >/dev/null || return 1
	fi
}

# Remove every mount at or under $1 (deepest first).
skiff_podman_umount_under() {
	awk -v p="$1" '$5 == p || index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo |
		sort -r | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
}

skiff_podman_cleanup() {
	if [ -f "$CONTAINERS_STORAGE_CONF" ]; then
		podman rm -a -f -t 0 >/dev/null 2>&1
		podman system reset --force >/dev/null 2>&1
	fi
	skiff_podman_umount_under "$SKIFF_PODMAN_RUN"
	skiff_podman_umount_under "$SKIFF_PODMAN_DIR"
	rm -rf "$SKIFF_PODMAN_DIR" "$SKIFF_PODMAN_RUN"
	# Our cgroup parent in every hierarchy: conmon's cgroup and any leftover
	# container cgroups below it, deepest first (rmdir fails on a busy one).
	for h in /sys/fs/cgroup/*; do
		d=$h$SKIFF_PODMAN_CGROUP_PARENT
		[ -d "$d" ] || continue
		find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	for h in /sys/fs/cgroup/*; do
		if [ -d "$h$SKIFF_PODMAN_CGROUP_PARENT" ]; then
			echo "podman-env: cgroup $h$SKIFF_PODMAN_CGROUP_PARENT still in use" >&2
			return 1
		fi
	done
	return 0
}

case "${0##*/}" in
podman-env.sh)
	# executed, not sourced
	set -eu
	case "${1:-setup}" in
	setup) skiff_podman_setup ;;
	cleanup) skiff_podman_cleanup ;;
	env) skiff_podman_setup && env | grep -E '^(SKIFF_PODMAN_|CONTAINERS_)' ;;
	*) echo "usage: $0 setup|cleanup|env" >&2; exit 2 ;;
	esac
	;;
*)
	[ "${SKIFF_PODMAN_NO_SETUP:-0}" = 1 ] || skiff_podman_setup
	;;
esac
