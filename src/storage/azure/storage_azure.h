/*-------------------------------------------------------------------------
 * storage_azure.h
 *	  Internal to the Azure Blob Storage driver (the .c files of
 *	  storage/azure but the signer and the XML reader): the driver
 *	  instance, its read and write callbacks, the request they all send,
 *	  and the pure helpers the unit tests check (blob name mapping).  Users
 *	  go through storage.h.
 *
 * Object names: the repository path "a/b" is the blob "<prefix>/a/b" in
 * the container, prefix being repoN_path without its leading and trailing
 * slashes ("" when unset).  A directory "d" is the name prefix
 * "<prefix>/d/"; the Blob service has no directories (the flat namespace
 * of an account without hierarchical namespace), so a directory exists
 * while a blob under it does.
 *
 * Atomicity (storage.h's contract):
 *	 - A Put Blob, and a Put Block List, make the blob appear whole or not
 *	   at all.  Blocks staged by Put Block are invisible until a Put Block
 *	   List commits them; a failed or aborted write commits nothing, and
 *	   the service discards uncommitted blocks after a week.  Each block
 *	   goes with its Content-MD5, which the service checks: a body cut or
 *	   altered on the way is refused, never stored.
 *	 - Durability: a blob is durable once the service answered 201 to its
 *	   Put Blob or Put Block List (no batch callbacks, no FSYNC feature).
 *	 - Never overwriting: a write without replace sends "If-None-Match: *"
 *	   on Put Blob and Put Block List; the service answers 409
 *	   BlobAlreadyExists (or 412) when the name exists, so a race between
 *	   two writers is decided by the service.  writeBegin also asks for
 *	   the blob's properties, to fail before streaming gigabytes.  Block
 *	   ids carry a random tag of the write, so two writers of one name
 *	   never commit each other's blocks.
 *-------------------------------------------------------------------------
 */
#ifndef DR_STORAGE_AZURE_H
#define DR_STORAGE_AZURE_H

#include <sys/types.h>

#include "storage/storage_driver.h"
#include "storage/http/http.h"
#include "storage/azure/azure_sign.h"

/*
 * The x-ms-version sent: a REST API version the Blob service and azurite
 * (3.35 accepts 2009-04-14 to 2025-11-05) both serve, with everything this
 * driver uses (If-None-Match on Put Block List, x-ms-range).
 */
#define STORAGE_AZURE_VERSION		"2021-08-06"

/* The service's limits: 50000 blocks a blob, 5000 results a listing. */
#define STORAGE_AZURE_BLOCKS_MAX	50000
#define STORAGE_AZURE_LIST_MAX		5000
#define STORAGE_AZURE_BLOCK_MIN		(INT64CONST(64) * 1024)
#define STORAGE_AZURE_BLOCK_MAX		(INT64CONST(4000) * 1024 * 1024)

/* How a repository is reached, as its settings say (settings.c). */
typedef struct StorageAzureParam
{
	const char *account;
	const char *container;
	const char *endpoint;		/* host[:port] */
	bool		pathStyle;		/* endpoint/account/container (azurite) */
	bool		tls;
	const char *prefix;			/* repoN_path, NULL: none */
	const char *key;			/* base64 Shared Key, or NULL */
	const char *sas;			/* SAS token (no '?'), or NULL */
	const char *caFile;
	const char *caPath;
	int64		blockSize;
	int			listMax;
} StorageAzureParam;

typedef struct StorageAzure
{
	char	   *account;
	char	   *container;
	char	   *prefix;			/* "" or "p/q" (no slash at either end) */
	char	   *baseUrl;		/* "https://host" */
	char	   *containerPath;	/* "/container" or "/account/container" */
	char	   *name;			/* "azure://account/container/prefix" */
	char	   *host;			/* host[:port], for messages */
	char	   *caFile;
	char	   *caPath;
	int64		blockSize;
	int			listMax;
	AzureSigner *signer;		/* Shared Key (holds the key), or NULL */
	char	   *sas;			/* SAS token, or NULL */
	HttpClient *http;			/* made on first use, per process */
	pid_t		httpPid;
} StorageAzure;

#define STORAGE_AZURE_QUERY_MAX		8
#define STORAGE_AZURE_HEADER_MAX	8

/* A request of the driver, before authorization. */
typedef struct StorageAzureRequest
{
	const char *method;
	const char *blob;			/* NULL: the container itself */
	AzureSignPair query[STORAGE_AZURE_QUERY_MAX];	/* raw */
	int			queryCount;
	AzureSignPair headers[STORAGE_AZURE_HEADER_MAX];
	int			headerCount;
	const void *body;
	size_t		bodyLen;
	CodecSink	responseSink;
	bool		(*responseReset) (void *arg, DrError *err);
	size_t		responseMax;
	const char *what;			/* "write \"x\"": says what failed */
} StorageAzureRequest;

extern void storageAzureQueryAdd(StorageAzureRequest *req, const char *name,
								 const char *value);
extern void storageAzureHeaderAdd(StorageAzureRequest *req, const char *name,
								  const char *value);

/*
 * Authorize and send a request (retried by the HTTP layer); true with the
 * answer, whatever its status, or false when it could not be had.
 */
extern bool storageAzureSend(StorageAzure *az, const StorageAzureRequest *req,
							 HttpResponse *resp, DrError *err);

/*
 * The DrError of an answer the driver did not expect, by the service's
 * error code: credentials refused, no such container, no such blob, each
 * with what to do.  Always returns false.
 */
extern bool storageAzureError(StorageAzure *az, const StorageAzureRequest *req,
							  const HttpResponse *resp, DrError *err);

/* Name mapping (pure, unit tested); palloc'd. */
extern char *storageAzurePrefixNormalize(const char *path);
extern char *storageAzureBlobName(const char *prefix, const char *path);
extern char *storageAzureDirPrefix(const char *prefix, const char *dir);
/*
 * The block id of block n of a write tagged tag (16 characters): base64
 * of "<tag>-<n, 7 digits>", every id of a blob the same length as the
 * service wants.  buf holds 33 bytes.
 */
extern void storageAzureBlockId(const char *tag, int n, char *buf);

/* settings.c */
extern bool storageAzureEndpointIsLoopback(const char *endpoint);
extern char *storageAzureSecretFileRead(const char *path, const char *what,
										DrError *err);

/* storage.c */
extern Storage *storageAzureNew(const StorageAzureParam *param, DrError *err);
extern bool storageAzureExists(void *driver, const char *path, bool *exists,
							   DrError *err);

/* read.c */
extern void *storageAzureReadBegin(void *driver, const char *path, DrError *err);
extern void *storageAzureReadBeginRange(void *driver, const char *path,
										uint64 offset, uint64 length,
										DrError *err);
extern ssize_t storageAzureRead(void *handle, void *buf, size_t len,
								DrError *err);
extern void storageAzureReadEnd(void *handle);

/* write.c */
extern void *storageAzureWriteBegin(void *driver, const char *path,
									const StorageWriteParam *param,
									DrError *err);
extern bool storageAzureWrite(void *handle, const void *buf, size_t len,
							  DrError *err);
extern bool storageAzureWriteEnd(void *handle, DrError *err);
extern void storageAzureWriteAbort(void *handle);

#endif							/* DR_STORAGE_AZURE_H */
