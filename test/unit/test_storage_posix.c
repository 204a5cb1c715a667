/*-------------------------------------------------------------------------
 * test_storage_posix.c
 *	  Unit tests of src/storage/storage.c and the posix driver
 *	  (src/storage/posix/).
 *
 * Covers: storagePosixNew (relative root, root that is a file, root
 * created on first write with mkdir -p, modes 0640/0750), name and
 * features; put/get round trip; a big object streamed in odd-sized pieces
 * through the fixed write buffer and read back in small pieces; no
 * overwrite (DR_ERR_EXISTS at begin and in a race at end, content
 * unchanged, no temp file left); replace; abort leaves nothing; a failed
 * write is never committed (generic layer, with a failing fake driver);
 * temp names never listed and refused as object names; list (files, dirs,
 * sizes, missing dir, callback stopping with an error), exists, remove
 * (also of a missing object); storageRemoveTree (nested objects, empty
 * and temp entries, siblings kept, missing tree, root and bad paths);
 * paged listing (storageListOpen: name order, pages of 1 to 3 entries
 * and the default, temp names skipped, a missing directory and a file's
 * name list nothing, entries removed while listed returned once, bad
 * paths refused; pages cut from a fake driver's unordered plain listing;
 * a driver's page out of order, longer than asked for, or empty with
 * more to come, is DR_ERR_IO);
 * storageRemoveDir (empty, non-empty refused, missing, root); bad paths ("../x", "/abs", "a//b", "a/./b",
 * "", "a/", "a/..") refused by every call; read of a missing object (and
 * below a file) is DR_ERR_NOT_FOUND; storageGet limits and terminator;
 * codec sink/source adapters; a read-only directory gives a DR_ERR_IO
 * with EACCES (as root, checked in a child running as nobody); ranged
 * reads (storageReadBeginRange), by the posix driver's lseek and emulated
 * by storage.c over a driver without them: ranges at the start, in the
 * middle, to the end, past the end (short, then 0), beyond the object
 * (nothing), of length 0, read in odd pieces; missing objects, bad paths
 * and temp names refused.  The range cache (storageRangeCacheSet) over a
 * driver that counts its ranged reads: every range above read through it
 * gives the same bytes; a block fetched once serves the other ranges in
 * it; a range across a window boundary or longer than a window goes to
 * the driver; the least recently used block goes, and a range of it
 * wanted again soon after goes to the driver alone (not fetched whole
 * again); a block a read is serving from is kept (with every slot in use,
 * the driver serves); a range past the object's end; a missing object; a
 * read outliving the cache (turned off, set anew) keeps its block; off
 * again: the driver.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/stringinfo.h"

#include "storage/storage.h"
#include "storage/storage_driver.h"
#include "tap.h"
#include "test_support.h"

static char tmpRoot[] = "/tmp/test_storage_posix.XXXXXX";

/* Number of entries in an absolute directory whose name contains ".tmp.". */
static int
tempFileCount(const char *dir)
{
	DIR		   *d = opendir(dir);
	struct dirent *de;
	int			count = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".tmp.") != NULL)
			count++;
	closedir(d);
	return count;
}

static bool
objectIs(Storage *storage, const char *path, const char *content)
{
	DrError		err;
	size_t		len;
	char	   *got = storageGet(storage, path, &len, 1024, &err);
	bool		result;

	if (got == NULL)
		return false;
	result = len == strlen(content) && memcmp(got, content, len) == 0;
	pfree(got);
	return result;
}

static void
testNew(void)
{
	DrError		err;
	Storage    *storage;
	char	   *file = psprintf("%s/plainfile", tmpRoot);
	char	   *root = psprintf("%s/new/deep/root/", tmpRoot);
	struct stat st;
	FILE	   *f;

	ok(storagePosixNew("relative/path", &err) == NULL &&
	   err.code == DR_ERR_INVALID, "relative root refused");
	ok(storagePosixNew("/", &err) == NULL && err.code == DR_ERR_INVALID,
	   "root directory refused");
	f = fopen(file, "w");
	fclose(f);
	ok(storagePosixNew(file, &err) == NULL && err.code == DR_ERR_INVALID,
	   "root that is a file refused");
	unlink(file);

	storage = storagePosixNew(root, &err);
	ok(storage != NULL, "missing root accepted");
	is_str(storageName(storage), "posix", "name");
	is_int(storageFeatures(storage),
		   STORAGE_FEATURE_ATOMIC_PUT | STORAGE_FEATURE_NO_OVERWRITE |
		   STORAGE_FEATURE_PATH | STORAGE_FEATURE_FSYNC, "features");
	ok(storagePut(storage, "a/b/obj", "x", 1, NULL, &err), "put creates root and dirs");
	pfree(root);
	root = psprintf("%s/new/deep/root/a/b", tmpRoot);
	ok(stat(root, &st) == 0 && (st.st_mode & 0777) == 0750, "directory mode 0750");
	pfree(root);
	root = psprintf("%s/new/deep/root/a/b/obj", tmpRoot);
	ok(stat(root, &st) == 0 && (st.st_mode & 0777) == 0640, "file mode 0640");
	ok(objectIs(storage, "a/b/obj", "x"), "round trip");
	storageFree(storage);
	pfree(root);
	pfree(file);
}

