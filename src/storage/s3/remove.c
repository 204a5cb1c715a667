/*-------------------------------------------------------------------------
 * remove.c (s3)
 *	  Removing a tree of the S3 storage driver: every key under the
 *	  directory's prefix, listed flat (ListObjectsV2 without a delimiter)
 *	  a page at a time and deleted by DeleteObjects, up to
 *	  STORAGE_S3_DELETE_MAX keys a request.  Memory is one page of keys.
 *
 * S3 has no directories, so nothing is left once the keys are gone; an
 * interrupted removal leaves fewer keys, never a name pointing at nothing
 * (storage.h).  The listing goes on with its continuation token, which
 * is a position in the key order: deleting the keys already listed does
 * not move it.  DeleteObjects wants a Content-MD5 of its body (or a
 * checksum header): S3 refuses the request without one.  A store without
 * DeleteObjects (singleDeletes: GCS's XML API as this driver knows it)
 * gets one DELETE per listed key instead; a key of the page is listed
 * into the same buffer, as a NUL-separated list.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <openssl/evp.h>

#include "lib/stringinfo.h"
#include "storage/s3/storage_s3.h"
#include "storage/s3/s3_response.h"

typedef struct StorageS3RemoveState
{
	StringInfoData body;		/* the <Delete> document being built, or
								 * with singleDeletes the keys, each
								 * followed by a NUL */
	int			count;			/* keys in it */
	bool		singleDeletes;
} StorageS3RemoveState;

/* Append s with the five XML special characters escaped. */
static void
storageS3XmlEscape(StringInfo buf, const char *s)
{
	for (; *s; s++)
	{
		switch (*s)
		{
			case '&':
				appendStringInfoString(buf, "&amp;");
				break;
			case '<':
				appendStringInfoString(buf, "&lt;");
				break;
			case '>':
				appendStringInfoString(buf, "&gt;");
				break;
			case '"':
				appendStringInfoString(buf, "&quot;");
				break;
			case '\'':
				appendStringInfoString(buf, "&apos;");
				break;
			default:
				appendStringInfoChar(buf, *s);
		}
	}
}

static bool
storageS3RemoveListed(void *arg, const S3ListEntry *entry, DrError *err)
{
	StorageS3RemoveState *st = arg;

	if (entry->isPrefix)
		return true;
	if (st->singleDeletes)
	{
		appendBinaryStringInfo(&st->body, entry->key, strlen(entry->key) + 1);
		st->count++;
		return true;
	}
	appendStringInfoString(&st->body, "<Object><Key>");
	storageS3XmlEscape(&st->body, entry->key);
	appendStringInfoString(&st->body, "</Key></Object>");
	st->count++;
	return true;
}

/* A key DeleteObjects could not delete fails the removal. */
static bool
storageS3RemoveResult(void *arg, const S3DeleteEntry *entry, DrError *err)
{
	StorageS3  *s3 = arg;

	if (entry->code == NULL)
		return true;
	return drErrorSet(err, DR_ERR_IO,
					  "repository %s: could not remove key \"%s\": %s%s%s",
					  s3->name, entry->key, entry->code,
					  entry->message ? ": " : "",
					  entry->message ? entry->message : "");
}

/* Content-MD5: base64 of the body's MD5. */
static bool
storageS3ContentMd5(const char *data, size_t len, char *out, DrError *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdLen = 0;

	if (EVP_Digest(data, len, md, &mdLen, EVP_md5(), NULL) != 1)
		return drErrorSet(err, DR_ERR_INTERNAL, "could not compute an MD5 digest");
	EVP_EncodeBlock((unsigned char *) out, md, (int) mdLen);
	return true;
}

