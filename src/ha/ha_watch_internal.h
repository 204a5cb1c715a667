/*-------------------------------------------------------------------------
 * ha_watch_internal.h
 *	  Between the files of the lag watcher: the ring in shared memory
 *	  (ha_watch_shmem.c) and synchronous_standby_names (ha_watch_sync.c),
 *	  used by the duty (ha_watch.c).
 *-------------------------------------------------------------------------
 */
#ifndef DR_HA_WATCH_INTERNAL_H
#define DR_HA_WATCH_INTERNAL_H

#include "ha/ha_watch.h"
#include "ha/ha_watch_decide.h"

/*
 * Publish one round: its rows go into the ring (the oldest rows make
 * room) and become dr_replication.  count may be 0 (no standby, or the
 * watcher is off).
 */
extern void haWatchPublish(const HaWatchSample *rows, int count);

/*
 * Write synchronous_standby_names = value as ALTER SYSTEM does (value
 * NULL: ALTER SYSTEM RESET, the line goes from postgresql.auto.conf) and
 * signal the postmaster to reload; audited and logged with why (reason).  Runs
 * in the worker, in a transaction (dutyXactRun), as the bootstrap
 * superuser.  ERROR when the file cannot be written.
 */
extern void haWatchSyncWrite(const char *value, const char *previous,
							 const char *reason);

#endif							/* DR_HA_WATCH_INTERNAL_H */
