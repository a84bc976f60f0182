#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# qemu-cgroup2.sh - runs tests inside a QEMU guest whose only cgroup is v2.
#
# The build host mounts cgroup v1 (hybrid), so the cgroup v2 backend and the
# eBPF device filter cannot be tested on it.  This script boots Debian's own
# kernel (the vmlinux extracted from /boot/vmlinuz-*, booted through PVH) in
# software emulation with an initramfs holding busybox-static, the test
# binaries and every shared library they need, mounts cgroup2 at
# /sys/fs/cgroup, runs a guest script, and reports over the serial console.
#
# usage: qemu-cgroup2.sh [--extra DIR] [--script FILE] [--timeout SECS] [BINARY...]
#   BINARY...      executables copied to /tests/ in the guest
#                  (default: build/san/tests/unit/test-cgroup)
#   --extra DIR    files copied into the initramfs root as they are (e.g. a
#                  bundle, more binaries); ELF files in it get their libraries
#   --script FILE  guest script run by /init with busybox sh, from /; it prints
#                  "PASS: name" / "FAIL: name" lines.  Default: run each
#                  /tests/* binary and print PASS/FAIL for it.
#   --timeout SECS whole run, boot included (default 300)
#   --kernel FILE  vmlinuz or vmlinux to boot (default: newest /boot/vmlinuz-*)
#
# Exit status: 0 when the guest finished, printed at least one PASS and no
# FAIL; 1 otherwise (a FAIL, a crash, no summary, or the timeout).
# Needs: qemu-system-x86_64, busybox-static, cpio, gzip, xz; no KVM, no root.
set -euo pipefail

cd "$(dirname "$0")/.."
root_dir=$PWD
work=$root_dir/build/qemu
timeout_s=300
extra=""
script=""
kernel=""
bins=()

while [ $# -gt 0 ]; do
	case "$1" in
	--extra) extra=$2; shift 2 ;;
	--script) script=$2; shift 2 ;;
	--timeout) timeout_s=$2; shift 2 ;;
	--kernel) kernel=$2; shift 2 ;;
	-h | --help) sed -n '3,26p' "$0"; exit 0 ;;
	-*) echo "qemu-cgroup2: unknown option '$1'" >&2; exit 2 ;;
	*) bins+=("$1"); shift ;;
	esac
