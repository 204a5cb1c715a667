/*-------------------------------------------------------------------------
 * test_storage_s3_response.c
 *	  Unit tests of src/storage/s3/s3_response.c (S3's XML bodies).
 *
 * Covers: ListObjectsV2 pages as AWS and s3rver write them (objects with
 * key, size, time, etag; common prefixes; IsTruncated with
 * NextContinuationToken; KeyCount; unknown elements such as Owner and
 * StorageClass skipped), fed at once and byte by byte with the same
 * result; keys with entities and non-ASCII characters; encoding-type=url
 * keys decoded ('+', %XX) and a bad escape refused; Error documents
 * (NoSuchKey, AuthorizationHeaderMalformed with its Region,
 * PermanentRedirect with the region taken from the Endpoint,
 * RequestTimeTooSkewed with both times, SignatureDoesNotMatch) read by
 * every kind; CompleteMultipartUpload's 200 with an Error body; the
 * UploadId of InitiateMultipartUploadResult; the ETag of
 * CompleteMultipartUploadResult; DeleteResult's Deleted and Error entries
 * and their counts; a callback's failure returned as is.  Refused, each
 * with its message: a listing without IsTruncated, truncated without a
 * token, a KeyCount that disagrees, an entry without Key, Size or
 * LastModified, a bad size, time or boolean, an element twice, an Error
 * without Code, a missing UploadId or ETag, a document of another kind,
 * an HTML page, a body cut short (at every length of a real listing),
 * malformed XML (prefixed "S3 response: ").  s3ResponseTimeParse.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "lib/stringinfo.h"
#include "storage/s3/s3_response.h"
#include "tap.h"
#include "test_support.h"

/* Entries gathered as text, "key|size|time|etag;" or "key/;" for a prefix. */
static bool
listCollect(void *arg, const S3ListEntry *e, DrError *err)
{
	StringInfo	buf = arg;

	if (strcmp(e->key, "stop") == 0)
		return drErrorSet(err, DR_ERR_IO, "the caller stopped at \"stop\"");
	if (e->isPrefix)
		appendStringInfo(buf, "P:%s;", e->key);
	else
		appendStringInfo(buf, "%s|" INT64_FORMAT "|%lld|%s;", e->key, e->size,
						 (long long) e->lastModified, e->etag ? e->etag : "-");
	return true;
}

static bool
deleteCollect(void *arg, const S3DeleteEntry *e, DrError *err)
{
	StringInfo	buf = arg;

	appendStringInfo(buf, "%s:%s:%s;", e->key, e->code ? e->code : "ok",
					 e->message ? e->message : "-");
	return true;
}

/*
 * Parse body as kind, fed in pieces of chunk bytes (0: at once); the
 * entries gathered into entries.  Returns whether it parsed; err set.
 */
static bool
parse(S3ResponseKind kind, const char *body, size_t chunk, bool urlEncoded,
	  S3Response *out, StringInfo entries, DrError *err)
{
	S3ResponseParam param = {0};
	S3ResponseReader *r;
	size_t		len = strlen(body);
	bool		ok = true;

	param.kind = kind;
	param.urlEncoded = urlEncoded;
	param.listEntry = listCollect;
	param.deleteEntry = deleteCollect;
	param.arg = entries;
	resetStringInfo(entries);
	memset(out, 0, sizeof(*out));
	if (chunk == 0)
		return s3ResponseParse(&param, body, len, out, err);
	r = s3ResponseReaderNew(&param);
	for (size_t pos = 0; ok && pos < len; pos += chunk)
		ok = s3ResponseReaderFeed(r, body + pos, Min(chunk, len - pos), err);
	ok = ok && s3ResponseReaderEnd(r, out, err);
	s3ResponseReaderFree(r);
	return ok;
}

