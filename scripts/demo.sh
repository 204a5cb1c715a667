#!/usr/bin/env bash
# scripts/demo.sh -- pg_dr on an embedded default, on a fresh Debian 12 machine,
# as root.  Installs what is needed, builds and installs pg_dr, then:
#   - a local PostgreSQL 15 cluster in /var/lib/pg_dr-demo/data (port 5499,
#     socket in /var/lib/pg_dr-demo), run by the postgres user, with pg_dr
#     preloaded and archiving its WAL (archive_library = 'pg_dr');
#   - an encrypted local repository in /var/lib/pg_dr-demo/repo, its
#     passphrase in /var/lib/pg_dr-demo/repo.key (mode 600);
#   - the configuration /var/lib/pg_dr-demo/pg_dr.conf, read by the server
#     and by the CLI;
# takes a real backup (a full the first time, an incremental on later runs)
# and verifies it; writes rows, marks a restore point, then "loses" them;
# restores to that point in time into a side directory
# (/var/lib/pg_dr-demo/pitr), starts it on port 5500, and shows the row
# counts of both; then SELECT * FROM dr_status and the CLI's view of the
# repository.  Idempotent: a second run reuses the cluster and the
# repository, and makes the side directory anew.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
DEMO=${PG_DR_DEMO_DIR:-/var/lib/pg_dr-demo}
PORT=${PG_DR_DEMO_PORT:-5499}
PITR_PORT=$((PORT + 1))
BIN=/usr/lib/postgresql/15/bin

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: run as root (it installs packages and pg_dr)" >&2
	exit 1
fi

cd "$TOP"
bash scripts/deps.sh
make -s -j2 all
make -s install >/dev/null
echo "demo: pg_dr built and installed ($(pg_dr --version))"

as_pg() { runuser -u postgres -- "$@"; }

mkdir -p "$DEMO"
chown postgres: "$DEMO"
chmod 700 "$DEMO"

if [ ! -s "$DEMO/repo.key" ]; then
	as_pg sh -c "umask 077; openssl rand -base64 48 > '$DEMO/repo.key'"
fi
as_pg tee "$DEMO/pg_dr.conf" >/dev/null <<CONF
# pg_dr demo configuration (read by the server and by the pg_dr CLI)
repo1_type = posix
repo1_path = $DEMO/repo
repo1_cipher_type = aes-256-gcm
repo1_cipher_key_file = $DEMO/repo.key
compress_type = zstd
compress_level = 3
CONF

if [ ! -f "$DEMO/repo/pg_dr.repo" ]; then
	as_pg pg_dr repo-create --config "$DEMO/pg_dr.conf"
fi

if [ ! -f "$DEMO/data/PG_VERSION" ]; then
	as_pg "$BIN/initdb" -D "$DEMO/data" -U postgres --auth=peer --data-checksums >/dev/null
	as_pg tee -a "$DEMO/data/postgresql.conf" >/dev/null <<CONF
# pg_dr demo
listen_addresses = 'localhost'
port = $PORT
unix_socket_directories = '$DEMO'
shared_preload_libraries = 'pg_dr'
pg_dr.database = 'postgres'
pg_dr.config_file = '$DEMO/pg_dr.conf'
pg_dr.tier = 'critical'
CONF
fi
if ! grep -q "^archive_library = 'pg_dr'" "$DEMO/data/postgresql.conf"; then
	# WAL archiving into the repository: the PITR below replays it
	as_pg tee -a "$DEMO/data/postgresql.conf" >/dev/null <<CONF
archive_mode = on
archive_library = 'pg_dr'
CONF
	if as_pg "$BIN/pg_ctl" -D "$DEMO/data" status >/dev/null 2>&1; then
		as_pg "$BIN/pg_ctl" -D "$DEMO/data" -l "$DEMO/server.log" -w restart >/dev/null
	fi
fi

if ! as_pg "$BIN/pg_ctl" -D "$DEMO/data" status >/dev/null 2>&1; then
	as_pg "$BIN/pg_ctl" -D "$DEMO/data" -l "$DEMO/server.log" -w start >/dev/null
elif [ "$(pg_config --pkglibdir)/pg_dr.so" -nt "$DEMO/data/postmaster.pid" ]; then
	# a preloaded library is read at server start: restart for the new one
	as_pg "$BIN/pg_ctl" -D "$DEMO/data" -l "$DEMO/server.log" -w restart >/dev/null
fi

PSQL=(as_pg psql -X -h "$DEMO" -p "$PORT" -d postgres -v ON_ERROR_STOP=1)
"${PSQL[@]}" -q -c "CREATE EXTENSION IF NOT EXISTS pg_dr"
# the worker starts with the server; give it a moment on the first run
for _ in $(seq 1 50); do
	[ "$("${PSQL[@]}" -tAc "SELECT worker_running FROM dr_status")" = t ] && break
	sleep 0.2
done

# some data, then a real backup: a full the first time, an incremental after
"${PSQL[@]}" -q -c "CREATE TABLE IF NOT EXISTS demo_ledger (id bigserial PRIMARY KEY, at timestamptz DEFAULT now(), amount numeric)" \
	-c "INSERT INTO demo_ledger (amount) SELECT round((random() * 1000)::numeric, 2) FROM generate_series(1, 10000)"
