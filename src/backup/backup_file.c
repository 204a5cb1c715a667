/*-------------------------------------------------------------------------
 * backup_file.c
 *	  Storing one file of a backup: a backup worker's unit of work.
 *
 * A file is stored one of three ways (manifest.h):
 *	 full    the whole content, as one object;
 *	 delta   (incremental, relation files the parent has) only the pages
 *	         whose LSN is newer than the parent's start LSN, new pages and
 *	         pages past the parent's end -- everything older is, by WAL
 *	         rules, exactly what the parent stored (pages changed after this
 *	         backup started are rewritten by WAL replay from full-page
 *	         images anyway).  When the parent stores the file whole, each
 *	         changed page the parent has is stored XORed with the parent's
 *	         copy (delta.h), read from the parent's object as the file is
 *	         read: mostly zeroes, it compresses to a few per cent of the
 *	         page;
 *	 parent  (incremental) nothing: a relation file with no changed page and
 *	         the parent's size, or any other file whose size and SHA-256
 *	         equal the parent's.
 * Deciding "parent" needs the whole file read, so the object is written as
 * the file is read and abandoned (never visible) when it turns out to be
 * unneeded.
 *
 * A file smaller than pg_dr.backup_bundle_limit (when the file is opened)
 * is written as an entry of the worker's bundle instead of an object of
 * its own (backup_internal.h): the same encoded object, kept in memory
 * until it is complete and then appended to the bundle (repo.h), so an
 * entry abandoned because the file is unchanged costs the bundle nothing.
 *
 * Data checksums are verified on every page of every relation file while it
 * is read, when the cluster has them.  A page that fails is read again (a
 * concurrent write may have torn it); a page whose LSN is newer than the
 * backup's start is fine whatever it holds, since WAL replay overwrites
 * it; anything else is counted as corrupt, logged, and stored as read.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cryptohash.h"
#include "miscadmin.h"
#include "storage/bufpage.h"
#include "storage/checksum.h"
#include "storage/fd.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "backup/backup_internal.h"
#include "backup/backup_progress.h"
#include "common/delta.h"
#include "pg_dr.h"
#include "repo/repo.h"
#include "repo/repo_backup.h"

/* pages read at a time */
#define BACKUP_READ_PAGES		128
#define BACKUP_REREADS			5

/* The worker's read buffer (BACKUP_READ_PAGES pages), made on first use. */
static char *fileBuffer = NULL;

/*
 * How a worker writes its objects: visible at once, durable when the
 * leader ends the storage batch just before it writes the manifest (the
 * backup does not exist before that anyway).
 */
static void
fileWriteParam(RepoWriteParam *param, RepoBundle *bundle)
{
	memset(param, 0, sizeof(RepoWriteParam));
	param->deferSync = true;
	param->bundle = bundle;
}

typedef struct FileState
{
	Repo	   *repo;
	BackupShared *shared;
	RepoBundle *bundle;			/* this file goes into it; NULL: standalone */
	const BackupListEntry *entry;
	const char *path;
	int			fd;
	RepoObjectWrite *object;
	pg_cryptohash_ctx *sha;
	char	   *buffer;
	uint32		corrupt;

	/* the parent's copy of the file (delta with a base), read forward */
	RepoObjectRead *base;
	char	   *baseObject;		/* its repository path */
	char	   *baseBuffer;		/* BACKUP_READ_PAGES pages */
	uint64		baseStart;		/* file offset of baseBuffer[0] */
	uint64		baseEnd;		/* end of what baseBuffer holds */
} FileState;

