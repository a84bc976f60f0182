#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# image.sh - image import, layer unpack and overlay root setup: skiff vs
# podman load vs tar, in one run, on one locally built multi-layer image.
#
# Usage: bench/image.sh [-r RUNS] [-m MOUNTS] [--rebuild]
#   env: SKIFF (default build/rel/skiff), RUNS (imports per tool, default 3),
#        MOUNTS (mount/umount pairs, default 20)
#
# The image (built once, cached in bench/out/image/, gitignored; --rebuild
# makes it again): five gzip layers from files of installed Debian packages,
# a few hundred MB unpacked:
#   1 busybox    scripts/mk-busybox-rootfs.sh (busybox-static)
#   2 locale     /usr/share/locale        many small .mo files
#   3 doc        /usr/share/doc           many small files
#   4 perl       /usr/share/perl
#   5 gconv      /usr/lib/x86_64-linux-gnu/gconv   shared objects
# as an OCI layout (layout/), converted by skopeo to a docker-archive
# (image.tar, layers uncompressed: what `podman save` writes) and a
# single-layer OCI layout of layer 3 (one-layer/, sharing the blob).
#
# What is timed (wall clock, median of RUNS; each run into fresh storage):
#   import   skiff --store <fresh> image import image.tar
#            vs podman load -i image.tar into a fresh private podman storage
#            (scripts/podman-env.sh, overlay driver; set up outside the timing)
#   unpack   skiff --store <fresh> image import one-layer/   (skiff has no
#            unpack-only command: this also verifies digests and stores the
#            blob) vs tar -xzf <the same gzip layer> -C <fresh dir>
#   overlay  skiff image mount IMAGE ID and skiff image umount ID for the
#            imported 5-layer image, median of MOUNTS each (the rootfs setup
#            inside container start)
# The page cache is warmed by one untimed read of every input; nothing is
# dropped from it (a shared host). Commands are timed as the user waits for
# them: an fsync that a tool does is inside its time, a writeback that tar
# leaves to the kernel is not.
#
# Output: one line per figure, then
#   skiff/podman import ratio: R     (below 1: skiff faster; target <= 1)
#   skiff/tar unpack ratio: U        (target <= 1.3)
# A tool that fails is reported with its stderr and its ratio is "n/a"; the
# script then exits 1.
#
# State: a mktemp directory under /var/tmp (stores, podman storage,
# unpack dirs) and /run/skiff-bench-podman-<pid> (podman runroot); at exit
# every mount under them is unmounted, the podman storage reset and both
# removed, and the cgroup parent /skiff-bench-podman-<pid> removed.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
PY=/usr/bin/python3
SKIFF=${SKIFF:-$TOP/build/rel/skiff}
RUNS=${RUNS:-3}
MOUNTS=${MOUNTS:-20}
REBUILD=0
while [ $# -gt 0 ]; do
	case $1 in
	-r) RUNS=$2; shift 2 ;;
	-m) MOUNTS=$2; shift 2 ;;
	--rebuild) REBUILD=1; shift ;;
	-h|--help) sed -n '2,9p' "$0"; exit 0 ;;
	*) echo "image.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "image.sh: needs root (overlay mounts, podman storage)" >&2; exit 1; }
for t in skopeo podman tar gzip sha256sum; do
	command -v $t >/dev/null || { echo "image.sh: $t not installed (make deps)" >&2; exit 1; }
done
[ -x "$SKIFF" ] || { echo "image.sh: $SKIFF not built (make all)" >&2; exit 1; }

log() { echo "image.sh: $*" >&2; }
OUT=$TOP/bench/out/image
IMAGE=bench/skiff-image:latest
FAILED=0

