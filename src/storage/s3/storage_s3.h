/*-------------------------------------------------------------------------
 * storage_s3.h
 *	  Internal to the S3 storage driver (the .c files of storage/s3 but the
 *	  signer and the XML reader): the driver instance, its read and write
 *	  callbacks, the signed request they all send, and the pure helpers the
 *	  unit tests check (key mapping).  Users go through storage.h.
 *
 * Object names: the repository path "a/b" is the key "<prefix>/a/b" in
 * the bucket, prefix being repoN_path without its leading and trailing
 * slashes ("" when unset: keys start at the bucket's root).  A directory
 * "d" is the key prefix "<prefix>/d/"; S3 has no directories, so a
 * directory exists while a key under it does.
 *
 * Atomicity (storage.h's contract):
 *	 - A PUT, and a CompleteMultipartUpload, make the object appear whole
 *	   or not at all: S3 never shows a partial object.  Parts of an upload
 *	   not completed are invisible, and a failed or aborted write aborts
 *	   the upload (AbortMultipartUpload), so nothing is left but, at worst,
 *	   parts a lifecycle rule for incomplete uploads collects (a crash).
 *	 - Durability: an object is durable once S3 answered 200 to its PUT or
 *	   Complete, so a deferSync write needs nothing at the end of its batch
 *	   (no batch callbacks; STORAGE_FEATURE_FSYNC not claimed).
 *	 - Never overwriting: a write without replace sends
 *	   "If-None-Match: *", which S3 (since 2024-08) and most compatible
 *	   stores honour on PUT and CompleteMultipartUpload with 412
 *	   PreconditionFailed when the key exists: the race between two
 *	   writers is decided by the store.  writeBegin also HEADs the key,
 *	   to fail before streaming gigabytes -- only before a multipart
 *	   upload where the store is known to honour the header (write.c
 *	   finds out once per handle, with a probe object under check/, after
 *	   a few create-only writes), so that an object of one PUT costs one
 *	   request.  A store that ignores
 *	   the header (s3rver, the test server, does) leaves only the HEAD,
 *	   before every create-only write: two writers racing between HEAD
 *	   and PUT can then both succeed, the second replacing the first
 *	   whole.  pg_dr's writers never race for a name
 *	   (backup ids and WAL names are unique to one writer; the archiver
 *	   checks content), so this costs atomicity nothing, only the
 *	   detection of a bug.
 *-------------------------------------------------------------------------
 */
#ifndef DR_STORAGE_S3_H
#define DR_STORAGE_S3_H

#include <sys/types.h>

#include "storage/storage_driver.h"
#include "storage/http/http.h"
#include "storage/s3/s3_sign.h"
#include "storage/s3/s3_sts.h"

/* S3's limits: parts of at least 5 MiB (the last excepted), 10000 parts. */
#define STORAGE_S3_PART_MIN			(INT64CONST(5) * 1024 * 1024)
#define STORAGE_S3_PART_MAX			(INT64CONST(5) * 1024 * 1024 * 1024)
#define STORAGE_S3_PARTS_MAX		10000
/* Keys per DeleteObjects request (S3's limit) and per ListObjectsV2. */
#define STORAGE_S3_DELETE_MAX		1000
#define STORAGE_S3_LIST_MAX			1000

/* GCS's XML API (repoN_type = gcs) */
#define STORAGE_GCS_ENDPOINT		"storage.googleapis.com"

/* How a repository is reached, as its settings say (settings.c). */
typedef struct StorageS3Param
{
	const char *type;			/* "s3" or "gcs": names the settings in hints */
	const char *bucket;
	const char *endpoint;		/* host[:port] */
	const char *region;
	bool		hostStyle;		/* bucket.endpoint rather than endpoint/bucket */
	bool		tls;			/* https (verified) rather than http */
	const char *prefix;			/* repoN_path, NULL: none */
	const char *accessKey;
	const char *secret;
	const char *token;			/* NULL: none */
	/* web identity (s3_sts.h), instead of accessKey and secret */
	const char *roleArn;		/* NULL: static credentials */
	const char *tokenFile;
	const char *sessionName;
	const char *stsEndpoint;	/* host[:port] */
	const char *caFile;
	const char *caPath;
	int64		partSize;
	const char *sse;			/* NULL, "AES256" or "aws:kms" */
	const char *sseKmsKeyId;	/* with aws:kms, NULL: the bucket's key */
	const char *storageClass;	/* NULL: the bucket's default */
	int			listMax;		/* keys per ListObjectsV2 request */
	/* what a store speaking S3's API does differently (GCS: both) */
	bool		singleDeletes;	/* no DeleteObjects: one DELETE per key */
	bool		generationMatch;	/* create-only as "x-goog-if-generation-
									 * match: 0", not "If-None-Match: *" */
} StorageS3Param;

