/*-------------------------------------------------------------------------
 * http_response.c
 *	  Reading an answer (http.h): a header's value, the request id, the
 *	  service's error code, the error a driver raises for an answer it
 *	  does not accept.  Pure string work, no libcurl.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <ctype.h>

#include "storage/http/http.h"
#include "storage/http/http_internal.h"

/* The headers that carry a request id, by service, in the order tried. */
static const char *const requestIdHeaders[] = {
	"x-amz-request-id", "x-ms-request-id", "x-goog-request-id",
	"x-guploader-uploadid", "x-request-id"
};

char *
httpHeaderGet(const char *headers, const char *name)
{
	size_t		nameLen = strlen(name);
	const char *line = headers;

	while (line != NULL && *line != '\0')
	{
		const char *eol = strchr(line, '\n');
		const char *end = eol != NULL ? eol : line + strlen(line);

		if ((size_t) (end - line) > nameLen && line[nameLen] == ':' &&
			pg_strncasecmp(line, name, nameLen) == 0)
		{
			const char *v = line + nameLen + 1;

			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			while (end > v && isspace((unsigned char) end[-1]))
				end--;
			return pnstrdup(v, end - v);
		}
		line = eol != NULL ? eol + 1 : NULL;
	}
	return NULL;
}

void
httpResponseIdsRead(HttpResponse *response)
{
	response->requestId[0] = '\0';
	for (size_t i = 0; i < lengthof(requestIdHeaders); i++)
	{
		char	   *v = httpHeaderGet(response->headers, requestIdHeaders[i]);

		if (v != NULL)
		{
			/* ids are tokens; anything else is cut (no line breaks in logs) */
			size_t		n = 0;

			for (const char *p = v; *p != '\0' &&
				 n + 1 < sizeof(response->requestId); p++)
				if (isgraph((unsigned char) *p))
					response->requestId[n++] = *p;
			response->requestId[n] = '\0';
			pfree(v);
			break;
		}
	}
}

/* Copy the token of value into code (codeSize bytes), printable only. */
static void
codeCopy(char *code, size_t codeSize, const char *value, size_t len)
{
	size_t		n = 0;

	for (size_t i = 0; i < len && n + 1 < codeSize; i++)
		if (isalnum((unsigned char) value[i]) || value[i] == '.' ||
			value[i] == '_' || value[i] == '-')
			code[n++] = value[i];
	code[n] = '\0';
}

void
httpErrorCodeFind(void *arg, const char *headers, const char *body,
				  size_t bodyLen, char *code, size_t codeSize)
{
	static const char *const codeHeaders[] = {"x-ms-error-code", "x-amz-error-code"};
	const char *start;
	const char *end;

	code[0] = '\0';
	for (size_t i = 0; i < lengthof(codeHeaders); i++)
	{
		char	   *v = headers != NULL ? httpHeaderGet(headers, codeHeaders[i]) : NULL;

		if (v != NULL)
		{
			codeCopy(code, codeSize, v, strlen(v));
			pfree(v);
			if (code[0] != '\0')
				return;
		}
	}
	/* the body is NUL-terminated by the layer (HttpResponse.body) */
	if (body == NULL || bodyLen == 0)
		return;
	start = strstr(body, "<Code>");
	if (start == NULL)
		return;
	start += strlen("<Code>");
	end = strstr(start, "</Code>");
	if (end != NULL)
		codeCopy(code, codeSize, start, end - start);
}

bool
httpResponseError(const HttpClient *client, const HttpRequest *request,
				  const HttpResponse *response, DrErrorCode code,
				  DrError *err)
{
	char	   *url = httpRedactUrl(request->url);

	drErrorSet(err, code, "%s %s \"%s\" failed: HTTP %ld%s%s%s%s%s",
			   httpClientService(client), request->method, url,
			   response->status,
			   response->errorCode[0] != '\0' ? " (" : "",
			   response->errorCode,
			   response->errorCode[0] != '\0' ? ")" : "",
			   response->requestId[0] != '\0' ? ", request id " : "",
			   response->requestId);
	pfree(url);
	return false;
}

void
httpResponseFree(HttpResponse *response)
{
	if (response->headers != NULL)
		pfree(response->headers);
	if (response->body != NULL)
		pfree(response->body);
	response->headers = NULL;
	response->body = NULL;
}
