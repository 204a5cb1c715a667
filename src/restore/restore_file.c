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
 *
 * A file whose content starts from a backup that stores it in parts
 * (manifest.h) is written range by range, one per part of that backup (a
 * unit, see restore_internal.h): the part's bytes, zeroes where the file
 * is longer than that backup's copy, then each newer delta's pages in the
 * range (the delta object is read whole for each range, a delta being
 * small next to the file).  Since several jobs write ranges of one file,
 * a newer delta cannot cut the file short: bytes it cuts off are zeroed in
 * the range instead, so that every byte of the range is written by the
 * unit whatever the temporary file held.  Each part is checked against its
 * name (binding), its length by the layout; the SHA-256 of the parts'
 * digests and the total stored size against the manifest entry, once all
 * are written.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/delta.h"
#include "common/fs.h"
#include "repo/repo_backup.h"
#include "repo/repo_fallback.h"
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

/* ---------------------------------------------------------------------
 * Files in parts
 * ---------------------------------------------------------------------
 */

/* What a unit leaves in the digests file, at index u. */
typedef struct RestorePartSum
{
	uint64		token;			/* Restore.token: written by this restore */
	uint64		rawSize;
	uint64		storedSize;		/* RESTORE_PART_ELSEWHERE: read from another
								 * repository, whose objects may be stored
								 * otherwise (restoreFileUnitFallback) */
	uint8		sha256[CODEC_SHA256_SIZE];
} RestorePartSum;

#define RESTORE_PART_ELSEWHERE	PG_UINT64_MAX

/* The temporary file every job writes a file in parts through. */
static char *
restorePartTempName(const Restore *restore, const char *dest)
{
	return psprintf("%s.pg_dr-tmp.%d", dest, restore->leaderPid);
}

/* Its digests file (RestorePartSum per part). */
static char *
restorePartSumsName(const Restore *restore, const char *dest)
{
	return psprintf("%s.pg_dr-sums.%d", dest, restore->leaderPid);
}

