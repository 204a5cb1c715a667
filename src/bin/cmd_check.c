/*-------------------------------------------------------------------------
 * cmd_check.c
 *	  pg_dr check: prove the chain end to end on a running server, as
 *	  `pgbackrest check` does, and say how long each step took.
 *
 * The steps, in order, and what each needs to have passed first:
 *	 config      the configuration file loads (the preamble: --config,
 *	             PG_DR_CONFIG or /etc/pg_dr.conf) and names the repository;
 *	 key file    the repository's passphrase file is readable, long enough
 *	             and not readable by group or others (config);
 *	 repository  it opens (passphrase, key derivation, checked against the
 *	             info file) and a probe object is written, read back and
 *	             removed in the place it reserves for that (repo_probe.h)
 *	             (config, key file);
 *	 server      libpq connects (-d, else the PG* environment) within the
 *	             timeout; pg_dr is in shared_preload_libraries, the
 *	             extension is installed, archive_mode is on and
 *	             archive_library is pg_dr; the server itself loads its
 *	             configuration and opens its repositories (dr_status: so
 *	             the server's OS user can read them and the key file,
 *	             whoever runs the check); the first repository of the
 *	             server's configuration, where it archives, is this one:
 *	             the same identity (the id of pg_dr.repo, repo_origin.h),
 *	             not merely the same path; and, run as root, the server's
 *	             OS user can read this configuration and its key file too
 *	             (config);
 *	 wal         a WAL switch on the server reaches the repository within
 *	             --timeout and reads back through repoArchiveRead, so its
 *	             binding and first page header (segment size, system
 *	             identifier) are checked as recovery would (server,
 *	             repository).
 * A step whose prerequisite failed is reported as skipped.  Every line goes
 * to stdout ("<step>: ok (0.12 s): <detail>", "<step>: FAILED: <reason>",
 * "<step>: skipped (<step> failed)"), then a summary line; exit status 0
 * when every step passed, 1 otherwise, 2 on a usage error.
 *
 * The server's side, over libpq, is check_server.c.  The SQL sent names
 * every object with its schema (pg_catalog, and the extension's own schema
 * looked up first), so the check does not depend on the role's
 * search_path.  The role needs to read the settings (superuser
 * or pg_read_all_settings), dr_monitor (dr_status, dr_config,
 * dr_archive_status) and the right to run pg_switch_wal().
 *
 * A server with no WAL written since the last switch would not switch
 * (pg_switch_wal() returns the current position, and the segment named is
 * the one switched before, long archived): the check first writes a WAL
 * record of its own, a non-transactional logical message, so that the
 * switch always closes a segment holding WAL written now.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <errno.h>
#include <sys/stat.h>

#include "getopt_long.h"
#include "portability/instr_time.h"

#include "bin/check_server.h"
#include "bin/cli.h"
#include "common/keys.h"
#include "common/logging.h"
#include "repo/repo.h"
#include "repo/repo_archive.h"
#include "repo/repo_origin.h"
#include "repo/repo_probe.h"

#define CLI_CHECK_TIMEOUT_DEFAULT	60
#define CLI_CHECK_TIMEOUT_MAX		86400
/* how often the repository is looked at for the segment */
#define CLI_CHECK_POLL_USEC			200000L

typedef enum CliCheckStep
{
	CHECK_CONFIG,
	CHECK_KEY,
	CHECK_REPO,
	CHECK_SERVER,
	CHECK_WAL,
	CHECK_STEPS
} CliCheckStep;

static const char *const cliCheckStepNames[CHECK_STEPS] = {
	"config", "key file", "repository", "server", "wal"
};

typedef enum CliCheckOutcome
{
	CHECK_PENDING = 0,
	CHECK_OK,
	CHECK_FAILED,
	CHECK_SKIPPED
} CliCheckOutcome;

/* The options of check, set by cliCheckOption. */
typedef struct CliCheckOpts
{
	const char *dbname;			/* -d: a conninfo string or a database name */
	int			timeout;		/* -t: seconds */
} CliCheckOpts;

typedef struct CliCheck
{
	CliCommand *cmd;
	CliCheckOpts opts;
	CliCheckOutcome outcome[CHECK_STEPS];
	instr_time	stepStart;

	CliCheckServer server;		/* check_server.h */
} CliCheck;

