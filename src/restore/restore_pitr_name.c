/*-------------------------------------------------------------------------
 * restore_pitr_name.c
 *	  Where a restore point is: its records found in the archived WAL, and
 *	  the backup a --target-name restore starts from and the timeline it
 *	  follows (restore.h, restoreTargetNamePlace, restoreTargetNameTimeline).
 *
 * Why the WAL, and not a list of names: the repository keeps no record of
 * restore points, and the server's pgdr.pitr_events cannot serve -- it is
 * in the cluster being restored (often the one that was lost), and it
 * misses points made with pg_create_restore_point().  Writing names into
 * the repository from dr_restore_point() would still miss those, and could
 * name a point whose WAL never reached the archive.  The archived WAL is
 * what recovery will replay: a restore point record found there, after
 * the end of the backup, is exactly what stops recovery; without one the
 * server would fail at start ("recovery ended before configured recovery
 * target was reached"), and with one inside the backup's own WAL it would
 * stop before consistency ("requested recovery stop point is before
 * consistent recovery point").
 *
 * Which occurrence counts: recovery stops at the first record of that name
 * it replays (names need not be unique: pg_create_restore_point() allows
 * duplicates), and it replays from the backup's start.  So for a backup,
 * the first occurrence at or after its start must lie at or after its
 * stop.  The backup chosen is the newest on the history for which that
 * holds (or the one named, which must satisfy it).
 *
 * Cost: recovery reads the same WAL anyway.  The walk reads the segments
 * from the newest backup's start to the end of the archive first; only if
 * that backup cannot reach the name does it read, for the next older
 * backup, the segments between its start and what was already read (one
 * segment overlaps, so a record across the boundary is seen whole).
 *
 * Which timeline (restoreTargetNameTimeline): the timeline a name is on
 * cannot be told without reading its WAL, and a restore point made on a
 * restored cluster's timeline after it branched off is not in the WAL of
 * the timeline archived last.  So, when more than one timeline could be
 * followed and none was named, each is searched, the one archived last
 * first, and the first that holds the name is followed; the decision is
 * restoreTimelineNameChoose's (restore_pitr_timeline.c, pure).
 *
 * The record walk (restoreWalWalk*) is pure, fed segments in order: it
 * follows page headers, records across pages and segments, and checks the
 * CRC of every restore point record it reports.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "access/xlog_internal.h"
#include "access/xlogrecord.h"
#include "access/rmgr.h"
#include "catalog/pg_control.h"
#include "port/pg_crc32c.h"

#include "repo/repo_backup.h"
#include "restore/restore.h"
#include "restore/restore_internal.h"

/* ---------------------------------------------------------------------
 * The record walk
 * ---------------------------------------------------------------------
 */

void
restoreWalWalkInit(RestoreWalWalk *walk, const char *name)
{
	memset(walk, 0, sizeof(*walk));
	walk->name = name;
}

void
restoreWalWalkGap(RestoreWalWalk *walk)
{
	walk->inRecord = false;
}

/* Remember a restore point at lsn, once (ranges overlap by a segment). */
static void
walWalkFound(RestoreWalWalk *walk, uint64 lsn, uint64 endLsn, int64 time)
{
	for (int i = 0; i < walk->foundCount; i++)
		if (walk->found[i].lsn == lsn)
			return;
	if (walk->foundCount == walk->foundSize)
	{
		walk->foundSize = walk->foundSize ? walk->foundSize * 2 : 8;
		walk->found = walk->found ?
			repalloc(walk->found, walk->foundSize * sizeof(RestoreWalPoint)) :
			palloc(walk->foundSize * sizeof(RestoreWalPoint));
	}
	walk->found[walk->foundCount].lsn = lsn;
	walk->found[walk->foundCount].endLsn = endLsn;
	walk->found[walk->foundCount].time = time;
	walk->foundCount++;
}

/*
 * A whole record collected: a restore point of the name sought, with a
 * good CRC?  The main data follows the header directly (a restore point
 * registers no block), maybe after an origin or top-level xid.
 */
