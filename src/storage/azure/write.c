/*-------------------------------------------------------------------------
 * write.c (azure)
 *	  Writing a blob of the Azure driver.
 *
 * Bytes are spooled in memory up to the block size
 * (repoN_azure_block_size).  A blob that fits goes up in one Put Blob at
 * storageWriteEnd(); a larger one as blocks: one Put Block per full spool,
 * the rest as the last block, then a Put Block List naming them in order,
 * which commits the blob.  Memory is one block whatever the blob's size,
 * and the spool grows by doubling, so a small blob costs little.
 *
 * Every Put Blob and Put Block carries the Content-MD5 of its body, which
 * the service checks: a body garbled on the way is refused (400, the write
 * fails), a body cut short never completes (the connection error is
 * retried by the HTTP layer); neither is stored.  Nothing is visible under the
 * name before Put Blob or Put Block List succeeds; a failed or aborted
 * write leaves only uncommitted blocks, invisible, which the service
 * discards after a week.  Without replace, Put Blob and Put Block List
 * carry "If-None-Match: *" (409 BlobAlreadyExists or 412: DR_ERR_EXISTS);
 * a blob of several blocks is also asked for before its first block.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "lib/stringinfo.h"
#include "storage/azure/storage_azure.h"

#define STORAGE_AZURE_SPOOL_START	(64 * 1024)

typedef struct StorageAzureWrite
{
	StorageAzure *az;
	char	   *path;
	char	   *blob;
	bool		replace;
	bool		checkFirst;		/* ask whether the blob exists before the
								 * first block */
	char	   *buf;			/* the spool */
	size_t		used;
	size_t		size;			/* allocated, up to az->blockSize */
	char		tag[17];		/* random, in every block id of this write */
	int			blocks;			/* staged so far */
} StorageAzureWrite;

static bool
storageAzureWriteExisting(StorageAzureWrite *wr, DrError *err)
{
	return drErrorSet(err, DR_ERR_EXISTS, "\"%s\" already exists in repository %s",
					  wr->path, wr->az->name);
}

/* A write with "If-None-Match: *" refused because the name exists. */
static bool
storageAzureExistsAnswer(const HttpResponse *resp)
{
	return resp->status == 412 ||
		(resp->status == 409 && strcmp(resp->errorCode, "BlobAlreadyExists") == 0);
}

static void
storageAzureWriteFree(StorageAzureWrite *wr)
{
	if (wr->buf)
		pfree(wr->buf);
	pfree(wr->path);
	pfree(wr->blob);
	pfree(wr);
}

/* Content-MD5: base64 of the body's MD5. */
static bool
storageAzureContentMd5(const char *data, size_t len, char *out, DrError *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdLen = 0;

	if (EVP_Digest(data, len, md, &mdLen, EVP_md5(), NULL) != 1)
		return drErrorSet(err, DR_ERR_INTERNAL, "could not compute an MD5 digest");
	EVP_EncodeBlock((unsigned char *) out, md, (int) mdLen);
	return true;
}

void *
storageAzureWriteBegin(void *driverArg, const char *path,
					   const StorageWriteParam *param, DrError *err)
{
	StorageAzure *az = driverArg;
	StorageAzureWrite *wr;
	uint8		rnd[8];

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
	{
		drErrorSet(err, DR_ERR_INTERNAL, "could not generate random bytes");
		return NULL;
	}
	wr = palloc0(sizeof(StorageAzureWrite));
	wr->az = az;
	wr->path = pstrdup(path);
	wr->blob = storageAzureBlobName(az->prefix, path);
	wr->replace = param->replace;

	/*
	 * A blob that turns out larger than a block is asked for before its
	 * first block goes up, to fail early rather than after streaming what
	 * may be gigabytes; a smaller one is written with one Put Blob, whose
	 * If-None-Match decides (Azure honours it), so it costs one request.
	 * An owned name has no other writer: never asked for.
	 */
	wr->checkFirst = !param->replace && !param->owned;
	for (int i = 0; i < 8; i++)
		snprintf(wr->tag + 2 * i, 3, "%02x", rnd[i]);
	return wr;
}

