/*-------------------------------------------------------------------------
 * audit_guard.c
 *	  pgdr.audit_guard(), the trigger that keeps the audit trail
 *	  append-only.
 *
 * It refuses UPDATE, DELETE and TRUNCATE of pgdr.audit_log,
 * pgdr.audit_anchor and pgdr.audit_pending to everyone, the table owner
 * included.  There are three exceptions, each a flag that only C code can
 * set in its own process.  dr_audit_expire() (audit_expire.c) may remove
 * rows older than pg_dr.audit_retention and move the anchor.  The trigger
 * of a watched table (audit_change.c) may insert audit_pending rows (notes
 * of changes), and the pg_dr worker alone (audit_writer.c) may remove them
 * as it chains them; INSERT into that table is refused to everyone else.
 * It also refuses TRUNCATE of pgdr.objectives, whose row changes are
 * audited one by one (api/objectives.c) and which TRUNCATE would bypass.
 * A superuser can still disable the trigger: the hash chain and the
 * published heads (audit_head.c) show what was changed then.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "ops/audit.h"
#include "ops/audit_shared.h"

PG_FUNCTION_INFO_V1(pg_dr_audit_guard);

Datum
pg_dr_audit_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	const char *relname;
	const char *action;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("pgdr.audit_guard() must be called as a trigger")));

	relname = RelationGetRelationName(trigdata->tg_relation);

	/* changes are noted by their trigger and chained by the worker */
	if (TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) &&
		strcmp(relname, "audit_pending") == 0)
	{
		if (auditChangeInProgress && TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
			return PointerGetDatum(trigdata->tg_trigtuple);
		if (auditWriterInProgress && TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
			return PointerGetDatum(trigdata->tg_trigtuple);
	}

	if (auditExpireInProgress && TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
	{
		if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) &&
			strcmp(relname, "audit_log") == 0)
		{
			TupleDesc	desc = RelationGetDescr(trigdata->tg_relation);
			int			attnum = SPI_fnumber(desc, "finished_at");
			bool		isnull;
			Datum		finished;

			finished = heap_getattr(trigdata->tg_trigtuple, attnum, desc, &isnull);
			if (!isnull && DatumGetTimestampTz(finished) < auditRetentionCutoff())
				return PointerGetDatum(trigdata->tg_trigtuple);
		}
		if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) &&
			strcmp(relname, "audit_anchor") == 0)
			return PointerGetDatum(trigdata->tg_newtuple);
	}

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		action = "INSERT";
	else if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		action = "UPDATE";
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		action = "DELETE";
	else if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		action = "TRUNCATE";
	else
		action = "this change";

	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("the pg_dr audit trail is append-only"),
			 errdetail("%s of \"pgdr.%s\" is not allowed, not even for its owner.",
					   action, relname),
			 strcmp(relname, "objectives") == 0 ?
			 errhint("Change the objectives row by row through dr_objectives: each change is audited.") :
			 strcmp(relname, "audit_pending") == 0 ?
			 errhint("Changes of dr_objectives are noted there by their trigger, and chained by the pg_dr worker.") :
			 errhint("Rows older than pg_dr.audit_retention are removed only by dr_audit_expire().")));
	pg_unreachable();
}
