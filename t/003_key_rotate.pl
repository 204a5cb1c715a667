# 003_key_rotate.pl
#	pg_dr repo-key-rotate: after a rotation only the new passphrase opens
#	the repository; a rotation that is refused changes nothing.
#
#	No CLI command writes data keys yet (the backup engine will), so the
#	repository rotated here holds none: this checks the switch of key
#	generation (kek id) and which passphrase is accepted.  Re-wrapping
#	existing data keys is covered by the repo unit tests.

use strict;
use warnings;

use Fcntl qw(O_WRONLY O_CREAT O_EXCL);
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp = PostgreSQL::Test::Utils::tempdir();

# A passphrase file: random text of $length characters, mode 0600.
sub write_key_file
{
	my ($path, $length) = @_;
	$length //= 64;
	open(my $rand, '<:raw', '/dev/urandom') or die "could not open /dev/urandom: $!";
	read($rand, my $bytes, 48) == 48 or die "short read from /dev/urandom";
	close($rand);
	sysopen(my $fh, $path, O_WRONLY | O_CREAT | O_EXCL, 0600)
	  or die "could not create \"$path\": $!";
	print $fh substr(encode_base64($bytes, ''), 0, $length), "\n";
	close($fh) or die "could not write \"$path\": $!";
	chmod(0600, $path) or die "could not chmod \"$path\": $!";
	return;
}

# A configuration file for the one repository, using key file $key.
sub write_config
{
	my ($path, $repo, $key) = @_;
	open(my $fh, '>', $path) or die "could not create \"$path\": $!";
	print $fh "repo1_type = posix\n",
	  "repo1_path = '$repo'\n",
	  "repo1_cipher_key_file = '$key'\n";
	close($fh) or die "could not write \"$path\": $!";
	return;
}

# The repository as "pg_dr info --json" reports it; fails the test if it
# cannot be opened.
sub repo_info
{
	my ($conf, $name) = @_;
	my ($stdout, $stderr);
	IPC::Run::run([ 'pg_dr', 'info', '--config', $conf, '--json' ],
		'>', \$stdout, '2>', \$stderr);
	is($? >> 8, 0, "$name: info succeeds") or diag($stderr);
	my $doc = eval { JSON::PP->new->decode($stdout) } // {};
	return $doc->{repositories}[0] // {};
}

my $repo = "$tmp/repo";
my $key1 = "$tmp/key1";
my $key2 = "$tmp/key2";
my $conf1 = "$tmp/key1.conf";
my $conf2 = "$tmp/key2.conf";
mkdir($repo) or die "could not create \"$repo\": $!";
write_key_file($key1);
write_key_file($key2);
write_config($conf1, $repo, $key1);
write_config($conf2, $repo, $key2);

command_ok([ 'pg_dr', 'repo-create', '--config', $conf1, '--kdf-iterations', '1000' ],
	'repo-create');
my $before = repo_info($conf1, 'before rotation');
like($before->{kek_id}, qr/\A[0-9a-f]{16}\z/, 'kek id before rotation');

# before the rotation, the new passphrase does not open the repository
command_fails_like([ 'pg_dr', 'info', '--config', $conf2 ],
	qr/^pg_dr: error: .*does not match/m, 'the new passphrase is not valid yet');

# refused rotations change nothing
command_checks_all(
	[ 'pg_dr', 'repo-key-rotate', '--config', $conf1, '--new-key-file', $key1 ],
	1, [qr/\A\z/],
	[ qr/^pg_dr: error: the new key file "\Q$key1\E" is the current key file of repository 1$/m,
	  qr/^pg_dr: hint: /m ],
	'rotation to the current key file is refused');

my $short_key = "$tmp/short.key";
write_key_file($short_key, 16);
command_checks_all(
	[ 'pg_dr', 'repo-key-rotate', '--config', $conf1, '--new-key-file', $short_key ],
	1, [qr/\A\z/], [qr/^pg_dr: error: /m],
	'rotation to a 16-character passphrase is refused');

chmod(0644, $key2) or die;
command_checks_all(
	[ 'pg_dr', 'repo-key-rotate', '--config', $conf1, '--new-key-file', $key2 ],
	1, [qr/\A\z/],
	[ qr/^pg_dr: error: .*\Q$key2\E/m, qr/^pg_dr: hint: .*(chmod|600)/m ],
	'rotation to a key file of mode 0644 is refused');
chmod(0600, $key2) or die;

command_checks_all(
	[ 'pg_dr', 'repo-key-rotate', '--config', $conf1, '--new-key-file', "$tmp/none.key" ],
	1, [qr/\A\z/], [qr/^pg_dr: error: .*none\.key/m],
	'rotation to a missing key file is refused');

command_checks_all(
	[ 'pg_dr', 'repo-key-rotate', '--config', $conf2, '--new-key-file', $key1 ],
	1, [qr/\A\z/], [qr/^pg_dr: error: .*does not match/m],
	'rotation needs the current passphrase');

is(repo_info($conf1, 'after refused rotations')->{kek_id},
	$before->{kek_id}, 'refused rotations left the key generation alone');

# the rotation
command_checks_all(
	[ 'pg_dr', 'repo-key-rotate', '--config', $conf1, '--new-key-file', $key2 ],
	0,
	[
		qr/^repository 1: re-wrapped 0 data keys under the new passphrase$/m,
		qr/^\s+kek id: \Q$before->{kek_id}\E -> [0-9a-f]{16}$/m,
		qr/^\s+repo1_cipher_key_file = '\Q$key2\E'$/m,
		qr/^in "\Q$conf1\E"/m
	],
	[qr/\A\z/],
	'repo-key-rotate');

# afterwards the old passphrase is refused and the new one accepted
command_checks_all([ 'pg_dr', 'info', '--config', $conf1 ],
	1, [qr/\A\z/], [qr/^pg_dr: error: .*does not match/m],
	'the old passphrase is refused after rotation');
my $after = repo_info($conf2, 'after rotation');
like($after->{kek_id}, qr/\A[0-9a-f]{16}\z/, 'kek id after rotation');
isnt($after->{kek_id}, $before->{kek_id}, 'rotation changed the kek id');
is($after->{data_keys}, 0, 'no data keys appeared');
is($after->{kdf_iterations}, $before->{kdf_iterations},
	'rotation kept the kdf iterations');
is($after->{created}, $before->{created}, 'rotation kept the creation time');

# a relative --new-key-file is reported as the absolute path to configure
my $key3 = "$tmp/key3";
write_key_file($key3);
{
	my ($stdout, $stderr);
	IPC::Run::run(
		[ 'pg_dr', 'repo-key-rotate', '--config', $conf2, '--new-key-file', 'key3' ],
		'>', \$stdout, '2>', \$stderr,
		init => sub { chdir($tmp) or die "could not chdir to \"$tmp\": $!" });
	is($? >> 8, 0, 'rotation with a relative key file path') or diag($stderr);
	like($stdout, qr/^\s+repo1_cipher_key_file = '\Q$key3\E'$/m,
		'the key file to configure is given as an absolute path');
}
command_fails_like([ 'pg_dr', 'info', '--config', $conf2 ],
	qr/does not match/, 'the second passphrase is refused after a second rotation');
my $conf3 = "$tmp/key3.conf";
write_config($conf3, $repo, $key3);
isnt(repo_info($conf3, 'after second rotation')->{kek_id},
	$after->{kek_id}, 'second rotation changed the kek id again');

done_testing();
