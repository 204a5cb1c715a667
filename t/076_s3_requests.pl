# 076_s3_requests.pl
#	How many requests pg_dr makes of an object store (issue 11's speed
#	goals at a 50 ms round trip come down to round trips), counted in the
#	fault proxy's log in front of s3rver:
#	- an archived segment costs one HEAD (the driver's check before the
#	  upload; s3rver ignores If-None-Match) before its PUT: the archiver does
#	  not ask again for what an archive worker pushed, and the push does
#	  not ask before the driver does;
#	- on a store that honours If-None-Match (found out once with a probe
#	  object; the proxy plays such a store in front of s3rver), archived
#	  segments go up with a PUT alone, and one archived again is refused
#	  (412), compared and counted as archived;
#	- a backup's files and bundles are PUT without a HEAD (the backup's
#	  directory has no other writer; backup_label, one object the leader
#	  writes at the end, aside);
#	- a restore (pg_dr restore, 2 jobs) and a verify read the entries of
#	  a bundle through the range cache: at most a few GETs per bundle
#	  object, not one per small file; the restored cluster starts and has
#	  the rows.

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

plan skip_all => 's3rver is not installed (scripts/deps.sh installs it)'
  unless S3Server::available();

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $s3 = S3Server->start($tmp, bucket => 'pgdr', tls => 0);
my $proxy = FaultProxy->start(upstream => '127.0.0.1:' . $s3->port, dir => "$tmp/proxy");
my $endpoint = '127.0.0.1:' . $proxy->port;

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
my $conf = file_write("$tmp/s3.conf",
	($s3->conf_lines(1, path => '/req') =~ s/_endpoint = \S+/_endpoint = $endpoint/r)
	  . "repo1_cipher_key_file = '$key'\n", 0644);
command_ok([ 'pg_dr', 'repo-create', '--config', $conf, '--kdf-iterations', '1000' ],
	'repo-create on s3 through the proxy');

my $node = DrTest::node_new('s3req', $conf);
$node->append_conf('postgresql.conf', qq{
archive_mode = on
archive_library = 'pg_dr'
});
$node->restart;
DrTest::wait_worker($node);
$node->command_ok([ 'pgbench', '-i', '-s', '1', '-q', 'postgres' ], 'pgbench -i');
DrTest::wait_archived($node);

# requests of the log, as [method, key] (the key after /pgdr/req/)
sub requests
{
	my @r;
	for ($proxy->log)
	{
		push @r, [ $1, $2 ] if m{^\d+ c\d+ (\S+) /pgdr/req/(\S*)};
	}
	return @r;
}

