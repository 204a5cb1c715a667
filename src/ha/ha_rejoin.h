/*-------------------------------------------------------------------------
 * ha_rejoin.h
 *	  Rejoin: whether an old primary can follow the new one as it is, must
 *	  be rewound first (pg_rewind), or cannot follow it at all.  Pure (no
 *	  I/O), compiled into the CLI build and unit tested
 *	  (test/unit/test_ha_rejoin.c); `pg_dr rejoin` (src/bin/cmd_rejoin.c)
 *	  gathers the inputs and carries out the answer.
 *
 * The rule is pg_rewind's own (PostgreSQL 15, pg_rewind.c), decided before
 * pg_rewind is run so that a node that wrote nothing past the fork is not
 * rewound: the two timeline histories share a prefix; the divergence
 * point is where the last shared timeline ends in either of them.  The old
 * node wrote past it when it went on to a timeline of its own, or when its
 * WAL ends after it: after a clean shutdown its WAL ends with the
 * shutdown checkpoint record (or at minRecoveryPoint, if later), and
 * since a switch point is at a record boundary, that record ends after
 * the divergence point exactly when it begins at or after it.  A node
 * that was not shut down cleanly has an end of WAL nobody knows before
 * crash recovery: pg_rewind decides (it runs recovery first).
 *-------------------------------------------------------------------------
 */
#ifndef DR_HA_REJOIN_H
#define DR_HA_REJOIN_H

#include "access/xlogdefs.h"

/* One timeline of a history: WAL from begin to end (end 0: still open). */
typedef struct HaTimeline
{
	TimeLineID	tli;
	XLogRecPtr	begin;
	XLogRecPtr	end;
} HaTimeline;

/*
 * The history of timeline tli: the entries of its history file (text, the
 * content of "<tli>.history"; NULL or "" for timeline 1, which has none)
 * followed by tli itself, open.  Comment and blank lines are skipped, as
 * PostgreSQL does.  Returns the count (palloc'd *timelines), or -1 with
 * *error set (palloc'd) when a line cannot be read, timelines do not
 * increase, switch points go backwards, or the last entry is not below
 * tli.
 */
extern int	haTimelineHistoryParse(const char *text, TimeLineID tli,
								   HaTimeline **timelines, char **error);

typedef enum HaRejoinAction
{
	HA_REJOIN_FOLLOW,			/* nothing written past the fork: follow */
	HA_REJOIN_REWIND,			/* wrote past the fork: pg_rewind, then follow */
	HA_REJOIN_REFUSE			/* cannot follow this source: reason says why */
} HaRejoinAction;

typedef struct HaRejoinInput
{
	/* the old primary (the data directory), from its pg_control */
	const HaTimeline *target;
	int			targetCount;
	bool		targetCleanShutdown;	/* DB_SHUTDOWNED or ..._IN_RECOVERY */
	XLogRecPtr	targetCheckpoint;	/* where its last checkpoint record begins */
	XLogRecPtr	targetMinRecoveryPoint; /* 0 when none */

	/* the new primary (the source), from the server */
	const HaTimeline *source;
	int			sourceCount;
	XLogRecPtr	sourceFlush;	/* its WAL flushed so far */
} HaRejoinInput;

typedef struct HaRejoinDecision
{
	HaRejoinAction action;
	TimeLineID	divergeTli;		/* the last timeline both share (0: none) */
	XLogRecPtr	divergeLsn;		/* where they part (0 on the same timeline) */
	char		reason[256];
} HaRejoinDecision;

extern void haRejoinDecide(const HaRejoinInput *input,
						   HaRejoinDecision *decision);

#endif							/* DR_HA_REJOIN_H */
