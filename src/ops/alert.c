/*-------------------------------------------------------------------------
 * alert.c
 *	  The writes of the alerts facility (alert.h): pgdr.alerts and
 *	  pgdr.alert_events are written here and nowhere else, each change with
 *	  its NOTIFY and its audit note in the same transaction.
 *
 * Every SQL text names its schemas and operators; it runs as the
 * extension owner with the pinned search_path (a backend between
 * apiAsOwnerBegin and End, or the worker, which pins it at start).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/jsonb.h"

#include "ops/alert_internal.h"
#include "ops/audit.h"

/* This transaction wrote events: the commit callback tells the worker. */
static bool alertEventsThisXact = false;
static bool alertCallbackRegistered = false;

static void
alertXactCallback(XactEvent event, void *arg)
{
	if (!alertEventsThisXact)
		return;
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			alertEventsThisXact = false;
			/* the worker itself sends at the end of its round anyway */
			if (!IsBackgroundWorker)
				alertQueuePoke();
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			alertEventsThisXact = false;
			break;
		default:
			break;
	}
}

static void
alertCopyText(char *dst, const char *src, size_t size)
{
	size_t		len;

	if (src == NULL)
		src = "";
	len = strlen(src);
	if (len >= size)
		len = pg_mbcliplen(src, len, size - 1);
	memcpy(dst, src, len);
	dst[len] = '\0';
}

void
alertRequestRaise(AlertRequest *request, const AlertRaise *raise)
{
	memset(request, 0, sizeof(*request));
	request->severity = raise->severity;
	alertCopyText(request->source, raise->source, sizeof(request->source));
	alertCopyText(request->key, raise->key, sizeof(request->key));
	alertCopyText(request->message, raise->message, sizeof(request->message));
	request->hasValue = raise->hasValue;
	request->value = raise->value;
	request->hasThreshold = raise->hasThreshold;
	request->threshold = raise->threshold;
}

void
alertRequestResolve(AlertRequest *request, const char *source, const char *key)
{
	memset(request, 0, sizeof(*request));
	request->resolve = true;
	alertCopyText(request->source, source, sizeof(request->source));
	alertCopyText(request->key, key, sizeof(request->key));
}

/*
 * A part's mistake, not the user's: said at elevel (ERROR before anything
 * is written; LOG where a request is queued, which must never fail: the
 * request is dropped then).  Returns whether the request is valid.
 */
static bool
alertRequestCheck(const AlertRequest *request, int elevel)
{
	if (!alertSourceValid(request->source))
		elog(elevel, "pg_dr alert source \"%s\" is not one of the parts", request->source);
	else if (request->key[0] == '\0')
		elog(elevel, "pg_dr alert of %s has no key", request->source);
	else if ((int) request->severity < 0 || (int) request->severity >= ALERT_SEVERITY_COUNT)
		elog(elevel, "pg_dr alert %s/%s has no valid severity", request->source,
			 request->key);
	else
		return true;
	return false;
}

bool
alertCanWrite(void)
{
	return IsNormalProcessingMode() && OidIsValid(MyDatabaseId) &&
		IsTransactionState() && !IsAbortedTransactionBlockState() &&
		!XactReadOnly && !RecoveryInProgress() && !IsInParallelMode();
}

/* The users of the audit note: who is logged in, and whose rights run. */
static void
alertAuditNote(const char *action, Datum oldRow, Datum newRow,
			   const char *sessionUser, const char *currentUser)
{
	char	   *session = sessionUser ? pstrdup(sessionUser) :
		GetUserNameFromId(GetSessionUserId(), true);
	char	   *current = currentUser ? pstrdup(currentUser) :
		GetUserNameFromId(GetUserId(), true);

	auditChangeNote("dr_alerts", action, JSONBOID, oldRow, newRow,
					session ? session : "?", current ? current : "?");
}

