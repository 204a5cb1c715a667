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
 * The SQL sent names every object with its schema (pg_catalog, and the
 * extension's own schema looked up first), so the check does not depend on
 * the role's search_path.  The role needs to read the settings (superuser
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
#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "getopt_long.h"
#include "libpq-fe.h"
#include "portability/instr_time.h"

#include "bin/cli.h"
#include "common/keys.h"
#include "common/logging.h"
#include "common/owner.h"
#include "repo/repo.h"
#include "repo/repo_archive.h"
#include "repo/repo_origin.h"
#include "repo/repo_probe.h"

#define CLI_CHECK_TIMEOUT_DEFAULT	60
#define CLI_CHECK_TIMEOUT_MAX		86400
/* connection attempts wait at most this long (and never past --timeout) */
#define CLI_CHECK_CONNECT_TIMEOUT	10
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

	/* the server, once the server step connected */
	PGconn	   *conn;
	char	   *schema;			/* the extension's schema, quoted */
	bool		inRecovery;
	uint32		segSize;		/* wal_segment_size; 0 when unknown */
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
					  cmd->repoConfig->index, cliRepoTypeName(cmd->repoConfig->type),
					  cmd->repoConfig->path, identity);
	cliCheckOk(check, CHECK_REPO, detail);
	pfree(detail);
}

/* ---- server ---- */

/*
 * libpq's message on one line: its lines (the second is often indented
 * with a tab) joined by one space, without the trailing newline.
 */
static char *
cliCheckPqMessage(const char *message)
{
	char	   *s = pstrdup(message ? message : "");
	char	   *out = s;
	bool		space = false;

	for (const char *p = s; *p; p++)
	{
		if (*p == '\n' || *p == '\t' || *p == ' ')
			space = out > s;
		else
		{
			if (space)
				*out++ = ' ';
			space = false;
			*out++ = *p;
		}
	}
	*out = '\0';
	return s;
}

/*
 * Run sql with its text parameters; the result when it returned what
 * expected says (PGRES_TUPLES_OK), else NULL with *error the server's
 * message (palloc'd).
 */
static PGresult *
cliCheckQuery(CliCheck *check, const char *sql, int nParams,
			  const char *const *params, char **error)
{
	PGresult   *res = PQexecParams(check->conn, sql, nParams, NULL, params,
								   NULL, NULL, 0);

	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		return res;
	*error = cliCheckPqMessage(res ? PQresultErrorMessage(res) : PQerrorMessage(check->conn));
	if (**error == '\0')
	{
		pfree(*error);
		*error = cliCheckPqMessage(PQerrorMessage(check->conn));
	}
	PQclear(res);
	return NULL;
}

/*
 * Connect with libpq: -d as the dbname (a connection string is expanded),
 * the PG* environment for the rest.  connect_timeout is the default here
 * unless the environment or the connection string sets it.
 */
static bool
cliCheckConnect(CliCheck *check, char **error)
{
	const char *keywords[4];
	const char *values[4];
	char		timeout[16];
	int			n = 0;

	if (getenv("PGCONNECT_TIMEOUT") == NULL)
	{
		snprintf(timeout, sizeof(timeout), "%d",
				 Min(check->opts.timeout, CLI_CHECK_CONNECT_TIMEOUT));
		keywords[n] = "connect_timeout";
		values[n++] = timeout;
	}
	keywords[n] = "fallback_application_name";
	values[n++] = "pg_dr check";
	keywords[n] = "dbname";
	values[n++] = check->opts.dbname;	/* NULL: from the environment */
	keywords[n] = NULL;
	values[n] = NULL;

	check->conn = PQconnectdbParams(keywords, values, 1);
	if (check->conn == NULL)
	{
		*error = pstrdup("out of memory");
		return false;
	}
	if (PQstatus(check->conn) != CONNECTION_OK)
	{
		*error = cliCheckPqMessage(PQerrorMessage(check->conn));
		return false;
	}
	return true;
}

