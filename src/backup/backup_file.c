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
 *	         images anyway).  Each changed page the parent has is stored
 *	         XORed with the parent's page (delta.h): the page as restoring
 *	         the parent writes it, read from the objects of the parent's
 *	         chain as the file is read (repo_chain_page.h, levels from
 *	         backup_chain.h), whether the parent stores the file whole, as
 *	         a delta on a delta, or not at all: mostly zeroes, it
 *	         compresses to a few per cent of the page.
 *	         When the WAL summaries vouch for the file (backup_walsum.c),
 *	         only the pages they name are read, and the same test applies
 *	         to those; they are XORed with the chain's pages only when
 *	         dense enough to be worth decoding the chain's copies up to
 *	         the last of them (walSummaryBaseWorth); the manifest's sha256
 *	         is then zeroes;
 *	 parent  (incremental) nothing: a relation file with no changed page and
 *	         the parent's size, or any other file whose size and SHA-256
 *	         equal the parent's.
 * Deciding "parent" needs the whole file read, so the object is written as
 * the file is read and abandoned (never visible) when it turns out to be
 * unneeded.
 *
 * A file larger than pg_dr.backup_part_size (not one stored as a delta) is
 * stored in parts instead (manifest.h): backupFileStorePart stores one
 * part, each a store=full object of its own bound to its name; the leader
 * makes the file's entry from the parts' results.  Such a file is never
 * "parent": no one reader sees it whole to compare it.  A delta whose
 * parent stores the file in parts reads the parent's parts one after the
 * other as its base.
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

#include "backup/backup_chain.h"
#include "backup/backup_internal.h"
#include "backup/backup_progress.h"
#include "archive/wal_summary.h"
#include "common/delta.h"
#include "pg_dr.h"
#include "repo/repo.h"
#include "repo/repo_backup.h"
#include "repo/repo_chain_page.h"

/* pages read at a time */
#define BACKUP_READ_PAGES		128
#define BACKUP_REREADS			5

/* The worker's read buffer (BACKUP_READ_PAGES pages), made on first use. */
static char *fileBuffer = NULL;

/*
 * How a worker writes its objects: visible at once, durable when the
 * leader ends the storage batch just before it writes the manifest (the
 * backup does not exist before that anyway); owned, as the backup's
 * directory has no other writer (its id is new, taken under the lock).
 */
static void
fileWriteParam(RepoWriteParam *param, RepoBundle *bundle)
{
	memset(param, 0, sizeof(RepoWriteParam));
	param->deferSync = true;
	param->owned = true;
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

	/* the parent chain's pages of the file (delta with a base) */
	RepoChainPage *chain;
} FileState;

/* Page blockno as restoring the parent writes it; blocks come in ascending order. */
static const char *
fileBasePage(FileState *state, uint32 blockno)
{
	DrError		err;
	const char *page = repoChainPageGet(state->chain, blockno, &err);

	if (page == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("could not read the parent's copy of \"%s\" (page %u, in the chain of backup %s): %s",
						state->path, blockno, state->shared->parentId,
						err.message),
				 errhint("Check the parent backup with pg_dr verify; take a full backup instead.")));
	return page;
}

/*
 * Open the parent chain's copies of the file (list entry index), at its
 * first changed page the parent has: a file with none never reads them.
 */
static void
fileChainOpen(FileState *state, uint64 index)
{
	BackupShared *shared = state->shared;
	RepoChainPageLevel *levels;
	int			count = backupChainLevels(shared, state->entry, index, &levels);
	DrError		err;

	state->chain = repoChainPageOpen(state->repo, state->path, BLCKSZ,
									 levels, count, &err);
	if (state->chain == NULL && err.code == DR_ERR_NOT_FOUND)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 count == 1 ?
				 errmsg("the copy of \"%s\" in parent backup %s is gone: the parent was removed while backup %s was taken, or the repository is damaged",
						state->path, shared->parentId, shared->backupId) :
				 errmsg("a copy of \"%s\" in the chain of parent backup %s is gone: a backup of the chain was removed while backup %s was taken, or the repository is damaged",
						state->path, shared->parentId, shared->backupId),
				 errdetail("%s", err.message),
				 errhint("Take the incremental backup again; pg_dr expire must not remove a backup that a running one is based on.")));
	if (state->chain == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("could not read the parent's copy of \"%s\" (in the chain of backup %s): %s",
						state->path, shared->parentId, err.message),
				 errhint("Check the parent backup with pg_dr verify; take a full backup instead.")));
	pfree(levels);
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
	param.binding = objectPath; /* manifest version 3 */
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
	result->bytesRead = offset;
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

