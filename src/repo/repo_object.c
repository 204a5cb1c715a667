/*-------------------------------------------------------------------------
 * repo_object.c
 *	  Encoded repository objects: the codec stacked on a storage stream.
 *
 * Writing: storageWriteBegin -> codec encoder (compression from the
 * configuration, encryption with the caller's data key) -> storageWriteEnd.
 * Any failure aborts the storage write, so a half-encoded object is never
 * visible.  Reading: storageReadBegin -> codec decoder, which looks data
 * keys up through repoDataKeyGet; nothing counts as verified until the
 * decoder reported the end (see codec.h).
 *
 * An encrypted repository stores only encrypted objects, and an
 * unencrypted one only plain ones: a caller that forgot to pass the key
 * must get an error, not a plain-text copy of the data next to encrypted
 * ones.
 *
 * Codec errors do not know which object they are about; they are prefixed
 * with its path here (and, for an entry of a bundle, its offset).
 *
 * Bundles (RepoWriteParam.bundle, repo_bundle.c): a write into a bundle
 * encodes into memory; End appends the whole encoded object to the bundle
 * as one entry, and Abort drops it, so an object given up (a backup's file
 * found unchanged) costs the bundle nothing.  Should the encoded object
 * grow past the bundle's entry limit (a small file that grew while it was
 * read), the write turns into a standalone object at its own path: what
 * was buffered goes there first, and the rest follows it.  Either way the
 * bytes are the same encoded object.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "repo/repo_internal.h"

/* Bytes taken from a CodecSource at a time by repoObjectPut. */
#define REPO_OBJECT_BUFFER		(256 * 1024)

struct RepoObjectRead
{
	Repo	   *repo;
	StorageRead *read;
	CodecDecoder *decoder;		/* NULL once ended */
	char	   *path;
	bool		ranged;			/* an entry of a bundle, at offset */
	uint64		offset;
};

/* Prefix an error with the object it is about. */
static void
repoObjectErrorContext(Repo *repo, const char *path, DrError *err)
{
	drErrorPrefix(err, "object \"%s/%s\": ", repo->config.path, path);
}

static void
repoObjectReadErrorContext(RepoObjectRead *read, DrError *err)
{
	if (read->ranged)
		drErrorPrefix(err, "entry at offset " UINT64_FORMAT " of object \"%s/%s\": ",
					  read->offset, read->repo->config.path, read->path);
	else
		repoObjectErrorContext(read->repo, read->path, err);
}

/*
 * Check that key fits the repository: present exactly when it is
 * encrypted, and in its keyring (an object encrypted with a key the
 * repository does not hold could never be read back).
 */
static bool
repoObjectKeyCheck(Repo *repo, const char *path, const CodecDataKey *key,
				   DrError *err)
{
	const CodecDataKey *stored;

	if (repo->info.cipher == CONFIG_CIPHER_AES256GCM && key == NULL)
	{
		drErrorSet(err, DR_ERR_INVALID,
				   "repository \"%s\" is encrypted: object \"%s\" needs a data key",
				   repo->config.path, path);
		drErrorHint(err, "get one with repoDataKeyNew()");
		return false;
	}
	if (repo->info.cipher != CONFIG_CIPHER_AES256GCM && key != NULL)
		return drErrorSet(err, DR_ERR_INVALID,
						  "repository \"%s\" is not encrypted: object \"%s\" cannot use a data key",
						  repo->config.path, path);
	if (key == NULL)
		return true;

	stored = repoDataKeyGet(repo, key->id, err);
	if (stored == NULL)
		return false;
	if (memcmp(stored->key, key->key, CODEC_KEY_SIZE) != 0)
		return drErrorSet(err, DR_ERR_KEY,
						  "data key given for object \"%s\" differs from the repository's key of that id",
						  path);
	return true;
}

struct RepoObjectWrite
{
	Repo	   *repo;
	StorageWrite *write;		/* NULL while the object is in memory */
	CodecEncoder *encoder;
	char	   *path;
	bool		deferSync;
	bool		owned;

	/* a bundle entry being encoded into memory (see the file header) */
	RepoBundle *bundle;
	char	   *memory;
	size_t		memoryLen;
	size_t		memorySize;
};

