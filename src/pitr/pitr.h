/*-------------------------------------------------------------------------
 * pitr.h
 *	  Point-in-time recovery, server side: restore points on a schedule and
 *	  WAL switches that keep the archive within the tier's RPO.
 *
 * The PITR duty of the pg_dr worker (ops/duty.h) creates a named restore
 * point every restore-point interval (the tier's schedule policy's while
 * pg_dr.schedule is on, else pg_dr.pitr_interval), and, when archiving is on and the
 * newest archived WAL is older than half the tier's RPO while WAL was
 * written since, forces a WAL switch so that the archiver gets a segment.
 * Both are recorded in pgdr.pitr_events (dr_restore_points shows the
 * restore points, the PITR window is computed from them).  What to do is
 * decided by pitr_decide.h; pitr.c gathers the inputs and carries it out.
 *-------------------------------------------------------------------------
 */
#ifndef DR_PITR_H
#define DR_PITR_H

#include "access/xlogdefs.h"
#include "datatype/timestamp.h"

#include "pitr/pitr_decide.h"

/* Settings (pitr_settings.c), defined by pitrSettingsDefine(). */
extern void pitrSettingsDefine(void);

/* pg_dr.tier: the recovery tier this cluster is measured against */
typedef enum DrTier
{
	DR_TIER_CRITICAL,
	DR_TIER_HIGH,
	DR_TIER_MEDIUM,
	DR_TIER_LOW
} DrTier;
extern int	drTier;
extern const char *drTierName(int tier);

/* pg_dr.pitr_interval: seconds between scheduled restore points; 0 = none */
extern int	drPitrInterval;

/* Register the PITR duty with the worker (from _PG_init). */
extern void pitrDutiesRegister(void);

/*
 * The scheduled restore points as the PITR duty's last round saw them:
 * the interval in effect (0: none) and where it came from
 * (pitrIntervalPick), and when the next one is due (0: none).  In the
 * pg_dr worker only (the duty's state is its own); false before the
 * duty's first round there.
 */
extern bool pitrScheduleGet(int *intervalSec, PitrIntervalSource *source,
							TimestampTz *next);

/*
 * Create a restore point and record it (kind "manual" or "scheduled").
 * Runs in the caller's transaction; returns its LSN.
 */
extern XLogRecPtr pitrRestorePointCreate(const char *name, const char *kind);

#endif							/* DR_PITR_H */
