/*-------------------------------------------------------------------------
 * http_retry.c
 *	  When the HTTP layer tries a request again, and after how long: a pure
 *	  function of what the last attempt gave (http.h), unit tested in
 *	  test/unit/test_http.c without a network.
 *
 * The table (first matching row wins):
 *	 - the host cancelled, our own callback failed, the URL is malformed,
 *	   memory ran out: fail, never retried (trying again changes nothing);
 *	 - TLS: the certificate or host name did not verify, or the CA file
 *	   cannot be used: fail (a configuration to fix, not a passing fault);
 *	 - an answer came:
 *		 - "RequestTimeTooSkewed" (any status): fail as clock skew; a new
 *		   signature from the same clock would be refused the same way;
 *		 - 5xx (but 501 and 505, which a retry does not change), 408, 429,
 *		   or the code "SlowDown" / "Throttling" /
 *		   "ServerBusy" whatever the status: retry;
 *		 - anything else (2xx, 3xx, other 4xx): done, the caller reads it;
 *	 - no answer (connection refused or reset, timeout, nothing received,
 *	   a send or receive error, TLS handshake cut): retry.
 * A retry becomes a failure when the attempts are used up, or when the
 * request body cannot be sent again or the response sink cannot start
 * again (HttpRetryInput.canResend; a body streamed from a source without
 * rewind): a half-sent stream must never be completed by a different one.
 *
 * Delays: equal jitter over a capped exponential backoff, at least the
 * Retry-After the server asked for (capped); throttling answers (429,
 * SlowDown) back off from four times the base delay, since the server said
 * it is the request rate that is the problem.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <ctype.h>
#include <curl/curl.h>

#include "storage/http/http.h"

HttpRetryPolicy
httpRetryPolicyResolve(const HttpRetryPolicy *policy)
{
	HttpRetryPolicy p = {0};

	if (policy != NULL)
		p = *policy;
	if (p.maxAttempts <= 0)
		p.maxAttempts = HTTP_RETRY_MAX_ATTEMPTS;
	if (p.baseDelayMs <= 0)
		p.baseDelayMs = HTTP_RETRY_BASE_DELAY_MS;
	if (p.maxDelayMs <= 0)
		p.maxDelayMs = HTTP_RETRY_MAX_DELAY_MS;
	if (p.retryAfterMaxMs <= 0)
		p.retryAfterMaxMs = HTTP_RETRY_AFTER_MAX_MS;
	return p;
}

bool
httpStatusRetryable(long status)
{
	/* 501 Not Implemented and 505 HTTP Version Not Supported stay so */
	if (status == 501 || status == 505)
		return false;
	return status >= 500 || status == 408 || status == 429;
}

/* Service codes that mean "too many requests, slow down". */
static bool
codeIsThrottle(const char *code)
{
	return code != NULL &&
		(strcmp(code, "SlowDown") == 0 ||
		 strcmp(code, "Throttling") == 0 ||
		 strcmp(code, "ThrottlingException") == 0 ||
		 strcmp(code, "ServerBusy") == 0 ||
		 strcmp(code, "RequestLimitExceeded") == 0);
}

/*
 * What a curl result without an answer means: the fail kind, and whether
 * it is a passing fault (retry) or not.  Codes not listed are failures.
 */
