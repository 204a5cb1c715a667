# DrHa.pm -- a three-node HA cluster on loopback for the failover tests
# (t/067_failover_etcd.pl, t/068_failover_quorum.pl).
#
#   my $etcd = DrHa::etcd_start($tmp);          # optional: {ep, pid, ...}
#   my $c = DrHa::cluster_new($tmp, etcd => $etcd->{ep});
#   # more: failover => 'off', max_lag => '64kB', node_conf => "x = y\n",
#   # conf => "ha_x = y\n" (more lines for the pg_dr configuration file)
#   # $c->{nodes}{n1} primary, n2 and n3 streaming standbys, all with
#   # ha_failover = on and registered; DrHa::wait_settled($c) waits until
#   # every node observes every other.
#   my ($ms, $winner) = DrHa::kill_and_failover($c, 'n1');
#
# Timings: ha_check_interval 500 ms, ha_retry_timeout 1000 ms,
# ha_lease_ttl 3000 ms (the Patroni rule holds: 500 + 2 x 1000 <= 3000).
package DrHa;

use strict;
use warnings;

use POSIX ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

our $CHECK_MS = 500;
our $RETRY_MS = 1000;
our $TTL_MS = 3000;

# Where etcd will run (free loopback ports, its data directory), not
# started: {bin, cport, pport, dir, ep}; undef when it is not installed.
sub etcd_plan
{
	my ($tmp) = @_;
	my $etcd = $ENV{ETCD} // (grep { -x } map { "$_/etcd" } split /:/, "$ENV{PATH}:/usr/bin")[0];
	return undef unless defined $etcd && -x $etcd;
	my $e = {
		bin => $etcd,
		cport => PostgreSQL::Test::Cluster::get_free_port(),
		pport => PostgreSQL::Test::Cluster::get_free_port(),
		dir => "$tmp/etcd" };
	$e->{ep} = "http://127.0.0.1:$e->{cport}";
	return $e;
}

# Debian's etcd on free loopback ports, in a process group of its own.
# $old (from etcd_plan or an earlier start): the same ports and data
# directory (a new member while that directory does not exist yet).
sub etcd_start
{
	my ($tmp, $old) = @_;
	my $e = $old // etcd_plan($tmp);
	return undef unless $e;
	my $pid = fork() // die "fork: $!";
	if ($pid == 0)
	{
		POSIX::setpgid(0, 0);
		open(STDOUT, '>>', "$tmp/etcd.log") or die;
		open(STDERR, '>&', \*STDOUT) or die;
		exec($e->{bin}, '--name', 'e1', '--data-dir', $e->{dir},
			'--listen-client-urls', $e->{ep}, '--advertise-client-urls', $e->{ep},
			'--listen-peer-urls', "http://127.0.0.1:$e->{pport}",
			'--initial-advertise-peer-urls', "http://127.0.0.1:$e->{pport}",
			'--initial-cluster', "e1=http://127.0.0.1:$e->{pport}",
			'--initial-cluster-state', -d $e->{dir} ? 'existing' : 'new')
		  or die "exec: $!";
	}
	$e->{pid} = $pid;
	# up when its health endpoint answers
	for (1 .. 300)
	{
		my $out = `curl -s -m 1 $e->{ep}/health 2>/dev/null`;
		return $e if defined $out && $out =~ /"health":\s*"true"/;
		sleep 0.1;
	}
	die 'etcd did not start: ' . slurp_file("$tmp/etcd.log");
}

sub etcd_stop
{
	my ($e) = @_;
	return unless $e && $e->{pid};
	kill('TERM', -$e->{pid});
	waitpid($e->{pid}, 0);
	$e->{pid} = undef;
}

