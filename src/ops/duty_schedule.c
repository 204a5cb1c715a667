/*-------------------------------------------------------------------------
 * duty_schedule.c
 *	  Which duties the pg_dr worker runs, and how long it sleeps (see
 *	  duty_schedule.h).  Pure: no server state, no clock.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "ops/duty_schedule.h"

TimestampTz
dutyEffectiveDue(const DutySlot *slot)
{
	TimestampTz due = slot->nextDue;

	if (slot->lastFailed && slot->retryMs > 0)
	{
		TimestampTz retry;

		/* saturate instead of wrapping: a huge retry means "never" */
		if (slot->lastRun > DUTY_NEVER - slot->retryMs * 1000)
			retry = DUTY_NEVER;
		else
			retry = slot->lastRun + slot->retryMs * 1000;
		if (retry > due)
			due = retry;
	}
	return due;
}

void
dutyPlanRound(const DutySlot *slots, int count, TimestampTz now, DutyPlan *plan)
{
	plan->runCount = 0;
	for (int i = 0; i < count && i < DUTY_MAX; i++)
	{
		TimestampTz due = dutyEffectiveDue(&slots[i]);

		if (due != DUTY_NEVER && due <= now)
			plan->run[plan->runCount++] = i;
	}
}

int64
dutySleepMs(const DutySlot *slots, int count, TimestampTz now,
			int64 minMs, int64 maxMs)
{
	int64		sleepMs = maxMs;

	for (int i = 0; i < count && i < DUTY_MAX; i++)
	{
		TimestampTz due = dutyEffectiveDue(&slots[i]);
		int64		ms;

		if (due == DUTY_NEVER)
			continue;
		if (due <= now)
			ms = 0;
		/* compared first, so that due - now cannot overflow */
		else if (due - maxMs * 1000 >= now)
			ms = maxMs;
		else
			ms = (due - now + 999) / 1000;
		if (ms < sleepMs)
			sleepMs = ms;
	}
	if (sleepMs < minMs)
		sleepMs = minMs;
	if (sleepMs > maxMs)
		sleepMs = maxMs;
	return sleepMs;
}
