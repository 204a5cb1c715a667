/*-------------------------------------------------------------------------
 * archive_verify.c
 *	  Is the WAL archive good for point-in-time recovery?  The work behind
 *	  dr_wal_verify().
 *
 * What recovery from the oldest backup to the newest archived WAL needs:
 *	 - the history file of the newest timeline (when it is not 1): it says
 *	   which timeline each segment is read from (common/wal.h);
 *	 - every segment from the one holding the backup's start LSN to the
 *	   newest archived one, each from the timeline the history says: the
 *	   old timeline up to the segment before a switch point, the new one
 *	   from there;
 *	 - each of them intact: it must decode (the codec authenticates every
 *	   byte), hold exactly one segment, and begin with the long page header
 *	   of that very segment (magic, address, segment size, system
 *	   identifier), so that an object stored under the wrong name is found.
 * Gaps are reported as ranges; every history file in the archive is
 * decoded too.  The backup must be on the newest timeline's history, before
 * the point where the history leaves its timeline.  Without any backup,
 * the check starts at the oldest segment archived on that history.
 *
 * Memory is bounded by the largest directory of the archive (one "log" of
 * segments, 256 of 16 MB) and the number of directories, not by the size
 * of the archive: directories are listed one at a time, as the walk
 * reaches them.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "miscadmin.h"

#include "archive/archive.h"
#include "common/wal.h"
#include "pg_dr.h"
#include "repo/repo_backup.h"

/* Read objects this much at a time. */
#define VERIFY_BUFFER_SIZE		(1024 * 1024)
/* History files are a few lines per timeline. */
#define VERIFY_HISTORY_MAX		(16 * 1024 * 1024)
/* "<tli><log>": the name of a directory under archive/wal */
#define VERIFY_DIR_LEN			16

typedef struct VerifyState
{
	Repo	   *repo;
	Storage    *storage;
	ArchiveVerifyResult *result;
	uint32		segSize;
	uint64		systemIdentifier;	/* 0 = not checked */
	char	   *buf;

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

	/* the segment being read; freed after an ERROR (codec.h) */
	RepoObjectRead *read;

	/* the gap being walked through */
	int64		gapCount;
	char		gapFirst[WAL_NAME_LEN + 1];
	char		gapLast[WAL_NAME_LEN + 1];
} VerifyState;

static void verifyProblem(VerifyState *state, int sqlstate, const char *fmt,...) pg_attribute_printf(3, 4);

/* Record a problem, and warn about it (the first few hundred only). */
static void
verifyProblem(VerifyState *state, int sqlstate, const char *fmt,...)
{
	ArchiveVerifyResult *result = state->result;
	va_list		args;
	char		message[1024];

	va_start(args, fmt);
	vsnprintf(message, sizeof(message), fmt, args);
	va_end(args);

	result->ok = false;
	result->problemCount++;
	if (result->problemCount <= ARCHIVE_VERIFY_PROBLEMS_MAX)
	{
		result->problems = lappend(result->problems, pstrdup(message));
		ereport(WARNING, (errcode(sqlstate), errmsg_internal("%s", message)));
	}
	else if (result->problemCount == ARCHIVE_VERIFY_PROBLEMS_MAX + 1)
		ereport(WARNING,
				(errcode(sqlstate),
				 errmsg("more than %d problems in the WAL archive; the rest are counted, not listed",
						ARCHIVE_VERIFY_PROBLEMS_MAX)));
}

static void
verifyStorageError(DrError *err)
{
	drErrorPrefix(err, "could not verify the WAL archive: ");
	drEreport(ERROR, err);
}

