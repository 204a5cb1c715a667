-- 006_archive.sql: the SQL surface of WAL archiving on a server that does
-- not archive -- dr_archive_status answers, dr_wal_verify() needs a
-- configuration and reports an empty archive, and is audited.  (Archiving
-- itself is checked by the TAP scenarios 020 and 021.)
\set VERBOSITY default

-- nothing configured, nothing archived: one row, nothing waits
SELECT repo, last_archived_wal, last_archived_at, pending_segments,
	   pending_bytes, archive_lag_seconds, failed_count, last_error,
	   last_error_at
  FROM dr_archive_status;

-- dr_wal_verify() without a configuration
SELECT * FROM dr_wal_verify();

-- an unencrypted repository, configured for this session (see 005_backup)
CREATE TEMP TABLE lines (line text);
INSERT INTO lines VALUES
	('repo1_type = posix'),
	('repo1_path = ' || current_setting('data_directory') || '/archive_regress_repo'),
	('repo1_cipher_type = none');
SELECT current_setting('data_directory') || '/archive_regress.conf' AS conf \gset
COPY lines TO :'conf';
SET pg_dr.config_file = :'conf';
SELECT replace(dr_repository_create(), current_setting('data_directory'), '$PGDATA');

-- the configured repository is shown before anything was archived
SELECT repo, last_archived_wal, pending_segments, failed_count FROM dr_archive_status;

-- an empty archive is not a continuous one (the NOTICE that there is no
-- backup names the repository's absolute path: not shown)
SET client_min_messages = warning;
SELECT * FROM dr_wal_verify();
RESET client_min_messages;

SELECT operation, result, arguments FROM dr_audit
 WHERE operation = 'dr_wal_verify' ORDER BY id;

RESET pg_dr.config_file;
