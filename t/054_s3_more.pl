# 054_s3_more.pl
#	More of the S3 driver (issue 11), against s3rver in clear behind the
#	fault proxy (t/lib/FaultProxy.pm):
#	- A stalled request is cancellable: with every GET of a backup's
#	  files stalled for 60 s, pg_cancel_backend() of dr_restore() and of
#	  dr_backup_verify() ends them within 3 s with 57014 (the HTTP layer
#	  asks the operation's host while it waits: storageHostSet), and
#	  SIGINT to pg_dr restore makes it exit with 130 within 3 s, the
#	  target left without global/pg_control.
#	- repoN_type = gcs (the S3 driver preset for Google Cloud Storage's
#	  XML API, docs/storage.md) with its endpoint on the same s3rver in
#	  path style: WAL archiving, a full and an incremental backup under
#	  pgbench, verify, a PITR restore to a restore point with exactly the
#	  ledger rows of that instant, and expire, which removes objects one
#	  DELETE at a time (GCS has no multi-object delete: the proxy's log
#	  shows DELETEs and no POST ?delete).  Settings GCS does not have
#	  (x-amz server-side encryption) are refused.

use strict;
use warnings;

use lib 't/lib';
use DrTest;
use S3Server;
use FaultProxy;
use Fcntl qw(O_WRONLY O_CREAT O_EXCL);
use MIME::Base64 qw(encode_base64);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);

plan skip_all => 's3rver is not installed (scripts/deps.sh installs it)'
  unless S3Server::available();

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $s3 = S3Server->start($tmp, bucket => 'pgdr', tls => 0);
my $proxy = FaultProxy->start(upstream => '127.0.0.1:' . $s3->port, dir => "$tmp/proxy");
my $endpoint = '127.0.0.1:' . $proxy->port;
note("s3rver on " . $s3->endpoint . ", the proxy on $endpoint");

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

my $key = file_write("$tmp/repo.key",
	encode_base64(join('', map { chr(int(rand(256))) } 1 .. 48), '') . "\n");

# =====================================================================
# A stalled request is cancellable
# =====================================================================
my $conf = file_write("$tmp/s3.conf",
	($s3->conf_lines(1, path => '/cancel') =~ s/_endpoint = \S+/_endpoint = $endpoint/r)
	  . "repo1_cipher_key_file = '$key'\n", 0644);
command_ok([ 'pg_dr', 'repo-create', '--config', $conf, '--kdf-iterations', '1000' ],
	'repo-create on s3 through the proxy');
my $node = DrTest::node_new('s3cancel', $conf);
$node->command_ok([ 'pgbench', '-i', '-s', '1', '-q', 'postgres' ], 'pgbench -i');
my $backup = $node->safe_psql('postgres', "SELECT dr_backup_full('cancel')");
like($backup, qr/^\d{8}-\d{6}F$/, "backup $backup");

# every GET of a file of the backup (one object, a part or a bundle)
# waits 60 s before it is forwarded
my @stall = (
	'GET */backup/*/data/* count=all action=stall seconds=60',
	'GET */backup/*/bundle/* count=all action=stall seconds=60');

# Wait until the proxy stalls a GET; true when it did within 60 s.
sub stalled
{
	for (1 .. 600)
	{
		return 1 if grep { / GET .* stall/ } $proxy->log;
		usleep(100_000);
	}
	return 0;
}

