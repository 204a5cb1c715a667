/*-------------------------------------------------------------------------
 * restore_file.c
 *	  Reconstructing one file of a backup chain, and WAL segments.
 *
 * A file starts from the newest backup that stores it whole (the chain's
 * full backup at the latest); each newer backup that stores a block delta
 * then cuts or extends it to its size and overlays its pages, oldest
 * first; store=parent levels change nothing.  Everything goes to a
 * temporary name next to the file, which only gets the real name once
 * every object was read to its verified end and matched its manifest entry
 * (codec.h: nothing read counts before that), the file was fsynced (or is
 * left to the syncfs() before pg_control: restore_internal.h) and has its
 * mode and mtime.  A failure removes the temporary file.
 *
 * Objects are decoded with fast verification (codec.h): an encrypted
 * object's chunks are authenticated and zstd checks the checksum of what
 * it decompresses, so SHA-256 is not recomputed for it; the SHA-256 then
 * compared with the manifest is the one its authenticated trailer holds.
 * What is checked against the manifests: a whole object's size, SHA-256
 * and stored size against the entry of the backup that stores it; a
 * delta's block size against the backup's and its file size against its
 * entry; every object's stored size; and the final size against the
 * target's entry.  The SHA-256 of the target entry is that of the file as
 * the backup read it, which only equals the restored content for a file
 * restored from a whole object alone (manifest.h), and is checked then.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/delta.h"
#include "common/fs.h"
#include "restore/restore_internal.h"

/* Where one file is being written. */
typedef struct RestoreOut
{
	int			fd;
	char	   *path;			/* final name */
	char	   *tmp;			/* temporary name */
} RestoreOut;

/* DeltaReadFn over an encoded object. */
static ssize_t
restoreObjectRead(void *arg, void *buf, size_t len, DrError *err)
{
	return repoObjectRead((RepoObjectRead *) arg, buf, len, err);
}

static char *
restoreBuffer(Restore *restore)
{
	if (restore->buffer == NULL)
		restore->buffer = palloc(RESTORE_BUFFER_SIZE);
	return restore->buffer;
}

/* Make sure the directory of path exists (cached: files come by directory). */
static bool
restoreParentDir(Restore *restore, const char *path, DrError *err)
{
	const char *slash = strrchr(path, '/');
	char	   *dir = pnstrdup(path, slash - path);

	if (restore->lastDir != NULL && strcmp(restore->lastDir, dir) == 0)
	{
		pfree(dir);
		return true;
	}
	if (!fsMakeDirs(dir, RESTORE_DIR_MODE,
					restore->param.delta ? FS_MKDIR_REPLACE : 0, err))
	{
		pfree(dir);
		return false;
	}
	if (restore->lastDir)
		pfree(restore->lastDir);
	restore->lastDir = dir;
	return true;
}

static bool
restoreOutOpen(Restore *restore, RestoreOut *out, const char *path,
			   DrError *err)
{
	out->fd = -1;
	out->path = pstrdup(path);
	out->tmp = restoreTempName(path);
	if (!restoreParentDir(restore, path, err))
		return false;
	out->fd = open(out->tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out->fd < 0)
		return drErrorSet(err, DR_ERR_IO, "could not create \"%s\": %m", out->tmp);
	return true;
}

/* Give up on the file: the temporary name goes. */
static void
restoreOutAbort(RestoreOut *out)
{
	if (out->fd >= 0)
		close(out->fd);
	if (out->tmp)
	{
		unlink(out->tmp);
		pfree(out->tmp);
	}
	if (out->path)
		pfree(out->path);
	out->fd = -1;
	out->tmp = out->path = NULL;
}

/*
 * Mode and mtime, fsync, rename to the real name.  In delta mode a
 * directory where the file must go is removed first.
 */
