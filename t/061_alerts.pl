# Alerts (src/ops/alert*.c, docs/alerts.md) end to end: archiving made to
# fail raises "archive_failing:repo1" in dr_alerts, with a NOTIFY on
# dr_alerts and a webhook POST to a loopback receiver started here; the
# alert escalates to the critical webhook when nobody acknowledges it; the
# archive repaired resolves it; a failed backup raises "backup_failed",
# which an operator acknowledges (and which then does not escalate) and
# the next good backup resolves; a damaged backup and a broken audit chain
# raise theirs; a receiver that answers 500 or hangs (FaultProxy in front
# of it) has its POSTs retried without blocking the worker, and logs show
# its URL without the token; a webhook URL that is not http(s) is refused
# with a clear error; a monitor reads dr_alerts and cannot acknowledge.
use strict;
use warnings;

use Fcntl qw(:flock);
use File::Find;
use JSON::PP;
use POSIX ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

use lib 't/lib';
use DrTest;
use FaultProxy;

eval { require HTTP::Daemon; 1 }
  or plan skip_all => 'HTTP::Daemon not installed (libhttp-daemon-perl, scripts/deps.sh)';

my $tmp = PostgreSQL::Test::Utils::tempdir();
my @stop;	# what to stop at the end, newest first (also when a test dies)
END { local $?; $_->() for reverse splice(@stop); }

# The receiver: records every request as one line "<METHOD> <path> <body>"
# in $log and answers 200; one child per connection, in a process group
# of its own (stopped with it).
my $log = "$tmp/received";
sub receiver_start
{
	my $d = HTTP::Daemon->new(LocalAddr => '127.0.0.1', LocalPort => 0, ReuseAddr => 1)
	  or die "HTTP::Daemon: $!";
	my $port = $d->sockport;
	my $pid = fork() // die "fork: $!";
	if ($pid == 0)
	{
		POSIX::setpgid(0, 0);
		$SIG{CHLD} = 'IGNORE';
		while (1)
		{
			my $c = $d->accept or next;
			my $child = fork();
			if (defined $child && $child == 0)
			{
				while (my $req = $c->get_request)
				{
					open(my $fh, '>>', $log) or die;
					flock($fh, LOCK_EX) or die;
					my $body = $req->content;
					$body =~ s/\n/ /g;
					print $fh $req->method, ' ', $req->uri->path, ' ', $body, "\n";
					close($fh);
					my $resp = HTTP::Response->new(200, 'OK');
					$resp->header('Content-Length' => 2);
					$resp->content('ok');
					$c->send_response($resp);
				}
				POSIX::_exit(0);
			}
			close($c);
		}
	}
	close($d);
	push @stop, sub { kill 'KILL', -$pid; waitpid($pid, 0); };
	return $port;
}

# Every POST received: [path, decoded body], oldest first.
sub received
{
	my @posts;
	open(my $fh, '<', $log) or return ();
	while (my $line = <$fh>)
	{
		chomp $line;
		my ($method, $path, $body) = split / /, $line, 3;
		next unless $method eq 'POST';
		push @posts, [ $path, decode_json($body) ];
	}
	close($fh);
	return @posts;
}

# Wait until a POST matches (a sub of path and body); returns it.
sub wait_post
{
	my ($what, $match) = @_;
	my $until = time + $PostgreSQL::Test::Utils::timeout_default;
	while (time < $until)
	{
		for my $p (received())
		{
			return $p if $match->(@$p);
		}
		usleep(200_000);
	}
	fail("webhook POST: $what");
	return;
}

my $env = DrTest::repo_setup($tmp);
my $rport = receiver_start();
my $proxy = FaultProxy->start(upstream => "127.0.0.1:$rport", dir => "$tmp/proxy");
push @stop, sub { $proxy->stop };
my $pport = $proxy->port;
my $token = 'sekrit-token-61';

# The configuration: the repository's lines, then the alert settings.
my $base_conf = PostgreSQL::Test::Utils::slurp_file($env->{conf});
sub conf_alerts
{
	my (%set) = @_;
	my %all = (
		alert_webhook_url => "'http://127.0.0.1:$rport/all?token=$token'",
		alert_webhook_url_critical => "'http://127.0.0.1:$rport/critical'",
		alert_webhook_timeout => 2,
		%set);
	open(my $fh, '>', "$env->{conf}.tmp") or die;
	print $fh $base_conf;
	for my $k (sort keys %all)
	{
		print $fh "$k = $all{$k}\n" if defined $all{$k};
	}
	close($fh) or die;
	rename("$env->{conf}.tmp", $env->{conf}) or die;
}
conf_alerts();

