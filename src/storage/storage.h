/*-------------------------------------------------------------------------
 * storage.h
 *	  Repository storage: the one interface every part uses to reach a
 *	  repository, whatever holds it (posix directory now; S3, Azure, GCS
 *	  later).  Drivers implement storage_driver.h.
 *
 * Contract kept by every driver:
 *	 - Paths are relative to the repository root, '/'-separated, without
 *	   "." or ".." components.
 *	 - A write is invisible until storageWriteEnd() succeeds; then it is
 *	   durable (posix: temp name, fsync, rename, fsync of the directory) and
 *	   complete.  storageWriteAbort(), an error or a crash leaves nothing
 *	   visible under the name.  A write begun with deferSync is complete
 *	   and visible at storageWriteEnd() but durable only once a batch begun
 *	   before it ends (storageBatchEnd): for objects that mean nothing until
 *	   a later object, written durably after the batch, names them -- a
 *	   backup's files before its manifest.  A crash before that may leave
 *	   such an object short or empty under its name.
 *	 - Nothing is overwritten: storageWriteEnd() fails with DR_ERR_EXISTS if
 *	   the object exists, unless the write was begun with replace = true,
 *	   which only repository metadata (the info file) may use; the
 *	   replacement is atomic.  Exception: a write begun owned (its name
 *	   has no other writer, StorageWriteParam) on a store that does not
 *	   refuse a create-only PUT itself (an S3 store ignoring If-None-Match,
 *	   GCS's multipart Complete) is not checked.
 *	 - Memory is bounded: reads and writes stream through caller buffers.
 *-------------------------------------------------------------------------
 */
#ifndef DR_STORAGE_H
#define DR_STORAGE_H

#include "common/codec.h"
#include "common/error.h"
#include "common/host.h"

typedef struct Storage Storage;
typedef struct StorageRead StorageRead;
typedef struct StorageWrite StorageWrite;

/* What a driver can do (storageFeatures). */
#define STORAGE_FEATURE_ATOMIC_PUT		0x0001	/* writes appear whole or not */
#define STORAGE_FEATURE_NO_OVERWRITE	0x0002	/* refuses to replace atomically */
#define STORAGE_FEATURE_PATH			0x0004	/* has real directories */
#define STORAGE_FEATURE_FSYNC			0x0008	/* durability needs fsync */

typedef struct StorageWriteParam
{
	bool		replace;		/* allow atomic replacement (metadata only) */
	bool		deferSync;		/* durable at the end of a batch (above) */
	bool		owned;			/* the name lies where only this writer
								 * writes (a backup being taken, under its
								 * lock, with a fresh id): the driver may
								 * skip checks made only to fail early
								 * against another writer (S3 and Azure:
								 * the HEAD before an upload).  Never
								 * overwriting still holds where the store
								 * enforces it (storage_s3.h) */
} StorageWriteParam;

/*
 * A batch of deferred writes: begin it before any of its writes starts (in
 * any process), end it after all of them ended; storageBatchEnd() makes
 * them durable at once (posix: syncfs() of the repository's file system,
 * which also reports write-back errors since the batch began).
 */
typedef struct StorageBatch StorageBatch;

typedef struct StorageInfo
{
	const char *name;			/* relative to the listed directory */
	bool		isDir;
	uint64		size;
	int64		mtime;			/* seconds since the epoch */
} StorageInfo;

/* Return false (with err set) to stop the listing with that error. */
typedef bool (*StorageListCallback) (void *arg, const StorageInfo *info,
									 DrError *err);

/* Drivers */
extern Storage *storagePosixNew(const char *root, DrError *err);

/*
 * Register every storage driver and its repository settings with the
 * configuration parser (common/config.h).  Called once at startup before
 * any configuration is read: the server's _PG_init, the CLI's main, the
 * unit tests and the fuzz targets; a second call does nothing.
 */
extern void storageDriversRegister(void);

/* Open a configured repository's storage through its type's driver. */
struct ConfigRepo;
extern Storage *storageOpen(const struct ConfigRepo *repo, DrError *err);

extern void storageFree(Storage *storage);

/*
 * The host hooks (common/host.h) of the long operation now using storage
 * (restore, verify, expire), or NULL for none.  A driver that waits on a
 * network asks them while it waits, so a cancel (pg_cancel_backend, the
 * CLI's SIGINT) abandons a stalled request at once with DR_ERR_CANCELED
 * instead of waiting for its timeout; retry notices go to them too.
 * Returns the hooks set before, which the operation puts back when it
 * ends: the hooks must stay valid while they are set.
 */
extern const DrHost *storageHostSet(Storage *storage, const DrHost *host);
extern const char *storageName(const Storage *storage);
extern uint32 storageFeatures(const Storage *storage);

/* Writing (see the contract above). */
extern StorageBatch *storageBatchBegin(Storage *storage, DrError *err);
extern bool storageBatchEnd(StorageBatch *batch, DrError *err);	/* frees */
extern void storageBatchAbort(StorageBatch *batch); /* frees */

extern StorageWrite *storageWriteBegin(Storage *storage, const char *path,
									   const StorageWriteParam *param,
									   DrError *err);
extern bool storageWrite(StorageWrite *write, const void *buf, size_t len,
						 DrError *err);
extern bool storageWriteEnd(StorageWrite *write, DrError *err);
extern void storageWriteAbort(StorageWrite *write);

/* Reading: DR_ERR_NOT_FOUND when the object does not exist. */
extern StorageRead *storageReadBegin(Storage *storage, const char *path,
									 DrError *err);
