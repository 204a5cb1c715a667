# 034_expire_safety.pl
#	What expire must never remove.  archive_mode on with archive_library =
#	'pg_dr' and repo1_retention_full = 1.
#	(a) A running backup: its lock's heartbeat (backup/<id>/lock.<seq>)
#	    advances while it copies; pg_dr expire, with the directory made to
#	    look two hours old (which fooled the old age-only guard), keeps it
#	    and says so, while removing the older backup the policy drops; the
#	    backup completes, verifies and leaves no lock behind.
#	(b) A backup whose server crashed (its leader killed): the lock stays;
#	    while its heartbeat is younger than the expiry the directory stays
#	    (another host cannot tell a dead owner from a stalled one); once
#	    the heartbeat is older than the expiry (written back two hours),
#	    dr_expire() removes the abandoned directory.
#	(c) One unreadable manifest (truncated): dr_repository_sync(),
#	    dr_expire() and pg_dr expire succeed with a warning naming it, and
#	    nothing it could need is removed -- the older backup the dry run
#	    before the damage would have removed stays, and so does every
#	    archived WAL file.
#	(d) dr_expire() that fails after it removed backups (its WAL phase
#	    refused: the log directories made read-only): the error says how
#	    many backups went, the audit record names them, and the next
#	    dr_expire() drops the rows the failed one's rollback left in
#	    dr_backups.

use strict;
use warnings;

use lib 't/lib';
use DrTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Path qw(rmtree);

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $env = DrTest::repo_setup($tmp);
my $node = DrTest::node_new('safety', $env->{conf});
$node->append_conf('postgresql.conf', qq{
archive_mode = on
archive_library = 'pg_dr'
restart_after_crash = on
});
$node->restart;
DrTest::wait_worker($node);

my $repo = $env->{repo};

sub switch_wal
{
	$node->safe_psql('postgres',
		'INSERT INTO filler SELECT g FROM generate_series(1, 2000) g; SELECT pg_switch_wal()')
	  for 1 .. 2;
	$node->poll_query_until('postgres',
		'SELECT pending_segments = 0 FROM dr_archive_status')
	  or die "archiving did not catch up";
}

