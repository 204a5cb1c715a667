# 020_archive.pl
#	Continuous WAL archiving with archive_library = 'pg_dr' and two
#	pre-push workers: segments written under pgbench reach the repository
#	encrypted, dr_archive_status and dr_wal_verify() agree; a read-only
#	repository makes archiving fail and WAL wait in pg_wal, and the backlog
#	drains once it is writable again; an object with other content under
#	the name of the next segment is refused loudly and never overwritten,
#	while the workers push the segments after it (and leave them .ready);
#	a kill -9 of the postmaster while segments are pushed leaves no partial
#	object, and archiving resumes; a passphrase rotated while the server
#	archives is followed through the configuration file.  A damaged
#	segment and a gap are named by dr_wal_verify() and, with the server
#	running or stopped, by pg_dr verify --wal.

use strict;
use warnings;

use Fcntl qw(O_WRONLY O_CREAT O_EXCL);
use File::Copy qw(copy);
use File::Compare qw(compare);
use File::Find qw(find);
use File::Path qw(make_path);
use MIME::Base64 qw(encode_base64);
use lib 't/lib';
use DrTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $env = DrTest::repo_setup($tmp);
my $node = DrTest::node_new('archive', $env->{conf});
$node->append_conf('postgresql.conf', qq{
archive_mode = on
archive_library = 'pg_dr'
pg_dr.archive_workers = 2
});
$node->restart;
DrTest::wait_worker($node);

my $pgdata = $node->data_dir;
my $walarch = "$env->{repo}/archive/wal";

sub object_of
{
	my ($name) = @_;
	return "$walarch/" . substr($name, 0, 16) . "/$name";
}

sub ready_of
{
	my ($name) = @_;
	return "$pgdata/pg_wal/archive_status/$name.ready";
}

# write something, then finish the segment; n times
sub switch_wal
{
	my ($n) = @_;
	$node->safe_psql('postgres',
		'INSERT INTO filler SELECT g FROM generate_series(1, 5000) g; SELECT pg_switch_wal()')
	  for 1 .. $n;
}

# the segment being written (after a write, so not on a boundary)
sub current_segment
{
	return $node->safe_psql('postgres',
		'INSERT INTO filler VALUES (0); SELECT pg_walfile_name(pg_current_wal_insert_lsn())');
}

sub wait_drained
{
	my ($what) = @_;
	$node->poll_query_until('postgres',
		'SELECT pending_segments = 0 FROM dr_archive_status')
	  or die "archiving did not catch up ($what)";
}

sub wal_verify
{
	return $node->safe_psql('postgres',
		'SELECT ok, segments_checked > 0, problems FROM dr_wal_verify()');
}

sub file_exists_within
{
	my ($path, $seconds) = @_;
	for (1 .. $seconds * 10)
	{
		return 1 if -f $path;
		select(undef, undef, undef, 0.1);
	}
	return 0;
}

$node->command_ok([ 'pgbench', '-i', '-s', '2', '-q', 'postgres' ], 'pgbench -i');
$node->safe_psql('postgres', 'CREATE TABLE filler (i int)');
my $backup = $node->safe_psql('postgres', "SELECT dr_backup_full('archive base')");
like($backup, qr/^\d{8}-\d{6}F$/, 'a full backup to verify the archive from');

# ---- archiving under load
$node->command_ok([ 'pgbench', '-n', '-T', '3', '-c', '2', 'postgres' ],
	'pgbench writes');
switch_wal(4);
wait_drained('first segments');

my ($count, $last) = split /\|/, $node->safe_psql('postgres',
	'SELECT archived_count, last_archived_wal FROM pg_stat_archiver');
cmp_ok($count, '>=', 5, "the archiver archived $count files");
ok(-f object_of($last), "the last archived segment $last is in the repository");
open(my $fh, '<:raw', object_of($last)) or die $!;
read($fh, my $magic, 8);
close($fh);
is($magic, 'PGDROBJ1', 'stored as a pg_dr object, not as plain WAL');
ok(-f object_of($node->safe_psql('postgres',
			"SELECT pg_walfile_name(start_lsn) FROM dr_backups WHERE backup_id = '$backup'")),
	'the start segment of the backup is archived');

