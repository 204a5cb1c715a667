#!/usr/bin/env bash
# scripts/deps.sh -- install what pg_dr needs to build, run and be tested on
# Debian 12.  Idempotent: apt runs only when a package is missing.  Needs root.
#   scripts/deps.sh           build, run, test
#   scripts/deps.sh --bench   also the anchors the bench/ scripts compare
#                             pg_dr with (pgBackRest, jq)
# The tests' npm packages (NPM_PACKAGES, pinned versions) go into one fixed
# directory, $PG_DR_TEST_NPM (default /var/cache/pg_dr-test/npm), readable
# by the unprivileged user the suites run as; the tests look for them there.
set -euo pipefail

NPM_DIR=${PG_DR_TEST_NPM:-/var/cache/pg_dr-test/npm}
NPM_PACKAGES=(
	@smithy/signature-v4@5.3.0	# AWS's SigV4 test suite (test_storage_s3_sign)
	@20minutes/s3rver@5.0.0	# an S3 server checking SigV4 (t/052_s3.pl)
	azurite@3.35.0	# an Azure Blob server checking Shared Key and SAS (t/053_azure.pl)
)

PACKAGES=(
	build-essential
	postgresql-15
	postgresql-contrib
	postgresql-server-dev-15
	postgresql-15-pgtap
	postgresql-15-cron	# pg_cron, a scheduler the docs show (t/074_pg_cron.pl)
	libtap-parser-sourcehandler-pgtap-perl
	libipc-run-perl
	libzstd-dev
	zstd
	libssl-dev
	openssl
	libcurl4-openssl-dev
	libkrb5-dev	# gssapi.h, which the server header libpq/libpq-be.h includes (the HA fence, src/ha/ha_state.c)
	libhttp-daemon-perl
	etcd-server	# etcd 3.4, the HA leader key (t/060_etcd.pl runs its own)
	libmicrohttpd-dev	# the metrics endpoint (pg_dr.metrics_listen)
	prometheus	# promtool and a Prometheus that scrapes it (t/075_metrics_http.pl)
	prometheus-postgres-exporter	# runs docs/monitoring/queries.yaml (t/075)
)
if [ "${1:-}" = --bench ]; then
	PACKAGES+=(pgbackrest jq)
	# bench/failover: the anchors (repmgrd; pg_autoctl and its monitor), bc
	PACKAGES+=(postgresql-15-repmgr postgresql-15-auto-failover pg-auto-failover-cli bc)
fi

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
		|| missing+=("$p")
done
# node and npm: Debian's packages, unless a node with its npm is there
# already (NodeSource's nodejs conflicts with Debian's npm)
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	missing+=(nodejs npm)
fi

# whether npm package name@version is in NPM_DIR
npm_present() {
	local name=${1%@*} version=${1##*@}
	grep -qs "\"version\": \"$version\"" "$NPM_DIR/node_modules/$name/package.json"
}
npm_missing=()
for p in "${NPM_PACKAGES[@]}"; do
	npm_present "$p" || npm_missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ] && [ ${#npm_missing[@]} -eq 0 ]; then
	echo "deps: all ${#PACKAGES[@]} packages and ${#NPM_PACKAGES[@]} npm packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]} ${npm_missing[*]}; run this script as root" >&2
	exit 1
fi

if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	# Debian starts etcd as a service when it installs it; the tests start
	# their own on free loopback ports, and no other etcd should run here
	if [[ " ${missing[*]} " == *" etcd-server "* ]] && [ -d /run/systemd/system ]; then
		systemctl disable --now etcd.service >/dev/null 2>&1 || true
	fi
fi

if [ ${#npm_missing[@]} -gt 0 ]; then
	echo "deps: installing npm packages ${npm_missing[*]} into $NPM_DIR"
	mkdir -p "$NPM_DIR"
	# all of them, saved exactly in NPM_DIR/package.json: npm removes from
	# node_modules what its package.json does not list
	npm install --prefix "$NPM_DIR" --save-exact --no-audit --no-fund \
		--ignore-scripts --omit=dev --loglevel=error "${NPM_PACKAGES[@]}" >/dev/null
	for p in "${npm_missing[@]}"; do
		npm_present "$p" || { echo "deps: npm did not install $p" >&2; exit 1; }
	done
fi
echo "deps: done"
