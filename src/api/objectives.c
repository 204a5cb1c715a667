/*-------------------------------------------------------------------------
 * objectives.c (api)
 *	  pgdr.objectives_audit(), the trigger that audits every change of the
 *	  recovery objectives (pgdr.objectives, edited through dr_objectives),
 *	  and, given the name the user sees as its argument, of the scheduling
 *	  policies (dr_schedule_policies) and the failover history
 *	  (pgdr.ha_events: dr_failover_history).
 *
 * A row trigger fired AFTER the change, in the changing transaction: it
 * takes the users who made the change (the session user and the current
 * user, before switching), then, as the extension owner, has the audit
 * part note the change with the row before and after
 * (ops/audit.h, auditChangeNote), committed or rolled back with it.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/rel.h"

#include "api/api.h"
#include "ops/audit.h"

PG_FUNCTION_INFO_V1(pg_dr_objectives_audit);

Datum
pg_dr_objectives_audit(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	Oid			rowType;
	const char *action;
	Datum		oldRow = (Datum) 0;
	Datum		newRow = (Datum) 0;
	char	   *sessionUser;
	char	   *currentUser;
	ApiOwnerContext owner;
	const char *table = "dr_objectives";

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_AFTER(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("pgdr.objectives_audit() must be called as an AFTER ROW trigger")));

	if (trigdata->tg_trigger->tgnargs > 0)
		table = trigdata->tg_trigger->tgargs[0];
	desc = RelationGetDescr(trigdata->tg_relation);
	rowType = trigdata->tg_relation->rd_rel->reltype;
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		action = "INSERT";
		newRow = heap_copy_tuple_as_datum(trigdata->tg_trigtuple, desc);
	}
	else if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		action = "UPDATE";
		oldRow = heap_copy_tuple_as_datum(trigdata->tg_trigtuple, desc);
		newRow = heap_copy_tuple_as_datum(trigdata->tg_newtuple, desc);
	}
	else
	{
		action = "DELETE";
		oldRow = heap_copy_tuple_as_datum(trigdata->tg_trigtuple, desc);
	}

	sessionUser = GetUserNameFromId(GetSessionUserId(), true);
	currentUser = GetUserNameFromId(GetUserId(), true);

	apiAsOwnerBegin(&owner);
	auditChangeNote(table, action, rowType, oldRow, newRow,
					sessionUser ? sessionUser : "?",
					currentUser ? currentUser : "?");
	apiAsOwnerEnd(&owner);

	return PointerGetDatum(NULL);
}
