/*-------------------------------------------------------------------------
 * test_objectives.c
 *	  Unit tests of the objectives verdict, the RPO actual and the
 *	  availability over a period (src/ops/objectives_verdict.c,
 *	  src/ops/objectives_availability.c).
 *
 * Covers: every threshold of the verdict at, just under and just over its
 * edge (RPO breached at the target, at risk at three quarters of it; RTO
 * estimate at the target; backup overdue at its bound and with no bound;
 * archive lagging at half the RPO; RPO target 0); no backup, unknown RPO,
 * no objectives, archive failing; several findings at once (verdict the
 * worst, reason listing breaches first); the verdict names both ways;
 * the RPO actual (nothing waiting, waiting since the archival, since the
 * last idle moment, unknown, clock behind); availability: samples
 * standing until the next one, capped at two intervals, clipped to the
 * period, a sample before the period, gaps counted unknown, RPO/RTO
 * compliance with unknown figures left out, an empty period, percents;
 * the standbys' RPO (objectivesStandbyBest: the least flush lag of the
 * healthy ones, not streaming / stale / unknown lag left out, a cleared
 * lag with nothing to flush as 0, synchronous ones only, none) and the
 * choice by pg_dr.objectives_rpo_source (auto with and without a
 * synchronous standby, archive, standby with and without one, best
 * either way, an unknown archive figure).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <math.h>

#include "ops/objectives_availability.h"
#include "ops/objectives_verdict.h"
#include "tap.h"

#define SEC		((int64) 1000000)

/* A healthy base: tier RPO 100 s, RTO 1000 s. */
static ObjectivesInput
base(void)
{
	ObjectivesInput in;

	memset(&in, 0, sizeof(in));
	in.targetsKnown = true;
	in.rpoTargetSec = 100;
	in.rtoTargetSec = 1000;
	in.rpoKnown = true;
	in.rpoActualSec = 10;
	in.backupExists = true;
	in.backupAgeSec = 3600;
	in.backupOverdueSec = 7200;
	in.rtoEstimateSec = 500;
	in.archiveFailing = false;
	in.archiveOldestWaitSec = -1;
	return in;
}

typedef struct VerdictCase
{
	const char *name;
	void		(*set) (ObjectivesInput *in);
	ObjectivesVerdictKind kind;
	uint32		findings;
} VerdictCase;

static void setNothing(ObjectivesInput *in) { }
static void setRpoAtTarget(ObjectivesInput *in) { in->rpoActualSec = 100; }
static void setRpoOverTarget(ObjectivesInput *in) { in->rpoActualSec = 100.001; }
static void setRpoAtThreeQuarters(ObjectivesInput *in) { in->rpoActualSec = 75; }
static void setRpoOverThreeQuarters(ObjectivesInput *in) { in->rpoActualSec = 75.001; }
static void setRpoHalf(ObjectivesInput *in) { in->rpoActualSec = 50.5; }
static void setRpoUnknown(ObjectivesInput *in) { in->rpoKnown = false; in->rpoActualSec = 1e9; }
static void setRtoAtTarget(ObjectivesInput *in) { in->rtoEstimateSec = 1000; }
static void setRtoOverTarget(ObjectivesInput *in) { in->rtoEstimateSec = 1000.5; }
static void setBackupAtBound(ObjectivesInput *in) { in->backupAgeSec = 7200; }
static void setBackupOverBound(ObjectivesInput *in) { in->backupAgeSec = 7201; }
static void setBackupNoBound(ObjectivesInput *in) { in->backupAgeSec = 1e9; in->backupOverdueSec = 0; }
static void setNoBackup(ObjectivesInput *in) { in->backupExists = false; in->rtoEstimateSec = 1e12; in->backupAgeSec = 1e12; }
static void setArchiveFailing(ObjectivesInput *in) { in->archiveFailing = true; }
static void setLagAtHalf(ObjectivesInput *in) { in->archiveOldestWaitSec = 50; }
static void setLagOverHalf(ObjectivesInput *in) { in->archiveOldestWaitSec = 51; }
static void setLagZero(ObjectivesInput *in) { in->archiveOldestWaitSec = 0; }
static void setNoTargets(ObjectivesInput *in) { in->targetsKnown = false; in->rpoActualSec = 1e9; in->rtoEstimateSec = 1e9; in->archiveOldestWaitSec = 1e9; }
static void setRpoTargetZero(ObjectivesInput *in) { in->rpoTargetSec = 0; in->rpoActualSec = 0; }
static void setRpoTargetZeroLate(ObjectivesInput *in) { in->rpoTargetSec = 0; in->rpoActualSec = 0.5; }
static void setEverything(ObjectivesInput *in)
{
	in->rpoActualSec = 200;
	in->rtoEstimateSec = 2000;
	in->backupAgeSec = 8000;
	in->archiveFailing = true;
	in->archiveOldestWaitSec = 90;
}
static void setNoBackupAtRisk(ObjectivesInput *in) { in->backupExists = false; in->rpoActualSec = 80; }

