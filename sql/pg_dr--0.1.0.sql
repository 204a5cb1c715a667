/*
 * pg_dr 0.1.0 -- the SQL surface of the foundation.
 *
 * User-facing functions and views are named dr_* and live in the schema the
 * extension is created in (public by default), so they are callable
 * unqualified.  Internal state lives in schema pgdr (the pg_ prefix is
 * reserved for system schemas) and is reached only
 * through those functions and views.
 *
 * Privileges: EXECUTE on every dr_* function is revoked from PUBLIC and
 * granted to dr_operator (operations) or dr_admin (administration); the
 * views are readable by dr_monitor.  The roles nest: dr_admin is a member of
 * dr_operator, which is a member of dr_monitor.  dr_ha_peer (not nested:
 * no other role has it) may call the functions peers' HA workers call.
 */

\echo Use "CREATE EXTENSION pg_dr" to load this file. \quit

DO $$
BEGIN
	IF current_setting('pg_dr.database', true) IS NULL THEN
		RAISE EXCEPTION 'pg_dr must be loaded via shared_preload_libraries'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'Add pg_dr to shared_preload_libraries in postgresql.conf and restart the server.';
	END IF;
	IF current_setting('pg_dr.database') <> current_database() THEN
		RAISE EXCEPTION 'pg_dr can only be created in database "%"',
			current_setting('pg_dr.database')
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'Its background worker connects to the database named by pg_dr.database; create the extension there, or change that setting and restart.';
	END IF;
END
$$;

-- Roles are global objects: create them only when missing, so the extension
-- can be dropped and created again, and nest them.
DO $$
DECLARE
	r text;
BEGIN
	FOREACH r IN ARRAY ARRAY['dr_monitor', 'dr_operator', 'dr_admin', 'dr_ha_peer'] LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
			EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
		END IF;
	END LOOP;
END
$$;
GRANT dr_monitor TO dr_operator;
GRANT dr_operator TO dr_admin;

CREATE SCHEMA pgdr;
REVOKE ALL ON SCHEMA pgdr FROM PUBLIC;
GRANT USAGE ON SCHEMA pgdr TO dr_monitor;

------------------------------------------------------------------------------
-- Recovery objectives (from the seed: RTO / RPO / availability per tier).
------------------------------------------------------------------------------
CREATE TABLE pgdr.objectives (
	tier		text PRIMARY KEY
				CHECK (tier IN ('critical', 'high', 'medium', 'low')),
	rto			interval NOT NULL CHECK (rto > interval '0'),
	rpo			interval NOT NULL CHECK (rpo >= interval '0'),
	availability numeric(6, 3) NOT NULL
				CHECK (availability > 0 AND availability <= 100),
	-- retention of the tier (dr_expire(), when the repository sets none):
	-- the newest retention_full full backups, and those younger than
	-- retention_full_days days; NULL = unset
	retention_full	integer CHECK (retention_full BETWEEN 1 AND 99999),
	retention_full_days integer CHECK (retention_full_days BETWEEN 1 AND 99999)
);
COMMENT ON TABLE pgdr.objectives IS
	'recovery time and point objectives and availability target per tier';

INSERT INTO pgdr.objectives VALUES
	('critical', interval '2 hours', interval '30 minutes', 99.99),
	('high', interval '4 hours', interval '1 hour', 99.95),
	('medium', interval '8 hours', interval '4 hours', 99.9),
	('low', interval '24 hours', interval '24 hours', 99.5);

-- Editable by dr_admin through the dr_objectives view.
CREATE VIEW dr_objectives AS
	SELECT o.tier, o.rto, o.rpo, o.availability,
		   o.tier = pg_catalog.current_setting('pg_dr.tier') AS current,
		   o.retention_full, o.retention_full_days
	  FROM pgdr.objectives o
	 ORDER BY o.rto;
COMMENT ON VIEW dr_objectives IS
	'recovery objectives per tier; "current" marks the tier set by pg_dr.tier';

------------------------------------------------------------------------------
-- The audit trail: append-only and hash-chained.
------------------------------------------------------------------------------
CREATE SEQUENCE pgdr.audit_log_id_seq;

CREATE TABLE pgdr.audit_log (
	id				bigint PRIMARY KEY,
	started_at		timestamptz NOT NULL,
	finished_at		timestamptz NOT NULL,
	session_user_name name NOT NULL,
	current_user_name name NOT NULL,
	backend_pid		integer NOT NULL,
	operation		text NOT NULL,
	arguments		jsonb NOT NULL,
	result			text NOT NULL CHECK (result IN ('ok', 'error', 'interrupted')),
	sqlstate		text,
	error			text,
	prev_hash		bytea NOT NULL,
	row_hash		bytea NOT NULL
);
COMMENT ON TABLE pgdr.audit_log IS
	'every DR operation: append-only, each row hash-chained to the one before';
-- dr_status.last_operation_at is max(finished_at): without it, a scan of
-- the whole trail (bench/ops: 0.6 s at a million rows)
CREATE INDEX audit_log_finished_at ON pgdr.audit_log (finished_at);

-- Where verification starts after dr_audit_expire() removed old rows: the
-- hash of the newest removed row, which the oldest kept row must chain to.
CREATE TABLE pgdr.audit_anchor (
	singleton		boolean PRIMARY KEY DEFAULT true CHECK (singleton),
	last_removed_id bigint NOT NULL,
	row_hash		bytea NOT NULL
);

-- Changes of the objectives (the only watched table), noted by their
-- trigger in the changing transaction, so that a note exists exactly when
-- its change committed; the worker moves each into audit_log, removing it
-- in the same transaction.  (Operations in flight are noted in files, see
-- src/ops/audit_note.c: they must outlive their transaction.)
CREATE TABLE pgdr.audit_pending (
	id				bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	noted_at		timestamptz NOT NULL,
	session_user_name name NOT NULL,
	current_user_name name NOT NULL,
	backend_pid		integer NOT NULL,
	operation		text NOT NULL,
	arguments		jsonb NOT NULL
);

/*
 * The digest that chains a row to the one before it.  Every field is
 * length-prefixed so that no two different rows serialize the same way;
 * timestamps are hashed as epoch microseconds, independent of DateStyle and
 * TimeZone.  The background worker computes it on insert and
 * dr_audit_verify() recomputes it: one definition serves both.
 */
CREATE FUNCTION pgdr.audit_digest(prev bytea, r pgdr.audit_log)
RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT sha256(prev || convert_to(
			string_agg(length(v) || ':' || v, '|' ORDER BY n), 'UTF8'))
	  FROM unnest(ARRAY[
			r.id::text,
			(extract(epoch FROM r.started_at) * 1000000)::bigint::text,
			(extract(epoch FROM r.finished_at) * 1000000)::bigint::text,
			r.session_user_name::text,
			r.current_user_name::text,
			r.backend_pid::text,
			r.operation,
			r.arguments::text,
			r.result,
			coalesce(r.sqlstate, ''),
			coalesce(r.error, '')
		   ]) WITH ORDINALITY AS t(v, n)
$$;

-- The append-only guard (C): no UPDATE, no TRUNCATE, and DELETE only from
-- inside dr_audit_expire() for rows older than pg_dr.audit_retention.
CREATE FUNCTION pgdr.audit_guard()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'pg_dr_audit_guard';

-- ENABLE ALWAYS: the guard fires even with session_replication_role=replica.
CREATE TRIGGER audit_log_append_only
	BEFORE UPDATE OR DELETE ON pgdr.audit_log
	FOR EACH ROW EXECUTE FUNCTION pgdr.audit_guard();
CREATE TRIGGER audit_log_no_truncate
	BEFORE TRUNCATE ON pgdr.audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION pgdr.audit_guard();
ALTER TABLE pgdr.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;
ALTER TABLE pgdr.audit_log ENABLE ALWAYS TRIGGER audit_log_no_truncate;
CREATE TRIGGER audit_anchor_append_only
	BEFORE UPDATE OR DELETE ON pgdr.audit_anchor
	FOR EACH ROW EXECUTE FUNCTION pgdr.audit_guard();
CREATE TRIGGER audit_anchor_no_truncate
	BEFORE TRUNCATE ON pgdr.audit_anchor
	FOR EACH STATEMENT EXECUTE FUNCTION pgdr.audit_guard();
