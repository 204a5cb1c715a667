/*-------------------------------------------------------------------------
 * schedule.c
 *	  The scheduler's duty: gather the decision's inputs, decide
 *	  (schedule_decide.c), publish the decision for dr_schedule, and start
 *	  a due job in a worker of its own (schedule_job.c); also write the
 *	  manual jobs that failed (queued by their backends) into pgdr.jobs.
 *	  See schedule.h.
 *
 * Inputs, each round (at most every SCHEDULE_POLL_MS, sooner when the
 * next job is due sooner, at once after a reload that changes
 * pg_dr.schedule, a committed edit of a policy or of the objectives
 * (ops/audit.h, auditChangesCommitted) or a queued failed manual job):
 *  - the policy of the tier (pgdr.schedule_policies) and its RTO target
 *    (pgdr.objectives);
 *  - the newest backup that is not damaged (pgdr.backups) and its chain,
 *    followed by parent_id: length, stored bytes, its full's start and
 *    size, its incrementals' stored bytes;
 *  - the WAL written since the newest backup's start (the insert LSN less
 *    its start LSN) and the WAL rate: pg_stat_wal's wal_bytes sampled
 *    each round, over the last SCHEDULE_RATE_WINDOW_SEC (wal_bytes counts
 *    the records written, not the rest of a segment a switch skips, so
 *    the PITR duty's WAL switches do not look like a burst of writes);
 *  - the RTO model (rto_model.h) with the chain's bytes and that WAL, at
 *    its default rates (this part measures no restore or replay);
 *  - the last scheduled job (pgdr.jobs) and how many failed in a row;
 *  - the load: client backends active now, the 1-minute load average.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>
#include <stdlib.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "backup/backup_progress.h"
#include "ops/audit.h"
#include "ops/duty.h"
#include "ops/objectives.h"
#include "ops/schedule.h"
#include "ops/schedule_internal.h"
#include "pitr/pitr.h"

/* the duty looks at least this often (milliseconds) */
#define SCHEDULE_POLL_MS			10000
/* the WAL rate is measured over this window */
#define SCHEDULE_RATE_WINDOW_SEC	60
#define SCHEDULE_RATE_SAMPLES		32

bool		drSchedule = false;
int			drJobsRetention = 90 * 24 * 3600;

/* pgdr.jobs is pruned this often, and when pg_dr.jobs_retention changes */
#define SCHEDULE_PRUNE_SEC		3600
static TimestampTz schedulePrunedAt = 0;
static int	schedulePrunedRetention = -1;

ScheduleShared *scheduleShared = NULL;

/*
 * In the worker: when the last round started, pg_dr.schedule as it saw
 * it (a reload that changes it makes the duty due at once), and the
 * rate's samples.
 */
static TimestampTz scheduleLastRound = 0;
static TimestampTz scheduleNextAt = 0;
static bool scheduleLastEnabled = false;
/* auditChangesCommitted() when the last round began: an edit of a policy
 * or of the objectives since makes the duty due at once */
static uint64 scheduleLastChanges = 0;
typedef struct WalSample
{
	TimestampTz at;
	uint64		bytes;
} WalSample;
static WalSample walSamples[SCHEDULE_RATE_SAMPLES];
static int	walSampleCount = 0;

/* A job row written this round, to start once its transaction committed. */
static int64 scheduleLaunchId = 0;
static BackgroundWorkerHandle *scheduleJobHandle = NULL;
static int64 scheduleJobHandleId = 0;	/* the job it runs */

void
scheduleSettingsDefine(void)
{
	DefineCustomBoolVariable("pg_dr.schedule",
							 "Whether the pg_dr worker takes backups on its own, by the tier's policy.",
							 "The policy is in dr_schedule_policies; dr_schedule shows the next job.",
							 &drSchedule,
							 false,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pg_dr.jobs_retention",
							"How long the rows of finished jobs stay in dr_jobs.",
							"The worker prunes older rows every hour; never a running job's.",
							&drJobsRetention,
							90 * 24 * 3600,
							60,
							INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);
}

static Size
scheduleShmemSize(void)
{
	return MAXALIGN(sizeof(ScheduleShared));
}