done
[ ${#bins[@]} -gt 0 ] || bins=(build/san/tests/unit/test-cgroup)

die() { echo "qemu-cgroup2: $*" >&2; exit 1; }

for tool in qemu-system-x86_64 cpio gzip xz; do
	command -v "$tool" >/dev/null || die "'$tool' is not installed"
done
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || die "busybox is not installed (apt-get install busybox-static)"
ldd "$busybox" >/dev/null 2>&1 && die "'$busybox' is dynamic; busybox-static is needed"
for b in "${bins[@]}"; do
	[ -x "$b" ] || die "'$b' is not an executable (build it first)"
done

mkdir -p "$work"

is_elf() { [ "$(head -c 4 "$1" 2>/dev/null | od -An -c | tr -d ' \n')" = '177ELF' ]; }

# extract-vmlinux's approach: find each compressor's magic in the bzImage and
# try to decompress from there until an ELF file comes out.
extract_vmlinux() {
	local img=$1 out=$2 magic cmd off
	for pair in '\xfd7zXZ\x00:xz' '\x1f\x8b\x08:gzip' '\x28\xb5\x2f\xfd:zstd' \
		'\x02\x21\x4c\x18:lz4' 'BZh:bzip2'; do
		magic=${pair%%:*}
		cmd=${pair#*:}
		command -v "$cmd" >/dev/null || continue
		for off in $(LC_ALL=C grep -aboP "$magic" "$img" | cut -d: -f1 | head -5); do
			tail -c +$((off + 1)) "$img" | "$cmd" -dcq >"$out.tmp" 2>/dev/null || true
			if is_elf "$out.tmp"; then
				mv "$out.tmp" "$out"
				return 0
			fi
		done
	done
	rm -f "$out.tmp"
	return 1
}

if [ -z "$kernel" ]; then
	kernel=$(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1 || true)
	[ -n "$kernel" ] || die "no /boot/vmlinuz-* (apt-get install linux-image-amd64)"
fi
[ -r "$kernel" ] || die "cannot read kernel '$kernel'"
boot_image=$kernel
if ! is_elf "$kernel"; then
	# The uncompressed ELF boots through PVH: ~2 s faster than the bzImage
	# decompressing itself under TCG.  Cached by kernel name and size.
	vmlinux=$work/vmlinux-$(basename "$kernel")-$(stat -c %s "$kernel")
	if [ ! -s "$vmlinux" ]; then
		extract_vmlinux "$kernel" "$vmlinux" || {
			echo "qemu-cgroup2: cannot extract vmlinux; booting the bzImage" >&2
			vmlinux=$kernel
		}
	fi
	boot_image=$vmlinux
fi

# ---- initramfs ----
rootfs=$(mktemp -d "$work/rootfs.XXXXXX")
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs"/{bin,sbin,dev,proc,sys,tmp,run,tests,etc}
cp "$busybox" "$rootfs/bin/busybox"

# Copies an ELF file's shared libraries and loader to the same paths.  A
# static binary has none: ldd fails and grep matches nothing, which pipefail
# and set -e must not take for an error.
copy_libs() {
	local f
	{ ldd "$1" 2>/dev/null || true; } | { grep -oE '/[^ ]+' || true; } | while read -r f; do
		[ -e "$f" ] || continue
		[ -e "$rootfs$f" ] || cp --parents -L "$f" "$rootfs/"
	done
}

for b in "${bins[@]}"; do
	cp -L "$b" "$rootfs/tests/"
	copy_libs "$b"
done
if [ -n "$extra" ]; then
	[ -d "$extra" ] || die "--extra '$extra' is not a directory"
	cp -a "$extra/." "$rootfs/"
	while IFS= read -r -d '' f; do
		if is_elf "$f"; then copy_libs "$f"; fi
	done < <(find "$extra" -type f -perm -u+x -print0)
fi
if [ -n "$script" ]; then
	[ -r "$script" ] || die "--script '$script' is not readable"
	cp "$script" "$rootfs/guest-test.sh"
else
	cat >"$rootfs/guest-test.sh" <<'EOF'
# default guest script: every /tests/* binary, PASS or FAIL by exit status
for t in /tests/*; do
	n=${t##*/}
	if "$t"; then echo "PASS: $n"; else echo "FAIL: $n (exit $?)"; fi
done
EOF
fi

cat >"$rootfs/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin HOME=/ TMPDIR=/tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
echo "SKIFF-QEMU: init at $(cut -d' ' -f1 /proc/uptime) s, kernel $(uname -r)"
if ! mount -t cgroup2 cgroup2 /sys/fs/cgroup; then
	echo "FAIL: mount cgroup2"
else
	for c in cpu cpuset io memory pids hugetlb; do
		echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null ||
			echo "SKIFF-QEMU: cannot enable $c"
	done
	echo "SKIFF-QEMU: cgroup2 controllers: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
fi
cd /
# streamed, so a hanging test still shows how far it got before the timeout
{ sh /guest-test.sh; echo $? >/tmp/guest.rc; } 2>&1 | tee /tmp/guest.out
rc=$(cat /tmp/guest.rc)
pass=$(grep -c '^PASS' /tmp/guest.out)
fail=$(grep -c '^FAIL' /tmp/guest.out)
echo "SKIFF-QEMU: DONE pass=$pass fail=$fail rc=$rc uptime=$(cut -d' ' -f1 /proc/uptime)"
poweroff -f
EOF
chmod +x "$rootfs/init"
initrd=$work/initrd.gz
(cd "$rootfs" && find . | cpio -o -H newc --quiet | gzip -1) >"$initrd"

# ---- boot ----
log=$work/serial.log
echo "qemu-cgroup2: booting $(basename "$boot_image") with $(du -h "$initrd" | cut -f1) initramfs (timeout ${timeout_s}s)"
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }
start=$EPOCHREALTIME
init_at=""
set +e
timeout --foreground -k 5 "$timeout_s" qemu-system-x86_64 -nographic -m 512 -smp 1 \
	-no-reboot -kernel "$boot_image" -initrd "$initrd" \
	-append "console=ttyS0 panic=-1 oops=panic quiet loglevel=3" </dev/null 2>&1 |
	while IFS= read -r line; do
	line=${line//$'\r'/}
	printf '%s\n' "$line"
	case "$line" in
	*"SKIFF-QEMU: init at"*)
		printf 'qemu-cgroup2: init started %.2f s after qemu\n' \
			"$(elapsed "$start")"
		;;
	esac
done | tee "$log"
set -e
total=$(elapsed "$start")

summary=$(grep -a '^SKIFF-QEMU: DONE' "$log" | tail -1 || true)
fails=$(grep -ac '^FAIL' "$log" || true)
passes=$(grep -ac '^PASS' "$log" || true)
printf 'qemu-cgroup2: %d PASS, %d FAIL, %.1f s in all\n' "$passes" "$fails" "$total"
if [ -z "$summary" ]; then
	echo "qemu-cgroup2: FAILED: no summary from the guest (crash or timeout after ${timeout_s}s)" >&2
	exit 1
fi
if [ "$fails" -ne 0 ] || [ "$passes" -eq 0 ]; then
	echo "qemu-cgroup2: FAILED" >&2
	exit 1
fi
echo "qemu-cgroup2: ok"
