# 033_wal_binding.pl
#	An archived WAL object is the file of its name, or it is not served:
#	another segment's object copied under a segment's name makes pg_dr
#	wal-get exit 126 naming both segments and write nothing, so recovery
#	stops instead of taking the wrong page address for the end of the WAL
#	and promoting with committed data missing; an object bound to another
#	name (a segment under its ".partial" name, or under a history file's),
#	or of another cluster than the one being recovered, is refused the
#	same way.  A backup that left its WAL to the archive is
#	verified with that WAL: a segment between its start and stop that is
#	missing, damaged (one flipped byte) or another segment's makes
#	dr_backup_verify() and pg_dr verify --backup fail, naming it.

use strict;
use warnings;

use File::Copy qw(copy);
use lib 't/lib';
use DrTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $env = DrTest::repo_setup($tmp);
my $node = DrTest::node_new('walbind', $env->{conf});
$node->append_conf('postgresql.conf', "archive_mode = on\narchive_library = 'pg_dr'\n");
$node->restart;
DrTest::wait_worker($node);

my $walarch = "$env->{repo}/archive/wal";

sub object_of
{
	my ($name) = @_;
	return "$walarch/" . substr($name, 0, 16) . "/$name";
}

# last_archived_wal can be a backup history file, named after an older
# segment: look for the object itself
sub wait_archived
{
	my ($segment) = @_;
	for (1 .. 600)
	{
		return if -f object_of($segment);
		select(undef, undef, undef, 0.1);
	}
	die "segment $segment was not archived";
}

# the segment after name (16 MB segments: 256 to a log)
sub next_segment
{
	my ($name) = @_;
	my ($tli, $log, $seg) = map { hex } unpack('A8 A8 A8', $name);
	$seg++;
	return sprintf('%08X%08X%08X', $tli, $log + int($seg / 256), $seg % 256);
}

sub wal_get
{
	my ($name, $dest) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run(
		[ 'pg_dr', 'wal-get', '--config', $env->{conf}, '--prefetch', '0', $name, $dest ],
		'>', \$out, '2>', \$err);
	return ($? >> 8, $err);
}

sub cli_verify
{
	my ($backup) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'pg_dr', 'verify', '--config', $env->{conf}, '--backup', $backup ],
		'>', \$out, '2>', \$err);
	return ($? >> 8, $out . $err);
}

# dr_backup_verify(): (result, warnings)
sub sql_verify
{
	my ($backup) = @_;
	my ($out, $err) = ('', '');
	$node->psql('postgres', "SELECT dr_backup_verify('$backup')",
		stdout => \$out, stderr => \$err);
	return ($out, $err);
}

$node->safe_psql('postgres', 'CREATE TABLE t (i int)');
$node->safe_psql('postgres', 'SELECT pg_switch_wal()');
$node->poll_query_until('postgres',
	'SELECT archived_count > 0 AND (last_failed_time IS NULL OR last_failed_time < last_archived_time) FROM pg_stat_archiver')
  or die 'nothing archived';

# ---- (a) a segment's name with the next segment's object in it
my $backup = $node->safe_psql('postgres', 'SELECT dr_backup_full()');
ok(!-d "$env->{repo}/backup/$backup/wal", "backup $backup leaves its WAL to the archive");

# four segments after the backup, rows committed in each
my @segs;
for my $i (1 .. 4)
{
	$node->safe_psql('postgres', "INSERT INTO t SELECT g FROM generate_series(1, 1000) g");
	push @segs, $node->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_insert_lsn())');
	$node->safe_psql('postgres', 'SELECT pg_switch_wal()');
}
wait_archived($segs[3]);
my ($victim, $impostor) = ($segs[1], next_segment($segs[1]));
ok(-f object_of($impostor), "segments $victim and $impostor are archived");

my $dest = "$tmp/dest";
mkdir($dest) or die;
my ($rc, $err) = wal_get($victim, "$dest/RECOVERYXLOG");
is($rc, 0, "wal-get $victim as it is") or diag($err);
unlink("$dest/RECOVERYXLOG");

rename(object_of($victim), "$tmp/victim") or die "rename: $!";
copy(object_of($impostor), object_of($victim)) or die "copy: $!";
($rc, $err) = wal_get($victim, "$dest/RECOVERYXLOG");
is($rc, 126, "wal-get of $victim holding the object of $impostor: exit 126");
like($err, qr/WAL segment $victim holds the WAL of segment $impostor/,
	'the message names both segments') or diag($err);
