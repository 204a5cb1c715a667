/*-------------------------------------------------------------------------
 * test_codec.c
 *	  Unit tests of the object codec (src/common/codec_*.c).
 *
 * Covers: the primitives against published vectors (AES-256-GCM: McGrew &
 * Viega / NIST GCM test cases 13, 14, 16; HKDF-SHA256: RFC 5869 case 1;
 * SHA-256: FIPS 180-2 "abc" and ""), computed through OpenSSL EVP here, not
 * through the codec; the object format byte for byte (header fields, chunk
 * framing, every chunk equal to an independent AES-256-GCM encryption with
 * an independently derived object key and nonce, stored and zstd payloads
 * equal to the content); round trips over sizes 0, 1, chunk boundaries
 * +-1 (of the plain stream, and of the compressed stream), several MiB and
 * 64 MiB, compressible and incompressible, with and without compression
 * and encryption, with odd write and read sizes, result size and SHA-256
 * equal to an independent computation; zstd level honoured (0 stores, 1 and
 * 19 differ); every single-bit flip of small objects detected (encrypted:
 * always, with DR_ERR_CORRUPT, or DR_ERR_KEY inside the key id;
 * unencrypted stored: always fails; unencrypted zstd: fails, or, for the
 * few bits zstd ignores, yields the exact original content, verified);
 * truncation at every byte; reordered,
 * dropped, duplicated, spliced and appended chunks; no unverified byte
 * handed out; wrong, missing and mismatched keys; header parsing; argument
 * checks; sink and source failures; sticky decoder errors.  Bindings
 * (format version 2): objects of version 1 written by the release before
 * bindings (fixed bytes) still decode and count as unbound, and an object
 * written without a binding is still byte for byte version 1; a bound
 * object is version 2, passes the check of its own name and fails that of
 * another (DR_ERR_CORRUPT); its binding cannot be swapped for another
 * name's, nor removed (downgrade to version 1), without failing
 * authentication; a version 2 header without a binding is refused.
 * codecObjectSpan: the length of the first of several objects laid end to
 * end (a bundle), encrypted or not, of one and of several chunks, empty;
 * a truncated object and a bad header refused.
 *
 * PGDR_TEST_QUICK=1 skips the multi-MiB cases (for valgrind runs).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <zstd.h>

#include "common/codec.h"
#include "common/hex.h"
#include "tap.h"
#include "test_support.h"

#define MiB (1024 * 1024)

static bool quick = false;

/* ---------------------------------------------------------------------
 * Helpers: memory sink and source, key lookup, deterministic content
 * ---------------------------------------------------------------------
 */

typedef struct MemBuf
{
	uint8	   *data;
	size_t		len;
	size_t		cap;
	int			writes;			/* number of sink calls */
	int			failAtWrite;	/* 1-based; 0 = never fail */
} MemBuf;

static bool
memSinkWrite(void *arg, const void *buf, size_t len, DrError *err)
{
	MemBuf	   *mb = arg;

	mb->writes++;
	if (mb->failAtWrite > 0 && mb->writes == mb->failAtWrite)
		return drErrorSet(err, DR_ERR_IO, "test sink refuses write %d",
						  mb->writes);
	if (mb->len + len > mb->cap)
	{
		size_t		cap = Max(mb->cap * 2, mb->len + len + 4096);

		mb->data = mb->data ? repalloc(mb->data, cap) : palloc(cap);
		mb->cap = cap;
	}
	memcpy(mb->data + mb->len, buf, len);
	mb->len += len;
	return true;
}

static void
memBufFree(MemBuf *mb)
{
	if (mb->data)
		pfree(mb->data);
	memset(mb, 0, sizeof(*mb));
}

typedef struct MemSource
{
	const uint8 *data;
	size_t		len;
	size_t		pos;
	size_t		failAt;			/* fail a read that reaches this offset; 0 = never */
} MemSource;

static ssize_t
memSourceRead(void *arg, void *buf, size_t len, DrError *err)
{
	MemSource  *ms = arg;
	size_t		n = Min(len, ms->len - ms->pos);

	if (ms->failAt > 0 && ms->pos + n >= ms->failAt)
	{
		drErrorSet(err, DR_ERR_IO, "test source fails at %zu", ms->failAt);
		return -1;
	}
	memcpy(buf, ms->data + ms->pos, n);
	ms->pos += n;
	return (ssize_t) n;
}

static CodecSink
memSink(MemBuf *mb)
{
	CodecSink	s = {memSinkWrite, mb};

	return s;
}

static CodecSource
memSource(MemSource *ms, const uint8 *data, size_t len)
{
	CodecSource s = {memSourceRead, ms};

	memset(ms, 0, sizeof(*ms));
	ms->data = data;
	ms->len = len;
	return s;
}

/* A keyring of up to 4 keys; the lookup finds by id. */
typedef struct TestKeyring
{
	const CodecDataKey *keys[4];
	int			n;
	const CodecDataKey *forceReturn;	/* return this whatever the id */
} TestKeyring;

static const CodecDataKey *
testLookup(void *arg, const uint8 *keyId, DrError *err)
{
	TestKeyring *ring = arg;

	if (ring->forceReturn)
		return ring->forceReturn;
	for (int i = 0; i < ring->n; i++)
		if (memcmp(ring->keys[i]->id, keyId, CODEC_KEY_ID_SIZE) == 0)
			return ring->keys[i];
	drErrorSet(err, DR_ERR_KEY, "test keyring has no such key");
	return NULL;
}

static CodecDataKey key1;
static CodecDataKey key2;		/* another key */
static CodecDataKey key1Bad;	/* key1's id, other bytes */

static uint64
splitmix64(uint64 x)
{
	x += UINT64CONST(0x9E3779B97F4A7C15);
	x = (x ^ (x >> 30)) * UINT64CONST(0xBF58476D1CE4E5B9);
	x = (x ^ (x >> 27)) * UINT64CONST(0x94D049BB133111EB);
	return x ^ (x >> 31);
}

typedef enum Content
{
	CONTENT_TEXT,				/* compressible: words from a small dictionary */
	CONTENT_RANDOM				/* incompressible */
} Content;

static char dictionary[64][16];

/* Content byte at any offset, so large objects need no reference copy. */
static void
contentFill(Content kind, uint64 offset, uint8 *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
	{
		uint64		o = offset + i;

		if (kind == CONTENT_RANDOM)
			buf[i] = (uint8) (splitmix64(o >> 3) >> (8 * (o & 7)));
		else
			buf[i] = (uint8) dictionary[splitmix64(o >> 4) & 63][o & 15];
	}
}

static uint8 *
contentMake(Content kind, size_t len)
{
	uint8	   *buf = palloc(Max(len, 1));

	contentFill(kind, 0, buf, len);
	return buf;
}

/* Encode buf in one write; returns false (err set) on failure. */
static bool
encodeBuf(const uint8 *buf, size_t len, int level, const CodecDataKey *key,
		  uint32 chunkSize, MemBuf *out, CodecResult *res, DrError *err)
{
	CodecEncodeParam param = {level, key, chunkSize, NULL};
	CodecEncoder *enc;

	memset(out, 0, sizeof(*out));
	enc = codecEncoderNew(&param, memSink(out), err);
	if (enc == NULL)
		return false;
	if (!codecEncoderWrite(enc, buf, len, err))
	{
		codecEncoderFree(enc);
		return false;
	}
	return codecEncoderEnd(enc, res, err);
}

/*
 * Decode obj completely with the given keyring (NULL: no lookup).  On
 * success *plain (palloc'd) holds the content.  On failure, *plain holds
 * what was handed out before the failure.
 */
static bool
decodeAll(const uint8 *obj, size_t len, TestKeyring *ring, size_t readSize,
		  uint8 **plain, size_t *plainLen, DrError *err)
{
	MemSource	ms;
	CodecDecoder *dec;
	size_t		cap = 4096;
	uint8	   *out = palloc(cap);
	size_t		got = 0;
	bool		ok = false;

	drErrorClear(err);
	dec = codecDecoderNew(memSource(&ms, obj, len),
						  ring ? testLookup : NULL, ring, err);
	if (dec != NULL)
	{
		for (;;)
		{
			ssize_t		n;

			if (cap - got < readSize)
			{
				cap = Max(cap * 2, got + readSize);
				out = repalloc(out, cap);
			}
			n = codecDecoderRead(dec, out + got, readSize, err);
			if (n <= 0)
			{
				ok = (n == 0);
				break;
			}
			got += (size_t) n;
		}
		if (ok)
			ok = codecDecoderEnd(dec, NULL, err);
		else
			codecDecoderFree(dec);
	}
	if (plain)
		*plain = out;
	else
		pfree(out);
	if (plainLen)
		*plainLen = got;
	return ok;
}

/* Offsets of the chunks of an encoded object (walks the framing). */
typedef struct ChunkMap
{
	int			n;
	size_t		off[512];		/* where the chunk head starts */
	uint32		len[512];
	uint32		flags[512];
	size_t		total[512];		/* head + payload + tag */
} ChunkMap;

static uint32
le32(const uint8 *p)
{
	return (uint32) p[0] | ((uint32) p[1] << 8) | ((uint32) p[2] << 16) |
		((uint32) p[3] << 24);
}

static void
chunkMap(const uint8 *obj, size_t len, bool encrypted, ChunkMap *map)
{
	size_t		off = CODEC_HEADER_SIZE;

	map->n = 0;
	while (off + 8 <= len && map->n < 512)
	{
		int			i = map->n++;

		map->off[i] = off;
		map->len[i] = le32(obj + off);
		map->flags[i] = le32(obj + off + 4);
		map->total[i] = 8 + map->len[i] + (encrypted ? CODEC_TAG_SIZE : 0);
		off += map->total[i];
	}
}

