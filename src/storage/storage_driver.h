/*-------------------------------------------------------------------------
 * storage_driver.h
 *	  For implementers of a storage driver (not for users of storage.h).
 *
 * A driver fills a StorageDriverInterface and calls storageNew().  The
 * generic layer (storage.c) checks paths, keeps handles and calls these.
 *-------------------------------------------------------------------------
 */
#ifndef DR_STORAGE_DRIVER_H
#define DR_STORAGE_DRIVER_H

#include "common/config.h"
#include "storage/storage.h"

/* Write: begin a write to path; nothing is visible yet. */
typedef void *(*StorageDriverWriteBegin) (void *driver, const char *path,
										  const StorageWriteParam *param,
										  DrError *err);
/* Write: append bytes. */
typedef bool (*StorageDriverWrite) (void *handle, const void *buf, size_t len,
									DrError *err);
/*
 * Write: make the object durable and visible under its name, atomically;
 * DR_ERR_EXISTS when it exists and replace was not asked for.  Frees the
 * handle whatever the outcome (on failure nothing is visible).
 */
typedef bool (*StorageDriverWriteEnd) (void *handle, DrError *err);
/* Write: discard everything written; frees the handle. */
typedef void (*StorageDriverWriteAbort) (void *handle);

/* Read: open path; DR_ERR_NOT_FOUND when missing. */
typedef void *(*StorageDriverReadBegin) (void *driver, const char *path,
										 DrError *err);
/*
 * Read: open path positioned at offset, to return at most length bytes in
 * all (then 0, as at the object's end); DR_ERR_NOT_FOUND when missing.  An
 * object that ends before offset + length just ends early.  Optional:
 * storage.c skips offset bytes of a plain read without it, and limits
 * what is read to length either way.
 */
typedef void *(*StorageDriverReadBeginRange) (void *driver, const char *path,
											  uint64 offset, uint64 length,
											  DrError *err);
typedef ssize_t (*StorageDriverRead) (void *handle, void *buf, size_t len,
									  DrError *err);
typedef void (*StorageDriverReadEnd) (void *handle);

typedef bool (*StorageDriverExists) (void *driver, const char *path,
									 bool *exists, DrError *err);
typedef bool (*StorageDriverList) (void *driver, const char *dir,
								   StorageListCallback callback, void *arg,
								   DrError *err);
/* Remove; a missing object is not an error. */
typedef bool (*StorageDriverRemove) (void *driver, const char *path,
									 DrError *err);
/*
 * Remove an empty directory (drivers with STORAGE_FEATURE_PATH); a missing
 * one is not an error, a non-empty one is (DR_ERR_IO).
 */
typedef bool (*StorageDriverRemoveDir) (void *driver, const char *path,
										DrError *err);
/*
 * One page of a listing (optional; storageListOpen): the entries of dir
 * whose names sort after startAfter ("": from the first), at most limit
 * of them, one callback each in name order (strcmp); *more set when dir
 * has entries after the last one given.  A missing directory, or the
 * name of an object, lists nothing.  An object store maps it to one paged request (start-after,
 * max-keys, truncated); a driver whose listing comes unordered can build
 * the page with StorageListPage (below).  Without it, storage.c cuts
 * pages from the driver's plain list.
 */
typedef bool (*StorageDriverListPage) (void *driver, const char *dir,
									   const char *startAfter, int limit,
									   StorageListCallback callback,
									   void *arg, bool *more, DrError *err);
/*
 * Remove everything under dir (optional; storageRemoveTree): an object
 * store removes every key under the prefix in batches (DeleteObjects)
 * instead of listing level by level and removing one object at a time.
 * A missing dir is not an error.
 */
typedef bool (*StorageDriverRemoveTree) (void *driver, const char *dir,
										 DrError *err);
typedef void (*StorageDriverFree) (void *driver);
/*
 * The host hooks to ask while waiting (storageHostSet; optional: a driver
 * that never waits on a network has nothing to ask).  NULL: none.
 */
typedef void (*StorageDriverHostSet) (void *driver, const DrHost *host);
/*
 * Remove the half-written objects a crashed writer left directly in dir
 * (optional): the driver's temporary names, never listed, whose last
 * change is older than olderThan (seconds since the epoch); *removed is
 * the count.  A writer still working on one changes it often; one that
 * stalled past olderThan and finds its temporary gone fails its write
 * (never completes a truncated object).  An object store without such
 * names (its incomplete uploads expire by its own lifecycle rules) leaves
 * the callback NULL.
 */
