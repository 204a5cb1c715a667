/*-------------------------------------------------------------------------
 * test_http.c
 *	  Unit tests of the HTTP layer's pure parts (src/storage/http/); the
 *	  client against a real server through the fault-injecting proxy is
 *	  t/051_http_faults.pl (with test/tools/http_probe.c).
 *
 * Covers: httpRetryDecide's table (2xx/3xx/404/403 done; 500, 502, 503,
 * 504, 408, 429 retried; 400, 401, 403, 404, 409, 412, 416, 501, 505
 * never; S3 SlowDown retried whatever the status, from a longer base;
 * RequestTimeTooSkewed failed as clock skew, not retried; connection
 * refused, reset, timeout, nothing received, partial answer retried; TLS
 * verification and CA file failures, a failed callback, a malformed URL
 * never; attempts used up; a body that cannot be sent again), its delays
 * (equal jitter within [exp/2, exp], capped, never above the cap, growing
 * with the attempt, Retry-After honoured and capped, defaults resolved);
 * httpRetryAfterParse (seconds, HTTP-date past and future, garbage, huge);
 * redaction: httpRedactUrl (SAS sig, presigned X-Amz-* parameters,
 * userinfo, other parameters and fragments kept), httpRedactHeader
 * (Authorization, x-amz-security-token, x-ms-encryption-key, cookies;
 * others kept), httpRedactText (URLs in a libcurl message, a bare SAS
 * query, an "Authorization:" line), no secret left in any of them;
 * httpUrlEncode (unreserved kept, space %20, UTF-8, slash kept or not),
 * httpUrlQueryAdd (first '?', then '&', empty values "name="),
 * httpHeadersAdd (printf values, growth, NULL terminator); httpHeaderGet
 * (case, spaces, missing, last line without CRLF); httpErrorCodeFind
 * (x-ms-error-code, x-amz-error-code, <Code> in XML, none);
 * httpResponseError (status, code, request id, redacted URL).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <curl/curl.h>

#include "lib/stringinfo.h"
#include "storage/http/http.h"
#include "tap.h"
#include "test_support.h"

static HttpRetryDecision
decide(int attempt, int curlCode, long status, const char *code,
	   int64 retryAfterMs, bool canResend, uint32 random)
{
	HttpRetryPolicy policy = {0};
	HttpRetryInput in = {0};

	in.attempt = attempt;
	in.curlCode = curlCode;
	in.status = status;
	in.errorCode = code;
	in.retryAfterMs = retryAfterMs;
	in.canResend = canResend;
	in.random = random;
	return httpRetryDecide(&policy, &in);
}

static void
testRetryTable(void)
{
	static const long done[] = {200, 201, 204, 206, 304, 400, 401, 403, 404, 409, 412, 416, 501, 505};
	static const long again[] = {500, 502, 503, 504, 408, 429};
	static const int transient[] = {
		CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST,
		CURLE_OPERATION_TIMEDOUT, CURLE_GOT_NOTHING, CURLE_SEND_ERROR,
		CURLE_RECV_ERROR, CURLE_PARTIAL_FILE, CURLE_SSL_CONNECT_ERROR
	};
	HttpRetryDecision d;

	for (size_t i = 0; i < lengthof(done); i++)
	{
		d = decide(1, 0, done[i], "", -1, true, 0);
		ok(d.action == HTTP_RETRY_DONE, "HTTP %ld is final", done[i]);
	}
	for (size_t i = 0; i < lengthof(again); i++)
	{
		d = decide(1, 0, again[i], "", -1, true, 0);
		ok(d.action == HTTP_RETRY_AGAIN && d.kind == HTTP_FAIL_STATUS,
		   "HTTP %ld is retried", again[i]);
		d = decide(5, 0, again[i], "", -1, true, 0);
		ok(d.action == HTTP_RETRY_FAIL && d.kind == HTTP_FAIL_STATUS,
		   "HTTP %ld fails once the 5 attempts are used up", again[i]);
	}
	/* the error code of a 4xx does not make it retryable, except throttling */
	d = decide(1, 0, 403, "AccessDenied", -1, true, 0);
	ok(d.action == HTTP_RETRY_DONE, "403 AccessDenied is final");
	d = decide(1, 0, 400, "SlowDown", -1, true, 0);
	ok(d.action == HTTP_RETRY_AGAIN, "SlowDown is retried whatever the status");
	d = decide(1, 0, 503, "SlowDown", -1, true, 0);
	ok(d.action == HTTP_RETRY_AGAIN && strcmp(d.reason, "throttled") == 0,
	   "503 SlowDown is retried as throttling");
	d = decide(1, 0, 403, "RequestTimeTooSkewed", -1, true, 0);
	ok(d.action == HTTP_RETRY_FAIL && d.kind == HTTP_FAIL_CLOCK_SKEW,
	   "RequestTimeTooSkewed fails as clock skew on the first attempt");
	d = decide(1, 0, 503, "RequestTimeTooSkewed", -1, true, 0);
	ok(d.action == HTTP_RETRY_FAIL && d.kind == HTTP_FAIL_CLOCK_SKEW,
	   "RequestTimeTooSkewed is never retried, even with a 5xx status");

	for (size_t i = 0; i < lengthof(transient); i++)
	{
		d = decide(2, transient[i], 0, NULL, -1, true, 0);
		ok(d.action == HTTP_RETRY_AGAIN && d.kind == HTTP_FAIL_TRANSPORT,
		   "curl code %d (%s) is retried", transient[i], d.reason);
		d = decide(2, transient[i], 0, NULL, -1, false, 0);
		ok(d.action == HTTP_RETRY_FAIL && d.kind == HTTP_FAIL_NO_REWIND,
		   "curl code %d with a body that cannot be resent fails", transient[i]);
	}
	d = decide(1, CURLE_PEER_FAILED_VERIFICATION, 0, NULL, -1, true, 0);
	ok(d.action == HTTP_RETRY_FAIL && d.kind == HTTP_FAIL_TLS,
	   "a certificate that does not verify fails at once");
	d = decide(1, CURLE_SSL_CACERT_BADFILE, 0, NULL, -1, true, 0);
	ok(d.action == HTTP_RETRY_FAIL && d.kind == HTTP_FAIL_TLS_SETUP,
	   "an unusable CA file fails at once");
	d = decide(1, CURLE_READ_ERROR, 0, NULL, -1, true, 0);
	ok(d.action == HTTP_RETRY_FAIL && d.kind == HTTP_FAIL_LOCAL,
	   "a failed body source is not retried");
	d = decide(1, CURLE_WRITE_ERROR, 0, NULL, -1, true, 0);
	ok(d.action == HTTP_RETRY_FAIL && d.kind == HTTP_FAIL_LOCAL,
	   "a failed sink is not retried");
	d = decide(1, CURLE_URL_MALFORMAT, 0, NULL, -1, true, 0);
	ok(d.action == HTTP_RETRY_FAIL, "a malformed URL is not retried");
	d = decide(1, CURLE_SEND_FAIL_REWIND, 0, NULL, -1, true, 0);
	ok(d.action == HTTP_RETRY_FAIL && d.kind == HTTP_FAIL_NO_REWIND,
	   "libcurl's own failed rewind is not retried");
	d = decide(1, 0, 503, "", -1, false, 0);
	ok(d.action == HTTP_RETRY_FAIL && d.kind == HTTP_FAIL_NO_REWIND,
	   "a 503 to a body that cannot be resent fails");
	d = decide(1, 0, 404, "", -1, false, 0);
	ok(d.action == HTTP_RETRY_DONE,
	   "a final answer needs no resend, whatever the body");
}

