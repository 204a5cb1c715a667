/*-------------------------------------------------------------------------
 * test_repo_fallback.c
 *	  Unit tests of reading from several repositories
 *	  (src/repo/repo_fallback.c).
 *
 * Covers: repoReadOrder (every configured repository in number order,
 * gaps skipped; a forced one alone; a forced one not configured; none
 * configured); repoForcedCheck (a configured one passes; one not
 * configured, 0 and one out of range are refused as invalid, naming the
 * configured repositories, one or several, or none); repoReadFallsBack (missing, damaged, key and storage
 * failures go on; cancel, bad argument, configuration and internal
 * errors do not); repoReadDecide (the first good copy wins wherever it
 * is; missing everywhere is missing; a bad copy and no good one is a
 * failure, before or after a missing one); repoFallbackMessage (names the
 * repository that failed, the object, why and the one used; without
 * object; a failure with no repository used); repoReadSetOpen on real
 * posix repositories (both opened in order; one whose directory is gone
 * left out with a warning naming it and the one used; forced alone;
 * forced but not configured; every one gone: the first one's error);
 * repoReadSetLatest (no backup anywhere; the newest of both repositories,
 * whichever holds it).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "common/config.h"
#include "common/fs.h"
#include "repo/repo_fallback.h"
#include "storage/storage.h"
#include "tap.h"
#include "test_support.h"

static DrConfig *
parse(const char *text)
{
	DrError		err;
	DrConfig   *config;

	drErrorClear(&err);
	config = configParse(text, strlen(text), "test", &err);
	if (config == NULL)
		diag("configParse: %s", err.message);
	return config;
}

static void
testOrder(void)
{
	DrConfig   *config = parse("repo2_type = posix\nrepo2_path = /b\nrepo2_cipher_type = none\n"
								"repo4_type = posix\nrepo4_path = /d\nrepo4_cipher_type = none\n"
								"repo1_type = posix\nrepo1_path = /a\nrepo1_cipher_type = none\n");
	int			numbers[CONFIG_REPO_MAX];
	int			count;

	count = repoReadOrder(config, 0, numbers);
	is_int(count, 3, "three configured repositories are read");
	ok(count == 3 && numbers[0] == 1 && numbers[1] == 2 && numbers[2] == 4,
	   "in number order, whatever the order of the lines, repo3 skipped");
	count = repoReadOrder(config, 2, numbers);
	ok(count == 1 && numbers[0] == 2, "a forced repository is the only one read");
	is_int(repoReadOrder(config, 3, numbers), 0,
		   "a forced repository that is not configured: none");
	is_int(repoReadOrder(config, CONFIG_REPO_MAX + 1, numbers), 0,
		   "a forced number out of range: none");
	configFree(config);

	config = parse("compress_level = 3\n");
	if (config != NULL)
	{
		is_int(repoReadOrder(config, 0, numbers), 0, "no repository configured: none");
		configFree(config);
	}
}

static void
testForcedCheck(void)
{
	DrConfig   *config = parse("repo1_type = posix\nrepo1_path = /a\nrepo1_cipher_type = none\n"
								"repo2_type = posix\nrepo2_path = /b\nrepo2_cipher_type = none\n"
								"repo4_type = posix\nrepo4_path = /d\nrepo4_cipher_type = none\n");
	DrError		err;

	drErrorClear(&err);
	ok(repoForcedCheck(config, 4, &err) && err.code == DR_OK,
	   "a configured repository passes");
	ok(!repoForcedCheck(config, 3, &err) && err.code == DR_ERR_INVALID,
	   "one not configured is an invalid argument");
	is_str(err.message, "repository 3 is not configured: \"test\" configures repositories 1, 2 and 4",
		   "the message names the configured repositories");
	ok(err.hint[0] != '\0', "with a hint");
	drErrorClear(&err);
	ok(!repoForcedCheck(config, 0, &err) && err.code == DR_ERR_INVALID &&
	   strstr(err.message, "repositories 1, 2 and 4") != NULL, "0 is refused");
	drErrorClear(&err);
	ok(!repoForcedCheck(config, CONFIG_REPO_MAX + 1, &err) &&
	   err.code == DR_ERR_INVALID, "a number out of range is refused");
	drErrorClear(&err);
	ok(!repoForcedCheck(config, -2, &err) &&
	   strstr(err.message, "repository -2 is not configured") != NULL,
	   "a negative number is refused, named");
	configFree(config);

	config = parse("repo2_type = posix\nrepo2_path = /b\nrepo2_cipher_type = none\n");
	drErrorClear(&err);
	ok(!repoForcedCheck(config, 1, &err), "repo1 refused when only repo2 is configured");
	is_str(err.message, "repository 1 is not configured: \"test\" configures repository 2",
		   "one configured repository, named");
	configFree(config);

	config = parse("compress_level = 3\n");
	drErrorClear(&err);
	ok(!repoForcedCheck(config, 1, &err), "nothing configured: refused");
	is_str(err.message, "repository 1 is not configured: \"test\" configures no repository",
		   "and said so");
	configFree(config);
}

static void
testFallsBack(void)
{
	DrError		err;
	struct
	{
		DrErrorCode code;
		bool		next;
		const char *what;
	}			cases[] = {
		{DR_ERR_NOT_FOUND, true, "a missing copy"},
		{DR_ERR_CORRUPT, true, "a copy that fails authentication or its SHA-256"},
		{DR_ERR_KEY, true, "a copy the key cannot read"},
		{DR_ERR_IO, true, "a storage failure"},
		{DR_ERR_CANCELED, false, "a cancel"},
		{DR_ERR_INVALID, false, "a bad argument"},
		{DR_ERR_CONFIG, false, "a configuration error"},
		{DR_ERR_INTERNAL, false, "an internal failure"},
		{DR_ERR_PERMISSION, false, "unsafe permissions"},
	};

	for (int i = 0; i < (int) lengthof(cases); i++)
	{
		drErrorClear(&err);
		drErrorSet(&err, cases[i].code, "x");
		ok(repoReadFallsBack(&err) == cases[i].next, "%s %s the next repository",
		   cases[i].what, cases[i].next ? "tries" : "does not try");
	}
}

static void
testDecide(void)
{
	RepoReadOutcome o[4];
	int			used;

	o[0] = REPO_READ_OK;
	ok(repoReadDecide(o, 1, &used) == REPO_READ_OK && used == 0,
	   "good in the first: served from it");
	o[0] = REPO_READ_FAILED;
	o[1] = REPO_READ_OK;
	ok(repoReadDecide(o, 2, &used) == REPO_READ_OK && used == 1,
	   "fails authentication in repo1, good in repo2: served from repo2");
	o[0] = REPO_READ_MISSING;
	o[1] = REPO_READ_MISSING;
	o[2] = REPO_READ_OK;
	ok(repoReadDecide(o, 3, &used) == REPO_READ_OK && used == 2,
	   "missing in two, good in the third: served from the third");
	o[0] = REPO_READ_MISSING;
	o[1] = REPO_READ_MISSING;
	ok(repoReadDecide(o, 2, &used) == REPO_READ_MISSING && used == -1,
	   "missing everywhere: missing (the end of the WAL)");
	o[0] = REPO_READ_FAILED;
	o[1] = REPO_READ_FAILED;
	ok(repoReadDecide(o, 2, &used) == REPO_READ_FAILED && used == -1,
	   "corrupt everywhere: a failure");
	o[0] = REPO_READ_MISSING;
	o[1] = REPO_READ_FAILED;
	ok(repoReadDecide(o, 2, &used) == REPO_READ_FAILED,
	   "missing in one, corrupt in the other: a failure, never \"not found\"");
	o[0] = REPO_READ_FAILED;
	o[1] = REPO_READ_MISSING;
	ok(repoReadDecide(o, 2, &used) == REPO_READ_FAILED,
	   "corrupt in one, missing in the other: a failure");
	ok(repoReadDecide(o, 0, &used) == REPO_READ_MISSING && used == -1,
	   "no repository: missing");
}

static void
testMessage(void)
{
	DrError		err;
	char	   *msg;

	drErrorClear(&err);
	drErrorSet(&err, DR_ERR_CORRUPT, "object \"archive/x\" failed authentication");
	msg = repoFallbackMessage(1, "WAL file \"000000010000000000000003\"", &err,
							  "fetched it", 2);
	is_str(msg, "repository 1: WAL file \"000000010000000000000003\": object \"archive/x\" failed authentication; fetched it from repository 2 instead",
		   "the warning names the failed repository, the object, why and the one used");
	pfree(msg);
	msg = repoFallbackMessage(3, NULL, &err, "restored it", 4);
	is_str(msg, "repository 3: object \"archive/x\" failed authentication; restored it from repository 4 instead",
		   "without an object: the error names it");
	pfree(msg);
	msg = repoFallbackMessage(2, NULL, &err, "restored it", 0);
	is_str(msg, "repository 2: object \"archive/x\" failed authentication",
		   "a fallback copy that failed too: no repository used");
	pfree(msg);
}

/* Warnings of repoReadSetOpen, kept. */
static char lastWarning[2048];
static int	warnings;