opendir(my $dh, $dest) or die;
is(scalar(grep { !/^\./ } readdir($dh)), 0, 'nothing written to the destination directory');
closedir($dh);

# what the page header cannot tell: the binding does
copy(object_of($impostor), object_of("$impostor.partial")) or die "copy: $!";
($rc, $err) = wal_get("$impostor.partial", "$dest/RECOVERYXLOG");
is($rc, 126, "a segment's object under its .partial name: exit 126");
like($err, qr/WAL segment $impostor\.partial is not the file of that name: .*bound to another name/,
	'refused for its binding') or diag($err);
unlink(object_of("$impostor.partial"));
copy(object_of($impostor), "$walarch/00000002.history") or die "copy: $!";
($rc, $err) = wal_get('00000002.history', "$dest/RECOVERYHISTORY");
is($rc, 126, "a segment's object under a history file's name: exit 126");
like($err, qr/00000002\.history is not the file of that name/, 'refused for its binding')
  or diag($err);
unlink("$walarch/00000002.history");
ok(!-e "$dest/RECOVERYXLOG" && !-e "$dest/RECOVERYHISTORY", 'still nothing written');

# run as restore_command (in the data directory, to pg_wal/): the segment
# must be of the cluster being recovered, as its pg_control says
sub wal_get_in
{
	my ($datadir, $name) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run(
		[ 'pg_dr', 'wal-get', '--config', $env->{conf}, '--prefetch', '0', $name,
			'pg_wal/RECOVERYXLOG' ],
		'>', \$out, '2>', \$err, init => sub { chdir($datadir) or die "chdir: $!" });
	return ($? >> 8, $err);
}
my $other = PostgreSQL::Test::Cluster->new('other');
$other->init;
($rc, $err) = wal_get_in($other->data_dir, $segs[0]);
is($rc, 126, 'into the pg_wal of another cluster: exit 126');
like($err, qr/WAL segment $segs[0] is of another cluster/, 'naming it') or diag($err);
ok(!-e $other->data_dir . '/pg_wal/RECOVERYXLOG', 'nothing written there');
($rc, $err) = wal_get_in($node->data_dir, $segs[0]);
is($rc, 0, 'into the pg_wal of its own cluster: fetched') or diag($err);
unlink($node->data_dir . '/pg_wal/RECOVERYXLOG');

# a restore whose recovery needs the segment stops there: no promotion
my $dir = "$tmp/restored";
my $out;
($rc, $out, $err) = DrTest::restore($env, $backup, $dir);
is($rc, 0, "restore of backup $backup") or diag($err);
# no hot standby: pg_ctl start then returns only once recovery ended (the
# server accepts connections) or failed (it is gone)
PostgreSQL::Test::Utils::append_to_file("$dir/postgresql.conf",
	"archive_mode = off\nhot_standby = off\n");
my $r = PostgreSQL::Test::Cluster->new('restored');
PostgreSQL::Test::Utils::append_to_file("$dir/postgresql.conf",
	"port = " . $r->port . "\nunix_socket_directories = '" . $r->host . "'\nlisten_addresses = ''\n");
chmod(0700, $dir);
rename($dir, $r->data_dir) or die "rename: $!";
# pg_ctl start returns as soon as archive recovery begins: start it, and
# wait until recovery either ends (the server would run on) or the server
# is gone.  Its exit status says nothing here: when the server dies of the
# refused segment before pg_ctl saw recovery begin, pg_ctl reports a failed
# start, which is the outcome the checks below look for.
system('pg_ctl', '-D', $r->data_dir, '-l', $r->logfile, 'start');
my $gone = 0;
for (1 .. 600)
{
	if (!-f $r->data_dir . '/postmaster.pid')
	{
		$gone = 1;
		last;
	}
	select(undef, undef, undef, 0.1);
}
ok($gone, 'the restored server stops by itself');
system('pg_ctl', '-D', $r->data_dir, '-m', 'immediate', 'stop') unless $gone;
my $log = PostgreSQL::Test::Utils::slurp_file($r->logfile);
like($log, qr/WAL segment $victim holds the WAL of segment $impostor/,
	'its log names both segments');
like($log, qr/FATAL:  could not restore file "$victim" from archive/,
	'recovery stopped at the segment (exit 126 is fatal)');
