/*-------------------------------------------------------------------------
 * s3_response.h
 *	  The XML bodies S3 answers with, read into C values: ListObjectsV2,
 *	  Error, InitiateMultipartUploadResult, CompleteMultipartUploadResult
 *	  and DeleteObjects' DeleteResult.  Built on the push reader of
 *	  s3_xml.h, so a body is read as it arrives, with bounded memory: the
 *	  entries of a listing or of a DeleteResult are handed to a callback
 *	  one at a time, never gathered.
 *
 * Every kind accepts an <Error> document in place of its own, because S3
 * may answer 200 with an error body (CompleteMultipartUpload, when the
 * failure comes after the response started): the result then says
 * isError and carries the error.  A document of another kind, a value of
 * the wrong form (a size, a date, a boolean), an element given twice
 * where one is expected, or a required element missing is DR_ERR_CORRUPT
 * ("S3 response: ..."), as is malformed XML.
 *-------------------------------------------------------------------------
 */
#ifndef DR_S3_RESPONSE_H
#define DR_S3_RESPONSE_H

#include <time.h>

#include "common/error.h"

typedef enum S3ResponseKind
{
	S3_RESPONSE_ERROR,			/* the body of a 4xx or 5xx */
	S3_RESPONSE_LIST,			/* ListObjectsV2: ListBucketResult */
	S3_RESPONSE_MULTIPART_INIT, /* InitiateMultipartUploadResult */
	S3_RESPONSE_MULTIPART_COMPLETE, /* CompleteMultipartUploadResult */
	S3_RESPONSE_DELETE			/* DeleteObjects: DeleteResult */
} S3ResponseKind;

/* An <Error> document; NULL for each element it did not hold. */
typedef struct S3Error
{
	char	   *code;			/* always set: "NoSuchKey", "SlowDown", ... */
	char	   *message;
	char	   *requestId;
	char	   *hostId;
	/*
	 * The region the bucket is in, when S3 says: <Region> of
	 * AuthorizationHeaderMalformed, or taken from the <Endpoint> of
	 * PermanentRedirect (bucket.s3.eu-west-1.amazonaws.com), or from a
	 * <Message> saying "expecting 'eu-west-1'".
	 */
	char	   *region;
	char	   *endpoint;		/* PermanentRedirect, TemporaryRedirect */
	char	   *bucket;
	char	   *key;
	char	   *requestTime;	/* RequestTimeTooSkewed: the request's time */
	char	   *serverTime;		/* RequestTimeTooSkewed: S3's time */
} S3Error;

/* One entry of a listing page: an object, or a common prefix. */
typedef struct S3ListEntry
{
	const char *key;			/* the object's key, or the prefix */
	bool		isPrefix;		/* a <CommonPrefixes> entry (no size, date, etag) */
	int64		size;
	time_t		lastModified;	/* UTC, whole seconds */
	const char *etag;			/* as given, quotes included; NULL if none */
} S3ListEntry;

/* One entry of a DeleteResult: code NULL when the key was deleted. */
typedef struct S3DeleteEntry
{
	const char *key;
	const char *code;
	const char *message;		/* NULL if none */
} S3DeleteEntry;

/* Callbacks: false (err set) stops the reading with that error. */
typedef bool (*S3ListCallback) (void *arg, const S3ListEntry *entry, DrError *err);
typedef bool (*S3DeleteCallback) (void *arg, const S3DeleteEntry *entry,
								  DrError *err);

typedef struct S3ResponseParam
{
	S3ResponseKind kind;
	/*
	 * LIST: the request asked for encoding-type=url, so keys and prefixes
	 * come %-encoded ('+' for a space) and are decoded here.
	 */
	bool		urlEncoded;
	S3ListCallback listEntry;	/* LIST: required */
	S3DeleteCallback deleteEntry;	/* DELETE: required */
	void	   *arg;
} S3ResponseParam;

/* What a body said; strings palloc'd, freed by s3ResponseClear. */
typedef struct S3Response
{
	bool		isError;		/* the body was an <Error> document */
	S3Error		error;
	/* LIST */
	bool		isTruncated;	/* another page follows */
	char	   *nextContinuationToken;	/* required when truncated */
	int			keyCount;		/* <KeyCount>, -1 when absent */
	int			entries;		/* entries handed to listEntry */
	int			objects;		/* of them, objects (not common prefixes) */
	/* MULTIPART_INIT */
	char	   *uploadId;
	/* MULTIPART_COMPLETE */
	char	   *etag;
	/* DELETE */
	int			deleted;
	int			failed;
} S3Response;

typedef struct S3ResponseReader S3ResponseReader;

extern S3ResponseReader *s3ResponseReaderNew(const S3ResponseParam *param);

/* Read len more bytes of the body; callbacks are called as entries end. */
extern bool s3ResponseReaderFeed(S3ResponseReader *reader, const char *data,
								 size_t len, DrError *err);

/*
 * The body ended: check that it was complete and held what its kind
 * requires, and fill out (s3ResponseClear frees it, also after a failure).
 */
extern bool s3ResponseReaderEnd(S3ResponseReader *reader, S3Response *out,
								DrError *err);

extern void s3ResponseReaderFree(S3ResponseReader *reader);

/* A whole body at once: New, Feed, End, Free. */
extern bool s3ResponseParse(const S3ResponseParam *param, const char *body,
							size_t len, S3Response *out, DrError *err);

extern void s3ResponseClear(S3Response *out);

/*
 * An ISO 8601 time as S3 writes it ("2009-10-12T17:50:30.000Z"; the
 * fraction optional, always UTC) as seconds since the epoch.
 */
extern bool s3ResponseTimeParse(const char *s, time_t *t);

#endif							/* DR_S3_RESPONSE_H */
