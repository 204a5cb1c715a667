#!/usr/bin/env bash
# test/pgtap/run.sh -- the pgTAP suite: starts a throw-away cluster with
# pg_dr preloaded (unix socket in a temp dir, no TCP), runs every
# test/pgtap/*.sql with pg_prove, stops the cluster.  Run as a non-root user.
set -euo pipefail

BIN=$(pg_config --bindir)
TOP=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d /tmp/pg_dr-pgtap.XXXXXX)
PORT=${PGTAP_PORT:-54329}

cleanup() {
	"$BIN/pg_ctl" -D "$TMP/data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$TMP"
}
trap cleanup EXIT

"$BIN/initdb" -D "$TMP/data" -U postgres --auth=trust --no-sync >"$TMP/initdb.log" 2>&1 \
	|| { cat "$TMP/initdb.log"; exit 1; }
cat >>"$TMP/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$TMP'
port = $PORT
shared_preload_libraries = 'pg_dr'
pg_dr.database = 'postgres'
fsync = off
CONF
"$BIN/pg_ctl" -D "$TMP/data" -l "$TMP/server.log" -w start >/dev/null \
	|| { cat "$TMP/server.log"; exit 1; }

export PGHOST=$TMP PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres
"$BIN/psql" -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION pg_dr"

status=0
pg_prove --ext .sql "$TOP"/test/pgtap/*.sql || status=$?
if [ $status -ne 0 ]; then
	echo "--- server log"
	tail -50 "$TMP/server.log"
fi
exit $status
