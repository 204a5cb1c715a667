/*-------------------------------------------------------------------------
 * http_probe.c
 *	  A test program of the HTTP layer (src/storage/http/): sends one
 *	  request, or the same one several times on one client, through
 *	  httpRequest() and prints what came back, for t/051_http_faults.pl.
 *	  Built by "make unit" and "make tapcheck" into build/test/; never
 *	  installed.
 *
 *	http_probe [options] METHOD URL
 *	  --body-size N          a body of N bytes (a fixed pattern)
 *	  --body-mode M          memory (default), stream (a source that can
 *	                         rewind), stream-norewind, chunked (a source
 *	                         of unknown length, rewindable)
 *	  --sink                 a 2xx answer's body to a sink (that can reset)
 *	  --sink-norewind        ... that cannot
 *	  --header 'Name: v'     (repeatable)
 *	  --ca-file F, --ca-path D
 *	  --attempts N, --base-delay MS, --max-delay MS
 *	  --connect-timeout MS, --low-speed-time S, --timeout MS
 *	  --repeat N             the request N times on the same client
 *	  --cancel-after MS      the host says "cancel" after MS milliseconds
 *
 * Prints per request "status=S attempts=A bytes=B sha256=H request_id=R
 * error_code=C rewinds=W resets=X" (sha256 of the answer's body) and
 * "sent_sha256=H" for the body sent; the layer's notices go to stderr as
 * "notice: ..."; a failure prints "error: <code>: <message>" and
 * "hint: ..." to stderr and exits 1.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <getopt.h>
#include <openssl/evp.h>
#include <sys/time.h>

#include "common/hex.h"
#include "storage/http/http.h"

typedef struct ProbeSource
{
	size_t		len;
	size_t		pos;
	int			rewinds;
} ProbeSource;

typedef struct ProbeSink
{
	EVP_MD_CTX *md;
	size_t		bytes;
	int			resets;
} ProbeSink;

static int64 cancelAt = 0;		/* ms since the epoch; 0: never */

static int64
nowMs(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64) tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static char
patternByte(size_t i)
{
	return (char) ((i * 31 + 7) % 251);
}

static ssize_t
sourceRead(void *arg, void *buf, size_t len, DrError *err)
{
	ProbeSource *src = arg;
	size_t		n = Min(len, src->len - src->pos);

	/* small pieces, so that a cut body is cut in the middle of a stream */
	n = Min(n, (size_t) 16384);
	for (size_t i = 0; i < n; i++)
		((char *) buf)[i] = patternByte(src->pos + i);
	src->pos += n;
	return (ssize_t) n;
}

static bool
sourceRewind(void *arg, DrError *err)
{
	ProbeSource *src = arg;

	src->pos = 0;
	src->rewinds++;
	return true;
}

static bool
sinkWrite(void *arg, const void *buf, size_t len, DrError *err)
{
	ProbeSink  *sink = arg;

	sink->bytes += len;
	EVP_DigestUpdate(sink->md, buf, len);
	return true;
}

static bool
sinkReset(void *arg, DrError *err)
{
	ProbeSink  *sink = arg;

	sink->bytes = 0;
	sink->resets++;
	EVP_DigestInit_ex(sink->md, EVP_sha256(), NULL);
	return true;
}

static bool
probeCancelled(void *arg)
{
	return cancelAt != 0 && nowMs() >= cancelAt;
}

static void
probeNotice(void *arg, const char *message)
{
	fprintf(stderr, "notice: %s\n", message);
}

static void
sha256Hex(EVP_MD_CTX *md, char *out)
{
	unsigned char digest[32];
	unsigned int len = 0;

	EVP_DigestFinal_ex(md, digest, &len);
	hexEncode(digest, len, HEX_LOWER, out);
}