ALTER TABLE pgdr.audit_anchor ENABLE ALWAYS TRIGGER audit_anchor_append_only;
ALTER TABLE pgdr.audit_anchor ENABLE ALWAYS TRIGGER audit_anchor_no_truncate;
CREATE TRIGGER audit_pending_guard
	BEFORE INSERT OR UPDATE OR DELETE ON pgdr.audit_pending
	FOR EACH ROW EXECUTE FUNCTION pgdr.audit_guard();
CREATE TRIGGER audit_pending_no_truncate
	BEFORE TRUNCATE ON pgdr.audit_pending
	FOR EACH STATEMENT EXECUTE FUNCTION pgdr.audit_guard();
ALTER TABLE pgdr.audit_pending ENABLE ALWAYS TRIGGER audit_pending_guard;
ALTER TABLE pgdr.audit_pending ENABLE ALWAYS TRIGGER audit_pending_no_truncate;

-- Every change of the objectives is audited (C: notes it in audit_pending,
-- naming the users who made it, the row before and after).
CREATE FUNCTION pgdr.objectives_audit()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'pg_dr_objectives_audit';
CREATE TRIGGER objectives_audit
	AFTER INSERT OR UPDATE OR DELETE ON pgdr.objectives
	FOR EACH ROW EXECUTE FUNCTION pgdr.objectives_audit();
CREATE TRIGGER objectives_no_truncate
	BEFORE TRUNCATE ON pgdr.objectives
	FOR EACH STATEMENT EXECUTE FUNCTION pgdr.audit_guard();
ALTER TABLE pgdr.objectives ENABLE ALWAYS TRIGGER objectives_audit;
ALTER TABLE pgdr.objectives ENABLE ALWAYS TRIGGER objectives_no_truncate;

/*
 * Walk the chain in id order.  Returns the number of rows checked and the
 * first row whose link is broken, with the reason.
 */
