/*-------------------------------------------------------------------------
 * backup_verify.c
 *	  Offline verification of a backup and its chain (see backup_verify.h).
 *
 * A backup is checked with its parent's manifest alongside (the merge of
 * restore_chain.c over two levels), so that references into the parent
 * are checked in the same pass over the files.  Objects are read to their
 * verified end, which is what authenticates them (codec.h), through one
 * buffer; a file in parts part by part (manifest.h); block deltas go through the delta reader, which checks their
 * structure.  A problem with one object never stops the others; a damaged
 * manifest stops the backup it describes (nothing after the damage can be
 * trusted), and is reported once.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "common/delta.h"
#include "common/wal.h"
#include "repo/repo_archive.h"
#include "repo/repo_backup.h"
#include "repo/repo_chain.h"
#include "backup/backup_verify.h"

#define VERIFY_BUFFER_SIZE		(1024 * 1024)

typedef struct VerifyState
{
	Repo	   *repo;
	const VerifyParam *param;
	VerifyResult *result;
	char	   *buffer;
	DrProgress	progress;		/* what was reported last */
} VerifyState;

/* Whether to stop: the host cancelled (now or before). */
static bool
verifyCancelled(VerifyState *state)
{
	if (!state->result->cancelled && hostCancelled(state->param->host))
		state->result->cancelled = true;
	return state->result->cancelled;
}

/* One unit done: a file entry or a WAL segment of phase. */
static void
verifyProgress(VerifyState *state, const char *phase, const char *path,
			   uint64 bytes)
{
	state->progress.phase = phase;
	state->progress.itemsDone++;
	state->progress.bytesDone += bytes;
	state->progress.current = path;
	hostProgress(state->param->host, &state->progress);
}

static void verifyProblem(VerifyState *state, const char *path,
						  const char *fmt,...) pg_attribute_printf(3, 4);

static void
verifyProblem(VerifyState *state, const char *path, const char *fmt,...)
{
	char		message[sizeof(((DrError *) NULL)->message) + 256];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	state->result->problems++;
	state->param->problem(state->param->problemArg, path, message);
}

/*
 * An error from reading an object, as a problem; a read the host
 * cancelled while it waited on the store (storageHostSet) stops the
 * verification instead, reporting nothing.
 */
static void
verifyObjectError(VerifyState *state, const char *path, const DrError *err)
{
	if (err->code == DR_ERR_CANCELED)
		state->result->cancelled = true;
	else if (err->code == DR_ERR_NOT_FOUND)
		verifyProblem(state, path, "object is missing");
	else
		verifyProblem(state, path, "%s", err->message);
}

/* An error as a problem in its own words, or the stop of a cancel. */
static void
verifyErrorProblem(VerifyState *state, const char *path, const DrError *err)
{
	if (err->code == DR_ERR_CANCELED)
		state->result->cancelled = true;
	else
		verifyProblem(state, path, "%s", err->message);
}

static ssize_t
verifyObjectRead(void *arg, void *buf, size_t len, DrError *err)
{
	return repoObjectRead((RepoObjectRead *) arg, buf, len, err);
}

/*
 * Open the object called path in messages: the one of file of backup
 * backupId (data/<path> or its bundle entry) when file is not NULL, else
 * the object at path.
 */
static RepoObjectRead *
verifyObjectOpen(VerifyState *state, const char *path, const char *backupId,
				 const ManifestFile *file, DrError *err)
{
	if (file != NULL)
		return repoBackupFileReadBegin(state->repo, backupId, file, err);
	return repoObjectReadBegin(state->repo, path, err);
}

/*
 * Read a whole object (verifyObjectOpen); its result, or false (problem
 * reported).  sha256 NULL: no SHA-256 to compare with.
 */
