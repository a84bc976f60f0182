#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# run-fuzz.sh SECONDS BIN... - a short libFuzzer run of each target, seeded
# from tests/fuzz/corpus/<target>/ when present.  Any crash fails the run.
set -eu
# Known leaks inside Debian libraries (see the file); ours still fail the run.
export LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
secs=$1
shift
for f in "$@"; do
	name=$(basename "$f")
	seeds=tests/fuzz/corpus/$name
	work=$(mktemp -d)
	[ -d "$seeds" ] && cp -r "$seeds"/. "$work"/
	echo "fuzz: $name for ${secs}s"
	if ! "$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix=build/fuzz/"$name"- "$work" >build/fuzz/"$name".log 2>&1; then
		tail -n 40 build/fuzz/"$name".log >&2
		rm -rf "$work"
		echo "fuzz: $name FAILED (log: build/fuzz/$name.log)" >&2
		exit 1
	fi
	rm -rf "$work"
done
