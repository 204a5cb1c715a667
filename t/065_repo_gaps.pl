# 065_repo_gaps.pl
#	Several repositories: the SQL functions and the catch-up, with real
#	posix repositories (two passphrases; repo1 required) under a server
#	that archives into both.
#
#	1. A full backup (hundreds of small tables: several bundle objects) is
#	   copied to repo2 by the catch-up, which is paused right after the
#	   copy's first bundle object ended; the pg_dr worker is killed -9
#	   there.  The restarted worker takes the lock its predecessor left
#	   over at once (its pid is gone; no 10-minute expiry), reuses the
#	   bundle object it had completed (same inode, same mtime), and the
#	   copy keeps the source's layout: bundles, and the same standalone
#	   objects under data/.  The WAL summaries repo1 has for the segments
#	   repo2 holds are copied too.
#	2. dr_backup_verify(id, repo => N) and dr_restore(..., repo => N)
#	   read repository N only: with a byte flipped in repo1's copy, the
#	   default falls back (WARNING), repo => 1 fails naming repository 1,
#	   repo => 2 succeeds without a warning and writes restore_command with
#	   --repo 2; a repository that is not configured is 22023 naming the
#	   configured ones; the audit records carry repo.
#	3. In the cluster restored from repo2 (not declared primary, both
#	   repositories configured; the origin stopped): the catch-up copies
#	   nothing (said in its log), so segments removed from repo2 stay
#	   missing, and dr_wal_verify() reports, a row per repository, the
#	   segments repo2 lacks that repo1 holds, and a gap in repo1 (pg_dr
#	   verify --wal too); repo => 2 checks repo2 alone.  Declared primary, the catch-up resumes and puts
#	   them back.
use strict;
use warnings;

use lib 't/lib';
use DrTest;
use Fcntl qw(O_WRONLY O_CREAT O_EXCL O_RDWR SEEK_SET);
use File::Find;
use MIME::Base64 qw(encode_base64);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $pause = "$tmp/pause";
mkdir $pause or die "$pause: $!";
# test only: the server inherits it (src/common/test_pause.h)
$ENV{PG_DR_TEST_PAUSE_DIR} = $pause;

sub key_file
{
	my ($path) = @_;
	open(my $rand, '<:raw', '/dev/urandom') or die "/dev/urandom: $!";
	read($rand, my $bytes, 48) == 48 or die 'short read from /dev/urandom';
	close($rand);
	sysopen(my $fh, $path, O_WRONLY | O_CREAT | O_EXCL, 0600) or die "$path: $!";
	print $fh encode_base64($bytes, ''), "\n";
	close($fh) or die;
	return $path;
}

