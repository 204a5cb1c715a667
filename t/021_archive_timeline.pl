# 021_archive_timeline.pl
#	The WAL archive across a timeline switch: a standby promoted after its
#	primary stopped archives into the same repository on timeline 2 (its
#	history file, the old timeline's last segment as .partial, new
#	segments), and dr_wal_verify() follows the history from the backup on
#	timeline 1 to the newest segment on timeline 2 -- without the old
#	timeline's segment of the switch point, which recovery does not read.
#	A missing history file or an old-timeline segment before the switch is
#	reported.

use strict;
use warnings;

use lib 't/lib';
use DrTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $archive_conf = qq{
archive_mode = on
archive_library = 'pg_dr'
};

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $env = DrTest::repo_setup($tmp);
my $walarch = "$env->{repo}/archive/wal";
my $primary = DrTest::node_new('primary', $env->{conf});
$primary->append_conf('postgresql.conf', $archive_conf);
$primary->restart;
DrTest::wait_worker($primary);

sub object_of
{
	my ($name) = @_;
	return "$walarch/" . substr($name, 0, 16) . "/$name";
}

sub switch_wal
{
	my ($node, $n) = @_;
	$node->safe_psql('postgres',
		'INSERT INTO filler SELECT g FROM generate_series(1, 5000) g; SELECT pg_switch_wal()')
	  for 1 .. $n;
}

sub wait_drained
{
	my ($node) = @_;
	$node->poll_query_until('postgres',
		'SELECT pending_segments = 0 FROM dr_archive_status')
	  or die 'archiving did not catch up on ' . $node->name;
}

$primary->safe_psql('postgres', 'CREATE TABLE filler (i int)');
my $backup = $primary->safe_psql('postgres', "SELECT dr_backup_full('timeline 1')");
switch_wal($primary, 3);
wait_drained($primary);

# a streaming standby that archives into the same repository once promoted
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;
switch_wal($primary, 2);
$primary->wait_for_catchup($standby);
wait_drained($primary);
$primary->stop;

$standby->promote;
$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'the standby was not promoted';
DrTest::wait_worker($standby);
# the switch point, from the history file the promotion wrote
my ($hi, $lo) = slurp_file($standby->data_dir . '/pg_wal/00000002.history')
  =~ /^1\t([0-9A-F]+)\/([0-9A-F]+)/m
  or die 'no switch point in 00000002.history';
my $switch_seg = (hex($hi) * 2**32 + hex($lo)) / (16 * 1024 * 1024);
$switch_seg = int($switch_seg);
my $seg_name = sub {
	my ($tli, $seg) = @_;
	return sprintf('%08X%08X%08X', $tli, int($seg / 256), $seg % 256);
};
switch_wal($standby, 3);
wait_drained($standby);

ok(-f "$walarch/00000002.history", 'the history file of timeline 2 is archived');
my $old_switch = $seg_name->(1, $switch_seg);
ok(-f object_of("$old_switch.partial"),
	"the old timeline's last segment is archived as $old_switch.partial");
ok(!-f object_of($old_switch), 'and not as a complete segment');
ok(-f object_of($seg_name->(2, $switch_seg)),
	'the new timeline has its own copy of the switch segment');

my ($ok, $first, $last, $checked, $problems) = split /\|/,
  $standby->safe_psql('postgres', 'SELECT * FROM dr_wal_verify()');
is($ok, 't', 'dr_wal_verify() follows the history across the switch') or diag($problems);
like($first, qr/^00000001/, "it starts on timeline 1 ($first), at backup $backup");
like($last, qr/^00000002/, "it ends on timeline 2 ($last)");
cmp_ok($checked, '>=', 7, "$checked segments checked on both timelines");
my ($cli_out, $cli_err) = ('', '');
IPC::Run::run([ 'pg_dr', 'verify', '--config', $env->{conf}, '--wal' ],
	'>', \$cli_out, '2>', \$cli_err);
is($? >> 8, 0, 'pg_dr verify --wal follows the history too') or diag($cli_out, $cli_err);
like($cli_out, qr/: $first to $last \(from backup $backup\), $checked segments read\n/,
	'pg_dr verify --wal: the same walk as dr_wal_verify()');

# an old-timeline segment before the switch, and the history, go missing
my $before = $seg_name->(1, $switch_seg - 1);
ok(-f object_of($before), "$before, the segment before the switch, is archived");
rename(object_of($before), "$tmp/moved") or die "rename: $!";
my $verify = $standby->safe_psql('postgres', 'SELECT ok, problems FROM dr_wal_verify()');
like($verify, qr/^f\|.*WAL segment $before is missing/,
	'a missing old-timeline segment is a gap');
rename("$tmp/moved", object_of($before)) or die "rename: $!";

rename("$walarch/00000002.history", "$tmp/moved") or die "rename: $!";
$verify = $standby->safe_psql('postgres', 'SELECT ok, problems FROM dr_wal_verify()');
like($verify, qr/^f\|.*history file 00000002.history of timeline 2 is missing/,
	'a missing history file is reported');
($cli_out, $cli_err) = ('', '');
IPC::Run::run([ 'pg_dr', 'verify', '--config', $env->{conf}, '--wal' ],
	'>', \$cli_out, '2>', \$cli_err);
is($? >> 8, 1, 'pg_dr verify --wal fails without the history file');
like($cli_out, qr{^archive/wal: history file 00000002.history of timeline 2 is missing from the archive$}m,
	'pg_dr verify --wal names the history file');

$standby->stop;
done_testing();
