-- 001_init: the extension installs, its worker runs, dr_status answers.
CREATE EXTENSION pg_dr;

-- the worker connects once the regression database exists (it retries)
DO $$
BEGIN
	FOR i IN 1..300 LOOP
		EXIT WHEN (SELECT worker_running FROM dr_status);
		PERFORM pg_sleep(0.1);
	END LOOP;
END
$$;

\x on
SELECT tier, rto_target, rpo_target, availability_target, config_file,
	   config_ok, config_error, repositories, repository_ok, repository_error,
	   worker_running, audit_pending, version
  FROM dr_status;
\x off

SELECT extname, extversion, nspname
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE extname = 'pg_dr';

-- a second CREATE fails plainly
CREATE EXTENSION pg_dr;

-- the user-facing surface
SELECT p.proname, pg_get_function_result(p.oid) AS returns
  FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_dr')
   AND p.proname LIKE 'dr\_%'
 ORDER BY 1;
SELECT c.relname
  FROM pg_class c JOIN pg_depend d ON d.objid = c.oid AND d.classid = 'pg_class'::regclass
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_dr')
   AND c.relkind = 'v'
 ORDER BY 1;