typedef struct StorageS3
{
	char	   *bucket;
	char	   *region;
	char	   *prefix;			/* "" or "p/q" (no slash at either end) */
	char	   *host;			/* the Host header: endpoint or bucket.endpoint */
	char	   *baseUrl;		/* "https://host" */
	char	   *bucketPath;		/* "/bucket" (path style) or "" */
	char	   *name;			/* "s3://bucket/prefix" ("gs://" for GCS),
								 * for messages */
	char	   *type;			/* "s3" or "gcs": hints name repoN_<type>_* */
	bool		singleDeletes;	/* StorageS3Param's */
	bool		generationMatch;
	int			precondition;	/* whether a create-only PUT is refused
								 * over an existing key: 0 not known yet,
								 * 1 yes, -1 no (write.c) */
	int			createOnlyWrites;	/* create-only writes asked for with a
									 * HEAD before the probe (write.c) */
	bool		tls;
	char	   *caFile;
	char	   *caPath;
	int64		partSize;
	char	   *sse;
	char	   *sseKmsKeyId;
	char	   *storageClass;
	int			listMax;
	S3Signer   *signer;			/* holds the secret; with web identity NULL
								 * until the first request */
	S3StsParam *sts;			/* web identity: how to get credentials;
								 * NULL with static ones */
	time_t		credRefreshAt;	/* web identity: when to ask STS again */
	time_t		credExpiration; /* web identity: when they expire */
	HttpClient *http;			/* made on first use, per process */
	pid_t		httpPid;		/* the process that made it */
	const DrHost *drHost;		/* storageHostSet's: asked while waiting */
} StorageS3;

/* A request of the driver, before signing. */
#define STORAGE_S3_QUERY_MAX	8
#define STORAGE_S3_HEADER_MAX	8

typedef struct StorageS3Request
{
	const char *method;
	const char *key;			/* NULL: the bucket itself */
	S3SignPair	query[STORAGE_S3_QUERY_MAX];
	int			queryCount;
	S3SignPair	headers[STORAGE_S3_HEADER_MAX];	/* signed, sent */
	int			headerCount;
	const void *body;			/* in memory (hashed, signed) */
	size_t		bodyLen;
	CodecSink	responseSink;	/* 2xx body: see HttpRequest */
	bool		(*responseReset) (void *arg, DrError *err);
	size_t		responseMax;
	const char *what;			/* "write \"x\"": says what failed */
} StorageS3Request;

extern void storageS3QueryAdd(StorageS3Request *req, const char *name,
							  const char *value);
extern void storageS3HeaderAdd(StorageS3Request *req, const char *name,
							   const char *value);

/*
 * Sign and send a request (retried by the HTTP layer); true with the
 * answer, whatever its status, or false when it could not be had.
 */
extern bool storageS3Send(StorageS3 *s3, const StorageS3Request *req,
						  HttpResponse *resp, DrError *err);

/*
 * The DrError of an answer the driver did not expect, by S3's error
 * code: bad credentials, no such bucket, wrong region, access denied,
 * each with what to do.  Always returns false.
 */
extern bool storageS3Error(StorageS3 *s3, const StorageS3Request *req,
						   const HttpResponse *resp, DrError *err);

/*
 * Key mapping (pure, unit tested): the key of a repository path ("" is
 * the prefix itself), and the key prefix listing directory dir covers
 * ("" or ending with '/').  Palloc'd.
 */
extern char *storageS3Key(const char *prefix, const char *path);
extern char *storageS3DirPrefix(const char *prefix, const char *dir);

/*
 * Key prefix from repoN_path: leading and trailing slashes dropped;
 * palloc'd ("" for NULL or "/").
 */
extern char *storageS3PrefixNormalize(const char *path);

/*
 * The least name a listing entry found after key name k (relative to the
 * listed prefix) can have: k cut before its first byte below '/' (a
 * common prefix "n/" sorts after "n.x" in key order, but "n" before
 * "n.x" in name order).  Palloc'd.
 */
extern char *storageS3ListLeastNext(const char *k);

/* settings.c: whether host[:port] is 127.0.0.1, localhost or [::1] */
extern bool storageS3EndpointIsLoopback(const char *endpoint);
/* settings.c: the secret of repoN_s3_key_secret_file (mode checked) */
extern char *storageS3SecretFileRead(const char *path, DrError *err);

/* The driver (storage.c) */
extern Storage *storageS3New(const StorageS3Param *param, DrError *err);
/* HEAD of a path's key (the exists callback; write.c uses it too). */
extern bool storageS3Exists(void *driver, const char *path, bool *exists,
							DrError *err);

/*
 * The DELETE of one key (the remove callback; remove.c uses it where the
 * store has no DeleteObjects).  A missing key is not an error.
 */
extern bool storageS3RemoveKey(StorageS3 *s3, const char *key,
							   const char *what, DrError *err);

/*
 * remove.c: every key under dir, by DeleteObjects batches (one DELETE a
 * key with singleDeletes)
 */
extern bool storageS3RemoveTree(void *driver, const char *dir, DrError *err);

/* read.c */
extern void *storageS3ReadBegin(void *driver, const char *path, DrError *err);
extern void *storageS3ReadBeginRange(void *driver, const char *path,
									 uint64 offset, uint64 length, DrError *err);
extern ssize_t storageS3Read(void *handle, void *buf, size_t len, DrError *err);
extern void storageS3ReadEnd(void *handle);

/* write.c */
extern void *storageS3WriteBegin(void *driver, const char *path,
								 const StorageWriteParam *param, DrError *err);
extern bool storageS3Write(void *handle, const void *buf, size_t len,
						   DrError *err);
extern bool storageS3WriteEnd(void *handle, DrError *err);
extern void storageS3WriteAbort(void *handle);

#endif							/* DR_STORAGE_S3_H */
