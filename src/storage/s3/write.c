/*-------------------------------------------------------------------------
 * write.c (s3)
 *	  Writing an object of the S3 storage driver.
 *
 * Bytes are spooled in memory up to the part size (repoN_s3_part_size).
 * An object that fits goes up in one PUT at storageWriteEnd(); a larger
 * one becomes a multipart upload: begun when the spool first fills, one
 * UploadPart per full spool, the rest as the last part, then
 * CompleteMultipartUpload.  Memory is one part whatever the object's
 * size, and the spool grows by doubling, so a small object costs little.
 *
 * Nothing is visible under the name before the PUT or the Complete
 * succeeds (S3 shows objects whole).  A failure, storageWriteAbort() or
 * an error of Complete aborts the upload (AbortMultipartUpload), which
 * discards its parts.  Without replace, the PUT and the Complete carry
 * "If-None-Match: *" (412 means the name exists: DR_ERR_EXISTS); see
 * storage_s3.h for what that gives on stores that ignore it.  GCS's XML
 * API honours If-None-Match on reads only: its PUT carries
 * "x-goog-if-generation-match: 0" instead (412 likewise), and its
 * Complete, which documents no precondition, relies on the HEAD before
 * the upload begins (storageS3UploadBegin).  An owned write (a backup's
 * object, which no other writer names) is never asked for.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "common/hex.h"
#include "common/keys.h"
#include "lib/stringinfo.h"
#include "storage/s3/storage_s3.h"
#include "storage/s3/s3_response.h"

#define STORAGE_S3_SPOOL_START	(64 * 1024)

typedef struct StorageS3Write
{
	StorageS3  *s3;
	char	   *path;
	char	   *key;
	bool		replace;
	bool		checkFirst;		/* ask whether the key exists before a
								 * multipart upload begins */
	char	   *buf;			/* the spool */
	size_t		used;
	size_t		size;			/* allocated, up to s3->partSize */
	char	   *uploadId;		/* multipart: NULL until begun */
	int			parts;
	char	  **etags;			/* of each part, palloc'd */
	int			etagsSize;
} StorageS3Write;

/* Headers of a PUT and of a multipart initiation: SSE, storage class. */
static void
storageS3ObjectHeaders(StorageS3 *s3, StorageS3Request *req)
{
	if (s3->sse != NULL)
	{
		storageS3HeaderAdd(req, "x-amz-server-side-encryption", s3->sse);
		if (s3->sseKmsKeyId != NULL)
			storageS3HeaderAdd(req, "x-amz-server-side-encryption-aws-kms-key-id",
							   s3->sseKmsKeyId);
	}
	if (s3->storageClass != NULL)
		storageS3HeaderAdd(req, "x-amz-storage-class", s3->storageClass);
}

/* The create-only precondition of a PUT or a Complete (file header). */
static void
storageS3CreateOnly(StorageS3 *s3, StorageS3Request *req, bool complete)
{
	if (!s3->generationMatch)
		storageS3HeaderAdd(req, "if-none-match", "*");
	else if (!complete)
		storageS3HeaderAdd(req, "x-goog-if-generation-match", "0");
}

static bool
storageS3WriteExisting(StorageS3Write *wr, DrError *err)
{
	return drErrorSet(err, DR_ERR_EXISTS, "\"%s\" already exists in repository %s",
					  wr->path, wr->s3->name);
}

static void
storageS3WriteFree(StorageS3Write *wr)
{
	for (int i = 0; i < wr->parts; i++)
		pfree(wr->etags[i]);
	if (wr->etags)
		pfree(wr->etags);
	if (wr->uploadId)
		pfree(wr->uploadId);
	if (wr->buf)
		pfree(wr->buf);
	pfree(wr->path);
	pfree(wr->key);
	pfree(wr);
}

/* One PUT of the precondition probe: its status, 0 when none came. */
static int
storageS3ProbePut(StorageS3 *s3, const char *key, const char *body)
{
	StorageS3Request req = {.method = "PUT"};
	HttpResponse resp;
	DrError		err;
	int			status = 0;

	req.key = key;
	storageS3HeaderAdd(&req, "if-none-match", "*");
	req.body = body;
	req.bodyLen = strlen(body);
	req.what = "write the precondition probe";
	drErrorClear(&err);
	if (storageS3Send(s3, &req, &resp, &err))
	{
		status = resp.status;
		httpResponseFree(&resp);
	}
	return status;
}

