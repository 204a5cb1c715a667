# 073_scheduler.pl
#	The scheduler (pg_dr.schedule = on) with shortened intervals: the
#	worker takes a full backup, then incrementals on its own; the
#	incremental interval shown in dr_schedule shrinks when pgbench raises
#	the WAL rate (the RTO estimate would pass a short target); every job,
#	scheduled or manual, is in dr_jobs, and expiry runs after each
#	scheduled backup; a failure (the repository's backup directory made
#	read-only) is retried with backoff and alerted, then resolved.  Also:
#	the policy's bad input is refused with 22023 and the value kept, and
#	every edit is audited.

use strict;
use warnings;

use lib 't/lib';
use DrTest;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $env = DrTest::repo_setup($tmp);
my $node = DrTest::node_new('sched', $env->{conf});
$node->command_ok([ 'pgbench', '-i', '-s', '1', '-q', 'postgres' ], 'pgbench -i');

# ---------------------------------------------------------------------------
# the policy: bad input refused (22023), the value kept; edits audited
# ---------------------------------------------------------------------------
sub policy
{
	my ($col) = @_;
	return $node->safe_psql('postgres',
		"SELECT $col FROM dr_schedule_policies WHERE tier = 'critical'");
}

sub set_bad
{
	my ($args, $re, $what) = @_;
	my ($rc, $out, $err) = $node->psql('postgres',
		"\\set VERBOSITY verbose\nSELECT dr_schedule_policy_set($args)");
	isnt($rc, 0, "$what: refused");
	like($err, qr/ERROR:  22023: $re/, "$what: 22023, $re");
}
is(policy('full_at'), '02:00:00', 'the seed: a full at 02:00');
is(policy('incremental_interval'), '06:00:00', 'the seed: an incremental every 6 hours');
is($node->safe_psql('postgres',
	'SELECT string_agg(tier || \' \' || restore_point_interval, \', \' ORDER BY tier) FROM dr_schedule_policies'),
	'critical 00:15:00, high 00:30:00, low 06:00:00, medium 01:00:00',
	'the seed: a restore point every 15 min (critical), 30 min, 1 h, 6 h');
set_bad("'nosuch', 'retry_base', '1 minute'", 'unknown tier "nosuch"', 'an unknown tier');
set_bad("'critical', 'nosuch', '1'", 'unknown schedule setting "nosuch"', 'an unknown setting');
set_bad("'critical', 'incremental_interval', '-5 minutes'",
	'incremental_interval = -5 minutes is out of range', 'a negative interval');
set_bad("'critical', 'full_interval', '500 years'",
	'full_interval = 500 years is out of range', 'an absurd interval');
set_bad("'critical', 'incremental_interval', 'soon'",
	'invalid value for incremental_interval: "soon"', 'an interval that is none');
set_bad("'critical', 'chain_max_length', '-1'", 'chain_max_length = -1 is out of range',
	'a negative bound');
set_bad("'critical', 'busy_load', 'NaN'", 'busy_load = NaN is out of range', 'NaN');
set_bad("'critical', 'restore_point_interval', '5 seconds'",
	'restore_point_interval = 5 seconds is out of range', 'a restore point interval too short');
set_bad("'critical', 'restore_point_interval', '8 days'",
	'restore_point_interval = 8 days is out of range', 'a restore point interval too long');
is(policy('incremental_interval'), '06:00:00', 'after the refusals: the value kept');
my ($rc, $out, $err) = $node->psql('postgres',
	"SET ROLE dr_operator; SELECT dr_schedule_policy_set('critical', 'retry_base', '1 minute')");
like($err, qr/permission denied/, 'dr_operator may not edit the policy');

# the test's policy: incrementals every 10 s (the shortest allowed), no
# chain bound, quick retries
my @settings = (
	[ 'full_at', undef ], [ 'full_interval', '1 day' ],
	[ 'incremental_min_interval', '10 seconds' ], [ 'incremental_interval', '10 seconds' ],
	[ 'chain_max_length', '0' ], [ 'changed_fraction_max', '0' ],
	[ 'retry_base', '2 seconds' ], [ 'retry_max', '4 seconds' ],
	[ 'restore_point_interval', '10 seconds' ]);
for my $s (@settings)
{
	my $v = defined $s->[1] ? "'$s->[1]'" : 'NULL';
	$node->safe_psql('postgres',
		"SET ROLE dr_admin; SELECT dr_schedule_policy_set('critical', '$s->[0]', $v)");
}
is(policy('incremental_interval'), '00:00:10', 'dr_admin set the interval');
is(policy('full_at IS NULL'), 't', 'full_at NULL: no time of day');
$node->poll_query_until('postgres', q{
	SELECT count(*) = 9 FROM dr_audit WHERE operation = 'dr_schedule_policies'})
  or die 'the policy edits were not audited';
