/*-------------------------------------------------------------------------
 * storage.c (s3)
 *	  The S3 storage driver: a repository in a bucket of S3 or of a store
 *	  speaking its API.  This file sets the driver up, signs and sends its
 *	  requests (SigV4, s3_sign.h; over the HTTP layer, http.h), turns S3's
 *	  errors into clear DrErrors, and holds the key operations (exists,
 *	  list, listPage, remove); reading and writing objects live in read.c
 *	  and write.c.  storage_s3.h says how names map to keys and how the
 *	  storage contract is kept.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <time.h>
#include <unistd.h>

#include "lib/stringinfo.h"
#include "storage/s3/storage_s3.h"
#include "storage/s3/s3_response.h"

/* ---- key mapping (pure) ---- */

char *
storageS3PrefixNormalize(const char *path)
{
	size_t		len;

	if (path == NULL)
		return pstrdup("");
	while (*path == '/')
		path++;
	len = strlen(path);
	while (len > 0 && path[len - 1] == '/')
		len--;
	return pnstrdup(path, len);
}

char *
storageS3Key(const char *prefix, const char *path)
{
	if (prefix[0] == '\0')
		return pstrdup(path);
	if (path[0] == '\0')
		return pstrdup(prefix);
	return psprintf("%s/%s", prefix, path);
}

char *
storageS3DirPrefix(const char *prefix, const char *dir)
{
	char	   *key = storageS3Key(prefix, dir);
	char	   *result;

	if (key[0] == '\0')
		return key;
	result = psprintf("%s/", key);
	pfree(key);
	return result;
}

char *
storageS3ListLeastNext(const char *k)
{
	size_t		i;

	for (i = 0; k[i] != '\0'; i++)
		if ((unsigned char) k[i] < '/')
			break;
	return pnstrdup(k, i);
}

/* ---- requests ---- */

void
storageS3QueryAdd(StorageS3Request *req, const char *name, const char *value)
{
	Assert(req->queryCount < STORAGE_S3_QUERY_MAX);
	req->query[req->queryCount].name = name;
	req->query[req->queryCount].value = value;
	req->queryCount++;
}

void
storageS3HeaderAdd(StorageS3Request *req, const char *name, const char *value)
{
	Assert(req->headerCount < STORAGE_S3_HEADER_MAX);
	req->headers[req->headerCount].name = name;
	req->headers[req->headerCount].value = value;
	req->headerCount++;
}

/*
 * The HTTP client, made in the process that uses it: a libcurl handle
 * must not cross fork() (http.h), and a Storage opened before a fork (the
 * CLI's parallel restore) is used in the children.
 */
static HttpClient *
storageS3Http(StorageS3 *s3, DrError *err)
{
	HttpClientParam param;

	if (s3->http != NULL && s3->httpPid == getpid())
		return s3->http;
	/* a parent's client is not freed here: its handles are the parent's */
	memset(&param, 0, sizeof(param));
	param.service = "s3";
	param.caFile = s3->caFile;
	param.caPath = s3->caPath;
	s3->http = httpClientNew(&param, err);
	s3->httpPid = getpid();
	return s3->http;
}

/*
 * Web identity: temporary credentials from STS before the first request,
 * and new ones once s3StsRefreshAt says (5 minutes before they expire),
 * the token file read again each time (the kubelet rotates it).  Should
 * STS fail while the credentials in hand are good for another minute,
 * they are used and STS is asked again 10 s later: a short outage of STS
 * does not stop the repository.
 */
