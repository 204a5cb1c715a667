-- 003_audit_trail: operations are recorded with who, when, what, result and
-- error; the trail is append-only even for its owner; expiry removes only
-- rows older than the retention and keeps the chain verifiable.
-- No enclosing transaction: audit rows are committed by the pg_dr worker,
-- and the checks below must see them.
SELECT plan(25);

CREATE ROLE dr_t_op LOGIN IN ROLE dr_operator;
SET ROLE dr_t_op;
SELECT ok((SELECT ok FROM dr_audit_verify()), 'dr_audit_verify() as an operator');
RESET ROLE;

SELECT is((SELECT row(operation, result, session_user_name, current_user_name,
					   arguments, sqlstate, error)::text
			 FROM dr_audit ORDER BY id DESC LIMIT 1),
		  row('dr_audit_verify', 'ok', 'postgres', 'dr_t_op', '{}'::jsonb,
			  NULL, NULL)::text,
		  'the operation was recorded with session and current user');
SELECT ok((SELECT finished_at >= started_at AND duration >= interval '0'
			 FROM dr_audit ORDER BY id DESC LIMIT 1),
		  'with start, finish and duration');
SELECT is((SELECT backend_pid FROM dr_audit ORDER BY id DESC LIMIT 1), pg_backend_pid(),
		  'and the backend that ran it');

-- append-only, even for a superuser and with replication-role tricks
SELECT throws_ok('UPDATE pgdr.audit_log SET result = ''error''', '42501',
				 'the pg_dr audit trail is append-only', 'UPDATE is refused to the owner');
SELECT throws_ok('DELETE FROM pgdr.audit_log', '42501',
				 'the pg_dr audit trail is append-only', 'DELETE is refused to the owner');
SELECT throws_ok('TRUNCATE pgdr.audit_log', '42501',
				 'the pg_dr audit trail is append-only', 'TRUNCATE is refused to the owner');
SET session_replication_role = replica;
SELECT throws_ok('DELETE FROM pgdr.audit_log', '42501', NULL,
				 'DELETE is refused with session_replication_role = replica');
RESET session_replication_role;

-- the notes of changes are their trigger's and the worker's alone
SELECT throws_ok($$INSERT INTO pgdr.audit_pending (noted_at, session_user_name,
				 current_user_name, backend_pid, operation, arguments)
				 VALUES (now(), 'postgres', 'postgres', 1, 'dr_objectives', '{}')$$, '42501',
				 'the pg_dr audit trail is append-only',
				 'a forged change note is refused to the owner');
SELECT throws_ok('TRUNCATE pgdr.audit_pending', '42501',
				 'the pg_dr audit trail is append-only',
				 'TRUNCATE of the change notes is refused to the owner');
SELECT throws_ok('TRUNCATE pgdr.objectives', '42501',
				 'the pg_dr audit trail is append-only',
				 'TRUNCATE of the objectives, which would go unaudited, is refused');

-- nothing is old enough to expire yet
SELECT is(dr_audit_expire(), 0::bigint, 'dr_audit_expire() removes nothing young');
SELECT is((SELECT row(operation, result, arguments->>'removed')::text
			 FROM dr_audit ORDER BY id DESC LIMIT 1),
		  row('dr_audit_expire', 'ok', '0')::text,
		  'expiry is itself recorded, with what it removed');

-- Make the first rows look eight years old, re-chaining them as the worker
-- would have written them then (the guard is lifted for the rewrite).
DO $$ BEGIN PERFORM dr_audit_verify() FROM generate_series(1, 3); END $$;
ALTER TABLE pgdr.audit_log DISABLE TRIGGER audit_log_append_only;
DO $$
DECLARE
	r pgdr.audit_log;
	prev bytea := '\x0000000000000000000000000000000000000000000000000000000000000000';
	n int := 0;
BEGIN
	FOR r IN SELECT * FROM pgdr.audit_log ORDER BY id LOOP
		n := n + 1;
		IF n <= 3 THEN
			r.started_at := r.started_at - interval '8 years';
			r.finished_at := r.finished_at - interval '8 years';
		END IF;
		r.prev_hash := prev;
		r.row_hash := pgdr.audit_digest(prev, r);
		UPDATE pgdr.audit_log SET started_at = r.started_at, finished_at = r.finished_at,
			   prev_hash = r.prev_hash, row_hash = r.row_hash WHERE id = r.id;
		prev := r.row_hash;
	END LOOP;
END
$$;
ALTER TABLE pgdr.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;
SELECT ok((SELECT ok FROM dr_audit_verify()), 'the rewritten history verifies');

SELECT is(dr_audit_expire(), 3::bigint, 'dr_audit_expire() removes the three old rows');
SELECT is((SELECT count(*) FROM pgdr.audit_log WHERE finished_at < now() - interval '7 years'),
		  0::bigint, 'no row older than the retention is left');
SELECT is((SELECT last_removed_id FROM pgdr.audit_anchor),
		  (SELECT min(id) - 1 FROM pgdr.audit_log), 'the anchor names the last removed row');
SELECT ok((SELECT ok FROM dr_audit_verify()), 'the chain still verifies from the anchor');
SELECT throws_ok('UPDATE pgdr.audit_anchor SET row_hash = ''\x00''', '42501', NULL,
				 'the anchor cannot be changed by hand');
SELECT ok((SELECT ok FROM dr_audit_verify()), 'and keeps verifying as rows are added');

-- retention cannot be lowered below a day
SELECT is((SELECT min_val || unit FROM pg_settings WHERE name = 'pg_dr.audit_retention'),
		  '1440min', 'audit retention cannot be set below one day');

-- a failed operation is recorded with its error
ALTER TABLE pgdr.audit_log DISABLE TRIGGER audit_log_append_only;
UPDATE pgdr.audit_log SET error = 'forged' WHERE id = (SELECT max(id) FROM pgdr.audit_log);
ALTER TABLE pgdr.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;
SELECT throws_ok('SELECT dr_audit_expire()', 'XX001', NULL,
				 'expiry refuses to run over a broken chain');
SELECT is((SELECT row(operation, result, sqlstate, error)::text
			 FROM dr_audit ORDER BY id DESC LIMIT 1),
		  row('dr_audit_expire', 'error', 'XX001',
			  'the pg_dr audit trail is broken; refusing to remove rows from it')::text,
		  'the failed operation was recorded with its SQLSTATE and message');
SELECT ok(NOT (SELECT ok FROM dr_audit_verify()), 'and the chain is still reported broken');

-- put the row back (004 starts from an intact chain)
ALTER TABLE pgdr.audit_log DISABLE TRIGGER audit_log_append_only;
UPDATE pgdr.audit_log SET error = NULL WHERE error = 'forged';
ALTER TABLE pgdr.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;
SELECT ok((SELECT ok FROM dr_audit_verify()), 'the repaired chain verifies again');

SELECT * FROM finish();
