/*-------------------------------------------------------------------------
 * test_repo.c
 *	  Unit tests of src/repo (repo.c, repo_info.c, repo_keys.c,
 *	  repo_object.c), over the posix driver and the real codec and keys.
 *
 * Covers: repoCreate (info file fields, twice -> EXISTS with the info file
 * unchanged, non-empty directory refused, key file of mode 0644 ->
 * PERMISSION, short passphrase -> KEY, missing key file); repoOpen
 * (fields read back, wrong passphrase -> KEY naming the repository,
 * repoKeyCheck: a match remembered and not derived again, a mismatch
 * never remembered, a rewritten key file checked again and refused,
 * uninitialized -> NOT_FOUND with a repo-create hint, corrupt or
 * unknown-format info files -> CORRUPT, cipher in the configuration not
 * matching the repository -> CONFIG); data keys (new -> stored wrapped,
 * counted, read back by a fresh handle, unknown id -> KEY); objects
 * (buffer and streamed put, get, read with result, encrypted and
 * unencrypted, no plain text on disk when encrypted, existing -> EXISTS,
 * a failing source leaves nothing, key/cipher mismatches refused, a
 * flipped byte in the payload or the header -> CORRUPT naming the object,
 * truncation -> CORRUPT); key rotation (keys re-wrapped, old wraps
 * removed, objects readable with the new passphrase only, the old one
 * refused, the handle keeps working, refused rotations change nothing, a
 * simulated crash after step 1 still opens with the old passphrase and a
 * later rotation completes, rotation of an unencrypted repository
 * refused); the rotation's lock and writers (a live lock refuses a
 * rotation and changes nothing, an expired one is taken over and leaves
 * nothing behind; a handle opened before a rotation that creates a data
 * key after it gets KEY, keeps no key and leaves no wrap, while a key it
 * created before the rotation was re-wrapped and still reads with the new
 * passphrase); repoOpenLayout (no KEK: another passphrase, or none at all,
 * opens; backups are listed; no data key is made, read or rotated on it);
 * archived WAL read back (repo_archive.c: a bound segment and an
 * unbound one of the right name pass, whole, into the sink; another
 * segment's object under a name is CORRUPT naming both, with nothing
 * given to the sink; a segment bound to another name (its ".partial"), a
 * history file under another history file's name, another cluster's
 * segment, one of the wrong length, a flipped byte are CORRUPT; missing
 * is NOT_FOUND; the segment size taken from the segment when unknown).
 * The identity and the origin marker (repo_origin.c): a random
 * id per repository, read without the passphrase, kept by rotation, a
 * malformed id refused, "created-" for a repository without one; the
 * marker's text round trip, refused markers (no repository, NUL, not a
 * regular file); write, read, replace, remove; the guard (no marker, the
 * marker's repository refused with PERMISSION and a hint, another
 * repository allowed, an unreadable marker refused).
 * Bundles (repo_bundle.c, repoObjectReadBeginRange): entries laid end to
 * end, each read back alone by range with its content hash; a new bundle
 * object once one reaches its size; an abandoned entry leaves nothing; an
 * entry that grows past the entry limit becomes a standalone object at its
 * own path (its buffered start included); an aborted bundle leaves nothing
 * visible; End without entries makes no object; a range cut short or
 * starting inside an entry is CORRUPT naming the offset.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "access/xlog_internal.h"

#include "common/hex.h"
#include "repo/repo.h"
#include "repo/repo_archive.h"
#include "repo/repo_backup.h"
#include "repo/repo_lock.h"
#include "repo/repo_origin.h"
#include "tap.h"
#include "test_support.h"

#define KDF_ITERATIONS		1000

static char tmpRoot[] = "/tmp/test_repo.XXXXXX";

static char *
tmpPath(const char *name)
{
	return tsprintf("%s/%s", tmpRoot, name);
}

/* A passphrase file of len characters (distinct per seed) and mode. */
static char *
keyFileWrite(const char *name, int len, int seed, mode_t mode)
{
	char	   *path = tmpPath(name);
	FILE	   *f = fopen(path, "w");

	for (int i = 0; i < len; i++)
		fputc('a' + (i * 7 + seed) % 26, f);
	fputc('\n', f);
	fclose(f);
	chmod(path, mode);
	return path;
}

static ConfigRepo
configMake(const char *dir, const char *keyFile)
{
	return testConfigRepo(tmpPath(dir),
						  keyFile ? (char *) track(pstrdup(keyFile)) : NULL);
}

/* Number of files in dir whose name ends with suffix ("" = all). */
static int
filesCount(const char *dir, const char *suffix)
{
	DIR		   *d = opendir(dir);
	struct dirent *de;
	int			count = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
	{
		size_t		len = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		if (len >= strlen(suffix) &&
			strcmp(de->d_name + len - strlen(suffix), suffix) == 0)
			count++;
	}
	closedir(d);
	return count;
}

/* Test content: compressible but not constant. */
static char *
contentMake(size_t len, int seed)
{
	char	   *buf = track(palloc(len));

	for (size_t i = 0; i < len; i++)
		buf[i] = "pg_dr test content "[(i + seed) % 19] ^ (char) ((i >> 12) & 3);
	return buf;
}

static bool
objectIs(Repo *repo, const char *path, const char *content, size_t len)
{
	DrError		err;
	size_t		gotLen;
	char	   *got = repoObjectGetBuffer(repo, path, &gotLen, len + 10, &err);
	bool		same;

	if (got == NULL)
	{
		diag("%s: %s", path, err.message);
		return false;
	}
	same = gotLen == len && memcmp(got, content, len) == 0;
	pfree(got);
	return same;
}

static void
testCreateOpen(const char *key1, const char *key2, const char *keyShort,
			   const char *keyOpen)
{
	DrError		err;
	ConfigRepo	config = configMake("repo", key1);
	ConfigRepo	other;
	Repo	   *repo;
	const RepoInfo *info;
	char	   *infoPath = tmpPath("repo/pg_dr.repo");
	char	   *before;
	char	   *after;
	size_t		len;

	ok(!repoCreate(&config, KEY_KDF_ITERATIONS_MIN - 1, &err) &&
	   err.code == DR_ERR_INVALID && strstr(err.message, "too few") != NULL,
	   "too few KDF iterations are refused");
	ok(repoCreate(&config, KDF_ITERATIONS, &err), "create");
	before = fileRead(infoPath, &len);
	ok(before != NULL && strstr(before, "format = 1\n") &&
	   strstr(before, "cipher = aes-256-gcm\n") &&
	   strstr(before, "kdf = pbkdf2-sha256\n") &&
	   strstr(before, "kdf_iterations = 1000\n") &&
	   strstr(before, "kdf_salt = ") && strstr(before, "kek_id = ") &&
	   strstr(before, "created = "), "info file has every field");

	ok(!repoCreate(&config, KDF_ITERATIONS, &err) && err.code == DR_ERR_EXISTS,
	   "create twice: EXISTS");
	ok(strstr(err.hint, "already initialized") != NULL, "create twice: hint");
	after = fileRead(infoPath, &len);
	ok(after && strcmp(before, after) == 0, "create twice: info file unchanged");

	repo = repoOpen(&config, &err);
	if (!ok(repo != NULL, "open"))
		diag("%s", err.message);
	info = repoInfoGet(repo);
	is_int(info->format, REPO_FORMAT, "open: format");
	is_int(info->cipher, CONFIG_CIPHER_AES256GCM, "open: cipher");
	is_int(info->kdfIterations, KDF_ITERATIONS, "open: iterations");
	ok(info->created && strlen(info->created) == 20 && info->created[10] == 'T' &&
	   info->created[19] == 'Z', "open: created is ISO 8601 UTC");
	is_str(repoConfig(repo)->path, config.path, "repoConfig");
	is_str(storageName(repoStorage(repo)), "posix", "repoStorage");
	repoClose(repo);

	other = configMake("repo", key2);
	ok(repoOpen(&other, &err) == NULL && err.code == DR_ERR_KEY,
	   "wrong passphrase: KEY");
	ok(strstr(err.message, "repository key does not match the repository \"") &&
	   strstr(err.message, "/repo\""), "wrong passphrase: message names the repository");
	ok(err.hint[0] != '\0', "wrong passphrase: hint");

	other = configMake("repo", keyOpen);
	ok(repoOpen(&other, &err) == NULL && err.code == DR_ERR_PERMISSION,
	   "key file of mode 0644: PERMISSION");
	other = configMake("repo-open-key", keyOpen);
	ok(!repoCreate(&other, KDF_ITERATIONS, &err) && err.code == DR_ERR_PERMISSION,
	   "create with a key file of mode 0644: PERMISSION");
	other = configMake("repo-short", keyShort);
	ok(!repoCreate(&other, KDF_ITERATIONS, &err) && err.code == DR_ERR_KEY,
	   "create with a short passphrase: KEY");
	ok(repoOpen(&other, &err) == NULL && err.code == DR_ERR_NOT_FOUND,
	   "open of an uninitialized repository: NOT_FOUND");
	ok(strstr(err.hint, "repo-create") != NULL, "uninitialized: hint names repo-create");
	other = configMake("repo-nokey", "/nonexistent/key");
	ok(!repoCreate(&other, KDF_ITERATIONS, &err) && err.code == DR_ERR_NOT_FOUND,
	   "create with a missing key file: NOT_FOUND");

	/* a directory with something in it is not initialized over */
	other = configMake("repo-busy", key1);
	mkdir(other.path, 0700);
	after = tsprintf("%s/keys", other.path);
	mkdir(after, 0700);
	ok(!repoCreate(&other, KDF_ITERATIONS, &err) && err.code == DR_ERR_INVALID &&
	   strstr(err.message, "not empty") != NULL, "create in a non-empty directory refused");
	after = tsprintf("%s/lost+found", other.path);
	rename(tsprintf("%s/keys", other.path), after);
	ok(repoCreate(&other, KDF_ITERATIONS, &err), "lost+found does not count");
}

