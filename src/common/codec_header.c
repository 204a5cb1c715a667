/*-------------------------------------------------------------------------
 * codec_header.c
 *	  The object header, and the primitives both codec directions share:
 *	  SHA-256, the per-object key (HKDF), the chunk nonce.
 *
 * codecHeaderParse is the single gate every stored object passes before
 * anything else reads it (the decoder, `pg_dr info`, the fuzz target), so it
 * accepts only the canonical header the encoder writes.  For unencrypted
 * objects that strictness is the only protection the header has: no tag
 * covers it, so a key id, salt or reserved byte that is not zero, or a
 * chunk size that is not a power of two, is reported as damage instead of
 * being silently tolerated.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "common/codec.h"
#include "common/codec_internal.h"
#include "common/hex.h"

/* Header field offsets (codec.h documents the layout). */
#define HDR_MAGIC		0
#define HDR_VERSION		8
#define HDR_FLAGS		10
#define HDR_CHUNK_SIZE	12
#define HDR_KEY_ID		16
#define HDR_SALT		32
#define HDR_RESERVED	48		/* version 2: the binding */
#define HDR_RESERVED_SIZE 16

/* Domain of the binding hash: no other SHA-256 of pg_dr starts with it. */
#define CODEC_BINDING_DOMAIN	"pg_dr object name"

StaticAssertDecl(HDR_RESERVED + HDR_RESERVED_SIZE == CODEC_HEADER_SIZE,
				 "header fields must fill the header exactly");
StaticAssertDecl(HDR_RESERVED_SIZE == CODEC_BINDING_SIZE,
				 "the binding fills the reserved bytes of version 1");
StaticAssertDecl(sizeof(CODEC_MAGIC) - 1 == 8, "magic is 8 bytes");

static bool
codecAllZero(const uint8 *buf, size_t len)
{
	uint8		acc = 0;

	for (size_t i = 0; i < len; i++)
		acc |= buf[i];
	return acc == 0;
}

bool
codecHeaderParse(const uint8 *buf, size_t len, CodecHeader *header,
				 DrError *err)
{
	uint32		chunkSize;
	bool		encrypted;

	if (len < CODEC_HEADER_SIZE)
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "object is truncated: header has %zu of %d bytes",
						  len, CODEC_HEADER_SIZE);
	if (memcmp(buf + HDR_MAGIC, CODEC_MAGIC, 8) != 0)
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "not a pg_dr object: bad magic in header");

	header->version = codecGetLe16(buf + HDR_VERSION);
	header->flags = codecGetLe16(buf + HDR_FLAGS);
	header->chunkSize = chunkSize = codecGetLe32(buf + HDR_CHUNK_SIZE);
	memcpy(header->keyId, buf + HDR_KEY_ID, CODEC_KEY_ID_SIZE);
	memcpy(header->salt, buf + HDR_SALT, CODEC_SALT_SIZE);

	if (header->version != CODEC_VERSION &&
		header->version != CODEC_VERSION_BOUND)
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "object format version %u is not supported (expected %d or %d)",
						  header->version, CODEC_VERSION, CODEC_VERSION_BOUND);
	if ((header->flags & ~(CODEC_FLAG_ZSTD | CODEC_FLAG_AES256GCM)) != 0)
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "object header has unknown flags 0x%04x",
						  header->flags);

	/*
	 * A power of two in range: besides bounding our buffers, this makes any
	 * single flipped bit in the field detectable, which matters for
	 * unencrypted objects where nothing else authenticates the header.
	 */
	if (chunkSize < CODEC_CHUNK_SIZE_MIN || chunkSize > CODEC_CHUNK_SIZE_MAX ||
		(chunkSize & (chunkSize - 1)) != 0)
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "object header has invalid chunk size %u", chunkSize);
	header->bound = header->version == CODEC_VERSION_BOUND;
	memcpy(header->binding, buf + HDR_RESERVED, CODEC_BINDING_SIZE);
	/* one canonical header: version 1 has no binding, version 2 has one */
	if (!header->bound && !codecAllZero(buf + HDR_RESERVED, HDR_RESERVED_SIZE))
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "object header has non-zero reserved bytes");
	if (header->bound && codecAllZero(buf + HDR_RESERVED, HDR_RESERVED_SIZE))
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "object header of format version %d has no binding",
						  CODEC_VERSION_BOUND);

	encrypted = (header->flags & CODEC_FLAG_AES256GCM) != 0;
	if (encrypted && codecAllZero(header->keyId, CODEC_KEY_ID_SIZE))
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "object header is marked encrypted but has no key id");
	if (!encrypted && (!codecAllZero(header->keyId, CODEC_KEY_ID_SIZE) ||
					   !codecAllZero(header->salt, CODEC_SALT_SIZE)))
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "object header is marked unencrypted but has a key id or salt");
	return true;
}

void
codecHeaderBuild(const CodecHeader *header, uint8 *buf)
{
	memset(buf, 0, CODEC_HEADER_SIZE);
	memcpy(buf + HDR_MAGIC, CODEC_MAGIC, 8);
	codecPutLe16(buf + HDR_VERSION, header->version);
	codecPutLe16(buf + HDR_FLAGS, header->flags);
	codecPutLe32(buf + HDR_CHUNK_SIZE, header->chunkSize);
	memcpy(buf + HDR_KEY_ID, header->keyId, CODEC_KEY_ID_SIZE);
	memcpy(buf + HDR_SALT, header->salt, CODEC_SALT_SIZE);
	if (header->bound)
		memcpy(buf + HDR_RESERVED, header->binding, CODEC_BINDING_SIZE);
}