CREATE FUNCTION pgdr.audit_verify_chain(
	OUT ok boolean, OUT rows_checked bigint, OUT first_broken_id bigint,
	OUT problem text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r			pgdr.audit_log;
	expected	bytea;
	anchor		pgdr.audit_anchor;
BEGIN
	ok := true;
	rows_checked := 0;
	SELECT * INTO anchor FROM pgdr.audit_anchor;
	IF FOUND THEN
		expected := anchor.row_hash;
	ELSE
		expected := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
	END IF;

	FOR r IN SELECT * FROM pgdr.audit_log ORDER BY id LOOP
		IF anchor.last_removed_id IS NOT NULL AND r.id <= anchor.last_removed_id THEN
			ok := false; first_broken_id := r.id;
			problem := format('row %s should have been removed with the rows up to %s',
							  r.id, anchor.last_removed_id);
			RETURN;
		END IF;
		IF r.prev_hash IS DISTINCT FROM expected THEN
			ok := false; first_broken_id := r.id;
			problem := CASE WHEN rows_checked = 0
				THEN format('row %s does not chain to the start of the log (rows before it were removed or altered)', r.id)
				ELSE format('row %s does not chain to the row before it (a row was removed or altered)', r.id) END;
			RETURN;
		END IF;
		IF r.row_hash IS DISTINCT FROM pgdr.audit_digest(r.prev_hash, r) THEN
			ok := false; first_broken_id := r.id;
			problem := format('row %s was altered after it was written (its hash does not match its content)', r.id);
			RETURN;
		END IF;
		expected := r.row_hash;
		rows_checked := rows_checked + 1;
	END LOOP;
END
$$;

CREATE VIEW dr_audit AS
	SELECT id, started_at, finished_at, finished_at - started_at AS duration,
		   session_user_name, current_user_name, backend_pid, operation,
		   arguments, result, sqlstate, error
	  FROM pgdr.audit_log;
COMMENT ON VIEW dr_audit IS 'the audit trail of every DR operation';

------------------------------------------------------------------------------
-- C functions.  Internal ones (pgdr._*) feed the views; dr_* are the API.
------------------------------------------------------------------------------
CREATE FUNCTION pgdr._status(
	OUT tier text, OUT rto_target interval, OUT rpo_target interval,
	OUT availability_target numeric,
	OUT config_file text, OUT config_ok boolean, OUT config_error text,
	OUT repositories integer, OUT repository_ok boolean,
	OUT repository_error text,
	OUT worker_running boolean, OUT audit_pending integer,
	OUT version text, OUT restored_from text,
	OUT rpo_actual interval, OUT rpo_actual_reason text,
	OUT rto_estimate interval,
	OUT restore_rate float8, OUT restore_rate_measured boolean,
	OUT restore_rate_measured_at timestamptz,
	OUT replay_rate float8, OUT replay_rate_measured boolean,
	OUT replay_rate_measured_at timestamptz,
	OUT wal_since_backup bigint,
	OUT newest_backup text, OUT newest_backup_at timestamptz,
	OUT newest_backup_age interval,
	OUT archive_health text, OUT archive_pending bigint,
	OUT open_alerts integer, OUT verdict text, OUT verdict_reason text,
	OUT rpo_source text, OUT rpo_standby text)
RETURNS record
LANGUAGE C STABLE
AS 'MODULE_PATHNAME', 'pg_dr_status';

CREATE FUNCTION pgdr._config(OUT name text, OUT value text, OUT source text)
RETURNS SETOF record
LANGUAGE C STABLE
AS 'MODULE_PATHNAME', 'pg_dr_config';

CREATE VIEW dr_status AS
	SELECT s.*,
		   (SELECT max(finished_at) FROM pgdr.audit_log) AS last_operation_at
	  FROM pgdr._status() s;
COMMENT ON VIEW dr_status IS
	'one row: tier and objectives, configuration, repository, worker, whether this is a restored cluster not yet declared primary, and the objectives measured: RPO actual, RTO estimate, newest backup, archive health, open alerts, verdict (docs/sql.md)';

CREATE FUNCTION dr_metrics()
RETURNS text
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'dr_metrics';
COMMENT ON FUNCTION dr_metrics() IS
	'the state of pg_dr in the Prometheus text exposition format (objectives, health, backups, archiving)';

CREATE VIEW dr_config AS
	SELECT name, value, source FROM pgdr._config();
COMMENT ON VIEW dr_config IS
	'effective pg_dr configuration (pg_dr.config_file), secrets hidden';

CREATE FUNCTION dr_audit_verify(
	OUT ok boolean, OUT rows_checked bigint, OUT first_broken_id bigint,
	OUT problem text)
RETURNS record
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'dr_audit_verify';
COMMENT ON FUNCTION dr_audit_verify() IS
	'check the audit hash chain; reports the first broken link';

CREATE FUNCTION dr_audit_expire()
RETURNS bigint
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'dr_audit_expire';
COMMENT ON FUNCTION dr_audit_expire() IS
	'remove audit rows older than pg_dr.audit_retention; returns how many';

------------------------------------------------------------------------------
-- Backups.  The repository is the source of truth; pgdr.backups caches what
-- its manifests say (dr_repository_sync() rebuilds it from them).
------------------------------------------------------------------------------
CREATE TABLE pgdr.backups (
	backup_id		text PRIMARY KEY,
	kind			text NOT NULL CHECK (kind IN ('full', 'incremental')),
	parent_id		text,
	label			text,
	status			text NOT NULL CHECK (status IN ('valid', 'corrupt', 'damaged')),
	started_at		timestamptz NOT NULL,
	finished_at		timestamptz NOT NULL,
	start_lsn		pg_lsn NOT NULL,
	stop_lsn		pg_lsn NOT NULL,
	timeline		integer NOT NULL,
	data_bytes		bigint NOT NULL,
	stored_bytes	bigint NOT NULL,
	pages_changed	bigint NOT NULL,
	corrupt_pages	bigint NOT NULL,
	files			bigint NOT NULL,
	repo			integer NOT NULL,
	error			text,
	bytes_read		bigint,		-- NULL when rebuilt from the repository
	CHECK ((kind = 'full') = (parent_id IS NULL))
);
COMMENT ON TABLE pgdr.backups IS
	'backups in the repository, as their manifests describe them';

-- Which repositories hold a backup, as the catch-up duty last listed them
-- (shared memory; NULL until it listed any: it does with several
-- repositories).
CREATE FUNCTION pgdr._backup_repos(backup_id text) RETURNS integer[]
LANGUAGE C STABLE STRICT
AS 'MODULE_PATHNAME', 'pg_dr_backup_repos';

CREATE VIEW dr_backups AS
	SELECT backup_id, kind, parent_id, label, status, started_at, finished_at,
		   start_lsn, stop_lsn, timeline, files, data_bytes, stored_bytes,
		   pages_changed, corrupt_pages, error, bytes_read,
		   pgdr._backup_repos(backup_id) AS repos
	  FROM pgdr.backups
	 ORDER BY backup_id;
COMMENT ON VIEW dr_backups IS 'every backup in the repository';

CREATE FUNCTION pgdr._backup_progress(
	OUT backup_id text, OUT pid integer, OUT phase text, OUT started_at timestamptz,
	OUT files_done bigint, OUT files_total bigint,
	OUT bytes_done bigint, OUT bytes_total bigint, OUT bytes_per_second float8)
RETURNS SETOF record
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'pg_dr_backup_progress';

CREATE VIEW dr_backup_progress AS
	SELECT * FROM pgdr._backup_progress();
COMMENT ON VIEW dr_backup_progress IS 'the running backup, if any';

-- items_total, bytes_total: NULL when the operation does not know them
CREATE FUNCTION pgdr._progress(
	OUT pid integer, OUT operation text, OUT phase text, OUT started_at timestamptz,
	OUT items_done bigint, OUT items_total bigint,
	OUT bytes_done bigint, OUT bytes_total bigint, OUT current text,
	OUT bytes_per_second float8)
RETURNS SETOF record
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'pg_dr_progress';

CREATE VIEW dr_progress AS
	SELECT * FROM pgdr._progress();
COMMENT ON VIEW dr_progress IS
	'the long operations running now (dr_restore, dr_backup_verify, dr_wal_verify, dr_expire), one row per backend';

CREATE FUNCTION dr_backup_full(label text DEFAULT NULL)
RETURNS text
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'dr_backup_full';
COMMENT ON FUNCTION dr_backup_full(text) IS
	'take a full backup into the repository; returns its id';

CREATE FUNCTION dr_backup_incremental(parent text DEFAULT NULL, label text DEFAULT NULL,
									  strict boolean DEFAULT false)
RETURNS text
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'dr_backup_incremental';
COMMENT ON FUNCTION dr_backup_incremental(text, text, boolean) IS
	'take a block-level incremental backup on top of parent (default: the latest backup); without a parent and unless strict, a full backup instead (with a NOTICE) when nothing valid can be built on or the chain holds pg_dr.backup_chain_max backups; returns its id';

-- not STRICT: repo NULL means every repository that holds the backup
CREATE FUNCTION dr_backup_verify(backup_id text, repo integer DEFAULT NULL)
RETURNS boolean
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'dr_backup_verify';
COMMENT ON FUNCTION dr_backup_verify(text, integer) IS
	're-read every object of a backup and its chain, and the archived WAL it needs, in every repository that holds it (repo => N: in repository N only); false, with a WARNING per problem, when anything is wrong';

-- not STRICT: recovery_target NULL means "to the end of the archived WAL",
-- repo NULL "the first repository with a good copy, falling back"
CREATE FUNCTION dr_restore(backup_id text, target_dir text,
	recovery_target text DEFAULT NULL, repo integer DEFAULT NULL,
	OUT restored_backup text, OUT files bigint, OUT bytes bigint, OUT wal_segments bigint)
RETURNS record
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'dr_restore';
COMMENT ON FUNCTION dr_restore(text, text, text, integer) IS
	'restore a backup (an id or latest) into an empty directory of the server host; recovery_target => ''immediate'' stops at the end of the backup; repo => N reads repository N only';

CREATE FUNCTION dr_repository_create()
RETURNS text
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'dr_repository_create';
COMMENT ON FUNCTION dr_repository_create() IS
	'initialize the first configured repository (as pg_dr repo-create does); returns its path';

CREATE FUNCTION dr_repository_sync()
RETURNS integer
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'dr_repository_sync';
COMMENT ON FUNCTION dr_repository_sync() IS
	'rebuild the catalog of backups (dr_backups) from the repository; returns how many';

CREATE FUNCTION dr_expire(
	OUT backups_removed integer, OUT wal_removed integer, OUT bytes_freed bigint,
	OUT backups text[], OUT policy_from text, OUT error text,
	INOUT repo integer DEFAULT NULL)
RETURNS SETOF record
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'dr_expire';
COMMENT ON FUNCTION dr_expire(integer) IS
	'in every configured repository (repo => N: in repository N), remove the backups beyond its retention policy (repoN_retention_full, else the tier''s) and the archived WAL no kept backup needs; a row per repository';

CREATE FUNCTION dr_backup_keep(backup_id text, until timestamptz)
RETURNS timestamptz
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'dr_backup_keep';
COMMENT ON FUNCTION dr_backup_keep(text, timestamptz) IS
	'legal hold: keep a backup (with its chain and WAL) from expiry until a time, ''infinity'' for ever, NULL to lift the hold; returns the end of the hold now in effect';

------------------------------------------------------------------------------
-- WAL archiving (archive_library = 'pg_dr').  The figures of
-- dr_archive_status live in shared memory since the server started; what
-- waits is counted from pg_wal/archive_status when the view is read.
------------------------------------------------------------------------------
CREATE FUNCTION pgdr._archive_status(
	OUT repo integer, OUT last_archived_wal text,
	OUT last_archived_at timestamptz, OUT pending_segments bigint,
	OUT pending_bytes bigint, OUT archive_lag_seconds float8,
	OUT failed_count bigint, OUT last_error text, OUT last_error_at timestamptz)
RETURNS SETOF record
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'pg_dr_archive_status';

CREATE VIEW dr_archive_status AS
	SELECT * FROM pgdr._archive_status();
COMMENT ON VIEW dr_archive_status IS
	'WAL archiving per repository: last archived file, what waits and since when, failures';

-- Every configured repository: where it is (never a secret), whether WAL
-- archiving waits for it, and how far behind the others it is (the
-- archiver, the archive workers and the catch-up duty keep this in shared
-- memory).
CREATE FUNCTION pgdr._repositories(
	OUT repo integer, OUT type text, OUT location text, OUT required boolean,
	OUT state text, OUT newest_backup text, OUT newest_wal text,
	OUT lag_segments bigint, OUT lag_bytes bigint, OUT backups_missing bigint,
	OUT last_error text, OUT last_error_at timestamptz)
RETURNS SETOF record
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'pg_dr_repositories';

CREATE VIEW dr_repositories AS
	SELECT * FROM pgdr._repositories();
COMMENT ON VIEW dr_repositories IS
	'every configured repository: required or not, state (ok, catching up, unreachable, error), newest backup and WAL, lag behind the others, last error';

-- repo: NULL checks every configured repository (a row each), N only
-- repository N; the result's repo column (last, after the columns of
-- earlier releases) is the repository of the row
CREATE FUNCTION dr_wal_verify(
	OUT ok boolean, OUT first_segment text, OUT last_segment text,
	OUT segments_checked bigint, OUT problems text[],
	INOUT repo integer DEFAULT NULL)
RETURNS SETOF record
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'dr_wal_verify';
COMMENT ON FUNCTION dr_wal_verify(integer) IS
	'check that the WAL archive of each repository (repo => N: of repository N) is continuous from the oldest backup to the newest segment, decode every segment, and (with several) that none lacks segments another holds';

------------------------------------------------------------------------------
-- Point-in-time recovery: restore points (scheduled by the worker every
-- pg_dr.pitr_interval, or on demand) and the WAL switches the worker makes to
-- keep the archive within the tier's RPO; the recoverable window.
------------------------------------------------------------------------------
CREATE TABLE pgdr.pitr_events (
	id			bigserial PRIMARY KEY,
	at			timestamptz NOT NULL DEFAULT clock_timestamp(),
	kind		text NOT NULL CHECK (kind IN ('restore-point', 'wal-switch')),
	name		text,
	lsn			pg_lsn NOT NULL,
	timeline	integer NOT NULL,
	origin		text NOT NULL CHECK (origin IN ('scheduled', 'manual', 'rpo')),
	reason		text,
	CHECK ((kind = 'restore-point') = (name IS NOT NULL))
);
CREATE UNIQUE INDEX pitr_events_restore_point_name
	ON pgdr.pitr_events (name) WHERE kind = 'restore-point';