# Run $call in a session of its own, cancel it once a GET stalls; returns
# its stderr and the seconds from the cancel to its end.
sub cancel_stalled
{
	my ($name, $call) = @_;
	my ($out, $err) = ('', '');
	$proxy->rules(@stall);
	$proxy->log_clear;
	my $h = IPC::Run::start(
		[ 'psql', '-X', '-q', '-At', '-v', 'VERBOSITY=verbose', '-d',
			$node->connstr('postgres') . " application_name=$name", '-c', $call ],
		'>', \$out, '2>', \$err);
	ok(stalled(), "$name: a GET of the backup's files stalls");
	my $t0 = time();
	is($node->safe_psql('postgres',
			"SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity
			  WHERE application_name = '$name'"), '1', "$name: cancelled");
	$h->finish;
	my $seconds = time() - $t0;
	$proxy->rules();
	return ($err, $seconds);
}

my $target = "$tmp/cancelled";
my ($err, $seconds) = cancel_stalled('restore',
	"SELECT * FROM dr_restore('$backup', '$target', 'immediate')");
like($err, qr/ERROR:  57014: canceling statement due to user request/,
	'dr_restore() waiting on a stalled GET ends with 57014');
cmp_ok($seconds, '<', 3, sprintf('within 3 s of the cancel (%.1f s)', $seconds));
ok(!-e "$target/global/pg_control", 'the cancelled restore left no pg_control');

($err, $seconds) = cancel_stalled('verify', "SELECT dr_backup_verify('$backup')");
like($err, qr/ERROR:  57014: canceling statement due to user request/,
	'dr_backup_verify() waiting on a stalled GET ends with 57014');
cmp_ok($seconds, '<', 3, sprintf('within 3 s of the cancel (%.1f s)', $seconds));

# the CLI: SIGINT
{
	my ($out, $cerr) = ('', '');
	my $dir = "$tmp/cli_cancelled";
	$proxy->rules(@stall);
	$proxy->log_clear;
	my $h = IPC::Run::start(
		[ 'pg_dr', 'restore', '--config', $conf, '--pgdata', $dir, '--backup', $backup ],
		'>', \$out, '2>', \$cerr);
	ok(stalled(), 'pg_dr restore: a GET of the backup\'s files stalls');
	my $t0 = time();
	$h->signal('INT');
	$h->finish;
	my $cli_seconds = time() - $t0;
	$proxy->rules();
	is($h->result(0), 130, 'pg_dr restore interrupted while a GET stalls exits with 130')
	  or diag($cerr);
	cmp_ok($cli_seconds, '<', 3, sprintf('within 3 s of SIGINT (%.1f s)', $cli_seconds));
	ok(!-e "$dir/global/pg_control", 'and leaves no pg_control');
}

# with the proxy clear, the same restore goes through
{
	my ($rc, $out, $rerr) = DrTest::restore_with({ conf => $conf }, "$tmp/whole",
		'--backup', $backup);
	is($rc, 0, 'with nothing stalled, the restore goes through') or diag($rerr);
	ok(-e "$tmp/whole/global/pg_control", 'and writes pg_control');
}
$node->stop;

# =====================================================================
# repoN_type = gcs, its endpoint on the same s3rver
# =====================================================================
# (the default listing page: s3rver loses "n" when a page ends between
# "n.x" and "n", see t/052)
my $gcs_text = "repo1_type = gcs\n"
  . "repo1_gcs_bucket = pgdr\n"
  . "repo1_gcs_endpoint = $endpoint\n"
  . "repo1_gcs_uri_style = path\n"
  . "repo1_gcs_key = S3RVER\n"
  . "repo1_gcs_key_secret_file = '" . file_write("$tmp/gcs.secret", "S3RVER\n") . "'\n"
  . "repo1_gcs_tls = off\n"
  . "repo1_gcs_part_size = 5MB\n"
  . "repo1_path = '/gcs/main'\n"
  . "repo1_cipher_key_file = '$key'\n";
my $gconf = file_write("$tmp/gcs.conf", $gcs_text, 0644);
my $genv = { conf => $gconf, key => $key };

# settings GCS does not have are refused
my $gsse = file_write("$tmp/gcs_sse.conf", $gcs_text . "repo1_s3_sse = aes256\n", 0644);
command_fails_like([ 'pg_dr', 'info', '--config', $gsse ],
	qr/unknown setting "repo1_s3_sse" for a repository of type gcs/,
	'x-amz server-side encryption is refused for gcs');
my $gnokey = file_write("$tmp/gcs_nokey.conf",
	$gcs_text =~ s/^repo1_gcs_key = .*\n//mr, 0644);
command_fails_like([ 'pg_dr', 'info', '--config', $gnokey ],
	qr/repo1_gcs_key/, 'gcs without its HMAC key is refused');

$proxy->log_clear;
command_ok([ 'pg_dr', 'repo-create', '--config', $gconf, '--kdf-iterations', '1000' ],
	'repo-create on gcs');
ok(-e $s3->data_dir . '/pgdr/gcs/main/pg_dr.repo._S3rver_object',
	'the repository is under the key prefix gcs/main/');
command_like([ 'pg_dr', 'info', '--config', $gconf ], qr/^\s+type:\s+gcs$/m,
	'pg_dr info says gcs');
ok((grep { m{ PUT /pgdr/gcs/main/pg_dr\.repo } } $proxy->log),
	'path style: the bucket in the path');

my $g = DrTest::node_new('gcs', $gconf);
$g->append_conf('postgresql.conf', qq{
archive_mode = on
archive_library = 'pg_dr'
});
$g->restart;
DrTest::wait_worker($g);
$g->command_ok([ 'pgbench', '-i', '-s', '1', '-q', 'postgres' ], 'pgbench -i');
# ~20 MB of random hex: more than a part (a multipart upload)
$g->safe_psql('postgres',
	'CREATE TABLE big AS SELECT md5(random()::text) || md5(random()::text) AS v
	   FROM generate_series(1, 200000)');
$g->safe_psql('postgres',
	'CREATE TABLE ledger (id serial PRIMARY KEY, amount int NOT NULL)');
my $full = $g->safe_psql('postgres', "SELECT dr_backup_full('gcs base')");
like($full, qr/^\d{8}-\d{6}F$/, "full backup $full on gcs");
ok((grep { m{ PUT /pgdr/gcs/main/backup/\Q$full\E/data/} } $proxy->log),
	'its files went up to the bucket');

my $pgbench = IPC::Run::start(
	[ 'pgbench', '-n', '-T', '60', '-c', '2', $g->connstr('postgres') ],
	'>', \my $pgb_out, '2>', \my $pgb_err);
my $amount = 0;
sub ledger_rows
{
	my ($n) = @_;
	for (1 .. $n)
	{
		usleep(100_000);
		$amount++;
		$g->safe_psql('postgres', "INSERT INTO ledger (amount) VALUES ($amount)");
	}
}
ledger_rows(5);
my $incr = $g->safe_psql('postgres', 'SELECT dr_backup_incremental()');
like($incr, qr/^\d{8}-\d{6}I$/, "incremental backup $incr under pgbench");
ledger_rows(4);
$g->safe_psql('postgres', "SELECT dr_restore_point('gcs_point')");
my $max_point = $g->safe_psql('postgres', 'SELECT max(id) FROM ledger');
ledger_rows(4);
$pgbench->kill_kill;
$pgbench->finish;
DrTest::wait_archived($g);

command_ok([ 'pg_dr', 'verify', '--config', $gconf, '--backup', 'all' ],
	'pg_dr verify: every backup on gcs is intact');
command_ok([ 'pg_dr', 'verify', '--config', $gconf, '--wal' ],
	'pg_dr verify --wal: the WAL archive on gcs is whole');

my $dir = "$tmp/gcs_pitr";
my ($rc, $out, $rerr) = DrTest::restore_with($genv, $dir, '--target-name', 'gcs_point',
	'--jobs', '2');
is($rc, 0, 'restore from gcs to the restore point') or diag($rerr);
PostgreSQL::Test::Utils::append_to_file("$dir/postgresql.conf", "\narchive_mode = off\n");
my $r = DrTest::node_from_restore('gcs_restored', $dir);
$r->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'restored cluster did not promote';
is($r->safe_psql('postgres', "SELECT string_agg(id::text, ',' ORDER BY id) FROM ledger"),
	join(',', 1 .. $max_point), 'exactly the ledger rows up to the restore point');
is($r->safe_psql('postgres', 'SELECT count(*) FROM big'), '200000', 'the big relation whole');
ok(DrTest::pgbench_balanced($r), 'pgbench balances agree');
$r->stop;

# expire: one DELETE per object, never DeleteObjects (POST ?delete on the bucket)
my $full2 = $g->safe_psql('postgres', "SELECT dr_backup_full('gcs second')");
my $keep1 = file_write("$tmp/gcs_keep1.conf", $gcs_text . "repo1_retention_full = 1\n", 0644);
$proxy->log_clear;
IPC::Run::run([ 'pg_dr', 'expire', '--config', $keep1 ], '>', \$out, '2>', \$rerr);
is($? >> 8, 0, 'pg_dr expire on gcs with retention_full = 1') or diag($rerr);
my @plog = $proxy->log;
my @deletes = grep { m{ DELETE /pgdr/gcs/main/backup/\Q$full\E/} } @plog;
cmp_ok(scalar(@deletes), '>', 10, scalar(@deletes) . " single DELETEs removed $full");
is(scalar(grep { m{ POST /pgdr/? } } @plog), 0, 'no POST ?delete (DeleteObjects)')
  or diag(join("\n", grep { / POST / } @plog));
my @left = grep({ m{/\Q$full\E/} } split /\n/, `find '${\ $s3->data_dir}/pgdr/gcs' -type f`);
is(scalar(@left), 0, "the first full backup $full and its incremental are gone");
command_like([ 'pg_dr', 'info', '--config', $gconf ], qr/\Q$full2\E/,
	'the newest full backup is kept');
command_ok([ 'pg_dr', 'verify', '--config', $gconf, '--backup', 'all' ],
	'what is kept still verifies');
$g->stop;

done_testing();