static const VerdictCase verdictCases[] = {
	{"healthy", setNothing, OBJ_VERDICT_OK, 0},
	{"RPO exactly at the target: at risk, not breached", setRpoAtTarget, OBJ_VERDICT_AT_RISK, OBJ_FINDING_RPO_AT_RISK},
	{"RPO just over the target: breached", setRpoOverTarget, OBJ_VERDICT_BREACHED, OBJ_FINDING_RPO_BREACHED},
	{"RPO exactly at three quarters: ok", setRpoAtThreeQuarters, OBJ_VERDICT_OK, 0},
	{"RPO just over three quarters: at risk", setRpoOverThreeQuarters, OBJ_VERDICT_AT_RISK, OBJ_FINDING_RPO_AT_RISK},
	{"RPO just over half: ok (the PITR switch point)", setRpoHalf, OBJ_VERDICT_OK, 0},
	{"RPO unknown: at risk, whatever the figure", setRpoUnknown, OBJ_VERDICT_AT_RISK, OBJ_FINDING_RPO_UNKNOWN},
	{"RTO estimate at the target: ok", setRtoAtTarget, OBJ_VERDICT_OK, 0},
	{"RTO estimate over the target: at risk", setRtoOverTarget, OBJ_VERDICT_AT_RISK, OBJ_FINDING_RTO_ABOVE},
	{"backup exactly at the overdue bound: ok", setBackupAtBound, OBJ_VERDICT_OK, 0},
	{"backup past the overdue bound: at risk", setBackupOverBound, OBJ_VERDICT_AT_RISK, OBJ_FINDING_BACKUP_OVERDUE},
	{"no overdue bound: any age is ok", setBackupNoBound, OBJ_VERDICT_OK, 0},
	{"no valid backup: breached (and no RTO finding)", setNoBackup, OBJ_VERDICT_BREACHED, OBJ_FINDING_NO_BACKUP},
	{"archiving failing: at risk", setArchiveFailing, OBJ_VERDICT_AT_RISK, OBJ_FINDING_ARCHIVE_FAILING},
	{"oldest waiting WAL at half the RPO: ok", setLagAtHalf, OBJ_VERDICT_OK, 0},
	{"oldest waiting WAL over half the RPO: lagging", setLagOverHalf, OBJ_VERDICT_AT_RISK, OBJ_FINDING_ARCHIVE_LAGGING},
	{"WAL waiting for 0 s: ok", setLagZero, OBJ_VERDICT_OK, 0},
	{"no objectives: at risk, no figure compared", setNoTargets, OBJ_VERDICT_AT_RISK, OBJ_FINDING_NO_TARGETS},
	{"RPO target 0, nothing exposed: ok", setRpoTargetZero, OBJ_VERDICT_OK, 0},
	{"RPO target 0, anything exposed: breached", setRpoTargetZeroLate, OBJ_VERDICT_BREACHED, OBJ_FINDING_RPO_BREACHED},
	{"everything at once: breached, all findings", setEverything, OBJ_VERDICT_BREACHED,
	 OBJ_FINDING_RPO_BREACHED | OBJ_FINDING_RTO_ABOVE | OBJ_FINDING_BACKUP_OVERDUE |
	 OBJ_FINDING_ARCHIVE_FAILING | OBJ_FINDING_ARCHIVE_LAGGING},
	{"no backup and RPO at risk: breached, both", setNoBackupAtRisk, OBJ_VERDICT_BREACHED,
	 OBJ_FINDING_NO_BACKUP | OBJ_FINDING_RPO_AT_RISK},
};

