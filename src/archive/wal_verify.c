/*-------------------------------------------------------------------------
 * wal_verify.c
 *	  Continuity and integrity of the WAL archive (see wal_verify.h).
 *
 * The walk goes segment by segment from the start segment to the newest
 * one, the timeline of each from the newest timeline's history.  Whether
 * a segment is there is answered from the sorted names of its directory
 * ("<tli><log>"), listed (repoArchiveIter, by name) when the walk first
 * needs it; consecutive missing segments are gathered into one problem.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "access/xlog_internal.h"

#include "common/hex.h"
#include "repo/repo_archive.h"
#include "repo/repo_backup.h"
#include "archive/wal_verify.h"

/* History files are a few lines per timeline. */
#define VERIFY_HISTORY_MAX		(16 * 1024 * 1024)
/* "<tli><log>": the name of a directory under archive/wal */
#define VERIFY_DIR_LEN			16
/* The smallest segment size: names valid for any size parse with it. */
#define VERIFY_SEGSIZE_ANY		(1024 * 1024)

typedef struct WalVerifyState
{
	Repo	   *repo;
	const WalVerifyParam *param;
	WalVerifyResult *result;
	uint32		segSize;
	uint64		systemIdentifier;	/* 0 = not checked */

	/* directories under archive/wal, and the history files there */
	char	  **dirs;
	int			dirCount;
	int			dirSize;
	uint32	   *histories;
	int			historyCount;
	int			historySize;

	/* the segments of one directory, sorted */
	char		listedDir[VERIFY_DIR_LEN + 1];
	char	  **names;
	int			nameCount;
	int			nameSize;

	/* the gap being walked through */
	uint64		gapCount;
	char		gapFirst[WAL_NAME_LEN + 1];
	char		gapLast[WAL_NAME_LEN + 1];
} WalVerifyState;

static void walVerifyProblem(WalVerifyState *state, WalVerifyProblemKind kind,
							 const char *fmt,...) pg_attribute_printf(3, 4);

static void
walVerifyProblem(WalVerifyState *state, WalVerifyProblemKind kind,
				 const char *fmt,...)
{
	char		message[sizeof(((DrError *) NULL)->message) + 256];
	va_list		args;

	va_start(args, fmt);
	vsnprintf(message, sizeof(message), fmt, args);
	va_end(args);
	state->result->problems++;
	state->param->problem(state->param->arg, kind, message);
}