/* pwrite all of buf at offset. */
static bool
restorePwriteAll(int fd, const void *buf, size_t len, uint64 offset,
				 const char *path, DrError *err)
{
	size_t		done = 0;

	while (done < len)
	{
		ssize_t		n = pwrite(fd, (const char *) buf + done, len - done,
							   (off_t) (offset + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
		{
			if (n == 0)
				errno = ENOSPC;
			return drErrorSet(err, DR_ERR_IO, "could not write \"%s\": %m", path);
		}
		done += n;
	}
	return true;
}

/* Zeroes over [from, to) of the file. */
static bool
restoreZero(Restore *restore, int fd, uint64 from, uint64 to,
			const char *path, DrError *err)
{
	char	   *buffer = restoreBuffer(restore);

	memset(buffer, 0, RESTORE_BUFFER_SIZE);
	while (from < to)
	{
		size_t		n = (size_t) Min(to - from, (uint64) RESTORE_BUFFER_SIZE);

		if (!restorePwriteAll(fd, buffer, n, from, path, err))
			return false;
		from += n;
	}
	return true;
}

int
restoreFileUnits(Restore *restore, const ManifestFile *const *levels,
				 int *source, DrError *err)
{
	if (!repoChainSource(restore->chain->ids, restore->chain->count, levels,
						 source, err))
		return -1;
	if (restore->param.delta || levels[*source]->parts == 0 ||
		strcmp(levels[0]->path, RESTORE_PG_CONTROL) == 0)
		return 0;
	return (int) levels[*source]->parts;
}

/*
 * The range unit u of a file in parts writes: [*start, *end), the range of
 * part u of the source level, the last one reaching the file's size when
 * the file grew since, and nothing at or past the file's size.
 */
static void
restorePartBounds(Restore *restore, const ManifestFile *const *levels,
				  int source, uint32 u, uint64 *partOffset, uint64 *partLength,
				  uint64 *start, uint64 *end)
{
	const ManifestFile *src = levels[source];
	uint64		size = levels[0]->size;
	uint64		rangeEnd;

	manifestPartRange(src, restore->chain->headers[source].partSize, u,
					  partOffset, partLength);
	rangeEnd = *partOffset + *partLength;
	if (u + 1 == src->parts)
		rangeEnd = Max(rangeEnd, size);
	*start = *partOffset;
	*end = Min(rangeEnd, size);
	if (*end < *start)
		*end = *start;
}

uint64
restoreFileUnitBytes(Restore *restore, const ManifestFile *const *levels,
					 int source, uint32 u)
{
	uint64		partOffset;
	uint64		partLength;
	uint64		start;
	uint64		end;

	restorePartBounds(restore, levels, source, u, &partOffset, &partLength,
					  &start, &end);
	return end - start;
}

/*
 * The pages of the block delta of entry (backup backupId) that fall in
 * [start, end) of the file, written there; the bytes it cuts off (past
 * its file size) zeroed.  *dirty: where the range may hold non-zero bytes
 * (everything in [*dirty, end) is zero); prevSize: the size of the file
 * before this level.
 */
static bool
restoreDeltaRange(Restore *restore, const char *backupId,
				  const ManifestFile *entry, int fd, const char *tmp,
				  uint64 start, uint64 end, uint64 prevSize, uint64 *dirty,
				  DrError *err)
{
	uint32		blockSize = restore->chain->headers[0].blockSize;
	/* data/<path>, or its entry of a bundle (a small delta of a big file) */
	char	   *objectPath = repoBackupFileObjectName(backupId, entry);
	RepoObjectRead *read = NULL;
	DeltaReader *delta = NULL;
	CodecResult result;
	bool		ok = false;
	uint32		baseBlocks;
	uint32		pages = 0;
	char	   *base = palloc(blockSize);

	/* cut at the level's size: within the range, zeroes */
	if (entry->size < *dirty)
	{
		uint64		from = Max(entry->size, start);

		if (from < *dirty && !restoreZero(restore, fd, from, *dirty, tmp, err))
			goto done;
		*dirty = from;
	}

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
	baseBlocks = deltaReaderBaseBlocks(delta);
	if ((uint64) baseBlocks * blockSize > prevSize)
	{
		drErrorSet(err, DR_ERR_CORRUPT,
				   "delta \"%s\" is based on %u pages, the parent's file has " UINT64_FORMAT " bytes",
				   objectPath, baseBlocks, prevSize);
		goto fail;
	}

	for (;;)
	{
		uint32		blockno;
		const void *page;
		int			rc = deltaReaderNext(delta, &blockno, &page, err);
		uint64		offset;
		size_t		len;

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
		offset = (uint64) blockno * blockSize;
		if (offset < start || offset >= end)
			continue;
		len = (size_t) Min((uint64) blockSize, end - offset);
		if (blockno < baseBlocks)
		{
			/* the record is the XOR of the new page and the parent's */
			RestoreOut	in = {fd, NULL, (char *) tmp};

			if (!restoreReadExact(&in, base, len, (off_t) offset, err))
				goto fail;
			deltaPageXor(base, page, len);
			page = base;
		}
		if (!restorePwriteAll(fd, page, len, offset, tmp, err))
			goto fail;
		*dirty = Max(*dirty, offset + len);
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
	pfree(base);
	pfree(objectPath);
	return ok;
}

/*
 * Unit u of a file in parts into fd (tmp its name): part u of the source
 * level in its range, zeroes past that level's copy, then the deltas of
 * the newer levels over the range.  *sum: what part u was.
 */
static bool
restorePartWrite(Restore *restore, const ManifestFile *const *levels,
				 int source, uint32 u, int fd, const char *tmp,
				 RestorePartSum *sum, DrError *err)
{
	const ManifestFile *src = levels[source];
	char	   *const *ids = restore->chain->ids;
	char	   *buffer = restoreBuffer(restore);
	char	   *objectPath = repoBackupPartPath(ids[source], src->path, u);
	RepoObjectRead *read;
	CodecResult result;
	uint64		partOffset;
	uint64		partLength;
	uint64		start;
	uint64		end;
	uint64		pos;
	uint64		dirty;
	uint64		asked = 0;
	uint64		writtenBack;
	uint64		prevSize;

	restorePartBounds(restore, levels, source, u, &partOffset, &partLength,
					  &start, &end);
	read = repoObjectReadBegin(restore->repo, objectPath, err);
	if (read == NULL)
		goto fail;
	/* a part must be the one written under this name (manifest.h) */
	if (!repoObjectReadBindingRequire(read, objectPath, err))
		goto fail;
	repoObjectReadFastVerify(read);
	pos = partOffset;
	writtenBack = start;
	for (;;)
	{
		ssize_t		n = repoObjectRead(read, buffer, RESTORE_BUFFER_SIZE, err);

		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		if (pos < end &&
			!restorePwriteAll(fd, buffer, (size_t) Min((uint64) n, end - pos),
							  pos, tmp, err))
			goto fail;
		pos += n;
		if (pos - partOffset - asked >= RESTORE_CANCEL_CHECK)
		{
			asked = pos - partOffset;
			if (hostCancelled(restore->param.host))
			{
				restoreCancelled(err);
				goto fail;
			}
		}
		if (pos < end && pos - writtenBack >= RESTORE_WRITE_BACK_AFTER)
		{
			restoreWriteBackStart(restore, fd, writtenBack, pos - writtenBack);
			writtenBack = pos;
		}
	}
	if (!repoObjectReadEnd(read, &result, err))
	{
		read = NULL;
		goto fail;
	}
	read = NULL;
	if (result.rawSize != partLength)
	{
		drErrorSet(err, DR_ERR_CORRUPT,
				   "object \"%s\" holds " UINT64_FORMAT " bytes, part %u of a file of " UINT64_FORMAT " bytes in %u parts has " UINT64_FORMAT,
				   objectPath, result.rawSize, u, src->size, src->parts,
				   partLength);
		goto fail;
	}
	sum->token = restore->token;
	sum->rawSize = result.rawSize;
	sum->storedSize = result.storedSize;
	memcpy(sum->sha256, result.sha256, CODEC_SHA256_SIZE);

	/* past the source's copy (the file grew since): zeroes */
	dirty = Min(partOffset + partLength, end);
	if (dirty < end && !restoreZero(restore, fd, Max(dirty, start), end, tmp, err))
		goto fail;
	dirty = Max(dirty, start);

	/* then the deltas, oldest first */
	prevSize = src->size;
	for (int i = source - 1; i >= 0; i--)
	{
		if (levels[i]->store == MANIFEST_STORE_DELTA &&
			!restoreDeltaRange(restore, ids[i], levels[i], fd, tmp, start, end,
							   prevSize, &dirty, err))
			goto fail;
		prevSize = levels[i]->size;
	}
	if (end > writtenBack)
		restoreWriteBackStart(restore, fd, writtenBack, end - writtenBack);
	pfree(objectPath);
	return true;

fail:
	if (read)
		repoObjectReadFree(read);
	pfree(objectPath);
	return false;
}

/*
 * The parts' digests of a file in parts against its source level's entry:
 * the SHA-256 of the digests, and the total stored size.
 */
static bool
restorePartsCheck(Restore *restore, const ManifestFile *src, int source,
				  const RestorePartSum *sums, DrError *err)
{
	uint8	   *all = palloc((size_t) src->parts * CODEC_SHA256_SIZE);
	uint8		sha256[CODEC_SHA256_SIZE];
	uint64		stored = 0;
	bool		ok;

	bool		elsewhere = false;

	for (uint32 k = 0; k < src->parts; k++)
	{
		memcpy(all + (size_t) k * CODEC_SHA256_SIZE, sums[k].sha256,
			   CODEC_SHA256_SIZE);
		if (sums[k].storedSize == RESTORE_PART_ELSEWHERE)
			elsewhere = true;
		else
			stored += sums[k].storedSize;
	}
	ok = codecSha256(all, (size_t) src->parts * CODEC_SHA256_SIZE, sha256, err);
	pfree(all);
	if (!ok)
		return false;
	if (memcmp(sha256, src->sha256, CODEC_SHA256_SIZE) != 0)
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "the %u parts in backup \"%s\" do not have the SHA-256 its manifest gives",
						  src->parts, restore->chain->ids[source]);
	/* a part read from another repository: the SHA-256 alone says it */
	if (!elsewhere && stored != src->objectSize)
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "the %u parts in backup \"%s\" are " UINT64_FORMAT " bytes long, its manifest says " UINT64_FORMAT,
						  src->parts, restore->chain->ids[source], stored,
						  src->objectSize);
	return true;
}

/* A file in parts restored whole, by this process (restoreFile). */
static bool
restorePartsWhole(Restore *restore, const ManifestFile *const *levels,
				  int source, RestoreOut *out, DrError *err)
{
	const ManifestFile *src = levels[source];
	RestorePartSum *sums = palloc0((size_t) src->parts * sizeof(RestorePartSum));
	bool		ok = true;

	if (ftruncate(out->fd, (off_t) levels[0]->size) < 0)
		ok = drErrorSet(err, DR_ERR_IO, "could not extend \"%s\": %m", out->tmp);
	for (uint32 u = 0; ok && u < src->parts; u++)
		ok = restorePartWrite(restore, levels, source, u, out->fd, out->tmp,
							  &sums[u], err);
	if (ok)
		ok = restorePartsCheck(restore, src, source, sums, err);
	pfree(sums);
	return ok;
}

/*
 * Unit u failed with err (restorePartWrite): write it again into fd from
 * the first fallback repository whose copy of the chain gives the file
 * the same entry (restoreFallbackLevels) and whose part is good.  Its
 * digest is marked RESTORE_PART_ELSEWHERE: that repository's objects may
 * be stored otherwise, so only the SHA-256 of the parts is checked at the
 * commit.  Each fallback is said (RestoreParam.host); false with the
 * first error when none has a good copy.
 */
static bool
restoreFileUnitFallback(Restore *restore, const ManifestFile *const *levels,
						int source, uint32 u, int fd, const char *tmp,
						RestorePartSum *sum, DrError *err)
{
	RestoreFallbackSaved saved;
	char	   *object;
	DrError		first;
	bool		ok = false;

	if (!restoreFallbackWorth(restore, err))
		return false;
	first = *err;
	object = psprintf("part %u of \"%s\" of backup \"%s\"", u, levels[0]->path,
					  restore->chain->ids[0]);
	for (int k = 0; k < restore->param.fallbackCount && !ok; k++)
	{
		const ManifestFile *const *alt;
		RepoChainIter *iter;
		DrError		e;
		char	   *msg;

		drErrorClear(&e);
		saved = restoreFallbackUse(restore, k);
		iter = restoreFallbackLevels(restore, k, levels[0], &alt, &e);
		if (iter != NULL)
		{
			if (alt[source] == NULL || alt[source]->parts != levels[source]->parts ||
				memcmp(alt[source]->sha256, levels[source]->sha256,
					   CODEC_SHA256_SIZE) != 0)
				drErrorSet(&e, DR_ERR_CORRUPT,
						   "its manifest of backup \"%s\" gives file \"%s\" other parts",
						   restore->chain->ids[source], levels[0]->path);
			else
				ok = restorePartWrite(restore, alt, source, u, fd, tmp, sum, &e);
			repoChainIterClose(iter);
		}
		restoreFallbackEnd(restore, saved);
		if (!ok && e.code == DR_ERR_CANCELED)
		{
			*err = e;
			pfree(object);
			return false;
		}
		msg = ok ?
			repoFallbackMessage(restore->param.repoNumber, object, &first,
								"restored it", restore->param.fallbackNumbers[k]) :
			repoFallbackMessage(restore->param.fallbackNumbers[k], object, &e,
								NULL, 0);
		hostWarning(restore->param.host, msg);
		pfree(msg);
	}
	pfree(object);
	if (ok)
		sum->storedSize = RESTORE_PART_ELSEWHERE;
	else
		*err = first;
	return ok;
}

bool
restoreFileUnit(Restore *restore, const ManifestFile *const *levels,
				int source, uint32 u, DrError *err)
{
	const ManifestFile *target = levels[0];
	char	   *dest = psprintf("%s/%s", restore->targetDir, target->path);
	char	   *tmp = restorePartTempName(restore, dest);
	char	   *sumsPath = restorePartSumsName(restore, dest);
	RestorePartSum sum;
	int			fd = -1;
	int			sumsFd = -1;
	bool		ok = false;

	memset(&sum, 0, sizeof(sum));
	if (!restoreParentDir(restore, dest, err))
		goto done;
	/* every unit of the file opens the same file; none truncates it */
	fd = open(tmp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not create \"%s\": %m", tmp);
		goto done;
	}
	if (ftruncate(fd, (off_t) target->size) < 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not extend \"%s\": %m", tmp);
		goto done;
	}
	if (!restorePartWrite(restore, levels, source, u, fd, tmp, &sum, err) &&
		!restoreFileUnitFallback(restore, levels, source, u, fd, tmp, &sum, err))
		goto done;
	sumsFd = open(sumsPath, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (sumsFd < 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not create \"%s\": %m", sumsPath);
		goto done;
	}
	if (!restorePwriteAll(sumsFd, &sum, sizeof(sum), (uint64) u * sizeof(sum),
						  sumsPath, err))
		goto done;
	ok = true;

