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
 * The segments: WAL directories are named timeline first ("<tli><log>");
 * each is listed once, and every segment in it kept (its timeline,
 * number and when it was stored, 24 bytes each), so that the end of the
 * WAL along any timeline is computed without listing again.  Directories
 * are listed one after the other, never from inside a listing callback (a
 * driver need not support nested listings).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "restore/restore.h"

/* "<tli><log>": the first 16 characters of a segment name */
#define SCAN_DIR_LEN			16

/* A history file is a few lines per timeline; more is not one. */
#define SCAN_HISTORY_MAX		(16 * 1024 * 1024)

/* The top of the archive: WAL directories and history files. */
typedef struct ScanTop
{
	uint32		segSize;
	char	  **dirs;
	int			dirCount;
	int			dirSize;
	uint32	   *histories;		/* timelines with a history file */
	int64	   *historyMtimes;
	int			historyCount;
	int			historySize;
} ScanTop;

/* The segments of one directory, added to reach->segments. */
typedef struct ScanDir
{
	const char *dir;
	uint32		segSize;
	RestoreReach *reach;
	int			segmentMax;		/* allocated entries of reach->segments */
} ScanDir;

/* StorageListCallback of archive/wal. */
static bool
scanTopEntry(void *arg, const StorageInfo *info, DrError *err)
{
	ScanTop    *top = arg;
	uint32		tli;

	if (info->isDir)
	{
		char		probe[WAL_NAME_LEN + 1];
		uint64		segno;

		if (strlen(info->name) != SCAN_DIR_LEN)
			return true;
		snprintf(probe, sizeof(probe), "%s00000000", info->name);
		if (!walSegmentNameParse(probe, top->segSize, &tli, &segno))
			return true;
		if (top->dirCount == top->dirSize)
		{
			top->dirSize = top->dirSize ? top->dirSize * 2 : 16;
			top->dirs = top->dirs ?
				repalloc(top->dirs, top->dirSize * sizeof(char *)) :
				palloc(top->dirSize * sizeof(char *));
		}
		top->dirs[top->dirCount++] = pstrdup(info->name);
	}
	else if (walHistoryNameParse(info->name, &tli))
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
		top->histories[top->historyCount] = tli;
		top->historyMtimes[top->historyCount++] = info->mtime;
	}
	return true;
}

/* StorageListCallback of one WAL directory. */
static bool
scanDirEntry(void *arg, const StorageInfo *info, DrError *err)
{
	ScanDir    *dir = arg;
	RestoreReach *reach = dir->reach;
	RestoreWalSegment *seg;
	uint32		tli;
	uint64		segno;

	if (info->isDir ||
		strncmp(info->name, dir->dir, SCAN_DIR_LEN) != 0 ||
		!walSegmentNameParse(info->name, dir->segSize, &tli, &segno))
		return true;
	if (reach->segmentCount == dir->segmentMax)
	{
		dir->segmentMax = dir->segmentMax ? dir->segmentMax * 2 : 256;
		reach->segments = reach->segments ?
			repalloc(reach->segments, dir->segmentMax * sizeof(RestoreWalSegment)) :
			palloc(dir->segmentMax * sizeof(RestoreWalSegment));
	}
	seg = &reach->segments[reach->segmentCount++];
	seg->tli = tli;
	seg->segno = segno;
	seg->mtime = info->mtime;
	return true;
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
	top.segSize = reach->backups[reach->backupCount - 1].segmentSize;
	reach->segSize = top.segSize;
	if (!walSegmentSizeValid(top.segSize))
	{
		drErrorSet(err, DR_ERR_CORRUPT,
				   "backup \"%s\" names an invalid WAL segment size (%u bytes)",
				   reach->backups[reach->backupCount - 1].backupId, top.segSize);
		goto done;
	}
	if (!storageList(repoStorage(repo), REPO_ARCHIVE_WAL_DIR, scanTopEntry,
					 &top, err))
		goto done;

	{
		ScanDir		dir;

		memset(&dir, 0, sizeof(dir));
		dir.segSize = top.segSize;
		dir.reach = reach;
		for (int i = 0; i < top.dirCount; i++)
		{
			char	   *path = psprintf("%s/%s", REPO_ARCHIVE_WAL_DIR, top.dirs[i]);
			bool		listed;

			dir.dir = top.dirs[i];
			listed = storageList(repoStorage(repo), path, scanDirEntry, &dir, err);
			pfree(path);
			if (!listed)
				goto done;
		}
	}

	if (!scanTimelines(repo, reach, &top, err))
		goto done;
	restoreReachFollow(reach, reach->newestTli);
	ok = true;

done:
	for (int i = 0; i < top.dirCount; i++)
		pfree(top.dirs[i]);
	if (top.dirs)
		pfree(top.dirs);
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
