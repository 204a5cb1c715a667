# 083_frozen_primary.pl
#	A frozen primary in synchronous mode (docs/ha.md, "What fencing does"):
#	every process of the primary stopped (SIGSTOP) past the timeout, the
#	others fail over, then SIGCONT.  Clients write to every node all along
#	and record the time each write was acknowledged to them; no write may
#	be acknowledged by the old primary after the new primary's first
#	acknowledged write.  Then the old primary is rejoined (pg_dr rejoin) as
#	a standby and the next round freezes the new primary.
#	PG_DR_FREEZE_ROUNDS rounds (the suite runs 2; the issue's figure is
#	20: PG_DR_FREEZE_ROUNDS=20, about 6 minutes).  Three nodes, no etcd.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use DrHa;
use IPC::Run;
use POSIX ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $rounds = $ENV{PG_DR_FREEZE_ROUNDS} // 2;
my $tmp = PostgreSQL::Test::Utils::tempdir();
my $c = DrHa::cluster_new($tmp, conf => "ha_synchronous = on\nha_watch_interval = 200\n");
my %n = %{ $c->{nodes} };
my @names = qw(n1 n2 n3);

sub wait_synchronous
{
	my ($p, @standbys) = @_;
	my $cond = join(' AND ',
		map { "current_setting('synchronous_standby_names') ~ '\\m$_\\M'" } @standbys);
	return $n{$p}->poll_query_until('postgres', "SELECT $cond");
}

sub pids_of
{
	my ($node) = @_;
	my ($pm) = split /\n/, slurp_file($node->data_dir . '/postmaster.pid');
	return ($pm, grep { /^\d+$/ } split /\s+/, `pgrep -P $pm`);
}

# the writers never outlive the test, whatever ends it
my @writers;
END { kill 'KILL', @writers if @writers; }

# One writer per node, all along: a write every 20 ms through a new
# connection (connect timeout 1 s), each acknowledgement logged with the
# client's clock when it arrived: "<time> <id>".
for my $name (@names)
{
	my $pid = fork() // die "fork: $!";
	if ($pid == 0)
	{
		open(my $log, '>>', "$tmp/acks.$name") or die;
		$log->autoflush(1);
		my ($host, $port) = ($n{$name}->host, $n{$name}->port);
		$ENV{PGCONNECT_TIMEOUT} = 1;
		while (!-e "$tmp/stop")
		{
			my $out = `psql -X -At -h $host -p $port -d postgres -U app -c "INSERT INTO ledger (node) VALUES ('$name') RETURNING id" 2>/dev/null`;
			my $at = time();
			print $log sprintf("%.6f %s\n", $at, $1) if $? == 0 && $out =~ /^(\d+)$/m;
			sleep 0.02;
		}
		POSIX::_exit(0);
	}
	push @writers, $pid;
}

# the acknowledgements node's writer got after time t: (count, first time)
sub acks_after
{
	my ($name, $t) = @_;
	my @after = grep { $_ > $t } map { (split / /)[0] } split /\n/,
	  (-e "$tmp/acks.$name" ? slurp_file("$tmp/acks.$name") : '');
	return (scalar(@after), @after ? $after[0] : undef);
}

DrHa::wait_settled($c);
my $primary = 'n1';
my $late_total = 0;
for my $round (1 .. $rounds)
{
	my @standbys = grep { $_ ne $primary } @names;
	ok(wait_synchronous($primary, @standbys), "round $round: $primary has @standbys synchronous");
	my @pids = pids_of($n{$primary});
	my $frozen_at = time();
	kill 'STOP', @pids;

	# the new primary's first acknowledged write
	my ($new, $first);
	while (!defined $new && time() < $frozen_at + 60)
	{
		for my $s (@standbys)
		{
			my (undef, $t) = acks_after($s, $frozen_at);
			($new, $first) = ($s, $t) if defined $t && (!defined $first || $t < $first);
		}
		sleep 0.05 unless defined $new;
	}
	ok(defined $new, "round $round: $primary frozen, "
		  . ($new // 'nobody') . ' takes writes after '
		  . (defined $first ? sprintf('%.2f s', $first - $frozen_at) : '-'));
	last unless defined $new;
	kill 'CONT', @pids;
	$n{$primary}->poll_query_until('postgres',
		"SELECT role = 'fenced' FROM dr_nodes WHERE name = '$primary'")
	  or diag("round $round: $primary did not fence itself");
	sleep 1;
	my ($late) = acks_after($primary, $first);
	is($late, 0, "round $round: no write acknowledged by the old primary $primary after "
		  . "$new\'s first");
	$late_total += $late;

	# the old primary rejoins as a standby of the new one
	$n{$primary}->stop('fast');
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'pg_dr', 'rejoin', '--config', "$tmp/$primary.conf",
			'--pgdata', $n{$primary}->data_dir, '--source', DrHa::conninfo($n{$new}) ],
		'>', \$out, '2>', \$err)
	  or BAIL_OUT("round $round: pg_dr rejoin of $primary failed: $out $err");
	$n{$primary}->start;
	DrHa::wait_settled($c);
	$primary = $new;
}
diag("frozen primary, synchronous mode: $rounds rounds, $late_total writes acknowledged by an old primary after the new one's first");

open(my $stop, '>', "$tmp/stop") or die;
close($stop);
waitpid($_, 0) for @writers;
my $total = 0;
$total += scalar(split /\n/, slurp_file("$tmp/acks.$_")) for grep { -e "$tmp/acks.$_" } @names;
my @ids = map { (split / /)[1] } map { split /\n/, slurp_file("$tmp/acks.$_") }
  grep { -e "$tmp/acks.$_" } @names;
is($n{$primary}->safe_psql('postgres',
		"SELECT count(*) FROM ledger WHERE id = ANY ('{" . join(',', @ids) . "}'::bigint[])"),
	scalar(@ids), "every one of the $total acknowledged writes is on the last primary");

$n{$_}->stop('immediate') for @names;
done_testing();