/* The jsonb in column col of row 0 of the last SPI result, copied; 0 if NULL. */
static Datum
alertSpiJsonb(int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
								  col, &isnull);

	return isnull ? (Datum) 0 : datumCopy(d, false, -1);
}

/* The row of alert id as jsonb (for the audit note), copied. */
static Datum
alertRowJson(int64 id)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(id)};

	if (SPI_execute_with_args("SELECT pg_catalog.to_jsonb(a.*) FROM pgdr.alerts a "
							  "WHERE a.id OPERATOR(pg_catalog.=) $1",
							  1, argtypes, values, NULL, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "pg_dr alert " INT64_FORMAT " vanished", id);
	return alertSpiJsonb(1);
}

/*
 * An event of alert id: a row of pgdr.alert_events (its webhook body
 * fixed now) and the NOTIFY, both at commit.  severity: the webhook's
 * (an escalation's target, else the alert's).
 */
static void
alertEventWrite(int64 id, const char *event, AlertSeverity severity)
{
	Oid			argtypes[3] = {INT8OID, TEXTOID, TEXTOID};
	Datum		values[3];
	int			ret;

	values[0] = Int64GetDatum(id);
	values[1] = CStringGetTextDatum(event);
	values[2] = CStringGetTextDatum(alertSeverityName(severity));
	ret = SPI_execute_with_args(
								"WITH a AS (SELECT * FROM pgdr.alerts a WHERE a.id OPERATOR(pg_catalog.=) $1), "
								"e AS (INSERT INTO pgdr.alert_events "
								"(alert_id, event, severity, payload, created_at, next_attempt_at) "
								"SELECT a.id, $2, $3, pg_catalog.jsonb_build_object("
								"'event', $2, 'severity', $3, 'alert', pg_catalog.to_jsonb(a.*), "
								"'database', pg_catalog.current_database(), "
								"'system_identifier', (SELECT CAST(s.system_identifier AS pg_catalog.text) "
								"FROM pg_catalog.pg_control_system() s)), "
								"pg_catalog.clock_timestamp(), pg_catalog.clock_timestamp() FROM a "
								"RETURNING id) "
								"SELECT pg_catalog.pg_notify('dr_alerts', CAST(pg_catalog.jsonb_build_object("
								"'id', a.id, 'severity', $3, 'source', a.source, 'key', a.key, "
								"'state', $2) AS pg_catalog.text)), (SELECT e.id FROM e) FROM a",
								3, argtypes, values, NULL, false, 0);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not record the %s event of pg_dr alert " INT64_FORMAT,
			 event, id);
	if (!alertCallbackRegistered)
	{
		RegisterXactCallback(alertXactCallback, NULL);
		alertCallbackRegistered = true;
	}
	alertEventsThisXact = true;
}

/* The open alert of source and key, locked; its id, or 0. */
static int64
alertOpenGet(const AlertRequest *request, AlertOpen *open)
{
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		values[2];
	bool		isnull;
	char	   *severity;

	values[0] = CStringGetTextDatum(request->source);
	values[1] = CStringGetTextDatum(request->key);
	if (SPI_execute_with_args("SELECT a.id, a.severity, a.acknowledged_at IS NOT NULL "
							  "FROM pgdr.alerts a "
							  "WHERE a.source OPERATOR(pg_catalog.=) $1 "
							  "AND a.key OPERATOR(pg_catalog.=) $2 "
							  "AND a.resolved_at IS NULL FOR UPDATE",
							  2, argtypes, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the open pg_dr alert %s/%s", request->source,
			 request->key);
	memset(open, 0, sizeof(*open));
	if (SPI_processed == 0)
		return 0;
	open->exists = true;
	severity = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	if (!alertSeverityParse(severity, &open->severity))
		open->severity = ALERT_CRITICAL;
	open->acknowledged = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
													SPI_tuptable->tupdesc, 3,
													&isnull));
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
									   SPI_tuptable->tupdesc, 1, &isnull));
}