/* Write an info file into a fresh directory and open it. */
static void
expectInfoError(const char *key1, const char *name, const char *text,
				DrErrorCode code, const char *want)
{
	static int	n = 0;
	char	   *dirName = tsprintf("bad-%d", ++n);
	ConfigRepo	config = configMake(dirName, key1);
	DrError		err;
	char	   *path = tsprintf("%s/pg_dr.repo", config.path);

	mkdir(config.path, 0750);
	fileWrite(path, text);
	ok(repoOpen(&config, &err) == NULL && err.code == code, "%s: %s", name,
	   drErrorCodeName(code));
	if (!ok(strstr(err.message, want) != NULL, "%s: message", name))
		diag("message: %s", err.message);
}

static void
testInfoErrors(const char *key1)
{
	const char *good = "format = 1\ncipher = aes-256-gcm\nkdf = pbkdf2-sha256\n"
		"kdf_iterations = 1000\nkdf_salt = 000102030405060708090a0b0c0d0e0f\n"
		"kek_id = 0001020304050607\ncreated = 2024-01-01T00:00:00Z\n";
	char	   *text;

	expectInfoError(key1, "garbage", "\x01\x02 not an info file", DR_ERR_CORRUPT,
					"is corrupt");
	expectInfoError(key1, "empty", "", DR_ERR_CORRUPT, "\"format\" is missing");
	expectInfoError(key1, "format 2", "format = 2\nnew_thing = 1\n", DR_ERR_CORRUPT,
					"has format 2");
	text = tsprintf("%sextra = 1\n", good);
	expectInfoError(key1, "unknown name", text, DR_ERR_CORRUPT, "unknown name \"extra\"");
	text = tsprintf("%sformat = 1\n", good);
	expectInfoError(key1, "repeated name", text, DR_ERR_CORRUPT, "\"format\" is set twice");
	expectInfoError(key1, "bad salt",
					"format = 1\ncipher = aes-256-gcm\nkdf = pbkdf2-sha256\n"
					"kdf_iterations = 1000\nkdf_salt = 00\n"
					"kek_id = 0001020304050607\ncreated = 2024-01-01T00:00:00Z\n",
					DR_ERR_CORRUPT, "invalid kdf_salt");
	expectInfoError(key1, "missing kek_id",
					"format = 1\ncipher = aes-256-gcm\nkdf = pbkdf2-sha256\n"
					"kdf_iterations = 1000\nkdf_salt = 000102030405060708090a0b0c0d0e0f\n"
					"created = 2024-01-01T00:00:00Z\n",
					DR_ERR_CORRUPT, "\"kek_id\" is missing");
	expectInfoError(key1, "kdf fields without a cipher",
					"format = 1\ncipher = none\nkdf = pbkdf2-sha256\n"
					"created = 2024-01-01T00:00:00Z\n",
					DR_ERR_CORRUPT, "is set but the repository is not encrypted");
	expectInfoError(key1, "bad created",
					"format = 1\ncipher = none\ncreated = yesterday\n",
					DR_ERR_CORRUPT, "invalid created");
	expectInfoError(key1, "unencrypted repository, encrypted config",
					"format = 1\ncipher = none\ncreated = 2024-01-01T00:00:00Z\n",
					DR_ERR_CONFIG, "is not encrypted but repo1_cipher_type is aes-256-gcm");
	expectInfoError(key1, "well-formed, other kek", good, DR_ERR_KEY,
					"repository key does not match");
}

