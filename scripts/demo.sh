#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# demo.sh - what `make demo` runs: builds the demo images offline, starts
# skiffd (unless one runs), brings up the shop (examples/shop/compose.yaml: a
# gateway on :18080 in front of catalog x3, recommendations x2 and its
# fallback popular, all behind skiff's service proxy), shows `skiff ps`, and
# prints what to try: balancing, an injected fault, the fallback answering.
# Leaves it running.
#
# Environment: SKIFF_RUN_DIR (default /run/skiff), SKIFF_DATA_DIR (default
# /var/lib/skiff) to keep the demo away from a real installation.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/build/rel
run=${SKIFF_RUN_DIR:-/run/skiff}
data=${SKIFF_DATA_DIR:-/var/lib/skiff}
skiff="$bin/skiff --sock $run/skiffd.sock --store $data"
compose=$top/examples/shop/compose.yaml
log=$data/skiffd-demo.log
url=http://localhost:18080

mkdir -p "$data"
echo "== building the demo images (offline, from busybox-static + examples/programs)"
SKIFF="$bin/skiff" SKIFF_EXAMPLES="$top/build/examples" \
	"$top/scripts/mk-demo-images.sh" --import --store "$data" "$top/build/demo-images" >/dev/null

# running: ps answers (maybe "no such app"); not running: "cannot reach skiffd"
if $skiff ps -p shop 2>&1 | grep -q "cannot reach skiffd"; then
	echo "== starting skiffd (log: $log)"
	"$bin/skiffd" --run-dir "$run" --data-dir "$data" --metrics-addr 127.0.0.1:9323 \
		>>"$log" 2>&1 </dev/null &
	i=0
	while $skiff ps -p shop 2>&1 | grep -q "cannot reach skiffd"; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "skiffd did not start; see $log" >&2; exit 1; }
		sleep 0.1
	done
fi

echo "== skiff -f examples/shop/compose.yaml up -d --wait"
$skiff -f "$compose" up -d --wait --wait-timeout 60
echo
$skiff ps -p shop
echo
echo "== the gateway answers on $url/ (which catalog replica answered:)"
for i in 1 2 3; do
	curl -s --max-time 5 "$url/catalog" | grep -o '"replica":"[^"]*"' || echo "(no answer yet)"
done
cat <<EOF

The shop is running at $url/ - open it in a browser, or try:

Balancing: skiff's proxy spreads requests over the 3 catalog replicas; the
replica is in the body, and the gateway passes on the proxy's choice as
X-Served-By:
  for i in 1 2 3 4 5 6; do curl -s $url/catalog | grep -o '"replica":"[^"]*"'; done
  for i in 1 2 3 4 5 6; do curl -si $url/catalog | grep -i '^x-served-by'; done

A fault injected into catalog: the proxy itself answers about half the requests
with 503, and the gateway passes them on ("skiff fault" alone lists faults):
  $skiff -p shop fault catalog --abort 503 --abort-percent 50
  for i in 1 2 3 4 5 6; do curl -s -o /dev/null -w '%{http_code}\\n' $url/catalog; done
  $skiff -p shop fault catalog --delay 300ms --delay-percent 100   # slower, not failing
  $skiff -p shop fault catalog --clear

A failing replica: catalog.1 answers 503 while /tmp/fail exists; the proxy
retries on another replica (no errors reach you), then ejects catalog.1 for 10 s:
  $skiff -p shop exec catalog.1 touch /tmp/fail
  for i in 1 2 3 4 5 6; do curl -si $url/catalog | grep -i -e '^HTTP' -e '^x-served-by'; done
  $skiff -p shop exec catalog.1 rm /tmp/fail

The fallback: with no recommendations replica, the proxy asks popular:
  curl -s $url/recommendations   # "source":"recommendations"
  $skiff -p shop scale recommendations=0
  curl -s $url/recommendations   # "source":"popular"
  $skiff -p shop scale recommendations=2

Watch it:
  $skiff ps -p shop
  $skiff logs -p shop -f                      # one line per request; Ctrl-C to stop
  $skiff events -p shop
  curl -s http://127.0.0.1:9323/metrics | grep ^skiff_service_
Stop it:
  $skiff down -p shop
  kill \$(cat $run/keeper.pid)                 # stops skiffd and its keeper
EOF
