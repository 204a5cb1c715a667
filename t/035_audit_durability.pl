# 035_audit_durability.pl
#	The audit trail survives what ends an operation without an error:
#	a backup ended by pg_terminate_backend() is recorded as failed with
#	57P01; a backup cut short by a crash (kill -9 of its backend, crash
#	restart) is recorded as interrupted after the restart.  And the chain's
#	head published in the repository after each backup lets
#	dr_audit_verify() see a superuser who disabled the append-only guard
#	rewrite the chain consistently or remove its newest rows, while a copy
#	restored from an earlier backup is not taken for a truncated trail.

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
my $node = DrTest::node_new('audit_durability', $env->{conf});
# a production server restarts after a crash; this scenario needs that
$node->append_conf('postgresql.conf', "restart_after_crash = on\n");
$node->reload;
$node->command_ok([ 'pgbench', '-i', '-s', '3', '-q', 'postgres' ], 'pgbench -i');

# the notes of operations in flight (files under the data directory)
sub notes
{
	opendir(my $dh, $node->data_dir . '/pg_dr/audit_inflight') or return ();
	my @n = grep { !/^\./ } readdir $dh;
	closedir $dh;
	return @n;
}

sub audit_row_of
{
	my ($pid) = @_;
	$node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM dr_audit WHERE operation = 'dr_backup_full' AND backend_pid = $pid")
	  or die "no audit row for the backup of backend $pid";
	return $node->safe_psql('postgres',
		"SELECT result || '|' || coalesce(sqlstate, '') || '|' || error
		   FROM dr_audit WHERE operation = 'dr_backup_full' AND backend_pid = $pid");
}

# (a) pg_terminate_backend() of a running backup
{
	my ($h, $out, $err) = DrTest::slow_backup($node, 'dr_backup_full()');
	my $pid = $node->safe_psql('postgres', 'SELECT pid FROM dr_backup_progress');
	is(scalar(grep { /^[0-9a-f]{16}-$pid-\d+$/ } notes()),
		1, 'terminate: the running backup is noted as begun before it works');
	$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
	$h->finish;
	like($$err, qr/terminating connection due to administrator command/,
		'terminate: the caller is disconnected');
	like(audit_row_of($pid),
		qr/^error\|57P01\|terminated: the session ended while the operation was running: terminating connection due to administrator command$/,
		'terminate: the backup is audited as failed, with 57P01 and the reason');
	is(scalar(notes()), 0, 'terminate: its in-flight note is gone');
}

# (b) kill -9 of the backend running a backup: the server restarts
{
	my ($h, $out, $err) = DrTest::slow_backup($node, 'dr_backup_full()');
	my $pid = $node->safe_psql('postgres', 'SELECT pid FROM dr_backup_progress');
	kill 'KILL', $pid;
	$h->finish;
	like($$err, qr/server closed the connection|terminating connection|connection to server/,
		'crash: the caller loses its connection');
	# the postmaster reinitializes and the worker comes back
	$node->poll_query_until('postgres', 'SELECT worker_running FROM dr_status')
	  or die 'no worker after the crash restart';
	like(audit_row_of($pid),
		qr/^interrupted\|\|interrupted: the operation never ended in this cluster's history: .*found open when the server started at /,
		'crash: after the restart the backup is audited as interrupted');
	is(scalar(notes()), 0, 'crash: no in-flight note is left');
	is($node->safe_psql('postgres', 'SELECT ok FROM dr_audit_verify()'),
		't', 'crash: the chain is intact');
}

# (c) the head published with a backup shows a removed tail
my $backup = $node->safe_psql('postgres', 'SELECT dr_backup_full()');
my $row = $node->safe_psql('postgres',
	"SELECT id FROM dr_audit WHERE arguments->>'backup_id' = '$backup'");
my $pattern = sprintf('%s/audit/head-%020d-*', $env->{repo}, $row);
my $deadline = time + 60;
usleep(100_000) while (!glob($pattern) && time < $deadline);
ok(scalar(glob($pattern)), 'the head naming the backup\'s audit row is published in the repository');
is($node->safe_psql('postgres', 'SELECT ok, first_broken_id, problem FROM dr_audit_verify()'),
	't||', 'untouched: dr_audit_verify() reports ok');
my @heads = glob("$env->{repo}/audit/head-*");
is(scalar(@heads), 1, 'older heads that match the table are removed');
my $head_text = slurp_file($heads[0]);
unlike($head_text, qr/row_hash/, 'the head object is encrypted like the rest of the repository');

# a copy restored from that backup branched off before the head was
# published: the head is not evidence against it
{
	my ($rc, $o, $e) = DrTest::restore($env, $backup, "$tmp/restored");
	is($rc, 0, 'restore of the backup') or diag($e);
	my $copy = DrTest::node_from_restore('audit_restored', "$tmp/restored");
	DrTest::wait_worker($copy);
	my $started = $node->safe_psql('postgres',
		"SELECT extract(epoch FROM started_at) FROM dr_audit WHERE id = $row");
	ok($copy->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM dr_audit WHERE operation = 'dr_backup_full' AND result = 'interrupted'
		    AND extract(epoch FROM started_at) = $started"),
		'restored copy: the backup running when it was taken is recorded as interrupted there');
	is($copy->safe_psql('postgres',
		"SELECT count(*) FROM dr_audit WHERE arguments->>'backup_id' = '$backup'"),
		'0', 'restored copy: it lacks the row the published head names');
	is($copy->safe_psql('postgres', 'SELECT ok, first_broken_id, problem FROM dr_audit_verify()'),
		't||', 'restored copy: dr_audit_verify() ignores heads published after it branched off');
	$copy->stop;
}

# a superuser rewrites the chain from that row on, consistently
$node->safe_psql('postgres', q{
	ALTER TABLE pgdr.audit_log DISABLE TRIGGER audit_log_append_only;
	DO $$
	DECLARE
		r pgdr.audit_log;
		prev bytea;
	BEGIN
		FOR r IN SELECT * FROM pgdr.audit_log ORDER BY id LOOP
			IF r.id >= } . $row . q{ THEN
				r.arguments := r.arguments || '{"label": "forged"}';
				r.prev_hash := prev;
				r.row_hash := pgdr.audit_digest(prev, r);
				UPDATE pgdr.audit_log SET arguments = r.arguments, prev_hash = r.prev_hash,
					   row_hash = r.row_hash WHERE id = r.id;
			END IF;
			prev := r.row_hash;
		END LOOP;
	END
	$$;
	ALTER TABLE pgdr.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;});
is($node->safe_psql('postgres', 'SELECT ok FROM pgdr.audit_verify_chain()'),
	't', 'rewritten: the chain alone verifies');
like($node->safe_psql('postgres', 'SELECT ok, first_broken_id, problem FROM dr_audit_verify()'),
	qr/^f\|$row\|row $row differs from the head repository "\Q$env->{repo}\E" \(audit\/head-0*$row-[0-9A-F]{8}\) holds, published at /,
	'rewritten: dr_audit_verify() reports the row the published head contradicts');

# a superuser disables the guard and removes the newest rows
$node->safe_psql('postgres', "
	ALTER TABLE pgdr.audit_log DISABLE TRIGGER audit_log_append_only;
	DELETE FROM pgdr.audit_log WHERE id >= $row;
	ALTER TABLE pgdr.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;");
is($node->safe_psql('postgres', 'SELECT ok FROM pgdr.audit_verify_chain()'),
	't', 'tampered: what is left is still a valid chain');
my ($ok, $broken, $problem) = split /\|/,
  $node->safe_psql('postgres', 'SELECT ok, first_broken_id, problem FROM dr_audit_verify()');
is($ok, 'f', 'tampered: dr_audit_verify() reports the trail broken');
is($broken, $row, 'tampered: the first broken link is the row the head names');
like($problem,
	qr/^rows after id \d+ were removed: repository "\Q$env->{repo}\E" \(audit\/head-0*$row-[0-9A-F]{8}\) holds a head at id $row published at \d{4}-\d\d-\d\dT/,
	'tampered: the problem says which rows went and which head shows it');

$node->stop;
done_testing();