/* Build a new object from chunk indexes of src (header kept). */
static uint8 *
chunkSplice(const uint8 *src, const ChunkMap *map, const int *order, int n,
			size_t *outLen)
{
	size_t		len = CODEC_HEADER_SIZE;
	uint8	   *out;

	for (int i = 0; i < n; i++)
		len += map->total[order[i]];
	out = palloc(len);
	memcpy(out, src, CODEC_HEADER_SIZE);
	len = CODEC_HEADER_SIZE;
	for (int i = 0; i < n; i++)
	{
		memcpy(out + len, src + map->off[order[i]], map->total[order[i]]);
		len += map->total[order[i]];
	}
	*outLen = len;
	return out;
}

/* Independent AES-256-GCM encryption through EVP. */
static bool
gcmEncrypt(const uint8 *key, const uint8 *iv, const uint8 *aad, int aadLen,
		   const uint8 *plain, int len, uint8 *out, uint8 *tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int			n;
	bool		ok;

	ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
		EVP_EncryptInit_ex(ctx, NULL, NULL, key, iv) == 1 &&
		(aadLen == 0 || EVP_EncryptUpdate(ctx, NULL, &n, aad, aadLen) == 1) &&
		(len == 0 || EVP_EncryptUpdate(ctx, out, &n, plain, len) == 1) &&
		EVP_EncryptFinal_ex(ctx, out + len, &n) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

static bool
gcmDecrypt(const uint8 *key, const uint8 *iv, const uint8 *aad, int aadLen,
		   const uint8 *ct, int len, const uint8 *tag, uint8 *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int			n;
	bool		ok;

	ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, iv) == 1 &&
		(aadLen == 0 || EVP_DecryptUpdate(ctx, NULL, &n, aad, aadLen) == 1) &&
		(len == 0 || EVP_DecryptUpdate(ctx, out, &n, ct, len) == 1) &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, (void *) tag) == 1 &&
		EVP_DecryptFinal_ex(ctx, out + len, &n) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

/* Independent HKDF-SHA256. */
static bool
hkdfSha256(const uint8 *ikm, size_t ikmLen, const uint8 *salt, size_t saltLen,
		   const uint8 *info, size_t infoLen, uint8 *out, size_t outLen)
{
	EVP_PKEY_CTX *p = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	bool		ok;

	ok = p != NULL && EVP_PKEY_derive_init(p) > 0 &&
		EVP_PKEY_CTX_set_hkdf_md(p, EVP_sha256()) > 0 &&
		EVP_PKEY_CTX_set1_hkdf_salt(p, salt, (int) saltLen) > 0 &&
		EVP_PKEY_CTX_set1_hkdf_key(p, ikm, (int) ikmLen) > 0 &&
		EVP_PKEY_CTX_add1_hkdf_info(p, info, (int) infoLen) > 0 &&
		EVP_PKEY_derive(p, out, &outLen) > 0;
	EVP_PKEY_CTX_free(p);
	return ok;
}

static void
putLe64(uint8 *p, uint64 v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8) (v >> (8 * i));
}

/* ---------------------------------------------------------------------
 * Published vectors, through OpenSSL directly
 * ---------------------------------------------------------------------
 */

static void
testVectors(void)
{
	/* McGrew & Viega, "The Galois/Counter Mode of Operation", test case 16 */
	static const char *k16 = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
	static const char *p16 = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
		"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
	static const char *a16 = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
	static const char *iv16 = "cafebabefacedbaddecaf888";
	static const char *c16 = "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
		"8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662";
	static const char *t16 = "76fc6ece0f4e1768cddf8853bb2d551b";
	uint8		k[32],
				p[60],
				a[20],
				iv[12],
				c[60],
				t[16],
				out[64],
				tag[16];
	uint8		zero[32] = {0};
	uint8		sha[32],
				okm[42];
	char		hex[65];
	DrError		err;

	testHexDecode(k16, k);
	testHexDecode(p16, p);
	testHexDecode(a16, a);
	testHexDecode(iv16, iv);
	testHexDecode(c16, c);
	testHexDecode(t16, t);
	ok(gcmEncrypt(k, iv, a, 20, p, 60, out, tag) &&
	   memcmp(out, c, 60) == 0 && memcmp(tag, t, 16) == 0,
	   "AES-256-GCM matches GCM test case 16 (ciphertext and tag)");
	ok(gcmDecrypt(k, iv, a, 20, c, 60, t, out) && memcmp(out, p, 60) == 0,
	   "AES-256-GCM test case 16 decrypts");
	t[15] ^= 1;
	ok(!gcmDecrypt(k, iv, a, 20, c, 60, t, out),
	   "AES-256-GCM rejects test case 16 with a flipped tag bit");

	/* test cases 13 (empty plaintext) and 14 (one zero block), zero key/IV */
	testHexDecode("530f8afbc74536b9a963b4f1c4cb738b", t);
	ok(gcmEncrypt(zero, zero, NULL, 0, NULL, 0, out, tag) &&
	   memcmp(tag, t, 16) == 0, "AES-256-GCM matches GCM test case 13");
	testHexDecode("cea7403d4d606b6e074ec5d3baf39d18", c);
	testHexDecode("d0d1c8a799996bf0265b98b5d48ab919", t);
	ok(gcmEncrypt(zero, zero, NULL, 0, zero, 16, out, tag) &&
	   memcmp(out, c, 16) == 0 && memcmp(tag, t, 16) == 0,
	   "AES-256-GCM matches GCM test case 14");

	/* RFC 5869 test case 1 */
	{
		uint8		ikm[22],
					salt[13],
					info[10],
					expect[42];

		memset(ikm, 0x0b, sizeof(ikm));
		for (int i = 0; i < 13; i++)
			salt[i] = (uint8) i;
		for (int i = 0; i < 10; i++)
			info[i] = (uint8) (0xf0 + i);
		testHexDecode("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
				  "34007208d5b887185865", expect);
		ok(hkdfSha256(ikm, 22, salt, 13, info, 10, okm, 42) &&
		   memcmp(okm, expect, 42) == 0, "HKDF-SHA256 matches RFC 5869 case 1");
	}

	/* SHA-256 through the codec's helpers, FIPS 180-2 vectors */
	ok(codecSha256("abc", 3, sha, &err), "codecSha256 succeeds");
	codecSha256Hex(sha, hex);
	is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		   "codecSha256(\"abc\") and codecSha256Hex");
	codecSha256("", 0, sha, &err);
	codecSha256Hex(sha, hex);
	is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		   "codecSha256 of nothing");
}

/* ---------------------------------------------------------------------
 * Format: the bytes are what codec.h says, checked independently
 * ---------------------------------------------------------------------
 */

static void
testFormatEncrypted(void)
{
	const size_t size = 10000;
	const uint32 cs = 4096;
	uint8	   *plain = contentMake(CONTENT_TEXT, size);
	uint8		sha[32],
				objKey[32],
				trailer[40];
	MemBuf		obj;
	CodecResult res;
	ChunkMap	map;
	DrError		err;
	CodecHeader h;
	bool		allMatch = true;
	size_t		plainOff = 0;

	ok(encodeBuf(plain, size, 0, &key1, cs, &obj, &res, &err),
	   "format: encrypted, stored object encodes");
	ok(memcmp(obj.data, "PGDROBJ1", 8) == 0, "format: magic");
	is_int(obj.data[8] | (obj.data[9] << 8), 1, "format: version 1, little-endian");
	is_int(obj.data[10] | (obj.data[11] << 8), CODEC_FLAG_AES256GCM,
		   "format: flags = encrypted, not compressed");
	is_int(le32(obj.data + 12), cs, "format: chunk size");
	ok(memcmp(obj.data + 16, key1.id, 16) == 0, "format: key id");
	ok(codecHeaderParse(obj.data, obj.len, &h, &err) &&
	   memcmp(h.salt, (uint8[16]) {0}, 16) != 0, "format: salt is set");
	ok(memcmp(obj.data + 48, (uint8[16]) {0}, 16) == 0, "format: reserved is zero");

	chunkMap(obj.data, obj.len, true, &map);
	is_int(map.n, 4, "format: 10000 bytes in 4096-byte chunks = 3 data chunks + trailer");
	ok(map.len[0] == cs && map.len[1] == cs && map.len[2] == size - 2 * cs &&
	   map.len[3] == 40, "format: chunk lengths 4096, 4096, 1808, 40");
	ok(map.flags[0] == 0 && map.flags[1] == 0 && map.flags[2] == 0 &&
	   map.flags[3] == 1, "format: only the trailer has the last flag");
	is_int(map.off[3] + map.total[3], obj.len, "format: nothing after the trailer");
	is_int(res.storedSize, obj.len, "format: storedSize is the object length");

	/* each chunk = GCM(HKDF(data key, salt), index || flags, AAD = header) */
	ok(hkdfSha256(key1.key, 32, h.salt, 16, (const uint8 *) "pg_dr object key",
				  16, objKey, 32), "format: independent object key derived");
	EVP_Digest(plain, size, sha, NULL, EVP_sha256(), NULL);
	putLe64(trailer, size);
	memcpy(trailer + 8, sha, 32);
	for (int i = 0; i < map.n; i++)
	{
		uint8		nonce[12];
		uint8		ct[4096],
					tag[16];
		const uint8 *src = (i < 3) ? plain + plainOff : trailer;

		putLe64(nonce, (uint64) i);
		nonce[8] = (uint8) map.flags[i];
		nonce[9] = nonce[10] = nonce[11] = 0;
		gcmEncrypt(objKey, nonce, obj.data, 64, src, (int) map.len[i], ct, tag);
		if (memcmp(obj.data + map.off[i] + 8, ct, map.len[i]) != 0 ||
			memcmp(obj.data + map.off[i] + 8 + map.len[i], tag, 16) != 0)
		{
			allMatch = false;
			diag("chunk %d differs from the independent encryption", i);
		}
		if (i < 3)
			plainOff += map.len[i];
	}
	ok(allMatch, "format: every chunk (trailer included) equals an independent AES-256-GCM encryption");
	ok(memcmp(res.sha256, sha, 32) == 0, "format: result SHA-256 equals an independent SHA-256");
	memBufFree(&obj);
	pfree(plain);
}

