/*-------------------------------------------------------------------------
 * http.c
 *	  The HTTP client over libcurl (http.h): one easy handle and one multi
 *	  handle per client, requests sent with retries, cancel checked while
 *	  waiting.
 *
 * libcurl in the server and in the CLI.
 *	 - Linking: pg_dr.so links libcurl (SHLIB_LINK) and so does every
 *	   frontend program (FE_LIBS).  With shared_preload_libraries the
 *	   library is mapped into the postmaster, which is harmless: loading
 *	   Debian 12's libcurl and what it depends on (GnuTLS through librtmp,
 *	   LDAP, libssh2 ...) opens no file and starts no thread (checked:
 *	   /proc/self/fd and /proc/self/task before and after dlopen).
 *	 - Initialization: what must never happen in the postmaster is
 *	   curl_global_init() (it initializes libcurl's TLS and SSH
 *	   libraries), whose state every backend and worker would inherit
 *	   through fork(), made for another process.  So _PG_init does not
 *	   call it: httpClientNew() does, once per process, in the process
 *	   that sends requests (a backend, a backup or archive worker, the
 *	   archiver, the CLI).  PostgreSQL processes and the CLI are
 *	   single-threaded, which is what curl_global_init() asks.
 *	   curl_global_cleanup() is never called: a cleanup while another
 *	   client of the process lives would break it, and exit releases all.
 *	 - Signals: CURLOPT_NOSIGNAL always.  Without it libcurl may use
 *	   SIGALRM for name lookup timeouts (a build with the synchronous
 *	   resolver), which is PostgreSQL's timeout signal, and swaps the
 *	   SIGPIPE handler around its calls; with it, sockets are written with
 *	   MSG_NOSIGNAL and no handler is touched.  Debian's libcurl
 *	   resolves names in a short-lived thread of its own (the threaded
 *	   resolver, which is what makes name lookups time out without
 *	   signals); that thread calls getaddrinfo() only and touches nothing
 *	   of PostgreSQL's.
 *	 - fork(): a client's connections (and their TLS state) belong to the
 *	   process that opened them.  A client is bound to its creator's pid:
 *	   httpRequest() in another process fails, and httpClientFree() there
 *	   only frees memory, never closing (or sending TLS close_notify on)
 *	   the parent's sockets.  A forked child (a CLI restore job) makes
 *	   its own client.
 *	 - The environment: http_proxy and friends are ignored (CURLOPT_PROXY
 *	   is always set, "" for none): a server's environment is whatever
 *	   started the postmaster, and a request must go where the repository
 *	   configuration says.  Redirects are not followed, only http and
 *	   https are spoken, HTTP/1.1 only (what the test proxy and every
 *	   object store speak), no compressed answers.
 *	 - Waiting: requests run through the multi handle, polled every
 *	   HTTP_POLL_MS, so the host's cancel hook is asked while the network
 *	   is slow; a cancelled transfer is removed from the multi handle,
 *	   which closes its connection (no half-read answer is ever reused).
 *
 * Bodies.  A request body comes from memory (rewound by moving an offset)
 * or from a source (rewound only through the request's bodyRewind).  A
 * 2xx answer's body goes to the request's sink or to memory; an error
 * answer's body always to memory (HTTP_ERROR_BODY_MAX bytes kept), where
 * the service's error code is read.  libcurl itself may want to send a
 * body twice (a kept-alive connection found dead on reuse): it asks
 * through the seek callback, answered the same way.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <curl/curl.h>
#include <time.h>
#include <unistd.h>

#include "lib/stringinfo.h"
#include "storage/http/http.h"
#include "storage/http/http_internal.h"

#define HTTP_POLL_MS		100 /* cancel checked at least this often */

/* One attempt of a request: what the callbacks see. */
typedef struct HttpTransfer
{
	HttpClient *client;
	const HttpRequest *request;

	/* request body */
	size_t		bodyPos;		/* memory body: next byte to send */
	bool		bodyBegun;		/* a source body: bytes were taken */
	bool		bodyFailed;		/* the source failed: bodyErr */
	DrError		bodyErr;

	/* answer */
	StringInfoData headers;
	StringInfoData body;		/* memory body (error answers always) */
	size_t		sinkBytes;		/* bytes given to the sink */
	bool		sinkFailed;		/* the sink failed, or memory overflowed */
	DrError		sinkErr;
} HttpTransfer;

static bool httpCurlReady = false;

