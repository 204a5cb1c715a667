/*-------------------------------------------------------------------------
 * ha.c (api)
 *	  dr_node_register(name, conninfo [, priority, location]) and
 *	  dr_node_unregister(name): the registry of the cluster's nodes
 *	  (ha/ha_nodes.h), dr_admin only, audited.  The audit record shows the
 *	  conninfo with its passwords hidden (ha/ha_conninfo.h).  dr_rejoin()
 *	  and dr_rejoin_record(), the SQL side of rejoin; dr_switchover() and
 *	  the record of its outcome (below).
 *
 * A node registered with verify => true (the default) must answer at its
 * conninfo as peers will reach it: the call connects (5 s at most), runs
 * pgdr.ha_peer_status(NULL) there as a peer's HA worker does, and refuses
 * a node that does not answer (08001), whose user may not call it
 * (42501), or that answers as another node (22023); the row inserted is
 * rolled back with the error.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "api/api.h"
#include "ha/ha_conninfo.h"
#include "ha/ha_nodes.h"
#include "ha/ha_peer.h"
#include "ha/ha_state.h"
#include "ha/ha_switchover.h"
#include "ops/audit.h"
#include "pg_dr.h"

PG_FUNCTION_INFO_V1(dr_node_register);
PG_FUNCTION_INFO_V1(dr_node_unregister);

/*
 * A node name: 1 to HA_NODE_NAME_MAX bytes of letters, digits, '_', '-'
 * and '.', as ha_node_name in a node's configuration file must be to be
 * found (it goes into etcd's leader key and into log lines).
 */
static void
apiNodeNameCheck(const char *function, const char *name)
{
	size_t		len = strlen(name);

	if (len < 1 || len > HA_NODE_NAME_MAX ||
		strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"name\" of %s() must be 1 to %d letters, digits, '_', '-' or '.'",
						function, HA_NODE_NAME_MAX),
				 errhint("Use the node's ha_node_name from its pg_dr configuration file.")));
}

static void apiNodeRegister(ApiCall *call, const char *name,
							const char *conninfo, int priority,
							const char *location, bool check);

#define API_NODE_CHECK_MS	5000

/*
 * Node name answers at conninfo as its peers' HA workers will reach it;
 * ERROR when not.
 */
static void
apiNodeCheck(const char *name, const char *conninfo)
{
	HaPeer		peer;
	bool		want = true;
	char		app[NAMEDATALEN];

	memset(&peer, 0, sizeof(peer));
	strlcpy(peer.name, name, sizeof(peer.name));
	peer.conninfo = pstrdup(conninfo);
	snprintf(app, sizeof(app), "pg_dr dr_node_register");
	haPeersRun(&peer, 1, &want, "SELECT node FROM pgdr.ha_peer_status(NULL)", 0, NULL,
			   API_NODE_CHECK_MS, app);
	haPeerClose(&peer);
	if (!peer.ok)
	{
		bool		denied = strstr(peer.error, "permission denied") != NULL;
		bool		noext = strstr(peer.error, "ha_peer_status") != NULL &&
			strstr(peer.error, "does not exist") != NULL;

		haPeersClear(&peer, 1);
		if (denied)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("node \"%s\" answers, but the user of its conninfo may not call pgdr.ha_peer_status()",
							name),
					 errdetail("%s", peer.error),
					 errhint("GRANT dr_ha_peer TO that user on the primary (or name a superuser in the conninfo).")));
		ereport(ERROR,
				(errcode(noext ? ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE :
						 ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
				 errmsg("node \"%s\" does not answer at its conninfo as a pg_dr node", name),
				 errdetail("%s", peer.error),
				 errhint("Start it first and check the conninfo (host, port, dbname = pg_dr.database, a user in dr_ha_peer); "
						 "to register a node that does not run yet, pass verify => false.")));
	}
	if (PQntuples(peer.result) == 1 && !PQgetisnull(peer.result, 0, 0) &&
		strcmp(PQgetvalue(peer.result, 0, 0), name) != 0)
	{
		char	   *other = pstrdup(PQgetvalue(peer.result, 0, 0));

		haPeersClear(&peer, 1);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the server at that conninfo is node \"%s\", not \"%s\"", other, name),
				 errhint("Register each node under its ha_node_name, with its own conninfo.")));
	}
	haPeersClear(&peer, 1);
}