# ---- the image, built once ----------------------------------------------
build_image() {
	log "building the bench image in $OUT (once)"
	rm -rf "$OUT"
	mkdir -p "$OUT/layout/blobs/sha256" "$OUT/work"
	"$TOP/scripts/mk-busybox-rootfs.sh" "$OUT/work/busybox" >/dev/null
	: >"$OUT/work/layers"
	# name  tar -C dir  paths
	local spec
	for spec in "busybox|$OUT/work/busybox|." "locale|/|usr/share/locale" "doc|/|usr/share/doc" \
		"perl|/|usr/share/perl" "gconv|/|usr/lib/x86_64-linux-gnu/gconv"; do
		IFS='|' read -r name dir paths <<<"$spec"
		tar -C "$dir" --sort=name --numeric-owner -cf "$OUT/work/$name.tar" "$paths"
		local diff size dig
		diff=$(sha256sum "$OUT/work/$name.tar" | cut -d' ' -f1)
		gzip -n -6 -f "$OUT/work/$name.tar"
		dig=$(sha256sum "$OUT/work/$name.tar.gz" | cut -d' ' -f1)
		size=$(stat -c %s "$OUT/work/$name.tar.gz")
		mv "$OUT/work/$name.tar.gz" "$OUT/layout/blobs/sha256/$dig"
		echo "$name $diff $dig $size" >>"$OUT/work/layers"
		log "  layer $name: $(numfmt --to=iec "$size") gzip"
	done
	"$PY" - "$OUT" "$IMAGE" <<-'EOF'
	import hashlib, json, os, sys
	out, name = sys.argv[1:]
	layers = [l.split() for l in open(os.path.join(out, "work", "layers"))]
	def put(d, obj):
	    data = json.dumps(obj).encode()
	    h = hashlib.sha256(data).hexdigest()
	    open(os.path.join(d, "blobs", "sha256", h), "wb").write(data)
	    return {"digest": "sha256:" + h, "size": len(data)}
	def layout(d, sel, ref):
	    os.makedirs(os.path.join(d, "blobs", "sha256"), exist_ok=True)
	    for l in sel:
	        p = os.path.join(d, "blobs", "sha256", l[2])
	        if not os.path.exists(p):
	            os.link(os.path.join(out, "layout", "blobs", "sha256", l[2]), p)
	    cfg = {"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
	           "config": {"Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["sh"]},
	           "rootfs": {"type": "layers", "diff_ids": ["sha256:" + l[1] for l in sel]}}
	    c = put(d, cfg); c["mediaType"] = "application/vnd.oci.image.config.v1+json"
	    man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": c,
	           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
	                       "digest": "sha256:" + l[2], "size": int(l[3])} for l in sel]}
	    m = put(d, man); m["mediaType"] = man["mediaType"]
	    m["annotations"] = {"org.opencontainers.image.ref.name": ref}
	    json.dump({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
	               "manifests": [m]}, open(os.path.join(d, "index.json"), "w"))
	    json.dump({"imageLayoutVersion": "1.0.0"}, open(os.path.join(d, "oci-layout"), "w"))
	layout(os.path.join(out, "layout"), layers, name)
	layout(os.path.join(out, "one-layer"), [l for l in layers if l[0] == "doc"], "bench/one-layer:latest")
	open(os.path.join(out, "one-layer.blob"), "w").write(
	    os.path.join(out, "layout", "blobs", "sha256", [l for l in layers if l[0] == "doc"][0][2]))
	EOF
	skopeo copy -q "oci:$OUT/layout:$IMAGE" "docker-archive:$OUT/image.tar:$IMAGE"
	rm -rf "$OUT/work"
	touch "$OUT/.complete"
}
if [ "$REBUILD" = 1 ] || [ ! -f "$OUT/.complete" ]; then
	build_image
fi
ARCHIVE=$OUT/image.tar
ONE=$OUT/one-layer
ONE_BLOB=$(cat "$OUT/one-layer.blob")