/* body is refused as kind with a message holding want. */
static void
refused(S3ResponseKind kind, const char *body, const char *want, const char *what)
{
	S3Response	res;
	StringInfoData entries;
	DrError		err;
	bool		parsed;

	initStringInfo(&entries);
	drErrorClear(&err);
	parsed = parse(kind, body, 0, false, &res, &entries, &err);
	ok(!parsed && err.code == DR_ERR_CORRUPT && strstr(err.message, want) != NULL &&
	   strncmp(err.message, "S3 response: ", 13) == 0,
	   "refused: %s (%s)", what, err.message);
	s3ResponseClear(&res);
	pfree(entries.data);
}

static const char *listPage =
"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
"  <Name>pgdr-bucket</Name>\n"
"  <Prefix>repo/archive/</Prefix>\n"
"  <KeyCount>4</KeyCount>\n"
"  <MaxKeys>4</MaxKeys>\n"
"  <Delimiter>/</Delimiter>\n"
"  <IsTruncated>true</IsTruncated>\n"
"  <Contents>\n"
"    <Key>repo/archive/000000010000000000000001</Key>\n"
"    <LastModified>2009-10-12T17:50:30.000Z</LastModified>\n"
"    <ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag>\n"
"    <Size>16777216</Size>\n"
"    <Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID>"
"<DisplayName>mtd@amazon.com</DisplayName></Owner>\n"
"    <StorageClass>STANDARD</StorageClass>\n"
"  </Contents>\n"
"  <Contents>\n"
"    <Key>repo/archive/a &amp; b \xc3\xa9.txt</Key>\n"
"    <LastModified>2026-02-28T23:59:59Z</LastModified>\n"
"    <Size>0</Size>\n"
"  </Contents>\n"
"  <CommonPrefixes><Prefix>repo/archive/0000000100000000/</Prefix></CommonPrefixes>\n"
"  <CommonPrefixes><Prefix>repo/archive/0000000200000000/</Prefix></CommonPrefixes>\n"
"  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>\n"
"  <StartAfter>repo/archive/</StartAfter>\n"
"</ListBucketResult>\n";

static const char *listWant =
"repo/archive/000000010000000000000001|16777216|1255369830|\"fba9dede5f27731c9771645a39863328\";"
"repo/archive/a & b \xc3\xa9.txt|0|1772323199|-;"
"P:repo/archive/0000000100000000/;P:repo/archive/0000000200000000/;";

