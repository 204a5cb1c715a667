/*-------------------------------------------------------------------------
 * test_fs.c
 *	  Unit tests of src/common/fs.c.
 *
 * Covers: fsMakeDirs (nested directories made with the mode asked for, an
 * existing directory and a link to one are fine, with and without
 * FS_MKDIR_SYNC; a file in the way, last or in the middle, refused naming
 * it, or replaced with FS_MKDIR_REPLACE; a dangling link refused; a
 * directory that cannot be written refused with the permission detail
 * when not run as root); fsSyncDir (a directory, a missing one, a file);
 * fsSyncParent.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "tap.h"
#include "test_support.h"

static char tmpRoot[] = "/tmp/test_fs.XXXXXX";

static bool
isDirMode(const char *path, mode_t mode)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
		(st.st_mode & 07777) == mode;
}

static void
testMakeDirs(void)
{
	DrError		err;
	char	   *deep = tsprintf("%s/a/b/c", tmpRoot);
	char	   *file = tsprintf("%s/file", tmpRoot);
	char	   *msg;

	drErrorClear(&err);
	ok(fsMakeDirs(deep, 0750, 0, &err), "nested directories made");
	ok(isDirMode(tsprintf("%s/a", tmpRoot), 0750) &&
	   isDirMode(tsprintf("%s/a/b", tmpRoot), 0750) && isDirMode(deep, 0750),
	   "every new directory has the mode asked for");
	ok(fsMakeDirs(deep, 0700, 0, &err) && isDirMode(deep, 0750),
	   "an existing directory is fine and left as it is");
	ok(fsMakeDirs(tsprintf("%s/s/t/u", tmpRoot), 0700, FS_MKDIR_SYNC, &err) &&
	   isDirMode(tsprintf("%s/s/t/u", tmpRoot), 0700),
	   "FS_MKDIR_SYNC makes them too");
	ok(symlink(tsprintf("%s/a", tmpRoot), tsprintf("%s/link", tmpRoot)) == 0 &&
	   fsMakeDirs(tsprintf("%s/link/b/new", tmpRoot), 0700, FS_MKDIR_SYNC, &err) &&
	   isDirMode(tsprintf("%s/a/b/new", tmpRoot), 0700),
	   "a link to a directory is followed");

	/* a file in the way */
	fileWrite(file, "x");
	drErrorClear(&err);
	msg = tsprintf("could not create directory \"%s\": a file with that name exists",
				   file);
	ok(!fsMakeDirs(file, 0700, 0, &err) && err.code == DR_ERR_IO,
	   "a file in the way (last) is refused");
	is_str(err.message, msg, "the message names the file");
	drErrorClear(&err);
	ok(!fsMakeDirs(tsprintf("%s/x/y", file), 0700, FS_MKDIR_SYNC, &err) &&
	   err.code == DR_ERR_IO, "a file in the way (in the middle) is refused");
	is_str(err.message, msg, "the message names the file in the middle");
	ok(fsMakeDirs(tsprintf("%s/x", file), 0700, FS_MKDIR_REPLACE, &err) &&
	   isDirMode(file, 0700) && isDirMode(tsprintf("%s/x", file), 0700),
	   "FS_MKDIR_REPLACE replaces a file in the way");

	/* a dangling link */
	ok(symlink(tsprintf("%s/nowhere", tmpRoot), tsprintf("%s/dangling", tmpRoot)) == 0,
	   "a dangling link");
	drErrorClear(&err);
	ok(!fsMakeDirs(tsprintf("%s/dangling", tmpRoot), 0700, 0, &err) &&
	   err.code == DR_ERR_IO && strstr(err.message, "dangling") != NULL,
	   "a dangling link is refused, naming it");

	/* a directory that cannot be written */
	if (geteuid() != 0)
	{
		char	   *ro = tsprintf("%s/ro", tmpRoot);

		ok(mkdir(ro, 0500) == 0, "a read-only directory");
		drErrorClear(&err);
		ok(!fsMakeDirs(tsprintf("%s/sub/deeper", ro), 0700, 0, &err) &&
		   err.code == DR_ERR_IO &&
		   strstr(err.message, "could not create directory") != NULL &&
		   strstr(err.message, "Permission denied") != NULL,
		   "permission denied is an error");
		ok(strstr(err.message, "this process runs as") != NULL,
		   "with the owner detail");
		chmod(ro, 0700);
	}
	else
		diag("run as root: the permission case is skipped");
}

static void
testSync(void)
{
	DrError		err;

	drErrorClear(&err);
	ok(fsSyncDir(tmpRoot, &err), "fsSyncDir of a directory");
	ok(fsSyncParent(tsprintf("%s/a", tmpRoot), &err), "fsSyncParent");
	ok(!fsSyncDir(tsprintf("%s/missing", tmpRoot), &err) && err.code == DR_ERR_IO &&
	   strstr(err.message, "could not open directory") != NULL,
	   "fsSyncDir of a missing directory fails");
	drErrorClear(&err);
	fileWrite(tsprintf("%s/plain", tmpRoot), "x");
	ok(!fsSyncDir(tsprintf("%s/plain", tmpRoot), &err) && err.code == DR_ERR_IO,
	   "fsSyncDir of a file fails");
}

int
main(void)
{
	umask(022);					/* the modes checked are the modes asked for */
	testTmpRootMake(tmpRoot);
	testMakeDirs();
	testSync();
	testTreeRemove(tmpRoot);
	trackFree();
	return tapDone();
}
