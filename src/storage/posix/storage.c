/*-------------------------------------------------------------------------
 * storage.c (posix)
 *	  The posix storage driver: a repository in a local (or mounted)
 *	  directory.  This file sets the driver up and holds the directory
 *	  operations (exists, list, listPage, remove, removeDir) and the helpers
 *	  read.c and write.c share; reading and writing objects live in read.c and write.c.
 *
 * Durability follows PostgreSQL's rules for its own files: data is fsynced
 * before it gets its final name, and a directory is fsynced after an entry
 * in it was created, renamed or removed; otherwise a crash can lose a name
 * that the caller was told exists.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/posix/storage_posix.h"
#include "common/fs.h"
#include "common/owner.h"

char *
storagePosixPath(const StoragePosix *driver, const char *path)
{
	if (path[0] == '\0')
		return pstrdup(driver->root);
	return psprintf("%s/%s", driver->root, path);
}

/* Whether s[0..len) is a non-empty run of digits. */
static bool
storagePosixDigits(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/*
 * Parsed from the end, since the object name before ".tmp." may contain
 * anything, dots included.
 */
bool
storagePosixIsTemp(const char *path)
{
	const char *name = strrchr(path, '/');
	const char *end;
	const char *dot;
	size_t		len;

	name = name ? name + 1 : path;
	end = name + strlen(name);

	/* <counter> */
	for (dot = end; dot > name && dot[-1] != '.'; dot--)
		;
	if (dot == name || !storagePosixDigits(dot, end - dot))
		return false;
	end = dot - 1;
	/* <pid> */
	for (dot = end; dot > name && dot[-1] != '.'; dot--)
		;
	if (dot == name || !storagePosixDigits(dot, end - dot))
		return false;
	end = dot - 1;
	/* ".tmp", with at least one character of object name before it */
	len = end - name;
	return len > 4 && strncmp(end - 4, ".tmp", 4) == 0;
}

bool
storagePosixCheckName(const char *path, DrError *err)
{
	if (storagePosixIsTemp(path))
		return drErrorSet(err, DR_ERR_INVALID,
						  "invalid storage path \"%s\": names ending in \".tmp.<pid>.<n>\" are reserved for temporary files",
						  path);
	return true;
}

/*
 * Only regular files are objects: a directory "exists" on a posix file
 * system but has no equivalent in an object store, and callers must not
 * come to depend on it.
 */
static bool
storagePosixExists(void *driverArg, const char *path, bool *exists,
				   DrError *err)
{
	StoragePosix *driver = driverArg;
	struct stat st;
	char	   *full;

	if (!storagePosixCheckName(path, err))
		return false;
	full = storagePosixPath(driver, path);
	if (stat(full, &st) < 0)
	{
		if (errno != ENOENT && errno != ENOTDIR)
		{
			drErrorSet(err, DR_ERR_IO, "could not stat \"%s\": %m", full);
			pfree(full);
			return false;
		}
		*exists = false;
	}
	else
		*exists = S_ISREG(st.st_mode);
	pfree(full);
	return true;
}

/*
 * One entry of a directory being read (not ".", "..", nor a temporary
 * name): its name, and its type, size and time once stat'd.
 */
typedef bool (*StoragePosixEntryFn) (void *arg, DIR *d, const char *full,
									 const char *name, DrError *err);

/*
 * Call fn for every entry of directory dir.  A missing directory lists
 * nothing, as a prefix does in a store (where an object of the same name
 * is no prefix either).  False when the directory cannot be read or fn
 * returned false.
 */
static bool
storagePosixReadDir(StoragePosix *driver, const char *dir,
					StoragePosixEntryFn fn, void *arg, DrError *err)
{
	char	   *full = storagePosixPath(driver, dir);
	DIR		   *d;
	struct dirent *de;
	bool		result = true;

	d = opendir(full);
	if (d == NULL)
	{
		if (errno == ENOENT || errno == ENOTDIR)
		{
			pfree(full);
			return true;
		}
		drErrorSet(err, DR_ERR_IO, "could not open directory \"%s\": %m", full);
		ownerAccessDetail(err, full, errno);
		pfree(full);
		return false;
	}
	for (;;)
	{
		errno = 0;
		de = readdir(d);
		if (de == NULL)
		{
			if (errno != 0)
				result = drErrorSet(err, DR_ERR_IO,
									"could not read directory \"%s\": %m", full);
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
			storagePosixIsTemp(de->d_name))
			continue;
		if (!fn(arg, d, full, de->d_name, err))
		{
			result = false;
			break;
		}
	}
	closedir(d);
	pfree(full);
	return result;
}

/*
 * Fill info from the entry's stat: 1, or 0 when it is gone (removed since
 * readdir saw it, or a dangling link), or -1 on error.
 */
static int
storagePosixEntryStat(DIR *d, const char *full, const char *name,
					  StorageInfo *info, DrError *err)
{
	struct stat st;

	if (fstatat(dirfd(d), name, &st, 0) < 0)
	{
		if (errno == ENOENT)
			return 0;
		drErrorSet(err, DR_ERR_IO, "could not stat \"%s/%s\": %m", full, name);
		return -1;
	}
	info->isDir = S_ISDIR(st.st_mode);
	info->size = info->isDir ? 0 : (uint64) st.st_size;
	info->mtime = (int64) st.st_mtime;
	return 1;
}

typedef struct StoragePosixListState
{
	StorageListCallback callback;
	void	   *arg;
} StoragePosixListState;

static bool
storagePosixListEntry(void *arg, DIR *d, const char *full, const char *name,
					  DrError *err)
{
	StoragePosixListState *state = arg;
	StorageInfo info;
	int			rc;

	memset(&info, 0, sizeof(info));
	info.name = name;
	rc = storagePosixEntryStat(d, full, name, &info, err);
	if (rc <= 0)
		return rc == 0;
	return state->callback(state->arg, &info, err);
}

static bool
storagePosixList(void *driverArg, const char *dir,
				 StorageListCallback callback, void *arg, DrError *err)
{
	StoragePosixListState state = {callback, arg};

	return storagePosixReadDir(driverArg, dir, storagePosixListEntry, &state,
							   err);
}

/* Each entry offered to the page; stat'd only when the page keeps it. */
static bool
storagePosixPageEntry(void *arg, DIR *d, const char *full, const char *name,
					  DrError *err)
{
	StorageListPage *page = arg;
	StorageInfo info;

	memset(&info, 0, sizeof(info));
	info.name = name;
	if (storageListPageWants(page, name))
	{
		int			rc = storagePosixEntryStat(d, full, name, &info, err);

		if (rc <= 0)
			return rc == 0;
	}
	storageListPageAdd(page, &info);
	return true;
}

/*
 * One page of a listing: readdir returns names in no order, so the whole
 * directory is read for each page, keeping the smallest names after
 * startAfter (StorageListPage); memory is bounded by the page, and only
 * the names the page would keep are stat'd.
 */
static bool
storagePosixListPage(void *driverArg, const char *dir, const char *startAfter,
					 int limit, StorageListCallback callback, void *arg,
					 bool *more, DrError *err)
{
	StorageListPage *page = storageListPageNew(startAfter, limit);
	bool		result;

	*more = false;
	result = storagePosixReadDir(driverArg, dir, storagePosixPageEntry, page,
								 err);
	if (result)
		result = storageListPageEmit(page, callback, arg, more, err);
	else
		(void) storageListPageEmit(page, NULL, NULL, more, err);
	return result;
}

/*
 * The directory is fsynced after the unlink: key rotation removes the
 * wraps under a retired passphrase and relies on them staying removed.
 */
static bool
storagePosixRemove(void *driverArg, const char *path, DrError *err)
{
	StoragePosix *driver = driverArg;
	char	   *full;
	char	   *dir;
	bool		result;

	if (!storagePosixCheckName(path, err))
		return false;
	full = storagePosixPath(driver, path);
	if (unlink(full) < 0)
	{
		if (errno == ENOENT || errno == ENOTDIR)
			result = true;
		else
			result = drErrorSet(err, DR_ERR_IO, "could not remove \"%s\": %m",
								full);
		pfree(full);
		return result;
	}

	dir = pnstrdup(full, strrchr(full, '/') - full);
	result = fsSyncDir(dir, err);
	pfree(dir);
	pfree(full);
	return result;
}

/*
 * Unlink the temp files a crashed writer left in dir (never listed, so a
 * caller emptying the directory cannot see them).
 */
static void
storagePosixRemoveTemps(const char *dir)
{
	DIR		   *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (storagePosixIsTemp(de->d_name))
			(void) unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

/*
 * The temp files of dir (write.c names them) last modified before
 * olderThan: a crashed writer's.  A live writer's temp file changes with
 * every write; one stalled past olderThan fails at its link() or rename()
 * when the file is gone, and the object is written again.
 */
static bool
storagePosixRemoveStale(void *driverArg, const char *path, int64 olderThan,
						int *removed, DrError *err)
{
	StoragePosix *driver = driverArg;
	char	   *full = storagePosixPath(driver, path);
	DIR		   *d = opendir(full);
	struct dirent *de;
	bool		result = true;

	if (d == NULL)
	{
		if (errno != ENOENT && errno != ENOTDIR)
			result = drErrorSet(err, DR_ERR_IO,
								"could not open directory \"%s\": %m", full);
		pfree(full);
		return result;
	}
	while ((de = readdir(d)) != NULL)
	{
		struct stat st;

		if (!storagePosixIsTemp(de->d_name))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
			!S_ISREG(st.st_mode) || (int64) st.st_mtime >= olderThan)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			(*removed)++;
		else if (errno != ENOENT)
		{
			result = drErrorSet(err, DR_ERR_IO,
								"could not remove \"%s/%s\": %m", full,
								de->d_name);
			break;
		}
	}
	closedir(d);
	if (result && *removed > 0)
		result = fsSyncDir(full, err);
	pfree(full);
	return result;
}

/*
 * rmdir, then an fsync of the parent so that the removal survives a crash
 * (as for an unlink).  Leftover temp files do not keep a directory alive.
 */
static bool
storagePosixRemoveDir(void *driverArg, const char *path, DrError *err)
{
	StoragePosix *driver = driverArg;
	char	   *full;
	char	   *parent;
	bool		result;
	int			ret;

	full = storagePosixPath(driver, path);
	ret = rmdir(full);
	if (ret < 0 && (errno == ENOTEMPTY || errno == EEXIST))
	{
		storagePosixRemoveTemps(full);
		ret = rmdir(full);
	}
	if (ret < 0)
	{
		if (errno == ENOENT)
			result = true;
		else
			result = drErrorSet(err, DR_ERR_IO,
								"could not remove directory \"%s\": %m", full);
		pfree(full);
		return result;
	}

	parent = pnstrdup(full, strrchr(full, '/') - full);
	result = fsSyncDir(parent, err);
	pfree(parent);
	pfree(full);
	return result;
}

static void
storagePosixFree(void *driverArg)
{
	StoragePosix *driver = driverArg;

	pfree(driver->root);
	pfree(driver);
}

/*
 * A batch holds the repository root open: syncfs() reports the write-back
 * errors of the file system since the descriptor was opened, so it must be
 * opened before the batch's first write.
 */
typedef struct StoragePosixBatch
{
	int			fd;
	char	   *root;
} StoragePosixBatch;

static void *
storagePosixBatchBegin(void *driverArg, DrError *err)
{
	StoragePosix *driver = driverArg;
	StoragePosixBatch *batch;
	int			fd;

	fd = open(driver->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not open directory \"%s\": %m",
				   driver->root);
		return NULL;
	}
	batch = palloc(sizeof(StoragePosixBatch));
	batch->fd = fd;
	batch->root = pstrdup(driver->root);
	return batch;
}

