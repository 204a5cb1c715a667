# 058_repo_fallback.pl
#	Reading from several repositories: restore, PITR, wal-get and verify
#	read from the first repository that has a good copy and fall back to
#	the next one, saying so; --repo N forces one (docs/storage.md,
#	"Reading from several repositories").
#
#	1. A cluster archives into repo1: a full backup, an incremental, rows
#	   after it (a time target), a second full backup.  repo2 is a byte
#	   copy of repo1 (cp -a: the same repository, same keys; until the
#	   catch-up copies backups between repositories, this is how a second
#	   repository gets the same backups), configured as repo2.
#	2. Damage in repo1: a byte flipped in the full backup's largest whole
#	   file object and its largest part (files above 1 MB are stored in
#	   parts), in a WAL segment the incremental keeps for itself, and
#	   in an archived WAL segment the time target needs; the second full
#	   backup removed from repo1.
#	3. PITR restore of the incremental to the time target (2 jobs: a job
#	   falls back on its own and its warning reaches stderr): succeeds, the
#	   warnings name repository 1, the object and repository 2; recovery's
#	   wal-get falls back for the damaged segment (server log); the rows
#	   are those at the target.  --repo 1 fails naming the damage; --repo 2
#	   succeeds without a warning.
#	   A restore point placed past the damaged archived segment: the
#	   restore is planned from repo2, and said.
#	4. The second full backup, missing from repo1, is found in repo2, and
#	   "latest" is it; restored with --jobs 2 and recovered to the end of
#	   the archive, its pg_dump equals the origin's.
#	5. wal-get per segment: the damaged one from repo2 with a warning,
#	   --repo 1 fatal (126), a good one without a warning, one missing
#	   from repo1 only from repo2, one missing everywhere 1, one damaged
#	   in both 126.
#	6. verify names the bad copy and its repository, per repository;
#	   --repo 2 finds nothing; --wal names the damaged segment in repo1.
#	7. In the server: dr_restore() falls back with a WARNING naming both
#	   repositories; dr_backup_verify() is false with a WARNING naming
#	   repository 1.

use strict;
use warnings;

use File::Find;
use lib 't/lib';
use DrTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $env = DrTest::repo_setup($tmp);
my $repo1 = $env->{repo};
my $repo2 = "$tmp/repo2";
my $conf = $env->{conf};

# The restored clusters' own pg_dr reads both repositories: their worker's
# catch-up (which copies what one repository misses from another) does not
# run in a restored cluster not yet declared primary whose origin marker
# names one of them (repo2 is a byte copy: the same identity), so nothing
# puts back into repo1 what the test removed from it.
sub start_restored
{
	my ($name, $dir) = @_;
	return DrTest::node_from_restore($name, $dir);
}

my $node = DrTest::node_new('origin', $conf);
# files above 1 MB in parts: a part is restored as a unit of its own
$node->append_conf('postgresql.conf',
	"archive_mode = on\narchive_library = 'pg_dr'\npg_dr.backup_part_size = '1MB'\n");
$node->restart;
DrTest::wait_worker($node);

sub flip_byte
{
	my ($path) = @_;
	open(my $fh, '+<:raw', $path) or die "$path: $!";
	my $size = -s $path;
	seek($fh, int($size / 2), 0) or die;
	read($fh, my $c, 1) == 1 or die;
	seek($fh, int($size / 2), 0) or die;
	print $fh chr(ord($c) ^ 0x20);
	close($fh) or die;
	return;
}

