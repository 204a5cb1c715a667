/*-------------------------------------------------------------------------
 * restore_pitr_timeline.c
 *	  Which timeline a restore follows (restore.h, restoreTimelinePick,
 *	  restoreTimelineNameChoose), and the end of the archived WAL along it
 *	  (restoreReachFollow).
 *
 * Why not always the newest timeline ('latest', PostgreSQL's default): a
 * timeline is created by every promotion, including that of a test
 * restore that archived into the repository it came from.  Its history
 * file then makes it the newest, and recovery along it leaves the live
 * cluster's timeline at the branch point: every transaction of the live
 * cluster after that point is out of reach, and a target past it either
 * ends on the test restore's data or is never reached.  So the timeline is
 * chosen by the target: the one that holds it in its own part, and among
 * several (or when the target says nothing about where it is) the one
 * still being written, whose newest segment was archived last.  A
 * timeline's own part starts where it branched off -- for a time target,
 * when its history file was stored, which is within seconds of the
 * promotion that wrote it -- and ends with its newest archived segment.
 *
 * A restore point name cannot be placed without reading WAL: the
 * timelines are searched in the order restoreTimelineCandidates gives
 * (restore_pitr_name.c), and restoreTimelineNameChoose takes the first
 * that holds the name.  Two points of one name on timelines that do not
 * share the WAL they are in are two clusters' points: the one archived
 * last wins, with a warning.
 *
 * Pure functions of the RestoreReach restore_pitr_scan.c fills, unit
 * tested in test/unit/test_restore_pick.c.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "restore/restore.h"

#define USECS_PER_SEC		INT64CONST(1000000)

void
restoreReachFollow(RestoreReach *reach, uint32 tli)
{
	const RestoreWalSegment *newest = NULL;

	reach->history = NULL;
	for (int i = 0; i < reach->timelineCount; i++)
		if (reach->timelines[i].tli == tli)
			reach->history = reach->timelines[i].history;
	reach->walEnd = 0;
	reach->walEndSegment[0] = '\0';
	reach->walEndArchived = 0;
	if (reach->history == NULL)
		return;

	/* the newest segment recovery along the history reads */
	for (int i = 0; i < reach->segmentCount; i++)
	{
		const RestoreWalSegment *seg = &reach->segments[i];

		if (walHistoryFind(reach->history, seg->tli) == NULL ||
			walHistoryTimelineOf(reach->history, seg->segno, reach->segSize) != seg->tli)
			continue;
		if (newest == NULL || seg->segno > newest->segno)
			newest = seg;
	}
	if (newest == NULL)
		return;
	reach->walEnd = (newest->segno + 1) * reach->segSize;
	walSegmentName(reach->walEndSegment, newest->tli, newest->segno,
				   reach->segSize);
	reach->walEndArchived = newest->mtime;
}

/* Can recovery from some backup (or from backupId) follow t's history? */
static bool
timelineUsable(const RestoreReach *reach, const RestoreTimeline *t,
			   const char *backupId)
{
	for (int i = 0; i < reach->backupCount; i++)
		if ((backupId == NULL || strcmp(reach->backups[i].backupId, backupId) == 0) &&
			walHistoryReaches(t->history, reach->backups[i].timeline,
							  reach->backups[i].stopLsn))
			return true;
	return false;
}

/*
 * Where t's own part ends: its newest archived segment, or the end of a
 * backup taken on it if that is later (a backup holds its own WAL).
 */
static void
timelineEnd(const RestoreReach *reach, const RestoreTimeline *t,
			uint64 *lsn, int64 *usec)
{
	*lsn = t->walEnd;
	/*
	 * Archive times are whole seconds, cut down: the segment was stored
	 * up to a second later, and what it holds may be that recent (as for a
	 * backup's stop time below).  Cut down, a target in the same second as
	 * the newest segment fell outside the timeline that holds it.
	 */
	*usec = (t->walEndArchived + 1) * USECS_PER_SEC;
	for (int i = 0; i < reach->backupCount; i++)
	{
		const ManifestHeader *h = &reach->backups[i];

		if (h->timeline != t->tli)
			continue;
		*lsn = Max(*lsn, h->stopLsn);
		*usec = Max(*usec, (h->stopTime + 1) * USECS_PER_SEC);
	}
}

