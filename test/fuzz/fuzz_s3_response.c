/*-------------------------------------------------------------------------
 * fuzz_s3_response.c
 *	  Fuzz target for S3's XML response bodies (src/storage/s3/s3_xml.c
 *	  and s3_response.c).
 *
 * The input is read as a body of every kind (error, listing with and
 * without url-encoded keys, multipart init and complete, DeleteResult),
 * once whole and once in pieces of a size taken from the input.  Whatever
 * it holds, each reading must either fail with DR_ERR_CORRUPT and a
 * message starting "S3 response: ", or succeed with results whose
 * invariants hold (an error has a code; a truncated listing has a token;
 * KeyCount agrees with the entries; every key is non-empty valid UTF-8;
 * an upload id and an ETag are non-empty); and both readings must agree
 * exactly (the reader is a push reader: where a body is cut between two
 * pieces must not matter).  Never crash, leak or read out of bounds.
 *
 *	 make fuzz && build/fuzz/fuzz_s3_response -max_len=4096    (libFuzzer)
 *	 build/fuzz-smoke/fuzz_s3_response [iterations [seed]]  (fuzz_mutate.c; run by make unit)
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "fuzz_mutate.h"
#include "lib/stringinfo.h"
#include "storage/s3/s3_response.h"
#include "storage/s3/s3_xml.h"

/* Abort (so the fuzzer reports the input) when an invariant does not hold. */
static void
fuzzCheck(bool cond)
{
	if (!cond)
		abort();
}

static void
fuzzKeyCheck(const char *key)
{
	fuzzCheck(key != NULL && key[0] != '\0' && s3XmlUtf8Valid(key, strlen(key)));
}

static bool
fuzzList(void *arg, const S3ListEntry *e, DrError *err)
{
	fuzzKeyCheck(e->key);
	fuzzCheck(e->isPrefix || e->size >= 0);
	appendStringInfo((StringInfo) arg, "%s|%d|" INT64_FORMAT "|%lld|%s\n", e->key,
					 e->isPrefix, e->size, (long long) e->lastModified,
					 e->etag ? e->etag : "-");
	return true;
}

static bool
fuzzDelete(void *arg, const S3DeleteEntry *e, DrError *err)
{
	fuzzCheck(e->key != NULL);
	fuzzCheck(e->code == NULL || e->code[0] != '\0');
	appendStringInfo((StringInfo) arg, "%s|%s|%s\n", e->key, e->code ? e->code : "-",
					 e->message ? e->message : "-");
	return true;
}

/* One reading: the outcome as text (entries, fields, or the error). */
static char *
fuzzRead(S3ResponseKind kind, bool urlEncoded, const uint8 *data, size_t size,
		 size_t chunk)
{
	S3ResponseParam param = {kind, urlEncoded, fuzzList, fuzzDelete, NULL};
	S3ResponseReader *r;
	S3Response	res;
	StringInfoData out;
	DrError		err;
	bool		ok = true;

	initStringInfo(&out);
	param.arg = &out;
	r = s3ResponseReaderNew(&param);
	for (size_t pos = 0; ok && pos < size; pos += chunk)
		ok = s3ResponseReaderFeed(r, (const char *) data + pos, Min(chunk, size - pos), &err);
	ok = ok && s3ResponseReaderEnd(r, &res, &err);
	s3ResponseReaderFree(r);
	if (!ok)
	{
		fuzzCheck(err.code == DR_ERR_CORRUPT &&
				  strncmp(err.message, "S3 response: ", 13) == 0);
		resetStringInfo(&out);
		appendStringInfo(&out, "ERROR %s", err.message);
		return out.data;
	}

	if (res.isError)
	{
		fuzzCheck(res.error.code != NULL && res.error.code[0] != '\0');
		appendStringInfo(&out, "error %s %s", res.error.code,
						 res.error.region ? res.error.region : "-");
	}
	else
	{
		fuzzCheck(kind != S3_RESPONSE_ERROR);
		fuzzCheck(!res.isTruncated ||
				  (res.nextContinuationToken && res.nextContinuationToken[0] != '\0'));
		fuzzCheck(res.keyCount == -1 || res.keyCount == res.entries);
		fuzzCheck(kind != S3_RESPONSE_MULTIPART_INIT ||
				  (res.uploadId && res.uploadId[0] != '\0'));
		fuzzCheck(kind != S3_RESPONSE_MULTIPART_COMPLETE || (res.etag && res.etag[0] != '\0'));
		appendStringInfo(&out, "ok %d %s %d %d %s %s %d %d", res.isTruncated,
						 res.nextContinuationToken ? res.nextContinuationToken : "-",
						 res.keyCount, res.entries, res.uploadId ? res.uploadId : "-",
						 res.etag ? res.etag : "-", res.deleted, res.failed);
	}
	s3ResponseClear(&res);
	return out.data;
}