static void
testOrigin(const char *key1, const char *key2)
{
	ConfigRepo	a = configMake("origin-a", key1);
	ConfigRepo	b = configMake("origin-b", NULL);
	ConfigRepo	aOtherKey = configMake("origin-a", key2);
	RepoInfo	infoA;
	RepoInfo	infoB;
	RepoInfo	old;
	RepoOrigin	origin;
	RepoOrigin	back;
	char		idA[REPO_IDENTITY_LEN + 1];
	char		idB[REPO_IDENTITY_LEN + 1];
	char	   *text;
	char	   *dataDir = tmpPath("origin-data");
	char	   *copy = tmpPath("origin-copy");
	bool		found;
	bool		removed;
	size_t		len;
	DrError		err;
	Repo	   *repo;

	ok(repoCreate(&a, KDF_ITERATIONS, &err) && repoCreate(&b, 0, &err), "two repositories");
	ok(repoInfoRead(&aOtherKey, &infoA, &err) && infoA.hasId,
	   "identity read without the passphrase");
	ok(repoInfoRead(&b, &infoB, &err) && infoB.hasId, "an unencrypted one has an id too");
	repoIdentity(&infoA, idA);
	repoIdentity(&infoB, idB);
	ok(strlen(idA) == 32 && strspn(idA, "0123456789abcdef") == 32 && strcmp(idA, idB) != 0,
	   "identities are 32 hex digits, different per repository");
	text = fileRead(tmpPath("origin-a/pg_dr.repo"), &len);
	ok(text && strstr(text, tsprintf("\nid = %s\n", idA)) != NULL, "the info file holds the id");

	/* a copy of the repository elsewhere is the same repository */
	mkdir(copy, 0750);
	fileWrite(tsprintf("%s/pg_dr.repo", copy), text);

	/* rotation keeps the id */
	repo = repoOpen(&a, &err);
	ok(repo != NULL && repoKeyRotate(repo, key2, &err), "rotate");
	repoClose(repo);
	ok(repoInfoRead(&a, &infoA, &err) && (repoIdentity(&infoA, idB), strcmp(idA, idB) == 0),
	   "rotation keeps the id");
	repoIdentity(&infoB, idB);

	/* no id: known by its creation time */
	memset(&old, 0, sizeof(old));
	old.created = "2024-01-01T00:00:00Z";
	repoIdentity(&old, idA);
	is_str(idA, "created-2024-01-01T00:00:00Z", "no id: created- and the time");
	repoIdentity(&infoA, idA);
	expectInfoError(key1, "bad id",
					"format = 1\ncipher = none\ncreated = 2024-01-01T00:00:00Z\nid = xyz\n",
					DR_ERR_CORRUPT, "invalid id \"xyz\"");

	/* the marker's text */
	memset(&origin, 0, sizeof(origin));
	strlcpy(origin.repository, idA, sizeof(origin.repository));
	strlcpy(origin.repositoryPath, a.path, sizeof(origin.repositoryPath));
	strlcpy(origin.backup, "20240101-000000F", sizeof(origin.backup));
	strlcpy(origin.restored, "2024-01-02T00:00:00Z", sizeof(origin.restored));
	text = repoOriginFormat(&origin);
	ok(repoOriginParse(text, strlen(text), &back, &err) &&
	   memcmp(&origin, &back, sizeof(origin)) == 0, "marker: text round trip");
	ok(repoOriginIsRepo(&back, &infoA) && !repoOriginIsRepo(&back, &infoB),
	   "marker: names repository a, not b");
	ok(!repoOriginParse("backup = x\n", 11, &back, &err) && err.code == DR_ERR_CORRUPT &&
	   strstr(err.message, "names no repository") != NULL, "marker without a repository: CORRUPT");
	ok(!repoOriginParse("repository = a\0b\n", 17, &back, &err) && err.code == DR_ERR_CORRUPT,
	   "marker with a NUL: CORRUPT");
	ok(repoOriginParse("# c\n  repository = x \r\nlater = 1\n", 33, &back, &err) &&
	   strcmp(back.repository, "x") == 0, "marker: comments, blanks and unknown names");
	ok(!repoOriginParse("repository\n", 11, &back, &err) && err.code == DR_ERR_CORRUPT,
	   "marker: a line without '='");

	/* on disk, and the guard */
	mkdir(dataDir, 0700);
	ok(repoOriginRead(dataDir, &back, &found, &err) && !found, "no marker: not found");
	ok(repoOriginGuard(dataDir, &a, NULL, "archiving", &err), "no marker: writes allowed");
	ok(repoOriginWrite(dataDir, &origin, &err), "marker written");
	ok(access(tsprintf("%s/pg_dr.origin.tmp", dataDir), F_OK) != 0, "no temporary file left");
	ok(repoOriginRead(dataDir, &back, &found, &err) && found &&
	   memcmp(&origin, &back, sizeof(origin)) == 0, "marker read back");
	drErrorClear(&err);
	ok(!repoOriginGuard(dataDir, &a, NULL, "archiving", &err) &&
	   err.code == DR_ERR_PERMISSION &&
	   strstr(err.message, "archiving refused: this cluster was restored from backup 20240101-000000F of repository \"") != NULL &&
	   strstr(err.hint, "dr_declare_primary()") != NULL && strstr(err.hint, "--as-primary") != NULL,
	   "marker of a: writes into a refused, with a hint");
	drErrorClear(&err);
	ok(!repoOriginGuard(dataDir, &a, &infoA, "archiving", &err) &&
	   err.code == DR_ERR_PERMISSION, "the same with the info given");
	ok(configRepoSet(&b, "path", copy, &err), "b moved to the copy's path");
	ok(!repoOriginGuard(dataDir, &b, NULL, "archiving", &err),
	   "a copy of a at another path: refused too (identity, not path)");
	b = configMake("origin-b", NULL);
	ok(repoOriginGuard(dataDir, &b, NULL, "archiving", &err),
	   "marker of a: writes into b allowed");
	strlcpy(origin.backup, "20240202-000000F", sizeof(origin.backup));
	ok(repoOriginWrite(dataDir, &origin, &err) &&
	   repoOriginRead(dataDir, &back, &found, &err) &&
	   strcmp(back.backup, "20240202-000000F") == 0, "marker replaced");
	ok(repoOriginRemove(dataDir, &removed, &err) && removed &&
	   repoOriginRead(dataDir, &back, &found, &err) && !found, "marker removed");
	ok(repoOriginRemove(dataDir, &removed, &err) && !removed, "removing none: not an error");
	mkdir(tsprintf("%s/pg_dr.origin", dataDir), 0700);
	drErrorClear(&err);
	ok(!repoOriginGuard(dataDir, &b, NULL, "archiving", &err) && err.code == DR_ERR_CORRUPT &&
	   strstr(err.message, "not a regular file") != NULL,
	   "a directory in place of the marker: refused");
	rmdir(tsprintf("%s/pg_dr.origin", dataDir));
}

/* A CodecSource over memory, optionally failing after some bytes. */
typedef struct MemSource
{
	const char *buf;
	size_t		len;
	size_t		pos;
	size_t		failAt;			/* 0 = never */
} MemSource;

static ssize_t
memSourceRead(void *arg, void *buf, size_t len, DrError *err)
{
	MemSource  *src = arg;
	size_t		n = Min(len, src->len - src->pos);

	if (src->failAt && src->pos + n >= src->failAt)
	{
		drErrorSet(err, DR_ERR_IO, "source broke");
		return -1;
	}
	memcpy(buf, src->buf + src->pos, n);
	src->pos += n;
	return n;
}

