# NetNs.pm -- real network partitions for the TAP scenarios: each node in a
# network namespace of its own, made by the test.
#
#   use NetNs;
#   BEGIN { NetNs::isolate() }                # first, before PostgreSQL::Test::*
#   my ($ok, $why) = NetNs::available();      # may this process use ip netns?
#   plan skip_all => "no network namespaces here: $why" unless $ok;
#   my $net  = NetNs->new;                    # a hub namespace with a bridge
#   my $addr = $net->add_node('n1');          # its own namespace, 198.18.0.x
#   $net->run('n1', 'psql', '-h', $addr2, ...);        # run, wait, exit status
#   my ($rc, $out, $err) = $net->capture('n1', @cmd);  # with its output
#   my $h = $net->spawn('n1', 'etcd', ...);   # in the background (IPC::Run)
#   $net->cut('n1');  $net->heal('n1');       # off the network and back
#   $net->cut_pair('n1', 'n2');  $net->heal_pair('n1', 'n2');  # one link only
#   $net->cleanup;                            # everything removed (also in END)
#
# The layout: a hub namespace holds a bridge; each node's namespace is
# joined to it by a veth pair (eth0 in the node, v<i> in the hub, both made
# inside the namespaces: nothing is added to the namespace the test runs
# in). Addresses come from 198.18.0.0/15 (RFC 2544's benchmark range),
# which exists only inside these namespaces. A node is cut off by taking
# its veth down on the hub's side: its packets go nowhere, connections
# stall as in a real partition (no reset), and it sees no one, as no one
# sees it. Heal brings the link up. One link between two nodes is cut by
# a route in each of the two to the other's address through "void", a
# veth of the node whose peer stays down: what goes there is dropped
# without an error, so connections between those two stall the same way
# while both still reach everyone else (a partition need not be
# transitive: A-B cut, A-C and B-C up).
#
# Names carry the test's PID (pgdr-<pid>-hub, pgdr-<pid>-<node>), so that
# concurrent runs never meet and leftovers are recognizable. cleanup kills
# what spawn started and any process still in a node's namespace (by PID,
# from ip netns pids: a process keeps a deleted namespace alive), then
# deletes the namespaces (which deletes their links); it runs from an END
# block and on SIGINT/SIGTERM too, so a test that dies leaves nothing
# behind.
#
# Privileges. ip netns needs CAP_SYS_ADMIN and CAP_NET_ADMIN.
# - Not root (the suite runs as postgres): isolate() re-executes the test
#   inside new user, mount, network and PID namespaces (unshare --user
#   --map-current-user --keep-caps --mount --net --pid --fork
#   --mount-proc --kill-child). The test keeps its uid and gains those
#   capabilities over the namespaces it made, and only there; a private
#   tmpfs is mounted on /run/netns (on /run when there is no /run/netns)
#   in its own mount namespace, where ip netns keeps its files. The host's
#   network and /run/netns are never touched: the namespace the test runs
#   in is a new, empty one (loopback only). Its first process (PID 1 of
#   the new PID namespace) only reaps and waits for the test; when the
#   test ends, however it ends, the kernel kills every process left in
#   the PID namespace and so frees every namespace and mount made in it.
#   Where unprivileged user namespaces are not permitted, isolate() does
#   nothing and available() says why.
# - Root: ip netns on the host as before (isolate() does nothing); the
#   commands run inside a namespace drop to $ENV{NETNS_USER} (default
#   postgres) with runuser, since PostgreSQL refuses to run as root.
package NetNs;

use strict;
use warnings;

use IPC::Run;
use POSIX ();

my @live;						# every NetNs not yet cleaned up, for END

my $hub_net = '198.18.0';		# node i gets 198.18.0.(i + 1)/24

sub _ip
{
	my (@args) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'ip', @args ], '<', \undef, '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

sub _ip_ok
{
	my (@args) = @_;
	my ($rc, $out, $err) = _ip(@args);
	die "ip @args failed: $err" if $rc != 0;
	return $out;
}

my $isolate_error;				# why isolate() could not isolate, if it could not