static void
testRoundTrip(Storage *storage, const char *rootDir)
{
	DrError		err;
	StorageWriteParam replace = {.replace = true};
	StorageWrite *w1;
	StorageWrite *w2;
	size_t		len;
	char	   *got;
	bool		exists;
	char	   *dir;

	ok(storagePut(storage, "obj", "hello", 5, NULL, &err), "put");
	ok(objectIs(storage, "obj", "hello"), "get returns what put wrote");
	got = storageGet(storage, "obj", &len, 5, &err);
	ok(got != NULL && len == 5 && got[5] == '\0', "get at exactly maxLen, terminated");
	if (got)
		pfree(got);
	got = storageGet(storage, "obj", &len, 4, &err);
	ok(got == NULL && err.code == DR_ERR_INVALID, "get above maxLen refused");
	ok(storagePut(storage, "empty", "", 0, NULL, &err), "put empty object");
	got = storageGet(storage, "empty", &len, 0, &err);
	ok(got != NULL && len == 0, "get empty object");
	if (got)
		pfree(got);

	/* no overwrite, content unchanged */
	ok(!storagePut(storage, "obj", "other", 5, NULL, &err) &&
	   err.code == DR_ERR_EXISTS, "put on an existing object: EXISTS");
	ok(strstr(err.message, "already exists") != NULL, "exists message");
	ok(objectIs(storage, "obj", "hello"), "existing content unchanged");

	/* the race: both writers began before either ended */
	w1 = storageWriteBegin(storage, "race", NULL, &err);
	w2 = storageWriteBegin(storage, "race", NULL, &err);
	ok(w1 && w2, "two writers begin");
	ok(storageWrite(w1, "first", 5, &err) && storageWrite(w2, "second", 6, &err),
	   "both write");
	ok(storageWriteEnd(w1, &err), "first writer ends");
	ok(!storageWriteEnd(w2, &err) && err.code == DR_ERR_EXISTS,
	   "second writer: EXISTS at end");
	ok(objectIs(storage, "race", "first"), "first writer's content kept");
	is_int(tempFileCount(rootDir), 0, "no temp file left behind");

	/* replace */
	ok(storagePut(storage, "obj", "replaced", 8, &replace, &err), "replace");
	ok(objectIs(storage, "obj", "replaced"), "replaced content");
	ok(storagePut(storage, "fresh", "r", 1, &replace, &err), "replace of a missing object");

	/* abort */
	w1 = storageWriteBegin(storage, "sub/aborted", NULL, &err);
	ok(w1 && storageWrite(w1, "data", 4, &err), "write to be aborted");
	storageWriteAbort(w1);
	ok(storageExists(storage, "sub/aborted", &exists, &err) && !exists,
	   "aborted write not visible");
	dir = psprintf("%s/sub", rootDir);
	is_int(tempFileCount(dir), 0, "aborted write left no temp file");
	pfree(dir);
	storageWriteAbort(NULL);
	ok(true, "abort of NULL is harmless");

	/* missing */
	ok(storageReadBegin(storage, "missing", &err) == NULL &&
	   err.code == DR_ERR_NOT_FOUND, "read of a missing object: NOT_FOUND");
	ok(strstr(err.message, "/missing\"") != NULL, "message names the file");
	ok(storageGet(storage, "obj/below", &len, 10, &err) == NULL &&
	   err.code == DR_ERR_NOT_FOUND, "read below a file: NOT_FOUND");
	ok(storageReadBegin(storage, "sub", &err) == NULL &&
	   err.code == DR_ERR_INVALID, "read of a directory refused");
}

/*
 * Deferred writes: complete and visible at WriteEnd, never overwriting,
 * durable at the end of the batch begun before them.
 */
static void
testBatch(Storage *storage, const char *rootDir)
{
	DrError		err;
	StorageWriteParam deferred = {.deferSync = true};
	StorageBatch *batch;
	StorageWrite *w;
	Storage    *missing;
	char	   *dir;

	batch = storageBatchBegin(storage, &err);
	ok(batch != NULL, "batch begins");
	ok(storagePut(storage, "deferred/a/b/obj", "later", 5, &deferred, &err),
	   "deferred put into new directories");
	ok(objectIs(storage, "deferred/a/b/obj", "later"),
	   "a deferred object is visible before the batch ends");
	ok(!storagePut(storage, "deferred/a/b/obj", "other", 5, &deferred, &err) &&
	   err.code == DR_ERR_EXISTS, "a deferred put does not overwrite either");
	w = storageWriteBegin(storage, "deferred/aborted", &deferred, &err);
	ok(w && storageWrite(w, "x", 1, &err), "deferred write to be aborted");
	storageWriteAbort(w);
	dir = psprintf("%s/deferred", rootDir);
	is_int(tempFileCount(dir), 0, "no temp file left by deferred writes");
	pfree(dir);
	ok(storageBatchEnd(batch, &err), "batch ends: syncfs succeeds");
	ok(objectIs(storage, "deferred/a/b/obj", "later"), "and the object is still there");

	batch = storageBatchBegin(storage, &err);
	ok(batch != NULL, "a second batch begins");
	storageBatchAbort(batch);
	storageBatchAbort(NULL);
	ok(true, "batches abort, NULL too");

	dir = psprintf("%s/not-there", rootDir);
	missing = storagePosixNew(dir, &err);
	ok(missing != NULL && storageBatchBegin(missing, &err) == NULL &&
	   err.code == DR_ERR_IO && strstr(err.message, "not-there") != NULL,
	   "a batch needs the repository directory: IO error naming it");
	storageFree(missing);
	pfree(dir);
}

/* A byte of the test pattern at an offset. */
static inline char
patternAt(uint64 offset)
{
	return (char) ((offset * 7 + (offset >> 13)) & 0xff);
}