static void
testKeysObjects(const char *key1)
{
	DrError		err;
	ConfigRepo	config = configMake("repo", key1);
	Repo	   *repo = repoOpen(&config, &err);
	Repo	   *fresh;
	const CodecDataKey *key;
	const CodecDataKey *got;
	CodecDataKey keyCopy;
	CodecResult putResult;
	CodecResult readResult;
	char		keyHex[2 * CODEC_KEY_ID_SIZE + 1];
	char		kekHex[2 * KEY_KEK_ID_SIZE + 1];
	char	   *wrapPath;
	struct stat st;
	int			count = -1;
	size_t		smallLen = 300 * 1024;
	size_t		bigLen = 3 * 1024 * 1024 + 17;
	char	   *small = contentMake(smallLen, 1);
	char	   *big = contentMake(bigLen, 2);
	MemSource	src = {big, bigLen, 0, 0};
	CodecSource source = {memSourceRead, &src};
	RepoObjectRead *read;
	char	   *buf;
	size_t		total = 0;
	ssize_t		n;
	bool		exists;
	char	   *stored;
	size_t		storedLen;

	ok(repoDataKeyNew(repo, &key, &err) && key != NULL, "data key new");
	keyCopy = *key;
	hexEncode(key->id, CODEC_KEY_ID_SIZE, HEX_LOWER, keyHex);
	hexEncode(repoInfoGet(repo)->kekId, KEY_KEK_ID_SIZE, HEX_LOWER, kekHex);
	wrapPath = tsprintf("%s/keys/%s.%s", config.path, keyHex, kekHex);
	ok(stat(wrapPath, &st) == 0 && st.st_size == KEY_WRAPPED_SIZE,
	   "data key stored wrapped at keys/<keyid>.<kekid>");
	ok(repoDataKeyCount(repo, &count, &err) && count == 1, "one data key counted");

	ok(repoObjectPutBuffer(repo, "backup/b1/small", small, smallLen, key,
						   &putResult, &err), "put buffer, encrypted");
	is_int(putResult.rawSize, smallLen, "put result: raw size");
	ok(repoObjectPut(repo, "backup/b1/big", source, key, NULL, &err),
	   "put streamed, encrypted");
	repoClose(repo);

	/* a fresh handle has nothing cached */
	fresh = repoOpen(&config, &err);
	got = repoDataKeyGet(fresh, keyCopy.id, &err);
	ok(got != NULL && memcmp(got->key, keyCopy.key, CODEC_KEY_SIZE) == 0,
	   "data key read back by a fresh handle");
	ok(repoDataKeyGet(fresh, keyCopy.id, &err) == got, "second lookup from the cache");
	keyCopy.id[0] ^= 1;
	ok(repoDataKeyGet(fresh, keyCopy.id, &err) == NULL && err.code == DR_ERR_KEY,
	   "unknown data key: KEY");
	hexEncode(keyCopy.id, CODEC_KEY_ID_SIZE, HEX_LOWER, keyHex);
	ok(strstr(err.message, keyHex) != NULL, "unknown data key: message names it");
	repoClose(fresh);

	fresh = repoOpen(&config, &err);
	ok(objectIs(fresh, "backup/b1/small", small, smallLen), "get, encrypted, fresh handle");
	keyCopy.id[0] ^= 1;
	got = repoDataKeyGet(fresh, keyCopy.id, &err);

	read = repoObjectReadBegin(fresh, "backup/b1/big", &err);
	buf = palloc(100000);
	while ((n = repoObjectRead(read, buf, 100000, &err)) > 0)
	{
		if (memcmp(buf, big + total, n) != 0)
			break;
		total += n;
	}
	ok(n == 0 && total == bigLen, "streamed read, content intact");
	ok(repoObjectReadEnd(read, &readResult, &err) && readResult.rawSize == bigLen,
	   "read end with result");
	pfree(buf);

	stored = fileRead(tsprintf("%s/backup/b1/small", config.path), &storedLen);
	ok(stored && memmem(stored, storedLen, "pg_dr test content", 18) == NULL,
	   "no plain text on disk");

	ok(!repoObjectPutBuffer(fresh, "backup/b1/small", "x", 1, got, NULL, &err) &&
	   err.code == DR_ERR_EXISTS, "put to an existing object: EXISTS");
	ok(objectIs(fresh, "backup/b1/small", small, smallLen), "existing object unchanged");
	ok(!repoObjectPutBuffer(fresh, "backup/b1/plain", "x", 1, NULL, NULL, &err) &&
	   err.code == DR_ERR_INVALID, "encrypted repository: object without a key refused");

	src.pos = 0;
	src.failAt = bigLen / 2;
	ok(!repoObjectPut(fresh, "backup/b1/broken", source, got, NULL, &err) &&
	   strcmp(err.message, "source broke") == 0, "failing source: error passed on");
	ok(storageExists(repoStorage(fresh), "backup/b1/broken", &exists, &err) && !exists,
	   "failing source: nothing visible");
	is_int(filesCount(tsprintf("%s/backup/b1", config.path), ""), 2,
		   "failing source: no temp file left");

	/* a flipped byte in the payload */
	{
		char	   *path = tsprintf("%s/backup/b1/small", config.path);
		char	   *copy = tsprintf("%s/backup/b1/flipped", config.path);
		char	   *copy2 = tsprintf("%s/backup/b1/flipped-header", config.path);
		char	   *copy3 = tsprintf("%s/backup/b1/truncated", config.path);
		size_t		len;
		char	   *data = fileRead(path, &len);
		FILE	   *f;

		data[len / 2] ^= 0x10;
		f = fopen(copy, "w");
		fwrite(data, 1, len, f);
		fclose(f);
		data[len / 2] ^= 0x10;
		data[48] ^= 0x01;		/* the per-object salt */
		f = fopen(copy2, "w");
		fwrite(data, 1, len, f);
		fclose(f);
		data[48] ^= 0x01;
		f = fopen(copy3, "w");
		fwrite(data, 1, len - 20, f);
		fclose(f);

		ok(repoObjectGetBuffer(fresh, "backup/b1/flipped", &len, smallLen + 10, &err) == NULL &&
		   err.code == DR_ERR_CORRUPT, "flipped payload byte: CORRUPT");
		ok(strstr(err.message, "/backup/b1/flipped\"") != NULL,
		   "flipped byte: message names the object");
		ok(repoObjectGetBuffer(fresh, "backup/b1/flipped-header", &len, smallLen + 10, &err) == NULL &&
		   err.code == DR_ERR_CORRUPT, "flipped header byte: CORRUPT");
		ok(repoObjectGetBuffer(fresh, "backup/b1/truncated", &len, smallLen + 10, &err) == NULL &&
		   err.code == DR_ERR_CORRUPT, "truncated object: CORRUPT");
	}
	ok(repoObjectGetBuffer(fresh, "backup/b1/small", &storedLen, smallLen - 1, &err) == NULL &&
	   err.code == DR_ERR_INVALID, "get above maxLen refused");
	ok(repoObjectReadBegin(fresh, "backup/none", &err) == NULL &&
	   err.code == DR_ERR_NOT_FOUND, "read of a missing object: NOT_FOUND");
	repoClose(fresh);
}

static uint32
bundleNext(void *arg)
{
	return (*(uint32 *) arg)++;
}

/* Write len bytes of content as an object of bundle; its place. */
static bool
bundlePut(Repo *repo, RepoBundle *bundle, const CodecDataKey *key,
		  const char *path, const char *content, size_t len,
		  CodecResult *result, RepoObjectPlace *place)
{
	DrError		err;
	RepoWriteParam param;
	RepoObjectWrite *ow;

	memset(&param, 0, sizeof(param));
	param.bundle = bundle;
	ow = repoObjectWriteBeginParam(repo, path, key, &param, &err);
	/* in pieces: the entry grows in memory */
	for (size_t done = 0; ow != NULL && done < len; done += 1000)
	{
		if (!repoObjectWrite(ow, content + done, Min(1000, len - done), &err))
		{
			repoObjectWriteAbort(ow);
			ow = NULL;
		}
	}
	if (ow == NULL || !repoObjectWriteEndPlace(ow, result, place, &err))
	{
		diag("%s: %s", path, err.message);
		return false;
	}
	return true;
}

/* Read the entry at place whole; its content equals content? */
static bool
entryIs(Repo *repo, const char *bundlePath, uint64 offset, uint64 length,
		const char *content, size_t len)
{
	DrError		err;
	RepoObjectRead *read = repoObjectReadBeginRange(repo, bundlePath, offset,
													length, &err);
	char	   *buf = palloc(len + 100);
	size_t		got = 0;
	CodecResult result;
	bool		same;

	for (;;)
	{
		ssize_t		n;

		if (read == NULL)
			break;
		n = repoObjectRead(read, buf + got, len + 100 - got, &err);
		if (n < 0)
		{
			repoObjectReadFree(read);
			read = NULL;
			break;
		}
		if (n == 0)
			break;
		got += n;
	}
	same = read != NULL && repoObjectReadEnd(read, &result, &err) &&
		got == len && memcmp(buf, content, len) == 0 &&
		result.storedSize == length;
	if (!same)
		diag("entry at " UINT64_FORMAT ": %s", offset, read ? "" : err.message);
	pfree(buf);
	return same;
}