void
cliCheckHelp(void)
{
	printf("%s check proves the whole chain on a running server, step by step:\n"
		   "the configuration file loads; the key file is readable and safe; the\n"
		   "repository opens and a probe object is written, read back and removed;\n"
		   "the server has pg_dr preloaded and installed, archives with it, reads\n"
		   "its configuration and archives into this very repository; and a WAL\n"
		   "switch reaches the repository and reads back intact.  Each step prints\n"
		   "\"ok\" with the time it took, or why it failed and what to do.\n\n",
		   CLI_PROGNAME);
	printf("Usage:\n");
	printf("  %s check [--config FILE] [--repo N] [--dbname CONNINFO] [--timeout SECONDS]\n",
		   CLI_PROGNAME);
	printf("\nOptions:\n");
	cliCommandHelpConfig(27);
	printf("  -r, --repo=N             repository N (default: the first configured)\n");
	printf("  -d, --dbname=CONNINFO    the server to check: a connection string or a\n"
		   "                           database name (default: the PG* environment)\n");
	printf("  -t, --timeout=SECONDS    how long to wait for the WAL to be archived, and\n"
		   "                           at most for the server (default %d)\n",
		   CLI_CHECK_TIMEOUT_DEFAULT);
	printf("  -h, --help               show this help, then exit\n");
	printf("\nThe role needs to read the server's settings (a superuser, or\n"
		   "pg_read_all_settings), dr_monitor, and the right to run pg_switch_wal().\n"
		   "Run as root, it also checks that the server's OS user can read the\n"
		   "configuration file and the key file, as recovery will.\n");
	printf("\nExit status: 0 if every step passed, 1 if one failed, 2 on a usage error.\n");
}

static double
cliCheckElapsed(instr_time start)
{
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, start);
	return INSTR_TIME_GET_DOUBLE(now);
}

static void
cliCheckStepBegin(CliCheck *check)
{
	INSTR_TIME_SET_CURRENT(check->stepStart);
}

/* Print one line of the report at once: a slow step shows the ones before. */
static void
cliCheckPrint(StringInfo line)
{
	appendStringInfoChar(line, '\n');
	cliOutputFlush(line);
	pfree(line->data);
}

/* The step passed; detail (may be NULL) says what was proven. */
static void
cliCheckOk(CliCheck *check, CliCheckStep step, const char *detail)
{
	StringInfoData line;

	check->outcome[step] = CHECK_OK;
	initStringInfo(&line);
	appendStringInfo(&line, "%s: ok (%.2f s)", cliCheckStepNames[step],
					 cliCheckElapsed(check->stepStart));
	if (detail != NULL)
	{
		appendStringInfoString(&line, ": ");
		cliTextString(&line, detail);
	}
	cliCheckPrint(&line);
}

/* The step failed: the reason, then what to do (hint, may be empty). */
static void
cliCheckFail(CliCheck *check, CliCheckStep step, const char *reason,
			 const char *hint)
{
	StringInfoData line;

	check->outcome[step] = CHECK_FAILED;
	initStringInfo(&line);
	appendStringInfo(&line, "%s: FAILED: ", cliCheckStepNames[step]);
	cliTextString(&line, reason);
	if (hint != NULL && hint[0] != '\0')
	{
		/* a sentence after the reason, which may already end one */
		if (strchr(".?!", line.data[line.len - 1]) == NULL)
			appendStringInfoChar(&line, '.');
		appendStringInfoChar(&line, ' ');
		cliTextString(&line, hint);
		if (strchr(".?!", line.data[line.len - 1]) == NULL)
			appendStringInfoChar(&line, '.');
	}
	cliCheckPrint(&line);
}

static void
cliCheckFailError(CliCheck *check, CliCheckStep step, const DrError *err)
{
	cliCheckFail(check, step, err->message[0] ? err->message : "failed without an error message",
				 err->hint);
}

/*
 * Whether step may run: every step it needs passed.  If not, it is
 * reported as skipped, naming the first that did not pass.
 */
static bool
cliCheckNeeds(CliCheck *check, CliCheckStep step, int count,
			  const CliCheckStep *needs)
{
	for (int i = 0; i < count; i++)
	{
		if (check->outcome[needs[i]] != CHECK_OK)
		{
			StringInfoData line;

			check->outcome[step] = CHECK_SKIPPED;
			initStringInfo(&line);
			appendStringInfo(&line, "%s: skipped (%s %s)", cliCheckStepNames[step],
							 cliCheckStepNames[needs[i]],
							 check->outcome[needs[i]] == CHECK_FAILED ? "failed" : "skipped");
			cliCheckPrint(&line);
			return false;
		}
	}
	cliCheckStepBegin(check);
	return true;
}

/* ---- key file ---- */

