/*-------------------------------------------------------------------------
 * test_storage_s3_sign.c
 *	  Unit tests of src/storage/s3/s3_sign.c (AWS Signature Version 4).
 *
 * Covers: AWS's SigV4 test suite as shipped in the npm package
 * @smithy/signature-v4@5.3.0 (its 24 cases, AKIDEXAMPLE; read at test time
 * through test/unit/s3_sign_suite.js from the package scripts/deps.sh
 * installs into $PG_DR_TEST_NPM, default /var/cache/pg_dr-test/npm; a
 * missing package fails the test, saying how to install it); AWS's
 * published signing-key derivation example and its four S3 examples (GET
 * with Range, PUT with a storage class, ?lifecycle, ?max-keys&prefix); S3
 * cases written here, their canonical requests written out by hand and
 * their signatures derived with openssl alone (test/unit/s3_sign_vectors.sh):
 * x-amz-content-sha256 added, a session token added as
 * x-amz-security-token, a path with spaces and non-ASCII characters
 * encoded once, empty query values keeping '=', '/', '+', '=' and '*'
 * encoded in values, unreserved characters kept, query pairs sorted by
 * bytes then by value, header values trimmed and collapsed, a header
 * given twice joined, UNSIGNED-PAYLOAD; the headers handed back to send;
 * URI encoding of every byte; the date format; the signing key cached per
 * day and derived again for another; refusals (date, payload hash, method,
 * path, header name and value, a conflicting x-amz-date); the secret
 * appears in no result.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "storage/s3/s3_sign.h"
#include "tap.h"
#include "test_support.h"

#define SUITE_CASES		24
#define SUITE_PACKAGE	"@smithy/signature-v4@5.3.0"
#define SUITE_FIXTURE	"node_modules/@smithy/signature-v4/dist-es/suite.fixture.js"

/* ---- AWS's suite, from the npm package ---- */

typedef struct SuiteCase
{
	char	   *name;
	char	   *method;
	char	   *path;
	S3SignPair	query[16];
	int			queryCount;
	S3SignPair	headers[16];
	int			headerCount;
	char	   *body;
	char	   *authorization;
} SuiteCase;

/* A hex field of the converter's output ("-": empty), decoded, tracked. */
static char *
suiteField(const char *hex)
{
	size_t		len;
	char	   *s;

	if (strcmp(hex, "-") == 0)
		return tsprintf("%s", "");
	len = strlen(hex) / 2;
	s = track(palloc(len + 1));
	if (!hexDecode(hex, HEX_LOWER, (uint8 *) s, len))
	{
		printf("Bail out! s3_sign_suite.js printed a malformed field \"%s\"\n", hex);
		exit(1);
	}
	s[len] = '\0';
	return s;
}

static void
suiteRun(S3Signer *signer, const char *date, const SuiteCase *c)
{
	S3SignRequest req = {0};
	S3Signed	out;
	DrError		err;
	char		hash[S3_SIGN_HASH_HEX + 1];

	s3SignPayloadHash(c->body, strlen(c->body), hash, &err);
	req.method = c->method;
	req.path = c->path;
	req.query = c->query;
	req.queryCount = c->queryCount;
	req.headers = c->headers;
	req.headerCount = c->headerCount;
	req.payloadHash = hash;
	req.date = date;
	/* the suite signs a generic service: no x-amz-content-sha256 */
	req.contentSha256Header = false;
	if (!s3Sign(signer, &req, &out, &err))
	{
		ok(false, "suite %s: signed (%s)", c->name, err.message);
		return;
	}
	is_str(out.authorization, c->authorization, "suite %s: Authorization", c->name);
	s3SignedFree(&out);
}

