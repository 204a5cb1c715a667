/*-------------------------------------------------------------------------
 * schedule.h
 *	  The scheduler (pg_dr.schedule = on; docs/scheduling.md): a duty of
 *	  the pg_dr worker that decides the next backup (schedule_decide.h)
 *	  and starts it in a dynamic background worker of its own, and the
 *	  record of every backup job in pgdr.jobs (dr_jobs).
 *
 * Why a worker of its own: a backup runs for minutes or hours, and the
 * general worker's other duties (the audit drain, restore points, WAL
 * switches for the RPO, alerts) must keep running meanwhile.  The duty
 * writes the job's row (result "running"), commits, and starts the job
 * worker with the row's id; the job worker calls dr_backup_full() or
 * dr_backup_incremental() through SPI (the same path as a user's call:
 * audited, alerts, the catalog), records the result in the row in a
 * transaction of its own (so a failure is recorded too), raises or
 * resolves the "schedule"/"job_failed" alert, then runs dr_expire().
 *
 * Manual calls of dr_backup_full()/dr_backup_incremental() are recorded
 * too (trigger "manual"): a success in the caller's transaction, a
 * failure queued in shared memory (the caller's transaction aborts) and
 * written by the duty.
 *
 * The duty publishes its last decision and the reasoning in shared memory
 * for dr_schedule and dr_schedule_explain().
 *-------------------------------------------------------------------------
 */
#ifndef DR_SCHEDULE_H
#define DR_SCHEDULE_H

#include "fmgr.h"
#include "datatype/timestamp.h"

#include "ops/schedule_decide.h"

#define SCHEDULE_LWLOCK_TRANCHE		"pg_dr schedule"
#define SCHEDULE_EXPLAIN_SIZE		4096

/* pg_dr.schedule */
extern bool drSchedule;
/* pg_dr.jobs_retention: seconds a finished job's row of pgdr.jobs is kept */
extern int	drJobsRetention;
extern void scheduleSettingsDefine(void);

extern void scheduleShmemRequest(void);
extern void scheduleShmemInit(void);
extern void scheduleDutiesRegister(void);

/* Entry point of a scheduled job's worker. */
extern PGDLLEXPORT void pg_dr_schedule_job_main(Datum arg);

/* What dr_schedule shows: the duty's last decision. */
typedef struct ScheduleSnapshot
{
	bool		decided;		/* the duty decided at least once */
	bool		enabled;
	char		tier[16];
	ScheduleDecision decision;
	double		walRate;		/* bytes/s; < 0 = not measured yet */
	double		rtoEstimateSec; /* < 0 = no backup */
	int64		runningJob;		/* pgdr.jobs id; 0 = none */
	TimestampTz decidedAt;
	/* the PITR duty's scheduled restore points (pitr.h, pitrScheduleGet) */
	bool		restorePointKnown;	/* false before the PITR duty's round */
	int			restorePointIntervalSec;	/* 0: none */
	char		restorePointSource[32]; /* "policy", "pg_dr.pitr_interval" */
	TimestampTz restorePointNext;	/* 0: none */
	char		explain[SCHEDULE_EXPLAIN_SIZE];
} ScheduleSnapshot;

extern void scheduleSnapshotGet(ScheduleSnapshot *snapshot);

/*
 * A manual backup job (dr_backup_full/dr_backup_incremental), recorded in
 * pgdr.jobs: scheduleJobRecordManual inserts the row now (the caller runs
 * as the extension owner, in its transaction: a success);
 * scheduleJobQueueManual queues it for the duty (inside PG_CATCH of a
 * failure or cancel: never throws).  Neither does anything inside a
 * scheduled job's worker, which records its job itself.
 */
typedef struct ScheduleJobRecord
{
	bool		incremental;
	TimestampTz startedAt;
	TimestampTz finishedAt;
	const char *result;			/* ok, failed, cancelled */
	const char *backupId;		/* NULL when none */
	int64		bytes;			/* -1 = unknown */
	const char *error;
	const char *reason;			/* a full taken instead: why */
} ScheduleJobRecord;

extern void scheduleJobRecordManual(const ScheduleJobRecord *job);
extern void scheduleJobQueueManual(const ScheduleJobRecord *job);
extern bool scheduleInJobWorker(void);

#endif							/* DR_SCHEDULE_H */
