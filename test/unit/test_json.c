/*-------------------------------------------------------------------------
 * test_json.c
 *	  Unit tests of the strict JSON reader (src/common/json.c).
 *
 * Covers: drJsonParse (every kind of value; nesting; whitespace; escapes,
 * surrogate pairs, UTF-8 kept; refused: empty input, text after the
 * value, trailing commas, comments, single quotes, leading zeros, "+1",
 * ".5", "1.", "1e", bare control characters, invalid escapes, lone
 * surrogates, "\u0000", invalid UTF-8 (overlong, surrogate, past
 * U+10FFFF, cut short), duplicate member names, unterminated strings,
 * arrays and objects, nesting past DR_JSON_DEPTH_MAX, NUL bytes; the
 * offset in the message); drJsonGet; drJsonString; drJsonInt64 (numbers
 * and strings, the int64 limits, one past them, fractions, exponents,
 * leading zeros, signs); drJsonUtf8Valid; drJsonQuote (quotes,
 * backslashes, control characters; read back the same).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "common/json.h"
#include "lib/stringinfo.h"
#include "tap.h"

static DrJson *
parse(const char *s, DrError *err)
{
	drErrorClear(err);
	return drJsonParse(s, strlen(s), err);
}

static void
refused(const char *s, const char *what)
{
	DrError		err;
	DrJson	   *j = parse(s, &err);

	if (!ok(j == NULL && err.code == DR_ERR_CORRUPT && strstr(err.message, what) != NULL,
			"refused: %s (%s)", what, err.message))
		drJsonFree(j);
}

static void
testValues(void)
{
	DrError		err;
	DrJson	   *j;
	const DrJson *m;
	int64		v;

	j = parse(" {\"a\": [1, -2.5e+3, true, false, null, \"x\"], \"b\": {}, \"c\": []}\r\n\t",
			  &err);
	ok(j != NULL && j->type == DR_JSON_OBJECT && j->count == 3, "an object of 3 members");
	m = drJsonGet(j, "a");
	ok(m != NULL && m->type == DR_JSON_ARRAY && m->count == 6, "... an array of 6");
	is_str(m->items[1].text, "-2.5e+3", "... a number keeps its literal");
	is_int(m->items[2].type, DR_JSON_TRUE, "... true");
	is_int(m->items[3].type, DR_JSON_FALSE, "... false");
	is_int(m->items[4].type, DR_JSON_NULL, "... null");
	is_str(drJsonString(&m->items[5]), "x", "... a string");
	ok(drJsonString(&m->items[0]) == NULL, "a number is not a string");
	ok(drJsonInt64(&m->items[0], &v) && v == 1, "an integer");
	ok(!drJsonInt64(&m->items[1], &v), "a fraction is not an integer");
	ok(drJsonGet(j, "b")->type == DR_JSON_OBJECT && drJsonGet(j, "b")->count == 0, "{}");
	ok(drJsonGet(j, "d") == NULL, "an absent member: NULL");
	ok(drJsonGet(m, "a") == NULL, "drJsonGet of an array: NULL");
	drJsonFree(j);

	j = parse("\"a\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u20ac\\ud83d\\ude00\xc3\xa9\"", &err);
	ok(j != NULL, "escapes (%s)", err.message);
	is_str(j->text, "a\"\\/\b\f\n\r\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xc3\xa9",
		   "... decoded to UTF-8, surrogate pair joined");
	is_int(j->len, strlen(j->text), "... its length");
	drJsonFree(j);

	j = parse("-0", &err);
	ok(j != NULL && drJsonInt64(j, &v) && v == 0, "-0");
	drJsonFree(j);
	j = parse("{\"a\":{\"a\":1}}", &err);
	ok(j != NULL, "the same name at two levels is no duplicate");
	drJsonFree(j);
	drJsonFree(NULL);
	ok(true, "drJsonFree(NULL)");
}

static void
testRefused(void)
{
	char		deep[2 * DR_JSON_DEPTH_MAX + 8];
	DrError		err;
	DrJson	   *j;

	refused("", "value expected");
	refused("  ", "value expected");
	refused("1 2", "text after the value");
	refused("{} x", "text after the value");
	refused("[1,]", "unexpected character");
	refused("{\"a\":1,}", "member name expected");
	refused("[1 2]", "',' expected");
	refused("{\"a\" 1}", "':' expected");
	refused("{a:1}", "member name expected");
	refused("// c\n1", "unexpected character");
	refused("'a'", "unexpected character");
	refused("01", "leading zero");
	refused("-01", "leading zero");
	refused("+1", "unexpected character");
	refused(".5", "unexpected character");
	refused("1.", "digit expected after the decimal point");
	refused("1e", "digit expected in the exponent");
	refused("1e+", "digit expected in the exponent");
	refused("-", "digit expected");
	refused("tru", "unexpected character");
	refused("nul", "unexpected character");
	refused("\"a\tb\"", "control character");
	refused("\"\\x\"", "invalid escape");
	refused("\"\\u12\"", "four hexadecimal digits");
	refused("\"\\udc00\"", "lone low surrogate");
	refused("\"\\ud800\"", "lone high surrogate");
	refused("\"\\ud800\\u0041\"", "lone high surrogate");
	refused("\"\\u0000\"", "\\u0000");
	refused("\"\xc0\xaf\"", "invalid UTF-8");
	refused("\"\xe0\x80\xaf\"", "invalid UTF-8");
	refused("\"\xed\xa0\x80\"", "invalid UTF-8");
	refused("\"\xf4\x90\x80\x80\"", "invalid UTF-8");
	refused("\"\xe2\x82\"", "invalid UTF-8");
	refused("\"\xff\"", "invalid UTF-8");
	refused("{\"a\":1,\"a\":2}", "duplicate member name");
	refused("\"abc", "unterminated string");
	refused("\"abc\\", "unterminated string");
	refused("[1", "unterminated array");
	refused("{\"a\":1", "unterminated object");
	refused("{\"a\":", "value expected");

	memset(deep, '[', DR_JSON_DEPTH_MAX + 1);
	memset(deep + DR_JSON_DEPTH_MAX + 1, ']', DR_JSON_DEPTH_MAX + 1);
	deep[2 * DR_JSON_DEPTH_MAX + 2] = '\0';
	refused(deep, "nesting too deep");
	memset(deep, '[', DR_JSON_DEPTH_MAX);
	memset(deep + DR_JSON_DEPTH_MAX, ']', DR_JSON_DEPTH_MAX);
	deep[2 * DR_JSON_DEPTH_MAX] = '\0';
	j = parse(deep, &err);
	ok(j != NULL, "nesting of exactly DR_JSON_DEPTH_MAX: read");
	drJsonFree(j);

	/* a NUL byte inside the given length */
	drErrorClear(&err);
	j = drJsonParse("\"a\0b\"", 5, &err);
	ok(j == NULL && strstr(err.message, "control character") != NULL,
	   "a NUL byte in a string refused (%s)", err.message);
	j = drJsonParse("1\0", 2, &err);
	ok(j == NULL, "a NUL byte after the value refused");

	j = parse("[1, x]", &err);
	ok(j == NULL && strstr(err.message, "at offset 4") != NULL,
	   "the offset is in the message (%s)", err.message);
}

