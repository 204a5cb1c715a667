/*-------------------------------------------------------------------------
 * test_schedule_decide.c
 *	  Unit tests of the scheduler's decision (src/ops/schedule_decide.c).
 *
 * Table-driven: each case changes a quiet base (the seed's policy, a
 * chain of three backups, the newest an hour old, plenty of RTO headroom)
 * and states the next job, whether it is due now, when, the flags and a
 * word of the reason.  Covers: off, no policy, a job running; no backup
 * (a required full); the incremental interval (due exactly at it, not a
 * microsecond before); the chain bounds (length, bytes, changed fraction,
 * each at and under the bound); the full slot (missed, a forced full
 * shortly before it counts, the next slot before the next incremental,
 * no anchor); the adaptive interval (shortened by the WAL rate, shorter
 * at a higher rate, its floor, the RTO headroom used up, with a chain
 * bound, no RTO target, the interval in effect once it is gone); retries
 * (backoff doubling, capped, its end);
 * a busy cluster (backends, load, unknown load, a required job, a job due
 * longer than the deferral bound, the headroom used up).  Also
 * scheduleFullSlot (UTC, east and west of it, before the anchor) and
 * scheduleBackoffSec.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "ops/schedule_decide.h"
#include "tap.h"

#define SEC		((int64) 1000000)
#define MIN		(60 * SEC)
#define HOUR	(3600 * SEC)
#define MiB		((int64) 1024 * 1024)
/* 2026-12-02 20:50:07 UTC: 1796244607 - 946684800 seconds after 2000-01-01 */
#define NOW		((TimestampTz) (1796244607 - INT64CONST(946684800)) * SEC)
/* 2026-12-02 02:00:00 UTC */
#define TODAY_0200	(NOW - 18 * HOUR - 50 * MIN - 7 * SEC)
/* "any time": the case does not check at */
#define ANY_AT		PG_INT64_MIN

static ScheduleInput
quiet(void)
{
	ScheduleInput in;

	memset(&in, 0, sizeof(in));
	in.now = NOW;
	in.enabled = true;
	in.policyFound = true;
	in.tierName = "critical";
	in.policy.fullAtSec = 2 * 3600;
	in.policy.fullIntervalSec = 86400;
	in.policy.incrementalIntervalSec = 6 * 3600;
	in.policy.incrementalMinSec = 900;
	in.policy.chainMaxLength = 7;
	in.policy.chainMaxBytes = 0;
	in.policy.changedFractionMax = 0.5;
	in.policy.busyBackends = 0;
	in.policy.busyLoad = 0;
	in.policy.deferMaxSec = 7200;
	in.policy.retryBaseSec = 60;
	in.policy.retryMaxSec = 3600;
	in.tzOffsetSec = 0;
	in.pollSec = 10;
	in.haveBackup = true;
	in.newestStart = NOW - HOUR - 5 * MIN;
	in.newestEnd = NOW - HOUR;
	in.haveFull = true;
	in.fullStart = TODAY_0200 + 10 * SEC;
	in.chainLength = 3;
	in.chainBytes = 1200 * MiB;
	in.fullBytes = 1024 * MiB;
	in.incrementalBytes = 100 * MiB;
	in.walSinceBackup = 100 * MiB;
	in.walRate = 1000;
	in.rtoTargetSec = 7200;
	in.rto.chainBytes = 1024 * MiB;
	in.rto.walBytes = 100 * MiB;
	in.rto.restoreRate = 100.0 * MiB;
	in.rto.replayRate = 1.0 * MiB;
	in.activeBackends = 1;
	in.loadAverage = 0.5;
	return in;
}

