/*-------------------------------------------------------------------------
 * cmd_expire.c
 *	  pg_dr expire: apply the retention policy of a repository as
 *	  dr_expire() does (ops/retention.h): the repository's own
 *	  (repoN_retention_full, repoN_retention_full_days), else the tier's.
 *	  With --dry-run, only say what would go.
 *
 * The tier and its retention (pg_dr.tier, dr_objectives) live in the
 * server, so when the repository sets no policy of its own they are read
 * over libpq (--dbname, else the PG* environment, as pg_dr check and the
 * PostgreSQL programs connect); a repository with a policy of its own
 * needs no server.  When the tier's cannot be read, nothing is removed
 * and the command fails saying why: guessing could delete backups the
 * tier keeps, and a cron job must notice.
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

#include "libpq-fe.h"

#include "bin/cli.h"
#include "common/logging.h"
#include "ops/retention.h"
#include "repo/repo_lock.h"

void
cliExpireHelp(void)
{
	printf("%s expire removes the backups beyond the retention policy of a\n"
		   "repository (repoN_retention_full, repoN_retention_full_days; when it\n"
		   "sets none, the tier's retention in dr_objectives, read from the server\n"
		   "given by --dbname or the PG* environment), the\n"
		   "directories left without a manifest for more than an hour whose\n"
		   "backup lock has expired (no heartbeat for %d seconds) or is absent,\n"
		   "and the archived WAL that no kept backup needs.  A running backup\n"
		   "(on any host) and its parents are kept, and so is a backup under a\n"
		   "legal hold (dr_backup_keep()) with its chain and its WAL.  A repository\n"
		   "with a policy of its own needs no server; run SELECT dr_repository_sync()\n"
		   "afterwards to update dr_backups.\n\n",
		   CLI_PROGNAME, REPO_LOCK_EXPIRE);
	printf("Usage:\n");
	printf("  %s expire [--config FILE] [--repo N] [--dbname CONNINFO] [--dry-run]\n", CLI_PROGNAME);
	printf("\nOptions:\n");
	cliCommandHelpConfig(22);
	printf("  -r, --repo=N        repository N (default: the first configured)\n");
	printf("  -d, --dbname=CONNINFO  the server whose tier's retention applies when the\n"
		   "                      repository sets none (default: the PG* environment)\n");
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

typedef struct CliExpireOptions
{
	bool		dryRun;
	const char *dbname;			/* -d; NULL: the PG* environment */
} CliExpireOptions;

static bool
cliExpireOption(void *state, int c, const char *arg)
{
	CliExpireOptions *opts = state;

	if (c == 'n')
		opts->dryRun = true;
	else
	{
		Assert(c == 'd');
		opts->dbname = arg;
	}
	return true;
}

static const struct option cliExpireOptions[] = {
	{"dry-run", no_argument, NULL, 'n'},
	{"dbname", required_argument, NULL, 'd'},
	{NULL, 0, NULL, 0}
};

static const CliCommandSpec cliExpireSpec = {
	.name = "expire",
	.help = cliExpireHelp,
	.options = cliExpireOptions,
	.shortOptions = "nd:",
	.option = cliExpireOption,
	.progress = true,
};

/* connecting for the tier waits at most this long (seconds) */
#define CLI_EXPIRE_CONNECT_TIMEOUT	10

/* libpq's message on one line, without its trailing newline */
static char *
cliExpirePqMessage(const char *message)
{
	char	   *s = pstrdup(message ? message : "");
	size_t		len;

	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	len = strlen(s);
	while (len > 0 && s[len - 1] == ' ')
		s[--len] = '\0';
	return s;
}

/* What the server says of its tier (cliExpireTierRead). */
typedef struct CliExpireTier
{
	char	   *name;			/* pg_dr.tier */
	int			full;			/* retention_full; 0 when NULL */
	int			days;			/* retention_full_days; 0 when NULL */
} CliExpireTier;

/*
 * Read the tier and its retention from the server (dbname: a connection
 * string or a database; NULL for the PG* environment), through
 * dr_objectives (dr_monitor may read it).  False with *error (and maybe
 * *hint), palloc'd.
 */
