# 049_audit_crash.pl
#	No audit record is lost to a crash of the whole server: kill -9 of the
#	postmaster (and of every child it leaves) right after dr_backup_full()
#	started, or after a backup whose end record was still queued in shared
#	memory (the worker held up), leaves the operation in the audit trail
#	after the restart, once, as interrupted, with the hash chain intact.
#	Edits of dr_objectives are audited (who, which row, before and after),
#	a rolled-back edit is not, and a committed edit not yet chained
#	survives a crash and is chained once.

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
my $node = DrTest::node_new('audit_crash', $env->{conf});
$node->command_ok([ 'pgbench', '-i', '-s', '3', '-q', 'postgres' ], 'pgbench -i');

sub process_state
{
	my ($pid) = @_;
	open(my $fh, '<', "/proc/$pid/stat") or return '';
	my $stat = <$fh>;
	close($fh);
	return $stat =~ /^\d+ \(.*\) (\S)/ ? $1 : '';
}
sub process_alive { my $s = process_state($_[0]); return $s ne '' && $s ne 'Z'; }

# every process whose parent is the postmaster
sub children_of
{
	my ($postmaster) = @_;
	my @pids;
	for my $line (`ps -eo pid,ppid`)
	{
		push @pids, $1 if $line =~ /^\s*(\d+)\s+(\d+)\s*$/ && $2 == $postmaster;
	}
	return @pids;
}

# the notes of operations in flight (files under the data directory)
sub notes
{
	opendir(my $dh, $node->data_dir . '/pg_dr/audit_inflight') or return ();
	my @n = grep { !/^\./ } readdir $dh;
	closedir $dh;
	return @n;
}

# The whole server dies at once: the postmaster and every child, none of
# them left to finish anything.  Then it starts again.
sub crash_and_restart
{
	my $postmaster = $node->{_pid};
	my @children = children_of($postmaster);
	$node->kill9;
	kill 'KILL', @children;
	my $deadline = time + 30;
	usleep(50_000)
	  while ((grep { process_alive($_) } $postmaster, @children) && time < $deadline);
	# a dead postmaster nobody reaped keeps its pid file looking live
	unlink($node->data_dir . '/postmaster.pid');
	unlink($node->host . '/.s.PGSQL.' . $node->port . '.lock');
	$node->start;
	DrTest::wait_worker($node);
}

sub rows_of
{
	my ($operation, $pid) = @_;
	return $node->safe_psql('postgres',
		"SELECT result || '|' || coalesce(error, '') FROM dr_audit
		  WHERE operation = '$operation' AND backend_pid = $pid ORDER BY id");
}

# (a) kill -9 of the postmaster as soon as the backup is visible
{
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ 'psql', '-X', '-q', '-At', '-d', $node->connstr('postgres'), '-c',
			"SET pg_dr.backup_max_rate = '1MB'; SELECT dr_backup_full()" ],
		'>', \$out, '2>', \$err);
	$node->poll_query_until('postgres', 'SELECT count(*) = 1 FROM dr_backup_progress', 't')
	  or die 'the backup did not start';
	my $pid = $node->safe_psql('postgres', 'SELECT pid FROM dr_backup_progress');
	is(scalar(grep { /^[0-9a-f]{16}-$pid-\d+$/ } notes()), 1,
		'started: the backup noted durably that it began');
	crash_and_restart();
	$h->finish;
	like($err, qr/server closed the connection|terminating connection|connection to server/,
		'started: the caller lost its connection');
	$node->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM dr_audit WHERE operation = 'dr_backup_full' AND backend_pid = $pid")
	  or die 'no audit row for the killed backup';
	like(rows_of('dr_backup_full', $pid),
		qr/^interrupted\|interrupted: the operation never ended in this cluster's history: .*found open when the server started at [^\n]*$/,
		'started: after the restart the backup is recorded once, as interrupted');
	is(scalar(notes()), 0, 'started: no note is left');
	is($node->safe_psql('postgres', 'SELECT ok FROM dr_audit_verify()'),
		't', 'started: the audit chain verifies');
}

