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

/* Run as the owner of the pg_dr extension, in a restricted context. */
extern void apiAsOwnerBegin(ApiOwnerContext *context);
extern void apiAsOwnerEnd(ApiOwnerContext *context);

#endif							/* DR_API_H */