static void
testRetryDelays(void)
{
	HttpRetryPolicy policy = {.maxAttempts = 20, .baseDelayMs = 100,
	.maxDelayMs = 2000, .retryAfterMaxMs = 5000};
	HttpRetryInput in = {0};
	HttpRetryPolicy def;
	bool		inRange = true;
	bool		capped = true;
	bool		varies = false;
	int			first = -1;

	in.status = 503;
	in.errorCode = "";
	in.retryAfterMs = -1;
	in.canResend = true;
	for (int attempt = 1; attempt < 20; attempt++)
	{
		int64		exp = Min((int64) 100 << (attempt - 1), 2000);

		for (uint32 r = 0; r < 2000; r += 97)
		{
			HttpRetryDecision d;

			in.attempt = attempt;
			in.random = r * 2654435761U;
			d = httpRetryDecide(&policy, &in);
			if (d.delayMs < exp / 2 || d.delayMs > exp)
				inRange = false;
			if (d.delayMs > 2000)
				capped = false;
			if (attempt == 3)
			{
				if (first == -1)
					first = d.delayMs;
				else if (d.delayMs != first)
					varies = true;
			}
		}
	}
	ok(inRange, "delays stay within [exp/2, exp] of base * 2^(attempt-1)");
	ok(capped, "delays never exceed maxDelayMs");
	ok(varies, "the jitter varies the delay");

	in.attempt = 1;
	in.random = 0;
	is_int(httpRetryDecide(&policy, &in).delayMs, 50,
		   "attempt 1, no jitter: half the base");
	in.attempt = 3;
	is_int(httpRetryDecide(&policy, &in).delayMs, 200,
		   "attempt 3, no jitter: half of 4 * base");
	in.status = 429;
	in.attempt = 1;
	is_int(httpRetryDecide(&policy, &in).delayMs, 200,
		   "429 backs off from four times the base");
	in.status = 503;
	in.errorCode = "SlowDown";
	is_int(httpRetryDecide(&policy, &in).delayMs, 200,
		   "SlowDown backs off from four times the base");
	in.errorCode = "";
	in.retryAfterMs = 3000;
	is_int(httpRetryDecide(&policy, &in).delayMs, 3000,
		   "Retry-After longer than the backoff is waited for");
	in.retryAfterMs = 60000;
	is_int(httpRetryDecide(&policy, &in).delayMs, 5000,
		   "Retry-After is capped by retryAfterMaxMs");
	in.retryAfterMs = 0;
	is_int(httpRetryDecide(&policy, &in).delayMs, 50,
		   "Retry-After: 0 keeps the backoff");

	def = httpRetryPolicyResolve(NULL);
	ok(def.maxAttempts == 5 && def.baseDelayMs == 100 &&
	   def.maxDelayMs == 10000 && def.retryAfterMaxMs == 30000,
	   "defaults: 5 attempts, 100 ms base, 10 s cap, 30 s Retry-After cap");
}

