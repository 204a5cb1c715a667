/*-------------------------------------------------------------------------
 * pitr.c
 *	  Restore points on a schedule, and WAL switches for the RPO (see
 *	  pitr.h).
 *
 * Why switch WAL: the archiver only sees complete segments.  On a quiet
 * server a segment can take hours to fill, and until then none of its
 * transactions can be recovered from the archive.  When the newest
 * archived WAL is older than half the tier's RPO (pg_dr.tier, dr_objectives)
 * the worker requests a switch, so that the archive never falls further
 * behind than the RPO allows.  A switch on a segment with no new WAL is a
 * no-op in PostgreSQL, so an idle server does not fill the archive with
 * empty segments.
 *
 * A restored cluster that is not the primary of the repository it came
 * from (repo/repo_origin.h) makes neither: its restore points and
 * switches would end up in its source's archive.  The worker says so
 * once in the log, and again when it resumes.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/pg_lsn.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "common/config.h"
#include "ops/duty.h"
#include "pg_dr.h"
#include "pitr/pitr.h"
#include "pitr/pitr_decide.h"
#include "repo/repo_origin.h"

/* The lock on a restore point name (pitrRestorePointLock): "pgdr" */
#define PITR_LOCK_KEY2		0x70676472
#define PITR_LOCK_SPACE		0x5044

/* the archive's age is watched at least this often (milliseconds) */
#define PITR_POLL_MS		10000

/* In the worker: when the last scheduled restore point was made. */
static TimestampTz pitrLastPoint = 0;
static bool pitrLastPointKnown = false;
/* ... and the last switch this worker requested */
static TimestampTz pitrLastSwitch = 0;
/* ... and whether the last round was refused by the origin marker */
static bool pitrOriginRefused = false;
/* ... and when the last round started (0: none yet) */
static TimestampTz pitrLastRound = 0;
/* ... and the restore-point interval it used (pitrIntervalPick) */
static bool pitrIntervalKnown = false;
static int	pitrIntervalSec = 0;
static PitrIntervalSource pitrIntervalFrom = PITR_INTERVAL_SETTING;

static void
pitrEventInsert(const char *kind, const char *name, XLogRecPtr lsn,
				TimestampTz at, const char *origin, const char *reason)
{
	Oid			argtypes[7] = {TEXTOID, TEXTOID, LSNOID, INT4OID, TEXTOID, TEXTOID,
	TIMESTAMPTZOID};
	Datum		values[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};

	values[0] = CStringGetTextDatum(kind);
	if (name)
		values[1] = CStringGetTextDatum(name);
	else
		nulls[1] = 'n';
	values[2] = LSNGetDatum(lsn);
	values[3] = Int32GetDatum((int32) GetWALInsertionTimeLine());
	values[4] = CStringGetTextDatum(origin);
	if (reason)
		values[5] = CStringGetTextDatum(reason);
	else
		nulls[5] = 'n';
	values[6] = TimestampTzGetDatum(at);
	if (SPI_execute_with_args("INSERT INTO pgdr.pitr_events (kind, name, lsn, timeline, origin, reason, at)"
							  " VALUES ($1, $2, $3, $4, $5, $6, $7)",
							  7, argtypes, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not record the event in pgdr.pitr_events");
}

/*
 * Lock a restore point name until the end of the transaction.  An advisory
 * lock of the database keyed on a hash of the name (two names with one
 * hash only wait for each other), in a lock space of its own: field4 is 1
 * or 2 for the locks of pg_advisory_lock() and friends, so no SQL call can
 * take or block this one.
 */
static void
pitrRestorePointLock(const char *name)
{
	LOCKTAG		tag;
	uint32		hash = DatumGetUInt32(hash_any((const unsigned char *) name,
											   strlen(name)));

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, hash, PITR_LOCK_KEY2,
						 PITR_LOCK_SPACE);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

XLogRecPtr
pitrRestorePointCreate(const char *name, const char *kind)
{
	XLogRecPtr	lsn;
	TimestampTz at;
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	SPIPlanPtr	plan;

	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("restore points can only be created on the primary")));
	if (!XLogIsNeeded())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("WAL level not sufficient for creating a restore point"),
				 errhint("wal_level must be set to \"replica\" or \"logical\" at server start.")));
	if (name[0] == '\0' || strlen(name) >= MAXFNAMELEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("restore point names must have 1 to %d bytes", MAXFNAMELEN - 1)));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/*
	 * Names are unique, so that recovery to a name is never ambiguous, and
	 * the check must come before the WAL record: a second record of one
	 * name cannot be taken back.  Two sessions creating one name at once
	 * would both pass a plain check (neither sees the other's uncommitted
	 * row), so the name is locked first, until the end of the transaction,
	 * and the check reads the latest committed state rather than the
	 * transaction's snapshot (which, under REPEATABLE READ, predates the
	 * other session's commit).
	 */
	pitrRestorePointLock(name);
	values[0] = CStringGetTextDatum(name);
	plan = SPI_prepare("SELECT 1 FROM pgdr.pitr_events"
					   " WHERE kind OPERATOR(pg_catalog.=) 'restore-point'"
					   " AND name OPERATOR(pg_catalog.=) $1",
					   1, argtypes);
	if (plan == NULL)
		elog(ERROR, "could not prepare the restore point check: %s",
			 SPI_result_code_string(SPI_result));
	if (SPI_execute_snapshot(plan, values, NULL, GetLatestSnapshot(),
							 InvalidSnapshot, true, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pgdr.pitr_events");
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("restore point \"%s\" already exists", name),
				 errhint("Choose another name: recovery to a name stops at the first one; dr_restore_points lists the names in use.")));

	/*
	 * The time is taken before the record is written: every commit before
	 * it is in WAL before the record, so once the record's segment is
	 * archived, a restore can reach that instant (dr_pitr_window.latest).
	 */
	at = GetCurrentTimestamp();
	lsn = XLogRestorePoint(name);
	pitrEventInsert("restore-point", name, lsn, at, kind, NULL);
	SPI_finish();
	return lsn;
}

