/*-------------------------------------------------------------------------
 * delta_chain.h
 *	  The pages of one file as a chain of backups has it: a whole copy and
 *	  the block deltas (delta.h) stored on top of it, merged as streams.
 *
 * A chain is given newest first: levels[0] is the newest backup that
 * stores the file (as a delta, or whole when the chain has one level),
 * levels[count - 1] the whole copy the file starts from; levels that store
 * nothing for the file (store=parent: the parent's content, same size) are
 * left out by the caller.  Each level is a stream of its object's plain
 * content, read forward once.
 *
 * Page blockno of the chain is what restore would put there (delta.h,
 * "Applying a delta"): the whole copy's bytes, then each delta, oldest
 * first, cutting or extending the file to its size (extension with
 * zeroes) and overlaying its records -- a record below its baseBlocks
 * XORed onto the page as the level below has it.  Pages are asked for in
 * ascending order (the same page again is allowed), so that every stream
 * is read forward: a k-way merge of the delta records and the whole
 * copy's bytes, with one record per level and a read buffer held at a
 * time, whatever the size of the file.
 *
 * Each delta's header is checked against its level when the chain is
 * opened: block size, file size, and a base that fits in the file of the
 * level below.  Records are checked by the delta reader as they are
 * reached.  Nothing here reads a stream to its end (the pages past the
 * last one asked for are never read): streams that must be verified whole
 * are verified by whoever reads them whole (restore, verify).
 *-------------------------------------------------------------------------
 */
#ifndef DR_DELTA_CHAIN_H
#define DR_DELTA_CHAIN_H

#include "common/delta.h"

typedef struct DeltaChain DeltaChain;

typedef struct DeltaChainLevel
{
	DeltaReadFn fn;				/* the plain content of the level's object */
	void	   *arg;
	uint64		size;			/* size of the file at this level */
	const char *name;			/* the object, for error messages */
} DeltaChainLevel;

/*
 * Open a chain of count levels (at least 1; newest first, the last one
 * whole).  The deltas' headers are read now; DR_ERR_CORRUPT, naming the
 * object, when one does not fit its level; an error of a read function is
 * passed on.  levels[] is copied; the read functions must stay usable
 * until Free.
 */
extern DeltaChain *deltaChainNew(uint32 blockSize,
								 const DeltaChainLevel *levels, int count,
								 DrError *err);

/* Pages of the newest level: size / blockSize (a partial last page is not one). */
extern uint32 deltaChainBlocks(const DeltaChain *chain);

/*
 * Page blockno (less than deltaChainBlocks; not below the last one asked
 * for: DR_ERR_INVALID otherwise), valid until the next call.
 * DR_ERR_CORRUPT naming the object when a stream is malformed or the
 * whole copy ends before its size; read errors are passed on.
 */
extern const char *deltaChainPage(DeltaChain *chain, uint32 blockno,
								  DrError *err);

extern void deltaChainFree(DeltaChain *chain);

#endif							/* DR_DELTA_CHAIN_H */
