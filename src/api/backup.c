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

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/timestamp.h"

#include "api/api.h"
#include "backup/backup.h"
#include "backup/backup_progress.h"
#include "common/config.h"
#include "ops/audit.h"
#include "pg_dr.h"
#include "repo/repo.h"
#include "repo/repo_backup.h"
#include "restore/restore.h"
#include "restore/verify.h"

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

	if (param.label && strlen(param.label) > 1000)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("backup label is too long (%zu bytes, at most 1000)",
						strlen(param.label))));

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

PG_FUNCTION_INFO_V1(dr_repository_sync);

/* Rebuild the catalog of backups from the repository. */
Datum
dr_repository_sync(PG_FUNCTION_ARGS)
{
	AuditOp		op;
	volatile int count = 0;

	auditOpBegin(&op, "dr_repository_sync", "{}");
	PG_TRY();
	{
		ApiOwnerContext owner;
		DrConfig   *config;
		Repo	   *repo = apiRepoOpen(&config);

		apiAsOwnerBegin(&owner);
		count = backupCatalogSync(repo);
		apiAsOwnerEnd(&owner);
		repoClose(repo);
		configFree(config);
	}
	PG_CATCH();
	{
		auditOpFailed(&op);
	}
	PG_END_TRY();
	op.arguments = psprintf("{\"backups\": %d}", count);
	auditOpOk(&op);
	PG_RETURN_INT32(count);
}

PG_FUNCTION_INFO_V1(dr_repository_create);

/*
 * Initialize the first configured repository (what `pg_dr repo-create`
 * does), for DBAs who configure everything from SQL.
 */
Datum
dr_repository_create(PG_FUNCTION_ARGS)
{
	AuditOp		op;
	char	   *volatile path = NULL;

	auditOpBegin(&op, "dr_repository_create", "{}");
	PG_TRY();
	{
		DrConfig   *config = apiConfigLoad();
		const ConfigRepo *repoConfigEntry;
		DrError		err;

		repoConfigEntry = configRepoFirst(config, &err);
		if (repoConfigEntry == NULL)
			drEreport(ERROR, &err);
		if (!repoCreate(repoConfigEntry, 0, &err))
			drEreport(ERROR, &err);
		path = pstrdup(repoConfigEntry->path);
		configFree(config);
	}
	PG_CATCH();
	{
		auditOpFailed(&op);
	}
	PG_END_TRY();
	{
		StringInfoData buf;

		initStringInfo(&buf);
		appendStringInfoString(&buf, "{\"path\": ");
		escape_json(&buf, path);
		appendStringInfoChar(&buf, '}');
		op.arguments = buf.data;
	}
	auditOpOk(&op);
	PG_RETURN_TEXT_P(cstring_to_text(path));
}

PG_FUNCTION_INFO_V1(dr_backup_verify);
PG_FUNCTION_INFO_V1(dr_restore);

typedef struct VerifyCollect
{
	uint64		problems;
	char	   *first;
} VerifyCollect;

/* Each problem is a WARNING; the first one is kept for the catalog. */
static void
apiVerifyProblem(void *arg, const char *path, const char *message)
{
	VerifyCollect *collect = arg;

	collect->problems++;
	if (collect->first == NULL)
		collect->first = psprintf("%s: %s", path, message);
	ereport(WARNING,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("%s", message),
			 errdetail("Object \"%s\".", path)));
}

/*
 * Re-read every object of a backup and of its chain: authenticate,
 * decompress, check sizes and SHA-256 against the manifest.  The result is
 * recorded in dr_backups (status damaged, with the first problem).
 */
