# 070_rejoin.pl
#	Rejoin of an old primary (pg_dr rejoin, dr_rejoin()).  A primary and
#	two standbys; the first standby is promoted while the old primary goes
#	on writing on its own timeline; once stopped, pg_dr rejoin finds the new
#	primary in the registry, rewinds the old one (its diverged rows are
#	gone), and it starts as a standby to which new rows stream; the rejoin
#	is in the new primary's audit trail.  Then a clean switchover back: the
#	stopped primary wrote nothing past the fork, and its rejoin skips
#	pg_rewind.  Bad inputs: a server still running, an unreachable source,
#	a source that is a standby, no source and no registry, no --pgdata, and
#	a diverged cluster without data checksums or wal_log_hints.

use strict;
use warnings;

use File::Copy;
use lib 't/lib';
use DrTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $env = DrTest::repo_setup($tmp);

# each node's own configuration file: the repository, and its HA identity
sub node_conf
{
	my ($name, $registry) = @_;
	my $conf = "$tmp/$name.conf";
	copy($env->{conf}, $conf) or die "copy: $!";
	open(my $fh, '>>', $conf) or die;
	print $fh "ha_cluster_name = 'c070'\nha_node_name = '$name'\n";
	print $fh "ha_registry_conninfo = '$registry'\n" if defined $registry;
	close($fh) or die;
	return $conf;
}

