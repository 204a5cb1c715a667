/*-------------------------------------------------------------------------
 * backup.c
 *	  The backup leader: what dr_backup_full() and dr_backup_incremental()
 *	  run in the caller's backend (see backup.h for the data flow).
 *
 * Order matters for safety:
 *	 1. take the one-backup-at-a-time lock (shared memory, so a crash
 *	    releases it);
 *	 2. reserve WAL with a temporary replication slot before the backup
 *	    starts, so no segment the backup needs can be recycled;
 *	 3. pg_backup_start (non-exclusive), list, copy in the workers;
 *	 4. pg_backup_stop: it switches WAL, so the stop segment is complete;
 *	 5. store backup_label, tablespace_map and the WAL from the start to the
 *	    stop segment with the backup;
 *	 6. write the manifest, last: before this instant nothing in
 *	    backup/<id>/ counts as a backup; after it, the backup is complete;
 *	 7. record the backup in the catalog (a cache of the repository).
 * From before the first object of the backup until its manifest is
 * written, the leader holds the backup's lock in the repository
 * (repo/repo_lock.h): a heartbeat object renewed while the workers copy,
 * while WAL is stored and while the manifest is written, so that no expire,
 * of this server or `pg_dr expire` on any host, removes the directory.  A
 * heartbeat that finds the lock taken away (the leader stalled for
 * REPO_LOCK_EXPIRE seconds and an expire removed the directory) fails the
 * backup, and the last one is forced just before the manifest is written.
 * Any error or cancellation on the way (and a FATAL exit) runs
 * backupCleanup: workers are told to stop and terminated, backup mode is
 * aborted, temporary files and the slot go, both locks are released.
 * Objects already written stay in backup/<id>/ without a manifest:
 * invisible.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "access/xlogarchive.h"
#include "common/cryptohash.h"
#include "common/file_perm.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/pgarch.h"
#include "replication/slot.h"
#include "storage/dsm.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "backup/backup_chain.h"
#include "backup/backup_internal.h"
#include "backup/backup_kind.h"
#include "backup/backup_progress.h"
#include "common/config.h"
#include "pg_dr.h"
#include "repo/repo.h"
#include "repo/repo_backup.h"
#include "common/test_pause.h"
#include "repo/repo_leftover.h"
#include "repo/repo_lock.h"

/* How often the leader wakes up while the workers copy (milliseconds). */
#define BACKUP_WAIT_MS			1000
/*
 * The archiver does not tell when it stored the stop segment: poll this
 * often (an incremental that reads only what changed takes about a second;
 * a poll of BACKUP_WAIT_MS made it a second longer).
 */
#define BACKUP_ARCHIVE_POLL_MS	50

typedef struct BackupContext
{
	char		backupId[MANIFEST_ID_MAX + 1];
	dsm_segment *segment;
	BackupShared *shared;
	BackgroundWorkerHandle *handles[BACKUP_WORKERS_MAX];
	int			launched;
	char		slotName[NAMEDATALEN];
	bool		slotCreated;
	char		listPath[MAXPGPATH];
	char		indexPath[MAXPGPATH];
	char		resultPrefix[MAXPGPATH];
	RepoBackupManifest *parent;	/* incremental: the parent's manifest */
	ManifestHeader parentHeader;
	StorageBatch *batch;		/* the files' and WAL's deferred syncs */
	RepoLock   *lock;			/* the backup's lock in the repository */
} BackupContext;

/* Sink for the manifest writer: the manifest object. */
static bool
backupManifestSink(void *arg, const void *buf, size_t len, DrError *err)
{
	return repoObjectWrite((RepoObjectWrite *) arg, buf, len, err);
}

static void
backupCheck(bool ok, DrError *err)
{
	if (!ok)
		drEreport(ERROR, err);
}

/*
 * The next heartbeat of the backup's lock, when one is due (always with
 * force); ERROR when the lock was taken away.
 */
static void
backupHeartbeat(BackupContext *ctx, bool force)
{
	DrError		err;

	if (ctx->lock == NULL)
		return;
	drErrorClear(&err);
	backupCheck(repoLockHeartbeat(ctx->lock, (int64) time(NULL), force, &err),
				&err);
}

/* "YYYYMMDD-HHMMSS" + kind, from the current time (UTC). */
static void
backupIdNew(bool incremental, char *id)
{
	time_t		now = time(NULL);
	struct tm	tm;

	gmtime_r(&now, &tm);
	snprintf(id, MANIFEST_ID_MAX + 1, "%04d%02d%02d-%02d%02d%02d%c",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec, incremental ? 'I' : 'F');
}

static bool
backupListCount(void *arg, const StorageInfo *info, DrError *err)
{
	(*(int *) arg)++;
	return true;
}

/*
 * A backup id whose directory is empty: two backups in the same second
 * (or leftovers of a crashed one with that id) must not share objects.
 * Nor may a backup of the other kind have that second: "...F" sorts before
 * "...I", so a full taken in the second of an incremental would sort
 * before it, and ids would no longer sort in time order (a backup that
 * takes less than a second is common: an incremental that reads only what
 * changed).
 */
static void
backupIdChoose(Repo *repo, bool incremental, char *id)
{
	DrError		err;

	for (int attempt = 0; attempt < 5; attempt++)
	{
		int			entries = 0;

		backupIdNew(incremental, id);
		for (int kind = 0; kind < 2; kind++)
		{
			char	   *dir = psprintf(REPO_BACKUP_DIR "/%.*s%c",
									   (int) strlen(id) - 1, id,
									   kind == 0 ? 'F' : 'I');

			backupCheck(storageList(repoStorage(repo), dir, backupListCount,
									&entries, &err), &err);
			pfree(dir);
		}
		if (entries == 0)
			return;
		pg_usleep(1000000L);
		CHECK_FOR_INTERRUPTS();
	}
	ereport(ERROR,
			(errcode(ERRCODE_DUPLICATE_OBJECT),
			 errmsg("could not choose a new backup id: backup/%s is not empty", id)));
}