static void
testFormatPlain(void)
{
	const size_t size = 10000;
	uint8	   *plain = contentMake(CONTENT_TEXT, size);
	uint8		sha[32];
	uint8	   *stream;
	size_t		streamLen = 0;
	MemBuf		obj;
	CodecResult res;
	ChunkMap	map;
	DrError		err;
	size_t		dsize;
	uint8	   *dbuf;

	EVP_Digest(plain, size, sha, NULL, EVP_sha256(), NULL);

	/* stored: payloads are the content itself, no tags */
	encodeBuf(plain, size, 0, NULL, 4096, &obj, &res, &err);
	is_int(obj.len, 64 + 3 * 8 + size + 8 + 40,
		   "format: unencrypted stored object = header + heads + content + trailer");
	ok(memcmp(obj.data + 16, (uint8[32]) {0}, 32) == 0,
	   "format: unencrypted object has zero key id and salt");
	chunkMap(obj.data, obj.len, false, &map);
	ok(memcmp(obj.data + map.off[0] + 8, plain, 4096) == 0 &&
	   memcmp(obj.data + map.off[2] + 8, plain + 8192, size - 8192) == 0,
	   "format: stored payloads are the content");
	ok(le32(obj.data + map.off[3] + 8) == size &&
	   memcmp(obj.data + map.off[3] + 16, sha, 32) == 0,
	   "format: trailer holds the size (LE) and SHA-256");
	memBufFree(&obj);

	/* compressed: the payloads concatenated are one zstd frame */
	encodeBuf(plain, size, 3, NULL, 64, &obj, &res, &err);
	is_int(obj.data[10], CODEC_FLAG_ZSTD, "format: flags = zstd, not encrypted");
	chunkMap(obj.data, obj.len, false, &map);
	stream = palloc(obj.len);
	for (int i = 0; i < map.n - 1; i++)
	{
		memcpy(stream + streamLen, obj.data + map.off[i] + 8, map.len[i]);
		streamLen += map.len[i];
	}
	ok(stream[0] == 0x28 && stream[1] == 0xb5 && stream[2] == 0x2f &&
	   stream[3] == 0xfd, "format: compressed stream starts with the zstd magic");
	dbuf = palloc(size + 1);
	dsize = ZSTD_decompress(dbuf, size + 1, stream, streamLen);
	ok(!ZSTD_isError(dsize) && dsize == size && memcmp(dbuf, plain, size) == 0,
	   "format: independent ZSTD_decompress of the payloads gives the content");
	pfree(dbuf);
	pfree(stream);
	memBufFree(&obj);
	pfree(plain);
}

/* ---------------------------------------------------------------------
 * Round trips
 * ---------------------------------------------------------------------
 */

/*
 * Encode size bytes of generated content with odd write sizes, decode with
 * odd read sizes, compare everything.  Returns true when all matched.
 */
static bool
roundTrip(Content kind, uint64 size, int level, const CodecDataKey *key,
		  uint32 chunkSize, size_t step, CodecResult *resOut)
{
	CodecEncodeParam param = {level, key, chunkSize, NULL};
	TestKeyring ring = {{&key1, &key2}, 2, NULL};
	static const size_t oddSizes[] = {1, 7, 4093, 65536 + 3, 200000};
	size_t		bufSize = Max(step, 200000);
	uint8	   *buf = palloc(bufSize);
	uint8	   *want = palloc(bufSize);
	uint8		sha[32];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	MemBuf		obj;
	MemSource	ms;
	CodecEncoder *enc;
	CodecDecoder *dec;
	CodecResult encRes,
				decRes;
	DrError		err;
	uint64		off = 0;
	int			i = 0;
	ssize_t		n;
	bool		good = true;

	drErrorClear(&err);
	memset(&obj, 0, sizeof(obj));
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	enc = codecEncoderNew(&param, memSink(&obj), &err);
	if (enc == NULL)
		goto fail;
	while (off < size)
	{
		size_t		piece = step ? step : oddSizes[i++ % 5];
		size_t		len = Min(piece, size - off);

		contentFill(kind, off, buf, len);
		EVP_DigestUpdate(md, buf, len);
		if (!codecEncoderWrite(enc, buf, len, &err))
		{
			codecEncoderFree(enc);
			goto fail;
		}
		off += len;
	}
	EVP_DigestFinal_ex(md, sha, NULL);
	if (!codecEncoderEnd(enc, &encRes, &err))
		goto fail;
	if (encRes.rawSize != size || encRes.storedSize != obj.len ||
		memcmp(encRes.sha256, sha, 32) != 0)
	{
		diag("encoder result wrong: raw " UINT64_FORMAT " stored " UINT64_FORMAT,
			 encRes.rawSize, encRes.storedSize);
		good = false;
	}

	dec = codecDecoderNew(memSource(&ms, obj.data, obj.len), testLookup, &ring,
						  &err);
	if (dec == NULL)
		goto fail;
	off = 0;
	i = 3;
	for (;;)
	{
		size_t		want_len = step ? step : oddSizes[i++ % 5];

		n = codecDecoderRead(dec, buf, want_len, &err);
		if (n <= 0)
			break;
		contentFill(kind, off, want, (size_t) n);
		if (off + n > size || memcmp(buf, want, n) != 0)
		{
			diag("content differs near offset " UINT64_FORMAT, off);
			good = false;
			break;
		}
		off += n;
	}
	if (n < 0 || !good)
	{
		codecDecoderFree(dec);
		goto fail;
	}
	if (!codecDecoderEnd(dec, &decRes, &err))
		goto fail;
	if (off != size || decRes.rawSize != size || decRes.storedSize != obj.len ||
		memcmp(decRes.sha256, sha, 32) != 0)
	{
		diag("decoder result wrong: got " UINT64_FORMAT " of " UINT64_FORMAT,
			 off, size);
		good = false;
	}
	if (resOut)
		*resOut = encRes;
	goto done;

fail:
	diag("round trip failed: [%s] %s", drErrorCodeName(err.code), err.message);
	good = false;
done:
	EVP_MD_CTX_free(md);
	memBufFree(&obj);
	pfree(buf);
	pfree(want);
	return good;
}

static void
testRoundTrips(void)
{
	static const struct
	{
		uint32		chunkSize;
		uint64		sizes[10];
		int			nsizes;
	}			configs[] = {
		{4096, {0, 1, 4095, 4096, 4097, 8191, 8192, 8193, 3 * MiB + 5}, 9},
		{0, {0, 1, MiB - 1, MiB, MiB + 1, 2 * MiB + 1, 5 * MiB + 3}, 7},
	};

	for (int c = 0; c < 2; c++)
		for (int k = 0; k < 2; k++)
			for (int lv = 0; lv < 2; lv++)
				for (int key = 0; key < 2; key++)
				{
					int			failures = 0;
					int			done = 0;

					for (int s = 0; s < configs[c].nsizes; s++)
					{
						uint64		size = configs[c].sizes[s];

						if (quick && size > MiB + 1)
							continue;
						done++;
						if (!roundTrip(k, size, lv ? 3 : 0, key ? &key1 : NULL,
									   configs[c].chunkSize, 0, NULL))
						{
							diag("size " UINT64_FORMAT " failed", size);
							failures++;
						}
					}
					ok(failures == 0 && done > 0,
					   "round trip, chunk size %u, %s, %s, %s: %d sizes from 0 to " UINT64_FORMAT,
					   configs[c].chunkSize ? configs[c].chunkSize : CODEC_CHUNK_SIZE_DEFAULT,
					   k ? "incompressible" : "compressible",
					   lv ? "zstd 3" : "stored", key ? "encrypted" : "plain",
					   done, configs[c].sizes[configs[c].nsizes - 1]);
				}
}

/*
 * The compressed stream, not the plain content, is what is cut into
 * chunks: find content sizes whose stream ends exactly one byte before,
 * on and after a chunk boundary, and round-trip those.
 */
static void
testCompressedBoundaries(void)
{
	const uint32 cs = 4096;
	bool		found[3] = {false, false, false};
	bool		good = true;

	for (size_t size = 3 * cs - 64; size < 3 * cs + 64; size++)
	{
		uint8	   *plain = contentMake(CONTENT_RANDOM, size);
		MemBuf		obj;
		CodecResult res;
		ChunkMap	map;
		DrError		err;
		size_t		stream = 0;

		encodeBuf(plain, size, 1, NULL, cs, &obj, &res, &err);
		chunkMap(obj.data, obj.len, false, &map);
		for (int i = 0; i < map.n - 1; i++)
			stream += map.len[i];
		for (int d = -1; d <= 1; d++)
			if (stream == (size_t) (3 * cs + d) && !found[d + 1])
			{
				found[d + 1] = true;
				if (!roundTrip(CONTENT_RANDOM, size, 1, NULL, cs, 0, NULL) ||
					!roundTrip(CONTENT_RANDOM, size, 1, &key1, cs, 0, NULL))
					good = false;
			}
		memBufFree(&obj);
		pfree(plain);
	}
	ok(found[0] && found[1] && found[2] && good,
	   "round trip with the compressed stream ending 1 byte before, on, and after a chunk boundary");
}

