/*-------------------------------------------------------------------------
 * backup.c (api)
 *	  dr_backup_full(), dr_backup_incremental() and the function behind
 *	  dr_backup_progress.
 *
 * Thin: check the arguments, audit, hand the work to src/backup.  The
 * catalog row is written as the extension owner, the backup itself as the
 * server (it reads the data directory and writes the repository).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "api/api.h"
#include "backup/backup.h"
#include "backup/backup_progress.h"
#include "ops/alert.h"
#include "ops/audit.h"
#include "ops/schedule.h"
#include "pg_dr.h"
#include "backup/backup_verify.h"

/* PostgreSQL's own limit is MAXPGPATH; this leaves room for the rest */
#define BACKUP_LABEL_MAX	1000

PG_FUNCTION_INFO_V1(dr_backup_full);
PG_FUNCTION_INFO_V1(dr_backup_incremental);
PG_FUNCTION_INFO_V1(pg_dr_backup_progress);

/*
 * Inside PG_CATCH of a failed backup: queue the "backup_failed" alert
 * with the error's message (copied in context, the caller's), and leave
 * the error in place for the audit record.  A cancel is no failure.
 */
/* What the failure hook of a backup call needs. */
typedef struct ApiBackupAlert
{
	const char *operation;
	MemoryContext context;		/* the caller's: the error is copied there */
	bool		incremental;
	TimestampTz startedAt;		/* for its row of dr_jobs */
} ApiBackupAlert;

/*
 * The failure hook (api/call.c) of dr_backup_*: raise "backup_failed",
 * queued, unless the backup was cancelled; queue the job's row of
 * dr_jobs (failed or cancelled) for the worker (ops/schedule.h).
 */
static void
apiBackupAlertFailed(void *arg)
{
	ApiBackupAlert *alert = arg;
	MemoryContext errorContext = MemoryContextSwitchTo(alert->context);
	ErrorData  *edata = CopyErrorData();

	if (edata->sqlerrcode != ERRCODE_QUERY_CANCELED)
	{
		AlertRaise	raise;

		memset(&raise, 0, sizeof(raise));
		raise.source = "backup";
		raise.key = "backup_failed";
		raise.severity = ALERT_WARNING;
		raise.message = psprintf("%s failed: %s", alert->operation,
								 edata->message ? edata->message : "unknown error");
		alertRaiseQueued(&raise);
	}
	{
		ScheduleJobRecord job;

		memset(&job, 0, sizeof(job));
		job.incremental = alert->incremental;
		job.startedAt = alert->startedAt;
		job.finishedAt = GetCurrentTimestamp();
		job.result = edata->sqlerrcode == ERRCODE_QUERY_CANCELED ? "cancelled" : "failed";
		job.bytes = -1;
		job.error = edata->message ? edata->message : "unknown error";
		scheduleJobQueueManual(&job);
	}
	FreeErrorData(edata);
	MemoryContextSwitchTo(errorContext);
}

