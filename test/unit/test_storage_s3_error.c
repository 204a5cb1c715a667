/*-------------------------------------------------------------------------
 * test_storage_s3_error.c
 *	  Unit tests of how the S3 driver explains a store's refusal
 *	  (storageS3Error in src/storage/s3/storage.c), on answers s3rver
 *	  cannot produce: a bucket in another region above all.  The bodies
 *	  are AWS's documented error documents.  A skewed clock
 *	  (RequestTimeTooSkewed) never reaches the driver: the HTTP layer
 *	  fails it as such (test_http.c: never retried; its document read:
 *	  test_storage_s3_response.c).
 *
 * Covers: a wrong region named from AuthorizationHeaderMalformed's
 * <Region>, from its message alone ("the region 'us-east-1' is wrong;
 * expecting 'eu-west-1'"), from PermanentRedirect's <Endpoint>, from the
 * x-amz-bucket-region header of a HEAD's 301 or bodiless 400, and said
 * without a name when the store gives none
 * (IllegalLocationConstraintException) -- each a DR_ERR_CONFIG whose hint
 * says "Set repoN_s3_region = <region>"; a message naming a region
 * with characters no region has is not trusted; bad credentials,
 * a missing bucket (hint naming repoN_gcs_bucket for a gcs repository),
 * temporary credentials of a web identity refused (the role named),
 * access denied (the permissions of S3, or GCS's role), and any other status with the store's code and request
 * id.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "storage/s3/storage_s3.h"
#include "tap.h"
#include "test_support.h"

static StorageS3 s3Repo = {
	.bucket = "pgdr-backups",
	.region = "us-east-1",
	.name = "s3://pgdr-backups/main",
	.type = "s3",
};

/* storageS3Error of an answer; the DrError in *err. */
static void
answer(StorageS3 *s3, long status, const char *headers, const char *body,
	   DrError *err)
{
	StorageS3Request req = {.method = "GET", .what = "read \"pg_dr.repo\""};
	HttpResponse resp;

	memset(&resp, 0, sizeof(resp));
	resp.status = status;
	resp.headers = (char *) headers;
	resp.body = (char *) body;
	resp.bodyLen = body != NULL ? strlen(body) : 0;
	if (body != NULL)
	{
		const char *c = strstr(body, "<Code>");

		if (c != NULL)
			strlcpy(resp.errorCode, c + 6,
					Min(sizeof(resp.errorCode), strcspn(c + 6, "<") + 1));
	}
	if (headers != NULL && strstr(headers, "x-amz-request-id: ") != NULL)
	{
		const char *r = strstr(headers, "x-amz-request-id: ") + 18;

		strlcpy(resp.requestId, r, Min(sizeof(resp.requestId), strcspn(r, "\r") + 1));
	}
	drErrorClear(err);
	ok(!storageS3Error(s3, &req, &resp, err), "storageS3Error returns false");
}

static void
expect(const DrError *err, DrErrorCode code, const char *message,
	   const char *hint, const char *what)
{
	is_int(err->code, code, "%s: error code", what);
	ok(strstr(err->message, message) != NULL, "%s: message", what);
	if (strstr(err->message, message) == NULL)
		diag("message: %s", err->message);
	ok(strstr(err->hint, hint) != NULL, "%s: hint", what);
	if (strstr(err->hint, hint) == NULL)
		diag("hint: %s", err->hint);
}

