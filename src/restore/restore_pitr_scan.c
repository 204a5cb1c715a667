/*-------------------------------------------------------------------------
 * restore_pitr_scan.c
 *	  What a point-in-time restore can reach, read from a repository: the
 *	  backups' manifest headers, every timeline's history and the archived
 *	  segments (restore.h, RestoreReach).  The decisions are
 *	  restore_pitr_timeline.c (which timeline) and restore_pitr_pick.c
 *	  (which backup).
 *
 * The timelines: every one with a history file in the archive, and every
 * one a backup was taken on (timeline 1 has no history file; a history
 * file may be missing).  The newest of them is the one
 * recovery_target_timeline = 'latest' ends up on: the server probes for
 * history files upwards from its backup's timeline.  Segments of a
 * timeline without a history file are never followed.
 *
 * The segments: the archive is listed once (repoArchiveIter), and every
 * segment kept (its timeline, number and when it was stored, 24 bytes
 * each), so that the end of the WAL along any timeline is computed
 * without listing again.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "repo/repo_archive.h"
#include "restore/restore.h"

/* A history file is a few lines per timeline; more is not one. */
#define SCAN_HISTORY_MAX		(16 * 1024 * 1024)

/* The history files at the top of the archive. */
typedef struct ScanTop
{
	uint32	   *histories;		/* timelines with a history file */
	int64	   *historyMtimes;
	int			historyCount;
	int			historySize;
} ScanTop;

static void
scanHistoryAdd(ScanTop *top, const RepoArchiveEntry *entry)
{
	if (top->historyCount == top->historySize)
	{
		top->historySize = top->historySize ? top->historySize * 2 : 8;
		top->histories = top->histories ?
			repalloc(top->histories, top->historySize * sizeof(uint32)) :
			palloc(top->historySize * sizeof(uint32));
		top->historyMtimes = top->historyMtimes ?
			repalloc(top->historyMtimes, top->historySize * sizeof(int64)) :
			palloc(top->historySize * sizeof(int64));
	}
	top->histories[top->historyCount] = entry->tli;
	top->historyMtimes[top->historyCount++] = entry->mtime;
}

static void
scanSegmentAdd(RestoreReach *reach, int *segmentMax,
			   const RepoArchiveEntry *entry)
{
	RestoreWalSegment *seg;

	if (reach->segmentCount == *segmentMax)
	{
		*segmentMax = *segmentMax ? *segmentMax * 2 : 256;
		reach->segments = reach->segments ?
			repalloc(reach->segments, *segmentMax * sizeof(RestoreWalSegment)) :
			palloc(*segmentMax * sizeof(RestoreWalSegment));
	}
	seg = &reach->segments[reach->segmentCount++];
	seg->tli = entry->tli;
	seg->segno = entry->segno;
	seg->mtime = entry->mtime;
}

/* The history files and the segments of the archive. */
static bool
scanArchive(Repo *repo, RestoreReach *reach, ScanTop *top, DrError *err)
{
	RepoArchiveIterParam filter = {0};
	RepoArchiveIter *iter;
	const RepoArchiveEntry *entry;
	int			segmentMax = 0;
	bool		ok;

	filter.kinds = REPO_ARCHIVE_SEGMENT | REPO_ARCHIVE_HISTORY;
	filter.segSize = reach->segSize;
	iter = repoArchiveIterOpen(repo, &filter, err);
	if (iter == NULL)
		return false;
	while ((ok = repoArchiveIterNext(iter, &entry, err)) && entry != NULL)
	{
		if (entry->kind == REPO_ARCHIVE_HISTORY)
			scanHistoryAdd(top, entry);
		else
			scanSegmentAdd(reach, &segmentMax, entry);
	}
	repoArchiveIterClose(iter);
	return ok;
}

/* The readable backups' headers; the others get a message. */
static bool
scanBackups(Repo *repo, RestoreReach *reach, DrError *err)
{
	RepoBackupHeaders headers;

	if (!repoBackupHeadersRead(repo, &headers, err))
		return false;
	/* the arrays move to reach (restoreReachFree frees them) */
	reach->backups = headers.headers;
	reach->backupCount = headers.count;
	reach->unreadable = headers.unreadable;
	reach->unreadableCount = headers.unreadableCount;
	for (int i = 0; i < headers.unreadableCount; i++)
		pfree(headers.unreadableIds[i]);
	if (headers.unreadableIds)
		pfree(headers.unreadableIds);
	return true;
}

