/*-------------------------------------------------------------------------
 * test_leftover.c
 *	  Unit tests of src/repo/repo_leftover.c: what crashed writers leave,
 *	  which of it may go, and its removal.
 *
 * Covers: repoLeftoverDirRemovable (the running backup, a live lock, an
 * expired lock, no lock, an unparsable lock, a young directory, the age
 * boundary); repoLeftoverTempCutoff; over a posix repository,
 * repoLeftoversClean: an abandoned directory (expired lock, old) removed
 * with its temporary files; kept: one with a live lock, a young one
 * without a lock, the caller's own backup, a complete backup (manifest);
 * temporary objects of archive/wal/<dir>/, keys/ and the root removed
 * when old, kept when recent; objects and other names never touched.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <errno.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#include "repo/repo_backup.h"
#include "repo/repo_leftover.h"
#include "repo/repo_lock.h"
#include "tap.h"
#include "test_support.h"

static char tmpRoot[] = "/tmp/test_leftover.XXXXXX";

#define NOW			((int64) 1700000000)

static void
testDecide(void)
{
	RepoLockState live = {.present = true, .parsed = true, .time = NOW - 10};
	RepoLockState expired = {.present = true, .parsed = true,
	.time = NOW - REPO_LOCK_EXPIRE};
	RepoLockState absent = {0};
	RepoLockState unparsed = {.present = true, .parsed = false};
	int64		old = NOW - REPO_LEFTOVER_DIR_AGE;

	ok(!repoLeftoverDirRemovable(old - 100, &expired, true, NOW),
	   "the caller's own backup is never removed");
	ok(!repoLeftoverDirRemovable(old - 100, &live, false, NOW),
	   "a directory whose lock is live is kept");
	ok(!repoLeftoverDirRemovable(old - 100, &unparsed, false, NOW),
	   "an unparsable lock keeps its directory");
	ok(repoLeftoverDirRemovable(old - 100, &expired, false, NOW),
	   "an old directory with an expired lock may go");
	ok(repoLeftoverDirRemovable(old, &absent, false, NOW),
	   "an old directory without a lock may go (age boundary included)");
	ok(repoLeftoverDirRemovable(old, NULL, false, NOW),
	   "no lock read: the age decides");
	ok(!repoLeftoverDirRemovable(old + 1, &absent, false, NOW),
	   "a young directory without a lock is kept (a backup about to lock it)");
	ok(!repoLeftoverDirRemovable(old + 1, &expired, false, NOW),
	   "a young directory is kept even with an expired lock");
	ok(repoLeftoverTempCutoff(NOW) == NOW - REPO_LEFTOVER_TEMP_AGE,
	   "temporary objects go once unchanged for REPO_LEFTOVER_TEMP_AGE");
}

/* Create path (and its directories) with text, modified at mtime. */
static void
plant(const char *path, const char *text, int64 mtime)
{
	char	   *dir = pstrdup(path);
	char	   *slash;
	struct utimbuf times = {(time_t) mtime, (time_t) mtime};

	for (slash = strchr(dir + 1, '/'); slash; slash = strchr(slash + 1, '/'))
	{
		*slash = '\0';
		(void) mkdir(dir, 0700);
		*slash = '/';
	}
	pfree(dir);
	fileWrite(path, text);
	utime(path, &times);
}

static void
age(const char *path, int64 mtime)
{
	struct utimbuf times = {(time_t) mtime, (time_t) mtime};

	utime(path, &times);
}

