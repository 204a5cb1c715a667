/*-------------------------------------------------------------------------
 * test_keys.c
 *	  Unit tests of src/common/keys.c.
 *
 * Covers: keyPassphraseLoad (good file, whitespace trimmed, 32 characters
 * accepted and 31 refused after trimming, too long, zero byte, group or
 * other permission bits refused with the chmod hint, missing file, not a
 * regular file, file named in the message); keyKekDerive against an
 * independent PBKDF2-HMAC-SHA256 (itself checked against RFC 7914 vectors),
 * the KEK id against an independent SHA-256("pg_dr kek id" || KEK), salt
 * and passphrase sensitivity, bad iteration count; keyRandom and
 * keyDataKeyNew; keyWrap layout (nonce || ciphertext || tag, AAD = key id)
 * checked by an independent AES-256-GCM decryption, fresh nonce per wrap,
 * keyUnwrap round trip, wrong KEK, wrong key id and every single-bit flip
 * of a wrapped key refused with DR_ERR_KEY and the documented message.
 * (The hex of key ids is tested in test_hex.c.)
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/hex.h"
#include "common/keys.h"
#include "tap.h"
#include "test_support.h"

static char tmpDir[] = "/tmp/pgdr_test_keys.XXXXXX";

/* Path of a file in tmpDir (static buffer: valid until the next call). */
static char *
tmpPath(const char *name)
{
	static char path[MAXPGPATH];

	snprintf(path, sizeof(path), "%s/%s", tmpDir, name);
	return path;
}

/* Write a file with the given content and mode; returns its path. */
static char *
writeFile(const char *name, const char *content, size_t len, mode_t mode)
{
	char	   *path = tmpPath(name);

	fileWriteLen(path, content, len);
	/* set the mode explicitly: the umask must not decide what we test */
	chmod(path, mode);
	return path;
}

/*
 * Independent PBKDF2-HMAC-SHA256 (RFC 8018 section 5.2) from HMAC alone,
 * any output length.
 */
static void
pbkdf2Sha256(const char *pass, const uint8 *salt, size_t saltLen,
			 uint32 iterations, uint8 *out, size_t outLen)
{
	uint32		block = 1;

	while (outLen > 0)
	{
		uint8		u[32],
					t[32];
		uint8	   *msg = palloc(saltLen + 4);
		unsigned int len = 32;
		size_t		n = Min(outLen, (size_t) 32);

		memcpy(msg, salt, saltLen);
		msg[saltLen] = (uint8) (block >> 24);
		msg[saltLen + 1] = (uint8) (block >> 16);
		msg[saltLen + 2] = (uint8) (block >> 8);
		msg[saltLen + 3] = (uint8) block;
		HMAC(EVP_sha256(), pass, (int) strlen(pass), msg, saltLen + 4, u, &len);
		memcpy(t, u, 32);
		for (uint32 i = 1; i < iterations; i++)
		{
			HMAC(EVP_sha256(), pass, (int) strlen(pass), u, 32, u, &len);
			for (int j = 0; j < 32; j++)
				t[j] ^= u[j];
		}
		memcpy(out, t, n);
		out += n;
		outLen -= n;
		block++;
		pfree(msg);
	}
}

