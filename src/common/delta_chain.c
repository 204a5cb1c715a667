/*-------------------------------------------------------------------------
 * delta_chain.c
 *	  The pages of one file as a chain of backups has it (delta_chain.h).
 *
 * Every stream is read forward only.  For a page, each delta stream is
 * advanced to its first record at or after the page (records are strictly
 * ascending, delta.c checks it), so a level "has" the page when its
 * current record is the page.  The page is then built bottom-up from the
 * newest level that stores it plainly (a record at or past its
 * baseBlocks), or from the whole copy when none does: each level above
 * XORs its record onto it (a record there is below that level's
 * baseBlocks, or it would have been the start) and cuts it to its file
 * size -- bytes past a level's size are zero in every newer level that
 * extends the file again without a record for the page, exactly as the
 * ftruncate() of restore leaves them.
 *
 * The whole copy is read through a buffer of DELTA_CHAIN_BUFFER_PAGES
 * pages, skipping forward to the page wanted; it is read only for pages
 * that no level stores plainly.
 *
 * Memory: one page per level (the delta reader's), a read buffer per delta
 * (delta.c), the whole copy's buffer and the page built.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "common/delta_chain.h"

#define DELTA_CHAIN_BUFFER_PAGES	16

/* The stream of one delta level. */
typedef struct DeltaChainStream
{
	DeltaReader *reader;
	uint64		size;			/* file size at this level */
	uint32		baseBlocks;		/* records below are XORed (delta.h) */
	const char *name;
	bool		have;			/* blockno/page hold the current record */
	bool		done;			/* the end record was read */
	uint32		blockno;
	const void *page;
} DeltaChainStream;

struct DeltaChain
{
	uint32		blockSize;
	uint32		blocks;			/* pages of the newest level */
	int			deltaCount;
	DeltaChainStream *deltas;	/* newest first, as given */

	/* the whole copy */
	DeltaReadFn baseFn;
	void	   *baseArg;
	uint64		baseSize;
	const char *baseName;
	char	   *baseBuffer;
	uint64		baseStart;		/* file offset of baseBuffer[0] */
	uint64		baseEnd;		/* end of what baseBuffer holds */

	char	   *page;			/* the page built */
	int64		lastBlock;		/* in page; -1 before the first */
	bool		failed;
};

/* A delta reader's "block delta is corrupt" names its object. */
static void
deltaChainNameError(DrError *err, const char *name)
{
	if (err != NULL && err->code == DR_ERR_CORRUPT &&
		strncmp(err->message, "block delta", 11) == 0)
		drErrorPrefix(err, "object \"%s\": ", name);
}

DeltaChain *
deltaChainNew(uint32 blockSize, const DeltaChainLevel *levels, int count,
			  DrError *err)
{
	DeltaChain *chain;
	const DeltaChainLevel *base;

	if (count < 1 || blockSize == 0 || blockSize % sizeof(uint64) != 0)
	{
		drErrorSet(err, DR_ERR_INVALID,
				   "a delta chain needs at least one level and a block size that is a multiple of 8 (%d levels, block size %u)",
				   count, blockSize);
		return NULL;
	}
	base = &levels[count - 1];
	chain = palloc0(sizeof(DeltaChain));
	chain->blockSize = blockSize;
	chain->blocks = (uint32) Min(levels[0].size / blockSize, (uint64) PG_UINT32_MAX);
	chain->deltaCount = count - 1;
	chain->deltas = palloc0(Max(count - 1, 1) * sizeof(DeltaChainStream));
	chain->baseFn = base->fn;
	chain->baseArg = base->arg;
	chain->baseSize = base->size;
	chain->baseName = base->name;
	chain->baseBuffer = palloc((size_t) DELTA_CHAIN_BUFFER_PAGES * blockSize);
	chain->page = palloc(blockSize);
	chain->lastBlock = -1;

	for (int i = 0; i < count - 1; i++)
	{
		DeltaChainStream *stream = &chain->deltas[i];
		uint64		below = levels[i + 1].size;

		stream->size = levels[i].size;
		stream->name = levels[i].name;
		stream->reader = deltaReaderNew(levels[i].fn, levels[i].arg, err);
		if (stream->reader == NULL)
		{
			deltaChainNameError(err, stream->name);
			goto fail;
		}
		if (deltaReaderBlockSize(stream->reader) != blockSize)
		{
			drErrorSet(err, DR_ERR_CORRUPT,
					   "delta \"%s\" has block size %u, the backup %u",
					   stream->name, deltaReaderBlockSize(stream->reader),
					   blockSize);
			goto fail;
		}
		if (deltaReaderFileSize(stream->reader) != stream->size)
		{
			drErrorSet(err, DR_ERR_CORRUPT,
					   "delta \"%s\" makes a file of " UINT64_FORMAT " bytes, its manifest says " UINT64_FORMAT,
					   stream->name, deltaReaderFileSize(stream->reader),
					   stream->size);
			goto fail;
		}
		stream->baseBlocks = deltaReaderBaseBlocks(stream->reader);
		/* XORed pages must exist, whole, in the level below */
		if ((uint64) stream->baseBlocks * blockSize > below)
		{
			drErrorSet(err, DR_ERR_CORRUPT,
					   "delta \"%s\" is based on %u pages, the file it applies to has " UINT64_FORMAT " bytes",
					   stream->name, stream->baseBlocks, below);
			goto fail;
		}
	}
	return chain;

fail:
	deltaChainFree(chain);
	return NULL;
}

