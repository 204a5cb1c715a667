/*-------------------------------------------------------------------------
 * ha_conninfo.c
 *	  A connection string with its passwords hidden (see ha_conninfo.h).
 *	  The two forms libpq reads: "key = value ..." (values bare, or quoted
 *	  with '...' and backslash escapes) and URIs (postgresql:// or
 *	  postgres://).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <ctype.h>

#include "ha/ha_conninfo.h"
#include "lib/stringinfo.h"

static bool
haConninfoSecret(const char *key, size_t len)
{
	return (len == 8 && pg_strncasecmp(key, "password", 8) == 0) ||
		(len == 11 && pg_strncasecmp(key, "sslpassword", 11) == 0);
}

static char *
haConninfoRedactUri(const char *s, size_t schemeLen)
{
	StringInfoData buf;
	const char *p = s + schemeLen;
	const char *authEnd = p + strcspn(p, "/?#");
	const char *at = NULL;
	const char *q;

	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, s, schemeLen);
	/* the last '@' of the authority ends the userinfo */
	for (q = p; q < authEnd; q++)
		if (*q == '@')
			at = q;
	if (at != NULL)
	{
		const char *colon = memchr(p, ':', at - p);

		if (colon != NULL)
		{
			appendBinaryStringInfo(&buf, p, colon + 1 - p);
			appendStringInfoString(&buf, HA_CONNINFO_REDACTED);
			p = at;
		}
	}
	q = strchr(p, '?');
	if (q == NULL)
	{
		appendStringInfoString(&buf, p);
		return buf.data;
	}
	appendBinaryStringInfo(&buf, p, q + 1 - p);
	p = q + 1;
	while (*p)
	{
		size_t		len = strcspn(p, "&#");
		const char *eq = memchr(p, '=', len);

		if (eq != NULL && haConninfoSecret(p, eq - p))
		{
			appendBinaryStringInfo(&buf, p, eq + 1 - p);
			appendStringInfoString(&buf, HA_CONNINFO_REDACTED);
		}
		else
			appendBinaryStringInfo(&buf, p, len);
		p += len;
		if (*p == '#')
		{
			appendStringInfoString(&buf, p);
			break;
		}
		if (*p == '&')
			appendStringInfoChar(&buf, *p++);
	}
	return buf.data;
}

char *
haConninfoRedact(const char *conninfo)
{
	StringInfoData buf;
	const char *p = conninfo;

	if (strncmp(conninfo, "postgresql://", 13) == 0)
		return haConninfoRedactUri(conninfo, 13);
	if (strncmp(conninfo, "postgres://", 11) == 0)
		return haConninfoRedactUri(conninfo, 11);

	initStringInfo(&buf);
	while (*p)
	{
		const char *key;
		size_t		keyLen;
		bool		secret;

		/* spaces, a keyword, spaces, '=', spaces */
		while (isspace((unsigned char) *p))
			appendStringInfoChar(&buf, *p++);
		if (*p == '\0')
			break;
		key = p;
		while (*p && *p != '=' && !isspace((unsigned char) *p))
			p++;
		keyLen = p - key;
		secret = haConninfoSecret(key, keyLen);
		appendBinaryStringInfo(&buf, key, keyLen);
		while (isspace((unsigned char) *p))
			appendStringInfoChar(&buf, *p++);
		if (*p != '=')
			continue;			/* not libpq's syntax: copied as is */
		appendStringInfoChar(&buf, *p++);
		while (isspace((unsigned char) *p))
			appendStringInfoChar(&buf, *p++);

		/* the value */
		if (*p == '\'')
		{
			const char *start = p++;

			while (*p && *p != '\'')
				p += (*p == '\\' && p[1]) ? 2 : 1;
			if (*p == '\0')
			{
				/* unterminated: hide the rest */
				appendStringInfoString(&buf, HA_CONNINFO_REDACTED);
				break;
			}
			p++;
			if (secret)
				appendStringInfo(&buf, "'%s'", HA_CONNINFO_REDACTED);
			else
				appendBinaryStringInfo(&buf, start, p - start);
		}
		else
		{
			const char *start = p;

			while (*p && !isspace((unsigned char) *p))
				p += (*p == '\\' && p[1]) ? 2 : 1;
			if (secret)
				appendStringInfoString(&buf, HA_CONNINFO_REDACTED);
			else
				appendBinaryStringInfo(&buf, start, p - start);
		}
	}
	return buf.data;
}
