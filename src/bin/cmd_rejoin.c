/*-------------------------------------------------------------------------
 * cmd_rejoin.c
 *	  pg_dr rejoin: make a stopped old primary a standby of the new one,
 *	  with pg_rewind when it wrote past the point where the new primary's
 *	  timeline left its own (docs/ha.md, "Rejoin").
 *
 * In order: the data directory is read (no server running on it,
 * PostgreSQL 15, its pg_control and timeline history); the new primary is
 * found (--source, or the one registered node that answers as a primary
 * of the same system); the decision of ha/ha_rejoin.h says follow as is,
 * rewind first, or refuse; pg_rewind runs when needed (PostgreSQL 15's,
 * from the directory this program is installed in, which is the server's
 * bindir, or --bindir), this node's configuration files kept through it;
 * standby.signal and primary_conninfo are written;
 * the rejoin, whatever its outcome after the source was found, is
 * recorded in the new primary's audit trail (dr_rejoin_record).  The
 * server is not started: that is the service manager's job.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <sys/wait.h>
#include <unistd.h>

#include "getopt_long.h"

#include "bin/cli.h"
#include "bin/rejoin.h"
#include "common/logging.h"
#include "common/string.h"
#include "ha/ha_conninfo.h"

#define REJOIN_OPT_BINDIR		901

typedef struct CliRejoinOptions
{
	const char *pgdata;
	const char *source;
	const char *bindir;
} CliRejoinOptions;

static const struct option cliRejoinOptions[] = {
	{"pgdata", required_argument, NULL, 'D'},
	{"source", required_argument, NULL, 's'},
	{"bindir", required_argument, NULL, REJOIN_OPT_BINDIR},
	{NULL, 0, NULL, 0}
};

void
cliRejoinHelp(void)
{
	printf("%s rejoin makes an old primary, whose server is stopped, a standby of\n"
		   "the current primary.  When it wrote WAL past the point where the new\n"
		   "primary's timeline began, pg_rewind first takes it back to that point;\n"
		   "otherwise nothing is rewound.  Then standby.signal and primary_conninfo\n"
		   "are written, so that the server starts as a standby.  The rejoin is\n"
		   "recorded in the new primary's audit trail.\n\n",
		   CLI_PROGNAME);
	printf("Usage:\n");
	printf("  %s rejoin [--config FILE] --pgdata DIR [--source CONNINFO]\n", CLI_PROGNAME);
	printf("\nOptions:\n");
	cliCommandHelpConfig(26);
	printf("  -r, --repo=N            accepted as by every command; rejoin reads no\n"
		   "                          repository\n");
	printf("  -D, --pgdata=DIR        data directory of the old primary (stopped)\n");
	printf("  -s, --source=CONNINFO   the current primary (default: the registered node\n"
		   "                          that answers as the primary, the registry read\n"
		   "                          through ha_registry_conninfo)\n");
	printf("      --bindir=DIR        where PostgreSQL 15's pg_rewind is (default: the\n"
		   "                          directory this program is installed in)\n");
	printf("  -h, --help              show this help, then exit\n");
	printf("\nThe connection needs the privileges pg_rewind needs (a superuser, or the\n"
		   "grants its documentation lists) and EXECUTE on dr_rejoin_record (dr_admin).\n");
	printf("\nExit status: 0 when the node was made a standby, 1 otherwise, 2 on a\n"
		   "usage error.\n");
}

static bool
cliRejoinOption(void *state, int c, const char *arg)
{
	CliRejoinOptions *opts = state;

	switch (c)
	{
		case 'D':
			opts->pgdata = arg;
			return true;
		case 's':
			opts->source = arg;
			return true;
		case REJOIN_OPT_BINDIR:
			opts->bindir = arg;
			return true;
	}
	return false;
}

static const CliCommandSpec cliRejoinSpec = {
	.name = "rejoin",
	.help = cliRejoinHelp,
	.options = cliRejoinOptions,
	.shortOptions = "D:s:",
	.option = cliRejoinOption,
	.argsMin = 0,
	.argsMax = 0,
	.repoOptional = true,
};

static void
cliRejoinError(const char *error, const char *hint)
{
	pg_log_error("%s", error);
	if (hint != NULL)
		pg_log_error_hint("%s", hint);
}

/*
 * The source's conninfo as primary_conninfo: with application_name set to
 * this node's name when it has none, so that the new primary's
 * pg_stat_replication (and synchronous_standby_names) knows it.
 */
