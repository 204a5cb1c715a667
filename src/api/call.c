/*-------------------------------------------------------------------------
 * call.c
 *	  The audit record of every dr_* function (see api.h): its arguments
 *	  as one JSON object, built a field at a time, then ok or failed with
 *	  the error's SQLSTATE (ops/audit.h writes and chains it).
 *
 * The builder keeps a complete object at every moment ("{}", then
 * "{"a": 1}", ...): adding a field removes the closing brace and puts it
 * back after the field.  So the failure path, which runs inside PG_CATCH
 * where nothing should be allocated before the error is copied, hands
 * the buffer over as it stands, without formatting anything.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/json.h"

#include "api/api.h"

ApiCall *
apiCallNew(const char *operation)
{
	ApiCall    *call = palloc0(sizeof(ApiCall));

	call->operation = operation;
	initStringInfo(&call->json);
	appendStringInfoString(&call->json, "{}");
	return call;
}

/* Open the object for one more field: drop '}', add ", " after the first. */
static void
apiArgKey(ApiCall *call, const char *key)
{
	StringInfo	json = &call->json;

	Assert(json->len >= 2 && json->data[json->len - 1] == '}');
	json->len--;
	json->data[json->len] = '\0';
	if (json->len > 1)
		appendStringInfoString(json, ", ");
	escape_json(json, key);
	appendStringInfoString(json, ": ");
}

static void
apiArgClose(ApiCall *call)
{
	appendStringInfoChar(&call->json, '}');
}

void
apiArgText(ApiCall *call, const char *key, const char *value)
{
	apiArgKey(call, key);
	if (value != NULL)
		escape_json(&call->json, value);
	else
		appendStringInfoString(&call->json, "null");
	apiArgClose(call);
}

void
apiArgInt64(ApiCall *call, const char *key, int64 value)
{
	apiArgKey(call, key);
	appendStringInfo(&call->json, INT64_FORMAT, value);
	apiArgClose(call);
}

void
apiArgUint64(ApiCall *call, const char *key, uint64 value)
{
	apiArgKey(call, key);
	appendStringInfo(&call->json, UINT64_FORMAT, value);
	apiArgClose(call);
}

void
apiArgBool(ApiCall *call, const char *key, bool value)
{
	apiArgKey(call, key);
	appendStringInfoString(&call->json, value ? "true" : "false");
	apiArgClose(call);
}

void
apiArgTextList(ApiCall *call, const char *key, List *values)
{
	ListCell   *lc;

	apiArgKey(call, key);
	appendStringInfoChar(&call->json, '[');
	foreach(lc, values)
	{
		if (lc != list_head(values))
			appendStringInfoString(&call->json, ", ");
		escape_json(&call->json, (const char *) lfirst(lc));
	}
	appendStringInfoChar(&call->json, ']');
	apiArgClose(call);
}

void
apiCallBegin(ApiCall *call)
{
	auditOpBegin(&call->op, call->operation, call->json.data);
}

void
apiCallOk(ApiCall *call)
{
	call->op.arguments = call->json.data;
	auditOpOk(&call->op);
}

void
apiCallOnFailure(ApiCall *call, void (*fn) (void *arg), void *arg)
{
	call->onFailure = fn;
	call->onFailureArg = arg;
}

void
apiCallFailed(ApiCall *call)
{
	if (call->onFailure)
		call->onFailure(call->onFailureArg);
	/* no allocation here: the buffer is a complete object already */
	call->op.arguments = call->json.data;
	auditOpFailed(&call->op);
}
