/*-------------------------------------------------------------------------
 * test_repo_probe.c
 *	  Unit tests of src/repo/repo_probe.c (the probe of `pg_dr check`),
 *	  over the posix driver.
 *
 * Covers: a probe in an encrypted and in an unencrypted repository passes
 * and leaves nothing (no object, no "check" directory, no data key added
 * to the keyring); another check's probe in the directory is left alone,
 * and so is the directory then; a probe directory that cannot be written
 * and a repository root that cannot be written fail with an error naming
 * the place, and leave nothing behind (as a user other than root, which
 * ignores file modes).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "repo/repo.h"
#include "repo/repo_probe.h"
#include "tap.h"
#include "test_support.h"

static char tmpRoot[] = "/tmp/test_repo_probe.XXXXXX";

/* Entries of dir other than . and ..; -1 when it cannot be opened. */
static int
dirEntries(const char *dir)
{
	DIR		   *d = opendir(dir);
	struct dirent *de;
	int			n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static Repo *
repoMake(const char *name, char *keyFile, ConfigRepo *config)
{
	DrError		err;
	Repo	   *repo;

	*config = testConfigRepo(tsprintf("%s/%s", tmpRoot, name), keyFile);
	drErrorClear(&err);
	if (!repoCreate(config, 1000, &err))
		diag("repoCreate: %s", err.message);
	repo = repoOpen(config, &err);
	if (repo == NULL)
		diag("repoOpen: %s", err.message);
	return repo;
}

static void
testProbePasses(char *keyFile, const char *what)
{
	ConfigRepo	config;
	Repo	   *repo = repoMake(what, keyFile, &config);
	DrError		err;
	int			keysBefore = -1;
	int			keysAfter = -2;
	char	   *checkDir = tsprintf("%s/" REPO_PROBE_DIR, config.path);

	if (repo == NULL)
	{
		ok(false, "%s: the repository opens", what);
		return;
	}
	drErrorClear(&err);
	repoDataKeyCount(repo, &keysBefore, &err);
	ok(repoProbe(repo, &err), "%s: the probe passes", what);
	if (err.code != DR_OK)
		diag("%s", err.message);
	ok(access(checkDir, F_OK) != 0, "%s: no probe and no probe directory left", what);
	repoDataKeyCount(repo, &keysAfter, &err);
	is_int(keysAfter, keysBefore, "%s: no data key added to the keyring", what);
	ok(repoProbe(repo, &err), "%s: a second probe passes too", what);

	/* another check's probe, running at the same time */
	mkdir(checkDir, 0700);
	fileWrite(tsprintf("%s/probe.1.0123456789abcdef", checkDir), "other");
	ok(repoProbe(repo, &err), "%s: passes beside another probe", what);
	is_int(dirEntries(checkDir), 1, "%s: the other probe is left alone", what);
	repoClose(repo);
}

static void
testProbeFails(char *keyFile)
{
	ConfigRepo	config;
	Repo	   *repo = repoMake("readonly", keyFile, &config);
	char	   *checkDir = tsprintf("%s/" REPO_PROBE_DIR, config.path);
	DrError		err;

	if (repo == NULL)
	{
		ok(false, "read-only: the repository opens");
		return;
	}

	/* the probe directory cannot be written */
	mkdir(checkDir, 0500);
	drErrorClear(&err);
	ok(!repoProbe(repo, &err) && err.code == DR_ERR_IO &&
	   strstr(err.message, "could not write the probe") != NULL &&
	   strstr(err.message, checkDir) != NULL,
	   "read-only probe directory: fails, naming it");
	is_int(dirEntries(checkDir), 0, "read-only probe directory: nothing left in it");
	rmdir(checkDir);

	/* the repository itself cannot be written */
	chmod(config.path, 0500);
	drErrorClear(&err);
	ok(!repoProbe(repo, &err) &&
	   strstr(err.message, "could not write the probe") != NULL &&
	   strstr(err.message, config.path) != NULL,
	   "read-only repository: fails, naming it");
	chmod(config.path, 0700);
	ok(access(checkDir, F_OK) != 0, "read-only repository: nothing left");
	repoClose(repo);
}

int
main(void)
{
	char	   *key;

	testTmpRootMake(tmpRoot);
	key = tsprintf("%s/key", tmpRoot);
	fileWrite(key, "a passphrase of more than thirty-two characters\n");

	testProbePasses(key, "encrypted");
	testProbePasses(NULL, "unencrypted");
	if (geteuid() != 0)
		testProbeFails(key);
	else
		diag("skipped: the read-only cases (root ignores file modes)");

	testTreeRemove(tmpRoot);
	trackFree();
	return tapDone();
}
