/*-------------------------------------------------------------------------
 * test_alert_decide.c
 *	  Unit tests of the alerts facility's decisions (src/ops/alert_decide.c).
 *
 * Covers: severity names both ways and a bad one; the sources a part may
 * raise from; a raise with nothing open (insert), with the same or a
 * milder severity open (quiet update), with a milder one open (raised
 * again), acknowledged or not; a resolve with and without an open alert;
 * an acknowledgement of an unknown, a resolved, an acknowledged and an
 * open alert; escalation (not before the delay, exactly at it, after it,
 * to the next severity, never from critical, never when acknowledged,
 * resolved, escalated already or with the delay off, and when it will be
 * due); the webhook of each severity with and without the per-severity
 * URLs; the retry backoff (doubling, capped, given up at the last
 * attempt); the bound of a round (count, a failure, time); URLs for logs
 * (userinfo and query redacted, path and port kept).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "ops/alert_decide.h"
#include "tap.h"

#define SEC		((int64) 1000000)
#define NOW		((TimestampTz) 849000000 * SEC)

static void
testNames(void)
{
	AlertSeverity s = ALERT_INFO;

	is_str(alertSeverityName(ALERT_CRITICAL), "critical", "critical's name");
	is_str(alertSeverityName(ALERT_WARNING), "warning", "warning's name");
	is_str(alertSeverityName(ALERT_INFO), "info", "info's name");
	ok(alertSeverityParse("warning", &s) && s == ALERT_WARNING, "warning parsed");
	ok(alertSeverityParse("critical", &s) && s == ALERT_CRITICAL, "critical parsed");
	ok(!alertSeverityParse("fatal", &s), "fatal is no severity");
	ok(!alertSeverityParse("Critical", &s), "names are lower case");
	ok(!alertSeverityParse(NULL, &s), "NULL is no severity");

	ok(alertSourceValid("archive") && alertSourceValid("backup") &&
	   alertSourceValid("repository") && alertSourceValid("verify") &&
	   alertSourceValid("audit") && alertSourceValid("ha") &&
	   alertSourceValid("schedule") && alertSourceValid("objectives"),
	   "every part's source is valid");
	ok(!alertSourceValid("restore") && !alertSourceValid("") &&
	   !alertSourceValid(NULL), "other sources are not");
}

static void
testTransitions(void)
{
	AlertOpen	none = {.exists = false};
	AlertOpen	warning = {.exists = true, .severity = ALERT_WARNING};
	AlertOpen	acked = {.exists = true, .severity = ALERT_WARNING, .acknowledged = true};

	is_int(alertDecideRaise(&none, ALERT_WARNING), ALERT_ACTION_INSERT,
		   "raise with nothing open: a new alert");
	is_int(alertDecideRaise(&warning, ALERT_WARNING), ALERT_ACTION_UPDATE,
		   "raise again at the same severity: a quiet update");
	is_int(alertDecideRaise(&warning, ALERT_INFO), ALERT_ACTION_UPDATE,
		   "raise again milder: a quiet update");
	is_int(alertDecideRaise(&warning, ALERT_CRITICAL), ALERT_ACTION_RAISE_AGAIN,
		   "raise again worse: raised again");
	is_int(alertDecideRaise(&acked, ALERT_WARNING), ALERT_ACTION_UPDATE,
		   "acknowledged, same severity: a quiet update (stays acknowledged)");
	is_int(alertDecideRaise(&acked, ALERT_CRITICAL), ALERT_ACTION_RAISE_AGAIN,
		   "acknowledged, worse: raised again");

	is_int(alertDecideResolve(&warning), ALERT_ACTION_RESOLVE, "resolve an open alert");
	is_int(alertDecideResolve(&acked), ALERT_ACTION_RESOLVE, "resolve an acknowledged alert");
	is_int(alertDecideResolve(&none), ALERT_ACTION_NONE, "resolve with nothing open: nothing");

	is_int(alertDecideAck(false, false, false), ALERT_ACK_UNKNOWN, "ack: unknown id");
	is_int(alertDecideAck(true, true, false), ALERT_ACK_RESOLVED, "ack: resolved already");
	is_int(alertDecideAck(true, true, true), ALERT_ACK_RESOLVED,
		   "ack: resolved after an ack is still resolved");
	is_int(alertDecideAck(true, false, true), ALERT_ACK_ALREADY, "ack: acknowledged before");
	is_int(alertDecideAck(true, false, false), ALERT_ACK_DONE, "ack: open, acknowledged now");
}

static void
testEscalation(void)
{
	AlertEscalateInput in;
	AlertSeverity target = ALERT_INFO;
	TimestampTz when = -1;

	memset(&in, 0, sizeof(in));
	in.now = NOW;
	in.severity = ALERT_WARNING;
	in.raisedAt = NOW - 59 * SEC;
	in.escalateAfterS = 60;

	ok(!alertEscalationDue(&in, &target, &when), "59 s of 60: not yet");
	is_int(when, NOW + 1 * SEC, "... due in a second");
	in.raisedAt = NOW - 60 * SEC;
	ok(alertEscalationDue(&in, &target, &when), "exactly 60 s: escalates");
	is_int(target, ALERT_CRITICAL, "... from warning to critical");
	in.raisedAt = NOW - 3600 * SEC;
	in.severity = ALERT_INFO;
	ok(alertEscalationDue(&in, &target, &when) && target == ALERT_WARNING,
	   "info escalates to warning");

	in.severity = ALERT_CRITICAL;
	ok(!alertEscalationDue(&in, &target, &when), "critical has nowhere to go");
	is_int(when, 0, "... and never will");
	in.severity = ALERT_WARNING;
	in.acknowledged = true;
	ok(!alertEscalationDue(&in, &target, &when), "acknowledged: no escalation");
	in.acknowledged = false;
	in.resolved = true;
	ok(!alertEscalationDue(&in, &target, &when), "resolved: no escalation");
	in.resolved = false;
	in.escalated = true;
	ok(!alertEscalationDue(&in, &target, &when), "escalated already: not twice");
	in.escalated = false;
	in.escalateAfterS = 0;
	ok(!alertEscalationDue(&in, &target, &when), "delay off: never");
	is_int(when, 0, "... and never will");
}

static void
testWebhooks(void)
{
	AlertWebhooks all = {.all = "http://a/"};
	AlertWebhooks each = {.all = "http://a/", .warning = "http://w/",
	.critical = "http://c/"};
	AlertWebhooks critOnly = {.critical = "http://c/"};

	is_str(alertWebhookFor(&all, ALERT_INFO), "http://a/", "info: the general URL");
	is_str(alertWebhookFor(&all, ALERT_CRITICAL), "http://a/",
		   "critical without its own: the general URL");
	is_str(alertWebhookFor(&each, ALERT_WARNING), "http://w/", "warning: its own");
	is_str(alertWebhookFor(&each, ALERT_CRITICAL), "http://c/", "critical: its own");
	is_str(alertWebhookFor(&each, ALERT_INFO), "http://a/", "info: the general one");
	ok(alertWebhookFor(&critOnly, ALERT_WARNING) == NULL,
	   "warning with only a critical URL: not sent");
	is_str(alertWebhookFor(&critOnly, ALERT_CRITICAL), "http://c/",
		   "critical with only a critical URL: sent");

	is_int(alertWebhookRetryDelayMs(1), 2000, "first retry after 2 s");
	is_int(alertWebhookRetryDelayMs(2), 4000, "then 4 s");
	is_int(alertWebhookRetryDelayMs(3), 8000, "then 8 s");
	is_int(alertWebhookRetryDelayMs(ALERT_WEBHOOK_ATTEMPTS_MAX - 1), 512000,
		   "the last retry after 512 s");
	is_int(alertWebhookRetryDelayMs(ALERT_WEBHOOK_ATTEMPTS_MAX), -1,
		   "given up after the last attempt");
	ok(alertWebhookRetryDelayMs(9) <= ALERT_WEBHOOK_RETRY_MAX_MS, "capped");

	ok(alertWebhookRoundGoOn(0, false, 0), "a round starts");
	ok(!alertWebhookRoundGoOn(ALERT_WEBHOOK_ROUND_MAX, false, 0),
	   "stops at its count");
	ok(!alertWebhookRoundGoOn(1, true, 10), "stops at a failure");
	ok(!alertWebhookRoundGoOn(1, false, ALERT_WEBHOOK_ROUND_BUDGET_MS),
	   "stops at its time budget");
}

static void
testUrlForLog(void)
{
	is_str(alertUrlForLog("https://hooks.example.com/services/T0/B0?token=abc"),
		   "https://hooks.example.com/services/T0/B0?REDACTED",
		   "query redacted, path kept");
	is_str(alertUrlForLog("http://user:s3cret@127.0.0.1:8080/hook"),
		   "http://REDACTED@127.0.0.1:8080/hook", "userinfo redacted, port kept");
	is_str(alertUrlForLog("http://127.0.0.1:9/a#frag"),
		   "http://127.0.0.1:9/a?REDACTED", "fragment redacted");
	is_str(alertUrlForLog("http://host"), "http://host", "bare host unchanged");
	is_str(alertUrlForLog("http://host/p@th"), "http://host/p@th",
		   "an @ in the path is not userinfo");
}

int
main(void)
{
	testNames();
	testTransitions();
	testEscalation();
	testWebhooks();
	testUrlForLog();
	return tapDone();
}
