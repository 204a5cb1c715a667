-- 008_audit_args: the arguments each dr_* function writes into its audit
-- record (api/call.c): strings escaped, NULL as null, numbers, booleans;
-- a failed call records its SQLSTATE and the arguments it was given, a
-- successful one adds its results.  No repository is configured: the
-- calls that need one fail with F0000, after their record began.
\set VERBOSITY terse
SELECT coalesce(max(id), 0) AS before FROM dr_audit \gset

-- quotes, a backslash and a tab, escaped (a text id may hold any of them)
SELECT dr_backup_verify(E'id\t"x"\\y');
-- a NULL label is null; an incremental names its parent
SELECT dr_backup_full();
SELECT dr_backup_incremental('parent"1', 'night');
-- dr_restore: the recovery target only when given
SELECT dr_restore('latest', '/nonexistent/target', 'immediate');
SELECT dr_restore('latest', 'relative/target');
-- a number given, a number found
SELECT dr_audit_expire();
-- a boolean result; nothing else when there was no origin marker
SELECT dr_declare_primary();
-- a result (the lsn) on success only: the second call of a name fails
SELECT dr_restore_point('audit "args" \ test') IS NOT NULL AS created;
SELECT dr_restore_point('audit "args" \ test');

SELECT operation, result, sqlstate, arguments - 'lsn' AS arguments,
	   arguments->>'lsn' ~ '^[0-9A-F]+/[0-9A-F]+$' AS lsn_recorded
  FROM dr_audit WHERE id > :before AND operation <> 'dr_alerts' ORDER BY id;
