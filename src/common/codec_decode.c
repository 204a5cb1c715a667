/*-------------------------------------------------------------------------
 * codec_decode.c
 *	  The decoding direction of the object codec: a repository object in
 *	  from a source, its plain content out, checked on the way.
 *
 * One chunk at a time is read whole into a buffer of chunkSize bytes and,
 * when the object is encrypted, authenticated before a single byte of it
 * is decompressed or handed out: a damaged chunk never reaches the caller.
 * What authentication cannot see by itself (the chunk that should come
 * next but does not) is caught by the framing rules: the nonce carries the
 * chunk index and the "last" flag, only the last data chunk may be short,
 * the trailer must come, nothing may follow it.  The trailer's size and
 * SHA-256 are checked against what was actually handed out, which is also
 * all the protection an unencrypted object's content gets.
 *
 * Read returns 0 only after all of that passed; every error is sticky, so
 * a caller that ignores one cannot be handed "end" afterwards.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <limits.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <zstd.h>

#include "common/codec.h"
#include "common/codec_internal.h"
#include "common/hex.h"

/*
 * Largest zstd window accepted.  Levels 1 to 19 use at most 2^23; refusing
 * more keeps a hostile object from making us allocate a huge window.
 */
#define CODEC_ZSTD_WINDOW_LOG_MAX	24

/* RFC 8878: a zstd frame's magic number, and its Content_Checksum_flag */
#define CODEC_ZSTD_MAGIC			0xFD2FB528u
#define CODEC_ZSTD_CHECKSUM_FLAG	0x04

typedef enum CodecDecoderState
{
	CODEC_DECODER_READING,
	CODEC_DECODER_DONE,			/* trailer verified: Read returns 0 */
	CODEC_DECODER_FAILED		/* an error was reported */
} CodecDecoderState;

struct CodecDecoder
{
	CodecSource source;
	CodecHeader header;
	uint8		headerBytes[CODEC_HEADER_SIZE]; /* the AAD of every chunk */
	bool		compressed;
	bool		encrypted;
	CodecDecoderState state;

	/* current chunk: payload + tag, verified before inPos moves at all */
	uint8	   *chunk;
	uint32		inLen;			/* payload bytes in chunk */
	uint32		inPos;			/* payload bytes consumed */
	size_t		chunkUsed;		/* most bytes of chunk ever read into */

	uint64		chunkIndex;		/* index of the next chunk to read */
	uint64		storedOffset;	/* where the next chunk starts */
	bool		sawShortChunk;	/* a data chunk < chunkSize was read */
	bool		frameDone;		/* zstd frame complete and flushed */

	ZSTD_DCtx  *zstd;			/* NULL when not compressed */
	EVP_CIPHER_CTX *cipher;		/* NULL when not encrypted */
	EVP_MD_CTX *sha;			/* SHA-256 of what was handed out */
	bool		noHash;			/* codecDecoderNoHash: sha unused */
	bool		fastVerify;		/* codecDecoderFastVerify asked for */
	bool		hashSkipped;	/* ... and the object allows it */

	uint64		rawSize;		/* plain bytes handed out */
	uint8		sha256[CODEC_SHA256_SIZE];	/* known once DONE */
};

/*
 * One decompression context kept for the next decoder of this process,
 * reset before it is kept: as for the encoder (codec_encode.c), a context
 * per object costs more than decoding a small object.
 */
static ZSTD_DCtx *codecZstdSpare = NULL;

static ZSTD_DCtx *
codecZstdGet(void)
{
	ZSTD_DCtx  *dctx = codecZstdSpare;

	codecZstdSpare = NULL;
	return dctx != NULL ? dctx : ZSTD_createDCtx();
}

static void
codecZstdPut(ZSTD_DCtx *dctx)
{
	if (codecZstdSpare == NULL &&
		!ZSTD_isError(ZSTD_DCtx_reset(dctx, ZSTD_reset_session_and_parameters)))
		codecZstdSpare = dctx;
	else
		ZSTD_freeDCtx(dctx);
}

static void
codecDecoderRelease(CodecDecoder *dec)
{
	if (dec->zstd != NULL)
		codecZstdPut(dec->zstd);
	if (dec->cipher != NULL)
		EVP_CIPHER_CTX_free(dec->cipher);
	if (dec->sha != NULL)
		EVP_MD_CTX_free(dec->sha);
	if (dec->chunk != NULL)
	{
		/* what was never read into holds nothing to wipe */
		codecWipe(dec->chunk, dec->chunkUsed);
		pfree(dec->chunk);
	}
	pfree(dec);
}

