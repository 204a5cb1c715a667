-- 005_backup.sql: the backup functions' SQL surface -- a repository created
-- from SQL, errors for bad and unknown ids and missing parents, the catalog,
-- and the audit rows.  (Restores are checked by the TAP scenarios.)
\set VERBOSITY default

-- without a configuration
SELECT dr_backup_full();

-- a configuration written by the server into the data directory; the
-- repository is not encrypted, because COPY cannot write a passphrase file
-- private enough (it leaves files readable by others: the TAP scenarios
-- cover encrypted repositories)
CREATE TEMP TABLE lines (line text);
CREATE FUNCTION pg_temp.fails(query text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	state text; msg text; hint text;
BEGIN
	EXECUTE query;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
							hint = PG_EXCEPTION_HINT;
	RETURN replace(state || ': ' || msg || coalesce(' (hint: ' || nullif(hint, '') || ')', ''),
				   current_setting('data_directory'), '$PGDATA');
END
$$;
CREATE FUNCTION pg_temp.write_file(name text, content text[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM lines;
	INSERT INTO lines SELECT unnest(content);
	EXECUTE format('COPY lines TO %L', current_setting('data_directory') || '/' || name);
END
$$;
SELECT pg_temp.write_file('backup_regress.conf', ARRAY[
	'repo1_type = posix',
	'repo1_path = ' || current_setting('data_directory') || '/backup_regress_repo',
	'repo1_cipher_type = none']);
SELECT current_setting('data_directory') || '/backup_regress.conf' AS conf \gset
SET pg_dr.config_file = :'conf';

-- the repository does not exist yet
SELECT pg_temp.fails('SELECT dr_backup_full()');

SELECT replace(dr_repository_create(), current_setting('data_directory'), '$PGDATA');
SELECT repository_ok, repository_error FROM dr_status;
SELECT pg_temp.fails('SELECT dr_repository_create()');

-- no backup yet: no incremental when strict (without strict: a full instead, t/012)
SELECT dr_backup_incremental(strict => true);
SELECT dr_backup_incremental(strict => NULL);
SELECT dr_backup_incremental('not-an-id');
SELECT pg_temp.fails($$SELECT dr_backup_incremental('20200101-000000F')$$);

SELECT dr_backup_full('regress') ~ '^\d{8}-\d{6}F$' AS full_taken;
SELECT backup_id AS full_id FROM dr_backups \gset
SELECT kind, parent_id, label, status, timeline, start_lsn < stop_lsn AS lsns,
	   data_bytes > 0 AS data, stored_bytes > 0 AS stored, corrupt_pages,
	   finished_at >= started_at AS times
  FROM dr_backups;

CREATE TABLE backup_regress_t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 10000) g;
SELECT dr_backup_incremental() ~ '^\d{8}-\d{6}I$' AS incremental_taken;
SELECT kind, parent_id = :'full_id' AS parent_is_full, pages_changed > 0 AS changed
  FROM dr_backups WHERE kind = 'incremental';

-- nothing in progress now
SELECT count(*) FROM dr_backup_progress;

-- the catalog is a cache of the repository
DELETE FROM pgdr.backups;
SELECT dr_repository_sync();
SELECT kind, label, status FROM dr_backups ORDER BY backup_id;

-- every call was audited, failures with their SQLSTATE
SELECT operation, result, sqlstate
  FROM dr_audit
 WHERE operation LIKE 'dr_backup%' OR operation LIKE 'dr_repository%'
 ORDER BY id;

-- a role without dr_operator may not take backups
CREATE ROLE backup_regress_nobody;
SET ROLE backup_regress_nobody;
SELECT dr_backup_full();
RESET ROLE;
DROP ROLE backup_regress_nobody;
DROP TABLE backup_regress_t;
RESET pg_dr.config_file;
