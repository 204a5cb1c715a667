# 043_cancel_progress.pl
#	Long operations are cancellable and show their progress (issue 9,
#	point 2; docs/sql.md dr_progress, docs/cli.md --progress).
#	- dr_restore() of a backup holding a ~100 MB table is seen in
#	  dr_progress from another session (operation, phase, counts, the
#	  file restored last), pg_cancel_backend() while the large table's
#	  file is being copied stops it within a couple of seconds with 57014,
#	  the target has no global/pg_control, no temporary file and not that
#	  file (it cannot be started), the audit record says error 57014, and
#	  dr_progress is empty afterwards.
#	- dr_backup_verify() likewise: seen, cancelled with 57014, audited,
#	  and the catalog keeps what it said before (a cancelled verify never
#	  records the backup as verified); a complete verify then does.
#	- pg_dr restore --progress=on prints progress lines on stderr when it
#	  is not a terminal (--progress=off and the default auto do not);
#	  SIGINT to pg_dr restore and SIGTERM to pg_dr verify stop them at a
#	  safe point with exit status 130 and 143 and a message.

use strict;
use warnings;

use lib 't/lib';
use DrTest;
use File::Find;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $env = DrTest::repo_setup($tmp);
my $node = DrTest::node_new('cancel', $env->{conf});
# the large table as one object (no parts): the cancel is to come while
# one file is copied, which then must not appear under its name
$node->append_conf('postgresql.conf', qq{
archive_mode = on
archive_library = 'pg_dr'
pg_dr.backup_part_size = '1GB'
});
$node->restart;
DrTest::wait_worker($node);

# ~100 MB that compression cannot shrink much: random bytes in every row
$node->safe_psql('postgres', q{
	CREATE TABLE big (id int, payload bytea);
	INSERT INTO big
	SELECT i, decode(md5(random()::text) || md5(random()::text) ||
					 md5(random()::text) || md5(random()::text), 'hex')
	  FROM generate_series(1, 1300000) i;
	CHECKPOINT});
my $size = $node->safe_psql('postgres', "SELECT pg_relation_size('big')");
cmp_ok($size, '>', 90 * 1024 * 1024, "the table holds $size bytes");
my $bigpath = $node->safe_psql('postgres', "SELECT pg_relation_filepath('big')");
my $backup = $node->safe_psql('postgres', "SELECT dr_backup_full('big')");
like($backup, qr/^\d{8}-\d{6}F$/, "backup $backup");

$node->safe_psql('postgres', q{
	CREATE TABLE seen (pid int, operation text, phase text, items_done bigint,
					   items_total bigint, bytes_done bigint, bytes_total bigint,
					   current text, bytes_per_second float8,
					   at timestamptz DEFAULT clock_timestamp())});

# Files under dir with restore's temporary name.
sub temporary_files
{
	my ($dir) = @_;
	my @found;
	find(sub { push @found, $File::Find::name if /\.pg_dr-tmp\./ }, $dir)
	  if -d $dir;
	return @found;
}

