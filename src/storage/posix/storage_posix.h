/*-------------------------------------------------------------------------
 * storage_posix.h
 *	  Internal to the posix storage driver (the .c files of storage/posix): the driver
 *	  instance, its read and write callbacks, and the helpers they share.
 *	  Users go through storage.h (storagePosixNew).
 *
 * Temporary files are named "<name>.tmp.<pid>.<counter>" in the directory
 * of the object.  Such names are reserved: they are never listed, and the
 * API refuses them as object names, so a temp file can never be mistaken
 * for an object (or an object for a stale temp file).
 *-------------------------------------------------------------------------
 */
#ifndef DR_STORAGE_POSIX_H
#define DR_STORAGE_POSIX_H

#include "storage/storage_driver.h"

/* Permissions of what the driver creates (before the umask). */
#define STORAGE_POSIX_FILE_MODE		0640
#define STORAGE_POSIX_DIR_MODE		0750

typedef struct StoragePosix
{
	char	   *root;			/* absolute, no trailing slash */
} StoragePosix;

/* Absolute path of path ("" = the root), palloc'd. */
extern char *storagePosixPath(const StoragePosix *driver, const char *path);

/* Whether the last component of path is a temporary file name. */
extern bool storagePosixIsTemp(const char *path);

/* DR_ERR_INVALID if path names a temporary file (see above). */
extern bool storagePosixCheckName(const char *path, DrError *err);

/*
 * Deferred writes need syncfs() to be made durable in one call; without
 * it (not Linux) they are made durable one by one, like the others.
 */
#ifdef HAVE_SYNCFS
#define STORAGE_POSIX_DEFER_SYNC	true
#else
#define STORAGE_POSIX_DEFER_SYNC	false
#endif

/* read.c */
extern void *storagePosixReadBegin(void *driver, const char *path,
								   DrError *err);
extern void *storagePosixReadBeginRange(void *driver, const char *path,
										uint64 offset, uint64 length,
										DrError *err);
extern ssize_t storagePosixRead(void *handle, void *buf, size_t len,
								DrError *err);
extern void storagePosixReadEnd(void *handle);

/* write.c */
extern void *storagePosixWriteBegin(void *driver, const char *path,
									const StorageWriteParam *param,
									DrError *err);
extern bool storagePosixWrite(void *handle, const void *buf, size_t len,
							  DrError *err);
extern bool storagePosixWriteEnd(void *handle, DrError *err);
extern void storagePosixWriteAbort(void *handle);

#endif							/* DR_STORAGE_POSIX_H */
