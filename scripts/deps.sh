#!/usr/bin/env bash
# scripts/deps.sh -- install what pg_dr needs to build, run and be tested on
# Debian 12.  Idempotent: apt runs only when a package is missing.  Needs root.
#   scripts/deps.sh           build, run, test
#   scripts/deps.sh --bench   also the anchors the bench/ scripts compare
#                             pg_dr with (pgBackRest, jq)
set -euo pipefail

PACKAGES=(
	build-essential
	postgresql-15
	postgresql-contrib
	postgresql-server-dev-15
	postgresql-15-pgtap
	libtap-parser-sourcehandler-pgtap-perl
	libipc-run-perl
	libzstd-dev
	zstd
	libssl-dev
	openssl
	libcurl4-openssl-dev
	libhttp-daemon-perl
)
if [ "${1:-}" = --bench ]; then
	PACKAGES+=(pgbackrest jq)
fi

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
		|| missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#PACKAGES[@]} packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}; run this script as root" >&2
	exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
