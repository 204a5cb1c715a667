# A cluster with ha_etcd_endpoints set that starts while etcd does not
# answer (src/ha/ha_worker.c, src/ha/ha_switchover.c; docs/ha.md, "etcd
# unreachable at start").  etcd's endpoint accepts connections and never
# answers (a hung etcd, or a partition towards it: each request costs the
# whole ha_retry_timeout).  Three nodes on this host, ha_failover = on.
# Shows, in order:
#  1. the cluster starts: n1 holds no leader key and is the primary by the
#     failsafe (it sees every registered node), its writes commit
#     continuously, n2 and n3 stay standbys; the server log, dr_nodes and
#     dr_alerts (critical, with dr_status counting it) say etcd does not
#     answer, with the endpoint;
#  2. a standby stopped: n1, which no longer sees every node, fences
#     itself (writes refused, 25006); nobody is promoted; the standby back:
#     n1 takes writes again;
#  3. dr_switchover('n2') fails with 08001 naming the endpoint and changes
#     nothing (same primary, not restarted; same terms; no term given);
#  4. n1 stopped: dr_failover('n2') on n2 fails with 55000 naming the
#     endpoint, nothing is promoted, no term changes; n1 started again is
#     the primary (failsafe);
#  5. etcd started on the same endpoint: without any manual step n1 takes
#     the leader key, the alert is resolved, etcd records no term;
#  6. then kill -9 of n1: a standby takes over through etcd as usual.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use DrHa;
use IO::Socket::INET;
use MIME::Base64 ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $etcd = DrHa::etcd_plan($tmp);
plan skip_all => 'etcd is not installed (etcd-server, scripts/deps.sh)' unless $etcd;
END { local $?; DrHa::etcd_stop($etcd) if $etcd; }
my $ep = $etcd->{ep};
my $ttl_s = $DrHa::TTL_MS / 1000;

# etcd's client port takes connections (the kernel's backlog) and never
# answers; closed when etcd itself starts there (5.)
my $hole = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $etcd->{cport},
	Listen => 128, ReuseAddr => 1) or die "listen on $etcd->{cport}: $!";

my $t0 = time();
my $c = DrHa::cluster_new($tmp, etcd => $ep);
my ($n1, $n2, $n3) = @{ $c->{nodes} }{qw(n1 n2 n3)};
DrHa::wait_settled($c);
note(sprintf('three nodes up and observing each other %.1f s after the start', time() - $t0));

# etcd's value of a key of the cluster (undef: absent)
sub etcd_value
{
	my ($name) = @_;
	my $key = MIME::Base64::encode_base64("/pg_dr/c1/$name", '');
	my $range = `curl -s -m 5 -X POST $ep/v3/kv/range -d '{"key":"$key"}'`;
	my ($value) = $range =~ /"value":"([^"]*)"/;
	return defined $value ? MIME::Base64::decode_base64($value) : undef;
}

