/*-------------------------------------------------------------------------
 * audit_shared.h
 *	  The audit queue in shared memory; private to src/ops/audit_*.c.
 *-------------------------------------------------------------------------
 */
#ifndef DR_AUDIT_SHARED_H
#define DR_AUDIT_SHARED_H

#include "nodes/pg_list.h"
#include "port/pg_crc32c.h"
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/lwlock.h"

#include "ops/audit.h"

#define AUDIT_QUEUE_SIZE		64

/* pg_dr/audit_inflight/<name>: the notes of operations that began (audit_note.c) */
#define AUDIT_NOTE_DIR			"pg_dr/audit_inflight"
#define AUDIT_NOTE_NAME_MAX		64

/* The content of a note file: what the interrupted record would say. */
typedef struct AuditNote
{
	uint32		magic;
	pg_crc32c	crc;			/* of every field below */
	TimestampTz startedAt;
	int32		pid;
	char		sessionUser[NAMEDATALEN];
	char		currentUser[NAMEDATALEN];
	char		operation[AUDIT_OPERATION_MAX];
	char		arguments[AUDIT_ARGUMENTS_MAX];
} AuditNote;

/*
 * A queued record: the end of an operation.  The writer commits its
 * audit_log row, then removes the operation's note.
 */
typedef struct AuditEntry
{
	uint64		seq;
	char		note[AUDIT_NOTE_NAME_MAX];	/* its note's name, "" = none */
	TimestampTz startedAt;
	TimestampTz finishedAt;
	char		sessionUser[NAMEDATALEN];
	char		currentUser[NAMEDATALEN];
	int			pid;
	char		operation[AUDIT_OPERATION_MAX];
	char		arguments[AUDIT_ARGUMENTS_MAX];
	bool		ok;
	bool		interrupted;	/* written by the writer's sweep */
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
								 * notes of an earlier server lifetime from
								 * those of this one */
	bool		changesNoted;	/* a transaction that noted a change of a
								 * watched table (pgdr.audit_pending)
								 * committed since the writer last looked */
	uint64		changesCommitted;	/* such transactions committed since the
									 * server started (auditChangesCommitted) */
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
 * The notes (audit_note.c).  Write: in the operation's backend, before it
 * starts; name receives the note's file name; ERROR when it cannot be made
 * durable.  Remove: after the operation's row committed.  The sweep's side:
 * the names of the notes of earlier server lifetimes, and one note read
 * (false: gone, or torn by a crash while it was written, which is logged).
 */
extern void auditNoteWrite(const AuditOp *op, char *name, size_t nameSize);
extern void auditNoteRemove(const char *name);
extern bool auditNoteOfEarlierLifetime(const char *name);
extern List *auditNotesOfEarlierLifetimes(void);
extern bool auditNoteRead(const char *name, AuditNote *note);

/*
 * The append-only guard's permissions (audit_guard.c): removal of expired
 * rows, true only while auditExpire() removes them in this backend
 * (audit_expire.c); removal of pgdr.audit_pending rows, true in the worker
 * process only (audit_writer.c); insertion of pgdr.audit_pending rows,
 * true only while auditChangeNote() inserts one (audit_change.c).
 */
extern bool auditExpireInProgress;
extern bool auditWriterInProgress;
extern bool auditChangeInProgress;

/*
 * audit_change.c, for the writer: whether a transaction that noted a
 * change committed since the writer last took the flag; Take clears it.
 */
extern bool auditChangesNoted(void);
extern bool auditChangesNotedTake(void);

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