/* Whether the probe object holds body (a GET of it). */
static bool
storageS3ProbeHolds(StorageS3 *s3, const char *key, const char *body)
{
	StorageS3Request req = {.method = "GET"};
	HttpResponse resp;
	DrError		err;
	bool		holds = false;

	req.key = key;
	req.responseMax = 64;
	req.what = "read the precondition probe";
	drErrorClear(&err);
	if (storageS3Send(s3, &req, &resp, &err))
	{
		holds = resp.status == 200 && resp.bodyLen == strlen(body) &&
			memcmp(resp.body, body, resp.bodyLen) == 0;
		httpResponseFree(&resp);
	}
	return holds;
}

/*
 * Whether the store refuses a create-only PUT over an existing key: GCS
 * does ("x-goog-if-generation-match: 0"); an S3 store is asked once per
 * handle, by writing a probe object under check/ (where the repository's
 * own write probes go, repo_probe.h) twice with "If-None-Match: *",
 * reading it back and removing it: a 412 the second time, with the first
 * content still there, means yes.  Anything else (the store wrote it
 * twice, a request failed -- no write permission, say --, a 412 from
 * something in between that did not keep the object) counts as no, and
 * the driver asks with a HEAD before every create-only write, as it must
 * then.  The probe costs four requests, so it is made only once a handle
 * has written STORAGE_S3_PROBE_AFTER create-only objects with a HEAD
 * before each: a long-lived writer (an archive worker) gains, a one-off
 * (a backend's backup call, a CLI command) never pays for it.
 */
#define STORAGE_S3_PROBE_AFTER	8

static bool
storageS3PreconditionHonoured(StorageS3 *s3)
{
	uint8		random[8];
	char		suffix[sizeof(random) * 2 + 1];
	char	   *key;
	DrError		err;
	int			first;

	if (s3->generationMatch)
		return true;
	if (s3->precondition != 0)
		return s3->precondition > 0;
	if (++s3->createOnlyWrites <= STORAGE_S3_PROBE_AFTER)
		return false;

	s3->precondition = -1;
	drErrorClear(&err);
	if (!keyRandom(random, sizeof(random), &err))
		return false;
	hexEncode(random, sizeof(random), HEX_LOWER, suffix);
	{
		char	   *path = psprintf("check/precondition-%s", suffix);

		key = storageS3Key(s3->prefix, path);
		pfree(path);
	}
	first = storageS3ProbePut(s3, key, "first");
	if (first == 200 && storageS3ProbePut(s3, key, "second") == 412 &&
		storageS3ProbeHolds(s3, key, "first"))
		s3->precondition = 1;
	if (first != 0)
	{
		/* whatever came of it, the object may exist: removed */
		StorageS3Request req = {.method = "DELETE"};
		HttpResponse resp;

		req.key = key;
		req.what = "remove the precondition probe";
		if (storageS3Send(s3, &req, &resp, &err))
			httpResponseFree(&resp);
	}
	pfree(key);
	return s3->precondition > 0;
}

void *
storageS3WriteBegin(void *driverArg, const char *path,
					const StorageWriteParam *param, DrError *err)
{
	StorageS3  *s3 = driverArg;
	StorageS3Write *wr;
	bool		checkFirst = false;

	/*
	 * Fail early when the object exists, rather than after streaming what
	 * may be gigabytes; If-None-Match at the end decides a race where the
	 * store honours it.  Where it does, an object of one PUT needs no
	 * HEAD: the key is asked for only before a multipart upload begins
	 * (checkFirst).  An owned name has no other writer: never asked for
	 * (a backup's files).
	 */
	if (!param->replace && !param->owned && storageS3PreconditionHonoured(s3))
		checkFirst = true;
	else if (!param->replace && !param->owned)
	{
		bool		exists = false;

		if (!storageS3Exists(s3, path, &exists, err))
			return NULL;
		if (exists)
		{
			drErrorSet(err, DR_ERR_EXISTS, "\"%s\" already exists in repository %s",
					   path, s3->name);
			return NULL;
		}
	}
	wr = palloc0(sizeof(StorageS3Write));
	wr->s3 = s3;
	wr->path = pstrdup(path);
	wr->key = storageS3Key(s3->prefix, path);
	wr->replace = param->replace;
	wr->checkFirst = checkFirst;
	return wr;
}