my $node = DrTest::node_new('main', $env->{conf});
$node->append_conf('postgresql.conf', "archive_mode = on\narchive_library = 'pg_dr'\n");
$node->restart;
DrTest::wait_worker($node);
$node->safe_psql('postgres', q{
	CREATE ROLE alert_op LOGIN IN ROLE dr_operator;
	CREATE ROLE alert_mon LOGIN IN ROLE dr_monitor;
	CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g;});
DrTest::wait_archived($node);

# NOTIFY: a session that listens; its notifications come with its next query.
my $listener = $node->background_psql('postgres');
$listener->query_safe('LISTEN dr_alerts');
my $heard = '';
sub wait_notify
{
	my ($what, $re) = @_;
	my $until = time + $PostgreSQL::Test::Utils::timeout_default;
	while (time < $until)
	{
		$heard .= $listener->query_safe('SELECT 1');
		for my $line (split /\n/, $heard)
		{
			next unless $line =~ /^Asynchronous notification "dr_alerts" with payload "(.*)" received/;
			my $p = decode_json($1);
			return $p if $re->($p);
		}
		usleep(200_000);
	}
	fail("NOTIFY dr_alerts: $what");
	return;
}

sub alert_row
{
	my ($source, $key) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT id, severity, state, value, escalated_at IS NOT NULL, message
		  FROM dr_alerts WHERE source = '$source' AND key = '$key'
		 ORDER BY id DESC LIMIT 1});
}

# ---------------------------------------------------------------------------
# archiving fails: raised, NOTIFY, webhook
# ---------------------------------------------------------------------------
sub archive_dirs_mode
{
	my ($mode) = @_;
	File::Find::find(sub { chmod($mode, $_) if -d $_ }, "$env->{repo}/archive/wal");
}
archive_dirs_mode(0500);
$node->safe_psql('postgres', 'INSERT INTO t SELECT 1; SELECT pg_switch_wal()');
$node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM dr_alerts
	 WHERE source = 'archive' AND key = 'archive_failing:repo1' AND state = 'open'})
  or die 'no archive alert';
my ($aid, $sev, $state, $value, $esc, $msg) = split /\|/, alert_row('archive', 'archive_failing:repo1');
is($sev, 'warning', 'archive failing: a warning');
like($msg, qr/^WAL archiving into repo1 \("\Q$env->{repo}\E"\) fails: /,
	'archive failing: the message names the repository and the error');
cmp_ok($value, '>=', 1, 'archive failing: its value counts the failures in a row');

my $n = wait_notify('raised', sub { $_[0]{id} == $aid && $_[0]{state} eq 'raised' });
is_deeply($n, { id => int($aid), severity => 'warning', source => 'archive',
		key => 'archive_failing:repo1', state => 'raised' },
	'NOTIFY dr_alerts: id, severity, source, key, state');

my $p = wait_post('archive raised', sub { $_[1]{alert}{id} == $aid && $_[1]{event} eq 'raised' });
is($p->[0], '/all', 'a warning goes to alert_webhook_url');
is($p->[1]{severity}, 'warning', 'webhook body: the severity');
is($p->[1]{alert}{source}, 'archive', 'webhook body: the alert row');
is($p->[1]{alert}{key}, 'archive_failing:repo1', 'webhook body: its key');
like($p->[1]{alert}{message}, qr/fails: /, 'webhook body: its message');
like($p->[1]{system_identifier}, qr/^\d+$/, 'webhook body: the system identifier');
ok($p->[1]{event_id} > 0 && $p->[1]{attempt} == 1, 'webhook body: event id and attempt');

my $raised_at = $node->safe_psql('postgres', "SELECT raised_at FROM dr_alerts WHERE id = $aid");

# ---------------------------------------------------------------------------
# escalation: nobody acknowledged it within alert_escalate_after
# ---------------------------------------------------------------------------
conf_alerts(alert_escalate_after => 2);
$p = wait_post('escalated', sub { $_[1]{alert}{id} == $aid && $_[1]{event} eq 'escalated' });
is($p->[0], '/critical', 'escalated: to the next severity\'s webhook');
is($p->[1]{severity}, 'critical', 'escalated: as critical');
wait_notify('escalated', sub { $_[0]{id} == $aid && $_[0]{state} eq 'escalated' });
is((split /\|/, alert_row('archive', 'archive_failing:repo1'))[4], 't',
	'escalated: escalated_at is set');
