# AzuriteServer.pm -- an Azure Blob Storage server for the TAP scenarios:
# azurite's blob service (npm "azurite", installed by scripts/deps.sh into
# $PG_DR_TEST_NPM, default /var/cache/pg_dr-test/npm) on 127.0.0.1, on a
# free port, in memory (--inMemoryPersistence), without telemetry; behind
# TLS with a CA of the suite's own making (S3Server.pm makes it) unless
# tls => 0.  Its well-known development account devstoreaccount1 and its
# published key; it checks Shared Key and SAS signatures.
#
#   my $az = AzuriteServer->start($tmp, container => 'pgdr');  # undef: not installed
#   $az->endpoint;               # "localhost:PORT" (TLS) or "127.0.0.1:PORT"
#   $az->conf_lines(1, path => '/main');       # repo1_azure_* lines
#   $az->request('PUT', 'other', restype => 'container');  # (status, body)
#   $az->account_sas(sp => 'rwdlac');          # a SAS token of the account
#   $az->stop;                   # also at the end of the test (DESTROY)
#
# Requests of the test itself (creating containers, looking at blobs) are
# signed here with Digest::SHA and sent with curl.
package AzuriteServer;

use strict;
use warnings;

use Digest::SHA qw(hmac_sha256_base64);
use File::Path qw(make_path);
use IPC::Run;
use MIME::Base64 qw(decode_base64);
use POSIX qw(strftime);
use PostgreSQL::Test::Utils;
use S3Server;
use Time::HiRes qw(usleep);

our $ACCOUNT = 'devstoreaccount1';
our $KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
our $VERSION_HEADER = '2021-08-06';

