# 053_azure.pl
#	The Azure Blob Storage driver end to end against azurite (a real Blob
#	service emulator that checks Shared Key and SAS signatures), behind
#	TLS with the suite's own CA: pg_dr repo-create in a container under a
#	name prefix, with the account key in a file (mode checked: a file
#	others can read is refused); a cluster archiving WAL to it with
#	archive_library = pg_dr; full and incremental backups under pgbench,
#	one of them holding a relation file larger than the block size (Put
#	Block and Put Block List); pg_dr verify; a PITR restore to a restore
#	point made with dr_restore_point() holding exactly the ledger rows of
#	that instant; pg_dr expire with a retention of one full backup.
#	Listings in pages of 3 names (repo1_azure_list_max) say the same as
#	whole ones.  A wrong key is refused by the service and reported as
#	bad credentials with SQLSTATE 42501, by pg_dr repo-create and by
#	dr_repository_create(); a SAS token works (an account SAS made here
#	with the dev key), a wrong one and a read-only one are refused; a
#	container that does not exist is said as such.  Neither the key nor
#	a SAS signature appears in the CLI's output, pg_dr info, dr_config or
#	the server log.  Through the fault proxy (a second azurite, in clear;
#	also the round trips: no HEAD before an archived segment's Put Blob or
#	before a backup's blobs):
#	a Put Block whose body is cut once is retried and the backup goes
#	through; cut every time, the backup fails naming the block and the
#	file, and nothing is visible under the name.

use strict;
use warnings;

use lib 't/lib';
use DrTest;
use AzuriteServer;
use FaultProxy;
use Fcntl qw(O_WRONLY O_CREAT O_EXCL);
use MIME::Base64 qw(encode_base64);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

plan skip_all => 'azurite is not installed (scripts/deps.sh installs it)'
  unless AzuriteServer::available();

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $az = AzuriteServer->start($tmp, container => 'pgdr');
note('azurite on ' . $az->endpoint);

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

# every output of the CLI, to look for secrets in at the end
my $cli_outputs = '';
sub cli
{
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'pg_dr', @_ ], '>', \$out, '2>', \$err);
	$cli_outputs .= $out . $err;
	return ($? >> 8, $out, $err);
}

my $key = file_write("$tmp/repo.key", encode_base64(join('', map { chr(int(rand(256))) } 1 .. 48), '') . "\n");
my $keyfile = file_write("$tmp/azure.key", "$AzuriteServer::KEY\n");
my $conf_text = $az->conf_lines(1, path => '/cluster/main', key_file => $keyfile,
	block_size => '1MB')
  . "repo1_cipher_key_file = '$key'\n";
my $conf = file_write("$tmp/pg_dr.conf", $conf_text, 0644);
my $env = { conf => $conf, key => $key };

# ---- the key file's mode is checked like the passphrase file's
my $loose = file_write("$tmp/loose.key", "$AzuriteServer::KEY\n", 0644);
my $loose_conf = file_write("$tmp/loose.conf",
	$az->conf_lines(1, path => '/x', key_file => $loose) . "repo1_cipher_key_file = '$key'\n", 0644);
my ($rc, $out, $err) = cli('repo-create', '--config', $loose_conf, '--kdf-iterations', '1000');
like($err, qr/Azure key file "\Q$loose\E" is accessible by group or others \(mode 0644\)/,
	'a key file others can read is refused');

# ---- the repository
($rc, $out, $err) = cli('repo-create', '--config', $conf, '--kdf-iterations', '1000');
is($rc, 0, 'repo-create on azure') or diag($err);
ok((grep { $_ eq 'cluster/main/pg_dr.repo' } $az->blob_names('cluster/')),
	'the repository is under the name prefix cluster/main/');
($rc, $out, $err) = cli('repo-create', '--config', $conf, '--kdf-iterations', '1000');
like($err, qr/already exists/, 'a second repo-create is refused');
($rc, $out, $err) = cli('info', '--config', $conf);
like($out, qr/^\s+type:\s+azure$/m, 'pg_dr info reads it');

# ---- a cluster archiving to it
my $node = DrTest::node_new('azure', $conf);
$node->append_conf('postgresql.conf', qq{
archive_mode = on
archive_library = 'pg_dr'
});
$node->restart;
DrTest::wait_worker($node);

