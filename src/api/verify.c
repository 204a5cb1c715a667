/*-------------------------------------------------------------------------
 * verify.c (api)
 *	  dr_backup_verify(): a backup and its chain re-read and checked
 *	  (backup/backup_verify.h), the result kept in the catalog.
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

PG_FUNCTION_INFO_V1(dr_backup_verify);

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
 * recorded in dr_backups (status damaged, with the first problem).
 */
Datum
dr_backup_verify(PG_FUNCTION_ARGS)
{
	char	   *backupId = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ApiCall    *call = apiCallNew("dr_backup_verify");
	VerifyCollect collect;
	volatile bool ok = false;
	VerifyResult result;

	memset(&collect, 0, sizeof(collect));
	memset(&result, 0, sizeof(result));
	apiArgText(call, "backup_id", backupId);
	API_CALL_BEGIN(call);
	{
		DrConfig   *config;
		Repo	   *repo = apiRepoOpen(&config);
		VerifyParam param;
		char	   *id;
		DrError		err;
		ApiOwnerContext owner;

		/* an unknown id is an error, not a failed verification */
		id = repoBackupResolve(repo, backupId, &err);
		if (id == NULL)
			drEreport(ERROR, &err);
		/* "latest" names a different backup tomorrow: record which one */
		apiArgText(call, "resolved_id", id);

		memset(&param, 0, sizeof(param));
		param.chain = true;
		param.problem = apiVerifyProblem;
		param.problemArg = &collect;
		param.host = progressBegin("verify");
		ok = verifyBackup(repo, id, &param, &result);
		progressEnd();
		/* stopped part-way: not recorded, neither valid nor damaged */
		if (result.cancelled)
		{
			drErrorSet(&err, DR_ERR_CANCELED, "verification of backup %s canceled", id);
			drEreport(ERROR, &err);
		}

		apiAsOwnerBegin(&owner);
		backupCatalogVerified(id, collect.first);
		apiVerifyAlert(id, ok, &collect);
		apiAsOwnerEnd(&owner);
		repoClose(repo);
		configFree(config);
	}
	API_CALL_END(call);

	apiArgBool(call, "ok", ok);
	apiArgUint64(call, "objects", result.objects);
	apiArgUint64(call, "problems", collect.problems);
	apiCallOk(call);
	PG_RETURN_BOOL(ok);
}
