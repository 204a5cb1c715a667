/*-------------------------------------------------------------------------
 * restore.c (api)
 *	  dr_restore(): a backup restored into a side directory of the server
 *	  host (restore/restore.h), never into the running cluster.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "api/api.h"
#include "ops/audit.h"
#include "ops/progress.h"
#include "pg_dr.h"
#include "restore/restore.h"

PG_FUNCTION_INFO_V1(dr_restore);

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
		/* an object store's location (a bucket) is no local directory */
		if (config->repo[i].index != 0 && config->repo[i].path != NULL &&
			config->repo[i].path[0] == '/')
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
	ApiCall    *call = apiCallNew("dr_restore");
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

	apiArgText(call, "backup_id", backupId);
	apiArgText(call, "target_dir", target);
	if (recoveryTarget != NULL)
		apiArgText(call, "recovery_target", recoveryTarget);

	memset(&result, 0, sizeof(result));
	API_CALL_BEGIN(call);
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
		param.host = progressBegin("restore");
		if (!restoreRun(repo, &param, &result, &err))
			drEreport(ERROR, &err);
		progressEnd();
		repoClose(repo);
		configFree(config);
	}
	API_CALL_END(call);
	apiCallOk(call);

	values[0] = CStringGetTextDatum(resolved);
	values[1] = Int64GetDatum((int64) result.filesWritten);
	values[2] = Int64GetDatum((int64) result.bytesWritten);
	values[3] = Int64GetDatum((int64) result.walSegments);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
