/*-------------------------------------------------------------------------
 * status.c
 *	  The functions behind the dr_status and dr_config views.
 *
 * dr_status is what a monitoring system polls: it never raises an error for
 * a problem it can describe (bad configuration, unreachable repository,
 * wrong key, WAL archiving failing); it reports it in a column.
 * repository_ok is the one health signal of the repositories: false when
 * one cannot be opened, or when archiving into one fails now (its last
 * failure is later than its last success).  dr_config shows the effective
 * configuration, exactly as the CLI reads it, with secrets hidden; a
 * configuration that cannot be read is an error there.
 *
 * The objectives measured (rpo_actual and on) come from objectivesMeasure
 * (ops/objectives.h): catalog tables and shared memory only, no
 * repository listed, so that the view stays fast with many backups.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "api/api.h"
#include "archive/archive.h"
#include "common/config.h"
#include "ops/audit.h"
#include "ops/objectives.h"
#include "pg_dr.h"
#include "pitr/pitr.h"
#include "repo/repo.h"

PG_FUNCTION_INFO_V1(pg_dr_status);
PG_FUNCTION_INFO_V1(pg_dr_config);

#define STATUS_COLUMNS	35
#define STATUS_MEASURED	14		/* the first of the objectives measured */

/* Objectives of the current tier, read as the extension owner. */
static void
statusObjectives(Datum *values, bool *nulls)
{
	ApiOwnerContext owner;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	int			i;

	args[0] = CStringGetTextDatum(drTierName(drTier));
	apiAsOwnerBegin(&owner);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT rto, rpo, availability FROM pgdr.objectives"
							  " WHERE tier OPERATOR(pg_catalog.=) $1",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pgdr.objectives");
	for (i = 0; i < 3; i++)
	{
		if (SPI_processed == 1)
		{
			values[i] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
									  i + 1, &nulls[i]);
			if (!nulls[i])
			{
				int16		typlen;
				bool		typbyval;

				get_typlenbyval(SPI_gettypeid(SPI_tuptable->tupdesc, i + 1),
								&typlen, &typbyval);
				values[i] = SPI_datumTransfer(values[i], typbyval, typlen);
			}
		}
		else
			nulls[i] = true;
	}
	SPI_finish();
	apiAsOwnerEnd(&owner);
}

/*
 * Changes of the objectives committed but not chained yet: their rows in
 * pgdr.audit_pending (the worker moves them into the chain), read as the
 * extension owner.
 */
static int32
statusAuditPendingRows(void)
{
	ApiOwnerContext owner;
	int32		rows = 0;
	bool		isnull;

	apiAsOwnerBegin(&owner);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT pg_catalog.count(*)::pg_catalog.int4 FROM pgdr.audit_pending",
					true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read pgdr.audit_pending");
	rows = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
									   SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	apiAsOwnerEnd(&owner);
	return isnull ? 0 : rows;
}

/*
 * Whether WAL archiving is failing now into one of the repositories: its
 * last failure came after its last success.  The first such repository
 * is reported in err.
 */
static bool
statusArchiving(DrError *err)
{
	ArchiveRepoStatus rows[CONFIG_REPO_MAX + 1];
	int			count = archiveStatusRead(rows, lengthof(rows));

	for (int i = 0; i < count; i++)
	{
		const ArchiveRepoStatus *r = &rows[i];

		if (r->lastErrorAt != 0 && r->lastErrorAt >= r->lastArchivedAt)
		{
			drErrorSet(err, DR_ERR_IO,
					   "%s%sWAL archiving is failing (%s, since %s): %s",
					   r->repoNumber > 0 ? psprintf("repo%d", r->repoNumber) : "",
					   r->repoNumber > 0 ? ": " : "",
					   r->lastArchivedAt != 0 ? "last success before that" : "no success yet",
					   timestamptz_to_str(r->lastErrorAt), r->lastError);
			return false;
		}
	}
	return true;
}

/* Open every configured repository and check its passphrase; the first
 * problem found is reported. */
static bool
statusRepositories(const DrConfig *config, DrError *err)
{
	int			n;

	for (n = 1; n <= CONFIG_REPO_MAX; n++)
	{
		if (config->repo[n].index == 0)
			continue;
		/* a passphrase that matched is not derived again (repo.h) */
		if (!repoKeyCheck(&config->repo[n], err))
		{
			drErrorPrefix(err, "repo%d: ", n);
			return false;
		}
	}
	return true;
}

/* A duration in seconds as an interval, to the millisecond. */
static Datum
statusInterval(double seconds)
{
	Interval   *iv = palloc0(sizeof(Interval));

	iv->time = (int64) (seconds * 1000.0 + 0.5) * 1000;
	return IntervalPGetDatum(iv);
}

static Datum
statusText(const char *s, bool *isnull)
{
	*isnull = s == NULL || s[0] == '\0';
	return *isnull ? (Datum) 0 : CStringGetTextDatum(s);
}

static Datum
statusTime(TimestampTz t, bool *isnull)
{
	*isnull = t == 0;
	return TimestampTzGetDatum(t);
}

/*
 * The objectives measured, from values[0] on (the columns from
 * rpo_actual), read as the extension owner.
 */
