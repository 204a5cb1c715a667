/*-------------------------------------------------------------------------
 * write.c (posix)
 *	  Writing an object of the posix storage driver.
 *
 * An object is written to "<name>.tmp.<pid>.<counter>" in its final
 * directory, fsynced, and only then given its name:
 *	 - without replace, by link(temp, name): link fails with EEXIST when
 *	   the name exists, so an object is never overwritten, even by two
 *	   writers racing for the same name (a rename would silently replace);
 *	   the temp name is then unlinked;
 *	 - with replace (repository metadata only), by rename(), which swaps
 *	   the old content for the new atomically;
 * and the directory is fsynced so that the name survives a crash (for a
 * deferred write, both fsyncs are left to the end of the batch).  Until
 * then, the object does not exist as far as readers and listings are
 * concerned (temp names are never listed).  A crash leaves at most a
 * temp file, which nothing ever reads.
 *
 * Small writes are gathered in a fixed buffer (the codec writes headers
 * and chunk framing of a few bytes); large ones go straight to the file.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/posix/storage_posix.h"
#include "common/fs.h"
#include "common/owner.h"

#define STORAGE_POSIX_WRITE_BUFFER	(256 * 1024)

typedef struct StoragePosixWrite
{
	int			fd;				/* -1 once closed */
	bool		replace;
	bool		deferSync;		/* no fsync here: the batch's syncfs */
	char	   *path;			/* absolute final name */
	char	   *pathTmp;		/* absolute temp name */
	char	   *dir;			/* absolute directory of both */
	char	   *buf;			/* STORAGE_POSIX_WRITE_BUFFER bytes */
	size_t		used;
} StoragePosixWrite;

/*
 * Makes temp names unique within the process, whatever the number of
 * Storage instances; the pid makes them unique across processes.
 */
static uint64 storagePosixTempCounter = 0;

static void
storagePosixWriteFree(StoragePosixWrite *wr)
{
	pfree(wr->path);
	pfree(wr->pathTmp);
	pfree(wr->dir);
	if (wr->buf)
		pfree(wr->buf);
	pfree(wr);
}

void *
storagePosixWriteBegin(void *driverArg, const char *path,
					   const StorageWriteParam *param, DrError *err)
{
	StoragePosix *driver = driverArg;
	StoragePosixWrite *wr;
	char	   *full;
	char	   *dir;

	if (!storagePosixCheckName(path, err))
		return NULL;
	full = storagePosixPath(driver, path);

	/*
	 * Fail early when the object exists, rather than after streaming what
	 * may be gigabytes into a temp file; link() in WriteEnd still decides
	 * the race.
	 */
	if (!param->replace && access(full, F_OK) == 0)
	{
		drErrorSet(err, DR_ERR_EXISTS, "\"%s\" already exists", full);
		pfree(full);
		return NULL;
	}

	dir = pnstrdup(full, strrchr(full, '/') - full);
	if (!fsMakeDirs(dir, STORAGE_POSIX_DIR_MODE,
					(param->deferSync && STORAGE_POSIX_DEFER_SYNC) ? 0 : FS_MKDIR_SYNC,
					err))
	{
		pfree(dir);
		pfree(full);
		return NULL;
	}

	wr = palloc0(sizeof(StoragePosixWrite));
	wr->replace = param->replace;
	wr->deferSync = param->deferSync && STORAGE_POSIX_DEFER_SYNC;
	wr->path = full;
	wr->dir = dir;
	wr->pathTmp = psprintf("%s.tmp.%d." UINT64_FORMAT, full, (int) getpid(),
						   ++storagePosixTempCounter);
	wr->fd = open(wr->pathTmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
				  STORAGE_POSIX_FILE_MODE);
	if (wr->fd < 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not create temporary file \"%s\": %m",
				   wr->pathTmp);
		if (errno == EACCES)
			ownerAccessDetail(err, wr->dir, errno);
		else if (errno == EROFS)
			drErrorHint(err, "the user running pg_dr must be able to write to \"%s\"",
						wr->dir);
		wr->buf = NULL;
		storagePosixWriteFree(wr);
		return NULL;
	}
	wr->buf = palloc(STORAGE_POSIX_WRITE_BUFFER);
	return wr;
}