static bool
restoreOutCommit(Restore *restore, RestoreOut *out, uint32 mode, int64 mtime,
				 bool setMtime, DrError *err)
{
	int			fd = out->fd;

	if (fchmod(fd, (mode_t) mode) < 0)
		return drErrorSet(err, DR_ERR_IO, "could not set the mode of \"%s\": %m",
						  out->tmp);
	if (setMtime)
	{
		struct timespec times[2];

		times[0].tv_sec = (time_t) mtime;
		times[0].tv_nsec = 0;
		times[1] = times[0];
		if (futimens(fd, times) < 0)
			return drErrorSet(err, DR_ERR_IO,
							  "could not set the modification time of \"%s\": %m",
							  out->tmp);
	}
	/* with syncfs() to come (restore_internal.h), no fsync here */
	restoreWriteBackStart(restore, fd, 0, 0);
	if (restore->syncCount == 0 && fsync(fd) < 0)
		return drErrorSet(err, DR_ERR_IO, "could not fsync \"%s\": %m", out->tmp);
	out->fd = -1;
	if (close(fd) < 0)
		return drErrorSet(err, DR_ERR_IO, "could not close \"%s\": %m", out->tmp);

	if (rename(out->tmp, out->path) < 0)
	{
		if (!restore->param.delta || (errno != EISDIR && errno != ENOTEMPTY &&
									  errno != EEXIST))
			return drErrorSet(err, DR_ERR_IO, "could not rename \"%s\" to \"%s\": %m",
							  out->tmp, out->path);
		if (!restoreRemoveTree(out->path, err))
			return false;
		if (rename(out->tmp, out->path) < 0)
			return drErrorSet(err, DR_ERR_IO, "could not rename \"%s\" to \"%s\": %m",
							  out->tmp, out->path);
	}
	pfree(out->tmp);
	out->tmp = NULL;
	pfree(out->path);
	out->path = NULL;
	return true;
}

/*
 * Copy the whole object of entry (backup backupId; data/<path> or its
 * bundle entry) into out (from offset 0), and check it against what the
 * manifest says: plain size, SHA-256 and stored size.
 */
static bool
restoreObjectCopy(Restore *restore, const char *backupId,
				  const ManifestFile *entry, RestoreOut *out, DrError *err)
{
	char	   *buffer = restoreBuffer(restore);
	char	   *objectPath;
	RepoObjectRead *read;
	CodecResult result;
	uint64		written = 0;
	uint64		writtenBack = 0;
	uint64		asked = 0;
	bool		ok;

	read = repoBackupFileReadBegin(restore->repo, backupId, entry, err);
	if (read == NULL)
		return false;
	/* every byte is checked all the same (codec.h): tags, zstd checksum */
	repoObjectReadFastVerify(read);
	for (;;)
	{
		ssize_t		n = repoObjectRead(read, buffer, RESTORE_BUFFER_SIZE, err);

		if (n < 0)
		{
			repoObjectReadFree(read);
			return false;
		}
		if (n == 0)
			break;
		if (!restoreWriteAll(out->fd, buffer, n, out->tmp, err))
		{
			repoObjectReadFree(read);
			return false;
		}
		written += n;
		/* a large file: the caller's temporary file goes on cancel */
		if (written - asked >= RESTORE_CANCEL_CHECK)
		{
			asked = written;
			if (hostCancelled(restore->param.host))
			{
				repoObjectReadFree(read);
				return restoreCancelled(err);
			}
		}
		if (written - writtenBack >= RESTORE_WRITE_BACK_AFTER)
		{
			restoreWriteBackStart(restore, out->fd, writtenBack,
								  written - writtenBack);
			writtenBack = written;
		}
	}
	if (!repoObjectReadEnd(read, &result, err))
		return false;

	objectPath = repoBackupFileObjectName(backupId, entry);
	if (result.rawSize != entry->size)
		ok = drErrorSet(err, DR_ERR_CORRUPT,
						"object \"%s\" holds " UINT64_FORMAT " bytes, its manifest says " UINT64_FORMAT,
						objectPath, result.rawSize, entry->size);
	else if (memcmp(result.sha256, entry->sha256, CODEC_SHA256_SIZE) != 0)
		ok = drErrorSet(err, DR_ERR_CORRUPT,
						"object \"%s\" does not have the SHA-256 its manifest gives",
						objectPath);
	else if (result.storedSize != entry->objectSize)
		ok = drErrorSet(err, DR_ERR_CORRUPT,
						"object \"%s\" is " UINT64_FORMAT " bytes long, its manifest says " UINT64_FORMAT,
						objectPath, result.storedSize, entry->objectSize);
	else
		ok = true;
	pfree(objectPath);
	return ok;
}

