/*-------------------------------------------------------------------------
 * storage.c (azure)
 *	  The Azure Blob Storage driver: a repository in a container of a
 *	  storage account (or of azurite).  This file sets the driver up,
 *	  authorizes and sends its requests (Shared Key, azure_sign.h, or a SAS
 *	  token; over the HTTP layer, http.h), turns the service's errors into
 *	  clear DrErrors, and holds the name operations (exists, list,
 *	  listPage, remove, removeTree); reading and writing blobs live in
 *	  read.c and write.c.  storage_azure.h says how names map to blobs and
 *	  how the storage contract is kept.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "lib/stringinfo.h"
#include "storage/azure/storage_azure.h"
#include "storage/azure/azure_response.h"

/* ---- name mapping (pure) ---- */

char *
storageAzurePrefixNormalize(const char *path)
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
storageAzureBlobName(const char *prefix, const char *path)
{
	if (prefix[0] == '\0')
		return pstrdup(path);
	if (path[0] == '\0')
		return pstrdup(prefix);
	return psprintf("%s/%s", prefix, path);
}

char *
storageAzureDirPrefix(const char *prefix, const char *dir)
{
	char	   *name = storageAzureBlobName(prefix, dir);
	char	   *result;

	if (name[0] == '\0')
		return name;
	result = psprintf("%s/", name);
	pfree(name);
	return result;
}

void
storageAzureBlockId(const char *tag, int n, char *buf)
{
	char		raw[25];

	snprintf(raw, sizeof(raw), "%.16s-%07d", tag, n);
	EVP_EncodeBlock((unsigned char *) buf, (const unsigned char *) raw, 24);
}

/* ---- requests ---- */

void
storageAzureQueryAdd(StorageAzureRequest *req, const char *name,
					 const char *value)
{
	Assert(req->queryCount < STORAGE_AZURE_QUERY_MAX);
	req->query[req->queryCount].name = name;
	req->query[req->queryCount].value = value;
	req->queryCount++;
}

void
storageAzureHeaderAdd(StorageAzureRequest *req, const char *name,
					  const char *value)
{
	Assert(req->headerCount < STORAGE_AZURE_HEADER_MAX);
	req->headers[req->headerCount].name = name;
	req->headers[req->headerCount].value = value;
	req->headerCount++;
}

/* The HTTP client, made in the process that uses it (never across fork()). */
static HttpClient *
storageAzureHttp(StorageAzure *az, DrError *err)
{
	HttpClientParam param;

	if (az->http != NULL && az->httpPid == getpid())
		return az->http;
	memset(&param, 0, sizeof(param));
	param.service = "azure";
	param.caFile = az->caFile;
	param.caPath = az->caPath;
	az->http = httpClientNew(&param, err);
	az->httpPid = getpid();
	return az->http;
}

