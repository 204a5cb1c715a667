/*-------------------------------------------------------------------------
 * config_open.c
 *	  The configuration every API function works with (pg_dr.config_file)
 *	  and the repository it names first, opened: apiConfigLoad and
 *	  apiRepoOpen; the check of a repo argument, apiRepoArg (see api.h).
 *	  Problems are errors with a SQLSTATE and, where the fix is not
 *	  obvious, a hint.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "api/api.h"
#include "common/config.h"
#include "pg_dr.h"
#include "repo/repo.h"
#include "repo/repo_fallback.h"

DrConfig *
apiConfigLoad(void)
{
	DrConfig   *config;
	DrError		err;

	if (drConfigFile == NULL || drConfigFile[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("pg_dr.config_file is not set"),
				 errhint("Set pg_dr.config_file to the path of the pg_dr configuration file and reload.")));
	config = configLoad(drConfigFile, &err);
	if (config == NULL)
	{
		/* a configured file that does not exist is a configuration error */
		if (err.code == DR_ERR_NOT_FOUND)
			err.code = DR_ERR_CONFIG;
		drEreport(ERROR, &err);
	}
	return config;
}

Repo *
apiRepoOpen(DrConfig **configOut)
{
	DrConfig   *config = apiConfigLoad();
	const ConfigRepo *repoConfigEntry;
	Repo	   *repo;
	DrError		err;

	repoConfigEntry = configRepoFirst(config, &err);
	if (repoConfigEntry == NULL)
		drEreport(ERROR, &err);
	repo = repoOpen(repoConfigEntry, &err);
	if (repo == NULL)
		drEreport(ERROR, &err);
	*configOut = config;
	return repo;
}

int
apiRepoArg(const DrConfig *config, bool isNull, int32 value)
{
	DrError		err;

	if (isNull)
		return 0;
	drErrorClear(&err);
	if (!repoForcedCheck(config, value, &err))
		drEreport(ERROR, &err);
	return value;
}
