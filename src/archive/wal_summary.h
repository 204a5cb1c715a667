/*-------------------------------------------------------------------------
 * wal_summary.h
 *	  WAL summaries: which blocks of which relation forks a range of WAL
 *	  touched, so that an incremental backup reads only those (the idea of
 *	  PostgreSQL 17's WAL summaries, for 15).  The format, its builder, and
 *	  the pure decision of which blocks of one relation file to read.
 *
 * A summary covers the records that start in [startLsn, endLsn): both are
 * record boundaries (endLsn is where the next record starts), so the
 * summaries of consecutive ranges chain: one's startLsn is the previous
 * one's endLsn.  For every relation fork (tablespace, database,
 * relfilenode, fork) a record of the range referred to, it holds:
 *	 - the blocks referenced (every block reference of every record:
 *	   changes, full-page images, hint-bit images);
 *	 - CREATED when XLOG_SMGR_CREATE created the fork in the range (its
 *	   relfilenode may have been another relation's in the parent);
 *	 - LIMIT with the smallest limit block when the fork was truncated
 *	   (XLOG_SMGR_TRUNCATE: the new length) or dropped (commit and abort
 *	   records: 0) in the range: blocks from there on may hold anything.
 * and, for a whole database directory created, copied or dropped
 * (XLOG_DBASE_*), an entry of relNumber 0 and flag DATABASE.  A summary
 * is "not vouched" when something in the range cannot be accounted for
 * block by block (a record that would not decode, a parameter change
 * that may be a wal_level change): whoever uses it reads everything.
 *
 * Repository object (encoded like every object: compressed, encrypted,
 * authenticated), archive/wal/<tli><log>/<segment>.summary (repo_archive.h
 * lists it as REPO_ARCHIVE_SUMMARY; retention removes it with <segment>):
 * the summary of the records that start in <segment>, from the end of the
 * previous segment's summary (or the first record that starts in it).
 * Plain content, little-endian:
 *	 magic		8	"PGDRWSM1"
 *	 timeline	4
 *	 flags		4	bit 0: not vouched
 *	 startLsn	8
 *	 endLsn		8
 *	 reasonLen	2	then reasonLen bytes: why not vouched ("" otherwise)
 *	 count		4	entries, ascending by (spc, db, rel, fork), unique
 *	 per entry:
 *	   spcOid 4, dbOid 4, relNumber 4, fork 1, flags 1, limitBlock 4,
 *	   nblocks 4, then nblocks ascending block numbers, each the
 *	   difference from the previous one (the first from 0) as an
 *	   unsigned LEB128 varint
 *	 end		8	"PGDRWSME"
 *-------------------------------------------------------------------------
 */
#ifndef DR_WAL_SUMMARY_H
#define DR_WAL_SUMMARY_H

#include "common/error.h"
#include "lib/stringinfo.h"

#define WAL_SUMMARY_MAGIC		"PGDRWSM1"
#define WAL_SUMMARY_END			"PGDRWSME"
#define WAL_SUMMARY_SUFFIX		".summary"
#define WAL_SUMMARY_REASON_MAX	200

/* Entry flags */
#define WAL_SUMMARY_CREATED		0x01
#define WAL_SUMMARY_LIMIT		0x02
#define WAL_SUMMARY_DATABASE	0x04

/* Fork numbers as PostgreSQL's ForkNumber. */
#define WAL_SUMMARY_FORK_MAIN	0
#define WAL_SUMMARY_FORK_FSM	1
#define WAL_SUMMARY_FORK_VM		2
#define WAL_SUMMARY_FORK_INIT	3
#define WAL_SUMMARY_FORK_MAX	3

typedef struct WalSummaryKey
{
	uint32		spcOid;
	uint32		dbOid;
	uint32		relNumber;		/* 0: the database itself (DATABASE) */
	uint8		fork;
} WalSummaryKey;

typedef struct WalSummaryFork
{
	WalSummaryKey key;
	uint8		flags;
	uint32		limitBlock;		/* with LIMIT */
	uint32		nblocks;
	uint32	   *blocks;			/* ascending, unique */
} WalSummaryFork;

