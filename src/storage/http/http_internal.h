/*-------------------------------------------------------------------------
 * http_internal.h
 *	  Shared between the files of src/storage/http/ only.
 *-------------------------------------------------------------------------
 */
#ifndef DR_HTTP_INTERNAL_H
#define DR_HTTP_INTERNAL_H

#include <curl/curl.h>
#include <unistd.h>

#include "storage/http/http.h"

/* A client (http.h); its connections live in easy and multi. */
struct HttpClient
{
	char	   *service;
	char	   *caFile;
	char	   *caPath;
	char	   *proxy;
	int			connectTimeoutMs;
	int			lowSpeedLimit;
	int			lowSpeedTimeS;
	int			totalTimeoutMs;
	HttpRetryPolicy retry;
	HttpErrorCodeFunc errorCode;
	void	   *errorCodeArg;
	const DrHost *host;

	CURL	   *easy;
	CURLM	   *multi;
	pid_t		pid;			/* the process that owns the connections */
	uint64		random;			/* xorshift state for the jitter */
	char		errbuf[CURL_ERROR_SIZE];
};

/*
 * The error of a request that failed for good (http_message.c), by the
 * decision's kind; always returns false.
 */
extern bool httpFail(HttpClient *c, const HttpRequest *req,
					 const HttpResponse *resp, const HttpRetryDecision *d,
					 int curlCode, DrError *err);

/* Tell the host a retry is coming (http_message.c). */
extern void httpRetryNotice(HttpClient *c, const DrHost *host,
							const HttpRequest *req, const HttpResponse *resp,
							const HttpRetryDecision *d, int curlCode);

/* The client's service name for messages ("s3"; "http" when not given). */
extern const char *httpClientService(const HttpClient *client);

/* Set response->requestId from its headers (http_response.c). */
extern void httpResponseIdsRead(HttpResponse *response);

#endif							/* DR_HTTP_INTERNAL_H */