/* Page blockno of the parent's copy; blocks come in ascending order. */
static const char *
fileBasePage(FileState *state, uint32 blockno)
{
	uint64		offset = (uint64) blockno * BLCKSZ;
	DrError		err;

	while (offset + BLCKSZ > state->baseEnd)
	{
		size_t		fill = 0;

		/* the next buffer: from the page wanted, or where the last ended */
		state->baseStart = state->baseEnd;
		while (fill < BACKUP_READ_PAGES * BLCKSZ)
		{
			ssize_t		n = repoObjectRead(state->base, state->baseBuffer + fill,
										   BACKUP_READ_PAGES * BLCKSZ - fill, &err);

			if (n < 0)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("could not read the parent's copy of \"%s\" (%s): %s",
								state->path, state->baseObject, err.message),
						 errhint("Check the parent backup with pg_dr verify; take a full backup instead.")));
			if (n == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("the parent's copy of \"%s\" (%s) ends at " UINT64_FORMAT " bytes, before page %u",
								state->path, state->baseObject,
								state->baseStart + fill, blockno),
						 errhint("Check the parent backup with pg_dr verify; take a full backup instead.")));
			fill += n;
			if (state->baseStart + fill >= offset + BLCKSZ)
				break;
		}
		state->baseEnd = state->baseStart + fill;
	}
	return state->baseBuffer + (offset - state->baseStart);
}

static void
fileCheckAbort(FileState *state)
{
	if (pg_atomic_read_u32(&state->shared->abort) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("backup %s was cancelled", state->shared->backupId)));
	CHECK_FOR_INTERRUPTS();
}

/*
 * pg_dr.backup_max_rate: each of the n workers keeps to 1/n of the rate,
 * measured from its first byte.  The sleep waits on the latch, so that
 * termination is not delayed.
 */
static void
fileThrottle(FileState *state, size_t bytes)
{
	static TimestampTz start = 0;
	static uint64 done = 0;
	BackupShared *shared = state->shared;
	double		rate;
	long		aheadMs;

	if (shared->maxRateKb <= 0)
		return;
	if (start == 0)
		start = GetCurrentTimestamp();
	done += bytes;
	rate = (double) shared->maxRateKb * 1024.0 / Max(shared->nworkers, 1);
	aheadMs = (long) (done / rate * 1000.0) -
		TimestampDifferenceMilliseconds(start, GetCurrentTimestamp());
	if (aheadMs > 0)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 aheadMs, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	fileCheckAbort(state);
}

static void
fileHash(FileState *state, const void *data, size_t len)
{
	if (pg_cryptohash_update(state->sha, data, len) < 0)
		elog(ERROR, "could not compute SHA-256 of \"%s\"", state->path);
}

static bool
fileObjectWrite(void *arg, const void *buf, size_t len, DrError *err)
{
	return repoObjectWrite((RepoObjectWrite *) arg, buf, len, err);
}

static void
fileObjectCheck(bool ok, DrError *err)
{
	if (!ok)
		drEreport(ERROR, err);
}

static bool
pageAllZero(const char *page)
{
	const size_t *words = (const size_t *) page;

	for (size_t i = 0; i < BLCKSZ / sizeof(size_t); i++)
		if (words[i] != 0)
			return false;
	return true;
}

/* A page passes when it is new and all zero, or its checksum matches. */
static bool
pageValid(char *page, BlockNumber blkno)
{
	if (PageIsNew((Page) page))
		return pageAllZero(page);
	return pg_checksum_page(page, blkno) == ((PageHeader) page)->pd_checksum;
}

/*
 * Verify page i of the chunk just read (file block "block"); re-read it
 * from the file when it fails, keeping the re-read copy.
 */
static void
fileVerifyPage(FileState *state, char *page, uint32 block)
{
	BlockNumber blkno = state->entry->segno * RELSEG_SIZE + block;
	int			attempt;

	if (pageValid(page, blkno))
		return;

	for (attempt = 0; attempt < BACKUP_REREADS; attempt++)
	{
		ssize_t		n;

		pg_usleep(10000L);
		n = pg_pread(state->fd, page, BLCKSZ, (off_t) block * BLCKSZ);
		if (n != BLCKSZ)
			return;				/* truncated meanwhile: WAL replay covers it */
		if (PageGetLSN((Page) page) > state->shared->startLsn)
			return;				/* written since the backup began: replayed */
		if (pageValid(page, blkno))
			return;
	}
	state->corrupt++;
	ereport(WARNING,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("checksum verification failed in file \"%s\", block %u",
					state->path, block),
			 errdetail("The page is stored as read; backup %s records it as corrupt.",
					   state->shared->backupId)));
}