/* Does t hold target in its own part?  Never for what cannot be placed. */
static bool
timelineHolds(const RestoreReach *reach, const RestoreTimeline *t,
			  const RestoreTarget *target)
{
	const WalTimeline *own = &t->history->timelines[t->history->count - 1];
	uint64		endLsn;
	int64		endUsec;

	timelineEnd(reach, t, &endLsn, &endUsec);
	switch (target->kind)
	{
		case RESTORE_TARGET_LSN:
			return own->begin <= target->lsn && target->lsn <= endLsn;
		case RESTORE_TARGET_TIME:
			return t->created * USECS_PER_SEC <= target->timeUsec &&
				target->timeUsec <= endUsec;
		default:
			return false;
	}
}

/* Is a still written later than b (then the higher timeline)? */
static bool
timelineLater(const RestoreReach *reach, const RestoreTimeline *a,
			  const RestoreTimeline *b)
{
	uint64		lsnA,
				lsnB;
	int64		usecA,
				usecB;

	timelineEnd(reach, a, &lsnA, &usecA);
	timelineEnd(reach, b, &lsnB, &usecB);
	if (usecA != usecB)
		return usecA > usecB;
	return a->tli > b->tli;
}

/* "1, 3 and 4": the timelines of list but chosen. */
static void
timelineOthers(const RestoreReach *reach, const bool *list, uint32 chosen,
			   char *buf, size_t len)
{
	int			total = 0;
	int			done = 0;

	buf[0] = '\0';
	for (int i = 0; i < reach->timelineCount; i++)
		if (list[i] && reach->timelines[i].tli != chosen)
			total++;
	for (int i = 0; i < reach->timelineCount; i++)
	{
		size_t		used = strlen(buf);

		if (!list[i] || reach->timelines[i].tli == chosen)
			continue;
		done++;
		snprintf(buf + used, len - used, "%s%u",
				 done == 1 ? "" : done == total ? " and " : ", ",
				 reach->timelines[i].tli);
	}
}

