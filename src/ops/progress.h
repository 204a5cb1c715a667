/*-------------------------------------------------------------------------
 * progress.h
 *	  The server's host for long shared operations (common/host.h), and
 *	  what dr_progress shows of them.
 *
 * A backend running dr_restore(), dr_backup_verify(), dr_wal_verify() or
 * dr_expire() takes progressBegin()'s host and passes it in the
 * operation's Param.  The host:
 *	 cancelled  QueryCancelPending or ProcDiePending (pg_cancel_backend,
 *				statement_timeout, pg_terminate_backend, shutdown): the
 *				operation stops at its next safe point and fails with
 *				DR_ERR_CANCELED, which drEreport turns into
 *				CHECK_FOR_INTERRUPTS(), so the usual error is raised
 *				("canceling statement due to user request", 57014);
 *	 progress   updates this backend's slot in shared memory;
 *	 notice     ereport(NOTICE).
 *	 warning    ereport(WARNING).
 *
 * One slot per process (indexed by its PGPROC number), written only by its
 * owner under the slot's spinlock.  progressEnd() clears it; so do the end
 * of the transaction or subtransaction that began it (an error) and the
 * exit of the backend, whichever comes first.
 *-------------------------------------------------------------------------
 */
#ifndef DR_OPS_PROGRESS_H
#define DR_OPS_PROGRESS_H

#include "common/host.h"
#include "datatype/timestamp.h"

#define PROGRESS_NAME_LEN		32
#define PROGRESS_CURRENT_LEN	256

/* What dr_progress shows of one running operation. */
typedef struct ProgressEntry
{
	int			pid;
	char		operation[PROGRESS_NAME_LEN];	/* "restore", "verify", ... */
	char		phase[PROGRESS_NAME_LEN];
	TimestampTz started;
	uint64		itemsDone;
	uint64		itemsTotal;		/* 0 = not known */
	uint64		bytesDone;
	uint64		bytesTotal;		/* 0 = not known */
	char		current[PROGRESS_CURRENT_LEN];	/* "" when none */
} ProgressEntry;

/* Shared memory: reserve (shmem_request_hook) and attach (startup). */
extern void progressShmemRequest(void);
extern void progressShmemInit(void);

/*
 * This backend begins operation ("restore", ...): its slot shows it in
 * phase "start" until the first progress report.  Returns the host to put
 * in the operation's Param, valid until progressEnd or the end of the
 * (sub)transaction.  One operation at a time per backend: a second Begin
 * replaces the first.
 */
extern const DrHost *progressBegin(const char *operation);

/* The operation ended (successfully or not): the slot is cleared. */
extern void progressEnd(void);

/* Every running operation, palloc'd; returns how many. */
extern int	progressSnapshot(ProgressEntry **entries);

#endif							/* DR_OPS_PROGRESS_H */