static void
testLarge(void)
{
	CodecResult res;

	if (quick)
	{
		ok(true, "# SKIP 64 MiB round trips (PGDR_TEST_QUICK)");
		return;
	}
	ok(roundTrip(CONTENT_TEXT, 64 * MiB, 3, &key1, 0, MiB + 17, &res),
	   "round trip 64 MiB compressible, zstd 3, encrypted");
	ok(res.storedSize < 64 * MiB / 4, "64 MiB compressible really compresses (" UINT64_FORMAT " bytes)",
	   res.storedSize);
	ok(roundTrip(CONTENT_RANDOM, 64 * MiB, 0, &key1, 0, 3 * MiB + 1, &res),
	   "round trip 64 MiB incompressible, stored, encrypted");
	ok(roundTrip(CONTENT_RANDOM, 64 * MiB, 1, NULL, CODEC_CHUNK_SIZE_MAX, 5 * MiB,
				 &res), "round trip 64 MiB incompressible, zstd 1, plain, 16 MiB chunks");
}

/* ---------------------------------------------------------------------
 * zstd levels
 * ---------------------------------------------------------------------
 */

static void
testLevels(void)
{
	size_t		size = quick ? 256 * 1024 : 2 * MiB;
	uint8	   *plain = contentMake(CONTENT_TEXT, size);
	MemBuf		o0,
				o1,
				o19;
	CodecResult r0,
				r1,
				r19;
	DrError		err;
	size_t		chunks = (size + MiB - 1) / MiB;

	ok(encodeBuf(plain, size, 0, NULL, 0, &o0, &r0, &err) &&
	   encodeBuf(plain, size, 1, NULL, 0, &o1, &r1, &err) &&
	   encodeBuf(plain, size, 19, NULL, 0, &o19, &r19, &err),
	   "levels 0, 1 and 19 encode");
	is_int(o0.data[10], 0, "level 0: header says not compressed");
	is_int(r0.storedSize, 64 + chunks * 8 + size + 8 + 40,
		   "level 0: stored size = content + framing exactly");
	is_int(o1.data[10], CODEC_FLAG_ZSTD, "level 1: header says zstd");
	is_int(o19.data[10], CODEC_FLAG_ZSTD, "level 19: header says zstd");
	ok(r1.storedSize < size / 3, "level 1 compresses (%zu -> " UINT64_FORMAT ")",
	   size, r1.storedSize);
	ok(r19.storedSize < r1.storedSize,
	   "level 19 is smaller than level 1 (" UINT64_FORMAT " < " UINT64_FORMAT ")",
	   r19.storedSize, r1.storedSize);
	ok(memcmp(r0.sha256, r1.sha256, 32) == 0 && memcmp(r1.sha256, r19.sha256, 32) == 0,
	   "the content hash does not depend on the level");
	ok(decodeAll(o19.data, o19.len, NULL, 65536, NULL, NULL, &err),
	   "level 19 object decodes");
	memBufFree(&o0);
	memBufFree(&o1);
	memBufFree(&o19);
	pfree(plain);
}

/* ---------------------------------------------------------------------
 * Damage
 * ---------------------------------------------------------------------
 */

/*
 * Flip every bit of a small object in turn and decode it.  Encrypted
 * objects must always fail, DR_ERR_KEY for bits inside the key id (the
 * object then names a key that does not exist) and DR_ERR_CORRUPT for all
 * others.  Unencrypted stored objects must always fail with DR_ERR_CORRUPT.
 * Unencrypted zstd objects have no check over their stored bytes, and zstd
 * ignores a few bits (frame header hints, bitstream padding, table bits
 * with no effect): such a flip must decode to the exact original content,
 * SHA-256 verified, and any other flip must fail with DR_ERR_CORRUPT.  So
 * damage never yields wrong content.
 */
static void
testBitFlips(const char *what, int level, const CodecDataKey *key, uint32 cs)
{
	TestKeyring ring = {{&key1, &key2}, 2, NULL};
	size_t		size = 300;
	uint8	   *plain = contentMake(CONTENT_TEXT, size);
	MemBuf		obj;
	CodecResult res;
	DrError		err;
	uint8	   *copy;
	int			undetected = 0,
				wrongCode = 0,
				inert = 0,
				inertOutside = 0;
	size_t		bits;

	encodeBuf(plain, size, level, key, cs, &obj, &res, &err);
	copy = palloc(obj.len);
	bits = obj.len * 8;
	for (size_t b = 0; b < bits; b++)
	{
		size_t		byte = b / 8;
		uint8	   *out;
		size_t		outLen;
		bool		decoded;
		DrErrorCode expect;

		memcpy(copy, obj.data, obj.len);
		copy[byte] ^= (uint8) (1 << (b % 8));
		decoded = decodeAll(copy, obj.len, &ring, 4096, &out, &outLen, &err);
		expect = (key && byte >= 16 && byte < 32) ? DR_ERR_KEY : DR_ERR_CORRUPT;
		if (decoded)
		{
			if (!key && level > 0 && outLen == size &&
				memcmp(out, plain, size) == 0)
			{
				inert++;
				/* zstd data starts after the header and the first chunk head */
				if (byte < 64 + 8)
				{
					if (inertOutside++ < 5)
						diag("inert flip of bit %zu (byte %zu) outside zstd data",
							 b, byte);
				}
			}
			else
			{
				if (undetected++ < 5)
					diag("flip of bit %zu (byte %zu) not detected", b, byte);
			}
		}
		else if (err.code != expect)
		{
			if (wrongCode++ < 5)
				diag("flip of bit %zu: [%s] %s", b, drErrorCodeName(err.code),
					 err.message);
		}
		pfree(out);
	}
	ok(undetected == 0 && wrongCode == 0 && inertOutside == 0 &&
	   (key || level == 0 ? inert == 0 : true),
	   "%s %zu bit flips %s: %s (%zu-byte object)",
	   (key || level == 0) ? "every one of" : "none of", bits,
	   (key || level == 0) ? "detected" : "yields wrong content", what, obj.len);
	if (inert > 0)
		diag("%s: %d flips of bits zstd ignores decoded to the original content",
			 what, inert);
	pfree(copy);
	memBufFree(&obj);
	pfree(plain);
}

/* Every proper prefix of the object must be refused as corrupt. */
static void
testTruncation(const char *what, int level, const CodecDataKey *key)
{
	TestKeyring ring = {{&key1}, 1, NULL};
	uint8	   *plain = contentMake(CONTENT_TEXT, 300);
	MemBuf		obj;
	CodecResult res;
	DrError		err;
	ChunkMap	map;
	int			accepted = 0,
				wrongCode = 0,
				boundaries = 0,
				boundaryMsg = 0;

	encodeBuf(plain, 300, level, key, 64, &obj, &res, &err);
	chunkMap(obj.data, obj.len, key != NULL, &map);
	for (size_t len = 0; len < obj.len; len++)
	{
		bool		atBoundary = false;

		if (decodeAll(obj.data, len, &ring, 1000, NULL, NULL, &err))
		{
			accepted++;
			continue;
		}
		if (err.code != DR_ERR_CORRUPT)
			wrongCode++;
		for (int i = 0; i < map.n; i++)
			atBoundary |= (len == map.off[i]);
		if (atBoundary)
		{
			boundaries++;
			boundaryMsg += strcmp(err.message, "object is truncated: no trailer chunk") == 0;
		}
	}
	ok(accepted == 0 && wrongCode == 0,
	   "truncation at each of %zu byte boundaries detected as corrupt: %s", obj.len, what);
	ok(boundaries == map.n && boundaryMsg == boundaries,
	   "truncation at each of %d chunk boundaries says \"no trailer chunk\": %s",
	   boundaries, what);
	memBufFree(&obj);
	pfree(plain);
}

static void
expectFail(const uint8 *obj, size_t len, TestKeyring *ring, DrErrorCode code,
		   const char *msgPart, const char *what)
{
	DrError		err;
	bool		decoded = decodeAll(obj, len, ring, 4096, NULL, NULL, &err);

	ok(!decoded && err.code == code && strstr(err.message, msgPart) != NULL,
	   "%s: [%s] %s", what, drErrorCodeName(err.code), err.message);
}

