# 030_restore_safety.pl
#	Restores that must be refused, and targets that must hold what they
#	promise (issue 8, items 4, 15 and 18).
#	- dr_restore() never writes into the running cluster: a target through
#	  a link to its data directory (link/pg_replslot), one spelled with
#	  "/./", one inside a tablespace through a link to it, one inside the
#	  repository, and the data directory's parent (which holds it) are all
#	  refused, and nothing is written; pg_dr restore refuses --pgdata inside
#	  the repository, directly or through a link.
#	- --target immediate (pg_dr restore) and recovery_target =>
#	  'immediate' (dr_restore()) stop at the end of the backup: the rows
#	  committed after it are absent, while a default restore of the same
#	  backup has them.
#	- --target-name: a name that is nowhere in the archived WAL is refused
#	  before anything is written; a restore point made between two backups
#	  is reached from the older one (the newer one starts after it), and
#	  the cluster holds exactly the rows committed before it; a point in
#	  WAL not archived yet is refused with a hint to run pg_switch_wal(),
#	  and accepted once it is archived.

use strict;
use warnings;

use lib 't/lib';
use DrTest;
use File::Path qw(make_path);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $env = DrTest::repo_setup($tmp);
my $node = DrTest::node_new('safety', $env->{conf});
$node->append_conf('postgresql.conf', qq{
archive_mode = on
archive_library = 'pg_dr'
});
$node->restart;
DrTest::wait_worker($node);
my $pgdata = $node->data_dir;

# Start a restored directory, without archiving into the source's
# repository; its row count.
my $restored = 0;
sub rows_after_start
{
	my ($dir) = @_;
	PostgreSQL::Test::Utils::append_to_file("$dir/postgresql.conf",
		"\narchive_mode = off\n");
	my $r = DrTest::node_from_restore('restored' . ++$restored, $dir);
	my $rows = $r->safe_psql('postgres', 'SELECT count(*) || \' \' || max(id) FROM t');
	$r->stop;
	return $rows;
}

# ---- the source: rows 1..10, F1, 11..20, rp_mid, 21..30, F2, 31..40
$node->safe_psql('postgres',
	'CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 10)');
my $f1 = $node->safe_psql('postgres', "SELECT dr_backup_full('f1')");
$node->safe_psql('postgres', 'INSERT INTO t SELECT generate_series(11, 20)');
my $rp_lsn = $node->safe_psql('postgres', "SELECT dr_restore_point('rp_mid')");
$node->safe_psql('postgres', 'INSERT INTO t SELECT generate_series(21, 30)');
my $f2 = $node->safe_psql('postgres', "SELECT dr_backup_full('f2')");
$node->safe_psql('postgres', 'INSERT INTO t SELECT generate_series(31, 40)');
DrTest::wait_archived($node);
note("backups $f1, $f2");

# ---- item 4: dr_restore() stays out of the running cluster and the repository
symlink($pgdata, "$tmp/link") or die "symlink: $!";
make_path("$tmp/ts");
$node->safe_psql('postgres', "CREATE TABLESPACE ts LOCATION '$tmp/ts'");
symlink("$tmp/ts", "$tmp/tslink") or die "symlink: $!";
(my $dotted = $pgdata) =~ s{/([^/]+)$}{/./$1};
my @refused = (
	[ "$tmp/link/pg_replslot", qr/overlaps the running cluster's data directory "\Q$pgdata\E" \(it resolves to "[^"]*pg_replslot"\)/,
		'a link to the data directory' ],
	[ "$dotted/sub", qr/overlaps the running cluster's data directory/, 'a path with /./' ],
	[ "$tmp/tslink/x", qr/overlaps the running cluster's tablespace \d+/,
		'a tablespace, through a link' ],
	[ "$env->{repo}/restored", qr/overlaps the repository of repo1/, 'inside the repository' ],
	[ "$tmp/link/..", qr/overlaps the running cluster's data directory/,
		'the directory holding the data directory' ]);
my @slots_before = glob("$pgdata/pg_replslot/*");
for my $r (@refused)
{
	my ($dir, $re, $what) = @$r;
	my ($rc, $out, $err) = $node->psql('postgres', "SELECT * FROM dr_restore('$f2', '$dir')");
	isnt($rc, 0, "dr_restore() refuses $what");
	like($err, $re, "$what: the message says what it overlaps");
}
is_deeply([ glob("$pgdata/pg_replslot/*") ], \@slots_before, 'nothing written into the data directory');
ok(!-e "$env->{repo}/restored" && !-e "$tmp/ts/x", 'nor into the repository or the tablespace');
ok($node->poll_query_until('postgres',
	"SELECT count(*) = " . scalar(@refused) . " FROM dr_audit WHERE operation = 'dr_restore' AND error LIKE '%overlaps%'"),
	'every refusal is audited');
$node->safe_psql('postgres', 'DROP TABLESPACE ts');

symlink($env->{repo}, "$tmp/repolink") or die "symlink: $!";
for my $dir ("$env->{repo}/restored", "$tmp/repolink/restored")
{
	my ($rc, $out, $err) = DrTest::restore_with($env, $dir, '--backup', $f2);
	is($rc, 1, "pg_dr restore refuses --pgdata $dir");
	like($err, qr/overlaps the repository of repo1 "\Q$env->{repo}\E"/, 'naming the repository');
}
ok(!-e "$env->{repo}/restored", 'nothing written into the repository');

# ---- item 18: restore points are looked up in the archived WAL
my ($rc, $out, $err) = DrTest::restore_with($env, "$tmp/nosuch", '--target-name', 'no_such_point');
is($rc, 1, 'a restore point that does not exist is refused');
like($err, qr/restore point "no_such_point" is not in the archived WAL/, 'saying it is not in the WAL');
like($err, qr/pg_switch_wal\(\)/, 'with a hint about WAL not archived yet');
ok(!-e "$tmp/nosuch", 'before anything is written');

($rc, $out, $err) = DrTest::restore_with($env, "$tmp/rp_mid", '--target-name', 'rp_mid');
is($rc, 0, 'restore to rp_mid, made between the two backups') or diag($err);
like($out, qr/restored backup \Q$f1\E/, "from the older backup $f1: $f2 starts after the point");
like($out, qr/restore point "rp_mid" found in the archived WAL at \Q$rp_lsn\E\)/,
	'the summary says where it is: the LSN dr_restore_point() returned');