static void
statusMeasured(Datum *values, bool *nulls)
{
	ApiOwnerContext owner;
	ObjectivesMeasure m;
	int			i = 0;

	apiAsOwnerBegin(&owner);
	objectivesMeasure(&m);
	apiAsOwnerEnd(&owner);

	/* rpo_actual, rpo_actual_reason */
	values[i] = statusInterval(m.input.rpoActualSec);
	nulls[i++] = !m.input.rpoKnown;
	values[i] = statusText(m.input.rpoKnown ? NULL : m.rpoReason, &nulls[i]);
	i++;
	/* rto_estimate */
	values[i] = statusInterval(m.rto.totalSec);
	nulls[i++] = !m.input.backupExists;
	/* restore_rate, _measured, _measured_at; replay_rate, ... */
	values[i++] = Float8GetDatum(m.rto.restoreRateMeasured ? m.restoreRate : RTO_DEFAULT_RESTORE_RATE);
	values[i++] = BoolGetDatum(m.rto.restoreRateMeasured);
	values[i] = statusTime(m.restoreMeasuredAt, &nulls[i]);
	i++;
	values[i++] = Float8GetDatum(m.rto.replayRateMeasured ? m.replayRate : RTO_DEFAULT_REPLAY_RATE);
	values[i++] = BoolGetDatum(m.rto.replayRateMeasured);
	values[i] = statusTime(m.replayMeasuredAt, &nulls[i]);
	i++;
	/* wal_since_backup */
	values[i] = Int64GetDatum(m.walBytes);
	nulls[i++] = !m.input.backupExists;
	/* newest_backup, newest_backup_at, newest_backup_age */
	values[i] = statusText(m.input.backupExists ? m.backupId : NULL, &nulls[i]);
	i++;
	values[i] = statusTime(m.input.backupExists ? m.backupAt : 0, &nulls[i]);
	i++;
	values[i] = statusInterval(m.input.backupAgeSec);
	nulls[i++] = !m.input.backupExists;
	/* archive_health, archive_pending, open_alerts */
	values[i++] = CStringGetTextDatum(m.archiveHealth);
	values[i++] = Int64GetDatum(m.archivePending);
	values[i++] = Int32GetDatum(m.openAlerts);
	/* verdict, verdict_reason */
	values[i++] = CStringGetTextDatum(objectivesVerdictName(m.verdict.kind));
	values[i] = statusText(m.verdict.reason, &nulls[i]);
	i++;
	/* rpo_source, rpo_standby */
	values[i++] = CStringGetTextDatum(m.rpoSource);
	values[i] = statusText(m.rpoStandby[0] ? m.rpoStandby : NULL, &nulls[i]);
	i++;
	Assert(STATUS_MEASURED + i == STATUS_COLUMNS);
}

Datum
pg_dr_status(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[STATUS_COLUMNS];
	bool		nulls[STATUS_COLUMNS];
	DrConfig   *config = NULL;
	DrError		err;
	char	   *origin = NULL;
	bool		originKnown = false;
	AuditQueueSnapshot queue;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	memset(nulls, 0, sizeof(nulls));
	values[0] = CStringGetTextDatum(drTierName(drTier));
	statusObjectives(&values[1], &nulls[1]);

	drErrorClear(&err);
	if (drConfigFile == NULL || drConfigFile[0] == '\0')
	{
		nulls[4] = true;
		values[5] = BoolGetDatum(false);
		values[6] = CStringGetTextDatum("pg_dr.config_file is not set");
		values[7] = Int32GetDatum(0);
		values[8] = BoolGetDatum(false);
		nulls[9] = true;
	}
	else
	{
		values[4] = CStringGetTextDatum(drConfigFile);
		config = configLoad(drConfigFile, &err);
		values[5] = BoolGetDatum(config != NULL);
		if (config == NULL)
		{
			values[6] = CStringGetTextDatum(err.message);
			values[7] = Int32GetDatum(0);
			values[8] = BoolGetDatum(false);
			nulls[9] = true;
		}
		else
		{
			nulls[6] = true;
			values[7] = Int32GetDatum(config->repoCount);
			if (statusRepositories(config, &err) && statusArchiving(&err))
			{
				values[8] = BoolGetDatum(config->repoCount > 0);
				nulls[9] = true;
			}
			else
			{
				values[8] = BoolGetDatum(false);
				values[9] = CStringGetTextDatum(err.message);
			}
			origin = apiOriginState(config);
			originKnown = true;
			configFree(config);
		}
	}
	auditQueueSnapshot(&queue);
	values[10] = BoolGetDatum(queue.writerRunning);
	values[11] = Int32GetDatum(queue.pending + statusAuditPendingRows());
	values[12] = CStringGetTextDatum(PG_DR_VERSION);
	/* a restored cluster that is not its repository's primary says so */
	if (!originKnown)
		origin = apiOriginState(NULL);
	values[13] = origin ? CStringGetTextDatum(origin) : (Datum) 0;
	nulls[13] = origin == NULL;
	statusMeasured(&values[STATUS_MEASURED], &nulls[STATUS_MEASURED]);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

Datum
pg_dr_config(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	DrConfig   *config;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	config = apiConfigLoad();

	for (i = 0; i < config->itemCount; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = CStringGetTextDatum(config->items[i].name);
		values[1] = CStringGetTextDatum(config->items[i].value);
		values[2] = CStringGetTextDatum(config->items[i].source);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	configFree(config);
	return (Datum) 0;
}
