/*-------------------------------------------------------------------------
 * cmd_expire.c
 *	  pg_dr expire: apply the retention policy of a repository
 *	  (repoN_retention_full, repoN_retention_full_days) without a server,
 *	  as dr_expire() does (ops/retention.h).  With --dry-run, only say
 *	  what would go.
 *
 * The server's catalog (dr_backups) is not touched: dr_repository_sync()
 * rebuilds it from the repository.  A running backup, on this host or
 * another, is seen through its lock (repo/repo_lock.h): its directory and
 * its parent's chain stay while the lock is live.  A backup whose manifest
 * cannot be read is left out with a warning on stderr, and nothing it
 * might need is removed (ops/retention.h).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <time.h>

#include "bin/cli.h"
#include "common/logging.h"
#include "ops/retention.h"
#include "repo/repo_lock.h"

void
cliExpireHelp(void)
{
	printf("%s expire removes the backups beyond the retention policy of a\n"
		   "repository (repoN_retention_full, repoN_retention_full_days), the\n"
		   "directories left without a manifest for more than an hour whose\n"
		   "backup lock has expired (no heartbeat for %d seconds) or is absent,\n"
		   "and the archived WAL that no kept backup needs.  A running backup\n"
		   "(on any host) and its parents are kept, and so is a backup under a\n"
		   "legal hold (dr_backup_keep()) with its chain and its WAL.  No server is needed; run\n"
		   "SELECT dr_repository_sync() afterwards to update dr_backups.\n\n",
		   CLI_PROGNAME, REPO_LOCK_EXPIRE);
	printf("Usage:\n");
	printf("  %s expire [--config FILE] [--repo N] [--dry-run]\n", CLI_PROGNAME);
	printf("\nOptions:\n");
	cliCommandHelpConfig(22);
	printf("  -r, --repo=N        repository N (default: the first configured)\n");
	printf("  -n, --dry-run       say what would be removed, remove nothing\n");
	cliCommandHelpProgress(22);
	printf("  -h, --help          show this help, then exit\n");
}

static void
cliExpireBackup(void *arg, const char *backupId, bool orphan)
{
	StringInfoData buf;

	cliProgressBreak();
	initStringInfo(&buf);
	appendStringInfo(&buf, "%s %s %s\n", *(bool *) arg ? "would remove" : "removed",
					 orphan ? "directory without a manifest" : "backup", backupId);
	cliOutputFlush(&buf);
	pfree(buf.data);
}

static void
cliExpireHoldError(void *arg, const char *backupId, const char *message)
{
	cliProgressBreak();
	pg_log_warning("the legal hold of backup %s cannot be read: %s; the backup is kept as if it were held",
				   backupId, message);
}

static void
cliExpireUnreadable(void *arg, const char *backupId, const char *message)
{
	pg_log_warning("backup %s is skipped: %s", backupId, message);
	pg_log_warning_hint("Every backup older than it is kept and no archived WAL is removed while its manifest cannot be read.  Check it with \"%s verify --backup %s\"; remove its directory by hand if it is beyond repair.",
						CLI_PROGNAME, backupId);
}

static bool
cliExpireOption(void *state, int c, const char *arg)
{
	Assert(c == 'n');
	*(bool *) state = true;		/* --dry-run */
	return true;
}

static const struct option cliExpireOptions[] = {
	{"dry-run", no_argument, NULL, 'n'},
	{NULL, 0, NULL, 0}
};

static const CliCommandSpec cliExpireSpec = {
	.name = "expire",
	.help = cliExpireHelp,
	.options = cliExpireOptions,
	.shortOptions = "n",
	.option = cliExpireOption,
	.progress = true,
};

int
cliExpireMain(int argc, char **argv)
{
	CliCommand	cmd;
	bool		dryRun = false;
	const ConfigRepo *repoConfig;
	RetentionParam param;
	RetentionResult result;
	StringInfoData buf;
	DrError		err;
	int			status;

	if ((status = cliCommandBegin(&cmd, &cliExpireSpec, &dryRun, argc, argv)) != CLI_CONTINUE)
		return status;
	if (!cliCommandConfigLoad(&cmd))
		return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);
	repoConfig = cmd.repoConfig;
	status = CLI_EXIT_OK;
	initStringInfo(&buf);
	if (repoConfig->retentionFull <= 0)
	{
		appendStringInfo(&buf, "repo%d has no retention policy (repo%d_retention_full): nothing is removed\n",
						 repoConfig->index, repoConfig->index);
		cliOutputFlush(&buf);
		return cliCommandEnd(&cmd, CLI_EXIT_OK);
	}
	if (!cliCommandRepoOpen(&cmd))
		return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);

	drErrorClear(&err);
	memset(&param, 0, sizeof(param));
	param.policy.fullCount = repoConfig->retentionFull;
	param.policy.fullDays = repoConfig->retentionFullDays;
	param.policy.now = (int64) time(NULL);
	param.dryRun = dryRun;
	param.onBackup = cliExpireBackup;
	param.onUnreadable = cliExpireUnreadable;
	param.onHoldError = cliExpireHoldError;
	param.arg = &dryRun;
	param.host = cliProgressBegin(cmd.spec->name, cmd.progress);
	if (!retentionRun(cmd.repo, &param, &result, &err))
	{
		cliErrorReport(&err);
		status = cliProgressEnd(CLI_EXIT_FAILURE);
	}
	else
	{
		status = cliProgressEnd(CLI_EXIT_OK);
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
		if (result.backupsHeld > 0)
			appendStringInfo(&buf, "; %d backups under a legal hold",
							 result.backupsHeld);
		appendStringInfoChar(&buf, '\n');
		if (!cliOutputFlush(&buf))
			status = CLI_EXIT_FAILURE;
	}
	return cliCommandEnd(&cmd, status);
}