static void
testBig(Storage *storage)
{
	const uint64 total = 40 * 1024 * 1024 + 12345;
	static const size_t pieces[] = {1, 7, 300 * 1024, 64, 1024 * 1024, 5000};
	char	   *buf = palloc(1024 * 1024);
	DrError		err;
	StorageWrite *w;
	StorageRead *r;
	uint64		offset = 0;
	bool		good = true;
	int			i = 0;
	char	   *full;
	struct stat st;

	w = storageWriteBegin(storage, "big/object", NULL, &err);
	ok(w != NULL, "big: begin");
	while (offset < total && good)
	{
		size_t		n = Min(pieces[i++ % lengthof(pieces)], total - offset);

		for (size_t j = 0; j < n; j++)
			buf[j] = patternAt(offset + j);
		good = storageWrite(w, buf, n, &err);
		offset += n;
	}
	ok(good, "big: streamed in odd pieces");
	ok(storageWriteEnd(w, &err), "big: end");
	full = psprintf("%s/big/object", tmpRoot);
	ok(stat(full, &st) == 0 && (uint64) st.st_size == total, "big: size on disk");
	pfree(full);

	r = storageReadBegin(storage, "big/object", &err);
	offset = 0;
	good = r != NULL;
	while (good)
	{
		ssize_t		n = storageRead(r, buf, 65536 + 3, &err);

		if (n <= 0)
		{
			good = n == 0;
			break;
		}
		for (ssize_t j = 0; j < n && good; j++)
			good = buf[j] == patternAt(offset + j);
		offset += n;
	}
	ok(good && offset == total, "big: read back in small pieces, content intact");
	storageReadEnd(r);
	pfree(buf);
}

typedef struct ListState
{
	int			files;
	int			dirs;
	uint64		bytes;
	bool		sawTemp;
	int			stopAfter;		/* 0 = never */
} ListState;

static bool
listCallback(void *arg, const StorageInfo *info, DrError *err)
{
	ListState  *state = arg;

	if (strstr(info->name, ".tmp.") != NULL)
		state->sawTemp = true;
	if (info->isDir)
		state->dirs++;
	else
	{
		state->files++;
		state->bytes += info->size;
	}
	if (state->stopAfter && state->files + state->dirs >= state->stopAfter)
		return drErrorSet(err, DR_ERR_INVALID, "stopped by the callback");
	return true;
}

static void
testList(Storage *storage)
{
	DrError		err;
	ListState	state = {0};
	bool		exists;
	char	   *tmp;
	FILE	   *f;

	ok(storagePut(storage, "l/one", "1", 1, NULL, &err) &&
	   storagePut(storage, "l/two", "22", 2, NULL, &err) &&
	   storagePut(storage, "l/d/three", "333", 3, NULL, &err), "list: objects");

	/* a temp file as a crashed writer would leave it */
	tmp = psprintf("%s/l/three.tmp.12345.6", tmpRoot);
	f = fopen(tmp, "w");
	fclose(f);

	ok(storageList(storage, "l", listCallback, &state, &err), "list");
	is_int(state.files, 2, "list: two files");
	is_int(state.dirs, 1, "list: one directory");
	is_int(state.bytes, 3, "list: sizes");
	ok(!state.sawTemp, "list: temp file skipped");

	ok(storageExists(storage, "l/three.tmp.12345.6", &exists, &err) == false &&
	   err.code == DR_ERR_INVALID, "temp name refused by exists");
	ok(!storagePut(storage, "x.tmp.1.2", "x", 1, NULL, &err) &&
	   err.code == DR_ERR_INVALID, "temp name refused by put");
	ok(storagePut(storage, "x.tmp.1.2.y", "x", 1, NULL, &err) &&
	   storagePut(storage, "x.tmp.a.2", "x", 1, NULL, &err) &&
	   storagePut(storage, ".tmp.1.2", "x", 1, NULL, &err),
	   "names merely resembling temp names are objects");
	unlink(tmp);
	pfree(tmp);

	memset(&state, 0, sizeof(state));
	ok(storageList(storage, "no/such/dir", listCallback, &state, &err) &&
	   state.files + state.dirs == 0, "missing dir lists nothing");

	memset(&state, 0, sizeof(state));
	state.stopAfter = 1;
	ok(!storageList(storage, "l", listCallback, &state, &err) &&
	   err.code == DR_ERR_INVALID &&
	   strcmp(err.message, "stopped by the callback") == 0,
	   "callback stops the listing with its error");

	memset(&state, 0, sizeof(state));
	ok(storageList(storage, "", listCallback, &state, &err) && state.dirs >= 1,
	   "list of the root");

	ok(storageExists(storage, "l/one", &exists, &err) && exists, "exists: object");
	ok(storageExists(storage, "l/nope", &exists, &err) && !exists, "exists: missing");
	ok(storageExists(storage, "l/d", &exists, &err) && !exists,
	   "exists: a directory is not an object");
	ok(storageExists(storage, "l/one/below", &exists, &err) && !exists,
	   "exists: below a file");
	ok(storageRemove(storage, "l/one", &err), "remove");
	ok(storageExists(storage, "l/one", &exists, &err) && !exists, "removed");
	ok(storageRemove(storage, "l/one", &err), "remove of a missing object");
	ok(storageRemove(storage, "l/zzz/one", &err), "remove in a missing dir");
}

