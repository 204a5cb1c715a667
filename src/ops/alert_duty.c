/*-------------------------------------------------------------------------
 * alert_duty.c
 *	  The worker's "alerts" duty: write what other processes queued (the
 *	  archiver, failing operations), escalate what nobody acknowledged,
 *	  and POST each alert event to its webhook.
 *
 * A round, each step in a transaction of its own (dutyXactRun):
 *	 1. the queued raises and resolves, one transaction each (a failed one
 *		goes back to the queue unless a newer one came);
 *	 2. escalation: every open alert nobody acknowledged within
 *		alert_escalate_after, below critical, escalates once to the next
 *		severity (alertEscalationDue), which sends it to that severity's
 *		webhook;
 *	 3. webhooks: the pending events whose time came, oldest first, read
 *		in one transaction; each POSTed outside any transaction, with
 *		alert_webhook_timeout bounding the whole request and no retry
 *		inside it; the results written in one more transaction.  A failed
 *		POST waits (alertWebhookRetryDelayMs: 2 s, doubling, capped) and is
 *		tried again by a later round, up to ALERT_WEBHOOK_ATTEMPTS_MAX
 *		attempts, then marked failed.  A round stops at its first failure
 *		and past ALERT_WEBHOOK_ROUND_BUDGET_MS (alertWebhookRoundGoOn), so
 *		a receiver that hangs costs the worker one timeout per round and
 *		the other duties run in between.  An event whose severity has no
 *		webhook is marked skipped.
 * Messages name a webhook by alertUrlForLog: no userinfo, no query.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "common/config.h"
#include "ops/alert_internal.h"
#include "ops/duty.h"
#include "pg_dr.h"
#include "storage/http/http.h"

/* Without anything queued or due, the duty looks again after this long. */
#define ALERT_POLL_MS			(10 * 1000)
/* After a failed round, not again before this long. */
#define ALERT_RETRY_MS			(5 * 1000)
/* alert_webhook_timeout when unset, seconds */
#define ALERT_WEBHOOK_TIMEOUT_DEFAULT	10
/* sent, failed and skipped events are kept this long */
#define ALERT_EVENTS_KEEP_DAYS	30

static TimestampTz alertNextAt = 0;
static TimestampTz alertLastCleanup = 0;
static MemoryContext alertContext = NULL;
static char alertConfigError[256] = "";
static bool alertInstalled = false;	/* seen at the last run */

/* One event to POST, copied out of its transaction. */
typedef struct AlertSend
{
	int64		id;
	AlertSeverity severity;
	char	   *body;
	int			attempts;		/* made before this one */
	/* the outcome */
	const char *state;			/* "sent", "pending", "failed", "skipped" */
	int64		retryMs;
	char	   *error;
} AlertSend;

typedef struct AlertRound
{
	int			count;
	AlertSend	sends[ALERT_WEBHOOK_ROUND_MAX];
	TimestampTz nextWebhook;	/* earliest pending attempt; 0: none */
	bool		failed;			/* a POST of this round failed */
	int			escalateAfterS;
	TimestampTz nextEscalation; /* 0: none */
	const AlertRequest *request;
} AlertRound;

/* The worker stops at the next safe point of a POST when told to exit. */
static bool
alertCancelled(void *arg)
{
	return ProcDiePending;
}

static const DrHost alertHost = {.cancelled = alertCancelled};

/* 1. One queued request, in its transaction. */
static void
alertApplyStep(void *arg)
{
	(void) alertApply((const AlertRequest *) arg);
}

static bool
alertDrain(void)
{
	AlertRequest *requests = palloc(sizeof(AlertRequest) * ALERT_QUEUE_SIZE);
	int			count = alertQueueTake(requests, ALERT_QUEUE_SIZE);
	bool		ok = true;

	for (int i = 0; i < count; i++)
	{
		if (!dutyXactRun("pg_dr: writing an alert", alertApplyStep, &requests[i]))
		{
			alertQueuePutBack(&requests[i]);
			ok = false;
		}
	}
	return ok;
}

