/*-------------------------------------------------------------------------
 * pitr_decide.c
 *	  The PITR duty's decisions (see pitr_decide.h).  Pure: every input is
 *	  an argument, so the rules are unit tested without a server.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <time.h>

#include "pitr/pitr_decide.h"

/* Has at least ms passed from start to stop (TimestampDifferenceExceeds)? */
static bool
pitrElapsed(TimestampTz start, TimestampTz stop, int64 ms)
{
	return stop - start >= ms * 1000;
}

void
pitrPointName(TimestampTz t, char *name, size_t size)
{
	/* TimestampTz counts from 2000-01-01, time_t from 1970-01-01 */
	time_t		unixTime = (time_t) (t / USECS_PER_SEC +
									 (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY);
	struct tm	tm;

	/* a timestamp before 2000 with a fraction: round down, like timestamptz_to_time_t */
	if (t < 0 && t % USECS_PER_SEC != 0)
		unixTime--;
	gmtime_r(&unixTime, &tm);
	snprintf(name, size, "pg_dr_%04d%02d%02d_%02d%02d%02d",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void
pitrDecide(const PitrDecideInput *in, PitrDecision *out)
{
	int64		halfRpoMs;

	memset(out, 0, sizeof(*out));
	out->action = PITR_ACTION_NONE;

	if (in->originRefused)
	{
		strlcpy(out->reason, "a restored cluster: its origin marker refuses scheduled restore points and WAL switches",
				sizeof(out->reason));
		return;
	}

	if (in->intervalSec > 0 &&
		pitrElapsed(in->lastPoint, in->now, (int64) in->intervalSec * 1000))
	{
		out->action = PITR_ACTION_RESTORE_POINT;
		pitrPointName(in->now, out->name, sizeof(out->name));
		snprintf(out->reason, sizeof(out->reason),
				 "%s passed since the last scheduled restore point",
				 in->intervalSource == PITR_INTERVAL_POLICY ?
				 "the schedule policy's restore_point_interval" : "pg_dr.pitr_interval");
		return;
	}

	if (!in->archiving || in->rpoMs <= 0)
	{
		strlcpy(out->reason, in->archiving ? "no RPO known for the tier" : "archiving is off",
				sizeof(out->reason));
		return;
	}

	/* the worker has always compared in int milliseconds */
	halfRpoMs = Min(in->rpoMs / 2, (int64) PG_INT32_MAX);
	if (!pitrElapsed(in->lastArchived, in->now, halfRpoMs))
		strlcpy(out->reason, "newest archived WAL within half the RPO", sizeof(out->reason));
	else if (!pitrElapsed(in->lastSwitch, in->now, halfRpoMs))
		strlcpy(out->reason, "last WAL switch within half the RPO", sizeof(out->reason));
	else if (!in->walWritten)
		strlcpy(out->reason, "no WAL written since the segment began", sizeof(out->reason));
	else
	{
		out->action = PITR_ACTION_WAL_SWITCH;
		snprintf(out->reason, sizeof(out->reason),
				 "newest archived WAL older than half the %s tier's RPO",
				 in->tierName ? in->tierName : "unknown");
	}
}

PitrIntervalSource
pitrIntervalPick(bool scheduleOn, bool policyFound, int policySec,
				 int settingSec, int *intervalSec)
{
	if (scheduleOn && policyFound)
	{
		*intervalSec = Max(policySec, 0);
		return PITR_INTERVAL_POLICY;
	}
	*intervalSec = Max(settingSec, 0);
	return PITR_INTERVAL_SETTING;
}

const char *
pitrIntervalSourceName(PitrIntervalSource source)
{
	return source == PITR_INTERVAL_POLICY ? "policy" : "pg_dr.pitr_interval";
}

TimestampTz
pitrNextDue(TimestampTz lastRound, TimestampTz lastPoint, bool lastPointKnown,
			int intervalSec, int64 pollMs)
{
	TimestampTz due;

	if (lastRound == 0)
		return 0;				/* never ran: due at once */
	due = lastRound + pollMs * 1000;
	if (lastPointKnown && intervalSec > 0)
	{
		TimestampTz point = lastPoint + (int64) intervalSec * USECS_PER_SEC;

		if (point < due)
			due = point;
	}
	return due;
}
