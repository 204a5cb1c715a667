/*-------------------------------------------------------------------------
 * test_pitr_decide.c
 *	  Unit tests of the PITR duty's decisions (src/pitr/pitr_decide.c).
 *
 * Covers: pitrDecide (a restore point when the interval passed, exactly
 * at the interval, not before it, never with the interval off, the first
 * one when none was made, its name; a restore point before a switch when
 * both are due, then the switch once lastPoint moved; a WAL switch when
 * the archive and the last switch are at least half the RPO old, with
 * the tier in its reason; no switch when the archive is recent, the last
 * switch is recent, no WAL was written, archiving is off, the RPO is
 * unknown; a half RPO beyond int milliseconds capped as before; a
 * restored cluster refused by its origin marker: nothing, whatever is
 * due); pitrPointName (UTC, zero padded, before 2000 with a fraction);
 * pitrNextDue (first round at once, the poll, the next restore point
 * when earlier, interval off, last point not yet known, overdue);
 * pitrIntervalPick (scheduler on with a policy: the policy's, its 0 off
 * whatever pg_dr.pitr_interval says; scheduler on without a policy, or
 * off: pg_dr.pitr_interval, its 0 off; negatives as 0) and the restore
 * point's reason naming where the interval came from.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "pitr/pitr_decide.h"
#include "tap.h"

#define MS		((int64) 1000)
#define SEC		((int64) 1000000)
/* 2026-12-02 20:50:07 UTC: 1796244607 - 946684800 seconds after 2000-01-01 */
#define NOW		((TimestampTz) (1796244607 - INT64CONST(946684800)) * SEC)

static PitrDecideInput
quiet(void)
{
	PitrDecideInput in;

	memset(&in, 0, sizeof(in));
	in.now = NOW;
	in.lastPoint = NOW - 10 * SEC;
	in.intervalSec = 900;
	in.archiving = true;
	in.rpoMs = 60 * 1000;
	in.tierName = "critical";
	in.lastArchived = NOW - 5 * SEC;
	in.lastSwitch = 0;
	in.walWritten = true;
	return in;
}

static void
testRestorePoint(void)
{
	PitrDecideInput in = quiet();
	PitrDecision d;

	pitrDecide(&in, &d);
	is_int(d.action, PITR_ACTION_NONE, "quiet: nothing to do");
	ok(d.reason[0] != '\0', "... with a reason (%s)", d.reason);

	in.lastPoint = NOW - 901 * SEC;
	pitrDecide(&in, &d);
	is_int(d.action, PITR_ACTION_RESTORE_POINT, "interval passed: a restore point");
	is_str(d.name, "pg_dr_20261202_205007", "named by the time, UTC");

	in.lastPoint = NOW - 900 * SEC;
	pitrDecide(&in, &d);
	is_int(d.action, PITR_ACTION_RESTORE_POINT, "exactly the interval: a restore point");
	in.lastPoint = NOW - 900 * SEC + 1;
	pitrDecide(&in, &d);
	is_int(d.action, PITR_ACTION_NONE, "a microsecond short of the interval: none");

	in.lastPoint = 0;
	pitrDecide(&in, &d);
	is_int(d.action, PITR_ACTION_RESTORE_POINT, "no scheduled point yet: the first one");

	in.intervalSec = 0;
	pitrDecide(&in, &d);
	is_int(d.action, PITR_ACTION_NONE, "interval off: no restore point, ever");
}

static void
testSwitch(void)
{
	PitrDecideInput in = quiet();
	PitrDecision d;

	in.lastArchived = NOW - 30 * SEC;
	pitrDecide(&in, &d);
	is_int(d.action, PITR_ACTION_WAL_SWITCH, "archive half the RPO old: a switch");
	is_str(d.reason, "newest archived WAL older than half the critical tier's RPO",
		   "the reason names the tier (recorded in pgdr.pitr_events)");

	in.lastArchived = 0;
	pitrDecide(&in, &d);
	is_int(d.action, PITR_ACTION_WAL_SWITCH, "nothing archived ever: a switch");

	in.lastArchived = NOW - 30 * SEC + 1;
	pitrDecide(&in, &d);
	is_int(d.action, PITR_ACTION_NONE, "archive just under half the RPO old: none");

	in.lastArchived = NOW - 40 * SEC;
	in.lastSwitch = NOW - 29 * SEC;
	pitrDecide(&in, &d);
	is_int(d.action, PITR_ACTION_NONE, "last switch within half the RPO: none");
	in.lastSwitch = NOW - 30 * SEC;
	pitrDecide(&in, &d);
	is_int(d.action, PITR_ACTION_WAL_SWITCH, "last switch half the RPO ago: a switch");

	in.walWritten = false;
	pitrDecide(&in, &d);
	is_int(d.action, PITR_ACTION_NONE, "no WAL since the segment began: none (it would be a no-op)");
	in.walWritten = true;

	in.archiving = false;
	pitrDecide(&in, &d);
	is_int(d.action, PITR_ACTION_NONE, "archiving off: none");
	in.archiving = true;

	in.rpoMs = 0;
	pitrDecide(&in, &d);
	is_int(d.action, PITR_ACTION_NONE, "RPO unknown: none");

	/* a 60-day RPO: half of it is beyond int milliseconds, capped as before */
	in.rpoMs = INT64CONST(60) * 86400 * 1000;
	in.lastArchived = NOW - (int64) PG_INT32_MAX * MS;
	in.lastSwitch = 0;
	pitrDecide(&in, &d);
	is_int(d.action, PITR_ACTION_WAL_SWITCH, "a half RPO beyond INT_MAX ms is capped at INT_MAX ms");

	/* both due: the restore point first, then the switch */
	in = quiet();
	in.lastPoint = NOW - 1000 * SEC;
	in.lastArchived = NOW - 100 * SEC;
	pitrDecide(&in, &d);
	is_int(d.action, PITR_ACTION_RESTORE_POINT, "both due: the restore point first");
	in.lastPoint = NOW;
	pitrDecide(&in, &d);
	is_int(d.action, PITR_ACTION_WAL_SWITCH, "... then, asked again, the switch");
}