/*
 * Read exactly len bytes unless the source ends first.  Returns the number
 * of bytes read (< len only at end of input), or -1 with err set.
 */
static ssize_t
codecSourceReadFull(CodecSource *source, uint8 *buf, size_t len, DrError *err)
{
	size_t		done = 0;

	while (done < len)
	{
		ssize_t		n = source->read(source->arg, buf + done, len - done, err);

		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t) n;
	}
	return (ssize_t) done;
}

/* Find the data key, check it is the one asked for, key the cipher. */
static bool
codecDecoderKeyInit(CodecDecoder *dec, CodecKeyLookup lookup, void *lookupArg,
					DrError *err)
{
	const CodecDataKey *key;
	uint8		objectKey[CODEC_KEY_SIZE];
	char		idHex[2 * CODEC_KEY_ID_SIZE + 1];
	bool		ok;

	hexEncode(dec->header.keyId, CODEC_KEY_ID_SIZE, HEX_LOWER, idHex);

	if (lookup == NULL)
		return drErrorSet(err, DR_ERR_KEY,
						  "object is encrypted with data key %s but no key was given",
						  idHex);
	/* so that a lookup which fails without saying why can be caught */
	drErrorClear(err);
	key = lookup(lookupArg, dec->header.keyId, err);
	if (key == NULL)
	{
		if (err != NULL && err->code == DR_OK)
			drErrorSet(err, DR_ERR_KEY, "data key %s was not found", idHex);
		return false;
	}
	if (memcmp(key->id, dec->header.keyId, CODEC_KEY_ID_SIZE) != 0)
		return drErrorSet(err, DR_ERR_KEY,
						  "key lookup returned another key than data key %s",
						  idHex);

	if (!codecObjectKeyDerive(key->key, dec->header.salt, objectKey, err))
		return false;
	dec->cipher = EVP_CIPHER_CTX_new();
	ok = dec->cipher != NULL &&
		EVP_DecryptInit_ex(dec->cipher, EVP_aes_256_gcm(), NULL, objectKey,
						   NULL) == 1;
	codecWipe(objectKey, sizeof(objectKey));
	if (!ok)
		return codecOpensslError(err, "AES-256-GCM key setup");
	return true;
}

CodecDecoder *
codecDecoderNew(CodecSource source, CodecKeyLookup lookup, void *lookupArg,
				DrError *err)
{
	CodecDecoder *dec;
	ssize_t		got;

	dec = palloc0(sizeof(CodecDecoder));
	dec->source = source;

	got = codecSourceReadFull(&dec->source, dec->headerBytes,
							  CODEC_HEADER_SIZE, err);
	if (got < 0)
		goto fail;
	if (got == 0)
	{
		drErrorSet(err, DR_ERR_CORRUPT, "object is empty");
		goto fail;
	}
	if (!codecHeaderParse(dec->headerBytes, (size_t) got, &dec->header, err))
		goto fail;
	dec->compressed = (dec->header.flags & CODEC_FLAG_ZSTD) != 0;
	dec->encrypted = (dec->header.flags & CODEC_FLAG_AES256GCM) != 0;
	dec->storedOffset = CODEC_HEADER_SIZE;

	if (dec->encrypted && !codecDecoderKeyInit(dec, lookup, lookupArg, err))
		goto fail;

	if (dec->compressed)
	{
		size_t		rc;

		dec->zstd = codecZstdGet();
		if (dec->zstd == NULL)
		{
			drErrorSet(err, DR_ERR_INTERNAL,
					   "could not create zstd decompression context");
			goto fail;
		}
		rc = ZSTD_DCtx_setParameter(dec->zstd, ZSTD_d_windowLogMax,
									CODEC_ZSTD_WINDOW_LOG_MAX);
		if (ZSTD_isError(rc))
		{
			drErrorSet(err, DR_ERR_INTERNAL, "could not limit zstd window: %s",
					   ZSTD_getErrorName(rc));
			goto fail;
		}
	}

	dec->sha = EVP_MD_CTX_new();
	if (dec->sha == NULL || EVP_DigestInit_ex(dec->sha, EVP_sha256(), NULL) != 1)
	{
		codecOpensslError(err, "SHA-256 setup");
		goto fail;
	}

	/* chunkSize was range-checked by codecHeaderParse */
	dec->chunk = palloc(dec->header.chunkSize + CODEC_TAG_SIZE);
	dec->state = CODEC_DECODER_READING;
	return dec;

fail:
	codecDecoderRelease(dec);
	return NULL;
}

