/*-------------------------------------------------------------------------
 * repo_fallback.h
 *	  Reading from several repositories: which repositories a read tries
 *	  and in what order, when a failed copy lets it go on with the next
 *	  repository, and the one way that is said (docs/storage.md, "Reading
 *	  from several repositories").
 *
 * Restore, "pg_dr wal-get", the PITR pick and verify read an object from
 * the first configured repository (in number order) that has a good copy.
 * A copy that is missing, fails authentication or a size/SHA-256 check
 * (or a repository that cannot be opened) makes the read try the next
 * repository, with a warning naming the repository that failed, the
 * object, why, and the repository used instead.  A repository forced by
 * the caller ("--repo N") is the only one tried.
 *
 * The decisions here are pure; repoReadSetOpen opens the repositories.
 *-------------------------------------------------------------------------
 */
#ifndef DR_REPO_FALLBACK_H
#define DR_REPO_FALLBACK_H

#include "common/config.h"
#include "common/error.h"
#include "common/host.h"
#include "repo/repo.h"

/*
 * The repositories a read tries, into numbers (room for CONFIG_REPO_MAX):
 * forced alone (1..CONFIG_REPO_MAX; 0 = none forced) when it is
 * configured, else every configured repository in number order.  Returns
 * their number (0 when forced is not configured, or none is).  Pure.
 */
extern int	repoReadOrder(const DrConfig *config, int forced, int *numbers);

/*
 * Check a repository number a caller asked for (the SQL functions' repo
 * argument): true when repository forced is configured, else false with
 * err (DR_ERR_INVALID) naming the configured repositories ("1, 2 and 4",
 * or none).  Pure.
 */
extern bool repoForcedCheck(const DrConfig *config, int forced, DrError *err);

/*
 * Whether a read that failed with err on one repository's copy may try
 * the next repository: the copy is missing (DR_ERR_NOT_FOUND), damaged
 * (DR_ERR_CORRUPT: authentication, size, SHA-256, binding), unreadable
 * with its key (DR_ERR_KEY) or the storage failed (DR_ERR_IO).  Never a
 * cancel, a bad argument, a configuration error or an internal failure:
 * the next repository cannot change those.  Pure.
 */
extern bool repoReadFallsBack(const DrError *err);

/* What one repository gave for one object (repoReadDecide). */
typedef enum RepoReadOutcome
{
	REPO_READ_OK = 0,			/* a good copy */
	REPO_READ_MISSING,			/* no copy */
	REPO_READ_FAILED			/* a copy that cannot be used (or an error) */
} RepoReadOutcome;

/*
 * The outcome of a read over the repositories tried, in order: OK as soon
 * as one gave a good copy (*used: its position), else FAILED when one
 * copy was bad (a copy exists and cannot be served: "not found" would be
 * a lie), else MISSING (*used -1 then).  Pure.
 */
extern RepoReadOutcome repoReadDecide(const RepoReadOutcome *outcomes,
									  int count, int *used);

/*
 * The warning of a fallback, palloc'd: "repository F: <object>: <why>;
 * <what> from repository U instead", why being err's message; without
 * "<object>: " when object is NULL (err's message names it), and without
 * what follows why when used is 0 (a copy that failed too).
 */
extern char *repoFallbackMessage(int failed, const char *object,
								 const DrError *err, const char *what,
								 int used);

/*
 * The repositories of one read, opened: numbers[i] is repos[i]'s
 * repository number, in the order repoReadOrder gives.  forced: only
 * that one (no fallback).
 */
typedef struct RepoReadSet
{
	int			count;
	int			numbers[CONFIG_REPO_MAX];
	Repo	   *repos[CONFIG_REPO_MAX];
	bool		forced;
} RepoReadSet;

/*
 * Open the repositories of repoReadOrder(config, forced).  One that
 * cannot be opened is left out with a warning through host (when another
 * one is there to use; repoReadFallsBack decides); false with err when
 * none could be opened (the first one's error), or when forced is not
 * configured (DR_ERR_CONFIG).
 */
extern bool repoReadSetOpen(const DrConfig *config, int forced,
							const DrHost *host, RepoReadSet *set,
							DrError *err);
extern void repoReadSetClose(RepoReadSet *set);

/* The position of repository number in set, -1 when not there. */
extern int	repoReadSetFind(const RepoReadSet *set, int number);

/*
 * What "latest" means over several repositories: the newest backup of any
 * repository of set (palloc'd), so that one that missed the newest backup
 * (it was down) does not decide; NULL when none has a backup.  A
 * repository that cannot be listed is passed over.
 */
extern char *repoReadSetLatest(const RepoReadSet *set);

#endif							/* DR_REPO_FALLBACK_H */