is($node->safe_psql('postgres', q{
	SELECT arguments->'old'->>'incremental_interval' || ' -> ' || (arguments->'new'->>'incremental_interval')
	  FROM dr_audit WHERE operation = 'dr_schedule_policies'
	   AND arguments->'new'->>'incremental_interval' = '00:00:10'
	   AND arguments->'old'->>'incremental_interval' <> '00:00:10'}),
	'06:00:00 -> 00:00:10', 'the audit record holds the row before and after');
is($node->safe_psql('postgres', q{
	SELECT session_user_name FROM dr_audit WHERE operation = 'dr_schedule_policies' LIMIT 1}),
	$node->safe_psql('postgres', 'SELECT session_user'), '... and who made the change');

# ---------------------------------------------------------------------------
# off by default: dr_schedule says so, and nothing is taken (the edits
# above made the duty decide again, now that the extension exists)
# ---------------------------------------------------------------------------
$node->poll_query_until('postgres', "SELECT decided_at IS NOT NULL FROM dr_schedule")
  or die 'the scheduler duty did not decide';
is($node->safe_psql('postgres', 'SELECT enabled, next_job, reason FROM dr_schedule'),
	'f|none|the scheduler is off (pg_dr.schedule = off)', 'off by default: dr_schedule says so');
like($node->safe_psql('postgres', 'SELECT dr_schedule_explain()'),
	qr/^Scheduler: off/, 'dr_schedule_explain() says it is off');

# ---------------------------------------------------------------------------
# on: a full first, then incrementals on their own, each recorded
# ---------------------------------------------------------------------------
$node->safe_psql('postgres', 'ALTER SYSTEM SET pg_dr.schedule = on; SELECT pg_reload_conf()');
$node->poll_query_until('postgres', q{
	SELECT count(*) >= 1 FROM dr_jobs WHERE trigger = 'scheduled' AND result = 'ok'}, 't')
  or die 'no scheduled job ended well';
my $first = $node->safe_psql('postgres', q{
	SELECT kind || '|' || coalesce(reason, '') FROM dr_jobs WHERE trigger = 'scheduled' ORDER BY id LIMIT 1});
like($first, qr/^full\|there is no valid backup/, 'the first scheduled job: a full, because there was no backup');

$node->poll_query_until('postgres', q{
	SELECT count(*) >= 2 FROM dr_jobs
	 WHERE trigger = 'scheduled' AND result = 'ok' AND kind = 'incremental'}, 't')
  or die 'no two scheduled incrementals';
pass('the worker took incrementals on its own');

# restore points: the policy's 10 s while the scheduler is on, not
# pg_dr.pitr_interval's 15 min (its default)
$node->poll_query_until('postgres', q{
	SELECT count(*) >= 2 FROM dr_restore_points WHERE origin = 'scheduled'
	   AND created_at > (SELECT min(started_at) FROM dr_jobs)})
  or die 'no two scheduled restore points since the scheduler is on';
$node->poll_query_until('postgres', q{
	SELECT restore_point_source = 'policy' AND next_restore_point > now() - interval '10 seconds'
	  FROM dr_schedule})
  or die 'dr_schedule does not show the policy\'s restore points';
is($node->safe_psql('postgres', q{
	SELECT restore_point_interval || '|' || restore_point_source || '|'
		   || (next_restore_point > now() - interval '10 seconds'
			   AND next_restore_point <= now() + interval '10 seconds')
	  FROM dr_schedule}),
	'00:00:10|policy|true', 'dr_schedule: a restore point every 10 s (the policy), the next one within 10 s');
my $points = $node->safe_psql('postgres', q{
	SELECT count(*) || '|' || coalesce(min(gap) >= 9.9, false)
	  FROM (SELECT extract(epoch FROM created_at - lag(created_at) OVER (ORDER BY created_at)) AS gap
			  FROM dr_restore_points WHERE origin = 'scheduled') g
	 WHERE gap IS NOT NULL AND gap < 60});
like($points, qr/^([1-9]|\d\d+)\|true$/,
	"scheduled restore points every 10 s, never sooner (count|gaps ok: $points)");