static void
testSuite(void)
{
	const char *dir = getenv("PG_DR_TEST_NPM");
	char	   *fixture;
	char	   *cmd;
	FILE	   *f;
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		n;
	S3SignCredentials cred = {0};
	char	   *region = NULL;
	char	   *service = NULL;
	char		date[S3_SIGN_DATE_LEN + 1] = "";
	S3Signer   *signer = NULL;
	SuiteCase	c;
	int			cases = 0;
	int			count = -1;

	if (dir == NULL || dir[0] == '\0')
		dir = "/var/cache/pg_dr-test/npm";
	fixture = tsprintf("%s/%s", dir, SUITE_FIXTURE);
	if (access(fixture, R_OK) != 0)
	{
		ok(false, "AWS SigV4 suite of %s is installed", SUITE_PACKAGE);
		diag("%s: %s", fixture, strerror(errno));
		diag("install it with \"bash scripts/deps.sh\" as root (or set PG_DR_TEST_NPM to the directory holding node_modules)");
		return;
	}
	cmd = tsprintf("node test/unit/s3_sign_suite.js '%s'", fixture);
	f = popen(cmd, "r");
	if (f == NULL)
	{
		ok(false, "ran %s: %s", cmd, strerror(errno));
		return;
	}

	memset(&c, 0, sizeof(c));
	while ((n = getline(&line, &cap, f)) > 0)
	{
		char	   *word;
		char	   *a;
		char	   *b;

		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		word = strtok(line, " ");
		a = strtok(NULL, " ");
		b = strtok(NULL, " ");
		if (word == NULL)
			continue;
		if (strcmp(word, "region") == 0 && a)
			region = suiteField(a);
		else if (strcmp(word, "service") == 0 && a)
			service = suiteField(a);
		else if (strcmp(word, "credentials") == 0 && a && b)
		{
			cred.accessKey = suiteField(a);
			cred.secret = suiteField(b);
		}
		else if (strcmp(word, "date") == 0 && a)
			strlcpy(date, a, sizeof(date));
		else if (strcmp(word, "case") == 0 && a)
		{
			memset(&c, 0, sizeof(c));
			c.name = suiteField(a);
		}
		else if (strcmp(word, "method") == 0 && a)
			c.method = suiteField(a);
		else if (strcmp(word, "path") == 0 && a)
			c.path = suiteField(a);
		else if (strcmp(word, "query") == 0 && a && b &&
				 c.queryCount < (int) lengthof(c.query))
		{
			c.query[c.queryCount].name = suiteField(a);
			c.query[c.queryCount++].value = suiteField(b);
		}
		else if (strcmp(word, "header") == 0 && a && b &&
				 c.headerCount < (int) lengthof(c.headers))
		{
			c.headers[c.headerCount].name = suiteField(a);
			c.headers[c.headerCount++].value = suiteField(b);
		}
		else if (strcmp(word, "body") == 0 && a)
			c.body = suiteField(a);
		else if (strcmp(word, "authorization") == 0 && a)
			c.authorization = suiteField(a);
		else if (strcmp(word, "end") == 0)
		{
			if (signer == NULL && region && service && cred.secret)
				signer = s3SignerNew(&cred, region, service);
			if (signer == NULL || !c.name || !c.method || !c.path || !c.body ||
				!c.authorization)
			{
				ok(false, "suite case %d is complete", cases + 1);
				break;
			}
			suiteRun(signer, date, &c);
			cases++;
		}
		else if (strcmp(word, "count") == 0 && a)
			count = atoi(a);
		else
			diag("s3_sign_suite.js: line not understood: %s", word);
	}
	free(line);
	if (!ok(pclose(f) == 0, "s3_sign_suite.js read %s", fixture))
		diag("\"%s\" failed: is node installed (bash scripts/deps.sh as root)?", cmd);
	is_int(count, SUITE_CASES, "the suite has %d cases", SUITE_CASES);
	is_int(cases, SUITE_CASES, "every case of the suite was signed");
	s3SignerFree(signer);
}

/* ---- AWS's published examples ---- */

static const S3SignCredentials awsExample = {
	"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", NULL
};

/* Sign req into out; false (a failed check printed) when s3Sign fails. */
static bool
signOk(S3Signer *signer, S3SignRequest *req, S3Signed *out, const char *what)
{
	DrError		err;

	if (s3Sign(signer, req, out, &err))
		return true;
	ok(false, "%s: signed (%s)", what, err.message);
	return false;
}

