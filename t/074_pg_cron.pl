# 074_pg_cron.pl
#	pg_cron as the scheduler: a real pg_cron (Debian's postgresql-15-cron),
#	preloaded with pg_dr, runs SELECT dr_backup_incremental() every minute,
#	as docs/scheduling.md shows.  The first run takes a full backup instead
#	(nothing to build on), the next an incremental on it; both are in
#	dr_backups and in dr_jobs as manual jobs of application pg_cron, and
#	cron.job_run_details says they succeeded.

use strict;
use warnings;

use lib 't/lib';
use DrTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $env = DrTest::repo_setup($tmp);

my $node = PostgreSQL::Test::Cluster->new('cron');
$node->init(allows_streaming => 1);
$node->append_conf('postgresql.conf', DrTest::_pg_dr_conf($env->{conf}));
# pg_cron connects as a client through the socket directory (libpq)
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_dr, pg_cron'\n"
	  . "cron.database_name = 'postgres'\n"
	  . "cron.host = '" . $node->host . "'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_dr; CREATE EXTENSION pg_cron');
DrTest::wait_worker($node);
$node->safe_psql('postgres', 'CREATE TABLE t AS SELECT g FROM generate_series(1, 10000) g');

# the call docs/scheduling.md shows (pg_cron 1.4: a minute is the finest step)
my $jobid = $node->safe_psql('postgres',
	q{SELECT cron.schedule('pg_dr-incremental', '* * * * *', 'SELECT dr_backup_incremental()')});
like($jobid, qr/^\d+$/, "cron.schedule: job $jobid");

$node->poll_query_until('postgres', q{SELECT count(*) >= 1 FROM dr_backups}, 't')
  or die 'pg_cron took no backup';
my $first = $node->safe_psql('postgres', 'SELECT backup_id, kind FROM dr_backups ORDER BY backup_id LIMIT 1');
like($first, qr/^\d{8}-\d{6}F\|full$/, 'the first run: a full backup instead (nothing to build on)');
my ($firstId) = split /\|/, $first;

$node->poll_query_until('postgres', q{
	SELECT count(*) >= 1 FROM cron.job_run_details
	 WHERE status = 'succeeded' AND command = 'SELECT dr_backup_incremental()'})
  or die 'cron.job_run_details has no successful run';
pass('cron.job_run_details: the run succeeded');

is($node->safe_psql('postgres', qq{
	SELECT trigger || '|' || kind || '|' || result || '|' || application_name || '|' || (reason LIKE 'there is no backup%')
	  FROM dr_jobs WHERE backup_id = '$firstId'}),
	'manual|full|ok|pg_cron|true',
	'dr_jobs: a manual job of pg_cron, a full instead, and why');

$node->poll_query_until('postgres', q{
	SELECT count(*) >= 1 FROM dr_backups WHERE kind = 'incremental'}, 't')
  or die 'pg_cron took no incremental';
my $incr = $node->safe_psql('postgres',
	"SELECT backup_id || '|' || parent_id FROM dr_backups WHERE kind = 'incremental' ORDER BY backup_id LIMIT 1");
like($incr, qr/^\d{8}-\d{6}I\|\Q$firstId\E$/, 'the next run: an incremental on the full');
my ($incrId) = split /\|/, $incr;
is($node->safe_psql('postgres',
	"SELECT trigger || '|' || kind || '|' || result || '|' || application_name FROM dr_jobs WHERE backup_id = '$incrId'"),
	'manual|incremental|ok|pg_cron', 'dr_jobs: the incremental, by pg_cron');
ok($node->poll_query_until('postgres', q{
	SELECT count(*) >= 2 FROM dr_audit WHERE operation = 'dr_backup_incremental' AND result = 'ok'}),
	'both runs are audited too');

$node->safe_psql('postgres', "SELECT cron.unschedule('pg_dr-incremental')");
$node->stop;
done_testing();
