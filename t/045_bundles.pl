# 045_bundles.pl
#	Small files packed into bundles (pg_dr.backup_bundle_limit; manifest
#	version 2, see src/common/manifest.h):
#	- a cluster of a few thousand one-row tables and a pgbench table backs
#	  up, full and incremental, into far fewer repository objects than it
#	  has files;
#	- both restore (--jobs 1 and 2) to what pg_dump showed of the source,
#	  and --delta over a restored directory that was changed since works;
#	- verify passes; one flipped byte inside one bundle entry makes
#	  dr_backup_verify(), pg_dr verify and pg_dr restore fail naming that
#	  file (the bundle's other entries are fine);
#	- a backup taken with bundles off stores every file alone and restores;
#	  a manifest of format version 1 is read by the unit tests
#	  (test_manifest, test_restore).

use strict;
use warnings;

use lib 't/lib';
use DrTest;
use File::Find;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $env = DrTest::repo_setup($tmp);
my $node = DrTest::node_new('bundles', $env->{conf}, checksums => 1);

# -- the cluster: 3,000 one-row tables and pgbench ------------------------
my $tables = 3000;
for (my $first = 1; $first <= $tables; $first += 500)
{
	my $last = $first + 499;
	$node->safe_psql('postgres', qq{
		DO \$\$
		BEGIN
			FOR i IN $first..$last LOOP
				EXECUTE format('CREATE TABLE small_%s (id int PRIMARY KEY, v text)', i);
				EXECUTE format('INSERT INTO small_%s VALUES (%s, %L)', i, i, 'row ' || i);
			END LOOP;
		END \$\$});
}
$node->command_ok([ 'pgbench', '-i', '-s', '2', '-q', 'postgres' ], 'pgbench -i');
$node->safe_psql('postgres', 'CHECKPOINT');

# how many objects a backup made: everything under backup/<id>/
sub objects_of
{
	my ($id) = @_;
	my ($objects, $bundles) = (0, 0);
	find(
		sub {
			return unless -f $_;
			$objects++;
			$bundles++ if $File::Find::dir =~ m{/bundle$};
		},
		"$env->{repo}/backup/$id");
	return ($objects, $bundles);
}

# the backup's file count and stored size, from pg_dr info --json
sub info_of
{
	my ($id) = @_;
	my ($out, $err);
	IPC::Run::run([ 'pg_dr', 'info', '--config', $env->{conf}, '--json' ],
		'>', \$out, '2>', \$err)
	  or die "pg_dr info failed: $err";
	my $info = decode_json($out);
	for my $repo (@{ $info->{repositories} })
	{
		for my $b (@{ $repo->{backups} })
		{
			return $b if $b->{id} eq $id;
		}
	}
	die "pg_dr info does not list $id";
}

my $full = $node->safe_psql('postgres', 'SELECT dr_backup_full()');
my $dump_full = DrTest::pg_dump_of($node);
my ($objects, $bundles) = objects_of($full);
my $files = info_of($full)->{files};
cmp_ok($files, '>', 3 * $tables, "full: $files files");
cmp_ok($bundles, '>=', 1, "full: $bundles bundle objects");
cmp_ok($objects * 20, '<', $files,
	"full: $objects objects for $files files (fewer than 1/20)");
ok(-f "$env->{repo}/backup/$full/data/"
	  . $node->safe_psql('postgres', "SELECT pg_relation_filepath('pgbench_accounts')"),
	'a large file is an object of its own');
cmp_ok(info_of($full)->{stored_size}, '>', 0, 'pg_dr info: the stored size of its entries');

# -- an incremental: some small tables and pgbench change ------------------
$node->safe_psql('postgres', qq{
	DO \$\$
	BEGIN
		FOR i IN 1..$tables BY 10 LOOP
			EXECUTE format('UPDATE small_%s SET v = %L', i, 'changed ' || i);
		END LOOP;
	END \$\$});
$node->safe_psql('postgres', 'CREATE TABLE small_new AS SELECT 1 AS id');
$node->safe_psql('postgres', 'DROP TABLE small_2');
$node->command_ok([ 'pgbench', '-t', '200', '-n', 'postgres' ], 'pgbench run');
my $incr = $node->safe_psql('postgres', 'SELECT dr_backup_incremental()');
my $dump_incr = DrTest::pg_dump_of($node);
my ($iobjects, $ibundles) = objects_of($incr);
my $ifiles = info_of($incr)->{files};
cmp_ok($ibundles, '>=', 1, "incremental: $ibundles bundle objects");
cmp_ok($iobjects * 20, '<', $ifiles,
	"incremental: $iobjects objects for $ifiles files (fewer than 1/20)");

command_ok([ 'pg_dr', 'verify', '--config', $env->{conf}, '--backup', $incr ],
	'pg_dr verify: the incremental and its chain');
is($node->safe_psql('postgres', "SELECT dr_backup_verify('$incr')"), 't',
	'dr_backup_verify() of the incremental');