/* 2. Escalation, in one transaction. */
static void
alertEscalateStep(void *arg)
{
	AlertRound *round = arg;
	TimestampTz now = GetCurrentTimestamp();
	uint64		rows;
	SPITupleTable *tuptable;

	round->nextEscalation = 0;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT a.id, a.severity, a.raised_at FROM pgdr.alerts a "
					"WHERE a.resolved_at IS NULL AND a.acknowledged_at IS NULL "
					"AND a.escalated_at IS NULL "
					"AND a.severity OPERATOR(pg_catalog.<>) 'critical' "
					"ORDER BY a.raised_at LIMIT 1000", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the open pg_dr alerts");
	rows = SPI_processed;
	tuptable = SPI_tuptable;
	for (uint64 i = 0; i < rows; i++)
	{
		bool		isnull;
		AlertEscalateInput in;
		AlertSeverity target;
		TimestampTz when;
		int64		id;

		memset(&in, 0, sizeof(in));
		in.now = now;
		id = DatumGetInt64(SPI_getbinval(tuptable->vals[i], tuptable->tupdesc, 1, &isnull));
		if (!alertSeverityParse(SPI_getvalue(tuptable->vals[i], tuptable->tupdesc, 2),
								&in.severity))
			continue;
		in.raisedAt = DatumGetTimestampTz(SPI_getbinval(tuptable->vals[i],
														tuptable->tupdesc, 3, &isnull));
		in.escalateAfterS = round->escalateAfterS;
		if (alertEscalationDue(&in, &target, &when))
		{
			if (alertEscalate(id, target))
				ereport(LOG,
						(errmsg("pg_dr alert " INT64_FORMAT " was not acknowledged within %d s: escalated from %s to %s",
								id, round->escalateAfterS,
								alertSeverityName(in.severity), alertSeverityName(target))));
		}
		else if (when != 0 &&
				 (round->nextEscalation == 0 || when < round->nextEscalation))
			round->nextEscalation = when;
	}
	SPI_finish();
}