int
LLVMFuzzerTestOneInput(const uint8 *data, size_t size)
{
	static const struct
	{
		S3ResponseKind kind;
		bool		urlEncoded;
	}			kinds[] = {
		{S3_RESPONSE_ERROR, false},
		{S3_RESPONSE_LIST, false},
		{S3_RESPONSE_LIST, true},
		{S3_RESPONSE_MULTIPART_INIT, false},
		{S3_RESPONSE_MULTIPART_COMPLETE, false},
		{S3_RESPONSE_DELETE, false},
	};
	size_t		chunk = size > 0 ? 1 + data[size / 2] % 17 : 1;

	for (int i = 0; i < (int) lengthof(kinds); i++)
	{
		char	   *whole = fuzzRead(kinds[i].kind, kinds[i].urlEncoded, data, size,
									 Max(size, 1));
		char	   *pieces = fuzzRead(kinds[i].kind, kinds[i].urlEncoded, data, size, chunk);

		fuzzCheck(strcmp(whole, pieces) == 0);
		pfree(whole);
		pfree(pieces);
	}
	return 0;
}

/* Bodies as AWS and s3rver write them, and some the reader must refuse. */
static const char *const seeds[] = {
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	"<Name>b</Name><Prefix>r/</Prefix><KeyCount>3</KeyCount><MaxKeys>3</MaxKeys>"
	"<IsTruncated>true</IsTruncated><Contents><Key>r/a &amp; b</Key>"
	"<LastModified>2009-10-12T17:50:30.000Z</LastModified><ETag>&quot;fba9&quot;</ETag>"
	"<Size>434234</Size><Owner><ID>75aa</ID></Owner><StorageClass>STANDARD</StorageClass>"
	"</Contents><Contents><Key>r/caf\xc3\xa9&#x20AC;</Key><Size>0</Size>"
	"<LastModified>2026-02-28T23:59:59Z</LastModified></Contents>"
	"<CommonPrefixes><Prefix>r/p/</Prefix></CommonPrefixes>"
	"<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
	"</ListBucketResult>",
	"<ListBucketResult><IsTruncated>false</IsTruncated><EncodingType>url</EncodingType>"
	"<Contents><Key>a+b%2Fc%C3%A9</Key><Size>1</Size>"
	"<LastModified>2026-02-28T23:59:59.5Z</LastModified></Contents></ListBucketResult>",
	"<Error><Code>AuthorizationHeaderMalformed</Code><Message>the region 'us-east-1' is "
	"wrong; expecting 'eu-west-1'</Message><Region>eu-west-1</Region>"
	"<RequestId>J6SQE0XV1JXG8WBR</RequestId><HostId>t0PZq6h=</HostId></Error>",
	"<Error><Code>PermanentRedirect</Code><Endpoint>b.s3.eu-central-1.amazonaws.com</Endpoint>"
	"<Bucket>b</Bucket></Error>",
	"<?xml version=\"1.0\"?><!-- c --><Error><Code>RequestTimeTooSkewed</Code>"
	"<RequestTime>20261203T081500Z</RequestTime><ServerTime>2026-12-03T09:01:02Z</ServerTime></Error>",
	"<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	"<Bucket>b</Bucket><Key>k</Key><UploadId>VXBsb2FkIElE</UploadId></InitiateMultipartUploadResult>",
	"<CompleteMultipartUploadResult><Location>http://b.s3.amazonaws.com/k</Location>"
	"<Bucket>b</Bucket><Key>k</Key><ETag>\"3858f622-9\"</ETag></CompleteMultipartUploadResult>",
	"<DeleteResult><Deleted><Key>a</Key></Deleted><Error><Key>b</Key><Code>AccessDenied</Code>"
	"<Message>Access Denied</Message></Error><Deleted><Key>c</Key><DeleteMarker>true"
	"</DeleteMarker></Deleted></DeleteResult>",
	"<r a='1' b=\"&lt;\"><![CDATA[x]]]]><![CDATA[>]]><?pi ?><s3:k>&#65;&#x1F600;</s3:k>\r\n<e/></r>",
	"<!DOCTYPE html><html><body>502</body></html>",
};

const char *const *
fuzzSeeds(int *count)
{
	*count = lengthof(seeds);
	return seeds;
}
