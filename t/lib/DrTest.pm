# DrTest.pm -- helpers shared by the pg_dr TAP scenarios.
#
#   my $env  = DrTest::repo_setup($tmp);          # key file, config, repo-create
#   my $node = DrTest::node_new('main', $env->{conf}, checksums => 1);
#   DrTest::restore($env, $backup_id, $dir, '--jobs', 2);
#   DrTest::restore_with($env, $dir, '--target-time', $t);   # no --backup
#   DrTest::wait_archived($node);                  # switch WAL, wait for the archive
#   my @files = DrTest::archived_wal($env);        # the WAL archive's file names
#   my $r    = DrTest::node_from_restore('r1', $dir);   # started
#   my ($h, $out, $err) = DrTest::slow_backup($node, 'dr_backup_full()');
#
# Nodes run pg_dr preloaded, with pg_dr.database = postgres and the
# extension created.
package DrTest;

use strict;
use warnings;

use Fcntl qw(O_WRONLY O_CREAT O_EXCL);
use MIME::Base64 qw(encode_base64);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# A passphrase file, a configuration and an initialized repository.
sub repo_setup
{
	my ($tmp, %opts) = @_;
	my %env = (
		repo => "$tmp/repo",
		key => "$tmp/repo.key",
		conf => "$tmp/pg_dr.conf");

	open(my $rand, '<:raw', '/dev/urandom') or die "/dev/urandom: $!";
	read($rand, my $bytes, 48) == 48 or die "short read from /dev/urandom";
	close($rand);
	sysopen(my $kfh, $env{key}, O_WRONLY | O_CREAT | O_EXCL, 0600)
	  or die "could not create \"$env{key}\": $!";
	print $kfh encode_base64($bytes, ''), "\n";
	close($kfh) or die;

	open(my $cfh, '>', $env{conf}) or die "could not create \"$env{conf}\": $!";
	print $cfh "repo1_type = posix\n", "repo1_path = '$env{repo}'\n",
	  "repo1_cipher_key_file = '$env{key}'\n",
	  "compress_level = " . ($opts{compress_level} // 3) . "\n";
	close($cfh) or die;

	command_ok(
		[ 'pg_dr', 'repo-create', '--config', $env{conf}, '--kdf-iterations', '1000' ],
		'repo-create');
	return \%env;
}

sub _pg_dr_conf
{
	my ($conf) = @_;
	return "shared_preload_libraries = 'pg_dr'\n"
	  . "pg_dr.config_file = '$conf'\n"
	  . "pg_dr.database = 'postgres'\n"
	  . "max_worker_processes = 16\n";
}

# Wait until the pg_dr worker runs (audit records need it).
sub wait_worker
{
	my ($node) = @_;
	$node->poll_query_until('postgres',
		'SELECT worker_running FROM dr_status')
	  or die "pg_dr worker did not start";
}

# A new primary with pg_dr.
sub node_new
{
	my ($name, $conf, %opts) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(
		allows_streaming => 1,
		extra => $opts{checksums} ? ['--data-checksums'] : []);
	$node->append_conf('postgresql.conf', _pg_dr_conf($conf));
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION pg_dr');
	wait_worker($node);
	return $node;
}

# pg_dr restore; returns (exit status, stdout, stderr).
sub restore
{
	my ($env, $backup, $dir, @extra) = @_;
	return restore_with($env, $dir, '--backup', $backup, @extra);
}

# pg_dr restore with any options (no --backup added: a target may pick
# one); returns (exit status, stdout, stderr).
sub restore_with
{
	my ($env, $dir, @args) = @_;
	my ($out, $err);
	IPC::Run::run(
		[ 'pg_dr', 'restore', '--config', $env->{conf}, '--pgdata', $dir, @args ],
		'>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

# Every file the repository's WAL archive holds (archive/wal/<dir>/), by
# name, sorted.
sub archived_wal
{
	my ($env) = @_;
	my $walarch = "$env->{repo}/archive/wal";
	my @names;
	opendir(my $top, $walarch) or die "$walarch: $!";
	for my $d (sort grep { /^[0-9A-F]{16}$/ } readdir($top))
	{
		opendir(my $dh, "$walarch/$d") or die "$walarch/$d: $!";
		push @names, grep { !/^\./ } readdir($dh);
		closedir($dh);
	}
	closedir($top);
	return sort @names;
}

# Switch WAL and wait until the archiver has stored everything written so
# far (the segment just closed included).  The segment to wait for is the
# one the switch closed, named before anything else runs: WAL written after
# the switch (the pg_dr worker's audit rows, say) must not move the goal
# into a segment nobody closes.
sub wait_archived
{
	my ($node) = @_;
	# pg_switch_wal() returns the end of the switch record, inside the
	# segment it closed, or, when the current segment was empty, the start
	# of that segment; pg_walfile_name() names the segment holding the byte
	# before its argument: the closed one, or the one before the empty one
	# (closed earlier) -- in both cases the segment to wait for
	my $seg = $node->safe_psql('postgres',
		'SELECT pg_catalog.pg_walfile_name(pg_catalog.pg_switch_wal())');
	$node->poll_query_until('postgres',
		"SELECT last_archived_wal >= '$seg' FROM pg_catalog.pg_stat_archiver")
	  or die "archiving did not catch up (waiting for $seg)";
	return;
}

# A node over a restored data directory: its own port and socket, started.
sub node_from_restore
{
	my ($name, $dir) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	# the restored postgresql.conf carries the source's port and socket
	# directory; later lines win
	PostgreSQL::Test::Utils::append_to_file(
		"$dir/postgresql.conf",
		"\n# restored by the test\n"
		  . "port = " . $node->port . "\n"
		  . "unix_socket_directories = '" . $node->host . "'\n"
		  . "listen_addresses = ''\n");
	chmod(0700, $dir);
	# PostgreSQL::Test::Cluster keeps its data directory in a fixed place
	rename($dir, $node->data_dir) or die "could not move \"$dir\": $!"
	  if $dir ne $node->data_dir;
	$node->start;
	# recovery ends at the end of the backup's WAL, then promotes
	$node->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
	  or die "restored node $name did not finish recovery";
	return $node;
}

# pgbench's invariant: every balance moved is in history, and the three
# balance columns agree.
sub pgbench_balanced
{
	my ($node) = @_;
	return $node->safe_psql('postgres', q{
		SELECT (SELECT coalesce(sum(abalance), 0) FROM pgbench_accounts)
			 = (SELECT coalesce(sum(bbalance), 0) FROM pgbench_branches)
		   AND (SELECT coalesce(sum(bbalance), 0) FROM pgbench_branches)
			 = (SELECT coalesce(sum(tbalance), 0) FROM pgbench_tellers)
		   AND (SELECT coalesce(sum(tbalance), 0) FROM pgbench_tellers)
			 = (SELECT coalesce(sum(delta), 0) FROM pgbench_history)}) eq 't';
}

# amcheck on every btree index of the database.
sub amcheck_ok
{
	my ($node) = @_;
	$node->safe_psql('postgres', 'CREATE EXTENSION IF NOT EXISTS amcheck');
	my $bad = $node->safe_psql('postgres', q{
		SELECT count(*) FROM (
			SELECT bt_index_check(c.oid, true)
			  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
			  JOIN pg_am am ON am.oid = c.relam
			 WHERE am.amname = 'btree' AND c.relpersistence <> 't') s});
	return defined $bad;
}

# A backup slowed down to a few MB/s in the background (the SQL call, such
# as "dr_backup_full()"; the rate, 4MB unless given); returns once it is
# copying, with the IPC::Run handle and references to its (unaligned,
# tuples only) stdout and stderr.
sub slow_backup
{
	my ($node, $call, $rate) = @_;
	my ($out, $err) = ('', '');
	$rate //= '4MB';
	my $h = IPC::Run::start(
		[ 'psql', '-X', '-q', '-At', '-d', $node->connstr('postgres'), '-c',
			"SET pg_dr.backup_max_rate = '$rate'; SELECT $call" ],
		'>', \$out, '2>', \$err);
	$node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM dr_backup_progress WHERE phase = 'copying' AND bytes_done > 0")
	  or die "the slow backup ($call) did not start copying";
	return ($h, \$out, \$err);
}

sub pg_dump_of
{
	my ($node) = @_;
	my ($out, $err);
	IPC::Run::run(
		[ 'pg_dump', '--no-sync', '-d', $node->connstr('postgres'),
			'--exclude-schema=pgdr' ],
		'>', \$out, '2>', \$err)
	  or die "pg_dump failed: $err";
	# pg_dump (15.14 on) brackets its script with a random \restrict key
	$out =~ s/^\\(?:un)?restrict \S+$//mg;
	return $out;
}

1;