/* The history of timeline tli from the archive. */
static WalHistory *
scanHistoryRead(Repo *repo, uint32 tli, DrError *err)
{
	char	   *path = repoArchiveHistoryPath(tli);
	char		name[32];
	char	   *text;
	size_t		len;
	WalHistory *history;

	snprintf(name, sizeof(name), "%08X.history", tli);
	text = repoObjectGetBuffer(repo, path, &len, SCAN_HISTORY_MAX, err);
	pfree(path);
	if (text == NULL)
	{
		drErrorPrefix(err, "history file %s of the WAL archive: ", name);
		return NULL;
	}
	history = walHistoryParse(text, len, tli, name, err);
	pfree(text);
	return history;
}

static int
scanTliCompare(const void *a, const void *b)
{
	uint32		x = *(const uint32 *) a;
	uint32		y = *(const uint32 *) b;

	return x < y ? -1 : x > y;
}

/* The timelines: with a history file, or with a backup; ascending. */
static bool
scanTimelines(Repo *repo, RestoreReach *reach, const ScanTop *top,
			  DrError *err)
{
	uint32	   *tlis = palloc((top->historyCount + reach->backupCount) * sizeof(uint32));
	int			count = 0;

	for (int i = 0; i < top->historyCount; i++)
		tlis[count++] = top->histories[i];
	for (int i = 0; i < reach->backupCount; i++)
		tlis[count++] = reach->backups[i].timeline;
	qsort(tlis, count, sizeof(uint32), scanTliCompare);

	reach->timelines = palloc0(Max(count, 1) * sizeof(RestoreTimeline));
	for (int i = 0; i < count; i++)
	{
		RestoreTimeline *t;
		int			file = -1;

		if (reach->timelineCount > 0 &&
			reach->timelines[reach->timelineCount - 1].tli == tlis[i])
			continue;
		t = &reach->timelines[reach->timelineCount++];
		t->tli = tlis[i];
		for (int h = 0; h < top->historyCount; h++)
			if (top->histories[h] == t->tli)
				file = h;
		if (file >= 0)
		{
			t->history = scanHistoryRead(repo, t->tli, err);
			if (t->history == NULL)
			{
				pfree(tlis);
				return false;
			}
			t->created = top->historyMtimes[file];
		}
		else
			t->history = walHistoryRoot(t->tli);

		/* its own newest segment */
		for (int s = 0; s < reach->segmentCount; s++)
		{
			const RestoreWalSegment *seg = &reach->segments[s];
			uint64		end = (seg->segno + 1) * reach->segSize;

			if (seg->tli == t->tli && end > t->walEnd)
			{
				t->walEnd = end;
				t->walEndArchived = seg->mtime;
			}
		}
	}
	reach->newestTli = reach->timelineCount > 0 ?
		reach->timelines[reach->timelineCount - 1].tli : 0;
	pfree(tlis);
	return true;
}

RestoreReach *
restoreReachScan(Repo *repo, DrError *err)
{
	RestoreReach *reach = palloc0(sizeof(RestoreReach));
	ScanTop		top;
	bool		ok = false;

	memset(&top, 0, sizeof(top));
	if (!scanBackups(repo, reach, err))
		goto done;
	if (reach->backupCount == 0)
	{
		ok = true;
		goto done;
	}

	/* every backup is of one cluster (the chain checks say so): the newest */
	reach->segSize = reach->backups[reach->backupCount - 1].segmentSize;
	if (!walSegmentSizeValid(reach->segSize))
	{
		drErrorSet(err, DR_ERR_CORRUPT,
				   "backup \"%s\" names an invalid WAL segment size (%u bytes)",
				   reach->backups[reach->backupCount - 1].backupId, reach->segSize);
		goto done;
	}
	if (!scanArchive(repo, reach, &top, err))
		goto done;

	if (!scanTimelines(repo, reach, &top, err))
		goto done;
	restoreReachFollow(reach, reach->newestTli);
	ok = true;

done:
	if (top.histories)
		pfree(top.histories);
	if (top.historyMtimes)
		pfree(top.historyMtimes);
	if (!ok)
	{
		restoreReachFree(reach);
		return NULL;
	}
	return reach;
}

void
restoreReachFree(RestoreReach *reach)
{
	if (reach == NULL)
		return;
	for (int i = 0; i < reach->backupCount; i++)
		if (reach->backups[i].label)
			pfree(reach->backups[i].label);
	if (reach->backups)
		pfree(reach->backups);
	for (int i = 0; i < reach->unreadableCount; i++)
		pfree(reach->unreadable[i]);
	if (reach->unreadable)
		pfree(reach->unreadable);
	/* history is one of the timelines' when there are any */
	for (int i = 0; i < reach->timelineCount; i++)
		if (reach->timelines[i].history)
			walHistoryFree(reach->timelines[i].history);
	if (reach->timelines)
		pfree(reach->timelines);
	else if (reach->history)
		walHistoryFree(reach->history);
	if (reach->segments)
		pfree(reach->segments);
	pfree(reach);
}