/* Arguments $1..$6 of an insert or update: severity, source, key, message, value, threshold. */
static void
alertRequestArgs(const AlertRequest *request, Oid *argtypes, Datum *values,
				 char *nulls)
{
	argtypes[0] = TEXTOID;
	argtypes[1] = TEXTOID;
	argtypes[2] = TEXTOID;
	argtypes[3] = TEXTOID;
	argtypes[4] = FLOAT8OID;
	argtypes[5] = FLOAT8OID;
	values[0] = CStringGetTextDatum(alertSeverityName(request->severity));
	values[1] = CStringGetTextDatum(request->source);
	values[2] = CStringGetTextDatum(request->key);
	values[3] = CStringGetTextDatum(request->message);
	values[4] = Float8GetDatum(request->value);
	values[5] = Float8GetDatum(request->threshold);
	memset(nulls, ' ', 6);
	if (!request->hasValue)
		nulls[4] = 'n';
	if (!request->hasThreshold)
		nulls[5] = 'n';
}

static int64
alertApplyRaise(const AlertRequest *request)
{
	Oid			argtypes[7];
	Datum		values[7];
	char		nulls[7];
	bool		isnull;

	alertRequestArgs(request, argtypes, values, nulls);

	/* twice at most: a concurrent raise may insert between look and insert */
	for (int attempt = 0; attempt < 2; attempt++)
	{
		AlertOpen	open;
		int64		id = alertOpenGet(request, &open);
		AlertAction action = alertDecideRaise(&open, request->severity);
		Datum		oldRow;

		if (action == ALERT_ACTION_INSERT)
		{
			if (SPI_execute_with_args("INSERT INTO pgdr.alerts AS a (severity, source, key, "
									  "message, value, threshold, raised_at, updated_at) "
									  "VALUES ($1, $2, $3, $4, $5, $6, "
									  "pg_catalog.clock_timestamp(), pg_catalog.clock_timestamp()) "
									  "ON CONFLICT (source, key) WHERE resolved_at IS NULL "
									  "DO NOTHING RETURNING a.id, pg_catalog.to_jsonb(a.*)",
									  6, argtypes, values, nulls, false, 0) != SPI_OK_INSERT_RETURNING)
				elog(ERROR, "could not raise pg_dr alert %s/%s", request->source,
					 request->key);
			if (SPI_processed == 0)
				continue;		/* someone else raised it: update that one */
			id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
											 SPI_tuptable->tupdesc, 1, &isnull));
			alertAuditNote("raise", (Datum) 0, alertSpiJsonb(2), NULL, NULL);
			alertEventWrite(id, "raised", request->severity);
			return id;
		}

		oldRow = action == ALERT_ACTION_RAISE_AGAIN ? alertRowJson(id) : (Datum) 0;
		argtypes[6] = INT8OID;
		values[6] = Int64GetDatum(id);
		nulls[6] = ' ';
		if (SPI_execute_with_args(action == ALERT_ACTION_RAISE_AGAIN ?
								  "UPDATE pgdr.alerts a SET severity = $1, message = $4, "
								  "value = $5, threshold = $6, "
								  "updated_at = pg_catalog.clock_timestamp(), "
								  "acknowledged_at = NULL, acknowledged_by = NULL, "
								  "escalated_at = NULL "
								  "WHERE a.id OPERATOR(pg_catalog.=) $7 "
								  "AND a.source OPERATOR(pg_catalog.=) $2 "
								  "AND a.key OPERATOR(pg_catalog.=) $3 "
								  "RETURNING pg_catalog.to_jsonb(a.*)" :
								  "UPDATE pgdr.alerts a SET severity = $1, message = $4, "
								  "value = $5, threshold = $6, "
								  "updated_at = pg_catalog.clock_timestamp() "
								  "WHERE a.id OPERATOR(pg_catalog.=) $7 "
								  "AND a.source OPERATOR(pg_catalog.=) $2 "
								  "AND a.key OPERATOR(pg_catalog.=) $3 "
								  "RETURNING pg_catalog.to_jsonb(a.*)",
								  7, argtypes, values, nulls, false, 0) != SPI_OK_UPDATE_RETURNING ||
			SPI_processed != 1)
			elog(ERROR, "could not update pg_dr alert " INT64_FORMAT, id);
		if (action == ALERT_ACTION_RAISE_AGAIN)
		{
			/* worse than before: audited and heard again */
			alertAuditNote("raise", oldRow, alertSpiJsonb(1), NULL, NULL);
			alertEventWrite(id, "raised", request->severity);
		}
		return id;
	}
	elog(ERROR, "pg_dr alert %s/%s changed while it was raised", request->source,
		 request->key);
	return 0;					/* keep the compiler quiet */
}