/* Is "pg_dr" one of the libraries of a shared_preload_libraries value? */
static bool
cliCheckPreloaded(const char *value)
{
	char	   *list = pstrdup(value);
	char	   *save = NULL;
	bool		found = false;

	for (char *item = strtok_r(list, ",", &save); item != NULL && !found;
		 item = strtok_r(NULL, ",", &save))
	{
		size_t		len;

		while (*item == ' ' || *item == '\t' || *item == '"')
			item++;
		len = strlen(item);
		while (len > 0 && (item[len - 1] == ' ' || item[len - 1] == '\t' ||
						   item[len - 1] == '"'))
			item[--len] = '\0';
		if (strncmp(item, "$libdir/", 8) == 0)
			item += 8;
		len = strlen(item);
		if (len > 3 && strcmp(item + len - 3, ".so") == 0)
			item[len - 3] = '\0';
		found = strcmp(item, "pg_dr") == 0;
	}
	pfree(list);
	return found;
}

/* The settings the check reads, in the order of cliCheckSettingNames. */
typedef enum CliCheckSetting
{
	SETTING_PRELOAD,
	SETTING_ARCHIVE_MODE,
	SETTING_ARCHIVE_LIBRARY,
	SETTING_SEGMENT_SIZE,
	SETTING_DATABASE,
	SETTING_DATA_DIRECTORY,
	SETTING_COUNT
} CliCheckSetting;

static const char *const cliCheckSettingNames[SETTING_COUNT] = {
	"shared_preload_libraries", "archive_mode", "archive_library",
	"wal_segment_size", "pg_dr.database", "data_directory"
};

/*
 * The server's settings the check needs, from pg_settings (NULL for one
 * the role may not see: superuser-only ones need pg_read_all_settings).
 */
static bool
cliCheckSettings(CliCheck *check, char **settings, char **error)
{
	const char *param = "{shared_preload_libraries,archive_mode,archive_library,wal_segment_size,pg_dr.database,data_directory}";
	PGresult   *res;

	res = cliCheckQuery(check,
						"SELECT s.name, s.setting FROM pg_catalog.pg_settings s"
						" WHERE s.name OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.text[])",
						1, &param, error);
	if (res == NULL)
		return false;
	for (int i = 0; i < SETTING_COUNT; i++)
		settings[i] = NULL;
	for (int row = 0; row < PQntuples(res); row++)
		for (int i = 0; i < SETTING_COUNT; i++)
			if (strcmp(PQgetvalue(res, row, 0), cliCheckSettingNames[i]) == 0)
				settings[i] = pstrdup(PQgetvalue(res, row, 1));
	PQclear(res);
	return true;
}

/*
 * The first repository of the server's configuration (dr_config, as the
 * server reads the file): where it archives.  False with *error when the
 * view cannot be read or names none.
 */
static bool
cliCheckServerRepo(CliCheck *check, ConfigRepo *repo, char **error)
{
	PGresult   *res;
	char	   *sql;
	int			first = 0;

	sql = psprintf("SELECT c.name, c.value FROM %s.dr_config c", check->schema);
	res = cliCheckQuery(check, sql, 0, NULL, error);
	pfree(sql);
	if (res == NULL)
		return false;

	memset(repo, 0, sizeof(ConfigRepo));
	for (int row = 0; row < PQntuples(res); row++)
	{
		int			n;
		int			len = 0;

		if (sscanf(PQgetvalue(res, row, 0), "repo%d_type%n", &n, &len) == 1 &&
			len > 0 && PQgetvalue(res, row, 0)[len] == '\0' &&
			n >= 1 && n <= CONFIG_REPO_MAX && (first == 0 || n < first))
			first = n;
	}
	if (first == 0)
	{
		PQclear(res);
		*error = pstrdup("the server's configuration names no repository");
		return false;
	}
	repo->index = first;
	repo->type = CONFIG_REPO_POSIX;
	repo->cipher = CONFIG_CIPHER_AES256GCM;
	for (int row = 0; row < PQntuples(res); row++)
	{
		char		name[64];
		const char *value = PQgetvalue(res, row, 1);

		snprintf(name, sizeof(name), "repo%d_path", first);
		if (strcmp(PQgetvalue(res, row, 0), name) == 0)
			repo->path = pstrdup(value);
		snprintf(name, sizeof(name), "repo%d_cipher_type", first);
		if (strcmp(PQgetvalue(res, row, 0), name) == 0 && strcmp(value, "none") == 0)
			repo->cipher = CONFIG_CIPHER_NONE;
	}
	PQclear(res);
	if (repo->path == NULL)
	{
		*error = psprintf("the server's configuration names no repo%d_path", first);
		return false;
	}
	return true;
}

