/*-------------------------------------------------------------------------
 * cmd_verify.c
 *	  pg_dr verify: read and check every object of a backup and its chain,
 *	  or of every backup, without a server (backup/backup_verify.h).
 *
 * Each problem is printed as it is found, one line each ("<repository
 * path>: <message>", after "repository N: " when several repositories are
 * verified), then a summary; the exit status says whether there was any.
 * Without --repo every configured repository is verified, in number
 * order, each with its own summary line: a DBA must know which copy is
 * bad (repo/repo_fallback.h: restore reads the next one's).  With --backup all, each backup is verified once, with the
 * references into its parent (so every object of the repository's backups
 * is read exactly once); with one backup, its ancestors are verified too.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "getopt_long.h"

#include "bin/cli.h"
#include "common/logging.h"
#include "repo/repo.h"
#include "repo/repo_backup.h"
#include "repo/repo_fallback.h"
#include "backup/backup_verify.h"
#include "archive/wal_verify.h"

#define CLI_VERIFY_ALL			"all"

void
cliVerifyHelp(void)
{
	printf("%s verify reads every object of a backup and of the backups it depends\n"
		   "on (or of every backup), authenticates it and checks it against its\n"
		   "manifest.  With --wal it checks that the WAL archive is continuous from\n"
		   "the oldest backup to the newest segment, across timelines, and that every\n"
		   "segment in that range is intact.  Every problem is printed.  No server is\n"
		   "needed.\n\n",
		   CLI_PROGNAME);
	printf("Usage:\n");
	printf("  %s verify [--config FILE] [--repo N] [--backup ID|latest|all] [--wal]\n",
		   CLI_PROGNAME);
	printf("\nOptions:\n");
	cliCommandHelpConfig(30);
	printf("  -r, --repo=N                only repository N (default: each configured\n"
		   "                              repository, in number order)\n");
	printf("  -b, --backup=ID|latest|all  what to verify (default: all, unless --wal)\n");
	printf("  -w, --wal                   verify the WAL archive (with --backup: both)\n");
	cliCommandHelpProgress(30);
	printf("  -h, --help                  show this help, then exit\n");
	printf("\nExit status: 0 if no problem was found, 1 otherwise, 2 on a usage error,\n"
		   "130 or 143 when stopped by SIGINT or SIGTERM.\n");
}

/*
 * Print a problem at once: a long verification shows them as they come.
 * arg: the repository's number when several are verified, else NULL.
 */
static void
cliVerifyProblem(void *arg, const char *path, const char *message)
{
	StringInfoData buf;

	cliProgressBreak();
	initStringInfo(&buf);
	if (arg != NULL)
		appendStringInfo(&buf, "repository %d: ", *(const int *) arg);
	cliTextString(&buf, path);
	appendStringInfoString(&buf, ": ");
	cliTextString(&buf, message);
	appendStringInfoChar(&buf, '\n');
	cliOutputFlush(&buf);
	pfree(buf.data);
}

static void
cliVerifyWalProblem(void *arg, WalVerifyProblemKind kind, const char *message)
{
	cliVerifyProblem(arg, REPO_ARCHIVE_WAL_DIR, message);
}

/*
 * Verify the WAL archive; its problems are added to *problems.  False
 * when the repository could not be read (reported).  problemArg as
 * cliVerifyProblem's.
 */
/*
 * What the walk of each repository's archive found last, to compare them
 * (cliVerifyWalBehind): the newest segment, "" when none was walked.
 */
typedef struct CliWalEnd
{
	int			repo;
	char		lastSegment[WAL_NAME_LEN + 1];
	uint32		segSize;
} CliWalEnd;

static CliWalEnd cliWalEnds[CONFIG_REPO_MAX];
static int	cliWalEndCount = 0;

static bool
cliVerifyWal(Repo *repo, int repoIndex, const DrHost *host, void *problemArg,
			 uint64 *problems)
{
	WalVerifyParam param;
	WalVerifyResult result;
	StringInfoData buf;
	DrError		err;
	bool		ok;

	memset(&param, 0, sizeof(param));
	param.problem = cliVerifyWalProblem;
	param.arg = problemArg;
	param.host = host;
	drErrorClear(&err);
	if (!walVerify(repo, &param, &result, &err))
	{
		if (err.code != DR_ERR_CANCELED)
			drErrorPrefix(&err, "could not verify the WAL archive: ");
		cliErrorReport(&err);
		return false;
	}
	*problems += result.problems;
	if (cliWalEndCount < CONFIG_REPO_MAX)
	{
		CliWalEnd  *end = &cliWalEnds[cliWalEndCount++];

		end->repo = repoIndex;
		strlcpy(end->lastSegment, result.lastSegment, sizeof(end->lastSegment));
		end->segSize = result.segSize;
	}

	initStringInfo(&buf);
	appendStringInfo(&buf, "verified the WAL archive of repository %d: ",
					 repoIndex);
	if (result.firstSegment[0] == '\0')
		appendStringInfoString(&buf, "no segment");
	else
		appendStringInfo(&buf, "%s to %s", result.firstSegment,
						 result.lastSegment);
	if (result.haveBackup)
		appendStringInfo(&buf, " (from backup %s)", result.backupId);
	appendStringInfo(&buf, ", " UINT64_FORMAT " segment%s read\n",
					 result.segmentsChecked,
					 result.segmentsChecked == 1 ? "" : "s");
	ok = cliOutputFlush(&buf);
	pfree(buf.data);
	return ok;
}

