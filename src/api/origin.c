/*-------------------------------------------------------------------------
 * origin.c (api)
 *	  A restored cluster and the repository it came from: the check every
 *	  writing function makes (apiOriginGuard), dr_declare_primary(), and
 *	  the state dr_status shows.
 *
 * repo/repo_origin.h has the contract: while the origin marker in the data
 * directory names the configured repository, pg_dr does not write there.
 * The check is made before the operation touches anything and raises
 * 55000 (object_not_in_prerequisite_state): the cluster is not in the
 * state the operation needs, and dr_declare_primary() puts it there.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "access/xlog.h"
#include "access/xlogarchive.h"
#include "access/xlog_internal.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "api/api.h"
#include "common/config.h"
#include "ops/audit.h"
#include "pg_dr.h"
#include "repo/repo_origin.h"

PG_FUNCTION_INFO_V1(dr_declare_primary);

/* ERROR with the guard's message: 55000 for a refusal, else its own code. */
static void
apiOriginReport(DrError *err)
{
	if (err->code == DR_ERR_PERMISSION)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg_internal("%s", err->message),
				 err->hint[0] ? errhint("%s", err->hint) : 0));
	drEreport(ERROR, err);
}

void
apiOriginGuard(const ConfigRepo *repo, const char *what)
{
	DrError		err;

	drErrorClear(&err);
	if (!repoOriginGuard(DataDir, repo, NULL, what, &err))
		apiOriginReport(&err);
}

void
apiOriginGuardConfigured(const char *what)
{
	DrConfig   *config;
	const ConfigRepo *first;
	DrError		err;

	/* without a usable configuration there is no repository to protect */
	if (drConfigFile == NULL || drConfigFile[0] == '\0')
		return;
	drErrorClear(&err);
	config = configLoad(drConfigFile, &err);
	if (config == NULL)
		return;
	first = configRepoFirst(config, &err);
	if (first != NULL && !repoOriginGuard(DataDir, first, NULL, what, &err))
	{
		configFree(config);
		apiOriginReport(&err);
	}
	configFree(config);
}

char *
apiOriginState(const DrConfig *config)
{
	RepoOrigin	origin;
	RepoInfo	info;
	const ConfigRepo *first = NULL;
	bool		found;
	bool		same = false;
	DrError		err;

	drErrorClear(&err);
	if (!repoOriginRead(DataDir, &origin, &found, &err))
		return psprintf("unreadable origin marker, writes refused: %s", err.message);
	if (!found)
		return NULL;
	if (config != NULL)
		first = configRepoFirst(config, &err);
	if (first != NULL && repoInfoRead(first, &info, &err))
		same = repoOriginIsRepo(&origin, &info);
	return psprintf("restored from backup %s of repository %s%s%s%s; %s",
					origin.backup[0] ? origin.backup : "(unknown)",
					origin.repository,
					origin.repositoryPath[0] ? " (\"" : "",
					origin.repositoryPath,
					origin.repositoryPath[0] ? "\")" : "",
					same ?
					"writes into it are refused until SELECT dr_declare_primary()" :
					"the configured repository is another one, writes there are allowed");
}

/*
 * The history files of this cluster's timelines that were never handed to
 * the archiver: a restored cluster promoted while archive_mode was off
 * wrote its history file without marking it ready, and nothing marks it
 * later (history files are never recycled).  Without it in the archive,
 * a recovery could never follow this timeline, and a later promotion
 * could choose the same timeline id.
 */
static void
apiOriginHistoryNotify(void)
{
	TimeLineID	current;

	if (RecoveryInProgress())
		return;
	current = GetWALInsertionTimeLine();
	for (TimeLineID tli = 2; tli <= current; tli++)
	{
		char		name[MAXFNAMELEN];
		char		path[MAXPGPATH];
		struct stat st;

		TLHistoryFileName(name, tli);
		TLHistoryFilePath(path, tli);
		if (stat(path, &st) == 0 && !XLogArchiveIsReadyOrDone(name))
			XLogArchiveNotify(name);
	}
}

/*
 * dr_declare_primary(): this restored cluster is the primary of the
 * repository it came from.  True when the marker was removed, false (with
 * a NOTICE) when there was none.
 */
Datum
dr_declare_primary(PG_FUNCTION_ARGS)
{
	ApiCall    *call = apiCallNew("dr_declare_primary");
	RepoOrigin	origin;
	volatile bool removed = false;

	memset(&origin, 0, sizeof(origin));
	API_CALL_BEGIN(call);
	{
		DrError		err;
		bool		found;
		bool		gone;

		drErrorClear(&err);
		if (!repoOriginRead(DataDir, &origin, &found, &err) && !found)
			drEreport(ERROR, &err);
		/* an unreadable marker is removed too: that is what was asked */
		if (!repoOriginRemove(DataDir, &gone, &err))
			drEreport(ERROR, &err);
		removed = gone;
		if (removed)
			apiOriginHistoryNotify();
	}
	API_CALL_END(call);

	apiArgBool(call, "removed", removed);
	if (origin.repository[0])
	{
		apiArgText(call, "repository", origin.repository);
		apiArgText(call, "backup", origin.backup);
	}
	apiCallOk(call);

	if (!removed)
		ereport(NOTICE,
				(errmsg("this cluster is already the primary of its repository"),
				 errdetail("There is no \"%s\" in the data directory.", REPO_ORIGIN_FILE)));
	else if (!XLogArchivingActive())
		ereport(NOTICE,
				(errmsg("this cluster is now the primary of repository %s, but it does not archive",
						origin.repository),
				 errdetail("archive_mode is off (pg_dr restore writes archive_mode = 'off' into postgresql.auto.conf)."),
				 errhint("Run ALTER SYSTEM RESET archive_mode, then restart the server.")));
	PG_RETURN_BOOL(removed);
}
