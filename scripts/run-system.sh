#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# run-system.sh - the pytest system tests, as root, under Debian's python3
# (the python3 on PATH may be a build without Debian's modules).
set -eu
export SKIFF_BUILD="${SKIFF_BUILD:-$(pwd)/build/san}"
export LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
set +e
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/system "$@"
rc=$?
set -e
# pytest exit 5 means no test was collected: that is a failure here too.
exit $rc
