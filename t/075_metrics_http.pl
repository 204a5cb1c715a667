# 075_metrics_http.pl
#	The metrics endpoint (pg_dr.metrics_listen) and what docs/monitoring
#	ships, against the real tools: the endpoint serves dr_metrics()'s text
#	with the exposition's Content-Type, 404 for another path, 405 for
#	another method, refuses an oversized request, closes an idle
#	connection and bounds their number; `promtool check metrics` accepts
#	the exposition; a Prometheus started here scrapes the endpoint with the
#	shipped rules loaded and its HTTP API returns the RPO series;
#	`promtool check rules` and `promtool test rules` pass on
#	docs/monitoring; postgres_exporter with the shipped queries.yaml
#	exports the dr views.  Bad values: an address that is not one is
#	refused (22023, the previous value kept); a taken port and an address
#	of no interface are logged with what to do, the previous listener
#	keeps serving, and the taken port is taken up once free.  Emptying the
#	setting stops the endpoint's worker; setting it starts one again.

use strict;
use warnings;

use lib 't/lib';
use DrTest;
use HTTP::Tiny;
use File::Spec;
use IO::Select;
use IO::Socket::INET;
use IPC::Run;
use JSON::PP;
use POSIX ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my %tool;
for my $t ('promtool', 'prometheus', 'prometheus-postgres-exporter')
{
	($tool{$t}) = grep { -x } map { "$_/$t" } split(/:/, $ENV{PATH}), '/usr/bin';
	plan skip_all => "$t is not installed (prometheus, prometheus-postgres-exporter: scripts/deps.sh)"
	  unless $tool{$t};
}
my $mondir = File::Spec->rel2abs(($ENV{TESTDIR} // '.') . '/docs/monitoring');

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $env = DrTest::repo_setup($tmp);
my $mport = PostgreSQL::Test::Cluster::get_free_port();
my $node = DrTest::node_new('metrics_http', $env->{conf});
$node->append_conf('postgresql.conf', qq{
archive_mode = on
archive_library = 'pg_dr'
pg_dr.metrics_listen = '127.0.0.1:$mport'
log_error_verbosity = verbose
});
$node->restart;
DrTest::wait_worker($node);

my $http = HTTP::Tiny->new(timeout => 10);

# GET (or another method) of a path on a port; the HTTP::Tiny response
sub req
{
	my ($method, $port, $path) = @_;
	return $http->request($method, "http://127.0.0.1:$port$path");
}

# wait until the endpoint on $port answers (or no longer does: $want = 0)
sub wait_endpoint
{
	my ($port, $want) = @_;
	$want //= 1;
	my $quick = HTTP::Tiny->new(timeout => 2);
	for (1 .. 300)
	{
		my $r = $quick->get("http://127.0.0.1:$port/metrics");
		return 1 if ($r->{status} == 200) == $want;
		select(undef, undef, undef, 0.1);
	}
	return 0;
}

# a process of ours in a group of its own, its output in $log; stopped at
# the end (also when the test dies)
my @children;
sub spawn
{
	my ($log, @cmd) = @_;
	my $pid = fork() // die "fork: $!";
	if ($pid == 0)
	{
		POSIX::setpgid(0, 0);
		open(STDOUT, '>', $log) or die;
		open(STDERR, '>&', \*STDOUT) or die;
		exec(@cmd) or die "exec $cmd[0]: $!";
	}
	push @children, $pid;
	return $pid;
}
END
{
	local $?;
	for my $pid (@children)
	{
		kill('TERM', -$pid);
		waitpid($pid, 0);
	}
}

# run a command; (exit status, stdout + stderr)
sub run_cmd
{
	my ($in, @cmd) = @_;
	my $out = '';
	IPC::Run::run(\@cmd, '<', \$in, '>&', \$out);
	return ($? >> 8, $out);
}

# 1. the endpoint serves dr_metrics()'s text
ok(wait_endpoint($mport), "the endpoint answers on 127.0.0.1:$mport")
  or BAIL_OUT('no endpoint: ' . slurp_file($node->logfile));
my $r = req('GET', $mport, '/metrics');
is($r->{status}, 200, 'GET /metrics: 200');
is($r->{headers}{'content-type'}, 'text/plain; version=0.0.4; charset=utf-8',
	'Content-Type of the exposition format 0.0.4');
my $version = $node->safe_psql('postgres', 'SELECT version FROM dr_status');
like($r->{content}, qr/^pg_dr_info\{version="\Q$version\E"\} 1$/m, 'pg_dr_info names the version');
my $families = sub { join(',', sort($_[0] =~ /^# TYPE (\S+)/mg)) };
is($families->($r->{content}),
	$families->($node->safe_psql('postgres', 'SELECT dr_metrics()')),
	'the same families as dr_metrics()');
like($r->{content}, qr/^pg_dr_objective_rpo_seconds\{tier="critical"\} 1800$/m, 'the RPO series');
my $key = slurp_file($env->{key});
chomp $key;
unlike($r->{content}, qr/\Q$key\E|\Q$env->{key}\E|\Q$env->{repo}\E/,
	'no passphrase, key file or repository path in it');
my $body = $r->{content};

$r = req('HEAD', $mport, '/metrics');
is($r->{status}, 200, 'HEAD /metrics: 200');
is($r->{content} // '', '', '... without a body');

for my $path ('/', '/metrics/', '/metricsx', '/api/v1/query')
{
	is(req('GET', $mport, $path)->{status}, 404, "GET $path: 404");
}
for my $method ('POST', 'PUT', 'DELETE', 'OPTIONS')
{
	$r = req($method, $mport, '/metrics');
	is($r->{status}, 405, "$method /metrics: 405");
	is($r->{headers}{allow}, 'GET, HEAD', '... Allow: GET, HEAD');
}
$r = $http->request('POST', "http://127.0.0.1:$mport/metrics",
	{ content => 'x' x 100000 });
ok($r->{status} == 405 || $r->{status} == 413 || $r->{status} == 599,
	"a POST with a body of 100 kB is refused ($r->{status})");

# an oversized request (headers beyond the 32 KiB per connection)
$r = $http->request('GET', "http://127.0.0.1:$mport/metrics",
	{ headers => { 'X-Big' => 'x' x 40000 } });
ok($r->{status} == 431 || $r->{status} == 413,
	"a request with 40 kB of headers is refused ($r->{status})");
is(req('GET', $mport, '/metrics')->{status}, 200, 'the endpoint serves after it');

# an idle connection does not block the others and is closed after 10 s;
# 16 connections at once at most, and serving resumes once they go
my $idle = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$mport") or die "connect: $!";
is(req('GET', $mport, '/metrics')->{status}, 200, 'served while a connection idles');
my $t0 = time();
my $got = IO::Select->new($idle)->can_read(30) ? sysread($idle, my $buf, 1) : undef;
ok(defined $got && $got == 0 && time() - $t0 <= 20,
	'the idle connection is closed by the server within its timeout (' . (time() - $t0) . ' s)');
close($idle);
my @held = map { IO::Socket::INET->new(PeerAddr => "127.0.0.1:$mport") or die "connect: $!" } 1 .. 16;
sleep 1;
my $over = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$mport", Timeout => 5);
my $refused = !$over;
if ($over)
{
	# accepted by the kernel, then closed by MHD at the limit
	print $over "GET /metrics HTTP/1.0\r\n\r\n";
	$over->flush;
	my $n = IO::Select->new($over)->can_read(3) ? sysread($over, my $answer, 100) : 0;
	$refused = !$n;
}
ok($refused, 'a 17th connection is not served while 16 are open');
close($_) for @held;
ok(wait_endpoint($mport), 'served again once they are closed');

# 2. promtool accepts the exposition
my ($rc, $out) = run_cmd($body, $tool{promtool}, 'check', 'metrics');
is($rc, 0, 'promtool check metrics accepts the exposition') or diag($out);

# 3. the shipped rules: syntax and their unit tests
($rc, $out) = run_cmd('', $tool{promtool}, 'check', 'rules', "$mondir/pg_dr.rules.yml");
is($rc, 0, 'promtool check rules docs/monitoring/pg_dr.rules.yml') or diag($out);
($rc, $out) = run_cmd('', $tool{promtool}, 'test', 'rules',
	"$mondir/tests/pg_dr.rules.test.yml");
is($rc, 0, 'promtool test rules docs/monitoring/tests/pg_dr.rules.test.yml') or diag($out);

# 4. a real Prometheus scrapes the endpoint, the shipped rules loaded
my $pport = PostgreSQL::Test::Cluster::get_free_port();
mkdir("$tmp/prom") or die;
PostgreSQL::Test::Utils::append_to_file("$tmp/prom/prometheus.yml", qq{
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $mondir/pg_dr.rules.yml
scrape_configs:
  - job_name: pg_dr
    static_configs:
      - targets: ['127.0.0.1:$mport']
});
spawn("$tmp/prom/log", $tool{prometheus}, "--config.file=$tmp/prom/prometheus.yml",
	"--storage.tsdb.path=$tmp/prom/data", "--web.listen-address=127.0.0.1:$pport");
sub prom_query
{
	my ($q) = @_;
	my $res = $http->get("http://127.0.0.1:$pport/api/v1/query?query=" . URI_escape($q));
	return undef unless $res->{status} == 200;
	my $j = eval { decode_json($res->{content}) };
	return $j && $j->{status} eq 'success' ? $j->{data}{result} : undef;
}
sub URI_escape { my ($s) = @_; $s =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord($1))/ge; return $s }
my $series;
for (1 .. 600)
{
	$series = prom_query('pg_dr_objective_rpo_seconds');
	last if $series && @$series;
	select(undef, undef, undef, 0.1);
}
ok($series && @$series, 'Prometheus scraped the endpoint')
  or diag(slurp_file("$tmp/prom/log"));
is($series->[0]{metric}{tier}, 'critical', 'the RPO series has its tier');
is($series->[0]{value}[1], '1800', '... and its value');
is(prom_query('up{job="pg_dr"}')->[0]{value}[1], '1', 'the target is up');
my $rules = decode_json($http->get("http://127.0.0.1:$pport/api/v1/rules")->{content});
my ($group) = grep { $_->{name} eq 'pg_dr' } @{ $rules->{data}{groups} };
ok($group && @{ $group->{rules} } >= 10, 'Prometheus loaded the shipped rules ('
	  . ($group ? scalar @{ $group->{rules} } : 0) . ')');
ok(!grep({ ($_->{health} // '') eq 'err' } @{ $group->{rules} }), '... and evaluates them without error')
  or diag(explain($group));

# 5. postgres_exporter with the shipped queries.yaml
$node->safe_psql('postgres', 'CREATE ROLE exporter LOGIN IN ROLE dr_monitor');
$node->safe_psql('postgres', "SELECT dr_backup_full('for the exporter')");
my $eport = PostgreSQL::Test::Cluster::get_free_port();
{
	local $ENV{DATA_SOURCE_NAME} =
	  'host=' . $node->host . ' port=' . $node->port . ' user=exporter dbname=postgres sslmode=disable';
	spawn("$tmp/exporter.log", $tool{'prometheus-postgres-exporter'},
		"--extend.query-path=$mondir/queries.yaml", '--disable-default-metrics',
		'--disable-settings-metrics', "--web.listen-address=127.0.0.1:$eport");
}
my $exported = '';
for (1 .. 300)
{
	$r = $http->get("http://127.0.0.1:$eport/metrics");
	if ($r->{status} == 200 && $r->{content} =~ /^pg_dr_status_repository_ok/m)
	{
		$exported = $r->{content};
		last;
	}
	select(undef, undef, undef, 0.1);
}
like($exported, qr/^pg_dr_status_worker_running\{.*tier="critical".*\} 1$/m,
	'postgres_exporter exports dr_status') or diag(slurp_file("$tmp/exporter.log"));
like($exported, qr/^pg_dr_status_rpo_target_seconds\{.*\} 1800$/m, '... the RPO target');
like($exported, qr/^pg_dr_catalog_backups\{.*kind="full".*status="valid".*\} 1$/m, '... dr_backups');
like($exported, qr/^pg_dr_backup_newest_stored_bytes\{.*kind="full".*\} [1-9]/m,
	'... the newest backup');
like($exported, qr/^pg_dr_archive_failures_total\{.*repo="1".*\} 0$/m, '... dr_archive_status');
like($exported, qr/^pg_dr_repository_required\{.*repo="1".*state="ok".*\} 1$/m,
	'... dr_repositories');
like($exported, qr/^pg_exporter_last_scrape_error 0$/m, 'no query of queries.yaml failed')
  or diag(slurp_file("$tmp/exporter.log"));
unlike($exported, qr/\Q$key\E/, 'no secret');
($rc, $out) = run_cmd($exported, $tool{promtool}, 'check', 'metrics');
is($rc, 0, "promtool accepts what the exporter serves") or diag($out);

# an open alert (archiving fails): in the endpoint and in the exporter
my $walarch = "$env->{repo}/archive/wal";
my @dirs = grep { -d } glob("$walarch $walarch/*");
chmod(0500, @dirs) == @dirs or die "chmod: $!";
$node->safe_psql('postgres', 'CREATE TABLE t AS SELECT 1 AS x; SELECT pg_switch_wal()');
$node->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM dr_alerts WHERE source = 'archive' AND state = 'open'")
  or die 'no archive alert';
like(req('GET', $mport, '/metrics')->{content},
	qr/^pg_dr_alerts_open\{source="archive",severity="warning"\} 1$/m,
	'the endpoint counts the open archive alert');
my $seen = 0;
for (1 .. 100)
{
	$seen = 1, last
	  if $http->get("http://127.0.0.1:$eport/metrics")->{content} =~
	  /^pg_dr_alerts_unresolved\{.*severity="warning".*source="archive".*state="open".*\} 1$/m;
	select(undef, undef, undef, 0.1);
}
ok($seen, 'postgres_exporter exports dr_alerts');
chmod(0700, @dirs) == @dirs or die "chmod: $!";

# 6. bad values
for my $bad ('localhost:9187', '127.0.0.1:0', '127.0.0.1:70000', '::1:9187', '127.0.0.1')
{
	my ($prc, $pout, $perr) = $node->psql('postgres',
		"ALTER SYSTEM SET pg_dr.metrics_listen = '$bad'",
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($perr, qr/ERROR:  22023: invalid value for parameter "pg_dr.metrics_listen": "\Q$bad\E"/,
		"ALTER SYSTEM refuses '$bad' (22023)");
	like($perr, qr/DETAIL:  In "\Q$bad\E", /, '... saying what is wrong');
}
is($node->safe_psql('postgres', 'SHOW pg_dr.metrics_listen'), "127.0.0.1:$mport",
	'the setting is unchanged');

# a bad value in the file: refused on reload, the endpoint stays
my $offset = -s $node->logfile;
$node->append_conf('postgresql.conf', "pg_dr.metrics_listen = 'example.com:80'\n");
$node->reload;
$node->wait_for_log(qr/invalid value for parameter "pg_dr.metrics_listen": "example.com:80"/, $offset);
ok(1, 'a reload with a host name logs the invalid value');
is($node->safe_psql('postgres', 'SHOW pg_dr.metrics_listen'), "127.0.0.1:$mport",
	'... and keeps the previous value');
is(req('GET', $mport, '/metrics')->{status}, 200, '... and the endpoint');

# a taken port: logged with what to do; the old listener serves until
# the new port is free
my $taken = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
	Listen => 5, ReuseAddr => 1) or die "listen: $!";
my $tport = $taken->sockport;
$offset = -s $node->logfile;
$node->append_conf('postgresql.conf', "pg_dr.metrics_listen = '127.0.0.1:$tport'\n");
$node->reload;
$node->wait_for_log(qr/still listens on "127.0.0.1:$mport"/, $offset);
my $log = substr(slurp_file($node->logfile), $offset);
like($log, qr/WARNING:  55006: could not listen on "127.0.0.1:$tport" \(pg_dr.metrics_listen\) for the metrics endpoint: Address already in use/,
	'a taken port is logged with the reason (55006)');
like($log, qr/HINT:  Another program listens on that port: stop it, or set pg_dr.metrics_listen to a free port and reload.  pg_dr tries again in 10 s/,
	'... and what to do');
is(req('GET', $mport, '/metrics')->{status}, 200, 'the previous listener still serves');
close($taken);
ok(wait_endpoint($tport), 'once the port is free, the endpoint moves there');
ok(wait_endpoint($mport, 0), '... and leaves the old one');

# an address of no interface of this host
$offset = -s $node->logfile;
$node->append_conf('postgresql.conf', "pg_dr.metrics_listen = '192.0.2.1:$mport'\n");
$node->reload;
$node->wait_for_log(qr/still listens on "127.0.0.1:$tport"/, $offset);
$log = substr(slurp_file($node->logfile), $offset);
like($log, qr/WARNING:  22023: could not listen on "192.0.2.1:$mport" .*: Cannot assign requested address/,
	'an address of no interface is logged with the reason (22023)');
like($log, qr/HINT:  No interface of this host has that address/, '... and what to do');
is(req('GET', $tport, '/metrics')->{status}, 200, 'the previous listener still serves');

# off, then on again
$node->append_conf('postgresql.conf', "pg_dr.metrics_listen = ''\n");
$node->reload;
ok(wait_endpoint($tport, 0), 'emptying the setting stops the endpoint');
ok($node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'pg_dr metrics'"),
	'... and its worker');
$node->append_conf('postgresql.conf', "pg_dr.metrics_listen = '127.0.0.1:$mport'\n");
$node->reload;
ok(wait_endpoint($mport), 'setting it again starts the endpoint, without a restart');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_dr metrics'"),
	1, 'one worker serves it');

$node->stop;
done_testing();
