# dr_failover(target, force) (src/ha/ha_state.c, haFailoverManual; the
# promotion by the HA worker): three nodes with ha_failover = off and no
# etcd, so nothing is promoted unless asked.  Shows:
#  1. refused while the primary answers (55000), for an unknown node
#     (42704), for a node other than the one it runs on (22023), on the
#     primary (55000);
#  2. the primary killed: no automatic promotion (ha_failover = off);
#  3. a stale standby (its WAL receiver stopped while the primary wrote
#     more than ha_max_failover_lag) refused (55000);
#  3b. two dr_failover() calls at once on one node: the second is refused
#     (55006) while the first runs, so one call's force never carries the
#     other past its checks; the first fails on its own terms (n3 frozen:
#     no majority);
#  4. the other standby promoted by dr_failover with a majority's
#     confirmation; the stale one follows it and catches up; the call is
#     in the audit trail and in dr_failover_history.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use DrHa;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use IPC::Run;
use Test::More;
use Time::HiRes qw(time sleep);

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $c = DrHa::cluster_new($tmp, failover => 'off', max_lag => '64kB',
	node_conf => "pg_dr.audit_timeout = 3\n");
my ($n1, $n2, $n3) = @{ $c->{nodes} }{qw(n1 n2 n3)};
my $ttl_s = $DrHa::TTL_MS / 1000;
DrHa::wait_settled($c);

# (exit code, stdout, stderr) of one call, SQLSTATEs shown
sub call
{
	my ($node, $sql) = @_;
	my ($rc, $out, $err) = $node->psql('postgres', $sql,
		extra_params => [ '-v', 'ON_ERROR_STOP=1', '-v', 'VERBOSITY=verbose' ]);
	return ($rc, $out, $err);
}

# 1. refusals
my ($rc, $out, $err) = call($n2, "SELECT dr_failover('n2')");
isnt($rc, 0, 'dr_failover while the primary answers: refused');
like($err, qr/ERROR:  55000: the primary "n1" is healthy/, '... 55000, saying the primary is healthy');
($rc, $out, $err) = call($n2, "SELECT dr_failover('nope')");
like($err, qr/ERROR:  42704: no node "nope" is registered/, 'an unknown node: 42704');
($rc, $out, $err) = call($n2, "SELECT dr_failover('n3')");
like($err, qr/ERROR:  22023: dr_failover\(\) promotes the node it runs on, which is "n2", not "n3"/,
	'another node than this one: 22023');
like($err, qr/HINT:  Connect to "n3"/, '... saying where to run it');
($rc, $out, $err) = call($n1, "SELECT dr_failover('n1')");
like($err, qr/ERROR:  55000: node "n1" is a primary already/, 'on the primary: 55000');
is(DrHa::in_recovery($n2), 't', 'nothing changed: n2 is a standby');

# 3 (prepared). n3 stops receiving; the primary writes more than 64kB
$n3->safe_psql('postgres', "ALTER SYSTEM SET primary_conninfo = ''; SELECT pg_reload_conf()");
$n3->poll_query_until('postgres', 'SELECT count(*) = 0 FROM pg_stat_wal_receiver')
  or die 'the WAL receiver of n3 did not stop';
$n1->safe_psql('postgres',
	"INSERT INTO ledger (node) SELECT repeat('x', 200) FROM generate_series(1, 2000)");
$n3->poll_query_until('postgres', "SELECT health = 'lagging' FROM dr_nodes WHERE name = 'n3'")
  or diag($n3->safe_psql('postgres', 'SELECT name, health, reason FROM dr_nodes'));
$n2->poll_query_until('postgres', "SELECT health = 'ok' FROM dr_nodes WHERE name = 'n2'")
  or diag($n2->safe_psql('postgres', 'SELECT name, health, reason FROM dr_nodes'));

