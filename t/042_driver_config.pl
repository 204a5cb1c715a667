# 042_driver_config.pl
#	Per-driver repository settings (issue 9, point 8), end to end: a
#	driver key given before repoN_type is routed to the driver all the
#	same, in the CLI (pg_dr info) and in the server (dr_config, with the
#	line each setting came from); a key the repository's type does not
#	accept and a type that does not exist are refused with the file, the
#	line and what is accepted, by the CLI and in dr_status.config_error.

use strict;
use warnings;

use lib 't/lib';
use DrTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $env = DrTest::repo_setup($tmp);

sub conf_write
{
	my ($name, $text) = @_;
	my $path = "$tmp/$name";
	open(my $fh, '>', $path) or die "could not create \"$path\": $!";
	print $fh $text;
	close($fh) or die;
	return $path;
}

# ---- the type on the last line: the driver's key is routed all the same
my $late = conf_write('late.conf',
	    "repo1_path = '$env->{repo}'\n"
	  . "repo1_cipher_key_file = '$env->{key}'\n"
	  . "compress_level = 3\n"
	  . "repo1_type = posix\n");
command_checks_all([ 'pg_dr', 'info', '--config', $late ],
	0,
	[
		qr/^repository 1$/m,
		qr/^\s+repo1_path = \Q$env->{repo}\E \(\Q$late\E:1\)$/m,
		qr/^\s+repo1_type = posix \(\Q$late\E:4\)$/m
	],
	[qr/\A\z/],
	'info: repo1_path before repo1_type is read, with its line');

# ---- a key of no posix repository: file, line, and the keys posix accepts
my $bucket = conf_write('bucket.conf',
	    "repo1_type = posix\n"
	  . "repo1_path = '$env->{repo}'\n"
	  . "repo1_cipher_key_file = '$env->{key}'\n"
	  . "repo1_bucket = backups\n");
command_checks_all([ 'pg_dr', 'info', '--config', $bucket ],
	1, [qr/\A\z/],
	[
		qr/^pg_dr: error: "\Q$bucket\E" line 4: unknown setting "repo1_bucket"$/m,
		qr/^pg_dr: hint: A repository of type posix accepts, besides the settings of every repository: repo1_path\.$/m
	],
	'info: a key the type does not accept names the file, the line and the accepted keys');

# ---- a type that does not exist: the types that do
my $s3 = conf_write('ftp.conf',
	"repo1_bucket = backups\nrepo1_type = ftp\n");
command_checks_all([ 'pg_dr', 'info', '--config', $s3 ],
	1, [qr/\A\z/],
	[qr/^pg_dr: error: "\Q$s3\E" line 2: invalid value "ftp" for "repo1_type": expected posix, s3, azure or gcs$/m],
	'info: an unknown type lists the types that exist');

# ---- the server reads the same file the same way
my $node = DrTest::node_new('primary', $late);
is( $node->safe_psql('postgres',
		"SELECT value || ' ' || source FROM dr_config WHERE name = 'repo1_path'"),
	"$env->{repo} $late:1",
	'dr_config: repo1_path before repo1_type, from its line');
is( $node->safe_psql('postgres',
		"SELECT config_ok FROM dr_status"),
	't', 'dr_status: the configuration is fine');

# a superuser may point a session at another file to check it
is( $node->safe_psql('postgres',
		"SET pg_dr.config_file = '$bucket'; "
		  . "SELECT config_ok::text || ': ' || config_error FROM dr_status"),
	"false: \"$bucket\" line 4: unknown setting \"repo1_bucket\"",
	'dr_status: the unknown key with its file and line');
$node->stop;

done_testing();