uint32
deltaChainBlocks(const DeltaChain *chain)
{
	return chain->blocks;
}

/* Move stream to its first record at or after blockno. */
static bool
deltaChainAdvance(DeltaChainStream *stream, uint32 blockno, DrError *err)
{
	while (!stream->done && (!stream->have || stream->blockno < blockno))
	{
		int			rc = deltaReaderNext(stream->reader, &stream->blockno,
										 &stream->page, err);

		if (rc < 0)
		{
			deltaChainNameError(err, stream->name);
			return false;
		}
		stream->have = rc == 1;
		stream->done = rc == 0;
	}
	return true;
}

/* The whole copy's bytes of page blockno into chain->page, zero past its size. */
static bool
deltaChainBasePage(DeltaChain *chain, uint32 blockno, DrError *err)
{
	uint32		blockSize = chain->blockSize;
	size_t		capacity = (size_t) DELTA_CHAIN_BUFFER_PAGES * blockSize;
	uint64		offset = (uint64) blockno * blockSize;
	uint64		wantEnd;

	if (offset >= chain->baseSize)
	{
		memset(chain->page, 0, blockSize);
		return true;
	}
	wantEnd = Min(offset + blockSize, chain->baseSize);
	while (chain->baseEnd < wantEnd)
	{
		size_t		fill;
		ssize_t		n;

		if (offset >= chain->baseEnd)
		{
			/* nothing buffered is wanted any more */
			chain->baseStart = chain->baseEnd;
			fill = 0;
		}
		else
		{
			/* keep the part of the page already read, at the front */
			fill = chain->baseEnd - offset;
			if (offset > chain->baseStart)
				memmove(chain->baseBuffer,
						chain->baseBuffer + (offset - chain->baseStart), fill);
			chain->baseStart = offset;
		}
		n = chain->baseFn(chain->baseArg, chain->baseBuffer + fill,
						  capacity - fill, err);
		if (n < 0)
			return false;
		if (n == 0)
			return drErrorSet(err, DR_ERR_CORRUPT,
							  "object \"%s\" ends at " UINT64_FORMAT " bytes, its manifest says " UINT64_FORMAT,
							  chain->baseName, chain->baseStart + fill,
							  chain->baseSize);
		chain->baseEnd = chain->baseStart + fill + n;
	}
	memcpy(chain->page, chain->baseBuffer + (offset - chain->baseStart),
		   wantEnd - offset);
	if (wantEnd - offset < blockSize)
		memset(chain->page + (wantEnd - offset), 0,
			   blockSize - (wantEnd - offset));
	return true;
}

/* Zero the bytes of the page past size: the level cut the file there. */
static void
deltaChainCut(DeltaChain *chain, uint32 blockno, uint64 size)
{
	uint64		offset = (uint64) blockno * chain->blockSize;

	if (offset + chain->blockSize <= size)
		return;
	if (offset >= size)
		memset(chain->page, 0, chain->blockSize);
	else
		memset(chain->page + (size - offset), 0,
			   chain->blockSize - (size - offset));
}

const char *
deltaChainPage(DeltaChain *chain, uint32 blockno, DrError *err)
{
	int			start = chain->deltaCount;	/* the whole copy */

	if (chain->failed)
	{
		drErrorSet(err, DR_ERR_INVALID, "delta chain failed earlier");
		return NULL;
	}
	if (blockno >= chain->blocks || (int64) blockno < chain->lastBlock)
	{
		drErrorSet(err, DR_ERR_INVALID,
				   "page %u asked of a delta chain of %u pages after page " INT64_FORMAT,
				   blockno, chain->blocks, chain->lastBlock);
		return NULL;
	}
	if ((int64) blockno == chain->lastBlock)
		return chain->page;

	/* every delta to the page; the newest that stores it plainly starts */
	for (int i = 0; i < chain->deltaCount; i++)
	{
		DeltaChainStream *stream = &chain->deltas[i];

		if (!deltaChainAdvance(stream, blockno, err))
			goto fail;
		if (start == chain->deltaCount && stream->have &&
			stream->blockno == blockno && blockno >= stream->baseBlocks)
			start = i;
	}

	if (start == chain->deltaCount)
	{
		if (!deltaChainBasePage(chain, blockno, err))
			goto fail;
	}
	else
		memcpy(chain->page, chain->deltas[start].page, chain->blockSize);

	/* the levels above, oldest first: XOR their records, cut to their size */
	for (int i = start - 1; i >= 0; i--)
	{
		DeltaChainStream *stream = &chain->deltas[i];

		if (stream->have && stream->blockno == blockno)
		{
			Assert(blockno < stream->baseBlocks);
			deltaPageXor(chain->page, stream->page, chain->blockSize);
		}
		deltaChainCut(chain, blockno, stream->size);
	}
	chain->lastBlock = blockno;
	return chain->page;

fail:
	chain->failed = true;
	return NULL;
}

void
deltaChainFree(DeltaChain *chain)
{
	if (chain == NULL)
		return;
	for (int i = 0; i < chain->deltaCount; i++)
		deltaReaderFree(chain->deltas[i].reader);
	pfree(chain->deltas);
	pfree(chain->baseBuffer);
	pfree(chain->page);
	pfree(chain);
}
