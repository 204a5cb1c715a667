/*-------------------------------------------------------------------------
 * archive_target.c
 *	  Where one process archives to, and storing one WAL file there: the
 *	  code the archive module and the pre-push workers share.
 *
 * Configuration: pg_dr.config_file is read again when the setting or the
 * file changes (inode, size, modification or change time), so an edited
 * configuration takes effect at the next file without a server reload.
 * The repository stays open while its settings stay the same: opening it
 * derives the key-encryption key, which is slow on purpose.
 *
 * Data keys: each process makes one random data key for each repository
 * it opens, as soon as it opens it, and encrypts every WAL file it stores
 * with it; the codec derives a separate key per object from it (codec.h),
 * so sharing a data key between objects never repeats a nonce.  A WAL
 * stream thus gets a new data key whenever the archiver or a worker starts
 * (server start, crash restart): 1 + pg_dr.archive_workers keys per start,
 * at most.  Per timeline would make fewer keys, but would need a record of
 * "the key of timeline N" that every process agrees on; a key per process
 * needs no coordination at all.
 *
 * Key rotation (pg_dr repo-key-rotate) while the server runs: the data key
 * is stored in the keyring right when the repository is opened, so a later
 * rotation re-wraps it with the others.  A key made long after the open
 * would be wrapped under the key-encryption key of the open, which a
 * rotation in between retired.  After a rotation, the first operation that
 * needs a key the process has not cached fails with DR_ERR_KEY (its old
 * wrap is gone); the repository is then closed, and opened again with the
 * new passphrase at the next file, keeping the data key.
 *
 * Memory: the repository and its key cache live in the target's context
 * for the life of the process.  Everything else is allocated in the
 * caller's context, which the callers reset after each file.  Every
 * repository call that can add to the key cache is made in the target's
 * context: making or reloading our own key when the repository is opened,
 * and loading the key of an object made by another process before it is
 * compared (archiveObjectKeyLoad).  So the cache never points into memory
 * that is about to be reset.
 *
 * A restored cluster that is not the primary of the repository it came
 * from (repo/repo_origin.h) must not archive into it, even with
 * archive_mode kept on: every refresh reads the data directory's origin
 * marker and refuses when it names the open repository.  The file then
 * stays in pg_wal, marked ready, and is archived once the cluster is
 * declared primary or pointed at another repository.
 *
 * Errors are returned as DrError.  What could still raise an ERROR (out of
 * memory) leaves its open handles in the target for archiveTargetCleanup.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "access/xlog.h"
#include "common/hashfn.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "postmaster/interrupt.h"
#include "storage/fd.h"
#include "storage/pmsignal.h"
#include "utils/memutils.h"

#include "archive/archive_internal.h"
#include "common/wal.h"
#include "pg_dr.h"
#include "repo/repo_backup.h"
#include "repo/repo_leftover.h"
#include "repo/repo_origin.h"

uint64
archiveRepoHash(const ConfigRepo *repo)
{
	StringInfoData buf;
	uint64		hash;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%s\n%s\n", repo->driver ? repo->driver->type : "",
					 repo->path ? repo->path : "");
	for (int s = 0; s < repo->settingCount; s++)
	{
		const ConfigSetting *setting = &repo->settings[s];

		if (setting->def->secret || setting->def->kind == CONFIG_KIND_SECRET ||
			configNameIsSecret(setting->def->name))
			continue;
		appendStringInfo(&buf, "%s=%s\n", setting->def->name,
						 setting->value ? setting->value : "");
	}
	hash = hash_bytes_extended((const unsigned char *) buf.data, buf.len, 0);
	pfree(buf.data);
	return hash;
}

void
archiveTargetInit(ArchiveTarget *target, bool isWorker, int number)
{
	memset(target, 0, sizeof(ArchiveTarget));
	target->number = number;
	target->context = AllocSetContextCreate(TopMemoryContext,
											"pg_dr archive target",
											ALLOCSET_SMALL_SIZES);
	target->isWorker = isWorker;
	target->fd = -1;
}

void
archiveTargetClose(ArchiveTarget *target)
{
	if (target->repo != NULL)
		repoClose(target->repo);
	target->repo = NULL;
}

/* Forget the data key: it belongs to a repository no longer used. */
static void
archiveTargetKeyForget(ArchiveTarget *target)
{
	explicit_bzero(&target->key, sizeof(target->key));
	target->keyMade = false;
	target->keyNone = false;
}