/* Read up to len bytes at offset; returns the count (short only at EOF). */
static size_t
fileRead(FileState *state, char *buf, size_t len, off_t offset)
{
	size_t		done = 0;

	while (done < len)
	{
		ssize_t		n = pg_pread(state->fd, buf + done, len - done, offset + done);

		if (n < 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read file \"%s\": %m", state->path)));
		if (n == 0)
			break;
		done += n;
	}
	return done;
}

/* Where the object went, for the manifest. */
static void
fileResultPlace(BackupResult *result, const RepoObjectPlace *place)
{
	result->bundled = place->bundled;
	result->bundle = place->bundle;
	result->bundleOffset = place->offset;
}

/*
 * Whole content into one object; for an incremental, "parent" instead when
 * the content turns out to equal the parent's.
 */
static void
fileStoreFull(FileState *state, const char *objectPath,
			  const CodecDataKey *key, BackupResult *result)
{
	const BackupListEntry *entry = state->entry;
	bool		relation = (entry->flags & BACKUP_LIST_RELATION) != 0;
	bool		verify = relation && state->shared->dataChecksums;

	/*
	 * The codec hashes the content it stores; a hash of our own is needed
	 * only to compare with the parent before deciding to keep the object.
	 */
	bool		compare = (entry->flags & BACKUP_LIST_PARENT) != 0;
	CodecResult codec;
	RepoObjectPlace place;
	DrError		err;
	off_t		offset = 0;
	bool		ended;
	RepoWriteParam param;

	fileWriteParam(&param, state->bundle);
	state->object = repoObjectWriteBeginParam(state->repo, objectPath, key,
											  &param, &err);
	fileObjectCheck(state->object != NULL, &err);

	for (;;)
	{
		size_t		n;

		fileCheckAbort(state);
		n = fileRead(state, state->buffer, BACKUP_READ_PAGES * BLCKSZ, offset);
		if (n == 0)
			break;
		if (verify)
		{
			for (size_t p = 0; p + BLCKSZ <= n; p += BLCKSZ)
				fileVerifyPage(state, state->buffer + p,
							   (uint32) ((offset + p) / BLCKSZ));
		}
		if (compare)
			fileHash(state, state->buffer, n);
		fileObjectCheck(repoObjectWrite(state->object, state->buffer, n, &err),
						&err);
		offset += n;
		pg_atomic_fetch_add_u64(&backupProgress->bytesDone, n);
		fileThrottle(state, n);
	}
	result->size = offset;
	if (compare &&
		pg_cryptohash_final(state->sha, result->sha256, CODEC_SHA256_SIZE) < 0)
		elog(ERROR, "could not compute SHA-256 of \"%s\"", state->path);

	if (compare && entry->parentSize == result->size &&
		memcmp(entry->parentSha256, result->sha256, CODEC_SHA256_SIZE) == 0)
	{
		repoObjectWriteAbort(state->object);
		state->object = NULL;
		result->store = MANIFEST_STORE_PARENT;
		result->objectSize = 0;
		return;
	}

	/* End frees the handle whatever it returns */
	ended = repoObjectWriteEndPlace(state->object, &codec, &place, &err);
	state->object = NULL;
	fileObjectCheck(ended, &err);
	memcpy(result->sha256, codec.sha256, CODEC_SHA256_SIZE);
	result->store = MANIFEST_STORE_FULL;
	result->objectSize = codec.storedSize;
	fileResultPlace(result, &place);
}

