# 002_repo_info.pl
#	pg_dr repo-create and pg_dr info: creating a repository, reporting it
#	and its backups as text and as JSON, and the clear failures around them
#	(repository already there or not there yet, wrong passphrase, unsafe
#	key file, bad or missing configuration file).

use strict;
use warnings;

use Digest::SHA qw(sha256 sha256_hex);
use Fcntl qw(O_WRONLY O_CREAT O_EXCL);
use File::Path;
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp = PostgreSQL::Test::Utils::tempdir();

# A passphrase file as an operator would make it: random, 64 characters,
# created with mode 0600 (never readable by others, even briefly).
sub write_key_file
{
	my ($path) = @_;
	open(my $rand, '<:raw', '/dev/urandom') or die "could not open /dev/urandom: $!";
	read($rand, my $bytes, 48) == 48 or die "short read from /dev/urandom";
	close($rand);
	sysopen(my $fh, $path, O_WRONLY | O_CREAT | O_EXCL, 0600)
	  or die "could not create \"$path\": $!";
	print $fh encode_base64($bytes, ''), "\n";
	close($fh) or die "could not write \"$path\": $!";
	chmod(0600, $path) or die "could not chmod \"$path\": $!";
	return;
}

sub write_file
{
	my ($path, $text) = @_;
	open(my $fh, '>', $path) or die "could not create \"$path\": $!";
	print $fh $text;
	close($fh) or die "could not write \"$path\": $!";
	return;
}

sub repo_config
{
	my ($repo, $key) = @_;
	return "# pg_dr test configuration\n"
	  . "repo1_type = posix\n"
	  . "repo1_path = '$repo'\n"
	  . "repo1_cipher_key_file = '$key'\n";
}

sub run_pg_dr
{
	my ($stdout, $stderr);
	IPC::Run::run([ 'pg_dr', @_ ], '>', \$stdout, '2>', \$stderr);
	return ($? >> 8, $stdout, $stderr);
}

my $repo = "$tmp/repo";
my $key = "$tmp/repo.key";
my $conf = "$tmp/pg_dr.conf";
mkdir($repo) or die "could not create \"$repo\": $!";
write_key_file($key);
write_file($conf, repo_config($repo, $key));

# info before the repository exists says how to create it
command_checks_all([ 'pg_dr', 'info', '--config', $conf ],
	1, [qr/\A\z/], [ qr/^pg_dr: error: /m, qr/^pg_dr: hint: .*repo-create/m ],
	'info on a repository not created yet');

# repo-create
command_checks_all(
	[ 'pg_dr', 'repo-create', '--config', $conf, '--kdf-iterations', '1000' ],
	0,
	[
		qr/^created repository 1 \(posix\) at "\Q$repo\E"$/m,
		qr/^\s+cipher:\s+aes-256-gcm$/m,
		qr/^\s+kdf:\s+pbkdf2-sha256, 1000 iterations$/m,
		qr/^\s+kek id:\s+[0-9a-f]{16}$/m,
		qr/Keep a copy of the key file "\Q$key\E"/
	],
	[qr/\A\z/],
	'repo-create');
ok(-f "$repo/pg_dr.repo", 'repo-create wrote the info file');

# an empty repository: no backup, no WAL -- pg_dr verify --wal says so
command_checks_all(
	[ 'pg_dr', 'verify', '--config', $conf, '--wal' ],
	1,
	[ qr{^archive/wal: the WAL archive holds no segment$}m, qr/^1 problem found$/m ],
	[qr/^pg_dr: repository "\Q$repo\E" has no backup: the WAL archive is checked from its oldest segment$/m],
	'verify --wal on an empty repository');

# a second repo-create refuses and leaves the repository alone
my $info_before = slurp_file("$repo/pg_dr.repo");
command_checks_all(
	[ 'pg_dr', 'repo-create', '--config', $conf, '--kdf-iterations', '1000' ],
	1, [qr/\A\z/], [qr/^pg_dr: error: .*exists/m],
	'repo-create on an existing repository fails');
is(slurp_file("$repo/pg_dr.repo"), $info_before, 'the info file is unchanged');

