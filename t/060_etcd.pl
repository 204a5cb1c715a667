# The etcd client of high availability (src/ha/etcd.c) against a real etcd
# 3.4 (Debian's etcd-server), started here on 127.0.0.1 with free ports
# and a temporary data directory, stopped at the end; driven through the
# test program build/test/etcd_probe.  Shows: two clients racing for the
# leader key, exactly one wins and the other sees the holder; the lease
# outlives its TTL while kept alive, expires once the keepalives stop,
# and the other client then wins; a keepalive after expiry is reported as
# lost; release only deletes our own value; endpoints fail over; no
# endpoint answering is a clear error, and not a lost lease.

use strict;
use warnings;

use IPC::Run;
use POSIX ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $probe = ($ENV{TESTDIR} // '.') . '/build/test/etcd_probe';
plan skip_all => "$probe not built (make test-tools)" unless -x $probe;
my $etcd = $ENV{ETCD} // (grep { -x } map { "$_/etcd" } split /:/, "$ENV{PATH}:/usr/bin")[0];
plan skip_all => 'etcd is not installed (etcd-server, scripts/deps.sh)'
  unless defined $etcd && -x $etcd;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $cport = PostgreSQL::Test::Cluster::get_free_port();
my $pport = PostgreSQL::Test::Cluster::get_free_port();
my $ep = "http://127.0.0.1:$cport";

# etcd in a process group of its own, stopped at the end (also when a
# test dies)
my $pid = fork() // die "fork: $!";
if ($pid == 0)
{
	POSIX::setpgid(0, 0);
	open(STDOUT, '>', "$tmp/etcd.log") or die;
	open(STDERR, '>&', \*STDOUT) or die;
	exec($etcd, '--name', 'n1', '--data-dir', "$tmp/data",
		'--listen-client-urls', $ep, '--advertise-client-urls', $ep,
		'--listen-peer-urls', "http://127.0.0.1:$pport",
		'--initial-advertise-peer-urls', "http://127.0.0.1:$pport",
		'--initial-cluster', "n1=http://127.0.0.1:$pport",
		'--initial-cluster-state', 'new')
	  or die "exec $etcd: $!";
}
END
{
	local $?;	# the test's own exit status, not etcd's
	if ($pid)
	{
		kill('TERM', -$pid);
		waitpid($pid, 0);
	}
}

# run the probe: (exit code, stdout, stderr)
sub probe
{
	my ($out, $err) = ('', '');
	IPC::Run::run([ $probe, @_ ], '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

my $up = 0;
for (1 .. 300)
{
	my ($rc, $out) = probe($ep, 'get', '/probe');
	if ($rc == 0 && $out eq "absent\n") { $up = 1; last; }
	sleep 0.1;
}
ok($up, "etcd answers on $ep")
  or BAIL_OUT('etcd did not start: ' . slurp_file("$tmp/etcd.log"));
note('etcd ' . (`$etcd --version` =~ /^etcd Version: (\S+)/m ? $1 : '?'));

my $key = '/pg_dr/test/leader';
my $ttl = 2;

# 1. two clients race for the leader key at the same instant
my $at = int((time() + 1.5) * 1000);
my %run;
for my $name (qw(node-a node-b))
{
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ $probe, $ep, 'campaign', $key, $name, $ttl, '--at', $at, '--hold', 5000 ],
		'>', \$out, '2>', \$err);
	$run{$name} = { h => $h, out => \$out, err => \$err };
}
# the loser finishes at once; the winner keeps its lease alive for 5 s
my ($winner, $loser);
for (1 .. 100)
{
	IPC::Run::pump_nb($_->{h}) for values %run;
	my @won = grep { ${ $run{$_}{out} } =~ /^won$/m } keys %run;
	my @lost = grep { ${ $run{$_}{out} } =~ /^lost /m } keys %run;
	if (@won + @lost == 2)
	{
		is(scalar(@won), 1, 'exactly one of two racing clients wins the leader key');
		($winner, $loser) = ($won[0], $lost[0]);
		last;
	}
	sleep 0.1;
}
ok(defined $winner && defined $loser, 'one won, one lost')
  or diag(join("\n", map { "$_: ${$run{$_}{out}} ${$run{$_}{err}}" } keys %run));
my $loserOk = $run{$loser}{h}->finish;
my ($winLease) = ${ $run{$winner}{out} } =~ /^lease (\d+) /m;
like(${ $run{$loser}{out} }, qr/^lost holder=\Q$winner\E lease=\Q$winLease\E$/m,
	'the loser sees the holder and its lease');
ok($loserOk, 'the loser exits cleanly (its own lease revoked)')
  or diag("${$run{$loser}{out}} ${$run{$loser}{err}}");

# the loser sees the holder with a plain read too, and cannot release it
my ($rc, $out, $err) = probe($ep, 'get', $key);
is($out, "value=$winner lease=$winLease\n", 'a read shows the holder');
($rc, $out) = probe($ep, 'release', $key, $loser);
is($out, "not held\n", "a release with another node's value deletes nothing");
($rc, $out) = probe($ep, 'get', $key);
is($out, "value=$winner lease=$winLease\n", '... the key is still the holder\'s');

# 2. kept alive past its TTL, then left to expire
my $winnerOk = $run{$winner}{h}->finish;
my $stopped = time();
my $renewals = () = ${ $run{$winner}{out} } =~ /^renewed ttl=\d+$/mg;
cmp_ok($renewals, '>=', 3, "the holder renewed its lease ($renewals keepalives over 5 s)");
ok($winnerOk, 'the holder stopped its keepalives and exited')
  or diag("${$run{$winner}{out}} ${$run{$winner}{err}}");
($rc, $out) = probe($ep, 'get', $key);
is($out, "value=$winner lease=$winLease\n",
	'the key outlived its 2 s TTL while the lease was kept alive');
my $gone;
while (time() - $stopped < $ttl + 5)
{
	($rc, $out) = probe($ep, 'get', $key);
	if ($out eq "absent\n") { $gone = time() - $stopped; last; }
	sleep 0.1;
}
ok(defined $gone, 'the key is gone once the keepalives stopped');
note(sprintf('key gone %.1f s after the last keepalive stopped (ttl %d s)', $gone // -1, $ttl));
cmp_ok($gone // 99, '<=', $ttl + 2, '... within the TTL (and a little)');

# 3. a keepalive after expiry is reported as lost
($rc, $out, $err) = probe($ep, 'keepalive', $winLease);
is($rc, 3, 'a keepalive of the expired lease: exit 3');
is($out, "lost\n", '... reported as lost');
like($err, qr/etcd lease \Q$winLease\E is lost \(expired or revoked\)/, '... with a message');

# 4. the other node now wins, and releases its own key
($rc, $out) = probe($ep, 'campaign', $key, $loser, $ttl);
like($out, qr/^won$/m, 'after the expiry the other node wins the key');
my ($lease2) = $out =~ /^lease (\d+) /m;
($rc, $out) = probe($ep, 'get', $key);
is($out, "value=$loser lease=$lease2\n", '... a read shows the new holder');
($rc, $out) = probe($ep, 'release', $key, $loser);
is($out, "released\n", 'the holder releases its own key (compare-and-delete)');
($rc, $out) = probe($ep, 'get', $key);
is($out, "absent\n", '... it is gone');
($rc, $out) = probe($ep, 'revoke', $lease2);
is($out, "revoked\n", 'its lease is revoked');
($rc, $out) = probe($ep, 'revoke', $lease2);
is($rc, 3, 'revoking it again: lost');

# 5. endpoints: the first does not answer, the second does
my $closed = PostgreSQL::Test::Cluster::get_free_port();
($rc, $out, $err) = probe("http://127.0.0.1:$closed,$ep", 'get', $key);
is("$rc $out", "0 absent\n", 'an endpoint that does not answer: the next one is used');
($rc, $out, $err) = probe("http://127.0.0.1:$closed", 'get', $key);
is($rc, 1, 'no endpoint answering: a failure');
like($err, qr/no etcd endpoint answered \/v3\/kv\/range \(1 tried\)/, '... saying so');
like($err, qr/hint: Check that etcd runs and ha_etcd_endpoints names it/, '... and what to do');
($rc, $out, $err) = probe('127.0.0.1:2379', 'get', $key);
like($err, qr/etcd endpoint "127\.0\.0\.1:2379" is not a URL/, 'an endpoint without a scheme refused');
($rc, $out, $err) = probe("http://root:s3cret\@127.0.0.1:$cport", 'get', $key);
like($err, qr/an etcd endpoint names a user or password \(not shown\)/,
	'an endpoint with a password refused ...');
unlike($err, qr/s3cret/, '... without showing it');

# 6. etcd stopped: unreachable is not "lost" (the lease may well still
# hold; the decision treats the two differently)
($rc, $out) = probe($ep, 'campaign', $key, 'node-c', 30);
my ($lease3) = $out =~ /^lease (\d+) /m;
like($out, qr/^won$/m, 'a third node takes the free key under a 30 s lease');
kill('TERM', -$pid);
waitpid($pid, 0);
$pid = 0;
($rc, $out, $err) = probe($ep, 'keepalive', $lease3);
is($rc, 1, 'etcd stopped: the keepalive fails');
unlike($out, qr/lost/, '... without calling the lease lost');
like($err, qr/no etcd endpoint answered \/v3\/lease\/keepalive/, '... saying etcd did not answer');

done_testing();
