/*-------------------------------------------------------------------------
 * test_storage_s3_xml.c
 *	  Unit tests of src/storage/s3/s3_xml.c (the push reader of XML).
 *
 * Covers: start and end events with depth, leaf flag and decoded text,
 * the same events whatever pieces the document is fed in (every piece
 * size from 1 byte to the whole); the XML declaration, processing
 * instructions, comments, attributes (double and single quotes, entities,
 * xmlns) skipped; namespace prefixes dropped; <a/>; CDATA (with "]]" and
 * "]]]>" inside); the five entities and decimal and hex character
 * references to UTF-8; CR LF and CR made LF; UTF-8 validity
 * (s3XmlUtf8Valid: overlong forms, surrogates, beyond U+10FFFF,
 * truncated sequences).  Refused, each with its message: mismatched and
 * stray end tags, a document ending inside an element or a tag, no root,
 * a second root, text before and after the root, a DOCTYPE, an unknown
 * entity, '&' without ';', character references to NUL, a surrogate and
 * beyond U+10FFFF, invalid UTF-8 in text, NUL and control bytes, '<' in
 * an attribute value, an unquoted attribute value, a non-ASCII element or
 * entity name, nesting deeper than
 * S3_XML_DEPTH_MAX, a name longer than S3_XML_NAME_MAX, text longer than
 * S3_XML_TEXT_MAX; the line and column in the message; a failed reader
 * stays failed; a callback's failure stops the reader with its error.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "lib/stringinfo.h"
#include "storage/s3/s3_xml.h"
#include "tap.h"
#include "test_support.h"

/* The events of a document as text: "+name@depth" and "-name@depth[text]" or "-name@depth*" (not a leaf). */
typedef struct Trace
{
	StringInfoData buf;
	int			failAtDepth;	/* fail the start callback at this depth (0: never) */
} Trace;

static bool
traceStart(void *arg, int depth, const char *name, DrError *err)
{
	Trace	   *t = arg;

	if (depth == t->failAtDepth)
		return drErrorSet(err, DR_ERR_INVALID, "callback refused <%s>", name);
	appendStringInfo(&t->buf, "+%s@%d ", name, depth);
	return true;
}

static bool
traceEnd(void *arg, int depth, const char *name, const char *text,
		 size_t textLen, bool leaf, DrError *err)
{
	Trace	   *t = arg;

	if (strlen(text) != textLen)
		appendStringInfoString(&t->buf, "(length mismatch)");
	if (leaf)
		appendStringInfo(&t->buf, "-%s@%d[%s] ", name, depth, text);
	else
		appendStringInfo(&t->buf, "-%s@%d* ", name, depth);
	return true;
}

/*
 * Read doc in pieces of chunk bytes (0: at once): the trace, or "ERROR: "
 * and the message.  Tracked.
 */
static char *
readDoc(const char *doc, size_t len, size_t chunk, int failAtDepth)
{
	Trace		t;
	S3XmlCallbacks cb = {traceStart, traceEnd, &t};
	S3Xml	   *xml;
	DrError		err;
	bool		ok = true;
	char	   *result;

	initStringInfo(&t.buf);
	t.failAtDepth = failAtDepth;
	xml = s3XmlNew(&cb);
	if (chunk == 0)
		chunk = Max(len, 1);
	for (size_t pos = 0; ok && pos < len; pos += chunk)
		ok = s3XmlFeed(xml, doc + pos, Min(chunk, len - pos), &err);
	if (ok)
		ok = s3XmlFinish(xml, &err);
	if (!ok)
	{
		result = tsprintf("ERROR: %s", err.message);
		/* a failed reader stays failed */
		if (s3XmlFeed(xml, "<a/>", 4, &err) || strcmp(result + 7, err.message) != 0)
			result = tsprintf("reader did not stay failed: %s", err.message);
	}
	else
		result = tsprintf("%s", t.buf.data);
	s3XmlFree(xml);
	pfree(t.buf.data);
	return result;
}

static char *
readStr(const char *doc)
{
	return readDoc(doc, strlen(doc), 0, 0);
}

/* doc reads as want, fed at once and in pieces of every size. */
static void
readsAs(const char *doc, const char *want, const char *what)
{
	size_t		len = strlen(doc);
	bool		same = true;

	is_str(readStr(doc), want, "%s", what);
	for (size_t chunk = 1; chunk < len; chunk++)
	{
		char	   *got = readDoc(doc, len, chunk, 0);

		if (strcmp(got, want) != 0)
		{
			diag("in pieces of %zu bytes: %s", chunk, got);
			same = false;
			break;
		}
	}
	ok(same, "%s: the same in pieces of every size", what);
}

