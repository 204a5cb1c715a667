/*-------------------------------------------------------------------------
 * repo.c
 *	  Creating and opening a repository (see repo.h): the info file is
 *	  written once, and every open checks the passphrase against it before
 *	  anything else can touch the repository.
 *
 * The passphrase is held only as long as it takes to derive the KEK, and
 * wiped; the KEK is wiped on repoClose.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <sys/stat.h>

#include "repo/repo_internal.h"

/* The passphrase never outlives this function. */
bool
repoKekDerive(const char *keyFile, const uint8 *salt, uint32 iterations,
			  KeyKek *kek, DrError *err)
{
	char	   *passphrase;
	bool		result;

	if (keyFile == NULL)
	{
		drErrorSet(err, DR_ERR_CONFIG, "no passphrase file is configured");
		drErrorHint(err, "set repoN_cipher_key_file");
		return false;
	}
	passphrase = keyPassphraseLoad(keyFile, err);
	if (passphrase == NULL)
		return false;
	result = keyKekDerive(passphrase, salt, iterations, kek, err);
	explicit_bzero(passphrase, strlen(passphrase));
	pfree(passphrase);
	return result;
}

/* Callback of repoCreate's emptiness check: stops at the first entry. */
static bool
repoCreateEmptyCheck(void *arg, const StorageInfo *info, DrError *err)
{
	/* the root of a mounted file system has one; it is not data */
	if (info->isDir && strcmp(info->name, "lost+found") == 0)
		return true;
	*(bool *) arg = true;
	return drErrorSet(err, DR_ERR_INVALID,
					  "repository directory is not empty: it contains \"%s\"",
					  info->name);
}

bool
repoCreate(const ConfigRepo *config, uint32 kdfIterations, DrError *err)
{
	Storage    *storage;
	RepoInfo	info;
	StorageWriteParam param = {.replace = false};
	bool		notEmpty = false;
	bool		exists;
	char	   *text = NULL;
	bool		result = false;

	memset(&info, 0, sizeof(info));
	if (kdfIterations != 0 && kdfIterations < KEY_KDF_ITERATIONS_MIN)
	{
		drErrorSet(err, DR_ERR_INVALID,
				   "%u KDF iterations are too few: at least %d are needed",
				   kdfIterations, KEY_KDF_ITERATIONS_MIN);
		drErrorHint(err, "Leave the count out to use the default (%d).",
					KEY_KDF_ITERATIONS_DEFAULT);
		return false;
	}
	storage = storageOpen(config, err);
	if (storage == NULL)
		return false;

	if (!storageExists(storage, REPO_INFO_FILE, &exists, err))
		goto done;
	if (exists)
	{
		drErrorSet(err, DR_ERR_EXISTS,
				   "repository \"%s\" already exists", config->path);
		drErrorHint(err, "the repository is already initialized (\"%s/%s\" exists); it is left as it is",
					config->path, REPO_INFO_FILE);
		goto done;
	}

	/*
	 * Refuse a directory holding something else: keys or backups without
	 * an info file are a damaged repository, and a new info file with a new
	 * key would make them unreadable for good.
	 */
	if (!storageList(storage, "", repoCreateEmptyCheck, &notEmpty, err))
	{
		if (notEmpty)
		{
			drErrorPrefix(err, "could not create repository \"%s\": ",
						  config->path);
			drErrorHint(err, "repo-create initializes an empty directory (or one that does not exist yet)");
		}
		goto done;
	}

	info.format = REPO_FORMAT;
	info.cipher = config->cipher;
	info.created = repoInfoNow();
	if (!keyRandom(info.id, REPO_ID_SIZE, err))
		goto done;
	info.hasId = true;
	if (info.cipher == CONFIG_CIPHER_AES256GCM)
	{
		KeyKek		kek;

		info.kdfIterations = kdfIterations ? kdfIterations :
			KEY_KDF_ITERATIONS_DEFAULT;
		if (!keyRandom(info.kdfSalt, KEY_SALT_SIZE, err) ||
			!repoKekDerive(config->cipherKeyFile, info.kdfSalt,
						   info.kdfIterations, &kek, err))
			goto done;
		memcpy(info.kekId, kek.id, KEY_KEK_ID_SIZE);
		explicit_bzero(&kek, sizeof(kek));
	}

	/* no replace: of two racing repo-creates, exactly one wins */
	text = repoInfoFormat(&info);
	if (!storagePut(storage, REPO_INFO_FILE, text, strlen(text), &param, err))
	{
		if (err && err->code == DR_ERR_EXISTS)
			drErrorHint(err, "the repository is already initialized");
		goto done;
	}
	result = true;

done:
	if (text)
		pfree(text);
	if (info.created)
		pfree(info.created);
	storageFree(storage);
	return result;
}