/* Begin the multipart upload: its id. */
static bool
storageS3UploadBegin(StorageS3Write *wr, DrError *err)
{
	StorageS3Request req = {.method = "POST"};
	S3ResponseParam param = {.kind = S3_RESPONSE_MULTIPART_INIT};
	S3Response parsed;
	HttpResponse resp;
	bool		ok;

	if (wr->checkFirst)
	{
		bool		exists = false;

		if (!storageS3Exists(wr->s3, wr->path, &exists, err))
			return false;
		if (exists)
			return storageS3WriteExisting(wr, err);
		wr->checkFirst = false;
	}
	req.key = wr->key;
	storageS3QueryAdd(&req, "uploads", "");
	storageS3ObjectHeaders(wr->s3, &req);
	req.what = psprintf("begin the upload of \"%s\"", wr->path);
	memset(&parsed, 0, sizeof(parsed));
	ok = storageS3Send(wr->s3, &req, &resp, err);
	if (ok && resp.status != 200)
		ok = storageS3Error(wr->s3, &req, &resp, err);
	else if (ok)
	{
		ok = s3ResponseParse(&param, resp.body, resp.bodyLen, &parsed, err);
		if (ok && parsed.isError)
			ok = drErrorSet(err, DR_ERR_IO, "repository %s: could not %s: %s",
							wr->s3->name, req.what, parsed.error.code);
		if (ok)
			wr->uploadId = pstrdup(parsed.uploadId);
	}
	s3ResponseClear(&parsed);
	httpResponseFree(&resp);
	pfree((char *) req.what);
	return ok;
}

/* Send the spool as the next part. */
static bool
storageS3UploadPart(StorageS3Write *wr, DrError *err)
{
	StorageS3Request req = {.method = "PUT"};
	HttpResponse resp;
	char		number[16];
	bool		ok;

	if (wr->uploadId == NULL && !storageS3UploadBegin(wr, err))
		return false;
	if (wr->parts == STORAGE_S3_PARTS_MAX)
		return drErrorSet(err, DR_ERR_INVALID,
						  "repository %s: \"%s\" needs more than %d parts",
						  wr->s3->name, wr->path, STORAGE_S3_PARTS_MAX);
	snprintf(number, sizeof(number), "%d", wr->parts + 1);
	req.key = wr->key;
	storageS3QueryAdd(&req, "partNumber", number);
	storageS3QueryAdd(&req, "uploadId", wr->uploadId);
	req.body = wr->buf;
	req.bodyLen = wr->used;
	req.what = psprintf("upload part %s of \"%s\"", number, wr->path);
	ok = storageS3Send(wr->s3, &req, &resp, err);
	if (ok && resp.status != 200)
		ok = storageS3Error(wr->s3, &req, &resp, err);
	else if (ok)
	{
		char	   *etag = httpHeaderGet(resp.headers, "etag");

		if (etag == NULL)
			ok = drErrorSet(err, DR_ERR_IO,
							"repository %s: could not %s: the answer has no ETag",
							wr->s3->name, req.what);
		else
		{
			if (wr->parts == wr->etagsSize)
			{
				wr->etagsSize = wr->etagsSize ? wr->etagsSize * 2 : 16;
				wr->etags = wr->etags ?
					repalloc(wr->etags, sizeof(char *) * wr->etagsSize) :
					palloc(sizeof(char *) * wr->etagsSize);
			}
			wr->etags[wr->parts++] = etag;
			wr->used = 0;
		}
	}
	httpResponseFree(&resp);
	pfree((char *) req.what);
	return ok;
}

bool
storageS3Write(void *handle, const void *data, size_t len, DrError *err)
{
	StorageS3Write *wr = handle;
	const char *p = data;
	size_t		partSize = (size_t) wr->s3->partSize;

	while (len > 0)
	{
		size_t		n;

		if (wr->used == partSize && !storageS3UploadPart(wr, err))
			return false;
		if (wr->used == wr->size)
		{
			size_t		size = wr->size ? Min(wr->size * 2, partSize) :
				Min(STORAGE_S3_SPOOL_START, partSize);

			wr->buf = wr->buf ? repalloc(wr->buf, size) : palloc(size);
			wr->size = size;
		}
		n = Min(len, wr->size - wr->used);
		memcpy(wr->buf + wr->used, p, n);
		wr->used += n;
		p += n;
		len -= n;
	}
	return true;
}

