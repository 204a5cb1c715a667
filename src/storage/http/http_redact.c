/*-------------------------------------------------------------------------
 * http_redact.c
 *	  Secrets taken out of URLs, header lines and free text before any of
 *	  them reaches a message (http.h: httpRedactUrl, httpRedactHeader,
 *	  httpRedactText).
 *
 * What counts as a secret is decided by name, generously: a header or a
 * query parameter whose name merely could carry a credential is hidden
 * (a KMS key id or a list continuation token is hidden too; losing them
 * from a message costs a little debugging, a leaked SAS signature or
 * session token costs the repository).  Names are compared without case.
 *	 - headers: authorization, proxy-authorization, cookie, set-cookie, and
 *	   any name containing "token", "key", "secret", "signature",
 *	   "credential" or "password" (x-amz-security-token,
 *	   x-amz-server-side-encryption-customer-key, x-ms-encryption-key,
 *	   x-goog-...-key);
 *	 - query parameters: "sig" (Azure SAS), and any name containing
 *	   "signature", "credential", "token", "key", "secret", "password" or
 *	   "auth" (X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token of a
 *	   presigned URL);
 *	 - the userinfo of a URL ("user:password@").
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <ctype.h>

#include "lib/stringinfo.h"
#include "storage/http/http.h"

/* Whether name (len bytes) contains word, without case. */
static bool
nameContains(const char *name, size_t len, const char *word)
{
	size_t		wlen = strlen(word);

	for (size_t i = 0; i + wlen <= len; i++)
		if (pg_strncasecmp(name + i, word, wlen) == 0)
			return true;
	return false;
}

static bool
nameIs(const char *name, size_t len, const char *word)
{
	return strlen(word) == len && pg_strncasecmp(name, word, len) == 0;
}

bool
httpNameIsSecret(const char *name, size_t len, bool isQuery)
{
	static const char *const common[] = {
		"token", "key", "secret", "signature", "credential", "password"
	};

	for (size_t i = 0; i < lengthof(common); i++)
		if (nameContains(name, len, common[i]))
			return true;
	if (isQuery)
		return nameIs(name, len, "sig") || nameContains(name, len, "auth");
	return nameIs(name, len, "authorization") ||
		nameIs(name, len, "proxy-authorization") ||
		nameIs(name, len, "cookie") ||
		nameIs(name, len, "set-cookie");
}

/*
 * Append url[0..len) to buf redacted: userinfo and secret query values.
 * A fragment ("#...") is kept as it is (it is never sent).
 */
static void
redactUrlInto(StringInfo buf, const char *url, size_t len)
{
	const char *end = url + len;
	const char *p = url;
	const char *scheme = NULL;
	const char *q;

	/* userinfo: between "://" and the last '@' before the path */
	for (q = url; q + 3 <= end; q++)
		if (q[0] == ':' && q[1] == '/' && q[2] == '/')
		{
			scheme = q + 3;
			break;
		}
	if (scheme != NULL)
	{
		const char *hostEnd = scheme;
		const char *at = NULL;

		while (hostEnd < end && *hostEnd != '/' && *hostEnd != '?' &&
			   *hostEnd != '#')
		{
			if (*hostEnd == '@')
				at = hostEnd;
			hostEnd++;
		}
		appendBinaryStringInfo(buf, url, scheme - url);
		if (at != NULL)
		{
			appendStringInfoString(buf, HTTP_REDACTED);
			p = at;
		}
		else
			p = scheme;
	}

	/* up to the query, as it is */
	for (q = p; q < end && *q != '?'; q++)
		;
	appendBinaryStringInfo(buf, p, q - p);
	p = q;

	/* the query: each name=value, the value hidden when the name says so */
	while (p < end && *p != '#')
	{
		const char *name;
		const char *eq;
		const char *next;

		appendStringInfoChar(buf, *p);	/* '?' or '&' */
		name = ++p;
		for (next = p; next < end && *next != '&' && *next != '#'; next++)
			;
		for (eq = name; eq < next && *eq != '='; eq++)
			;
		if (eq < next && httpNameIsSecret(name, eq - name, true))
		{
			appendBinaryStringInfo(buf, name, eq - name + 1);
			appendStringInfoString(buf, HTTP_REDACTED);
		}
		else
			appendBinaryStringInfo(buf, name, next - name);
		p = next;
	}
	appendBinaryStringInfo(buf, p, end - p);
}

char *
httpRedactUrl(const char *url)
{
	StringInfoData buf;

	initStringInfo(&buf);
	redactUrlInto(&buf, url, strlen(url));
	return buf.data;
}

char *
httpRedactHeader(const char *line)
{
	const char *colon = strchr(line, ':');
	size_t		nameLen;

	if (colon == NULL)
		return pstrdup(line);
	nameLen = colon - line;
	while (nameLen > 0 && isspace((unsigned char) line[nameLen - 1]))
		nameLen--;
	if (!httpNameIsSecret(line, nameLen, false))
		return pstrdup(line);
	return psprintf("%.*s: %s", (int) (colon - line), line, HTTP_REDACTED);
}

/* Characters that end a URL or a word in free text. */
static bool
isWordEnd(char c)
{
	return c == '\0' || isspace((unsigned char) c) || c == '"' ||
		c == '\'' || c == '<' || c == '>' || c == '(' || c == ')' ||
		c == ',';
}

/* Characters of a header name. */
static bool
isNameChar(char c)
{
	return isalnum((unsigned char) c) || c == '-' || c == '_';
}

char *
httpRedactText(const char *text)
{
	StringInfoData buf;
	const char *p = text;

	initStringInfo(&buf);
	while (*p != '\0')
	{
		const char *w;
		const char *e;

		/* copy the separators as they are */
		if (isWordEnd(*p))
		{
			appendStringInfoChar(&buf, *p++);
			continue;
		}
		for (w = p, e = p; !isWordEnd(*e); e++)
			;

		/* "Name:" of a secret header: hide the rest of the line */
		if (e > w + 1 && e[-1] == ':')
		{
			const char *n;

			for (n = w; n < e - 1 && isNameChar(*n); n++)
				;
			if (n == e - 1 && httpNameIsSecret(w, n - w, false))
			{
				appendBinaryStringInfo(&buf, w, e - w);
				appendStringInfoChar(&buf, ' ');
				appendStringInfoString(&buf, HTTP_REDACTED);
				while (*e != '\0' && *e != '\n')
					e++;
				p = e;
				continue;
			}
		}

		/* a URL, or a path with a query */
		if (memchr(w, '?', e - w) != NULL || memchr(w, '@', e - w) != NULL)
			redactUrlInto(&buf, w, e - w);
		else if (memchr(w, '=', e - w) != NULL)
		{
			/* a bare query ("sv=...&sig=..."): redacted as one */
			char	   *query = psprintf("?%.*s", (int) (e - w), w);
			StringInfoData one;

			initStringInfo(&one);
			redactUrlInto(&one, query, strlen(query));
			appendStringInfoString(&buf, one.data + 1);
			pfree(one.data);
			pfree(query);
		}
		else
			appendBinaryStringInfo(&buf, w, e - w);
		p = e;
	}
	return buf.data;
}