static void
cliCheckKeyFile(CliCheck *check)
{
	static const CliCheckStep needs[] = {CHECK_CONFIG};
	const ConfigRepo *repoConfig = check->cmd->repoConfig;
	char	   *passphrase;
	struct stat st;
	char	   *detail;
	DrError		err;

	if (!cliCheckNeeds(check, CHECK_KEY, lengthof(needs), needs))
		return;
	if (repoConfig->cipher == CONFIG_CIPHER_NONE)
	{
		detail = psprintf("none: repository %d is not encrypted (repo%d_cipher_type = none)",
						  repoConfig->index, repoConfig->index);
		cliCheckOk(check, CHECK_KEY, detail);
		pfree(detail);
		return;
	}

	/* what opening the repository reads: mode, length, content */
	drErrorClear(&err);
	passphrase = keyPassphraseLoad(repoConfig->cipherKeyFile, &err);
	if (passphrase == NULL)
	{
		cliCheckFailError(check, CHECK_KEY, &err);
		return;
	}
	explicit_bzero(passphrase, strlen(passphrase));
	pfree(passphrase);

	if (stat(repoConfig->cipherKeyFile, &st) == 0)
		detail = psprintf("\"%s\", mode %04o", repoConfig->cipherKeyFile,
						  (unsigned int) (st.st_mode & 07777));
	else
		detail = psprintf("\"%s\"", repoConfig->cipherKeyFile);
	cliCheckOk(check, CHECK_KEY, detail);
	pfree(detail);
}

/* ---- repository ---- */

static void
cliCheckRepository(CliCheck *check)
{
	static const CliCheckStep needs[] = {CHECK_CONFIG, CHECK_KEY};
	CliCommand *cmd = check->cmd;
	char		identity[REPO_IDENTITY_LEN + 1];
	char	   *detail;
	DrError		err;

	if (!cliCheckNeeds(check, CHECK_REPO, lengthof(needs), needs))
		return;

	drErrorClear(&err);
	cmd->repo = repoOpen(cmd->repoConfig, &err);
	if (cmd->repo == NULL)
	{
		cliCheckFailError(check, CHECK_REPO, &err);
		return;
	}
	if (!repoProbe(cmd->repo, &err))
	{
		cliCheckFailError(check, CHECK_REPO, &err);
		return;
	}
	repoIdentity(repoInfoGet(cmd->repo), identity);
	detail = psprintf("repository %d (%s) at \"%s\", identity %s: opened, probe written, read back and removed",
					  cmd->repoConfig->index, cliRepoTypeName(cmd->repoConfig),
					  cmd->repoConfig->path, identity);
	cliCheckOk(check, CHECK_REPO, detail);
	pfree(detail);
}

/* ---- server (check_server.c) ---- */

static void
cliCheckServer(CliCheck *check)
{
	static const CliCheckStep needs[] = {CHECK_CONFIG};
	char	   *detail = NULL;
	char	   *error = NULL;
	char	   *hint = NULL;

	if (!cliCheckNeeds(check, CHECK_SERVER, lengthof(needs), needs))
		return;
	check->server.dbname = check->opts.dbname;
	check->server.timeout = check->opts.timeout;
	check->server.configPath = check->cmd->configPath;
	check->server.repoConfig = check->cmd->repoConfig;
	if (cliCheckServerRun(&check->server, &detail, &error, &hint))
		cliCheckOk(check, CHECK_SERVER, detail);
	else
		cliCheckFail(check, CHECK_SERVER, error, hint);
}

/* ---- wal ---- */

static void
cliCheckWal(CliCheck *check)
{
	static const CliCheckStep needs[] = {CHECK_SERVER, CHECK_REPO};
	PGresult   *res;
	char	   *error = NULL;
	char	   *segment;
	char	   *detail;
	RepoArchiveExpect expect;
	CodecSink	sink = {NULL, NULL};
	CodecResult result;
	instr_time	switched;
	DrError		err;

	if (!cliCheckNeeds(check, CHECK_WAL, lengthof(needs), needs))
		return;
	if (check->server.inRecovery)
	{
		cliCheckFail(check, CHECK_WAL, "the server is in recovery (a standby): it cannot switch WAL",
					 "Run the check against the primary");
		return;
	}

	/* the segment holding the cluster's identity, to check it against */
	memset(&expect, 0, sizeof(expect));
	expect.segSize = check->server.segSize;
	res = cliCheckQuery(&check->server,
						"SELECT c.system_identifier FROM pg_catalog.pg_control_system() c",
						0, NULL, &error);
	if (res != NULL && PQntuples(res) == 1)
		expect.systemIdentifier = strtou64(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);

	/* WAL of our own first, so that the switch closes a segment (header) */
	res = cliCheckQuery(&check->server,
						"SELECT pg_catalog.pg_logical_emit_message(false, 'pg_dr check', '')",
						0, NULL, &error);
	if (res == NULL)
	{
		cliCheckFail(check, CHECK_WAL, psprintf("could not write WAL: %s", error), NULL);
		return;
	}
	PQclear(res);
	res = cliCheckQuery(&check->server,
						"SELECT pg_catalog.pg_walfile_name(pg_catalog.pg_switch_wal())",
						0, NULL, &error);
	if (res == NULL)
	{
		char	   *hint = psprintf("Run the check as a superuser, or GRANT EXECUTE ON FUNCTION pg_catalog.pg_switch_wal() TO \"%s\"",
									PQuser(check->server.conn));

		cliCheckFail(check, CHECK_WAL, psprintf("could not switch WAL: %s", error), hint);
		return;
	}
	segment = pstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);

	/* wait for the archiver, then read the segment as recovery would */
	INSTR_TIME_SET_CURRENT(switched);
	for (;;)
	{
		drErrorClear(&err);
		if (repoArchiveRead(check->cmd->repo, segment, &expect, sink, &result, &err))
			break;
		if (err.code != DR_ERR_NOT_FOUND)
		{
			cliCheckFailError(check, CHECK_WAL, &err);
			return;
		}
		if (cliCheckElapsed(switched) >= check->opts.timeout)
		{
			char	   *why = cliCheckArchiveError(&check->server);
			char	   *reason;

			reason = psprintf("WAL segment %s was not archived into repository %d within %d s%s%s",
							  segment, check->cmd->repoConfig->index,
							  check->opts.timeout, why ? "; " : "", why ? why : "");
			cliCheckFail(check, CHECK_WAL, reason,
						 "See the server log and SELECT * FROM dr_archive_status; give more time with --timeout");
			return;
		}
		pg_usleep(CLI_CHECK_POLL_USEC);
	}
	detail = psprintf("segment %s archived in %.2f s and read back (" UINT64_FORMAT " bytes, binding and page header checked)",
					  segment, cliCheckElapsed(switched), result.rawSize);
	cliCheckOk(check, CHECK_WAL, detail);
	pfree(detail);
}

