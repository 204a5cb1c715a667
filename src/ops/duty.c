/*-------------------------------------------------------------------------
 * duty.c
 *	  The registry of the pg_dr worker's duties, the round that runs them,
 *	  and the step-in-a-transaction helper (see duty.h).
 *
 * The registry is filled in the postmaster by _PG_init and inherited by
 * the worker (or rebuilt by its own _PG_init where processes are not
 * forked); what it learns about each duty's runs (lastRun, lastFailed)
 * lives in the worker only.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "ops/duty.h"

/* the worker wakes at least this often, even with nothing due */
#define DUTY_SLEEP_MAX_MS		10000
/* and sleeps at least this long, so a duty that stays due cannot spin it */
#define DUTY_SLEEP_MIN_MS		10

typedef struct Duty
{
	const char *name;
	DutyNextDueFn nextDue;
	DutyRunFn	run;
	void	   *arg;
	bool		inRecovery;		/* runs during recovery too */
} Duty;

static Duty dutyList[DUTY_MAX];
static DutySlot dutySlots[DUTY_MAX];
static int	dutyCount = 0;

static void
dutyAdd(const char *name, DutyNextDueFn nextDue, DutyRunFn run,
		void *arg, int64 retryMs, bool inRecovery)
{
	if (!process_shared_preload_libraries_in_progress)
		elog(ERROR, "pg_dr duty \"%s\" registered outside _PG_init", name);
	if (dutyCount >= DUTY_MAX)
		elog(ERROR, "too many pg_dr duties: \"%s\" is one more than %d",
			 name, DUTY_MAX);
	dutyList[dutyCount].name = name;
	dutyList[dutyCount].nextDue = nextDue;
	dutyList[dutyCount].run = run;
	dutyList[dutyCount].arg = arg;
	dutyList[dutyCount].inRecovery = inRecovery;
	memset(&dutySlots[dutyCount], 0, sizeof(DutySlot));
	dutySlots[dutyCount].retryMs = retryMs;
	dutyCount++;
}

void
dutyRegister(const char *name, DutyNextDueFn nextDue, DutyRunFn run,
			 void *arg, int64 retryMs)
{
	dutyAdd(name, nextDue, run, arg, retryMs, false);
}

void
dutyRegisterInRecovery(const char *name, DutyNextDueFn nextDue, DutyRunFn run,
					   void *arg, int64 retryMs)
{
	dutyAdd(name, nextDue, run, arg, retryMs, true);
}

/*
 * Ask every duty when it is next due.  In recovery only the duties
 * registered for it are asked; the others are not due (they write).  Once
 * recovery ends (a promotion) they are asked at the next round: the
 * worker wakes at least every DUTY_SLEEP_MAX_MS.
 */
static void
dutyAskAll(TimestampTz now)
{
	bool		inRecovery = RecoveryInProgress();

	for (int i = 0; i < dutyCount; i++)
		dutySlots[i].nextDue = inRecovery && !dutyList[i].inRecovery ? DUTY_NEVER :
			dutyList[i].nextDue(now, dutyList[i].arg);
}

int64
dutyRunRound(void)
{
	TimestampTz now = GetCurrentTimestamp();
	DutyPlan	plan;

	dutyAskAll(now);
	dutyPlanRound(dutySlots, dutyCount, now, &plan);
	for (int n = 0; n < plan.runCount; n++)
	{
		int			i = plan.run[n];
		TimestampTz started = GetCurrentTimestamp();

		CHECK_FOR_INTERRUPTS();
		elog(DEBUG2, "pg_dr worker: running duty \"%s\"", dutyList[i].name);
		dutySlots[i].lastRun = started;
		dutySlots[i].lastFailed = !dutyList[i].run(started, dutyList[i].arg);
	}

	/* asked again: running a duty changes when it (or another) is due */
	now = GetCurrentTimestamp();
	dutyAskAll(now);
	return dutySleepMs(dutySlots, dutyCount, now,
					   DUTY_SLEEP_MIN_MS, DUTY_SLEEP_MAX_MS);
}

bool
dutyXactRun(const char *activity, DutyStepFn step, void *arg)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	volatile bool done = false;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (activity)
		pgstat_report_activity(STATE_RUNNING, activity);

	PG_TRY();
	{
		step(arg);
		PopActiveSnapshot();
		CommitTransactionCommand();
		done = true;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
	}
	PG_END_TRY();

	MemoryContextSwitchTo(oldcxt);
	if (activity)
		pgstat_report_activity(STATE_IDLE, NULL);
	return done;
}