/*
 * With several archives walked, as dr_wal_verify() does: the segments an
 * archive lacks past its own newest one while the archive that reaches
 * furthest holds them are a problem of the one that lacks them
 * (walVerifyBehind).  Returns how many problems were printed.
 */
static uint64
cliVerifyWalBehind(void)
{
	int			newest = -1;
	uint64		problems = 0;

	for (int i = 0; i < cliWalEndCount; i++)
	{
		uint64		ahead;

		if (cliWalEnds[i].lastSegment[0] == '\0')
			continue;
		if (newest < 0 ||
			walVerifyBehind(cliWalEnds[newest].lastSegment,
							cliWalEnds[i].lastSegment, cliWalEnds[i].segSize,
							&ahead))
			newest = i;
	}
	for (int i = 0; i < cliWalEndCount && newest >= 0; i++)
	{
		const CliWalEnd *own = &cliWalEnds[i];
		const CliWalEnd *far = &cliWalEnds[newest];
		uint64		count;
		char	   *message;
		int			number = own->repo;

		if (i == newest ||
			!walVerifyBehind(own->lastSegment, far->lastSegment, own->segSize,
							 &count))
			continue;
		if (count == 1)
			message = psprintf("WAL segment %s is missing from the archive, which ends with segment %s: repository %d holds it",
							   far->lastSegment, own->lastSegment, far->repo);
		else
			message = psprintf("the WAL archive ends with segment %s: " UINT64_FORMAT " segments to %s are missing from it, which repository %d holds",
							   own->lastSegment, count, far->lastSegment,
							   far->repo);
		cliVerifyProblem(&number, REPO_ARCHIVE_WAL_DIR, message);
		pfree(message);
		problems++;
	}
	return problems;
}

static void
cliVerifyAdd(VerifyResult *total, const VerifyResult *one)
{
	total->backups += one->backups;
	total->files += one->files;
	total->objects += one->objects;
	total->bytes += one->bytes;
	total->walSegments += one->walSegments;
	total->problems += one->problems;
	total->cancelled |= one->cancelled;
}

/* The options of verify, set by cliVerifyOption. */
typedef struct CliVerifyOpts
{
	const char *backup;			/* --backup, or NULL */
	bool		wal;			/* --wal */
} CliVerifyOpts;

static bool
cliVerifyOption(void *state, int c, const char *arg)
{
	CliVerifyOpts *opts = state;

	if (c == 'b')
		opts->backup = arg;
	else
		opts->wal = true;
	return true;
}

static const struct option cliVerifyOptions[] = {
	{"backup", required_argument, NULL, 'b'},
	{"wal", no_argument, NULL, 'w'},
	{NULL, 0, NULL, 0}
};

static const CliCommandSpec cliVerifySpec = {
	.name = "verify",
	.help = cliVerifyHelp,
	.options = cliVerifyOptions,
	.shortOptions = "b:w",
	.option = cliVerifyOption,
	.progress = true,
};

/*
 * Verify what was asked in one repository (its number), adding to *total;
 * false when it stopped (canceled, or an output failed).  A repository
 * that cannot be opened or listed is a problem of its own.
 */