my ($repo1, $repo2) = ("$tmp/repo1", "$tmp/repo2");
my $conf = "$tmp/pg_dr.conf";
{
	my $text = "compress_level = 3\n";
	for my $n (1 .. 2)
	{
		my $key = key_file("$tmp/k$n.key");
		$text .= "repo${n}_type = posix\nrepo${n}_path = '$tmp/repo$n'\n"
		  . "repo${n}_cipher_key_file = '$key'\n";
	}
	open(my $cfh, '>', $conf) or die;
	print $cfh $text;
	close($cfh) or die;
}
for my $n (1 .. 2)
{
	command_ok([ 'pg_dr', 'repo-create', '--config', $conf, '--repo', $n,
			'--kdf-iterations', '1000' ], "repo-create repo$n");
}

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init(allows_streaming => 1);
$node->append_conf('postgresql.conf',
	DrTest::_pg_dr_conf($conf)
	  . "archive_mode = on\narchive_library = 'pg_dr'\n"
	  # a production server restarts after a crash; the killed worker needs it
	  . "restart_after_crash = on\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_dr');
DrTest::wait_worker($node);

# small tables of hardly compressible rows: about 12 MB of bundled files,
# so several bundle objects of about 4 MB
$node->safe_psql('postgres', q{
	DO $$
	BEGIN
		FOR i IN 1 .. 400 LOOP
			EXECUTE format('CREATE TABLE s%s AS SELECT md5(random()::text) || md5(random()::text) AS v
							  FROM generate_series(1, 450)', i);
		END LOOP;
	END $$});
$node->safe_psql('postgres', 'CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g');
DrTest::wait_archived($node);
ok($node->poll_query_until('postgres',
		"SELECT bool_and(state = 'ok' AND lag_segments = 0) FROM dr_repositories"),
	'two repositories in step');

# ---- 1. a copy killed after its first bundle object, resumed at once
sub arm { my ($point) = @_; open(my $f, '>', "$pause/$point.arm") or die; close($f); return; }

sub wait_paused
{
	my ($point, $seconds) = @_;
	my $deadline = time + $seconds;
	usleep(100_000) while (!-e "$pause/$point.paused" && time < $deadline);
	return -e "$pause/$point.paused";
}

arm('catchup-bundle-ended');
my $id = $node->safe_psql('postgres', 'SELECT dr_backup_full()');
ok(wait_paused('catchup-bundle-ended', 120),
	"the catch-up's copy of $id paused after its first bundle object");
my $bdir2 = "$repo2/backup/$id";
ok(-f "$bdir2/bundle/0", 'bundle object 0 of the copy is there');
ok(!-e "$bdir2/manifest", 'the copy has no manifest yet');
my @locks = glob("$bdir2/lock.*");
is(scalar(@locks), 1, 'the copy holds the lock of the backup in repo2');
my @before = (stat("$bdir2/bundle/0"))[1, 9];

my $worker = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_dr worker'");
like($worker, qr/^\d+$/, "the pg_dr worker's pid ($worker)");
my $log_offset = -s $node->logfile;
kill 'KILL', $worker or die "kill: $!";
unlink("$pause/catchup-bundle-ended.paused");
my $killed_at = time;
$node->poll_query_until('postgres', 'SELECT worker_running FROM dr_status')
  or die 'no pg_dr worker after the crash';

my $deadline = time + 180;
usleep(200_000) while (!-e "$bdir2/manifest" && time < $deadline);
ok(-e "$bdir2/manifest", 'the copy completed after the crash');
cmp_ok(time - $killed_at, '<', 180,
	'well before the 10 minutes a lock takes to expire');
ok($node->wait_for_log(qr/the lock of backup "$id" was left by process $worker of this host, which is gone: taken over/,
		$log_offset),
	'the lock of the killed worker was taken over at once, and said');
is(join(',', (stat("$bdir2/bundle/0"))[1, 9]), join(',', @before),
	'the bundle object completed before the crash was reused, not written again');
@locks = glob("$bdir2/lock.*");
is(scalar(@locks), 0, 'no lock left in repo2');

# the copy keeps the layout: bundles, and the same standalone objects
sub objects_under
{
	my ($dir) = @_;
	my @found;
	return () unless -d $dir;
	find({ wanted => sub { push @found, substr($File::Find::name, length($dir)) if -f $_ },
			no_chdir => 1 }, $dir);
	return sort @found;
}
my @data1 = objects_under("$repo1/backup/$id/data");
my @data2 = objects_under("$bdir2/data");
my @bundles2 = objects_under("$bdir2/bundle");
cmp_ok(scalar(@bundles2), '>=', 2, scalar(@bundles2) . ' bundle objects in the copy');
is_deeply(\@data2, \@data1,
	'the copy has the standalone objects of the source, no more (' . scalar(@data1) . ')');
my ($rc, $out, $err);
sub run_cmd
{
	my @cmd = @_;
	my ($o, $e) = ('', '');
	IPC::Run::run(\@cmd, '>', \$o, '2>', \$e);
	return ($? >> 8, $o, $e);
}
($rc, $out, $err) = run_cmd('pg_dr', 'verify', '--config', $conf, '--repo', '2',
	'--backup', $id);
is($rc, 0, 'pg_dr verify --repo 2: the copy is good') or diag($out, $err);

# WAL summaries: those repo1 has for segments repo2 holds reach repo2
sub archive_names
{
	my ($repo, $re) = @_;
	return map { s{.*/}{}r } grep { m{/[^/]+$} && $_ =~ $re } objects_under("$repo/archive/wal");
}
sub summaries_expected
{
	my %seg2 = map { $_ => 1 } archive_names($repo2, qr/[0-9A-F]{24}$/);
	return sort grep { $seg2{ substr($_, 0, 24) } } archive_names($repo1, qr/\.summary$/);
}
$node->safe_psql('postgres', 'INSERT INTO t SELECT g FROM generate_series(1, 1000) g');
DrTest::wait_archived($node);
$node->safe_psql('postgres', 'INSERT INTO t SELECT g FROM generate_series(1, 1000) g');
DrTest::wait_archived($node);
$deadline = time + 90;
my @expected;
while (time < $deadline)
{
	@expected = summaries_expected();
	last if @expected >= 2
	  && join(',', @expected) eq join(',', archive_names($repo2, qr/\.summary$/));
	sleep 1;
}
cmp_ok(scalar(@expected), '>=', 2, scalar(@expected) . ' WAL summaries in repo1 for segments repo2 holds');
is_deeply([ archive_names($repo2, qr/\.summary$/) ], \@expected,
	'the catch-up copied them to repo2');

# ---- 2. repo => N
# psql with the SQLSTATE in each message ("ERROR:  22023: ...")
sub psql_err
{
	my ($sql, $on) = @_;
	$on //= $node;
	my ($r, $o, $e) = $on->psql('postgres', "\\set VERBOSITY verbose\n$sql");
	return ($r, $o, $e);
}
is($node->safe_psql('postgres', "SELECT dr_backup_verify('$id', repo => 2)"), 't',
	'dr_backup_verify(repo => 2): the copy verifies');
my ($r, $o, $e) = psql_err("SELECT dr_backup_verify('$id', repo => 3)");
like($e, qr/ERROR:  22023: repository 3 is not configured: ".*" configures repositories 1 and 2/,
	'dr_backup_verify(repo => 3): 22023 naming the configured repositories');
($r, $o, $e) = psql_err("SELECT * FROM dr_restore('$id', '$tmp/never', 'immediate', repo => 0)");
like($e, qr/ERROR:  22023: repository 0 is not configured: .* configures repositories 1 and 2/,
	'dr_restore(repo => 0): 22023 naming the configured repositories');
ok(!-e "$tmp/never", 'and nothing was written');

# a byte flipped in repo1's largest standalone object of the backup
my ($victim) = sort { -s "$repo1/backup/$id/data$b" <=> -s "$repo1/backup/$id/data$a" } @data1;
{
	my $path = "$repo1/backup/$id/data$victim";
	sysopen(my $fh, $path, O_RDWR) or die "$path: $!";
	sysseek($fh, 200, SEEK_SET) or die;
	sysread($fh, my $byte, 1) == 1 or die;
	sysseek($fh, 200, SEEK_SET) or die;
	syswrite($fh, chr(ord($byte) ^ 0x10)) == 1 or die;
	close($fh) or die;
}
($r, $o, $e) = psql_err("SELECT dr_backup_verify('$id')");
like($o, qr/^f$/m, 'dr_backup_verify() over both: false');
like($e, qr/WARNING:  XX001: repository 1: /, 'naming repository 1');
($r, $o, $e) = psql_err("SELECT dr_backup_verify('$id', repo => 2)");
is($o, 't', 'dr_backup_verify(repo => 2): true');
unlike($e, qr/WARNING/, 'without a warning');

($r, $o, $e) = psql_err("SELECT files > 0 FROM dr_restore('$id', '$tmp/r_default', 'immediate')");
is($o, 't', 'dr_restore() without repo: restored');
like($e, qr/WARNING:  .*repository 1: .*restored it from repository 2 instead/,
	'falling back from repository 1 to 2, with a WARNING');
($r, $o, $e) = psql_err("SELECT * FROM dr_restore('$id', '$tmp/r1', 'immediate', repo => 1)");
isnt($r, 0, 'dr_restore(repo => 1) fails');
like($e, qr/ERROR:  \w{5}: repository 1: /, 'naming repository 1: no fallback');
($r, $o, $e) = psql_err("SELECT restored_backup FROM dr_restore('$id', '$tmp/r2', 'immediate', repo => 2)");
is($o, $id, 'dr_restore(repo => 2): restored');
unlike($e, qr/WARNING/, 'without a warning');
like(slurp_file("$tmp/r2/postgresql.auto.conf"),
	qr/^restore_command = '.*wal-get --config ''\Q$conf\E'' --repo 2 %f %p'$/m,
	'recovery reads repository 2 too (wal-get --repo 2)');
ok($node->poll_query_until('postgres', q{
	SELECT string_agg(coalesce(arguments->>'repo', '-') || ':' || result, ',' ORDER BY id)
	  FROM dr_audit WHERE operation = 'dr_restore'}, '0:error,-:ok,1:error,2:ok'),
	'dr_restore is audited with its repo argument');

# ---- 3. the restored cluster: no catch-up; dr_wal_verify() per repository
$node->safe_psql('postgres', 'INSERT INTO t SELECT g FROM generate_series(1, 1000) g');
DrTest::wait_archived($node);
$node->stop('fast');
my $restored = DrTest::node_from_restore('restored', "$tmp/r2");
ok($restored->wait_for_log(qr/pg_dr catch-up: .*copying backups and WAL between repositories/),
	'the restored cluster refuses to copy between repositories, and says so');

my @seg1 = archive_names($repo1, qr/[0-9A-F]{24}$/);
my @seg2 = archive_names($repo2, qr/[0-9A-F]{24}$/);
is($seg2[-1], $seg1[-1], 'both archives end with the same segment');
my @gone = @seg2[-2, -1];
for my $s (@gone)
{
	my ($path) = grep { m{/$s$} } map { "$repo2/archive/wal$_" } objects_under("$repo2/archive/wal");
	unlink($path) or die "unlink $path: $!";
}
my $hole = $seg1[-3];
my ($hole_path) = grep { m{/$hole$} } map { "$repo1/archive/wal$_" } objects_under("$repo1/archive/wal");
rename($hole_path, "$tmp/hole") or die "rename: $!";
sleep 12;	# more than a round of the catch-up
ok(!grep({ $_ eq $gone[1] } archive_names($repo2, qr/[0-9A-F]{24}$/)),
	'the segments removed from repo2 stay missing: no catch-up there');

my $rows = $restored->safe_psql('postgres',
	'SELECT repo, ok, last_segment, problems FROM dr_wal_verify() ORDER BY repo');
my @rows = split /\n/, $rows;
is(scalar(@rows), 2, 'dr_wal_verify(): a row per repository');
like($rows[0], qr/^1\|f\|\Q$seg1[-1]\E\|.*WAL segment $hole is missing from the archive/,
	'repo1: the gap in its own archive');
like($rows[1], qr/^2\|f\|\Q$seg2[-3]\E\|.*the WAL archive ends with segment $seg2[-3]: 2 segments to $seg1[-1] are missing from it, which repository 1 holds/,
	'repo2: the segments it lacks that repo1 holds, past its newest');
($rc, $out, $err) = run_cmd('pg_dr', 'verify', '--config', $conf, '--wal');
is($rc, 1, 'pg_dr verify --wal fails too');
like($out, qr/^repository 2: archive\/wal: the WAL archive ends with segment $seg2[-3]: 2 segments to $seg1[-1] are missing from it, which repository 1 holds$/m,
	'and reports the segments repo2 lacks the same way');
like($out, qr/^repository 1: archive\/wal: WAL segment $hole is missing from the archive$/m,
	"and repo1's gap");
is($restored->safe_psql('postgres',
		'SELECT count(*), min(repo), bool_and(ok) FROM dr_wal_verify(repo => 2)'),
	'1|2|t', 'dr_wal_verify(repo => 2): repo2 alone, continuous to its own newest segment (nothing to compare with)');
ok($restored->poll_query_until('postgres', q{
	SELECT arguments->>'repo' FROM dr_audit WHERE operation = 'dr_wal_verify' ORDER BY id DESC LIMIT 1},
		'2'),
	'audited with its repo argument');
($r, $o, $e) = psql_err('SELECT * FROM dr_wal_verify(repo => 5)', $restored);
like($e, qr/ERROR:  22023: repository 5 is not configured/, 'dr_wal_verify(repo => 5): 22023');

# declared primary: the catch-up copies again
$restored->safe_psql('postgres', 'SELECT dr_declare_primary()');
ok($restored->wait_for_log(qr/pg_dr catch-up: copying between repositories resumed/),
	'declared primary, the catch-up resumes');
$deadline = time + 60;
sleep 1 while (grep({ $_ eq $gone[1] } archive_names($repo2, qr/[0-9A-F]{24}$/)) == 0
	  && time < $deadline);
is_deeply([ (archive_names($repo2, qr/[0-9A-F]{24}$/))[-2, -1] ], \@gone,
	'and puts the segments back into repo2');
$restored->stop('fast');

done_testing();