static void
testPassphrase(void)
{
	const char *pass40 = "correct horse battery staple 0123456789";
	char	   *path;
	char	   *got;
	char		buf[2000];
	char		expect[MAXPGPATH + 100];
	DrError		err;

	snprintf(buf, sizeof(buf), "%s\n", pass40);
	path = writeFile("good", buf, strlen(buf), 0600);
	got = keyPassphraseLoad(path, &err);
	is_str(got, pass40, "passphrase read, trailing newline removed");
	pfree(got);

	snprintf(buf, sizeof(buf), " \t%s \r\n\n", pass40);
	path = writeFile("spaces", buf, strlen(buf), 0400);
	got = keyPassphraseLoad(path, &err);
	is_str(got, pass40, "surrounding whitespace removed (mode 0400 accepted)");
	pfree(got);

	path = writeFile("len32", "0123456789abcdef0123456789abcdef\n", 33, 0600);
	got = keyPassphraseLoad(path, &err);
	ok(got != NULL && strlen(got) == 32, "32 characters accepted");
	pfree(got);

	path = writeFile("len31", "  0123456789abcdef0123456789abcde   \n", 37, 0600);
	got = keyPassphraseLoad(path, &err);
	ok(got == NULL && err.code == DR_ERR_KEY, "31 characters (after trimming) refused");
	snprintf(expect, sizeof(expect),
			 "passphrase in file \"%s\" is shorter than 32 characters", path);
	is_str(err.message, expect, "short passphrase message names the file");

	memset(buf, 'k', sizeof(buf));
	path = writeFile("len1024", buf, KEY_PASSPHRASE_MAX, 0600);
	got = keyPassphraseLoad(path, &err);
	ok(got != NULL && strlen(got) == KEY_PASSPHRASE_MAX, "1024 characters accepted");
	pfree(got);
	path = writeFile("len1025", buf, KEY_PASSPHRASE_MAX + 1, 0600);
	got = keyPassphraseLoad(path, &err);
	ok(got == NULL && err.code == DR_ERR_KEY && strstr(err.message, "longer than") != NULL,
	   "1025 characters refused: %s", err.message);
	path = writeFile("huge", buf, sizeof(buf), 0600);
	got = keyPassphraseLoad(path, &err);
	ok(got == NULL && err.code == DR_ERR_KEY, "2000-byte file refused");

	memcpy(buf, "0123456789abcdef\0" "0123456789abcdef", 33);
	path = writeFile("nul", buf, 33, 0600);
	got = keyPassphraseLoad(path, &err);
	ok(got == NULL && err.code == DR_ERR_KEY && strstr(err.message, "zero byte") != NULL,
	   "a zero byte inside is refused (it would silently shorten the passphrase)");

	{
		static const mode_t modes[] = {0640, 0604, 0620, 0602, 0610, 0601, 0660, 0644, 0700 | 0070};
		int			good = 0;

		for (size_t i = 0; i < lengthof(modes); i++)
		{
			path = writeFile("open", pass40, strlen(pass40), modes[i]);
			snprintf(expect, sizeof(expect), "\"%s\"", path);
			got = keyPassphraseLoad(path, &err);
			if (got == NULL && err.code == DR_ERR_PERMISSION &&
				strcmp(err.hint, "Run chmod 600 on it.") == 0 &&
				strstr(err.message, expect) != NULL)
				good++;
			else
				diag("mode %04o: [%s] %s", (unsigned int) modes[i],
					 drErrorCodeName(err.code), err.message);
		}
		is_int(good, lengthof(modes),
			   "every group/other permission bit refused with the chmod hint");
		diag("example: %s (hint: %s)", err.message, err.hint);
	}

	path = tmpPath("missing");
	snprintf(expect, sizeof(expect), "\"%s\"", path);
	got = keyPassphraseLoad(path, &err);
	ok(got == NULL && err.code == DR_ERR_NOT_FOUND && strstr(err.message, expect) != NULL,
	   "missing file: %s", err.message);

	got = keyPassphraseLoad(tmpDir, &err);
	ok(got == NULL && err.code != DR_OK, "a directory is refused: %s", err.message);
}