static bool
cliExpireTierRead(const char *dbname, CliExpireTier *tier, char **error,
				  char **hint)
{
	const char *keywords[4];
	const char *values[4];
	char		timeout[16];
	int			n = 0;
	PGconn	   *conn;
	PGresult   *res;
	char	   *schema;
	char	   *sql;
	bool		ok = false;

	*error = NULL;
	*hint = NULL;
	if (getenv("PGCONNECT_TIMEOUT") == NULL)
	{
		snprintf(timeout, sizeof(timeout), "%d", CLI_EXPIRE_CONNECT_TIMEOUT);
		keywords[n] = "connect_timeout";
		values[n++] = timeout;
	}
	keywords[n] = "fallback_application_name";
	values[n++] = "pg_dr expire";
	keywords[n] = "dbname";
	values[n++] = dbname;
	keywords[n] = NULL;
	values[n] = NULL;

	conn = PQconnectdbParams(keywords, values, 1);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
	{
		*error = conn ? cliExpirePqMessage(PQerrorMessage(conn)) : pstrdup("out of memory");
		*hint = psprintf("Give the server with --dbname (a connection string; default: the PG* environment), or set a policy of the repository's own in the configuration file.");
		PQfinish(conn);
		return false;
	}

	res = PQexec(conn, "SELECT pg_catalog.quote_ident(n.nspname),"
				 " pg_catalog.current_setting('pg_dr.database', true)"
				 " FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n"
				 " ON n.oid OPERATOR(pg_catalog.=) e.extnamespace"
				 " WHERE e.extname OPERATOR(pg_catalog.=) 'pg_dr'");
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		*error = cliExpirePqMessage(PQresultErrorMessage(res));
	else if (PQntuples(res) != 1)
	{
		*error = psprintf("extension \"pg_dr\" is not installed in database \"%s\"",
						  PQdb(conn));
		*hint = pstrdup("Connect to the database pg_dr.database names (SHOW pg_dr.database) with --dbname.");
	}
	if (*error != NULL)
	{
		PQclear(res);
		PQfinish(conn);
		return false;
	}
	schema = pstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);

	sql = psprintf("SELECT o.tier, COALESCE(o.retention_full, 0),"
				   " COALESCE(o.retention_full_days, 0)"
				   " FROM %s.dr_objectives o"
				   " WHERE o.tier OPERATOR(pg_catalog.=) pg_catalog.current_setting('pg_dr.tier')",
				   schema);
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		*error = cliExpirePqMessage(PQresultErrorMessage(res));
		*hint = pstrdup("The role needs to read dr_objectives (dr_monitor).");
	}
	else if (PQntuples(res) != 1)
		*error = pstrdup("the server's tier (pg_dr.tier) is not in dr_objectives");
	else
	{
		tier->name = pstrdup(PQgetvalue(res, 0, 0));
		tier->full = atoi(PQgetvalue(res, 0, 1));
		tier->days = atoi(PQgetvalue(res, 0, 2));
		ok = true;
	}
	PQclear(res);
	PQfinish(conn);
	pfree(sql);
	pfree(schema);
	return ok;
}

/* "keep N full backups[ and every full backup younger than D days]" */
static void
cliExpirePolicyText(StringInfo buf, const RetentionPolicy *policy)
{
	appendStringInfo(buf, "keep %d full backups", policy->fullCount);
	if (policy->fullDays > 0)
		appendStringInfo(buf, " and every full backup younger than %d days",
						 policy->fullDays);
}

int
cliExpireMain(int argc, char **argv)
{
	CliCommand	cmd;
	CliExpireOptions opts = {false, NULL};
	const ConfigRepo *repoConfig;
	RetentionPolicy policy;
	RetentionPolicySource source;
	CliExpireTier tier = {NULL, 0, 0};
	bool		tierKnown = false;
	char	   *tierError = NULL;
	char	   *tierHint = NULL;
	RetentionParam param;
	RetentionResult result;
	StringInfoData buf;
	DrError		err;
	int			status;

	if ((status = cliCommandBegin(&cmd, &cliExpireSpec, &opts, argc, argv)) != CLI_CONTINUE)
		return status;
	if (!cliCommandConfigLoad(&cmd))
		return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);
	repoConfig = cmd.repoConfig;
	status = CLI_EXIT_OK;
	initStringInfo(&buf);

	/* the tier is asked for only when the repository sets no policy */
	if (repoConfig->retentionFull <= 0)
		tierKnown = cliExpireTierRead(opts.dbname, &tier, &tierError, &tierHint);
	memset(&policy, 0, sizeof(policy));
	source = retentionPolicyChoose(repoConfig->retentionFull,
								   repoConfig->retentionFullDays,
								   tier.full, tier.days, tierKnown, &policy);
	switch (source)
	{
		case RETENTION_POLICY_UNKNOWN:
			pg_log_error("repo%d sets no retention policy (repo%d_retention_full) and the tier's cannot be read from the server: %s",
						 repoConfig->index, repoConfig->index, tierError);
			pg_log_error_detail("No policy is applied: nothing is removed.");
			if (tierHint)
				pg_log_error_hint("%s", tierHint);
			return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);
		case RETENTION_POLICY_NONE:
			appendStringInfo(&buf, "repo%d has no retention policy (repo%d_retention_full, nor retention_full of the tier \"%s\" in dr_objectives): nothing is removed\n",
							 repoConfig->index, repoConfig->index, tier.name);
			cliOutputFlush(&buf);
			return cliCommandEnd(&cmd, CLI_EXIT_OK);
		case RETENTION_POLICY_REPOSITORY:
			appendStringInfo(&buf, "repo%d: policy of the repository (repo%d_retention_full): ",
							 repoConfig->index, repoConfig->index);
			break;
		case RETENTION_POLICY_TIER:
			appendStringInfo(&buf, "repo%d: policy of the tier \"%s\" (dr_objectives on the server): ",
							 repoConfig->index, tier.name);
			break;
	}
	cliExpirePolicyText(&buf, &policy);
	appendStringInfoChar(&buf, '\n');
	if (!cliOutputFlush(&buf))
		return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);
	resetStringInfo(&buf);
	if (!cliCommandRepoOpen(&cmd))
		return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);

	drErrorClear(&err);
	memset(&param, 0, sizeof(param));
	param.policy.fullCount = policy.fullCount;
	param.policy.fullDays = policy.fullDays;
	param.policy.now = (int64) time(NULL);
	param.dryRun = opts.dryRun;
	param.onBackup = cliExpireBackup;
	param.onUnreadable = cliExpireUnreadable;
	param.onHoldError = cliExpireHoldError;
	param.arg = &opts.dryRun;
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
						 opts.dryRun ? "would remove" : "removed",
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