/* libcurl's global state, once in this process (see the banner). */
static bool
httpGlobalInit(DrError *err)
{
	CURLcode	rc;

	if (httpCurlReady)
		return true;
	rc = curl_global_init(CURL_GLOBAL_DEFAULT);
	if (rc != CURLE_OK)
		return drErrorSet(err, DR_ERR_INTERNAL, "could not initialize libcurl: %s",
						  curl_easy_strerror(rc));
	httpCurlReady = true;
	return true;
}

static char *
pstrdupOrNull(const char *s)
{
	return s != NULL && s[0] != '\0' ? pstrdup(s) : NULL;
}

HttpClient *
httpClientNew(const HttpClientParam *param, DrError *err)
{
	HttpClient *client;
	uint64		seed = 0;

	if (!httpGlobalInit(err))
		return NULL;
	client = palloc0(sizeof(HttpClient));
	client->service = pstrdup(param->service != NULL ? param->service : "http");
	client->caFile = pstrdupOrNull(param->caFile);
	client->caPath = pstrdupOrNull(param->caPath);
	client->proxy = pstrdupOrNull(param->proxy);
	client->connectTimeoutMs = param->connectTimeoutMs > 0 ?
		param->connectTimeoutMs : HTTP_CONNECT_TIMEOUT_MS;
	client->lowSpeedLimit = param->lowSpeedLimit > 0 ?
		param->lowSpeedLimit : HTTP_LOW_SPEED_LIMIT;
	client->lowSpeedTimeS = param->lowSpeedTimeS > 0 ?
		param->lowSpeedTimeS : HTTP_LOW_SPEED_TIME_S;
	client->totalTimeoutMs = Max(param->totalTimeoutMs, 0);
	client->retry = httpRetryPolicyResolve(&param->retry);
	client->errorCode = param->errorCode != NULL ? param->errorCode : httpErrorCodeFind;
	client->errorCodeArg = param->errorCodeArg;
	client->host = param->host;
	client->pid = getpid();

	/* jitter needs no strength, only different values per process */
	if (!pg_strong_random(&seed, sizeof(seed)))
		seed = (uint64) getpid() * 0x9E3779B97F4A7C15ULL ^ (uint64) time(NULL);
	client->random = seed | 1;

	client->easy = curl_easy_init();
	client->multi = curl_multi_init();
	if (client->easy == NULL || client->multi == NULL)
	{
		httpClientFree(client);
		drErrorSet(err, DR_ERR_INTERNAL, "could not create a libcurl handle");
		return NULL;
	}
	return client;
}

void
httpClientFree(HttpClient *client)
{
	if (client == NULL)
		return;
	/* in a forked child the handles are the parent's: memory only */
	if (client->pid == getpid())
	{
		if (client->easy != NULL)
			curl_easy_cleanup(client->easy);
		if (client->multi != NULL)
			curl_multi_cleanup(client->multi);
	}
	pfree(client->service);
	if (client->caFile)
		pfree(client->caFile);
	if (client->caPath)
		pfree(client->caPath);
	if (client->proxy)
		pfree(client->proxy);
	pfree(client);
}

const char *
httpClientService(const HttpClient *client)
{
	return client->service;
}

static uint32
httpRandom(HttpClient *client)
{
	uint64		x = client->random;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	client->random = x;
	return (uint32) (x >> 32);
}

/* libcurl callbacks */

static size_t
httpReadCallback(char *buf, size_t size, size_t nitems, void *arg)
{
	HttpTransfer *t = arg;
	const HttpRequest *req = t->request;
	size_t		want = size * nitems;
	ssize_t		n;

	if (req->bodySource.read == NULL)
	{
		size_t		left = req->bodyLen - t->bodyPos;

		n = Min(want, left);
		if (n > 0)
			memcpy(buf, (const char *) req->body + t->bodyPos, n);
		t->bodyPos += n;
		return n;
	}
	t->bodyBegun = true;
	n = req->bodySource.read(req->bodySource.arg, buf, want, &t->bodyErr);
	if (n < 0)
	{
		t->bodyFailed = true;
		return CURL_READFUNC_ABORT;
	}
	return n;
}