# info, text
command_checks_all(
	[ 'pg_dr', 'info', '--config', $conf ],
	0,
	[
		qr/^config: \Q$conf\E$/m,
		qr/^repository 1$/m,
		qr/^\s+type:\s+posix$/m,
		qr/^\s+path:\s+\Q$repo\E$/m,
		qr/^\s+format:\s+1$/m,
		qr/^\s+cipher:\s+aes-256-gcm$/m,
		qr/^\s+kdf:\s+pbkdf2-sha256, 1000 iterations$/m,
		qr/^\s+kek id:\s+[0-9a-f]{16}$/m,
		qr/^\s+created:\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/m,
		qr/^\s+data keys:\s+0$/m,
		qr/^\s+backups:\s+none$/m,
		qr/^\s+wal archive:\s+none$/m,
		qr/^settings$/m,
		qr/^\s+repo1_path = \Q$repo\E \(\Q$conf\E:3\)$/m,
		qr/^\s+repo1_type = posix \(\Q$conf\E:2\)$/m,
		qr/^\s+repo1_cipher_type = aes-256-gcm \(default\)$/m,
		qr/^\s+compress_level = 3 \(default\)$/m
	],
	[qr/\A\z/],
	'info');

# info, JSON
my ($status, $stdout, $stderr) = run_pg_dr('info', '--config', $conf, '--json');
is($status, 0, 'info --json succeeds');
is($stderr, '', 'info --json prints nothing on stderr');
my $doc = eval { JSON::PP->new->decode($stdout) };
ok(defined $doc, 'info --json prints valid JSON') or diag("$@\n$stdout");
is($doc->{config}, $conf, 'json: config');
is(scalar @{ $doc->{repositories} }, 1, 'json: one repository');
my $r = $doc->{repositories}[0];
is($r->{repo}, 1, 'json: repo number');
is($r->{type}, 'posix', 'json: type');
is($r->{path}, $repo, 'json: path');
is($r->{format}, 1, 'json: format');
is($r->{cipher}, 'aes-256-gcm', 'json: cipher');
is($r->{kdf}, 'pbkdf2-sha256', 'json: kdf');
is($r->{kdf_iterations}, 1000, 'json: kdf_iterations');
like($r->{kek_id}, qr/\A[0-9a-f]{16}\z/, 'json: kek_id');
like($r->{created}, qr/\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\z/, 'json: created');
is($r->{data_keys}, 0, 'json: data_keys');
is_deeply($r->{backups}, [], 'json: no backups');
is($r->{archive_segments}, 0, 'json: no archived WAL');
my %settings = map { $_->{name} => $_ } @{ $doc->{settings} };
is($settings{repo1_path}{value}, $repo, 'json: setting value');
is($settings{repo1_path}{source}, "$conf:3", 'json: setting source');
is($settings{compress_level}{source}, 'default', 'json: default setting');
is_deeply(
	[ map { $_->{name} } @{ $doc->{settings} } ],
	[ sort map { $_->{name} } @{ $doc->{settings} } ],
	'json: settings sorted by name');

# --repo names the repository; one that is not configured is an error
command_like([ 'pg_dr', 'info', '--config', $conf, '--repo', '1' ],
	qr/^repository 1$/m, 'info --repo 1');
command_checks_all([ 'pg_dr', 'info', '--config', $conf, '--repo', '2' ],
	1, [qr/\A\z/],
	[ qr/^pg_dr: error: repository 2 is not configured in "\Q$conf\E"$/m,
	  qr/^pg_dr: hint: Set repo2_type and repo2_path/m ],
	'info --repo 2, not configured');

# A backup is what has a manifest: directories under backup/ without one
# (a backup that never finished), whatever their names, are not listed.
mkdir("$repo/backup") or die;
my @awkward = ('20240101-000000F', "q\"uote\\back", "new\nline", "latin1-\xe9");
for my $id (@awkward)
{
	mkdir("$repo/backup/$id") or die "could not create backup dir: $!";
}
write_file("$repo/backup/not-a-backup", '');
mkdir("$repo/archive") or die;
mkdir("$repo/archive/wal") or die;
mkdir("$repo/archive/wal/0000000100000000") or die;
write_file("$repo/archive/wal/0000000100000000/000000010000000000000001", 'x');
($status, $stdout, $stderr) = run_pg_dr('info', '--config', $conf, '--json');
is($status, 0, 'info --json with backup directories');
$doc = eval { JSON::PP->new->decode($stdout) };
ok(defined $doc, 'info --json prints valid JSON') or diag("$@\n$stdout");
is_deeply($doc->{repositories}[0]{backups}, [],
	'json: directories without a manifest are not backups');
