/*-------------------------------------------------------------------------
 * audit_queue.c
 *	  The backend side of the audit trail: a queue in shared memory that
 *	  backends fill and the pg_dr worker drains (see audit.h for why).
 *
 * The queue is a ring of AUDIT_QUEUE_SIZE records numbered by a sequence.
 * Records nextSeq-1 .. writtenSeq+1 are waiting; a backend that finds the
 * ring full sleeps on the condition variable, which the writer broadcasts
 * each time it has committed a record.  Records live in shared memory only
 * until the writer commits them: a crash of the whole server (not of the
 * worker alone) loses the records still queued.  That loses no operation:
 * auditOpBegin wrote a durable note that it began (audit_note.c), which
 * the writer removes only after the end is committed, and which becomes
 * an 'interrupted' record after the restart otherwise.  Each backend still
 * waits for its own record before it returns to the caller, so that the
 * caller sees the outcome recorded.
 *
 * Each operation writes its note in auditOpBegin and queues one record,
 * its end.  Between the two the backend keeps a copy of the operation in
 * TopMemoryContext.  A FATAL ends the backend without unwinding to the
 * caller's PG_CATCH; the exit callback (on_shmem_exit, so after the
 * transaction was aborted and every LWLock released, but while the queue is
 * still attached) then queues the end of each operation still open, as an
 * error carrying the FATAL's SQLSTATE and message, which an emit_log_hook
 * kept for it.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/dbcommands.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/condition_variable.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/acl.h"
#include "utils/elog.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "ops/audit.h"
#include "ops/audit_shared.h"
#include "ops/worker.h"

AuditShared *auditShared = NULL;

/* Operations of this backend that began and have not ended (usually 0 or 1). */
#define AUDIT_OPEN_MAX			8

typedef struct AuditOpen
{
	const AuditOp *owner;		/* the caller's struct, as a key only */
	AuditOp		op;				/* a copy; arguments in TopMemoryContext */
} AuditOpen;

static AuditOpen auditOpen[AUDIT_OPEN_MAX];
static int	auditOpenCount = 0;
static bool auditExitRegistered = false;

/* The last FATAL reported while an operation was open, for the exit record. */
static emit_log_hook_type auditPrevEmitLogHook = NULL;
static int	auditFatalCode = 0;
static char auditFatalMessage[AUDIT_ERROR_MAX];

static void auditSubmit(AuditOp *op, bool ok, const char *sqlstate,
						const char *error, int elevel);

static Size
auditShmemSize(void)
{
	return MAXALIGN(sizeof(AuditShared));
}

void
auditShmemRequest(void)
{
	RequestAddinShmemSpace(auditShmemSize());
	RequestNamedLWLockTranche(AUDIT_LWLOCK_TRANCHE, 1);
}

void
auditShmemInit(void)
{
	bool		found;

	auditShared = ShmemInitStruct("pg_dr audit queue", auditShmemSize(),
								  &found);
	if (!found)
	{
		memset(auditShared, 0, sizeof(AuditShared));
		auditShared->lock =
			&(GetNamedLWLockTranche(AUDIT_LWLOCK_TRANCHE))[0].lock;
		ConditionVariableInit(&auditShared->cv);
		auditShared->nextSeq = 1;
		auditShared->writtenSeq = 0;
		/* set anew at every start and crash restart of the server */
		auditShared->epoch = (int64) GetCurrentTimestamp();
	}
}

