/*-------------------------------------------------------------------------
 * keys.h
 *	  Key handling: the repository passphrase, the key-encryption key (KEK)
 *	  derived from it, and random data keys wrapped by the KEK.
 *
 * Envelope encryption.  The passphrase (a file named by repoN_cipher_key_file,
 * at least 32 characters, not readable by group or others) never encrypts
 * data: PBKDF2-HMAC-SHA256 with a per-repository salt turns it into the KEK.
 * Data is encrypted with random data keys (one per backup, one per WAL
 * stream); each data key is stored wrapped (AES-256-GCM under the KEK, key
 * id as AAD).  Rotating the passphrase re-wraps the data keys and leaves
 * every data object as it is.
 *-------------------------------------------------------------------------
 */
#ifndef DR_KEYS_H
#define DR_KEYS_H

#include "common/codec.h"
#include "common/error.h"

#define KEY_PASSPHRASE_MIN		32
#define KEY_PASSPHRASE_MAX		1024
#define KEY_SALT_SIZE			16
#define KEY_KDF_ITERATIONS_DEFAULT	100000
/* below this a stolen info file makes guessing the passphrase cheap */
#define KEY_KDF_ITERATIONS_MIN	1000
#define KEY_KEK_ID_SIZE			8
/* wrapped data key: nonce(12) + ciphertext(32) + tag(16) */
#define KEY_WRAPPED_SIZE		(12 + CODEC_KEY_SIZE + 16)

typedef struct KeyKek
{
	uint8		key[CODEC_KEY_SIZE];
	uint8		id[KEY_KEK_ID_SIZE];	/* derived from the KEK, names the
										 * generation of wrapped keys */
} KeyKek;

/*
 * Read the passphrase file: refuses a file readable or writable by group or
 * others (DR_ERR_PERMISSION, with a hint to chmod 600), shorter than
 * KEY_PASSPHRASE_MIN (DR_ERR_KEY), or unreadable.  Trailing newline and
 * surrounding whitespace are removed.  The result is palloc'd.
 */
extern char *keyPassphraseLoad(const char *path, DrError *err);

/* Derive the KEK from passphrase and salt (PBKDF2-HMAC-SHA256). */
extern bool keyKekDerive(const char *passphrase, const uint8 *salt,
						 uint32 iterations, KeyKek *kek, DrError *err);

/* Fill buf with cryptographically strong random bytes. */
extern bool keyRandom(void *buf, size_t len, DrError *err);

/* A new random data key with a random id. */
extern bool keyDataKeyNew(CodecDataKey *key, DrError *err);

/* Wrap/unwrap a data key under the KEK (out is KEY_WRAPPED_SIZE bytes). */
extern bool keyWrap(const KeyKek *kek, const CodecDataKey *key, uint8 *out,
					DrError *err);
extern bool keyUnwrap(const KeyKek *kek, const uint8 *keyId, const uint8 *in,
					  CodecDataKey *key, DrError *err);

#endif							/* DR_KEYS_H */
