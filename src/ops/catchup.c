/*-------------------------------------------------------------------------
 * catchup.c
 *	  The catch-up duty: with several repositories configured, copy to
 *	  each one what the others hold and it misses -- archived WAL files
 *	  (segments, .partial, backup and timeline history files), the WAL
 *	  summaries of the segments it holds, and whole backups -- and keep
 *	  dr_repositories' lag and state up to date.
 *
 * Why it is needed: WAL archiving succeeds once a file is durable in the
 * required repositories (archive_module.c); a repository that is not
 * required and is down, failing or slow gets the file later, from here.
 * Backups are written to one repository (the first required one,
 * backup.c) and copied to the others from here, started right after the
 * backup ends (the backup wakes the worker) and at every round.
 *
 * Each round (at most every CATCHUP_POLL_MS, at once again while there is
 * more to copy):
 *	 - every configured repository is opened (kept open across rounds; one
 *	   that failed is tried again after CATCHUP_RETRY_MS) and its archive
 *	   and backups listed; a repository that cannot be reached keeps its
 *	   last listing, so its lag grows while it is down;
 *	 - for each repository, what it misses (catchup_decide.h), counted into
 *	   dr_repositories, and, when it is reachable, the first
 *	   CATCHUP_WAL_ROUND_MAX missing WAL files copied, then as many WAL
 *	   summaries of segments it held when listed (the summary duty writes
 *	   them into one repository), then objects of the oldest missing
 *	   backup, at most CATCHUP_OBJECTS_ROUND_MAX of them.
 * A repository's own horizon is respected: backups older than its oldest
 * backup and WAL before that backup's start are not missed (its retention
 * removed them, or no restore from it needs them), so `pg_dr expire` in one
 * repository is not undone from another (catchup_decide.h).
 *
 * Copying never trusts the source: each object is decoded from it (its
 * authentication, its content hash, and for WAL the checks of
 * repoArchiveRead: binding, first page header, size) while it is encoded
 * again with the target's own data key (repositories have different
 * passphrases); an object that fails is tried from the next repository
 * that holds it (required ones first), and the failure is recorded as
 * the source's last error.  A new object becomes visible only complete
 * (storage.h).
 *
 * A backup is copied under the target's backup lock (repo_lock.h), its
 * manifest last, so a half-copied backup is never listed: the manifest is
 * written as the copy goes (the object-size of each file is the size of
 * its new object), and ended -- made visible -- only after every object.
 * Files the source holds in bundles stay in bundles: they are appended,
 * in the manifest's order, to the copy's own bundle objects (numbered
 * from 0, each ended at about the backup engine's size), each entry bound
 * to data/<path> as the engine binds it, and the copied manifest (version
 * 3, as every manifest written) names where each landed; large files keep
 * their parts, other files their data/<path> object.  A copy cut short
 * (the per-round bound, a cancel, a failure) abandons the manifest and the
 * bundle object being filled, and releases the lock; the next round starts
 * that backup again, decoding the objects already copied instead of
 * copying them again: standalone objects and parts where they are, and the
 * entries of the bundle objects completed before, walked in the same
 * order (catchupBundleReuse).  Backup ids are kept.  The lock a copy cut
 * short by a crash of this server left is taken over at once, its writer
 * being provably gone (catchupLockHolderGone); any other, once expired.
 *
 * A restored cluster not yet declared primary whose origin marker names
 * one of its repositories copies nothing (catchupOriginAllows), as the
 * PITR duty makes no restore point there.
 *
 * Memory: repositories (and so their key caches, repo_keys.c) and
 * listings live in the duty's context; a round allocates in the
 * transaction of dutyXactRun.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "access/xlog.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "archive/archive.h"
#include "common/config.h"
#include "common/manifest.h"
#include "common/test_pause.h"
#include "common/wal.h"
#include "ops/catchup.h"
#include "ops/catchup_decide.h"
#include "ops/duty.h"
#include "pg_dr.h"
#include "repo/repo.h"
#include "repo/repo_archive.h"
#include "repo/repo_backup.h"
#include "repo/repo_lock.h"
#include "repo/repo_hold.h"
#include "repo/repo_origin.h"

#define CATCHUP_POLL_MS				10000
#define CATCHUP_RETRY_MS			15000
#define CATCHUP_WAL_ROUND_MAX		32
#define CATCHUP_OBJECTS_ROUND_MAX	2000
#define CATCHUP_BUFFER_SIZE			(1024 * 1024)

/*
 * The copy's bundle objects: ended at about the size the backup engine's
 * are.  An entry is encoded in memory up to CATCHUP_BUNDLE_ENTRY_MAX: a
 * source's entries are files below pg_dr.backup_bundle_limit (16 MB at
 * most), so their copies stay far below it and stay entries.
 */
#define CATCHUP_BUNDLE_SIZE			(4 * 1024 * 1024)
#define CATCHUP_BUNDLE_ENTRY_MAX	(64 * 1024 * 1024)

/* What the duty keeps of one repository across rounds. */
typedef struct CatchupRepo
{
	ConfigRepo	config;			/* index 0: not configured */
	uint64		hash;
	Repo	   *repo;			/* NULL: not open */
	bool		keyNone;
	CodecDataKey key;			/* made when opened */
	TimestampTz failedAt;		/* last failure to open or list it */
	MemoryContext listContext;	/* the listings below */
	bool		listed;			/* wal and backups are known */
	CatchupList wal;
	CatchupList summaries;		/* "<segment>.summary" (wal_summary_duty.c) */
	CatchupList backups;
	/*
	 * its horizon (catchupFloor): its oldest backup not under a hold and
	 * where it starts; worked out for the listing whose oldest backup and
	 * count are floorOldest and floorCount
	 */
	char		floorBackup[MANIFEST_ID_MAX + 1];
	char		walFloor[WAL_NAME_LEN + 1];
	char		floorOldest[MANIFEST_ID_MAX + 1];
	int			floorCount;
} CatchupRepo;

static MemoryContext catchupContext = NULL;

/*
 * "<repo number>:<backup id>" of the locks this process took and could not
 * release (the target went away mid-copy): its own, so the next copy takes
 * them over at once instead of waiting for them to expire.
 */
static List *catchupLocksLeft = NIL;
static CatchupRepo catchupRepos[CONFIG_REPO_MAX + 1];
static TimestampTz catchupLastRound = 0;
static bool catchupMore = false;

static void
catchupClose(CatchupRepo *r)
{
	if (r->repo != NULL)
		repoClose(r->repo);
	r->repo = NULL;
	explicit_bzero(&r->key, sizeof(r->key));
}

