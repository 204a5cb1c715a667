# dr_switchover(target) with etcd (src/ha/ha_switchover.c,
# src/bin/cmd_switchover.c; docs/ha.md, "Switchover"): three nodes, Debian's
# etcd run by the test, ha_failover = on.  With etcd the licence to be
# primary is the leader key: pg_dr switchover records the new term in
# etcd's term key and hands the key from the old primary to the target
# before promoting it.  Shows:
#  0. an abort after n1 stopped (n2 does not replay its shutdown
#     checkpoint): nothing changed in etcd, n1 started again as the
#     primary, holding the leader key again;
#  1. n1 -> n2 while a client writes to n1: every acknowledged row is on
#     n2, exactly one primary, the leader key names n2 (and stays so past
#     ha_lease_ttl: n2's worker renews the lease it was handed), etcd's
#     term key is 2 (the abort used up term 1), n1 streams from n2, n3 follows n2;
#  2. and back, n2 -> n1: no row lost, the key names n1, the term is 3.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use DrHa;
use MIME::Base64 ();
use POSIX ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

# a lease long enough that nobody contends while the old primary stops
$DrHa::TTL_MS = 6000;
my $tmp = PostgreSQL::Test::Utils::tempdir();
my $etcd = DrHa::etcd_start($tmp);
plan skip_all => 'etcd is not installed (etcd-server, scripts/deps.sh)' unless $etcd;
END { local $?; DrHa::etcd_stop($etcd) if $etcd; }

my $c = DrHa::cluster_new($tmp, etcd => $etcd->{ep});
my ($n1, $n2, $n3) = @{ $c->{nodes} }{qw(n1 n2 n3)};
# each node is started again by pg_dr switchover with its own log file
for my $n ($n1, $n2, $n3)
{
	open(my $fh, '>>', "$tmp/" . $n->name . '.conf') or die;
	print $fh "ha_start_command = 'pg_ctl start -w -t 120 -D %D -l " . $n->logfile . "'\n";
	close($fh) or die;
}
DrHa::wait_settled($c);