Datum
dr_node_register(PG_FUNCTION_ARGS)
{
	ApiCall    *call = apiCallNew("dr_node_register");

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("dr_node_register() needs a name and a conninfo")));
	apiNodeRegister(call,
					text_to_cstring(PG_GETARG_TEXT_PP(0)),
					text_to_cstring(PG_GETARG_TEXT_PP(1)),
					PG_ARGISNULL(2) ? HA_NODE_PRIORITY_DEFAULT : PG_GETARG_INT32(2),
					PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3)),
					PG_NARGS() < 5 || PG_ARGISNULL(4) || PG_GETARG_BOOL(4));
	PG_RETURN_VOID();
}

/* dr_node_register with its arguments read: checked, audited, done. */
static void
apiNodeRegister(ApiCall *call, const char *name, const char *conninfo,
				int priority, const char *location, bool check)
{
	apiNodeNameCheck("dr_node_register", name);
	apiTextArgCheck("dr_node_register", "conninfo", conninfo, 1, 1024);
	if (priority < 0 || priority > HA_NODE_PRIORITY_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"priority\" of dr_node_register() must be 0 to %d, got %d",
						HA_NODE_PRIORITY_MAX, priority),
				 errhint("Higher is preferred as a failover candidate; 0 is never promoted.")));
	if (location != NULL)
		apiTextArgCheck("dr_node_register", "location", location, 1, 63);

	apiArgText(call, "name", name);
	apiArgText(call, "conninfo", haConninfoRedact(conninfo));
	apiArgInt64(call, "priority", priority);
	apiArgText(call, "location", location);
	apiArgBool(call, "verify", check);
	API_CALL_BEGIN(call);
	{
		ApiOwnerContext owner;

		apiAsOwnerBegin(&owner);
		haNodeRegister(name, conninfo, priority, location);
		apiAsOwnerEnd(&owner);
		/* after the insert (a name taken is said first); an error undoes it */
		if (check)
			apiNodeCheck(name, conninfo);
	}
	API_CALL_END(call);
	apiCallOk(call);
}

Datum
dr_node_unregister(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ApiCall    *call = apiCallNew("dr_node_unregister");

	apiNodeNameCheck("dr_node_unregister", name);
	apiArgText(call, "name", name);
	API_CALL_BEGIN(call);
	{
		ApiOwnerContext owner;

		apiAsOwnerBegin(&owner);
		haNodeUnregister(name);
		apiAsOwnerEnd(&owner);
	}
	API_CALL_END(call);
	apiCallOk(call);
	PG_RETURN_VOID();
}

/*
 * dr_failover(target, force => false): promote target, the standby this
 * runs on, because the primary is down (ha/ha_state.h, haFailoverManual,
 * says what is refused and with which SQLSTATE).  dr_admin, audited: on a
 * standby the audit record waits in the queue until the node is promoted
 * and its pg_dr worker starts (pg_dr.audit_timeout; ops/audit.h).
 */
PG_FUNCTION_INFO_V1(dr_failover);

Datum
dr_failover(PG_FUNCTION_ARGS)
{
	ApiCall    *call = apiCallNew("dr_failover");
	char	   *target;
	bool		force;
	char	   *volatile result = NULL;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("dr_failover() needs a target node")));
	target = text_to_cstring(PG_GETARG_TEXT_PP(0));
	force = PG_ARGISNULL(1) ? false : PG_GETARG_BOOL(1);
	apiNodeNameCheck("dr_failover", target);
	apiArgText(call, "target", target);
	apiArgBool(call, "force", force);
	API_CALL_BEGIN(call);
	{
		result = haFailoverManual(target, force);
	}
	API_CALL_END(call);
	apiCallOk(call);
	PG_RETURN_TEXT_P(cstring_to_text(result));
}