static char *
cliRejoinPrimaryConninfo(const char *conninfo, const char *node)
{
	bool		uri = strncmp(conninfo, "postgresql://", 13) == 0 ||
		strncmp(conninfo, "postgres://", 11) == 0;

	if (node == NULL || strstr(conninfo, "application_name") != NULL)
		return pstrdup(conninfo);
	if (uri)
		return psprintf("%s%sapplication_name=%s", conninfo,
						strchr(conninfo, '?') != NULL ? "&" : "?", node);
	return psprintf("%s application_name=%s", conninfo, node);
}

/* pg_rewind of PostgreSQL 15 in bindir (or beside this program). */
static char *
cliRejoinRewindFind(const char *bindir, char **error, char **hint)
{
	char		self[MAXPGPATH];
	char	   *path;
	char	   *cmd;
	char		line[256] = "";
	const char *want = "pg_rewind (PostgreSQL) " CppAsString2(PG_MAJORVERSION_NUM) ".";
	FILE	   *out;

	if (bindir == NULL)
	{
		if (find_my_exec(cliProgramArgv0, self) != 0)
		{
			*error = pstrdup("could not find where this program is installed, to find pg_rewind beside it");
			*hint = pstrdup("Name the directory of PostgreSQL 15's programs with --bindir.");
			return NULL;
		}
		get_parent_directory(self);
		bindir = self;
	}
	path = psprintf("%s/pg_rewind", bindir);
	cmd = psprintf("'%s' --version 2>/dev/null", path);
	out = popen(cmd, "r");
	if (out != NULL)
	{
		if (fgets(line, sizeof(line), out) == NULL)
			line[0] = '\0';
		pclose(out);
	}
	if (strncmp(line, want, strlen(want)) != 0)
	{
		*error = psprintf("\"%s\" is not PostgreSQL %d's pg_rewind (it says \"%s\")", path,
						  PG_MAJORVERSION_NUM, pg_strip_crlf(line) > 0 ? line : "nothing");
		*hint = pstrdup("Name the bindir of the server's PostgreSQL 15 with --bindir.");
		return NULL;
	}
	return path;
}