/* Store a file whose content we have in memory (backup_label, ...). */
static void
backupStoreBuffer(Repo *repo, const CodecDataKey *key, const char *id,
				  const char *name, const char *content, ManifestFile *file)
{
	CodecResult codec;
	DrError		err;
	char	   *path = repoBackupDataPath(id, name);
	size_t		len = strlen(content);

	/* bound to its name, as every object of a file is (manifest version 3) */
	backupCheck(repoObjectPutBufferBound(repo, path, content, len, key, &codec,
										 &err), &err);
	memset(file, 0, sizeof(*file));
	file->path = pstrdup(name);
	file->size = len;
	file->mode = pg_file_create_mode;
	file->mtime = (int64) time(NULL);
	memcpy(file->sha256, codec.sha256, CODEC_SHA256_SIZE);
	file->store = MANIFEST_STORE_FULL;
	file->objectSize = codec.storedSize;
	pfree(path);
}

/*
 * Store the WAL from the start to the stop segment.  The temporary slot has
 * kept every one of them in pg_wal.
 */
static int
backupStoreWal(BackupContext *ctx, Repo *repo, const CodecDataKey *key,
			   const char *id,
			   XLogRecPtr startLsn, XLogRecPtr stopLsn, TimeLineID tli,
			   ManifestWal **walOut, BackupSummary *summary)
{
	XLogSegNo	first;
	XLogSegNo	last;
	XLogSegNo	seg;
	ManifestWal *wal;
	char	   *buffer = palloc(1024 * 1024);
	int			count = 0;
	RepoWriteParam param = {.deferSync = true, .owned = true};

	XLByteToSeg(startLsn, first, wal_segment_size);
	XLByteToPrevSeg(stopLsn, last, wal_segment_size);
	wal = palloc0(sizeof(ManifestWal) * (last - first + 1));

	for (seg = first; seg <= last; seg++)
	{
		char		name[MAXFNAMELEN];
		char		path[MAXPGPATH];
		char	   *object;
		int			fd;
		RepoObjectWrite *ow;
		CodecResult codec;
		DrError		err;
		uint64		total = 0;
		bool		ended;

		CHECK_FOR_INTERRUPTS();
		backupHeartbeat(ctx, false);
		XLogFileName(name, tli, seg, wal_segment_size);
		snprintf(path, sizeof(path), XLOGDIR "/%s", name);
		fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
		if (fd < 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not open WAL segment \"%s\" for the backup: %m", path)));
		object = repoBackupWalPath(id, name);
		ow = repoObjectWriteBeginParam(repo, object, key, &param, &err);
		backupCheck(ow != NULL, &err);
		for (;;)
		{
			ssize_t		n = read(fd, buffer, 1024 * 1024);

			if (n < 0)
			{
				repoObjectWriteAbort(ow);
				ereport(ERROR,
						(errcode_for_file_access(),
						 errmsg("could not read WAL segment \"%s\": %m", path)));
			}
			if (n == 0)
				break;
			if (!repoObjectWrite(ow, buffer, n, &err))
			{
				repoObjectWriteAbort(ow);
				drEreport(ERROR, &err);
			}
			total += n;
		}
		CloseTransientFile(fd);
		if (total != (uint64) wal_segment_size)
		{
			repoObjectWriteAbort(ow);
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("WAL segment \"%s\" has " UINT64_FORMAT " bytes, expected %d",
							path, total, wal_segment_size)));
		}
		ended = repoObjectWriteEnd(ow, &codec, &err);
		backupCheck(ended, &err);

		strlcpy(wal[count].name, name, sizeof(wal[count].name));
		wal[count].size = total;
		memcpy(wal[count].sha256, codec.sha256, CODEC_SHA256_SIZE);
		summary->storedBytes += codec.storedSize;
		count++;
		pfree(object);
	}
	pfree(buffer);
	*walOut = wal;
	return count;
}

static void
backupRemoveTemp(BackupContext *ctx)
{
	if (ctx->listPath[0])
		(void) unlink(ctx->listPath);
	if (ctx->indexPath[0])
		(void) unlink(ctx->indexPath);
	if (ctx->listPath[0])
		backupChainRemove(ctx->listPath);
	if (ctx->resultPrefix[0])
	{
		for (int i = 0; i < BACKUP_WORKERS_MAX; i++)
		{
			char		path[MAXPGPATH];

			snprintf(path, sizeof(path), "%s.%d", ctx->resultPrefix, i);
			(void) unlink(path);
			snprintf(path, sizeof(path), "%s.%d.parts", ctx->resultPrefix, i);
			(void) unlink(path);
		}
	}
}

/* Error, cancel and FATAL cleanup (see the file header). */
static void
backupCleanup(int code, Datum arg)
{
	BackupContext *ctx = (BackupContext *) DatumGetPointer(arg);

	if (ctx->shared)
		pg_atomic_write_u32(&ctx->shared->abort, 1);
	/* storage handles hold plain file descriptors: close them */
	if (ctx->parent)
	{
		repoBackupManifestClose(ctx->parent);
		ctx->parent = NULL;
	}
	storageBatchAbort(ctx->batch);
	ctx->batch = NULL;
	for (int i = 0; i < ctx->launched; i++)
		TerminateBackgroundWorker(ctx->handles[i]);
	/* best effort: a lock left behind expires (repo_lock.h) */
	if (ctx->lock)
	{
		DrError		err;

		(void) repoLockRelease(ctx->lock, &err);
		ctx->lock = NULL;
	}
	if (get_backup_status() == SESSION_BACKUP_RUNNING)
		do_pg_abort_backup(code, BoolGetDatum(false));
	if (ctx->slotCreated && MyReplicationSlot != NULL)
	{
		ReplicationSlotRelease();
		ReplicationSlotCleanup();
		ctx->slotCreated = false;
	}
	backupRemoveTemp(ctx);
	backupProgressEnd();
}