is($doc->{repositories}[0]{archive_segments}, 1, 'json: archived files counted');
write_file("$repo/archive/wal/0000000100000000/000000010000000000000002", 'x');
mkdir("$repo/archive/wal/0000000300000000") or die;
write_file("$repo/archive/wal/0000000300000000/000000030000000000000007", 'x');
write_file("$repo/archive/wal/0000000300000000/000000030000000000000008.partial", 'x');
($status, $stdout, $stderr) = run_pg_dr('info', '--config', $conf, '--json');
$doc = eval { JSON::PP->new->decode($stdout) };
is_deeply($doc->{repositories}[0]{archive_timelines},
	[ { timeline => 1, segments => 2, first => '000000010000000000000001', last => '000000010000000000000002' },
	  { timeline => 3, segments => 1, first => '000000030000000000000007', last => '000000030000000000000007' } ],
	'json: the first and last segment of each timeline (.partial not counted)')
  or diag($stdout);
command_checks_all(
	[ 'pg_dr', 'info', '--config', $conf ],
	0,
	[ qr/^\s+backups:\s+none\n\s+wal archive:\s+4 files\n    timeline 1: 2 segments, 000000010000000000000001 to 000000010000000000000002\n    timeline 3: 1 segment, 000000030000000000000007 to 000000030000000000000007\n/m ],
	[qr/\A\z/],
	'info lists no backups, counts the archive, and shows each timeline\'s first and last segment');
unlink("$repo/archive/wal/0000000100000000/000000010000000000000002",
	"$repo/archive/wal/0000000300000000/000000030000000000000007",
	"$repo/archive/wal/0000000300000000/000000030000000000000008.partial") == 3 or die;
rmdir("$repo/archive/wal/0000000300000000") or die;

# A real backup, in an unencrypted repository so that its objects can be
# made here (codec.h: header, data chunks, trailer chunk with size and
# SHA-256), with a label that needs escaping: quote, backslash, newline, a
# byte that is not UTF-8.
sub encode_object
{
	my ($plain) = @_;
	my $chunk_size = 65536;
	my $object = 'PGDROBJ1' . pack('v v V', 1, 0, $chunk_size) . ("\0" x 48);
	for (my $off = 0; $off < length($plain); $off += $chunk_size)
	{
		my $part = substr($plain, $off, $chunk_size);
		$object .= pack('V V', length($part), 0) . $part;
	}
	my $trailer = pack('Q<', length($plain)) . sha256($plain);
	return $object . pack('V V', length($trailer), 1) . $trailer;
}

sub write_object
{
	my ($path, $plain) = @_;
	my $dir = $path =~ s{/[^/]*$}{}r;
	File::Path::make_path($dir);
	open(my $fh, '>:raw', $path) or die "could not create \"$path\": $!";
	print $fh encode_object($plain);
	close($fh) or die "could not write \"$path\": $!";
	return -s $path;
}

sub escape
{
	my ($s) = @_;
	return $s =~ s{([^A-Za-z0-9._/+-])}{sprintf('%%%02X', ord($1))}ger;
}

my $plain_repo = "$tmp/plain-repo";
my $plain_conf = "$tmp/plain.conf";
my $label = "q\"uote\\back new\nline latin1-\xe9";
write_file($plain_conf,
	"repo1_type = posix\nrepo1_path = '$plain_repo'\nrepo1_cipher_type = none\n");
command_ok([ 'pg_dr', 'repo-create', '--config', $plain_conf ],
	'repo-create of an unencrypted repository');
my $backup = "$plain_repo/backup/20240101-000000F";
my $stored = write_object("$backup/data/PG_VERSION", "15\n");
write_object(
	"$backup/manifest",
	join("\n",
		'pg_dr-manifest 1', 'backup-id 20240101-000000F',
		'kind full', 'parent -',
		'label ' . escape($label), 'timeline 1',
		'start-lsn 0/2000028', 'stop-lsn 0/2000100',
		'start-time 1704067200', 'stop-time 1704067260',
		'system-identifier 7300000000000000001', 'pg-version 150004',
		'key-id -', 'data-checksums on',
		'block-size 8192', 'segment-size 16777216',
		'dir base mode=0700',
		'file PG_VERSION size=3 mode=0600 mtime=1704067200 sha256='
		  . sha256_hex("15\n")
		  . " store=full object-size=$stored blocks=0 corrupt=0",
		'end dirs=1 files=1 wal=0')
	  . "\n");
# a manifest under a name that is not a backup id is not a backup either
write_object("$plain_repo/backup/not-an-id/manifest", "x");

