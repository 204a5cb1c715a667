/*-------------------------------------------------------------------------
 * codec.h
 *	  The object codec: plain bytes in, a self-describing repository object
 *	  out (and back).  zstd compression, AES-256-GCM authenticated
 *	  encryption in chunks, SHA-256 of the plain content.
 *
 * Every object pg_dr stores (backup files, WAL segments, manifests) goes
 * through this one stream filter; callers never name zstd or OpenSSL.
 *
 * Object format, versions 1 and 2 (all integers little-endian):
 *
 *	 header (64 bytes)
 *	   magic      8  "PGDROBJ1"
 *	   version    2  1, or 2 for an object bound to its name (below)
 *	   flags      2  bit 0: zstd-compressed, bit 1: AES-256-GCM encrypted
 *	   chunkSize  4  largest chunk payload, bytes (a power of two from
 *	                 CODEC_CHUNK_SIZE_MIN to CODEC_CHUNK_SIZE_MAX)
 *	   keyId     16  id of the data key (zero when not encrypted)
 *	   salt      16  random per object; with the data key it derives the
 *	                 object key (HKDF-SHA256, info "pg_dr object key"), so
 *	                 nonces never repeat across objects that share a data
 *	                 key (zero when not encrypted)
 *	   binding   16  version 1: zero (reserved).  Version 2: the first 16
 *	                 bytes of SHA-256("pg_dr object name" || 0x00 || name),
 *	                 never all zero, where name is what the writer bound
 *	                 the object to (the WAL file name of an archived WAL
 *	                 file)
 *	 chunks, each:
 *	   length     4  payload length in bytes (<= chunkSize)
 *	   flags      4  bit 0: last chunk (the trailer)
 *	   payload       compressed (and encrypted) stream bytes
 *	   tag       16  GCM tag; only present when encrypted
 *	 every data chunk but the last one is exactly chunkSize long, and no
 *	 data chunk is empty (so an object has exactly one valid framing)
 *	 the last chunk's plain payload is the trailer:
 *	   rawSize    8  plain content length
 *	   sha256    32  SHA-256 of the plain content
 *
 * Encrypted chunks use nonce = chunk index (8 bytes) || chunk flags (4
 * bytes) and the 64 header bytes as additional authenticated data, so a
 * flipped bit anywhere (header included), a reordered, dropped or repeated
 * chunk, or a truncated object is detected.  An object that does not end
 * with a valid trailer chunk, or whose content does not hash to the trailer,
 * is corrupt: the decoder never returns its last bytes as good data before
 * the check, so a reader must treat everything it read as unverified until
 * codecDecoderRead() returned 0 (end, verified).
 *
 * Unencrypted objects carry no tag, but are still checked: the header must
 * be canonical (zero key id, salt and reserved bytes, power-of-two chunk
 * size), the framing must be exact, and the content must decompress and
 * match the trailer's size and SHA-256.
 *
 * Binding (version 2, added for the WAL archive): an authenticated object
 * is only as good as the name it is found under.  Another segment's object
 * copied to a segment's name decodes perfectly and would be served as that
 * segment.  So a writer may bind an object to a name (CodecEncodeParam
 * .binding); the binding is in the header, which is the additional
 * authenticated data of every chunk, so for an encrypted object it cannot
 * be changed or removed without failing authentication.  A reader that
 * knows the name asks codecDecoderBindingCheck().  An object without a
 * binding is written as version 1, byte for byte the format of earlier
 * releases, which keep reading it; version 1 objects (all objects written
 * before version 2 existed) have no binding, and are accepted as unbound:
 * what else a reader can check (a WAL segment's page header) it must.
 *
 * Memory is bounded by chunkSize (a few buffers of it) plus the zstd
 * context, whatever the object size.  A process keeps one zstd context of
 * each kind (compression, decompression) between objects, reset, for the
 * next one (codec_encode.c, codec_decode.c).  zstd and OpenSSL allocate with
 * malloc: backend callers must make sure codecEncoderFree/codecDecoderFree
 * runs when an ERROR unwinds past them (PG_TRY/PG_FINALLY).
 *-------------------------------------------------------------------------
 */
#ifndef DR_CODEC_H
#define DR_CODEC_H

#include "common/error.h"

