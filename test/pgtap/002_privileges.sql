-- 002_privileges: who may call which dr_* function and read which view.
-- A role not granted dr_operator can call no dr_* function; dr_monitor can
-- read the views and nothing else; dr_admin alone edits objectives and
-- expires the audit trail.
BEGIN;
SELECT plan(21);

CREATE ROLE dr_t_nobody;
CREATE ROLE dr_t_monitor IN ROLE dr_monitor;
CREATE ROLE dr_t_operator IN ROLE dr_operator;
CREATE ROLE dr_t_admin IN ROLE dr_admin;

CREATE TEMP VIEW ext_functions AS
	SELECT p.oid, p.oid::regprocedure::text AS name
	  FROM pg_proc p
	  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
	  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'pg_dr'
	 WHERE p.proname LIKE 'dr\_%';
CREATE TEMP VIEW ext_views AS
	SELECT c.oid, c.relname AS name
	  FROM pg_class c
	  JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
	  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'pg_dr'
	 WHERE c.relkind = 'v' AND c.relname LIKE 'dr\_%';
CREATE TEMP VIEW ext_tables AS
	SELECT c.oid, c.relname AS name
	  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	 WHERE n.nspname = 'pgdr' AND c.relkind = 'r';
GRANT SELECT ON ext_functions, ext_views, ext_tables TO PUBLIC;

SELECT cmp_ok((SELECT count(*) FROM ext_functions), '>=', 2::bigint,
			  'the extension has dr_* functions');
SELECT cmp_ok((SELECT count(*) FROM ext_views), '>=', 4::bigint,
			  'the extension has dr_* views');

SELECT is((SELECT array_agg(name ORDER BY name) FROM ext_functions
			WHERE has_function_privilege('public', oid, 'EXECUTE')),
		  NULL, 'PUBLIC can execute no dr_* function');
SELECT is((SELECT array_agg(name ORDER BY name) FROM ext_functions
			WHERE has_function_privilege('dr_t_nobody', oid, 'EXECUTE')),
		  NULL, 'a role without dr_operator can execute no dr_* function');
SELECT is((SELECT array_agg(name ORDER BY name) FROM ext_functions
			WHERE has_function_privilege('dr_t_monitor', oid, 'EXECUTE')),
		  ARRAY['dr_availability(timestamp with time zone,timestamp with time zone)', 'dr_metrics()', 'dr_schedule_explain()'],
		  'dr_monitor can execute dr_metrics(), dr_availability() and dr_schedule_explain() and no other dr_* function');
SELECT is((SELECT array_agg(name ORDER BY name) FROM ext_functions
			WHERE NOT has_function_privilege('dr_t_operator', oid, 'EXECUTE')),
		  ARRAY['dr_audit_expire()', 'dr_backup_keep(text,timestamp with time zone)', 'dr_declare_primary()', 'dr_expire(integer)', 'dr_failover(text,boolean)', 'dr_node_register(text,text,integer,text,boolean)', 'dr_node_unregister(text)', 'dr_rejoin()', 'dr_rejoin_record(text,text,text)', 'dr_repository_create()', 'dr_restore(text,text,text,integer)', 'dr_schedule_policy_set(text,text,text)', 'dr_switchover(text,interval)'], 'dr_operator can execute every dr_* function but the admin ones');
SELECT is((SELECT array_agg(name ORDER BY name) FROM ext_functions
			WHERE NOT has_function_privilege('dr_t_admin', oid, 'EXECUTE')),
		  NULL, 'dr_admin can execute every dr_* function');

SELECT is((SELECT array_agg(name ORDER BY name) FROM ext_views
			WHERE NOT has_table_privilege('dr_t_monitor', oid, 'SELECT')),
		  NULL, 'dr_monitor can read every dr_* view');
SELECT is((SELECT array_agg(name ORDER BY name) FROM ext_views
			WHERE has_table_privilege('dr_t_nobody', oid, 'SELECT')),
		  NULL, 'a role without dr_monitor can read no dr_* view');
SELECT is((SELECT array_agg(name ORDER BY name) FROM ext_views
			WHERE has_table_privilege('dr_t_monitor', oid, 'INSERT, UPDATE, DELETE, TRUNCATE')),
		  NULL, 'dr_monitor can change no dr_* view');
SELECT is((SELECT array_agg(name ORDER BY name) FROM ext_tables
			WHERE has_table_privilege('dr_t_admin', oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE')),
		  NULL, 'no pg_dr role touches the internal tables directly');
SELECT ok(NOT has_sequence_privilege('dr_t_admin', 'pgdr.audit_log_id_seq', 'USAGE, SELECT, UPDATE'),
		  'no pg_dr role touches the audit sequence');

-- the same, by calling
SET ROLE dr_t_nobody;
SELECT throws_ok('SELECT dr_audit_verify()', '42501', NULL,
				 'a role without dr_operator gets 42501 from dr_audit_verify()');
SELECT throws_ok('SELECT * FROM dr_status', '42501', NULL,
				 'a role without dr_monitor gets 42501 from dr_status');
RESET ROLE;

SET ROLE dr_t_monitor;
SELECT lives_ok('SELECT * FROM dr_status', 'dr_monitor reads dr_status');
SELECT lives_ok('SELECT * FROM dr_objectives', 'dr_monitor reads dr_objectives');
SELECT throws_ok('SELECT dr_audit_verify()', '42501', NULL,
				 'dr_monitor cannot call dr_audit_verify()');
SELECT throws_ok($$UPDATE dr_objectives SET rpo = interval '1 minute' WHERE tier = 'low'$$,
				 '42501', NULL, 'dr_monitor cannot edit objectives');
RESET ROLE;

SET ROLE dr_t_operator;
SELECT throws_ok('SELECT dr_audit_expire()', '42501', NULL,
				 'dr_operator cannot expire the audit trail');
RESET ROLE;

SET ROLE dr_t_admin;
SELECT lives_ok($$UPDATE dr_objectives SET rpo = interval '20 minutes' WHERE tier = 'critical'$$,
				'dr_admin edits objectives');
RESET ROLE;
SELECT is((SELECT rpo FROM dr_objectives WHERE tier = 'critical'), interval '20 minutes',
		  'the edit is visible');

SELECT * FROM finish();
ROLLBACK;