static bool
storageS3CredentialsFresh(StorageS3 *s3, DrError *err)
{
	S3StsCredentials cred;
	S3SignCredentials sc;
	time_t		now = time(NULL);

	if (s3->sts == NULL || (s3->signer != NULL && now < s3->credRefreshAt))
		return true;
	s3->sts->host = s3->drHost;
	if (!s3StsAssume(s3->sts, &cred, err))
	{
		if (s3->signer != NULL && now + 60 < s3->credExpiration &&
			(err == NULL || err->code != DR_ERR_CANCELED))
		{
			s3->credRefreshAt = now + 10;
			drErrorClear(err);
			return true;
		}
		if (err != NULL && err->code != DR_ERR_CANCELED)
		{
			char		name[DR_ERROR_VALUE_BUF];

			drErrorPrefix(err, "repository %s: ", drErrorValue(s3->name, name));
		}
		return false;
	}
	sc.accessKey = cred.accessKey;
	sc.secret = cred.secret;
	sc.sessionToken = cred.sessionToken;
	if (s3->signer != NULL)
		s3SignerFree(s3->signer);
	s3->signer = s3SignerNew(&sc, s3->region, "s3");
	s3->credRefreshAt = s3StsRefreshAt(now, cred.expiration);
	s3->credExpiration = cred.expiration;
	s3StsCredentialsClear(&cred);
	return true;
}

/*
 * Every body is in memory (writes spool a part at a time: write.c), so
 * every payload is hashed and signed: S3 refuses a body that does not
 * match the hash, which covers the transfer end to end.
 */
bool
storageS3Send(StorageS3 *s3, const StorageS3Request *req, HttpResponse *resp,
			  DrError *err)
{
	HttpClient *http = storageS3Http(s3, err);
	S3SignPair	headers[STORAGE_S3_HEADER_MAX + 1];
	S3SignRequest sreq;
	S3Signed	sig;
	char		hash[S3_SIGN_HASH_HEX + 1];
	char		date[S3_SIGN_DATE_LEN + 1];
	char	   *path;
	StringInfoData url;
	HttpHeaders lines;
	HttpRequest hreq;
	bool		ok;

	memset(resp, 0, sizeof(*resp));
	if (http == NULL || !storageS3CredentialsFresh(s3, err))
		return false;
	if (!s3SignPayloadHash(req->body, req->bodyLen, hash, err))
		return false;
	s3SignDateFormat(time(NULL), date);

	headers[0].name = "host";
	headers[0].value = s3->host;
	memcpy(headers + 1, req->headers, sizeof(S3SignPair) * req->headerCount);
	/* the bucket itself: "/bucket" in path style, "/" in host style */
	path = req->key != NULL ?
		psprintf("%s/%s", s3->bucketPath, req->key) :
		s3->bucketPath[0] != '\0' ? pstrdup(s3->bucketPath) : pstrdup("/");

	memset(&sreq, 0, sizeof(sreq));
	sreq.method = req->method;
	sreq.path = path;
	sreq.query = req->query;
	sreq.queryCount = req->queryCount;
	sreq.headers = headers;
	sreq.headerCount = req->headerCount + 1;
	sreq.payloadHash = hash;
	sreq.date = date;
	sreq.contentSha256Header = true;
	if (!s3Sign(s3->signer, &sreq, &sig, err))
	{
		pfree(path);
		return false;
	}

	initStringInfo(&url);
	appendStringInfo(&url, "%s%s", s3->baseUrl, sig.path);
	if (sig.query[0] != '\0')
		appendStringInfo(&url, "?%s", sig.query);
	httpHeadersInit(&lines);
	for (int i = 0; i < req->headerCount; i++)
		httpHeadersAdd(&lines, req->headers[i].name, "%s", req->headers[i].value);
	for (int i = 0; i < sig.addHeaderCount; i++)
		httpHeadersAdd(&lines, sig.addHeaders[i].name, "%s",
					   sig.addHeaders[i].value);

	memset(&hreq, 0, sizeof(hreq));
	hreq.method = req->method;
	hreq.url = url.data;
	hreq.headers = lines.lines;
	hreq.body = req->body;
	hreq.bodyLen = req->bodyLen;
	hreq.responseSink = req->responseSink;
	hreq.responseReset = req->responseReset;
	hreq.responseMax = req->responseMax;
	hreq.host = s3->drHost;
	ok = httpRequest(http, &hreq, resp, err);
	if (!ok && err != NULL)
	{
		char		name[DR_ERROR_VALUE_BUF];

		drErrorPrefix(err, "repository %s: could not %s: ",
					  drErrorValue(s3->name, name), req->what);
		if (err->code == DR_ERR_IO && err->hint[0] == '\0')
			drErrorHint(err, "check that repoN_%s_endpoint (%s) is right and the store is up and reachable",
						s3->type, s3->host);
	}

	httpHeadersFree(&lines);
	pfree(url.data);
	s3SignedFree(&sig);
	pfree(path);
	return ok;
}

