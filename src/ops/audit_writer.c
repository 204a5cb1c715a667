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
 * A "began" record becomes a pgdr.audit_inflight row; the end record's
 * audit_log row and the removal of that note commit together.  Once per
 * worker process, before anything else, the writer closes the notes left
 * by an earlier server lifetime: each becomes an audit_log row with result
 * 'interrupted' (the sweep).  Notes of this lifetime are never swept: their
 * backends are running, or their exit callback queued their end.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
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
#include "ops/duty.h"

/* a failed write is tried again after this long (milliseconds) */
#define AUDIT_DRAIN_RETRY_MS	1000

/* Set in the worker only: lets the guard pass its changes of audit_inflight. */
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

	ret = SPI_execute("SELECT coalesce("
					  "(SELECT row_hash FROM pgdr.audit_log ORDER BY id DESC LIMIT 1), "
					  "(SELECT row_hash FROM pgdr.audit_anchor), "
					  "'" AUDIT_GENESIS_HASH "'::pg_catalog.bytea)",
					  true, 1);
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

/* Note that an operation began (a "began" record).  Connected to SPI. */
static void
auditInflightInsert(const AuditEntry *entry)
{
	Oid			argtypes[8] = {INT8OID, INT8OID, TIMESTAMPTZOID, NAMEOID,
	NAMEOID, INT4OID, TEXTOID, JSONBOID};
	Datum		values[8];
	NameData	sessionUser;
	NameData	currentUser;
	int			ret;

	namestrcpy(&sessionUser, entry->sessionUser);
	namestrcpy(&currentUser, entry->currentUser);
	values[0] = Int64GetDatum(auditShared->epoch);
	values[1] = Int64GetDatum((int64) entry->seq);
	values[2] = TimestampTzGetDatum(entry->startedAt);
	values[3] = NameGetDatum(&sessionUser);
	values[4] = NameGetDatum(&currentUser);
	values[5] = Int32GetDatum(entry->pid);
	values[6] = CStringGetTextDatum(entry->operation);
	values[7] = DirectFunctionCall1(jsonb_in, CStringGetDatum(entry->arguments));

	ret = SPI_execute_with_args("INSERT INTO pgdr.audit_inflight "
								"(server_epoch, begin_seq, started_at, session_user_name, "
								"current_user_name, backend_pid, operation, arguments) "
								"VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
								8, argtypes, values, NULL, false, 0);
	if (ret != SPI_OK_INSERT || SPI_processed != 1)
		elog(ERROR, "could not insert the audit in-flight record");
}

