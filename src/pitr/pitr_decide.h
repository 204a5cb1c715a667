/*-------------------------------------------------------------------------
 * pitr_decide.h
 *	  The decisions of the PITR duty, as pure functions: whether the worker
 *	  makes a scheduled restore point, switches WAL for the RPO, or does
 *	  nothing, and why; and when the duty is next due.  Compiled into the
 *	  CLI build too, for the unit tests (test/unit/test_pitr_decide.c);
 *	  pitr.c gathers the inputs and carries the decision out.
 *
 * The rules (see pitr.c for why):
 * - nothing while the cluster is a restored one its origin marker refuses
 *   (repo/repo_origin.h);
 * - a restore point when the restore-point interval is on and at least
 *   that long has passed since the last scheduled one; the interval is
 *   the tier's schedule policy's (restore_point_interval) while the
 *   scheduler is on (pg_dr.schedule) and the tier has a policy, else
 *   pg_dr.pitr_interval (pitrIntervalPick);
 * - otherwise, a WAL switch when archiving is on, the tier's RPO is known,
 *   the newest archived WAL is at least half the RPO old, the last switch
 *   this worker requested is at least half the RPO old too, and WAL was
 *   written since the current segment began (a switch then is a no-op).
 * A restore point comes first: the executor carries it out, updates
 * lastPoint and asks again, so one round can make both.
 *-------------------------------------------------------------------------
 */
#ifndef DR_PITR_DECIDE_H
#define DR_PITR_DECIDE_H

#include "datatype/timestamp.h"

/* a restore point name's room, terminator included (MAXFNAMELEN) */
#define PITR_POINT_NAME_SIZE	64
#define PITR_REASON_SIZE		160

/* Where the restore-point interval comes from. */
typedef enum PitrIntervalSource
{
	PITR_INTERVAL_SETTING,		/* pg_dr.pitr_interval */
	PITR_INTERVAL_POLICY		/* the schedule policy's restore_point_interval */
} PitrIntervalSource;

typedef struct PitrDecideInput
{
	TimestampTz now;
	TimestampTz lastPoint;		/* last scheduled restore point; 0 = none */
	int			intervalSec;	/* pitrIntervalPick's; 0 = off */
	PitrIntervalSource intervalSource;	/* for the reason */
	bool		archiving;		/* archive_mode on */
	int64		rpoMs;			/* the tier's RPO; 0 = unknown */
	const char *tierName;		/* pg_dr.tier, for the reason */
	TimestampTz lastArchived;	/* archiver's last success; 0 = never */
	TimestampTz lastSwitch;		/* last switch this worker asked; 0 = none */
	bool		walWritten;		/* WAL since the current segment began */
	bool		originRefused;	/* a restored cluster, refused by its marker */
} PitrDecideInput;

typedef enum PitrAction
{
	PITR_ACTION_NONE,
	PITR_ACTION_RESTORE_POINT,
	PITR_ACTION_WAL_SWITCH
} PitrAction;

typedef struct PitrDecision
{
	PitrAction	action;
	char		name[PITR_POINT_NAME_SIZE];	/* restore point: its name */
	char		reason[PITR_REASON_SIZE];	/* why (for a switch: recorded) */
} PitrDecision;

extern void pitrDecide(const PitrDecideInput *in, PitrDecision *out);

/*
 * The restore-point interval in effect: the tier's policy's
 * (policySec; 0 = none) while the scheduler is on and the tier has a
 * policy (policyFound), else pg_dr.pitr_interval (settingSec; 0 =
 * none).  Returns where it came from; *intervalSec receives it.
 */
extern PitrIntervalSource pitrIntervalPick(bool scheduleOn, bool policyFound,
										   int policySec, int settingSec,
										   int *intervalSec);

/* "policy" or "pg_dr.pitr_interval", as dr_schedule and the reason say. */
extern const char *pitrIntervalSourceName(PitrIntervalSource source);

/*
 * The name of a scheduled restore point made at t: pg_dr_YYYYMMDD_HHMMSS,
 * in UTC.
 */
extern void pitrPointName(TimestampTz t, char *name, size_t size);

/*
 * When the PITR duty is next due, given the start of its last round
 * (0 = never ran), the last scheduled restore point (known: read from
 * pgdr.pitr_events since the worker started) and pg_dr.pitr_interval:
 * at the next restore point, and at most pollMs after the last round
 * (the archive's age and the RPO can only be watched).
 */
extern TimestampTz pitrNextDue(TimestampTz lastRound, TimestampTz lastPoint,
							   bool lastPointKnown, int intervalSec,
							   int64 pollMs);

#endif							/* DR_PITR_DECIDE_H */