static void
testRemoveTree(Storage *storage)
{
	DrError		err;
	struct stat st;
	char	   *full;
	char	   *tmp;
	FILE	   *f;

	ok(storagePut(storage, "t/a/one", "1", 1, NULL, &err) &&
	   storagePut(storage, "t/a/b/two", "2", 1, NULL, &err) &&
	   storagePut(storage, "t/a/b/c/three", "3", 1, NULL, &err) &&
	   storagePut(storage, "t/keep", "k", 1, NULL, &err), "tree: objects");
	full = psprintf("%s/t/a/empty", tmpRoot);
	mkdir(full, 0750);
	pfree(full);
	/* a temp file as a crashed writer leaves it goes too */
	tmp = psprintf("%s/t/a/b/x.tmp.123.4", tmpRoot);
	f = fopen(tmp, "w");
	fclose(f);
	pfree(tmp);

	ok(storageRemoveTree(storage, "t/a", &err), "tree: removed");
	full = psprintf("%s/t/a", tmpRoot);
	ok(stat(full, &st) < 0 && errno == ENOENT, "tree: directory gone");
	pfree(full);
	ok(objectIs(storage, "t/keep", "k"), "tree: sibling kept");
	ok(storageRemoveTree(storage, "t/a", &err), "tree: missing is not an error");
	ok(!storageRemoveTree(storage, "", &err) && err.code == DR_ERR_INVALID,
	   "tree: root refused");
	ok(!storageRemoveTree(storage, "t/../x", &err) && err.code == DR_ERR_INVALID,
	   "tree: bad path refused");
	ok(!storageRemoveDir(storage, "t", &err) && err.code == DR_ERR_IO,
	   "dir: a non-empty directory is not removed");
	ok(objectIs(storage, "t/keep", "k"), "dir: its object is kept");
	full = psprintf("%s/t/empty", tmpRoot);
	mkdir(full, 0750);
	ok(storageRemoveDir(storage, "t/empty", &err) && stat(full, &st) < 0,
	   "dir: an empty directory is removed");
	pfree(full);
	ok(storageRemoveDir(storage, "t/empty", &err), "dir: missing is not an error");
	ok(!storageRemoveDir(storage, "", &err) && err.code == DR_ERR_INVALID,
	   "dir: root refused");
	ok(storageRemoveTree(storage, "t", &err), "tree: parent removed");
	full = psprintf("%s/t", tmpRoot);
	ok(stat(full, &st) < 0 && errno == ENOENT, "tree: parent gone");
	pfree(full);
}

static void
testBadPaths(Storage *storage)
{
	static const char *const bad[] = {
		"../x", "/abs", "a//b", "a/./b", "", "a/", "a/..", ".", "..", "a/../b"
	};
	DrError		err;
	bool		exists;
	size_t		len;
	ListState	state = {0};

	for (size_t i = 0; i < lengthof(bad); i++)
	{
		const char *p = bad[i];
		bool		refused = true;

		refused &= storageWriteBegin(storage, p, NULL, &err) == NULL &&
			err.code == DR_ERR_INVALID;
		refused &= storageReadBegin(storage, p, &err) == NULL &&
			err.code == DR_ERR_INVALID;
		refused &= !storageExists(storage, p, &exists, &err) &&
			err.code == DR_ERR_INVALID;
		refused &= !storageRemove(storage, p, &err) && err.code == DR_ERR_INVALID;
		refused &= storageGet(storage, p, &len, 10, &err) == NULL &&
			err.code == DR_ERR_INVALID;
		if (p[0] != '\0')
			refused &= !storageList(storage, p, listCallback, &state, &err) &&
				err.code == DR_ERR_INVALID;
		ok(refused, "bad path \"%s\" refused everywhere", p);
	}
	storageGet(storage, "a//b", &len, 10, &err);
	is_str(err.message, "invalid storage path \"a//b\": it has an empty component",
		   "bad path message");
}

/*
 * A fake driver whose writes fail, to check that the generic layer never
 * commits a write that failed, even if the caller asks it to.
 */
static int	fakeCommits = 0;
static int	fakeAborts = 0;

static void *
fakeWriteBegin(void *driver, const char *path, const StorageWriteParam *param,
			   DrError *err)
{
	return palloc(1);
}

static bool
fakeWrite(void *handle, const void *buf, size_t len, DrError *err)
{
	return drErrorSet(err, DR_ERR_IO, "disk on fire");
}

static bool
fakeWriteEnd(void *handle, DrError *err)
{
	fakeCommits++;
	pfree(handle);
	return true;
}

static void
fakeWriteAbort(void *handle)
{
	fakeAborts++;
	pfree(handle);
}

/* The rest of the fake driver: never called by these tests. */
static void *
fakeReadBegin(void *driver, const char *path, DrError *err)
{
	drErrorSet(err, DR_ERR_NOT_FOUND, "fake");
	return NULL;
}

static ssize_t
fakeRead(void *handle, void *buf, size_t len, DrError *err)
{
	return -1;
}

static void
fakeReadEnd(void *handle)
{
}

static bool
fakeExists(void *driver, const char *path, bool *exists, DrError *err)
{
	*exists = false;
	return true;
}

static bool
fakeList(void *driver, const char *dir, StorageListCallback callback,
		 void *arg, DrError *err)
{
	return true;
}

static bool
fakeRemove(void *driver, const char *path, DrError *err)
{
	return true;
}

static void
testFailedWrite(void)
{
	static const StorageDriverInterface fake = {
		.name = "fake",
		.writeBegin = fakeWriteBegin,
		.write = fakeWrite,
		.writeEnd = fakeWriteEnd,
		.writeAbort = fakeWriteAbort,
		.readBegin = fakeReadBegin,
		.read = fakeRead,
		.readEnd = fakeReadEnd,
		.exists = fakeExists,
		.list = fakeList,
		.remove = fakeRemove,
	};
	Storage    *storage = storageNew(&fake, NULL);
	DrError		err;
	StorageWrite *w = storageWriteBegin(storage, "x", NULL, &err);

	ok(!storageWrite(w, "a", 1, &err) && err.code == DR_ERR_IO, "fake write fails");
	ok(!storageWriteEnd(w, &err), "end after a failed write fails");
	ok(fakeCommits == 0 && fakeAborts == 1, "failed write aborted, not committed");
	ok(!storagePut(storage, "y", "b", 1, NULL, &err) && fakeAborts == 2,
	   "put with a failing write aborts");
	storageFree(storage);
}

