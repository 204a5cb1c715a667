# 032_restore_isolation.pl
#	A restored cluster next to its source, on the same host, with the same
#	pg_dr configuration (the DBA's "test restore"): it must not archive,
#	back up, expire or make restore points into the source's repository
#	until it is declared primary, and a timeline it did archive there must
#	not take the source's point-in-time recovery off the source's history.
#
#	1. A default restore (archive_mode = off, origin marker), started and
#	   made to switch WAL: nothing of it reaches the repository; the
#	   writing functions refuse with 55000 and a hint; dr_status says why.
#	2. archive_mode back on, not declared: the archive module refuses,
#	   WAL waits in pg_wal.
#	3. dr_declare_primary(): it archives (timeline 2 reaches the
#	   repository, its history file included).
#	4. A restore --as-primary archives from the start (timeline 3): what
#	   every test restore did before this fix.
#	5. The source writes on; PITR to an instant after the branch points
#	   follows the source's timeline 1 although timelines 2 and 3 are newer
#	   (before, 'latest' followed timeline 3 and lost the source's
#	   transactions); so does a restore without a target, with a warning;
#	   --target-timeline picks a timeline explicitly.

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
my $wal = "$env->{repo}/archive/wal";
my $prod = DrTest::node_new('prod', $env->{conf});
$prod->append_conf('postgresql.conf',
	"archive_mode = on\narchive_library = 'pg_dr'\n");
$prod->restart;
DrTest::wait_worker($prod);

# What of timeline 2 the repository holds: history file and segment
# directories ("<tli><log>").
sub timeline2_in_repo
{
	opendir(my $dh, $wal) or die "$wal: $!";
	my @names = grep { /^00000002/ } readdir($dh);
	closedir($dh);
	return join(',', sort @names);
}

# A call's error, in verbose form ("ERROR:  55000: ..."), and its hint.
sub call_error
{
	my ($node, $sql) = @_;
	my ($stdout, $stderr);
	$node->psql('postgres', "\\set VERBOSITY verbose\n$sql",
		stdout => \$stdout, stderr => \$stderr);
	return $stderr;
}

$prod->safe_psql('postgres', 'CREATE TABLE ledger (id int PRIMARY KEY, src text)');
$prod->safe_psql('postgres', "INSERT INTO ledger SELECT g, 'prod' FROM generate_series(1, 100) g");
my $full = $prod->safe_psql('postgres', 'SELECT dr_backup_full()');
$prod->safe_psql('postgres', "INSERT INTO ledger SELECT g, 'prod' FROM generate_series(101, 200) g");
DrTest::wait_archived($prod);

# -- 1. a default restore next to the source ------------------------------
my ($rc, $out, $err) = DrTest::restore($env, $full, "$tmp/iso");
is($rc, 0, 'default restore next to the source') or diag($err);
like($out, qr/^  primary:\s+no: archive_mode = off/m, 'the summary says it is not the primary');
ok(-f "$tmp/iso/pg_dr.origin", 'the origin marker is written');
like(slurp_file("$tmp/iso/postgresql.auto.conf"), qr/^archive_mode = 'off'$/m,
	'archive_mode = off in postgresql.auto.conf');

my $iso = DrTest::node_from_restore('iso', "$tmp/iso");
DrTest::wait_worker($iso);
is($iso->safe_psql('postgres', 'SELECT timeline_id FROM pg_control_checkpoint()'), '2',
	'the restored cluster runs on timeline 2')
  or $iso->safe_psql('postgres', 'CHECKPOINT');
for my $i (1 .. 3)
{
	$iso->safe_psql('postgres', "INSERT INTO ledger VALUES (1000 + $i, 'iso')");
	$iso->safe_psql('postgres', 'SELECT pg_switch_wal()');
}
usleep(2_000_000);
is(timeline2_in_repo(), '', 'nothing of timeline 2 in the repository (no history file, no segment)');

like($iso->safe_psql('postgres', 'SELECT restored_from FROM dr_status'),
	qr/^restored from backup \Q$full\E of repository [0-9a-f]{32} \(".*"\); writes into it are refused until SELECT dr_declare_primary\(\)$/,
	'dr_status.restored_from says where it came from and what is refused');
is($prod->safe_psql('postgres', 'SELECT restored_from IS NULL FROM dr_status'), 't',
	'the source has no restored_from');

