/*-------------------------------------------------------------------------
 * test_rto_model.c
 *	  Unit tests of the RTO estimate (src/ops/rto_model.c).
 *
 * Covers: measured rates used as given; defaults used and flagged when a
 * rate is not measured (0 or negative); no backup: not possible; negative
 * WAL bytes count as none; the WAL headroom before the target (measured
 * and default replay rate, already past the target, exactly at it, no
 * backup, a huge headroom capped).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <math.h>

#include "ops/rto_model.h"
#include "tap.h"

#define MiB		((int64) 1024 * 1024)

static void
testEstimate(void)
{
	RtoModelInput in = {0};
	RtoModelEstimate e;

	in.chainBytes = 1000 * MiB;
	in.walBytes = 200 * MiB;
	in.restoreRate = 100.0 * MiB;
	in.replayRate = 40.0 * MiB;
	rtoModelEstimate(&in, &e);
	ok(e.possible, "a backup: possible");
	ok(fabs(e.restoreSec - 10.0) < 1e-9, "restore 1000 MiB at 100 MiB/s: 10 s (%g)", e.restoreSec);
	ok(fabs(e.replaySec - 5.0) < 1e-9, "replay 200 MiB at 40 MiB/s: 5 s (%g)", e.replaySec);
	ok(fabs(e.totalSec - 15.0) < 1e-9, "total 15 s (%g)", e.totalSec);
	ok(e.restoreRateMeasured && e.replayRateMeasured, "both rates measured");

	in.restoreRate = 0;
	in.replayRate = -1;
	rtoModelEstimate(&in, &e);
	ok(!e.restoreRateMeasured && !e.replayRateMeasured, "0 and -1: not measured");
	ok(fabs(e.restoreSec - 1000.0 * MiB / RTO_DEFAULT_RESTORE_RATE) < 1e-9,
	   "restore at the default rate (%g s)", e.restoreSec);
	ok(fabs(e.replaySec - 200.0 * MiB / RTO_DEFAULT_REPLAY_RATE) < 1e-9,
	   "replay at the default rate (%g s)", e.replaySec);

	in.walBytes = -5;
	rtoModelEstimate(&in, &e);
	ok(e.replaySec == 0.0, "negative WAL bytes: nothing to replay");

	in.chainBytes = -1;
	rtoModelEstimate(&in, &e);
	ok(!e.possible && e.totalSec == 0.0, "no backup: not possible");
	ok(!e.restoreRateMeasured, "... and still says which rates were measured");

	in.chainBytes = 0;
	in.walBytes = 0;
	rtoModelEstimate(&in, &e);
	ok(e.possible && e.totalSec == 0.0, "an empty chain and no WAL: 0 s");
}

static void
testHeadroom(void)
{
	RtoModelInput in = {0};

	in.chainBytes = 1000 * MiB;
	in.walBytes = 200 * MiB;
	in.restoreRate = 100.0 * MiB;
	in.replayRate = 40.0 * MiB;
	/* 15 s used of 60: 45 s of replay at 40 MiB/s left */
	is_int(rtoModelWalHeadroom(&in, 60.0), 45 * 40 * MiB, "45 s of replay left: 1800 MiB");
	is_int(rtoModelWalHeadroom(&in, 15.0), 0, "exactly at the target: no room");
	is_int(rtoModelWalHeadroom(&in, 10.0), 0, "past the target: no room");

	in.replayRate = 0;
	/* restore 10 s + replay 200 MiB at the default */
	{
		double		used = 10.0 + 200.0 * MiB / RTO_DEFAULT_REPLAY_RATE;
		int64		want = (int64) floor((100.0 - used) * RTO_DEFAULT_REPLAY_RATE);

		is_int(rtoModelWalHeadroom(&in, 100.0), want, "default replay rate used for the room");
	}

	in.chainBytes = -1;
	is_int(rtoModelWalHeadroom(&in, 100.0), -1, "no backup: -1");

	in.chainBytes = 0;
	in.walBytes = 0;
	in.replayRate = 1e12;
	is_int(rtoModelWalHeadroom(&in, 1e12), PG_INT64_MAX, "a huge room is capped");
}

int
main(void)
{
	testEstimate();
	testHeadroom();
	return tapDone();
}