static int
verifyNameCompare(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Append a palloc'd copy of s to a growing array. */
static void
verifyAppend(char ***array, int *count, int *size, const char *s)
{
	if (*count == *size)
	{
		*size = *size ? *size * 2 : 64;
		*array = *array ? repalloc(*array, *size * sizeof(char *)) :
			palloc(*size * sizeof(char *));
	}
	(*array)[(*count)++] = pstrdup(s);
}

/* StorageListCallback of archive/wal: directories and history files. */
static bool
verifyTopEntry(void *arg, const StorageInfo *info, DrError *err)
{
	VerifyState *state = arg;
	uint32		tli;

	if (info->isDir)
	{
		uint32		dummyTli;
		uint64		dummySeg;
		char		probe[WAL_NAME_LEN + 1];

		/* a directory name is the first 16 characters of its segments */
		if (strlen(info->name) != VERIFY_DIR_LEN)
			return true;
		snprintf(probe, sizeof(probe), "%s00000000", info->name);
		if (walSegmentNameParse(probe, state->segSize, &dummyTli, &dummySeg))
			verifyAppend(&state->dirs, &state->dirCount, &state->dirSize,
						 info->name);
	}
	else if (walHistoryNameParse(info->name, &tli))
	{
		if (state->historyCount == state->historySize)
		{
			state->historySize = state->historySize ? state->historySize * 2 : 8;
			state->histories = state->histories ?
				repalloc(state->histories, state->historySize * sizeof(uint32)) :
				palloc(state->historySize * sizeof(uint32));
		}
		state->histories[state->historyCount++] = tli;
	}
	return true;
}

/* StorageListCallback of one directory: the segment names in it. */
static bool
verifyDirEntry(void *arg, const StorageInfo *info, DrError *err)
{
	VerifyState *state = arg;
	uint32		tli;
	uint64		segno;

	if (!info->isDir &&
		walSegmentNameParse(info->name, state->segSize, &tli, &segno) &&
		strncmp(info->name, state->listedDir, VERIFY_DIR_LEN) == 0)
		verifyAppend(&state->names, &state->nameCount, &state->nameSize,
					 info->name);
	return true;
}

/* Make dir the listed directory (sorted names of its segments). */
static void
verifyListDir(VerifyState *state, const char *dir)
{
	char	   *path;
	DrError		err;

	if (strcmp(state->listedDir, dir) == 0)
		return;
	for (int i = 0; i < state->nameCount; i++)
		pfree(state->names[i]);
	state->nameCount = 0;
	strlcpy(state->listedDir, dir, sizeof(state->listedDir));

	path = psprintf("%s/%s", REPO_ARCHIVE_WAL_DIR, dir);
	drErrorClear(&err);
	if (!storageList(state->storage, path, verifyDirEntry, state, &err))
		verifyStorageError(&err);
	pfree(path);
	if (state->nameCount > 1)
		qsort(state->names, state->nameCount, sizeof(char *), verifyNameCompare);
}

/* Is segment name in the archive? */
static bool
verifyHasSegment(VerifyState *state, const char *name)
{
	char		dir[VERIFY_DIR_LEN + 1];
	const char *key = name;

	strlcpy(dir, name, sizeof(dir));
	verifyListDir(state, dir);
	return state->nameCount > 0 &&
		bsearch(&key, state->names, state->nameCount, sizeof(char *),
				verifyNameCompare) != NULL;
}

/* Report the gap walked through so far, if any. */
static void
verifyGapEnd(VerifyState *state)
{
	if (state->gapCount == 1)
		verifyProblem(state, ERRCODE_UNDEFINED_FILE,
					  "WAL segment %s is missing from the archive",
					  state->gapFirst);
	else if (state->gapCount > 1)
		verifyProblem(state, ERRCODE_UNDEFINED_FILE,
					  "WAL segments %s to %s are missing from the archive (" INT64_FORMAT " segments)",
					  state->gapFirst, state->gapLast, state->gapCount);
	state->gapCount = 0;
}

/*
 * Decode one segment to its end and check that it is the segment its name
 * says.  A problem is recorded when it is not.
 */
static void
verifySegment(VerifyState *state, const char *name, uint64 segno)
{
	char	   *path = repoArchiveWalPath(name, NULL);
	RepoObjectRead *read;
	XLogLongPageHeaderData header;
	size_t		headerGot = 0;
	CodecResult codec;
	DrError		err;

	drErrorClear(&err);
	state->read = repoObjectReadBegin(state->repo, path, &err);
	if (state->read == NULL)
		goto damaged;
	for (;;)
	{
		ssize_t		n = repoObjectRead(state->read, state->buf,
									   VERIFY_BUFFER_SIZE, &err);

		if (n < 0)
		{
			repoObjectReadFree(state->read);
			state->read = NULL;
			goto damaged;
		}
		if (n == 0)
			break;
		if (headerGot < sizeof(header))
		{
			size_t		take = Min((size_t) n, sizeof(header) - headerGot);

			memcpy((char *) &header + headerGot, state->buf, take);
			headerGot += take;
		}
		CHECK_FOR_INTERRUPTS();
	}
	/* End frees the handle whatever it returns */
	read = state->read;
	state->read = NULL;
	if (!repoObjectReadEnd(read, &codec, &err))
		goto damaged;
	pfree(path);
	state->result->segmentsChecked++;

	/* authentic; now is it what the name says? */
	if (codec.rawSize != state->segSize)
		verifyProblem(state, ERRCODE_DATA_CORRUPTED,
					  "WAL segment %s holds " UINT64_FORMAT " bytes, not a segment of %u bytes",
					  name, codec.rawSize, state->segSize);
	else if (header.std.xlp_magic != XLOG_PAGE_MAGIC ||
			 !(header.std.xlp_info & XLP_LONG_HEADER))
		verifyProblem(state, ERRCODE_DATA_CORRUPTED,
					  "WAL segment %s does not begin with a WAL page header of this server version (magic 0x%04X)",
					  name, header.std.xlp_magic);
	else if (header.std.xlp_pageaddr != segno * state->segSize)
		verifyProblem(state, ERRCODE_DATA_CORRUPTED,
					  "WAL segment %s holds the WAL of another segment (its first page is at %X/%X, not %X/%X)",
					  name, LSN_FORMAT_ARGS(header.std.xlp_pageaddr),
					  LSN_FORMAT_ARGS(segno * state->segSize));
	else if (header.xlp_seg_size != state->segSize)
		verifyProblem(state, ERRCODE_DATA_CORRUPTED,
					  "WAL segment %s was written with segments of %u bytes, not %u",
					  name, header.xlp_seg_size, state->segSize);
	else if (state->systemIdentifier != 0 &&
			 header.xlp_sysid != state->systemIdentifier)
		verifyProblem(state, ERRCODE_DATA_CORRUPTED,
					  "WAL segment %s is of another cluster (system identifier " UINT64_FORMAT ", not " UINT64_FORMAT ")",
					  name, header.xlp_sysid, state->systemIdentifier);
	return;

damaged:
	pfree(path);
	verifyProblem(state, ERRCODE_DATA_CORRUPTED, "WAL segment %s is damaged: %s",
				  name, err.message);
}

/* Decode and parse the history file of tli; NULL (a problem) if bad. */
static WalHistory *
verifyHistoryRead(VerifyState *state, uint32 tli)
{
	char	   *path = repoArchiveHistoryPath(tli);
	char		name[32];
	char	   *text;
	size_t		len;
	WalHistory *history;
	DrError		err;

	snprintf(name, sizeof(name), "%08X.history", tli);
	drErrorClear(&err);
	text = repoObjectGetBuffer(state->repo, path, &len, VERIFY_HISTORY_MAX, &err);
	pfree(path);
	if (text == NULL)
	{
		if (err.code == DR_ERR_NOT_FOUND)
			verifyProblem(state, ERRCODE_UNDEFINED_FILE,
						  "history file %s of timeline %u is missing from the archive",
						  name, tli);
		else
			verifyProblem(state, ERRCODE_DATA_CORRUPTED,
						  "history file %s is damaged: %s", name, err.message);
		return NULL;
	}
	history = walHistoryParse(text, len, tli, name, &err);
	pfree(text);
	if (history == NULL)
		verifyProblem(state, ERRCODE_DATA_CORRUPTED, "%s", err.message);
	return history;
}

/*
 * The newest timeline with a segment, and its newest segment: directories
 * are named timeline first, so the greatest name with a segment in it
 * holds them.  False when the archive has no segment at all.
 */
static bool
verifyNewest(VerifyState *state, uint32 *tli, uint64 *segno)
{
	for (int i = state->dirCount - 1; i >= 0; i--)
	{
		verifyListDir(state, state->dirs[i]);
		if (state->nameCount > 0)
			return walSegmentNameParse(state->names[state->nameCount - 1],
									   state->segSize, tli, segno);
	}
	return false;
}

/*
 * Without a backup: the oldest segment on the history, that is, for each
 * of its timelines the first segment recovery would read from it.
 */
static bool
verifyOldest(VerifyState *state, const WalHistory *history, uint64 *oldest)
{
	bool		found = false;

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
		if (found && segno >= *oldest)
			continue;
		verifyListDir(state, state->dirs[i]);
		for (int j = 0; j < state->nameCount; j++)
		{
			walSegmentNameParse(state->names[j], state->segSize, &tli, &segno);
			if (walHistoryTimelineOf(history, segno, state->segSize) != tli)
				continue;
			if (!found || segno < *oldest)
				*oldest = segno;
			found = true;
			break;
		}
	}
	return found;
}

