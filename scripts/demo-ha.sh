#!/usr/bin/env bash
# scripts/demo-ha.sh -- pg_dr's automatic failover on one machine, as root on
# a fresh Debian 12: installs what is needed, builds and installs pg_dr, then
#   - three PostgreSQL 15 nodes on loopback (Unix sockets in
#     /var/lib/pg_dr-demo-ha, ports 5511-5513), run by the postgres user:
#     n1 the primary, n2 and n3 its streaming standbys, pg_dr preloaded,
#     ha_failover = on (check every 500 ms, lease 2.5 s), and etcd on
#     127.0.0.1 when Debian's etcd-server is installed (DEMO_HA_ETCD=0: the
#     quorum of the three registered nodes instead);
#   - shows dr_nodes, then kill -9 of the primary's postmaster, writes to
#     the standbys until one commits and prints the measured time;
#   - shows dr_nodes and dr_failover_history on the new primary, and makes
#     the old primary a standby of it again with pg_dr rejoin.
# Idempotent: each run stops what the previous run left and starts anew.
# DEMO_HA_KEEP=1 leaves the nodes running at the end (stop them with
# scripts/demo-ha.sh stop).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
DEMO=${PG_DR_DEMO_HA_DIR:-/var/lib/pg_dr-demo-ha}
PORT0=${PG_DR_DEMO_HA_PORT:-5510}
BIN=/usr/lib/postgresql/15/bin
export PATH="$BIN:$PATH"

if [ "$(id -u)" -ne 0 ]; then
	echo "demo-ha: run as root (it installs packages and pg_dr)" >&2
	exit 1
fi

as_pg() { runuser -u postgres -- env PATH="$PATH" "$@"; }
q() { PGCONNECT_TIMEOUT=2 as_pg psql -X -q -h "$DEMO" -p "$1" -d postgres -Atc "$2" 2>/dev/null; }
show() { PGCONNECT_TIMEOUT=2 as_pg psql -X -q -h "$DEMO" -p "$1" -d postgres -c "$2"; }

# stop what a previous run left: its servers (by data directory) and etcd
stop_all() {
	local i
	for i in 1 2 3; do
		if [ -f "$DEMO/n$i/postmaster.pid" ]; then
			as_pg pg_ctl -D "$DEMO/n$i" -m immediate stop >/dev/null 2>&1 || true
		fi
	done
	if [ -f "$DEMO/etcd.pid" ]; then
		kill "$(cat "$DEMO/etcd.pid")" 2>/dev/null || true
		rm -f "$DEMO/etcd.pid"
	fi
}

if [ "${1:-}" = stop ]; then
	stop_all
	echo "demo-ha: stopped"
	exit 0
fi

cd "$TOP"
bash scripts/deps.sh
make -s -j2 all
make -s install >/dev/null
echo "demo-ha: pg_dr built and installed ($(pg_dr --version))"

stop_all
rm -rf "$DEMO"
mkdir -p "$DEMO"
chown postgres: "$DEMO"
chmod 700 "$DEMO"

ETCD_EP=
if [ "${DEMO_HA_ETCD:-1}" = 1 ] && command -v etcd >/dev/null; then
	ETCD_EP="http://127.0.0.1:$((PORT0 + 9))"
	as_pg sh -c "cd '$DEMO' && nohup etcd --name demo --data-dir '$DEMO/etcd' \
		--listen-client-urls '$ETCD_EP' --advertise-client-urls '$ETCD_EP' \
		--listen-peer-urls http://127.0.0.1:$((PORT0 + 8)) \
		--initial-advertise-peer-urls http://127.0.0.1:$((PORT0 + 8)) \
		--initial-cluster demo=http://127.0.0.1:$((PORT0 + 8)) >'$DEMO/etcd.log' 2>&1 & echo \$! >'$DEMO/etcd.pid'"
	for _ in $(seq 1 100); do
		curl -s -m 1 "$ETCD_EP/health" | grep -q '"health":"true"' && break
		sleep 0.1
	done
	echo "demo-ha: etcd on $ETCD_EP (the leader key under a lease is the licence to be primary)"
else
	echo "demo-ha: no etcd: the licence is a majority of the three registered nodes"
fi

for i in 1 2 3; do
	as_pg tee "$DEMO/n$i.conf" >/dev/null <<CONF
# pg_dr HA demo, node n$i
ha_cluster_name = 'demo'
ha_node_name = 'n$i'
ha_failover = on
ha_check_interval = 500
ha_retry_timeout = 1000
ha_lease_ttl = 2500
CONF
	[ -n "$ETCD_EP" ] && echo "ha_etcd_endpoints = '$ETCD_EP'" | as_pg tee -a "$DEMO/n$i.conf" >/dev/null
done

node_conf() {
	cat <<CONF
port = $((PORT0 + $1))
listen_addresses = ''
unix_socket_directories = '$DEMO'
wal_log_hints = on
wal_keep_size = '256MB'
shared_preload_libraries = 'pg_dr'
pg_dr.database = 'postgres'
pg_dr.config_file = '$DEMO/n$1.conf'
log_line_prefix = '%m [%p] '
CONF
}