void
scheduleShmemRequest(void)
{
	RequestAddinShmemSpace(scheduleShmemSize());
	RequestNamedLWLockTranche(SCHEDULE_LWLOCK_TRANCHE, 1);
}

void
scheduleShmemInit(void)
{
	bool		found;

	scheduleShared = ShmemInitStruct("pg_dr schedule", scheduleShmemSize(), &found);
	if (!found)
	{
		memset(scheduleShared, 0, sizeof(ScheduleShared));
		scheduleShared->lock =
			&(GetNamedLWLockTranche(SCHEDULE_LWLOCK_TRANCHE))[0].lock;
	}
}

void
scheduleSnapshotGet(ScheduleSnapshot *snapshot)
{
	LWLockAcquire(scheduleShared->lock, LW_SHARED);
	*snapshot = scheduleShared->snapshot;
	snapshot->runningJob = scheduleShared->runningJob;
	LWLockRelease(scheduleShared->lock);
}

/* Add a sample of pg_stat_wal; the rate over the window, -1 = unknown. */
static double
scheduleWalRate(TimestampTz now)
{
	PgStat_WalStats *wal = pgstat_fetch_stat_wal();
	const WalSample *newest;
	int			oldest = -1;

	/* at most a sample a second, so that the samples span the window */
	if (walSampleCount == 0 ||
		now - walSamples[walSampleCount - 1].at >= USECS_PER_SEC)
	{
		if (walSampleCount == SCHEDULE_RATE_SAMPLES)
		{
			memmove(&walSamples[0], &walSamples[1],
					sizeof(WalSample) * (SCHEDULE_RATE_SAMPLES - 1));
			walSampleCount--;
		}
		walSamples[walSampleCount].at = now;
		walSamples[walSampleCount].bytes = wal->wal_bytes;
		walSampleCount++;
	}
	newest = &walSamples[walSampleCount - 1];

	/* the oldest sample within the window, at least 5 s before the newest */
	for (int i = 0; i < walSampleCount - 1; i++)
	{
		int64		age = newest->at - walSamples[i].at;

		if (age <= SCHEDULE_RATE_WINDOW_SEC * USECS_PER_SEC &&
			age >= 5 * USECS_PER_SEC)
		{
			oldest = i;
			break;
		}
	}
	if (oldest < 0 || newest->bytes < walSamples[oldest].bytes)
		return -1;
	return (double) (newest->bytes - walSamples[oldest].bytes) /
		((double) (newest->at - walSamples[oldest].at) / USECS_PER_SEC);
}

static int64
spiInt64(int row, int col, bool *isnull)
{
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc,
								  col, isnull);

	return *isnull ? 0 : DatumGetInt64(d);
}

static double
spiFloat8(int row, int col, bool *isnull)
{
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc,
								  col, isnull);

	return *isnull ? 0 : DatumGetFloat8(d);
}

static TimestampTz
spiTimestamp(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc,
								  col, &isnull);

	return isnull ? 0 : DatumGetTimestampTz(d);
}

