/*-------------------------------------------------------------------------
 * schedule_decide.c
 *	  The scheduler's decision (see schedule_decide.h).  Pure: no I/O, no
 *	  server calls.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <math.h>

#include "ops/schedule_decide.h"

#define SEC		((int64) 1000000)

const char *
scheduleJobKindName(ScheduleJobKind kind)
{
	switch (kind)
	{
		case SCHEDULE_JOB_FULL:
			return "full";
		case SCHEDULE_JOB_INCREMENTAL:
			return "incremental";
		case SCHEDULE_JOB_NONE:
			break;
	}
	return "none";
}

TimestampTz
scheduleFullSlot(const SchedulePolicy *policy, int tzOffsetSec, TimestampTz now)
{
	/* slots: 2000-01-01 fullAt local time, then every fullIntervalSec */
	TimestampTz anchor = ((int64) policy->fullAtSec - tzOffsetSec) * SEC;
	int64		interval = Max(policy->fullIntervalSec, 1) * SEC;
	int64		k;

	if (now >= anchor)
		k = (now - anchor) / interval;
	else
		k = -((anchor - now + interval - 1) / interval);
	return anchor + k * interval;
}

int64
scheduleBackoffSec(const SchedulePolicy *policy, int failures)
{
	int64		backoff = Max(policy->retryBaseSec, 1);

	for (int i = 1; i < failures && backoff < policy->retryMaxSec; i++)
		backoff *= 2;
	return Min(backoff, Max(policy->retryMaxSec, policy->retryBaseSec));
}

/* A duration for people: "2 h 5 min", "40 s". */
static void
scheduleDuration(int64 sec, char *buf, size_t size)
{
	if (sec >= 3600 && sec % 3600 == 0)
		snprintf(buf, size, INT64_FORMAT " h", sec / 3600);
	else if (sec >= 3600)
		snprintf(buf, size, INT64_FORMAT " h " INT64_FORMAT " min",
				 sec / 3600, (sec % 3600) / 60);
	else if (sec >= 60 && sec % 60 == 0)
		snprintf(buf, size, INT64_FORMAT " min", sec / 60);
	else if (sec >= 60)
		snprintf(buf, size, INT64_FORMAT " min " INT64_FORMAT " s",
				 sec / 60, sec % 60);
	else
		snprintf(buf, size, INT64_FORMAT " s", sec);
}

/*
 * Why a full is due now, if it is (the chain bounds and the slot); else
 * when the next full is due (*fullAt) and false.
 */
static bool
scheduleFullDue(const ScheduleInput *in, TimestampTz *fullAt, char *why,
				size_t size)
{
	const SchedulePolicy *p = &in->policy;
	int64		interval = p->fullIntervalSec * SEC;

	if (p->chainMaxLength > 0 && in->chainLength >= p->chainMaxLength)
	{
		snprintf(why, size,
				 "the newest chain holds %d backups, the policy's bound is %d",
				 in->chainLength, p->chainMaxLength);
		*fullAt = in->now;
		return true;
	}
	if (p->chainMaxBytes > 0 && in->chainBytes >= p->chainMaxBytes)
	{
		snprintf(why, size,
				 "the newest chain stores " INT64_FORMAT " bytes, the policy's bound is " INT64_FORMAT,
				 in->chainBytes, p->chainMaxBytes);
		*fullAt = in->now;
		return true;
	}
	if (p->changedFractionMax > 0 && in->fullBytes > 0 &&
		(double) in->incrementalBytes / (double) in->fullBytes > p->changedFractionMax)
	{
		snprintf(why, size,
				 "the chain's incrementals hold %.0f%% of its full backup's size (bound %.0f%%): a restore would read more than a new full",
				 100.0 * (double) in->incrementalBytes / (double) in->fullBytes,
				 100.0 * p->changedFractionMax);
		*fullAt = in->now;
		return true;
	}

	if (!in->haveFull)
	{
		/* the chain's full is not in the catalog: count from the newest */
		*fullAt = in->newestStart + interval;
	}
	else if (p->fullAtSec >= 0)
	{
		TimestampTz slot = scheduleFullSlot(p, in->tzOffsetSec, in->now);

		/* a full shortly before the slot (forced by a bound) counts for it */
		if (in->fullStart < slot - interval / 2)
		{
			char		d[32];

			scheduleDuration(p->fullIntervalSec, d, sizeof(d));
			snprintf(why, size,
					 "a full backup is scheduled every %s at %02d:%02d and none was taken for the last slot",
					 d, p->fullAtSec / 3600, (p->fullAtSec % 3600) / 60);
			*fullAt = slot;
			return true;
		}
		*fullAt = slot + interval;
		/* the next slot, unless the last full counts for it too */
		if (in->fullStart >= *fullAt - interval / 2)
			*fullAt += interval;
	}
	else
		*fullAt = in->fullStart + interval;

	if (*fullAt <= in->now)
	{
		char		d[32];

		scheduleDuration(p->fullIntervalSec, d, sizeof(d));
		snprintf(why, size,
				 "the newest full backup is older than the policy's full interval of %s", d);
		return true;
	}
	return false;
}