void
archiveTargetFree(ArchiveTarget *target)
{
	archiveTargetClose(target);
	archiveTargetKeyForget(target);
}

/* Read pg_dr.config_file into the target; the repository is not opened. */
static bool
archiveTargetLoad(ArchiveTarget *target, const struct stat *st, DrError *err)
{
	MemoryContext old = MemoryContextSwitchTo(target->context);
	DrConfig   *config;
	const ConfigRepo *first;
	bool		ok = false;

	target->configLoaded = false;
	config = configLoad(drConfigFile, err);
	if (config == NULL)
	{
		if (err->code == DR_ERR_NOT_FOUND)
			err->code = DR_ERR_CONFIG;
		goto done;
	}
	/* number 0: the first required repository, whichever it is */
	first = target->number == 0 ? configRepoFirstRequired(config, err) :
		configRepoFirst(config, err) != NULL ?
		&config->repo[target->number] : NULL;
	if (first == NULL)
		goto done;
	target->configured = first->index != 0;
	target->required = first->required;
	if (!target->configured)
	{
		/* no repoN (any more): nothing is stored there */
		archiveTargetClose(target);
		archiveTargetKeyForget(target);
		configRepoClear(&target->repoConfig);
		target->repoHash = 0;
	}
	else if (!configRepoEqual(&target->repoConfig, first))
	{
		archiveTargetClose(target);
		if (target->repoConfig.path == NULL ||
			target->repoConfig.driver != first->driver ||
			strcmp(target->repoConfig.path, first->path) != 0)
			archiveTargetKeyForget(target);
		configRepoClear(&target->repoConfig);
		configRepoCopy(&target->repoConfig, first);
		target->repoHash = archiveRepoHash(first);
	}
	if (target->configPath)
		pfree(target->configPath);
	target->configPath = pstrdup(drConfigFile);
	target->configStat = *st;
	target->configLoaded = true;
	ok = true;

done:
	if (config)
		configFree(config);
	MemoryContextSwitchTo(old);
	return ok;
}

/*
 * A writer starting on the repository (this process opened it): what
 * crashed writers left goes now, not only at the next backup or expire --
 * their temporary objects, and backup directories that never got a
 * manifest, only once they are old enough that no live writer can own them
 * (repo_leftover.h).  Nothing depends on it, so a failure is logged and
 * archiving goes on.
 */
static void
archiveTargetLeftovers(ArchiveTarget *target)
{
	RepoLeftoverResult result;
	DrError		err;

	if (!repoLeftoversClean(target->repo, NULL, (int64) time(NULL), &result, &err))
		ereport(LOG,
				(errmsg("pg_dr archive: could not remove what crashed writers left in repository %d: %s",
						target->repoConfig.index, err.message)));
	else if (result.dirsRemoved > 0 || result.tempsRemoved > 0)
		ereport(LOG,
				(errmsg("pg_dr archive: removed %d directories of backups that never completed and %d temporary objects left by crashed writers",
						result.dirsRemoved, result.tempsRemoved)));
}

static bool archiveTargetRefreshInternal(ArchiveTarget *target,
										 int *repoNumber, bool open,
										 DrError *err);

/*
 * Whether the target's settings (required, the repository) are those of
 * the configuration file as it is now: it is read again when it changed.
 * The repository is not opened.
 */
bool
archiveTargetConfigRefresh(ArchiveTarget *target, DrError *err)
{
	int			repoNumber;

	return archiveTargetRefreshInternal(target, &repoNumber, false, err);
}

bool
archiveTargetRefresh(ArchiveTarget *target, int *repoNumber, DrError *err)
{
	return archiveTargetRefreshInternal(target, repoNumber, true, err);
}