/* 3a. The events to send now, copied into the round. */
static void
alertWebhookPickStep(void *arg)
{
	AlertRound *round = arg;

	round->count = 0;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT e.id, e.severity, CAST(e.payload OPERATOR(pg_catalog.||) "
					"pg_catalog.jsonb_build_object('event_id', e.id, 'attempt', "
					"e.attempts OPERATOR(pg_catalog.+) 1) AS pg_catalog.text), e.attempts "
					"FROM pgdr.alert_events e "
					"WHERE e.state OPERATOR(pg_catalog.=) 'pending' "
					"AND e.next_attempt_at OPERATOR(pg_catalog.<=) pg_catalog.clock_timestamp() "
					"ORDER BY e.id LIMIT " CppAsString2(ALERT_WEBHOOK_ROUND_MAX),
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the pending pg_dr alert events");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	row = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		AlertSend  *send = &round->sends[round->count++];
		bool		isnull;
		char	   *severity = SPI_getvalue(row, desc, 2);
		char	   *body = SPI_getvalue(row, desc, 3);
		/* the duty's context: the transaction's goes at its commit */
		MemoryContext spi = MemoryContextSwitchTo(alertContext);

		memset(send, 0, sizeof(*send));
		send->id = DatumGetInt64(SPI_getbinval(row, desc, 1, &isnull));
		if (!alertSeverityParse(severity, &send->severity))
			send->severity = ALERT_CRITICAL;
		send->body = pstrdup(body);
		send->attempts = DatumGetInt32(SPI_getbinval(row, desc, 4, &isnull));
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();
}

/* 3c. The outcomes, and when the next pending attempt is. */
static void
alertWebhookRecordStep(void *arg)
{
	AlertRound *round = arg;
	Oid			argtypes[5] = {INT8OID, TEXTOID, INT4OID, INT8OID, TEXTOID};
	bool		isnull;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	for (int i = 0; i < round->count; i++)
	{
		AlertSend  *send = &round->sends[i];
		Datum		values[5];
		char		nulls[5] = {' ', ' ', ' ', ' ', ' '};

		if (send->state == NULL)
			continue;			/* not tried in this round */
		values[0] = Int64GetDatum(send->id);
		values[1] = CStringGetTextDatum(send->state);
		values[2] = Int32GetDatum(strcmp(send->state, "skipped") == 0 ?
								  send->attempts : send->attempts + 1);
		values[3] = Int64GetDatum(send->retryMs);
		if (send->error != NULL)
			values[4] = CStringGetTextDatum(send->error);
		else
			nulls[4] = 'n';
		if (SPI_execute_with_args("UPDATE pgdr.alert_events e SET state = $2, attempts = $3, "
								  "next_attempt_at = pg_catalog.clock_timestamp() "
								  "OPERATOR(pg_catalog.+) pg_catalog.make_interval("
								  "secs => CAST($4 AS pg_catalog.float8) OPERATOR(pg_catalog./) 1000), "
								  "done_at = CASE WHEN $2 OPERATOR(pg_catalog.=) 'pending' THEN NULL "
								  "ELSE pg_catalog.clock_timestamp() END, "
								  "last_error = $5 "
								  "WHERE e.id OPERATOR(pg_catalog.=) $1",
								  5, argtypes, values, nulls, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not record the webhook of pg_dr alert event " INT64_FORMAT,
				 send->id);
	}
	if (SPI_execute("SELECT pg_catalog.min(e.next_attempt_at) FROM pgdr.alert_events e "
					"WHERE e.state OPERATOR(pg_catalog.=) 'pending'", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the pending pg_dr alert events");
	round->nextWebhook = 0;
	if (SPI_processed == 1)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			round->nextWebhook = DatumGetTimestampTz(d);
	}
	SPI_finish();
}

/* Old delivered events go (once an hour). */
static void
alertCleanupStep(void *arg)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("DELETE FROM pgdr.alert_events e "
					"WHERE e.state OPERATOR(pg_catalog.<>) 'pending' "
					"AND e.done_at OPERATOR(pg_catalog.<) (pg_catalog.clock_timestamp() "
					"OPERATOR(pg_catalog.-) pg_catalog.make_interval(days => "
					CppAsString2(ALERT_EVENTS_KEEP_DAYS) "))", false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not remove old pg_dr alert events");
	SPI_finish();
}

/* A message of the HTTP layer with the webhook's URL shown for logs. */
static char *
alertMessageRedact(const char *message, const char *url)
{
	char	   *redacted = httpRedactUrl(url);
	char	   *shown = alertUrlForLog(url);
	char	   *hit = strstr(message, redacted);
	char	   *result;

	if (hit == NULL)
		hit = strstr(message, url);
	if (hit == NULL)
		return pstrdup(message);
	result = psprintf("%.*s%s%s", (int) (hit - message), message, shown,
					  hit + strlen(hit == strstr(message, redacted) ? redacted : url));
	return result;
}

/* 3b. POST one event; fills send's outcome.  False when it failed. */
static bool
alertWebhookPost(HttpClient **client, int timeoutS, const char *url,
				 AlertSend *send)
{
	HttpRequest request;
	HttpResponse response;
	HttpHeaders headers;
	DrError		err;
	bool		ok;
	int64		retryMs;

	drErrorClear(&err);
	if (*client == NULL)
	{
		HttpClientParam param;

		memset(&param, 0, sizeof(param));
		param.service = "webhook";
		param.connectTimeoutMs = timeoutS * 1000;
		param.totalTimeoutMs = timeoutS * 1000;
		/* retried by later rounds, with backoff, not while the worker waits */
		param.retry.maxAttempts = 1;
		param.host = &alertHost;
		*client = httpClientNew(&param, &err);
		if (*client == NULL)
		{
			send->error = pstrdup(err.message);
			send->state = "pending";
			send->retryMs = alertWebhookRetryDelayMs(send->attempts + 1);
			if (send->retryMs < 0)
				send->state = "failed";
			return false;
		}
	}

	httpHeadersInit(&headers);
	httpHeadersAdd(&headers, "Content-Type", "application/json");
	httpHeadersAdd(&headers, "User-Agent", "pg_dr");
	memset(&request, 0, sizeof(request));
	memset(&response, 0, sizeof(response));
	request.method = "POST";
	request.url = url;
	request.headers = headers.lines;
	request.body = send->body;
	request.bodyLen = strlen(send->body);
	request.responseMax = 64 * 1024;

	ok = httpRequest(*client, &request, &response, &err);
	if (ok && response.status >= 200 && response.status < 300)
	{
		send->state = "sent";
		httpResponseFree(&response);
		httpHeadersFree(&headers);
		return true;
	}
	if (ok)
		send->error = psprintf("webhook POST \"%s\" answered HTTP %ld",
							   alertUrlForLog(url), response.status);
	else
		send->error = alertMessageRedact(err.message, url);
	httpResponseFree(&response);
	httpHeadersFree(&headers);

	retryMs = alertWebhookRetryDelayMs(send->attempts + 1);
	send->state = retryMs < 0 ? "failed" : "pending";
	send->retryMs = Max(retryMs, 0);
	if (retryMs < 0)
		ereport(WARNING,
				(errmsg("pg_dr alert event " INT64_FORMAT " not delivered: %s; given up after %d attempts",
						send->id, send->error, send->attempts + 1)));
	else
		ereport(WARNING,
				(errmsg("pg_dr alert event " INT64_FORMAT " not delivered: %s; attempt %d of %d, the next in %d s",
						send->id, send->error, send->attempts + 1,
						ALERT_WEBHOOK_ATTEMPTS_MAX, (int) (retryMs / 1000))));
	/* a cancel is the worker leaving: the event stays pending */
	if (hostCancelled(&alertHost))
		CHECK_FOR_INTERRUPTS();
	return false;
}

static void
alertWebhookRound(AlertRound *round, const AlertWebhooks *hooks, int timeoutS)
{
	HttpClient *client = NULL;
	TimestampTz start = GetCurrentTimestamp();
	int			sent = 0;
	bool		failed = false;

	if (!dutyXactRun("pg_dr: reading alert events", alertWebhookPickStep, round))
		return;
	for (int i = 0; i < round->count; i++)
	{
		AlertSend  *send = &round->sends[i];
		const char *url = alertWebhookFor(hooks, send->severity);
		long		secs;
		int			usecs;

		TimestampDifference(start, GetCurrentTimestamp(), &secs, &usecs);
		if (!alertWebhookRoundGoOn(sent, failed, secs * 1000 + usecs / 1000))
			break;
		if (url == NULL)
		{
			send->state = "skipped";
			send->error = psprintf("no webhook for %s alerts is configured",
								   alertSeverityName(send->severity));
			continue;
		}
		pgstat_report_activity(STATE_RUNNING, "pg_dr: sending an alert webhook");
		if (alertWebhookPost(&client, timeoutS, url, send))
			sent++;
		else
			failed = true;
		pgstat_report_activity(STATE_IDLE, NULL);
	}
	if (client != NULL)
		httpClientFree(client);
	round->failed = failed;
	(void) dutyXactRun("pg_dr: recording alert webhooks", alertWebhookRecordStep, round);
}

/* The configuration's alert settings; false (logged once) when it cannot be read. */
static bool
alertConfigRead(AlertWebhooks *hooks, int *timeoutS, int *escalateAfterS)
{
	DrConfig   *config;
	DrError		err;

	memset(hooks, 0, sizeof(*hooks));
	*timeoutS = ALERT_WEBHOOK_TIMEOUT_DEFAULT;
	*escalateAfterS = 0;
	if (drConfigFile == NULL || drConfigFile[0] == '\0')
		return true;
	drErrorClear(&err);
	config = configLoad(drConfigFile, &err);
	if (config == NULL)
	{
		/* said once per different problem, not every round */
		if (strncmp(alertConfigError, err.message, sizeof(alertConfigError) - 1) != 0)
		{
			strlcpy(alertConfigError, err.message, sizeof(alertConfigError));
			ereport(WARNING,
					(errmsg("pg_dr alerts: %s", err.message),
					 err.hint[0] ? errhint("%s", err.hint) : 0,
					 errdetail("Alert webhooks and escalation wait until the configuration is valid; alerts are still recorded.")));
		}
		return false;
	}
	alertConfigError[0] = '\0';
	hooks->all = config->alertWebhookUrl;
	hooks->warning = config->alertWebhookUrlWarning;
	hooks->critical = config->alertWebhookUrlCritical;
	if (config->alertWebhookTimeoutS > 0)
		*timeoutS = config->alertWebhookTimeoutS;
	*escalateAfterS = config->alertEscalateAfterS;
	return true;
}

/* Whether the extension is installed (its tables exist) in this database. */
static void
alertInstalledStep(void *arg)
{
	*(bool *) arg = OidIsValid(get_extension_oid("pg_dr", true));
}

/* The worker leaves: nobody is to wake through its latch any more. */
static void
alertWorkerDetach(int code, Datum arg)
{
	alertQueueWorkerSet(NULL);
}

static TimestampTz
alertDutyNextDue(TimestampTz now, void *arg)
{
	/* before the extension exists, what is queued waits for the poll */
	if (alertInstalled && alertQueueBusy())
		return now;
	return alertNextAt;
}

static bool
alertDutyRun(TimestampTz now, void *arg)
{
	MemoryContext old;
	AlertRound *round;
	AlertWebhooks hooks;
	int			timeoutS;
	bool		ok;
	bool		installed = false;
	TimestampTz next = TimestampTzPlusMilliseconds(now, ALERT_POLL_MS);

	if (alertContext == NULL)
	{
		alertContext = AllocSetContextCreate(TopMemoryContext, "pg_dr alerts",
											 ALLOCSET_DEFAULT_SIZES);
		alertQueueWorkerSet(MyLatch);
		before_shmem_exit(alertWorkerDetach, (Datum) 0);
	}
	old = MemoryContextSwitchTo(alertContext);
	(void) alertQueuePokedTake();

	/* before CREATE EXTENSION: nothing to write into; what is queued waits */
	if (!dutyXactRun(NULL, alertInstalledStep, &installed))
		installed = false;
	alertInstalled = installed;
	if (!installed)
	{
		alertNextAt = TimestampTzPlusMilliseconds(now, ALERT_POLL_MS);
		MemoryContextSwitchTo(old);
		return true;
	}

	ok = alertDrain();

	round = palloc0(sizeof(AlertRound));
	if (alertConfigRead(&hooks, &timeoutS, &round->escalateAfterS))
	{
		if (round->escalateAfterS > 0 &&
			dutyXactRun("pg_dr: escalating alerts", alertEscalateStep, round) &&
			round->nextEscalation != 0)
			next = Min(next, round->nextEscalation);
		alertWebhookRound(round, &hooks, timeoutS);
		if (round->nextWebhook != 0)
		{
			TimestampTz webhook = round->nextWebhook;

			/*
			 * After a failure, the events the round did not reach wait
			 * for the first retry too: the receiver is likely down, and
			 * rounds back to back would each spend a timeout on it.
			 */
			if (round->failed)
				webhook = Max(webhook,
							  TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
														  ALERT_WEBHOOK_RETRY_BASE_MS));
			next = Min(next, webhook);
		}
	}
	if (now - alertLastCleanup >= USECS_PER_HOUR)
	{
		if (dutyXactRun("pg_dr: removing old alert events", alertCleanupStep, NULL))
			alertLastCleanup = now;
	}
	alertNextAt = next;

	MemoryContextSwitchTo(old);
	MemoryContextReset(alertContext);
	return ok;
}

void
alertDutiesRegister(void)
{
	dutyRegister("alerts", alertDutyNextDue, alertDutyRun, NULL, ALERT_RETRY_MS);
}