static bool
exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static void
testClean(void)
{
	ConfigRepo	config;
	Repo	   *repo;
	DrError		err;
	RepoLeftoverResult result;
	int64		now = (int64) time(NULL);
	int64		old = now - REPO_LEFTOVER_DIR_AGE - 60;
	const char *root;
	char	   *lock;
	char	   *p;

	config = testConfigRepo(psprintf("%s/repo", tmpRoot), NULL);
	root = config.path;
	drErrorClear(&err);
	if (!ok(repoCreate(&config, 1000, &err), "repository created"))
		diag("%s", err.message);
	repo = repoOpen(&config, &err);
	if (!ok(repo != NULL, "repository opened"))
	{
		diag("%s", err.message);
		return;
	}

	/* abandoned: an expired lock, a half-written object, an object */
	lock = repoLockFormat("20261201-010000F", "", 7, now - REPO_LOCK_EXPIRE - 5,
						  "h", 1);
	plant(psprintf("%s/backup/20261201-010000F/lock.0000000000000007", root), lock, old);
	plant(psprintf("%s/backup/20261201-010000F/data/base/1/1259", root), "x", old);
	plant(psprintf("%s/backup/20261201-010000F/data/base/1/1260.tmp.99.1", root), "x", old);
	age(psprintf("%s/backup/20261201-010000F", root), old);
	/* live: a lock written just now */
	lock = repoLockFormat("20261201-020000F", "", 3, now, "h", 1);
	plant(psprintf("%s/backup/20261201-020000F/lock.0000000000000003", root), lock, old);
	age(psprintf("%s/backup/20261201-020000F", root), old);
	/* young, no lock yet */
	plant(psprintf("%s/backup/20261201-030000F/data/x", root), "x", now);
	/* the caller's own backup, old and without a lock */
	plant(psprintf("%s/backup/20261201-040000F/data/x", root), "x", old);
	age(psprintf("%s/backup/20261201-040000F", root), old);
	/* complete: a manifest */
	plant(psprintf("%s/backup/20261201-050000F/manifest", root), "x", old);
	age(psprintf("%s/backup/20261201-050000F", root), old);
	/* temporary objects: old ones of crashed writers, a recent one */
	plant(psprintf("%s/archive/wal/0000000100000000/000000010000000000000003.tmp.77.2", root), "x", now - REPO_LEFTOVER_TEMP_AGE - 5);
	plant(psprintf("%s/archive/wal/0000000100000000/000000010000000000000004.tmp.77.3", root), "x", now);
	plant(psprintf("%s/archive/wal/0000000100000000/000000010000000000000002", root), "x", old);
	plant(psprintf("%s/keys/0123.tmp.5.1", root), "x", old);
	plant(psprintf("%s/pg_dr.repo.tmp.5.2", root), "x", old);
	plant(psprintf("%s/notes.tmp.x", root), "x", old);

	ok(repoLeftoversClean(repo, "20261201-040000F", now, &result, &err),
	   "clean");
	is_int(result.dirsRemoved, 1, "one directory removed");
	is_int(result.dirsKept, 3, "three manifest-less directories kept");
	is_int(result.tempsRemoved, 3, "three temporary objects removed");
	ok(!exists(psprintf("%s/backup/20261201-010000F", root)),
	   "the abandoned directory is gone, its temporary file with it");
	ok(exists(psprintf("%s/backup/20261201-020000F/lock.0000000000000003", root)),
	   "the directory whose lock is live is kept");
	ok(exists(psprintf("%s/backup/20261201-030000F/data/x", root)),
	   "the young directory is kept");
	ok(exists(psprintf("%s/backup/20261201-040000F/data/x", root)),
	   "the caller's own backup is kept");
	ok(exists(psprintf("%s/backup/20261201-050000F/manifest", root)),
	   "the complete backup is kept");
	p = psprintf("%s/archive/wal/0000000100000000/", root);
	ok(!exists(psprintf("%s000000010000000000000003.tmp.77.2", p)),
	   "an old temporary object of the archive is gone");
	ok(exists(psprintf("%s000000010000000000000004.tmp.77.3", p)),
	   "a recent one (a live writer's) is kept");
	ok(exists(psprintf("%s000000010000000000000002", p)),
	   "an archived segment is never touched");
	ok(!exists(psprintf("%s/keys/0123.tmp.5.1", root)) &&
	   !exists(psprintf("%s/pg_dr.repo.tmp.5.2", root)),
	   "old temporary objects of keys/ and the root are gone");
	ok(exists(psprintf("%s/notes.tmp.x", root)),
	   "a name that is no temporary name is never touched");

	ok(repoLeftoversClean(repo, NULL, now, &result, &err) &&
	   result.dirsRemoved == 1 && result.tempsRemoved == 0,
	   "again without a running backup: the old lock-less directory goes");
	repoClose(repo);
}

int
main(void)
{
	testTmpRootMake(tmpRoot);
	testDecide();
	testClean();
	testTreeRemove(tmpRoot);
	return tapDone();
}