static void
testKek(void)
{
	uint8		salt[KEY_SALT_SIZE];
	uint8		salt2[KEY_SALT_SIZE];
	uint8		expect[64];
	uint8		got[64];
	uint8		idDigest[32];
	const char *pass = "a repository passphrase of more than 32 chars";
	KeyKek		kek,
				kek2;
	DrError		err;
	EVP_MD_CTX *md;

	/* first the independent PBKDF2 itself, against RFC 7914 section 11 */
	testHexDecode("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
			  "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783",
			  expect);
	pbkdf2Sha256("passwd", (const uint8 *) "salt", 4, 1, got, 64);
	ok(memcmp(got, expect, 64) == 0, "test PBKDF2 matches RFC 7914 (passwd, salt, 1)");
	testHexDecode("4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
			  "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d",
			  expect);
	pbkdf2Sha256("Password", (const uint8 *) "NaCl", 4, 80000, got, 64);
	ok(memcmp(got, expect, 64) == 0, "test PBKDF2 matches RFC 7914 (Password, NaCl, 80000)");

	for (int i = 0; i < KEY_SALT_SIZE; i++)
		salt[i] = (uint8) (i * 17 + 3);
	ok(keyKekDerive(pass, salt, 2000, &kek, &err), "keyKekDerive succeeds");
	pbkdf2Sha256(pass, salt, KEY_SALT_SIZE, 2000, expect, 32);
	ok(memcmp(kek.key, expect, 32) == 0,
	   "KEK = PBKDF2-HMAC-SHA256(passphrase, salt, iterations), 32 bytes");

	md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	EVP_DigestUpdate(md, "pg_dr kek id", 12);
	EVP_DigestUpdate(md, kek.key, 32);
	EVP_DigestFinal_ex(md, idDigest, NULL);
	EVP_MD_CTX_free(md);
	ok(memcmp(kek.id, idDigest, KEY_KEK_ID_SIZE) == 0,
	   "KEK id = first 8 bytes of SHA-256(\"pg_dr kek id\" || KEK)");
	ok(memcmp(kek.id, kek.key, KEY_KEK_ID_SIZE) != 0, "KEK id is not a prefix of the KEK");

	ok(keyKekDerive(pass, salt, KEY_KDF_ITERATIONS_DEFAULT, &kek2, &err) &&
	   memcmp(kek2.key, kek.key, 32) != 0, "iteration count changes the KEK");
	keyKekDerive(pass, salt, 2000, &kek2, &err);
	ok(memcmp(&kek, &kek2, sizeof(kek)) == 0, "derivation is deterministic");
	memcpy(salt2, salt, sizeof(salt));
	salt2[15] ^= 1;
	keyKekDerive(pass, salt2, 2000, &kek2, &err);
	ok(memcmp(kek2.key, kek.key, 32) != 0 && memcmp(kek2.id, kek.id, 8) != 0,
	   "another salt gives another KEK and id");
	keyKekDerive("a repository passphrase of more than 32 chars.", salt, 2000, &kek2, &err);
	ok(memcmp(kek2.key, kek.key, 32) != 0, "another passphrase gives another KEK");
	ok(!keyKekDerive(pass, salt, 0, &kek2, &err) && err.code == DR_ERR_INVALID,
	   "iteration count 0 refused");
}

static void
testRandomAndDataKeys(void)
{
	uint8		a[64],
				b[64],
				zero[64] = {0};
	uint8	   *big = palloc0(1024 * 1024);
	CodecDataKey k1,
				k2;
	DrError		err;
	int			zeros = 0;

	ok(keyRandom(a, sizeof(a), &err) && keyRandom(b, sizeof(b), &err) &&
	   memcmp(a, b, sizeof(a)) != 0 && memcmp(a, zero, sizeof(a)) != 0,
	   "keyRandom gives different, non-zero bytes");
	ok(keyRandom(a, 0, &err), "keyRandom of nothing is fine");
	keyRandom(big, 1024 * 1024, &err);
	for (int i = 0; i < 1024 * 1024; i++)
		zeros += big[i] == 0;
	/* expected 4096 zero bytes, standard deviation about 64 */
	ok(zeros > 3500 && zeros < 4700, "1 MiB of keyRandom looks uniform (%d zero bytes)", zeros);
	pfree(big);

	ok(keyDataKeyNew(&k1, &err) && keyDataKeyNew(&k2, &err), "keyDataKeyNew succeeds");
	ok(memcmp(k1.id, zero, 16) != 0 && memcmp(k1.key, zero, 32) != 0,
	   "data key id and key are set");
	ok(memcmp(k1.id, k2.id, 16) != 0 && memcmp(k1.key, k2.key, 32) != 0,
	   "two data keys differ");
}