conf_alerts();
# the archiver kept failing meanwhile: the same row, raised_at kept
is($node->safe_psql('postgres', qq{
	SELECT count(*) || ' ' || bool_and(raised_at = '$raised_at') FROM dr_alerts
	 WHERE source = 'archive'}),
	'1 true', 'raised again: one alert, raised_at kept');

# ---------------------------------------------------------------------------
# repaired: resolved
# ---------------------------------------------------------------------------
archive_dirs_mode(0700);
DrTest::wait_archived($node);
$node->poll_query_until('postgres', "SELECT state = 'resolved' FROM dr_alerts WHERE id = $aid")
  or die 'the archive alert was not resolved';
pass('archiving again: the alert is resolved');
wait_notify('resolved', sub { $_[0]{id} == $aid && $_[0]{state} eq 'resolved' });
wait_post('resolved', sub { $_[1]{alert}{id} == $aid && $_[1]{event} eq 'resolved' });
pass('resolved: NOTIFY and webhook');

# ---------------------------------------------------------------------------
# a failed backup, acknowledged, then resolved by a good one
# ---------------------------------------------------------------------------
my ($rc, $out, $err) = $node->psql('postgres', "SELECT dr_backup_incremental('20000101-000000F')");
isnt($rc, 0, 'an incremental on a parent that does not exist fails');
$node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM dr_alerts
	 WHERE source = 'backup' AND key = 'backup_failed' AND state = 'open'})
  or die 'no backup alert';
my ($bid, $bmsg) = split /\|/, $node->safe_psql('postgres',
	"SELECT id, message FROM dr_alerts WHERE key = 'backup_failed' AND state = 'open'");
like($bmsg, qr/^dr_backup_incremental failed: /, 'backup failed: the message says which call and why');

# a monitor reads, cannot acknowledge
is($node->safe_psql('postgres', "SELECT count(*) FROM dr_alerts WHERE id = $bid",
		extra_params => [ '-U', 'alert_mon' ]),
	'1', 'a monitor reads dr_alerts');
($rc, $out, $err) = $node->psql('postgres', "SELECT dr_alert_ack($bid)",
	extra_params => [ '-U', 'alert_mon' ]);
like($err, qr/permission denied for function dr_alert_ack/, 'a monitor cannot acknowledge');

# the operator acknowledges
my $acked = $node->safe_psql('postgres', "SELECT dr_alert_ack($bid) IS NOT NULL",
	extra_params => [ '-U', 'alert_op' ]);
is($acked, 't', 'an operator acknowledges');
is($node->safe_psql('postgres',
		"SELECT state || ' ' || acknowledged_by FROM dr_alerts WHERE id = $bid"),
	'acknowledged alert_op', 'acknowledged, by whom');
wait_notify('acknowledged', sub { $_[0]{id} == $bid && $_[0]{state} eq 'acknowledged' });
wait_post('acknowledged', sub { $_[1]{alert}{id} == $bid && $_[1]{event} eq 'acknowledged' });
pass('acknowledged: NOTIFY and webhook');
($rc, $out, $err) = $node->psql('postgres', "SELECT dr_alert_ack($bid)",
	extra_params => [ '-U', 'alert_op' ]);
is($rc, 0, 'acknowledged twice: no error');
like($err, qr/NOTICE:  alert $bid was acknowledged already, by alert_op/, '... a notice says so');
($rc, $out, $err) = $node->psql('postgres', 'SELECT dr_alert_ack(987654321)',
	extra_params => [ '-U', 'alert_op', '-v', 'VERBOSITY=verbose' ]);
like($err, qr/ERROR:  42704: alert 987654321 does not exist/, 'an unknown id: 42704');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM dr_audit WHERE operation = 'dr_alert_ack'}),
	'3', 'every dr_alert_ack call is audited');

# acknowledged: no escalation.  A sentinel alert nobody acknowledged
# (written here, raised an hour ago) shows when the duty has run with the
# short delay.
$node->safe_psql('postgres', q{
	INSERT INTO pgdr.alerts (severity, source, key, message, raised_at, updated_at)
	VALUES ('info', 'schedule', 'sentinel_061', 'sentinel',
			now() - interval '1 hour', now() - interval '1 hour')});