static bool
archiveTargetRefreshInternal(ArchiveTarget *target, int *repoNumber,
							 bool open, DrError *err)
{
	struct stat st;

	*repoNumber = target->configured ? target->repoConfig.index :
		target->number;
	if (drConfigFile == NULL || drConfigFile[0] == '\0')
	{
		drErrorSet(err, DR_ERR_CONFIG, "pg_dr.config_file is not set");
		drErrorHint(err, "Set pg_dr.config_file to the path of the pg_dr configuration file and reload.");
		return false;
	}
	if (stat(drConfigFile, &st) != 0)
		return drErrorSet(err, errno == ENOENT ? DR_ERR_CONFIG : DR_ERR_IO,
						  "could not stat configuration file \"%s\": %m",
						  drConfigFile);

	if (!target->configLoaded ||
		strcmp(target->configPath, drConfigFile) != 0 ||
		st.st_dev != target->configStat.st_dev ||
		st.st_ino != target->configStat.st_ino ||
		st.st_size != target->configStat.st_size ||
		st.st_mtim.tv_sec != target->configStat.st_mtim.tv_sec ||
		st.st_mtim.tv_nsec != target->configStat.st_mtim.tv_nsec ||
		st.st_ctim.tv_sec != target->configStat.st_ctim.tv_sec ||
		st.st_ctim.tv_nsec != target->configStat.st_ctim.tv_nsec)
	{
		if (!archiveTargetLoad(target, &st, err))
			return false;
	}
	*repoNumber = target->configured ? target->repoConfig.index :
		target->number;
	if (!target->configured || !open)
		return true;

	/*
	 * Read every time, so that dr_declare_primary() takes effect at the
	 * next file; before the repository is opened, which stores a data key
	 * in it.
	 */
	if (!repoOriginGuard(DataDir, &target->repoConfig,
						 target->repo ? repoInfoGet(target->repo) : NULL,
						 "archiving", err))
		return false;

	if (target->repo == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(target->context);
		const CodecDataKey *key = NULL;
		bool		ok;

		/*
		 * The data key right away (see the header comment); when opening
		 * again, the one made before, loaded into the key cache here,
		 * in the target's context, rather than later by a write, in the
		 * context of a file.
		 */
		target->repo = repoOpen(&target->repoConfig, err);
		if (target->repo == NULL)
			ok = false;
		else if (!target->keyMade)
			ok = repoDataKeyNew(target->repo, &key, err);
		else
			ok = target->keyNone ||
				repoDataKeyGet(target->repo, target->key.id, err) != NULL;
		MemoryContextSwitchTo(old);
		if (!ok)
		{
			archiveTargetClose(target);
			return false;
		}
		archiveTargetLeftovers(target);
		if (!target->keyMade)
		{
			target->keyMade = true;
			target->keyNone = key == NULL;
			if (key != NULL)
				target->key = *key;
		}
	}
	return true;
}

/* Open a local WAL file; its descriptor is kept in the target. */
static bool
archiveFileOpen(ArchiveTarget *target, const char *path, DrError *err)
{
	target->fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (target->fd < 0)
		return drErrorSet(err, errno == ENOENT ? DR_ERR_NOT_FOUND : DR_ERR_IO,
						  "could not open file \"%s\": %m", path);
	return true;
}

static bool
archiveFileClose(ArchiveTarget *target, const char *path, DrError *err)
{
	int			fd = target->fd;

	target->fd = -1;
	if (CloseTransientFile(fd) != 0)
		return drErrorSet(err, DR_ERR_IO, "could not close file \"%s\": %m",
						  path);
	return true;
}

/*
 * Whether a worker must stop: asked to (shutdown), or the postmaster is
 * gone.  It then abandons the file it is on (through the error returned),
 * which leaves nothing behind in the repository.
 */
static bool
archiveWorkerStopping(ArchiveTarget *target, DrError *err)
{
	if (!target->isWorker)
		return false;
	CHECK_FOR_INTERRUPTS();
	if (ShutdownRequestPending || !PostmasterIsAlive())
		return !drErrorSet(err, DR_ERR_INVALID, "the archive worker is stopping");
	return false;
}