static bool
cliVerifyRepo(const ConfigRepo *repoConfig, const char *backup, bool wal,
			  VerifyParam *param, bool several, VerifyResult *total)
{
	VerifyResult repoTotal;
	StringInfoData buf;
	DrError		err;
	Repo	   *repo;
	int			number = repoConfig->index;
	bool		ok = true;

	memset(&repoTotal, 0, sizeof(repoTotal));
	param->problemArg = several ? &number : NULL;
	drErrorClear(&err);
	repo = repoOpen(repoConfig, &err);
	if (repo == NULL)
	{
		if (several)
			drErrorPrefix(&err, "repository %d: ", number);
		cliErrorReport(&err);
		total->problems++;
		return true;
	}

	if (backup == NULL)
		;						/* the WAL archive only */
	else if (strcmp(backup, CLI_VERIFY_ALL) == 0)
	{
		char	  **ids;
		int			count;

		if (!repoBackupList(repo, &ids, &count, &err))
		{
			if (several)
				drErrorPrefix(&err, "repository %d: ", number);
			cliErrorReport(&err);
			total->problems++;
			repoClose(repo);
			return true;
		}
		for (int i = 0; i < count && !repoTotal.cancelled; i++)
		{
			VerifyResult one;

			verifyBackup(repo, ids[i], param, &one);
			cliVerifyAdd(&repoTotal, &one);
		}
		repoBackupListFree(ids, count);
	}
	else
	{
		param->chain = true;
		verifyBackup(repo, backup, param, &repoTotal);
	}
	cliVerifyAdd(total, &repoTotal);

	/* stopped part-way: no summary, as if nothing had been verified */
	if (repoTotal.cancelled)
	{
		repoClose(repo);
		return false;
	}
	if (backup != NULL)
	{
		cliProgressBreak();
		initStringInfo(&buf);
		appendStringInfo(&buf, "verified %d backup%s in repository %d: " UINT64_FORMAT " files, " UINT64_FORMAT " objects, " UINT64_FORMAT " bytes, " UINT64_FORMAT " WAL segment%s",
						 repoTotal.backups, repoTotal.backups == 1 ? "" : "s",
						 number, repoTotal.files, repoTotal.objects,
						 repoTotal.bytes, repoTotal.walSegments,
						 repoTotal.walSegments == 1 ? "" : "s");
		if (several)
			appendStringInfo(&buf, ", " UINT64_FORMAT " problem%s",
							 repoTotal.problems,
							 repoTotal.problems == 1 ? "" : "s");
		appendStringInfoChar(&buf, '\n');
		ok = cliOutputFlush(&buf);
		pfree(buf.data);
	}
	if (ok && wal && !cliVerifyWal(repo, number, param->host, param->problemArg,
								   &total->problems))
	{
		/* the archive could not be listed: reported, one problem */
		total->problems++;
	}
	repoClose(repo);
	return ok;
}

int
cliVerifyMain(int argc, char **argv)
{
	CliCommand	cmd;
	CliVerifyOpts opts = {0};
	const char *backup;
	bool		wal;
	VerifyParam param;
	VerifyResult total;
	StringInfoData buf;
	int			numbers[CONFIG_REPO_MAX];
	int			count;
	int			status;

	if ((status = cliCommandBegin(&cmd, &cliVerifySpec, &opts, argc, argv)) != CLI_CONTINUE)
		return status;
	backup = opts.backup;
	wal = opts.wal;
	if (backup == NULL && !wal)
		backup = CLI_VERIFY_ALL;
	if (backup != NULL && strcmp(backup, CLI_VERIFY_ALL) != 0 &&
		strcmp(backup, "latest") != 0 && !manifestBackupIdValid(backup))
	{
		char		shown[DR_ERROR_VALUE_BUF];

		return cliUsageError(cmd.spec->name, "invalid backup \"%s\": must be a backup id, \"latest\" or \"all\"",
							 drErrorValue(backup, shown));
	}

	if (!cliCommandConfigLoad(&cmd))
		return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);
	status = CLI_EXIT_FAILURE;

	/* each repository's copy: --repo N, else every one in number order */
	count = repoReadOrder(cmd.config, cmd.repoNumber, numbers);
	memset(&param, 0, sizeof(param));
	memset(&total, 0, sizeof(total));
	param.problem = cliVerifyProblem;
	param.host = cliProgressBegin(cmd.spec->name, cmd.progress);

	/*
	 * "latest" with several repositories: the newest backup of any of
	 * them, so that each one's copy of the same backup is verified (one
	 * that lacks it says so).
	 */
	if (backup != NULL && strcmp(backup, "latest") == 0 && count > 1)
	{
		RepoReadSet set;
		DrError		e;
		char	   *newest = NULL;

		drErrorClear(&e);
		if (repoReadSetOpen(cmd.config, 0, NULL, &set, &e))
		{
			newest = repoReadSetLatest(&set);
			repoReadSetClose(&set);
		}
		if (newest != NULL)
			backup = newest;
	}

	for (int r = 0; r < count; r++)
		if (!cliVerifyRepo(&cmd.config->repo[numbers[r]], backup, wal, &param,
						   count > 1, &total))
			break;
	if (wal && !total.cancelled)
		total.problems += cliVerifyWalBehind();

	if (total.cancelled)
	{
		pg_log_error("verification canceled after " UINT64_FORMAT " files",
					 total.files);
		goto done;
	}

	cliProgressBreak();
	initStringInfo(&buf);
	if (total.problems == 0)
		appendStringInfoString(&buf, "no problems found\n");
	else
		appendStringInfo(&buf, UINT64_FORMAT " problem%s found\n", total.problems,
						 total.problems == 1 ? "" : "s");
	if (cliOutputFlush(&buf) && total.problems == 0)
		status = CLI_EXIT_OK;
	pfree(buf.data);

done:
	return cliCommandEnd(&cmd, cliProgressEnd(status));
}
