/*-------------------------------------------------------------------------
 * expire.c (api)
 *	  dr_expire([repo]): apply retention to every configured repository
 *	  (repo => N: to repository N only), each with its own policy
 *	  (repoN_retention_full, repoN_retention_full_days; when the repository
 *	  sets none, the current tier's retention_full and retention_full_days
 *	  of dr_objectives: retentionPolicyChoose): remove the backups beyond
 *	  it, manifest-less directories left by crashes, and the archived WAL
 *	  none of that repository's kept backups needs (src/ops/retention.h),
 *	  then drop the backups removed from the first repository from
 *	  pgdr.backups (the catalog mirrors the first repository, as
 *	  dr_repository_sync() rebuilds it).  A row per repository says what
 *	  went.  A backup whose manifest cannot be read is skipped with a
 *	  WARNING naming it, and nothing it might need is removed.
 *
 * A repository that cannot be opened or expired does not stop the others:
 * a WARNING names it, its row carries the error, and the call returns the
 * rows (the catalog changes and the audit record of what the others
 * removed are kept).  The call fails only when no repository could be
 * expired and one failed (with one repository, or repo => N, its error as
 * before), or when it is canceled.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "api/api.h"
#include "backup/backup.h"
#include "backup/backup_progress.h"
#include "common/config.h"
#include "ops/audit.h"
#include "ops/progress.h"
#include "pg_dr.h"
#include "pitr/pitr.h"
#include "repo/repo.h"
#include "repo/repo_fallback.h"
#include "ops/retention.h"

PG_FUNCTION_INFO_V1(dr_expire);

/* The ids removed, for the catalog and the audit record. */
typedef struct ExpireRemoved
{
	List	   *backups;
	List	   *orphans;
	List	   *skipped;		/* manifests that cannot be read */
} ExpireRemoved;

static void
expireOnBackup(void *arg, const char *backupId, bool orphan)
{
	ExpireRemoved *removed = arg;

	if (orphan)
		removed->orphans = lappend(removed->orphans, pstrdup(backupId));
	else
		removed->backups = lappend(removed->backups, pstrdup(backupId));
}

/* A hold that cannot be read: the backup is kept as held; say so. */
static void
expireOnHoldError(void *arg, const char *backupId, const char *message)
{
	ereport(WARNING,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("the legal hold of backup %s cannot be read: %s", backupId,
					message),
			 errdetail("The backup is kept as if it were held."),
			 errhint("Set the hold again with dr_backup_keep(), or lift it with dr_backup_keep('%s', NULL).",
					 backupId)));
}

/* A backup left out of the decision: say which, and what that keeps. */
static void
expireOnUnreadable(void *arg, const char *backupId, const char *message)
{
	ExpireRemoved *removed = arg;

	removed->skipped = lappend(removed->skipped, pstrdup(backupId));
	ereport(WARNING,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("backup %s is skipped: %s", backupId, message),
			 errdetail("Every backup older than it is kept and no archived WAL is removed while its manifest cannot be read."),
			 errhint("Check it with \"pg_dr verify --backup %s\"; remove its directory by hand if it is beyond repair.",
					 backupId)));
}

/* Drop the removed backups from pgdr.backups (as the owner). */
static void
expireCatalogPrune(Repo *repo, const char *runningId)
{
	ApiOwnerContext owner;

	apiAsOwnerBegin(&owner);
	(void) backupCatalogPrune(repo, runningId);
	apiAsOwnerEnd(&owner);
}

static void
expireCatalogRemove(List *ids)
{
	ApiOwnerContext owner;
	ListCell   *lc;

	apiAsOwnerBegin(&owner);
	foreach(lc, ids)
		backupCatalogRemove((const char *) lfirst(lc));
	apiAsOwnerEnd(&owner);
}

/*
 * The current tier's retention (dr_objectives.retention_full and
 * retention_full_days; 0 when unset), read as the extension owner.
 */