unlike($log, qr/selected new timeline ID|database system is ready to accept connections/,
	'it never promoted');

# the archive made whole again: the same restore recovers every row
unlink(object_of($victim));
rename("$tmp/victim", object_of($victim)) or die "rename: $!";
$r->start;
$r->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'recovery did not end';
is($r->safe_psql('postgres', 'SELECT count(*) FROM t'), '4000',
	'with the right segment back, recovery replays every committed row');
$r->stop;

# ---- (b) verification of a backup's archived WAL
($rc, $out) = cli_verify($backup);
is($rc, 0, "pg_dr verify --backup $backup: good") or diag($out);
my ($sql) = sql_verify($backup);
is($sql, 't', 'dr_backup_verify(): good');

# a backup spanning several segments: WAL switched while it copies
$node->command_ok([ 'pgbench', '-i', '-s', '2', '-q', 'postgres' ], 'pgbench -i');
my ($h, $bout, $berr) = DrTest::slow_backup($node, 'dr_backup_full()');
$node->safe_psql('postgres', 'INSERT INTO t VALUES (1); SELECT pg_switch_wal()') for 1 .. 3;
$h->finish;
chomp(my $long = $$bout);
like($long, qr/^\d{8}-\d{6}F$/, 'a backup taken while the WAL switched') or diag($$berr);
my ($first, $last) = split /\|/, $node->safe_psql('postgres',
	"SELECT pg_walfile_name(start_lsn), pg_walfile_name(stop_lsn - 1) FROM dr_backups WHERE backup_id = '$long'");
wait_archived($last);
ok(!-d "$env->{repo}/backup/$long/wal", "backup $long leaves its WAL to the archive");
cmp_ok($last, 'gt', next_segment($first), "it needs segments $first to $last");
my $middle = next_segment($first);
($rc, $out) = cli_verify($long);
is($rc, 0, "pg_dr verify --backup $long: good") or diag($out);

# missing
rename(object_of($middle), "$tmp/middle") or die "rename: $!";
($rc, $out) = cli_verify($long);
isnt($rc, 0, "pg_dr verify --backup, segment $middle missing: fails");
like($out, qr/WAL segment $middle is missing from the archive; backup $long needs it/,
	'it names the segment') or diag($out);
my $warnings;
($sql, $warnings) = sql_verify($long);
is($sql, 'f', 'dr_backup_verify(): fails');
like($warnings, qr/WAL segment $middle is missing from the archive/, 'naming the segment')
  or diag($warnings);
like($node->safe_psql('postgres', "SELECT status || ': ' || error FROM dr_backups WHERE backup_id = '$long'"),
	qr/^damaged: .*$middle/, 'dr_backups: damaged, with the segment');

# damaged: one flipped byte
copy("$tmp/middle", object_of($middle)) or die "copy: $!";
my $size = -s object_of($middle);
open(my $fh, '+<:raw', object_of($middle)) or die $!;
seek($fh, int($size / 2), 0);
read($fh, my $byte, 1);
seek($fh, int($size / 2), 0);
print $fh chr(ord($byte) ^ 0x01);
close($fh) or die $!;
($rc, $out) = cli_verify($long);
isnt($rc, 0, 'pg_dr verify --backup, one byte flipped: fails');
like($out, qr/WAL segment $middle is damaged: .*backup $long needs it/, 'it names the segment')
  or diag($out);
($sql, $warnings) = sql_verify($long);
is($sql, 'f', 'dr_backup_verify(), one byte flipped: fails');
like($warnings, qr/WAL segment $middle is damaged/, 'naming the segment') or diag($warnings);

# another segment's object under its name
unlink(object_of($middle));
copy(object_of($last), object_of($middle)) or die "copy: $!";
($rc, $out) = cli_verify($long);
isnt($rc, 0, "pg_dr verify --backup, the object of $last as $middle: fails");
like($out, qr/WAL segment $middle holds the WAL of segment $last/, 'it names both') or diag($out);

unlink(object_of($middle));
rename("$tmp/middle", object_of($middle)) or die "rename: $!";
($rc, $out) = cli_verify($long);
is($rc, 0, 'the segment back: good again') or diag($out);
($sql) = sql_verify($long);
is($sql, 't', 'dr_backup_verify(): good again');

$node->stop;
done_testing();
