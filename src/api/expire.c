/*-------------------------------------------------------------------------
 * expire.c (api)
 *	  dr_expire(): apply the retention policy of the first repository
 *	  (repoN_retention_full, repoN_retention_full_days; when the repository
 *	  sets none, the current tier's retention_full and retention_full_days
 *	  of dr_objectives: retentionPolicyChoose): remove the backups
 *	  beyond it, manifest-less directories left by crashes, and the archived
 *	  WAL no kept backup needs (src/ops/retention.h), then drop the
 *	  removed backups from pgdr.backups.  A backup whose manifest cannot be
 *	  read is skipped with a WARNING naming it, and nothing it might need
 *	  is removed.
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

Datum
dr_expire(PG_FUNCTION_ARGS)
{
	ApiCall    *call = apiCallNew("dr_expire");
	RetentionResult result;
	ExpireRemoved removed = {NIL, NIL, NIL};
	volatile RetentionPolicySource source = RETENTION_POLICY_NONE;
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {0};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	memset(&result, 0, sizeof(result));
	API_CALL_BEGIN(call);
	{
		DrConfig   *config = apiConfigLoad();
		const ConfigRepo *repoConfigEntry;
		Repo	   *repo;
		DrError		err;
		RetentionParam param;
		BackupProgressSnapshot running;
		RetentionPolicy policy;
		int			tierFull;
		int			tierDays;

		repoConfigEntry = configRepoFirst(config, &err);
		if (repoConfigEntry == NULL)
			drEreport(ERROR, &err);
		/* a restored cluster must not delete its source's backups */
		apiOriginGuard(repoConfigEntry, "dr_expire");

		expireTierPolicy(&tierFull, &tierDays);
		memset(&policy, 0, sizeof(policy));
		source = retentionPolicyChoose(repoConfigEntry->retentionFull,
									   repoConfigEntry->retentionFullDays,
									   tierFull, tierDays, &policy);
		if (source == RETENTION_POLICY_NONE)
		{
			ereport(NOTICE,
					(errmsg("repo%d has no retention policy: nothing is removed",
							repoConfigEntry->index),
					 errhint("Set repo%d_retention_full in \"%s\" to the number of full backups to keep, or retention_full of the tier \"%s\" in dr_objectives.",
							 repoConfigEntry->index, config->path, drTierName(drTier))));
		}
		else
		{
			repo = repoOpen(repoConfigEntry, &err);
			if (repo == NULL)
				drEreport(ERROR, &err);

			/* the directory of a running backup has no manifest yet */
			backupProgressSnapshot(&running);

			/*
			 * Rows of backups an earlier call removed before it failed or
			 * was canceled (its catalog changes rolled back with it) go now.
			 */
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
			param.arg = &removed;
			param.host = progressBegin("expire");

			if (!retentionRun(repo, &param, &result, &err))
			{
				/*
				 * What was removed before the failure is gone: the audit
				 * record names it.  The catalog changes roll back with the
				 * error; the next dr_expire() (or dr_repository_sync())
				 * drops those rows.
				 */
				apiArgTextList(call, "backups", removed.backups);
				apiArgTextList(call, "orphans", removed.orphans);
				apiArgInt64(call, "wal_removed", result.walRemoved);
				if (removed.backups != NIL)
					drErrorHint(&err, "%d backups were removed before it stopped; dr_backups lists them until the next dr_expire() or SELECT dr_repository_sync().",
								list_length(removed.backups));
				drEreport(ERROR, &err);
			}
			expireCatalogRemove(removed.backups);
			progressEnd();

			if (result.walKept && result.backupsUnreadable > 0)
				ereport(NOTICE,
						(errmsg("no WAL is removed from repo%d while %d of its backups cannot be read",
								repoConfigEntry->index, result.backupsUnreadable)));
			else if (result.walKept)
				ereport(NOTICE,
						(errmsg("no WAL is removed from repo%d this time: a backup completed during dr_expire()",
								repoConfigEntry->index)));
			else if (result.walSkipped)
				ereport(NOTICE,
						(errmsg("no backup is kept in repo%d: no WAL is removed",
								repoConfigEntry->index)));
			else if (result.backupsRemoved == 0 && result.orphansRemoved == 0 &&
					 result.walRemoved == 0)
				ereport(NOTICE,
						(errmsg("nothing to expire: %d backups kept, WAL kept from %s",
								result.backupsKept, result.walKeepFrom)));
			repoClose(repo);
		}
		configFree(config);
	}
	API_CALL_END(call);

	apiArgBool(call, "policy_set", result.policySet);
	apiArgText(call, "policy_from",
			   source == RETENTION_POLICY_REPOSITORY ? "repository" :
			   source == RETENTION_POLICY_TIER ? "tier" : NULL);
	apiArgTextList(call, "backups", removed.backups);
	apiArgTextList(call, "orphans", removed.orphans);
	apiArgTextList(call, "skipped", removed.skipped);
	apiArgInt64(call, "wal_removed", result.walRemoved);
	apiArgText(call, "wal_kept_from",
			   result.walKeepFrom[0] ? result.walKeepFrom : NULL);
	apiArgUint64(call, "bytes_freed", result.bytesFreed);
	apiCallOk(call);

	values[0] = Int32GetDatum(result.backupsRemoved + result.orphansRemoved);
	values[1] = Int32GetDatum(result.walRemoved);
	values[2] = Int64GetDatum((int64) result.bytesFreed);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
													  values, nulls)));
}
