# 050_writer_exclusion.pl
#	Repository writers exclude each other where they must.
#	Leftovers of crashed writers go when the next backup starts: a
#	backup directory without a manifest whose lock expired, and stale
#	temporary objects (a crashed archive push's); a directory whose lock
#	is live and a recent temporary object stay.  A backup whose worker is
#	killed (kill -9, crash restart) leaves its directory: the next backup
#	keeps it while its lock is live, and removes it once the lock expired
#	(the test ages the lock instead of waiting 10 minutes).
#	Key rotation vs a writer creating a data key, made deterministic by
#	the test-only pause points of src/common/test_pause.h
#	(PG_DR_TEST_PAUSE_DIR): a second rotation is refused while one runs;
#	a backup that creates its key while a rotation is paused before its
#	switch keeps it (re-wrapped by the rotation); a backup that opened the
#	repository before a rotation and creates its key after the switch
#	gives it up and fails clearly.  Either way every backup still verifies
#	with the new passphrase: no data key is lost.

use strict;
use warnings;

use Fcntl qw(O_WRONLY O_CREAT O_EXCL);
use MIME::Base64 qw(encode_base64);
use lib 't/lib';
use DrTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $env = DrTest::repo_setup($tmp);
my $pause = "$tmp/pause";
mkdir $pause or die "$pause: $!";
# test only: the server and the CLI inherit it (src/common/test_pause.h)
$ENV{PG_DR_TEST_PAUSE_DIR} = $pause;
my $node = DrTest::node_new('writer_exclusion', $env->{conf});
# a production server restarts after a crash; the crashed backup needs that
$node->append_conf('postgresql.conf', "restart_after_crash = on\n");
$node->reload;
$node->command_ok([ 'pgbench', '-i', '-s', '2', '-q', 'postgres' ], 'pgbench -i');
my $repo = $env->{repo};

sub write_key_file
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

# point the configuration (server and CLI) at another passphrase
sub use_key
{
	my ($key) = @_;
	my $text = slurp_file($env->{conf});
	$text =~ s/^repo1_cipher_key_file = .*$/repo1_cipher_key_file = '$key'/m or die;
	open(my $fh, '>', $env->{conf}) or die;
	print $fh $text;
	close($fh) or die;
	return;
}

sub plant
{
	my ($path, $text, $mtime) = @_;
	(my $dir = $path) =~ s{/[^/]+$}{};
	mkdir_p($dir);
	open(my $fh, '>', $path) or die "$path: $!";
	print $fh $text;
	close($fh) or die;
	utime($mtime, $mtime, $path) or die;
	return;
}

sub mkdir_p
{
	my ($dir) = @_;
	my $path = '';
	for my $part (split m{/}, $dir)
	{
		$path .= "$part/";
		mkdir $path unless -d $path;
	}
	return;
}

sub lock_text
{
	my ($id, $seq, $time) = @_;
	return "# pg_dr lock\nbackup = $id\nparent = \nhost = elsewhere\npid = 1\n"
	  . "sequence = $seq\ntime = $time\n";
}

sub arm { my ($point) = @_; plant("$pause/$point.arm", '', time); return; }

sub wait_paused
{
	my ($point) = @_;
	my $deadline = time + 120;
	usleep(50_000) while (!-e "$pause/$point.paused" && time < $deadline);
	return -e "$pause/$point.paused";
}

sub resume { my ($point) = @_; unlink("$pause/$point.paused") or die; return; }

