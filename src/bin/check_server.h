/*-------------------------------------------------------------------------
 * check_server.h
 *	  The server's side of `pg_dr check`, over libpq (check_server.c), for
 *	  cmd_check.c.
 *-------------------------------------------------------------------------
 */
#ifndef DR_CHECK_SERVER_H
#define DR_CHECK_SERVER_H

#include "libpq-fe.h"

#include "bin/cli.h"

typedef struct CliCheckServer
{
	/* what to check against (set by the caller) */
	const char *dbname;			/* --dbname: conninfo or database; NULL for
								 * the PG* environment */
	int			timeout;		/* seconds: statement_timeout, and at most
								 * this for connecting */
	const char *configPath;		/* this check's configuration file */
	const ConfigRepo *repoConfig;	/* this check's repository */

	/* what cliCheckServerRun found */
	PGconn	   *conn;			/* NULL until connected; PQfinish it */
	char	   *schema;			/* the extension's schema, quoted */
	bool		inRecovery;
	uint32		segSize;		/* wal_segment_size; 0 when unknown */
} CliCheckServer;

/*
 * The server step (see cmd_check.c): connect, then check in the order a
 * setup is made.  True with *detail saying what was proven; false with
 * *error and *hint (what to do; may be left NULL), all palloc'd.
 */
extern bool cliCheckServerRun(CliCheckServer *server, char **detail,
							  char **error, char **hint);

/*
 * Run sql (schema-qualified) with text parameters: its rows, or NULL with
 * *error the server's message on one line (palloc'd).
 */
extern PGresult *cliCheckQuery(CliCheckServer *server, const char *sql,
							   int nParams, const char *const *params,
							   char **error);

/*
 * Why a segment did not reach the repository: the archiver's last error
 * (dr_archive_status, else pg_stat_archiver's last failed file), palloc'd;
 * NULL when neither says anything.
 */
extern char *cliCheckArchiveError(CliCheckServer *server);

#endif							/* DR_CHECK_SERVER_H */
