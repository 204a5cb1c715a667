/*-------------------------------------------------------------------------
 * read.c (s3)
 *	  Reading an object of the S3 storage driver: ranged GETs of
 *	  STORAGE_S3_READ_CHUNK bytes, each into memory, served to the caller's
 *	  reads; memory is one chunk whatever the object's size, and a failed
 *	  chunk is retried alone by the HTTP layer.
 *
 * Every chunk after the first carries If-Match with the first one's ETag:
 * should the object be replaced meanwhile (only the info file ever is),
 * the read fails (412) instead of stitching two versions together.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "storage/s3/storage_s3.h"

#define STORAGE_S3_READ_CHUNK	(4 * 1024 * 1024)

typedef struct StorageS3Read
{
	StorageS3  *s3;
	char	   *path;
	char	   *key;
	char	   *etag;			/* of the first chunk; NULL if none given */
	uint64		size;			/* the object's, from Content-Range */
	uint64		offset;			/* of the next chunk to fetch */
	uint64		end;			/* a ranged read stops here (else
								 * PG_UINT64_MAX) */
	char	   *buf;			/* the current chunk (palloc'd by the layer) */
	size_t		len;
	size_t		pos;
} StorageS3Read;

/* "bytes 0-99/12345": the total size after the '/'. */
static bool
storageS3RangeTotal(const char *value, uint64 *total)
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
 * DR_ERR_NOT_FOUND and 416 an empty object (no range of it exists).
 */
static bool
storageS3ReadChunk(StorageS3Read *rd, bool first, DrError *err)
{
	StorageS3Request req = {.method = "GET"};
	HttpResponse resp;
	char		range[64];
	bool		ok;

	uint64		start = rd->offset;
	uint64		skip = 0;		/* bytes of the answer before start */

	snprintf(range, sizeof(range), "bytes=" UINT64_FORMAT "-" UINT64_FORMAT,
			 start, Min(start + STORAGE_S3_READ_CHUNK, rd->end) - 1);
	req.key = rd->key;
	storageS3HeaderAdd(&req, "range", range);
	if (rd->etag != NULL)
		storageS3HeaderAdd(&req, "if-match", rd->etag);
	req.responseMax = STORAGE_S3_READ_CHUNK;
	req.what = psprintf("read \"%s\"", rd->path);
	if (!storageS3Send(rd->s3, &req, &resp, err))
	{
		pfree((char *) req.what);
		return false;
	}

	ok = true;
	if (first && resp.status == 416 && start > 0)
		ok = drErrorSet(err, DR_ERR_IO,
						"repository %s: could not %s: the object ends before offset " UINT64_FORMAT,
						rd->s3->name, req.what, start);
	else if (first && resp.status == 416)
	{
		rd->size = 0;
		rd->len = 0;
	}
	else if (resp.status == 206)
	{
		char	   *cr = httpHeaderGet(resp.headers, "content-range");
		uint64		total;

		if (!storageS3RangeTotal(cr, &total))
			ok = drErrorSet(err, DR_ERR_IO,
							"repository %s: could not %s: the answer has no valid Content-Range",
							rd->s3->name, req.what);
		else if (first)
		{
			rd->size = total;
			rd->etag = httpHeaderGet(resp.headers, "etag");
		}
		else if (total != rd->size)
			ok = drErrorSet(err, DR_ERR_IO,
							"repository %s: could not %s: it changed while being read",
							rd->s3->name, req.what);
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
		/* a store ignoring Range sends it whole: fine if it fit */
		rd->size = resp.bodyLen;
		rd->buf = resp.body;
		rd->len = resp.bodyLen;
		skip = start;
		resp.body = NULL;
	}
	else if (resp.status == 200)
		ok = drErrorSet(err, DR_ERR_IO,
						"repository %s: could not %s: the store ignored the range asked for",
						rd->s3->name, req.what);
	else if (resp.status == 412)
		ok = drErrorSet(err, DR_ERR_IO,
						"repository %s: could not %s: it changed while being read",
						rd->s3->name, req.what);
	else
		ok = storageS3Error(rd->s3, &req, &resp, err);	/* 404: NOT_FOUND */
	rd->pos = skip;
	rd->offset += rd->len - skip;
	httpResponseFree(&resp);
	pfree((char *) req.what);
	return ok;
}

static void
storageS3ReadFree(StorageS3Read *rd)
{
	if (rd->buf)
		pfree(rd->buf);
	if (rd->etag)
		pfree(rd->etag);
	pfree(rd->path);
	pfree(rd->key);
	pfree(rd);
}

void *
storageS3ReadBegin(void *driverArg, const char *path, DrError *err)
{
	StorageS3  *s3 = driverArg;
	StorageS3Read *rd = palloc0(sizeof(StorageS3Read));

	rd->s3 = s3;
	rd->path = pstrdup(path);
	rd->key = storageS3Key(s3->prefix, path);
	rd->end = PG_UINT64_MAX;
	if (!storageS3ReadChunk(rd, true, err))
	{
		storageS3ReadFree(rd);
		return NULL;
	}
	return rd;
}

/*
 * The length bytes at offset (an entry of a bundle): ranged GETs of that
 * range only (storage.c stops the caller at its end).
 */
void *
storageS3ReadBeginRange(void *driverArg, const char *path, uint64 offset,
						uint64 length, DrError *err)
{
	StorageS3  *s3 = driverArg;
	StorageS3Read *rd = palloc0(sizeof(StorageS3Read));

	rd->s3 = s3;
	rd->path = pstrdup(path);
	rd->key = storageS3Key(s3->prefix, path);
	rd->offset = offset;
	rd->end = length > PG_UINT64_MAX - offset ? PG_UINT64_MAX : offset + length;
	if (length == 0)
		return rd;				/* nothing to fetch */
	if (!storageS3ReadChunk(rd, true, err))
	{
		storageS3ReadFree(rd);
		return NULL;
	}
	return rd;
}

/* Fills buf unless the object ends first (see storage.h). */
ssize_t
storageS3Read(void *handle, void *buf, size_t len, DrError *err)
{
	StorageS3Read *rd = handle;
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
			if (!storageS3ReadChunk(rd, false, err))
				return -1;
			if (rd->len == 0)
			{
				drErrorSet(err, DR_ERR_IO,
						   "repository %s: \"%s\" ended before its size",
						   rd->s3->name, rd->path);
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
storageS3ReadEnd(void *handle)
{
	storageS3ReadFree(handle);
}