/* write(2) all of buf, through EINTR and short writes. */
static bool
storagePosixWriteAll(StoragePosixWrite *wr, const char *buf, size_t len,
					 DrError *err)
{
	while (len > 0)
	{
		ssize_t		n = write(wr->fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
		{
			/* a write that makes no progress means the disk is full */
			if (n == 0)
				errno = ENOSPC;
			return drErrorSet(err, DR_ERR_IO, "could not write \"%s\": %m",
							  wr->pathTmp);
		}
		buf += n;
		len -= n;
	}
	return true;
}

static bool
storagePosixFlush(StoragePosixWrite *wr, DrError *err)
{
	if (wr->used == 0)
		return true;
	if (!storagePosixWriteAll(wr, wr->buf, wr->used, err))
		return false;
	wr->used = 0;
	return true;
}

bool
storagePosixWrite(void *handle, const void *data, size_t len, DrError *err)
{
	StoragePosixWrite *wr = handle;
	const char *p = data;

	while (len > 0)
	{
		size_t		n;

		/* nothing gathered and a large write: no point in copying it */
		if (wr->used == 0 && len >= STORAGE_POSIX_WRITE_BUFFER)
			return storagePosixWriteAll(wr, p, len, err);

		n = Min(len, STORAGE_POSIX_WRITE_BUFFER - wr->used);
		memcpy(wr->buf + wr->used, p, n);
		wr->used += n;
		p += n;
		len -= n;
		if (wr->used == STORAGE_POSIX_WRITE_BUFFER &&
			!storagePosixFlush(wr, err))
			return false;
	}
	return true;
}

bool
storagePosixWriteEnd(void *handle, DrError *err)
{
	StoragePosixWrite *wr = handle;
	int			fd = wr->fd;

	if (!storagePosixFlush(wr, err))
		goto fail;
	if (!wr->deferSync && fsync(fd) < 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not fsync \"%s\": %m", wr->pathTmp);
		goto fail;
	}
	/* close can report a deferred write error (NFS): check it */
	wr->fd = -1;
	if (close(fd) < 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not close \"%s\": %m", wr->pathTmp);
		goto fail;
	}

	if (wr->replace)
	{
		if (rename(wr->pathTmp, wr->path) < 0)
		{
			drErrorSet(err, DR_ERR_IO, "could not rename \"%s\" to \"%s\": %m",
					   wr->pathTmp, wr->path);
			goto fail;
		}
	}
	else
	{
		if (link(wr->pathTmp, wr->path) < 0)
		{
			if (errno == EEXIST)
				drErrorSet(err, DR_ERR_EXISTS, "\"%s\" already exists", wr->path);
			else
			{
				drErrorSet(err, DR_ERR_IO, "could not link \"%s\" to \"%s\": %m",
						   wr->pathTmp, wr->path);
				if (errno == EPERM || errno == ENOTSUP || errno == EOPNOTSUPP)
					drErrorHint(err, "the file system of the repository must support hard links");
			}
			goto fail;
		}

		/*
		 * The object is complete under its name now.  A temp name left
		 * behind if this unlink fails is never listed or read, so it is not
		 * worth failing a write that succeeded.
		 */
		(void) unlink(wr->pathTmp);
	}

	if (!wr->deferSync && !fsSyncDir(wr->dir, err))
	{
		/*
		 * The name may not survive a crash, so the write must fail; take a
		 * new object back so that nothing half-durable stays visible.  A
		 * replaced object cannot be taken back: its old content is gone.
		 */
		if (!wr->replace)
			(void) unlink(wr->path);
		storagePosixWriteFree(wr);
		return false;
	}

	storagePosixWriteFree(wr);
	return true;

fail:
	storagePosixWriteAbort(wr);
	return false;
}

void
storagePosixWriteAbort(void *handle)
{
	StoragePosixWrite *wr = handle;

	if (wr->fd >= 0)
		close(wr->fd);
	/* nothing but the temp name was ever created */
	(void) unlink(wr->pathTmp);
	storagePosixWriteFree(wr);
}