($status, $stdout, $stderr) = run_pg_dr('info', '--config', $plain_conf, '--json');
is($status, 0, 'info --json with a backup') or diag($stderr);
$doc = eval { JSON::PP->new->decode($stdout) };
ok(defined $doc, 'a label with awkward bytes still gives valid JSON') or diag("$@\n$stdout");
my $b = $doc->{repositories}[0]{backups};
is(scalar @$b, 1, 'json: one backup');
is($b->[0]{id}, '20240101-000000F', 'json: id');
is($b->[0]{kind}, 'full', 'json: kind');
is($b->[0]{parent}, undef, 'json: a full backup has no parent');
is($b->[0]{label}, "q\"uote\\back new\nline latin1-\x{fffd}",
	'json: label escaped, invalid UTF-8 replaced');
is($b->[0]{stop_time}, '2024-01-01T00:01:00Z', 'json: stop time');
is($b->[0]{start_lsn}, '0/2000028', 'json: start LSN');
is($b->[0]{files}, 1, 'json: files');
is($b->[0]{size}, 3, 'json: size');
is($b->[0]{stored_size}, $stored, 'json: stored size');
is($b->[0]{wal_segments}, 0, 'json: WAL segments');
# text output: control characters shown as \xNN
command_checks_all(
	[ 'pg_dr', 'info', '--config', $plain_conf ],
	0,
	[
		qr/^\s+backups:\s+1\n\s+20240101-000000F  full, label "q"uote\\back new\\x0aline latin1-\xe9"\n\s+started 2024-01-01T00:00:00Z at [0-9A-F]+\/[0-9A-F]+, stopped 2024-01-01T00:01:00Z at [0-9A-F]+\/[0-9A-F]+ on timeline 1, 1 files, 3 bytes \($stored stored\), 0 WAL segments\n/m
	],
	[qr/\A\z/],
	'info describes the backup');

# a damaged manifest is shown, not fatal
my $manifest = slurp_file("$backup/manifest");
substr($manifest, 100, 1) = substr($manifest, 100, 1) ^ "\x01";
write_file("$backup/manifest", $manifest);
command_checks_all(
	[ 'pg_dr', 'info', '--config', $plain_conf ],
	0,
	[ qr/^\s+20240101-000000F  unreadable: .*manifest/m ],
	[qr/\A\z/],
	'info shows a backup whose manifest is damaged');

# the wrong passphrase is refused
my $other_key = "$tmp/other.key";
my $other_conf = "$tmp/other.conf";
write_key_file($other_key);
write_file($other_conf, repo_config($repo, $other_key));
for my $json ([], ['--json'])
{
	command_checks_all([ 'pg_dr', 'info', '--config', $other_conf, @$json ],
		1, [qr/\A\z/], [qr/^pg_dr: error: .*does not match/m],
		"info with the wrong passphrase @$json");
}

# a key file others can read is refused, with a hint how to fix it
chmod(0644, $key) or die;
command_checks_all([ 'pg_dr', 'info', '--config', $conf ],
	1, [qr/\A\z/],
	[ qr/^pg_dr: error: .*\Q$key\E/m, qr/^pg_dr: hint: .*(chmod|600)/m ],
	'info with a key file of mode 0644');
chmod(0600, $key) or die;
command_ok([ 'pg_dr', 'info', '--config', $conf ], 'info works again after chmod 600');

# an unknown setting names the file and the line
my $bad_conf = "$tmp/bad.conf";
write_file($bad_conf, repo_config($repo, $key) . "\nrepo1_bogus_setting = 1\n");
command_checks_all([ 'pg_dr', 'info', '--config', $bad_conf ],
	1, [qr/\A\z/],
	[qr/^pg_dr: error: "\Q$bad_conf\E" line 6: unknown setting "repo1_bogus_setting"/m],
	'unknown setting');

# a missing configuration file is a failure, not a usage error
command_checks_all([ 'pg_dr', 'info', '--config', "$tmp/missing.conf" ],
	1, [qr/\A\z/], [qr/^pg_dr: error: .*\Q$tmp\E\/missing\.conf/m],
	'missing configuration file');
command_checks_all(
	[ 'pg_dr', 'repo-create', '--config', "$tmp/missing.conf" ],
	1, [qr/\A\z/], [qr/^pg_dr: error: .*missing\.conf/m],
	'repo-create with a missing configuration file');

done_testing();