/* The largest files, by size descending: the order of their claims. */
static int
bigOrderCompare(const void *a, const void *b, void *arg)
{
	const BackupBig *big = arg;
	const BackupBig *x = &big[*(const uint32 *) a];
	const BackupBig *y = &big[*(const uint32 *) b];

	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static void
backupBigShare(BackupShared *shared, const BackupListing *listing)
{
	shared->bigCount = listing->bigCount;
	for (int i = 0; i < listing->bigCount; i++)
	{
		shared->bigIndex[i] = listing->big[i].index;
		shared->bigParts[i] = listing->big[i].parts;
		shared->bigOrder[i] = i;
	}
	qsort_arg(shared->bigOrder, listing->bigCount, sizeof(uint32),
			  bigOrderCompare, (void *) listing->big);
	/* the units of each, in claim order: its parts, or the whole file */
	shared->bigUnits[0] = 0;
	for (int i = 0; i < listing->bigCount; i++)
		shared->bigUnits[i + 1] = shared->bigUnits[i] +
			Max(shared->bigParts[shared->bigOrder[i]], 1);
}

static void
backupWorkersLaunch(BackupContext *ctx, int nworkers)
{
	for (int i = 0; i < nworkers; i++)
	{
		BackgroundWorker worker;

		memset(&worker, 0, sizeof(worker));
		worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
		worker.bgw_start_time = BgWorkerStart_ConsistentState;
		worker.bgw_restart_time = BGW_NEVER_RESTART;
		snprintf(worker.bgw_library_name, BGW_MAXLEN, "pg_dr");
		snprintf(worker.bgw_function_name, BGW_MAXLEN, "pg_dr_backup_worker_main");
		snprintf(worker.bgw_name, BGW_MAXLEN, "pg_dr backup worker %d for %s",
				 i, ctx->backupId);
		snprintf(worker.bgw_type, BGW_MAXLEN, "pg_dr backup worker");
		worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(ctx->segment));
		memcpy(worker.bgw_extra, &i, sizeof(int));
		worker.bgw_notify_pid = MyProcPid;

		if (!RegisterDynamicBackgroundWorker(&worker, &ctx->handles[ctx->launched]))
			break;
		ctx->launched++;
	}
	if (ctx->launched == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not start any backup worker"),
				 errhint("Raise max_worker_processes, or lower pg_dr.backup_workers.")));
	if (ctx->launched < nworkers)
		ereport(NOTICE,
				(errmsg("started %d of %d backup workers", ctx->launched, nworkers),
				 errhint("Raise max_worker_processes to run them all.")));
}

static void
backupWorkersWait(BackupContext *ctx)
{
	BackupShared *shared = ctx->shared;

	/*
	 * What WaitForBackgroundWorkerShutdown() does, but waking up every
	 * BACKUP_WAIT_MS to renew the backup's lock.
	 */
	for (int i = 0; i < ctx->launched; i++)
	{
		for (;;)
		{
			pid_t		pid;
			BgwHandleStatus status = GetBackgroundWorkerPid(ctx->handles[i], &pid);
			int			rc;

			if (status == BGWH_STOPPED)
				break;
			if (status == BGWH_POSTMASTER_DIED)
				ereport(FATAL,
						(errcode(ERRCODE_ADMIN_SHUTDOWN),
						 errmsg("postmaster exited during a backup")));
			rc = WaitLatch(MyLatch,
						   WL_LATCH_SET | WL_TIMEOUT | WL_POSTMASTER_DEATH,
						   BACKUP_WAIT_MS, WAIT_EVENT_BGWORKER_SHUTDOWN);
			if (rc & WL_POSTMASTER_DEATH)
				ereport(FATAL,
						(errcode(ERRCODE_ADMIN_SHUTDOWN),
						 errmsg("postmaster exited during a backup")));
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
			backupHeartbeat(ctx, false);
		}
	}
	pg_read_barrier();
	for (int i = 0; i < ctx->launched; i++)
	{
		uint32		state = pg_atomic_read_u32(&shared->worker[i].state);

		if (state == BACKUP_WORKER_FAILED)
			ereport(ERROR,
					(errcode(shared->worker[i].sqlerrcode ? shared->worker[i].sqlerrcode
							 : ERRCODE_INTERNAL_ERROR),
					 errmsg("backup worker %d failed: %s", i, shared->worker[i].error)));
		if (state != BACKUP_WORKER_DONE)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("backup worker %d ended without finishing its files", i)));
	}
	if (pg_atomic_read_u64(&shared->nextFile) < shared->fileCount)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("backup workers left files unstored")));
}

static int
dirCompare(const void *a, const void *b)
{
	return strcmp(((const ManifestDir *) a)->path, ((const ManifestDir *) b)->path);
}

static int
partResultCompare(const void *a, const void *b)
{
	const BackupPartResult *x = a;
	const BackupPartResult *y = b;

	if (x->index != y->index)
		return x->index < y->index ? -1 : 1;
	return x->part < y->part ? -1 : x->part > y->part;
}

/*
 * Every worker's part results, sorted by file and part; palloc'd (huge:
 * one record per part of every file in parts).
 */
static BackupPartResult *
backupPartResultsLoad(BackupContext *ctx, uint64 *count)
{
	BackupPartResult *all = NULL;
	uint64		used = 0;
	uint64		size = 0;

	for (int i = 0; i < ctx->launched; i++)
	{
		char		path[MAXPGPATH];
		FILE	   *file;
		BackupPartResult one;

		snprintf(path, sizeof(path), "%s.%d.parts", ctx->resultPrefix, i);
		file = AllocateFile(path, PG_BINARY_R);
		if (file == NULL)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not open file \"%s\": %m", path)));
		while (fread(&one, sizeof(one), 1, file) == 1)
		{
			if (used == size)
			{
				size = size ? size * 2 : 1024;
				all = all ? repalloc_huge(all, size * sizeof(one)) :
					MemoryContextAllocHuge(CurrentMemoryContext, size * sizeof(one));
			}
			all[used++] = one;
		}
		if (ferror(file))
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read file \"%s\": %m", path)));
		FreeFile(file);
	}
	if (used > 1)
		qsort(all, used, sizeof(BackupPartResult), partResultCompare);
	*count = used;
	return all;
}

