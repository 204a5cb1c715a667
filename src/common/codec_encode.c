/*-------------------------------------------------------------------------
 * codec_encode.c
 *	  The encoding direction of the object codec: plain bytes in, one
 *	  repository object (codec.h documents the format) out to a sink.
 *
 * Plain input goes through one zstd frame (or is stored as it is at level
 * 0); the resulting stream is cut into chunks of exactly chunkSize bytes,
 * only the last data chunk being shorter.  Each chunk is encrypted on its
 * own (AES-256-GCM, nonce = chunk index || chunk flags, AAD = the header)
 * and written to the sink in one call, so the encoder holds one chunk
 * buffer whatever the object size.  End writes the trailer (raw size and
 * SHA-256 of the plain content) as the last chunk, the one that makes the
 * object complete: an object cut anywhere before it ends is detected.
 * An object bound to a name (param->binding) gets a version 2 header with
 * the binding in it; any other a version 1 header, as before bindings.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <zstd.h>

#include "common/codec.h"
#include "common/codec_internal.h"

struct CodecEncoder
{
	CodecSink	sink;
	uint32		chunkSize;
	uint16		flags;			/* header flags: what the object holds */
	uint8		header[CODEC_HEADER_SIZE];	/* also the AAD of every chunk */

	/* chunk being filled: head (8) + payload (chunkSize) + tag (16) */
	uint8	   *chunk;
	uint32		chunkFill;		/* payload bytes in chunk */
	uint32		chunkHigh;		/* most payload bytes chunk ever held */
	uint64		chunkIndex;		/* index of the chunk being filled */

	ZSTD_CCtx  *zstd;			/* NULL at level 0 */
	EVP_CIPHER_CTX *cipher;		/* NULL when not encrypted */
	EVP_MD_CTX *sha;			/* SHA-256 of the plain content */

	uint64		rawSize;
	uint64		storedSize;
	bool		failed;			/* a step failed: only Free/End may follow */
};

#define CHUNK_PAYLOAD(enc) ((enc)->chunk + CODEC_CHUNK_HEAD_SIZE)

/*
 * One compression context kept for the next encoder of this process (a
 * process encodes one object at a time).  A new context per object costs
 * more than compressing a small object: zstd allocates its tables, then
 * every page they touch is faulted in, for each of the 100,000 objects of
 * a cluster of 100,000 small files.  A context is reset (session and
 * parameters) before it is kept, so nothing of one object reaches the
 * next; it stays allocated (a few MB, malloc'd) until the process ends.
 */
static ZSTD_CCtx *codecZstdSpare = NULL;

static ZSTD_CCtx *
codecZstdGet(void)
{
	ZSTD_CCtx  *cctx = codecZstdSpare;

	codecZstdSpare = NULL;
	return cctx != NULL ? cctx : ZSTD_createCCtx();
}

static void
codecZstdPut(ZSTD_CCtx *cctx)
{
	if (codecZstdSpare == NULL &&
		!ZSTD_isError(ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters)))
		codecZstdSpare = cctx;
	else
		ZSTD_freeCCtx(cctx);
}

static void
codecEncoderRelease(CodecEncoder *enc)
{
	if (enc->zstd != NULL)
		codecZstdPut(enc->zstd);
	/* EVP_CIPHER_CTX_free wipes the expanded key schedule */
	if (enc->cipher != NULL)
		EVP_CIPHER_CTX_free(enc->cipher);
	if (enc->sha != NULL)
		EVP_MD_CTX_free(enc->sha);
	if (enc->chunk != NULL)
	{
		/*
		 * The buffer held plain bytes before they were encrypted; beyond
		 * the most it ever held, it holds nothing (a small object does not
		 * pay for wiping a whole chunk).
		 */
		codecWipe(enc->chunk, CODEC_CHUNK_HEAD_SIZE +
				  Max(enc->chunkHigh, enc->chunkFill) + CODEC_TAG_SIZE);
		pfree(enc->chunk);
	}
	pfree(enc);
}