CREATE VIEW dr_restore_points AS
	SELECT name, lsn, timeline, at AS created_at, origin
	  FROM pgdr.pitr_events
	 WHERE kind = 'restore-point'
	 ORDER BY at;
COMMENT ON VIEW dr_restore_points IS
	'named restore points: scheduled (pg_dr.pitr_interval, or the schedule policy''s restore_point_interval while pg_dr.schedule is on) and manual (dr_restore_point)';

CREATE FUNCTION dr_declare_primary()
RETURNS boolean
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'dr_declare_primary';
COMMENT ON FUNCTION dr_declare_primary() IS
	'declare this restored cluster the primary of the repository it was restored from: pg_dr may archive, back up and expire there again';

CREATE FUNCTION dr_restore_point(name text)
RETURNS pg_lsn
LANGUAGE C VOLATILE STRICT
AS 'MODULE_PATHNAME', 'dr_restore_point';
COMMENT ON FUNCTION dr_restore_point(text) IS
	'create a named restore point now and record it; returns its LSN';

-- the backups the repository holds now (a listing, no manifest read): the
-- catalog does not see what `pg_dr expire` removed until dr_repository_sync()
CREATE FUNCTION pgdr._repository_backups(OUT backup_id text)
RETURNS SETOF text
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'pg_dr_repository_backups';

/*
 * The recoverable window per timeline: from the end of the oldest usable
 * backup to the newest instant the archive provably covers -- the newest
 * restore point or RPO WAL switch whose WAL is archived (pg_stat_archiver;
 * an event's time is taken before its WAL record, so every commit before
 * it is in WAL the archive holds), or the newest backup's end if that is
 * later.  Only backups the repository still
 * holds count.  The newest archived file may be a backup history file
 * ("<segment>.<offset>.backup"): its segment, archived before it, is then
 * the newest segment known to be archived.
 */
CREATE VIEW dr_pitr_window AS
	WITH present AS (
		SELECT b.* FROM pgdr.backups b
		 WHERE b.backup_id OPERATOR(pg_catalog.=) ANY
			   (SELECT r.backup_id FROM pgdr._repository_backups() r)),
	archived AS (
		SELECT ('x' || substr(w, 1, 8))::bit(32)::bigint AS tli,
			   '0/0'::pg_lsn
			   + (('x' || substr(w, 9, 8))::bit(32)::bigint * 4294967296::numeric
				  + (('x' || substr(w, 17, 8))::bit(32)::bigint + 1)
					* (SELECT setting::numeric FROM pg_catalog.pg_settings
						WHERE name = 'wal_segment_size')) AS end_lsn,
			   at
		  FROM (SELECT last_archived_wal AS w, last_archived_time AS at
				  FROM pg_catalog.pg_stat_archiver
				 WHERE last_archived_wal ~ '^[0-9A-F]{24}(\.[0-9A-F]{8}\.backup)?$') s),
	timelines AS (
		SELECT timeline FROM present WHERE status <> 'damaged'
		UNION SELECT timeline FROM pgdr.pitr_events)
	SELECT t.timeline,
		   (SELECT min(b.finished_at) FROM present b
			 WHERE b.timeline <= t.timeline AND b.status <> 'damaged') AS earliest,
		   greatest(
			   (SELECT max(b.finished_at) FROM present b
				 WHERE b.timeline = t.timeline AND b.status <> 'damaged'),
			   (SELECT max(e.at) FROM pgdr.pitr_events e, archived a
				 WHERE e.timeline = t.timeline
				   AND (a.tli > t.timeline OR (a.tli = t.timeline AND e.lsn <= a.end_lsn))))
			   AS latest,
		   (SELECT a.end_lsn FROM archived a WHERE a.tli = t.timeline) AS archived_to_lsn
	  FROM timelines t
	 ORDER BY t.timeline;
COMMENT ON VIEW dr_pitr_window IS
	'per timeline: the earliest and latest instant a restore can reach';

------------------------------------------------------------------------------
-- High availability: the registry of the cluster's nodes (docs/ha.md).  What
-- a node is doing (role, LSNs, health) will be observed by the lag watcher;
-- until it exists dr_nodes says "unknown" and why.
------------------------------------------------------------------------------
CREATE TABLE pgdr.nodes (
	name		text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.-]{1,63}$'),
	conninfo	text NOT NULL,		-- may hold a password: owner only
	priority	integer NOT NULL CHECK (priority BETWEEN 0 AND 1000),
	location	text,
	registered_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- What this node's HA worker last observed of every registered node
-- (src/ha/ha_state.c, from shared memory; empty when the worker does not
-- run here).  The functions peers' HA workers call (ha_peer_status,
-- ha_vote) are granted to dr_ha_peer only, not to dr_admin: what they
-- record (a peer's contact, a vote) decides who may be primary, so only
-- the user of the nodes' conninfo may call them, and that user must be a
-- member of dr_ha_peer (or a superuser, which a fenced node requires).
CREATE FUNCTION pgdr.ha_observed(OUT name text, OUT role text, OUT timeline integer,
								 OUT received_lsn pg_lsn, OUT replayed_lsn pg_lsn,
								 OUT flushed_lsn pg_lsn, OUT health text,
								 OUT last_seen timestamptz, OUT reason text)
RETURNS SETOF record
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'pg_dr_ha_observed';
CREATE FUNCTION pgdr.ha_peer_status(caller text, OUT node text, OUT role text,
									OUT timeline integer, OUT received_lsn pg_lsn,
									OUT replayed_lsn pg_lsn, OUT flushed_lsn pg_lsn,
									OUT term bigint, OUT voted_term bigint,
									OUT upstream text, OUT sync_num integer,
									OUT sync_names text)
RETURNS record
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'pg_dr_ha_peer_status';
CREATE FUNCTION pgdr.ha_vote(term bigint, candidate text, candidate_lsn pg_lsn,
							 pre boolean DEFAULT false,
							 OUT granted boolean, OUT reason text)
RETURNS record
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'pg_dr_ha_vote';

CREATE VIEW dr_nodes AS
	SELECT n.name,
		   COALESCE(o.role, 'unknown') AS role,
		   o.timeline,
		   o.received_lsn,
		   o.replayed_lsn,
		   o.flushed_lsn,
		   n.priority,
		   n.location,
		   COALESCE(o.health, 'unknown') AS health,
		   o.last_seen,
		   n.registered_at,
		   COALESCE(o.reason,
					'not observed: no HA worker runs on this node (ha_* settings, docs/ha.md)') AS reason
	  FROM pgdr.nodes n
	  LEFT JOIN pgdr.ha_observed() o ON o.name OPERATOR(pg_catalog.=) n.name
	 ORDER BY n.name;
COMMENT ON VIEW dr_nodes IS
	'the registered nodes of the HA cluster, with the role, LSNs and health this node''s HA worker last observed';

-- Every transition of automatic failover (src/ha/ha_worker.c), written by
-- the HA worker of the node it happened on once that node can write;
-- audited by its trigger.
CREATE TABLE pgdr.ha_events (
	id			bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at			timestamptz NOT NULL,
	node		text NOT NULL,
	action		text NOT NULL,
	term		bigint NOT NULL,
	reason		text NOT NULL,
	duration_ms	bigint
);
-- audited as dr_objectives' changes are (the same trigger, named for what
-- the user sees: dr_failover_history)
CREATE TRIGGER ha_events_audit
	AFTER INSERT OR UPDATE OR DELETE ON pgdr.ha_events
	FOR EACH ROW EXECUTE FUNCTION pgdr.objectives_audit('dr_failover_history');
ALTER TABLE pgdr.ha_events ENABLE ALWAYS TRIGGER ha_events_audit;

CREATE FUNCTION dr_failover(target text, force boolean DEFAULT false)
RETURNS text
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'dr_failover';
COMMENT ON FUNCTION dr_failover(text, boolean) IS
	'promote target, the standby this runs on, when the primary is down: refused while the primary answers and for a stale target unless force; the licence (leader key or majority) is taken as for an automatic failover';

CREATE VIEW dr_failover_history AS
	SELECT e.at AS promoted_at, e.node AS new_primary, e.term,
		   e.duration_ms, e.reason,
		   CASE WHEN e.action OPERATOR(pg_catalog.=) 'switchover' THEN 'switchover'
				ELSE 'failover' END AS kind
	  FROM pgdr.ha_events e
	 WHERE e.action OPERATOR(pg_catalog.=) ANY (ARRAY['promote', 'switchover'])
	 ORDER BY e.at;