/*
 * The server archives into this repository: the identity of the first
 * repository of its configuration is this one's.  Only the info file is
 * read, on both sides (no passphrase).  A repository the server names
 * that cannot be read from here (another host, another mount) is not
 * refused here: the WAL step proves it either way.
 */
static bool
cliCheckSameRepository(CliCheck *check, const char *configFile,
					   char **note, char **error, char **hint)
{
	const ConfigRepo *ours = check->cmd->repoConfig;
	ConfigRepo	theirs;
	RepoInfo	info;
	char		ourIdentity[REPO_IDENTITY_LEN + 1];
	char		theirIdentity[REPO_IDENTITY_LEN + 1];
	DrError		err;

	if (!cliCheckServerRepo(check, &theirs, error))
	{
		*hint = pstrdup("grant dr_monitor to the role that runs the check");
		return false;
	}

	drErrorClear(&err);
	if (!repoInfoRead(ours, &info, &err))
	{
		/* the repository step reported it */
		*note = psprintf("the server archives into repo%d at \"%s\"; this repository's identity cannot be read: %s",
						 theirs.index, theirs.path, err.message);
		return true;
	}
	repoIdentity(&info, ourIdentity);

	drErrorClear(&err);
	if (!repoInfoRead(&theirs, &info, &err))
	{
		*note = psprintf("the server archives into repo%d at \"%s\", which cannot be read from here (%s): the wal step decides",
						 theirs.index, theirs.path, err.message);
		return true;
	}
	repoIdentity(&info, theirIdentity);

	if (strcmp(ourIdentity, theirIdentity) != 0)
	{
		*error = psprintf("the server archives into another repository: its configuration \"%s\" names repo%d at \"%s\" (identity %s), not repository %d at \"%s\" (identity %s)",
						  configFile, theirs.index, theirs.path, theirIdentity,
						  ours->index, ours->path, ourIdentity);
		*hint = pstrdup("Point pg_dr.config_file at a configuration whose first repository is this one and reload (SELECT pg_reload_conf()), or check with --config naming the server's configuration file");
		return false;
	}
	*note = psprintf("archives into this repository (repo%d of \"%s\", identity %s)",
					 theirs.index, configFile, theirIdentity);
	return true;
}

/*
 * The OS user the server runs as: the peer of a Unix-domain connection (the
 * server process itself), else the owner of the data directory the server
 * reports, when it is on this host (holds postmaster.pid).  *how says
 * which; false when neither is known.
 */
static bool
cliCheckServerUid(CliCheck *check, const char *dataDir, uid_t *uid,
				  const char **how)
{
	struct sockaddr_storage addr;
	socklen_t	len = sizeof(addr);
	int			sock = PQsocket(check->conn);
	struct stat st;
	char	   *pidFile;
	bool		found;

	if (sock >= 0 && getsockname(sock, (struct sockaddr *) &addr, &len) == 0 &&
		addr.ss_family == AF_UNIX)
	{
		struct ucred cred;
		socklen_t	credLen = sizeof(cred);

		if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &credLen) == 0)
		{
			*uid = cred.uid;
			*how = "the server process";
			return true;
		}
	}
	if (dataDir == NULL)
		return false;
	pidFile = psprintf("%s/postmaster.pid", dataDir);
	found = stat(pidFile, &st) == 0;
	pfree(pidFile);
	if (!found || stat(dataDir, &st) != 0)
		return false;
	*uid = st.st_uid;
	*how = "the owner of the data directory";
	return true;
}

/*
 * Run as root, this check could read the configuration and key file
 * whoever may not: so they are read again, by a child process that became
 * the server's OS user for good, as recovery's restore_command (pg_dr
 * wal-get with this configuration) will read them.  The child loads both
 * with the same code (so the errors name what is in the way, and the user)
 * and sends the first error back through a pipe.  False with *error when
 * that user cannot; *note says what was checked, or why it was not.
 */
