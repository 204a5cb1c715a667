/*-------------------------------------------------------------------------
 * s3_sign.c
 *	  AWS Signature Version 4 for S3 requests (see s3_sign.h).
 *
 * The steps are AWS's: canonical request (method, encoded path, sorted
 * encoded query, sorted canonical headers, signed header names, payload
 * hash), string to sign (algorithm, date, scope, SHA-256 of the canonical
 * request), signing key (HMAC chain over "AWS4" + secret, day, region,
 * service, "aws4_request"), signature (HMAC of the string to sign).
 * Every byte compared or sorted is compared as unsigned (strcmp), which is
 * the order AWS sorts in.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/hex.h"
#include "lib/stringinfo.h"
#include "storage/s3/s3_sign.h"

#define S3_SIGN_ALGORITHM	"AWS4-HMAC-SHA256"
#define S3_SIGN_KEY_SIZE	32

struct S3Signer
{
	char	   *accessKey;
	char	   *secret;			/* wiped when freed */
	char	   *sessionToken;	/* NULL: none */
	char	   *region;
	char	   *service;
	/* the signing key of the day keyDay ("" until one is derived) */
	char		keyDay[9];
	uint8		key[S3_SIGN_KEY_SIZE];
};

/* A header being canonicalized: lower-cased name, trimmed value. */
typedef struct S3SignHeader
{
	char	   *name;
	char	   *value;
	int			order;			/* position given, so duplicates keep it */
} S3SignHeader;

S3Signer *
s3SignerNew(const S3SignCredentials *credentials, const char *region,
			const char *service)
{
	S3Signer   *signer = palloc0(sizeof(S3Signer));

	signer->accessKey = pstrdup(credentials->accessKey);
	signer->secret = pstrdup(credentials->secret);
	if (credentials->sessionToken && credentials->sessionToken[0] != '\0')
		signer->sessionToken = pstrdup(credentials->sessionToken);
	signer->region = pstrdup(region);
	signer->service = pstrdup(service);
	return signer;
}

void
s3SignerFree(S3Signer *signer)
{
	if (signer == NULL)
		return;
	OPENSSL_cleanse(signer->secret, strlen(signer->secret));
	OPENSSL_cleanse(signer->key, sizeof(signer->key));
	if (signer->sessionToken)
	{
		OPENSSL_cleanse(signer->sessionToken, strlen(signer->sessionToken));
		pfree(signer->sessionToken);
	}
	pfree(signer->accessKey);
	pfree(signer->secret);
	pfree(signer->region);
	pfree(signer->service);
	pfree(signer);
}

void
s3SignedFree(S3Signed *out)
{
	if (out->path)
		pfree(out->path);
	if (out->query)
		pfree(out->query);
	if (out->canonicalRequest)
		pfree(out->canonicalRequest);
	if (out->stringToSign)
		pfree(out->stringToSign);
	if (out->signedHeaders)
		pfree(out->signedHeaders);
	if (out->authorization)
		pfree(out->authorization);
	for (int i = 0; i < out->addHeaderCount; i++)
		pfree(unconstify(char *, out->addHeaders[i].value));
	if (out->addHeaders)
		pfree(out->addHeaders);
	memset(out, 0, sizeof(*out));
}

/* Whether c is an RFC 3986 unreserved character. */
static bool
s3SignUnreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
}

static void
s3SignUriEncodeAppend(StringInfo buf, const char *s, bool keepSlash)
{
	static const char digits[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if (s3SignUnreserved(*p) || (keepSlash && *p == '/'))
			appendStringInfoChar(buf, (char) *p);
		else
		{
			appendStringInfoChar(buf, '%');
			appendStringInfoChar(buf, digits[*p >> 4]);
			appendStringInfoChar(buf, digits[*p & 0x0f]);
		}
	}
}