# (b) the backup ended, but its end record is still queued: the worker
# cannot write (a session holds pgdr.audit_log), the backend gave up
# waiting after pg_dr.audit_timeout, and the server dies
{
	my $locker = $node->background_psql('postgres');
	$locker->query_safe('BEGIN');
	$locker->query_safe('LOCK TABLE pgdr.audit_log IN EXCLUSIVE MODE');
	my ($rc, $out, $err) = $node->psql('postgres',
		"SET pg_dr.audit_timeout = 1; SELECT pg_backend_pid(); SELECT dr_backup_full()");
	is($rc, 0, 'queued: the backup succeeds');
	like($err, qr/audit record \d+ of dr_backup_full is queued but not yet written/,
		'queued: with a warning that its record is not written yet');
	my ($pid) = split /\n/, $out;
	is(scalar(grep { /^[0-9a-f]{16}-$pid-\d+$/ } notes()), 1,
		'queued: its note is still there');
	crash_and_restart();
	$node->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM dr_audit WHERE operation = 'dr_backup_full' AND backend_pid = $pid")
	  or die 'no audit row for the queued backup';
	like(rows_of('dr_backup_full', $pid), qr/^interrupted\|[^\n]*$/,
		'queued: the backup is in the trail after the restart, once, as interrupted');
	is(scalar(notes()), 0, 'queued: no note is left');
	is($node->safe_psql('postgres', 'SELECT ok FROM dr_audit_verify()'),
		't', 'queued: the audit chain verifies');
}

# (c) edits of dr_objectives
$node->safe_psql('postgres', 'CREATE ROLE dr_t_admin LOGIN IN ROLE dr_admin');
{
	my $pid = $node->safe_psql('postgres', q{
		SET ROLE dr_t_admin;
		UPDATE dr_objectives SET rpo = interval '10 minutes' WHERE tier = 'critical';
		SELECT pg_backend_pid();});
	$node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM dr_audit WHERE operation = 'dr_objectives' AND backend_pid = $pid")
	  or die 'the edit of dr_objectives was not audited';
	is($node->safe_psql('postgres', qq{
		SELECT result, session_user_name, current_user_name, arguments->>'action',
			   arguments->'old'->>'tier', arguments->'old'->>'rpo', arguments->'new'->>'rpo'
		  FROM dr_audit WHERE operation = 'dr_objectives' AND backend_pid = $pid}),
		'ok|postgres|dr_t_admin|UPDATE|critical|00:30:00|00:10:00',
		'objectives: the edit is audited with who, which row, before and after');

	my $rolledBack = $node->safe_psql('postgres', q{
		SET ROLE dr_t_admin;
		BEGIN;
		UPDATE dr_objectives SET rpo = interval '5 minutes' WHERE tier = 'high';
		ROLLBACK;
		SELECT pg_backend_pid();});
	# a later edit's record shows the worker has caught up
	my $later = $node->safe_psql('postgres', q{
		SET ROLE dr_t_admin;
		UPDATE dr_objectives SET rpo = interval '11 minutes' WHERE tier = 'critical';
		SELECT pg_backend_pid();});
	$node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM dr_audit WHERE operation = 'dr_objectives' AND backend_pid = $later")
	  or die 'the second edit was not audited';
	is($node->safe_psql('postgres',
		"SELECT count(*) FROM dr_audit WHERE operation = 'dr_objectives' AND backend_pid = $rolledBack"),
		'0', 'objectives: a rolled-back edit leaves no record');
}

# (d) an edit committed while the worker cannot chain it survives a crash
{
	my $locker = $node->background_psql('postgres');
	$locker->query_safe('BEGIN');
	$locker->query_safe('LOCK TABLE pgdr.audit_log IN EXCLUSIVE MODE');
	my $pid = $node->safe_psql('postgres', q{
		SET ROLE dr_t_admin;
		UPDATE dr_objectives SET availability = 99.98 WHERE tier = 'critical';
		SELECT pg_backend_pid();});
	is($node->safe_psql('postgres',
		"SELECT count(*) FROM dr_audit WHERE operation = 'dr_objectives' AND backend_pid = $pid"),
		'0', 'objectives crash: the edit is not chained yet');
	is($node->safe_psql('postgres', 'SELECT audit_pending FROM dr_status'),
		'1', 'objectives crash: dr_status counts the edit waiting in pgdr.audit_pending');
	crash_and_restart();
	$node->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM dr_audit WHERE operation = 'dr_objectives' AND backend_pid = $pid")
	  or die 'the edit was lost in the crash';
	is($node->safe_psql('postgres', qq{
		SELECT count(*), min(arguments->'new'->>'availability')
		  FROM dr_audit WHERE operation = 'dr_objectives' AND backend_pid = $pid}),
		'1|99.980', 'objectives crash: the edit is chained once after the restart');
	is($node->safe_psql('postgres', 'SELECT count(*) FROM pgdr.audit_pending'),
		'0', 'objectives crash: nothing is left to chain');
	is($node->safe_psql('postgres', 'SELECT ok FROM dr_audit_verify()'),
		't', 'objectives crash: the audit chain verifies');
}

$node->stop;
done_testing();
