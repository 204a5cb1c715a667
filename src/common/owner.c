/*-------------------------------------------------------------------------
 * owner.c
 *	  Whose files pg_dr writes (a pure decision), and the owner, mode and
 *	  user behind a "Permission denied" (see owner.h).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <errno.h>
#include <pwd.h>
#include <unistd.h>

#include "common/owner.h"

bool
ownerDecide(const OwnerInput *in, OwnerDecision *out, DrError *err)
{
	memset(out, 0, sizeof(*out));

	if (in->option != NULL && !in->optionFound)
		return drErrorSet(err, DR_ERR_INVALID, "--owner: there is no user \"%s\"",
						  in->option);

	if (in->euid != 0)
	{
		/* only root can give files away: --owner is a check, then */
		if (in->option != NULL && in->optionUid != in->euid)
		{
			char	   *self = ownerUserName(in->euid);

			drErrorSet(err, DR_ERR_INVALID,
					   "--owner %s needs root: %s runs as %s", in->option,
					   in->command, self);
			drErrorHint(err, "Run it as %s instead, or as root with --owner %s.",
						in->option, in->option);
			pfree(self);
			return false;
		}
		return true;
	}

	if (in->option != NULL)
	{
		if (in->optionUid == 0)
		{
			drErrorSet(err, DR_ERR_INVALID,
					   "--owner %s: files owned by root cannot be used by a PostgreSQL server",
					   in->option);
			drErrorHint(err, "Name the user the server runs as (usually postgres).");
			return false;
		}
		out->switchUser = true;
		out->uid = in->optionUid;
		out->gid = in->optionGid;
		out->user = in->option;
		return true;
	}

	if (in->targetUid == 0)
	{
		drErrorSet(err, DR_ERR_PERMISSION,
				   "%s run as root would write files owned by root into \"%s\", which is owned by root: the server could not use them",
				   in->command, in->targetPath);
		drErrorHint(err, "Run it as the user the server runs as (su postgres -c ...), or name that user with --owner USER.");
		return false;
	}
	out->switchUser = true;
	out->uid = in->targetUid;
	out->gid = in->targetGid;
	out->user = in->targetUser;
	return true;
}

char *
ownerNearestExisting(const char *path, struct stat *st, DrError *err)
{
	char	   *p = pstrdup(path);

	for (;;)
	{
		char	   *slash;

		if (stat(p, st) == 0)
			return p;
		if (errno != ENOENT && errno != ENOTDIR)
		{
			drErrorSet(err, DR_ERR_IO, "could not stat \"%s\": %m", p);
			pfree(p);
			return NULL;
		}
		slash = strrchr(p, '/');
		if (slash == NULL)
		{
			/* a relative path: the current directory */
			pfree(p);
			p = pstrdup(".");
		}
		else if (slash == p)
			p[1] = '\0';
		else
			*slash = '\0';
	}
}

char *
ownerUserName(uid_t uid)
{
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL && pw->pw_name != NULL)
		return pstrdup(pw->pw_name);
	return psprintf("uid %u", (unsigned int) uid);
}

void
ownerAccessDetail(DrError *err, const char *path, int errnum)
{
	char	   *culprit = NULL;
	char	   *copy;
	struct stat st;
	char	   *owner;
	char	   *self;
	size_t		len;

	if (err == NULL || path == NULL || (errnum != EACCES && errnum != EPERM))
		return;

	/* the first directory on the way that this process cannot search */
	copy = pstrdup(path);
	for (char *slash = strchr(copy + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/'))
	{
		*slash = '\0';
		if (copy[0] != '\0' && access(copy, X_OK) != 0 && errno == EACCES)
		{
			culprit = pstrdup(copy);
			break;
		}
		*slash = '/';
	}
	pfree(copy);
	if (culprit == NULL)
		culprit = pstrdup(path);

	self = ownerUserName(geteuid());
	len = strlen(err->message);
	if (stat(culprit, &st) != 0)
	{
		snprintf(err->message + len, sizeof(err->message) - len,
				 "; this process runs as %s", self);
		pfree(self);
		pfree(culprit);
		return;
	}
	owner = ownerUserName(st.st_uid);
	snprintf(err->message + len, sizeof(err->message) - len,
			 "; \"%s\" is owned by %s (mode %04o) and this process runs as %s",
			 culprit, owner, (unsigned int) (st.st_mode & 07777), self);
	if (err->hint[0] == '\0')
	{
		if (st.st_uid != geteuid())
			drErrorHint(err, "Give %s access to it (for example, make %s its owner with chown).", self, self);
		else
			drErrorHint(err, "Its mode denies its own owner: chmod u+rwx on a directory, u+rw on a file.");
	}
	pfree(owner);
	pfree(self);
	pfree(culprit);
}
