/*-------------------------------------------------------------------------
 * objectives_duty.c
 *	  The worker's "objectives" duty: every pg_dr.objectives_sample_interval
 *	  it measures the objectives (objectivesMeasure), stores the sample in
 *	  pgdr.objectives_history (kept pg_dr.objectives_history_retention and
 *	  at most pg_dr.objectives_history_max rows), and raises or resolves the
 *	  objectives alerts (source "objectives", docs/alerts.md):
 *
 *	   rpo              warning past three quarters of the RPO target,
 *	                    critical past it; resolved when neither (left as
 *	                    it is while the RPO actual is unknown)
 *	   rto_estimate     warning while the RTO estimate passes the target
 *	   backup_overdue   warning while the newest valid backup is overdue,
 *	                    critical while there is no valid backup
 *	   archive_lagging  warning while the oldest WAL waiting for the
 *	                    archive is older than half the RPO target
 *
 * The alerts follow the verdict's findings (objectives_verdict.h): the
 * view computes the same verdict but never writes.  Not run in recovery.
 * The first round of a worker process also records the replay rate of a
 * recovery the server just finished (objectivesReplayRecord).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "ops/alert.h"
#include "ops/duty.h"
#include "ops/objectives.h"

#define OBJECTIVES_SOURCE	"objectives"

/* after a failed round, again after this long */
#define OBJECTIVES_RETRY_MS		(10 * 1000)

static TimestampTz objectivesLastRun = 0;

/* this worker process looked for a recovery to measure */
static bool objectivesReplayChecked = false;

/* The sample as a row of pgdr.objectives_history. */
static void
historyInsert(const ObjectivesMeasure *m)
{
	Oid			argtypes[16] = {TIMESTAMPTZOID, FLOAT8OID, TEXTOID, FLOAT8OID,
	FLOAT8OID, FLOAT8OID, FLOAT8OID, BOOLOID, BOOLOID, TEXTOID, FLOAT8OID,
	TEXTOID, INT8OID, INT4OID, TEXTOID, TEXTOID};
	Datum		args[16];
	char		nulls[16];
	int			rc;

	memset(nulls, ' ', sizeof(nulls));
	args[0] = TimestampTzGetDatum(m->now);
	args[1] = Float8GetDatum((double) drObjectivesSampleInterval);
	args[2] = CStringGetTextDatum(m->tier);
	args[3] = Float8GetDatum(m->input.rpoTargetSec);
	args[4] = Float8GetDatum(m->input.rtoTargetSec);
	if (!m->input.targetsKnown)
		nulls[3] = nulls[4] = 'n';
	args[5] = Float8GetDatum(m->input.rpoActualSec);
	if (!m->input.rpoKnown)
		nulls[5] = 'n';
	args[6] = Float8GetDatum(m->rto.totalSec);
	if (!m->input.backupExists)
		nulls[6] = 'n';
	args[7] = BoolGetDatum(m->rto.restoreRateMeasured);
	args[8] = BoolGetDatum(m->rto.replayRateMeasured);
	args[9] = CStringGetTextDatum(m->backupId);
	args[10] = Float8GetDatum(m->input.backupAgeSec);
	if (!m->input.backupExists)
		nulls[9] = nulls[10] = 'n';
	args[11] = CStringGetTextDatum(m->archiveHealth);
	args[12] = Int64GetDatum(m->archivePending);
	args[13] = Int32GetDatum(m->openAlerts);
	args[14] = CStringGetTextDatum(objectivesVerdictName(m->verdict.kind));
	args[15] = CStringGetTextDatum(m->verdict.reason);
	if (m->verdict.reason[0] == '\0')
		nulls[15] = 'n';

	rc = SPI_execute_with_args(
		"INSERT INTO pgdr.objectives_history (sampled_at, sample_interval, tier,"
		" rpo_target, rto_target, rpo_actual, rto_estimate, restore_rate_measured,"
		" replay_rate_measured, newest_backup, newest_backup_age, archive_health,"
		" archive_pending, open_alerts, verdict, verdict_reason) VALUES"
		" ($1, pg_catalog.make_interval(secs => $2), $3,"
		" pg_catalog.make_interval(secs => $4), pg_catalog.make_interval(secs => $5),"
		" pg_catalog.make_interval(secs => $6), pg_catalog.make_interval(secs => $7),"
		" $8, $9, $10, pg_catalog.make_interval(secs => $11), $12, $13, $14, $15, $16)",
		16, argtypes, args, nulls, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "could not insert into pgdr.objectives_history: %s",
			 SPI_result_code_string(rc));
}