static void
walWalkRecord(RestoreWalWalk *walk, uint64 endLsn)
{
	XLogRecord	hdr;
	xl_restore_point point;
	const uint8 *p = (const uint8 *) walk->rec + SizeOfXLogRecord;
	const uint8 *end = (const uint8 *) walk->rec + walk->recTotal;
	uint32		len = 0;
	pg_crc32c	crc;

	if (walk->recTotal > RESTORE_WAL_RECORD_MAX)
		return;
	memcpy(&hdr, walk->rec, SizeOfXLogRecord);
	if (hdr.xl_rmid != RM_XLOG_ID ||
		(hdr.xl_info & ~XLR_INFO_MASK) != XLOG_RESTORE_POINT)
		return;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, walk->rec + SizeOfXLogRecord, walk->recTotal - SizeOfXLogRecord);
	COMP_CRC32C(crc, walk->rec, offsetof(XLogRecord, xl_crc));
	FIN_CRC32C(crc);
	if (!EQ_CRC32C(crc, hdr.xl_crc))
		return;

	while (p < end)
	{
		if (*p == XLR_BLOCK_ID_ORIGIN)
			p += 1 + sizeof(RepOriginId);
		else if (*p == XLR_BLOCK_ID_TOPLEVEL_XID)
			p += 1 + sizeof(TransactionId);
		else if (*p == XLR_BLOCK_ID_DATA_SHORT && p + 2 <= end)
		{
			len = p[1];
			p += 2;
			break;
		}
		else if (*p == XLR_BLOCK_ID_DATA_LONG && p + 5 <= end)
		{
			memcpy(&len, p + 1, sizeof(uint32));
			p += 5;
			break;
		}
		else
			return;
	}
	if (len != sizeof(xl_restore_point) || p + len > end)
		return;
	memcpy(&point, p, sizeof(point));
	point.rp_name[MAXFNAMELEN - 1] = '\0';
	if (strcmp(point.rp_name, walk->name) == 0)
		walWalkFound(walk, walk->recLsn, endLsn, point.rp_time);
}

void
restoreWalWalkSegment(RestoreWalWalk *walk, const char *seg, size_t len,
					  uint64 segStart)
{
	for (size_t off = 0; off + XLOG_BLCKSZ <= len; off += XLOG_BLCKSZ)
	{
		XLogPageHeaderData page;
		uint64		pageLsn = segStart + off;
		size_t		pos;

		memcpy(&page, seg + off, sizeof(page));
		if (page.xlp_magic != XLOG_PAGE_MAGIC || page.xlp_pageaddr != pageLsn)
		{
			/* not WAL of this place (the zeroed tail of a partial segment) */
			walk->inRecord = false;
			continue;
		}
		pos = (page.xlp_info & XLP_LONG_HEADER) ? SizeOfXLogLongPHD : SizeOfXLogShortPHD;

		if (page.xlp_info & XLP_FIRST_IS_CONTRECORD)
		{
			if (walk->inRecord && page.xlp_rem_len != walk->recTotal - walk->recDone)
				walk->inRecord = false;
			if (!walk->inRecord)
			{
				/* the rest of a record begun before the walk: skip it */
				if (MAXALIGN(page.xlp_rem_len) >= XLOG_BLCKSZ - pos)
					continue;
				pos += MAXALIGN(page.xlp_rem_len);
			}
		}
		else
			walk->inRecord = false; /* a record cut short: never written whole */

		while (pos < XLOG_BLCKSZ)
		{
			if (walk->inRecord)
			{
				uint32		n = Min(walk->recTotal - walk->recDone,
									(uint32) (XLOG_BLCKSZ - pos));

				if (walk->recDone < RESTORE_WAL_RECORD_MAX)
					memcpy(walk->rec + walk->recDone, seg + off + pos,
						   Min(n, RESTORE_WAL_RECORD_MAX - walk->recDone));
				walk->recDone += n;
				pos += n;
				if (walk->recDone < walk->recTotal)
					break;		/* continues on the next page */
				walk->inRecord = false;
				/* its end as XLogInsert returns it: MAXALIGNed */
				pos = MAXALIGN(pos);
				walWalkRecord(walk, pageLsn + pos);
			}
			else
			{
				uint32		total;

				memcpy(&total, seg + off + pos, sizeof(total));
				/* nothing more on this page: end of WAL, or after a switch */
				if (total < SizeOfXLogRecord)
					break;
				walk->inRecord = true;
				walk->recLsn = pageLsn + pos;
				walk->recTotal = total;
				walk->recDone = 0;
			}
		}
	}
}

void
restoreWalWalkFree(RestoreWalWalk *walk)
{
	if (walk->found)
		pfree(walk->found);
	walk->found = NULL;
	walk->foundCount = walk->foundSize = 0;
}

/* ---------------------------------------------------------------------
 * The archive, and the choice of a backup
 * ---------------------------------------------------------------------
 */

