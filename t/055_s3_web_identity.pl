# 055_s3_web_identity.pl
#	S3 credentials from a web identity (issue 11; docs/storage.md), the
#	way Kubernetes service accounts supply them: a role ARN and a token
#	file, exchanged with STS AssumeRoleWithWebIdentity for temporary
#	credentials.  STS is t/lib/StsServer.pm (HTTPS, the suite's CA),
#	which hands out s3rver's key with a session token and an expiry the
#	test sets; s3rver is behind TLS.
#	- The server takes them from repo1_s3_role_arn +
#	  repo1_s3_web_identity_token_file (session name "pg_dr"), the CLI
#	  from AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE +
#	  AWS_ROLE_SESSION_NAME: repo-create, WAL archiving, a full backup,
#	  a restore holding the data.
#	- Credentials that expire in 2 s are asked for again while a restore
#	  runs (a second STS call from the same process), and a token file
#	  rotated meanwhile (the old token no longer accepted) is read again:
#	  the restore goes through.
#	- A wrong token, an expired token and a role STS denies each get
#	  their own error (SQLSTATE 28000 in the server), and no token,
#	  secret or session token appears in the server log or the outputs.

use strict;
use warnings;

use lib 't/lib';
use DrTest;
use S3Server;
use StsServer;
use Fcntl qw(O_WRONLY O_CREAT O_EXCL);
use MIME::Base64 qw(encode_base64);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

plan skip_all => 's3rver is not installed (scripts/deps.sh installs it)'
  unless S3Server::available();

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $s3 = S3Server->start($tmp, bucket => 'pgdr');
my $role = 'arn:aws:iam::123456789012:role/pgdr-backup';
my $token1 = 'eyJhbGciOiJSUzI1NiJ9.token-one-' . int(rand(1e9));
my $token2 = 'eyJhbGciOiJSUzI1NiJ9.token-two-' . int(rand(1e9));
my $sts = StsServer->start($tmp, tlsdir => $s3->{tlsdir}, role_arn => $role,
	token => $token1, expiry => 3600);
note('s3rver on ' . $s3->endpoint . ', STS on ' . $sts->endpoint);