/* The next piece of the open local file: bytes read, 0 at its end, -1. */
static ssize_t
archiveFileRead(ArchiveTarget *target, const char *path, char *buf,
				DrError *err)
{
	ssize_t		n;

	if (archiveWorkerStopping(target, err))
		return -1;
	do
		n = read(target->fd, buf, ARCHIVE_BUFFER_SIZE);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		drErrorSet(err, DR_ERR_IO, "could not read file \"%s\": %m", path);
	return n;
}

/* What fstat says of the open local file; invalid if it cannot say. */
static void
archiveFileIdTake(ArchiveTarget *target, ArchiveFileId *id)
{
	struct stat st;

	memset(id, 0, sizeof(ArchiveFileId));
	if (fstat(target->fd, &st) != 0)
		return;
	id->valid = true;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->size = st.st_size;
	id->mtime = st.st_mtim;
	id->ctime = st.st_ctim;
}

static bool
archiveFileIdEqual(const ArchiveFileId *a, const ArchiveFileId *b)
{
	return a->valid && b->valid &&
		a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
		a->mtime.tv_sec == b->mtime.tv_sec &&
		a->mtime.tv_nsec == b->mtime.tv_nsec &&
		a->ctime.tv_sec == b->ctime.tv_sec &&
		a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/*
 * After the last read: id (taken before the first) stays valid only if
 * the file still looks the same, i.e. nothing changed it while it was read.
 */
static void
archiveFileIdConfirm(ArchiveTarget *target, ArchiveFileId *id)
{
	ArchiveFileId after;

	archiveFileIdTake(target, &after);
	if (!archiveFileIdEqual(id, &after))
		id->valid = false;
}

bool
archiveFileSame(const char *path, const ArchiveFileId *id)
{
	struct stat st;
	ArchiveFileId now;

	if (!id->valid || stat(path, &st) != 0)
		return false;
	now.valid = true;
	now.dev = st.st_dev;
	now.ino = st.st_ino;
	now.size = st.st_size;
	now.mtime = st.st_mtim;
	now.ctime = st.st_ctim;
	return archiveFileIdEqual(id, &now);
}

/* A WAL segment must be complete: the server never archives a part of one. */
static bool
archiveSizeCheck(const char *name, uint64 size, DrError *err)
{
	if (strlen(name) == WAL_NAME_LEN && size != (uint64) wal_segment_size)
	{
		drErrorSet(err, DR_ERR_INVALID,
				   "WAL segment \"%s\" has " UINT64_FORMAT " bytes, expected %d",
				   name, size, wal_segment_size);
		drErrorHint(err, "Only complete segments are archived; a shorter one is damaged or not a WAL segment.");
		return false;
	}
	return true;
}

/* A CodecSink that drops what it is given: only the hash is wanted. */
static bool
archiveDiscard(void *arg, const void *buf, size_t len, DrError *err)
{
	return true;
}

/* SHA-256 (the codec's), size and identity of a local file. */
static bool
archiveFileHash(ArchiveTarget *target, const char *path, uint8 *sha256,
				uint64 *size, ArchiveFileId *id, DrError *err)
{
	CodecEncodeParam param = {0};
	CodecSink	sink = {archiveDiscard, NULL};
	CodecEncoder *hasher;
	CodecResult result;
	char	   *buf;
	bool		ok;

	/*
	 * The codec itself hashes, unencrypted and uncompressed, so that the
	 * local hash is by definition the one an object records.
	 */
	param.compressLevel = 0;
	param.key = NULL;
	if (!archiveFileOpen(target, path, err))
		return false;
	archiveFileIdTake(target, id);
	target->hasher = codecEncoderNew(&param, sink, err);
	if (target->hasher == NULL)
	{
		(void) archiveFileClose(target, path, NULL);
		return false;
	}

	buf = palloc(ARCHIVE_BUFFER_SIZE);
	for (;;)
	{
		ssize_t		n = archiveFileRead(target, path, buf, err);

		if (n < 0 || (n > 0 && !codecEncoderWrite(target->hasher, buf, n, err)))
		{
			codecEncoderFree(target->hasher);
			target->hasher = NULL;
			(void) archiveFileClose(target, path, NULL);
			pfree(buf);
			return false;
		}
		if (n == 0)
			break;
	}
	pfree(buf);
	archiveFileIdConfirm(target, id);

	/* End frees the encoder whatever it returns */
	hasher = target->hasher;
	target->hasher = NULL;
	ok = codecEncoderEnd(hasher, &result, err);
	if (!archiveFileClose(target, path, ok ? err : NULL) || !ok)
		return false;
	memcpy(sha256, result.sha256, CODEC_SHA256_SIZE);
	*size = result.rawSize;
	return true;
}

/*
 * Encode the local file into a new object.  DR_ERR_EXISTS when the object
 * appeared meanwhile (another process stored it).
 */
static bool
archiveStore(ArchiveTarget *target, const char *name, const char *path,
			 const char *objectPath, ArchivePutResult *result, DrError *err)
{
	RepoObjectWrite *write;
	CodecResult codec;
	char	   *buf;
	uint64		total = 0;
	RepoWriteParam param = {0};

	if (!archiveFileOpen(target, path, err))
		return false;
	archiveFileIdTake(target, &result->fileId);
	/* bound to its name: a copy under another name is refused when read */
	param.binding = name;
	param.compressLevel = drArchiveCompressLevel;
	target->write = repoObjectWriteBeginParam(target->repo, objectPath,
											  target->keyNone ? NULL : &target->key,
											  &param, err);
	if (target->write == NULL)
	{
		(void) archiveFileClose(target, path, NULL);
		return false;
	}

	buf = palloc(ARCHIVE_BUFFER_SIZE);
	for (;;)
	{
		ssize_t		n = archiveFileRead(target, path, buf, err);

		if (n < 0 ||
			(n > 0 && !repoObjectWrite(target->write, buf, n, err)))
			goto fail;
		if (n == 0)
			break;
		total += n;
	}
	archiveFileIdConfirm(target, &result->fileId);
	/* checked before the object becomes visible */
	if (!archiveSizeCheck(name, total, err) ||
		!archiveFileClose(target, path, err))
		goto fail;
	pfree(buf);

	/* End frees the handle whatever it returns */
	write = target->write;
	target->write = NULL;
	if (!repoObjectWriteEnd(write, &codec, err))
		return false;
	result->size = codec.rawSize;
	memcpy(result->sha256, codec.sha256, CODEC_SHA256_SIZE);
	return true;

fail:
	pfree(buf);
	repoObjectWriteAbort(target->write);
	target->write = NULL;
	if (target->fd >= 0)
		(void) archiveFileClose(target, path, NULL);
	return false;
}

/*
 * Make sure the data key of an existing object is in the repository's key
 * cache, loading it in the target's context (see the header comment).
 */
static bool
archiveObjectKeyLoad(ArchiveTarget *target, const char *objectPath,
					 DrError *err)
{
	StorageRead *read;
	uint8		header[CODEC_HEADER_SIZE];
	size_t		got = 0;
	CodecHeader parsed;
	MemoryContext old;
	const CodecDataKey *key;

	read = storageReadBegin(repoStorage(target->repo), objectPath, err);
	if (read == NULL)
		return false;
	while (got < sizeof(header))
	{
		ssize_t		n = storageRead(read, header + got, sizeof(header) - got,
									err);

		if (n < 0)
		{
			storageReadEnd(read);
			return false;
		}
		if (n == 0)
			break;
		got += n;
	}
	storageReadEnd(read);

	/* a short or bad header: the decoder says what is wrong, in context */
	if (!codecHeaderParse(header, got, &parsed, NULL) ||
		!(parsed.flags & CODEC_FLAG_AES256GCM))
		return true;

	old = MemoryContextSwitchTo(target->context);
	key = repoDataKeyGet(target->repo, parsed.keyId, err);
	MemoryContextSwitchTo(old);
	return key != NULL;
}

/*
 * Decode (authenticate) the object of name to its end: its size and
 * SHA-256, and *otherName when it is bound to another name (then it is
 * another file's object, whatever it holds).
 */
static bool
archiveObjectHash(ArchiveTarget *target, const char *name,
				  const char *objectPath, uint8 *sha256, uint64 *size,
				  bool *otherName, DrError *err)
{
	RepoObjectRead *read;
	CodecResult codec;
	char	   *buf;
	bool		bound;
	DrError		bindErr;

	*otherName = false;
	if (!archiveObjectKeyLoad(target, objectPath, err))
		return false;
	target->read = repoObjectReadBegin(target->repo, objectPath, err);
	if (target->read == NULL)
		return false;
	drErrorClear(&bindErr);
	if (!repoObjectReadBindingCheck(target->read, name, &bound, &bindErr))
	{
		if (bindErr.code != DR_ERR_CORRUPT)
		{
			repoObjectReadFree(target->read);
			target->read = NULL;
			*err = bindErr;
			return false;
		}
		*otherName = true;
	}

	buf = palloc(ARCHIVE_BUFFER_SIZE);
	for (;;)
	{
		ssize_t		n = archiveWorkerStopping(target, err) ? -1 :
			repoObjectRead(target->read, buf, ARCHIVE_BUFFER_SIZE, err);

		if (n < 0)
		{
			repoObjectReadFree(target->read);
			target->read = NULL;
			pfree(buf);
			return false;
		}
		if (n == 0)
			break;
	}
	pfree(buf);

	/* End frees the handle whatever it returns */
	read = target->read;
	target->read = NULL;
	if (!repoObjectReadEnd(read, &codec, err))
		return false;
	memcpy(sha256, codec.sha256, CODEC_SHA256_SIZE);
	*size = codec.rawSize;
	return true;
}

static bool
archivePutInternal(ArchiveTarget *target, const char *name, const char *path,
				   ArchivePutResult *result, DrError *err)
{
	memset(result, 0, sizeof(ArchivePutResult));
	result->objectPath = repoArchiveWalPath(name, err);
	if (result->objectPath == NULL)
		return false;

	/*
	 * Store it, create-only: an object already under the name makes the
	 * write fail with DR_ERR_EXISTS (storage.h: the store refuses the PUT,
	 * or the driver finds the name taken before the upload where the store
	 * would not refuse it), which is rare enough not to ask first: one
	 * request less per segment.
	 */
	if (archiveStore(target, name, path, result->objectPath, result, err))
	{
		result->outcome = ARCHIVE_PUT_STORED;
		return true;
	}
	if (err->code != DR_ERR_EXISTS)
		return false;
	drErrorClear(err);

	/*
	 * There already: a crash may have come between storing the object and
	 * the server's note that it is archived, or a worker stored it.  It
	 * counts only with exactly the same content.
	 */
	if (!archiveFileHash(target, path, result->sha256, &result->size,
						 &result->fileId, err) ||
		!archiveSizeCheck(name, result->size, err) ||
		!archiveObjectHash(target, name, result->objectPath,
						   result->objectSha256, &result->objectSize,
						   &result->objectOtherName, err))
		return false;
	result->outcome = (!result->objectOtherName &&
					   result->size == result->objectSize &&
					   memcmp(result->sha256, result->objectSha256,
							  CODEC_SHA256_SIZE) == 0) ?
		ARCHIVE_PUT_IDENTICAL : ARCHIVE_PUT_DIFFERENT;
	return true;
}

bool
archivePut(ArchiveTarget *target, const char *name, const char *path,
		   ArchivePutResult *result, DrError *err)
{
	if (archivePutInternal(target, name, path, result, err))
		return true;
	/* perhaps the passphrase was rotated: open the repository again */
	if (err->code == DR_ERR_KEY)
		archiveTargetClose(target);
	return false;
}

void
archiveTargetCleanup(ArchiveTarget *target)
{
	if (target->write != NULL)
		repoObjectWriteAbort(target->write);
	target->write = NULL;
	if (target->read != NULL)
		repoObjectReadFree(target->read);
	target->read = NULL;
	if (target->hasher != NULL)
		codecEncoderFree(target->hasher);
	target->hasher = NULL;
	if (target->fd >= 0)
		(void) CloseTransientFile(target->fd);
	target->fd = -1;
}