static void
storagePosixBatchAbort(void *handle)
{
	StoragePosixBatch *batch = handle;

	close(batch->fd);
	pfree(batch->root);
	pfree(batch);
}

static bool
storagePosixBatchEnd(void *handle, DrError *err)
{
	StoragePosixBatch *batch = handle;
	bool		ok = true;

#ifdef HAVE_SYNCFS
	if (syncfs(batch->fd) < 0)
		ok = drErrorSet(err, DR_ERR_IO,
						"could not synchronize the file system of \"%s\": %m",
						batch->root);
#endif
	storagePosixBatchAbort(batch);
	return ok;
}

static const StorageDriverInterface storagePosixInterface = {
	.name = "posix",
	.features = STORAGE_FEATURE_ATOMIC_PUT | STORAGE_FEATURE_NO_OVERWRITE |
	STORAGE_FEATURE_PATH | STORAGE_FEATURE_FSYNC,
	.writeBegin = storagePosixWriteBegin,
	.write = storagePosixWrite,
	.writeEnd = storagePosixWriteEnd,
	.writeAbort = storagePosixWriteAbort,
	.readBegin = storagePosixReadBegin,
	.read = storagePosixRead,
	.readEnd = storagePosixReadEnd,
	.exists = storagePosixExists,
	.list = storagePosixList,
	.remove = storagePosixRemove,
	.removeDir = storagePosixRemoveDir,
	.removeStale = storagePosixRemoveStale,
	.free = storagePosixFree,
	.listPage = storagePosixListPage,
	.readBeginRange = storagePosixReadBeginRange,
	.batchBegin = storagePosixBatchBegin,
	.batchEnd = storagePosixBatchEnd,
	.batchAbort = storagePosixBatchAbort,
};