/* Changed pages only (incremental relation file the parent has). */
static void
fileStoreDelta(FileState *state, const char *objectPath,
			   const CodecDataKey *key, uint64 size, BackupResult *result)
{
	const BackupListEntry *entry = state->entry;
	BackupShared *shared = state->shared;
	uint32		parentBlocks = (uint32) (entry->parentSize / BLCKSZ);
	uint32		blocks = (uint32) (size / BLCKSZ);
	DeltaWriter *delta;
	CodecResult codec;
	DrError		err;
	uint32		count;
	uint32		block = 0;
	bool		ended;
	RepoWriteParam param;
	RepoObjectPlace place;
	uint32		baseBlocks = 0;
	char	   *xorPage = palloc(BLCKSZ);

	/* XOR with the parent's copy when the parent stores it whole */
	if (entry->parentStore == MANIFEST_STORE_FULL)
	{
		ManifestFile parentFile;

		/* the parent's entry, as far as finding its object goes */
		memset(&parentFile, 0, sizeof(parentFile));
		parentFile.path = (char *) state->path;
		parentFile.store = MANIFEST_STORE_FULL;
		parentFile.objectSize = entry->parentObjectSize;
		parentFile.bundled = entry->parentBundled != 0;
		parentFile.bundle = entry->parentBundle;
		parentFile.bundleOffset = entry->parentBundleOffset;

		baseBlocks = Min(parentBlocks, blocks);
		state->baseObject = repoBackupFileObjectName(shared->parentId,
													 &parentFile);
		state->base = repoBackupFileReadBegin(state->repo, shared->parentId,
											  &parentFile, &err);
		if (state->base == NULL && err.code == DR_ERR_NOT_FOUND)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("the copy of \"%s\" in parent backup %s is gone: the parent was removed while backup %s was taken, or the repository is damaged",
							state->path, shared->parentId, shared->backupId),
					 errhint("Take the incremental backup again; pg_dr expire must not remove a backup that a running one is based on.")));
		if (state->base == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("could not read the parent's copy of \"%s\": %s",
							state->path, err.message),
					 errhint("Check the parent backup with pg_dr verify; take a full backup instead.")));
		/* never read to its end: its content hash would never be checked */
		repoObjectReadNoHash(state->base);
		state->baseBuffer = palloc(BACKUP_READ_PAGES * BLCKSZ);
	}

	fileWriteParam(&param, state->bundle);
	state->object = repoObjectWriteBeginParam(state->repo, objectPath, key,
											  &param, &err);
	fileObjectCheck(state->object != NULL, &err);
	delta = deltaWriterNewBase(fileObjectWrite, state->object, BLCKSZ, size,
							   baseBlocks, &err);
	fileObjectCheck(delta != NULL, &err);

	while (block < blocks)
	{
		uint32		want = Min(BACKUP_READ_PAGES, blocks - block);
		size_t		n;

		fileCheckAbort(state);
		n = fileRead(state, state->buffer, (size_t) want * BLCKSZ,
					 (off_t) block * BLCKSZ);
		/* the file shrank: the rest reads as new pages; replay truncates */
		if (n < (size_t) want * BLCKSZ)
			memset(state->buffer + n, 0, (size_t) want * BLCKSZ - n);

		for (uint32 i = 0; i < want; i++)
		{
			char	   *page = state->buffer + (size_t) i * BLCKSZ;
			uint32		b = block + i;

			if (shared->dataChecksums && (size_t) (i + 1) * BLCKSZ <= n)
				fileVerifyPage(state, page, b);
			fileHash(state, page, BLCKSZ);
			if (b >= parentBlocks || PageIsNew((Page) page) ||
				PageGetLSN((Page) page) > shared->parentStartLsn)
			{
				if (b < baseBlocks)
				{
					/* the page read stays as read: it was hashed */
					memcpy(xorPage, page, BLCKSZ);
					deltaPageXor(xorPage, fileBasePage(state, b), BLCKSZ);
					page = xorPage;
				}
				fileObjectCheck(deltaWritePage(delta, b, page, &err), &err);
			}
		}
		block += want;
		pg_atomic_fetch_add_u64(&backupProgress->bytesDone, (uint64) want * BLCKSZ);
		fileThrottle(state, (size_t) want * BLCKSZ);
	}

	fileObjectCheck(deltaWriterEnd(delta, &count, &err), &err);
	if (state->base)
	{
		/*
		 * Not read to its end, and without its content hash (each chunk
		 * read was authenticated, in an encrypted repository): a damaged
		 * parent fails the restore of this backup, which reads the
		 * parent's object whole and checks it.
		 */
		repoObjectReadFree(state->base);
		state->base = NULL;
	}
	result->size = size;
	result->blocks = count;
	if (pg_cryptohash_final(state->sha, result->sha256, CODEC_SHA256_SIZE) < 0)
		elog(ERROR, "could not compute SHA-256 of \"%s\"", state->path);

	if (count == 0 && size == entry->parentSize)
	{
		repoObjectWriteAbort(state->object);
		state->object = NULL;
		result->store = MANIFEST_STORE_PARENT;
		result->objectSize = 0;
		return;
	}
	ended = repoObjectWriteEndPlace(state->object, &codec, &place, &err);
	state->object = NULL;
	fileObjectCheck(ended, &err);
	result->store = MANIFEST_STORE_DELTA;
	result->objectSize = codec.storedSize;
	fileResultPlace(result, &place);
}

