# 044_archive_reload.pl
#	archive_library switched to 'pg_dr' by a reload, on a server that
#	started a moment ago (so PostgreSQL will not restart its archiver for
#	another PGARCH_RESTART_INTERVAL, 10 s, and before the fix its
#	postmaster slept on until its next wakeup, 30-60 s later): the pg_dr
#	archive workers store the waiting segments within a few seconds of the
#	reload, and wake the postmaster until it starts the archiver again, so
#	that every .ready file is marked done within the restart interval plus
#	a few seconds -- not at the postmaster's next wakeup.

use strict;
use warnings;

use lib 't/lib';
use DrTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $env = DrTest::repo_setup($tmp);
my $node = DrTest::node_new('reload', $env->{conf});
# archiving on, but paused: a backlog of .ready files builds up
$node->append_conf('postgresql.conf', q{
archive_mode = on
archive_command = 'false'
pg_dr.archive_workers = 2
});
$node->restart;
my $pgdata = $node->data_dir;

$node->safe_psql('postgres',
	'CREATE TABLE filler AS SELECT g, pg_catalog.repeat(g::text, 50) AS t FROM generate_series(1, 60000) g');
my @backlog;
for (1 .. 3)
{
	push @backlog, $node->safe_psql('postgres',
		'SELECT pg_catalog.pg_walfile_name(pg_catalog.pg_switch_wal())');
	$node->safe_psql('postgres', 'INSERT INTO filler SELECT g, g::text FROM generate_series(1, 20000) g');
}
ok(-e "$pgdata/pg_wal/archive_status/$backlog[-1].ready", 'a backlog of .ready files waits');

# the archiver started with the server a few seconds ago
$node->safe_psql('postgres', "ALTER SYSTEM SET archive_command = ''");
$node->safe_psql('postgres', "ALTER SYSTEM SET archive_library = 'pg_dr'");
my $t0 = time();
$node->safe_psql('postgres', 'SELECT pg_catalog.pg_reload_conf()');

my $walarch = "$env->{repo}/archive/wal";
my $stored;
while (time() - $t0 < 60)
{
	if (!grep { !-e "$walarch/" . substr($_, 0, 16) . "/$_" } @backlog)
	{
		$stored = time() - $t0;
		last;
	}
	sleep(0.05);
}
ok(defined $stored, 'the archive workers stored the backlog');
cmp_ok($stored // 99, '<', 5, 'within a few seconds of the reload');
note(sprintf('backlog stored %.2f s after the reload', $stored // -1));

my $done;
while (time() - $t0 < 90)
{
	if (!grep { -e "$pgdata/pg_wal/archive_status/$_.ready" } @backlog)
	{
		$done = time() - $t0;
		last;
	}
	sleep(0.05);
}
ok(defined $done, 'the archiver came back and marked the backlog done');
cmp_ok($done // 99, '<', 15,
	'within the archiver restart interval (10 s) and a few seconds, not at the postmaster\'s next wakeup');
note(sprintf('backlog marked done %.2f s after the reload', $done // -1));
is($node->safe_psql('postgres',
		"SELECT last_archived_wal >= '$backlog[-1]' FROM pg_catalog.pg_stat_archiver"),
	't', 'pg_stat_archiver shows it');

$node->stop;
done_testing();
