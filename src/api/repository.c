/*-------------------------------------------------------------------------
 * repository.c (api)
 *	  dr_repository_create(), dr_repository_sync() and the function behind
 *	  the repository's own list of backups (pgdr._repository_backups()).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "funcapi.h"
#include "utils/builtins.h"

#include "api/api.h"
#include "backup/backup.h"
#include "ops/audit.h"
#include "pg_dr.h"
#include "restore/restore.h"

PG_FUNCTION_INFO_V1(dr_repository_sync);

/* Rebuild the catalog of backups from the repository. */
Datum
dr_repository_sync(PG_FUNCTION_ARGS)
{
	ApiCall    *call = apiCallNew("dr_repository_sync");
	volatile int count = 0;

	API_CALL_BEGIN(call);
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
	API_CALL_END(call);
	apiArgInt64(call, "backups", count);
	apiCallOk(call);
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
	ApiCall    *call = apiCallNew("dr_repository_create");
	char	   *volatile path = NULL;

	API_CALL_BEGIN(call);
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
	API_CALL_END(call);
	apiArgText(call, "path", path);
	apiCallOk(call);
	PG_RETURN_TEXT_P(cstring_to_text(path));
}