static void
testList(void)
{
	S3Response	res;
	StringInfoData entries;
	DrError		err;
	size_t		len = strlen(listPage);
	bool		cutRefused = true;

	initStringInfo(&entries);
	ok(parse(S3_RESPONSE_LIST, listPage, 0, false, &res, &entries, &err),
	   "a ListObjectsV2 page parsed");
	is_str(entries.data, listWant, "objects (key, size, time, etag) and common prefixes, in order");
	ok(!res.isError && res.isTruncated, "truncated");
	is_str(res.nextContinuationToken, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=",
		   "the continuation token");
	is_int(res.keyCount, 4, "KeyCount");
	is_int(res.entries, 4, "four entries handed out");
	s3ResponseClear(&res);

	ok(parse(S3_RESPONSE_LIST, listPage, 1, false, &res, &entries, &err) &&
	   strcmp(entries.data, listWant) == 0,
	   "the same fed byte by byte");
	s3ResponseClear(&res);

	/* cut anywhere, the page never reads as complete */
	for (size_t cut = 0; cut < len - 1; cut++)
	{
		char	   *part = pnstrdup(listPage, cut);

		if (parse(S3_RESPONSE_LIST, part, 7, false, &res, &entries, &err))
		{
			diag("cut at %zu bytes: accepted", cut);
			cutRefused = false;
		}
		s3ResponseClear(&res);
		pfree(part);
	}
	ok(cutRefused, "the page cut at every length is refused");

	ok(parse(S3_RESPONSE_LIST,
			 "<ListBucketResult><IsTruncated>false</IsTruncated><EncodingType>url</EncodingType>"
			 "<Contents><Key>dir/a+b%2Bc%C3%A9%2f</Key><Size>1</Size>"
			 "<LastModified>2026-02-28T23:59:59.5Z</LastModified></Contents>"
			 "<CommonPrefixes><Prefix>x%20y/</Prefix></CommonPrefixes></ListBucketResult>",
			 0, true, &res, &entries, &err),
	   "a page of url-encoded keys parsed");
	is_str(entries.data, "dir/a b+c\xc3\xa9/|1|1772323199|-;P:x y/;",
		   "url-encoded keys decoded ('+' a space, %%XX either case)");
	ok(!res.isTruncated && res.nextContinuationToken == NULL && res.keyCount == -1,
	   "last page, no token, no KeyCount");
	s3ResponseClear(&res);

	ok(!parse(S3_RESPONSE_LIST,
			  "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>stop</Key>"
			  "<Size>1</Size><LastModified>2026-02-28T23:59:59Z</LastModified></Contents>"
			  "</ListBucketResult>", 0, false, &res, &entries, &err) &&
	   err.code == DR_ERR_IO && strcmp(err.message, "the caller stopped at \"stop\"") == 0,
	   "a callback's failure is returned as is");
	s3ResponseClear(&res);
	pfree(entries.data);

	refused(S3_RESPONSE_LIST, "<ListBucketResult></ListBucketResult>",
			"without <IsTruncated>", "a listing without IsTruncated");
	refused(S3_RESPONSE_LIST, "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
			"truncated listing without <NextContinuationToken>", "truncated without a token");
	refused(S3_RESPONSE_LIST, "<ListBucketResult><IsTruncated>yes</IsTruncated></ListBucketResult>",
			"<IsTruncated> is neither true nor false", "IsTruncated yes");
	refused(S3_RESPONSE_LIST,
			"<ListBucketResult><KeyCount>2</KeyCount><IsTruncated>false</IsTruncated>"
			"<CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes></ListBucketResult>",
			"<KeyCount> says 2 entries, the listing holds 1", "a KeyCount that disagrees");
	refused(S3_RESPONSE_LIST,
			"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Size>1</Size>"
			"<LastModified>2026-02-28T23:59:59Z</LastModified></Contents></ListBucketResult>",
			"<Contents> without a <Key>", "an object without a key");
	refused(S3_RESPONSE_LIST,
			"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k</Key>"
			"<LastModified>2026-02-28T23:59:59Z</LastModified></Contents></ListBucketResult>",
			"without <Size> or <LastModified>", "an object without a size");
	refused(S3_RESPONSE_LIST,
			"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k</Key>"
			"<Size>-1</Size></Contents></ListBucketResult>",
			"<Size> is not a size in bytes", "a negative size");
	refused(S3_RESPONSE_LIST,
			"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k</Key>"
			"<Size>99999999999999999999</Size></Contents></ListBucketResult>",
			"<Size> is not a size in bytes", "a size beyond int64");
	refused(S3_RESPONSE_LIST,
			"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k</Key>"
			"<Size>1</Size><LastModified>2026-02-30T00:00:00Z</LastModified></Contents></ListBucketResult>",
			"<LastModified> is not an ISO 8601 UTC time", "February 30");
	refused(S3_RESPONSE_LIST,
			"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k</Key><Key>l</Key>"
			"</Contents></ListBucketResult>",
			"element <Key> given twice", "two keys in one object");
	refused(S3_RESPONSE_LIST,
			"<ListBucketResult><IsTruncated>false</IsTruncated><IsTruncated>false</IsTruncated>"
			"</ListBucketResult>",
			"element <IsTruncated> given twice", "IsTruncated twice");
	refused(S3_RESPONSE_LIST, "<ListAllMyBucketsResult/>",
			"expected a <ListBucketResult> document, got <ListAllMyBucketsResult>",
			"a document of another kind");
	refused(S3_RESPONSE_LIST,
			"<html><head><title>502 Bad Gateway</title></head><body><hr><center>nginx</center></body></html>",
			"expected a <ListBucketResult> document, got <html>", "a proxy's HTML page");
	refused(S3_RESPONSE_LIST, "<!DOCTYPE html><html></html>",
			"XML line 1, column 3: a DOCTYPE is not accepted", "an HTML page with a DOCTYPE");
	refused(S3_RESPONSE_LIST, "", "without a root element", "an empty body");
}

