/*-------------------------------------------------------------------------
 * duty_schedule.h
 *	  The pg_dr worker's scheduling decision, as a pure function: which of
 *	  the registered duties run in this round, and how long the worker
 *	  sleeps afterwards.  Compiled into the CLI build too, for the unit
 *	  tests (test/unit/test_duty.c); the registry around it is duty.h.
 *
 * Each duty says when it is next due (DUTY_NEVER: not until something
 * changes, e.g. its latch is set).  A duty whose last run failed is not
 * retried before lastRun + retry, whatever it says, so that a duty that
 * keeps failing is retried at its own pace instead of in a busy loop.
 * Due duties run in registration order: it is their priority, and a
 * duty may rely on the ones registered before it having run first.
 *-------------------------------------------------------------------------
 */
#ifndef DR_DUTY_SCHEDULE_H
#define DR_DUTY_SCHEDULE_H

#include "datatype/timestamp.h"

/* most duties the worker holds */
#define DUTY_MAX				16

/* "not due until something changes" */
#define DUTY_NEVER				PG_INT64_MAX

/* One duty as the decision sees it; times in microseconds (TimestampTz). */
typedef struct DutySlot
{
	TimestampTz nextDue;		/* what the duty says, or DUTY_NEVER */
	TimestampTz lastRun;		/* start of its last run; 0 = never ran */
	bool		lastFailed;		/* its last run failed */
	int64		retryMs;		/* after a failure, not again before this */
} DutySlot;

typedef struct DutyPlan
{
	int			runCount;
	int			run[DUTY_MAX];	/* indexes of the duties to run, in order */
} DutyPlan;

/*
 * When a duty is effectively due: its own nextDue, but after a failed run
 * no earlier than lastRun + retryMs.
 */
extern TimestampTz dutyEffectiveDue(const DutySlot *slot);

/* The duties due at now (effective due <= now), in registration order. */
extern void dutyPlanRound(const DutySlot *slots, int count, TimestampTz now,
						  DutyPlan *plan);

/*
 * How long to sleep at now until the earliest effective due time, in
 * milliseconds rounded up (never wake before it is due), within
 * [minMs, maxMs]: maxMs when no duty is ever due, minMs when one is due
 * already.
 */
extern int64 dutySleepMs(const DutySlot *slots, int count, TimestampTz now,
						 int64 minMs, int64 maxMs);

#endif							/* DR_DUTY_SCHEDULE_H */