/* ---- the command ---- */

static bool
cliCheckOption(void *state, int c, const char *arg)
{
	CliCheckOpts *opts = state;
	char	   *end;
	long		value;

	if (c == 'd')
	{
		opts->dbname = arg;
		return true;
	}
	Assert(c == 't');
	errno = 0;
	value = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || value < 1 ||
		value > CLI_CHECK_TIMEOUT_MAX)
	{
		char		shown[DR_ERROR_VALUE_BUF];

		cliUsageError("check", "invalid value \"%s\" for option --timeout: expected seconds, 1 to %d",
					  drErrorValue(arg, shown), CLI_CHECK_TIMEOUT_MAX);
		return false;
	}
	opts->timeout = (int) value;
	return true;
}

static const struct option cliCheckOptions[] = {
	{"dbname", required_argument, NULL, 'd'},
	{"timeout", required_argument, NULL, 't'},
	{NULL, 0, NULL, 0}
};

static const CliCommandSpec cliCheckSpec = {
	.name = "check",
	.help = cliCheckHelp,
	.options = cliCheckOptions,
	.shortOptions = "d:t:",
	.option = cliCheckOption,
};

int
cliCheckMain(int argc, char **argv)
{
	CliCommand	cmd;
	CliCheck	check;
	instr_time	start;
	StringInfoData line;
	int			failed = 0;
	int			skipped = 0;
	int			status;

	memset(&check, 0, sizeof(check));
	check.cmd = &cmd;
	check.opts.timeout = CLI_CHECK_TIMEOUT_DEFAULT;
	if ((status = cliCommandBegin(&cmd, &cliCheckSpec, &check.opts, argc, argv)) != CLI_CONTINUE)
		return status;

	INSTR_TIME_SET_CURRENT(start);
	cliCheckStepBegin(&check);
	if (cliCommandConfigLoad(&cmd))
	{
		char	   *detail = psprintf("\"%s\" (%s), repository %d",
									  cmd.configPath, cmd.configSource,
									  cmd.repoConfig->index);

		cliCheckOk(&check, CHECK_CONFIG, detail);
		pfree(detail);
	}
	else
		cliCheckFail(&check, CHECK_CONFIG,
					 psprintf("the configuration \"%s\" (from %s) cannot be used: the error is on stderr",
							  cmd.configPath, cmd.configSource), NULL);

	cliCheckKeyFile(&check);
	cliCheckRepository(&check);
	cliCheckServer(&check);
	cliCheckWal(&check);

	if (check.server.conn != NULL)
		PQfinish(check.server.conn);
	for (int i = 0; i < CHECK_STEPS; i++)
	{
		failed += check.outcome[i] == CHECK_FAILED;
		skipped += check.outcome[i] == CHECK_SKIPPED;
	}
	initStringInfo(&line);
	if (failed == 0)
		appendStringInfo(&line, "check: ok, the chain works end to end (%.2f s)",
						 cliCheckElapsed(start));
	else
		appendStringInfo(&line, "check: FAILED: %d step%s failed, %d skipped (%.2f s)",
						 failed, failed == 1 ? "" : "s", skipped,
						 cliCheckElapsed(start));
	cliCheckPrint(&line);
	return cliCommandEnd(&cmd, failed == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE);
}
