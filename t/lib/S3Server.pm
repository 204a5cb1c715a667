# S3Server.pm -- an S3 server for the TAP scenarios: s3rver
# (@20minutes/s3rver, installed by scripts/deps.sh into
# $PG_DR_TEST_NPM, default /var/cache/pg_dr-test/npm) on 127.0.0.1, on a
# free port, storing into a temporary directory, with one bucket; behind
# TLS with a CA of the suite's own making unless tls => 0.
#
#   my $s3 = S3Server->start($tmp, bucket => 'pgdr');   # undef: not installed
#   S3Server->start($tmp, args => [ '--allow-mismatched-signatures' ]);
#                           # more s3rver options (bench/storage: pgBackRest)
#   S3Server->start($tmp, keys => { ID => SECRET });
#                           # more access keys it accepts (the account of S3RVER)
#   $s3->endpoint;          # "localhost:PORT" (TLS) or "127.0.0.1:PORT"
#   $s3->conf_lines(1, path => '/main');   # repo1_s3_* lines
#   $s3->stop;              # also at the end of the test (DESTROY)
#   S3Server->start($tmp, port => $s3->port, tls => 0);  # the same store again
#
# It runs under "node --openssl-legacy-provider": without it, its
# ListObjectsV2 continuation tokens fail under OpenSSL 3.  It checks SigV4
# signatures of the access key S3RVER (secret S3RVER); it ignores
# If-None-Match on PUT and the payload hash.
package S3Server;

use strict;
use warnings;

use File::Path qw(make_path);
use IPC::Run;
use PostgreSQL::Test::Utils;
use Time::HiRes qw(usleep);

sub npm_dir { return $ENV{PG_DR_TEST_NPM} // '/var/cache/pg_dr-test/npm'; }

sub cli_js
{
	return npm_dir() . '/node_modules/@20minutes/s3rver/lib/cli.js';
}

# Whether the server can run here (node and the package).
sub available
{
	return -f cli_js() && system('node --version >/dev/null 2>&1') == 0;
}

# The suite's CA and a certificate for "localhost" signed by it.
sub _tls_make
{
	my ($dir) = @_;
	make_path($dir);
	my @ec = ('-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes');
	PostgreSQL::Test::Utils::append_to_file("$dir/ext", "subjectAltName=DNS:localhost\n");
	for my $cmd (
		[ 'openssl', 'req', '-x509', @ec, '-keyout', "$dir/ca.key", '-out', "$dir/ca.pem",
			'-subj', '/CN=pg_dr test CA', '-days', '2' ],
		[ 'openssl', 'req', @ec, '-keyout', "$dir/srv.key", '-out', "$dir/srv.csr",
			'-subj', '/CN=localhost' ],
		[ 'openssl', 'x509', '-req', '-in', "$dir/srv.csr", '-CA', "$dir/ca.pem",
			'-CAkey', "$dir/ca.key", '-CAcreateserial', '-out', "$dir/srv.pem",
			'-days', '2', '-extfile', "$dir/ext" ])
	{
		my ($out, $err) = ('', '');
		IPC::Run::run($cmd, '>', \$out, '2>', \$err)
		  or die "@$cmd failed: $err";
	}
	return $dir;
}

sub start
{
	my ($class, $tmp, %opts) = @_;
	return undef unless available();
	my $self = bless {
		dir => "$tmp/s3rver",
		bucket => $opts{bucket} // 'pgdr',
		tls => $opts{tls} // 1,
		log => "$tmp/s3rver.log",
	}, $class;
	make_path($self->{dir});
	my @args = ('-d', $self->{dir}, '-a', '127.0.0.1', '-p', $opts{port} // '0',
		'--configure-bucket', $self->{bucket});
	if ($self->{tls})
	{
		$self->{tlsdir} = _tls_make("$tmp/s3tls");
		push @args, '--key', "$self->{tlsdir}/srv.key", '--cert', "$self->{tlsdir}/srv.pem";
	}
	push @args, @{ $opts{args} } if $opts{args};
	my $argv = join(',', map { my $a = $_; $a =~ s/(['\\])/\\$1/g; "'$a'" } ('node', 's3rver', @args));
	my $js = '';
	for my $id (sort keys %{ $opts{keys} // {} })
	{
		my $secret = $opts{keys}{$id};
		die "S3Server: access keys and secrets of [A-Za-z0-9+/=_-] only"
		  if "$id$secret" =~ m{[^A-Za-z0-9+/=_-]};
		$js .= "require('" . (cli_js() =~ s{/cli\.js$}{/models/account.js}r)
		  . "').DUMMY_ACCOUNT.createKeyPair('$id', '$secret');";
	}
	$js .= "require('" . cli_js() . "').parseAsync([$argv])"
	  . ".catch((e) => { console.error(String(e)); process.exit(1); })";
	$self->{handle} = IPC::Run::start(
		[ 'node', '--openssl-legacy-provider', '-e', $js ],
		'>', $self->{log}, '2>&1');
	for (1 .. 300)
	{
		my $log = -f $self->{log} ? slurp_file($self->{log}) : '';
		if ($log =~ /S3rver listening on [^:]+:(\d+)/)
		{
			$self->{port} = $1;
			last;
		}
		die "s3rver did not start:\n$log" unless $self->{handle}->pumpable;
		usleep(100_000);
	}
	die "s3rver did not say its port" unless $self->{port};
	return $self;
}

sub port { return $_[0]->{port}; }
sub bucket { return $_[0]->{bucket}; }
sub ca_file { return $_[0]->{tls} ? "$_[0]->{tlsdir}/ca.pem" : undef; }
sub data_dir { return $_[0]->{dir}; }
sub log_text { return -f $_[0]->{log} ? slurp_file($_[0]->{log}) : ''; }

sub endpoint
{
	my ($self) = @_;
	return ($self->{tls} ? 'localhost' : '127.0.0.1') . ":$self->{port}";
}

# The repoN_* lines of a repository in this server's bucket.
sub conf_lines
{
	my ($self, $n, %opts) = @_;
	my $text = "repo${n}_type = s3\n"
	  . "repo${n}_s3_bucket = $self->{bucket}\n"
	  . "repo${n}_s3_endpoint = " . $self->endpoint . "\n"
	  . "repo${n}_s3_uri_style = path\n"
	  . "repo${n}_s3_key = S3RVER\n";
	$text .= $opts{secret_file}
	  ? "repo${n}_s3_key_secret_file = '$opts{secret_file}'\n"
	  : "repo${n}_s3_key_secret = " . ($opts{secret} // 'S3RVER') . "\n";
	$text .= $self->{tls}
	  ? "repo${n}_s3_ca_file = '" . $self->ca_file . "'\n"
	  : "repo${n}_s3_tls = off\n";
	$text .= "repo${n}_path = '$opts{path}'\n" if defined $opts{path};
	$text .= "repo${n}_s3_part_size = $opts{part_size}\n" if $opts{part_size};
	$text .= "repo${n}_s3_list_max = $opts{list_max}\n" if $opts{list_max};
	return $text;
}

sub stop
{
	my ($self) = @_;
	return unless $self->{handle};
	$self->{handle}->kill_kill;
	$self->{handle}->finish;
	delete $self->{handle};
}

sub DESTROY { $_[0]->stop; }

1;
