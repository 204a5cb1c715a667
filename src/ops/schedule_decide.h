/*-------------------------------------------------------------------------
 * schedule_decide.h
 *	  The scheduler's decision, as a pure function: which backup the
 *	  scheduler takes next (full, incremental or none), when, and why in
 *	  words.  Compiled into the CLI build too, for the unit tests
 *	  (test/unit/test_schedule_decide.c); schedule.c gathers the inputs
 *	  (the tier's policy from pgdr.schedule_policies, the catalog of
 *	  backups, pgdr.jobs, the WAL position and the load) and starts the job.
 *
 * The rules, in the order they are applied:
 *  1. Scheduling off, or no policy for the tier: none.
 *  2. A backup running (scheduled or not): none until it ends.
 *  3. No backup to restore from (or the newest chain cannot be built on):
 *     a full now -- an objective is breached until one exists.
 *  4. The kind: a full when the policy's full slot passed since the newest
 *     full started (slots: fullAt, local time, then every fullIntervalSec;
 *     a full that started less than half an interval before the slot
 *     counts for it), when the chain holds chainMaxLength backups or
 *     chainMaxBytes stored bytes, or when its incrementals hold more than
 *     changedFractionMax of the full's size (a restore would then read
 *     much more than a new full); otherwise an incremental.
 *  5. When: a full as above is due now.  An incremental is due at the
 *     newest backup's end plus the effective interval: the policy's
 *     incremental interval, shortened (never below the policy's minimum)
 *     so that the WAL written since the newest backup's start stays within
 *     SCHEDULE_HEADROOM_SHARE of the RTO model's WAL headroom at the
 *     measured WAL rate (rtoModelWalHeadroom); due now when the headroom
 *     is already used up to that share.
 *  6. A failed scheduled job: not again before its end plus the backoff,
 *     retryBaseSec doubled per consecutive failure, at most retryMaxSec.
 *  7. Busy (active backends at or above busyBackends, or the load average
 *     at or above busyLoad; 0 turns a threshold off): a due job that is
 *     optional is deferred by pollSec; a job is not optional when there is
 *     no backup (rule 3), when the RTO headroom is used up (rule 5), or
 *     when it has been due for deferMaxSec already.
 *-------------------------------------------------------------------------
 */
#ifndef DR_SCHEDULE_DECIDE_H
#define DR_SCHEDULE_DECIDE_H

#include "datatype/timestamp.h"

#include "ops/rto_model.h"

#define SCHEDULE_REASON_SIZE	512

/* the share of the RTO model's WAL headroom used before an incremental */
#define SCHEDULE_HEADROOM_SHARE	0.8

/* A tier's policy (pgdr.schedule_policies); intervals in seconds. */
typedef struct SchedulePolicy
{
	int			fullAtSec;		/* full slots' time of day, local seconds
								 * after midnight; -1 = no anchor: every
								 * fullIntervalSec after the newest full */
	int64		fullIntervalSec;	/* > 0 */
	int64		incrementalIntervalSec; /* > 0 */
	int64		incrementalMinSec;	/* the adaptive interval's floor, > 0 */
	int			chainMaxLength; /* 0 = no bound */
	int64		chainMaxBytes;	/* 0 = no bound */
	double		changedFractionMax; /* 0 = no bound */
	int			busyBackends;	/* 0 = off */
	double		busyLoad;		/* 0 = off */
	int64		deferMaxSec;	/* a busy cluster defers a job this long */
	int64		retryBaseSec;	/* > 0 */
	int64		retryMaxSec;	/* >= retryBaseSec */
} SchedulePolicy;

typedef struct ScheduleInput
{
	TimestampTz now;
	bool		enabled;		/* pg_dr.schedule */
	bool		policyFound;	/* the tier has a policy */
	const char *tierName;
	SchedulePolicy policy;
	int			tzOffsetSec;	/* local time = UTC + this, at now */
	int64		pollSec;		/* how often the duty looks again */

	bool		jobRunning;		/* a scheduled job or any backup runs */

	/* the catalog: the newest backup and its chain */
	bool		haveBackup;		/* a valid backup to build on */
	TimestampTz newestStart;	/* the newest backup's start */
	TimestampTz newestEnd;		/* ... and end */
	bool		haveFull;		/* its chain's full */
	TimestampTz fullStart;
	int			chainLength;	/* backups in the newest chain, full
								 * included */
	int64		chainBytes;		/* stored bytes of the chain */
	int64		fullBytes;		/* the full's data bytes */
	int64		incrementalBytes;	/* stored bytes of its incrementals */

	/* the last scheduled job */
	bool		lastJobFailed;
	TimestampTz lastJobEnd;
	int			failures;		/* consecutive failed scheduled jobs */
	const char *lastJobError;

	/* WAL and the RTO model */
	int64		walSinceBackup; /* insert LSN - newest backup's start LSN */
	double		walRate;		/* bytes/s measured; <= 0 = unknown */
	double		rtoTargetSec;	/* the tier's RTO; <= 0 = unknown */
	RtoModelInput rto;			/* chainBytes, walBytes, rates */

	/* load */
	int			activeBackends;
	double		loadAverage;	/* < 0 = unknown */
} ScheduleInput;

typedef enum ScheduleJobKind
{
	SCHEDULE_JOB_NONE,
	SCHEDULE_JOB_FULL,
	SCHEDULE_JOB_INCREMENTAL
} ScheduleJobKind;

typedef struct ScheduleDecision
{
	ScheduleJobKind kind;		/* the next job */
	TimestampTz at;				/* when (<= now: due now); 0 with NONE */
	bool		dueNow;			/* start it now */
	bool		deferred;		/* due, but the cluster is busy */
	bool		retry;			/* a retry of a failed job */
	bool		required;		/* an objective would be breached by waiting */
	int64		intervalSec;	/* the effective incremental interval */
	char		reason[SCHEDULE_REASON_SIZE];
} ScheduleDecision;

extern void scheduleDecide(const ScheduleInput *in, ScheduleDecision *out);

/* The newest full slot at or before now (policy fullAtSec >= 0). */
extern TimestampTz scheduleFullSlot(const SchedulePolicy *policy,
									int tzOffsetSec, TimestampTz now);

/* retryBaseSec * 2^(failures - 1), at most retryMaxSec (failures >= 1). */
extern int64 scheduleBackoffSec(const SchedulePolicy *policy, int failures);

extern const char *scheduleJobKindName(ScheduleJobKind kind);

#endif							/* DR_SCHEDULE_DECIDE_H */
