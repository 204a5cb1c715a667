/*-------------------------------------------------------------------------
 * http.h
 *	  The one HTTP client of pg_dr, over libcurl: what the object-store
 *	  drivers (and later the etcd client and webhooks) send requests with.
 *
 * One HttpClient per repository (or per peer): it keeps a libcurl easy
 * handle and a multi handle, so that its connections are kept alive from
 * one request to the next.  A client is used by one process at a time and
 * never across fork(): a child makes its own (http.c says why).
 *
 * A request (HttpRequest) has a method, an absolute URL (already encoded:
 * httpUrlEncode), header lines, and a body taken from memory or streamed
 * from a CodecSource (bounded memory: multipart parts, big PUTs).  The
 * response body goes to memory, bounded by responseMax (XML listings,
 * error documents), or, for a 2xx answer, to a CodecSink (GET of big
 * objects, ranged reads with a "Range:" header).  An error answer's body
 * always goes to memory, so the driver can read the service's error code.
 *
 * httpRequest() retries by itself (http_retry.c: connection errors,
 * resets, timeouts, 5xx, 408, 429, S3 "SlowDown"; capped exponential
 * backoff with jitter; Retry-After honoured) as long as the body can be
 * sent again (memory, or a source with a rewind callback) and the response
 * sink can start again (nothing delivered yet, or a reset callback).  It
 * returns true with the final answer in *response whatever its status
 * when that status is not one to retry (a 404 or a 403 is the driver's to
 * interpret), and false with err filled when the transport failed for
 * good, a retryable status persisted past the last attempt, the clock is
 * skewed (RequestTimeTooSkewed: never retried), TLS verification failed
 * (a wrong CA or host name, said as such), or the host cancelled
 * (DR_ERR_CANCELED, checked while waiting on the network and between
 * attempts).
 *
 * No secret is ever written by this layer: every message it produces (its
 * errors, its retry notices) shows URLs and headers through the redaction
 * functions below (Authorization, security tokens, keys, SAS signatures).
 *-------------------------------------------------------------------------
 */
#ifndef DR_HTTP_H
#define DR_HTTP_H

#include "common/codec.h"
#include "common/error.h"
#include "common/host.h"

typedef struct HttpClient HttpClient;

/*
 * How a client retries.  Zero fields take the defaults in parentheses.
 * The delay before attempt n+1 is half of min(maxDelayMs, baseDelayMs *
 * 2^(n-1)) plus a random part of up to the other half ("equal jitter": the
 * clients that failed together do not come back together, and no delay is
 * near zero); SlowDown and 429 start from 4 * baseDelayMs; a Retry-After
 * longer than that is waited for, up to retryAfterMaxMs.
 */
typedef struct HttpRetryPolicy
{
	int			maxAttempts;	/* attempts in all, the first included (5) */
	int			baseDelayMs;	/* (100) */
	int			maxDelayMs;		/* cap of the backoff (10000) */
	int			retryAfterMaxMs;	/* cap of a Retry-After (30000) */
} HttpRetryPolicy;

#define HTTP_RETRY_MAX_ATTEMPTS		5
#define HTTP_RETRY_BASE_DELAY_MS	100
#define HTTP_RETRY_MAX_DELAY_MS		10000
#define HTTP_RETRY_AFTER_MAX_MS		30000

/*
 * The service error code of an error answer ("SlowDown",
 * "RequestTimeTooSkewed", "ServerBusy"), written to code (codeSize
 * bytes, "" when none).  The driver that knows the service's error format
 * supplies it (HttpClientParam.errorCode); without one, httpErrorCodeFind
 * is used.
 */
typedef void (*HttpErrorCodeFunc) (void *arg, const char *headers,
								   const char *body, size_t bodyLen,
								   char *code, size_t codeSize);

typedef struct HttpClientParam
{
	const char *service;		/* names the peer in messages: "s3", "azure" */
	/* TLS: the peer's certificate and host name are always verified */
	const char *caFile;			/* PEM bundle; NULL: the system's */
	const char *caPath;			/* directory of hashed certificates */
	/* timeouts; 0 takes the default in parentheses */
	int			connectTimeoutMs;	/* (10000) */
	int			lowSpeedLimit;	/* bytes/s below which ... (1) */
	int			lowSpeedTimeS;	/* ... for this long is a timeout (60);
								 * libcurl averages the speed over the
								 * last 5 s, so a stall after data flowed
								 * is seen up to 5 s later */
	int			totalTimeoutMs; /* one attempt, whole; 0: none */
	const char *proxy;			/* NULL: none (the environment's
								 * http_proxy is ignored) */
	HttpRetryPolicy retry;
	HttpErrorCodeFunc errorCode;	/* NULL: httpErrorCodeFind */
	void	   *errorCodeArg;
	const DrHost *host;			/* cancel checks and retry notices, for
								 * requests that bring none */
} HttpClientParam;

