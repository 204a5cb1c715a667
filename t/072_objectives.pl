# The recovery objectives against reality (src/ops/objectives*.c,
# docs/sql.md "dr_status", docs/alerts.md): a short test tier (the critical
# tier's RPO edited to 20 s by a dr_admin); no backup yet: breached, and a
# critical backup_overdue alert; a backup resolves it; the RTO target set
# below the estimate raises rto_estimate; a bound on the backup's age
# raises backup_overdue; archiving stopped (the archive directories made
# read-only): rpo_actual grows, the verdict is at_risk while it is within
# the target (the rpo finding past three quarters of it) and breached past
# it, with the rpo (warning, then critical) and archive_lagging alerts;
# archiving back: ok, every alert resolved.  The worker's samples
# (dr_objectives_history) cover the scenario, are bounded by count and by
# age, and dr_availability over the scenario matches an independent
# computation from them.  dr_restore() measures the restore rate; the
# restored cluster measures its replay rate when its recovery ends.  Bad
# input gets clear SQLSTATEs, the previous setting kept.
use strict;
use warnings;

use File::Find;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

use lib 't/lib';
use DrTest;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $env = DrTest::repo_setup($tmp);
my $node = DrTest::node_new('main', $env->{conf});
$node->append_conf('postgresql.conf', qq{
archive_mode = on
archive_library = 'pg_dr'
archive_timeout = 1
pg_dr.objectives_sample_interval = 1
});
$node->restart;
DrTest::wait_worker($node);
$node->safe_psql('postgres', q{
	CREATE ROLE obj_admin LOGIN IN ROLE dr_admin;
	CREATE ROLE obj_mon LOGIN IN ROLE dr_monitor;
	CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g;});

# the short test tier, edited as a dr_admin (audited like any edit)
$node->safe_psql('postgres', q{
	UPDATE dr_objectives SET rpo = interval '20 seconds', rto = interval '1 hour'
	 WHERE tier = 'critical'}, extra_params => [ '-U', 'obj_admin' ]);
is($node->safe_psql('postgres', 'SELECT rpo_target FROM dr_status'), '00:00:20',
	'the test tier: RPO 20 s');
DrTest::wait_archived($node);

sub status
{
	my ($cols) = @_;
	return $node->safe_psql('postgres', "SELECT $cols FROM dr_status");
}

sub alert_state
{
	my ($key) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT coalesce((SELECT severity || ' ' || state FROM dr_alerts
		  WHERE source = 'objectives' AND key = '$key' ORDER BY id DESC LIMIT 1), 'none')});
}

sub wait_alert
{
	my ($key, $want) = @_;
	$node->poll_query_until('postgres', qq{
		SELECT coalesce((SELECT severity || ' ' || state FROM dr_alerts
		  WHERE source = 'objectives' AND key = '$key' ORDER BY id DESC LIMIT 1), 'none')},
		$want)
	  or diag("alert $key: " . alert_state($key));
	is(alert_state($key), $want, "alert $key: $want");
}

# ---------------------------------------------------------------------------
# no backup yet: breached, a critical alert
# ---------------------------------------------------------------------------
is(status('verdict, newest_backup IS NULL, rto_estimate IS NULL'), 'breached|t|t',
	'no backup: breached, no newest backup, no RTO estimate');
like(status('verdict_reason'), qr/^no valid backup to restore from/, 'no backup: the reason says so');
is(status('restore_rate_measured, replay_rate_measured'), 'f|f',
	'no measurement yet: the default rates, flagged');
is(status('restore_rate, replay_rate'), (50 * 1024 * 1024) . '|' . (20 * 1024 * 1024),
	'the defaults: 50 MiB/s restore, 20 MiB/s replay');
wait_alert('backup_overdue', 'critical open');

# a backup: ok, resolved
my $full = $node->safe_psql('postgres', 'SELECT dr_backup_full()');
DrTest::wait_archived($node);
$node->poll_query_until('postgres', q{SELECT verdict = 'ok' FROM dr_status})
  or diag('verdict: ' . status('verdict, verdict_reason'));
is(status('verdict, verdict_reason IS NULL, archive_health'), 'ok|t|ok', 'a backup, archiving: ok');
is(status('newest_backup'), $full, 'newest_backup: the full');
is(status(q{newest_backup_age < interval '1 minute' AND rto_estimate > interval '0'
	AND wal_since_backup > 0}), 't', 'its age, an RTO estimate and the WAL since it');
