/*-------------------------------------------------------------------------
 * restore.c (api)
 *	  dr_restore(): a backup restored into a side directory of the server
 *	  host (restore/restore.h), never into the running cluster; read from
 *	  the first repository that has a good copy (repo/repo_fallback.h), or
 *	  from the one repository its repo argument names (as "pg_dr restore
 *	  --repo N": no fallback, recovery's wal-get reads that one too).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "api/api.h"
#include "ops/audit.h"
#include "ops/objectives.h"
#include "ops/progress.h"
#include "pg_dr.h"
#include "repo/repo_fallback.h"
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
 * what it warns about becomes a WARNING.  False with err when it fails.
 */
static bool
apiRestoreFollow(Repo *repo, RestoreTarget *target, const char *backupId,
				 DrError *err)
{
	RestoreFollow follow;
	bool		chosen;

	chosen = restoreFollowChoose(repo, target, backupId, 0, &follow, err);
	for (int i = 0; follow.reach != NULL && i < follow.reach->unreadableCount; i++)
		ereport(WARNING,
				(errmsg("left out of the choice of a timeline: %s",
						follow.reach->unreadable[i])));
	if (chosen && follow.pick.warning[0] != '\0')
		ereport(WARNING,
				(errmsg("%s", follow.pick.warning),
				 errhint("Another timeline comes from a promotion: a failover, or a restored cluster that archived here.  To follow another timeline, restore with \"pg_dr restore --target-timeline\".")));
	restoreFollowFree(&follow);
	return chosen;
}

/*
 * Restore a backup into a directory of the server host (a side directory:
 * never the running cluster's, nor one of its tablespaces or a
 * repository).  The server's own pg_dr CLI is written as restore_command.
 * recovery_target: NULL to replay the archived WAL to its end, or
 * 'immediate' to stop at the end of the backup.  repo: NULL to read every
 * repository (falling back), or the only one to read.
 */
