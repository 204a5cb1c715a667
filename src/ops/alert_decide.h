/*-------------------------------------------------------------------------
 * alert_decide.h
 *	  The decisions of the alerts facility, as pure functions: what a raise,
 *	  a resolve or an acknowledgement does to the open alert of its source
 *	  and key; when an alert nobody acknowledged escalates, and to which
 *	  severity; which webhook an event goes to; how long a failed POST
 *	  waits before the next attempt and when it is given up; how much one
 *	  round of the webhook duty sends; a webhook URL as logs may show it.
 *	  Compiled into the CLI build too, for the unit tests
 *	  (test/unit/test_alert_decide.c); alert.c and alert_duty.c carry the
 *	  decisions out.
 *-------------------------------------------------------------------------
 */
#ifndef DR_ALERT_DECIDE_H
#define DR_ALERT_DECIDE_H

#include "datatype/timestamp.h"

typedef enum AlertSeverity
{
	ALERT_INFO = 0,
	ALERT_WARNING,
	ALERT_CRITICAL
} AlertSeverity;

#define ALERT_SEVERITY_COUNT	3

/* "info", "warning", "critical" */
extern const char *alertSeverityName(AlertSeverity severity);
/* false when name is none of them */
extern bool alertSeverityParse(const char *name, AlertSeverity *severity);

/*
 * The parts that raise alerts (pgdr.alerts.source): archive, backup,
 * repository, verify, audit, ha, schedule, objectives.
 */
extern bool alertSourceValid(const char *source);

/* The open (not resolved) alert of a source and key, as the table has it. */
typedef struct AlertOpen
{
	bool		exists;
	AlertSeverity severity;
	bool		acknowledged;
} AlertOpen;

typedef enum AlertAction
{
	ALERT_ACTION_NONE,			/* nothing to change */
	ALERT_ACTION_INSERT,		/* a new alert: raised */
	ALERT_ACTION_UPDATE,		/* same alert, new message and value; quiet */
	ALERT_ACTION_RAISE_AGAIN,	/* same alert, severity went up: raised again
								 * (acknowledgement and escalation cleared) */
	ALERT_ACTION_RESOLVE		/* closed */
} AlertAction;

/* A raise of severity against what is open. */
extern AlertAction alertDecideRaise(const AlertOpen *open,
									AlertSeverity severity);
/* A resolve against what is open. */
extern AlertAction alertDecideResolve(const AlertOpen *open);

typedef enum AlertAckResult
{
	ALERT_ACK_DONE,				/* acknowledged now */
	ALERT_ACK_UNKNOWN,			/* no alert has this id */
	ALERT_ACK_RESOLVED,			/* it is resolved already */
	ALERT_ACK_ALREADY			/* acknowledged before: nothing changes */
} AlertAckResult;

extern AlertAckResult alertDecideAck(bool exists, bool resolved,
									 bool acknowledged);

/* An alert as escalation sees it. */
typedef struct AlertEscalateInput
{
	TimestampTz now;
	AlertSeverity severity;
	TimestampTz raisedAt;
	bool		acknowledged;
	bool		resolved;
	bool		escalated;		/* already escalated once */
	int			escalateAfterS; /* alert_escalate_after; 0: never */
} AlertEscalateInput;

/*
 * Whether the alert escalates now, and to which severity (the next one
 * up): open, not acknowledged, not escalated before, below critical (the
 * top has nowhere to go), escalateAfterS set and passed since raisedAt.
 * *when is when it will be due (0 when it never will), for the duty's
 * next due time.
 */
extern bool alertEscalationDue(const AlertEscalateInput *in,
							   AlertSeverity *target, TimestampTz *when);

/* The configured webhooks (common/config.h), NULL when unset. */
typedef struct AlertWebhooks
{
	const char *all;			/* alert_webhook_url */
	const char *warning;		/* alert_webhook_url_warning */
	const char *critical;		/* alert_webhook_url_critical */
} AlertWebhooks;

/*
 * The URL an event of this severity is POSTed to: the severity's own
 * webhook when set, else alert_webhook_url, else NULL (not sent).
 */
extern const char *alertWebhookFor(const AlertWebhooks *hooks,
								   AlertSeverity severity);

/* Attempts of one event before it is given up (state 'failed'). */
#define ALERT_WEBHOOK_ATTEMPTS_MAX	10
/* Backoff between attempts: doubled from the base, capped. */
#define ALERT_WEBHOOK_RETRY_BASE_MS	(2 * 1000)
#define ALERT_WEBHOOK_RETRY_MAX_MS	(10 * 60 * 1000)

/*
 * After attempts failed attempts (1 or more): how long until the next
 * one, or -1 when the event is given up.
 */
extern int64 alertWebhookRetryDelayMs(int attempts);

/* One round of the webhook duty sends at most this many events ... */
#define ALERT_WEBHOOK_ROUND_MAX		20
/* ... and starts no new one past this much time into the round. */
#define ALERT_WEBHOOK_ROUND_BUDGET_MS	(5 * 1000)

/*
 * Whether the round sends another event: fewer than ALERT_WEBHOOK_ROUND_MAX
 * sent, no failure in this round (a receiver that is down or hanging costs
 * one timeout per round, not one per event), and within the budget.
 */
extern bool alertWebhookRoundGoOn(int sent, bool failed, int64 elapsedMs);

/*
 * A webhook URL as a log line may show it (palloc'd): scheme, host, port
 * and path; the userinfo ("user:token@") and the query and fragment,
 * which may carry a token, replaced by "REDACTED".
 */
extern char *alertUrlForLog(const char *url);

#endif							/* DR_ALERT_DECIDE_H */
