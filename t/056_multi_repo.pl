# Several repositories written at once (docs/storage.md, "Several
# repositories"):
#  (a) two posix repositories with different passphrases: WAL archived
#	into both, a full and an incremental backup taken into repo1 and
#	copied to repo2 by the catch-up duty (re-encrypted with repo2's key:
#	repo2's objects do not open with repo1's passphrase); dr_repositories
#	shows both in step; `pg_dr restore --repo 2` restores the same data as
#	from repo1 (pg_dump equal);
#  (b) a posix repo1 and an S3 repo2 that is not required: the S3 server
#	stopped under pgbench while WAL keeps being switched: archiving never
#	fails (pg_stat_archiver's failed_count stays), dr_repositories shows
#	repo2 unreachable with its lag growing; the server started again:
#	repo2 catches up (ok, lag 0) and restores the same data;
#  (c) repo2 required and down: archiving fails, the segment stays .ready;
#	once repo2 is back it is archived, nothing lost.
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

my $tmp = PostgreSQL::Test::Utils::tempdir();

sub key_file
{
	my ($path) = @_;
	sysopen(my $fh, $path, O_WRONLY | O_CREAT | O_EXCL, 0600)
	  or die "could not create \"$path\": $!";
	print $fh encode_base64(join('', map { chr(int(rand(256))) } 1 .. 48), ''), "\n";
	close($fh) or die;
	return $path;
}

sub conf_write
{
	my ($path, $text) = @_;
	open(my $fh, '>', "$path.new") or die "$path: $!";
	print $fh $text;
	close($fh) or die;
	rename("$path.new", $path) or die "rename $path: $!";
}

sub repo_create
{
	my ($conf, $n) = @_;
	command_ok([ 'pg_dr', 'repo-create', '--config', $conf, '--repo', $n,
			'--kdf-iterations', '1000' ], "repo-create repo$n");
}

sub archiving_node
{
	my ($name, $conf) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(allows_streaming => 1);
	$node->append_conf('postgresql.conf',
		DrTest::_pg_dr_conf($conf)
		  . "archive_mode = on\narchive_library = 'pg_dr'\n"
		  . "archive_timeout = 0\n");
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION pg_dr');
	DrTest::wait_worker($node);
	return $node;
}

sub repos_row
{
	my ($node, $n, $cols) = @_;
	return $node->safe_psql('postgres',
		"SELECT $cols FROM dr_repositories WHERE repo = $n");
}

# A restore of backup $id from repository $n, started, and its pg_dump.
sub restored_dump
{
	my ($conf, $id, $n, $name) = @_;
	my $dir = "$tmp/restore-$name";
	my ($rc, $out, $err) = DrTest::restore({ conf => $conf }, $id, $dir,
		'--repo', $n, '--target', 'immediate');
	is($rc, 0, "restore of $id from repo$n") or diag($err);
	my $r = DrTest::node_from_restore($name, $dir);
	my $dump = DrTest::pg_dump_of($r);
	$r->stop;
	return $dump;
}

###########################################################################
# (a) two posix repositories, two passphrases
###########################################################################
my $confA = "$tmp/a.conf";
my $key1 = key_file("$tmp/a1.key");
my $key2 = key_file("$tmp/a2.key");
conf_write($confA,
	"repo1_type = posix\nrepo1_path = '$tmp/a-repo1'\nrepo1_cipher_key_file = '$key1'\n"
	  . "repo2_type = posix\nrepo2_path = '$tmp/a-repo2'\nrepo2_cipher_key_file = '$key2'\n");
repo_create($confA, 1);
repo_create($confA, 2);

my $a = archiving_node('a', $confA);
is($a->safe_psql('postgres',
		q{SELECT string_agg(repo || ':' || required, ',' ORDER BY repo) FROM dr_repositories}),
	'1:true,2:false', 'dr_repositories: repo1 required (default), repo2 not');
is($a->safe_psql('postgres', 'SELECT count(*) FROM dr_archive_status WHERE repo IS NOT NULL'),
	'2', 'dr_archive_status: a row per configured repository');

