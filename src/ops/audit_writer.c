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

/* Insert one record; returns false (error logged) when it could not. */
static bool
auditWriteEntry(const AuditEntry *entry)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	volatile bool done = false;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "writing pg_dr audit record");

	PG_TRY();
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

		if (!OidIsValid(get_extension_oid("pg_dr", true)))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("extension \"pg_dr\" is not installed in this database"),
					 errhint("Audit records stay queued until it is.")));

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");

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
		values[7] = CStringGetTextDatum(entry->ok ? "ok" : "error");
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

		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
		done = true;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
	}
	PG_END_TRY();

	pgstat_report_activity(STATE_IDLE, NULL);
	return done;
}

void
auditWriterDrain(void)
{
	AuditEntry *entry = palloc(sizeof(AuditEntry));

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

		if (!pending || !auditWriteEntry(entry))
			break;

		/* only this process advances writtenSeq, so no one raced us */
		LWLockAcquire(auditShared->lock, LW_EXCLUSIVE);
		auditShared->writtenSeq = entry->seq;
		LWLockRelease(auditShared->lock);
		ConditionVariableBroadcast(&auditShared->cv);
	}
	pfree(entry);
}
