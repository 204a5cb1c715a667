/*-------------------------------------------------------------------------
 * restore_fs.c
 *	  File system helpers for restore: removal, small files written
 *	  atomically, and comparing a file with a manifest entry (mkdir -p and
 *	  directory fsync are common/fs.c's).
 *
 * Restore writes into a directory that will become a cluster, so it keeps
 * PostgreSQL's own durability rules: a file is fsynced before it gets its
 * name, and a directory is fsynced after names in it changed.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "common/cryptohash.h"
#include "common/fs.h"
#include "lib/stringinfo.h"
#include "restore/restore_internal.h"

char *
restorePathResolve(const char *path, DrError *err)
{
	char	   *existing;
	char	  **missing;
	int			missingCount = 0;
	char	   *real;
	StringInfoData buf;

	if (path == NULL || path[0] != '/')
		return drErrorSet(err, DR_ERR_INVALID, "path \"%s\" is not absolute",
						  path ? path : ""), NULL;

	/* strip components from the end until what is left exists */
	existing = pstrdup(path);
	missing = palloc(sizeof(char *) * (strlen(path) + 1));
	/* malloc'd by realpath: a caller's buffer must hold PATH_MAX */
	while ((real = realpath(existing, NULL)) == NULL)
	{
		char	   *slash;

		if (errno != ENOENT && errno != ENOTDIR)
		{
			drErrorSet(err, DR_ERR_IO, "could not resolve the path \"%s\": %m",
					   existing);
			pfree(existing);
			pfree(missing);
			return NULL;
		}
		slash = strrchr(existing, '/');
		missing[missingCount++] = pstrdup(slash + 1);
		if (slash == existing)
			slash[1] = '\0';	/* "/" always resolves */
		else
			*slash = '\0';
	}

	/* then what does not exist yet, lexically: none of it is a link */
	initStringInfo(&buf);
	appendStringInfoString(&buf, real);
	free(real);
	while (missingCount > 0)
	{
		char	   *part = missing[--missingCount];

		if (strcmp(part, "..") == 0)
		{
			char	   *slash = strrchr(buf.data, '/');

			buf.len = slash == buf.data ? 1 : (int) (slash - buf.data);
			buf.data[buf.len] = '\0';
		}
		else if (part[0] != '\0' && strcmp(part, ".") != 0)
		{
			if (buf.len > 1)
				appendStringInfoChar(&buf, '/');
			appendStringInfoString(&buf, part);
		}
		pfree(part);
	}
	pfree(missing);
	pfree(existing);
	return buf.data;
}

bool
restorePathOverlap(const char *a, const char *b)
{
	if (strcmp(a, "/") == 0 || strcmp(b, "/") == 0)
		return true;
	return path_is_prefix_of_path(a, b) || path_is_prefix_of_path(b, a);
}

char *
restoreTempName(const char *path)
{
	return psprintf("%s.pg_dr-tmp.%d", path, (int) getpid());
}

