# 013_backup_wal_archive.pl
#	With pg_dr archiving reliably, a backup does not store WAL of its own:
#	it waits until its stop segment is archived, and a restore fetches the
#	WAL from the archive (pg_dr wal-get).  pg_dr.backup_wal = always, or an
#	archive that is failing, keeps backups self-contained.

use strict;
use warnings;

use lib 't/lib';
use DrTest;
use File::Find;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $env = DrTest::repo_setup($tmp);
my $node = DrTest::node_new('walarchive', $env->{conf}, checksums => 1);
$node->append_conf('postgresql.conf', "archive_mode = on\narchive_library = 'pg_dr'\n");
$node->restart;
DrTest::wait_worker($node);

$node->safe_psql('postgres',
	"CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 20000) g");
$node->safe_psql('postgres', 'SELECT pg_switch_wal()');
$node->poll_query_until('postgres',
	'SELECT archived_count > 0 AND (last_failed_time IS NULL OR last_failed_time < last_archived_time) FROM pg_stat_archiver')
  or die 'nothing archived';

sub wal_objects
{
	my ($id) = @_;
	my $dir = "$env->{repo}/backup/$id/wal";
	return 0 unless -d $dir;
	opendir(my $dh, $dir) or die;
	my @n = grep { !/^\./ } readdir($dh);
	closedir($dh);
	return scalar(@n);
}

# archiving works: the backup leaves its WAL to the archive
my $id = $node->safe_psql('postgres', 'SELECT dr_backup_full()');
is(wal_objects($id), 0, 'a backup with reliable archiving stores no WAL of its own');
$node->safe_psql('postgres', 'INSERT INTO t SELECT g FROM generate_series(20001, 20100) g');
DrTest::wait_archived($node);

my $dir = "$tmp/restored";
my ($rc, $out, $err) = DrTest::restore($env, $id, $dir);
is($rc, 0, 'restore of the WAL-less backup') or diag($err);
PostgreSQL::Test::Utils::append_to_file("$dir/postgresql.conf", "archive_mode = off\n");
my $r = DrTest::node_from_restore('restored', $dir);
is($r->safe_psql('postgres', 'SELECT count(*) FROM t'), '20100',
	'it recovers from the archive: all rows, the later ones too');
ok(-d $r->data_dir . '/pg_wal/pg_dr_prefetch', 'wal-get prefetched the next segments');
$r->stop;

# pg_dr.backup_wal = always: self-contained
$id = $node->safe_psql('postgres', "SET pg_dr.backup_wal = always; SELECT dr_backup_full()");
cmp_ok(wal_objects($id), '>', 0, 'pg_dr.backup_wal = always stores the WAL');

# a failing archive: the backup does not wait for it, it stores its WAL
# every directory of the archive read-only (segments go to subdirectories)
sub archive_dirs_mode
{
	my ($mode) = @_;
	File::Find::find(sub { chmod($mode, $_) if -d $_ }, "$env->{repo}/archive/wal");
}
archive_dirs_mode(0500);
$node->safe_psql('postgres', 'INSERT INTO t SELECT 1; SELECT pg_switch_wal()');
$node->poll_query_until('postgres',
	'SELECT last_failed_time > coalesce(last_archived_time, \'-infinity\') FROM pg_stat_archiver')
  or die 'archiving did not fail';
$id = $node->safe_psql('postgres', 'SELECT dr_backup_full()');
cmp_ok(wal_objects($id), '>', 0, 'with archiving failing, the backup is self-contained');
archive_dirs_mode(0700);

$node->stop;
done_testing();
