-- 009_ha_nodes: the registry of the HA cluster's nodes (issue 12):
-- dr_node_register / dr_node_unregister (dr_admin, audited, the conninfo's
-- password hidden in the record), the dr_nodes view (dr_monitor; role and
-- health unknown until a lag watcher observes them), bad input refused
-- with SQLSTATEs and nothing changed.
\set VERBOSITY default
SELECT coalesce(max(id), 0) AS before FROM dr_audit \gset

-- nodes that do not run here: registered without the check (verify => false)
SELECT dr_node_register('node-1', 'host=10.0.0.1 port=5432 user=rep password=s3cret', verify => false);
SELECT dr_node_register('node-2', 'postgresql://rep:s3cret@10.0.0.2/postgres', 50, 'rack b', false);
SELECT dr_node_register(name => 'witness.1', conninfo => 'host=10.0.0.3', priority => 0, verify => false);
SELECT name, role, timeline, received_lsn, replayed_lsn, flushed_lsn, priority,
	   location, health, last_seen, reason
  FROM dr_nodes;
SELECT count(*) FROM dr_nodes WHERE registered_at > now() - interval '1 hour';

-- bad input: nothing registered
\set VERBOSITY terse
SELECT dr_node_register('node-1', 'host=x');
SELECT dr_node_register('node 3', 'host=x');
SELECT dr_node_register('', 'host=x');
SELECT dr_node_register(repeat('n', 64), 'host=x');
SELECT dr_node_register('node-3', E'host=x\nport=1');
SELECT dr_node_register('node-3', '');
SELECT dr_node_register('node-3', NULL);
SELECT dr_node_register(NULL, 'host=x');
SELECT dr_node_register('node-3', 'host=x', -1);
SELECT dr_node_register('node-3', 'host=x', 1001);
SELECT dr_node_register('node-3', 'host=x', 10, E'a\tb');
SELECT dr_node_unregister('node-9');
-- with the check (the default): a node that does not answer, nothing registered
SELECT dr_node_register('node-4', 'host=127.0.0.1 port=1 dbname=postgres');
SELECT count(*) FROM dr_nodes WHERE name = 'node-4';
SELECT dr_node_unregister('bad name');
SELECT count(*) FROM dr_nodes;

SELECT dr_node_unregister('witness.1');
SELECT name FROM dr_nodes;

-- the audit records: the password never written
SELECT operation, result, sqlstate, arguments
  FROM dr_audit WHERE id > :before AND operation LIKE 'dr_node_%' ORDER BY id;
SELECT count(*) AS leaked FROM dr_audit WHERE arguments::text LIKE '%s3cret%';

-- who may do what
\set VERBOSITY default
CREATE ROLE ha_regress_monitor IN ROLE dr_monitor;
CREATE ROLE ha_regress_operator IN ROLE dr_operator;
SET ROLE ha_regress_monitor;
SELECT count(*) FROM dr_nodes;
SELECT count(*) FROM pgdr.nodes;
SELECT dr_node_register('node-4', 'host=x');
RESET ROLE;
SET ROLE ha_regress_operator;
SELECT dr_node_unregister('node-1');
RESET ROLE;
DROP ROLE ha_regress_monitor, ha_regress_operator;

-- leave the registry empty for the suites that follow
SELECT dr_node_unregister('node-1'), dr_node_unregister('node-2');
SELECT count(*) FROM dr_nodes;
