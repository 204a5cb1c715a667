/*-------------------------------------------------------------------------
 * read.c (posix)
 *	  Reading an object of the posix storage driver: a plain file, read
 *	  straight into the caller's buffer (no buffer of our own, so memory
 *	  does not depend on the object size), whole or from an offset (a
 *	  ranged read: storage.h).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/posix/storage_posix.h"
#include "common/owner.h"

typedef struct StoragePosixRead
{
	int			fd;
	char	   *path;			/* absolute, for messages */
} StoragePosixRead;

void *
storagePosixReadBegin(void *driverArg, const char *path, DrError *err)
{
	return storagePosixReadBeginRange(driverArg, path, 0, PG_UINT64_MAX, err);
}

/*
 * The descriptor is positioned at offset; storage.c stops reading after
 * length bytes, so a read never goes past the range (length is not needed
 * here: a plain file has no request to size).
 */
void *
storagePosixReadBeginRange(void *driverArg, const char *path, uint64 offset,
						   uint64 length, DrError *err)
{
	StoragePosix *driver = driverArg;
	StoragePosixRead *rd;
	struct stat st;
	char	   *full;
	int			fd;

	if (!storagePosixCheckName(path, err))
		return NULL;
	full = storagePosixPath(driver, path);
	fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
	{
		/* ENOTDIR: a file where a directory of the path should be */
		drErrorSet(err, (errno == ENOENT || errno == ENOTDIR) ?
				   DR_ERR_NOT_FOUND : DR_ERR_IO,
				   "could not open \"%s\": %m", full);
		ownerAccessDetail(err, full, errno);
		pfree(full);
		return NULL;
	}
	if (fstat(fd, &st) < 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not stat \"%s\": %m", full);
		close(fd);
		pfree(full);
		return NULL;
	}
	if (!S_ISREG(st.st_mode))
	{
		drErrorSet(err, DR_ERR_INVALID, "\"%s\" is not a regular file", full);
		close(fd);
		pfree(full);
		return NULL;
	}

	if (offset > 0 && lseek(fd, (off_t) offset, SEEK_SET) < 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not seek to " UINT64_FORMAT " in \"%s\": %m",
				   offset, full);
		close(fd);
		pfree(full);
		return NULL;
	}

	rd = palloc(sizeof(StoragePosixRead));
	rd->fd = fd;
	rd->path = full;
	return rd;
}

/* Fills buf unless the file ends first (see storage.h). */
ssize_t
storagePosixRead(void *handle, void *buf, size_t len, DrError *err)
{
	StoragePosixRead *rd = handle;
	size_t		done = 0;

	while (done < len)
	{
		ssize_t		n = read(rd->fd, (char *) buf + done, len - done);

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			drErrorSet(err, DR_ERR_IO, "could not read \"%s\": %m", rd->path);
			return -1;
		}
		if (n == 0)
			break;
		done += n;
	}
	return done;
}

void
storagePosixReadEnd(void *handle)
{
	StoragePosixRead *rd = handle;

	close(rd->fd);
	pfree(rd->path);
	pfree(rd);
}