# The heartbeats of a backup directory: (names, newest sequence, its time)
sub lock_of
{
	my ($id) = @_;
	my $dir = "$repo/backup/$id";
	opendir(my $dh, $dir) or return ([], 0, 0);
	my @locks = sort grep { /^lock\.[0-9A-F]{16}$/ } readdir($dh);
	closedir($dh);
	return ([], 0, 0) unless @locks;
	my $text = slurp_file("$dir/$locks[-1]");
	my ($seq) = $text =~ /^sequence = (\d+)$/m;
	my ($time) = $text =~ /^time = (\d+)$/m;
	return (\@locks, $seq // 0, $time // 0);
}

sub expire_cli
{
	my @extra = @_;
	my ($out, $err);
	IPC::Run::run([ 'pg_dr', 'expire', '--config', $env->{conf}, @extra ],
		'>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

$node->command_ok([ 'pgbench', '-i', '-s', '1', '-q', 'postgres' ], 'pgbench -i');
$node->safe_psql('postgres', 'CREATE TABLE filler (i int)');
my $f1 = $node->safe_psql('postgres', "SELECT dr_backup_full('f1')");
switch_wal();
my $f2 = $node->safe_psql('postgres', "SELECT dr_backup_full('f2')");
switch_wal();
PostgreSQL::Test::Utils::append_to_file($env->{conf}, "repo1_retention_full = 1\n");

# ---- (a) a running backup and its heartbeat
my ($h, $out, $err) = DrTest::slow_backup($node, "dr_backup_full('slow')", '1MB');
my $running = $node->safe_psql('postgres', 'SELECT backup_id FROM dr_backup_progress');
like($running, qr/^\d{8}-\d{6}F$/, "backup $running is running");
my ($locks, $seq1, $time1) = lock_of($running);
ok($seq1 >= 1 && $time1 > 0, "its lock is in the repository (heartbeat $seq1)")
  or diag(explain($locks));
like(slurp_file("$repo/backup/$running/$locks->[-1]"), qr/^backup = \Q$running\E$/m,
	'the heartbeat names the backup');
my ($seq2, $time2) = ($seq1, $time1);
for (1 .. 60)
{
	(undef, $seq2, $time2) = lock_of($running);
	last if $seq2 > $seq1;
	sleep 1;
}
ok($seq2 > $seq1 && $time2 > $time1,
	"the heartbeat advances while files are copied ($seq1 at $time1, then $seq2 at $time2)");
is($node->safe_psql('postgres', 'SELECT phase FROM dr_backup_progress'),
	'copying', 'the backup is still copying');

# the directory looks two hours old: the old guard (its age) removed it
system('touch', '-d', '2 hours ago', "$repo/backup/$running") == 0 or die 'touch';
my ($rc, $stdout, $stderr) = expire_cli();
is($rc, 0, 'pg_dr expire during the backup succeeds') or diag($stderr);
like($stdout, qr/^removed backup $f1$/m, "it removes $f1, beyond the policy");
unlike($stdout, qr/\Q$running\E/, 'it does not remove the running backup');
like($stdout, qr/; 1 running backups kept \(live lock\)$/m, 'and says a live lock kept one');
ok(-d "$repo/backup/$running/data", "the running backup's directory is still there");
ok(!-e "$repo/backup/$f1", "$f1 is gone");

$h->finish;
is($$out =~ s/\s+\z//r, $running, 'the running backup completes') or diag($$err);
command_ok([ 'pg_dr', 'verify', '--config', $env->{conf}, '--backup', $running ],
	'and verifies');
($locks) = lock_of($running);
is(scalar(@$locks), 0, 'a completed backup leaves no lock behind');

# ---- (b) a backup whose server died: its lock stays, then expires
my ($h2, $out2, $err2) = DrTest::slow_backup($node, "dr_backup_full('crash')", '1MB');
my ($crashed, $pid) = split /\|/,
  $node->safe_psql('postgres', 'SELECT backup_id, pid FROM dr_backup_progress');
kill 'KILL', $pid or die "could not kill $pid";
$h2->finish;
$node->poll_query_until('postgres', 'SELECT true')
  or die 'the server did not come back after the crash';
DrTest::wait_worker($node);
my $cdir = "$repo/backup/$crashed";
($locks, my $cseq, my $ctime) = lock_of($crashed);
ok(-d $cdir && $cseq >= 1 && !-e "$cdir/manifest",
	"the killed backup $crashed left a directory without a manifest and its lock");

system('touch', '-d', '2 hours ago', $cdir) == 0 or die 'touch';
($rc, $stdout, $stderr) = expire_cli();
is($rc, 0, 'pg_dr expire with a dead owner\'s lock succeeds') or diag($stderr);
unlike($stdout, qr/\Q$crashed\E/, 'it does not name the directory');
ok(-d $cdir, 'a lock within its expiry keeps the directory, its owner dead or not');

# ten minutes later, as far as the lock is concerned
my $lockfile = "$cdir/$locks->[-1]";
my $old = time() - 7200;
my $text = slurp_file($lockfile);
$text =~ s/^time = \d+$/time = $old/m or die 'no time in the lock';
open(my $fh, '>', $lockfile) or die "$lockfile: $!";
print $fh $text;
close($fh) or die;
system('touch', '-d', '2 hours ago', $cdir) == 0 or die 'touch';
my ($ret, $sout, $serr) = $node->psql('postgres', 'SELECT backups_removed FROM dr_expire()');
is($ret, 0, 'dr_expire() with an expired lock succeeds') or diag($serr);
is($sout, '1', 'it removes one directory');
ok(!-e $cdir, 'the abandoned directory whose lock expired is removed');
$node->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM dr_audit WHERE operation = 'dr_expire' AND arguments->'orphans' ? '$crashed'")
  or diag('the audit record of dr_expire does not name the directory');

# ---- (c) one unreadable manifest
my $f3 = $node->safe_psql('postgres', "SELECT dr_backup_full('f3')");
switch_wal();
my $f4 = $node->safe_psql('postgres', "SELECT dr_backup_full('f4')");
switch_wal();
my $keep_older = $running;
ok($keep_older lt $f3 && $f3 lt $f4, "backups $keep_older, $f3, $f4, oldest first");

($rc, $stdout, $stderr) = expire_cli('--dry-run');
like($stdout, qr/^would remove backup $keep_older$/m,
	"before the damage the policy would remove $keep_older");
like($stdout, qr/^would remove 2 backups and 0 directories without a manifest, [1-9]\d* WAL files/m,
	'and archived WAL');

my $manifest = "$repo/backup/$f3/manifest";
my $size = -s $manifest;
truncate($manifest, int($size / 2)) or die "truncate: $!";
my @before = DrTest::archived_wal($env);

($ret, $sout, $serr) = $node->psql('postgres', 'SELECT dr_repository_sync()');
is($ret, 0, 'dr_repository_sync() succeeds with one manifest unreadable') or diag($serr);
like($serr, qr/WARNING:  backup $f3 is skipped: /, 'with a WARNING naming the backup');
is($node->safe_psql('postgres', "SELECT string_agg(backup_id, ',' ORDER BY backup_id) FROM dr_backups"),
	"$running,$f4", 'dr_backups lists the readable backups');

($ret, $sout, $serr) = $node->psql('postgres',
	'SELECT backups_removed, wal_removed FROM dr_expire()');
is($ret, 0, 'dr_expire() succeeds with one manifest unreadable') or diag($serr);
is($sout, '0|0', 'it removes nothing');
like($serr, qr/WARNING:  backup $f3 is skipped: /, 'with a WARNING naming the backup');

($rc, $stdout, $stderr) = expire_cli();
is($rc, 0, 'pg_dr expire succeeds with one manifest unreadable') or diag($stderr);
like($stderr, qr/warning: backup $f3 is skipped: /, 'with a warning on stderr naming the backup');
like($stdout,
	qr/^removed 0 backups and 0 directories without a manifest, 0 WAL files, 0 bytes; 2 backups kept; 1 backups cannot be read, so no WAL is removed$/m,
	'and says why nothing is removed');
ok(-e "$repo/backup/$keep_older/manifest",
	"$keep_older, older than the unreadable backup (maybe its parent), is kept");
my %now = map { $_ => 1 } DrTest::archived_wal($env);
is(scalar(grep { !$now{$_} } @before), 0, 'no archived WAL file is removed');
command_ok([ 'pg_dr', 'verify', '--config', $env->{conf}, '--backup', $keep_older ],
	"$keep_older still verifies");

# ---- (d) a dr_expire() that fails after removing backups
rmtree("$repo/backup/$f3");
$node->safe_psql('postgres', 'SELECT dr_repository_sync()');
my $f5 = $node->safe_psql('postgres', "SELECT dr_backup_full('f5')");
switch_wal();
my @logdirs = grep { -d $_ } glob("$repo/archive/wal/*");
chmod 0555, @logdirs;
($ret, $sout, $serr) = $node->psql('postgres', 'SELECT * FROM dr_expire()');
chmod 0755, @logdirs;
isnt($ret, 0, 'dr_expire() fails when its WAL cannot be removed');
like($serr, qr/HINT:  2 backups were removed before it stopped; dr_backups lists them until the next dr_expire\(\)/,
	'and says which state it leaves');
ok(!-e "$repo/backup/$keep_older" && !-e "$repo/backup/$f4",
	"$keep_older and $f4 are gone from the repository");
$node->poll_query_until('postgres',
	q{SELECT count(*) > 0 FROM dr_audit WHERE operation = 'dr_expire' AND result = 'error'})
  or die 'no failed dr_expire audit record';
like($node->safe_psql('postgres',
		q{SELECT arguments FROM dr_audit WHERE operation = 'dr_expire' ORDER BY id DESC LIMIT 1}),
	qr/"backups": \["$keep_older", "$f4"\]/, 'the failed audit record names the removed backups');
($ret, $sout, $serr) = $node->psql('postgres', 'SELECT backups_removed FROM dr_expire()');
is($ret, 0, 'the next dr_expire() succeeds') or diag($serr);
is($node->safe_psql('postgres', "SELECT string_agg(backup_id, ',') FROM dr_backups"),
	$f5, 'and dr_backups lists only what the repository holds');

$node->stop;
done_testing();