done:
	if (sumsFd >= 0 && close(sumsFd) < 0 && ok)
		ok = drErrorSet(err, DR_ERR_IO, "could not close \"%s\": %m", sumsPath);
	if (fd >= 0 && close(fd) < 0 && ok)
		ok = drErrorSet(err, DR_ERR_IO, "could not close \"%s\": %m", tmp);
	if (!ok)
	{
		/* the restore fails: what was written of the file goes */
		unlink(tmp);
		unlink(sumsPath);
		if (err == NULL || err->code != DR_ERR_CANCELED)
			drErrorPrefix(err, "could not restore \"%s\" of backup \"%s\": ",
						  target->path, restore->chain->ids[0]);
		/* named when the caller named it (restore.h) */
		if (err != NULL && restore->param.repoNumber != 0 &&
			repoReadFallsBack(err))
			drErrorPrefix(err, "repository %d: ", restore->param.repoNumber);
	}
	pfree(sumsPath);
	pfree(tmp);
	pfree(dest);
	return ok;
}

/* Check and commit one file restored in units; see restorePartsCommit. */
static bool
restorePartsCommitFile(Restore *restore, const ManifestFile *const *levels,
					   int source, DrError *err)
{
	const ManifestFile *target = levels[0];
	const ManifestFile *src = levels[source];
	char	   *dest = psprintf("%s/%s", restore->targetDir, target->path);
	RestoreOut	out = {-1, dest, restorePartTempName(restore, dest)};
	char	   *sumsPath = restorePartSumsName(restore, dest);
	size_t		sumsLen = (size_t) src->parts * sizeof(RestorePartSum);
	RestorePartSum *sums = palloc(sumsLen);
	struct stat st;
	int			fd;
	bool		ok = false;
	ssize_t		n;

	fd = open(sumsPath, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not open \"%s\": %m", sumsPath);
		goto done;
	}
	do
		n = pread(fd, sums, sumsLen, 0);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not read \"%s\": %m", sumsPath);
		goto done;
	}
	for (uint32 k = 0; k < src->parts; k++)
		if ((size_t) n < (k + 1) * sizeof(RestorePartSum) ||
			sums[k].token != restore->token)
		{
			drErrorSet(err, DR_ERR_INTERNAL,
					   "part %u was not restored (\"%s\" has no digest for it)",
					   k, sumsPath);
			goto done;
		}
	if (!restorePartsCheck(restore, src, source, sums, err))
		goto done;

	out.fd = open(out.tmp, O_RDWR | O_CLOEXEC);
	if (out.fd < 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not open \"%s\": %m", out.tmp);
		goto done;
	}
	if (fstat(out.fd, &st) < 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not stat \"%s\": %m", out.tmp);
		goto done;
	}
	if ((uint64) st.st_size != target->size)
	{
		drErrorSet(err, DR_ERR_CORRUPT,
				   "restored file is " UINT64_FORMAT " bytes long, the manifest says " UINT64_FORMAT,
				   (uint64) st.st_size, target->size);
		goto done;
	}
	/* frees out's names whatever it returns: abort below only closes */
	ok = restoreOutCommit(restore, &out, target->mode, target->mtime, true, err);
	if (ok)
		unlink(sumsPath);

