# 083_frozen_primary.pl
#	A frozen primary in synchronous mode (docs/ha.md, "What fencing does"):
#	every process of the primary stopped (SIGSTOP) past the timeout, the
#	others fail over, then SIGCONT.  Clients write to every node all along
#	and record the time each write was acknowledged to them; no write may
#	be acknowledged by the old primary after the new primary's first
#	acknowledged write.  Then the old primary is rejoined (pg_dr rejoin) as
#	a standby and the next round freezes the new primary.
#	PG_DR_FREEZE_ROUNDS rounds (the suite runs 2; the issue's figure is
#	20: PG_DR_FREEZE_ROUNDS=20, about 3 minutes); every write acknowledged
#	in them is on the last primary.  Then one round in asynchronous mode,
#	whose window (writes the old primary acknowledged after the new one's
#	first) is measured and printed: with ha_synchronous turned off, the
#	primary resets the synchronous_standby_names pg_dr wrote, and so does
#	the node promoted in that round (its postgresql.auto.conf names the
#	standbys of when it was primary before, or of the primary it was
#	copied from); nobody resets it by hand.  At the end an
#	administrator's value is left alone.  Three nodes, no etcd.
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

# One round: freeze the primary, wait for the first write acknowledged
# elsewhere, SIGCONT, wait for the old one to fence itself; then rejoin
# it.  Returns (new primary, writes the old one acknowledged after the new
# one's first, the last of them minus that first in ms).
sub freeze_round
{
	my ($label, $primary, $sync) = @_;
	my @standbys = grep { $_ ne $primary } @names;
	ok(wait_synchronous($primary, @standbys), "$label: $primary has @standbys synchronous")
	  if $sync;
	my @pids = pids_of($n{$primary});
	my $log_from = -s $n{$primary}->logfile;
	my $names_before = $n{$primary}->safe_psql('postgres', 'SHOW synchronous_standby_names');
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
	ok(defined $new, "$label: $primary frozen, "
		  . ($new // 'nobody') . ' takes writes after '
		  . (defined $first ? sprintf('%.2f s', $first - $frozen_at) : '-'));
	kill 'CONT', @pids;
	return (undef, 0, 0) unless defined $new;
	$n{$primary}->poll_query_until('postgres',
		"SELECT role = 'fenced' FROM dr_nodes WHERE name = '$primary'")
	  or diag("$label: $primary did not fence itself");
	sleep 1;
	# resumed without its licence, then fenced: its lag watcher writes no
	# synchronous_standby_names (it did, into postgresql.auto.conf, before
	# the commit the write guard then refused)
	is($n{$primary}->safe_psql('postgres', 'SHOW synchronous_standby_names'), $names_before,
		"$label: the old primary ${primary}'s synchronous_standby_names is as before the freeze");
	unlike(substr(DrHa::log_of($n{$primary}), $log_from),
		qr/lag watcher: synchronous_standby_names (set to|reset)/,
		"$label: ... its lag watcher wrote none since");
	my ($late, undef) = acks_after($primary, $first);
	my @late = grep { $_ > $first } map { (split / /)[0] } split /\n/,
	  (-e "$tmp/acks.$primary" ? slurp_file("$tmp/acks.$primary") : '');
	my $window = @late ? int(($late[-1] - $first) * 1000) : 0;

	# the old primary rejoins as a standby of the new one
	$n{$primary}->stop('fast');
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'pg_dr', 'rejoin', '--config', "$tmp/$primary.conf",
			'--pgdata', $n{$primary}->data_dir, '--source', DrHa::conninfo($n{$new}) ],
		'>', \$out, '2>', \$err)
	  or BAIL_OUT("$label: pg_dr rejoin of $primary failed: $out $err");
	$n{$primary}->start;
	DrHa::wait_settled($c);
	return ($new, $late, $window);
}

DrHa::wait_settled($c);
my $primary = 'n1';
my $late_total = 0;
for my $round (1 .. $rounds)
{
	my ($new, $late) = freeze_round("round $round", $primary, 1);
	last unless defined $new;
	is($late, 0, "round $round: no write acknowledged by the old primary $primary after "
		  . "$new\'s first");
	$late_total += $late;
	$primary = $new;
}
diag("frozen primary, synchronous mode: $rounds rounds, $late_total writes acknowledged by an old primary after the new one's first");

# every write acknowledged in synchronous mode is on the primary now
my $sync_end = time();
my @ids = map { (split / /)[1] } grep { (split / /)[0] < $sync_end }
  map { split /\n/, slurp_file("$tmp/acks.$_") } grep { -e "$tmp/acks.$_" } @names;
