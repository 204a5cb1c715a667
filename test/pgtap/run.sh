#!/usr/bin/env bash
# test/pgtap/run.sh -- the pgTAP suite: starts a throw-away cluster with
# pg_dr preloaded (unix socket in a temp dir, no TCP), an encrypted
# repository and WAL archiving into it, runs every test/pgtap/*.sql with
# pg_prove, stops the cluster.  Run as a non-root user.
#
# pgTAP lives in schema "tap" (on the database's search_path), not in
# public: 004_search_path plants look-alike functions in public and must be
# able to run its assertions with public off the path.
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
head -c 48 /dev/urandom | base64 -w0 >"$TMP/repo.key"
chmod 600 "$TMP/repo.key"
cat >"$TMP/pg_dr.conf" <<CONF
repo1_type = posix
repo1_path = '$TMP/repo'
repo1_cipher_key_file = '$TMP/repo.key'
CONF
pg_dr repo-create --config "$TMP/pg_dr.conf" --kdf-iterations 1000 >"$TMP/repo-create.log" 2>&1 \
	|| { cat "$TMP/repo-create.log"; exit 1; }
cat >>"$TMP/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$TMP'
port = $PORT
shared_preload_libraries = 'pg_dr'
pg_dr.database = 'postgres'
pg_dr.config_file = '$TMP/pg_dr.conf'
archive_mode = on
archive_library = 'pg_dr'
max_worker_processes = 16
fsync = off
CONF
"$BIN/pg_ctl" -D "$TMP/data" -l "$TMP/server.log" -w start >/dev/null \
	|| { cat "$TMP/server.log"; exit 1; }

export PGHOST=$TMP PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres
"$BIN/psql" -X -q -v ON_ERROR_STOP=1 -c "CREATE SCHEMA tap" -c "CREATE EXTENSION pgtap SCHEMA tap" -c "GRANT USAGE ON SCHEMA tap TO PUBLIC" \
	-c 'ALTER DATABASE postgres SET search_path = "$user", public, tap' -c "CREATE EXTENSION pg_dr"

status=0
pg_prove --ext .sql "$TOP"/test/pgtap/*.sql || status=$?
if [ $status -ne 0 ]; then
	echo "--- server log"
	tail -50 "$TMP/server.log"
fi
exit $status