static bool
verifyObjectWholeBound(VerifyState *state, const char *path,
					   const char *backupId, const ManifestFile *file,
					   uint64 size, const uint8 *sha256,
					   const uint64 *objectSize, bool bound, CodecResult *out)
{
	DrError		err;
	RepoObjectRead *read;
	CodecResult result;
	uint64		done = 0;

	drErrorClear(&err);
	read = verifyObjectOpen(state, path, backupId, file, &err);
	if (read == NULL)
	{
		verifyObjectError(state, path, &err);
		return false;
	}
	/* a part must be bound to its own name (manifest.h) */
	if (bound && !repoObjectReadBindingRequire(read, path, &err))
	{
		repoObjectReadFree(read);
		verifyObjectError(state, path, &err);
		return false;
	}
	for (;;)
	{
		ssize_t		n = repoObjectRead(read, state->buffer, VERIFY_BUFFER_SIZE,
									   &err);

		if (n < 0)
		{
			repoObjectReadFree(read);
			verifyObjectError(state, path, &err);
			return false;
		}
		if (n == 0)
			break;
		/* a large object: stop inside it, nothing to report */
		done += n;
		if (done % VERIFY_CANCEL_CHECK < (uint64) n && verifyCancelled(state))
		{
			repoObjectReadFree(read);
			return false;
		}
	}
	if (!repoObjectReadEnd(read, &result, &err))
	{
		verifyObjectError(state, path, &err);
		return false;
	}
	state->result->objects++;
	state->result->bytes += result.rawSize;
	if (out)
		*out = result;

	if (result.rawSize != size)
		verifyProblem(state, path,
					  "object holds " UINT64_FORMAT " bytes, the manifest says " UINT64_FORMAT,
					  result.rawSize, size);
	else if (sha256 != NULL &&
			 memcmp(result.sha256, sha256, CODEC_SHA256_SIZE) != 0)
		verifyProblem(state, path,
					  "object does not have the SHA-256 the manifest gives");
	else if (objectSize != NULL && result.storedSize != *objectSize)
		verifyProblem(state, path,
					  "object is " UINT64_FORMAT " bytes long, the manifest says " UINT64_FORMAT,
					  result.storedSize, *objectSize);
	else
		return true;
	return false;
}

static bool
verifyObjectWhole(VerifyState *state, const char *path, const char *backupId,
				  const ManifestFile *file, uint64 size,
				  const uint8 *sha256, const uint64 *objectSize)
{
	return verifyObjectWholeBound(state, path, backupId, file, size, sha256,
								  objectSize, false, NULL);
}

/*
 * A file in parts (manifest.h): each part bound to its name, of the length
 * the layout gives; the SHA-256 of their digests and the total of their
 * stored sizes against the manifest.
 */
static void
verifyObjectParts(VerifyState *state, const char *backupId,
				  const ManifestFile *file, uint64 partSize)
{
	uint8		sha256[CODEC_SHA256_SIZE];
	uint8	   *all = palloc((size_t) file->parts * CODEC_SHA256_SIZE);
	uint64		stored = 0;
	bool		ok = true;
	char	   *first = repoBackupPartPath(backupId, file->path, 0);
	DrError		err;

	for (uint32 k = 0; k < file->parts && !verifyCancelled(state); k++)
	{
		char	   *path = repoBackupPartPath(backupId, file->path, k);
		uint64		offset;
		uint64		length;
		CodecResult result;

		manifestPartRange(file, partSize, k, &offset, &length);
		if (verifyObjectWholeBound(state, path, NULL, NULL, length, NULL, NULL,
								   true, &result))
		{
			memcpy(all + (size_t) k * CODEC_SHA256_SIZE, result.sha256,
				   CODEC_SHA256_SIZE);
			stored += result.storedSize;
		}
		else
			ok = false;
		pfree(path);
	}
	if (ok && !state->result->cancelled)
	{
		drErrorClear(&err);
		if (!codecSha256(all, (size_t) file->parts * CODEC_SHA256_SIZE,
						 sha256, &err))
			verifyProblem(state, first, "%s", err.message);
		else if (memcmp(sha256, file->sha256, CODEC_SHA256_SIZE) != 0)
			verifyProblem(state, first,
						  "the parts of \"%s\" do not have the SHA-256 the manifest gives",
						  file->path);
		else if (stored != file->objectSize)
			verifyProblem(state, first,
						  "the parts of \"%s\" are " UINT64_FORMAT " bytes long, the manifest says " UINT64_FORMAT,
						  file->path, stored, file->objectSize);
	}
	pfree(first);
	pfree(all);
}

