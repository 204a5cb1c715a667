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

done_testing();