as_pg initdb -D "$DEMO/n1" -U postgres --auth=peer >/dev/null
node_conf 1 | as_pg tee -a "$DEMO/n1/postgresql.conf" >/dev/null
as_pg pg_ctl -D "$DEMO/n1" -l "$DEMO/n1.log" -w start >/dev/null
q "$((PORT0 + 1))" "CREATE EXTENSION pg_dr; CREATE TABLE demo (id bigserial PRIMARY KEY, node text, at timestamptz DEFAULT clock_timestamp())"
for i in 1 2 3; do
	# n2 and n3 do not run yet: registered without the check that they answer
	q "$((PORT0 + 1))" "SELECT dr_node_register('n$i', 'host=$DEMO port=$((PORT0 + i)) dbname=postgres user=postgres', verify => $([ "$i" = 1 ] && echo true || echo false))" >/dev/null
done
for i in 2 3; do
	as_pg pg_basebackup -h "$DEMO" -p "$((PORT0 + 1))" -D "$DEMO/n$i" -R -X stream >/dev/null
	sed -i "s/^port = .*/port = $((PORT0 + i))/; s|^pg_dr.config_file = .*|pg_dr.config_file = '$DEMO/n$i.conf'|" \
		"$DEMO/n$i/postgresql.conf"
	as_pg pg_ctl -D "$DEMO/n$i" -l "$DEMO/n$i.log" -w start >/dev/null
done

echo "demo-ha: waiting until every node observes the other two"
for _ in $(seq 1 300); do
	ok=0
	for i in 1 2 3; do
		[ "$(q "$((PORT0 + i))" "SELECT count(*) FROM dr_nodes WHERE health = 'ok'")" = 3 ] && ok=$((ok + 1))
	done
	[ "$ok" = 3 ] && break
	sleep 0.2
done
show "$((PORT0 + 2))" "SELECT name, role, timeline, health, reason FROM dr_nodes"
q "$((PORT0 + 1))" "INSERT INTO demo (node) VALUES ('before the kill')"

echo "demo-ha: kill -9 of the primary n1 ($(head -1 "$DEMO/n1/postmaster.pid"))"
t0=$(date +%s%N)
kill -9 "$(head -1 "$DEMO/n1/postmaster.pid")"
new=
while [ -z "$new" ]; do
	for i in 2 3; do
		if q "$((PORT0 + i))" "INSERT INTO demo (node) VALUES ('first on n$i')" >/dev/null 2>&1 &&
			[ "$(q "$((PORT0 + i))" "SELECT count(*) FROM demo WHERE node = 'first on n$i'")" = 1 ]; then
			new=$i
			break
		fi
	done
	if [ $(( ($(date +%s%N) - t0) / 1000000000 )) -ge 60 ]; then
		echo "demo-ha: no new primary within 60 s; see $DEMO/n2.log and $DEMO/n3.log" >&2
		exit 1
	fi
	[ -z "$new" ] && sleep 0.05
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
printf 'demo-ha: n%s is the new primary: kill -9 to its first committed write took %d.%03d s\n' \
	"$new" $((ms / 1000)) $((ms % 1000))
for _ in $(seq 1 50); do
	[ "$(q "$((PORT0 + new))" "SELECT role FROM dr_nodes WHERE name = 'n$new'")" = primary ] && break
	sleep 0.1
done
show "$((PORT0 + new))" "SELECT name, role, timeline, health FROM dr_nodes"
show "$((PORT0 + new))" "SELECT promoted_at, new_primary, term, duration_ms FROM dr_failover_history"
show "$((PORT0 + new))" "SELECT node, count(*) FROM demo GROUP BY node ORDER BY min(id)"

echo "demo-ha: n1 becomes a standby of n$new (pg_dr rejoin; pg_rewind if it diverged)"
as_pg pg_dr rejoin --config "$DEMO/n1.conf" --pgdata "$DEMO/n1" \
	--source "host=$DEMO port=$((PORT0 + new)) dbname=postgres user=postgres"
as_pg pg_ctl -D "$DEMO/n1" -l "$DEMO/n1.log" -w start >/dev/null
for _ in $(seq 1 150); do
	[ "$(q "$((PORT0 + new))" "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")" = 2 ] && break
	sleep 0.2
done
show "$((PORT0 + new))" "SELECT application_name, state, sync_state FROM pg_stat_replication ORDER BY 1"

if [ "${DEMO_HA_KEEP:-0}" = 1 ]; then
	echo "demo-ha: the nodes run on ports $((PORT0 + 1))-$((PORT0 + 3)) (psql -h $DEMO -p $((PORT0 + new)) -U postgres); scripts/demo-ha.sh stop stops them"
else
	stop_all
	echo "demo-ha: done (DEMO_HA_KEEP=1 leaves the nodes running)"
fi
