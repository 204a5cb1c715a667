/*-------------------------------------------------------------------------
 * audit.c (api)
 *	  dr_audit_verify() and dr_audit_expire(): the audit trail's SQL entry
 *	  points.  The checks and the removal are the audit part's
 *	  (ops/audit_verify.c, ops/audit_expire.c), as is the append-only
 *	  guard trigger (ops/audit_guard.c); here they are audited and run as
 *	  the extension owner.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "api/api.h"
#include "ops/alert.h"
#include "ops/audit.h"

PG_FUNCTION_INFO_V1(dr_audit_verify);
PG_FUNCTION_INFO_V1(dr_audit_expire);

/*
 * The chain, then the heads published in the repositories.  A broken
 * trail is a WARNING and a row that says where; the function itself
 * succeeds: it did its job.  Same columns as pgdr.audit_verify_chain().
 */
/*
 * The "audit_chain_broken" alert (ops/alert.h): raised, critical, with the
 * broken row as its value; resolved when the chain holds again.
 */
static void
apiAuditAlert(const AuditVerifyResult *result)
{
	AlertRaise	raise;

	if (result->ok)
	{
		alertResolve("audit", "audit_chain_broken");
		return;
	}
	memset(&raise, 0, sizeof(raise));
	raise.source = "audit";
	raise.key = "audit_chain_broken";
	raise.severity = ALERT_CRITICAL;
	raise.message = psprintf("the audit trail is broken at row " INT64_FORMAT ": %s",
							 result->firstBrokenId,
							 result->problem ? result->problem : "(no detail)");
	raise.hasValue = true;
	raise.value = (double) result->firstBrokenId;
	(void) alertRaise(&raise);
}

Datum
dr_audit_verify(PG_FUNCTION_ARGS)
{
	ApiCall    *call = apiCallNew("dr_audit_verify");
	TupleDesc	tupdesc;
	AuditVerifyResult result;
	Datum		values[4];
	bool		nulls[4] = {0};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	API_CALL_BEGIN(call);
	{
		ApiOwnerContext owner;

		apiAsOwnerBegin(&owner);
		auditVerify(&result);
		apiAuditAlert(&result);
		apiAsOwnerEnd(&owner);
		if (!result.ok)
			ereport(WARNING,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("the pg_dr audit trail is broken at row " INT64_FORMAT,
							result.firstBrokenId),
					 errdetail("%s", result.problem)));
	}
	API_CALL_END(call);
	apiCallOk(call);

	values[0] = BoolGetDatum(result.ok);
	values[1] = Int64GetDatum(result.rowsChecked);
	values[2] = Int64GetDatum(result.firstBrokenId);
	nulls[2] = result.ok;
	values[3] = result.problem ? CStringGetTextDatum(result.problem) : (Datum) 0;
	nulls[3] = result.problem == NULL;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
													  values, nulls)));
}

/* Remove the rows older than pg_dr.audit_retention; the record says how many. */
Datum
dr_audit_expire(PG_FUNCTION_ARGS)
{
	ApiCall    *call = apiCallNew("dr_audit_expire");
	volatile int64 removed = 0;

	apiArgInt64(call, "retention_minutes", drAuditRetention);
	API_CALL_BEGIN(call);
	{
		ApiOwnerContext owner;

		apiAsOwnerBegin(&owner);
		removed = auditExpire();
		apiAsOwnerEnd(&owner);
	}
	API_CALL_END(call);
	apiArgInt64(call, "removed", removed);
	apiCallOk(call);
	PG_RETURN_INT64(removed);
}