/* The tier's policy and RTO target; false when it has no policy. */
static bool
scheduleReadPolicy(const char *tier, SchedulePolicy *p, double *rtoSec)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	bool		isnull;

	values[0] = CStringGetTextDatum(tier);
	if (SPI_execute_with_args("SELECT CASE WHEN p.full_at IS NULL THEN (-1)::pg_catalog.int8"
							  " ELSE pg_catalog.date_part('epoch', p.full_at)::pg_catalog.int8 END,"
							  " pg_catalog.date_part('epoch', p.full_interval)::pg_catalog.int8,"
							  " pg_catalog.date_part('epoch', p.incremental_interval)::pg_catalog.int8,"
							  " pg_catalog.date_part('epoch', p.incremental_min_interval)::pg_catalog.int8,"
							  " p.chain_max_length::pg_catalog.int8, p.chain_max_bytes,"
							  " p.changed_fraction_max, p.busy_backends::pg_catalog.int8, p.busy_load,"
							  " pg_catalog.date_part('epoch', p.defer_max)::pg_catalog.int8,"
							  " pg_catalog.date_part('epoch', p.retry_base)::pg_catalog.int8,"
							  " pg_catalog.date_part('epoch', p.retry_max)::pg_catalog.int8,"
							  " pg_catalog.date_part('epoch', o.rto)::pg_catalog.float8"
							  " FROM pgdr.schedule_policies p JOIN pgdr.objectives o"
							  " ON o.tier OPERATOR(pg_catalog.=) p.tier"
							  " WHERE p.tier OPERATOR(pg_catalog.=) $1",
							  1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pgdr.schedule_policies");
	if (SPI_processed != 1)
		return false;
	p->fullAtSec = (int) spiInt64(0, 1, &isnull);
	p->fullIntervalSec = spiInt64(0, 2, &isnull);
	p->incrementalIntervalSec = spiInt64(0, 3, &isnull);
	p->incrementalMinSec = spiInt64(0, 4, &isnull);
	p->chainMaxLength = (int) spiInt64(0, 5, &isnull);
	p->chainMaxBytes = spiInt64(0, 6, &isnull);
	p->changedFractionMax = spiFloat8(0, 7, &isnull);
	p->busyBackends = (int) spiInt64(0, 8, &isnull);
	p->busyLoad = spiFloat8(0, 9, &isnull);
	p->deferMaxSec = spiInt64(0, 10, &isnull);
	p->retryBaseSec = spiInt64(0, 11, &isnull);
	p->retryMaxSec = spiInt64(0, 12, &isnull);
	*rtoSec = spiFloat8(0, 13, &isnull);
	return true;
}

/* The newest backup and its chain (see the header comment). */
static void
scheduleReadChain(ScheduleInput *in, char *newestId, size_t idSize,
				  XLogRecPtr *startLsn, int64 *newestDataBytes)
{
	bool		isnull;
	int64		count;

	if (SPI_execute("WITH RECURSIVE newest AS ("
					" SELECT b.backup_id FROM pgdr.backups b"
					" WHERE b.status OPERATOR(pg_catalog.<>) 'damaged'"
					" ORDER BY b.finished_at DESC, b.backup_id DESC LIMIT 1),"
					" chain AS ("
					" SELECT b.backup_id, b.parent_id, b.kind, b.started_at, b.finished_at,"
					" b.start_lsn, b.data_bytes, b.stored_bytes, 1 AS depth"
					" FROM pgdr.backups b JOIN newest n"
					" ON b.backup_id OPERATOR(pg_catalog.=) n.backup_id"
					" UNION ALL"
					" SELECT p.backup_id, p.parent_id, p.kind, p.started_at, p.finished_at,"
					" p.start_lsn, p.data_bytes, p.stored_bytes, c.depth OPERATOR(pg_catalog.+) 1"
					" FROM pgdr.backups p JOIN chain c"
					" ON p.backup_id OPERATOR(pg_catalog.=) c.parent_id"
					" WHERE p.status OPERATOR(pg_catalog.<>) 'damaged'"
					" AND c.depth OPERATOR(pg_catalog.<) 100000)"
					" SELECT pg_catalog.count(*)::pg_catalog.int8,"
					" pg_catalog.sum(stored_bytes)::pg_catalog.int8,"
					" pg_catalog.sum(stored_bytes) FILTER (WHERE kind OPERATOR(pg_catalog.=) 'incremental')::pg_catalog.int8,"
					" pg_catalog.max(data_bytes) FILTER (WHERE kind OPERATOR(pg_catalog.=) 'full'),"
					" pg_catalog.max(started_at) FILTER (WHERE kind OPERATOR(pg_catalog.=) 'full'),"
					" pg_catalog.max(started_at) FILTER (WHERE depth OPERATOR(pg_catalog.=) 1),"
					" pg_catalog.max(finished_at) FILTER (WHERE depth OPERATOR(pg_catalog.=) 1),"
					" pg_catalog.max(start_lsn) FILTER (WHERE depth OPERATOR(pg_catalog.=) 1),"
					" pg_catalog.max(data_bytes) FILTER (WHERE depth OPERATOR(pg_catalog.=) 1),"
					" pg_catalog.max(backup_id) FILTER (WHERE depth OPERATOR(pg_catalog.=) 1)"
					" FROM chain",
					true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read the newest backup chain from pgdr.backups");

	count = spiInt64(0, 1, &isnull);
	in->chainLength = (int) count;
	in->chainBytes = spiInt64(0, 2, &isnull);
	in->incrementalBytes = spiInt64(0, 3, &isnull);
	in->fullBytes = spiInt64(0, 4, &isnull);
	in->haveFull = !isnull;
	in->fullStart = spiTimestamp(0, 5);
	in->newestStart = spiTimestamp(0, 6);
	in->newestEnd = spiTimestamp(0, 7);
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 8, &isnull);

		*startLsn = isnull ? InvalidXLogRecPtr : DatumGetLSN(d);
	}
	*newestDataBytes = spiInt64(0, 9, &isnull);
	{
		char	   *id = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 10);

		strlcpy(newestId, id ? id : "", idSize);
	}
	/* no backup, or a chain that does not reach its full: nothing to build on */
	in->haveBackup = count > 0 && in->haveFull;
}