static void
testInt64(void)
{
	static const struct
	{
		const char *doc;
		bool		ok;
		int64		value;
	}			cases[] = {
		{"\"9223372036854775807\"", true, PG_INT64_MAX},
		{"9223372036854775807", true, PG_INT64_MAX},
		{"\"-9223372036854775808\"", true, PG_INT64_MIN},
		{"\"9223372036854775808\"", false, 0},
		{"\"-9223372036854775809\"", false, 0},
		{"\"18446744073709551616\"", false, 0},
		{"\"4111120411880972037\"", true, INT64CONST(4111120411880972037)},
		{"\"0\"", true, 0},
		{"\"\"", false, 0},
		{"\"-\"", false, 0},
		{"\"01\"", false, 0},
		{"\"+1\"", false, 0},
		{"\" 1\"", false, 0},
		{"\"1x\"", false, 0},
		{"1e3", false, 0},
		{"1.0", false, 0},
		{"true", false, 0},
		{"null", false, 0},
	};

	for (int i = 0; i < (int) lengthof(cases); i++)
	{
		DrError		err;
		DrJson	   *j = parse(cases[i].doc, &err);
		int64		v = -1;
		bool		got = j != NULL && drJsonInt64(j, &v);

		ok(got == cases[i].ok && (!got || v == cases[i].value),
		   "drJsonInt64(%s): %s", cases[i].doc, cases[i].ok ? "read" : "refused");
		drJsonFree(j);
	}
	ok(!drJsonInt64(NULL, NULL), "drJsonInt64(NULL): false");
}

static void
testQuote(void)
{
	StringInfoData buf;
	DrError		err;
	DrJson	   *j;
	const char *s = "a\"b\\c\n\x01\xc3\xa9";

	initStringInfo(&buf);
	drJsonQuote(&buf, s);
	is_str(buf.data, "\"a\\\"b\\\\c\\u000a\\u0001\xc3\xa9\"", "drJsonQuote escapes");
	j = parse(buf.data, &err);
	ok(j != NULL && strcmp(j->text, s) == 0, "... and reads back the same");
	drJsonFree(j);
	pfree(buf.data);

	ok(drJsonUtf8Valid("\xf0\x9f\x98\x80", 4), "UTF-8: a 4-byte character");
	ok(!drJsonUtf8Valid("\xf0\x9f\x98", 3), "UTF-8: cut short");
	ok(!drJsonUtf8Valid("\xc1\xbf", 2), "UTF-8: overlong");
}

int
main(void)
{
	testValues();
	testRefused();
	testInt64();
	testQuote();
	return tapDone();
}
