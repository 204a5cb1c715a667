/*-------------------------------------------------------------------------
 * test_storage_azure_response.c
 *	  Unit tests of src/storage/azure/azure_response.c (the Blob service's
 *	  List Blobs and Error bodies).
 *
 * The listing documents are shaped as Microsoft's "List Blobs" reference
 * shows the response (EnumerationResults with Prefix, Marker,
 * MaxResults, Delimiter, Blobs holding Blob and BlobPrefix, NextMarker)
 * and as azurite writes it (attributes on the root, Properties with more
 * elements than read here, empty <Marker/>).
 *
 * Covers: a UTF-8 byte order mark skipped; blobs with name, Content-Length, Last-Modified (RFC 1123) and
 * Etag, prefixes, handed over in document order; Prefix, Marker,
 * Delimiter, MaxResults and NextMarker read (empty NextMarker: last page);
 * entities decoded in names; the same result whatever pieces the body is
 * fed in; an <Error> document in place of a listing; an error's Code,
 * Message and AuthenticationErrorDetail; refused (DR_ERR_CORRUPT, "Azure
 * response: "): another document, an error without Code, a blob without
 * Name, without Content-Length or Last-Modified, a size that is not one,
 * a date that is not RFC 1123, an element given twice, malformed XML; a
 * callback's failure stops the reading with its error; RFC 1123 dates
 * (leap day, bad day of month, bad month, trailing text).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "lib/stringinfo.h"
#include "storage/azure/azure_response.h"
#include "tap.h"
#include "test_support.h"

typedef struct Trace
{
	StringInfoData buf;
	int			failAt;			/* fail the nth entry (0: never) */
	int			n;
} Trace;

static bool
traceEntry(void *arg, const AzureListEntry *e, DrError *err)
{
	Trace	   *t = arg;

	if (++t->n == t->failAt)
		return drErrorSet(err, DR_ERR_INVALID, "callback refused %s", e->name);
	if (e->isPrefix)
		appendStringInfo(&t->buf, "P:%s ", e->name);
	else
		appendStringInfo(&t->buf, "B:%s|" INT64_FORMAT "|%lld|%s ", e->name, e->size,
						 (long long) e->lastModified, e->etag ? e->etag : "-");
	return true;
}

static const char *const listing =
"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
"<EnumerationResults ServiceEndpoint=\"https://127.0.0.1:10000/devstoreaccount1\" ContainerName=\"pgdr\">"
"<Prefix>main/archive/</Prefix><Marker/><MaxResults>3</MaxResults><Delimiter>/</Delimiter>"
"<Blobs>"
"<Blob><Name>main/archive/a &amp; b</Name><Properties>"
"<Creation-Time>Thu, 03 Dec 2026 11:00:00 GMT</Creation-Time>"
"<Last-Modified>Wed, 09 Sep 2009 09:20:03 GMT</Last-Modified><Etag>0x8D1A</Etag>"
"<Content-Length>434234</Content-Length><Content-Type>application/octet-stream</Content-Type>"
"<BlobType>BlockBlob</BlobType></Properties><Metadata/></Blob>"
"<BlobPrefix><Name>main/archive/wal/</Name></BlobPrefix>"
"<Blob><Name>main/archive/z</Name><Properties><Content-Length>0</Content-Length>"
"<Last-Modified>Thu, 29 Feb 2024 23:59:59 GMT</Last-Modified></Properties></Blob>"
"</Blobs><NextMarker>2!96!MDAwMDE5IW1haW4vYXJjaGl2ZS96ITAwMDAyOCE5OTk5LTEyLTMxVDIzOjU5OjU5Ljk5OTk5OTlaIQ--</NextMarker>"
"</EnumerationResults>";

static const char *const wantTrace =
"B:main/archive/a & b|434234|1252488003|0x8D1A P:main/archive/wal/ "
"B:main/archive/z|0|1709251199|- ";

static bool
readList(const char *body, size_t chunk, Trace *t, AzureResponse *res, DrError *err)
{
	AzureResponseParam param = {AZURE_RESPONSE_LIST, traceEntry, t};

	resetStringInfo(&t->buf);
	t->n = 0;
	return azureResponseParseChunked(&param, body, strlen(body), chunk, res, err);
}