/* Copy a C string into a fixed field, cutting it on a character boundary. */
static void
auditCopyText(char *dst, const char *src, size_t size)
{
	size_t		len;

	if (src == NULL)
	{
		dst[0] = '\0';
		return;
	}
	len = strlen(src);
	if (len >= size)
		len = pg_mbcliplen(src, len, size - 1);
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* Keep the FATAL's code and message while an operation is open. */
static void
auditEmitLogHook(ErrorData *edata)
{
	if (edata->elevel == FATAL && auditOpenCount > 0)
	{
		auditFatalCode = edata->sqlerrcode;
		auditCopyText(auditFatalMessage, edata->message, sizeof(auditFatalMessage));
	}
	if (auditPrevEmitLogHook)
		auditPrevEmitLogHook(edata);
}

/*
 * The backend exits with operations still open: it was ended by FATAL (or
 * exited from deep inside an operation some other way).  Record each as
 * failed.  Interrupts are held: a second signal must not cut this short.
 */
static void
auditExitCallback(int code, Datum arg)
{
	int			count = auditOpenCount;
	char		message[AUDIT_ERROR_MAX];
	const char *sqlstate = NULL;

	if (count == 0 || auditShared == NULL)
		return;
	HOLD_INTERRUPTS();
	auditOpenCount = 0;			/* nothing of this is open any more */

	if (auditFatalCode != 0)
	{
		sqlstate = unpack_sql_state(auditFatalCode);
		snprintf(message, sizeof(message),
				 "terminated: the session ended while the operation was running: %s",
				 auditFatalMessage);
	}
	else
		snprintf(message, sizeof(message),
				 "terminated: the session ended while the operation was running (exit code %d)",
				 code);

	while (count-- > 0)
		auditSubmit(&auditOpen[count].op, false, sqlstate, message, LOG);
	RESUME_INTERRUPTS();
}

/* Keep a copy of op until its end is queued (see the file header). */
static void
auditOpenRemember(AuditOp *op)
{
	AuditOpen  *entry;

	if (!auditExitRegistered)
	{
		on_shmem_exit(auditExitCallback, (Datum) 0);
		auditPrevEmitLogHook = emit_log_hook;
		emit_log_hook = auditEmitLogHook;
		auditExitRegistered = true;
	}
	/* more than a few nested operations: the extra ones go untracked */
	if (auditOpenCount >= AUDIT_OPEN_MAX)
		return;
	entry = &auditOpen[auditOpenCount];
	entry->owner = op;
	entry->op = *op;
	entry->op.arguments = MemoryContextStrdup(TopMemoryContext, op->arguments);
	auditOpenCount++;
}

/* The copy of op, or NULL. */
static AuditOpen *
auditOpenFind(const AuditOp *op)
{
	for (int i = auditOpenCount - 1; i >= 0; i--)
		if (auditOpen[i].owner == op)
			return &auditOpen[i];
	return NULL;
}

/* The end of op is queued: forget the copy. */
static void
auditOpenForget(const AuditOp *op)
{
	AuditOpen  *entry = auditOpenFind(op);
	int			index;

	if (entry == NULL)
		return;
	index = entry - auditOpen;
	pfree(entry->op.arguments);
	memmove(&auditOpen[index], &auditOpen[index + 1],
			(auditOpenCount - index - 1) * sizeof(AuditOpen));
	auditOpenCount--;
}

void
auditOpBegin(AuditOp *op, const char *operation, const char *argumentsJson)
{
	char	   *name;

	/*
	 * Everything that needs the catalog is looked up now: when the operation
	 * fails, the record is written from inside PG_CATCH, where the
	 * transaction can no longer be trusted to read catalogs.
	 */
	auditCopyText(op->operation, operation, sizeof(op->operation));
	op->arguments = pstrdup(argumentsJson ? argumentsJson : "{}");
	op->startedAt = GetCurrentTimestamp();
	op->memoryContext = CurrentMemoryContext;

	name = GetUserNameFromId(GetSessionUserId(), true);
	auditCopyText(op->sessionUser, name ? name : "?", sizeof(op->sessionUser));
	name = GetUserNameFromId(GetUserId(), true);
	auditCopyText(op->currentUser, name ? name : "?", sizeof(op->currentUser));

	if (auditShared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_dr shared memory is not initialized"),
				 errhint("Add pg_dr to shared_preload_libraries and restart the server.")));
	if (strcmp(get_database_name(MyDatabaseId), drDatabase) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_dr operations must run in database \"%s\"", drDatabase),
				 errhint("pg_dr.database names the database holding the pg_dr extension and its audit trail.")));

	/*
	 * Keep a copy first, then write the note: an operation that cannot note
	 * durably that it began does not run, and its record says why.
	 */
	op->note[0] = '\0';
	auditOpenRemember(op);
	PG_TRY();
	{
		auditNoteWrite(op, op->note, sizeof(op->note));
	}
	PG_CATCH();
	{
		auditOpFailed(op);
	}
	PG_END_TRY();
	{
		AuditOpen  *open = auditOpenFind(op);

		if (open)
			strlcpy(open->op.note, op->note, sizeof(open->op.note));
	}
}

/*
 * Queue the end of op and wait until the writer committed it, or until
 * pg_dr.audit_timeout passed (then warn at elevel: the record stays queued
 * and is written when the worker comes back; the note stands for it if the
 * server stops first).  Once it is queued, the copy is forgotten.
 */
