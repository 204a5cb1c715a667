# 062_backup_kind.pl
#	dr_backup_incremental() is friendly to cron: without a parent, and
#	unless strict => true, it takes a full backup instead when there is
#	nothing valid to build on (no backup, the newest one's chain broken)
#	or when the newest backup's chain already holds pg_dr.backup_chain_max
#	backups; it says so in a NOTICE and in its audit record.

use strict;
use warnings;

use lib 't/lib';
use DrTest;
use File::Path qw(rmtree);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $env = DrTest::repo_setup($tmp);
my $node = DrTest::node_new('kind', $env->{conf});
$node->safe_psql('postgres', 'CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g');

# one incremental: its id, its NOTICEs, and the audit record's full_instead
sub incremental
{
	my ($args) = @_;
	my ($rc, $out, $err) = $node->psql('postgres',
		"SELECT dr_backup_incremental($args)", on_error_stop => 0);
	my $why = '';
	if ($rc == 0)
	{
		$node->poll_query_until('postgres',
			"SELECT count(*) = 1 FROM dr_audit WHERE operation = 'dr_backup_incremental' AND result = 'ok' AND arguments->>'backup_id' = '$out'")
		  or die "no audit record for $out";
		$why = $node->safe_psql('postgres',
			"SELECT coalesce(arguments->>'full_instead', '') FROM dr_audit WHERE operation = 'dr_backup_incremental' AND arguments->>'backup_id' = '$out'");
	}
	return ($rc, $out, $err, $why);
}

sub kind_of
{
	my ($id) = @_;
	return $node->safe_psql('postgres', "SELECT kind FROM dr_backups WHERE backup_id = '$id'");
}

# (a) an empty repository: a full instead
my ($rc, $id, $err, $why) = incremental('');
is($rc, 0, 'no backup: dr_backup_incremental() succeeds') or diag($err);
like($id, qr/^\d{8}-\d{6}F$/, 'no backup: the id is a full backup\'s');
is(kind_of($id), 'full', 'no backup: dr_backups says full');
like($err, qr/NOTICE:  taking a full backup instead of an incremental one\nDETAIL:  there is no backup to base an incremental backup on\./,
	'no backup: a NOTICE says why');
is($why, 'there is no backup to base an incremental backup on',
	'no backup: the audit record says why');
my $full = $id;

# (b) the chain bound: with pg_dr.backup_chain_max = 3, two incrementals,
# then a full instead; strict => true keeps the incremental
$node->safe_psql('postgres', 'ALTER SYSTEM SET pg_dr.backup_chain_max = 3; SELECT pg_reload_conf()');
my @chain;
for my $n (1 .. 2)
{
	$node->safe_psql('postgres', "UPDATE t SET g = g + 1 WHERE g % 10 = $n");
	($rc, $id, $err, $why) = incremental('');
	is($rc, 0, "chain: incremental $n succeeds") or diag($err);
	is(kind_of($id), 'incremental', "chain: backup $n is an incremental");
	is($why, '', "chain: incremental $n has no full_instead");
	unlike($err, qr/NOTICE/, "chain: incremental $n says nothing");
	push @chain, $id;
}
($rc, $id, $err, $why) = incremental('strict => true');
is($rc, 0, 'chain full, strict: succeeds') or diag($err);
is(kind_of($id), 'incremental', 'chain full, strict: still an incremental');
my $strictId = $id;
($rc, $id, $err, $why) = incremental('');
is(kind_of($id), 'full', 'chain full: a full instead');
is($why, "the chain of the newest backup, $strictId, already holds 4 backups (pg_dr.backup_chain_max = 3)",
	'chain full: the reason names the chain and the setting');
like($err, qr/DETAIL:  the chain of the newest backup, $strictId, already holds 4 backups/,
	'chain full: the NOTICE says so');
my $second = $id;
($rc, $id, $err, $why) = incremental("parent => '$strictId'");
is($rc, 0, 'a named parent: succeeds') or diag($err);
is(kind_of($id), 'incremental', 'a named parent is never changed into a full');

# (c) the newest backup's chain broken (a backup in its middle removed
# from the repository behind pg_dr's back): a full instead, naming the
# problem; strict fails as before
$node->safe_psql('postgres', 'ALTER SYSTEM RESET pg_dr.backup_chain_max; SELECT pg_reload_conf()');
($rc, $id, $err, $why) = incremental('');
is(kind_of($id), 'incremental', 'bound reset: an incremental on the named-parent one');
rmtree("$env->{repo}/backup/$chain[0]");
ok(!-d "$env->{repo}/backup/$chain[0]", 'a backup in the middle of its chain is gone');
($rc, my $out, $err) = $node->psql('postgres', 'SELECT dr_backup_incremental(strict => true)');
isnt($rc, 0, 'broken chain, strict: fails');
like($err, qr/$chain[0]/, 'broken chain, strict: the error names the missing backup');
($rc, $out, $err, $why) = incremental('');
is($rc, 0, 'broken chain: succeeds') or diag($err);
is(kind_of($out), 'full', 'broken chain: a full instead');
like($why, qr/^the newest backup, $id, cannot be built on: .*$chain[0]/,
	'broken chain: the reason names the newest backup and what is missing');

$node->stop;
done_testing();