bool
storageS3Error(StorageS3 *s3, const StorageS3Request *req,
			   const HttpResponse *resp, DrError *err)
{
	S3ResponseParam param = {.kind = S3_RESPONSE_ERROR};
	S3Response parsed;
	const char *code = resp->errorCode;
	const char *region = NULL;
	char	   *bucketRegion = NULL;
	char		rid[160] = "";
	DrError		perr;

	memset(&parsed, 0, sizeof(parsed));
	if (resp->body != NULL && resp->bodyLen > 0 &&
		s3ResponseParse(&param, resp->body, resp->bodyLen, &parsed, &perr) &&
		parsed.isError)
	{
		code = parsed.error.code;
		region = parsed.error.region;
	}
	if (resp->requestId[0] != '\0')
		snprintf(rid, sizeof(rid), " (request id %s)", resp->requestId);
	/*
	 * S3 names the bucket's region in a header too: the only word of a
	 * HEAD's 301 or 400, which has no body to read a code from.
	 */
	if (resp->headers != NULL)
		bucketRegion = httpHeaderGet(resp->headers, "x-amz-bucket-region");
	if (region == NULL && bucketRegion != NULL && bucketRegion[0] != '\0')
		region = bucketRegion;

	if (strcmp(code, "SignatureDoesNotMatch") == 0 ||
		strcmp(code, "InvalidAccessKeyId") == 0 ||
		strcmp(code, "InvalidToken") == 0 || strcmp(code, "ExpiredToken") == 0)
	{
		drErrorSet(err, DR_ERR_PERMISSION,
				   "repository %s: could not %s: the store refused the credentials (HTTP %ld %s)%s",
				   s3->name, req->what, resp->status, code, rid);
		if (s3->sts != NULL)
			drErrorHint(err, "the store refused the temporary credentials STS gave for role \"%s\": check that this host's clock is right and that the role may use the bucket",
						s3->sts->roleArn);
		else if (strcmp(s3->type, "s3") == 0)
			drErrorHint(err, "check repoN_s3_key and repoN_s3_key_secret (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), and the session token if one is used");
		else
			drErrorHint(err, "check repoN_%s_key and repoN_%s_key_secret (an HMAC key of the bucket's project)",
						s3->type, s3->type);
	}
	else if (strcmp(code, "NoSuchBucket") == 0)
	{
		drErrorSet(err, DR_ERR_CONFIG,
				   "repository %s: could not %s: bucket \"%s\" does not exist%s",
				   s3->name, req->what, s3->bucket, rid);
		drErrorHint(err, "create the bucket, or fix repoN_%s_bucket", s3->type);
	}
	else if (strcmp(code, "AuthorizationHeaderMalformed") == 0 ||
			 strcmp(code, "PermanentRedirect") == 0 ||
			 strcmp(code, "IllegalLocationConstraintException") == 0 ||
			 resp->status == 301 ||
			 (resp->status == 400 && code[0] == '\0' && region != NULL &&
			  strcmp(region, s3->region) != 0))
	{
		drErrorSet(err, DR_ERR_CONFIG,
				   "repository %s: could not %s: bucket \"%s\" is not in region \"%s\"%s%s%s",
				   s3->name, req->what, s3->bucket, s3->region,
				   region ? " but in \"" : "", region ? region : "",
				   region ? "\"" : "");
		if (region)
			drErrorHint(err, "set repoN_%s_region = %s", s3->type, region);
		else
			drErrorHint(err, "set repoN_%s_region to the bucket's region", s3->type);
	}
	else if (resp->status == 403)
	{
		drErrorSet(err, DR_ERR_PERMISSION,
				   "repository %s: could not %s: access denied (HTTP 403%s%s)%s",
				   s3->name, req->what, code[0] ? " " : "", code, rid);

		/*
		 * No code: the answer to a HEAD, which has no body; a wrong secret
		 * is refused so too, and cannot be told from a missing permission.
		 */
		if (strcmp(s3->type, "gcs") == 0)
			drErrorHint(err, "check repoN_gcs_key and its secret, and that the service account of the HMAC key has roles/storage.objectAdmin (or storage.objects.get, create, delete and list) on the bucket");
		else if (code[0] == '\0')
			drErrorHint(err, "check repoN_s3_key, its secret and the session token (a HEAD answer carries no error code to tell a wrong secret from a missing permission), and that they allow s3:GetObject, s3:PutObject, s3:DeleteObject and s3:ListBucket");
		else
			drErrorHint(err, "the credentials must allow s3:GetObject, s3:PutObject, s3:DeleteObject and s3:ListBucket on the bucket");
	}
	else
	{
		drErrorSet(err, resp->status == 404 ? DR_ERR_NOT_FOUND : DR_ERR_IO,
				   "repository %s: could not %s: HTTP %ld%s%s%s",
				   s3->name, req->what, resp->status, code[0] ? " " : "",
				   code, rid);
	}
	s3ResponseClear(&parsed);
	if (bucketRegion != NULL)
		pfree(bucketRegion);
	return false;
}