$a->command_ok([ 'pgbench', '-i', '-s', '2', '-q', 'postgres' ], 'pgbench -i');
my $full = $a->safe_psql('postgres', 'SELECT dr_backup_full()');
$a->command_ok([ 'pgbench', '-t', '300', '-c', '2', 'postgres' ], 'pgbench');
my $incr = $a->safe_psql('postgres', 'SELECT dr_backup_incremental()');
DrTest::wait_archived($a);

ok($a->poll_query_until('postgres',
		"SELECT state = 'ok' AND lag_segments = 0 AND backups_missing = 0
		   AND newest_backup = '$incr' FROM dr_repositories WHERE repo = 2"),
	'repo2 caught up: both backups and every WAL file')
  or diag($a->safe_psql('postgres', 'SELECT * FROM dr_repositories'));
ok(-f "$tmp/a-repo2/backup/$full/manifest" && -f "$tmp/a-repo2/backup/$incr/manifest",
	'the backups are in repo2 under the same ids');
is($a->safe_psql('postgres',
		"SELECT string_agg(repos::text, ' ' ORDER BY backup_id) FROM dr_backups"),
	'{1,2} {1,2}', 'dr_backups: both backups in both repositories');

# repo2's copies are encrypted with repo2's own keys: its keyring names
# none of repo1's data keys
my @keys1 = map { s/\..*//r } grep { !/^\./ } do { opendir(my $d, "$tmp/a-repo1/keys") or die; readdir($d) };
my @keys2 = map { s/\..*//r } grep { !/^\./ } do { opendir(my $d, "$tmp/a-repo2/keys") or die; readdir($d) };
my %in2 = map { $_ => 1 } @keys2;
ok(@keys1 > 0 && @keys2 > 0 && !grep({ $in2{$_} } @keys1),
	'repo2 holds its own data keys, none of repo1\'s');

# a wrong passphrase does not open repo2: it really has its own
my $confWrong = "$tmp/a-wrong.conf";
conf_write($confWrong,
	"repo1_type = posix\nrepo1_path = '$tmp/a-repo2'\nrepo1_cipher_key_file = '$key1'\n");
command_fails_like([ 'pg_dr', 'info', '--config', $confWrong ],
	qr/key/i, "repo1's passphrase does not open repo2");

$a->stop;
my $dump1 = restored_dump($confA, $incr, 1, 'a_r1');
my $dump2 = restored_dump($confA, $incr, 2, 'a_r2');
ok(length($dump1) > 1000 && $dump1 eq $dump2,
	'the incremental restores the same data from repo2 as from repo1');

###########################################################################
# (b) posix repo1 + S3 repo2, the S3 server stopped and started again
###########################################################################
SKIP:
{
	skip 's3rver is not installed (scripts/deps.sh installs it)', 1
	  unless S3Server::available();

	my $s3 = S3Server->start("$tmp/b", bucket => 'pgdr', tls => 0);
	my $confB = "$tmp/b.conf";
	my $keyb1 = key_file("$tmp/b1.key");
	my $keyb2 = key_file("$tmp/b2.key");
	my $confB_text =
	  "repo1_type = posix\nrepo1_path = '$tmp/b-repo1'\nrepo1_cipher_key_file = '$keyb1'\n"
	  . $s3->conf_lines(2, path => '/b') . "repo2_cipher_key_file = '$keyb2'\n";
	conf_write($confB, $confB_text);
	repo_create($confB, 1);
	repo_create($confB, 2);

	my $b = archiving_node('b', $confB);
	$b->command_ok([ 'pgbench', '-i', '-s', '1', '-q', 'postgres' ], 'pgbench -i (b)');
	my $bfull = $b->safe_psql('postgres', 'SELECT dr_backup_full()');
	DrTest::wait_archived($b);
	ok($b->poll_query_until('postgres',
			"SELECT state = 'ok' AND lag_segments = 0 AND backups_missing = 0
			   AND newest_backup = '$bfull' FROM dr_repositories WHERE repo = 2"),
		'(b) the S3 repository is in step');

	my $failed0 = $b->safe_psql('postgres', 'SELECT failed_count FROM pg_stat_archiver');
	my $port = $s3->port;
	$s3->stop;
	note('s3rver stopped');

	# keep writing and switching WAL while repo2 is down
	my $bench = IPC::Run::start(
		[ 'pgbench', '-T', '20', '-c', '2', '-d', $b->connstr('postgres') ],
		'>', \my $bout, '2>', \my $berr);
	my $lag1;
	for my $i (1 .. 4)
	{
		sleep(3);
		DrTest::wait_archived($b);
		$lag1 //= repos_row($b, 2, 'lag_segments') if $i == 2;
	}
	$bench->finish;
	DrTest::wait_archived($b);
	is($b->safe_psql('postgres', 'SELECT failed_count FROM pg_stat_archiver'),
		$failed0, '(b) archiving never failed while the repository that is not required was down');
	ok($b->poll_query_until('postgres',
			"SELECT state = 'unreachable' FROM dr_repositories WHERE repo = 2"),
		'(b) dr_repositories: repo2 unreachable');
	ok($b->poll_query_until('postgres',
			"SELECT lag_segments > " . ($lag1 || 0) . " AND lag_bytes > 0
			   AND last_error IS NOT NULL FROM dr_repositories WHERE repo = 2"),
		'(b) ... with its lag growing and its last error')
	  or diag($b->safe_psql('postgres', 'SELECT * FROM dr_repositories'));
	is(repos_row($b, 1, 'state'), 'ok', '(b) repo1 stays ok');

	# the server back on the same port, with the same store
	$s3 = S3Server->start("$tmp/b", bucket => 'pgdr', tls => 0, port => $port);
	note('s3rver started again');
	my $bincr = $b->safe_psql('postgres', 'SELECT dr_backup_incremental()');
	DrTest::wait_archived($b);
	ok($b->poll_query_until('postgres',
			"SELECT state = 'ok' AND lag_segments = 0 AND lag_bytes = 0
			   AND backups_missing = 0 AND newest_backup = '$bincr'
			   FROM dr_repositories WHERE repo = 2"),
		'(b) repo2 caught up: state ok, lag 0')
	  or diag($b->safe_psql('postgres', 'SELECT * FROM dr_repositories'));

	###########################################################################
	# (c) repo2 required and down: archiving waits for it
	###########################################################################
	conf_write($confB, $confB_text . "repo2_required = on\n");
	is($b->safe_psql('postgres', 'SELECT required FROM dr_repositories WHERE repo = 2'),
		't', '(c) repo2 is now required');
	$s3->stop;
	my $failed1 = $b->safe_psql('postgres', 'SELECT failed_count FROM pg_stat_archiver');
	$b->safe_psql('postgres', 'CREATE TABLE c_mark AS SELECT 42 AS answer');
	my $seg = $b->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn())');
	$b->safe_psql('postgres', 'SELECT pg_switch_wal()');
	ok($b->poll_query_until('postgres',
			"SELECT failed_count > $failed1 FROM pg_stat_archiver"),
		'(c) archiving fails while a required repository is down');
	ok(-f $b->data_dir . "/pg_wal/archive_status/$seg.ready",
		'(c) the segment stays .ready');

	$s3 = S3Server->start("$tmp/b", bucket => 'pgdr', tls => 0, port => $port);
	ok($b->poll_query_until('postgres',
			"SELECT last_archived_wal >= '$seg' FROM pg_stat_archiver"),
		'(c) archived once repo2 is back');
	ok(!-f $b->data_dir . "/pg_wal/archive_status/$seg.ready",
		'(c) ... and no longer .ready');

	$b->stop;
	my $bdump1 = restored_dump($confB, $bincr, 1, 'b_r1');
	my $bdump2 = restored_dump($confB, $bincr, 2, 'b_r2');
	ok(length($bdump1) > 1000 && $bdump1 eq $bdump2,
		'(b) after the outage, repo2 restores the same data as repo1');
	$s3->stop;
}

done_testing();
