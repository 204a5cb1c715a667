# 052_s3.pl
#	The S3 driver end to end against s3rver (a real S3 server that checks
#	SigV4 signatures), behind TLS with the suite's own CA: pg_dr
#	repo-create on a bucket under a key prefix, with the secret in a file
#	(mode checked: a file others can read is refused); a cluster archiving
#	WAL to it with archive_library = pg_dr; full and incremental backups
#	under pgbench, one of them holding a relation file larger than the
#	part size (a multipart upload); pg_dr verify; a PITR restore to a
#	restore point made with dr_restore_point() holding exactly the ledger
#	rows of that instant; pg_dr expire with a retention of one full
#	backup.  Every listing goes in pages of at most 10 keys
#	(repo1_s3_list_max), so the WAL archive and the backups are listed
#	with continuation tokens.  A wrong secret is refused by the store
#	(403 SignatureDoesNotMatch) and reported as bad credentials, the
#	secret appearing nowhere: not in the CLI's output, not in pg_dr info,
#	not in dr_config, not in the server log.  A bucket that does not
#	exist, an endpoint nobody listens on and TLS off for a host that is
#	not loopback each get their own error.  Through the fault proxy (a
#	second s3rver, in clear): a part of a multipart upload reset every
#	time is retried, then the backup fails naming the part and the file,
#	the upload is aborted and nothing is visible under the name; with the
#	proxy clear again a backup goes through.

use strict;
use warnings;

use lib 't/lib';
use DrTest;
use S3Server;
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

my $key = file_write("$tmp/repo.key", encode_base64(join('', map { chr(int(rand(256))) } 1 .. 48), '') . "\n");
my $secret = file_write("$tmp/s3.secret", "S3RVER\n");
my $conf_text = $s3->conf_lines(1, path => '/cluster/main', secret_file => $secret,
	part_size => '5MB')
  . "repo1_cipher_key_file = '$key'\n";
my $conf = file_write("$tmp/pg_dr.conf", $conf_text, 0644);
my $env = { conf => $conf, key => $key };

# ---- the secret file's mode is checked like the passphrase file's
my $loose = file_write("$tmp/loose.secret", "S3RVER\n", 0644);
my $loose_conf = file_write("$tmp/loose.conf",
	$s3->conf_lines(1, path => '/x', secret_file => $loose) . "repo1_cipher_key_file = '$key'\n", 0644);
command_fails_like([ 'pg_dr', 'repo-create', '--config', $loose_conf, '--kdf-iterations', '1000' ],
	qr/S3 secret file "\Q$loose\E" is accessible by group or others \(mode 0644\)/,
	'a secret file others can read is refused');

# ---- the repository
command_ok([ 'pg_dr', 'repo-create', '--config', $conf, '--kdf-iterations', '1000' ],
	'repo-create on s3');
ok(-e $s3->data_dir . '/pgdr/cluster/main/pg_dr.repo._S3rver_object',
	'the repository is under the key prefix cluster/main/');
command_fails_like([ 'pg_dr', 'repo-create', '--config', $conf, '--kdf-iterations', '1000' ],
	qr/already/, 'a second repo-create is refused');
command_like([ 'pg_dr', 'info', '--config', $conf ],
	qr/^\s+type:\s+s3$/m, 'pg_dr info reads it');

# ---- a cluster archiving to it
my $node = DrTest::node_new('s3', $conf);
$node->append_conf('postgresql.conf', qq{
archive_mode = on
archive_library = 'pg_dr'
});
$node->restart;
DrTest::wait_worker($node);