# etcd's value of a key of the cluster (undef: absent)
sub etcd_value
{
	my ($name) = @_;
	my $key = MIME::Base64::encode_base64("/pg_dr/c1/$name", '');
	my $range = `curl -s -m 5 -X POST $etcd->{ep}/v3/kv/range -d '{"key":"$key"}'`;
	my ($value) = $range =~ /"value":"([^"]*)"/;
	return defined $value ? MIME::Base64::decode_base64($value) : undef;
}

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
	return join(',', grep { (eval { DrHa::in_recovery($c->{nodes}{$_}) } // '') eq 'f' } qw(n1 n2 n3));
}

for (1 .. 100) { last if (etcd_value('leader') // '') eq 'n1'; sleep 0.1; }
is(etcd_value('leader'), 'n1', 'before: the leader key names n1');

# 0. the abort after the stop: n2's replay paused as soon as the call
#    returns, so it never replays n1's shutdown checkpoint; pg_dr
#    switchover gives up after 10 s, touches nothing in etcd and starts n1
#    again as the primary, which takes the leader key again (its lease ran
#    out meanwhile).  The standbys' automatic failover is off meanwhile:
#    n1 is away longer than ha_lease_ttl.
sub set_failover
{
	my ($value) = @_;
	for my $n ($n2, $n3)
	{
		my $path = "$tmp/" . $n->name . '.conf';
		my $text = slurp_file($path);
		$text =~ s/^ha_failover = \w+$/ha_failover = $value/m;
		open(my $fh, '>', $path) or die;
		print $fh $text;
		close($fh) or die;
		$n->reload;
	}
}
set_failover('off');
sleep 1;
my $pauser = $n2->background_psql('postgres');
my ($rc, $out, $err) = call($n1, "SELECT dr_switchover('n2', '1 s')");
$pauser->query_safe('SELECT pg_wal_replay_pause()');
is($rc, 0, 'an abort after the stop: dr_switchover(\'n2\') returns') or diag($err);
my $restarted = 0;
for (1 .. 600)
{
	my $log = eval { slurp_file($n1->data_dir . '/pg_dr_switchover.log') } // '';
	if ($log =~ /the server started as the primary it was/) { $restarted = 1; last; }
	sleep 0.1;
}
ok($restarted, '... pg_dr switchover starts n1 again as the primary it was')
  or diag(slurp_file($n1->data_dir . '/pg_dr_switchover.log'));
$n1->_update_pid(1);
$pauser->query_safe('SELECT pg_wal_replay_resume()');
$pauser->quit;
like(slurp_file($n1->data_dir . '/pg_dr_switchover.log'),
	qr/did not replay past the shutdown checkpoint.*nothing handed over/s,
	'... because n2 did not replay its shutdown checkpoint');
unlike(slurp_file($n1->data_dir . '/pg_dr_switchover.log'), qr/etcd:/,
	'... and nothing was changed in etcd');
my $wrote;
for (1 .. 200) { $wrote = eval { DrHa::try_write($n1, 'after the abort', 'app') }; last if defined $wrote; sleep 0.1; }
ok(defined $wrote, 'n1 takes writes again');
is(etcd_value('leader'), 'n1', '... and holds the leader key again');
is(etcd_value('term'), undef, '... etcd records no term');
is(primaries(), 'n1', 'n1 is the only primary');
set_failover('on');
DrHa::wait_settled($c);

# 1. n1 -> n2 while a client writes to n1 and records what was acknowledged
my $acks = "$tmp/acks";
my $writer = fork() // die "fork: $!";
if ($writer == 0)
{
	# never the test's END blocks here (they would stop the nodes and etcd)
	$SIG{PIPE} = 'IGNORE';
	eval {
		open(my $fh, '>', $acks) or die;
		$fh->autoflush(1);
		my $end = time() + 15;
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
my $t0 = time();
($rc, $out, $err) = call($n1, "SELECT dr_switchover('n2')");
my $returned = time() - $t0;
is($rc, 0, 'dr_switchover(\'n2\') on n1 returns (with etcd)') or diag($err);
like($out, qr/^switchover to "n2" in term 2 handed off/, '... in term 2 (the abort used up term 1 in the voters)');
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
ok(back_as_standby($n1), 'n1 is started again, as a standby')
  or diag(slurp_file($n1->data_dir . '/pg_dr_switchover.log'));
$n1->_update_pid(1);
note('pg_dr switchover log: ' . slurp_file($n1->data_dir . '/pg_dr_switchover.log'));
is(primaries(), 'n2', 'exactly one primary: n2');

my @acked = grep { /^\d+$/ } split /\n/, slurp_file($acks);
ok(@acked > 0, scalar(@acked) . ' writes acknowledged by n1 during the test');
is($n2->safe_psql('postgres',
		'SELECT count(*) FROM ledger WHERE id IN (' . join(',', @acked, 0) . ')'),
	scalar(@acked), 'every acknowledged write is on n2');

is(etcd_value('leader'), 'n2', 'etcd: the leader key names n2');
is(etcd_value('term'), '2', "etcd: the term key is the switchover's term, 2");
like(slurp_file($n1->data_dir . '/pg_dr_switchover.log'),
	qr/etcd: term 2 recorded .*the old primary's lease \d+ revoked.*the leader key names "n2" under lease \d+/s,
	'pg_dr switchover recorded the term, then handed the key over');
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

# the lease n2 was handed is renewed by its worker: past the ttl, n2 still
# holds the key, is not fenced, and writes
sleep($DrHa::TTL_MS / 1000 + 1);
is(etcd_value('leader'), 'n2', 'past ha_lease_ttl the leader key still names n2 (its worker renews the lease)');
like(DrHa::log_of($n2), qr/pg_dr ha: the leader key names this node: renewing its lease/,
	"... n2's worker adopted the lease it was handed");
unlike(DrHa::log_of($n2), qr/pg_dr ha: fence:/, '... n2 never fenced');
ok(defined DrHa::try_write($n2, 'past the ttl', 'app'), '... and commits');
my $hist = $n2->safe_psql('postgres',
	"SELECT new_primary, term, kind, duration_ms FROM dr_failover_history WHERE kind = 'switchover'");
like($hist, qr/^n2\|2\|switchover\|\d+$/, "dr_failover_history: n2, term 2 ($hist)");
my ($ms) = $hist =~ /(\d+)$/;
diag(sprintf('switchover n1 -> n2 with etcd: client writes held for %d ms; the call returned after %.2f s; first write on n2 %.2f s after the call; %d writes acknowledged by n1, none lost',
		$ms // -1, $returned, $first // -1, scalar(@acked)));

# 2. and back: n2 -> n1
DrHa::wait_settled($c);
$n2->safe_psql('postgres', "INSERT INTO ledger (node) SELECT 'before going back' FROM generate_series(1, 100)");
my $count = $n2->safe_psql('postgres', 'SELECT count(*) FROM ledger');
($rc, $out, $err) = call($n2, "SELECT dr_switchover('n1')");
is($rc, 0, 'dr_switchover(\'n1\') on n2 returns') or diag($err);
like($out, qr/^switchover to "n1" in term 3 handed off/, '... in term 3');
ok(back_as_standby($n2), 'n2 is back as a standby')
  or diag(slurp_file($n2->data_dir . '/pg_dr_switchover.log'));
$n2->_update_pid(1);
is(primaries(), 'n1', 'n1 is the only primary again');
is($n1->safe_psql('postgres', 'SELECT count(*) FROM ledger'), $count, 'no row lost going back');
is(etcd_value('leader'), 'n1', 'etcd: the leader key names n1');
is(etcd_value('term'), '3', 'etcd: the term key is 3');
$id = DrHa::try_write($n1, 'after going back', 'app');
ok(DrHa::wait_follows($c, 'n2', 'n1', $id) && DrHa::wait_follows($c, 'n3', 'n1', $id),
	'n2 and n3 follow n1');

done_testing();
