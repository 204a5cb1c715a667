# 082_witness.pl
#	A witness (ha_witness = on; docs/ha.md, "Witness"): a small PostgreSQL
#	instance with pg_dr and no data of the cluster's, that only votes.  A
#	primary and one standby cannot fail over on their own without etcd (no
#	majority without the primary); with a witness they can.  Shows:
#	 1. the nodes observe the witness as a witness (dr_nodes), and it
#	    observes them;
#	    registering a node checks that it answers as a pg_dr peer (42501
#	    for a user not in dr_ha_peer, 22023 for another node, 08001 for
#	    none);
#	 2. the witness refuses a vote while it has contact with the primary;
#	 3. kill -9 of the primary: the standby is promoted with the witness's
#	    vote (2 of 3), a write commits there; the time is printed;
#	 4. the witness stays what it is: no promotion, no fence, no guard.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use DrHa;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my %n;
$n{n1} = PostgreSQL::Test::Cluster->new('n1');
$n{n2} = PostgreSQL::Test::Cluster->new('n2');
$n{w} = PostgreSQL::Test::Cluster->new('w');

$n{w}->init;
$n{w}->append_conf('postgresql.conf',
	DrHa::_node_conf(DrHa::_conf($tmp, 'w', conf => "ha_witness = on\n")));
$n{w}->start;
$n{w}->safe_psql('postgres', 'CREATE EXTENSION pg_dr');

$n{n1}->init(allows_streaming => 1);
$n{n1}->append_conf('postgresql.conf', DrHa::_node_conf(DrHa::_conf($tmp, 'n1')));
$n{n1}->start;
$n{n1}->safe_psql('postgres', 'CREATE EXTENSION pg_dr');
$n{n1}->safe_psql('postgres',
	'CREATE TABLE ledger (id bigserial PRIMARY KEY, node text, at timestamptz DEFAULT clock_timestamp())');
# the same registry on the primary (replicated to the standby) and on
# the witness, which has no copy of the primary's
my $register = join('; ',
	"SELECT dr_node_register('n1', '" . DrHa::conninfo($n{n1}) . "')",
	"SELECT dr_node_register('n2', '" . DrHa::conninfo($n{n2}) . "', verify => false)",
	"SELECT dr_node_register('w', '" . DrHa::conninfo($n{w}) . "', 0)");
$n{w}->safe_psql('postgres', $register);
$n{n1}->safe_psql('postgres', $register);
$n{n1}->backup('b');
$n{n2}->init_from_backup($n{n1}, 'b', has_streaming => 1);
$n{n2}->append_conf('postgresql.conf', DrHa::_node_conf(DrHa::_conf($tmp, 'n2')));
$n{n2}->start;
my $c = { nodes => \%n };

# 1. observed
DrHa::wait_settled($c);
pass('the primary, the standby and the witness observe each other (dr_nodes health ok)');
is($n{n1}->safe_psql('postgres', "SELECT string_agg(name || '=' || role, ',' ORDER BY name) FROM dr_nodes"),
	'n1=primary,n2=standby,w=witness', 'the primary sees the witness as a witness');
is($n{w}->safe_psql('postgres', "SELECT string_agg(name || '=' || role, ',' ORDER BY name) FROM dr_nodes"),
	'n1=primary,n2=standby,w=witness', 'and the witness sees the cluster');
like($n{w}->safe_psql('postgres', "SELECT reason FROM dr_nodes WHERE name = 'w'"),
	qr/witness: votes only/, 'the witness says it only votes');

# registering checks that the node answers as a pg_dr peer
$n{n1}->safe_psql('postgres', 'CREATE ROLE nopeer LOGIN');
my $as_nopeer = 'host=' . $n{n1}->host . ' port=' . $n{n1}->port . ' dbname=postgres user=nopeer';
my ($rc, $out, $err) = $n{w}->psql('postgres',
	"SELECT dr_node_register('n9', '$as_nopeer')", extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/ERROR:  42501: node "n9" answers, but the user of its conninfo may not call pgdr.ha_peer_status\(\).*HINT:  GRANT dr_ha_peer TO that user/s,
	'a conninfo whose user is not in dr_ha_peer: refused (42501), with the grant to make');
$n{n1}->safe_psql('postgres', 'GRANT dr_ha_peer TO nopeer');
($rc, $out, $err) = $n{w}->psql('postgres',
	"SELECT dr_node_register('n9', '$as_nopeer')", extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/ERROR:  22023: the server at that conninfo is node "n1", not "n9"/,
	'with the grant it answers, as another node: refused (22023)');
($rc, $out, $err) = $n{w}->psql('postgres',
	"SELECT dr_node_register('n9', 'host=" . $n{n1}->host . " port=1 dbname=postgres')",
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/ERROR:  08001: node "n9" does not answer at its conninfo as a pg_dr node.*HINT:  .*pass verify => false/s,
	'a node that does not answer: refused (08001), says how to register it anyway');
is($n{w}->safe_psql('postgres', "SELECT count(*) FROM dr_nodes WHERE name = 'n9'"), '0',
	'nothing registered by the refusals');

# 2. no vote while the primary is in sight
is($n{w}->safe_psql('postgres',
		"SELECT granted FROM pgdr.ha_vote(7, 'n2', '0/0'::pg_lsn)"),
	'f', 'the witness refuses a vote while it has contact with the primary');

# 3. kill -9 of the primary
my ($ms, $winner) = DrHa::kill_and_failover($c, 'n1', 'n2');
is($winner, 'n2', 'the standby took over with the witness\'s vote');
diag("failover with a witness (no etcd): kill -9 of the primary to the first committed write: "
	  . ($ms // 'never') . ' ms');
like(DrHa::log_of($n{w}), qr/pg_dr ha: vote for "n2" in term 1 granted/,
	'the witness granted the vote for term 1');
like(DrHa::log_of($n{n2}), qr/2 of 3 voting nodes confirm for term 1/,
	'the standby counted it: 2 of 3');

# 4. the witness is still a witness
is($n{w}->safe_psql('postgres', "SELECT role FROM dr_nodes WHERE name = 'w'"), 'witness',
	'the witness is still a witness');
$n{w}->safe_psql('postgres', 'CREATE TABLE t (i int); INSERT INTO t VALUES (1)');
pass('it never guards its own writes (it holds no data of the cluster)');
$n{w}->poll_query_until('postgres', "SELECT role = 'primary' FROM dr_nodes WHERE name = 'n2'")
  or diag($n{w}->safe_psql('postgres', 'SELECT name, role, reason FROM dr_nodes'));
is($n{w}->safe_psql('postgres', "SELECT role FROM dr_nodes WHERE name = 'n2'"), 'primary',
	'the witness observes the new primary');

$n{$_}->stop for qw(n2 w);
done_testing();
