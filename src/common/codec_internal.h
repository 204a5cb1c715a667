/*-------------------------------------------------------------------------
 * codec_internal.h
 *	  What the codec's own files share (codec_header.c, codec_encode.c,
 *	  codec_decode.c).  Nothing outside src/common/codec_*.c includes this.
 *
 * The object format itself is documented in codec.h; this header only
 * names its pieces (chunk head, trailer, nonce) and the helpers that both
 * directions must compute identically: the header bytes, the object key
 * and the chunk nonce.  Keeping them in one place is what guarantees that
 * the decoder authenticates exactly what the encoder wrote.
 *-------------------------------------------------------------------------
 */
#ifndef DR_CODEC_INTERNAL_H
#define DR_CODEC_INTERNAL_H

#include "common/codec.h"

#define CODEC_SALT_SIZE			16
#define CODEC_NONCE_SIZE		12
#define CODEC_CHUNK_HEAD_SIZE	8	/* length (4) + flags (4) */
#define CODEC_TRAILER_SIZE		(8 + CODEC_SHA256_SIZE) /* rawSize + sha256 */

#define CODEC_CHUNK_FLAG_LAST	0x00000001
#define CODEC_CHUNK_FLAGS_KNOWN CODEC_CHUNK_FLAG_LAST

/* HKDF info string: binds the derived key to its one use */
#define CODEC_HKDF_INFO			"pg_dr object key"

/*
 * Little-endian integer access.  The format is defined byte by byte, so we
 * never memcpy a struct or a native integer into it.
 */
static inline void
codecPutLe16(uint8 *p, uint16 v)
{
	p[0] = (uint8) v;
	p[1] = (uint8) (v >> 8);
}

static inline void
codecPutLe32(uint8 *p, uint32 v)
{
	p[0] = (uint8) v;
	p[1] = (uint8) (v >> 8);
	p[2] = (uint8) (v >> 16);
	p[3] = (uint8) (v >> 24);
}

static inline void
codecPutLe64(uint8 *p, uint64 v)
{
	codecPutLe32(p, (uint32) v);
	codecPutLe32(p + 4, (uint32) (v >> 32));
}

static inline uint16
codecGetLe16(const uint8 *p)
{
	return (uint16) (p[0] | (p[1] << 8));
}

static inline uint32
codecGetLe32(const uint8 *p)
{
	return (uint32) p[0] | ((uint32) p[1] << 8) |
		((uint32) p[2] << 16) | ((uint32) p[3] << 24);
}

static inline uint64
codecGetLe64(const uint8 *p)
{
	return (uint64) codecGetLe32(p) | ((uint64) codecGetLe32(p + 4) << 32);
}

/* Serialize header fields into the 64 header bytes (reserved bytes zero). */
extern void codecHeaderBuild(const CodecHeader *header, uint8 *buf);

/* Per-object key: HKDF-SHA256(ikm = data key, salt, info = CODEC_HKDF_INFO). */
extern bool codecObjectKeyDerive(const uint8 *dataKey, const uint8 *salt,
								 uint8 *objectKey, DrError *err);

/* Chunk nonce: chunk index (8 bytes LE) || chunk flags (4 bytes LE). */
extern void codecChunkNonce(uint64 index, uint32 chunkFlags, uint8 *nonce);

/*
 * Fill err with DR_ERR_INTERNAL naming the failed OpenSSL call and the first
 * error on OpenSSL's queue, then clear the queue so that it cannot leak into
 * an unrelated later report.  Returns false.
 */
extern bool codecOpensslError(DrError *err, const char *what);

/* Overwrite key material before its memory is released. */
extern void codecWipe(void *buf, size_t len);

#endif							/* DR_CODEC_INTERNAL_H */
