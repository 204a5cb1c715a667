# Automatic failover without etcd (src/ha/ha_worker.c; docs/ha.md): the
# licence is a majority of the three registered voting nodes, asked by
# the candidate through pgdr.ha_vote() on each.  Three nodes on this host
# (n1 primary, n2 and n3 streaming standbys).  Shows, in order:
#  1. the HA workers observe each other (dr_nodes);
#  2. a standby killed: no promotion, and the primary, which still has a
#     majority (itself and the other standby), is not fenced;
#  3. kill -9 of the primary's postmaster: exactly one new primary (its
#     vote and the other standby's), the other follows it, a write commits
#     on the new primary; the time from the kill to that write is printed;
#  4. the old primary started again: it sees the newer term, fences
#     itself before any write commits, and stays fenced;
#  5. the new primary frozen (SIGSTOP) past the quorum timeout with a
#     transaction open on it: the last standby takes over with the fenced
#     old primary's vote; SIGCONT: the frozen one commits nothing more and
#     fences itself.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use DrHa;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $c = DrHa::cluster_new($tmp);
my ($n1, $n2, $n3) = @{ $c->{nodes} }{qw(n1 n2 n3)};
my $ttl_s = $DrHa::TTL_MS / 1000;

# 1. settled
DrHa::wait_settled($c);
pass('every node observes the other two (dr_nodes health ok on each)');
is($n3->safe_psql('postgres', "SELECT string_agg(name || '=' || role, ',' ORDER BY name) FROM dr_nodes"),
	'n1=primary,n2=standby,n3=standby', 'n3 observes the roles');
like($n1->safe_psql('postgres', "SELECT reason FROM dr_nodes WHERE name = 'n1'"),
	qr/contact with a majority \(2 of 3 voting nodes\)/, 'the primary says why it holds its licence');
ok(defined DrHa::try_write($n1, 'healthy', 'app'), 'the primary takes writes (user app)');

# 2. a standby killed
$n3->kill9;
sleep(3 * $ttl_s);
is(DrHa::in_recovery($n2), 't', 'n3 killed for 3 x ttl: n2 stays a standby');
ok(defined DrHa::try_write($n1, 'n3 down', 'app'), '... n1 keeps its majority and commits');
$n3->start;
DrHa::wait_settled($c);
pass('n3 restarted and observed again');

# 3. kill -9 of the primary
my ($ms, $winner, $id) = DrHa::kill_and_failover($c, 'n1', 'n2', 'n3');
ok(defined $ms, 'a write commits on a standby after the primary was killed');
diag("failover without etcd (quorum): kill -9 of the primary to the first committed write on the new primary: "
	  . ($ms // 'never') . " ms");
my $follower = ($winner // 'n2') eq 'n2' ? 'n3' : 'n2';
my $new = $c->{nodes}{$winner // 'n2'};
my $fol = $c->{nodes}{$follower};
is(DrHa::in_recovery($new), 'f', "$winner is the new primary");
is(DrHa::in_recovery($fol), 't', "$follower is still a standby (exactly one primary)");
ok(DrHa::wait_follows($c, $follower, $winner, $id), "$follower follows $winner (the first write arrived)");
like(DrHa::log_of($new), qr/pg_dr ha: node "$follower" confirms term 1/,
	"$follower confirmed term 1 to $winner");
like(DrHa::log_of($fol), qr/pg_dr ha: vote for "$winner" in term 1 granted/, '... its log says so');
like($new->safe_psql('postgres', 'SELECT new_primary || \'|\' || term FROM dr_failover_history'),
	qr/^$winner\|1$/, 'dr_failover_history has it');

# 4. the old primary comes back
$n1->start;
$n1->poll_query_until('postgres', "SELECT role = 'fenced' FROM dr_nodes WHERE name = 'n1'")
  or diag($n1->safe_psql('postgres', 'SELECT name, role, reason FROM dr_nodes'));
is($n1->safe_psql('postgres', "SELECT role FROM dr_nodes WHERE name = 'n1'"), 'fenced',
	'the old primary, started again, fenced itself');
is($n1->safe_psql('postgres', "SELECT count(*) FROM ledger WHERE node LIKE 'after restart%'"), '0',
	'... nothing written there');
ok(!defined DrHa::try_write($n1, 'after restart'), '... it commits nothing');
like(DrHa::log_of($n1), qr/pg_dr ha: fence: node "\w+" knows term 1 .*stays fenced until it is rejoined/,
	'... because a newer term exists');
my ($rc, $out, $err) = $n1->psql('postgres', 'SELECT 1', extra_params => [ '-U', 'app' ]);
like($err, qr/this node is fenced/, '... it refuses ordinary users');

# 5. the new primary frozen past the timeout
my $app = $new->background_psql('postgres', on_error_stop => 0, extra_params => [ '-U', 'app' ]);
$app->query_safe("BEGIN; INSERT INTO ledger (node) VALUES ('open before the freeze')");
my $pm = $new->{_pid};
my @pids = ($pm, split(/\s+/, `pgrep -P $pm`));
kill('STOP', @pids);
my $ms2;
{
	my $t0 = time();
	while (time() - $t0 < 60)
	{
		if (defined DrHa::try_write($fol, 'first after the freeze'))
		{
			$ms2 = int((time() - $t0) * 1000);
			last;
		}
		sleep 0.05;
	}
}
ok(defined $ms2, "$follower took over from the frozen $winner with the vote of the fenced n1 ("
	  . ($ms2 // 'never') . ' ms after the freeze)');
like(DrHa::log_of($n1), qr/pg_dr ha: vote for "$follower" in term 2 granted/, '... n1 voted for it');
kill('CONT', @pids);
my ($res, $ret) = eval { $app->query('COMMIT') };
note('COMMIT after SIGCONT: ' . ($@ || "ret $ret"));
$new->poll_query_until('postgres', "SELECT role = 'fenced' FROM dr_nodes WHERE name = '$winner'")
  or diag($new->safe_psql('postgres', 'SELECT name, role, reason FROM dr_nodes'));
is($new->safe_psql('postgres', "SELECT count(*) FROM ledger WHERE node = 'open before the freeze'"),
	'0', 'the transaction open on the frozen primary did not commit after SIGCONT');
is($new->safe_psql('postgres', "SELECT role FROM dr_nodes WHERE name = '$winner'"),
	'fenced', "the frozen $winner fenced itself");
ok(!defined DrHa::try_write($new, 'after fence'), '... it commits nothing');
is(DrHa::in_recovery($fol), 'f', "$follower is the primary");
ok(defined DrHa::try_write($fol, 'still writable'), '... and takes writes');
eval { $app->quit };

$_->stop('immediate') for ($n1, $new);
$fol->stop;
done_testing();