static void
testWrap(void)
{
	uint8		salt[KEY_SALT_SIZE] = {1, 2, 3};
	KeyKek		kek,
				kek2;
	CodecDataKey dk,
				back;
	uint8		w1[KEY_WRAPPED_SIZE],
				w2[KEY_WRAPPED_SIZE],
				copy[KEY_WRAPPED_SIZE];
	uint8		plain[32 + 16];
	uint8		otherId[16];
	char		hex[33];
	char		expectMsg[200];
	DrError		err;
	EVP_CIPHER_CTX *ctx;
	int			n;
	bool		indep;
	int			refused = 0;

	keyKekDerive("the first passphrase, long enough to pass", salt, 1000, &kek, &err);
	keyKekDerive("the second passphrase, long enough to pass", salt, 1000, &kek2, &err);
	keyDataKeyNew(&dk, &err);

	ok(keyWrap(&kek, &dk, w1, &err) && keyWrap(&kek, &dk, w2, &err), "keyWrap succeeds");
	ok(memcmp(w1, w2, 12) != 0 && memcmp(w1 + 12, w2 + 12, 48) != 0,
	   "two wraps of one key use fresh nonces and differ");
	ok(memcmp(w1 + 12, dk.key, 32) != 0, "the wrapped key is not the key");

	/* layout: nonce(12) || ciphertext(32) || tag(16), AAD = key id */
	ctx = EVP_CIPHER_CTX_new();
	indep = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, kek.key, w1) == 1 &&
		EVP_DecryptUpdate(ctx, NULL, &n, dk.id, 16) == 1 &&
		EVP_DecryptUpdate(ctx, plain, &n, w1 + 12, 32) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, w1 + 44) == 1 &&
		EVP_DecryptFinal_ex(ctx, plain + 32, &n) == 1;
	EVP_CIPHER_CTX_free(ctx);
	ok(indep && memcmp(plain, dk.key, 32) == 0,
	   "an independent AES-256-GCM decryption (AAD = key id) recovers the key");

	ok(keyUnwrap(&kek, dk.id, w1, &back, &err) &&
	   memcmp(back.id, dk.id, 16) == 0 && memcmp(back.key, dk.key, 32) == 0,
	   "keyUnwrap recovers id and key");

	hexEncode(dk.id, 16, HEX_LOWER, hex);
	snprintf(expectMsg, sizeof(expectMsg),
			 "data key %s could not be unwrapped: wrong repository key or damaged key file",
			 hex);
	memset(&back, 0, sizeof(back));
	ok(!keyUnwrap(&kek2, dk.id, w1, &back, &err) && err.code == DR_ERR_KEY,
	   "wrong KEK refused with DR_ERR_KEY");
	is_str(err.message, expectMsg, "wrong KEK message");
	ok(memcmp(back.key, (uint8[32]) {0}, 32) == 0, "nothing written to the key on failure");

	memcpy(otherId, dk.id, 16);
	otherId[0] ^= 0x40;
	ok(!keyUnwrap(&kek, otherId, w1, &back, &err) && err.code == DR_ERR_KEY,
	   "a wrapped key presented under another id is refused (id is authenticated)");

	for (int b = 0; b < KEY_WRAPPED_SIZE * 8; b++)
	{
		memcpy(copy, w1, sizeof(copy));
		copy[b / 8] ^= (uint8) (1 << (b % 8));
		if (!keyUnwrap(&kek, dk.id, copy, &back, &err) && err.code == DR_ERR_KEY &&
			strcmp(err.message, expectMsg) == 0)
			refused++;
	}
	is_int(refused, KEY_WRAPPED_SIZE * 8,
		   "every single-bit flip of a wrapped key is refused as damaged");
}

int
main(void)
{
	testTmpRootMake(tmpDir);

	testPassphrase();
	testKek();
	testRandomAndDataKeys();
	testWrap();

	testTreeRemove(tmpDir);
	return tapDone();
}