static void
testRetryAfter(void)
{
	int64		now = curl_getdate("Wed, 21 Oct 2015 07:28:00 GMT", NULL);

	is_int(httpRetryAfterParse("120", now), 120000, "Retry-After in seconds");
	is_int(httpRetryAfterParse(" 0 ", now), 0, "Retry-After: 0");
	is_int(httpRetryAfterParse("Wed, 21 Oct 2015 07:28:30 GMT", now), 30000,
		   "Retry-After as an HTTP-date 30 s ahead");
	is_int(httpRetryAfterParse("Wed, 21 Oct 2015 07:00:00 GMT", now), 0,
		   "Retry-After as a past HTTP-date: now");
	is_int(httpRetryAfterParse("soon", now), -1, "garbage is ignored");
	is_int(httpRetryAfterParse("12abc", now), -1, "digits then garbage are ignored");
	is_int(httpRetryAfterParse("", now), -1, "empty is ignored");
	is_int(httpRetryAfterParse(NULL, now), -1, "absent is ignored");
	is_int(httpRetryAfterParse("99999999999999999999999", now), 86400000,
		   "a huge number is capped at a day, not wrapped");
}

/* Whether s contains none of the secrets. */
static bool
noSecret(const char *s)
{
	static const char *const secrets[] = {
		"s3cr3tSIG", "AKIDEXAMPLE/20150830", "FQoGZXIvYXdzE", "hunter2",
		"wJalrXUtnFEMI", "c2VjcmV0a2V5"
	};

	for (size_t i = 0; i < lengthof(secrets); i++)
		if (strstr(s, secrets[i]) != NULL)
		{
			diag("secret %s left in: %s", secrets[i], s);
			return false;
		}
	return true;
}

