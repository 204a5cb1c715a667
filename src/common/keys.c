/*-------------------------------------------------------------------------
 * keys.c
 *	  The repository passphrase, the KEK derived from it, and the wrapping
 *	  of random data keys (keys.h describes the envelope scheme).
 *
 * Secrets pass through here in plain form, so every buffer that held one
 * is wiped before it is released, on error paths too.  The passphrase file
 * is checked through the descriptor we read it from (fstat, not stat), so
 * the file whose permissions were checked is the file whose bytes we use.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/hex.h"
#include "common/keys.h"
#include "common/owner.h"

#define KEY_WRAP_NONCE_SIZE		12
#define KEY_WRAP_TAG_SIZE		16
#define KEY_KEK_ID_LABEL		"pg_dr kek id"

StaticAssertDecl(KEY_WRAPPED_SIZE ==
				 KEY_WRAP_NONCE_SIZE + CODEC_KEY_SIZE + KEY_WRAP_TAG_SIZE,
				 "wrapped key layout");

/* DR_ERR_INTERNAL with OpenSSL's reason; clears its error queue. */
static bool
keyOpensslError(DrError *err, const char *what)
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

static bool
keyIsSpace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		c == '\f' || c == '\v';
}

/*
 * Read the whole file into buf (at most cap bytes; *len gets the count).
 * Returns false with err set on a read error or when the file is larger
 * than cap.
 */
static bool
keyFileRead(int fd, const char *path, char *buf, size_t cap, size_t *len,
			DrError *err)
{
	size_t		done = 0;

	for (;;)
	{
		ssize_t		n = read(fd, buf + done, cap - done);

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			return drErrorSet(err, DR_ERR_IO,
							  "could not read passphrase file \"%s\": %m", path);
		}
		if (n == 0)
			break;
		done += (size_t) n;
		if (done == cap)
			return drErrorSet(err, DR_ERR_KEY,
							  "passphrase file \"%s\" is longer than %d characters",
							  path, KEY_PASSPHRASE_MAX);
	}
	*len = done;
	return true;
}

/* Check what fstat says about the opened passphrase file. */
static bool
keyFileCheck(int fd, const char *path, DrError *err)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return drErrorSet(err, DR_ERR_IO,
						  "could not stat passphrase file \"%s\": %m", path);
	if (!S_ISREG(st.st_mode))
		return drErrorSet(err, DR_ERR_KEY,
						  "passphrase file \"%s\" is not a regular file", path);
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
	{
		drErrorSet(err, DR_ERR_PERMISSION,
				   "passphrase file \"%s\" is accessible by group or others (mode %04o)",
				   path, (unsigned int) (st.st_mode & 07777));
		drErrorHint(err, "run chmod 600 on it");
		return false;
	}
	return true;
}

char *
keyPassphraseLoad(const char *path, DrError *err)
{
	/* slack for surrounding whitespace, and to tell "too long" apart */
	char		buf[KEY_PASSPHRASE_MAX + 64];
	size_t		len = 0;
	size_t		start;
	char	   *result = NULL;
	int			fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
	{
		DrErrorCode code = errno == ENOENT ? DR_ERR_NOT_FOUND :
			errno == EACCES ? DR_ERR_PERMISSION : DR_ERR_IO;

		drErrorSet(err, code, "could not open passphrase file \"%s\": %m", path);
		ownerAccessDetail(err, path, errno);
		return NULL;
	}
	if (!keyFileCheck(fd, path, err) ||
		!keyFileRead(fd, path, buf, sizeof(buf), &len, err))
		goto done;

	/* trailing newline and surrounding whitespace are not part of it */
	while (len > 0 && keyIsSpace(buf[len - 1]))
		len--;
	for (start = 0; start < len && keyIsSpace(buf[start]); start++)
		;
	len -= start;

	if (memchr(buf + start, '\0', len) != NULL)
		drErrorSet(err, DR_ERR_KEY,
				   "passphrase file \"%s\" contains a zero byte", path);
	else if (len < KEY_PASSPHRASE_MIN)
		drErrorSet(err, DR_ERR_KEY,
				   "passphrase in file \"%s\" is shorter than %d characters",
				   path, KEY_PASSPHRASE_MIN);
	else if (len > KEY_PASSPHRASE_MAX)
		drErrorSet(err, DR_ERR_KEY,
				   "passphrase file \"%s\" is longer than %d characters",
				   path, KEY_PASSPHRASE_MAX);
	else
	{
		result = palloc(len + 1);
		memcpy(result, buf + start, len);
		result[len] = '\0';
	}

done:
	close(fd);
	OPENSSL_cleanse(buf, sizeof(buf));
	return result;
}