static void
testAwsExamples(void)
{
	S3SignCredentials iamCred = {
		"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL
	};
	S3Signer   *iam = s3SignerNew(&iamCred, "us-east-1", "iam");
	S3Signer   *s3 = s3SignerNew(&awsExample, "us-east-1", "s3");
	uint8		key[32];
	char		hex[65];
	DrError		err;
	S3SignPair	getHeaders[] = {
		{"Host", "examplebucket.s3.amazonaws.com"},
		{"Range", "bytes=0-9"},
	};
	S3SignPair	putHeaders[] = {
		{"Host", "examplebucket.s3.amazonaws.com"},
		{"Date", "Fri, 24 May 2013 00:00:00 GMT"},
		{"x-amz-storage-class", "REDUCED_REDUNDANCY"},
	};
	S3SignPair	lifecycle[] = {{"lifecycle", ""}};
	S3SignPair	listQuery[] = {{"max-keys", "2"}, {"prefix", "J"}};
	S3SignRequest req = {0};
	S3Signed	out;
	char		putHash[65];
	const char *putBody = "Welcome to Amazon S3.";

	/* "Examples of how to derive a signing key for Signature Version 4" */
	ok(s3SignKey(iam, "20120215", key, &err), "signing key derived");
	hexEncode(key, 32, HEX_LOWER, hex);
	is_str(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d",
		   "AWS's signing key example (20120215, us-east-1, iam)");

	/* the S3 API reference's examples, "Transferring Payload in a Single Chunk" */
	req.method = "GET";
	req.path = "/test.txt";
	req.headers = getHeaders;
	req.headerCount = lengthof(getHeaders);
	req.payloadHash = S3_SIGN_EMPTY_SHA256;
	req.date = "20130524T000000Z";
	req.contentSha256Header = true;
	if (signOk(s3, &req, &out, "GET Object"))
	{
		is_str(out.signedHeaders, "host;range;x-amz-content-sha256;x-amz-date",
			   "GET Object: signed headers");
		is_str(out.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
			   "GET Object: AWS's example signature");
		s3SignedFree(&out);
	}

	ok(s3SignPayloadHash(putBody, strlen(putBody), putHash, &err), "payload hashed");
	is_str(putHash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
		   "PUT Object: AWS's example payload hash");
	req.method = "PUT";
	req.path = "/test$file.text";
	req.headers = putHeaders;
	req.headerCount = lengthof(putHeaders);
	req.payloadHash = putHash;
	if (signOk(s3, &req, &out, "PUT Object"))
	{
		is_str(out.path, "/test%24file.text", "PUT Object: '$' encoded in the path");
		is_str(out.signature, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
			   "PUT Object: AWS's example signature");
		s3SignedFree(&out);
	}

	req.method = "GET";
	req.path = "/";
	req.headers = getHeaders;
	req.headerCount = 1;
	req.payloadHash = S3_SIGN_EMPTY_SHA256;
	req.query = lifecycle;
	req.queryCount = 1;
	if (signOk(s3, &req, &out, "GET Bucket Lifecycle"))
	{
		is_str(out.query, "lifecycle=", "?lifecycle: the empty value keeps its '='");
		is_str(out.signature, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
			   "GET Bucket Lifecycle: AWS's example signature");
		s3SignedFree(&out);
	}

	req.query = listQuery;
	req.queryCount = 2;
	if (signOk(s3, &req, &out, "Get Bucket (List Objects)"))
	{
		is_str(out.signature, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
			   "Get Bucket (List Objects): AWS's example signature");
		s3SignedFree(&out);
	}
	s3SignerFree(iam);
	s3SignerFree(s3);
}

/* ---- S3 cases derived by hand (test/unit/s3_sign_vectors.sh) ---- */

#define OWN_SECRET	"pgdr/secret+key=EXAMPLE"
#define OWN_TOKEN	"FwoGZXIvYXdzEJr//////////wEaDExample+token/=="
#define OWN_DATE	"20261203T081500Z"
#define BODY_HASH	"6b640419b414cd68032eaf04895f54d4036c1ae96e5a2a48edc9b0d7ba238864"

/* Whether out hands back header name with value. */
static bool
addHeaderIs(const S3Signed *out, const char *name, const char *value)
{
	for (int i = 0; i < out->addHeaderCount; i++)
		if (strcmp(out->addHeaders[i].name, name) == 0)
			return strcmp(out->addHeaders[i].value, value) == 0;
	return false;
}

/* Whether the secret shows in any string of the result. */
static bool
secretShows(const S3Signed *out, const char *secret)
{
	if (strstr(out->canonicalRequest, secret) || strstr(out->stringToSign, secret) ||
		strstr(out->authorization, secret) || strstr(out->path, secret) ||
		strstr(out->query, secret))
		return true;
	for (int i = 0; i < out->addHeaderCount; i++)
		if (strstr(out->addHeaders[i].value, secret))
			return true;
	return false;
}

