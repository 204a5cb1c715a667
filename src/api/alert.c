/*-------------------------------------------------------------------------
 * alert.c (api)
 *	  dr_alert_ack(id): acknowledge an open alert (ops/alert.h), audited.
 *
 * The acknowledger is the session user (who logged in), taken before
 * switching to the extension owner, which writes pgdr.alerts.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "api/api.h"
#include "ops/alert.h"

PG_FUNCTION_INFO_V1(dr_alert_ack);

Datum
dr_alert_ack(PG_FUNCTION_ARGS)
{
	int64		id = PG_GETARG_INT64(0);
	ApiCall    *call = apiCallNew("dr_alert_ack");
	char	   *sessionUser = GetUserNameFromId(GetSessionUserId(), false);
	char	   *currentUser = GetUserNameFromId(GetUserId(), false);
	volatile TimestampTz at = 0;

	apiArgInt64(call, "id", id);
	API_CALL_BEGIN(call);
	{
		ApiOwnerContext owner;

		apiAsOwnerBegin(&owner);
		at = alertAck(id, sessionUser, currentUser);
		apiAsOwnerEnd(&owner);
	}
	API_CALL_END(call);
	apiArgText(call, "acknowledged_at", timestamptz_to_str(at));
	apiCallOk(call);
	PG_RETURN_TIMESTAMPTZ(at);
}