/* A block delta: structure, block size, file size, page count, stored size. */
static void
verifyObjectDelta(VerifyState *state, const char *path, const char *backupId,
				  const ManifestFile *file, const ManifestFile *parent,
				  uint32 blockSize)
{
	DrError		err;
	RepoObjectRead *read;
	DeltaReader *delta;
	CodecResult result;
	uint32		pages = 0;

	drErrorClear(&err);
	read = verifyObjectOpen(state, path, backupId, file, &err);
	if (read == NULL)
	{
		verifyObjectError(state, path, &err);
		return;
	}
	delta = deltaReaderNew(verifyObjectRead, read, &err);
	if (delta == NULL)
		goto fail;
	if (deltaReaderBlockSize(delta) != blockSize)
	{
		verifyProblem(state, path, "delta has block size %u, the backup %u",
					  deltaReaderBlockSize(delta), blockSize);
		goto done;
	}
	if (deltaReaderFileSize(delta) != file->size)
	{
		verifyProblem(state, path,
					  "delta makes a file of " UINT64_FORMAT " bytes, the manifest says " UINT64_FORMAT,
					  deltaReaderFileSize(delta), file->size);
		goto done;
	}
	/* pages XORed with the parent's: the parent must have them */
	if (parent != NULL &&
		(uint64) deltaReaderBaseBlocks(delta) * blockSize > parent->size)
	{
		verifyProblem(state, path,
					  "delta is based on %u pages of the parent's file, which has " UINT64_FORMAT " bytes",
					  deltaReaderBaseBlocks(delta), parent->size);
		goto done;
	}
	for (;;)
	{
		uint32		blockno;
		const void *page;
		int			rc = deltaReaderNext(delta, &blockno, &page, &err);

		if (rc < 0)
			goto fail;
		if (rc == 0)
			break;
		pages++;
		/* a large delta: stop inside it, nothing to report */
		if ((uint64) pages * blockSize % VERIFY_CANCEL_CHECK < blockSize &&
			verifyCancelled(state))
			goto done;
	}
	deltaReaderFree(delta);
	delta = NULL;
	if (!repoObjectReadEnd(read, &result, &err))
	{
		read = NULL;
		goto fail;
	}
	read = NULL;
	state->result->objects++;
	state->result->bytes += result.rawSize;
	if (pages != file->blocks)
		verifyProblem(state, path, "delta holds %u pages, the manifest says %u",
					  pages, file->blocks);
	else if (result.storedSize != file->objectSize)
		verifyProblem(state, path,
					  "object is " UINT64_FORMAT " bytes long, the manifest says " UINT64_FORMAT,
					  result.storedSize, file->objectSize);
	goto done;

fail:
	verifyObjectError(state, path, &err);
done:
	if (delta)
		deltaReaderFree(delta);
	if (read)
		repoObjectReadFree(read);
}

/* One file entry of backup ids[0]; levels[1] is the parent's, if known. */
static void
verifyFile(VerifyState *state, char *const *ids, int count,
		   const ManifestFile *const *levels, uint32 blockSize,
		   uint64 partSize)
{
	const ManifestFile *file = levels[0];
	char	   *path = repoBackupFileObjectName(ids[0], file);

	state->result->files++;
	switch (file->store)
	{
		case MANIFEST_STORE_FULL:
			if (file->parts > 0)
				verifyObjectParts(state, ids[0], file, partSize);
			else
				verifyObjectWhole(state, path, ids[0], file, file->size,
								  file->sha256, &file->objectSize);
			break;
		case MANIFEST_STORE_DELTA:
			verifyObjectDelta(state, path, ids[0], file,
							  count > 1 ? levels[1] : NULL,
							  blockSize);
			break;
		case MANIFEST_STORE_PARENT:
			break;
	}

	if (file->store != MANIFEST_STORE_FULL && count > 1)
	{
		if (levels[1] == NULL)
			verifyProblem(state, path,
						  "stored as \"%s\", but backup \"%s\", its parent, does not have the file",
						  manifestStoreName(file->store), ids[1]);
		else if (file->store == MANIFEST_STORE_PARENT &&
				 levels[1]->size != file->size)
			verifyProblem(state, path,
						  "stored as \"parent\" with size " UINT64_FORMAT ", but backup \"%s\" has size " UINT64_FORMAT,
						  file->size, ids[1], levels[1]->size);
	}
	pfree(path);
}

/* Where an archived segment's bytes go: nowhere, asking the host meanwhile. */
typedef struct VerifyWalSink
{
	VerifyState *state;
	uint64		done;
} VerifyWalSink;

