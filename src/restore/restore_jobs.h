/*-------------------------------------------------------------------------
 * restore_jobs.h
 *	  The parallel restore job engine: the file step of a restore (restore.h)
 *	  spread over N jobs, each in a process of its own.  Shared code: the
 *	  engine knows jobs only through a launcher (a struct of callbacks), so
 *	  that the CLI runs them as forked children (restore_jobs_fork.c) and a
 *	  server can run them as background workers.
 *
 * The split.  Files go to the jobs largest first, balanced by bytes (a
 * file restored in units, restore_internal.h, counts as one file per unit,
 * so that the parts of one large file go to several jobs): the
 * RESTORE_JOBS_BIG_MAX largest files of the backup are placed first,
 * largest first, each on the job with the fewest bytes so far; then every
 * other file, in manifest order, on the job with the fewest bytes so far
 * (ties: the one with the fewest files, then the lower one: empty files
 * are spread too).  The split is a pure function of the files' sizes in
 * manifest order, so every process that walks the manifest computes the
 * same one (RestoreJobSplit below).  Memory is bounded by
 * RESTORE_JOBS_BIG_MAX, whatever the number of files: a job walks every
 * file of the manifest and restores those the split gives it.
 *
 * The run (restoreJobsRun), after restoreBegin and restorePrepare:
 *	 1. the split, from the backup's manifest (read once more);
 *	 2. every job started through the launcher;
 *	 3. a wait loop: each job's progress and result collected, the host's
 *		cancel request checked (RestoreParam.host, common/host.h) at least
 *		every RESTORE_JOBS_POLL_MS, aggregated progress (the bytes and
 *		files of every job) reported at most every
 *		RESTORE_JOBS_PROGRESS_MS;
 *	 4. on the first job that fails, or a cancel request, every other job
 *		is stopped (the launcher's stop waits for them to be gone) and the
 *		restore fails: with that job's error, or DR_ERR_CANCELED.  Nothing
 *		then looks valid: restoreFinish did not run, so the target has no
 *		global/pg_control (restore.h);
 *	 5. restoreFinish, once every job succeeded.
 *
 * A job (restoreJobRun, in the job's process) restores its share with the
 * launcher's host: its progress goes to the engine through the launcher;
 * a job is stopped by its launcher (the fork launcher sends SIGTERM).
 *-------------------------------------------------------------------------
 */
#ifndef DR_RESTORE_JOBS_H
#define DR_RESTORE_JOBS_H

#include "restore/restore.h"

/* At most this many jobs (pg_dr restore --jobs takes 1 to this). */
#define RESTORE_JOBS_MAX			64

/* The files placed first, largest first (see above). */
#define RESTORE_JOBS_BIG_MAX		1024

/* The engine's wait loop: how often cancel is checked, progress reported. */
#define RESTORE_JOBS_POLL_MS		100
#define RESTORE_JOBS_PROGRESS_MS	200

/* ---------------------------------------------------------------------
 * The split (pure)
 * ---------------------------------------------------------------------
 */

/* One of the largest files: which one, and the job it was placed on. */
typedef struct RestoreJobBig
{
	uint64		ordinal;		/* among the manifest's files, from 0 */
	uint64		size;
	int			job;
} RestoreJobBig;

/*
 * Built in two passes over the same files in the same (manifest) order:
 * restoreJobSplitAdd for each, restoreJobSplitPlace; then, for each file
 * again, restoreJobSplitNext gives its job.  restoreJobSplitRewind starts
 * the second pass over.
 */
typedef struct RestoreJobSplit
{
	int			jobs;
	int			bigMax;			/* RESTORE_JOBS_BIG_MAX, or less in tests */
	RestoreJobBig *big;			/* the largest files: a min-heap while
								 * adding, by ordinal once placed */
	int			bigCount;
	uint64		files;			/* added */
	bool		placed;
	uint64		bigLoad[RESTORE_JOBS_MAX];	/* bytes of the big files per
											 * job */
	uint64		bigFiles[RESTORE_JOBS_MAX]; /* and their number */
	/* the second pass */
	uint64		load[RESTORE_JOBS_MAX]; /* bytes per job so far */
	uint64		loadFiles[RESTORE_JOBS_MAX];	/* files per job so far */
	int			bigNext;		/* next big file, by ordinal */
	uint64		nextOrdinal;
} RestoreJobSplit;