$node->command_ok([ 'pgbench', '-i', '-s', '1', '-q', 'postgres' ], 'pgbench -i');
# a relation of ~20 MB of random hex, more than a part once compressed
$node->safe_psql('postgres',
	'CREATE TABLE big AS SELECT md5(random()::text) || md5(random()::text) AS v
	   FROM generate_series(1, 200000)');
$node->safe_psql('postgres',
	'CREATE TABLE ledger (id serial PRIMARY KEY, amount int NOT NULL)');

my $full = $node->safe_psql('postgres', "SELECT dr_backup_full('s3 base')");
like($full, qr/^\d{8}-\d{6}F$/, "full backup $full");
like($s3->log_text, qr/uploadId=/, 'a file larger than the part size went up as a multipart upload');

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
$node->safe_psql('postgres', "SELECT dr_restore_point('s3_point')");
my $max_point = $node->safe_psql('postgres', 'SELECT max(id) FROM ledger');
ledger_rows(4);
$pgbench->kill_kill;
$pgbench->finish;
DrTest::wait_archived($node);
my $total = $node->safe_psql('postgres', 'SELECT max(id) FROM ledger');
note("restore point after row $max_point of $total");

# ---- verify: every object read back through the driver
command_ok([ 'pg_dr', 'verify', '--config', $conf, '--backup', 'all' ],
	'pg_dr verify: every backup in the bucket is intact');
command_ok([ 'pg_dr', 'verify', '--config', $conf, '--wal' ],
	'pg_dr verify --wal: the WAL archive in the bucket is whole')
  or diag(`find '${\ $s3->data_dir}/pgdr/cluster/main/archive' -name '*_object' | sort`);

# ---- listings in pages of 3 keys (continuation tokens) say the same
my $paged = file_write("$tmp/paged.conf", $conf_text . "repo1_s3_list_max = 3\n", 0644);
# (not the WAL archive: s3rver loses "n" when a page ends between "n.x"
# and "n", and the archive holds 000000010000000000000005 and
# 000000010000000000000005.00000028.backup; S3 lists in key order)
for my $cmd ([ 'info' ], [ 'verify', '--backup', 'all' ])
{
	my ($o1, $o2, $e1, $e2);
	IPC::Run::run([ 'pg_dr', @$cmd, '--config', $conf ], '>', \$o1, '2>', \$e1);
	IPC::Run::run([ 'pg_dr', @$cmd, '--config', $paged ], '>', \$o2, '2>', \$e2);
	$o1 =~ s/^.*(list_max|wal archive:|^    timeline \d+: |\Q$conf\E|\Q$paged\E).*$//mg;
	$o2 =~ s/^.*(list_max|wal archive:|^    timeline \d+: |\Q$conf\E|\Q$paged\E).*$//mg;
	is($o2 . $e2, $o1 . $e1, "pg_dr @$cmd: the same with listings of 3 keys a page");
}
like(PostgreSQL::Test::Utils::slurp_file($s3->{log}), qr/continuation-token=/,
	'listings went on with continuation tokens');

# ---- PITR to the restore point
my $dir = "$tmp/pitr";
my ($rc, $out, $err) = DrTest::restore_with($env, $dir, '--target-name', 's3_point', '--jobs', '2');
is($rc, 0, 'restore to the restore point') or diag($err);
PostgreSQL::Test::Utils::append_to_file("$dir/postgresql.conf", "\narchive_mode = off\n");
my $r = DrTest::node_from_restore('s3_restored', $dir);
$r->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'restored cluster did not promote';
is($r->safe_psql('postgres', "SELECT string_agg(id::text, ',' ORDER BY id) FROM ledger"),
	join(',', 1 .. $max_point), 'exactly the ledger rows up to the restore point');
is($r->safe_psql('postgres', 'SELECT count(*) FROM big'), '200000', 'the big relation whole');
ok(DrTest::pgbench_balanced($r), 'pgbench balances agree');
$r->stop;

# ---- expire with a retention of one full backup
my $full2 = $node->safe_psql('postgres', "SELECT dr_backup_full('s3 second')");
my $keep1 = file_write("$tmp/keep1.conf", $conf_text . "repo1_retention_full = 1\n", 0644);
($rc, $out, $err) = (0, '', '');
IPC::Run::run([ 'pg_dr', 'expire', '--config', $keep1 ], '>', \$out, '2>', \$err);
is($? >> 8, 0, 'pg_dr expire with retention_full = 1') or diag($err);
note($out);
my @left = grep({ m{/\Q$full\E/} } split /\n/, `find '${\ $s3->data_dir}' -type f`);
is(scalar(@left), 0, "the first full backup $full and its incremental are gone from the bucket")
  or diag(join("\n", @left[0 .. ($#left < 10 ? $#left : 10)]));
command_like([ 'pg_dr', 'info', '--config', $conf ], qr/\Q$full2\E/, 'the newest full backup is kept');
command_ok([ 'pg_dr', 'verify', '--config', $conf, '--backup', 'all' ],
	'what is kept still verifies');

# ---- a wrong secret: refused by the store, reported as such, never shown
my $wrong = 'wrong-secret-7f3a9c';
my $bad = file_write("$tmp/bad.conf",
	$s3->conf_lines(1, path => '/cluster/main', secret => $wrong) . "repo1_cipher_key_file = '$key'\n", 0644);
IPC::Run::run([ 'pg_dr', 'info', '--config', $bad ], '>', \$out, '2>', \$err);
is($? >> 8, 1, 'a wrong secret fails');
like($err, qr/the store refused the credentials \(HTTP 403 SignatureDoesNotMatch\)/,
	'as bad credentials, with the store\'s code');
like($err, qr/hint: Check repoN_s3_key and repoN_s3_key_secret/, 'saying what to check');
unlike($out . $err, qr/\Q$wrong\E/, 'the secret is not in the output');
my $inline = file_write("$tmp/inline.conf",
	$s3->conf_lines(1, path => '/cluster/main') . "repo1_cipher_key_file = '$key'\n", 0644);
command_like([ 'pg_dr', 'info', '--config', $inline ],
	qr/^\s+repo1_s3_key_secret = \*{8} /m, 'pg_dr info shows a secret redacted');

is($node->safe_psql('postgres',
		"SET pg_dr.config_file = '$bad'; SELECT value FROM dr_config WHERE name = 'repo1_s3_key_secret'"),
	'********', 'dr_config shows it redacted');
my ($prc, $pout, $perr) = $node->psql('postgres',
	"SET pg_dr.config_file = '$bad'; SELECT dr_backup_full()");
like($perr, qr/refused the credentials/, 'the server reports the refusal too');
unlike($perr, qr/\Q$wrong\E/, 'without the secret');
unlike(slurp_file($node->logfile), qr/\Q$wrong\E/, 'the secret is nowhere in the server log');

# ---- other errors, each its own
my $nobucket = file_write("$tmp/nobucket.conf",
	($s3->conf_lines(1, path => '/x') =~ s/repo1_s3_bucket = pgdr/repo1_s3_bucket = nosuchbucket/r)
	  . "repo1_cipher_key_file = '$key'\n", 0644);
command_fails_like([ 'pg_dr', 'repo-create', '--config', $nobucket, '--kdf-iterations', '1000' ],
	qr/bucket "nosuchbucket" does not exist/, 'a missing bucket is said as such');

my $port = PostgreSQL::Test::Cluster::get_free_port();
my $refused = file_write("$tmp/refused.conf",
	($s3->conf_lines(1) =~ s/_endpoint = \S+/_endpoint = localhost:$port/r)
	  . "repo1_cipher_key_file = '$key'\n", 0644);
command_fails_like([ 'pg_dr', 'info', '--config', $refused ],
	qr/localhost:$port.*\n.*hint: Check that the endpoint is reachable from this host/,
	'an endpoint nobody listens on says to check the endpoint');

my $clear = file_write("$tmp/clear.conf",
	"repo1_type = s3\nrepo1_s3_bucket = b\nrepo1_s3_endpoint = s3.example.com\n"
	  . "repo1_s3_tls = off\nrepo1_cipher_type = none\n", 0644);
command_fails_like([ 'pg_dr', 'info', '--config', $clear ],
	qr/"repo1_s3_tls = off" is allowed only for a loopback endpoint/,
	'TLS off toward a host that is not loopback is refused');

# ---- a multipart upload that fails: retried, then given up and aborted;
# nothing is left under the name, and the next backup goes through.  A
# second s3rver in clear behind the fault proxy (which does not speak
# TLS); s3rver answers AbortMultipartUpload 405 (it has none), so the test
# sees the abort in the proxy's log.
use FaultProxy;
my $plain = S3Server->start("$tmp/plain", bucket => 'pgdr', tls => 0);
my $proxy = FaultProxy->start(upstream => '127.0.0.1:' . $plain->port, dir => "$tmp/proxy");
my $faulty = file_write("$tmp/faulty.conf",
	($plain->conf_lines(1, path => '/faulty', part_size => '5MB')
	  =~ s/_endpoint = \S+/_endpoint = 127.0.0.1:${\ $proxy->port}/r)
	  . "repo1_cipher_key_file = '$key'\n", 0644);
command_ok([ 'pg_dr', 'repo-create', '--config', $faulty, '--kdf-iterations', '1000' ],
	'repo-create through the fault proxy');
my $bigfile = $node->safe_psql('postgres', "SELECT pg_relation_filepath('big')");
$proxy->rules("PUT */data/$bigfile nth=2 count=all action=reset");
($prc, $pout, $perr) = $node->psql('postgres',
	"SET pg_dr.config_file = '$faulty'; SELECT dr_backup_full('faulty')");
isnt($prc, 0, 'a backup whose big file cannot be uploaded fails');
like($perr, qr/upload part 2 of "backup\/\d{8}-\d{6}F\/data\/\Q$bigfile\E"/,
	'naming the part and the file');
my @plog = $proxy->log;
ok((grep { m{ PUT /pgdr/faulty/backup/\S+/data/\Q$bigfile\E reset} } @plog) >= 2,
	'the part was retried');
ok((grep { m{ DELETE /pgdr/faulty/backup/\S+/data/\Q$bigfile\E forward} } @plog),
	'then the multipart upload was aborted');
is(scalar(grep { m{/data/\Q$bigfile\E\._S3rver_object$} }
		split /\n/, `find '${\ $plain->data_dir}' -type f`),
	0, 'and nothing is visible under its name');
$proxy->rules();
like($node->safe_psql('postgres',
		"SET pg_dr.config_file = '$faulty'; SELECT dr_backup_full('after the fault')"),
	qr/^\d{8}-\d{6}F$/, 'once the store answers again, a backup goes through');
$proxy->stop;
$plain->stop;

$node->stop;
$s3->stop;
done_testing();
