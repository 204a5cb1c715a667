-- 002_objectives: the seed's tiers as data, editable within sane bounds.
SELECT tier, rto, rpo, availability, current FROM dr_objectives;
SHOW pg_dr.tier;

-- edits through the view
UPDATE dr_objectives SET rpo = interval '15 minutes' WHERE tier = 'critical';
SELECT tier, rpo FROM dr_objectives WHERE tier = 'critical';
SELECT rpo_target FROM dr_status;

-- bad values are refused with the constraint named
UPDATE dr_objectives SET rto = interval '-1 hour' WHERE tier = 'high';
UPDATE dr_objectives SET availability = 101 WHERE tier = 'low';
-- tiers are fixed: no new ones, and "current" is computed
INSERT INTO dr_objectives (tier, rto, rpo, availability) VALUES ('gold', '1h', '1m', 99);
UPDATE dr_objectives SET current = true WHERE tier = 'low';

-- the tier setting accepts only known tiers
SET pg_dr.tier = 'low';
ALTER SYSTEM SET pg_dr.tier = 'platinum';

UPDATE dr_objectives SET rpo = interval '30 minutes' WHERE tier = 'critical';
ALTER SYSTEM SET pg_dr.audit_retention = '1h';