void
repoClose(Repo *repo)
{
	if (repo == NULL)
		return;
	repoKeyCacheFree(repo);
	explicit_bzero(&repo->kek, sizeof(repo->kek));
	if (repo->info.created)
		pfree(repo->info.created);
	if (repo->storage)
		storageFree(repo->storage);
	configRepoClear(&repo->config);
	pfree(repo);
}

/* Read and parse the info file of config's repository from storage. */
bool
repoInfoLoad(Storage *storage, const ConfigRepo *config, RepoInfo *info,
			 DrError *err)
{
	char	   *text;
	char	   *where;
	size_t		len;
	bool		parsed;

	where = psprintf("%s/%s", config->path, REPO_INFO_FILE);
	text = storageGet(storage, REPO_INFO_FILE, &len, REPO_INFO_MAX, err);
	if (text == NULL)
	{
		if (err && err->code == DR_ERR_NOT_FOUND)
		{
			drErrorSet(err, DR_ERR_NOT_FOUND,
					   "repository \"%s\" is not initialized: \"%s\" does not exist",
					   config->path, where);
			drErrorHint(err, "Create it with \"pg_dr repo-create\" or SELECT dr_repository_create().");
		}
		else if (err && err->code == DR_ERR_INVALID)
			drErrorSet(err, DR_ERR_CORRUPT,
					   "repository info file \"%s\" is corrupt: larger than %d bytes",
					   where, REPO_INFO_MAX);
		pfree(where);
		return false;
	}
	parsed = repoInfoParse(text, len, where, info, err);
	pfree(text);
	pfree(where);
	return parsed;
}

bool
repoInfoRead(const ConfigRepo *config, RepoInfo *info, DrError *err)
{
	Storage    *storage = storageOpen(config, err);
	bool		ok;

	memset(info, 0, sizeof(*info));
	if (storage == NULL)
		return false;
	ok = repoInfoLoad(storage, config, info, err);
	storageFree(storage);
	return ok;
}

/* repoOpen, or with layoutOnly repoOpenLayout */
static Repo *
repoOpenInternal(const ConfigRepo *config, bool layoutOnly, DrError *err)
{
	Repo	   *repo = palloc0(sizeof(Repo));

	configRepoCopy(&repo->config, config);

	repo->storage = storageOpen(config, err);
	if (repo->storage == NULL)
		goto fail;

	if (!repoInfoLoad(repo->storage, config, &repo->info, err))
		goto fail;

	/*
	 * Either mismatch is a configuration mistake that must not be papered
	 * over: an encrypted repository cannot be read without its key, and a
	 * user who configured encryption must not get plain text silently.
	 */
	if (repo->info.cipher != config->cipher)
	{
		if (repo->info.cipher == CONFIG_CIPHER_AES256GCM)
		{
			drErrorSet(err, DR_ERR_CONFIG,
					   "repository \"%s\" is encrypted but repo%d_cipher_type is none",
					   config->path, config->index);
			drErrorHint(err, "set repo%d_cipher_type = aes-256-gcm and repo%d_cipher_key_file",
						config->index, config->index);
		}
		else
		{
			drErrorSet(err, DR_ERR_CONFIG,
					   "repository \"%s\" is not encrypted but repo%d_cipher_type is aes-256-gcm",
					   config->path, config->index);
			drErrorHint(err, "an unencrypted repository stays unencrypted; set repo%d_cipher_type = none or create a new repository",
						config->index);
		}
		goto fail;
	}

	repo->layoutOnly = layoutOnly;
	if (repo->info.cipher == CONFIG_CIPHER_AES256GCM && !layoutOnly)
	{
		if (!repoKekDerive(config->cipherKeyFile, repo->info.kdfSalt,
						   repo->info.kdfIterations, &repo->kek, err))
			goto fail;
		if (memcmp(repo->kek.id, repo->info.kekId, KEY_KEK_ID_SIZE) != 0)
		{
			drErrorSet(err, DR_ERR_KEY,
					   "repository key does not match the repository \"%s\"",
					   config->path);
			drErrorHint(err, "the passphrase in \"%s\" is not the one the repository was created or last rotated with",
						config->cipherKeyFile);
			goto fail;
		}
	}
	return repo;

fail:
	repoClose(repo);
	return NULL;
}

Repo *
repoOpen(const ConfigRepo *config, DrError *err)
{
	return repoOpenInternal(config, false, err);
}

Repo *
repoOpenLayout(const ConfigRepo *config, DrError *err)
{
	return repoOpenInternal(config, true, err);
}