/* pread exactly len bytes at offset of the file in out. */
static bool
restoreReadExact(RestoreOut *out, char *buf, size_t len, off_t offset,
				 DrError *err)
{
	size_t		done = 0;

	while (done < len)
	{
		ssize_t		n = pread(out->fd, buf + done, len - done, offset + done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return drErrorSet(err, DR_ERR_IO, "could not read \"%s\": %m", out->tmp);
		if (n == 0)
			return drErrorSet(err, DR_ERR_CORRUPT,
							  "\"%s\" ends before the parent's page at offset " UINT64_FORMAT,
							  out->tmp, (uint64) (offset + done));
		done += n;
	}
	return true;
}

/* Apply the block delta of entry (backup backupId) to the file in out. */
static bool
restoreDeltaApply(Restore *restore, const char *backupId,
				  const ManifestFile *entry, RestoreOut *out, DrError *err)
{
	uint32		blockSize = restore->chain->headers[0].blockSize;
	char	   *objectPath = repoBackupFileObjectName(backupId, entry);
	RepoObjectRead *read;
	DeltaReader *delta = NULL;
	CodecResult result;
	bool		ok = false;
	uint32		baseBlocks;
	uint32		pages = 0;
	char	   *base = NULL;

	read = repoBackupFileReadBegin(restore->repo, backupId, entry, err);
	if (read == NULL)
		goto done;
	repoObjectReadFastVerify(read);
	delta = deltaReaderNew(restoreObjectRead, read, err);
	if (delta == NULL)
		goto fail;
	if (deltaReaderBlockSize(delta) != blockSize)
	{
		drErrorSet(err, DR_ERR_CORRUPT,
				   "delta \"%s\" has block size %u, the backup %u",
				   objectPath, deltaReaderBlockSize(delta), blockSize);
		goto fail;
	}
	if (deltaReaderFileSize(delta) != entry->size)
	{
		drErrorSet(err, DR_ERR_CORRUPT,
				   "delta \"%s\" makes a file of " UINT64_FORMAT " bytes, its manifest says " UINT64_FORMAT,
				   objectPath, deltaReaderFileSize(delta), entry->size);
		goto fail;
	}
	/* the pages XORed with the parent's must be the parent's */
	baseBlocks = deltaReaderBaseBlocks(delta);
	if (baseBlocks > 0)
	{
		struct stat st;

		if (fstat(out->fd, &st) < 0)
		{
			drErrorSet(err, DR_ERR_IO, "could not stat \"%s\": %m", out->tmp);
			goto fail;
		}
		if ((uint64) baseBlocks * blockSize > (uint64) st.st_size)
		{
			drErrorSet(err, DR_ERR_CORRUPT,
					   "delta \"%s\" is based on %u pages, the parent's file has " UINT64_FORMAT " bytes",
					   objectPath, baseBlocks, (uint64) st.st_size);
			goto fail;
		}
		base = palloc(blockSize);
	}
	if (ftruncate(out->fd, (off_t) entry->size) < 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not truncate \"%s\": %m", out->tmp);
		goto fail;
	}

	for (;;)
	{
		uint32		blockno;
		const void *page;
		int			rc = deltaReaderNext(delta, &blockno, &page, err);
		off_t		offset;
		ssize_t		n;

		if (rc < 0)
			goto fail;
		if (rc == 0)
			break;
		if (++pages % Max(RESTORE_CANCEL_CHECK / blockSize, 1) == 0 &&
			hostCancelled(restore->param.host))
		{
			restoreCancelled(err);
			goto done;
		}
		offset = (off_t) blockno * blockSize;
		if (blockno < baseBlocks)
		{
			/* the record is the XOR of the new page and the parent's */
			if (!restoreReadExact(out, base, blockSize, offset, err))
				goto fail;
			deltaPageXor(base, page, blockSize);
			page = base;
		}
		do
			n = pwrite(out->fd, page, blockSize, offset);
		while (n < 0 && errno == EINTR);
		if (n != (ssize_t) blockSize)
		{
			if (n >= 0)
				errno = ENOSPC;
			drErrorSet(err, DR_ERR_IO, "could not write \"%s\": %m", out->tmp);
			goto fail;
		}
	}
	deltaReaderFree(delta);
	delta = NULL;

	/* the delta reader read to the end: the object is verified */
	ok = repoObjectReadEnd(read, &result, err);
	read = NULL;
	if (ok && result.storedSize != entry->objectSize)
		ok = drErrorSet(err, DR_ERR_CORRUPT,
						"object \"%s\" is " UINT64_FORMAT " bytes long, its manifest says " UINT64_FORMAT,
						objectPath, result.storedSize, entry->objectSize);
	goto done;

fail:
	if (err != NULL && err->code == DR_ERR_CORRUPT &&
		strncmp(err->message, "block delta", 11) == 0)
		drErrorPrefix(err, "object \"%s\": ", objectPath);
done:
	if (delta)
		deltaReaderFree(delta);
	if (read)
		repoObjectReadFree(read);
	if (base)
		pfree(base);
	pfree(objectPath);
	return ok;
}