COMMENT ON VIEW dr_failover_history IS
	'failovers (automatic or dr_failover: the time from the last contact with the old primary to the end of the promotion) and switchovers (dr_switchover: the time from the call to the end of the promotion): when, which node, its term';

-- A planned switchover (src/ha/ha_switchover.c, docs/ha.md): run on the
-- primary; the pgdr.ha_switchover_* functions are what it and the
-- pg_dr switchover process it starts call on the other nodes.
CREATE FUNCTION dr_switchover(target text, timeout interval DEFAULT '30 s')
RETURNS text
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'dr_switchover';
COMMENT ON FUNCTION dr_switchover(text, interval) IS
	'planned switchover to the standby target, no data lost: holds client writes, waits (at most timeout) until target replayed them, hands off to pg_dr switchover, which stops this server, promotes target and starts this server as its standby';
CREATE FUNCTION pgdr.ha_switchover_grant(term bigint, candidate text, from_primary text,
										 OUT granted boolean, OUT reason text)
RETURNS record
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'pg_dr_ha_switchover_grant';
CREATE FUNCTION pgdr.ha_switchover_promote(old_primary text, term bigint, stop_lsn pg_lsn)
RETURNS text
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'pg_dr_ha_switchover_promote';
CREATE FUNCTION pgdr.ha_switchover_record(old_primary text, term bigint,
										  duration_ms bigint, detail text)
RETURNS void
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'dr_switchover_record';

CREATE FUNCTION dr_node_register(name text, conninfo text,
								 priority integer DEFAULT 100, location text DEFAULT NULL,
								 verify boolean DEFAULT true)
RETURNS void
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'dr_node_register';
COMMENT ON FUNCTION dr_node_register(text, text, integer, text, boolean) IS
	'register a node of the HA cluster: its name (ha_node_name), how peers reach it, its priority as a failover candidate (0: never), where it is; verify => false registers a node that does not answer yet';

CREATE FUNCTION dr_node_unregister(name text)
RETURNS void
LANGUAGE C VOLATILE STRICT
AS 'MODULE_PATHNAME', 'dr_node_unregister';
COMMENT ON FUNCTION dr_node_unregister(text) IS
	'remove a node from the HA cluster''s registry';

-- Rejoin (docs/ha.md): a running primary cannot make itself a standby in
-- PostgreSQL 15; dr_rejoin() checks and says the exact commands, pg_dr
-- rejoin does it and records it with dr_rejoin_record() on the new primary.
CREATE FUNCTION dr_rejoin()
RETURNS text
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'dr_rejoin';
COMMENT ON FUNCTION dr_rejoin() IS
	'rejoin this node as a standby of the new primary: on a running primary, refuses with the pg_dr rejoin command to run once it is stopped';

CREATE FUNCTION dr_rejoin_record(node text, outcome text, detail text)
RETURNS void
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'dr_rejoin_record';
COMMENT ON FUNCTION dr_rejoin_record(text, text, text) IS
	'record in the audit trail a rejoin done by pg_dr rejoin (called by it on the new primary)';
-- Alerts (src/ops/alert*.c is their only writer; docs/alerts.md).
------------------------------------------------------------------------------
-- One row per alert; at most one open (not resolved) per source and key:
-- raising it again updates it, resolving closes it.
CREATE TABLE pgdr.alerts (
	id				bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	severity		text NOT NULL
		CHECK (severity IN ('info', 'warning', 'critical')),
	source			text NOT NULL
		CHECK (source IN ('archive', 'backup', 'repository', 'verify', 'audit',
						  'ha', 'schedule', 'objectives')),
	key				text NOT NULL CHECK (key <> ''),
	message			text NOT NULL,
	value			double precision,
	threshold		double precision,
	raised_at		timestamptz NOT NULL,
	updated_at		timestamptz NOT NULL,
	acknowledged_at	timestamptz,
	acknowledged_by	name,
	resolved_at		timestamptz,
	escalated_at	timestamptz
);
CREATE UNIQUE INDEX alerts_open_key ON pgdr.alerts (source, key)
	WHERE resolved_at IS NULL;

-- What the webhook duty sends: one row per event of an alert (raised,
-- acknowledged, resolved, escalated), its JSON body fixed when it happened.
CREATE TABLE pgdr.alert_events (
	id				bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	alert_id		bigint NOT NULL REFERENCES pgdr.alerts (id),
	event			text NOT NULL
		CHECK (event IN ('raised', 'acknowledged', 'resolved', 'escalated')),
	severity		text NOT NULL
		CHECK (severity IN ('info', 'warning', 'critical')),
	payload			jsonb NOT NULL,
	created_at		timestamptz NOT NULL,
	state			text NOT NULL DEFAULT 'pending'
		CHECK (state IN ('pending', 'sent', 'failed', 'skipped')),
	attempts		integer NOT NULL DEFAULT 0,
	next_attempt_at	timestamptz NOT NULL,
	done_at			timestamptz,
	last_error		text
);
CREATE INDEX alert_events_pending ON pgdr.alert_events (next_attempt_at)
	WHERE state = 'pending';

CREATE VIEW dr_alerts AS
	SELECT a.id, a.severity, a.source, a.key, a.message, a.value, a.threshold,
		   CASE WHEN a.resolved_at IS NOT NULL THEN 'resolved'
				WHEN a.acknowledged_at IS NOT NULL THEN 'acknowledged'
				ELSE 'open' END AS state,
		   a.raised_at, a.updated_at, a.acknowledged_at, a.acknowledged_by,
		   a.resolved_at, a.escalated_at
	  FROM pgdr.alerts a;
COMMENT ON VIEW dr_alerts IS
	'every alert of every part: open, acknowledged or resolved (docs/alerts.md)';

CREATE FUNCTION dr_alert_ack(id bigint)
RETURNS timestamptz
LANGUAGE C STRICT VOLATILE
AS 'MODULE_PATHNAME', 'dr_alert_ack';
COMMENT ON FUNCTION dr_alert_ack(bigint) IS
	'acknowledge an open alert: it no longer escalates (audited)';

------------------------------------------------------------------------------
-- Objectives measured against reality (src/ops/objectives*.c; docs/sql.md).
------------------------------------------------------------------------------
-- Restore and replay rates measured on this host: dr_restore() records a
-- restore; a cluster restored from a pg_dr backup records its replay when
-- its recovery ends.  The newest 100 of each kind are kept.
CREATE TABLE pgdr.rate_samples (
	id				bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kind			text NOT NULL CHECK (kind IN ('restore', 'replay')),
	measured_at		timestamptz NOT NULL,
	bytes			bigint NOT NULL CHECK (bytes > 0),
	seconds			float8 NOT NULL CHECK (seconds > 0),
	source			text NOT NULL
);
CREATE INDEX rate_samples_kind ON pgdr.rate_samples (kind, measured_at);

CREATE VIEW dr_rate_samples AS
	SELECT kind, measured_at, bytes, seconds,
		   bytes / seconds AS bytes_per_second, source
	  FROM pgdr.rate_samples
	 ORDER BY measured_at;
COMMENT ON VIEW dr_rate_samples IS
	'restore and replay rates measured on this host, behind dr_status.rto_estimate';

-- What dr_status said, sampled by the worker every
-- pg_dr.objectives_sample_interval; bounded by age and count.
CREATE TABLE pgdr.objectives_history (
	id				bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	sampled_at		timestamptz NOT NULL,
	sample_interval	interval NOT NULL,
	tier			text NOT NULL,
	rpo_target		interval,
	rto_target		interval,
	rpo_actual		interval,
	rto_estimate	interval,
	restore_rate_measured boolean NOT NULL,
	replay_rate_measured boolean NOT NULL,
	newest_backup	text,
	newest_backup_age interval,
	archive_health	text NOT NULL,
	archive_pending	bigint NOT NULL,
	open_alerts		integer NOT NULL,
	verdict			text NOT NULL CHECK (verdict IN ('ok', 'at_risk', 'breached')),
	verdict_reason	text
);
CREATE INDEX objectives_history_sampled_at ON pgdr.objectives_history (sampled_at);

