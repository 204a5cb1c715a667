/*-------------------------------------------------------------------------
 * cmd_expire.c
 *	  pg_dr expire: apply the retention policy of a repository
 *	  (repoN_retention_full, repoN_retention_full_days) without a server,
 *	  as dr_expire() does (repo/repo_expire.h).  With --dry-run, only say
 *	  what would go.
 *
 * The server's catalog (dr_backups) is not touched: dr_repository_sync()
 * rebuilds it from the repository.  A running backup, on this host or
 * another, is seen through its lock (repo/repo_lock.h): its directory and
 * its parent's chain stay while the lock is live.  A backup whose manifest
 * cannot be read is left out with a warning on stderr, and nothing it
 * might need is removed (repo/repo_expire.h).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <time.h>

#include "getopt_long.h"

#include "bin/cli.h"
#include "common/logging.h"
#include "repo/repo.h"
#include "repo/repo_expire.h"
#include "repo/repo_lock.h"

void
cliExpireHelp(void)
{
	printf("%s expire removes the backups beyond the retention policy of a\n"
		   "repository (repoN_retention_full, repoN_retention_full_days), the\n"
		   "directories left without a manifest for more than an hour whose\n"
		   "backup lock has expired (no heartbeat for %d seconds) or is absent,\n"
		   "and the archived WAL that no kept backup needs.  A running backup\n"
		   "(on any host) and its parents are kept.  No server is needed; run\n"
		   "SELECT dr_repository_sync() afterwards to update dr_backups.\n\n",
		   CLI_PROGNAME, REPO_LOCK_EXPIRE);
	printf("Usage:\n");
	printf("  %s expire --config FILE [--repo N] [--dry-run]\n", CLI_PROGNAME);
	printf("\nOptions:\n");
	printf("  -c, --config=FILE   pg_dr configuration file (required)\n");
	printf("  -r, --repo=N        repository N (default: the first configured)\n");
	printf("  -n, --dry-run       say what would be removed, remove nothing\n");
	printf("  -h, --help          show this help, then exit\n");
}

static void
cliExpireBackup(void *arg, const char *backupId, bool orphan)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%s %s %s\n", *(bool *) arg ? "would remove" : "removed",
					 orphan ? "directory without a manifest" : "backup", backupId);
	cliOutputFlush(&buf);
	pfree(buf.data);
}

static void
cliExpireUnreadable(void *arg, const char *backupId, const char *message)
{
	pg_log_warning("backup %s is skipped: %s", backupId, message);
	pg_log_warning_hint("Every backup older than it is kept and no archived WAL is removed while its manifest cannot be read.  Check it with \"%s verify --backup %s\"; remove its directory by hand if it is beyond repair.",
						CLI_PROGNAME, backupId);
}

int
cliExpireMain(int argc, char **argv)
{
	static const struct option options[] = {
		{"config", required_argument, NULL, 'c'},
		{"repo", required_argument, NULL, 'r'},
		{"dry-run", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	const char *command = "expire";
	const char *configPath = NULL;
	int			repoNumber = 0;
	bool		dryRun = false;
	DrConfig   *config;
	const ConfigRepo *repoConfig;
	Repo	   *repo;
	RepoExpireParam param;
	RepoExpireResult result;
	StringInfoData buf;
	DrError		err;
	int			status = CLI_EXIT_OK;
	int			c;

	while ((c = getopt_long(argc, argv, ":c:r:nh", options, NULL)) != -1)
	{
		switch (c)
		{
			case 'c':
				configPath = optarg;
				break;
			case 'r':
				if (!cliRepoNumberParse(command, optarg, &repoNumber))
					return CLI_EXIT_USAGE;
				break;
			case 'n':
				dryRun = true;
				break;
			case 'h':
				cliExpireHelp();
				return CLI_EXIT_OK;
			default:
				return cliOptionError(command, c, argv);
		}
	}
	if (optind < argc)
		return cliUsageError(command, "too many command-line arguments (first is \"%s\")",
							 argv[optind]);
	if (configPath == NULL)
		return cliUsageError(command, "no configuration file specified (--config)");

	config = cliConfigLoad(configPath);
	if (config == NULL)
		return CLI_EXIT_FAILURE;
	repoConfig = cliRepoSelect(config, repoNumber);
	if (repoConfig == NULL)
	{
		configFree(config);
		return CLI_EXIT_FAILURE;
	}
	initStringInfo(&buf);
	if (repoConfig->retentionFull <= 0)
	{
		appendStringInfo(&buf, "repo%d has no retention policy (repo%d_retention_full): nothing is removed\n",
						 repoConfig->index, repoConfig->index);
		cliOutputFlush(&buf);
		configFree(config);
		return CLI_EXIT_OK;
	}

	drErrorClear(&err);
	repo = repoOpen(repoConfig, &err);
	if (repo == NULL)
	{
		cliErrorReport(&err);
		configFree(config);
		return CLI_EXIT_FAILURE;
	}

	memset(&param, 0, sizeof(param));
	param.policy.fullCount = repoConfig->retentionFull;
	param.policy.fullDays = repoConfig->retentionFullDays;
	param.policy.now = (int64) time(NULL);
	param.dryRun = dryRun;
	param.onBackup = cliExpireBackup;
	param.onUnreadable = cliExpireUnreadable;
	param.arg = &dryRun;
	if (!repoExpire(repo, &param, &result, &err))
	{
		cliErrorReport(&err);
		status = CLI_EXIT_FAILURE;
	}
	else
	{
		appendStringInfo(&buf, "%s %d backups and %d directories without a manifest, "
						 "%d WAL files, " UINT64_FORMAT " bytes; %d backups kept",
						 dryRun ? "would remove" : "removed",
						 result.backupsRemoved, result.orphansRemoved,
						 result.walRemoved, result.bytesFreed, result.backupsKept);
		if (result.walKept && result.backupsUnreadable > 0)
			appendStringInfo(&buf, "; %d backups cannot be read, so no WAL is removed",
							 result.backupsUnreadable);
		else if (result.walKept)
			appendStringInfoString(&buf, "; a backup completed meanwhile, so no WAL is removed");
		else if (result.walSkipped)
			appendStringInfoString(&buf, "; no backup is kept, so no WAL is removed");
		else if (result.walKeepFrom[0])
			appendStringInfo(&buf, ", WAL kept from %s", result.walKeepFrom);
		if (result.backupsLocked > 0)
			appendStringInfo(&buf, "; %d running backups kept (live lock)",
							 result.backupsLocked);
		appendStringInfoChar(&buf, '\n');
		if (!cliOutputFlush(&buf))
			status = CLI_EXIT_FAILURE;
	}
	repoClose(repo);
	configFree(config);
	return status;
}