static Datum
apiBackup(FunctionCallInfo fcinfo, bool incremental)
{
	ApiBackupAlert alertArg;
	BackupParam param;
	BackupSummary summary;
	ApiCall    *call;
	char	   *volatile id = NULL;
	const char *operation = incremental ? "dr_backup_incremental" : "dr_backup_full";

	memset(&param, 0, sizeof(param));
	param.incremental = incremental;
	if (incremental)
	{
		param.parentId = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
		param.label = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
		if (PG_ARGISNULL(2))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("strict must not be NULL"),
					 errhint("strict => true never takes a full backup instead; false (the default) does when there is nothing valid to build on.")));
		param.strict = PG_GETARG_BOOL(2);
	}
	else
		param.label = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));

	/* a line of backup_label: see args.c */
	if (param.label)
		apiTextArgCheck(operation, "label", param.label, 0, BACKUP_LABEL_MAX);

	call = apiCallNew(operation);
	apiArgText(call, "label", param.label);
	if (param.parentId)
		apiArgText(call, "parent", param.parentId);
	if (param.strict)
		apiArgBool(call, "strict", true);
	/*
	 * A failure raises the "backup_failed" alert (queued: the transaction
	 * is about to abort); a good backup resolves it.
	 */
	alertArg.operation = operation;
	alertArg.context = CurrentMemoryContext;
	alertArg.incremental = incremental;
	alertArg.startedAt = GetCurrentTimestamp();
	apiCallOnFailure(call, apiBackupAlertFailed, &alertArg);
	API_CALL_BEGIN(call);
	{
		ApiOwnerContext owner;

		param.config = apiConfigLoad();
		param.configFile = drConfigFile;

		/* a restored cluster does not back up into its source's repository */
		{
			DrError		err;
			const ConfigRepo *first = configRepoFirstRequired(param.config, &err);

			if (first != NULL)
				apiOriginGuard(first, operation);
		}

		/* the catalog row is written as the owner; the rest is server work */
		apiAsOwnerBegin(&owner);
		id = backupRun(&param, &summary);
		alertResolve("backup", "backup_failed");
		{
			/* its row of dr_jobs, committed with the catalog's row */
			ScheduleJobRecord job;

			memset(&job, 0, sizeof(job));
			job.incremental = incremental && !summary.fullInstead;
			job.startedAt = alertArg.startedAt;
			job.finishedAt = GetCurrentTimestamp();
			job.result = "ok";
			job.backupId = id;
			job.bytes = (int64) summary.storedBytes;
			job.reason = summary.fullInstead ? summary.fullInsteadReason : NULL;
			scheduleJobRecordManual(&job);
		}
		apiAsOwnerEnd(&owner);

		if (summary.corruptPages > 0)
			ereport(WARNING,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("backup %s found " UINT64_FORMAT " corrupt pages",
							id, summary.corruptPages),
					 errhint("The server log names each file and block; the backup stores them as read.")));
	}
	API_CALL_END(call);

	/* the audit record names the backup, and a full taken instead */
	apiArgText(call, "backup_id", id);
	if (summary.fullInstead)
		apiArgText(call, "full_instead", summary.fullInsteadReason);
	apiArgUint64(call, "files", summary.files);
	apiArgUint64(call, "data_bytes", summary.dataBytes);
	apiArgUint64(call, "stored_bytes", summary.storedBytes);
	apiArgUint64(call, "pages_changed", summary.pagesChanged);
	apiArgUint64(call, "corrupt_pages", summary.corruptPages);
	apiCallOk(call);
	PG_RETURN_TEXT_P(cstring_to_text(id));
}

Datum
dr_backup_full(PG_FUNCTION_ARGS)
{
	return apiBackup(fcinfo, false);
}

Datum
dr_backup_incremental(PG_FUNCTION_ARGS)
{
	return apiBackup(fcinfo, true);
}

Datum
pg_dr_backup_progress(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	BackupProgressSnapshot progress;
	Datum		values[9];
	bool		nulls[9] = {0};
	double		seconds;

	InitMaterializedSRF(fcinfo, 0);

	backupProgressSnapshot(&progress);
	if (!progress.running)
		return (Datum) 0;
	seconds = (double) (GetCurrentTimestamp() - progress.startedAt) / USECS_PER_SEC;

	values[0] = CStringGetTextDatum(progress.backupId);
	values[1] = Int32GetDatum(progress.leaderPid);
	values[2] = CStringGetTextDatum(progress.phase);
	values[3] = TimestampTzGetDatum(progress.startedAt);
	values[4] = Int64GetDatum((int64) progress.filesDone);
	values[5] = Int64GetDatum((int64) progress.filesTotal);
	values[6] = Int64GetDatum((int64) progress.bytesDone);
	values[7] = Int64GetDatum((int64) progress.bytesTotal);
	values[8] = Float8GetDatum(seconds > 0 ? progress.bytesDone / seconds : 0);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}