/* doc is refused with a message holding want. */
static void
refused(const char *doc, size_t len, const char *want, const char *what)
{
	char	   *got = readDoc(doc, len, 0, 0);
	char	   *byByte = readDoc(doc, len, 1, 0);

	ok(strncmp(got, "ERROR: ", 7) == 0 && strstr(got, want) != NULL,
	   "refused: %s (%s)", what, got);
	is_str(byByte, got, "refused the same fed byte by byte: %s", what);
}

#define refusedStr(doc, want, what) refused((doc), strlen(doc), (want), (what))

static void
testEvents(void)
{
	readsAs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
			"<Name>bucket</Name><Contents><Key>a/b</Key><Size>5</Size></Contents>"
			"<IsTruncated>false</IsTruncated></ListBucketResult>\n",
			"+ListBucketResult@1 +Name@2 -Name@2[bucket] +Contents@2 +Key@3 -Key@3[a/b] "
			"+Size@3 -Size@3[5] -Contents@2* +IsTruncated@2 -IsTruncated@2[false] "
			"-ListBucketResult@1* ",
			"declaration, namespace, nesting, leaves");
	readsAs("<!-- before --><?pi x?><r a='1' b = \"x&amp;y\"\n c=\"&#65;\" >"
			"<!-- a > comment -- - --><e/><f></f><s3:Key>k</s3:Key></r ><!-- after -->\n",
			"+r@1 +e@2 -e@2[] +f@2 -f@2[] +Key@2 -Key@2[k] -r@1* ",
			"comments, PIs, attributes skipped; <e/>; prefix dropped");
	readsAs("<r><k>&amp;&lt;&gt;&quot;&apos; &#65;&#x42;&#x20AC;&#x1F600;&#9;</k></r>",
			"+r@1 +k@2 -k@2[&<>\"' AB\xe2\x82\xac\xf0\x9f\x98\x80\t] -r@1* ",
			"entities and character references decoded to UTF-8");
	readsAs("<r><![CDATA[<x>&amp;]]]]><![CDATA[>y]]]></r>",
			"+r@1 -r@1[<x>&amp;]]>y]] ",
			"CDATA taken as it is, \"]]\" and \"]]]>\" inside");
	readsAs("<r>a\r\nb\rc\n\r</r>", "+r@1 -r@1[a\nb\nc\n\n] ",
			"CR LF and CR made LF");
	readsAs("<r>caf\xc3\xa9 \xe2\x82\xac</r>", "+r@1 -r@1[caf\xc3\xa9 \xe2\x82\xac] ",
			"UTF-8 text kept");
}