bool
storageAzureSend(StorageAzure *az, const StorageAzureRequest *req,
				 HttpResponse *resp, DrError *err)
{
	HttpClient *http = storageAzureHttp(az, err);
	AzureSignPair headers[STORAGE_AZURE_HEADER_MAX + 2];
	char		date[AZURE_SIGN_DATE_LEN];
	char	   *encoded = NULL;
	char	   *path;
	char	   *auth = NULL;
	StringInfoData url;
	HttpHeaders lines;
	HttpRequest hreq;
	bool		ok;
	int			nh = 0;

	memset(resp, 0, sizeof(*resp));
	if (http == NULL)
		return false;
	azureSignDateFormat(time(NULL), date);
	headers[nh].name = "x-ms-date";
	headers[nh++].value = date;
	headers[nh].name = "x-ms-version";
	headers[nh++].value = STORAGE_AZURE_VERSION;
	memcpy(headers + nh, req->headers, sizeof(AzureSignPair) * req->headerCount);
	nh += req->headerCount;

	if (req->blob != NULL)
	{
		encoded = azureSignPathEncode(req->blob);
		path = psprintf("%s/%s", az->containerPath, encoded);
	}
	else
		path = pstrdup(az->containerPath);

	if (az->signer != NULL)
	{
		AzureSignRequest sreq;

		memset(&sreq, 0, sizeof(sreq));
		sreq.method = req->method;
		sreq.path = path;
		sreq.query = req->query;
		sreq.queryCount = req->queryCount;
		sreq.headers = headers;
		sreq.headerCount = nh;
		sreq.contentLength = req->bodyLen;
		auth = azureSignAuthorization(az->signer, &sreq, err);
		if (auth == NULL)
		{
			pfree(path);
			if (encoded)
				pfree(encoded);
			return false;
		}
	}

	initStringInfo(&url);
	appendStringInfo(&url, "%s%s", az->baseUrl, path);
	for (int i = 0; i < req->queryCount; i++)
		httpUrlQueryAdd(&url, req->query[i].name, req->query[i].value);
	if (az->sas != NULL)
		appendStringInfo(&url, "%c%s", req->queryCount > 0 ? '&' : '?', az->sas);
	httpHeadersInit(&lines);
	for (int i = 0; i < nh; i++)
		httpHeadersAdd(&lines, headers[i].name, "%s", headers[i].value);
	if (auth != NULL)
		httpHeadersAdd(&lines, "Authorization", "%s", auth);

	memset(&hreq, 0, sizeof(hreq));
	hreq.method = req->method;
	hreq.url = url.data;
	hreq.headers = lines.lines;
	hreq.body = req->body;
	hreq.bodyLen = req->bodyLen;
	hreq.responseSink = req->responseSink;
	hreq.responseReset = req->responseReset;
	hreq.responseMax = req->responseMax;
	ok = httpRequest(http, &hreq, resp, err);
	if (!ok && err != NULL)
	{
		char		name[DR_ERROR_VALUE_BUF];

		drErrorPrefix(err, "repository %s: could not %s: ",
					  drErrorValue(az->name, name), req->what);
		if (err->code == DR_ERR_IO && err->hint[0] == '\0')
			drErrorHint(err, "check that repoN_azure_endpoint (%s) is right and the service is up and reachable",
						az->host);
	}

	httpHeadersFree(&lines);
	explicit_bzero(url.data, url.len);
	pfree(url.data);
	if (auth)
		pfree(auth);
	pfree(path);
	if (encoded)
		pfree(encoded);
	return ok;
}

/* Whether code says the credentials were refused. */
static bool
storageAzureAuthCode(const char *code)
{
	static const char *const codes[] = {
		"AuthenticationFailed", "AuthorizationFailure",
		"AuthorizationPermissionMismatch", "AuthorizationResourceTypeMismatch",
		"AuthorizationServiceMismatch", "AuthorizationProtocolMismatch",
		"AuthorizationSourceIPMismatch", "InvalidAuthenticationInfo",
		"NoAuthenticationInformation",
	};

	for (int i = 0; i < (int) lengthof(codes); i++)
		if (strcmp(code, codes[i]) == 0)
			return true;
	return false;
}

