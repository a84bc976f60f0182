#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# run-unit.sh - runs each cmocka unit-test binary; fails if any fails.
set -u
export LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
fail=0
total=0
for t in "$@"; do
	total=$((total + 1))
	if ! "$t"; then
		echo "unit: FAILED: $t" >&2
		fail=$((fail + 1))
	fi
done
echo "unit: $((total - fail)) passed, $fail failed (binaries)"
[ "$fail" -eq 0 ]
