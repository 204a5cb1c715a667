/*-------------------------------------------------------------------------
 * test_owner.c
 *	  Unit tests of src/common/owner.c.
 *
 * Covers: ownerDecide -- not root: nothing to switch, --owner only as a
 * check (another user refused, naming both); root: --owner (switch to it,
 * its primary group and name for initgroups; no such user; root refused),
 * no --owner (switch to the target's owner with that user's group, or the
 * directory's group when the uid has no name; refused when the target is
 * owned by root, naming the path and --owner).  ownerNearestExisting (a
 * path, a missing tail, a relative path).  ownerAccessDetail (a directory
 * that cannot be searched named with its owner, mode and this process's
 * user, and a hint; the file itself when its directories can be searched;
 * an existing hint kept; errors other than EACCES and EPERM untouched);
 * ownerUserName for a uid without a name.  Run as root, the access tests
 * are skipped (root is never denied).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/owner.h"
#include "tap.h"
#include "test_support.h"

static OwnerInput
inputRoot(void)
{
	OwnerInput	in;

	memset(&in, 0, sizeof(in));
	in.command = "restore";
	in.euid = 0;
	in.targetPath = "/srv/pg";
	in.targetUid = 26;
	in.targetUser = "postgres";
	in.targetGid = 26;
	return in;
}

static void
testDecide(void)
{
	OwnerInput	in;
	OwnerDecision d;
	DrError		err;

	/* not root */
	in = inputRoot();
	in.euid = 1000;
	ok(ownerDecide(&in, &d, &err) && !d.switchUser, "not root: nothing to switch");
	in.option = "postgres";
	in.optionFound = true;
	in.optionUid = 1000;
	ok(ownerDecide(&in, &d, &err) && !d.switchUser, "not root: --owner naming itself is fine");
	in.optionUid = 26;
	drErrorClear(&err);
	ok(!ownerDecide(&in, &d, &err) && err.code == DR_ERR_INVALID &&
	   strstr(err.message, "--owner postgres needs root") != NULL && err.hint[0] != '\0',
	   "not root: --owner naming another user refused");

	/* root with --owner */
	in = inputRoot();
	in.targetUid = 0;			/* the target's owner does not matter then */
	in.option = "pgdr";
	in.optionFound = true;
	in.optionUid = 500;
	in.optionGid = 501;
	ok(ownerDecide(&in, &d, &err) && d.switchUser && d.uid == 500 && d.gid == 501 &&
	   strcmp(d.user, "pgdr") == 0, "root, --owner: switch to that user and its group");
	in.optionFound = false;
	drErrorClear(&err);
	ok(!ownerDecide(&in, &d, &err) && err.code == DR_ERR_INVALID &&
	   strstr(err.message, "there is no user \"pgdr\"") != NULL, "root, --owner unknown: refused");
	in.optionFound = true;
	in.optionUid = 0;
	drErrorClear(&err);
	ok(!ownerDecide(&in, &d, &err) && err.code == DR_ERR_INVALID && !d.switchUser,
	   "root, --owner root: refused");

	/* root, the target's owner */
	in = inputRoot();
	ok(ownerDecide(&in, &d, &err) && d.switchUser && d.uid == 26 && d.gid == 26 &&
	   strcmp(d.user, "postgres") == 0, "root: switch to the owner of the target");
	in.targetUser = NULL;
	in.targetGid = 77;
	ok(ownerDecide(&in, &d, &err) && d.switchUser && d.uid == 26 && d.gid == 77 &&
	   d.user == NULL, "root, an owner without a name: its uid and the directory's group");
	in.targetUid = 0;
	drErrorClear(&err);
	ok(!ownerDecide(&in, &d, &err) && err.code == DR_ERR_PERMISSION &&
	   strstr(err.message, "restore run as root would write files owned by root into \"/srv/pg\"") != NULL &&
	   strstr(err.hint, "--owner USER") != NULL && !d.switchUser,
	   "root, a target owned by root: refused, naming the path and --owner");
}

static void
testPaths(void)
{
	char		root[] = "/tmp/pgdr-test-owner-XXXXXX";
	struct stat st;
	char	   *p;
	DrError		err;

	if (mkdtemp(root) == NULL)
	{
		diag("mkdtemp: %s", strerror(errno));
		return;
	}
	p = ownerNearestExisting(psprintf("%s/a/b/c", root), &st, &err);
	is_str(p, root, "nearest existing: the first existing parent");
	p = ownerNearestExisting(root, &st, &err);
	is_str(p, root, "nearest existing: the path itself");
	p = ownerNearestExisting("no-such-dir/x", &st, &err);
	is_str(p, ".", "nearest existing: a relative path ends at .");
	ok(strncmp(ownerUserName((uid_t) 4000000000u), "uid 4000000000", 14) == 0,
	   "a uid without a name");

	if (geteuid() == 0)
		diag("running as root: access tests skipped (root is never denied)");
	else
	{
		char	   *dir = psprintf("%s/locked", root);
		char	   *file = psprintf("%s/locked/pg_dr.repo", root);
		char	   *self = ownerUserName(geteuid());
		char	   *free_file = psprintf("%s/key", root);
		int			fd;

		mkdir(dir, 0700);
		close(open(file, O_CREAT | O_WRONLY, 0600));
		chmod(dir, 0);
		fd = open(file, O_RDONLY);
		drErrorSet(&err, DR_ERR_IO, "could not open \"%s\": %m", file);
		ownerAccessDetail(&err, file, errno);
		ok(fd < 0 && strstr(err.message, psprintf(": Permission denied; \"%s\" is owned by %s (mode 0000) and this process runs as %s",
												  dir, self, self)) != NULL,
		   "access: the directory in the way, its owner and mode, and the user");
		if (fd >= 0)
			close(fd);
		ok(err.hint[0] != '\0', "access: with a hint");
		chmod(dir, 0700);

		close(open(free_file, O_CREAT | O_WRONLY, 0000));
		fd = open(free_file, O_RDONLY);
		drErrorSet(&err, DR_ERR_PERMISSION, "could not open passphrase file \"%s\": %m", free_file);
		drErrorHint(&err, "keep me");
		ownerAccessDetail(&err, free_file, errno);
		ok(fd < 0 && strstr(err.message, psprintf("; \"%s\" is owned by %s (mode 0000)", free_file, self)) != NULL,
		   "access: the file itself when its directories can be searched");
		is_str(err.hint, "Keep me.", "access: an existing hint is kept");

		drErrorSet(&err, DR_ERR_IO, "could not open \"x\": %s", "No such file or directory");
		ownerAccessDetail(&err, free_file, ENOENT);
		is_str(err.message, "could not open \"x\": No such file or directory",
			   "access: other errors untouched");
	}
	testTreeRemove(root);
}

int
main(void)
{
	testDecide();
	testPaths();
	return tapDone();
}
