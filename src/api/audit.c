/*-------------------------------------------------------------------------
 * audit.c
 *	  SQL functions of the audit trail: dr_audit_verify(),
 *	  dr_audit_expire() and the append-only guard trigger.
 *
 * The guard refuses UPDATE, DELETE and TRUNCATE of pgdr.audit_log,
 * pgdr.audit_anchor and pgdr.audit_inflight to everyone, the table owner
 * included.  There are two exceptions, each a flag that only C code can set
 * in its own process.  dr_audit_expire() may remove rows older than
 * pg_dr.audit_retention and move the anchor.  The pg_dr worker alone may
 * insert and remove audit_inflight rows (notes of operations in flight);
 * INSERT into that table is refused to everyone else too.
 *
 * dr_audit_verify() checks the chain, then the chain's heads published in
 * the repositories (ops/audit_head.c), which show a removed tail.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "api/api.h"
#include "ops/audit.h"

PG_FUNCTION_INFO_V1(dr_audit_verify);
PG_FUNCTION_INFO_V1(dr_audit_expire);
PG_FUNCTION_INFO_V1(pg_dr_audit_guard);

bool		auditExpireInProgress = false;

/* The oldest finished_at a row may have and still be kept. */
static TimestampTz
auditRetentionCutoff(void)
{
	return GetCurrentTimestamp() - (int64) drAuditRetention * 60 * USECS_PER_SEC;
}

/* Run pgdr.audit_verify_chain() as the owner; returns its row. */
static HeapTuple
auditVerifyChain(TupleDesc *tupdesc)
{
	ApiOwnerContext owner;
	HeapTuple	tuple;
	MemoryContext callerContext = CurrentMemoryContext;

	apiAsOwnerBegin(&owner);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT * FROM pgdr.audit_verify_chain()", true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not run pgdr.audit_verify_chain()");
	/* both must outlive SPI_finish: copy them into the caller's context */
	tuple = SPI_copytuple(SPI_tuptable->vals[0]);
	{
		MemoryContext spiContext = MemoryContextSwitchTo(callerContext);

		*tupdesc = CreateTupleDescCopy(SPI_tuptable->tupdesc);
		MemoryContextSwitchTo(spiContext);
	}
	SPI_finish();
	apiAsOwnerEnd(&owner);
	return tuple;
}

/*
 * The chain is intact: check it against the heads published in the
 * repositories (audit_head.c).  Returns chain, or a copy reporting the
 * first head the table contradicts.
 */
static HeapTuple
auditVerifyHeads(HeapTuple chain, TupleDesc chainDesc)
{
	ApiOwnerContext owner;
	int64		brokenId = 0;
	char	   *problem = NULL;
	bool		ok;
	MemoryContext callerContext = CurrentMemoryContext;

	apiAsOwnerBegin(&owner);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ok = auditHeadCheck(&brokenId, &problem);
	if (!ok)
		problem = MemoryContextStrdup(callerContext, problem);
	SPI_finish();
	apiAsOwnerEnd(&owner);

	if (!ok)
	{
		Datum		values[4];
		bool		nulls[4];

		heap_deform_tuple(chain, chainDesc, values, nulls);
		values[0] = BoolGetDatum(false);
		values[2] = Int64GetDatum(brokenId);
		nulls[2] = false;
		values[3] = CStringGetTextDatum(problem);
		nulls[3] = false;
		chain = heap_form_tuple(chainDesc, values, nulls);
	}
	return chain;
}

Datum
dr_audit_verify(PG_FUNCTION_ARGS)
{
	AuditOp		op;
	TupleDesc	resultDesc;
	TupleDesc	chainDesc;
	volatile HeapTuple chain = NULL;

	if (get_call_result_type(fcinfo, NULL, &resultDesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	auditOpBegin(&op, "dr_audit_verify", "{}");
	PG_TRY();
	{
		bool		isnull;
		bool		ok;

		chain = auditVerifyChain(&chainDesc);
		ok = DatumGetBool(heap_getattr(chain, 1, chainDesc, &isnull));
		if (ok)
			chain = auditVerifyHeads(chain, chainDesc);
		ok = DatumGetBool(heap_getattr(chain, 1, chainDesc, &isnull));
		if (!ok)
			ereport(WARNING,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("the pg_dr audit trail is broken at row " INT64_FORMAT,
							DatumGetInt64(heap_getattr(chain, 3, chainDesc, &isnull))),
					 errdetail("%s", TextDatumGetCString(heap_getattr(chain, 4, chainDesc, &isnull)))));
	}
	PG_CATCH();
	{
		auditOpFailed(&op);
	}
	PG_END_TRY();
	auditOpOk(&op);

	/* same columns as pgdr.audit_verify_chain() */
	{
		Datum		values[4];
		bool		nulls[4];

		heap_deform_tuple(chain, chainDesc, values, nulls);
		PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(resultDesc),
														  values, nulls)));
	}
}

