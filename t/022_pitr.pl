# 022_pitr.pl
#	Point-in-time restore from the CLI, with WAL archived by the pg_dr
#	archive module.  A ledger table is written row by row while pgbench
#	writes too; instants are recorded between rows (a time, a restore
#	point, an LSN, a transaction id), with a full backup before them and an
#	incremental in the middle.  Each target is restored into a new
#	directory without naming a backup (or naming one for the restore
#	point), and the started cluster holds exactly the ledger rows committed
#	up to the target, with pgbench's balances intact: time (inclusive,
#	picks the full backup), LSN (inclusive, picks the incremental and its
#	chain), xid (exclusive), name (from the full backup, paused at the
#	target, then resumed).  Refused before anything is written: a target
#	before every backup, an LSN after the archived WAL, a named backup that
#	ends after the target, malformed values and two targets (usage, exit 2).
#	A time after the archived WAL is restored with a warning, and the server
#	then stops without promoting when recovery runs out of WAL, as the
#	warning says.

use strict;
use warnings;

use lib 't/lib';
use DrTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $env = DrTest::repo_setup($tmp);
my $node = DrTest::node_new('pitr', $env->{conf});
$node->append_conf('postgresql.conf', qq{
track_commit_timestamp = on
archive_mode = on
archive_library = 'pg_dr'
});
$node->restart;
DrTest::wait_worker($node);

# ---- usage errors: exit 2, nothing created
my @usage = (
	[ 'two targets', qr/only one recovery target can be given \(--target-lsn and --target-xid\)/,
		'--target-lsn', '0/3000000', '--target-xid', '1000' ],
	[ 'a time without its zone', qr/the time zone is missing/,
		'--target-time', '2024-05-01 12:00:00' ],
	[ 'an impossible date', qr/no such date/, '--target-time', '2024-02-30 12:00:00+00' ],
	[ 'a malformed LSN', qr/invalid recovery target LSN "3000000"/, '--target-lsn', '3000000' ],
	[ 'a transaction id that is not a number', qr/must be a positive decimal integer/,
		'--target-xid', 'abc' ],
	[ 'a restore point name of 64 bytes', qr/is too long \(64 bytes\)/,
		'--target-name', 'x' x 64 ],
	[ 'an unknown action', qr/invalid target action "shutdown"/,
		'--target-lsn', '0/3000000', '--target-action', 'shutdown' ],
	[ '--target-exclusive without a target', qr/needs a recovery target/,
		'--backup', 'latest', '--target-exclusive' ]);
for my $u (@usage)
{
	my ($what, $re, @args) = @$u;
	my ($rc, $out, $err) = DrTest::restore_with($env, "$tmp/usage", @args);
	is($rc, 2, "usage error: $what");
	like($err, $re, "$what: says why");
}
ok(!-e "$tmp/usage", 'usage errors create nothing');

# ---- the source: a ledger written row by row while pgbench writes
$node->command_ok([ 'pgbench', '-i', '-s', '1', '-q', 'postgres' ], 'pgbench -i');
$node->safe_psql('postgres',
	'CREATE TABLE ledger (id serial PRIMARY KEY,
	                      at timestamptz NOT NULL DEFAULT clock_timestamp(),
	                      amount int NOT NULL)');

my $full = $node->safe_psql('postgres', "SELECT dr_backup_full('pitr base')");
like($full, qr/^\d{8}-\d{6}F$/, "full backup $full");
# a time target must be a second past the backup's stop-time
sleep 1;

my $pgbench = IPC::Run::start(
	[ 'pgbench', '-n', '-T', '60', '-c', '2', $node->connstr('postgres') ],
	'>', \my $pgb_out, '2>', \my $pgb_err);

my $amount = 0;
sub ledger_rows
{
	my ($n) = @_;
	for (1 .. $n)
	{
		usleep(100_000);
		$amount++;
		$node->safe_psql('postgres', "INSERT INTO ledger (amount) VALUES ($amount)");
	}
}

ledger_rows(4);
my ($t_time, $max_time) = split /\|/,
  $node->safe_psql('postgres', 'SELECT now(), max(id) FROM ledger');
ledger_rows(3);
my ($name_lsn, $max_name) = split /\|/, $node->safe_psql('postgres',
	"SELECT pg_create_restore_point('pitr_test_point'), (SELECT max(id) FROM ledger)");
ledger_rows(3);

my $incr = $node->safe_psql('postgres', 'SELECT dr_backup_incremental()');
like($incr, qr/^\d{8}-\d{6}I$/, "incremental backup $incr in the middle");

ledger_rows(3);
my ($t_lsn, $max_lsn) = split /\|/, $node->safe_psql('postgres',
	'SELECT pg_current_wal_insert_lsn(), max(id) FROM ledger');
