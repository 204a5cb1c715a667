/*-------------------------------------------------------------------------
 * test_delta_chain.c
 *	  Unit tests of src/common/delta_chain.c: the pages of a file as a
 *	  chain of a whole copy and block deltas has it.
 *
 * Covers: every page equal to what restore builds (a reference that
 * applies the levels the way restoreDeltaApply does: cut or extend the
 * file to the level's size, then each record, XORed onto the page there
 * below baseBlocks); a whole copy alone (a partial last page left out);
 * four levels with a truncation, an extension leaving holes of zeroes,
 * plain records past a level's base and XORed records of the same page at
 * every level; 300 generated chains of 1 to 7 levels (sizes with partial
 * pages, bases smaller than the file below, streams fed in chunks of 1
 * byte to 64 KiB, every page or a sparse ascending subset asked for); the
 * same page asked twice; the refusals (a page out of order or past the
 * file, a delta whose block size, file size or base does not fit its
 * level, a whole copy shorter than its size, a truncated delta record --
 * each naming its object -- and a read error passed on).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "common/delta_chain.h"
#include "lib/stringinfo.h"
#include "tap.h"
#include "test_support.h"

#define BLCK		1024
#define MAX_LEVELS	8

/* One level as stored: the object's plain content and the file's size. */
typedef struct TestLevel
{
	StringInfoData object;
	uint64		size;
} TestLevel;

/* A chain, newest first, and the file restore builds from it. */
typedef struct TestChain
{
	int			count;
	TestLevel	levels[MAX_LEVELS];
	StringInfoData file;
} TestChain;

static uint64 rngState = 0x9E3779B97F4A7C15ull;

static uint32
rng(uint32 n)
{
	rngState = rngState * 6364136223846793005ull + 1442695040888963407ull;
	return n == 0 ? 0 : (uint32) ((rngState >> 33) % n);
}

static void
fillRandom(char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char) rng(256);
}

/* Cut or extend (with zeroes) s to size. */
static void
sbResize(StringInfo s, uint64 size)
{
	if (size > (uint64) s->len)
	{
		enlargeStringInfo(s, (int) (size - s->len));
		memset(s->data + s->len, 0, size - s->len);
	}
	s->len = (int) size;
}

/* Start a chain from a whole copy of size bytes (random content). */
static void
chainStart(TestChain *chain, uint64 size)
{
	TestLevel  *base = &chain->levels[0];

	chain->count = 1;
	initStringInfo(&base->object);
	sbResize(&base->object, size);
	fillRandom(base->object.data, size);
	base->size = size;
	initStringInfo(&chain->file);
	appendBinaryStringInfo(&chain->file, base->object.data, size);
}

/*
 * Add a delta level of size bytes with records at blocks[0..n) (content
 * records, n * BLCK bytes), the first baseBlocks XORed: written with the
 * delta writer, and applied to chain->file as restoreDeltaApply does.
 * Levels are kept oldest first here; chainOpen reverses them.
 */
static void
chainAdd(TestChain *chain, uint64 size, uint32 baseBlocks,
		 const uint32 *blocks, const char *records, int n)
{
	TestLevel  *level = &chain->levels[chain->count++];
	DeltaWriter *writer;
	DrError		err;

	initStringInfo(&level->object);
	level->size = size;
	writer = deltaWriterNewBase(sbWrite, &level->object, BLCK, size,
								baseBlocks, &err);
	if (writer == NULL)
	{
		diag("deltaWriterNewBase: %s", err.message);
		return;
	}
	sbResize(&chain->file, size);
	for (int i = 0; i < n; i++)
	{
		const char *record = records + (size_t) i * BLCK;
		char	   *page = chain->file.data + (size_t) blocks[i] * BLCK;

		if (!deltaWritePage(writer, blocks[i], record, &err))
			diag("deltaWritePage: %s", err.message);
		if (blocks[i] < baseBlocks)
			deltaPageXor(page, record, BLCK);
		else
			memcpy(page, record, BLCK);
	}
	if (!deltaWriterEnd(writer, NULL, &err))
		diag("deltaWriterEnd: %s", err.message);
	deltaWriterFree(writer);
}

static void
chainFree(TestChain *chain)
{
	for (int i = 0; i < chain->count; i++)
		pfree(chain->levels[i].object.data);
	pfree(chain->file.data);
}

