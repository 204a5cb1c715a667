/*-------------------------------------------------------------------------
 * ha_watch_sync.c
 *	  Synchronous mode: the lag watcher writes synchronous_standby_names on
 *	  the primary (what to write is haWatchSyncDecide's).
 *
 * How a background worker changes a server setting safely in PostgreSQL
 * 15: exactly as ALTER SYSTEM does, by calling AlterSystemSetConfigFile()
 * with the statement ALTER SYSTEM SET synchronous_standby_names = '...'
 * (or ALTER SYSTEM RESET synchronous_standby_names) would parse to.  It
 * checks the value with the setting's own check hook (the syncrep
 * grammar), takes AutoFileLock against a concurrent ALTER SYSTEM, and
 * replaces postgresql.auto.conf by writing a temporary file,
 * fsyncing it and renaming it durably, so a crash leaves the old file or
 * the new one.  Then SIGHUP to the postmaster, as pg_reload_conf() sends:
 * the postmaster re-reads the files and signals every child; the
 * walsenders and the backends waiting for a commit pick the new value up
 * at once (SyncRepUpdateSyncStandbysDefined, checkpointer).  No restart,
 * and no change of postgresql.conf, which belongs to the administrator.
 * The worker runs as the bootstrap superuser, which ALTER SYSTEM needs.
 * A value in postgresql.conf does not override it: postgresql.auto.conf
 * is read last.
 *
 * Every write is logged (LOG, with the reason) and audited as a change
 * of "synchronous_standby_names" (ops/audit.h, auditChangeNote: noted in
 * the worker's transaction, chained by the audit drain), the old and new
 * values and the reason in the record.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "postmaster/postmaster.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "ha/ha_state.h"
#include "ha/ha_watch_internal.h"
#include "ops/audit.h"

/* {"value": value, "reason": reason} as jsonb, for the audit record. */
static Datum
haWatchSyncJsonb(const char *value, const char *reason)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"synchronous_standby_names\": ");
	escape_json(&buf, value);
	if (reason != NULL)
	{
		appendStringInfoString(&buf, ", \"reason\": ");
		escape_json(&buf, reason);
	}
	appendStringInfoChar(&buf, '}');
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
}

void
haWatchSyncWrite(const char *value, const char *previous, const char *reason)
{
	AlterSystemStmt *stmt = makeNode(AlterSystemStmt);
	VariableSetStmt *set = makeNode(VariableSetStmt);
	A_Const    *arg = makeNode(A_Const);
	char	   *user;

	set->name = "synchronous_standby_names";
	set->is_local = false;
	if (value != NULL)
	{
		arg->val.sval.type = T_String;
		arg->val.sval.sval = pstrdup(value);
		arg->location = -1;
		set->kind = VAR_SET_VALUE;
		set->args = list_make1(arg);
	}
	else
	{
		/* ALTER SYSTEM RESET: the line goes from postgresql.auto.conf */
		set->kind = VAR_RESET;
		set->args = NIL;
	}
	stmt->setstmt = set;

	/* the record first: an error below rolls it back with the transaction */
	user = GetUserNameFromId(GetSessionUserId(), true);
	auditChangeNote("synchronous_standby_names", "UPDATE", JSONBOID,
					haWatchSyncJsonb(previous ? previous : "", NULL),
					haWatchSyncJsonb(value ? value : "", reason),
					user ? user : "?", user ? user : "?");

	/*
	 * postgresql.auto.conf is not transactional: a change made while the
	 * node lacks its licence would stay although the write guard then
	 * refuses the commit (an old primary resumed after a freeze, before its
	 * HA worker fenced it, did exactly that).  So the guard is asked first.
	 */
	haGuardCheck("the change of synchronous_standby_names");
	AlterSystemSetConfigFile(stmt);
	if (kill(PostmasterPid, SIGHUP) != 0)
		ereport(WARNING,
				(errmsg("pg_dr lag watcher: could not signal the postmaster to reload: %m"),
				 errhint("Run SELECT pg_reload_conf() for synchronous_standby_names = '%s' to take effect.",
						 value ? value : "")));
	if (value != NULL)
		ereport(LOG,
				(errmsg("pg_dr lag watcher: synchronous_standby_names set to '%s' (was '%s'): %s",
						value, previous ? previous : "", reason)));
	else
		ereport(LOG,
				(errmsg("pg_dr lag watcher: synchronous_standby_names reset (was '%s'): %s",
						previous ? previous : "", reason)));
}