/* ---- key operations ---- */

bool
storageS3Exists(void *driverArg, const char *path, bool *exists, DrError *err)
{
	StorageS3  *s3 = driverArg;
	StorageS3Request req = {.method = "HEAD"};
	HttpResponse resp;
	char	   *key = storageS3Key(s3->prefix, path);
	bool		ok;

	req.key = key;
	req.what = psprintf("look for \"%s\"", path);
	ok = storageS3Send(s3, &req, &resp, err);
	if (ok)
	{
		if (resp.status == 200)
			*exists = true;
		else if (resp.status == 404)
			*exists = false;
		else
			ok = storageS3Error(s3, &req, &resp, err);
	}
	httpResponseFree(&resp);
	pfree((char *) req.what);
	pfree(key);
	return ok;
}

/*
 * One ListObjectsV2 request: the entries under dirPrefix, one level
 * (delimiter "/"), after startAfter or from a continuation token.
 */
typedef struct StorageS3ListState
{
	size_t		prefixLen;
	StorageListCallback callback;	/* plain listing */
	void	   *arg;
	StorageListPage *page;		/* paged listing */
	char	   *lastKey;		/* last key seen (relative), palloc'd */
	char	   *prevMax;		/* greatest key of the earlier requests */
	char	   *curMax;			/* greatest key of this request */
} StorageS3ListState;

static bool
storageS3ListEntry(void *arg, const S3ListEntry *entry, DrError *err)
{
	StorageS3ListState *st = arg;
	StorageInfo info;
	char	   *name;
	size_t		len;

	if (strlen(entry->key) <= st->prefixLen)
		return true;			/* the prefix itself as an object: not listed */
	/*
	 * A key not after the greatest of the earlier requests is a repeat:
	 * never with S3, whose pages follow each other in key order, but
	 * s3rver (the test server) makes its continuation token from the last
	 * object of a page, in an order of its own where "n.x" comes before
	 * "n", so common prefixes and objects come again on the next page.
	 * Within a page its order is absorbed by the page's heap and
	 * storageS3ListLeastNext.
	 */
	if (st->prevMax != NULL &&
		strcmp(entry->key + st->prefixLen, st->prevMax) <= 0)
		return true;
	if (st->curMax == NULL || strcmp(entry->key + st->prefixLen, st->curMax) > 0)
	{
		if (st->curMax)
			pfree(st->curMax);
		st->curMax = pstrdup(entry->key + st->prefixLen);
	}
	name = pstrdup(entry->key + st->prefixLen);
	if (st->lastKey)
		pfree(st->lastKey);
	st->lastKey = pstrdup(name);
	len = strlen(name);
	if (entry->isPrefix && len > 0 && name[len - 1] == '/')
		name[--len] = '\0';
	if (len == 0 || strchr(name, '/') != NULL)
	{
		/* "d//x" keys: not something pg_dr writes, not listed */
		pfree(name);
		return true;
	}
	memset(&info, 0, sizeof(info));
	info.name = name;
	info.isDir = entry->isPrefix;
	info.size = entry->isPrefix ? 0 : (uint64) entry->size;
	info.mtime = entry->isPrefix ? 0 : (int64) entry->lastModified;
	if (st->page)
	{
		storageListPageAdd(st->page, &info);
		pfree(name);
		return true;
	}
	else
	{
		bool		ok = st->callback(st->arg, &info, err);

		pfree(name);
		return ok;
	}
}