/*
 * Where the encoder's bytes go: the storage write, or memory until the
 * bundle's entry limit, past which the object becomes a standalone one.
 */
static bool
repoObjectSinkWrite(void *arg, const void *buf, size_t len, DrError *err)
{
	RepoObjectWrite *ow = arg;

	if (ow->write == NULL &&
		ow->memoryLen + len > repoBundleEntryMax(ow->bundle))
	{
		StorageWriteParam storageParam = {0};

		storageParam.deferSync = ow->deferSync;
		storageParam.owned = ow->owned;
		ow->write = storageWriteBegin(ow->repo->storage, ow->path,
									  &storageParam, err);
		if (ow->write == NULL)
			return false;
		if (ow->memoryLen > 0 &&
			!storageWrite(ow->write, ow->memory, ow->memoryLen, err))
			return false;
		pfree(ow->memory);
		ow->memory = NULL;
		ow->memoryLen = ow->memorySize = 0;
	}
	if (ow->write != NULL)
		return storageWrite(ow->write, buf, len, err);

	if (ow->memoryLen + len > ow->memorySize)
	{
		size_t		size = Max(ow->memorySize * 2, 16 * 1024);

		while (size < ow->memoryLen + len)
			size *= 2;
		ow->memory = ow->memory ? repalloc(ow->memory, size) : palloc(size);
		ow->memorySize = size;
	}
	memcpy(ow->memory + ow->memoryLen, buf, len);
	ow->memoryLen += len;
	return true;
}

RepoObjectWrite *
repoObjectWriteBegin(Repo *repo, const char *path, const CodecDataKey *key,
					 DrError *err)
{
	RepoWriteParam defaults = {0};

	return repoObjectWriteBeginParam(repo, path, key, &defaults, err);
}

RepoObjectWrite *
repoObjectWriteBeginParam(Repo *repo, const char *path, const CodecDataKey *key,
						  const RepoWriteParam *writeParam, DrError *err)
{
	CodecEncodeParam param = {0};
	StorageWriteParam storageParam = {0};
	RepoObjectWrite *ow;
	CodecSink	sink;

	if (!repoObjectKeyCheck(repo, path, key, err))
		return NULL;

	ow = palloc0(sizeof(RepoObjectWrite));
	ow->repo = repo;
	ow->path = pstrdup(path);
	ow->deferSync = writeParam->deferSync;
	ow->owned = writeParam->owned;
	ow->bundle = writeParam->bundle;
	if (ow->bundle == NULL)
	{
		storageParam.deferSync = writeParam->deferSync;
		storageParam.owned = writeParam->owned;
		storageParam.replace = writeParam->replace;
		ow->write = storageWriteBegin(repo->storage, path, &storageParam, err);
		if (ow->write == NULL)
		{
			pfree(ow->path);
			pfree(ow);
			return NULL;
		}
	}

	param.compressLevel = repo->config.compressLevel;
	if (param.compressLevel > 0 && writeParam->compressLevel > 0)
		param.compressLevel = writeParam->compressLevel;
	param.key = key;
	param.binding = writeParam->binding;
	/* small chunks for a small object: small buffers to write and read it */
	if (ow->bundle != NULL)
		param.chunkSize = REPO_BUNDLE_CHUNK_SIZE;
	sink.write = repoObjectSinkWrite;
	sink.arg = ow;
	ow->encoder = codecEncoderNew(&param, sink, err);
	if (ow->encoder == NULL)
	{
		repoObjectErrorContext(repo, path, err);
		repoObjectWriteAbort(ow);
		return NULL;
	}
	return ow;
}

bool
repoObjectWrite(RepoObjectWrite *ow, const void *buf, size_t len, DrError *err)
{
	if (!codecEncoderWrite(ow->encoder, buf, len, err))
	{
		repoObjectErrorContext(ow->repo, ow->path, err);
		return false;
	}
	return true;
}

void
repoObjectWriteAbort(RepoObjectWrite *ow)
{
	if (ow->encoder)
		codecEncoderFree(ow->encoder);
	if (ow->write)
		storageWriteAbort(ow->write);
	if (ow->memory)
		pfree(ow->memory);
	pfree(ow->path);
	pfree(ow);
}

