# StsServer.pm -- an AWS STS endpoint for the TAP scenarios, answering
# AssumeRoleWithWebIdentity as AWS documents it (Debian has no STS server
# to install): a small HTTPS server on 127.0.0.1 (node's https module,
# node being there for s3rver), on a free port, with a certificate for
# "localhost" signed by the suite's CA (S3Server's).
#
#   my $sts = StsServer->start($tmp, tlsdir => $s3->{tlsdir},
#       role_arn => 'arn:aws:iam::123456789012:role/pgdr',
#       token => 'token-1', key => 'S3RVER', secret => 'S3RVER',
#       expiry => 3600);
#   $sts->endpoint;                  # "localhost:PORT"
#   $sts->set(token => 'token-2', expiry => 4);   # from the next call on
#   my @calls = $sts->calls;         # one hash per call, in order
#   $sts->stop;                      # also at the end of the test
#
# A call is a POST of an application/x-www-form-urlencoded body (or a GET
# with the same fields in the query).  It checks, in this order, with
# the error AWS answers for each (an ErrorResponse document, its
# RequestId, HTTP 400 unless said): Action = AssumeRoleWithWebIdentity
# (InvalidAction), Version = 2011-06-15 (InvalidParameterValue), RoleArn,
# RoleSessionName and WebIdentityToken present (MissingParameter),
# RoleSessionName of 2 to 64 characters of [\w+=,.@-]
# (ValidationError), RoleArn the configured one (403 AccessDenied),
# WebIdentityToken the one to accept (InvalidIdentityToken), unless the
# test set expired => 1 (ExpiredTokenException).  A call that passes gets
# an AssumeRoleWithWebIdentityResponse with the configured key and
# secret, a SessionToken of its own ("sts-session-N") and an Expiration
# expiry seconds from now.
#
# Each call is logged as one JSON line: n, session (RoleSessionName),
# token ("accepted", "rejected" or "none": the token itself is never
# written), result (the error code or "ok"), expiration.
package StsServer;

use strict;
use warnings;

use File::Path qw(make_path);
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Utils;
use Time::HiRes qw(usleep);

my @started;    # every server started, for the END block

my $JS = <<'EOF';
'use strict';
const https = require('https');
const fs = require('fs');
const [dir, key, cert] = process.argv.slice(1);
let n = 0;
const xmlEscape = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;')
  .replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
// the answer is sent once the call is logged (a test reads the log as
// soon as it has the answer)
let pending = null;
function answer(res, status, body) {
  pending = () => res.writeHead(status, { 'Content-Type': 'text/xml', 'Content-Length': Buffer.byteLength(body),
    'x-amzn-RequestId': 'sts-req-' + n }).end(body);
}
function fail(res, status, code, message) {
  answer(res, status, '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n'
    + '  <Error>\n    <Type>Sender</Type>\n    <Code>' + code + '</Code>\n'
    + '    <Message>' + xmlEscape(message) + '</Message>\n  </Error>\n'
    + '  <RequestId>sts-req-' + n + '</RequestId>\n</ErrorResponse>\n');
  return code;
}
function handle(req, res, body) {
  const conf = JSON.parse(fs.readFileSync(dir + '/conf.json', 'utf8'));
  const url = new URL(req.url, 'https://localhost');
  const f = new URLSearchParams(req.method === 'POST' ? body : url.search);
  const log = { n: ++n, method: req.method, session: f.get('RoleSessionName'),
    token: f.get('WebIdentityToken') === null ? 'none'
      : f.get('WebIdentityToken') === conf.token ? 'accepted' : 'rejected',
    result: 'ok', expiration: null };
  const missing = ['RoleArn', 'RoleSessionName', 'WebIdentityToken'].filter((k) => !f.get(k));
  if (f.get('Action') !== 'AssumeRoleWithWebIdentity')
    log.result = fail(res, 400, 'InvalidAction', 'Could not find operation ' + f.get('Action') + ' for version ' + f.get('Version'));
  else if (f.get('Version') !== '2011-06-15')
    log.result = fail(res, 400, 'InvalidParameterValue', 'Version is not 2011-06-15');
  else if (missing.length)
    log.result = fail(res, 400, 'MissingParameter', 'The request must contain the parameter ' + missing[0]);
  else if (!/^[\w+=,.@-]{2,64}$/.test(f.get('RoleSessionName')))
    log.result = fail(res, 400, 'ValidationError', "1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint");
  else if (f.get('RoleArn') !== conf.role_arn)
    log.result = fail(res, 403, 'AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity');
  else if (f.get('WebIdentityToken') !== conf.token)
    log.result = fail(res, 400, 'InvalidIdentityToken', 'Incorrect token audience');
  else if (conf.expired)
    log.result = fail(res, 400, 'ExpiredTokenException', 'Token expired: current date/time is after the token expiration');
  else {
    log.expiration = iso(Date.now() + conf.expiry * 1000);
    const session = f.get('RoleSessionName');
    answer(res, 200, '<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n'
      + '  <AssumeRoleWithWebIdentityResult>\n'
      + '    <SubjectFromWebIdentityToken>system:serviceaccount:db:pgdr</SubjectFromWebIdentityToken>\n'
      + '    <Audience>sts.amazonaws.com</Audience>\n'
      + '    <AssumedRoleUser>\n'
      + '      <Arn>' + xmlEscape(conf.role_arn.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/') + '/' + session) + '</Arn>\n'
      + '      <AssumedRoleId>AROATEST:' + xmlEscape(session) + '</AssumedRoleId>\n'
      + '    </AssumedRoleUser>\n'
      + '    <Credentials>\n'
      + '      <SessionToken>sts-session-' + n + '</SessionToken>\n'
      + '      <SecretAccessKey>' + xmlEscape(conf.secret) + '</SecretAccessKey>\n'
      + '      <Expiration>' + log.expiration + '</Expiration>\n'
      + '      <AccessKeyId>' + xmlEscape(conf.key) + '</AccessKeyId>\n'
      + '    </Credentials>\n'
      + '    <Provider>arn:aws:iam::123456789012:oidc-provider/oidc.test</Provider>\n'
      + '  </AssumeRoleWithWebIdentityResult>\n'
      + '  <ResponseMetadata>\n    <RequestId>sts-req-' + n + '</RequestId>\n  </ResponseMetadata>\n'
      + '</AssumeRoleWithWebIdentityResponse>\n');
  }
  fs.appendFileSync(dir + '/calls.log', JSON.stringify(log) + '\n');
  pending();
}
const server = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) },
  (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      try { handle(req, res, body); }
      catch (e) { console.error(String(e)); res.writeHead(500); res.end(); }
    });
  });
