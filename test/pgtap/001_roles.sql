-- 001_roles: the three pg_dr roles exist, cannot log in, and nest
-- dr_admin ⊇ dr_operator ⊇ dr_monitor; dr_ha_peer stands apart and alone
-- may call the functions peers' HA workers call.
BEGIN;
SELECT plan(15);

SELECT has_role('dr_admin');
SELECT has_role('dr_operator');
SELECT has_role('dr_monitor');

SELECT is((SELECT bool_or(rolcanlogin) FROM pg_roles
			WHERE rolname IN ('dr_admin', 'dr_operator', 'dr_monitor')),
		  false, 'no pg_dr role can log in');
SELECT is((SELECT bool_or(rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls)
			 FROM pg_roles WHERE rolname IN ('dr_admin', 'dr_operator', 'dr_monitor')),
		  false, 'no pg_dr role has a system privilege');

SELECT is_member_of('dr_monitor', 'dr_operator');
SELECT is_member_of('dr_operator', 'dr_admin');
SELECT ok(pg_has_role('dr_admin', 'dr_monitor', 'USAGE'),
		  'dr_admin has the privileges of dr_monitor');
SELECT ok(NOT pg_has_role('dr_monitor', 'dr_operator', 'USAGE'),
		  'dr_monitor does not have the privileges of dr_operator');
SELECT ok(NOT pg_has_role('dr_operator', 'dr_admin', 'USAGE'),
		  'dr_operator does not have the privileges of dr_admin');

SELECT has_role('dr_ha_peer');
SELECT ok(NOT (SELECT rolcanlogin FROM pg_roles WHERE rolname = 'dr_ha_peer'),
		  'dr_ha_peer cannot log in');
SELECT ok(NOT pg_has_role('dr_admin', 'dr_ha_peer', 'USAGE'),
		  'dr_admin does not have the privileges of dr_ha_peer');
SELECT ok(NOT has_function_privilege('dr_admin',
			'pgdr.ha_vote(bigint, text, pg_lsn, boolean)', 'EXECUTE')
		  AND NOT has_function_privilege('dr_admin', 'pgdr.ha_peer_status(text)', 'EXECUTE'),
		  'dr_admin may not cast a vote or record a peer''s contact');
SELECT ok(has_function_privilege('dr_ha_peer',
			'pgdr.ha_vote(bigint, text, pg_lsn, boolean)', 'EXECUTE')
		  AND has_function_privilege('dr_ha_peer', 'pgdr.ha_peer_status(text)', 'EXECUTE'),
		  'dr_ha_peer may');

SELECT * FROM finish();
ROLLBACK;
