/*-------------------------------------------------------------------------
 * audit_change.c
 *	  Changes of the tables the audit trail watches (pgdr.objectives,
 *	  edited through dr_objectives), noted for the chain.
 *
 * An edit of the objectives is not a dr_* call: it is a row change inside
 * the user's transaction, which may still roll back.  Its record must
 * exist exactly when the change does, so it is noted in the same
 * transaction, as a row of pgdr.audit_pending: it commits, rolls back and
 * survives a crash together with the change (both are WAL-logged).  The
 * worker (audit_writer.c) moves committed notes into pgdr.audit_log, each
 * removed in the transaction that writes its row, so none is recorded
 * twice or lost.  A transaction that noted a change says so in shared
 * memory when it commits and wakes the worker; the worker also moves what
 * is left at its sweep (a crash between a commit and the move).
 *
 * The append-only guard lets rows into pgdr.audit_pending only while
 * auditChangeNote inserts one (auditChangeInProgress), so that a user
 * who may edit the objectives cannot plant records of their own.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "utils/builtins.h"

#include "ops/audit.h"
#include "ops/audit_shared.h"

/* Set only while auditChangeNote inserts its note (see the file header). */
bool		auditChangeInProgress = false;

/* This transaction noted a change; the commit callback is registered. */
static bool auditChangeThisXact = false;
static bool auditChangeCallbackRegistered = false;

/* At commit, tell the writer there is something to move; forget at abort. */
static void
auditChangeXactCallback(XactEvent event, void *arg)
{
	Latch	   *writerLatch = NULL;

	if (!auditChangeThisXact)
		return;
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			auditChangeThisXact = false;
			if (auditShared == NULL)
				return;
			LWLockAcquire(auditShared->lock, LW_EXCLUSIVE);
			auditShared->changesNoted = true;
			auditShared->changesCommitted++;
			writerLatch = auditShared->writerLatch;
			LWLockRelease(auditShared->lock);
			if (writerLatch)
				SetLatch(writerLatch);
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			auditChangeThisXact = false;
			break;
		default:
			break;
	}
}

uint64
auditChangesCommitted(void)
{
	uint64		count;

	if (auditShared == NULL)
		return 0;
	LWLockAcquire(auditShared->lock, LW_SHARED);
	count = auditShared->changesCommitted;
	LWLockRelease(auditShared->lock);
	return count;
}

void
auditChangeNote(const char *table, const char *action, Oid rowType,
				Datum oldRow, Datum newRow, const char *sessionUser,
				const char *currentUser)
{
	Oid			argtypes[7] = {NAMEOID, NAMEOID, INT4OID, TEXTOID, TEXTOID,
	rowType, rowType};
	Datum		values[7];
	char		nulls[7];
	NameData	sessionName;
	NameData	currentName;
	volatile int ret = 0;

	namestrcpy(&sessionName, sessionUser);
	namestrcpy(&currentName, currentUser);
	memset(nulls, ' ', sizeof(nulls));
	values[0] = NameGetDatum(&sessionName);
	values[1] = NameGetDatum(&currentName);
	values[2] = Int32GetDatum(MyProcPid);
	values[3] = CStringGetTextDatum(table);
	values[4] = CStringGetTextDatum(action);
	values[5] = oldRow;
	values[6] = newRow;
	if (oldRow == (Datum) 0)
		nulls[5] = 'n';
	if (newRow == (Datum) 0)
		nulls[6] = 'n';

	if (!auditChangeCallbackRegistered)
	{
		RegisterXactCallback(auditChangeXactCallback, NULL);
		auditChangeCallbackRegistered = true;
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	auditChangeInProgress = true;
	PG_TRY();
	{
		ret = SPI_execute_with_args("INSERT INTO pgdr.audit_pending "
									"(noted_at, session_user_name, current_user_name, "
									"backend_pid, operation, arguments) "
									"VALUES (pg_catalog.clock_timestamp(), $1, $2, $3, $4, "
									"pg_catalog.jsonb_build_object('action', $5, "
									"'old', pg_catalog.to_jsonb($6), "
									"'new', pg_catalog.to_jsonb($7)))",
									7, argtypes, values, nulls, false, 0);
	}
	PG_FINALLY();
	{
		auditChangeInProgress = false;
	}
	PG_END_TRY();
	if (ret != SPI_OK_INSERT || SPI_processed != 1)
		elog(ERROR, "could not note the change of %s", table);
	SPI_finish();
	auditChangeThisXact = true;
}

bool
auditChangesNoted(void)
{
	bool		noted;

	if (auditShared == NULL)
		return false;
	LWLockAcquire(auditShared->lock, LW_SHARED);
	noted = auditShared->changesNoted;
	LWLockRelease(auditShared->lock);
	return noted;
}

bool
auditChangesNotedTake(void)
{
	bool		noted;

	LWLockAcquire(auditShared->lock, LW_EXCLUSIVE);
	noted = auditShared->changesNoted;
	auditShared->changesNoted = false;
	LWLockRelease(auditShared->lock);
	return noted;
}