/*
 * Authenticate and decrypt the chunk buffer in place.  The plain bytes
 * OpenSSL writes before the tag check are only looked at if it passes.
 */
static bool
codecDecoderDecrypt(CodecDecoder *dec, uint32 len, uint32 chunkFlags,
					DrError *err)
{
	uint8		nonce[CODEC_NONCE_SIZE];
	int			outLen;

	codecChunkNonce(dec->chunkIndex, chunkFlags, nonce);
	if (EVP_DecryptInit_ex(dec->cipher, NULL, NULL, NULL, nonce) != 1 ||
		EVP_DecryptUpdate(dec->cipher, NULL, &outLen, dec->headerBytes,
						  CODEC_HEADER_SIZE) != 1 ||
		(len > 0 &&
		 EVP_DecryptUpdate(dec->cipher, dec->chunk, &outLen, dec->chunk,
						   (int) len) != 1) ||
		EVP_CIPHER_CTX_ctrl(dec->cipher, EVP_CTRL_GCM_SET_TAG, CODEC_TAG_SIZE,
							dec->chunk + len) != 1)
		return codecOpensslError(err, "AES-256-GCM chunk decryption");

	if (EVP_DecryptFinal_ex(dec->cipher, dec->chunk + len, &outLen) != 1)
	{
		/* a failed tag check is a verdict on the data, not an OpenSSL error */
		ERR_clear_error();
		drErrorSet(err, DR_ERR_CORRUPT,
				   "chunk " UINT64_FORMAT " at offset " UINT64_FORMAT " failed authentication",
				   dec->chunkIndex, dec->storedOffset);
		if (dec->chunkIndex == 0)
			drErrorHint(err, "the object is damaged, or the data key with its id "
						"is not the one it was written with");
		return false;
	}
	return true;
}

/* The trailer arrived: check it against what was handed out, and the end. */
static bool
codecDecoderTrailerCheck(CodecDecoder *dec, DrError *err)
{
	uint64		trailerSize = codecGetLe64(dec->chunk);
	unsigned int shaLen = 0;
	uint8		extra;
	ssize_t		got;

	if (dec->compressed && !dec->frameDone)
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "object is truncated: compressed stream ends before the trailer chunk");
	if (trailerSize != dec->rawSize)
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "content size mismatch: trailer says " UINT64_FORMAT
						  " bytes, object holds " UINT64_FORMAT,
						  trailerSize, dec->rawSize);
	if (dec->hashSkipped)
	{
		/* authenticated with the chunk: the SHA-256 taken when written */
		memcpy(dec->sha256, dec->chunk + 8, CODEC_SHA256_SIZE);
	}
	else if (!dec->noHash)
	{
		if (EVP_DigestFinal_ex(dec->sha, dec->sha256, &shaLen) != 1)
			return codecOpensslError(err, "SHA-256 final");
		if (memcmp(dec->sha256, dec->chunk + 8, CODEC_SHA256_SIZE) != 0)
			return drErrorSet(err, DR_ERR_CORRUPT, "content hash mismatch");
	}

	/* an object ends with its trailer; anything after it is damage */
	got = codecSourceReadFull(&dec->source, &extra, 1, err);
	if (got < 0)
		return false;
	if (got > 0)
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "unexpected data after the trailer chunk at offset " UINT64_FORMAT,
						  dec->storedOffset);
	return true;
}

/*
 * Read the next chunk, check its framing, authenticate it.  On success
 * either a data chunk is ready in the buffer (*trailer false), or the
 * trailer was read and the whole object verified (*trailer true).
 */
