/*-------------------------------------------------------------------------
 * s3_xml.c
 *	  A small push reader of XML for S3's responses (see s3_xml.h).
 *
 * A state machine over bytes: every state needs only the current byte and
 * what the reader keeps (the open elements' names, the text since the
 * last tag, a partial name or entity), so a document may be cut anywhere
 * between two calls of s3XmlFeed and reads the same.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "lib/stringinfo.h"
#include "storage/s3/s3_xml.h"

/* An entity's name between '&' and ';' ("#x10FFFF" is the longest taken). */
#define S3_XML_ENTITY_MAX	10

typedef enum S3XmlState
{
	XS_TEXT,					/* character data (or white space outside the root) */
	XS_LT,						/* after '<' */
	XS_START_NAME,				/* in a start tag's name */
	XS_TAG_SPACE,				/* in a start tag, after white space */
	XS_TAG_AFTER_VALUE,			/* in a start tag, after an attribute value */
	XS_ATTR_NAME,
	XS_ATTR_EQ,					/* after an attribute name, expecting '=' */
	XS_ATTR_QUOTE,				/* after '=', expecting a quote */
	XS_ATTR_VALUE,
	XS_EMPTY_CLOSE,				/* after the '/' of "<a/>", expecting '>' */
	XS_END_NAME,				/* in an end tag's name */
	XS_END_SPACE,				/* after an end tag's name */
	XS_PI,						/* in "<?...?>" */
	XS_BANG,					/* after "<!", deciding what follows */
	XS_COMMENT,					/* in "<!--...-->" */
	XS_CDATA,					/* in "<![CDATA[...]]>" */
	XS_ENTITY					/* after '&' */
} S3XmlState;

struct S3Xml
{
	S3XmlCallbacks cb;
	S3XmlState	state;
	S3XmlState	entityReturn;	/* XS_TEXT or XS_ATTR_VALUE */
	bool		failed;
	DrError		error;			/* the failure, given again to later calls */

	/* position of the byte being read, for messages */
	int64		line;
	int64		column;

	/* open elements: names (with any prefix) and whether one had a child */
	int			depth;
	char		names[S3_XML_DEPTH_MAX + 1][S3_XML_NAME_MAX + 1];
	bool		hasChild[S3_XML_DEPTH_MAX + 1];
	bool		rootSeen;
	bool		rootClosed;

	char		name[S3_XML_NAME_MAX + 1];	/* tag name being read */
	int			nameLen;
	char		quote;			/* of the attribute value being read */
	char		entity[S3_XML_ENTITY_MAX + 1];
	int			entityLen;
	char		bang[8];		/* what follows "<!", up to "[CDATA[" */
	int			bangLen;
	int			marks;			/* '?' of "?>", '-' of "-->", ']' of "]]>" seen */
	bool		lastCR;			/* the last text byte was a CR made LF */
	StringInfoData text;		/* decoded text since the last tag */
};

S3Xml *
s3XmlNew(const S3XmlCallbacks *callbacks)
{
	S3Xml	   *xml = palloc0(sizeof(S3Xml));

	xml->cb = *callbacks;
	xml->state = XS_TEXT;
	xml->line = 1;
	initStringInfo(&xml->text);
	return xml;
}

void
s3XmlFree(S3Xml *xml)
{
	if (xml == NULL)
		return;
	pfree(xml->text.data);
	pfree(xml);
}

/* Fail at the current position. */
static bool s3XmlFail(S3Xml *xml, DrError *err, const char *fmt,...) pg_attribute_printf(3, 4);

static bool
s3XmlFail(S3Xml *xml, DrError *err, const char *fmt,...)
{
	char		msg[512];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	drErrorSet(&xml->error, DR_ERR_CORRUPT, "XML line " INT64_FORMAT ", column " INT64_FORMAT ": %s",
			   xml->line, xml->column, msg);
	xml->failed = true;
	if (err)
		*err = xml->error;
	return false;
}

