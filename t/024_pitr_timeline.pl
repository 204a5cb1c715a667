# 024_pitr_timeline.pl
#	PITR across a timeline switch: restore to an instant, promote (timeline
#	2), write on the new timeline, which pg_dr archives into the same
#	repository; then restore again to an instant on timeline 2, from the
#	backup taken on timeline 1 (recovery follows the archived history file).

use strict;
use warnings;

use lib 't/lib';
use DrTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $env = DrTest::repo_setup($tmp);
my $archiving = "archive_mode = on\narchive_library = 'pg_dr'\n";
my $node = DrTest::node_new('tl1', $env->{conf});
$node->append_conf('postgresql.conf', $archiving);
$node->restart;
DrTest::wait_worker($node);

$node->safe_psql('postgres', 'CREATE TABLE ledger (id int PRIMARY KEY, tl int)');
$node->safe_psql('postgres', 'INSERT INTO ledger SELECT g, 1 FROM generate_series(1, 100) g');
my $full = $node->safe_psql('postgres', 'SELECT dr_backup_full()');
$node->safe_psql('postgres', 'INSERT INTO ledger SELECT g, 1 FROM generate_series(101, 200) g');
usleep(1_100_000);
my $t1 = $node->safe_psql('postgres', 'SELECT now()');
usleep(1_100_000);
$node->safe_psql('postgres', 'INSERT INTO ledger SELECT g, 1 FROM generate_series(201, 300) g');
DrTest::wait_archived($node);
$node->stop;

# back to t1: promotes onto timeline 2, and archives there as the new
# primary
my ($rc, $out, $err) = DrTest::restore_with($env, "$tmp/r1", '--target-time', $t1, '--as-primary');
is($rc, 0, 'restore to an instant on timeline 1') or diag($err);
my $r1 = DrTest::node_from_restore('tl2', "$tmp/r1");
is($r1->safe_psql('postgres', 'SELECT count(*), max(id) FROM ledger'), '200|200',
	'the restored cluster stops at the instant');
is($r1->safe_psql('postgres', 'SELECT timeline_id FROM pg_control_checkpoint()') , '2',
	'and continues on timeline 2')
  or $r1->safe_psql('postgres', 'CHECKPOINT');
$r1->safe_psql('postgres', 'INSERT INTO ledger SELECT g, 2 FROM generate_series(1001, 1050) g');
usleep(1_100_000);
my $t2 = $r1->safe_psql('postgres', 'SELECT now()');
usleep(1_100_000);
$r1->safe_psql('postgres', 'INSERT INTO ledger SELECT g, 2 FROM generate_series(1051, 1100) g');
DrTest::wait_archived($r1);
ok(-f "$env->{repo}/archive/wal/00000002.history", 'the timeline 2 history file is archived');
$r1->stop;

# to t2 on timeline 2, from the timeline 1 backup
($rc, $out, $err) = DrTest::restore_with($env, "$tmp/r2", '--target-time', $t2);
is($rc, 0, 'restore to an instant on timeline 2') or diag($err);
PostgreSQL::Test::Utils::append_to_file("$tmp/r2/postgresql.conf", "archive_mode = off\n");
my $r2 = DrTest::node_from_restore('tl3', "$tmp/r2");
is($r2->safe_psql('postgres',
	'SELECT count(*) FILTER (WHERE tl = 1), count(*) FILTER (WHERE tl = 2), max(id) FROM ledger'),
	'200|50|1050', 'it holds timeline 1 up to t1 and timeline 2 up to t2');
$r2->stop;

done_testing();
