/*-------------------------------------------------------------------------
 * rejoin_source.c
 *	  `pg_dr rejoin`'s side of the new primary, over libpq (rejoin.h):
 *	  finding it among the registered nodes, checking it is the primary of
 *	  the same system, reading its timeline and history, and recording the
 *	  rejoin in its audit trail.
 *
 * The registry is pgdr.nodes, which only the extension's owner reads (a
 * conninfo may hold a password); it is read through ha_registry_conninfo,
 * one libpq conninfo that may name several hosts (host=a,b,c: libpq tries
 * each in turn), so that any node that answers will do: the registry is
 * replicated to every standby.  Every statement names its schemas.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "lib/stringinfo.h"

#include "bin/rejoin.h"
#include "ha/ha_conninfo.h"

/* seconds to wait for a connection, unless the conninfo says otherwise */
#define REJOIN_CONNECT_TIMEOUT	"10"

/* The connection's error on one line, palloc'd. */
static char *
rejoinConnError(PGconn *conn)
{
	char	   *msg = pstrdup(PQerrorMessage(conn));

	for (char *p = msg; *p; p++)
		if (*p == '\n')
			*p = (p[1] == '\0') ? '\0' : ' ';
	return msg;
}

static PGconn *
rejoinConnect(const char *conninfo, char **error)
{
	const char *keys[] = {"connect_timeout", "dbname", NULL};
	const char *values[] = {REJOIN_CONNECT_TIMEOUT, conninfo, NULL};
	PGconn	   *conn = PQconnectdbParams(keys, values, 1);

	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
	{
		*error = conn != NULL ? rejoinConnError(conn) : pstrdup("out of memory");
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

/* One row's values as text; NULL with *error when the query failed. */
static PGresult *
rejoinQuery(PGconn *conn, const char *sql, int nParams, const char *const *params,
			char **error)
{
	PGresult   *res = PQexecParams(conn, sql, nParams, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		*error = rejoinConnError(conn);
		PQclear(res);
		return NULL;
	}
	return res;
}

static XLogRecPtr
rejoinLsnParse(const char *s)
{
	unsigned int hi;
	unsigned int lo;

	if (sscanf(s, "%X/%X", &hi, &lo) != 2)
		return 0;
	return ((XLogRecPtr) hi << 32) | lo;
}

/* The facts of an open connection (rejoinSourceOpen's second half). */
static bool
rejoinSourceRead(RejoinSource *source, uint64 systemIdentifier, char **error,
				 char **hint)
{
	PGresult   *res;
	char	   *shown = haConninfoRedact(source->conninfo);
	char	   *historyText = NULL;

	res = rejoinQuery(source->conn,
					  "SELECT pg_catalog.pg_is_in_recovery(),"
					  " (SELECT system_identifier FROM pg_catalog.pg_control_system()),"
					  " pg_catalog.pg_walfile_name(pg_catalog.pg_current_wal_flush_lsn()),"
					  " pg_catalog.pg_current_wal_flush_lsn()"
					  " WHERE NOT pg_catalog.pg_is_in_recovery()"
					  " UNION ALL SELECT true, NULL, NULL, NULL WHERE pg_catalog.pg_is_in_recovery()",
					  0, NULL, error);
	if (res == NULL)
		return false;
	if (strcmp(PQgetvalue(res, 0, 0), "t") == 0)
	{
		*error = psprintf("the source (%s) is a standby (in recovery), not a primary", shown);
		*hint = pstrdup("Give the conninfo of the current primary with --source, or promote a standby first.");
		PQclear(res);
		return false;
	}
	source->systemIdentifier = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
	source->tli = (TimeLineID) strtoul(pnstrdup(PQgetvalue(res, 0, 2), 8), NULL, 16);
	source->flush = rejoinLsnParse(PQgetvalue(res, 0, 3));
	PQclear(res);
	if (source->systemIdentifier != systemIdentifier)
	{
		*error = psprintf("the source (%s) is another database system: its identifier is "
						  UINT64_FORMAT ", this data directory's " UINT64_FORMAT,
						  shown, source->systemIdentifier, systemIdentifier);
		*hint = pstrdup("A node can only follow a primary cloned from the same cluster: check the conninfo, or clone this node again.");
		return false;
	}

	if (source->tli > 1)
	{
		char	   *file = psprintf("pg_wal/%08X.history", source->tli);
		const char *params[1] = {file};

		res = rejoinQuery(source->conn,
						  "SELECT pg_catalog.convert_from(pg_catalog.pg_read_binary_file($1, 0, 1048576, true), 'UTF8')",
						  1, params, error);
		if (res == NULL)
		{
			*error = psprintf("could not read the source's history of timeline %u: %s",
							  source->tli, *error);
			*hint = pstrdup("The conninfo's role must be allowed what pg_rewind needs (a superuser, or EXECUTE on pg_read_binary_file and the functions its documentation lists).");
			return false;
		}
		if (PQgetisnull(res, 0, 0))
		{
			*error = psprintf("the source has no %s", file);
			PQclear(res);
			return false;
		}
		historyText = pstrdup(PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	source->historyCount = haTimelineHistoryParse(historyText, source->tli,
												  &source->history, error);
	if (source->historyCount < 0)
		return false;

	/* pg_dr on the source, for its audit trail */
	res = rejoinQuery(source->conn,
					  "SELECT pg_catalog.quote_ident(n.nspname)"
					  "  FROM pg_catalog.pg_extension e"
					  "  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace"
					  " WHERE e.extname OPERATOR(pg_catalog.=) 'pg_dr'",
					  0, NULL, error);
	if (res == NULL)
		return false;
	if (PQntuples(res) == 1)
		source->schema = pstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (source->schema == NULL)
	{
		*error = psprintf("the source's database (%s) has no pg_dr extension, whose audit trail records the rejoin",
						  PQdb(source->conn));
		*hint = pstrdup("Name the database where pg_dr is installed (pg_dr.database) in the conninfo: dbname=...");
		return false;
	}

	/* checked before anything is changed: the rejoin must be recorded */
	{
		char	   *signature = psprintf("%s.dr_rejoin_record(text,text,text)", source->schema);
		const char *params[1] = {signature};

		res = rejoinQuery(source->conn,
						  "SELECT pg_catalog.has_function_privilege($1, 'EXECUTE')",
						  1, params, error);
		if (res == NULL)
			return false;
		if (strcmp(PQgetvalue(res, 0, 0), "t") != 0)
		{
			*error = psprintf("the source's role (%s) may not record the rejoin in the audit trail (EXECUTE on dr_rejoin_record)",
							  PQuser(source->conn));
			*hint = pstrdup("Connect as a member of dr_admin (GRANT dr_admin TO ...).");
			PQclear(res);
			return false;
		}
		PQclear(res);
	}
	return true;
}

bool
rejoinSourceOpen(RejoinSource *source, const char *conninfo,
				 uint64 systemIdentifier, char **error, char **hint)
{
	char	   *connError;

	*hint = NULL;
	source->conninfo = pstrdup(conninfo);
	source->conn = rejoinConnect(conninfo, &connError);
	if (source->conn == NULL)
	{
		*error = psprintf("could not connect to the source (%s): %s",
						  haConninfoRedact(conninfo), connError);
		*hint = pstrdup("The new primary must be running and reachable: check the conninfo (--source or the registry).");
		return false;
	}
	if (!rejoinSourceRead(source, systemIdentifier, error, hint))
	{
		rejoinSourceClose(source);
		return false;
	}
	return true;
}

bool
rejoinSourceFind(RejoinSource *source, const char *registryConninfo,
				 const char *self, uint64 systemIdentifier, char **error,
				 char **hint)
{
	PGconn	   *registry;
	PGresult   *res;
	char	   *connError;
	StringInfoData tried;
	int			primaries = 0;
	int			n;

	*hint = NULL;
	registry = rejoinConnect(registryConninfo, &connError);
	if (registry == NULL)
	{
		*error = psprintf("could not read the registry of nodes: no node answers at ha_registry_conninfo (%s): %s",
						  haConninfoRedact(registryConninfo), connError);
		*hint = pstrdup("Name the current primary with --source CONNINFO, or list reachable nodes in ha_registry_conninfo (host=a,b,c).");
		return false;
	}
	res = rejoinQuery(registry,
					  "SELECT name, conninfo FROM pgdr.nodes ORDER BY priority DESC, name",
					  0, NULL, &connError);
	PQfinish(registry);
	if (res == NULL)
	{
		*error = psprintf("could not read the registry of nodes (pgdr.nodes) through ha_registry_conninfo: %s",
						  connError);
		*hint = pstrdup("The registry is readable by the pg_dr extension's owner only: connect as that role (or a superuser), in the database where pg_dr is installed.");
		return false;
	}

	initStringInfo(&tried);
	n = PQntuples(res);
	for (int i = 0; i < n; i++)
	{
		const char *name = PQgetvalue(res, i, 0);
		const char *conninfo = PQgetvalue(res, i, 1);
		RejoinSource one;
		char	   *oneError;
		char	   *oneHint;

		if (self != NULL && strcmp(name, self) == 0)
			continue;
		memset(&one, 0, sizeof(one));
		if (!rejoinSourceOpen(&one, conninfo, systemIdentifier, &oneError, &oneHint))
		{
			appendStringInfo(&tried, "%s  %s: %s", tried.len > 0 ? "\n" : "", name, oneError);
			continue;
		}
		one.name = pstrdup(name);
		if (primaries++ == 0)
			*source = one;
		else
		{
			*error = psprintf("two registered nodes answer as primaries: %s (timeline %u) and %s (timeline %u)",
							  source->name, source->tli, one.name, one.tli);
			*hint = pstrdup("Fence or stop the one that must not be primary, or name the one to follow with --source CONNINFO.");
			rejoinSourceClose(&one);
			rejoinSourceClose(source);
			PQclear(res);
			return false;
		}
	}
	PQclear(res);
	if (primaries == 0)
	{
		*error = psprintf("no registered node answers as the primary of this system%s%s",
						  tried.len > 0 ? ":\n" : " (no other node is registered)",
						  tried.data);
		*hint = pstrdup("Promote a standby first, or name the primary with --source CONNINFO.");
		return false;
	}
	return true;
}

bool
rejoinSourceCheckpoint(RejoinSource *source, char **error)
{
	PGresult   *res = rejoinQuery(source->conn, "CHECKPOINT", 0, NULL, error);

	if (res == NULL)
		return false;
	PQclear(res);
	return true;
}

bool
rejoinSourceRecord(RejoinSource *source, const char *node, const char *outcome,
				   const char *detail, char **error)
{
	char	   *sql = psprintf("SELECT %s.dr_rejoin_record($1, $2, $3)", source->schema);
	const char *params[3] = {node, outcome, detail};
	PGresult   *res = rejoinQuery(source->conn, sql, 3, params, error);

	if (res == NULL)
		return false;
	PQclear(res);
	return true;
}

void
rejoinSourceClose(RejoinSource *source)
{
	if (source->conn != NULL)
		PQfinish(source->conn);
	source->conn = NULL;
}