bool
repoObjectWriteEnd(RepoObjectWrite *ow, CodecResult *result, DrError *err)
{
	return repoObjectWriteEndPlace(ow, result, NULL, err);
}

bool
repoObjectWriteEndPlace(RepoObjectWrite *ow, CodecResult *result,
						RepoObjectPlace *place, DrError *err)
{
	CodecResult localResult;
	bool		ended;
	bool		ok;

	if (place)
		memset(place, 0, sizeof(RepoObjectPlace));
	/* End frees the encoder whatever it returns */
	ended = codecEncoderEnd(ow->encoder, result ? result : &localResult, err);
	ow->encoder = NULL;
	if (!ended)
	{
		repoObjectErrorContext(ow->repo, ow->path, err);
		repoObjectWriteAbort(ow);
		return false;
	}
	if (ow->write == NULL)
	{
		/* still in memory: one entry of the bundle */
		ok = repoBundleAppend(ow->bundle, ow->memory, ow->memoryLen, place,
							  err);
		if (ow->memory)
			pfree(ow->memory);
	}
	else
		ok = storageWriteEnd(ow->write, err);
	pfree(ow->path);
	pfree(ow);
	return ok;
}

/*
 * Encode into a new object.  Exactly one of source and buf is used: the
 * buffer form saves the copy through a CodecSource.
 */
static bool
repoObjectPutInternal(Repo *repo, const char *path, const CodecSource *source,
					  const void *buf, size_t len, const CodecDataKey *key,
					  const char *binding, CodecResult *result, DrError *err)
{
	RepoObjectWrite *ow;
	char	   *chunk = NULL;
	RepoWriteParam param = {0};

	param.binding = binding;
	ow = repoObjectWriteBeginParam(repo, path, key, &param, err);
	if (ow == NULL)
		return false;

	if (source == NULL)
	{
		if (!repoObjectWrite(ow, buf, len, err))
			goto fail;
	}
	else
	{
		chunk = palloc(REPO_OBJECT_BUFFER);
		for (;;)
		{
			ssize_t		n = source->read(source->arg, chunk, REPO_OBJECT_BUFFER,
										 err);

			if (n < 0)
				goto fail;
			if (n == 0)
				break;
			if (!repoObjectWrite(ow, chunk, n, err))
				goto fail;
		}
		pfree(chunk);
	}
	return repoObjectWriteEnd(ow, result, err);

fail:
	if (chunk)
		pfree(chunk);
	repoObjectWriteAbort(ow);
	return false;
}

bool
repoObjectPut(Repo *repo, const char *path, CodecSource source,
			  const CodecDataKey *key, CodecResult *result, DrError *err)
{
	return repoObjectPutInternal(repo, path, &source, NULL, 0, key, NULL, result,
								 err);
}

bool
repoObjectPutBuffer(Repo *repo, const char *path, const void *buf, size_t len,
					const CodecDataKey *key, CodecResult *result, DrError *err)
{
	return repoObjectPutInternal(repo, path, NULL, buf, len, key, NULL, result,
								 err);
}

bool
repoObjectPutBufferBound(Repo *repo, const char *path, const void *buf,
						 size_t len, const CodecDataKey *key,
						 CodecResult *result, DrError *err)
{
	return repoObjectPutInternal(repo, path, NULL, buf, len, key, path, result,
								 err);
}

static RepoObjectRead *
repoObjectReadBeginInternal(Repo *repo, const char *path, bool ranged,
							uint64 offset, uint64 length, DrError *err)
{
	RepoObjectRead *read;
	StorageRead *storageRead;

	if (ranged)
		storageRead = storageReadBeginRange(repo->storage, path, offset,
											length, err);
	else
		storageRead = storageReadBegin(repo->storage, path, err);
	if (storageRead == NULL)
		return NULL;

	read = palloc0(sizeof(RepoObjectRead));
	read->repo = repo;
	read->read = storageRead;
	read->path = pstrdup(path);
	read->ranged = ranged;
	read->offset = offset;
	read->decoder = codecDecoderNew(storageReadSource(storageRead),
									repoDataKeyGet, repo, err);
	if (read->decoder == NULL)
	{
		repoObjectReadErrorContext(read, err);
		repoObjectReadFree(read);
		return NULL;
	}
	return read;
}