CREATE VIEW dr_objectives_history AS
	SELECT sampled_at, sample_interval, tier, rpo_target, rto_target,
		   rpo_actual, rto_estimate, restore_rate_measured, replay_rate_measured,
		   newest_backup, newest_backup_age, archive_health, archive_pending,
		   open_alerts, verdict, verdict_reason
	  FROM pgdr.objectives_history
	 ORDER BY sampled_at;
COMMENT ON VIEW dr_objectives_history IS
	'dr_status''s objectives figures and verdict, sampled by the worker (pg_dr.objectives_sample_interval)';

CREATE FUNCTION dr_availability("from" timestamptz, "to" timestamptz,
	OUT period interval, OUT samples bigint,
	OUT sampled interval, OUT unknown interval,
	OUT ok interval, OUT at_risk interval, OUT breached interval,
	OUT availability float8, OUT availability_target numeric,
	OUT availability_met boolean,
	OUT rpo_compliance float8, OUT rto_compliance float8)
RETURNS record
LANGUAGE C STABLE
AS 'MODULE_PATHNAME', 'dr_availability';
COMMENT ON FUNCTION dr_availability(timestamptz, timestamptz) IS
	'achieved availability (percent of sampled time not breached) and RPO / RTO compliance over [from, to), from dr_objectives_history (docs/sql.md)';

------------------------------------------------------------------------------
-- Privileges.
------------------------------------------------------------------------------
REVOKE ALL ON ALL TABLES IN SCHEMA pgdr FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA pgdr FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA pgdr FROM PUBLIC;

-- Views are read with their owner's table privileges, but the functions
-- they call are checked against the reader.
GRANT EXECUTE ON FUNCTION pgdr._status(), pgdr._config(), pgdr._backup_progress()
	TO dr_monitor;
GRANT EXECUTE ON FUNCTION pgdr._archive_status() TO dr_monitor;
REVOKE ALL ON FUNCTION pgdr._progress() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgdr._progress() TO dr_monitor;
REVOKE ALL ON dr_progress FROM PUBLIC;
GRANT SELECT ON dr_progress TO dr_monitor;

REVOKE ALL ON dr_status, dr_config, dr_objectives, dr_audit, dr_backups,
	dr_backup_progress FROM PUBLIC;
GRANT SELECT ON dr_status, dr_config, dr_objectives, dr_audit, dr_backups,
	dr_backup_progress TO dr_monitor;
REVOKE ALL ON dr_archive_status FROM PUBLIC;
GRANT SELECT ON dr_archive_status TO dr_monitor;
REVOKE ALL ON FUNCTION dr_metrics() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dr_metrics() TO dr_monitor;
GRANT EXECUTE ON FUNCTION pgdr._repositories() TO dr_monitor;
GRANT EXECUTE ON FUNCTION pgdr._backup_repos(text) TO dr_monitor;
REVOKE ALL ON dr_repositories FROM PUBLIC;
GRANT SELECT ON dr_repositories TO dr_monitor;
GRANT UPDATE (rto, rpo, availability, retention_full, retention_full_days)
	ON dr_objectives TO dr_admin;