/* The last scheduled job that ended, and how many failed in a row. */
static void
scheduleReadLastJob(ScheduleInput *in)
{
	bool		isnull;

	if (SPI_execute("SELECT j.result OPERATOR(pg_catalog.=) 'failed', j.finished_at, j.error,"
					" (SELECT pg_catalog.count(*) FROM pgdr.jobs f"
					" WHERE f.trigger OPERATOR(pg_catalog.=) 'scheduled'"
					" AND f.result OPERATOR(pg_catalog.=) 'failed'"
					" AND f.id OPERATOR(pg_catalog.>) COALESCE((SELECT pg_catalog.max(o.id) FROM pgdr.jobs o"
					" WHERE o.trigger OPERATOR(pg_catalog.=) 'scheduled'"
					" AND o.result OPERATOR(pg_catalog.=) 'ok'), 0))"
					" FROM pgdr.jobs j"
					" WHERE j.trigger OPERATOR(pg_catalog.=) 'scheduled'"
					" AND j.result OPERATOR(pg_catalog.<>) 'running'"
					" ORDER BY j.id DESC LIMIT 1",
					true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pgdr.jobs");
	if (SPI_processed != 1)
		return;
	in->lastJobFailed = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
												   SPI_tuptable->tupdesc, 1, &isnull));
	in->lastJobEnd = spiTimestamp(0, 2);
	in->lastJobError = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	in->failures = (int) spiInt64(0, 4, &isnull);
}

