# 014_pitr_schedule.pl
#	The pg_dr worker's PITR duties: a named restore point every
#	pg_dr.pitr_interval, recorded in dr_restore_points; a WAL switch when the
#	newest archived WAL is older than half the tier's RPO, recorded with its
#	reason; dr_restore_point() on demand, unique names; dr_pitr_window.

use strict;
use warnings;

use lib 't/lib';
use DrTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $env = DrTest::repo_setup($tmp);
my $node = DrTest::node_new('pitrsched', $env->{conf});
$node->append_conf('postgresql.conf',
	"archive_mode = on\narchive_library = 'pg_dr'\npg_dr.pitr_interval = '2s'\n");
$node->restart;
DrTest::wait_worker($node);

# scheduled restore points
$node->poll_query_until('postgres',
	"SELECT count(*) >= 2 FROM dr_restore_points WHERE origin = 'scheduled'")
  or die 'no scheduled restore points';
like($node->safe_psql('postgres',
	"SELECT name FROM dr_restore_points WHERE origin = 'scheduled' ORDER BY created_at LIMIT 1"),
	qr/^pg_dr_\d{8}_\d{6}$/, 'scheduled restore points are named by time');
ok($node->safe_psql('postgres',
	"SELECT bool_and(lsn > '0/0') FROM dr_restore_points") eq 't', 'with their LSN');

# on demand
my $lsn = $node->safe_psql('postgres', "SELECT dr_restore_point('before_batch')");
like($lsn, qr{^[0-9A-F]+/[0-9A-F]+$}, 'dr_restore_point() returns its LSN');
my ($rc, $out, $err) = $node->psql('postgres', "SELECT dr_restore_point('before_batch')");
like($err, qr/restore point "before_batch" already exists/, 'names are unique');
is($node->safe_psql('postgres',
	"SELECT origin FROM dr_restore_points WHERE name = 'before_batch'"), 'manual',
	'recorded as manual');
is($node->safe_psql('postgres',
	"SELECT result FROM dr_audit WHERE operation = 'dr_restore_point' ORDER BY id LIMIT 1"), 'ok',
	'audited');

# RPO: with a 2 s RPO the worker switches WAL once the archive is 1 s behind
$node->safe_psql('postgres',
	"UPDATE dr_objectives SET rpo = interval '2 seconds' WHERE tier = 'critical'");
$node->safe_psql('postgres', "CREATE TABLE w (x int); INSERT INTO w SELECT generate_series(1, 1000)");
$node->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM pgdr.pitr_events WHERE kind = 'wal-switch'")
  or die 'no RPO WAL switch';
like($node->safe_psql('postgres',
	"SELECT reason FROM pgdr.pitr_events WHERE kind = 'wal-switch' LIMIT 1"),
	qr/RPO/, 'the WAL switch is recorded with its reason');
$node->poll_query_until('postgres',
	"SELECT last_archived_wal >= pg_walfile_name(" .
	"(SELECT lsn FROM pgdr.pitr_events WHERE kind = 'wal-switch' ORDER BY id LIMIT 1)) FROM pg_stat_archiver")
  or die 'the switched segment was not archived';
pass('the switched segment reached the archive');

# the window: from the backup to the newest restore point inside the archive
$node->safe_psql('postgres', "SELECT dr_backup_full()");
$node->safe_psql('postgres', "SELECT dr_restore_point('after_backup'); SELECT pg_switch_wal()");
$node->poll_query_until('postgres',
	"SELECT latest >= (SELECT created_at FROM dr_restore_points WHERE name = 'after_backup')
	   FROM dr_pitr_window WHERE timeline = 1")
  or die 'the window did not reach the restore point';
is($node->safe_psql('postgres',
	"SELECT earliest = (SELECT finished_at FROM dr_backups) FROM dr_pitr_window WHERE timeline = 1"),
	't', 'the window starts at the end of the backup');

# an archived RPO WAL switch is an instant a restore reaches: the window's
# latest goes past the newest restore point to it (it used to stop at the
# restore point).  Scheduled restore points are turned off first, so that
# only the switch can move the window.
$node->safe_psql('postgres', "ALTER SYSTEM SET pg_dr.pitr_interval = 0");
$node->safe_psql('postgres', "SELECT pg_reload_conf()");
sleep(1);
$node->safe_psql('postgres', "SELECT dr_restore_point('before_switch')");
$node->safe_psql('postgres', "INSERT INTO w SELECT generate_series(1, 1000)");
my $switched = "(SELECT max(e.at) FROM pgdr.pitr_events e
				   WHERE e.kind = 'wal-switch'
				     AND e.at > (SELECT created_at FROM dr_restore_points WHERE name = 'before_switch')
				     AND e.lsn <= (SELECT archived_to_lsn FROM dr_pitr_window WHERE timeline = 1))";
$node->poll_query_until('postgres', "SELECT $switched IS NOT NULL")
  or die 'no archived RPO WAL switch after the restore point';
is($node->safe_psql('postgres',
	"SELECT count(*) FROM pgdr.pitr_events WHERE kind = 'restore-point'
	   AND at > (SELECT created_at FROM dr_restore_points WHERE name = 'before_switch')"),
	'0', 'no restore point after before_switch (only the switch moves the window)');
is($node->safe_psql('postgres',
	"SELECT latest >= $switched AND latest > (SELECT created_at FROM dr_restore_points WHERE name = 'before_switch')
	   FROM dr_pitr_window WHERE timeline = 1"),
	't', 'the window reaches the archived RPO WAL switch, past the newest restore point');

$node->stop;
done_testing();
