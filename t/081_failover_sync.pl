# 081_failover_sync.pl
#	Automatic failover in synchronous mode (ha_synchronous = on; docs/ha.md,
#	"Synchronous mode"): no acknowledged commit is lost, and no standby is
#	promoted while it cannot know that it holds every acknowledged commit.
#	Three nodes without etcd (t/lib/DrHa.pm).  In order:
#	 1. the lag watcher makes both standbys synchronous (ANY 1), and the
#	    primary reports them to its peers (pgdr.ha_peer_status);
#	 2. the ledger: with pgbench's load alongside, a client commits rows
#	    one by one on the primary and records each id the server
#	    acknowledged; kill -9 of the primary in the middle; the new
#	    primary has every acknowledged id;
#	 3. the old primary rejoins as a standby of the new one (pg_dr rejoin)
#	    and becomes synchronous too;
#	 4. one synchronous standby frozen (SIGSTOP), then the primary killed:
#	    the other standby does not promote (it cannot know whether the
#	    frozen one acknowledged commits it lacks) and says why, and so does
#	    dr_failover() without force; once the frozen one runs again
#	    (SIGCONT), exactly one of the two promotes.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use DrHa;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $c = DrHa::cluster_new($tmp, conf => "ha_synchronous = on\nha_watch_interval = 200\n");
my %n = %{ $c->{nodes} };
my $ttl_s = $DrHa::TTL_MS / 1000;

# Both other nodes in synchronous_standby_names of primary p.
sub wait_synchronous
{
	my ($p, @standbys) = @_;
	my $cond = join(' AND ',
		map { "current_setting('synchronous_standby_names') ~ '\\m$_\\M'" } @standbys);
	return $n{$p}->poll_query_until('postgres', "SELECT $cond");
}

# The node's postmaster and its children.
sub pids_of
{
	my ($node) = @_;
	my ($pm) = split /\n/, slurp_file($node->data_dir . '/postmaster.pid');
	my @kids = split /\s+/, `pgrep -P $pm`;
	return ($pm, grep { /^\d+$/ } @kids);
}

# 1. synchronous standbys, reported to the peers
DrHa::wait_settled($c);
ok(wait_synchronous('n1', 'n2', 'n3'), 'the lag watcher made n2 and n3 synchronous on n1')
  or diag($n{n1}->safe_psql('postgres', 'SHOW synchronous_standby_names'));
like($n{n1}->safe_psql('postgres',
		"SELECT sync_num || ':' || sync_names FROM pgdr.ha_peer_status(NULL)"),
	qr/^1:(n2,n3|n3,n2)$/, 'n1 reports them to its peers: 1 of n2, n3 acknowledges each commit');
is($n{n2}->safe_psql('postgres',
		"SELECT sync_num IS NULL AND sync_names IS NULL FROM pgdr.ha_peer_status(NULL)"),
	't', 'a standby reports none');

# 2. the ledger: every acknowledged commit survives kill -9 of the primary
my $script = "$tmp/writes.sql";
open(my $fh, '>', $script) or die;
print $fh "INSERT INTO ledger (node) VALUES ('w') RETURNING id;\n" x 200000;
close($fh) or die;
my $acked = "$tmp/acked.txt";
# pgbench's load alongside (two clients, TPC-B like), killed with the primary
$n{n1}->command_ok([ 'pgbench', '-i', '-s', '1', '-q', '-h', $n{n1}->host, '-p', $n{n1}->port,
		'postgres' ], 'pgbench tables');
my $bench = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '2', '-T', '120', '-h', $n{n1}->host, '-p', $n{n1}->port,
		'postgres' ],
	'>', "$tmp/pgbench.out", '2>', "$tmp/pgbench.err");
my $writer = IPC::Run::start(
	[ 'psql', '-X', '-At', '-h', $n{n1}->host, '-p', $n{n1}->port, '-d', 'postgres', '-U', 'app',
		'-f', $script ],
	'>', $acked, '2>', "$tmp/writer.err");
$n{n1}->poll_query_until('postgres', "SELECT count(*) >= 200 FROM ledger WHERE node = 'w'")
  or die 'the writer does not write';
my ($ms, $winner) = DrHa::kill_and_failover($c, 'n1', 'n2', 'n3');
ok(defined $winner, 'a new primary takes writes after kill -9 of n1 in the middle of the writes');
diag("synchronous mode, kill -9 of the primary to the first committed write: $ms ms");
$writer->finish;
$bench->finish;
my @ids = grep { /^\d+$/ } split /\n/, slurp_file($acked);
cmp_ok(scalar(@ids), '>=', 200, scalar(@ids) . ' commits were acknowledged to the writer');
is($n{$winner}->safe_psql('postgres',
		"SELECT count(*) FROM ledger WHERE id = ANY ('{" . join(',', @ids) . "}'::bigint[])"),
	scalar(@ids), "every acknowledged commit is on the new primary $winner");
my ($other) = grep { $_ ne $winner } qw(n2 n3);
my $id = DrHa::try_write($n{$winner}, 'after');
ok(DrHa::wait_follows($c, $other, $winner, $id), "$other follows $winner");

# 3. the old primary rejoins and becomes synchronous too
my ($out, $err) = ('', '');
IPC::Run::run([ 'pg_dr', 'rejoin', '--config', "$tmp/n1.conf", '--pgdata', $n{n1}->data_dir,
		'--source', DrHa::conninfo($n{$winner}) ],
	'>', \$out, '2>', \$err)
  or die "pg_dr rejoin: $out $err";
$n{n1}->start;
DrHa::wait_settled($c);
ok(wait_synchronous($winner, 'n1', $other), "n1 rejoined: $winner has n1 and $other synchronous");

# 4. a synchronous standby frozen, then the primary killed: no promotion
#    until the frozen one is back
my $frozen = 'n1';
my @stopped = pids_of($n{$frozen});
kill 'STOP', @stopped;
$n{$winner}->kill9;
my $t0 = time();
sleep($ttl_s + 3);
is(DrHa::in_recovery($n{$other}), 't',
	"$winner killed while $frozen is frozen: $other stays a standby");
like(DrHa::log_of($n{$other}),
	qr/no standby can be promoted without losing acknowledged commits: commits waited for 1 of the synchronous standbys; of the 2 standbys that may hold such commits only 1 is in contact, 2 needed/,
	"$other says why: it cannot know what $frozen acknowledged");
my ($rc, $out_f, $err_f) = $n{$other}->psql('postgres', "SELECT dr_failover('$other')");
like($err_f, qr/failover to "$other" not done: promoting this node could lose acknowledged commits: .*pass force => true to accept that/,
	'dr_failover() without force refuses too, and says how to accept the loss');
kill 'CONT', @stopped;
my $promoted;
while (!defined $promoted && time() < $t0 + 60)
{
	for my $name ($frozen, $other)
	{
		$promoted = $name if defined DrHa::try_write($n{$name}, "after thaw on $name");
	}
	sleep 0.1;
}
ok(defined $promoted, "after $frozen runs again, " . ($promoted // 'none') . ' is promoted');
my @primaries = grep { (DrHa::in_recovery($n{$_}) // '') eq 'f' } ($frozen, $other);
is(scalar(@primaries), 1, 'exactly one primary among the two');

$n{$_}->stop('immediate') for ($frozen, $other);
done_testing();
