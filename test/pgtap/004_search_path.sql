-- 004_search_path: a hostile caller's search_path never reaches the SQL
-- pg_dr runs as the extension owner, nor the SQL of the pg_dr worker.
--
-- Three attackers, each with only one pg_dr role (dr_monitor, dr_operator,
-- dr_admin) and a schema of its own, plant look-alike operators, functions
-- and aggregates (=, <>, <, <=, >, >=, -, *, ||, min, max, count(*),
-- nextval(text), now(), date_part, length, sha256) in their schema, first on
-- their search_path, and in public, made writable to everyone as clusters
-- upgraded from PostgreSQL 14 often still have it.  Each planted function
-- records itself in trap_log.hits and, if it runs as a superuser, makes its
-- planter a superuser.  Then every attacker calls every dr_* function and
-- reads every dr_* view it may, and the worker's duties (audit writer,
-- scheduled restore points and RPO checks) run while public is planted.
-- No planted function may ever run, and no attacker's privileges change.
--
-- Runs outside a transaction block: backups and the worker's audit writes
-- need their own transactions.  pgTAP lives in schema tap; assertions run
-- with public off the path (planted nextval(text) would catch pgTAP's own
-- nextval('...') calls).
\set QUIET 1
SET client_min_messages = warning;
SELECT tap.plan(21);

------------------------------------------------------------------------------
-- The trap.
------------------------------------------------------------------------------
CREATE SCHEMA trap_log;
CREATE TABLE trap_log.hits (
	what		text NOT NULL,
	planted_in	name NOT NULL,
	run_as		name NOT NULL,
	at			timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()
);
GRANT USAGE ON SCHEMA trap_log TO PUBLIC;
GRANT INSERT ON trap_log.hits TO PUBLIC;

/*
 * Plant the look-alikes in schema s, owned by the role that calls this.
 * Each operator or function does what pg_catalog's does (so that nothing
 * fails visibly), after recording itself and trying to escalate.
 */
CREATE FUNCTION trap_log.plant(s name) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $plant$
DECLARE
	o record;
	f text;
	n integer := 0;