/* Run pg_rewind; its output goes to ours. */
static bool
cliRejoinRewindRun(const char *rewind, const char *pgdata, const char *conninfo,
				   char **error)
{
	pid_t		pid;
	int			status;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
	{
		*error = psprintf("could not fork pg_rewind: %m");
		return false;
	}
	if (pid == 0)
	{
		execl(rewind, "pg_rewind", "--target-pgdata", pgdata,
			  "--source-server", conninfo, "--progress", (char *) NULL);
		fprintf(stderr, "%s: error: could not run \"%s\": %m\n", CLI_PROGNAME, rewind);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
	{
		if (errno != EINTR)
		{
			*error = psprintf("could not wait for pg_rewind: %m");
			return false;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
	{
		*error = psprintf("pg_rewind failed (%s %d): the data directory is as pg_rewind left it",
						  WIFEXITED(status) ? "exit status" : "signal",
						  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		return false;
	}
	return true;
}

/* pg_rewind, with this node's configuration files kept */
static bool
cliRejoinRewind(const char *rewind, const char *pgdata, const char *conninfo,
				char **error)
{
	RejoinConfSaved saved;
	bool		ran;

	rejoinLocalConfSave(pgdata, &saved);
	ran = cliRejoinRewindRun(rewind, pgdata, conninfo, error);
	/* put back even after a failure: pg_rewind may have copied them */
	if (!rejoinLocalConfRestore(pgdata, &saved, ran ? error : &(char *){NULL}))
		return false;
	return ran;
}

/*
 * Record the outcome in the source's audit trail.  A record that cannot be
 * written fails the command: every DR operation is audited.
 */
static bool
cliRejoinRecord(RejoinSource *source, const char *node, const char *outcome,
				const char *detail)
{
	char	   *error;

	if (rejoinSourceRecord(source, node, outcome, detail, &error))
		return true;
	pg_log_error("could not record the rejoin in the new primary's audit trail: %s", error);
	pg_log_error_hint("The conninfo's role needs EXECUTE on dr_rejoin_record (dr_admin).");
	return false;
}

int
cliRejoinMain(int argc, char **argv)
{
	CliCommand	cmd;
	CliRejoinOptions opts;
	RejoinLocal local;
	RejoinSource source;
	HaRejoinInput input;
	HaRejoinDecision decision;
	const char *node;
	char	   *primaryConninfo;
	char	   *rewind = NULL;
	char	   *error = NULL;
	char	   *hint = NULL;
	int			status;

	memset(&opts, 0, sizeof(opts));
	memset(&source, 0, sizeof(source));
	status = cliCommandBegin(&cmd, &cliRejoinSpec, &opts, argc, argv);
	if (status != CLI_CONTINUE)
		return status;
	if (opts.pgdata == NULL)
		return cliUsageError("rejoin", "no data directory specified (--pgdata)");
	if (!cliCommandConfigLoad(&cmd))
		return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);
	node = cmd.config->ha.configured ? cmd.config->ha.nodeName : NULL;
	if (opts.source == NULL && cmd.config->ha.registryConninfo == NULL)
	{
		pg_log_error("no --source given, and \"%s\" sets no ha_registry_conninfo to find the primary with",
					 cmd.config->path);
		pg_log_error_hint("Name the current primary with --source CONNINFO, or set ha_registry_conninfo (with ha_cluster_name and ha_node_name).");
		return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);
	}
	if (!cliOwnerBecome("rejoin", NULL, opts.pgdata, false))
		return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);

	if (!rejoinLocalRead(opts.pgdata, &local, &error, &hint))
	{
		cliRejoinError(error, hint);
		return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);
	}
	printf("data directory \"%s\": %s, timeline %u, last checkpoint at %X/%X\n",
		   opts.pgdata, local.stateName, local.tli, LSN_FORMAT_ARGS(local.checkpoint));

	if (opts.source != NULL
		? !rejoinSourceOpen(&source, opts.source, local.systemIdentifier, &error, &hint)
		: !rejoinSourceFind(&source, cmd.config->ha.registryConninfo, node,
							local.systemIdentifier, &error, &hint))
	{
		cliRejoinError(error, hint);
		return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);
	}
	printf("primary %s%s(%s): timeline %u, flushed to %X/%X\n",
		   source.name != NULL ? source.name : "", source.name != NULL ? " " : "",
		   haConninfoRedact(source.conninfo), source.tli, LSN_FORMAT_ARGS(source.flush));

	memset(&input, 0, sizeof(input));
	input.target = local.history;
	input.targetCount = local.historyCount;
	input.targetCleanShutdown = local.cleanShutdown;
	input.targetCheckpoint = local.checkpoint;
	input.targetMinRecoveryPoint = local.minRecoveryPoint;
	input.source = source.history;
	input.sourceCount = source.historyCount;
	input.sourceFlush = source.flush;
	haRejoinDecide(&input, &decision);
	if (node == NULL)
		node = "";

	if (decision.action == HA_REJOIN_REFUSE)
	{
		error = psprintf("cannot follow this primary: %s", decision.reason);
		cliRejoinError(error, "Check that the source is the current primary, or clone this node again (pg_basebackup).");
		cliRejoinRecord(&source, node, "refused", decision.reason);
		rejoinSourceClose(&source);
		return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);
	}
	if (decision.action == HA_REJOIN_REWIND)
	{
		printf("rewinding: %s\n", decision.reason);
		if (!local.rewindable)
		{
			error = psprintf("this data directory must be rewound (%s), but pg_rewind cannot: it has neither data checksums nor wal_log_hints = on",
							 decision.reason);
			cliRejoinError(error, "Clone this node again from the new primary (pg_basebackup -R), and set wal_log_hints = on (or initdb --data-checksums) on every node so that the next rejoin can rewind.");
			cliRejoinRecord(&source, node, "failed", error);
			rejoinSourceClose(&source);
			return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);
		}
		/* a new primary names its new timeline in pg_control at its first checkpoint */
		if ((rewind = cliRejoinRewindFind(opts.bindir, &error, &hint)) == NULL ||
			!rejoinSourceCheckpoint(&source, &error) ||
			!cliRejoinRewind(rewind, opts.pgdata, source.conninfo, &error))
		{
			cliRejoinError(error, hint);
			cliRejoinRecord(&source, node, "failed", error);
			rejoinSourceClose(&source);
			return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);
		}
	}
	else
		printf("not rewound: %s\n", decision.reason);

	primaryConninfo = cliRejoinPrimaryConninfo(source.conninfo, node[0] ? node : NULL);
	if (!rejoinLocalStandbyWrite(opts.pgdata, primaryConninfo, &error, &hint))
	{
		cliRejoinError(error, hint);
		cliRejoinRecord(&source, node, "failed", error);
		rejoinSourceClose(&source);
		return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);
	}
	if (!cliRejoinRecord(&source, node,
						 decision.action == HA_REJOIN_REWIND ? "rewound" : "followed",
						 decision.reason))
		status = CLI_EXIT_FAILURE;
	else
		status = CLI_EXIT_OK;
	rejoinSourceClose(&source);
	printf("rejoined: \"%s\" starts as a standby of %s (standby.signal and primary_conninfo written)\n",
		   opts.pgdata, source.name != NULL ? source.name : "the source");
	printf("start it: pg_ctl start -D '%s'\n", opts.pgdata);
	return cliCommandEnd(&cmd, status);
}
