/*-------------------------------------------------------------------------
 * objectives.h
 *	  The recovery objectives measured against reality: the figures of
 *	  dr_status (RPO actual, RTO estimate, the rates behind it, the newest
 *	  valid backup, archive health, open alerts, the verdict), the
 *	  worker's duty that samples them into pgdr.objectives_history and
 *	  raises / resolves the objectives alerts, and the restore and replay
 *	  rates measured on this host (pgdr.rate_samples).
 *
 * Files:
 *	 objectives.c               measuring (objectivesMeasure), the rates
 *	 objectives_verdict.c       the verdict, pure (objectives_verdict.h)
 *	 objectives_availability.c  availability over a period, pure
 *	 objectives_duty.c          the sampling duty: history and alerts
 *	 objectives_settings.c      the settings below
 *
 * Where the figures come from (docs/sql.md, "dr_status"):
 *	 - RPO actual: objectivesRpoActual (objectives_verdict.h) from the
 *	   archiver's statistics (pg_stat_archiver: the archive module returns
 *	   success only once a WAL file is in every required repository), the
 *	   .ready files in pg_wal/archive_status and the current segment; the
 *	   last moment nothing waited is kept in shared memory.  On a primary
 *	   with standbys, by pg_dr.objectives_rpo_source, the best healthy
 *	   standby's flush lag instead (objectivesRpoChoose), from the lag
 *	   watcher's newest round (ha/ha_watch.h, haWatchNow).
 *	 - RTO estimate: rto_model.h on the newest valid backup of pgdr.backups
 *	   (its data_bytes, what a restore writes) and the WAL from its start
 *	   LSN to the current insert LSN, at the rates below.
 *	 - Rates: the newest OBJECTIVES_RATE_SAMPLES measurements of a kind,
 *	   total bytes / total seconds: "restore", recorded by every
 *	   dr_restore() (bytes written / time of the restore); "replay",
 *	   recorded by a cluster restored from a pg_dr backup when its recovery
 *	   ends (WAL from the backup's start to the end of recovery / time from
 *	   the server's start to the end of recovery).  No sample: the model's
 *	   default, flagged as not measured.
 * No repository is listed or opened here: dr_status stays fast whatever
 * the number of backups.
 *-------------------------------------------------------------------------
 */
#ifndef DR_OBJECTIVES_H
#define DR_OBJECTIVES_H

#include "access/xlogdefs.h"
#include "datatype/timestamp.h"

#include "ops/objectives_verdict.h"
#include "ops/rto_model.h"

/* pg_dr.backup_overdue_after, pg_dr.objectives_sample_interval,
 * pg_dr.objectives_history_retention, pg_dr.objectives_history_max,
 * pg_dr.objectives_rpo_source (an ObjectivesRpoMode) */
extern int	drObjectivesRpoSource;
extern const char *objectivesRpoModeName(int mode);
extern int	drBackupOverdueAfter;
extern int	drObjectivesSampleInterval;
extern int	drObjectivesHistoryRetention;
extern int	drObjectivesHistoryMax;
extern void objectivesSettingsDefine(void);

/* rates: how many of the newest measurements count; how many are kept */
#define OBJECTIVES_RATE_SAMPLES		5
#define OBJECTIVES_RATE_KEEP		100

/* archive health, as dr_status.archive_health shows it */
#define OBJ_ARCHIVE_OFF			"off"
#define OBJ_ARCHIVE_OK			"ok"
#define OBJ_ARCHIVE_LAGGING		"lagging"
#define OBJ_ARCHIVE_FAILING		"failing"

typedef struct ObjectivesMeasure
{
	TimestampTz now;
	const char *tier;

	ObjectivesInput input;		/* what the verdict was decided on */
	ObjectivesVerdict verdict;

	char		rpoReason[256]; /* why the RPO actual is unknown; "" */
	const char *rpoSource;		/* "archive" or "standby": whose figure the
								 * RPO actual is (pg_dr.objectives_rpo_source) */
	char		rpoStandby[64]; /* "standby": its application_name */

	/* the newest valid backup (input.backupExists) */
	char		backupId[64];
	TimestampTz backupAt;		/* when it finished */
	int64		walBytes;		/* WAL since its start */
	RtoModelEstimate rto;

	/* measured rates (bytes/s; 0 = none) and when last measured */
	double		restoreRate;
	TimestampTz restoreMeasuredAt;
	double		replayRate;
	TimestampTz replayMeasuredAt;

	const char *archiveHealth;
	int64		archivePending; /* WAL files waiting for the archiver */
	int32		openAlerts;
} ObjectivesMeasure;

/*
 * Measure everything, decide the verdict.  Runs queries through SPI (it
 * connects itself) on pgdr tables: the caller runs as the extension owner
 * with the pinned search_path (api: apiAsOwnerBegin; the worker).
 */
extern void objectivesMeasure(ObjectivesMeasure *m);

/*
 * The restore and replay rates measured on this host, as objectivesMeasure
 * takes them (bytes/s; 0: not measured, the RTO model's default then
 * applies).  Within an SPI connection, as the extension owner.
 */
extern void objectivesRatesGet(double *restoreRate, double *replayRate);

/*
 * Record a rate measurement of kind "restore" or "replay" (bytes in
 * seconds; nothing when either is not positive), keeping the newest
 * OBJECTIVES_RATE_KEEP of the kind.  As the extension owner, in a
 * transaction that can write.
 */
extern void objectivesRateRecord(const char *kind, int64 bytes, double seconds,
								 const char *source);

/*
 * Record the replay rate of the recovery this server finished, once (see
 * objectives.c); nothing when it did not recover from a backup.  As the
 * extension owner, in a transaction that can write.
 */
extern void objectivesReplayRecord(void);

/* Shared memory (the module's shmem hooks) and the worker's duty. */
extern void objectivesShmemRequest(void);
extern void objectivesShmemInit(void);
extern void objectivesDutiesRegister(void);

#endif							/* DR_OBJECTIVES_H */