/* A paged listing as text: "name/" for a directory, "name=size" else. */
static char *
listPagedText(Storage *storage, const char *dir, int pageSize, DrError *err)
{
	StorageListParam param = {pageSize};
	StorageList *list = storageListOpen(storage, dir, &param, err);
	const StorageInfo *info;
	StringInfoData buf;
	bool		ok;

	if (list == NULL)
		return NULL;
	initStringInfo(&buf);
	while ((ok = storageListNext(list, &info, err)) && info != NULL)
	{
		if (info->isDir)
			appendStringInfo(&buf, "%s/ ", info->name);
		else
			appendStringInfo(&buf, "%s=" UINT64_FORMAT " ", info->name, info->size);
	}
	storageListClose(list);
	if (!ok)
	{
		pfree(buf.data);
		return NULL;
	}
	return track(buf.data);
}

static void
testListPaged(Storage *storage)
{
	DrError		err;
	StorageList *list;
	const StorageInfo *info;
	char	   *tmp;
	FILE	   *f;
	int			seen = 0;
	bool		ok2;

	ok(storagePut(storage, "p/c", "333", 3, NULL, &err) &&
	   storagePut(storage, "p/a", "1", 1, NULL, &err) &&
	   storagePut(storage, "p/B", "22", 2, NULL, &err) &&
	   storagePut(storage, "p/d/e", "4444", 4, NULL, &err) &&
	   storagePut(storage, "p/a.1", "55555", 5, NULL, &err), "paged: objects");
	tmp = psprintf("%s/p/b.tmp.12345.6", tmpRoot);
	f = fopen(tmp, "w");
	fclose(f);

	for (int page = 0; page <= 3; page++)
		is_str(listPagedText(storage, "p", page, &err), "B=2 a=1 a.1=5 c=3 d/ ",
			   "paged (page of %d): name order, sizes, temp name skipped", page);
	unlink(tmp);
	pfree(tmp);

	is_str(listPagedText(storage, "no/such/dir", 2, &err), "",
		   "paged: a missing directory lists nothing");
	is_str(listPagedText(storage, "p/a", 2, &err), "",
		   "paged: an object's name lists nothing");
	ok(storageListOpen(storage, "p/../x", NULL, &err) == NULL &&
	   err.code == DR_ERR_INVALID, "paged: bad path refused");

	/* removing what was returned (retention does) */
	list = storageListOpen(storage, "p", &(StorageListParam) {1}, &err);
	while ((ok2 = storageListNext(list, &info, &err)) && info != NULL)
	{
		char	   *path = psprintf("p/%s", info->name);

		seen++;
		if (!info->isDir)
			ok2 = storageRemove(storage, path, &err);
		pfree(path);
		if (!ok2)
			break;
	}
	storageListClose(list);
	ok(ok2 && seen == 5, "paged: entries removed while listed, each returned once");
	is_str(listPagedText(storage, "p", 0, &err), "d/ ", "paged: what is left");
	ok(storageRemoveTree(storage, "p", &err), "paged: cleaned up");
}

/* A driver whose plain listing comes in no order, and bad pages. */
static bool
fakeUnorderedList(void *driver, const char *dir, StorageListCallback callback,
				  void *arg, DrError *err)
{
	for (int i = 0; i < 26; i++)
	{
		char		name[8];
		StorageInfo info = {name, false, (uint64) (i * 7) % 26, 0};

		snprintf(name, sizeof(name), "n%02d", (i * 7) % 26);
		if (!callback(arg, &info, err))
			return false;
	}
	return true;
}

static bool
fakeBadPage(void *driver, const char *dir, const char *startAfter, int limit,
			StorageListCallback callback, void *arg, bool *more, DrError *err)
{
	StorageInfo info = {NULL, false, 0, 0};

	*more = strcmp(dir, "empty") == 0;
	if (*more)
		return true;
	if (strcmp(dir, "many") == 0)
	{
		for (int i = 0; i <= limit; i++)
		{
			char		name[8];

			snprintf(name, sizeof(name), "m%02d", i);
			info.name = name;
			if (!callback(arg, &info, err))
				return false;
		}
		return true;
	}
	info.name = "b";
	if (!callback(arg, &info, err))
		return false;
	info.name = "a";
	return callback(arg, &info, err);
}

static void
testListFallback(void)
{
	static StorageDriverInterface fake = {
		.name = "fake",
		.writeBegin = fakeWriteBegin,
		.write = fakeWrite,
		.writeEnd = fakeWriteEnd,
		.writeAbort = fakeWriteAbort,
		.readBegin = fakeReadBegin,
		.read = fakeRead,
		.readEnd = fakeReadEnd,
		.exists = fakeExists,
		.list = fakeUnorderedList,
		.remove = fakeRemove,
	};
	Storage    *storage = storageNew(&fake, NULL);
	StringInfoData expect;
	DrError		err;

	initStringInfo(&expect);
	for (int i = 0; i < 26; i++)
		appendStringInfo(&expect, "n%02d=%d ", i, i);
	for (int page = 1; page <= 27; page += 13)
		is_str(listPagedText(storage, "x", page, &err), expect.data,
			   "pages of %d cut from an unordered plain listing: name order", page);
	storageFree(storage);
	pfree(expect.data);

	fake.listPage = fakeBadPage;
	storage = storageNew(&fake, NULL);
	ok(listPagedText(storage, "x", 5, &err) == NULL && err.code == DR_ERR_IO &&
	   strstr(err.message, "out of order") != NULL,
	   "a driver's page out of order: IO");
	ok(listPagedText(storage, "many", 5, &err) == NULL && err.code == DR_ERR_IO &&
	   strstr(err.message, "more than a page") != NULL,
	   "a driver's page longer than asked for: IO");
	ok(listPagedText(storage, "empty", 5, &err) == NULL && err.code == DR_ERR_IO &&
	   strstr(err.message, "empty page") != NULL,
	   "a driver's empty page with more to come: IO");
	storageFree(storage);
}