wait_alert('backup_overdue', 'critical resolved');

# ---------------------------------------------------------------------------
# the RTO target below the estimate: at_risk, rto_estimate raised
# ---------------------------------------------------------------------------
$node->safe_psql('postgres', q{
	UPDATE dr_objectives SET rto = interval '1 millisecond' WHERE tier = 'critical'},
	extra_params => [ '-U', 'obj_admin' ]);
is(status('verdict'), 'at_risk', 'RTO estimate above the target: at_risk');
like(status('verdict_reason'), qr/RTO estimate \d+ s passes the RTO target 0 s/, 'the reason says so');
wait_alert('rto_estimate', 'warning open');
$node->safe_psql('postgres', q{
	UPDATE dr_objectives SET rto = interval '1 hour' WHERE tier = 'critical'},
	extra_params => [ '-U', 'obj_admin' ]);
wait_alert('rto_estimate', 'warning resolved');

# ---------------------------------------------------------------------------
# the newest backup older than the bound: at_risk, backup_overdue raised
# ---------------------------------------------------------------------------
$node->append_conf('postgresql.conf', "pg_dr.backup_overdue_after = 1\n");
$node->reload;
$node->poll_query_until('postgres', q{SELECT verdict = 'at_risk' FROM dr_status})
  or diag('verdict: ' . status('verdict, verdict_reason'));
like(status('verdict_reason'), qr/newest valid backup is \d+ s old, overdue after 1 s/,
	'backup overdue: at_risk, the reason says so');
wait_alert('backup_overdue', 'warning open');
$node->append_conf('postgresql.conf', "pg_dr.backup_overdue_after = '25h'\n");
$node->reload;
wait_alert('backup_overdue', 'warning resolved');
$node->poll_query_until('postgres', q{SELECT verdict = 'ok' FROM dr_status})
  or diag('verdict: ' . status('verdict, verdict_reason'));

# ---------------------------------------------------------------------------
# archiving stops: rpo_actual grows, at_risk then breached at the thresholds
# ---------------------------------------------------------------------------
my $scenario_start = $node->safe_psql('postgres', 'SELECT now()');
sub archive_dirs_mode
{
	my ($mode) = @_;
	File::Find::find(sub { chmod($mode, $_) if -d $_ }, "$env->{repo}/archive/wal");
}
# a few seconds of ok in the history first
sleep(3);
archive_dirs_mode(0500);
$node->safe_psql('postgres', 'INSERT INTO t SELECT 1; SELECT pg_switch_wal()');

# observe until breached: (rpo seconds, verdict, reason)
my @seen;
my $until = time + $PostgreSQL::Test::Utils::timeout_default;
while (time < $until)
{
	my ($rpo, $verdict, $reason) = split /\|/, status(
		q{extract(epoch FROM rpo_actual), verdict, coalesce(verdict_reason, '')}), 3;
	push @seen, [ $rpo, $verdict, $reason ];
	last if $verdict eq 'breached';
	$node->safe_psql('postgres', 'INSERT INTO t SELECT 1');
	usleep(250_000);
}
is($seen[-1][1], 'breached', 'archiving stopped: breached in the end');
cmp_ok($seen[-1][0], '>', 20, 'breached: rpo_actual past the 20 s target');
like($seen[-1][2], qr/^RPO actual \d+ s passes the RPO target 20 s/, 'breached: the reason comes first');
my @wrong = grep {
	     ($_->[0] > 20) != ($_->[1] eq 'breached')
	  || ($_->[0] <= 20 && $_->[1] ne 'at_risk' && $_->[0] > 2)
	  || (($_->[0] > 15 && $_->[0] <= 20) != ($_->[2] =~ /three quarters of the RPO target 20 s/))
} @seen;
is(scalar(@wrong), 0, 'every observation: breached exactly past 20 s, at_risk up to it, the rpo finding past 15 s')
  or diag(join("\n", map { join(' | ', @$_) } @wrong));
ok((grep { $_->[0] > 15 && $_->[0] <= 20 && $_->[1] eq 'at_risk' } @seen) > 0,
	'at_risk was seen with rpo_actual between three quarters of the target and the target');
