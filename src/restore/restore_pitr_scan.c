/*-------------------------------------------------------------------------
 * restore_pitr_scan.c
 *	  What a point-in-time restore can reach, read from a repository: the
 *	  backups' manifest headers, the newest timeline's history and the
 *	  newest archived segment along it (restore.h, RestoreReach).  The
 *	  decision itself is restore_pitr_pick.c.
 *
 * The newest timeline is the one recovery_target_timeline = 'latest'
 * ends up on: the server probes for history files upwards from its
 * backup's timeline, so it is the greatest timeline with a history file in
 * the archive, or the greatest timeline of a backup if that is greater.
 * Segments of a timeline without a history file are never followed.
 *
 * The newest segment along the history: WAL directories are named
 * timeline first ("<tli><log>"), so walking them in descending order meets
 * the timelines newest first; a segment counts when recovery along the
 * history reads it (walHistoryTimelineOf), not when its timeline had
 * already branched off.  The first directory with a counting segment holds
 * the newest one: each timeline's counting segments come after all of its
 * ancestors'.  Directories are listed one after the other, never from
 * inside a listing callback (a driver need not support nested listings).
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
	uint32		newestHistory;	/* 0 when there is no history file */
} ScanTop;

/* The newest counting segment of one directory. */
typedef struct ScanDir
{
	const char *dir;
	uint32		tli;
	uint32		segSize;
	const WalHistory *history;
	bool		found;
	uint64		segno;
	int64		mtime;
} ScanDir;

static int
scanNameCompareDesc(const void *a, const void *b)
{
	return strcmp(*(char *const *) b, *(char *const *) a);
}

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
	else if (walHistoryNameParse(info->name, &tli) && tli > top->newestHistory)
		top->newestHistory = tli;
	return true;
}

/* StorageListCallback of one WAL directory. */
static bool
scanDirEntry(void *arg, const StorageInfo *info, DrError *err)
{
	ScanDir    *dir = arg;
	uint32		tli;
	uint64		segno;

	if (info->isDir ||
		strncmp(info->name, dir->dir, SCAN_DIR_LEN) != 0 ||
		!walSegmentNameParse(info->name, dir->segSize, &tli, &segno) ||
		walHistoryTimelineOf(dir->history, segno, dir->segSize) != tli)
		return true;
	if (!dir->found || segno > dir->segno)
	{
		dir->found = true;
		dir->segno = segno;
		dir->mtime = info->mtime;
	}
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

RestoreReach *
restoreReachScan(Repo *repo, DrError *err)
{
	RestoreReach *reach = palloc0(sizeof(RestoreReach));
	ScanTop		top;
	uint32		newestTli = 0;

	memset(&top, 0, sizeof(top));
	if (!scanBackups(repo, reach, err))
		goto fail;
	if (reach->backupCount == 0)
		return reach;

	/* every backup is of one cluster (the chain checks say so): the newest */
	top.segSize = reach->backups[reach->backupCount - 1].segmentSize;
	if (!walSegmentSizeValid(top.segSize))
	{
		drErrorSet(err, DR_ERR_CORRUPT,
				   "backup \"%s\" names an invalid WAL segment size (%u bytes)",
				   reach->backups[reach->backupCount - 1].backupId, top.segSize);
		goto fail;
	}
	if (!storageList(repoStorage(repo), REPO_ARCHIVE_WAL_DIR, scanTopEntry,
					 &top, err))
		goto fail;

	newestTli = top.newestHistory;
	for (int i = 0; i < reach->backupCount; i++)
		newestTli = Max(newestTli, reach->backups[i].timeline);
	if (top.newestHistory == newestTli)
	{
		reach->history = scanHistoryRead(repo, newestTli, err);
		if (reach->history == NULL)
			goto fail;
	}
	else
		reach->history = walHistoryRoot(newestTli);

	if (top.dirCount > 1)
		qsort(top.dirs, top.dirCount, sizeof(char *), scanNameCompareDesc);
	for (int i = 0; i < top.dirCount; i++)
	{
		ScanDir		dir;
		char		probe[WAL_NAME_LEN + 1];
		uint64		segno;
		char	   *path;
		bool		ok;

		memset(&dir, 0, sizeof(dir));
		dir.dir = top.dirs[i];
		dir.segSize = top.segSize;
		dir.history = reach->history;
		snprintf(probe, sizeof(probe), "%s00000000", top.dirs[i]);
		walSegmentNameParse(probe, top.segSize, &dir.tli, &segno);
		if (walHistoryFind(reach->history, dir.tli) == NULL)
			continue;

		path = psprintf("%s/%s", REPO_ARCHIVE_WAL_DIR, top.dirs[i]);
		ok = storageList(repoStorage(repo), path, scanDirEntry, &dir, err);
		pfree(path);
		if (!ok)
			goto fail;
		if (dir.found)
		{
			reach->walEnd = (dir.segno + 1) * top.segSize;
			walSegmentName(reach->walEndSegment, dir.tli, dir.segno, top.segSize);
			reach->walEndArchived = dir.mtime;
			break;
		}
	}

	for (int i = 0; i < top.dirCount; i++)
		pfree(top.dirs[i]);
	if (top.dirs)
		pfree(top.dirs);
	return reach;

fail:
	for (int i = 0; i < top.dirCount; i++)
		pfree(top.dirs[i]);
	if (top.dirs)
		pfree(top.dirs);
	restoreReachFree(reach);
	return NULL;
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
	if (reach->history)
		walHistoryFree(reach->history);
	pfree(reach);
}
