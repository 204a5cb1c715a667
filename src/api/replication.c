/*-------------------------------------------------------------------------
 * replication.c (api)
 *	  dr_replication: the lag watcher's newest round (ha/ha_watch.h), from
 *	  shared memory.  On a primary one row per walsender, on a standby one
 *	  row about itself; no row when HA is not configured or the watcher has
 *	  not run yet.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "ha/ha_watch.h"

PG_FUNCTION_INFO_V1(pg_dr_replication);

#define REPLICATION_COLS	22

/* A lag in milliseconds as an interval; NULL when unknown (< 0). */
static Datum
apiReplicationInterval(int64 ms, bool *isnull)
{
	Interval   *iv = palloc0(sizeof(Interval));

	*isnull = ms < 0;
	iv->time = ms * 1000;
	return IntervalPGetDatum(iv);
}

static Datum
apiReplicationLsn(XLogRecPtr lsn, bool *isnull)
{
	*isnull = lsn == InvalidXLogRecPtr;
	return LSNGetDatum(lsn);
}

static Datum
apiReplicationText(const char *text, bool *isnull)
{
	*isnull = text[0] == '\0';
	return CStringGetTextDatum(text);
}

static Datum
apiReplicationBytes(int64 bytes, bool *isnull)
{
	*isnull = bytes < 0;
	return Int64GetDatum(bytes);
}

Datum
pg_dr_replication(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HaWatchSample *samples;
	int			count;

	InitMaterializedSRF(fcinfo, 0);
	count = haWatchNow(&samples);
	for (int i = 0; i < count; i++)
	{
		const HaWatchSample *s = &samples[i];
		Datum		v[REPLICATION_COLS];
		bool		n[REPLICATION_COLS] = {0};

		v[0] = apiReplicationText(s->node, &n[0]);
		v[1] = CStringGetTextDatum(s->primary ? "primary" : "standby");
		v[2] = apiReplicationText(s->name, &n[2]);
		v[3] = apiReplicationText(s->address, &n[3]);
		v[4] = apiReplicationText(s->state, &n[4]);
		v[5] = apiReplicationText(s->syncState, &n[5]);
		/* sent on a primary, received on a standby */
		v[6] = apiReplicationLsn(s->primary ? s->sentLsn : InvalidXLogRecPtr, &n[6]);
		v[7] = apiReplicationLsn(s->primary ? InvalidXLogRecPtr : s->sentLsn, &n[7]);
		v[8] = apiReplicationLsn(s->writeLsn, &n[8]);
		v[9] = apiReplicationLsn(s->flushLsn, &n[9]);
		v[10] = apiReplicationLsn(s->replayLsn, &n[10]);
		v[11] = apiReplicationBytes(s->writeLagBytes, &n[11]);
		v[12] = apiReplicationBytes(s->flushLagBytes, &n[12]);
		v[13] = apiReplicationBytes(s->replayLagBytes, &n[13]);
		v[14] = apiReplicationInterval(s->writeLagMs, &n[14]);
		v[15] = apiReplicationInterval(s->flushLagMs, &n[15]);
		v[16] = apiReplicationInterval(s->replayLagMs, &n[16]);
		v[17] = apiReplicationInterval(s->replayDelayMs, &n[17]);
		v[18] = apiReplicationText(s->pauseState, &n[18]);
		v[19] = BoolGetDatum(strcmp(s->pauseState, "paused") == 0 ||
							 strcmp(s->pauseState, "pause requested") == 0);
		n[19] = s->primary;
		v[20] = apiReplicationInterval(s->replayTimestampLagMs, &n[20]);
		v[21] = TimestampTzGetDatum(s->sampledAt);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
	}
	if (samples)
		pfree(samples);
	return (Datum) 0;
}