static bool
cliCheckServerUserReads(CliCheck *check, const char *dataDir, char **note,
						char **error, char **hint)
{
	const ConfigRepo *repoConfig = check->cmd->repoConfig;
	const char *how = NULL;
	uid_t		uid;
	struct passwd *pw;
	char	   *user;
	int			fds[2];
	pid_t		pid;
	DrError		err;
	ssize_t		n;
	int			wstatus;

	if (!cliCheckServerUid(check, dataDir, &uid, &how))
	{
		*note = pstrdup("run as root, but the server's OS user is unknown here (not a Unix-domain connection, data directory not on this host): not checked that it can read the key file");
		return true;
	}
	pw = getpwuid(uid);
	user = pw != NULL ? pstrdup(pw->pw_name) : psprintf("uid %u", (unsigned int) uid);
	if (uid == 0)
	{
		*note = pstrdup("the server runs as root");
		return true;
	}
	if (pw == NULL)
	{
		*error = psprintf("the server's OS user (%s, %s) has no name on this host", user, how);
		return false;
	}

	fflush(stdout);
	fflush(stderr);
	if (pipe(fds) != 0 || (pid = fork()) < 0)
	{
		*error = psprintf("could not start a process as %s: %m", user);
		return false;
	}
	if (pid == 0)
	{
		DrConfig   *config;
		char	   *passphrase = NULL;

		close(fds[0]);
		drErrorClear(&err);
		if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
			setuid(uid) != 0)
			drErrorSet(&err, DR_ERR_PERMISSION, "could not become %s: %m", user);
		else if ((config = configLoad(check->cmd->configPath, &err)) != NULL &&
				 (repoConfig->cipherKeyFile == NULL ||
				  (passphrase = keyPassphraseLoad(repoConfig->cipherKeyFile, &err)) != NULL))
		{
			if (passphrase != NULL)
				explicit_bzero(passphrase, strlen(passphrase));
		}
		n = write(fds[1], &err, sizeof(err));
		_exit(n == (ssize_t) sizeof(err) ? 0 : 1);
	}
	close(fds[1]);
	drErrorClear(&err);
	do
		n = read(fds[0], &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	close(fds[0]);
	while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t) sizeof(err))
	{
		*error = psprintf("could not check as %s what it can read: the process ended without an answer", user);
		return false;
	}
	err.message[sizeof(err.message) - 1] = '\0';
	err.hint[sizeof(err.hint) - 1] = '\0';
	if (err.code != DR_OK)
	{
		*error = psprintf("the server's OS user %s (%s) cannot read what recovery's restore_command reads with this configuration: %s",
						  user, how, err.message);
		*hint = psprintf("Make the configuration file and the key file readable by %s (wal-get runs as that user)",
						 user);
		return false;
	}
	*note = psprintf("%s (%s) can read the configuration and key file", user, how);
	return true;
}

/*
 * The server's side, in the order a setup is made: connect, preload,
 * extension, archiving settings, the server's own view of its
 * configuration and repositories, the repository it archives into.  False
 * with *error and *hint (palloc'd; hint may stay NULL).
 */
