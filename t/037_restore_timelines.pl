# 037_restore_timelines.pl
#	The timeline a restore follows when the archive holds another
#	cluster's timeline (a restored cluster declared primary), for a
#	restore point name and for dr_restore().
#
#	1. prod (timeline 1) backs up; a restore --as-primary of it promotes
#	   onto timeline 2, makes restore points "on_tl2" and "dup" and
#	   archives; prod then makes "dup" and "on_tl1" and archives last.
#	2. --target-name on_tl2 without --target-timeline: found on timeline
#	   2 although timeline 1 was archived last (before, only the timeline
#	   archived last was searched: "not in the archived WAL"); the data is
#	   timeline 2's.  on_tl1: timeline 1's.  "dup": timeline 1, with a
#	   warning naming timeline 2.  A name on neither: the error names both
#	   timelines and --target-timeline.
#	3. dr_restore('latest', dir) on prod writes recovery_target_timeline
#	   = '1' (before: nothing, so 'latest' followed timeline 2) and warns;
#	   started, it holds prod's rows only.

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
my $prod = DrTest::node_new('prod', $env->{conf});
$prod->append_conf('postgresql.conf',
	"archive_mode = on\narchive_library = 'pg_dr'\n");
$prod->restart;
DrTest::wait_worker($prod);

sub ledger
{
	my ($n) = @_;
	return $n->safe_psql('postgres',
		"SELECT count(*) FILTER (WHERE src = 'prod'), count(*) FILTER (WHERE src = 'side') FROM ledger");
}

# -- 1. two clusters' timelines in one archive -----------------------------
$prod->safe_psql('postgres', 'CREATE TABLE ledger (id int PRIMARY KEY, src text)');
$prod->safe_psql('postgres', "INSERT INTO ledger SELECT g, 'prod' FROM generate_series(1, 100) g");
my $full = $prod->safe_psql('postgres', 'SELECT dr_backup_full()');
$prod->safe_psql('postgres', "INSERT INTO ledger SELECT g, 'prod' FROM generate_series(101, 200) g");
DrTest::wait_archived($prod);

my ($rc, $out, $err) = DrTest::restore($env, $full, "$tmp/side", '--as-primary');
is($rc, 0, 'restore --as-primary') or diag($err);
my $side = DrTest::node_from_restore('side', "$tmp/side");
is($side->safe_psql('postgres', 'SELECT timeline_id FROM pg_control_checkpoint()'), '2',
	'the restored cluster promotes onto timeline 2')
  or $side->safe_psql('postgres', 'CHECKPOINT');
$side->safe_psql('postgres', "INSERT INTO ledger SELECT g, 'side' FROM generate_series(5001, 5003) g");
$side->safe_psql('postgres', "SELECT dr_restore_point('on_tl2')");
$side->safe_psql('postgres', "SELECT dr_restore_point('dup')");
$side->safe_psql('postgres', "INSERT INTO ledger SELECT g, 'side' FROM generate_series(5004, 5005) g");
DrTest::wait_archived($side);
$side->stop;

# timeline 1 goes on, and is archived last (whole seconds apart)
$prod->safe_psql('postgres', "INSERT INTO ledger SELECT g, 'prod' FROM generate_series(201, 300) g");
$prod->safe_psql('postgres', "SELECT dr_restore_point('dup')");
$prod->safe_psql('postgres', "SELECT dr_restore_point('on_tl1')");
$prod->safe_psql('postgres', "INSERT INTO ledger SELECT g, 'prod' FROM generate_series(301, 400) g");
usleep(1_100_000);
DrTest::wait_archived($prod);

# -- 2. restore point names ------------------------------------------------
($rc, $out, $err) = DrTest::restore($env, 'latest', "$tmp/n2", '--target-name', 'on_tl2');
is($rc, 0, 'a restore point made on timeline 2 after its branch: found without --target-timeline')
  or diag($err);
like($out, qr/^  timeline:\s+timeline 2, the one written last whose archived WAL holds the restore point$/m,
	'the summary names timeline 2 and why');
unlike($err, qr/warning/i, 'no warning: no other timeline holds it');
SKIP:
{
	skip 'not restored', 1 if $rc != 0;
	my $n2 = DrTest::node_from_restore('n2', "$tmp/n2");
	is(ledger($n2), '200|3', "timeline 2's data up to the restore point");
	$n2->stop;
}

($rc, $out, $err) = DrTest::restore($env, 'latest', "$tmp/n1", '--target-name', 'on_tl1');
is($rc, 0, 'a restore point on timeline 1') or diag($err);
like(slurp_file("$tmp/n1/postgresql.auto.conf"), qr/^recovery_target_timeline = '1'$/m,
	'recovery_target_timeline = 1');
SKIP:
{
	skip 'not restored', 1 if $rc != 0;
	my $n1 = DrTest::node_from_restore('n1', "$tmp/n1");
	is(ledger($n1), '300|0', "timeline 1's data up to the restore point");
	$n1->stop;
}

($rc, $out, $err) = DrTest::restore($env, 'latest', "$tmp/dup", '--target-name', 'dup');
is($rc, 0, 'a name both clusters made') or diag($err);
like($err, qr/the archived WAL of timeline 2 holds another restore point "dup"; following timeline 1/,
	'the one archived last is followed, the other timeline named');
like($err, qr/--target-timeline/, 'and the warning says how to choose');
like(slurp_file("$tmp/dup/postgresql.auto.conf"), qr/^recovery_target_timeline = '1'$/m,
	'recovery_target_timeline = 1');

($rc, $out, $err) = DrTest::restore($env, 'latest', "$tmp/nx", '--target-name', 'nowhere');
isnt($rc, 0, 'a name on no timeline is refused');
like($err, qr/restore point "nowhere" is not in the archived WAL of timelines 1 and 2/,
	'the error names the timelines searched');
like($err, qr/--target-timeline/, 'the hint names --target-timeline');

# -- 3. dr_restore() follows the source's timeline -------------------------
my ($stdout, $stderr);
$rc = $prod->psql('postgres', "SELECT files > 0 FROM dr_restore('latest', '$tmp/sql')",
	stdout => \$stdout, stderr => \$stderr);
is($rc . '|' . $stdout, '0|t', 'dr_restore() into a side directory') or diag($stderr);
like(slurp_file("$tmp/sql/postgresql.auto.conf"), qr/^recovery_target_timeline = '1'$/m,
	"dr_restore() writes recovery_target_timeline = '1', the source's");
like($stderr, qr/WARNING:  the WAL archive holds other timelines this restore could follow \(2\); following timeline 1/,
	'a WARNING names the other timeline');
SKIP:
{
	skip 'not restored', 1 if !-f "$tmp/sql/postgresql.auto.conf";
	my $sql = DrTest::node_from_restore('sql', "$tmp/sql");
	is(ledger($sql), '400|0', "the end of the source's timeline, nothing of timeline 2");
	$sql->stop;
}

done_testing();