is($node->safe_psql('postgres',
	"SELECT repo, last_archived_wal = '$last', pending_segments, pending_bytes,
	        archive_lag_seconds, failed_count, last_error IS NULL
	   FROM dr_archive_status"),
	'1|t|0|0|0|0|t', 'dr_archive_status: last segment, nothing waits, no failure');
is(wal_verify(), 't|t|{}', 'dr_wal_verify(): continuous from the backup, every segment intact');
is($node->safe_psql('postgres',
	"SELECT result, arguments->>'ok' FROM dr_audit WHERE operation = 'dr_wal_verify' ORDER BY id DESC LIMIT 1"),
	'ok|true', 'dr_wal_verify() is audited with its result');

# ---- a read-only repository: archiving fails, WAL waits in pg_wal
my @dirs;
find(sub { push @dirs, $File::Find::name if -d $_ }, $walarch);
chmod(0500, @dirs) == @dirs or die "chmod: $!";

my $pgbench = IPC::Run::start(
	[ 'pgbench', '-n', '-T', '4', '-c', '2', '-d', $node->connstr('postgres') ],
	'>', \my $pgb_out, '2>', \my $pgb_err);
switch_wal(3);
$node->poll_query_until('postgres',
	'SELECT failed_count > 0 AND last_error IS NOT NULL FROM dr_archive_status')
  or die 'archiving into a read-only repository did not fail';
ok($pgbench->finish, 'pgbench wrote while the repository was read-only')
  or diag($pgb_err);
sleep 1;

my @ready = glob("$pgdata/pg_wal/archive_status/*.ready");
cmp_ok(scalar(@ready), '>=', 3, scalar(@ready) . ' segments wait in pg_wal (.ready)');
my ($pending, $bytes, $lag, $error) = split /\|/, $node->safe_psql('postgres',
	'SELECT pending_segments, pending_bytes, archive_lag_seconds > 0, last_error FROM dr_archive_status');
cmp_ok($pending, '>=', 3, "dr_archive_status counts $pending waiting segments");
is($bytes, $pending * 16 * 1024 * 1024, 'and their bytes');
is($lag, 't', 'and the age of the oldest');
like($error, qr/Permission denied/, 'and the error');
cmp_ok($node->safe_psql('postgres', 'SELECT failed_count FROM pg_stat_archiver'),
	'>', 0, 'pg_stat_archiver counts the failures');
my ($repo_ok, $repo_error) = split /\|/, $node->safe_psql('postgres',
	'SELECT repository_ok, repository_error FROM dr_status');
is($repo_ok, 'f', 'dr_status: repository_ok is false while archiving fails');
like($repo_error, qr/^repo1: WAL archiving is failing .*Permission denied/,
	'dr_status: repository_error says archiving fails, and why');

chmod(0700, @dirs) == @dirs or die "chmod: $!";
switch_wal(1);    # wakes the archiver, which waits after repeated failures
wait_drained('after the repository was writable again');
ok(!glob("$pgdata/pg_wal/archive_status/*.ready"), 'the backlog drained');
is($node->safe_psql('postgres', 'SELECT repository_ok, repository_error IS NULL FROM dr_status'),
	't|t', 'dr_status: repository_ok again once a segment archived');
is(wal_verify(), 't|t|{}', 'dr_wal_verify(): no gap after the failures');

# ---- other content under the name of the next segment
my $next = current_segment();
my $bogus = object_of($next);
make_path(substr($bogus, 0, rindex($bogus, '/')));
copy(object_of($last), $bogus) or die "copy: $!";
my $failed_before = $node->safe_psql('postgres', 'SELECT failed_count FROM dr_archive_status');
my $log_offset = -s $node->logfile;

switch_wal(1);
my $after = current_segment();
switch_wal(3);
$node->poll_query_until('postgres',
	"SELECT failed_count > $failed_before AND last_error LIKE '%other content%' FROM dr_archive_status")
  or die 'a segment with other content in the repository was not refused';
ok($node->log_contains(
		qr/WARNING:  WAL file "$next" is already in repository ".*" with other content; it is not overwritten/,
		$log_offset),
	'the refusal is logged as a WARNING');
is(compare($bogus, object_of($last)), 0, 'the object in the repository was not overwritten');
ok(-f ready_of($next), "$next is still waiting");
ok(file_exists_within(object_of($after), 30),
	"the workers pushed $after, after the blocked segment");
ok(-f ready_of($after) && -f ready_of($next),
	'and left it .ready: only the archiver marks segments done');

# ---- a segment the workers stored, changed before the archiver gets to it
# The archiver trusts a worker's push only while the local file is the one
# the worker read (same inode, size, modification and change time); a
# file written to since is compared with the object, and refused.
sub flip_last_byte
{
	my ($path, $byte) = @_;
	open(my $fh, '+<', $path) or die "open $path: $!";
	binmode($fh);
	seek($fh, -1, 2) or die "seek: $!";
	print $fh $byte or die "write: $!";
	close($fh) or die "close: $!";
}
my $after_wal = "$pgdata/pg_wal/$after";
flip_last_byte($after_wal, "\x01");
unlink($bogus) or die "unlink: $!";
$log_offset = -s $node->logfile;
switch_wal(1);
$node->poll_query_until('postgres',
	"SELECT last_error LIKE '%$after%other content%' FROM dr_archive_status")
  or die 'a pushed segment changed afterwards was not refused';
ok($node->log_contains(
		qr/WARNING:  WAL file "$after" is already in repository ".*" with other content/,
		$log_offset),
	'a segment changed after a worker stored it is compared, and refused');
ok(-f ready_of($after), "$after is still waiting");

flip_last_byte($after_wal, "\x00");
switch_wal(1);
wait_drained('after the object with other content was removed');
is(wal_verify(), 't|t|{}', 'dr_wal_verify(): the segment is archived with its own content');

# ---- kill -9 of the postmaster while segments are pushed
$pgbench = IPC::Run::start(
	[ 'pgbench', '-n', '-T', '20', '-c', '4', '-d', $node->connstr('postgres') ],
	'>', \$pgb_out, '2>', \$pgb_err);
# a burst of segments; kill while the archiver and the workers store them
my $archived_before = $node->safe_psql('postgres', 'SELECT archived_count FROM pg_stat_archiver');
my $burst = IPC::Run::start(
	[ 'psql', '-X', '-d', $node->connstr('postgres'), '-c',
		'DO $$ BEGIN FOR i IN 1..12 LOOP INSERT INTO filler SELECT g FROM generate_series(1, 50000) g; PERFORM pg_switch_wal(); END LOOP; END $$' ],
	'>', \my $burst_out, '2>', \my $burst_err);
$node->poll_query_until('postgres',
	"SELECT archived_count >= $archived_before + 3 FROM pg_stat_archiver")
  or die 'the burst was not archived';
my $postmaster = (split /\n/, slurp_file("$pgdata/postmaster.pid"))[0];
my @children;
for my $stat (glob('/proc/[0-9]*/stat'))
{
	open(my $sfh, '<', $stat) or next;
	my $line = <$sfh>;
	close($sfh);
	push @children, $1 if defined $line && $line =~ /^(\d+) \(.*\) \S (\d+) / && $2 == $postmaster;
}
$node->kill9;
$burst->finish;
$pgbench->finish;
# the children notice the postmaster is gone; wait until they are
for (1 .. 300)
{
	last unless grep { kill(0, $_) } @children;
	select(undef, undef, undef, 0.1);
}
ok(!(grep { kill(0, $_) } @children), 'every server process ended after the kill');
$node->start;
DrTest::wait_worker($node);

switch_wal(2);
wait_drained('after the crash');
cmp_ok($node->safe_psql('postgres', 'SELECT archived_count FROM pg_stat_archiver'),
	'>', 0, 'archiving resumed after the crash');
my @temps;
find(sub { push @temps, $_ if /\.tmp\.\d+\.\d+$/ }, $walarch);
note(scalar(@temps) . ' temporary files left by the kill (never objects)');
my @bad;
find(sub {
		return unless -f $_ && !/\.tmp\.\d+\.\d+$/;
		push @bad, $_ unless /^[0-9A-F]{24}(\.partial|\.[0-9A-F]{8}\.backup|\.summary)?$|^[0-9A-F]{8}\.history$/;
	}, $walarch);
is_deeply(\@bad, [], 'every object in the archive has a WAL file name');
is(wal_verify(), 't|t|{}', 'dr_wal_verify(): no partial or damaged segment after the crash, no gap');

# ---- the passphrase is rotated while the server archives: the archiver
# and the workers follow the configuration file, keeping their data keys
my $newkey = "$tmp/repo-rotated.key";
open(my $rand, '<:raw', '/dev/urandom') or die $!;
read($rand, my $passphrase, 48) == 48 or die 'short read from /dev/urandom';
close($rand);
sysopen(my $kfh, $newkey, O_WRONLY | O_CREAT | O_EXCL, 0600) or die "$newkey: $!";
print $kfh encode_base64($passphrase, ''), "\n";
close($kfh) or die $!;
switch_wal(1);
command_ok([ 'pg_dr', 'repo-key-rotate', '--config', $env->{conf}, '--new-key-file', $newkey ],
	'the passphrase is rotated while the server archives');
my $conf = slurp_file($env->{conf});
$conf =~ s/\Q$env->{key}\E/$newkey/ or die 'no key file in the configuration';
PostgreSQL::Test::Utils::append_to_file("$env->{conf}.new", $conf);
rename("$env->{conf}.new", $env->{conf}) or die "rename: $!";
my $failed_rotation = $node->safe_psql('postgres', 'SELECT failed_count FROM dr_archive_status');
switch_wal(3);
wait_drained('after the key rotation');
is($node->safe_psql('postgres', 'SELECT failed_count FROM dr_archive_status'),
	$failed_rotation, 'archiving goes on with the new passphrase, without a failure');
is(wal_verify(), 't|t|{}', 'dr_wal_verify(): every segment, before and after the rotation, decodes');

# ---- damage and gaps, found by the server and by the CLI alike
sub cli_verify_wal
{
	my @extra = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'pg_dr', 'verify', '--config', $env->{conf}, '--wal', @extra ],
		'>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

my ($first, $last_seg) = split /\|/, $node->safe_psql('postgres',
	'SELECT first_segment, last_segment FROM dr_wal_verify()');
my ($rc, $out, $err) = cli_verify_wal();
is($rc, 0, 'pg_dr verify --wal: the archive is good') or diag($out, $err);
like($out, qr/^verified the WAL archive of repository 1: $first to $last_seg \(from backup $backup\), (\d+) segments read\nno problems found\n$/,
	'pg_dr verify --wal: the same range as dr_wal_verify(), from the oldest backup');

my @range;
find(sub { push @range, $_ if /^[0-9A-F]{24}$/ && $_ gt $first && $_ lt $last_seg }, $walarch);
@range = sort @range;
cmp_ok(scalar(@range), '>=', 4, 'segments in the middle of the range to damage');
my ($victim, $gap1, $gap2) = @range[0, 2, 3];

copy(object_of($victim), "$tmp/victim") or die "copy: $!";
open(my $vfh, '+<:raw', object_of($victim)) or die $!;
seek($vfh, (-s object_of($victim)) / 2, 0);
read($vfh, my $byte, 1);
seek($vfh, (-s object_of($victim)) / 2, 0);
print $vfh chr(ord($byte) ^ 0x01);
close($vfh) or die $!;
rename(object_of($gap1), "$tmp/gap1") or die "rename: $!";
rename(object_of($gap2), "$tmp/gap2") or die "rename: $!";

my $problems = $node->safe_psql('postgres', 'SELECT ok, problems FROM dr_wal_verify()');
like($problems, qr/^f\|.*WAL segment $victim is damaged/, 'dr_wal_verify(): the flipped byte');
like($problems, qr/WAL segments $gap1 to $gap2 are missing from the archive \(2 segments\)/,
	'dr_wal_verify(): the gap, as one range');
($rc, $out, $err) = cli_verify_wal();
is($rc, 1, 'pg_dr verify --wal fails');
like($out, qr{^archive/wal: WAL segment $victim is damaged: }m,
	'pg_dr verify --wal: the flipped byte');
like($out, qr{^archive/wal: WAL segments $gap1 to $gap2 are missing from the archive \(2 segments\)$}m,
	'pg_dr verify --wal: the gap');
like($out, qr/^2 problems found$/m, 'pg_dr verify --wal: counted');

copy("$tmp/victim", object_of($victim)) or die "copy: $!";
rename("$tmp/gap1", object_of($gap1)) or die "rename: $!";
# a segment stored under the name of another
copy(object_of($range[1]), object_of($gap2)) or die "copy: $!";
($rc, $out, $err) = cli_verify_wal();
like($out, qr{^archive/wal: WAL segment $gap2 }m,
	"pg_dr verify --wal: another segment's object under the name $gap2") or diag($out);
unlink(object_of($gap2));
rename("$tmp/gap2", object_of($gap2)) or die "rename: $!";

$node->stop;
($rc, $out, $err) = cli_verify_wal('--backup', 'all');
is($rc, 0, 'pg_dr verify --wal --backup all, server stopped: all good again') or diag($out, $err);
like($out, qr/^verified 1 backup in repository 1: .*\nverified the WAL archive of repository 1: $first to [0-9A-F]{24} .*\nno problems found\n$/s,
	'both the backups and the WAL archive are verified');

# without a backup the CLI learns the segment size and the cluster from
# the newest segment, and walks from the oldest one
rename("$env->{repo}/backup/$backup/manifest", "$tmp/manifest") or die "rename: $!";
($rc, $out, $err) = cli_verify_wal();
is($rc, 0, 'pg_dr verify --wal without any backup') or diag($out, $err);
like($err, qr/has no backup: the WAL archive is checked from its oldest segment/,
	'it says there is no backup');
like($out, qr/^verified the WAL archive of repository 1: 000000010000000000000001 to [0-9A-F]{24}, \d+ segments read$/m,
	'it walks from the oldest archived segment');
rename("$tmp/manifest", "$env->{repo}/backup/$backup/manifest") or die "rename: $!";
done_testing();
