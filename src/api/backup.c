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
#include "storage/fd.h"
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

PG_FUNCTION_INFO_V1(pg_dr_repository_backups);

/*
 * The ids of the backups in the repository now, for the views that must
 * reflect it rather than the catalog (dr_pitr_window): `pg_dr expire` and
 * any removal by hand change the repository without telling the catalog,
 * which only dr_repository_sync() rebuilds.  A listing, no manifest read.
 * A repository that cannot be read is a WARNING and no rows: a view polled
 * by monitoring does not fail, and no backup can be counted on then.
 */
Datum
pg_dr_repository_backups(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	DrConfig   *config = NULL;
	const ConfigRepo *repoConfigEntry;
	Repo	   *repo = NULL;
	char	  **ids = NULL;
	int			count = 0;
	DrError		err;

	/* one text column: the descriptor the caller expects */
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	drErrorClear(&err);
	if (drConfigFile == NULL || drConfigFile[0] == '\0')
		drErrorSet(&err, DR_ERR_CONFIG, "pg_dr.config_file is not set");
	else if ((config = configLoad(drConfigFile, &err)) != NULL &&
			 (repoConfigEntry = configRepoFirst(config, &err)) != NULL &&
			 (repo = repoOpenLayout(repoConfigEntry, &err)) != NULL &&
			 repoBackupList(repo, &ids, &count, &err))
	{
		for (int i = 0; i < count; i++)
		{
			Datum		value = CStringGetTextDatum(ids[i]);
			bool		null = false;

			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc,
								 &value, &null);
		}
		repoBackupListFree(ids, count);
	}
	if (err.code != DR_OK)
		ereport(WARNING,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("could not list the backups of the repository: %s",
						err.message),
				 errhint("Until it can be read, no backup is counted (dr_status shows the problem).")));
	if (repo)
		repoClose(repo);
	configFree(config);
	return (Datum) 0;
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
 * {"backup_id": <as given>, "resolved_id": <the backup it named>} for the
 * audit record of dr_backup_verify; resolved_id once it is known.
 */
static char *
verifyArgs(const char *backupId, const char *resolvedId)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"backup_id\": ");
	escape_json(&buf, backupId);
	if (resolvedId)
	{
		appendStringInfoString(&buf, ", \"resolved_id\": ");
		escape_json(&buf, resolvedId);
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
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
	char	   *volatile resolvedId = NULL;

	memset(&collect, 0, sizeof(collect));
	memset(&result, 0, sizeof(result));
	auditOpBegin(&op, "dr_backup_verify", verifyArgs(backupId, NULL));
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
		/* "latest" names a different backup tomorrow: record which one */
		resolvedId = id;
		op.arguments = verifyArgs(backupId, id);

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
								  " WHEN corrupt_pages OPERATOR(pg_catalog.>) 0 THEN 'corrupt'"
								  " ELSE 'valid' END"
								  " WHERE backup_id OPERATOR(pg_catalog.=) $1",
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

	{
		char	   *args = verifyArgs(backupId, resolvedId);

		op.arguments = psprintf("%.*s, \"ok\": %s, \"objects\": " UINT64_FORMAT
								", \"problems\": " UINT64_FORMAT "}",
								(int) strlen(args) - 1, args,
								ok ? "true" : "false", result.objects,
								collect.problems);
	}
	auditOpOk(&op);
	PG_RETURN_BOOL(ok);
}

/* A growing list of guards (apiRestoreGuards). */
typedef struct ApiGuards
{
	RestoreGuard *guards;
	int			count;
	int			size;
} ApiGuards;

static void
apiRestoreGuardAdd(ApiGuards *list, const char *path, const char *what)
{
	if (list->count == list->size)
	{
		list->size = list->size ? list->size * 2 : 8;
		list->guards = list->guards ?
			repalloc(list->guards, list->size * sizeof(RestoreGuard)) :
			palloc(list->size * sizeof(RestoreGuard));
	}
	list->guards[list->count].path = path;
	list->guards[list->count].what = what;
	list->count++;
}

/*
 * What dr_restore() must stay out of: the data directory, its WAL
 * directory and every tablespace (restorePrepare resolves their links),
 * and every configured repository.
 */
static RestoreGuard *
apiRestoreGuards(const DrConfig *config, int *count)
{
	ApiGuards	list;
	char		path[MAXPGPATH];
	DIR		   *dir;
	struct dirent *de;

	memset(&list, 0, sizeof(list));
	apiRestoreGuardAdd(&list, DataDir, "the running cluster's data directory");
	apiRestoreGuardAdd(&list, psprintf("%s/pg_wal", DataDir),
					   "the running cluster's WAL directory");
	for (int i = 1; i <= CONFIG_REPO_MAX; i++)
		if (config->repo[i].index != 0 && config->repo[i].path != NULL)
			apiRestoreGuardAdd(&list, config->repo[i].path,
							   psprintf("the repository of repo%d", i));

	snprintf(path, sizeof(path), "%s/pg_tblspc", DataDir);
	dir = AllocateDir(path);
	while ((de = ReadDir(dir, path)) != NULL)
	{
		char		link[MAXPGPATH];
		char		location[MAXPGPATH];
		ssize_t		len;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(link, sizeof(link), "%s/%s", path, de->d_name);
		len = readlink(link, location, sizeof(location) - 1);
		if (len > 0)
			location[len] = '\0';
		else
			strlcpy(location, link, sizeof(location));	/* an in-place one */
		apiRestoreGuardAdd(&list, pstrdup(location),
						   psprintf("the running cluster's tablespace %s", de->d_name));
	}
	FreeDir(dir);
	*count = list.count;
	return list.guards;
}