/*
 * The manifest entry of a file stored in parts, from its parts' results
 * (next, at *pos, in the sorted array): false when the file vanished while
 * a part was read (it is then left out, like a file that vanished whole).
 */
static bool
backupPartsFile(BackupShared *shared, const BackupListEntry *entry,
				uint64 index, const BackupPartResult *parts, uint64 count,
				uint64 *pos, ManifestFile *file)
{
	pg_cryptohash_ctx *sha;
	bool		vanished = false;

	file->store = MANIFEST_STORE_FULL;
	file->mode = entry->mode;
	file->parts = entry->parts;
	sha = pg_cryptohash_create(PG_SHA256);
	if (sha == NULL || pg_cryptohash_init(sha) < 0)
		elog(ERROR, "could not initialize SHA-256");
	for (uint32 k = 0; k < entry->parts; k++)
	{
		const BackupPartResult *part;

		if (*pos >= count || parts[*pos].index != index || parts[*pos].part != k)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("no backup worker stored part %u of file " UINT64_FORMAT " of the list",
							k, index)));
		part = &parts[(*pos)++];
		if (part->kind == BACKUP_RESULT_VANISHED)
		{
			vanished = true;
			continue;
		}
		if (k + 1 < entry->parts && part->size != shared->partSize)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("part %u of file " UINT64_FORMAT " of the list has " UINT64_FORMAT " bytes, not the part size",
							k, index, part->size)));
		if (k + 1 == entry->parts)
			file->size = (uint64) k * shared->partSize + part->size;
		file->mtime = Max(file->mtime, part->mtime);
		file->objectSize += part->objectSize;
		file->corrupt += part->corrupt;
		if (pg_cryptohash_update(sha, part->sha256, CODEC_SHA256_SIZE) < 0)
			elog(ERROR, "could not compute SHA-256");
	}
	if (pg_cryptohash_final(sha, file->sha256, CODEC_SHA256_SIZE) < 0)
		elog(ERROR, "could not compute SHA-256");
	pg_cryptohash_free(sha);
	return !vanished;
}

/*
 * The file lines of the manifest: list entries in order, each with its
 * worker's result (merged from the sorted results files) or, for a file
 * in parts, its parts' results; and the files the leader stored itself
 * (backup_label, tablespace_map) at their place.
 */
static void
backupManifestFiles(BackupContext *ctx, ManifestWriter *writer,
					ManifestFile *extra, int extraCount, BackupSummary *summary)
{
	BackupShared *shared = ctx->shared;
	FILE	   *results[BACKUP_WORKERS_MAX];
	BackupResult head[BACKUP_WORKERS_MAX];
	bool		have[BACKUP_WORKERS_MAX];
	BackupPartResult *parts;
	uint64		partCount;
	uint64		partPos = 0;
	int			listFd;
	int			indexFd;
	int			nextExtra = 0;
	DrError		err;
	MemoryContext lineContext;

	listFd = OpenTransientFile(ctx->listPath, O_RDONLY | PG_BINARY);
	indexFd = OpenTransientFile(ctx->indexPath, O_RDONLY | PG_BINARY);
	if (listFd < 0 || indexFd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open the backup file list: %m")));
	for (int i = 0; i < ctx->launched; i++)
	{
		char		path[MAXPGPATH];

		snprintf(path, sizeof(path), "%s.%d", ctx->resultPrefix, i);
		results[i] = AllocateFile(path, PG_BINARY_R);
		if (results[i] == NULL)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not open file \"%s\": %m", path)));
		have[i] = fread(&head[i], sizeof(BackupResult), 1, results[i]) == 1;
	}
	parts = backupPartResultsLoad(ctx, &partCount);

	lineContext = AllocSetContextCreate(CurrentMemoryContext, "pg_dr manifest line",
										ALLOCSET_DEFAULT_SIZES);
	for (uint64 index = 0; index < shared->fileCount; index++)
	{
		MemoryContext old;
		BackupListEntry entry;
		BackupResult *result = NULL;
		ManifestFile file;
		char	   *path;
		int			big;
		bool		stored;

		/* a manifest of millions of files takes a while */
		if (index % 1024 == 0)
			backupHeartbeat(ctx, false);
		old = MemoryContextSwitchTo(lineContext);
		if (!backupListRead(indexFd, listFd, index, &entry, &path))
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read the backup file list: %m")));

		while (nextExtra < extraCount && strcmp(extra[nextExtra].path, path) < 0)
		{
			backupCheck(manifestWriteFile(writer, &extra[nextExtra], &err), &err);
			summary->dataBytes += extra[nextExtra].size;
			summary->storedBytes += extra[nextExtra].objectSize;
			summary->files++;
			nextExtra++;
		}

		memset(&file, 0, sizeof(file));
		file.path = path;
		if (entry.parts > 0)
			stored = backupPartsFile(shared, &entry, index, parts, partCount,
									 &partPos, &file);
		else
		{
			big = backupBigFind(shared, index);
			if (big >= 0)
			{
				if (shared->bigResults[big].kind != 0)
					result = &shared->bigResults[big];
			}
			else
			{
				for (int i = 0; i < ctx->launched; i++)
					if (have[i] && head[i].index == index)
					{
						result = &head[i];
						break;
					}
			}
			if (result == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INTERNAL_ERROR),
						 errmsg("no backup worker stored file " UINT64_FORMAT " of the list", index)));
			stored = result->kind == BACKUP_RESULT_STORED;
			file.size = result->size;
			file.mode = result->mode;
			file.mtime = result->mtime;
			memcpy(file.sha256, result->sha256, CODEC_SHA256_SIZE);
			file.store = result->store;
			file.objectSize = result->objectSize;
			file.blocks = result->blocks;
			file.corrupt = result->corrupt;
			file.bundled = result->bundled != 0;
			file.bundle = result->bundle;
			file.bundleOffset = result->bundleOffset;

			/* advance that worker's results file */
			for (int i = 0; i < ctx->launched; i++)
				if (result == &head[i])
					have[i] = fread(&head[i], sizeof(BackupResult), 1, results[i]) == 1;
		}

		if (stored)
		{
			backupCheck(manifestWriteFile(writer, &file, &err), &err);
			summary->dataBytes += file.size;
			summary->storedBytes += file.objectSize;
			summary->pagesChanged += file.blocks;
			summary->corruptPages += file.corrupt;
			/* a file in parts is read whole, by its parts */
			summary->bytesRead += result ? result->bytesRead : file.size;
			summary->files++;
		}

		MemoryContextSwitchTo(old);
		MemoryContextReset(lineContext);
	}
	for (; nextExtra < extraCount; nextExtra++)
	{
		backupCheck(manifestWriteFile(writer, &extra[nextExtra], &err), &err);
		summary->dataBytes += extra[nextExtra].size;
		summary->storedBytes += extra[nextExtra].objectSize;
		summary->files++;
	}

	for (int i = 0; i < ctx->launched; i++)
		FreeFile(results[i]);
	if (parts)
		pfree(parts);
	CloseTransientFile(listFd);
	CloseTransientFile(indexFd);
	MemoryContextDelete(lineContext);
}