/* libcurl wants the body again from offset (only 0 is ever asked). */
static int
httpSeekCallback(void *arg, curl_off_t offset, int origin)
{
	HttpTransfer *t = arg;
	const HttpRequest *req = t->request;

	if (origin != SEEK_SET || offset < 0)
		return CURL_SEEKFUNC_CANTSEEK;
	if (req->bodySource.read == NULL)
	{
		if ((size_t) offset > req->bodyLen)
			return CURL_SEEKFUNC_FAIL;
		t->bodyPos = offset;
		return CURL_SEEKFUNC_OK;
	}
	if (offset != 0 || req->bodyRewind == NULL)
		return CURL_SEEKFUNC_CANTSEEK;
	if (!req->bodyRewind(req->bodySource.arg, &t->bodyErr))
	{
		t->bodyFailed = true;
		return CURL_SEEKFUNC_FAIL;
	}
	return CURL_SEEKFUNC_OK;
}

static size_t
httpHeaderCallback(char *buf, size_t size, size_t nitems, void *arg)
{
	HttpTransfer *t = arg;
	size_t		len = size * nitems;

	/* a status line begins an answer (after a 100 Continue, a new one) */
	if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0)
		resetStringInfo(&t->headers);
	else if (t->headers.len + len < HTTP_HEADERS_MAX)
		appendBinaryStringInfo(&t->headers, buf, len);
	return len;
}

static size_t
httpWriteCallback(char *buf, size_t size, size_t nitems, void *arg)
{
	HttpTransfer *t = arg;
	const HttpRequest *req = t->request;
	size_t		len = size * nitems;
	long		status = 0;
	size_t		max;

	curl_easy_getinfo(t->client->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300)
	{
		if (req->responseSink.write != NULL)
		{
			t->sinkBytes += len;
			if (!req->responseSink.write(req->responseSink.arg, buf, len,
										 &t->sinkErr))
			{
				t->sinkFailed = true;
				return CURL_WRITEFUNC_ERROR;
			}
			return len;
		}
		max = req->responseMax > 0 ? req->responseMax : HTTP_RESPONSE_MAX_DEFAULT;
		if (t->body.len + len > max)
		{
			char	   *url = httpRedactUrl(req->url);

			drErrorSet(&t->sinkErr, DR_ERR_INVALID,
					   "%s %s \"%s\": answer larger than %zu bytes",
					   t->client->service, req->method, url, max);
			pfree(url);
			t->sinkFailed = true;
			return CURL_WRITEFUNC_ERROR;
		}
		appendBinaryStringInfo(&t->body, buf, len);
		return len;
	}
	/* an error document: its beginning is enough to read the code */
	if (t->body.len < HTTP_ERROR_BODY_MAX)
		appendBinaryStringInfo(&t->body, buf,
							   Min(len, (size_t) (HTTP_ERROR_BODY_MAX - t->body.len)));
	return len;
}