static void
testOrigin(void)
{
	PitrDecideInput in = quiet();
	PitrDecision d;

	in.originRefused = true;
	in.lastPoint = 0;
	in.lastArchived = 0;
	pitrDecide(&in, &d);
	is_int(d.action, PITR_ACTION_NONE, "refused by the origin marker: nothing, though both are due");
	ok(strstr(d.reason, "origin marker") != NULL, "... and the reason says so");
}

static void
testNames(void)
{
	char		name[PITR_POINT_NAME_SIZE];

	pitrPointName(0, name, sizeof(name));
	is_str(name, "pg_dr_20000101_000000", "the PostgreSQL epoch");
	pitrPointName(-1, name, sizeof(name));
	is_str(name, "pg_dr_19991231_235959", "a microsecond before it rounds down");
	pitrPointName(NOW + 999999, name, sizeof(name));
	is_str(name, "pg_dr_20261202_205007", "fractions are dropped");
}

static void
testNextDue(void)
{
	is_int(pitrNextDue(0, 0, false, 900, 10000), 0, "never ran: due at once");
	is_int(pitrNextDue(NOW, NOW - 10 * SEC, true, 900, 10000), NOW + 10 * SEC,
		   "the next restore point far off: the poll");
	is_int(pitrNextDue(NOW, NOW - 898 * SEC, true, 900, 10000), NOW + 2 * SEC,
		   "the next restore point before the poll: then");
	is_int(pitrNextDue(NOW, NOW - 2000 * SEC, true, 900, 10000), NOW - 1100 * SEC,
		   "an overdue restore point: due already");
	is_int(pitrNextDue(NOW, 0, true, 0, 10000), NOW + 10 * SEC, "interval off: the poll");
	is_int(pitrNextDue(NOW, 0, false, 900, 10000), NOW + 10 * SEC,
		   "last point not known yet: the poll");
}

static void
testIntervalPick(void)
{
	PitrDecideInput in = quiet();
	PitrDecision d;
	int			sec = -1;

	is_int(pitrIntervalPick(true, true, 600, 900, &sec), PITR_INTERVAL_POLICY,
		   "scheduler on, a policy: the policy's interval");
	is_int(sec, 600, "... its value");
	is_int(pitrIntervalPick(true, true, 0, 900, &sec), PITR_INTERVAL_POLICY,
		   "policy 0: still the policy's");
	is_int(sec, 0, "... no restore points, whatever pg_dr.pitr_interval says");
	is_int(pitrIntervalPick(true, false, 600, 900, &sec), PITR_INTERVAL_SETTING,
		   "scheduler on, no policy for the tier: pg_dr.pitr_interval");
	is_int(sec, 900, "... its value");
	is_int(pitrIntervalPick(false, true, 600, 900, &sec), PITR_INTERVAL_SETTING,
		   "scheduler off: pg_dr.pitr_interval, the policy ignored");
	is_int(sec, 900, "... its value");
	is_int(pitrIntervalPick(false, true, 600, 0, &sec), PITR_INTERVAL_SETTING,
		   "scheduler off, pg_dr.pitr_interval 0");
	is_int(sec, 0, "... no restore points");
	(void) pitrIntervalPick(true, true, -5, 900, &sec);
	is_int(sec, 0, "a negative interval counts as 0");
	is_str(pitrIntervalSourceName(PITR_INTERVAL_POLICY), "policy", "source name: policy");
	is_str(pitrIntervalSourceName(PITR_INTERVAL_SETTING), "pg_dr.pitr_interval",
		   "source name: the setting");

	in.lastPoint = NOW - 601 * SEC;
	in.intervalSource = pitrIntervalPick(true, true, 600, 900, &in.intervalSec);
	pitrDecide(&in, &d);
	is_int(d.action, PITR_ACTION_RESTORE_POINT, "the policy's 600 s passed: a restore point");
	is_str(d.reason, "the schedule policy's restore_point_interval passed since the last scheduled restore point",
		   "... the reason names the policy");
	in.intervalSource = pitrIntervalPick(false, true, 600, 900, &in.intervalSec);
	pitrDecide(&in, &d);
	is_int(d.action, PITR_ACTION_NONE, "scheduler off: pg_dr.pitr_interval's 900 s not passed");
	in.lastPoint = NOW - 900 * SEC;
	pitrDecide(&in, &d);
	is_str(d.reason, "pg_dr.pitr_interval passed since the last scheduled restore point",
		   "... once it passed, the reason names the setting");
}

int
main(void)
{
	testRestorePoint();
	testIntervalPick();
	testSwitch();
	testOrigin();
	testNames();
	testNextDue();
	return tapDone();
}