static int
scheduleActiveBackends(void)
{
	bool		isnull;

	if (SPI_execute("SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity"
					" WHERE state OPERATOR(pg_catalog.=) 'active'"
					" AND backend_type OPERATOR(pg_catalog.=) 'client backend'"
					" AND pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid()",
					true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read pg_stat_activity");
	return (int) spiInt64(0, 1, &isnull);
}

/* Local time = UTC + this, at now (the server's TimeZone). */
static int
scheduleTzOffset(TimestampTz now)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz = 0;

	if (timestamp2tm(now, &tz, &tm, &fsec, NULL, NULL) != 0)
		return 0;
	return -tz;
}

/* Write the failed manual jobs the backends queued. */
static void
scheduleDrainQueue(void)
{
	ScheduleQueued queued[SCHEDULE_QUEUE_SIZE];
	int			count = 0;

	LWLockAcquire(scheduleShared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < SCHEDULE_QUEUE_SIZE; i++)
		if (scheduleShared->queue[i].used)
		{
			queued[count++] = scheduleShared->queue[i];
			scheduleShared->queue[i].used = false;
		}
	scheduleShared->queued = 0;
	LWLockRelease(scheduleShared->lock);

	for (int i = 0; i < count; i++)
	{
		ScheduleJobRecord job;

		memset(&job, 0, sizeof(job));
		job.incremental = queued[i].incremental;
		job.startedAt = queued[i].startedAt;
		job.finishedAt = queued[i].finishedAt;
		job.result = queued[i].result;
		job.bytes = -1;
		job.error = queued[i].error;
		scheduleJobInsert(&job, "manual", queued[i].applicationName);
	}
}

/*
 * Prune dr_jobs (scheduleJobsPrune) at the first round, every
 * SCHEDULE_PRUNE_SEC and when pg_dr.jobs_retention changed.  The marks are
 * set before the round commits: a round that fails prunes again only an
 * hour later, which a history bound can afford.
 */
static void
scheduleJobsPruneDue(TimestampTz now)
{
	int64		pruned;

	if (schedulePrunedAt != 0 && schedulePrunedRetention == drJobsRetention &&
		now - schedulePrunedAt < SCHEDULE_PRUNE_SEC * USECS_PER_SEC)
		return;
	schedulePrunedAt = now;
	schedulePrunedRetention = drJobsRetention;
	pruned = scheduleJobsPrune(now - (TimestampTz) drJobsRetention * USECS_PER_SEC);
	if (pruned > 0)
		ereport(DEBUG1,
				(errmsg("pg_dr scheduler: " INT64_FORMAT " rows of dr_jobs older than pg_dr.jobs_retention pruned",
						pruned)));
}

static void
scheduleDuration(StringInfo s, int64 sec)
{
	if (sec % 3600 == 0 && sec >= 3600)
		appendStringInfo(s, INT64_FORMAT " h", sec / 3600);
	else if (sec % 60 == 0 && sec >= 60)
		appendStringInfo(s, INT64_FORMAT " min", sec / 60);
	else
		appendStringInfo(s, INT64_FORMAT " s", sec);
}

/* The restore points in words, for dr_schedule_explain(). */
static void
scheduleExplainRestorePoints(StringInfo s, const ScheduleSnapshot *snap)
{
	if (!snap->restorePointKnown)
		return;
	appendStringInfoString(s, "Restore points: ");
	if (snap->restorePointIntervalSec <= 0)
		appendStringInfo(s, "none scheduled (%s is 0)",
						 strcmp(snap->restorePointSource, "policy") == 0 ?
						 "the policy's restore_point_interval" : "pg_dr.pitr_interval");
	else
	{
		appendStringInfoString(s, "every ");
		scheduleDuration(s, snap->restorePointIntervalSec);
		appendStringInfo(s, " (%s), the next at %s",
						 strcmp(snap->restorePointSource, "policy") == 0 ?
						 "the policy's restore_point_interval, while the scheduler is on" :
						 "pg_dr.pitr_interval, while the scheduler is off",
						 timestamptz_to_str(snap->restorePointNext));
	}
	appendStringInfoString(s, ".\n");
}

/* The reasoning in words, for dr_schedule_explain(). */
static void
scheduleExplain(StringInfo s, const ScheduleInput *in, const ScheduleDecision *d,
				const char *newestId, const RtoModelEstimate *est,
				const ScheduleSnapshot *restorePoints)
{
	const SchedulePolicy *p = &in->policy;

	appendStringInfo(s, "Scheduler: %s (pg_dr.schedule). Tier: %s",
					 in->enabled ? "on" : "off", in->tierName);
	if (in->rtoTargetSec > 0)
		appendStringInfo(s, ", RTO target %.0f s", in->rtoTargetSec);
	appendStringInfoString(s, ".\n");
	if (in->enabled && in->policyFound)
	{
		appendStringInfoString(s, "Policy: a full backup ");
		if (p->fullAtSec >= 0)
			appendStringInfo(s, "at %02d:%02d (local time, UTC%+d s) every ",
							 p->fullAtSec / 3600, (p->fullAtSec % 3600) / 60, in->tzOffsetSec);
		else
			appendStringInfoString(s, "every ");
		scheduleDuration(s, p->fullIntervalSec);
		appendStringInfoString(s, "; an incremental every ");
		scheduleDuration(s, p->incrementalIntervalSec);
		appendStringInfoString(s, ", shortened for the RTO down to ");
		scheduleDuration(s, p->incrementalMinSec);
		appendStringInfo(s, "; a full instead when the chain holds %d backups (0: no bound), stores " INT64_FORMAT " bytes (0: no bound), or its incrementals exceed %.0f%% of the full (0: no bound)",
						 p->chainMaxLength, p->chainMaxBytes, 100.0 * p->changedFractionMax);
		appendStringInfo(s, "; busy at %d active backends or a load of %.2f (0: off), an optional job deferred at most ",
						 p->busyBackends, p->busyLoad);
		scheduleDuration(s, p->deferMaxSec);
		appendStringInfoString(s, "; a failed job retried after ");
		scheduleDuration(s, p->retryBaseSec);
		appendStringInfoString(s, ", doubling up to ");
		scheduleDuration(s, p->retryMaxSec);
		appendStringInfoString(s, ".\n");

		if (in->haveBackup)
		{
			appendStringInfo(s, "Newest backup: %s, ended %s; its chain holds %d backups storing " INT64_FORMAT " bytes; its full started %s (" INT64_FORMAT " bytes), its incrementals store " INT64_FORMAT " bytes.\n",
							 newestId, timestamptz_to_str(in->newestEnd), in->chainLength,
							 in->chainBytes, timestamptz_to_str(in->fullStart),
							 in->fullBytes, in->incrementalBytes);
			appendStringInfo(s, "WAL: " INT64_FORMAT " bytes since the newest backup started; ",
							 in->walSinceBackup);
		}
		else
			appendStringInfoString(s, "Newest backup: none that can be restored or built on.\nWAL: ");
		if (in->walRate >= 0)
			appendStringInfo(s, "written at %.0f bytes/s over the last %d s (pg_stat_wal).\n",
							 in->walRate, SCHEDULE_RATE_WINDOW_SEC);
		else
			appendStringInfoString(s, "rate not measured yet (two samples 5 s apart are needed).\n");
		if (est->possible)
			appendStringInfo(s, "RTO estimate: %.0f s (restore %.0f s at the %s restore rate, replay %.0f s at the %s replay rate).\n",
							 est->totalSec, est->restoreSec,
							 est->restoreRateMeasured ? "measured" : "default",
							 est->replaySec, est->replayRateMeasured ? "measured" : "default");
		appendStringInfo(s, "Load: %d active client backends, load average ", in->activeBackends);
		if (in->loadAverage >= 0)
			appendStringInfo(s, "%.2f.\n", in->loadAverage);
		else
			appendStringInfoString(s, "unknown.\n");
		if (in->lastJobEnd != 0)
			appendStringInfo(s, "Last scheduled job: %s at %s; %d failed in a row.\n",
							 in->lastJobFailed ? "failed" : "ok",
							 timestamptz_to_str(in->lastJobEnd), in->failures);
		else
			appendStringInfoString(s, "Last scheduled job: none yet.\n");
	}
	scheduleExplainRestorePoints(s, restorePoints);
	appendStringInfo(s, "Decision: %s", scheduleJobKindName(d->kind));
	if (d->kind != SCHEDULE_JOB_NONE)
	{
		appendStringInfo(s, " %s %s", d->dueNow ? "now, due since" : "at",
						 timestamptz_to_str(d->at));
		if (d->deferred)
			appendStringInfoString(s, " (deferred)");
		if (d->retry)
			appendStringInfoString(s, " (a retry)");
		if (d->required)
			appendStringInfoString(s, " (required: an objective is at stake)");
	}
	appendStringInfo(s, ": %s.", d->reason);
}

/*
 * One round, in a transaction: write the queued manual jobs, decide,
 * publish, and write the row of a job to start (started after commit).
 */
static void
scheduleRoundStep(void *arg)
{
	ScheduleInput in;
	ScheduleDecision d;
	RtoModelEstimate est;
	StringInfoData explain;
	char		newestId[64] = "";
	XLogRecPtr	startLsn = InvalidXLogRecPtr;
	int64		newestDataBytes = 0;
	int64		runningJob;
	BackupProgressSnapshot progress;
	double		load[1];
	ScheduleSnapshot *rp = palloc0(sizeof(ScheduleSnapshot));
	PitrIntervalSource rpSource;

	if (!OidIsValid(get_extension_oid("pg_dr", true)))
		return;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	scheduleDrainQueue();

	/*
	 * The job's worker ended: forget its handle (whether or not it cleared
	 * runningJob itself on its way out, as it does unless it crashed).
	 */
	if (scheduleJobHandle != NULL)
	{
		pid_t		pid;

		if (GetBackgroundWorkerPid(scheduleJobHandle, &pid) == BGWH_STOPPED)
		{
			LWLockAcquire(scheduleShared->lock, LW_EXCLUSIVE);
			if (scheduleShared->runningJob == scheduleJobHandleId)
				scheduleShared->runningJob = 0;
			LWLockRelease(scheduleShared->lock);
			pfree(scheduleJobHandle);
			scheduleJobHandle = NULL;
			scheduleJobHandleId = 0;
		}
	}
	LWLockAcquire(scheduleShared->lock, LW_SHARED);
	runningJob = scheduleShared->runningJob;
	LWLockRelease(scheduleShared->lock);
	scheduleFailStale(runningJob);
	scheduleJobsPruneDue(GetCurrentTimestamp());

	memset(&in, 0, sizeof(in));
	in.now = GetCurrentTimestamp();
	in.enabled = drSchedule;
	scheduleLastEnabled = in.enabled;
	in.tierName = drTierName(drTier);
	in.pollSec = SCHEDULE_POLL_MS / 1000;
	in.walRate = scheduleWalRate(in.now);
	backupProgressSnapshot(&progress);
	in.jobRunning = runningJob != 0 || progress.running;
	in.loadAverage = getloadavg(load, 1) == 1 ? load[0] : -1;
	in.tzOffsetSec = scheduleTzOffset(in.now);
	in.rto.chainBytes = -1;
	if (in.enabled)
	{
		in.policyFound = scheduleReadPolicy(in.tierName, &in.policy, &in.rtoTargetSec);
		scheduleReadChain(&in, newestId, sizeof(newestId), &startLsn, &newestDataBytes);
		if (in.haveBackup)
		{
			XLogRecPtr	insert = GetXLogInsertRecPtr();

			in.walSinceBackup = insert > startLsn ? (int64) (insert - startLsn) : 0;
			/* what a restore reads and writes: at least the newest's size */
			in.rto.chainBytes = Max(in.chainBytes, newestDataBytes);
			in.rto.walBytes = in.walSinceBackup;
		}
		/* the rates measured on this host, as dr_status's RTO estimate */
		objectivesRatesGet(&in.rto.restoreRate, &in.rto.replayRate);
		scheduleReadLastJob(&in);
		in.activeBackends = scheduleActiveBackends();
	}
	rtoModelEstimate(&in.rto, &est);
	scheduleDecide(&in, &d);

	/* the PITR duty's restore points, shown with the backups */
	rp->restorePointKnown = pitrScheduleGet(&rp->restorePointIntervalSec, &rpSource,
											&rp->restorePointNext);
	if (rp->restorePointKnown)
		strlcpy(rp->restorePointSource, pitrIntervalSourceName(rpSource),
				sizeof(rp->restorePointSource));

	initStringInfo(&explain);
	scheduleExplain(&explain, &in, &d, newestId, &est, rp);

	if (in.enabled && d.dueNow && !in.jobRunning)
		scheduleLaunchId = scheduleJobCreate(&d, in.failures + 1);

	LWLockAcquire(scheduleShared->lock, LW_EXCLUSIVE);
	scheduleShared->snapshot.decided = true;
	scheduleShared->snapshot.enabled = in.enabled;
	strlcpy(scheduleShared->snapshot.tier, in.tierName, sizeof(scheduleShared->snapshot.tier));
	scheduleShared->snapshot.decision = d;
	scheduleShared->snapshot.walRate = in.walRate;
	scheduleShared->snapshot.rtoEstimateSec = est.possible ? est.totalSec : -1;
	scheduleShared->snapshot.decidedAt = in.now;
	scheduleShared->snapshot.restorePointKnown = rp->restorePointKnown;
	scheduleShared->snapshot.restorePointIntervalSec = rp->restorePointIntervalSec;
	strlcpy(scheduleShared->snapshot.restorePointSource, rp->restorePointSource,
			sizeof(scheduleShared->snapshot.restorePointSource));
	scheduleShared->snapshot.restorePointNext = rp->restorePointNext;
	strlcpy(scheduleShared->snapshot.explain, explain.data,
			sizeof(scheduleShared->snapshot.explain));
	if (scheduleLaunchId != 0)
		scheduleShared->runningJob = scheduleLaunchId;
	LWLockRelease(scheduleShared->lock);

	scheduleNextAt = (in.enabled && d.kind != SCHEDULE_JOB_NONE && !in.jobRunning) ? d.at : 0;
	SPI_finish();
}

/* Record that the job could not be started, in a transaction of its own. */
static void
scheduleLaunchFailedStep(void *arg)
{
	int64		jobId = *(int64 *) arg;

	scheduleJobFinish(jobId, false, NULL,
					  "could not start a background worker for the job: raise max_worker_processes",
					  false);
}

static void
scheduleLaunch(int64 jobId)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "pg_dr");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "pg_dr_schedule_job_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "pg_dr scheduled job " INT64_FORMAT, jobId);
	snprintf(worker.bgw_type, BGW_MAXLEN, "pg_dr scheduled job");
	worker.bgw_main_arg = Int64GetDatum(jobId);
	worker.bgw_notify_pid = MyProcPid;

	if (RegisterDynamicBackgroundWorker(&worker, &scheduleJobHandle))
		scheduleJobHandleId = jobId;
	else
	{
		scheduleJobHandle = NULL;
		ereport(WARNING,
				(errmsg("pg_dr scheduler: could not start a background worker for job " INT64_FORMAT, jobId),
				 errhint("Raise max_worker_processes: the scheduler and each backup's pg_dr.backup_workers need one each.")));
		LWLockAcquire(scheduleShared->lock, LW_EXCLUSIVE);
		scheduleShared->runningJob = 0;
		LWLockRelease(scheduleShared->lock);
		(void) dutyXactRun(NULL, scheduleLaunchFailedStep, &jobId);
	}
}

