/*-------------------------------------------------------------------------
 * restore_pitr_pick.c
 *	  Which backup a point-in-time restore starts from, and whether the
 *	  repository can reach the target at all (restore.h has the contract).
 *
 * A pure function of the backups' manifest headers, the followed timeline's
 * history and the end of the archived WAL, so that every refusal is unit
 * tested without a server (test/unit/test_restore_pick.c); restore_pitr_scan.c
 * gathers those inputs.
 *
 * Where a backup ends:
 *	 - in time, one second after its stop-time: the manifest keeps whole
 *	   seconds, rounded down (time() after pg_backup_stop), and a commit
 *	   inside the backup's WAL can be stamped up to the real stop.  A target
 *	   time before that could stop recovery inside the backup's WAL, before
 *	   consistency;
 *	 - in WAL, at its stop LSN, the end of the backup-end record: both an
 *	   inclusive and an exclusive target there stop after it, consistent.
 *
 * What the repository holds after a backup: pg_backup_stop switches to a
 * new segment right after the backup-end record, so the backup's own WAL
 * (restored into pg_wal) ends with its stop segment.  Only an archived
 * segment past that one brings WAL after the backup.  The archive is
 * assumed continuous from the backup on; dr_wal_verify() checks that.
 *
 * On several timelines: recovery follows one timeline (chosen by
 * restore_pitr_timeline.c, or named), so only a backup whose WAL up to
 * its stop lies on that timeline's history can be used, and LSNs compare
 * along that history.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "restore/restore.h"

#define USECS_PER_SEC		INT64CONST(1000000)

/* What to do when the WAL a target needs is not archived (yet). */
#define PICK_ARCHIVE_HINT \
	"If it is not archived yet: run SELECT pg_switch_wal() on the source, " \
	"or wait for the archiver (dr_archive_status shows it), then restore again."

/* The earliest time backup h can recover to (see the header comment). */
static int64
pickEndTime(const ManifestHeader *h)
{
	return (h->stopTime + 1) * USECS_PER_SEC;
}

/* Can recovery from h follow reach's history? */
static bool
pickOnHistory(const RestoreReach *reach, const ManifestHeader *h)
{
	return reach->history == NULL ||
		walHistoryReaches(reach->history, h->timeline, h->stopLsn);
}

/* Does h end at or before target?  XID and NAME cannot tell: yes. */
static bool
pickEndsBefore(const ManifestHeader *h, const RestoreTarget *target)
{
	switch (target->kind)
	{
		case RESTORE_TARGET_TIME:
			return pickEndTime(h) <= target->timeUsec;
		case RESTORE_TARGET_LSN:
			return h->stopLsn <= target->lsn;
		default:
			return true;
	}
}

/* Is a newer than b (the later end; the later in the list on a tie)? */
static bool
pickNewer(const RestoreReach *reach, int a, int b, RestoreTargetKind kind)
{
	const ManifestHeader *ha = &reach->backups[a];
	const ManifestHeader *hb = &reach->backups[b];

	if (kind == RESTORE_TARGET_TIME && ha->stopTime != hb->stopTime)
		return ha->stopTime > hb->stopTime;
	if (ha->stopLsn != hb->stopLsn)
		return ha->stopLsn > hb->stopLsn;
	return a > b;
}

/* Where h ends, for messages ("2024-05-01 12:00:01+00", "0/2000138"). */
static void
pickEndFormat(const ManifestHeader *h, RestoreTargetKind kind, char *buf,
			  size_t len)
{
	if (kind == RESTORE_TARGET_TIME)
		restoreTargetTimeFormat(pickEndTime(h), buf, len);
	else
		manifestLsnFormat(h->stopLsn, buf, len);
}

/* The end of the segment holding the last byte before lsn. */
static uint64
pickSegmentEnd(uint64 lsn, uint32 segSize)
{
	if (!walSegmentSizeValid(segSize))
		return lsn;
	return (lsn + segSize - 1) / segSize * segSize;
}

static const char *
pickTargetNoun(RestoreTargetKind kind)
{
	switch (kind)
	{
		case RESTORE_TARGET_TIME:
			return "time";
		case RESTORE_TARGET_LSN:
			return "LSN";
		case RESTORE_TARGET_XID:
			return "transaction id";
		case RESTORE_TARGET_NAME:
			return "restore point";
		default:
			return "target";
	}
}