if [ "$("${PSQL[@]}" -tAc "SELECT count(*) FROM dr_backups")" = 0 ]; then
	echo "demo: SELECT dr_backup_full('demo');"
	"${PSQL[@]}" -c "SELECT dr_backup_full('demo')"
else
	echo "demo: SELECT dr_backup_incremental();"
	"${PSQL[@]}" -c "SELECT dr_backup_incremental()"
fi
echo "demo: SELECT * FROM dr_backups;"
"${PSQL[@]}" -c "SELECT backup_id, kind, parent_id, status, data_bytes, stored_bytes, pages_changed FROM dr_backups"
echo "demo: pg_dr verify --config $DEMO/pg_dr.conf --backup latest"
as_pg pg_dr verify --config "$DEMO/pg_dr.conf" --backup latest

# point-in-time recovery: rows written after the backup, a restore point,
# then a mistake; the side directory gets the database as it was at the point
"${PSQL[@]}" -q -c "INSERT INTO demo_ledger (amount) SELECT 1 FROM generate_series(1, 500)"
POINT="demo-$(date -u +%Y%m%d-%H%M%S)"
echo "demo: SELECT dr_restore_point('$POINT');"
"${PSQL[@]}" -tAc "SELECT dr_restore_point('$POINT')" >/dev/null
BEFORE=$("${PSQL[@]}" -tAc "SELECT count(*) FROM demo_ledger")
echo "demo: DELETE FROM demo_ledger WHERE id % 2 = 0;   -- the mistake"
"${PSQL[@]}" -q -c "DELETE FROM demo_ledger WHERE id % 2 = 0"
AFTER=$("${PSQL[@]}" -tAc "SELECT count(*) FROM demo_ledger")
# the restore point's WAL must be in the repository: close the segment and
# wait until the archiver has stored it
SEG=$("${PSQL[@]}" -tAc "SELECT pg_walfile_name(pg_switch_wal())")
for _ in $(seq 1 300); do
	DONE=$("${PSQL[@]}" -tAc "SELECT coalesce(last_archived_wal >= '$SEG', false) FROM pg_stat_archiver")
	[ "$DONE" = t ] && break
	sleep 0.2
done
if [ "$DONE" != t ]; then
	echo "demo: segment $SEG was not archived in 60 s; see $DEMO/server.log" >&2
	exit 1
fi

PITR="$DEMO/pitr"
if [ -f "$PITR/postmaster.pid" ]; then
	as_pg "$BIN/pg_ctl" -D "$PITR" -m fast -w stop >/dev/null 2>&1 || true
fi
rm -rf "$PITR"
echo "demo: pg_dr restore --config $DEMO/pg_dr.conf --pgdata $PITR --target-name $POINT --jobs 2"
as_pg pg_dr restore --config "$DEMO/pg_dr.conf" --pgdata "$PITR" --target-name "$POINT" --jobs 2 --progress=off
echo "demo: pg_ctl -D $PITR -o '-p $PITR_PORT' start"
as_pg "$BIN/pg_ctl" -D "$PITR" -o "-p $PITR_PORT" -l "$DEMO/pitr.log" -w start >/dev/null
PITR_PSQL=(as_pg psql -X -h "$DEMO" -p "$PITR_PORT" -d postgres -v ON_ERROR_STOP=1)
# recovery replays the archived WAL to the restore point, then promotes
for _ in $(seq 1 300); do
	[ "$("${PITR_PSQL[@]}" -tAc "SELECT pg_is_in_recovery()")" = f ] && break
	sleep 0.2
done
if [ "$("${PITR_PSQL[@]}" -tAc "SELECT pg_is_in_recovery()")" != f ]; then
	echo "demo: the restored cluster did not finish recovery in 60 s; see $DEMO/pitr.log" >&2
	exit 1
fi
RESTORED=$("${PITR_PSQL[@]}" -tAc "SELECT count(*) FROM demo_ledger")
echo
echo "demo: rows in demo_ledger"
printf '  %-44s %8s\n' "at the restore point $POINT" "$BEFORE"
printf '  %-44s %8s\n' "in the source now (after the mistake)" "$AFTER"
printf '  %-44s %8s\n' "in the restored cluster (port $PITR_PORT)" "$RESTORED"
if [ "$RESTORED" != "$BEFORE" ]; then
	echo "demo: the restored cluster has $RESTORED rows, expected $BEFORE" >&2
	exit 1
fi

echo
echo "demo: SELECT * FROM dr_status;"
"${PSQL[@]}" -x -c "SELECT * FROM dr_status"
echo "demo: SELECT * FROM dr_objectives;"
"${PSQL[@]}" -c "SELECT * FROM dr_objectives"
echo "demo: pg_dr info --config $DEMO/pg_dr.conf"
as_pg pg_dr info --config "$DEMO/pg_dr.conf"
echo
echo "demo: as root, on a machine with or without sudo:"
echo "  connect:         runuser -u postgres -- psql -h $DEMO -p $PORT postgres"
echo "  the restored:    runuser -u postgres -- psql -h $DEMO -p $PITR_PORT postgres"
echo "  stop both:       runuser -u postgres -- $BIN/pg_ctl -D $DEMO/data stop; runuser -u postgres -- $BIN/pg_ctl -D $PITR stop"
echo "  list backups:    runuser -u postgres -- pg_dr info --config $DEMO/pg_dr.conf"
