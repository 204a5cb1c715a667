# The HTTP layer (src/storage/http/) against a real HTTP server on
# 127.0.0.1, through the fault-injecting proxy (t/lib/FaultProxy.pm), with
# the test program build/test/http_probe: each fault is retried or fails
# clearly, nothing half-sent is completed by a different body, no secret
# reaches a message; TLS verification against the suite's own CA (openssl
# s_server) accepts the right CA and host name and says clearly what is
# wrong otherwise.  The upstream is HTTP::Daemon (libhttp-daemon-perl), a
# PUT/GET/HEAD/DELETE store of files with Range reads and a request id.
use strict;
use warnings;

use Digest::SHA qw(sha256_hex);
use File::Path qw(make_path);
use IO::Socket::INET;
use POSIX ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

use lib 't/lib';
use FaultProxy;

my $probe = ($ENV{TESTDIR} // '.') . '/build/test/http_probe';
plan skip_all => "$probe not built (make test-tools)" unless -x $probe;
eval { require HTTP::Daemon; 1 }
  or plan skip_all => 'HTTP::Daemon not installed (libhttp-daemon-perl, scripts/deps.sh)';

my $tmp = PostgreSQL::Test::Utils::tempdir();
my @stop;	# what to stop at the end, newest first (also when a test dies)
END { $_->() for reverse splice(@stop); }

# The upstream: a file store over HTTP::Daemon, one child per connection,
# in a process group of its own (stopped with it).
sub upstream_start
{
	my ($root) = @_;
	make_path($root);
	my $d = HTTP::Daemon->new(LocalAddr => '127.0.0.1', LocalPort => 0, ReuseAddr => 1)
	  or die "HTTP::Daemon: $!";
	my $port = $d->sockport;
	my $pid = fork() // die "fork: $!";
	if ($pid == 0)
	{
		POSIX::setpgid(0, 0);
		$SIG{CHLD} = 'IGNORE';
		while (1)
		{
			my $c = $d->accept or next;
			my $child = fork();
			if (defined $child && $child == 0)
			{
				upstream_connection($c, $root);
				POSIX::_exit(0);
			}
			close($c);
		}
	}
	close($d);
	return ($pid, $port);
}

sub upstream_connection
{
	my ($c, $root) = @_;
	my $n = 0;
	while (my $req = $c->get_request)
	{
		$n++;
		my $rid = "up-$$-$n";
		(my $name = $req->uri->path) =~ s{/}{_}g;
		my $file = "$root/$name";
		my $m = $req->method;
		my $resp;
		if ($m eq 'PUT')
		{
			open(my $fh, '>:raw', "$file.tmp") or die;
			print $fh $req->content;
			close($fh);
			rename("$file.tmp", $file);
			$resp = HTTP::Response->new(200, 'OK');
			$resp->header(ETag => '"' . sha256_hex($req->content) . '"');
		}
		elsif (($m eq 'GET' || $m eq 'HEAD') && -f $file)
		{
			open(my $fh, '<:raw', $file) or die;
			local $/;
			my $data = <$fh> // '';
			close($fh);
			$resp = HTTP::Response->new(200, 'OK');
			if (($req->header('Range') // '') =~ /^bytes=(\d+)-(\d+)$/)
			{
				$data = substr($data, $1, $2 - $1 + 1);
				$resp = HTTP::Response->new(206, 'Partial Content');
			}
			$resp->header('Content-Length' => length($data));
			$resp->content($data) if $m eq 'GET';
		}
		elsif ($m eq 'DELETE')
		{
			unlink($file);
			$resp = HTTP::Response->new(204, 'No Content');
		}
		else
		{
			my $body = '<?xml version="1.0"?><Error><Code>NoSuchKey</Code></Error>';
			$resp = HTTP::Response->new(404, 'Not Found');
			$resp->header('Content-Length' => $m eq 'HEAD' ? 0 : length($body));
			$resp->content($body) if $m ne 'HEAD';
		}
		$resp->header('x-amz-request-id' => $rid);
		$c->send_response($resp);
	}
	return;
}

# Run the probe: (exit status, stdout, stderr, seconds).
sub probe
{
	my @args = @_;
	my ($out, $err) = ('', '');
	my $t0 = time;
	IPC::Run::run([ $probe, @args ], '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err, time - $t0);
}

# The sha256 of the probe's body pattern of n bytes.
sub pattern_sha
{
	my ($n) = @_;
	return sha256_hex(join('', map { chr(($_ * 31 + 7) % 251) } 0 .. $n - 1));
}

sub stored_sha
{
	my ($root, $path) = @_;
	(my $name = $path) =~ s{/}{_}g;
	open(my $fh, '<:raw', "$root/$name") or return '';
	local $/;
	my $data = <$fh> // '';
	close($fh);
	return sha256_hex($data);
}

my $root = "$tmp/store";
my ($upid, $uport) = upstream_start($root);
push @stop, sub { kill('TERM', -$upid); waitpid($upid, 0); };
my $proxy = FaultProxy->start(upstream => "127.0.0.1:$uport", dir => "$tmp/proxy");
push @stop, sub { $proxy->stop };
my $base = 'http://127.0.0.1:' . $proxy->port;
my @fast = ('--base-delay', '20', '--max-delay', '200');
my ($rc, $out, $err, $secs);

# plain PUT and GET through the proxy, keep-alive
my $mib = 1024 * 1024;
($rc, $out, $err) = probe(@fast, '--body-size', $mib, 'PUT', "$base/bucket/plain");
like($out, qr/status=200 attempts=1 /, 'PUT through the proxy: 200 at the first attempt');
is(stored_sha($root, '/bucket/plain'), pattern_sha($mib), 'the object stored is the body sent');
($rc, $out, $err) = probe(@fast, '--repeat', 3, 'GET', "$base/bucket/plain");
my @gets = $out =~ /status=200 attempts=1 bytes=$mib sha256=(\w+) request_id=up-/g;
is(scalar(@gets), 3, 'three GETs read the whole object, with the server\'s request id');
is($gets[0], pattern_sha($mib), 'the object read is the object stored');
my @conns = map { (split ' ')[1] } grep { / GET / } $proxy->log;
ok(@conns == 3 && $conns[0] eq $conns[1] && $conns[1] eq $conns[2],
	'the three GETs of one client share one kept-alive connection');
($rc, $out, $err) = probe(@fast, '--header', 'Range: bytes=10-19', 'GET', "$base/bucket/plain");
like($out, qr/status=206 attempts=1 bytes=10 /, 'a ranged read gets its 10 bytes');
($rc, $out, $err) = probe(@fast, 'GET', "$base/bucket/missing");
like($out, qr/status=404 attempts=1 .* error_code=NoSuchKey/,
	'a 404 is final: given to the caller at once, with the service error code');
($rc, $out, $err) = probe(@fast, 'HEAD', "$base/bucket/plain");
like($out, qr/status=200 attempts=1 bytes=0 /, 'HEAD');

# 503 SlowDown then 200: retried, and said so
$proxy->rules('PUT /bucket/* action=status status=503 code=SlowDown');
($rc, $out, $err) = probe(@fast, '--body-size', 1000, 'PUT', "$base/bucket/slow");
like($out, qr/status=200 attempts=2 /, '503 SlowDown, then 200: retried and succeeds');
like($err, qr/notice: retrying probe PUT ".*\/bucket\/slow" in \d+ ms \(attempt 2 of 5\): HTTP 503 \(SlowDown\), request id proxy-\d+/,
	'the retry is told with status, code and request id');
is(stored_sha($root, '/bucket/slow'), pattern_sha(1000), 'the object is whole');
like(join("\n", $proxy->log), qr/PUT \/bucket\/slow status 503 SlowDown\n.*PUT \/bucket\/slow forward/,
	'proxy log: the 503, then the forwarded PUT');

# the 2nd PUT to /bucket/archive/* gets 503
$proxy->rules('PUT /bucket/archive/* nth=2 action=status status=503');
($rc, $out, $err) = probe(@fast, '--body-size', 100, 'PUT', "$base/bucket/archive/a");
like($out, qr/status=200 attempts=1 /, 'first PUT to archive/: not touched');
($rc, $out, $err) = probe(@fast, '--body-size', 100, 'PUT', "$base/bucket/archive/b");
like($out, qr/status=200 attempts=2 /, 'second PUT to archive/: 503, retried');
($rc, $out, $err) = probe(@fast, '--body-size', 100, 'PUT', "$base/bucket/other");
like($out, qr/status=200 attempts=1 /, 'a PUT elsewhere is not counted');

# 429 with Retry-After: 1 is waited for
$proxy->rules('GET /bucket/* action=status status=429 retry_after=1');
($rc, $out, $err, $secs) = probe(@fast, 'GET', "$base/bucket/plain");
like($out, qr/status=200 attempts=2 /, '429 then 200');
cmp_ok($secs, '>=', 0.95, 'Retry-After: 1 was waited for');

# retries used up: a clear failure with status, code and request id
$proxy->rules('PUT /bucket/* count=all action=status status=500');
($rc, $out, $err) = probe(@fast, '--attempts', 3, '--body-size', 100, 'PUT', "$base/bucket/never");
is($rc, 1, 'retries used up: the probe fails');
like($err, qr/error: io: probe PUT ".*\/bucket\/never" failed after 3 attempts: HTTP 500 \(InternalError\), request id proxy-\d+/,
	'the failure names the attempts, the status, the code and the request id');
ok(!-e "$root/_bucket_never", 'nothing was stored');

# clock skew: said as such, never retried
$proxy->rules('GET /bucket/* count=all action=status status=403 code=RequestTimeTooSkewed');
($rc, $out, $err) = probe(@fast, 'GET', "$base/bucket/plain");
like($err, qr/error: config: probe refused GET ".*" because this host's clock is [-+]\d+ seconds off the server's \(RequestTimeTooSkewed, request id proxy-\d+\)/,
	'RequestTimeTooSkewed: reported as clock skew, with the offset from the server\'s Date');
like($err, qr/hint: Synchronize this host's clock/, 'with what to do');
unlike($err, qr/retrying/, 'and not retried');

# a reset mid-body: retried when the body can start again
$proxy->rules('PUT /bucket/* action=reset after=300000');
($rc, $out, $err) = probe(@fast, '--body-size', $mib, '--body-mode', 'stream', 'PUT', "$base/bucket/reset");
like($out, qr/status=200 attempts=2 .* rewinds=1 /, 'reset mid-body, streamed body rewound, retried');
is(stored_sha($root, '/bucket/reset'), pattern_sha($mib), 'the object stored is whole');
like(join("\n", $proxy->log), qr/PUT \/bucket\/reset reset after=300000/, 'proxy log: the reset');

$proxy->rules('PUT /bucket/* action=reset after=300000');
($rc, $out, $err) = probe(@fast, '--body-size', $mib, '--body-mode', 'chunked', 'PUT', "$base/bucket/chunked");
like($out, qr/status=200 attempts=2 .* rewinds=1 /, 'reset mid-body of a chunked upload: retried');
is(stored_sha($root, '/bucket/chunked'), pattern_sha($mib), 'the chunked object stored is whole');

$proxy->rules('PUT /bucket/* action=reset after=300000');
($rc, $out, $err) = probe(@fast, '--body-size', $mib, '--body-mode', 'stream-norewind', 'PUT', "$base/bucket/norewind");
is($rc, 1, 'reset mid-body of a source that cannot rewind: fails');
like($err, qr/cannot be retried: its body was streamed from a source that cannot start again/,
	'and says why it was not retried');
ok(!-e "$root/_bucket_norewind", 'nothing was stored');

$proxy->rules('PUT /bucket/* action=reset');
($rc, $out, $err) = probe(@fast, '--body-size', 1000, 'PUT', "$base/bucket/reset0");
like($out, qr/status=200 attempts=2 /, 'reset before the body (memory body): retried');

# an answer cut mid-body: retried when the sink can start again
$proxy->rules('GET /bucket/* action=cut');
($rc, $out, $err) = probe(@fast, '--sink', 'GET', "$base/bucket/plain");
like($out, qr/status=200 attempts=2 bytes=$mib sha256=(\w+) .* resets=1/, 'answer cut mid-body: sink reset, retried');
my ($sha) = $out =~ /\bsha256=(\w+)/;
is($sha, pattern_sha($mib), 'the body delivered is the object, once');
$proxy->rules('GET /bucket/* action=cut');
($rc, $out, $err) = probe(@fast, '--sink-norewind', 'GET', "$base/bucket/plain");
is($rc, 1, 'answer cut mid-body with a sink that cannot reset: fails');
like($err, qr/cannot be retried/, 'and says so');
$proxy->rules('GET /bucket/* action=cut');
($rc, $out, $err) = probe(@fast, 'GET', "$base/bucket/plain");
like($out, qr/status=200 attempts=2 bytes=$mib /, 'answer to memory cut mid-body: retried');

# a stall: the low-speed timeout, before and in the middle of the answer
$proxy->rules('GET /bucket/* action=stall seconds=8');
($rc, $out, $err, $secs) = probe(@fast, '--attempts', 1, '--low-speed-time', 1, 'GET', "$base/bucket/plain");
is($rc, 1, 'a stalled server fails the request');
like($err, qr/failed: timeout: .*too slow/i, 'as a timeout');
cmp_ok($secs, '<', 6, "well before the stall ends ($secs s)");
# (libcurl's speed is an average over the last 5 seconds: a stall after
# data flowed is seen up to 5 s later than the low-speed time)
$proxy->rules('GET /bucket/* action=stall at=response bytes=1000 seconds=12');
($rc, $out, $err, $secs) = probe(@fast, '--low-speed-time', 1, 'GET', "$base/bucket/plain");
like($out, qr/status=200 attempts=2 bytes=$mib /, 'a stall mid-answer times out, the retry succeeds');
cmp_ok($secs, '<', 10, "before the stall ends ($secs s)");

# cancel while waiting on the network
$proxy->rules('GET /bucket/* action=stall seconds=20');
($rc, $out, $err, $secs) = probe(@fast, '--cancel-after', 500, 'GET', "$base/bucket/plain");
is($rc, 1, 'cancelled during a stall');
like($err, qr/error: canceled: /, 'as DR_ERR_CANCELED');
cmp_ok($secs, '<', 3, "promptly ($secs s)");

# no secret in any message
$proxy->rules('* /bucket/* count=all action=status status=503');
($rc, $out, $err) = probe(@fast, '--attempts', 2,
	'--header', 'Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, Signature=SECRETsignature',
	'--header', 'x-amz-security-token: SECRETtoken',
	'GET', "$base/bucket/sas?sv=2021-08-06&sp=r&sig=SECRETsig&X-Amz-Credential=SECRETcred");
is($rc, 1, 'a request with secrets fails after its retries');
unlike("$out$err", qr/SECRET/, 'no secret in any message of the layer');
like($err, qr/sv=2021-08-06&sp=r&sig=REDACTED&X-Amz-Credential=REDACTED/, 'the URL is shown redacted');

# a fixed delay per request (the benches' added round trip)
$proxy->rules('delay 100');
($rc, $out, $err, $secs) = probe(@fast, '--repeat', 5, 'HEAD', "$base/bucket/plain");
is(scalar(() = $out =~ /status=200/g), 5, 'five requests with a delay');
cmp_ok($secs, '>=', 0.5, "each delayed by 100 ms ($secs s)");
$proxy->rules();

# a client sending "Expect: 100-continue" (not this layer: it never
# does) gets its 100 from the proxy, or the injected error at once
sub raw_put
{
	my ($path) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $proxy->port)
	  or die "connect: $!";
	syswrite($s, "PUT $path HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
	my $head = sub {
		my $got = '';
		while ($got !~ /\r\n\r\n/)
		{
			sysread($s, $got, 4096, length $got) or last;
		}
		return $got;
	};
	my $got = $head->();
	if ($got =~ /^HTTP\/1\.1 100/)
	{
		syswrite($s, 'hello');
		$got = $head->();
	}
	close($s);
	return $got;
}
like(raw_put('/bucket/expect'), qr/^HTTP\/1\.1 200/, 'Expect: 100-continue: 100 from the proxy, then the PUT');
is(stored_sha($root, '/bucket/expect'), sha256_hex('hello'), 'the body went through');
$proxy->rules('PUT /bucket/* action=status status=503 code=SlowDown');
like(raw_put('/bucket/expect2'), qr/^HTTP\/1\.1 503 .*Connection: close/s,
	'Expect: 100-continue and an injected error: the error at once, connection closed');
$proxy->rules();

# nobody listening: connection refused, retried, then a clear failure
my $closed = PostgreSQL::Test::Cluster::get_free_port();
($rc, $out, $err) = probe(@fast, '--attempts', 2, 'GET', "http://127.0.0.1:$closed/x");
like($err, qr/failed after 2 attempts: connection refused or unreachable/, 'connection refused: retried, then failed');

# TLS: the suite's own CA, a server certificate for "localhost"
SKIP:
{
	my $tls = "$tmp/tls";
	make_path("$tls/www");
	my @ec = ('-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes');
	my $ok = 1;
	for my $cmd (
		[ 'openssl', 'req', '-x509', @ec, '-keyout', "$tls/ca.key", '-out', "$tls/ca.pem", '-subj', '/CN=pg_dr test CA', '-days', '2' ],
		[ 'openssl', 'req', '-x509', @ec, '-keyout', "$tls/other.key", '-out', "$tls/other.pem", '-subj', '/CN=another CA', '-days', '2' ],
		[ 'openssl', 'req', @ec, '-keyout', "$tls/srv.key", '-out', "$tls/srv.csr", '-subj', '/CN=localhost' ])
	{
		$ok &&= IPC::Run::run($cmd, '>', \my $o, '2>', \my $e);
	}
	PostgreSQL::Test::Utils::append_to_file("$tls/ext", "subjectAltName=DNS:localhost\n");
	$ok &&= IPC::Run::run(
		[ 'openssl', 'x509', '-req', '-in', "$tls/srv.csr", '-CA', "$tls/ca.pem", '-CAkey', "$tls/ca.key",
			'-CAcreateserial', '-out', "$tls/srv.pem", '-days', '2', '-extfile', "$tls/ext" ],
		'>', \my $o2, '2>', \my $e2);
	skip 'openssl could not make the certificates', 6 unless $ok;
	PostgreSQL::Test::Utils::append_to_file("$tls/www/hello", "hello over TLS\n");

	my $tport = PostgreSQL::Test::Cluster::get_free_port();
	my $srv = IPC::Run::start(
		[ 'openssl', 's_server', '-accept', "127.0.0.1:$tport", '-cert', "$tls/srv.pem",
			'-key', "$tls/srv.key", '-WWW', '-quiet' ],
		'<', \my $in, '>', \my $so, '2>', \my $se,
		init => sub { chdir("$tls/www") or die });
	push @stop, sub { $srv->kill_kill; };
	my $up = 0;
	for (1 .. 100)
	{
		if (IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $tport))
		{
			$up = 1;
			last;
		}
		Time::HiRes::sleep(0.1);
	}
	skip 'openssl s_server did not start', 6 unless $up;

	($rc, $out, $err) = probe(@fast, '--ca-file', "$tls/ca.pem", 'GET', "https://localhost:$tport/hello");
	like($out, qr/status=200 attempts=1 bytes=15 /, 'TLS with the suite\'s CA and the right host name');
	($rc, $out, $err) = probe(@fast, '--ca-file', "$tls/other.pem", 'GET', "https://localhost:$tport/hello");
	like($err, qr/error: config: probe: the TLS certificate of "localhost" was not accepted \(not signed by a trusted CA\)/,
		'a wrong CA is refused, and said so');
	like($err, qr/hint: Give the repository the CA that signed/, 'with what to do');
	($rc, $out, $err) = probe(@fast, '--ca-file', "$tls/ca.pem", 'GET', "https://127.0.0.1:$tport/hello");
	like($err, qr/error: config: probe: the TLS certificate of "127.0.0.1" was not accepted \(it is not issued for this host name\)/,
		'a wrong host name is refused, and said so');
	unlike($err, qr/retrying/, 'a certificate that does not verify is not retried');
	($rc, $out, $err) = probe(@fast, '--ca-file', "$tls/nonexistent.pem", 'GET', "https://localhost:$tport/hello");
	like($err, qr/error: config: probe: TLS could not be set up with CA file ".*nonexistent.pem"/,
		'a CA file that cannot be read is a configuration error');
}

$_->() for reverse splice(@stop);
done_testing();