/* Open the chain newest first, each stream fed in chunks of chunk bytes. */
static DeltaChain *
chainOpen(TestChain *chain, MemReader *readers, size_t chunk, DrError *err)
{
	DeltaChainLevel levels[MAX_LEVELS];
	static char names[MAX_LEVELS][16];

	for (int i = 0; i < chain->count; i++)
	{
		TestLevel  *level = &chain->levels[chain->count - 1 - i];

		readers[i].data = level->object.data;
		readers[i].len = level->object.len;
		readers[i].pos = 0;
		readers[i].chunk = chunk;
		readers[i].fail = false;
		snprintf(names[i], sizeof(names[i]), "level%d", chain->count - 1 - i);
		levels[i].fn = memRead;
		levels[i].arg = &readers[i];
		levels[i].size = level->size;
		levels[i].name = names[i];
	}
	return deltaChainNew(BLCK, levels, chain->count, err);
}

/*
 * Ask every step-th page (step 1: all); the number of pages that differ
 * from the file restore builds, or -1 on an error.
 */
static int
chainCompare(TestChain *chain, size_t chunk, uint32 step)
{
	MemReader	readers[MAX_LEVELS];
	DrError		err;
	DeltaChain *reader = chainOpen(chain, readers, chunk, &err);
	uint32		blocks;
	int			differ = 0;

	if (reader == NULL)
	{
		diag("deltaChainNew: %s", err.message);
		return -1;
	}
	blocks = deltaChainBlocks(reader);
	if (blocks != chain->levels[chain->count - 1].size / BLCK)
	{
		diag("%u pages, expected " UINT64_FORMAT, blocks,
			 chain->levels[chain->count - 1].size / BLCK);
		differ++;
	}
	for (uint32 b = rng(step); b < blocks; b += step)
	{
		const char *page = deltaChainPage(reader, b, &err);

		if (page == NULL)
		{
			diag("page %u: %s", b, err.message);
			deltaChainFree(reader);
			return -1;
		}
		if (memcmp(page, chain->file.data + (size_t) b * BLCK, BLCK) != 0)
			differ++;
	}
	deltaChainFree(reader);
	return differ;
}

/* Record i of a PGDRDLT2 level: after the 24-byte header, 4 + BLCK each. */
static const char *
recordAt(const TestLevel *level, int i)
{
	return level->object.data + DELTA_HEADER_SIZE + 4 + (size_t) i * (4 + BLCK) + 4;
}

static bool
pageIsZero(const char *page)
{
	for (int i = 0; i < BLCK; i++)
		if (page[i] != 0)
			return false;
	return true;
}

/* A whole copy alone: its pages; a partial last page is not one. */
static void
testBaseOnly(void)
{
	TestChain	chain;
	MemReader	readers[MAX_LEVELS];
	DeltaChain *reader;
	DrError		err;

	chainStart(&chain, 5 * BLCK + 100);
	is_int(chainCompare(&chain, 0, 1), 0, "whole copy alone: every page as stored");
	reader = chainOpen(&chain, readers, 0, &err);
	is_int(deltaChainBlocks(reader), 5, "a partial last page is not a page");
	ok(deltaChainPage(reader, 5, &err) == NULL && err.code == DR_ERR_INVALID,
	   "the partial page is refused");
	deltaChainFree(reader);
	chainFree(&chain);
}

/*
 * Four levels: a base of 10 pages; level 1 cuts to 6 (XOR at 1, 2, 5);
 * level 2 extends to 12 with a base of 4 (XOR at 2, plain 4, 9, 11: pages
 * 6, 7, 8 and 10 are holes); level 3 keeps 12 pages, all its base (XOR at
 * 0, 2, 9, 10).
 */
