/*-------------------------------------------------------------------------
 * test_storage_azure_sign.c
 *	  Unit tests of the Azure driver's Shared Key signer
 *	  (storage/azure/azure_sign.c).  Requests against a server (which
 *	  checks the signatures) are t/053_azure.pl's.
 *
 * Where the vectors come from:
 *	 - The string to sign of Microsoft's example in "Authorize with Shared
 *	   Key" (learn.microsoft.com/rest/api/storageservices/authorize-with-
 *	   shared-key, "Blob, Queue, and File services"): a GET of a
 *	   container's metadata, x-ms-date "Fri, 26 Jun 2015 23:39:12 GMT",
 *	   x-ms-version 2015-02-21, account myaccount, query comp=metadata,
 *	   restype=container, timeout=20; built here from the request and
 *	   compared byte for byte with the document's.
 *	 - The signatures: HMAC-SHA256 with azurite's published development
 *	   key, computed by the openssl command line (an implementation
 *	   independent of this code's use of the library):
 *	     printf %s "$STRING_TO_SIGN" | openssl dgst -sha256 -mac HMAC \
 *	       -macopt hexkey:$(echo -n "$KEY" | base64 -d | xxd -p -c 256) \
 *	       -binary | base64
 *	   and, end to end, by azurite accepting the driver's requests
 *	   (t/053_azure.pl).
 *
 * Covers: the standard header lines (empty when not sent, Content-Length
 * empty when zero, headers matched without case), x-ms-* headers sorted
 * and lower-cased with values trimmed and inner runs of white space made
 * one space, other headers not canonicalized, the resource with the
 * emulator's doubled account (path style), query parameters lower-cased,
 * sorted, decoded, a name given twice joined with ','; a header given
 * twice and a control character refused; the Authorization value; a key
 * that is not base64 refused without showing it; RFC 1123 dates; path
 * encoding.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "storage/azure/azure_sign.h"
#include "tap.h"
#include "test_support.h"

#define DEVKEY "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

static void
testMicrosoftExample(void)
{
	AzureSignPair headers[] = {
		{"x-ms-version", "2015-02-21"},
		{"X-MS-Date", "Fri, 26 Jun 2015 23:39:12 GMT"},
	};
	AzureSignPair query[] = {
		{"restype", "container"}, {"comp", "metadata"}, {"timeout", "20"},
	};
	AzureSignRequest req = {
		.method = "GET", .path = "/mycontainer",
		.query = query, .queryCount = lengthof(query),
		.headers = headers, .headerCount = lengthof(headers),
	};
	DrError		err;
	AzureSigner *signer;
	char	   *sts = azureStringToSign("myaccount", &req, &err);
	char		sig[AZURE_SIGN_SIG_LEN];

	is_str(sts, "GET\n\n\n\n\n\n\n\n\n\n\n\n"
		   "x-ms-date:Fri, 26 Jun 2015 23:39:12 GMT\nx-ms-version:2015-02-21\n"
		   "/myaccount/mycontainer\ncomp:metadata\nrestype:container\ntimeout:20",
		   "Microsoft's example: the string to sign");
	signer = azureSignerNew("myaccount", DEVKEY, &err);
	ok(signer != NULL && sts != NULL && azureSignText(signer, sts, sig, &err),
	   "signed");
	is_str(sig, "1u9lui2jDxj0+fpbHjQ5m5NnastJRSYM+PSmfi8TXx4=",
		   "its signature with the development key (openssl dgst)");
	azureSignerFree(signer);
	if (sts)
		pfree(sts);
}

static void
testPutBlock(void)
{
	AzureSignPair headers[] = {
		{"Content-MD5", "rL0Y20zC+Fzt72VPzMSk2A=="},
		{"If-None-Match", "*"},
		{"x-ms-date", "Thu, 03 Dec 2026 11:13:25 GMT"},
		{"x-ms-version", " 2021-08-06 "},
		{"x-ms-blob-type", "BlockBlob"},
		{"User-Agent", "not   canonicalized"},
	};
	AzureSignPair query[] = {
		{"comp", "block"}, {"blockid", "YWJj+/=="},
	};
	AzureSignRequest req = {
		.method = "PUT", .path = "/devstoreaccount1/pgdr/a%20b/c",
		.query = query, .queryCount = lengthof(query),
		.headers = headers, .headerCount = lengthof(headers),
		.contentLength = 1048576,
	};
	DrError		err;
	AzureSigner *signer = azureSignerNew("devstoreaccount1", DEVKEY, &err);
	char	   *sts = azureStringToSign("devstoreaccount1", &req, &err);
	char	   *auth;

	is_str(sts, "PUT\n\n\n1048576\nrL0Y20zC+Fzt72VPzMSk2A==\n\n\n\n\n*\n\n\n"
		   "x-ms-blob-type:BlockBlob\nx-ms-date:Thu, 03 Dec 2026 11:13:25 GMT\n"
		   "x-ms-version:2021-08-06\n"
		   "/devstoreaccount1/devstoreaccount1/pgdr/a%20b/c\nblockid:YWJj+/==\ncomp:block",
		   "Put Block, path style: the standard lines, sorted x-ms-* headers, the account twice, decoded query");
	auth = azureSignAuthorization(signer, &req, &err);
	is_str(auth, "SharedKey devstoreaccount1:61cNOZZSmIPaElBOVMUIrxRTNRoegutY5L/qX2RJwBU=",
		   "its Authorization value (openssl dgst)");
	if (auth)
		pfree(auth);
	if (sts)
		pfree(sts);

	{
		AzureSignPair h2[] = {
			{"x-ms-range", "bytes=0-4194303"},
			{"If-Match", "\"0x8D1\""},
			{"x-ms-version", "2021-08-06"},
			{"x-ms-date", "Thu,   03 Dec 2026 11:13:25 GMT"},
		};
		AzureSignRequest r2 = {
			.method = "GET", .path = "/pgdr/p/x",
			.headers = h2, .headerCount = lengthof(h2),
		};
		char		sig[AZURE_SIGN_SIG_LEN];

		sts = azureStringToSign("devstoreaccount1", &r2, &err);
		is_str(sts, "GET\n\n\n\n\n\n\n\n\"0x8D1\"\n\n\n\n"
			   "x-ms-date:Thu, 03 Dec 2026 11:13:25 GMT\nx-ms-range:bytes=0-4194303\n"
			   "x-ms-version:2021-08-06\n/devstoreaccount1/pgdr/p/x",
			   "ranged GET: If-Match in its line, x-ms-range a canonical header, runs of spaces made one");
		ok(sts != NULL && azureSignText(signer, sts, sig, &err), "signed");
		is_str(sig, "/hblTb3Hk3uGKSnIDwujLZQulp3qAeKrox9iXP/YEzs=",
			   "its signature (openssl dgst)");
		if (sts)
			pfree(sts);
	}
	{
		AzureSignPair q3[] = {{"Marker", "b"}, {"marker", "a"}};
		AzureSignRequest r3 = {.method = "GET", .path = "", .query = q3, .queryCount = 2};

		sts = azureStringToSign("acct", &r3, &err);
		is_str(sts, "GET\n\n\n\n\n\n\n\n\n\n\n\n/acct/\nmarker:a,b",
			   "a query name given twice: values sorted, joined by ','; the root resource");
		if (sts)
			pfree(sts);
	}
	{
		AzureSignPair h4[] = {{"x-ms-date", "a"}, {"X-MS-DATE", "b"}};
		AzureSignRequest r4 = {.method = "GET", .path = "/c", .headers = h4, .headerCount = 2};

		sts = azureStringToSign("acct", &r4, &err);
		ok(sts == NULL && err.code == DR_ERR_INVALID &&
		   strstr(err.message, "given twice") != NULL, "a header given twice is refused");
		h4[1].name = "x-ms-meta";
		h4[1].value = "a\nb";
		sts = azureStringToSign("acct", &r4, &err);
		ok(sts == NULL && err.code == DR_ERR_INVALID &&
		   strstr(err.message, "control character") != NULL,
		   "a header value with a newline is refused");
	}
	azureSignerFree(signer);

	signer = azureSignerNew("acct", "not base64!secret", &err);
	ok(signer == NULL && err.code == DR_ERR_CONFIG &&
	   strstr(err.message, "not valid base64") != NULL &&
	   strstr(err.message, "secret") == NULL,
	   "a key that is not base64 is refused, without being shown");
	signer = azureSignerNew("acct", "QUJD=A==", &err);
	ok(signer == NULL, "padding inside a key is refused");
	signer = azureSignerNew("acct", "QUJD", &err);
	ok(signer != NULL, "a short key is base64 all the same");
	azureSignerFree(signer);
}

static void
testHelpers(void)
{
	char		date[AZURE_SIGN_DATE_LEN];
	char	   *s;

	azureSignDateFormat((time_t) 1435361952, date);
	is_str(date, "Fri, 26 Jun 2015 23:39:12 GMT", "RFC 1123 date");
	azureSignDateFormat((time_t) 0, date);
	is_str(date, "Thu, 01 Jan 1970 00:00:00 GMT", "RFC 1123 date of the epoch");

	is_str(s = azureSignPathEncode("pgdr/a b/c~d_e.f-g+h%\xc3\xa9"),
		   "pgdr/a%20b/c~d_e.f-g%2Bh%25%C3%A9", "path encoding: unreserved and '/' kept");
	pfree(s);
}

int
main(void)
{
	testMicrosoftExample();
	testPutBlock();
	testHelpers();
	trackFree();
	return tapDone();
}
