/*-------------------------------------------------------------------------
 * alert_internal.h
 *	  Shared by the files of the alerts facility (alert.c: the writes;
 *	  alert_queue.c: the shared-memory queue; alert_duty.c: the worker's
 *	  duty).  Parts go through alert.h.
 *-------------------------------------------------------------------------
 */
#ifndef DR_ALERT_INTERNAL_H
#define DR_ALERT_INTERNAL_H

#include "storage/latch.h"

#include "ops/alert.h"

/* A raise or a resolve, in fixed fields (what the queue holds). */
typedef struct AlertRequest
{
	bool		resolve;
	AlertSeverity severity;
	char		source[ALERT_SOURCE_MAX];
	char		key[ALERT_KEY_MAX];
	char		message[ALERT_MESSAGE_MAX];
	bool		hasValue;
	double		value;
	bool		hasThreshold;
	double		threshold;
} AlertRequest;

/* Fill a request from what a part handed in (text cut to the fields). */
extern void alertRequestRaise(AlertRequest *request, const AlertRaise *raise);
extern void alertRequestResolve(AlertRequest *request, const char *source,
								const char *key);

/*
 * alert.c: carry a request out, in the current transaction, as the owner
 * (the worker is).  Returns the alert's id (0: nothing was open to
 * resolve).
 */
extern int64 alertApply(const AlertRequest *request);

/*
 * alert.c: escalate an open, unacknowledged alert to target (the worker):
 * escalated_at set, an 'escalated' event for target's webhook, NOTIFY,
 * audited.  False when it changed meanwhile (acknowledged, resolved).
 */
extern bool alertEscalate(int64 id, AlertSeverity target);

/* alert_queue.c: the queue in shared memory. */
#define ALERT_QUEUE_SIZE		64

/* Put a request in (the latest per source and key); false when full. */
extern bool alertQueuePut(const AlertRequest *request);
/* Put a request back after a failed write, unless a newer one came. */
extern void alertQueuePutBack(const AlertRequest *request);
/* Drop what is queued about the request's source and key (it is older). */
extern void alertQueueDiscard(const AlertRequest *request);
/* Take every queued request, oldest first; returns how many (<= max). */
extern int	alertQueueTake(AlertRequest *requests, int max);
/* Something to do: requests queued, or events committed by a backend. */
extern bool alertQueueBusy(void);
/* Clear the "events committed" flag; whether it was set. */
extern bool alertQueuePokedTake(void);
/* A backend committed events: tell the worker (at commit). */
extern void alertQueuePoke(void);
/* The worker: this is its latch (NULL when it stops). */
extern void alertQueueWorkerSet(Latch *latch);
/* Requests dropped because the queue was full, since the server started. */
extern uint64 alertQueueDropped(void);

#endif							/* DR_ALERT_INTERNAL_H */