sub run_cmd
{
	my (@cmd) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run(\@cmd, '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

sub archived_path
{
	my ($repo, $seg) = @_;
	return "$repo/archive/wal/" . substr($seg, 0, 16) . "/$seg";
}

# -- 1. backups and WAL in repo1 ---------------------------------------------
$node->safe_psql('postgres',
	'CREATE TABLE t (id int PRIMARY KEY, v text); '
	  . "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 100000) g");
my $full = $node->safe_psql('postgres', 'SELECT dr_backup_full()');
$node->safe_psql('postgres',
	"INSERT INTO t SELECT g, 'after full' FROM generate_series(100001, 100100) g");
# a backup that keeps its own WAL (with archiving it would leave it there)
my $incr = $node->safe_psql('postgres',
	"SET pg_dr.backup_wal = 'always'; SELECT dr_backup_incremental()");
like($incr, qr/I$/, "incremental $incr on full $full");
sleep 1;
$node->safe_psql('postgres',
	"INSERT INTO t SELECT g, 'after incr' FROM generate_series(100101, 100200) g");
# the segment these rows are in: recovery to the target must read it
my $needed = $node->safe_psql('postgres',
	'SELECT pg_walfile_name(pg_current_wal_lsn())');
my $target = $node->safe_psql('postgres', 'SELECT now()');
my $at_target = $node->safe_psql('postgres', 'SELECT count(*) FROM t');
sleep 1;
$node->safe_psql('postgres',
	"INSERT INTO t SELECT g, 'after target' FROM generate_series(100201, 100300) g");
# a restore point after the damaged segment: placing it reads that segment
$node->safe_psql('postgres', "SELECT pg_create_restore_point('after_needed')");
my $at_point = $node->safe_psql('postgres', 'SELECT count(*) FROM t');
DrTest::wait_archived($node);
my $full2 = $node->safe_psql('postgres', 'SELECT dr_backup_full()');
$node->safe_psql('postgres',
	"INSERT INTO t SELECT g, 'after full2' FROM generate_series(100301, 100400) g");
DrTest::wait_archived($node);
my $rows = $node->safe_psql('postgres', 'SELECT count(*) FROM t');
is($rows, '100400', 'the origin has every row');

# -- the second repository: a byte copy of the first --------------------------
# the origin stops for the copy, and stays stopped until the server
# functions are tested (section 7): its worker's catch-up would copy into
# repo1 what the test removes from it
my $origin_dump = DrTest::pg_dump_of($node);
$node->stop;
system('cp', '-a', $repo1, $repo2) == 0 or die "cp -a failed";
PostgreSQL::Test::Utils::append_to_file($conf,
	"repo2_type = posix\nrepo2_path = '$repo2'\nrepo2_cipher_key_file = '$env->{key}'\n");

# -- 2. damage in repo1 ------------------------------------------------------
# the largest object of the full backup's whole files, and of its parts
sub largest_under
{
	my ($dir) = @_;
	my ($largest, $size) = ('', 0);
	find(sub {
			return unless -f $_;
			if (-s $_ > $size) { $largest = $File::Find::name; $size = -s $_; }
		}, $dir);
	return ($largest, $size);
}
my ($data_obj, $data_size) = largest_under("$repo1/backup/$full/data");
ok($data_size > 0, "the full backup's largest whole file object ($data_obj, $data_size bytes)");
(my $data_rel = $data_obj) =~ s{^\Q$repo1/\E}{};
flip_byte($data_obj);
my ($part_obj, $part_size) = largest_under("$repo1/backup/$full/part");
ok($part_size > 0, "the full backup's largest part ($part_obj, $part_size bytes)");
(my $part_rel = $part_obj) =~ s{^\Q$repo1/\E}{};
flip_byte($part_obj);

opendir(my $wd, "$repo1/backup/$incr/wal") or die "$repo1/backup/$incr/wal: $!";
my ($incr_wal) = sort grep { /^[0-9A-F]{24}$/ } readdir($wd);
closedir($wd);
ok(defined $incr_wal, "the incremental keeps WAL segment $incr_wal");
flip_byte("$repo1/backup/$incr/wal/$incr_wal");

ok(-f archived_path($repo1, $needed), "segment $needed is archived");
flip_byte(archived_path($repo1, $needed));

system('rm', '-rf', "$repo1/backup/$full2") == 0 or die;
ok(!-e "$repo1/backup/$full2", "backup $full2 is gone from repo1");

# -- 3. PITR restore of the incremental --------------------------------------
my ($rc, $out, $err) = DrTest::restore_with($env, "$tmp/pitr",
	'--backup', $incr, '--target-time', $target, '--jobs', '2');
is($rc, 0, 'PITR restore with damaged objects in repo1') or diag($err);
like($err,
	qr/warning: repository 1: could not restore "[^"]+" of backup "$incr": .*\Q$data_rel\E.*; restored it from repository 2 instead/,
	'the damaged data file is restored from repository 2, and said');
like($err,
	qr/warning: repository 1: part \d+ of "[^"]+" of backup "$incr": .*\Q$part_rel\E.*; restored it from repository 2 instead/,
	'the damaged part of a large file is restored from repository 2, and said');
