/*-------------------------------------------------------------------------
 * test_duty.c
 *	  Unit tests of the pg_dr worker's scheduling decision
 *	  (src/ops/duty_schedule.c).
 *
 * Covers: dutyPlanRound (nothing registered, due and overdue duties run,
 * not-yet-due ones do not, registration order whatever the due times,
 * ties, a duty that is never due, a failed duty held back until its
 * retry and run after it, a failed duty without a retry); dutySleepMs
 * (until the earliest due time, rounded up to whole milliseconds, ties,
 * never-due duties ignored, nothing due sleeps the maximum, overdue
 * sleeps the minimum, bounds both ways, a far-future due time without
 * overflow, a failed duty's retry counted); dutyEffectiveDue (retry later
 * or earlier than the duty's own due time, saturation).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "ops/duty_schedule.h"
#include "tap.h"

#define MS		((int64) 1000)
#define SEC		((int64) 1000000)
#define NOW		((TimestampTz) 800000000 * SEC)

static DutySlot
slot(TimestampTz nextDue)
{
	DutySlot	s;

	memset(&s, 0, sizeof(s));
	s.nextDue = nextDue;
	return s;
}

static void
testPlan(void)
{
	DutySlot	slots[DUTY_MAX] = {0};
	DutyPlan	plan;

	dutyPlanRound(slots, 0, NOW, &plan);
	is_int(plan.runCount, 0, "no duties: nothing runs");

	/* order: registration order, not due order */
	slots[0] = slot(NOW - 1 * SEC);
	slots[1] = slot(NOW + 1 * SEC);
	slots[2] = slot(NOW - 60 * SEC);
	slots[3] = slot(NOW);
	dutyPlanRound(slots, 4, NOW, &plan);
	is_int(plan.runCount, 3, "three of four are due");
	is_int(plan.run[0], 0, "first the first registered");
	is_int(plan.run[1], 2, "then the long overdue one, registered later");
	is_int(plan.run[2], 3, "a duty due exactly now runs");

	/* ties: both run, in registration order */
	slots[0] = slot(NOW - 5 * SEC);
	slots[1] = slot(NOW - 5 * SEC);
	dutyPlanRound(slots, 2, NOW, &plan);
	is_int(plan.runCount, 2, "tied duties both run");
	ok(plan.run[0] == 0 && plan.run[1] == 1, "tied duties run in registration order");

	/* never due */
	slots[0] = slot(DUTY_NEVER);
	slots[1] = slot(NOW + 1);
	dutyPlanRound(slots, 2, NOW, &plan);
	is_int(plan.runCount, 0, "a never-due duty and a future one: nothing runs");
	dutyPlanRound(slots, 2, PG_INT64_MAX - 1, &plan);
	is_int(plan.runCount, 1, "a never-due duty never runs, even at the end of time");
	is_int(plan.run[0], 1, "... the other one does");

	/* a failed duty waits for its retry */
	slots[0] = slot(NOW - 1 * SEC);
	slots[0].lastRun = NOW - 400 * MS;
	slots[0].lastFailed = true;
	slots[0].retryMs = 1000;
	dutyPlanRound(slots, 1, NOW, &plan);
	is_int(plan.runCount, 0, "a duty that failed 400 ms ago with a 1 s retry is held back");
	dutyPlanRound(slots, 1, NOW + 600 * MS, &plan);
	is_int(plan.runCount, 1, "... and runs once its retry is reached");
	slots[0].lastFailed = false;
	dutyPlanRound(slots, 1, NOW, &plan);
	is_int(plan.runCount, 1, "the same duty after a success runs when due");
	slots[0].lastFailed = true;
	slots[0].retryMs = 0;
	dutyPlanRound(slots, 1, NOW, &plan);
	is_int(plan.runCount, 1, "a failed duty without a retry runs when due");
}

static void
testSleep(void)
{
	DutySlot	slots[DUTY_MAX] = {0};

	is_int(dutySleepMs(slots, 0, NOW, 10, 10000), 10000, "no duties: the maximum");

	slots[0] = slot(NOW + 3 * SEC);
	slots[1] = slot(NOW + 2 * SEC);
	slots[2] = slot(DUTY_NEVER);
	is_int(dutySleepMs(slots, 3, NOW, 10, 10000), 2000, "until the earliest due time");

	slots[1] = slot(NOW + 3 * SEC);
	is_int(dutySleepMs(slots, 2, NOW, 10, 10000), 3000, "tied due times");

	slots[0] = slot(NOW + 1500 * MS + 1);
	is_int(dutySleepMs(slots, 1, NOW, 10, 10000), 1501,
		   "rounded up: the worker never wakes before a duty is due");

	slots[0] = slot(DUTY_NEVER);
	slots[1] = slot(DUTY_NEVER);
	is_int(dutySleepMs(slots, 2, NOW, 10, 10000), 10000, "never-due duties only: the maximum");

	slots[0] = slot(NOW - 1 * SEC);
	is_int(dutySleepMs(slots, 2, NOW, 10, 10000), 10, "a duty already due: the minimum");
	slots[0] = slot(NOW + 1 * MS);
	is_int(dutySleepMs(slots, 1, NOW, 10, 10000), 10, "below the minimum: the minimum");
	is_int(dutySleepMs(slots, 1, NOW, 0, 10000), 1, "no minimum: the time left");

	slots[0] = slot(NOW + 3600 * SEC);
	is_int(dutySleepMs(slots, 1, NOW, 10, 10000), 10000, "beyond the maximum: the maximum");
	slots[0] = slot(DUTY_NEVER - 1);
	is_int(dutySleepMs(slots, 1, -NOW, 10, 10000), 10000,
		   "a due time at the end of time: the maximum, no overflow");

	slots[0] = slot(NOW - 1 * SEC);
	slots[0].lastRun = NOW - 200 * MS;
	slots[0].lastFailed = true;
	slots[0].retryMs = 1000;
	is_int(dutySleepMs(slots, 1, NOW, 10, 10000), 800, "a failed duty: until its retry");
}

static void
testEffectiveDue(void)
{
	DutySlot	s = slot(NOW + 5 * SEC);

	s.lastRun = NOW;
	s.lastFailed = true;
	s.retryMs = 1000;
	is_int(dutyEffectiveDue(&s), NOW + 5 * SEC, "a retry earlier than the due time changes nothing");
	s.nextDue = NOW;
	is_int(dutyEffectiveDue(&s), NOW + 1 * SEC, "a retry later than the due time delays it");
	s.nextDue = DUTY_NEVER;
	is_int(dutyEffectiveDue(&s), DUTY_NEVER, "a never-due duty stays never due after a failure");
	s.nextDue = NOW;
	s.lastRun = DUTY_NEVER - 10;
	is_int(dutyEffectiveDue(&s), DUTY_NEVER, "the retry saturates instead of wrapping");
}

int
main(void)
{
	testPlan();
	testSleep();
	testEffectiveDue();
	return tapDone();
}