/* Options of one attempt, from a reset handle (no option left over). */
static bool
httpSetup(HttpTransfer *t, struct curl_slist **slist, DrError *err)
{
	HttpClient *c = t->client;
	const HttpRequest *req = t->request;
	CURL	   *h = c->easy;
	bool		hasBody = req->bodySource.read != NULL || req->bodyLen > 0;
	curl_off_t	bodyLen = req->bodySource.read != NULL ?
		(curl_off_t) req->bodySourceLen : (curl_off_t) req->bodyLen;
	bool		hasContentType = false;
	CURLcode	rc = CURLE_OK;

	curl_easy_reset(h);
	c->errbuf[0] = '\0';

	/* headers: the caller's, then what suppresses libcurl's defaults */
	*slist = NULL;
	for (const char *const *line = req->headers; line != NULL && *line != NULL; line++)
	{
		struct curl_slist *next = curl_slist_append(*slist, *line);

		if (next == NULL)
			return drErrorSet(err, DR_ERR_INTERNAL, "out of memory");
		*slist = next;
		if (pg_strncasecmp(*line, "content-type:", 13) == 0)
			hasContentType = true;
	}
	/* no "Expect: 100-continue" round trip; no unsigned Content-Type */
	*slist = curl_slist_append(*slist, "Expect:");
	if (*slist != NULL && !hasContentType)
		*slist = curl_slist_append(*slist, "Content-Type:");
	if (*slist == NULL)
		return drErrorSet(err, DR_ERR_INTERNAL, "out of memory");

#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(h, opt, val); } while (0)
	SET(CURLOPT_URL, req->url);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ERRORBUFFER, c->errbuf);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1);
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_PROXY, c->proxy != NULL ? c->proxy : "");
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long) c->connectTimeoutMs);
	SET(CURLOPT_LOW_SPEED_LIMIT, (long) c->lowSpeedLimit);
	SET(CURLOPT_LOW_SPEED_TIME, (long) c->lowSpeedTimeS);
	SET(CURLOPT_TIMEOUT_MS, (long) c->totalTimeoutMs);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->caFile != NULL)
		SET(CURLOPT_CAINFO, c->caFile);
	if (c->caPath != NULL)
		SET(CURLOPT_CAPATH, c->caPath);
	SET(CURLOPT_HTTPHEADER, *slist);
	SET(CURLOPT_HEADERFUNCTION, httpHeaderCallback);
	SET(CURLOPT_HEADERDATA, t);
	SET(CURLOPT_WRITEFUNCTION, httpWriteCallback);
	SET(CURLOPT_WRITEDATA, t);
	SET(CURLOPT_READFUNCTION, httpReadCallback);
	SET(CURLOPT_READDATA, t);
	SET(CURLOPT_SEEKFUNCTION, httpSeekCallback);
	SET(CURLOPT_SEEKDATA, t);

	/* the method, and how the body goes (a length of -1: chunked) */
	if (strcmp(req->method, "HEAD") == 0)
		SET(CURLOPT_NOBODY, 1L);
	else if (strcmp(req->method, "POST") == 0)
	{
		SET(CURLOPT_POST, 1L);
		SET(CURLOPT_POSTFIELDSIZE_LARGE, hasBody ? bodyLen : (curl_off_t) 0);
	}
	else if (strcmp(req->method, "PUT") == 0 || hasBody)
	{
		SET(CURLOPT_UPLOAD, 1L);
		SET(CURLOPT_INFILESIZE_LARGE, hasBody ? bodyLen : (curl_off_t) 0);
		if (strcmp(req->method, "PUT") != 0)
			SET(CURLOPT_CUSTOMREQUEST, req->method);
	}
	else if (strcmp(req->method, "GET") == 0)
		SET(CURLOPT_HTTPGET, 1L);
	else
		SET(CURLOPT_CUSTOMREQUEST, req->method);
#undef SET

	if (rc != CURLE_OK)
		return drErrorSet(err, DR_ERR_INTERNAL, "could not set up an HTTP request: %s",
						  curl_easy_strerror(rc));
	return true;
}

/*
 * Run the transfer through the multi handle, asking the host between
 * polls.  Returns the CURLcode; *cancelled when the host said stop.
 */
static CURLcode
httpPerform(HttpClient *c, const DrHost *host, bool *cancelled, DrError *err)
{
	CURLcode	result = CURLE_OK;
	CURLMcode	mc;
	int			running = 1;
	CURLMsg    *msg;
	int			left;

	*cancelled = false;
	mc = curl_multi_add_handle(c->multi, c->easy);
	if (mc != CURLM_OK)
	{
		drErrorSet(err, DR_ERR_INTERNAL, "libcurl: %s", curl_multi_strerror(mc));
		return CURLE_FAILED_INIT;
	}
	while (running > 0)
	{
		mc = curl_multi_perform(c->multi, &running);
		if (mc != CURLM_OK)
			break;
		if (running == 0)
			break;
		if (hostCancelled(host))
		{
			*cancelled = true;
			break;
		}
		mc = curl_multi_poll(c->multi, NULL, 0, HTTP_POLL_MS, NULL);
		if (mc != CURLM_OK)
			break;
	}
	if (mc != CURLM_OK)
	{
		drErrorSet(err, DR_ERR_INTERNAL, "libcurl: %s", curl_multi_strerror(mc));
		result = CURLE_FAILED_INIT;
	}
	else if (!*cancelled)
	{
		result = CURLE_GOT_NOTHING;
		while ((msg = curl_multi_info_read(c->multi, &left)) != NULL)
			if (msg->msg == CURLMSG_DONE && msg->easy_handle == c->easy)
				result = msg->data.result;
	}
	/* removing a transfer that did not finish closes its connection */
	curl_multi_remove_handle(c->multi, c->easy);
	return result;
}

/* Sleep ms, asking the host every HTTP_POLL_MS; false when cancelled. */
static bool
httpSleep(const DrHost *host, int ms)
{
	while (ms > 0)
	{
		int			step = Min(ms, HTTP_POLL_MS);

		if (hostCancelled(host))
			return false;
		pg_usleep(step * 1000L);
		ms -= step;
	}
	return !hostCancelled(host);
}

