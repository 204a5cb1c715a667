/*-------------------------------------------------------------------------
 * repo_hold.h
 *	  Legal hold: a backup that retention must keep, until a time or for
 *	  ever (dr_backup_keep()).
 *
 * A hold is the object backup/<id>/hold of the backup it protects, in the
 * repository (so that `pg_dr expire` honours it as dr_expire() does):
 *
 *	 pg_dr-hold 1
 *	 until <unix seconds>|infinity
 *	 set-at <unix seconds>
 *
 * encoded like every object of the backup (its data key), bound to its
 * name, and replaced atomically when it changes.  A hold is in effect
 * while until is after now.  Retention (ops/retention.h) keeps a backup
 * under a hold in effect, with its chain, and the archived WAL from its
 * start to its stop segment; removing the hold lets the next expire apply
 * the policy to it.
 *-------------------------------------------------------------------------
 */
#ifndef DR_REPO_HOLD_H
#define DR_REPO_HOLD_H

#include "common/error.h"
#include "lib/stringinfo.h"
#include "repo/repo.h"

#define REPO_HOLD_VERSION	1
#define REPO_HOLD_MAX		256		/* bytes of the object's content */

typedef struct RepoHold
{
	bool		present;		/* a hold object exists */
	bool		forever;		/* until infinity */
	int64		until;			/* unix seconds (not forever) */
	int64		setAt;			/* unix seconds */
} RepoHold;

/* Pure: the object's content, and back (DR_ERR_CORRUPT naming the line). */
extern void repoHoldFormat(const RepoHold *hold, StringInfo out);
extern bool repoHoldParse(const char *text, size_t len, RepoHold *hold,
						  DrError *err);
/* Whether hold keeps its backup at time now. */
extern bool repoHoldInEffect(const RepoHold *hold, int64 now);

extern char *repoHoldPath(const char *backupId);

/* The hold of a backup; hold->present false when it has none. */
extern bool repoHoldRead(Repo *repo, const char *backupId, RepoHold *hold,
						 DrError *err);

/*
 * Set (replace) the hold of a backup that exists (DR_ERR_NOT_FOUND
 * otherwise), encoded with the backup's data key.
 */
extern bool repoHoldWrite(Repo *repo, const char *backupId,
						  const RepoHold *hold, DrError *err);

/* Remove the hold of a backup; none is not an error. */
extern bool repoHoldRemove(Repo *repo, const char *backupId, DrError *err);

#endif							/* DR_REPO_HOLD_H */
