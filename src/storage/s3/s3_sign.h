/*-------------------------------------------------------------------------
 * s3_sign.h
 *	  AWS Signature Version 4 for S3 requests: canonical request, string to
 *	  sign, signing key and the Authorization header, computed with
 *	  OpenSSL's HMAC-SHA256.  Pure: no I/O, no clock (the caller passes the
 *	  date), so every step is unit tested against AWS's published suite.
 *
 * Written in the project because libcurl's CURLOPT_AWS_SIGV4 (Debian 12's
 * 7.88) mis-signs S3 requests: it does not sort query parameters, drops the
 * "=" of an empty one and sends no x-amz-content-sha256.
 *
 * What the caller passes and what it gets back:
 *
 * - The path is the object's path as the caller means it, NOT encoded
 *   ("/bucket/backup/a b.txt").  The signer encodes it once, every byte
 *   but the RFC 3986 unreserved characters (A-Z a-z 0-9 - _ . ~) and '/'
 *   becoming %XX in upper case, and hands back that encoding (path), which
 *   the caller must put in the URL as is.  S3 encodes the path once; other
 *   AWS services encode the path as sent a second time, which this signer
 *   does not do (it signs S3, and GCS through its S3 interoperability).  No
 *   path normalization either: S3 keys may hold "//" or "/./".
 * - Query parameters are raw name/value pairs (value "" for "?uploads" or
 *   "?delete"; never NULL).  Each is encoded like the path but '/' too, and
 *   they are sorted by encoded name, then encoded value; an empty value
 *   keeps its '='.  The result (query) is what the URL must carry.
 * - Headers are every header the caller will send and wants signed, host
 *   included; names in any case (lower-cased), values raw (leading and
 *   trailing white space dropped, inner runs of white space made one
 *   space).  A name given twice is one header, its values joined with ','
 *   in the order given.  Headers the HTTP layer adds on its own
 *   (User-Agent, Content-Length, Expect) are not passed, hence not signed;
 *   S3 requires host and every x-amz-* header to be signed.
 * - The signer adds, unless the caller passed them: x-amz-date (the
 *   date), x-amz-content-sha256 (the payload hash; always, S3 needs it,
 *   unless contentSha256Header is false, as the generic AWS suite has it)
 *   and x-amz-security-token (when the credentials carry a session token).
 *   A header passed with another value than the signer's is refused.  The
 *   headers to send on top of the caller's are returned in addHeaders,
 *   Authorization last.
 *
 * Secrets: the secret key and the derived signing key live only in the
 * signer (wiped when freed) and never appear in a result or an error.
 *-------------------------------------------------------------------------
 */
#ifndef DR_S3_SIGN_H
#define DR_S3_SIGN_H

#include <time.h>

#include "common/error.h"

/* The payload hash of a body that is not hashed (its bytes not signed). */
#define S3_SIGN_UNSIGNED_PAYLOAD	"UNSIGNED-PAYLOAD"
/* The payload hash of an empty body: SHA-256 of nothing, in hex. */
#define S3_SIGN_EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
/* Length of an ISO 8601 basic date-time ("20150830T123600Z"), and hex SHA-256. */
#define S3_SIGN_DATE_LEN	16
#define S3_SIGN_HASH_HEX	64

typedef struct S3SignPair
{
	const char *name;
	const char *value;
} S3SignPair;

typedef struct S3SignCredentials
{
	const char *accessKey;		/* the access key id */
	const char *secret;			/* the secret access key */
	const char *sessionToken;	/* NULL or "": none */
} S3SignCredentials;

typedef struct S3SignRequest
{
	const char *method;			/* "GET", "PUT", ... */
	const char *path;			/* raw, starting with '/'; "" counts as "/" */
	const S3SignPair *query;
	int			queryCount;
	const S3SignPair *headers;
	int			headerCount;
	/*
	 * Lower-case hex SHA-256 of the body (S3_SIGN_EMPTY_SHA256 for none),
	 * or S3_SIGN_UNSIGNED_PAYLOAD.
	 */
	const char *payloadHash;
	const char *date;			/* ISO 8601 basic, UTC: "20150830T123600Z" */
	bool		contentSha256Header;	/* send x-amz-content-sha256 (S3: true) */
} S3SignRequest;

/* A signed request: every string palloc'd, freed by s3SignedFree. */
typedef struct S3Signed
{
	char	   *path;			/* encoded path, for the URL */
	char	   *query;			/* canonical query string, for the URL ("" when none) */
	char	   *canonicalRequest;
	char	   *stringToSign;
	char	   *signedHeaders;	/* "host;x-amz-content-sha256;x-amz-date" */
	char		signature[S3_SIGN_HASH_HEX + 1];
	char	   *authorization;	/* the Authorization header's value */
	S3SignPair *addHeaders;		/* headers to send besides the caller's */
	int			addHeaderCount;
} S3Signed;

typedef struct S3Signer S3Signer;

/*
 * A signer for one set of credentials, region ("us-east-1") and service
 * ("s3").  The strings are copied.  It keeps the signing key of the last
 * day it signed for (the key depends on date, region and service only), so
 * a day's requests cost two HMACs each instead of six.
 */
extern S3Signer *s3SignerNew(const S3SignCredentials *credentials,
							 const char *region, const char *service);

/* Wipe the secret and the signing key and free the signer. */
extern void s3SignerFree(S3Signer *signer);

/*
 * Sign a request.  DR_ERR_INVALID (saying which) on a malformed date,
 * payload hash, method, path, header name or value (a control character),
 * or a header the signer adds passed with another value.
 */
extern bool s3Sign(S3Signer *signer, const S3SignRequest *request,
				   S3Signed *out, DrError *err);

extern void s3SignedFree(S3Signed *out);

/*
 * The signing key of a day (date: "20150830", or a full date-time whose
 * first 8 characters are taken), for tests; false (DR_ERR_INVALID) when
 * those are not 8 digits, or on an OpenSSL failure.
 */
extern bool s3SignKey(S3Signer *signer, const char *date, uint8 key[32],
					  DrError *err);

/* Lower-case hex SHA-256 of data: a payload hash.  hex holds 65 bytes. */
extern bool s3SignPayloadHash(const void *data, size_t len, char *hex,
							  DrError *err);

/*
 * s encoded as SigV4 wants it (RFC 3986 unreserved kept, every other byte
 * %XX in upper case; '/' kept when keepSlash), palloc'd.
 */
extern char *s3SignUriEncode(const char *s, bool keepSlash);

/* t (UTC) as an ISO 8601 basic date-time; buf holds S3_SIGN_DATE_LEN + 1. */
extern void s3SignDateFormat(time_t t, char *buf);

#endif							/* DR_S3_SIGN_H */
