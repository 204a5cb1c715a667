/*-------------------------------------------------------------------------
 * fs.c
 *	  Local directories: mkdir -p and directory fsync (see fs.h).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/owner.h"

bool
fsSyncDir(const char *dir, DrError *err)
{
	int			fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return drErrorSet(err, DR_ERR_IO, "could not open directory \"%s\": %m",
						  dir);

	/*
	 * Some file systems cannot fsync a directory and say so with EINVAL or
	 * EBADF; PostgreSQL ignores those too (fsync_fname_ext), since there is
	 * nothing better to do on them.
	 */
	if (fsync(fd) < 0 && errno != EINVAL && errno != EBADF)
	{
		drErrorSet(err, DR_ERR_IO, "could not fsync directory \"%s\": %m", dir);
		close(fd);
		return false;
	}
	if (close(fd) < 0)
		return drErrorSet(err, DR_ERR_IO, "could not close directory \"%s\": %m",
						  dir);
	return true;
}

bool
fsSyncParent(const char *path, DrError *err)
{
	const char *parentEnd = strrchr(path, '/');
	char	   *parent;
	bool		ok;

	if (parentEnd == NULL)
		return fsSyncDir(".", err);
	parent = parentEnd == path ? pstrdup("/") : pnstrdup(path, parentEnd - path);
	ok = fsSyncDir(parent, err);
	pfree(parent);
	return ok;
}

/* mkdir path, with the error a caller of fsMakeDirs sees. */
static bool
fsMakeDir(const char *path, mode_t mode, DrError *err)
{
	if (mkdir(path, mode) == 0)
		return true;
	drErrorSet(err, DR_ERR_IO, "could not create directory \"%s\": %m", path);
	ownerAccessDetail(err, path, errno);
	return false;
}

bool
fsMakeDirs(const char *path, mode_t mode, int flags, DrError *err)
{
	struct stat st;
	char	   *copy;
	char	   *slash;
	bool		ok = true;

	/* the common case: the directory is there already */
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return true;

	copy = pstrdup(path);
	slash = copy;
	for (;;)
	{
		bool		last;
		bool		made = false;

		/* the next component: up to the next '/', or the end */
		slash = strchr(slash + 1, '/');
		last = (slash == NULL);
		if (!last)
			*slash = '\0';

		if (mkdir(copy, mode) == 0)
			made = true;
		else if (errno != EEXIST)
		{
			ok = drErrorSet(err, DR_ERR_IO,
							"could not create directory \"%s\": %m", copy);
			ownerAccessDetail(err, copy, errno);
			break;
		}
		else if (stat(copy, &st) == 0 && !S_ISDIR(st.st_mode))
		{
			/* a file (or a link to one) in the way */
			if (!(flags & FS_MKDIR_REPLACE))
			{
				ok = drErrorSet(err, DR_ERR_IO,
								"could not create directory \"%s\": a file with that name exists",
								copy);
				break;
			}
			if (unlink(copy) < 0)
			{
				ok = drErrorSet(err, DR_ERR_IO, "could not remove \"%s\": %m",
								copy);
				break;
			}
			if (!(ok = fsMakeDir(copy, mode, err)))
				break;
			made = true;
		}

		/* the new entry lives in the parent: make it durable there */
		if (made && (flags & FS_MKDIR_SYNC) && !(ok = fsSyncParent(copy, err)))
			break;
		if (last)
			break;
		*slash = '/';
	}

	/* EEXIST on a dangling link, or a file swapped in since: say so */
	if (ok && (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)))
		ok = drErrorSet(err, DR_ERR_IO,
						"could not create directory \"%s\": a file with that name exists",
						path);
	pfree(copy);
	return ok;
}
