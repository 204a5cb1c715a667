/*-------------------------------------------------------------------------
 * verify.c (api)
 *	  dr_backup_verify(): a backup and its chain re-read and checked
 *	  (backup/backup_verify.h), the result kept in the catalog.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/json.h"

#include "api/api.h"
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
		param.host = progressBegin("verify");
		ok = verifyBackup(repo, id, &param, &result);
		progressEnd();
		/* stopped part-way: not recorded, neither valid nor damaged */
		if (result.cancelled)
		{
			drErrorSet(&err, DR_ERR_CANCELED, "verification of backup %s canceled", id);
			drEreport(ERROR, &err);
		}

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