/*
 * Changed pages only (incremental relation file the parent has).  picked
 * (backup_walsum.c): read only these blocks, ascending (npicked of them);
 * NULL: read every block.
 */
static void
fileStoreDelta(FileState *state, const char *objectPath,
			   const CodecDataKey *key, uint64 size, const uint32 *picked,
			   uint32 npicked, BackupResult *result)
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
	uint32		next = 0;		/* in picked */
	uint64		bytesRead = 0;

	/* the WAL touched none of its pages: nothing to read or store */
	if (picked && npicked == 0 && size == entry->parentSize)
	{
		result->size = size;
		result->blocks = 0;
		result->bytesRead = 0;
		memset(result->sha256, 0, CODEC_SHA256_SIZE);
		result->store = MANIFEST_STORE_PARENT;
		result->objectSize = 0;
		pg_atomic_fetch_add_u64(&backupProgress->bytesDone, size);
		return;
	}

	/*
	 * XOR with the parent's pages, wherever its chain has them (and, for a
	 * file read in part, when decoding the chain's copies up to the last
	 * page read costs no more than reading the pages: wal_summary.h)
	 */
	if (picked == NULL || walSummaryBaseWorth(picked, npicked, parentBlocks))
		baseBlocks = Min(parentBlocks, blocks);

	fileWriteParam(&param, state->bundle);
	param.binding = objectPath; /* manifest version 3 */
	state->object = repoObjectWriteBeginParam(state->repo, objectPath, key,
											  &param, &err);
	fileObjectCheck(state->object != NULL, &err);
	delta = deltaWriterNewBase(fileObjectWrite, state->object, BLCKSZ, size,
							   baseBlocks, &err);
	fileObjectCheck(delta != NULL, &err);

	while (picked ? next < npicked : block < blocks)
	{
		uint32		want = Min(BACKUP_READ_PAGES, blocks - block);
		size_t		n;

		/* a run of consecutive picked blocks */
		if (picked)
		{
			block = picked[next];
			want = 1;
			while (next + want < npicked && want < BACKUP_READ_PAGES &&
				   picked[next + want] == block + want)
				want++;
			next += want;
		}

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
			if (!picked)
				fileHash(state, page, BLCKSZ);
			if (b >= parentBlocks || PageIsNew((Page) page) ||
				PageGetLSN((Page) page) > shared->parentStartLsn)
			{
				if (b < baseBlocks)
				{
					if (state->chain == NULL)
						fileChainOpen(state, result->index);
					/* the page read stays as read: it was hashed */
					memcpy(xorPage, page, BLCKSZ);
					deltaPageXor(xorPage, fileBasePage(state, b), BLCKSZ);
					page = xorPage;
				}
				fileObjectCheck(deltaWritePage(delta, b, page, &err), &err);
			}
		}
		block += want;
		bytesRead += (uint64) want * BLCKSZ;
		pg_atomic_fetch_add_u64(&backupProgress->bytesDone, (uint64) want * BLCKSZ);
		fileThrottle(state, (size_t) want * BLCKSZ);
	}
	/* the pages not read are done too */
	if (picked)
		pg_atomic_fetch_add_u64(&backupProgress->bytesDone, size - bytesRead);

	fileObjectCheck(deltaWriterEnd(delta, &count, &err), &err);
	if (state->chain)
	{
		/*
		 * Not read to their end, and without their content hash (each
		 * chunk read was authenticated, in an encrypted repository): a
		 * damaged parent fails the restore of this backup, which reads
		 * every object of the chain whole and checks it.
		 */
		repoChainPageClose(state->chain);
		state->chain = NULL;
	}
	result->size = size;
	result->blocks = count;
	result->bytesRead = bytesRead;
	/* a file read in part has no hash of its content: zeroes (manifest.h) */
	if (picked)
		memset(result->sha256, 0, CODEC_SHA256_SIZE);
	else if (pg_cryptohash_final(state->sha, result->sha256, CODEC_SHA256_SIZE) < 0)
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

/*
 * Open the file for state (state->fd); false when it vanished (dropped
 * while the backup ran: WAL replay drops it too).
 */
static bool
fileOpen(FileState *state, struct stat *st)
{
	state->fd = OpenTransientFile(state->path, O_RDONLY | PG_BINARY);
	if (state->fd < 0)
	{
		if (errno == ENOENT)
			return false;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", state->path)));
	}
	if (fstat(state->fd, st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat file \"%s\": %m", state->path)));
	return true;
}

