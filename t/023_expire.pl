# 023_expire.pl
#	Retention with dr_expire(): archive_mode on with archive_library =
#	'pg_dr', three full backups with incrementals between them and WAL
#	switches.  Without a policy nothing is removed; with
#	repo1_retention_full = 2 the oldest full backup and its incrementals
#	go, and the archived WAL before the start of the oldest kept full; a
#	manifest-less directory older than an hour goes too, a young one
#	stays.  dr_backups and pg_dr info agree, dr_wal_verify() is still ok,
#	the call is audited, a second call removes nothing, and the oldest kept
#	backup still restores and starts.  pg_dr expire --dry-run says what
#	dr_expire() then removes, and pg_dr expire afterwards finds nothing.
#	An incremental running on top of a backup beyond the policy: dr_expire()
#	keeps that parent, and so does pg_dr expire (which sees the running
#	backup through its lock in the repository); a parent removed anyway
#	makes the backup fail instead of looking valid.

use strict;
use warnings;

use File::Path qw(make_path);
use JSON::PP;
use lib 't/lib';
use DrTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $env = DrTest::repo_setup($tmp);
my $node = DrTest::node_new('expire', $env->{conf});
$node->append_conf('postgresql.conf', qq{
archive_mode = on
archive_library = 'pg_dr'
});
$node->restart;
DrTest::wait_worker($node);

my $repo = $env->{repo};

sub switch_wal
{
	my ($n) = @_;
	$node->safe_psql('postgres',
		'INSERT INTO filler SELECT g FROM generate_series(1, 2000) g; SELECT pg_switch_wal()')
	  for 1 .. $n;
}

sub wait_drained
{
	$node->poll_query_until('postgres',
		'SELECT pending_segments = 0 FROM dr_archive_status')
	  or die "archiving did not catch up";
}

sub info_backups
{
	my ($out, $err);
	IPC::Run::run([ 'pg_dr', 'info', '--config', $env->{conf}, '--json' ],
		'>', \$out, '2>', \$err);
	my $doc = JSON::PP->new->decode($out);
	return join(',', map { $_->{id} } @{ $doc->{repositories}[0]{backups} });
}

$node->command_ok([ 'pgbench', '-i', '-s', '1', '-q', 'postgres' ], 'pgbench -i');
$node->safe_psql('postgres', 'CREATE TABLE filler (i int)');

my @ids;
for my $n (1 .. 3)
{
	my $full = $node->safe_psql('postgres', "SELECT dr_backup_full('full $n')");
	push @ids, $full;
	switch_wal(2);
	my $incr = $node->safe_psql('postgres',
		"SELECT dr_backup_incremental('$full', 'incr $n')");
	push @ids, $incr;
	switch_wal(2);
}
wait_drained();
is(scalar(@ids), 6, 'three fulls, each with an incremental');
is($node->safe_psql('postgres', "SELECT string_agg(backup_id, ',' ORDER BY backup_id) FROM dr_backups"),
	join(',', @ids), 'dr_backups lists them');

# ---- no policy: nothing removed, and the caller is told
my ($ret, $stdout, $stderr) = $node->psql('postgres',
	'SELECT backups_removed, wal_removed, bytes_freed FROM dr_expire()');
is($ret, 0, 'dr_expire() without a policy succeeds');
is($stdout, '0|0|0', 'without a policy nothing is removed');
like($stderr, qr/repo1 has no retention policy: nothing is removed/,
	'without a policy: NOTICE says so');
is(info_backups(), join(',', @ids), 'every backup still there');

# ---- only dr_admin may call it
$node->safe_psql('postgres', 'CREATE ROLE expire_op LOGIN IN ROLE dr_operator');
($ret, $stdout, $stderr) = $node->psql('postgres', 'SELECT dr_expire()',
	extra_params => [ '-U', 'expire_op' ]);
like($stderr, qr/permission denied for function dr_expire/, 'dr_operator may not expire');