ok((grep { $_->[0] > 5 && $_->[0] <= 15 } @seen) > 0, 'rpo_actual grew through the lower values');
is(status('archive_health'), 'failing', 'archive_health: failing');
like(status('verdict_reason'), qr/WAL archiving is failing/, 'the reason names the archive');
wait_alert('rpo', 'critical open');
is($node->safe_psql('postgres', q{
	SELECT value > 20 AND threshold = 20 FROM dr_alerts
	 WHERE source = 'objectives' AND key = 'rpo' AND state = 'open'}), 't',
	'the rpo alert: the RPO actual as value, the target as threshold');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM dr_alerts WHERE source = 'objectives' AND key = 'rpo'}), '1',
	'at risk then breached: one alert, its severity raised');
$node->poll_query_until('postgres', q{SELECT archive_pending > 0 FROM dr_status});
wait_alert('archive_lagging', 'warning open');
cmp_ok(status('open_alerts'), '>=', 3, 'open_alerts counts them (rpo, archive_lagging, archive_failing)');

# ---------------------------------------------------------------------------
# archiving back: ok, resolved
# ---------------------------------------------------------------------------
archive_dirs_mode(0700);
DrTest::wait_archived($node);
$node->poll_query_until('postgres', q{SELECT verdict = 'ok' FROM dr_status})
  or diag('verdict: ' . status('verdict, verdict_reason'));
is(status('verdict, archive_health'), 'ok|ok', 'archiving back: ok');
cmp_ok(status('extract(epoch FROM rpo_actual)'), '<', 15, 'rpo_actual small again');
wait_alert('rpo', 'critical resolved');
wait_alert('archive_lagging', 'warning resolved');
sleep(3);
my $scenario_end = $node->safe_psql('postgres', 'SELECT now()');

# ---------------------------------------------------------------------------
# history and availability
# ---------------------------------------------------------------------------
is($node->safe_psql('postgres', qq{
	SELECT count(*) > 10 AND bool_or(verdict = 'ok') AND bool_or(verdict = 'at_risk')
		   AND bool_or(verdict = 'breached')
	  FROM dr_objectives_history
	 WHERE sampled_at BETWEEN '$scenario_start' AND '$scenario_end'}), 't',
	'history: the worker sampled ok, at_risk and breached');
is($node->safe_psql('postgres', qq{
	SELECT bool_and(sample_interval = interval '1 second') AND bool_and(tier = 'critical')
		   AND bool_and(rpo_target = interval '20 seconds')
	  FROM dr_objectives_history WHERE sampled_at >= '$scenario_start'}), 't',
	'history: each sample with its interval, tier and targets');

# an independent computation: each sample stands until the next, at most
# two intervals, clipped to the period
my $expected = $node->safe_psql('postgres', qq{
	WITH s AS (
		SELECT sampled_at, verdict, rpo_actual <= rpo_target AS rpo_met,
			   least(coalesce(lead(sampled_at) OVER (ORDER BY sampled_at), 'infinity'),
					 sampled_at + 2 * sample_interval) AS until
		  FROM pgdr.objectives_history),
	c AS (
		SELECT verdict, rpo_met,
			   greatest(least(until, '$scenario_end'::timestamptz)
						- greatest(sampled_at, '$scenario_start'::timestamptz), interval '0') AS d
		  FROM s)
	SELECT round(extract(epoch FROM sum(d) FILTER (WHERE verdict = 'breached')), 3),
		   round(extract(epoch FROM sum(d) FILTER (WHERE verdict = 'at_risk')), 3),
		   round(extract(epoch FROM sum(d) FILTER (WHERE verdict = 'ok')), 3),
		   round((100 * extract(epoch FROM sum(d) FILTER (WHERE verdict <> 'breached'))
				  / extract(epoch FROM sum(d)))::numeric, 3),
		   round((100 * extract(epoch FROM sum(d) FILTER (WHERE rpo_met))
				  / extract(epoch FROM sum(d) FILTER (WHERE rpo_met IS NOT NULL)))::numeric, 3)
	  FROM c});
my $got = $node->safe_psql('postgres', qq{
	SELECT round(extract(epoch FROM breached), 3), round(extract(epoch FROM at_risk), 3),
		   round(extract(epoch FROM ok), 3), round(availability::numeric, 3),
		   round(rpo_compliance::numeric, 3)
	  FROM dr_availability('$scenario_start', '$scenario_end')},
	extra_params => [ '-U', 'obj_mon' ]);
