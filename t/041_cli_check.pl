# 041_cli_check.pl
#	pg_dr check (issue 9, point 5): on a server set up for archiving into
#	the repository, every step passes with its time, also right after a
#	switch (when the server has no WAL of its own to close), and no probe
#	is left in the repository; a role that is not a superuser is told
#	which grant it lacks, passes with them, and its search_path does not
#	matter.  Then each failure names its step, skips the steps that need
#	it, and exits with 1: a key file of mode 0644, a
#	read-only repository (nothing left in it), a server that is not
#	running, a server whose configuration names another repository, an
#	archiver that cannot store the segment (the wait ends at --timeout with
#	the archiver's error), a configuration that cannot be loaded, and
#	(last, since re-enabling archiving by a reload is not reliable)
#	archive_library not pg_dr.  Usage errors exit with 2.

use strict;
use warnings;

use File::Copy qw(copy);
use lib 't/lib';
use DrTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $env = DrTest::repo_setup($tmp);
my $node = DrTest::node_new('check', $env->{conf});
$node->append_conf('postgresql.conf', qq{
archive_mode = on
archive_library = 'pg_dr'
});
$node->restart;
DrTest::wait_worker($node);
my $connstr = $node->connstr('postgres');
my $time = qr/\(\d+\.\d\d s\)/;