static void
testBundles(const char *key1)
{
	DrError		err;
	ConfigRepo	config = configMake("bundles", key1);
	Repo	   *repo;
	const CodecDataKey *key;
	RepoBundleParam param;
	RepoBundle *bundle;
	uint32		next = 0;
	char	   *a = contentMake(3000, 1);
	char	   *b = contentMake(5000, 2);
	char	   *c = contentMake(100, 3);
	char	   *big = track(palloc(300000));
	CodecResult ra,
				rb,
				rc,
				rbig;
	RepoObjectPlace pa,
				pb,
				pc,
				pbig;
	char	   *bundle0;
	char	   *bundle1;
	struct stat st;

	/* incompressible: its encoded size passes the entry limit */
	for (uint32 i = 0, x = 2463534242u; i < 300000; i++)
	{
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		big[i] = (char) x;
	}
	ok(repoCreate(&config, 1000, &err), "bundles: repository");
	repo = repoOpen(&config, &err);
	ok(repo != NULL && repoDataKeyNew(repo, &key, &err), "bundles: open, data key");

	memset(&param, 0, sizeof(param));
	param.prefix = "backup/B/bundle/";
	param.sizeMax = 400;		/* a and b fill the first object */
	param.entryMax = 20000;
	param.next = bundleNext;
	param.nextArg = &next;
	bundle = repoBundleNew(repo, &param);
	ok(bundlePut(repo, bundle, key, "backup/B/data/a", a, 3000, &ra, &pa) &&
	   pa.bundled && pa.bundle == 0 && pa.offset == 0,
	   "bundles: first entry at 0 of bundle 0");
	/* an entry abandoned: nothing of it in the bundle */
	{
		RepoWriteParam wp;
		RepoObjectWrite *ow;

		memset(&wp, 0, sizeof(wp));
		wp.bundle = bundle;
		ow = repoObjectWriteBeginParam(repo, "backup/B/data/gone", key, &wp, &err);
		ok(ow != NULL && repoObjectWrite(ow, c, 100, &err),
		   "bundles: an entry begun");
		if (ow)
			repoObjectWriteAbort(ow);
	}
	ok(bundlePut(repo, bundle, key, "backup/B/data/b", b, 5000, &rb, &pb) &&
	   pb.bundled && pb.bundle == 0 && pb.offset == ra.storedSize,
	   "bundles: the next entry right after it, the abandoned one left no bytes");
	bundle0 = tsprintf("%s/backup/B/bundle/0", config.path);
	ok(stat(bundle0, &st) == 0 && (uint64) st.st_size == ra.storedSize + rb.storedSize,
	   "bundles: bundle 0 ended once past its size, holding exactly both entries");
	ok(bundlePut(repo, bundle, key, "backup/B/data/big", big, 300000, &rbig, &pbig) &&
	   !pbig.bundled, "bundles: an entry past the entry limit is not bundled");
	ok(objectIs(repo, "backup/B/data/big", big, 300000),
	   "bundles: it is a standalone object at its own path, whole");
	ok(bundlePut(repo, bundle, key, "backup/B/data/c", c, 100, &rc, &pc) &&
	   pc.bundled && pc.bundle == 1 && pc.offset == 0,
	   "bundles: the next entry starts bundle 1");
	bundle1 = tsprintf("%s/backup/B/bundle/1", config.path);
	ok(stat(bundle1, &st) != 0, "bundles: bundle 1 is invisible before End");
	ok(repoBundleObjects(bundle) == 1 && repoBundleEnd(bundle, &err) &&
	   stat(bundle1, &st) == 0 && (uint64) st.st_size == rc.storedSize,
	   "bundles: End ends bundle 1");
	ok(filesCount(tsprintf("%s/backup/B/data", config.path), "") == 1,
	   "bundles: no data object but the standalone one");

	ok(entryIs(repo, "backup/B/bundle/0", 0, ra.storedSize, a, 3000),
	   "bundles: entry a read alone");
	ok(entryIs(repo, "backup/B/bundle/0", pb.offset, rb.storedSize, b, 5000),
	   "bundles: entry b read alone");
	ok(entryIs(repo, "backup/B/bundle/1", 0, rc.storedSize, c, 100),
	   "bundles: entry c read alone");
	{
		RepoObjectRead *read;
		char		buf[8192];
		ssize_t		n;

		read = repoObjectReadBeginRange(repo, "backup/B/bundle/0", 0,
										ra.storedSize - 1, &err);
		do
			n = read ? repoObjectRead(read, buf, sizeof(buf), &err) : -1;
		while (n > 0);
		ok(n < 0 && err.code == DR_ERR_CORRUPT &&
		   strstr(err.message, "entry at offset 0 of object") != NULL,
		   "bundles: a range one byte short is CORRUPT, naming the offset");
		repoObjectReadFree(read);
		read = repoObjectReadBeginRange(repo, "backup/B/bundle/0", 1,
										ra.storedSize, &err);
		ok(read == NULL && err.code == DR_ERR_CORRUPT &&
		   strstr(err.message, "entry at offset 1 of object") != NULL,
		   "bundles: a range that is not an entry's start is CORRUPT");
		read = repoObjectReadBeginRange(repo, "backup/B/bundle/0", 0,
										ra.storedSize + 1, &err);
		do
			n = read ? repoObjectRead(read, buf, sizeof(buf), &err) : -1;
		while (n > 0);
		ok(n < 0 && err.code == DR_ERR_CORRUPT,
		   "bundles: a range running into the next entry is CORRUPT");
		repoObjectReadFree(read);
	}

	/* aborted, and ended empty: nothing visible */
	bundle = repoBundleNew(repo, &param);
	ok(bundlePut(repo, bundle, key, "backup/B/data/d", c, 100, &rc, &pc) &&
	   pc.bundled && pc.bundle == 2, "bundles: an entry in bundle 2");
	repoBundleAbort(bundle);
	ok(stat(tsprintf("%s/backup/B/bundle/2", config.path), &st) != 0 &&
	   filesCount(tsprintf("%s/backup/B/bundle", config.path), "") == 2,
	   "bundles: an aborted bundle leaves nothing, not even a temporary file");
	bundle = repoBundleNew(repo, &param);
	ok(repoBundleEnd(bundle, &err) && next == 3 &&
	   filesCount(tsprintf("%s/backup/B/bundle", config.path), "") == 2,
	   "bundles: End without an entry makes no object");
	repoClose(repo);
}

static void
testUnencrypted(const char *key1)
{
	DrError		err;
	ConfigRepo	config = configMake("plain", NULL);
	ConfigRepo	encrypted = configMake("plain", key1);
	Repo	   *repo;
	const CodecDataKey *key = (const CodecDataKey *) &err;
	CodecDataKey fake;
	char	   *text;
	size_t		len;
	size_t		contentLen = 200000;
	char	   *content = contentMake(contentLen, 3);
	int			count = -1;

	ok(repoCreate(&config, 0, &err), "create unencrypted");
	text = fileRead(tsprintf("%s/pg_dr.repo", config.path), &len);
	ok(text && strstr(text, "cipher = none\n") && !strstr(text, "kdf"),
	   "unencrypted info file has no kdf fields");
	repo = repoOpen(&config, &err);
	ok(repo != NULL && repoInfoGet(repo)->cipher == CONFIG_CIPHER_NONE, "open unencrypted");
	ok(repoDataKeyNew(repo, &key, &err) && key == NULL, "no data key when unencrypted");
	ok(repoDataKeyCount(repo, &count, &err) && count == 0, "no data keys counted");
	ok(repoObjectPutBuffer(repo, "wal/1", content, contentLen, NULL, NULL, &err),
	   "put unencrypted");
	ok(objectIs(repo, "wal/1", content, contentLen), "get unencrypted");
	memset(&fake, 1, sizeof(fake));
	ok(!repoObjectPutBuffer(repo, "wal/2", "x", 1, &fake, NULL, &err) &&
	   err.code == DR_ERR_INVALID, "unencrypted repository: key refused");
	ok(repoDataKeyGet(repo, fake.id, &err) == NULL && err.code == DR_ERR_KEY,
	   "unencrypted repository: key lookup refused");
	ok(!repoKeyRotate(repo, key1, &err) && err.code == DR_ERR_INVALID,
	   "rotation of an unencrypted repository refused");

	/* a flipped byte is caught by the hash even without encryption */
	{
		char	   *path = tsprintf("%s/wal/1", config.path);
		char	   *data = fileRead(path, &len);
		FILE	   *f;

		data[len / 2] ^= 0x04;
		f = fopen(tsprintf("%s/wal/1f", config.path), "w");
		fwrite(data, 1, len, f);
		fclose(f);
		ok(repoObjectGetBuffer(repo, "wal/1f", &len, contentLen + 10, &err) == NULL &&
		   err.code == DR_ERR_CORRUPT, "unencrypted, flipped byte: CORRUPT");
	}
	repoClose(repo);

	ok(repoOpen(&encrypted, &err) == NULL && err.code == DR_ERR_CONFIG,
	   "unencrypted repository opened as encrypted: CONFIG");
}

/*
 * What an interrupted rotation leaves: every data key wrapped under a new
 * KEK (passphrase in newKeyFile, random salt), the info file untouched.
 */
