/*-------------------------------------------------------------------------
 * owner.h
 *	  Whose files pg_dr writes, and who is in the way when it cannot read.
 *
 * The server reads the repository and its passphrase file as its own OS
 * user, and PostgreSQL starts only on a data directory owned by the user
 * it runs as.  So the CLI, run as root (as administrators often do), must
 * not leave files owned by root there: it drops root for the owner of the
 * target (ownerDecide, a pure function), and refuses when that owner is
 * root too.  And a "Permission denied" names what denied it, its owner and
 * mode, and the user the process runs as (ownerAccessDetail), in the
 * server as in the CLI.
 *-------------------------------------------------------------------------
 */
#ifndef DR_OWNER_H
#define DR_OWNER_H

#include <sys/stat.h>
#include <sys/types.h>

#include "common/error.h"

/* What the decision depends on; the caller looks users and paths up. */
typedef struct OwnerInput
{
	const char *command;		/* "restore", for messages */
	uid_t		euid;			/* this process */

	/* --owner USER */
	const char *option;			/* NULL when not given */
	bool		optionFound;	/* it names a user */
	uid_t		optionUid;
	gid_t		optionGid;		/* that user's primary group */

	/* the target, or its nearest existing parent */
	const char *targetPath;
	uid_t		targetUid;
	const char *targetUser;		/* NULL when the uid has no name */
	gid_t		targetGid;		/* that user's primary group, or the
								 * directory's group when it has no name */
} OwnerInput;

typedef struct OwnerDecision
{
	bool		switchUser;		/* leave root for uid and gid */
	uid_t		uid;
	gid_t		gid;
	const char *user;			/* for initgroups; NULL: no supplementary
								 * groups */
} OwnerDecision;

/*
 * Whose files the command writes.  Not root: itself (--owner, if given,
 * must be that user).  Root: the --owner user, or else the owner of the
 * target; refused when that is root, since the server could not use the
 * files (DR_ERR_PERMISSION, with a hint naming --owner), and for an
 * --owner that is no user or is root (DR_ERR_INVALID).
 */
extern bool ownerDecide(const OwnerInput *in, OwnerDecision *out,
						DrError *err);

/*
 * The nearest existing path at or above path (palloc'd) and its stat.
 * DR_ERR_IO when one cannot be stat'ed for another reason than not
 * existing.
 */
extern char *ownerNearestExisting(const char *path, struct stat *st,
								  DrError *err);

/*
 * After an operation on path failed with errnum: for EACCES and EPERM,
 * append to err's message what is in the way -- the first directory of
 * path this process cannot search, else path itself -- with its owner and
 * mode and the user this process runs as; and, when err has no hint, a
 * hint to give that user access.  Other errors are left alone.
 */
extern void ownerAccessDetail(DrError *err, const char *path, int errnum);

/* The name of user uid, or "uid N", palloc'd. */
extern char *ownerUserName(uid_t uid);

#endif							/* DR_OWNER_H */