static void
testReorder(void)
{
	TestKeyring ring = {{&key1}, 1, NULL};
	uint8	   *plain = contentMake(CONTENT_RANDOM, 300);
	MemBuf		enc,
				enc2,
				pln;
	CodecResult res;
	DrError		err;
	ChunkMap	me,
				me2,
				mp;
	uint8	   *o;
	size_t		len;

	/* 300 bytes in 64-byte chunks: data chunks 0..4 (4 is short), trailer 5 */
	encodeBuf(plain, 300, 0, &key1, 64, &enc, &res, &err);
	encodeBuf(plain, 300, 0, &key1, 64, &enc2, &res, &err);
	encodeBuf(plain, 300, 0, NULL, 64, &pln, &res, &err);
	chunkMap(enc.data, enc.len, true, &me);
	chunkMap(enc2.data, enc2.len, true, &me2);
	chunkMap(pln.data, pln.len, false, &mp);
	is_int(me.n, 6, "reorder: object has 5 data chunks and a trailer");
	ok(memcmp(enc.data, enc2.data, 64) != 0 &&
	   memcmp(enc.data + 64, enc2.data + 64, enc.len - 64) != 0,
	   "same content, same key: two objects differ (fresh salt)");

	o = chunkSplice(enc.data, &me, (int[]) {0, 2, 1, 3, 4, 5}, 6, &len);
	expectFail(o, len, &ring, DR_ERR_CORRUPT, "chunk 1 at offset 152 failed authentication",
			   "encrypted, chunks 1 and 2 swapped");
	pfree(o);
	o = chunkSplice(enc.data, &me, (int[]) {0, 1, 3, 4, 5}, 5, &len);
	expectFail(o, len, &ring, DR_ERR_CORRUPT, "chunk 2 at offset 240 failed authentication",
			   "encrypted, chunk 2 dropped");
	pfree(o);
	o = chunkSplice(enc.data, &me, (int[]) {0, 1, 1, 2, 3, 4, 5}, 7, &len);
	expectFail(o, len, &ring, DR_ERR_CORRUPT, "chunk 2 at offset 240 failed authentication",
			   "encrypted, chunk 1 repeated");
	pfree(o);
	o = chunkSplice(enc.data, &me, (int[]) {0, 1, 2, 3, 5, 4}, 6, &len);
	expectFail(o, len, &ring, DR_ERR_CORRUPT, "chunk 4 at offset 416 failed authentication",
			   "encrypted, trailer moved before the last data chunk");
	pfree(o);
	o = chunkSplice(enc.data, &me, (int[]) {0, 1, 2, 3, 4}, 5, &len);
	expectFail(o, len, &ring, DR_ERR_CORRUPT, "no trailer chunk",
			   "encrypted, trailer dropped");
	pfree(o);

	/* chunk 1 of another object under the same key: its salt differs */
	o = palloc(enc.len);
	memcpy(o, enc.data, enc.len);
	memcpy(o + me.off[1], enc2.data + me2.off[1], me.total[1]);
	expectFail(o, enc.len, &ring, DR_ERR_CORRUPT, "chunk 1 at offset 152 failed authentication",
			   "encrypted, chunk spliced from another object");
	/* the other object's header on this object's chunks */
	memcpy(o, enc.data, enc.len);
	memcpy(o, enc2.data, 64);
	expectFail(o, enc.len, &ring, DR_ERR_CORRUPT, "chunk 0 at offset 64 failed authentication",
			   "encrypted, header from another object");
	pfree(o);

	o = palloc(enc.len + 1);
	memcpy(o, enc.data, enc.len);
	o[enc.len] = 0;
	expectFail(o, enc.len + 1, &ring, DR_ERR_CORRUPT, "unexpected data after the trailer chunk",
			   "encrypted, one byte appended");
	pfree(o);

	o = chunkSplice(pln.data, &mp, (int[]) {0, 2, 1, 3, 4, 5}, 6, &len);
	expectFail(o, len, NULL, DR_ERR_CORRUPT, "content hash mismatch",
			   "plain, chunks 1 and 2 swapped");
	pfree(o);
	o = chunkSplice(pln.data, &mp, (int[]) {0, 1, 3, 4, 5}, 5, &len);
	expectFail(o, len, NULL, DR_ERR_CORRUPT, "content size mismatch",
			   "plain, chunk 2 dropped");
	pfree(o);
	o = chunkSplice(pln.data, &mp, (int[]) {0, 1, 2, 4, 3, 5}, 6, &len);
	expectFail(o, len, NULL, DR_ERR_CORRUPT, "follows a short chunk",
			   "plain, short chunk moved before a full one");
	pfree(o);
	o = chunkSplice(pln.data, &mp, (int[]) {0, 1, 2, 3, 4, 5, 5}, 7, &len);
	expectFail(o, len, NULL, DR_ERR_CORRUPT, "unexpected data after the trailer chunk",
			   "plain, trailer repeated");
	pfree(o);

	memBufFree(&enc);
	memBufFree(&enc2);
	memBufFree(&pln);
	pfree(plain);
}

/*
 * A chunk that fails authentication must not have leaked a single plain
 * byte: what was handed out before the failure is exactly the chunks
 * before it.
 */
static void
testNoUnverifiedOutput(void)
{
	TestKeyring ring = {{&key1}, 1, NULL};
	size_t		size = 3 * 4096;
	uint8	   *plain = contentMake(CONTENT_TEXT, size);
	MemBuf		obj;
	CodecResult res;
	DrError		err;
	uint8	   *out;
	size_t		outLen;
	bool		decoded;

	encodeBuf(plain, size, 0, &key1, 4096, &obj, &res, &err);
	/* last byte of chunk 1's payload */
	obj.data[64 + (8 + 4096 + 16) + 8 + 4095] ^= 0x80;
	/* decode first: argument evaluation order would otherwise be unspecified */
	decoded = decodeAll(obj.data, obj.len, &ring, 100, &out, &outLen, &err);
	ok(!decoded && outLen == 4096 && memcmp(out, plain, 4096) == 0,
	   "damaged chunk 1: only chunk 0's 4096 verified bytes were handed out (got %zu)",
	   outLen);
	pfree(out);
	memBufFree(&obj);
	pfree(plain);
}

static void
testKeys(void)
{
	TestKeyring ring = {{&key1}, 1, NULL};
	TestKeyring other = {{&key2}, 1, NULL};
	TestKeyring liar = {{NULL}, 0, &key2};
	TestKeyring wrongBytes = {{&key1Bad}, 1, NULL};
	uint8	   *plain = contentMake(CONTENT_TEXT, 5000);
	MemBuf		obj;
	CodecResult res;
	DrError		err;
	char		msg[200];
	char		idHex[33];

	encodeBuf(plain, 5000, 3, &key1, 0, &obj, &res, &err);
	hexEncode(key1.id, 16, HEX_LOWER, idHex);

	ok(decodeAll(obj.data, obj.len, &ring, 1000, NULL, NULL, &err),
	   "right key decodes");
	snprintf(msg, sizeof(msg), "encrypted with data key %s but no key was given", idHex);
	expectFail(obj.data, obj.len, NULL, DR_ERR_KEY, msg, "encrypted object, no lookup");
	expectFail(obj.data, obj.len, &other, DR_ERR_KEY, "test keyring has no such key",
			   "key not in the keyring: the lookup's error is passed on");
	expectFail(obj.data, obj.len, &liar, DR_ERR_KEY, "returned another key",
			   "lookup returns a key with another id");
	expectFail(obj.data, obj.len, &wrongBytes, DR_ERR_CORRUPT,
			   "chunk 0 at offset 64 failed authentication",
			   "right id, wrong key bytes");
	memBufFree(&obj);

	/* an unencrypted object needs no lookup at all */
	encodeBuf(plain, 5000, 3, NULL, 0, &obj, &res, &err);
	ok(decodeAll(obj.data, obj.len, NULL, 1000, NULL, NULL, &err),
	   "unencrypted object decodes without a key lookup");
	memBufFree(&obj);
	pfree(plain);
}

/* ---------------------------------------------------------------------
 * Header parsing, arguments, failures of the plumbing
 * ---------------------------------------------------------------------
 */

static void
headerExpect(const uint8 *base, int at, uint8 xorv, const char *msgPart,
			 const char *what)
{
	uint8		h[64];
	CodecHeader hdr;
	DrError		err;

	memcpy(h, base, 64);
	h[at] ^= xorv;
	ok(!codecHeaderParse(h, 64, &hdr, &err) && err.code == DR_ERR_CORRUPT &&
	   strstr(err.message, msgPart) != NULL, "header %s: %s", what, err.message);
}

static void
testHeader(void)
{
	MemBuf		enc,
				pln;
	CodecResult res;
	CodecHeader h;
	DrError		err;

	encodeBuf((const uint8 *) "x", 1, 5, &key1, 8192, &enc, &res, &err);
	encodeBuf((const uint8 *) "x", 1, 0, NULL, 0, &pln, &res, &err);
	ok(codecHeaderParse(enc.data, enc.len, &h, &err) && h.version == 1 &&
	   h.flags == (CODEC_FLAG_ZSTD | CODEC_FLAG_AES256GCM) &&
	   h.chunkSize == 8192 && memcmp(h.keyId, key1.id, 16) == 0,
	   "header of an encrypted zstd object parses to its fields");
	ok(codecHeaderParse(pln.data, 64, &h, &err) && h.flags == 0 &&
	   h.chunkSize == CODEC_CHUNK_SIZE_DEFAULT, "header of a plain stored object parses");
	ok(!codecHeaderParse(enc.data, 63, &h, &err) && err.code == DR_ERR_CORRUPT &&
	   strstr(err.message, "truncated") != NULL, "63 header bytes: truncated");
	headerExpect(pln.data, 0, 0x01, "bad magic", "bad magic");
	headerExpect(pln.data, 8, 0x02, "version 3 is not supported", "version 3");
	headerExpect(pln.data, 11, 0x80, "unknown flags 0x8000", "unknown flag");
	headerExpect(pln.data, 14, 0x01, "invalid chunk size", "chunk size not a power of two");
	headerExpect(pln.data, 14, 0x10, "invalid chunk size", "chunk size 0");
	{
		uint8		big[64];

		/* 32 MiB: a power of two, but over the maximum */
		memcpy(big, pln.data, 64);
		big[12] = big[13] = big[14] = 0;
		big[15] = 0x02;
		ok(!codecHeaderParse(big, 64, &h, &err) && err.code == DR_ERR_CORRUPT &&
		   strstr(err.message, "invalid chunk size 33554432") != NULL,
		   "header chunk size 32 MiB: %s", err.message);
	}
	headerExpect(pln.data, 50, 0x01, "reserved", "reserved byte set");
	headerExpect(pln.data, 10, 0x02, "no key id", "plain header marked encrypted");
	headerExpect(pln.data, 40, 0x01, "has a key id or salt", "salt in a plain header");
	headerExpect(pln.data, 20, 0x01, "has a key id or salt", "key id in a plain header");
	memBufFree(&enc);
	memBufFree(&pln);

	expectFail((const uint8 *) "", 0, NULL, DR_ERR_CORRUPT, "object is empty",
			   "empty input");
	{
		uint8		foreign[200];

		memset(foreign, 'x', sizeof(foreign));
		expectFail(foreign, sizeof(foreign), NULL, DR_ERR_CORRUPT, "bad magic",
				   "foreign input");
	}
}

