/*-------------------------------------------------------------------------
 * s3_xml.h
 *	  A small push reader of XML, enough for the documents S3 answers with
 *	  (ListObjectsV2, errors, multipart uploads, DeleteObjects): fed the
 *	  body in pieces of any size as they arrive, it calls back at each
 *	  start tag and at each end tag with the element's decoded text.
 *
 * Why not libxml2: the CLI does not link it (nor does the extension: the
 * server links it for the xml type, and installs its own error handler
 * around each use, pg_xml_init, which a second user in the backend would
 * have to work around), libxml2-dev is not among the build dependencies,
 * and S3's documents need none of what makes a full parser large.  This
 * one takes well-formed XML 1.0 without a DOCTYPE:
 *
 * - elements, attributes (checked for syntax, then ignored: S3 puts only
 *   xmlns there), comments, processing instructions and the XML
 *   declaration (skipped), CDATA sections (text);
 * - the five predefined entities and character references (&#NNN;,
 *   &#xHHH;); any other entity, and a DOCTYPE (the door to entity
 *   expansion), are refused;
 * - element names are ASCII (letters, digits, "_:.-"), reported without
 *   a namespace prefix ("s3:Key" is "Key"); start and end tags must match
 *   exactly;
 * - text is reported decoded, line ends normalized to LF, and must be
 *   valid UTF-8 without control characters other than tab, CR and LF;
 * - memory is bounded whatever the input: at most S3_XML_DEPTH_MAX open
 *   elements, names of at most S3_XML_NAME_MAX bytes, at most
 *   S3_XML_TEXT_MAX bytes of text between two tags;
 * - exactly one root element, only white space, comments and processing
 *   instructions around it.
 *
 * Anything else is DR_ERR_CORRUPT with the line and column ("XML line 3,
 * column 14: ...").  After a failure the reader stays failed.
 *-------------------------------------------------------------------------
 */
#ifndef DR_S3_XML_H
#define DR_S3_XML_H

#include "common/error.h"

#define S3_XML_DEPTH_MAX	16
#define S3_XML_NAME_MAX		128
#define S3_XML_TEXT_MAX		(64 * 1024)

/*
 * A start tag: depth 1 is the root element.  Returning false (err set)
 * stops the reader; s3XmlFeed then fails with that error.
 */
typedef bool (*S3XmlStartCallback) (void *arg, int depth, const char *name,
									DrError *err);

/*
 * An end tag (or the end of an empty element <a/>), with the text read
 * since the last tag (terminated; textLen bytes).  leaf is true when the
 * element had no child element: then text is its whole content.  For an
 * element with children, text is only what followed the last child.
 */
typedef bool (*S3XmlEndCallback) (void *arg, int depth, const char *name,
								  const char *text, size_t textLen, bool leaf,
								  DrError *err);

typedef struct S3XmlCallbacks
{
	S3XmlStartCallback start;	/* may be NULL */
	S3XmlEndCallback end;		/* may be NULL */
	void	   *arg;
} S3XmlCallbacks;

typedef struct S3Xml S3Xml;

extern S3Xml *s3XmlNew(const S3XmlCallbacks *callbacks);

/* Read len more bytes of the document; false on malformed input or a callback's failure. */
extern bool s3XmlFeed(S3Xml *xml, const char *data, size_t len, DrError *err);

/* The document ended: false unless its root element was read and closed. */
extern bool s3XmlFinish(S3Xml *xml, DrError *err);

extern void s3XmlFree(S3Xml *xml);

/*
 * Whether s[0..len) is valid UTF-8 (no overlong form, no surrogate, at
 * most U+10FFFF).
 */
extern bool s3XmlUtf8Valid(const char *s, size_t len);

#endif							/* DR_S3_XML_H */