static void
testVerdict(void)
{
	for (int i = 0; i < (int) lengthof(verdictCases); i++)
	{
		const VerdictCase *c = &verdictCases[i];
		ObjectivesInput in = base();
		ObjectivesVerdict v;

		c->set(&in);
		objectivesVerdict(&in, &v);
		is_str(objectivesVerdictName(v.kind), objectivesVerdictName(c->kind), "%s: verdict", c->name);
		is_int(v.findings, c->findings, "%s: findings", c->name);
		ok((v.kind == OBJ_VERDICT_OK) == (v.reason[0] == '\0'),
		   "%s: a reason exactly when not ok (\"%s\")", c->name, v.reason);
	}
}

static void
testReason(void)
{
	ObjectivesInput in = base();
	ObjectivesVerdict v;
	ObjectivesVerdictKind k;

	setEverything(&in);
	objectivesVerdict(&in, &v);
	ok(strncmp(v.reason, "RPO actual 200 s passes the RPO target 100 s; ",
			   strlen("RPO actual 200 s passes the RPO target 100 s; ")) == 0,
	   "the breach comes first in the reason, with its figures (%s)", v.reason);
	ok(strstr(v.reason, "RTO estimate 2000 s passes the RTO target 1000 s") != NULL,
	   "the RTO finding is in the reason");
	ok(strstr(v.reason, "WAL archiving is failing") != NULL, "the archive finding is in the reason");

	in = base();
	setNoBackupAtRisk(&in);
	objectivesVerdict(&in, &v);
	ok(strncmp(v.reason, "no valid backup", 15) == 0, "no backup first: %s", v.reason);

	ok(objectivesVerdictParse("at_risk", &k) && k == OBJ_VERDICT_AT_RISK, "at_risk parses");
	ok(objectivesVerdictParse("breached", &k) && k == OBJ_VERDICT_BREACHED, "breached parses");
	ok(!objectivesVerdictParse("fine", &k), "an unknown verdict name does not parse");
	is_str(objectivesVerdictName((ObjectivesVerdictKind) 7), "unknown", "an out of range verdict has no name");
}

static void
testRpoActual(void)
{
	TimestampTz now = 1000 * SEC;
	double		s;

	ok(objectivesRpoActual(now, false, 0, 0, &s) && s == 0, "nothing waiting: 0, even with nothing archived");
	ok(objectivesRpoActual(now, true, 900 * SEC, 0, &s) && fabs(s - 100) < 1e-9,
	   "waiting: since the newest archival (%g)", s);
	ok(objectivesRpoActual(now, true, 900 * SEC, 990 * SEC, &s) && fabs(s - 10) < 1e-9,
	   "waiting: since the last idle moment when later (%g)", s);
	ok(objectivesRpoActual(now, true, 995 * SEC, 990 * SEC, &s) && fabs(s - 5) < 1e-9,
	   "waiting: since the archival when later (%g)", s);
	ok(!objectivesRpoActual(now, true, 0, 0, &s), "waiting, nothing known: unknown");
	ok(objectivesRpoActual(now, true, 1005 * SEC, 0, &s) && s == 0, "an archival in the future counts 0");
}

static AvailabilitySample
sample(int64 atSec, int64 intervalSec, ObjectivesVerdictKind v, int rpoMet, int rtoMet)
{
	AvailabilitySample s;

	s.at = atSec * SEC;
	s.intervalUs = intervalSec * SEC;
	s.verdict = v;
	s.rpoMet = rpoMet;
	s.rtoMet = rtoMet;
	return s;
}