RepoObjectRead *
repoObjectReadBegin(Repo *repo, const char *path, DrError *err)
{
	return repoObjectReadBeginInternal(repo, path, false, 0, 0, err);
}

RepoObjectRead *
repoObjectReadBeginRange(Repo *repo, const char *path, uint64 offset,
						 uint64 length, DrError *err)
{
	return repoObjectReadBeginInternal(repo, path, true, offset, length, err);
}

bool
repoObjectReadBindingCheck(RepoObjectRead *read, const char *name,
						   bool *bound, DrError *err)
{
	if (!codecDecoderBindingCheck(read->decoder, name, bound, err))
	{
		repoObjectReadErrorContext(read, err);
		return false;
	}
	return true;
}

bool
repoObjectReadBindingRequire(RepoObjectRead *read, const char *name,
							 DrError *err)
{
	bool		bound = false;

	if (!repoObjectReadBindingCheck(read, name, &bound, err))
		return false;
	if (!bound)
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "object \"%s\" is not bound to its name", name);
	return true;
}

void
repoObjectReadNoHash(RepoObjectRead *read)
{
	codecDecoderNoHash(read->decoder);
}

void
repoObjectReadFastVerify(RepoObjectRead *read)
{
	codecDecoderFastVerify(read->decoder);
}

ssize_t
repoObjectRead(RepoObjectRead *read, void *buf, size_t len, DrError *err)
{
	ssize_t		n;

	if (read->decoder == NULL)
	{
		drErrorSet(err, DR_ERR_INVALID, "object \"%s\" was already ended",
				   read->path);
		return -1;
	}
	n = codecDecoderRead(read->decoder, buf, len, err);
	if (n < 0)
		repoObjectReadErrorContext(read, err);
	return n;
}

bool
repoObjectReadEnd(RepoObjectRead *read, CodecResult *result, DrError *err)
{
	CodecResult localResult;
	bool		ended;

	/* End frees the decoder whatever it returns */
	ended = codecDecoderEnd(read->decoder, result ? result : &localResult, err);
	read->decoder = NULL;
	if (!ended)
		repoObjectReadErrorContext(read, err);
	repoObjectReadFree(read);
	return ended;
}

void
repoObjectReadFree(RepoObjectRead *read)
{
	if (read == NULL)
		return;
	if (read->decoder)
		codecDecoderFree(read->decoder);
	storageReadEnd(read->read);
	pfree(read->path);
	pfree(read);
}

static ssize_t
repoObjectSourceRead(void *arg, void *buf, size_t len, DrError *err)
{
	return repoObjectRead((RepoObjectRead *) arg, buf, len, err);
}

/*
 * The whole decoded object through storageReadAll; it counts as read only
 * once the decoder verified its end.
 */
static char *repoObjectGetBufferInternal(Repo *repo, const char *path,
										 bool mustBeBound, size_t *len,
										 size_t maxLen, DrError *err);

char *
repoObjectGetBuffer(Repo *repo, const char *path, size_t *len, size_t maxLen,
					DrError *err)
{
	return repoObjectGetBufferInternal(repo, path, false, len, maxLen, err);
}

char *
repoObjectGetBufferBound(Repo *repo, const char *path, size_t *len,
						 size_t maxLen, DrError *err)
{
	return repoObjectGetBufferInternal(repo, path, true, len, maxLen, err);
}

static char *
repoObjectGetBufferInternal(Repo *repo, const char *path, bool mustBeBound,
							size_t *len, size_t maxLen, DrError *err)
{
	RepoObjectRead *read;
	CodecSource source;
	char	   *name;
	char	   *buf;

	read = repoObjectReadBegin(repo, path, err);
	if (read == NULL)
		return NULL;
	if (mustBeBound && !repoObjectReadBindingRequire(read, path, err))
	{
		repoObjectReadFree(read);
		return NULL;
	}

	source.read = repoObjectSourceRead;
	source.arg = read;
	name = psprintf("%s/%s", repo->config.path, path);
	buf = storageReadAll(source, name, len, maxLen, err);
	pfree(name);
	if (buf == NULL)
	{
		repoObjectReadFree(read);
		return NULL;
	}
	if (!repoObjectReadEnd(read, NULL, err))
	{
		pfree(buf);
		return NULL;
	}
	return buf;
}