/* The single PUT of an object that fits in a part. */
static bool
storageS3Put(StorageS3Write *wr, DrError *err)
{
	StorageS3Request req = {.method = "PUT"};
	HttpResponse resp;
	bool		ok;

	req.key = wr->key;
	if (!wr->replace)
		storageS3CreateOnly(wr->s3, &req, false);
	storageS3ObjectHeaders(wr->s3, &req);
	req.body = wr->buf;
	req.bodyLen = wr->used;
	req.what = psprintf("write \"%s\"", wr->path);
	ok = storageS3Send(wr->s3, &req, &resp, err);
	if (ok && resp.status == 412)
		ok = storageS3WriteExisting(wr, err);
	else if (ok && resp.status != 200)
		ok = storageS3Error(wr->s3, &req, &resp, err);
	httpResponseFree(&resp);
	pfree((char *) req.what);
	return ok;
}

/* CompleteMultipartUpload: S3 may answer 200 with an <Error> body. */
static bool
storageS3UploadComplete(StorageS3Write *wr, DrError *err)
{
	StorageS3Request req = {.method = "POST"};
	S3ResponseParam param = {.kind = S3_RESPONSE_MULTIPART_COMPLETE};
	S3Response parsed;
	HttpResponse resp;
	StringInfoData body;
	bool		ok;

	initStringInfo(&body);
	appendStringInfoString(&body, "<CompleteMultipartUpload>");
	for (int i = 0; i < wr->parts; i++)
		appendStringInfo(&body, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>",
						 i + 1, wr->etags[i]);
	appendStringInfoString(&body, "</CompleteMultipartUpload>");

	req.key = wr->key;
	storageS3QueryAdd(&req, "uploadId", wr->uploadId);
	if (!wr->replace)
		storageS3CreateOnly(wr->s3, &req, true);
	req.body = body.data;
	req.bodyLen = body.len;
	req.what = psprintf("complete the upload of \"%s\"", wr->path);
	memset(&parsed, 0, sizeof(parsed));
	ok = storageS3Send(wr->s3, &req, &resp, err);
	if (ok && resp.status == 412)
		ok = storageS3WriteExisting(wr, err);
	else if (ok && resp.status != 200)
		ok = storageS3Error(wr->s3, &req, &resp, err);
	else if (ok)
	{
		ok = s3ResponseParse(&param, resp.body, resp.bodyLen, &parsed, err);
		if (ok && parsed.isError)
			ok = drErrorSet(err, DR_ERR_IO, "repository %s: could not %s: %s%s%s",
							wr->s3->name, req.what, parsed.error.code,
							parsed.error.message ? ": " : "",
							parsed.error.message ? parsed.error.message : "");
	}
	s3ResponseClear(&parsed);
	httpResponseFree(&resp);
	pfree(body.data);
	pfree((char *) req.what);
	return ok;
}

bool
storageS3WriteEnd(void *handle, DrError *err)
{
	StorageS3Write *wr = handle;
	bool		ok;

	if (wr->uploadId == NULL && wr->parts == 0)
		ok = storageS3Put(wr, err);
	else
		ok = storageS3UploadPart(wr, err) && storageS3UploadComplete(wr, err);
	if (!ok)
	{
		storageS3WriteAbort(wr);
		return false;
	}
	storageS3WriteFree(wr);
	return true;
}

/*
 * Abort the multipart upload, if one began: its parts are discarded.  A
 * failure here is not reported (the write failed already, or is being
 * given up); the parts stay invisible, for a lifecycle rule to collect.
 */
void
storageS3WriteAbort(void *handle)
{
	StorageS3Write *wr = handle;

	if (wr->uploadId != NULL)
	{
		StorageS3Request req = {.method = "DELETE"};
		HttpResponse resp;
		DrError		ignored;

		req.key = wr->key;
		storageS3QueryAdd(&req, "uploadId", wr->uploadId);
		req.what = "abort an upload";
		if (storageS3Send(wr->s3, &req, &resp, &ignored))
			httpResponseFree(&resp);
	}
	storageS3WriteFree(wr);
}
