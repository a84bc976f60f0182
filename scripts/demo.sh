#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# demo.sh - what `make demo` runs: builds the demo images offline, starts
# skiffd (unless one runs), brings up examples/demo/compose.yaml (web x3 with
# health checks and limits, a worker that waits for web to be healthy, an
# api on the host network), shows `skiff ps` and leaves it running.
#
# Environment: SKIFF_RUN_DIR (default /run/skiff), SKIFF_DATA_DIR (default
# /var/lib/skiff) to keep the demo away from a real installation.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/build/rel
run=${SKIFF_RUN_DIR:-/run/skiff}
data=${SKIFF_DATA_DIR:-/var/lib/skiff}
skiff="$bin/skiff --sock $run/skiffd.sock --store $data"
log=$data/skiffd-demo.log

mkdir -p "$data"
echo "== building the demo images (offline, from busybox-static + examples/programs)"
SKIFF="$bin/skiff" SKIFF_EXAMPLES="$top/build/examples" \
	"$top/scripts/mk-demo-images.sh" --import --store "$data" "$top/build/demo-images" >/dev/null

# running: ps answers (maybe "no such app"); not running: "cannot reach skiffd"
if $skiff ps -p demo 2>&1 | grep -q "cannot reach skiffd"; then
	echo "== starting skiffd (log: $log)"
	"$bin/skiffd" --run-dir "$run" --data-dir "$data" --metrics-addr 127.0.0.1:9323 \
		>>"$log" 2>&1 </dev/null &
	i=0
	while $skiff ps -p demo 2>&1 | grep -q "cannot reach skiffd"; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "skiffd did not start; see $log" >&2; exit 1; }
		sleep 0.1
	done
fi

echo "== skiff up -d --wait -f examples/demo/compose.yaml"
$skiff up -d --wait --wait-timeout 60 -f "$top/examples/demo/compose.yaml"
echo
$skiff ps -p demo
echo
echo "== the api service answers on the host network:"
curl -s http://127.0.0.1:18080/ && echo
cat <<EOF

The demo is running.  Try:
  $skiff ps -p demo
  $skiff logs -p demo -f                      # Ctrl-C to stop following
  curl -s http://127.0.0.1:18080/items         # the api service
  curl -s http://127.0.0.1:18080/crash         # it exits; skiffd restarts it
  $skiff events -p demo
  $skiff exec -p demo web.1 touch /tmp/unhealthy   # unhealthy -> restarted
  $skiff scale -p demo web=5
  curl -s http://127.0.0.1:9323/metrics | grep ^container_
Stop it:
  $skiff down -p demo
  kill \$(cat $run/keeper.pid)                 # stops skiffd and its keeper
EOF
