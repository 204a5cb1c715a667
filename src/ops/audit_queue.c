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
 * worker alone) loses the records still queued, which is why each backend
 * waits for its own record before it returns to the caller.
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
#include "pg_dr.h"

AuditShared *auditShared = NULL;

Size
auditShmemSize(void)
{
	return MAXALIGN(sizeof(AuditShared));
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
			&(GetNamedLWLockTranche(PG_DR_LWLOCK_TRANCHE))[PG_DR_LWLOCK_AUDIT].lock;
		ConditionVariableInit(&auditShared->cv);
		auditShared->nextSeq = 1;
		auditShared->writtenSeq = 0;
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
}

/*
 * Queue one record and wait until the writer committed it, or until
 * pg_dr.audit_timeout passed (then warn: the record stays queued and is
 * written when the worker comes back).
 */
static void
auditSubmit(AuditOp *op, bool ok, const char *sqlstate, const char *error)
{
	AuditEntry *entry;
	uint64		seq;
	Latch	   *writerLatch;
	TimestampTz deadline;
	bool		written = false;

	entry = palloc0(sizeof(AuditEntry));
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
			ereport(WARNING,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("audit record of %s was not written: the audit queue is full",
							op->operation),
					 ok ? errdetail("The operation by \"%s\" succeeded.",
									op->currentUser)
					 : errdetail("The operation by \"%s\" failed: %s",
								 op->currentUser, error),
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

	if (writerLatch)
		SetLatch(writerLatch);

	/* wait until the writer has committed it */
	for (;;)
	{
		long		remaining;

		LWLockAcquire(auditShared->lock, LW_SHARED);
		written = auditShared->writtenSeq >= seq;
		LWLockRelease(auditShared->lock);
		if (written)
			break;

		remaining = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		if (remaining <= 0 ||
			ConditionVariableTimedSleep(&auditShared->cv, remaining,
										PG_WAIT_EXTENSION))
			break;
	}
	ConditionVariableCancelSleep();

	if (!written)
		ereport(WARNING,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("audit record %llu of %s is queued but not yet written",
						(unsigned long long) seq, op->operation),
				 errhint("It is written when the pg_dr background worker runs; check dr_status.worker_running.")));
}

void
auditOpOk(AuditOp *op)
{
	auditSubmit(op, true, NULL, NULL);
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
				edata->message);

	ReThrowError(edata);
}

bool
auditWriterRunning(void)
{
	bool		running;

	if (auditShared == NULL)
		return false;
	LWLockAcquire(auditShared->lock, LW_SHARED);
	running = auditShared->writerPid != 0;
	LWLockRelease(auditShared->lock);
	return running;
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