sub _conf
{
	my ($tmp, $name, %opts) = @_;
	my $path = "$tmp/$name.conf";
	open(my $fh, '>', $path) or die "$path: $!";
	print $fh "ha_cluster_name = 'c1'\n", "ha_node_name = '$name'\n",
	  "ha_failover = " . ($opts{failover} // 'on') . "\n", "ha_check_interval = $CHECK_MS\n",
	  "ha_retry_timeout = $RETRY_MS\n", "ha_lease_ttl = $TTL_MS\n";
	print $fh "ha_etcd_endpoints = '$opts{etcd}'\n" if $opts{etcd};
	print $fh "ha_max_failover_lag = $opts{max_lag}\n" if $opts{max_lag};
	print $fh $opts{conf} if $opts{conf};
	close($fh) or die;
	return $path;
}

sub _node_conf
{
	my ($conf, %opts) = @_;
	return ($opts{node_conf} // '') . "shared_preload_libraries = 'pg_dr'\n"
	  . "pg_dr.config_file = '$conf'\n"
	  . "pg_dr.database = 'postgres'\n"
	  . "max_worker_processes = 16\n"
	  . "wal_keep_size = '256MB'\n"
	  . "wal_receiver_status_interval = '1s'\n";
}

sub conninfo
{
	my ($node) = @_;
	return 'host=' . $node->host . ' port=' . $node->port . ' dbname=postgres user=postgres';
}

# Three nodes: n1 primary, n2 and n3 its streaming standbys.
sub cluster_new
{
	my ($tmp, %opts) = @_;
	my %c = (tmp => $tmp, etcd => $opts{etcd});
	my @names = qw(n1 n2 n3);
	my $p = PostgreSQL::Test::Cluster->new('n1');
	$p->init(allows_streaming => 1);
	$p->append_conf('postgresql.conf', _node_conf(_conf($tmp, 'n1', %opts), %opts));
	$p->start;
	$p->safe_psql('postgres', 'CREATE EXTENSION pg_dr');
	$c{nodes}{n1} = $p;
	for my $name (qw(n2 n3))
	{
		$c{nodes}{$name} = PostgreSQL::Test::Cluster->new($name);
	}
	$p->safe_psql('postgres',
		'CREATE TABLE ledger (id bigserial PRIMARY KEY, node text, at timestamptz DEFAULT clock_timestamp());'
		  . ' CREATE ROLE app LOGIN; GRANT INSERT, SELECT ON ledger TO app;'
		  . ' GRANT USAGE ON SEQUENCE ledger_id_seq TO app');
	# Registered last: without etcd, a primary that has registered nodes
	# it does not see lacks a majority and fences itself until they
	# answer (docs/ha.md); the standbys start right after (so they are
	# registered without the check that they answer).
	$p->safe_psql('postgres', join('; ',
			map { "SELECT dr_node_register('$_', '" . conninfo($c{nodes}{$_}) . "', verify => "
				  . ($_ eq 'n1' ? 'true' : 'false') . ')' } @names));
	$p->backup('b');
	for my $name (qw(n2 n3))
	{
		# a Cluster object made before the backup: init it from it
		my $s = $c{nodes}{$name};
		$s->init_from_backup($p, 'b', has_streaming => 1);
		$s->append_conf('postgresql.conf', _node_conf(_conf($tmp, $name, %opts), %opts));
		$s->start;
	}
	return \%c;
}

# Every live node observes every other live node reachable.
sub wait_settled
{
	my ($c, @live) = @_;
	@live = sort keys %{ $c->{nodes} } unless @live;
	my $want = scalar(@live);
	my $in = join(',', map { "'$_'" } @live);
	for my $name (@live)
	{
		$c->{nodes}{$name}->poll_query_until('postgres',
			"SELECT count(*) = $want FROM dr_nodes WHERE name IN ($in) AND health IN ('ok')")
		  or die "node $name did not observe the others: "
		  . $c->{nodes}{$name}->safe_psql('postgres', 'SELECT name, role, health, reason FROM dr_nodes');
	}
}

# pg_is_in_recovery() of a live node: 't', 'f', or undef (no answer)
sub in_recovery
{
	my ($node) = @_;
	my ($rc, $out, $err) = $node->psql('postgres', 'SELECT pg_is_in_recovery()',
		extra_params => [ '-v', 'ON_ERROR_STOP=1' ], timeout => 5);
	return $rc == 0 ? $out : undef;
}

# Try one write on node (as user); true when committed.
sub try_write
{
	my ($node, $tag, $user) = @_;
	my ($rc, $out, $err) = $node->psql('postgres',
		"INSERT INTO ledger (node) VALUES ('$tag') RETURNING id",
		extra_params => [ '-v', 'ON_ERROR_STOP=1', ($user ? ('-U', $user) : ()) ],
		timeout => 5);
	return $rc == 0 && $out =~ /^\d+$/ ? $out : undef;
}

# kill -9 the postmaster of the primary; poll the others with writes until
# one commits.  Returns (milliseconds from the kill to the first committed
# write, the name of the node that took it).
sub kill_and_failover
{
	my ($c, $victim, @others) = @_;
	my $t0 = time();
	$c->{nodes}{$victim}->kill9;
	my $limit = $t0 + 60;
	while (time() < $limit)
	{
		for my $name (@others)
		{
			my $id = try_write($c->{nodes}{$name}, "first on $name");
			return (int((time() - $t0) * 1000), $name, $id) if defined $id;
		}
		sleep 0.05;
	}
	return (undef, undef, undef);
}

# The follower streams from the new primary: a row written there arrives.
sub wait_follows
{
	my ($c, $follower, $primary, $id) = @_;
	my $node = $c->{nodes}{$follower};
	return $node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM ledger WHERE id = $id");
}

# The ha worker's log lines of a node, since the test began.
sub log_of
{
	my ($node) = @_;
	return slurp_file($node->logfile);
}

1;