bool
codecBindingCompute(const char *name, uint8 *binding, DrError *err)
{
	uint8		sha[CODEC_SHA256_SIZE];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int len = 0;
	bool		ok;

	/* the terminating zero of the domain separates it from the name */
	ok = ctx != NULL &&
		EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
		EVP_DigestUpdate(ctx, CODEC_BINDING_DOMAIN,
						 sizeof(CODEC_BINDING_DOMAIN)) == 1 &&
		EVP_DigestUpdate(ctx, name, strlen(name)) == 1 &&
		EVP_DigestFinal_ex(ctx, sha, &len) == 1 && len == CODEC_SHA256_SIZE;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return codecOpensslError(err, "SHA-256 of an object name");
	memcpy(binding, sha, CODEC_BINDING_SIZE);
	/* all zero means "no binding": never write that (odds 2^-128) */
	if (codecAllZero(binding, CODEC_BINDING_SIZE))
		binding[0] = 1;
	return true;
}

void
codecSha256Hex(const uint8 *sha256, char *hex)
{
	hexEncode(sha256, CODEC_SHA256_SIZE, HEX_LOWER, hex);
}

bool
codecSha256(const void *buf, size_t len, uint8 *out, DrError *err)
{
	unsigned int outLen = 0;

	if (EVP_Digest(buf, len, out, &outLen, EVP_sha256(), NULL) != 1 ||
		outLen != CODEC_SHA256_SIZE)
		return codecOpensslError(err, "EVP_Digest(SHA-256)");
	return true;
}

bool
codecObjectKeyDerive(const uint8 *dataKey, const uint8 *salt,
					 uint8 *objectKey, DrError *err)
{
	EVP_PKEY_CTX *pctx;
	size_t		outLen = CODEC_KEY_SIZE;
	bool		ok;

	pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	if (pctx == NULL)
		return codecOpensslError(err, "EVP_PKEY_CTX_new_id(HKDF)");

	ok = EVP_PKEY_derive_init(pctx) > 0 &&
		EVP_PKEY_CTX_set_hkdf_md(pctx, EVP_sha256()) > 0 &&
		EVP_PKEY_CTX_set1_hkdf_salt(pctx, salt, CODEC_SALT_SIZE) > 0 &&
		EVP_PKEY_CTX_set1_hkdf_key(pctx, dataKey, CODEC_KEY_SIZE) > 0 &&
		EVP_PKEY_CTX_add1_hkdf_info(pctx, (const unsigned char *) CODEC_HKDF_INFO,
									strlen(CODEC_HKDF_INFO)) > 0 &&
		EVP_PKEY_derive(pctx, objectKey, &outLen) > 0 &&
		outLen == CODEC_KEY_SIZE;
	EVP_PKEY_CTX_free(pctx);
	if (!ok)
		return codecOpensslError(err, "HKDF-SHA256");
	return true;
}

void
codecChunkNonce(uint64 index, uint32 chunkFlags, uint8 *nonce)
{
	codecPutLe64(nonce, index);
	codecPutLe32(nonce + 8, chunkFlags);
}

bool
codecOpensslError(DrError *err, const char *what)
{
	unsigned long code = ERR_get_error();
	char		detail[256];

	if (code != 0)
		ERR_error_string_n(code, detail, sizeof(detail));
	else
		strlcpy(detail, "no detail from OpenSSL", sizeof(detail));
	ERR_clear_error();
	return drErrorSet(err, DR_ERR_INTERNAL, "%s failed: %s", what, detail);
}

void
codecWipe(void *buf, size_t len)
{
	if (buf != NULL && len > 0)
		OPENSSL_cleanse(buf, len);
}

bool
codecObjectSpan(const uint8 *buf, size_t len, uint64 *span, DrError *err)
{
	CodecHeader header;
	uint64		offset = CODEC_HEADER_SIZE;
	size_t		tag;

	*span = 0;
	if (!codecHeaderParse(buf, len, &header, err))
		return false;
	tag = (header.flags & CODEC_FLAG_AES256GCM) ? CODEC_TAG_SIZE : 0;
	for (;;)
	{
		uint32		chunkLen;
		uint32		flags;

		if (len - offset < CODEC_CHUNK_HEAD_SIZE)
			return drErrorSet(err, DR_ERR_CORRUPT,
							  "object is truncated: it ends before its last chunk");
		chunkLen = codecGetLe32(buf + offset);
		flags = codecGetLe32(buf + offset + 4);
		if (chunkLen > header.chunkSize)
			return drErrorSet(err, DR_ERR_CORRUPT,
							  "chunk at offset " UINT64_FORMAT " is longer than the object's chunk size",
							  offset);
		offset += CODEC_CHUNK_HEAD_SIZE + (uint64) chunkLen + tag;
		if (offset > len)
			return drErrorSet(err, DR_ERR_CORRUPT,
							  "object is truncated: it ends before its last chunk");
		if (flags & CODEC_CHUNK_FLAG_LAST)
			break;
	}
	*span = offset;
	return true;
}
