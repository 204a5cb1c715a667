/*-------------------------------------------------------------------------
 * http_message.c
 *	  What the HTTP layer says (http_internal.h): the error of a request
 *	  that failed for good, by kind (transport, status, clock skew, TLS,
 *	  no rewind), and the notice of a retry.  Every URL and libcurl message
 *	  in them goes through redaction (http_redact.c), so no secret of a
 *	  request reaches a log line or an error.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <time.h>

#include "storage/http/http_internal.h"

/* The URL's host name, for TLS messages (palloc'd). */
static char *
httpUrlHost(const char *url)
{
	CURLU	   *u = curl_url();
	char	   *host = NULL;
	char	   *result;

	if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK)
		curl_url_get(u, CURLUPART_HOST, &host, 0);
	result = pstrdup(host != NULL ? host : "?");
	if (host != NULL)
		curl_free(host);
	if (u != NULL)
		curl_url_cleanup(u);
	return result;
}

/* ", request id X" or "" */
static const char *
ridText(const HttpResponse *r, char *buf, size_t size)
{
	if (r->requestId[0] == '\0')
		return "";
	snprintf(buf, size, ", request id %s", r->requestId);
	return buf;
}

/* Every URL and libcurl message goes through redaction. */
bool
httpFail(HttpClient *c, const HttpRequest *req, const HttpResponse *resp,
		 const HttpRetryDecision *d, int curlCode, DrError *err)
{
	char	   *url = httpRedactUrl(req->url);
	char	   *detail = httpRedactText(c->errbuf[0] != '\0' ? c->errbuf :
										curl_easy_strerror((CURLcode) curlCode));
	char		attempts[64] = "";
	char		rid[160];

	if (resp->attempts > 1)
		snprintf(attempts, sizeof(attempts), " after %d attempts", resp->attempts);

	switch (d->kind)
	{
		case HTTP_FAIL_STATUS:
			drErrorSet(err, DR_ERR_IO, "%s %s \"%s\" failed%s: HTTP %ld%s%s%s%s",
					   c->service, req->method, url, attempts, resp->status,
					   resp->errorCode[0] ? " (" : "", resp->errorCode,
					   resp->errorCode[0] ? ")" : "",
					   ridText(resp, rid, sizeof(rid)));
			drErrorHint(err, "the server kept failing; try again later, or check its health");
			break;
		case HTTP_FAIL_CLOCK_SKEW:
			{
				char	   *date = httpHeaderGet(resp->headers, "date");
				time_t		server = date != NULL ? curl_getdate(date, NULL) : -1;

				if (server != -1)
					drErrorSet(err, DR_ERR_CONFIG,
							   "%s refused %s \"%s\" because this host's clock is %+ld seconds off the server's (RequestTimeTooSkewed%s)",
							   c->service, req->method, url,
							   (long) (time(NULL) - server),
							   ridText(resp, rid, sizeof(rid)));
				else
					drErrorSet(err, DR_ERR_CONFIG,
							   "%s refused %s \"%s\" because this host's clock is too far off the server's (RequestTimeTooSkewed%s)",
							   c->service, req->method, url,
							   ridText(resp, rid, sizeof(rid)));
				drErrorHint(err, "synchronize this host's clock (NTP); requests are signed with the time and refused when it is more than 15 minutes off");
				if (date != NULL)
					pfree(date);
			}
			break;
		case HTTP_FAIL_TLS:
			{
				char	   *host = httpUrlHost(req->url);
				bool		nameWrong = strstr(detail, "name") != NULL;

				drErrorSet(err, DR_ERR_CONFIG,
						   "%s: the TLS certificate of \"%s\" was not accepted%s: %s",
						   c->service, host,
						   nameWrong ? " (it is not issued for this host name)" :
						   " (not signed by a trusted CA)", detail);
				if (nameWrong)
					drErrorHint(err, "use in the endpoint the host name the server's certificate was issued for");
				else
					drErrorHint(err, "give the repository the CA that signed the server's certificate (its ca_file or ca_path setting)%s",
								c->caFile == NULL && c->caPath == NULL ?
								"; the system's CAs were used" : "");
				pfree(host);
			}
			break;
		case HTTP_FAIL_TLS_SETUP:
			drErrorSet(err, DR_ERR_CONFIG, "%s: TLS could not be set up%s%s%s: %s",
					   c->service,
					   c->caFile != NULL ? " with CA file \"" : "",
					   c->caFile != NULL ? c->caFile : "",
					   c->caFile != NULL ? "\"" : "", detail);
			drErrorHint(err, "the CA file must be a readable PEM file of certificates");
			break;
		case HTTP_FAIL_NO_REWIND:
			if (curlCode != 0)
				drErrorSet(err, DR_ERR_IO,
						   "%s %s \"%s\" failed (%s) and cannot be retried: its body was streamed from a source that cannot start again, or its answer to a sink that cannot",
						   c->service, req->method, url, detail);
			else
				drErrorSet(err, DR_ERR_IO,
						   "%s %s \"%s\" failed (HTTP %ld%s) and cannot be retried: its body was streamed from a source that cannot start again",
						   c->service, req->method, url, resp->status,
						   ridText(resp, rid, sizeof(rid)));
			break;
		case HTTP_FAIL_TRANSPORT:
			drErrorSet(err, DR_ERR_IO, "%s %s \"%s\" failed%s: %s: %s",
					   c->service, req->method, url, attempts, d->reason, detail);
			drErrorHint(err, "check that the endpoint is reachable from this host");
			break;
		case HTTP_FAIL_NONE:
		case HTTP_FAIL_LOCAL:
			drErrorSet(err, curlCode == CURLE_URL_MALFORMAT ||
					   curlCode == CURLE_UNSUPPORTED_PROTOCOL ?
					   DR_ERR_INVALID : DR_ERR_INTERNAL,
					   "%s %s \"%s\" failed: %s", c->service, req->method,
					   url, detail);
			break;
	}
	pfree(url);
	pfree(detail);
	return false;
}

void
httpRetryNotice(HttpClient *c, const DrHost *host, const HttpRequest *req,
				const HttpResponse *resp, const HttpRetryDecision *d,
				int curlCode)
{
	char	   *url;
	char	   *detail;
	char	   *msg;
	char		rid[160];

	if (host == NULL || host->notice == NULL)
		return;
	url = httpRedactUrl(req->url);
	if (curlCode != 0)
		detail = httpRedactText(c->errbuf[0] != '\0' ? c->errbuf :
								curl_easy_strerror((CURLcode) curlCode));
	else
		detail = psprintf("HTTP %ld%s%s%s%s", resp->status,
						  resp->errorCode[0] ? " (" : "", resp->errorCode,
						  resp->errorCode[0] ? ")" : "",
						  ridText(resp, rid, sizeof(rid)));
	msg = psprintf("retrying %s %s \"%s\" in %d ms (attempt %d of %d): %s",
				   c->service, req->method, url, d->delayMs,
				   resp->attempts + 1, c->retry.maxAttempts, detail);
	hostNotice(host, msg);
	pfree(msg);
	pfree(detail);
	pfree(url);
}