ledger_rows(3);
usleep(100_000);
my ($xid_id, $xid) = split /\|/, $node->safe_psql('postgres',
	'WITH i AS (INSERT INTO ledger (amount) VALUES (-1) RETURNING id)
	 SELECT id, txid_current() FROM i');
ledger_rows(3);

$pgbench->kill_kill;
$pgbench->finish;
my $total = $node->safe_psql('postgres', 'SELECT max(id) FROM ledger');
note("instants: time $t_time (rows 1..$max_time), restore point at $name_lsn "
	  . "(1..$max_name), LSN $t_lsn (1..$max_lsn), xid $xid (row $xid_id); $total rows");

# the premise of the time target: rows committed by then are 1..max_time
is($node->safe_psql('postgres',
	"SELECT max(id) FROM ledger WHERE pg_xact_commit_timestamp(xmin) <= '$t_time'"),
	$max_time, 'on the source, the rows committed by the time target are those before it');

# every segment up to here is archived
my $seg = $node->safe_psql('postgres', 'SELECT pg_walfile_name(pg_switch_wal())');
$node->poll_query_until('postgres',
	"SELECT coalesce(last_archived_wal, '') >= '$seg' FROM pg_stat_archiver")
  or die "segment $seg was not archived";
pass("WAL archived up to $seg");

# ---- refused before anything is written
my ($rc, $out, $err) = DrTest::restore_with($env, "$tmp/early", '--target-time', '2000-01-01 00:00:00+00');
is($rc, 1, 'a time before every backup is refused');
like($err, qr/recovery target time "2000-01-01 00:00:00\+00" is before the earliest point the repository can recover to, \S+ \S+ \(the end of backup $full\)/,
	'naming the earliest recoverable point');
ok(!-e "$tmp/early", 'and the target directory is not created');

mkdir("$tmp/early-lsn") or die;
($rc, $out, $err) = DrTest::restore_with($env, "$tmp/early-lsn", '--target-lsn', '0/1');
is($rc, 1, 'an LSN before every backup is refused');
like($err, qr/is before the earliest point .* \(the end of backup $full\)/, 'naming the earliest');
opendir(my $dh, "$tmp/early-lsn") or die;
is(scalar(grep { !/^\.\.?$/ } readdir($dh)), 0, 'and the existing target directory stays empty');
closedir($dh);

($rc, $out, $err) = DrTest::restore_with($env, "$tmp/late", '--target-lsn', 'FFFFFFFF/0');
is($rc, 1, 'an LSN after the archived WAL is refused');
like($err, qr/is after the newest WAL the repository holds, \S+ \(the end of archived segment [0-9A-F]{24}\)/,
	'naming the newest WAL');
ok(!-e "$tmp/late", 'nothing written');

($rc, $out, $err) = DrTest::restore_with($env, "$tmp/named", '--backup', $incr, '--target-time', $t_time);
is($rc, 1, 'a named backup that ends after the target is refused');
like($err, qr/backup "$incr" ends at .*, after the recovery target time/, 'saying so');
ok(!-e "$tmp/named", 'nothing written');

# ---- restore to each target and check what the cluster holds
sub ledger_of
{
	my ($n) = @_;
	return $n->safe_psql('postgres', 'SELECT string_agg(id::text, \',\' ORDER BY id) FROM ledger');
}

sub expected_upto
{
	my ($max) = @_;
	return $node->safe_psql('postgres',
		"SELECT string_agg(id::text, ',' ORDER BY id) FROM ledger WHERE id <= $max");
}

# a restored directory, not archiving into the source's repository (it
# would add a timeline there that later restores would follow)
sub restored_conf
{
	my ($dir) = @_;
	PostgreSQL::Test::Utils::append_to_file("$dir/postgresql.conf",
		"\narchive_mode = off\n");
}

my @cases = (
	{ what => 'time', args => [ '--target-time', $t_time ], backup => $full,
	  chain => $full, max => $max_time, setting => qr/^recovery_target_time = '\Q$t_time\E'$/m },
	{ what => 'lsn', args => [ '--target-lsn', $t_lsn ], backup => $incr,
	  chain => "$incr <- $full", max => $max_lsn,
	  setting => qr/^recovery_target_lsn = '$t_lsn'$/m },
	{ what => 'xid', args => [ '--backup', 'latest', '--target-xid', $xid, '--target-exclusive' ],
	  backup => $incr, chain => "$incr <- $full", max => $xid_id - 1,
	  setting => qr/^recovery_target_xid = '$xid'\nrecovery_target_inclusive = off$/m });
for my $c (@cases)
{
	my $dir = "$tmp/pitr_$c->{what}";
	($rc, $out, $err) = DrTest::restore_with($env, $dir, @{ $c->{args} }, '--jobs', '2');
	is($rc, 0, "restore to the $c->{what} target") or diag($err);
	note($out);
	like($out, qr/^restored backup $c->{backup} to .*\n  target:      $c->{what} /,
		"$c->{what}: restored from $c->{backup}");
	like($out, qr/^  chain:       \Q$c->{chain}\E$/m, "$c->{what}: chain $c->{chain}");
	my $conf = slurp_file("$dir/postgresql.auto.conf");
	like($conf, $c->{setting}, "$c->{what}: the target in postgresql.auto.conf");
	like($conf, qr/^recovery_target_action = 'promote'\nrecovery_target_timeline = 'latest'$/m,
		"$c->{what}: promote, latest timeline");
	restored_conf($dir);

	my $r = DrTest::node_from_restore("pitr_$c->{what}", $dir);
	is(ledger_of($r), expected_upto($c->{max}),
		"$c->{what}: the ledger holds exactly rows 1..$c->{max}");
	ok(DrTest::pgbench_balanced($r), "$c->{what}: pgbench balances agree");
	$r->stop;
}

# restore point: the newest backup is picked (after it), so name the full
my $dir = "$tmp/pitr_name";
($rc, $out, $err) = DrTest::restore_with($env, $dir, '--backup', $full, '--target-name', 'pitr_test_point',
	'--target-action', 'pause');
is($rc, 0, 'restore to the restore point, from the named full backup') or diag($err);
like($out, qr/^  target:      name "pitr_test_point", then pause\n  picked:      named with --backup \(restore point "pitr_test_point" found in the archived WAL at \Q$name_lsn\E\)$/m,
	'the summary shows the target and the named backup');
like(slurp_file("$dir/postgresql.auto.conf"),
	qr/^recovery_target_name = 'pitr_test_point'$/m, 'the name in postgresql.auto.conf');
restored_conf($dir);
my $paused = PostgreSQL::Test::Cluster->new('pitr_name');
PostgreSQL::Test::Utils::append_to_file("$dir/postgresql.conf",
	"port = " . $paused->port . "\nunix_socket_directories = '" . $paused->host
	  . "'\nlisten_addresses = ''\n");
chmod(0700, $dir);
rename($dir, $paused->data_dir) or die "could not move \"$dir\": $!";
$paused->start;
$paused->poll_query_until('postgres', "SELECT pg_get_wal_replay_pause_state() = 'paused'")
  or die 'recovery did not pause at the restore point';
is(ledger_of($paused), expected_upto($max_name),
	"name: paused at the restore point, the ledger holds exactly rows 1..$max_name");
ok(DrTest::pgbench_balanced($paused), 'name: pgbench balances agree');
$paused->safe_psql('postgres', 'SELECT pg_wal_replay_resume()');
$paused->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'resuming did not end recovery';
is(ledger_of($paused), expected_upto($max_name), 'name: resumed, promoted, same rows');
$paused->stop;

# ---- a time after the archived WAL: a warning, and the server says the same
my $future = $node->safe_psql('postgres', "SELECT now() + interval '1 hour'");
$dir = "$tmp/pitr_future";
($rc, $out, $err) = DrTest::restore_with($env, $dir, '--target-time', $future);
is($rc, 0, 'a time after the archived WAL is restored');
like($err, qr/warning: recovery target time "\Q$future\E" is after the newest archived WAL \(segment [0-9A-F]{24}, stored at .*\)/,
	'with a warning');
like($out, qr/^restored backup $incr /, 'from the newest backup');
restored_conf($dir);
my $future_node = PostgreSQL::Test::Cluster->new('pitr_future');
PostgreSQL::Test::Utils::append_to_file("$dir/postgresql.conf",
	"port = " . $future_node->port . "\nunix_socket_directories = '"
	  . $future_node->host . "'\nlisten_addresses = ''\n");
chmod(0700, $dir);
rename($dir, $future_node->data_dir) or die;
# pg_ctl start returns once hot standby accepts connections, and recovery
# then runs out of archived WAL and the server stops -- or recovery runs out
# first (a quick replay), the server stops before it ever accepts one, and
# pg_ctl start fails: both are what this case expects.  pg_ctl is run
# directly: Cluster->start would bail out when the server has already
# stopped by the time it looks for postmaster.pid (a race under load)
PostgreSQL::Test::Utils::system_log('pg_ctl', '-D', $future_node->data_dir, '-l',
	$future_node->logfile, '-w', 'start');
my $ended = 0;
for (1 .. 600)
{
	$ended = 1, last if !-e $future_node->data_dir . '/postmaster.pid';
	usleep(100_000);
}
ok($ended, 'the server stops at the end of the archived WAL, without promoting');
like(slurp_file($future_node->logfile),
	qr/FATAL:  recovery ended before configured recovery target was reached/,
	'because recovery ended before the target, as the warning says');
$future_node->stop('immediate', fail_ok => 1);

$node->stop;
done_testing();
