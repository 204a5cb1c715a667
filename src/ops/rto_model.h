/*-------------------------------------------------------------------------
 * rto_model.h
 *	  The RTO estimate, as a pure function: how long a restore of the
 *	  newest backup chain plus the replay of the WAL written since would
 *	  take on this host, from rates measured here (or defaults until a
 *	  first measurement exists).  Shared by dr_status (the estimate next to
 *	  the tier's RTO target) and the scheduler (which shortens the
 *	  incremental interval so the estimate stays under the target).
 *	  Compiled into the CLI build too, for test/unit/test_rto_model.c.
 *
 * estimate = chainBytes / restoreRate + walBytes / replayRate
 *
 * Rates are bytes per second.  A rate of 0 or less means "not measured":
 * the default below is used and the result says so, so that a caller can
 * tell the DBA which figures are measured and which are assumed.
 *-------------------------------------------------------------------------
 */
#ifndef DR_RTO_MODEL_H
#define DR_RTO_MODEL_H

/* Defaults until this host measured a restore or a replay: deliberately
 * modest (a restore from a remote repository, replay on one core). */
#define RTO_DEFAULT_RESTORE_RATE	((double) 50 * 1024 * 1024)	/* 50 MiB/s */
#define RTO_DEFAULT_REPLAY_RATE		((double) 20 * 1024 * 1024)	/* 20 MiB/s */

typedef struct RtoModelInput
{
	int64		chainBytes;		/* bytes a restore of the newest chain reads
								 * and writes (the files' sizes); < 0 = no
								 * backup */
	int64		walBytes;		/* WAL to replay after it: from the newest
								 * backup's start LSN to the current insert
								 * (or last archived) LSN */
	double		restoreRate;	/* measured bytes/s; <= 0 = not measured */
	double		replayRate;		/* measured bytes/s; <= 0 = not measured */
} RtoModelInput;

typedef struct RtoModelEstimate
{
	bool		possible;		/* false: no backup to restore from */
	double		restoreSec;		/* chainBytes / restore rate */
	double		replaySec;		/* walBytes / replay rate */
	double		totalSec;		/* the sum */
	bool		restoreRateMeasured;	/* false: the default was used */
	bool		replayRateMeasured;
} RtoModelEstimate;

extern void rtoModelEstimate(const RtoModelInput *in, RtoModelEstimate *out);

/*
 * How many more WAL bytes can be written after the newest backup before
 * the estimate passes targetSec (the tier's RTO): 0 when it already has,
 * -1 when no backup exists.  The scheduler uses it to take the next
 * incremental before that point.
 */
extern int64 rtoModelWalHeadroom(const RtoModelInput *in, double targetSec);

#endif							/* DR_RTO_MODEL_H */