static bool
storageS3DeleteBatch(StorageS3 *s3, const char *dir,
					 StorageS3RemoveState *st, DrError *err)
{
	StorageS3Request req = {.method = "POST"};
	S3ResponseParam param = {.kind = S3_RESPONSE_DELETE};
	S3Response parsed;
	HttpResponse resp;
	char		md5[32];
	bool		ok;

	appendStringInfoString(&st->body, "</Delete>");
	if (!storageS3ContentMd5(st->body.data, st->body.len, md5, err))
		return false;
	storageS3QueryAdd(&req, "delete", "");
	storageS3HeaderAdd(&req, "content-md5", md5);
	storageS3HeaderAdd(&req, "content-type", "application/xml");
	req.body = st->body.data;
	req.bodyLen = st->body.len;
	req.what = psprintf("remove \"%s\"", dir);
	memset(&parsed, 0, sizeof(parsed));
	ok = storageS3Send(s3, &req, &resp, err);
	if (ok && resp.status != 200)
		ok = storageS3Error(s3, &req, &resp, err);
	else if (ok)
	{
		param.deleteEntry = storageS3RemoveResult;
		param.arg = s3;
		ok = s3ResponseParse(&param, resp.body, resp.bodyLen, &parsed, err);
		if (ok && parsed.isError)
			ok = drErrorSet(err, DR_ERR_IO, "repository %s: could not %s: %s",
							s3->name, req.what, parsed.error.code);
	}
	s3ResponseClear(&parsed);
	httpResponseFree(&resp);
	pfree((char *) req.what);
	return ok;
}

/* The keys of a page one DELETE each (singleDeletes). */
static bool
storageS3DeleteEach(StorageS3 *s3, const char *dir, StorageS3RemoveState *st,
					DrError *err)
{
	const char *key = st->body.data;
	char	   *what = psprintf("remove \"%s\"", dir);
	bool		ok = true;

	for (int i = 0; ok && i < st->count; i++)
	{
		ok = storageS3RemoveKey(s3, key, what, err);
		key += strlen(key) + 1;
	}
	pfree(what);
	return ok;
}

bool
storageS3RemoveTree(void *driverArg, const char *dir, DrError *err)
{
	StorageS3  *s3 = driverArg;
	char	   *prefix = storageS3DirPrefix(s3->prefix, dir);
	StorageS3RemoveState st;
	char	   *token = NULL;
	bool		truncated = true;
	bool		ok = true;

	initStringInfo(&st.body);
	st.singleDeletes = s3->singleDeletes;
	while (ok && truncated)
	{
		StorageS3Request req = {.method = "GET"};
		S3ResponseParam param = {.kind = S3_RESPONSE_LIST, .urlEncoded = true};
		S3Response parsed;
		HttpResponse resp;
		char		max[16];

		resetStringInfo(&st.body);
		if (!st.singleDeletes)
			appendStringInfoString(&st.body, "<Delete><Quiet>true</Quiet>");
		st.count = 0;

		snprintf(max, sizeof(max), "%d", Min(s3->listMax, STORAGE_S3_DELETE_MAX));
		storageS3QueryAdd(&req, "list-type", "2");
		storageS3QueryAdd(&req, "encoding-type", "url");
		storageS3QueryAdd(&req, "max-keys", max);
		storageS3QueryAdd(&req, "prefix", prefix);
		if (token != NULL)
			storageS3QueryAdd(&req, "continuation-token", token);
		req.responseMax = 16 * 1024 * 1024;
		req.what = "list the repository";
		memset(&parsed, 0, sizeof(parsed));
		ok = storageS3Send(s3, &req, &resp, err);
		if (ok && resp.status != 200)
			ok = storageS3Error(s3, &req, &resp, err);
		else if (ok)
		{
			param.listEntry = storageS3RemoveListed;
			param.arg = &st;
			ok = s3ResponseParse(&param, resp.body, resp.bodyLen, &parsed, err);
			if (ok && parsed.isError)
				ok = drErrorSet(err, DR_ERR_IO, "repository %s: listing failed: %s",
								s3->name, parsed.error.code);
		}
		if (token)
			pfree(token);
		token = NULL;
		if (ok)
		{
			truncated = parsed.isTruncated;
			if (truncated)
				token = pstrdup(parsed.nextContinuationToken);
		}
		s3ResponseClear(&parsed);
		if (resp.status != 0)
			httpResponseFree(&resp);
		if (ok && st.count > 0)
			ok = st.singleDeletes ? storageS3DeleteEach(s3, dir, &st, err) :
				storageS3DeleteBatch(s3, dir, &st, err);
	}
	if (token)
		pfree(token);
	pfree(st.body.data);
	pfree(prefix);
	return ok;
}
