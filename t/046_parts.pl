# 046_parts.pl
#	Large files in parts (manifest version 2, pg_dr.backup_part_size): with
#	a part size of 1 MB, pgbench's tables span many parts.
#	- a full backup stores them as part objects, each bound to its name,
#	  and no whole object; an incremental on it stores block deltas XORed
#	  with the parent's parts, and a new large table in parts again;
#	- an incremental on the incremental where a table shrank and one grew;
#	- each backup restores, with --jobs 1 and --jobs 2, to exactly the
#	  source's pg_dump; --delta over a restore of another backup too, and
#	  keeps the files in parts that did not change;
#	- dr_backup_verify() and pg_dr verify pass;
#	- one flipped byte in one part, or two parts swapped, make verify and
#	  restore fail naming the file, and the failed restore leaves no
#	  temporary file.

use strict;
use warnings;

use File::Find qw(find);

use lib 't/lib';
use DrTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $env = DrTest::repo_setup($tmp);
my $node = DrTest::node_new('parts', $env->{conf}, checksums => 1);
$node->append_conf('postgresql.conf', "pg_dr.backup_part_size = '1MB'\n");
$node->reload;
is($node->safe_psql('postgres', 'SHOW pg_dr.backup_part_size'), '1MB',
	'part size 1 MB');
my ($rc, $out, $err) = $node->psql('postgres', "SET pg_dr.backup_part_size = '1028kB'");
like($err, qr/multiple of the block size/, 'a part size of no whole number of pages is refused');

$node->command_ok([ 'pgbench', '-i', '-s', '2', '-q', 'postgres' ], 'pgbench -i');
my $accounts = $node->safe_psql('postgres',
	"SELECT pg_relation_filepath('pgbench_accounts')");
my $accounts_size = -s $node->data_dir . "/$accounts";
cmp_ok($accounts_size, '>', 20 * 1024 * 1024, 'pgbench_accounts spans 20 parts and more');

# the files of backup id stored under part/ and data/ (relative paths)
sub objects_of
{
	my ($id, $kind) = @_;
	my $top = "$env->{repo}/backup/$id/$kind";
	my @found;
	return () unless -d $top;
	find(sub { push @found, substr($File::Find::name, length($top) + 1) if -f $_ }, $top);
	return sort @found;
}

# -- full -----------------------------------------------------------------
my $full = $node->safe_psql('postgres', "SELECT dr_backup_full()");
my $dump_full = DrTest::pg_dump_of($node);
my @full_parts = objects_of($full, 'part');
my $nparts = int(($accounts_size + 1024 * 1024 - 1) / (1024 * 1024));
is(scalar(grep { m{^\Q$accounts\E/\d+$} } @full_parts), $nparts,
	"pgbench_accounts is stored as $nparts parts");
ok(!grep({ $_ eq $accounts } objects_of($full, 'data')),
	'and not as one whole object');