/*
 * The root need not exist yet (repoCreate makes it with its first write),
 * but if something is there it must be a directory.
 */
Storage *
storagePosixNew(const char *root, DrError *err)
{
	StoragePosix *driver;
	struct stat st;
	size_t		len;

	if (root == NULL || root[0] != '/')
	{
		drErrorSet(err, DR_ERR_INVALID,
				   "repository path \"%s\" must be absolute",
				   root ? root : "");
		return NULL;
	}
	len = strlen(root);
	while (len > 1 && root[len - 1] == '/')
		len--;
	if (len == 1)
	{
		drErrorSet(err, DR_ERR_INVALID,
				   "repository path must not be the root directory");
		return NULL;
	}

	driver = palloc0(sizeof(StoragePosix));
	driver->root = pnstrdup(root, len);

	if (stat(driver->root, &st) < 0)
	{
		if (errno != ENOENT)
		{
			drErrorSet(err, DR_ERR_IO, "could not stat \"%s\": %m", driver->root);
			ownerAccessDetail(err, driver->root, errno);
			storagePosixFree(driver);
			return NULL;
		}
	}
	else if (!S_ISDIR(st.st_mode))
	{
		drErrorSet(err, DR_ERR_INVALID,
				   "repository path \"%s\" is not a directory", driver->root);
		storagePosixFree(driver);
		return NULL;
	}

	return storageNew(&storagePosixInterface, driver);
}