static bool
cliCheckServerRun(CliCheck *check, char **detail, char **error, char **hint)
{
	char	   *settings[SETTING_COUNT];
	PGresult   *res;
	char	   *sql;
	char	   *configFile;
	char	   *note = NULL;
	char		timeout[32];
	const char *param;

	if (!cliCheckConnect(check, error))
	{
		*hint = pstrdup("Check that the server is running and accepts this connection, or give its connection string with --dbname (default: the PG* environment variables)");
		return false;
	}

	/* no query may hang the check past its timeout */
	snprintf(timeout, sizeof(timeout), "%d", check->opts.timeout * 1000);
	param = timeout;
	res = cliCheckQuery(check,
						"SELECT pg_catalog.set_config('statement_timeout', $1, false),"
						" pg_catalog.pg_is_in_recovery()",
						1, &param, error);
	if (res == NULL)
		return false;
	check->inRecovery = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	PQclear(res);

	if (!cliCheckSettings(check, settings, error))
		return false;
	if (settings[SETTING_PRELOAD] == NULL || settings[SETTING_ARCHIVE_LIBRARY] == NULL)
	{
		*error = psprintf("role \"%s\" may not read shared_preload_libraries and archive_library",
						  PQuser(check->conn));
		*hint = psprintf("Run the check as a superuser, or GRANT pg_read_all_settings TO \"%s\"",
						 PQuser(check->conn));
		return false;
	}
	if (!cliCheckPreloaded(settings[SETTING_PRELOAD]))
	{
		*error = psprintf("pg_dr is not in shared_preload_libraries ('%s')",
						  settings[SETTING_PRELOAD]);
		*hint = pstrdup("Add pg_dr to shared_preload_libraries and restart the server");
		return false;
	}
	if (settings[SETTING_SEGMENT_SIZE] != NULL)
		check->segSize = (uint32) strtoul(settings[SETTING_SEGMENT_SIZE], NULL, 10);

	/* the extension, and its schema: every later name is qualified with it */
	res = cliCheckQuery(check,
						"SELECT pg_catalog.quote_ident(n.nspname)"
						" FROM pg_catalog.pg_extension e"
						" JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace"
						" WHERE e.extname OPERATOR(pg_catalog.=) 'pg_dr'",
						0, NULL, error);
	if (res == NULL)
		return false;
	if (PQntuples(res) != 1)
	{
		PQclear(res);
		*error = psprintf("the extension pg_dr is not installed in database \"%s\"",
						  PQdb(check->conn));
		if (settings[SETTING_DATABASE] != NULL &&
			strcmp(settings[SETTING_DATABASE], PQdb(check->conn)) != 0)
			*hint = psprintf("pg_dr.database is \"%s\": connect to it with --dbname=%s",
							 settings[SETTING_DATABASE], settings[SETTING_DATABASE]);
		else
			*hint = pstrdup("Run CREATE EXTENSION pg_dr in it");
		return false;
	}
	check->schema = pstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);

	if (settings[SETTING_ARCHIVE_MODE] == NULL ||
		strcmp(settings[SETTING_ARCHIVE_MODE], "off") == 0)
	{
		*error = pstrdup("archive_mode is off");
		*hint = pstrdup("Set archive_mode = on and restart the server");
		return false;
	}
	if (strcmp(settings[SETTING_ARCHIVE_LIBRARY], "pg_dr") != 0)
	{
		if (settings[SETTING_ARCHIVE_LIBRARY][0] == '\0')
			*error = pstrdup("archive_library is not set, so pg_dr does not archive");
		else
			*error = psprintf("archive_library is '%s', not 'pg_dr'",
							  settings[SETTING_ARCHIVE_LIBRARY]);
		*hint = pstrdup("Set archive_library = 'pg_dr' and reload (SELECT pg_reload_conf())");
		return false;
	}

	/*
	 * The server's own view: it loads its configuration and opens every
	 * repository in it, as its OS user (so that user can read both the
	 * configuration and the key file).
	 */
	sql = psprintf("SELECT s.config_file, s.config_ok, s.config_error, s.repository_ok,"
				   " s.repository_error FROM %s.dr_status s", check->schema);
	res = cliCheckQuery(check, sql, 0, NULL, error);
	pfree(sql);
	if (res == NULL)
	{
		*hint = psprintf("GRANT dr_monitor TO \"%s\"", PQuser(check->conn));
		return false;
	}
	if (PQgetisnull(res, 0, 0))
	{
		PQclear(res);
		*error = pstrdup("pg_dr.config_file is not set on the server");
		*hint = psprintf("Set pg_dr.config_file = '%s' and reload (SELECT pg_reload_conf())",
						 check->cmd->config->path);
		return false;
	}
	configFile = pstrdup(PQgetvalue(res, 0, 0));
	if (strcmp(PQgetvalue(res, 0, 1), "t") != 0)
	{
		*error = psprintf("the server cannot load its configuration file \"%s\": %s",
						  configFile, PQgetvalue(res, 0, 2));
		*hint = pstrdup("The server's OS user must be able to read it; fix it (the server reads it again when it changes)");
		PQclear(res);
		return false;
	}
	if (strcmp(PQgetvalue(res, 0, 3), "t") != 0)
	{
		*error = psprintf("the server cannot open its repositories: %s",
						  PQgetisnull(res, 0, 4) ? "none is configured" : PQgetvalue(res, 0, 4));
		*hint = pstrdup("The server's OS user must be able to read the key file and the repository; see the error");
		PQclear(res);
		return false;
	}
	PQclear(res);

	if (!cliCheckSameRepository(check, configFile, &note, error, hint))
		return false;
	if (geteuid() == 0)
	{
		char	   *userNote = NULL;

		if (!cliCheckServerUserReads(check, settings[SETTING_DATA_DIRECTORY],
									 &userNote, error, hint))
			return false;
		note = psprintf("%s; %s", note, userNote);
	}

	*detail = psprintf("PostgreSQL %d.%d, database \"%s\", archive_library = 'pg_dr'; %s",
					   PQserverVersion(check->conn) / 10000,
					   PQserverVersion(check->conn) % 10000,
					   PQdb(check->conn), note);
	return true;
}

