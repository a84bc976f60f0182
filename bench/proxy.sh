#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# proxy.sh - skiff-proxy against HAProxy, in one run: two nginx backends on
# loopback, then wrk (-t2 -c64 -d10s --latency) straight to one backend,
# through HAProxy (nbthread 1, then 2; roundrobin, http-reuse always) and
# through skiff-proxy (2 threads, round robin).  Prints req/s, p50 and p99
# for each and the ratios skiff/haproxy.
#
# Everything runs in a private network namespace that this script makes
# (unshare --net, re-exec), so nothing binds on the host's network.  Only
# the processes it started are stopped, by PID; its temp dir is removed.
#
#   SKIFF_BUILD=build/rel (default)  SHORT=1: 3 s runs for quick iterations
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=${SKIFF_BUILD:-$here/build/rel}

if [ -z "${SK_BENCH_IN_NETNS:-}" ]; then
	exec unshare --net env SK_BENCH_IN_NETNS=1 "$0" "$@"
fi
ip link set lo up

dur=10s
[ -n "${SHORT:-}" ] && dur=3s
for t in nginx haproxy wrk; do
	command -v $t >/dev/null || { echo "proxy.sh: $t not installed" >&2; exit 1; }
done
[ -x "$build/skiff-proxy" ] || { echo "proxy.sh: $build/skiff-proxy missing (make all)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/skiff-bench-proxy.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT

backend() { # port
	local d=$tmp/nginx-$1
	mkdir -p "$d/logs"
	cat >"$d/nginx.conf" <<EOF
worker_processes 1;
pid $d/nginx.pid;
error_log $d/logs/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	keepalive_requests 1000000;
	keepalive_timeout 60s;
	server {
		listen 127.0.0.1:$1 reuseport;
		location / { return 200 "ok\n"; }
	}
}
EOF
	nginx -p "$d" -c "$d/nginx.conf" -g 'daemon off;' &
	pids+=($!)
}

wait_port() { # port
	for _ in $(seq 100); do
		(exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0
		sleep 0.05
	done
	echo "proxy.sh: nothing listens on port $1" >&2
	exit 1
}

haproxy_start() { # threads port
	cat >"$tmp/haproxy-$1.cfg" <<EOF
global
	nbthread $1
	maxconn 4096
defaults
	mode http
	timeout connect 5s
	timeout client 60s
	timeout server 60s
	option http-keep-alive
	http-reuse always
frontend fe
	bind 127.0.0.1:$2
	default_backend be
backend be
	balance roundrobin
	server a 127.0.0.1:8081
	server b 127.0.0.1:8082
EOF
	haproxy -f "$tmp/haproxy-$1.cfg" -db &
	hpid=$!
	pids+=($hpid)
	wait_port "$2"
}

skiff_start() { # port
	cat >"$tmp/skiff.json" <<EOF
{
  "listeners": [ { "address": "127.0.0.1:$1", "cluster": "bench" } ],
  "clusters": [ { "name": "bench", "app": "bench", "service": "web",
    "endpoints": [ { "id": "a", "address": "127.0.0.1:8081" },
                   { "id": "b", "address": "127.0.0.1:8082" } ],
    "policy": { "lb": "round_robin" } } ]
}
EOF
	"$build/skiff-proxy" --config "$tmp/skiff.json" --threads "${SKIFF_THREADS:-2}" 2>"$tmp/skiff.log" &
	spid=$!
	pids+=($spid)
	wait_port "$1"
}

stop() { # pid
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# to_ms VALUE (wrk prints 1.23ms, 512.00us, 1.02s)
to_ms() {
	awk -v v="$1" 'BEGIN {
		if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
		else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
		else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
		else printf "%s", v }'
}

declare -A RPS P50 P99
run() { # name port
	local out
	wrk -t2 -c64 -d2s "http://127.0.0.1:$2/" >/dev/null 2>&1 || true # warm up pools
	out=$(wrk -t2 -c64 -d"$dur" --latency "http://127.0.0.1:$2/")
	RPS[$1]=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
	P50[$1]=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
	P99[$1]=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
	if grep -q "Non-2xx\|Socket errors" <<<"$out"; then
		grep "Non-2xx\|Socket errors" <<<"$out" | sed "s/^/$1: /"
	fi
	printf '%-18s %10s req/s   p50 %8s ms   p99 %8s ms\n' "$1" "${RPS[$1]}" "${P50[$1]}" "${P99[$1]}"
}

backend 8081
backend 8082
wait_port 8081
wait_port 8082

echo "proxy bench: wrk -t2 -c64 -d$dur --latency, nginx backends x2, $(nproc) cores"
run direct 8081
haproxy_start 1 8090
run haproxy-1thread 8090
stop "$hpid"
haproxy_start 2 8091
run haproxy-2threads 8091
stop "$hpid"
skiff_start 8092
run skiff-proxy 8092
curl -s -o /dev/null -D - http://127.0.0.1:8092/ | grep -i x-skiff-upstream >/dev/null ||
	echo "proxy.sh: warning: no x-skiff-upstream header" >&2
stop "$spid"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo "skiff/haproxy-2threads rps ratio: $(ratio "${RPS[skiff-proxy]}" "${RPS[haproxy-2threads]}") p99 ratio: $(ratio "${P99[skiff-proxy]}" "${P99[haproxy-2threads]}")"
echo "skiff/haproxy rps ratio: $(ratio "${RPS[skiff-proxy]}" "${RPS[haproxy-1thread]}") p99 ratio: $(ratio "${P99[skiff-proxy]}" "${P99[haproxy-1thread]}")"
