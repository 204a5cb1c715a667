/*-------------------------------------------------------------------------
 * keep.c (api)
 *	  dr_backup_keep(): put a backup under a legal hold, until a time or for
 *	  ever, or lift the hold (repo/repo_hold.h).  Retention keeps a backup
 *	  under a hold in effect, its chain and the WAL it needs, whatever the
 *	  policy (ops/retention.h); `pg_dr expire` honours it too, since the
 *	  hold lives in the repository.
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

		/* a restored cluster does not write into its source's repository */
		apiOriginGuard(repoConfig(repo), "dr_backup_keep");
		id = repoBackupResolve(repo, backupId, &err);
		if (id == NULL)
			drEreport(ERROR, &err);
		if (!repoHoldRead(repo, id, &previous, &err))
			drEreport(ERROR, &err);
		if (!(hold.present ? repoHoldWrite(repo, id, &hold, &err) :
			  repoHoldRemove(repo, id, &err)))
			drEreport(ERROR, &err);
		repoClose(repo);
		configFree(config);
	}
	API_CALL_END(call);

	apiArgText(call, "resolved_id", id);
	apiArgText(call, "previous", apiKeepShow(&previous));
	apiCallOk(call);
	if (!hold.present)
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMPTZ(hold.forever ? DT_NOEND :
						  time_t_to_timestamptz((pg_time_t) hold.until));
}