# the term and the vote each node keeps in its state file
sub terms
{
	return join(', ', map {
		my $f = $c->{nodes}{$_}->data_dir . '/pg_dr_ha.state';
		my $text = -e $f ? slurp_file($f) : '';
		my ($t) = $text =~ /^term=(\d+)$/m;
		my ($v) = $text =~ /^voted_term=(\d+)$/m;
		"$_ term " . ($t // '-') . ' voted ' . ($v // '-')
	} qw(n1 n2 n3));
}

sub call
{
	my ($node, $sql) = @_;
	my ($rc, $out, $err) = $node->psql('postgres', $sql,
		extra_params => [ '-v', 'ON_ERROR_STOP=1', '-v', 'VERBOSITY=verbose' ]);
	return ($rc, $out, $err);
}

sub reason_of
{
	my ($node, $name) = @_;
	return $node->safe_psql('postgres', "SELECT reason FROM dr_nodes WHERE name = '$name'");
}

# writes of user app on node, one every 100 ms for $n: how many failed
sub writes_failing
{
	my ($node, $n, $tag) = @_;
	my $failed = 0;
	for (1 .. $n)
	{
		$failed++ unless defined DrHa::try_write($node, $tag, 'app');
		sleep 0.1;
	}
	return $failed;
}

# 1. started while etcd does not answer
is(DrHa::in_recovery($n1), 'f', 'started while etcd does not answer: n1 is the primary');
is(DrHa::in_recovery($n2) . DrHa::in_recovery($n3), 'tt', '... n2 and n3 are standbys');
is(writes_failing($n1, 40, 'etcd hung'), 0,
	'... 40 writes over 4 s (rounds that each wait for etcd) all commit on n1 (failsafe)');
like(reason_of($n1, 'n1'),
	qr/^this node: etcd does not answer at '\Q$ep\E'; none: primary: no lease held \(etcd unreachable\), but contact with all 2 other nodes within \d+ ms \(failsafe\)$/,
	"dr_nodes on n1: etcd does not answer at the endpoint, no lease held, failsafe");
like(reason_of($n2, 'n2'), qr/^this node: etcd does not answer at '\Q$ep\E'; none: primary "n1" reachable$/,
	'dr_nodes on n2: etcd does not answer; the primary is reachable');
for my $n ($n1, $n2, $n3)
{
	like(DrHa::log_of($n),
		qr/WARNING:  pg_dr ha: etcd unreachable: no etcd endpoint answered .*\n.*DETAIL:  ha_etcd_endpoints is '\Q$ep\E'/,
		$n->name . "'s server log: etcd unreachable, with the endpoint");
}
unlike(DrHa::log_of($n1), qr/took the leader key/, 'n1 took no leader key');
$n1->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM dr_alerts WHERE source = 'ha' AND key = 'etcd_unreachable' AND resolved_at IS NULL")
  or diag($n1->safe_psql('postgres', 'SELECT * FROM dr_alerts'));
like($n1->safe_psql('postgres',
		"SELECT severity || ': ' || message FROM dr_alerts WHERE source = 'ha' AND key = 'etcd_unreachable' AND resolved_at IS NULL"),
	qr/^critical: etcd does not answer at '\Q$ep\E' \(ha_etcd_endpoints\): .*no standby can be promoted until it answers/,
	'dr_alerts on n1: a critical alert, etcd does not answer at the endpoint');
ok($n1->safe_psql('postgres', 'SELECT open_alerts FROM dr_status') >= 1, 'dr_status counts it in open_alerts');
my $terms0 = terms();
is($terms0, 'n1 term 0 voted 0, n2 term 0 voted 0, n3 term 0 voted 0', "the nodes' terms ($terms0)");

# 2. a standby stopped: n1 no longer sees every node and fences itself
# (n1 may have fenced itself at the start too, before n2 and n3 ran: its
# log is read from here on)
my $from = length(DrHa::log_of($n1));
$n3->stop('fast');
ok($n1->poll_query_until('postgres', "SELECT role = 'fenced' FROM dr_nodes WHERE name = 'n1'"),
	'n3 stopped: n1 fences itself (it no longer sees every node)');
my ($rc, $out, $err) = call($n1, "INSERT INTO ledger (node) VALUES ('fenced')");
like($err, qr/ERROR:  25006: this node is fenced: the transaction is not committed/,
	'... a write on n1 is refused (25006), even for a superuser');
like(substr(DrHa::log_of($n1), $from),
	qr/pg_dr ha: fence: no lease held \(etcd unreachable\) and not every other node was seen within ha_lease_ttl - ha_retry_timeout = 2000 ms/,
	"... its log says why");
is(DrHa::in_recovery($n2), 't', '... n2 stays a standby');
$n3->start;
ok($n1->poll_query_until('postgres', "SELECT role = 'primary' FROM dr_nodes WHERE name = 'n1'"),
	'n3 back: n1 resumes');
my $wrote;
for (1 .. 100) { $wrote = DrHa::try_write($n1, 'resumed', 'app'); last if defined $wrote; sleep 0.1; }
ok(defined $wrote, '... and takes writes again');
like(substr(DrHa::log_of($n1), $from),
	qr/pg_dr ha: resume: licence to be primary regained \(no lease held \(etcd unreachable\), but contact with all 2 other nodes within \d+ ms \(failsafe\)\)/,
	'... its log says why');
DrHa::wait_settled($c);

# 3. dr_switchover with etcd unreachable: refused before anything changes
my $started = $n1->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');
($rc, $out, $err) = call($n1, "SELECT dr_switchover('n2')");
isnt($rc, 0, "dr_switchover('n2') with etcd unreachable fails");
like($err, qr/ERROR:  08001: etcd does not answer at '\Q$ep\E' \(ha_etcd_endpoints\): no etcd endpoint answered/,
	'... 08001, naming the endpoint');
like($err, qr/DETAIL:  .*nothing was changed, this node stays the primary/, '... nothing was changed');
is($n1->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $started,
	'... n1 was not restarted');
ok(!-e $n1->data_dir . '/pg_dr_switchover.log', '... pg_dr switchover was not started');
is(terms(), $terms0, '... no node took or gave a term');
unlike(DrHa::log_of($n2) . DrHa::log_of($n3), qr/switchover: term/, '... no voter was asked');
is(DrHa::in_recovery($n2) . DrHa::in_recovery($n3), 'tt', '... n2 and n3 are standbys');
ok(defined DrHa::try_write($n1, 'after the refused switchover', 'app'), '... n1 takes writes');

# 4. n1 stopped: no promotion without etcd, by hand or not
$n1->stop('fast');
sleep($ttl_s + 1.5);
# (a standby keeps the call's audit record queued: wait 1 s for it, not 30)
($rc, $out, $err) = call($n2, "SET pg_dr.audit_timeout = 1; SELECT dr_failover('n2')");
isnt($rc, 0, "n1 down for more than ha_lease_ttl: dr_failover('n2') with etcd unreachable fails");
like($err, qr/ERROR:  55000: failover to "n2" not done: etcd does not answer at '\Q$ep\E' \(ha_etcd_endpoints; the server log says why\): no licence to be primary, nothing was changed/,
	'... 55000, naming the endpoint');
sleep($ttl_s);
is(DrHa::in_recovery($n2) . DrHa::in_recovery($n3), 'tt', '... n2 and n3 are still standbys');
like(reason_of($n2, 'n2'),
	qr/^this node: etcd does not answer at '\Q$ep\E'; wait: this node is the candidate but etcd is unreachable: no licence, no promotion$/,
	"... dr_nodes on n2, the candidate, says why it is not promoted");
is(terms(), $terms0, '... no term changed');
$n1->start;
$wrote = undef;
for (1 .. 300) { $wrote = DrHa::try_write($n1, 'n1 back', 'app'); last if defined $wrote; sleep 0.1; }
ok(defined $wrote, 'n1 started again (etcd still down): the primary again, its writes commit');
DrHa::wait_settled($c);

# 5. etcd starts on the same endpoint: the cluster converges by itself
close($hole);
DrHa::etcd_start($tmp, $etcd) or die;
my $holder;
for (1 .. 200) { $holder = etcd_value('leader'); last if defined $holder; sleep 0.1; }
is($holder, 'n1', 'etcd started: the leader key names n1, with no manual step');
is(etcd_value('term'), undef, '... etcd records no term (nothing failed over)');
like(DrHa::log_of($n1), qr/pg_dr ha: etcd answers at '\Q$ep\E'.*pg_dr ha: took the leader key \/pg_dr\/c1\/leader/s,
	"... n1's log: etcd answers, the key taken");
ok($n1->poll_query_until('postgres',
		"SELECT bool_and(resolved_at IS NOT NULL) FROM dr_alerts WHERE source = 'ha' AND key = 'etcd_unreachable'"),
	'... the etcd alert is resolved');
ok($n1->poll_query_until('postgres',
		"SELECT reason ~ '^this node: none: primary: lease renewed' FROM dr_nodes WHERE name = 'n1'"),
	'... dr_nodes: n1 renews its lease');
is(writes_failing($n1, 10, 'etcd back'), 0, '... n1 commits');
is(terms(), $terms0, '... the terms are as they were');

# 6. and a failover works as usual
my ($ms, $winner, $id) = DrHa::kill_and_failover($c, 'n1', 'n2', 'n3');
ok(defined $ms, 'kill -9 of n1: a standby takes writes');
diag('kill -9 of the primary to the first committed write on the new primary, after etcd came back: '
	  . ($ms // 'never') . ' ms');
my $other = ($winner // 'n2') eq 'n2' ? 'n3' : 'n2';
is(DrHa::in_recovery($c->{nodes}{$other}), 't', "... $other stays a standby (one primary)");
is(etcd_value('leader'), $winner, "... the leader key names $winner");
is(etcd_value('term'), '1', '... etcd records term 1');
ok(DrHa::wait_follows($c, $other, $winner, $id), "... $other follows $winner");

done_testing();