static void
expireTierPolicy(int *full, int *days)
{
	ApiOwnerContext owner;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	bool		isnull;
	Datum		d;

	*full = 0;
	*days = 0;
	args[0] = CStringGetTextDatum(drTierName(drTier));
	apiAsOwnerBegin(&owner);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT retention_full, retention_full_days FROM pgdr.objectives"
							  " WHERE tier OPERATOR(pg_catalog.=) $1",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pgdr.objectives");
	if (SPI_processed == 1)
	{
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		*full = isnull ? 0 : DatumGetInt32(d);
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
		*days = isnull ? 0 : DatumGetInt32(d);
	}
	SPI_finish();
	apiAsOwnerEnd(&owner);
}

/* What dr_expire() did in one repository: its row of the result. */
typedef struct ExpireRepoOutcome
{
	int			repo;
	RetentionPolicySource source;
	RetentionResult result;
	ExpireRemoved removed;
	bool		failed;
	DrError		err;			/* when failed */
} ExpireRepoOutcome;

/* The NOTICE that says why nothing, or no WAL, went from a repository. */
static void
expireNotice(const ExpireRepoOutcome *o)
{
	const RetentionResult *result = &o->result;

	if (result->walKept && result->backupsUnreadable > 0)
		ereport(NOTICE,
				(errmsg("no WAL is removed from repo%d while %d of its backups cannot be read",
						o->repo, result->backupsUnreadable)));
	else if (result->walKept)
		ereport(NOTICE,
				(errmsg("no WAL is removed from repo%d this time: a backup completed during dr_expire()",
						o->repo)));
	else if (result->walSkipped)
		ereport(NOTICE,
				(errmsg("no backup is kept in repo%d: no WAL is removed", o->repo)));
	else if (result->backupsRemoved == 0 && result->orphansRemoved == 0 &&
			 result->walRemoved == 0)
		ereport(NOTICE,
				(errmsg("nothing to expire: %d backups kept, WAL kept from %s, in repo%d",
						result->backupsKept, result->walKeepFrom, o->repo)));
}

/*
 * Expire one repository (entry) by its policy, the tier's when it sets
 * none.  first: it is the repository pgdr.backups mirrors, whose removed
 * backups leave the catalog.  False with o->err when the repository could
 * not be opened or expired; what went before the failure is in o->removed
 * and o->result (and, for the first repository, out of the catalog).
 * single: it is the only repository of the call.
 */
static bool
expireRepo(const DrConfig *config, const ConfigRepo *entry, bool first,
		   bool single, int tierFull, int tierDays, const DrHost *host,
		   ExpireRepoOutcome *o)
{
	RetentionPolicy policy;
	RetentionParam param;
	BackupProgressSnapshot running;
	Repo	   *repo;
	bool		ok;

	o->repo = entry->index;
	memset(&policy, 0, sizeof(policy));
	o->source = retentionPolicyChoose(entry->retentionFull, entry->retentionFullDays,
									  tierFull, tierDays, true, &policy);
	if (o->source == RETENTION_POLICY_NONE)
	{
		ereport(NOTICE,
				(errmsg("repo%d has no retention policy: nothing is removed",
						entry->index),
				 errhint("Set repo%d_retention_full in \"%s\" to the number of full backups to keep, or retention_full of the tier \"%s\" in dr_objectives.",
						 entry->index, config->path, drTierName(drTier))));
		return true;
	}

	drErrorClear(&o->err);
	repo = repoOpen(entry, &o->err);
	if (repo == NULL)
		return false;

	/* the directory of a running backup has no manifest yet */
	backupProgressSnapshot(&running);

	/*
	 * Rows of backups an earlier call removed before it failed or was
	 * canceled (its catalog changes rolled back with it) go now.
	 */
	if (first)
		expireCatalogPrune(repo, running.backupId[0] ? running.backupId : NULL);

	memset(&param, 0, sizeof(param));
	param.policy.fullCount = policy.fullCount;
	param.policy.fullDays = policy.fullDays;
	param.policy.now = (int64) time(NULL);
	param.policy.keepChainOf = running.parentId[0] ? running.parentId : NULL;
	param.runningBackupId = running.backupId[0] ? running.backupId : NULL;
	param.onBackup = expireOnBackup;
	param.onUnreadable = expireOnUnreadable;
	param.onHoldError = expireOnHoldError;
	param.arg = &o->removed;
	param.host = host;

	ok = retentionRun(repo, &param, &o->result, &o->err);
	if (first)
		expireCatalogRemove(o->removed.backups);
	repoClose(repo);
	/*
	 * With one repository the failure is the call's ERROR, which rolls the
	 * catalog changes back: the next call drops those rows.
	 */
	if (!ok && o->removed.backups != NIL && single)
		drErrorHint(&o->err, "%d backups were removed before it stopped; dr_backups lists them until the next dr_expire() or SELECT dr_repository_sync().",
					list_length(o->removed.backups));
	else if (!ok && o->removed.backups != NIL)
		drErrorHint(&o->err, "%d backups were removed from repo%d before it stopped.",
					list_length(o->removed.backups), entry->index);
	return ok;
}

