# 004_server_config.pl
#	The server and the CLI read the same configuration file and agree on
#	it: the dr_config view of a server with pg_dr preloaded shows the same
#	settings, with the same values, as "pg_dr info --json".

use strict;
use warnings;

use Fcntl qw(O_WRONLY O_CREAT O_EXCL);
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp = PostgreSQL::Test::Utils::tempdir();

my $repo = "$tmp/repo";
my $key = "$tmp/repo.key";
my $conf = "$tmp/pg_dr.conf";
mkdir($repo) or die "could not create \"$repo\": $!";

# passphrase file, mode 0600 from the start
open(my $rand, '<:raw', '/dev/urandom') or die "could not open /dev/urandom: $!";
read($rand, my $bytes, 48) == 48 or die "short read from /dev/urandom";
close($rand);
sysopen(my $kfh, $key, O_WRONLY | O_CREAT | O_EXCL, 0600)
  or die "could not create \"$key\": $!";
print $kfh encode_base64($bytes, ''), "\n";
close($kfh) or die "could not write \"$key\": $!";

# a configuration that sets some values and leaves others to their defaults
open(my $cfh, '>', $conf) or die "could not create \"$conf\": $!";
print $cfh "# shared by the server and the CLI\n",
  "repo1_type = posix\n",
  "repo1_path = '$repo'\n",
  "repo1_cipher_key_file = '$key'\n",
  "compress_level = 6\n";
close($cfh) or die "could not write \"$conf\": $!";

command_ok([ 'pg_dr', 'repo-create', '--config', $conf, '--kdf-iterations', '1000' ],
	'repo-create');

my ($stdout, $stderr);
IPC::Run::run([ 'pg_dr', 'info', '--config', $conf, '--json' ],
	'>', \$stdout, '2>', \$stderr);
is($? >> 8, 0, 'pg_dr info --json') or diag($stderr);
my $doc = JSON::PP->new->decode($stdout);
my @cli = sort { $a->[0] cmp $b->[0] }
  map { [ $_->{name}, $_->{value} ] } @{ $doc->{settings} };
ok(scalar(@cli) > 0, 'the CLI reports settings');

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf',
	    "shared_preload_libraries = 'pg_dr'\n"
	  . "pg_dr.config_file = '$conf'\n"
	  . "pg_dr.database = 'postgres'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_dr');

# psql's unaligned output with a separator that no setting contains
my $rows = $node->safe_psql('postgres',
	'SELECT name, value FROM dr_config ORDER BY name COLLATE "C"',
	extra_params => [ '--field-separator', "\x1f" ]);
my @server = map { [ split(/\x1f/, $_, -1) ] } split(/\n/, $rows);

is_deeply(\@server, \@cli, 'dr_config and pg_dr info --json agree');

# spot checks, so that two empty lists cannot agree by accident
my %server = map { $_->[0] => $_->[1] } @server;
is($server{repo1_path}, $repo, 'dr_config: repo1_path');
is($server{compress_level}, '6', 'dr_config: compress_level from the file');

$node->stop;

# without shared_preload_libraries the library refuses to load, with a hint
my $plain = PostgreSQL::Test::Cluster->new('plain');
$plain->init;
$plain->start;
my ($rc, $out, $err) = $plain->psql('postgres', 'CREATE EXTENSION pg_dr');
isnt($rc, 0, 'CREATE EXTENSION without the library preloaded fails');
like($err, qr/pg_dr must be loaded via shared_preload_libraries/, 'saying why');
like($err, qr/HINT:.*shared_preload_libraries/, 'with a hint');
($rc, $out, $err) = $plain->psql('postgres', "LOAD 'pg_dr'");
like($err, qr/must be loaded via shared_preload_libraries/, 'LOAD is refused too');
$plain->stop;

done_testing();