# ---- orphans: a manifest-less directory from two hours ago, and a young one
my $old_orphan = "$repo/backup/20200101-000000F";
my $young_orphan = "$repo/backup/20200101-000001F";
make_path("$old_orphan/data/base", "$young_orphan/data");
PostgreSQL::Test::Utils::append_to_file("$old_orphan/data/base/obj", 'x' x 100);
PostgreSQL::Test::Utils::append_to_file("$young_orphan/data/obj", 'y');
system('touch', '-d', '2 hours ago', $old_orphan) == 0 or die 'touch';

# ---- the policy: two fulls
PostgreSQL::Test::Utils::append_to_file($env->{conf}, "repo1_retention_full = 2\n");
my $start2 = $node->safe_psql('postgres',
	"SELECT pg_walfile_name(start_lsn) FROM dr_backups WHERE backup_id = '$ids[2]'");
my @before = DrTest::archived_wal($env);
my @older = grep { /^[0-9A-F]{24}/ && substr($_, 0, 24) lt $start2 } @before;
cmp_ok(scalar(@older), '>', 0, 'WAL older than the start of the second full is archived');

# the CLI, dry run: says what would go, removes nothing
my $nolder = scalar(@older);
command_like([ 'pg_dr', 'expire', '--config', $env->{conf}, '--dry-run' ],
	qr/\Arepo1: policy of the repository \(repo1_retention_full\): keep 2 full backups\nwould remove backup $ids[0]\nwould remove backup $ids[1]\nwould remove directory without a manifest 20200101-000000F\nwould remove 2 backups and 1 directories without a manifest, $nolder WAL files, \d+ bytes; 4 backups kept, WAL kept from $start2\n\z/,
	'pg_dr expire --dry-run says what would be removed');
# (the archive may grow meanwhile: the worker switches WAL for the RPO)
sub still_there
{
	my %now = map { $_ => 1 } DrTest::archived_wal($env);
	return scalar(grep { !$now{$_} } @_) == 0;
}
ok(-e "$repo/backup/$ids[0]/manifest" && -e $old_orphan && still_there(@before),
	'a dry run removes nothing');
command_fails_like([ 'pg_dr', 'expire', '--config', $env->{conf}, '--bogus' ],
	qr/unrecognized option|invalid option|bogus/, 'pg_dr expire: unknown option refused');

($ret, $stdout, $stderr) = $node->psql('postgres',
	'SELECT backups_removed, wal_removed, bytes_freed > 0 FROM dr_expire()');
is($ret, 0, 'dr_expire() succeeds') or diag($stderr);
my ($removed, $wal_removed, $freed) = split /\|/, $stdout;
is($removed, 3, 'the oldest full, its incremental and the old orphan are removed');
is($wal_removed, scalar(@older), "the $wal_removed WAL files before $start2 are removed");
is($freed, 't', 'bytes were freed');

ok(!-e "$repo/backup/$ids[0]" && !-e "$repo/backup/$ids[1]",
	'the oldest full and its incremental are gone from the repository');
ok(-e "$repo/backup/$ids[$_]/manifest", "backup $ids[$_] kept") for 2 .. 5;
ok(!-e $old_orphan, 'the manifest-less directory older than an hour is gone');
ok(-e $young_orphan, 'a young manifest-less directory (a running backup?) stays');

my @after = DrTest::archived_wal($env);
is(scalar(grep { /^[0-9A-F]{24}/ && substr($_, 0, 24) lt $start2 } @after), 0,
	'no WAL older than the start of the oldest kept full is left');
ok((grep { $_ eq $start2 } @after), "the start segment $start2 of the oldest kept full is kept");
ok(still_there(grep { !/^[0-9A-F]{24}/ || substr($_, 0, 24) ge $start2 } @before),
	'every newer WAL file is kept');

my $kept = join(',', @ids[2 .. 5]);
is($node->safe_psql('postgres', "SELECT string_agg(backup_id, ',' ORDER BY backup_id) FROM dr_backups"),
	$kept, 'dr_backups lists the kept backups');
is(info_backups(), $kept, 'pg_dr info agrees');
is($node->safe_psql('postgres', 'SELECT ok, problems FROM dr_wal_verify()'),
	't|{}', 'dr_wal_verify() is still ok');

$node->poll_query_until('postgres',
	"SELECT count(*) = 2 FROM dr_audit WHERE operation = 'dr_expire'")
  or die 'audit records of dr_expire did not arrive';
