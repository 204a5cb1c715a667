/*-------------------------------------------------------------------------
 * ha_rejoin.c
 *	  Rejoin's decision: follow as is, rewind, or refuse (see ha_rejoin.h).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <ctype.h>

#include "ha/ha_rejoin.h"

#define HA_LSN_FMT		"%X/%X"
#define HA_LSN_ARGS(lsn)	(uint32) ((lsn) >> 32), (uint32) (lsn)

int
haTimelineHistoryParse(const char *text, TimeLineID tli,
					   HaTimeline **timelines, char **error)
{
	HaTimeline *out;
	int			count = 0;
	int			capacity = 8;
	XLogRecPtr	prevEnd = 0;
	const char *p = text != NULL ? text : "";
	int			lineNo = 0;

	*error = NULL;
	out = palloc(sizeof(HaTimeline) * capacity);
	while (*p)
	{
		size_t		len = strcspn(p, "\n");
		char	   *line = pnstrdup(p, len);
		char	   *s = line;
		unsigned int lineTli;
		unsigned int hi;
		unsigned int lo;
		XLogRecPtr	switchpoint;

		lineNo++;
		p += len;
		if (*p == '\n')
			p++;
		while (isspace((unsigned char) *s))
			s++;
		if (*s == '\0' || *s == '#')
		{
			pfree(line);
			continue;
		}
		if (sscanf(s, "%u\t%X/%X", &lineTli, &hi, &lo) != 3)
		{
			*error = psprintf("line %d of the history of timeline %u cannot be read: \"%s\"",
							  lineNo, tli, line);
			pfree(line);
			pfree(out);
			return -1;
		}
		pfree(line);
		switchpoint = ((XLogRecPtr) hi << 32) | lo;
		if ((count > 0 && lineTli <= out[count - 1].tli) || lineTli >= tli ||
			switchpoint < prevEnd)
		{
			*error = psprintf("line %d of the history of timeline %u is out of order (timeline %u at %X/%X)",
							  lineNo, tli, lineTli, hi, lo);
			pfree(out);
			return -1;
		}
		if (count + 1 >= capacity)
		{
			capacity *= 2;
			out = repalloc(out, sizeof(HaTimeline) * capacity);
		}
		out[count].tli = lineTli;
		out[count].begin = prevEnd;
		out[count].end = switchpoint;
		prevEnd = switchpoint;
		count++;
	}
	if (tli == 0)
	{
		*error = psprintf("timeline 0 does not exist");
		pfree(out);
		return -1;
	}
	out[count].tli = tli;
	out[count].begin = prevEnd;
	out[count].end = 0;
	count++;
	*timelines = out;
	return count;
}

/* End of a timeline, an open one ending nowhere. */
static XLogRecPtr
haTimelineEnd(const HaTimeline *t)
{
	return t->end == 0 ? PG_UINT64_MAX : t->end;
}

