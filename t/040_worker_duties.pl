# 040_worker_duties.pl
#	The pg_dr worker runs its duties when they are due (src/ops/duty.h):
#	it sleeps until the earliest next due time, not a fixed round.  With
#	pg_dr.pitr_interval = 2s, scheduled restore points come about every 2 s
#	(a fixed 10 s round made them about every 10 s on an idle server), and
#	turning the interval off by a reload stops them at once.

use strict;
use warnings;

use lib 't/lib';
use DrTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep);

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $env = DrTest::repo_setup($tmp);
my $node = DrTest::node_new('duties', $env->{conf});
$node->append_conf('postgresql.conf', "pg_dr.pitr_interval = '2s'\n");
$node->restart;
my $logStart = -s $node->logfile;
DrTest::wait_worker($node);

$node->poll_query_until('postgres',
	"SELECT count(*) >= 1 FROM dr_restore_points WHERE origin = 'scheduled'")
  or die 'no scheduled restore point';

# an idle server: nothing but the duty's own due time wakes the worker
sleep(9);
my $gaps = $node->safe_psql('postgres',
	"SELECT count(*), max(gap) FROM (
	   SELECT created_at - lag(created_at) OVER (ORDER BY created_at) AS gap
	     FROM dr_restore_points WHERE origin = 'scheduled') g
	  WHERE gap IS NOT NULL");
my ($count, $maxgap) = split /\|/, $gaps;
cmp_ok($count, '>=', 3, "restore points every ~2 s on an idle server ($count gaps in 9 s)");
ok($node->safe_psql('postgres',
	"SELECT max(gap) < interval '5 seconds' FROM (
	   SELECT created_at - lag(created_at) OVER (ORDER BY created_at) AS gap
	     FROM dr_restore_points WHERE origin = 'scheduled') g") eq 't',
	"no gap near the old 10 s round (largest: $maxgap)");
ok($node->safe_psql('postgres',
	"SELECT min(gap) >= interval '2 seconds' FROM (
	   SELECT created_at - lag(created_at) OVER (ORDER BY created_at) AS gap
	     FROM dr_restore_points WHERE origin = 'scheduled') g") eq 't',
	'never before the interval passed');

# the interval off: the reload wakes the worker, no restore point after it
$node->safe_psql('postgres', "ALTER SYSTEM SET pg_dr.pitr_interval = 0");
$node->safe_psql('postgres', "SELECT pg_reload_conf()");
sleep(1);
my $before = $node->safe_psql('postgres',
	"SELECT count(*) FROM dr_restore_points WHERE origin = 'scheduled'");
sleep(4);
is($node->safe_psql('postgres',
	"SELECT count(*) FROM dr_restore_points WHERE origin = 'scheduled'"),
	$before, 'no scheduled restore point once the interval is off');

# no duty took the worker down
ok(!$node->log_contains(qr/"pg_dr worker".*exited/, $logStart),
	'the worker never exited');

$node->stop;
done_testing();
