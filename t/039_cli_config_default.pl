# 039_cli_config_default.pl
#	The configuration file every command reads without --config (issue 9,
#	point 5): $PG_DR_CONFIG when set and not empty, else /etc/pg_dr.conf.
#	--config wins over both; a file named by PG_DR_CONFIG that cannot be
#	read is a failure (1) that says where the name came from; no --config,
#	no PG_DR_CONFIG and no /etc/pg_dr.conf is the usage error (2) a
#	missing --config was, naming the default and how to give a file
#	(wal-get: 126, as for any of its usage errors).  A restore that found
#	its file through PG_DR_CONFIG, given relative, writes its absolute path
#	into restore_command: recovery runs elsewhere, without the variable.

use strict;
use warnings;

use lib 't/lib';
use DrTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $env = DrTest::repo_setup($tmp);
my $conf = $env->{conf};
my $try_hint = qr/^pg_dr: hint: Try "pg_dr [a-z-]+ --help" for more information\.$/m;

# ---- PG_DR_CONFIG names the file
{
	local $ENV{PG_DR_CONFIG} = $conf;
	command_checks_all([ 'pg_dr', 'info' ],
		0, [qr/^config: \Q$conf\E$/m, qr/^repository 1$/m], [qr/\A\z/],
		'info without --config reads the file PG_DR_CONFIG names');
	# no policy of repo1's own, and no server to read the tier's from
	command_checks_all([ 'pg_dr', 'expire', '--dry-run', '--dbname', "host=$tmp/nosocket port=1" ],
		1, [qr/\A\z/], [qr/error: repo1 sets no retention policy \(repo1_retention_full\)/],
		'expire without --config reads it too');
	command_checks_all([ 'pg_dr', 'verify' ],
		0, [qr/^verified 0 backups in repository 1:/m, qr/^no problems found$/m],
		[qr/\A\z/], 'verify without --config reads it too');
}

# ---- --config wins over PG_DR_CONFIG
{
	local $ENV{PG_DR_CONFIG} = "$tmp/missing.conf";
	command_checks_all([ 'pg_dr', 'info', '--config', $conf ],
		0, [qr/^config: \Q$conf\E$/m], [qr/\A\z/],
		'--config wins over PG_DR_CONFIG');

	# ---- a file PG_DR_CONFIG names that cannot be read: 1, saying so
	for my $cmd ([ 'info' ], [ 'expire' ], [ 'verify' ], [ 'repo-create' ],
		[ 'repo-key-rotate', '--new-key-file', "$tmp/new.key" ],
		[ 'restore', '--backup', 'latest', '--pgdata', "$tmp/restored" ])
	{
		command_checks_all([ 'pg_dr', @$cmd ],
			1, [qr/\A\z/],
			[
				qr/^pg_dr: error: PG_DR_CONFIG: could not open configuration file "\Q$tmp\E\/missing\.conf"/m,
				qr/^pg_dr: hint: PG_DR_CONFIG names the configuration file when --config is not given/m
			],
			"$cmd->[0]: PG_DR_CONFIG naming a missing file is a failure that names it");
	}
	ok(!-e "$tmp/restored", 'restore created nothing');
	command_checks_all([ 'pg_dr', 'wal-get', '000000010000000000000001', "$tmp/seg" ],
		126, [qr/\A\z/], [qr/^pg_dr: error: PG_DR_CONFIG: could not open/m],
		'wal-get: 126');
}

# ---- neither: the default, /etc/pg_dr.conf
SKIP:
{
	skip '/etc/pg_dr.conf exists on this machine', 16 if -e '/etc/pg_dr.conf';

	for my $value (undef, '')
	{
		local $ENV{PG_DR_CONFIG} = $value;
		delete $ENV{PG_DR_CONFIG} unless defined $value;
		my $how = defined $value ? 'PG_DR_CONFIG empty' : 'PG_DR_CONFIG unset';
		for my $cmd ([ 'info' ], [ 'expire' ], [ 'verify' ], [ 'repo-create' ],
			[ 'repo-key-rotate', '--new-key-file', "$tmp/new.key" ],
			[ 'restore', '--backup', 'latest', '--pgdata', "$tmp/restored" ])
		{
			command_checks_all([ 'pg_dr', @$cmd ],
				2, [qr/\A\z/],
				[
					qr/^pg_dr: error: no configuration file specified \(--config\), and the default "\/etc\/pg_dr\.conf" does not exist$/m,
					qr/^pg_dr: detail: Give the file with --config FILE, or name it in the environment variable PG_DR_CONFIG\.$/m,
					$try_hint
				],
				"$cmd->[0], $how, no /etc/pg_dr.conf: a usage error naming the default");
		}
		command_checks_all([ 'pg_dr', 'wal-get', '000000010000000000000001', "$tmp/seg" ],
			126, [qr/\A\z/], [qr/the default "\/etc\/pg_dr\.conf" does not exist/m],
			"wal-get, $how: 126");
	}
	# a usage error of the command's own comes first: nothing was read yet
	delete $ENV{PG_DR_CONFIG};
	command_checks_all([ 'pg_dr', 'info', 'extra' ],
		2, [qr/\A\z/], [qr/too many command-line arguments \(first is "extra"\)/m],
		'an extra argument is reported before the missing default');
}
ok(!-e "$tmp/restored" && !-e "$tmp/seg", 'nothing was written');

# ---- restore through a relative PG_DR_CONFIG: restore_command names the
# file by its absolute path, and recovery uses it
{
	my $node = DrTest::node_new('cfgdefault', $conf);
	$node->safe_psql('postgres', 'CREATE TABLE t AS SELECT 42 AS v');
	my $backup = $node->safe_psql('postgres', "SELECT dr_backup_full('f1')");
	my ($dir, $base) = $conf =~ m{^(.*)/([^/]+)$};
	local $ENV{PG_DR_CONFIG} = $base;
	my ($out, $err);
	my $ok = IPC::Run::run(
		[ 'pg_dr', 'restore', '--backup', $backup, '--pgdata', "$tmp/r1",
			'--target', 'immediate' ],
		'>', \$out, '2>', \$err, init => sub { chdir($dir) or die "chdir: $!" });
	ok($ok, 'restore with a relative PG_DR_CONFIG and no --config') or diag($err);
	like(slurp_file("$tmp/r1/postgresql.auto.conf"),
		qr/^restore_command = '.*wal-get --config ''\Q$conf\E'' %f %p'$/m,
		'restore_command names the configuration file by its absolute path');
	$node->stop;
	my $restored = DrTest::node_from_restore('cfgdefault_r1', "$tmp/r1");
	is($restored->safe_psql('postgres', 'SELECT v FROM t'), '42',
		'the restored cluster recovers and has the data');
	$restored->stop;
}

done_testing();
