# 047_wal_summary.pl
#	Incrementals that read only what changed (WAL summaries).  With
#	archive_library = 'pg_dr', the pg_dr worker stores a summary of each
#	archived segment next to it; an incremental after a change of about
#	1 % of the pages reads at most 5 % of the data directory, and restored
#	it equals pg_dump of the source and passes amcheck and pg_checksums.
#	When the summaries cannot vouch (one removed: a gap in the chain) the
#	incremental reads every file whole; a relation created after the
#	parent is read whole while the rest is read in part, and a relation
#	truncated and extended again is restored right; a parameter change
#	(which may be one of wal_level) makes the summaries not vouch;
#	restored, the chain is still exact.  Expire removes the summaries with
#	their WAL.

use strict;
use warnings;

use lib 't/lib';
use DrTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $env = DrTest::repo_setup($tmp);
my $node = DrTest::node_new('walsum', $env->{conf}, checksums => 1);
$node->append_conf('postgresql.conf', qq{
archive_mode = on
archive_library = 'pg_dr'
});
PostgreSQL::Test::Utils::append_to_file($env->{conf}, "repo1_retention_full = 1\n");
$node->restart;
DrTest::wait_worker($node);
my $bindir = $node->config_data('--bindir');
my $walarch = "$env->{repo}/archive/wal";

$node->command_ok([ 'pgbench', '-i', '-s', '10', '-q', 'postgres' ], 'pgbench -i -s 10');