void
haRejoinDecide(const HaRejoinInput *in, HaRejoinDecision *d)
{
	const HaTimeline *target = in->target;
	const HaTimeline *source = in->source;
	const HaTimeline *tLast = &target[in->targetCount - 1];
	const HaTimeline *sLast = &source[in->sourceCount - 1];
	XLogRecPtr	targetEnd;
	int			n = 0;

	memset(d, 0, sizeof(*d));
	Assert(in->targetCount > 0 && in->sourceCount > 0);

	/* the shared prefix: same timelines beginning at the same point */
	while (n < in->targetCount && n < in->sourceCount &&
		   target[n].tli == source[n].tli && target[n].begin == source[n].begin)
		n++;
	if (n == 0)
	{
		d->action = HA_REJOIN_REFUSE;
		snprintf(d->reason, sizeof(d->reason),
				 "the source (timeline %u) and this data directory (timeline %u) share no timeline",
				 sLast->tli, tLast->tli);
		return;
	}
	n--;
	d->divergeTli = target[n].tli;

	/* the source must be at least as far along as the common timeline */
	if (n == in->sourceCount - 1 && n < in->targetCount - 1)
	{
		d->action = HA_REJOIN_REFUSE;
		snprintf(d->reason, sizeof(d->reason),
				 "the source is on timeline %u, which this data directory left for timeline %u: "
				 "the source is not the newer primary",
				 sLast->tli, tLast->tli);
		return;
	}

	/* on the same timeline: this node must not be ahead of the source */
	if (n == in->sourceCount - 1 && n == in->targetCount - 1)
	{
		d->divergeLsn = 0;
		if (!in->targetCleanShutdown)
		{
			d->action = HA_REJOIN_REWIND;
			snprintf(d->reason, sizeof(d->reason),
					 "on the source's timeline %u, but not shut down cleanly: its end of WAL is "
					 "known only after crash recovery, so pg_rewind decides",
					 sLast->tli);
			return;
		}
		if (in->targetCheckpoint < in->sourceFlush &&
			in->targetMinRecoveryPoint <= in->sourceFlush)
		{
			d->action = HA_REJOIN_FOLLOW;
			snprintf(d->reason, sizeof(d->reason),
					 "on the source's timeline %u and behind it (checkpoint at " HA_LSN_FMT
					 ", source flushed to " HA_LSN_FMT ")",
					 sLast->tli, HA_LSN_ARGS(in->targetCheckpoint),
					 HA_LSN_ARGS(in->sourceFlush));
			return;
		}
		d->action = HA_REJOIN_REFUSE;
		snprintf(d->reason, sizeof(d->reason),
				 "on the source's timeline %u but ahead of it (checkpoint at " HA_LSN_FMT
				 ", source flushed to " HA_LSN_FMT "): the source is not the newer primary",
				 sLast->tli, HA_LSN_ARGS(in->targetCheckpoint),
				 HA_LSN_ARGS(in->sourceFlush));
		return;
	}

	d->divergeLsn = Min(haTimelineEnd(&target[n]), haTimelineEnd(&source[n]));

	/* this node went on to a timeline of its own: it wrote past the fork */
	if (n < in->targetCount - 1)
	{
		d->action = HA_REJOIN_REWIND;
		snprintf(d->reason, sizeof(d->reason),
				 "this data directory went on to timeline %u after timeline %u ended at "
				 HA_LSN_FMT " in the source's history",
				 tLast->tli, d->divergeTli, HA_LSN_ARGS(d->divergeLsn));
		return;
	}

	if (!in->targetCleanShutdown)
	{
		d->action = HA_REJOIN_REWIND;
		snprintf(d->reason, sizeof(d->reason),
				 "not shut down cleanly: its end of WAL is known only after crash recovery, so "
				 "pg_rewind decides (the source left timeline %u at " HA_LSN_FMT ")",
				 d->divergeTli, HA_LSN_ARGS(d->divergeLsn));
		return;
	}

	targetEnd = Max(in->targetCheckpoint, in->targetMinRecoveryPoint);
	if (in->targetCheckpoint >= d->divergeLsn ||
		in->targetMinRecoveryPoint > d->divergeLsn)
	{
		d->action = HA_REJOIN_REWIND;
		snprintf(d->reason, sizeof(d->reason),
				 "wrote past the fork: the source left timeline %u at " HA_LSN_FMT
				 ", this data directory's WAL goes on to " HA_LSN_FMT,
				 d->divergeTli, HA_LSN_ARGS(d->divergeLsn), HA_LSN_ARGS(targetEnd));
		return;
	}
	d->action = HA_REJOIN_FOLLOW;
	snprintf(d->reason, sizeof(d->reason),
			 "nothing written past the fork: the source left timeline %u at " HA_LSN_FMT
			 ", after this data directory's last checkpoint at " HA_LSN_FMT,
			 d->divergeTli, HA_LSN_ARGS(d->divergeLsn), HA_LSN_ARGS(in->targetCheckpoint));
}