void
scheduleDecide(const ScheduleInput *in, ScheduleDecision *out)
{
	const SchedulePolicy *p = &in->policy;
	char		why[SCHEDULE_REASON_SIZE];
	char		when[SCHEDULE_REASON_SIZE];
	char		d[32];
	TimestampTz fullAt = 0;
	TimestampTz incAt;
	bool		headroomUsed = false;
	bool		adaptive = false;
	int64		headroom = -1;

	memset(out, 0, sizeof(*out));
	out->kind = SCHEDULE_JOB_NONE;
	why[0] = '\0';

	if (!in->enabled)
	{
		strlcpy(out->reason, "the scheduler is off (pg_dr.schedule = off)",
				sizeof(out->reason));
		return;
	}
	if (!in->policyFound)
	{
		snprintf(out->reason, sizeof(out->reason),
				 "the tier %s has no schedule policy (dr_schedule_policies)",
				 in->tierName ? in->tierName : "?");
		return;
	}
	out->intervalSec = p->incrementalIntervalSec;
	if (in->jobRunning)
	{
		strlcpy(out->reason, "a backup is running; the next job is decided when it ends",
				sizeof(out->reason));
		return;
	}

	if (!in->haveBackup)
	{
		out->kind = SCHEDULE_JOB_FULL;
		out->at = in->now;
		out->required = true;
		strlcpy(why, "there is no valid backup to restore from (or to build an incremental on): the objectives cannot be met until a full backup exists",
				sizeof(why));
	}
	else
	{
		int64		sinceNewest = Max(in->now - in->newestEnd, 0) / SEC;

		/* the incremental's interval, shortened for the RTO */
		if (in->rtoTargetSec > 0)
		{
			headroom = rtoModelWalHeadroom(&in->rto, in->rtoTargetSec);
			if (headroom >= 0)
			{
				double		allowed = ((double) Max(in->walSinceBackup, 0) + (double) headroom) *
					SCHEDULE_HEADROOM_SHARE;

				if (headroom == 0 || (double) in->walSinceBackup >= allowed)
				{
					/* the interval in effect: the time since the newest */
					headroomUsed = true;
					out->intervalSec = Min(out->intervalSec,
										   Max(sinceNewest, p->incrementalMinSec));
				}
				else if (in->walRate > 0)
				{
					double		left = (allowed - (double) in->walSinceBackup) / in->walRate;
					double		ival = (double) sinceNewest + floor(left);

					if (ival < (double) out->intervalSec)
					{
						out->intervalSec = Max((int64) ival, p->incrementalMinSec);
						adaptive = true;
					}
				}
			}
		}
		incAt = in->newestEnd + out->intervalSec * SEC;

		if (scheduleFullDue(in, &fullAt, why, sizeof(why)))
		{
			out->kind = SCHEDULE_JOB_FULL;
			out->at = fullAt;
			out->required = headroomUsed;
		}
		else if (headroomUsed)
		{
			out->kind = SCHEDULE_JOB_INCREMENTAL;
			out->at = in->now;
			out->required = true;
			snprintf(why, sizeof(why),
					 "the WAL written since the newest backup (" INT64_FORMAT " bytes) uses %.0f%% or more of what the RTO target of %.0f s allows (headroom left " INT64_FORMAT " bytes)",
					 in->walSinceBackup, 100.0 * SCHEDULE_HEADROOM_SHARE,
					 in->rtoTargetSec, headroom);
		}
		else if (fullAt < incAt)
		{
			out->kind = SCHEDULE_JOB_FULL;
			out->at = fullAt;
			strlcpy(why, "the next full backup of the policy comes before the next incremental",
					sizeof(why));
		}
		else
		{
			out->kind = SCHEDULE_JOB_INCREMENTAL;
			out->at = incAt;
			scheduleDuration(out->intervalSec, d, sizeof(d));
			if (adaptive)
			{
				char		pd[32];

				scheduleDuration(p->incrementalIntervalSec, pd, sizeof(pd));
				snprintf(why, sizeof(why),
						 "an incremental every %s (shortened from the policy's %s: at %.0f bytes/s of WAL the RTO estimate would pass the target of %.0f s)",
						 d, pd, in->walRate, in->rtoTargetSec);
			}
			else
				snprintf(why, sizeof(why),
						 "an incremental every %s after the newest backup", d);
		}
	}

	/* a failed job waits for its backoff, whatever is due */
	if (in->lastJobFailed && in->failures > 0)
	{
		int64		backoff = scheduleBackoffSec(p, in->failures);
		TimestampTz retryAt = in->lastJobEnd + backoff * SEC;

		if (out->at < retryAt)
		{
			out->at = retryAt;
			out->retry = true;
			scheduleDuration(backoff, d, sizeof(d));
			snprintf(when, sizeof(when),
					 "retry %d after a failed job (%s), backoff %s; ",
					 in->failures, in->lastJobError ? in->lastJobError : "no error recorded", d);
		}
		else
			snprintf(when, sizeof(when), "retry %d after a failed job; ", in->failures);
	}
	else
		when[0] = '\0';

	out->dueNow = out->at <= in->now;

	if (out->dueNow && !out->required)
	{
		bool		busyBackends = p->busyBackends > 0 &&
			in->activeBackends >= p->busyBackends;
		bool		busyLoad = p->busyLoad > 0 && in->loadAverage >= 0 &&
			in->loadAverage >= p->busyLoad;

		if (busyBackends || busyLoad)
		{
			int64		dueFor = (in->now - out->at) / SEC;
			char		busy[160];

			if (busyBackends)
				snprintf(busy, sizeof(busy), "%d active backends (threshold %d)",
						 in->activeBackends, p->busyBackends);
			else
				snprintf(busy, sizeof(busy), "load average %.2f (threshold %.2f)",
						 in->loadAverage, p->busyLoad);
			if (dueFor < p->deferMaxSec)
			{
				out->deferred = true;
				out->dueNow = false;
				out->at = in->now + in->pollSec * SEC;
				scheduleDuration(p->deferMaxSec, d, sizeof(d));
				snprintf(out->reason, sizeof(out->reason),
						 "%sdeferred, the cluster is busy: %s; deferred at most %s: %s",
						 when, busy, d, why);
				return;
			}
			scheduleDuration(dueFor, d, sizeof(d));
			snprintf(out->reason, sizeof(out->reason),
					 "%sdue for %s, longer than a busy cluster defers it (%s): %s",
					 when, d, busy, why);
			return;
		}
	}
	snprintf(out->reason, sizeof(out->reason), "%s%s", when, why);
}