static void
testArguments(void)
{
	static const CodecDataKey zeroIdKey;
	CodecEncodeParam p;
	MemBuf		mb;
	DrError		err;
	CodecEncoder *enc;

	memset(&mb, 0, sizeof(mb));
	p = (CodecEncodeParam) {20, NULL, 0, NULL};
	ok(codecEncoderNew(&p, memSink(&mb), &err) == NULL && err.code == DR_ERR_INVALID,
	   "level 20 refused: %s", err.message);
	p = (CodecEncodeParam) {-1, NULL, 0, NULL};
	ok(codecEncoderNew(&p, memSink(&mb), &err) == NULL && err.code == DR_ERR_INVALID,
	   "level -1 refused");
	p = (CodecEncodeParam) {1, NULL, 1000000, NULL};
	ok(codecEncoderNew(&p, memSink(&mb), &err) == NULL && err.code == DR_ERR_INVALID &&
	   strstr(err.hint, "power of two") != NULL,
	   "chunk size 1000000 refused with a hint: %s", err.hint);
	p = (CodecEncodeParam) {1, NULL, 32, NULL};
	ok(codecEncoderNew(&p, memSink(&mb), &err) == NULL && err.code == DR_ERR_INVALID,
	   "chunk size 32 refused");
	p = (CodecEncodeParam) {1, NULL, 2 * CODEC_CHUNK_SIZE_MAX, NULL};
	ok(codecEncoderNew(&p, memSink(&mb), &err) == NULL && err.code == DR_ERR_INVALID,
	   "chunk size 32 MiB refused");
	p = (CodecEncodeParam) {1, &zeroIdKey, 0, NULL};
	ok(codecEncoderNew(&p, memSink(&mb), &err) == NULL && err.code == DR_ERR_INVALID,
	   "key with an all-zero id refused");
	is_int(mb.len, 0, "nothing written by refused encoders");

	/* Write with no bytes is harmless */
	p = (CodecEncodeParam) {0, NULL, 0, NULL};
	enc = codecEncoderNew(&p, memSink(&mb), &err);
	ok(enc != NULL && codecEncoderWrite(enc, "", 0, &err) &&
	   codecEncoderEnd(enc, NULL, &err), "empty Write and NULL result are fine");
	memBufFree(&mb);
}

static void
testPlumbingFailures(void)
{
	TestKeyring ring = {{&key1}, 1, NULL};
	uint8	   *plain = contentMake(CONTENT_RANDOM, 20000);
	CodecEncodeParam p = {3, &key1, 4096, NULL};
	MemBuf		mb,
				obj;
	MemSource	ms;
	CodecResult res;
	CodecEncoder *enc;
	CodecDecoder *dec;
	DrError		err;
	uint8		buf[1000];
	ssize_t		n;

	/* sink refuses the header */
	memset(&mb, 0, sizeof(mb));
	mb.failAtWrite = 1;
	ok(codecEncoderNew(&p, memSink(&mb), &err) == NULL && err.code == DR_ERR_IO,
	   "sink failure on the header is reported by New");
	memBufFree(&mb);

	/*
	 * sink refuses the 3rd write (the 2nd chunk): Write fails, keeps
	 * failing, End fails.  Stored, so that chunks leave during Write.
	 */
	memset(&mb, 0, sizeof(mb));
	mb.failAtWrite = 3;
	p.compressLevel = 0;
	enc = codecEncoderNew(&p, memSink(&mb), &err);
	ok(!codecEncoderWrite(enc, plain, 20000, &err) && err.code == DR_ERR_IO &&
	   strstr(err.message, "refuses write 3") != NULL,
	   "sink failure passed on by Write: %s", err.message);
	ok(!codecEncoderWrite(enc, plain, 10, &err) && err.code == DR_ERR_INVALID,
	   "Write after a failure refused");
	ok(!codecEncoderEnd(enc, &res, &err) && err.code == DR_ERR_INVALID,
	   "End after a failure fails (and frees)");
	memBufFree(&mb);
	p.compressLevel = 3;

	/* sink refuses the trailer */
	memset(&mb, 0, sizeof(mb));
	mb.failAtWrite = 2;
	enc = codecEncoderNew(&p, memSink(&mb), &err);
	ok(codecEncoderWrite(enc, "tiny", 4, &err) && !codecEncoderEnd(enc, &res, &err) &&
	   err.code == DR_ERR_IO, "sink failure on the trailer reported by End");
	memBufFree(&mb);

	/* abandon an encoder midway */
	memset(&mb, 0, sizeof(mb));
	enc = codecEncoderNew(&p, memSink(&mb), &err);
	codecEncoderWrite(enc, plain, 20000, &err);
	codecEncoderFree(enc);
	ok(true, "encoder abandoned with Free (leaks show under ASan/valgrind)");
	memBufFree(&mb);

	encodeBuf(plain, 20000, 3, &key1, 4096, &obj, &res, &err);

	/* source fails midway */
	dec = codecDecoderNew(memSource(&ms, obj.data, obj.len), testLookup, &ring, &err);
	ms.failAt = obj.len - 10;
	while ((n = codecDecoderRead(dec, buf, sizeof(buf), &err)) > 0)
		;
	ok(n < 0 && err.code == DR_ERR_IO, "source failure passed on by Read: %s", err.message);
	n = codecDecoderRead(dec, buf, sizeof(buf), &err);
	ok(n < 0 && err.code == DR_ERR_INVALID, "errors are sticky: Read after a failure is -1");
	ok(!codecDecoderEnd(dec, &res, &err), "End after a failure fails (and frees)");

	/* End before the verified end */
	dec = codecDecoderNew(memSource(&ms, obj.data, obj.len), testLookup, &ring, &err);
	ok(codecDecoderRead(dec, buf, sizeof(buf), &err) > 0 &&
	   !codecDecoderEnd(dec, &res, &err) && err.code == DR_ERR_INVALID,
	   "End before Read returned 0 fails: %s", err.message);

	/* Read with no room */
	dec = codecDecoderNew(memSource(&ms, obj.data, obj.len), testLookup, &ring, &err);
	ok(codecDecoderRead(dec, buf, 0, &err) == -1 && err.code == DR_ERR_INVALID,
	   "Read with len 0 refused");
	codecDecoderFree(dec);

	/* Read after the end keeps returning 0 */
	dec = codecDecoderNew(memSource(&ms, obj.data, obj.len), testLookup, &ring, &err);
	while ((n = codecDecoderRead(dec, buf, sizeof(buf), &err)) > 0)
		;
	ok(n == 0 && codecDecoderRead(dec, buf, sizeof(buf), &err) == 0 &&
	   codecDecoderEnd(dec, &res, &err) && res.rawSize == 20000,
	   "Read returns 0 again after the end; End reports the size");

	memBufFree(&obj);
	pfree(plain);
}

/*
 * Decode obj to its end in a mode set before the first Read
 * (codecDecoderNoHash, codecDecoderFastVerify): whether it succeeded with
 * exactly plain as content, and whether SHA-256 was recomputed.
 */
static bool
decodeWith(const MemBuf *obj, TestKeyring *ring, void (*mode) (CodecDecoder *),
		   const uint8 *plain, size_t plainLen, bool *hashed, CodecResult *res,
		   DrError *err)
{
	MemSource	ms;
	CodecDecoder *dec;
	uint8		buf[8192];
	size_t		got = 0;
	bool		same = true;
	ssize_t		n;

	dec = codecDecoderNew(memSource(&ms, obj->data, obj->len),
						  ring ? testLookup : NULL, ring, err);
	if (dec == NULL)
		return false;
	mode(dec);
	while ((n = codecDecoderRead(dec, buf, sizeof(buf), err)) > 0)
	{
		same &= got + n <= plainLen && memcmp(buf, plain + got, n) == 0;
		got += n;
	}
	if (n < 0)
	{
		codecDecoderFree(dec);
		return false;
	}
	*hashed = codecDecoderHashed(dec);
	return codecDecoderEnd(dec, res, err) && same && got == plainLen;
}

/*
 * codecDecoderNoHash: part of an object read without hashing; to the end,
 * size and framing still checked, the hash not (documented), and a result
 * without a hash.
 */
