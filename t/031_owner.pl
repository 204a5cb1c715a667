# 031_owner.pl
#	Who owns what pg_dr writes, and what a "Permission denied" says
#	(issue 8, item 17).
#	- As any user: a repository directory the server cannot enter, and a
#	  passphrase file it cannot read, fail with a message naming the file
#	  or directory in the way, its owner and mode, and the user the process
#	  runs as -- in the server (dr_backup_full(), dr_status) and in the CLI.
#	  A key file owned by root, when the system has one to point at, names
#	  root as the owner.  --owner naming another user is refused unless run
#	  as root.
#	- As root only (the suite normally runs as postgres; PostgreSQL itself
#	  cannot run as root, so no server is used): repo-create and restore
#	  into a directory owned by root are refused, naming --owner;
#	  repo-create --owner USER writes a repository USER owns, and one in a
#	  directory owned by USER is written as USER without --owner.

use strict;
use warnings;

use lib 't/lib';
use DrTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $me = getpwuid($>);

sub pg_dr
{
	my (@args) = @_;
	my ($out, $err);
	IPC::Run::run([ 'pg_dr', @args ], '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

# ---- run as root: nothing left owned by root where the server reads
sub root_cases
{
	# (in a directory of /tmp: the user must be able to reach it)
	my $tmp = PostgreSQL::Test::Utils::tempdir_short();
	my $user = (getpwnam('postgres'))[0] ? 'postgres' : 'nobody';
	my ($uid, $gid) = (getpwnam($user))[ 2, 3 ];
	chmod(0755, $tmp);
	mkdir("$tmp/pg") or die;
	chown($uid, $gid, "$tmp/pg") or die;
	open(my $kfh, '>', "$tmp/pg/key") or die;
	print $kfh "x" x 40, "\n";
	close($kfh);
	chmod(0600, "$tmp/pg/key");
	chown($uid, $gid, "$tmp/pg/key") or die;
	for my $r ([ 'in_root', "$tmp/rootrepo" ], [ 'in_user', "$tmp/pg/repo" ])
	{
		open(my $cfh, '>', "$tmp/$r->[0].conf") or die;
		print $cfh "repo1_type = posix\nrepo1_path = '$r->[1]'\n",
		  "repo1_cipher_key_file = '$tmp/pg/key'\n";
		close($cfh);
		chmod(0644, "$tmp/$r->[0].conf");
	}

	my ($rc, $out, $err) = pg_dr('repo-create', '--config', "$tmp/in_root.conf",
		'--kdf-iterations', '1000');
	is($rc, 1, 'root: repo-create into a directory owned by root is refused');
	like($err, qr/owned by root: the server could not use them/, 'saying why');
	like($err, qr/--owner USER/, 'and naming --owner');
	ok(!-e "$tmp/rootrepo", 'nothing created');

	($rc, $out, $err) = pg_dr('repo-create', '--config', "$tmp/in_root.conf",
		'--kdf-iterations', '1000', '--owner', $user);
	is($rc, 0, "root: repo-create --owner $user") or diag($err);
	is((stat("$tmp/rootrepo"))[4], $uid, "the repository directory is owned by $user");
	is((stat("$tmp/rootrepo/pg_dr.repo"))[4], $uid, 'and its info file');

	($rc, $out, $err) = pg_dr('repo-create', '--config', "$tmp/in_user.conf",
		'--kdf-iterations', '1000');
	is($rc, 0, "root: repo-create in a directory owned by $user, without --owner") or diag($err);
	is((stat("$tmp/pg/repo/pg_dr.repo"))[4], $uid, "written as $user");

	($rc, $out, $err) = pg_dr('repo-create', '--config', "$tmp/in_user.conf", '--owner', 'root');
	is($rc, 1, 'root: --owner root is refused');

	($rc, $out, $err) = pg_dr('restore', '--config', "$tmp/in_user.conf", '--backup', 'latest',
		'--pgdata', "$tmp/restored");
	is($rc, 1, 'root: restore into a directory owned by root is refused');
	like($err, qr/restore run as root would write files owned by root/, 'saying why');
	ok(!-e "$tmp/restored", 'nothing created');
}

SKIP:
{
	skip "the root cases need euid 0 and the suite runs as $me "
	  . '(the owner decision is unit-tested in test/unit/test_owner.c)', 13
	  if $> != 0;
	root_cases();
}
if ($> == 0)
{
	note('run as root: the server cases are left out (PostgreSQL does not run as root)');
	done_testing();
	exit 0;
}

# ---- any user: --owner is only a check
my $env = DrTest::repo_setup($tmp);
my ($rc, $out, $err) = pg_dr('restore', '--config', $env->{conf}, '--backup', 'latest',
	'--pgdata', "$tmp/r", '--owner', 'root');
is($rc, 1, '--owner naming another user, not as root: refused');
like($err, qr/--owner root needs root: restore runs as \Q$me\E/, 'saying why');

# ---- the server: a repository it cannot enter
my $node = DrTest::node_new('owner', $env->{conf});
chmod(0000, $env->{repo}) or die;
my ($brc, $bout, $berr) = $node->psql('postgres', 'SELECT dr_backup_full()');
isnt($brc, 0, 'dr_backup_full() fails on a repository the server cannot enter');
like($berr, qr/Permission denied; "\Q$env->{repo}\E" is owned by \Q$me\E \(mode 0000\) and this process runs as \Q$me\E/,
	'naming the directory, its owner and mode, and the server\'s user');
($rc, $out, $err) = pg_dr('info', '--config', $env->{conf});
is($rc, 1, 'pg_dr info fails on it too');
like($err, qr/"\Q$env->{repo}\E" is owned by \Q$me\E \(mode 0000\) and this process runs as \Q$me\E/,
	'with the same details');
chmod(0700, $env->{repo}) or die;

# ---- a passphrase file it cannot read
chmod(0000, $env->{key}) or die;
($rc, $out, $err) = pg_dr('info', '--config', $env->{conf});
is($rc, 1, 'pg_dr info fails on an unreadable key file');
like($err, qr/could not open passphrase file "\Q$env->{key}\E": Permission denied; "\Q$env->{key}\E" is owned by \Q$me\E \(mode 0000\) and this process runs as \Q$me\E/,
	'naming the key file, its owner and mode, and the user');
($brc, $bout, $berr) = $node->psql('postgres', 'SELECT dr_backup_full()');
like($berr, qr/passphrase file "\Q$env->{key}\E": Permission denied; .* is owned by \Q$me\E \(mode 0000\) and this process runs as \Q$me\E/,
	'the server says the same');
chmod(0600, $env->{key}) or die;

# ---- a key file owned by root (any root-only file the system has)
my ($rootfile) = grep { -e $_ && !-r $_ && (stat($_))[4] == 0 } ('/etc/shadow', '/etc/gshadow', '/root');
SKIP:
{
	skip 'no file owned by root that this user cannot read', 2 unless defined $rootfile;
	open(my $cfh, '>', "$tmp/rootkey.conf") or die;
	print $cfh "repo1_type = posix\nrepo1_path = '$env->{repo}'\n",
	  "repo1_cipher_key_file = '$rootfile'\n";
	close($cfh);
	($rc, $out, $err) = pg_dr('info', '--config', "$tmp/rootkey.conf");
	is($rc, 1, "a key file owned by root ($rootfile)");
	like($err, qr/"\Q$rootfile\E" is owned by root \(mode 0\d+\) and this process runs as \Q$me\E/,
		'names root as its owner and this user as the process');
}

$node->stop;
done_testing();