static bool
storageS3ListRequest(StorageS3 *s3, const char *dirPrefix,
					 const char *startAfter, const char *token, int maxKeys,
					 StorageS3ListState *st, bool *truncated, char **next,
					 DrError *err)
{
	StorageS3Request req = {.method = "GET"};
	S3ResponseParam param = {.kind = S3_RESPONSE_LIST, .urlEncoded = true};
	S3Response parsed;
	HttpResponse resp;
	char		max[16];
	bool		ok;

	snprintf(max, sizeof(max), "%d", maxKeys);
	storageS3QueryAdd(&req, "list-type", "2");
	storageS3QueryAdd(&req, "delimiter", "/");
	storageS3QueryAdd(&req, "encoding-type", "url");
	storageS3QueryAdd(&req, "max-keys", max);
	storageS3QueryAdd(&req, "prefix", dirPrefix);
	if (token != NULL)
		storageS3QueryAdd(&req, "continuation-token", token);
	else if (startAfter != NULL && startAfter[0] != '\0')
		storageS3QueryAdd(&req, "start-after", startAfter);
	req.responseMax = 16 * 1024 * 1024;
	req.what = "list the repository";

	*truncated = false;
	*next = NULL;
	if (!storageS3Send(s3, &req, &resp, err))
		return false;
	if (resp.status != 200)
	{
		storageS3Error(s3, &req, &resp, err);
		httpResponseFree(&resp);
		return false;
	}
	param.listEntry = storageS3ListEntry;
	param.arg = st;
	memset(&parsed, 0, sizeof(parsed));
	ok = s3ResponseParse(&param, resp.body, resp.bodyLen, &parsed, err);
	if (ok && parsed.isError)
		ok = drErrorSet(err, DR_ERR_IO,
						"repository %s: listing failed: %s", s3->name,
						parsed.error.code);
	if (st->curMax != NULL)
	{
		if (st->prevMax)
			pfree(st->prevMax);
		st->prevMax = st->curMax;
		st->curMax = NULL;
	}
	if (ok)
	{
		*truncated = parsed.isTruncated;
		if (parsed.isTruncated)
			*next = pstrdup(parsed.nextContinuationToken);
	}
	s3ResponseClear(&parsed);
	httpResponseFree(&resp);
	return ok;
}

/* Every entry of dir, page after page of ListObjectsV2. */
static bool
storageS3List(void *driverArg, const char *dir, StorageListCallback callback,
			  void *arg, DrError *err)
{
	StorageS3  *s3 = driverArg;
	char	   *dirPrefix = storageS3DirPrefix(s3->prefix, dir);
	StorageS3ListState st = {0};
	char	   *token = NULL;
	bool		truncated = true;
	bool		ok = true;

	st.prefixLen = strlen(dirPrefix);
	st.callback = callback;
	st.arg = arg;
	while (ok && truncated)
	{
		char	   *next;

		ok = storageS3ListRequest(s3, dirPrefix, NULL, token, s3->listMax,
								  &st, &truncated, &next, err);
		if (token)
			pfree(token);
		token = next;
	}
	if (token)
		pfree(token);
	if (st.lastKey)
		pfree(st.lastKey);
	if (st.prevMax)
		pfree(st.prevMax);
	if (st.curMax)
		pfree(st.curMax);
	pfree(dirPrefix);
	return ok;
}