bool
restoreFile(Restore *restore, const ManifestFile *const *levels,
			bool *unchanged, DrError *err)
{
	const ManifestFile *target = levels[0];
	char	   *const *ids = restore->chain->ids;
	char	   *dest = psprintf("%s/%s", restore->targetDir, target->path);
	RestoreOut	out = {-1, NULL, NULL};
	struct stat st;
	int			source;

	*unchanged = false;
	if (!repoChainSource(ids, restore->chain->count, levels, &source, err))
		goto fail;

	if (restore->param.delta)
	{
		bool		same;

		if (!restoreFileSame(dest, target->size, target->sha256,
							 restoreBuffer(restore), restore->param.host,
							 &same, err))
			goto fail;
		if (same)
		{
			struct timespec times[2];

			/* the content is right; mode and mtime may not be */
			times[0].tv_sec = (time_t) target->mtime;
			times[0].tv_nsec = 0;
			times[1] = times[0];
			if (chmod(dest, (mode_t) target->mode) < 0 ||
				utimensat(AT_FDCWD, dest, times, AT_SYMLINK_NOFOLLOW) < 0)
			{
				drErrorSet(err, DR_ERR_IO, "could not set the mode or time of \"%s\": %m",
						   dest);
				goto fail;
			}
			*unchanged = true;
			pfree(dest);
			return true;
		}
	}

	if (!restoreOutOpen(restore, &out, dest, err))
		goto fail;

	/* the whole copy; its own SHA-256 always applies to it */
	if (!restoreObjectCopy(restore, ids[source], levels[source], &out, err))
		goto fail;

	/* then the deltas, oldest first */
	for (int i = source - 1; i >= 0; i--)
	{
		if (levels[i]->store == MANIFEST_STORE_DELTA &&
			!restoreDeltaApply(restore, ids[i], levels[i], &out, err))
			goto fail;
	}

	if (fstat(out.fd, &st) < 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not stat \"%s\": %m", out.tmp);
		goto fail;
	}
	if ((uint64) st.st_size != target->size)
	{
		drErrorSet(err, DR_ERR_CORRUPT,
				   "restored file is " UINT64_FORMAT " bytes long, the manifest says " UINT64_FORMAT,
				   (uint64) st.st_size, target->size);
		goto fail;
	}

	if (!restoreOutCommit(restore, &out, target->mode, target->mtime, true, err))
		goto fail;
	pfree(dest);
	return true;

fail:
	restoreOutAbort(&out);
	if (err == NULL || err->code != DR_ERR_CANCELED)
		drErrorPrefix(err, "could not restore \"%s\" of backup \"%s\": ",
					  target->path, ids[0]);
	pfree(dest);
	return false;
}

bool
restoreWalSegment(Restore *restore, const ManifestWal *wal, DrError *err)
{
	const char *backupId = restore->chain->ids[0];
	char	   *dest = psprintf("%s/%s/%s", restore->targetDir, RESTORE_WAL_DIR,
								wal->name);
	char	   *objectPath = repoBackupWalPath(backupId, wal->name);
	RestoreOut	out = {-1, NULL, NULL};
	RepoObjectRead *read = NULL;
	CodecResult result;
	char	   *buffer = restoreBuffer(restore);

	if (!restoreOutOpen(restore, &out, dest, err))
		goto fail;
	read = repoObjectReadBegin(restore->repo, objectPath, err);
	if (read == NULL)
		goto fail;
	for (;;)
	{
		ssize_t		n = repoObjectRead(read, buffer, RESTORE_BUFFER_SIZE, err);

		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		if (!restoreWriteAll(out.fd, buffer, n, out.tmp, err))
			goto fail;
	}
	if (!repoObjectReadEnd(read, &result, err))
	{
		read = NULL;
		goto fail;
	}
	read = NULL;
	if (result.rawSize != wal->size ||
		memcmp(result.sha256, wal->sha256, CODEC_SHA256_SIZE) != 0)
	{
		drErrorSet(err, DR_ERR_CORRUPT,
				   "object \"%s\" does not match its manifest (size or SHA-256)",
				   objectPath);
		goto fail;
	}
	if (!restoreOutCommit(restore, &out, 0600, 0, false, err))
		goto fail;
	pfree(objectPath);
	pfree(dest);
	return true;

fail:
	if (read)
		repoObjectReadFree(read);
	restoreOutAbort(&out);
	drErrorPrefix(err, "could not restore WAL segment \"%s\" of backup \"%s\": ",
				  wal->name, backupId);
	pfree(objectPath);
	pfree(dest);
	return false;
}