/*
 * Write the manifest: the instant its object is complete, the backup
 * exists; on any error before that, the object is abandoned unseen.
 */
static void
backupManifestWrite(BackupContext *ctx, Repo *repo, const CodecDataKey *key,
					BackupListing *listing, ManifestFile *extra, int extraCount,
					ManifestWal *wal, int walCount, BackupSummary *summary)
{
	ManifestHeader *h = &summary->header;
	ManifestWriter *writer;
	RepoObjectWrite *manifestObject;
	DrError		err;
	char	   *manifestPath;
	bool		ended;

	manifestPath = repoBackupManifestPath(ctx->backupId);
	manifestObject = repoObjectWriteBegin(repo, manifestPath, key, &err);
	backupCheck(manifestObject != NULL, &err);
	writer = manifestWriterNew(backupManifestSink, manifestObject);
	PG_TRY();
	{
		backupCheck(manifestWriteHeader(writer, h, &err), &err);
		for (int i = 0; i < listing->tablespaceCount; i++)
			backupCheck(manifestWriteTablespace(writer, &listing->tablespaces[i], &err),
						&err);
		if (listing->dirCount > 1)
			qsort(listing->dirs, listing->dirCount, sizeof(ManifestDir), dirCompare);
		for (int i = 0; i < listing->dirCount; i++)
			backupCheck(manifestWriteDir(writer, &listing->dirs[i], &err), &err);
		backupManifestFiles(ctx, writer, extra, extraCount, summary);
		for (int i = 0; i < walCount; i++)
			backupCheck(manifestWriteWal(writer, &wal[i], &err), &err);
		backupCheck(manifestWriterEnd(writer, &err), &err);
	}
	PG_CATCH();
	{
		repoObjectWriteAbort(manifestObject);
		PG_RE_THROW();
	}
	PG_END_TRY();
	/* the instant the backup comes into existence */
	ended = repoObjectWriteEnd(manifestObject, NULL, &err);
	backupCheck(ended, &err);
}

/* ERROR when the parent's manifest is gone. */
static void
backupParentCheck(Repo *repo, const char *parentId, const char *backupId)
{
	char	   *path = repoBackupManifestPath(parentId);
	bool		exists;
	DrError		err;

	drErrorClear(&err);
	backupCheck(storageExists(repoStorage(repo), path, &exists, &err), &err);
	pfree(path);
	if (!exists)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("parent backup %s was removed while backup %s was taken",
						parentId, backupId),
				 errhint("Take the incremental backup again; pg_dr expire must not remove a backup that a running one is based on.")));
}

/*
 * What do_pg_backup_stop() does with waitforarchive, but renewing the
 * backup's lock while it waits: until the archiver has stored the stop
 * segment and the backup history file.  Waiting inside
 * do_pg_backup_stop() would stop the heartbeats, and a broken archive
 * could then cost the backup its lock (repo_lock.h).
 */
static void
backupArchiveWait(BackupContext *ctx, XLogRecPtr startLsn, XLogRecPtr stopLsn,
				  TimeLineID tli)
{
	XLogSegNo	segno;
	char		last[MAXFNAMELEN];
	char		history[MAXFNAMELEN];
	int			waitedMs = 0;
	int			warnAt = 60;

	XLByteToPrevSeg(stopLsn, segno, wal_segment_size);
	XLogFileName(last, tli, segno, wal_segment_size);
	XLByteToSeg(startLsn, segno, wal_segment_size);
	BackupHistoryFileName(history, tli, segno, startLsn, wal_segment_size);

	while (XLogArchiveIsBusy(last) || XLogArchiveIsBusy(history))
	{
		CHECK_FOR_INTERRUPTS();
		backupHeartbeat(ctx, false);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 BACKUP_ARCHIVE_POLL_MS, WAIT_EVENT_BACKUP_WAIT_WAL_ARCHIVE);
		ResetLatch(MyLatch);
		waitedMs += BACKUP_ARCHIVE_POLL_MS;
		if (waitedMs >= warnAt * 1000)
		{
			warnAt *= 2;
			ereport(WARNING,
					(errmsg("still waiting for all required WAL segments to be archived (%d seconds elapsed)",
							waitedMs / 1000),
					 errhint("Check that archiving works (SELECT * FROM dr_archive_status).  You can cancel this backup safely; it is not usable without that WAL.")));
		}
	}
}