is($n{$primary}->safe_psql('postgres',
		"SELECT count(*) FROM ledger WHERE id = ANY ('{" . join(',', @ids) . "}'::bigint[])"),
	scalar(@ids), "every one of the " . scalar(@ids) . " writes acknowledged in synchronous mode is on the primary");

# asynchronous mode: one round, the window measured and printed.  A
# standby that was never primary has no synchronous_standby_names of its
# own yet; give it the primary's, as a base backup of the primary taken
# now would copy it, so that whichever standby is promoted starts with
# pg_dr's set of this cluster in its postgresql.auto.conf
my $sync_value = $n{$primary}->safe_psql('postgres', 'SHOW synchronous_standby_names');
for my $name (grep { $_ ne $primary } @names)
{
	next if $n{$name}->safe_psql('postgres', 'SHOW synchronous_standby_names') ne '';
	$n{$name}->safe_psql('postgres',
		"ALTER SYSTEM SET synchronous_standby_names = '" . ($sync_value =~ s/'/''/gr)
		  . "'; SELECT pg_reload_conf()");
}
for my $name (@names)
{
	my $conf = slurp_file("$tmp/$name.conf");
	$conf =~ s/^ha_synchronous = on$/ha_synchronous = off/m;
	open(my $fh, '>', "$tmp/$name.conf.new") or die;
	print $fh $conf;
	close($fh) or die;
	rename("$tmp/$name.conf.new", "$tmp/$name.conf") or die;
	$n{$name}->reload;
}
# the primary's lag watcher resets what pg_dr wrote while synchronous
# mode was on; the standbys keep theirs (nothing resets a standby's
# postgresql.auto.conf) until one of them is promoted
ok($n{$primary}->poll_query_until('postgres',
		"SELECT current_setting('synchronous_standby_names') = ''"),
	"synchronous mode off: the primary $primary resets synchronous_standby_names")
  or diag($n{$primary}->safe_psql('postgres', 'SHOW synchronous_standby_names'));
like(DrHa::log_of($n{$primary}),
	qr/synchronous_standby_names reset \(was 'ANY 1 \("[^']*"\)'\): synchronous mode is off/,
	'... saying so in the log');
my %stale = map { $_ => $n{$_}->safe_psql('postgres', 'SHOW synchronous_standby_names') }
  grep { $_ ne $primary } @names;
diag("the standbys' synchronous_standby_names before the asynchronous round: "
	  . join(', ', map { "$_ '$stale{$_}'" } sort keys %stale));
my ($new, $late, $window) = freeze_round('asynchronous', $primary, 0);
diag("frozen primary, asynchronous mode: the old primary acknowledged $late writes after the "
	  . "new one's first (window $window ms)");
ok(defined $new, 'asynchronous mode: the window is measured');
$primary = $new // $primary;
ok($n{$primary}->poll_query_until('postgres',
		"SELECT current_setting('synchronous_standby_names') = ''"),
	"the new primary $primary had '$stale{$primary}': its lag watcher resets it");
like(DrHa::log_of($n{$primary}),
	qr/synchronous_standby_names reset \(was 'ANY 1 \([^']*\)'\)/,
	"... saying so in $primary\'s log");

open(my $stop, '>', "$tmp/stop") or die;
close($stop);
# a writer whose last commit waits (for a standby, on a fenced node) is not
# waited for
sleep 1;
kill 'KILL', @writers;
waitpid($_, 0) for @writers;
@writers = ();

# an administrator's value, synchronous mode off: left alone, said once
$n{$primary}->safe_psql('postgres',
	"ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 (n9)'; SELECT pg_reload_conf()");
my $said = 0;
for (1 .. 50)
{
	$said = 1, last if DrHa::log_of($n{$primary})
	  =~ /synchronous_standby_names = 'FIRST 1 \(n9\)' was not written by pg_dr .*: left alone/;
	sleep 0.1;
}
ok($said, "an administrator's synchronous_standby_names on $primary: the log says it is left alone");
sleep 1;
is($n{$primary}->safe_psql('postgres', 'SHOW synchronous_standby_names'), 'FIRST 1 (n9)',
	'... and it is still in effect');
$n{$primary}->safe_psql('postgres',
	'ALTER SYSTEM RESET synchronous_standby_names; SELECT pg_reload_conf()');

$n{$_}->stop('immediate') for @names;
done_testing();
