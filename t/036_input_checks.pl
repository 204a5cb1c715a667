# 036_input_checks.pl
#	Hostile or careless input (issue 8, items 5, 12, 13 and 14): a label or
#	a restore point name with a newline is refused; two sessions creating
#	one restore point name at once write one WAL record and the loser gets
#	a clear error; a passphrase written in place of the key file's path is
#	shown neither by dr_status nor by pg_dr info; a FIFO as configuration
#	file is refused at once; dr_pitr_window forgets a backup pg_dr expire
#	removed (without dr_repository_sync()); archived_to_lsn is known after a
#	backup; the audit record of dr_backup_verify('latest') names the backup;
#	a long invalid id is cut short in the error.

use strict;
use warnings;

use lib 't/lib';
use DrTest;
use POSIX qw(mkfifo);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $env = DrTest::repo_setup($tmp);
my $node = DrTest::node_new('input', $env->{conf});
$node->append_conf('postgresql.conf',
	"archive_mode = on\narchive_library = 'pg_dr'\n");
$node->restart;
DrTest::wait_worker($node);

# ---- item 5: one line of text
my ($rc, $out, $err) = $node->psql('postgres',
	"SELECT dr_backup_full(E'x\\nSTART TIMELINE: 7')");
isnt($rc, 0, 'a label with a newline is refused');
like($err, qr/argument "label" of dr_backup_full\(\) contains a control character \(0x0a/,
	'and the error names the argument');
is($node->safe_psql('postgres', 'SELECT count(*) FROM dr_backups'), '0',
	'no backup was taken');
($rc, $out, $err) = $node->psql('postgres',
	"SELECT dr_restore_point(E'before\\nbatch')");
isnt($rc, 0, 'a restore point name with a newline is refused');
like($err, qr/argument "name" of dr_restore_point\(\) contains a control character/,
	'and the error names the argument');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM dr_restore_points WHERE name LIKE 'before%'"), '0',
	'no restore point was recorded');

# ---- item 13: two sessions, one name
my $lsn_before = $node->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
my $s1 = $node->background_psql('postgres');
$s1->query_safe('BEGIN');
$s1->query_safe("SELECT dr_restore_point('same')");
my ($out2, $err2) = ('', '');
my $h2 = IPC::Run::start(
	[ 'psql', '-X', '-At', '-v', 'VERBOSITY=verbose', '-d', $node->connstr('postgres'),
		'-c', "SELECT dr_restore_point('same')" ],
	'>', \$out2, '2>', \$err2);
# the second one waits for the first (old code: it wrote its WAL record
# first, then waited on the unique index)
$node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity
	  WHERE wait_event_type = 'Lock' AND query LIKE '%dr_restore_point(''same'')%'")
  or die 'the second dr_restore_point() did not wait';
$s1->query_safe('COMMIT');
$s1->quit;
$h2->finish;
isnt($h2->result(0), 0, 'the second dr_restore_point() of one name fails');
like($err2, qr/ERROR:  42710: restore point "same" already exists/,
	'with duplicate_object and a clear message');
like($err2, qr/HINT:  Choose another name/, 'and a hint');
# a commit flushes what came before it, for pg_waldump
$node->safe_psql('postgres', 'CREATE TABLE after_points ()');
my $lsn_after = $node->safe_psql('postgres', 'SELECT pg_current_wal_flush_lsn()');
my ($dump, $dump_err) = ('', '');
IPC::Run::run(
	[ 'pg_waldump', '-p', $node->data_dir . '/pg_wal', '-s', $lsn_before,
		'-e', $lsn_after ],
	'>', \$dump, '2>', \$dump_err);
my $records = () = $dump =~ /RESTORE_POINT same$/mg;
is($records, 1, 'exactly one WAL restore point record for the name')
  or diag($dump_err);
is($node->safe_psql('postgres',
	"SELECT count(*) FROM dr_restore_points WHERE name = 'same'"), '1',
	'and one row in dr_restore_points');

# ---- item 12: a passphrase in place of the key file's path
my $secret = 'correct horse battery staple';
my $badconf = "$tmp/passphrase.conf";
PostgreSQL::Test::Utils::append_to_file($badconf,
	"repo1_type = posix\nrepo1_path = '$env->{repo}'\n"
	  . "repo1_cipher_key_file = '$secret'\n");
my $status = $node->safe_psql('postgres',
	"SET pg_dr.config_file = '$badconf'; SELECT config_ok, config_error FROM dr_status");
like($status, qr/^f\|.*line 3: "repo1_cipher_key_file" must be an absolute path/,
	'dr_status: the key file setting is named, with its line');
unlike($status, qr/horse/, 'dr_status.config_error does not show the passphrase');
my ($info_out, $info_err) = ('', '');
IPC::Run::run([ 'pg_dr', 'info', '--config', $badconf ],
	'>', \$info_out, '2>', \$info_err);
like($info_err, qr/"repo1_cipher_key_file" must be an absolute path/,
	'pg_dr info: the key file setting is named');