/*
 * dr_rejoin(): what a SQL function can honestly do to rejoin this node.
 * PostgreSQL 15 enters standby mode only at startup (standby.signal is
 * read then), and a rewind needs the server stopped, so a running primary
 * cannot make itself a standby: the function refuses with SQLSTATE 55000
 * and the exact commands, having checked what it can from inside (its
 * timeline, whether pg_rewind will be possible).  On a standby there is
 * nothing to do and it says so.  It never stops the server: nothing would
 * start it again as a standby.
 */
PG_FUNCTION_INFO_V1(dr_rejoin);
PG_FUNCTION_INFO_V1(dr_rejoin_record);

Datum
dr_rejoin(PG_FUNCTION_ARGS)
{
	ApiCall    *call = apiCallNew("dr_rejoin");
	char	   *result = NULL;

	API_CALL_BEGIN(call);
	{
		if (RecoveryInProgress())
		{
			const char *primary = GetConfigOption("primary_conninfo", true, false);

			result = psprintf("this node is already a standby (in recovery), following %s: nothing to rejoin",
							  primary != NULL && primary[0] != '\0'
							  ? haConninfoRedact(primary) : "no primary_conninfo (archive recovery only)");
		}
		else
		{
			bool		rewindable = DataChecksumsEnabled() || wal_log_hints;

			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("dr_rejoin() cannot make a running primary a standby: PostgreSQL 15 enters standby mode only at startup, and pg_rewind needs the server stopped"),
					 errdetail("This node is a primary on timeline %u.%s",
							   GetWALInsertionTimeLine(),
							   rewindable ? "" :
							   "  It has neither data checksums nor wal_log_hints = on: if it wrote past the new primary's fork, pg_rewind cannot rewind it and it must be cloned again."),
					 errhint("Stop this server and run, as its OS user: pg_ctl stop -D '%s' -m fast && pg_dr rejoin --config '%s' --pgdata '%s' (it finds the new primary in the registry, or give --source CONNINFO; it rewinds when needed, then the server starts as a standby: pg_ctl start -D '%s').",
							 DataDir, drConfigFile != NULL && drConfigFile[0] != '\0' ? drConfigFile : "/etc/pg_dr.conf",
							 DataDir, DataDir)));
		}
	}
	API_CALL_END(call);
	apiArgText(call, "result", result);
	apiCallOk(call);
	PG_RETURN_TEXT_P(cstring_to_text(result));
}

/*
 * dr_rejoin_record(node, outcome, detail): `pg_dr rejoin` records what it
 * did in the audit trail of the primary the node was made to follow (the
 * node's own server is stopped then).  The record is the operation
 * "pg_dr rejoin" with these arguments, made by the role the command
 * connected as.
 */
Datum
dr_rejoin_record(PG_FUNCTION_ARGS)
{
	ApiCall    *call = apiCallNew("pg_dr rejoin");
	const char *node = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	const char *outcome = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	const char *detail = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));

	if (node != NULL && node[0] != '\0')
		apiNodeNameCheck("dr_rejoin_record", node);
	if (outcome == NULL ||
		(strcmp(outcome, "followed") != 0 && strcmp(outcome, "rewound") != 0 &&
		 strcmp(outcome, "refused") != 0 && strcmp(outcome, "failed") != 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"outcome\" of dr_rejoin_record() must be followed, rewound, refused or failed")));
	if (detail != NULL)
		apiTextArgCheck("dr_rejoin_record", "detail", detail, 0, 2048);
	apiArgText(call, "node", node != NULL && node[0] != '\0' ? node : NULL);
	apiArgText(call, "outcome", outcome);
	apiArgText(call, "detail", detail);
	API_CALL_BEGIN(call);
	{
		/* the record is the operation */
	}
	API_CALL_END(call);
	apiCallOk(call);
	PG_RETURN_VOID();
}