# pg_dr check with these arguments: (exit status, stdout, stderr)
sub check
{
	my (@args) = @_;
	my ($out, $err);
	IPC::Run::run([ 'pg_dr', 'check', @args ], '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

# ---- every step passes
my @segments;
my $closed;
for my $round (1 .. 2)
{
	# before the second: a switch of our own, so that the server has
	# written no WAL since (a plain pg_switch_wal() would not switch again,
	# and would name this segment, archived long ago)
	$closed = $node->safe_psql('postgres', 'SELECT pg_walfile_name(pg_switch_wal())')
	  if $round == 2;
	my ($rc, $out, $err) = check('--config', $env->{conf}, '--dbname', $connstr);
	is($rc, 0, "round $round: exit status 0") or diag("stdout:\n$out\nstderr:\n$err");
	is($err, '', "round $round: nothing on stderr");
	like($out, qr/^config: ok $time: "\Q$env->{conf}\E" \(--config\), repository 1$/m,
		"round $round: config");
	like($out, qr/^key file: ok $time: "\Q$env->{key}\E", mode 0600$/m,
		"round $round: key file");
	like($out, qr/^repository: ok $time: repository 1 \(posix\) at "\Q$env->{repo}\E", identity [0-9a-f]{32}: opened, probe written, read back and removed$/m,
		"round $round: repository");
	like($out, qr/^server: ok $time: PostgreSQL 15\.\d+, database "postgres", archive_library = 'pg_dr'; archives into this repository \(repo1 of "\Q$env->{conf}\E", identity [0-9a-f]{32}\)$/m,
		"round $round: server");
	like($out, qr/^wal: ok $time: segment [0-9A-F]{24} archived in \d+\.\d\d s and read back \(16777216 bytes, binding and page header checked\)$/m,
		"round $round: wal");
	like($out, qr/^check: ok, the chain works end to end $time\n\z/m,
		"round $round: the summary comes last");
	my @lines = split /\n/, $out;
	is(scalar @lines, 6, "round $round: one line per step and the summary");
	my ($segment) = $out =~ /^wal: ok .*segment ([0-9A-F]{24})/m;
	push @segments, $segment;
	ok(-f "$env->{repo}/archive/wal/" . substr($segment, 0, 16) . "/$segment",
		"round $round: the segment is in the archive");
	ok(!-e "$env->{repo}/check", "round $round: no probe is left in the repository");
}
cmp_ok($segments[1], 'gt', $closed,
	'the check right after a switch closed a segment of its own, after that one');

# the identity of the repository, as the ok case printed it
my ($rc, $out, $err) = check('--config', $env->{conf}, '-d', $connstr, '-t', '30');
is($rc, 0, 'short options -d and -t');
my ($identity) = $out =~ /^repository: ok .* identity ([0-9a-f]{32}):/m;

# ---- a role that is not a superuser: the grants the check needs
{
	$node->safe_psql('postgres', 'CREATE ROLE checker LOGIN');
	my $as_checker = $node->connstr('postgres') . ' user=checker';
	($rc, $out, $err) = check('--config', $env->{conf}, '--dbname', $as_checker);
	is($rc, 1, 'role without grants: exit status 1');
	like($out, qr/^server: FAILED: role "checker" may not read shared_preload_libraries and archive_library\. Run the check as a superuser, or GRANT pg_read_all_settings TO "checker"\.$/m,
		'role without grants: says which to grant for the settings');

	$node->safe_psql('postgres', 'GRANT pg_read_all_settings TO checker');
	($rc, $out, $err) = check('--config', $env->{conf}, '--dbname', $as_checker);
	like($out, qr/^server: FAILED: .*permission denied.*dr_status.*\. GRANT dr_monitor TO "checker"\.$/m,
		'role without dr_monitor: says to grant it');

	$node->safe_psql('postgres', 'GRANT dr_monitor TO checker');
	($rc, $out, $err) = check('--config', $env->{conf}, '--dbname', $as_checker);
	like($out, qr/^server: ok /m, 'with dr_monitor: the server step passes');
	like($out, qr/^wal: FAILED: could not switch WAL: .*permission denied for function pg_switch_wal.*\. Run the check as a superuser, or GRANT EXECUTE ON FUNCTION pg_catalog\.pg_switch_wal\(\) TO "checker"\.$/m,
		'without EXECUTE on pg_switch_wal: the wal step says to grant it');

	$node->safe_psql('postgres', 'GRANT EXECUTE ON FUNCTION pg_catalog.pg_switch_wal() TO checker');
	($rc, $out, $err) = check('--config', $env->{conf}, '--dbname', $as_checker);
	is($rc, 0, 'a role with pg_read_all_settings, dr_monitor and pg_switch_wal(): exit status 0')
	  or diag("stdout:\n$out\nstderr:\n$err");
	like($out, qr/^wal: ok /m, 'that role: the wal step passes');

	# and the role's search_path does not matter: every name is qualified
	$node->safe_psql('postgres', q{
		CREATE SCHEMA trap AUTHORIZATION checker;
		CREATE VIEW trap.pg_settings AS SELECT 'x'::text AS name, 'x'::text AS setting;
		ALTER ROLE checker SET search_path = trap, pg_catalog, public});
	($rc, $out, $err) = check('--config', $env->{conf}, '--dbname', $as_checker);
	is($rc, 0, 'a search_path with look-alike objects first: still exit status 0')
	  or diag("stdout:\n$out\nstderr:\n$err");
}

# ---- a key file readable by others: refused, the repository is skipped
{
	my $conf = "$tmp/key644.conf";
	copy($env->{key}, "$tmp/key644") or die "copy: $!";
	chmod(0644, "$tmp/key644") or die "chmod: $!";
	PostgreSQL::Test::Utils::append_to_file($conf,
		"repo1_type = posix\nrepo1_path = '$env->{repo}'\n"
		  . "repo1_cipher_key_file = '$tmp/key644'\n");
	($rc, $out, $err) = check('--config', $conf, '--dbname', $connstr);
	is($rc, 1, 'key file of mode 0644: exit status 1');
	like($out, qr/^config: ok /m, 'key file of mode 0644: config ok');
	like($out, qr/^key file: FAILED: .*"\Q$tmp\E\/key644".*chmod 600/mi,
		'key file of mode 0644: the key file step fails and says to chmod 600');
	like($out, qr/^repository: skipped \(key file failed\)$/m,
		'key file of mode 0644: repository skipped');
	like($out, qr/^server: ok /m, 'key file of mode 0644: the server is still checked');
	like($out, qr/^wal: skipped \(repository skipped\)$/m, 'key file of mode 0644: wal skipped');
	like($out, qr/^check: FAILED: 1 step failed, 2 skipped $time$/m,
		'key file of mode 0644: the summary counts them');
}

# ---- a repository the user cannot write: the probe fails, nothing left
{
	chmod(0500, $env->{repo}) or die "chmod: $!";
	($rc, $out, $err) = check('--config', $env->{conf}, '--dbname', $connstr);
	chmod(0700, $env->{repo}) or die "chmod: $!";
	is($rc, 1, 'read-only repository: exit status 1');
	like($out, qr/^key file: ok /m, 'read-only repository: key file ok');
	like($out, qr/^repository: FAILED: could not write the probe: .*\Q$env->{repo}\E.*Permission denied/m,
		'read-only repository: the repository step fails, naming the directory');
	like($out, qr/^wal: skipped \(repository failed\)$/m, 'read-only repository: wal skipped');
	ok(!-e "$env->{repo}/check", 'read-only repository: no probe left behind');

	# a probe directory that cannot be written: the same, and it stays as it was
	mkdir("$env->{repo}/check", 0500) or die "mkdir: $!";
	($rc, $out, $err) = check('--config', $env->{conf}, '--dbname', $connstr);
	is($rc, 1, 'read-only probe directory: exit status 1');
	like($out, qr/^repository: FAILED: could not write the probe: .*Permission denied/m,
		'read-only probe directory: the repository step fails');
	opendir(my $dh, "$env->{repo}/check") or die "opendir: $!";
	is_deeply([ grep { !/^\.\.?$/ } readdir($dh) ], [], 'read-only probe directory: nothing in it');
	closedir($dh);
	rmdir("$env->{repo}/check") or die "rmdir: $!";
}

# ---- no server there: the connection is refused
{
	my $port = PostgreSQL::Test::Cluster::get_free_port();
	($rc, $out, $err) = check('--config', $env->{conf}, '--dbname',
		"host=127.0.0.1 port=$port dbname=postgres");
	is($rc, 1, 'server down: exit status 1');
	like($out, qr/^repository: ok /m, 'server down: the repository is still checked');
	like($out, qr/^server: FAILED: .*Connection refused.*[.?] Check that the server is running and accepts this connection, or give its connection string with --dbname/m,
		'server down: the server step fails and says what to do');
	like($out, qr/^wal: skipped \(server failed\)$/m, 'server down: wal skipped');
}

# ---- the server archives into another repository
{
	mkdir("$tmp/other") or die "mkdir: $!";
	my $other = DrTest::repo_setup("$tmp/other");
	($rc, $out, $err) = check('--config', $other->{conf}, '--dbname', $connstr);
	is($rc, 1, 'another repository: exit status 1');
	like($out, qr/^repository: ok /m, 'another repository: it is fine in itself');
	like($out, qr/^server: FAILED: the server archives into another repository: its configuration "\Q$env->{conf}\E" names repo1 at "\Q$env->{repo}\E" \(identity $identity\), not repository 1 at "\Q$other->{repo}\E" \(identity [0-9a-f]{32}\)\. Point pg_dr\.config_file at /m,
		'another repository: the server step names both, by identity');
	like($out, qr/^wal: skipped \(server failed\)$/m, 'another repository: wal skipped');
}

# ---- the archiver cannot store the segment: the wait ends with its error
{
	my $walarch = "$env->{repo}/archive/wal";
	opendir(my $dh, $walarch) or die "opendir: $!";
	my @dirs = map { "$walarch/$_" } grep { /^[0-9A-F]{16}$/ } readdir($dh);
	closedir($dh);
	chmod(0500, @dirs) == @dirs or die "chmod: $!";
	($rc, $out, $err) = check('--config', $env->{conf}, '--dbname', $connstr,
		'--timeout', '3');
	chmod(0700, @dirs) == @dirs or die "chmod: $!";
	is($rc, 1, 'archiving fails: exit status 1');
	like($out, qr/^server: ok /m, 'archiving fails: the server step passes');
	like($out, qr/^wal: FAILED: WAL segment [0-9A-F]{24} was not archived into repository 1 within 3 s; the archiver's last error: .*Permission denied.*\. See the server log and SELECT \* FROM dr_archive_status; give more time with --timeout\.$/m,
		'archiving fails: the wal step times out with the archiver\'s error');
}

# ---- a configuration that cannot be loaded: every other step is skipped
($rc, $out, $err) = check('--config', "$tmp/missing.conf", '--dbname', $connstr);
is($rc, 1, 'missing configuration: exit status 1');
like($out, qr/^config: FAILED: the configuration "\Q$tmp\E\/missing\.conf" \(from --config\) cannot be used: the error is on stderr$/m,
	'missing configuration: the config step fails');
like($err, qr/^pg_dr: error: could not open configuration file "\Q$tmp\E\/missing\.conf"/m,
	'missing configuration: the error is on stderr');
is(scalar(() = $out =~ /^[a-z ]+: skipped \(config failed\)$/mg), 3,
	'missing configuration: key file, repository and server skipped');
like($out, qr/^wal: skipped \(server skipped\)$/m, 'missing configuration: wal skipped');

# ---- usage errors: 2, nothing run
for my $case ([ [ '--timeout', '0' ], qr/invalid value "0" for option --timeout/ ],
	[ [ '--timeout', 'soon' ], qr/invalid value "soon" for option --timeout/ ],
	[ [ 'extra' ], qr/too many command-line arguments \(first is "extra"\)/ ],
	[ [ '--dbname' ], qr/option "--dbname" requires an argument/ ])
{
	($rc, $out, $err) = check('--config', $env->{conf}, @{ $case->[0] });
	is($rc, 2, "usage error (@{ $case->[0] }): exit status 2");
	is($out, '', "usage error (@{ $case->[0] }): nothing on stdout");
	like($err, $case->[1], "usage error (@{ $case->[0] }): says what is wrong");
}

# ---- archiving is off: archive_library is not pg_dr (last: see the header)
{
	$node->safe_psql('postgres', "ALTER SYSTEM SET archive_library = ''");
	$node->reload;
	$node->poll_query_until('postgres', "SELECT current_setting('archive_library') = ''")
	  or die 'archive_library was not reset';
	($rc, $out, $err) = check('--config', $env->{conf}, '--dbname', $connstr);
	is($rc, 1, 'archiving off: exit status 1');
	like($out, qr/^server: FAILED: archive_library is not set, so pg_dr does not archive\. Set archive_library = 'pg_dr' and reload \(SELECT pg_reload_conf\(\)\)\.$/m,
		'archiving off: the server step says to set archive_library and reload');
	like($out, qr/^wal: skipped \(server failed\)$/m, 'archiving off: wal skipped');

	$node->safe_psql('postgres', "ALTER SYSTEM SET archive_library = 'basic_archive_elsewhere'");
	$node->reload;
	$node->poll_query_until('postgres',
		"SELECT current_setting('archive_library') = 'basic_archive_elsewhere'")
	  or die 'archive_library was not set';
	($rc, $out, $err) = check('--config', $env->{conf}, '--dbname', $connstr);
	is($rc, 1, 'another archive library: exit status 1');
	like($out, qr/^server: FAILED: archive_library is 'basic_archive_elsewhere', not 'pg_dr'\. Set archive_library = 'pg_dr' and reload/m,
		'another archive library: named, with what to do');
}

$node->stop('immediate');
done_testing();
