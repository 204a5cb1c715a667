/*-------------------------------------------------------------------------
 * repo_leftover.h
 *	  What crashed writers leave in a repository, which of it may go, and
 *	  its removal when the next writer starts (a backup) as well as by
 *	  expire.
 *
 * Leftovers, and when each may be removed (never while a live writer
 * holds it):
 *	 - a directory backup/<id>/ without a manifest: a backup that failed or
 *	   whose server or host died, or an expire that crashed between a
 *	   backup's manifest and its tree.  Removable when it is not the backup
 *	   the caller is writing, its lock (repo_lock.h) is expired or absent,
 *	   and the directory has not changed for REPO_LEFTOVER_DIR_AGE seconds
 *	   (a backup changes its directory at least every heartbeat).  An
 *	   expired lock is taken first (repoLockTake): a backup that comes back
 *	   to life keeps its directory, or finds its lock gone and fails.
 *	 - a temporary object (a half-written object: the driver's temporary
 *	   names, storageRemoveStale) unchanged for REPO_LEFTOVER_TEMP_AGE
 *	   seconds, directly in the repository's root, keys/, audit/ or a
 *	   directory of archive/wal/ (archive pushes that crashed).  A writer
 *	   that stalled that long finds its temporary object gone and fails
 *	   that write; nothing truncated is ever completed.
 * The decisions are pure functions (unit tested); repoLeftoversClean
 * gathers the inputs and removes.
 *-------------------------------------------------------------------------
 */
#ifndef DR_REPO_LEFTOVER_H
#define DR_REPO_LEFTOVER_H

#include "repo/repo.h"
#include "repo/repo_lock.h"

/* Seconds a manifest-less directory must be unchanged before it may go. */
#define REPO_LEFTOVER_DIR_AGE	3600
/* Seconds a temporary object must be unchanged before it may go. */
#define REPO_LEFTOVER_TEMP_AGE	REPO_LOCK_EXPIRE

/*
 * Whether a directory under backup/ without a manifest may be removed at
 * time now: not when it is the backup the caller is writing (running), not
 * while its lock is live (lock NULL: none read), and only when its
 * modification time is REPO_LEFTOVER_DIR_AGE seconds old.
 */
extern bool repoLeftoverDirRemovable(int64 dirMtime, const RepoLockState *lock,
									 bool running, int64 now);

/* Temporary objects changed before this time (now) may be removed. */
extern int64 repoLeftoverTempCutoff(int64 now);

typedef struct RepoLeftoverResult
{
	int			dirsRemoved;	/* manifest-less directories removed */
	int			dirsKept;		/* manifest-less, kept (live lock, young) */
	int			tempsRemoved;	/* temporary objects removed */
} RepoLeftoverResult;

/*
 * Remove what crashed writers left (see the header comment) at time now;
 * runningBackupId (NULL: none) is the caller's own backup, never removed.
 * Stops at the first error (what was removed stays removed: each removal
 * is crash-safe on its own).
 */
extern bool repoLeftoversClean(Repo *repo, const char *runningBackupId,
							   int64 now, RepoLeftoverResult *result,
							   DrError *err);

#endif							/* DR_REPO_LEFTOVER_H */