static bool
codecDecoderChunkNext(CodecDecoder *dec, bool *trailer, DrError *err)
{
	uint8		head[CODEC_CHUNK_HEAD_SIZE];
	uint32		len;
	uint32		flags;
	bool		last;
	size_t		total;
	ssize_t		got;

	got = codecSourceReadFull(&dec->source, head, sizeof(head), err);
	if (got < 0)
		return false;
	if (got == 0)
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "object is truncated: no trailer chunk");
	if (got < (ssize_t) sizeof(head))
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "object is truncated in the head of chunk " UINT64_FORMAT,
						  dec->chunkIndex);

	len = codecGetLe32(head);
	flags = codecGetLe32(head + 4);
	last = (flags & CODEC_CHUNK_FLAG_LAST) != 0;
	if ((flags & ~CODEC_CHUNK_FLAGS_KNOWN) != 0)
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "chunk " UINT64_FORMAT " at offset " UINT64_FORMAT
						  " has unknown flags 0x%08x",
						  dec->chunkIndex, dec->storedOffset, flags);
	if (len > dec->header.chunkSize)
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "chunk " UINT64_FORMAT " at offset " UINT64_FORMAT
						  " claims %u bytes, more than the chunk size %u",
						  dec->chunkIndex, dec->storedOffset, len,
						  dec->header.chunkSize);
	if (last && len != CODEC_TRAILER_SIZE)
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "trailer chunk " UINT64_FORMAT " has %u bytes, expected %d",
						  dec->chunkIndex, len, CODEC_TRAILER_SIZE);
	if (!last && len == 0)
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "chunk " UINT64_FORMAT " at offset " UINT64_FORMAT " is empty",
						  dec->chunkIndex, dec->storedOffset);
	/* one valid framing only: a short data chunk must be the last one */
	if (!last && dec->sawShortChunk)
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "chunk " UINT64_FORMAT " at offset " UINT64_FORMAT
						  " follows a short chunk that should have been the last",
						  dec->chunkIndex, dec->storedOffset);

	total = len + (dec->encrypted ? CODEC_TAG_SIZE : 0);
	dec->chunkUsed = Max(dec->chunkUsed, total);
	got = codecSourceReadFull(&dec->source, dec->chunk, total, err);
	if (got < 0)
		return false;
	if ((size_t) got < total)
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "object is truncated in chunk " UINT64_FORMAT
						  " at offset " UINT64_FORMAT,
						  dec->chunkIndex, dec->storedOffset);
	if (dec->encrypted && !codecDecoderDecrypt(dec, len, flags, err))
		return false;

	/* at the first data chunk, before any plain byte: can SHA-256 go? */
	if (dec->fastVerify && dec->chunkIndex == 0 && !last && dec->encrypted)
	{
		if (!dec->compressed)
			dec->hashSkipped = true;
		else if (len >= 5 && codecGetLe32(dec->chunk) == CODEC_ZSTD_MAGIC &&
				 (dec->chunk[4] & CODEC_ZSTD_CHECKSUM_FLAG) != 0)
		{
			/*
			 * A zstd frame (RFC 8878, 3.1.1): the magic number, then the
			 * frame header descriptor, whose bit 2 says the frame ends
			 * with a checksum of its content, which zstd then checks.
			 */
			dec->hashSkipped = true;
		}
	}

	dec->chunkIndex++;
	dec->storedOffset += CODEC_CHUNK_HEAD_SIZE + total;

	*trailer = last;
	if (last)
		return codecDecoderTrailerCheck(dec, err);

	dec->inLen = len;
	dec->inPos = 0;
	if (len < dec->header.chunkSize)
		dec->sawShortChunk = true;
	return true;
}

/*
 * Turn buffered, already verified stream bytes into plain bytes in buf.
 * *produced is 0 when the buffer needs the next chunk.
 */