/* the cases' changes to the base */
static void setOff(ScheduleInput *in) { in->enabled = false; }
static void setNoPolicy(ScheduleInput *in) { in->policyFound = false; }
static void setRunning(ScheduleInput *in) { in->jobRunning = true; }
static void setNoBackup(ScheduleInput *in) { in->haveBackup = false; in->haveFull = false; }
static void setIncDue(ScheduleInput *in) { in->newestEnd = NOW - 6 * HOUR; }
static void setIncAlmost(ScheduleInput *in) { in->newestEnd = NOW - 6 * HOUR + 1; }
static void setChainLong(ScheduleInput *in) { in->chainLength = 7; }
static void setChainAlmost(ScheduleInput *in) { in->chainLength = 6; }
static void setChainBytes(ScheduleInput *in) { in->policy.chainMaxBytes = 1200 * MiB; }
static void setChainBytesUnder(ScheduleInput *in) { in->policy.chainMaxBytes = 1200 * MiB + 1; }
static void setChanged(ScheduleInput *in) { in->incrementalBytes = 512 * MiB + 1; }
static void setChangedAt(ScheduleInput *in) { in->incrementalBytes = 512 * MiB; }
static void setSlotMissed(ScheduleInput *in) { in->fullStart = TODAY_0200 - 24 * HOUR; }
static void setForcedBefore(ScheduleInput *in) { in->fullStart = TODAY_0200 - HOUR; }
static void setFullFirst(ScheduleInput *in) { in->newestEnd = NOW - 30 * MIN; }
static void setNoAnchor(ScheduleInput *in)
{
	in->policy.fullAtSec = -1;
	in->fullStart = NOW - 24 * HOUR;
}
static void setNoAnchorLater(ScheduleInput *in)
{
	in->policy.fullAtSec = -1;
	in->fullStart = NOW - 23 * HOUR;
	in->newestEnd = NOW - 30 * MIN;
}
static void setNoFullInCatalog(ScheduleInput *in)
{
	in->haveFull = false;
	in->newestStart = NOW - 25 * HOUR;
	in->newestEnd = NOW - 24 * HOUR;
}
static void setFastWal(ScheduleInput *in) { in->walRate = 1.0 * MiB; }
static void setFloor(ScheduleInput *in)
{
	in->walRate = 1024.0 * MiB;
	in->newestStart = NOW - 2 * MIN;
	in->newestEnd = NOW - MIN;
}
static void setHeadroomGone(ScheduleInput *in)
{
	in->walSinceBackup = 7200 * MiB;
	in->rto.walBytes = 7200 * MiB;
}
static void setHeadroomShare(ScheduleInput *in)
{
	/* restore 10.24 s: room for 7189.76 MiB of WAL; 80 % of it is used */
	in->walSinceBackup = (int64) (7189.76 * 0.8 * MiB) + MiB;
	in->rto.walBytes = in->walSinceBackup;
}
static void setHeadroomChain(ScheduleInput *in) { setHeadroomGone(in); in->chainLength = 9; }
static void setNoTarget(ScheduleInput *in) { setHeadroomGone(in); in->rtoTargetSec = 0; }
static void setFailed1(ScheduleInput *in)
{
	setIncDue(in);
	in->lastJobFailed = true;
	in->failures = 1;
	in->lastJobEnd = NOW - 30 * SEC;
	in->lastJobError = "repository not writable";
}
static void setFailed3(ScheduleInput *in) { setFailed1(in); in->failures = 3; }
static void setFailedMany(ScheduleInput *in) { setFailed1(in); in->failures = 40; }
static void setFailedOver(ScheduleInput *in) { setFailed1(in); in->lastJobEnd = NOW - 61 * SEC; }
static void setFailedNotDue(ScheduleInput *in)
{
	setFailed1(in);
	in->newestEnd = NOW - HOUR;
}
static void setBusyBackends(ScheduleInput *in)
{
	setIncDue(in);
	in->policy.busyBackends = 5;
	in->activeBackends = 5;
}
static void setCalmBackends(ScheduleInput *in) { setBusyBackends(in); in->activeBackends = 4; }
static void setBusyLoad(ScheduleInput *in)
{
	setIncDue(in);
	in->policy.busyLoad = 4.0;
	in->loadAverage = 4.0;
}
static void setLoadUnknown(ScheduleInput *in) { setBusyLoad(in); in->loadAverage = -1; }
static void setBusyNoBackup(ScheduleInput *in) { setBusyBackends(in); setNoBackup(in); }
static void setBusyLong(ScheduleInput *in) { setBusyBackends(in); in->newestEnd = NOW - 8 * HOUR; }
static void setBusyHeadroom(ScheduleInput *in) { setBusyBackends(in); setHeadroomGone(in); }