/* Stage the spool as the next block. */
static bool
storageAzurePutBlock(StorageAzureWrite *wr, DrError *err)
{
	StorageAzureRequest req = {.method = "PUT"};
	HttpResponse resp;
	char		id[40];
	char		md5[32];
	bool		ok;

	if (wr->blocks == STORAGE_AZURE_BLOCKS_MAX)
		return drErrorSet(err, DR_ERR_INVALID,
						  "repository %s: \"%s\" needs more than %d blocks",
						  wr->az->name, wr->path, STORAGE_AZURE_BLOCKS_MAX);
	if (wr->checkFirst)
	{
		bool		exists = false;

		if (!storageAzureExists(wr->az, wr->path, &exists, err))
			return false;
		if (exists)
			return storageAzureWriteExisting(wr, err);
		wr->checkFirst = false;
	}
	if (!storageAzureContentMd5(wr->buf, wr->used, md5, err))
		return false;
	storageAzureBlockId(wr->tag, wr->blocks + 1, id);
	req.blob = wr->blob;
	storageAzureQueryAdd(&req, "comp", "block");
	storageAzureQueryAdd(&req, "blockid", id);
	storageAzureHeaderAdd(&req, "Content-MD5", md5);
	req.body = wr->buf;
	req.bodyLen = wr->used;
	req.what = psprintf("upload block %d of \"%s\"", wr->blocks + 1, wr->path);
	ok = storageAzureSend(wr->az, &req, &resp, err);
	if (ok && resp.status != 201)
		ok = storageAzureError(wr->az, &req, &resp, err);
	else if (ok)
	{
		wr->blocks++;
		wr->used = 0;
	}
	httpResponseFree(&resp);
	pfree((char *) req.what);
	return ok;
}

bool
storageAzureWrite(void *handle, const void *data, size_t len, DrError *err)
{
	StorageAzureWrite *wr = handle;
	const char *p = data;
	size_t		blockSize = (size_t) wr->az->blockSize;

	while (len > 0)
	{
		size_t		n;

		if (wr->used == blockSize && !storageAzurePutBlock(wr, err))
			return false;
		if (wr->used == wr->size)
		{
			size_t		size = wr->size ? Min(wr->size * 2, blockSize) :
				Min(STORAGE_AZURE_SPOOL_START, blockSize);

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

/* The single Put Blob of a blob that fits in a block. */
static bool
storageAzurePutBlob(StorageAzureWrite *wr, DrError *err)
{
	StorageAzureRequest req = {.method = "PUT"};
	HttpResponse resp;
	char		md5[32];
	bool		ok;

	if (!storageAzureContentMd5(wr->buf ? wr->buf : "", wr->used, md5, err))
		return false;
	req.blob = wr->blob;
	storageAzureHeaderAdd(&req, "x-ms-blob-type", "BlockBlob");
	storageAzureHeaderAdd(&req, "Content-MD5", md5);
	if (!wr->replace)
		storageAzureHeaderAdd(&req, "If-None-Match", "*");
	req.body = wr->buf;
	req.bodyLen = wr->used;
	req.what = psprintf("write \"%s\"", wr->path);
	ok = storageAzureSend(wr->az, &req, &resp, err);
	if (ok && storageAzureExistsAnswer(&resp) && !wr->replace)
		ok = storageAzureWriteExisting(wr, err);
	else if (ok && resp.status != 201)
		ok = storageAzureError(wr->az, &req, &resp, err);
	httpResponseFree(&resp);
	pfree((char *) req.what);
	return ok;
}

/* Put Block List: commit the staged blocks, in order, as the blob. */
static bool
storageAzurePutBlockList(StorageAzureWrite *wr, DrError *err)
{
	StorageAzureRequest req = {.method = "PUT"};
	HttpResponse resp;
	StringInfoData body;
	char		md5[32];
	bool		ok;

	initStringInfo(&body);
	appendStringInfoString(&body, "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
	for (int i = 1; i <= wr->blocks; i++)
	{
		char		id[40];

		storageAzureBlockId(wr->tag, i, id);
		appendStringInfo(&body, "<Latest>%s</Latest>", id);
	}
	appendStringInfoString(&body, "</BlockList>");
	if (!storageAzureContentMd5(body.data, body.len, md5, err))
	{
		pfree(body.data);
		return false;
	}
	req.blob = wr->blob;
	storageAzureQueryAdd(&req, "comp", "blocklist");
	storageAzureHeaderAdd(&req, "Content-MD5", md5);
	if (!wr->replace)
		storageAzureHeaderAdd(&req, "If-None-Match", "*");
	req.body = body.data;
	req.bodyLen = body.len;
	req.what = psprintf("commit the blocks of \"%s\"", wr->path);
	ok = storageAzureSend(wr->az, &req, &resp, err);
	if (ok && storageAzureExistsAnswer(&resp) && !wr->replace)
		ok = storageAzureWriteExisting(wr, err);
	else if (ok && resp.status != 201)
		ok = storageAzureError(wr->az, &req, &resp, err);
	httpResponseFree(&resp);
	pfree(body.data);
	pfree((char *) req.what);
	return ok;
}

bool
storageAzureWriteEnd(void *handle, DrError *err)
{
	StorageAzureWrite *wr = handle;
	bool		ok;

	if (wr->blocks == 0)
		ok = storageAzurePutBlob(wr, err);
	else
		ok = (wr->used == 0 || storageAzurePutBlock(wr, err)) &&
			storageAzurePutBlockList(wr, err);
	storageAzureWriteFree(wr);
	return ok;
}

/*
 * Nothing to undo: the staged blocks are not committed, so invisible, and
 * the service discards them (there is no request to do it sooner).
 */
void
storageAzureWriteAbort(void *handle)
{
	storageAzureWriteFree(handle);
}
