/*-------------------------------------------------------------------------
 * ha_worker.h
 *	  The HA worker: automatic failover on every node (ha_worker.c says
 *	  what a round does; docs/ha.md what users get).
 *-------------------------------------------------------------------------
 */
#ifndef DR_HA_WORKER_H
#define DR_HA_WORKER_H

#include "fmgr.h"

/* Register the worker at postmaster start (from _PG_init). */
extern void haWorkerRegister(void);

/* Entry point, named in the worker registration. */
extern PGDLLEXPORT void pg_dr_ha_worker_main(Datum arg);

#endif							/* DR_HA_WORKER_H */
