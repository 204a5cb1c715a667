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
#include <fcntl.h>
#include <stdlib.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bin/cli.h"
#include "common/logging.h"
#include "common/owner.h"

/*
 * mkdir -p target as root, each new directory (0700) owned by the user.
 *
 * The user may write the parent of each directory this creates (it is the
 * user's, or was just given to the user), so it could replace the new name
 * with a symbolic link between mkdir and chown, and have root chown
 * whatever the link points at.  So the existing part of the path is
 * resolved once, and every new directory is made, opened (O_NOFOLLOW) and
 * chowned through directory descriptors (mkdirat, openat, fchown): a name
 * swapped for a link fails to open, one swapped for another directory is
 * reached only through the descriptor of the one made before it.
 */
static bool
cliOwnerCreate(const char *target, const OwnerDecision *decision)
{
	size_t		len = strlen(target);
	size_t		start = 0;		/* where the first missing component starts */
	bool		missing = false;
	const char *rest;
	char	   *ancestor;
	char	   *base;
	int			dirFd;
	bool		ok = true;

	/* the nearest existing ancestor */
	for (size_t i = 1; i <= len; i++)
	{
		if (i == len || target[i] == '/')
		{
			char	   *prefix = pnstrdup(target, i);
			struct stat st;
			bool		exists = stat(prefix, &st) == 0;

			pfree(prefix);
			if (!exists)
			{
				missing = true;
				break;
			}
			start = i + 1;
		}
	}
	if (!missing)
		return true;
	if (start <= 1)
		ancestor = pstrdup(target[0] == '/' ? "/" : ".");
	else
		ancestor = pnstrdup(target, start - 1);
	base = realpath(ancestor, NULL);
	if (base == NULL || (dirFd = open(base, O_RDONLY | O_DIRECTORY)) < 0)
	{
		pg_log_error("could not open directory \"%s\": %m", ancestor);
		free(base);
		pfree(ancestor);
		return false;
	}

	rest = target + start;
	while (ok && *rest != '\0')
	{
		const char *end = strchr(rest, '/');
		char	   *name = end ? pnstrdup(rest, end - rest) : pstrdup(rest);
		int			newFd;

		rest = end ? end + 1 : rest + strlen(rest);
		if (name[0] == '\0' || strcmp(name, ".") == 0)
		{
			pfree(name);
			continue;
		}
		if (strcmp(name, "..") == 0 ||
			(mkdirat(dirFd, name, 0700) != 0 && errno != EEXIST) ||
			(newFd = openat(dirFd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)) < 0 ||
			fchown(newFd, decision->uid, decision->gid) != 0)
		{
			if (strcmp(name, "..") == 0)
				errno = EINVAL;
			pg_log_error("could not create directory \"%s\" in \"%s\" for %s: %m",
						 name, target, decision->user ? decision->user : "its owner");
			ok = false;
		}
		else
		{
			close(dirFd);
			dirFd = newFd;
		}
		pfree(name);
	}
	close(dirFd);
	free(base);
	pfree(ancestor);
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