/* Keep pg_dr.objectives_history_retention and at most _max rows. */
static void
historyBound(TimestampTz now)
{
	Oid			argtypes[2] = {TIMESTAMPTZOID, INT8OID};
	Datum		args[2];

	args[0] = TimestampTzGetDatum(now - (TimestampTz) drObjectivesHistoryRetention * USECS_PER_SEC);
	args[1] = Int64GetDatum((int64) drObjectivesHistoryMax);
	if (SPI_execute_with_args("DELETE FROM pgdr.objectives_history"
							  " WHERE sampled_at OPERATOR(pg_catalog.<) $1",
							  1, argtypes, args, NULL, false, 0) != SPI_OK_DELETE ||
		SPI_execute_with_args("DELETE FROM pgdr.objectives_history"
							  " WHERE id OPERATOR(pg_catalog.<=) (SELECT h.id FROM pgdr.objectives_history h"
							  "  ORDER BY h.id DESC OFFSET $2 LIMIT 1)",
							  2, argtypes, args, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not bound pgdr.objectives_history");
}

static void
alertSet(const char *key, bool raise, AlertSeverity severity, double value,
		 double threshold, const char *message)
{
	AlertRaise r;

	if (!raise)
	{
		alertResolve(OBJECTIVES_SOURCE, key);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.source = OBJECTIVES_SOURCE;
	r.key = key;
	r.severity = severity;
	r.message = message;
	r.hasValue = true;
	r.value = value;
	r.hasThreshold = true;
	r.threshold = threshold;
	(void) alertRaise(&r);
}

/* Raise or resolve each objectives alert from the verdict's findings. */
static void
objectivesAlerts(const ObjectivesMeasure *m)
{
	uint32		f = m->verdict.findings;
	const ObjectivesInput *in = &m->input;

	if (f & OBJ_FINDING_RPO_BREACHED)
		alertSet("rpo", true, ALERT_CRITICAL, in->rpoActualSec, in->rpoTargetSec,
				 psprintf("RPO breached: %.0f s of WAL not in every required repository, past the tier %s's RPO target of %.0f s",
						  in->rpoActualSec, m->tier, in->rpoTargetSec));
	else if (f & OBJ_FINDING_RPO_AT_RISK)
		alertSet("rpo", true, ALERT_WARNING, in->rpoActualSec,
				 in->rpoTargetSec * OBJ_RPO_AT_RISK_FRACTION,
				 psprintf("RPO at risk: %.0f s of WAL not in every required repository, past three quarters of the tier %s's RPO target of %.0f s",
						  in->rpoActualSec, m->tier, in->rpoTargetSec));
	else if (in->rpoKnown)
		alertSet("rpo", false, 0, 0, 0, NULL);

	if (f & OBJ_FINDING_RTO_ABOVE)
		alertSet("rto_estimate", true, ALERT_WARNING, in->rtoEstimateSec, in->rtoTargetSec,
				 psprintf("RTO estimate %.0f s (restore of backup %s %.0f s, replay of %lld bytes of WAL %.0f s) passes the tier %s's RTO target of %.0f s",
						  in->rtoEstimateSec, m->backupId, m->rto.restoreSec,
						  (long long) m->walBytes, m->rto.replaySec, m->tier,
						  in->rtoTargetSec));
	else
		alertSet("rto_estimate", false, 0, 0, 0, NULL);

	if (f & OBJ_FINDING_NO_BACKUP)
		alertSet("backup_overdue", true, ALERT_CRITICAL, 0, in->backupOverdueSec,
				 pstrdup("no valid backup: nothing to restore from"));
	else if (f & OBJ_FINDING_BACKUP_OVERDUE)
		alertSet("backup_overdue", true, ALERT_WARNING, in->backupAgeSec, in->backupOverdueSec,
				 psprintf("the newest valid backup %s is %.0f s old, overdue after %.0f s (pg_dr.backup_overdue_after)",
						  m->backupId, in->backupAgeSec, in->backupOverdueSec));
	else
		alertSet("backup_overdue", false, 0, 0, 0, NULL);

	if (f & OBJ_FINDING_ARCHIVE_LAGGING)
		alertSet("archive_lagging", true, ALERT_WARNING, in->archiveOldestWaitSec,
				 in->rpoTargetSec * OBJ_ARCHIVE_LAG_FRACTION,
				 psprintf("WAL archiving lags: %lld WAL files wait, the oldest for %.0f s, more than half the RPO target of %.0f s",
						  (long long) m->archivePending, in->archiveOldestWaitSec,
						  in->rpoTargetSec));
	else
		alertSet("archive_lagging", false, 0, 0, 0, NULL);
}

static void
objectivesRoundStep(void *arg)
{
	ObjectivesMeasure m;

	if (!OidIsValid(get_extension_oid("pg_dr", true)))
		return;
	if (!objectivesReplayChecked)
	{
		objectivesReplayRecord();
		objectivesReplayChecked = true;
	}
	objectivesMeasure(&m);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	historyInsert(&m);
	historyBound(m.now);
	SPI_finish();
	objectivesAlerts(&m);
}

/*
 * Due every pg_dr.objectives_sample_interval; the first round one interval
 * after the worker started, not at once (a cluster just started, or pg_dr
 * just installed, is given that long before its first sample and alerts).
 */
static TimestampTz
objectivesDutyNextDue(TimestampTz now, void *arg)
{
	if (objectivesLastRun == 0)
		objectivesLastRun = now;
	return TimestampTzPlusMilliseconds(objectivesLastRun,
									   (int64) drObjectivesSampleInterval * 1000);
}

static bool
objectivesDutyRun(TimestampTz now, void *arg)
{
	objectivesLastRun = now;
	if (RecoveryInProgress())
		return true;
	return dutyXactRun("pg_dr: sampling the recovery objectives", objectivesRoundStep, NULL);
}

void
objectivesDutiesRegister(void)
{
	dutyRegister("objectives", objectivesDutyNextDue, objectivesDutyRun, NULL,
				 OBJECTIVES_RETRY_MS);
}