static int
simulateCrashAfterStep1(const ConfigRepo *config, const char *newKeyFile)
{
	DrError		err;
	Repo	   *repo = repoOpen(config, &err);
	const RepoInfo *info = repoInfoGet(repo);
	char	   *pass;
	KeyKek		oldKek;
	KeyKek		newKek;
	uint8		salt[KEY_SALT_SIZE];
	char	   *keysDir = tsprintf("%s/keys", config->path);
	char		kekHex[2 * KEY_KEK_ID_SIZE + 1];
	char		newKekHex[2 * KEY_KEK_ID_SIZE + 1];
	DIR		   *d;
	struct dirent *de;
	int			written = 0;

	pass = keyPassphraseLoad(config->cipherKeyFile, &err);
	keyKekDerive(pass, info->kdfSalt, info->kdfIterations, &oldKek, &err);
	pfree(pass);
	pass = keyPassphraseLoad(newKeyFile, &err);
	keyRandom(salt, sizeof(salt), &err);
	keyKekDerive(pass, salt, info->kdfIterations, &newKek, &err);
	pfree(pass);
	hexEncode(oldKek.id, KEY_KEK_ID_SIZE, HEX_LOWER, kekHex);
	hexEncode(newKek.id, KEY_KEK_ID_SIZE, HEX_LOWER, newKekHex);

	d = opendir(keysDir);
	while ((de = readdir(d)) != NULL)
	{
		uint8		keyId[CODEC_KEY_ID_SIZE];
		char		idHex[2 * CODEC_KEY_ID_SIZE + 1];
		char	   *path;
		char	   *wrapped;
		size_t		len;
		uint8		rewrapped[KEY_WRAPPED_SIZE];
		CodecDataKey key;
		FILE	   *f;

		if (strlen(de->d_name) != 49 || strcmp(de->d_name + 33, kekHex) != 0)
			continue;
		memcpy(idHex, de->d_name, 32);
		idHex[32] = '\0';
		hexDecode(idHex, HEX_ANY, keyId, CODEC_KEY_ID_SIZE);
		path = tsprintf("%s/%s", keysDir, de->d_name);
		wrapped = fileRead(path, &len);
		if (!keyUnwrap(&oldKek, keyId, (uint8 *) wrapped, &key, &err) ||
			!keyWrap(&newKek, &key, rewrapped, &err))
			diag("simulation: %s", err.message);
		f = fopen(tsprintf("%s/%s.%s", keysDir, idHex, newKekHex), "w");
		fwrite(rewrapped, 1, sizeof(rewrapped), f);
		fclose(f);
		written++;
	}
	closedir(d);
	repoClose(repo);
	return written;
}

static void
testRotation(const char *key1, const char *key2, const char *key3,
			 const char *keyShort, const char *keyOpen)
{
	DrError		err;
	ConfigRepo	config1 = configMake("rot", key1);
	ConfigRepo	config2 = configMake("rot", key2);
	ConfigRepo	config3 = configMake("rot", key3);
	Repo	   *repo;
	const CodecDataKey *keyA;
	const CodecDataKey *keyB;
	const CodecDataKey *keyC;
	uint8		kekBefore[KEY_KEK_ID_SIZE];
	char		kekHex[2 * KEY_KEK_ID_SIZE + 1];
	char	   *keysDir = tsprintf("%s/keys", config1.path);
	size_t		lenA = 100000;
	size_t		lenB = 70000;
	char	   *contentA = contentMake(lenA, 4);
	char	   *contentB = contentMake(lenB, 5);
	int			count = -1;

	ok(repoCreate(&config1, KDF_ITERATIONS, &err), "rotation: create");
	repo = repoOpen(&config1, &err);
	ok(repoDataKeyNew(repo, &keyA, &err) && repoDataKeyNew(repo, &keyB, &err),
	   "rotation: two data keys");
	ok(repoObjectPutBuffer(repo, "backup/a/f", contentA, lenA, keyA, NULL, &err) &&
	   repoObjectPutBuffer(repo, "backup/b/f", contentB, lenB, keyB, NULL, &err),
	   "rotation: two objects");
	memcpy(kekBefore, repoInfoGet(repo)->kekId, KEY_KEK_ID_SIZE);

	/* refused rotations change nothing */
	ok(!repoKeyRotate(repo, keyShort, &err) && err.code == DR_ERR_KEY,
	   "rotation to a short passphrase: KEY");
	ok(!repoKeyRotate(repo, keyOpen, &err) && err.code == DR_ERR_PERMISSION,
	   "rotation to a key file of mode 0644: PERMISSION");
	ok(memcmp(kekBefore, repoInfoGet(repo)->kekId, KEY_KEK_ID_SIZE) == 0 &&
	   filesCount(keysDir, "") == 2, "refused rotations changed nothing");

	if (!ok(repoKeyRotate(repo, key2, &err), "rotate"))
		diag("%s", err.message);
	ok(memcmp(kekBefore, repoInfoGet(repo)->kekId, KEY_KEK_ID_SIZE) != 0,
	   "rotation: new kek id");
	hexEncode(kekBefore, KEY_KEK_ID_SIZE, HEX_LOWER, kekHex);
	is_int(filesCount(keysDir, kekHex), 0, "rotation: old wraps removed");
	ok(repoDataKeyCount(repo, &count, &err) && count == 2, "rotation: both keys re-wrapped");
	is_str(repoConfig(repo)->cipherKeyFile, key2, "rotation: handle names the new key file");
	ok(repoDataKeyNew(repo, &keyC, &err) &&
	   repoObjectPutBuffer(repo, "backup/c/f", contentA, lenA, keyC, NULL, &err),
	   "rotation: the handle keeps working");
	repoClose(repo);

	ok(repoOpen(&config1, &err) == NULL && err.code == DR_ERR_KEY,
	   "rotation: old passphrase refused");
	repo = repoOpen(&config2, &err);
	ok(repo != NULL, "rotation: new passphrase opens");
	ok(objectIs(repo, "backup/a/f", contentA, lenA) &&
	   objectIs(repo, "backup/b/f", contentB, lenB) &&
	   objectIs(repo, "backup/c/f", contentA, lenA),
	   "rotation: objects from before and after readable with the new passphrase");
	memcpy(kekBefore, repoInfoGet(repo)->kekId, KEY_KEK_ID_SIZE);
	repoClose(repo);

	/* a crash between step 1 and the switch */
	is_int(simulateCrashAfterStep1(&config2, key3), 3, "crash: new wraps written");
	is_int(filesCount(keysDir, ""), 6, "crash: old and new wraps side by side");
	repo = repoOpen(&config2, &err);
	ok(repo != NULL, "crash: the old passphrase still opens");
	ok(repo && objectIs(repo, "backup/b/f", contentB, lenB), "crash: objects readable");
	ok(repo && repoDataKeyCount(repo, &count, &err) && count == 3,
	   "crash: the current keys counted once");
	ok(repoOpen(&config3, &err) == NULL && err.code == DR_ERR_KEY,
	   "crash: the new passphrase does not open yet");

	if (!ok(repoKeyRotate(repo, key3, &err), "crash: a later rotation completes"))
		diag("%s", err.message);
	repoClose(repo);
	hexEncode(kekBefore, KEY_KEK_ID_SIZE, HEX_LOWER, kekHex);
	is_int(filesCount(keysDir, kekHex), 0, "crash: wraps of the replaced passphrase removed");
	ok(repoOpen(&config2, &err) == NULL && err.code == DR_ERR_KEY,
	   "crash: the replaced passphrase is refused");
	repo = repoOpen(&config3, &err);
	ok(repo && objectIs(repo, "backup/a/f", contentA, lenA) &&
	   objectIs(repo, "backup/b/f", contentB, lenB) &&
	   objectIs(repo, "backup/c/f", contentA, lenA),
	   "crash: every object readable with the final passphrase");
	ok(repo && repoDataKeyCount(repo, &count, &err) && count == 3,
	   "crash: three keys in the final generation");
	repoClose(repo);
}

/* ---- the WAL archive read back (repo_archive.c) ---- */

#define ARCH_SEG		(1024 * 1024)
#define ARCH_SYSID		UINT64CONST(7400000000000000007)

/* Store content as the archived file name, bound to binding (or not). */
static bool
archiveStore(Repo *repo, const CodecDataKey *key, const char *name,
			 const char *content, size_t len, const char *binding)
{
	RepoWriteParam param = {0};
	RepoObjectWrite *write;
	DrError		err;
	char	   *path = repoArchiveWalPath(name, &err);

	param.binding = binding;
	write = repoObjectWriteBeginParam(repo, path, key, &param, &err);
	pfree(path);
	if (write == NULL || !repoObjectWrite(write, content, len, &err))
	{
		diag("%s: %s", name, err.message);
		if (write)
			repoObjectWriteAbort(write);
		return false;
	}
	return repoObjectWriteEnd(write, NULL, &err);
}