typedef bool (*StorageDriverRemoveStale) (void *driver, const char *dir,
										  int64 olderThan, int *removed,
										  DrError *err);
/*
 * A batch of deferSync writes (storage.h): Begin returns a handle, End makes
 * every deferred write since Begin durable; End and Abort free the handle.
 */
typedef void *(*StorageDriverBatchBegin) (void *driver, DrError *err);
typedef bool (*StorageDriverBatchEnd) (void *handle, DrError *err);
typedef void (*StorageDriverBatchAbort) (void *handle);

typedef struct StorageDriverInterface
{
	const char *name;			/* "posix", "s3", ... */
	uint32		features;		/* STORAGE_FEATURE_* */

	/* required */
	StorageDriverWriteBegin writeBegin;
	StorageDriverWrite write;
	StorageDriverWriteEnd writeEnd;
	StorageDriverWriteAbort writeAbort;
	StorageDriverReadBegin readBegin;
	StorageDriverRead read;
	StorageDriverReadEnd readEnd;
	StorageDriverExists exists;
	StorageDriverList list;
	StorageDriverRemove remove;

	/* optional */
	StorageDriverRemoveDir removeDir;	/* needed with STORAGE_FEATURE_PATH */
	StorageDriverFree free;
	StorageDriverListPage listPage; /* pages cut from list without it */
	StorageDriverRemoveStale removeStale;	/* nothing to remove without it */
	StorageDriverReadBeginRange readBeginRange; /* skipping without it */
	StorageDriverRemoveTree removeTree; /* list and remove without it */
	StorageDriverHostSet hostSet;	/* no cancel while waiting without it */
	/* all three or none; without them deferSync writes are durable at once */
	StorageDriverBatchBegin batchBegin;
	StorageDriverBatchEnd batchEnd;
	StorageDriverBatchAbort batchAbort;
} StorageDriverInterface;

/*
 * A page of a listing gathered from entries offered in any order (a
 * listPage built on an unordered listing such as readdir): keeps the
 * limit smallest names after startAfter, so memory is bounded by the
 * page.  Wants says whether a name would be kept now (the driver need not
 * stat the others); Add keeps a copy of the entry (a name not wanted is
 * only counted, for *more); Emit calls back in name order (callback NULL:
 * none, to discard the page after a failure), sets *more, and frees the
 * page whatever the outcome.
 */
typedef struct StorageListPage StorageListPage;

extern StorageListPage *storageListPageNew(const char *startAfter, int limit);
extern bool storageListPageWants(const StorageListPage *page, const char *name);
extern void storageListPageAdd(StorageListPage *page, const StorageInfo *info);
extern bool storageListPageEmit(StorageListPage *page,
								StorageListCallback callback, void *arg,
								bool *more, DrError *err);

/* Wrap a driver instance; the interface must outlive the Storage. */
extern Storage *storageNew(const StorageDriverInterface *iface, void *driver);

/*
 * A driver as registered (storage_registry.c): the repository settings it
 * accepts (common/config.h), and how it opens a repository configured
 * with them (ConfigRepo.settings, read with configRepoGet).
 */
typedef Storage *(*StorageDriverOpen) (const ConfigRepo *repo, DrError *err);

typedef struct StorageDriverEntry
{
	const ConfigDriver *settings;
	StorageDriverOpen open;
} StorageDriverEntry;

/*
 * Register a driver (storageDriversRegister calls this for each driver the
 * program has; unit tests may add their own); twice counts once.
 */
extern void storageDriverRegister(const StorageDriverEntry *entry);

/* The drivers of this program, as storageDriversRegister registers them. */
extern const StorageDriverEntry storagePosixDriver;	/* posix/settings.c */
extern const StorageDriverEntry storageS3Driver;	/* s3/settings.c */
extern const StorageDriverEntry storageAzureDriver;	/* azure/settings.c */
extern const StorageDriverEntry storageGcsDriver;	/* s3/settings.c */

#endif							/* DR_STORAGE_DRIVER_H */
