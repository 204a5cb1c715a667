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
#include "utils/json.h"
#include "utils/timestamp.h"

#include "api/api.h"
#include "backup/backup.h"
#include "backup/backup_progress.h"
#include "ops/audit.h"
#include "pg_dr.h"
#include "backup/backup_verify.h"

/* PostgreSQL's own limit is MAXPGPATH; this leaves room for the rest */
#define BACKUP_LABEL_MAX	1000

PG_FUNCTION_INFO_V1(dr_backup_full);
PG_FUNCTION_INFO_V1(dr_backup_incremental);
PG_FUNCTION_INFO_V1(pg_dr_backup_progress);

/* {"label": ..., "parent": ...} for the audit record */
static char *
backupArgs(const char *label, const char *parent)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"label\": ");
	if (label)
		escape_json(&buf, label);
	else
		appendStringInfoString(&buf, "null");
	if (parent)
	{
		appendStringInfoString(&buf, ", \"parent\": ");
		escape_json(&buf, parent);
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

static Datum
apiBackup(FunctionCallInfo fcinfo, bool incremental)
{
	BackupParam param;
	BackupSummary summary;
	AuditOp		op;
	char	   *volatile id = NULL;
	const char *operation = incremental ? "dr_backup_incremental" : "dr_backup_full";

	memset(&param, 0, sizeof(param));
	param.incremental = incremental;
	if (incremental)
	{
		param.parentId = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
		param.label = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	}
	else
		param.label = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));

	/* a line of backup_label: see args.c */
	if (param.label)
		apiTextArgCheck(operation, "label", param.label, 0, BACKUP_LABEL_MAX);

	auditOpBegin(&op, operation, backupArgs(param.label, param.parentId));
	PG_TRY();
	{
		ApiOwnerContext owner;

		param.config = apiConfigLoad();
		param.configFile = drConfigFile;

		/* a restored cluster does not back up into its source's repository */
		{
			DrError		err;
			const ConfigRepo *first = configRepoFirst(param.config, &err);

			if (first != NULL)
				apiOriginGuard(first, operation);
		}

		/* the catalog row is written as the owner; the rest is server work */
		apiAsOwnerBegin(&owner);
		id = backupRun(&param, &summary);
		apiAsOwnerEnd(&owner);

		if (summary.corruptPages > 0)
			ereport(WARNING,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("backup %s found " UINT64_FORMAT " corrupt pages",
							id, summary.corruptPages),
					 errhint("The server log names each file and block; the backup stores them as read.")));
	}
	PG_CATCH();
	{
		auditOpFailed(&op);
	}
	PG_END_TRY();

	/* the audit record names the backup */
	{
		StringInfoData buf;

		initStringInfo(&buf);
		appendStringInfo(&buf, "%.*s, \"backup_id\": ",
						 (int) strlen(op.arguments) - 1, op.arguments);
		escape_json(&buf, id);
		appendStringInfo(&buf, ", \"files\": " UINT64_FORMAT
						 ", \"data_bytes\": " UINT64_FORMAT
						 ", \"stored_bytes\": " UINT64_FORMAT
						 ", \"pages_changed\": " UINT64_FORMAT
						 ", \"corrupt_pages\": " UINT64_FORMAT "}",
						 summary.files, summary.dataBytes, summary.storedBytes,
						 summary.pagesChanged, summary.corruptPages);
		op.arguments = buf.data;
	}
	auditOpOk(&op);
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
	Datum		values[9];
	bool		nulls[9] = {0};
	bool		running;
	int			pid;
	char		id[MANIFEST_ID_MAX + 1];
	char		phase[32];
	TimestampTz started;
	uint64		filesDone,
				filesTotal,
				bytesDone,
				bytesTotal;
	double		seconds;

	InitMaterializedSRF(fcinfo, 0);

	SpinLockAcquire(&backupProgress->mutex);
	running = backupProgress->running;
	pid = backupProgress->leaderPid;
	strlcpy(id, backupProgress->backupId, sizeof(id));
	strlcpy(phase, backupProgress->phase, sizeof(phase));
	started = backupProgress->startedAt;
	SpinLockRelease(&backupProgress->mutex);
	if (!running)
		return (Datum) 0;

	filesDone = pg_atomic_read_u64(&backupProgress->filesDone);
	filesTotal = pg_atomic_read_u64(&backupProgress->filesTotal);
	bytesDone = pg_atomic_read_u64(&backupProgress->bytesDone);
	bytesTotal = pg_atomic_read_u64(&backupProgress->bytesTotal);
	seconds = (double) (GetCurrentTimestamp() - started) / USECS_PER_SEC;

	values[0] = CStringGetTextDatum(id);
	values[1] = Int32GetDatum(pid);
	values[2] = CStringGetTextDatum(phase);
	values[3] = TimestampTzGetDatum(started);
	values[4] = Int64GetDatum((int64) filesDone);
	values[5] = Int64GetDatum((int64) filesTotal);
	values[6] = Int64GetDatum((int64) bytesDone);
	values[7] = Int64GetDatum((int64) bytesTotal);
	values[8] = Float8GetDatum(seconds > 0 ? bytesDone / seconds : 0);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}
