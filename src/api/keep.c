/*-------------------------------------------------------------------------
 * keep.c (api)
 *	  dr_backup_keep(): put a backup under a legal hold, until a time or for
 *	  ever, or lift the hold (repo/repo_hold.h).  Retention keeps a backup
 *	  under a hold in effect, its chain and the WAL it needs, whatever the
 *	  policy (ops/retention.h); `pg_dr expire` honours it too, since the
 *	  hold lives in the repository.
 *
 * Every repository expires by itself (dr_expire() applies each one's
 * policy), so the hold is written into (or lifted from) every configured
 * repository that holds the backup: the first one (which resolves the id)
 * or the call fails; another one that cannot be reached or written gets a
 * WARNING naming it, and the audit record lists where the hold is
 * (repos).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "api/api.h"
#include "common/config.h"
#include "pg_dr.h"
#include "repo/repo.h"
#include "repo/repo_backup.h"
#include "repo/repo_hold.h"

PG_FUNCTION_INFO_V1(dr_backup_keep);

/* A hold's end as audit text: "infinity" or an ISO time. */
static const char *
apiKeepShow(const RepoHold *hold)
{
	if (!hold->present)
		return NULL;
	if (hold->forever)
		return "infinity";
	return timestamptz_to_str(time_t_to_timestamptz((pg_time_t) hold->until));
}

Datum
dr_backup_keep(PG_FUNCTION_ARGS)
{
	char	   *backupId;
	RepoHold	hold;
	RepoHold	previous;
	ApiCall    *call;
	char	   *volatile id = NULL;
	List	   *volatile written = NIL;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("backup_id must not be NULL"),
				 errhint("SELECT backup_id FROM dr_backups lists the backups.")));
	backupId = text_to_cstring(PG_GETARG_TEXT_PP(0));

	memset(&hold, 0, sizeof(hold));
	memset(&previous, 0, sizeof(previous));
	if (!PG_ARGISNULL(1))
	{
		TimestampTz until = PG_GETARG_TIMESTAMPTZ(1);

		hold.present = true;
		hold.setAt = (int64) time(NULL);
		if (TIMESTAMP_IS_NOEND(until))
			hold.forever = true;
		else if (TIMESTAMP_IS_NOBEGIN(until) || until <= GetCurrentTimestamp())
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a hold must end in the future"),
					 errhint("until => 'infinity' keeps the backup until the hold is lifted; until => NULL lifts it.")));
		else
			hold.until = (int64) timestamptz_to_time_t(until);
	}

	call = apiCallNew("dr_backup_keep");
	apiArgText(call, "backup_id", backupId);
	apiArgText(call, "until", apiKeepShow(&hold));
	API_CALL_BEGIN(call);
	{
		DrConfig   *config;
		Repo	   *repo = apiRepoOpen(&config);
		DrError		err;
		/* the entry apiRepoOpen opened, in config */
		const ConfigRepo *first = configRepoFirst(config, &err);

		/* a restored cluster does not write into its source's repositories */
		for (int n = 1; n <= CONFIG_REPO_MAX; n++)
			if (config->repo[n].index != 0)
				apiOriginGuard(&config->repo[n], "dr_backup_keep");
		id = repoBackupResolve(repo, backupId, &err);
		if (id == NULL)
			drEreport(ERROR, &err);
		if (!repoHoldRead(repo, id, &previous, &err))
			drEreport(ERROR, &err);
		if (!(hold.present ? repoHoldWrite(repo, id, &hold, &err) :
			  repoHoldRemove(repo, id, &err)))
			drEreport(ERROR, &err);
		repoClose(repo);
		written = lappend(written, psprintf("%d", first->index));

		/* the other repositories that hold the backup: the same hold */
		for (int n = 1; n <= CONFIG_REPO_MAX; n++)
		{
			const ConfigRepo *entry = &config->repo[n];
			char	   *there;

			if (entry->index == 0 || entry == first)
				continue;
			drErrorClear(&err);
			repo = repoOpen(entry, &err);
			if (repo != NULL)
			{
				there = repoBackupResolve(repo, id, &err);
				if (there == NULL && err.code == DR_ERR_NOT_FOUND)
				{
					/* not copied there (yet, or expired): nothing to hold */
					repoClose(repo);
					continue;
				}
				if (there != NULL &&
					(hold.present ? repoHoldWrite(repo, id, &hold, &err) :
					 repoHoldRemove(repo, id, &err)))
				{
					repoClose(repo);
					written = lappend(written, psprintf("%d", n));
					continue;
				}
				repoClose(repo);
			}
			ereport(WARNING,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("the hold of backup %s is not %s in repo%d: %s",
							id, hold.present ? "set" : "lifted", n, err.message),
					 errdetail("It is %s in the other repositories that hold the backup.",
							   hold.present ? "set" : "lifted"),
					 errhint("Call dr_backup_keep() again once repo%d is reachable.", n)));
		}
		configFree(config);
	}
	API_CALL_END(call);

	apiArgText(call, "resolved_id", id);
	apiArgText(call, "previous", apiKeepShow(&previous));
	apiArgTextList(call, "repos", written);
	apiCallOk(call);
	if (!hold.present)
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMPTZ(hold.forever ? DT_NOEND :
						  time_t_to_timestamptz((pg_time_t) hold.until));
}