static void
testWarning(void *arg, const char *message)
{
	strlcpy(lastWarning, message, sizeof(lastWarning));
	warnings++;
}

static void
testSetOpen(void)
{
	char		root[] = "/tmp/test_repo_fallback.XXXXXX";
	DrHost		host = {.warning = testWarning};
	DrConfig   *config;
	RepoReadSet set;
	DrError		err;
	char	   *text;

	testTmpRootMake(root);
	for (int i = 1; i <= 2; i++)
	{
		char	   *path = psprintf("%s/r%d", root, i);
		ConfigRepo rc = testConfigRepo(path, NULL);

		if (!repoCreate(&rc, 1000, &err))
			diag("repoCreate: %s", err.message);
		configRepoClear(&rc);
		pfree(path);
	}
	text = psprintf("repo1_type = posix\nrepo1_path = %s/r1\nrepo1_cipher_type = none\n"
					"repo2_type = posix\nrepo2_path = %s/r2\nrepo2_cipher_type = none\n",
					root, root);
	config = parse(text);

	drErrorClear(&err);
	ok(repoReadSetOpen(config, 0, &host, &set, &err) && set.count == 2 &&
	   set.numbers[0] == 1 && set.numbers[1] == 2 && !set.forced,
	   "two repositories opened, in number order");
	is_int(repoReadSetFind(&set, 2), 1, "repository 2 is the second");
	is_int(repoReadSetFind(&set, 3), -1, "repository 3 is not there");
	repoReadSetClose(&set);
	is_int(warnings, 0, "no warning when every repository opens");

	/* "latest": the newest backup of any repository (a backup is what has a manifest) */
	ok(repoReadSetOpen(config, 0, &host, &set, &err) &&
	   repoReadSetLatest(&set) == NULL, "latest with no backup anywhere: none");
	repoReadSetClose(&set);
	{
		const char *backups[][2] = {
			{"r1", "20240101-000000F"}, {"r1", "20240103-000000I"},
			{"r2", "20240101-000000F"}, {"r2", "20240102-000000F"},
		};

		for (int i = 0; i < (int) lengthof(backups); i++)
		{
			char	   *dir = psprintf("%s/%s/backup/%s", root, backups[i][0],
									   backups[i][1]);
			char	   *manifest = psprintf("%s/manifest", dir);
			DrError		e;

			if (!fsMakeDirs(dir, 0700, 0, &e))
				diag("mkdir %s: %s", dir, e.message);
			fileWrite(manifest, "x");
			pfree(manifest);
			pfree(dir);
		}
	}
	ok(repoReadSetOpen(config, 0, &host, &set, &err), "opened again");
	is_str(repoReadSetLatest(&set), "20240103-000000I",
		   "latest is the newest of both repositories (repository 1's)");
	repoReadSetClose(&set);
	{
		char	   *newer = psprintf("%s/r2/backup/20240104-000000F", root);
		char	   *manifest = psprintf("%s/manifest", newer);
		DrError		e;

		if (!fsMakeDirs(newer, 0700, 0, &e))
			diag("mkdir %s: %s", newer, e.message);
		fileWrite(manifest, "x");
		pfree(manifest);
		pfree(newer);
	}
	ok(repoReadSetOpen(config, 0, &host, &set, &err), "opened again");
	is_str(repoReadSetLatest(&set), "20240104-000000F",
		   "a newer backup only repository 2 has: latest is it, repository 1 missed it");
	repoReadSetClose(&set);

	ok(repoReadSetOpen(config, 2, &host, &set, &err) && set.count == 1 &&
	   set.numbers[0] == 2 && set.forced, "--repo 2: repository 2 alone");
	repoReadSetClose(&set);
	ok(!repoReadSetOpen(config, 3, &host, &set, &err) &&
	   err.code == DR_ERR_CONFIG && strstr(err.message, "repository 3 is not configured") != NULL,
	   "--repo 3 not configured: a configuration error naming it");

	/* repository 1 gone: read from 2, and said */
	{
		char	   *gone = psprintf("%s/r1", root);

		testTreeRemove(gone);
		pfree(gone);
	}
	drErrorClear(&err);
	ok(repoReadSetOpen(config, 0, &host, &set, &err) && set.count == 1 &&
	   set.numbers[0] == 2, "repository 1 gone: repository 2 is read");
	repoReadSetClose(&set);
	ok(warnings == 1 && strncmp(lastWarning, "repository 1: ", 14) == 0 &&
	   strstr(lastWarning, "from repository 2 instead") != NULL,
	   "the warning names repository 1 and repository 2");
	if (warnings != 1)
		diag("warnings %d, last: %s", warnings, lastWarning);
	drErrorClear(&err);
	ok(!repoReadSetOpen(config, 1, &host, &set, &err) && err.code != DR_OK,
	   "--repo 1 gone: an error, no fallback");

	{
		char	   *gone = psprintf("%s/r2", root);

		testTreeRemove(gone);
		pfree(gone);
	}
	warnings = 0;
	drErrorClear(&err);
	ok(!repoReadSetOpen(config, 0, &host, &set, &err) && err.code != DR_OK &&
	   strstr(err.message, "/r1") != NULL,
	   "every repository gone: the first one's error");
	is_int(warnings, 0, "and no fallback said");

	configFree(config);
	testTreeRemove(root);
}

int
main(void)
{
	storageDriversRegister();
	testOrder();
	testForcedCheck();
	testFallsBack();
	testDecide();
	testMessage();
	testSetOpen();
	return tapDone();
}
