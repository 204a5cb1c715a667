-- 005_audit_tamper: dr_audit_verify() names the first broken link whether a
-- row was altered or removed (with the append-only guard lifted, as only a
-- superuser could).
SELECT plan(8);

DO $$ BEGIN PERFORM dr_audit_verify() FROM generate_series(1, 4); END $$;
SELECT ok((SELECT ok FROM dr_audit_verify()), 'the chain verifies before tampering');

SELECT id AS victim FROM pgdr.audit_log ORDER BY id OFFSET 1 LIMIT 1 \gset

ALTER TABLE pgdr.audit_log DISABLE TRIGGER audit_log_append_only;
UPDATE pgdr.audit_log SET current_user_name = 'mallory' WHERE id = :victim;
ALTER TABLE pgdr.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;

SELECT is((SELECT ok FROM dr_audit_verify()), false, 'an altered row breaks the chain');
SELECT is((SELECT first_broken_id FROM dr_audit_verify()), :victim::bigint,
		  'dr_audit_verify() names the altered row');
SELECT matches((SELECT problem FROM dr_audit_verify()), 'altered after it was written',
			   'and says it was altered');

-- put it back: the chain verifies again
ALTER TABLE pgdr.audit_log DISABLE TRIGGER audit_log_append_only;
UPDATE pgdr.audit_log SET current_user_name = 'postgres' WHERE id = :victim;
ALTER TABLE pgdr.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;
SELECT ok((SELECT ok FROM dr_audit_verify()), 'restoring the row restores the chain');

-- remove a row from the middle
ALTER TABLE pgdr.audit_log DISABLE TRIGGER audit_log_append_only;
DELETE FROM pgdr.audit_log WHERE id = :victim;
ALTER TABLE pgdr.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;
SELECT is((SELECT first_broken_id FROM dr_audit_verify()),
		  (SELECT min(id) FROM pgdr.audit_log WHERE id > :victim),
		  'a removed row is found: the next row does not chain');
SELECT matches((SELECT problem FROM dr_audit_verify()), 'does not chain to the row before it',
			   'and the problem says so');
SELECT matches((SELECT string_agg(result, ',') FROM dr_audit
				 WHERE operation = 'dr_audit_verify' AND id > :victim), '^(ok,?)+$',
			   'verification runs themselves are recorded');

SELECT * FROM finish();