static void
testFourLevels(void)
{
	TestChain	chain;
	MemReader	readers[MAX_LEVELS];
	DeltaChain *reader;
	DrError		err;
	char		records[4 * BLCK];
	uint32		b1[] = {1, 2, 5};
	uint32		b2[] = {2, 4, 9, 11};
	uint32		b3[] = {0, 2, 9, 10};
	const char *page;
	char		expect[BLCK];

	chainStart(&chain, 10 * BLCK);
	fillRandom(records, sizeof(records));
	chainAdd(&chain, 6 * BLCK, 6, b1, records, 3);
	fillRandom(records, sizeof(records));
	chainAdd(&chain, 12 * BLCK, 4, b2, records, 4);
	fillRandom(records, sizeof(records));
	chainAdd(&chain, 12 * BLCK, 12, b3, records, 4);

	is_int(chainCompare(&chain, 0, 1), 0, "four levels: every page as restore builds it");
	is_int(chainCompare(&chain, 7, 1), 0, "four levels, streams fed 7 bytes at a time");
	is_int(chainCompare(&chain, 0, 3), 0, "four levels, every third page");

	reader = chainOpen(&chain, readers, 0, &err);
	page = deltaChainPage(reader, 2, &err);
	/* page 2: the base's, XORed with each level's record of it */
	memcpy(expect, chain.levels[0].object.data + 2 * BLCK, BLCK);
	deltaPageXor(expect, recordAt(&chain.levels[1], 1), BLCK);
	deltaPageXor(expect, recordAt(&chain.levels[2], 0), BLCK);
	deltaPageXor(expect, recordAt(&chain.levels[3], 1), BLCK);
	ok(page != NULL && memcmp(page, expect, BLCK) == 0,
	   "page 2: XORed at every level onto the base's page");
	ok(deltaChainPage(reader, 2, &err) == page, "the same page asked again");
	page = deltaChainPage(reader, 7, &err);
	ok(page != NULL && pageIsZero(page), "page 7: a hole after the cut, zeroes");
	page = deltaChainPage(reader, 8, &err);
	ok(page != NULL && pageIsZero(page) &&
	   !pageIsZero(chain.levels[0].object.data + 8 * BLCK),
	   "page 8: the base's page cut away by level 1, zeroes");
	page = deltaChainPage(reader, 10, &err);
	ok(page != NULL && memcmp(page, recordAt(&chain.levels[3], 3), BLCK) == 0,
	   "page 10: a hole XORed at level 3 is that record");
	ok(deltaChainPage(reader, 9, &err) == NULL && err.code == DR_ERR_INVALID,
	   "a page before the last one asked is refused");
	page = deltaChainPage(reader, 11, &err);
	ok(page != NULL && memcmp(page, chain.file.data + 11 * BLCK, BLCK) == 0,
	   "a refused request leaves the chain usable: page 11");
	deltaChainFree(reader);
	chainFree(&chain);
}

/* Chains of 1 to 7 levels with random sizes, bases and records. */
static void
testGenerated(void)
{
	int			bad = 0;
	int			levelsSeen[MAX_LEVELS] = {0};
	char	   *records = palloc(48 * BLCK);

	for (int n = 0; n < 300; n++)
	{
		TestChain	chain;
		int			count = 1 + rng(7);
		size_t		chunks[] = {0, 1, 13, BLCK, 3 * BLCK + 5, 65536};
		int			differ;

		/* a base with a partial last page half of the time */
		chainStart(&chain, (uint64) rng(40) * BLCK + (rng(2) ? rng(BLCK) : 0));
		for (int l = 1; l < count; l++)
		{
			uint64		below = chain.levels[l - 1].size;
			uint64		size = (uint64) rng(48) * BLCK +
				(rng(4) == 0 ? rng(BLCK) : 0);
			uint32		maxBase = (uint32) Min(below / BLCK, size / BLCK);
			uint32		base = rng(4) == 0 ? 0 : rng(maxBase + 1);
			uint32		blocks[48];
			int			nrec = 0;

			for (uint32 b = 0; b < size / BLCK; b++)
			{
				/* every page past the level below, as a backup stores it */
				if (rng(3) == 0 || ((uint64) b + 1) * BLCK > below)
				{
					if (rng(8) != 0)	/* and sometimes a hole */
						blocks[nrec++] = b;
				}
			}
			fillRandom(records, (size_t) nrec * BLCK);
			chainAdd(&chain, size, base, blocks, records, nrec);
		}
		levelsSeen[count]++;
		differ = chainCompare(&chain, chunks[rng(lengthof(chunks))],
							  1 + (rng(2) ? rng(5) : 0));
		if (differ != 0)
		{
			diag("chain %d (%d levels): %d", n, count, differ);
			bad++;
		}
		chainFree(&chain);
	}
	pfree(records);
	is_int(bad, 0, "300 generated chains: every page asked as restore builds it");
	ok(levelsSeen[1] > 0 && levelsSeen[3] > 0 && levelsSeen[7] > 0,
	   "chains of 1, 3 and 7 levels among them (%d, %d, %d)",
	   levelsSeen[1], levelsSeen[3], levelsSeen[7]);
}

/* Open a two-level chain whose delta is given as is. */
static DeltaChain *
openRaw(const char *base, uint64 baseLen, uint64 baseSize, const char *delta,
		size_t deltaLen, uint64 deltaSize, DrError *err)
{
	static MemReader readers[2];
	DeltaChainLevel levels[2];

	readers[0] = (MemReader) {delta, deltaLen, 0, 0, false};
	readers[1] = (MemReader) {base, baseLen, 0, 0, false};
	levels[0] = (DeltaChainLevel) {memRead, &readers[0], deltaSize, "the delta"};
	levels[1] = (DeltaChainLevel) {memRead, &readers[1], baseSize, "the base"};
	drErrorClear(err);
	return deltaChainNew(BLCK, levels, 2, err);
}