like($err,
	qr/warning: repository 1: could not restore WAL segment "$incr_wal" of backup "$incr": .*; restored it from repository 2 instead/,
	'the damaged WAL segment of the backup is restored from repository 2, and said');
like($out, qr/repository:\s+1 /, 'the summary names the repository restored from');
like(slurp_file("$tmp/pitr/postgresql.auto.conf"),
	qr/^restore_command = '.*wal-get --config ''\Q$conf\E'' %f %p'$/m,
	'restore_command reads every repository (no --repo)');
my $pitr = start_restored('pitr', "$tmp/pitr");
is($pitr->safe_psql('postgres', 'SELECT count(*) FROM t'), $at_target,
	'the PITR restore has the rows at the target');
like(slurp_file($pitr->logfile),
	qr/warning: repository 1: WAL file "$needed": .*; fetched it from repository 2 instead/,
	"recovery's wal-get fetched $needed from repository 2, and said so");
$pitr->stop;

($rc, $out, $err) = DrTest::restore_with($env, "$tmp/forced1",
	'--repo', '1', '--backup', $incr, '--target-time', $target);
is($rc, 1, '--repo 1: the restore fails');
like($err, qr/error: repository 1: could not restore .*(failed authentication|SHA-256)/,
	'--repo 1: the error names the repository and the damage');
unlike($err, qr/repository 2/, '--repo 1: no fallback');

($rc, $out, $err) = DrTest::restore_with($env, "$tmp/forced2",
	'--repo', '2', '--backup', $incr, '--target-time', $target);
is($rc, 0, '--repo 2: the restore succeeds') or diag($err);
unlike($err, qr/warning: repository/, '--repo 2: no fallback said');
like(slurp_file("$tmp/forced2/postgresql.auto.conf"),
	qr/^restore_command = '.*wal-get --config ''\Q$conf\E'' --repo 2 %f %p'$/m,
	'--repo 2: restore_command reads repository 2 only');
my $forced2 = start_restored('forced2', "$tmp/forced2");
is($forced2->safe_psql('postgres', 'SELECT count(*) FROM t'), $at_target,
	'--repo 2: the rows at the target');
$forced2->stop;

# a restore point is placed by reading the archived WAL: the damaged
# segment in repo1 makes the restore planned from repo2
($rc, $out, $err) = DrTest::restore_with($env, "$tmp/named",
	'--backup', $incr, '--target-name', 'after_needed');
is($rc, 0, 'restore to a restore point placed past the damaged segment') or diag($err);
like($err,
	qr/warning: repository 1: .*$needed.*; restoring from repository 2 instead/,
	'the restore point is placed in repository 2, and said');
like($out, qr/repository:\s+2 /, 'the summary names repository 2');
my $named = start_restored('named', "$tmp/named");
is($named->safe_psql('postgres', 'SELECT count(*) FROM t'), $at_point,
	'the rows at the restore point');
$named->stop;

# -- 4. a backup missing from repo1 ------------------------------------------
($rc, $out, $err) = DrTest::restore($env, 'latest', "$tmp/latest", '--jobs', '2');
is($rc, 0, 'restore of latest') or diag($err);
like($out, qr/^restored backup $full2 /m, 'latest is the newest of every repository');
like($err, qr/warning: repository 1: .*$full2.*; restoring from repository 2 instead/,
	'the backup missing from repository 1 is restored from repository 2, and said');
my $latest = start_restored('latest', "$tmp/latest");
is($latest->safe_psql('postgres', 'SELECT count(*) FROM t'), $rows,
	'the restored cluster has every row');
is(DrTest::pg_dump_of($latest), $origin_dump,
	'and its pg_dump equals the origin');
$latest->stop;

# -- 5. wal-get per segment --------------------------------------------------
my @wal = grep { /^[0-9A-F]{24}$/ } DrTest::archived_wal($env);
my ($good) = grep { $_ ne $needed } @wal;
($rc, $out, $err) = run_cmd('pg_dr', 'wal-get', '--config', $conf, $needed, "$tmp/seg1");
is($rc, 0, 'wal-get of the damaged segment succeeds');
like($err, qr/warning: repository 1: WAL file "$needed": .*; fetched it from repository 2 instead/,
	'wal-get says it fell back');
