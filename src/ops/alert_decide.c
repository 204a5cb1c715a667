/*-------------------------------------------------------------------------
 * alert_decide.c
 *	  The alerts facility's decisions, pure functions (alert_decide.h says
 *	  which); no I/O, no clock, no server.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "lib/stringinfo.h"

#include "ops/alert_decide.h"

static const char *const alertSeverityNames[ALERT_SEVERITY_COUNT] = {
	[ALERT_INFO] = "info",
	[ALERT_WARNING] = "warning",
	[ALERT_CRITICAL] = "critical",
};

static const char *const alertSources[] = {
	"archive", "backup", "repository", "verify", "audit", "ha", "schedule",
	"objectives", NULL
};

const char *
alertSeverityName(AlertSeverity severity)
{
	if ((int) severity < 0 || (int) severity >= ALERT_SEVERITY_COUNT)
		return "unknown";
	return alertSeverityNames[severity];
}

bool
alertSeverityParse(const char *name, AlertSeverity *severity)
{
	for (int s = 0; s < ALERT_SEVERITY_COUNT; s++)
	{
		if (name != NULL && strcmp(name, alertSeverityNames[s]) == 0)
		{
			*severity = (AlertSeverity) s;
			return true;
		}
	}
	return false;
}

bool
alertSourceValid(const char *source)
{
	for (int i = 0; source != NULL && alertSources[i] != NULL; i++)
		if (strcmp(source, alertSources[i]) == 0)
			return true;
	return false;
}

AlertAction
alertDecideRaise(const AlertOpen *open, AlertSeverity severity)
{
	if (!open->exists)
		return ALERT_ACTION_INSERT;
	/* worse than what was said: everybody hears it again */
	if (severity > open->severity)
		return ALERT_ACTION_RAISE_AGAIN;
	/* the same or milder: the row follows the facts, quietly */
	return ALERT_ACTION_UPDATE;
}

AlertAction
alertDecideResolve(const AlertOpen *open)
{
	return open->exists ? ALERT_ACTION_RESOLVE : ALERT_ACTION_NONE;
}

AlertAckResult
alertDecideAck(bool exists, bool resolved, bool acknowledged)
{
	if (!exists)
		return ALERT_ACK_UNKNOWN;
	if (resolved)
		return ALERT_ACK_RESOLVED;
	if (acknowledged)
		return ALERT_ACK_ALREADY;
	return ALERT_ACK_DONE;
}

bool
alertEscalationDue(const AlertEscalateInput *in, AlertSeverity *target,
				   TimestampTz *when)
{
	TimestampTz due;

	*when = 0;
	if (in->escalateAfterS <= 0 || in->resolved || in->acknowledged ||
		in->escalated || in->severity >= ALERT_CRITICAL)
		return false;
	due = in->raisedAt + (TimestampTz) in->escalateAfterS * USECS_PER_SEC;
	*when = due;
	if (in->now < due)
		return false;
	*target = (AlertSeverity) (in->severity + 1);
	return true;
}

const char *
alertWebhookFor(const AlertWebhooks *hooks, AlertSeverity severity)
{
	if (severity == ALERT_CRITICAL && hooks->critical != NULL)
		return hooks->critical;
	if (severity == ALERT_WARNING && hooks->warning != NULL)
		return hooks->warning;
	return hooks->all;
}

int64
alertWebhookRetryDelayMs(int attempts)
{
	int64		delay = ALERT_WEBHOOK_RETRY_BASE_MS;

	if (attempts >= ALERT_WEBHOOK_ATTEMPTS_MAX)
		return -1;
	for (int i = 1; i < attempts && delay < ALERT_WEBHOOK_RETRY_MAX_MS; i++)
		delay *= 2;
	return Min(delay, ALERT_WEBHOOK_RETRY_MAX_MS);
}

bool
alertWebhookRoundGoOn(int sent, bool failed, int64 elapsedMs)
{
	return !failed && sent < ALERT_WEBHOOK_ROUND_MAX &&
		elapsedMs < ALERT_WEBHOOK_ROUND_BUDGET_MS;
}

char *
alertUrlForLog(const char *url)
{
	StringInfoData buf;
	const char *rest = url;
	const char *scheme = strstr(url, "://");
	const char *authorityEnd;
	const char *at;
	const char *pathEnd;

	initStringInfo(&buf);
	if (scheme != NULL)
	{
		appendBinaryStringInfo(&buf, url, scheme + 3 - url);
		rest = scheme + 3;
	}
	/* the authority ends at the first '/', '?' or '#' */
	authorityEnd = rest + strcspn(rest, "/?#");
	at = NULL;
	for (const char *c = rest; c < authorityEnd; c++)
		if (*c == '@')
			at = c;
	if (at != NULL)
	{
		appendStringInfoString(&buf, "REDACTED@");
		rest = at + 1;
	}
	appendBinaryStringInfo(&buf, rest, authorityEnd - rest);
	rest = authorityEnd;
	pathEnd = rest + strcspn(rest, "?#");
	appendBinaryStringInfo(&buf, rest, pathEnd - rest);
	if (*pathEnd != '\0')
		appendStringInfoString(&buf, "?REDACTED");
	return buf.data;
}
