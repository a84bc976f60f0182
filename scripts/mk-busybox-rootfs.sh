#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# mk-busybox-rootfs.sh - build a minimal container root filesystem in DEST
# from Debian's busybox-static (/bin/busybox).
#
# Usage: scripts/mk-busybox-rootfs.sh DEST
#
# DEST gets bin/busybox with one relative symlink per applet (bin/sh,
# bin/cat, ...), sbin, usr/bin and usr/sbin as links to bin, /etc/passwd and
# /etc/group with root (0), nobody (65534) and app (1000), and empty proc,
# sys, dev, tmp, root, home/app and run directories. It is not an image:
# no package database, no libc (busybox-static needs none).
#
# Idempotent: running it again on the same DEST leaves the same tree.
# Fast: one process creates all the symlinks (perl, Essential on Debian).
set -eu

BUSYBOX="${BUSYBOX:-/bin/busybox}"

if [ $# -ne 1 ] || [ -z "$1" ]; then
	echo "usage: $0 DEST" >&2
	exit 2
fi
DEST=$1

if ! "$BUSYBOX" --list >/dev/null 2>&1; then
	echo "mk-busybox-rootfs: '$BUSYBOX' is not a busybox binary (apt-get install busybox-static)" >&2
	exit 1
fi

mkdir -p "$DEST/bin" "$DEST/etc" "$DEST/proc" "$DEST/sys" "$DEST/dev" \
	"$DEST/tmp" "$DEST/root" "$DEST/home/app" "$DEST/run" "$DEST/usr"
chmod 1777 "$DEST/tmp"
chown 1000:1000 "$DEST/home/app"

# Replace, not overwrite in place: a running container may be executing it.
if ! cmp -s "$BUSYBOX" "$DEST/bin/busybox"; then
	cp "$BUSYBOX" "$DEST/bin/.busybox.new"
	chmod 0755 "$DEST/bin/.busybox.new"
	mv -f "$DEST/bin/.busybox.new" "$DEST/bin/busybox"
fi

for d in sbin usr/bin usr/sbin; do
	case $d in usr/*) target=../bin ;; *) target=bin ;; esac
	if [ ! -L "$DEST/$d" ]; then
		rm -rf "$DEST/${d:?}"
		ln -s "$target" "$DEST/$d"
	fi
done

"$BUSYBOX" --list | perl -e '
	my $dir = shift;
	while (my $a = <STDIN>) {
		chomp $a;
		next if $a eq "" || $a eq "busybox";
		my $p = "$dir/$a";
		next if -l $p && readlink($p) eq "busybox";
		unlink $p;
		symlink("busybox", $p) or die "symlink $p: $!\n";
	}' "$DEST/bin"

cat >"$DEST/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
app:x:1000:1000:app:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$DEST/etc/group" <<'EOF'
root:x:0:
app:x:1000:
nogroup:x:65534:
EOF
printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' >"$DEST/etc/hosts.tmp"
mv -f "$DEST/etc/hosts.tmp" "$DEST/etc/hosts"
chmod 0644 "$DEST/etc/passwd" "$DEST/etc/group" "$DEST/etc/hosts"