like($node->safe_psql('postgres', 'SELECT dr_schedule_explain()'),
	qr/\nRestore points: every 10 s \(the policy's restore_point_interval, while the scheduler is on\), the next at /,
	'dr_schedule_explain() tells the restore points');

my $bad = $node->safe_psql('postgres', q{
	SELECT count(*) FROM dr_jobs j
	 WHERE j.trigger = 'scheduled' AND j.result = 'ok'
	   AND NOT (j.finished_at IS NOT NULL AND j.duration > interval '0' AND j.bytes > 0
				AND j.expired LIKE '% backups, % WAL files, % bytes removed'
				AND j.attempt = 1
				AND EXISTS (SELECT 1 FROM dr_backups b
							 WHERE b.backup_id = j.backup_id AND b.kind = j.kind
							   AND b.label = 'pg_dr scheduled job ' || j.id))});
is($bad, '0', 'every scheduled job: its backup in dr_backups, bytes, duration, expiry after it');

# the gap: from the end of the newest backup (dr_backups) to the start of
# the next scheduled job, the policy's 10 s, never less
my $gap = $node->safe_psql('postgres', q{
	SELECT min(extract(epoch FROM b.started_at - k.finished_at))
	  FROM dr_jobs a JOIN dr_backups k ON k.backup_id = a.backup_id
	  JOIN dr_jobs b ON b.id = (SELECT min(id) FROM dr_jobs c
								 WHERE c.id > a.id AND c.trigger = 'scheduled')
	 WHERE a.trigger = 'scheduled' AND a.result = 'ok' AND b.kind = 'incremental'});
cmp_ok($gap, '>=', 9.99, "incrementals 10 s after the newest backup, never sooner (min gap $gap s)");

# between jobs (not while one runs): the next one, when and why
$node->poll_query_until('postgres',
	q{SELECT next_job = 'incremental' AND NOT due_now AND running_job IS NULL FROM dr_schedule})
  or die 'dr_schedule never showed the next incremental';
my $sched = $node->safe_psql('postgres',
	q{SELECT enabled, next_job, extract(epoch FROM incremental_interval)::int,
			 next_at > now(), reason FROM dr_schedule});
like($sched, qr/^t\|incremental\|10\|t\|an incremental every 10 s after the newest backup$/,
	'dr_schedule: the next incremental, every 10 s, and why');
like($node->safe_psql('postgres', 'SELECT dr_schedule_explain()'),
	qr/Policy: a full backup every 24 h; an incremental every 10 s.*\nNewest backup: \d{8}-\d{6}[FI], ended .*\nWAL: .*\nRTO estimate: .*\nLoad: .*\nLast scheduled job: ok .*\nDecision: \w+/s,
	'dr_schedule_explain() tells the inputs and the decision in words');

# the policy's interval 10 minutes, a short RTO target: quiet, the
# interval is the policy's (an edit makes the duty decide again at once);
# no job runs now, so that the manual backup below runs alone
$node->safe_psql('postgres', q{
	SET ROLE dr_admin;
	SELECT dr_schedule_policy_set('critical', 'incremental_interval', '10 minutes');
	UPDATE dr_objectives SET rto = interval '3 seconds' WHERE tier = 'critical'});
$node->poll_query_until('postgres',
	"SELECT extract(epoch FROM incremental_interval) = 600 AND running_job IS NULL FROM dr_schedule")
  or die 'the quiet interval is not the policy\'s 10 minutes';
pass('quiet: the interval is the policy\'s 10 minutes');

# a manual backup and a manual failure are in dr_jobs too
my $manual = $node->safe_psql('postgres', "SELECT dr_backup_full('by hand')");
is($node->safe_psql('postgres',
	"SELECT kind || '|' || result || '|' || (bytes > 0) FROM dr_jobs WHERE trigger = 'manual' AND backup_id = '$manual'"),
	'full|ok|true', 'a manual full backup: in dr_jobs as manual');
($rc, $out, $err) = $node->psql('postgres', "SELECT dr_backup_incremental('20000101-000000F')");
isnt($rc, 0, 'a manual incremental on a parent that does not exist fails');
$node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM dr_jobs
	 WHERE trigger = 'manual' AND kind = 'incremental' AND result = 'failed' AND error <> ''}, 't')
  or die 'the failed manual job was not recorded';
pass('a failed manual job: in dr_jobs (queued by its backend, written by the worker)');

# ---------------------------------------------------------------------------
# pgbench raises the WAL rate: with a short RTO target the interval shrinks
# ---------------------------------------------------------------------------
# pgbench runs until the incremental for the RTO is seen (-T bounds it)
my $pgbench = IPC::Run::start(
	[ 'pgbench', '-n', '-T', '90', '-c', '2', $node->connstr('postgres') ],
	'>', \my $pgb_out, '2>', \my $pgb_err);
my $shrunk = $node->poll_query_until('postgres', q{
	SELECT incremental_interval < interval '10 minutes' AND reason LIKE '%shortened from the policy''s 10 min%'
	  FROM dr_schedule});
my $shown = $node->safe_psql('postgres',
	'SELECT incremental_interval, wal_rate::bigint, reason FROM dr_schedule');
