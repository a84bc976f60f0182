#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# install-deps.sh - install everything skiff needs to build, test, demo and
# benchmark, from Debian 12 packages only.  Idempotent: a machine that already
# has every package skips apt entirely.
set -eu

PKGS="build-essential pkg-config clang libclang-rt-14-dev clang-format
libseccomp-dev libjansson-dev libfyaml-dev libarchive-dev libsqlite3-dev
libmnl-dev libnftnl-dev libcmocka-dev libssl-dev
python3 python3-pytest
busybox-static curl iproute2 procps util-linux strace
crun runc podman containerd skopeo umoci buildah
nginx-light haproxy wrk bind9-dnsutils nftables
qemu-system-x86 linux-image-amd64 cpio xz-utils"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "install-deps: installing:$missing" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