/* The RPO of the cluster's tier, in milliseconds (0 when unknown). */
static int64
pitrRpoMs(void)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	bool		isnull;
	Datum		ms;

	values[0] = CStringGetTextDatum(drTierName(drTier));
	if (SPI_execute_with_args("SELECT (pg_catalog.date_part('epoch', rpo) OPERATOR(pg_catalog.*) 1000::pg_catalog.float8)::pg_catalog.int8"
							  " FROM pgdr.objectives WHERE tier OPERATOR(pg_catalog.=) $1",
							  1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		return 0;
	ms = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt64(ms);
}

/*
 * The restore-point interval in effect (pitr_decide.h, pitrIntervalPick):
 * while pg_dr.schedule is on, the tier's schedule policy's
 * restore_point_interval, read from pgdr.schedule_policies as the
 * scheduler reads it (the table is ops/'s; read by its name, as the RPO
 * above is read from pgdr.objectives); else pg_dr.pitr_interval.  SPI
 * connected.
 */
static void
pitrIntervalRead(void)
{
	const char *scheduleValue = GetConfigOption("pg_dr.schedule", true, false);
	bool		scheduleOn = false;
	bool		policyFound = false;
	int			policySec = 0;

	if (scheduleValue != NULL && !parse_bool(scheduleValue, &scheduleOn))
		scheduleOn = false;
	if (scheduleOn)
	{
		Oid			argtypes[1] = {TEXTOID};
		Datum		values[1];
		bool		isnull;

		values[0] = CStringGetTextDatum(drTierName(drTier));
		if (SPI_execute_with_args("SELECT pg_catalog.date_part('epoch', restore_point_interval)::pg_catalog.int8"
								  " FROM pgdr.schedule_policies WHERE tier OPERATOR(pg_catalog.=) $1",
								  1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read pgdr.schedule_policies");
		if (SPI_processed == 1)
		{
			Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

			policyFound = !isnull;
			policySec = isnull ? 0 : (int) Min(DatumGetInt64(d), (int64) PG_INT32_MAX);
		}
	}
	pitrIntervalFrom = pitrIntervalPick(scheduleOn, policyFound, policySec,
										drPitrInterval, &pitrIntervalSec);
	pitrIntervalKnown = true;
}

bool
pitrScheduleGet(int *intervalSec, PitrIntervalSource *source, TimestampTz *next)
{
	if (!pitrIntervalKnown)
		return false;
	*intervalSec = pitrIntervalSec;
	*source = pitrIntervalFrom;
	if (pitrIntervalSec <= 0)
		*next = 0;
	else if (pitrLastPointKnown && pitrLastPoint != 0)
		*next = pitrLastPoint + (int64) pitrIntervalSec * USECS_PER_SEC;
	else
		*next = pitrLastRound + PITR_POLL_MS * INT64CONST(1000);	/* the first */
	return true;
}

/*
 * May the worker make restore points and switches (see the header
 * comment)?  Refusals are logged when they start and when they end.
 */
static bool
pitrOriginAllows(void)
{
	DrConfig   *config = NULL;
	const ConfigRepo *first;
	RepoOrigin	origin;
	DrError		err;
	bool		found;
	bool		allowed = true;

	drErrorClear(&err);
	/* the common case first: no marker, no configuration file to read */
	if (repoOriginRead(DataDir, &origin, &found, &err) && !found)
		allowed = true;
	else if (drConfigFile != NULL && drConfigFile[0] != '\0' &&
			 (config = configLoad(drConfigFile, &err)) != NULL)
	{
		first = configRepoFirst(config, &err);
		if (first != NULL &&
			!repoOriginGuard(DataDir, first, NULL,
							 "scheduled restore points and WAL switches", &err))
			allowed = false;
		configFree(config);
	}

	if (!allowed && !pitrOriginRefused)
		ereport(LOG,
				(errmsg("pg_dr worker: %s", err.message),
				 err.hint[0] ? errhint("%s", err.hint) : 0));
	else if (allowed && pitrOriginRefused)
		ereport(LOG,
				(errmsg("pg_dr worker: scheduled restore points and WAL switches resumed")));
	pitrOriginRefused = !allowed;
	return allowed;
}

/*
 * Gather the decision's inputs that need no SPI.  walWritten and the WAL
 * position are read again before each decision: a restore point writes
 * WAL.
 */
static void
pitrGatherWal(PitrDecideInput *in, XLogRecPtr *insertPos)
{
	*insertPos = GetXLogInsertRecPtr();

	/*
	 * Nothing written in the segment: a switch would be a no-op.  The
	 * insert position of an empty segment is not its start but just past
	 * its long page header (GetXLogInsertRecPtr() counts the header, as
	 * pg_current_wal_insert_lsn() shows: .../N000028 after a switch).
	 */
	in->walWritten = XLogSegmentOffset(*insertPos, wal_segment_size) > SizeOfXLogLongPHD;
}

/* Carry out a restore point decision: connected to SPI before and after. */
static void
pitrDoRestorePoint(const PitrDecision *d, TimestampTz now)
{
	SPI_finish();
	pitrRestorePointCreate(d->name, "scheduled");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	pitrLastPoint = now;
}

/* Carry out a WAL switch decision: before is the insert position. */
static void
pitrDoWalSwitch(const PitrDecision *d, TimestampTz now, XLogRecPtr before)
{
	(void) RequestXLogSwitch(false);
	pitrLastSwitch = now;

	/*
	 * now was taken before the switch: every commit before it is in the
	 * switched segment or earlier, so once that is archived, a restore
	 * reaches now (dr_pitr_window.latest)
	 */
	pitrEventInsert("wal-switch", NULL, before, now, "rpo", d->reason);
}

/*
 * One round of the PITR duty, in a transaction of its own: gather the
 * inputs, decide (pitr_decide.c), carry the decision out, and decide again
 * with what changed, so that one round can make a restore point and a
 * switch.
 */
static void
pitrRoundWork(void)
{
	PitrDecideInput in;
	PitrDecision d;
	XLogRecPtr	insertPos;

	memset(&in, 0, sizeof(in));
	in.now = GetCurrentTimestamp();
	in.tierName = drTierName(drTier);
	in.lastSwitch = pitrLastSwitch;
	in.originRefused = !pitrOriginAllows();
	if (in.originRefused)
	{
		pitrDecide(&in, &d);
		return;
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* after a restart, go on from the newest scheduled restore point */
	if (!pitrLastPointKnown)
	{
		if (SPI_execute("SELECT pg_catalog.max(at) FROM pgdr.pitr_events"
						" WHERE origin OPERATOR(pg_catalog.=) 'scheduled'",
						true, 1) == SPI_OK_SELECT && SPI_processed == 1)
		{
			bool		isnull;
			Datum		at = SPI_getbinval(SPI_tuptable->vals[0],
										   SPI_tuptable->tupdesc, 1, &isnull);

			pitrLastPoint = isnull ? 0 : DatumGetTimestampTz(at);
		}
		pitrLastPointKnown = true;
	}
	in.lastPoint = pitrLastPoint;
	pitrIntervalRead();
	in.intervalSec = pitrIntervalSec;
	in.intervalSource = pitrIntervalFrom;

	in.archiving = XLogArchivingActive();
	if (in.archiving)
	{
		in.rpoMs = pitrRpoMs();
		in.lastArchived = pgstat_fetch_stat_archiver()->last_archived_timestamp;
	}

	/* at most a restore point, then a switch */
	for (int n = 0; n < 2; n++)
	{
		pitrGatherWal(&in, &insertPos);
		pitrDecide(&in, &d);
		if (d.action == PITR_ACTION_RESTORE_POINT)
		{
			pitrDoRestorePoint(&d, in.now);
			in.lastPoint = pitrLastPoint;
		}
		else if (d.action == PITR_ACTION_WAL_SWITCH)
		{
			pitrDoWalSwitch(&d, in.now, insertPos);
			in.lastSwitch = pitrLastSwitch;
		}
		else
			break;
	}
	SPI_finish();
}

static void
pitrRoundStep(void *arg)
{
	if (OidIsValid(get_extension_oid("pg_dr", true)))
		pitrRoundWork();
}

/*
 * The PITR duty: due at the next scheduled restore point, and at least
 * every PITR_POLL_MS to watch the archive's age against the RPO.  The
 * interval is the one the last round read (a policy edit or a reload
 * counts from the next round, within PITR_POLL_MS).
 */
static TimestampTz
pitrDutyNextDue(TimestampTz now, void *arg)
{
	return pitrNextDue(pitrLastRound, pitrLastPoint, pitrLastPointKnown,
					   pitrIntervalKnown ? pitrIntervalSec : drPitrInterval,
					   PITR_POLL_MS);
}

static bool
pitrDutyRun(TimestampTz now, void *arg)
{
	pitrLastRound = now;
	if (RecoveryInProgress())
		return true;
	return dutyXactRun(NULL, pitrRoundStep, NULL);
}

void
pitrDutiesRegister(void)
{
	/* a failed round (e.g. wal_level minimal) is retried at the poll */
	dutyRegister("pitr", pitrDutyNextDue, pitrDutyRun, NULL, PITR_POLL_MS);
}