static HttpFailKind
curlCodeKind(int code, bool *transient, const char **reason)
{
	*transient = false;
	switch ((CURLcode) code)
	{
		case CURLE_COULDNT_RESOLVE_HOST:
			*reason = "host name not resolved";
			*transient = true;
			return HTTP_FAIL_TRANSPORT;
		case CURLE_COULDNT_CONNECT:
			*reason = "connection refused or unreachable";
			*transient = true;
			return HTTP_FAIL_TRANSPORT;
		case CURLE_OPERATION_TIMEDOUT:
			*reason = "timeout";
			*transient = true;
			return HTTP_FAIL_TRANSPORT;
		case CURLE_GOT_NOTHING:
			*reason = "connection closed without an answer";
			*transient = true;
			return HTTP_FAIL_TRANSPORT;
		case CURLE_SEND_ERROR:
			*reason = "connection reset while sending";
			*transient = true;
			return HTTP_FAIL_TRANSPORT;
		case CURLE_RECV_ERROR:
			*reason = "connection reset while receiving";
			*transient = true;
			return HTTP_FAIL_TRANSPORT;
		case CURLE_PARTIAL_FILE:
			*reason = "answer cut short";
			*transient = true;
			return HTTP_FAIL_TRANSPORT;
		case CURLE_SSL_CONNECT_ERROR:
			*reason = "TLS handshake failed";
			*transient = true;
			return HTTP_FAIL_TRANSPORT;
		case CURLE_HTTP2:
		case CURLE_HTTP2_STREAM:
		case CURLE_WEIRD_SERVER_REPLY:
			*reason = "malformed answer";
			*transient = true;
			return HTTP_FAIL_TRANSPORT;
		case CURLE_PEER_FAILED_VERIFICATION:
			*reason = "TLS certificate not verified";
			return HTTP_FAIL_TLS;
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_SSL_CIPHER:
		case CURLE_SSL_ENGINE_NOTFOUND:
			*reason = "TLS setup failed";
			return HTTP_FAIL_TLS_SETUP;
		case CURLE_SEND_FAIL_REWIND:
			*reason = "request body cannot be sent again";
			return HTTP_FAIL_NO_REWIND;
		case CURLE_ABORTED_BY_CALLBACK:
			*reason = "cancelled";
			return HTTP_FAIL_LOCAL;
		case CURLE_READ_ERROR:
			*reason = "request body source failed";
			return HTTP_FAIL_LOCAL;
		case CURLE_WRITE_ERROR:
			*reason = "response sink failed";
			return HTTP_FAIL_LOCAL;
		default:
			*reason = "request failed";
			return HTTP_FAIL_LOCAL;
	}
}

HttpRetryDecision
httpRetryDecide(const HttpRetryPolicy *policyIn, const HttpRetryInput *in)
{
	HttpRetryPolicy policy = httpRetryPolicyResolve(policyIn);
	HttpRetryDecision d = {HTTP_RETRY_DONE, HTTP_FAIL_NONE, 0, "ok"};
	bool		throttled = false;
	int64		exp;
	int64		delay;

	if (in->curlCode != 0)
	{
		bool		transient;

		d.kind = curlCodeKind(in->curlCode, &transient, &d.reason);
		if (!transient)
		{
			d.action = HTTP_RETRY_FAIL;
			return d;
		}
	}
	else
	{
		const char *code = in->errorCode != NULL ? in->errorCode : "";

		if (strcmp(code, "RequestTimeTooSkewed") == 0)
		{
			d.action = HTTP_RETRY_FAIL;
			d.kind = HTTP_FAIL_CLOCK_SKEW;
			d.reason = "clock skew";
			return d;
		}
		throttled = in->status == 429 || codeIsThrottle(code);
		if (!throttled && !httpStatusRetryable(in->status))
			return d;			/* final: the caller's to read */
		d.kind = HTTP_FAIL_STATUS;
		d.reason = throttled ? "throttled" : "server error";
	}

	/* worth another attempt: if there is one, and the request can be resent */
	if (in->attempt >= policy.maxAttempts)
	{
		d.action = HTTP_RETRY_FAIL;
		return d;
	}
	if (!in->canResend)
	{
		d.action = HTTP_RETRY_FAIL;
		d.kind = HTTP_FAIL_NO_REWIND;
		return d;
	}

	/* base * 2^(attempt-1), capped; the shift bounded so it cannot overflow */
	exp = (int64) policy.baseDelayMs * (throttled ? 4 : 1);
	exp <<= Min(in->attempt - 1, 20);
	exp = Min(exp, (int64) policy.maxDelayMs);
	delay = exp / 2 + (int64) (in->random % (uint32) (exp / 2 + 1));
	if (in->retryAfterMs >= 0)
		delay = Max(delay, Min(in->retryAfterMs, (int64) policy.retryAfterMaxMs));
	d.action = HTTP_RETRY_AGAIN;
	d.delayMs = (int) delay;
	return d;
}

int64
httpRetryAfterParse(const char *value, int64 now)
{
	const char *p;
	time_t		when;

	if (value == NULL)
		return -1;
	while (*value == ' ' || *value == '\t')
		value++;
	if (*value == '\0')
		return -1;

	/* delay-seconds: digits only (a long number is capped, not wrapped) */
	for (p = value; isdigit((unsigned char) *p); p++)
		;
	if (p > value)
	{
		int64		seconds = 0;

		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p != '\0')
			return -1;
		for (p = value; isdigit((unsigned char) *p); p++)
		{
			seconds = seconds * 10 + (*p - '0');
			if (seconds > 86400)
				return (int64) 86400 * 1000;
		}
		return seconds * 1000;
	}

	/* HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT"), libcurl's parser */
	when = curl_getdate(value, NULL);
	if (when == -1)
		return -1;
	return when <= now ? 0 : ((int64) when - now) * 1000;
}