sub npm_dir { return $ENV{PG_DR_TEST_NPM} // '/var/cache/pg_dr-test/npm'; }

sub main_js { return npm_dir() . '/node_modules/azurite/dist/src/blob/main.js'; }

sub available
{
	return -f main_js() && system('node --version >/dev/null 2>&1') == 0
	  && system('curl --version >/dev/null 2>&1') == 0;
}

sub start
{
	my ($class, $tmp, %opts) = @_;
	return undef unless available();
	my $self = bless {
		container => $opts{container} // 'pgdr',
		tls => $opts{tls} // 1,
		log => "$tmp/azurite.log",
		dir => "$tmp/azurite",
	}, $class;
	make_path($self->{dir});
	my @args = ('--blobHost', '127.0.0.1', '--blobPort', '0',
		'--disableTelemetry', '--inMemoryPersistence');
	if ($self->{tls})
	{
		$self->{tlsdir} = S3Server::_tls_make("$tmp/aztls");
		push @args, '--cert', "$self->{tlsdir}/srv.pem", '--key', "$self->{tlsdir}/srv.key";
	}
	# in its own directory: it may write files in the current one
	$self->{handle} = IPC::Run::start([ 'node', main_js(), @args ],
		'>', $self->{log}, '2>&1', init => sub { chdir($self->{dir}) or die $!; });
	for (1 .. 300)
	{
		my $log = -f $self->{log} ? slurp_file($self->{log}) : '';
		if ($log =~ /listens on https?:\/\/[^:]+:(\d+)/)
		{
			$self->{port} = $1;
			last;
		}
		die "azurite did not start:\n$log" unless $self->{handle}->pumpable;
		usleep(100_000);
	}
	die "azurite did not say its port" unless $self->{port};
	my ($status, $body) = $self->request('PUT', $self->{container}, restype => 'container');
	die "could not create container $self->{container}: $status $body" unless $status == 201;
	return $self;
}

sub port { return $_[0]->{port}; }
sub container { return $_[0]->{container}; }
sub ca_file { return $_[0]->{tls} ? "$_[0]->{tlsdir}/ca.pem" : undef; }
sub log_text { return -f $_[0]->{log} ? slurp_file($_[0]->{log}) : ''; }

sub endpoint
{
	my ($self) = @_;
	return ($self->{tls} ? 'localhost' : '127.0.0.1') . ":$self->{port}";
}

sub _uri_escape
{
	my ($s, $keep_slash) = @_;
	my $re = $keep_slash ? qr{([^A-Za-z0-9\-._~/])} : qr{([^A-Za-z0-9\-._~])};
	$s =~ s/$re/sprintf('%%%02X', ord($1))/ge;
	return $s;
}

# A request of the test, signed with the account key: (HTTP status, body).
# $path is "container" or "container/blob" (not encoded); %query raw.
sub request
{
	my ($self, $method, $path, %query) = @_;
	my $date = strftime('%a, %d %b %Y %H:%M:%S GMT', gmtime);
	my $upath = "/$ACCOUNT/" . _uri_escape($path, 1);
	my $sts = "$method\n" . ("\n" x 11)
	  . "x-ms-date:$date\nx-ms-version:$VERSION_HEADER\n"
	  . "/$ACCOUNT$upath";
	$sts .= "\n$_:$query{$_}" for sort keys %query;
	my $sig = hmac_sha256_base64($sts, decode_base64($KEY));
	$sig .= '=' while length($sig) % 4;
	my $url = ($self->{tls} ? 'https' : 'http') . '://' . $self->endpoint . $upath;
	$url .= '?' . join('&', map { "$_=" . _uri_escape($query{$_}, 0) } sort keys %query)
	  if %query;
	my @cmd = ('curl', '-sS', '-X', $method, '-o', '-', '-w', '\n%{http_code}',
		'-H', "x-ms-date: $date", '-H', "x-ms-version: $VERSION_HEADER",
		'-H', "Authorization: SharedKey $ACCOUNT:$sig");
	push @cmd, '--cacert', $self->ca_file if $self->{tls};
	push @cmd, '-I' if $method eq 'HEAD';
	my ($out, $err) = ('', '');
	IPC::Run::run([ @cmd, $url ], '>', \$out, '2>', \$err);
	$out =~ s/\n?(\d{3})$// or die "curl: $err";
	return ($1, $out);
}

# The names of the blobs under prefix (flat), every page.
sub blob_names
{
	my ($self, $prefix) = @_;
	my @names;
	my $marker;
	do
	{
		my ($status, $body) = $self->request('GET', $self->{container},
			restype => 'container', comp => 'list', prefix => $prefix // '',
			defined $marker ? (marker => $marker) : ());
		die "list: $status $body" unless $status == 200;
		push @names, $body =~ m{<Blob><Name>([^<]*)</Name>}g;
		($marker) = $body =~ m{<NextMarker>([^<]+)</NextMarker>};
	} while (defined $marker);
	return @names;
}

# An account SAS token (services b, resource types sco) for the dev account,
# as the portal makes one: the fields of %opts override the defaults.
sub account_sas
{
	my ($self, %opts) = @_;
	my %f = (sv => $VERSION_HEADER, ss => 'b', srt => 'sco', sp => 'rwdlac',
		se => strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(time + 86400)),
		spr => 'https,http', %opts);
	my $sts = join("\n", $ACCOUNT, $f{sp}, $f{ss}, $f{srt}, $f{st} // '', $f{se},
		$f{sip} // '', $f{spr}, $f{sv}, '', '');
	my $sig = hmac_sha256_base64($sts, decode_base64($opts{key} // $KEY));
	$sig .= '=' while length($sig) % 4;
	return join('&', map { "$_=" . _uri_escape($f{$_}, 0) }
		  grep { defined $f{$_} && $_ ne 'key' } qw(sv ss srt sp st se sip spr))
	  . '&sig=' . _uri_escape($sig, 0);
}

# The repoN_* lines of a repository in this server's container.
sub conf_lines
{
	my ($self, $n, %opts) = @_;
	my $text = "repo${n}_type = azure\n"
	  . "repo${n}_azure_account = $ACCOUNT\n"
	  . "repo${n}_azure_container = " . ($opts{container} // $self->{container}) . "\n"
	  . "repo${n}_azure_endpoint = " . $self->endpoint . "\n"
	  . "repo${n}_azure_uri_style = path\n";
	if ($opts{key_file}) { $text .= "repo${n}_azure_key_file = '$opts{key_file}'\n"; }
	elsif ($opts{sas_file}) { $text .= "repo${n}_azure_sas_file = '$opts{sas_file}'\n"; }
	elsif (defined $opts{sas}) { $text .= "repo${n}_azure_sas = '$opts{sas}'\n"; }
	else { $text .= "repo${n}_azure_key = " . ($opts{key} // $KEY) . "\n"; }
	$text .= $self->{tls}
	  ? "repo${n}_azure_ca_file = '" . $self->ca_file . "'\n"
	  : "repo${n}_azure_tls = off\n";
	$text .= "repo${n}_path = '$opts{path}'\n" if defined $opts{path};
	$text .= "repo${n}_azure_block_size = $opts{block_size}\n" if $opts{block_size};
	$text .= "repo${n}_azure_list_max = $opts{list_max}\n" if $opts{list_max};
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
