/*-------------------------------------------------------------------------
 * alert.h
 *	  Alerts: the one facility every part raises through (pgdr.alerts,
 *	  shown by dr_alerts; docs/alerts.md).
 *
 * An alert is about something (its source, the part, and its key, e.g.
 * source "archive", key "archive_failing:repo1").  At most one alert of a
 * source and key is open: raising it again updates its message and value
 * and keeps raised_at (a worse severity raises it again); resolving closes
 * it; the next raise opens a new one.  Every raise, severity rise,
 * acknowledgement, escalation and resolve is
 *	 - a NOTIFY on channel dr_alerts with a JSON payload {"id", "severity",
 *	   "source", "key", "state"} (state: raised, acknowledged, escalated,
 *	   resolved), sent when its transaction commits;
 *	 - audited: a change of "dr_alerts" noted in pgdr.audit_pending in the
 *	   same transaction (ops/audit.h, auditChangeNote), chained by the
 *	   worker;
 *	 - an event of pgdr.alert_events, which the worker's alert duty POSTs
 *	   to the webhook of its severity (alert_duty.c).
 *
 * Which process can write: a table is written only inside a transaction
 * of a process connected to the database, not read-only, not in recovery,
 * and not on its way out through an error.  alertRaise and alertResolve
 * write at once when this process can (a backend in its transaction, as
 * the extension owner with the pinned search_path; the worker in a
 * dutyXactRun step); otherwise -- the archiver (not connected), a
 * failing operation's PG_CATCH, a read-only transaction -- they queue the
 * request in shared memory (alertRaiseQueued, alertResolveQueued) and the
 * worker's alert duty writes it.  The queue keeps the latest request per
 * source and key (a resolve queued after a raise replaces it), and drops
 * a request when full (logged, counted).
 *-------------------------------------------------------------------------
 */
#ifndef DR_ALERT_H
#define DR_ALERT_H

#include "ops/alert_decide.h"

/* Bounds of what a part hands in (longer text is cut). */
#define ALERT_SOURCE_MAX		16
#define ALERT_KEY_MAX			128
#define ALERT_MESSAGE_MAX		1024

/* A raise, as a part asks it. */
typedef struct AlertRaise
{
	const char *source;			/* alertSourceValid */
	const char *key;			/* what it is about; not empty */
	AlertSeverity severity;
	const char *message;		/* for people; no secret in it */
	bool		hasValue;		/* value and threshold are set */
	double		value;
	bool		hasThreshold;
	double		threshold;
} AlertRaise;

/* Whether this process can write pgdr.alerts now (see above). */
extern bool alertCanWrite(void);

/*
 * Raise or update (returns the alert's id; 0 when queued) / resolve.
 * Written now when alertCanWrite(), as the extension owner: the caller
 * switched (api: apiAsOwnerBegin) or is the worker; queued otherwise.
 */
extern int64 alertRaise(const AlertRaise *raise);
extern void alertResolve(const char *source, const char *key);

/*
 * Always queued for the worker; callable from any process, at any time,
 * never failing: a request with a bad source or no key (a part's bug) is
 * logged and dropped.
 */
extern void alertRaiseQueued(const AlertRaise *raise);
extern void alertResolveQueued(const char *source, const char *key);

/*
 * dr_alert_ack(id): acknowledge the alert (it escalates no more).  ERROR
 * 42704 for an unknown id, 55000 for a resolved alert; a NOTICE and no
 * change when it was acknowledged before.  by: the user who acknowledged
 * (the session user); the users for the audit record.  Returns when it
 * was acknowledged.  Run as the extension owner, in a transaction that
 * can write.
 */
extern TimestampTz alertAck(int64 id, const char *by, const char *currentUser);

/* Shared memory (the module's shmem hooks) and the worker's duty. */
#define ALERT_LWLOCK_TRANCHE	"pg_dr alerts"
extern void alertShmemRequest(void);
extern void alertShmemInit(void);
extern void alertDutiesRegister(void);

#endif							/* DR_ALERT_H */
