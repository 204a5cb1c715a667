/*-------------------------------------------------------------------------
 * verify.c (api)
 *	  dr_backup_verify(): a backup and its chain re-read and checked
 *	  (backup/backup_verify.h) in every repository that holds it, or in
 *	  the one its repo argument names (as "pg_dr verify --repo N"), the
 *	  result kept in the catalog.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"

#include "api/api.h"
#include "ops/alert.h"
#include "backup/backup.h"
#include "ops/audit.h"
#include "ops/progress.h"
#include "pg_dr.h"
#include "restore/restore.h"
#include "backup/backup_verify.h"
#include "repo/repo_fallback.h"

PG_FUNCTION_INFO_V1(dr_backup_verify);

typedef struct VerifyCollect
{
	uint64		problems;
	char	   *first;
	int			repoNumber;		/* the repository verified, when several */
} VerifyCollect;

/*
 * Each problem is a WARNING (naming the repository when several are
 * verified); the first one is kept for the catalog.
 */
static void
apiVerifyProblem(void *arg, const char *path, const char *message)
{
	VerifyCollect *collect = arg;
	char	   *where = collect->repoNumber != 0 ?
		psprintf("repository %d: ", collect->repoNumber) : pstrdup("");

	collect->problems++;
	if (collect->first == NULL)
		collect->first = psprintf("%s%s: %s", where, path, message);
	ereport(WARNING,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("%s%s", where, message),
			 errdetail("Object \"%s\".", path)));
	pfree(where);
}

/*
 * The "verify_failed:<id>" alert (ops/alert.h): raised, critical, when the
 * backup has problems; resolved when a later verification finds none.
 */
static void
apiVerifyAlert(const char *id, bool ok, const VerifyCollect *collect)
{
	char	   *key = psprintf("verify_failed:%s", id);
	AlertRaise	raise;

	if (ok)
	{
		alertResolve("verify", key);
		return;
	}
	memset(&raise, 0, sizeof(raise));
	raise.source = "verify";
	raise.key = key;
	raise.severity = ALERT_CRITICAL;
	raise.message = psprintf("backup %s failed verification with " UINT64_FORMAT " problem(s); the first: %s",
							 id, collect->problems,
							 collect->first ? collect->first : "(not recorded)");
	raise.hasValue = true;
	raise.value = (double) collect->problems;
	(void) alertRaise(&raise);
}

/*
 * Re-read every object of a backup and of its chain: authenticate,
 * decompress, check sizes and SHA-256 against the manifest.  The result is
 * recorded in dr_backups (status damaged, with the first problem).  repo:
 * NULL for every repository's copy, or the only repository to read.
 */
Datum
dr_backup_verify(PG_FUNCTION_ARGS)
{
	char	   *backupId;
	bool		repoNull = PG_NARGS() <= 1 || PG_ARGISNULL(1);
	int32		repoArg = repoNull ? 0 : PG_GETARG_INT32(1);
	ApiCall    *call = apiCallNew("dr_backup_verify");
	VerifyCollect collect;
	volatile bool ok = false;
	VerifyResult result;

	/* not STRICT: repo NULL means every repository */
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("backup_id must not be null")));
	backupId = text_to_cstring(PG_GETARG_TEXT_PP(0));
	memset(&collect, 0, sizeof(collect));
	memset(&result, 0, sizeof(result));
	apiArgText(call, "backup_id", backupId);
	if (!repoNull)
		apiArgInt64(call, "repo", repoArg);
	API_CALL_BEGIN(call);
	{
		DrConfig   *config = apiConfigLoad();
		int			forced = apiRepoArg(config, repoNull, repoArg);
		int			numbers[CONFIG_REPO_MAX];
		int			count = repoReadOrder(config, forced, numbers);
		VerifyParam param;
		char	   *id = NULL;
		DrError		err;
		DrError		firstErr;
		ApiOwnerContext owner;
		int			holding = 0;

		/*
		 * Every repository's copy (repo/repo_fallback.h): a restore reads
		 * the next repository's when one is bad, and the DBA must know
		 * which.  "latest" is the newest of any repository.
		 */
		drErrorClear(&firstErr);
		if (count == 0)
		{
			configRepoFirst(config, &err);
			drEreport(ERROR, &err);
		}
		id = backupId;
		if (strcmp(backupId, "latest") == 0 && count > 1)
		{
			RepoReadSet set;

			if (repoReadSetOpen(config, 0, NULL, &set, &err))
			{
				char	   *newest = repoReadSetLatest(&set);

				if (newest != NULL)
					id = newest;
				repoReadSetClose(&set);
			}
		}

		memset(&param, 0, sizeof(param));
		param.chain = true;
		param.problem = apiVerifyProblem;
		param.problemArg = &collect;
		param.host = progressBegin("verify");
		ok = true;
		for (int r = 0; r < count; r++)
		{
			Repo	   *repo;
			char	   *resolved;
			VerifyResult one;

			/* named when several are read, or one was asked for */
			collect.repoNumber = count > 1 || forced != 0 ? numbers[r] : 0;
			drErrorClear(&err);
			repo = repoOpen(&config->repo[numbers[r]], &err);
			resolved = repo != NULL ? repoBackupResolve(repo, id, &err) : NULL;
			if (resolved == NULL)
			{
				/* an unknown id is an error, not a failed verification */
				if (firstErr.code == DR_OK)
					firstErr = err;
				if (repo != NULL)
					repoClose(repo);
				if (count > 1 && err.code != DR_ERR_INVALID)
				{
					char	   *path = repo != NULL ?
						psprintf("backup/%s", id) : pstrdup(config->repo[numbers[r]].path);

					apiVerifyProblem(&collect, path, err.message);
					ok = false;
				}
				continue;
			}
			holding++;
			id = resolved;
			ok &= verifyBackup(repo, id, &param, &one);
			repoClose(repo);
			result.backups += one.backups;
			result.files += one.files;
			result.objects += one.objects;
			result.bytes += one.bytes;
			result.walSegments += one.walSegments;
			result.problems += one.problems;
			/* stopped part-way: not recorded, neither valid nor damaged */
			if (one.cancelled)
			{
				drErrorSet(&err, DR_ERR_CANCELED, "verification of backup %s canceled", id);
				drEreport(ERROR, &err);
			}
		}
		progressEnd();
		if (holding == 0)
		{
			if (forced != 0)
				drErrorPrefix(&firstErr, "repository %d: ", forced);
			drEreport(ERROR, &firstErr);
		}
		/* "latest" names a different backup tomorrow: record which one */
		apiArgText(call, "resolved_id", id);

		apiAsOwnerBegin(&owner);
		backupCatalogVerified(id, collect.first);
		apiVerifyAlert(id, ok, &collect);
		apiAsOwnerEnd(&owner);
		configFree(config);
	}
	API_CALL_END(call);

	apiArgBool(call, "ok", ok);
	apiArgUint64(call, "objects", result.objects);
	apiArgUint64(call, "problems", collect.problems);
	apiCallOk(call);
	PG_RETURN_BOOL(ok);
}