static void
testList(void)
{
	Trace		t = {0};
	AzureResponse res;
	DrError		err;
	bool		same = true;

	initStringInfo(&t.buf);
	ok(readList(listing, 0, &t, &res, &err), "a listing reads");
	is_str(t.buf.data, wantTrace, "its entries in document order");
	is_str(res.prefix, "main/archive/", "Prefix");
	is_str(res.marker, "", "Marker, empty");
	is_str(res.delimiter, "/", "Delimiter");
	is_int(res.maxResults, 3, "MaxResults");
	ok(res.nextMarker != NULL && strncmp(res.nextMarker, "2!96!", 5) == 0, "NextMarker");
	is_int(res.entries, 3, "3 entries");
	is_int(res.prefixes, 1, "1 of them a prefix");
	ok(!res.isError, "not an error");
	azureResponseClear(&res);

	for (size_t chunk = 1; chunk < strlen(listing); chunk += 7)
	{
		if (!readList(listing, chunk, &t, &res, &err) || strcmp(t.buf.data, wantTrace) != 0)
			same = false;
		azureResponseClear(&res);
	}
	ok(same, "the same whatever pieces the body comes in");

	ok(readList("<EnumerationResults><Blobs/><NextMarker/></EnumerationResults>", 0, &t, &res, &err),
	   "an empty last page reads");
	ok(res.entries == 0 && res.nextMarker != NULL && res.nextMarker[0] == '\0',
	   "no entry, an empty NextMarker");
	azureResponseClear(&res);

	ok(readList("<Error><Code>ContainerNotFound</Code><Message>The specified container does not exist.</Message></Error>",
				0, &t, &res, &err) && res.isError, "an <Error> in place of a listing");
	is_str(res.code, "ContainerNotFound", "its code");
	azureResponseClear(&res);

	t.failAt = 2;
	ok(!readList(listing, 0, &t, &res, &err) && err.code == DR_ERR_INVALID &&
	   strcmp(err.message, "callback refused main/archive/wal/") == 0,
	   "a callback's failure stops the reading with its error");
	t.failAt = 0;
	pfree(t.buf.data);
}

static void
expectCorrupt(AzureResponseKind kind, const char *body, const char *want, const char *what)
{
	Trace		t = {0};
	AzureResponseParam param = {kind, traceEntry, &t};
	AzureResponse res;
	DrError		err;
	bool		okRead;

	initStringInfo(&t.buf);
	okRead = azureResponseParse(&param, body, strlen(body), &res, &err);
	ok(!okRead && err.code == DR_ERR_CORRUPT &&
	   strncmp(err.message, "Azure response: ", 16) == 0, "%s: refused", what);
	if (!ok(!okRead && strstr(err.message, want) != NULL, "%s: message", what))
		diag("message: %s\n#    wanted: %s", err.message, want);
	if (okRead)
		azureResponseClear(&res);
	pfree(t.buf.data);
}

