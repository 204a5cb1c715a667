/*-------------------------------------------------------------------------
 * repo_leftover.c
 *	  The leftovers of crashed writers: which may go (pure functions) and
 *	  their removal (see repo_leftover.h).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "common/manifest.h"
#include "repo/repo_backup.h"
#include "repo/repo_leftover.h"

bool
repoLeftoverDirRemovable(int64 dirMtime, const RepoLockState *lock,
						 bool running, int64 now)
{
	if (running)
		return false;
	if (lock != NULL && repoLockLive(lock, now))
		return false;
	return dirMtime <= now - REPO_LEFTOVER_DIR_AGE;
}

int64
repoLeftoverTempCutoff(int64 now)
{
	return now - REPO_LEFTOVER_TEMP_AGE;
}

/* The directories of one listing level, with their modification times. */
typedef struct LeftoverDirs
{
	int			count;
	int			size;
	char	  **names;
	int64	   *mtime;
} LeftoverDirs;

static bool
leftoverDirAdd(void *arg, const StorageInfo *info, DrError *err)
{
	LeftoverDirs *dirs = arg;

	if (!info->isDir)
		return true;
	if (dirs->count == dirs->size)
	{
		dirs->size = dirs->size ? dirs->size * 2 : 32;
		dirs->names = dirs->names ?
			repalloc(dirs->names, sizeof(char *) * dirs->size) :
			palloc(sizeof(char *) * dirs->size);
		dirs->mtime = dirs->mtime ?
			repalloc(dirs->mtime, sizeof(int64) * dirs->size) :
			palloc(sizeof(int64) * dirs->size);
	}
	dirs->names[dirs->count] = pstrdup(info->name);
	dirs->mtime[dirs->count] = info->mtime;
	dirs->count++;
	return true;
}

static void
leftoverDirsFree(LeftoverDirs *dirs)
{
	for (int i = 0; i < dirs->count; i++)
		pfree(dirs->names[i]);
	if (dirs->names)
	{
		pfree(dirs->names);
		pfree(dirs->mtime);
	}
	memset(dirs, 0, sizeof(*dirs));
}

/* One manifest-less directory's fate: removed, kept, or nothing to do. */
static bool
leftoverBackupDir(Repo *repo, const char *id, int64 mtime, bool running,
				  int64 now, RepoLeftoverResult *result, DrError *err)
{
	Storage    *storage = repoStorage(repo);
	RepoLockState lock;
	char	   *manifest;
	char	   *dir;
	bool		exists;
	bool		taken = true;
	bool		ok;

	/* the lock first: a backup writes its manifest, then unlocks */
	if (!repoLockRead(repo, id, &lock, err))
		return false;
	manifest = repoBackupManifestPath(id);
	ok = storageExists(storage, manifest, &exists, err);
	pfree(manifest);
	if (!ok || exists)
	{
		repoLockStateFree(&lock);
		return ok;
	}
	if (!repoLeftoverDirRemovable(mtime, &lock, running, now))
	{
		result->dirsKept++;
		repoLockStateFree(&lock);
		return true;
	}
	/* an expired lock: take it, unless its owner comes back to life */
	if (lock.present)
		ok = repoLockTake(repo, id, &lock, &taken, err);
	repoLockStateFree(&lock);
	if (!ok)
		return false;
	if (!taken)
	{
		result->dirsKept++;
		return true;
	}
	dir = psprintf("%s/%s", REPO_BACKUP_DIR, id);
	ok = storageRemoveTree(storage, dir, err);
	pfree(dir);
	if (ok)
		result->dirsRemoved++;
	else
		drErrorPrefix(err, "could not remove the leftover of backup %s: ", id);
	return ok;
}

/* Temporary objects directly in dir. */
static bool
leftoverTemps(Repo *repo, const char *dir, int64 now,
			  RepoLeftoverResult *result, DrError *err)
{
	int			removed = 0;
	bool		ok;

	ok = storageRemoveStale(repoStorage(repo), dir,
							repoLeftoverTempCutoff(now), &removed, err);
	result->tempsRemoved += removed;
	return ok;
}

bool
repoLeftoversClean(Repo *repo, const char *runningBackupId, int64 now,
				   RepoLeftoverResult *result, DrError *err)
{
	static const char *const plain[] = {"", REPO_KEYS_DIR, "audit"};
	LeftoverDirs dirs = {0};
	bool		ok = true;

	memset(result, 0, sizeof(*result));

	/* manifest-less backup directories */
	ok = storageList(repoStorage(repo), REPO_BACKUP_DIR, leftoverDirAdd, &dirs,
					 err);
	for (int i = 0; ok && i < dirs.count; i++)
	{
		bool		running;

		if (!manifestBackupIdValid(dirs.names[i]))
			continue;
		running = runningBackupId != NULL &&
			strcmp(runningBackupId, dirs.names[i]) == 0;
		ok = leftoverBackupDir(repo, dirs.names[i], dirs.mtime[i], running,
							   now, result, err);
	}
	leftoverDirsFree(&dirs);

	/* temporary objects of crashed archive pushes, then the rest */
	if (ok)
		ok = storageList(repoStorage(repo), REPO_ARCHIVE_WAL_DIR,
						 leftoverDirAdd, &dirs, err);
	for (int i = 0; ok && i < dirs.count; i++)
	{
		char	   *dir = psprintf("%s/%s", REPO_ARCHIVE_WAL_DIR, dirs.names[i]);

		ok = leftoverTemps(repo, dir, now, result, err);
		pfree(dir);
	}
	leftoverDirsFree(&dirs);
	for (int i = 0; ok && i < (int) lengthof(plain); i++)
		ok = leftoverTemps(repo, plain[i], now, result, err);
	return ok;
}
