/*-------------------------------------------------------------------------
 * api.h
 *	  Helpers shared by the SQL-callable functions in src/api.
 *
 * API functions are thin: EXECUTE privileges (granted by the extension
 * script) decide who may call them; they write the audit record (ApiCall,
 * below) and hand the work to the parts.  Internal tables are reached as
 * the extension's owner (apiAsOwnerBegin/End), never with privileges
 * granted to users, and each is written by the part that owns it
 * (pgdr.backups by backup/backup_catalog.c, the audit tables by ops/audit_*.c,
 * pgdr.pitr_events by pitr/pitr.c), not from here.  What another part
 * keeps in shared memory is read through that part's snapshot function
 * (backupProgressSnapshot, archiveStatusRead, auditQueueSnapshot).
 *-------------------------------------------------------------------------
 */
#ifndef DR_API_H
#define DR_API_H

#include "lib/stringinfo.h"
#include "nodes/pg_list.h"

#include "common/error.h"
#include "ops/audit.h"

typedef struct ApiOwnerContext
{
	Oid			savedUserId;
	int			savedSecContext;
	int			gucNestLevel;	/* where the pinned search_path was set */
} ApiOwnerContext;

/*
 * The configuration named by pg_dr.config_file; ERROR (F0000, with a hint)
 * when it is not set, missing or invalid.
 */
struct DrConfig;
extern struct DrConfig *apiConfigLoad(void);

/*
 * Open the first configured repository (the one backups and WAL go to);
 * ERROR when it is not configured or cannot be opened.  *config is the
 * loaded configuration, for the caller to free.
 */
struct Repo;
extern struct Repo *apiRepoOpen(struct DrConfig **config);

/*
 * The repo argument of dr_restore(), dr_backup_verify() and
 * dr_wal_verify(): 0 when it is NULL (read every configured repository),
 * else the repository given, which must be configured in config: ERROR
 * 22023 naming the configured ones otherwise (repo_fallback.h).
 */
extern int	apiRepoArg(const struct DrConfig *config, bool isNull, int32 value);

/*
 * Check a text argument that is written into a line-oriented file (a backup
 * label, a restore point name): minBytes to maxBytes bytes, no control
 * character.  ERROR 22023 naming the function and the argument otherwise.
 */
extern void apiTextArgCheck(const char *function, const char *argument,
							const char *value, size_t minBytes,
							size_t maxBytes);

/*
 * A restored cluster must not write into the repository it came from
 * (repo/repo_origin.h): ERROR 55000, naming what ("dr_backup_full" ...),
 * when the data directory's origin marker names repo.  The Configured
 * variant checks the first repository of pg_dr.config_file, and nothing
 * when that is not set or cannot be read.
 */
struct ConfigRepo;
extern void apiOriginGuard(const struct ConfigRepo *repo, const char *what);
extern void apiOriginGuardConfigured(const char *what);

/* For dr_status: NULL, or what the origin marker says and what it means. */
extern char *apiOriginState(const struct DrConfig *config);

/*
 * Run as the owner of the pg_dr extension, in a restricted context, with
 * search_path pinned to DR_SAFE_SEARCH_PATH at a GUC nest level of its own.
 *
 * The owner is usually a superuser and the caller may be hostile: with the
 * caller's search_path, an operator or function the caller planted in a
 * schema of its own would run as the owner.  apiAsOwnerEnd restores the
 * caller's user and search_path; on error, transaction (or subtransaction)
 * abort restores both, so End need not run then.  Every SQL text run in
 * between still names its schemas and operators: the pin is the second
 * wall, not the only one.
 */
extern void apiAsOwnerBegin(ApiOwnerContext *context);
extern void apiAsOwnerEnd(ApiOwnerContext *context);

/*
 * The audit record of a dr_* function (call.c; ops/audit.h writes it):
 *
 *	   ApiCall    *call = apiCallNew("dr_restore_point");
 *
 *	   apiArgText(call, "name", name);		-- an argument: in every record
 *	   API_CALL_BEGIN(call);
 *	   {
 *		   ... the operation; a field added here is in the record, ok or failed
 *	   }
 *	   API_CALL_END(call);
 *	   apiArgText(call, "lsn", lsnText);	-- a result: in the ok record only
 *	   apiCallOk(call);
 *
 * API_CALL_BEGIN queues the "began" record (ops/audit.h: auditOpBegin)
 * with the fields added so far, then opens a PG_TRY block; API_CALL_END
 * closes it, and on an error records it as failed, with its SQLSTATE and
 * message and the fields added until then, and re-throws it.  The record's
 * arguments are one JSON object: strings escaped, NULL as null, numbers,
 * booleans, lists of strings.  Allocate call with apiCallNew before the
 * block: the pointer must not change inside it.
 */
typedef struct ApiCall
{
	const char *operation;		/* "dr_backup_full" ... */
	StringInfoData json;		/* always a complete JSON object */
	AuditOp		op;
	void		(*onFailure) (void *arg);	/* apiCallOnFailure */
	void	   *onFailureArg;
} ApiCall;

/*
 * A hook API_CALL_END runs on an error, before the failure is recorded
 * and the error re-thrown (inside PG_CATCH: it may CopyErrorData in its
 * own memory context, must not throw): what a function does about its own
 * failure (dr_backup_* raise an alert), without a PG_TRY of its own.
 */
extern void apiCallOnFailure(ApiCall *call, void (*fn) (void *arg), void *arg);

extern ApiCall *apiCallNew(const char *operation);
extern void apiArgText(ApiCall *call, const char *key, const char *value);
extern void apiArgInt64(ApiCall *call, const char *key, int64 value);
extern void apiArgUint64(ApiCall *call, const char *key, uint64 value);
extern void apiArgBool(ApiCall *call, const char *key, bool value);
extern void apiArgTextList(ApiCall *call, const char *key, List *values);
extern void apiCallBegin(ApiCall *call);
extern void apiCallOk(ApiCall *call);
/* Inside PG_CATCH (API_CALL_END): record the error, then re-throw it. */
extern void apiCallFailed(ApiCall *call) pg_attribute_noreturn();

#define API_CALL_BEGIN(call) \
	apiCallBegin(call); \
	PG_TRY()

#define API_CALL_END(call) \
	PG_CATCH(); \
	{ \
		apiCallFailed(call); \
	} \
	PG_END_TRY()

#endif							/* DR_API_H */
