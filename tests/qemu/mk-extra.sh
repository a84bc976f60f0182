#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# mk-extra.sh - builds the --extra tree that qemu-cgroup2.sh copies into the
# guest for tests/qemu/runtime-v2.sh: /bundle/rootfs (busybox) and one
# /bundle/<name>/config.json per bundle (tests/qemu/mk-configs.py).
#
# usage: tests/qemu/mk-extra.sh DEST     (DEST is emptied first)
set -eu

[ $# -eq 1 ] && [ -n "$1" ] || { echo "usage: $0 DEST" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$1"
mkdir -p "$1/bundle"
"$here/../../scripts/mk-busybox-rootfs.sh" "$1/bundle/rootfs"
# /usr/bin/python3: Debian's, with its modules (a python3 earlier on PATH may lack them)
/usr/bin/python3 "$here/mk-configs.py" "$1/bundle"
