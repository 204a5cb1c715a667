/*-------------------------------------------------------------------------
 * audit_writer.c
 *	  The worker side of the audit trail: commits queued records into
 *	  pgdr.audit_log, each chained to the row before it.
 *
 * The worker is the only writer of pgdr.audit_log, so "the row before"
 * is simply the row with the highest id; after dr_audit_expire() removed
 * every row, the anchor it left takes that place.  The row hash is computed
 * by pgdr.audit_digest(), the same SQL function dr_audit_verify() uses.
 *
 * A record leaves the queue only after its transaction committed.  If the
 * insert fails (the extension is being dropped, the disk is full), the
 * record stays queued, the error goes to the server log, and the worker
 * tries again on its next round.
 *
 * Once an end record's row committed, the writer removes the operation's
 * note (audit_note.c).  Once per worker process, before anything else,
 * the writer closes the notes left by an earlier server lifetime: each
 * becomes an audit_log row with result 'interrupted' (the sweep), unless
 * its row was committed just before the crash.  Notes of this lifetime are
 * never swept: their backends are running, or their exit callback queued
 * their end, or their end is queued and waits for this writer.
 *
 * Changes of watched tables (audit_change.c) are noted in
 * pgdr.audit_pending by the changing transaction; the writer moves them
 * into the chain when such a transaction committed (it says so in shared
 * memory and sets the worker's latch), and at the sweep.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "ops/audit.h"
#include "ops/audit_shared.h"
#include "ops/catchup.h"
#include "ops/duty.h"

/* a failed write is tried again after this long (milliseconds) */
#define AUDIT_DRAIN_RETRY_MS	1000

/* Set in the worker only: lets the guard pass its removal of noted changes. */
bool		auditWriterInProgress = false;

/* A backup's end was written: publish the head now (audit_head.c). */
bool		auditHeadBackupEnded = false;

/* Whether this worker process has closed the notes of earlier lifetimes. */
static bool auditSwept = false;

#define AUDIT_GENESIS_HASH \
	"\\x0000000000000000000000000000000000000000000000000000000000000000"

static void
auditWriterDetachCallback(int code, Datum arg)
{
	auditWriterDetach();
}

void
auditWriterAttach(void)
{
	LWLockAcquire(auditShared->lock, LW_EXCLUSIVE);
	auditShared->writerPid = MyProcPid;
	auditShared->writerLatch = MyLatch;
	LWLockRelease(auditShared->lock);
	auditWriterInProgress = true;
	before_shmem_exit(auditWriterDetachCallback, (Datum) 0);
}

void
auditWriterDetach(void)
{
	if (auditShared == NULL)
		return;
	LWLockAcquire(auditShared->lock, LW_EXCLUSIVE);
	if (auditShared->writerPid == MyProcPid)
	{
		auditShared->writerPid = 0;
		auditShared->writerLatch = NULL;
	}
	LWLockRelease(auditShared->lock);
}

/*
 * Insert the audit_log row of an ended operation, chained to the newest
 * row.  Connected to SPI, in a transaction.
 */
