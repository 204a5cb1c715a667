/*-------------------------------------------------------------------------
 * read.c (azure)
 *	  Reading a blob of the Azure driver: ranged GETs (x-ms-range) of
 *	  STORAGE_AZURE_READ_CHUNK bytes, each into memory, served to the
 *	  caller's reads; memory is one chunk whatever the blob's size, and a
 *	  failed chunk is retried alone by the HTTP layer.
 *
 * Every chunk after the first carries If-Match with the first one's ETag:
 * should the blob be replaced meanwhile (only the info file ever is), the
 * read fails (412 ConditionNotMet) instead of stitching two versions
 * together.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "storage/azure/storage_azure.h"

#define STORAGE_AZURE_READ_CHUNK	(4 * 1024 * 1024)

typedef struct StorageAzureRead
{
	StorageAzure *az;
	char	   *path;
	char	   *blob;
	char	   *etag;			/* of the first chunk; NULL if none given */
	uint64		size;			/* the blob's, from Content-Range */
	uint64		offset;			/* of the next chunk to fetch */
	uint64		end;			/* a ranged read stops here (else PG_UINT64_MAX) */
	char	   *buf;
	size_t		len;
	size_t		pos;
} StorageAzureRead;

/* "bytes 0-99/12345": the total size after the '/'. */
static bool
storageAzureRangeTotal(const char *value, uint64 *total)
{
	const char *slash = value ? strrchr(value, '/') : NULL;
	char	   *end;

	if (slash == NULL || slash[1] < '0' || slash[1] > '9')
		return false;
	*total = strtoull(slash + 1, &end, 10);
	while (*end == ' ' || *end == '\r' || *end == '\n')
		end++;
	return *end == '\0';
}

/*
 * Fetch the chunk at rd->offset.  On the first one, 404 is
 * DR_ERR_NOT_FOUND and 416 an empty blob (no range of it exists).
 */
static bool
storageAzureReadChunk(StorageAzureRead *rd, bool first, DrError *err)
{
	StorageAzureRequest req = {.method = "GET"};
	HttpResponse resp;
	char		range[64];
	bool		ok = true;
	uint64		start = rd->offset;
	uint64		skip = 0;

	snprintf(range, sizeof(range), "bytes=" UINT64_FORMAT "-" UINT64_FORMAT,
			 start, Min(start + STORAGE_AZURE_READ_CHUNK, rd->end) - 1);
	req.blob = rd->blob;
	storageAzureHeaderAdd(&req, "x-ms-range", range);
	if (rd->etag != NULL)
		storageAzureHeaderAdd(&req, "If-Match", rd->etag);
	req.responseMax = STORAGE_AZURE_READ_CHUNK;
	req.what = psprintf("read \"%s\"", rd->path);
	if (!storageAzureSend(rd->az, &req, &resp, err))
	{
		pfree((char *) req.what);
		return false;
	}

	if (first && resp.status == 416 && start > 0)
		ok = drErrorSet(err, DR_ERR_IO,
						"repository %s: could not %s: the blob ends before offset " UINT64_FORMAT,
						rd->az->name, req.what, start);
	else if (first && resp.status == 416)
	{
		rd->size = 0;
		rd->len = 0;
	}
	else if (resp.status == 206)
	{
		char	   *cr = httpHeaderGet(resp.headers, "content-range");
		uint64		total;

		if (!storageAzureRangeTotal(cr, &total))
			ok = drErrorSet(err, DR_ERR_IO,
							"repository %s: could not %s: the answer has no valid Content-Range",
							rd->az->name, req.what);
		else if (first)
		{
			rd->size = total;
			rd->etag = httpHeaderGet(resp.headers, "etag");
		}
		else if (total != rd->size)
			ok = drErrorSet(err, DR_ERR_IO,
							"repository %s: could not %s: it changed while being read",
							rd->az->name, req.what);
		if (cr)
			pfree(cr);
		if (ok)
		{
			rd->buf = resp.body;
			rd->len = resp.bodyLen;
			resp.body = NULL;
		}
	}
	else if (resp.status == 200 && first && start <= resp.bodyLen)
	{
		/* a whole blob instead of a range: fine if it fit */
		rd->size = resp.bodyLen;
		rd->buf = resp.body;
		rd->len = resp.bodyLen;
		rd->etag = httpHeaderGet(resp.headers, "etag");
		skip = start;
		resp.body = NULL;
	}
	else if (resp.status == 200)
		ok = drErrorSet(err, DR_ERR_IO,
						"repository %s: could not %s: the service ignored the range asked for",
						rd->az->name, req.what);
	else if (resp.status == 412)
		ok = drErrorSet(err, DR_ERR_IO,
						"repository %s: could not %s: it changed while being read",
						rd->az->name, req.what);
	else
		ok = storageAzureError(rd->az, &req, &resp, err);	/* 404: NOT_FOUND */
	rd->pos = skip;
	rd->offset += rd->len - skip;
	httpResponseFree(&resp);
	pfree((char *) req.what);
	return ok;
}

static void
storageAzureReadFree(StorageAzureRead *rd)
{
	if (rd->buf)
		pfree(rd->buf);
	if (rd->etag)
		pfree(rd->etag);
	pfree(rd->path);
	pfree(rd->blob);
	pfree(rd);
}

void *
storageAzureReadBegin(void *driverArg, const char *path, DrError *err)
{
	StorageAzure *az = driverArg;
	StorageAzureRead *rd = palloc0(sizeof(StorageAzureRead));

	rd->az = az;
	rd->path = pstrdup(path);
	rd->blob = storageAzureBlobName(az->prefix, path);
	rd->end = PG_UINT64_MAX;
	if (!storageAzureReadChunk(rd, true, err))
	{
		storageAzureReadFree(rd);
		return NULL;
	}
	return rd;
}

/* The length bytes at offset (an entry of a bundle): ranged GETs of that range only. */
void *
storageAzureReadBeginRange(void *driverArg, const char *path, uint64 offset,
						   uint64 length, DrError *err)
{
	StorageAzure *az = driverArg;
	StorageAzureRead *rd = palloc0(sizeof(StorageAzureRead));

	rd->az = az;
	rd->path = pstrdup(path);
	rd->blob = storageAzureBlobName(az->prefix, path);
	rd->offset = offset;
	rd->end = length > PG_UINT64_MAX - offset ? PG_UINT64_MAX : offset + length;
	if (length == 0)
		return rd;
	if (!storageAzureReadChunk(rd, true, err))
	{
		storageAzureReadFree(rd);
		return NULL;
	}
	return rd;
}

ssize_t
storageAzureRead(void *handle, void *buf, size_t len, DrError *err)
{
	StorageAzureRead *rd = handle;
	size_t		done = 0;

	while (done < len)
	{
		size_t		n;

		if (rd->pos == rd->len)
		{
			if (rd->offset >= rd->size || rd->offset >= rd->end)
				break;
			if (rd->buf)
				pfree(rd->buf);
			rd->buf = NULL;
			rd->len = 0;
			if (!storageAzureReadChunk(rd, false, err))
				return -1;
			if (rd->len == 0)
			{
				drErrorSet(err, DR_ERR_IO,
						   "repository %s: \"%s\" ended before its size",
						   rd->az->name, rd->path);
				return -1;
			}
		}
		n = Min(len - done, rd->len - rd->pos);
		memcpy((char *) buf + done, rd->buf + rd->pos, n);
		rd->pos += n;
		done += n;
	}
	return done;
}

void
storageAzureReadEnd(void *handle)
{
	storageAzureReadFree(handle);
}