/* A named backup: find it and check that it can serve the target. */
static bool
pickNamed(const RestoreReach *reach, const RestoreTarget *target,
		  const char *backupId, RestorePick *pick, DrError *err)
{
	const ManifestHeader *h = NULL;
	char		end[RESTORE_TARGET_TIME_LEN];

	for (int i = 0; i < reach->backupCount; i++)
		if (strcmp(reach->backups[i].backupId, backupId) == 0)
		{
			pick->index = i;
			h = &reach->backups[i];
		}
	if (h == NULL)
	{
		drErrorSet(err, DR_ERR_NOT_FOUND,
				   "backup \"%s\" is not in the repository, or its manifest cannot be read",
				   backupId);
		drErrorHint(err, "\"pg_dr info\" lists the backups.");
		return false;
	}
	if (!pickOnHistory(reach, h))
	{
		manifestLsnFormat(h->stopLsn, end, sizeof(end));
		drErrorSet(err, DR_ERR_INVALID,
				   "backup \"%s\" (timeline %u, stop LSN %s) is not on the history of timeline %u, the timeline recovery follows",
				   backupId, h->timeline, end, reach->history->tli);
		drErrorHint(err, "Restore a backup taken on that timeline or before it branched off, or choose the timeline with --target-timeline.");
		return false;
	}
	if (!pickEndsBefore(h, target))
	{
		pickEndFormat(h, target->kind, end, sizeof(end));
		drErrorSet(err, DR_ERR_INVALID,
				   "backup \"%s\" ends at %s, after the recovery target %s \"%s\"",
				   backupId, end, pickTargetNoun(target->kind), target->value);
		drErrorHint(err, "Recovery cannot stop before it has replayed the WAL of its backup.  Name an older backup, or leave --backup out to have one picked.");
		return false;
	}
	snprintf(pick->reason, sizeof(pick->reason), "named with --backup");
	return true;
}

/* Choose the newest backup on the history that ends before the target. */
static bool
pickChoose(const RestoreReach *reach, const RestoreTarget *target,
		   RestorePick *pick, DrError *err)
{
	int			earliest = -1;
	int			newestOnHistory = -1;
	char		end[RESTORE_TARGET_TIME_LEN];

	for (int i = 0; i < reach->backupCount; i++)
	{
		const ManifestHeader *h = &reach->backups[i];

		if (!pickOnHistory(reach, h))
			continue;
		if (earliest < 0 || pickNewer(reach, earliest, i, target->kind))
			earliest = i;
		if (newestOnHistory < 0 || pickNewer(reach, i, newestOnHistory, target->kind))
			newestOnHistory = i;
		if (pickEndsBefore(h, target) &&
			(pick->index < 0 || pickNewer(reach, i, pick->index, target->kind)))
			pick->index = i;
	}

	if (newestOnHistory < 0)
	{
		drErrorSet(err, DR_ERR_INVALID,
				   "no backup of the repository is on the history of timeline %u, the timeline recovery follows",
				   reach->history->tli);
		drErrorHint(err, "Take a backup on that timeline, or choose another with --target-timeline.");
		return false;
	}
	if (pick->index < 0)
	{
		pickEndFormat(&reach->backups[earliest], target->kind, end, sizeof(end));
		drErrorSet(err, DR_ERR_INVALID,
				   "recovery target %s \"%s\" is before the earliest point the repository can recover to, %s (the end of backup %s)",
				   pickTargetNoun(target->kind), target->value, end,
				   reach->backups[earliest].backupId);
		drErrorHint(err, "Recovery cannot stop before it has replayed the WAL of its backup, and no backup of the repository ended before the target.");
		return false;
	}

	pickEndFormat(&reach->backups[pick->index], target->kind, end,
				  sizeof(end));
	if (target->kind == RESTORE_TARGET_TIME)
		snprintf(pick->reason, sizeof(pick->reason),
				 "the newest backup that ended before the target (recoverable from %s)",
				 end);
	else if (target->kind == RESTORE_TARGET_LSN)
		snprintf(pick->reason, sizeof(pick->reason),
				 "the newest backup that ended at or before the target (stop LSN %s)",
				 end);
	else
	{
		restoreTargetTimeFormat(reach->backups[pick->index].stopTime * USECS_PER_SEC,
								end, sizeof(end));
		snprintf(pick->reason, sizeof(pick->reason),
				 "the newest backup (a %s cannot be placed against backups without reading WAL: name an older backup with --backup if the target is before %s)",
				 pickTargetNoun(target->kind), end);
	}
	return true;
}