static void
auditLogInsert(const AuditEntry *entry)
{
	Oid			argtypes[11] = {TIMESTAMPTZOID, TIMESTAMPTZOID, NAMEOID,
	NAMEOID, INT4OID, TEXTOID, JSONBOID, TEXTOID, TEXTOID, TEXTOID, BYTEAOID};
	Datum		values[11];
	char		nulls[11];
	Datum		prevHash;
	bool		isnull;
	int			ret;
	NameData	sessionUser;
	NameData	currentUser;

	/*
	 * Not read_only: that would read with the snapshot of the step's
	 * start, blind to the row just inserted by this same transaction when
	 * it moves several noted changes at once (auditChangesMove), and chain
	 * them all to the same row.
	 */
	ret = SPI_execute("SELECT coalesce("
					  "(SELECT row_hash FROM pgdr.audit_log ORDER BY id DESC LIMIT 1), "
					  "(SELECT row_hash FROM pgdr.audit_anchor), "
					  "'" AUDIT_GENESIS_HASH "'::pg_catalog.bytea)",
					  false, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read the last audit row hash");
	prevHash = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
							 1, &isnull);
	prevHash = SPI_datumTransfer(prevHash, false, -1);

	memset(nulls, ' ', sizeof(nulls));
	namestrcpy(&sessionUser, entry->sessionUser);
	namestrcpy(&currentUser, entry->currentUser);
	values[0] = TimestampTzGetDatum(entry->startedAt);
	values[1] = TimestampTzGetDatum(entry->finishedAt);
	values[2] = NameGetDatum(&sessionUser);
	values[3] = NameGetDatum(&currentUser);
	values[4] = Int32GetDatum(entry->pid);
	values[5] = CStringGetTextDatum(entry->operation);
	values[6] = DirectFunctionCall1(jsonb_in,
									CStringGetDatum(entry->arguments));
	values[7] = CStringGetTextDatum(entry->interrupted ? "interrupted" :
									entry->ok ? "ok" : "error");
	values[8] = CStringGetTextDatum(entry->sqlstate);
	if (entry->sqlstate[0] == '\0')
		nulls[8] = 'n';
	values[9] = CStringGetTextDatum(entry->error);
	if (entry->error[0] == '\0')
		nulls[9] = 'n';
	values[10] = prevHash;

	ret = SPI_execute_with_args(
								"WITH n AS (SELECT pg_catalog.nextval('pgdr.audit_log_id_seq'::pg_catalog.regclass) AS id) "
								"INSERT INTO pgdr.audit_log "
								"SELECT n.id, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
								"pgdr.audit_digest($11, ROW(n.id, $1, $2, $3, $4, $5, $6, $7, "
								"$8, $9, $10, $11, NULL)::pgdr.audit_log) FROM n",
								11, argtypes, values, nulls, false, 0);
	if (ret != SPI_OK_INSERT || SPI_processed != 1)
		elog(ERROR, "could not insert the audit record");
}

/*
 * Whether the audit_log holds the row of the operation a note describes:
 * the same backend pid, started_at to the microsecond and operation (see
 * audit_note.c: a crash between the row's commit and the note's removal).
 * Connected to SPI.
 */
