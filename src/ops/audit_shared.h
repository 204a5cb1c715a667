/*-------------------------------------------------------------------------
 * audit_shared.h
 *	  The audit queue in shared memory; private to src/ops/audit_*.c.
 *-------------------------------------------------------------------------
 */
#ifndef DR_AUDIT_SHARED_H
#define DR_AUDIT_SHARED_H

#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/lwlock.h"

#include "ops/audit.h"

#define AUDIT_QUEUE_SIZE		64

/*
 * What a queued record asks the writer to do: note that an operation
 * began (a pgdr.audit_inflight row), or write its audit_log row and drop
 * that note.
 */
typedef enum AuditEntryKind
{
	AUDIT_ENTRY_END = 0,
	AUDIT_ENTRY_BEGIN
} AuditEntryKind;

typedef struct AuditEntry
{
	uint64		seq;
	AuditEntryKind kind;
	uint64		beginSeq;		/* END: seq of its BEGIN record, 0 = none */
	TimestampTz startedAt;
	TimestampTz finishedAt;
	char		sessionUser[NAMEDATALEN];
	char		currentUser[NAMEDATALEN];
	int			pid;
	char		operation[AUDIT_OPERATION_MAX];
	char		arguments[AUDIT_ARGUMENTS_MAX];
	bool		ok;
	bool		interrupted;	/* END written by the writer's sweep */
	char		sqlstate[6];
	char		error[AUDIT_ERROR_MAX];
} AuditEntry;

typedef struct AuditShared
{
	LWLock	   *lock;			/* protects every field below */
	ConditionVariable cv;		/* broadcast when writtenSeq advances */
	uint64		nextSeq;		/* number the next record gets; from 1 */
	uint64		writtenSeq;		/* records up to this one are committed */
	int64		epoch;			/* when this shared memory was set up: tells
								 * audit_inflight rows of an earlier server
								 * lifetime from those of this one */
	pid_t		writerPid;		/* the worker, 0 when it is not running */
	Latch	   *writerLatch;	/* set it after queuing a record */
	AuditEntry	ring[AUDIT_QUEUE_SIZE]; /* record n is ring[n % SIZE] */
} AuditShared;

extern AuditShared *auditShared;

/* audit_writer.c: a backup's end was written since the last publication */
extern bool auditHeadBackupEnded;

/* Register the head duty (audit_head.c), after the drain's. */
extern void auditHeadDutyRegister(void);

/*
 * The append-only guard's permissions (audit_guard.c): removal of expired
 * rows, true only while auditExpire() removes them in this backend
 * (audit_expire.c); changes of pgdr.audit_inflight, true in the worker
 * process only (audit_writer.c).
 */
extern bool auditExpireInProgress;
extern bool auditWriterInProgress;

/* audit_queue.c: records queued and not yet committed (the drain's due) */
extern int	auditPendingCount(void);

/* audit_expire.c: the oldest finished_at a row may have and still be kept */
extern TimestampTz auditRetentionCutoff(void);

/*
 * audit_verify.c: pgdr.audit_verify_chain()'s verdict, without the heads.
 * Call it connected to SPI; problem is allocated with SPI_palloc.
 */
extern void auditChainVerify(AuditVerifyResult *result);

#endif							/* DR_AUDIT_SHARED_H */