static void
testAvailability(void)
{
	AvailabilitySample s[8];
	AvailabilityResult r;
	double		p;

	/* 0..60 ok, 60..120 at risk, 120..180 breached, every 60 s */
	s[0] = sample(0, 60, OBJ_VERDICT_OK, 1, 1);
	s[1] = sample(60, 60, OBJ_VERDICT_AT_RISK, 1, 0);
	s[2] = sample(120, 60, OBJ_VERDICT_BREACHED, 0, -1);
	availabilityCompute(s, 3, 0, 180 * SEC, &r);
	ok(r.periodSec == 180 && r.knownSec == 180 && r.unknownSec == 0, "a covered period: all known");
	ok(r.okSec == 60 && r.atRiskSec == 60 && r.breachedSec == 60, "each verdict's time");
	is_int(r.samples, 3, "three samples");
	ok(r.rpoKnownSec == 180 && r.rpoMetSec == 120, "RPO met 120 of 180 s");
	ok(r.rtoKnownSec == 120 && r.rtoMetSec == 60, "RTO unknown time left out: met 60 of 120 s");
	ok(availabilityPercent(r.knownSec - r.breachedSec, r.knownSec, &p) && fabs(p - 200.0 / 3) < 1e-9,
	   "availability 2/3 (%g)", p);

	/* the last sample stands for two intervals at most: a gap after it */
	availabilityCompute(s, 3, 0, 400 * SEC, &r);
	ok(r.knownSec == 240 && r.unknownSec == 160, "the last sample: two intervals, then unknown (%g, %g)",
	   r.knownSec, r.unknownSec);
	ok(r.breachedSec == 120, "the last sample's verdict for its two intervals");

	/* a gap between samples longer than two intervals */
	s[0] = sample(0, 10, OBJ_VERDICT_OK, 1, 1);
	s[1] = sample(100, 10, OBJ_VERDICT_OK, 1, 1);
	availabilityCompute(s, 2, 0, 110 * SEC, &r);
	ok(r.knownSec == 30 && r.unknownSec == 80, "a gap between samples is unknown (%g)", r.knownSec);

	/* a sample before the period stands for its beginning; clipped */
	s[0] = sample(-30, 60, OBJ_VERDICT_BREACHED, 0, 0);
	s[1] = sample(30, 60, OBJ_VERDICT_OK, 1, 1);
	availabilityCompute(s, 2, 0, 60 * SEC, &r);
	ok(r.breachedSec == 30 && r.okSec == 30 && r.knownSec == 60, "a sample before from counts from from");
	is_int(r.samples, 2, "both count");

	/* a sample after the period does not count */
	s[0] = sample(0, 60, OBJ_VERDICT_OK, 1, 1);
	s[1] = sample(100, 60, OBJ_VERDICT_BREACHED, 0, 0);
	availabilityCompute(s, 2, 0, 50 * SEC, &r);
	ok(r.okSec == 50 && r.breachedSec == 0, "a sample after to does not count");
	is_int(r.samples, 1, "one sample stands for the period");

	/* nothing sampled */
	availabilityCompute(s, 0, 0, 50 * SEC, &r);
	ok(r.knownSec == 0 && r.unknownSec == 50, "no sample: all unknown");
	ok(!availabilityPercent(r.knownSec - r.breachedSec, r.knownSec, &p), "no known time: no percent (NULL)");

	/* an empty or reversed period */
	availabilityCompute(s, 2, 50 * SEC, 50 * SEC, &r);
	ok(r.periodSec == 0 && r.knownSec == 0, "an empty period: nothing");

	/* a sample with no interval stands for nothing */
	s[0] = sample(0, 0, OBJ_VERDICT_OK, 1, 1);
	availabilityCompute(s, 1, 0, 50 * SEC, &r);
	ok(r.knownSec == 0, "a sample without an interval stands for nothing");
}

static ObjectivesStandby
standby(bool sync, int64 lagMs, int64 lagBytes)
{
	ObjectivesStandby s;

	s.streaming = true;
	s.synchronous = sync;
	s.flushLagMs = lagMs;
	s.flushLagBytes = lagBytes;
	s.sampleAgeSec = 1;
	return s;
}