/* The oldest backup: where the WAL must start, and of what cluster. */
typedef struct VerifyBackup
{
	char		id[MANIFEST_ID_MAX + 1];
	uint32		tli;
	uint64		startLsn;
} VerifyBackup;

/* False when the repository has no backup. */
static bool
verifyOldestBackup(VerifyState *state, VerifyBackup *backup)
{
	char	  **ids;
	int			count;
	RepoBackupManifest *manifest;
	const ManifestHeader *header;
	DrError		err;

	drErrorClear(&err);
	if (!repoBackupList(state->repo, &ids, &count, &err))
		verifyStorageError(&err);
	if (count == 0)
		return false;
	manifest = repoBackupManifestOpen(state->repo, ids[0], &err);
	if (manifest == NULL)
		verifyStorageError(&err);
	header = repoBackupManifestHeader(manifest);
	if (!walSegmentSizeValid(header->segmentSize))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("backup \"%s\" names an invalid WAL segment size (%u bytes)",
						ids[0], header->segmentSize)));
	strlcpy(backup->id, ids[0], sizeof(backup->id));
	backup->tli = header->timeline;
	backup->startLsn = header->startLsn;
	state->segSize = header->segmentSize;
	state->systemIdentifier = header->systemIdentifier;
	repoBackupManifestClose(manifest);
	repoBackupListFree(ids, count);
	return true;
}

