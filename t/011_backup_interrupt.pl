# 011_backup_interrupt.pl
#	Cancellation (pg_cancel_backend of the caller), kill -9 of a backup
#	worker and kill -9 of the postmaster, each in the middle of a backup:
#	no backup that looks valid is left behind, every lock, the WAL slot and
#	backup mode are released, and the next backup works.

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
my $node = DrTest::node_new('interrupt', $env->{conf}, checksums => 1);
$node->command_ok([ 'pgbench', '-i', '-s', '3', '-q', 'postgres' ], 'pgbench -i');

my $first = $node->safe_psql('postgres', 'SELECT dr_backup_full()');

# this node's backup workers (other clusters may run on the machine)
sub backup_worker_pids
{
	my $postmaster = $node->{_pid};
	my @pids;
	return () unless $postmaster;
	for my $line (`ps -eo pid,ppid,args`)
	{
		push @pids, $1
		  if $line =~ /^\s*(\d+)\s+(\d+)\s+postgres: .*pg_dr backup worker/
		  && $2 == $postmaster;
	}
	return @pids;
}

sub process_state
{
	my ($pid) = @_;
	open(my $fh, '<', "/proc/$pid/stat") or return '';
	my $stat = <$fh>;
	close($fh);
	return $stat =~ /^\d+ \(.*\) (\S)/ ? $1 : '';
}
sub process_zombie { return process_state($_[0]) eq 'Z'; }
sub process_alive { my $s = process_state($_[0]); return $s ne '' && $s ne 'Z'; }

# nothing left over: every valid backup verifies, no slot, no worker
sub clean_state
{
	my ($what) = @_;
	is($node->safe_psql('postgres', 'SELECT count(*) FROM dr_backup_progress'),
		'0', "$what: no backup in progress");
	is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'pg_dr_backup_%'"),
		'0', "$what: the WAL slot is gone");
	my $deadline = time + 30;
	usleep(100_000) while (backup_worker_pids() && time < $deadline);
	is(scalar(backup_worker_pids()), 0, "$what: no backup worker left");
	command_ok([ 'pg_dr', 'verify', '--config', $env->{conf}, '--backup', 'all' ],
		"$what: every backup in the repository verifies");
}

sub valid_backups
{
	my ($out, $err);
	IPC::Run::run([ 'pg_dr', 'info', '--config', $env->{conf}, '--json' ],
		'>', \$out, '2>', \$err);
	my $doc = JSON::PP->new->decode($out);
	return scalar(@{ $doc->{repositories}[0]{backups} });
}

use JSON::PP;
my $valid = valid_backups();
is($valid, 1, 'one valid backup to start with');

# 1. cancel
{
	my ($h, $out, $err) = DrTest::slow_backup($node, 'dr_backup_full()');
	my $id = $node->safe_psql('postgres', 'SELECT backup_id FROM dr_backup_progress');
	$node->safe_psql('postgres', 'SELECT pg_cancel_backend(pid) FROM dr_backup_progress');
	$h->finish;
	like($$err, qr/canceling statement due to user request/, 'cancel: the caller gets the cancel error');
	clean_state('cancel');
	is(valid_backups(), $valid, 'cancel: no new backup in the repository');
	is($node->safe_psql('postgres', "SELECT count(*) FROM dr_backups WHERE backup_id = '$id'"),
		'0', 'cancel: the catalog does not list it');
	is($node->safe_psql('postgres',
		"SELECT result || ' ' || sqlstate FROM dr_audit WHERE operation = 'dr_backup_full' ORDER BY id DESC LIMIT 1"),
		'error 57014', 'cancel: audited as failed with 57014');
	my $next = $node->safe_psql('postgres', 'SELECT dr_backup_incremental()');
	like($next, qr/I$/, 'cancel: the next backup works');
	$valid++;
}

# 2. kill -9 of a backup worker: the postmaster ends every process (the
# test clusters run with restart_after_crash = off; a production server
# restarts them itself)
{
	my ($h, $out, $err) = DrTest::slow_backup($node, 'dr_backup_full()');
	my @pids = backup_worker_pids();
	ok(@pids >= 1, 'kill worker: backup workers are running');
	kill 'KILL', $pids[0];
	$h->finish;
	like($$err, qr/server closed the connection|terminating connection/,
		'kill worker: the caller loses its connection');
	my $deadline = time + 60;
	usleep(100_000) while (-f $node->data_dir . '/postmaster.pid' && time < $deadline);
	$node->_update_pid(0);
	$node->start;
	DrTest::wait_worker($node);
	clean_state('kill worker');
	is(valid_backups(), $valid, 'kill worker: no new backup in the repository');
	like($node->safe_psql('postgres', 'SELECT dr_backup_incremental()'), qr/I$/,
		'kill worker: the next backup works');
	$valid++;
}

# 3. kill -9 of the postmaster
{
	my ($h, $out, $err) = DrTest::slow_backup($node, 'dr_backup_full()');
	my $postmaster = $node->{_pid};
	$node->kill9;
	$h->finish;
	# children notice the postmaster's death and exit
	my $deadline = time + 30;
	usleep(100_000) while (process_alive($postmaster) && time < $deadline);
	# where nothing reaps orphans, the dead postmaster stays a zombie and
	# its pid file looks live: remove it, as an administrator would
	if (process_zombie($postmaster))
	{
		unlink($node->data_dir . '/postmaster.pid');
		unlink($node->host . '/.s.PGSQL.' . $node->port . '.lock');
	}
	$node->start;
	DrTest::wait_worker($node);
	clean_state('kill postmaster');
	is(valid_backups(), $valid, 'kill postmaster: no new backup in the repository');
	like($node->safe_psql('postgres', 'SELECT dr_backup_full()'), qr/F$/,
		'kill postmaster: the next backup works');
}

# a second backup while one runs is refused clearly
{
	my ($h, $out, $err) = DrTest::slow_backup($node, 'dr_backup_full()');
	my ($rc, $o, $e) = $node->psql('postgres', 'SELECT dr_backup_full()');
	isnt($rc, 0, 'concurrent backup refused');
	like($e, qr/another pg_dr backup is running/, 'with a clear message');
	$node->safe_psql('postgres', 'SELECT pg_cancel_backend(pid) FROM dr_backup_progress');
	$h->finish;
}

$node->stop;
done_testing();