for my $call ('SELECT dr_backup_full()', "SELECT dr_restore_point('iso_point')",
	'SELECT * FROM dr_expire()')
{
	my $e = call_error($iso, $call);
	like($e, qr/ERROR:  55000: .* refused: this cluster was restored from backup \Q$full\E of repository "\Q$env->{repo}\E" and is not its primary/,
		"$call refused with 55000");
	like($e, qr/HINT:  If this cluster is the new primary, run SELECT dr_declare_primary\(\) as dr_admin/,
		"$call: the hint names dr_declare_primary()");
}
is($iso->safe_psql('postgres',
	"SELECT string_agg(operation || ':' || coalesce(sqlstate, ''), ',' ORDER BY id) FROM dr_audit WHERE started_at > now() - interval '1 hour' AND result <> 'ok' AND operation IN ('dr_backup_full', 'dr_restore_point', 'dr_expire')"),
	'dr_backup_full:55000,dr_restore_point:55000,dr_expire:55000',
	'the refusals are audited');
my $logged = 0;
for (1 .. 300)
{
	$logged = slurp_file($iso->logfile) =~
	  /pg_dr worker: scheduled restore points and WAL switches refused: this cluster was restored from backup/;
	last if $logged;
	usleep(100_000);
}
ok($logged, 'the worker logs that it makes no scheduled restore points or switches');
is(timeline2_in_repo(), '', 'still nothing of timeline 2 in the repository');
my @backups = glob("$env->{repo}/backup/*");
is(scalar(@backups), 1, 'no backup was added to the repository');

# -- 2. archive_mode on, not declared: the archive module refuses ---------
$iso->safe_psql('postgres', 'ALTER SYSTEM SET archive_mode = on');
$iso->restart;
$iso->safe_psql('postgres', 'SELECT pg_switch_wal()');
$iso->poll_query_until('postgres', 'SELECT failed_count > 0 FROM pg_stat_archiver')
  or die 'the archiver did not try';
like($iso->safe_psql('postgres', 'SELECT last_error FROM dr_archive_status'),
	qr/archiving refused: this cluster was restored from backup/,
	'archive_mode on: the archive module refuses, dr_archive_status says why');