static void
testAdapters(Storage *storage)
{
	DrError		err;
	StorageWrite *w = storageWriteBegin(storage, "adapter", NULL, &err);
	CodecSink	sink = storageWriteSink(w);
	StorageRead *r;
	CodecSource source;
	char		buf[16];
	ssize_t		n1;
	ssize_t		n2;
	ssize_t		n3;

	ok(sink.write(sink.arg, "abc", 3, &err) && sink.write(sink.arg, "defgh", 5, &err),
	   "sink writes");
	ok(storageWriteEnd(w, &err), "sink object ends");
	r = storageReadBegin(storage, "adapter", &err);
	source = storageReadSource(r);
	n1 = source.read(source.arg, buf, 5, &err);
	n2 = source.read(source.arg, buf + 5, 10, &err);
	n3 = source.read(source.arg, buf, 10, &err);
	ok(n1 == 5 && n2 == 3 && n3 == 0 && memcmp(buf, "abcdefgh", 8) == 0,
	   "source reads full pieces, short only at the end");
	storageReadEnd(r);
}

/* What the read-only check found, passed from the child to the parent. */
typedef struct ReadOnlyResult
{
	bool		failed;
	DrErrorCode code;
	int			sysErrno;
	char		message[1024];
} ReadOnlyResult;

static void
readOnlyTry(const char *root, ReadOnlyResult *result)
{
	DrError		err;
	Storage    *storage = storagePosixNew(root, &err);

	memset(result, 0, sizeof(*result));
	if (storage == NULL || !storagePut(storage, "obj", "x", 1, NULL, &err))
	{
		result->failed = true;
		result->code = err.code;
		result->sysErrno = err.sysErrno;
		strlcpy(result->message, err.message, sizeof(result->message));
	}
	if (storage)
		storageFree(storage);
}

static void
testReadOnly(void)
{
	char	   *root = psprintf("%s/ro", tmpRoot);
	ReadOnlyResult result;

	mkdir(root, 0555);
	chmod(root, 0555);

	if (geteuid() != 0)
		readOnlyTry(root, &result);
	else
	{
		/* root writes anywhere: try as nobody, in a child */
		int			fds[2];
		pid_t		pid;

		chmod(tmpRoot, 0755);
		if (pipe(fds) != 0)
			abort();
		pid = fork();
		if (pid == 0)
		{
			close(fds[0]);
			if (setgid(65534) != 0 || setuid(65534) != 0)
				_exit(2);
			readOnlyTry(root, &result);
			if (write(fds[1], &result, sizeof(result)) != sizeof(result))
				_exit(3);
			_exit(0);
		}
		close(fds[1]);
		memset(&result, 0, sizeof(result));
		if (read(fds[0], &result, sizeof(result)) != sizeof(result))
			diag("no result from the child");
		close(fds[0]);
		waitpid(pid, NULL, 0);
		chmod(tmpRoot, 0700);
	}

	ok(result.failed && result.code == DR_ERR_IO && result.sysErrno == EACCES,
	   "read-only directory: IO error with EACCES");
	ok(strstr(result.message, "/ro/obj.tmp.") != NULL &&
	   strstr(result.message, "Permission denied") != NULL,
	   "read-only directory: message names the file and the reason");
	diag("%s", result.message);
	chmod(root, 0755);
	pfree(root);
}

/* Read a range whole in pieces of piece bytes; compare with the pattern. */
static bool
rangeCheck(Storage *storage, const char *path, uint64 offset, uint64 length,
		   uint64 objectSize, size_t piece)
{
	DrError		err;
	StorageRead *r = storageReadBeginRange(storage, path, offset, length, &err);
	uint64		want = offset >= objectSize ? 0 : Min(length, objectSize - offset);
	uint64		got = 0;
	char	   *buf = palloc(piece);
	bool		good = r != NULL;

	while (good)
	{
		ssize_t		n = storageRead(r, buf, piece, &err);

		if (n <= 0)
		{
			good = n == 0;
			break;
		}
		for (ssize_t j = 0; j < n && good; j++)
			good = (uint8) buf[j] == (uint8) patternAt(offset + got + j);
		got += n;
	}
	/* the end stays the end */
	if (good)
		good = storageRead(r, buf, piece, &err) == 0;
	if (r)
		storageReadEnd(r);
	pfree(buf);
	if (!good || got != want)
		diag("range " UINT64_FORMAT "+" UINT64_FORMAT ": read " UINT64_FORMAT ", want " UINT64_FORMAT,
			 offset, length, got, want);
	return good && got == want;
}

static void
testRangeOn(Storage *storage, const char *what)
{
	const uint64 size = 300000;
	char	   *buf = palloc(size);
	DrError		err;

	for (uint64 i = 0; i < size; i++)
		buf[i] = patternAt(i);
	drErrorClear(&err);
	ok(storagePut(storage, "range/object", buf, size, NULL, &err),
	   "%s: object to read ranges of", what);
	ok(rangeCheck(storage, "range/object", 0, 100, size, 7),
	   "%s: range at the start", what);
	ok(rangeCheck(storage, "range/object", 12345, 200000, size, 65536 + 3),
	   "%s: range in the middle, in odd pieces", what);
	ok(rangeCheck(storage, "range/object", 12345, 1, size, 4096),
	   "%s: one byte", what);
	ok(rangeCheck(storage, "range/object", size - 1000, 1000, size, 333),
	   "%s: range to the end", what);
	ok(rangeCheck(storage, "range/object", size - 10, 100, size, 4096),
	   "%s: range past the end: short, then 0", what);
	ok(rangeCheck(storage, "range/object", size + 5, 100, size, 4096),
	   "%s: range beyond the object: nothing", what);
	ok(rangeCheck(storage, "range/object", 777, 0, size, 4096),
	   "%s: range of length 0: nothing", what);
	ok(rangeCheck(storage, "range/object", 0, size, size, 1 << 20),
	   "%s: the whole object as a range", what);
	ok(storageReadBeginRange(storage, "range/missing", 0, 10, &err) == NULL &&
	   err.code == DR_ERR_NOT_FOUND, "%s: missing object is DR_ERR_NOT_FOUND", what);
	ok(storageReadBeginRange(storage, "range/../x", 0, 10, &err) == NULL &&
	   err.code == DR_ERR_INVALID, "%s: bad path refused", what);
	ok(storageReadBeginRange(storage, "range/object.tmp.1.2", 0, 10, &err) == NULL &&
	   err.code == DR_ERR_INVALID, "%s: temp name refused", what);
	ok(storageRemove(storage, "range/object", &err), "%s: removed", what);
	pfree(buf);
}