/* A failure of repository n: logged, and its state in dr_repositories. */
static void
catchupFailed(int n, DrError *err, const char *what)
{
	drErrorPrefix(err, "pg_dr catch-up: %s repository %d: ", what, n);
	archiveRepoFailure(n, catchupRepos[n].hash, err->message,
					   archiveErrorUnreachable(err->code));
	ereport(LOG, (errmsg_internal("%s", err->message)));
}

/* Keep the configuration of repository n; close it when it changed. */
static void
catchupConfigure(int n, const ConfigRepo *config)
{
	CatchupRepo *r = &catchupRepos[n];
	MemoryContext old;

	if (config->index == 0)
	{
		if (r->config.index != 0)
		{
			catchupClose(r);
			configRepoClear(&r->config);
			r->listed = false;
			MemoryContextReset(r->listContext);
		}
		return;
	}
	if (r->config.index != 0 && configRepoEqual(&r->config, config))
	{
		r->config.required = config->required;
		return;
	}
	catchupClose(r);
	configRepoClear(&r->config);
	r->listed = false;
	r->failedAt = 0;
	r->floorBackup[0] = '\0';
	r->floorOldest[0] = '\0';
	r->walFloor[0] = '\0';
	MemoryContextReset(r->listContext);
	old = MemoryContextSwitchTo(catchupContext);
	configRepoCopy(&r->config, config);
	MemoryContextSwitchTo(old);
	r->hash = archiveRepoHash(config);
}

/* Open repository n unless it is open or failed a moment ago. */
static bool
catchupOpen(int n, TimestampTz now)
{
	CatchupRepo *r = &catchupRepos[n];
	MemoryContext old;
	const CodecDataKey *key = NULL;
	DrError		err;
	bool		ok;

	if (r->repo != NULL)
		return true;
	if (r->failedAt != 0 &&
		!TimestampDifferenceExceeds(r->failedAt, now, CATCHUP_RETRY_MS))
		return false;
	old = MemoryContextSwitchTo(catchupContext);
	r->repo = repoOpen(&r->config, &err);
	ok = r->repo != NULL && repoDataKeyNew(r->repo, &key, &err);
	MemoryContextSwitchTo(old);
	if (!ok)
	{
		catchupClose(r);
		r->failedAt = now;
		catchupFailed(n, &err, "cannot open");
		return false;
	}
	r->keyNone = key == NULL;
	if (key != NULL)
		r->key = *key;
	return true;
}

/* Append name (copied into the list's context) to a growing list. */
static void
catchupListAdd(CatchupList *list, int *size, const char *name, uint64 bytes)
{
	if (list->count == *size)
	{
		*size = Max(64, *size * 2);
		list->names = list->names == NULL ?
			palloc(sizeof(char *) * *size) :
			repalloc(list->names, sizeof(char *) * *size);
		list->sizes = list->sizes == NULL ?
			palloc(sizeof(uint64) * *size) :
			repalloc(list->sizes, sizeof(uint64) * *size);
	}
	list->names[list->count] = pstrdup(name);
	list->sizes[list->count] = bytes;
	list->count++;
}

