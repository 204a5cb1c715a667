/*-------------------------------------------------------------------------
 * cmd_expire.c
 *	  pg_dr expire: apply the retention policy of a repository
 *	  (repoN_retention_full, repoN_retention_full_days) without a server,
 *	  as dr_expire() does (repo/repo_expire.h).  With --dry-run, only say
 *	  what would go.
 *
 * The server's catalog (dr_backups) is not touched: dr_repository_sync()
 * rebuilds it from the repository.  A running backup is protected by the
 * age rule alone (a manifest-less directory younger than an hour stays);
 * its parent is not, but the backup checks for it before writing its
 * manifest, and fails without it (backup.c).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <time.h>

#include "getopt_long.h"

#include "bin/cli.h"
#include "repo/repo.h"
#include "repo/repo_expire.h"

void
cliExpireHelp(void)
{
	printf("%s expire removes the backups beyond the retention policy of a\n"
		   "repository (repoN_retention_full, repoN_retention_full_days), the\n"
		   "directories left without a manifest for more than an hour, and the\n"
		   "archived WAL that no kept backup needs.  No server is needed; run\n"
		   "SELECT dr_repository_sync() afterwards to update dr_backups.\n\n",
		   CLI_PROGNAME);
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
		if (result.walSkipped)
			appendStringInfoString(&buf, "; no backup is kept, so no WAL is removed");
		else if (result.walKeepFrom[0])
			appendStringInfo(&buf, ", WAL kept from %s", result.walKeepFrom);
		appendStringInfoChar(&buf, '\n');
		if (!cliOutputFlush(&buf))
			status = CLI_EXIT_FAILURE;
	}
	repoClose(repo);
	configFree(config);
	return status;
}