/*
 * Can the backup leave its WAL to the archive?  Only when pg_dr.backup_wal
 * is auto, pg_dr itself is the archive module (so the WAL goes to the
 * repository the backup is in), and the archiver's last attempt succeeded.
 * Otherwise the backup stays self-contained.
 */
static bool
backupWalFromArchive(void)
{
	PgStat_ArchiverStats *archiver;

	if (drBackupWal != DR_BACKUP_WAL_AUTO || !XLogArchivingActive() ||
		XLogArchiveLibrary == NULL || strcmp(XLogArchiveLibrary, "pg_dr") != 0)
		return false;
	archiver = pgstat_fetch_stat_archiver();
	return archiver->last_archived_timestamp != 0 &&
		archiver->last_failed_timestamp <= archiver->last_archived_timestamp;
}

/*
 * What crashed writers left in the repository goes when a backup starts,
 * not only with an expire (repo/repo_leftover.h: never what a live writer
 * holds, never this backup).  A failure is a WARNING: the backup does not
 * depend on it.
 */
static void
backupLeftoversClean(BackupContext *ctx, Repo *repo)
{
	RepoLeftoverResult result;
	DrError		err;

	if (!repoLeftoversClean(repo, ctx->backupId, (int64) time(NULL), &result,
							&err))
		ereport(WARNING,
				(errmsg("could not remove what crashed writers left in the repository: %s",
						err.message),
				 errdetail("The backup goes on; dr_expire() or the next backup tries again.")));
	if (result.dirsRemoved > 0 || result.tempsRemoved > 0)
		ereport(LOG,
				(errmsg("pg_dr backup %s: removed %d directories of backups that never completed and %d temporary objects left by crashed writers",
						ctx->backupId, result.dirsRemoved, result.tempsRemoved)));
}

/*
 * Everything between taking the lock and releasing it; runs under
 * backupCleanup (see backupRun).
 */
