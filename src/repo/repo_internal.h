/*-------------------------------------------------------------------------
 * repo_internal.h
 *	  Internal to the repository module (src/repo): the Repo handle and the
 *	  helpers its files share.  Everyone else uses repo.h.
 *
 *	 repo.c         create, open, close, accessors
 *	 repo_info.c    the info file (pg_dr.repo): text format and parsing
 *	 repo_keys.c    the keyring: data keys, their cache, key rotation
 *	 repo_object.c  encoded objects (codec over storage)
 *-------------------------------------------------------------------------
 */
#ifndef DR_REPO_INTERNAL_H
#define DR_REPO_INTERNAL_H

#include "repo/repo.h"

/* Largest info file read: a few hundred bytes in practice. */
#define REPO_INFO_MAX			(64 * 1024)

/* The only key derivation function, as named in the info file. */
#define REPO_KDF_NAME			"pbkdf2-sha256"

/* "keys/<32 hex>.<16 hex>" plus the terminator. */
#define REPO_KEY_PATH_SIZE \
	(sizeof(REPO_KEYS_DIR) + 2 * CODEC_KEY_ID_SIZE + 1 + 2 * KEY_KEK_ID_SIZE + 1)

struct Repo
{
	ConfigRepo	config;			/* a copy (configRepoCopy) */
	Storage    *storage;
	RepoInfo	info;

	/* the KEK of info.kekId; only when info.cipher is aes-256-gcm */
	KeyKek		kek;
	bool		layoutOnly;		/* repoOpenLayout: no KEK, no data key */

	/*
	 * Data keys unwrapped so far.  Entries are allocated one by one so that
	 * the pointers handed out stay valid until repoClose; the cache holds
	 * the keys a process actually used, a few per backup.
	 */
	CodecDataKey **keys;
	int			keyCount;
	int			keyMax;
};

/* repo.c */

/*
 * Load the passphrase in keyFile and derive the KEK with salt and
 * iterations (errors of keyPassphraseLoad and keyKekDerive).
 */
extern bool repoKekDerive(const char *keyFile, const uint8 *salt,
						  uint32 iterations, KeyKek *kek, DrError *err);

/* repo.c: read and parse the info file of config's repository */
extern bool repoInfoLoad(Storage *storage, const ConfigRepo *config,
						 RepoInfo *info, DrError *err);

/* repo_info.c */

/* The info file's text for info, palloc'd. */
extern char *repoInfoFormat(const RepoInfo *info);

/*
 * Parse and check info file text (DR_ERR_CORRUPT, naming the file
 * "where", for anything wrong).  Fills *info; info->created is palloc'd.
 */
extern bool repoInfoParse(const char *text, size_t len, const char *where,
						  RepoInfo *info, DrError *err);

/* The current time as ISO 8601 UTC ("2024-05-01T12:00:00Z"), palloc'd. */
extern char *repoInfoNow(void);

/* repo_keys.c */

/* Wipe and free the data key cache. */
extern void repoKeyCacheFree(Repo *repo);

#endif							/* DR_REPO_INTERNAL_H */