/*
 * dr_switchover(target, timeout => '30 s'): a planned switchover from
 * this primary to the standby target, no data lost (ha/ha_switchover.h
 * says what is refused and with which SQLSTATE).  dr_admin, audited.  It
 * returns once the switchover is handed off to `pg_dr switchover`, which
 * stops this server when the call commits; the outcome is in
 * dr_failover_history on the target and in the audit trail there
 * (operation "pg_dr switchover").
 */
PG_FUNCTION_INFO_V1(dr_switchover);
PG_FUNCTION_INFO_V1(dr_switchover_record);

Datum
dr_switchover(PG_FUNCTION_ARGS)
{
	ApiCall    *call = apiCallNew("dr_switchover");
	char	   *target;
	int64		timeoutMs = 30000;
	char	   *volatile result = NULL;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("dr_switchover() needs a target node")));
	target = text_to_cstring(PG_GETARG_TEXT_PP(0));
	apiNodeNameCheck("dr_switchover", target);
	if (!PG_ARGISNULL(1))
	{
		Interval   *iv = PG_GETARG_INTERVAL_P(1);
		int64		us = iv->time + (int64) iv->day * USECS_PER_DAY +
			(int64) iv->month * DAYS_PER_MONTH * USECS_PER_DAY;

		if (us < 1000 || us > (int64) 3600 * USECS_PER_SEC)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("argument \"timeout\" of dr_switchover() must be 1 ms to 1 hour"),
					 errhint("It bounds the wait for the target to replay this primary's WAL.")));
		timeoutMs = us / 1000;
	}
	apiArgText(call, "target", target);
	apiArgInt64(call, "timeout_ms", timeoutMs);
	API_CALL_BEGIN(call);
	{
		ApiOwnerContext owner;

		apiAsOwnerBegin(&owner);
		result = haSwitchoverRun(target, timeoutMs);
		apiAsOwnerEnd(&owner);
	}
	API_CALL_END(call);
	apiArgText(call, "result", result);
	apiCallOk(call);
	PG_RETURN_TEXT_P(cstring_to_text(result));
}

/*
 * pgdr.ha_switchover_record(old_primary, term, duration_ms, detail): `pg_dr
 * switchover` records the switchover on the new primary, once promoted:
 * a row of dr_failover_history (kind "switchover") and the audit record
 * "pg_dr switchover", made by the role it connected as (dr_admin).
 */
Datum
dr_switchover_record(PG_FUNCTION_ARGS)
{
	ApiCall    *call = apiCallNew("pg_dr switchover");
	char	   *old;
	int64		term;
	int64		durationMs;
	char	   *detail;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("pgdr.ha_switchover_record() needs the old primary, the term and a detail")));
	old = text_to_cstring(PG_GETARG_TEXT_PP(0));
	term = PG_GETARG_INT64(1);
	durationMs = PG_ARGISNULL(2) ? -1 : PG_GETARG_INT64(2);
	detail = text_to_cstring(PG_GETARG_TEXT_PP(3));
	apiNodeNameCheck("pgdr.ha_switchover_record", old);
	apiTextArgCheck("pgdr.ha_switchover_record", "detail", detail, 1, 2048);
	apiArgText(call, "old_primary", old);
	apiArgInt64(call, "term", term);
	apiArgInt64(call, "duration_ms", durationMs);
	apiArgText(call, "detail", detail);
	API_CALL_BEGIN(call);
	{
		ApiOwnerContext owner;

		apiAsOwnerBegin(&owner);
		haSwitchoverRecord((uint64) term, durationMs,
						   psprintf("switchover from \"%s\": %s", old, detail));
		apiAsOwnerEnd(&owner);
	}
	API_CALL_END(call);
	apiCallOk(call);
	PG_RETURN_VOID();
}
