/*-------------------------------------------------------------------------
 * repo_origin.c
 *	  The origin marker of a restored data directory (repo_origin.h).
 *
 * Crash safety: the marker is written under a temporary name, fsynced and
 * renamed, then the directory is fsynced, so after a crash there is either
 * the old marker, the new one, or none -- never half of one.  A restore
 * writes it before global/pg_control, so a restored directory that can be
 * started always has it.  Removal is an unlink followed by a directory
 * fsync: once dr_declare_primary() returned, the cluster stays primary
 * across a crash.
 *
 * The reader refuses anything but a small regular file: the marker decides
 * whether WAL may be archived, and a FIFO or a huge file in its place must
 * not hang the archiver.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hex.h"
#include "lib/stringinfo.h"
#include "repo/repo_internal.h"
#include "repo/repo_origin.h"

/* A marker is a few hundred bytes. */
#define REPO_ORIGIN_MAX			(16 * 1024)

/* The names of the marker and where each value goes. */
typedef struct RepoOriginField
{
	const char *name;
	size_t		offset;
	size_t		size;
} RepoOriginField;

static const RepoOriginField repoOriginFields[] = {
	{"repository", offsetof(RepoOrigin, repository), sizeof(((RepoOrigin *) 0)->repository)},
	{"repository_path", offsetof(RepoOrigin, repositoryPath), sizeof(((RepoOrigin *) 0)->repositoryPath)},
	{"backup", offsetof(RepoOrigin, backup), sizeof(((RepoOrigin *) 0)->backup)},
	{"restored", offsetof(RepoOrigin, restored), sizeof(((RepoOrigin *) 0)->restored)},
};

void
repoIdentity(const RepoInfo *info, char *buf)
{
	if (info->hasId)
		hexEncode(info->id, REPO_ID_SIZE, HEX_LOWER, buf);
	else
		snprintf(buf, REPO_IDENTITY_LEN + 1, "created-%s",
				 info->created ? info->created : "");
}

/* Is s free of control characters (it goes on one line)? */
static bool
repoOriginPrintable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char) *s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

char *
repoOriginFormat(const RepoOrigin *origin)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf,
						   "# pg_dr: this data directory was restored from the repository below.\n"
						   "# While pg_dr is configured with that repository, it does not archive,\n"
						   "# back up, expire or make restore points there.  If this cluster is the\n"
						   "# new primary, run SELECT dr_declare_primary() as dr_admin.\n");
	appendStringInfo(&buf, "repository = %s\n", origin->repository);
	if (origin->repositoryPath[0] != '\0' &&
		repoOriginPrintable(origin->repositoryPath))
		appendStringInfo(&buf, "repository_path = %s\n", origin->repositoryPath);
	if (repoOriginPrintable(origin->backup))
		appendStringInfo(&buf, "backup = %s\n", origin->backup);
	appendStringInfo(&buf, "restored = %s\n", origin->restored);
	return buf.data;
}

bool
repoOriginParse(const char *text, size_t len, RepoOrigin *origin,
				DrError *err)
{
	const char *p = text;
	const char *end = text + len;
	int			lineNo = 0;

	memset(origin, 0, sizeof(*origin));
	if (memchr(text, '\0', len) != NULL)
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "origin marker \"%s\" is corrupt: it contains a NUL byte",
						  REPO_ORIGIN_FILE);
	while (p < end)
	{
		const char *nl = memchr(p, '\n', end - p);
		const char *lineEnd = nl ? nl : end;
		const char *eq;
		const char *name;
		const char *value;
		size_t		nameLen;
		size_t		valueLen;
		char	   *dst = NULL;
		size_t		dstSize = 0;

		lineNo++;
		while (p < lineEnd && (*p == ' ' || *p == '\t'))
			p++;
		if (p == lineEnd || *p == '#')
		{
			p = nl ? nl + 1 : end;
			continue;
		}
		eq = memchr(p, '=', lineEnd - p);
		if (eq == NULL)
			return drErrorSet(err, DR_ERR_CORRUPT,
							  "origin marker \"%s\" is corrupt: line %d is not \"name = value\"",
							  REPO_ORIGIN_FILE, lineNo);
		name = p;
		nameLen = eq - p;
		while (nameLen > 0 && (name[nameLen - 1] == ' ' || name[nameLen - 1] == '\t'))
			nameLen--;
		value = eq + 1;
		while (value < lineEnd && (*value == ' ' || *value == '\t'))
			value++;
		valueLen = lineEnd - value;
		while (valueLen > 0 && (value[valueLen - 1] == ' ' ||
								value[valueLen - 1] == '\t' ||
								value[valueLen - 1] == '\r'))
			valueLen--;

		for (int i = 0; i < (int) lengthof(repoOriginFields); i++)
		{
			const RepoOriginField *f = &repoOriginFields[i];

			if (nameLen == strlen(f->name) && strncmp(name, f->name, nameLen) == 0)
			{
				dst = (char *) origin + f->offset;
				dstSize = f->size;
			}
		}

		/* a newer pg_dr may add names: they do not change the decision */
		if (dst != NULL)
		{
			if (valueLen >= dstSize)
				return drErrorSet(err, DR_ERR_CORRUPT,
								  "origin marker \"%s\" is corrupt: line %d is too long",
								  REPO_ORIGIN_FILE, lineNo);
			memcpy(dst, value, valueLen);
			dst[valueLen] = '\0';
		}
		p = nl ? nl + 1 : end;
	}
	if (origin->repository[0] == '\0')
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "origin marker \"%s\" is corrupt: it names no repository",
						  REPO_ORIGIN_FILE);
	return true;
}