static bool
codecDecoderProduce(CodecDecoder *dec, uint8 *buf, size_t len,
					size_t *produced, DrError *err)
{
	ZSTD_inBuffer in;
	ZSTD_outBuffer out = {buf, len, 0};
	uint64		index = dec->chunkIndex - 1;	/* the chunk in the buffer */

	if (!dec->compressed)
	{
		*produced = Min(len, (size_t) (dec->inLen - dec->inPos));
		memcpy(buf, dec->chunk + dec->inPos, *produced);
		dec->inPos += (uint32) *produced;
		return true;
	}

	in.src = dec->chunk;
	in.size = dec->inLen;
	in.pos = dec->inPos;
	while (!dec->frameDone)
	{
		size_t		before = in.pos;
		size_t		rc = ZSTD_decompressStream(dec->zstd, &out, &in);

		dec->inPos = (uint32) in.pos;
		if (ZSTD_isError(rc))
			return drErrorSet(err, DR_ERR_CORRUPT,
							  "compressed stream is damaged in chunk " UINT64_FORMAT ": %s",
							  index, ZSTD_getErrorName(rc));
		if (rc == 0)
			dec->frameDone = true;
		else if (out.pos > 0 || in.pos == in.size)
			break;				/* output for the caller, or input needed */
		else if (in.pos == before)
			return drErrorSet(err, DR_ERR_CORRUPT,
							  "compressed stream makes no progress in chunk " UINT64_FORMAT,
							  index);
	}
	/* we write exactly one frame per object: nothing may follow it */
	if (dec->frameDone && dec->inPos < dec->inLen)
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "chunk " UINT64_FORMAT " holds data after the end of the compressed stream",
						  index);
	*produced = out.pos;
	return true;
}

ssize_t
codecDecoderRead(CodecDecoder *dec, void *buf, size_t len, DrError *err)
{
	if (dec->state == CODEC_DECODER_DONE)
		return 0;
	if (dec->state == CODEC_DECODER_FAILED)
	{
		drErrorSet(err, DR_ERR_INVALID,
				   "codec decoder used after an earlier failure");
		return -1;
	}
	if (len == 0)
	{
		drErrorSet(err, DR_ERR_INVALID, "codec decoder read with an empty buffer");
		return -1;
	}
	len = Min(len, (size_t) SSIZE_MAX);

	for (;;)
	{
		size_t		produced = 0;
		bool		trailer = false;

		if (!codecDecoderProduce(dec, buf, len, &produced, err))
			break;
		if (produced > 0)
		{
			if (!dec->noHash && !dec->hashSkipped &&
				EVP_DigestUpdate(dec->sha, buf, produced) != 1)
			{
				codecOpensslError(err, "SHA-256 update");
				break;
			}
			dec->rawSize += produced;
			return (ssize_t) produced;
		}

		if (!codecDecoderChunkNext(dec, &trailer, err))
			break;
		if (trailer)
		{
			dec->state = CODEC_DECODER_DONE;
			return 0;
		}
	}
	/* sticky: a caller that ignores the error must not see "end" later */
	dec->state = CODEC_DECODER_FAILED;
	return -1;
}

bool
codecDecoderEnd(CodecDecoder *dec, CodecResult *result, DrError *err)
{
	bool		ok = false;

	if (dec->state == CODEC_DECODER_FAILED)
		drErrorSet(err, DR_ERR_INVALID,
				   "codec decoder ended after an earlier failure");
	else if (dec->state != CODEC_DECODER_DONE)
		drErrorSet(err, DR_ERR_INVALID,
				   "object was not read to its end, so its content is not verified");
	else
	{
		if (result != NULL)
		{
			result->rawSize = dec->rawSize;
			result->storedSize = dec->storedOffset;
			memcpy(result->sha256, dec->sha256, CODEC_SHA256_SIZE);
		}
		ok = true;
	}
	codecDecoderRelease(dec);
	return ok;
}

void
codecDecoderNoHash(CodecDecoder *dec)
{
	Assert(dec->rawSize == 0);
	dec->noHash = true;
	memset(dec->sha256, 0, CODEC_SHA256_SIZE);
}

void
codecDecoderFastVerify(CodecDecoder *dec)
{
	Assert(dec->rawSize == 0 && dec->chunkIndex == 0);
	dec->fastVerify = true;
}

bool
codecDecoderBindingCheck(const CodecDecoder *dec, const char *name,
						 bool *bound, DrError *err)
{
	uint8		binding[CODEC_BINDING_SIZE];

	*bound = dec->header.bound;
	if (!dec->header.bound)
		return true;
	if (!codecBindingCompute(name, binding, err))
		return false;
	if (memcmp(binding, dec->header.binding, CODEC_BINDING_SIZE) != 0)
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "object is bound to another name than \"%s\": it was written as another object",
						  name);
	return true;
}

bool
codecDecoderHashed(const CodecDecoder *dec)
{
	return !dec->noHash && !dec->hashSkipped;
}

void
codecDecoderFree(CodecDecoder *dec)
{
	if (dec != NULL)
		codecDecoderRelease(dec);
}