# =====================================================================
# Archiving: one HEAD and one PUT per segment
# =====================================================================
$proxy->log_clear;
for my $i (1 .. 6)
{
	$node->safe_psql('postgres',
		"INSERT INTO pgbench_history (tid, bid, aid, delta, mtime)
		 SELECT 1, 1, g, $i, now() FROM generate_series(1, 20000) g");
	DrTest::wait_archived($node);
}
my (%head, %put);
for (requests())
{
	my ($m, $k) = @$_;
	next unless $k =~ m{^archive/wal/[0-9A-F]{16}/([0-9A-F]{24})$};
	$head{$1}++ if $m eq 'HEAD';
	$put{$1}++ if $m eq 'PUT';
}
my @segs = sort keys %put;
cmp_ok(scalar(@segs), '>=', 6, scalar(@segs) . ' segments archived meanwhile');
# (a PUT retried after a lost answer or a 5xx adds a PUT, never a HEAD:
# PUTs are not counted)
# (the first one's upload may have begun, with its HEAD, before the log
# was cleared)
my @unasked = grep { !$head{$_} } @segs;
ok(@unasked == 0 || (@unasked == 1 && $unasked[0] eq $segs[0]),
	'no segment but the first went up without a HEAD') or diag("@unasked");
is(join(',', map { "$_:$head{$_}" } grep { ($head{$_} // 0) > 1 } @segs), '',
	'every segment asked for once (HEAD), not three times');
# s3rver ignores If-None-Match: the driver found that out with a probe
# object under check/, which it removed
ok(!(grep { m{ PUT /pgdr/req/check/precondition-[0-9a-f]{16} } } $proxy->log) ||
   (grep { m{ DELETE /pgdr/req/check/precondition-[0-9a-f]{16} } } $proxy->log),
	'the precondition probe (if made meanwhile) was removed');

# =====================================================================
# A full backup: no HEAD before its files and bundles
# =====================================================================
$proxy->log_clear;
my $backup = $node->safe_psql('postgres', "SELECT dr_backup_full('req')");
like($backup, qr/^\d{8}-\d{6}F$/, "backup $backup");
my (@data_head, %bundles, $data_put);
for (requests())
{
	my ($m, $k) = @$_;
	next unless $k =~ m{^backup/\Q$backup\E/(data|bundle)/(.*)$};
	# (backup_label, which the leader writes once at the end, may be asked)
	push @data_head, $k if $m eq 'HEAD' && $k !~ m{/data/backup_label$};
	$data_put++ if $m eq 'PUT';
	$bundles{$2} = 1 if $1 eq 'bundle' && $m eq 'PUT';
}
cmp_ok($data_put // 0, '>', 10, ($data_put // 0) . ' objects of files and bundles PUT');
is(scalar(@data_head), 0, 'not one HEAD before them') or diag(join("\n", @data_head));
my $nbundles = keys %bundles;
cmp_ok($nbundles, '>=', 1, "$nbundles bundle objects");

# =====================================================================
# Restore and verify: a few GETs per bundle, not one per entry
# =====================================================================
my $rows = $node->safe_psql('postgres', 'SELECT count(*) FROM pgbench_history');
$node->stop;

# the GETs of bundle objects in the log, and the distinct entries read
sub bundle_gets
{
	my $n = 0;
	for (requests())
	{
		$n++ if $_->[0] eq 'GET' && $_->[1] =~ m{^backup/\Q$backup\E/bundle/};
	}
	return $n;
}

$proxy->log_clear;
my ($rc, $out, $err) = DrTest::restore_with({ conf => $conf }, "$tmp/restored",
	'--backup', $backup, '--jobs', '2');
is($rc, 0, 'pg_dr restore with 2 jobs') or diag($err);
my $gets = bundle_gets();
cmp_ok($gets, '<=', 2 * 2 * $nbundles,
	"restore: $gets GETs of $nbundles bundle objects (at most 2 per bundle and job)");

my $restored = DrTest::node_from_restore('s3req_restored', "$tmp/restored");
is($restored->safe_psql('postgres', 'SELECT count(*) FROM pgbench_history'), $rows,
	"the restored cluster has the $rows rows");
$restored->stop;

$node->start;
$proxy->log_clear;
is($node->safe_psql('postgres', "SELECT dr_backup_verify('$backup')"), 't',
	'dr_backup_verify() finds the backup sound');
$gets = bundle_gets();
cmp_ok($gets, '<=', 2 * $nbundles,
	"verify: $gets GETs of $nbundles bundle objects (at most 2 per bundle)");
$node->stop;


# =====================================================================
# A store that honours If-None-Match (S3 since 2024-08): the proxy plays
# one in front of s3rver (action create-only: a create-only PUT of a key
# it saw created is answered 412).  After a few create-only writes each
# archiving process probes once, finds the header honoured, and sends its
# segments with a PUT alone; a segment archived again (a crash between the
# store and the server's note, as pg_wal/archive_status/*.ready) is
# refused 412, compared, and counts as archived.
# =====================================================================
my $conf2 = file_write("$tmp/s3_honours.conf",
	($s3->conf_lines(1, path => '/honours') =~ s/_endpoint = \S+/_endpoint = $endpoint/r)
	  . "repo1_cipher_key_file = '$key'\n", 0644);
$proxy->rules('* /pgdr/honours/* count=all action=create-only');
command_ok([ 'pg_dr', 'repo-create', '--config', $conf2, '--kdf-iterations', '1000' ],
	'repo-create of a repository on a store that honours If-None-Match');
my $hon = DrTest::node_new('s3hon', $conf2);
$hon->append_conf('postgresql.conf', qq{
archive_mode = on
archive_library = 'pg_dr'
pg_dr.archive_workers = 1
});
$hon->restart;
DrTest::wait_worker($hon);
$proxy->log_clear;
for my $i (1 .. 14)
{
	$hon->safe_psql('postgres', "CREATE TABLE h$i AS SELECT g FROM generate_series(1, 1000) g");
	DrTest::wait_archived($hon);
}
my @log = $proxy->log;
my @probe_put = grep { m{ PUT /pgdr/honours/check/precondition-[0-9a-f]{16} } } @log;
ok(@probe_put >= 2, 'the archive worker probed the store (' . scalar(@probe_put) . ' PUTs of the probe)');
ok((grep { m{ PUT /pgdr/honours/check/precondition-\S+ status 412 } } @log),
	'... the second refused 412');
ok((grep { m{ DELETE /pgdr/honours/check/precondition-} } @log), '... and removed');
# the segments written after the probe: no HEAD
my ($probe_at) = map { /^(\d+) / ? $1 : () } grep { m{ DELETE /pgdr/honours/check/precondition-} } @log;
my (%hhead, %hput);
for (@log)
{
	my ($seq, $m, $seg) = m{^(\d+) c\d+ (HEAD|PUT) /pgdr/honours/archive/wal/[0-9A-F]{16}/([0-9A-F]{24}) } or next;
	next unless $seq > $probe_at;
	$m eq 'HEAD' ? $hhead{$seg}++ : $hput{$seg}++;
}
cmp_ok(scalar(keys %hput), '>=', 3, scalar(keys %hput) . ' segments archived after the probe');
is(join(',', sort keys %hhead), '', '... with no HEAD before their PUT');

# a segment archived again: refused by the store, compared, archived
# (the server keeps running: the worker that probed pushes it)
my $again = (sort keys %hput)[-1];
my $pgdata = $hon->data_dir;
ok(-e "$pgdata/pg_wal/$again", "segment $again still in pg_wal");
$proxy->log_clear;
rename("$pgdata/pg_wal/archive_status/$again.done", "$pgdata/pg_wal/archive_status/$again.ready")
  or die "rename: $!";
$hon->safe_psql('postgres', 'CREATE TABLE again AS SELECT 1 AS x');
DrTest::wait_archived($hon);
$hon->poll_query_until('postgres',
	"SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_ls_archive_statusdir() WHERE name = '$again.ready')")
  or die "$again not archived again";
@log = $proxy->log;
ok((grep { m{ PUT /pgdr/honours/archive/wal/[0-9A-F]{16}/$again status 412 } } @log),
	"$again archived again: the store refused the create-only PUT (412)");
ok((grep { m{ GET /pgdr/honours/archive/wal/[0-9A-F]{16}/$again } } @log),
	'... and the archive module read the object to compare');
is($hon->safe_psql('postgres', 'SELECT failed_count FROM pg_catalog.pg_stat_archiver'), '0',
	'... which counted as archived: no failure');
$hon->stop;
$proxy->rules();

$proxy->stop;
$s3->stop;
done_testing();
