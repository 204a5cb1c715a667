/*-------------------------------------------------------------------------
 * duty.h
 *	  The registry of the pg_dr worker's duties, and the helper a duty uses
 *	  to run a step in a transaction of its own.
 *
 * Each part registers its periodic duties from _PG_init (in the
 * postmaster, before the worker starts): a name, a function that says
 * when the duty is next due given now and the part's state, and a run
 * function.  The worker (worker.c) asks every duty, runs the due ones in
 * registration order (duty_schedule.h decides), then sleeps until the
 * earliest next due time, at most DUTY_SLEEP_MAX_MS, or until its latch
 * is set (a backend queued work, a configuration reload).  A run that
 * returns false failed; the duty is not run again before its retryMs.
 *
 * A duty that decides something is a pure decision function (unit tested
 * in the FRONTEND build) plus a run function that gathers its inputs and
 * carries out the decision, e.g. pitr/pitr_decide.h and pitr.c.
 *-------------------------------------------------------------------------
 */
#ifndef DR_DUTY_H
#define DR_DUTY_H

#include "datatype/timestamp.h"

#include "ops/duty_schedule.h"

/* When the duty is next due (DUTY_NEVER: only when its state changes). */
typedef TimestampTz (*DutyNextDueFn) (TimestampTz now, void *arg);

/* Run the duty; false when it failed (its error already reported). */
typedef bool (*DutyRunFn) (TimestampTz now, void *arg);

/*
 * Register a duty (from _PG_init only).  name is kept, not copied; arg is
 * passed to both functions.  retryMs: after a failed run, not again
 * before this long.
 */
extern void dutyRegister(const char *name, DutyNextDueFn nextDue,
						 DutyRunFn run, void *arg, int64 retryMs);

/*
 * The same for a duty that also runs while the server is in recovery (a
 * hot standby, where the worker starts once the data is consistent): it
 * must not write (the lag watcher).  Every other duty waits until
 * recovery has finished.
 */
extern void dutyRegisterInRecovery(const char *name, DutyNextDueFn nextDue,
								   DutyRunFn run, void *arg, int64 retryMs);

/*
 * The worker's side: run the duties due now, in registration order, and
 * return how long to sleep (milliseconds) until the next one is due.
 */
extern int64 dutyRunRound(void);

/* One step of a duty, run by dutyXactRun. */
typedef void (*DutyStepFn) (void *arg);

/*
 * Run step(arg) in a transaction of its own, with a snapshot, showing
 * activity in pg_stat_activity meanwhile (NULL: leave it).  An error is
 * caught: reported to the server log, the transaction aborted.  Returns
 * whether the step committed.  Used by every worker step that must not
 * take the worker down with it.
 */
extern bool dutyXactRun(const char *activity, DutyStepFn step, void *arg);

#endif							/* DR_DUTY_H */