static void
testRedaction(void)
{
	const char *sas = "https://acct.blob.core.windows.net/c/backup/x?sv=2021-08-06&ss=b&sp=rwdl&se=2030-01-01T00:00:00Z&sig=s3cr3tSIG%2Bx%3D";
	const char *presigned = "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request&X-Amz-Security-Token=FQoGZXIvYXdzE&X-Amz-Signature=s3cr3tSIG&list-type=2";
	char	   *r;

	r = track(httpRedactUrl(sas));
	is_str(r, "https://acct.blob.core.windows.net/c/backup/x?sv=2021-08-06&ss=b&sp=rwdl&se=2030-01-01T00:00:00Z&sig=REDACTED",
		   "SAS URL: sig hidden, the rest kept");
	r = track(httpRedactUrl(presigned));
	is_str(r, "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=REDACTED&X-Amz-Security-Token=REDACTED&X-Amz-Signature=REDACTED&list-type=2",
		   "presigned URL: credential, token and signature hidden");
	r = track(httpRedactUrl("http://admin:hunter2@127.0.0.1:9000/bucket/a?x=1#frag"));
	is_str(r, "http://REDACTED@127.0.0.1:9000/bucket/a?x=1#frag",
		   "userinfo hidden, query and fragment kept");
	r = track(httpRedactUrl("http://127.0.0.1:9000/bucket/a%20b"));
	is_str(r, "http://127.0.0.1:9000/bucket/a%20b", "a URL without secrets is unchanged");
	r = track(httpRedactUrl("https://h/b?continuation-token=abc&prefix=archive%2F"));
	is_str(r, "https://h/b?continuation-token=REDACTED&prefix=archive%2F",
		   "any parameter named like a token is hidden");
	r = track(httpRedactUrl("https://h/b?delete&sig"));
	is_str(r, "https://h/b?delete&sig", "parameters without values are kept");

	r = track(httpRedactHeader("Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, Signature=s3cr3tSIG"));
	is_str(r, "Authorization: REDACTED", "Authorization hidden");
	r = track(httpRedactHeader("x-amz-security-token: FQoGZXIvYXdzE"));
	is_str(r, "x-amz-security-token: REDACTED", "x-amz-security-token hidden");
	r = track(httpRedactHeader("x-ms-encryption-key: c2VjcmV0a2V5"));
	is_str(r, "x-ms-encryption-key: REDACTED", "x-ms-encryption-key hidden");
	r = track(httpRedactHeader("X-Amz-Server-Side-Encryption-Customer-Key: c2VjcmV0a2V5"));
	is_str(r, "X-Amz-Server-Side-Encryption-Customer-Key: REDACTED",
		   "SSE-C key hidden (any case)");
	r = track(httpRedactHeader("Cookie: session=hunter2"));
	is_str(r, "Cookie: REDACTED", "Cookie hidden");
	r = track(httpRedactHeader("x-amz-date: 20150830T123600Z"));
	is_str(r, "x-amz-date: 20150830T123600Z", "other headers kept");
	r = track(httpRedactHeader("no colon here"));
	is_str(r, "no colon here", "a line without a name is kept");

	r = track(httpRedactText("Failed to connect to acct.blob.core.windows.net port 443 after 3 ms: GET https://acct.blob.core.windows.net/c/x?sig=s3cr3tSIG&sv=1 refused"));
	ok(noSecret(r) && strstr(r, "sig=REDACTED&sv=1 refused") != NULL,
	   "a URL inside a message is redacted, the words around it kept");
	r = track(httpRedactText("token was sv=2021&sig=s3cr3tSIG, see above"));
	ok(noSecret(r) && strstr(r, "sv=2021&sig=REDACTED, see above") != NULL,
	   "a bare SAS query inside text is redacted");
	r = track(httpRedactText("sent Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830, Signature=s3cr3tSIG\nnext line"));
	is_str(r, "sent Authorization: REDACTED\nnext line",
		   "an Authorization header in text is hidden to the end of its line");
	r = track(httpRedactText("x-amz-security-token: FQoGZXIvYXdzE"));
	ok(noSecret(r), "a token header in text is hidden");
	r = track(httpRedactText("server said: HTTP 503 (SlowDown)"));
	is_str(r, "server said: HTTP 503 (SlowDown)", "plain text unchanged");
}

