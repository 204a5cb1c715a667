/*-------------------------------------------------------------------------
 * progress.c (api)
 *	  dr_progress: the long operations running in this server's backends
 *	  (dr_restore, dr_backup_verify, dr_wal_verify, dr_expire), from the
 *	  snapshot ops/progress.h takes.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "ops/progress.h"

PG_FUNCTION_INFO_V1(pg_dr_progress);

Datum
pg_dr_progress(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ProgressEntry *entries;
	int			count;
	TimestampTz now = GetCurrentTimestamp();

	InitMaterializedSRF(fcinfo, 0);
	count = progressSnapshot(&entries);
	for (int i = 0; i < count; i++)
	{
		const ProgressEntry *e = &entries[i];
		Datum		values[10];
		bool		nulls[10] = {0};
		double		seconds = (double) (now - e->started) / USECS_PER_SEC;

		values[0] = Int32GetDatum(e->pid);
		values[1] = CStringGetTextDatum(e->operation);
		values[2] = CStringGetTextDatum(e->phase);
		values[3] = TimestampTzGetDatum(e->started);
		values[4] = Int64GetDatum((int64) e->itemsDone);
		values[5] = Int64GetDatum((int64) e->itemsTotal);
		nulls[5] = e->itemsTotal == 0;
		values[6] = Int64GetDatum((int64) e->bytesDone);
		values[7] = Int64GetDatum((int64) e->bytesTotal);
		nulls[7] = e->bytesTotal == 0;
		values[8] = CStringGetTextDatum(e->current);
		nulls[8] = e->current[0] == '\0';
		values[9] = Float8GetDatum(seconds > 0 ? e->bytesDone / seconds : 0);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	pfree(entries);
	return (Datum) 0;
}