static bool
codecEncoderParamCheck(const CodecEncodeParam *param, uint32 chunkSize,
					   DrError *err)
{
	if (param->compressLevel < 0 || param->compressLevel > 19)
		return drErrorSet(err, DR_ERR_INVALID,
						  "compression level %d is out of range (0 to 19)",
						  param->compressLevel);
	if (chunkSize < CODEC_CHUNK_SIZE_MIN || chunkSize > CODEC_CHUNK_SIZE_MAX ||
		(chunkSize & (chunkSize - 1)) != 0)
	{
		drErrorSet(err, DR_ERR_INVALID, "chunk size %u is invalid", chunkSize);
		drErrorHint(err, "use a power of two from %d to %d bytes",
					CODEC_CHUNK_SIZE_MIN, CODEC_CHUNK_SIZE_MAX);
		return false;
	}
	if (param->key != NULL)
	{
		static const uint8 zeroId[CODEC_KEY_ID_SIZE];

		/* a zero key id means "not encrypted" in the header */
		if (memcmp(param->key->id, zeroId, CODEC_KEY_ID_SIZE) == 0)
			return drErrorSet(err, DR_ERR_INVALID,
							  "data key has an all-zero id");
	}
	return true;
}

/* Set up zstd at the requested level: one frame for the whole object. */
static bool
codecEncoderZstdInit(CodecEncoder *enc, int level, DrError *err)
{
	size_t		rc;

	enc->zstd = codecZstdGet();
	if (enc->zstd == NULL)
		return drErrorSet(err, DR_ERR_INTERNAL,
						  "could not create zstd compression context");
	rc = ZSTD_CCtx_setParameter(enc->zstd, ZSTD_c_compressionLevel, level);
	if (ZSTD_isError(rc))
		return drErrorSet(err, DR_ERR_INTERNAL,
						  "could not set zstd level %d: %s", level,
						  ZSTD_getErrorName(rc));

	/*
	 * A checksum (XXH64) of the content in the frame: zstd checks it as it
	 * decompresses, which lets a reader of an encrypted object verify the
	 * decompressed bytes without recomputing SHA-256 (codecDecoderFastVerify).
	 */
	rc = ZSTD_CCtx_setParameter(enc->zstd, ZSTD_c_checksumFlag, 1);
	if (ZSTD_isError(rc))
		return drErrorSet(err, DR_ERR_INTERNAL,
						  "could not ask zstd for a content checksum: %s",
						  ZSTD_getErrorName(rc));
	return true;
}

/* Derive the object key and key the cipher once; each chunk sets its IV. */
static bool
codecEncoderCipherInit(CodecEncoder *enc, const CodecDataKey *key,
					   const uint8 *salt, DrError *err)
{
	uint8		objectKey[CODEC_KEY_SIZE];
	bool		ok;

	if (!codecObjectKeyDerive(key->key, salt, objectKey, err))
		return false;
	enc->cipher = EVP_CIPHER_CTX_new();
	ok = enc->cipher != NULL &&
		EVP_EncryptInit_ex(enc->cipher, EVP_aes_256_gcm(), NULL, objectKey,
						   NULL) == 1;
	codecWipe(objectKey, sizeof(objectKey));
	if (!ok)
		return codecOpensslError(err, "AES-256-GCM key setup");
	return true;
}