bool
repoOriginIsRepo(const RepoOrigin *origin, const RepoInfo *info)
{
	char		identity[REPO_IDENTITY_LEN + 1];

	repoIdentity(info, identity);
	return strcmp(origin->repository, identity) == 0;
}

/* fsync a directory, so that a rename or unlink in it is durable. */
static bool
repoOriginSyncDir(const char *dir, DrError *err)
{
	int			fd = open(dir, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return drErrorSet(err, DR_ERR_IO, "could not open directory \"%s\": %m", dir);
	if (fsync(fd) < 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not fsync directory \"%s\": %m", dir);
		close(fd);
		return false;
	}
	close(fd);
	return true;
}

bool
repoOriginWrite(const char *dataDir, const RepoOrigin *origin, DrError *err)
{
	RepoOrigin	copy = *origin;
	char	   *text;
	char	   *path;
	char	   *tmp;
	int			fd;
	size_t		len;
	bool		ok = false;

	if (copy.restored[0] == '\0')
	{
		char	   *now = repoInfoNow();

		strlcpy(copy.restored, now, sizeof(copy.restored));
		pfree(now);
	}
	text = repoOriginFormat(&copy);
	len = strlen(text);
	path = psprintf("%s/%s", dataDir, REPO_ORIGIN_FILE);
	tmp = psprintf("%s.tmp", path);
	(void) unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not create \"%s\": %m", tmp);
		goto done;
	}
	errno = 0;
	if (write(fd, text, len) != (ssize_t) len)
	{
		if (errno == 0)
			errno = ENOSPC;
		drErrorSet(err, DR_ERR_IO, "could not write \"%s\": %m", tmp);
		close(fd);
		goto done;
	}
	if (fsync(fd) < 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not fsync \"%s\": %m", tmp);
		close(fd);
		goto done;
	}
	if (close(fd) < 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not close \"%s\": %m", tmp);
		goto done;
	}
	if (rename(tmp, path) < 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not rename \"%s\" to \"%s\": %m",
				   tmp, path);
		goto done;
	}
	ok = repoOriginSyncDir(dataDir, err);

done:
	if (!ok)
		(void) unlink(tmp);
	pfree(text);
	pfree(path);
	pfree(tmp);
	return ok;
}

bool
repoOriginRead(const char *dataDir, RepoOrigin *origin, bool *found,
			   DrError *err)
{
	char	   *path = psprintf("%s/%s", dataDir, REPO_ORIGIN_FILE);
	char		buf[REPO_ORIGIN_MAX];
	struct stat st;
	ssize_t		got;
	int			fd;
	bool		ok = false;

	*found = false;
	memset(origin, 0, sizeof(*origin));
	if (lstat(path, &st) != 0)
	{
		if (errno == ENOENT)
			ok = true;
		else
			drErrorSet(err, DR_ERR_IO, "could not stat \"%s\": %m", path);
		goto done;
	}
	*found = true;
	if (!S_ISREG(st.st_mode) || st.st_size >= REPO_ORIGIN_MAX)
	{
		drErrorSet(err, DR_ERR_CORRUPT,
				   "origin marker \"%s\" is not a regular file of at most %d bytes",
				   path, REPO_ORIGIN_MAX - 1);
		drErrorHint(err, "It is written by pg_dr restore; remove it with SELECT dr_declare_primary() if this cluster is the primary.");
		goto done;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not open \"%s\": %m", path);
		goto done;
	}
	got = read(fd, buf, sizeof(buf));
	if (got < 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not read \"%s\": %m", path);
		close(fd);
		goto done;
	}
	close(fd);
	ok = repoOriginParse(buf, (size_t) got, origin, err);

done:
	pfree(path);
	return ok;
}

bool
repoOriginRemove(const char *dataDir, bool *removed, DrError *err)
{
	char	   *path = psprintf("%s/%s", dataDir, REPO_ORIGIN_FILE);
	bool		ok;

	*removed = false;
	if (unlink(path) == 0)
	{
		*removed = true;
		ok = repoOriginSyncDir(dataDir, err);
	}
	else if (errno == ENOENT)
		ok = true;
	else
		ok = drErrorSet(err, DR_ERR_IO, "could not remove \"%s\": %m", path);
	pfree(path);
	return ok;
}

bool
repoOriginGuard(const char *dataDir, const ConfigRepo *config,
				const RepoInfo *info, const char *what, DrError *err)
{
	RepoOrigin	origin;
	RepoInfo	read;
	bool		found;
	bool		same;
	DrError		ignored;

	if (!repoOriginRead(dataDir, &origin, &found, err))
	{
		drErrorPrefix(err, "%s refused: ", what);
		return false;
	}
	if (!found)
		return true;
	if (info == NULL)
	{
		drErrorClear(&ignored);
		if (!repoInfoRead(config, &read, &ignored))
			return true;
		info = &read;
		same = repoOriginIsRepo(&origin, info);
		if (read.created)
			pfree(read.created);
	}
	else
		same = repoOriginIsRepo(&origin, info);
	if (!same)
		return true;
	drErrorSet(err, DR_ERR_PERMISSION,
			   "%s refused: this cluster was restored from backup %s of repository \"%s\" and is not its primary; writing there would damage the source cluster's backups and WAL",
			   what, origin.backup[0] ? origin.backup : "(unknown)",
			   config->path);
	drErrorHint(err, "If this cluster is the new primary, run SELECT dr_declare_primary() as dr_admin (or restore with --as-primary); otherwise point pg_dr.config_file at another repository.");
	return false;
}
