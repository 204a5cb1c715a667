#!/usr/bin/env bash
# test/run_all.sh -- every pg_dr test suite, as CI runs it (.ci/run).
#
# On a fresh Debian 12 machine, as root: installs the packages it needs,
# builds with -Wall -Wextra -Werror, installs the extension and the CLI, then
# runs four suites as the unprivileged user "postgres" (PostgreSQL refuses to
# run as root) in a copy of the tree under /tmp:
#   unit     C unit tests of src/common, src/storage, src/repo (prove)
#   regress  pg_regress on a temporary cluster with pg_dr preloaded
#   pgtap    pgTAP (pg_prove): roles, privileges, audit chain
#   tap      TAP scenarios t/*.pl (PostgreSQL::Test::Cluster): the
#            timing-sensitive ones one at a time, the others two at a time
#            (test/tap_run.sh)
# Idempotent.  Exit status 0 only if every suite passed.
#
# Run by a non-root user, it assumes packages and pg_dr are installed and
# runs the suites as that user.
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
SUITES=${SUITES:-"unit regress pgtap tap"}

if [ "$(id -u)" -eq 0 ]; then
	bash scripts/deps.sh || exit 1
	echo "== build"
	make -s -j2 all || { echo "build failed"; exit 1; }
	make -s install >/dev/null || { echo "install failed"; exit 1; }
	RUNAS=(runuser -u postgres --)
	WORK=$(mktemp -d /tmp/pg_dr-test.XXXXXX)
	trap 'rm -rf "$WORK"' EXIT
	cp -a "$TOP/." "$WORK/"
	rm -rf "$WORK/build" "$WORK/test/tmp_check" "$WORK/tmp_check" "$WORK/test/results"
	chown -R postgres: "$WORK"
else
	RUNAS=()
	WORK=$TOP
fi

passed=0
failed=0
failed_names=()

run_suite() {
	local name=$1
	shift
	echo
	echo "== suite: $name"
	if (cd "$WORK" && "${RUNAS[@]}" "$@"); then
		passed=$((passed + 1))
		echo "== suite $name: PASS"
	else
		failed=$((failed + 1))
		failed_names+=("$name")
		echo "== suite $name: FAIL"
		if [ "$name" = regress ] && [ -f "$WORK/test/regression.diffs" ]; then
			cat "$WORK/test/regression.diffs"
		fi
	fi
}

for suite in $SUITES; do
	case $suite in
		unit) run_suite unit make -s unit ;;
		regress) run_suite regress make -s regresscheck ;;
		pgtap) run_suite pgtap bash test/pgtap/run.sh ;;
		tap) run_suite tap bash test/tap_run.sh ;;
		*) echo "unknown suite $suite"; failed=$((failed + 1)) ;;
	esac
done

echo
[ ${#failed_names[@]} -eq 0 ] || echo "failed suites: ${failed_names[*]}"
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
