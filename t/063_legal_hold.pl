# 063_legal_hold.pl
#	Legal hold: dr_backup_keep(id, until) protects a backup, its chain and
#	the archived WAL from its start to its stop from dr_expire() and
#	pg_dr expire, whatever the retention policy; 'infinity' holds it until
#	the hold is lifted (until => NULL), after which the next expire
#	applies the policy.  The WAL between a held backup and the kept ones
#	still goes.  A hold that has ended no longer keeps anything.  Bad input
#	(a past time, NULL id, an unknown backup) gets clear errors; only
#	dr_admin may call it; every call is audited; pg_dr info shows the hold;
#	a tampered hold object keeps its backup and is reported.

use strict;
use warnings;

use JSON::PP;
use lib 't/lib';
use DrTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $env = DrTest::repo_setup($tmp);
my $node = DrTest::node_new('hold', $env->{conf});
$node->append_conf('postgresql.conf', qq{
archive_mode = on
archive_library = 'pg_dr'
});
$node->restart;
DrTest::wait_worker($node);
my $repo = $env->{repo};
my $walarch = "$repo/archive/wal/0000000100000000";

sub switch_wal
{
	my ($n) = @_;
	$node->safe_psql('postgres',
		'INSERT INTO filler SELECT g FROM generate_series(1, 2000) g; SELECT pg_switch_wal()')
	  for 1 .. $n;
	$node->poll_query_until('postgres', 'SELECT pending_segments = 0 FROM dr_archive_status')
	  or die 'archiving did not catch up';
}

sub segments_of
{
	my ($id) = @_;
	return split /\|/, $node->safe_psql('postgres',
		"SELECT pg_walfile_name(start_lsn), pg_walfile_name(stop_lsn) FROM dr_backups WHERE backup_id = '$id'");
}

sub backups_listed
{
	my ($out, $err);
	IPC::Run::run([ 'pg_dr', 'info', '--config', $env->{conf}, '--json' ], '>', \$out, '2>', \$err);
	my $doc = JSON::PP->new->decode($out);
	return $doc->{repositories}[0]{backups};
}

$node->safe_psql('postgres', 'CREATE TABLE filler (i int)');
my @full;
for my $n (1 .. 3)
{
	push @full, $node->safe_psql('postgres', "SELECT dr_backup_full('full $n')");
	switch_wal(2);
}
my $incr = $node->safe_psql('postgres', "SELECT dr_backup_incremental('$full[0]')");
switch_wal(2);
my ($a_start, $a_stop) = segments_of($full[0]);
my ($i_start, $i_stop) = segments_of($incr);
my ($b_start) = segments_of($full[1]);

# -- bad input --------------------------------------------------------------
my ($rc, $out, $err) = $node->psql('postgres', "SELECT dr_backup_keep('$full[0]', now() - interval '1 day')");
like($err, qr/ERROR:  a hold must end in the future/, 'a past end is refused');
($rc, $out, $err) = $node->psql('postgres', "SELECT dr_backup_keep(NULL, 'infinity')");
like($err, qr/ERROR:  backup_id must not be NULL/, 'a NULL id is refused');
($rc, $out, $err) = $node->psql('postgres', "SELECT dr_backup_keep('20200101-000000F', 'infinity')");
like($err, qr/ERROR:  backup "20200101-000000F" does not exist/, 'an unknown backup is refused');
$node->safe_psql('postgres', 'CREATE ROLE op LOGIN IN ROLE dr_operator; CREATE ROLE adm LOGIN IN ROLE dr_admin');
($rc, $out, $err) = $node->psql('postgres', "SET ROLE op; SELECT dr_backup_keep('$full[0]', 'infinity')");
like($err, qr/permission denied for function dr_backup_keep/, 'dr_operator may not hold a backup');

# -- a hold for ever on the incremental of the oldest full -----------------
is($node->safe_psql('postgres', "SET ROLE adm; SELECT dr_backup_keep('$incr', 'infinity')"),
	'infinity', 'dr_admin holds the incremental for ever');