# ---- workspace and cleanup ----------------------------------------------
TMP=$(mktemp -d /var/tmp/skiff-bench-image.XXXXXX)
export SKIFF_PODMAN_DIR=$TMP/podman
export SKIFF_PODMAN_RUN=/run/skiff-bench-podman-$$
export SKIFF_PODMAN_CGROUP_PARENT=/skiff-bench-podman-$$
export SKIFF_PODMAN_NO_SETUP=1 SKIFF_REPO=$TOP
# shellcheck source=../scripts/podman-env.sh
. "$TOP/scripts/podman-env.sh"
umount_under() {
	awk -v p="$1" '$5 == p || index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo |
		sort -r | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
}
cleanup() {
	set +e
	umount_under "$TMP"
	skiff_podman_cleanup >/dev/null 2>&1 || log "podman cleanup reported a problem"
	umount_under "$TMP"
	rm -rf "$TMP" "$SKIFF_PODMAN_RUN"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now() { echo "$EPOCHREALTIME"; }
# timed LABEL CMD... : runs CMD, appends seconds to $TMP/t.LABEL; on failure
# prints stderr and returns 1
timed() {
	local label=$1 t0 t1
	shift
	t0=$(now)
	if ! "$@" >"$TMP/out" 2>"$TMP/err"; then
		log "$label failed: $*"
		sed 's/^/    /' "$TMP/err" | tail -20 >&2
		return 1
	fi
	t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' >>"$TMP/t.$label"
}
median() { [ -s "$TMP/t.$1" ] && sort -g "$TMP/t.$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }' || echo ""; }
ratio() { if [ -n "$1" ] && [ -n "$2" ]; then awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; else echo n/a; fi; }
ms() { if [ -n "$1" ]; then awk -v a="$1" 'BEGIN { printf "%.1f ms", a * 1000 }'; else echo FAILED; fi; }
secs() { if [ -n "$1" ]; then awk -v a="$1" 'BEGIN { printf "%.2f s", a }'; else echo FAILED; fi; }

# warm the page cache (untimed)
cat "$ARCHIVE" "$ONE_BLOB" >/dev/null
find "$OUT/layout" "$ONE" -type f -exec cat {} + >/dev/null

usize=$(stat -c %s "$ARCHIVE")
log "image: 5 layers, docker-archive $(numfmt --to=iec "$usize"); one layer (doc): $(numfmt --to=iec "$(stat -c %s "$ONE_BLOB")") gzip"

# ---- import: skiff vs podman load ---------------------------------------
skiff_ok=1 podman_ok=1
for i in $(seq 1 "$RUNS"); do
	store=$TMP/store-import
	rm -rf "$store"
	if [ $skiff_ok = 1 ]; then
		timed skiff_import "$SKIFF" --store "$store" image import "$ARCHIVE" || { skiff_ok=0; FAILED=1; }
	fi
	rm -rf "$store"
	if [ $podman_ok = 1 ]; then
		# fresh storage: setup (it imports its busybox image), then empty it
		skiff_podman_cleanup >/dev/null 2>&1 || true
		skiff_podman_setup >/dev/null && podman rmi -a -f >/dev/null 2>&1 || { log "podman setup failed"; podman_ok=0; FAILED=1; }
		[ $podman_ok = 1 ] && timed podman_load podman load -q -i "$ARCHIVE" || { podman_ok=0; FAILED=1; }
		skiff_podman_cleanup >/dev/null 2>&1 || true
	fi
done

# ---- unpack one layer: skiff vs tar -x ----------------------------------
skiff_u_ok=1
for i in $(seq 1 "$RUNS"); do
	store=$TMP/store-one
	rm -rf "$store"
	if [ $skiff_u_ok = 1 ]; then
		timed skiff_unpack "$SKIFF" --store "$store" image import "$ONE" || { skiff_u_ok=0; FAILED=1; }
	fi
	rm -rf "$store" "$TMP/tarx"
	mkdir "$TMP/tarx"
	timed tar_unpack tar -xzf "$ONE_BLOB" -C "$TMP/tarx" || FAILED=1
	rm -rf "$TMP/tarx"
done

# ---- overlay root setup for the 5-layer image ---------------------------
store=$TMP/store-mount
if timed skiff_import_layout "$SKIFF" --store "$store" image import "$OUT/layout"; then
	for i in $(seq 1 "$MOUNTS"); do
		timed skiff_mount "$SKIFF" --store "$store" image mount "$IMAGE" "bench-$$-$i" || { FAILED=1; break; }
		timed skiff_umount "$SKIFF" --store "$store" image umount "bench-$$-$i" || { FAILED=1; break; }
	done
else
	FAILED=1
fi
left=$(awk -v p="$store" 'index($5, p "/") == 1' /proc/self/mountinfo | wc -l)
[ "$left" = 0 ] || { log "$left mounts left under the store after umount"; FAILED=1; }

# ---- report -------------------------------------------------------------
si=$(median skiff_import) pl=$(median podman_load)
su=$(median skiff_unpack) tu=$(median tar_unpack)
mo=$(median skiff_mount) um=$(median skiff_umount)
echo "image: $(numfmt --to=iec "$usize") docker-archive, 5 layers; median of $RUNS runs (mount: of $MOUNTS)"
printf '%-44s %s\n' "skiff image import (docker-archive):" "$(secs "$si")"
printf '%-44s %s\n' "podman load (docker-archive):" "$(secs "$pl")"
printf '%-44s %s\n' "skiff image import (one-layer OCI layout):" "$(secs "$su")"
printf '%-44s %s\n' "tar -xzf (the same layer):" "$(secs "$tu")"
printf '%-44s %s\n' "skiff image mount (5 layers):" "$(ms "$mo")"
printf '%-44s %s\n' "skiff image umount:" "$(ms "$um")"
echo "skiff/podman import ratio: $(ratio "$si" "$pl")"
echo "skiff/tar unpack ratio: $(ratio "$su" "$tu")"
exit $FAILED