is($got, $expected, 'dr_availability matches the samples (breached, at_risk, ok, availability, RPO compliance)');
my ($avail, $met, $unknown) = split /\|/, $node->safe_psql('postgres', qq{
	SELECT availability < 100, availability_met, extract(epoch FROM unknown) < 3
	  FROM dr_availability('$scenario_start', '$scenario_end')});
is("$avail|$met|$unknown", 't|f|t', 'availability below 100 % and the 99.99 % target missed; little unknown time');
is($node->safe_psql('postgres', q{
	SELECT samples, extract(epoch FROM unknown) = 3600, availability IS NULL
	  FROM dr_availability('2001-01-01 00:00+00', '2001-01-01 01:00+00')}), '0|t|t',
	'a period with no sample: all unknown, availability NULL');

# bounded by count and by age
$node->safe_psql('postgres', q{
	INSERT INTO pgdr.objectives_history (sampled_at, sample_interval, tier,
		restore_rate_measured, replay_rate_measured, archive_health, archive_pending,
		open_alerts, verdict)
	VALUES (now() - interval '3 days', interval '1 minute', 'critical', false, false,
			'ok', 0, 0, 'ok')});
$node->append_conf('postgresql.conf', "pg_dr.objectives_history_retention = '1d'\n");
$node->reload;
$node->poll_query_until('postgres', q{
	SELECT count(*) = 0 FROM pgdr.objectives_history WHERE sampled_at < now() - interval '2 days'})
  or diag('an old sample was kept');
pass('history: a sample older than pg_dr.objectives_history_retention goes');
$node->append_conf('postgresql.conf', "pg_dr.objectives_history_max = 10\n");
$node->reload;
$node->poll_query_until('postgres', q{SELECT count(*) <= 10 FROM pgdr.objectives_history})
  or diag('history not bounded');
sleep(2);
cmp_ok($node->safe_psql('postgres', 'SELECT count(*) FROM dr_objectives_history'), '<=', 10,
	'history: at most pg_dr.objectives_history_max samples');

# ---------------------------------------------------------------------------
# rates measured: dr_restore() here, the replay in the restored cluster
# ---------------------------------------------------------------------------
my $side = "$tmp/side";
is($node->safe_psql('postgres',
		"SELECT bytes > 0 FROM dr_restore('latest', '$side')",
		extra_params => [ '-U', 'obj_admin' ]), 't', 'dr_restore() into a side directory');
is(status(q{restore_rate_measured, restore_rate_measured_at > now() - interval '1 minute',
	restore_rate > 0}), 't|t|t', 'dr_restore() measured the restore rate');
is($node->safe_psql('postgres', q{
	SELECT count(*) || ' ' || bool_and(source LIKE 'dr_restore(%)')
	  FROM dr_rate_samples WHERE kind = 'restore'}, extra_params => [ '-U', 'obj_mon' ]),
	'1 true', 'dr_rate_samples: the restore, with its source');
my $restored = DrTest::node_from_restore('restored', $side);
$restored->poll_query_until('postgres', q{SELECT replay_rate_measured FROM dr_status})
  or diag('no replay measured: ' . $restored->safe_psql('postgres', 'SELECT * FROM dr_rate_samples'));
is($restored->safe_psql('postgres', q{
	SELECT replay_rate > 0, replay_rate_measured_at IS NOT NULL FROM dr_status}), 't|t',
	'the restored cluster measured its replay rate when its recovery ended');
like($restored->safe_psql('postgres', q{SELECT source FROM dr_rate_samples WHERE kind = 'replay'}),
	qr/^recovery to timeline 2 of the backup started /, 'its source names the recovery');
$restored->restart;
DrTest::wait_worker($restored);
sleep(2);
is($restored->safe_psql('postgres', q{SELECT count(*) FROM dr_rate_samples WHERE kind = 'replay'}),
	'1', 'a restart measures nothing more');
$restored->stop;

# ---------------------------------------------------------------------------
# retention of the tier: used by dr_expire() when the repository sets none
# ---------------------------------------------------------------------------
$node->safe_psql('postgres', 'SELECT dr_backup_full()') for 1 .. 2;
$node->safe_psql('postgres', q{
	UPDATE dr_objectives SET retention_full = 1 WHERE tier = 'critical'},
	extra_params => [ '-U', 'obj_admin' ]);