# ---- leftovers of crashed writers go when the next backup starts
{
	my $now = time;
	my $old = $now - 7200;
	my $abandoned = "$repo/backup/20200101-000000F";
	my $live = "$repo/backup/20200101-000100F";
	my $wal = "$repo/archive/wal/0000000100000000";
	plant("$abandoned/lock.0000000000000002", lock_text('20200101-000000F', 2, $now - 700), $old);
	plant("$abandoned/data/base/1/1259", 'x', $old);
	plant("$abandoned/data/base/1/1260.tmp.4242.7", 'x', $old);
	utime($old, $old, $abandoned) or die;
	plant("$live/lock.0000000000000005", lock_text('20200101-000100F', 5, $now), $old);
	utime($old, $old, $live) or die;
	plant("$wal/000000010000000000000009.tmp.4242.1", 'x', $now - 700);
	plant("$wal/00000001000000000000000A.tmp.4242.2", 'x', $now);

	my $log_offset = -s $node->logfile;
	my $backup = $node->safe_psql('postgres', 'SELECT dr_backup_full()');
	like($backup, qr/^\d{8}-\d{6}F$/, 'leftovers: the next backup runs');
	ok(!-e $abandoned, 'leftovers: the abandoned directory (expired lock) is gone');
	ok(-e "$live/lock.0000000000000005",
		'leftovers: the directory whose lock is live is kept');
	ok(!-e "$wal/000000010000000000000009.tmp.4242.1",
		'leftovers: a stale temporary object of an archive push is gone');
	ok(-e "$wal/00000001000000000000000A.tmp.4242.2",
		'leftovers: a recent one (a live writer\'s) is kept');
	like(slurp_file($node->logfile, $log_offset),
		qr/pg_dr backup \Q$backup\E: removed 1 directories of backups that never completed and 1 temporary objects left by crashed writers/,
		'leftovers: the server log says what went');
	command_ok([ 'pg_dr', 'verify', '--config', $env->{conf}, '--backup', 'all' ],
		'leftovers: every backup verifies');
	unlink("$wal/00000001000000000000000A.tmp.4242.2");
}

# ---- a backup whose worker is killed leaves its directory; its lock decides
{
	my ($h, $out, $err) = DrTest::slow_backup($node, 'dr_backup_full()');
	my $id = $node->safe_psql('postgres', 'SELECT backup_id FROM dr_backup_progress');
	my $postmaster = $node->{_pid};
	my @workers;
	for my $line (`ps -eo pid,ppid,args`)
	{
		push @workers, $1
		  if $line =~ /^\s*(\d+)\s+(\d+)\s+postgres: .*pg_dr backup worker/ && $2 == $postmaster;
	}
	ok(@workers >= 1, 'crashed backup: its workers run');
	kill 'KILL', $workers[0];
	$h->finish;
	DrTest::wait_worker($node);
	my $dir = "$repo/backup/$id";
	ok(-d $dir && !-e "$dir/manifest", 'crashed backup: its directory is left, without a manifest');

	$node->safe_psql('postgres', 'SELECT dr_backup_full()');
	ok(-d $dir, 'crashed backup: the next backup keeps it while its lock is live');

	# ten minutes later: the lock's newest heartbeat is that old
	opendir(my $dh, $dir) or die;
	my @locks = grep { /^lock\.[0-9A-F]{16}$/ } readdir $dh;
	closedir $dh;
	is(scalar(@locks), 1, 'crashed backup: one heartbeat is left');
	my $text = slurp_file("$dir/$locks[0]");
	my $aged = time - 700;
	$text =~ s/^time = \d+$/time = $aged/m or die;
	open(my $fh, '>', "$dir/$locks[0]") or die;
	print $fh $text;
	close($fh) or die;
	utime(time - 7200, time - 7200, $dir) or die;
	$node->safe_psql('postgres', 'SELECT dr_backup_full()');
	ok(!-e $dir, 'crashed backup: once its lock expired, the next backup removes it');
	command_ok([ 'pg_dr', 'verify', '--config', $env->{conf}, '--backup', 'all' ],
		'crashed backup: every backup verifies');
}

# ---- key rotation vs writers creating data keys
my $key2 = write_key_file("$tmp/key2");
my $key3 = write_key_file("$tmp/key3");

