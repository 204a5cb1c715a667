# 066_replication_watch.pl
#	The lag watcher (src/ha/ha_watch.h, docs/ha.md) on a primary and two
#	streaming standbys made from its base backup:
#	 - dr_replication shows both standbys on the primary, and each standby
#	   its own WAL receiver and replay;
#	 - replay paused on a standby: the standby says so, the primary's
#	   replay delay for it grows past ha_lag_alert_time and an alert is
#	   raised; resumed: resolved;
#	 - dr_replication_history gets rows and stays within
#	   ha_watch_history_keep;
#	 - synchronous mode: synchronous_standby_names becomes ANY 1 of both
#	   (audited); one standby stopped: it is removed and commits go on;
#	   both stopped: the last set is kept, a commit waits (SyncRep) and a
#	   critical alert is open; both back: the set is restored, the waiting
#	   commit returns and the alerts resolve.

use strict;
use warnings;

use lib 't/lib';
use DrTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep time);
use HTTP::Tiny;

my $tmp = PostgreSQL::Test::Utils::tempdir();

# each node its own configuration file: the same cluster, its own name
sub node_conf
{
	my ($name, $synchronous) = @_;
	my $path = "$tmp/$name.conf";
	open(my $fh, '>', $path) or die "could not create \"$path\": $!";
	print $fh "ha_cluster_name = c66\n", "ha_node_name = $name\n",
	  "ha_watch_interval = 200\n", "ha_watch_history_interval = 1\n",
	  "ha_watch_history_keep = 10\n", "ha_lag_alert_time = 2000\n",
	  "ha_synchronous = " . ($synchronous // 'off') . "\n";
	close($fh) or die;
	return $path;
}

# rewrite the primary's file; a new size and time make the watcher read it
sub primary_conf
{
	my ($synchronous) = @_;
	sleep(0.01);
	return node_conf('primary', $synchronous);
}

my $primary = DrTest::node_new('primary', primary_conf());
$primary->safe_psql('postgres', 'CREATE TABLE ledger (id int PRIMARY KEY, at timestamptz DEFAULT now())');
$primary->safe_psql('postgres', 'INSERT INTO ledger (id) VALUES (1)');
$primary->backup('base');

my @standbys;
for my $name ('s1', 's2')
{
	my $s = PostgreSQL::Test::Cluster->new($name);
	# streaming from the primary with application_name = the node's name
	$s->init_from_backup($primary, 'base', has_streaming => 1);
	$s->append_conf('postgresql.conf',
		"pg_dr.config_file = '" . node_conf($name) . "'\n");
	$s->start;
	push @standbys, $s;
}
my ($s1, $s2) = @standbys;

# --- dr_replication on both sides ---------------------------------------
$primary->poll_query_until('postgres',
	"SELECT count(*) = 2 FROM dr_replication WHERE state = 'streaming'")
  or die 'the primary does not show two streaming standbys';
is($primary->safe_psql('postgres',
	"SELECT string_agg(standby || ':' || role || ':' || node, ',' ORDER BY standby) FROM dr_replication"),
	's1:primary:primary,s2:primary:primary',
	'the primary shows both standbys by application_name');
is($primary->safe_psql('postgres',
	"SELECT count(*) FROM dr_replication WHERE replay_lsn IS NOT NULL
	   AND replay_lag_bytes >= 0 AND flush_lag_bytes >= 0 AND sync_state = 'async'
	   AND sampled_at > now() - interval '5 seconds'"),
	'2', 'with positions, lag in bytes and sync state, sampled just now');

for my $s (@standbys)
{
	my $name = $s->name;
	$s->poll_query_until('postgres',
		"SELECT state = 'streaming' AND received_lsn IS NOT NULL FROM dr_replication")
	  or die "standby $name does not show its WAL receiver";
	is($s->safe_psql('postgres',
		"SELECT role || ':' || standby || ':' || replay_pause_state || ':' || (address IS NOT NULL)
		   || ':' || (replay_lag_bytes >= 0) FROM dr_replication"),
		"standby:$name:not paused:true:true",
		"standby $name shows its receiver, sender, replay and pause state");
}

# --- the metrics on a hot standby: dr_metrics() and the endpoint ----------
my $metrics = $s1->safe_psql('postgres', 'SELECT dr_metrics()');
like($metrics, qr/^pg_dr_in_recovery 1$/m, 'dr_metrics() on a hot standby: it answers, in recovery');
unlike($metrics, qr/^pg_dr_rpo_actual_seconds /m, '... with no RPO actual (the primary has it)');
like($primary->safe_psql('postgres', 'SELECT dr_metrics()'), qr/^pg_dr_in_recovery 0$/m,
	'the primary says it is not in recovery');
my $mport = PostgreSQL::Test::Cluster::get_free_port();
$s1->append_conf('postgresql.conf', "pg_dr.metrics_listen = '127.0.0.1:$mport'\n");
$s1->reload;
my $scrape;
for (1 .. 150)
{
	$scrape = HTTP::Tiny->new(timeout => 5)->get("http://127.0.0.1:$mport/metrics");
	last if $scrape->{status} == 200;
	sleep(0.2);
}
is($scrape->{status}, 200, 'the metrics endpoint serves on a hot standby');
like($scrape->{content}, qr/^pg_dr_in_recovery 1$/m, '... the standby\'s metrics');
like($scrape->{content}, qr/^pg_dr_worker_running 1$/m, '... with its pg_dr worker running');

# lag in time on the primary: PostgreSQL's own lag columns fill with writes
$primary->safe_psql('postgres',
	'INSERT INTO ledger (id) SELECT g FROM generate_series(2, 1000) g');
$primary->poll_query_until('postgres',
	"SELECT count(*) = 2 FROM dr_replication WHERE replay_lag IS NOT NULL AND flush_lag IS NOT NULL")
  or die 'no lag times on the primary';
pass('lag times shown on the primary');

# --- the RPO actual from the standbys (pg_dr.objectives_rpo_source) ------
# WAL is not archived by pg_dr here: the archive's RPO actual is unknown.
# auto (the default) counts only synchronous standbys: none yet.
is($primary->safe_psql('postgres',
	'SELECT rpo_source || \'|\' || (rpo_actual IS NULL) || \'|\' || (rpo_standby IS NULL) FROM dr_status'),
	'archive|true|true', 'auto, asynchronous standbys: the RPO actual is the archive\'s (unknown)');
$primary->safe_psql('postgres',
	"ALTER SYSTEM SET pg_dr.objectives_rpo_source = 'standby'; SELECT pg_reload_conf()");
$primary->poll_query_until('postgres', q{
	SELECT rpo_source = 'standby' AND rpo_standby IN ('s1', 's2')
	   AND rpo_actual < interval '10 seconds' FROM dr_status})
  or die 'standby: the RPO actual is not the best standby\'s lag: '
  . $primary->safe_psql('postgres', 'SELECT rpo_source, rpo_standby, rpo_actual FROM dr_status');
pass('standby: the RPO actual is the best standby\'s flush lag, dr_status names it');
like($primary->safe_psql('postgres', 'SELECT dr_metrics()'), qr/^pg_dr_rpo_from_standby 1$/m,
	'... and dr_metrics() says the RPO actual is a standby\'s');
$primary->safe_psql('postgres',
	'ALTER SYSTEM RESET pg_dr.objectives_rpo_source; SELECT pg_reload_conf()');

# --- replay paused on s1: reported, alert raised, resolved --------------
$s1->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
$s1->poll_query_until('postgres', 'SELECT replay_paused FROM dr_replication')
  or die 's1 does not report its replay paused';
is($s1->safe_psql('postgres', 'SELECT replay_pause_state FROM dr_replication'),
	'paused', 's1 reports its replay paused');
$primary->safe_psql('postgres', 'INSERT INTO ledger (id) VALUES (1001)');
$primary->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM dr_alerts WHERE source = 'ha'
	   AND key = 'replication_lag_time:s1' AND state = 'open'")
  or die 'no alert for the paused replay of s1';
my ($sev, $value, $threshold, $message) = split /\|/,
  $primary->safe_psql('postgres',
	"SELECT severity, value, threshold, message FROM dr_alerts
	  WHERE key = 'replication_lag_time:s1' AND state = 'open'");
is($sev, 'warning', 'the replay alert is a warning');
cmp_ok($value, '>', $threshold, "its value ($value s) is above its threshold ($threshold s)");
is($threshold, '2', 'the threshold is ha_lag_alert_time');
like($message, qr/standby "s1" of primary "primary".*paused or stuck/,
	'the message names the standby, the primary and the cause');
is($primary->safe_psql('postgres',
	"SELECT count(*) FROM dr_alerts WHERE key = 'replication_lag_time:s2'"),
	'0', 's2, still replaying, has no alert');
ok($primary->safe_psql('postgres',
	"SELECT replay_delay > interval '2 seconds' FROM dr_replication WHERE standby = 's1'") eq 't',
	'dr_replication shows the replay delay of s1');
ok($s1->log_contains(qr/pg_dr lag watcher: WAL replay on this standby is paused/),
	"the standby's log says its replay is paused");

$s1->safe_psql('postgres', 'SELECT pg_wal_replay_resume()');
$primary->poll_query_until('postgres',
	"SELECT state = 'resolved' FROM dr_alerts WHERE key = 'replication_lag_time:s1'")
  or die 'the replay alert of s1 is not resolved';
pass('replay resumed: the alert is resolved');

# --- history: rows, bounded ----------------------------------------------
$primary->poll_query_until('postgres',
	"SELECT count(DISTINCT standby) = 2 AND count(*) >= 10 FROM dr_replication_history")
  or die 'no history rows';
sleep(3);
my ($rows, $newest) = split /\|/, $primary->safe_psql('postgres',
	"SELECT count(*), max(sampled_at) > now() - interval '3 seconds' FROM dr_replication_history");
cmp_ok($rows, '<=', 10, "the history is pruned to ha_watch_history_keep ($rows rows)");
is($newest, 't', 'and still written');
is($s2->safe_psql('postgres', "SELECT count(*) > 0 FROM dr_replication_history"),
	't', "the primary's history replicates to the standbys");

# --- synchronous mode -------------------------------------------------------
sub sync_names
{
	return $primary->safe_psql('postgres', 'SHOW synchronous_standby_names');
}

sub wait_sync_names
{
	my ($want, $what) = @_;
	my $got;
	for (1 .. 300)
	{
		$got = sync_names();
		last if $got eq $want;
		sleep(0.1);
	}
	is($got, $want, $what);
}

primary_conf('on');
wait_sync_names('ANY 1 ("s1", "s2")', 'sync mode on: ANY 1 of both standbys');
$primary->poll_query_until('postgres',
	"SELECT count(*) = 2 FROM dr_replication WHERE sync_state = 'quorum'")
  or die 'the standbys are not quorum standbys';
pass('both standbys are quorum standbys');
$primary->poll_query_until('postgres', q{
	SELECT rpo_source = 'standby' AND rpo_standby IN ('s1', 's2')
	   AND rpo_actual < interval '10 seconds' FROM dr_status})
  or die 'auto, synchronous mode: the RPO actual is not the standby\'s: '
  . $primary->safe_psql('postgres', 'SELECT rpo_source, rpo_standby, rpo_actual FROM dr_status');
pass('auto, synchronous mode: the RPO actual is the best synchronous standby\'s lag');
like($primary->safe_psql('postgres',
	"SELECT arguments::text FROM dr_audit WHERE operation = 'synchronous_standby_names'
	  ORDER BY id DESC LIMIT 1"),
	qr/ANY 1 \(\\"s1\\", \\"s2\\"\)/, 'the change is in the audit trail');
ok($primary->log_contains(qr/synchronous_standby_names set to 'ANY 1 \("s1", "s2"\)'/),
	'and in the server log');
$primary->safe_psql('postgres', 'INSERT INTO ledger (id) VALUES (2001)');
pass('a commit with both standbys');

$s1->stop('fast');
wait_sync_names('ANY 1 ("s2")', 's1 stopped: removed from the set');
my ($ret, $out, $err) = $primary->psql('postgres',
	"SET statement_timeout = '20s'; INSERT INTO ledger (id) VALUES (2002)");
is($ret, 0, 'a commit still succeeds with s2 alone');
$primary->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM dr_alerts WHERE key = 'standby_missing:s1' AND state = 'open'")
  or die 'no alert for the missing s1';
pass('s1 gone: an alert says so');

$s2->stop('fast');
$primary->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM dr_alerts WHERE key = 'synchronous_no_standby'
	   AND severity = 'critical' AND state = 'open'")
  or die 'no critical alert with no standby';
pass('both stopped: a critical alert is open');
$primary->poll_query_until('postgres',
	"SELECT rpo_source = 'archive' AND rpo_standby IS NULL FROM dr_status")
  or die 'no standby: the RPO actual is not the archive\'s';
pass('no healthy standby: the RPO actual is the archive\'s again');
is(sync_names(), 'ANY 1 ("s2")', 'the last set is kept');

# a commit waits for a standby; PostgreSQL 15 does not apply
# statement_timeout to the wait at commit, so the client gives up instead
my $timed_out = 0;
my $t0 = time();
$primary->psql('postgres',
	"SET statement_timeout = '2s'; INSERT INTO ledger (id) VALUES (3001)",
	timeout => 4, timed_out => \$timed_out);
ok($timed_out, sprintf('the commit waits with no standby (still waiting after %.1f s)', time() - $t0));
is($primary->safe_psql('postgres',
	"SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'
	   AND query LIKE '%INSERT INTO ledger (id) VALUES (3001)%'"),
	'1', 'its backend waits for synchronous replication');
like($primary->safe_psql('postgres',
	"SELECT message FROM dr_alerts WHERE key = 'synchronous_no_standby' AND state = 'open'"),
	qr/synchronous_standby_names stays 'ANY 1 \("s2"\)', so commits wait/,
	'the alert says why commits wait');

$s1->start;
$s2->start;
wait_sync_names('ANY 1 ("s1", "s2")', 'both back: the set is restored');
$primary->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE wait_event = 'SyncRep'")
  or die 'the waiting commit did not return';
pass('the waiting commit returned');
$s1->poll_query_until('postgres', 'SELECT count(*) = 1 FROM ledger WHERE id = 3001')
  or die 'the waited commit is not on s1';
pass('the waited commit is on s1');
$primary->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM dr_alerts WHERE source = 'ha' AND state <> 'resolved'")
  or die 'ha alerts still open: '
  . $primary->safe_psql('postgres',
	"SELECT string_agg(key, ', ') FROM dr_alerts WHERE source = 'ha' AND state <> 'resolved'");
pass('every replication alert resolved');
is($primary->safe_psql('postgres',
	"SELECT count(*) FROM dr_alerts WHERE key = 'synchronous_no_standby'"),
	'1', 'the critical alert was raised once, not per sample');

$s1->stop;
$s2->stop;
$primary->stop;
done_testing();