/* Walk segments [first, last] of the archive along reach's history. */
static bool
nameWalkRange(Repo *repo, const RestoreReach *reach, uint32 tli,
			  uint32 segSize, uint64 first, uint64 last,
			  RestoreWalWalk *walk, DrError *err)
{
	restoreWalWalkGap(walk);
	for (uint64 segno = first; segno <= last; segno++)
	{
		char		name[WAL_NAME_LEN + 1];
		char	   *path;
		char	   *seg;
		size_t		len;
		DrError		one;

		if (reach->history != NULL)
			tli = walHistoryTimelineOf(reach->history, segno, segSize);
		walSegmentName(name, tli, segno, segSize);
		path = repoArchiveWalPath(name, err);
		if (path == NULL)
			return false;
		drErrorClear(&one);
		seg = repoObjectGetBuffer(repo, path, &len, segSize, &one);
		pfree(path);
		if (seg == NULL)
		{
			/* a gap: recovery would stop there; the points before count */
			if (one.code == DR_ERR_NOT_FOUND)
			{
				restoreWalWalkGap(walk);
				continue;
			}
			*err = one;
			drErrorPrefix(err, "WAL segment %s: ", name);
			return false;
		}
		restoreWalWalkSegment(walk, seg, len, segno * segSize);
		pfree(seg);
	}
	return true;
}

/* The first restore point at or after lsn, or NULL. */
static const RestoreWalPoint *
nameFirstAfter(const RestoreWalWalk *walk, uint64 lsn)
{
	const RestoreWalPoint *first = NULL;

	for (int i = 0; i < walk->foundCount; i++)
		if (walk->found[i].lsn >= lsn &&
			(first == NULL || walk->found[i].lsn < first->lsn))
			first = &walk->found[i];
	return first;
}

/* Is backup a newer (later stop) than b? */
static int
nameBackupCompareDesc(const void *a, const void *b, void *arg)
{
	const RestoreReach *reach = arg;
	const ManifestHeader *ha = &reach->backups[*(const int *) a];
	const ManifestHeader *hb = &reach->backups[*(const int *) b];

	if (ha->stopLsn != hb->stopLsn)
		return ha->stopLsn > hb->stopLsn ? -1 : 1;
	return *(const int *) b - *(const int *) a;
}

/*
 * restoreTargetNamePlace; *inside says, on failure, that the name was
 * found but only inside a backup's own WAL (the timeline holds it).
 */
static bool
namePlace(Repo *repo, const RestoreReach *reach, const RestoreTarget *target,
		  const char *backupId, int *index, uint64 *lsn, bool *inside_,
		  DrError *err)
{
	RestoreWalWalk walk;
	int		   *order;
	int			count = 0;
	uint64		lastSeg;		/* the newest archived segment */
	uint64		readFrom;		/* first segment already walked */
	const ManifestHeader *inside = NULL;	/* a backup whose WAL has it */
	const RestoreWalPoint *insidePoint = NULL;
	bool		ok = true;
	char		a[32];
	char		b[32];

	*index = -1;
	*inside_ = false;
	if (target->kind != RESTORE_TARGET_NAME)
		return drErrorSet(err, DR_ERR_INVALID, "not a restore point target");
	if (reach->backupCount == 0 || reach->walEnd == 0)
		return true;			/* restoreTargetPick says what is missing */

	/* the candidates, newest first: every backup on the history, or one */
	order = palloc(reach->backupCount * sizeof(int));
	for (int i = 0; i < reach->backupCount; i++)
	{
		const ManifestHeader *h = &reach->backups[i];

		if (backupId != NULL && strcmp(backupId, "latest") != 0 &&
			strcmp(h->backupId, backupId) != 0)
			continue;
		if (reach->history != NULL &&
			!walHistoryReaches(reach->history, h->timeline, h->stopLsn))
			continue;
		if (!walSegmentSizeValid(h->segmentSize))
			continue;
		order[count++] = i;
	}
	if (count == 0)
	{
		pfree(order);
		return true;			/* restoreTargetPick names the problem */
	}
	qsort_arg(order, count, sizeof(int), nameBackupCompareDesc, (void *) reach);

	restoreWalWalkInit(&walk, target->value);
	lastSeg = walSegmentOf(reach->walEnd - 1, reach->backups[order[0]].segmentSize);
	readFrom = lastSeg + 1;
	for (int c = 0; c < count && *index < 0; c++)
	{
		const ManifestHeader *h = &reach->backups[order[c]];
		uint64		first = walSegmentOf(h->startLsn, h->segmentSize);
		const RestoreWalPoint *point;

		/* what has not been read yet, and one segment of what has */
		if (first < readFrom)
		{
			if (!nameWalkRange(repo, reach, h->timeline, h->segmentSize, first,
							   Min(readFrom, lastSeg), &walk, err))
			{
				ok = false;
				break;
			}
			readFrom = first;
		}
		point = nameFirstAfter(&walk, h->startLsn);
		if (point == NULL)
			continue;
		if (point->lsn >= h->stopLsn)
		{
			*index = order[c];
			*lsn = point->endLsn;
		}
		else if (inside == NULL)
		{
			inside = h;
			insidePoint = point;
		}
	}

	if (ok && *index < 0)
	{
		if (inside != NULL)
		{
			*inside_ = true;
			manifestLsnFormat(insidePoint->endLsn, a, sizeof(a));
			manifestLsnFormat(inside->stopLsn, b, sizeof(b));
			drErrorSet(err, DR_ERR_INVALID,
					   "restore point \"%s\" cannot be reached: recovery from backup %s meets it at %s, before the backup ends (%s)",
					   target->value, inside->backupId, a, b);
			drErrorHint(err, "Recovery stops at the first restore point of that name, and only once its backup is consistent.  %s",
						backupId != NULL && strcmp(backupId, "latest") != 0 ?
						"Name an older backup, or leave --backup out to have one picked." :
						"No backup of the repository ended before it.");
		}
		else
		{
			drErrorSet(err, DR_ERR_INVALID,
					   "restore point \"%s\" is not in the archived WAL %s",
					   target->value,
					   backupId != NULL && strcmp(backupId, "latest") != 0 ?
					   "after the start of the backup named" :
					   "after the start of any backup");
			drErrorHint(err, "Names are case-sensitive (dr_restore_points lists them).  If the point is in WAL not archived yet: run SELECT pg_switch_wal() on the source, or wait for the archiver.");
		}
		ok = false;
	}
	restoreWalWalkFree(&walk);
	pfree(order);
	return ok;
}

