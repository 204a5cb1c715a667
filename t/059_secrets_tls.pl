# 059_secrets_tls.pl
#	Secrets of an S3 repository never show, and TLS refuses what it must.
#	s3rver (behind TLS with the suite's CA) accepts one more access key,
#	whose secret is long and random, and pg_dr is given, besides the
#	secret, a session token (s3rver ignores it, pg_dr signs it in).  The
#	same repository is configured three ways: (a) the secret and token in
#	the configuration file, (b) the secret in a secret file (mode 0600),
#	(c) no credentials in the file: AWS_ACCESS_KEY_ID,
#	AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN in the CLI's environment
#	(the server takes its credentials from (b), its configuration).  With
#	them: repo-create, WAL archiving with archive_library = pg_dr, full and
#	incremental backups, pg_dr verify, restore (one restored cluster is
#	started and checked), pg_dr info (text and --json), pg_dr check, and
#	dr_repository_create() with a WRONG secret (refused by the store:
#	SQLSTATE 42501, the secret not in the message).  Then every text a
#	person or a monitor can see is searched for the secret, the token and
#	the wrong secret: the server logs, every CLI stdout and stderr, every
#	view and table of the extension and every set-returning function
#	dr_monitor may call (found in the catalog, under each configuration),
#	pgdr.audit_log, s3rver's log, and the repository's objects (names and
#	contents).  The search itself is shown to work: the secrets are long
#	and random, and a planted copy is found in a string, in a copy of the
#	server log and in a directory.
#	TLS (t/052_s3.pl covers the suite's CA accepted): a CA that did not
#	sign the server's certificate, and a host name the certificate is not
#	for (127.0.0.1 against a certificate for localhost), are each refused,
#	in the CLI with its own message and hint, in the server with SQLSTATE
#	F0000.

use strict;
use warnings;

use lib 't/lib';
use DrTest;
use S3Server;
use Fcntl qw(O_WRONLY O_CREAT O_EXCL);
use File::Find;
use IPC::Run;
use MIME::Base64 qw(encode_base64);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

plan skip_all => 's3rver is not installed (scripts/deps.sh installs it)'
  unless S3Server::available();

sub random_word
{
	my ($prefix, $n) = @_;
	my @c = ('A' .. 'Z', 'a' .. 'z', '0' .. '9');
	return $prefix . join('', map { $c[ int(rand(@c)) ] } 1 .. $n);
}

my $key_id = random_word('PGDR59', 14);
my $secret = random_word('sk59', 40);
my $token = random_word('tok59', 60);
my $wrong = random_word('wrong59', 32);
my %secrets = (secret => $secret, token => $token, 'wrong secret' => $wrong);

# ---- the search, and that it can fail
for my $what (sort keys %secrets)
{
	cmp_ok(length($secrets{$what}), '>=', 36, "the $what is long");
	unlike($secrets{$what}, qr/^(.)\1*$|S3RVER|pgdr/i, "the $what is not a trivial string");
}
isnt($secret, $token, 'secret and token differ');

# the secrets (by name) that occur in TEXT
sub leaks
{
	my ($text) = @_;
	return sort grep { index($text, $secrets{$_}) >= 0 } keys %secrets;
}

# every file under DIR, its name and its content: "path: what" per leak
sub dir_leaks
{
	my ($dir) = @_;
	my @found;
	find(
		{
			no_chdir => 1,
			wanted => sub {
				my $f = $File::Find::name;
				push @found, map { "$f (name): $_" } leaks($f);
				return unless -f $f;
				push @found, map { "$f: $_" } leaks(slurp_file($f));
			}
		},
		$dir);
	return @found;
}

is_deeply([ leaks("a b $secret c") ], ['secret'], 'the search finds a planted secret');
is_deeply([ leaks("x${token}y\n$wrong") ], [ 'token', 'wrong secret' ],
	'and a planted token and wrong secret');
is_deeply([ leaks('nothing here ' . substr($secret, 0, 20)) ], [],
	'and not a part of one');

my $tmp = PostgreSQL::Test::Utils::tempdir();
mkdir("$tmp/planted") or die;
PostgreSQL::Test::Utils::append_to_file("$tmp/planted/obj", "xx $token yy");
is(scalar(dir_leaks("$tmp/planted")), 1, 'the directory search finds a planted token');

# ---- the server, the configurations
my $s3 = S3Server->start($tmp, bucket => 'pgdr', keys => { $key_id => $secret });
note('s3rver on ' . $s3->endpoint);

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

my $cipher = file_write("$tmp/repo.key",
	encode_base64(join('', map { chr(int(rand(256))) } 1 .. 48), '') . "\n");
my $secret_file = file_write("$tmp/s3.secret", "$secret\n");

