/*-------------------------------------------------------------------------
 * schedule_internal.h
 *	  What schedule.c (the duty) and schedule_job.c (the jobs) share: the
 *	  shared memory and the rows of pgdr.jobs.
 *-------------------------------------------------------------------------
 */
#ifndef DR_SCHEDULE_INTERNAL_H
#define DR_SCHEDULE_INTERNAL_H

#include "storage/lwlock.h"

#include "ops/schedule.h"

/* failed manual jobs waiting for the duty; one more is dropped (logged) */
#define SCHEDULE_QUEUE_SIZE		16

typedef struct ScheduleQueued
{
	bool		used;
	bool		incremental;
	TimestampTz startedAt;
	TimestampTz finishedAt;
	char		result[16];
	char		error[512];
	char		applicationName[NAMEDATALEN];
} ScheduleQueued;

typedef struct ScheduleShared
{
	LWLock	   *lock;
	int64		runningJob;		/* the scheduled job whose worker runs; 0 =
								 * none */
	ScheduleSnapshot snapshot;
	ScheduleQueued queue[SCHEDULE_QUEUE_SIZE];
	int			queued;			/* used slots of queue */
	struct Latch *workerLatch;	/* the pg_dr worker's: set it after queuing;
								 * NULL before the duty's first round */
} ScheduleShared;

extern ScheduleShared *scheduleShared;

/* Insert a finished job's row (SPI connected; as owner or the worker). */
extern void scheduleJobInsert(const ScheduleJobRecord *job, const char *trigger,
							  const char *applicationName);

/* Insert a scheduled job's row, result running; returns its id (SPI). */
extern int64 scheduleJobCreate(const ScheduleDecision *d, int attempt);

/*
 * Record a scheduled job's end: result ok (backupId set) or failed/
 * cancelled (error), its bytes and kind from pgdr.backups, and raise or
 * resolve the "schedule"/"job_failed" alert.  In a transaction; connects
 * to SPI itself.
 */
extern void scheduleJobFinish(int64 jobId, bool ok, const char *backupId,
							  const char *error, bool cancelled);

/*
 * Prune pgdr.jobs (SPI connected): the rows of jobs that ended before
 * horizon go, and their count is added to pgdr.jobs_pruned by trigger,
 * kind and result (pg_dr_jobs_total counts them, so that the counter never
 * goes down).  Never a running job's row, nor the rows the scheduler's
 * decision reads: the newest scheduled job that succeeded and every
 * scheduled job after it (the failures in a row it backs off on).
 * Returns how many rows went.
 */
extern int64 scheduleJobsPrune(TimestampTz horizon);

/*
 * A scheduled row still "running" but runningJob (SPI connected): its
 * worker ended without recording a result; failed.
 */
extern void scheduleFailStale(int64 runningJob);

#endif							/* DR_SCHEDULE_INTERNAL_H */
