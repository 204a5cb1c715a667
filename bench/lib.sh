# bench/lib.sh -- sourced by the bench scripts: what they need, installed the
# way the README's commands install it.  Run as root, both are idempotent;
# as another user nothing can be installed, and each script's own checks
# say what is missing.
#
#   bench_deps      the Debian packages: scripts/deps.sh --bench (what
#                   builds and tests pg_dr, plus the anchors the scripts
#                   compare it with: pgBackRest, jq)
#   bench_install   bench_deps, then pg_dr itself from this tree (make,
#                   make install)

BENCH_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

bench_deps() {
	[ "$(id -u)" -eq 0 ] || return 0
	bash "$BENCH_TOP/scripts/deps.sh" --bench >&2
}

bench_install() {
	[ "$(id -u)" -eq 0 ] || return 0
	bench_deps
	make -C "$BENCH_TOP" -s -j2 all >&2
	make -C "$BENCH_TOP" -s install >/dev/null
}
