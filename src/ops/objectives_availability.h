/*-------------------------------------------------------------------------
 * objectives_availability.h
 *	  dr_availability(from, to): achieved availability and RPO / RTO
 *	  compliance over a period, from the samples of
 *	  dr_objectives_history, as a pure function.  Compiled into the CLI
 *	  build too, for test/unit/test_objectives.c.
 *
 * Definitions (docs/sql.md, "dr_availability"):
 *	 - A sample taken at t, the sampler's interval then being i, stands
 *	   for [t, min(next sample's t, t + 2 i)): the state it saw is assumed
 *	   to hold until the next sample, but no longer than two intervals (a
 *	   worker that stopped sampling does not stretch its last sample).
 *	 - Time of the period [from, to) that no sample stands for is unknown
 *	   (the worker was not running, the server was down, history was
 *	   expired).
 *	 - availability = time whose verdict was not breached / known time;
 *	   RPO compliance = time whose RPO actual was within the RPO target /
 *	   time whose RPO actual was known; RTO compliance likewise with the
 *	   RTO estimate (known only when a backup existed).  Unknown time is
 *	   in neither the numerator nor the denominator; each is reported so
 *	   that a reader can tell how much the figure rests on.
 *-------------------------------------------------------------------------
 */
#ifndef DR_OBJECTIVES_AVAILABILITY_H
#define DR_OBJECTIVES_AVAILABILITY_H

#include "datatype/timestamp.h"

#include "ops/objectives_verdict.h"

/* One sample of dr_objectives_history; samples are given oldest first. */
typedef struct AvailabilitySample
{
	TimestampTz at;
	int64		intervalUs;		/* the sampling interval when taken (> 0) */
	ObjectivesVerdictKind verdict;
	int			rpoMet;			/* 1 within target, 0 not, -1 unknown */
	int			rtoMet;			/* likewise */
} AvailabilitySample;

typedef struct AvailabilityResult
{
	double		periodSec;
	int64		samples;		/* samples standing for some of the period */
	double		knownSec;		/* time some sample stands for */
	double		unknownSec;		/* periodSec - knownSec */
	double		okSec;
	double		atRiskSec;
	double		breachedSec;
	double		rpoKnownSec;
	double		rpoMetSec;
	double		rtoKnownSec;
	double		rtoMetSec;
} AvailabilityResult;

/*
 * Compute over [from, to) (from < to).  The samples may start before from
 * (the one before it may stand for its beginning) and must be ordered by
 * time.
 */
extern void availabilityCompute(const AvailabilitySample *samples, int count,
								TimestampTz from, TimestampTz to,
								AvailabilityResult *out);

/* A percentage part / whole * 100; false (NULL) when whole is 0. */
extern bool availabilityPercent(double part, double whole, double *percent);

#endif							/* DR_OBJECTIVES_AVAILABILITY_H */