static void
verifyRun(VerifyState *state)
{
	ArchiveVerifyResult *result = state->result;
	VerifyBackup backup;
	bool		haveBackup;
	DrError		err;
	uint32		newestTli;
	uint64		newestSeg;
	uint64		startSeg = 0;
	WalHistory *history = NULL;

	haveBackup = verifyOldestBackup(state, &backup);
	if (!haveBackup)
		ereport(NOTICE,
				(errmsg("repository \"%s\" has no backup: the WAL archive is checked from its oldest segment",
						repoConfig(state->repo)->path)));

	drErrorClear(&err);
	if (!storageList(state->storage, REPO_ARCHIVE_WAL_DIR, verifyTopEntry,
					 state, &err))
		verifyStorageError(&err);
	if (state->dirCount > 1)
		qsort(state->dirs, state->dirCount, sizeof(char *), verifyNameCompare);

	if (!verifyNewest(state, &newestTli, &newestSeg))
	{
		if (haveBackup)
			verifyProblem(state, ERRCODE_UNDEFINED_FILE,
						  "the WAL archive holds no segment: backup %s cannot be recovered past its end",
						  backup.id);
		else
			verifyProblem(state, ERRCODE_UNDEFINED_FILE,
						  "the WAL archive holds no segment");
		return;
	}

	/* every history file must be readable; the newest one is followed */
	for (int i = 0; i < state->historyCount; i++)
	{
		WalHistory *other;

		if (state->histories[i] == newestTli)
			continue;
		other = verifyHistoryRead(state, state->histories[i]);
		if (other)
			walHistoryFree(other);
	}
	if (newestTli > 1)
		history = verifyHistoryRead(state, newestTli);
	if (history == NULL)
		history = walHistoryRoot(newestTli);

	if (haveBackup)
	{
		startSeg = walSegmentOf(backup.startLsn, state->segSize);
		if (!walHistoryReaches(history, backup.tli, backup.startLsn))
			verifyProblem(state, ERRCODE_DATA_CORRUPTED,
						  "backup %s starts at %X/%X on timeline %u, from where the WAL does not lead to timeline %u",
						  backup.id, LSN_FORMAT_ARGS(backup.startLsn),
						  backup.tli, newestTli);
	}
	else if (!verifyOldest(state, history, &startSeg))
		startSeg = newestSeg;

	walSegmentName(result->firstSegment,
				   walHistoryTimelineOf(history, startSeg, state->segSize),
				   startSeg, state->segSize);
	walSegmentName(result->lastSegment, newestTli, newestSeg, state->segSize);
	if (startSeg > newestSeg)
	{
		verifyProblem(state, ERRCODE_UNDEFINED_FILE,
					  "the WAL archive ends with segment %s, before the start of backup %s (segment %s)",
					  result->lastSegment, backup.id, result->firstSegment);
		walHistoryFree(history);
		return;
	}

	/* the walk */
	state->buf = palloc(VERIFY_BUFFER_SIZE);
	for (uint64 segno = startSeg; segno <= newestSeg; segno++)
	{
		char		name[WAL_NAME_LEN + 1];

		CHECK_FOR_INTERRUPTS();
		walSegmentName(name, walHistoryTimelineOf(history, segno, state->segSize),
					   segno, state->segSize);
		if (!verifyHasSegment(state, name))
		{
			if (state->gapCount++ == 0)
				strlcpy(state->gapFirst, name, sizeof(state->gapFirst));
			strlcpy(state->gapLast, name, sizeof(state->gapLast));
			continue;
		}
		verifyGapEnd(state);
		verifySegment(state, name, segno);
	}
	verifyGapEnd(state);
	pfree(state->buf);
	walHistoryFree(history);

	if (result->problemCount > ARCHIVE_VERIFY_PROBLEMS_MAX)
		result->problems = lappend(result->problems,
								   psprintf("... and %d more problems",
											result->problemCount - ARCHIVE_VERIFY_PROBLEMS_MAX));
}

void
archiveVerify(Repo *repo, ArchiveVerifyResult *result)
{
	VerifyState *state = palloc0(sizeof(VerifyState));

	memset(result, 0, sizeof(ArchiveVerifyResult));
	result->ok = true;
	state->repo = repo;
	state->storage = repoStorage(repo);
	state->result = result;
	state->segSize = wal_segment_size;
	state->systemIdentifier = GetSystemIdentifier();

	PG_TRY();
	{
		verifyRun(state);
	}
	PG_FINALLY();
	{
		/* the decoder holds memory the backend does not track */
		if (state->read != NULL)
			repoObjectReadFree(state->read);
		state->read = NULL;
	}
	PG_END_TRY();
}