unlike($info_out . $info_err, qr/horse/, 'pg_dr info does not show the passphrase');

# ---- item 12: a FIFO as configuration file
my $fifo = "$tmp/fifo.conf";
mkfifo($fifo, 0600) or die "mkfifo: $!";
my $t0 = time();
my ($timed_out, $fifo_out, $fifo_err) = (0, '', '');
$node->psql('postgres',
	"SET pg_dr.config_file = '$fifo'; SELECT config_ok, config_error FROM dr_status",
	stdout => \$fifo_out, stderr => \$fifo_err,
	timeout => 60, timed_out => \$timed_out);
ok(!$timed_out && time() - $t0 < 30, 'a FIFO as configuration file does not hang the backend');
like($fifo_out, qr/^f\|configuration file ".*fifo.conf" is not a regular file \(it is a FIFO\)/,
	'dr_status says it is not a regular file');
$t0 = time();
($info_out, $info_err) = ('', '');
my $cli = IPC::Run::start([ 'pg_dr', 'info', '--config', $fifo ],
	'>', \$info_out, '2>', \$info_err, IPC::Run::timeout(60));
eval { $cli->finish; };
ok(!$@ && time() - $t0 < 30, 'pg_dr info on a FIFO returns at once');
like($info_err, qr/is not a regular file \(it is a FIFO\)/, 'and says why');

# ---- item 14: backups, the window, the audit
my $first = $node->safe_psql('postgres', "SELECT dr_backup_full('first')");
my $stop = $node->safe_psql('postgres',
	"SELECT stop_lsn FROM dr_backups WHERE backup_id = '$first'");
# the newest archived file is the backup history file "<segment>.<offset>.backup"
$node->poll_query_until('postgres',
	"SELECT last_archived_wal LIKE '%.backup' OR last_archived_wal > pg_walfile_name('$stop')
	   FROM pg_stat_archiver")
  or die 'the backup history file was not archived';
is($node->safe_psql('postgres',
	"SELECT archived_to_lsn IS NOT NULL AND archived_to_lsn >= '$stop'
	   FROM dr_pitr_window WHERE timeline = 1"), 't',
	'archived_to_lsn is known after a backup, and covers its end');

my $second = $node->safe_psql('postgres', "SELECT dr_backup_full('second')");
is($node->safe_psql('postgres',
	"SELECT earliest = (SELECT finished_at FROM dr_backups WHERE backup_id = '$first')
	   FROM dr_pitr_window WHERE timeline = 1"), 't',
	'the window starts at the first backup');

# pg_dr expire, keeping one full: the first goes, the catalog does not know
my $expconf = "$tmp/expire.conf";
PostgreSQL::Test::Utils::append_to_file($expconf,
	PostgreSQL::Test::Utils::slurp_file($env->{conf}) . "repo1_retention_full = 1\n");
command_like([ 'pg_dr', 'expire', '--config', $expconf ],
	qr/remove.* backup $first/, 'pg_dr expire removes the first backup');
is($node->safe_psql('postgres', 'SELECT count(*) FROM dr_backups'), '2',
	'the catalog still lists it (no dr_repository_sync())');
is($node->safe_psql('postgres',
	"SELECT earliest = (SELECT finished_at FROM dr_backups WHERE backup_id = '$second')
	   FROM dr_pitr_window WHERE timeline = 1"), 't',
	'dr_pitr_window starts at the oldest backup the repository still holds');

# the audit record of verify('latest') names the backup it verified
is($node->safe_psql('postgres', "SELECT dr_backup_verify('latest')"), 't',
	"dr_backup_verify('latest')");
$node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM dr_audit WHERE operation = 'dr_backup_verify'")
  or die 'no audit record of dr_backup_verify';
is($node->safe_psql('postgres',
	"SELECT arguments->>'backup_id' || ' ' || (arguments->>'resolved_id')
	   FROM dr_audit WHERE operation = 'dr_backup_verify'"),
	"latest $second", 'its audit record names the backup "latest" was');

# a long invalid id is cut short
my $long = 'z' x 5000;
($rc, $out, $err) = $node->psql('postgres', "SELECT dr_backup_verify('$long')");
like($err, qr/invalid backup id "z{64}\.\.\."/, 'a long invalid id is cut in the error');
cmp_ok(length($err), '<', 600, 'and the error stays short');
my ($v_out, $v_err) = ('', '');
IPC::Run::run([ 'pg_dr', 'verify', '--config', $env->{conf}, '--backup', $long ],
	'>', \$v_out, '2>', \$v_err);
like($v_err, qr/invalid backup "z{64}\.\.\."/, 'pg_dr verify cuts it too');
($rc, $out, $err) = $node->psql('postgres', "SELECT dr_backup_incremental('$long')");
like($err, qr/"z{64}\.\.\." is not a backup id/, 'dr_backup_incremental cuts the parent id');

$node->stop;
done_testing();