# (a) a backup creates its key while a rotation is paused before its switch
my $during;
{
	arm('rotate-switch');
	my ($out, $err) = ('', '');
	my $rotation = IPC::Run::start(
		[ 'pg_dr', 'repo-key-rotate', '--config', $env->{conf}, '--new-key-file', $key2 ],
		'>', \$out, '2>', \$err);
	ok(wait_paused('rotate-switch'), 'rotation: paused before its switch');
	command_fails_like(
		[ 'pg_dr', 'repo-key-rotate', '--config', $env->{conf}, '--new-key-file', $key3 ],
		qr/another key rotation of repository "\Q$repo\E" is running/,
		'rotation: a second one is refused while the first holds the lock');
	$during = $node->safe_psql('postgres', 'SELECT dr_backup_full()');
	like($during, qr/F$/, 'rotation: a backup made meanwhile creates its key and completes');
	resume('rotate-switch');
	$rotation->finish;
	is($rotation->result(0), 0, 'rotation: completes') or diag($err);
	ok(!-e "$repo/keys/rotation", 'rotation: its lock is gone');
	use_key($key2);
	command_ok([ 'pg_dr', 'verify', '--config', $env->{conf}, '--backup', $during ],
		'rotation: the key created meanwhile was re-wrapped: the backup verifies with the new passphrase');
}

# (b) a backup opened the repository before a rotation, creates its key after
{
	arm('backup-key-new');
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ 'psql', '-X', '-At', '-d', $node->connstr('postgres'), '-c', 'SELECT dr_backup_full()' ],
		'>', \$out, '2>', \$err);
	ok(wait_paused('backup-key-new'), 'late key: the backup is paused before creating its key');
	command_ok(
		[ 'pg_dr', 'repo-key-rotate', '--config', $env->{conf}, '--new-key-file', $key3 ],
		'late key: a rotation runs meanwhile');
	use_key($key3);
	resume('backup-key-new');
	$h->finish;
	isnt($h->result(0), 0, 'late key: the backup fails');
	like($err,
		qr/the passphrase of repository "\Q$repo\E" was rotated while this process had it open: no data key was created/,
		'late key: and says the passphrase was rotated under it');
	opendir(my $dh, "$repo/keys") or die;
	my %keks = map { /^[0-9a-f]{32}\.([0-9a-f]{16})$/ ? ($1 => 1) : () } readdir $dh;
	closedir $dh;
	is(scalar(keys %keks), 1, 'late key: every data key is wrapped under the new passphrase only');
	command_ok([ 'pg_dr', 'verify', '--config', $env->{conf}, '--backup', 'all' ],
		'late key: every backup verifies with the new passphrase: no key lost');
	like($node->safe_psql('postgres', 'SELECT dr_backup_full()'), qr/F$/,
		'late key: the next backup, with the new passphrase, works');
}

# ---- leftovers go when an archiver (a writer) opens the repository too
{
	my $wal = "$repo/archive/wal/0000000100000000";
	mkdir $wal unless -d $wal;
	plant("$wal/00000001000000000000000B.tmp.4243.1", 'x', time - 700);
	plant("$wal/00000001000000000000000C.tmp.4243.2", 'x', time);
	$node->append_conf('postgresql.conf', "archive_mode = on\narchive_library = 'pg_dr'\n");
	my $log_offset = -s $node->logfile;
	$node->restart;
	DrTest::wait_archived($node);
	ok(!-e "$wal/00000001000000000000000B.tmp.4243.1",
		'archiver start: a stale temporary object of a crashed push is gone');
	ok(-e "$wal/00000001000000000000000C.tmp.4243.2",
		'archiver start: a recent one (a live writer\'s) is kept');
	like(slurp_file($node->logfile, $log_offset),
		qr/pg_dr archive: removed 0 directories of backups that never completed and 1 temporary objects left by crashed writers/,
		'archiver start: the server log says what went');
	unlink("$wal/00000001000000000000000C.tmp.4243.2");
}

$node->stop;
done_testing();