typedef struct Case
{
	const char *name;
	void		(*set) (ScheduleInput *in);
	ScheduleJobKind kind;
	bool		dueNow;
	TimestampTz at;				/* ANY_AT: not checked */
	bool		deferred;
	bool		retry;
	bool		required;
	const char *says;			/* a part of the reason */
} Case;

static const Case cases[] = {
	{"quiet: the next incremental 6 h after the newest", NULL,
	SCHEDULE_JOB_INCREMENTAL, false, NOW + 5 * HOUR, false, false, false, "every 6 h after"},
	{"scheduler off", setOff, SCHEDULE_JOB_NONE, false, 0, false, false, false, "pg_dr.schedule = off"},
	{"no policy for the tier", setNoPolicy, SCHEDULE_JOB_NONE, false, 0, false, false, false,
	"critical has no schedule policy"},
	{"a job running", setRunning, SCHEDULE_JOB_NONE, false, 0, false, false, false, "running"},
	{"no backup: a full now, required", setNoBackup, SCHEDULE_JOB_FULL, true, NOW, false, false, true,
	"no valid backup"},
	{"the incremental interval passed exactly: due", setIncDue,
	SCHEDULE_JOB_INCREMENTAL, true, NOW, false, false, false, "every 6 h"},
	{"a microsecond before the interval: not due", setIncAlmost,
	SCHEDULE_JOB_INCREMENTAL, false, NOW + 1, false, false, false, "every 6 h"},
	{"the chain at its length bound: a full now", setChainLong, SCHEDULE_JOB_FULL, true, NOW,
	false, false, false, "holds 7 backups, the policy's bound is 7"},
	{"the chain under its length bound: an incremental", setChainAlmost,
	SCHEDULE_JOB_INCREMENTAL, false, NOW + 5 * HOUR, false, false, false, "every 6 h"},
	{"the chain at its byte bound: a full now", setChainBytes, SCHEDULE_JOB_FULL, true, NOW,
	false, false, false, "stores"},
	{"the chain under its byte bound: an incremental", setChainBytesUnder,
	SCHEDULE_JOB_INCREMENTAL, false, NOW + 5 * HOUR, false, false, false, "every 6 h"},
	{"incrementals above half the full's size: a full", setChanged, SCHEDULE_JOB_FULL, true, NOW,
	false, false, false, "would read more than a new full"},
	{"incrementals at exactly half: an incremental", setChangedAt,
	SCHEDULE_JOB_INCREMENTAL, false, NOW + 5 * HOUR, false, false, false, "every 6 h"},
	{"today's 02:00 full missed: a full, due since the slot", setSlotMissed,
	SCHEDULE_JOB_FULL, true, TODAY_0200, false, false, false, "at 02:00"},
	{"a full forced an hour before the slot counts for it", setForcedBefore,
	SCHEDULE_JOB_INCREMENTAL, false, NOW + 5 * HOUR, false, false, false, "every 6 h"},
	{"tomorrow's 02:00 full before the next incremental", setFullFirst,
	SCHEDULE_JOB_FULL, false, TODAY_0200 + 24 * HOUR, false, false, false, "comes before"},
	{"no anchor: a full a day after the last", setNoAnchor, SCHEDULE_JOB_FULL, true, NOW,
	false, false, false, "older than the policy's full interval of 24 h"},
	{"no anchor: the next full an hour away", setNoAnchorLater, SCHEDULE_JOB_FULL, false,
	NOW + HOUR, false, false, false, "comes before"},
	{"the chain's full not in the catalog: counted from the newest", setNoFullInCatalog,
	SCHEDULE_JOB_FULL, true, NOW - HOUR, false, false, false, "full interval"},
	{"WAL at 1 MiB/s: the interval shortened", setFastWal, SCHEDULE_JOB_INCREMENTAL, false,
	ANY_AT, false, false, false, "shortened from the policy's 6 h"},
	{"WAL at 1 GiB/s, a backup a minute old: the interval's floor", setFloor,
	SCHEDULE_JOB_INCREMENTAL, false, NOW + 14 * MIN, false, false, false, "every 15 min (shortened"},
	{"the RTO headroom gone: an incremental now, required", setHeadroomGone,
	SCHEDULE_JOB_INCREMENTAL, true, NOW, false, false, true, "RTO target of 7200 s"},
	{"80 % of the RTO headroom used: an incremental now", setHeadroomShare,
	SCHEDULE_JOB_INCREMENTAL, true, NOW, false, false, true, "80%"},
	{"headroom gone and chain too long: a required full", setHeadroomChain,
	SCHEDULE_JOB_FULL, true, NOW, false, false, true, "holds 9 backups"},
	{"no RTO target: the policy's interval", setNoTarget, SCHEDULE_JOB_INCREMENTAL, false,
	NOW + 5 * HOUR, false, false, false, "every 6 h after"},
	{"failed 30 s ago: retried after 60 s", setFailed1, SCHEDULE_JOB_INCREMENTAL, false,
	NOW + 30 * SEC, false, true, false, "retry 1 after a failed job (repository not writable), backoff 1 min"},
	{"failed thrice: backoff 4 min", setFailed3, SCHEDULE_JOB_INCREMENTAL, false,
	NOW - 30 * SEC + 240 * SEC, false, true, false, "backoff 4 min"},
	{"failed 40 times: backoff capped at 1 h", setFailedMany, SCHEDULE_JOB_INCREMENTAL, false,
	NOW - 30 * SEC + HOUR, false, true, false, "backoff 1 h"},
	{"the backoff over: due now", setFailedOver, SCHEDULE_JOB_INCREMENTAL, true, NOW,
	false, false, false, "retry 1 after a failed job; "},
	{"a failure, the next job later anyway: not a retry", setFailedNotDue,
	SCHEDULE_JOB_INCREMENTAL, false, NOW + 5 * HOUR, false, false, false, "every 6 h"},
	{"busy (5 backends, threshold 5): deferred by the poll", setBusyBackends,
	SCHEDULE_JOB_INCREMENTAL, false, NOW + 10 * SEC, true, false, false, "5 active backends (threshold 5)"},
	{"4 backends under the threshold: due", setCalmBackends, SCHEDULE_JOB_INCREMENTAL, true, NOW,
	false, false, false, "every 6 h"},
	{"busy (load 4.00): deferred", setBusyLoad, SCHEDULE_JOB_INCREMENTAL, false, NOW + 10 * SEC,
	true, false, false, "load average 4.00"},
	{"load unknown: not busy", setLoadUnknown, SCHEDULE_JOB_INCREMENTAL, true, NOW,
	false, false, false, "every 6 h"},
	{"busy, but no backup: the full is not deferred", setBusyNoBackup, SCHEDULE_JOB_FULL, true, NOW,
	false, false, true, "no valid backup"},
	{"busy, but due for 2 h already: not deferred", setBusyLong, SCHEDULE_JOB_INCREMENTAL, true,
	NOW - 2 * HOUR, false, false, false, "longer than a busy cluster defers it"},
	{"busy, but the RTO headroom is gone: not deferred", setBusyHeadroom,
	SCHEDULE_JOB_INCREMENTAL, true, NOW, false, false, true, "RTO target"},
};