sub file_write
{
	my ($path, $text, $mode) = @_;
	sysopen(my $fh, $path, O_WRONLY | O_CREAT | O_EXCL, $mode // 0600)
	  or die "could not create \"$path\": $!";
	print $fh $text;
	close($fh) or die;
	chmod($mode // 0600, $path);
	return $path;
}

# A token file rewritten as the kubelet does: a new file renamed over it.
sub token_write
{
	my ($path, $token) = @_;
	unlink("$path.new");
	file_write("$path.new", "$token\n", 0644);
	rename("$path.new", $path) or die "rename: $!";
}

my $key = file_write("$tmp/repo.key",
	encode_base64(join('', map { chr(int(rand(256))) } 1 .. 48), '') . "\n");
my $tokfile = "$tmp/token";
token_write($tokfile, $token1);

my $base = "repo1_type = s3\n"
  . "repo1_s3_bucket = pgdr\n"
  . "repo1_s3_endpoint = " . $s3->endpoint . "\n"
  . "repo1_s3_uri_style = path\n"
  . "repo1_s3_ca_file = '" . $s3->ca_file . "'\n"
  . "repo1_s3_sts_endpoint = " . $sts->endpoint . "\n"
  . "repo1_s3_part_size = 5MB\n"
  . "repo1_path = '/wi'\n"
  . "repo1_cipher_key_file = '$key'\n";
# the server's: the role and the token file in its settings
my $conf = file_write("$tmp/server.conf",
	$base . "repo1_s3_role_arn = '$role'\n"
	  . "repo1_s3_web_identity_token_file = '$tokfile'\n", 0644);
# the CLI's: nothing but the STS endpoint, the rest from the environment
my $cliconf = file_write("$tmp/cli.conf", $base, 0644);
my %cli_env = (AWS_ROLE_ARN => $role, AWS_WEB_IDENTITY_TOKEN_FILE => $tokfile,
	AWS_ROLE_SESSION_NAME => 'cli');

# Run pg_dr with the web identity environment (overrides in %extra);
# returns (exit status, stdout, stderr).
sub pg_dr_env
{
	my ($extra, @args) = @_;
	local %ENV = (%ENV, %cli_env, %{ $extra // {} });
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'pg_dr', @args ], '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

sub calls_of
{
	my ($session) = @_;
	return grep { ($_->{session} // '') eq $session } $sts->calls;
}

my @outputs;

# ---- repo-create from the CLI, credentials from the environment
my ($rc, $out, $err) = pg_dr_env(undef, 'repo-create', '--config', $cliconf,
	'--kdf-iterations', '1000');
push @outputs, $out, $err;
is($rc, 0, 'repo-create with web identity credentials from the environment') or diag($err);
my @cli = calls_of('cli');
ok(@cli >= 1 && $cli[0]{token} eq 'accepted' && $cli[0]{result} eq 'ok',
	'the CLI asked STS for them with the token of AWS_WEB_IDENTITY_TOKEN_FILE');
ok(-e $s3->data_dir . '/pgdr/wi/pg_dr.repo._S3rver_object', 'the repository is in the bucket');

# ---- the server: settings; archiving and a full backup
my $node = DrTest::node_new('wi', $conf);
$node->append_conf('postgresql.conf', qq{
archive_mode = on
archive_library = 'pg_dr'
});
$node->restart;
DrTest::wait_worker($node);
$node->command_ok([ 'pgbench', '-i', '-s', '1', '-q', 'postgres' ], 'pgbench -i');
# ~40 MB of random hex: the restore below takes a few seconds
$node->safe_psql('postgres',
	'CREATE TABLE big AS SELECT md5(random()::text) || md5(random()::text) AS v
	   FROM generate_series(1, 400000)');
my $full = $node->safe_psql('postgres', "SELECT dr_backup_full('web identity')");
like($full, qr/^\d{8}-\d{6}F$/, "full backup $full with web identity credentials");
$node->safe_psql('postgres', 'CREATE TABLE after_backup AS SELECT 42 AS answer');
$node->safe_psql('postgres', "SELECT dr_restore_point('wi_point')");
DrTest::wait_archived($node);
my @srv = calls_of('pg_dr');
ok(@srv >= 1 && !grep({ $_->{result} ne 'ok' } @srv),
	scalar(@srv) . ' STS calls from the server (session "pg_dr", repo1_s3_role_arn), all accepted');

# ---- a restore with credentials that expire in 2 s, the token rotated
# while it runs
$sts->set(expiry => 2);
my $dir = "$tmp/restored";
my ($rout, $rerr) = ('', '');
my $h;
{
	local %ENV = (%ENV, %cli_env, AWS_ROLE_SESSION_NAME => 'cli-rotate');
	$h = IPC::Run::start(
		[ 'pg_dr', 'restore', '--config', $cliconf, '--pgdata', $dir,
			'--backup', $full, '--target-name', 'wi_point', '--jobs', '1' ],
		'>', \$rout, '2>', \$rerr);
}
my $first;
for (1 .. 300)
{
	last if ($first) = calls_of('cli-rotate');
	usleep(50_000);
}
ok($first && $first->{result} eq 'ok', 'the restore got credentials valid 2 s');
# the old token is refused from now on; the file holds the new one
token_write($tokfile, $token2);
$sts->set(token => $token2);
my $rotated_at = (sort { $b <=> $a } map { $_->{n} } $sts->calls)[0];
$h->finish;
push @outputs, $rout, $rerr;
is($h->result(0), 0, 'the restore went through') or diag($rerr);
my @rot = calls_of('cli-rotate');
note(join("\n", map { "STS call $_->{n}: $_->{token} $_->{result} until $_->{expiration}" } @rot));
cmp_ok(scalar(@rot), '>=', 2, 'the restore asked STS again before its credentials expired');
ok((grep { $_->{n} > $rotated_at && $_->{token} eq 'accepted' && $_->{result} eq 'ok' } @rot),
	'after the rotation, with the new token: the token file was read again');
is(scalar(grep { $_->{result} ne 'ok' } @rot), 0, 'no call of the restore was refused');

PostgreSQL::Test::Utils::append_to_file("$dir/postgresql.conf", "\narchive_mode = off\n");
# its restore_command (pg_dr wal-get with the CLI's configuration) takes
# the web identity from the environment too
$ENV{$_} = $cli_env{$_} for keys %cli_env;
$ENV{AWS_ROLE_SESSION_NAME} = 'recovery';
my $r = DrTest::node_from_restore('wi_restored', $dir);
$r->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'restored cluster did not promote';
is($r->safe_psql('postgres', 'SELECT count(*) FROM big'), '400000', 'the restored cluster holds the data');
is($r->safe_psql('postgres', 'SELECT answer FROM after_backup'), '42',
	'and what the archived WAL brought after the backup');
ok(calls_of('recovery') >= 1, 'recovery fetched the WAL with web identity credentials');
$r->stop;
$sts->set(expiry => 3600);

# ---- errors
my $wrongfile = file_write("$tmp/wrong.token", "not-the-token\n", 0644);
($rc, $out, $err) = pg_dr_env({ AWS_WEB_IDENTITY_TOKEN_FILE => $wrongfile },
	'info', '--config', $cliconf);
push @outputs, $out, $err;
is($rc, 1, 'a wrong token fails');
like($err, qr/STS refused the web identity token of "\Q$wrongfile\E" for role "\Q$role\E" \(HTTP 400 InvalidIdentityToken: Incorrect token audience\)/,
	'saying STS refused the token of the file, for the role');
like($err, qr/hint: The file must hold the service account's current token/, 'and what to check');
unlike($err, qr/not-the-token/, 'without the token');

my $badconf = file_write("$tmp/bad.conf",
	$base . "repo1_s3_role_arn = '$role'\n"
	  . "repo1_s3_web_identity_token_file = '$wrongfile'\n", 0644);
my ($prc, $pout, $perr) = $node->psql('postgres',
	"SET pg_dr.config_file = '$badconf'; SELECT dr_backup_full()",
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($perr, qr/ERROR:  28000: .*STS refused the web identity token/,
	'the server reports it with SQLSTATE 28000');

($rc, $out, $err) = pg_dr_env({ AWS_ROLE_ARN => 'arn:aws:iam::123456789012:role/other' },
	'info', '--config', $cliconf);
push @outputs, $out, $err;
like($err, qr/STS denied assuming role "arn:aws:iam::123456789012:role\/other" .*\(HTTP 403 AccessDenied/,
	'a role STS denies is said as such');
like($err, qr/hint: The role's trust policy must allow sts:AssumeRoleWithWebIdentity/,
	'with the trust policy to check');

$sts->set(expired => 1);
($rc, $out, $err) = pg_dr_env(undef, 'info', '--config', $cliconf);
push @outputs, $out, $err;
like($err, qr/the web identity token in "\Q$tokfile\E" has expired \(HTTP 400 ExpiredTokenException/,
	'an expired token is said as such');
$sts->set(expired => 0);

my $missing = "$tmp/no-such-token";
($rc, $out, $err) = pg_dr_env({ AWS_WEB_IDENTITY_TOKEN_FILE => $missing },
	'info', '--config', $cliconf);
like($err, qr/could not open the web identity token file "\Q$missing\E"/,
	'a missing token file is named');

# ---- no secret anywhere
$node->stop;
my $all = join("\n", @outputs, slurp_file($node->logfile));
for my $secret ($token1, $token2, 'not-the-token', 'sts-session-')
{
	unlike($all, qr/\Q$secret\E/, "\"$secret\" is in no output and not in the server log");
}

done_testing();
