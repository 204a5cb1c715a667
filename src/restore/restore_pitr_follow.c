/*-------------------------------------------------------------------------
 * restore_pitr_follow.c
 *	  The timeline a restore follows, chosen from the repository (restore.h,
 *	  restoreFollowChoose): the one sequence "pg_dr restore" and
 *	  dr_restore() both run, so that neither can end up on another
 *	  cluster's timeline the other would have avoided.
 *
 * Scan the repository, pick the timeline (restore_pitr_timeline.c says
 * how), and follow it: the backup pick and the restore point search then
 * see the WAL along that timeline only.  A restore point name cannot be
 * placed on a timeline without reading its WAL, so when several timelines
 * could serve and none was named, restoreTargetNameTimeline searches them
 * (restore_pitr_name.c).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "repo/repo.h"
#include "restore/restore.h"

bool
restoreFollowChoose(Repo *repo, RestoreTarget *target, const char *backupId,
					uint32 requested, RestoreFollow *follow, DrError *err)
{
	const char *resolved = NULL;
	uint32	   *tlis;
	int			candidates;

	memset(follow, 0, sizeof(*follow));
	follow->nameIndex = -1;
	Assert(target->kind != RESTORE_TARGET_IMMEDIATE);
	follow->reach = restoreReachScan(repo, err);
	if (follow->reach == NULL)
		return false;

	/* without a target, the backup is fixed: the timeline must reach it */
	if (target->kind == RESTORE_TARGET_NONE)
	{
		follow->backupId = repoBackupResolve(repo, backupId, err);
		if (follow->backupId == NULL)
			return false;
		resolved = follow->backupId;
	}
	else if (backupId != NULL && strcmp(backupId, "latest") != 0)
		resolved = backupId;

	if (!restoreTimelinePick(follow->reach, target, resolved, requested,
							 &follow->pick, err))
		return false;

	/* a restore point: on the timeline whose WAL holds it */
	if (target->kind == RESTORE_TARGET_NAME && requested == 0)
	{
		tlis = palloc(Max(follow->reach->timelineCount, 1) * sizeof(uint32));
		candidates = restoreTimelineCandidates(follow->reach, resolved, tlis);
		pfree(tlis);
		if (candidates > 1 &&
			!restoreTargetNameTimeline(repo, follow->reach, target, backupId,
									   &follow->pick, &follow->nameIndex,
									   &follow->nameLsn, err))
			return false;
	}

	target->timeline = (follow->pick.latest && requested == 0) ? 0 :
		follow->pick.tli;
	if (follow->pick.tli != 0)
		restoreReachFollow(follow->reach, follow->pick.tli);

	/* one timeline (or one named): its WAL alone is searched */
	if (target->kind == RESTORE_TARGET_NAME && follow->nameIndex < 0 &&
		!restoreTargetNamePlace(repo, follow->reach, target, backupId,
								&follow->nameIndex, &follow->nameLsn, err))
		return false;
	return true;
}

void
restoreFollowFree(RestoreFollow *follow)
{
	restoreReachFree(follow->reach);
	follow->reach = NULL;
	if (follow->backupId)
		pfree(follow->backupId);
	follow->backupId = NULL;
}