bool
restoreRemoveTree(const char *path, DrError *err)
{
	struct stat st;
	DIR		   *dir;
	struct dirent *de;
	bool		ok = true;

	if (lstat(path, &st) < 0)
	{
		if (errno == ENOENT)
			return true;
		return drErrorSet(err, DR_ERR_IO, "could not stat \"%s\": %m", path);
	}
	if (!S_ISDIR(st.st_mode))
	{
		if (unlink(path) < 0 && errno != ENOENT)
			return drErrorSet(err, DR_ERR_IO, "could not remove \"%s\": %m", path);
		return true;
	}

	dir = opendir(path);
	if (dir == NULL)
		return drErrorSet(err, DR_ERR_IO, "could not open directory \"%s\": %m",
						  path);
	for (;;)
	{
		char	   *child;

		errno = 0;
		de = readdir(dir);
		if (de == NULL)
		{
			if (errno != 0)
				ok = drErrorSet(err, DR_ERR_IO, "could not read directory \"%s\": %m",
								path);
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		child = psprintf("%s/%s", path, de->d_name);
		ok = restoreRemoveTree(child, err);
		pfree(child);
		if (!ok)
			break;
	}
	closedir(dir);
	if (ok && rmdir(path) < 0 && errno != ENOENT)
		ok = drErrorSet(err, DR_ERR_IO, "could not remove directory \"%s\": %m",
						path);
	return ok;
}

bool
restoreDirEmpty(const char *path, bool *empty, bool *exists, DrError *err)
{
	DIR		   *dir = opendir(path);
	struct dirent *de;

	*empty = true;
	*exists = true;
	if (dir == NULL)
	{
		if (errno == ENOENT)
		{
			*exists = false;
			return true;
		}
		return drErrorSet(err, DR_ERR_IO, "could not open directory \"%s\": %m",
						  path);
	}
	for (;;)
	{
		errno = 0;
		de = readdir(dir);
		if (de == NULL)
		{
			if (errno != 0)
			{
				drErrorSet(err, DR_ERR_IO, "could not read directory \"%s\": %m",
						   path);
				closedir(dir);
				return false;
			}
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
			strcmp(de->d_name, "lost+found") == 0)
			continue;
		*empty = false;
		break;
	}
	closedir(dir);
	return true;
}

bool
restoreFileSame(const char *path, uint64 size, const uint8 *sha256,
				uint64 partSize, uint32 parts, char *buffer,
				const DrHost *host, bool *same, DrError *err)
{
	uint64		done = 0;
	struct stat st;
	pg_cryptohash_ctx *ctx;		/* of the file, or of the part read */
	pg_cryptohash_ctx *outer = NULL;	/* of the parts' digests */
	uint8		digest[CODEC_SHA256_SIZE];
	uint32		part = 0;
	int			fd;
	bool		ok = false;

	*same = false;
	if (lstat(path, &st) < 0)
	{
		if (errno == ENOENT || errno == ENOTDIR)
			return true;
		return drErrorSet(err, DR_ERR_IO, "could not stat \"%s\": %m", path);
	}
	if (!S_ISREG(st.st_mode) || (uint64) st.st_size != size)
		return true;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return drErrorSet(err, DR_ERR_IO, "could not open \"%s\": %m", path);
	ctx = pg_cryptohash_create(PG_SHA256);
	if (parts > 0)
		outer = pg_cryptohash_create(PG_SHA256);
	if (ctx == NULL || pg_cryptohash_init(ctx) < 0 ||
		(parts > 0 && (outer == NULL || pg_cryptohash_init(outer) < 0)))
	{
		drErrorSet(err, DR_ERR_INTERNAL, "could not start SHA-256 of \"%s\"", path);
		goto done;
	}
	for (;;)
	{
		size_t		want = RESTORE_BUFFER_SIZE;
		ssize_t		n;

		/* in parts: never read across the end of a part but the last */
		if (parts > 0 && part + 1 < parts)
			want = Min(want, (uint64) (part + 1) * partSize - done);
		n = read(fd, buffer, want);
		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			drErrorSet(err, DR_ERR_IO, "could not read \"%s\": %m", path);
			goto done;
		}
		if (n == 0)
			break;
		/* a large file: stop inside it */
		done += n;
		if (done % RESTORE_CANCEL_CHECK < (uint64) n && hostCancelled(host))
		{
			restoreCancelled(err);
			goto done;
		}
		if (pg_cryptohash_update(ctx, (uint8 *) buffer, n) < 0)
		{
			drErrorSet(err, DR_ERR_INTERNAL, "could not compute SHA-256 of \"%s\": %s",
					   path, pg_cryptohash_error(ctx));
			goto done;
		}
		if (parts > 0 && part + 1 < parts && done == (uint64) (part + 1) * partSize)
		{
			/* a part ends here: its digest goes into the file's */
			if (pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0 ||
				pg_cryptohash_update(outer, digest, sizeof(digest)) < 0 ||
				pg_cryptohash_init(ctx) < 0)
			{
				drErrorSet(err, DR_ERR_INTERNAL, "could not compute SHA-256 of \"%s\"",
						   path);
				goto done;
			}
			part++;
		}
	}
	if (pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0 ||
		(parts > 0 &&
		 (part + 1 != parts ||
		  pg_cryptohash_update(outer, digest, sizeof(digest)) < 0 ||
		  pg_cryptohash_final(outer, digest, sizeof(digest)) < 0)))
	{
		/* parts left without a byte: the file is not that backup's */
		if (parts > 0 && part + 1 != parts)
		{
			ok = true;
			goto done;
		}
		drErrorSet(err, DR_ERR_INTERNAL, "could not compute SHA-256 of \"%s\"",
				   path);
		goto done;
	}
	*same = memcmp(digest, sha256, CODEC_SHA256_SIZE) == 0;
	ok = true;

done:
	pg_cryptohash_free(ctx);
	pg_cryptohash_free(outer);
	close(fd);
	return ok;
}

bool
restoreWriteAll(int fd, const void *buf, size_t len, const char *path,
				DrError *err)
{
	const char *p = buf;

	while (len > 0)
	{
		ssize_t		n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
		{
			/* a write that makes no progress means the disk is full */
			if (n == 0)
				errno = ENOSPC;
			return drErrorSet(err, DR_ERR_IO, "could not write \"%s\": %m", path);
		}
		p += n;
		len -= n;
	}
	return true;
}

bool
restoreFilePut(const char *path, const void *buf, size_t len, mode_t mode,
			   DrError *err)
{
	char	   *tmp = restoreTempName(path);
	int			fd;
	bool		ok = false;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not create \"%s\": %m", tmp);
		pfree(tmp);
		return false;
	}
	if (!restoreWriteAll(fd, buf, len, tmp, err))
		goto fail;
	if (fchmod(fd, mode) < 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not set the mode of \"%s\": %m", tmp);
		goto fail;
	}
	if (fsync(fd) < 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not fsync \"%s\": %m", tmp);
		goto fail;
	}
	if (close(fd) < 0)
	{
		fd = -1;
		drErrorSet(err, DR_ERR_IO, "could not close \"%s\": %m", tmp);
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not rename \"%s\" to \"%s\": %m",
				   tmp, path);
		goto fail;
	}
	ok = fsSyncParent(path, err);
	pfree(tmp);
	return ok;

fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	pfree(tmp);
	return false;
}