bool
restoreTargetNamePlace(Repo *repo, const RestoreReach *reach,
					   const RestoreTarget *target, const char *backupId,
					   int *index, uint64 *lsn, DrError *err)
{
	bool		inside;

	return namePlace(repo, reach, target, backupId, index, lsn, &inside, err);
}

bool
restoreTargetNameTimeline(Repo *repo, RestoreReach *reach,
						  const RestoreTarget *target, const char *backupId,
						  RestoreTimelinePick *pick, int *index, uint64 *lsn,
						  DrError *err)
{
	uint32	   *tlis;
	uint64	   *found;
	int		   *backups;
	int			count;
	int			placed = 0;
	int			missing = 0;
	bool		ok = false;
	DrError		insideErr;
	uint32		insideTli = 0;
	bool		named = backupId != NULL && strcmp(backupId, "latest") != 0;

	*index = -1;
	tlis = palloc(Max(reach->timelineCount, 1) * sizeof(uint32));
	found = palloc0(Max(reach->timelineCount, 1) * sizeof(uint64));
	backups = palloc0(Max(reach->timelineCount, 1) * sizeof(int));
	/* "latest" is no backup's id: every backup counts */
	count = restoreTimelineCandidates(reach, named ? backupId : NULL, tlis);

	/* every candidate's WAL, newest archived first */
	drErrorClear(&insideErr);
	for (int c = 0; c < count; c++)
	{
		bool		inside;
		DrError		one;

		restoreReachFollow(reach, tlis[c]);
		drErrorClear(&one);
		if (namePlace(repo, reach, target, backupId, &backups[c], &found[c],
					  &inside, &one))
		{
			if (backups[c] >= 0)
				placed++;
			else
				found[c] = 0;	/* no backup or no WAL to look in */
			continue;
		}
		found[c] = 0;
		if (one.code != DR_ERR_INVALID)
		{
			*err = one;
			drErrorPrefix(err, "timeline %u: ", tlis[c]);
			goto done;
		}
		missing++;
		if (inside && insideTli == 0)
		{
			insideErr = one;
			insideTli = tlis[c];
		}
	}

	if (placed == 0 && missing == 0)
	{
		/* nothing to look in anywhere: restoreTargetPick says what lacks */
		ok = true;
		goto done;
	}
	if (placed == 0 && insideTli != 0)
	{
		/* the name is there, but only where recovery cannot stop at it */
		*err = insideErr;
		drErrorPrefix(err, "timeline %u: ", insideTli);
		goto done;
	}
	if (!restoreTimelineNameChoose(reach, target->value, tlis, found, count,
								   pick, err))
		goto done;
	for (int c = 0; c < count; c++)
		if (tlis[c] == pick->tli)
		{
			*index = backups[c];
			*lsn = found[c];
		}
	ok = true;

done:
	pfree(tlis);
	pfree(found);
	pfree(backups);
	return ok;
}
