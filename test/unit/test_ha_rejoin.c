/*-------------------------------------------------------------------------
 * test_ha_rejoin.c
 *	  Unit tests of src/ha/ha_rejoin.c.
 *
 * Covers: haTimelineHistoryParse (timeline 1 without a file, one and two
 * entries, comments and blank lines, an unreadable line, timelines out
 * of order, a switch point going backwards, an entry not below the
 * timeline); haRejoinDecide: a promoted standby and an old primary that
 * stopped before the fork (follow) or wrote past it (rewind, also its
 * checkpoint exactly at the fork), minRecoveryPoint past the fork, a
 * crash (pg_rewind decides), an old primary that went on to its own
 * timeline, one on an ancestor timeline of the source's before and past
 * the fork, no shared timeline, a source on an older timeline, the same
 * timeline behind (follow), ahead (refuse) and after a crash.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "ha/ha_rejoin.h"
#include "tap.h"

#define LSN(hi, lo)		(((XLogRecPtr) (hi) << 32) | (lo))

static HaRejoinAction
decide(const char *targetHistory, TimeLineID targetTli, bool clean,
	   XLogRecPtr checkpoint, XLogRecPtr minRecovery,
	   const char *sourceHistory, TimeLineID sourceTli, XLogRecPtr flush,
	   HaRejoinDecision *d)
{
	HaRejoinInput in;
	HaTimeline *t;
	HaTimeline *s;
	char	   *error;

	memset(&in, 0, sizeof(in));
	in.targetCount = haTimelineHistoryParse(targetHistory, targetTli, &t, &error);
	in.sourceCount = haTimelineHistoryParse(sourceHistory, sourceTli, &s, &error);
	in.target = t;
	in.source = s;
	in.targetCleanShutdown = clean;
	in.targetCheckpoint = checkpoint;
	in.targetMinRecoveryPoint = minRecovery;
	in.sourceFlush = flush;
	haRejoinDecide(&in, d);
	return d->action;
}

int
main(void)
{
	HaTimeline *tl;
	char	   *error;
	int			n;
	HaRejoinDecision d;

	/* parsing */
	n = haTimelineHistoryParse(NULL, 1, &tl, &error);
	ok(n == 1 && tl[0].tli == 1 && tl[0].begin == 0 && tl[0].end == 0,
	   "timeline 1 has no file: one open entry");
	n = haTimelineHistoryParse("1\t0/3000060\tno recovery target specified\n", 2, &tl, &error);
	ok(n == 2 && tl[0].tli == 1 && tl[0].end == LSN(0, 0x3000060) &&
	   tl[1].tli == 2 && tl[1].begin == LSN(0, 0x3000060) && tl[1].end == 0,
	   "one entry, then the timeline itself");
	n = haTimelineHistoryParse("# comment\n\n1\t0/3000060\tx\n2\t1/A0\tat restore point \"p\"\n",
							   4, &tl, &error);
	ok(n == 3 && tl[1].tli == 2 && tl[1].end == LSN(1, 0xA0) && tl[2].tli == 4,
	   "comments and blank lines skipped; timelines may skip numbers");
	n = haTimelineHistoryParse("1\tnonsense\n", 2, &tl, &error);
	ok(n == -1 && strstr(error, "cannot be read") != NULL, "an unreadable line refused: %s",
	   n == -1 ? error : "");
	n = haTimelineHistoryParse("2\t0/10\tx\n1\t0/20\tx\n", 3, &tl, &error);
	ok(n == -1 && strstr(error, "out of order") != NULL, "timelines going down refused");
	n = haTimelineHistoryParse("1\t0/30\tx\n2\t0/20\tx\n", 3, &tl, &error);
	ok(n == -1, "a switch point going backwards refused");
	n = haTimelineHistoryParse("1\t0/30\tx\n2\t0/40\tx\n", 2, &tl, &error);
	ok(n == -1, "an entry not below the timeline refused");

	/* the standby was promoted at 0/3000060; the old primary stayed on 1 */
	is_int(decide(NULL, 1, true, LSN(0, 0x3000028), 0,
				  "1\t0/3000060\tx\n", 2, LSN(0, 0x5000000), &d), HA_REJOIN_FOLLOW,
		   "stopped before the fork: follow (%s)", d.reason);
	ok(d.divergeTli == 1 && d.divergeLsn == LSN(0, 0x3000060), "the fork named");
	is_int(decide(NULL, 1, true, LSN(0, 0x4000028), 0,
				  "1\t0/3000060\tx\n", 2, LSN(0, 0x5000000), &d), HA_REJOIN_REWIND,
		   "wrote past the fork: rewind (%s)", d.reason);
	is_int(decide(NULL, 1, true, LSN(0, 0x3000060), 0,
				  "1\t0/3000060\tx\n", 2, LSN(0, 0x5000000), &d), HA_REJOIN_REWIND,
		   "its checkpoint record begins at the fork: it ends past it, rewind");
	is_int(decide(NULL, 1, true, LSN(0, 0x3000028), LSN(0, 0x3000100),
				  "1\t0/3000060\tx\n", 2, LSN(0, 0x5000000), &d), HA_REJOIN_REWIND,
		   "minRecoveryPoint past the fork: rewind");
	is_int(decide(NULL, 1, true, LSN(0, 0x3000028), LSN(0, 0x3000060),
				  "1\t0/3000060\tx\n", 2, LSN(0, 0x5000000), &d), HA_REJOIN_FOLLOW,
		   "minRecoveryPoint at the fork: follow");
	is_int(decide(NULL, 1, false, LSN(0, 0x3000028), 0,
				  "1\t0/3000060\tx\n", 2, LSN(0, 0x5000000), &d), HA_REJOIN_REWIND,
		   "a crash: pg_rewind decides (%s)", d.reason);
	ok(strstr(d.reason, "crash recovery") != NULL, "and the reason says why");

	/* the old primary was promoted itself somewhere (split brain) */
	is_int(decide("1\t0/3000060\tx\n", 2, true, LSN(0, 0x3000100), 0,
				  "1\t0/3000060\tx\n", 3, LSN(0, 0x5000000), &d), HA_REJOIN_REWIND,
		   "timelines 2 and 3 both left 1 at the same point: rewound onto 3 (%s)",
		   d.reason);
	ok(d.divergeTli == 1 && d.divergeLsn == LSN(0, 0x3000060), "the fork on timeline 1");
	is_int(decide("1\t0/3000060\tx\n", 2, true, LSN(0, 0x3000100), 0,
				  "1\t0/3000060\tx\n2\t0/3500000\tx\n", 3, LSN(0, 0x5000000), &d),
		   HA_REJOIN_FOLLOW, "on timeline 2, stopped before 3 left it: follow (%s)", d.reason);
	is_int(decide("1\t0/3000060\tx\n", 2, true, LSN(0, 0x3600000), 0,
				  "1\t0/3000060\tx\n2\t0/3500000\tx\n", 3, LSN(0, 0x5000000), &d),
		   HA_REJOIN_REWIND, "on timeline 2, wrote past where 3 left it: rewind (%s)",
		   d.reason);
	ok(d.divergeTli == 2 && d.divergeLsn == LSN(0, 0x3500000), "the fork on timeline 2");
	is_int(decide("1\t0/3000000\tx\n", 2, true, LSN(0, 0x3000100), 0,
				  "1\t0/3000060\tx\n", 3, LSN(0, 0x5000000), &d), HA_REJOIN_REWIND,
		   "it left timeline 1 for its own before the source did: rewind (%s)", d.reason);
	ok(d.divergeTli == 1 && d.divergeLsn == LSN(0, 0x3000000), "diverged where it left");

	is_int(decide("1\t0/3000060\tx\n", 2, true, LSN(0, 0x4000000), 0,
				  NULL, 1, LSN(0, 0x5000000), &d), HA_REJOIN_REFUSE,
		   "the source is still on timeline 1, which this node left: refused (%s)", d.reason);

	/* the same timeline */
	is_int(decide("1\t0/3000060\tx\n", 2, true, LSN(0, 0x4000000), 0,
				  "1\t0/3000060\tx\n", 2, LSN(0, 0x5000000), &d), HA_REJOIN_FOLLOW,
		   "the same timeline, behind the source: follow (%s)", d.reason);
	is_int(decide("1\t0/3000060\tx\n", 2, true, LSN(0, 0x6000000), 0,
				  "1\t0/3000060\tx\n", 2, LSN(0, 0x5000000), &d), HA_REJOIN_REFUSE,
		   "the same timeline, ahead of the source: refused (%s)", d.reason);
	is_int(decide(NULL, 1, false, LSN(0, 0x4000000), 0,
				  NULL, 1, LSN(0, 0x5000000), &d), HA_REJOIN_REWIND,
		   "the same timeline after a crash: pg_rewind decides");
	return tapDone();
}