bool
storageAzureError(StorageAzure *az, const StorageAzureRequest *req,
				  const HttpResponse *resp, DrError *err)
{
	AzureResponseParam param = {.kind = AZURE_RESPONSE_ERROR};
	AzureResponse parsed;
	const char *code = resp->errorCode;
	char		rid[160] = "";
	DrError		perr;

	memset(&parsed, 0, sizeof(parsed));
	if (code[0] == '\0' && resp->body != NULL && resp->bodyLen > 0 &&
		azureResponseParse(&param, resp->body, resp->bodyLen, &parsed, &perr))
		code = parsed.code;
	if (resp->requestId[0] != '\0')
		snprintf(rid, sizeof(rid), " (request id %s)", resp->requestId);

	if (storageAzureAuthCode(code))
	{
		drErrorSet(err, DR_ERR_PERMISSION,
				   "repository %s: could not %s: the service refused the credentials (HTTP %ld %s)%s",
				   az->name, req->what, resp->status, code, rid);
		if (az->sas != NULL)
			drErrorHint(err, "check repoN_azure_sas: it must be a SAS token of this account, not expired, allowing read, add, create, write, delete and list on the container (its IP range and protocol too)");
		else
			drErrorHint(err, "check repoN_azure_key (or repoN_azure_key_file): it must be key1 or key2 of storage account \"%s\", and this host's clock must be right",
						az->account);
	}
	else if (strcmp(code, "ContainerNotFound") == 0)
	{
		drErrorSet(err, DR_ERR_CONFIG,
				   "repository %s: could not %s: container \"%s\" does not exist in storage account \"%s\"%s",
				   az->name, req->what, az->container, az->account, rid);
		drErrorHint(err, "create the container (az storage container create --account-name %s --name %s), or fix repoN_azure_container",
					az->account, az->container);
	}
	else if (strcmp(code, "ResourceNotFound") == 0 && req->blob == NULL)
	{
		drErrorSet(err, DR_ERR_CONFIG,
				   "repository %s: could not %s: the service does not know storage account \"%s\" or container \"%s\" (HTTP %ld ResourceNotFound)%s",
				   az->name, req->what, az->account, az->container, resp->status, rid);
		drErrorHint(err, "check repoN_azure_account, repoN_azure_container and repoN_azure_endpoint");
	}
	else if (strcmp(code, "BlobNotFound") == 0 || resp->status == 404)
	{
		drErrorSet(err, DR_ERR_NOT_FOUND,
				   "repository %s: could not %s: it does not exist (HTTP %ld%s%s)%s",
				   az->name, req->what, resp->status, code[0] ? " " : "", code, rid);
	}
	else if (resp->status == 403)
	{
		drErrorSet(err, DR_ERR_PERMISSION,
				   "repository %s: could not %s: access denied (HTTP 403%s%s)%s",
				   az->name, req->what, code[0] ? " " : "", code, rid);
		drErrorHint(err, "the credentials must allow reading, writing, deleting and listing blobs of the container");
	}
	else
		drErrorSet(err, DR_ERR_IO,
				   "repository %s: could not %s: HTTP %ld%s%s%s",
				   az->name, req->what, resp->status, code[0] ? " " : "",
				   code, rid);
	azureResponseClear(&parsed);
	return false;
}

/* ---- name operations ---- */

bool
storageAzureExists(void *driverArg, const char *path, bool *exists,
				   DrError *err)
{
	StorageAzure *az = driverArg;
	StorageAzureRequest req = {.method = "HEAD"};
	HttpResponse resp;
	char	   *blob = storageAzureBlobName(az->prefix, path);
	bool		ok;

	req.blob = blob;
	req.what = psprintf("look for \"%s\"", path);
	ok = storageAzureSend(az, &req, &resp, err);
	if (ok)
	{
		if (resp.status == 200)
			*exists = true;
		else if (resp.status == 404 &&
				 strcmp(resp.errorCode, "ContainerNotFound") != 0 &&
				 strcmp(resp.errorCode, "ResourceNotFound") != 0)
			*exists = false;
		else
		{
			/* HEAD has no body: the code comes in x-ms-error-code */
			req.blob = NULL;
			ok = storageAzureError(az, &req, &resp, err);
		}
	}
	httpResponseFree(&resp);
	pfree((char *) req.what);
	pfree(blob);
	return ok;
}

/*
 * A listing: List Blobs requests under one name prefix, page after page
 * (marker), one level (delimiter "/") or flat.
 */
typedef struct StorageAzureListState
{
	size_t		prefixLen;
	StorageListCallback callback;	/* plain listing */
	void	   *arg;
	StorageListPage *page;		/* paged listing */
	bool		(*blobCallback) (void *arg, const char *blob, DrError *err);	/* flat */
	char	   *lastName;		/* last name seen (relative), palloc'd */
	char	   *prevMax;		/* greatest name of the earlier requests */
	char	   *curMax;
} StorageAzureListState;

static void
storageAzureListStateFree(StorageAzureListState *st)
{
	if (st->lastName)
		pfree(st->lastName);
	if (st->prevMax)
		pfree(st->prevMax);
	if (st->curMax)
		pfree(st->curMax);
}

