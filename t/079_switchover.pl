# dr_switchover(target [, timeout]) (src/ha/ha_switchover.c,
# src/bin/cmd_switchover.c): three nodes without etcd, ha_failover = on.
# Shows:
#  1. refusals, nothing changed: on a standby (55000), an unknown target
#     (22023, naming the registered standbys), this node (22023), a target
#     that does not answer (08006), a bad timeout (22023), inside a
#     transaction block (25001);
#  2. the abort: the target's replay paused, a short timeout: 55000, the
#     switchover abandoned, the old primary takes writes again;
#  3. n1 -> n2 while a client writes: every acknowledged row is on n2,
#     exactly one primary, n1 a streaming standby of n2 on timeline 2
#     (pg_stat_wal_receiver), n3 follows n2, the switchover in
#     dr_failover_history with its duration (printed) and in the audit
#     trail;
#  4. and back, n2 -> n1, with no row lost.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use DrHa;
use POSIX ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

# a lease long enough that nobody contends while the old primary stops
$DrHa::TTL_MS = 6000;
my $tmp = PostgreSQL::Test::Utils::tempdir();
my $c = DrHa::cluster_new($tmp, failover => 'on', node_conf => "pg_dr.audit_timeout = 3\n");
my ($n1, $n2, $n3) = @{ $c->{nodes} }{qw(n1 n2 n3)};
# each node is started again by pg_dr switchover with its own log file
for my $n ($n1, $n2, $n3)
{
	open(my $fh, '>>', "$tmp/" . $n->name . '.conf') or die;
	print $fh "ha_start_command = 'pg_ctl start -w -t 120 -D %D -l " . $n->logfile . "'\n";
	close($fh) or die;
}
DrHa::wait_settled($c);


# The node, stopped and started again by pg_dr switchover, answers as a
# standby.  While it stops, psql may die before it reads its query (a
# broken pipe IPC::Run dies of): each attempt is in an eval.
sub back_as_standby
{
	my ($node) = @_;
	for (1 .. 1200)
	{
		my $r = eval { DrHa::in_recovery($node) };
		return 1 if defined $r && $r eq 't';
		sleep 0.1;
	}
	return 0;
}

sub call
{
	my ($node, $sql) = @_;
	my ($rc, $out, $err) = $node->psql('postgres', $sql,
		extra_params => [ '-v', 'ON_ERROR_STOP=1', '-v', 'VERBOSITY=verbose' ]);
	return ($rc, $out, $err);
}