/* jobs: 1 to RESTORE_JOBS_MAX; bigMax: at least 0. */
extern void restoreJobSplitInit(RestoreJobSplit *split, int jobs, int bigMax);
/* Pass 1: the next file (ordinals 0, 1, 2 ...) and its size. */
extern void restoreJobSplitAdd(RestoreJobSplit *split, uint64 size);
/* Place the largest files; the second pass can begin. */
extern void restoreJobSplitPlace(RestoreJobSplit *split);
extern void restoreJobSplitRewind(RestoreJobSplit *split);

/*
 * Pass 2: the job of the next file (the same sizes in the same order as
 * pass 1; ordinal is checked against the order: -1 when it is not the
 * next one).
 */
extern int	restoreJobSplitNext(RestoreJobSplit *split, uint64 ordinal,
								uint64 size);
extern void restoreJobSplitFree(RestoreJobSplit *split);

/* ---------------------------------------------------------------------
 * The launcher
 * ---------------------------------------------------------------------
 */

/* What a launcher's wait saw. */
typedef enum RestoreJobEventKind
{
	RESTORE_JOB_EVENT_NONE = 0, /* nothing in time (or interrupted) */
	RESTORE_JOB_EVENT_PROGRESS, /* a job's counts so far */
	RESTORE_JOB_EVENT_NOTICE,	/* a job's notice for the user */
	RESTORE_JOB_EVENT_DONE		/* a job ended (ok or not) */
} RestoreJobEventKind;

typedef struct RestoreJobEvent
{
	RestoreJobEventKind kind;
	int			job;			/* its index */
	/* PROGRESS: the job's own counts so far */
	uint64		filesDone;
	uint64		bytesDone;
	/* NOTICE */
	char		notice[1280];
	bool		warning;		/* a warning (hostWarning), not a notice */
	/* DONE */
	bool		ok;
	RestoreResult result;		/* ok: what the job did */
	DrError		error;			/* not ok: why (the job's own error, or
								 * the launcher's: killed, no report) */
} RestoreJobEvent;

/*
 * How jobs run.  Required: all three.
 *
 * start	run restoreJobRun(restore, jobs, job, host, ...) in a new process
 *			(host: one that hands progress and notices to wait); false with
 *			err when it could not be started.
 * wait		wait at most timeoutMs for one event from a started job, fill
 *			*event (NONE: nothing in time, or a signal interrupted the
 *			wait); every started job ends with exactly one DONE.  False
 *			with err when waiting itself failed (the engine then stops).
 * stop		stop every job still running and wait until they are gone;
 *			their events are dropped.  Called at most once, and only by
 *			the engine.
 */
typedef struct RestoreJobLauncher
{
	bool		(*start) (void *arg, Restore *restore, int jobs, int job,
						  DrError *err);
	bool		(*wait) (void *arg, int timeoutMs, RestoreJobEvent *event,
						 DrError *err);
	void		(*stop) (void *arg);
	void	   *arg;
} RestoreJobLauncher;

/*
 * The launcher the CLI uses (restore_jobs_fork.c, frontend only): one
 * fork()ed child per job, which inherits the Restore, runs its share,
 * reports progress and its result through a pipe and _exit()s; stopped
 * with SIGTERM.  The server half has no launcher yet: restore drills will
 * bring one that starts background workers (each calls restoreBegin
 * itself, then restoreJobRun, which computes the same split).
 */
#ifdef FRONTEND
extern RestoreJobLauncher *restoreJobsForkLauncher(void);
extern void restoreJobsForkLauncherFree(RestoreJobLauncher *launcher);
#endif

/* ---------------------------------------------------------------------
 * The engine
 * ---------------------------------------------------------------------
 */

/*
 * Run the file step in jobs jobs through launcher, then restoreFinish (see
 * the top of this file).  restore has been through restoreBegin and
 * restorePrepare.  result gets the sum of the jobs' results and
 * restoreFinish's.  Fails with the first failed job's error,
 * DR_ERR_CANCELED when RestoreParam.host asked to stop, DR_ERR_INVALID
 * for a number of jobs out of range.
 */
extern bool restoreJobsRun(Restore *restore, int jobs,
						   const RestoreJobLauncher *launcher,
						   RestoreResult *result, DrError *err);

/*
 * One job's share of the files, in the job's process: restoreFiles with
 * the split (computed here from the manifest when this process has none
 * for jobs yet), its progress and notices given to host instead of
 * RestoreParam.host.  result may be NULL.
 */
extern bool restoreJobRun(Restore *restore, int jobs, int job,
						  const DrHost *host, RestoreResult *result,
						  DrError *err);

#endif							/* DR_RESTORE_JOBS_H */