#define HTTP_CONNECT_TIMEOUT_MS		10000
#define HTTP_LOW_SPEED_LIMIT		1
#define HTTP_LOW_SPEED_TIME_S		60

typedef struct HttpRequest
{
	const char *method;			/* "GET", "PUT", "HEAD", "POST", "DELETE" */
	const char *url;			/* absolute, encoded */
	/* "Name: value" lines; a NULL-terminated array, or NULL for none */
	const char *const *headers;

	/* body from memory (bodyLen bytes; body may be NULL when bodyLen is 0) */
	const void *body;
	size_t		bodyLen;
	/*
	 * ... or streamed from a source (when bodySource.read is set):
	 * bodySourceLen bytes, or -1 for a length not known in advance (sent
	 * chunked).  bodyRewind, when set, starts the source again from its
	 * first byte; without it, a request whose body was begun is not
	 * retried.
	 */
	CodecSource bodySource;
	int64		bodySourceLen;
	bool		(*bodyRewind) (void *arg, DrError *err);	/* gets
															 * bodySource.arg */

	/*
	 * Where a 2xx answer's body goes: responseSink when set, else memory
	 * (HttpResponse.body), failing with DR_ERR_INVALID past responseMax
	 * bytes (0: 1 MiB).  responseReset, when set, discards what the sink
	 * was given so that a retry can deliver the body again; without it a
	 * request is not retried once bytes reached the sink.
	 */
	CodecSink	responseSink;
	bool		(*responseReset) (void *arg, DrError *err);	/* gets
																 * responseSink.arg */
	size_t		responseMax;

	/* the operation's host hooks (cancel, notices); NULL: the client's */
	const DrHost *host;
} HttpRequest;

#define HTTP_RESPONSE_MAX_DEFAULT	(1024 * 1024)
#define HTTP_ERROR_BODY_MAX			(64 * 1024)
#define HTTP_HEADERS_MAX			(32 * 1024)

typedef struct HttpResponse
{
	long		status;			/* 200, 404, ... */
	char	   *headers;		/* palloc'd "name: value\r\n" lines of the
								 * final answer (at most HTTP_HEADERS_MAX) */
	char	   *body;			/* palloc'd, NUL-terminated; NULL when the
								 * body went to the sink */
	size_t		bodyLen;		/* bytes in body, or given to the sink */
	char		requestId[128]; /* x-amz-request-id, x-ms-request-id, ...; ""
								 * when none */
	char		errorCode[64];	/* the service's error code, "" when none */
	int			attempts;		/* how many were made */
} HttpResponse;

/*
 * A client.  Initializes libcurl in this process on first use (never in
 * the postmaster: http.c).  err: DR_ERR_INTERNAL when libcurl cannot start.
 */
extern HttpClient *httpClientNew(const HttpClientParam *param, DrError *err);
extern void httpClientFree(HttpClient *client);

/* Send a request, retrying as the policy says (see above). */
extern bool httpRequest(HttpClient *client, const HttpRequest *request,
						HttpResponse *response, DrError *err);
extern void httpResponseFree(HttpResponse *response);	/* its contents */

/*
 * The value of a response header (case-insensitive name), palloc'd, or
 * NULL when absent.  Works on HttpResponse.headers.
 */
extern char *httpHeaderGet(const char *headers, const char *name);

/*
 * DrError for an answer the driver does not accept: "<service> <method>
 * <url> failed: HTTP 403 Forbidden (AccessDenied), request id X"; code is
 * the DrError code (e.g. DR_ERR_PERMISSION), the URL redacted.
 */
extern bool httpResponseError(const HttpClient *client,
							  const HttpRequest *request,
							  const HttpResponse *response,
							  DrErrorCode code, DrError *err);

/*
 * The default service error code finder: an "x-ms-error-code" or
 * "x-amz-error-code" header, else the text of the first <Code> element of
 * an XML body (S3, GCS and Azure error documents all have one).
 */
extern void httpErrorCodeFind(void *arg, const char *headers,
							  const char *body, size_t bodyLen,
							  char *code, size_t codeSize);

/*
 * URLs (http_url.c).  httpUrlEncode appends s to buf percent-encoded as
 * RFC 3986 wants (unreserved characters A-Z a-z 0-9 - . _ ~ kept; '/' kept
 * when keepSlash, for object paths); httpUrlQueryAdd appends "?name=value"
 * or "&name=value", both encoded (an empty value gives "name=").
 */