ok($shrunk, "under pgbench the interval shrinks ($shown)");
$node->poll_query_until('postgres', q{
	SELECT count(*) >= 1 FROM dr_jobs
	 WHERE trigger = 'scheduled' AND result = 'ok' AND kind = 'incremental'
	   AND started_at > (SELECT max(finished_at) FROM dr_jobs WHERE trigger = 'manual')
	   AND (reason LIKE '%shortened%' OR reason LIKE '%RTO target%')}, 't')
  or die 'no incremental taken for the RTO';
pass('an incremental taken sooner than the policy\'s interval, for the RTO');
$pgbench->kill_kill;
$node->safe_psql('postgres', q{
	UPDATE dr_objectives SET rto = interval '2 hours' WHERE tier = 'critical';
	SELECT dr_schedule_policy_set('critical', 'incremental_interval', '10 seconds')});

# ---------------------------------------------------------------------------
# a failure: the repository's backup directory read-only
# ---------------------------------------------------------------------------
my $okBefore = $node->safe_psql('postgres', "SELECT max(id) FROM dr_jobs");
chmod(0500, "$env->{repo}/backup") or die "chmod: $!";
$node->poll_query_until('postgres', qq{
	SELECT count(*) >= 2 FROM dr_jobs WHERE trigger = 'scheduled' AND result = 'failed' AND id > $okBefore}, 't')
  or die 'no two failed scheduled jobs';
my @failed = split /\n/, $node->safe_psql('postgres', qq{
	SELECT attempt || '|' || extract(epoch FROM started_at)::numeric(20,3) || '|' || extract(epoch FROM finished_at)::numeric(20,3) || '|' || error
	  FROM dr_jobs WHERE trigger = 'scheduled' AND result = 'failed' AND id > $okBefore ORDER BY id LIMIT 2});
my @f1 = split /\|/, $failed[0], 4;
my @f2 = split /\|/, $failed[1], 4;
is("$f1[0],$f2[0]", '1,2', 'the failed job is retried: attempts 1 and 2');
cmp_ok($f2[1] - $f1[2], '>=', 1.9, 'the retry waited for the backoff (2 s)');
like($f1[3], qr/./, "the error is recorded ($f1[3])");
$node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM dr_alerts WHERE source = 'schedule' AND key = 'job_failed' AND state = 'open'})
  or die 'no alert';
like($node->safe_psql('postgres',
	"SELECT message FROM dr_alerts WHERE source = 'schedule' AND key = 'job_failed' AND state = 'open'"),
	qr/^scheduled \w+ backup \(job \d+, attempt \d+\) failed: .*retries with backoff/,
	'the failure is alerted: which job, which attempt, why');
like($node->safe_psql('postgres', 'SELECT reason FROM dr_schedule'),
	qr/retry \d+ after a failed job/, 'dr_schedule says the next job is a retry');

chmod(0700, "$env->{repo}/backup") or die "chmod: $!";
$node->poll_query_until('postgres', qq{
	SELECT count(*) >= 1 FROM dr_jobs WHERE trigger = 'scheduled' AND result = 'ok' AND id > $okBefore}, 't')
  or die 'the scheduler did not recover';
ok($node->safe_psql('postgres', qq{
	SELECT attempt > 1 FROM dr_jobs WHERE trigger = 'scheduled' AND result = 'ok' AND id > $okBefore ORDER BY id LIMIT 1}) eq 't',
	'the retry after the repair succeeds');
$node->poll_query_until('postgres', q{
	SELECT count(*) = 0 FROM dr_alerts WHERE source = 'schedule' AND key = 'job_failed' AND state <> 'resolved'})
  or die 'the alert was not resolved';
pass('a good job resolves the alert');

# off again: no more jobs
$node->safe_psql('postgres', 'ALTER SYSTEM SET pg_dr.schedule = off; SELECT pg_reload_conf()');
$node->poll_query_until('postgres', "SELECT NOT enabled AND next_job = 'none' AND running_job IS NULL FROM dr_schedule")
  or die 'the scheduler did not stop';
my $count = $node->safe_psql('postgres', "SELECT count(*) FROM dr_jobs");
# longer than the policy's 10 s interval plus a round: on, a job would
# have been due by now
sleep 12;
is($node->safe_psql('postgres', "SELECT count(*) FROM dr_jobs"), $count, 'off: no more jobs');
is($node->safe_psql('postgres', "SELECT count(*) FROM dr_jobs WHERE result = 'running'"), '0',
	'no job left running');
# off: pg_dr.pitr_interval governs the restore points again (its 15 min)
$node->poll_query_until('postgres', q{
	SELECT restore_point_source = 'pg_dr.pitr_interval'
	   AND restore_point_interval = interval '15 minutes' FROM dr_schedule})
  or die 'the restore points did not go back to pg_dr.pitr_interval';
pass('off: restore points every pg_dr.pitr_interval (15 min) again');

$node->stop;
done_testing();
