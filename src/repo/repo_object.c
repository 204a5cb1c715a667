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
 * with its path here.
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
};

/* Prefix an error with the object it is about. */
static void
repoObjectErrorContext(Repo *repo, const char *path, DrError *err)
{
	drErrorPrefix(err, "object \"%s/%s\": ", repo->config.path, path);
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
	StorageWrite *write;
	CodecEncoder *encoder;
	char	   *path;
};

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
	StorageWrite *write;
	CodecEncoder *encoder;

	if (!repoObjectKeyCheck(repo, path, key, err))
		return NULL;

	storageParam.deferSync = writeParam->deferSync;
	write = storageWriteBegin(repo->storage, path, &storageParam, err);
	if (write == NULL)
		return NULL;

	param.compressLevel = repo->config.compressLevel;
	if (param.compressLevel > 0 && writeParam->compressLevel > 0)
		param.compressLevel = writeParam->compressLevel;
	param.key = key;
	param.binding = writeParam->binding;
	encoder = codecEncoderNew(&param, storageWriteSink(write), err);
	if (encoder == NULL)
	{
		repoObjectErrorContext(repo, path, err);
		storageWriteAbort(write);
		return NULL;
	}

	ow = palloc0(sizeof(RepoObjectWrite));
	ow->repo = repo;
	ow->write = write;
	ow->encoder = encoder;
	ow->path = pstrdup(path);
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
	storageWriteAbort(ow->write);
	pfree(ow->path);
	pfree(ow);
}

bool
repoObjectWriteEnd(RepoObjectWrite *ow, CodecResult *result, DrError *err)
{
	CodecResult localResult;
	bool		ended;
	bool		ok;

	/* End frees the encoder whatever it returns */
	ended = codecEncoderEnd(ow->encoder, result ? result : &localResult, err);
	ow->encoder = NULL;
	if (!ended)
	{
		repoObjectErrorContext(ow->repo, ow->path, err);
		repoObjectWriteAbort(ow);
		return false;
	}
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
					  CodecResult *result, DrError *err)
{
	RepoObjectWrite *ow;
	char	   *chunk = NULL;

	ow = repoObjectWriteBegin(repo, path, key, err);
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
	return repoObjectPutInternal(repo, path, &source, NULL, 0, key, result,
								 err);
}

bool
repoObjectPutBuffer(Repo *repo, const char *path, const void *buf, size_t len,
					const CodecDataKey *key, CodecResult *result, DrError *err)
{
	return repoObjectPutInternal(repo, path, NULL, buf, len, key, result, err);
}

RepoObjectRead *
repoObjectReadBegin(Repo *repo, const char *path, DrError *err)
{
	RepoObjectRead *read;
	StorageRead *storageRead;
	CodecDecoder *decoder;

	storageRead = storageReadBegin(repo->storage, path, err);
	if (storageRead == NULL)
		return NULL;
	decoder = codecDecoderNew(storageReadSource(storageRead), repoDataKeyGet,
							  repo, err);
	if (decoder == NULL)
	{
		repoObjectErrorContext(repo, path, err);
		storageReadEnd(storageRead);
		return NULL;
	}

	read = palloc0(sizeof(RepoObjectRead));
	read->repo = repo;
	read->read = storageRead;
	read->decoder = decoder;
	read->path = pstrdup(path);
	return read;
}

bool
repoObjectReadBindingCheck(RepoObjectRead *read, const char *name,
						   bool *bound, DrError *err)
{
	if (!codecDecoderBindingCheck(read->decoder, name, bound, err))
	{
		repoObjectErrorContext(read->repo, read->path, err);
		return false;
	}
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
		repoObjectErrorContext(read->repo, read->path, err);
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
		repoObjectErrorContext(read->repo, read->path, err);
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
char *
repoObjectGetBuffer(Repo *repo, const char *path, size_t *len, size_t maxLen,
					DrError *err)
{
	RepoObjectRead *read;
	CodecSource source;
	char	   *name;
	char	   *buf;

	read = repoObjectReadBegin(repo, path, err);
	if (read == NULL)
		return NULL;

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