bool
restoreTimelinePick(const RestoreReach *reach, const RestoreTarget *target,
					const char *backupId, uint32 requested,
					RestoreTimelinePick *pick, DrError *err)
{
	bool	   *usable;
	bool	   *holds;
	int			usableCount = 0;
	int			holdCount = 0;
	int			best = -1;
	RestoreTargetKind kind = target ? target->kind : RESTORE_TARGET_NONE;
	char		others[128];

	memset(pick, 0, sizeof(*pick));
	if (requested != 0)
	{
		for (int i = 0; i < reach->timelineCount; i++)
		{
			if (reach->timelines[i].tli != requested)
				continue;
			if (!timelineUsable(reach, &reach->timelines[i], backupId))
			{
				if (backupId != NULL)
					drErrorSet(err, DR_ERR_INVALID,
							   "backup \"%s\" is not on the history of timeline %u",
							   backupId, requested);
				else
					drErrorSet(err, DR_ERR_INVALID,
							   "no backup of the repository is on the history of timeline %u",
							   requested);
				drErrorHint(err, "Recovery along a timeline starts from a backup taken on it, or on an ancestor before it branched off.");
				return false;
			}
			pick->tli = requested;
			snprintf(pick->reason, sizeof(pick->reason),
					 "timeline %u, named with --target-timeline", requested);
			return true;
		}
		drErrorSet(err, DR_ERR_NOT_FOUND,
				   "timeline %u is not in the repository: the WAL archive has no history file for it and no backup was taken on it",
				   requested);
		drErrorHint(err, "\"pg_dr info\" lists the backups and their timelines.");
		return false;
	}

	if (reach->timelineCount == 0)
	{
		/* nothing known (no backup): 'latest', the pick refuses anyway */
		pick->latest = true;
		snprintf(pick->reason, sizeof(pick->reason), "the newest timeline");
		return true;
	}

	usable = palloc0(reach->timelineCount * sizeof(bool));
	holds = palloc0(reach->timelineCount * sizeof(bool));
	for (int i = 0; i < reach->timelineCount; i++)
	{
		usable[i] = timelineUsable(reach, &reach->timelines[i], backupId);
		if (!usable[i])
			continue;
		usableCount++;
		if (target != NULL && timelineHolds(reach, &reach->timelines[i], target))
		{
			holds[i] = true;
			holdCount++;
		}
	}

	for (int i = 0; i < reach->timelineCount; i++)
	{
		if (!usable[i] || (holdCount > 0 && !holds[i]))
			continue;
		if (best < 0 || timelineLater(reach, &reach->timelines[i],
									  &reach->timelines[best]))
			best = i;
	}
	if (best < 0)
	{
		/* no backup reaches any timeline: the newest, the pick says why */
		pick->tli = reach->newestTli;
		pick->latest = true;
		snprintf(pick->reason, sizeof(pick->reason), "timeline %u, the newest",
				 pick->tli);
		pfree(usable);
		pfree(holds);
		return true;
	}

	pick->tli = reach->timelines[best].tli;
	pick->latest = pick->tli == reach->newestTli;
	if (holdCount == 1)
		snprintf(pick->reason, sizeof(pick->reason),
				 "timeline %u, the only one whose archived WAL holds the target",
				 pick->tli);
	else if (holdCount > 1)
		snprintf(pick->reason, sizeof(pick->reason),
				 "timeline %u, of those whose archived WAL holds the target the one written last",
				 pick->tli);
	else
		snprintf(pick->reason, sizeof(pick->reason),
				 "timeline %u, the one whose WAL was archived last",
				 pick->tli);

	/* more than one could serve: say which others, and how to choose */
	if ((holdCount > 1) || (holdCount == 0 && kind != RESTORE_TARGET_LSN &&
							kind != RESTORE_TARGET_TIME && usableCount > 1))
	{
		bool	   *list = holdCount > 1 ? holds : usable;
		bool		anyOther = false;

		/* an ancestor of the chosen timeline is no alternative */
		for (int i = 0; i < reach->timelineCount; i++)
			if (list[i] && reach->timelines[i].tli != pick->tli &&
				walHistoryFind(reach->timelines[best].history,
							   reach->timelines[i].tli) != NULL)
				list[i] = false;
		for (int i = 0; i < reach->timelineCount; i++)
			if (list[i] && reach->timelines[i].tli != pick->tli)
				anyOther = true;
		if (anyOther)
		{
			timelineOthers(reach, list, pick->tli, others, sizeof(others));
			snprintf(pick->warning, sizeof(pick->warning),
					 "the WAL archive holds other timelines this restore could follow (%s); following timeline %u, whose WAL was archived last",
					 others, pick->tli);
			snprintf(pick->warningHint, sizeof(pick->warningHint),
					 "Another timeline comes from a promotion: a failover, or a restored cluster that archived here.  Name the timeline with --target-timeline to follow another one.");
		}
	}
	pfree(usable);
	pfree(holds);
	return true;
}

/* Order: the timeline written last first (timelineLater). */
static int
timelineCompareLater(const void *a, const void *b, void *arg)
{
	const RestoreReach *reach = arg;
	const RestoreTimeline *ta = &reach->timelines[*(const int *) a];
	const RestoreTimeline *tb = &reach->timelines[*(const int *) b];

	if (timelineLater(reach, ta, tb))
		return -1;
	if (timelineLater(reach, tb, ta))
		return 1;
	return 0;
}

