# 077_expire_repos.pl
#	Retention in every repository, and the bound of dr_jobs, on one server
#	archiving into two posix repositories (repo1 required).
#
#	1. dr_expire() applies each repository's own policy (repo1 keeps 3
#	   fulls, repo2 one), a row per repository; a legal hold set with
#	   dr_backup_keep() is in both repositories and keeps its backup in
#	   each; the WAL each keeps matches its kept backups; the catch-up does
#	   not copy back what repo2's retention removed (its horizon skips the
#	   held backup).
#	2. A repository that cannot be opened (mode 000): a WARNING names it, its row
#	   carries the error, the other is expired and the call succeeds;
#	   repo => 2 alone fails; repo => 3 is 22023 naming the configured ones;
#	   with neither reachable the call fails naming both.
#	3. The tier's retention: repo2 without a policy of its own takes the
#	   tier's (policy_from = tier); pg_dr expire --repo 2 reads it from the
#	   server (--dbname) and says so, and without a server fails saying
#	   that nothing is removed.
#	4. The scheduler's expiry after its backup goes through every
#	   repository (dr_jobs.expired has a part per repository).
#	5. dr_jobs is pruned by pg_dr.jobs_retention: old finished rows go,
#	   never a running one's nor the scheduler's last success and the
#	   failures after it; pg_dr_jobs_total does not go down.
use strict;
use warnings;

use lib 't/lib';
use DrTest;
use Fcntl qw(O_WRONLY O_CREAT O_EXCL);
use IPC::Run;
use MIME::Base64 qw(encode_base64);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my ($repo1, $repo2) = ("$tmp/repo1", "$tmp/repo2");
my $conf = "$tmp/pg_dr.conf";
my %keys;
for my $n (1 .. 2)
{
	open(my $rand, '<:raw', '/dev/urandom') or die "/dev/urandom: $!";
	read($rand, my $bytes, 48) == 48 or die 'short read from /dev/urandom';
	close($rand);
	$keys{$n} = "$tmp/k$n.key";
	sysopen(my $fh, $keys{$n}, O_WRONLY | O_CREAT | O_EXCL, 0600) or die "$keys{$n}: $!";
	print $fh encode_base64($bytes, ''), "\n";
	close($fh) or die;
}

# the configuration, with retention_full of each repository (undef: none)
sub write_conf
{
	my (%full) = @_;
	my $text = "compress_level = 3\n";
	for my $n (1 .. 2)
	{
		$text .= "repo${n}_type = posix\nrepo${n}_path = '$tmp/repo$n'\n"
		  . "repo${n}_cipher_key_file = '$keys{$n}'\n";
		$text .= "repo${n}_retention_full = $full{$n}\n" if defined $full{$n};
	}
	open(my $cfh, '>', $conf) or die;
	print $cfh $text;
	close($cfh) or die;
	return;
}
write_conf();
for my $n (1 .. 2)
{
	command_ok([ 'pg_dr', 'repo-create', '--config', $conf, '--repo', $n,
			'--kdf-iterations', '1000' ], "repo-create repo$n");
}

