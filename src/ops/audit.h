/*-------------------------------------------------------------------------
 * audit.h
 *	  The audit trail: every DR operation, who, when, what, arguments,
 *	  result, duration and error, in pgdr.audit_log.
 *
 * A failed operation must still be recorded, but its transaction is about
 * to abort, and anything it inserted would vanish with it.  So backends never
 * insert audit rows themselves: at its end an operation puts its record
 * into a queue in shared memory and waits (pg_dr.audit_timeout) until the
 * pg_dr background worker has committed it.  The worker is the only writer, which also makes the
 * hash chain (each row's hash covers the previous row's) a simple sequence.
 *
 * The sequence below is what every SQL function's record goes through;
 * src/api writes it once, in api.h's ApiCall (api/call.c):
 *
 *	   AuditOp op;
 *	   auditOpBegin(&op, "dr_backup_full", argsJson);
 *	   PG_TRY();
 *	   {
 *		   ... the operation ...
 *	   }
 *	   PG_CATCH();
 *	   {
 *		   auditOpFailed(&op);		-- records the error, then re-throws it
 *	   }
 *	   PG_END_TRY();
 *	   auditOpOk(&op);
 *
 * auditOpBegin writes and fsyncs a note that the operation began, a file
 * under the data directory (audit_note.c), before the operation does
 * anything; the worker removes it once the end is committed.  A crash of
 * the whole server at any moment after auditOpBegin returned (the end
 * still queued in shared memory, or not reached) leaves the note, and the
 * worker records the operation as 'interrupted' after the restart.  One cut short by FATAL (pg_terminate_backend, a lost
 * client seen at a check) never reaches PG_CATCH: an exit callback of the
 * backend records it as failed, with the FATAL's SQLSTATE and message.
 *
 * The worker also publishes the head of the chain (the newest row's id and
 * hash) into every repository: after each backup and every few minutes when
 * it moved.  dr_audit_verify() checks the published heads against the table,
 * which is how it sees newest rows removed by someone who bypassed the
 * append-only guard (a superuser).
 *-------------------------------------------------------------------------
 */
#ifndef DR_AUDIT_H
#define DR_AUDIT_H

#include "datatype/timestamp.h"
#include "utils/palloc.h"

#define AUDIT_OPERATION_MAX		64
#define AUDIT_ARGUMENTS_MAX		4096
#define AUDIT_ERROR_MAX			2048

typedef struct AuditOp
{
	char		operation[AUDIT_OPERATION_MAX];
	char	   *arguments;		/* JSON text */
	TimestampTz startedAt;
	MemoryContext memoryContext;	/* the caller's, for the error copy */
	char		sessionUser[NAMEDATALEN];
	char		currentUser[NAMEDATALEN];
	char		note[64];		/* file name of its note (audit_note.c) */
} AuditOp;

/* Settings (audit_settings.c), defined by auditSettingsDefine(). */
extern void auditSettingsDefine(void);
/* pg_dr.audit_retention: minutes an audit row is kept at least */
extern int	drAuditRetention;
/* pg_dr.audit_timeout: seconds a backend waits for its audit row */
extern int	drAuditTimeout;

/*
 * Shared memory (called from the module's shmem hooks): the request
 * reserves the queue and its lock, a tranche of its own (AUDIT_LWLOCK_TRANCHE,
 * the name pg_stat_activity shows while a process waits for it).
 */
#define AUDIT_LWLOCK_TRANCHE	"pg_dr audit"
extern void auditShmemRequest(void);
extern void auditShmemInit(void);

/* Backend side. */
extern void auditOpBegin(AuditOp *op, const char *operation,
						 const char *argumentsJson);
extern void auditOpOk(AuditOp *op);
/* Call inside PG_CATCH: records the current error and re-throws it. */
extern void auditOpFailed(AuditOp *op) pg_attribute_noreturn();

/* For dr_status: the queue as it stands, read under its lock. */
typedef struct AuditQueueSnapshot
{
	bool		writerRunning;	/* the pg_dr worker is attached */
	int			pending;		/* records queued and not yet committed */
} AuditQueueSnapshot;

extern void auditQueueSnapshot(AuditQueueSnapshot *snapshot);

/*
 * Worker side: write every queued record (each in its own transaction) and
 * wake the backends waiting for them.  Returns after the queue is empty
 * (true) or a write failed (false: the record stays queued and is retried).
 */
extern void auditWriterAttach(void);
extern void auditWriterDetach(void);
extern bool auditWriterDrain(void);

/*
 * A change of a table the audit trail watches (pgdr.objectives, through
 * dr_objectives), from its trigger (api/objectives.c), run as the
 * extension owner: noted in pgdr.audit_pending in the changing
 * transaction, so that the note commits or vanishes with the change and
 * survives a crash like it.  The worker moves committed notes into the
 * chain.  action is INSERT, UPDATE or DELETE; oldRow/newRow are the row
 * before and after (NULL where there is none), of type rowType; the users
 * are the ones who made the change.
 */
extern void auditChangeNote(const char *table, const char *action,
							Oid rowType, Datum oldRow, Datum newRow,
							const char *sessionUser, const char *currentUser);

/*
 * How many transactions that changed a watched table (the objectives, the
 * schedule policies) committed since the server started: a reader that
 * caches those tables reads them again when this moves.
 */
extern uint64 auditChangesCommitted(void);

/*
 * Register the audit trail's worker duties (from _PG_init): the drain
 * above, then the head publication below.
 */
extern void auditDutiesRegister(void);

/*
 * Worker side (audit_head.c), the head duty: publish the chain head into
 * every configured repository when a backup's end was written since the
 * last round, or every few minutes if the head moved.  Errors are logged;
 * a later round tries again.  False when the publication failed.
 */
extern bool auditHeadPublishRound(void);

/*
 * For dr_audit_verify() (audit_head.c): check every head published in the
 * configured repositories by this cluster's history against the table.
 * Returns false with the id the head names and a message when one names a
 * row that was removed or differs.  Repositories that cannot be read give
 * a WARNING and are skipped; no configuration means nothing to check.
 * Runs SPI queries: call it connected, as the owner.
 */
extern bool auditHeadCheck(int64 *brokenId, char **problem);

/*
 * The audit trail checked (audit_verify.c), for dr_audit_verify(): the
 * hash chain (pgdr.audit_verify_chain()), then, when it holds, the heads
 * published in the repositories (auditHeadCheck).  Run as the extension
 * owner; result->problem is allocated in the caller's memory context.
 */
typedef struct AuditVerifyResult
{
	bool		ok;
	int64		rowsChecked;	/* rows whose link was checked */
	int64		firstBrokenId;	/* the row where it breaks; 0 when ok */
	char	   *problem;		/* what is wrong; NULL when ok */
} AuditVerifyResult;

extern void auditVerify(AuditVerifyResult *result);

/*
 * dr_audit_expire() (audit_expire.c): check the chain, then remove the
 * rows older than pg_dr.audit_retention and move the anchor; returns the
 * number of rows removed.  ERROR XX001 on a broken chain, nothing removed.
 * Run as the extension owner.
 */
extern int64 auditExpire(void);

#endif							/* DR_AUDIT_H */