#define CODEC_MAGIC				"PGDROBJ1"
#define CODEC_VERSION			1	/* an object without a binding */
#define CODEC_VERSION_BOUND		2	/* an object bound to a name */
#define CODEC_BINDING_SIZE		16
#define CODEC_HEADER_SIZE		64
#define CODEC_TAG_SIZE			16
#define CODEC_KEY_ID_SIZE		16
#define CODEC_KEY_SIZE			32
#define CODEC_SHA256_SIZE		32
#define CODEC_CHUNK_SIZE_DEFAULT	(1024 * 1024)
#define CODEC_CHUNK_SIZE_MAX	(16 * 1024 * 1024)
#define CODEC_CHUNK_SIZE_MIN	64	/* the 40-byte trailer must fit */

#define CODEC_FLAG_ZSTD			0x0001
#define CODEC_FLAG_AES256GCM	0x0002

/* A data key: random, per backup or per WAL stream, wrapped in the repo. */
typedef struct CodecDataKey
{
	uint8		id[CODEC_KEY_ID_SIZE];
	uint8		key[CODEC_KEY_SIZE];
} CodecDataKey;

/* Where encoded bytes go. Returns false and fills err on failure. */
typedef struct CodecSink
{
	bool		(*write) (void *arg, const void *buf, size_t len, DrError *err);
	void	   *arg;
} CodecSink;

/*
 * Where encoded bytes come from. Returns the number of bytes read (less than
 * len only at end of input), 0 at end, -1 on failure (err filled).
 */
typedef struct CodecSource
{
	ssize_t		(*read) (void *arg, void *buf, size_t len, DrError *err);
	void	   *arg;
} CodecSource;

/*
 * Finds the data key for an id found in an object header.  Returns NULL and
 * fills err (DR_ERR_KEY or DR_ERR_NOT_FOUND) when it has none.
 */
typedef const CodecDataKey *(*CodecKeyLookup) (void *arg, const uint8 *keyId,
											   DrError *err);

typedef struct CodecEncodeParam
{
	int			compressLevel;	/* zstd level 1..19; 0 = store uncompressed */
	const CodecDataKey *key;	/* NULL = not encrypted */
	uint32		chunkSize;		/* 0 = CODEC_CHUNK_SIZE_DEFAULT; else a power
								 * of two, CODEC_CHUNK_SIZE_MIN..MAX */
	const char *binding;		/* the name the object is bound to (a
								 * version 2 object); NULL = none (version
								 * 1) */
} CodecEncodeParam;

/* What an object holds, known after codecEncoderEnd/codecDecoderEnd. */
typedef struct CodecResult
{
	uint64		rawSize;		/* plain bytes */
	uint64		storedSize;		/* encoded bytes, header to last tag */
	uint8		sha256[CODEC_SHA256_SIZE];	/* of the plain bytes */
} CodecResult;

typedef struct CodecEncoder CodecEncoder;
typedef struct CodecDecoder CodecDecoder;

/* Header fields, as read by codecHeaderParse. */
typedef struct CodecHeader
{
	uint16		version;
	uint16		flags;
	uint32		chunkSize;
	uint8		keyId[CODEC_KEY_ID_SIZE];
	uint8		salt[16];
	bool		bound;			/* version 2: binding is set */
	uint8		binding[CODEC_BINDING_SIZE];	/* zero when not bound */
} CodecHeader;

/*
 * Encoder.  New writes the header to the sink; Write may be called any
 * number of times; End flushes, writes the trailer and frees the encoder
 * (whether it succeeds or not: never call Free after End); Free abandons it
 * (the sink's owner must discard what was written).  After a failed Write,
 * only Free (or End, which then fails) may follow.
 */
extern CodecEncoder *codecEncoderNew(const CodecEncodeParam *param,
									 CodecSink sink, DrError *err);
extern bool codecEncoderWrite(CodecEncoder *enc, const void *buf, size_t len,
							  DrError *err);
extern bool codecEncoderEnd(CodecEncoder *enc, CodecResult *result,
							DrError *err);
extern void codecEncoderFree(CodecEncoder *enc);