BEGIN
	EXECUTE format($f$
		CREATE FUNCTION %1$I.trap_hit(what text) RETURNS void
		LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $b$
		BEGIN
			INSERT INTO trap_log.hits (what, planted_in, run_as)
			VALUES (what, %1$L, current_user);
			IF (SELECT rolsuper FROM pg_catalog.pg_roles
				 WHERE rolname OPERATOR(pg_catalog.=) current_user) THEN
				EXECUTE pg_catalog.format('ALTER ROLE %%I SUPERUSER', %2$L);
			END IF;
		END $b$$f$, s, current_user);

	-- operators: name, left type, right type, pg_catalog function
	FOR o IN SELECT * FROM (VALUES
		('=', 'text', 'text', 'texteq'), ('=', 'name', 'name', 'nameeq'),
		('=', 'bigint', 'bigint', 'int8eq'), ('=', 'integer', 'integer', 'int4eq'),
		('=', 'timestamptz', 'timestamptz', 'timestamptz_eq'),
		('=', 'pg_lsn', 'pg_lsn', 'pg_lsn_eq'), ('=', 'bytea', 'bytea', 'byteaeq'),
		('<>', 'text', 'text', 'textne'), ('<>', 'bigint', 'bigint', 'int8ne'),
		('<', 'bigint', 'bigint', 'int8lt'), ('<=', 'bigint', 'bigint', 'int8le'),
		('>', 'bigint', 'bigint', 'int8gt'), ('>=', 'bigint', 'bigint', 'int8ge'),
		('>', 'bigint', 'integer', 'int84gt'), ('<=', 'integer', 'integer', 'int4le'),
		('<', 'timestamptz', 'timestamptz', 'timestamptz_lt'),
		('<=', 'timestamptz', 'timestamptz', 'timestamptz_le'),
		('>', 'timestamptz', 'timestamptz', 'timestamptz_gt'),
		('>=', 'timestamptz', 'timestamptz', 'timestamptz_ge'),
		('<', 'pg_lsn', 'pg_lsn', 'pg_lsn_lt'), ('<=', 'pg_lsn', 'pg_lsn', 'pg_lsn_le'),
		('>=', 'pg_lsn', 'pg_lsn', 'pg_lsn_ge'),
		('-', 'bigint', 'integer', 'int84mi'), ('-', 'bigint', 'bigint', 'int8mi'),
		('*', 'numeric', 'numeric', 'numeric_mul'),
		('*', 'double precision', 'double precision', 'float8mul'),
		('*', 'numeric', 'integer', 'numeric_mul'),
		('||', 'text', 'text', 'textcat')) v(op, l, r, fn)
	LOOP
		n := n + 1;
		f := format('%I.trap_op_%s', s, n);
		EXECUTE format($f$
			CREATE FUNCTION %1$s(a %2$s, b %3$s)
			RETURNS %4$s LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $b$
			BEGIN
				PERFORM %5$I.trap_hit(%6$L);
				RETURN pg_catalog.%7$I(a, b);
			END $b$$f$, f, o.l, o.r,
			(SELECT pg_catalog.format_type(prorettype, NULL) FROM pg_catalog.pg_proc
			  WHERE proname OPERATOR(pg_catalog.=) o.fn LIMIT 1),
			s, o.l || ' ' || o.op || ' ' || o.r, o.fn);
		EXECUTE format('CREATE OPERATOR %I.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = %s)',
					   s, o.op, o.l, o.r, f);
	END LOOP;

	-- functions a query might call unqualified
	EXECUTE format($f$
		CREATE FUNCTION %1$I.nextval(seq text) RETURNS bigint
		LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $b$
		BEGIN PERFORM %1$I.trap_hit('nextval(text)'); RETURN pg_catalog.nextval(seq::regclass); END $b$;
		CREATE FUNCTION %1$I.now() RETURNS timestamptz
		LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $b$
		BEGIN PERFORM %1$I.trap_hit('now()'); RETURN pg_catalog.now(); END $b$;
		CREATE FUNCTION %1$I.date_part(f text, i interval) RETURNS double precision
		LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $b$
		BEGIN PERFORM %1$I.trap_hit('date_part(text, interval)'); RETURN pg_catalog.date_part(f, i); END $b$;
		CREATE FUNCTION %1$I.length(t text) RETURNS integer
		LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $b$
		BEGIN PERFORM %1$I.trap_hit('length(text)'); RETURN pg_catalog.length(t); END $b$;
		CREATE FUNCTION %1$I.sha256(b bytea) RETURNS bytea
		LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $b$
		BEGIN PERFORM %1$I.trap_hit('sha256(bytea)'); RETURN pg_catalog.sha256(b); END $b$;
		CREATE FUNCTION %1$I.trap_count(c bigint) RETURNS bigint
		LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $b$
		BEGIN PERFORM %1$I.trap_hit('count(*)'); RETURN c OPERATOR(pg_catalog.+) 1; END $b$;
		CREATE AGGREGATE %1$I.count(*) (SFUNC = %1$I.trap_count, STYPE = bigint, INITCOND = '0')
		$f$, s);
	FOR o IN SELECT * FROM (VALUES ('bigint'), ('timestamptz'), ('pg_lsn'), ('text')) v(t)
	LOOP
		n := n + 1;
		EXECUTE format($f$
			CREATE FUNCTION %1$I.trap_agg_%2$s(a %3$s, b %3$s) RETURNS %3$s
			LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $b$
			BEGIN PERFORM %1$I.trap_hit('min/max(%3$s)'); RETURN coalesce(a, b); END $b$;
			CREATE AGGREGATE %1$I.min(%3$s) (SFUNC = %1$I.trap_agg_%2$s, STYPE = %3$s);
			CREATE AGGREGATE %1$I.max(%3$s) (SFUNC = %1$I.trap_agg_%2$s, STYPE = %3$s)
			$f$, s, n, o.t);
	END LOOP;
END
$plant$;

CREATE ROLE dr_t_sp_monitor IN ROLE dr_monitor;
CREATE ROLE dr_t_sp_operator IN ROLE dr_operator;
CREATE ROLE dr_t_sp_admin IN ROLE dr_admin;
CREATE SCHEMA sp_monitor AUTHORIZATION dr_t_sp_monitor;
CREATE SCHEMA sp_operator AUTHORIZATION dr_t_sp_operator;
CREATE SCHEMA sp_admin AUTHORIZATION dr_t_sp_admin;
GRANT CREATE ON SCHEMA public TO PUBLIC;