bool
keyKekDerive(const char *passphrase, const uint8 *salt, uint32 iterations,
			 KeyKek *kek, DrError *err)
{
	EVP_MD_CTX *md;
	uint8		digest[EVP_MAX_MD_SIZE];
	unsigned int digestLen = 0;
	size_t		passLen = strlen(passphrase);
	bool		ok;

	if (iterations == 0 || iterations > INT_MAX)
		return drErrorSet(err, DR_ERR_INVALID,
						  "key derivation iteration count %u is out of range",
						  iterations);
	if (passLen > INT_MAX)
		return drErrorSet(err, DR_ERR_INVALID, "passphrase is too long");

	if (PKCS5_PBKDF2_HMAC(passphrase, (int) passLen, salt, KEY_SALT_SIZE,
						  (int) iterations, EVP_sha256(), CODEC_KEY_SIZE,
						  kek->key) != 1)
		return keyOpensslError(err, "PBKDF2-HMAC-SHA256");

	/*
	 * The id is a one-way function of the KEK under its own label: it names
	 * the KEK generation in file names without helping anyone who sees it.
	 */
	md = EVP_MD_CTX_new();
	ok = md != NULL &&
		EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
		EVP_DigestUpdate(md, KEY_KEK_ID_LABEL, strlen(KEY_KEK_ID_LABEL)) == 1 &&
		EVP_DigestUpdate(md, kek->key, CODEC_KEY_SIZE) == 1 &&
		EVP_DigestFinal_ex(md, digest, &digestLen) == 1;
	EVP_MD_CTX_free(md);
	if (!ok)
	{
		OPENSSL_cleanse(kek->key, CODEC_KEY_SIZE);
		return keyOpensslError(err, "SHA-256 of the KEK");
	}
	memcpy(kek->id, digest, KEY_KEK_ID_SIZE);
	return true;
}

bool
keyRandom(void *buf, size_t len, DrError *err)
{
	uint8	   *p = buf;

	/* RAND_bytes takes an int length */
	while (len > 0)
	{
		int			n = (int) Min(len, (size_t) INT_MAX);

		if (RAND_bytes(p, n) != 1)
			return keyOpensslError(err, "RAND_bytes");
		p += n;
		len -= n;
	}
	return true;
}

bool
keyDataKeyNew(CodecDataKey *key, DrError *err)
{
	static const uint8 zeroId[CODEC_KEY_ID_SIZE];

	/* an all-zero id means "not encrypted" in object headers */
	do
	{
		if (!keyRandom(key->id, CODEC_KEY_ID_SIZE, err))
			return false;
	} while (memcmp(key->id, zeroId, CODEC_KEY_ID_SIZE) == 0);
	return keyRandom(key->key, CODEC_KEY_SIZE, err);
}

bool
keyWrap(const KeyKek *kek, const CodecDataKey *key, uint8 *out, DrError *err)
{
	EVP_CIPHER_CTX *ctx;
	uint8	   *nonce = out;
	uint8	   *ct = out + KEY_WRAP_NONCE_SIZE;
	uint8	   *tag = ct + CODEC_KEY_SIZE;
	int			n;
	bool		ok;

	/* a random nonce is safe here: a KEK wraps few keys, far from 2^32 */
	if (!keyRandom(nonce, KEY_WRAP_NONCE_SIZE, err))
		return false;

	ctx = EVP_CIPHER_CTX_new();
	ok = ctx != NULL &&
		EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, kek->key, nonce) == 1 &&
		EVP_EncryptUpdate(ctx, NULL, &n, key->id, CODEC_KEY_ID_SIZE) == 1 &&
		EVP_EncryptUpdate(ctx, ct, &n, key->key, CODEC_KEY_SIZE) == 1 &&
		EVP_EncryptFinal_ex(ctx, ct + CODEC_KEY_SIZE, &n) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, KEY_WRAP_TAG_SIZE,
							tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok)
		return keyOpensslError(err, "AES-256-GCM key wrap");
	return true;
}

bool
keyUnwrap(const KeyKek *kek, const uint8 *keyId, const uint8 *in,
		  CodecDataKey *key, DrError *err)
{
	EVP_CIPHER_CTX *ctx;
	const uint8 *nonce = in;
	const uint8 *ct = in + KEY_WRAP_NONCE_SIZE;
	uint8		tag[KEY_WRAP_TAG_SIZE];
	uint8		plain[CODEC_KEY_SIZE];
	int			n;
	bool		setup;
	bool		verified = false;

	memcpy(tag, ct + CODEC_KEY_SIZE, KEY_WRAP_TAG_SIZE);
	ctx = EVP_CIPHER_CTX_new();
	setup = ctx != NULL &&
		EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, kek->key, nonce) == 1 &&
		EVP_DecryptUpdate(ctx, NULL, &n, keyId, CODEC_KEY_ID_SIZE) == 1 &&
		EVP_DecryptUpdate(ctx, plain, &n, ct, CODEC_KEY_SIZE) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, KEY_WRAP_TAG_SIZE,
							tag) == 1;
	if (setup)
		verified = EVP_DecryptFinal_ex(ctx, plain + CODEC_KEY_SIZE, &n) == 1;
	EVP_CIPHER_CTX_free(ctx);

	if (!setup)
	{
		OPENSSL_cleanse(plain, sizeof(plain));
		return keyOpensslError(err, "AES-256-GCM key unwrap");
	}
	if (!verified)
	{
		char		hex[2 * CODEC_KEY_ID_SIZE + 1];

		/* wrong KEK and a damaged file look the same to GCM */
		ERR_clear_error();
		OPENSSL_cleanse(plain, sizeof(plain));
		hexEncode(keyId, CODEC_KEY_ID_SIZE, HEX_LOWER, hex);
		return drErrorSet(err, DR_ERR_KEY,
						  "data key %s could not be unwrapped: wrong repository key or damaged key file",
						  hex);
	}
	memcpy(key->id, keyId, CODEC_KEY_ID_SIZE);
	memcpy(key->key, plain, CODEC_KEY_SIZE);
	OPENSSL_cleanse(plain, sizeof(plain));
	return true;
}