typedef struct WalSummary
{
	uint32		tli;
	uint64		startLsn;
	uint64		endLsn;
	bool		vouched;
	char		reason[WAL_SUMMARY_REASON_MAX + 1];	/* when not vouched */
	uint32		count;
	WalSummaryFork *forks;		/* ascending by key */
} WalSummary;

/*
 * The builder: what the WAL says, in any order and with repeats, made
 * into a summary by End.  Memory grows with the number of distinct facts
 * added (24 bytes each): repeats are dropped as they come when they follow
 * each other, and by sorting when the array fills.
 */
typedef struct WalSummaryBuilder WalSummaryBuilder;

extern WalSummaryBuilder *walSummaryBuilderNew(uint32 tli, uint64 startLsn);
extern void walSummaryAddBlock(WalSummaryBuilder *b, const WalSummaryKey *key,
							   uint32 block);
extern void walSummaryAddCreate(WalSummaryBuilder *b, const WalSummaryKey *key);
extern void walSummaryAddLimit(WalSummaryBuilder *b, const WalSummaryKey *key,
							   uint32 limitBlock);
extern void walSummaryAddDatabase(WalSummaryBuilder *b, uint32 spcOid,
								  uint32 dbOid);
/* The range cannot be vouched for; the first reason is kept. */
extern void walSummaryNotVouched(WalSummaryBuilder *b, const char *reason);
/* Everything of summary s (another range) added: flags, limits, blocks. */
extern void walSummaryAddSummary(WalSummaryBuilder *b, const WalSummary *s);
/* The summary of [startLsn, endLsn); frees the builder. */
extern WalSummary *walSummaryBuilderEnd(WalSummaryBuilder *b, uint64 endLsn);

extern void walSummaryFree(WalSummary *s);

/* Encode into out (appended); decode (DR_ERR_CORRUPT naming what). */
extern void walSummaryEncode(const WalSummary *s, StringInfo out);
extern WalSummary *walSummaryDecode(const char *buf, size_t len, DrError *err);

/* The entry of key, or NULL. */
extern const WalSummaryFork *walSummaryFind(const WalSummary *s,
											const WalSummaryKey *key);

/*
 * A relation file's path in the data directory ("base/<db>/<rel>[_fork]
 * [.<seg>]", "global/...", "pg_tblspc/<spc>/<version dir>/<db>/...") to
 * its fork and segment number; false for any other path (temporary
 * relations "t<backend>_<rel>" included).
 */
extern bool walSummaryPathParse(const char *path, WalSummaryKey *key,
								uint32 *segno);

/*
 * Which blocks of one relation file an incremental backup must read, given
 * the summary of the WAL from the parent's start to the backup's start:
 * true with the file's block numbers (ascending, palloc'd; *count may be
 * 0) when the summary vouches for the file, false with *why when the
 * whole file must be read.
 *	 path          the file (walSummaryPathParse)
 *	 unlogged      the relation has an init fork: its main fork is not
 *	               WAL-logged
 *	 segBlocks     blocks per relation segment file (RELSEG_SIZE)
 *	 parentBlocks  the file's blocks in the parent backup
 *	 blocks        its blocks now
 * Only main forks are vouched for (the free space map is not WAL-logged,
 * the visibility map is not wholly, init forks are tiny).  The blocks to
 * read: every block the summary names in this file, every block from the
 * fork's truncation limit on, every block past the parent's end; only
 * those below "blocks".
 */
extern bool walSummaryPick(const WalSummary *s, const char *path,
						   bool unlogged, uint32 segBlocks,
						   uint32 parentBlocks, uint32 blocks,
						   uint32 **picked, uint32 *count, const char **why);

/*
 * Whether a file read in part (walSummaryPick's picked[0..count)) should
 * store its pages XORed with the parent's copy (delta.h).  That copy is an
 * encoded stream, decoded from its start up to the last page XORed: worth
 * it only when the pages read are at least 1 in WAL_SUMMARY_BASE_SPARSE
 * of the parent's pages up to the last one (a change of 1 % of a 1 GB
 * table would otherwise decode the parent's whole gigabyte to store 10 MB
 * in fewer bytes); sparser pages are stored as they are.
 */
#define WAL_SUMMARY_BASE_SPARSE	8
extern bool walSummaryBaseWorth(const uint32 *picked, uint32 count,
								uint32 parentBlocks);

#endif							/* DR_WAL_SUMMARY_H */