static int
walVerifyNameCompare(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Append a palloc'd copy of s to a growing array. */
static void
walVerifyAppend(char ***array, int *count, int *size, const char *s)
{
	if (*count == *size)
	{
		*size = *size ? *size * 2 : 64;
		*array = *array ? repalloc(*array, *size * sizeof(char *)) :
			palloc(*size * sizeof(char *));
	}
	(*array)[(*count)++] = pstrdup(s);
}

/* The top of archive/wal: its log directories and history files. */
static bool
walVerifyListTop(WalVerifyState *state, DrError *err)
{
	RepoArchiveIterParam filter = {0};
	RepoArchiveIter *iter;
	const RepoArchiveEntry *entry;
	bool		ok;

	/* the segment size is not known yet: directories of any size */
	filter.kinds = REPO_ARCHIVE_DIR | REPO_ARCHIVE_HISTORY;
	iter = repoArchiveIterOpen(state->repo, &filter, err);
	if (iter == NULL)
		return false;
	while ((ok = repoArchiveIterNext(iter, &entry, err)) && entry != NULL)
	{
		if (entry->kind == REPO_ARCHIVE_DIR)
		{
			walVerifyAppend(&state->dirs, &state->dirCount, &state->dirSize,
							entry->name);
			continue;
		}
		if (state->historyCount == state->historySize)
		{
			state->historySize = state->historySize ? state->historySize * 2 : 8;
			state->histories = state->histories ?
				repalloc(state->histories, state->historySize * sizeof(uint32)) :
				palloc(state->historySize * sizeof(uint32));
		}
		state->histories[state->historyCount++] = entry->tli;
	}
	repoArchiveIterClose(iter);
	return ok;
}

/*
 * Make dir the listed directory: the names of its segments (of
 * state->segSize), in name order.  Listed by name: its timeline and the
 * segments its log holds.
 */
static bool
walVerifyListDir(WalVerifyState *state, const char *dir, DrError *err)
{
	RepoArchiveIterParam filter = {0};
	RepoArchiveIter *iter;
	const RepoArchiveEntry *entry;
	uint32		tli;
	uint32		log;
	uint64		perLog = UINT64CONST(0x100000000) / state->segSize;
	bool		ok;

	if (strcmp(state->listedDir, dir) == 0)
		return true;
	for (int i = 0; i < state->nameCount; i++)
		pfree(state->names[i]);
	state->nameCount = 0;
	state->listedDir[0] = '\0';

	/* dir is one of state->dirs: 16 hex digits */
	if (!hexToUint32(dir, 8, HEX_UPPER, &tli) ||
		!hexToUint32(dir + 8, 8, HEX_UPPER, &log))
		return drErrorSet(err, DR_ERR_INVALID,
						  "\"%s\" is not a directory of the WAL archive", dir);
	/* timeline 0 is none: a directory of it holds no segment to walk */
	if (tli == 0)
	{
		strlcpy(state->listedDir, dir, sizeof(state->listedDir));
		return true;
	}
	filter.kinds = REPO_ARCHIVE_SEGMENT;
	filter.segSize = state->segSize;
	filter.tliMin = filter.tliMax = tli;
	filter.segFrom = log * perLog;
	filter.segTo = filter.segFrom + perLog - 1;
	iter = repoArchiveIterOpen(state->repo, &filter, err);
	if (iter == NULL)
		return false;
	while ((ok = repoArchiveIterNext(iter, &entry, err)) && entry != NULL)
		walVerifyAppend(&state->names, &state->nameCount, &state->nameSize,
						entry->name);
	repoArchiveIterClose(iter);
	if (ok)
		strlcpy(state->listedDir, dir, sizeof(state->listedDir));
	return ok;
}

/* Is segment name in the archive? */
static bool
walVerifyHasSegment(WalVerifyState *state, const char *name, bool *has,
					DrError *err)
{
	char		dir[VERIFY_DIR_LEN + 1];
	const char *key = name;

	strlcpy(dir, name, sizeof(dir));
	if (!walVerifyListDir(state, dir, err))
		return false;
	*has = state->nameCount > 0 &&
		bsearch(&key, state->names, state->nameCount, sizeof(char *),
				walVerifyNameCompare) != NULL;
	return true;
}

/* Report the gap walked through so far, if any. */
static void
walVerifyGapEnd(WalVerifyState *state)
{
	if (state->gapCount == 1)
		walVerifyProblem(state, WAL_VERIFY_MISSING,
						 "WAL segment %s is missing from the archive",
						 state->gapFirst);
	else if (state->gapCount > 1)
		walVerifyProblem(state, WAL_VERIFY_MISSING,
						 "WAL segments %s to %s are missing from the archive (" UINT64_FORMAT " segments)",
						 state->gapFirst, state->gapLast, state->gapCount);
	state->gapCount = 0;
}

/*
 * Decode one segment to its end and check that it is the segment its name
 * says (repoArchiveRead: the one reader wal-get uses too).  A problem is
 * recorded when it is not.
 */
static void
walVerifySegment(WalVerifyState *state, const char *name)
{
	RepoArchiveExpect expect;
	CodecSink nowhere = {NULL, NULL};
	DrError		err;

	expect.segSize = state->segSize;
	expect.systemIdentifier = state->systemIdentifier;
	drErrorClear(&err);
	if (repoArchiveRead(state->repo, name, &expect, nowhere, NULL, &err))
		state->result->segmentsChecked++;
	else
		walVerifyProblem(state,
						 err.code == DR_ERR_NOT_FOUND ? WAL_VERIFY_MISSING :
						 WAL_VERIFY_DAMAGED, "%s", err.message);
}

/* Decode and parse the history file of tli; NULL (a problem) if bad. */
static WalHistory *
walVerifyHistoryRead(WalVerifyState *state, uint32 tli)
{
	char		name[32];
	char	   *text;
	size_t		len;
	WalHistory *history;
	DrError		err;

	snprintf(name, sizeof(name), "%08X.history", tli);
	drErrorClear(&err);
	text = repoArchiveGetBuffer(state->repo, name, &len, VERIFY_HISTORY_MAX, &err);
	if (text == NULL)
	{
		if (err.code == DR_ERR_NOT_FOUND)
			walVerifyProblem(state, WAL_VERIFY_MISSING,
							 "history file %s of timeline %u is missing from the archive",
							 name, tli);
		else
			walVerifyProblem(state, WAL_VERIFY_DAMAGED, "%s", err.message);
		return NULL;
	}
	history = walHistoryParse(text, len, tli, name, &err);
	pfree(text);
	if (history == NULL)
		walVerifyProblem(state, WAL_VERIFY_DAMAGED, "%s", err.message);
	return history;
}

/*
 * The newest timeline with a segment, and its newest segment: directories
 * are named timeline first, so the greatest name with a segment in it
 * holds them.  *found false when the archive has no segment at all.
 */
static bool
walVerifyNewest(WalVerifyState *state, bool *found, uint32 *tli,
				uint64 *segno, DrError *err)
{
	*found = false;
	for (int i = state->dirCount - 1; i >= 0; i--)
	{
		if (!walVerifyListDir(state, state->dirs[i], err))
			return false;
		if (state->nameCount > 0)
		{
			*found = walSegmentNameParse(state->names[state->nameCount - 1],
										 state->segSize, tli, segno);
			return true;
		}
	}
	return true;
}

/*
 * No backup and no segment size from the caller: take the segment size
 * and the system identifier from the long page header of the newest
 * archived segment.  False only when the repository cannot be read; when
 * there is no segment, or it cannot tell, the sizes stay unknown and the
 * walk reports what it finds with the default size.
 */
static bool
walVerifyLearnCluster(WalVerifyState *state, DrError *err)
{
	uint32		tli;
	uint64		segno;
	bool		found;
	char	   *path;
	RepoObjectRead *read;
	XLogLongPageHeaderData header;
	size_t		got = 0;
	DrError		readErr;

	state->segSize = VERIFY_SEGSIZE_ANY;
	if (!walVerifyNewest(state, &found, &tli, &segno, err))
		return false;
	state->segSize = DEFAULT_XLOG_SEG_SIZE;
	state->listedDir[0] = '\0';	/* listed with another size: list again */
	if (!found)
		return true;

	path = repoArchiveWalPath(state->names[state->nameCount - 1], NULL);
	drErrorClear(&readErr);
	read = repoObjectReadBegin(state->repo, path, &readErr);
	pfree(path);
	if (read == NULL)
		return true;			/* the walk reports it */
	while (got < sizeof(header))
	{
		ssize_t		n = repoObjectRead(read, (char *) &header + got,
									   sizeof(header) - got, &readErr);

		if (n <= 0)
			break;
		got += n;
	}
	repoObjectReadFree(read);
	if (got == sizeof(header) && header.std.xlp_magic == XLOG_PAGE_MAGIC &&
		(header.std.xlp_info & XLP_LONG_HEADER) &&
		walSegmentSizeValid(header.xlp_seg_size))
	{
		state->segSize = header.xlp_seg_size;
		state->systemIdentifier = header.xlp_sysid;
	}
	return true;
}

/*
 * Without a backup: the oldest segment on the history, that is, for each
 * of its timelines the first segment recovery would read from it.
 */
static bool
walVerifyOldest(WalVerifyState *state, const WalHistory *history,
				bool *found, uint64 *oldest, DrError *err)
{
	*found = false;
	for (int i = 0; i < state->dirCount; i++)
	{
		uint32		tli;
		uint64		segno;
		char		probe[WAL_NAME_LEN + 1];

		snprintf(probe, sizeof(probe), "%s00000000", state->dirs[i]);
		if (!walSegmentNameParse(probe, state->segSize, &tli, &segno) ||
			walHistoryFind(history, tli) == NULL)
			continue;
		/* the directories of one timeline come in the order of their WAL */
		if (*found && segno >= *oldest)
			continue;
		if (!walVerifyListDir(state, state->dirs[i], err))
			return false;
		for (int j = 0; j < state->nameCount; j++)
		{
			walSegmentNameParse(state->names[j], state->segSize, &tli, &segno);
			if (walHistoryTimelineOf(history, segno, state->segSize) != tli)
				continue;
			if (!*found || segno < *oldest)
				*oldest = segno;
			*found = true;
			break;
		}
	}
	return true;
}

/* The oldest backup: where the WAL must start, and of what cluster. */
typedef struct WalVerifyBackup
{
	uint32		tli;
	uint64		startLsn;
} WalVerifyBackup;

/* False when the repository cannot be read; *found whether it has one. */
static bool
walVerifyOldestBackup(WalVerifyState *state, bool *found,
					  WalVerifyBackup *backup, DrError *err)
{
	char	  **ids;
	int			count;
	RepoBackupManifest *manifest;
	const ManifestHeader *header;

	*found = false;
	if (!repoBackupList(state->repo, &ids, &count, err))
		return false;
	if (count == 0)
		return true;
	manifest = repoBackupManifestOpen(state->repo, ids[0], err);
	if (manifest == NULL)
	{
		repoBackupListFree(ids, count);
		return false;
	}
	header = repoBackupManifestHeader(manifest);
	if (!walSegmentSizeValid(header->segmentSize))
	{
		drErrorSet(err, DR_ERR_CORRUPT,
				   "backup \"%s\" names an invalid WAL segment size (%u bytes)",
				   ids[0], header->segmentSize);
		repoBackupManifestClose(manifest);
		repoBackupListFree(ids, count);
		return false;
	}
	strlcpy(state->result->backupId, ids[0], sizeof(state->result->backupId));
	backup->tli = header->timeline;
	backup->startLsn = header->startLsn;
	state->segSize = header->segmentSize;
	state->systemIdentifier = header->systemIdentifier;
	repoBackupManifestClose(manifest);
	repoBackupListFree(ids, count);
	*found = true;
	return true;
}

/* The walk from startSeg to newestSeg, gaps gathered. */
static bool
walVerifyWalk(WalVerifyState *state, const WalHistory *history,
			  uint64 startSeg, uint64 newestSeg, DrError *err)
{
	const DrHost *host = state->param->host;
	DrProgress	progress;

	memset(&progress, 0, sizeof(progress));
	progress.operation = "wal verify";
	progress.phase = "segments";
	progress.itemsTotal = newestSeg - startSeg + 1;
	progress.bytesTotal = progress.itemsTotal * state->segSize;
	for (uint64 segno = startSeg; segno <= newestSeg; segno++)
	{
		char		name[WAL_NAME_LEN + 1];
		bool		has;

		if (hostCancelled(host))
			return drErrorSet(err, DR_ERR_CANCELED, "WAL verification canceled");
		walSegmentName(name, walHistoryTimelineOf(history, segno, state->segSize),
					   segno, state->segSize);
		if (!walVerifyHasSegment(state, name, &has, err))
			return false;
		if (!has)
		{
			if (state->gapCount++ == 0)
				strlcpy(state->gapFirst, name, sizeof(state->gapFirst));
			strlcpy(state->gapLast, name, sizeof(state->gapLast));
		}
		else
		{
			walVerifyGapEnd(state);
			walVerifySegment(state, name);
		}
		progress.itemsDone++;
		progress.bytesDone += state->segSize;
		progress.current = name;
		hostProgress(host, &progress);
	}
	walVerifyGapEnd(state);
	return true;
}

static bool
walVerifyRun(WalVerifyState *state, DrError *err)
{
	const WalVerifyParam *param = state->param;
	WalVerifyResult *result = state->result;
	WalVerifyBackup backup;
	uint32		newestTli;
	uint64		newestSeg;
	uint64		startSeg = 0;
	bool		found;
	bool		ok;
	WalHistory *history = NULL;

	memset(&backup, 0, sizeof(backup));
	if (!walVerifyOldestBackup(state, &result->haveBackup, &backup, err))
		return false;
	if (!result->haveBackup && param->host != NULL)
	{
		char	   *note = psprintf("repository \"%s\" has no backup: the WAL archive is checked from its oldest segment",
									repoConfig(state->repo)->path);

		hostNotice(param->host, note);
		pfree(note);
	}

	if (!walVerifyListTop(state, err))
		return false;

	if (state->segSize == 0 && !walVerifyLearnCluster(state, err))
		return false;
	if (!walVerifyNewest(state, &found, &newestTli, &newestSeg, err))
		return false;
	if (!found)
	{
		if (result->haveBackup)
			walVerifyProblem(state, WAL_VERIFY_MISSING,
							 "the WAL archive holds no segment: backup %s cannot be recovered past its end",
							 result->backupId);
		else
			walVerifyProblem(state, WAL_VERIFY_MISSING,
							 "the WAL archive holds no segment");
		return true;
	}

	/* every history file must be readable; the newest one is followed */
	for (int i = 0; i < state->historyCount; i++)
	{
		WalHistory *other;

		if (state->histories[i] == newestTli)
			continue;
		other = walVerifyHistoryRead(state, state->histories[i]);
		if (other)
			walHistoryFree(other);
	}
	if (newestTli > 1)
		history = walVerifyHistoryRead(state, newestTli);
	if (history == NULL)
		history = walHistoryRoot(newestTli);

	if (result->haveBackup)
	{
		startSeg = walSegmentOf(backup.startLsn, state->segSize);
		if (!walHistoryReaches(history, backup.tli, backup.startLsn))
			walVerifyProblem(state, WAL_VERIFY_DAMAGED,
							 "backup %s starts at %X/%X on timeline %u, from where the WAL does not lead to timeline %u",
							 result->backupId, LSN_FORMAT_ARGS(backup.startLsn),
							 backup.tli, newestTli);
	}
	else
	{
		if (!walVerifyOldest(state, history, &found, &startSeg, err))
		{
			walHistoryFree(history);
			return false;
		}
		if (!found)
			startSeg = newestSeg;
	}

	walSegmentName(result->firstSegment,
				   walHistoryTimelineOf(history, startSeg, state->segSize),
				   startSeg, state->segSize);
	walSegmentName(result->lastSegment, newestTli, newestSeg, state->segSize);
	if (startSeg > newestSeg)
	{
		walVerifyProblem(state, WAL_VERIFY_MISSING,
						 "the WAL archive ends with segment %s, before the start of backup %s (segment %s)",
						 result->lastSegment, result->backupId,
						 result->firstSegment);
		walHistoryFree(history);
		return true;
	}

	ok = walVerifyWalk(state, history, startSeg, newestSeg, err);
	walHistoryFree(history);
	return ok;
}

bool
walVerify(Repo *repo, const WalVerifyParam *param, WalVerifyResult *result,
		  DrError *err)
{
	WalVerifyState state;
	const DrHost *saved;
	bool		ok;

	memset(result, 0, sizeof(WalVerifyResult));
	memset(&state, 0, sizeof(state));
	state.repo = repo;
	state.param = param;
	state.result = result;
	state.segSize = param->segSize;
	state.systemIdentifier = param->systemIdentifier;

	/* a stalled read from the repository is cancellable (storage.h) */
	saved = storageHostSet(repoStorage(repo), param->host);
	ok = walVerifyRun(&state, err);
	storageHostSet(repoStorage(repo), saved);
	result->segSize = state.segSize;

	for (int i = 0; i < state.dirCount; i++)
		pfree(state.dirs[i]);
	for (int i = 0; i < state.nameCount; i++)
		pfree(state.names[i]);
	if (state.dirs)
		pfree(state.dirs);
	if (state.names)
		pfree(state.names);
	if (state.histories)
		pfree(state.histories);
	return ok;
}

bool
walVerifyBehind(const char *own, const char *other, uint32 segSize,
				uint64 *count)
{
	uint32		ownTli;
	uint32		otherTli;
	uint64		ownSeg;
	uint64		otherSeg;

	*count = 0;
	if (!walSegmentNameParse(own, segSize, &ownTli, &ownSeg) ||
		!walSegmentNameParse(other, segSize, &otherTli, &otherSeg))
		return false;
	if (otherSeg > ownSeg)
		*count = otherSeg - ownSeg;
	else if (otherSeg == ownSeg && otherTli > ownTli)
		*count = 1;				/* the newer timeline's copy of that segment */
	return *count > 0;
}