is(timeline2_in_repo(), '', 'nothing of timeline 2 in the repository');
ok(-f $iso->data_dir . '/pg_wal/00000002.history', 'the history file waits in pg_wal');
is($iso->safe_psql('postgres', q{SELECT count(*) > 0 FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'}),
	't', 'WAL waits, marked ready');
# The worker publishes the audit chain's head at its start, before its
# PITR duties; after the restart it has audited rows (the refusals above)
# to publish.  Once the new worker logged its PITR refusal, its first round
# is done: no head of timeline 2 may be in the repository.
my $refusals = 0;
for (my $i = 0; $i < 300; $i++)
{
	my @lines = (slurp_file($iso->logfile) =~
		  /pg_dr worker: scheduled restore points and WAL switches refused/g);
	$refusals = scalar(@lines);
	last if $refusals >= 2;
	usleep(100_000);
}
cmp_ok($refusals, '>=', 2, 'the restarted worker ran its first round');
my @heads2 = glob("$env->{repo}/audit/head-*-00000002");
is(scalar(@heads2), 0, 'no audit head of timeline 2 published into the repository')
  or diag(join(' ', @heads2));

# -- 3. declared primary: it archives --------------------------------------
$iso->safe_psql('postgres', 'CREATE ROLE iso_admin LOGIN IN ROLE dr_admin');
is($iso->safe_psql('postgres', 'SELECT dr_declare_primary()', extra_params => [ '-U', 'iso_admin' ]),
	't', 'dr_declare_primary() as dr_admin');
ok(!-e $iso->data_dir . '/pg_dr.origin', 'the marker is gone');
is($iso->safe_psql('postgres', 'SELECT restored_from IS NULL FROM dr_status'), 't',
	'dr_status.restored_from is NULL once declared');
is($iso->safe_psql('postgres',
	"SELECT result FROM dr_audit WHERE operation = 'dr_declare_primary' ORDER BY id DESC LIMIT 1"),
	'ok', 'the declaration is audited');
DrTest::wait_archived($iso);
ok(-f "$wal/00000002.history", 'declared: the timeline 2 history file is archived');
like(timeline2_in_repo(), qr/^00000002\.history,00000002[0-9A-F]{8}/,
	'and timeline 2 segments');
$iso->stop;

# -- 4. a restore --as-primary archives from the start ---------------------
($rc, $out, $err) = DrTest::restore($env, $full, "$tmp/iso3", '--as-primary');
is($rc, 0, 'restore --as-primary') or diag($err);
like($out, qr/^  primary:\s+yes/m, 'the summary says it is the primary');
ok(!-e "$tmp/iso3/pg_dr.origin", '--as-primary: no marker');
unlike(slurp_file("$tmp/iso3/postgresql.auto.conf"), qr/^archive_mode/m,
	'--as-primary: archive_mode as the backup had it');
my $iso3 = DrTest::node_from_restore('iso3', "$tmp/iso3");
is($iso3->safe_psql('postgres', 'SELECT timeline_id FROM pg_control_checkpoint()'), '3',
	'it promotes onto timeline 3 (timeline 2 is in the archive)')
  or $iso3->safe_psql('postgres', 'CHECKPOINT');
$iso3->safe_psql('postgres', "INSERT INTO ledger SELECT g, 'iso3' FROM generate_series(3001, 3003) g");
DrTest::wait_archived($iso3);
ok(-f "$wal/00000003.history", 'it archives its timeline into the repository');
$iso3->stop;

# -- 5. the source's PITR with newer timelines in the archive --------------
$prod->safe_psql('postgres', "INSERT INTO ledger SELECT g, 'prod' FROM generate_series(201, 300) g");
usleep(1_100_000);
my $t = $prod->safe_psql('postgres', 'SELECT now()');
usleep(1_100_000);
$prod->safe_psql('postgres', "INSERT INTO ledger SELECT g, 'prod' FROM generate_series(301, 400) g");
DrTest::wait_archived($prod);

($rc, $out, $err) = DrTest::restore($env, 'latest', "$tmp/pitr", '--target-time', $t);
is($rc, 0, 'PITR to an instant after the branch point') or diag($err);
like($out, qr/^  timeline:\s+timeline 1, the only one whose archived WAL holds the target$/m,
	'the summary names timeline 1 and why');
like(slurp_file("$tmp/pitr/postgresql.auto.conf"), qr/^recovery_target_timeline = '1'$/m,
	'recovery_target_timeline = 1, not latest');
my $pitr = DrTest::node_from_restore('pitr', "$tmp/pitr");
is($pitr->safe_psql('postgres',
	"SELECT count(*) FILTER (WHERE src = 'prod'), count(*) FILTER (WHERE src = 'iso'), max(id) FROM ledger"),
	'300|0|300', "the source's own history up to the instant, nothing of timeline 2");
$pitr->stop;

# without a target: to the end of the source's timeline, with a warning
($rc, $out, $err) = DrTest::restore($env, 'latest', "$tmp/end");
is($rc, 0, 'restore to the end of the archive') or diag($err);
like($err, qr/other timelines this restore could follow \(2 and 3\); following timeline 1/,
	'a warning names the other timelines');
like($err, qr/--target-timeline/, 'and says how to choose it');
my $end = DrTest::node_from_restore('end', "$tmp/end");
is($end->safe_psql('postgres', "SELECT count(*) FILTER (WHERE src = 'prod'), count(*) FILTER (WHERE src = 'iso') FROM ledger"),
	'400|0', "the end of the source's timeline");
$end->stop;

# --target-timeline 3: the restored cluster's history instead
($rc, $out, $err) = DrTest::restore($env, $full, "$tmp/tl3", '--target-timeline', '3');
is($rc, 0, '--target-timeline 3') or diag($err);
like(slurp_file("$tmp/tl3/postgresql.auto.conf"), qr/^recovery_target_timeline = '3'$/m,
	'recovery_target_timeline = 3');
my $tl3 = DrTest::node_from_restore('tl3', "$tmp/tl3");
is($tl3->safe_psql('postgres', "SELECT count(*) FILTER (WHERE src = 'prod'), count(*) FILTER (WHERE src = 'iso3') FROM ledger"),
	'200|3', 'timeline 3: the source up to the branch point, then the restored cluster');
$tl3->stop;

($rc, $out, $err) = DrTest::restore($env, $full, "$tmp/tl9", '--target-timeline', '9');
is($rc, 1, 'an unknown timeline is refused');
like($err, qr/timeline 9 is not in the repository/, 'naming it');
($rc, $out, $err) = DrTest::restore($env, $full, "$tmp/tlx", '--target-timeline', 'x');
is($rc, 2, 'a malformed timeline is a usage error');

# archive_mode kept, the marker still written
($rc, $out, $err) = DrTest::restore($env, $full, "$tmp/preserve", '--archive-mode', 'preserve');
is($rc, 0, '--archive-mode preserve') or diag($err);
ok(-f "$tmp/preserve/pg_dr.origin", '--archive-mode preserve: the marker still written');
unlike(slurp_file("$tmp/preserve/postgresql.auto.conf"), qr/^archive_mode/m,
	'--archive-mode preserve: archive_mode as the backup had it');
($rc, $out, $err) = DrTest::restore($env, $full, "$tmp/bad", '--archive-mode', 'on');
is($rc, 2, '--archive-mode on is a usage error');

# the source itself was never refused anything
is($prod->safe_psql('postgres', "SELECT count(*) FROM dr_audit WHERE result <> 'ok'"), '0',
	'the source ran every operation');
ok($prod->safe_psql('postgres', 'SELECT dr_backup_full()') ne '', 'the source still backs up');

done_testing();
