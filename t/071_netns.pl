# 071_netns.pl
#	The self-test of t/lib/NetNs.pm, real partitions with network
#	namespaces: a PostgreSQL in one namespace is reachable from another
#	over 198.18.0.0/15, unreachable once its node is cut off, reachable
#	again after heal; with only the link between two nodes cut, a third
#	still reaches both; afterwards no namespace and no link of the test is
#	left (ip netns list, ip link), and the test's address range never
#	appeared outside the namespaces.  Not run as root, the test runs in
#	user, mount, network and PID namespaces of its own (NetNs::isolate);
#	where neither is permitted, it says so and skips: it never passes
#	without having run.

use strict;
use warnings;

use File::Temp;
use lib 't/lib';
use NetNs;
BEGIN { NetNs::isolate() }
use PostgreSQL::Test::Utils;
use Test::More;

my ($ok, $why) = NetNs::available();
plan skip_all => "network namespaces are not permitted here ($why): the real-partition test cannot run"
  unless $ok;

if ($> != 0)
{
	isnt(readlink('/proc/self/ns/net'), $ENV{PGDR_NETNS_OUTER},
		'not root: the test runs in a network namespace of its own, not the one it was started in');
}

# As root, PostgreSQL runs as NETNS_USER (postgres) in a directory it owns.
my $user = $ENV{NETNS_USER} // 'postgres';
my $base = File::Temp::tempdir('pgdr-netns-XXXXXX', TMPDIR => 1, CLEANUP => 1);
if ($> == 0)
{
	my (undef, undef, $uid, $gid) = getpwnam($user) or die "no user $user";
	chown $uid, $gid, $base or die "chown $base: $!";
}

my $net = NetNs->new;
my $db = $net->add_node('db');
my $client = $net->add_node('client');
my $other = $net->add_node('other');
like($db, qr/^198\.18\./, "db node at $db");
like($client, qr/^198\.18\./, "client node at $client");

my $pgdata = "$base/pgdata";
is($net->run('db', 'initdb', '-D', $pgdata, '-A', 'trust', '--no-sync', '-U', 'postgres'),
	0, 'initdb inside the db namespace');
open(my $fh, '>>', "$pgdata/postgresql.conf") or die;
print $fh "listen_addresses = '$db'\nport = 5432\nunix_socket_directories = '$base'\n";
close($fh);
open($fh, '>>', "$pgdata/pg_hba.conf") or die;
print $fh "host all all 198.18.0.0/15 trust\n";
close($fh);
is($net->run('db', 'pg_ctl', '-D', $pgdata, '-l', "$base/log", '-w', 'start'),
	0, 'PostgreSQL started in the db namespace, listening on its address only');

sub query_from
{
	my ($from) = @_;
	my ($rc, $out, $err) = $net->capture($from, 'psql', '-X', '-At',
		'-d', "host=$db port=5432 user=postgres dbname=postgres connect_timeout=3",
		'-c', 'SELECT inet_server_addr()');
	chomp $out;
	return ($rc, $out, $err);
}
sub query_from_client { return query_from('client') }

my ($rc, $out, $err) = query_from_client();
is($rc, 0, 'reachable from the client namespace') or diag($err);
is($out, $db, 'and the server answers on its namespace address');

my ($hrc) = IPC::Run::run([ 'psql', '-X', '-At', '-d',
		"host=$db port=5432 user=postgres dbname=postgres connect_timeout=2", '-c', 'SELECT 1' ],
	'>', \my $o, '2>', \my $e);
ok(!$hrc, 'not reachable from outside the namespaces (the range exists only inside)');

$net->cut('db');
($rc, $out, $err) = query_from_client();
isnt($rc, 0, 'unreachable after the cut');
like($err, qr/timeout|timed out|unreachable|No route/i, 'a timeout, as in a real partition: ' . ((split /\n/, $err)[-1] // ''));

$net->heal('db');
my $healed = 0;
for (1 .. 20)
{
	($rc, $out) = query_from_client();
	if ($rc == 0) { $healed = 1; last; }
	sleep 1;
}
ok($healed, 'reachable again after heal');

$net->cut_pair('db', 'client');
($rc, $out, $err) = query_from_client();
isnt($rc, 0, 'the link between client and db cut: db unreachable from client');
like($err, qr/timeout|timed out/i, '... a timeout (packets dropped, no error): ' . ((split /\n/, $err)[-1] // ''));
($rc, $out) = query_from('other');
is($rc, 0, '... while another node still reaches db');
(undef, undef, $err) = $net->capture('client', 'psql', '-X', '-At', '-d',
	"host=$other port=1 user=postgres dbname=postgres connect_timeout=3", '-c', 'SELECT 1');
like($err, qr/refused/, '... and client still reaches that node (refused: nothing listens on its port 1)');
$net->heal_pair('db', 'client');
($rc, $out) = query_from_client();
is($rc, 0, 'the link healed: reachable again');

is($net->run('db', 'pg_ctl', '-D', $pgdata, '-w', '-m', 'fast', 'stop'), 0, 'PostgreSQL stopped');
$net->cleanup;
is_deeply([ NetNs::leftovers() ], [], 'no namespace of the test left (ip netns list)');
my (undef, $links) = (0, `ip -o link show`);
unlike($links, qr/pgdr-$$|br0|\bv\d+@/, 'no link of the test in the namespace the test runs in');
unlike(`ip -o addr show`, qr/198\.1[89]\./, 'and no 198.18.0.0/15 address there');

done_testing();