char *
s3SignUriEncode(const char *s, bool keepSlash)
{
	StringInfoData buf;

	initStringInfo(&buf);
	s3SignUriEncodeAppend(&buf, s, keepSlash);
	return buf.data;
}

void
s3SignDateFormat(time_t t, char *buf)
{
	struct tm	tm;

	gmtime_r(&t, &tm);
	snprintf(buf, S3_SIGN_DATE_LEN + 1, "%04d%02d%02dT%02d%02d%02dZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static bool
s3SignDigits(const char *s, int len, int min, int max)
{
	int			v = 0;

	for (int i = 0; i < len; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	return v >= min && v <= max;
}

/* "YYYYMMDDTHHMMSSZ", each field in its range (a leap second allowed). */
static bool
s3SignDateValid(const char *d)
{
	return d != NULL && strlen(d) == S3_SIGN_DATE_LEN &&
		s3SignDigits(d, 4, 1970, 9999) && s3SignDigits(d + 4, 2, 1, 12) &&
		s3SignDigits(d + 6, 2, 1, 31) && d[8] == 'T' &&
		s3SignDigits(d + 9, 2, 0, 23) && s3SignDigits(d + 11, 2, 0, 59) &&
		s3SignDigits(d + 13, 2, 0, 60) && d[15] == 'Z';
}

/*
 * Whether s may go into the credential scope or the Authorization header:
 * not empty, printable ASCII, none of the scope's and header's separators.
 */
static bool
s3SignScopeValid(const char *s)
{
	if (s == NULL || s[0] == '\0')
		return false;
	for (const char *p = s; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '/' || *p == ',' || *p == '=')
			return false;
	return true;
}

/* An HTTP header name: RFC 9110 token characters. */
static bool
s3SignHeaderNameValid(const char *s)
{
	if (s == NULL || s[0] == '\0')
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			  (*p >= '0' && *p <= '9') || strchr("!#$%&'*+-.^_`|~", *p)))
			return false;
	return true;
}

/*
 * The canonical form of a header value: leading and trailing white space
 * dropped, inner runs of it made one space.  NULL when it holds a control
 * character other than a tab (a CR or LF would split the header).
 */
static char *
s3SignHeaderValue(const char *value)
{
	StringInfoData buf;
	bool		space = false;

	initStringInfo(&buf);
	for (const unsigned char *p = (const unsigned char *) value; *p; p++)
	{
		if ((*p < ' ' && *p != '\t') || *p == 0x7f)
		{
			pfree(buf.data);
			return NULL;
		}
		if (*p == ' ' || *p == '\t')
		{
			space = buf.len > 0;
			continue;
		}
		if (space)
			appendStringInfoChar(&buf, ' ');
		space = false;
		appendStringInfoChar(&buf, (char) *p);
	}
	return buf.data;
}

static int
s3SignHeaderCmp(const void *a, const void *b)
{
	const S3SignHeader *x = a;
	const S3SignHeader *y = b;
	int			c = strcmp(x->name, y->name);

	return c != 0 ? c : (x->order > y->order) - (x->order < y->order);
}

static int
s3SignPairCmp(const void *a, const void *b)
{
	const S3SignPair *x = a;
	const S3SignPair *y = b;
	int			c = strcmp(x->name, y->name);

	return c != 0 ? c : strcmp(x->value, y->value);
}

/*
 * Add the header the signer sends, unless the caller passed it: then its
 * value must be the signer's.  Header names passed by the caller are
 * compared case-insensitively.
 */
static bool
s3SignHeaderAdd(const S3SignRequest *request, S3Signed *out, const char *name,
				const char *value, DrError *err)
{
	for (int i = 0; i < request->headerCount; i++)
	{
		if (request->headers[i].name == NULL ||
			pg_strcasecmp(request->headers[i].name, name) != 0)
			continue;
		if (request->headers[i].value == NULL ||
			strcmp(request->headers[i].value, value) != 0)
			return drErrorSet(err, DR_ERR_INVALID,
							  "header \"%s\" passed to the S3 signer differs from the value the signer sends",
							  name);
		return true;
	}
	out->addHeaders[out->addHeaderCount].name = name;
	out->addHeaders[out->addHeaderCount].value = pstrdup(value);
	out->addHeaderCount++;
	return true;
}

/*
 * The canonical query string: names and values encoded, the pairs sorted
 * by encoded name, then encoded value (byte order), joined with '&'; an
 * empty value keeps its '='.
 */
static char *
s3SignQuery(const S3SignRequest *request)
{
	S3SignPair *pairs = palloc(sizeof(S3SignPair) * Max(request->queryCount, 1));
	StringInfoData buf;

	for (int i = 0; i < request->queryCount; i++)
	{
		pairs[i].name = s3SignUriEncode(request->query[i].name, false);
		pairs[i].value = s3SignUriEncode(request->query[i].value, false);
	}
	qsort(pairs, request->queryCount, sizeof(S3SignPair), s3SignPairCmp);

	initStringInfo(&buf);
	for (int i = 0; i < request->queryCount; i++)
	{
		if (i > 0)
			appendStringInfoChar(&buf, '&');
		appendStringInfo(&buf, "%s=%s", pairs[i].name, pairs[i].value);
		pfree(unconstify(char *, pairs[i].name));
		pfree(unconstify(char *, pairs[i].value));
	}
	pfree(pairs);
	return buf.data;
}

/*
 * The canonical headers ("name:value\n" each, sorted, duplicates joined)
 * into canon, the signed header names into out->signedHeaders.
 */
static bool
s3SignHeaders(const S3SignRequest *request, S3Signed *out, StringInfo canon,
			  DrError *err)
{
	int			total = request->headerCount + out->addHeaderCount;
	S3SignHeader *h = palloc0(sizeof(S3SignHeader) * Max(total, 1));
	StringInfoData names;
	bool		ok = true;

	for (int i = 0; i < total; i++)
	{
		const S3SignPair *p = i < request->headerCount ? &request->headers[i] :
			&out->addHeaders[i - request->headerCount];

		if (!s3SignHeaderNameValid(p->name))
		{
			char		vbuf[DR_ERROR_VALUE_BUF];

			ok = drErrorSet(err, DR_ERR_INVALID,
							"header name \"%s\" passed to the S3 signer is not a valid HTTP header name",
							drErrorValue(p->name ? p->name : "", vbuf));
			total = i;
			break;
		}
		h[i].name = pstrdup(p->name);
		for (char *c = h[i].name; *c; c++)
			*c = pg_ascii_tolower((unsigned char) *c);
		h[i].value = s3SignHeaderValue(p->value ? p->value : "");
		h[i].order = i;
		if (h[i].value == NULL)
		{
			ok = drErrorSet(err, DR_ERR_INVALID,
							"value of header \"%s\" passed to the S3 signer holds a control character",
							h[i].name);
			total = i + 1;
			break;
		}
	}

	if (ok)
	{
		qsort(h, total, sizeof(S3SignHeader), s3SignHeaderCmp);
		initStringInfo(&names);
		for (int i = 0; i < total; i++)
		{
			bool		same = i > 0 && strcmp(h[i].name, h[i - 1].name) == 0;

			if (same)
			{
				/* the same header again: one line, values joined by ',' */
				canon->len--;
				canon->data[canon->len] = '\0';
				appendStringInfo(canon, ",%s\n", h[i].value);
				continue;
			}
			appendStringInfo(canon, "%s:%s\n", h[i].name, h[i].value);
			if (names.len > 0)
				appendStringInfoChar(&names, ';');
			appendStringInfoString(&names, h[i].name);
		}
		out->signedHeaders = names.data;
	}
	for (int i = 0; i < total; i++)
	{
		pfree(h[i].name);
		if (h[i].value)
			pfree(h[i].value);
	}
	pfree(h);
	return ok;
}

static bool
s3SignHmac(const uint8 *key, size_t keyLen, const char *data, uint8 *out,
		   DrError *err)
{
	unsigned int len = 0;

	if (HMAC(EVP_sha256(), key, (int) keyLen, (const unsigned char *) data,
			 strlen(data), out, &len) == NULL || len != S3_SIGN_KEY_SIZE)
		return drErrorSet(err, DR_ERR_INTERNAL, "could not compute HMAC-SHA256");
	return true;
}

bool
s3SignPayloadHash(const void *data, size_t len, char *hex, DrError *err)
{
	uint8		md[EVP_MAX_MD_SIZE];
	unsigned int mdLen = 0;

	if (EVP_Digest(data, len, md, &mdLen, EVP_sha256(), NULL) != 1 || mdLen != 32)
		return drErrorSet(err, DR_ERR_INTERNAL, "could not compute SHA-256");
	hexEncode(md, 32, HEX_LOWER, hex);
	return true;
}

bool
s3SignKey(S3Signer *signer, const char *date, uint8 key[32], DrError *err)
{
	char		day[9];
	char	   *secretKey;
	uint8		k1[S3_SIGN_KEY_SIZE];
	uint8		k2[S3_SIGN_KEY_SIZE];
	bool		ok;

	strlcpy(day, date, sizeof(day));
	if (strlen(day) != 8 || strspn(day, "0123456789") != 8)
		return drErrorSet(err, DR_ERR_INVALID, "S3 signer: the day must be 8 digits (YYYYMMDD)");
	if (strcmp(day, signer->keyDay) == 0)
	{
		memcpy(key, signer->key, S3_SIGN_KEY_SIZE);
		return true;
	}

	secretKey = psprintf("AWS4%s", signer->secret);
	ok = s3SignHmac((const uint8 *) secretKey, strlen(secretKey), day, k1, err) &&
		s3SignHmac(k1, sizeof(k1), signer->region, k2, err) &&
		s3SignHmac(k2, sizeof(k2), signer->service, k1, err) &&
		s3SignHmac(k1, sizeof(k1), "aws4_request", key, err);
	OPENSSL_cleanse(secretKey, strlen(secretKey));
	OPENSSL_cleanse(k1, sizeof(k1));
	OPENSSL_cleanse(k2, sizeof(k2));
	pfree(secretKey);
	if (!ok)
		return false;
	memcpy(signer->key, key, S3_SIGN_KEY_SIZE);
	strcpy(signer->keyDay, day);
	return true;
}

/* The request's arguments, checked before anything is computed. */
static bool
s3SignCheck(const S3Signer *signer, const S3SignRequest *request, DrError *err)
{
	const char *ph = request->payloadHash;

	if (request->method == NULL || request->method[0] == '\0')
		return drErrorSet(err, DR_ERR_INVALID, "S3 signer: no HTTP method");
	for (const char *p = request->method; *p; p++)
		if (*p < 'A' || *p > 'Z')
			return drErrorSet(err, DR_ERR_INVALID,
							  "S3 signer: HTTP method is not upper-case letters");
	if (request->path == NULL || (request->path[0] != '\0' && request->path[0] != '/'))
		return drErrorSet(err, DR_ERR_INVALID,
						  "S3 signer: the path must start with \"/\"");
	if (!s3SignDateValid(request->date))
		return drErrorSet(err, DR_ERR_INVALID,
						  "S3 signer: date is not an ISO 8601 basic UTC date-time (YYYYMMDDTHHMMSSZ)");
	if (ph == NULL || !(strcmp(ph, S3_SIGN_UNSIGNED_PAYLOAD) == 0 ||
						(strlen(ph) == S3_SIGN_HASH_HEX &&
						 hexIs(ph, S3_SIGN_HASH_HEX, HEX_LOWER))))
		return drErrorSet(err, DR_ERR_INVALID,
						  "S3 signer: payload hash is neither a lower-case hex SHA-256 nor \"%s\"",
						  S3_SIGN_UNSIGNED_PAYLOAD);
	for (int i = 0; i < request->queryCount; i++)
		if (request->query[i].name == NULL || request->query[i].name[0] == '\0' ||
			request->query[i].value == NULL)
			return drErrorSet(err, DR_ERR_INVALID,
							  "S3 signer: query parameter %d has no name or a NULL value",
							  i + 1);
	if (!s3SignScopeValid(signer->region) || !s3SignScopeValid(signer->service))
		return drErrorSet(err, DR_ERR_INVALID,
						  "S3 signer: region or service is empty or holds a space, '/', ',' or '='");
	if (!s3SignScopeValid(signer->accessKey))
		return drErrorSet(err, DR_ERR_INVALID,
						  "S3 signer: the access key id is empty or holds a space, '/', ',' or '='");
	return true;
}

bool
s3Sign(S3Signer *signer, const S3SignRequest *request, S3Signed *out,
	   DrError *err)
{
	StringInfoData buf;
	char	   *scope;
	char		hash[S3_SIGN_HASH_HEX + 1];
	uint8		key[S3_SIGN_KEY_SIZE];
	uint8		sig[S3_SIGN_KEY_SIZE];
	bool		ok;

	memset(out, 0, sizeof(*out));
	if (!s3SignCheck(signer, request, err))
		return false;

	/* the headers the signer sends, unless the caller passed them */
	out->addHeaders = palloc0(sizeof(S3SignPair) * 4);
	if (!s3SignHeaderAdd(request, out, "x-amz-date", request->date, err) ||
		(request->contentSha256Header &&
		 !s3SignHeaderAdd(request, out, "x-amz-content-sha256",
						  request->payloadHash, err)) ||
		(signer->sessionToken &&
		 !s3SignHeaderAdd(request, out, "x-amz-security-token",
						  signer->sessionToken, err)))
	{
		s3SignedFree(out);
		return false;
	}

	/* canonical request */
	out->path = request->path[0] == '\0' ? pstrdup("/") :
		s3SignUriEncode(request->path, true);
	out->query = s3SignQuery(request);
	initStringInfo(&buf);
	appendStringInfo(&buf, "%s\n%s\n%s\n", request->method, out->path, out->query);
	if (!s3SignHeaders(request, out, &buf, err))
	{
		pfree(buf.data);
		s3SignedFree(out);
		return false;
	}
	appendStringInfo(&buf, "\n%s\n%s", out->signedHeaders, request->payloadHash);
	out->canonicalRequest = buf.data;

	/* string to sign */
	if (!s3SignPayloadHash(out->canonicalRequest, strlen(out->canonicalRequest),
						   hash, err))
	{
		s3SignedFree(out);
		return false;
	}
	scope = psprintf("%.8s/%s/%s/aws4_request", request->date,
					 signer->region, signer->service);
	out->stringToSign = psprintf("%s\n%s\n%s\n%s", S3_SIGN_ALGORITHM,
								 request->date, scope, hash);

	/* signature */
	ok = s3SignKey(signer, request->date, key, err) &&
		s3SignHmac(key, sizeof(key), out->stringToSign, sig, err);
	OPENSSL_cleanse(key, sizeof(key));
	if (!ok)
	{
		pfree(scope);
		s3SignedFree(out);
		return false;
	}
	hexEncode(sig, sizeof(sig), HEX_LOWER, out->signature);
	out->authorization = psprintf("%s Credential=%s/%s, SignedHeaders=%s, Signature=%s",
								  S3_SIGN_ALGORITHM, signer->accessKey, scope,
								  out->signedHeaders, out->signature);
	pfree(scope);
	out->addHeaders[out->addHeaderCount].name = "authorization";
	out->addHeaders[out->addHeaderCount].value = pstrdup(out->authorization);
	out->addHeaderCount++;
	return true;
}