REVOKE ALL ON dr_objectives_history, dr_rate_samples FROM PUBLIC;
GRANT SELECT ON dr_objectives_history, dr_rate_samples TO dr_monitor;
REVOKE ALL ON FUNCTION dr_availability(timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dr_availability(timestamptz, timestamptz) TO dr_monitor;

REVOKE ALL ON FUNCTION dr_audit_verify(), dr_audit_expire(), dr_backup_full(text),
	dr_backup_incremental(text, text, boolean), dr_repository_sync(), dr_repository_create()
	FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dr_audit_verify(), dr_backup_full(text),
	dr_backup_incremental(text, text, boolean), dr_repository_sync() TO dr_operator;
GRANT EXECUTE ON FUNCTION dr_audit_expire(), dr_repository_create() TO dr_admin;
REVOKE ALL ON dr_restore_points, dr_pitr_window FROM PUBLIC;
GRANT SELECT ON dr_restore_points, dr_pitr_window TO dr_monitor;
GRANT EXECUTE ON FUNCTION pgdr._repository_backups() TO dr_monitor;
REVOKE ALL ON FUNCTION dr_restore_point(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dr_restore_point(text) TO dr_operator;
REVOKE ALL ON FUNCTION dr_backup_verify(text, integer),
	dr_restore(text, text, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dr_backup_verify(text, integer) TO dr_operator;
-- it writes where the server's OS user may write: administrators only
GRANT EXECUTE ON FUNCTION dr_restore(text, text, text, integer) TO dr_admin;
REVOKE ALL ON FUNCTION dr_wal_verify(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dr_wal_verify(integer) TO dr_operator;
-- it destroys backups: administrators only
REVOKE ALL ON FUNCTION dr_expire(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dr_expire(integer) TO dr_admin;
REVOKE ALL ON FUNCTION dr_backup_keep(text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dr_backup_keep(text, timestamptz) TO dr_admin;
-- it lets a restored cluster write into its source's repository
REVOKE ALL ON FUNCTION dr_declare_primary() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dr_declare_primary() TO dr_admin;

-- the registry of nodes: administrators change it, monitors read the view
REVOKE ALL ON dr_nodes FROM PUBLIC;
GRANT SELECT ON dr_nodes TO dr_monitor;
REVOKE ALL ON FUNCTION dr_node_register(text, text, integer, text, boolean),
	dr_node_unregister(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dr_node_register(text, text, integer, text, boolean),
	dr_node_unregister(text) TO dr_admin;
-- what peers' HA workers call; the observations and the history
REVOKE ALL ON FUNCTION pgdr.ha_peer_status(text), pgdr.ha_vote(bigint, text, pg_lsn, boolean),
	pgdr.ha_observed() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgdr.ha_peer_status(text), pgdr.ha_vote(bigint, text, pg_lsn, boolean)
	TO dr_ha_peer;
GRANT USAGE ON SCHEMA pgdr TO dr_ha_peer;
-- dr_nodes calls it as its reader (a view checks functions as the caller)
GRANT EXECUTE ON FUNCTION pgdr.ha_observed() TO dr_monitor;
REVOKE ALL ON FUNCTION dr_failover(text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dr_failover(text, boolean) TO dr_admin;
REVOKE ALL ON dr_failover_history FROM PUBLIC;
GRANT SELECT ON dr_failover_history TO dr_monitor;
REVOKE ALL ON FUNCTION dr_rejoin(), dr_rejoin_record(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dr_rejoin(), dr_rejoin_record(text, text, text) TO dr_admin;
REVOKE ALL ON FUNCTION dr_switchover(text, interval),
	pgdr.ha_switchover_grant(bigint, text, text),
	pgdr.ha_switchover_promote(text, bigint, pg_lsn),
	pgdr.ha_switchover_record(text, bigint, bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dr_switchover(text, interval) TO dr_admin;
-- what the switching primary and pg_dr switchover call on the other nodes
-- (through their registered conninfo): peers' business, as ha_vote
GRANT EXECUTE ON FUNCTION pgdr.ha_switchover_grant(bigint, text, text),
	pgdr.ha_switchover_promote(text, bigint, pg_lsn),
	pgdr.ha_switchover_record(text, bigint, bigint, text) TO dr_ha_peer;

-- pg_dump keeps the audit trail and edited objectives with the database.
SELECT pg_catalog.pg_extension_config_dump('pgdr.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('pgdr.audit_anchor', '');
SELECT pg_catalog.pg_extension_config_dump('pgdr.audit_log_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pgdr.objectives', '');
SELECT pg_catalog.pg_extension_config_dump('pgdr.backups', '');
SELECT pg_catalog.pg_extension_config_dump('pgdr.pitr_events', '');
SELECT pg_catalog.pg_extension_config_dump('pgdr.pitr_events_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pgdr.nodes', '');
SELECT pg_catalog.pg_extension_config_dump('pgdr.ha_events', '');

-- Alerts: read by monitors, acknowledged by operators.
REVOKE ALL ON dr_alerts FROM PUBLIC;
GRANT SELECT ON dr_alerts TO dr_monitor;
REVOKE ALL ON FUNCTION dr_alert_ack(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dr_alert_ack(bigint) TO dr_operator;
SELECT pg_catalog.pg_extension_config_dump('pgdr.alerts', '');
SELECT pg_catalog.pg_extension_config_dump('pgdr.alert_events', '');

------------------------------------------------------------------------------
-- The lag watcher (src/ha/ha_watch.h, docs/ha.md): replication now, from
-- shared memory, and its history, written by the primary's watcher.
------------------------------------------------------------------------------
CREATE FUNCTION pgdr._replication(
	OUT node text, OUT role text, OUT standby text, OUT address text,
	OUT state text, OUT sync_state text,
	OUT sent_lsn pg_lsn, OUT received_lsn pg_lsn, OUT write_lsn pg_lsn,
	OUT flush_lsn pg_lsn, OUT replay_lsn pg_lsn,
	OUT write_lag_bytes bigint, OUT flush_lag_bytes bigint,
	OUT replay_lag_bytes bigint,
	OUT write_lag interval, OUT flush_lag interval, OUT replay_lag interval,
	OUT replay_delay interval, OUT replay_pause_state text,
	OUT replay_paused boolean, OUT replay_timestamp_lag interval,
	OUT sampled_at timestamptz)
RETURNS SETOF record
LANGUAGE C STABLE
AS 'MODULE_PATHNAME', 'pg_dr_replication';

CREATE VIEW dr_replication AS
	SELECT * FROM pgdr._replication();
COMMENT ON VIEW dr_replication IS
	'replication now, as the lag watcher last sampled it: on a primary one row per standby, on a standby one row about itself';

CREATE TABLE pgdr.replication_history (
	id				bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	sampled_at		timestamptz NOT NULL,
	node			text NOT NULL,		-- the primary that wrote it
	standby			text NOT NULL,
	client_addr		text,
	state			text NOT NULL,		-- walsender state, or 'missing'
	sync_state		text,
	sent_lsn		pg_lsn,
	write_lsn		pg_lsn,
	flush_lsn		pg_lsn,
	replay_lsn		pg_lsn,
	write_lag_bytes	bigint,
	flush_lag_bytes	bigint,
	replay_lag_bytes bigint,
	write_lag		interval,
	flush_lag		interval,
	replay_lag		interval,
	replay_delay	interval,
	worst_replay_lag_bytes bigint,		-- the worst sample since the row before
	worst_replay_delay interval
);
CREATE INDEX replication_history_sampled_at
	ON pgdr.replication_history (sampled_at);

CREATE VIEW dr_replication_history AS
	SELECT h.id, h.sampled_at, h.node, h.standby, h.client_addr, h.state,
		   h.sync_state, h.sent_lsn, h.write_lsn, h.flush_lsn, h.replay_lsn,
		   h.write_lag_bytes, h.flush_lag_bytes, h.replay_lag_bytes,
		   h.write_lag, h.flush_lag, h.replay_lag, h.replay_delay,
		   h.worst_replay_lag_bytes, h.worst_replay_delay
	  FROM pgdr.replication_history h;
COMMENT ON VIEW dr_replication_history IS
	'what the primary''s lag watcher recorded per standby every ha_watch_history_interval (bounded by ha_watch_history_keep rows and 30 days)';

REVOKE ALL ON FUNCTION pgdr._replication() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgdr._replication() TO dr_monitor;
REVOKE ALL ON dr_replication, dr_replication_history FROM PUBLIC;
GRANT SELECT ON dr_replication, dr_replication_history TO dr_monitor;
REVOKE ALL ON pgdr.replication_history FROM PUBLIC;
-- The scheduler (docs/scheduling.md): a policy per tier, every backup job
-- (scheduled by the worker when pg_dr.schedule = on, or manual: a call of
-- dr_backup_full/dr_backup_incremental, pg_cron's included), and what the
-- scheduler decided last.
------------------------------------------------------------------------------
CREATE TABLE pgdr.schedule_policies (
	tier			text PRIMARY KEY
				CHECK (tier IN ('critical', 'high', 'medium', 'low')),
	full_at			time,		-- NULL: every full_interval after the newest full
	full_interval	interval NOT NULL,
	incremental_interval interval NOT NULL,
	incremental_min_interval interval NOT NULL,
	chain_max_length integer NOT NULL,
	chain_max_bytes	bigint NOT NULL,
	changed_fraction_max double precision NOT NULL,
	busy_backends	integer NOT NULL,
	busy_load		double precision NOT NULL,
	defer_max		interval NOT NULL,
	retry_base		interval NOT NULL,
	retry_max		interval NOT NULL,
	-- the PITR duty's scheduled restore points while pg_dr.schedule is on
	-- (off: pg_dr.pitr_interval); 0: none
	restore_point_interval interval NOT NULL,
	-- a backstop: dr_schedule_policy_set() checks the bounds with clear errors
	CHECK (full_interval >= interval '1 minute' AND incremental_interval >= interval '10 seconds'
		   AND incremental_min_interval >= interval '10 seconds'
		   AND incremental_min_interval <= incremental_interval
		   AND chain_max_length >= 0 AND chain_max_bytes >= 0
		   AND changed_fraction_max >= 0 AND busy_backends >= 0 AND busy_load >= 0
		   AND defer_max >= interval '0' AND retry_base >= interval '1 second'
		   AND retry_max >= retry_base
		   AND (restore_point_interval = interval '0'
				OR restore_point_interval BETWEEN interval '10 seconds' AND interval '7 days'))
);
COMMENT ON TABLE pgdr.schedule_policies IS
	'the scheduler''s policy per tier (edited with dr_schedule_policy_set, audited)';

-- the seed's policy: a full daily at 02:00, an incremental every 6 hours;
-- a restore point every 15 minutes for critical (the seed's), and for the
-- others at most half their RPO: high 30 min, medium 1 h, low 6 h
INSERT INTO pgdr.schedule_policies
	SELECT tier, time '02:00', interval '1 day', interval '6 hours',
		   interval '15 minutes', 8, 0, 0.5, 0, 0, interval '2 hours',
		   interval '1 minute', interval '1 hour',
		   CASE tier WHEN 'critical' THEN interval '15 minutes'
					 WHEN 'high' THEN interval '30 minutes'
					 WHEN 'medium' THEN interval '1 hour'
					 ELSE interval '6 hours' END
	  FROM pgdr.objectives;

-- audited as the objectives are (the trigger's argument names the view)
CREATE TRIGGER schedule_policies_audit
	AFTER INSERT OR UPDATE OR DELETE ON pgdr.schedule_policies
	FOR EACH ROW EXECUTE FUNCTION pgdr.objectives_audit('dr_schedule_policies');
CREATE TRIGGER schedule_policies_no_truncate
	BEFORE TRUNCATE ON pgdr.schedule_policies
	FOR EACH STATEMENT EXECUTE FUNCTION pgdr.audit_guard();
ALTER TABLE pgdr.schedule_policies ENABLE ALWAYS TRIGGER schedule_policies_audit;
ALTER TABLE pgdr.schedule_policies ENABLE ALWAYS TRIGGER schedule_policies_no_truncate;

CREATE VIEW dr_schedule_policies AS
	SELECT p.*, p.tier = pg_catalog.current_setting('pg_dr.tier') AS current
	  FROM pgdr.schedule_policies p JOIN pgdr.objectives o USING (tier)
	 ORDER BY o.rto;
COMMENT ON VIEW dr_schedule_policies IS
	'the scheduler''s policy per tier; "current" marks the tier set by pg_dr.tier';

/*
 * Change one setting of a tier's policy.  Every bad input is refused with
 * SQLSTATE 22023 and the policy left as it was.  SECURITY DEFINER: the
 * table is the owner's; the audit record names the session user.
 */
CREATE FUNCTION dr_schedule_policy_set(tier text, setting text, value text)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p			pgdr.schedule_policies;
	iv			interval;
	n			bigint;
	f			double precision;
	bad			text;
BEGIN
	IF tier IS NULL OR setting IS NULL THEN
		RAISE EXCEPTION 'tier and setting must not be NULL'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT * INTO p FROM pgdr.schedule_policies s
	 WHERE s.tier OPERATOR(pg_catalog.=) dr_schedule_policy_set.tier FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown tier "%"', tier
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'The tiers are critical, high, medium and low (dr_schedule_policies).';
	END IF;
	IF value IS NULL AND setting OPERATOR(pg_catalog.<>) 'full_at' THEN
		RAISE EXCEPTION 'the value of % must not be NULL', setting
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Only full_at takes NULL (a full backup every full_interval after the newest full one); 0 turns a bound or threshold off.';
	END IF;
	BEGIN
		CASE setting
		WHEN 'full_at' THEN
			p.full_at := value::time;
		WHEN 'full_interval', 'incremental_interval', 'incremental_min_interval',
			 'defer_max', 'retry_base', 'retry_max', 'restore_point_interval' THEN
			iv := value::interval;
		WHEN 'chain_max_length', 'chain_max_bytes', 'busy_backends' THEN
			n := value::bigint;
		WHEN 'changed_fraction_max', 'busy_load' THEN
			f := value::double precision;
		ELSE
			RAISE EXCEPTION 'unknown schedule setting "%"', setting
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'The settings are the columns of dr_schedule_policies but tier and current.';
		END CASE;
	EXCEPTION
		WHEN invalid_datetime_format OR invalid_text_representation
			 OR numeric_value_out_of_range OR datetime_field_overflow
			 OR interval_field_overflow THEN
			RAISE EXCEPTION 'invalid value for %: "%"', setting, value
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'full_at is a time of day (''02:00''), the intervals are intervals (''6 hours''), the bounds and thresholds numbers.';
	END;

	CASE setting
	WHEN 'full_interval' THEN
		IF iv < interval '1 minute' OR iv > interval '366 days' THEN
			bad := 'from 1 minute to 366 days';
		END IF;
		p.full_interval := iv;
	WHEN 'incremental_interval' THEN
		IF iv < interval '10 seconds' OR iv > interval '31 days' THEN
			bad := 'from 10 seconds to 31 days';
		ELSIF iv < p.incremental_min_interval THEN
			bad := 'at least incremental_min_interval (' || p.incremental_min_interval || ')';
		END IF;
		p.incremental_interval := iv;
	WHEN 'incremental_min_interval' THEN
		IF iv < interval '10 seconds' OR iv > p.incremental_interval THEN
			bad := 'from 10 seconds to incremental_interval (' || p.incremental_interval || ')';
		END IF;
		p.incremental_min_interval := iv;
	WHEN 'defer_max' THEN
		IF iv < interval '0' OR iv > interval '7 days' THEN
			bad := 'from 0 (never defer) to 7 days';
		END IF;
		p.defer_max := iv;
	WHEN 'retry_base' THEN
		IF iv < interval '1 second' OR iv > p.retry_max THEN
			bad := 'from 1 second to retry_max (' || p.retry_max || ')';
		END IF;
		p.retry_base := iv;
	WHEN 'retry_max' THEN
		IF iv < p.retry_base OR iv > interval '7 days' THEN
			bad := 'from retry_base (' || p.retry_base || ') to 7 days';
		END IF;
		p.retry_max := iv;
	WHEN 'restore_point_interval' THEN
		IF iv <> interval '0' AND (iv < interval '10 seconds' OR iv > interval '7 days') THEN
			bad := '0 (no scheduled restore points) or from 10 seconds to 7 days';
		END IF;
		p.restore_point_interval := iv;
	WHEN 'chain_max_length' THEN
		IF n < 0 OR n > 1000 THEN
			bad := 'from 0 (no bound) to 1000';
		END IF;
		p.chain_max_length := n;
	WHEN 'chain_max_bytes' THEN
		IF n < 0 THEN
			bad := '0 (no bound) or more';
		END IF;
		p.chain_max_bytes := n;
	WHEN 'busy_backends' THEN
		IF n < 0 OR n > 100000 THEN
			bad := 'from 0 (off) to 100000';
		END IF;
		p.busy_backends := n;
	WHEN 'changed_fraction_max' THEN
		IF NOT (f >= 0 AND f <= 100) THEN
			bad := 'from 0 (no bound) to 100';
		END IF;
		p.changed_fraction_max := f;
	WHEN 'busy_load' THEN
		IF NOT (f >= 0 AND f <= 10000) THEN
			bad := 'from 0 (off) to 10000';
		END IF;
		p.busy_load := f;
	ELSE
		NULL;	-- full_at: any time of day, or NULL
	END CASE;
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION '% = % is out of range for tier %', setting, value, tier
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'It must be ' || bad || '; the policy is unchanged.';
	END IF;

	UPDATE pgdr.schedule_policies s SET
		full_at = p.full_at, full_interval = p.full_interval,
		incremental_interval = p.incremental_interval,
		incremental_min_interval = p.incremental_min_interval,
		chain_max_length = p.chain_max_length, chain_max_bytes = p.chain_max_bytes,
		changed_fraction_max = p.changed_fraction_max,
		busy_backends = p.busy_backends, busy_load = p.busy_load,
		defer_max = p.defer_max, retry_base = p.retry_base, retry_max = p.retry_max,
		restore_point_interval = p.restore_point_interval
	 WHERE s.tier OPERATOR(pg_catalog.=) p.tier;
END
$$;
COMMENT ON FUNCTION dr_schedule_policy_set(text, text, text) IS
	'change one setting of a tier''s schedule policy (audited); bad input is refused with SQLSTATE 22023';

CREATE TABLE pgdr.jobs (
	id				bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kind			text NOT NULL CHECK (kind IN ('full', 'incremental')),
	trigger			text NOT NULL CHECK (trigger IN ('scheduled', 'manual')),
	started_at		timestamptz NOT NULL,
	finished_at		timestamptz,
	result			text NOT NULL
		CHECK (result IN ('running', 'ok', 'failed', 'cancelled')),
	backup_id		text,
	bytes			bigint,		-- stored in the repository
	error			text,
	reason			text,		-- why the scheduler took it; a full taken instead
	attempt			integer,	-- scheduled: 1, or the retry's number + 1
	application_name text,		-- manual: the caller's (pg_cron: 'pg_cron')
	expired			text		-- scheduled: what the expiry after it did
);
CREATE INDEX jobs_trigger ON pgdr.jobs (trigger, id);

-- The rows the worker pruned from pgdr.jobs (pg_dr.jobs_retention), counted
-- by trigger, kind and result: pg_dr_jobs_total adds them, so that the
-- counter never goes down.
CREATE TABLE pgdr.jobs_pruned (
	trigger			text NOT NULL,
	kind			text NOT NULL,
	result			text NOT NULL,
	jobs			bigint NOT NULL,
	PRIMARY KEY (trigger, kind, result)
);

CREATE VIEW dr_jobs AS
	SELECT id, kind, trigger, started_at, finished_at,
		   finished_at - started_at AS duration, result, backup_id, bytes,
		   error, reason, attempt, application_name, expired
	  FROM pgdr.jobs
	 ORDER BY id;
COMMENT ON VIEW dr_jobs IS
	'every backup job: scheduled by the worker or manual (dr_backup_full, dr_backup_incremental, pg_cron), with its result';

CREATE FUNCTION pgdr._schedule(
	OUT enabled boolean, OUT tier text, OUT next_job text,
	OUT next_at timestamptz, OUT due_now boolean, OUT deferred boolean,
	OUT retry boolean, OUT required boolean,
	OUT incremental_interval interval, OUT wal_rate float8,
	OUT rto_estimate float8, OUT running_job bigint, OUT reason text,
	OUT decided_at timestamptz, OUT restore_point_interval interval,
	OUT restore_point_source text, OUT next_restore_point timestamptz)
RETURNS record
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'pg_dr_schedule';

CREATE VIEW dr_schedule AS
	SELECT * FROM pgdr._schedule();
COMMENT ON VIEW dr_schedule IS
	'the scheduler''s next job, when and why (as the worker last decided)';

CREATE FUNCTION dr_schedule_explain()
RETURNS text
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'dr_schedule_explain';
COMMENT ON FUNCTION dr_schedule_explain() IS
	'the scheduler''s reasoning in words: its inputs, each rule, the decision';

REVOKE ALL ON dr_schedule_policies, dr_jobs, dr_schedule FROM PUBLIC;
GRANT SELECT ON dr_schedule_policies, dr_jobs, dr_schedule TO dr_monitor;
REVOKE ALL ON FUNCTION pgdr._schedule(), dr_schedule_explain(),
	dr_schedule_policy_set(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgdr._schedule(), dr_schedule_explain() TO dr_monitor;
GRANT EXECUTE ON FUNCTION dr_schedule_policy_set(text, text, text) TO dr_admin;
REVOKE ALL ON pgdr.schedule_policies, pgdr.jobs, pgdr.jobs_pruned FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('pgdr.schedule_policies', '');
SELECT pg_catalog.pg_extension_config_dump('pgdr.jobs', '');
SELECT pg_catalog.pg_extension_config_dump('pgdr.jobs_pruned', '');
