# FaultProxy.pm -- a fault-injecting HTTP/1.1 proxy on 127.0.0.1 for the
# TAP scenarios: it forwards to one upstream server (S3, Azure, a test
# server) and, on a schedule the test sets, answers errors, resets the
# connection, stalls, cuts a body mid-way, or delays every request.
#
#   my $proxy = FaultProxy->start(upstream => "127.0.0.1:$port", dir => $tmp);
#   my $url = "http://127.0.0.1:" . $proxy->port . "/bucket/x";
#   $proxy->rules('PUT /bucket/archive/* nth=2 action=status status=503 code=SlowDown');
#   ... run the client ...
#   my @log = $proxy->log;        # what the proxy did, one line per request
#   $proxy->stop;                 # the proxy and every connection it serves
#
# Rules (one per line; '#' starts a comment), re-read for every request:
#   METHOD PATH-GLOB [nth=N] [count=N|all] action=ACTION [arguments]
#     METHOD is GET, PUT, ... or '*'; PATH-GLOB matches the path without
#     its query, '*' matching any characters ('/' included).
#     Each rule counts the requests matching METHOD and PATH-GLOB since the
#     rules were set; it applies to the nth of them (default 1) and the
#     count-1 after it (default count=1; count=all: every one from the
#     nth).  The first rule that applies wins; no rule: forward.
#   actions:
#     forward                      pass the request on (the default)
#     status status=N [code=C] [retry_after=S]
#                                  answer N with an S3-style XML error
#                                  document whose <Code> is C (default
#                                  InternalError; SlowDown for a 503 S3
#                                  "slow down"), and "Retry-After: S"; the
#                                  request body is read and dropped, the
#                                  connection kept
#     reset [after=B]              reset the connection (RST), after
#                                  reading B bytes of the request body
#                                  (default 0: right after its head): a
#                                  request body cut mid-way
#     cut [bytes=B]                forward, then reset the connection after
#                                  B bytes of the answer's body (default:
#                                  half of its Content-Length)
#     stall seconds=S [at=response] [bytes=B]
#                                  wait S seconds before forwarding; with
#                                  at=response, after the answer's head
#                                  and B bytes of its body (default half;
#                                  answers with a Content-Length), then
#                                  send the rest and close
#     create-only                  be a store that honours "If-None-Match: *":
#                                  a PUT (or the POST completing a multipart
#                                  upload) carrying it, of a path this
#                                  proxy saw created (a 200 to a PUT or a
#                                  Complete, not deleted since with a
#                                  DELETE), is answered 412
#                                  PreconditionFailed; the rest forwarded
#                                  (for an upstream that ignores the header:
#                                  s3rver)
#   delay MS                       a line of its own: every request waits
#                                  MS milliseconds before it is handled
#                                  (added round trip for the benches)
#
# The log (one line per request, in the order they were handled):
#   "<seq> <conn> <METHOD> <path> <action>[ <detail>]"
# where <conn> names the client connection (the same for requests sent on
# one kept-alive connection) and <action> is what was done: forward,
# status 503, reset, cut, stall.
#
# A request with "Expect: 100-continue" gets its "100 Continue" from the
# proxy (the header is not forwarded), or, for an injected error, the error
# at once and the connection closed.
#
# One process accepts; each client connection gets a child process (so a
# stall blocks only its own connection), with its own connection to the
# upstream.  The rule counters live in a state file updated under flock,
# so counting holds across connections.  TLS is not terminated here: put
# stunnel4 or "openssl s_server" in front for TLS tests.
package FaultProxy;

use strict;
use warnings;

use Errno qw(EINTR);
use Fcntl qw(:flock O_WRONLY O_CREAT O_APPEND);
use IO::Socket::INET;
use POSIX ();
use Socket qw(SOL_SOCKET SO_LINGER);
use Time::HiRes ();