server.listen(0, '127.0.0.1', () => { console.log('STS listening on port ' + server.address().port); });
EOF

sub available
{
	return system('node --version >/dev/null 2>&1') == 0;
}

sub start
{
	my ($class, $tmp, %opts) = @_;
	my $self = bless {
		dir => "$tmp/sts",
		conf => {
			role_arn => $opts{role_arn},
			token => $opts{token},
			key => $opts{key} // 'S3RVER',
			secret => $opts{secret} // 'S3RVER',
			expiry => $opts{expiry} // 3600,
			expired => 0,
		},
	}, $class;
	make_path($self->{dir});
	$self->_conf_write;
	PostgreSQL::Test::Utils::append_to_file("$self->{dir}/calls.log", '');
	$self->{log} = "$self->{dir}/server.log";
	$self->{handle} = IPC::Run::start(
		[ 'node', '-e', $JS, $self->{dir}, "$opts{tlsdir}/srv.key", "$opts{tlsdir}/srv.pem" ],
		'>', $self->{log}, '2>&1');
	$self->{pid} = $self->{handle}{KIDS}[0]{PID};
	push @started, $self;
	for (1 .. 300)
	{
		my $log = -f $self->{log} ? slurp_file($self->{log}) : '';
		if ($log =~ /STS listening on port (\d+)/)
		{
			$self->{port} = $1;
			last;
		}
		die "STS server did not start:\n$log" unless $self->{handle}->pumpable;
		usleep(100_000);
	}
	die 'STS server did not say its port' unless $self->{port};
	return $self;
}

sub _conf_write
{
	my ($self) = @_;
	my $path = "$self->{dir}/conf.json";
	open(my $fh, '>', "$path.tmp") or die "StsServer: $path.tmp: $!";
	print $fh JSON::PP->new->canonical->encode($self->{conf});
	close($fh) or die;
	rename("$path.tmp", $path) or die "StsServer: rename: $!";
	return;
}

# Change what the server accepts or answers (token, expiry, expired,
# role_arn, key, secret), from the next call on.
sub set
{
	my ($self, %opts) = @_;
	$self->{conf}{$_} = $opts{$_} for keys %opts;
	$self->_conf_write;
	return;
}

sub port { return $_[0]->{port}; }
sub endpoint { return "localhost:$_[0]->{port}"; }

# The calls so far, oldest first.
sub calls
{
	my ($self) = @_;
	open(my $fh, '<', "$self->{dir}/calls.log") or return ();
	my @calls = map { decode_json($_) } grep { /\S/ } <$fh>;
	close($fh);
	return @calls;
}

sub stop
{
	my ($self) = @_;
	return unless $self->{handle};
	my $pid = $self->{pid};
	eval { $self->{handle}->kill_kill; $self->{handle}->finish; };
	delete $self->{handle};
	# whatever IPC::Run managed, the server process goes
	kill('KILL', $pid) if $pid && $pid > 1 && kill(0, $pid);
	return;
}

sub DESTROY { $_[0]->stop; }

# Stopped before global destruction, where IPC::Run's own state may be
# gone already (a run once left its STS server behind after the suite).
END
{
	local $?;
	$_->stop for grep { defined } @started;
}

1;
