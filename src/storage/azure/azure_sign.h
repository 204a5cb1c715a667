/*-------------------------------------------------------------------------
 * azure_sign.h
 *	  Azure Storage Shared Key authorization: the string to sign of a Blob
 *	  service request and its HMAC-SHA256 signature, computed with
 *	  OpenSSL.  Pure: no I/O, no clock (the caller passes x-ms-date among
 *	  the headers), so each step is unit tested.
 *
 * The string to sign (Microsoft's "Authorize with Shared Key", version
 * 2009-09-19 and later) is the verb, then the values of Content-Encoding,
 * Content-Language, Content-Length (empty when zero), Content-MD5,
 * Content-Type, Date, If-Modified-Since, If-Match, If-None-Match,
 * If-Unmodified-Since and Range, each followed by a newline (empty when the
 * header is not sent), then the canonicalized headers: every x-ms-* header,
 * name lower-cased, in name order, "name:value\n" with the value trimmed
 * and its runs of white space made one space; then the canonicalized
 * resource: "/" account, the URL's path as sent (encoded; with the
 * emulator's path-style addressing it starts with the account again), and
 * for each query parameter, in lower-cased name order, "\nname:value"
 * with the value decoded (a name given twice: its values sorted and
 * joined by ',').
 *
 * The signature is base64 of HMAC-SHA256(base64-decoded account key,
 * string to sign); the header is "Authorization: SharedKey
 * account:signature".
 *
 * Secrets: the decoded key lives only in the signer (wiped when freed) and
 * never appears in a result or an error.
 *-------------------------------------------------------------------------
 */
#ifndef DR_AZURE_SIGN_H
#define DR_AZURE_SIGN_H

#include <time.h>

#include "common/error.h"

/* base64 of a SHA-256 HMAC, with its NUL */
#define AZURE_SIGN_SIG_LEN		45
/* "Thu, 03 Dec 2026 11:13:25 GMT" and its NUL */
#define AZURE_SIGN_DATE_LEN		30

typedef struct AzureSignPair
{
	const char *name;
	const char *value;
} AzureSignPair;

typedef struct AzureSignRequest
{
	const char *method;			/* "GET", "PUT", ... */
	const char *path;			/* the URL's path as sent, encoded, from '/' */
	const AzureSignPair *query; /* raw (decoded) names and values */
	int			queryCount;
	const AzureSignPair *headers;	/* every header sent, any case */
	int			headerCount;
	uint64		contentLength;	/* of the body (the HTTP layer sends it) */
} AzureSignRequest;

typedef struct AzureSigner AzureSigner;

/*
 * A signer for an account and its key (base64, as the portal shows it).
 * NULL with DR_ERR_CONFIG when the key is not valid base64 (the message
 * does not show it).
 */
extern AzureSigner *azureSignerNew(const char *account, const char *keyBase64,
								   DrError *err);
extern void azureSignerFree(AzureSigner *signer);

/*
 * The string to sign of a request, palloc'd; NULL with DR_ERR_INVALID
 * when a header name or value holds a control character, or a header is
 * given twice.
 */
extern char *azureStringToSign(const char *account, const AzureSignRequest *req,
							   DrError *err);

/* base64 HMAC-SHA256 of text with the signer's key into sig. */
extern bool azureSignText(const AzureSigner *signer, const char *text,
						  char sig[AZURE_SIGN_SIG_LEN], DrError *err);

/*
 * The Authorization header's value of a request ("SharedKey
 * account:signature"), palloc'd; NULL with err set.
 */
extern char *azureSignAuthorization(const AzureSigner *signer,
									const AzureSignRequest *req, DrError *err);

/* t (UTC) as an RFC 1123 date, as x-ms-date wants it. */
extern void azureSignDateFormat(time_t t, char buf[AZURE_SIGN_DATE_LEN]);

/*
 * s[0..len) percent-encoded for a URL path: RFC 3986 unreserved
 * characters and '/' kept, every other byte %XX (upper case); palloc'd.
 */
extern char *azureSignPathEncode(const char *s);

#endif							/* DR_AZURE_SIGN_H */