# 2. the primary killed: nobody promotes
$n1->kill9;
sleep(2 * $ttl_s);
is(DrHa::in_recovery($n2), 't', 'primary killed, ha_failover = off: n2 stays a standby');
is(DrHa::in_recovery($n3), 't', '... n3 too');
like(DrHa::log_of($n2), qr/pg_dr ha: .*ha_failover is off: fail over by hand \(dr_failover\)/,
	'... and says to fail over by hand')
  or diag(`grep 'pg_dr ha' ${\ $n2->logfile } | tail -5`);

# 3. the stale standby refused
($rc, $out, $err) = call($n3, "SELECT dr_failover('n3')");
like($err, qr/ERROR:  55000: node "n3" is stale \(lagging\)/, 'a stale target: 55000');
like($err, qr/force => true/, '... the hint names force');
is(DrHa::in_recovery($n3), 't', '... n3 is still a standby');

# 3b. two calls at once.  n3 frozen whole (SIGSTOP) keeps the first one
# running: n2's worker waits ha_retry_timeout for n3's vote, and without
# n1 and n3 there is no majority.
my ($pm) = split /\n/, slurp_file($n3->data_dir . '/postmaster.pid');
my @frozen = ($pm, grep { /^\d+$/ } split /\s+/, `pgrep -P $pm`);
kill 'STOP', @frozen;
my ($first_out, $first_err) = ('', '');
my $first = IPC::Run::start(
	[ 'psql', '-X', '-At', '-v', 'ON_ERROR_STOP=1', '-v', 'VERBOSITY=verbose',
		'-d', $n2->connstr('postgres'), '-c', "SELECT dr_failover('n2', force => true)" ],
	'>', \$first_out, '2>', \$first_err);
$n2->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE query LIKE 'SELECT dr_failover(''n2'', force%' "
	  . "AND wait_event_type = 'Extension'")
  or diag('the first dr_failover() call is not waiting: ' . $first_err);
($rc, $out, $err) = call($n2, "SELECT dr_failover('n2')");
like($err, qr/ERROR:  55006: another dr_failover\(\) is running on this node/,
	'a second dr_failover() while one runs (with force): 55006');
like($err, qr/HINT:  Wait for it to end/, '... saying what to do');
$first->finish;
like($first_err, qr/ERROR:  55000: failover to "n2" not done/,
	'the first call fails on its own terms (no majority with n3 frozen)')
  or diag("out: $first_out err: $first_err");
kill 'CONT', @frozen;
is(DrHa::in_recovery($n2), 't', '... n2 is still a standby');
$n2->poll_query_until('postgres', "SELECT health <> 'unreachable' FROM dr_nodes WHERE name = 'n3'")
  or diag($n2->safe_psql('postgres', 'SELECT name, health, reason FROM dr_nodes'));

# 4. n2 promoted
($rc, $out, $err) = call($n2, "SELECT dr_failover('n2')");
is($rc, 0, 'dr_failover(\'n2\') on n2 succeeds') or diag($err);
like($out, qr/^promoted in term 1 after \d+ ms without the primary: dr_failover\(\) asked for it; a majority confirms/,
	'... it says what it did');
is(DrHa::in_recovery($n2), 'f', 'n2 is the primary');
my $id = DrHa::try_write($n2, 'after dr_failover', 'app');
ok(defined $id, '... and takes writes');
ok(DrHa::wait_follows($c, 'n3', 'n2', $id), 'the stale n3 follows n2 and catches up');
like($n2->safe_psql('postgres', 'SELECT new_primary || \'|\' || term FROM dr_failover_history'),
	qr/^n2\|1$/, 'dr_failover_history has it');
$n2->poll_query_until('postgres',
	"SELECT count(*) >= 1 FROM dr_audit WHERE operation = 'dr_failover' AND result = 'ok'")
  or diag($n2->safe_psql('postgres', 'SELECT operation, result, error FROM dr_audit ORDER BY id'));
like($n2->safe_psql('postgres',
		"SELECT arguments FROM dr_audit WHERE operation = 'dr_failover' AND result = 'ok'"),
	qr/"target": ?"n2"/, 'the call is in the audit trail');

$n2->stop;
$n3->stop;
done_testing();
