/*-------------------------------------------------------------------------
 * owner.c
 *	  Leaving root for the owner of the target before writing anything
 *	  (cli.h, cliOwnerBecome; the decision is ownerDecide in
 *	  common/owner.c).
 *
 * Why: the server runs as its own user (postgres), reads the repository
 * and the passphrase file as that user, and starts only on a data
 * directory it owns.  Files a root-run pg_dr left owned by root would
 * fail later, far from the cause ("Permission denied" in the archiver,
 * "data directory has wrong ownership" at start).  Root gives up its
 * privileges entirely (setuid also sets the saved user id), so nothing the
 * command does afterwards, forked restore jobs included, runs as root.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bin/cli.h"
#include "common/logging.h"
#include "common/owner.h"

/* mkdir -p target as root, each new directory (0700) owned by the user. */
static bool
cliOwnerCreate(const char *target, const OwnerDecision *decision)
{
	char	   *copy = pstrdup(target);
	bool		ok = true;

	for (char *slash = strchr(copy + 1, '/');; slash = strchr(slash + 1, '/'))
	{
		struct stat st;

		if (slash)
			*slash = '\0';
		if (stat(copy, &st) != 0)
		{
			if (mkdir(copy, 0700) != 0 ||
				chown(copy, decision->uid, decision->gid) != 0)
			{
				pg_log_error("could not create directory \"%s\" for %s: %m", copy,
							 decision->user ? decision->user : "its owner");
				ok = false;
				break;
			}
		}
		if (!slash)
			break;
		*slash = '/';
	}
	pfree(copy);
	return ok;
}

bool
cliOwnerBecome(const char *command, const char *option, const char *target,
			   bool createTarget)
{
	OwnerInput	in;
	OwnerDecision decision;
	struct stat st;
	struct passwd *pw;
	char	   *nearest = NULL;
	DrError		err;

	memset(&in, 0, sizeof(in));
	drErrorClear(&err);
	in.command = command;
	in.euid = geteuid();
	in.option = option;
	if (option != NULL && (pw = getpwnam(option)) != NULL)
	{
		in.optionFound = true;
		in.optionUid = pw->pw_uid;
		in.optionGid = pw->pw_gid;
	}
	if (in.euid == 0 && option == NULL)
	{
		nearest = ownerNearestExisting(target, &st, &err);
		if (nearest == NULL)
		{
			cliErrorReport(&err);
			return false;
		}
		in.targetPath = nearest;
		in.targetUid = st.st_uid;
		in.targetGid = st.st_gid;
		if ((pw = getpwuid(st.st_uid)) != NULL)
		{
			in.targetUser = pstrdup(pw->pw_name);
			in.targetGid = pw->pw_gid;
		}
	}
	if (!ownerDecide(&in, &decision, &err))
	{
		cliErrorReport(&err);
		return false;
	}
	if (!decision.switchUser)
		return true;

	if (createTarget && !cliOwnerCreate(target, &decision))
		return false;
	if ((decision.user != NULL ? initgroups(decision.user, decision.gid) :
		 setgroups(0, NULL)) != 0 ||
		setgid(decision.gid) != 0 || setuid(decision.uid) != 0)
	{
		pg_log_error("could not switch to user %s: %m",
					 decision.user ? decision.user : ownerUserName(decision.uid));
		return false;
	}
	/* for good: root must not be recoverable */
	if (setuid(0) == 0)
	{
		pg_log_error("could not leave root for user %s",
					 decision.user ? decision.user : ownerUserName(decision.uid));
		return false;
	}
	return true;
}