-- an open alert for the operator to acknowledge (a fixed id: the calls
-- below use no function of their own)
INSERT INTO pgdr.alerts (id, severity, source, key, message, raised_at, updated_at)
	OVERRIDING SYSTEM VALUE
	VALUES (1000000, 'warning', 'backup', 'search_path_test', 'for dr_alert_ack',
			pg_catalog.now(), pg_catalog.now());

\o /dev/null
SET ROLE dr_t_sp_monitor;
SELECT trap_log.plant('sp_monitor');
SELECT trap_log.plant('public');
RESET ROLE;
SET ROLE dr_t_sp_operator;
SELECT trap_log.plant('sp_operator');
RESET ROLE;
SET ROLE dr_t_sp_admin;
SELECT trap_log.plant('sp_admin');
RESET ROLE;

------------------------------------------------------------------------------
-- The trap works: a query of the attacker's own finds its operator, and a
-- superuser whose search_path reaches public runs public.nextval(text),
-- which makes its planter a superuser.
------------------------------------------------------------------------------
\o
SET search_path = pg_catalog, tap;
CREATE SEQUENCE trap_log.control_seq;
SET ROLE dr_t_sp_operator;
SET search_path = sp_operator, pg_catalog, public;
DO $$BEGIN PERFORM 'a'::text = 'a'::text; END$$;
RESET ROLE;
SET search_path = public, pg_catalog;
DO $$BEGIN PERFORM nextval('trap_log.control_seq'); END$$;
SET search_path = pg_catalog, tap;
SELECT tap.is((SELECT array_agg(DISTINCT what || ' as ' || run_as ORDER BY what || ' as ' || run_as)
			 FROM trap_log.hits)::text,
		   '{"nextval(text) as postgres","text = text as dr_t_sp_operator"}',
		   'control: the planted operator and nextval(text) are picked where a search_path reaches them');
SELECT tap.ok((SELECT rolsuper FROM pg_roles WHERE rolname = 'dr_t_sp_monitor'),
		   'control: run by a superuser, the planted function makes its planter a superuser');
ALTER ROLE dr_t_sp_monitor NOSUPERUSER;
TRUNCATE trap_log.hits;

------------------------------------------------------------------------------
-- Every dr_* function and view, called by the roles that may.
------------------------------------------------------------------------------
SELECT tap.set_eq(
	$$SELECT p.proname::text FROM pg_proc p
		JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
		JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'pg_dr'
	   WHERE p.proname LIKE 'dr\_%'$$,
	ARRAY['dr_audit_verify', 'dr_audit_expire', 'dr_backup_full',
		  'dr_backup_incremental', 'dr_backup_verify', 'dr_restore',
		  'dr_repository_create', 'dr_repository_sync', 'dr_expire',
		  'dr_wal_verify', 'dr_restore_point', 'dr_declare_primary',
		  'dr_backup_keep', 'dr_metrics', 'dr_node_register', 'dr_node_unregister',
		  'dr_alert_ack', 'dr_availability', 'dr_failover', 'dr_schedule_explain', 'dr_schedule_policy_set',
		  'dr_rejoin', 'dr_rejoin_record', 'dr_switchover'],
	'this test calls every dr_* function of the extension');
SELECT tap.set_eq(
	$$SELECT c.relname::text FROM pg_class c
		JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
		JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'pg_dr'
	   WHERE c.relkind = 'v' AND c.relname LIKE 'dr\_%'$$,
	ARRAY['dr_status', 'dr_config', 'dr_objectives', 'dr_audit', 'dr_backups',
		  'dr_backup_progress', 'dr_archive_status', 'dr_restore_points',
		  'dr_pitr_window', 'dr_progress', 'dr_nodes', 'dr_repositories', 'dr_alerts',
		  'dr_objectives_history', 'dr_rate_samples', 'dr_replication', 'dr_replication_history',
		  'dr_failover_history', 'dr_schedule', 'dr_jobs', 'dr_schedule_policies'],
	'this test reads every dr_* view of the extension');

