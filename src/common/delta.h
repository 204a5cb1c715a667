/*-------------------------------------------------------------------------
 * delta.h
 *	  Block deltas: the pages of one relation file that changed since the
 *	  parent backup, stored as the plain content of a data object
 *	  (manifest store=delta).
 *
 * Format (little-endian), streamed:
 *	 magic		8	"PGDRDLT1", or "PGDRDLT2" when baseBlocks follows
 *	 blockSize	4
 *	 fileSize	8	size of the file as restored
 *	 baseBlocks	4	(PGDRDLT2 only) pages below this block number are
 *					stored XORed with the parent's page
 *	 records, ascending block numbers:
 *	   blockno	4
 *	   page		blockSize bytes
 *	 end record:
 *	   blockno	4	0xFFFFFFFF
 *	   count	4	number of page records
 *
 * Applying a delta: take the parent's content of the file, cut or extend it
 * to fileSize (extension with zeroes), write each page at blockno *
 * blockSize -- for blockno < baseBlocks, the XOR of the record and the
 * page there, which is the parent's (baseBlocks is at most the parent's
 * number of pages and fileSize / blockSize, so cutting or extending never
 * touches those pages).  Every page past the parent's size is in the delta
 * (new pages have a newer LSN, or none), so no zero-filled hole survives
 * restore.
 *
 * "The parent's content" is the file as restoring the parent backup writes
 * it: its whole copy, or, when the parent is an incremental itself, the
 * content its own chain builds (each level applied the same way, oldest
 * first; store=parent levels change nothing).  So a PGDRDLT2 delta may sit
 * on a parent that stores the file as a delta, or not at all, and its
 * records are then XORed with pages that are themselves XORs down the
 * chain (common/delta_chain.h reads the chain's pages that way).  Older
 * versions wrote PGDRDLT2 only over a parent storing the file whole, and
 * PGDRDLT1 over the others; that is the same rule in fewer cases, so every
 * delta ever written reads and restores alike, and the format needs no new
 * magic: restore applies each level onto the content reconstructed so far,
 * as it always has.
 *
 * Why XOR: a page that changed since the parent mostly changed in a few
 * bytes (a tuple's xmax and infomask, a new line pointer, the page LSN), so
 * its XOR with the parent's page is mostly zeroes and compresses to tens of
 * bytes, where the page itself compresses to hundreds.
 *-------------------------------------------------------------------------
 */
#ifndef DR_DELTA_H
#define DR_DELTA_H

#include "common/error.h"

#define DELTA_MAGIC				"PGDRDLT1"
#define DELTA_MAGIC_BASE		"PGDRDLT2"
#define DELTA_HEADER_SIZE		20	/* PGDRDLT1; PGDRDLT2 adds 4 */
#define DELTA_END_BLOCK			0xFFFFFFFFu

typedef struct DeltaWriter DeltaWriter;
typedef struct DeltaReader DeltaReader;

typedef bool (*DeltaWriteFn) (void *arg, const void *buf, size_t len,
							  DrError *err);
typedef ssize_t (*DeltaReadFn) (void *arg, void *buf, size_t len,
								DrError *err);

/* Writer: header now, pages in ascending order, End writes the end record. */
extern DeltaWriter *deltaWriterNew(DeltaWriteFn fn, void *arg,
								   uint32 blockSize, uint64 fileSize,
								   DrError *err);
/*
 * The same with pages below baseBlocks XORed with the parent's by the
 * caller (baseBlocks 0: PGDRDLT1, as deltaWriterNew).  DR_ERR_INVALID when
 * baseBlocks pages do not fit in fileSize.
 */
extern DeltaWriter *deltaWriterNewBase(DeltaWriteFn fn, void *arg,
									   uint32 blockSize, uint64 fileSize,
									   uint32 baseBlocks, DrError *err);
extern bool deltaWritePage(DeltaWriter *writer, uint32 blockno,
						   const void *page, DrError *err);
extern bool deltaWriterEnd(DeltaWriter *writer, uint32 *count, DrError *err);
extern void deltaWriterFree(DeltaWriter *writer);

/*
 * Reader: New reads the header; Next returns 1 with a page (valid until the
 * next call), 0 at a valid end record, -1 on error (DR_ERR_CORRUPT for
 * malformed data: bad magic, blocks out of order, count mismatch).
 */
extern DeltaReader *deltaReaderNew(DeltaReadFn fn, void *arg, DrError *err);
extern uint32 deltaReaderBlockSize(const DeltaReader *reader);
extern uint64 deltaReaderFileSize(const DeltaReader *reader);
/* Pages below this are XORed with the parent's (0 for PGDRDLT1). */
extern uint32 deltaReaderBaseBlocks(const DeltaReader *reader);
extern int	deltaReaderNext(DeltaReader *reader, uint32 *blockno,
							const void **page, DrError *err);
extern void deltaReaderFree(DeltaReader *reader);

/* dst ^= src, len bytes (a block size: a multiple of 8). */
extern void deltaPageXor(void *dst, const void *src, uint32 len);

/*
 * Details the format leaves to the implementation (delta.c): blockSize is
 * a power of two from 1024 to 32768; every page lies wholly inside
 * fileSize ((blockno + 1) * blockSize <= fileSize), since applying it must
 * not make the file longer; nothing follows the end record.
 * deltaWriterEnd does not free the writer: call deltaWriterFree afterwards,
 * whatever End returned.
 */

#endif							/* DR_DELTA_H */