/*
 * Set target->timeline as "pg_dr restore" does (restoreFollowChoose):
 * what it warns about becomes a WARNING.
 */
static void
apiRestoreFollow(Repo *repo, RestoreTarget *target, const char *backupId)
{
	RestoreFollow follow;
	DrError		err;
	bool		chosen;

	drErrorClear(&err);
	chosen = restoreFollowChoose(repo, target, backupId, 0, &follow, &err);
	for (int i = 0; follow.reach != NULL && i < follow.reach->unreadableCount; i++)
		ereport(WARNING,
				(errmsg("left out of the choice of a timeline: %s",
						follow.reach->unreadable[i])));
	if (!chosen)
	{
		restoreFollowFree(&follow);
		drEreport(ERROR, &err);
	}
	if (follow.pick.warning[0] != '\0')
		ereport(WARNING,
				(errmsg("%s", follow.pick.warning),
				 errhint("Another timeline comes from a promotion: a failover, or a restored cluster that archived here.  To follow another timeline, restore with \"pg_dr restore --target-timeline\".")));
	restoreFollowFree(&follow);
}

/*
 * Restore a backup into a directory of the server host (a side directory:
 * never the running cluster's, nor one of its tablespaces or a
 * repository).  The server's own pg_dr CLI is written as restore_command.
 * recovery_target: NULL to replay the archived WAL to its end, or
 * 'immediate' to stop at the end of the backup.
 */
Datum
dr_restore(PG_FUNCTION_ARGS)
{
	char	   *backupId;
	char	   *target;
	char	   *volatile recoveryTarget = NULL;
	AuditOp		op;
	StringInfoData args;
	RestoreResult result;
	char	   *volatile resolved = NULL;
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {0};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", PG_ARGISNULL(0) ? "backup_id" : "target_dir")));
	backupId = text_to_cstring(PG_GETARG_TEXT_PP(0));
	target = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (PG_NARGS() > 2 && !PG_ARGISNULL(2))
		recoveryTarget = text_to_cstring(PG_GETARG_TEXT_PP(2));

	initStringInfo(&args);
	appendStringInfoString(&args, "{\"backup_id\": ");
	escape_json(&args, backupId);
	appendStringInfoString(&args, ", \"target_dir\": ");
	escape_json(&args, target);
	if (recoveryTarget != NULL)
	{
		appendStringInfoString(&args, ", \"recovery_target\": ");
		escape_json(&args, recoveryTarget);
	}
	appendStringInfoChar(&args, '}');
	auditOpBegin(&op, "dr_restore", args.data);

	memset(&result, 0, sizeof(result));
	PG_TRY();
	{
		DrConfig   *config;
		Repo	   *repo;
		RestoreParam param;
		RestoreTarget recovery;
		DrError		err;
		char		program[MAXPGPATH];

		if (!is_absolute_path(target))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("target directory \"%s\" is not an absolute path", target)));
		memset(&recovery, 0, sizeof(recovery));
		drErrorClear(&err);
		if (recoveryTarget != NULL &&
			!restoreTargetParse(RESTORE_TARGET_IMMEDIATE, recoveryTarget,
								&recovery, &err))
		{
			drErrorHint(&err, "recovery_target is NULL (replay the archived WAL to its end) or 'immediate' (stop at the end of the backup); dr_restore() takes no other target.");
			drEreport(ERROR, &err);
		}

		repo = apiRepoOpen(&config);
		/* the pg_dr CLI is installed next to postgres */
		strlcpy(program, my_exec_path, sizeof(program));
		get_parent_directory(program);
		strlcat(program, "/pg_dr", sizeof(program));

		/*
		 * Resolve "latest" once, here: resolved after the restore, a backup
		 * that completed in between would be named instead of the one
		 * restored.
		 */
		resolved = repoBackupResolve(repo, backupId, &err);
		if (resolved == NULL)
			drEreport(ERROR, &err);

		memset(&param, 0, sizeof(param));
		param.backupId = resolved;
		param.targetDir = target;
		param.restoreProgram = program;
		param.restoreConfigFile = drConfigFile;
		param.restoreRepoIndex = repoConfig(repo)->index;
		/*
		 * The timeline, chosen as the CLI chooses it: another cluster's
		 * timeline in the archive must not take recovery off the source's
		 * history ('latest' would follow it).  'immediate' stays on the
		 * backup's own timeline.
		 */
		if (recovery.kind != RESTORE_TARGET_IMMEDIATE)
			apiRestoreFollow(repo, &recovery, resolved);
		/* as the CLI: every other target emptied, whatever the backup has */
		param.recoverySettings = restoreTargetSettings(&recovery);
		param.guards = apiRestoreGuards(config, &param.guardCount);
		if (!restoreRun(repo, &param, &result, &err))
			drEreport(ERROR, &err);
		repoClose(repo);
		configFree(config);
	}
	PG_CATCH();
	{
		auditOpFailed(&op);
	}
	PG_END_TRY();
	auditOpOk(&op);

	values[0] = CStringGetTextDatum(resolved);
	values[1] = Int64GetDatum((int64) result.filesWritten);
	values[2] = Int64GetDatum((int64) result.bytesWritten);
	values[3] = Int64GetDatum((int64) result.walSegments);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
