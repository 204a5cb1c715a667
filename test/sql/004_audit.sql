-- 004_audit: every operation leaves a row; the trail refuses changes.
SELECT count(*) AS before FROM dr_audit \gset
SELECT ok, rows_checked >= 0 AS checked, first_broken_id, problem FROM dr_audit_verify();
SELECT count(*) - :before AS new_rows FROM dr_audit;
SELECT operation, result, arguments, sqlstate, error, current_user_name
  FROM dr_audit ORDER BY id DESC LIMIT 1;

UPDATE pgdr.audit_log SET operation = 'x';
DELETE FROM pgdr.audit_log;
TRUNCATE pgdr.audit_log;
SELECT dr_audit_expire();

-- internal functions are not for direct use
SELECT pgdr.audit_guard();