sub primaries
{
	return join(',', grep { (DrHa::in_recovery($c->{nodes}{$_}) // '') eq 'f' } qw(n1 n2 n3));
}

# 1. refusals
my ($rc, $out, $err) = call($n2, "SELECT dr_switchover('n3')");
like($err, qr/ERROR:  55000: dr_switchover\(\) runs on the primary; this node, "n2", is a standby/,
	'on a standby: 55000');
($rc, $out, $err) = call($n1, "SELECT dr_switchover('nope')");
like($err, qr/ERROR:  22023: no node "nope" is registered; the registered standbys are "n2", "n3"/,
	'an unknown target: 22023, naming the registered standbys');
($rc, $out, $err) = call($n1, "SELECT dr_switchover('n1')");
like($err, qr/ERROR:  22023: "n1" is this node, the primary already/, 'this node: 22023');
($rc, $out, $err) = call($n1, "SELECT dr_switchover('n2', '0 s')");
like($err, qr/ERROR:  22023: argument "timeout" of dr_switchover\(\) must be 1 ms to 1 hour/,
	'a bad timeout: 22023');
($rc, $out, $err) = call($n1, "BEGIN; SELECT dr_switchover('n2'); COMMIT");
like($err, qr/ERROR:  25001: dr_switchover\(\) cannot run inside a transaction block/,
	'inside a transaction block: 25001');
$n1->safe_psql('postgres', "SELECT dr_node_register('ghost', 'host=127.0.0.1 port=1 dbname=postgres', verify => false)");
($rc, $out, $err) = call($n1, "SELECT dr_switchover('ghost')");
like($err, qr/ERROR:  08006: the target "ghost" does not answer/, 'a target that does not answer: 08006');
$n1->safe_psql('postgres', "SELECT dr_node_unregister('ghost')");
is(primaries(), 'n1', 'nothing changed: n1 is the only primary');
is($n1->safe_psql('postgres',
		"SELECT count(*) FROM dr_audit WHERE operation = 'dr_switchover' AND sqlstate IS NOT NULL"),
	'4', 'the refusals on the primary past the argument checks are audited');

# 2. the abort: n2 replays nothing, 1 s
$n2->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
$n1->safe_psql('postgres', "INSERT INTO ledger (node) VALUES ('before the abort')");
my $t0 = time();
($rc, $out, $err) = call($n1, "SELECT dr_switchover('n2', '1 s')");
like($err, qr/ERROR:  55000: the target "n2" did not replay this primary's WAL up to \S+ within 1000 ms .*the switchover is abandoned, this node stays the primary/,
	'a target that does not catch up in time: 55000, abandoned');
note(sprintf('the abort took %.1f s', time() - $t0));
ok(defined DrHa::try_write($n1, 'after the abort', 'app'), 'the old primary takes writes again');
$n2->safe_psql('postgres', 'SELECT pg_wal_replay_resume()');
is(primaries(), 'n1', 'n1 is still the only primary');

# 3. n1 -> n2 while a client writes to n1 and records what was acknowledged
my $acks = "$tmp/acks";
my $writer = fork() // die "fork: $!";
if ($writer == 0)
{
	# never the test's END blocks here (they would stop the nodes)
	$SIG{PIPE} = 'IGNORE';
	eval {
		open(my $fh, '>', $acks) or die;
		$fh->autoflush(1);
		my $end = time() + 20;
		while (time() < $end)
		{
			my $id = eval { DrHa::try_write($n1, 'client', 'app') };
			if (defined $id) { print $fh "$id\n"; }
			else { sleep 0.05; }
		}
	};
	POSIX::_exit(0);
}
sleep 1;
$n1->safe_psql('postgres', "INSERT INTO ledger (node) SELECT 'right before' FROM generate_series(1, 100)");
my $last = $n1->safe_psql('postgres', 'SELECT max(id) FROM ledger');
$t0 = time();
($rc, $out, $err) = call($n1, "SELECT dr_switchover('n2')");
my $returned = time() - $t0;
is($rc, 0, 'dr_switchover(\'n2\') on n1 returns') or diag($err);
like($out, qr/^switchover to "n2" in term 1 handed off: it has replayed up to \S+, and 3 of 3 nodes gave it the term; this server stops now/,
	'... saying what it handed off');
my $first;
for (1 .. 600)
{
	if (defined DrHa::try_write($n2, 'first on n2', 'app'))
	{
		$first = time() - $t0;
		last;
	}
	sleep 0.05;
}
ok(defined $first, 'n2 takes writes');
kill('TERM', $writer);
waitpid($writer, 0);
# n1 comes back as a standby, started by pg_dr switchover
my $back = back_as_standby($n1);
ok($back, 'n1 is started again, as a standby')
  or diag(slurp_file($n1->data_dir . '/pg_dr_switchover.log'));
$n1->_update_pid(1);
note('pg_dr switchover log: ' . slurp_file($n1->data_dir . '/pg_dr_switchover.log'));
is(primaries(), 'n2', 'exactly one primary: n2');

my @acked = grep { /^\d+$/ } split /\n/, slurp_file($acks);
ok(@acked > 0, scalar(@acked) . ' writes acknowledged by n1 during the test');
my $on_n2 = $n2->safe_psql('postgres',
	'SELECT count(*) FROM ledger WHERE id IN (' . join(',', @acked, 0) . ')');
is($on_n2, scalar(@acked), 'every acknowledged write is on n2');
is($n2->safe_psql('postgres', "SELECT count(*) FROM ledger WHERE node = 'right before' AND id <= $last"),
	'100', 'the 100 rows committed right before the call are on n2');

my $id = DrHa::try_write($n2, 'after the switchover', 'app');
ok(DrHa::wait_follows($c, 'n1', 'n2', $id), 'n1 receives what n2 writes');
is($n1->safe_psql('postgres',
		'SELECT status, sender_port, received_tli FROM pg_stat_wal_receiver'),
	'streaming|' . $n2->port . '|2', 'n1 streams from n2 on timeline 2');
ok(DrHa::wait_follows($c, 'n3', 'n2', $id), 'n3 receives what n2 writes');
$n3->poll_query_until('postgres',
	"SELECT sender_port = ${\ $n2->port } FROM pg_stat_wal_receiver")
  or diag($n3->safe_psql('postgres', 'SELECT * FROM pg_stat_wal_receiver'));
is($n3->safe_psql('postgres', 'SELECT sender_port FROM pg_stat_wal_receiver'),
	$n2->port, 'n3 follows n2');

my $hist = $n2->safe_psql('postgres',
	"SELECT new_primary, term, kind, duration_ms FROM dr_failover_history WHERE kind = 'switchover'");
like($hist, qr/^n2\|1\|switchover\|\d+$/, "dr_failover_history: n2, term 1, kind switchover, its duration ($hist)");
my ($ms) = $hist =~ /(\d+)$/;
diag(sprintf('switchover n1 -> n2: client writes held for %d ms until the end of the promotion (dr_failover_history); the call returned after %.2f s; first write on n2 %.2f s after the call; %d writes acknowledged by n1, none lost',
		$ms // -1, $returned, $first // -1, scalar(@acked)));
is($n2->safe_psql('postgres',
		"SELECT string_agg(operation || ':' || coalesce(sqlstate, 'ok'), ',' ORDER BY id) FROM dr_audit"
		  . " WHERE operation IN ('dr_switchover', 'pg_dr switchover', 'pg_dr rejoin') AND sqlstate IS NULL"),
	'dr_switchover:ok,pg_dr switchover:ok,pg_dr rejoin:ok',
	'the call, the promotion and the rejoin are in the audit trail');

# the target's side refuses a promotion no primary gave it
($rc, $out, $err) = call($n3, "SELECT pgdr.ha_switchover_promote('n2', 7, '0/0')");
like($err, qr/ERROR:  55000: not promoted: this node holds no licence for term 7/,
	'pgdr.ha_switchover_promote without a term given by the primary: 55000');
is(primaries(), 'n2', '... n2 is still the only primary');

# 4. and back: n2 -> n1
DrHa::wait_settled($c);
$n2->safe_psql('postgres', "INSERT INTO ledger (node) SELECT 'before going back' FROM generate_series(1, 100)");
my $count = $n2->safe_psql('postgres', 'SELECT count(*) FROM ledger');
($rc, $out, $err) = call($n2, "SELECT dr_switchover('n1')");
is($rc, 0, 'dr_switchover(\'n1\') on n2 returns') or diag($err);
ok(back_as_standby($n2), 'n2 is back as a standby')
  or diag(slurp_file($n2->data_dir . '/pg_dr_switchover.log'));
$n2->_update_pid(1);
is(primaries(), 'n1', 'n1 is the only primary again');
is($n1->safe_psql('postgres', 'SELECT count(*) FROM ledger'), $count, 'no row lost going back');
$id = DrHa::try_write($n1, 'after going back', 'app');
ok(DrHa::wait_follows($c, 'n2', 'n1', $id) && DrHa::wait_follows($c, 'n3', 'n1', $id),
	'n2 and n3 follow n1');
is($n1->safe_psql('postgres',
		"SELECT string_agg(new_primary || ':' || term, ',' ORDER BY promoted_at) FROM dr_failover_history WHERE kind = 'switchover'"),
	'n2:1,n1:2', 'both switchovers are in dr_failover_history');

done_testing();