# and one that has ended by the time expire runs
my $soon = $node->safe_psql('postgres', "SELECT dr_backup_keep('$full[1]', now() + interval '2 seconds') IS NOT NULL");
is($soon, 't', 'a hold of two seconds on the second full');
my ($held) = grep { $_->{id} eq $incr } @{ backups_listed() };
is($held->{hold}, 'infinity', 'pg_dr info --json shows the hold');
command_like([ 'pg_dr', 'info', '--config', $env->{conf} ],
	qr/^    \Q$incr\E  incremental of \Q$full[0]\E, held until the hold is lifted$/m,
	'pg_dr info shows the hold in text');
sleep 3;

PostgreSQL::Test::Utils::append_to_file($env->{conf}, "repo1_retention_full = 1\n");
is($node->safe_psql('postgres', 'SELECT backups_removed FROM dr_expire()'), '1',
	'dr_expire with one full to keep removes one backup (the second full, its hold ended)');
is($node->safe_psql('postgres', "SELECT string_agg(backup_id, ',' ORDER BY backup_id) FROM dr_backups"),
	join(',', sort($full[0], $incr, $full[2])),
	'the held incremental and its full stay, with the newest full');
ok(-f "$walarch/$a_start" && -f "$walarch/$a_stop", 'the held chain\'s full keeps its WAL');
ok(-f "$walarch/$i_start" && -f "$walarch/$i_stop", 'the held incremental keeps its WAL');
ok(!-f "$walarch/$b_start", 'the WAL between the held chain and the kept full goes');

# pg_dr expire honours the hold too
command_like([ 'pg_dr', 'expire', '--config', $env->{conf} ],
	qr/removed 0 backups .*; 1 backups under a legal hold/,
	'pg_dr expire keeps the held backups and says so');

# -- a tampered hold object: kept, and reported ------------------------------
my $holdfile = "$repo/backup/$incr/hold";
my $saved = PostgreSQL::Test::Utils::slurp_file($holdfile);
open(my $fh, '+<:raw', $holdfile) or die; seek($fh, -3, 2); print $fh 'zzz'; close($fh);
($rc, $out, $err) = $node->psql('postgres', 'SELECT backups_removed FROM dr_expire()');
is($out, '0', 'a damaged hold: nothing removed');
like($err, qr/WARNING:  the legal hold of backup \Q$incr\E cannot be read/,
	'a damaged hold: a warning names the backup');
open($fh, '>:raw', $holdfile) or die; print $fh $saved; close($fh);

# -- lifted: the next expire applies the policy -----------------------------
is($node->safe_psql('postgres', "SET ROLE adm; SELECT dr_backup_keep('$incr', NULL) IS NULL"),
	't', 'the hold is lifted (NULL)');
ok(!-e $holdfile, 'the hold object is gone');
is($node->safe_psql('postgres', 'SELECT backups_removed FROM dr_expire()'), '2',
	'dr_expire now removes the full and its incremental');
ok(!-f "$walarch/$a_start", 'and their WAL');
is($node->safe_psql('postgres',
	"SELECT string_agg(coalesce(arguments->>'until', 'lifted'), ',' ORDER BY id) FROM dr_audit WHERE operation = 'dr_backup_keep' AND result = 'ok'"),
	'infinity,' . $node->safe_psql('postgres', "SELECT arguments->>'until' FROM dr_audit WHERE operation = 'dr_backup_keep' AND result = 'ok' AND arguments->>'backup_id' = '$full[1]'") . ',lifted',
	'every hold set and lifted is audited');
# arguments refused before the call (a past end, a NULL id) are not
# operations, as for every dr_* function; a missing backup is a failed one
is($node->safe_psql('postgres',
	"SELECT string_agg(arguments->>'backup_id', ',') FROM dr_audit WHERE operation = 'dr_backup_keep' AND result <> 'ok'"),
	'20200101-000000F', 'the call on an unknown backup is audited as failed');

$node->stop;
done_testing();