conf_alerts(alert_escalate_after => 1);
$node->poll_query_until('postgres', q{
	SELECT escalated_at IS NOT NULL FROM dr_alerts WHERE key = 'sentinel_061'})
  or die 'the sentinel did not escalate';
wait_post('sentinel escalated to warning', sub {
	$_[1]{alert}{key} eq 'sentinel_061' && $_[1]{event} eq 'escalated'
	  && $_[1]{severity} eq 'warning' && $_[0] eq '/all' });
pass('info escalates to warning, to the general webhook');
is($node->safe_psql('postgres', "SELECT escalated_at IS NULL FROM dr_alerts WHERE id = $bid"),
	't', 'an acknowledged alert does not escalate');
conf_alerts();

# the next good backup resolves it
my $full = $node->safe_psql('postgres', 'SELECT dr_backup_full()');
is($node->safe_psql('postgres', "SELECT state FROM dr_alerts WHERE id = $bid"),
	'resolved', 'a good backup resolves backup_failed');
($rc, $out, $err) = $node->psql('postgres', "SELECT dr_alert_ack($bid)",
	extra_params => [ '-U', 'alert_op', '-v', 'VERBOSITY=verbose' ]);
like($err, qr/ERROR:  55000: alert $bid is resolved already/, 'a resolved alert: 55000');

# every raise, ack and resolve is in the audit trail
$node->poll_query_until('postgres', qq{
	SELECT count(*) >= 5 FROM dr_audit WHERE operation = 'dr_alerts'})
  or diag('audit rows of dr_alerts missing');
is($node->safe_psql('postgres', qq{
	SELECT string_agg(DISTINCT arguments->>'action', ',' ORDER BY arguments->>'action')
	  FROM dr_audit WHERE operation = 'dr_alerts'}),
	'acknowledge,escalate,raise,resolve', 'raise, escalate, acknowledge, resolve are audited');

# ---------------------------------------------------------------------------
# a backup that fails verification; a broken audit chain
# ---------------------------------------------------------------------------
my @objects;
File::Find::find(sub { push @objects, $File::Find::name if -f $_ && -s $_ > 64 },
	"$env->{repo}/backup/$full");
my ($victim) = grep { m{/data/} } sort @objects;
($victim) = sort @objects unless $victim;
open(my $vfh, '+<:raw', $victim) or die "$victim: $!";
seek($vfh, -1, 2);
read($vfh, my $byte, 1);
seek($vfh, -1, 2);
print $vfh chr(ord($byte) ^ 0xff);
close($vfh);
($rc, $out, $err) = $node->psql('postgres', "SELECT dr_backup_verify('$full')");
is($out, 'f', 'a damaged backup fails verification');
my ($vsev, $vmsg) = split /\|/, $node->safe_psql('postgres', qq{
	SELECT severity, message FROM dr_alerts WHERE source = 'verify'
	   AND key = 'verify_failed:$full' AND state = 'open'});
is($vsev, 'critical', 'verify failure: critical');
like($vmsg, qr/^backup \Q$full\E failed verification with \d+ problem/, 'verify failure: its message');

$node->safe_psql('postgres', q{
	ALTER TABLE pgdr.audit_log DISABLE TRIGGER audit_log_append_only;
	UPDATE pgdr.audit_log SET arguments = arguments || '{"forged": true}' WHERE id = 2;
	ALTER TABLE pgdr.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;});
is($node->safe_psql('postgres', 'SELECT ok FROM dr_audit_verify()'), 'f',
	'a forged audit row breaks the chain');
is($node->safe_psql('postgres', q{
	SELECT severity || ' ' || value FROM dr_alerts
	 WHERE source = 'audit' AND key = 'audit_chain_broken' AND state = 'open'}),
	'critical 2', 'audit chain broken: critical, the broken row as its value');

# ---------------------------------------------------------------------------
# a receiver that answers 500, then one that hangs: retried, not blocking
# ---------------------------------------------------------------------------
wait_post('backup resolved', sub { $_[1]{alert}{id} == $bid && $_[1]{event} eq 'resolved' });
conf_alerts(alert_webhook_url => "'http://127.0.0.1:$pport/all?token=$token'");
$proxy->rules('POST /all* nth=1 count=2 action=status status=500');
($rc, $out, $err) = $node->psql('postgres', "SELECT dr_backup_incremental('20000101-000001F')");
$node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM dr_alerts WHERE key = 'backup_failed' AND state = 'open'})
  or die 'no second backup alert';
