/*-------------------------------------------------------------------------
 * rto_model.c
 *	  The RTO estimate (see rto_model.h).  Pure: no I/O, no server calls.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <math.h>

#include "ops/rto_model.h"

void
rtoModelEstimate(const RtoModelInput *in, RtoModelEstimate *out)
{
	double		restoreRate = in->restoreRate;
	double		replayRate = in->replayRate;

	memset(out, 0, sizeof(*out));
	out->restoreRateMeasured = restoreRate > 0;
	out->replayRateMeasured = replayRate > 0;
	if (!out->restoreRateMeasured)
		restoreRate = RTO_DEFAULT_RESTORE_RATE;
	if (!out->replayRateMeasured)
		replayRate = RTO_DEFAULT_REPLAY_RATE;

	if (in->chainBytes < 0)
		return;

	out->possible = true;
	out->restoreSec = (double) in->chainBytes / restoreRate;
	out->replaySec = (double) Max(in->walBytes, 0) / replayRate;
	out->totalSec = out->restoreSec + out->replaySec;
}

int64
rtoModelWalHeadroom(const RtoModelInput *in, double targetSec)
{
	RtoModelEstimate est;
	double		replayRate;
	double		room;

	rtoModelEstimate(in, &est);
	if (!est.possible)
		return -1;
	if (est.totalSec >= targetSec)
		return 0;
	replayRate = est.replayRateMeasured ? in->replayRate : RTO_DEFAULT_REPLAY_RATE;
	room = (targetSec - est.totalSec) * replayRate;
	if (room >= (double) PG_INT64_MAX)
		return PG_INT64_MAX;
	return (int64) floor(room);
}