static void
backupTake(BackupContext *ctx, const BackupParam *param, Repo *repo,
		   const ConfigRepo *repoConfigEntry, BackupSummary *summary)
{
	char		parentId[MANIFEST_ID_MAX + 1] = "";
	const CodecDataKey *key;
	DrError		err;
	StringInfo	labelFile = makeStringInfo();
	StringInfo	tablespaceMap = makeStringInfo();
	TimeLineID	startTli;
	TimeLineID	stopTli;
	XLogRecPtr	startLsn;
	XLogRecPtr	stopLsn;
	BackupListing listing;
	BackupShared *shared;
	ManifestHeader *h = &summary->header;
	ManifestFile extra[2];
	int			extraCount = 0;
	ManifestWal *wal;
	int			walCount;
	int			nworkers = Min(drBackupWorkers, BACKUP_WORKERS_MAX);
	bool		walFromArchive;
	uint64		partSize;

	/* the parent (under backupCleanup: its manifest is an open file) */
	if (param->incremental)
	{
		if (param->parentId)
		{
			char		shown[DR_ERROR_VALUE_BUF];

			if (!manifestBackupIdValid(param->parentId))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("\"%s\" is not a backup id",
								drErrorValue(param->parentId, shown)),
						 errhint("Backup ids look like 20261126-050100F; SELECT backup_id FROM dr_backups lists them.")));
			strlcpy(parentId, param->parentId, sizeof(parentId));
		}
		else
		{
			char	   *latest = repoBackupLatest(repo, &err);

			if (latest == NULL && err.code == DR_ERR_NOT_FOUND)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("there is no backup to base an incremental backup on"),
						 errhint("Take a full backup first: SELECT dr_backup_full();")));
			backupCheck(latest != NULL, &err);
			strlcpy(parentId, latest, sizeof(parentId));
		}
		/* from here on dr_expire() keeps it; opening it below checks it */
		backupProgressParent(parentId);
		ctx->parent = repoBackupManifestOpen(repo, parentId, &err);
		if (ctx->parent == NULL && err.code == DR_ERR_NOT_FOUND)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("backup \"%s\" does not exist in repository \"%s\"",
							parentId, repoConfigEntry->path),
					 errhint("SELECT backup_id FROM dr_backups lists the backups.")));
		backupCheck(ctx->parent != NULL, &err);
		ctx->parentHeader = *repoBackupManifestHeader(ctx->parent);
		if (ctx->parentHeader.systemIdentifier != GetSystemIdentifier())
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("backup \"%s\" is of another cluster", parentId),
					 errdetail("Its system identifier is " UINT64_FORMAT "; this cluster's is " UINT64_FORMAT ".",
							   ctx->parentHeader.systemIdentifier, GetSystemIdentifier())));
	}

	/*
	 * The lock in the repository, before any object of the backup: from
	 * here on no expire removes backup/<id>/ or the parent's chain.
	 */
	ctx->lock = repoLockAcquire(repo, ctx->backupId, parentId,
								(int64) time(NULL), &err);
	backupCheck(ctx->lock != NULL, &err);

	backupLeftoversClean(ctx, repo);

	drTestPause("backup-key-new");
	backupCheck(repoDataKeyNew(repo, &key, &err), &err);

	/* keep every WAL segment from here on until the backup has it */
	CheckSlotRequirements();
	snprintf(ctx->slotName, sizeof(ctx->slotName), "pg_dr_backup_%d", MyProcPid);
	ReplicationSlotCreate(ctx->slotName, false, RS_TEMPORARY, false);
	ctx->slotCreated = true;
	ReplicationSlotReserveWal();

	h->startTime = (int64) time(NULL);
	startLsn = do_pg_backup_start(param->label ? param->label : ctx->backupId,
								  true, &startTli, labelFile, NULL, tablespaceMap);

	/* list the files, merged with the parent's manifest */
	backupProgressPhase("listing");
	if (MakePGDirectory(BACKUP_TMP_DIR) < 0 && errno != EEXIST)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m", BACKUP_TMP_DIR)));
	snprintf(ctx->listPath, MAXPGPATH, "%s/%s.%d.list", BACKUP_TMP_DIR,
			 BACKUP_TMP_PREFIX, MyProcPid);
	snprintf(ctx->indexPath, MAXPGPATH, "%s/%s.%d.index", BACKUP_TMP_DIR,
			 BACKUP_TMP_PREFIX, MyProcPid);
	snprintf(ctx->resultPrefix, MAXPGPATH, "%s/%s.%d.result", BACKUP_TMP_DIR,
			 BACKUP_TMP_PREFIX, MyProcPid);
	partSize = (uint64) drBackupPartSize * 1024;
	backupListWrite(ctx->listPath, ctx->indexPath, tablespaceMap->data,
					ctx->parent ? repoBackupManifestReader(ctx->parent) : NULL,
					partSize, &listing);
	if (ctx->parent)
	{
		repoBackupManifestClose(ctx->parent);
		ctx->parent = NULL;
	}
	pg_atomic_write_u64(&backupProgress->filesTotal, listing.fileCount);
	pg_atomic_write_u64(&backupProgress->bytesTotal, listing.totalBytes);

	/* the workers */
	ctx->segment = dsm_create(sizeof(BackupShared), 0);
	shared = ctx->shared = dsm_segment_address(ctx->segment);
	memset(shared, 0, sizeof(BackupShared));
	strlcpy(shared->backupId, ctx->backupId, sizeof(shared->backupId));
	strlcpy(shared->configFile, param->configFile, sizeof(shared->configFile));
	shared->repoIndex = repoConfigEntry->index;
	shared->hasKey = (key != NULL);
	if (key)
		memcpy(shared->keyId, key->id, CODEC_KEY_ID_SIZE);
	shared->incremental = param->incremental;
	strlcpy(shared->parentId, parentId, sizeof(shared->parentId));
	shared->parentStartLsn = param->incremental ? ctx->parentHeader.startLsn : 0;
	shared->parentPartSize = param->incremental ? ctx->parentHeader.partSize : 0;
	shared->partSize = partSize;
	shared->startLsn = startLsn;
	shared->dataChecksums = DataChecksumsEnabled();
	strlcpy(shared->listPath, ctx->listPath, MAXPGPATH);
	strlcpy(shared->indexPath, ctx->indexPath, MAXPGPATH);
	strlcpy(shared->resultPrefix, ctx->resultPrefix, MAXPGPATH);
	shared->fileCount = listing.fileCount;
	shared->nworkers = nworkers;
	shared->maxRateKb = drBackupMaxRate;
	shared->bundleLimit = (uint64) drBackupBundleLimit * 1024;
	backupBigShare(shared, &listing);
	/* an incremental reads the blocks the WAL since the parent touched */
	if (param->incremental)
		shared->walSummary = backupWalSummaryPrepare(repo, key, ctx->backupId,
													 &ctx->parentHeader,
													 startLsn, startTli);
	pg_atomic_init_u64(&shared->nextBig, 0);
	pg_atomic_init_u64(&shared->nextFile, 0);
	pg_atomic_init_u32(&shared->abort, 0);
	pg_atomic_init_u32(&shared->nextBundle, 0);
	for (int i = 0; i < BACKUP_WORKERS_MAX; i++)
		pg_atomic_init_u32(&shared->worker[i].state, BACKUP_WORKER_STARTING);
	/* where each file's pages are in the parent's chain */
	if (param->incremental)
		backupChainWrite(repo, shared);

	backupProgressPhase("copying");
	/* begun before any object of the backup is written (storage.h) */
	ctx->batch = storageBatchBegin(repoStorage(repo), &err);
	backupCheck(ctx->batch != NULL, &err);
	backupWorkersLaunch(ctx, nworkers);
	backupWorkersWait(ctx);

	/*
	 * Stop: this switches WAL, so the stop segment is complete.  When pg_dr
	 * archives reliably, the backup does not store WAL of its own: it waits
	 * until the archive holds the stop segment, and restores fetch the WAL
	 * from the archive like any other.
	 */
	backupProgressPhase("stopping");
	walFromArchive = backupWalFromArchive();
	stopLsn = do_pg_backup_stop(labelFile->data, false, &stopTli);
	if (walFromArchive)
		backupArchiveWait(ctx, startLsn, stopLsn, stopTli);
	h->stopTime = (int64) time(NULL);
	if (stopTli != startTli)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the timeline changed from %u to %u during the backup",
						startTli, stopTli)));

	backupStoreBuffer(repo, key, ctx->backupId, BACKUP_LABEL_FILE,
					  labelFile->data, &extra[extraCount++]);
	if (tablespaceMap->len > 0)
		backupStoreBuffer(repo, key, ctx->backupId, TABLESPACE_MAP,
						  tablespaceMap->data, &extra[extraCount++]);
	if (extraCount == 2 && strcmp(extra[0].path, extra[1].path) > 0)
	{
		ManifestFile swap = extra[0];

		extra[0] = extra[1];
		extra[1] = swap;
	}

	backupProgressPhase("wal");
	if (walFromArchive)
	{
		wal = NULL;
		walCount = 0;
	}
	else
		walCount = backupStoreWal(ctx, repo, key, ctx->backupId, startLsn,
								  stopLsn, startTli, &wal, summary);

	ReplicationSlotRelease();
	ReplicationSlotDrop(ctx->slotName, true);
	ctx->slotCreated = false;

	/*
	 * The parent must still be there: pg_dr expire (the CLI) cannot see
	 * that this backup runs on top of it.
	 */
	if (param->incremental)
		backupParentCheck(repo, parentId, ctx->backupId);

	/* every object durable, then the manifest, last */
	backupProgressPhase("manifest");
	{
		StorageBatch *batch = ctx->batch;

		ctx->batch = NULL;
		backupCheck(storageBatchEnd(batch, &err), &err);
	}
	strlcpy(h->backupId, ctx->backupId, sizeof(h->backupId));
	h->incremental = param->incremental;
	strlcpy(h->parentId, parentId, sizeof(h->parentId));
	h->label = param->label ? pstrdup(param->label) : NULL;
	h->timeline = startTli;
	h->startLsn = startLsn;
	h->stopLsn = stopLsn;
	h->systemIdentifier = GetSystemIdentifier();
	h->pgVersion = PG_VERSION_NUM;
	h->hasKey = (key != NULL);
	if (key)
		memcpy(h->keyId, key->id, CODEC_KEY_ID_SIZE);
	h->dataChecksums = shared->dataChecksums;
	h->blockSize = BLCKSZ;
	h->segmentSize = wal_segment_size;
	h->partSize = partSize;

	/*
	 * A heartbeat right before the manifest: either an expire that found
	 * the lock expired sees it, or this finds the lock gone and fails
	 * (repo_lock.h); never a manifest over a removed directory.
	 */
	backupHeartbeat(ctx, true);
	backupManifestWrite(ctx, repo, key, &listing, extra, extraCount, wal,
						walCount, summary);

	/* the manifest protects the backup from here on */
	{
		RepoLock   *lock = ctx->lock;

		ctx->lock = NULL;
		if (!repoLockRelease(lock, &err))
			ereport(WARNING,
					(errmsg("could not remove the lock of backup %s: %s",
							ctx->backupId, err.message),
					 errdetail("The backup is complete; the lock object is of no consequence.")));
	}

	summary->bytesReadKnown = true;
	backupCatalogInsert(summary);
	ereport(LOG,
			(errmsg("pg_dr: backup %s read " UINT64_FORMAT " bytes of the " UINT64_FORMAT " bytes of the data directory",
					ctx->backupId, summary->bytesRead, listing.totalBytes)));

	backupRemoveTemp(ctx);
	dsm_detach(ctx->segment);
	ctx->segment = NULL;
	ctx->shared = NULL;
	ctx->launched = 0;
	backupProgressEnd();
}