my $bid2 = $node->safe_psql('postgres',
	"SELECT id FROM dr_alerts WHERE key = 'backup_failed' AND state = 'open'");
$p = wait_post('after two 500s', sub { $_[1]{alert}{id} == $bid2 && $_[1]{event} eq 'raised' });
is($p->[1]{attempt}, 3, 'answered 500 twice: delivered at the third attempt');
my @tries = grep { m{ POST /all\?token=\S+ } || m{ POST /all } } $proxy->log;
is(scalar(grep { / status 500/ } @tries), 2, 'the proxy answered 500 twice');
is($node->safe_psql('postgres', qq{
	SELECT state || ' ' || attempts FROM pgdr.alert_events
	 WHERE alert_id = $bid2 AND event = 'raised'}),
	'sent 3', 'the event: sent after 3 attempts');

# hanging: every POST stalls past alert_webhook_timeout (2 s)
$proxy->rules('POST * count=all action=stall seconds=30');
my $ack_t0 = time;
$node->safe_psql('postgres', "SELECT dr_alert_ack($bid2)");
$node->poll_query_until('postgres', qq{
	SELECT attempts >= 2 FROM pgdr.alert_events
	 WHERE alert_id = $bid2 AND event = 'acknowledged'})
  or die 'the stalled POST was not retried';
pass('a hanging receiver: the POST is cut by the timeout and retried');
# meanwhile the worker does its other duties: an audited call returns
# (its record is written by the worker) and a new alert is recorded
my $t0 = time;
$node->safe_psql('postgres', "SELECT dr_restore_point('alerts_061')");
cmp_ok(time - $t0, '<', 15, 'with the receiver hanging, the worker still writes audit records');
my $good = $node->safe_psql('postgres', 'SELECT dr_backup_full()');
$node->poll_query_until('postgres', "SELECT state = 'resolved' FROM dr_alerts WHERE id = $bid2")
  or die 'not resolved while the receiver hangs';
pass('with the receiver hanging, alerts are still recorded');
is($node->safe_psql('postgres', qq{
	SELECT state FROM pgdr.alert_events WHERE alert_id = $bid2 AND event = 'acknowledged'}),
	'pending', 'the undelivered event stays pending');

# the receiver is back: the pending events go out
$proxy->rules();
wait_post('after the stall', sub { $_[1]{alert}{id} == $bid2 && $_[1]{event} eq 'acknowledged' });
pass('the receiver back: the retried event is delivered');

# the logs name the webhook without its token
my $srvlog = PostgreSQL::Test::Utils::slurp_file($node->logfile);
like($srvlog, qr{WARNING:  pg_dr alert event \d+ not delivered: webhook POST "http://127\.0\.0\.1:$pport/all\?REDACTED" failed: HTTP 500 .*; attempt 1 of 10, the next in 2 s},
	'a failed POST is logged, its URL redacted');
like($srvlog, qr{WARNING:  pg_dr alert event \d+ not delivered: webhook POST "http://127\.0\.0\.1:$pport/all\?REDACTED" failed: timeout: }i,
	'a timed-out POST is logged');
unlike($srvlog, qr/\Q$token\E/, 'the token is in no log line');
unlike($node->safe_psql('postgres', 'SELECT string_agg(coalesce(last_error, \'\'), \' \') FROM pgdr.alert_events'),
	qr/\Q$token\E/, 'nor in the events');
is($node->safe_psql('postgres', q{SELECT value FROM dr_config WHERE name = 'alert_webhook_url'}),
	'********', 'dr_config hides the webhook URL');

# ---------------------------------------------------------------------------
# a URL that is not http(s)
# ---------------------------------------------------------------------------
conf_alerts(alert_webhook_url => "'ftp://127.0.0.1/all?token=$token'");
($rc, $out, $err) = $node->psql('postgres', 'SELECT * FROM dr_config');
like($err, qr/"alert_webhook_url" must be an http:\/\/ or https:\/\/ URL/,
	'a non-http URL: a clear error naming the key');
unlike($err, qr/\Q$token\E/, '... without the URL in it');
command_fails_like([ 'pg_dr', 'info', '--config', $env->{conf} ],
	qr/"alert_webhook_url" must be an http:\/\/ or https:\/\/ URL/,
	'the CLI refuses it the same way');
conf_alerts();

$listener->quit;
$node->stop;
done_testing();