my $node = PostgreSQL::Test::Cluster->new('expire_repos');
$node->init(allows_streaming => 1);
$node->append_conf('postgresql.conf',
	DrTest::_pg_dr_conf($conf) . "archive_mode = on\narchive_library = 'pg_dr'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_dr');
DrTest::wait_worker($node);
$node->safe_psql('postgres', 'CREATE TABLE filler (i int)');

sub full_backup
{
	my $id = $node->safe_psql('postgres', 'SELECT dr_backup_full()');
	$node->safe_psql('postgres', 'INSERT INTO filler SELECT generate_series(1, 1000)');
	DrTest::wait_archived($node);
	DrTest::wait_archived($node);
	return $id;
}

sub in_both
{
	my (@ids) = @_;
	my $list = join(',', map { "'$_'" } @ids);
	return $node->poll_query_until('postgres',
		"SELECT count(*) = " . scalar(@ids) . " FROM dr_backups"
		  . " WHERE backup_id IN ($list) AND repos = '{1,2}'");
}

sub segments_of
{
	my ($id) = @_;
	return split /\|/, $node->safe_psql('postgres',
		"SELECT pg_walfile_name(start_lsn), pg_walfile_name(stop_lsn) FROM dr_backups WHERE backup_id = '$id'");
}

sub wal_in
{
	my ($repo, $seg) = @_;
	return -f "$repo/archive/wal/" . substr($seg, 0, 16) . "/$seg";
}

my @f = map { full_backup() } 0 .. 3;
ok(in_both(@f), 'four fulls, copied to repo2 by the catch-up');
my @seg = map { [ segments_of($_) ] } @f;

# ---- 1. each repository by its own policy; the hold in both ---------------
is($node->safe_psql('postgres', "SELECT dr_backup_keep('$f[1]', 'infinity')"),
	'infinity', "$f[1] held");
ok(-f "$repo1/backup/$f[1]/hold" && -f "$repo2/backup/$f[1]/hold",
	'the hold is in both repositories');
$node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM dr_audit WHERE operation = 'dr_backup_keep'")
  or die 'the hold was not audited';
is($node->safe_psql('postgres',
	"SELECT arguments->'repos' FROM dr_audit WHERE operation = 'dr_backup_keep'"),
	'["1", "2"]', 'the audit record says where the hold was set');

write_conf(1 => 3, 2 => 1);
my ($rc, $out, $err) = $node->psql('postgres',
	"SELECT repo, backups_removed, array_to_string(backups, ','), policy_from, error IS NULL
	   FROM dr_expire() ORDER BY repo");
is($out, "1|1|$f[0]|repository|t\n2|2|$f[0],$f[2]|repository|t",
	'dr_expire(): a row per repository, each by its own policy, the held backup kept in both')
  or diag($err);
ok(!-e "$repo1/backup/$f[0]" && -f "$repo1/backup/$f[2]/manifest",
	"repo1 keeps its three newest: $f[0] gone, $f[2] kept");
ok(!-e "$repo2/backup/$f[2]" && -f "$repo2/backup/$f[1]/manifest"
	  && -f "$repo2/backup/$f[3]/manifest", "repo2 keeps its newest and the held $f[1]");
ok(!wal_in($repo1, $seg[0][0]) && !wal_in($repo2, $seg[0][0]),
	"the WAL of $f[0] is gone from both");
ok(wal_in($repo1, $seg[2][0]) && !wal_in($repo2, $seg[2][0]),
	"the WAL of $f[2]: kept in repo1, gone from repo2");
ok(wal_in($repo2, $seg[1][0]) && wal_in($repo2, $seg[1][1]),
	"repo2 keeps the WAL of the held $f[1]");
is($node->safe_psql('postgres', 'SELECT ok FROM dr_wal_verify(repo => 1)'), 't',
	'repo1: its WAL is continuous from its oldest kept backup');
is($node->safe_psql('postgres', "SELECT string_agg(backup_id, ',' ORDER BY backup_id) FROM dr_backups"),
	join(',', @f[1 .. 3]), 'dr_backups follows the first repository');
$node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM dr_audit WHERE operation = 'dr_expire'")
  or die 'dr_expire was not audited';
is($node->safe_psql('postgres', q{
	SELECT arguments->>'repo1_policy_from', arguments->'repo2_backups', arguments->>'failed'
	  FROM dr_audit WHERE operation = 'dr_expire'}),
	qq{repository|["$f[0]", "$f[2]"]|0}, 'the audit record has each repository\'s part');

# a new backup makes the catch-up run at once: it copies the new one, and
# not what repo2's retention removed
my $f4 = full_backup();
ok(in_both($f4), "$f4 copied to repo2");
ok(!-e "$repo2/backup/$f[2]", "the catch-up did not copy $f[2] back into repo2");

# ---- 2. a repository that cannot be opened (its directory unreadable) ------
write_conf(1 => 1, 2 => 1);
chmod(0000, $repo2) or die "chmod: $!";
($rc, $out, $err) = $node->psql('postgres',
	"SELECT repo, backups_removed, error IS NOT NULL FROM dr_expire() ORDER BY repo");
is($rc, 0, 'dr_expire() with repo2 unreadable succeeds');
is($out, "1|2|f\n2|0|t", 'repo1 expired (two fulls), repo2 reported with its error');
like($err, qr/WARNING:  repo2 is not expired: /, 'a WARNING names repo2');
($rc, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\nSELECT * FROM dr_expire(repo => 2)");
isnt($rc, 0, 'dr_expire(repo => 2) alone fails');
like($err, qr/ERROR:  [0-9A-Z]{5}: .*\Q$repo2\E/, 'naming the repository');
($rc, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\nSELECT * FROM dr_expire(repo => 3)");
like($err, qr/ERROR:  22023: repository 3 is not configured: .* configures repositories 1 and 2/,
	'repo => 3: 22023 naming the configured ones');
# both: nothing could be expired, the call fails naming each
chmod(0000, $repo1) or die "chmod: $!";
($rc, $out, $err) = $node->psql('postgres', 'SELECT * FROM dr_expire()');
chmod(0700, $repo1) or die "chmod: $!";
like($err, qr/ERROR:  no repository could be expired: repo1: .*; repo2: /,
	'no repository reachable: the call fails naming each');
chmod(0700, $repo2) or die "chmod: $!";

# ---- 3. the tier's retention, in SQL and in the CLI ------------------------
write_conf(1 => 1);
$node->safe_psql('postgres', "UPDATE dr_objectives SET retention_full = 1 WHERE tier = 'critical'");
is($node->safe_psql('postgres',
	'SELECT repo, policy_from, backups_removed FROM dr_expire() ORDER BY repo'),
	"1|repository|0\n2|tier|1", 'repo2 without a policy of its own takes the tier\'s');
my $connstr = $node->connstr('postgres');
command_like([ 'pg_dr', 'expire', '--config', $conf, '--repo', '2', '--dry-run',
		'--dbname', $connstr ],
	qr/^repo2: policy of the tier "critical" \(dr_objectives on the server\): keep 1 full backups$/m,
	'pg_dr expire reads the tier\'s retention from the server and says so');
command_like([ 'pg_dr', 'expire', '--config', $conf, '--repo', '1', '--dry-run' ],
	qr/^repo1: policy of the repository \(repo1_retention_full\): keep 1 full backups$/m,
	'a repository\'s own policy needs no server');
command_checks_all([ 'pg_dr', 'expire', '--config', $conf, '--repo', '2',
		'--dbname', "host=$tmp/nosocket port=1 connect_timeout=2" ],
	1, [qr/\A\z/],
	[ qr/error: repo2 sets no retention policy \(repo2_retention_full\) and the tier's cannot be read from the server: /,
	  qr/No policy is applied: nothing is removed/, qr/hint: Give the server with --dbname/ ],
	'no server: pg_dr expire fails saying that nothing is removed');
$node->safe_psql('postgres', "UPDATE dr_objectives SET retention_full = NULL WHERE tier = 'critical'");
command_like([ 'pg_dr', 'expire', '--config', $conf, '--repo', '2', '--dbname', $connstr ],
	qr/^repo2 has no retention policy \(repo2_retention_full, nor retention_full of the tier "critical" in dr_objectives\): nothing is removed$/m,
	'no policy anywhere: said, nothing removed');

# ---- 4. the scheduler's expiry covers every repository ---------------------
for my $s ([ 'full_at', 'NULL' ], [ 'full_interval', "'1 day'" ],
	[ 'incremental_min_interval', "'10 seconds'" ], [ 'incremental_interval', "'10 seconds'" ])
{
	$node->safe_psql('postgres',
		"SELECT dr_schedule_policy_set('critical', '$s->[0]', $s->[1])");
}
$node->safe_psql('postgres', 'ALTER SYSTEM SET pg_dr.schedule = on; SELECT pg_reload_conf()');
ok($node->poll_query_until('postgres', q{
	SELECT count(*) > 0 FROM dr_jobs WHERE trigger = 'scheduled' AND expired IS NOT NULL}),
	'a scheduled job ran, and its expiry');
$node->safe_psql('postgres', 'ALTER SYSTEM SET pg_dr.schedule = off; SELECT pg_reload_conf()');
like($node->safe_psql('postgres',
	"SELECT expired FROM dr_jobs WHERE trigger = 'scheduled' AND expired IS NOT NULL ORDER BY id LIMIT 1"),
	qr/^repo1: \d+ backups, \d+ WAL files, \d+ bytes removed; repo2: \d+ backups, \d+ WAL files, \d+ bytes removed$/,
	'the scheduled expiry ran in each repository');
$node->poll_query_until('postgres', "SELECT running_job IS NULL FROM dr_schedule")
  or die 'the scheduled job did not end';

# ---- 5. dr_jobs is bounded -------------------------------------------------
sub jobs_total
{
	my ($trigger, $kind, $result) = @_;
	my $m = $node->safe_psql('postgres', 'SELECT dr_metrics()');
	return $m =~ /^pg_dr_jobs_total\{trigger="$trigger",kind="$kind",result="$result"\} (\S+)$/m ? $1 : 0;
}
$node->safe_psql('postgres', q{
	INSERT INTO pgdr.jobs (kind, trigger, started_at, finished_at, result, error) VALUES
	  ('full', 'manual', now() - interval '200 days', now() - interval '200 days', 'ok', 'old manual'),
	  ('full', 'manual', now() - interval '200 days', NULL, 'running', 'old running'),
	  ('incremental', 'scheduled', now() - interval '200 days', now() - interval '200 days', 'ok', 'old last ok'),
	  ('incremental', 'scheduled', now() - interval '199 days', now() - interval '199 days', 'failed', 'old failure after it')});
my $manual_before = jobs_total('manual', 'full', 'ok');
my $rows_before = $node->safe_psql('postgres', 'SELECT count(*) FROM dr_jobs');
$node->safe_psql('postgres', q{ALTER SYSTEM SET pg_dr.jobs_retention = '30d'; SELECT pg_reload_conf()});
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 0 FROM dr_jobs WHERE error = 'old manual'}),
	'a changed pg_dr.jobs_retention: the old finished row is pruned at once');
is($node->safe_psql('postgres', q{
	SELECT string_agg(error, ',' ORDER BY id) FROM dr_jobs WHERE started_at < now() - interval '30 days'}),
	'old running,old last ok,old failure after it',
	'kept: a running row, the scheduler\'s last success and the failure after it');
is($node->safe_psql('postgres', 'SELECT count(*) FROM dr_jobs'), $rows_before - 1,
	'the recent rows stay');
is(jobs_total('manual', 'full', 'ok'), $manual_before, 'pg_dr_jobs_total does not go down');
($rc, $out, $err) = $node->psql('postgres', q{ALTER SYSTEM SET pg_dr.jobs_retention = '10s'});
like($err, qr/10 s is outside the valid range/, 'pg_dr.jobs_retention below a minute is refused');

$node->stop;
done_testing();