/* Start the body and the sink again for a retry. */
static bool
httpRestart(const HttpRequest *req, HttpTransfer *t, DrError *err)
{
	if (t->bodyBegun && req->bodyRewind != NULL &&
		!req->bodyRewind(req->bodySource.arg, err))
		return false;
	if (t->sinkBytes > 0 && req->responseReset != NULL &&
		!req->responseReset(req->responseSink.arg, err))
		return false;
	return true;
}

bool
httpRequest(HttpClient *c, const HttpRequest *req, HttpResponse *resp,
			DrError *err)
{
	HttpTransfer t;
	const DrHost *host = req->host != NULL ? req->host : c->host;
	bool		ok = false;

	memset(resp, 0, sizeof(*resp));
	if (c->pid != getpid())
		return drErrorSet(err, DR_ERR_INTERNAL,
						  "an HTTP client was used in a process it was not made in");

	memset(&t, 0, sizeof(t));
	t.client = c;
	t.request = req;
	initStringInfo(&t.headers);
	initStringInfo(&t.body);

	for (;;)
	{
		struct curl_slist *slist = NULL;
		HttpRetryInput in;
		HttpRetryDecision d;
		CURLcode	rc;
		bool		cancelled;
		char	   *retryAfter;

		if (resp->attempts > 0 && !httpRestart(req, &t, err))
			break;
		t.bodyPos = 0;
		t.bodyBegun = false;
		t.sinkBytes = 0;
		resetStringInfo(&t.headers);
		resetStringInfo(&t.body);
		resp->attempts++;

		if (!httpSetup(&t, &slist, err))
		{
			curl_slist_free_all(slist);
			break;
		}
		rc = httpPerform(c, host, &cancelled, err);
		curl_slist_free_all(slist);
		if (cancelled)
		{
			drErrorSet(err, DR_ERR_CANCELED, "%s %s cancelled", c->service, req->method);
			break;
		}
		if (t.bodyFailed)
		{
			*err = t.bodyErr;
			break;
		}
		if (t.sinkFailed)
		{
			*err = t.sinkErr;
			break;
		}

		/* what came back, if anything */
		resp->status = 0;
		if (rc == CURLE_OK)
			curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &resp->status);
		resp->headers = t.headers.data;
		resp->body = t.body.data;
		resp->bodyLen = t.body.len;
		httpResponseIdsRead(resp);
		resp->errorCode[0] = '\0';
		if (rc == CURLE_OK && resp->status >= 300)
			c->errorCode(c->errorCodeArg, t.headers.data, t.body.data,
						 t.body.len, resp->errorCode, sizeof(resp->errorCode));

		memset(&in, 0, sizeof(in));
		in.attempt = resp->attempts;
		in.curlCode = rc;
		in.status = resp->status;
		in.errorCode = resp->errorCode;
		retryAfter = httpHeaderGet(t.headers.data, "retry-after");
		in.retryAfterMs = httpRetryAfterParse(retryAfter, (int64) time(NULL));
		if (retryAfter != NULL)
			pfree(retryAfter);
		in.canResend = (req->bodySource.read == NULL || !t.bodyBegun ||
						req->bodyRewind != NULL) &&
			(t.sinkBytes == 0 || req->responseReset != NULL);
		in.random = httpRandom(c);
		d = httpRetryDecide(&c->retry, &in);

		if (d.action == HTTP_RETRY_DONE)
		{
			/* the answer is the caller's: its memory moves to *resp */
			if (req->responseSink.write != NULL && resp->status < 300)
			{
				resp->body = NULL;
				resp->bodyLen = t.sinkBytes;
				pfree(t.body.data);
			}
			t.headers.data = NULL;
			t.body.data = NULL;
			ok = true;
			break;
		}
		if (d.action == HTTP_RETRY_FAIL)
		{
			httpFail(c, req, resp, &d, rc, err);
			break;
		}
		httpRetryNotice(c, host, req, resp, &d, rc);
		if (!httpSleep(host, d.delayMs))
		{
			drErrorSet(err, DR_ERR_CANCELED, "%s %s cancelled", c->service, req->method);
			break;
		}
	}

	if (!ok)
	{
		/* nothing of a failed request is kept */
		if (t.headers.data != NULL)
			pfree(t.headers.data);
		if (t.body.data != NULL)
			pfree(t.body.data);
		resp->headers = NULL;
		resp->body = NULL;
	}
	return ok;
}