/*
 * Whether the incremental asked for is taken as one (backup_kind.h): false
 * when a full is taken instead, said in a NOTICE and in summary.
 */
static bool
backupKindChoose(const BackupParam *param, Repo *repo, BackupSummary *summary)
{
	BackupKindInput in;
	BackupKindDecision decision;
	char	   *latest = NULL;
	RepoBackupChain *chain = NULL;
	DrError		err;

	memset(&in, 0, sizeof(in));
	in.incremental = param->incremental;
	in.parentGiven = param->parentId != NULL;
	in.strict = param->strict;
	in.chainMax = drBackupChainMax;
	if (!backupKindMayChange(&in))
		return param->incremental;

	latest = repoBackupLatest(repo, &err);
	if (latest == NULL && err.code != DR_ERR_NOT_FOUND)
		backupCheck(false, &err);	/* cannot list: not a reason for a full */
	if (latest != NULL)
	{
		in.latestFound = true;
		in.latestId = latest;
		chain = repoBackupChain(repo, latest, &err);
		if (chain == NULL && err.code != DR_ERR_NOT_FOUND &&
			err.code != DR_ERR_CORRUPT)
			backupCheck(false, &err);	/* I/O: fail, do not guess */
		in.latestChainOk = chain != NULL;
		in.latestChainError = chain == NULL ? err.message : NULL;
		if (chain != NULL)
		{
			in.latestSameCluster =
				chain->headers[0].systemIdentifier == GetSystemIdentifier();
			in.latestChainLength = chain->count;
		}
	}
	backupKindDecide(&in, &decision);
	if (chain != NULL)
		repoBackupChainFree(chain);
	if (latest != NULL)
		pfree(latest);
	if (!decision.fullInstead)
		return true;

	summary->fullInstead = true;
	strlcpy(summary->fullInsteadReason, decision.reason,
			sizeof(summary->fullInsteadReason));
	ereport(NOTICE,
			(errmsg("taking a full backup instead of an incremental one"),
			 errdetail("%s.", decision.reason),
			 errhint("dr_backup_incremental(strict => true) never takes a full backup instead.")));
	return false;
}

char *
backupRun(const BackupParam *param, BackupSummary *summary)
{
	BackupContext *ctx;
	BackupParam *taken;			/* param, the kind as decided */
	const ConfigRepo *repoConfigEntry;
	Repo	   *repo;
	DrError		err;
	int			holderPid;
	char		holderId[MANIFEST_ID_MAX + 1];

	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_dr takes backups on the primary only"),
				 errhint("Run the backup on the primary server.")));

	/* the catch-up duty copies it to the other repositories (ops/catchup.c) */
	repoConfigEntry = configRepoFirstRequired(param->config, &err);
	backupCheck(repoConfigEntry != NULL, &err);
	repo = repoOpen(repoConfigEntry, &err);
	backupCheck(repo != NULL, &err);

	ctx = palloc0(sizeof(BackupContext));
	memset(summary, 0, sizeof(*summary));

	/* an incremental with nothing valid to build on is taken as a full */
	taken = palloc(sizeof(BackupParam));
	*taken = *param;
	taken->incremental = backupKindChoose(param, repo, summary);

	backupIdChoose(repo, taken->incremental, ctx->backupId);
	if (!backupProgressBegin(ctx->backupId, &holderPid, holderId))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("another pg_dr backup is running"),
				 errdetail("Backup %s is being taken by the process with PID %d.",
						   holderId, holderPid),
				 errhint("Wait for it to finish, or cancel it with pg_cancel_backend(%d).",
						 holderPid)));

	PG_ENSURE_ERROR_CLEANUP(backupCleanup, PointerGetDatum(ctx));
	{
		backupTake(ctx, taken, repo, repoConfigEntry, summary);
	}
	PG_END_ENSURE_ERROR_CLEANUP(backupCleanup, PointerGetDatum(ctx));

	repoClose(repo);
	return pstrdup(ctx->backupId);
}
