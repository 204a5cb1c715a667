# Automatic failover with etcd (src/ha/ha_worker.c; docs/ha.md): three
# nodes on this host (n1 primary, n2 and n3 streaming standbys), Debian's
# etcd run by the test.  Shows, in order:
#  1. the HA workers observe each other (dr_nodes), the primary holds the
#     leader key;
#  2. etcd stopped while the primary is healthy: no promotion anywhere and
#     the primary, which sees every node, is not fenced (failsafe);
#  3. a standby killed: no promotion;
#  4. kill -9 of the primary's postmaster: exactly one new primary, the
#     other standby follows it, a write commits on the new primary; the
#     time from the kill to that write is printed;
#  5. the new primary frozen (SIGSTOP) past the lease with a transaction
#     open on it: the last standby takes over; SIGCONT: the frozen one
#     commits nothing more (the commit guard), fences itself, refuses
#     ordinary users and stays fenced (newer term);
#  6. the term is kept in etcd: the old primary restarted alone after the
#     new one died (every other node down, the leader key expired) does
#     not take the free key and stays fenced.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use DrHa;
use MIME::Base64 ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $etcd = DrHa::etcd_start($tmp);
plan skip_all => 'etcd is not installed (etcd-server, scripts/deps.sh)' unless $etcd;
END { local $?; DrHa::etcd_stop($etcd) if $etcd; }

my $c = DrHa::cluster_new($tmp, etcd => $etcd->{ep});
my ($n1, $n2, $n3) = @{ $c->{nodes} }{qw(n1 n2 n3)};
my $ttl_s = $DrHa::TTL_MS / 1000;

# 1. settled
DrHa::wait_settled($c);
pass('every node observes the other two (dr_nodes health ok on each)');
is($n1->safe_psql('postgres', "SELECT role FROM dr_nodes WHERE name = 'n1'"),
	'primary', 'n1 observes itself as primary');
is($n2->safe_psql('postgres', "SELECT string_agg(name || '=' || role, ',' ORDER BY name) FROM dr_nodes"),
	'n1=primary,n2=standby,n3=standby', 'n2 observes the roles');
like(DrHa::log_of($n1), qr/pg_dr ha: took the leader key \/pg_dr\/c1\/leader/,
	'the primary took the leader key');
ok(defined DrHa::try_write($n1, 'healthy', 'app'), 'the primary takes writes (user app)');

# 2. etcd stopped, primary healthy
DrHa::etcd_stop($etcd);
sleep(3 * $ttl_s);
is(DrHa::in_recovery($n2), 't', 'etcd stopped for 3 x ttl: n2 still a standby');
is(DrHa::in_recovery($n3), 't', '... n3 too');
ok(defined DrHa::try_write($n1, 'etcd down', 'app'),
	'... and the primary, seeing every node, still commits (failsafe, not fenced)');
unlike(DrHa::log_of($n1), qr/pg_dr ha: fence:/, '... no fence in its log');
$etcd = DrHa::etcd_start($tmp, $etcd);
DrHa::wait_settled($c);

# 3. a standby killed: nobody promotes
$n3->kill9;
sleep(3 * $ttl_s);
is(DrHa::in_recovery($n2), 't', 'n3 killed for 3 x ttl: n2 stays a standby');
ok(defined DrHa::try_write($n1, 'n3 down', 'app'), '... n1 still commits');
$n3->start;
DrHa::wait_settled($c);
pass('n3 restarted and observed again');

