/*-------------------------------------------------------------------------
 * repo_keys.c
 *	  The keyring of a repository: data keys stored wrapped under the KEK
 *	  in keys/<keyid>.<kekid>, a cache of the ones unwrapped, and passphrase
 *	  rotation.
 *
 * Rotation (repoKeyRotate) never overwrites a key file, so there is no
 * moment at which a data key exists in no readable form:
 *	 1. every wrap under the current KEK gets a twin under the new KEK,
 *	    keys/<id>.<newkekid>; a twin that is already there is unwrapped and
 *	    must hold the same key (else the rotation stops);
 *	 2. the info file is replaced atomically to name the new KEK: this is
 *	    the switch, before it only the old passphrase opens the repository,
 *	    after it only the new one;
 *	 3. the wraps under the old KEK are removed; step 1 is done again for
 *	    each of them first, so a key created by another process between
 *	    steps 1 and 2 is not lost.
 * A crash before step 2 leaves twins under a KEK whose salt was never
 * written anywhere: they cannot be unwrapped by anyone, are not counted,
 * and are left alone (a later rotation picks its own new salt).  Wraps
 * whose KEK is neither the old nor the new one are never removed, because
 * they might belong to a rotation running concurrently.
 *
 * Two rotations must not run at once: one's step 3 could remove an old
 * wrap before the other twinned it.  A rotation holds the repository lock
 * keys/rotation/lock.<n> (repo_lock.h: heartbeat objects, renewed while it
 * works, taken over only when expired) from before step 1 until the end;
 * a second rotation finds it live and stops before doing anything.
 *
 * Writers (a backup, an archiving process) create data keys while a
 * rotation may run, with the KEK they derived when they opened the
 * repository, and must not lose one.  They do not take the rotation lock:
 * a writer cannot wait minutes for a rotation, and it needs no lock,
 * because of the order in which each side works (repoDataKeyNew):
 *	 writer:   store keys/<id>.<kek>, then read the info file; if it names
 *			   another KEK than the writer's, remove that wrap and fail;
 *			   only then is the key handed out and used;
 *	 rotation: steps 1, 2 (the info file names the new KEK), 3 (list
 *			   keys/ again, twin and remove every old wrap).
 * If the writer's read of the info file comes before step 2, its wrap was
 * stored before step 2 too, so step 3, which lists keys/ after step 2,
 * twins it: the key survives under the new KEK.  If the read comes after
 * step 2, the writer sees the new KEK and drops its key before anything
 * was encrypted with it: no object uses a key the repository lost.  A
 * wrap removed by such a writer between step 3's listing and its read is
 * skipped (NOT_FOUND: its owner gave it up).  A writer that crashes
 * between storing its wrap and its check leaves a key no object uses.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <time.h>

#ifndef FRONTEND
#include "utils/memutils.h"
#endif

#include "common/hex.h"
#include "common/test_pause.h"
#include "repo/repo_internal.h"
#include "repo/repo_lock.h"

/* The rotation's lock (see the file header) and the owner it names. */
#define REPO_KEY_ROTATION_DIR	REPO_KEYS_DIR "/rotation"
#define REPO_KEY_ROTATION_OWNER	"key-rotation"

/* Length of a key file name: <32 hex>.<16 hex> */
#define REPO_KEY_NAME_LEN		(2 * CODEC_KEY_ID_SIZE + 1 + 2 * KEY_KEK_ID_SIZE)

/* keys/<keyid>.<kekid> */
static void
repoKeyPath(const uint8 *keyId, const uint8 *kekId, char *path)
{
	char		keyHex[2 * CODEC_KEY_ID_SIZE + 1];
	char		kekHex[2 * KEY_KEK_ID_SIZE + 1];

	hexEncode(keyId, CODEC_KEY_ID_SIZE, HEX_LOWER, keyHex);
	hexEncode(kekId, KEY_KEK_ID_SIZE, HEX_LOWER, kekHex);
	snprintf(path, REPO_KEY_PATH_SIZE, REPO_KEYS_DIR "/%s.%s", keyHex, kekHex);
}

/*
 * Parse a key file name.  Only the exact lower-case spelling counts, so
 * that one key generation cannot be counted twice under two spellings.
 */