static void
testOwnCases(void)
{
	S3SignCredentials withToken = {"AKIAPGDRTEST", OWN_SECRET, OWN_TOKEN};
	S3SignCredentials noToken = {"AKIAPGDRTEST", OWN_SECRET, NULL};
	S3Signer   *eu = s3SignerNew(&withToken, "eu-west-1", "s3");
	S3Signer   *euPlain = s3SignerNew(&noToken, "eu-west-1", "s3");
	S3Signer   *us = s3SignerNew(&noToken, "us-east-1", "s3");
	S3SignPair	putHeaders[] = {
		{"Host", "127.0.0.1:9000"},
		{"X-Amz-Storage-Class", "STANDARD_IA"},
		{"Content-Type", "  application/octet-stream  "},
	};
	S3SignPair	listHeaders[] = {{"host", "s3.eu-west-1.amazonaws.com"}};
	S3SignPair	listQuery[] = {
		{"list-type", "2"},
		{"prefix", "archive/wal 1/-_.~*"},
		{"start-after", ""},
		{"delimiter", "/"},
		{"continuation-token", "1/abc+def="},
	};
	S3SignPair	delHeaders[] = {
		{"host", "pgdr-bucket.s3.amazonaws.com"},
		{"Content-MD5", "1B2M2Y8AsgTpgAMF7PQkjw=="},
		{"x-amz-meta-tag", "one"},
		{"X-Amz-Meta-Note", "a   b\tc "},
		{"X-Amz-Meta-Tag", "two"},
	};
	S3SignPair	delQuery[] = {{"z", "2"}, {"delete", ""}, {"z", "1"}, {"Z", ""}};
	S3SignRequest req = {0};
	S3Signed	out;
	char		hash[65];
	DrError		err;

	ok(s3SignPayloadHash("hello s3\n", 9, hash, &err), "body hashed");
	is_str(hash, BODY_HASH, "payload hash of the body (sha256sum)");

	req.method = "PUT";
	req.path = "/pgdr-bucket/repo 1/backup/\xc3\xbc\xe2\x82\xac x.txt";
	req.headers = putHeaders;
	req.headerCount = lengthof(putHeaders);
	req.payloadHash = hash;
	req.date = OWN_DATE;
	req.contentSha256Header = true;
	if (signOk(eu, &req, &out, "PUT unicode"))
	{
		is_str(out.path, "/pgdr-bucket/repo%201/backup/%C3%BC%E2%82%AC%20x.txt",
			   "PUT: space and non-ASCII bytes of the path encoded once, upper-case hex");
		is_str(out.canonicalRequest,
			   "PUT\n"
			   "/pgdr-bucket/repo%201/backup/%C3%BC%E2%82%AC%20x.txt\n"
			   "\n"
			   "content-type:application/octet-stream\n"
			   "host:127.0.0.1:9000\n"
			   "x-amz-content-sha256:" BODY_HASH "\n"
			   "x-amz-date:" OWN_DATE "\n"
			   "x-amz-security-token:" OWN_TOKEN "\n"
			   "x-amz-storage-class:STANDARD_IA\n"
			   "\n"
			   "content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-storage-class\n"
			   BODY_HASH,
			   "PUT: canonical request (payload hash and token headers added and signed)");
		is_str(out.signature, "288b5b480b8f4422d6e1416b40fa15f62f64124d2025c570f0da1760b5a2f7d4",
			   "PUT: signature derived with openssl");
		is_str(out.authorization,
			   "AWS4-HMAC-SHA256 Credential=AKIAPGDRTEST/20261203/eu-west-1/s3/aws4_request, "
			   "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-storage-class, "
			   "Signature=288b5b480b8f4422d6e1416b40fa15f62f64124d2025c570f0da1760b5a2f7d4",
			   "PUT: Authorization header");
		is_int(out.addHeaderCount, 4, "PUT: four headers to add");
		ok(addHeaderIs(&out, "x-amz-date", OWN_DATE) &&
		   addHeaderIs(&out, "x-amz-content-sha256", BODY_HASH) &&
		   addHeaderIs(&out, "x-amz-security-token", OWN_TOKEN) &&
		   addHeaderIs(&out, "authorization", out.authorization) &&
		   strcmp(out.addHeaders[3].name, "authorization") == 0,
		   "PUT: x-amz-date, x-amz-content-sha256, x-amz-security-token, then Authorization to send");
		ok(!secretShows(&out, OWN_SECRET), "PUT: the secret shows in no result");
		s3SignedFree(&out);
	}

	req.method = "GET";
	req.path = "/pgdr-bucket";
	req.headers = listHeaders;
	req.headerCount = 1;
	req.query = listQuery;
	req.queryCount = lengthof(listQuery);
	req.payloadHash = S3_SIGN_EMPTY_SHA256;
	if (signOk(euPlain, &req, &out, "ListObjectsV2"))
	{
		is_str(out.query,
			   "continuation-token=1%2Fabc%2Bdef%3D&delimiter=%2F&list-type=2&"
			   "prefix=archive%2Fwal%201%2F-_.~%2A&start-after=",
			   "list: query sorted and encoded ('/' '+' '=' '*' ' '), unreserved kept, empty value keeps '='");
		is_str(out.signature, "9d7f7def8dd9006db3ad6bd9471555ca5d64c295d826e81a4c58bd6b53f55ab4",
			   "list: signature derived with openssl");
		is_int(out.addHeaderCount, 3, "list: no token header without a session token");
		s3SignedFree(&out);
	}

	req.method = "POST";
	req.path = "/pgdr-bucket/";
	req.headers = delHeaders;
	req.headerCount = lengthof(delHeaders);
	req.query = delQuery;
	req.queryCount = lengthof(delQuery);
	req.payloadHash = S3_SIGN_UNSIGNED_PAYLOAD;
	if (signOk(us, &req, &out, "DeleteObjects"))
	{
		is_str(out.query, "Z=&delete=&z=1&z=2",
			   "delete: names sorted by bytes, a name twice sorted by value");
		is_str(out.canonicalRequest,
			   "POST\n/pgdr-bucket/\nZ=&delete=&z=1&z=2\n"
			   "content-md5:1B2M2Y8AsgTpgAMF7PQkjw==\n"
			   "host:pgdr-bucket.s3.amazonaws.com\n"
			   "x-amz-content-sha256:UNSIGNED-PAYLOAD\n"
			   "x-amz-date:" OWN_DATE "\n"
			   "x-amz-meta-note:a b c\n"
			   "x-amz-meta-tag:one,two\n"
			   "\n"
			   "content-md5;host;x-amz-content-sha256;x-amz-date;x-amz-meta-note;x-amz-meta-tag\n"
			   "UNSIGNED-PAYLOAD",
			   "delete: values trimmed and collapsed, a header given twice joined, UNSIGNED-PAYLOAD");
		is_str(out.signature, "ff5910d52e7fdd545c3b103537ce91e37e59fc6551c2c8cfd1e7caa0732afa18",
			   "delete: signature derived with openssl");
		s3SignedFree(&out);
	}

	s3SignerFree(eu);
	s3SignerFree(euPlain);
	s3SignerFree(us);
}