sub rejoin
{
	my (@args) = @_;
	my ($out, $err);
	IPC::Run::run([ 'pg_dr', 'rejoin', @args ], '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

my $keep = "wal_keep_size = '256MB'\n";

my $node1 = DrTest::node_new('node1', $env->{conf}, checksums => 1);
$node1->append_conf('postgresql.conf', $keep);
$node1->restart;
$node1->safe_psql('postgres', 'CREATE TABLE t (id int, what text)');
$node1->safe_psql('postgres', "INSERT INTO t SELECT g, 'before' FROM generate_series(1, 10) g");
$node1->backup('base');

my @standby;
for my $name ('node2', 'node3')
{
	my $n = PostgreSQL::Test::Cluster->new($name);
	$n->init_from_backup($node1, 'base', has_streaming => 1);
	push @standby, $n;
}
my ($node2, $node3) = @standby;

# the registry is read through node2 and node3 (any that answers)
my $registry = 'host=' . $node2->host . ',' . $node3->host
  . ' port=' . $node2->port . ',' . $node3->port . ' dbname=postgres';
my %conf = (
	node1 => node_conf('node1', $registry),
	node2 => node_conf('node2', $registry),
	node3 => node_conf('node3', $registry));
$node1->append_conf('postgresql.conf', "pg_dr.config_file = '$conf{node1}'\n");
$node1->reload;
for my $n ($node2, $node3)
{
	$n->append_conf('postgresql.conf', "pg_dr.config_file = '$conf{$n->name}'\n");
	$n->start;
}
for my $n ($node1, $node2, $node3)
{
	my $connstr = $n->connstr('postgres');
	$node1->safe_psql('postgres',
		"SELECT dr_node_register('" . $n->name . "', \$\$$connstr\$\$)");
}
$node1->wait_for_catchup($_) for ($node2, $node3);

# while node1 runs: the CLI refuses, and dr_rejoin() says what to run
my ($rc, $out, $err) = rejoin('--config', $conf{node1}, '--pgdata', $node1->data_dir);
is($rc, 1, 'rejoin of a running server fails');
like($err, qr/a server is still running on .* \(PID \d+\).*pg_ctl stop -D/s,
	'and says to stop it first');
my ($prc, $pout, $perr) = $node1->psql('postgres', 'SELECT dr_rejoin()');
like($perr, qr/cannot make a running primary a standby/, 'dr_rejoin() on a primary refuses');
like($perr, qr/HINT:.*pg_ctl stop -D '\Q${\ $node1->data_dir}\E' -m fast && pg_dr rejoin --config '\Q$conf{node1}\E' --pgdata/s,
	'with the exact commands to run');
like($node2->safe_psql('postgres', 'SELECT dr_rejoin()'),
	qr/already a standby.*nothing to rejoin/, 'dr_rejoin() on a standby: nothing to do');
is( $node1->safe_psql('postgres',
		"SELECT count(*) FROM dr_audit WHERE operation = 'dr_rejoin' AND sqlstate = '55000'"),
	'1', 'the refusal is audited');

# node2 is promoted; node1 goes on writing on timeline 1, then stops.  With
# its HA identity in its configuration, node1 would fence itself as soon
# as it saw node2 primary on a newer timeline (ha_failover = off or not),
# and write nothing: an administrator takes HA out of its configuration
# first (the worker then drops its write guard), as one would to write on
# an old primary by hand; it is put back for the rejoin.
my $full_conf = slurp_file($conf{node1});
(my $plain_conf = $full_conf) =~ s/^ha_.*\n//mg;
PostgreSQL::Test::Utils::append_to_file("$conf{node1}.tmp", $plain_conf);
rename("$conf{node1}.tmp", $conf{node1}) or die;
$node1->reload;
$node1->poll_query_until('postgres', 'SELECT count(*) = 0 FROM pgdr.ha_observed()')
  or die 'the HA worker of node1 still runs';
$node2->promote;
$node2->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'node2 was not promoted';
$node1->safe_psql('postgres', "INSERT INTO t SELECT g, 'diverged' FROM generate_series(11, 20) g");
$node1->safe_psql('postgres', 'CHECKPOINT');
$node1->stop('fast');
PostgreSQL::Test::Utils::append_to_file("$conf{node1}.tmp", $full_conf);
rename("$conf{node1}.tmp", $conf{node1}) or die;
DrTest::wait_worker($node2);
$node2->safe_psql('postgres', "INSERT INTO t SELECT g, 'new' FROM generate_series(21, 25) g");

# bad inputs, nothing changed by any
($rc, $out, $err) = rejoin('--config', $conf{node1});
is($rc, 2, 'no --pgdata: usage error');
like($err, qr/no data directory specified \(--pgdata\)/, 'and says so');
($rc, $out, $err) = rejoin('--config', $env->{conf}, '--pgdata', $node1->data_dir);
is($rc, 1, 'no --source and no ha_registry_conninfo: fails');
like($err, qr/sets no ha_registry_conninfo/, 'and says what to set');
($rc, $out, $err) = rejoin('--config', $conf{node1}, '--pgdata', $node1->data_dir,
	'--source', "host=$tmp port=1 dbname=postgres password=s3cret");
is($rc, 1, 'an unreachable source: fails');
like($err, qr/could not connect to the source \(host=\S+ port=1 dbname=postgres password=\*\*\*\*\*\*\*\*\)/,
	'and says which, its password hidden');
# a role that may read what rejoin reads, but is not in dr_admin
$node2->safe_psql('postgres',
	'CREATE ROLE not_admin LOGIN; GRANT pg_monitor TO not_admin; '
	  . 'GRANT EXECUTE ON FUNCTION pg_read_binary_file(text, bigint, bigint, boolean), '
	  . 'pg_control_system() TO not_admin');
($rc, $out, $err) = rejoin('--config', $conf{node1}, '--pgdata', $node1->data_dir,
	'--source', $node2->connstr('postgres') . ' user=not_admin');
is($rc, 1, 'a role that may not record the rejoin: fails');
like($err, qr/may not record the rejoin in the audit trail.*hint: Connect as a member of dr_admin/s,
	'before anything is changed, and says what to grant');
($rc, $out, $err) = rejoin('--config', $conf{node1}, '--pgdata', $node1->data_dir,
	'--source', $node3->connstr('postgres'));
is($rc, 1, 'a source that is a standby: fails');
like($err, qr/is a standby \(in recovery\), not a primary/, 'and says so');
ok(!-e $node1->data_dir . '/standby.signal', 'nothing written by the failures');

# the rejoin: the registry names node2 as the one primary; node1 diverged
($rc, $out, $err) = rejoin('--config', $conf{node1}, '--pgdata', $node1->data_dir);
is($rc, 0, 'pg_dr rejoin succeeds') or diag("stdout: $out\nstderr: $err");
like($out, qr/primary node2 \(.*\): timeline 2/, 'found node2 in the registry');
like($out, qr/rewinding: wrote past the fork/, 'node1 is rewound');
like($err, qr/pg_rewind|Done!/i, 'pg_rewind ran');
ok(-e $node1->data_dir . '/standby.signal', 'standby.signal written');
like(slurp_file($node1->data_dir . '/postgresql.auto.conf'),
	qr/^primary_conninfo = '.*port=${\ $node2->port}.*application_name=node1'$/m,
	'primary_conninfo names node2 and node1 as application_name');
like(slurp_file($node1->data_dir . '/postgresql.conf'),
	qr/^port = ${\ $node1->port}$/m, 'node1 kept its own postgresql.conf');

$node1->start;
$node2->safe_psql('postgres', "INSERT INTO t SELECT g, 'after' FROM generate_series(26, 30) g");
$node2->wait_for_catchup($node1);
is($node1->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'node1 is a standby');
is($node1->safe_psql('postgres', "SELECT count(*) FROM t WHERE what = 'diverged'"),
	'0', 'its diverged rows are gone');
is($node1->safe_psql('postgres', 'SELECT count(*) FROM t'), '20',
	'and it has every row of node2, the new ones streamed');
is( $node2->safe_psql('postgres',
		"SELECT arguments->>'node' || ' ' || (arguments->>'outcome') || ' ' || result"
		  . " FROM dr_audit WHERE operation = 'pg_dr rejoin' ORDER BY id DESC LIMIT 1"),
	'node1 rewound ok', 'the rejoin is in the new primary\'s audit trail');
like($node2->safe_psql('postgres',
		"SELECT count(*) FROM dr_audit WHERE operation = 'pg_dr rejoin' AND arguments->>'outcome' = 'refused'"),
	qr/^0$/, 'no refused rejoin recorded (the bad inputs were caught before the source)');

# switchover back: node2 stops cleanly, node1 has all of it and is promoted
$node2->stop('fast');
$node1->promote;
$node1->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'node1 was not promoted';
DrTest::wait_worker($node1);
($rc, $out, $err) = rejoin('--config', $conf{node2}, '--pgdata', $node2->data_dir,
	'--source', $node1->connstr('postgres'));
is($rc, 0, 'rejoin without divergence succeeds') or diag("stdout: $out\nstderr: $err");
like($out, qr/not rewound: nothing written past the fork/, 'pg_rewind is skipped');
unlike($err, qr/pg_rewind/, 'pg_rewind did not run');
$node2->start;
$node1->safe_psql('postgres', "INSERT INTO t VALUES (31, 'back')");
$node1->wait_for_catchup($node2);
is($node2->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'node2 is a standby');
is($node2->safe_psql('postgres', 'SELECT count(*) FROM t'), '21', 'and follows node1');
is( $node1->safe_psql('postgres',
		"SELECT arguments->>'outcome' FROM dr_audit WHERE operation = 'pg_dr rejoin' ORDER BY id DESC LIMIT 1"),
	'followed', 'recorded as followed');

# a cluster with neither data checksums nor wal_log_hints cannot be rewound
# (the test framework's streaming setup turns wal_log_hints on: off again)
my $plain = DrTest::node_new('plain', $env->{conf});
$plain->append_conf('postgresql.conf', $keep . "wal_log_hints = off\n");
$plain->restart;
$plain->safe_psql('postgres', 'CREATE TABLE t (id int)');
$plain->backup('pbase');
my $plain2 = PostgreSQL::Test::Cluster->new('plain2');
$plain2->init_from_backup($plain, 'pbase', has_streaming => 1);
$plain2->start;
$plain->wait_for_catchup($plain2);
$plain2->promote;
$plain2->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()') or die;
DrTest::wait_worker($plain2);
$plain->safe_psql('postgres', 'INSERT INTO t VALUES (1); CHECKPOINT');
$plain->stop('fast');
($rc, $out, $err) = rejoin('--config', $env->{conf}, '--pgdata', $plain->data_dir,
	'--source', $plain2->connstr('postgres'));
is($rc, 1, 'a diverged cluster without checksums or wal_log_hints: fails');
like($err, qr/neither data checksums nor wal_log_hints = on.*hint: Clone this node again/s,
	'and says what to do');
ok(!-e $plain->data_dir . '/standby.signal', 'nothing written');
is( $plain2->safe_psql('postgres',
		"SELECT arguments->>'outcome' FROM dr_audit WHERE operation = 'pg_dr rejoin' ORDER BY id DESC LIMIT 1"),
	'failed', 'the failed rejoin is recorded on the source');

done_testing();