int
restoreTimelineCandidates(const RestoreReach *reach, const char *backupId,
						  uint32 *tlis)
{
	int		   *order;
	int			count = 0;

	if (reach->timelineCount == 0)
		return 0;
	order = palloc(reach->timelineCount * sizeof(int));
	for (int i = 0; i < reach->timelineCount; i++)
		if (timelineUsable(reach, &reach->timelines[i], backupId))
			order[count++] = i;
	qsort_arg(order, count, sizeof(int), timelineCompareLater, (void *) reach);
	for (int i = 0; i < count; i++)
		tlis[i] = reach->timelines[order[i]].tli;
	pfree(order);
	return count;
}

/* The timeline whose WAL holds byte lsn along history (0: none). */
static uint32
timelineAt(const WalHistory *history, uint64 lsn)
{
	for (int i = 0; i < history->count; i++)
		if (history->timelines[i].begin <= lsn && lsn < history->timelines[i].end)
			return history->timelines[i].tli;
	return 0;
}

static const RestoreTimeline *
timelineGet(const RestoreReach *reach, uint32 tli)
{
	for (int i = 0; i < reach->timelineCount; i++)
		if (reach->timelines[i].tli == tli)
			return &reach->timelines[i];
	return NULL;
}

bool
restoreTimelineNameChoose(const RestoreReach *reach, const char *name,
						  const uint32 *tlis, const uint64 *found, int count,
						  RestoreTimelinePick *pick, DrError *err)
{
	const RestoreTimeline *chosen = NULL;
	bool	   *others;
	bool		anyOther = false;
	int			c;
	char		list[128];

	memset(pick, 0, sizeof(*pick));
	for (c = 0; c < count; c++)
		if (found[c] != 0 && (chosen = timelineGet(reach, tlis[c])) != NULL)
			break;
	others = palloc0(Max(reach->timelineCount, 1) * sizeof(bool));
	if (chosen == NULL)
	{
		for (int i = 0; i < count; i++)
			for (int j = 0; j < reach->timelineCount; j++)
				if (reach->timelines[j].tli == tlis[i])
					others[j] = true;
		timelineOthers(reach, others, 0, list, sizeof(list));
		pfree(others);
		drErrorSet(err, DR_ERR_INVALID,
				   "restore point \"%s\" is not in the archived WAL of timeline%s %s after the start of any backup",
				   name, count == 1 ? "" : "s", list);
		drErrorHint(err, "Names are case-sensitive (dr_restore_points lists them).  If the point is in WAL not archived yet: run SELECT pg_switch_wal() on the cluster that made it, or wait for the archiver.  To search one timeline only, name it with --target-timeline.");
		return false;
	}

	pick->tli = chosen->tli;
	pick->latest = pick->tli == reach->newestTli;
	snprintf(pick->reason, sizeof(pick->reason),
			 "timeline %u, %s", pick->tli,
			 c == 0 ? "whose WAL was archived last and holds the restore point" :
			 "the one written last whose archived WAL holds the restore point");

	/*
	 * Another point of that name: one found at another place, or at the
	 * same LSN but in WAL the two timelines do not share (restore points
	 * are unique per cluster, two clusters can each have made one).
	 */
	for (int i = c + 1; i < count; i++)
	{
		const RestoreTimeline *t = timelineGet(reach, tlis[i]);
		uint64		at = found[i];

		if (at == 0 || t == NULL)
			continue;
		if (at == found[c] &&
			timelineAt(t->history, at - 1) == timelineAt(chosen->history, at - 1))
			continue;
		for (int j = 0; j < reach->timelineCount; j++)
			if (reach->timelines[j].tli == t->tli)
				others[j] = anyOther = true;
	}
	if (anyOther)
	{
		timelineOthers(reach, others, pick->tli, list, sizeof(list));
		snprintf(pick->warning, sizeof(pick->warning),
				 "the archived WAL of timeline%s %s holds another restore point \"%s\"; following timeline %u, whose WAL was archived last",
				 strchr(list, ' ') ? "s" : "", list, name, pick->tli);
		snprintf(pick->warningHint, sizeof(pick->warningHint),
				 "Another timeline comes from a promotion: a failover, or a restored cluster that archived here.  Name the timeline with --target-timeline to follow another one.");
	}
	pfree(others);
	return true;
}