/*
 * Reading part of an object: the length bytes from offset on (an entry of
 * a backup's bundle object, see manifest.h), read like a whole object:
 * storageRead ends (returns 0) after length bytes, or earlier where the
 * object does -- an object shorter than offset + length is not an error
 * here; the reader finds what is missing (the codec: a truncated object).
 * A driver reads only that range (posix: from an lseek'd descriptor; an
 * object store: one ranged GET); without a ranged read of its own,
 * storage.c reads the object from its start and skips offset bytes.
 */
extern StorageRead *storageReadBeginRange(Storage *storage, const char *path,
										  uint64 offset, uint64 length,
										  DrError *err);
/*
 * The range cache (storage.c's header says why): from now on a range read
 * of at most window bytes that does not cross a multiple of window is
 * served from the window-aligned block of the object around it, fetched
 * whole with one ranged read of the driver and kept, up to slots blocks
 * (the least recently used goes; a block a read is serving from stays;
 * a block wanted again soon after it went is not fetched again: that
 * range goes to the driver alone).  Only for objects that never change
 * while kept: a backup's.  Drivers without a ranged read of their own are
 * not affected.  window 0: off (the blocks freed, a block a read still
 * serves from once that read ends).  Memory: up to window * slots.
 */
extern void storageRangeCacheSet(Storage *storage, size_t window, int slots);
/*
 * Since it was set: blocks fetched, ranges served from a kept block, and
 * ranges sent to the driver alone because their block was let go of a
 * moment ago (more blocks in turn than slots).
 */
extern void storageRangeCacheStats(const Storage *storage, uint64 *fetches,
								   uint64 *hits, uint64 *bypassed);

/* Bytes read; 0 at end (of the object or of the range); -1 on failure. */
extern ssize_t storageRead(StorageRead *read, void *buf, size_t len,
						   DrError *err);
extern void storageReadEnd(StorageRead *read);

/* Whether an object exists (a posix directory is not an object). */
extern bool storageExists(Storage *storage, const char *path, bool *exists,
						  DrError *err);

/*
 * Entries of a directory, in no particular order, one callback each (memory
 * does not grow with the number of entries).  A missing directory lists
 * nothing.
 */
extern bool storageList(Storage *storage, const char *dir,
						StorageListCallback callback, void *arg, DrError *err);

/*
 * Paged listing: the entries of a directory in name order (byte order,
 * strcmp), fetched a page at a time (a driver's listPage, e.g. one
 * ListObjects request; or a page cut from its plain listing), so memory
 * is bounded by one page however large the directory.  No driver handle
 * stays open between pages: other listings may run meanwhile (one per log
 * directory inside a listing of its parent), and removing entries already
 * returned is safe.  An entry created or removed while the listing is open
 * may or may not be seen; none is returned twice.  A missing directory
 * lists nothing, and so does an object's name (a prefix in a store).
 */
typedef struct StorageList StorageList;

#define STORAGE_LIST_PAGE		1000	/* entries per page by default */

typedef struct StorageListParam
{
	int			pageSize;		/* entries per page; 0: STORAGE_LIST_PAGE */
} StorageListParam;

extern StorageList *storageListOpen(Storage *storage, const char *dir,
									const StorageListParam *param,
									DrError *err);
/*
 * The next entry: false on failure; true with *info NULL at the end.
 * *info (its name included) is valid until the next call.
 */
extern bool storageListNext(StorageList *list, const StorageInfo **info,
							DrError *err);
extern void storageListClose(StorageList *list);

/* Remove an object; a missing one is not an error. */
extern bool storageRemove(Storage *storage, const char *path, DrError *err);

/*
 * Remove everything under dir (a prefix in an object store), then dir
 * itself where the driver has real directories.  A missing directory is
 * not an error.  Objects are removed before the directories that hold
 * them, so an interrupted removal leaves a smaller tree, never a dangling
 * name.  The root ("") cannot be removed.
 */
extern bool storageRemoveTree(Storage *storage, const char *dir, DrError *err);

/*
 * Remove dir if it is empty (atomically: an entry created meanwhile keeps
 * it, with DR_ERR_IO); nothing to do, and true, for a driver without real
 * directories or when dir is missing.
 */
extern bool storageRemoveDir(Storage *storage, const char *dir, DrError *err);

/*
 * Remove the half-written objects crashed writers left directly in dir,
 * unchanged since before olderThan (seconds since the epoch); *removed
 * counts them.  What a temporary object is and why a live writer loses
 * nothing: storage_driver.h (removeStale).  True with nothing removed for
 * a driver without temporary names.
 */
extern bool storageRemoveStale(Storage *storage, const char *dir,
							   int64 olderThan, int *removed, DrError *err);

/* Whole small objects. */
extern bool storagePut(Storage *storage, const char *path, const void *buf,
					   size_t len, const StorageWriteParam *param,
					   DrError *err);
/*
 * palloc'd content, followed by a '\0' not counted in *len (text can be
 * parsed in place); DR_ERR_INVALID if larger than maxLen.
 */
extern char *storageGet(Storage *storage, const char *path, size_t *len,
						size_t maxLen, DrError *err);

/*
 * Everything a source yields, palloc'd and NUL-terminated (the NUL is not
 * counted in *len); DR_ERR_INVALID naming name when it is larger than
 * maxLen.  Memory grows with what is read, never past maxLen + 2.
 */
extern char *storageReadAll(CodecSource source, const char *name, size_t *len,
							size_t maxLen, DrError *err);

/* Adapters that plug storage streams into the codec. */
extern CodecSink storageWriteSink(StorageWrite *write);
extern CodecSource storageReadSource(StorageRead *read);

#endif							/* DR_STORAGE_H */
