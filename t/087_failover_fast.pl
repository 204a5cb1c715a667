# Automatic failover without etcd at timings below a second (docs/ha.md
# "Timings"): ha_check_interval 100 ms, ha_retry_timeout 100 ms,
# ha_lease_ttl 300 ms.  A standby that lost the primary decides the moment
# ha_lease_ttl has passed since its last contact, and asks a refused
# pre-vote again every 10 ms for a bounded while (src/ha/ha_worker.c,
# haWakeSet).  Shows:
#  1. kill -9 of the primary: exactly one new primary, the other standby
#     follows it, a write commits there; the promotion came no sooner than
#     ha_lease_ttl after the last contact with the old primary (the rule
#     that makes it safe: a primary cut off rather than dead has fenced
#     itself by then), and the time is printed;
#  2. the old primary started again stays fenced and commits nothing;
#  3. the new primary and the old one both killed: the last standby has
#     no majority, stays a standby, and its HA worker does not turn the
#     early rounds into a busy loop (its CPU over 3 s is far below a core).
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use DrHa;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use POSIX ();

$DrHa::CHECK_MS = 100;
$DrHa::RETRY_MS = 100;
$DrHa::TTL_MS = 300;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $c = DrHa::cluster_new($tmp);
my ($n1, $n2, $n3) = @{ $c->{nodes} }{qw(n1 n2 n3)};

DrHa::wait_settled($c);
pass('three nodes at 100/100/300 ms observe each other');
like($n2->safe_psql('postgres', "SELECT value FROM dr_config WHERE name = 'ha_lease_ttl'"),
	qr/^300\b/, 'ha_lease_ttl of 300 ms accepted without etcd');

# 1. kill -9 of the primary (a write first, retried: a loaded host may
# make the primary miss its majority for a round and fence until the next)
my $before;
for (1 .. 100)
{
	$before = DrHa::try_write($n1, 'before', 'app');
	last if defined $before;
	sleep 0.1;
}
ok(defined $before, 'the primary takes writes');
my $pm1 = $n1->{_pid};
my ($ms, $winner, $id) = DrHa::kill_and_failover($c, 'n1', 'n2', 'n3');
ok(defined $ms, 'a write commits on a standby after the primary was killed');
diag("failover at 100/100/300 ms: kill -9 of the primary to the first committed write on the new primary: "
	  . ($ms // 'never') . ' ms');
$winner //= 'n2';
my $follower = $winner eq 'n2' ? 'n3' : 'n2';
my $new = $c->{nodes}{$winner};
my $fol = $c->{nodes}{$follower};
is(DrHa::in_recovery($new), 'f', "$winner is the new primary");
is(DrHa::in_recovery($fol), 't', "$follower is still a standby (exactly one primary)");
ok(DrHa::wait_follows($c, $follower, $winner, $id), "$follower follows $winner");
my $dur = $new->safe_psql('postgres',
	"SELECT duration_ms FROM dr_failover_history WHERE new_primary = '$winner'");
like($dur, qr/^\d+$/, "dr_failover_history has the promotion ($dur ms from the last contact)");
cmp_ok($dur, '>=', $DrHa::TTL_MS, '... no sooner than ha_lease_ttl after the last contact');
my ($unseen) = DrHa::log_of($new) =~ /pg_dr ha: promote: primary "n1" unreachable for (\d+) ms/;
ok(defined $unseen && $unseen >= $DrHa::TTL_MS,
	'the decision saw the primary unreachable for at least ha_lease_ttl (' . ($unseen // '?') . ' ms)');
ok(defined $before && $new->safe_psql('postgres', "SELECT count(*) FROM ledger WHERE id = $before") eq '1',
	'the write acknowledged before the kill is on the new primary');

# 2. the old primary comes back: a newer term exists (once its killed
# postmaster is gone: the failover can be over before)
for (1 .. 200)
{
	last unless kill(0, $pm1);
	sleep 0.05;
}
$n1->start;
$n1->poll_query_until('postgres', "SELECT role = 'fenced' FROM dr_nodes WHERE name = 'n1'")
  or diag($n1->safe_psql('postgres', 'SELECT name, role, reason FROM dr_nodes'));
is($n1->safe_psql('postgres', "SELECT role FROM dr_nodes WHERE name = 'n1'"), 'fenced',
	'the old primary, started again, fenced itself');
ok(!defined DrHa::try_write($n1, 'after restart'), '... it commits nothing');
$n1->stop('immediate');

# 3. the new primary killed too: the follower alone has no majority
my $wpid = $fol->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_dr ha worker'");
like($wpid, qr/^\d+$/, "$follower\'s HA worker runs (pid $wpid)");
$new->kill9;
sleep(2 * $DrHa::TTL_MS / 1000);
my $cpu = sub {
	open(my $fh, '<', "/proc/$wpid/stat") or return undef;
	my @f = split(/\s+/, (split(/\)\s*/, scalar(<$fh>), 2))[1]);
	close($fh);
	return $f[11] + $f[12];    # utime + stime, in clock ticks
};
my $t0 = $cpu->();
my $w0 = time();
sleep 3;
my $t1 = $cpu->();
my $share = defined $t0 && defined $t1
  ? ($t1 - $t0) / POSIX::sysconf(POSIX::_SC_CLK_TCK()) / (time() - $w0) : undef;
ok(defined $share && $share < 0.25,
	sprintf('%s alone: its HA worker used %.1f %% of a core over 3 s (no busy loop)',
		$follower, 100 * ($share // 1)));
is(DrHa::in_recovery($fol), 't', "$follower stays a standby without a majority (1 of 3)");
like(DrHa::log_of($fol), qr/pg_dr ha: (pre-vote for term \d+: 1 of 3 voting nodes would confirm|alert|wait)/,
	'... and its log says why');

$fol->stop;
done_testing();