/* A segment of segno (1 MB segments, timeline 1) of a cluster. */
static char *
archiveSegment(uint64 segno, uint64 sysid, size_t len)
{
	char	   *buf = contentMake(len, (int) segno);
	XLogLongPageHeaderData page;

	memset(&page, 0, sizeof(page));
	page.std.xlp_magic = XLOG_PAGE_MAGIC;
	page.std.xlp_info = XLP_LONG_HEADER;
	page.std.xlp_tli = 1;
	page.std.xlp_pageaddr = segno * ARCH_SEG;
	page.xlp_sysid = sysid;
	page.xlp_seg_size = ARCH_SEG;
	page.xlp_xlog_blcksz = XLOG_BLCKSZ;
	memcpy(buf, &page, sizeof(page));
	return buf;
}

typedef struct ArchiveSink
{
	uint64		bytes;
} ArchiveSink;

static bool
archiveSinkWrite(void *arg, const void *buf, size_t len, DrError *err)
{
	((ArchiveSink *) arg)->bytes += len;
	return true;
}

/* repoArchiveRead into a counting sink; *bytes what reached it. */
static bool
archiveRead(Repo *repo, const char *name, uint32 segSize, uint64 sysid,
			uint64 *bytes, DrError *err)
{
	RepoArchiveExpect expect = {segSize, sysid};
	ArchiveSink counter = {0};
	CodecSink sink = {archiveSinkWrite, &counter};
	bool		result;

	drErrorClear(err);
	result = repoArchiveRead(repo, name, &expect, sink, NULL, err);
	*bytes = counter.bytes;
	return result;
}

static void
testArchive(const char *key1)
{
	DrError		err;
	ConfigRepo	config = configMake("archive", key1);
	Repo	   *repo;
	const CodecDataKey *key = NULL;
	const char *seg5 = "000000010000000000000005";
	const char *seg6 = "000000010000000000000006";
	const char *seg7 = "000000010000000000000007";
	const char *seg8 = "000000010000000000000008";
	const char *seg9 = "000000010000000000000009";
	const char *segA = "00000001000000000000000A";
	const char *history = "1\t0/500000\tno recovery target specified\n";
	uint64		bytes;
	char	   *text;
	size_t		len;
	char	   *path;
	int			fd;
	char		byte;

	ok(repoCreate(&config, KDF_ITERATIONS, &err), "archive repository created");
	repo = repoOpen(&config, &err);
	ok(repo != NULL && repoDataKeyNew(repo, &key, &err), "opened, with a data key");
	if (repo == NULL)
		return;

	ok(archiveStore(repo, key, seg5, archiveSegment(5, ARCH_SYSID, ARCH_SEG), ARCH_SEG, seg5) &&
	   archiveStore(repo, key, seg6, archiveSegment(6, ARCH_SYSID, ARCH_SEG), ARCH_SEG, seg6) &&
	   /* what copying segment 6's object to the name of 7 makes */
	   archiveStore(repo, key, seg7, archiveSegment(6, ARCH_SYSID, ARCH_SEG), ARCH_SEG, seg6) &&
	   /* segment 5 under its .partial name */
	   archiveStore(repo, key, tsprintf("%s.partial", seg5),
					archiveSegment(5, ARCH_SYSID, ARCH_SEG), ARCH_SEG, seg5) &&
	   /* unbound, as written before bindings: right, and another's */
	   archiveStore(repo, key, seg8, archiveSegment(8, ARCH_SYSID, ARCH_SEG), ARCH_SEG, NULL) &&
	   archiveStore(repo, key, segA, archiveSegment(9, ARCH_SYSID, ARCH_SEG), ARCH_SEG, NULL) &&
	   archiveStore(repo, key, seg9, archiveSegment(9, ARCH_SYSID, 2 * ARCH_SEG), 2 * ARCH_SEG, seg9) &&
	   archiveStore(repo, key, "00000002.history", history, strlen(history), "00000002.history") &&
	   archiveStore(repo, key, "00000003.history", history, strlen(history), "00000002.history"),
	   "archived files stored");

	ok(archiveRead(repo, seg5, ARCH_SEG, ARCH_SYSID, &bytes, &err) && bytes == ARCH_SEG,
	   "a bound segment of its name: whole, into the sink");
	ok(archiveRead(repo, seg8, ARCH_SEG, ARCH_SYSID, &bytes, &err) && bytes == ARCH_SEG,
	   "an unbound segment of its name passes");
	ok(archiveRead(repo, seg5, 0, 0, &bytes, &err),
	   "without a segment size nor a system identifier: the segment's own");

	ok(!archiveRead(repo, seg7, ARCH_SEG, ARCH_SYSID, &bytes, &err) &&
	   err.code == DR_ERR_CORRUPT &&
	   strstr(err.message, tsprintf("WAL segment %s holds the WAL of segment %s", seg7, seg6)) != NULL &&
	   bytes == 0, "segment 6's object under the name of 7: both named, nothing handed out: %s",
	   err.message);
	ok(!archiveRead(repo, segA, ARCH_SEG, ARCH_SYSID, &bytes, &err) &&
	   err.code == DR_ERR_CORRUPT && strstr(err.message, seg9) != NULL && bytes == 0,
	   "an unbound object of another segment: its page header tells: %s", err.message);
	ok(!archiveRead(repo, tsprintf("%s.partial", seg5), ARCH_SEG, ARCH_SYSID, &bytes, &err) &&
	   err.code == DR_ERR_CORRUPT && strstr(err.message, "bound to another name") != NULL &&
	   bytes == 0, "a segment under its .partial name: its binding tells: %s", err.message);
	ok(!archiveRead(repo, seg5, ARCH_SEG, ARCH_SYSID + 1, &bytes, &err) &&
	   err.code == DR_ERR_CORRUPT && strstr(err.message, "another cluster") != NULL &&
	   bytes == 0, "another cluster's segment: %s", err.message);
	ok(!archiveRead(repo, seg9, ARCH_SEG, ARCH_SYSID, &bytes, &err) &&
	   err.code == DR_ERR_CORRUPT &&
	   strstr(err.message, "holds 2097152 bytes, not a segment of 1048576") != NULL,
	   "two segments' worth under one name: %s", err.message);
	ok(!archiveRead(repo, "00000001000000000000000B", ARCH_SEG, ARCH_SYSID, &bytes, &err) &&
	   err.code == DR_ERR_NOT_FOUND && strstr(err.message, "is missing from the archive") != NULL,
	   "missing: NOT_FOUND");

	text = repoArchiveGetBuffer(repo, "00000002.history", &len, 1024, &err);
	ok(text != NULL && len == strlen(history) && strcmp(text, history) == 0,
	   "a history file of its name, whole");
	if (text)
		pfree(text);
	ok(repoArchiveGetBuffer(repo, "00000003.history", &len, 1024, &err) == NULL &&
	   err.code == DR_ERR_CORRUPT && strstr(err.message, "bound to another name") != NULL,
	   "a history file under another one's name: %s", err.message);

	/* one flipped byte */
	path = repoArchiveWalPath(seg6, &err);
	fd = open(tsprintf("%s/%s", config.path, path), O_RDWR);
	pfree(path);
	{
		struct stat st;
		off_t		middle = (fd >= 0 && fstat(fd, &st) == 0) ? st.st_size / 2 : 0;

		ok(middle > 0 && pread(fd, &byte, 1, middle) == 1, "segment 6's object");
		byte ^= 0x10;
		ok(pwrite(fd, &byte, 1, middle) == 1, "one byte flipped in its middle");
		close(fd);
	}
	ok(!archiveRead(repo, seg6, ARCH_SEG, ARCH_SYSID, &bytes, &err) &&
	   err.code == DR_ERR_CORRUPT &&
	   strstr(err.message, tsprintf("WAL segment %s is damaged", seg6)) != NULL,
	   "a flipped byte: %s", err.message);
	repoClose(repo);
}