/*
 * Decoder.  New reads and checks the header (and looks the key up when the
 * object is encrypted).  Read returns plain bytes, 0 once the whole object
 * was read and verified (trailer, size, SHA-256), -1 on failure with err set
 * (DR_ERR_CORRUPT for anything wrong with the data).  End returns what the
 * object held and frees the decoder; it fails unless Read returned 0 (and
 * frees the decoder either way: never call Free after End).
 *
 * Key errors: no lookup for an encrypted object, a lookup that fails (its
 * error is passed on), or a lookup that returns a key with another id is
 * DR_ERR_KEY.  A key with the right id but the wrong bytes cannot be told
 * apart from damage: the first chunk then fails authentication
 * (DR_ERR_CORRUPT).  Read with len 0 is refused (DR_ERR_INVALID), since 0
 * means "verified end".
 */
extern CodecDecoder *codecDecoderNew(CodecSource source, CodecKeyLookup lookup,
									 void *lookupArg, DrError *err);
extern ssize_t codecDecoderRead(CodecDecoder *dec, void *buf, size_t len,
								DrError *err);
extern bool codecDecoderEnd(CodecDecoder *dec, CodecResult *result,
							DrError *err);
extern void codecDecoderFree(CodecDecoder *dec);

/*
 * Before the first Read: do not compute the content hash, for a caller
 * that reads only part of an object and so never reaches the check of its
 * trailer (a backup reading its parent's copy of a file).  Should the end
 * be reached, the trailer's size and the framing are still checked, the
 * hash is not, and End's result carries no hash (all zero).  What is read
 * is authenticated chunk by chunk only when the object is encrypted.
 */
extern void codecDecoderNoHash(CodecDecoder *dec);

/*
 * Before the first Read: do not recompute SHA-256 when the content is
 * verified otherwise, which is when the object is encrypted (AES-GCM
 * authenticates every chunk, the trailer with the SHA-256 and size taken
 * when the object was written included) and its plain bytes are either
 * those chunks (stored uncompressed) or come from a zstd frame carrying a
 * content checksum (XXH64), which zstd checks as it decompresses; objects
 * written since the encoder asks for that checksum do.  End's result then
 * carries the trailer's SHA-256.  Anything else is hashed as usual.  For a
 * restore, where SHA-256 is a third of the decoding time; verification
 * (pg_dr verify) keeps recomputing it.
 */
extern void codecDecoderFastVerify(CodecDecoder *dec);

/*
 * Is the object bound to name?  True when it is (*bound true), or when it
 * has no binding at all, a version 1 object (*bound false); false, with
 * DR_ERR_CORRUPT, when it is bound to another name: it was written as
 * another object and copied or renamed to where it was found.  For an
 * encrypted object the binding is authenticated with the first chunk, so
 * what was read is only known authentic once Read returned 0 (as always).
 */
extern bool codecDecoderBindingCheck(const CodecDecoder *dec, const char *name,
									 bool *bound, DrError *err);

/* The binding of name (CODEC_BINDING_SIZE bytes, never all zero). */
extern bool codecBindingCompute(const char *name, uint8 *binding,
								DrError *err);

/* After End or a Read that returned 0: whether SHA-256 was recomputed. */
extern bool codecDecoderHashed(const CodecDecoder *dec);

/*
 * Parse and check the 64 header bytes (magic, version, known flags, sane
 * chunk size, zero reserved bytes in version 1, a binding in version 2).
 * Used by the decoder, by `pg_dr info`, and by the fuzz target.
 */
extern bool codecHeaderParse(const uint8 *buf, size_t len, CodecHeader *header,
							 DrError *err);

/*
 * The length of the encoded object that begins buf (len bytes, which may
 * run on past it: an entry of a bundle, followed by the next), from its
 * header and the framing of its chunks alone: the bytes up to and with its
 * last chunk.  Nothing is authenticated; a decode of exactly that span
 * does.  False with DR_ERR_CORRUPT when the header is bad or len ends
 * before the last chunk.  Pure.
 */
extern bool codecObjectSpan(const uint8 *buf, size_t len, uint64 *span,
							DrError *err);

/* SHA-256 as lower-case hex (65 bytes with the terminator). */
extern void codecSha256Hex(const uint8 *sha256, char *hex);

/* One-shot SHA-256 of a buffer. */
extern bool codecSha256(const void *buf, size_t len, uint8 *out, DrError *err);

#endif							/* DR_CODEC_H */
