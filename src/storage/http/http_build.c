/*-------------------------------------------------------------------------
 * http_build.c
 *	  Building requests: URL encoding and query parameters, header lines
 *	  (http.h).  Pure string work, no libcurl.
 *
 * The encoding is RFC 3986's, the one every signer wants (SigV4, Azure
 * Shared Key): only unreserved characters pass unencoded, hex digits in
 * upper case, a space is %20 (never '+').
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "lib/stringinfo.h"
#include "storage/http/http.h"

void
httpUrlEncode(StringInfo buf, const char *s, bool keepSlash)
{
	static const char hexDigits[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *) s; *p != '\0'; p++)
	{
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			(*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
			*p == '_' || *p == '~' || (keepSlash && *p == '/'))
			appendStringInfoChar(buf, (char) *p);
		else
		{
			appendStringInfoChar(buf, '%');
			appendStringInfoChar(buf, hexDigits[*p >> 4]);
			appendStringInfoChar(buf, hexDigits[*p & 0xF]);
		}
	}
}

void
httpUrlQueryAdd(StringInfo buf, const char *name, const char *value)
{
	appendStringInfoChar(buf, strchr(buf->data, '?') != NULL ? '&' : '?');
	httpUrlEncode(buf, name, false);
	appendStringInfoChar(buf, '=');
	if (value != NULL)
		httpUrlEncode(buf, value, false);
}

void
httpHeadersInit(HttpHeaders *headers)
{
	headers->size = 8;
	headers->count = 0;
	headers->lines = palloc0(sizeof(char *) * headers->size);
}

void
httpHeadersAdd(HttpHeaders *headers, const char *name, const char *fmt,...)
{
	StringInfoData line;

	/* one slot is always left for the terminating NULL */
	if (headers->count + 1 >= headers->size)
	{
		headers->size *= 2;
		headers->lines = repalloc(headers->lines,
								  sizeof(char *) * headers->size);
	}
	initStringInfo(&line);
	appendStringInfo(&line, "%s: ", name);
	for (;;)
	{
		va_list		ap;
		int			needed;

		va_start(ap, fmt);
		needed = appendStringInfoVA(&line, fmt, ap);
		va_end(ap);
		if (needed == 0)
			break;
		enlargeStringInfo(&line, needed);
	}
	headers->lines[headers->count++] = line.data;
	headers->lines[headers->count] = NULL;
}

void
httpHeadersFree(HttpHeaders *headers)
{
	for (int i = 0; i < headers->count; i++)
		pfree(unconstify(char *, headers->lines[i]));
	pfree(headers->lines);
	headers->lines = NULL;
	headers->count = headers->size = 0;
}
