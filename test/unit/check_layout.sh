#!/bin/sh
# check_layout.sh -- the include rules of the tree (docs/architecture.md),
# as TAP: run from the top of the tree, by "make unit" through prove.
#
#  1. No file includes another part's internal header: src/<part>/*_internal.h
#     (and the posix driver's storage_posix.h, the audit's audit_shared.h) is
#     included only from src/<part>/, and from the part's own unit tests
#     (test/unit/test_<part>*.c).
#  2. No file of a part's shared half (the FE_SHARED_<part> lists of
#     mk/frontend.mk, compiled into the CLI) includes a server-only header of
#     pg_dr: src/pg_dr.h, or a header of a part's server half.  A header
#     src/<part>/<name>.h is in the shared half when src/<part>/<name>.c is
#     listed, or when every .c file of src/<part> is.
#
# Only pg_dr's own headers count (an include resolved under src/); the
# files checked are every .c and .h under src/ and test/.
set -u

fail=0
n=0

# The shared half, from the Makefile itself (PG_CONFIG is not needed to list
# files; "true" keeps frontend.mk's pg_config calls quiet).
shared=$(printf 'print-shared:\n\t@echo $(FE_LIB_SRCS)\n' |
	make -s --no-print-directory -f mk/frontend.mk -f - print-shared PG_CONFIG=true 2>/dev/null)
if [ -z "$shared" ]; then
	echo "Bail out! could not read FE_LIB_SRCS from mk/frontend.mk"
	exit 1
fi

is_shared_file() {
	case " $shared " in
		*" $1 "*) return 0 ;;
	esac
	return 1
}

# Whether every .c file directly in (or below) src/<part> is shared.
part_all_shared() {
	for c in $(find "src/$1" -name '*.c' | sort); do
		is_shared_file "$c" || return 1
	done
	return 0
}

# Whether header src/<h> (e.g. ops/retention.h) belongs to a shared half.
header_shared() {
	h=$1
	part=${h%%/*}
	[ "$part" = "$h" ] && return 1		# src/pg_dr.h and its kind
	part_all_shared "$part" && return 0
	is_shared_file "src/${h%.h}.c"
}

# The part a file belongs to: src/<part>/..., or test/unit/test_<part>*.c.
file_part() {
	case $1 in
		src/*/*) p=${1#src/}; echo "${p%%/*}" ;;
		test/unit/test_*.c)
			b=${1#test/unit/test_}
			for part in $(ls src); do
				[ -d "src/$part" ] || continue
				case $b in "$part"*) echo "$part"; return ;; esac
			done ;;
	esac
}

# Every include of pg_dr's own headers: "file header" per line.
includes=$(find src test -name '*.[ch]' | sort | while read -r f; do
	sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
	while read -r h; do
		[ -f "src/$h" ] && echo "$f $h"
	done
done)

# 1. internal headers
bad=$(echo "$includes" | while read -r f h; do
	[ -n "$f" ] || continue
	case $h in
		*_internal.h|storage/posix/storage_posix.h|ops/audit_shared.h) ;;
		*) continue ;;
	esac
	owner=${h%/*}				# src/<owner>/: the folder it is private to
	case $f in
		"src/$owner/"*) continue ;;
	esac
	fp=$(file_part "$f")
	[ -n "$fp" ] && [ "$owner" = "$fp" ] && case $f in test/*) continue ;; esac
	echo "$f includes $h, internal to src/$owner/"
done)
n=$((n + 1))
if [ -z "$bad" ]; then
	echo "ok $n - no file includes another part's internal header"
else
	echo "not ok $n - no file includes another part's internal header"
	echo "$bad" | sed 's/^/# /'
	fail=1
fi

# 2. server-only headers in the shared half
bad=$(echo "$includes" | while read -r f h; do
	[ -n "$f" ] || continue
	is_shared_file "$f" || continue
	header_shared "$h" && continue
	echo "$f (shared) includes $h, of the server only"
done)
n=$((n + 1))
if [ -z "$bad" ]; then
	echo "ok $n - no file of a shared half includes a server-only header of pg_dr"
else
	echo "not ok $n - no file of a shared half includes a server-only header of pg_dr"
	echo "$bad" | sed 's/^/# /'
	fail=1
fi

# the checks saw the tree (not an empty list passing by accident)
n=$((n + 1))
count=$(echo "$includes" | grep -c .)
if [ "$count" -gt 100 ] && echo "$shared" | grep -q 'src/repo/repo_archive.c'; then
	echo "ok $n - $count includes checked"
else
	echo "not ok $n - too few includes found ($count): run from the top of the tree"
	fail=1
fi

echo "1..$n"
exit $fail
