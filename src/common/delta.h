/*-------------------------------------------------------------------------
 * delta.h
 *	  Block deltas: the pages of one relation file that changed since the
 *	  parent backup, stored as the plain content of a data object
 *	  (manifest store=delta).
 *
 * Format (little-endian), streamed:
 *	 magic		8	"PGDRDLT1"
 *	 blockSize	4
 *	 fileSize	8	size of the file as restored
 *	 records, ascending block numbers:
 *	   blockno	4
 *	   page		blockSize bytes
 *	 end record:
 *	   blockno	4	0xFFFFFFFF
 *	   count	4	number of page records
 *
 * Applying a delta: take the parent's content of the file, cut or extend it
 * to fileSize (extension with zeroes), write each page at blockno *
 * blockSize.  Every page past the parent's size is in the delta (new pages
 * have a newer LSN, or none), so no zero-filled hole survives restore.
 *-------------------------------------------------------------------------
 */
#ifndef DR_DELTA_H
#define DR_DELTA_H

#include "common/error.h"

#define DELTA_MAGIC				"PGDRDLT1"
#define DELTA_HEADER_SIZE		20
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
extern int	deltaReaderNext(DeltaReader *reader, uint32 *blockno,
							const void **page, DrError *err);
extern void deltaReaderFree(DeltaReader *reader);

/*
 * Details the format leaves to the implementation (delta.c): blockSize is
 * a power of two from 1024 to 32768; every page lies wholly inside
 * fileSize ((blockno + 1) * blockSize <= fileSize), since applying it must
 * not make the file longer; nothing follows the end record.
 * deltaWriterEnd does not free the writer: call deltaWriterFree afterwards,
 * whatever End returned.
 */

#endif							/* DR_DELTA_H */