static void
testRefusals(void)
{
	TestChain	chain;
	char		records[2 * BLCK];
	uint32		blocks[] = {1, 3};
	DrError		err;
	DeltaChain *reader;
	StringInfoData other;
	DeltaWriter *writer;
	const char *base;
	const char *delta;
	size_t		deltaLen;
	MemReader	readers[2];
	DeltaChainLevel levels[2];

	chainStart(&chain, 4 * BLCK);
	fillRandom(records, sizeof(records));
	chainAdd(&chain, 4 * BLCK, 4, blocks, records, 2);
	base = chain.levels[0].object.data;
	delta = chain.levels[1].object.data;
	deltaLen = chain.levels[1].object.len;

	reader = openRaw(base, 4 * BLCK, 4 * BLCK, delta, deltaLen, 5 * BLCK, &err);
	ok(reader == NULL && err.code == DR_ERR_CORRUPT &&
	   strstr(err.message, "\"the delta\" makes a file of 4096 bytes") != NULL,
	   "a delta of another file size: corrupt, naming it");
	reader = openRaw(base, 3 * BLCK, 3 * BLCK, delta, deltaLen, 4 * BLCK, &err);
	ok(reader == NULL && err.code == DR_ERR_CORRUPT &&
	   strstr(err.message, "\"the delta\" is based on 4 pages") != NULL,
	   "a base larger than the level below: corrupt, naming the delta");

	/* a delta of block size 2048 in a chain of 1024 */
	initStringInfo(&other);
	writer = deltaWriterNew(sbWrite, &other, 2048, 4 * BLCK, &err);
	(void) deltaWriterEnd(writer, NULL, &err);
	deltaWriterFree(writer);
	reader = openRaw(base, 4 * BLCK, 4 * BLCK, other.data, other.len, 4 * BLCK, &err);
	ok(reader == NULL && err.code == DR_ERR_CORRUPT &&
	   strstr(err.message, "has block size 2048") != NULL,
	   "a delta of another block size: corrupt");
	pfree(other.data);

	/* the base object shorter than its size: found when its page is read */
	reader = openRaw(base, 2 * BLCK + 10, 4 * BLCK, delta, deltaLen, 4 * BLCK, &err);
	ok(reader != NULL && deltaChainPage(reader, 0, &err) != NULL,
	   "short base: page 0 is there");
	ok(deltaChainPage(reader, 2, &err) == NULL && err.code == DR_ERR_CORRUPT &&
	   strstr(err.message, "object \"the base\" ends at 2058 bytes") != NULL,
	   "short base: page 2 is corrupt, naming the object");
	deltaChainFree(reader);

	/* a truncated record */
	reader = openRaw(base, 4 * BLCK, 4 * BLCK, delta, 24 + 4 + BLCK + 4 + 100,
					 4 * BLCK, &err);
	ok(reader != NULL && deltaChainPage(reader, 1, &err) != NULL,
	   "truncated delta: page 1 is there");
	ok(deltaChainPage(reader, 3, &err) == NULL && err.code == DR_ERR_CORRUPT &&
	   strstr(err.message, "object \"the delta\": block delta is corrupt: truncated") != NULL,
	   "truncated delta: page 3 is corrupt, naming the object");
	if (err.code == DR_ERR_CORRUPT)
		diag("%s", err.message);
	deltaChainFree(reader);

	/* a read error of the base passes on */
	readers[0] = (MemReader) {delta, deltaLen, 0, 0, false};
	readers[1] = (MemReader) {base, BLCK, 0, 0, true};
	levels[0] = (DeltaChainLevel) {memRead, &readers[0], 4 * BLCK, "the delta"};
	levels[1] = (DeltaChainLevel) {memRead, &readers[1], 4 * BLCK, "the base"};
	reader = deltaChainNew(BLCK, levels, 2, &err);
	ok(reader != NULL && deltaChainPage(reader, 2, &err) == NULL &&
	   err.code == DR_ERR_IO, "a read error passes on");
	deltaChainFree(reader);

	ok(deltaChainNew(BLCK, levels, 0, &err) == NULL && err.code == DR_ERR_INVALID,
	   "no level: refused");
	chainFree(&chain);
}

int
main(void)
{
	testBaseOnly();
	testFourLevels();
	testGenerated();
	testRefusals();
	return tapDone();
}
