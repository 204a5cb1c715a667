/*-------------------------------------------------------------------------
 * backup_kind.c
 *	  An incremental backup, or a full one instead (backup_kind.h).
 *
 * Pure: no I/O, no server state; unit-tested in test_backup_kind.c.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "backup/backup_kind.h"

bool
backupKindMayChange(const BackupKindInput *in)
{
	return in->incremental && !in->parentGiven && !in->strict;
}

void
backupKindDecide(const BackupKindInput *in, BackupKindDecision *out)
{
	memset(out, 0, sizeof(*out));
	out->incremental = in->incremental;
	if (!backupKindMayChange(in))
		return;

	if (!in->latestFound)
		snprintf(out->reason, sizeof(out->reason),
				 "there is no backup to base an incremental backup on");
	else if (!in->latestChainOk)
		snprintf(out->reason, sizeof(out->reason),
				 "the newest backup, %s, cannot be built on: %s",
				 in->latestId,
				 in->latestChainError ? in->latestChainError : "its chain is broken");
	else if (!in->latestSameCluster)
		snprintf(out->reason, sizeof(out->reason),
				 "the newest backup, %s, is of another cluster",
				 in->latestId);
	else if (in->chainMax > 0 && in->latestChainLength >= in->chainMax)
		snprintf(out->reason, sizeof(out->reason),
				 "the chain of the newest backup, %s, already holds %d backups (pg_dr.backup_chain_max = %d)",
				 in->latestId, in->latestChainLength, in->chainMax);
	else
		return;
	out->incremental = false;
	out->fullInstead = true;
}