bool
restoreTargetPick(const RestoreReach *reach, const RestoreTarget *target,
				  const char *backupId, RestorePick *pick, DrError *err)
{
	const ManifestHeader *h;
	uint64		backupWalEnd;
	bool		archiveAfter;
	char		stop[RESTORE_TARGET_TIME_LEN];
	char		last[RESTORE_TARGET_TIME_LEN];

	memset(pick, 0, sizeof(*pick));
	pick->index = -1;
	if (target == NULL || target->kind == RESTORE_TARGET_NONE)
		return drErrorSet(err, DR_ERR_INVALID, "no recovery target was given");
	if (reach->backupCount == 0)
	{
		drErrorSet(err, DR_ERR_NOT_FOUND, "the repository holds no backup");
		drErrorHint(err, "A point-in-time restore starts from a backup taken before the target: SELECT dr_backup_full().");
		return false;
	}
	if (backupId != NULL && strcmp(backupId, "latest") != 0)
	{
		if (!pickNamed(reach, target, backupId, pick, err))
			return false;
	}
	else if (!pickChoose(reach, target, pick, err))
		return false;

	/* is there WAL after the backup? */
	h = &reach->backups[pick->index];
	backupWalEnd = pickSegmentEnd(h->stopLsn, h->segmentSize);
	archiveAfter = reach->walEnd > backupWalEnd;
	manifestLsnFormat(h->stopLsn, stop, sizeof(stop));

	if (target->kind == RESTORE_TARGET_LSN)
	{
		uint64		latest = archiveAfter ? reach->walEnd : h->stopLsn;

		if (target->lsn <= latest)
			return true;
		manifestLsnFormat(latest, last, sizeof(last));
		if (archiveAfter)
			drErrorSet(err, DR_ERR_INVALID,
					   "recovery target LSN \"%s\" is after the newest WAL the repository holds, %s (the end of archived segment %s)",
					   target->value, last, reach->walEndSegment);
		else
			drErrorSet(err, DR_ERR_INVALID,
					   "recovery target LSN \"%s\" is after the newest WAL the repository holds, %s: the end of backup %s, after which the WAL archive holds nothing",
					   target->value, last, h->backupId);
		drErrorHint(err, "Recovery would run out of WAL before the target.  " PICK_ARCHIVE_HINT);
		return false;
	}

	if (!archiveAfter)
	{
		if (reach->walEnd == 0)
			drErrorSet(err, DR_ERR_INVALID,
					   "recovery target %s \"%s\" cannot be reached: the WAL archive is empty, and backup %s holds WAL only up to its end (%s)",
					   pickTargetNoun(target->kind), target->value,
					   h->backupId, stop);
		else
			drErrorSet(err, DR_ERR_INVALID,
					   "recovery target %s \"%s\" cannot be reached: the WAL archive holds nothing after the end of backup %s (%s); its newest segment is %s",
					   pickTargetNoun(target->kind), target->value,
					   h->backupId, stop, reach->walEndSegment);
		drErrorHint(err, "The target needs WAL archived after the backup.  " PICK_ARCHIVE_HINT);
		return false;
	}

	/* stored at a whole second, cut down: after the end of that second */
	if (target->kind == RESTORE_TARGET_TIME && reach->walEndArchived > 0 &&
		target->timeUsec >= (reach->walEndArchived + 1) * USECS_PER_SEC)
	{
		restoreTargetTimeFormat(reach->walEndArchived * USECS_PER_SEC, last,
								sizeof(last));
		snprintf(pick->warning, sizeof(pick->warning),
				 "recovery target time \"%s\" is after the newest archived WAL (segment %s, stored at %s)",
				 target->value, reach->walEndSegment, last);
		snprintf(pick->warningHint, sizeof(pick->warningHint),
				 "Recovery stops at the first transaction that committed after the target.  Unless WAL holding one is archived before recovery gets there, recovery ends at the end of the archived WAL without reaching the target, and the server stops with \"recovery ended before configured recovery target was reached\".  To recover all the archived WAL, restore without a target.");
	}
	return true;
}
