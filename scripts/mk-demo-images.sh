#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# mk-demo-images.sh - the demo app's programs and images: compiles
# examples/programs/*.c (static, no libraries beyond libc) and makes three OCI
# image layouts with scripts/mk-example-image.sh.  Offline, no root needed,
# idempotent and deterministic: a second run rewrites the same binaries and
# layouts with the same digests.
#
# Usage: scripts/mk-demo-images.sh [--import] [--store DIR] OUTDIR
#
#   OUTDIR/shop     skiff-demo/shop:1     /usr/local/bin/shopd, EXPOSE 8080
#                   (ROLE=catalog|recommendations|popular picks the service)
#   OUTDIR/gateway  skiff-demo/gateway:1  /usr/local/bin/gateway, EXPOSE 8080
#   OUTDIR/worker   skiff-demo/worker:1   /usr/local/bin/worker
#
#   --import       then imports them into skiff's store with $SKIFF (default
#                  build/rel/skiff): skiff image import OUTDIR/shop --name ...
#   --store DIR    the store to import into (default: skiff's, /var/lib/skiff)
#
# The programs go to $SKIFF_EXAMPLES (default build/examples), where
# tests/system/test_demo_programs.py finds them.  $CC defaults to cc.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
SRC=$TOP/examples/programs
BIN=${SKIFF_EXAMPLES:-$TOP/build/examples}
SKIFF=${SKIFF:-$TOP/build/rel/skiff}
CFLAGS="-static -O2 -s -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wformat=2
-Wmissing-prototypes -Wstrict-prototypes -Wl,--build-id=none"

usage() { sed -n '9,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
import=0 store=
while [ $# -gt 0 ]; do
	case $1 in
	--import) import=1; shift ;;
	--store) [ $# -ge 2 ] || usage; store=$2; shift 2 ;;
	-h|--help) usage ;;
	-*) echo "mk-demo-images: unknown option $1" >&2; usage ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || usage
OUT=$1
mkdir -p "$BIN" "$OUT"

# build NAME: $BIN/NAME from $SRC/NAME.c (a second or so each).
# -ffile-prefix-map and no build id: the binary does not say where it was
# built, so the images' digests depend only on the source and the compiler.
build() {
	echo "  CC      examples/programs/$1.c"
	# shellcheck disable=SC2086
	${CC:-cc} $CFLAGS -ffile-prefix-map="$SRC"=. -o "$BIN/$1.tmp" "$SRC/$1.c"
	mv -f "$BIN/$1.tmp" "$BIN/$1"
}
build shopd
build gateway
build worker
build udpecho # no image: tests/system/test_network.py makes one

label=org.opencontainers.image.source=skiff/examples/programs
echo "  IMAGE   skiff-demo/shop:1 -> $OUT/shop"
"$TOP/scripts/mk-example-image.sh" skiff-demo/shop:1 "$OUT/shop" \
	--bin "$BIN/shopd" --env PORT=8080 --expose 8080 \
	--user app --workdir /home/app --label "$label" --entrypoint /usr/local/bin/shopd >/dev/null
echo "  IMAGE   skiff-demo/gateway:1 -> $OUT/gateway"
"$TOP/scripts/mk-example-image.sh" skiff-demo/gateway:1 "$OUT/gateway" \
	--bin "$BIN/gateway" --env PORT=8080 --expose 8080 \
	--user app --workdir /home/app --label "$label" --entrypoint /usr/local/bin/gateway >/dev/null
echo "  IMAGE   skiff-demo/worker:1 -> $OUT/worker"
"$TOP/scripts/mk-example-image.sh" skiff-demo/worker:1 "$OUT/worker" \
	--bin "$BIN/worker" --env NAME=worker --env INTERVAL_MS=1000 \
	--user app --workdir /home/app --label "$label" --entrypoint /usr/local/bin/worker >/dev/null

[ "$import" = 1 ] || exit 0
set -- "$SKIFF"
[ -n "$store" ] && set -- "$@" --store "$store"
"$@" image import "$OUT/shop" --name skiff-demo/shop:1
"$@" image import "$OUT/gateway" --name skiff-demo/gateway:1
"$@" image import "$OUT/worker" --name skiff-demo/worker:1