static void
testStandbyRpo(void)
{
	ObjectivesStandby s[5];
	double		lag = -1;
	bool		known;
	double		sec;

	s[0] = standby(false, 4000, 1000);
	s[1] = standby(true, 2500, 500);
	s[2] = standby(false, 1500, 100);
	is_int(objectivesStandbyBest(s, 3, false, &lag), 2, "the least flush lag wins");
	ok(fabs(lag - 1.5) < 1e-9, "... 1.5 s (%g)", lag);
	is_int(objectivesStandbyBest(s, 3, true, &lag), 1, "synchronous only: the synchronous one");
	ok(fabs(lag - 2.5) < 1e-9, "... 2.5 s");

	s[2].streaming = false;
	is_int(objectivesStandbyBest(s, 3, false, &lag), 1, "not streaming: left out");
	s[2].streaming = true;
	s[2].sampleAgeSec = OBJ_STANDBY_SAMPLE_MAX_AGE_SEC + 0.1;
	is_int(objectivesStandbyBest(s, 3, false, &lag), 1, "a stale sample: left out");
	s[2].sampleAgeSec = OBJ_STANDBY_SAMPLE_MAX_AGE_SEC;
	is_int(objectivesStandbyBest(s, 3, false, &lag), 2, "a sample exactly at the bound counts");

	s[3] = standby(false, -1, 0);
	is_int(objectivesStandbyBest(s, 4, false, &lag), 3,
		   "lag time NULL with nothing to flush: caught up, 0");
	ok(lag == 0, "... 0 s");
	s[3].flushLagBytes = 8192;
	is_int(objectivesStandbyBest(s, 4, false, &lag), 2,
		   "lag time NULL with WAL to flush: unknown, left out");
	s[3].flushLagBytes = -1;
	is_int(objectivesStandbyBest(s, 4, false, &lag), 2, "nothing known: left out");
	is_int(objectivesStandbyBest(s, 0, false, &lag), -1, "no standby: none");
	is_int(objectivesStandbyBest(s, 1, true, &lag), -1, "no synchronous one: none");

	/* archive 60 s; any standby 2 s; synchronous 5 s */
	ok(objectivesRpoChoose(OBJ_RPO_MODE_AUTO, true, 60, true, 2, true, 5, &known, &sec) &&
	   known && sec == 5, "auto with a synchronous standby: its lag (5 s)");
	ok(!objectivesRpoChoose(OBJ_RPO_MODE_AUTO, true, 60, true, 2, false, 0, &known, &sec) &&
	   known && sec == 60, "auto, only asynchronous standbys: the archive's");
	ok(!objectivesRpoChoose(OBJ_RPO_MODE_ARCHIVE, true, 60, true, 2, true, 5, &known, &sec) &&
	   sec == 60, "archive: the archive's, whatever the standbys");
	ok(objectivesRpoChoose(OBJ_RPO_MODE_STANDBY, true, 1, true, 2, true, 5, &known, &sec) &&
	   sec == 2, "standby: the best standby's, even above the archive's");
	ok(!objectivesRpoChoose(OBJ_RPO_MODE_STANDBY, true, 60, false, 0, false, 0, &known, &sec) &&
	   known && sec == 60, "standby, none healthy: the archive's");
	ok(objectivesRpoChoose(OBJ_RPO_MODE_BEST, true, 60, true, 2, false, 0, &known, &sec) &&
	   sec == 2, "best: the standby's when smaller");
	ok(!objectivesRpoChoose(OBJ_RPO_MODE_BEST, true, 1, true, 2, false, 0, &known, &sec) &&
	   sec == 1, "best: the archive's when smaller");
	ok(objectivesRpoChoose(OBJ_RPO_MODE_BEST, false, 0, true, 2, false, 0, &known, &sec) &&
	   known && sec == 2, "best, the archive's unknown: the standby's");
	ok(!objectivesRpoChoose(OBJ_RPO_MODE_STANDBY, false, 0, false, 0, false, 0, &known, &sec) &&
	   !known, "nothing known: unknown");
}

int
main(void)
{
	testVerdict();
	testStandbyRpo();
	testReason();
	testRpoActual();
	testAvailability();
	return tapDone();
}