# Run $call in one session while another waits for $operation to show in
# dr_progress with bytes done and the same file done last for a while (so
# that the cancel comes while the large table is being copied: checked
# every 4 MB inside a file), records the row in "seen" and cancels it.
# Returns the caller's stdout and stderr (psql, verbose errors) and the
# seconds from the cancel to the end of the statement.
sub cancel_midway
{
	my ($operation, $call) = @_;
	my ($wout, $werr, $out, $err) = ('', '', '', '');
	my $watcher = IPC::Run::start(
		[ 'psql', '-X', '-q', '-At', '-d', $node->connstr('postgres'), '-c', qq{
DO \$\$
DECLARE
	r record;
	last_current text;
	since timestamptz;
	deadline timestamptz := clock_timestamp() + interval '60 s';
BEGIN
	-- running, and the same file done last for 60 ms: inside a large one
	LOOP
		SELECT * INTO r FROM dr_progress
		 WHERE operation = '$operation' AND bytes_done > 0;
		IF FOUND THEN
			IF r.current IS DISTINCT FROM last_current THEN
				last_current := r.current;
				since := clock_timestamp();
			ELSIF clock_timestamp() - since > interval '60 ms' THEN
				EXIT;
			END IF;
		END IF;
		IF clock_timestamp() > deadline THEN
			RAISE EXCEPTION 'no $operation in dr_progress';
		END IF;
		PERFORM pg_sleep(0.002);
	END LOOP;
	INSERT INTO seen (pid, operation, phase, items_done, items_total,
					  bytes_done, bytes_total, current, bytes_per_second)
	VALUES (r.pid, r.operation, r.phase, r.items_done, r.items_total,
			r.bytes_done, r.bytes_total, r.current, r.bytes_per_second);
	PERFORM pg_cancel_backend(r.pid);
END
\$\$} ],
		'>', \$wout, '2>', \$werr);
	# the call, then how long after the cancel it ended
	my $caller = IPC::Run::start(
		[ 'psql', '-X', '-q', '-At', '-v', 'VERBOSITY=verbose', '-d',
			$node->connstr('postgres'), '-c', $call, '-c',
			"SELECT 'ended ' || extract(epoch FROM clock_timestamp() -
				(SELECT at FROM seen WHERE operation = '$operation'))" ],
		'>', \$out, '2>', \$err);
	$watcher->finish;
	$caller->finish;
	is($werr, '', "$operation: the watcher saw it and cancelled it");
	my ($seconds) = $out =~ /ended ([0-9.]+)/;
	note("$operation as dr_progress showed it: ",
		$node->safe_psql('postgres',
			"SELECT phase, items_done, items_total, bytes_done, bytes_total,
			        current FROM seen WHERE operation = '$operation'"),
		"; ended ", $seconds // '?', " s after the cancel");
	return ($out, $err, $seconds // 999);
}

# ---- dr_restore(), cancelled
my $target = "$tmp/cancelled";
my ($out, $err, $seconds) = cancel_midway('restore',
	"SELECT * FROM dr_restore('$backup', '$target', 'immediate')");
like($err, qr/ERROR:  57014: canceling statement due to user request/,
	'restore: the caller gets 57014');
cmp_ok($seconds, '<', 3, "restore: ended ${seconds}s after the cancel");
is($node->safe_psql('postgres',
	"SELECT phase = 'files' AND items_done > 0 AND items_total > items_done
	        AND bytes_total > 90 * 1024 * 1024 AND bytes_done < bytes_total
	        AND current IS NOT NULL FROM seen WHERE operation = 'restore'"),
	't', 'restore: dr_progress showed it copying files, with the totals');
ok(-d $target && !-e "$target/global/pg_control",
	'restore: the target has no pg_control (it cannot be started)');
is(join(' ', temporary_files($target)), '', 'restore: no temporary file left');
ok(!-e "$target/$bigpath",
	"restore: the large table's file ($bigpath) is not there under its name");
ok($node->poll_query_until('postgres', q{
	SELECT result || ' ' || sqlstate = 'error 57014' FROM dr_audit
	 WHERE operation = 'dr_restore' ORDER BY id DESC LIMIT 1}),
	'restore: audited as error 57014');
is($node->safe_psql('postgres', 'SELECT count(*) FROM dr_progress'), '0',
	'restore: dr_progress is empty afterwards');

# ---- dr_backup_verify(), cancelled: the catalog keeps what it said
$node->safe_psql('postgres', "UPDATE pgdr.backups SET status = 'damaged',
	error = 'marker' WHERE backup_id = '$backup'");
($out, $err, $seconds) = cancel_midway('verify',
	"SELECT dr_backup_verify('$backup')");
like($err, qr/ERROR:  57014: canceling statement due to user request/,
	'verify: the caller gets 57014');
cmp_ok($seconds, '<', 3, "verify: ended ${seconds}s after the cancel");
is($node->safe_psql('postgres',
	"SELECT phase = 'files' AND items_done > 0 AND bytes_done > 0
	   FROM seen WHERE operation = 'verify'"),
	't', 'verify: dr_progress showed it reading files');
is($node->safe_psql('postgres',
	"SELECT status || ' ' || error FROM dr_backups WHERE backup_id = '$backup'"),
	'damaged marker', 'verify: cancelled, the catalog is left as it was');
ok($node->poll_query_until('postgres', q{
	SELECT result || ' ' || sqlstate = 'error 57014' FROM dr_audit
	 WHERE operation = 'dr_backup_verify' ORDER BY id DESC LIMIT 1}),
	'verify: audited as error 57014');
is($node->safe_psql('postgres', "SELECT dr_backup_verify('$backup')"), 't',
	'verify: a complete verification succeeds');
is($node->safe_psql('postgres',
	"SELECT status || ' ' || coalesce(error, '-') FROM dr_backups WHERE backup_id = '$backup'"),
	'valid -', 'verify: and records the backup as verified');

# ---- the CLI: --progress
my ($rc, $stdout, $stderr) = DrTest::restore($env, $backup, "$tmp/cli-on",
	'--progress=on');
is($rc, 0, 'restore --progress=on succeeds');
like($stderr, qr/^restore files \d+\/\d+, .* of .* \(\d+%\)/m,
	'restore --progress=on: progress lines on stderr (not a terminal)');
like($stderr, qr/^restore files (\d+)\/\1, /m,
	'restore --progress=on: a last line when the files are done');
ok(-e "$tmp/cli-on/global/pg_control", 'restore --progress=on: complete');
($rc, $stdout, $stderr) = DrTest::restore($env, $backup, "$tmp/cli-auto");
is($rc, 0, 'restore (default --progress=auto) succeeds');
unlike($stderr, qr/restore files/, 'auto: no progress when stderr is not a terminal');
($rc, $stdout, $stderr) = DrTest::restore($env, $backup, "$tmp/cli-off",
	'--progress=off');
unlike($stderr, qr/restore files/, '--progress=off: no progress');
# on a terminal (a pseudo-terminal here), auto: one line rewritten in place,
# ended before the report
{
	my ($in, $tty) = ('', '');
	IPC::Run::run(
		[ 'pg_dr', 'restore', '--config', $env->{conf}, '--backup', $backup,
			'--pgdata', "$tmp/cli-tty" ],
		'<pty<', \$in, '>pty>', \$tty, '2>&1', IPC::Run::timeout(180));
	like($tty, qr/\rrestore files \d+\/\d+, [^\r\n]* of [^\r\n]*\(\d+%\)/,
		'auto on a terminal: a live line, rewritten with a carriage return');
	unlike($tty, qr/(?:^|\n)restore files/,
		'auto on a terminal: no plain progress lines');
	like($tty, qr/\rrestore files (\d+)\/\1, [^\r\n]*\r?\n/,
		'auto on a terminal: the line ends when the files are done');
}
($rc, $stdout, $stderr) = DrTest::restore($env, $backup, "$tmp/cli-bad",
	'--progress=always');
is($rc, 2, '--progress=always: a usage error');
like($stderr, qr/invalid progress mode "always": must be auto, on or off/,
	'--progress=always: the message says what is accepted');

# A command started in the background; the signal once its first
# progress line is out.  Returns its exit status, stdout and stderr.
sub signal_midway
{
	my ($signal, $pattern, @command) = @_;
	my ($o, $e) = ('', '');
	my $h = IPC::Run::start(\@command, '>', \$o, '2>', \$e,
		IPC::Run::timeout(180));
	$h->pump until $e =~ $pattern || !$h->pumpable;
	$h->signal($signal);
	$h->finish;
	return ($h->full_result(0), $o, $e);
}

my $status;
($status, $stdout, $stderr) = signal_midway('INT', qr/^restore files/m,
	'pg_dr', 'restore', '--config', $env->{conf}, '--backup', $backup,
	'--pgdata', "$tmp/cli-int", '--progress=on');
is($status >> 8, 130, 'SIGINT to pg_dr restore: exit status 130');
like($stderr, qr/restore stopped by SIGINT/, 'SIGINT to pg_dr restore: said so');
ok(!-e "$tmp/cli-int/global/pg_control",
	'SIGINT to pg_dr restore: no pg_control');
is(join(' ', temporary_files("$tmp/cli-int")), '',
	'SIGINT to pg_dr restore: no temporary file left');

($status, $stdout, $stderr) = signal_midway('TERM', qr/^verify files/m,
	'pg_dr', 'verify', '--config', $env->{conf}, '--backup', $backup,
	'--progress=on');
is($status >> 8, 143, 'SIGTERM to pg_dr verify: exit status 143');
like($stderr, qr/verification canceled after \d+ files.*verify stopped by SIGTERM/s,
	'SIGTERM to pg_dr verify: said so');
unlike($stdout, qr/no problems found/, 'SIGTERM to pg_dr verify: no verdict');

# pg_dr restore with two jobs: a signal to the parent stops both
($status, $stdout, $stderr) = signal_midway('INT', qr/^restore files/m,
	'pg_dr', 'restore', '--config', $env->{conf}, '--backup', $backup,
	'--pgdata', "$tmp/cli-jobs", '--jobs', '2', '--progress=on');
is($status >> 8, 130, 'SIGINT to pg_dr restore --jobs 2: exit status 130');
ok(!-e "$tmp/cli-jobs/global/pg_control"
	  && temporary_files("$tmp/cli-jobs") == 0,
	'SIGINT to pg_dr restore --jobs 2: no pg_control, no temporary file');

$node->stop;
done_testing();