/*
 * A driver without a ranged read of its own, forwarding to a posix
 * storage through storage.h: storage.c emulates ranges over it.
 */
static void *
wrapWriteBegin(void *driver, const char *path, const StorageWriteParam *param,
			   DrError *err)
{
	return storageWriteBegin(driver, path, param, err);
}

static bool
wrapWrite(void *handle, const void *buf, size_t len, DrError *err)
{
	return storageWrite(handle, buf, len, err);
}

static bool
wrapWriteEnd(void *handle, DrError *err)
{
	return storageWriteEnd(handle, err);
}

static void
wrapWriteAbort(void *handle)
{
	storageWriteAbort(handle);
}

static void *
wrapReadBegin(void *driver, const char *path, DrError *err)
{
	return storageReadBegin(driver, path, err);
}

static ssize_t
wrapRead(void *handle, void *buf, size_t len, DrError *err)
{
	return storageRead(handle, buf, len, err);
}

static void
wrapReadEnd(void *handle)
{
	storageReadEnd(handle);
}

static bool
wrapExists(void *driver, const char *path, bool *exists, DrError *err)
{
	return storageExists(driver, path, exists, err);
}

static bool
wrapRemove(void *driver, const char *path, DrError *err)
{
	return storageRemove(driver, path, err);
}

/* A driver with a ranged read of its own that counts the calls. */
static int	countedRanges = 0;

static void *
countReadBeginRange(void *driver, const char *path, uint64 offset,
					uint64 length, DrError *err)
{
	countedRanges++;
	return storageReadBeginRange(driver, path, offset, length, err);
}

/* The first byte of a range, read through the storage; -1: none. */
static int
rangeFirstByte(StorageRead *r)
{
	DrError		err;
	char		c;

	return storageRead(r, &c, 1, &err) == 1 ? (uint8) c : -1;
}