/* repoOpenLayout: the layout without the key, and no key work on it. */
static void
testLayoutOpen(const char *key1, const char *key2)
{
	DrError		err;
	ConfigRepo	wrongKey = configMake("repo", key2);
	ConfigRepo	noKey = configMake("repo", "/nonexistent/pg_dr.key");
	Repo	   *repo;
	const CodecDataKey *key = NULL;
	uint8		keyId[CODEC_KEY_ID_SIZE];
	char	  **ids = NULL;
	int			count = -1;

	repo = repoOpen(&wrongKey, &err);
	ok(repo == NULL && err.code == DR_ERR_KEY, "layout: repoOpen with another passphrase fails");

	repo = repoOpenLayout(&wrongKey, &err);
	ok(repo != NULL, "layout: repoOpenLayout with another passphrase opens (no KEK derived)");
	ok(repo != NULL && repoBackupList(repo, &ids, &count, &err) && count >= 0,
	   "layout: backups are listed");
	repoBackupListFree(ids, count);
	ok(repo != NULL && !repoDataKeyNew(repo, &key, &err) &&
	   err.code == DR_ERR_INTERNAL && key == NULL &&
	   strstr(err.message, "opened without its key") != NULL,
	   "layout: no data key is made on it");
	memset(keyId, 0x5a, sizeof(keyId));
	ok(repo != NULL && repoDataKeyGet(repo, keyId, &err) == NULL &&
	   err.code == DR_ERR_INTERNAL, "layout: no data key is read on it");
	ok(repo != NULL && !repoKeyRotate(repo, key1, &err) &&
	   err.code == DR_ERR_INTERNAL, "layout: no rotation on it");
	if (repo)
		repoClose(repo);

	repo = repoOpenLayout(&noKey, &err);
	ok(repo != NULL, "layout: the passphrase file is not even read");
	if (repo)
		repoClose(repo);
}

/* Plant the rotation's heartbeat number 1, written at time t. */
static void
rotationLockPlant(const char *root, int64 t)
{
	char	   *dir = tsprintf("%s/keys/rotation", root);

	mkdir(tsprintf("%s/keys", root), 0700);
	mkdir(dir, 0700);
	fileWrite(tsprintf("%s/lock.0000000000000001", dir),
			  track(repoLockFormat("key-rotation", "", 1, t, "elsewhere", 1)));
}

static void
testRotationWriters(const char *key1, const char *key2)
{
	DrError		err;
	ConfigRepo	config1 = configMake("rotw", key1);
	ConfigRepo	config2 = configMake("rotw", key2);
	Repo	   *writer;
	Repo	   *rotator;
	const CodecDataKey *before;
	const CodecDataKey *after = NULL;
	char	   *keysDir = tsprintf("%s/keys", config1.path);
	char		kekHex[2 * KEY_KEK_ID_SIZE + 1];
	size_t		len = 5000;
	char	   *content = contentMake(len, 6);
	char	   *back;
	size_t		backLen = 0;
	int64		now = (int64) time(NULL);

	ok(repoCreate(&config1, KDF_ITERATIONS, &err), "rotation lock: create");

	/* a live rotation lock: refused, nothing changed */
	rotationLockPlant(config1.path, now);
	rotator = repoOpen(&config1, &err);
	ok(!repoKeyRotate(rotator, key2, &err) && err.code == DR_ERR_EXISTS &&
	   strstr(err.message, "another key rotation") != NULL,
	   "rotation lock: a live lock refuses a rotation");
	repoClose(rotator);
	ok(repoOpen(&config1, &err) != NULL, "rotation lock: the old passphrase still opens");

	/* an expired one (a crashed rotation) is taken over */
	unlink(tsprintf("%s/keys/rotation/lock.0000000000000001", config1.path));
	rotationLockPlant(config1.path, now - REPO_LOCK_EXPIRE - 1);

	/* a writer opens with the old passphrase and makes a key */
	writer = repoOpen(&config1, &err);
	ok(writer != NULL && repoDataKeyNew(writer, &before, &err) &&
	   repoObjectPutBuffer(writer, "backup/w/f", content, len, before, NULL, &err),
	   "rotation lock: a writer made a data key and an object");

	rotator = repoOpen(&config1, &err);
	if (!ok(rotator != NULL && repoKeyRotate(rotator, key2, &err),
			"rotation lock: an expired lock is taken over"))
		diag("%s", err.message);
	repoClose(rotator);
	ok(access(tsprintf("%s/keys/rotation", config1.path), F_OK) != 0,
	   "rotation lock: nothing of it is left");

	/* the writer, still with the old KEK, makes a key after the switch */
	ok(writer != NULL && !repoDataKeyNew(writer, &after, &err) && err.code == DR_ERR_KEY &&
	   strstr(err.message, "was rotated while this process had it open") != NULL &&
	   after == NULL, "writer: a data key made after the switch is given up (KEY)");
	if (writer != NULL)
	{
		hexEncode(repoInfoGet(writer)->kekId, KEY_KEK_ID_SIZE, HEX_LOWER, kekHex);
		is_int(filesCount(keysDir, kekHex), 0, "writer: no wrap under the old passphrase is left");
		repoClose(writer);
	}

	/* the key made before the rotation reads with the new passphrase */
	rotator = repoOpen(&config2, &err);
	back = rotator ? repoObjectGetBuffer(rotator, "backup/w/f", &backLen, len, &err) : NULL;
	ok(back != NULL && backLen == len && memcmp(back, content, len) == 0,
	   "writer: its object from before the rotation reads with the new passphrase");
	repoClose(rotator);
}

static void
testKeyCheck(const char *key1, const char *key2)
{
	DrError		err;
	ConfigRepo	config = configMake("repo", key1);
	ConfigRepo	wrong = configMake("repo", key2);
	char	   *copy = tmpPath("key-check");
	ConfigRepo	copied = configMake("repo", copy);
	uint64		before = repoKeyCheckDerived();
	char	   *text;
	size_t		len;
	FILE	   *f;

	ok(repoKeyCheck(&config, &err), "key check: the right passphrase");
	is_int(repoKeyCheckDerived() - before, 1, "... derived once");
	ok(repoKeyCheck(&config, &err), "key check again");
	is_int(repoKeyCheckDerived() - before, 1, "... remembered: not derived again");

	ok(!repoKeyCheck(&wrong, &err) && err.code == DR_ERR_KEY,
	   "key check, wrong passphrase: KEY");
	ok(!repoKeyCheck(&wrong, &err) && err.code == DR_ERR_KEY,
	   "... again: KEY");
	is_int(repoKeyCheckDerived() - before, 3, "... a mismatch is never remembered");

	/* a key file that matched, then rewritten with another passphrase */
	text = fileRead(key1, &len);
	f = fopen(copy, "w");
	fwrite(text, 1, len, f);
	fclose(f);
	chmod(copy, 0600);
	ok(repoKeyCheck(&copied, &err), "a copy of the passphrase file matches");
	ok(repoKeyCheck(&copied, &err), "... remembered");
	is_int(repoKeyCheckDerived() - before, 4, "... derived once");
	text = fileRead(key2, &len);
	f = fopen(copy, "w");
	fwrite(text, 1, len, f);
	fclose(f);
	ok(!repoKeyCheck(&copied, &err) && err.code == DR_ERR_KEY,
	   "the same file rewritten with another passphrase: checked again, KEY");
	is_int(repoKeyCheckDerived() - before, 5, "... derived again");
}

int
main(void)
{
	char	   *key1;
	char	   *key2;
	char	   *key3;
	char	   *keyShort;
	char	   *keyOpen;

	testTmpRootMake(tmpRoot);
	key1 = keyFileWrite("key1", 48, 1, 0600);
	key2 = keyFileWrite("key2", 48, 2, 0600);
	key3 = keyFileWrite("key3", 64, 3, 0600);
	keyShort = keyFileWrite("key-short", 16, 4, 0600);
	keyOpen = keyFileWrite("key-open", 48, 5, 0644);

	testCreateOpen(key1, key2, keyShort, keyOpen);
	testKeyCheck(key1, key2);
	testInfoErrors(key1);
	testKeysObjects(key1);
	testLayoutOpen(key1, key2);
	testUnencrypted(key1);
	testRotation(key1, key2, key3, keyShort, keyOpen);
	testRotationWriters(key1, key2);
	testArchive(key1);
	testOrigin(key1, key2);
	testBundles(key1);

	testTreeRemove(tmpRoot);
	trackFree();
	return tapDone();
}