static void
testUtf8(void)
{
	ok(s3XmlUtf8Valid("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10), "valid UTF-8");
	ok(s3XmlUtf8Valid("\xf4\x8f\xbf\xbf", 4), "U+10FFFF is valid");
	ok(!s3XmlUtf8Valid("\xc0\x80", 2), "overlong two-byte form refused");
	ok(!s3XmlUtf8Valid("\xe0\x80\xaf", 3), "overlong three-byte form refused");
	ok(!s3XmlUtf8Valid("\xf0\x80\x80\xaf", 4), "overlong four-byte form refused");
	ok(!s3XmlUtf8Valid("\xed\xa0\x80", 3), "surrogate refused");
	ok(!s3XmlUtf8Valid("\xf4\x90\x80\x80", 4), "beyond U+10FFFF refused");
	ok(!s3XmlUtf8Valid("a\xe2\x82", 3), "truncated sequence refused");
	ok(!s3XmlUtf8Valid("\x80", 1), "stray continuation byte refused");
}

static void
testRefused(void)
{
	StringInfoData big;
	char		nul[] = "<r>a\0b</r>";

	refusedStr("<a><b></a></b>", "end tag \"a\" does not match start tag \"b\"", "crossed tags");
	refusedStr("<a></a></b>", "end tag \"b\" without a start tag", "a stray end tag after the root");
	refusedStr("<a><b>x</b>", "document ends inside element \"a\"", "a document cut in an element");
	refusedStr("<a><b", "document ends inside element \"a\"", "a document cut in a tag");
	refusedStr("<a/><!-- x", "document ends inside a tag, comment", "a document cut in a comment");
	refusedStr("  \n", "without a root element", "no root");
	refusedStr("", "without a root element", "an empty document");
	refusedStr("<a/><b/>", "a second root element \"b\"", "two roots");
	refusedStr("x<a/>", "text before the root element", "text before the root");
	refusedStr("<a/>x", "content after the root element", "text after the root");
	refusedStr("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>", "a DOCTYPE is not accepted", "a DOCTYPE");
	refusedStr("<a>&nbsp;</a>", "unknown entity \"&nbsp;\"", "an unknown entity");
	refusedStr("<a>fish & chips</a>", "'&' not followed by an entity name", "a bare '&'");
	refusedStr("<a>&#0;</a>", "is not an XML character", "&#0;");
	refusedStr("<a>&#xD800;</a>", "is not an XML character", "a surrogate reference");
	refusedStr("<a>&#x110000;</a>", "beyond U+10FFFF", "a reference beyond U+10FFFF");
	refusedStr("<a>&#x;</a>", "without digits", "&#x;");
	refusedStr("<a>&#12a;</a>", "malformed character reference", "&#12a;");
	refusedStr("<a>\xff</a>", "text of element \"a\" is not valid UTF-8", "invalid UTF-8 text");
	refusedStr("<a>\xc0\x80</a>", "not valid UTF-8", "an overlong NUL");
	refused(nul, sizeof(nul) - 1, "NUL byte", "a NUL byte");
	refusedStr("<a>\x01</a>", "control character 0x01", "a control character");
	refusedStr("<a b=\"<\"/>", "'<' in an attribute value", "'<' in an attribute");
	refusedStr("<a b=c/>", "attribute value without quotes", "an unquoted attribute");
	refusedStr("<a b/>", "malformed attribute in start tag \"a\"", "an attribute without a value");
	refusedStr("<a b c/>", "attribute without '='", "an attribute name without '='");
	refusedStr("<a b=\"1\"c=\"2\"/>", "malformed start tag \"a\"", "attributes without space between");
	refusedStr("<a></ a>", "malformed end tag", "a space after '</'");
	refusedStr("< a/>", "'<' not followed by a tag", "a space after '<'");
	refusedStr("<1a/>", "'<' not followed by a tag", "a name starting with a digit");
	refusedStr("<a/ >", "'/' not followed by '>'", "\"/ >\"");
	refusedStr("<a\xc3\xa9/>", "byte 0xc3 in element name \"a\"", "a non-ASCII name");
	refusedStr("<a>&am\xc3\xa9;</a>", "'&' not followed by an entity name", "a non-ASCII entity name");
	refusedStr("<a><![CDATA[x]]></a><![CDATA[y]]>", "CDATA section outside the root", "CDATA outside the root");
	refusedStr("<a>\n<b>\n  <c></b>", "XML line 3, column 9: end tag \"b\" does not match",
			   "the line and column of the failure");

	initStringInfo(&big);
	for (int i = 0; i <= S3_XML_DEPTH_MAX; i++)
		appendStringInfoString(&big, "<d>");
	refused(big.data, big.len, "elements nested deeper than 16", "nesting too deep");
	resetStringInfo(&big);
	appendStringInfoChar(&big, '<');
	for (int i = 0; i <= S3_XML_NAME_MAX; i++)
		appendStringInfoChar(&big, 'n');
	appendStringInfoString(&big, "/>");
	refused(big.data, big.len, "element name longer than 128 bytes", "a long name");
	resetStringInfo(&big);
	appendStringInfoString(&big, "<a>");
	for (int i = 0; i <= S3_XML_TEXT_MAX; i++)
		appendStringInfoChar(&big, 'x');
	appendStringInfoString(&big, "</a>");
	refused(big.data, big.len, "text of element \"a\" longer than 65536 bytes", "too much text");
	/* the limit is per element: the same bytes spread over siblings read */
	resetStringInfo(&big);
	appendStringInfoString(&big, "<r>");
	for (int i = 0; i < 4; i++)
	{
		appendStringInfoString(&big, "<a>");
		for (int k = 0; k < S3_XML_TEXT_MAX / 2; k++)
			appendStringInfoChar(&big, 'x');
		appendStringInfoString(&big, "</a>\n");
	}
	appendStringInfoString(&big, "</r>");
	ok(strncmp(readDoc(big.data, big.len, 4096, 0), "ERROR", 5) != 0,
	   "text bounded per element, not per document");
	pfree(big.data);

	is_str(readDoc("<a><b/></a>", 11, 0, 2), "ERROR: callback refused <b>",
		   "a callback's failure stops the reader with its error");
}

int
main(void)
{
	testEvents();
	testUtf8();
	testRefused();
	trackFree();
	return tapDone();
}