# 4. kill -9 of the primary
my ($ms, $winner, $id) = DrHa::kill_and_failover($c, 'n1', 'n2', 'n3');
ok(defined $ms, 'a write commits on a standby after the primary was killed');
diag("failover with etcd: kill -9 of the primary to the first committed write on the new primary: "
	  . ($ms // 'never') . " ms");
my $follower = ($winner // 'n2') eq 'n2' ? 'n3' : 'n2';
my $new = $c->{nodes}{$winner // 'n2'};
my $fol = $c->{nodes}{$follower};
is(DrHa::in_recovery($new), 'f', "$winner is the new primary");
is(DrHa::in_recovery($fol), 't', "$follower is still a standby (exactly one primary)");
ok(DrHa::wait_follows($c, $follower, $winner, $id), "$follower follows $winner (the first write arrived)");
like($fol->safe_psql('postgres', 'SELECT conninfo FROM pg_stat_wal_receiver'),
	qr/port=${\ $new->port }/, "... streaming from $winner");
my $hist = $new->safe_psql('postgres', 'SELECT new_primary, term, duration_ms FROM dr_failover_history');
like($hist, qr/^$winner\|1\|\d+$/, "dr_failover_history: $winner, term 1, the measured duration ($hist)");
like($new->safe_psql('postgres',
		"SELECT count(*) FROM dr_audit WHERE operation = 'dr_failover_history'"),
	qr/^[1-9]/, '... recorded in the audit trail');

# 5. the new primary frozen past the lease
my $app = $new->background_psql('postgres', on_error_stop => 0, extra_params => [ '-U', 'app' ]);
$app->query_safe("BEGIN; INSERT INTO ledger (node) VALUES ('open before the freeze')");
# every process of the primary: the postmaster first (it forks no more),
# then its children
my $pm = $new->{_pid};
my @pids = ($pm, split(/\s+/, `pgrep -P $pm`));
kill('STOP', @pids);
note('stopped ' . scalar(@pids) . ' processes of ' . $winner);
my ($ms2, $winner2, $id2) = (undef, undef, undef);
{
	my $t0 = time();
	while (time() - $t0 < 60)
	{
		my $got = DrHa::try_write($fol, 'first after the freeze');
		if (defined $got) { ($ms2, $winner2, $id2) = (int((time() - $t0) * 1000), $follower, $got); last; }
		sleep 0.05;
	}
}
ok(defined $ms2, "$follower took over from the frozen $winner ($ms2 ms after the freeze)");
kill('CONT', @pids);
my ($res, $ret) = eval { $app->query('COMMIT') };
note('COMMIT after SIGCONT: ' . ($@ || "ret $ret"));
# the fence terminates every client session, so a session of the test's
# own is opened once it is in place (one opened before could be cut)
$new->poll_query_until('postgres', "SELECT role = 'fenced' FROM dr_nodes WHERE name = '$winner'")
  or diag($new->safe_psql('postgres', 'SELECT name, role, reason FROM dr_nodes'));
my $committed = $new->safe_psql('postgres',
	"SELECT count(*) FROM ledger WHERE node = 'open before the freeze'");
is($committed, '0', 'the transaction open on the frozen primary did not commit after SIGCONT');
is($new->safe_psql('postgres', "SELECT role FROM dr_nodes WHERE name = '$winner'"),
	'fenced', "the old primary $winner fenced itself");
my ($rc, $out, $err) = $new->psql('postgres', 'SELECT 1', extra_params => [ '-U', 'app' ]);
like($err, qr/this node is fenced/, '... refuses ordinary users');
ok(!defined DrHa::try_write($new, 'after fence'), '... commits nothing, not even for a superuser');
sleep(2 * $ttl_s);
is($new->safe_psql('postgres', "SELECT role FROM dr_nodes WHERE name = '$winner'"),
	'fenced', '... and stays fenced: a newer term exists');
like(DrHa::log_of($new), qr/WARNING:  pg_dr ha: fence: .*client sessions terminated/,
	'... its log says why it fenced');
like(DrHa::log_of($new), qr/pg_dr ha: fence: node "$follower" knows term 2 .*stays fenced until it is rejoined/,
	'... and why it stays fenced');
eval { $app->quit };

# 6. etcd keeps the term: the old primary restarted alone (its state file
#    says fenced; every other node is down and the leader key has expired)
#    does not take the free key, and stays fenced
my $key = MIME::Base64::encode_base64('/pg_dr/c1/term', '');
my $range = `curl -s -m 5 -X POST $etcd->{ep}/v3/kv/range -d '{"key":"$key"}'`;
my ($value) = $range =~ /"value":"([^"]*)"/;
is(defined $value ? MIME::Base64::decode_base64($value) : undef, '2',
	'etcd records the term of the last promotion (2)');
$fol->kill9;
$new->stop('immediate');
$new->start;
sleep(2 * $ttl_s + 1);
is($new->safe_psql('postgres', "SELECT role FROM dr_nodes WHERE name = '$winner'"),
	'fenced', "$winner restarted alone, the leader key free: stays fenced");
like(DrHa::log_of($new), qr/pg_dr ha: fence: etcd records term 2, newer than this node's term 1/,
	'... because etcd records a newer term');
ok(!defined DrHa::try_write($new, 'alone after restart'), '... and commits nothing');

$new->stop('immediate');
done_testing();