static void
testNoHash(void)
{
	TestKeyring ring = {{&key1, &key2}, 2, NULL};
	uint8	   *plain = contentMake(CONTENT_TEXT, 50000);
	MemBuf		obj;
	MemSource	ms;
	CodecResult res;
	CodecDecoder *dec;
	DrError		err;
	uint8		buf[4096];
	uint8		zero[CODEC_SHA256_SIZE] = {0};
	bool		hashed = true;

	ok(encodeBuf(plain, 50000, 3, NULL, 4096, &obj, &res, &err), "a plain object");
	ok(decodeWith(&obj, NULL, codecDecoderNoHash, plain, 50000, &hashed, &res, &err) &&
	   !hashed, "no hash: read to the end, content the same, End succeeds");
	ok(res.rawSize == 50000 && memcmp(res.sha256, zero, CODEC_SHA256_SIZE) == 0,
	   "no hash: size given, hash all zero");

	/* the trailer's hash altered: caught normally, not without the hash */
	obj.data[obj.len - 5] ^= 1;
	ok(!decodeAll(obj.data, obj.len, NULL, 4096, NULL, NULL, &err) &&
	   err.code == DR_ERR_CORRUPT, "a wrong trailer hash is caught: %s", err.message);
	ok(decodeWith(&obj, NULL, codecDecoderNoHash, plain, 50000, &hashed, &res, &err),
	   "no hash: the hash is not checked (as documented)");
	memBufFree(&obj);

	/* encrypted: a flipped byte in a chunk is caught without the hash */
	ok(encodeBuf(plain, 50000, 3, &key1, 4096, &obj, &res, &err), "an encrypted object");
	obj.data[CODEC_HEADER_SIZE + 20] ^= 1;
	dec = codecDecoderNew(memSource(&ms, obj.data, obj.len), testLookup, &ring, &err);
	codecDecoderNoHash(dec);
	ok(codecDecoderRead(dec, buf, sizeof(buf), &err) < 0 && err.code == DR_ERR_CORRUPT,
	   "no hash, encrypted: the first chunk still fails authentication");
	codecDecoderFree(dec);
	memBufFree(&obj);
	pfree(plain);
}

/*
 * codecDecoderFastVerify: no SHA-256 for encrypted objects whose zstd frame
 * carries a content checksum (or stored uncompressed), the trailer's
 * SHA-256 in the result; hashed as usual otherwise; zstd's checksum checked.
 */
static void
testFastVerify(void)
{
	TestKeyring ring = {{&key1, &key2}, 2, NULL};
	uint8	   *plain = contentMake(CONTENT_TEXT, 300000);
	MemBuf		obj;
	CodecResult wrote;
	CodecResult res;
	DrError		err;
	bool		hashed = true;
	const uint8 *payload;

	ok(encodeBuf(plain, 300000, 3, &key1, 65536, &obj, &wrote, &err), "encrypted, zstd");
	ok(decodeWith(&obj, &ring, codecDecoderFastVerify, plain, 300000, &hashed, &res, &err) && !hashed,
	   "fast: encrypted zstd object decoded without SHA-256");
	ok(memcmp(res.sha256, wrote.sha256, CODEC_SHA256_SIZE) == 0 &&
	   res.rawSize == 300000, "fast: the result carries the written SHA-256 and size");
	memBufFree(&obj);

	ok(encodeBuf(plain, 300000, 0, &key1, 65536, &obj, &wrote, &err), "encrypted, stored");
	ok(decodeWith(&obj, &ring, codecDecoderFastVerify, plain, 300000, &hashed, &res, &err) && !hashed,
	   "fast: encrypted stored object decoded without SHA-256");
	memBufFree(&obj);

	ok(encodeBuf(plain, 300000, 3, NULL, 65536, &obj, &wrote, &err), "plain, zstd");
	payload = obj.data + CODEC_HEADER_SIZE + 8;	/* chunk head: length, flags */
	ok(payload[0] == 0x28 && payload[1] == 0xB5 && payload[2] == 0x2F &&
	   payload[3] == 0xFD && (payload[4] & 0x04) != 0,
	   "the zstd frame carries a content checksum");
	ok(decodeWith(&obj, NULL, codecDecoderFastVerify, plain, 300000, &hashed, &res, &err) && hashed &&
	   memcmp(res.sha256, wrote.sha256, CODEC_SHA256_SIZE) == 0,
	   "fast: an unencrypted object is hashed all the same");

	/* zstd checks its checksum: the frame's last 4 bytes end the last data chunk */
	{
		ChunkMap	map;

		chunkMap(obj.data, obj.len, false, &map);
		obj.data[map.off[map.n - 2] + map.total[map.n - 2] - 1] ^= 0x10;
		ok(!decodeWith(&obj, NULL, codecDecoderFastVerify, plain, 300000, &hashed, &res, &err) &&
		   err.code == DR_ERR_CORRUPT && strstr(err.message, "checksum") != NULL,
		   "a wrong zstd checksum is caught: %s", err.message);
	}
	memBufFree(&obj);
	pfree(plain);
}

/* ---------------------------------------------------------------------
 * Bindings (format version 2)
 * ---------------------------------------------------------------------
 */

/*
 * Written by the release before bindings (format version 1): the text
 * below, zstd level 3, 64-byte chunks, encrypted with key1, then plain.
 */
static const char v1Text[] = "an object of format version 1, from before bindings\n";
static const uint8 v1Encrypted[] = {
	0x50, 0x47, 0x44, 0x52, 0x4f, 0x42, 0x4a, 0x31, 0x01, 0x00, 0x03, 0x00,
	0x40, 0x00, 0x00, 0x00, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
	0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0x5a, 0x70, 0x4f, 0x7a,
	0x4c, 0xe5, 0x6b, 0x81, 0x98, 0x55, 0x3d, 0x23, 0x44, 0xc3, 0xfa, 0xad,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x9f, 0x2b, 0x3c, 0x14, 0x0b, 0x5b, 0xa1, 0xae, 0x68, 0x84, 0x2e, 0x82,
	0xdf, 0xb6, 0x63, 0xe5, 0xfd, 0x52, 0x79, 0x2b, 0xf3, 0x56, 0x9d, 0x84,
	0x7f, 0xf5, 0xc7, 0xf0, 0x21, 0x78, 0xd3, 0xdf, 0xe2, 0x68, 0x33, 0x60,
	0xf3, 0x31, 0x1d, 0x3f, 0x67, 0x49, 0xad, 0xdd, 0x04, 0x17, 0xd1, 0x68,
	0x28, 0xe4, 0xa8, 0x3d, 0x9a, 0xbe, 0x7a, 0x80, 0xa6, 0xbd, 0x9a, 0x58,
	0xdb, 0x6b, 0xf9, 0x56, 0xc6, 0xb0, 0xb8, 0x2b, 0x6e, 0x91, 0x16, 0x3e,
	0x11, 0x65, 0x16, 0x64, 0xc1, 0x80, 0x51, 0x27, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0xdb, 0x3e, 0x7c, 0x3d, 0x32, 0xd5, 0xed, 0x7c,
	0x01, 0x43, 0xe2, 0xea, 0x04, 0x44, 0x6b, 0x28, 0xe0, 0x28, 0x00, 0x00,
	0x00, 0x01, 0x00, 0x00, 0x00, 0xa0, 0x85, 0x90, 0x2d, 0x90, 0xd9, 0x16,
	0x13, 0x21, 0xcc, 0x1b, 0x81, 0x8a, 0xbc, 0xf7, 0x4e, 0xbc, 0xa8, 0xb5,
	0x02, 0xbe, 0x34, 0x2c, 0xbc, 0x44, 0x1f, 0x7e, 0x34, 0x4f, 0xa5, 0xbe,
	0x67, 0x91, 0xf3, 0x01, 0xbb, 0x25, 0xa3, 0x0a, 0xad, 0xbf, 0x9d, 0x99,
	0xe3, 0xc6, 0x78, 0x36, 0xd1, 0xf0, 0x00, 0x96, 0x97, 0x5d, 0xb0, 0xc6,
	0xb9
};
static const uint8 v1Plain[] = {
	0x50, 0x47, 0x44, 0x52, 0x4f, 0x42, 0x4a, 0x31, 0x01, 0x00, 0x01, 0x00,
	0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x58, 0xa1, 0x01, 0x00, 0x61, 0x6e, 0x20,
	0x6f, 0x62, 0x6a, 0x65, 0x63, 0x74, 0x20, 0x6f, 0x66, 0x20, 0x66, 0x6f,
	0x72, 0x6d, 0x61, 0x74, 0x20, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e,
	0x20, 0x31, 0x2c, 0x20, 0x66, 0x72, 0x6f, 0x6d, 0x20, 0x62, 0x65, 0x66,
	0x6f, 0x72, 0x65, 0x20, 0x62, 0x69, 0x6e, 0x64, 0x69, 0x6e, 0x67, 0x73,
	0x0a, 0x17, 0x63, 0x9c, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x9c, 0x28, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x34, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0xe4, 0xb1, 0x16, 0xdc, 0xe7, 0xfd, 0xf0,
	0xf5, 0xdb, 0xcc, 0xfb, 0xd2, 0x48, 0x40, 0x7d, 0x1b, 0x56, 0x4b, 0x81,
	0x91, 0x0c, 0x51, 0x58, 0x54, 0x92, 0x83, 0x27, 0x37, 0x58, 0xc7, 0xb4,
	0x05
};

