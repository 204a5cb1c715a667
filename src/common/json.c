/*-------------------------------------------------------------------------
 * json.c
 *	  A small strict JSON reader (see json.h): recursive descent over the
 *	  whole document, depth bounded, every rule of RFC 8259 enforced.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "common/json.h"
#include "lib/stringinfo.h"

typedef struct JsonReader
{
	const char *s;
	size_t		len;
	size_t		pos;
	DrError    *err;
} JsonReader;

static bool jsonValue(JsonReader *r, DrJson *out, int depth);

static bool
jsonFail(JsonReader *r, const char *what)
{
	drErrorSet(r->err, DR_ERR_CORRUPT, "JSON: %s at offset %zu", what, r->pos);
	return false;
}

static void
jsonSpace(JsonReader *r)
{
	while (r->pos < r->len &&
		   (r->s[r->pos] == ' ' || r->s[r->pos] == '\t' ||
			r->s[r->pos] == '\n' || r->s[r->pos] == '\r'))
		r->pos++;
}

static bool
jsonLiteral(JsonReader *r, const char *word, DrJsonType type, DrJson *out)
{
	size_t		n = strlen(word);

	if (r->len - r->pos < n || memcmp(r->s + r->pos, word, n) != 0)
		return jsonFail(r, "unexpected character");
	r->pos += n;
	out->type = type;
	return true;
}

static bool
jsonDigit(JsonReader *r)
{
	return r->pos < r->len && r->s[r->pos] >= '0' && r->s[r->pos] <= '9';
}

static bool
jsonNumber(JsonReader *r, DrJson *out)
{
	size_t		start = r->pos;

	if (r->s[r->pos] == '-')
		r->pos++;
	if (!jsonDigit(r))
		return jsonFail(r, "digit expected");
	if (r->s[r->pos] == '0')
	{
		r->pos++;
		if (jsonDigit(r))
			return jsonFail(r, "leading zero in a number");
	}
	else
		while (jsonDigit(r))
			r->pos++;
	if (r->pos < r->len && r->s[r->pos] == '.')
	{
		r->pos++;
		if (!jsonDigit(r))
			return jsonFail(r, "digit expected after the decimal point");
		while (jsonDigit(r))
			r->pos++;
	}
	if (r->pos < r->len && (r->s[r->pos] == 'e' || r->s[r->pos] == 'E'))
	{
		r->pos++;
		if (r->pos < r->len && (r->s[r->pos] == '+' || r->s[r->pos] == '-'))
			r->pos++;
		if (!jsonDigit(r))
			return jsonFail(r, "digit expected in the exponent");
		while (jsonDigit(r))
			r->pos++;
	}
	out->type = DR_JSON_NUMBER;
	out->len = r->pos - start;
	out->text = pnstrdup(r->s + start, out->len);
	return true;
}

/* The length of the UTF-8 sequence at s (n bytes left), 0 when invalid. */
static int
jsonUtf8Len(const unsigned char *s, size_t n)
{
	uint32		cp;
	int			len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
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
	if (n < (size_t) len)
		return 0;
	for (int i = 1; i < len; i++)
	{
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

bool
drJsonUtf8Valid(const char *s, size_t len)
{
	size_t		i = 0;

	while (i < len)
	{
		int			n = jsonUtf8Len((const unsigned char *) s + i, len - i);

		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

static int
jsonHex4(JsonReader *r, uint32 *cp)
{
	*cp = 0;
	if (r->len - r->pos < 4)
		return false;
	for (int i = 0; i < 4; i++)
	{
		char		c = r->s[r->pos + i];
		int			v;

		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v = c - 'A' + 10;
		else
			return false;
		*cp = (*cp << 4) | v;
	}
	r->pos += 4;
	return true;
}

static void
jsonAppendUtf8(StringInfo buf, uint32 cp)
{
	if (cp < 0x80)
		appendStringInfoChar(buf, (char) cp);
	else if (cp < 0x800)
	{
		appendStringInfoChar(buf, (char) (0xC0 | (cp >> 6)));
		appendStringInfoChar(buf, (char) (0x80 | (cp & 0x3F)));
	}
	else if (cp < 0x10000)
	{
		appendStringInfoChar(buf, (char) (0xE0 | (cp >> 12)));
		appendStringInfoChar(buf, (char) (0x80 | ((cp >> 6) & 0x3F)));
		appendStringInfoChar(buf, (char) (0x80 | (cp & 0x3F)));
	}
	else
	{
		appendStringInfoChar(buf, (char) (0xF0 | (cp >> 18)));
		appendStringInfoChar(buf, (char) (0x80 | ((cp >> 12) & 0x3F)));
		appendStringInfoChar(buf, (char) (0x80 | ((cp >> 6) & 0x3F)));
		appendStringInfoChar(buf, (char) (0x80 | (cp & 0x3F)));
	}
}

/* A string, the opening quote at r->pos; its text decoded into buf. */
static bool
jsonString(JsonReader *r, StringInfo buf)
{
	r->pos++;					/* the quote */
	for (;;)
	{
		unsigned char c;

		if (r->pos >= r->len)
			return jsonFail(r, "unterminated string");
		c = (unsigned char) r->s[r->pos];
		if (c == '"')
		{
			r->pos++;
			return true;
		}
		if (c < 0x20)
			return jsonFail(r, "control character in a string");
		if (c == '\\')
		{
			uint32		cp;

			if (r->pos + 1 >= r->len)
				return jsonFail(r, "unterminated string");
			r->pos++;
			switch (r->s[r->pos++])
			{
				case '"':
					appendStringInfoChar(buf, '"');
					break;
				case '\\':
					appendStringInfoChar(buf, '\\');
					break;
				case '/':
					appendStringInfoChar(buf, '/');
					break;
				case 'b':
					appendStringInfoChar(buf, '\b');
					break;
				case 'f':
					appendStringInfoChar(buf, '\f');
					break;
				case 'n':
					appendStringInfoChar(buf, '\n');
					break;
				case 'r':
					appendStringInfoChar(buf, '\r');
					break;
				case 't':
					appendStringInfoChar(buf, '\t');
					break;
				case 'u':
					if (!jsonHex4(r, &cp))
						return jsonFail(r, "four hexadecimal digits expected after \\u");
					if (cp >= 0xDC00 && cp <= 0xDFFF)
						return jsonFail(r, "lone low surrogate");
					if (cp >= 0xD800 && cp <= 0xDBFF)
					{
						uint32		low;

						if (r->len - r->pos < 2 || r->s[r->pos] != '\\' ||
							r->s[r->pos + 1] != 'u')
							return jsonFail(r, "lone high surrogate");
						r->pos += 2;
						if (!jsonHex4(r, &low) || low < 0xDC00 || low > 0xDFFF)
							return jsonFail(r, "lone high surrogate");
						cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
					}
					if (cp == 0)
						return jsonFail(r, "\\u0000 in a string");
					jsonAppendUtf8(buf, cp);
					break;
				default:
					r->pos--;
					return jsonFail(r, "invalid escape");
			}
			continue;
		}
		{
			int			n = jsonUtf8Len((const unsigned char *) r->s + r->pos,
										r->len - r->pos);

			if (n == 0)
				return jsonFail(r, "invalid UTF-8 in a string");
			appendBinaryStringInfo(buf, r->s + r->pos, n);
			r->pos += n;
		}
	}
}

static bool
jsonStringValue(JsonReader *r, DrJson *out)
{
	StringInfoData buf;

	initStringInfo(&buf);
	if (!jsonString(r, &buf))
	{
		pfree(buf.data);
		return false;
	}
	out->type = DR_JSON_STRING;
	out->text = buf.data;
	out->len = buf.len;
	return true;
}

/* Grow items (and keys) to hold one more member. */
static void
jsonGrow(DrJson *out, int *size, bool object)
{
	if (out->count < *size)
		return;
	*size = *size == 0 ? 4 : *size * 2;
	if (out->items == NULL)
	{
		out->items = palloc0(sizeof(DrJson) * *size);
		if (object)
			out->keys = palloc0(sizeof(char *) * *size);
	}
	else
	{
		out->items = repalloc(out->items, sizeof(DrJson) * *size);
		if (object)
			out->keys = repalloc(out->keys, sizeof(char *) * *size);
	}
}

static bool
jsonContainer(JsonReader *r, DrJson *out, int depth, bool object)
{
	char		close = object ? '}' : ']';
	int			size = 0;

	if (depth >= DR_JSON_DEPTH_MAX)
		return jsonFail(r, "nesting too deep");
	out->type = object ? DR_JSON_OBJECT : DR_JSON_ARRAY;
	r->pos++;
	jsonSpace(r);
	if (r->pos < r->len && r->s[r->pos] == close)
	{
		r->pos++;
		return true;
	}
	for (;;)
	{
		DrJson	   *item;

		jsonGrow(out, &size, object);
		item = &out->items[out->count];
		memset(item, 0, sizeof(*item));
		jsonSpace(r);
		if (object)
		{
			StringInfoData key;

			if (r->pos >= r->len || r->s[r->pos] != '"')
				return jsonFail(r, "member name expected");
			initStringInfo(&key);
			if (!jsonString(r, &key))
			{
				pfree(key.data);
				return false;
			}
			for (int i = 0; i < out->count; i++)
				if (strcmp(out->keys[i], key.data) == 0)
				{
					pfree(key.data);
					return jsonFail(r, "duplicate member name");
				}
			out->keys[out->count] = key.data;
			jsonSpace(r);
			if (r->pos >= r->len || r->s[r->pos] != ':')
			{
				out->count++;	/* so that the key is freed */
				return jsonFail(r, "':' expected");
			}
			r->pos++;
		}
		out->count++;
		if (!jsonValue(r, item, depth + 1))
			return false;
		jsonSpace(r);
		if (r->pos >= r->len)
			return jsonFail(r, object ? "unterminated object" : "unterminated array");
		if (r->s[r->pos] == close)
		{
			r->pos++;
			return true;
		}
		if (r->s[r->pos] != ',')
			return jsonFail(r, "',' expected");
		r->pos++;
	}
}

static bool
jsonValue(JsonReader *r, DrJson *out, int depth)
{
	jsonSpace(r);
	if (r->pos >= r->len)
		return jsonFail(r, "value expected");
	switch (r->s[r->pos])
	{
		case '{':
			return jsonContainer(r, out, depth, true);
		case '[':
			return jsonContainer(r, out, depth, false);
		case '"':
			return jsonStringValue(r, out);
		case 't':
			return jsonLiteral(r, "true", DR_JSON_TRUE, out);
		case 'f':
			return jsonLiteral(r, "false", DR_JSON_FALSE, out);
		case 'n':
			return jsonLiteral(r, "null", DR_JSON_NULL, out);
		default:
			if (r->s[r->pos] == '-' || jsonDigit(r))
				return jsonNumber(r, out);
			return jsonFail(r, "unexpected character");
	}
}

static void
jsonFreeContents(DrJson *json)
{
	if (json->text)
		pfree(json->text);
	for (int i = 0; i < json->count; i++)
	{
		jsonFreeContents(&json->items[i]);
		if (json->keys && json->keys[i])
			pfree(json->keys[i]);
	}
	if (json->items)
		pfree(json->items);
	if (json->keys)
		pfree(json->keys);
}

DrJson *
drJsonParse(const char *text, size_t len, DrError *err)
{
	JsonReader	r = {text, len, 0, err};
	DrJson	   *json = palloc0(sizeof(DrJson));

	if (!jsonValue(&r, json, 0))
	{
		jsonFreeContents(json);
		pfree(json);
		return NULL;
	}
	jsonSpace(&r);
	if (r.pos != r.len)
	{
		jsonFail(&r, "text after the value");
		jsonFreeContents(json);
		pfree(json);
		return NULL;
	}
	return json;
}

void
drJsonFree(DrJson *json)
{
	if (json == NULL)
		return;
	jsonFreeContents(json);
	pfree(json);
}

const DrJson *
drJsonGet(const DrJson *json, const char *key)
{
	if (json == NULL || json->type != DR_JSON_OBJECT)
		return NULL;
	for (int i = 0; i < json->count; i++)
		if (strcmp(json->keys[i], key) == 0)
			return &json->items[i];
	return NULL;
}

const char *
drJsonString(const DrJson *json)
{
	return json != NULL && json->type == DR_JSON_STRING ? json->text : NULL;
}

bool
drJsonInt64(const DrJson *json, int64 *value)
{
	const char *s;
	bool		neg = false;
	uint64		v = 0;

	if (json == NULL || (json->type != DR_JSON_NUMBER && json->type != DR_JSON_STRING))
		return false;
	s = json->text;
	if (*s == '-')
	{
		neg = true;
		s++;
	}
	if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] != '\0'))
		return false;
	for (; *s; s++)
	{
		if (*s < '0' || *s > '9')
			return false;
		if (v > (PG_UINT64_MAX - (*s - '0')) / 10)
			return false;
		v = v * 10 + (*s - '0');
	}
	if (neg ? v > (uint64) PG_INT64_MAX + 1 : v > (uint64) PG_INT64_MAX)
		return false;
	*value = neg ? (int64) (0 - v) : (int64) v;
	return true;
}

void
drJsonQuote(StringInfo buf, const char *s)
{
	appendStringInfoChar(buf, '"');
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (c == '"' || c == '\\')
		{
			appendStringInfoChar(buf, '\\');
			appendStringInfoChar(buf, (char) c);
		}
		else if (c < 0x20)
			appendStringInfo(buf, "\\u%04x", c);
		else
			appendStringInfoChar(buf, (char) c);
	}
	appendStringInfoChar(buf, '"');
}