/* The audit record's fields of one repository, each key prefixed. */
static void
expireAuditRepo(ApiCall *call, const ExpireRepoOutcome *o, const char *prefix)
{
	char		key[64];

#define EXPIRE_KEY(name) (snprintf(key, sizeof(key), "%s%s", prefix, name), key)
	apiArgBool(call, EXPIRE_KEY("policy_set"), o->source != RETENTION_POLICY_NONE);
	apiArgText(call, EXPIRE_KEY("policy_from"),
			   o->source == RETENTION_POLICY_REPOSITORY ? "repository" :
			   o->source == RETENTION_POLICY_TIER ? "tier" : NULL);
	apiArgTextList(call, EXPIRE_KEY("backups"), o->removed.backups);
	apiArgTextList(call, EXPIRE_KEY("orphans"), o->removed.orphans);
	apiArgTextList(call, EXPIRE_KEY("skipped"), o->removed.skipped);
	apiArgInt64(call, EXPIRE_KEY("wal_removed"), o->result.walRemoved);
	apiArgText(call, EXPIRE_KEY("wal_kept_from"),
			   o->result.walKeepFrom[0] ? o->result.walKeepFrom : NULL);
	apiArgUint64(call, EXPIRE_KEY("bytes_freed"), o->result.bytesFreed);
	if (o->failed)
		apiArgText(call, EXPIRE_KEY("error"), o->err.message);
#undef EXPIRE_KEY
}

/*
 * The fields of outcomes[0..upto): flat with one repository, prefixed
 * "repoN_" with several (as dr_wal_verify()'s record).
 */
static void
expireAuditAll(ApiCall *call, const ExpireRepoOutcome *outcomes, int upto,
			   int count)
{
	for (int r = 0; r < upto; r++)
		expireAuditRepo(call, &outcomes[r],
						count > 1 ? psprintf("repo%d_", outcomes[r].repo) : "");
}

/*
 * dr_expire(repo integer DEFAULT NULL): a row per repository expired
 * (backups_removed, wal_removed, bytes_freed, backups, policy_from, error,
 * repo), in number order.
 */