/*
 * A page in name order.  S3 lists in key order, where a common prefix
 * "n/" comes after the keys "n.x" and "n-x" although its name "n" comes
 * before theirs: entries go through a StorageListPage, which keeps the
 * smallest names, and requests continue until no later key can yield a
 * name the page would still keep (storageS3ListLeastNext).  Starting
 * after the key of startAfter skips nothing wanted: every name after
 * startAfter has all its keys after that key.
 */
static bool
storageS3ListPage(void *driverArg, const char *dir, const char *startAfter,
				  int limit, StorageListCallback callback, void *arg,
				  bool *more, DrError *err)
{
	StorageS3  *s3 = driverArg;
	char	   *dirPrefix = storageS3DirPrefix(s3->prefix, dir);
	char	   *after = psprintf("%s%s", dirPrefix, startAfter);
	StorageS3ListState st = {0};
	char	   *token = NULL;
	bool		truncated = true;
	bool		stopped = false;
	bool		ok = true;

	st.prefixLen = strlen(dirPrefix);
	st.page = storageListPageNew(startAfter, limit);
	*more = false;
	while (ok && truncated)
	{
		char	   *next;

		ok = storageS3ListRequest(s3, dirPrefix, after, token,
								  Min(s3->listMax, limit + 1), &st,
								  &truncated, &next, err);
		if (token)
			pfree(token);
		token = next;
		if (ok && truncated && st.lastKey != NULL)
		{
			char	   *least = storageS3ListLeastNext(st.lastKey);

			stopped = !storageListPageWants(st.page, least);
			pfree(least);
			if (stopped)
				break;
		}
	}
	if (ok)
	{
		ok = storageListPageEmit(st.page, callback, arg, more, err);
		if (stopped)
			*more = true;
	}
	else
		(void) storageListPageEmit(st.page, NULL, NULL, more, err);
	if (token)
		pfree(token);
	if (st.lastKey)
		pfree(st.lastKey);
	if (st.prevMax)
		pfree(st.prevMax);
	if (st.curMax)
		pfree(st.curMax);
	pfree(after);
	pfree(dirPrefix);
	return ok;
}

/* DELETE answers 204 whether the key existed or not (GCS: 404 if not). */
bool
storageS3RemoveKey(StorageS3 *s3, const char *key, const char *what,
				   DrError *err)
{
	StorageS3Request req = {.method = "DELETE"};
	HttpResponse resp;
	bool		ok;

	req.key = key;
	req.what = what;
	ok = storageS3Send(s3, &req, &resp, err);
	if (ok && resp.status != 204 && resp.status != 200 && resp.status != 404)
		ok = storageS3Error(s3, &req, &resp, err);
	httpResponseFree(&resp);
	return ok;
}

static bool
storageS3Remove(void *driverArg, const char *path, DrError *err)
{
	StorageS3  *s3 = driverArg;
	char	   *key = storageS3Key(s3->prefix, path);
	char	   *what = psprintf("remove \"%s\"", path);
	bool		ok = storageS3RemoveKey(s3, key, what, err);

	pfree(what);
	pfree(key);
	return ok;
}

/* Every request from now on asks these hooks while it waits (http.h). */
static void
storageS3HostSet(void *driverArg, const DrHost *host)
{
	((StorageS3 *) driverArg)->drHost = host;
}

static void
storageS3Free(void *driverArg)
{
	StorageS3  *s3 = driverArg;

	if (s3->http != NULL && s3->httpPid == getpid())
		httpClientFree(s3->http);
	if (s3->signer != NULL)
		s3SignerFree(s3->signer);
	if (s3->sts != NULL)
	{
		pfree((char *) s3->sts->endpoint);
		pfree((char *) s3->sts->roleArn);
		pfree((char *) s3->sts->sessionName);
		pfree((char *) s3->sts->tokenFile);
		pfree(s3->sts);
	}
	pfree(s3);
}

