/*-------------------------------------------------------------------------
 * objectives_verdict.h
 *	  Whether the cluster meets its tier's recovery objectives, as a pure
 *	  function of the measured figures: the verdict of dr_status, of every
 *	  row of dr_objectives_history, and of the objectives alerts.
 *	  Compiled into the CLI build too, for test/unit/test_objectives.c.
 *
 * The thresholds (docs/sql.md, "dr_status"; "passes" is strictly greater):
 *
 *	 breached	the RPO actual passes the RPO target;
 *				or no valid backup exists (nothing to restore from).
 *	 at_risk	the RPO actual passes three quarters of the RPO target (the
 *				PITR duty switches WAL at half of it, so a healthy archive
 *				stays under half plus its latency);
 *				or the RPO actual is unknown;
 *				or the RTO estimate passes the RTO target;
 *				or the newest valid backup is older than the overdue bound
 *				(pg_dr.backup_overdue_after; 0 = no bound);
 *				or WAL archiving fails now;
 *				or the oldest WAL waiting for the archive is older than
 *				half the RPO target (archive lagging);
 *				or the tier has no objectives.
 *	 ok			none of these.
 *
 * Every finding is kept (a bit each) and the reason names them all, the
 * breaching ones first, with their figures.
 *-------------------------------------------------------------------------
 */
#ifndef DR_OBJECTIVES_VERDICT_H
#define DR_OBJECTIVES_VERDICT_H

#include "datatype/timestamp.h"

typedef enum ObjectivesVerdictKind
{
	OBJ_VERDICT_OK = 0,
	OBJ_VERDICT_AT_RISK,
	OBJ_VERDICT_BREACHED
} ObjectivesVerdictKind;

extern const char *objectivesVerdictName(ObjectivesVerdictKind kind);
extern bool objectivesVerdictParse(const char *name, ObjectivesVerdictKind *kind);

/* Findings (bits of ObjectivesVerdict.findings). */
#define OBJ_FINDING_RPO_BREACHED		0x0001
#define OBJ_FINDING_NO_BACKUP			0x0002
#define OBJ_FINDING_RPO_AT_RISK			0x0004
#define OBJ_FINDING_RPO_UNKNOWN			0x0008
#define OBJ_FINDING_RTO_ABOVE			0x0010
#define OBJ_FINDING_BACKUP_OVERDUE		0x0020
#define OBJ_FINDING_ARCHIVE_FAILING		0x0040
#define OBJ_FINDING_ARCHIVE_LAGGING		0x0080
#define OBJ_FINDING_NO_TARGETS			0x0100

#define OBJ_FINDINGS_BREACHED	(OBJ_FINDING_RPO_BREACHED | OBJ_FINDING_NO_BACKUP)

/* at_risk: the RPO actual passes this fraction of the target */
#define OBJ_RPO_AT_RISK_FRACTION	0.75
/* archive lagging: its oldest waiting WAL passes this fraction of the RPO */
#define OBJ_ARCHIVE_LAG_FRACTION	0.5

typedef struct ObjectivesInput
{
	bool		targetsKnown;	/* the tier has a row in dr_objectives */
	double		rpoTargetSec;
	double		rtoTargetSec;

	bool		rpoKnown;		/* the RPO actual could be measured */
	double		rpoActualSec;

	bool		backupExists;	/* a valid backup exists */
	double		backupAgeSec;	/* age of the newest valid backup */
	double		backupOverdueSec;	/* overdue bound; <= 0 = none */
	double		rtoEstimateSec; /* only with backupExists */

	bool		archiveFailing; /* the last archive attempt failed */
	double		archiveOldestWaitSec;	/* oldest WAL waiting; < 0 = none */
} ObjectivesInput;

#define OBJ_REASON_MAX	512

typedef struct ObjectivesVerdict
{
	ObjectivesVerdictKind kind;
	uint32		findings;
	char		reason[OBJ_REASON_MAX]; /* "" when ok */
} ObjectivesVerdict;

extern void objectivesVerdict(const ObjectivesInput *in, ObjectivesVerdict *out);

/*
 * The RPO actual: how long the WAL not yet in every required repository
 * has been accumulating, in seconds.  0 when nothing waits (no WAL file
 * waits for the archiver and the current segment is empty).  Otherwise
 * the time since the later of the newest archived WAL's archival
 * (lastArchived, 0 = none) and the last moment nothing was seen waiting
 * (lastIdleSeen, 0 = not seen): the exposure began no earlier.  Returns
 * false (unknown) when WAL waits and neither time is known.
 */
extern bool objectivesRpoActual(TimestampTz now, bool walWaiting,
								TimestampTz lastArchived,
								TimestampTz lastIdleSeen, double *seconds);

/*
 * Where the RPO actual comes from (pg_dr.objectives_rpo_source; docs/sql.md,
 * "The objectives measured").  The archive's is objectivesRpoActual's; a
 * standby's is the replication lag of the best healthy standby of this
 * primary (the lag watcher's newest samples, ha/ha_watch.h).
 *
 *	 auto		the standby's when the best healthy synchronous standby
 *				(sync_state sync or quorum: commits wait for it) is known,
 *				else the archive's: a tier in synchronous mode is
 *				standby-protected (ha_synchronous, on by default for
 *				critical);
 *	 archive	the archive's, always;
 *	 standby	the best healthy standby's (synchronous or not), else the
 *				archive's;
 *	 best		the smaller of the two known ones: the newest copy of the
 *				WAL outside this node.
 */
typedef enum ObjectivesRpoMode
{
	OBJ_RPO_MODE_AUTO,
	OBJ_RPO_MODE_ARCHIVE,
	OBJ_RPO_MODE_STANDBY,
	OBJ_RPO_MODE_BEST
} ObjectivesRpoMode;

/* a standby sample older than this is not counted (the watcher stopped) */
#define OBJ_STANDBY_SAMPLE_MAX_AGE_SEC	30.0

/* One standby of this primary, as the lag watcher last sampled it. */
typedef struct ObjectivesStandby
{
	bool		streaming;		/* walsender state 'streaming' */
	bool		synchronous;	/* sync_state 'sync' or 'quorum' */
	int64		flushLagMs;		/* pg_stat_replication.flush_lag; -1 NULL */
	int64		flushLagBytes;	/* behind the primary's WAL; -1 unknown */
	double		sampleAgeSec;	/* how old the sample is */
} ObjectivesStandby;

/*
 * The best healthy standby's lag in seconds: healthy is streaming, sampled
 * within OBJ_STANDBY_SAMPLE_MAX_AGE_SEC, its flush lag in time known (or
 * NULL with nothing to flush: PostgreSQL clears the lag times of a standby
 * that caught up, which is no lag); only synchronous ones when syncOnly.
 * Returns the index of the best in standbys, or -1 when none is healthy.
 */
extern int	objectivesStandbyBest(const ObjectivesStandby *standbys, int count,
								  bool syncOnly, double *lagSec);

/*
 * The RPO actual by mode (above) from the archive's figure and the best
 * healthy standby's (synchronous: the best synchronous one's, for auto).
 * Returns true when the standby's figure was used; *known and *seconds
 * receive the RPO actual.
 */
extern bool objectivesRpoChoose(ObjectivesRpoMode mode,
								bool archiveKnown, double archiveSec,
								bool standbyKnown, double standbySec,
								bool syncKnown, double syncSec,
								bool *known, double *seconds);

#endif							/* DR_OBJECTIVES_VERDICT_H */
