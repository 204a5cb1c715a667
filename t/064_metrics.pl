# 064_metrics.pl
#	dr_metrics(): the Prometheus text exposition of pg_dr.  The text is
#	checked line by line against the format (HELP and TYPE once per
#	family and before its samples, metric and label names, escaped label
#	values, numbers, no series twice); the values follow what happens:
#	objectives of the tier, health signals, the backups in the catalog and
#	the newest valid one of each kind, archiving per repository and what
#	waits.  dr_monitor may call it, PUBLIC may not; no secret is in it.

use strict;
use warnings;

use lib 't/lib';
use DrTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $env = DrTest::repo_setup($tmp);
my $node = DrTest::node_new('metrics', $env->{conf});
$node->append_conf('postgresql.conf', qq{
archive_mode = on
archive_library = 'pg_dr'
});
$node->restart;
DrTest::wait_worker($node);

# Parse an exposition; returns { series => { 'name{labels}' => value },
# types => { family => type } } or dies naming the bad line.
sub parse
{
	my ($text) = @_;
	my (%types, %help, %series, %sampled);
	my $name_re = qr/[a-zA-Z_:][a-zA-Z0-9_:]*/;
	my $n = 0;
	die "no final newline\n" unless $text =~ /\n\z/;
	for my $line (split /\n/, $text)
	{
		$n++;
		if ($line =~ /^# HELP ($name_re) (.+)$/)
		{
			die "line $n: HELP of $1 twice\n" if $help{$1}++;
			die "line $n: HELP of $1 after its samples\n" if $sampled{$1};
		}
		elsif ($line =~ /^# TYPE ($name_re) (counter|gauge|histogram|summary|untyped)$/)
		{
			die "line $n: TYPE of $1 twice\n" if exists $types{$1};
			die "line $n: TYPE of $1 after its samples\n" if $sampled{$1};
			$types{$1} = $2;
		}
		elsif ($line =~ /^($name_re)(\{(.*)\})? (\S+)$/)
		{
			my ($name, $labels, $value) = ($1, $3 // '', $4);
			die "line $n: sample of $name without TYPE\n" unless exists $types{$name};
			die "line $n: value $value is not a number\n"
			  unless $value =~ /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$|^[-+]?Inf$|^NaN$/;
			my $rest = $labels;
			while ($rest ne '')
			{
				$rest =~ s/^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)",?//
				  or die "line $n: bad labels {$labels}\n";
			}
			my $key = "$name\{$labels\}";
			die "line $n: series $key twice\n" if exists $series{$key};
			$series{$key} = $value;
			$sampled{$name} = 1;
		}
		else
		{
			die "line $n: not a line of the format: $line\n";
		}
	}
	return { series => \%series, types => \%types };
}

sub metrics
{
	my $text = $node->safe_psql('postgres', 'SELECT dr_metrics()');
	# safe_psql strips the last newline
	my $m = eval { parse("$text\n") };
	die "dr_metrics() is not a valid exposition: $@" . $text unless $m;
	return $m;
}

# the parser itself fails on what it must refuse
for my $bad ("# TYPE x gauge\nx 1\nx 2\n", "x 1\n", "# TYPE x gauge\nx{a=\"b} 1\n",
	"# TYPE x gauge\nx one\n", "# TYPE x gauge\nx 1")
{
	ok(!eval { parse($bad); 1 }, 'the checker refuses: ' . ($bad =~ s/\n/\\n/gr));
}

my $m = metrics();
is($m->{series}{'pg_dr_info{version="' . $node->safe_psql('postgres', 'SELECT version FROM dr_status') . '"}'},
	1, 'pg_dr_info names the version');
is($m->{series}{'pg_dr_objective_rpo_seconds{tier="critical"}'}, 1800,
	'the RPO of the critical tier (30 min)');
is($m->{series}{'pg_dr_objective_rto_seconds{tier="critical"}'}, 7200,
	'the RTO of the critical tier (2 h)');
is($m->{series}{'pg_dr_config_ok{}'}, 1, 'config ok');
is($m->{series}{'pg_dr_repository_ok{}'}, 1, 'repository ok');
is($m->{series}{'pg_dr_worker_running{}'}, 1, 'worker running');
is($m->{types}{pg_dr_archive_failures_total}, 'counter', 'failures are a counter');
ok(!grep(/^pg_dr_backup_last_success_timestamp_seconds/, keys %{ $m->{series} }),
	'no backup yet: no last-backup sample');

# a backup and some archiving
my $before = time();
$node->safe_psql('postgres', "SELECT dr_backup_full('metrics \"quoted\" label')");
$node->safe_psql('postgres', 'CREATE TABLE t AS SELECT g FROM generate_series(1, 10000) g');
$node->safe_psql('postgres', 'SELECT dr_backup_incremental()');
$node->safe_psql('postgres', 'SELECT pg_switch_wal()');
$node->poll_query_until('postgres', 'SELECT pending_segments = 0 AND last_archived_at IS NOT NULL FROM dr_archive_status')
  or die 'archiving did not catch up';
$m = metrics();
is($m->{series}{'pg_dr_backups{kind="full",status="valid"}'}, 1, 'one valid full backup');
is($m->{series}{'pg_dr_backups{kind="incremental",status="valid"}'}, 1, 'one valid incremental');
for my $kind ('full', 'incremental')
{
	my $at = $m->{series}{"pg_dr_backup_last_success_timestamp_seconds{kind=\"$kind\"}"};
	ok(defined $at && $at >= $before - 1 && $at <= time() + 1, "the $kind backup's end is now");
	cmp_ok($m->{series}{"pg_dr_backup_last_stored_bytes{kind=\"$kind\"}"}, '>', 0,
		"the $kind backup's stored bytes");
	cmp_ok($m->{series}{"pg_dr_backup_last_duration_seconds{kind=\"$kind\"}"}, '>=', 0,
		"the $kind backup's duration");
}
is($m->{series}{'pg_dr_backup_last_data_bytes{kind="full"}'},
	$node->safe_psql('postgres', "SELECT data_bytes FROM dr_backups WHERE kind = 'full'"),
	'the full backup\'s data bytes are dr_backups\'');
my $archived = $m->{series}{'pg_dr_archive_last_success_timestamp_seconds{repo="1"}'};
ok(defined $archived && $archived >= $before - 1, 'archiving into repo 1 succeeded just now');
is($m->{series}{'pg_dr_archive_failures_total{repo="1"}'}, 0, 'no archive failure');
is($m->{series}{'pg_dr_archive_pending_segments{}'}, 0, 'nothing waits');

# the jobs: the two manual backups
is($m->{series}{'pg_dr_jobs_total{trigger="manual",kind="full",result="ok"}'}, 1,
	'pg_dr_jobs_total: one manual full done');
is($m->{series}{'pg_dr_jobs_total{trigger="manual",kind="incremental",result="ok"}'}, 1,
	'... and one manual incremental');
is($m->{series}{'pg_dr_jobs_running{}'}, 0, 'no job running');
is($m->{types}{pg_dr_jobs_total}, 'counter', 'jobs are a counter');

# the objectives measured, as dr_status shows them
{
	my ($verdict, $rto, $rpo) = split /\|/, $node->safe_psql('postgres',
		'SELECT verdict, pg_catalog.date_part(\'epoch\', rto_estimate), pg_catalog.date_part(\'epoch\', rpo_actual) FROM dr_status');
	is(join(',', map { "$_=" . $m->{series}{"pg_dr_verdict{verdict=\"$_\"}"} } qw(ok at_risk breached)),
		join(',', map { "$_=" . ($_ eq $verdict ? 1 : 0) } qw(ok at_risk breached)),
		"pg_dr_verdict: 1 for dr_status's verdict ($verdict), 0 for the others");
	my $est = $m->{series}{'pg_dr_rto_estimate_seconds{}'};
	ok(defined $est && $est > 0 && abs($est - $rto) < 1 + $rto / 10,
		"pg_dr_rto_estimate_seconds ($est) is dr_status's rto_estimate ($rto)");
	ok(defined $m->{series}{'pg_dr_rpo_actual_seconds{}'} && $m->{series}{'pg_dr_rpo_actual_seconds{}'} >= 0,
		'pg_dr_rpo_actual_seconds is there') if $rpo ne '';
	is($m->{series}{'pg_dr_rate_measured{kind="restore"}'}, 0, 'no restore measured yet: the default rate');
	is($m->{series}{'pg_dr_rate_bytes_per_second{kind="restore"}'}, 50 * 1024 * 1024,
		'... 50 MiB/s, the model\'s default');
	cmp_ok($m->{series}{'pg_dr_wal_since_backup_bytes{}'}, '>', 0, 'WAL since the newest backup');
}

# archiving fails: the counter moves, repository_ok drops
my $walarch = "$env->{repo}/archive/wal";
my @dirs = grep { -d } glob("$walarch $walarch/*");
chmod(0500, @dirs) == @dirs or die "chmod: $!";
$node->safe_psql('postgres', 'INSERT INTO t SELECT g FROM generate_series(1, 1000) g; SELECT pg_switch_wal()');
$node->poll_query_until('postgres', 'SELECT failed_count > 0 FROM dr_archive_status')
  or die 'archiving did not fail';
$m = metrics();
cmp_ok($m->{series}{'pg_dr_archive_failures_total{repo="1"}'}, '>', 0, 'the failures counter moved');
is($m->{series}{'pg_dr_repository_ok{}'}, 0, 'repository_ok is 0 while archiving fails');
cmp_ok($m->{series}{'pg_dr_archive_pending_segments{}'}, '>=', 1, 'a segment waits');
ok(defined $m->{series}{'pg_dr_archive_oldest_pending_timestamp_seconds{}'},
	'and since when');
chmod(0700, @dirs) == @dirs or die "chmod: $!";

# who may call it; no secret in it
$node->safe_psql('postgres', 'CREATE ROLE mon LOGIN IN ROLE dr_monitor; CREATE ROLE nobody LOGIN');
ok($node->safe_psql('postgres', 'SET ROLE mon; SELECT length(dr_metrics()) > 0') eq 't',
	'dr_monitor may call dr_metrics()');
my ($rc, $out, $err) = $node->psql('postgres', 'SET ROLE nobody; SELECT dr_metrics()');
like($err, qr/permission denied for function dr_metrics/, 'PUBLIC may not');
my $key = PostgreSQL::Test::Utils::slurp_file($env->{key});
chomp $key;
unlike($node->safe_psql('postgres', 'SELECT dr_metrics()'), qr/\Q$key\E|\Q$env->{key}\E/,
	'neither the passphrase nor its file is in the metrics');

$node->stop;
done_testing();