void
backupFileStore(Repo *repo, const CodecDataKey *key, BackupShared *shared,
				RepoBundle *bundle, const BackupListEntry *entry,
				const char *path, BackupResult *result)
{
	FileState	state;
	char	   *objectPath;
	struct stat st;

	memset(&state, 0, sizeof(state));
	state.repo = repo;
	state.shared = shared;
	state.entry = entry;
	state.path = path;

	state.fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (state.fd < 0)
	{
		if (errno == ENOENT)
		{
			/* dropped while the backup ran; WAL replay drops it too */
			result->kind = BACKUP_RESULT_VANISHED;
			return;
		}
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", path)));
	}
	if (fstat(state.fd, &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat file \"%s\": %m", path)));

	if (bundle != NULL && (uint64) st.st_size < shared->bundleLimit)
		state.bundle = bundle;
	objectPath = repoBackupDataPath(shared->backupId, path);
	/*
	 * The read buffer is the worker's, allocated once: a backup of 100,000
	 * small files must not allocate (and fault in) a megabyte per file.
	 */
	if (fileBuffer == NULL)
		fileBuffer = MemoryContextAlloc(TopMemoryContext,
										BACKUP_READ_PAGES * BLCKSZ);
	state.buffer = fileBuffer;
	/* a hash of our own only to compare with the parent (fileStoreFull) */
	if (entry->flags & BACKUP_LIST_PARENT)
	{
		state.sha = pg_cryptohash_create(PG_SHA256);
		if (state.sha == NULL || pg_cryptohash_init(state.sha) < 0)
			elog(ERROR, "could not initialize SHA-256");
	}

	result->kind = BACKUP_RESULT_STORED;
	result->mode = entry->mode;
	result->mtime = st.st_mtime;

	/*
	 * Whatever happens, the object being written must not become visible
	 * and the hash context (malloc'd by OpenSSL) must be freed.
	 */
	PG_TRY();
	{
		if (shared->incremental && (entry->flags & BACKUP_LIST_RELATION) &&
			(entry->flags & BACKUP_LIST_PARENT) && st.st_size % BLCKSZ == 0)
			fileStoreDelta(&state, objectPath, key, st.st_size, result);
		else
			fileStoreFull(&state, objectPath, key, result);
	}
	PG_FINALLY();
	{
		if (state.object)
			repoObjectWriteAbort(state.object);
		if (state.base)
			repoObjectReadFree(state.base);
		pg_cryptohash_free(state.sha);
	}
	PG_END_TRY();

	result->corrupt = state.corrupt;
	CloseTransientFile(state.fd);
	pfree(objectPath);
}