# the WAL summaries in the archive, by segment name
sub summaries
{
	return map { s/\.summary$//r } grep { /\.summary$/ } DrTest::archived_wal($env);
}

# the figures a backup logged: (bytes read, bytes of the data directory)
sub read_figures
{
	my ($id) = @_;
	my $log = slurp_file($node->logfile);
	$log =~ /backup \Q$id\E read (\d+) bytes of the (\d+) bytes of the data directory/
	  or die "backup $id logged no figures";
	return ($1, $2);
}

# write WAL through a few segments and wait until the archive has them and
# the summary duty summarized every one of them but the last
sub wal_through_segments
{
	my ($n) = @_;
	for (1 .. $n)
	{
		$node->safe_psql('postgres', 'CHECKPOINT');
		DrTest::wait_archived($node);
	}
	my $last = $node->safe_psql('postgres',
		'SELECT last_archived_wal FROM pg_stat_archiver');
	my $want = substr($last, 0, 16) . sprintf('%08X', hex(substr($last, 16, 8)) - 1);
	my $deadline = time + 120;
	while (time < $deadline)
	{
		return $want if grep { $_ eq $want } summaries();
		sleep 1;
	}
	die "no WAL summary of $want after 120 s";
}

my $t0 = time;
my $full = $node->safe_psql('postgres', 'SELECT dr_backup_full()');
my $fullSecs = time - $t0;
my ($fullRead, $cluster) = read_figures($full);
diag(sprintf('full backup %s: %.2f s, read %d of %d bytes', $full, $fullSecs,
	$fullRead, $cluster));
cmp_ok($fullRead, '>=', $cluster * 0.9, 'a full backup reads the whole data directory');

# about 1 % of the pages of pgbench_accounts (61 rows a page, 16,394 pages at
# scale 10): one row every 100 pages
$node->safe_psql('postgres',
	'UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 6100 = 0');
my $summarized = wal_through_segments(3);
ok(scalar(summaries()) >= 2, 'the worker summarized the archived segments')
  or diag(join(' ', summaries()));

$t0 = time;
my $inc1 = $node->safe_psql('postgres', 'SELECT dr_backup_incremental()');
my $inc1Secs = time - $t0;
my ($inc1Read, $inc1Cluster) = read_figures($inc1);
diag(sprintf('incremental %s: %.2f s (%.2fx the full), read %d of %d bytes (%.2f %%)',
	$inc1, $inc1Secs, $inc1Secs / $fullSecs, $inc1Read, $inc1Cluster,
	100.0 * $inc1Read / $inc1Cluster));
like(slurp_file($node->logfile),
	qr/incremental backup \Q$inc1\E reads the blocks that the WAL .* \([1-9]\d* archived WAL summaries/,
	'the incremental used the archived summaries');
is($node->safe_psql('postgres',
		"SELECT bytes_read FROM dr_backups WHERE backup_id = '$inc1'"), $inc1Read,
	'dr_backups.bytes_read says what it read');
cmp_ok($inc1Read, '<=', $inc1Cluster * 0.05,
	'an incremental after a change of 1 % of the pages reads at most 5 % of the data directory');
my $changed = $node->safe_psql('postgres',
	"SELECT pages_changed FROM dr_backups WHERE backup_id = '$inc1'");
diag("incremental $inc1 stored $changed pages");
cmp_ok($changed, '>=', 164,
	'it stored the pages that changed');

# restored: pg_dump, amcheck, pg_checksums
sub check_restore
{
	my ($id, $name) = @_;
	my $dump = DrTest::pg_dump_of($node);
	DrTest::wait_archived($node);
	my $dir = "$tmp/$name";
	my ($rc, $out, $err) = DrTest::restore($env, $id, $dir);
	is($rc, 0, "$name: restore of $id") or diag($err);
	PostgreSQL::Test::Utils::append_to_file("$dir/postgresql.conf", "archive_mode = off\n");
	my $r = DrTest::node_from_restore($name, $dir);
	is(DrTest::pg_dump_of($r), $dump, "$name: pg_dump equals the source's");
	ok(DrTest::amcheck_ok($r), "$name: amcheck on every index");
	$r->stop;
	$r->command_ok([ "$bindir/pg_checksums", '--check', '-D', $r->data_dir ],
		"$name: pg_checksums --check");
	return;
}
check_restore($inc1, 'restored_inc1');

# -- a gap in the chain of summaries: everything read --------------------
$node->command_ok([ 'pgbench', '-n', '-t', '50', '-c', '2', 'postgres' ],
	'pgbench writes again');
$node->safe_psql('postgres',
	'CREATE TABLE shrinks AS SELECT g AS id, repeat(\'z\', 100) AS pad FROM generate_series(1, 60000) g');
my $inc1Start = $node->safe_psql('postgres',
	"SELECT pg_walfile_name(start_lsn) FROM dr_backups WHERE backup_id = '$inc1'");
$summarized = wal_through_segments(3);
my $victim = "$walarch/" . substr($inc1Start, 0, 16) . "/$inc1Start.summary";
ok(-f $victim, "the summary of $inc1Start, where the parent starts, is there");
unlink($victim) or die "could not remove $victim: $!";

my $inc2 = $node->safe_psql('postgres', 'SELECT dr_backup_incremental()');
my ($inc2Read, $inc2Cluster) = read_figures($inc2);
like(slurp_file($node->logfile),
	qr/incremental backup \Q$inc2\E reads every file whole: the WAL summaries have a gap/,
	'a summary missing: the incremental says it reads everything');
cmp_ok($inc2Read, '>=', $inc2Cluster * 0.9, 'and reads the whole data directory');

# -- a relation created after the parent: read whole, the rest in part ----
$node->safe_psql('postgres',
	"CREATE TABLE born_later AS SELECT g AS id, repeat('y', 200) AS pad FROM generate_series(1, 20000) g;
	 CREATE INDEX born_later_id ON born_later (id);
	 UPDATE pgbench_accounts SET abalance = abalance - 1 WHERE aid % 9100 = 0;
	 DELETE FROM shrinks WHERE id > 10000;");
# truncated by VACUUM (XLOG_SMGR_TRUNCATE), then extended again
$node->safe_psql('postgres', 'VACUUM shrinks');
$node->safe_psql('postgres',
	"INSERT INTO shrinks SELECT g, 'again' FROM generate_series(70001, 75000) g");
wal_through_segments(2);
my $inc3 = $node->safe_psql('postgres', 'SELECT dr_backup_incremental()');
my ($inc3Read, $inc3Cluster) = read_figures($inc3);
my $bornSize = $node->safe_psql('postgres',
	"SELECT pg_relation_size('born_later') + pg_relation_size('born_later_id')");
like(slurp_file($node->logfile),
	qr/incremental backup \Q$inc3\E reads the blocks that the WAL/,
	'the next incremental reads in part again');
cmp_ok($inc3Read, '>=', $bornSize, 'it read the new relation whole');
# "little else": the blocks the WAL named, FSM/VM and catalog files read
# whole, and, depending on timing, pages whose hint bits a scan set since the
# parent (WAL-logged with data checksums): 5 % of the cluster was seen
# exceeded once in CI (18.9 MB against 14.7 MB), so 10 %; the 1 % case
# above keeps the 5 % goal
cmp_ok($inc3Read, '<=', $bornSize + $inc3Cluster * 0.10, 'and little else');
check_restore($inc3, 'restored_inc3');

# -- a parameter change (it may be of wal_level): not vouched ------------
$node->append_conf('postgresql.conf', "max_connections = 90\n");
$node->restart;
DrTest::wait_worker($node);
$node->safe_psql('postgres',
	'UPDATE pgbench_accounts SET abalance = abalance + 2 WHERE aid % 7100 = 0');
wal_through_segments(2);
my $inc4 = $node->safe_psql('postgres', 'SELECT dr_backup_incremental()');
my ($inc4Read, $inc4Cluster) = read_figures($inc4);
like(slurp_file($node->logfile),
	qr/incremental backup \Q$inc4\E reads every file whole: .*a parameter change/,
	'after a parameter change the incremental reads everything');
cmp_ok($inc4Read, '>=', $inc4Cluster * 0.9, 'the whole data directory');
check_restore($inc4, 'restored_inc4');

# -- expire: the summaries go with their WAL ----------------------------
my @before = summaries();
my $full2 = $node->safe_psql('postgres', 'SELECT dr_backup_full()');
# the summaries of the segments before full2's start are made (the last
# needed full2's first switch): none is written while expire runs
wal_through_segments(1);
$node->safe_psql('postgres', 'SELECT dr_expire()');
my $full2Start = $node->safe_psql('postgres',
	"SELECT pg_walfile_name(start_lsn) FROM dr_backups WHERE backup_id = '$full2'");
my @old = grep { $_ lt $full2Start } summaries();
is(scalar(@old), 0, 'expire removed the summaries of the WAL it removed')
  or diag("left: @old");
ok(scalar(@before) > 0, 'there were summaries before');
my %segments = map { $_ => 1 } grep { /^[0-9A-F]{24}$/ } DrTest::archived_wal($env);
my @orphans = grep { !$segments{$_} } summaries();
is(scalar(@orphans), 0, 'no summary outlives its segment') or diag("@orphans");

done_testing();
