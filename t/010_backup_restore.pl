# 010_backup_restore.pl
#	A full backup and two block-level incrementals, the first taken while
#	pgbench writes; each restored by the CLI into a new directory starts,
#	keeps pgbench's balance invariant, passes pg_checksums and amcheck; a
#	backup taken with no concurrent writes restores to exactly the source's
#	pg_dump.  Incrementals store only changed pages.  SIGTERM while the
#	restore's jobs run stops them at once.

use strict;
use warnings;

use File::Find qw(find);
use Time::HiRes ();

use lib 't/lib';
use DrTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $env = DrTest::repo_setup($tmp);
my $node = DrTest::node_new('source', $env->{conf}, checksums => 1);
my $bindir = $node->config_data('--bindir');

$node->command_ok([ 'pgbench', '-i', '-s', '5', '-q', 'postgres' ], 'pgbench -i');

# full, quiet
my $full = $node->safe_psql('postgres', "SELECT dr_backup_full('first')");
like($full, qr/^\d{8}-\d{6}F$/, "full backup id $full");
my $dump_full = DrTest::pg_dump_of($node);

my $row = $node->safe_psql('postgres',
	"SELECT kind, status, label, files > 0, data_bytes > 0, stored_bytes > 0,
	        stored_bytes < data_bytes, corrupt_pages, start_lsn < stop_lsn
	   FROM dr_backups WHERE backup_id = '$full'");
is($row, 'full|valid|first|t|t|t|t|0|t', 'dr_backups describes the full backup');

# incremental while pgbench writes
my $pgbench = IPC::Run::start(
	[ 'pgbench', '-n', '-T', '8', '-c', '2', $node->connstr('postgres') ],
	'>', \my $pgb_out, '2>', \my $pgb_err);
sleep 2;
my $incr1 = $node->safe_psql('postgres', "SELECT dr_backup_incremental()");
like($incr1, qr/^\d{8}-\d{6}I$/, "incremental id $incr1");
ok($pgbench->finish, 'pgbench ran') or diag($pgb_err);

# second incremental, quiet, on top of the first
sleep 1;
my $incr2 = $node->safe_psql('postgres', "SELECT dr_backup_incremental('$incr1')");
my $dump_incr2 = DrTest::pg_dump_of($node);

$row = $node->safe_psql('postgres',
	"SELECT kind, parent_id FROM dr_backups WHERE backup_id = '$incr1'");
is($row, "incremental|$full", 'the first incremental has the full as parent');
$row = $node->safe_psql('postgres',
	"SELECT parent_id, pages_changed > 0 FROM dr_backups WHERE backup_id = '$incr2'");
is($row, "$incr1|t", 'the second incremental has the first as parent and changed pages');

# block-level: an incremental stores far less than the full
my ($full_stored, $incr2_stored, $incr2_data) = split /\|/,
  $node->safe_psql('postgres',
	"SELECT (SELECT stored_bytes FROM dr_backups WHERE backup_id = '$full'),
	        stored_bytes, data_bytes FROM dr_backups WHERE backup_id = '$incr2'");
cmp_ok($incr2_stored, '<', $full_stored, 'the incremental stores less than the full');

# the audit trail has the three backups
is($node->safe_psql('postgres',
	"SELECT count(*) FROM dr_audit WHERE operation IN ('dr_backup_full', 'dr_backup_incremental')
	    AND result = 'ok' AND arguments->>'backup_id' IN ('$full', '$incr1', '$incr2')"),
	'3', 'each backup is audited with its id');

command_ok([ 'pg_dr', 'verify', '--config', $env->{conf}, '--backup', 'all' ],
	'pg_dr verify: every backup is intact');

# restore each, check it
my %expect_dump = ($full => $dump_full, $incr2 => $dump_incr2);
my $n = 0;
for my $id ($full, $incr1, $incr2)
{
	$n++;
	my $dir = "$tmp/restore$n";
	my ($rc, $out, $err) = DrTest::restore($env, $id, $dir, '--jobs', '2');
	is($rc, 0, "restore of $id") or diag($err);
	ok(-f "$dir/recovery.signal", "$id: recovery.signal written");
	like(slurp_file("$dir/postgresql.auto.conf"), qr/restore_command = .*wal-get/,
		"$id: restore_command calls pg_dr wal-get");

	my $r = DrTest::node_from_restore("restored$n", $dir);
	if (exists $expect_dump{$id})
	{
		my $dump = DrTest::pg_dump_of($r);
		ok($dump eq $expect_dump{$id}, "$id: pg_dump equals the source's at backup time")
		  or do
		{
			PostgreSQL::Test::Utils::append_to_file("$tmp/dump.expected", $expect_dump{$id});
			PostgreSQL::Test::Utils::append_to_file("$tmp/dump.restored", $dump);
			diag(scalar `diff "$tmp/dump.expected" "$tmp/dump.restored" | head -20`);
		};
	}
	ok(DrTest::pgbench_balanced($r), "$id: pgbench balances agree");
	ok(DrTest::amcheck_ok($r), "$id: amcheck finds nothing");
	$r->stop;
	$r->command_ok([ "$bindir/pg_checksums", '--check', '-D', $r->data_dir ],
		"$id: pg_checksums --check");
}

my ($rc, $out, $err);

# ---- SIGTERM while the jobs of a restore run (once a job has written a
# file): the jobs stop at once, the command says so and exits with
# 128 + SIGTERM (docs/cli.md), the target has no pg_control, no job is left
# running
{
	my $dir = "$tmp/restore_term";
	my ($tout, $terr) = ('', '');
	my $h = IPC::Run::start(
		[ 'pg_dr', 'restore', '--config', $env->{conf}, '--pgdata', $dir,
		  '--backup', $full, '--jobs', '2' ], '>', \$tout, '2>', \$terr);
	my $deadline = Time::HiRes::time() + 60;
	Time::HiRes::sleep(0.01)
	  until -e "$dir/PG_VERSION" || Time::HiRes::time() > $deadline;
	my $sent = Time::HiRes::time();
	$h->signal('TERM');
	$h->finish;
	my $took = Time::HiRes::time() - $sent;
	is($h->full_result >> 8, 143, 'SIGTERM during restore --jobs 2: exit status 143')
	  or diag("status " . $h->full_result . ": $terr");
	like($terr, qr/error: restore canceled.*restore stopped by SIGTERM/s,
		'and says the restore was canceled, by SIGTERM');
	ok(!-e "$dir/global/pg_control", 'the canceled target has no pg_control');
	cmp_ok($took, '<', 5, 'stopped at once, not after the jobs finished');
	is(`ps -eo args | grep -F -- '$dir' | grep -v grep`, '', 'no job left running');
}

# ---- changed pages are stored XORed with the parent's copy (the parent
# stores the files whole): a page with one tuple's header changed costs
# tens of bytes, not the hundreds a compressed page does
$node->safe_psql('postgres',
	'UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 50 = 0');
$node->safe_psql('postgres', 'CHECKPOINT');
my $xincr = $node->safe_psql('postgres', "SELECT dr_backup_incremental('$full')");
my $dump_xincr = DrTest::pg_dump_of($node);
my ($xstored, $xpages) = split /\|/, $node->safe_psql('postgres',
	"SELECT stored_bytes, pages_changed FROM dr_backups WHERE backup_id = '$xincr'");
my $xwal = 0;
find(sub { $xwal += -s $_ if -f $_ }, "$env->{repo}/backup/$xincr/wal");
cmp_ok($xpages, '>', 5000, "$xpages pages changed since the full");
my $per_page = ($xstored - $xwal) / $xpages;
cmp_ok($per_page, '<', 400,
	sprintf('stored XORed with the full\'s copy: %.0f bytes a changed page', $per_page));
my $xdir = "$tmp/restore_xor";
($rc, $out, $err) = DrTest::restore($env, $xincr, $xdir, '--jobs', '2');
is($rc, 0, "restore of $xincr") or diag($err);
my $rx = DrTest::node_from_restore('restored_xor', $xdir);
ok(DrTest::pg_dump_of($rx) eq $dump_xincr, "$xincr: pg_dump equals the source's");
ok(DrTest::amcheck_ok($rx), "$xincr: amcheck finds nothing");
$rx->stop;
$rx->command_ok([ "$bindir/pg_checksums", '--check', '-D', $rx->data_dir ],
	"$xincr: pg_checksums --check");

# a damaged copy in the parent: the incremental fails, clearly
my ($accounts) = $node->safe_psql('postgres',
	"SELECT pg_relation_filepath('pgbench_accounts')");
# (its first part when the full stores it in parts: pg_dr.backup_part_size)
my $object = "$env->{repo}/backup/$full/data/$accounts";
$object = "$env->{repo}/backup/$full/part/$accounts/0" unless -f $object;
open(my $ofh, '+<:raw', $object) or die "$object: $!";
seek($ofh, 200, 0);
read($ofh, my $byte, 1);
seek($ofh, 200, 0);
print $ofh chr(ord($byte) ^ 0x01);
close($ofh) or die $!;
$node->safe_psql('postgres',
	'UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = 1');
my ($dret, $dout, $derr) = $node->psql('postgres', "SELECT dr_backup_incremental('$full')");
isnt($dret, 0, 'an incremental on a damaged parent fails');
like($derr, qr/could not read the parent's copy of "\Q$accounts\E"/,
	'and names the file whose parent copy is damaged');

# a non-empty target is refused, unless --delta
mkdir("$tmp/nonempty") or die;
PostgreSQL::Test::Utils::append_to_file("$tmp/nonempty/PG_VERSION", "15\n");
($rc, $out, $err) = DrTest::restore($env, $incr2, "$tmp/nonempty");
isnt($rc, 0, 'restore into a non-empty directory is refused');
like($err, qr/not empty/, 'and says why');

$node->stop;
done_testing();