-- each call is its own statement: backups and audit records need commits
CREATE TABLE trap_log.calls (role name, call text, error text);
GRANT INSERT ON trap_log.calls TO PUBLIC;
-- the attacker's own SQL uses no operator or function (its own would run)
CREATE TABLE trap_log.restore_call AS
	SELECT pg_catalog.format('SELECT * FROM dr_restore(%L, %L)', 'latest',
							 pg_catalog.regexp_replace(pg_catalog.current_setting('data_directory'),
													   '/[^/]+$', '/restore-sp')) AS call;
GRANT SELECT ON trap_log.restore_call TO PUBLIC;
CREATE FUNCTION trap_log.attempt(call text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	-- only dynamic SQL of the call itself: no operator of ours is involved
	EXECUTE call;
	INSERT INTO trap_log.calls VALUES (current_user, call, NULL);
EXCEPTION WHEN OTHERS THEN
	INSERT INTO trap_log.calls VALUES (current_user, call, SQLERRM);
END
$$;

\o /dev/null
SET ROLE dr_t_sp_monitor;
SET search_path = sp_monitor, pg_catalog, public;
SELECT trap_log.attempt('SELECT * FROM dr_status');
SELECT trap_log.attempt('SELECT * FROM dr_config');
SELECT trap_log.attempt('SELECT * FROM dr_objectives');
SELECT trap_log.attempt('SELECT * FROM dr_audit');
SELECT trap_log.attempt('SELECT * FROM dr_backups');
SELECT trap_log.attempt('SELECT * FROM dr_backup_progress');
SELECT trap_log.attempt('SELECT * FROM dr_archive_status');
SELECT trap_log.attempt('SELECT * FROM dr_restore_points');
SELECT trap_log.attempt('SELECT * FROM dr_pitr_window');
SELECT trap_log.attempt('SELECT * FROM dr_progress');
SELECT trap_log.attempt('SELECT dr_metrics()');
SELECT trap_log.attempt('SELECT * FROM dr_nodes');
SELECT trap_log.attempt('SELECT * FROM dr_failover_history');
SELECT trap_log.attempt('SELECT * FROM dr_repositories');
SELECT trap_log.attempt('SELECT * FROM dr_alerts');
SELECT trap_log.attempt('SELECT * FROM dr_objectives_history');
SELECT trap_log.attempt('SELECT * FROM dr_rate_samples');
SELECT trap_log.attempt('SELECT * FROM dr_availability(''2000-01-01'', ''3000-01-01'')');
SELECT trap_log.attempt('SELECT * FROM dr_replication');
SELECT trap_log.attempt('SELECT * FROM dr_replication_history');
SELECT trap_log.attempt('SELECT * FROM dr_schedule');
SELECT trap_log.attempt('SELECT * FROM dr_jobs');
SELECT trap_log.attempt('SELECT * FROM dr_schedule_policies');
SELECT trap_log.attempt('SELECT dr_schedule_explain()');
RESET ROLE;

SET ROLE dr_t_sp_operator;
SET search_path = sp_operator, pg_catalog, public;
SELECT trap_log.attempt('SELECT dr_backup_full(''sp full'')');
SELECT trap_log.attempt('SELECT dr_backup_incremental()');
SELECT trap_log.attempt('SELECT dr_backup_verify(''latest'')');
SELECT trap_log.attempt('SELECT dr_restore_point(''sp_operator_point'')');
SELECT trap_log.attempt('SELECT dr_repository_sync()');
SELECT trap_log.attempt('SELECT * FROM dr_wal_verify()');
SELECT trap_log.attempt('SELECT * FROM dr_audit_verify()');
SELECT trap_log.attempt('SELECT dr_alert_ack(1000000)');
SELECT trap_log.attempt('SELECT * FROM dr_status');
SELECT trap_log.attempt('SELECT * FROM dr_backups');
SELECT trap_log.attempt('SELECT * FROM dr_pitr_window');
RESET ROLE;

SET ROLE dr_t_sp_admin;
SET search_path = sp_admin, pg_catalog, public;
SELECT trap_log.attempt('SELECT dr_repository_create()');
SELECT trap_log.attempt('SELECT dr_backup_full()');
SELECT trap_log.attempt((SELECT call FROM trap_log.restore_call));
SELECT trap_log.attempt('SELECT * FROM dr_expire()');
SELECT trap_log.attempt('SELECT dr_backup_keep(''latest'', ''infinity'')');
SELECT trap_log.attempt('SELECT dr_backup_keep(''latest'', NULL)');
SELECT trap_log.attempt('SELECT dr_declare_primary()');
SELECT trap_log.attempt('SELECT dr_audit_expire()');
SELECT trap_log.attempt('SELECT dr_node_register(''sp-node'', ''host=x password=y'', 10, ''sp'', false)');
SELECT trap_log.attempt('SELECT dr_node_unregister(''sp-node'')');
SELECT trap_log.attempt('SELECT dr_failover(''sp-node'')');
SELECT trap_log.attempt('SELECT dr_schedule_policy_set(''critical'', ''retry_base'', ''2 minutes'')');
SELECT trap_log.attempt('SELECT dr_rejoin()');
SELECT trap_log.attempt('SELECT dr_switchover(''sp-node'')');
SELECT trap_log.attempt('SELECT dr_rejoin_record(''sp-node'', ''followed'', ''trap'')');
SELECT trap_log.attempt('SELECT * FROM dr_audit_verify()');
SELECT trap_log.attempt('SELECT * FROM dr_status');
RESET ROLE;

------------------------------------------------------------------------------
-- The worker's duties, with public planted and on the database's
-- search_path: a scheduled restore point every second for a few rounds.
------------------------------------------------------------------------------
SET search_path = pg_catalog, tap;
ALTER SYSTEM SET pg_dr.pitr_interval = 1;
ALTER SYSTEM SET pg_dr.objectives_sample_interval = 1;
SELECT pg_reload_conf();
CREATE TABLE trap_log.since AS SELECT pg_catalog.clock_timestamp() AS at;
DO $$
BEGIN
	FOR i IN 1 .. 600 LOOP
		EXIT WHEN (SELECT count(*) FROM pgdr.pitr_events
					WHERE origin = 'scheduled' AND at > (SELECT at FROM trap_log.since)) >= 2
			  AND (SELECT count(*) FROM pgdr.objectives_history
					WHERE sampled_at > (SELECT at FROM trap_log.since)) >= 2;
		PERFORM pg_sleep(0.1);
	END LOOP;
END
$$;
ALTER SYSTEM RESET pg_dr.pitr_interval;
ALTER SYSTEM RESET pg_dr.objectives_sample_interval;
SELECT pg_reload_conf();
\o

------------------------------------------------------------------------------
-- Results.
------------------------------------------------------------------------------
SELECT tap.is((SELECT array_agg(call || ': ' || error ORDER BY call) FROM trap_log.calls
				WHERE error IS NOT NULL
				  AND call NOT IN ('SELECT dr_repository_create()',
								   'SELECT dr_failover(''sp-node'')', 'SELECT dr_rejoin()',
								   'SELECT dr_switchover(''sp-node'')')),
			  NULL, 'every call but creating the existing repository, failing over or switching over without HA and rejoining a running primary succeeded');
SELECT tap.is((SELECT error FROM trap_log.calls WHERE call = 'SELECT dr_switchover(''sp-node'')'),
			  'no HA worker runs on this node: high availability is not configured',
			  'dr_switchover is refused where no HA worker runs, not by a trap');
SELECT tap.is((SELECT error FROM trap_log.calls WHERE call = 'SELECT dr_failover(''sp-node'')'),
			  'no HA worker runs on this node',
			  'dr_failover is refused where no HA worker runs, not by a trap');
SELECT tap.alike((SELECT error FROM trap_log.calls WHERE call = 'SELECT dr_repository_create()'),
				'%already%', 'dr_repository_create() refused only because the repository exists');
SELECT tap.alike((SELECT error FROM trap_log.calls WHERE call = 'SELECT dr_rejoin()'),
				'%cannot make a running primary a standby%', 'dr_rejoin() refused only because the primary runs');
SELECT tap.cmp_ok((SELECT count(*) FROM trap_log.calls WHERE error IS NULL), '>=', 25::bigint,
				  'the calls ran');
SELECT tap.cmp_ok((SELECT count(*) FROM pgdr.pitr_events
					WHERE origin = 'scheduled' AND at > (SELECT at FROM trap_log.since)),
				  '>=', 2::bigint, 'the worker made scheduled restore points with public planted');
SELECT tap.cmp_ok((SELECT count(*) FROM pgdr.objectives_history
					WHERE sampled_at > (SELECT at FROM trap_log.since)),
				  '>=', 2::bigint, 'the worker sampled the objectives with public planted');
SELECT tap.cmp_ok((SELECT count(*) FROM public.dr_audit
					WHERE operation IN ('dr_backup_full', 'dr_restore', 'dr_expire')
					  AND result = 'ok'),
				  '>=', 4::bigint, 'the worker wrote the audit records of the calls');
SELECT tap.ok((SELECT ok FROM public.dr_audit_verify()), 'the audit chain verifies');
SELECT tap.is((SELECT count(*) FROM public.dr_backups), 3::bigint,
			  'the three backups are listed');

SELECT tap.is((SELECT array_agg(DISTINCT what || ' in ' || planted_in || ' as ' || run_as)
				 FROM trap_log.hits),
			  NULL, 'no planted operator, function or aggregate ever ran');
SELECT tap.is((SELECT array_agg(rolname ORDER BY rolname) FROM pg_roles
				WHERE rolname LIKE 'dr\_t\_sp\_%'
				  AND (rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls)),
			  NULL, 'no attacker gained an attribute');
SELECT tap.is((SELECT array_agg(r.rolname || ' in ' || g.rolname ORDER BY r.rolname)
				 FROM pg_auth_members m
				 JOIN pg_roles r ON r.oid = m.member
				 JOIN pg_roles g ON g.oid = m.roleid
				WHERE r.rolname LIKE 'dr\_t\_sp\_%')::text,
			  '{"dr_t_sp_admin in dr_admin","dr_t_sp_monitor in dr_monitor","dr_t_sp_operator in dr_operator"}',
			  'no attacker gained a role membership');
SELECT tap.is(pg_catalog.current_setting('search_path'), 'pg_catalog, tap',
			  'the caller''s search_path is back after every call');
SET ROLE dr_t_sp_monitor;
SET search_path = sp_monitor, pg_catalog, public;
CREATE TEMP TABLE sp_path AS SELECT pg_catalog.current_setting('search_path') AS p;
DO $$BEGIN PERFORM trap_log.attempt('SELECT * FROM dr_status'); END$$;
INSERT INTO sp_path SELECT pg_catalog.current_setting('search_path');
RESET ROLE;
SET search_path = pg_catalog, tap;
SELECT tap.is((SELECT array_agg(DISTINCT p) FROM sp_path)::text,
			  '{"sp_monitor, pg_catalog, public"}',
			  'an attacker''s own search_path is restored after a call');

-- the pinned path survives an error inside the owner's section
SET ROLE dr_t_sp_operator;
SET search_path = sp_operator, pg_catalog, public;
CREATE TEMP TABLE sp_err AS SELECT NULL::text AS e;
DO $$
BEGIN
	PERFORM dr_backup_verify('no-such-backup');
EXCEPTION WHEN OTHERS THEN
	INSERT INTO sp_err VALUES (pg_catalog.current_setting('search_path'));
END
$$;
RESET ROLE;
SET search_path = pg_catalog, tap;
SELECT tap.is((SELECT e FROM sp_err WHERE e IS NOT NULL), 'sp_operator, pg_catalog, public',
			  'the caller''s search_path is back after a failed call');

------------------------------------------------------------------------------
-- Clean up: the attackers' objects, public as PostgreSQL 15 makes it.
------------------------------------------------------------------------------
DROP OWNED BY dr_t_sp_monitor, dr_t_sp_operator, dr_t_sp_admin CASCADE;
DROP ROLE dr_t_sp_monitor, dr_t_sp_operator, dr_t_sp_admin;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
DROP SCHEMA trap_log CASCADE;

SELECT * FROM tap.finish();