static int64
alertApplyResolve(const AlertRequest *request)
{
	AlertOpen	open;
	int64		id = alertOpenGet(request, &open);
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1];
	Datum		oldRow;

	if (alertDecideResolve(&open) != ALERT_ACTION_RESOLVE)
		return 0;
	oldRow = alertRowJson(id);
	values[0] = Int64GetDatum(id);
	if (SPI_execute_with_args("UPDATE pgdr.alerts a SET "
							  "resolved_at = pg_catalog.clock_timestamp(), "
							  "updated_at = pg_catalog.clock_timestamp() "
							  "WHERE a.id OPERATOR(pg_catalog.=) $1 "
							  "RETURNING pg_catalog.to_jsonb(a.*)",
							  1, argtypes, values, NULL, false, 0) != SPI_OK_UPDATE_RETURNING ||
		SPI_processed != 1)
		elog(ERROR, "could not resolve pg_dr alert " INT64_FORMAT, id);
	alertAuditNote("resolve", oldRow, alertSpiJsonb(1), NULL, NULL);
	alertEventWrite(id, "resolved", open.severity);
	return id;
}

int64
alertApply(const AlertRequest *request)
{
	int64		id;

	(void) alertRequestCheck(request, ERROR);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	id = request->resolve ? alertApplyResolve(request) : alertApplyRaise(request);
	SPI_finish();
	return id;
}

int64
alertRaise(const AlertRaise *raise)
{
	AlertRequest request;
	int64		id;

	alertRequestRaise(&request, raise);
	if (!alertCanWrite())
	{
		(void) alertRequestCheck(&request, ERROR);
		alertQueuePut(&request);
		return 0;
	}
	id = alertApply(&request);
	alertQueueDiscard(&request);
	return id;
}

void
alertResolve(const char *source, const char *key)
{
	AlertRequest request;

	alertRequestResolve(&request, source, key);
	if (!alertCanWrite())
	{
		(void) alertRequestCheck(&request, ERROR);
		alertQueuePut(&request);
		return;
	}
	(void) alertApply(&request);
	/* what is still queued about the same thing is older: it must not win */
	alertQueueDiscard(&request);
}

void
alertRaiseQueued(const AlertRaise *raise)
{
	AlertRequest request;

	alertRequestRaise(&request, raise);
	if (alertRequestCheck(&request, LOG))
		(void) alertQueuePut(&request);
}

void
alertResolveQueued(const char *source, const char *key)
{
	AlertRequest request;

	alertRequestResolve(&request, source, key);
	if (alertRequestCheck(&request, LOG))
		(void) alertQueuePut(&request);
}

