/*-------------------------------------------------------------------------
 * api.h
 *	  Helpers shared by the SQL-callable functions in src/api.
 *
 * API functions are thin: EXECUTE privileges (granted by the extension
 * script) decide who may call them; they write the audit record and hand
 * the work to the parts.  Internal tables are reached as the extension's
 * owner (apiAsOwnerBegin/End), never with privileges granted to users.
 *-------------------------------------------------------------------------
 */
#ifndef DR_API_H
#define DR_API_H

#include "common/error.h"

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

#endif							/* DR_API_H */
