#!/usr/bin/env bash
# test/tap_run.sh -- the TAP scenarios (t/*.pl), as test/run_all.sh's "tap"
# suite runs them: first the ones whose checks depend on timing (failover,
# fencing, partitions, the lag watcher, schedules, objectives sampled by
# the minute, the metrics endpoint), one at a time; then all the others two
# at a time (prove -j2).  Each scenario starts its own clusters and servers
# on free ports and in directories of its own, so two can run side by side;
# most of their time is spent waiting, not computing.  With PROVE_TESTS
# set, just those, one at a time.  Exit status 0 only if both runs passed.
set -uo pipefail

if [ -n "${PROVE_TESTS:-}" ]; then
	exec make -s tapcheck PROVE_FLAGS='--timer'
fi
serial_re='^t/(040|06[6-9]|07[0-3]|075|079|08[0-9])_'
serial=$(ls t/[0-9]*.pl | grep -E "$serial_re" | tr '\n' ' ')
rest=$(ls t/[0-9]*.pl | grep -vE "$serial_re" | tr '\n' ' ')
echo "== tap, one at a time: $serial"
make -s tapcheck PROVE_FLAGS='--timer' PROVE_TESTS="$serial"
rc1=$?
echo "== tap, two at a time"
make -s tapcheck PROVE_FLAGS='--timer -j2' PROVE_TESTS="$rest"
rc2=$?
[ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ]