static bool
verifyWalSinkWrite(void *arg, const void *buf, size_t len, DrError *err)
{
	VerifyWalSink *sink = arg;

	sink->done += len;
	if (sink->done % VERIFY_CANCEL_CHECK < len && verifyCancelled(sink->state))
		return drErrorSet(err, DR_ERR_CANCELED, "verification canceled");
	return true;
}

/*
 * A backup that left its WAL to the archive (it stores none itself): the
 * segments from the one of its start LSN to the one holding the WAL just
 * before its stop LSN must be in the archive, each the segment its name
 * says (repoArchiveRead, the reader of wal-get), or the backup cannot
 * reach consistency.
 */
static void
verifyWalArchived(VerifyState *state, const char *backupId,
				  const ManifestHeader *header)
{
	RepoArchiveExpect expect;
	VerifyWalSink walSink = {state, 0};
	CodecSink	sink = {verifyWalSinkWrite, &walSink};
	char		start[32];
	char		stop[32];
	uint64		first;
	uint64		last;

	if (!walSegmentSizeValid(header->segmentSize) ||
		header->stopLsn <= header->startLsn)
	{
		char	   *path = repoBackupManifestPath(backupId);

		verifyProblem(state, path,
					  "backup %s stores no WAL, and its manifest does not say which WAL it needs",
					  backupId);
		pfree(path);
		return;
	}
	expect.segSize = header->segmentSize;
	expect.systemIdentifier = header->systemIdentifier;
	manifestLsnFormat(header->startLsn, start, sizeof(start));
	manifestLsnFormat(header->stopLsn, stop, sizeof(stop));
	/* as the backup would store them: XLByteToSeg, XLByteToPrevSeg */
	first = walSegmentOf(header->startLsn, header->segmentSize);
	last = walSegmentOf(header->stopLsn - 1, header->segmentSize);
	for (uint64 segno = first; segno <= last; segno++)
	{
		char		name[WAL_NAME_LEN + 1];
		char	   *path;
		DrError		err;

		if (verifyCancelled(state))
			return;
		walSegmentName(name, header->timeline, segno, header->segmentSize);
		path = repoArchiveWalPath(name, NULL);
		state->result->walSegments++;
		drErrorClear(&err);
		walSink.done = 0;
		if (!repoArchiveRead(state->repo, name, &expect, sink, NULL, &err))
		{
			/* stopped inside it: nothing to report */
			if (err.code == DR_ERR_CANCELED)
				state->result->cancelled = true;
			if (state->result->cancelled)
			{
				pfree(path);
				return;
			}
			verifyProblem(state, path, "%s; backup %s needs it (WAL from %s to %s)",
						  err.message, backupId, start, stop);
		}
		else
			state->result->objects++;
		verifyProgress(state, "wal", name, header->segmentSize);
		pfree(path);
	}
}

/*
 * The WAL segments of backupId (second pass over its manifest), or those
 * it needs from the archive when it stores none.
 */
static void
verifyWal(VerifyState *state, const char *backupId)
{
	DrError		err;
	RepoBackupManifest *manifest;
	ManifestReader *reader;
	uint64		stored = 0;
	bool		ended = false;

	drErrorClear(&err);
	manifest = repoBackupManifestOpen(state->repo, backupId, &err);
	if (manifest == NULL)
	{
		char	   *path = repoBackupManifestPath(backupId);

		verifyErrorProblem(state, path, &err);
		pfree(path);
		return;
	}
	reader = repoBackupManifestReader(manifest);
	for (;;)
	{
		ManifestEntry entry;
		char	   *path;
		int			rc;

		if (verifyCancelled(state))
			break;
		rc = manifestReaderNext(reader, &entry, &err);
		/* the first pass read this manifest to its end already */
		if (rc <= 0)
		{
			ended = rc == 0;
			break;
		}
		if (entry.kind != MANIFEST_ENTRY_WAL)
			continue;
		path = repoBackupWalPath(backupId, entry.wal.name);
		state->result->walSegments++;
		stored++;
		verifyObjectWhole(state, path, NULL, NULL, entry.wal.size,
						  entry.wal.sha256, NULL);
		if (!state->result->cancelled)
			verifyProgress(state, "wal", entry.wal.name, entry.wal.size);
		pfree(path);
	}
	if (ended && stored == 0)
		verifyWalArchived(state, backupId, repoBackupManifestHeader(manifest));
	repoBackupManifestClose(manifest);
}