static void
testErrors(void)
{
	AzureResponseParam param = {AZURE_RESPONSE_ERROR, NULL, NULL};
	AzureResponse res;
	DrError		err;
	const char *body =
		"\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code>"
		"<Message>Server failed to authenticate the request.\nRequestId:1</Message>"
		"<AuthenticationErrorDetail>The MAC signature found in the HTTP request 'x' is not the same</AuthenticationErrorDetail></Error>";

	ok(azureResponseParse(&param, body, strlen(body), &res, &err) && res.isError,
	   "an error document reads, after the byte order mark the service puts first");
	is_str(res.code, "AuthenticationFailed", "Code");
	ok(res.message && strncmp(res.message, "Server failed", 13) == 0, "Message");
	ok(res.authDetail && strstr(res.authDetail, "MAC signature") != NULL,
	   "AuthenticationErrorDetail");
	azureResponseClear(&res);

	expectCorrupt(AZURE_RESPONSE_ERROR, "<Error><Message>m</Message></Error>",
				  "<Error> without a <Code>", "an error without a code");
	expectCorrupt(AZURE_RESPONSE_ERROR, "<EnumerationResults/>",
				  "expected an <Error> document, got <EnumerationResults>", "a listing for an error");
	expectCorrupt(AZURE_RESPONSE_LIST, "<ListBucketResult/>",
				  "expected an <EnumerationResults> document, got <ListBucketResult>",
				  "an S3 listing");
	expectCorrupt(AZURE_RESPONSE_LIST,
				  "<EnumerationResults><Blobs><Blob><Properties><Content-Length>1</Content-Length>"
				  "<Last-Modified>Wed, 09 Sep 2009 09:20:03 GMT</Last-Modified></Properties></Blob></Blobs></EnumerationResults>",
				  "<Blob> without a <Name>", "a blob without a name");
	expectCorrupt(AZURE_RESPONSE_LIST,
				  "<EnumerationResults><Blobs><BlobPrefix><Name></Name></BlobPrefix></Blobs></EnumerationResults>",
				  "<BlobPrefix> without a <Name>", "a prefix with an empty name");
	expectCorrupt(AZURE_RESPONSE_LIST,
				  "<EnumerationResults><Blobs><Blob><Name>a</Name><Properties>"
				  "<Last-Modified>Wed, 09 Sep 2009 09:20:03 GMT</Last-Modified></Properties></Blob></Blobs></EnumerationResults>",
				  "without <Content-Length> or <Last-Modified>", "a blob without a size");
	expectCorrupt(AZURE_RESPONSE_LIST,
				  "<EnumerationResults><Blobs><Blob><Name>a</Name><Properties><Content-Length>-1</Content-Length>"
				  "</Properties></Blob></Blobs></EnumerationResults>",
				  "<Content-Length> is not a size in bytes", "a negative size");
	expectCorrupt(AZURE_RESPONSE_LIST,
				  "<EnumerationResults><Blobs><Blob><Name>a</Name><Properties><Content-Length>1</Content-Length>"
				  "<Last-Modified>2009-09-09T09:20:03Z</Last-Modified></Properties></Blob></Blobs></EnumerationResults>",
				  "<Last-Modified> is not an RFC 1123 date", "an ISO 8601 date");
	expectCorrupt(AZURE_RESPONSE_LIST,
				  "<EnumerationResults><NextMarker>a</NextMarker><NextMarker>b</NextMarker></EnumerationResults>",
				  "element <NextMarker> given twice", "two NextMarkers");
	expectCorrupt(AZURE_RESPONSE_LIST,
				  "<EnumerationResults><MaxResults>many</MaxResults></EnumerationResults>",
				  "<MaxResults> is not a count", "a MaxResults that is not a number");
	expectCorrupt(AZURE_RESPONSE_LIST, "<EnumerationResults><Blobs></EnumerationResults>",
				  "XML line 1", "mismatched tags");
	expectCorrupt(AZURE_RESPONSE_LIST, "", "XML", "an empty body");
}

static void
testTime(void)
{
	time_t		t;

	ok(azureResponseTimeParse("Thu, 01 Jan 1970 00:00:00 GMT", &t) && t == 0, "the epoch");
	ok(azureResponseTimeParse("Thu, 29 Feb 2024 12:00:00 GMT", &t) && t == 1709208000,
	   "a leap day");
	ok(!azureResponseTimeParse("Thu, 30 Feb 2024 12:00:00 GMT", &t), "30 February refused");
	ok(!azureResponseTimeParse("Thu, 01 Foo 2024 12:00:00 GMT", &t), "an unknown month refused");
	ok(!azureResponseTimeParse("Thu, 01 Jan 2024 12:00:00 UTC", &t), "a zone other than GMT refused");
	ok(!azureResponseTimeParse("Thu, 01 Jan 2024 12:00:00 GMTx", &t), "trailing text refused");
	ok(!azureResponseTimeParse("Xyz, 01 Jan 2024 12:00:00 GMT", &t), "an unknown day refused");
	ok(!azureResponseTimeParse("Thu, 01 Jan 2024 24:00:00 GMT", &t), "hour 24 refused");
}

int
main(void)
{
	testList();
	testErrors();
	testTime();
	trackFree();
	return tapDone();
}