static bool
auditNoteRecorded(const AuditNote *note)
{
	Oid			argtypes[3] = {INT4OID, TIMESTAMPTZOID, TEXTOID};
	Datum		values[3];

	values[0] = Int32GetDatum(note->pid);
	values[1] = TimestampTzGetDatum(note->startedAt);
	values[2] = CStringGetTextDatum(note->operation);
	if (SPI_execute_with_args("SELECT 1 FROM pgdr.audit_log "
							  "WHERE backend_pid OPERATOR(pg_catalog.=) $1 "
							  "AND started_at OPERATOR(pg_catalog.=) $2 "
							  "AND operation OPERATOR(pg_catalog.=) $3 LIMIT 1",
							  3, argtypes, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up an audit record");
	return SPI_processed > 0;
}

static int
auditNoteCompare(const ListCell *a, const ListCell *b)
{
	const AuditNote *x = (const AuditNote *) lfirst(a);
	const AuditNote *y = (const AuditNote *) lfirst(b);

	if (x->startedAt != y->startedAt)
		return x->startedAt < y->startedAt ? -1 : 1;
	return x->pid - y->pid;
}

/*
 * Close the notes of earlier server lifetimes as 'interrupted' (see
 * audit_note.c): all in one transaction, oldest first; a note whose row
 * is already there adds nothing.  names: the notes, listed by the caller
 * (outside the transaction, to remove them once this committed).
 * Connected to SPI.
 */
static void
auditNotesSweep(List *names)
{
	List	   *notes = NIL;
	ListCell   *lc;
	AuditEntry *entry;
	char	   *restartedAt;

	foreach(lc, names)
	{
		AuditNote  *note = palloc(sizeof(AuditNote));

		if (auditNoteRead((const char *) lfirst(lc), note))
			notes = lappend(notes, note);
		else
			pfree(note);
	}
	if (notes == NIL)
		return;
	list_sort(notes, auditNoteCompare);

	restartedAt = pstrdup(timestamptz_to_str((TimestampTz) auditShared->epoch));
	entry = palloc0(sizeof(AuditEntry));
	foreach(lc, notes)
	{
		const AuditNote *note = (const AuditNote *) lfirst(lc);

		if (auditNoteRecorded(note))
			continue;
		memset(entry, 0, sizeof(AuditEntry));
		entry->startedAt = note->startedAt;
		entry->finishedAt = GetCurrentTimestamp();
		strlcpy(entry->sessionUser, note->sessionUser, sizeof(entry->sessionUser));
		strlcpy(entry->currentUser, note->currentUser, sizeof(entry->currentUser));
		entry->pid = note->pid;
		strlcpy(entry->operation, note->operation, sizeof(entry->operation));
		strlcpy(entry->arguments, note->arguments, sizeof(entry->arguments));
		entry->ok = false;
		entry->interrupted = true;
		snprintf(entry->error, sizeof(entry->error),
				 "interrupted: the operation never ended in this cluster's history: "
				 "the server stopped while it ran (crash or immediate shutdown), or "
				 "this cluster was restored from a backup taken while it ran; found "
				 "open when the server started at %s", restartedAt);
		auditLogInsert(entry);
		ereport(LOG,
				(errmsg("pg_dr audit: %s of backend %d, begun at %s, recorded as interrupted",
						entry->operation, entry->pid,
						timestamptz_to_str(entry->startedAt))));
	}
	pfree(entry);
}

/*
 * Move the committed notes of changes (pgdr.audit_pending, audit_change.c)
 * into the chain, oldest first, in one transaction: the notes go with the
 * rows that record them.  Connected to SPI.
 */
static void
auditChangesMove(void)
{
	SPITupleTable *rows;
	uint64		count;
	AuditEntry *entry;
	int			ret;

	ret = SPI_execute("WITH gone AS ("
					  " DELETE FROM pgdr.audit_pending RETURNING *) "
					  "SELECT noted_at, session_user_name::pg_catalog.text, "
					  "current_user_name::pg_catalog.text, backend_pid, operation, "
					  "arguments::pg_catalog.text FROM gone ORDER BY id",
					  false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read the noted changes");
	rows = SPI_tuptable;
	count = SPI_processed;
	entry = palloc0(sizeof(AuditEntry));
	for (uint64 i = 0; i < count; i++)
	{
		HeapTuple	tuple = rows->vals[i];
		TupleDesc	desc = rows->tupdesc;
		bool		isnull;
		char	   *arguments = SPI_getvalue(tuple, desc, 6);

		memset(entry, 0, sizeof(AuditEntry));
		entry->startedAt = DatumGetTimestampTz(SPI_getbinval(tuple, desc, 1, &isnull));
		entry->finishedAt = entry->startedAt;
		strlcpy(entry->sessionUser, SPI_getvalue(tuple, desc, 2), sizeof(entry->sessionUser));
		strlcpy(entry->currentUser, SPI_getvalue(tuple, desc, 3), sizeof(entry->currentUser));
		entry->pid = DatumGetInt32(SPI_getbinval(tuple, desc, 4, &isnull));
		strlcpy(entry->operation, SPI_getvalue(tuple, desc, 5), sizeof(entry->operation));
		if (strlen(arguments) >= sizeof(entry->arguments))
			snprintf(entry->arguments, sizeof(entry->arguments),
					 "{\"truncated\": true, \"length\": %zu}", strlen(arguments));
		else
			strlcpy(entry->arguments, arguments, sizeof(entry->arguments));
		entry->ok = true;
		auditLogInsert(entry);
	}
	pfree(entry);
}

/*
 * The commit just made is on disk: a note may go only then, whatever
 * synchronous_commit says (with it off, a commit returns before its WAL
 * is flushed, and a crash would lose both the row and the note).
 */
static void
auditCommitFlush(void)
{
	XLogFlush(XactLastCommitEnd);
}

/* What one transaction of the writer does (auditWriteStep). */
typedef enum AuditStepKind
{
	AUDIT_STEP_RECORD,			/* one queued record */
	AUDIT_STEP_SWEEP,			/* the notes of earlier lifetimes */
	AUDIT_STEP_CHANGES			/* the noted changes */
} AuditStepKind;

typedef struct AuditStep
{
	AuditStepKind kind;
	const AuditEntry *entry;	/* RECORD */
	List	   *swept;			/* SWEEP: the names of the notes */
} AuditStep;

/* One step in its transaction (dutyXactRun). */
static void
auditWriteStep(void *arg)
{
	AuditStep  *step = (AuditStep *) arg;

	if (!OidIsValid(get_extension_oid("pg_dr", true)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"pg_dr\" is not installed in this database"),
				 errhint("Audit records stay queued until it is.")));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	switch (step->kind)
	{
		case AUDIT_STEP_RECORD:
			auditLogInsert(step->entry);
			break;
		case AUDIT_STEP_SWEEP:
			auditNotesSweep(step->swept);
			/* changes a crash left uncopied go with it */
			auditChangesMove();
			break;
		case AUDIT_STEP_CHANGES:
			auditChangesMove();
			break;
	}

	SPI_finish();
}

/*
 * Run one step in a transaction of its own; returns false (error logged)
 * when it could not.
 */
static bool
auditWriteRun(AuditStep *step)
{
	return dutyXactRun("writing pg_dr audit record", auditWriteStep, step);
}

bool
auditWriterDrain(void)
{
	AuditEntry *entry;
	AuditStep	step;
	bool		ok = true;

	/* first of all, close what an earlier server lifetime left open */
	if (!auditSwept)
	{
		AuditStep	step = {AUDIT_STEP_SWEEP, NULL, NIL};
		ListCell   *lc;

		(void) auditChangesNotedTake();
		step.swept = auditNotesOfEarlierLifetimes();
		if (!auditWriteRun(&step))
		{
			list_free_deep(step.swept);
			return false;
		}
		auditCommitFlush();
		/* not durably: a note that comes back is found recorded */
		foreach(lc, step.swept)
			auditNoteRemove((const char *) lfirst(lc));
		list_free_deep(step.swept);
		auditSwept = true;
	}

	entry = palloc(sizeof(AuditEntry));
	step.kind = AUDIT_STEP_RECORD;
	step.swept = NIL;

	for (;;)
	{
		bool		pending;

		LWLockAcquire(auditShared->lock, LW_SHARED);
		pending = auditShared->writtenSeq + 1 < auditShared->nextSeq;
		if (pending)
			memcpy(entry,
				   &auditShared->ring[(auditShared->writtenSeq + 1) % AUDIT_QUEUE_SIZE],
				   sizeof(AuditEntry));
		LWLockRelease(auditShared->lock);

		if (!pending)
			break;
		step.entry = entry;
		if (!auditWriteRun(&step))
		{
			ok = false;
			break;
		}
		/* committed and flushed: the note is no longer needed */
		auditCommitFlush();
		auditNoteRemove(entry->note);

		if (entry->ok &&
			strncmp(entry->operation, "dr_backup_", 10) == 0)
		{
			auditHeadBackupEnded = true;
			/* copied to the other repositories right away */
			catchupBackupEnded();
		}

		/* only this process advances writtenSeq, so no one raced us */
		LWLockAcquire(auditShared->lock, LW_EXCLUSIVE);
		auditShared->writtenSeq = entry->seq;
		LWLockRelease(auditShared->lock);
		ConditionVariableBroadcast(&auditShared->cv);
	}
	pfree(entry);

	/* the changes noted by transactions that committed since the last look */
	if (ok && auditChangesNotedTake())
	{
		step.kind = AUDIT_STEP_CHANGES;
		if (!auditWriteRun(&step))
		{
			/* look again at the retry */
			LWLockAcquire(auditShared->lock, LW_EXCLUSIVE);
			auditShared->changesNoted = true;
			LWLockRelease(auditShared->lock);
			ok = false;
		}
	}
	return ok;
}

/*
 * The drain duty: due while records are queued (a backend that queues one
 * sets the worker's latch), while a transaction that noted a change
 * committed since the last look (it sets the latch too), or while the
 * sweep is still to do; a failed write is retried after
 * AUDIT_DRAIN_RETRY_MS.
 */
static TimestampTz
auditDrainNextDue(TimestampTz now, void *arg)
{
	return !auditSwept || auditPendingCount() > 0 || auditChangesNoted() ?
		now : DUTY_NEVER;
}

static bool
auditDrainRun(TimestampTz now, void *arg)
{
	return auditWriterDrain();
}

void
auditDutiesRegister(void)
{
	/* the drain first: the head publication follows a backup's end record */
	dutyRegister("audit drain", auditDrainNextDue, auditDrainRun, NULL,
				 AUDIT_DRAIN_RETRY_MS);
	auditHeadDutyRegister();
}