/* A bad %-escape in a url-encoded key. */
static void
testListUrlBad(void)
{
	S3Response	res;
	StringInfoData entries;
	DrError		err;
	S3ResponseParam p = {S3_RESPONSE_LIST, true, listCollect, NULL, NULL};
	const char *body = "<ListBucketResult><IsTruncated>false</IsTruncated><Contents>"
		"<Key>a%2</Key><Size>1</Size><LastModified>2026-02-28T23:59:59Z"
		"</LastModified></Contents></ListBucketResult>";

	initStringInfo(&entries);
	p.arg = &entries;
	ok(!s3ResponseParse(&p, body, strlen(body), &res, &err) &&
	   strstr(err.message, "not %-encoded UTF-8") != NULL,
	   "refused: a bad %%-escape in a url-encoded key (%s)", err.message);
	s3ResponseClear(&res);
	pfree(entries.data);
}

static void
testErrors(void)
{
	S3Response	res;
	StringInfoData entries;
	DrError		err;

	initStringInfo(&entries);
	ok(parse(S3_RESPONSE_ERROR,
			 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			 "<Error><Code>NoSuchKey</Code><Message>The resource you requested does not exist</Message>"
			 "<Resource>/mybucket/myfoto.jpg</Resource><RequestId>4442587FB7D0A2F9</RequestId></Error>",
			 0, false, &res, &entries, &err), "NoSuchKey parsed");
	ok(res.isError, "an error document");
	is_str(res.error.code, "NoSuchKey", "Code");
	is_str(res.error.message, "The resource you requested does not exist", "Message");
	is_str(res.error.requestId, "4442587FB7D0A2F9", "RequestId");
	ok(res.error.region == NULL && res.error.hostId == NULL, "no region, no HostId");
	s3ResponseClear(&res);

	ok(parse(S3_RESPONSE_ERROR,
			 "<Error><Code>AuthorizationHeaderMalformed</Code><Message>The authorization header is "
			 "malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'</Message>"
			 "<Region>eu-west-1</Region><RequestId>J6SQE0XV1JXG8WBR</RequestId>"
			 "<HostId>t0PZq6hDYYsRWwYcTzDGdYLVjnfEgOhwFgtbjYWkSvaZ+hnOXLBQfC0iQ/3n/aBwP7bGj95vyzk=</HostId></Error>",
			 3, false, &res, &entries, &err), "AuthorizationHeaderMalformed parsed");
	is_str(res.error.region, "eu-west-1", "AuthorizationHeaderMalformed: the region S3 expects");
	is_str(res.error.hostId, "t0PZq6hDYYsRWwYcTzDGdYLVjnfEgOhwFgtbjYWkSvaZ+hnOXLBQfC0iQ/3n/aBwP7bGj95vyzk=",
		   "HostId");
	s3ResponseClear(&res);

	ok(parse(S3_RESPONSE_LIST,
			 "<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access "
			 "must be addressed using the specified endpoint. Please send all future requests to "
			 "this endpoint.</Message><Endpoint>pgdr-bucket.s3.eu-central-1.amazonaws.com</Endpoint>"
			 "<Bucket>pgdr-bucket</Bucket><RequestId>1</RequestId></Error>",
			 0, false, &res, &entries, &err), "PermanentRedirect parsed where a listing was expected");
	ok(res.isError, "an error document in place of a listing");
	is_str(res.error.endpoint, "pgdr-bucket.s3.eu-central-1.amazonaws.com", "Endpoint");
	is_str(res.error.region, "eu-central-1", "PermanentRedirect: region taken from the endpoint");
	is_str(res.error.bucket, "pgdr-bucket", "Bucket");
	is_str(entries.data, "", "no entries handed out");
	s3ResponseClear(&res);

	ok(parse(S3_RESPONSE_ERROR,
			 "<Error><Code>PermanentRedirect</Code><Endpoint>s3-us-west-2.amazonaws.com</Endpoint></Error>",
			 0, false, &res, &entries, &err) && strcmp(res.error.region, "us-west-2") == 0,
	   "the region of a legacy s3-<region> endpoint");
	s3ResponseClear(&res);
	ok(parse(S3_RESPONSE_ERROR,
			 "<Error><Code>TemporaryRedirect</Code><Endpoint>pgdr-bucket.s3.amazonaws.com</Endpoint></Error>",
			 0, false, &res, &entries, &err) && res.error.region == NULL,
	   "no region from the global endpoint");
	s3ResponseClear(&res);

	ok(parse(S3_RESPONSE_ERROR,
			 "<Error><Code>RequestTimeTooSkewed</Code><Message>The difference between the request "
			 "time and the current time is too large.</Message>"
			 "<RequestTime>20261203T081500Z</RequestTime><ServerTime>2026-12-03T09:01:02Z</ServerTime>"
			 "<MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds></Error>",
			 0, false, &res, &entries, &err), "RequestTimeTooSkewed parsed");
	ok(strcmp(res.error.requestTime, "20261203T081500Z") == 0 &&
	   strcmp(res.error.serverTime, "2026-12-03T09:01:02Z") == 0,
	   "RequestTimeTooSkewed: both times");
	s3ResponseClear(&res);

	ok(parse(S3_RESPONSE_MULTIPART_COMPLETE,
			 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\n"
			 "<Error><Code>InternalError</Code><Message>We encountered an internal error. "
			 "Please try again.</Message><RequestId>656c76696e6727732072657175657374</RequestId>"
			 "<HostId>Uuag1LuByRx9e6j5Onimru9pO4ZVKnJ2Qz7/C1NPcfTWAtRPfTaOFg==</HostId></Error>",
			 0, false, &res, &entries, &err),
	   "CompleteMultipartUpload's 200 with an Error body parsed");
	ok(res.isError && strcmp(res.error.code, "InternalError") == 0 && res.etag == NULL,
	   "CompleteMultipartUpload: the error is seen, no ETag");
	s3ResponseClear(&res);
	pfree(entries.data);

	refused(S3_RESPONSE_ERROR, "<Error><Message>x</Message></Error>", "<Error> without a <Code>",
			"an Error without a Code");
	refused(S3_RESPONSE_ERROR, "<Error><Code>A</Code><Code>B</Code></Error>",
			"element <Code> given twice", "Code twice");
	refused(S3_RESPONSE_ERROR, "<ListBucketResult/>",
			"expected a <Error> document, got <ListBucketResult>", "a listing where an error was expected");
	refused(S3_RESPONSE_ERROR, "<Error><Code>NoSuchKey</Code>",
			"S3 response: XML line 1, column 29: document ends inside element \"Error\"",
			"an error body cut short");
}