static void
cliCheckServer(CliCheck *check)
{
	static const CliCheckStep needs[] = {CHECK_CONFIG};
	char	   *detail = NULL;
	char	   *error = NULL;
	char	   *hint = NULL;

	if (!cliCheckNeeds(check, CHECK_SERVER, lengthof(needs), needs))
		return;
	if (cliCheckServerRun(check, &detail, &error, &hint))
		cliCheckOk(check, CHECK_SERVER, detail);
	else
		cliCheckFail(check, CHECK_SERVER, error, hint);
}

/* ---- wal ---- */

/*
 * Why the segment did not come: the archiver's last error (dr_archive_status,
 * then pg_stat_archiver), palloc'd; NULL when neither says anything.
 */
static char *
cliCheckArchiveError(CliCheck *check)
{
	PGresult   *res;
	char	   *sql;
	char	   *error = NULL;
	char	   *why = NULL;

	sql = psprintf("SELECT a.last_error FROM %s.dr_archive_status a"
				   " WHERE a.last_error IS NOT NULL"
				   " ORDER BY a.last_error_at DESC LIMIT 1", check->schema);
	res = cliCheckQuery(check, sql, 0, NULL, &error);
	pfree(sql);
	if (res != NULL && PQntuples(res) == 1)
		why = psprintf("the archiver's last error: %s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (why != NULL)
		return why;
	res = cliCheckQuery(check,
						"SELECT a.last_failed_wal FROM pg_catalog.pg_stat_archiver a"
						" WHERE a.last_failed_wal IS NOT NULL",
						0, NULL, &error);
	if (res != NULL && PQntuples(res) == 1)
		why = psprintf("the archiver last failed on %s (see the server log)",
					   PQgetvalue(res, 0, 0));
	PQclear(res);
	return why;
}

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
	if (check->inRecovery)
	{
		cliCheckFail(check, CHECK_WAL, "the server is in recovery (a standby): it cannot switch WAL",
					 "Run the check against the primary");
		return;
	}

	/* the segment holding the cluster's identity, to check it against */
	memset(&expect, 0, sizeof(expect));
	expect.segSize = check->segSize;
	res = cliCheckQuery(check,
						"SELECT c.system_identifier FROM pg_catalog.pg_control_system() c",
						0, NULL, &error);
	if (res != NULL && PQntuples(res) == 1)
		expect.systemIdentifier = strtou64(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);

	/* WAL of our own first, so that the switch closes a segment (header) */
	res = cliCheckQuery(check,
						"SELECT pg_catalog.pg_logical_emit_message(false, 'pg_dr check', '')",
						0, NULL, &error);
	if (res == NULL)
	{
		cliCheckFail(check, CHECK_WAL, psprintf("could not write WAL: %s", error), NULL);
		return;
	}
	PQclear(res);
	res = cliCheckQuery(check,
						"SELECT pg_catalog.pg_walfile_name(pg_catalog.pg_switch_wal())",
						0, NULL, &error);
	if (res == NULL)
	{
		char	   *hint = psprintf("Run the check as a superuser, or GRANT EXECUTE ON FUNCTION pg_catalog.pg_switch_wal() TO \"%s\"",
									PQuser(check->conn));

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
			char	   *why = cliCheckArchiveError(check);
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

	if (check.conn != NULL)
		PQfinish(check.conn);
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