/* Open obj, check its binding against name; the decoder is freed. */
static bool
bindingCheck(const uint8 *obj, size_t len, TestKeyring *ring, const char *name,
			 bool *bound, DrError *err)
{
	MemSource	ms;
	CodecDecoder *dec;
	bool		result;

	drErrorClear(err);
	dec = codecDecoderNew(memSource(&ms, obj, len), ring ? testLookup : NULL,
						  ring, err);
	if (dec == NULL)
		return false;
	result = codecDecoderBindingCheck(dec, name, bound, err);
	codecDecoderFree(dec);
	return result;
}

static bool
encodeBound(const char *text, int level, const CodecDataKey *key,
			const char *binding, MemBuf *out, DrError *err)
{
	CodecEncodeParam param = {level, key, 64, binding};
	CodecEncoder *enc;
	CodecResult res;

	memset(out, 0, sizeof(*out));
	enc = codecEncoderNew(&param, memSink(out), err);
	if (enc == NULL)
		return false;
	if (!codecEncoderWrite(enc, text, strlen(text), err))
	{
		codecEncoderFree(enc);
		return false;
	}
	return codecEncoderEnd(enc, &res, err);
}

static void
testBinding(void)
{
	TestKeyring ring = {{&key1}, 1, NULL};
	const char *seg1B = "00000001000000000000001B";
	const char *seg1C = "00000001000000000000001C";
	uint8	   *plain;
	size_t		plainLen;
	bool		bound = true;
	MemBuf		obj;
	MemBuf		pln;
	CodecHeader h;
	DrError		err;
	uint8		other[CODEC_BINDING_SIZE];

	/* objects of the release before bindings */
	ok(decodeAll(v1Encrypted, sizeof(v1Encrypted), &ring, 7, &plain, &plainLen, &err) &&
	   plainLen == strlen(v1Text) && memcmp(plain, v1Text, plainLen) == 0,
	   "a version 1 encrypted object still decodes");
	pfree(plain);
	ok(decodeAll(v1Plain, sizeof(v1Plain), NULL, 4096, &plain, &plainLen, &err) &&
	   plainLen == strlen(v1Text) && memcmp(plain, v1Text, plainLen) == 0,
	   "a version 1 plain object still decodes");
	pfree(plain);
	ok(bindingCheck(v1Encrypted, sizeof(v1Encrypted), &ring, seg1B, &bound, &err) &&
	   !bound, "a version 1 object passes any name's check, as unbound");
	ok(encodeBound(v1Text, 3, NULL, NULL, &pln, &err) &&
	   pln.len == sizeof(v1Plain) && memcmp(pln.data, v1Plain, pln.len) == 0,
	   "an object written without a binding is byte for byte version 1");
	memBufFree(&pln);

	/* bound: version 2, its own name passes, another fails */
	ok(encodeBound(v1Text, 3, &key1, seg1C, &obj, &err) &&
	   codecHeaderParse(obj.data, obj.len, &h, &err) &&
	   h.version == CODEC_VERSION_BOUND && h.bound,
	   "an object bound to a name is version 2");
	ok(decodeAll(obj.data, obj.len, &ring, 5, NULL, NULL, &err),
	   "a bound object decodes");
	ok(bindingCheck(obj.data, obj.len, &ring, seg1C, &bound, &err) && bound,
	   "a bound object passes the check of its own name");
	ok(!bindingCheck(obj.data, obj.len, &ring, seg1B, &bound, &err) &&
	   err.code == DR_ERR_CORRUPT && strstr(err.message, seg1B) != NULL &&
	   strstr(err.message, "bound to another name") != NULL,
	   "renamed: the check of another name fails: %s", err.message);

	/* the binding is authenticated: swapped, or removed, fails */
	ok(codecBindingCompute(seg1B, other, &err), "binding of another name");
	memcpy(obj.data + 48, other, CODEC_BINDING_SIZE);
	ok(bindingCheck(obj.data, obj.len, &ring, seg1B, &bound, &err) &&
	   !decodeAll(obj.data, obj.len, &ring, 5, NULL, NULL, &err) &&
	   err.code == DR_ERR_CORRUPT && strstr(err.message, "authentication") != NULL,
	   "a binding swapped for another name's fails authentication: %s", err.message);
	memset(obj.data + 48, 0, CODEC_BINDING_SIZE);
	obj.data[8] = CODEC_VERSION;
	ok(bindingCheck(obj.data, obj.len, &ring, seg1B, &bound, &err) && !bound &&
	   !decodeAll(obj.data, obj.len, &ring, 5, NULL, NULL, &err) &&
	   err.code == DR_ERR_CORRUPT,
	   "a binding removed (version 1 header) fails authentication: %s", err.message);
	memBufFree(&obj);

	/* plain: bound too, and a version 2 header must carry a binding */
	ok(encodeBound(v1Text, 0, NULL, seg1C, &pln, &err) &&
	   bindingCheck(pln.data, pln.len, NULL, seg1C, &bound, &err) && bound &&
	   !bindingCheck(pln.data, pln.len, NULL, seg1B, &bound, &err) &&
	   err.code == DR_ERR_CORRUPT, "a plain bound object: its name only");
	memset(pln.data + 48, 0, CODEC_BINDING_SIZE);
	ok(!codecHeaderParse(pln.data, pln.len, &h, &err) && err.code == DR_ERR_CORRUPT &&
	   strstr(err.message, "has no binding") != NULL,
	   "a version 2 header without a binding: %s", err.message);
	memBufFree(&pln);
}

/* codecObjectSpan over objects laid end to end, as in a bundle. */
static void
testSpan(void)
{
	struct
	{
		size_t		len;
		const CodecDataKey *key;
		uint32		chunk;
		int			level;
	}			cases[] = {
		{0, NULL, 0, 0}, {1000, &key1, 64, 3}, {5000, NULL, 64, 0},
		{3000, &key1, 0, 0},
	};
	MemBuf		objs[lengthof(cases)];
	uint8	   *all;
	size_t		total = 0;
	size_t		at = 0;
	bool		good = true;
	DrError		err;
	uint64		span;

	for (int i = 0; i < (int) lengthof(cases); i++)
	{
		uint8	   *content = contentMake(CONTENT_RANDOM, cases[i].len);
		CodecResult res;

		drErrorClear(&err);
		if (!encodeBuf(content, cases[i].len, cases[i].level, cases[i].key,
					   cases[i].chunk, &objs[i], &res, &err))
			diag("encode: %s", err.message);
		total += objs[i].len;
	}
	all = palloc(total);
	for (int i = 0; i < (int) lengthof(cases); i++)
	{
		memcpy(all + at, objs[i].data, objs[i].len);
		at += objs[i].len;
	}
	at = 0;
	for (int i = 0; i < (int) lengthof(cases); i++)
	{
		drErrorClear(&err);
		if (!codecObjectSpan(all + at, total - at, &span, &err) ||
			span != objs[i].len)
		{
			diag("object %d: span " UINT64_FORMAT ", length %zu: %s", i, span,
				 objs[i].len, err.message);
			good = false;
		}
		at += objs[i].len;
	}
	ok(good, "codecObjectSpan: each object of a bundle, encrypted or not, one chunk or several, empty");
	drErrorClear(&err);
	ok(!codecObjectSpan(objs[1].data, objs[1].len - 1, &span, &err) &&
	   err.code == DR_ERR_CORRUPT, "an object cut before its last chunk ends is refused");
	drErrorClear(&err);
	ok(!codecObjectSpan(objs[1].data, CODEC_HEADER_SIZE + 4, &span, &err),
	   "one cut inside its first chunk head is refused");
	drErrorClear(&err);
	ok(!codecObjectSpan((const uint8 *) "not an object at all, not at all, not at all, not at all.......", 64,
						&span, &err), "a bad header is refused");
}

int
main(void)
{
	quick = getenv("PGDR_TEST_QUICK") != NULL;

	/* 64 distinct 16-byte words: compressible, but not trivially */
	for (int i = 0; i < 64; i++)
		for (int j = 0; j < 16; j++)
			dictionary[i][j] = (char) ("etaoinshrdlucmfw"[(i * 5 + j * (i % 7 + 1)) % 16]);
	memset(&key1, 0, sizeof(key1));
	for (int i = 0; i < 16; i++)
	{
		key1.id[i] = (uint8) (0xa0 + i);
		key2.id[i] = (uint8) (0xb0 + i);
	}
	for (int i = 0; i < 32; i++)
	{
		key1.key[i] = (uint8) (i * 7 + 1);
		key2.key[i] = (uint8) (i * 13 + 5);
	}
	key1Bad = key1;
	key1Bad.key[31] ^= 1;

	testVectors();
	testNoHash();
	testFastVerify();
	testFormatEncrypted();
	testFormatPlain();
	testRoundTrips();
	testCompressedBoundaries();
	testLarge();
	testLevels();
	testBitFlips("encrypted, stored, 64-byte chunks", 0, &key1, 64);
	testBitFlips("encrypted, zstd 3, 64-byte chunks", 3, &key1, 64);
	testBitFlips("encrypted, zstd 3, one chunk", 3, &key1, 0);
	testBitFlips("plain, stored, 64-byte chunks", 0, NULL, 64);
	testBitFlips("plain, zstd 3, 64-byte chunks", 3, NULL, 64);
	testBitFlips("plain, zstd 3, one chunk", 3, NULL, 0);
	testTruncation("encrypted, zstd 3", 3, &key1);
	testTruncation("encrypted, stored", 0, &key1);
	testTruncation("plain, stored", 0, NULL);
	testTruncation("plain, zstd 3", 3, NULL);
	testReorder();
	testNoUnverifiedOutput();
	testKeys();
	testBinding();
	testHeader();
	testArguments();
	testPlumbingFailures();
	testSpan();

	return tapDone();
}