Datum
dr_backup_verify(PG_FUNCTION_ARGS)
{
	char	   *backupId = text_to_cstring(PG_GETARG_TEXT_PP(0));
	AuditOp		op;
	VerifyCollect collect;
	volatile bool ok = false;
	VerifyResult result;

	memset(&collect, 0, sizeof(collect));
	memset(&result, 0, sizeof(result));
	auditOpBegin(&op, "dr_backup_verify", backupArgs(NULL, NULL));
	{
		StringInfoData buf;

		initStringInfo(&buf);
		appendStringInfoString(&buf, "{\"backup_id\": ");
		escape_json(&buf, backupId);
		appendStringInfoChar(&buf, '}');
		op.arguments = buf.data;
	}
	PG_TRY();
	{
		DrConfig   *config;
		Repo	   *repo = apiRepoOpen(&config);
		VerifyParam param;
		char	   *id;
		DrError		err;
		ApiOwnerContext owner;
		Oid			argtypes[2] = {TEXTOID, TEXTOID};
		Datum		values[2];
		char		nulls[2] = {' ', ' '};

		/* an unknown id is an error, not a failed verification */
		id = repoBackupResolve(repo, backupId, &err);
		if (id == NULL)
			drEreport(ERROR, &err);

		memset(&param, 0, sizeof(param));
		param.chain = true;
		param.problem = apiVerifyProblem;
		param.problemArg = &collect;
		ok = verifyBackup(repo, id, &param, &result);

		values[0] = CStringGetTextDatum(id);
		if (collect.first)
			values[1] = CStringGetTextDatum(collect.first);
		else
			nulls[1] = 'n';
		apiAsOwnerBegin(&owner);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute_with_args("UPDATE pgdr.backups SET error = $2,"
								  " status = CASE WHEN $2 IS NOT NULL THEN 'damaged'"
								  " WHEN corrupt_pages > 0 THEN 'corrupt' ELSE 'valid' END"
								  " WHERE backup_id = $1",
								  2, argtypes, values, nulls, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not record the verification in pgdr.backups");
		SPI_finish();
		apiAsOwnerEnd(&owner);
		repoClose(repo);
		configFree(config);
	}
	PG_CATCH();
	{
		auditOpFailed(&op);
	}
	PG_END_TRY();

	op.arguments = psprintf("{\"backup_id\": \"%s\", \"ok\": %s, \"objects\": " UINT64_FORMAT
							", \"problems\": " UINT64_FORMAT "}",
							backupId, ok ? "true" : "false", result.objects,
							collect.problems);
	auditOpOk(&op);
	PG_RETURN_BOOL(ok);
}

/*
 * Restore a backup into a directory of the server host (a side directory:
 * never the running cluster's).  The server's own pg_dr CLI is written as
 * restore_command.
 */
Datum
dr_restore(PG_FUNCTION_ARGS)
{
	char	   *backupId = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *target = text_to_cstring(PG_GETARG_TEXT_PP(1));
	AuditOp		op;
	StringInfoData args;
	RestoreResult result;
	char	   *volatile resolved = NULL;
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {0};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	initStringInfo(&args);
	appendStringInfoString(&args, "{\"backup_id\": ");
	escape_json(&args, backupId);
	appendStringInfoString(&args, ", \"target_dir\": ");
	escape_json(&args, target);
	appendStringInfoChar(&args, '}');
	auditOpBegin(&op, "dr_restore", args.data);

	memset(&result, 0, sizeof(result));
	PG_TRY();
	{
		DrConfig   *config;
		Repo	   *repo;
		RestoreParam param;
		DrError		err;
		char		program[MAXPGPATH];

		if (!is_absolute_path(target))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("target directory \"%s\" is not an absolute path", target)));
		if (path_is_prefix_of_path(DataDir, target) ||
			path_is_prefix_of_path(target, DataDir))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("target directory \"%s\" overlaps the running cluster's data directory",
							target),
					 errhint("Restore into a directory of its own; use the pg_dr CLI to restore over a stopped cluster.")));

		repo = apiRepoOpen(&config);
		/* the pg_dr CLI is installed next to postgres */
		strlcpy(program, my_exec_path, sizeof(program));
		get_parent_directory(program);
		strlcat(program, "/pg_dr", sizeof(program));

		memset(&param, 0, sizeof(param));
		param.backupId = backupId;
		param.targetDir = target;
		param.restoreProgram = program;
		param.restoreConfigFile = drConfigFile;
		param.restoreRepoIndex = repoConfig(repo)->index;
		if (!restoreRun(repo, &param, &result, &err))
			drEreport(ERROR, &err);
		resolved = repoBackupResolve(repo, backupId, &err);
		repoClose(repo);
		configFree(config);
	}
	PG_CATCH();
	{
		auditOpFailed(&op);
	}
	PG_END_TRY();
	auditOpOk(&op);

	values[0] = CStringGetTextDatum(resolved ? resolved : backupId);
	values[1] = Int64GetDatum((int64) result.filesWritten);
	values[2] = Int64GetDatum((int64) result.bytesWritten);
	values[3] = Int64GetDatum((int64) result.walSegments);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
