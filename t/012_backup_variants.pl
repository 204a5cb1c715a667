# 012_backup_variants.pl
#	Corruption, tablespaces, a cluster without data checksums, SQL-side
#	verify and restore.
#	- one flipped byte in any object is caught by dr_backup_verify(), by
#	  pg_dr verify and by pg_dr restore;
#	- a tablespace is backed up and restored (remapped) with its data;
#	- a cluster without data checksums backs up and restores;
#	- a corrupt page is found, reported, counted and audited.

use strict;
use warnings;

use lib 't/lib';
use DrTest;
use File::Find;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp = PostgreSQL::Test::Utils::tempdir();

# -- a cluster without checksums, with a tablespace ----------------------
my $env = DrTest::repo_setup($tmp);
my $node = DrTest::node_new('nocheck', $env->{conf}, checksums => 0);
my $tsdir = "$tmp/ts1";
mkdir($tsdir) or die;
$node->safe_psql('postgres', "CREATE TABLESPACE ts1 LOCATION '$tsdir'");
$node->safe_psql('postgres',
	"CREATE TABLE in_ts TABLESPACE ts1 AS SELECT g AS id, repeat('x', 100) AS pad FROM generate_series(1, 50000) g;
	 CREATE INDEX in_ts_id ON in_ts (id) TABLESPACE ts1;");
my $full = $node->safe_psql('postgres', "SELECT dr_backup_full()");
$node->safe_psql('postgres', "UPDATE in_ts SET pad = 'changed' WHERE id % 100 = 0");
my $incr = $node->safe_psql('postgres', "SELECT dr_backup_incremental()");
my $expect = $node->safe_psql('postgres', "SELECT count(*), sum(length(pad)) FROM in_ts");

my $oid = $node->safe_psql('postgres', "SELECT oid FROM pg_tablespace WHERE spcname = 'ts1'");
my $dir = "$tmp/restored_ts";
my ($rc, $out, $err) = DrTest::restore($env, $incr, $dir,
	'--tablespace-map', "$oid=$tmp/ts1_restored");
is($rc, 0, 'restore with a remapped tablespace') or diag($err);
ok(-l "$dir/pg_tblspc/$oid", 'the tablespace link is there');
is(readlink("$dir/pg_tblspc/$oid"), "$tmp/ts1_restored", 'pointing at the new location');
my $r = DrTest::node_from_restore('restored_ts', $dir);
is($r->safe_psql('postgres', "SELECT count(*), sum(length(pad)) FROM in_ts"), $expect,
	'the tablespace table has its rows after the incremental');
ok(DrTest::amcheck_ok($r), 'amcheck on the tablespace index');
$r->stop;

# without data checksums: nothing reported as corrupt
is($node->safe_psql('postgres', "SELECT sum(corrupt_pages) FROM dr_backups"), '0',
	'no corrupt pages without checksums');

# -- one flipped byte in an object --------------------------------------
my @objects;
find(sub { push @objects, $File::Find::name if -f $_ && $File::Find::name =~ m{/data/base/} },
	"$env->{repo}/backup/$incr");
ok(@objects > 0, 'the incremental has data objects');
my $victim = $objects[0];
open(my $fh, '+<:raw', $victim) or die;
my $size = -s $victim;
seek($fh, int($size / 2), 0);
read($fh, my $byte, 1);
seek($fh, int($size / 2), 0);
print $fh chr(ord($byte) ^ 0x01);
close($fh);

my ($vrc, $vout, $verr) = $node->psql('postgres', "SELECT dr_backup_verify('$incr')");
is($vout, 'f', 'dr_backup_verify() returns false');
like($verr, qr/WARNING:.*failed authentication/, 'with a WARNING naming the problem');
is($node->safe_psql('postgres', "SELECT status FROM dr_backups WHERE backup_id = '$incr'"),
	'damaged', 'dr_backups marks it damaged');
{
	my ($vo, $ve);
	IPC::Run::run([ 'pg_dr', 'verify', '--config', $env->{conf}, '--backup', $incr ],
		'>', \$vo, '2>', \$ve);
	isnt($? >> 8, 0, 'pg_dr verify fails on it');
	like($vo . $ve, qr/failed authentication/, 'and names the damage');
}
($rc, $out, $err) = DrTest::restore($env, $incr, "$tmp/restored_bad",
	'--tablespace-map', "$oid=$tmp/ts1_bad");
isnt($rc, 0, 'pg_dr restore refuses it');
like($err, qr/failed authentication/, 'naming the damage');
# the full it is based on is still fine
command_ok([ 'pg_dr', 'verify', '--config', $env->{conf}, '--backup', $full ],
	'the parent still verifies');
$node->stop;

# -- a corrupt page in a cluster with checksums -------------------------
my $tmp2 = PostgreSQL::Test::Utils::tempdir();
my $env2 = DrTest::repo_setup($tmp2);
my $node2 = DrTest::node_new('check', $env2->{conf}, checksums => 1);
$node2->safe_psql('postgres',
	"CREATE TABLE victim AS SELECT g AS id, repeat('y', 200) AS pad FROM generate_series(1, 5000) g");
my $path = $node2->safe_psql('postgres', "SELECT pg_relation_filepath('victim')");
$node2->stop;
# damage the middle of block 3 without touching its header or checksum
my $file = $node2->data_dir . "/$path";
open($fh, '+<:raw', $file) or die;
seek($fh, 3 * 8192 + 4000, 0);
print $fh "CORRUPTED";
close($fh);
$node2->start;
DrTest::wait_worker($node2);
my ($crc, $cout, $cerr) = $node2->psql('postgres', "SELECT dr_backup_full()");
is($crc, 0, 'a backup with a corrupt page still completes');
like($cerr, qr/found 1 corrupt pages/, 'the caller is warned');
like(slurp_file($node2->logfile), qr/checksum verification failed in file "\Q$path\E", block 3/,
	'the server log names the corrupt block');
is($node2->safe_psql('postgres', "SELECT status || ' ' || corrupt_pages FROM dr_backups"),
	'corrupt 1', 'dr_backups counts it');
is($node2->safe_psql('postgres',
	"SELECT arguments->>'corrupt_pages' FROM dr_audit WHERE operation = 'dr_backup_full'"),
	'1', 'the audit record counts it');

# -- restore from SQL into a side directory -----------------------------
my $side = "$tmp2/side";
is($node2->safe_psql('postgres',
	"SELECT files > 0 AND bytes > 0 FROM dr_restore('latest', '$side')"), 't',
	'dr_restore() into a side directory');
ok(-f "$side/PG_VERSION" && -f "$side/backup_label", 'it holds a data directory');
($crc, $cout, $cerr) = $node2->psql('postgres',
	"SELECT * FROM dr_restore('latest', '" . $node2->data_dir . "/sub')");
like($cerr, qr/overlaps the running cluster/, 'dr_restore() refuses the live data directory');

$node2->stop;
done_testing();
