/*-------------------------------------------------------------------------
 * worker_settings.c
 *	  The pg_dr worker's setting (GUC) pg_dr.database, defined by
 *	  workerSettingsDefine() from _PG_init (worker.h).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/guc.h"

#include "ops/worker.h"

char	   *drDatabase = NULL;

void
workerSettingsDefine(void)
{
	DefineCustomStringVariable("pg_dr.database",
							   "Database in which the pg_dr extension and its worker live.",
							   NULL,
							   &drDatabase,
							   "postgres",
							   PGC_POSTMASTER,
							   0,
							   NULL, NULL, NULL);
}