static void
auditSubmit(AuditOp *op, bool ok, const char *sqlstate, const char *error,
			int elevel)
{
	AuditEntry *entry;
	uint64		seq;
	Latch	   *writerLatch;
	TimestampTz deadline;
	bool		written = false;

	entry = palloc0(sizeof(AuditEntry));
	strlcpy(entry->note, op->note, sizeof(entry->note));
	entry->startedAt = op->startedAt;
	entry->finishedAt = GetCurrentTimestamp();
	auditCopyText(entry->sessionUser, op->sessionUser, sizeof(entry->sessionUser));
	auditCopyText(entry->currentUser, op->currentUser, sizeof(entry->currentUser));
	entry->pid = MyProcPid;
	auditCopyText(entry->operation, op->operation, sizeof(entry->operation));
	if (strlen(op->arguments) >= sizeof(entry->arguments))
		snprintf(entry->arguments, sizeof(entry->arguments),
				 "{\"truncated\": true, \"length\": %zu}", strlen(op->arguments));
	else
		auditCopyText(entry->arguments, op->arguments, sizeof(entry->arguments));
	entry->ok = ok;
	auditCopyText(entry->sqlstate, sqlstate, sizeof(entry->sqlstate));
	auditCopyText(entry->error, error, sizeof(entry->error));

	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
										   drAuditTimeout * 1000L);

	/* wait for a free slot */
	ConditionVariablePrepareToSleep(&auditShared->cv);
	for (;;)
	{
		long		remaining;

		LWLockAcquire(auditShared->lock, LW_EXCLUSIVE);
		if (auditShared->nextSeq - 1 - auditShared->writtenSeq < AUDIT_QUEUE_SIZE)
			break;				/* lock held */
		LWLockRelease(auditShared->lock);

		remaining = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		if (remaining <= 0 ||
			ConditionVariableTimedSleep(&auditShared->cv, remaining,
										PG_WAIT_EXTENSION))
		{
			ConditionVariableCancelSleep();
			auditOpenForget(op);
			ereport(elevel,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("audit record of %s was not written: the audit queue is full",
							op->operation),
					 ok ? errdetail("The operation by \"%s\" succeeded.",
									op->currentUser)
					 : errdetail("The operation by \"%s\" failed: %s",
								 op->currentUser, error),
					 op->note[0] ?
					 errhint("Check that the pg_dr background worker is running (dr_status.worker_running).  After the next restart of the server the operation is recorded as interrupted.") :
					 errhint("Check that the pg_dr background worker is running (dr_status.worker_running).")));
			pfree(entry);
			return;
		}
	}
	seq = auditShared->nextSeq++;
	entry->seq = seq;
	memcpy(&auditShared->ring[seq % AUDIT_QUEUE_SIZE], entry, sizeof(AuditEntry));
	writerLatch = auditShared->writerLatch;
	LWLockRelease(auditShared->lock);
	pfree(entry);

	auditOpenForget(op);

	if (writerLatch)
		SetLatch(writerLatch);

	/*
	 * Wait until the writer has committed it.  An exiting backend does not
	 * wait for a writer that is gone (at shutdown it is not coming back in
	 * this server lifetime; the note then closes it after the restart).
	 */
	for (;;)
	{
		long		remaining;
		bool		writerGone;

		LWLockAcquire(auditShared->lock, LW_SHARED);
		written = auditShared->writtenSeq >= seq;
		writerGone = auditShared->writerPid == 0;
		LWLockRelease(auditShared->lock);
		if (written || (writerGone && proc_exit_inprogress))
			break;

		remaining = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		if (remaining <= 0 ||
			ConditionVariableTimedSleep(&auditShared->cv, remaining,
										PG_WAIT_EXTENSION))
			break;
	}
	ConditionVariableCancelSleep();

	if (!written)
		ereport(elevel,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("audit record %llu of %s is queued but not yet written",
						(unsigned long long) seq, op->operation),
				 errhint("It is written when the pg_dr background worker runs; check dr_status.worker_running.")));
}

void
auditOpOk(AuditOp *op)
{
	auditSubmit(op, true, NULL, NULL, WARNING);
}

void
auditOpFailed(AuditOp *op)
{
	ErrorData  *edata;

	/* take the error off the stack so that we can work, then throw it again */
	MemoryContextSwitchTo(op->memoryContext);
	edata = CopyErrorData();
	FlushErrorState();

	auditSubmit(op, false, unpack_sql_state(edata->sqlerrcode),
				edata->message, WARNING);

	ReThrowError(edata);
}

void
auditQueueSnapshot(AuditQueueSnapshot *snapshot)
{
	memset(snapshot, 0, sizeof(*snapshot));
	if (auditShared == NULL)
		return;
	LWLockAcquire(auditShared->lock, LW_SHARED);
	snapshot->writerRunning = auditShared->writerPid != 0;
	snapshot->pending = (int) (auditShared->nextSeq - 1 - auditShared->writtenSeq);
	LWLockRelease(auditShared->lock);
}

int
auditPendingCount(void)
{
	int			pending;

	if (auditShared == NULL)
		return 0;
	LWLockAcquire(auditShared->lock, LW_SHARED);
	pending = (int) (auditShared->nextSeq - 1 - auditShared->writtenSeq);
	LWLockRelease(auditShared->lock);
	return pending;
}