# -- restores ---------------------------------------------------------------
my ($rc, $out, $err) = DrTest::restore($env, $full, "$tmp/r_full", '--jobs', '1');
is($rc, 0, 'restore of the full backup, 1 job') or diag($err);
my $r = DrTest::node_from_restore('r_full', "$tmp/r_full");
ok(DrTest::pg_dump_of($r) eq $dump_full, 'full: pg_dump equals the source\'s');
is($r->safe_psql('postgres', 'SELECT count(*) FROM pg_class WHERE relname LIKE \'small\_%\''),
	2 * $tables, 'full: every small table and its index');
ok(DrTest::amcheck_ok($r), 'full: amcheck');
$r->stop;

($rc, $out, $err) = DrTest::restore($env, $incr, "$tmp/r_incr", '--jobs', '2');
is($rc, 0, 'restore of the incremental, 2 jobs') or diag($err);
my $ri = DrTest::node_from_restore('r_incr', "$tmp/r_incr");
ok(DrTest::pg_dump_of($ri) eq $dump_incr, 'incremental: pg_dump equals the source\'s');
ok(DrTest::pgbench_balanced($ri), 'incremental: pgbench balances');

# --delta over that directory, changed since: back to the incremental
$ri->safe_psql('postgres', qq{
	UPDATE small_5 SET v = 'changed after the restore';
	DROP TABLE small_7;
	CREATE TABLE small_extra AS SELECT g FROM generate_series(1, 100) g;
	DELETE FROM pgbench_accounts WHERE aid % 7 = 0;
	CHECKPOINT;});
$ri->stop;
my $delta_dir = $ri->data_dir;
($rc, $out, $err) = DrTest::restore($env, $incr, $delta_dir, '--delta', '--jobs', '2');
is($rc, 0, 'restore --delta over the changed directory') or diag($err);
my $rd = DrTest::node_from_restore('r_delta', $delta_dir);
ok(DrTest::pg_dump_of($rd) eq $dump_incr, '--delta: pg_dump equals the source\'s again');
$rd->stop;

# -- bundles off --------------------------------------------------------------
my $plain = $node->safe_psql('postgres',
	"SET pg_dr.backup_bundle_limit = 0; SELECT dr_backup_full()");
my ($pobjects, $pbundles) = objects_of($plain);
is($pbundles, 0, 'bundles off: no bundle object');
cmp_ok($pobjects, '>=', info_of($plain)->{files}, 'bundles off: an object per file');
my $dump_plain = DrTest::pg_dump_of($node);
($rc, $out, $err) = DrTest::restore($env, $plain, "$tmp/r_plain", '--jobs', '2');
is($rc, 0, 'restore of the backup without bundles') or diag($err);
my $rp = DrTest::node_from_restore('r_plain', "$tmp/r_plain");
ok(DrTest::pg_dump_of($rp) eq $dump_plain, 'without bundles: pg_dump equals the source\'s');
$rp->stop;

# -- one flipped byte inside one bundle entry ----------------------------------
# the middle of the incremental's largest bundle object: inside some entry
# (entries are laid end to end)
my @bundle_objects = sort { -s $b <=> -s $a } glob("$env->{repo}/backup/$incr/bundle/*");
my $victim = $bundle_objects[0];
my ($victim_number) = $victim =~ m{/bundle/(\d+)$};
{
	open(my $fh, '+<:raw', $victim) or die "$victim: $!";
	my $at = int((-s $victim) / 2);
	seek($fh, $at, 0);
	read($fh, my $byte, 1);
	seek($fh, $at, 0);
	print $fh chr(ord($byte) ^ 0x01);
	close($fh) or die;
}
my ($vo, $ve);
IPC::Run::run([ 'pg_dr', 'verify', '--config', $env->{conf}, '--backup', $incr ],
	'>', \$vo, '2>', \$ve);
isnt($? >> 8, 0, 'pg_dr verify fails on a damaged bundle entry');
my @named = ($vo . $ve) =~ m{bundle/$victim_number:\d+ \(([^)]+)\)}g;
is(scalar(@named), 1, 'one problem, in one entry of that bundle')
  or diag($vo . $ve);
my $damaged = $named[0] // 'none';
# what the codec reports depends on where the byte fell (a chunk's
# payload fails authentication, its length breaks the framing)
like($vo . $ve, qr{bundle/$victim_number:\d+ \(\Q$damaged\E\): entry at offset \d+ of object},
	"the problem is the decoding of the entry of \"$damaged\"");

my ($vrc, $vout, $verr) = $node->psql('postgres', "SELECT dr_backup_verify('$incr')");
is($vout, 'f', 'dr_backup_verify() returns false');
like($verr, qr/WARNING:  entry at offset \d+ of object .*\(\Q$damaged\E\)/s,
	'with a WARNING naming the file');

($rc, $out, $err) = DrTest::restore($env, $incr, "$tmp/r_bad", '--jobs', '2');
isnt($rc, 0, 'pg_dr restore refuses it');
like($err, qr/could not restore "\Q$damaged\E" of backup "$incr"/, 'naming the file');
command_ok([ 'pg_dr', 'verify', '--config', $env->{conf}, '--backup', $full ],
	'the full backup still verifies');

$node->stop;
done_testing();