/* Whether sorted list holds the name made of the first len bytes of name. */
static bool
catchupListHas(const CatchupList *list, const char *name, size_t len)
{
	char	   *key = pnstrdup(name, len);
	int			lo = 0;
	int			hi = list->count - 1;
	bool		found = false;

	while (lo <= hi && !found)
	{
		int			mid = (lo + hi) / 2;
		int			c = strcmp(list->names[mid], key);

		if (c == 0)
			found = true;
		else if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	pfree(key);
	return found;
}

/* A name and its size, sorted together. */
typedef struct CatchupPair
{
	char	   *name;
	uint64		size;
} CatchupPair;

static int
catchupPairCompare(const void *a, const void *b)
{
	return strcmp(((const CatchupPair *) a)->name,
				  ((const CatchupPair *) b)->name);
}

/*
 * Sort a list by name, keeping each size with its name.  The archive
 * iterator lists in name order already (log directories hold names that
 * begin with the directory's), so this is a check, and a sort only when
 * the check fails.
 */
static void
catchupListSort(CatchupList *list)
{
	CatchupPair *pairs;
	bool		sorted = true;

	for (int i = 1; i < list->count && sorted; i++)
		sorted = strcmp(list->names[i - 1], list->names[i]) < 0;
	if (sorted)
		return;
	pairs = palloc(sizeof(CatchupPair) * list->count);
	for (int i = 0; i < list->count; i++)
	{
		pairs[i].name = list->names[i];
		pairs[i].size = list->sizes[i];
	}
	qsort(pairs, list->count, sizeof(CatchupPair), catchupPairCompare);
	for (int i = 0; i < list->count; i++)
	{
		list->names[i] = pairs[i].name;
		list->sizes[i] = pairs[i].size;
	}
	pfree(pairs);
}

/* List the archive and the backups of open repository n. */
static bool
catchupList(int n, TimestampTz now)
{
	CatchupRepo *r = &catchupRepos[n];
	RepoArchiveIterParam param = {0};
	RepoArchiveIter *iter;
	const RepoArchiveEntry *entry;
	MemoryContext old;
	DrError		err;
	CatchupList wal = {0};
	CatchupList summaries = {0};
	CatchupList backups = {0};
	int			walSize = 0;
	int			summarySize = 0;
	int			backupSize = 0;
	char	  **ids;
	int			count;
	MemoryContext listContext;

	/* into a context of its own: the last listing stays until this one worked */
	listContext = AllocSetContextCreate(catchupContext, "pg_dr catch-up listing",
										ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(listContext);
	param.kinds = REPO_ARCHIVE_SEGMENT | REPO_ARCHIVE_PARTIAL |
		REPO_ARCHIVE_BACKUP | REPO_ARCHIVE_HISTORY | REPO_ARCHIVE_SUMMARY;
	param.segSize = wal_segment_size;
	iter = repoArchiveIterOpen(r->repo, &param, &err);
	if (iter == NULL)
		goto fail;
	for (;;)
	{
		if (!repoArchiveIterNext(iter, &entry, &err))
		{
			repoArchiveIterClose(iter);
			goto fail;
		}
		if (entry == NULL)
			break;
		if (entry->isDir)
			continue;
		if (entry->kind == REPO_ARCHIVE_SUMMARY)
			catchupListAdd(&summaries, &summarySize, entry->name, entry->size);
		else
			catchupListAdd(&wal, &walSize, entry->name, entry->size);
	}
	repoArchiveIterClose(iter);
	catchupListSort(&wal);
	catchupListSort(&summaries);

	if (!repoBackupList(r->repo, &ids, &count, &err))
		goto fail;
	for (int i = 0; i < count; i++)
		catchupListAdd(&backups, &backupSize, ids[i], 0);
	repoBackupListFree(ids, count);
	catchupListSort(&backups);

	MemoryContextSwitchTo(old);
	MemoryContextDelete(r->listContext);
	r->listContext = listContext;
	r->wal = wal;
	r->summaries = summaries;
	r->backups = backups;
	r->listed = true;
	return true;

fail:
	MemoryContextSwitchTo(old);
	MemoryContextDelete(listContext);
	catchupClose(r);
	r->failedAt = now;
	catchupFailed(n, &err, "cannot list");
	return false;
}

/*
 * The horizon of open repository n: below its oldest backup not under a
 * legal hold, and below the WAL segment where that backup starts, nothing
 * is missed (catchupMissing's floor): it is what its own retention
 * removed, or what no restore from it needs.  A held backup stays whatever
 * the repository's retention removes after it (ops/retention.h), so it is
 * no horizon: counting it would copy back what retention removed (a hold
 * that cannot be read counts as held, as retention counts it).  Worked out
 * again when its oldest backup or its number of backups changes (a
 * removal, a copy); no backup, or an unreadable manifest, is no horizon.
 */
static void
catchupFloor(int n)
{
	CatchupRepo *r = &catchupRepos[n];
	RepoBackupManifest *manifest;
	const ManifestHeader *header;
	const char *oldest;
	const char *floor;
	int64		now = (int64) time(NULL);
	int			i;
	DrError		err;

	if (r->backups.count == 0)
	{
		r->floorBackup[0] = '\0';
		r->walFloor[0] = '\0';
		r->floorOldest[0] = '\0';
		return;
	}
	oldest = r->backups.names[0];
	if (strcmp(r->floorOldest, oldest) == 0 && r->floorCount == r->backups.count)
		return;
	r->floorBackup[0] = '\0';
	r->walFloor[0] = '\0';
	r->floorOldest[0] = '\0';
	for (i = 0; i < r->backups.count - 1; i++)
	{
		RepoHold	hold;

		drErrorClear(&err);
		if (repoHoldRead(r->repo, r->backups.names[i], &hold, &err) &&
			(!hold.present || !repoHoldInEffect(&hold, now)))
			break;
	}
	floor = r->backups.names[i];
	manifest = repoBackupManifestOpen(r->repo, floor, &err);
	if (manifest == NULL)
	{
		catchupFailed(n, &err, "cannot read the oldest backup of");
		return;
	}
	header = repoBackupManifestHeader(manifest);
	walSegmentName(r->walFloor, header->timeline,
				   header->startLsn / wal_segment_size, wal_segment_size);
	repoBackupManifestClose(manifest);
	strlcpy(r->floorBackup, floor, sizeof(r->floorBackup));
	strlcpy(r->floorOldest, oldest, sizeof(r->floorOldest));
	r->floorCount = r->backups.count;
}

/* A CodecSink into an object being written. */
static bool
catchupSinkWrite(void *arg, const void *buf, size_t len, DrError *err)
{
	return repoObjectWrite((RepoObjectWrite *) arg, buf, len, err);
}

/*
 * Copy archived WAL file name from src to dst: decoded and checked from
 * the source while it is encoded with dst's key.  DR_ERR_EXISTS from the
 * target counts as done (the archiver stored it meanwhile).
 */
static bool
catchupWalCopy(CatchupRepo *src, CatchupRepo *dst, const char *name,
			   bool *targetFailed, DrError *err)
{
	RepoArchiveExpect expect = {0};
	RepoWriteParam param = {0};
	RepoObjectWrite *write;
	CodecSink	sink;
	char	   *path = repoArchiveWalPath(name, err);

	*targetFailed = false;
	if (path == NULL)
		return false;
	expect.segSize = wal_segment_size;
	expect.systemIdentifier = GetSystemIdentifier();
	param.binding = name;
	param.compressLevel = drArchiveCompressLevel;
	write = repoObjectWriteBeginParam(dst->repo, path,
									  dst->keyNone ? NULL : &dst->key,
									  &param, err);
	if (write == NULL)
	{
		*targetFailed = err->code != DR_ERR_EXISTS;
		return err->code == DR_ERR_EXISTS;
	}
	sink.write = catchupSinkWrite;
	sink.arg = write;
	if (!repoArchiveRead(src->repo, name, &expect, sink, NULL, err))
	{
		repoObjectWriteAbort(write);
		return false;
	}
	if (!repoObjectWriteEnd(write, NULL, err))
	{
		if (err->code == DR_ERR_EXISTS)
			return true;
		*targetFailed = true;
		return false;
	}
	return true;
}

/*
 * Copy the WAL summary name ("<segment>.summary") from src to dst:
 * decoded from the source (authenticated, its content hash checked) while
 * encoded with dst's key, unbound as the summary duty writes it.
 * DR_ERR_EXISTS from the target counts as done (made there meanwhile).
 */
static bool
catchupSummaryCopy(CatchupRepo *src, CatchupRepo *dst, const char *name,
				   bool *targetFailed, DrError *err)
{
	char		segment[WAL_NAME_LEN + 1];
	char	   *path;
	RepoObjectRead *read;
	RepoObjectWrite *write;
	char	   *buffer;
	ssize_t		got;

	*targetFailed = false;
	strlcpy(segment, name, sizeof(segment));
	path = repoArchiveSummaryPath(segment, err);
	if (path == NULL)
		return false;
	read = repoObjectReadBegin(src->repo, path, err);
	if (read == NULL)
		return false;
	write = repoObjectWriteBegin(dst->repo, path,
								 dst->keyNone ? NULL : &dst->key, err);
	if (write == NULL)
	{
		repoObjectReadFree(read);
		*targetFailed = err->code != DR_ERR_EXISTS;
		return err->code == DR_ERR_EXISTS;
	}
	buffer = palloc(CATCHUP_BUFFER_SIZE);
	while ((got = repoObjectRead(read, buffer, CATCHUP_BUFFER_SIZE, err)) > 0)
		if (!repoObjectWrite(write, buffer, got, err))
		{
			*targetFailed = true;
			break;
		}
	pfree(buffer);
	/* the source verified to its end before the copy becomes visible */
	if (got != 0 || !repoObjectReadEnd(read, NULL, err))
	{
		if (got == 0)
			read = NULL;		/* freed by ReadEnd */
		if (read != NULL)
			repoObjectReadFree(read);
		repoObjectWriteAbort(write);
		return false;
	}
	if (!repoObjectWriteEnd(write, NULL, err))
	{
		if (err->code == DR_ERR_EXISTS)
			return true;
		*targetFailed = true;
		return false;
	}
	return true;
}

/* The repositories' required flags, for catchupSourceOrder. */
static void
catchupRequired(bool *required)
{
	for (int n = 0; n <= CONFIG_REPO_MAX; n++)
		required[n] = catchupRepos[n].config.index != 0 &&
			catchupRepos[n].config.required;
}

/*
 * Copy what repository n misses of the archive (summaries: of the WAL
 * summaries); how many were copied.
 */
static int
catchupWal(int n, CatchupMissing *missing, int count, bool summaries)
{
	CatchupRepo *dst = &catchupRepos[n];
	bool		required[CONFIG_REPO_MAX + 1];
	int			copied = 0;

	catchupRequired(required);
	for (int i = 0; i < count; i++)
	{
		int			order[CONFIG_REPO_MAX];
		int			sources = catchupSourceOrder(missing[i].sources, required,
												 n, order);
		bool		done = false;

		CHECK_FOR_INTERRUPTS();
		for (int s = 0; s < sources && !done; s++)
		{
			CatchupRepo *src = &catchupRepos[order[s]];
			bool		targetFailed;
			DrError		err;

			if (src->repo == NULL)
				continue;
			drErrorClear(&err);
			if (summaries ?
				catchupSummaryCopy(src, dst, missing[i].name, &targetFailed, &err) :
				catchupWalCopy(src, dst, missing[i].name, &targetFailed, &err))
			{
				done = true;
				copied++;
			}
			else if (targetFailed)
			{
				catchupFailed(n, &err, "cannot write to");
				catchupClose(dst);
				dst->failedAt = GetCurrentTimestamp();
				return copied;
			}
			else
			{
				/* the source's copy failed: try the next one, say so */
				drErrorPrefix(&err, "copying \"%s\" to repository %d: ",
							  missing[i].name, n);
				catchupFailed(order[s], &err, "bad source");
			}
		}
	}
	return copied;
}

/* Where a backup copy stands. */
typedef struct CatchupBackupCopy
{
	CatchupRepo *src;
	CatchupRepo *dst;
	const char *id;
	RepoLock   *lock;
	int			budget;			/* objects still to copy in this round */
	char	   *buffer;

	/* the target's bundle being filled (NULL: none yet) */
	RepoBundle *bundle;
	uint32		bundlesEnded;	/* its objects ended, counted in budget */
	uint32		nextBundle;		/* the number of the next new bundle object */

	/*
	 * The bundle objects 0 .. reuseCount - 1 an earlier, cut-short copy of
	 * this backup completed, walked entry by entry (catchupBundleReuse):
	 * reuseData holds object reuseBundle, whose next entry is at
	 * reuseOffset.
	 */
	uint32		reuseCount;
	uint32		reuseBundle;
	char	   *reuseData;
	size_t		reuseLen;
	uint64		reuseOffset;
} CatchupBackupCopy;

/*
 * One object of the backup: srcRead (opened on the source) decoded to its
 * verified end while encoded into dstPath (binding: bind it to that
 * name); *stored its new encoded size.  An object dst already holds (an
 * earlier round copied it) is decoded from dst instead, which checks it
 * and gives its size.
 */
static bool
catchupObjectCopy(CatchupBackupCopy *copy, RepoObjectRead *srcRead,
				  const char *dstPath, bool binding, uint64 *stored,
				  DrError *err)
{
	RepoObjectWrite *write;
	RepoWriteParam param = {0};
	CodecResult result;
	bool		exists;

	CHECK_FOR_INTERRUPTS();
	if (!storageExists(repoStorage(copy->dst->repo), dstPath, &exists, err))
		goto fail;
	if (exists)
	{
		RepoObjectRead *read = repoObjectReadBegin(copy->dst->repo, dstPath,
												   err);

		if (read != NULL)
		{
			ssize_t		got;

			while ((got = repoObjectRead(read, copy->buffer,
										 CATCHUP_BUFFER_SIZE, err)) > 0)
				;
			if (got == 0 && repoObjectReadEnd(read, &result, err))
			{
				repoObjectReadFree(srcRead);
				*stored = result.storedSize;
				return true;
			}
			if (got < 0)
				repoObjectReadFree(read);
		}
		/* a damaged copy: replaced */
		if (!storageRemove(repoStorage(copy->dst->repo), dstPath, err))
			goto fail;
	}
	if (copy->budget <= 0)
	{
		repoObjectReadFree(srcRead);
		return drErrorSet(err, DR_ERR_CANCELED, "the round's work is done");
	}

	param.binding = binding ? dstPath : NULL;
	write = repoObjectWriteBeginParam(copy->dst->repo, dstPath,
									  copy->dst->keyNone ? NULL : &copy->dst->key,
									  &param, err);
	if (write == NULL)
		goto fail;
	for (;;)
	{
		ssize_t		got = repoObjectRead(srcRead, copy->buffer,
										 CATCHUP_BUFFER_SIZE, err);

		if (got < 0 || (got > 0 && !repoObjectWrite(write, copy->buffer, got, err)))
		{
			repoObjectWriteAbort(write);
			goto fail;
		}
		if (got == 0)
			break;
	}
	/* the source verified to its end before the copy becomes visible */
	if (!repoObjectReadEnd(srcRead, NULL, err))
	{
		repoObjectWriteAbort(write);
		return false;
	}
	if (!repoObjectWriteEnd(write, &result, err))
		return false;
	*stored = result.storedSize;
	copy->budget--;
	(void) repoLockHeartbeat(copy->lock, (int64) time(NULL), false, err);
	return true;

fail:
	repoObjectReadFree(srcRead);
	return false;
}

/* Open srcPath on the source, bound to it or not, and copy it. */
static bool
catchupPathCopy(CatchupBackupCopy *copy, const char *srcPath,
				const char *dstPath, bool binding, uint64 *stored,
				DrError *err)
{
	RepoObjectRead *read = repoObjectReadBegin(copy->src->repo, srcPath, err);
	bool		bound;

	if (read == NULL)
		return false;
	if (binding && !repoObjectReadBindingCheck(read, srcPath, &bound, err))
	{
		repoObjectReadFree(read);
		return false;
	}
	return catchupObjectCopy(copy, read, dstPath, binding, stored, err);
}

typedef struct CatchupManifestSink
{
	RepoObjectWrite *write;
} CatchupManifestSink;

static bool
catchupManifestWrite(void *arg, const void *buf, size_t len, DrError *err)
{
	return repoObjectWrite(((CatchupManifestSink *) arg)->write, buf, len, err);
}

/* RepoBundleParam.next: the copy's bundle objects, numbered in order. */
static uint32
catchupBundleNext(void *arg)
{
	CatchupBackupCopy *copy = arg;

	return copy->nextBundle++;
}

/* Storage list callback: collect the numbers of bundle objects. */
static bool
catchupBundleListed(void *arg, const StorageInfo *info, DrError *err)
{
	List	  **numbers = arg;
	char	   *end;
	unsigned long n;

	if (info->isDir)
		return true;
	errno = 0;
	n = strtoul(info->name, &end, 10);
	if (errno == 0 && *end == '\0' && end != info->name && n <= PG_UINT32_MAX)
		*numbers = lappend_int(*numbers, (int) n);
	return true;
}

static int
catchupIntCompare(const ListCell *a, const ListCell *b)
{
	int			x = lfirst_int(a);
	int			y = lfirst_int(b);

	return (x > y) - (x < y);
}

/*
 * The bundle objects an earlier, cut-short copy of this backup left in the
 * target: the copy fills them one at a time, in the order of the source
 * manifest, numbered from 0, and a bundle object becomes visible only
 * complete, so those numbered 0, 1, ... without a gap hold the first
 * bundled files of the manifest, in order (catchupBundleReuse walks them).
 * Any other is removed (nothing names it: the manifest is written last).
 */
static bool
catchupBundleFind(CatchupBackupCopy *copy, DrError *err)
{
	Storage    *storage = repoStorage(copy->dst->repo);
	char	   *dir = psprintf("%s/%s/bundle", REPO_BACKUP_DIR, copy->id);
	List	   *numbers = NIL;
	ListCell   *lc;
	uint32		count = 0;

	if (!storageList(storage, dir, catchupBundleListed, &numbers, err))
		return false;
	pfree(dir);
	list_sort(numbers, catchupIntCompare);
	foreach(lc, numbers)
	{
		uint32		n = (uint32) lfirst_int(lc);

		if (n == count)
			count++;
		else
		{
			char	   *path = repoBackupBundlePath(copy->id, n);

			if (!storageRemove(storage, path, err))
				return false;
			pfree(path);
		}
	}
	list_free(numbers);
	copy->reuseCount = count;
	copy->nextBundle = count;
	return true;
}

/*
 * Stop reusing: the bundle objects from the one being walked on are not
 * used (removed; the one being walked is kept when some of its entries
 * were used already, the rest of it then named by nothing), and new ones
 * are numbered from there.
 */
static bool
catchupBundleReuseEnd(CatchupBackupCopy *copy, DrError *err)
{
	uint32		from = copy->reuseBundle;

	if (from < copy->reuseCount && copy->reuseData != NULL &&
		copy->reuseOffset > 0)
		from++;
	for (uint32 n = from; n < copy->reuseCount; n++)
	{
		char	   *path = repoBackupBundlePath(copy->id, n);

		if (!storageRemove(repoStorage(copy->dst->repo), path, err))
			return false;
		pfree(path);
	}
	if (copy->reuseData != NULL)
		pfree(copy->reuseData);
	copy->reuseData = NULL;
	copy->reuseCount = copy->reuseBundle = from;
	copy->nextBundle = from;
	return true;
}

/*
 * The next entry of the bundle objects an earlier copy completed
 * (catchupBundleFind), for the bundled file whose object is bound to path:
 * 1 when there is one, bound to path, that decodes to its end (checked as
 * an object already copied is: *place and *stored say where it is);
 * 0 when there is none, or it is not that file's or fails (reuse ends
 * there: catchupBundleReuseEnd); -1 with err when the target fails.
 */
static int
catchupBundleReuse(CatchupBackupCopy *copy, const char *path,
				   RepoObjectPlace *place, uint64 *stored, DrError *err)
{
	Repo	   *repo = copy->dst->repo;
	RepoObjectRead *read;
	CodecResult result;
	DrError		why;
	uint64		span;
	ssize_t		got;
	char	   *bundlePath;

	drErrorClear(&why);
	while (copy->reuseBundle < copy->reuseCount)
	{
		if (copy->reuseData == NULL)
		{
			bundlePath = repoBackupBundlePath(copy->id, copy->reuseBundle);
			copy->reuseData = storageGet(repoStorage(repo), bundlePath,
										 &copy->reuseLen,
										 CATCHUP_BUNDLE_SIZE + CATCHUP_BUNDLE_ENTRY_MAX,
										 &why);
			pfree(bundlePath);
			copy->reuseOffset = 0;
			if (copy->reuseData == NULL)
				goto end;
		}
		if (copy->reuseOffset < copy->reuseLen)
			break;
		/* this one is used up: the next one */
		pfree(copy->reuseData);
		copy->reuseData = NULL;
		copy->reuseBundle++;
	}
	if (copy->reuseBundle >= copy->reuseCount)
		return 0;

	if (!codecObjectSpan((const uint8 *) copy->reuseData + copy->reuseOffset,
						 copy->reuseLen - copy->reuseOffset, &span, &why))
		goto end;
	bundlePath = repoBackupBundlePath(copy->id, copy->reuseBundle);
	read = repoObjectReadBeginRange(repo, bundlePath, copy->reuseOffset, span,
									&why);
	pfree(bundlePath);
	if (read == NULL)
		goto end;
	if (!repoObjectReadBindingRequire(read, path, &why))
	{
		repoObjectReadFree(read);
		goto end;
	}
	while ((got = repoObjectRead(read, copy->buffer, CATCHUP_BUFFER_SIZE, &why)) > 0)
		;
	if (got < 0)
	{
		repoObjectReadFree(read);
		goto end;
	}
	if (!repoObjectReadEnd(read, &result, &why))
		goto end;
	place->bundled = true;
	place->bundle = copy->reuseBundle;
	place->offset = copy->reuseOffset;
	*stored = result.storedSize;
	copy->reuseOffset += span;
	return 1;

end:
	if (why.code != DR_OK)
		ereport(LOG,
				(errmsg_internal("pg_dr catch-up: repository %d: backup \"%s\": bundle %u of an earlier copy is not used from offset " UINT64_FORMAT ": %s",
								 copy->dst->config.index, copy->id,
								 copy->reuseBundle, copy->reuseOffset,
								 why.message)));
	return catchupBundleReuseEnd(copy, err) ? 0 : -1;
}

/*
 * A file the source holds as an entry of a bundle: an entry of the
 * target's bundle (an earlier copy's, reused, or a new one), bound to
 * data/<path> as the backup engine binds it (manifest version 3).  A
 * bundle object ended counts as one object of the round's budget.
 */
static bool
catchupBundledCopy(CatchupBackupCopy *copy, ManifestFile *file, DrError *err)
{
	char	   *path = repoBackupDataPath(copy->id, file->path);
	RepoObjectPlace place;
	RepoWriteParam param = {0};
	RepoObjectWrite *write;
	RepoObjectRead *read;
	CodecResult result;
	uint64		stored;
	uint32		ended;
	int			reused;

	CHECK_FOR_INTERRUPTS();
	reused = catchupBundleReuse(copy, path, &place, &stored, err);
	if (reused < 0)
		return false;
	if (reused == 0)
	{
		if (copy->budget <= 0)
			return drErrorSet(err, DR_ERR_CANCELED, "the round's work is done");
		if (copy->bundle == NULL)
		{
			RepoBundleParam bundleParam = {0};

			bundleParam.prefix = repoBackupBundlePrefix(copy->id);
			bundleParam.sizeMax = CATCHUP_BUNDLE_SIZE;
			bundleParam.entryMax = CATCHUP_BUNDLE_ENTRY_MAX;
			bundleParam.next = catchupBundleNext;
			bundleParam.nextArg = copy;
			copy->bundle = repoBundleNew(copy->dst->repo, &bundleParam);
		}
		/* the source's entry, bound to data/<path> when it is version 3 */
		read = repoBackupFileReadBegin(copy->src->repo, copy->id, file, err);
		if (read == NULL)
			return false;
		param.binding = path;
		param.bundle = copy->bundle;
		write = repoObjectWriteBeginParam(copy->dst->repo, path,
										  copy->dst->keyNone ? NULL : &copy->dst->key,
										  &param, err);
		if (write == NULL)
		{
			repoObjectReadFree(read);
			return false;
		}
		for (;;)
		{
			ssize_t		got = repoObjectRead(read, copy->buffer,
											 CATCHUP_BUFFER_SIZE, err);

			if (got < 0 || (got > 0 && !repoObjectWrite(write, copy->buffer, got, err)))
			{
				repoObjectReadFree(read);
				repoObjectWriteAbort(write);
				return false;
			}
			if (got == 0)
				break;
		}
		/* the source verified to its end before the entry is appended */
		if (!repoObjectReadEnd(read, NULL, err))
		{
			repoObjectWriteAbort(write);
			return false;
		}
		if (!repoObjectWriteEndPlace(write, &result, &place, err))
			return false;
		stored = result.storedSize;
		ended = repoBundleObjects(copy->bundle);
		if (ended > copy->bundlesEnded)
		{
			copy->budget -= ended - copy->bundlesEnded;
			copy->bundlesEnded = ended;
			(void) repoLockHeartbeat(copy->lock, (int64) time(NULL), false, err);
			drErrorClear(err);
			drTestPause("catchup-bundle-ended");
		}
	}
	file->bundled = place.bundled;
	file->bundle = place.bundle;
	file->bundleOffset = place.offset;
	file->objectSize = stored;
	pfree(path);
	return true;
}

/* The entries of the source manifest, each object copied, into writer. */
static bool
catchupBackupEntries(CatchupBackupCopy *copy, ManifestReader *reader,
					 ManifestWriter *writer, DrError *err)
{
	ManifestEntry entry;
	int			r;

	while ((r = manifestReaderNext(reader, &entry, err)) > 0)
	{
		switch (entry.kind)
		{
			case MANIFEST_ENTRY_TABLESPACE:
				if (!manifestWriteTablespace(writer, &entry.tablespace, err))
					return false;
				break;
			case MANIFEST_ENTRY_DIR:
				if (!manifestWriteDir(writer, &entry.dir, err))
					return false;
				break;
			case MANIFEST_ENTRY_FILE:
				{
					ManifestFile *file = &entry.file;

					if (file->store == MANIFEST_STORE_PARENT)
						;
					else if (file->parts >= 2)
					{
						uint64		total = 0;

						for (uint32 k = 0; k < file->parts; k++)
						{
							char	   *path = repoBackupPartPath(copy->id, file->path, k);
							uint64		stored;

							if (!catchupPathCopy(copy, path, path, true, &stored, err))
								return false;
							total += stored;
							pfree(path);
						}
						file->objectSize = total;
					}
					else if (file->bundled)
					{
						if (!catchupBundledCopy(copy, file, err))
							return false;
					}
					else
					{
						RepoObjectRead *read;
						char	   *path = repoBackupDataPath(copy->id, file->path);
						uint64		stored;

						/*
						 * the copy's manifest is written as version 3: its
						 * whole objects are bound to data/<path>
						 * (manifest.h), whatever the source's version
						 */
						read = repoBackupFileReadBegin(copy->src->repo, copy->id,
													   file, err);
						if (read == NULL ||
							!catchupObjectCopy(copy, read, path, true, &stored, err))
							return false;
						file->objectSize = stored;
						pfree(path);
					}
					if (!manifestWriteFile(writer, file, err))
						return false;
					break;
				}
			case MANIFEST_ENTRY_WAL:
				{
					char	   *path = repoBackupWalPath(copy->id, entry.wal.name);
					uint64		stored;

					if (!catchupPathCopy(copy, path, path, false, &stored, err) ||
						!manifestWriteWal(writer, &entry.wal, err))
						return false;
					pfree(path);
					break;
				}
		}
	}
	return r == 0;
}

/* Whether name is in catchupLocksLeft; removed from it with forget. */
static bool
catchupLockLeft(const char *name, bool forget)
{
	ListCell   *lc;

	foreach(lc, catchupLocksLeft)
	{
		char	   *left = lfirst(lc);

		if (strcmp(left, name) == 0)
		{
			if (forget)
			{
				catchupLocksLeft = foreach_delete_current(catchupLocksLeft, lc);
				pfree(left);
			}
			return true;
		}
	}
	return false;
}

/*
 * Whether the writer of the lock of backup id in dst is provably gone
 * (repoLockHolderGone): a process of this host that is no more, or of an
 * earlier postmaster of this data directory.  Said in the log when so.
 */
static bool
catchupLockHolderGone(CatchupRepo *dst, const char *id,
					  const RepoLockState *state)
{
	char		host[256];
	bool		alive;

	if (!state->parsed || gethostname(host, sizeof(host)) != 0)
		return false;
	host[sizeof(host) - 1] = '\0';
	/* EPERM: a process of another user has that pid now; alive, to be safe */
	alive = state->holder.pid > 0 &&
		(kill(state->holder.pid, 0) == 0 || errno != ESRCH);
	if (!repoLockHolderGone(&state->holder, host, (int64) PgStartTime, DataDir,
							alive))
		return false;
	ereport(LOG,
			(errmsg("pg_dr catch-up: repository %d: the lock of backup \"%s\" was left by process %d of this host, which is gone: taken over",
					dst->config.index, id, state->holder.pid)));
	return true;
}

/*
 * Copy backup id from src to dst (see the header comment).  True when the
 * backup is complete in dst; false with DR_ERR_CANCELED when the round's
 * budget ran out first.
 */
static bool
catchupBackupCopy(CatchupRepo *src, CatchupRepo *dst, const char *id,
				  DrError *err)
{
	CatchupBackupCopy copy = {0};
	RepoBackupManifest *manifest;
	ManifestReader *reader;
	ManifestHeader header;
	ManifestWriter *writer = NULL;
	CatchupManifestSink sink = {0};
	char	   *manifestPath = repoBackupManifestPath(id);
	char	   *summaryPath;
	char	   *lockName = NULL;
	bool		exists;
	bool		ok = false;

	copy.src = src;
	copy.dst = dst;
	copy.id = id;
	copy.budget = CATCHUP_OBJECTS_ROUND_MAX;
	copy.buffer = palloc(CATCHUP_BUFFER_SIZE);

	manifest = repoBackupManifestOpen(src->repo, id, err);
	if (manifest == NULL)
		return false;
	reader = repoBackupManifestReader(manifest);
	header = *repoBackupManifestHeader(manifest);

	/* an incremental needs its parent there first */
	if (header.incremental)
	{
		char	   *parentPath = repoBackupManifestPath(header.parentId);

		if (!storageExists(repoStorage(dst->repo), parentPath, &exists, err))
			goto done;
		if (!exists)
		{
			drErrorSet(err, DR_ERR_NOT_FOUND,
					   "backup \"%s\" waits for its parent \"%s\"", id,
					   header.parentId);
			goto done;
		}
	}

	lockName = psprintf("%d:%s", dst->config.index, id);
	copy.lock = repoLockAcquire(dst->repo, id, header.parentId,
								(int64) time(NULL), err);
	if (copy.lock == NULL && err->code == DR_ERR_EXISTS)
	{
		/*
		 * A lock is there: one this process left, or one whose writer is
		 * provably gone (a copy a crash of this server cut short), both
		 * taken over at once; or another one, taken over once it expired.
		 */
		RepoLockState state;
		bool		taken = false;
		bool		ours = catchupLockLeft(lockName, false);

		drErrorClear(err);
		if (repoLockRead(dst->repo, id, &state, err) &&
			(ours || !repoLockLive(&state, (int64) time(NULL)) ||
			 catchupLockHolderGone(dst, id, &state)) &&
			repoLockTake(dst->repo, id, &state, &taken, err) && taken)
		{
			copy.lock = repoLockAcquire(dst->repo, id, header.parentId,
										(int64) time(NULL), err);
			if (copy.lock != NULL)
				(void) catchupLockLeft(lockName, true);
		}
		else if (err->code == DR_OK)
			drErrorSet(err, DR_ERR_EXISTS,
					   "backup \"%s\" is locked in the target repository", id);
	}
	if (copy.lock == NULL)
		goto done;
	if (!catchupBundleFind(&copy, err))
		goto done;

	header.hasKey = !dst->keyNone;
	if (!dst->keyNone)
		memcpy(header.keyId, dst->key.id, CODEC_KEY_ID_SIZE);
	sink.write = repoObjectWriteBegin(dst->repo, manifestPath,
									  dst->keyNone ? NULL : &dst->key, err);
	if (sink.write == NULL)
		goto done;
	writer = manifestWriterNew(catchupManifestWrite, &sink);
	if (!manifestWriteHeader(writer, &header, err) ||
		!catchupBackupEntries(&copy, reader, writer, err) ||
		!manifestWriterEnd(writer, err))
		goto done;

	/* the incremental's WAL summary, which the manifest does not name */
	summaryPath = psprintf("%s/%s/wal-summary", REPO_BACKUP_DIR, id);
	if (!storageExists(repoStorage(src->repo), summaryPath, &exists, err))
		goto done;
	if (exists)
	{
		uint64		stored;

		if (!catchupPathCopy(&copy, summaryPath, summaryPath, false, &stored, err))
			goto done;
	}

	/* the last bundle object, complete before the manifest names it */
	if (copy.bundle != NULL)
	{
		RepoBundle *bundle = copy.bundle;

		copy.bundle = NULL;
		if (!repoBundleEnd(bundle, err))
			goto done;
	}

	/* the instant the copy comes into existence */
	ok = repoObjectWriteEnd(sink.write, NULL, err);
	sink.write = NULL;

done:
	if (copy.bundle != NULL)
		repoBundleAbort(copy.bundle);
	if (copy.reuseData != NULL)
		pfree(copy.reuseData);
	if (sink.write != NULL)
		repoObjectWriteAbort(sink.write);
	if (writer != NULL)
		manifestWriterFree(writer);
	repoBackupManifestClose(manifest);
	if (copy.lock != NULL)
	{
		DrError		lockErr;

		if (!repoLockRelease(copy.lock, &lockErr))
		{
			MemoryContext old = MemoryContextSwitchTo(catchupContext);

			catchupLocksLeft = lappend(catchupLocksLeft, pstrdup(lockName));
			MemoryContextSwitchTo(old);
		}
	}
	pfree(copy.buffer);
	return ok;
}

/*
 * Copy the oldest backup repository n misses; true when there is more to
 * do (a backup was copied or cut short).
 */
static bool
catchupBackups(int n, CatchupMissing *missing, int count)
{
	bool		required[CONFIG_REPO_MAX + 1];

	catchupRequired(required);
	for (int i = 0; i < count; i++)
	{
		int			order[CONFIG_REPO_MAX];
		int			sources = catchupSourceOrder(missing[i].sources, required,
												 n, order);

		for (int s = 0; s < sources; s++)
		{
			CatchupRepo *src = &catchupRepos[order[s]];
			DrError		err;

			if (src->repo == NULL || catchupRepos[n].repo == NULL)
				continue;
			drErrorClear(&err);
			if (catchupBackupCopy(src, &catchupRepos[n], missing[i].name, &err))
			{
				ereport(LOG,
						(errmsg("pg_dr catch-up: backup \"%s\" copied from repository %d to repository %d",
								missing[i].name, order[s], n)));
				return true;
			}
			if (err.code == DR_ERR_CANCELED)
				return true;
			if (err.code == DR_ERR_NOT_FOUND)
				break;			/* its parent first, or it is gone */
			drErrorPrefix(&err, "copying backup \"%s\" to repository %d: ",
						  missing[i].name, n);
			catchupFailed(order[s], &err, "from");
		}
	}
	return false;
}

/* The catch-up refuses to run (catchupOriginAllows): said once. */
static bool catchupOriginRefused = false;

/*
 * May this cluster copy into its repositories?  Not a restored cluster not
 * yet declared primary (repo/repo_origin.h) whose marker names one of
 * them: it would write the source's backups and WAL history into the
 * repository it came from, as the PITR duty would its restore points
 * (pitr.c).  Refusals are logged when they start and when they end.
 */
static bool
catchupOriginAllows(const DrConfig *config)
{
	RepoOrigin	origin;
	DrError		err;
	bool		found;
	bool		allowed = true;

	drErrorClear(&err);
	/* the common case first: no marker */
	if (repoOriginRead(DataDir, &origin, &found, &err) && !found)
		allowed = true;
	else
		for (int n = 1; n <= CONFIG_REPO_MAX && allowed; n++)
			if (config->repo[n].index != 0 &&
				!repoOriginGuard(DataDir, &config->repo[n], NULL,
								 "copying backups and WAL between repositories",
								 &err))
				allowed = false;

	if (!allowed && !catchupOriginRefused)
		ereport(LOG,
				(errmsg("pg_dr catch-up: %s", err.message),
				 err.hint[0] ? errhint("%s", err.hint) : 0));
	else if (allowed && catchupOriginRefused)
		ereport(LOG,
				(errmsg("pg_dr catch-up: copying between repositories resumed")));
	catchupOriginRefused = !allowed;
	return allowed;
}

static void
catchupRoundStep(void *arg)
{
	TimestampTz now = GetCurrentTimestamp();
	DrConfig   *config;
	DrError		err;
	const CatchupList *walLists[CONFIG_REPO_MAX + 1] = {0};
	const CatchupList *summaryLists[CONFIG_REPO_MAX + 1] = {0};
	const CatchupList *backupLists[CONFIG_REPO_MAX + 1] = {0};
	CatchupMissing missing[CATCHUP_WAL_ROUND_MAX];

	config = configLoad(drConfigFile, &err);
	if (config == NULL)
		return;					/* dr_status says why */
	for (int n = 1; n <= CONFIG_REPO_MAX; n++)
		catchupConfigure(n, &config->repo[n]);
	if (config->repoCount < 2 || !catchupOriginAllows(config))
	{
		configFree(config);
		return;
	}

	for (int n = 1; n <= CONFIG_REPO_MAX; n++)
	{
		CatchupRepo *r = &catchupRepos[n];

		if (r->config.index == 0)
			continue;
		if (catchupOpen(n, now) && catchupList(n, now))
			catchupFloor(n);
		if (r->listed)
		{
			walLists[n] = &r->wal;
			summaryLists[n] = &r->summaries;
			backupLists[n] = &r->backups;
		}
	}

	for (int n = 1; n <= CONFIG_REPO_MAX; n++)
	{
		CatchupRepo *r = &catchupRepos[n];
		CatchupLag walLag;
		CatchupLag backupLag;
		CatchupMissing backupMissing[CATCHUP_WAL_ROUND_MAX];
		int			walCount;
		int			backupCount;
		const char *newestWal;

		if (!r->listed)
			continue;
		walCount = catchupMissing(walLists, n, wal_segment_size,
								  r->walFloor[0] ? r->walFloor : NULL,
								  missing, lengthof(missing), &walLag);
		backupCount = catchupMissing(backupLists, n, 0,
									 r->floorBackup[0] ? r->floorBackup : NULL,
									 backupMissing, lengthof(backupMissing),
									 &backupLag);
		newestWal = catchupNewestSegment(&r->wal);
		archiveRepoBackupsNote(n, r->hash, r->backups.names, r->backups.count);
		archiveRepoCatchupNote(n, r->hash, r->repo != NULL,
							   walLag.count, walLag.bytes, backupLag.count,
							   r->backups.count > 0 ?
							   r->backups.names[r->backups.count - 1] : "",
							   newestWal ? newestWal : "");
		if (r->repo == NULL)
			continue;
		if (walCount > 0 && catchupWal(n, missing, walCount, false) > 0)
			catchupMore = true;

		/*
		 * The WAL summaries of the segments it holds (an incremental taken
		 * into it reads them); not counted as lag: a missing summary costs
		 * an incremental some reading, never a restore anything.
		 */
		if (r->repo != NULL)
		{
			CatchupLag summaryLag;
			int			summaryCount;
			int			held = 0;

			summaryCount = catchupMissing(summaryLists, n, 0,
										  r->walFloor[0] ? r->walFloor : NULL,
										  missing, lengthof(missing), &summaryLag);
			for (int i = 0; i < summaryCount; i++)
				if (catchupListHas(&r->wal, missing[i].name, WAL_NAME_LEN))
					missing[held++] = missing[i];
			if (held > 0 && catchupWal(n, missing, held, true) > 0)
				catchupMore = true;
		}
		if (backupCount > 0 && r->repo != NULL &&
			catchupBackups(n, backupMissing, backupCount))
			catchupMore = true;
	}
	configFree(config);
}

static TimestampTz
catchupNextDue(TimestampTz now, void *arg)
{
	if (catchupMore)
		return now;
	return TimestampTzPlusMilliseconds(catchupLastRound, CATCHUP_POLL_MS);
}

static bool
catchupRun(TimestampTz now, void *arg)
{
	bool		ok;

	catchupLastRound = now;
	catchupMore = false;
	if (drConfigFile == NULL || drConfigFile[0] == '\0' || RecoveryInProgress())
		return true;
	if (catchupContext == NULL)
	{
		catchupContext = AllocSetContextCreate(TopMemoryContext,
											   "pg_dr catch-up",
											   ALLOCSET_DEFAULT_SIZES);
		for (int n = 0; n <= CONFIG_REPO_MAX; n++)
			catchupRepos[n].listContext =
				AllocSetContextCreate(catchupContext, "pg_dr catch-up listing",
									  ALLOCSET_DEFAULT_SIZES);
	}
	/* the copy locks say which server wrote them (catchupLockHolderGone) */
	repoLockIdentitySet((int64) PgStartTime, DataDir);
	ok = dutyXactRun("pg_dr: copying to repositories that are behind",
					 catchupRoundStep, NULL);
	if (!ok)
	{
		/* what an ERROR left open is closed; opened again next round */
		for (int n = 1; n <= CONFIG_REPO_MAX; n++)
		{
			catchupClose(&catchupRepos[n]);
			catchupRepos[n].listed = false;
		}
	}
	return ok;
}

void
catchupBackupEnded(void)
{
	catchupMore = true;
}

void
catchupDutiesRegister(void)
{
	dutyRegister("catch-up", catchupNextDue, catchupRun, NULL, CATCHUP_RETRY_MS);
}