static bool
repoKeyNameParse(const char *name, uint8 *keyId, uint8 *kekId)
{
	char		keyHex[2 * CODEC_KEY_ID_SIZE + 1];

	if (strlen(name) != REPO_KEY_NAME_LEN || name[2 * CODEC_KEY_ID_SIZE] != '.')
		return false;
	for (const char *p = name; *p; p++)
		if (*p != '.' && !((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	memcpy(keyHex, name, 2 * CODEC_KEY_ID_SIZE);
	keyHex[2 * CODEC_KEY_ID_SIZE] = '\0';
	return hexDecode(keyHex, HEX_ANY, keyId, CODEC_KEY_ID_SIZE) &&
		hexDecode(name + 2 * CODEC_KEY_ID_SIZE + 1, HEX_ANY, kekId, KEY_KEK_ID_SIZE);
}

static const CodecDataKey *
repoKeyCacheFind(const Repo *repo, const uint8 *keyId)
{
	for (int i = 0; i < repo->keyCount; i++)
		if (memcmp(repo->keys[i]->id, keyId, CODEC_KEY_ID_SIZE) == 0)
			return repo->keys[i];
	return NULL;
}

/*
 * The cache lives as long as the Repo: in the backend, a key looked up
 * while a shorter-lived memory context is current (a backup worker's
 * per-file context, reading the parent's objects) must still be allocated
 * where the Repo is.
 */
static const CodecDataKey *
repoKeyCacheAdd(Repo *repo, const CodecDataKey *key)
{
	CodecDataKey *entry;
#ifndef FRONTEND
	MemoryContext old = MemoryContextSwitchTo(GetMemoryChunkContext(repo));
#endif

	if (repo->keyCount == repo->keyMax)
	{
		repo->keyMax = repo->keyMax ? repo->keyMax * 2 : 8;
		repo->keys = repo->keys ?
			repalloc(repo->keys, repo->keyMax * sizeof(CodecDataKey *)) :
			palloc(repo->keyMax * sizeof(CodecDataKey *));
	}
	entry = palloc(sizeof(CodecDataKey));
	*entry = *key;
	repo->keys[repo->keyCount++] = entry;
#ifndef FRONTEND
	MemoryContextSwitchTo(old);
#endif
	return entry;
}

void
repoKeyCacheFree(Repo *repo)
{
	for (int i = 0; i < repo->keyCount; i++)
	{
		explicit_bzero(repo->keys[i], sizeof(CodecDataKey));
		pfree(repo->keys[i]);
	}
	if (repo->keys)
		pfree(repo->keys);
	repo->keys = NULL;
	repo->keyCount = repo->keyMax = 0;
}

/* Read the wrap of keyId under kek and unwrap it into *key. */
static bool
repoKeyRead(Repo *repo, const uint8 *keyId, const KeyKek *kek,
			CodecDataKey *key, DrError *err)
{
	char		path[REPO_KEY_PATH_SIZE];
	char	   *wrapped;
	size_t		len;
	bool		result;

	repoKeyPath(keyId, kek->id, path);
	wrapped = storageGet(repo->storage, path, &len, KEY_WRAPPED_SIZE, err);
	if (wrapped == NULL)
	{
		if (err && err->code == DR_ERR_NOT_FOUND)
		{
			char		keyHex[2 * CODEC_KEY_ID_SIZE + 1];

			hexEncode(keyId, CODEC_KEY_ID_SIZE, HEX_LOWER, keyHex);
			drErrorSet(err, DR_ERR_KEY,
					   "data key %s is not in the keyring of repository \"%s\"",
					   keyHex, repo->config.path);
			drErrorHint(err, "\"%s/%s\" does not exist", repo->config.path, path);
		}
		else if (err && err->code == DR_ERR_INVALID)
			drErrorSet(err, DR_ERR_CORRUPT,
					   "key file \"%s/%s\" is corrupt: larger than %d bytes",
					   repo->config.path, path, KEY_WRAPPED_SIZE);
		return false;
	}
	if (len != KEY_WRAPPED_SIZE)
	{
		pfree(wrapped);
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "key file \"%s/%s\" is corrupt: %zu bytes instead of %d",
						  repo->config.path, path, len, KEY_WRAPPED_SIZE);
	}
	result = keyUnwrap(kek, keyId, (const uint8 *) wrapped, key, err);
	pfree(wrapped);
	return result;
}

/*
 * Store key wrapped under kek (never replacing a file).  With
 * acceptExisting, a wrap already there is fine if it holds the same key.
 */
static bool
repoKeyStore(Repo *repo, const CodecDataKey *key, const KeyKek *kek,
			 bool acceptExisting, DrError *err)
{
	char		path[REPO_KEY_PATH_SIZE];
	uint8		wrapped[KEY_WRAPPED_SIZE];
	CodecDataKey existing;
	bool		same;

	repoKeyPath(key->id, kek->id, path);
	if (!keyWrap(kek, key, wrapped, err))
		return false;
	if (storagePut(repo->storage, path, wrapped, sizeof(wrapped), NULL, err))
		return true;
	if (!acceptExisting || err == NULL || err->code != DR_ERR_EXISTS)
		return false;

	if (!repoKeyRead(repo, key->id, kek, &existing, err))
		return false;
	same = memcmp(existing.key, key->key, CODEC_KEY_SIZE) == 0;
	explicit_bzero(&existing, sizeof(existing));
	if (!same)
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "key file \"%s/%s\" holds another key than the one it should wrap",
						  repo->config.path, path);
	/* the EXISTS was expected: do not leave it behind as if it mattered */
	drErrorClear(err);
	return true;
}

/* A repository opened by repoOpenLayout has no KEK to wrap or unwrap with. */
static bool
repoKeyNeeded(const Repo *repo, DrError *err)
{
	if (!repo->layoutOnly)
		return true;
	return drErrorSet(err, DR_ERR_INTERNAL,
					  "repository \"%s\" was opened without its key",
					  repo->config.path);
}

/*
 * The writer's side of the race with a rotation (see the file header): the
 * wrap of key under this process's KEK is stored; read the info file, and
 * when it names another KEK, remove the wrap and fail.
 */
static bool
repoKeyRotationCheck(Repo *repo, const CodecDataKey *key, DrError *err)
{
	RepoInfo	current;
	char		path[REPO_KEY_PATH_SIZE];
	bool		same;
	DrError		ignored;

	if (!repoInfoLoad(repo->storage, &repo->config, &current, err))
		same = false;
	else
	{
		same = memcmp(current.kekId, repo->kek.id, KEY_KEK_ID_SIZE) == 0;
		if (current.created)
			pfree(current.created);
		if (!same)
		{
			drErrorSet(err, DR_ERR_KEY,
					   "the passphrase of repository \"%s\" was rotated while this process had it open: no data key was created",
					   repo->config.path);
			drErrorHint(err, "Point the configuration's cipher key file at the new passphrase, reload, and try again.");
		}
	}
	if (!same)
	{
		/* best effort: a wrap left here is a key no object uses */
		repoKeyPath(key->id, repo->kek.id, path);
		(void) storageRemove(repo->storage, path, &ignored);
	}
	return same;
}

bool
repoDataKeyNew(Repo *repo, const CodecDataKey **key, DrError *err)
{
	CodecDataKey dataKey;
	bool		stored;

	*key = NULL;
	if (repo->info.cipher != CONFIG_CIPHER_AES256GCM)
		return true;

	if (!repoKeyNeeded(repo, err) || !keyDataKeyNew(&dataKey, err))
		return false;
	/* stored before it is handed out: no object can use a key we lack */
	stored = repoKeyStore(repo, &dataKey, &repo->kek, false, err);
	/* and checked against a rotation (the file header) */
	if (stored)
		stored = repoKeyRotationCheck(repo, &dataKey, err);
	if (stored)
		*key = repoKeyCacheAdd(repo, &dataKey);
	explicit_bzero(&dataKey, sizeof(dataKey));
	return stored;
}

const CodecDataKey *
repoDataKeyGet(void *arg, const uint8 *keyId, DrError *err)
{
	Repo	   *repo = arg;
	const CodecDataKey *cached;
	const CodecDataKey *result;
	CodecDataKey key;

	if (repo->info.cipher != CONFIG_CIPHER_AES256GCM)
	{
		char		keyHex[2 * CODEC_KEY_ID_SIZE + 1];

		hexEncode(keyId, CODEC_KEY_ID_SIZE, HEX_LOWER, keyHex);
		drErrorSet(err, DR_ERR_KEY,
				   "data key %s was asked for, but repository \"%s\" is not encrypted",
				   keyHex, repo->config.path);
		return NULL;
	}

	cached = repoKeyCacheFind(repo, keyId);
	if (cached != NULL)
		return cached;
	if (!repoKeyNeeded(repo, err) ||
		!repoKeyRead(repo, keyId, &repo->kek, &key, err))
		return NULL;
	result = repoKeyCacheAdd(repo, &key);
	explicit_bzero(&key, sizeof(key));
	return result;
}

typedef struct RepoKeyCount
{
	const uint8 *kekId;
	int			count;
} RepoKeyCount;

static bool
repoDataKeyCountEntry(void *arg, const StorageInfo *info, DrError *err)
{
	RepoKeyCount *state = arg;
	uint8		keyId[CODEC_KEY_ID_SIZE];
	uint8		kekId[KEY_KEK_ID_SIZE];

	if (!info->isDir && repoKeyNameParse(info->name, keyId, kekId) &&
		memcmp(kekId, state->kekId, KEY_KEK_ID_SIZE) == 0)
		state->count++;
	return true;
}

bool
repoDataKeyCount(Repo *repo, int *count, DrError *err)
{
	RepoKeyCount state = {repo->info.kekId, 0};

	*count = 0;
	if (repo->info.cipher != CONFIG_CIPHER_AES256GCM)
		return true;
	if (!storageList(repo->storage, REPO_KEYS_DIR, repoDataKeyCountEntry,
					 &state, err))
		return false;
	*count = state.count;
	return true;
}

typedef struct RepoRotate
{
	Repo	   *repo;
	KeyKek		oldKek;
	KeyKek		newKek;
	bool		removeOld;		/* step 3 */
	RepoLock   *lock;			/* the rotation's, renewed between entries */
} RepoRotate;

/* Whether the wrap of keyId under kek is there (true when unsure). */
static bool
repoKeyWrapExists(Repo *repo, const uint8 *keyId, const KeyKek *kek)
{
	char		path[REPO_KEY_PATH_SIZE];
	bool		exists = true;
	DrError		ignored;

	repoKeyPath(keyId, kek->id, path);
	if (!storageExists(repo->storage, path, &exists, &ignored))
		return true;
	return exists;
}

/*
 * Take the rotation's lock (see the file header): DR_ERR_EXISTS when
 * another rotation holds it, or took it at the same moment.
 */
static RepoLock *
repoKeyRotationLock(Repo *repo, DrError *err)
{
	RepoLockState state;
	int64		now = (int64) time(NULL);
	bool		taken = true;
	RepoLock   *lock;

	if (!repoLockReadIn(repo, REPO_KEY_ROTATION_DIR, REPO_KEY_ROTATION_OWNER,
						&state, err))
		return NULL;
	if (state.present && repoLockLive(&state, now))
	{
		repoLockStateFree(&state);
		drErrorSet(err, DR_ERR_EXISTS,
				   "another key rotation of repository \"%s\" is running",
				   repo->config.path);
		drErrorHint(err, "Wait for it to end.  A rotation that crashed holds its lock \"%s/%s/lock.*\" until %d seconds after its last heartbeat.",
					repo->config.path, REPO_KEY_ROTATION_DIR, REPO_LOCK_EXPIRE);
		return NULL;
	}
	/* a crashed rotation's lock: take it over */
	if (state.present &&
		!repoLockTakeIn(repo, REPO_KEY_ROTATION_DIR, &state, &taken, err))
	{
		repoLockStateFree(&state);
		return NULL;
	}
	repoLockStateFree(&state);
	if (taken)
	{
		lock = repoLockAcquireIn(repo, REPO_KEY_ROTATION_DIR,
								 REPO_KEY_ROTATION_OWNER, "the key rotation",
								 NULL, now, err);
		if (lock != NULL || err == NULL || err->code != DR_ERR_EXISTS)
			return lock;
	}
	drErrorSet(err, DR_ERR_EXISTS,
			   "another key rotation of repository \"%s\" started at the same time",
			   repo->config.path);
	drErrorHint(err, "Wait for it to end; run one rotation at a time.");
	return NULL;
}

/*
 * One entry of keys/ during a rotation: give a wrap under the old KEK its
 * twin under the new one (steps 1 and 3), and remove it in step 3.  Files
 * that are not key files, or not of the old generation, are left alone.
 */
static bool
repoKeyRotateEntry(void *arg, const StorageInfo *info, DrError *err)
{
	RepoRotate *state = arg;
	Repo	   *repo = state->repo;
	uint8		keyId[CODEC_KEY_ID_SIZE];
	uint8		kekId[KEY_KEK_ID_SIZE];
	const CodecDataKey *cached;
	CodecDataKey key;
	bool		result;

	if (info->isDir || !repoKeyNameParse(info->name, keyId, kekId) ||
		memcmp(kekId, state->oldKek.id, KEY_KEK_ID_SIZE) != 0)
		return true;
	if (!repoLockHeartbeat(state->lock, (int64) time(NULL), false, err))
		return false;

	/* unwrapped on the way: the cache would grow with the whole keyring */
	cached = repoKeyCacheFind(repo, keyId);
	if (cached != NULL)
		key = *cached;
	else if (!repoKeyRead(repo, keyId, &state->oldKek, &key, err))
	{
		/* removed since it was listed: a writer gave it up (file header) */
		if (err && err->code == DR_ERR_KEY &&
			!repoKeyWrapExists(repo, keyId, &state->oldKek))
		{
			drErrorClear(err);
			return true;
		}
		return false;
	}
	result = repoKeyStore(repo, &key, &state->newKek, true, err);
	explicit_bzero(&key, sizeof(key));
	if (!result)
		return false;

	if (state->removeOld)
	{
		char		path[REPO_KEY_PATH_SIZE];

		repoKeyPath(keyId, state->oldKek.id, path);
		if (!storageRemove(repo->storage, path, err))
			return false;
	}
	return true;
}

bool
repoKeyRotate(Repo *repo, const char *newKeyFile, DrError *err)
{
	RepoRotate state;
	RepoInfo	newInfo;
	StorageWriteParam replace = {.replace = true};
	char		oldKekHex[2 * KEY_KEK_ID_SIZE + 1];
	char	   *text;
	bool		result = false;

	if (!repoKeyNeeded(repo, err))
		return false;
	if (repo->info.cipher != CONFIG_CIPHER_AES256GCM)
	{
		drErrorSet(err, DR_ERR_INVALID, "repository \"%s\" is not encrypted",
				   repo->config.path);
		drErrorHint(err, "only the passphrase of an encrypted repository can be rotated");
		return false;
	}

	memset(&state, 0, sizeof(state));
	state.repo = repo;
	state.oldKek = repo->kek;
	newInfo = repo->info;
	if (!keyRandom(newInfo.kdfSalt, KEY_SALT_SIZE, err) ||
		!repoKekDerive(newKeyFile, newInfo.kdfSalt, newInfo.kdfIterations,
					   &state.newKek, err))
		goto done;
	/* the same id would make step 3 remove the new wraps */
	if (memcmp(state.newKek.id, state.oldKek.id, KEY_KEK_ID_SIZE) == 0)
	{
		drErrorSet(err, DR_ERR_INTERNAL,
				   "the new key generation has the id of the current one");
		drErrorHint(err, "run the rotation again: a new salt is drawn each time");
		goto done;
	}
	memcpy(newInfo.kekId, state.newKek.id, KEY_KEK_ID_SIZE);
	hexEncode(state.oldKek.id, KEY_KEK_ID_SIZE, HEX_LOWER, oldKekHex);

	/* one rotation at a time, from before step 1 to the end */
	state.lock = repoKeyRotationLock(repo, err);
	if (state.lock == NULL)
		goto done;

	/* step 1 */
	if (!storageList(repo->storage, REPO_KEYS_DIR, repoKeyRotateEntry, &state,
					 err))
	{
		drErrorPrefix(err, "could not re-wrap the data keys (the current passphrase stays valid): ");
		goto done;
	}

	/* step 2, the switch */
	drTestPause("rotate-switch");
	if (!repoLockHeartbeat(state.lock, (int64) time(NULL), true, err))
	{
		drErrorPrefix(err, "the current passphrase stays valid: ");
		goto done;
	}
	text = repoInfoFormat(&newInfo);
	if (!storagePut(repo->storage, REPO_INFO_FILE, text, strlen(text), &replace,
					err))
	{
		pfree(text);
		drErrorPrefix(err, "could not switch to the new passphrase (the current passphrase stays valid): ");
		goto done;
	}
	pfree(text);

	/* from here on, only the new passphrase opens the repository */
	memcpy(repo->info.kdfSalt, newInfo.kdfSalt, KEY_SALT_SIZE);
	memcpy(repo->info.kekId, newInfo.kekId, KEY_KEK_ID_SIZE);
	repo->kek = state.newKek;
	if (repo->config.cipherKeyFile)
		pfree(repo->config.cipherKeyFile);
	repo->config.cipherKeyFile = pstrdup(newKeyFile);

	/* step 3 */
	state.removeOld = true;
	if (!storageList(repo->storage, REPO_KEYS_DIR, repoKeyRotateEntry, &state,
					 err))
	{
		drErrorPrefix(err, "the repository now uses the new passphrase, but not every old key wrap could be removed: ");
		drErrorHint(err, "the files \"%s/%s/*.%s\" wrap data keys under the old passphrase; remove them once the cause is fixed",
					repo->config.path, REPO_KEYS_DIR, oldKekHex);
		goto done;
	}
	result = true;

done:
	if (state.lock != NULL)
	{
		DrError		releaseErr;

		/*
		 * Best effort: a lock left behind expires (repo_lock.h).  The empty
		 * directory goes too (a rotation that just put its lock there keeps
		 * it: not empty), so that keys/ holds key files only.
		 */
		if (repoLockRelease(state.lock, &releaseErr))
			(void) storageRemoveDir(repo->storage, REPO_KEY_ROTATION_DIR,
									&releaseErr);
	}
	explicit_bzero(&state, sizeof(state));
	return result;
}