done:
	if (!ok)
	{
		restoreOutAbort(&out);
		unlink(sumsPath);
		drErrorPrefix(err, "could not restore \"%s\" of backup \"%s\": ",
					  target->path, restore->chain->ids[0]);
	}
	pfree(sums);
	pfree(sumsPath);
	return ok;
}

/* Walk every file restored in units: commit it, or remove what it left. */
static bool
restorePartsWalk(Restore *restore, bool commit, DrError *err)
{
	RepoChainIter *iter;
	bool		ok = true;

	if (!restore->hasParts)
		return true;
	iter = repoChainIterOpen(restore->repo, restore->chain->ids,
							 restore->chain->count, err);
	if (iter == NULL)
		return false;
	for (;;)
	{
		const ManifestFile *const *levels;
		int			source;
		int			units;
		int			rc = repoChainIterNext(iter, &levels, err);

		if (rc <= 0)
		{
			ok = rc == 0;
			break;
		}
		units = restoreFileUnits(restore, levels, &source, err);
		if (units < 0)
		{
			ok = false;
			break;
		}
		if (units == 0)
			continue;
		if (commit)
		{
			if (!restorePartsCommitFile(restore, levels, source, err))
			{
				ok = false;
				break;
			}
		}
		else
		{
			char	   *dest = psprintf("%s/%s", restore->targetDir, levels[0]->path);
			char	   *tmp = restorePartTempName(restore, dest);
			char	   *sumsPath = restorePartSumsName(restore, dest);

			unlink(tmp);
			unlink(sumsPath);
			pfree(sumsPath);
			pfree(tmp);
			pfree(dest);
		}
	}
	repoChainIterClose(iter);
	return ok;
}

bool
restorePartsCommit(Restore *restore, DrError *err)
{
	return restorePartsWalk(restore, true, err);
}

void
restorePartsAbandon(Restore *restore)
{
	DrError		err;

	drErrorClear(&err);
	(void) restorePartsWalk(restore, false, &err);
}

bool
restoreFileRead(Restore *restore, const ManifestFile *const *levels,
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
							 restore->chain->headers[0].partSize, target->parts,
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

	if (levels[source]->parts > 0)
	{
		/* part after part, each with the deltas over its range */
		if (!restorePartsWhole(restore, levels, source, &out, err))
			goto fail;
	}
	else
	{
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
restoreWalSegmentRead(Restore *restore, const ManifestWal *wal, DrError *err)
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