Datum
dr_restore(PG_FUNCTION_ARGS)
{
	char	   *backupId;
	char	   *target;
	char	   *volatile recoveryTarget = NULL;
	bool		repoNull = PG_NARGS() <= 3 || PG_ARGISNULL(3);
	int32		repoArg = repoNull ? 0 : PG_GETARG_INT32(3);
	ApiCall    *call = apiCallNew("dr_restore");
	RestoreResult result;
	char	   *volatile resolved = NULL;
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {0};
	TimestampTz startedAt;

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
	if (!repoNull)
		apiArgInt64(call, "repo", repoArg);

	memset(&result, 0, sizeof(result));
	startedAt = GetCurrentTimestamp();
	API_CALL_BEGIN(call);
	{
		DrConfig   *config;
		RepoReadSet set;
		Repo	   *fallbackRepos[CONFIG_REPO_MAX];
		int			fallbackNumbers[CONFIG_REPO_MAX];
		Restore    *restore = NULL;
		const DrHost *host;
		RestoreParam param;
		RestoreTarget recovery;
		DrError		err;
		DrError		firstErr;
		char		program[MAXPGPATH];
		int			forced;

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

		config = apiConfigLoad();
		forced = apiRepoArg(config, repoNull, repoArg);
		host = progressBegin("restore");
		/* every repository, the next one read when a copy is bad; or one */
		if (!repoReadSetOpen(config, forced, host, &set, &err))
			drEreport(ERROR, &err);
		/* the pg_dr CLI is installed next to postgres */
		strlcpy(program, my_exec_path, sizeof(program));
		get_parent_directory(program);
		strlcat(program, "/pg_dr", sizeof(program));

		/*
		 * Resolve "latest" once, here: resolved after the restore, a backup
		 * that completed in between would be named instead of the one
		 * restored.  It is the newest of every repository read.
		 */
		if (strcmp(backupId, "latest") == 0 && set.count > 1)
			resolved = repoReadSetLatest(&set);
		for (int r = 0; r < set.count && resolved == NULL; r++)
		{
			resolved = repoBackupResolve(set.repos[r], backupId, &err);
			if (resolved == NULL && r == 0)
				firstErr = err;
		}
		if (resolved == NULL)
		{
			if (set.forced)
				drErrorPrefix(&firstErr, "repository %d: ", forced);
			drEreport(ERROR, &firstErr);
		}

		memset(&param, 0, sizeof(param));
		param.backupId = resolved;
		param.targetDir = target;
		param.restoreProgram = program;
		param.restoreConfigFile = drConfigFile;
		/* recovery's wal-get reads as the restore: every repository, or one */
		param.restoreRepoIndex = forced;
		param.guards = apiRestoreGuards(config, &param.guardCount);
		param.host = host;
		param.fallbackRepos = fallbackRepos;
		param.fallbackNumbers = fallbackNumbers;

		/*
		 * The repository restored from: the first that can choose the
		 * timeline as the CLI chooses it (another cluster's timeline in the
		 * archive must not take recovery off the source's history; 'latest'
		 * would follow it; 'immediate' stays on the backup's own timeline)
		 * and plan the restore.  The others are its fallbacks (restore.h).
		 */
		for (int r = 0; r < set.count && restore == NULL; r++)
		{
			RestoreTarget tried = recovery;
			bool		planned;

			drErrorClear(&err);
			/* named in messages when it is not the only one configured */
			param.repoNumber = set.count > 1 || set.forced ? set.numbers[r] : 0;
			param.fallbackCount = 0;
			for (int k = 0; k < set.count; k++)
				if (k != r)
				{
					fallbackRepos[param.fallbackCount] = set.repos[k];
					fallbackNumbers[param.fallbackCount] = set.numbers[k];
					param.fallbackCount++;
				}
			planned = tried.kind == RESTORE_TARGET_IMMEDIATE ||
				apiRestoreFollow(set.repos[r], &tried, resolved, &err);
			if (planned)
			{
				/* as the CLI: every other target emptied, whatever the backup has */
				param.recoverySettings = restoreTargetSettings(&tried);
				restore = restoreBegin(set.repos[r], &param, &err);
			}
			if (restore != NULL)
				break;
			if (err.code == DR_ERR_CANCELED || r == set.count - 1 ||
				(!repoReadFallsBack(&err) && err.code != DR_ERR_INVALID))
			{
				if (set.count > 1 || set.forced)
					drErrorPrefix(&err, "repository %d: ", set.numbers[r]);
				drEreport(ERROR, &err);
			}
			{
				char	   *msg = repoFallbackMessage(set.numbers[r], NULL, &err,
													  "restoring", set.numbers[r + 1]);

				hostWarning(host, msg);
				pfree(msg);
			}
		}
		if (!restorePrepare(restore, &err) ||
			!restoreFiles(restore, 1, 0, &result, &err) ||
			!restoreFinish(restore, &result, &err))
			drEreport(ERROR, &err);
		restoreFree(restore);
		progressEnd();
		repoReadSetClose(&set);
		configFree(config);
	}
	API_CALL_END(call);
	apiCallOk(call);

	/*
	 * The restore rate of this host, behind dr_status.rto_estimate (ops/
	 * objectives.h): bytes written over the whole call, from choosing the
	 * repository to the files synced.  Not where nothing can be written.
	 */
	if (!RecoveryInProgress() && !XactReadOnly)
	{
		ApiOwnerContext owner;

		apiAsOwnerBegin(&owner);
		objectivesRateRecord("restore", (int64) result.bytesWritten,
							 (double) (GetCurrentTimestamp() - startedAt) / 1000000.0,
							 psprintf("dr_restore(%s)", resolved));
		apiAsOwnerEnd(&owner);
	}

	values[0] = CStringGetTextDatum(resolved);
	values[1] = Int64GetDatum((int64) result.filesWritten);
	values[2] = Int64GetDatum((int64) result.bytesWritten);
	values[3] = Int64GetDatum((int64) result.walSegments);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
