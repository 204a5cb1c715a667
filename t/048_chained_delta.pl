# 048_chained_delta.pl
#	Incrementals on incrementals store their changed pages XORed with the
#	page as the parent's chain has it (src/common/delta_chain.c), not
#	plain: a full and three incrementals, each after a pgbench run of the
#	same length.
#	- the second and third levels store no more than 1.2x what an
#	  incremental on a full taken at the parent's time stores for the same
#	  run, and far less than their changed pages would cost plain;
#	- each level restores (jobs 1 and 2, byte for byte the same) to
#	  exactly the source's pg_dump at its time, passes amcheck and
#	  pg_checksums;
#	- a --delta restore from the first level to the third gives the
#	  third's content;
#	- pg_dr verify and dr_backup_verify() pass; a flipped byte in a delta
#	  object of the second level fails verify and restore of the second
#	  and third levels, naming the file.

use strict;
use warnings;

use File::Compare qw(compare);
use File::Find qw(find);

use lib 't/lib';
use DrTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $env = DrTest::repo_setup($tmp);
my $node = DrTest::node_new('chain', $env->{conf}, checksums => 1);
my $bindir = $node->config_data('--bindir');
# the same work between backups: nothing else writes
$node->append_conf('postgresql.conf', "autovacuum = off\n");
$node->reload;

$node->command_ok([ 'pgbench', '-i', '-s', '5', '-q', 'postgres' ], 'pgbench -i');
my $full = $node->safe_psql('postgres', "SELECT dr_backup_full()");
my ($accounts) = $node->safe_psql('postgres',
	"SELECT pg_relation_filepath('pgbench_accounts')");

# Bytes of the data objects of a backup (its WAL left out).
sub data_bytes
{
	my ($id) = @_;
	my $bytes = 0;
	find(sub { $bytes += -s $_ if -f $_ }, "$env->{repo}/backup/$id/data");
	return $bytes;
}

