/*-------------------------------------------------------------------------
 * json.h
 *	  A small strict JSON reader (RFC 8259): a whole document read into a
 *	  tree, for the answers of services spoken to over HTTP (etcd's JSON
 *	  gateway, ha/etcd.c).  PostgreSQL 15's common/jsonapi.h is a callback
 *	  parser without a tree; this one is what its callers need, and small.
 *
 * Strict: one value, surrounded by whitespace only; no comments, no
 * trailing commas, no leading zeros or bare "+"/"." in numbers, no raw
 * control characters in strings, no invalid UTF-8 (overlong forms,
 * surrogates, past U+10FFFF), no lone surrogate escapes, no "\u0000"
 * (strings are C strings), no duplicate member names; depth at most
 * DR_JSON_DEPTH_MAX.  Anything else fails with DR_ERR_CORRUPT and a
 * message "JSON: <what> at offset N" prefixed by the caller's context.
 * Memory: the tree is palloc'd, bounded by the document's size (about 64
 * bytes per byte at worst: a long array of one-digit numbers); the caller
 * bounds the document (the HTTP layer's responseMax).
 *-------------------------------------------------------------------------
 */
#ifndef DR_JSON_H
#define DR_JSON_H

#include "common/error.h"

#define DR_JSON_DEPTH_MAX	64

typedef enum DrJsonType
{
	DR_JSON_NULL,
	DR_JSON_FALSE,
	DR_JSON_TRUE,
	DR_JSON_NUMBER,
	DR_JSON_STRING,
	DR_JSON_ARRAY,
	DR_JSON_OBJECT
} DrJsonType;

typedef struct DrJson
{
	DrJsonType	type;
	/* string: the decoded text (valid UTF-8, NUL-terminated); number: the
	 * literal as written */
	char	   *text;
	size_t		len;
	/* array and object: count members, in document order */
	int			count;
	struct DrJson *items;
	char	  **keys;			/* object only: the member names */
} DrJson;

/* Read a document of len bytes; NULL with err set when it is not JSON. */
extern DrJson *drJsonParse(const char *text, size_t len, DrError *err);

/* Free a tree drJsonParse returned (NULL is fine). */
extern void drJsonFree(DrJson *json);

/* An object's member by name; NULL when absent or json is not an object. */
extern const DrJson *drJsonGet(const DrJson *json, const char *key);

/*
 * An integer: a JSON number without fraction or exponent, or a string of
 * the same form (how the protobuf JSON mapping writes 64-bit numbers, as
 * etcd does).  False when absent (NULL), of another kind, or out of range.
 */
extern bool drJsonInt64(const DrJson *json, int64 *value);

/* A string's text, or NULL when json is NULL or not a string. */
extern const char *drJsonString(const DrJson *json);

/* Whether s (len bytes) is valid UTF-8 (no surrogates, nothing past U+10FFFF). */
extern bool drJsonUtf8Valid(const char *s, size_t len);

/*
 * JSON text of a string value, quotes included, appended to buf: '"',
 * '\\' and control characters escaped (the rest copied as is).
 */
struct StringInfoData;
extern void drJsonQuote(struct StringInfoData *buf, const char *s);

#endif							/* DR_JSON_H */