static void
testMultipartDelete(void)
{
	S3Response	res;
	StringInfoData entries;
	DrError		err;

	initStringInfo(&entries);
	ok(parse(S3_RESPONSE_MULTIPART_INIT,
			 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			 "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
			 "<Bucket>pgdr-bucket</Bucket><Key>repo/backup/x</Key>"
			 "<UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>"
			 "</InitiateMultipartUploadResult>", 5, false, &res, &entries, &err),
	   "InitiateMultipartUploadResult parsed");
	is_str(res.uploadId, "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA", "UploadId");
	s3ResponseClear(&res);

	ok(parse(S3_RESPONSE_MULTIPART_COMPLETE,
			 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			 "<CompleteMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
			 "<Location>http://pgdr-bucket.s3.amazonaws.com/repo/backup/x</Location>"
			 "<Bucket>pgdr-bucket</Bucket><Key>repo/backup/x</Key>"
			 "<ETag>\"3858f62230ac3c915f300c664312c11f-9\"</ETag></CompleteMultipartUploadResult>",
			 0, false, &res, &entries, &err), "CompleteMultipartUploadResult parsed");
	ok(!res.isError && strcmp(res.etag, "\"3858f62230ac3c915f300c664312c11f-9\"") == 0,
	   "ETag of the completed upload");
	s3ResponseClear(&res);

	ok(parse(S3_RESPONSE_DELETE,
			 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			 "<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
			 "<Deleted><Key>repo/a</Key></Deleted>"
			 "<Error><Key>repo/b</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
			 "<Deleted><Key>repo/c</Key><DeleteMarker>true</DeleteMarker>"
			 "<DeleteMarkerVersionId>A._w1z6EFiCF5uhtQMDal9JDkID9tQ7F</DeleteMarkerVersionId></Deleted>"
			 "</DeleteResult>", 2, false, &res, &entries, &err), "DeleteResult parsed");
	is_str(entries.data, "repo/a:ok:-;repo/b:AccessDenied:Access Denied;repo/c:ok:-;",
		   "Deleted and Error entries in order");
	ok(res.deleted == 2 && res.failed == 1, "two deleted, one failed");
	s3ResponseClear(&res);
	ok(parse(S3_RESPONSE_DELETE, "<DeleteResult/>", 0, false, &res, &entries, &err) &&
	   res.deleted == 0 && res.failed == 0, "an empty DeleteResult (quiet mode, all deleted)");
	s3ResponseClear(&res);
	pfree(entries.data);

	refused(S3_RESPONSE_MULTIPART_INIT, "<InitiateMultipartUploadResult><UploadId></UploadId>"
			"</InitiateMultipartUploadResult>", "without an <UploadId>", "an empty UploadId");
	refused(S3_RESPONSE_MULTIPART_COMPLETE, "<CompleteMultipartUploadResult><Key>k</Key>"
			"</CompleteMultipartUploadResult>", "without an <ETag>", "a completion without ETag");
	refused(S3_RESPONSE_DELETE, "<DeleteResult><Deleted></Deleted></DeleteResult>",
			"<Deleted> without a <Key>", "a Deleted entry without a key");
	refused(S3_RESPONSE_DELETE, "<DeleteResult><Error><Key>k</Key></Error></DeleteResult>",
			"<Error> of key without a <Code>", "a failed key without a code");
}

static void
testTime(void)
{
	time_t		t = 0;

	ok(s3ResponseTimeParse("2009-10-12T17:50:30.000Z", &t) && t == 1255369830,
	   "time with milliseconds");
	ok(s3ResponseTimeParse("1970-01-01T00:00:00Z", &t) && t == 0, "the epoch");
	ok(s3ResponseTimeParse("2024-02-29T12:00:00Z", &t) && t == 1709208000, "a leap day");
	ok(!s3ResponseTimeParse("2009-10-12T17:50:30", &t), "refused: no Z");
	ok(!s3ResponseTimeParse("2009-10-12T17:50:30+00:00", &t), "refused: an offset");
	ok(!s3ResponseTimeParse("2009-10-12 17:50:30Z", &t), "refused: a space for T");
	ok(!s3ResponseTimeParse("2009-10-12T17:50:30.Z", &t), "refused: a fraction without digits");
	ok(!s3ResponseTimeParse("2009-13-12T17:50:30Z", &t), "refused: month 13");
}

int
main(void)
{
	testList();
	testListUrlBad();
	testErrors();
	testMultipartDelete();
	testTime();
	trackFree();
	return tapDone();
}