static TimestampTz
scheduleDutyNextDue(TimestampTz now, void *arg)
{
	TimestampTz next = scheduleLastRound + SCHEDULE_POLL_MS * INT64CONST(1000);
	pid_t		pid;
	int			queued;

	if (scheduleLastRound == 0)
		return 0;
	/* a reload turned the scheduler on or off: decide again now */
	if (drSchedule != scheduleLastEnabled)
		return now;
	/* dr_schedule_policy_set or an edit of dr_objectives committed */
	if (auditChangesCommitted() != scheduleLastChanges)
		return now;
	/* a backend queued a failed manual job (and set our latch) */
	LWLockAcquire(scheduleShared->lock, LW_SHARED);
	queued = scheduleShared->queued;
	LWLockRelease(scheduleShared->lock);
	if (queued > 0)
		return now;
	/* the job's worker ended (the postmaster's notice set our latch) */
	if (scheduleJobHandle != NULL &&
		GetBackgroundWorkerPid(scheduleJobHandle, &pid) == BGWH_STOPPED)
		return now;
	if (scheduleNextAt != 0 && scheduleNextAt < next)
		next = Max(scheduleNextAt, scheduleLastRound + 1000 * INT64CONST(1000));
	return next;
}

static bool
scheduleDutyRun(TimestampTz now, void *arg)
{
	bool		done;
	int64		launch;

	scheduleLastRound = now;
	if (RecoveryInProgress())
		return true;
	/* where backends wake us (a restarted worker has another latch) */
	if (scheduleShared->workerLatch != MyLatch)
	{
		LWLockAcquire(scheduleShared->lock, LW_EXCLUSIVE);
		scheduleShared->workerLatch = MyLatch;
		LWLockRelease(scheduleShared->lock);
	}
	scheduleLaunchId = 0;

	/*
	 * Before the round's snapshot: an edit counted here is visible to the
	 * round (the count moves after the commit is visible); one committed
	 * later moves it again and makes the duty due again.
	 */
	scheduleLastChanges = auditChangesCommitted();
	done = dutyXactRun(NULL, scheduleRoundStep, NULL);
	launch = scheduleLaunchId;
	scheduleLaunchId = 0;
	if (!done)
	{
		/* the row was not committed: nothing to start */
		LWLockAcquire(scheduleShared->lock, LW_EXCLUSIVE);
		if (launch != 0 && scheduleShared->runningJob == launch)
			scheduleShared->runningJob = 0;
		LWLockRelease(scheduleShared->lock);
		return false;
	}
	if (launch != 0)
		scheduleLaunch(launch);
	return true;
}

void
scheduleDutiesRegister(void)
{
	dutyRegister("schedule", scheduleDutyNextDue, scheduleDutyRun, NULL,
				 SCHEDULE_POLL_MS);
}