static void
testCases(void)
{
	for (size_t i = 0; i < lengthof(cases); i++)
	{
		const Case *c = &cases[i];
		ScheduleInput in = quiet();
		ScheduleDecision d;

		if (c->set)
			c->set(&in);
		scheduleDecide(&in, &d);
		is_str(scheduleJobKindName(d.kind), scheduleJobKindName(c->kind), "%s: the kind", c->name);
		is_int(d.dueNow, c->dueNow, "%s: due now or not", c->name);
		if (c->at != ANY_AT)
			is_int(d.at, c->at, "%s: when", c->name);
		is_int(d.deferred, c->deferred, "%s: deferred or not", c->name);
		is_int(d.retry, c->retry, "%s: a retry or not", c->name);
		is_int(d.required, c->required, "%s: required or not", c->name);
		if (!ok(strstr(d.reason, c->says) != NULL, "%s: the reason says \"%s\"", c->name, c->says))
			diag("reason: %s", d.reason);
	}
}

/* the adaptive interval in numbers: shorter as the WAL rate grows */
static void
testAdaptive(void)
{
	ScheduleInput in = quiet();
	ScheduleDecision d;
	ScheduleDecision faster;
	int64		expected;

	in.walRate = 1.0 * MiB;
	scheduleDecide(&in, &d);

	/*
	 * restore 1024 MiB at 100 MiB/s = 10.24 s, replay 100 MiB at 1 MiB/s =
	 * 100 s; headroom (7200 - 110.24) MiB; 80 % of headroom plus the 100
	 * MiB already written, less those 100 MiB, at 1 MiB/s, plus the hour
	 * since the newest backup
	 */
	expected = 3600 + (int64) ((7200.0 - 110.24 + 100.0) * 0.8 - 100.0);
	ok(d.intervalSec >= expected - 1 && d.intervalSec <= expected + 1,
	   "1 MiB/s: interval " INT64_FORMAT " s (about " INT64_FORMAT ")", d.intervalSec, expected);
	is_int(d.at, in.newestEnd + d.intervalSec * SEC, "... counted from the newest backup's end");

	in.walRate = 2.0 * MiB;
	scheduleDecide(&in, &faster);
	ok(faster.intervalSec < d.intervalSec,
	   "2 MiB/s: a shorter interval (" INT64_FORMAT " s < " INT64_FORMAT " s)",
	   faster.intervalSec, d.intervalSec);

	setHeadroomGone(&in);
	scheduleDecide(&in, &d);
	is_int(d.intervalSec, 3600, "headroom gone an hour after the newest: the interval in effect is that hour");
	in.newestEnd = NOW - 2 * MIN;
	scheduleDecide(&in, &d);
	is_int(d.intervalSec, 900, "... two minutes after it: the floor");

	in = quiet();
	in.walRate = 0;
	scheduleDecide(&in, &d);
	is_int(d.intervalSec, 6 * 3600, "rate unknown: the policy's interval");
	in.walRate = 1.0;
	scheduleDecide(&in, &d);
	is_int(d.intervalSec, 6 * 3600, "a trickle of WAL: the policy's interval");
}