static bool
storageAzureListEntry(void *arg, const AzureListEntry *entry, DrError *err)
{
	StorageAzureListState *st = arg;
	const char *rel;
	StorageInfo info;
	char	   *name;
	size_t		len;

	if (st->blobCallback != NULL)
		return entry->isPrefix || st->blobCallback(st->arg, entry->name, err);
	if (strlen(entry->name) <= st->prefixLen)
		return true;			/* the prefix itself as a blob: not listed */
	rel = entry->name + st->prefixLen;

	/*
	 * The service lists in name order, page after page: an entry not after
	 * the greatest of the earlier requests would be a repeat, not listed
	 * twice.
	 */
	if (st->prevMax != NULL && strcmp(rel, st->prevMax) <= 0)
		return true;
	if (st->curMax == NULL || strcmp(rel, st->curMax) > 0)
	{
		if (st->curMax)
			pfree(st->curMax);
		st->curMax = pstrdup(rel);
	}
	if (st->lastName)
		pfree(st->lastName);
	st->lastName = pstrdup(rel);
	name = pstrdup(rel);
	len = strlen(name);
	if (entry->isPrefix && len > 0 && name[len - 1] == '/')
		name[--len] = '\0';
	if (len == 0 || strchr(name, '/') != NULL)
	{
		pfree(name);
		return true;			/* "d//x": not something pg_dr writes */
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

/* One List Blobs request; *next the marker of the next page, or NULL. */
static bool
storageAzureListRequest(StorageAzure *az, const char *namePrefix, bool flat,
						const char *marker, int maxResults,
						StorageAzureListState *st, char **next, DrError *err)
{
	StorageAzureRequest req = {.method = "GET"};
	AzureResponseParam param = {.kind = AZURE_RESPONSE_LIST};
	AzureResponse parsed;
	HttpResponse resp;
	char		max[16];
	bool		ok;

	snprintf(max, sizeof(max), "%d", maxResults);
	storageAzureQueryAdd(&req, "restype", "container");
	storageAzureQueryAdd(&req, "comp", "list");
	if (namePrefix[0] != '\0')
		storageAzureQueryAdd(&req, "prefix", namePrefix);
	if (!flat)
		storageAzureQueryAdd(&req, "delimiter", "/");
	storageAzureQueryAdd(&req, "maxresults", max);
	if (marker != NULL)
		storageAzureQueryAdd(&req, "marker", marker);
	req.responseMax = 32 * 1024 * 1024;
	req.what = "list the repository";

	*next = NULL;
	if (!storageAzureSend(az, &req, &resp, err))
		return false;
	if (resp.status != 200)
	{
		storageAzureError(az, &req, &resp, err);
		httpResponseFree(&resp);
		return false;
	}
	param.listEntry = storageAzureListEntry;
	param.arg = st;
	ok = azureResponseParse(&param, resp.body, resp.bodyLen, &parsed, err);
	if (ok && parsed.isError)
		ok = drErrorSet(err, DR_ERR_IO, "repository %s: listing failed: %s",
						az->name, parsed.code);
	if (st->curMax != NULL)
	{
		if (st->prevMax)
			pfree(st->prevMax);
		st->prevMax = st->curMax;
		st->curMax = NULL;
	}
	if (ok && parsed.nextMarker != NULL && parsed.nextMarker[0] != '\0')
		*next = pstrdup(parsed.nextMarker);
	if (ok)
		azureResponseClear(&parsed);
	httpResponseFree(&resp);
	return ok;
}

static bool
storageAzureList(void *driverArg, const char *dir, StorageListCallback callback,
				 void *arg, DrError *err)
{
	StorageAzure *az = driverArg;
	char	   *namePrefix = storageAzureDirPrefix(az->prefix, dir);
	StorageAzureListState st = {0};
	char	   *marker = NULL;
	bool		ok = true;

	st.prefixLen = strlen(namePrefix);
	st.callback = callback;
	st.arg = arg;
	do
	{
		char	   *next;

		ok = storageAzureListRequest(az, namePrefix, false, marker, az->listMax,
									 &st, &next, err);
		if (marker)
			pfree(marker);
		marker = next;
	} while (ok && marker != NULL);
	if (marker)
		pfree(marker);
	storageAzureListStateFree(&st);
	pfree(namePrefix);
	return ok;
}

/*
 * The least name an entry listed after name k can have: k cut before its
 * first byte below '/' (a prefix "n/" comes after "n.x" in the service's
 * order, but its name "n" before "n.x").  Palloc'd.
 */
static char *
storageAzureListLeastNext(const char *k)
{
	size_t		i;

	for (i = 0; k[i] != '\0'; i++)
		if ((unsigned char) k[i] < '/')
			break;
	return pnstrdup(k, i);
}

/*
 * A page in name order.  The Blob service has no "start after": every
 * page lists the directory from its first name, the names up to
 * startAfter dropped by the StorageListPage, and stops as soon as no
 * later name can still enter the page (storageAzureListLeastNext).
 */
static bool
storageAzureListPage(void *driverArg, const char *dir, const char *startAfter,
					 int limit, StorageListCallback callback, void *arg,
					 bool *more, DrError *err)
{
	StorageAzure *az = driverArg;
	char	   *namePrefix = storageAzureDirPrefix(az->prefix, dir);
	StorageAzureListState st = {0};
	char	   *marker = NULL;
	bool		stopped = false;
	bool		ok = true;

	st.prefixLen = strlen(namePrefix);
	st.page = storageListPageNew(startAfter, limit);
	*more = false;
	do
	{
		char	   *next;

		ok = storageAzureListRequest(az, namePrefix, false, marker, az->listMax,
									 &st, &next, err);
		if (marker)
			pfree(marker);
		marker = next;
		if (ok && marker != NULL && st.lastName != NULL)
		{
			char	   *least = storageAzureListLeastNext(st.lastName);

			stopped = strcmp(least, startAfter) > 0 &&
				!storageListPageWants(st.page, least);
			pfree(least);
		}
	} while (ok && marker != NULL && !stopped);
	if (ok)
	{
		ok = storageListPageEmit(st.page, callback, arg, more, err);
		if (stopped)
			*more = true;
	}
	else
		(void) storageListPageEmit(st.page, NULL, NULL, more, err);
	if (marker)
		pfree(marker);
	storageAzureListStateFree(&st);
	pfree(namePrefix);
	return ok;
}

/* Delete Blob: 202; a blob already gone (404 BlobNotFound) is no error. */
static bool
storageAzureRemoveBlob(StorageAzure *az, const char *blob, const char *path,
					   DrError *err)
{
	StorageAzureRequest req = {.method = "DELETE"};
	HttpResponse resp;
	bool		ok;

	req.blob = blob;
	req.what = psprintf("remove \"%s\"", path);
	ok = storageAzureSend(az, &req, &resp, err);
	if (ok && resp.status != 202 && resp.status != 200 &&
		!(resp.status == 404 && strcmp(resp.errorCode, "BlobNotFound") == 0))
		ok = storageAzureError(az, &req, &resp, err);
	httpResponseFree(&resp);
	pfree((char *) req.what);
	return ok;
}

static bool
storageAzureRemove(void *driverArg, const char *path, DrError *err)
{
	StorageAzure *az = driverArg;
	char	   *blob = storageAzureBlobName(az->prefix, path);
	bool		ok = storageAzureRemoveBlob(az, blob, path, err);

	pfree(blob);
	return ok;
}

/*
 * Remove a tree: the blobs under the prefix listed flat, a page at a
 * time, each page's blobs deleted one by one before the next page is
 * asked for.  The marker is a position in the name order, which deleting
 * the names already listed does not move.
 */
typedef struct StorageAzureRemoveState
{
	char	  **names;
	int			count;
	int			size;
} StorageAzureRemoveState;

static bool
storageAzureRemoveListed(void *arg, const char *blob, DrError *err)
{
	StorageAzureRemoveState *rs = arg;

	if (rs->count == rs->size)
	{
		rs->size = rs->size ? rs->size * 2 : 64;
		rs->names = rs->names ? repalloc(rs->names, sizeof(char *) * rs->size) :
			palloc(sizeof(char *) * rs->size);
	}
	rs->names[rs->count++] = pstrdup(blob);
	return true;
}

static bool
storageAzureRemoveTree(void *driverArg, const char *dir, DrError *err)
{
	StorageAzure *az = driverArg;
	char	   *namePrefix = storageAzureDirPrefix(az->prefix, dir);
	StorageAzureRemoveState rs = {0};
	StorageAzureListState st = {0};
	char	   *marker = NULL;
	bool		ok = true;

	st.blobCallback = storageAzureRemoveListed;
	st.arg = &rs;
	do
	{
		char	   *next;

		rs.count = 0;
		ok = storageAzureListRequest(az, namePrefix, true, marker, az->listMax,
									 &st, &next, err);
		if (marker)
			pfree(marker);
		marker = next;
		for (int i = 0; i < rs.count; i++)
		{
			if (ok)
				ok = storageAzureRemoveBlob(az, rs.names[i], rs.names[i], err);
			pfree(rs.names[i]);
		}
	} while (ok && marker != NULL);
	if (marker)
		pfree(marker);
	if (rs.names)
		pfree(rs.names);
	storageAzureListStateFree(&st);
	pfree(namePrefix);
	return ok;
}

static void
storageAzureFree(void *driverArg)
{
	StorageAzure *az = driverArg;

	if (az->http != NULL && az->httpPid == getpid())
		httpClientFree(az->http);
	azureSignerFree(az->signer);
	if (az->sas)
	{
		explicit_bzero(az->sas, strlen(az->sas));
		pfree(az->sas);
	}
	pfree(az);
}

static const StorageDriverInterface storageAzureInterface = {
	.name = "azure",
	/* durable at commit: no FSYNC, no batch callbacks; see storage_azure.h */
	.features = STORAGE_FEATURE_ATOMIC_PUT | STORAGE_FEATURE_NO_OVERWRITE,
	.writeBegin = storageAzureWriteBegin,
	.write = storageAzureWrite,
	.writeEnd = storageAzureWriteEnd,
	.writeAbort = storageAzureWriteAbort,
	.readBegin = storageAzureReadBegin,
	.readBeginRange = storageAzureReadBeginRange,
	.read = storageAzureRead,
	.readEnd = storageAzureReadEnd,
	.exists = storageAzureExists,
	.list = storageAzureList,
	.remove = storageAzureRemove,
	.free = storageAzureFree,
	.listPage = storageAzureListPage,
	.removeTree = storageAzureRemoveTree,
};

static char *
pstrdupOrNull(const char *s)
{
	return s != NULL && s[0] != '\0' ? pstrdup(s) : NULL;
}

/* Nothing is sent here: the first request says whether the service answers. */
Storage *
storageAzureNew(const StorageAzureParam *param, DrError *err)
{
	StorageAzure *az;
	AzureSigner *signer = NULL;
	const char *sas = param->sas;

	if (param->key == NULL && sas == NULL)
	{
		drErrorSet(err, DR_ERR_CONFIG, "repository azure://%s/%s: no credentials",
				   param->account, param->container);
		drErrorHint(err, "set repoN_azure_key (or repoN_azure_key_file), or repoN_azure_sas (or repoN_azure_sas_file)");
		return NULL;
	}
	if (param->key != NULL)
	{
		signer = azureSignerNew(param->account, param->key, err);
		if (signer == NULL)
			return NULL;
	}
	else
	{
		if (sas[0] == '?')
			sas++;
		if (strstr(sas, "sig=") == NULL)
		{
			drErrorSet(err, DR_ERR_CONFIG,
					   "repository azure://%s/%s: the SAS token has no signature (sig=)",
					   param->account, param->container);
			drErrorHint(err, "give the whole SAS token, as \"sv=...&sig=...\"");
			return NULL;
		}
	}
	az = palloc0(sizeof(StorageAzure));
	az->account = pstrdup(param->account);
	az->container = pstrdup(param->container);
	az->prefix = storageAzurePrefixNormalize(param->prefix);
	az->host = pstrdup(param->endpoint);
	az->baseUrl = psprintf("%s://%s", param->tls ? "https" : "http", param->endpoint);
	az->containerPath = param->pathStyle ?
		psprintf("/%s/%s", param->account, param->container) :
		psprintf("/%s", param->container);
	az->name = az->prefix[0] ?
		psprintf("azure://%s/%s/%s", az->account, az->container, az->prefix) :
		psprintf("azure://%s/%s", az->account, az->container);
	az->caFile = pstrdupOrNull(param->caFile);
	az->caPath = pstrdupOrNull(param->caPath);
	az->blockSize = param->blockSize > 0 ? param->blockSize : INT64CONST(16) * 1024 * 1024;
	az->listMax = param->listMax > 0 ? param->listMax : STORAGE_AZURE_LIST_MAX;
	az->signer = signer;
	az->sas = sas != NULL ? pstrdup(sas) : NULL;
	return storageNew(&storageAzureInterface, az);
}