struct StringInfoData;
extern void httpUrlEncode(struct StringInfoData *buf, const char *s,
						  bool keepSlash);
extern void httpUrlQueryAdd(struct StringInfoData *buf, const char *name,
							const char *value);

/*
 * Header lines for HttpRequest.headers: a palloc'd NULL-terminated array
 * that grows, and "Name: value" added to it (printf-style value).
 */
typedef struct HttpHeaders
{
	const char **lines;
	int			count;
	int			size;
} HttpHeaders;

extern void httpHeadersInit(HttpHeaders *headers);
extern void httpHeadersAdd(HttpHeaders *headers, const char *name,
						   const char *fmt,...) pg_attribute_printf(3, 4);
extern void httpHeadersFree(HttpHeaders *headers);

/*
 * Redaction (http_redact.c): what every message of this layer goes
 * through, and what a driver must use when it names a URL or a header.
 *	 - httpRedactUrl: the userinfo ("user:pass@") and the value of every
 *	   query parameter that can carry a secret (sig, signature, credential,
 *	   token, key, secret, password, auth in its name) become "REDACTED".
 *	 - httpRedactHeader: a "Name: value" line whose name can carry a secret
 *	   (authorization, cookie, token, key, secret, signature, credential
 *	   in its name) keeps its name only: "Name: REDACTED".
 *	 - httpRedactText: free text (a libcurl message, an error document),
 *	   with every URL in it redacted as httpRedactUrl does, and the value
 *	   after a sensitive header name ("Authorization: ...") up to the end
 *	   of the line.
 * Each returns a palloc'd copy.
 */
#define HTTP_REDACTED	"REDACTED"
extern char *httpRedactUrl(const char *url);
extern char *httpRedactHeader(const char *line);
extern char *httpRedactText(const char *text);
/* Whether a header or query parameter name can carry a secret. */
extern bool httpNameIsSecret(const char *name, size_t len, bool isQuery);

/*
 * Retries (http_retry.c): the decision after a failed attempt, a pure
 * function of what happened.
 */
typedef enum HttpRetryAction
{
	HTTP_RETRY_DONE,			/* the answer is final: give it to the caller */
	HTTP_RETRY_AGAIN,			/* wait delayMs, then try again */
	HTTP_RETRY_FAIL				/* fail with kind's error */
} HttpRetryAction;

typedef enum HttpFailKind
{
	HTTP_FAIL_NONE,
	HTTP_FAIL_TRANSPORT,		/* connection, reset, timeout: DR_ERR_IO */
	HTTP_FAIL_STATUS,			/* retryable status, attempts used up */
	HTTP_FAIL_CLOCK_SKEW,		/* RequestTimeTooSkewed: DR_ERR_CONFIG */
	HTTP_FAIL_TLS,				/* certificate not verified: DR_ERR_CONFIG */
	HTTP_FAIL_TLS_SETUP,		/* CA file unusable: DR_ERR_CONFIG */
	HTTP_FAIL_NO_REWIND,		/* would retry, but the body cannot be sent
								 * again (or the sink cannot start again) */
	HTTP_FAIL_LOCAL				/* our callback failed, bad URL, out of memory */
} HttpFailKind;

typedef struct HttpRetryInput
{
	int			attempt;		/* the attempt that just ended, from 1 */
	int			curlCode;		/* its CURLcode; 0 when an answer came */
	long		status;			/* HTTP status when an answer came */
	const char *errorCode;		/* service error code, "" or NULL: none */
	int64		retryAfterMs;	/* Retry-After, -1 when none */
	bool		canResend;		/* body and sink can start again */
	uint32		random;			/* jitter (the caller's random number) */
} HttpRetryInput;

typedef struct HttpRetryDecision
{
	HttpRetryAction action;
	HttpFailKind kind;			/* for HTTP_RETRY_FAIL, and the reason of a
								 * retry */
	int			delayMs;		/* for HTTP_RETRY_AGAIN */
	const char *reason;			/* a phrase: "HTTP 503", "connection reset" */
} HttpRetryDecision;

extern HttpRetryDecision httpRetryDecide(const HttpRetryPolicy *policy,
										 const HttpRetryInput *input);

/* Whether an HTTP status is worth another attempt (5xx but 501 and 505, 408, 429). */
extern bool httpStatusRetryable(long status);

/*
 * A Retry-After value (delay-seconds, or an HTTP-date compared with now)
 * in milliseconds; -1 when value is NULL or malformed, 0 for a past date.
 */
extern int64 httpRetryAfterParse(const char *value, int64 now);

/* The policy with its zero fields set to the defaults. */
extern HttpRetryPolicy httpRetryPolicyResolve(const HttpRetryPolicy *policy);

#endif							/* DR_HTTP_H */
