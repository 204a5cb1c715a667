/*-------------------------------------------------------------------------
 * wal.h
 *	  WAL file names and timeline history files, as PostgreSQL writes
 *	  them, for code running in the server and in the CLI.
 *
 * A segment is named "TTTTTTTTLLLLLLLLSSSSSSSS": timeline, then the segment
 * number split into a high part (the "log", 4 GiB of WAL) and a low part
 * (access/xlog_internal.h, XLogFileName).  A timeline history file
 * "TTTTTTTT.history" says where each ancestor of timeline T ended: one line
 * "<parent tli>\t<switch point X/X>\t<reason>" per ancestor, oldest first
 * ('#' comments and blank lines allowed) -- the format readTimeLineHistory()
 * reads.
 *
 * Which file of a segment recovery reads (XLogFileReadAnyTLI): the newest
 * timeline of the history whose start lies in or before that segment.  So
 * the old timeline is needed up to the segment before the one holding the
 * switch point, and the new timeline from that segment on (its first
 * segment repeats the old one's WAL up to the switch point).
 *
 * Pure functions (no I/O): the decisions of WAL verification are unit
 * tested through them.
 *-------------------------------------------------------------------------
 */
#ifndef DR_WAL_H
#define DR_WAL_H

#include "common/error.h"

#define WAL_NAME_LEN			24	/* a segment name, without terminator */
#define WAL_LSN_END				PG_UINT64_MAX	/* "no end yet" */

/* One timeline of a history: WAL from begin up to (not including) end. */
typedef struct WalTimeline
{
	uint32		tli;
	uint64		begin;			/* 0 for the first timeline */
	uint64		end;			/* WAL_LSN_END for the newest */
} WalTimeline;

/* The timelines a timeline descends from, oldest first, itself last. */
typedef struct WalHistory
{
	uint32		tli;			/* the timeline the history is of */
	int			count;
	WalTimeline *timelines;		/* palloc'd, count entries */
} WalHistory;

/* Is segSize a valid WAL segment size (a power of two, 1 MB to 1 GB)? */
extern bool walSegmentSizeValid(uint32 segSize);

/* Segment number holding lsn. */
extern uint64 walSegmentOf(uint64 lsn, uint32 segSize);

/* Name of segment segno of timeline tli (buf: WAL_NAME_LEN + 1 bytes). */
extern void walSegmentName(char *buf, uint32 tli, uint64 segno,
						   uint32 segSize);

/*
 * Parse a segment name (24 upper-case hex digits, a segment part below the
 * number of segments per log).  False when name is anything else.
 */
extern bool walSegmentNameParse(const char *name, uint32 segSize,
								uint32 *tli, uint64 *segno);

/* Parse "TTTTTTTT.history" (upper-case hex); false for anything else. */
extern bool walHistoryNameParse(const char *name, uint32 *tli);

/*
 * Parse the content of the history file of timeline tli; name (such as
 * "00000002.history") leads error messages.  DR_ERR_CORRUPT for a line
 * that is not "tli<TAB>X/X...", for timelines not strictly increasing or
 * not below tli, and for switch points that go backwards.
 */
extern WalHistory *walHistoryParse(const char *text, size_t len, uint32 tli,
								   const char *name, DrError *err);

/* The history of a timeline without ancestors (timeline 1). */
extern WalHistory *walHistoryRoot(uint32 tli);

extern void walHistoryFree(WalHistory *history);

/* The entry of timeline tli in history, or NULL when it is not in it. */
extern const WalTimeline *walHistoryFind(const WalHistory *history,
										 uint32 tli);

/*
 * The timeline whose file of segment segno recovery along history reads
 * (see the header comment); never 0, since the first timeline begins at 0.
 */
extern uint32 walHistoryTimelineOf(const WalHistory *history, uint64 segno,
								   uint32 segSize);

/*
 * Can recovery start at lsn on timeline tli and follow history to its
 * newest timeline?  Only when tli is in the history and lsn lies before
 * the point where the history leaves tli.
 */
extern bool walHistoryReaches(const WalHistory *history, uint32 tli,
							  uint64 lsn);

/*
 * Is page, the first len bytes of the WAL file name (a segment, or its
 * ".partial"), the beginning of that very segment?  It must begin with the
 * long page header of this server version's WAL whose address is the
 * segment's first byte, whose segment size is segSize (0: whatever valid
 * size the header gives, which then also parses the name), whose system
 * identifier is systemIdentifier (0: not checked), and whose timeline is
 * not newer than the name's (the first segment of a timeline begins with
 * its parent's WAL, so an older one is fine).  This is what recovery
 * checks too, but recovery takes a page at the wrong address for the end
 * of the WAL and ends early, so a fetched file must be checked first.
 *
 * False with DR_ERR_CORRUPT and a sentence naming the file and, when it
 * holds another segment, that segment; *actual (WAL_NAME_LEN + 1 bytes,
 * may be NULL) is then that segment's name, or "" when it cannot tell.
 */
extern bool walSegmentHeaderCheck(const char *name, const void *page,
								  size_t len, uint32 segSize,
								  uint64 systemIdentifier, char *actual,
								  DrError *err);

#endif							/* DR_WAL_H */