TimestampTz
alertAck(int64 id, const char *by, const char *currentUser)
{
	Oid			argtypes[2] = {INT8OID, NAMEOID};
	Datum		values[2];
	NameData	byName;
	bool		isnull;
	bool		exists;
	bool		resolved = false;
	bool		acknowledged = false;
	AlertSeverity severity = ALERT_CRITICAL;
	TimestampTz at = 0;
	Datum		oldRow = (Datum) 0;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	values[0] = Int64GetDatum(id);
	if (SPI_execute_with_args("SELECT a.resolved_at IS NOT NULL, "
							  "a.acknowledged_at IS NOT NULL, a.severity, "
							  "a.acknowledged_at, a.acknowledged_by, "
							  "pg_catalog.to_jsonb(a.*) "
							  "FROM pgdr.alerts a WHERE a.id OPERATOR(pg_catalog.=) $1 "
							  "FOR UPDATE",
							  1, argtypes, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_dr alert " INT64_FORMAT, id);
	exists = SPI_processed == 1;
	if (exists)
	{
		HeapTuple	row = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;

		resolved = DatumGetBool(SPI_getbinval(row, desc, 1, &isnull));
		acknowledged = DatumGetBool(SPI_getbinval(row, desc, 2, &isnull));
		(void) alertSeverityParse(SPI_getvalue(row, desc, 3), &severity);
		if (acknowledged)
		{
			at = DatumGetTimestampTz(SPI_getbinval(row, desc, 4, &isnull));
			by = SPI_getvalue(row, desc, 5);
		}
		oldRow = alertSpiJsonb(6);
	}

	switch (alertDecideAck(exists, resolved, acknowledged))
	{
		case ALERT_ACK_UNKNOWN:
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("alert " INT64_FORMAT " does not exist", id),
					 errhint("SELECT id FROM dr_alerts WHERE state = 'open' lists the open alerts.")));
			break;
		case ALERT_ACK_RESOLVED:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("alert " INT64_FORMAT " is resolved already", id),
					 errhint("Only an open alert can be acknowledged; a resolved one needs nothing more.")));
			break;
		case ALERT_ACK_ALREADY:
			ereport(NOTICE,
					(errmsg("alert " INT64_FORMAT " was acknowledged already, by %s",
							id, by ? by : "?")));
			break;
		case ALERT_ACK_DONE:
			namestrcpy(&byName, by);
			values[1] = NameGetDatum(&byName);
			if (SPI_execute_with_args("UPDATE pgdr.alerts a SET "
									  "acknowledged_at = pg_catalog.clock_timestamp(), "
									  "acknowledged_by = $2, "
									  "updated_at = pg_catalog.clock_timestamp() "
									  "WHERE a.id OPERATOR(pg_catalog.=) $1 "
									  "RETURNING a.acknowledged_at, pg_catalog.to_jsonb(a.*)",
									  2, argtypes, values, NULL, false, 0) != SPI_OK_UPDATE_RETURNING ||
				SPI_processed != 1)
				elog(ERROR, "could not acknowledge pg_dr alert " INT64_FORMAT, id);
			at = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
												   SPI_tuptable->tupdesc, 1, &isnull));
			alertAuditNote("acknowledge", oldRow, alertSpiJsonb(2), by, currentUser);
			alertEventWrite(id, "acknowledged", severity);
			break;
	}
	SPI_finish();
	return at;
}

bool
alertEscalate(int64 id, AlertSeverity target)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(id)};
	Datum		oldRow;
	bool		done;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	oldRow = alertRowJson(id);
	if (SPI_execute_with_args("UPDATE pgdr.alerts a SET "
							  "escalated_at = pg_catalog.clock_timestamp(), "
							  "updated_at = pg_catalog.clock_timestamp() "
							  "WHERE a.id OPERATOR(pg_catalog.=) $1 "
							  "AND a.resolved_at IS NULL AND a.acknowledged_at IS NULL "
							  "AND a.escalated_at IS NULL "
							  "RETURNING pg_catalog.to_jsonb(a.*)",
							  1, argtypes, values, NULL, false, 0) != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "could not escalate pg_dr alert " INT64_FORMAT, id);
	done = SPI_processed == 1;
	if (done)
	{
		alertAuditNote("escalate", oldRow, alertSpiJsonb(1), NULL, NULL);
		alertEventWrite(id, "escalated", target);
	}
	SPI_finish();
	return done;
}