# Start the proxy; returns the object (port, log, rules, stop).
sub start
{
	my ($class, %opts) = @_;
	my $dir = $opts{dir} or die "FaultProxy: dir is required";
	my ($uhost, $uport) = split /:/, ($opts{upstream} // die "FaultProxy: upstream is required");
	mkdir $dir unless -d $dir;

	my $listen = IO::Socket::INET->new(
		LocalAddr => '127.0.0.1',
		LocalPort => $opts{port} // 0,
		Listen => 64,
		ReuseAddr => 1,
		Proto => 'tcp') or die "FaultProxy: cannot listen: $!";

	my $self = bless {
		port => $listen->sockport,
		uhost => $uhost,
		uport => $uport,
		dir => $dir,
		rules_file => "$dir/rules",
		state_file => "$dir/state",
		log_file => "$dir/log",
		lock_file => "$dir/lock",
	}, $class;
	$self->_write("$dir/lock", '');
	$self->_write("$dir/log", '');
	$self->rules();

	my $pid = fork() // die "FaultProxy: fork: $!";
	if ($pid == 0)
	{
		# a process group of its own: stop() ends it with every connection
		POSIX::setpgid(0, 0);
		$self->_serve($listen);
		POSIX::_exit(0);
	}
	close($listen);
	$self->{pid} = $pid;
	$self->{owner} = $$;
	return $self;
}

sub port { return $_[0]->{port}; }

# Set the rules (lines as described above); counters start again.
sub rules
{
	my ($self, @lines) = @_;
	open(my $lock, '>>', $self->{lock_file}) or die "FaultProxy: lock: $!";
	flock($lock, LOCK_EX) or die "FaultProxy: flock: $!";
	$self->_write("$self->{rules_file}.tmp", join('', map { "$_\n" } @lines));
	rename("$self->{rules_file}.tmp", $self->{rules_file}) or die "FaultProxy: rename: $!";
	my $seq = 0;
	if (open(my $fh, '<', $self->{state_file}))
	{
		my $first = <$fh>;
		$seq = $1 if defined $first && $first =~ /^seq (\d+)/;
		close($fh);
	}
	$self->_write($self->{state_file}, "seq $seq\n");
	close($lock);
	return;
}

# The log's lines so far.
sub log
{
	my ($self) = @_;
	open(my $fh, '<', $self->{log_file}) or return ();
	my @lines = map { chomp; $_ } <$fh>;
	close($fh);
	return @lines;
}

# Forget the log.
sub log_clear
{
	my ($self) = @_;
	open(my $lock, '>>', $self->{lock_file}) or die "FaultProxy: lock: $!";
	flock($lock, LOCK_EX) or die;
	$self->_write($self->{log_file}, '');
	close($lock);
	return;
}

# Stop the proxy and every connection child (its process group).
sub stop
{
	my ($self) = @_;
	return unless $self->{pid};
	kill('TERM', -$self->{pid});
	waitpid($self->{pid}, 0);
	delete $self->{pid};
	return;
}

sub DESTROY
{
	my ($self) = @_;
	# only the process that started it (not a forked copy of the object)
	$self->stop if $self->{pid} && $self->{owner} == $$;
	return;
}

sub _write
{
	my ($self, $path, $text) = @_;
	open(my $fh, '>', $path) or die "FaultProxy: cannot write \"$path\": $!";
	print $fh $text;
	close($fh) or die "FaultProxy: cannot write \"$path\": $!";
	return;
}

# The accepting process.
sub _serve
{
	my ($self, $listen) = @_;
	$SIG{CHLD} = 'IGNORE';		# connection children reap themselves
	$SIG{TERM} = sub { POSIX::_exit(0) };
	while (1)
	{
		my $client = $listen->accept;
		if (!$client)
		{
			next if $! == EINTR;
			POSIX::_exit(1);
		}
		my $pid = fork();
		if (!defined $pid)
		{
			close($client);
			next;
		}
		if ($pid == 0)
		{
			close($listen);
			$self->_connection($client);
			POSIX::_exit(0);
		}
		close($client);
	}
}

# Buffered reading from a socket: $r = { sock, buf }.
sub _fill
{
	my ($r) = @_;
	my $n = sysread($r->{sock}, my $chunk, 65536);
	return 0 unless $n;
	$r->{buf} .= $chunk;
	return $n;
}

# The head of a message (up to the empty line), or undef at end of input.
sub _read_head
{
	my ($r) = @_;
	while (1)
	{
		my $i = index($r->{buf}, "\r\n\r\n");
		if ($i >= 0)
		{
			my $head = substr($r->{buf}, 0, $i + 4, '');
			return $head;
		}
		return undef unless _fill($r);
	}
}

# Up to $n bytes of what is buffered or readable, removed; '' at the end.
sub _take
{
	my ($r, $n) = @_;
	_fill($r) or return '' if $r->{buf} eq '';
	return substr($r->{buf}, 0, $n, '');
}

# A line ending in CRLF, removed from the buffer; undef at end of input.
sub _take_line
{
	my ($r) = @_;
	while (1)
	{
		my $i = index($r->{buf}, "\r\n");
		return substr($r->{buf}, 0, $i + 2, '') if $i >= 0;
		return undef unless _fill($r);
	}
}

sub _header
{
	my ($head, $name) = @_;
	return $head =~ /^\Q$name\E:[ \t]*([^\r\n]*?)[ \t]*\r?$/mi ? $1 : undef;
}

# Pass a body framed by $head from reader $r to $out (a sub taking bytes),
# stopping after $limit bytes when $limit is defined (returns 0 then).
# Returns 1 when the whole body went, 0 when cut or the input ended.
sub _relay_body
{
	my ($r, $head, $out, $limit, $no_body) = @_;
	return 1 if $no_body;
	my $sent = 0;
	my $emit = sub {
		my ($bytes) = @_;
		if (defined $limit && $sent + length($bytes) >= $limit)
		{
			# what is past the limit goes back, for whoever reads on
			$r->{buf} = substr($bytes, $limit - $sent) . $r->{buf};
			$out->(substr($bytes, 0, $limit - $sent));
			$sent = $limit;
			return 0;
		}
		$out->($bytes);
		$sent += length($bytes);
		return 1;
	};
	my $te = _header($head, 'Transfer-Encoding') // '';
	if ($te =~ /chunked/i)
	{
		while (1)
		{
			my $line = _take_line($r) // return 0;
			$emit->($line) or return 0;
			my ($size) = $line =~ /^([0-9a-fA-F]+)/ or return 0;
			$size = hex($size);
			if ($size == 0)
			{
				# trailers, up to the empty line
				while (1)
				{
					my $t = _take_line($r) // return 0;
					$emit->($t) or return 0;
					return 1 if $t eq "\r\n";
				}
			}
			my $left = $size + 2;	# the data and its CRLF
			while ($left > 0)
			{
				my $bytes = _take($r, $left);
				return 0 if $bytes eq '';
				$left -= length($bytes);
				$emit->($bytes) or return 0;
			}
		}
	}
	my $len = _header($head, 'Content-Length');
	if (defined $len)
	{
		my $left = $len;
		while ($left > 0)
		{
			my $bytes = _take($r, $left);
			return 0 if $bytes eq '';
			$left -= length($bytes);
			$emit->($bytes) or return 0;
		}
		return 1;
	}
	return 1 if $head =~ /^[A-Z]+ /;	# a request without a body
	# an answer delimited by the end of the connection
	while (1)
	{
		my $bytes = _take($r, 65536);
		return 1 if $bytes eq '';
		$emit->($bytes) or return 0;
	}
}

sub _reset
{
	my ($sock) = @_;
	setsockopt($sock, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
	close($sock);
	POSIX::_exit(0);
}

# The paths a create-only rule saw created (one per line, in a file shared
# by the connections, under the lock).
sub _created
{
	my ($self, $path) = @_;
	open(my $fh, '<', "$self->{dir}/created") or return 0;
	while (<$fh>) { chomp; return 1 if $_ eq $path; }
	return 0;
}

sub _created_set
{
	my ($self, $path, $on) = @_;
	open(my $lock, '>>', $self->{lock_file}) or die "FaultProxy: lock: $!";
	flock($lock, LOCK_EX) or die "FaultProxy: flock: $!";
	my @paths;
	if (open(my $fh, '<', "$self->{dir}/created"))
	{
		@paths = grep { $_ ne $path } map { chomp; $_ } <$fh>;
		close($fh);
	}
	push @paths, $path if $on;
	$self->_write("$self->{dir}/created", join('', map { "$_\n" } @paths));
	close($lock);
	return;
}

sub _log_append
{
	my ($self, $line) = @_;
	sysopen(my $log, $self->{log_file}, O_WRONLY | O_CREAT | O_APPEND) or die;
	syswrite($log, $line);
	close($log);
	return;
}

# Match the rules, count, log: the action for this request (a hash).
sub _decide
{
	my ($self, $conn, $method, $path) = @_;
	open(my $lock, '>>', $self->{lock_file}) or die "FaultProxy: lock: $!";
	flock($lock, LOCK_EX) or die "FaultProxy: flock: $!";

	my %counts;
	my $seq = 0;
	if (open(my $fh, '<', $self->{state_file}))
	{
		while (<$fh>)
		{
			$seq = $1 if /^seq (\d+)/;
			$counts{$1} = $2 if /^rule (\d+) (\d+)/;
		}
		close($fh);
	}
	$seq++;

	my %act = (action => 'forward', seq => $seq);
	my $chosen;
	my $i = 0;
	if (open(my $fh, '<', $self->{rules_file}))
	{
		while (my $line = <$fh>)
		{
			$line =~ s/#.*//;
			next unless $line =~ /\S/;
			my @words = split ' ', $line;
			if ($words[0] eq 'delay')
			{
				$act{delay_ms} = $words[1];
				next;
			}
			my $n = $i++;
			my ($m, $glob, @args) = @words;
			my %rule = map { /^([^=]+)=(.*)$/ ? ($1 => $2) : ($_ => 1) } @args;
			my $re = join('.*', map { quotemeta } split(/\*/, $glob, -1));
			next unless ($m eq '*' || $m eq $method) && $path =~ /^$re$/;
			my $k = ++$counts{$n};
			my $nth = $rule{nth} // 1;
			my $count = $rule{count} // 1;
			next if defined $chosen;
			next unless $k >= $nth && ($count eq 'all' || $k < $nth + $count);
			$chosen = \%rule;
		}
		close($fh);
	}
	%act = (%act, %$chosen) if $chosen;

	open(my $st, '>', $self->{state_file}) or die;
	print $st "seq $seq\n", map { "rule $_ $counts{$_}\n" } sort { $a <=> $b } keys %counts;
	close($st);
	my $detail = $act{action};
	$detail = "status $act{status}" . ($act{code} ? " $act{code}" : '') if $act{action} eq 'status';
	$detail .= " after=$act{after}" if defined $act{after};
	$detail .= " seconds=$act{seconds}" if defined $act{seconds};
	$detail .= " delay=$act{delay_ms}" if $act{delay_ms};
	sysopen(my $log, $self->{log_file}, O_WRONLY | O_CREAT | O_APPEND) or die;
	syswrite($log, "$seq c$conn $method $path $detail\n");
	close($log);
	close($lock);
	return \%act;
}

my %REASON = (
	400 => 'Bad Request', 403 => 'Forbidden', 404 => 'Not Found',
	408 => 'Request Timeout', 429 => 'Too Many Requests',
	500 => 'Internal Server Error', 502 => 'Bad Gateway',
	503 => 'Service Unavailable', 504 => 'Gateway Timeout');

# One client connection, request after request.
sub _connection
{
	my ($self, $client) = @_;
	$SIG{TERM} = sub { POSIX::_exit(0) };
	my $conn = $$;
	my $cr = { sock => $client, buf => '' };
	my $upstream;
	my $ur;
	my $to_client = sub { my $b = shift; syswrite($client, $b) if length $b; };

	while (1)
	{
		my $head = _read_head($cr) // last;
		my ($method, $target) = $head =~ /^(\S+) (\S+) HTTP\/1\.[01]\r\n/ or last;
		(my $path = $target) =~ s/\?.*//s;
		my $act = $self->_decide($conn, $method, $path);
		Time::HiRes::sleep($act->{delay_ms} / 1000) if $act->{delay_ms};
		my $a = $act->{action};

		# "Expect: 100-continue" is answered here, not by the upstream: the
		# body is wanted (a 100 sent) unless the answer is an injected error
		my $expect = (_header($head, 'Expect') // '') =~ /100-continue/i;
		$head =~ s/^Expect:[^\r\n]*\r\n//mi if $expect;
		$to_client->("HTTP/1.1 100 Continue\r\n\r\n")
		  if $expect && ($a ne 'status' && ($a ne 'reset' || $act->{after}));

		if ($a eq 'create-only' && ($method eq 'PUT' || $method eq 'POST')
			&& (_header($head, 'If-None-Match') // '') eq '*'
			&& $self->_created($path))
		{
			$a = 'status';
			$act->{status} = 412;
			$act->{code} = 'PreconditionFailed';
			$self->_log_append("$act->{seq} c$conn $method $path status 412 PreconditionFailed\n");
		}
		if ($a eq 'reset')
		{
			_relay_body($cr, $head, sub { }, $act->{after} // 0) if $act->{after};
			_reset($client);
		}
		if ($a eq 'status')
		{
			# the body is dropped; when it was never asked for (Expect), the
			# connection is closed after the answer, as the client may send
			# it anyway
			_relay_body($cr, $head, sub { }) or last unless $expect;
			my $code = $act->{code} // 'InternalError';
			my $status = $act->{status} // 500;
			my $body = qq{<?xml version="1.0" encoding="UTF-8"?>\n}
			  . "<Error><Code>$code</Code><Message>injected by the test proxy</Message>"
			  . "<RequestId>proxy-$act->{seq}</RequestId></Error>";
			my $resp = "HTTP/1.1 $status " . ($REASON{$status} // 'Error') . "\r\n"
			  . "Content-Type: application/xml\r\n"
			  . "Content-Length: " . length($body) . "\r\n"
			  . "x-amz-request-id: proxy-$act->{seq}\r\n"
			  . POSIX::strftime("Date: %a, %d %b %Y %H:%M:%S GMT\r\n", gmtime)
			  . (defined $act->{retry_after} ? "Retry-After: $act->{retry_after}\r\n" : '')
			  . ($expect ? "Connection: close\r\n" : '')
			  . "\r\n" . ($method eq 'HEAD' ? '' : $body);
			$to_client->($resp);
			last if $expect;
			next;
		}
		if ($a eq 'stall' && ($act->{at} // 'request') eq 'request')
		{
			Time::HiRes::sleep($act->{seconds} // 5);
		}

		# forward: the request, then the answer
		if (!$upstream)
		{
			$upstream = IO::Socket::INET->new(
				PeerAddr => $self->{uhost},
				PeerPort => $self->{uport},
				Proto => 'tcp');
			if (!$upstream)
			{
				$to_client->("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
				last;
			}
			$ur = { sock => $upstream, buf => '' };
		}
		syswrite($upstream, $head);
		_relay_body($cr, $head, sub { my $b = shift; syswrite($upstream, $b) if length $b; })
		  or last;
		my $rhead = _read_head($ur);
		if (!defined $rhead)
		{
			$to_client->("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
			last;
		}
		my ($status) = $rhead =~ /^HTTP\/1\.[01] (\d+)/;
		if ($a eq 'create-only')
		{
			$self->_created_set($path, 1)
			  if $status == 200 && (($method eq 'PUT' && $target !~ /\?/)
				|| ($method eq 'POST' && $target =~ /[?&]uploadId=/));
			$self->_created_set($path, 0) if $method eq 'DELETE' && $status =~ /^2/;
		}
		my $no_body = $method eq 'HEAD' || $status == 204 || $status == 304
		  || ($status >= 100 && $status < 200);
		$to_client->($rhead);
		if ($a eq 'cut' || ($a eq 'stall' && ($act->{at} // '') eq 'response'))
		{
			my $len = _header($rhead, 'Content-Length') // 0;
			my $bytes = $act->{bytes} // int($len / 2);
			_relay_body($ur, $rhead, $to_client, $bytes, $no_body);
			_reset($client) if $a eq 'cut';
			# a stall: the rest of the body (Content-Length answers) later
			Time::HiRes::sleep($act->{seconds} // 5);
			_relay_body($ur, "Content-Length: " . ($len - $bytes) . "\r\n", $to_client)
			  if $len > $bytes && !$no_body;
			last;
		}
		_relay_body($ur, $rhead, $to_client, undef, $no_body) or last;
		last if (_header($rhead, 'Connection') // '') =~ /close/i
		  || (_header($head, 'Connection') // '') =~ /close/i;
	}
	close($client);
	close($upstream) if $upstream;
	return;
}

1;