CodecEncoder *
codecEncoderNew(const CodecEncodeParam *param, CodecSink sink, DrError *err)
{
	CodecEncoder *enc;
	CodecHeader header;
	uint32		chunkSize;

	chunkSize = param->chunkSize == 0 ? CODEC_CHUNK_SIZE_DEFAULT : param->chunkSize;
	if (!codecEncoderParamCheck(param, chunkSize, err))
		return NULL;

	enc = palloc0(sizeof(CodecEncoder));
	enc->sink = sink;
	enc->chunkSize = chunkSize;
	enc->chunk = palloc(CODEC_CHUNK_HEAD_SIZE + chunkSize + CODEC_TAG_SIZE);

	memset(&header, 0, sizeof(header));
	header.version = CODEC_VERSION;
	header.chunkSize = chunkSize;
	if (param->compressLevel > 0)
		header.flags |= CODEC_FLAG_ZSTD;
	if (param->key != NULL)
	{
		header.flags |= CODEC_FLAG_AES256GCM;
		memcpy(header.keyId, param->key->id, CODEC_KEY_ID_SIZE);
		/* fresh salt, fresh object key: chunk indexes restart at 0 safely */
		if (RAND_bytes(header.salt, CODEC_SALT_SIZE) != 1)
		{
			codecOpensslError(err, "RAND_bytes");
			goto fail;
		}
	}
	if (param->binding != NULL)
	{
		/* version 2 only when bound: older releases read the rest */
		header.version = CODEC_VERSION_BOUND;
		header.bound = true;
		if (!codecBindingCompute(param->binding, header.binding, err))
			goto fail;
	}
	enc->flags = header.flags;
	codecHeaderBuild(&header, enc->header);

	if (param->compressLevel > 0 &&
		!codecEncoderZstdInit(enc, param->compressLevel, err))
		goto fail;
	if (param->key != NULL &&
		!codecEncoderCipherInit(enc, param->key, header.salt, err))
		goto fail;

	enc->sha = EVP_MD_CTX_new();
	if (enc->sha == NULL || EVP_DigestInit_ex(enc->sha, EVP_sha256(), NULL) != 1)
	{
		codecOpensslError(err, "SHA-256 setup");
		goto fail;
	}

	if (!enc->sink.write(enc->sink.arg, enc->header, CODEC_HEADER_SIZE, err))
		goto fail;
	enc->storedSize = CODEC_HEADER_SIZE;
	return enc;

fail:
	codecEncoderRelease(enc);
	return NULL;
}

/*
 * Seal the chunk buffer (chunkFill payload bytes) with the given chunk
 * flags and hand it to the sink in one write, then start the next chunk.
 */
static bool
codecEncoderChunkFlush(CodecEncoder *enc, uint32 chunkFlags, DrError *err)
{
	uint8	   *payload = CHUNK_PAYLOAD(enc);
	size_t		total = CODEC_CHUNK_HEAD_SIZE + enc->chunkFill;

	codecPutLe32(enc->chunk, enc->chunkFill);
	codecPutLe32(enc->chunk + 4, chunkFlags);

	if (enc->cipher != NULL)
	{
		uint8		nonce[CODEC_NONCE_SIZE];
		int			outLen;

		codecChunkNonce(enc->chunkIndex, chunkFlags, nonce);
		/* encrypts in place: OpenSSL allows out == in */
		if (EVP_EncryptInit_ex(enc->cipher, NULL, NULL, NULL, nonce) != 1 ||
			EVP_EncryptUpdate(enc->cipher, NULL, &outLen, enc->header,
							  CODEC_HEADER_SIZE) != 1 ||
			(enc->chunkFill > 0 &&
			 EVP_EncryptUpdate(enc->cipher, payload, &outLen, payload,
							   (int) enc->chunkFill) != 1) ||
			EVP_EncryptFinal_ex(enc->cipher, payload + enc->chunkFill,
								&outLen) != 1 ||
			EVP_CIPHER_CTX_ctrl(enc->cipher, EVP_CTRL_GCM_GET_TAG,
								CODEC_TAG_SIZE, payload + enc->chunkFill) != 1)
			return codecOpensslError(err, "AES-256-GCM chunk encryption");
		total += CODEC_TAG_SIZE;
	}

	if (!enc->sink.write(enc->sink.arg, enc->chunk, total, err))
		return false;
	enc->storedSize += total;
	enc->chunkIndex++;
	enc->chunkHigh = Max(enc->chunkHigh, enc->chunkFill);
	enc->chunkFill = 0;
	return true;
}

/*
 * Run zstd over input with the given end directive, flushing every full
 * chunk.  With ZSTD_e_end, loops until the frame is complete.
 */
