/*-------------------------------------------------------------------------
 * wal_summarize.h
 *	  Making WAL summaries (wal_summary.h) from WAL: the decoder, and the
 *	  WAL summary duty of the pg_dr worker that summarizes the archive.
 *	  Server only: decoding uses PostgreSQL's xlogreader.
 *
 * Who summarizes what:
 *	 - the duty (wal_summary_duty.c) summarizes each archived segment once
 *	   the archive holds it and the segment after it (a record that begins
 *	   in one segment may end in the next), and stores the summary next to
 *	   the segment (archive/wal/<dir>/<segment>.summary);
 *	 - an incremental backup takes the summaries from its parent's start
 *	   on and decodes the rest itself (walSummarize over pg_wal, then the
 *	   archive): the last segments are not archived yet when it starts.
 *-------------------------------------------------------------------------
 */
#ifndef DR_WAL_SUMMARIZE_H
#define DR_WAL_SUMMARIZE_H

#include "archive/wal_summary.h"

struct Repo;

typedef struct WalSummarizeParam
{
	uint32		tli;
	uint32		segSize;
	uint64		systemIdentifier;	/* of the segments read */
	/*
	 * Where to start: a record boundary; or InvalidXLogRecPtr (0) to start
	 * at the first record that begins in segment firstSegno.
	 */
	uint64		startLsn;
	uint64		firstSegno;
	uint64		stopLsn;		/* summarize the records that begin before */
	struct Repo *repo;			/* read segments from its archive (or NULL) */
	bool		localFirst;		/* try pg_wal before the archive */
} WalSummarizeParam;

/*
 * Summarize the records that begin in [start, stopLsn).  NULL with
 * DR_ERR_NOT_FOUND when a segment needed is in neither place (the caller
 * tries later, or reads everything), or another error of reading them.  A
 * record that does not decode does not fail: the summary is then not
 * vouched, and ends at stopLsn.
 */
extern WalSummary *walSummarize(const WalSummarizeParam *param, DrError *err);

#endif							/* DR_WAL_SUMMARIZE_H */