is(-s "$tmp/seg1", 16 * 1024 * 1024, 'the whole segment was written');
($rc, $out, $err) = run_cmd('pg_dr', 'wal-get', '--config', $conf, '--repo', '1',
	$needed, "$tmp/seg2");
is($rc, 126, 'wal-get --repo 1 of the damaged segment: fatal for recovery');
like($err, qr/error: repository 1: .*(failed authentication|SHA-256)/, 'and says why');
ok(!-e "$tmp/seg2", 'nothing written');
($rc, $out, $err) = run_cmd('pg_dr', 'wal-get', '--config', $conf, $good, "$tmp/seg3");
is($rc, 0, "wal-get of a good segment ($good)");
is($err, '', 'without a warning');
unlink(archived_path($repo1, $good)) or die;
($rc, $out, $err) = run_cmd('pg_dr', 'wal-get', '--config', $conf, $good, "$tmp/seg4");
is($rc, 0, 'a segment missing from repository 1 is fetched from repository 2');
like($err, qr/warning: repository 1: WAL file "$good": its archive does not have it; fetched it from repository 2 instead/,
	'and said');
($rc, $out, $err) = run_cmd('pg_dr', 'wal-get', '--config', $conf,
	'0000000100000000000000FE', "$tmp/seg5");
is($rc, 1, 'a segment missing everywhere: "not found"');
is($err, '', 'quietly');
flip_byte(archived_path($repo2, $needed));
($rc, $out, $err) = run_cmd('pg_dr', 'wal-get', '--config', $conf, $needed, "$tmp/seg6");
is($rc, 126, 'a segment damaged in every repository: fatal');
like($err, qr/error: repository 1: .*\n.*error: repository 2: /s,
	'both repositories say why');
# repo2's copy back as it was (a byte copy of repo1's before the damage)
flip_byte(archived_path($repo2, $needed));

# -- 6. verify ---------------------------------------------------------------
($rc, $out, $err) = run_cmd('pg_dr', 'verify', '--config', $conf);
is($rc, 1, 'verify finds the damage');
like($out, qr/^repository 1: \Q$data_rel\E: /m, 'verify names the damaged object and its repository');
like($out, qr/^repository 1: .*\Q$part_rel\E/m, 'and the damaged part');
like($out, qr/^repository 1: backup\/$incr\/wal\/$incr_wal: /m,
	"and the incremental's damaged WAL segment");
like($out, qr/^verified 2 backups in repository 1: .*, [1-9]\d* problems?$/m,
	'repository 1: two backups, with problems');
like($out, qr/^verified 3 backups in repository 2: .*, 0 problems$/m,
	'repository 2: three backups, no problem');
unlike($out, qr/^repository 2: /m, 'no problem in repository 2');
($rc, $out, $err) = run_cmd('pg_dr', 'verify', '--config', $conf, '--repo', '2');
is($rc, 0, 'verify --repo 2: no problem') or diag($out . $err);
($rc, $out, $err) = run_cmd('pg_dr', 'verify', '--config', $conf, '--wal');
is($rc, 1, 'verify --wal finds the damaged segment');
like($out, qr/^repository 1: archive\/wal: .*$needed/m,
	'naming repository 1 and the segment');
unlike($out, qr/^repository 2: .*$needed/m, 'not in repository 2');

# -- 7. the server -----------------------------------------------------------
$node->append_conf('postgresql.conf', "archive_mode = off\n");
$node->start;
DrTest::wait_worker($node);
my ($stdout, $stderr) = ('', '');
$node->psql('postgres', "SELECT restored_backup FROM dr_restore('$incr', '$tmp/server')",
	stdout => \$stdout, stderr => \$stderr);
is($stdout, $incr, 'dr_restore() with damaged objects in repo1') or diag($stderr);
like($stderr,
	qr/WARNING:  repository 1: could not restore "[^"]+" of backup "$incr": .*; restored it from repository 2 instead/,
	'dr_restore() warns, naming both repositories');
$node->psql('postgres', "SELECT dr_backup_verify('$full')",
	stdout => \$stdout, stderr => \$stderr);
is($stdout, 'f', 'dr_backup_verify() finds the damage');
like($stderr, qr/WARNING:  repository 1: /, 'and names repository 1');
unlike($stderr, qr/WARNING:  repository 2: /, 'not repository 2');

$node->stop;
done_testing();