Datum
dr_expire(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ApiCall    *call = apiCallNew("dr_expire");
	bool		repoNull = PG_NARGS() < 1 || PG_ARGISNULL(0);
	int32		repoArg = repoNull ? 0 : PG_GETARG_INT32(0);
	ExpireRepoOutcome *outcomes = palloc0(sizeof(ExpireRepoOutcome) * CONFIG_REPO_MAX);
	volatile int count = 0;
	volatile int failed = 0;
	int64		walTotal = 0;
	uint64		bytesTotal = 0;

	InitMaterializedSRF(fcinfo, 0);
	if (!repoNull)
		apiArgInt64(call, "repo", repoArg);

	API_CALL_BEGIN(call);
	{
		DrConfig   *config = apiConfigLoad();
		int			forced = apiRepoArg(config, repoNull, repoArg);
		int			numbers[CONFIG_REPO_MAX];
		const ConfigRepo *first;
		const DrHost *host;
		DrError		err;
		int			tierFull;
		int			tierDays;
		int			expired = 0;
		int			lastFailed = -1;

		first = configRepoFirst(config, &err);
		if (first == NULL)
			drEreport(ERROR, &err);
		count = repoReadOrder(config, forced, numbers);

		/*
		 * A restored cluster must not delete its source's backups: refused
		 * when its origin marker names any configured repository (the
		 * others are its source's too, as the catch-up assumes).
		 */
		for (int n = 1; n <= CONFIG_REPO_MAX; n++)
			if (config->repo[n].index != 0)
				apiOriginGuard(&config->repo[n], "dr_expire");

		expireTierPolicy(&tierFull, &tierDays);
		host = progressBegin("expire");
		for (int r = 0; r < count; r++)
		{
			ExpireRepoOutcome *o = &outcomes[r];
			const ConfigRepo *entry = &config->repo[numbers[r]];

			if (expireRepo(config, entry, entry == first, count == 1, tierFull,
						   tierDays, host, o))
			{
				if (o->source != RETENTION_POLICY_NONE)
				{
					expired++;
					expireNotice(o);
				}
				continue;
			}
			/* a cancel stops the call; what went is named in the record */
			if (o->err.code == DR_ERR_CANCELED)
			{
				expireAuditAll(call, outcomes, r + 1, count);
				drEreport(ERROR, &o->err);
			}
			o->failed = true;
			failed++;
			lastFailed = r;
			if (count > 1)
				ereport(WARNING,
						(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
						 errmsg("repo%d is not expired: %s", o->repo, o->err.message),
						 errdetail("dr_expire() goes on with the other repositories; run dr_expire(repo => %d) once this one is reachable again.",
								   o->repo),
						 o->err.hint[0] ? errhint("%s", o->err.hint) : 0));
		}
		progressEnd();

		/*
		 * Nothing expired and something failed: the call failed.  One
		 * failure keeps its own SQLSTATE and message; several are named
		 * in one message with the first one's SQLSTATE.
		 */
		if (expired == 0 && failed > 0)
		{
			ExpireRepoOutcome *o = &outcomes[lastFailed];

			expireAuditAll(call, outcomes, count, count);
			if (failed > 1)
			{
				StringInfoData msg;
				const char *sep = "";

				initStringInfo(&msg);
				appendStringInfoString(&msg, "no repository could be expired: ");
				for (int r = 0; r < count; r++)
					if (outcomes[r].failed)
					{
						appendStringInfo(&msg, "%srepo%d: %s", sep,
										 outcomes[r].repo, outcomes[r].err.message);
						sep = "; ";
					}
				for (int r = 0; r < count; r++)
					if (outcomes[r].failed)
					{
						o = &outcomes[r];
						break;
					}
				strlcpy(o->err.message, msg.data, sizeof(o->err.message));
				pfree(msg.data);
			}
			drEreport(ERROR, &o->err);
		}
		configFree(config);
	}
	API_CALL_END(call);

	for (int r = 0; r < count; r++)
	{
		ExpireRepoOutcome *o = &outcomes[r];
		Datum		values[7];
		bool		nulls[7];
		Datum	   *ids;
		int			n = 0;
		ListCell   *lc;

		walTotal += o->result.walRemoved;
		bytesTotal += o->result.bytesFreed;

		memset(nulls, 0, sizeof(nulls));
		values[0] = Int32GetDatum(o->result.backupsRemoved + o->result.orphansRemoved);
		values[1] = Int32GetDatum(o->result.walRemoved);
		values[2] = Int64GetDatum((int64) o->result.bytesFreed);
		ids = palloc(sizeof(Datum) * (list_length(o->removed.backups) + 1));
		foreach(lc, o->removed.backups)
			ids[n++] = CStringGetTextDatum((char *) lfirst(lc));
		values[3] = PointerGetDatum(construct_array(ids, n, TEXTOID, -1, false,
													TYPALIGN_INT));
		values[4] = CStringGetTextDatum(o->source == RETENTION_POLICY_REPOSITORY ? "repository" :
										o->source == RETENTION_POLICY_TIER ? "tier" : "none");
		if (o->failed)
			values[5] = CStringGetTextDatum(o->err.message);
		else
			nulls[5] = true;
		values[6] = Int32GetDatum(o->repo);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	expireAuditAll(call, outcomes, count, count);
	if (count > 1)
	{
		apiArgInt64(call, "wal_removed", walTotal);
		apiArgUint64(call, "bytes_freed", bytesTotal);
		apiArgInt64(call, "failed", failed);
	}
	else if (count == 1 && repoNull)
		apiArgInt64(call, "repo", outcomes[0].repo);
	apiCallOk(call);
	return (Datum) 0;
}
