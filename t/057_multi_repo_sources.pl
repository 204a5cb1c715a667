# The catch-up never trusts its source (docs/storage.md, "Several
# repositories"): three posix repositories with three passphrases, repo1
# required.  repo2 is taken away (its directory moved) while WAL is
# archived into repo1 and repo3; one of those segments is then damaged in
# repo1.  When repo2 is back, the catch-up tries repo1 first (the required
# one), finds the damage, records it as repo1's last error, and copies the
# segment from repo3 instead: repo2's copy is the authentic segment
# (`pg_dr wal-get --repo 2` returns the same bytes as from repo3), and no
# view shows a passphrase.
use strict;
use warnings;

use lib 't/lib';
use DrTest;
use Digest::SHA qw(sha256_hex);
use Fcntl qw(O_WRONLY O_CREAT O_EXCL O_RDWR SEEK_SET);
use MIME::Base64 qw(encode_base64);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my %secret;

sub key_file
{
	my ($path) = @_;
	my $text = encode_base64(join('', map { chr(int(rand(256))) } 1 .. 48), '');
	sysopen(my $fh, $path, O_WRONLY | O_CREAT | O_EXCL, 0600)
	  or die "could not create \"$path\": $!";
	print $fh $text, "\n";
	close($fh) or die;
	$secret{$path} = $text;
	return $path;
}

my $conf = "$tmp/pg_dr.conf";
my $text = '';
for my $n (1 .. 3)
{
	my $key = key_file("$tmp/k$n.key");
	$text .= "repo${n}_type = posix\nrepo${n}_path = '$tmp/repo$n'\n"
	  . "repo${n}_cipher_key_file = '$key'\n";
}
open(my $cfh, '>', $conf) or die;
print $cfh $text;
close($cfh) or die;
for my $n (1 .. 3)
{
	command_ok([ 'pg_dr', 'repo-create', '--config', $conf, '--repo', $n,
			'--kdf-iterations', '1000' ], "repo-create repo$n");
}

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init(allows_streaming => 1);
$node->append_conf('postgresql.conf',
	DrTest::_pg_dr_conf($conf) . "archive_mode = on\narchive_library = 'pg_dr'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_dr');
DrTest::wait_worker($node);

$node->safe_psql('postgres', 'CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g');
DrTest::wait_archived($node);
ok($node->poll_query_until('postgres',
		"SELECT bool_and(state = 'ok' AND lag_segments = 0) FROM dr_repositories"),
	'three repositories in step');

# repo2 goes away: its directory cannot be entered (the tests do not run
# as root)
chmod(0000, "$tmp/repo2") or die "chmod: $!";
my $failed0 = $node->safe_psql('postgres', 'SELECT failed_count FROM pg_stat_archiver');
$node->safe_psql('postgres', 'INSERT INTO t SELECT g FROM generate_series(1, 1000) g');
my $seg = $node->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn())');
DrTest::wait_archived($node);
$node->safe_psql('postgres', 'INSERT INTO t SELECT g FROM generate_series(1, 10) g');
DrTest::wait_archived($node);
is($node->safe_psql('postgres', 'SELECT failed_count FROM pg_stat_archiver'),
	$failed0, 'archiving goes on without repo2');
ok($node->poll_query_until('postgres',
		"SELECT state = 'unreachable' AND lag_segments > 0 FROM dr_repositories WHERE repo = 2"),
	'repo2 unreachable, behind')
  or diag($node->safe_psql('postgres', 'SELECT * FROM dr_repositories'));

# damage $seg in repo1: a byte in the middle of its object
my $dir = substr($seg, 0, 16);
my $obj1 = "$tmp/repo1/archive/wal/$dir/$seg";
ok(-f $obj1 && -f "$tmp/repo3/archive/wal/$dir/$seg", "$seg is in repo1 and repo3");
{
	my $size = -s $obj1;
	chmod(0600, $obj1);
	sysopen(my $fh, $obj1, O_RDWR) or die "$obj1: $!";
	sysseek($fh, int($size / 2), SEEK_SET) or die;
	sysread($fh, my $byte, 1) == 1 or die;
	sysseek($fh, int($size / 2), SEEK_SET) or die;
	syswrite($fh, chr(ord($byte) ^ 0xff), 1) == 1 or die;
	close($fh) or die;
}

# repo2 comes back: the catch-up copies $seg from repo3, not from repo1
chmod(0700, "$tmp/repo2") or die "chmod: $!";
ok($node->poll_query_until('postgres',
		"SELECT state = 'ok' AND lag_segments = 0 FROM dr_repositories WHERE repo = 2"),
	'repo2 caught up')
  or diag($node->safe_psql('postgres', 'SELECT * FROM dr_repositories'));
ok(-f "$tmp/repo2/archive/wal/$dir/$seg", "$seg is in repo2");
like($node->safe_psql('postgres', 'SELECT last_error FROM dr_repositories WHERE repo = 1'),
	qr/\Q$seg\E/, "repo1's last error names the damaged $seg");

my ($out2, $err2, $out3, $err3);
IPC::Run::run([ 'pg_dr', 'wal-get', '--config', $conf, '--repo', '2', $seg, "$tmp/$seg.2" ],
	'>', \$out2, '2>', \$err2);
is($? >> 8, 0, "wal-get $seg from repo2") or diag($err2);
IPC::Run::run([ 'pg_dr', 'wal-get', '--config', $conf, '--repo', '3', $seg, "$tmp/$seg.3" ],
	'>', \$out3, '2>', \$err3);
is($? >> 8, 0, "wal-get $seg from repo3") or diag($err3);
is(sha256_hex(slurp_file("$tmp/$seg.2")), sha256_hex(slurp_file("$tmp/$seg.3")),
	"repo2's copy of $seg is the authentic segment");

# repo2's copy is encrypted under repo2's own keyring: it differs from
# repo3's object byte for byte
isnt(sha256_hex(slurp_file("$tmp/repo2/archive/wal/$dir/$seg")),
	sha256_hex(slurp_file("$tmp/repo3/archive/wal/$dir/$seg")),
	'the copy is encoded again for repo2');

# no passphrase in any view
my $views = $node->safe_psql('postgres',
	'SELECT (SELECT string_agg(r::text, E\'\n\') FROM dr_repositories r) || '
	  . '(SELECT string_agg(a::text, E\'\n\') FROM dr_archive_status a) || '
	  . '(SELECT string_agg(c::text, E\'\n\') FROM dr_config c)');
ok(!grep({ index($views, $_) >= 0 } values %secret), 'no passphrase in the views');

done_testing();
