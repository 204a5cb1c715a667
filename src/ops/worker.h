/*-------------------------------------------------------------------------
 * worker.h
 *	  The pg_dr background worker: one per cluster, connected to
 *	  pg_dr.database.  It runs the duties every part registers (duty.h).
 *-------------------------------------------------------------------------
 */
#ifndef DR_WORKER_H
#define DR_WORKER_H

#include "fmgr.h"

/* pg_dr.database (worker_settings.c): where the worker connects */
extern char *drDatabase;
extern void workerSettingsDefine(void);

/* Register the worker at postmaster start (from _PG_init). */
extern void workerRegister(void);

/* Entry point, named in the worker registration. */
extern PGDLLEXPORT void pg_dr_worker_main(Datum arg);

#endif							/* DR_WORKER_H */