bool
s3XmlUtf8Valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		i = 0;

	while (i < len)
	{
		unsigned char c = p[i];
		int			n;
		uint32		cp;

		if (c < 0x80)
		{
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return false;
		if (i + n >= len)
			return false;
		for (int k = 1; k <= n; k++)
		{
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		/* overlong three- and four-byte forms, surrogates, beyond U+10FFFF */
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
			(n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		i += n + 1;
	}
	return true;
}

static bool
s3XmlSpace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * Name characters: ASCII letters, digits and "_:.-".  XML allows more, S3
 * uses none of it, and names stay printable in messages.
 */
static bool
s3XmlNameStart(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
		c == ':';
}

static bool
s3XmlNameChar(unsigned char c)
{
	return s3XmlNameStart(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* Append a byte to the tag name being read. */
static bool
s3XmlNameAdd(S3Xml *xml, char c, DrError *err)
{
	if (xml->nameLen == S3_XML_NAME_MAX)
		return s3XmlFail(xml, err, "element name longer than %d bytes", S3_XML_NAME_MAX);
	xml->name[xml->nameLen++] = c;
	xml->name[xml->nameLen] = '\0';
	return true;
}

/* The name without its namespace prefix. */
static const char *
s3XmlLocal(const char *name)
{
	const char *colon = strrchr(name, ':');

	return colon ? colon + 1 : name;
}

/* Append decoded text of the current element (bounded). */
static bool
s3XmlTextAdd(S3Xml *xml, const char *s, int len, DrError *err)
{
	if (xml->depth == 0)
		return s3XmlFail(xml, err, "text outside the root element");
	if (xml->text.len + len > S3_XML_TEXT_MAX)
		return s3XmlFail(xml, err, "text of element \"%s\" longer than %d bytes",
						 s3XmlLocal(xml->names[xml->depth]), S3_XML_TEXT_MAX);
	appendBinaryStringInfo(&xml->text, s, len);
	return true;
}

/* A byte of character data, line ends normalized (CR LF and CR are LF). */
static bool
s3XmlTextByte(S3Xml *xml, char c, DrError *err)
{
	bool		wasCR = xml->lastCR;

	xml->lastCR = false;
	if ((unsigned char) c < 0x20 && !s3XmlSpace(c))
		return s3XmlFail(xml, err, "control character 0x%02x", (unsigned char) c);
	if (c == '\n' && wasCR)
		return true;
	if (c == '\r')
	{
		xml->lastCR = true;
		c = '\n';
	}
	if (xml->depth == 0)
	{
		if (!s3XmlSpace(c))
			return s3XmlFail(xml, err, xml->rootClosed ?
							 "content after the root element" :
							 "text before the root element");
		return true;
	}
	return s3XmlTextAdd(xml, &c, 1, err);
}

static bool
s3XmlElementStart(S3Xml *xml, DrError *err)
{
	if (xml->rootClosed)
		return s3XmlFail(xml, err, "a second root element \"%s\"", s3XmlLocal(xml->name));
	if (xml->depth == S3_XML_DEPTH_MAX)
		return s3XmlFail(xml, err, "elements nested deeper than %d", S3_XML_DEPTH_MAX);
	xml->hasChild[xml->depth] = true;
	xml->depth++;
	strcpy(xml->names[xml->depth], xml->name);
	xml->hasChild[xml->depth] = false;
	xml->rootSeen = true;
	resetStringInfo(&xml->text);
	xml->lastCR = false;
	if (xml->cb.start &&
		!xml->cb.start(xml->cb.arg, xml->depth, s3XmlLocal(xml->name), &xml->error))
	{
		xml->failed = true;
		*err = xml->error;
		return false;
	}
	return true;
}

static bool
s3XmlElementEnd(S3Xml *xml, DrError *err)
{
	const char *name = xml->names[xml->depth];

	if (!s3XmlUtf8Valid(xml->text.data, xml->text.len))
		return s3XmlFail(xml, err, "text of element \"%s\" is not valid UTF-8",
						 s3XmlLocal(name));
	if (xml->cb.end &&
		!xml->cb.end(xml->cb.arg, xml->depth, s3XmlLocal(name), xml->text.data,
					 xml->text.len, !xml->hasChild[xml->depth], &xml->error))
	{
		xml->failed = true;
		*err = xml->error;
		return false;
	}
	xml->depth--;
	if (xml->depth == 0)
		xml->rootClosed = true;
	resetStringInfo(&xml->text);
	xml->lastCR = false;
	return true;
}

/* An end tag's name was read: it must close the innermost element. */
static bool
s3XmlEndTag(S3Xml *xml, DrError *err)
{
	if (xml->depth == 0)
		return s3XmlFail(xml, err, "end tag \"%s\" without a start tag", xml->name);
	if (strcmp(xml->name, xml->names[xml->depth]) != 0)
		return s3XmlFail(xml, err, "end tag \"%s\" does not match start tag \"%s\"",
						 xml->name, xml->names[xml->depth]);
	return s3XmlElementEnd(xml, err);
}

/* The entity's name was read (between '&' and ';'): decode it. */
static bool
s3XmlEntity(S3Xml *xml, DrError *err)
{
	static const struct
	{
		const char *name;
		char		c;
	}			named[] = {
		{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}
	};
	const char *e = xml->entity;
	char		utf8[4];
	int			len = 0;
	uint32		cp = 0;

	for (int i = 0; i < (int) lengthof(named); i++)
		if (strcmp(e, named[i].name) == 0)
		{
			utf8[0] = named[i].c;
			len = 1;
		}
	if (len == 0 && e[0] == '#')
	{
		bool		hexa = e[1] == 'x';
		const char *d = e + (hexa ? 2 : 1);

		if (*d == '\0')
			return s3XmlFail(xml, err, "character reference \"&%s;\" without digits", e);
		for (; *d; d++)
		{
			int			v;

			if (*d >= '0' && *d <= '9')
				v = *d - '0';
			else if (hexa && *d >= 'a' && *d <= 'f')
				v = *d - 'a' + 10;
			else if (hexa && *d >= 'A' && *d <= 'F')
				v = *d - 'A' + 10;
			else
				return s3XmlFail(xml, err, "malformed character reference \"&%s;\"", e);
			cp = cp * (hexa ? 16 : 10) + v;
			if (cp > 0x10ffff)
				return s3XmlFail(xml, err, "character reference \"&%s;\" beyond U+10FFFF", e);
		}
		/* XML 1.0's Char: tab, LF, CR, and no other control character */
		if ((cp < 0x20 && cp != 0x9 && cp != 0xa && cp != 0xd) ||
			(cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff)
			return s3XmlFail(xml, err, "character reference \"&%s;\" is not an XML character", e);
		if (cp < 0x80)
			utf8[len++] = (char) cp;
		else if (cp < 0x800)
		{
			utf8[len++] = (char) (0xc0 | (cp >> 6));
			utf8[len++] = (char) (0x80 | (cp & 0x3f));
		}
		else if (cp < 0x10000)
		{
			utf8[len++] = (char) (0xe0 | (cp >> 12));
			utf8[len++] = (char) (0x80 | ((cp >> 6) & 0x3f));
			utf8[len++] = (char) (0x80 | (cp & 0x3f));
		}
		else
		{
			utf8[len++] = (char) (0xf0 | (cp >> 18));
			utf8[len++] = (char) (0x80 | ((cp >> 12) & 0x3f));
			utf8[len++] = (char) (0x80 | ((cp >> 6) & 0x3f));
			utf8[len++] = (char) (0x80 | (cp & 0x3f));
		}
	}
	if (len == 0)
		return s3XmlFail(xml, err, "unknown entity \"&%s;\"", e);
	xml->state = xml->entityReturn;
	/* an attribute's value is not kept */
	if (xml->entityReturn == XS_ATTR_VALUE)
		return true;
	xml->lastCR = false;
	return s3XmlTextAdd(xml, utf8, len, err);
}

/* One byte of the document. */
static bool
s3XmlByte(S3Xml *xml, char c, DrError *err)
{
	unsigned char u = (unsigned char) c;

	switch (xml->state)
	{
		case XS_TEXT:
			if (c == '<')
			{
				xml->state = XS_LT;
				return true;
			}
			if (c == '&')
			{
				if (xml->depth == 0)
					return s3XmlFail(xml, err, "entity outside the root element");
				xml->entityReturn = XS_TEXT;
				xml->entityLen = 0;
				xml->state = XS_ENTITY;
				return true;
			}
			return s3XmlTextByte(xml, c, err);

		case XS_LT:
			xml->nameLen = 0;
			xml->name[0] = '\0';
			xml->marks = 0;
			if (c == '/')
				xml->state = XS_END_NAME;
			else if (c == '?')
				xml->state = XS_PI;
			else if (c == '!')
			{
				xml->bangLen = 0;
				xml->state = XS_BANG;
			}
			else if (s3XmlNameStart(u))
			{
				xml->state = XS_START_NAME;
				return s3XmlNameAdd(xml, c, err);
			}
			else
				return s3XmlFail(xml, err, "'<' not followed by a tag");
			return true;

		case XS_START_NAME:
			if (s3XmlNameChar(u))
				return s3XmlNameAdd(xml, c, err);
			if (s3XmlSpace(c))
				xml->state = XS_TAG_SPACE;
			else if (c == '/')
				xml->state = XS_EMPTY_CLOSE;
			else if (c == '>')
			{
				xml->state = XS_TEXT;
				return s3XmlElementStart(xml, err);
			}
			else
				return s3XmlFail(xml, err, "byte 0x%02x in element name \"%s\"", u, xml->name);
			return true;

		case XS_TAG_SPACE:
		case XS_TAG_AFTER_VALUE:
			if (s3XmlSpace(c))
				xml->state = XS_TAG_SPACE;
			else if (c == '/')
				xml->state = XS_EMPTY_CLOSE;
			else if (c == '>')
			{
				xml->state = XS_TEXT;
				return s3XmlElementStart(xml, err);
			}
			else if (xml->state == XS_TAG_SPACE && s3XmlNameStart(u))
				xml->state = XS_ATTR_NAME;
			else
				return s3XmlFail(xml, err, "malformed start tag \"%s\"", xml->name);
			return true;

		case XS_ATTR_NAME:
			if (s3XmlNameChar(u))
				return true;
			if (s3XmlSpace(c))
				xml->state = XS_ATTR_EQ;
			else if (c == '=')
				xml->state = XS_ATTR_QUOTE;
			else
				return s3XmlFail(xml, err, "malformed attribute in start tag \"%s\"", xml->name);
			return true;

		case XS_ATTR_EQ:
			if (c == '=')
				xml->state = XS_ATTR_QUOTE;
			else if (!s3XmlSpace(c))
				return s3XmlFail(xml, err, "attribute without '=' in start tag \"%s\"", xml->name);
			return true;

		case XS_ATTR_QUOTE:
			if (c == '"' || c == '\'')
			{
				xml->quote = c;
				xml->state = XS_ATTR_VALUE;
			}
			else if (!s3XmlSpace(c))
				return s3XmlFail(xml, err, "attribute value without quotes in start tag \"%s\"", xml->name);
			return true;

		case XS_ATTR_VALUE:
			if (c == xml->quote)
				xml->state = XS_TAG_AFTER_VALUE;
			else if (c == '<')
				return s3XmlFail(xml, err, "'<' in an attribute value");
			else if (c == '&')
			{
				xml->entityReturn = XS_ATTR_VALUE;
				xml->entityLen = 0;
				xml->state = XS_ENTITY;
			}
			else if (u < 0x20 && !s3XmlSpace(c))
				return s3XmlFail(xml, err, "control character 0x%02x", u);
			return true;

		case XS_EMPTY_CLOSE:
			if (c != '>')
				return s3XmlFail(xml, err, "'/' not followed by '>' in start tag \"%s\"", xml->name);
			xml->state = XS_TEXT;
			return s3XmlElementStart(xml, err) && s3XmlElementEnd(xml, err);

		case XS_END_NAME:
			if (xml->nameLen == 0 ? s3XmlNameStart(u) : s3XmlNameChar(u))
				return s3XmlNameAdd(xml, c, err);
			if (xml->nameLen > 0 && s3XmlSpace(c))
				xml->state = XS_END_SPACE;
			else if (xml->nameLen > 0 && c == '>')
			{
				xml->state = XS_TEXT;
				return s3XmlEndTag(xml, err);
			}
			else
				return s3XmlFail(xml, err, "malformed end tag");
			return true;

		case XS_END_SPACE:
			if (c == '>')
			{
				xml->state = XS_TEXT;
				return s3XmlEndTag(xml, err);
			}
			if (!s3XmlSpace(c))
				return s3XmlFail(xml, err, "malformed end tag \"%s\"", xml->name);
			return true;

		case XS_PI:
			if (c == '>' && xml->marks > 0)
				xml->state = XS_TEXT;
			else if (u < 0x20 && !s3XmlSpace(c))
				return s3XmlFail(xml, err, "control character 0x%02x", u);
			xml->marks = c == '?';
			return true;

		case XS_BANG:
			xml->bang[xml->bangLen++] = c;
			xml->bang[xml->bangLen] = '\0';
			if (strcmp(xml->bang, "--") == 0)
			{
				xml->marks = 0;
				xml->state = XS_COMMENT;
			}
			else if (strcmp(xml->bang, "[CDATA[") == 0)
			{
				if (xml->depth == 0)
					return s3XmlFail(xml, err, "CDATA section outside the root element");
				xml->marks = 0;
				xml->state = XS_CDATA;
			}
			else if (strncmp("--", xml->bang, xml->bangLen) != 0 &&
					 strncmp("[CDATA[", xml->bang, xml->bangLen) != 0)
				return s3XmlFail(xml, err, c == 'D' && xml->bangLen == 1 ?
								 "a DOCTYPE is not accepted" :
								 "'<!' not followed by a comment or a CDATA section");
			return true;

		case XS_COMMENT:
			if (c == '>' && xml->marks >= 2)
				xml->state = XS_TEXT;
			else if (u < 0x20 && !s3XmlSpace(c))
				return s3XmlFail(xml, err, "control character 0x%02x", u);
			xml->marks = c == '-' ? xml->marks + 1 : 0;
			return true;

		case XS_CDATA:
			if (c == ']')
			{
				/* a third ']' in a row: the first of them is text */
				if (xml->marks == 2)
					return s3XmlTextByte(xml, ']', err);
				xml->marks++;
				return true;
			}
			if (c == '>' && xml->marks == 2)
			{
				xml->state = XS_TEXT;
				return true;
			}
			for (; xml->marks > 0; xml->marks--)
				if (!s3XmlTextByte(xml, ']', err))
					return false;
			return s3XmlTextByte(xml, c, err);

		case XS_ENTITY:
			if (c == ';')
			{
				xml->entity[xml->entityLen] = '\0';
				return s3XmlEntity(xml, err);
			}
			if (xml->entityLen == S3_XML_ENTITY_MAX ||
				!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
				  (c >= '0' && c <= '9') || c == '#'))
				return s3XmlFail(xml, err, "'&' not followed by an entity name and ';' (write it \"&amp;\")");
			xml->entity[xml->entityLen++] = c;
			return true;
	}
	return s3XmlFail(xml, err, "internal error: unknown reader state");
}

bool
s3XmlFeed(S3Xml *xml, const char *data, size_t len, DrError *err)
{
	if (xml->failed)
	{
		*err = xml->error;
		return false;
	}
	for (size_t i = 0; i < len; i++)
	{
		if (data[i] == '\0')
			return s3XmlFail(xml, err, "NUL byte");
		xml->column++;
		if (!s3XmlByte(xml, data[i], err))
			return false;
		if (data[i] == '\n')
		{
			xml->line++;
			xml->column = 0;
		}
	}
	return true;
}

bool
s3XmlFinish(S3Xml *xml, DrError *err)
{
	if (xml->failed)
	{
		*err = xml->error;
		return false;
	}
	if (!xml->rootSeen)
		return s3XmlFail(xml, err, "document ends without a root element");
	if (xml->depth > 0)
		return s3XmlFail(xml, err, "document ends inside element \"%s\"",
						 s3XmlLocal(xml->names[xml->depth]));
	if (xml->state != XS_TEXT)
		return s3XmlFail(xml, err, "document ends inside a tag, comment or processing instruction");
	return true;
}