static bool
codecEncoderCompress(CodecEncoder *enc, const void *buf, size_t len,
					 ZSTD_EndDirective mode, DrError *err)
{
	ZSTD_inBuffer in = {buf, len, 0};

	for (;;)
	{
		ZSTD_outBuffer out = {CHUNK_PAYLOAD(enc), enc->chunkSize, enc->chunkFill};
		size_t		remaining;

		remaining = ZSTD_compressStream2(enc->zstd, &out, &in, mode);
		if (ZSTD_isError(remaining))
			return drErrorSet(err, DR_ERR_INTERNAL, "zstd compression failed: %s",
							  ZSTD_getErrorName(remaining));
		enc->chunkFill = (uint32) out.pos;
		if (enc->chunkFill == enc->chunkSize &&
			!codecEncoderChunkFlush(enc, 0, err))
			return false;

		if (mode == ZSTD_e_end ? remaining == 0 : in.pos == in.size)
			return true;
	}
}

/* Level 0: the stream is the plain content itself. */
static bool
codecEncoderStore(CodecEncoder *enc, const uint8 *buf, size_t len,
				  DrError *err)
{
	while (len > 0)
	{
		size_t		n = Min(len, (size_t) (enc->chunkSize - enc->chunkFill));

		memcpy(CHUNK_PAYLOAD(enc) + enc->chunkFill, buf, n);
		enc->chunkFill += (uint32) n;
		buf += n;
		len -= n;
		if (enc->chunkFill == enc->chunkSize &&
			!codecEncoderChunkFlush(enc, 0, err))
			return false;
	}
	return true;
}

bool
codecEncoderWrite(CodecEncoder *enc, const void *buf, size_t len, DrError *err)
{
	bool		ok;

	if (enc->failed)
		return drErrorSet(err, DR_ERR_INVALID,
						  "codec encoder used after an earlier failure");
	if (len == 0)
		return true;

	if (EVP_DigestUpdate(enc->sha, buf, len) != 1)
		ok = codecOpensslError(err, "SHA-256 update");
	else if (enc->zstd != NULL)
		ok = codecEncoderCompress(enc, buf, len, ZSTD_e_continue, err);
	else
		ok = codecEncoderStore(enc, buf, len, err);

	if (!ok)
		enc->failed = true;
	else
		enc->rawSize += len;
	return ok;
}

/* Flush the stream, write the trailer chunk and fill in the result. */
static bool
codecEncoderFinish(CodecEncoder *enc, CodecResult *result, DrError *err)
{
	uint8		sha[CODEC_SHA256_SIZE];
	unsigned int shaLen = 0;

	if (enc->zstd != NULL &&
		!codecEncoderCompress(enc, NULL, 0, ZSTD_e_end, err))
		return false;
	/* the last data chunk is the only one allowed to be short */
	if (enc->chunkFill > 0 && !codecEncoderChunkFlush(enc, 0, err))
		return false;

	if (EVP_DigestFinal_ex(enc->sha, sha, &shaLen) != 1)
		return codecOpensslError(err, "SHA-256 final");

	codecPutLe64(CHUNK_PAYLOAD(enc), enc->rawSize);
	memcpy(CHUNK_PAYLOAD(enc) + 8, sha, CODEC_SHA256_SIZE);
	enc->chunkFill = CODEC_TRAILER_SIZE;
	if (!codecEncoderChunkFlush(enc, CODEC_CHUNK_FLAG_LAST, err))
		return false;

	if (result != NULL)
	{
		result->rawSize = enc->rawSize;
		result->storedSize = enc->storedSize;
		memcpy(result->sha256, sha, CODEC_SHA256_SIZE);
	}
	return true;
}

bool
codecEncoderEnd(CodecEncoder *enc, CodecResult *result, DrError *err)
{
	bool		ok;

	if (enc->failed)
		ok = drErrorSet(err, DR_ERR_INVALID,
						"codec encoder ended after an earlier failure");
	else
		ok = codecEncoderFinish(enc, result, err);
	codecEncoderRelease(enc);
	return ok;
}

void
codecEncoderFree(CodecEncoder *enc)
{
	if (enc != NULL)
		codecEncoderRelease(enc);
}