/*
 * The passphrase checks that matched (repoKeyCheck), a few, the oldest
 * replaced first.  What identifies a check: the key file's path and
 * identity, and the repository's KDF parameters and KEK id; a rotation
 * changes the KEK id, a new passphrase file changes its times.
 */
#define REPO_KEY_CHECKS		8

typedef struct RepoKeyCheckEntry
{
	bool		used;
	char		path[1024];
	dev_t		dev;
	ino_t		ino;
	off_t		size;
	struct timespec mtime;
	struct timespec ctime;
	uint8		salt[KEY_SALT_SIZE];
	uint32		iterations;
	uint8		kekId[KEY_KEK_ID_SIZE];
} RepoKeyCheckEntry;

static RepoKeyCheckEntry repoKeyChecks[REPO_KEY_CHECKS];
static int	repoKeyCheckNext = 0;
static uint64 repoKeyCheckDerivedCount = 0;

uint64
repoKeyCheckDerived(void)
{
	return repoKeyCheckDerivedCount;
}

/* The entry a check of keyFile (stat st) against info would be. */
static void
repoKeyCheckEntryMake(RepoKeyCheckEntry *e, const char *keyFile,
					  const struct stat *st, const RepoInfo *info)
{
	memset(e, 0, sizeof(*e));
	e->used = true;
	strlcpy(e->path, keyFile, sizeof(e->path));
	e->dev = st->st_dev;
	e->ino = st->st_ino;
	e->size = st->st_size;
	e->mtime = st->st_mtim;
	e->ctime = st->st_ctim;
	memcpy(e->salt, info->kdfSalt, KEY_SALT_SIZE);
	e->iterations = info->kdfIterations;
	memcpy(e->kekId, info->kekId, KEY_KEK_ID_SIZE);
}

bool
repoKeyCheck(const ConfigRepo *config, DrError *err)
{
	Repo	   *repo;
	Repo	   *full;
	RepoKeyCheckEntry want;
	struct stat st;
	bool		statOk;

	repo = repoOpenLayout(config, err);
	if (repo == NULL)
		return false;
	if (repo->info.cipher != CONFIG_CIPHER_AES256GCM)
	{
		repoClose(repo);
		return true;			/* no key to check */
	}
	statOk = config->cipherKeyFile != NULL &&
		strlen(config->cipherKeyFile) < sizeof(want.path) &&
		stat(config->cipherKeyFile, &st) == 0;
	if (statOk)
	{
		repoKeyCheckEntryMake(&want, config->cipherKeyFile, &st, &repo->info);
		for (int i = 0; i < REPO_KEY_CHECKS; i++)
			if (repoKeyChecks[i].used &&
				memcmp(&repoKeyChecks[i], &want, sizeof(want)) == 0)
			{
				repoClose(repo);
				return true;
			}
	}
	repoClose(repo);

	/* not remembered: the whole check, as repoOpen makes it */
	repoKeyCheckDerivedCount++;
	full = repoOpen(config, err);
	if (full == NULL)
		return false;
	if (statOk && memcmp(full->info.kekId, want.kekId, KEY_KEK_ID_SIZE) == 0 &&
		full->info.kdfIterations == want.iterations &&
		memcmp(full->info.kdfSalt, want.salt, KEY_SALT_SIZE) == 0)
	{
		struct stat after;

		/* remembered only if the key file did not change meanwhile */
		if (stat(config->cipherKeyFile, &after) == 0)
		{
			RepoKeyCheckEntry now;

			repoKeyCheckEntryMake(&now, config->cipherKeyFile, &after, &full->info);
			if (memcmp(&now, &want, sizeof(now)) == 0)
			{
				memcpy(&repoKeyChecks[repoKeyCheckNext], &want, sizeof(want));
				repoKeyCheckNext = (repoKeyCheckNext + 1) % REPO_KEY_CHECKS;
			}
		}
	}
	repoClose(full);
	return true;
}

Storage *
repoStorage(Repo *repo)
{
	return repo->storage;
}

void
repoReadAheadBegin(Repo *repo)
{
	if ((storageFeatures(repo->storage) & STORAGE_FEATURE_PATH) == 0)
		storageRangeCacheSet(repo->storage, REPO_READ_AHEAD_WINDOW,
							 REPO_READ_AHEAD_SLOTS);
}

void
repoReadAheadEnd(Repo *repo)
{
	storageRangeCacheSet(repo->storage, 0, 0);
}

const RepoInfo *
repoInfoGet(const Repo *repo)
{
	return &repo->info;
}

const ConfigRepo *
repoConfig(const Repo *repo)
{
	return &repo->config;
}