/* ---- the pieces ---- */

static void
testEncode(void)
{
	bool		allOk = true;
	char		s[2] = {0, 0};
	char		date[S3_SIGN_DATE_LEN + 1];

	for (int c = 1; c < 256; c++)
	{
		char	   *e;
		bool		unreserved = isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
		char		want[4];

		s[0] = (char) c;
		e = s3SignUriEncode(s, c == '/');
		if (unreserved || c == '/')
			snprintf(want, sizeof(want), "%c", c);
		else
			snprintf(want, sizeof(want), "%%%02X", c);
		if (strcmp(e, want) != 0)
		{
			diag("byte 0x%02x encoded as \"%s\", expected \"%s\"", c, e, want);
			allOk = false;
		}
		pfree(e);
	}
	ok(allOk, "every byte: unreserved kept, others %%XX in upper case");
	s[0] = '/';
	is_str(track(s3SignUriEncode(s, false)), "%2F", "'/' encoded in a query value");

	s3SignDateFormat((time_t) 1440938160, date);
	is_str(date, "20150830T123600Z", "date formatted as ISO 8601 basic UTC");
}

static void
testKeyCache(void)
{
	S3SignCredentials cred = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL};
	S3Signer   *signer = s3SignerNew(&cred, "us-east-1", "s3");
	S3SignPair	headers[] = {{"host", "h"}};
	S3SignRequest req = {"GET", "/k", NULL, 0, headers, 1, S3_SIGN_EMPTY_SHA256,
	"20150830T123600Z", true};
	S3Signed	a;
	S3Signed	b;
	S3Signed	c;
	uint8		k1[32];
	uint8		k2[32];
	DrError		err;

	if (!signOk(signer, &req, &a, "first") || !signOk(signer, &req, &b, "again"))
		return;
	is_str(a.signature, b.signature, "same request, same day: same signature (cached key)");
	req.date = "20150831T000000Z";
	if (!signOk(signer, &req, &c, "next day"))
		return;
	ok(strcmp(a.signature, c.signature) != 0, "another day: another signature");
	ok(s3SignKey(signer, "20150830", k1, &err) && s3SignKey(signer, "20150831T0", k2, &err) &&
	   memcmp(k1, k2, 32) != 0, "the key of each day derived again when the day changes");
	ok(!s3SignKey(signer, "2015083", k1, &err) && err.code == DR_ERR_INVALID,
	   "s3SignKey refuses a day that is not 8 digits");
	s3SignedFree(&a);
	s3SignedFree(&b);
	s3SignedFree(&c);
	s3SignerFree(signer);
}