is($node->safe_psql('postgres',
	"SELECT result, arguments->'backups' = '[\"$ids[0]\", \"$ids[1]\"]'::jsonb,
	        arguments->'orphans', (arguments->>'wal_removed')::int
	   FROM dr_audit WHERE operation = 'dr_expire' ORDER BY id DESC LIMIT 1"),
	"ok|t|[\"20200101-000000F\"]|$wal_removed", 'dr_expire() is audited with what it removed');

# ---- a second call: nothing left to remove
($ret, $stdout, $stderr) = $node->psql('postgres',
	'SELECT backups_removed, wal_removed, bytes_freed FROM dr_expire()');
is($stdout, '0|0|0', 'a second dr_expire() removes nothing');
like($stderr, qr/nothing to expire: 4 backups kept, WAL kept from \Q$start2\E/,
	'and says what it keeps');

command_like([ 'pg_dr', 'expire', '--config', $env->{conf} ],
	qr/\Arepo1: policy of the repository \(repo1_retention_full\): keep 2 full backups\nremoved 0 backups and 0 directories without a manifest, 0 WAL files, 0 bytes; 4 backups kept, WAL kept from $start2\n\z/,
	'pg_dr expire agrees that nothing is left to remove');

# ---- the oldest kept backup still restores
$node->safe_psql('postgres', 'CREATE TABLE marker AS SELECT 1 AS one');
my $dir = "$tmp/restored";
my ($rc, $out, $err) = DrTest::restore($env, $ids[2], $dir);
is($rc, 0, "the oldest kept backup $ids[2] restores") or diag($err);
PostgreSQL::Test::Utils::append_to_file("$dir/postgresql.conf", "\narchive_mode = off\n");
my $r = DrTest::node_from_restore('expire_restored', $dir);
ok(DrTest::pgbench_balanced($r), 'the restored cluster starts and pgbench balances agree');
$r->stop;

# ---- a backup running on top of one the policy would remove
my $full4 = $node->safe_psql('postgres', "SELECT dr_backup_full('full 4')");
my ($h, $iout, $ierr) = DrTest::slow_backup($node, "dr_backup_incremental('$ids[2]')");
($ret, $stdout, $stderr) = $node->psql('postgres', 'SELECT backups_removed FROM dr_expire()');
is($stdout, '1', "dr_expire() during an incremental on $ids[2]: only $ids[3] goes") or diag($stderr);
ok(-e "$repo/backup/$ids[2]/manifest", "the running incremental's parent $ids[2] is kept");
$h->finish;
like($$iout, qr/^\d{8}-\d{6}I$/, 'and the incremental completes') or diag($$ierr);
(my $on_old = $$iout) =~ s/\s+\z//;
command_ok([ 'pg_dr', 'verify', '--config', $env->{conf}, '--backup', $on_old ],
	'it verifies, chain included');

($h, $iout, $ierr) = DrTest::slow_backup($node, "dr_backup_incremental('$ids[2]')");
command_like([ 'pg_dr', 'expire', '--config', $env->{conf} ],
	qr/; 1 running backups kept \(live lock\)$/m,
	'pg_dr expire meanwhile sees the running backup through its lock');
ok(-e "$repo/backup/$ids[2]/manifest", "and keeps its parent $ids[2] (named in the lock)");
# the parent removed anyway (by hand, or by an expire that found the lock
# expired): the backup must notice
unlink("$repo/backup/$ids[2]/manifest") or die "unlink: $!";
$h->finish;
# (found by the workers reading the parent's copies, or before the manifest)
like($$ierr,
	qr/parent backup $ids[2] was removed while backup \d{8}-\d{6}I was taken|in parent backup $ids[2] is gone: the parent was removed while backup \d{8}-\d{6}I was taken/,
	'the incremental fails: its parent is gone');
is($node->safe_psql('postgres', 'SELECT dr_repository_sync()') ne '' &&
	$node->safe_psql('postgres', "SELECT count(*) FROM dr_backups WHERE parent_id = '$ids[2]'"),
	'0', 'no backup on top of the removed parent is left looking valid');

$node->stop;
done_testing();
