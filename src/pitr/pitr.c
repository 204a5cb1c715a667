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
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "common/config.h"
#include "pg_dr.h"
#include "pitr/pitr.h"
#include "repo/repo_origin.h"

/* In the worker: when the last scheduled restore point was made. */
static TimestampTz pitrLastPoint = 0;
static bool pitrLastPointKnown = false;
/* ... and the last switch this worker requested */
static TimestampTz pitrLastSwitch = 0;
/* ... and whether the last round was refused by the origin marker */
static bool pitrOriginRefused = false;

static void
pitrEventInsert(const char *kind, const char *name, XLogRecPtr lsn,
				const char *origin, const char *reason)
{
	Oid			argtypes[6] = {TEXTOID, TEXTOID, LSNOID, INT4OID, TEXTOID, TEXTOID};
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};

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
	if (SPI_execute_with_args("INSERT INTO pgdr.pitr_events (kind, name, lsn, timeline, origin, reason)"
							  " VALUES ($1, $2, $3, $4, $5, $6)",
							  6, argtypes, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not record the event in pgdr.pitr_events");
}

XLogRecPtr
pitrRestorePointCreate(const char *name, const char *kind)
{
	XLogRecPtr	lsn;
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];

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
	/* names are unique, so that recovery to a name is never ambiguous */
	values[0] = CStringGetTextDatum(name);
	if (SPI_execute_with_args("SELECT 1 FROM pgdr.pitr_events WHERE kind = 'restore-point' AND name = $1",
							  1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pgdr.pitr_events");
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("restore point \"%s\" already exists", name),
				 errhint("Choose another name: recovery to a name stops at the first one.")));

	lsn = XLogRestorePoint(name);
	pitrEventInsert("restore-point", name, lsn, kind, NULL);
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
	if (SPI_execute_with_args("SELECT (extract(epoch FROM rpo) * 1000)::bigint FROM pgdr.objectives WHERE tier = $1",
							  1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		return 0;
	ms = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt64(ms);
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

/* One round of the worker's PITR duties, in a transaction of its own. */
static void
pitrRoundWork(void)
{
	TimestampTz now = GetCurrentTimestamp();

	if (!pitrOriginAllows())
		return;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* after a restart, go on from the newest scheduled restore point */
	if (!pitrLastPointKnown)
	{
		if (SPI_execute("SELECT max(at) FROM pgdr.pitr_events WHERE origin = 'scheduled'",
						true, 1) == SPI_OK_SELECT && SPI_processed == 1)
		{
			bool		isnull;
			Datum		at = SPI_getbinval(SPI_tuptable->vals[0],
										   SPI_tuptable->tupdesc, 1, &isnull);

			pitrLastPoint = isnull ? 0 : DatumGetTimestampTz(at);
		}
		pitrLastPointKnown = true;
	}

	if (drPitrInterval > 0 &&
		TimestampDifferenceExceeds(pitrLastPoint, now, drPitrInterval * 1000))
	{
		char		name[MAXFNAMELEN];
		pg_time_t	t = timestamptz_to_time_t(now);
		struct pg_tm *tm = pg_gmtime(&t);

		snprintf(name, sizeof(name), "pg_dr_%04d%02d%02d_%02d%02d%02d",
				 tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday,
				 tm->tm_hour, tm->tm_min, tm->tm_sec);
		SPI_finish();
		pitrRestorePointCreate(name, "scheduled");
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		pitrLastPoint = now;
	}

	if (XLogArchivingActive())
	{
		int64		rpoMs = pitrRpoMs();
		PgStat_ArchiverStats *archiver = pgstat_fetch_stat_archiver();
		TimestampTz archivedAt = archiver->last_archived_timestamp;

		if (rpoMs > 0 &&
			TimestampDifferenceExceeds(archivedAt, now, (int) Min(rpoMs / 2, INT_MAX)) &&
			TimestampDifferenceExceeds(pitrLastSwitch, now, (int) Min(rpoMs / 2, INT_MAX)))
		{
			XLogRecPtr	before = GetXLogInsertRecPtr();

			(void) RequestXLogSwitch(false);
			pitrLastSwitch = now;
			/* nothing written in the segment: PostgreSQL did not switch */
			if (XLogSegmentOffset(before, wal_segment_size) != 0)
			{
				char	   *reason = psprintf("newest archived WAL older than half the %s tier's RPO",
											  drTierName(drTier));

				pitrEventInsert("wal-switch", NULL, before, "rpo", reason);
			}
		}
	}
	SPI_finish();
}

void
pitrRound(void)
{
	MemoryContext oldcxt = CurrentMemoryContext;

	if (RecoveryInProgress())
		return;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	PG_TRY();
	{
		if (OidIsValid(get_extension_oid("pg_dr", true)))
			pitrRoundWork();
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
	}
	PG_END_TRY();
}