static void
usage(void)
{
	fprintf(stderr, "usage: http_probe [options] METHOD URL (see test/tools/http_probe.c)\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{"body-size", required_argument, NULL, 'b'},
		{"body-mode", required_argument, NULL, 'm'},
		{"sink", no_argument, NULL, 's'},
		{"sink-norewind", no_argument, NULL, 'S'},
		{"header", required_argument, NULL, 'H'},
		{"ca-file", required_argument, NULL, 'c'},
		{"ca-path", required_argument, NULL, 'C'},
		{"attempts", required_argument, NULL, 'a'},
		{"base-delay", required_argument, NULL, 'd'},
		{"max-delay", required_argument, NULL, 'D'},
		{"connect-timeout", required_argument, NULL, 'T'},
		{"low-speed-time", required_argument, NULL, 'l'},
		{"timeout", required_argument, NULL, 't'},
		{"repeat", required_argument, NULL, 'r'},
		{"cancel-after", required_argument, NULL, 'x'},
		{NULL, 0, NULL, 0}
	};
	HttpClientParam param = {.service = "probe"};
	DrHost		host = {probeCancelled, NULL, probeNotice, NULL, NULL};
	HttpHeaders headers;
	size_t		bodySize = 0;
	const char *bodyMode = "memory";
	bool		useSink = false;
	bool		sinkRewind = true;
	int			repeat = 1;
	int			c;
	char	   *body = NULL;
	HttpClient *client;
	DrError		err;
	int			status = 0;

	httpHeadersInit(&headers);
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1)
	{
		switch (c)
		{
			case 'b':
				bodySize = strtoull(optarg, NULL, 10);
				break;
			case 'm':
				bodyMode = optarg;
				break;
			case 's':
				useSink = true;
				break;
			case 'S':
				useSink = true;
				sinkRewind = false;
				break;
			case 'H':
				{
					char	   *colon = strchr(optarg, ':');

					if (colon == NULL)
						usage();
					*colon = '\0';
					httpHeadersAdd(&headers, optarg, "%s", colon + 1 + strspn(colon + 1, " "));
				}
				break;
			case 'c':
				param.caFile = optarg;
				break;
			case 'C':
				param.caPath = optarg;
				break;
			case 'a':
				param.retry.maxAttempts = atoi(optarg);
				break;
			case 'd':
				param.retry.baseDelayMs = atoi(optarg);
				break;
			case 'D':
				param.retry.maxDelayMs = atoi(optarg);
				break;
			case 'T':
				param.connectTimeoutMs = atoi(optarg);
				break;
			case 'l':
				param.lowSpeedTimeS = atoi(optarg);
				break;
			case 't':
				param.totalTimeoutMs = atoi(optarg);
				break;
			case 'r':
				repeat = atoi(optarg);
				break;
			case 'x':
				cancelAt = nowMs() + atoi(optarg);
				break;
			default:
				usage();
		}
	}
	if (argc - optind != 2)
		usage();

	/* the body sent, and its digest */
	{
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		char		hex[65];

		body = palloc(bodySize + 1);
		for (size_t i = 0; i < bodySize; i++)
			body[i] = patternByte(i);
		EVP_DigestInit_ex(md, EVP_sha256(), NULL);
		EVP_DigestUpdate(md, body, bodySize);
		sha256Hex(md, hex);
		EVP_MD_CTX_free(md);
		printf("sent_sha256=%s\n", hex);
	}

	client = httpClientNew(&param, &err);
	if (client == NULL)
	{
		fprintf(stderr, "error: %s: %s\n", drErrorCodeName(err.code), err.message);
		return 1;
	}
	for (int i = 0; i < repeat && status == 0; i++)
	{
		HttpRequest req;
		HttpResponse resp;
		ProbeSource src = {bodySize, 0, 0};
		ProbeSink	sink = {EVP_MD_CTX_new(), 0, 0};
		char		hex[65];

		memset(&req, 0, sizeof(req));
		req.method = argv[optind];
		req.url = argv[optind + 1];
		req.headers = headers.lines;
		req.host = &host;
		if (strcmp(bodyMode, "memory") == 0)
		{
			req.body = body;
			req.bodyLen = bodySize;
		}
		else
		{
			req.bodySource.read = sourceRead;
			req.bodySource.arg = &src;
			req.bodySourceLen = strcmp(bodyMode, "chunked") == 0 ? -1 : (int64) bodySize;
			if (strcmp(bodyMode, "stream-norewind") != 0)
				req.bodyRewind = sourceRewind;
		}
		EVP_DigestInit_ex(sink.md, EVP_sha256(), NULL);
		if (useSink)
		{
			req.responseSink.write = sinkWrite;
			req.responseSink.arg = &sink;
			if (sinkRewind)
				req.responseReset = sinkReset;
		}
		req.responseMax = 64 * 1024 * 1024;

		if (!httpRequest(client, &req, &resp, &err))
		{
			fprintf(stderr, "error: %s: %s\n", drErrorCodeName(err.code), err.message);
			if (err.hint[0] != '\0')
				fprintf(stderr, "hint: %s\n", err.hint);
			printf("rewinds=%d resets=%d\n", src.rewinds, sink.resets);
			status = 1;
		}
		else
		{
			if (resp.body != NULL)
				EVP_DigestUpdate(sink.md, resp.body, resp.bodyLen);
			sha256Hex(sink.md, hex);
			printf("status=%ld attempts=%d bytes=%zu sha256=%s request_id=%s error_code=%s rewinds=%d resets=%d\n",
				   resp.status, resp.attempts, resp.bodyLen, hex,
				   resp.requestId[0] ? resp.requestId : "-",
				   resp.errorCode[0] ? resp.errorCode : "-",
				   src.rewinds, sink.resets);
			httpResponseFree(&resp);
		}
		EVP_MD_CTX_free(sink.md);
		fflush(stdout);
	}
	httpClientFree(client);
	httpHeadersFree(&headers);
	pfree(body);
	return status;
}