Datum
dr_audit_expire(PG_FUNCTION_ARGS)
{
	AuditOp		op;
	char		args[128];
	volatile int64 removed = 0;

	snprintf(args, sizeof(args), "{\"retention_minutes\": %d}", drAuditRetention);
	auditOpBegin(&op, "dr_audit_expire", args);
	PG_TRY();
	{
		TupleDesc	chainDesc;
		HeapTuple	chain;
		bool		isnull;
		ApiOwnerContext owner;
		Oid			argtypes[1] = {TIMESTAMPTZOID};
		Datum		values[1];

		/* removing rows would hide a broken link among them: check first */
		chain = auditVerifyChain(&chainDesc);
		if (!DatumGetBool(heap_getattr(chain, 1, chainDesc, &isnull)))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("the pg_dr audit trail is broken; refusing to remove rows from it"),
					 errdetail("%s", TextDatumGetCString(heap_getattr(chain, 4, chainDesc, &isnull))),
					 errhint("Run dr_audit_verify() and investigate before expiring audit rows.")));

		values[0] = TimestampTzGetDatum(auditRetentionCutoff());

		apiAsOwnerBegin(&owner);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");

		/*
		 * Remove a prefix of the chain: every row up to the newest one that
		 * has no younger row before it.  Then move the anchor to the last
		 * removed row, so that verification starts from there.
		 */
		auditExpireInProgress = true;
		PG_TRY();
		{
			int			ret;

			ret = SPI_execute_with_args(
										"WITH lim AS ("
										"  SELECT coalesce((SELECT pg_catalog.min(id) OPERATOR(pg_catalog.-) 1"
										"                   FROM pgdr.audit_log"
										"                   WHERE finished_at OPERATOR(pg_catalog.>=) $1),"
										"                  (SELECT pg_catalog.max(id) FROM pgdr.audit_log)) AS last_id),"
										" gone AS ("
										"  DELETE FROM pgdr.audit_log a USING lim"
										"  WHERE a.id OPERATOR(pg_catalog.<=) lim.last_id"
										"  RETURNING a.id, a.row_hash),"
										" newest AS (SELECT id, row_hash FROM gone ORDER BY id DESC LIMIT 1)"
										" INSERT INTO pgdr.audit_anchor (singleton, last_removed_id, row_hash)"
										" SELECT true, id, row_hash FROM newest"
										" ON CONFLICT (singleton) DO UPDATE"
										"   SET last_removed_id = excluded.last_removed_id,"
										"       row_hash = excluded.row_hash"
										" RETURNING (SELECT pg_catalog.count(*) FROM gone)",
										1, argtypes, values, NULL, false, 0);
			if (ret != SPI_OK_INSERT_RETURNING)
				elog(ERROR, "could not remove expired audit rows");
			if (SPI_processed == 1)
				removed = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
													  SPI_tuptable->tupdesc,
													  1, &isnull));
		}
		PG_FINALLY();
		{
			auditExpireInProgress = false;
		}
		PG_END_TRY();

		SPI_finish();
		apiAsOwnerEnd(&owner);
	}
	PG_CATCH();
	{
		auditOpFailed(&op);
	}
	PG_END_TRY();

	/* the record says how many rows went */
	{
		char	   *withCount = psprintf("{\"retention_minutes\": %d, \"removed\": " INT64_FORMAT "}",
										 drAuditRetention, removed);

		pfree(op.arguments);
		op.arguments = withCount;
	}
	auditOpOk(&op);
	PG_RETURN_INT64(removed);
}

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

	/* the worker notes operations in flight and removes the notes */
	if (auditWriterInProgress && TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) &&
		strcmp(relname, "audit_inflight") == 0)
	{
		if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ||
			TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
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
			 strcmp(relname, "audit_inflight") == 0 ?
			 errhint("Only the pg_dr worker writes pgdr.audit_inflight.") :
			 errhint("Rows older than pg_dr.audit_retention are removed only by dr_audit_expire().")));
	pg_unreachable();
}
