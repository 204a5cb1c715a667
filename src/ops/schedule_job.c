/*-------------------------------------------------------------------------
 * schedule_job.c
 *	  Backup jobs: the rows of pgdr.jobs (dr_jobs), the manual jobs'
 *	  records, and the worker that runs a scheduled job (see schedule.h).
 *
 * A scheduled job's worker, step by step, each in a transaction of its
 * own so that what one step did survives the failure of the next:
 *	1. read its row (the kind) and the extension's schema;
 *	2. take the backup: SELECT <schema>.dr_backup_full(label => ...) or
 *	   dr_backup_incremental(label => ...), as a user's call would (audited;
 *	   an incremental with nothing to build on becomes a full);
 *	3. record the result in its row (kind as taken, bytes stored, error),
 *	   raise the "schedule"/"job_failed" alert on a failure, resolve it on
 *	   a success;
 *	4. after a success, expire every repository: <schema>.dr_expire(), as
 *	   a call without arguments does, what it removed in each (or why one
 *	   or the call failed) noted in the row.
 * The worker says in shared memory that it runs (runningJob, set by the
 * duty that started it) until it exits.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "ops/alert.h"
#include "ops/duty.h"
#include "ops/schedule.h"
#include "ops/schedule_internal.h"
#include "ops/worker.h"
#include "pg_dr.h"

#define SCHEDULE_ALERT_SOURCE	"schedule"
#define SCHEDULE_ALERT_KEY		"job_failed"

/* This process is a scheduled job's worker (it records its job itself). */
static bool scheduleJobWorker = false;
static int64 scheduleJobId = 0;

bool
scheduleInJobWorker(void)
{
	return scheduleJobWorker;
}

