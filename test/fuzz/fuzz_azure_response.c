/*-------------------------------------------------------------------------
 * fuzz_azure_response.c
 *	  Fuzz target for the Blob service's XML bodies
 *	  (src/storage/azure/azure_response.c over src/storage/s3/s3_xml.c).
 *
 * The input is read as a listing and as an error, once whole and once in
 * pieces of a size taken from the input.  Whatever it holds, each reading
 * must either fail with DR_ERR_CORRUPT and a message starting "Azure
 * response: ", or succeed with results whose invariants hold (an error
 * has a code; every entry's name is non-empty valid UTF-8 and a blob's
 * size is not negative; the counts agree with the entries given); and
 * both readings must agree exactly.  Never crash, leak or read out of
 * bounds.
 *
 *	 make fuzz && build/fuzz/fuzz_azure_response -max_len=4096    (libFuzzer)
 *	 build/fuzz-smoke/fuzz_azure_response [iterations [seed]]  (run by make unit)
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "fuzz_mutate.h"
#include "lib/stringinfo.h"
#include "storage/azure/azure_response.h"
#include "storage/s3/s3_xml.h"

static void
fuzzCheck(bool cond)
{
	if (!cond)
		abort();
}

typedef struct FuzzOut
{
	StringInfoData buf;
	int			entries;
	int			prefixes;
} FuzzOut;

static bool
fuzzList(void *arg, const AzureListEntry *e, DrError *err)
{
	FuzzOut    *o = arg;

	fuzzCheck(e->name != NULL && e->name[0] != '\0' &&
			  s3XmlUtf8Valid(e->name, strlen(e->name)));
	fuzzCheck(e->isPrefix || e->size >= 0);
	o->entries++;
	if (e->isPrefix)
		o->prefixes++;
	appendStringInfo(&o->buf, "%s|%d|" INT64_FORMAT "|%lld|%s\n", e->name,
					 e->isPrefix, e->size, (long long) e->lastModified,
					 e->etag ? e->etag : "-");
	return true;
}

static char *
fuzzRead(AzureResponseKind kind, const uint8 *data, size_t size, size_t chunk)
{
	FuzzOut		o = {0};
	AzureResponseParam param = {kind, fuzzList, &o};
	AzureResponse res;
	DrError		err;

	initStringInfo(&o.buf);
	if (!azureResponseParseChunked(&param, (const char *) data, size, chunk, &res, &err))
	{
		fuzzCheck(err.code == DR_ERR_CORRUPT &&
				  strncmp(err.message, "Azure response: ", 16) == 0);
		resetStringInfo(&o.buf);
		appendStringInfo(&o.buf, "ERROR %s", err.message);
		return o.buf.data;
	}
	if (res.isError)
	{
		fuzzCheck(res.code != NULL && res.code[0] != '\0');
		appendStringInfo(&o.buf, "error %s", res.code);
	}
	else
	{
		fuzzCheck(kind == AZURE_RESPONSE_LIST);
		fuzzCheck(res.entries == o.entries && res.prefixes == o.prefixes);
		appendStringInfo(&o.buf, "ok %s %d %d", res.nextMarker ? res.nextMarker : "-",
						 res.maxResults, res.entries);
	}
	azureResponseClear(&res);
	return o.buf.data;
}

int
LLVMFuzzerTestOneInput(const uint8 *data, size_t size)
{
	static const AzureResponseKind kinds[] = {AZURE_RESPONSE_LIST, AZURE_RESPONSE_ERROR};
	size_t		chunk = size > 0 ? 1 + data[size / 2] % 17 : 1;

	for (int i = 0; i < (int) lengthof(kinds); i++)
	{
		char	   *whole = fuzzRead(kinds[i], data, size, Max(size, 1));
		char	   *pieces = fuzzRead(kinds[i], data, size, chunk);

		fuzzCheck(strcmp(whole, pieces) == 0);
		pfree(whole);
		pfree(pieces);
	}
	return 0;
}

/* Bodies as the Blob service and azurite write them, and some to refuse. */
static const char *const seeds[] = {
	"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	"<EnumerationResults ServiceEndpoint=\"https://a.blob.core.windows.net/\" ContainerName=\"c\">"
	"<Prefix>p/</Prefix><Marker/><MaxResults>2</MaxResults><Delimiter>/</Delimiter><Blobs>"
	"<Blob><Name>p/a &amp; b</Name><Properties><Last-Modified>Wed, 09 Sep 2009 09:20:03 GMT"
	"</Last-Modified><Etag>0x8D1</Etag><Content-Length>42</Content-Length>"
	"<BlobType>BlockBlob</BlobType></Properties><Metadata/></Blob>"
	"<BlobPrefix><Name>p/caf\xc3\xa9&#x20AC;/</Name></BlobPrefix></Blobs>"
	"<NextMarker>2!96!MDAwMDE5IXAvYiEwMDAwMjgh</NextMarker></EnumerationResults>",
	"<EnumerationResults><Blobs/><NextMarker/></EnumerationResults>",
	"\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code>"
	"<Message>Server failed to authenticate the request.\nRequestId:1\nTime:2026-12-03T11:00:00Z"
	"</Message><AuthenticationErrorDetail>The MAC signature found</AuthenticationErrorDetail></Error>",
	"<Error><Code>ContainerNotFound</Code><Message>The specified container does not exist.</Message></Error>",
	"<r a='1' b=\"&lt;\"><![CDATA[x]]]]><![CDATA[>]]><?pi ?><s:k>&#65;&#x1F600;</s:k>\r\n<e/></r>",
	"<!DOCTYPE html><html><body>502</body></html>",
};

const char *const *
fuzzSeeds(int *count)
{
	*count = lengthof(seeds);
	return seeds;
}