($rc, $out, $err) = DrTest::restore_with($env, "$tmp/rp_mid_f2", '--backup', $f2, '--target-name', 'rp_mid');
is($rc, 1, "--backup $f2 cannot reach rp_mid");
like($err, qr/restore point "rp_mid" is not in the archived WAL after the start of the backup named/,
	'and is refused');

# a point in WAL not archived yet
$node->safe_psql('postgres', "SELECT pg_create_restore_point('rp_late')");
($rc, $out, $err) = DrTest::restore_with($env, "$tmp/rp_late", '--target-name', 'rp_late');
is($rc, 1, 'a restore point not archived yet is refused');
like($err, qr/run SELECT pg_switch_wal\(\) on the source, or wait for the archiver/,
	'the hint says what to do');
DrTest::wait_archived($node);
($rc, $out, $err) = DrTest::restore_with($env, "$tmp/rp_late", '--target-name', 'rp_late');
is($rc, 0, 'once archived, it is accepted') or diag($err);
like($out, qr/restored backup \Q$f2\E/, 'from the newest backup');

is(rows_after_start("$tmp/rp_mid"), '20 20', 'rp_mid: exactly the rows committed before the point');

# ---- item 15: the end of the backup
($rc, $out, $err) = DrTest::restore_with($env, "$tmp/imm", '--backup', $f2, '--target', 'immediate');
is($rc, 0, '--target immediate') or diag($err);
like($out, qr/target:\s+immediate \(the end of the backup\), then promote/, 'the summary says so');
($rc, $out, $err) = DrTest::restore_with($env, "$tmp/imm_bad", '--backup', $f2, '--target', 'latest');
is($rc, 2, '--target takes only immediate');
like($err, qr/invalid recovery target "latest"/, 'saying so');
($rc, $out, $err) = DrTest::restore_with($env, "$tmp/imm_two", '--target', 'immediate', '--target-lsn', '0/1');
is($rc, 2, '--target immediate and another target: usage error');
($rc, $out, $err) = DrTest::restore_with($env, "$tmp/imm_tl", '--target', 'immediate', '--target-timeline', '1');
is($rc, 2, '--target immediate with --target-timeline: usage error');
like($err, qr/--target-timeline does not apply to --target immediate/, 'and it says why');
ok(!-e "$tmp/imm_tl", 'nothing written');
($rc, $out, $err) = DrTest::restore_with($env, "$tmp/all", '--backup', $f2);
is($rc, 0, 'default restore of the same backup') or diag($err);
is(rows_after_start("$tmp/imm"), '30 30', '--target immediate: the rows committed after the backup are absent');
is(rows_after_start("$tmp/all"), '40 40', 'default: they are there');

my ($src, $sout, $serr) = $node->psql('postgres',
	"SELECT * FROM dr_restore('$f2', '$tmp/sql_bad', recovery_target => 'latest')");
like($serr, qr/invalid recovery target "latest"/, "dr_restore() refuses a recovery_target but 'immediate'");
is($node->safe_psql('postgres',
	"SELECT restored_backup FROM dr_restore('$f2', '$tmp/sql_imm', recovery_target => 'immediate')"),
	$f2, "dr_restore(..., recovery_target => 'immediate')");
like(slurp_file("$tmp/sql_imm/postgresql.auto.conf"), qr/^recovery_target = 'immediate'$/m,
	'it sets recovery_target');
is(rows_after_start("$tmp/sql_imm"), '30 30', 'and the rows committed after the backup are absent');

$node->stop;
done_testing();