# pgbench run n, then an incremental on the one before.  For the same
# changes on a full parent: a full taken right after each incremental
# (nothing written between), and after the next run an incremental on it
# too, beside the one on the chain.
my (@ids, %dump, %bytes, %pages);
my $parent = $full;
my $side_full;
for my $n (1 .. 3)
{
	$node->command_ok(
		[ 'pgbench', '-n', '-t', '2000', '-c', '1', "--random-seed=$n", 'postgres' ],
		"pgbench run $n");
	my $id = $node->safe_psql('postgres', "SELECT dr_backup_incremental('$parent')");
	push @ids, $id;
	if ($side_full)
	{
		my $side = $node->safe_psql('postgres',
			"SELECT dr_backup_incremental('$side_full')");
		$bytes{"on-full-$n"} = data_bytes($side);
		$pages{"on-full-$n"} = $node->safe_psql('postgres',
			"SELECT pages_changed FROM dr_backups WHERE backup_id = '$side'");
	}
	$bytes{$id} = data_bytes($id);
	$pages{$id} = $node->safe_psql('postgres',
		"SELECT pages_changed FROM dr_backups WHERE backup_id = '$id'");
	$side_full = $node->safe_psql('postgres', "SELECT dr_backup_full()") if $n < 3;
	# only now: reading sets hint bits, which are changes (logged, as the
	# cluster has checksums) the next incrementals of both kinds store
	$dump{$id} = DrTest::pg_dump_of($node);
	$parent = $id;
}
my ($i1, $i2, $i3) = @ids;
is($node->safe_psql('postgres',
	"SELECT string_agg(parent_id, ' ' ORDER BY backup_id) FROM dr_backups
	  WHERE backup_id IN ('$i1', '$i2', '$i3')"),
	"$full $i1 $i2", 'three levels: each incremental on the one before');

# ---- stored bytes: the deeper levels cost what one on a full does -------
for my $key ($i1, $i2, 'on-full-2', $i3, 'on-full-3')
{
	note(sprintf('%s: %d data bytes for %d changed pages (%.0f a page)',
		$key, $bytes{$key}, $pages{$key}, $bytes{$key} / $pages{$key}));
}
for my $n (2, 3)
{
	my $id = $ids[ $n - 1 ];
	my $ratio = $bytes{$id} / $bytes{"on-full-$n"};
	cmp_ok($ratio, '<=', 1.2,
		sprintf('level %d stores %.2fx what an incremental on a full stores for the same changes',
			$n, $ratio));
	# a changed pgbench page stored plain costs about 600 bytes (measured
	# before chained XOR), XORed about 100
	cmp_ok($bytes{$id} / $pages{$id}, '<', 300,
		sprintf('level %d: %.0f bytes a changed page, XORed, not plain', $n,
			$bytes{$id} / $pages{$id}));
}

# ---- verify ------------------------------------------------------------
command_ok([ 'pg_dr', 'verify', '--config', $env->{conf}, '--backup', 'all' ],
	'pg_dr verify: every level is intact');
is($node->safe_psql('postgres', "SELECT dr_backup_verify('$i3')"), 't',
	'dr_backup_verify() of the third level and its chain');

# ---- restore each level, with 1 and 2 jobs ----------------------------
# Every file of a restored directory, relative, sorted.
sub files_of
{
	my ($dir) = @_;
	my @files;
	find({ wanted => sub { push @files, $File::Find::name if -f $_ },
		   no_chdir => 1 }, $dir);
	return sort map { substr($_, length($dir) + 1) } @files;
}

my $n = 0;
my %node_of;
for my $id ($i1, $i2, $i3)
{
	$n++;
	my %dir;
	for my $jobs (1, 2)
	{
		$dir{$jobs} = "$tmp/level$n.jobs$jobs";
		my ($rc, $out, $err) = DrTest::restore($env, $id, $dir{$jobs}, '--jobs', $jobs);
		is($rc, 0, "restore of level $n ($id), --jobs $jobs") or diag($err);
	}
	# pg_dr.origin says when each restore ran
	my @one = grep { $_ ne 'pg_dr.origin' } files_of($dir{1});
	my @two = grep { $_ ne 'pg_dr.origin' } files_of($dir{2});
	my @differ = grep { compare("$dir{1}/$_", "$dir{2}/$_") != 0 } @one;
	ok("@one" eq "@two" && !@differ,
		"level $n: --jobs 1 and --jobs 2 write the same files, byte for byte")
	  or diag("differ: @differ[0 .. ($#differ < 4 ? $#differ : 4)]");

	my $r = DrTest::node_from_restore("level${n}", $dir{2});
	my $dump = DrTest::pg_dump_of($r);
	ok($dump eq $dump{$id}, "level $n: pg_dump equals the source's at backup time")
	  or do
	{
		PostgreSQL::Test::Utils::append_to_file("$tmp/dump$n.expected", $dump{$id});
		PostgreSQL::Test::Utils::append_to_file("$tmp/dump$n.restored", $dump);
		diag(scalar `diff "$tmp/dump$n.expected" "$tmp/dump$n.restored" | head -20`);
	};
	ok(DrTest::pgbench_balanced($r), "level $n: pgbench balances agree");
	ok(DrTest::amcheck_ok($r), "level $n: amcheck finds nothing");
	$r->stop;
	$r->command_ok([ "$bindir/pg_checksums", '--check', '-D', $r->data_dir ],
		"level $n: pg_checksums --check");
	$node_of{$id} = $r;
}

# ---- --delta: from the first level's directory to the third -----------
{
	my $dir = $node_of{$i1}->data_dir;
	my ($rc, $out, $err) = DrTest::restore($env, $i3, $dir, '--delta', '--jobs', '2');
	is($rc, 0, 'restore --delta of level 3 over a started level 1') or diag($err);
	my $r = DrTest::node_from_restore('delta13', $dir);
	ok(DrTest::pg_dump_of($r) eq $dump{$i3},
		'the --delta restore has the third level\'s content');
	$r->stop;
	$r->command_ok([ "$bindir/pg_checksums", '--check', '-D', $r->data_dir ],
		'the --delta restore: pg_checksums --check');
}

# ---- a flipped byte in a delta object of the second level --------------
my $victim = "$env->{repo}/backup/$i2/data/$accounts";
ok(-f $victim, "level 2 stores pgbench_accounts ($accounts)");
{
	open(my $fh, '+<:raw', $victim) or die "$victim: $!";
	my $size = -s $victim;
	seek($fh, int($size / 2), 0);
	read($fh, my $byte, 1);
	seek($fh, int($size / 2), 0);
	print $fh chr(ord($byte) ^ 0x01);
	close($fh) or die $!;
}
for my $id ($i2, $i3)
{
	my ($vo, $ve);
	IPC::Run::run([ 'pg_dr', 'verify', '--config', $env->{conf}, '--backup', $id ],
		'>', \$vo, '2>', \$ve);
	isnt($? >> 8, 0, "pg_dr verify of $id fails");
	like($vo . $ve, qr{backup/$i2/data/\Q$accounts\E.*failed authentication},
		"pg_dr verify of $id names the damaged delta");
	my ($rc, $out, $err) = DrTest::restore($env, $id, "$tmp/bad_$id");
	isnt($rc, 0, "restore of $id fails");
	like($err, qr{\Q$accounts\E.*failed authentication},
		"restore of $id names the file");
}
my ($vrc, $vout, $verr) = $node->psql('postgres', "SELECT dr_backup_verify('$i2')");
is($vout, 'f', 'dr_backup_verify() of level 2 returns false');
like($verr, qr{WARNING:.*\Q$accounts\E.*failed authentication},
	'with a WARNING naming the damaged delta');
command_ok([ 'pg_dr', 'verify', '--config', $env->{conf}, '--backup', $i1 ],
	'the first level, below the damage, still verifies');

$node->stop;
done_testing();