$node->command_ok([ 'pgbench', '-i', '-s', '1', '-q', 'postgres' ], 'pgbench -i');
# a relation of ~20 MB of random hex, many blocks once compressed
$node->safe_psql('postgres',
	'CREATE TABLE big AS SELECT md5(random()::text) || md5(random()::text) AS v
	   FROM generate_series(1, 200000)');
$node->safe_psql('postgres',
	'CREATE TABLE ledger (id serial PRIMARY KEY, amount int NOT NULL)');
my $bigfile = $node->safe_psql('postgres', "SELECT pg_relation_filepath('big')");

my $full = $node->safe_psql('postgres', "SELECT dr_backup_full('azure base')");
like($full, qr/^\d{8}-\d{6}F$/, "full backup $full");
my $azlog = $az->log_text;
like($azlog, qr{PUT /devstoreaccount1/pgdr/cluster/main/backup/\Q$full\E/data/\Q$bigfile\E\?comp=block&blockid=\S+ HTTP/1.1" 201},
	'a file larger than the block size went up in blocks');
like($azlog, qr{PUT /devstoreaccount1/pgdr/cluster/main/backup/\Q$full\E/data/\Q$bigfile\E\?comp=blocklist HTTP/1.1" 201},
	'committed by a block list');

my $pgbench = IPC::Run::start(
	[ 'pgbench', '-n', '-T', '60', '-c', '2', $node->connstr('postgres') ],
	'>', \my $pgb_out, '2>', \my $pgb_err);
my $amount = 0;
sub ledger_rows
{
	my ($n) = @_;
	for (1 .. $n)
	{
		usleep(100_000);
		$amount++;
		$node->safe_psql('postgres', "INSERT INTO ledger (amount) VALUES ($amount)");
	}
}

ledger_rows(5);
my $incr = $node->safe_psql('postgres', 'SELECT dr_backup_incremental()');
like($incr, qr/^\d{8}-\d{6}I$/, "incremental backup $incr under pgbench");
ledger_rows(4);
# the ledger is written by this script only: nothing lands between the two
$node->safe_psql('postgres', "SELECT dr_restore_point('azure_point')");
my $max_point = $node->safe_psql('postgres', 'SELECT max(id) FROM ledger');
ledger_rows(4);
$pgbench->kill_kill;
$pgbench->finish;
DrTest::wait_archived($node);
my $total = $node->safe_psql('postgres', 'SELECT max(id) FROM ledger');
note("restore point after row $max_point of $total");

# ---- verify: every blob read back through the driver
($rc, $out, $err) = cli('verify', '--config', $conf, '--backup', 'all');
is($rc, 0, 'pg_dr verify: every backup in the container is intact') or diag($err);
($rc, $out, $err) = cli('verify', '--config', $conf, '--wal');
is($rc, 0, 'pg_dr verify --wal: the WAL archive in the container is whole') or diag($err);

# ---- listings in pages of 3 names (markers) say the same
my $paged = file_write("$tmp/paged.conf", $conf_text . "repo1_azure_list_max = 3\n", 0644);
for my $cmd ([ 'info' ], [ 'verify', '--backup', 'all' ], [ 'verify', '--wal' ])
{
	my ($r1, $o1, $e1) = cli(@$cmd, '--config', $conf);
	my ($r2, $o2, $e2) = cli(@$cmd, '--config', $paged);
	$o1 =~ s/^.*(list_max|\Q$conf\E|\Q$paged\E).*$//mg;
	$o2 =~ s/^.*(list_max|\Q$conf\E|\Q$paged\E).*$//mg;
	is("$r2\n$o2$e2", "$r1\n$o1$e1", "pg_dr @$cmd: the same with listings of 3 names a page");
}
like($az->log_text, qr/comp=list&prefix=\S+&maxresults=3&marker=/,
	'listings went on with markers');

# ---- PITR to the restore point
my $dir = "$tmp/pitr";
($rc, $out, $err) = DrTest::restore_with($env, $dir, '--target-name', 'azure_point', '--jobs', '2');
$cli_outputs .= $out . $err;
is($rc, 0, 'restore to the restore point') or diag($err);
PostgreSQL::Test::Utils::append_to_file("$dir/postgresql.conf", "\narchive_mode = off\n");
my $r = DrTest::node_from_restore('azure_restored', $dir);
$r->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'restored cluster did not promote';
is($r->safe_psql('postgres', "SELECT string_agg(id::text, ',' ORDER BY id) FROM ledger"),
	join(',', 1 .. $max_point), 'exactly the ledger rows up to the restore point');
is($r->safe_psql('postgres', 'SELECT count(*) FROM big'), '200000', 'the big relation whole');
ok(DrTest::pgbench_balanced($r), 'pgbench balances agree');
$r->stop;

# ---- expire with a retention of one full backup
my $full2 = $node->safe_psql('postgres', "SELECT dr_backup_full('azure second')");
my $keep1 = file_write("$tmp/keep1.conf", $conf_text . "repo1_retention_full = 1\n", 0644);
($rc, $out, $err) = cli('expire', '--config', $keep1);
is($rc, 0, 'pg_dr expire with retention_full = 1') or diag($err);
my @left = grep { m{/\Q$full\E/} } $az->blob_names('cluster/main/');
is(scalar(@left), 0, "the first full backup $full and its incremental are gone from the container")
  or diag(join("\n", @left[0 .. ($#left < 10 ? $#left : 10)]));
($rc, $out, $err) = cli('info', '--config', $conf);
like($out, qr/\Q$full2\E/, 'the newest full backup is kept');
($rc, $out, $err) = cli('verify', '--config', $conf, '--backup', 'all');
is($rc, 0, 'what is kept still verifies') or diag($err);

# ---- a wrong key: refused by the service, reported as such, never shown
my $wrong = encode_base64(join('', map { chr(int(rand(256))) } 1 .. 64), '');
my $bad = file_write("$tmp/bad.conf",
	$az->conf_lines(1, path => '/cluster/main', key => $wrong) . "repo1_cipher_key_file = '$key'\n", 0644);
($rc, $out, $err) = cli('info', '--config', $bad);
is($rc, 1, 'a wrong key fails');
like($err, qr/the service refused the credentials \(HTTP 403 (AuthenticationFailed|AuthorizationFailure)\)/,
	'as bad credentials, with the service\'s code');
like($err, qr/hint: Check repoN_azure_key/, 'saying what to check');
my $bad_new = file_write("$tmp/bad_new.conf",
	$az->conf_lines(1, path => '/other', key => $wrong) . "repo1_cipher_key_file = '$key'\n", 0644);
($rc, $out, $err) = cli('repo-create', '--config', $bad_new, '--kdf-iterations', '1000');
like($err, qr/refused the credentials/, 'pg_dr repo-create with a wrong key is refused');
my $inline = file_write("$tmp/inline.conf",
	$az->conf_lines(1, path => '/cluster/main') . "repo1_cipher_key_file = '$key'\n", 0644);
($rc, $out, $err) = cli('info', '--config', $inline);
like($out, qr/^\s+repo1_azure_key = \*{8} /m, 'pg_dr info shows the key redacted');

is($node->safe_psql('postgres',
		"SET pg_dr.config_file = '$bad'; SELECT value FROM dr_config WHERE name = 'repo1_azure_key'"),
	'********', 'dr_config shows it redacted');
my ($prc, $pout, $perr) = $node->psql('postgres',
	"SET pg_dr.config_file = '$bad'; SELECT dr_backup_full()",
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($perr, qr/ERROR:  42501: .*refused the credentials/, 'the server reports the refusal, SQLSTATE 42501');
($prc, $pout, $perr) = $node->psql('postgres',
	"SET pg_dr.config_file = '$bad_new'; SELECT dr_repository_create()",
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($perr, qr/ERROR:  42501: .*refused the credentials/,
	'dr_repository_create() with a wrong key: SQLSTATE 42501');

# ---- SAS tokens
my $sas = $az->account_sas;
my ($sig) = $sas =~ /sig=([^&]+)/;
my $sasfile = file_write("$tmp/azure.sas", "$sas\n");
my $sas_conf = file_write("$tmp/sas.conf",
	$az->conf_lines(1, path => '/sas', sas_file => $sasfile) . "repo1_cipher_key_file = '$key'\n", 0644);
($rc, $out, $err) = cli('repo-create', '--config', $sas_conf, '--kdf-iterations', '1000');
is($rc, 0, 'repo-create with an account SAS') or diag($err);
like($node->safe_psql('postgres',
		"SET pg_dr.config_file = '$sas_conf'; SELECT dr_backup_full('with a SAS')"),
	qr/^\d{8}-\d{6}F$/, 'a full backup with a SAS');
# (its WAL went to repository 1's archive: verify finds only that missing)
($rc, $out, $err) = cli('verify', '--config', $sas_conf, '--backup', 'all');
like($out, qr/^verified 1 backups? in repository 1: /m, 'and it reads back whole')
  or diag($out . $err);
is(join("\n", grep { /: / && !/^verified / && !/is missing from the archive|segments? .* missing/ } split /\n/, $out),
	'', 'with no problem but the WAL kept elsewhere');
my $sas_inline = file_write("$tmp/sas_inline.conf",
	$az->conf_lines(1, path => '/sas', sas => $sas) . "repo1_cipher_key_file = '$key'\n", 0644);
($rc, $out, $err) = cli('info', '--config', $sas_inline);
like($out, qr/^\s+repo1_azure_sas = \*{8} /m, 'a SAS set inline works and is shown redacted');

my $wrong_sas = $az->account_sas(key => encode_base64('x' x 64, ''));
my $wrong_sas_conf = file_write("$tmp/wrong_sas.conf",
	$az->conf_lines(1, path => '/sas', sas => $wrong_sas) . "repo1_cipher_key_file = '$key'\n", 0644);
($rc, $out, $err) = cli('info', '--config', $wrong_sas_conf);
like($err, qr/refused the credentials \(HTTP 403 \w+\).*\n.*hint: Check repoN_azure_sas/,
	'a SAS signed with another key is refused, saying to check the SAS');
my $ro_sas = $az->account_sas(sp => 'rl');
my $ro_conf = file_write("$tmp/ro_sas.conf",
	$az->conf_lines(1, path => '/readonly', sas => $ro_sas) . "repo1_cipher_key_file = '$key'\n", 0644);
($rc, $out, $err) = cli('repo-create', '--config', $ro_conf, '--kdf-iterations', '1000');
like($err, qr/could not write "pg_dr.repo": the service refused the credentials \(HTTP 403 Authorization\w+\)/,
	'a read-only SAS cannot create a repository');

# ---- a container that does not exist
my $nocont = file_write("$tmp/nocont.conf",
	$az->conf_lines(1, path => '/x', container => 'nosuchcontainer') . "repo1_cipher_key_file = '$key'\n", 0644);
($rc, $out, $err) = cli('repo-create', '--config', $nocont, '--kdf-iterations', '1000');
like($err, qr/container "nosuchcontainer" does not exist in storage account "devstoreaccount1".*\n.*hint: Create the container/,
	'a missing container is said as such, with how to create it');
($prc, $pout, $perr) = $node->psql('postgres',
	"SET pg_dr.config_file = '$nocont'; SELECT dr_repository_create()");
like($perr, qr/container "nosuchcontainer" does not exist/, 'dr_repository_create() says it too');

my $clear = file_write("$tmp/clear.conf",
	"repo1_type = azure\nrepo1_azure_account = acct\nrepo1_azure_container = c01\n"
	  . "repo1_azure_key = $AzuriteServer::KEY\nrepo1_azure_tls = off\nrepo1_cipher_type = none\n", 0644);
($rc, $out, $err) = cli('info', '--config', $clear);
like($err, qr/"repo1_azure_tls = off" is allowed only for a loopback endpoint/,
	'TLS off toward a host that is not loopback is refused');

# ---- a Put Block cut mid-body: retried; cut every time: the backup fails
# and nothing is visible under the name.  A second azurite in clear behind
# the fault proxy (which does not speak TLS).
my $plain = AzuriteServer->start("$tmp/plain", container => 'pgdr', tls => 0);
my $proxy = FaultProxy->start(upstream => '127.0.0.1:' . $plain->port, dir => "$tmp/proxy");
my $faulty = file_write("$tmp/faulty.conf",
	($plain->conf_lines(1, path => '/faulty', block_size => '1MB')
	  =~ s/_endpoint = \S+/_endpoint = 127.0.0.1:${\ $proxy->port}/r)
	  . "repo1_cipher_key_file = '$key'\n", 0644);
($rc, $out, $err) = cli('repo-create', '--config', $faulty, '--kdf-iterations', '1000');
is($rc, 0, 'repo-create through the fault proxy') or diag($err);

$proxy->rules("PUT */data/$bigfile nth=2 action=reset after=300000\n"
	  . "PUT */data/$bigfile nth=4 action=status status=503 code=ServerBusy");
my $once = $node->safe_psql('postgres',
	"SET pg_dr.config_file = '$faulty'; SELECT dr_backup_full('cut once')");
like($once, qr/^\d{8}-\d{6}F$/, 'a backup whose block was cut once, and refused once, goes through');
my @plog = $proxy->log;
ok((grep { m{ PUT /devstoreaccount1/pgdr/faulty/backup/\Q$once\E/data/\Q$bigfile\E reset} } @plog),
	'a block was cut mid-body');
ok((grep { m{ PUT /devstoreaccount1/pgdr/faulty/backup/\Q$once\E/data/\Q$bigfile\E status 503} } @plog),
	'a block was answered ServerBusy');
$proxy->rules();
($rc, $out, $err) = cli('verify', '--config', $faulty, '--backup', $once);
unlike($out, qr{data/\Q$bigfile\E}, 'and the retried blocks read back whole')
  or diag($out . $err);
like($out, qr/^verified 1 backups? in repository 1: /m, 'the backup was read') or diag($out . $err);

$proxy->rules("PUT */data/$bigfile nth=2 count=all action=reset after=300000");
($prc, $pout, $perr) = $node->psql('postgres',
	"SET pg_dr.config_file = '$faulty'; SELECT dr_backup_full('cut always')");
isnt($prc, 0, 'a backup whose big file cannot be uploaded fails');
like($perr, qr/upload block 2 of "backup\/\d{8}-\d{6}F\/data\/\Q$bigfile\E"/,
	'naming the block and the file');
@plog = $proxy->log;
ok((grep { m{ PUT /devstoreaccount1/pgdr/faulty/backup/\S+/data/\Q$bigfile\E reset} } @plog) >= 3,
	'the block was retried');
my @visible = grep { m{/data/\Q$bigfile\E$} && !m{/\Q$once\E/} } $plain->blob_names('faulty/');
is(scalar(@visible), 0, 'and nothing is visible under its name') or diag("@visible");
$proxy->rules();
like($node->safe_psql('postgres',
		"SET pg_dr.config_file = '$faulty'; SELECT dr_backup_full('after the fault')"),
	qr/^\d{8}-\d{6}F$/, 'once the service answers again, a backup goes through');

# ---- round trips: an archived segment is one Put Blob (If-None-Match
# decides; no HEAD before), a backup's blobs are not asked for either
# (the default block size, 16MB: a segment goes up in one request)
{
	my $rtconf = file_write("$tmp/rt.conf",
		($plain->conf_lines(1, path => '/rt')
		  =~ s/_endpoint = \S+/_endpoint = 127.0.0.1:${\ $proxy->port}/r)
		  . "repo1_cipher_key_file = '$key'\n", 0644);
	($rc, $out, $err) = cli('repo-create', '--config', $rtconf, '--kdf-iterations', '1000');
	is($rc, 0, 'repo-create of a repository with the default block size') or diag($err);
	my $arch = DrTest::node_new('azure_rt', $rtconf);
	$arch->append_conf('postgresql.conf', qq{
archive_mode = on
archive_library = 'pg_dr'
});
	$arch->restart;
	DrTest::wait_worker($arch);
	$proxy->log_clear;
	for my $i (1 .. 3)
	{
		$arch->safe_psql('postgres', "CREATE TABLE rt$i AS SELECT g FROM generate_series(1, 10000) g");
		DrTest::wait_archived($arch);
	}
	my (%head, %put);
	for ($proxy->log)
	{
		next unless m{^\d+ c\d+ (HEAD|PUT) /devstoreaccount1/pgdr/rt/archive/wal/[0-9A-F]{16}/([0-9A-F]{24})\s};
		$1 eq 'HEAD' ? $head{$2}++ : $put{$2}++;
	}
	cmp_ok(scalar(keys %put), '>=', 3, scalar(keys %put) . ' segments archived to Azure');
	# (a Put Blob retried after a lost answer or a 5xx comes back 409 and
	# the segment is compared: more PUTs then, never a HEAD)
	is(join(',', sort keys %head), '', 'no HEAD before any of them')
	  or diag(join('', grep { m{/archive/} } $proxy->log));

	$proxy->log_clear;
	my $b = $arch->safe_psql('postgres', "SELECT dr_backup_full('round trips')");
	my @asked = grep { m{ HEAD /devstoreaccount1/pgdr/rt/backup/\Q$b\E/(data|bundle)/} && !m{/data/backup_label\s} } $proxy->log;
	is(scalar(@asked), 0, "backup $b: no HEAD before its blobs") or diag("@asked");
	$arch->stop;
}
$proxy->stop;
$plain->stop;

# ---- no secret anywhere
my $serverlog = slurp_file($node->logfile);
for my $secret ([ 'the account key', $AzuriteServer::KEY ], [ 'the wrong key', $wrong ],
	[ 'the SAS signature', $sig ], [ 'the wrong SAS signature', ($wrong_sas =~ /sig=([^&]+)/)[0] ])
{
	my ($what, $value) = @$secret;
	(my $decoded = $value) =~ s/%([0-9A-F]{2})/chr(hex($1))/ge;
	unlike($cli_outputs, qr/\Q$value\E|\Q$decoded\E/, "$what is in no output of the CLI");
	unlike($serverlog, qr/\Q$value\E|\Q$decoded\E/, "$what is nowhere in the server log");
}
is($node->safe_psql('postgres',
		"SET pg_dr.config_file = '$sas_inline'; SELECT value FROM dr_config WHERE name = 'repo1_azure_sas'"),
	'********', 'dr_config shows a SAS redacted');

$node->stop;
$az->stop;
done_testing();