# Re-execute the test inside new user, mount, network and PID namespaces
# when it does not run as root (see the top). Call it from a BEGIN block
# before anything prints or starts (PostgreSQL::Test::Utils opens its log
# when it starts): the test then starts again from the top, inside, and
# this call returns there. Returns true when the test runs isolated.
sub isolate
{
	return 0 if $> == 0;
	my $inside = $ENV{PGDR_NETNS_ISOLATED} // '';
	if ($inside eq 'init' && $$ == 1)
	{
		_init();				# returns in the test's process only
		return 1;
	}
	return 1 if $inside ne '';	# a process started by an isolated test

	my @unshare = ('unshare', '--user', '--map-current-user', '--keep-caps', '--mount',
		'--net', '--pid', '--fork', '--mount-proc', '--kill-child');
	my ($out, $err) = ('', '');
	my $ran = eval {
		# what _init will do: a tmpfs mount and a link set up
		IPC::Run::run([ @unshare, 'sh', '-c', 'mount -t tmpfs pgdr-netns "$1" && ip link set lo up',
				'sh', _run_dir() ], '<', \undef, '>', \$out, '2>', \$err);
		1;
	};
	if (!$ran || $? != 0)
	{
		$isolate_error = $ran ? "@unshare: " . ($err =~ s/\s+$//r || 'exit ' . ($? >> 8)) : "cannot run unshare: $@";
		return 0;
	}
	$ENV{PGDR_NETNS_ISOLATED} = 'init';
	$ENV{PGDR_NETNS_OUTER} = readlink('/proc/self/ns/net') // '';
	exec(@unshare, $^X, (map { "-I$_" } grep { !ref } @INC), $0, @ARGV)
	  or die "exec unshare: $!";
}

# PID 1 of the test's PID namespace: private /run/netns, loopback up, then
# the test runs in a child while this process reaps every orphan (the
# postmasters pg_ctl leaves behind: a zombie would still answer kill 0 and
# keep a restarted server from taking its own pid file) and exits as the
# test did.
sub _run_dir
{
	return -d '/run/netns' ? '/run/netns' : '/run';
}

sub _init
{
	my $dir = _run_dir();
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'mount', '-t', 'tmpfs', '-o', 'mode=0755', 'pgdr-netns', $dir ],
		'<', \undef, '>', \$out, '2>', \$err)
	  or die "mount a private tmpfs on $dir: $err";
	_ip_ok('link', 'set', 'lo', 'up');
	$ENV{PGDR_NETNS_ISOLATED} = 'test';
	my $pid = fork() // die "fork: $!";
	return if $pid == 0;
	for my $sig ('INT', 'TERM', 'HUP', 'QUIT')
	{
		$SIG{$sig} = sub { kill $sig, $pid };
	}
	while (1)
	{
		my $w = waitpid(-1, 0);
		POSIX::_exit(1) if $w == -1;
		next unless $w == $pid;
		my $st = $?;
		POSIX::_exit(($st & 127) ? 128 + ($st & 127) : $st >> 8);
	}
}

# (1, '') when this process may create network namespaces, else (0, why).
sub available
{
	return (0, "unprivileged user namespaces are not available: $isolate_error")
	  if defined $isolate_error;
	my $probe = "pgdr-$$-probe";
	my ($rc, $out, $err);

	eval { ($rc, $out, $err) = _ip('netns', 'add', $probe); 1 }
	  or return (0, "cannot run ip: $@");
	if ($rc != 0)
	{
		chomp $err;
		return (0, $err ne '' ? $err : "ip netns add exited with $rc");
	}
	_ip('netns', 'del', $probe);
	return (1, '');
}

sub new
{
	my ($class, %opts) = @_;
	my $self = bless {
		prefix => "pgdr-$$",
		nodes => {},			# name => { ns, index, addr }
		count => 0,
		handles => [],
		user => $opts{user} // $ENV{NETNS_USER} // 'postgres',
	}, $class;
	$self->{hub} = "$self->{prefix}-hub";
	push @live, $self;
	_ip_ok('netns', 'add', $self->{hub});
	_ip_ok('-n', $self->{hub}, 'link', 'set', 'lo', 'up');
	_ip_ok('-n', $self->{hub}, 'link', 'add', 'br0', 'type', 'bridge');
	_ip_ok('-n', $self->{hub}, 'link', 'set', 'br0', 'up');
	return $self;
}

# The namespace's name of node $name.
sub ns
{
	my ($self, $name) = @_;
	die "no node $name" unless $self->{nodes}{$name};
	return $self->{nodes}{$name}{ns};
}

# The address of node $name.
sub addr
{
	my ($self, $name) = @_;
	die "no node $name" unless $self->{nodes}{$name};
	return $self->{nodes}{$name}{addr};
}

# A namespace for node $name, on the hub's bridge; returns its address.
sub add_node
{
	my ($self, $name) = @_;
	die "node $name exists" if $self->{nodes}{$name};
	die "node name $name: letters, digits, '-' only" unless $name =~ /^[A-Za-z0-9-]{1,20}$/;
	my $i = ++$self->{count};
	die "at most 250 nodes" if $i > 250;
	my $ns = "$self->{prefix}-$name";
	my $addr = "$hub_net." . ($i + 1);
	_ip_ok('netns', 'add', $ns);
	$self->{nodes}{$name} = { ns => $ns, index => $i, addr => $addr };
	_ip_ok('-n', $ns, 'link', 'set', 'lo', 'up');
	_ip_ok('-n', $self->{hub}, 'link', 'add', "v$i", 'type', 'veth', 'peer', 'name', 'eth0',
		'netns', $ns);
	_ip_ok('-n', $self->{hub}, 'link', 'set', "v$i", 'master', 'br0', 'up');
	_ip_ok('-n', $ns, 'addr', 'add', "$addr/24", 'dev', 'eth0');
	_ip_ok('-n', $ns, 'link', 'set', 'eth0', 'up');
	# the void: a link without carrier (its peer stays down), for cut_pair
	_ip_ok('-n', $ns, 'link', 'add', 'void', 'type', 'veth', 'peer', 'name', 'voidp');
	_ip_ok('-n', $ns, 'link', 'set', 'void', 'up');
	return $addr;
}