/*
 * One part into its object (manifest.h): part-size bytes from the part's
 * offset, padded with zeroes where the file ended before, or, for the last
 * part, everything from its offset to the end of the file.
 */
static void
fileStorePart(FileState *state, const char *objectPath,
			  const CodecDataKey *key, uint32 part, BackupPartResult *result)
{
	const BackupListEntry *entry = state->entry;
	uint64		partSize = state->shared->partSize;
	bool		last = (part + 1 == entry->parts);
	bool		verify = (entry->flags & BACKUP_LIST_RELATION) != 0 &&
		state->shared->dataChecksums;
	uint64		start = (uint64) part * partSize;
	uint64		done = 0;
	CodecResult codec;
	DrError		err;
	RepoWriteParam param;
	bool		ended;

	fileWriteParam(&param, NULL);	/* a part is never small */
	param.binding = objectPath;
	state->object = repoObjectWriteBeginParam(state->repo, objectPath, key,
											  &param, &err);
	fileObjectCheck(state->object != NULL, &err);

	while (last || done < partSize)
	{
		size_t		want = BACKUP_READ_PAGES * BLCKSZ;
		size_t		n;

		if (!last)
			want = Min(want, partSize - done);
		fileCheckAbort(state);
		n = fileRead(state, state->buffer, want, (off_t) (start + done));
		if (n == 0 && last)
			break;
		if (verify)
		{
			for (size_t p = 0; p + BLCKSZ <= n; p += BLCKSZ)
				fileVerifyPage(state, state->buffer + p,
							   (uint32) ((start + done + p) / BLCKSZ));
		}
		if (n < want && !last)
		{
			/* the file ended before the part: what is missing reads as zero */
			memset(state->buffer + n, 0, want - n);
			n = want;
		}
		fileObjectCheck(repoObjectWrite(state->object, state->buffer, n, &err),
						&err);
		done += n;
		pg_atomic_fetch_add_u64(&backupProgress->bytesDone, n);
		fileThrottle(state, n);
	}

	ended = repoObjectWriteEnd(state->object, &codec, &err);
	state->object = NULL;
	fileObjectCheck(ended, &err);
	result->size = done;
	memcpy(result->sha256, codec.sha256, CODEC_SHA256_SIZE);
	result->objectSize = codec.storedSize;
}

void
backupFileStorePart(Repo *repo, const CodecDataKey *key, BackupShared *shared,
					const BackupListEntry *entry, const char *path,
					uint32 part, BackupPartResult *result)
{
	FileState	state;
	char	   *objectPath;
	struct stat st;

	Assert(part < entry->parts);
	memset(&state, 0, sizeof(state));
	state.repo = repo;
	state.shared = shared;
	state.entry = entry;
	state.path = path;
	if (!fileOpen(&state, &st))
	{
		result->kind = BACKUP_RESULT_VANISHED;
		return;
	}
	objectPath = repoBackupPartPath(shared->backupId, path, part);
	state.buffer = palloc(BACKUP_READ_PAGES * BLCKSZ);
	result->kind = BACKUP_RESULT_STORED;
	result->mtime = st.st_mtime;

	/* whatever happens, the object being written must not become visible */
	PG_TRY();
	{
		fileStorePart(&state, objectPath, key, part, result);
	}
	PG_FINALLY();
	{
		if (state.object)
			repoObjectWriteAbort(state.object);
	}
	PG_END_TRY();

	result->corrupt = state.corrupt;
	CloseTransientFile(state.fd);
	pfree(state.buffer);
	pfree(objectPath);
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

	if (!fileOpen(&state, &st))
	{
		/* dropped while the backup ran; WAL replay drops it too */
		result->kind = BACKUP_RESULT_VANISHED;
		return;
	}

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
		{
			uint32	   *picked = NULL;
			uint32		npicked = 0;

			if (!backupWalSummaryPick(repo, shared, path, entry->parentSize,
									  st.st_size, &picked, &npicked))
				picked = NULL;
			fileStoreDelta(&state, objectPath, key, st.st_size, picked,
						   npicked, result);
			if (picked)
				pfree(picked);
		}
		else
			fileStoreFull(&state, objectPath, key, result);
	}
	PG_FINALLY();
	{
		if (state.object)
			repoObjectWriteAbort(state.object);
		if (state.chain)
			repoChainPageClose(state.chain);
		pg_cryptohash_free(state.sha);
	}
	PG_END_TRY();

	result->corrupt = state.corrupt;
	CloseTransientFile(state.fd);
	pfree(objectPath);
}
