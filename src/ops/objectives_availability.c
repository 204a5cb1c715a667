/*-------------------------------------------------------------------------
 * objectives_availability.c
 *	  Availability and compliance over a period from sampled history
 *	  (objectives_availability.h).  Pure: no I/O, no server calls.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "ops/objectives_availability.h"

void
availabilityCompute(const AvailabilitySample *samples, int count,
					TimestampTz from, TimestampTz to, AvailabilityResult *out)
{
	memset(out, 0, sizeof(*out));
	if (to <= from)
		return;
	out->periodSec = (double) (to - from) / 1000000.0;

	for (int i = 0; i < count; i++)
	{
		const AvailabilitySample *s = &samples[i];
		TimestampTz start = s->at;
		TimestampTz end;
		double		sec;

		if (s->intervalUs <= 0)
			continue;
		/* no longer than two intervals, and not past the next sample */
		end = s->at + Min(s->intervalUs, PG_INT64_MAX / 4) * 2;
		if (i + 1 < count && samples[i + 1].at < end)
			end = samples[i + 1].at;
		start = Max(start, from);
		end = Min(end, to);
		if (end <= start)
			continue;
		sec = (double) (end - start) / 1000000.0;

		out->samples++;
		out->knownSec += sec;
		switch (s->verdict)
		{
			case OBJ_VERDICT_OK:
				out->okSec += sec;
				break;
			case OBJ_VERDICT_AT_RISK:
				out->atRiskSec += sec;
				break;
			case OBJ_VERDICT_BREACHED:
				out->breachedSec += sec;
				break;
		}
		if (s->rpoMet >= 0)
		{
			out->rpoKnownSec += sec;
			if (s->rpoMet > 0)
				out->rpoMetSec += sec;
		}
		if (s->rtoMet >= 0)
		{
			out->rtoKnownSec += sec;
			if (s->rtoMet > 0)
				out->rtoMetSec += sec;
		}
	}
	out->unknownSec = Max(out->periodSec - out->knownSec, 0);
}

bool
availabilityPercent(double part, double whole, double *percent)
{
	*percent = 0;
	if (whole <= 0)
		return false;
	*percent = part * 100.0 / whole;
	return true;
}