# the repoN lines without credentials; $endpoint and $ca may be overridden
sub base_lines
{
	my (%o) = @_;
	return "repo1_type = s3\n"
	  . "repo1_s3_bucket = pgdr\n"
	  . "repo1_s3_endpoint = " . ($o{endpoint} // $s3->endpoint) . "\n"
	  . "repo1_s3_uri_style = path\n"
	  . "repo1_s3_ca_file = '" . ($o{ca} // $s3->ca_file) . "'\n"
	  . "repo1_path = '" . ($o{path} // '/secrets') . "'\n"
	  . "repo1_cipher_key_file = '$cipher'\n";
}

my $conf_a = file_write("$tmp/a.conf",
	base_lines()
	  . "repo1_s3_key = $key_id\nrepo1_s3_key_secret = $secret\nrepo1_s3_token = $token\n",
	0600);
my $conf_b = file_write("$tmp/b.conf",
	base_lines()
	  . "repo1_s3_key = $key_id\nrepo1_s3_key_secret_file = '$secret_file'\n"
	  . "repo1_s3_token = $token\n",
	0600);
my $conf_c = file_write("$tmp/c.conf", base_lines(), 0644);
my $conf_wrong = file_write("$tmp/wrong.conf",
	base_lines(path => '/wrong')
	  . "repo1_s3_key = $key_id\nrepo1_s3_key_secret = $wrong\nrepo1_s3_token = $token\n",
	0600);
my %env_c = (
	AWS_ACCESS_KEY_ID => $key_id,
	AWS_SECRET_ACCESS_KEY => $secret,
	AWS_SESSION_TOKEN => $token);

# Every CLI output, by what ran it.
my %texts;

# run pg_dr ARGS (with the environment of (c) when $env); returns (status,
# stdout, stderr) and keeps both outputs for the search
sub pg_dr_run
{
	my ($label, $env, @args) = @_;
	my ($out, $err) = ('', '');
	{
		local %ENV = (%ENV, $env ? %env_c : ());
		delete @ENV{ keys %env_c } unless $env;
		IPC::Run::run([ 'pg_dr', @args ], '>', \$out, '2>', \$err);
	}
	my $rc = $? >> 8;
	$texts{"pg_dr $label: stdout"} = $out;
	$texts{"pg_dr $label: stderr"} = $err;
	return ($rc, $out, $err);
}

my ($rc, $out, $err) = pg_dr_run('repo-create (a)', 0, 'repo-create', '--config', $conf_a,
	'--kdf-iterations', '1000');
is($rc, 0, 'repo-create with the secret in the configuration file') or diag($err);
for my $c ([ 'b', 0, $conf_b ], [ 'c', 1, $conf_c ])
{
	($rc, $out, $err) = pg_dr_run("info ($c->[0])", $c->[1], 'info', '--config', $c->[2]);
	is($rc, 0, "pg_dr info with the credentials of ($c->[0])") or diag($err);
	like($out, qr/^\s+type:\s+s3$/m, "($c->[0]) reads the repository");
}
($rc, $out, $err) = pg_dr_run('info (c) without the environment', 0, 'info', '--config', $conf_c);
isnt($rc, 0, '(c) without the environment has no credentials');
like($err, qr/AWS_ACCESS_KEY_ID/, 'and says where they may come from');

# ---- a cluster archiving to it with the credentials of (b)
my $node = DrTest::node_new('secrets', $conf_b);
$node->append_conf('postgresql.conf', qq{
archive_mode = on
archive_library = 'pg_dr'
});
$node->restart;
DrTest::wait_worker($node);
$node->command_ok([ 'pgbench', '-i', '-s', '1', '-q', 'postgres' ], 'pgbench -i');
my $full = $node->safe_psql('postgres', "SELECT dr_backup_full('secrets')");
like($full, qr/^\d{8}-\d{6}F$/, "full backup $full with the secret from a file");
$node->safe_psql('postgres', 'UPDATE pgbench_accounts SET abalance = 59 WHERE aid <= 100');
my $incr = $node->safe_psql('postgres',
	"SET pg_dr.config_file = '$conf_a'; SELECT dr_backup_incremental()");
like($incr, qr/^\d{8}-\d{6}I$/, "incremental $incr with the secret in the configuration");
DrTest::wait_archived($node);
is($node->safe_psql('postgres', 'SELECT failed_count FROM pg_stat_archiver'), '0',
	'archiving never failed');

for my $c ([ 'a', 0, $conf_a ], [ 'c', 1, $conf_c ])
{
	($rc, $out, $err) = pg_dr_run("verify ($c->[0])", $c->[1], 'verify', '--config', $c->[2],
		'--backup', 'all');
	is($rc, 0, "pg_dr verify --backup all with ($c->[0])") or diag($err);
	($rc, $out, $err) = pg_dr_run("verify --wal ($c->[0])", $c->[1], 'verify', '--config', $c->[2],
		'--wal');
	is($rc, 0, "pg_dr verify --wal with ($c->[0])") or diag($err);
	($rc, $out, $err) = pg_dr_run("info --json ($c->[0])", $c->[1], 'info', '--config', $c->[2],
		'--json');
	is($rc, 0, "pg_dr info --json with ($c->[0])") or diag($err);
	like($out, qr/\Q$incr\E/, 'it lists the incremental');
}
($rc, $out, $err) = pg_dr_run('info (a)', 0, 'info', '--config', $conf_a);
like($out, qr/^\s+repo1_s3_key_secret = \*{8}/m, 'pg_dr info shows the secret redacted');
like($out, qr/^\s+repo1_s3_token = \*{8}/m, 'and the token');

($rc, $out, $err) = pg_dr_run('check (a)', 0, 'check', '--config', $conf_a,
	'--dbname', $node->connstr('postgres'), '--timeout', '60');
is($rc, 0, 'pg_dr check: the whole chain works') or diag($out . $err);
like($out, qr/^wal: ok .* archived in .* and read back/m, 'down to a WAL segment read back')
  or diag($out);

# ---- restores: (c) from the environment; (a) started and checked
($rc, $out, $err) = pg_dr_run('restore (c)', 1, 'restore', '--config', $conf_c,
	'--pgdata', "$tmp/restore_c", '--backup', $incr, '--jobs', '2');
is($rc, 0, 'restore with the credentials from the environment') or diag($err);
ok(-f "$tmp/restore_c/global/pg_control", 'it wrote the cluster');
($rc, $out, $err) = pg_dr_run('restore (a)', 0, 'restore', '--config', $conf_a,
	'--pgdata', "$tmp/restore_a", '--backup', $incr, '--jobs', '2', '--target', 'immediate');
is($rc, 0, 'restore with the secret in the configuration') or diag($err);
PostgreSQL::Test::Utils::append_to_file("$tmp/restore_a/postgresql.conf", "\narchive_mode = off\n");
my $r = DrTest::node_from_restore('secrets_restored', "$tmp/restore_a");
is($r->safe_psql('postgres', 'SELECT count(*) FROM pgbench_accounts WHERE abalance = 59'),
	'100', 'the restored cluster has the change of the incremental');

# ---- a wrong secret: refused, SQLSTATE 42501, never shown
my ($prc, $pout, $perr) = $node->psql('postgres',
	"SET pg_dr.config_file = '$conf_wrong'; SELECT dr_repository_create()",
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
$texts{'dr_repository_create (wrong): stdout'} = $pout;
$texts{'dr_repository_create (wrong): stderr'} = $perr;
isnt($prc, 0, 'dr_repository_create() with a wrong secret fails');
# (its first request is a HEAD, whose answer has no body, so no error code)
like($perr, qr/ERROR:  42501: repository s3:\/\/pgdr\/wrong: could not look for "pg_dr\.repo": access denied \(HTTP 403\)/,
	'as access denied, SQLSTATE 42501');
like($perr, qr/HINT:  Check repoN_s3_key, its secret and the session token \(a HEAD answer carries no error code/,
	'the hint names the credentials first');
($rc, $out, $err) = pg_dr_run('repo-create (wrong)', 0, 'repo-create', '--config', $conf_wrong,
	'--kdf-iterations', '1000');
is($rc, 1, 'the CLI\'s repo-create fails too');
like($err, qr/access denied \(HTTP 403\).*\n.*hint: Check repoN_s3_key, its secret/, 'saying the same');
# a GET is answered with the store's code
($rc, $out, $err) = pg_dr_run('info (wrong)', 0, 'info', '--config', $conf_wrong);
like($err, qr/the store refused the credentials \(HTTP 403 SignatureDoesNotMatch\)/,
	'pg_dr info: the store refused the credentials');

# ---- TLS: a CA that did not sign the certificate, a host name it is not for
my ($o1, $e1) = ('', '');
my @ec = ('-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes');
IPC::Run::run([ 'openssl', 'req', '-x509', @ec, '-keyout', "$tmp/other-ca.key",
		'-out', "$tmp/other-ca.pem", '-subj', '/CN=another CA', '-days', '2' ],
	'>', \$o1, '2>', \$e1)
  or die "openssl: $e1";
my $conf_ca = file_write("$tmp/ca.conf",
	base_lines(ca => "$tmp/other-ca.pem") . "repo1_s3_key = $key_id\nrepo1_s3_key_secret = $secret\n",
	0600);
my $conf_host = file_write("$tmp/host.conf",
	base_lines(endpoint => '127.0.0.1:' . $s3->port)
	  . "repo1_s3_key = $key_id\nrepo1_s3_key_secret = $secret\n",
	0600);
my %tls = (
	'a CA that did not sign it' => [ $conf_ca,
		qr/the TLS certificate of "localhost" was not accepted \(not signed by a trusted CA\)/,
		qr/hint: [Gg]ive the repository the CA that signed the server's certificate/ ],
	'a host name it is not for' => [ $conf_host,
		qr/the TLS certificate of "127\.0\.0\.1" was not accepted \(it is not issued for this host name\)/,
		qr/hint: [Uu]se in the endpoint the host name the server's certificate was issued for/ ]);
for my $what (sort keys %tls)
{
	my ($c, $msg, $hint) = @{ $tls{$what} };
	($rc, $out, $err) = pg_dr_run("info (TLS, $what)", 0, 'info', '--config', $c);
	is($rc, 1, "TLS, $what: pg_dr info fails");
	like($err, $msg, "TLS, $what: said as such");
	like($err, $hint, "TLS, $what: with what to do");
	($prc, $pout, $perr) = $node->psql('postgres',
		"SET pg_dr.config_file = '$c'; SELECT dr_backup_full()",
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	$texts{"dr_backup_full (TLS, $what)"} = $pout . $perr;
	isnt($prc, 0, "TLS, $what: the server refuses a backup");
	like($perr, qr/ERROR:  F0000: /, "TLS, $what: SQLSTATE F0000");
	like($perr, $msg, "TLS, $what: the server's message");
}

# ---- every view, table and monitor function, under each configuration
my @relations = split /\n/, $node->safe_psql('postgres', q{
SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)
  FROM pg_catalog.pg_depend d
  JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'pg_dr'
  JOIN pg_catalog.pg_class c ON c.oid = d.objid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype = 'e'
   AND c.relkind IN ('r', 'v')
 ORDER BY 1});
my @functions = split /\n/, $node->safe_psql('postgres', q{
SELECT pg_catalog.format('%I.%I()', n.nspname, p.proname)
  FROM pg_catalog.pg_depend d
  JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'pg_dr'
  JOIN pg_catalog.pg_proc p ON p.oid = d.objid
  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.deptype = 'e'
   AND p.proretset AND p.pronargs = 0
   AND pg_catalog.has_function_privilege('dr_monitor', p.oid, 'EXECUTE')
 ORDER BY 1});
my %have = map { $_ => 1 } @relations, @functions;
for my $want (qw(public.dr_status public.dr_config public.dr_backups public.dr_archive_status
	public.dr_audit public.dr_objectives public.dr_progress public.dr_backup_progress
	public.dr_restore_points public.dr_pitr_window pgdr.audit_log
	pgdr._config() pgdr._archive_status() pgdr._repository_backups()))
{
	ok($have{$want}, "$want is searched");
}
note('searched: ' . join(', ', @relations, @functions));
for my $c ([ 'b', '' ], [ 'a', "SET pg_dr.config_file = '$conf_a';" ],
	[ 'wrong', "SET pg_dr.config_file = '$conf_wrong';" ])
{
	for my $obj (@relations, @functions)
	{
		($prc, $pout, $perr) = $node->psql('postgres', "$c->[1] SELECT t::text FROM $obj AS t");
		$texts{"$obj ($c->[0])"} = $pout . $perr;
	}
}
like($texts{'public.dr_config (a)'}, qr/\(repo1_s3_key_secret,\*{8},/, 'dr_config holds the secret redacted');
like($texts{'public.dr_config (a)'}, qr/\(repo1_s3_token,\*{8},/, 'and the token');
like($texts{'pgdr.audit_log (b)'}, qr/backup/, 'the audit log records the backups');

# ---- the search
$r->stop;
$node->stop;
$texts{'server log'} = slurp_file($node->logfile);
$texts{'restored server log'} = slurp_file($r->logfile);
$texts{'s3rver log'} = $s3->log_text;
for my $label (sort keys %texts)
{
	my @l = leaks($texts{$label});
	is_deeply(\@l, [], "$label: no secret") or diag("found: @l");
}
my $planted = "$tmp/planted/server.log";
PostgreSQL::Test::Utils::append_to_file($planted,
	$texts{'server log'} . "LOG:  planted $wrong\n");
is_deeply([ leaks(slurp_file($planted)) ], ['wrong secret'],
	'a copy of the server log with a planted wrong secret: found');
my @objects = split /\n/, `find '${\ $s3->data_dir}' -type f`;
cmp_ok(scalar(@objects), '>', 20, 'the bucket holds the backups and the WAL');
my @found = dir_leaks($s3->data_dir);
is_deeply(\@found, [], "the bucket's objects (names and contents): no secret")
  or diag(join("\n", @found));

$s3->stop;
done_testing();