# The command line that runs @cmd in node $name's namespace.
sub _wrap
{
	my ($self, $name, @cmd) = @_;
	my @as = $> == 0 ? ('runuser', '-u', $self->{user}, '--') : ();
	return ('ip', 'netns', 'exec', $self->ns($name), @as, @cmd);
}

# Run @cmd in node $name's namespace; its exit status.
sub run
{
	my ($self, $name, @cmd) = @_;
	my ($rc) = $self->capture($name, @cmd);
	return $rc;
}

# Run @cmd in node $name's namespace: (exit status, stdout, stderr).
sub capture
{
	my ($self, $name, @cmd) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ $self->_wrap($name, @cmd) ], '<', \undef, '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

# Start @cmd in node $name's namespace in the background (output to
# $opts{log}, else discarded); the IPC::Run handle. cleanup kills it.
sub spawn
{
	my ($self, $name, $cmd, %opts) = @_;
	my $log = $opts{log} // '/dev/null';
	my $h = IPC::Run::start([ $self->_wrap($name, @$cmd) ], '<', \undef,
		'>>', $log, '2>>', $log);
	push @{ $self->{handles} }, $h;
	return $h;
}

# Cut node $name off the network (its link down on the hub's side).
sub cut
{
	my ($self, $name) = @_;
	_ip_ok('-n', $self->{hub}, 'link', 'set', 'v' . $self->{nodes}{$name}{index}, 'down');
}

# Put node $name back on the network.
sub heal
{
	my ($self, $name) = @_;
	_ip_ok('-n', $self->{hub}, 'link', 'set', 'v' . $self->{nodes}{$name}{index}, 'up');
}

# Cut the link between nodes $x and $y only: each sends what it has for
# the other into its void, where it is dropped (no error, no reset).
sub cut_pair
{
	my ($self, $x, $y) = @_;
	return if $self->{pairs}{ join(' ', sort($x, $y)) }++;
	_ip_ok('-n', $self->ns($x), 'route', 'add', $self->addr($y) . '/32', 'dev', 'void');
	_ip_ok('-n', $self->ns($y), 'route', 'add', $self->addr($x) . '/32', 'dev', 'void');
}

# Put the link between nodes $x and $y back.
sub heal_pair
{
	my ($self, $x, $y) = @_;
	return unless delete $self->{pairs}{ join(' ', sort($x, $y)) };
	_ip_ok('-n', $self->ns($x), 'route', 'del', $self->addr($y) . '/32', 'dev', 'void');
	_ip_ok('-n', $self->ns($y), 'route', 'del', $self->addr($x) . '/32', 'dev', 'void');
}

# Namespaces of this process still present (ip netns list).
sub leftovers
{
	my ($self) = @_;
	my $prefix = ref($self) ? $self->{prefix} : "pgdr-$$";
	my (undef, $out) = _ip('netns', 'list');
	return grep { /^\Q$prefix\E-/ } map { (split ' ', $_)[0] // () } split /\n/, $out;
}

# Kill what was spawned, delete every namespace (and so every link).
sub cleanup
{
	my ($self) = @_;
	return if $self->{cleaned};
	$self->{cleaned} = 1;
	for my $h (@{ $self->{handles} })
	{
		eval { $h->kill_kill(grace => 5); 1 } or warn "could not stop a process: $@";
	}
	for my $node (values %{ $self->{nodes} })
	{
		# a process left in a namespace keeps it alive after its deletion:
		# what runs there was started by this test (pids by namespace)
		for my $signal ('TERM', 'KILL')
		{
			my (undef, $pids) = _ip('netns', 'pids', $node->{ns});
			my @pids = grep { /^\d+$/ } split /\s+/, $pids;
			last unless @pids;
			kill $signal, @pids;
			select(undef, undef, undef, 0.5);
		}
		my ($rc, undef, $err) = _ip('netns', 'del', $node->{ns});
		warn "ip netns del $node->{ns}: $err" if $rc != 0;
	}
	my ($rc, undef, $err) = _ip('netns', 'del', $self->{hub});
	warn "ip netns del $self->{hub}: $err" if $rc != 0;
	@live = grep { $_ != $self } @live;
}

sub _cleanup_all
{
	$_->cleanup for @live;
}

END
{
	my $status = $?;
	_cleanup_all();
	$? = $status;
}

# A test killed by a signal still cleans up (END runs on exit, not on a
# signal's default action).
for my $sig ('INT', 'TERM')
{
	$SIG{$sig} = sub { _cleanup_all(); exit(128 + ($sig eq 'INT' ? 2 : 15)); };
}

1;