static const StorageDriverInterface storageS3Interface = {
	.name = "s3",
	/* durable at PUT: no FSYNC, no batch callbacks; see storage_s3.h */
	.features = STORAGE_FEATURE_ATOMIC_PUT | STORAGE_FEATURE_NO_OVERWRITE,
	.writeBegin = storageS3WriteBegin,
	.write = storageS3Write,
	.writeEnd = storageS3WriteEnd,
	.writeAbort = storageS3WriteAbort,
	.readBegin = storageS3ReadBegin,
	.readBeginRange = storageS3ReadBeginRange,
	.read = storageS3Read,
	.readEnd = storageS3ReadEnd,
	.exists = storageS3Exists,
	.list = storageS3List,
	.remove = storageS3Remove,
	.free = storageS3Free,
	.listPage = storageS3ListPage,
	.removeTree = storageS3RemoveTree,
	.hostSet = storageS3HostSet,
};

static char *
pstrdupOrNull(const char *s)
{
	return s != NULL && s[0] != '\0' ? pstrdup(s) : NULL;
}

/* Nothing is sent here: the first request says whether the store answers. */
Storage *
storageS3New(const StorageS3Param *param, DrError *err)
{
	StorageS3  *s3;
	S3SignCredentials cred;

	const char *type = param->type != NULL ? param->type : "s3";
	const char *scheme = strcmp(type, "gcs") == 0 ? "gs" : "s3";

	if (param->roleArn == NULL &&
		(param->accessKey == NULL || param->secret == NULL))
	{
		drErrorSet(err, DR_ERR_CONFIG,
				   "repository %s://%s: no credentials", scheme, param->bucket);
		if (strcmp(type, "s3") == 0)
			drErrorHint(err, "set repoN_s3_key and repoN_s3_key_secret (or repoN_s3_key_secret_file), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment, or for web identity repoN_s3_role_arn and repoN_s3_web_identity_token_file (AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE)");
		else
			drErrorHint(err, "set repoN_%s_key and repoN_%s_key_secret (or repoN_%s_key_secret_file)",
						type, type, type);
		return NULL;
	}
	s3 = palloc0(sizeof(StorageS3));
	s3->bucket = pstrdup(param->bucket);
	s3->region = pstrdup(param->region);
	s3->prefix = storageS3PrefixNormalize(param->prefix);
	s3->tls = param->tls;
	if (param->hostStyle)
	{
		s3->host = psprintf("%s.%s", param->bucket, param->endpoint);
		s3->bucketPath = pstrdup("");
	}
	else
	{
		s3->host = pstrdup(param->endpoint);
		s3->bucketPath = psprintf("/%s", param->bucket);
	}
	s3->baseUrl = psprintf("%s://%s", param->tls ? "https" : "http", s3->host);
	s3->name = s3->prefix[0] ?
		psprintf("%s://%s/%s", scheme, s3->bucket, s3->prefix) :
		psprintf("%s://%s", scheme, s3->bucket);
	s3->type = pstrdup(type);
	s3->singleDeletes = param->singleDeletes;
	s3->generationMatch = param->generationMatch;
	s3->caFile = pstrdupOrNull(param->caFile);
	s3->caPath = pstrdupOrNull(param->caPath);
	s3->partSize = param->partSize;
	s3->sse = pstrdupOrNull(param->sse);
	s3->sseKmsKeyId = pstrdupOrNull(param->sseKmsKeyId);
	s3->storageClass = pstrdupOrNull(param->storageClass);
	s3->listMax = param->listMax > 0 ? param->listMax : STORAGE_S3_LIST_MAX;
	if (param->roleArn != NULL)
	{
		/* credentials come with the first request */
		s3->sts = palloc0(sizeof(S3StsParam));
		s3->sts->endpoint = pstrdup(param->stsEndpoint);
		s3->sts->roleArn = pstrdup(param->roleArn);
		s3->sts->sessionName = pstrdup(param->sessionName);
		s3->sts->tokenFile = pstrdup(param->tokenFile);
		s3->sts->caFile = s3->caFile;
		s3->sts->caPath = s3->caPath;
		return storageNew(&storageS3Interface, s3);
	}
	cred.accessKey = param->accessKey;
	cred.secret = param->secret;
	cred.sessionToken = param->token;
	s3->signer = s3SignerNew(&cred, param->region, "s3");
	return storageNew(&storageS3Interface, s3);
}
