# 001_cli_basic.pl
#	The pg_dr program's surface: --version, --help, per-command help, and
#	usage errors with exit status 2.  Nothing here reads a configuration
#	file or a repository (see 002 onwards).

use strict;
use warnings;

use PostgreSQL::Test::Utils;
use Test::More;

my @commands = ('info', 'repo-create', 'repo-key-rotate');

# without --config a command reads $PG_DR_CONFIG, else /etc/pg_dr.conf
# (t/039): "no configuration file specified" needs neither
delete $ENV{PG_DR_CONFIG};
my $default_conf = -e '/etc/pg_dr.conf';

# --version
command_checks_all([ 'pg_dr', '--version' ],
	0, [qr/\Apg_dr 0\.1\.0\n\z/], [qr/\A\z/], 'pg_dr --version');
command_checks_all([ 'pg_dr', '-V' ],
	0, [qr/\Apg_dr 0\.1\.0\n\z/], [qr/\A\z/], 'pg_dr -V');

# --help lists every command and the global options
for my $help ('--help', '-?', 'help')
{
	command_checks_all(
		[ 'pg_dr', $help ],
		0,
		[
			qr/^Usage:/m,
			(map { qr/^\s+\Q$_\E\s/m } @commands),
			qr/--version/,
			qr/--help/,
			qr/Exit status/
		],
		[qr/\A\z/],
		"pg_dr $help");
}

# help for each command, three ways
my %command_option = (
	'info' => qr/--json/,
	'repo-create' => qr/--kdf-iterations/,
	'repo-key-rotate' => qr/--new-key-file/);
for my $command (@commands)
{
	for my $cmd ([ 'pg_dr', 'help', $command ],
		[ 'pg_dr', $command, '--help' ],
		[ 'pg_dr', $command, '-?' ])
	{
		command_checks_all(
			$cmd, 0,
			[
				qr/^\s+pg_dr \Q$command\E \[--config FILE\]/m,
				qr/--config=FILE/,
				$command_option{$command}
			],
			[qr/\A\z/],
			join(' ', @$cmd));
	}
}

# --help after other options still only prints help
command_checks_all([ 'pg_dr', 'info', '--config', '/nonexistent', '--help' ],
	0, [qr/--json/], [qr/\A\z/], 'info --config X --help prints help');

# usage errors: exit status 2, an error and a hint on stderr, nothing on stdout
my $try_hint = qr/^pg_dr: hint: Try "pg_dr( [a-z-]+)? --help" for more information\.$/m;
my @usage_errors = (
	[ [], qr/no command specified/, 'no command' ],
	[ ['bogus'], qr/unknown command "bogus"/, 'unknown command' ],
	[ [ 'help', 'bogus' ], qr/unknown command "bogus"/, 'help on unknown command' ],
	[ [ 'help', 'info', 'extra' ], qr/too many command-line arguments/, 'help with two commands' ],
	[ ['--bogus'], qr/unrecognized option "--bogus"/, 'unknown global option' ],
	[ [ 'info', '--bogus' ], qr/unrecognized option "--bogus"/, 'unknown long option' ],
	[ [ 'info', '-x' ], qr/invalid option "-x"/, 'unknown short option' ],
	[ ['info'], qr/no configuration file specified \(--config\)/, 'info without --config' ],
	[ [ 'info', '--config' ], qr/option "--config" requires an argument/,
		'--config without a value' ],
	[ [ 'info', '--config', '/x.conf', 'extra' ],
		qr/too many command-line arguments \(first is "extra"\)/, 'extra argument' ],
	[ [ 'info', '--config', '/x.conf', '--repo', '0' ],
		qr/invalid repository number "0"/, '--repo 0' ],
	[ [ 'info', '--config', '/x.conf', '--repo', '5' ],
		qr/invalid repository number "5"/, '--repo out of range' ],
	[ [ 'info', '--config', '/x.conf', '--repo', '1x' ],
		qr/invalid repository number "1x"/, '--repo not a number' ],
	[ ['repo-create'], qr/no configuration file specified/, 'repo-create without --config' ],
	[ [ 'repo-create', '--config', '/x.conf', '--kdf-iterations', 'many' ],
		qr/invalid value "many" for option --kdf-iterations/, '--kdf-iterations not a number' ],
	[ [ 'repo-create', '--config', '/x.conf', '--kdf-iterations', '0' ],
		qr/invalid value "0" for option --kdf-iterations/, '--kdf-iterations 0' ],
	[ [ 'repo-create', '--config', '/x.conf', '--kdf-iterations', '-5' ],
		qr/invalid value "-5" for option --kdf-iterations/, '--kdf-iterations negative' ],
	[ [ 'repo-create', '--config', '/x.conf', '--kdf-iterations', '4294967296' ],
		qr/invalid value "4294967296" for option --kdf-iterations/,
		'--kdf-iterations past 32 bits' ],
	[ [ 'repo-key-rotate', '--config', '/x.conf' ],
		qr/no new key file specified \(--new-key-file\)/, 'repo-key-rotate without --new-key-file' ],
	[ [ 'repo-key-rotate', '--new-key-file', '/k' ],
		qr/no configuration file specified/, 'repo-key-rotate without --config' ],
	[ [ 'repo-key-rotate', '--config', '/x.conf', '--json' ],
		qr/unrecognized option "--json"/, 'option of another command' ],);

for my $case (@usage_errors)
{
	my ($args, $message, $name) = @$case;
	next if $default_conf && $message =~ /no configuration file/;
	command_checks_all([ 'pg_dr', @$args ],
		2, [qr/\A\z/], [ qr/^pg_dr: error: $message/m, $try_hint ], $name);
}

# the usage checks come before any file is read: /x.conf does not exist, yet
# the status above was 2, not 1
command_checks_all([ 'pg_dr', 'info', '--config', '/nonexistent/pg_dr.conf' ],
	1, [qr/\A\z/], [qr/^pg_dr: error: .*\/nonexistent\/pg_dr\.conf/m],
	'a missing configuration file is a failure (1), not a usage error (2)');

done_testing();