static void
testRegion(void)
{
	DrError		err;

	/* AWS: a request signed for us-east-1 to a bucket of eu-west-1 */
	answer(&s3Repo, 400, "x-amz-request-id: 8D2E4A6A1EXAMPLE\r\n",
		   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<Error><Code>AuthorizationHeaderMalformed</Code>"
		   "<Message>The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'</Message>"
		   "<Region>eu-west-1</Region><RequestId>8D2E4A6A1EXAMPLE</RequestId>"
		   "<HostId>Hb0QmnpRSqIfZ0JnfLGqUnISsh4lsLA1Xhzk4q2XQqkZ9kYvpoMxN9b1TrQcHY6vAYdSnL4t4YE=</HostId></Error>",
		   &err);
	expect(&err, DR_ERR_CONFIG,
		   "repository s3://pgdr-backups/main: could not read \"pg_dr.repo\": bucket \"pgdr-backups\" is not in region \"us-east-1\" but in \"eu-west-1\"",
		   "Set repoN_s3_region = eu-west-1", "AuthorizationHeaderMalformed with <Region>");

	answer(&s3Repo, 400, NULL,
		   "<Error><Code>AuthorizationHeaderMalformed</Code>"
		   "<Message>The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'ap-southeast-2'</Message>"
		   "<RequestId>R</RequestId></Error>",
		   &err);
	expect(&err, DR_ERR_CONFIG, "is not in region \"us-east-1\" but in \"ap-southeast-2\"",
		   "Set repoN_s3_region = ap-southeast-2",
		   "AuthorizationHeaderMalformed, the region in its message only");

	answer(&s3Repo, 400, NULL,
		   "<Error><Code>AuthorizationHeaderMalformed</Code>"
		   "<Message>the region 'us-east-1' is wrong; expecting 'eu west<1>'</Message></Error>",
		   &err);
	expect(&err, DR_ERR_CONFIG, "is not in region \"us-east-1\"",
		   "Set repoN_s3_region to the bucket's region",
		   "a message naming something that is no region: not trusted");
	ok(strstr(err.message, "but in") == NULL, "no region named then");

	answer(&s3Repo, 301, NULL,
		   "<Error><Code>PermanentRedirect</Code>"
		   "<Message>The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.</Message>"
		   "<Endpoint>pgdr-backups.s3.eu-central-1.amazonaws.com</Endpoint>"
		   "<Bucket>pgdr-backups</Bucket><RequestId>R</RequestId></Error>",
		   &err);
	expect(&err, DR_ERR_CONFIG, "but in \"eu-central-1\"",
		   "Set repoN_s3_region = eu-central-1", "PermanentRedirect's endpoint");

	answer(&s3Repo, 301, "x-amz-bucket-region: sa-east-1\r\nx-amz-request-id: R\r\n", NULL,
		   &err);
	expect(&err, DR_ERR_CONFIG, "but in \"sa-east-1\"", "Set repoN_s3_region = sa-east-1",
		   "a HEAD's 301: the region from x-amz-bucket-region");

	answer(&s3Repo, 400, "x-amz-bucket-region: us-west-2\r\n", NULL, &err);
	expect(&err, DR_ERR_CONFIG, "but in \"us-west-2\"", "Set repoN_s3_region = us-west-2",
		   "a HEAD's bodiless 400 with x-amz-bucket-region");

	answer(&s3Repo, 400, NULL,
		   "<Error><Code>IllegalLocationConstraintException</Code>"
		   "<Message>The eu-west-1 location constraint is incompatible for the region specific endpoint this request was sent to.</Message></Error>",
		   &err);
	expect(&err, DR_ERR_CONFIG, "is not in region \"us-east-1\"",
		   "Set repoN_s3_region to the bucket's region",
		   "IllegalLocationConstraintException: no region named");
}

static void
testOthers(void)
{
	StorageS3	gcs = {.bucket = "pgdr", .region = "auto", .name = "gs://pgdr",
	.type = "gcs"};
	S3StsParam	sts = {.roleArn = "arn:aws:iam::1:role/r"};
	StorageS3	wi = {.bucket = "b", .region = "us-east-1", .name = "s3://b",
	.type = "s3", .sts = &sts};
	DrError		err;

	answer(&s3Repo, 403, "x-amz-request-id: 4442587FB7D0A2F9\r\n",
		   "<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message></Error>",
		   &err);
	expect(&err, DR_ERR_PERMISSION,
		   "the store refused the credentials (HTTP 403 SignatureDoesNotMatch) (request id 4442587FB7D0A2F9)",
		   "Check repoN_s3_key and repoN_s3_key_secret", "bad credentials");

	answer(&gcs, 403, NULL,
		   "<Error><Code>InvalidAccessKeyId</Code><Message>The access key is not valid</Message></Error>",
		   &err);
	expect(&err, DR_ERR_PERMISSION, "repository gs://pgdr: could not read",
		   "Check repoN_gcs_key and repoN_gcs_key_secret", "bad HMAC key on gcs");

	answer(&gcs, 404, NULL,
		   "<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist.</Message></Error>",
		   &err);
	expect(&err, DR_ERR_CONFIG, "bucket \"pgdr\" does not exist",
		   "Create the bucket, or fix repoN_gcs_bucket", "a missing bucket on gcs");

	answer(&s3Repo, 403, NULL,
		   "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
		   &err);
	expect(&err, DR_ERR_PERMISSION, "access denied (HTTP 403 AccessDenied)",
		   "s3:GetObject, s3:PutObject, s3:DeleteObject and s3:ListBucket",
		   "access denied");

	answer(&gcs, 403, NULL,
		   "<Error><Code>AccessDenied</Code><Message>m</Message></Error>", &err);
	expect(&err, DR_ERR_PERMISSION, "access denied (HTTP 403 AccessDenied)",
		   "roles/storage.objectAdmin", "access denied on gcs");

	answer(&wi, 400, NULL,
		   "<Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>",
		   &err);
	expect(&err, DR_ERR_PERMISSION, "the store refused the credentials (HTTP 400 ExpiredToken)",
		   "temporary credentials STS gave for role \"arn:aws:iam::1:role/r\"",
		   "web identity credentials refused");

	answer(&s3Repo, 409, "x-amz-request-id: Q\r\n",
		   "<Error><Code>OperationAborted</Code><Message>m</Message></Error>", &err);
	is_int(err.code, DR_ERR_IO, "another status: DR_ERR_IO");
	ok(strstr(err.message, "HTTP 409 OperationAborted (request id Q)") != NULL,
	   "with the status, the code and the request id");
}

int
main(void)
{
	testRegion();
	testOthers();
	trackFree();
	return tapDone();
}
