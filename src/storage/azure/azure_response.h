/*-------------------------------------------------------------------------
 * azure_response.h
 *	  The XML bodies the Blob service answers with, read into C values:
 *	  List Blobs (EnumerationResults) and Error.  Built on the push reader
 *	  of storage/s3/s3_xml.h (generic XML, nothing of S3 in it), so the
 *	  entries of a listing are handed to a callback one at a time, never
 *	  gathered.
 *
 * A byte order mark before the document (the service sends one) is
 * skipped.  A listing may be answered by an <Error> document instead (the result
 * then says isError).  A document of another kind, a value of the wrong
 * form (a size, a date, a count), an element given twice where one is
 * expected, or a required element missing is DR_ERR_CORRUPT ("Azure
 * response: ..."), as is malformed XML.  Elements not known here
 * (<Metadata>, <Content-Type>, <BlobType>, ...) are skipped.
 *
 * A blob name the service marks Encoded="true" (one holding characters
 * XML cannot carry) would be read as its encoded text: pg_dr names none
 * such (storage paths are checked), so it is not decoded here.
 *-------------------------------------------------------------------------
 */
#ifndef DR_AZURE_RESPONSE_H
#define DR_AZURE_RESPONSE_H

#include <time.h>

#include "common/error.h"

typedef enum AzureResponseKind
{
	AZURE_RESPONSE_ERROR,		/* the body of a 4xx or 5xx */
	AZURE_RESPONSE_LIST			/* List Blobs: EnumerationResults */
} AzureResponseKind;

/* One entry of a listing page: a blob, or a prefix (BlobPrefix). */
typedef struct AzureListEntry
{
	const char *name;			/* the blob's name, or the prefix */
	bool		isPrefix;
	int64		size;			/* Content-Length (blobs) */
	time_t		lastModified;	/* Last-Modified (blobs), UTC */
	const char *etag;			/* NULL if none */
} AzureListEntry;

/* false (err set) stops the reading with that error. */
typedef bool (*AzureListCallback) (void *arg, const AzureListEntry *entry,
								   DrError *err);

typedef struct AzureResponseParam
{
	AzureResponseKind kind;
	AzureListCallback listEntry;	/* LIST: required */
	void	   *arg;
} AzureResponseParam;

/* What a body said; strings palloc'd, freed by azureResponseClear. */
typedef struct AzureResponse
{
	bool		isError;		/* the body was an <Error> document */
	char	   *code;			/* of an error: always set */
	char	   *message;
	char	   *authDetail;		/* <AuthenticationErrorDetail> */
	/* LIST */
	char	   *prefix;
	char	   *marker;
	char	   *delimiter;
	int			maxResults;		/* -1 when absent */
	char	   *nextMarker;		/* NULL or "": the last page */
	int			entries;		/* entries handed to listEntry */
	int			prefixes;		/* of them, BlobPrefix */
} AzureResponse;

extern bool azureResponseParse(const AzureResponseParam *param,
							   const char *body, size_t len,
							   AzureResponse *out, DrError *err);

/* The same, fed in pieces of at most chunk bytes (tests: any cut reads the same). */
extern bool azureResponseParseChunked(const AzureResponseParam *param,
									  const char *body, size_t len,
									  size_t chunk, AzureResponse *out,
									  DrError *err);

extern void azureResponseClear(AzureResponse *out);

/*
 * An RFC 1123 date ("Wed, 09 Sep 2009 09:20:03 GMT") as seconds since the
 * epoch; false when malformed.
 */
extern bool azureResponseTimeParse(const char *s, time_t *t);

#endif							/* DR_AZURE_RESPONSE_H */