my $newest = $node->safe_psql('postgres',
	q{SELECT max(backup_id) FROM dr_backups WHERE kind = 'full'});
is($node->safe_psql('postgres', 'SELECT backups_removed FROM dr_expire()',
		extra_params => [ '-U', 'obj_admin' ]), '2',
	'dr_expire(): the tier keeps one full, the two older go');
is($node->safe_psql('postgres', 'SELECT string_agg(backup_id, \',\') FROM dr_backups'), $newest,
	'the newest full is kept');
is($node->safe_psql('postgres', q{
	SELECT arguments->>'policy_from' FROM dr_audit WHERE operation = 'dr_expire'
	 ORDER BY id DESC LIMIT 1}), 'tier', 'the audit record says the policy was the tier\'s');
is($node->safe_psql('postgres', 'SELECT ok FROM dr_wal_verify()'), 't',
	'the WAL kept is consistent with the kept backup');
is($node->safe_psql('postgres', q{SELECT newest_backup FROM dr_status}), $newest,
	'dr_status: the newest backup still the kept one');

# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------
sub sqlstate_of
{
	my ($sql, @user) = @_;
	my ($rc, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\n$sql",
		extra_params => [@user]);
	return $err =~ /ERROR:  ([0-9A-Z]{5}):/ ? $1 : "none ($err)";
}
is(sqlstate_of(q{SELECT * FROM dr_availability(now(), now() - interval '1 hour')}), '22023',
	'dr_availability: from after to: 22023');
is(sqlstate_of(q{SELECT * FROM dr_availability(now(), now())}), '22023',
	'dr_availability: an empty period: 22023');
is(sqlstate_of(q{SELECT * FROM dr_availability(NULL, now())}), '22004',
	'dr_availability: a NULL bound: 22004');
is(sqlstate_of(q{SELECT * FROM dr_availability('-infinity', now())}), '22023',
	'dr_availability: an infinite bound: 22023');
is(sqlstate_of(q{UPDATE dr_objectives SET rpo = interval '-1 second' WHERE tier = 'critical'},
		'-U', 'obj_admin'), '23514', 'a negative RPO: 23514');
is(sqlstate_of(q{UPDATE dr_objectives SET rto = interval '0' WHERE tier = 'critical'},
		'-U', 'obj_admin'), '23514', 'a zero RTO: 23514');
is(sqlstate_of(q{UPDATE dr_objectives SET retention_full = 0 WHERE tier = 'critical'},
		'-U', 'obj_admin'), '23514', 'a zero retention count: 23514');
is(sqlstate_of(q{UPDATE dr_objectives SET retention_full_days = -1 WHERE tier = 'critical'},
		'-U', 'obj_admin'), '23514', 'a negative retention age: 23514');
is(sqlstate_of(q{INSERT INTO dr_objectives (tier, rto, rpo, availability)
		VALUES ('platinum', '1 h', '1 min', 99)}, '-U', 'obj_admin'), '42501',
	'an unknown tier cannot be added by an admin: 42501');
is(sqlstate_of(q{ALTER SYSTEM SET pg_dr.tier = 'platinum'}), '22023', 'pg_dr.tier: an unknown tier: 22023');
is(sqlstate_of(q{ALTER SYSTEM SET pg_dr.objectives_sample_interval = -5}), '22023',
	'a negative sample interval: 22023');
is(sqlstate_of(q{ALTER SYSTEM SET pg_dr.objectives_sample_interval = 0}), '22023',
	'a zero sample interval: 22023');
is(sqlstate_of(q{ALTER SYSTEM SET pg_dr.backup_overdue_after = '-1h'}), '22023',
	'a negative overdue bound: 22023');
is(sqlstate_of(q{ALTER SYSTEM SET pg_dr.objectives_history_retention = '30000d'}), '22023',
	'an absurd history retention: 22023');
is($node->safe_psql('postgres', 'SHOW pg_dr.objectives_sample_interval'), '1s',
	'the previous sample interval is kept');
is($node->safe_psql('postgres', q{SELECT rpo FROM dr_objectives WHERE tier = 'critical'}), '00:00:20',
	'the previous RPO is kept');

# the history is the monitors' to read, not to write
is(sqlstate_of(q{DELETE FROM pgdr.objectives_history}, '-U', 'obj_admin'), '42501',
	'nobody but the worker writes the history: 42501');

$node->stop;
done_testing();