static void
testRangeCache(Storage *posix)
{
	static StorageDriverInterface counting;
	Storage    *storage;
	const uint64 size = 300000;
	const size_t window = 65536;
	char	   *buf = palloc(size);
	uint64		fetches;
	uint64		hits;
	uint64		bypassed;
	StorageRead *a;
	StorageRead *b;
	StorageRead *c;
	DrError		err;

	counting.name = "posix, ranges counted";
	counting.writeBegin = wrapWriteBegin;
	counting.write = wrapWrite;
	counting.writeEnd = wrapWriteEnd;
	counting.writeAbort = wrapWriteAbort;
	counting.readBegin = wrapReadBegin;
	counting.readBeginRange = countReadBeginRange;
	counting.read = wrapRead;
	counting.readEnd = wrapReadEnd;
	counting.exists = wrapExists;
	counting.list = fakeList;
	counting.remove = wrapRemove;
	storage = storageNew(&counting, posix);

	for (uint64 i = 0; i < size; i++)
		buf[i] = patternAt(i);
	drErrorClear(&err);
	ok(storagePut(storage, "cache/object", buf, size, NULL, &err),
	   "cache: object to read ranges of");
	storageRangeCacheSet(storage, window, 2);

	/* the bytes are the same whatever the way */
	ok(rangeCheck(storage, "cache/object", 0, 100, size, 7) &&
	   rangeCheck(storage, "cache/object", 12345, 200000, size, 65536 + 3) &&
	   rangeCheck(storage, "cache/object", 12345, 1, size, 4096) &&
	   rangeCheck(storage, "cache/object", size - 1000, 1000, size, 333) &&
	   rangeCheck(storage, "cache/object", size - 10, 100, size, 4096) &&
	   rangeCheck(storage, "cache/object", size + 5, 100, size, 4096) &&
	   rangeCheck(storage, "cache/object", 777, 0, size, 4096),
	   "cache: every range reads the same bytes through the cache");

	storageRangeCacheSet(storage, window, 2);
	countedRanges = 0;
	ok(rangeCheck(storage, "cache/object", 100, 1000, size, 333) &&
	   rangeCheck(storage, "cache/object", 5000, 20000, size, 4096) &&
	   rangeCheck(storage, "cache/object", 60000, 5536, size, 4096),
	   "cache: three ranges in the first block");
	storageRangeCacheStats(storage, &fetches, &hits, &bypassed);
	is_int(countedRanges, 1, "... one ranged read of the driver");
	ok(fetches == 1 && hits == 2 && bypassed == 0, "... one block fetched, two hits");

	ok(rangeCheck(storage, "cache/object", 65000, 1000, size, 4096),
	   "cache: a range across the window boundary");
	is_int(countedRanges, 2, "... goes to the driver");
	ok(rangeCheck(storage, "cache/object", 0, window + 1, size, 4096),
	   "cache: a range longer than the window");
	is_int(countedRanges, 3, "... goes to the driver");

	ok(rangeCheck(storage, "cache/object", window + 10, 100, size, 4096) &&
	   rangeCheck(storage, "cache/object", 10, 100, size, 4096),
	   "cache: the second block, then the first again");
	is_int(countedRanges, 4, "... one more fetch, the first block kept");
	ok(rangeCheck(storage, "cache/object", 2 * window + 10, 100, size, 4096),
	   "cache: a third block");
	ok(rangeCheck(storage, "cache/object", 10, 100, size, 4096),
	   "... then the first again");
	is_int(countedRanges, 5, "... the second, least recently used, went");
	ok(rangeCheck(storage, "cache/object", window + 10, 100, size, 4096) &&
	   rangeCheck(storage, "cache/object", window + 200, 100, size, 4096),
	   "cache: two ranges of the second block again");
	is_int(countedRanges, 7, "... each read by the driver alone");
	storageRangeCacheStats(storage, &fetches, &hits, &bypassed);
	ok(fetches == 3 && bypassed == 2,
	   "... not fetched again whole: it went a moment ago (fetches " UINT64_FORMAT ", bypassed " UINT64_FORMAT ")",
	   fetches, bypassed);
	ok(rangeCheck(storage, "cache/object", 2 * window + 300, 100, size, 4096),
	   "cache: the third block, still kept");
	is_int(countedRanges, 7, "... from memory");

	ok(rangeCheck(storage, "cache/object", size - 10, 100, size, 4096),
	   "cache: a block the object ends in: short");
	ok(rangeCheck(storage, "cache/object", 5 * window + 100, 100, size, 4096),
	   "cache: a block beyond the object: nothing");

	/* pinned blocks stay */
	storageRangeCacheSet(storage, window, 2);
	countedRanges = 0;
	a = storageReadBeginRange(storage, "cache/object", 10, 100, &err);
	b = storageReadBeginRange(storage, "cache/object", window + 10, 100, &err);
	c = storageReadBeginRange(storage, "cache/object", 2 * window + 10, 100, &err);
	ok(a && b && c, "cache: three reads open at once");
	is_int(countedRanges, 3, "... two blocks fetched, the third read goes to the driver");
	is_int(rangeFirstByte(a), (uint8) patternAt(10), "... the first read's bytes");
	is_int(rangeFirstByte(b), (uint8) patternAt(window + 10), "... the second's");
	is_int(rangeFirstByte(c), (uint8) patternAt(2 * window + 10), "... the third's");
	storageReadEnd(c);
	storageReadEnd(b);
	ok(rangeCheck(storage, "cache/object", 2 * window + 10, 100, size, 4096),
	   "cache: the third block, once the second read ended");
	is_int(rangeFirstByte(a), (uint8) patternAt(11), "... the first read still reads its block");
	storageReadEnd(a);
	is_int(countedRanges, 4, "... fetched into the second read's slot");

	ok(storageReadBeginRange(storage, "cache/missing", 0, 10, &err) == NULL &&
	   err.code == DR_ERR_NOT_FOUND, "cache: a missing object is DR_ERR_NOT_FOUND");

	/* the cache dropped under a read: the read keeps its block */
	storageRangeCacheSet(storage, window, 2);
	a = storageReadBeginRange(storage, "cache/object", window + 10, 100, &err);
	ok(a != NULL && rangeFirstByte(a) == (uint8) patternAt(window + 10),
	   "cache: a read from a kept block");
	storageRangeCacheSet(storage, 0, 0);
	ok(rangeFirstByte(a) == (uint8) patternAt(window + 11) &&
	   rangeFirstByte(a) == (uint8) patternAt(window + 12),
	   "... still reads its bytes after the cache was turned off");
	storageReadEnd(a);
	storageRangeCacheSet(storage, window, 2);
	a = storageReadBeginRange(storage, "cache/object", 20, 100, &err);
	storageRangeCacheSet(storage, window, 3);
	ok(a != NULL && rangeFirstByte(a) == (uint8) patternAt(20),
	   "... and after the cache was set anew");
	storageReadEnd(a);

	storageRangeCacheSet(storage, 0, 0);
	countedRanges = 0;
	ok(rangeCheck(storage, "cache/object", 10, 100, size, 4096) &&
	   rangeCheck(storage, "cache/object", 20, 100, size, 4096),
	   "cache off: ranges read");
	is_int(countedRanges, 2, "... each by the driver");

	ok(storageRemove(storage, "cache/object", &err), "cache: removed");
	storageFree(storage);
	pfree(buf);
}

static void
testRange(Storage *posix)
{
	static const StorageDriverInterface noRange = {
		.name = "posix without ranges",
		.writeBegin = wrapWriteBegin,
		.write = wrapWrite,
		.writeEnd = wrapWriteEnd,
		.writeAbort = wrapWriteAbort,
		.readBegin = wrapReadBegin,
		.read = wrapRead,
		.readEnd = wrapReadEnd,
		.exists = wrapExists,
		.list = fakeList,
		.remove = wrapRemove,
	};
	Storage    *emulated = storageNew(&noRange, posix);

	testRangeOn(posix, "posix");
	testRangeOn(emulated, "emulated");
	storageFree(emulated);
}

int
main(void)
{
	DrError		err;
	Storage    *storage;

	testTmpRootMake(tmpRoot);

	testNew();
	storage = storagePosixNew(tmpRoot, &err);
	testRoundTrip(storage, tmpRoot);
	testBatch(storage, tmpRoot);
	testBig(storage);
	testList(storage);
	testListPaged(storage);
	testRemoveTree(storage);
	testBadPaths(storage);
	testAdapters(storage);
	testRange(storage);
	testRangeCache(storage);
	storageFree(storage);
	testFailedWrite();
	testListFallback();
	testReadOnly();

	testTreeRemove(tmpRoot);
	return tapDone();
}
