#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# build.sh - the example image "skiff-example/hello:latest": busybox-static
# plus examples/images/hello.c compiled -static, as an OCI image layout.
#
# Usage: examples/images/build.sh OUTDIR
#   then: skiff image import OUTDIR
#         skiff image bundle skiff-example/hello:latest BUNDLE
#         skiff-runtime run -b BUNDLE hello1
#   prints: "hi from skiff-example/hello:latest: uid=1000 gid=1000
#            cwd=/home/app args=world"
#
# Offline, deterministic (same compiler, same digests), no root needed.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
OUT=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/skiff-example.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
# -ffile-prefix-map and no build id: the binary does not depend on where it
# was built.
${CC:-cc} -static -O2 -s -Wl,--build-id=none -ffile-prefix-map="$HERE"=. \
	-o "$tmp/hello" "$HERE/hello.c"
"$TOP/scripts/mk-example-image.sh" skiff-example/hello:latest "$OUT" \
	--bin "$tmp/hello" \
	--env GREETING=hi --workdir /home/app --user app --expose 8080 \
	--label org.opencontainers.image.source=skiff/examples/images \
	--entrypoint /usr/local/bin/hello --cmd world
