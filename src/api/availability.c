/*-------------------------------------------------------------------------
 * availability.c (api)
 *	  dr_availability(from, to): achieved availability and RPO / RTO
 *	  compliance over [from, to), computed from dr_objectives_history by
 *	  availabilityCompute (ops/objectives_availability.h, where the
 *	  definitions are).  Read as the extension owner.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "api/api.h"
#include "ops/objectives_availability.h"
#include "pg_dr.h"
#include "pitr/pitr.h"

PG_FUNCTION_INFO_V1(dr_availability);

#define AVAILABILITY_COLUMNS	12

static Datum
availabilityInterval(double seconds)
{
	Interval   *iv = palloc0(sizeof(Interval));

	iv->time = (int64) (seconds * 1000.0 + 0.5) * 1000;
	return IntervalPGetDatum(iv);
}

/* The samples that may stand for part of [from, to), oldest first. */
static AvailabilitySample *
availabilitySamples(TimestampTz from, TimestampTz to, int *count)
{
	Oid			argtypes[2] = {TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		args[2];
	AvailabilitySample *samples;

	args[0] = TimestampTzGetDatum(from);
	args[1] = TimestampTzGetDatum(to);
	if (SPI_execute_with_args(
			"SELECT h.sampled_at,"
			" (pg_catalog.date_part('epoch', h.sample_interval)"
			"   OPERATOR(pg_catalog.*) 1000000::pg_catalog.float8)::pg_catalog.int8,"
			" h.verdict,"
			" h.rpo_actual OPERATOR(pg_catalog.<=) h.rpo_target,"
			" h.rto_estimate OPERATOR(pg_catalog.<=) h.rto_target"
			" FROM pgdr.objectives_history h"
			" WHERE h.sampled_at OPERATOR(pg_catalog.>=) COALESCE("
			"   (SELECT pg_catalog.max(b.sampled_at) FROM pgdr.objectives_history b"
			"     WHERE b.sampled_at OPERATOR(pg_catalog.<) $1), $1)"
			" AND h.sampled_at OPERATOR(pg_catalog.<) $2"
			" ORDER BY h.sampled_at",
			2, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read pgdr.objectives_history");

	*count = (int) SPI_processed;
	samples = palloc0(sizeof(AvailabilitySample) * Max(*count, 1));
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		AvailabilitySample *s = &samples[r];
		bool		isnull;
		Datum		d;
		char	   *verdict;

		s->at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 1, &isnull));
		s->intervalUs = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		verdict = SPI_getvalue(tup, desc, 3);
		if (verdict == NULL || !objectivesVerdictParse(verdict, &s->verdict))
			elog(ERROR, "pgdr.objectives_history has a sample with verdict \"%s\"",
				 verdict ? verdict : "");
		d = SPI_getbinval(tup, desc, 4, &isnull);
		s->rpoMet = isnull ? -1 : DatumGetBool(d) ? 1 : 0;
		d = SPI_getbinval(tup, desc, 5, &isnull);
		s->rtoMet = isnull ? -1 : DatumGetBool(d) ? 1 : 0;
	}
	return samples;
}

/* The current tier's availability target, as a numeric; NULL when none. */
static Datum
availabilityTarget(bool *isnull)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	Datum		d;

	*isnull = true;
	args[0] = CStringGetTextDatum(drTierName(drTier));
	if (SPI_execute_with_args("SELECT availability FROM pgdr.objectives"
							  " WHERE tier OPERATOR(pg_catalog.=) $1",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pgdr.objectives");
	if (SPI_processed != 1)
		return (Datum) 0;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull);
	return *isnull ? (Datum) 0 : SPI_datumTransfer(d, false, -1);
}

Datum
dr_availability(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[AVAILABILITY_COLUMNS];
	bool		nulls[AVAILABILITY_COLUMNS];
	TimestampTz from;
	TimestampTz to;
	ApiOwnerContext owner;
	AvailabilitySample *samples;
	int			count;
	AvailabilityResult r;
	double		percent;
	bool		targetNull;
	Datum		target;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("dr_availability needs both \"from\" and \"to\""),
				 errhint("For the last day: dr_availability(now() - interval '1 day', now()).")));
	from = PG_GETARG_TIMESTAMPTZ(0);
	to = PG_GETARG_TIMESTAMPTZ(1);
	if (TIMESTAMP_NOT_FINITE(from) || TIMESTAMP_NOT_FINITE(to))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dr_availability needs a finite period, not infinity"),
				 errhint("Give the start and end of the period as times.")));
	if (from >= to)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dr_availability: \"from\" (%s) must be before \"to\" (%s)",
						timestamptz_to_str(from), timestamptz_to_str(to)),
				 errhint("Swap the arguments.")));

	apiAsOwnerBegin(&owner);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	samples = availabilitySamples(from, to, &count);
	availabilityCompute(samples, count, from, to, &r);
	target = availabilityTarget(&targetNull);
	SPI_finish();
	apiAsOwnerEnd(&owner);

	memset(nulls, 0, sizeof(nulls));
	values[0] = availabilityInterval(r.periodSec);
	values[1] = Int64GetDatum(r.samples);
	values[2] = availabilityInterval(r.knownSec);
	values[3] = availabilityInterval(r.unknownSec);
	values[4] = availabilityInterval(r.okSec);
	values[5] = availabilityInterval(r.atRiskSec);
	values[6] = availabilityInterval(r.breachedSec);
	nulls[7] = !availabilityPercent(r.knownSec - r.breachedSec, r.knownSec, &percent);
	values[7] = Float8GetDatum(percent);
	values[8] = target;
	nulls[8] = targetNull;
	if (nulls[7] || targetNull)
		nulls[9] = true;
	else
		values[9] = BoolGetDatum(percent >=
								 DatumGetFloat8(DirectFunctionCall1(numeric_float8, target)));
	nulls[10] = !availabilityPercent(r.rpoMetSec, r.rpoKnownSec, &percent);
	values[10] = Float8GetDatum(percent);
	nulls[11] = !availabilityPercent(r.rtoMetSec, r.rtoKnownSec, &percent);
	values[11] = Float8GetDatum(percent);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
