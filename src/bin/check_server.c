/*-------------------------------------------------------------------------
 * check_server.c
 *	  The server's side of `pg_dr check` (cmd_check.c), over libpq: the
 *	  connection, the settings archiving needs, the server's own view of its
 *	  configuration and repositories, the identity of the repository it
 *	  archives into, and, run as root, what the server's OS user can read.
 *
 * Every statement names its objects with their schema: pg_catalog, and
 * the extension's schema as looked up in pg_extension (quoted), so that
 * the role's search_path plays no part.
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

#include "bin/check_server.h"
#include "common/keys.h"
#include "repo/repo_origin.h"

/* connection attempts wait at most this long (and never past the timeout) */
#define CLI_CHECK_CONNECT_TIMEOUT	10

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

PGresult *
cliCheckQuery(CliCheckServer *server, const char *sql, int nParams,
			  const char *const *params, char **error)
{
	PGresult   *res = PQexecParams(server->conn, sql, nParams, NULL, params,
								   NULL, NULL, 0);

	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		return res;
	*error = cliCheckPqMessage(res ? PQresultErrorMessage(res) : PQerrorMessage(server->conn));
	if (**error == '\0')
	{
		pfree(*error);
		*error = cliCheckPqMessage(PQerrorMessage(server->conn));
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
cliCheckConnect(CliCheckServer *server, char **error)
{
	const char *keywords[4];
	const char *values[4];
	char		timeout[16];
	int			n = 0;

	if (getenv("PGCONNECT_TIMEOUT") == NULL)
	{
		snprintf(timeout, sizeof(timeout), "%d",
				 Min(server->timeout, CLI_CHECK_CONNECT_TIMEOUT));
		keywords[n] = "connect_timeout";
		values[n++] = timeout;
	}
	keywords[n] = "fallback_application_name";
	values[n++] = "pg_dr check";
	keywords[n] = "dbname";
	values[n++] = server->dbname;	/* NULL: from the environment */
	keywords[n] = NULL;
	values[n] = NULL;

	server->conn = PQconnectdbParams(keywords, values, 1);
	if (server->conn == NULL)
	{
		*error = pstrdup("out of memory");
		return false;
	}
	if (PQstatus(server->conn) != CONNECTION_OK)
	{
		*error = cliCheckPqMessage(PQerrorMessage(server->conn));
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
cliCheckSettings(CliCheckServer *server, char **settings, char **error)
{
	const char *param = "{shared_preload_libraries,archive_mode,archive_library,wal_segment_size,pg_dr.database,data_directory}";
	PGresult   *res;

	res = cliCheckQuery(server,
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
cliCheckServerRepo(CliCheckServer *server, ConfigRepo *repo, char **error)
{
	PGresult   *res;
	char	   *sql;
	int			first = 0;

	sql = psprintf("SELECT c.name, c.value FROM %s.dr_config c", server->schema);
	res = cliCheckQuery(server, sql, 0, NULL, error);
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
	repo->cipher = CONFIG_CIPHER_AES256GCM;
	{
		char		typeName[64];

		snprintf(typeName, sizeof(typeName), "repo%d_type", first);
		for (int row = 0; row < PQntuples(res) && repo->driver == NULL; row++)
			if (strcmp(PQgetvalue(res, row, 0), typeName) == 0)
			{
				repo->driver = configDriverFind(PQgetvalue(res, row, 1));
				if (repo->driver == NULL)
				{
					*error = psprintf("the server's repo%d_type \"%s\" is not a type this pg_dr knows",
									  first, PQgetvalue(res, row, 1));
					PQclear(res);
					return false;
				}
			}
	}
	for (int row = 0; row < PQntuples(res); row++)
	{
		char		prefix[32];
		const char *name = PQgetvalue(res, row, 0);
		const char *value = PQgetvalue(res, row, 1);
		size_t		prefixLen;

		snprintf(prefix, sizeof(prefix), "repo%d_", first);
		prefixLen = strlen(prefix);
		if (strncmp(name, prefix, prefixLen) != 0)
			continue;
		name += prefixLen;
		if (strcmp(name, "cipher_type") == 0 && strcmp(value, "none") == 0)
			repo->cipher = CONFIG_CIPHER_NONE;
		else if (repo->driver != NULL && repo->driver->locationKey != NULL &&
				 strcmp(name, repo->driver->locationKey) == 0)
		{
			DrError		err;

			/* only the location: secrets are masked in dr_config */
			drErrorClear(&err);
			if (!configRepoSet(repo, name, value, &err))
			{
				*error = psprintf("the server's repo%d_%s is not valid here: %s",
								  first, name, err.message);
				PQclear(res);
				return false;
			}
		}
	}
	PQclear(res);
	if (repo->path == NULL)
	{
		*error = psprintf("the server's configuration names no location for repo%d", first);
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
cliCheckSameRepository(CliCheckServer *server, const char *configFile,
					   char **note, char **error, char **hint)
{
	const ConfigRepo *ours = server->repoConfig;
	ConfigRepo	theirs;
	RepoInfo	info;
	char		ourIdentity[REPO_IDENTITY_LEN + 1];
	char		theirIdentity[REPO_IDENTITY_LEN + 1];
	DrError		err;

	if (!cliCheckServerRepo(server, &theirs, error))
	{
		*hint = psprintf("The role needs dr_monitor: GRANT dr_monitor TO \"%s\"",
						 PQuser(server->conn));
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
cliCheckServerUid(CliCheckServer *server, const char *dataDir, uid_t *uid,
				  const char **how)
{
	struct sockaddr_storage addr;
	socklen_t	len = sizeof(addr);
	int			sock = PQsocket(server->conn);
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
cliCheckServerUserReads(CliCheckServer *server, const char *dataDir, char **note,
						char **error, char **hint)
{
	const ConfigRepo *repoConfig = server->repoConfig;
	const char *how = NULL;
	uid_t		uid;
	struct passwd *pw;
	char	   *user;
	int			fds[2];
	pid_t		pid;
	DrError		err;
	ssize_t		n;
	int			wstatus;

	if (!cliCheckServerUid(server, dataDir, &uid, &how))
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
		else if ((config = configLoad(server->configPath, &err)) != NULL &&
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
 * In the order a setup is made: connect, preload, extension, archiving
 * settings, the server's own view of its configuration and repositories,
 * the repository it archives into, and (as root) what its OS user reads.
 */
bool
cliCheckServerRun(CliCheckServer *server, char **detail, char **error, char **hint)
{
	char	   *settings[SETTING_COUNT];
	PGresult   *res;
	char	   *sql;
	char	   *configFile;
	char	   *note = NULL;
	char		timeout[32];
	const char *param;

	if (!cliCheckConnect(server, error))
	{
		*hint = pstrdup("Check that the server is running and accepts this connection, or give its connection string with --dbname (default: the PG* environment variables)");
		return false;
	}

	/* no query may hang the check past its timeout */
	snprintf(timeout, sizeof(timeout), "%d", server->timeout * 1000);
	param = timeout;
	res = cliCheckQuery(server,
						"SELECT pg_catalog.set_config('statement_timeout', $1, false),"
						" pg_catalog.pg_is_in_recovery()",
						1, &param, error);
	if (res == NULL)
		return false;
	server->inRecovery = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	PQclear(res);

	if (!cliCheckSettings(server, settings, error))
		return false;
	if (settings[SETTING_PRELOAD] == NULL || settings[SETTING_ARCHIVE_LIBRARY] == NULL)
	{
		*error = psprintf("role \"%s\" may not read shared_preload_libraries and archive_library",
						  PQuser(server->conn));
		*hint = psprintf("Run the check as a superuser, or GRANT pg_read_all_settings TO \"%s\"",
						 PQuser(server->conn));
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
		server->segSize = (uint32) strtoul(settings[SETTING_SEGMENT_SIZE], NULL, 10);

	/* the extension, and its schema: every later name is qualified with it */
	res = cliCheckQuery(server,
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
						  PQdb(server->conn));
		if (settings[SETTING_DATABASE] != NULL &&
			strcmp(settings[SETTING_DATABASE], PQdb(server->conn)) != 0)
			*hint = psprintf("pg_dr.database is \"%s\": connect to it with --dbname=%s",
							 settings[SETTING_DATABASE], settings[SETTING_DATABASE]);
		else
			*hint = pstrdup("Run CREATE EXTENSION pg_dr in it");
		return false;
	}
	server->schema = pstrdup(PQgetvalue(res, 0, 0));
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
				   " s.repository_error FROM %s.dr_status s", server->schema);
	res = cliCheckQuery(server, sql, 0, NULL, error);
	pfree(sql);
	if (res == NULL)
	{
		*hint = psprintf("GRANT dr_monitor TO \"%s\"", PQuser(server->conn));
		return false;
	}
	if (PQgetisnull(res, 0, 0))
	{
		PQclear(res);
		*error = pstrdup("pg_dr.config_file is not set on the server");
		*hint = psprintf("Set pg_dr.config_file = '%s' and reload (SELECT pg_reload_conf())",
						 server->configPath);
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

	if (!cliCheckSameRepository(server, configFile, &note, error, hint))
		return false;
	if (geteuid() == 0)
	{
		char	   *userNote = NULL;

		if (!cliCheckServerUserReads(server, settings[SETTING_DATA_DIRECTORY],
									 &userNote, error, hint))
			return false;
		note = psprintf("%s; %s", note, userNote);
	}

	*detail = psprintf("PostgreSQL %d.%d, database \"%s\", archive_library = 'pg_dr'; %s",
					   PQserverVersion(server->conn) / 10000,
					   PQserverVersion(server->conn) % 10000,
					   PQdb(server->conn), note);
	return true;
}

char *
cliCheckArchiveError(CliCheckServer *server)
{
	PGresult   *res;
	char	   *sql;
	char	   *error = NULL;
	char	   *why = NULL;

	sql = psprintf("SELECT a.last_error FROM %s.dr_archive_status a"
				   " WHERE a.last_error IS NOT NULL"
				   " ORDER BY a.last_error_at DESC LIMIT 1", server->schema);
	res = cliCheckQuery(server, sql, 0, NULL, &error);
	pfree(sql);
	if (res != NULL && PQntuples(res) == 1)
		why = psprintf("the archiver's last error: %s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (why != NULL)
		return why;
	res = cliCheckQuery(server,
						"SELECT a.last_failed_wal FROM pg_catalog.pg_stat_archiver a"
						" WHERE a.last_failed_wal IS NOT NULL",
						0, NULL, &error);
	if (res != NULL && PQntuples(res) == 1)
		why = psprintf("the archiver last failed on %s (see the server log)",
					   PQgetvalue(res, 0, 0));
	PQclear(res);
	return why;
}