/*
 * The objects of backup ids[0], with the manifest of its parent ids[1]
 * alongside when count is 2.
 */
static void
verifyOne(VerifyState *state, char *const *ids, int count, uint32 blockSize,
		  uint64 partSize)
{
	DrError		err;
	RepoChainIter *iter;
	char	   *manifestPath = repoBackupManifestPath(ids[0]);
	bool		ok = true;

	drErrorClear(&err);
	state->result->backups++;
	iter = repoChainIterOpen(state->repo, ids, count, &err);
	if (iter == NULL)
	{
		verifyErrorProblem(state, manifestPath, &err);
		pfree(manifestPath);
		return;
	}
	for (;;)
	{
		const ManifestFile *const *levels;
		int			rc;

		if (verifyCancelled(state))
		{
			ok = false;
			break;
		}
		rc = repoChainIterNext(iter, &levels, &err);
		if (rc < 0)
		{
			verifyErrorProblem(state, manifestPath, &err);
			ok = false;
			break;
		}
		if (rc == 0)
			break;
		verifyFile(state, ids, count, levels, blockSize, partSize);
		if (!state->result->cancelled)
			verifyProgress(state, "files", levels[0]->path, levels[0]->size);
	}
	repoChainIterClose(iter);
	if (ok)
		verifyWal(state, ids[0]);
	pfree(manifestPath);
}

static bool
verifyBackupRun(Repo *repo, const char *backupId, const VerifyParam *param,
				VerifyResult *result)
{
	VerifyState state;
	VerifyResult localResult;
	RepoBackupChain *chain;
	RepoBackupManifest *manifest;
	DrError		err;
	char	   *id;
	char	   *path;
	uint32		blockSize;
	uint64		partSize;

	memset(&state, 0, sizeof(state));
	state.repo = repo;
	state.param = param;
	state.result = result ? result : &localResult;
	memset(state.result, 0, sizeof(VerifyResult));
	state.progress.operation = "verify";
	drErrorClear(&err);

	id = repoBackupResolve(repo, backupId, &err);
	if (id == NULL)
	{
		path = manifestBackupIdValid(backupId) ?
			repoBackupManifestPath(backupId) : pstrdup(REPO_BACKUP_DIR);
		verifyErrorProblem(&state, path, &err);
		pfree(path);
		return false;
	}

	/* the backup's own manifest first: a problem there is reported once */
	path = repoBackupManifestPath(id);
	manifest = repoBackupManifestOpen(repo, id, &err);
	if (manifest == NULL)
	{
		verifyErrorProblem(&state, path, &err);
		pfree(path);
		pfree(id);
		return false;
	}
	blockSize = repoBackupManifestHeader(manifest)->blockSize;
	partSize = repoBackupManifestHeader(manifest)->partSize;
	repoBackupManifestClose(manifest);

	state.buffer = palloc(VERIFY_BUFFER_SIZE);
	chain = repoBackupChain(repo, id, &err);
	if (chain == NULL)
	{
		/* the chain is broken: the backup's own objects can still be read */
		verifyErrorProblem(&state, path, &err);
		verifyOne(&state, &id, 1, blockSize, partSize);
	}
	else
	{
		int			levels = param->chain ? chain->count : 1;

		for (int i = 0; i < levels && !verifyCancelled(&state); i++)
			verifyOne(&state, chain->ids + i, i + 1 < chain->count ? 2 : 1,
					  chain->headers[i].blockSize, chain->headers[i].partSize);
		repoBackupChainFree(chain);
	}

	pfree(state.buffer);
	pfree(path);
	pfree(id);
	return state.result->problems == 0 && !state.result->cancelled;
}

/* A stalled read from the repository is cancellable too (storage.h). */
bool
verifyBackup(Repo *repo, const char *backupId, const VerifyParam *param,
			 VerifyResult *result)
{
	const DrHost *saved = storageHostSet(repoStorage(repo), param->host);
	bool		ok;

	repoReadAheadBegin(repo);
	ok = verifyBackupRun(repo, backupId, param, result);
	repoReadAheadEnd(repo);
	storageHostSet(repoStorage(repo), saved);
	return ok;
}