/* s3Sign refuses req, with DR_ERR_INVALID and a message holding want. */
static void
refuses(S3Signer *signer, const S3SignRequest *req, const char *want, const char *what)
{
	S3Signed	out;
	DrError		err;
	bool		signedOk;

	drErrorClear(&err);
	signedOk = s3Sign(signer, req, &out, &err);
	ok(!signedOk && err.code == DR_ERR_INVALID && strstr(err.message, want) != NULL,
	   "refused: %s (%s)", what, err.message);
	if (signedOk)
		s3SignedFree(&out);
	ok(strstr(err.message, OWN_SECRET) == NULL, "the secret is not in the message");
}

static void
testRefusals(void)
{
	S3SignCredentials cred = {"AKIAPGDRTEST", OWN_SECRET, NULL};
	S3SignCredentials badKey = {"AKIA PGDR", OWN_SECRET, NULL};
	S3Signer   *signer = s3SignerNew(&cred, "us-east-1", "s3");
	S3Signer   *badRegion = s3SignerNew(&cred, "us/east", "s3");
	S3Signer   *badAccess = s3SignerNew(&badKey, "us-east-1", "s3");
	S3SignPair	headers[] = {{"host", "h"}};
	S3SignPair	crlf[] = {{"host", "h"}, {"x-amz-meta-a", "x\r\nInjected: 1"}};
	S3SignPair	badName[] = {{"host", "h"}, {"bad name", "x"}};
	S3SignPair	oldDate[] = {{"host", "h"}, {"X-Amz-Date", "20150830T000000Z"}};
	S3SignPair	sameDate[] = {{"host", "h"}, {"X-Amz-Date", OWN_DATE}};
	S3SignPair	noName[] = {{"", "v"}};
	S3SignRequest good = {"GET", "/k", NULL, 0, headers, 1, S3_SIGN_EMPTY_SHA256,
	OWN_DATE, true};
	S3SignRequest r;
	S3Signed	out;

	r = good;
	r.date = "2026-12-03T08:15:00Z";
	refuses(signer, &r, "ISO 8601", "an extended ISO 8601 date");
	r.date = "20261303T081500Z";
	refuses(signer, &r, "ISO 8601", "month 13");
	r = good;
	r.payloadHash = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
	refuses(signer, &r, "payload hash", "an upper-case payload hash");
	r.payloadHash = "abc";
	refuses(signer, &r, "payload hash", "a short payload hash");
	r = good;
	r.method = "get";
	refuses(signer, &r, "method", "a lower-case method");
	r = good;
	r.path = "k";
	refuses(signer, &r, "path", "a path without its '/'");
	r = good;
	r.headers = crlf;
	r.headerCount = 2;
	refuses(signer, &r, "control character", "CR LF in a header value");
	r.headers = badName;
	refuses(signer, &r, "not a valid HTTP header name", "a space in a header name");
	r.headers = oldDate;
	refuses(signer, &r, "x-amz-date", "an x-amz-date other than the date signed");
	r = good;
	r.query = noName;
	r.queryCount = 1;
	refuses(signer, &r, "query parameter 1", "a query parameter without a name");
	refuses(badRegion, &good, "region", "a region holding '/'");
	refuses(badAccess, &good, "access key", "an access key holding a space");

	r = good;
	r.headers = sameDate;
	r.headerCount = 2;
	if (signOk(signer, &r, &out, "x-amz-date passed"))
	{
		is_int(out.addHeaderCount, 2, "an x-amz-date passed with the date signed is not added again");
		s3SignedFree(&out);
	}
	r = good;
	r.path = "";
	if (signOk(signer, &r, &out, "empty path"))
	{
		is_str(out.path, "/", "an empty path is \"/\"");
		s3SignedFree(&out);
	}
	s3SignerFree(signer);
	s3SignerFree(badRegion);
	s3SignerFree(badAccess);
}

int
main(void)
{
	testSuite();
	testAwsExamples();
	testOwnCases();
	testEncode();
	testKeyCache();
	testRefusals();
	trackFree();
	return tapDone();
}
