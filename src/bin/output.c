/*-------------------------------------------------------------------------
 * output.c
 *	  How the pg_dr CLI reports: errors on stderr, results on stdout, JSON
 *	  string literals.
 *
 * Errors use PostgreSQL's frontend logging, so they read like those of
 * the other PostgreSQL programs ("pg_dr: error: ...", "pg_dr: hint: ...")
 * and honour PG_COLOR.  Results are built in memory and written in one go
 * at the end, so that a command that fails half-way never leaves half a
 * JSON document on stdout.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <errno.h>

#include "bin/cli.h"
#include "common/logging.h"

void
cliErrorReport(const DrError *err)
{
	cliProgressBreak();
	if (err->code == DR_OK || err->message[0] == '\0')
		pg_log_error("operation failed without an error message");
	else
		pg_log_error("%s", err->message);
	if (err->hint[0] != '\0')
		pg_log_error_hint("%s", err->hint);
}

/*
 * Length of the valid UTF-8 sequence at s, or 0 if there is none.  Checks
 * what RFC 3629 forbids: overlong forms, surrogates, values past U+10FFFF.
 */
static int
cliUtf8SequenceLength(const unsigned char *s)
{
	int			len;
	int			i;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	else if (s[0] >= 0xC2 && s[0] <= 0xDF)
	{
		len = 2;
		cp = s[0] & 0x1F;
	}
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
	{
		len = 3;
		cp = s[0] & 0x0F;
	}
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
	{
		len = 4;
		cp = s[0] & 0x07;
	}
	else
		return 0;

	/* a NUL terminator stops this loop too: it is not a continuation byte */
	for (i = 1; i < len; i++)
	{
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}

	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		(cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		return 0;
	return len;
}

void
cliJsonString(StringInfo buf, const char *str)
{
	const unsigned char *p;

	if (str == NULL)
	{
		appendStringInfoString(buf, "null");
		return;
	}

	appendStringInfoChar(buf, '"');
	for (p = (const unsigned char *) str; *p != '\0';)
	{
		int			len;

		switch (*p)
		{
			case '"':
				appendStringInfoString(buf, "\\\"");
				p++;
				continue;
			case '\\':
				appendStringInfoString(buf, "\\\\");
				p++;
				continue;
			case '\n':
				appendStringInfoString(buf, "\\n");
				p++;
				continue;
			case '\r':
				appendStringInfoString(buf, "\\r");
				p++;
				continue;
			case '\t':
				appendStringInfoString(buf, "\\t");
				p++;
				continue;
			default:
				break;
		}

		if (*p < 0x20 || *p == 0x7F)
		{
			appendStringInfo(buf, "\\u%04x", *p);
			p++;
			continue;
		}

		/*
		 * Paths are bytes, not text: a file name that is not UTF-8 would
		 * make the whole document invalid, so such bytes become U+FFFD.
		 */
		len = cliUtf8SequenceLength(p);
		if (len == 0)
		{
			appendStringInfoString(buf, "\\ufffd");
			p++;
			continue;
		}
		appendBinaryStringInfo(buf, (const char *) p, len);
		p += len;
	}
	appendStringInfoChar(buf, '"');
}

void
cliTextString(StringInfo buf, const char *str)
{
	const unsigned char *p;

	for (p = (const unsigned char *) str; *p != '\0'; p++)
	{
		if (*p < 0x20 || *p == 0x7F)
			appendStringInfo(buf, "\\x%02x", *p);
		else
			appendStringInfoChar(buf, (char) *p);
	}
}

bool
cliOutputFlush(StringInfo buf)
{
	if (buf->len > 0 && fwrite(buf->data, 1, buf->len, stdout) != (size_t) buf->len)
	{
		pg_log_error("could not write to standard output: %m");
		return false;
	}
	if (fflush(stdout) != 0)
	{
		pg_log_error("could not write to standard output: %m");
		return false;
	}
	return true;
}

/* The host of a short command's warnings (cli.h). */
static void
cliWarnHostWarning(void *arg, const char *message)
{
	pg_log_warning("%s", message);
}

const DrHost cliWarnHost = {
	.warning = cliWarnHostWarning,
};
