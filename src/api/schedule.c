/*-------------------------------------------------------------------------
 * schedule.c (api)
 *	  pgdr._schedule() behind dr_schedule, and dr_schedule_explain(): what
 *	  the scheduler's duty last decided and why (ops/schedule.h), from
 *	  shared memory.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "ops/schedule.h"

PG_FUNCTION_INFO_V1(pg_dr_schedule);
PG_FUNCTION_INFO_V1(dr_schedule_explain);

#define SCHEDULE_COLUMNS	17

Datum
pg_dr_schedule(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	ScheduleSnapshot *snap = palloc(sizeof(ScheduleSnapshot));
	Datum		values[SCHEDULE_COLUMNS];
	bool		nulls[SCHEDULE_COLUMNS];
	const ScheduleDecision *d = &snap->decision;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "pgdr._schedule() must return a record");
	desc = BlessTupleDesc(desc);
	scheduleSnapshotGet(snap);

	memset(nulls, true, sizeof(nulls));
	values[0] = BoolGetDatum(drSchedule);
	nulls[0] = false;
	values[12] = CStringGetTextDatum("the pg_dr worker has not decided yet (is it running? dr_status.worker_running)");
	nulls[12] = false;
	if (snap->runningJob != 0)
	{
		values[11] = Int64GetDatum(snap->runningJob);
		nulls[11] = false;
	}
	if (snap->decided)
	{
		values[1] = CStringGetTextDatum(snap->tier);
		values[2] = CStringGetTextDatum(scheduleJobKindName(d->kind));
		memset(nulls + 1, false, 2);
		if (d->kind != SCHEDULE_JOB_NONE)
		{
			values[3] = TimestampTzGetDatum(d->at);
			values[4] = BoolGetDatum(d->dueNow);
			values[5] = BoolGetDatum(d->deferred);
			values[6] = BoolGetDatum(d->retry);
			values[7] = BoolGetDatum(d->required);
			memset(nulls + 3, false, 5);
		}
		if (snap->enabled && d->intervalSec > 0)
		{
			Interval   *iv = palloc0(sizeof(Interval));

			iv->time = d->intervalSec * USECS_PER_SEC;
			values[8] = IntervalPGetDatum(iv);
			nulls[8] = false;
		}
		if (snap->walRate >= 0)
		{
			values[9] = Float8GetDatum(snap->walRate);
			nulls[9] = false;
		}
		if (snap->rtoEstimateSec >= 0)
		{
			values[10] = Float8GetDatum(snap->rtoEstimateSec);
			nulls[10] = false;
		}
		values[12] = CStringGetTextDatum(d->reason);
		values[13] = TimestampTzGetDatum(snap->decidedAt);
		nulls[13] = false;
	}
	if (snap->decided && snap->restorePointKnown)
	{
		Interval   *iv = palloc0(sizeof(Interval));

		iv->time = (int64) snap->restorePointIntervalSec * USECS_PER_SEC;
		values[14] = IntervalPGetDatum(iv);
		values[15] = CStringGetTextDatum(snap->restorePointSource);
		nulls[14] = nulls[15] = false;
		if (snap->restorePointNext != 0)
		{
			values[16] = TimestampTzGetDatum(snap->restorePointNext);
			nulls[16] = false;
		}
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

Datum
dr_schedule_explain(PG_FUNCTION_ARGS)
{
	ScheduleSnapshot *snap = palloc(sizeof(ScheduleSnapshot));

	scheduleSnapshotGet(snap);
	if (!snap->decided)
		PG_RETURN_TEXT_P(cstring_to_text(drSchedule ?
										 "The pg_dr worker has not decided yet: it decides within 10 s of its start (dr_status.worker_running says whether it runs)." :
										 "Scheduler: off (pg_dr.schedule). The pg_dr worker has not decided anything yet."));
	PG_RETURN_TEXT_P(cstring_to_text(snap->explain));
}