# -- incremental: deltas over the parent's parts, a new table in parts -----
$node->safe_psql('postgres',
	"UPDATE pgbench_accounts SET abalance = abalance + 7 WHERE aid % 50 = 0;
	 CREATE TABLE big_new AS SELECT g AS id, md5(g::text) AS pad FROM generate_series(1, 60000) g;
	 CREATE TABLE shrinks AS SELECT g AS id, repeat('s', 200) AS pad FROM generate_series(1, 30000) g;");
my $big_new = $node->safe_psql('postgres', "SELECT pg_relation_filepath('big_new')");
my $shrinks = $node->safe_psql('postgres', "SELECT pg_relation_filepath('shrinks')");
$node->safe_psql('postgres', 'CHECKPOINT');
my $incr1 = $node->safe_psql('postgres', "SELECT dr_backup_incremental()");
my $dump_incr1 = DrTest::pg_dump_of($node);
ok(grep({ m{^\Q$big_new\E/1$} } objects_of($incr1, 'part')),
	'a new large table in the incremental is stored in parts');
ok(grep({ $_ eq $accounts } objects_of($incr1, 'data')),
	'pgbench_accounts is stored as a block delta');
is($node->safe_psql('postgres',
	"SELECT pages_changed > 0, stored_bytes < data_bytes / 10 FROM dr_backups WHERE backup_id = '$incr1'"),
	't|t', 'the incremental stores changed pages only');

# -- incremental on the incremental: a table shrinks, another grows --------
$node->safe_psql('postgres',
	"DELETE FROM shrinks WHERE id > 5000;
	 VACUUM shrinks;
	 INSERT INTO big_new SELECT g, md5(g::text) FROM generate_series(60001, 90000) g;
	 UPDATE pgbench_accounts SET abalance = abalance - 3 WHERE aid % 97 = 0;");
$node->safe_psql('postgres', 'CHECKPOINT');
my $incr2 = $node->safe_psql('postgres', "SELECT dr_backup_incremental()");
my $dump_incr2 = DrTest::pg_dump_of($node);
cmp_ok(-s $node->data_dir . "/$shrinks", '<', 2 * 1024 * 1024, 'shrinks shrank');

# -- a one-row change: a one-page delta over a base in parts ---------------
$node->safe_psql('postgres', "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = 1");
$node->safe_psql('postgres', 'CHECKPOINT');
my $incr3 = $node->safe_psql('postgres', "SELECT dr_backup_incremental()");
my $dump_incr3 = DrTest::pg_dump_of($node);
ok(grep({ $_ eq $accounts } objects_of($incr3, 'data')),
	'a one-page change of pgbench_accounts is a block delta (bundles take small files, not small deltas of big ones)');

# -- restores --------------------------------------------------------------
my $n = 0;
sub restored_dump
{
	my ($backup, $jobs, @extra) = @_;
	my $dir = "$tmp/restored" . ++$n;
	my ($rrc, $rout, $rerr) = DrTest::restore($env, $backup, $dir, '--jobs', $jobs, @extra);
	is($rrc, 0, "restore of $backup with $jobs job(s)") or diag($rerr);
	my @left;
	find(sub { push @left, $File::Find::name if /pg_dr-(?:tmp|sums)/ }, $dir);
	is(scalar(@left), 0, 'no temporary file is left') or diag("@left");
	my $r = DrTest::node_from_restore("restored$n", $dir);
	my $dump = DrTest::pg_dump_of($r);
	ok(DrTest::pgbench_balanced($r), 'pgbench balances hold') if $backup eq $full;
	$r->stop;
	return $dump;
}
ok(restored_dump($full, 1) eq $dump_full, 'the full restored with 1 job equals the source');
ok(restored_dump($full, 2) eq $dump_full, 'the full restored with 2 jobs equals the source');
ok(restored_dump($incr1, 2) eq $dump_incr1, 'the first incremental restored with 2 jobs equals the source');
ok(restored_dump($incr2, 1) eq $dump_incr2, 'the second incremental restored with 1 job equals the source');
ok(restored_dump($incr2, 2) eq $dump_incr2, 'the second incremental restored with 2 jobs equals the source');
ok(restored_dump($incr3, 2) eq $dump_incr3,
	'the third incremental (a one-page delta over a base in parts) restored with 2 jobs equals the source');

# --delta: over a restore of the full, and over a restore of itself
my $ddir = "$tmp/delta";
($rc, $out, $err) = DrTest::restore($env, $full, $ddir, '--jobs', '2');
is($rc, 0, 'restore of the full for --delta') or diag($err);
($rc, $out, $err) = DrTest::restore($env, $full, $ddir, '--jobs', '2', '--delta');
is($rc, 0, '--delta restore of the full over itself') or diag($err);
my ($files) = $out =~ /files:\s+(\d+),/;
my ($unchanged) = $out =~ /\((\d+) unchanged/;
ok(defined $unchanged && $unchanged >= $files - 2,
	"--delta keeps the files that did not change, those in parts included ($unchanged of $files)")
  or diag($out);
($rc, $out, $err) = DrTest::restore($env, $incr2, $ddir, '--jobs', '2', '--delta');
is($rc, 0, '--delta restore of the second incremental over the full') or diag($err);
{
	my $r = DrTest::node_from_restore('delta', $ddir);
	ok(DrTest::pg_dump_of($r) eq $dump_incr2, 'and it equals the source');
	$r->stop;
}

# -- verify ----------------------------------------------------------------
is($node->safe_psql('postgres', "SELECT dr_backup_verify('$incr2')"), 't',
	'dr_backup_verify() passes on the chain');
command_ok([ 'pg_dr', 'verify', '--config', $env->{conf}, '--backup', 'all' ],
	'pg_dr verify passes on every backup');

# -- two parts swapped: bound to their names --------------------------------
{
	my $p1 = "$env->{repo}/backup/$incr1/part/$big_new/1";
	my $p2 = "$env->{repo}/backup/$incr1/part/$big_new/2";
	rename($p1, "$p1.x") or die;
	rename($p2, $p1) or die;
	rename("$p1.x", $p2) or die;
	my ($vo, $ve);
	IPC::Run::run([ 'pg_dr', 'verify', '--config', $env->{conf}, '--backup', $incr1 ],
		'>', \$vo, '2>', \$ve);
	isnt($? >> 8, 0, 'pg_dr verify fails with two parts swapped');
	like($vo . $ve, qr{part/\Q$big_new\E/1.*bound to another name}, 'naming the part');
	($rc, $out, $err) = DrTest::restore($env, $incr1, "$tmp/swapped", '--jobs', '2');
	isnt($rc, 0, 'so does the restore');
	like($err, qr/could not restore "\Q$big_new\E"/, 'naming the file');
	rename($p1, "$p1.x") or die;
	rename($p2, $p1) or die;
	rename("$p1.x", $p2) or die;
}

# -- one flipped byte in one part ------------------------------------------
my $victim = "$env->{repo}/backup/$full/part/$accounts/3";
{
	open(my $fh, '+<:raw', $victim) or die "$victim: $!";
	my $size = -s $victim;
	seek($fh, int($size / 2), 0);
	read($fh, my $byte, 1);
	seek($fh, int($size / 2), 0);
	print $fh chr(ord($byte) ^ 0x01);
	close($fh) or die;
}
my ($vrc, $vout, $verr) = $node->psql('postgres', "SELECT dr_backup_verify('$full')");
is($vout, 'f', 'dr_backup_verify() fails on a flipped byte in a part');
like($verr, qr{WARNING:.*part/\Q$accounts\E/3}, 'with a WARNING naming the part of the file');
{
	my ($vo, $ve);
	IPC::Run::run([ 'pg_dr', 'verify', '--config', $env->{conf}, '--backup', $full ],
		'>', \$vo, '2>', \$ve);
	isnt($? >> 8, 0, 'pg_dr verify fails too');
	like($vo . $ve, qr{part/\Q$accounts\E/3}, 'naming the part');
}
for my $jobs (1, 2)
{
	my $dir = "$tmp/bad$jobs";
	($rc, $out, $err) = DrTest::restore($env, $incr2, $dir, '--jobs', $jobs);
	isnt($rc, 0, "restore of a chain with a damaged part fails ($jobs job(s))");
	like($err, qr/could not restore "\Q$accounts\E"/, 'naming the file');
	my @left;
	find(sub { push @left, $File::Find::name if /pg_dr-(?:tmp|sums)/ }, $dir) if -d $dir;
	is(scalar(@left), 0, 'and leaves no temporary file') or diag("@left");
}

$node->stop;
done_testing();