void
scheduleJobInsert(const ScheduleJobRecord *job, const char *trigger,
				  const char *applicationName)
{
	Oid			argtypes[10] = {TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID,
		TEXTOID, TEXTOID, INT8OID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[10];
	char		nulls[10];

	memset(nulls, ' ', sizeof(nulls));
	values[0] = CStringGetTextDatum(job->incremental ? "incremental" : "full");
	values[1] = CStringGetTextDatum(trigger);
	values[2] = TimestampTzGetDatum(job->startedAt);
	values[3] = TimestampTzGetDatum(job->finishedAt);
	values[4] = CStringGetTextDatum(job->result);
	if (job->backupId)
		values[5] = CStringGetTextDatum(job->backupId);
	else
		nulls[5] = 'n';
	values[6] = Int64GetDatum(job->bytes);
	if (job->bytes < 0)
		nulls[6] = 'n';
	if (job->error)
		values[7] = CStringGetTextDatum(job->error);
	else
		nulls[7] = 'n';
	if (job->reason)
		values[8] = CStringGetTextDatum(job->reason);
	else
		nulls[8] = 'n';
	if (applicationName && applicationName[0] != '\0')
		values[9] = CStringGetTextDatum(applicationName);
	else
		nulls[9] = 'n';
	if (SPI_execute_with_args("INSERT INTO pgdr.jobs (kind, trigger, started_at, finished_at,"
							  " result, backup_id, bytes, error, reason, application_name)"
							  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
							  10, argtypes, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not record the job in pgdr.jobs");
}

void
scheduleJobRecordManual(const ScheduleJobRecord *job)
{
	if (scheduleJobWorker)
		return;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	scheduleJobInsert(job, "manual", application_name);
	SPI_finish();
}

void
scheduleJobQueueManual(const ScheduleJobRecord *job)
{
	bool		queued = false;
	Latch	   *latch;

	if (scheduleJobWorker || scheduleShared == NULL)
		return;
	LWLockAcquire(scheduleShared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < SCHEDULE_QUEUE_SIZE; i++)
	{
		ScheduleQueued *q = &scheduleShared->queue[i];

		if (q->used)
			continue;
		memset(q, 0, sizeof(*q));
		q->used = true;
		q->incremental = job->incremental;
		q->startedAt = job->startedAt;
		q->finishedAt = job->finishedAt;
		strlcpy(q->result, job->result, sizeof(q->result));
		strlcpy(q->error, job->error ? job->error : "", sizeof(q->error));
		strlcpy(q->applicationName, application_name ? application_name : "",
				sizeof(q->applicationName));
		scheduleShared->queued++;
		queued = true;
		break;
	}
	latch = scheduleShared->workerLatch;
	LWLockRelease(scheduleShared->lock);
	/* the duty is due at once while something is queued (schedule.c) */
	if (queued && latch != NULL)
		SetLatch(latch);
	if (!queued)
		ereport(LOG,
				(errmsg("pg_dr: the failed %s backup is not recorded in dr_jobs: %d failed jobs wait for the worker already",
						job->incremental ? "incremental" : "full", SCHEDULE_QUEUE_SIZE)));
}

int64
scheduleJobCreate(const ScheduleDecision *d, int attempt)
{
	Oid			argtypes[3] = {TEXTOID, TEXTOID, INT4OID};
	Datum		values[3];
	bool		isnull;
	Datum		id;

	values[0] = CStringGetTextDatum(scheduleJobKindName(d->kind));
	values[1] = CStringGetTextDatum(d->reason);
	values[2] = Int32GetDatum(attempt);
	if (SPI_execute_with_args("INSERT INTO pgdr.jobs (kind, trigger, started_at, result, reason, attempt)"
							  " VALUES ($1, 'scheduled', pg_catalog.clock_timestamp(), 'running', $2, $3)"
							  " RETURNING id",
							  3, argtypes, values, NULL, false, 1) != SPI_OK_INSERT_RETURNING ||
		SPI_processed != 1)
		elog(ERROR, "could not record the job in pgdr.jobs");
	id = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return DatumGetInt64(id);
}

void
scheduleJobFinish(int64 jobId, bool ok, const char *backupId, const char *error,
				  bool cancelled)
{
	Oid			argtypes[4] = {INT8OID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	char	   *kind = NULL;
	char	   *attempt = NULL;

	values[0] = Int64GetDatum(jobId);
	values[1] = CStringGetTextDatum(ok ? "ok" : cancelled ? "cancelled" : "failed");
	if (backupId)
		values[2] = CStringGetTextDatum(backupId);
	else
		nulls[2] = 'n';
	if (error)
		values[3] = CStringGetTextDatum(error);
	else
		nulls[3] = 'n';

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* the kind as taken: an incremental with nothing to build on is a full */
	if (SPI_execute_with_args("UPDATE pgdr.jobs j SET finished_at = pg_catalog.clock_timestamp(),"
							  " result = $2, backup_id = $3, error = $4,"
							  " bytes = (SELECT b.stored_bytes FROM pgdr.backups b"
							  " WHERE b.backup_id OPERATOR(pg_catalog.=) $3),"
							  " kind = COALESCE((SELECT b.kind FROM pgdr.backups b"
							  " WHERE b.backup_id OPERATOR(pg_catalog.=) $3), j.kind)"
							  " WHERE j.id OPERATOR(pg_catalog.=) $1"
							  " RETURNING j.kind, j.attempt",
							  4, argtypes, values, nulls, false, 1) != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "could not record the end of job " INT64_FORMAT " in pgdr.jobs", jobId);
	if (SPI_processed == 1)
	{
		kind = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		attempt = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	}
	SPI_finish();

	if (ok)
		alertResolve(SCHEDULE_ALERT_SOURCE, SCHEDULE_ALERT_KEY);
	else if (!cancelled)
	{
		AlertRaise	raise;

		memset(&raise, 0, sizeof(raise));
		raise.source = SCHEDULE_ALERT_SOURCE;
		raise.key = SCHEDULE_ALERT_KEY;
		raise.severity = ALERT_WARNING;
		raise.message = psprintf("scheduled %s backup (job " INT64_FORMAT ", attempt %s) failed: %s; the scheduler retries with backoff (dr_schedule)",
								 kind ? kind : "?", jobId, attempt ? attempt : "?",
								 error ? error : "unknown error");
		if (attempt)
		{
			raise.hasValue = true;
			raise.value = strtod(attempt, NULL);
		}
		(void) alertRaise(&raise);
	}
}

int64
scheduleJobsPrune(TimestampTz horizon)
{
	Oid			argtypes[1] = {TIMESTAMPTZOID};
	Datum		values[1];
	bool		isnull;
	int64		pruned;

	values[0] = TimestampTzGetDatum(horizon);
	if (SPI_execute_with_args("WITH gone AS ("
							  " DELETE FROM pgdr.jobs j"
							  " WHERE j.result OPERATOR(pg_catalog.<>) 'running'"
							  " AND COALESCE(j.finished_at, j.started_at) OPERATOR(pg_catalog.<) $1"
							  " AND NOT (j.trigger OPERATOR(pg_catalog.=) 'scheduled'"
							  "  AND j.id OPERATOR(pg_catalog.>=) COALESCE((SELECT pg_catalog.max(o.id)"
							  "   FROM pgdr.jobs o WHERE o.trigger OPERATOR(pg_catalog.=) 'scheduled'"
							  "   AND o.result OPERATOR(pg_catalog.=) 'ok'), 0))"
							  " RETURNING j.trigger, j.kind, j.result),"
							  " counted AS ("
							  " INSERT INTO pgdr.jobs_pruned AS p (trigger, kind, result, jobs)"
							  " SELECT g.trigger, g.kind, g.result, pg_catalog.count(*) FROM gone g"
							  " GROUP BY g.trigger, g.kind, g.result"
							  " ON CONFLICT (trigger, kind, result)"
							  " DO UPDATE SET jobs = p.jobs OPERATOR(pg_catalog.+) EXCLUDED.jobs)"
							  " SELECT pg_catalog.count(*) FROM gone",
							  1, argtypes, values, NULL, false, 0) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not prune pgdr.jobs");
	pruned = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										 SPI_tuptable->tupdesc, 1, &isnull));
	return pruned;
}

/*
 * A scheduled row still "running" whose worker is gone (the general
 * worker restarted, or the job worker died without recording): failed.
 */
void
scheduleFailStale(int64 runningJob)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1];

	values[0] = Int64GetDatum(runningJob);
	if (SPI_execute_with_args("UPDATE pgdr.jobs SET result = 'failed',"
							  " finished_at = pg_catalog.clock_timestamp(),"
							  " error = 'the job''s worker ended without recording a result'"
							  " WHERE result OPERATOR(pg_catalog.=) 'running'"
							  " AND trigger OPERATOR(pg_catalog.=) 'scheduled'"
							  " AND id OPERATOR(pg_catalog.<>) $1",
							  1, argtypes, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update pgdr.jobs");
}

/* The worker's steps (see the header comment). */
typedef struct JobState
{
	int64		id;
	char	   *kind;			/* in TopMemoryContext */
	char	   *schema;			/* quoted */
	bool		ok;
	bool		cancelled;
	char	   *backupId;
	char	   *error;
	char	   *expired;
} JobState;

static void
jobReadStep(void *arg)
{
	JobState   *job = arg;
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1];

	values[0] = Int64GetDatum(job->id);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT n.nspname FROM pg_catalog.pg_extension e"
					" JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace"
					" WHERE e.extname OPERATOR(pg_catalog.=) 'pg_dr'",
					true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "extension \"pg_dr\" is not installed in this database");
	job->schema = MemoryContextStrdup(TopMemoryContext,
									  quote_identifier(SPI_getvalue(SPI_tuptable->vals[0],
																	SPI_tuptable->tupdesc, 1)));
	if (SPI_execute_with_args("SELECT kind FROM pgdr.jobs"
							  " WHERE id OPERATOR(pg_catalog.=) $1"
							  " AND result OPERATOR(pg_catalog.=) 'running'",
							  1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "job " INT64_FORMAT " is not a running job of pgdr.jobs", job->id);
	job->kind = MemoryContextStrdup(TopMemoryContext,
									SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	SPI_finish();
}

/*
 * Run sql in a transaction of its own; the first column of the first row
 * (or NULL) in *value, or the error's message in *error.  True when it
 * committed.
 */
static bool
jobSqlRun(const char *activity, const char *sql, char **value, char **error,
		  bool *cancelled)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	volatile bool done = false;

	*value = NULL;
	*error = NULL;
	*cancelled = false;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute(sql, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not run %s", sql);
		if (SPI_processed > 0)
		{
			char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

			if (v)
				*value = MemoryContextStrdup(TopMemoryContext, v);
		}
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
		done = true;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(TopMemoryContext);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		*error = edata->message ? pstrdup(edata->message) : pstrdup("unknown error");
		*cancelled = edata->sqlerrcode == ERRCODE_QUERY_CANCELED;
		ereport(LOG,
				(errmsg("pg_dr scheduled job " INT64_FORMAT ": %s", scheduleJobId, *error)));
		FreeErrorData(edata);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcxt);
	pgstat_report_activity(STATE_IDLE, NULL);
	return done;
}

static void
jobFinishStep(void *arg)
{
	JobState   *job = arg;

	scheduleJobFinish(job->id, job->ok, job->backupId, job->error, job->cancelled);
}

static void
jobExpiredStep(void *arg)
{
	JobState   *job = arg;
	Oid			argtypes[2] = {INT8OID, TEXTOID};
	Datum		values[2];

	values[0] = Int64GetDatum(job->id);
	values[1] = CStringGetTextDatum(job->expired);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("UPDATE pgdr.jobs SET expired = $2"
							  " WHERE id OPERATOR(pg_catalog.=) $1",
							  2, argtypes, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update pgdr.jobs");
	SPI_finish();
}

/* At exit, however it ends: the job no longer runs. */
static void
jobExitCallback(int code, Datum arg)
{
	int64		id = DatumGetInt64(arg);

	if (scheduleShared == NULL)
		return;
	LWLockAcquire(scheduleShared->lock, LW_EXCLUSIVE);
	if (scheduleShared->runningJob == id)
		scheduleShared->runningJob = 0;
	LWLockRelease(scheduleShared->lock);
}

void
pg_dr_schedule_job_main(Datum arg)
{
	JobState	job;
	char	   *sql;
	char	   *value;
	char	   *expireError;
	bool		cancelled;

	memset(&job, 0, sizeof(job));
	job.id = DatumGetInt64(arg);
	scheduleJobId = job.id;
	scheduleJobWorker = true;
	before_shmem_exit(jobExitCallback, Int64GetDatum(job.id));

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(drDatabase, NULL, 0);
	pgstat_report_appname("pg_dr scheduled job");
	/* as the general worker: see worker.c */
	SetConfigOption("search_path", DR_SAFE_SEARCH_PATH, PGC_SUSET, PGC_S_OVERRIDE);

	if (!dutyXactRun(NULL, jobReadStep, &job))
		proc_exit(1);

	sql = psprintf("SELECT %s.%s(label => 'pg_dr scheduled job " INT64_FORMAT "')",
				   job.schema,
				   strcmp(job.kind, "full") == 0 ? "dr_backup_full" : "dr_backup_incremental",
				   job.id);
	job.ok = jobSqlRun("pg_dr scheduled backup", sql, &job.backupId, &job.error, &job.cancelled);
	if (!dutyXactRun(NULL, jobFinishStep, &job))
		proc_exit(1);

	if (job.ok)
	{
		/*
		 * Every repository, as a call without arguments: a row each,
		 * "repoN: ..." when there are several (one that failed says so)
		 */
		sql = psprintf("SELECT pg_catalog.string_agg("
					   "CASE WHEN e.repos OPERATOR(pg_catalog.>) 1"
					   " THEN pg_catalog.format('repo%%s: ', e.repo) ELSE '' END"
					   " OPERATOR(pg_catalog.||) CASE WHEN e.error IS NOT NULL"
					   " THEN pg_catalog.format('failed: %%s', e.error)"
					   " ELSE pg_catalog.format('%%s backups, %%s WAL files, %%s bytes removed',"
					   " e.backups_removed, e.wal_removed, e.bytes_freed) END,"
					   " '; ' ORDER BY e.repo)"
					   " FROM (SELECT x.*, pg_catalog.count(*) OVER () AS repos"
					   " FROM %s.dr_expire() x) e", job.schema);
		if (jobSqlRun("pg_dr scheduled expiry", sql, &value, &expireError, &cancelled))
			job.expired = value ? value : pstrdup("nothing removed");
		else
			job.expired = psprintf("failed: %s", expireError);
		(void) dutyXactRun(NULL, jobExpiredStep, &job);
	}
	proc_exit(0);
}