static void
testBuilding(void)
{
	StringInfoData buf;
	HttpHeaders h;

	initStringInfo(&buf);
	httpUrlEncode(&buf, "AZaz09-._~ /+=&?%\xc3\xa9", false);
	is_str(buf.data, "AZaz09-._~%20%2F%2B%3D%26%3F%25%C3%A9",
		   "encoded: unreserved kept, space %%20, slash and UTF-8 escaped");
	resetStringInfo(&buf);
	httpUrlEncode(&buf, "archive/wal/0000000100000000/a b", true);
	is_str(buf.data, "archive/wal/0000000100000000/a%20b", "slashes kept in paths");

	resetStringInfo(&buf);
	appendStringInfoString(&buf, "http://127.0.0.1:9000/bucket");
	httpUrlQueryAdd(&buf, "list-type", "2");
	httpUrlQueryAdd(&buf, "prefix", "archive/wal/");
	httpUrlQueryAdd(&buf, "continuation-token", "");
	is_str(buf.data, "http://127.0.0.1:9000/bucket?list-type=2&prefix=archive%2Fwal%2F&continuation-token=",
		   "query: ? first, then &, values encoded, empty values keep =");
	pfree(buf.data);

	httpHeadersInit(&h);
	for (int i = 0; i < 20; i++)
		httpHeadersAdd(&h, "x-test", "%d-%s", i, "v");
	ok(h.count == 20 && h.lines[20] == NULL, "headers grow and stay NULL-terminated");
	is_str(h.lines[0], "x-test: 0-v", "header line formatted");
	is_str(h.lines[19], "x-test: 19-v", "last header line formatted");
	httpHeadersFree(&h);
}

static void
testResponse(void)
{
	const char *headers = "Content-Length: 12\r\nx-amz-request-id: 4442587FB7D0A2F9\r\nETag:  \"abc\"  \r\nlast: x";
	const char *xml = "<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
	HttpResponse resp;
	HttpRequest req;
	HttpClientParam param = {.service = "s3"};
	HttpClient *client;
	DrError		err;
	char		code[64];
	char	   *v;

	v = track(httpHeaderGet(headers, "etag"));
	is_str(v, "\"abc\"", "header found without case, spaces trimmed");
	v = track(httpHeaderGet(headers, "X-AMZ-REQUEST-ID"));
	is_str(v, "4442587FB7D0A2F9", "request id header found");
	v = track(httpHeaderGet(headers, "last"));
	is_str(v, "x", "last line without CRLF read");
	ok(httpHeaderGet(headers, "content") == NULL, "a prefix of a name does not match");
	ok(httpHeaderGet(headers, "retry-after") == NULL, "missing header is NULL");

	httpErrorCodeFind(NULL, "", xml, strlen(xml), code, sizeof(code));
	is_str(code, "SlowDown", "<Code> read from an S3 error document");
	httpErrorCodeFind(NULL, "x-ms-error-code: ServerBusy\r\n", "", 0, code, sizeof(code));
	is_str(code, "ServerBusy", "x-ms-error-code read");
	httpErrorCodeFind(NULL, "x-amz-error-code: NoSuchKey\r\n", NULL, 0, code, sizeof(code));
	is_str(code, "NoSuchKey", "x-amz-error-code read (HEAD has no body)");
	httpErrorCodeFind(NULL, "", "<html>oops</html>", 17, code, sizeof(code));
	is_str(code, "", "no code in a body without one");

	client = httpClientNew(&param, &err);
	ok(client != NULL, "client made (libcurl initialized)");
	memset(&req, 0, sizeof(req));
	req.method = "PUT";
	req.url = "https://acct.blob.core.windows.net/c/x?sv=1&sig=s3cr3tSIG";
	memset(&resp, 0, sizeof(resp));
	resp.status = 403;
	strcpy(resp.errorCode, "AuthenticationFailed");
	strcpy(resp.requestId, "rid-1");
	httpResponseError(client, &req, &resp, DR_ERR_PERMISSION, &err);
	is_str(err.message, "s3 PUT \"https://acct.blob.core.windows.net/c/x?sv=1&sig=REDACTED\" failed: HTTP 403 (AuthenticationFailed), request id rid-1",
		   "httpResponseError: status, code, request id, URL redacted");
	is_int(err.code, DR_ERR_PERMISSION, "httpResponseError keeps the code given");
	httpClientFree(client);
}

int
main(void)
{
	testRetryTable();
	testRetryDelays();
	testRetryAfter();
	testRedaction();
	testBuilding();
	testResponse();
	trackFree();
	return tapDone();
}