/* Drop the note of an ended operation.  Connected to SPI. */
static void
auditInflightDelete(const AuditEntry *entry)
{
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		values[2];

	values[0] = Int64GetDatum(auditShared->epoch);
	values[1] = Int64GetDatum((int64) entry->beginSeq);
	if (SPI_execute_with_args("DELETE FROM pgdr.audit_inflight "
							  "WHERE server_epoch OPERATOR(pg_catalog.=) $1 "
							  "AND begin_seq OPERATOR(pg_catalog.=) $2",
							  2, argtypes, values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not remove the audit in-flight record");
}

/*
 * Close the notes of earlier server lifetimes as 'interrupted' (see the
 * file header): all in one transaction, oldest first.  Connected to SPI.
 */
static void
auditInflightSweep(void)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1];
	AuditEntry *entry;
	char	   *restartedAt;
	int			ret;

	values[0] = Int64GetDatum(auditShared->epoch);
	ret = SPI_execute_with_args("WITH gone AS ("
								" DELETE FROM pgdr.audit_inflight "
								" WHERE server_epoch OPERATOR(pg_catalog.<>) $1 "
								" RETURNING *) "
								"SELECT started_at, session_user_name::text, "
								"current_user_name::text, backend_pid, operation, "
								"arguments::text FROM gone "
								"ORDER BY started_at, server_epoch, begin_seq",
								1, argtypes, values, NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read the audit in-flight records");
	if (SPI_processed == 0)
		return;

	restartedAt = pstrdup(timestamptz_to_str((TimestampTz) auditShared->epoch));
	entry = palloc0(sizeof(AuditEntry));
	{
		SPITupleTable *rows = SPI_tuptable;
		uint64		count = SPI_processed;

		for (uint64 i = 0; i < count; i++)
		{
			HeapTuple	tuple = rows->vals[i];
			TupleDesc	desc = rows->tupdesc;
			bool		isnull;

			memset(entry, 0, sizeof(AuditEntry));
			entry->startedAt = DatumGetTimestampTz(SPI_getbinval(tuple, desc, 1, &isnull));
			entry->finishedAt = GetCurrentTimestamp();
			strlcpy(entry->sessionUser, SPI_getvalue(tuple, desc, 2), sizeof(entry->sessionUser));
			strlcpy(entry->currentUser, SPI_getvalue(tuple, desc, 3), sizeof(entry->currentUser));
			entry->pid = DatumGetInt32(SPI_getbinval(tuple, desc, 4, &isnull));
			strlcpy(entry->operation, SPI_getvalue(tuple, desc, 5), sizeof(entry->operation));
			strlcpy(entry->arguments, SPI_getvalue(tuple, desc, 6), sizeof(entry->arguments));
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
	}
	pfree(entry);
}

/* One queued record, whichever its kind.  Connected to SPI. */
static void
auditWriteRecord(const AuditEntry *entry)
{
	if (entry->kind == AUDIT_ENTRY_BEGIN)
		auditInflightInsert(entry);
	else
	{
		auditLogInsert(entry);
		if (entry->beginSeq != 0)
			auditInflightDelete(entry);
	}
}

/* One write in its transaction (dutyXactRun): a record, or with NULL the sweep. */
static void
auditWriteStep(void *arg)
{
	const AuditEntry *entry = (const AuditEntry *) arg;

	if (!OidIsValid(get_extension_oid("pg_dr", true)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"pg_dr\" is not installed in this database"),
				 errhint("Audit records stay queued until it is.")));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	if (entry == NULL)
		auditInflightSweep();
	else
		auditWriteRecord(entry);

	SPI_finish();
}

/*
 * Write one record, or with entry NULL do the sweep, in a transaction of
 * its own; returns false (error logged) when it could not.
 */
static bool
auditWriteEntry(const AuditEntry *entry)
{
	return dutyXactRun("writing pg_dr audit record", auditWriteStep,
					   (void *) entry);
}

bool
auditWriterDrain(void)
{
	AuditEntry *entry;
	bool		ok = true;

	/* first of all, close what an earlier server lifetime left open */
	if (!auditSwept)
	{
		if (!auditWriteEntry(NULL))
			return false;
		auditSwept = true;
	}

	entry = palloc(sizeof(AuditEntry));

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
		if (!auditWriteEntry(entry))
		{
			ok = false;
			break;
		}

		if (entry->kind == AUDIT_ENTRY_END && entry->ok &&
			strncmp(entry->operation, "dr_backup_", 10) == 0)
			auditHeadBackupEnded = true;

		/* only this process advances writtenSeq, so no one raced us */
		LWLockAcquire(auditShared->lock, LW_EXCLUSIVE);
		auditShared->writtenSeq = entry->seq;
		LWLockRelease(auditShared->lock);
		ConditionVariableBroadcast(&auditShared->cv);
	}
	pfree(entry);
	return ok;
}

/*
 * The drain duty: due while records are queued (a backend that queues one
 * sets the worker's latch) or the sweep is still to do; a failed write is
 * retried after AUDIT_DRAIN_RETRY_MS.
 */
static TimestampTz
auditDrainNextDue(TimestampTz now, void *arg)
{
	return !auditSwept || auditPendingCount() > 0 ? now : DUTY_NEVER;
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