static void
testFullSlot(void)
{
	SchedulePolicy p;

	memset(&p, 0, sizeof(p));
	p.fullAtSec = 2 * 3600;
	p.fullIntervalSec = 86400;
	is_int(scheduleFullSlot(&p, 0, NOW), TODAY_0200, "UTC: today 02:00");
	is_int(scheduleFullSlot(&p, 0, TODAY_0200), TODAY_0200, "at the slot: the slot itself");
	is_int(scheduleFullSlot(&p, 0, TODAY_0200 - 1), TODAY_0200 - 24 * HOUR,
		   "a microsecond before it: yesterday's");
	/* UTC+3: 23:50 local; local 02:00 today is 23:00 UTC yesterday */
	is_int(scheduleFullSlot(&p, 3 * 3600, NOW), TODAY_0200 - 3 * HOUR, "UTC+3: 02:00 local");
	/* UTC-5: 15:50 local; local 02:00 today is 07:00 UTC */
	is_int(scheduleFullSlot(&p, -5 * 3600, NOW), TODAY_0200 + 5 * HOUR, "UTC-5: 02:00 local");
	is_int(scheduleFullSlot(&p, 0, -HOUR), -22 * HOUR, "before the anchor (1999): the slot before");
	p.fullIntervalSec = 7 * 86400;
	ok((NOW - scheduleFullSlot(&p, 0, NOW)) < 7 * 86400 * SEC &&
	   scheduleFullSlot(&p, 0, NOW) % HOUR == 0,
	   "weekly: the last slot within a week, on the hour");
}

static void
testBackoff(void)
{
	SchedulePolicy p;

	memset(&p, 0, sizeof(p));
	p.retryBaseSec = 60;
	p.retryMaxSec = 3600;
	is_int(scheduleBackoffSec(&p, 1), 60, "first failure: the base");
	is_int(scheduleBackoffSec(&p, 2), 120, "second: doubled");
	is_int(scheduleBackoffSec(&p, 6), 1920, "sixth: 32 times");
	is_int(scheduleBackoffSec(&p, 7), 3600, "seventh: capped");
	is_int(scheduleBackoffSec(&p, 1000000), 3600, "a million: capped, no overflow");
	p.retryMaxSec = 60;
	is_int(scheduleBackoffSec(&p, 5), 60, "max equal to the base: the base");
}

int
main(void)
{
	testCases();
	testAdaptive();
	testFullSlot();
	testBackoff();
	return tapDone();
}
