/*-------------------------------------------------------------------------
 * test_wal_summary.c
 *	  Unit tests of src/archive/wal_summary.c: WAL summaries and the
 *	  blocks an incremental backup reads.
 *
 * Covers: the builder (blocks sorted and made unique per fork, repeats
 * in and out of order, flags, the smallest limit kept, database entries,
 * the first reason of "not vouched" kept, thousands of repeats that fill
 * and compact the array); summaries merged (walSummaryAddSummary: union
 * of blocks, flags, smallest limit, not vouched carried over); encode and
 * decode round trip (header, reason, entries, block numbers up to
 * 0xFFFFFFFE), the byte layout of the header; the decoder's refusals
 * (bad magic, every truncation, entries out of order, blocks out of order,
 * unknown flags, bytes after the end, an entry count larger than the
 * input); walSummaryFind; walSummaryPathParse (base, global, tablespaces,
 * forks, segments; temporary relations, leading zeroes, other files
 * refused); walSummaryPick (not vouched, not a relation, map and init
 * forks, unlogged, database created, relation created: all whole; only
 * the named blocks of a file; blocks of another segment of the fork
 * mapped to this file's numbers; blocks past the parent's end; a
 * truncation limit inside, before and after the file; a file that shrank;
 * a fork the summary does not name: no block, or only the new ones);
 * walSummaryBaseWorth (dense pages XOR, sparse ones not, only pages the
 * parent has count, none at all).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "archive/wal_summary.h"
#include "tap.h"

static WalSummaryKey
keyOf(uint32 spc, uint32 db, uint32 rel, uint8 fork)
{
	WalSummaryKey k;

	memset(&k, 0, sizeof(k));
	k.spcOid = spc;
	k.dbOid = db;
	k.relNumber = rel;
	k.fork = fork;
	return k;
}

static bool
blocksAre(const uint32 *got, uint32 n, const uint32 *want, uint32 wantN)
{
	if (n != wantN)
	{
		diag("got %u blocks, want %u", n, wantN);
		return false;
	}
	for (uint32 i = 0; i < n; i++)
		if (got[i] != want[i])
		{
			diag("block %u: got %u, want %u", i, got[i], want[i]);
			return false;
		}
	return true;
}

static WalSummary *
sample(void)
{
	WalSummaryBuilder *b = walSummaryBuilderNew(3, 0x1000028);
	WalSummaryKey t1 = keyOf(1663, 5, 16384, 0);
	WalSummaryKey t2 = keyOf(1663, 5, 16390, 0);
	WalSummaryKey vm = keyOf(1663, 5, 16384, 2);
	WalSummaryKey g = keyOf(1664, 0, 1262, 0);

	walSummaryAddBlock(b, &t1, 7);
	walSummaryAddBlock(b, &t1, 7);
	walSummaryAddBlock(b, &t1, 3);
	walSummaryAddBlock(b, &t2, 0xFFFFFFFEu);
	walSummaryAddBlock(b, &vm, 0);
	walSummaryAddBlock(b, &t1, 131072 + 5);
	walSummaryAddBlock(b, &t1, 3);
	walSummaryAddLimit(b, &t2, 10);
	walSummaryAddLimit(b, &t2, 4);
	walSummaryAddLimit(b, &t2, 8);
	walSummaryAddCreate(b, &g);
	walSummaryAddDatabase(b, 1663, 7);
	return walSummaryBuilderEnd(b, 0x2000000);
}

static void
testBuilder(void)
{
	WalSummary *s = sample();
	const WalSummaryFork *f;
	WalSummaryKey k;
	static const uint32 t1Blocks[] = {3, 7, 131077};

	is_int(s->tli, 3, "builder: timeline");
	ok(s->startLsn == 0x1000028 && s->endLsn == 0x2000000, "builder: range");
	ok(s->vouched && s->reason[0] == '\0', "builder: vouched by default");
	is_int(s->count, 5, "builder: one entry per fork and database");
	for (uint32 i = 1; i < s->count; i++)
		ok(s->forks[i - 1].key.spcOid < s->forks[i].key.spcOid ||
		   (s->forks[i - 1].key.spcOid == s->forks[i].key.spcOid &&
			(s->forks[i - 1].key.dbOid < s->forks[i].key.dbOid ||
			 (s->forks[i - 1].key.dbOid == s->forks[i].key.dbOid &&
			  (s->forks[i - 1].key.relNumber < s->forks[i].key.relNumber ||
			   (s->forks[i - 1].key.relNumber == s->forks[i].key.relNumber &&
				s->forks[i - 1].key.fork < s->forks[i].key.fork))))),
		   "builder: entry %u after entry %u", i, i - 1);

	k = keyOf(1663, 5, 16384, 0);
	f = walSummaryFind(s, &k);
	ok(f != NULL && blocksAre(f->blocks, f->nblocks, t1Blocks, 3) && f->flags == 0,
	   "builder: blocks sorted and unique, repeats in and out of order dropped");
	k = keyOf(1663, 5, 16390, 0);
	f = walSummaryFind(s, &k);
	ok(f != NULL && f->flags == WAL_SUMMARY_LIMIT && f->limitBlock == 4 &&
	   f->nblocks == 1 && f->blocks[0] == 0xFFFFFFFEu,
	   "builder: the smallest limit kept, with the blocks");
	k = keyOf(1664, 0, 1262, 0);
	f = walSummaryFind(s, &k);
	ok(f != NULL && f->flags == WAL_SUMMARY_CREATED && f->nblocks == 0,
	   "builder: creation");
	k = keyOf(1663, 7, 0, 0);
	f = walSummaryFind(s, &k);
	ok(f != NULL && f->flags == WAL_SUMMARY_DATABASE, "builder: database entry");
	k = keyOf(1663, 5, 16384, 1);
	ok(walSummaryFind(s, &k) == NULL, "find: a fork not named");
	walSummaryFree(s);

	{
		WalSummaryBuilder *b = walSummaryBuilderNew(1, 100);

		walSummaryNotVouched(b, "first reason");
		walSummaryNotVouched(b, "second reason");
		s = walSummaryBuilderEnd(b, 100);
		ok(!s->vouched && strcmp(s->reason, "first reason") == 0,
		   "builder: not vouched, the first reason kept");
		is_int(s->count, 0, "builder: an empty summary");
		walSummaryFree(s);
	}

	{
		/* hot pages: far more repeats than the array holds, out of order */
		WalSummaryBuilder *b = walSummaryBuilderNew(1, 0);
		WalSummaryKey a = keyOf(1663, 5, 1, 0);
		WalSummaryKey c = keyOf(1663, 5, 2, 0);
		bool		good = true;

		for (int i = 0; i < 100000; i++)
		{
			walSummaryAddBlock(b, &a, (uint32) (i % 50));
			walSummaryAddBlock(b, &c, (uint32) (i % 3000));
		}
		s = walSummaryBuilderEnd(b, 1);
		good = s->count == 2 && s->forks[0].nblocks == 50 &&
			s->forks[1].nblocks == 3000;
		for (uint32 i = 0; good && i < 3000; i++)
			good = s->forks[1].blocks[i] == i;
		ok(good, "builder: repeats compacted when the array fills");
		walSummaryFree(s);
	}
}

static void
testMerge(void)
{
	WalSummaryBuilder *b1 = walSummaryBuilderNew(1, 100);
	WalSummaryBuilder *b2 = walSummaryBuilderNew(1, 200);
	WalSummaryBuilder *m;
	WalSummaryKey k = keyOf(1663, 5, 16384, 0);
	WalSummary *s1;
	WalSummary *s2;
	WalSummary *s;
	const WalSummaryFork *f;
	static const uint32 want[] = {1, 2, 9};

	walSummaryAddBlock(b1, &k, 9);
	walSummaryAddBlock(b1, &k, 1);
	walSummaryAddLimit(b1, &k, 20);
	walSummaryAddBlock(b2, &k, 2);
	walSummaryAddBlock(b2, &k, 9);
	walSummaryAddLimit(b2, &k, 12);
	s1 = walSummaryBuilderEnd(b1, 200);
	s2 = walSummaryBuilderEnd(b2, 300);
	m = walSummaryBuilderNew(1, 100);
	walSummaryAddSummary(m, s1);
	walSummaryAddSummary(m, s2);
	s = walSummaryBuilderEnd(m, 300);
	f = walSummaryFind(s, &k);
	ok(s->vouched && f != NULL && blocksAre(f->blocks, f->nblocks, want, 3) &&
	   f->flags == WAL_SUMMARY_LIMIT && f->limitBlock == 12,
	   "merge: union of blocks, smallest limit");
	walSummaryFree(s);

	b1 = walSummaryBuilderNew(1, 300);
	walSummaryNotVouched(b1, "a parameter change");
	walSummaryFree(s2);
	s2 = walSummaryBuilderEnd(b1, 400);
	m = walSummaryBuilderNew(1, 100);
	walSummaryAddSummary(m, s1);
	walSummaryAddSummary(m, s2);
	s = walSummaryBuilderEnd(m, 400);
	ok(!s->vouched && strcmp(s->reason, "a parameter change") == 0,
	   "merge: not vouched carried over");
	walSummaryFree(s);
	walSummaryFree(s1);
	walSummaryFree(s2);
}

static bool
sameSummary(const WalSummary *a, const WalSummary *b)
{
	if (a->tli != b->tli || a->startLsn != b->startLsn || a->endLsn != b->endLsn ||
		a->vouched != b->vouched || strcmp(a->reason, b->reason) != 0 ||
		a->count != b->count)
		return false;
	for (uint32 i = 0; i < a->count; i++)
	{
		const WalSummaryFork *x = &a->forks[i];
		const WalSummaryFork *y = &b->forks[i];

		if (x->key.spcOid != y->key.spcOid || x->key.dbOid != y->key.dbOid ||
			x->key.relNumber != y->key.relNumber || x->key.fork != y->key.fork ||
			x->flags != y->flags ||
			x->limitBlock != y->limitBlock || x->nblocks != y->nblocks)
			return false;
		for (uint32 j = 0; j < x->nblocks; j++)
			if (x->blocks[j] != y->blocks[j])
				return false;
	}
	return true;
}

static void
testFormat(void)
{
	WalSummary *s = sample();
	WalSummary *back;
	StringInfoData buf;
	DrError		err;
	bool		allRefused = true;

	initStringInfo(&buf);
	walSummaryEncode(s, &buf);
	ok(memcmp(buf.data, "PGDRWSM1", 8) == 0, "format: magic");
	ok((uint8) buf.data[8] == 3 && buf.data[9] == 0 && buf.data[12] == 0,
	   "format: timeline little-endian, flags 0");
	ok((uint8) buf.data[16] == 0x28 && (uint8) buf.data[18] == 0x00 &&
	   (uint8) buf.data[19] == 0x01, "format: start LSN little-endian");
	ok(memcmp(buf.data + buf.len - 8, "PGDRWSME", 8) == 0, "format: end marker");
	back = walSummaryDecode(buf.data, buf.len, &err);
	ok(back != NULL && sameSummary(s, back), "format: round trip");
	walSummaryFree(back);

	for (int len = 0; len < buf.len; len++)
	{
		back = walSummaryDecode(buf.data, len, &err);
		if (back != NULL || err.code != DR_ERR_CORRUPT)
		{
			diag("a truncation to %d bytes was accepted", len);
			allRefused = false;
		}
		walSummaryFree(back);
	}
	ok(allRefused, "decode: every truncation refused");

	{
		StringInfoData more;

		initStringInfo(&more);
		appendBinaryStringInfo(&more, buf.data, buf.len);
		appendStringInfoChar(&more, 'x');
		back = walSummaryDecode(more.data, more.len, &err);
		ok(back == NULL && err.code == DR_ERR_CORRUPT && strstr(err.message, "after its end"),
		   "decode: bytes after the end refused");
		more.data[0] = 'X';
		back = walSummaryDecode(more.data, more.len, &err);
		ok(back == NULL && strstr(err.message, "does not begin"), "decode: bad magic refused");
		pfree(more.data);
	}

	{
		/* entry 0 and 1 swapped: out of order */
		WalSummaryFork swap = s->forks[0];
		StringInfoData bad;

		s->forks[0] = s->forks[1];
		s->forks[1] = swap;
		initStringInfo(&bad);
		walSummaryEncode(s, &bad);
		back = walSummaryDecode(bad.data, bad.len, &err);
		ok(back == NULL && strstr(err.message, "out of order"), "decode: entries out of order refused");
		s->forks[1] = s->forks[0];
		s->forks[0] = swap;
		pfree(bad.data);

		/* blocks repeated: a zero difference */
		resetStringInfo(&bad);
		{
			uint32		saved = s->forks[0].blocks[1];

			s->forks[0].blocks[1] = s->forks[0].blocks[0];
			walSummaryEncode(s, &bad);
			s->forks[0].blocks[1] = saved;
		}
		back = walSummaryDecode(bad.data, bad.len, &err);
		ok(back == NULL && strstr(err.message, "blocks out of order"),
		   "decode: blocks repeated refused");

		resetStringInfo(&bad);
		s->forks[0].flags = 0x80;
		walSummaryEncode(s, &bad);
		s->forks[0].flags = 0;
		back = walSummaryDecode(bad.data, bad.len, &err);
		ok(back == NULL && strstr(err.message, "flags"), "decode: unknown entry flags refused");
	}

	{
		/* a count of entries that cannot fit */
		StringInfoData bad;
		WalSummary empty;

		memset(&empty, 0, sizeof(empty));
		empty.vouched = true;
		initStringInfo(&bad);
		walSummaryEncode(&empty, &bad);
		/* count is at 8 + 4 + 4 + 8 + 8 + 2 = 34 */
		bad.data[34] = (char) 0xff;
		bad.data[35] = (char) 0xff;
		back = walSummaryDecode(bad.data, bad.len, &err);
		ok(back == NULL && strstr(err.message, "claims"), "decode: an impossible entry count refused");
		bad.data[34] = 0;
		bad.data[35] = 0;
		back = walSummaryDecode(bad.data, bad.len, &err);
		ok(back != NULL && back->count == 0, "decode: an empty summary");
		walSummaryFree(back);
	}

	{
		WalSummaryBuilder *b = walSummaryBuilderNew(2, 5);

		walSummaryNotVouched(b, "record at 0/5 too short");
		back = walSummaryBuilderEnd(b, 9);
		resetStringInfo(&buf);
		walSummaryEncode(back, &buf);
		walSummaryFree(s);
		s = walSummaryDecode(buf.data, buf.len, &err);
		ok(s != NULL && !s->vouched && strcmp(s->reason, "record at 0/5 too short") == 0,
		   "format: not vouched and its reason round trip");
		walSummaryFree(back);
	}
	walSummaryFree(s);
	pfree(buf.data);
}

static void
testPath(void)
{
	WalSummaryKey k;
	uint32		seg;

	ok(walSummaryPathParse("base/5/16384", &k, &seg) && k.spcOid == 1663 &&
	   k.dbOid == 5 && k.relNumber == 16384 && k.fork == 0 && seg == 0,
	   "path: base main fork");
	ok(walSummaryPathParse("base/5/16384.12", &k, &seg) && k.relNumber == 16384 &&
	   seg == 12, "path: a segment");
	ok(walSummaryPathParse("base/5/16384_fsm", &k, &seg) && k.fork == 1, "path: fsm");
	ok(walSummaryPathParse("base/5/16384_vm.1", &k, &seg) && k.fork == 2 && seg == 1,
	   "path: vm segment");
	ok(walSummaryPathParse("base/5/16384_init", &k, &seg) && k.fork == 3, "path: init fork");
	ok(walSummaryPathParse("global/1262", &k, &seg) && k.spcOid == 1664 && k.dbOid == 0 &&
	   k.relNumber == 1262, "path: global");
	ok(walSummaryPathParse("pg_tblspc/16390/PG_15_202209061/16391/16392.2", &k, &seg) &&
	   k.spcOid == 16390 && k.dbOid == 16391 && k.relNumber == 16392 && seg == 2,
	   "path: tablespace");
	ok(!walSummaryPathParse("base/5/t3_16384", &k, &seg), "path: temporary relation refused");
	ok(!walSummaryPathParse("base/5/016384", &k, &seg), "path: leading zero refused");
	ok(!walSummaryPathParse("base/5/16384.0", &k, &seg), "path: segment 0 named refused");
	ok(!walSummaryPathParse("base/5/PG_VERSION", &k, &seg), "path: PG_VERSION refused");
	ok(!walSummaryPathParse("base/5", &k, &seg), "path: a database directory refused");
	ok(!walSummaryPathParse("global/pg_control", &k, &seg), "path: pg_control refused");
	ok(!walSummaryPathParse("pg_xact/0000", &k, &seg), "path: pg_xact refused");
	ok(!walSummaryPathParse("base/5/16384_foo", &k, &seg), "path: unknown fork refused");
	ok(!walSummaryPathParse("pg_tblspc/16390/x/16391/16392", &k, &seg),
	   "path: tablespace without its version directory refused");
}

/* Pick with segments of 100 blocks. */
static bool
pick(const WalSummary *s, const char *path, bool unlogged, uint32 parentBlocks,
	 uint32 blocks, const uint32 *want, uint32 wantN, const char *whyWanted)
{
	uint32	   *got;
	uint32		n;
	const char *why;
	bool		r = walSummaryPick(s, path, unlogged, 100, parentBlocks, blocks,
								   &got, &n, &why);

	if (whyWanted != NULL)
	{
		if (r || strstr(why, whyWanted) == NULL)
		{
			diag("want whole (%s), got %s", whyWanted, r ? "blocks" : why);
			return false;
		}
		return true;
	}
	if (!r)
	{
		diag("want blocks, got whole: %s", why);
		return false;
	}
	r = blocksAre(got, n, want, wantN);
	if (got)
		pfree(got);
	return r;
}

static void
testPick(void)
{
	WalSummaryBuilder *b = walSummaryBuilderNew(1, 0);
	WalSummaryKey k = keyOf(1663, 5, 16384, 0);
	WalSummaryKey t = keyOf(1663, 5, 16400, 0);
	WalSummaryKey c = keyOf(1663, 5, 16500, 0);
	WalSummary *s;
	static const uint32 named[] = {3, 7, 50};
	static const uint32 seg1[] = {2, 90};
	static const uint32 grown[] = {3, 7, 50, 80, 81};
	static const uint32 shrunk[] = {3, 7};
	static const uint32 newOnly[] = {60, 61};
	static const uint32 limit[] = {1, 40, 41, 42, 43};
	static const uint32 none[] = {0};

	walSummaryAddBlock(b, &k, 3);
	walSummaryAddBlock(b, &k, 7);
	walSummaryAddBlock(b, &k, 50);
	walSummaryAddBlock(b, &k, 102);
	walSummaryAddBlock(b, &k, 190);
	walSummaryAddBlock(b, &t, 1);
	walSummaryAddBlock(b, &t, 44);
	walSummaryAddLimit(b, &t, 40);
	walSummaryAddCreate(b, &c);
	walSummaryAddDatabase(b, 1663, 9);
	s = walSummaryBuilderEnd(b, 1000);

	ok(pick(s, "base/5/16384", false, 80, 80, named, 3, NULL),
	   "pick: only the named blocks");
	ok(pick(s, "base/5/16384.1", false, 100, 100, seg1, 2, NULL),
	   "pick: blocks of the second segment, in its numbers");
	ok(pick(s, "base/5/16384", false, 80, 82, grown, 5, NULL),
	   "pick: and the blocks past the parent's end");
	ok(pick(s, "base/5/16384", false, 80, 8, shrunk, 2, NULL),
	   "pick: a file that shrank: only blocks below its end");
	ok(pick(s, "base/5/16400", false, 50, 44, limit, 5, NULL),
	   "pick: every block from the truncation limit on");
	{
		uint32	   *got;
		uint32		n;
		const char *why;

		ok(walSummaryPick(s, "base/5/16400.1", false, 100, 100, 3, &got, &n, &why) &&
		   n == 3 && got[0] == 0 && got[2] == 2,
		   "pick: a limit before the segment: every block of it");
		ok(walSummaryPick(s, "base/5/16400.3", false, 100, 5, 5, &got, &n, &why) &&
		   n == 5, "pick: a limit in an earlier segment: every block");
	}
	{
		WalSummaryBuilder *b2 = walSummaryBuilderNew(1, 0);
		WalSummaryKey far = keyOf(1663, 5, 16600, 0);
		WalSummary *s2;

		walSummaryAddLimit(b2, &far, 250);
		walSummaryAddBlock(b2, &far, 5);
		s2 = walSummaryBuilderEnd(b2, 10);
		ok(pick(s2, "base/5/16600", false, 100, 100, (const uint32[]) {5}, 1, NULL),
		   "pick: a limit after the file: only the named blocks");
		walSummaryFree(s2);
	}
	ok(pick(s, "base/5/17000", false, 60, 60, none, 0, NULL),
	   "pick: a relation the WAL never touched: no block");
	ok(pick(s, "base/5/17000", false, 60, 62, newOnly, 2, NULL),
	   "pick: a relation the WAL never touched that grew: the new blocks");
	ok(pick(s, "base/5/16500", false, 10, 10, NULL, 0, "created"),
	   "pick: a relation created in the range: whole");
	ok(pick(s, "base/9/16384", false, 10, 10, NULL, 0, "database"),
	   "pick: a database created or dropped in the range: whole");
	ok(pick(s, "base/5/16384_fsm", false, 3, 3, NULL, 0, "main fork"),
	   "pick: free space map: whole");
	ok(pick(s, "base/5/16384_vm", false, 1, 1, NULL, 0, "main fork"),
	   "pick: visibility map: whole");
	ok(pick(s, "base/5/16384_init", false, 1, 1, NULL, 0, "main fork"),
	   "pick: init fork: whole");
	ok(pick(s, "base/5/16384", true, 80, 80, NULL, 0, "unlogged"),
	   "pick: an unlogged relation: whole");
	ok(pick(s, "base/5/PG_VERSION", false, 0, 0, NULL, 0, "not a relation"),
	   "pick: not a relation file: whole");
	walSummaryFree(s);

	b = walSummaryBuilderNew(1, 0);
	walSummaryAddBlock(b, &k, 3);
	walSummaryNotVouched(b, "a parameter change");
	s = walSummaryBuilderEnd(b, 10);
	ok(pick(s, "base/5/16384", false, 80, 80, NULL, 0, "do not vouch"),
	   "pick: a summary not vouched: whole");
	walSummaryFree(s);
}

static void
testBaseWorth(void)
{
	static const uint32 dense[] = {0, 3, 7, 15};
	static const uint32 sparse[] = {0, 50, 100};
	static const uint32 grown[] = {1, 900, 901, 902, 903, 904, 905, 906};

	ok(walSummaryBaseWorth(dense, 4, 100), "base worth: 4 pages of the first 16");
	ok(!walSummaryBaseWorth(sparse, 3, 200), "base not worth: 3 pages of the first 101");
	ok(walSummaryBaseWorth(grown, 8, 10),
	   "base worth: only pages the parent has count (1 of the first 2)");
	ok(!walSummaryBaseWorth(grown, 8, 1), "base not worth: no page the parent has");
	ok(!walSummaryBaseWorth(NULL, 0, 10), "base not worth: no page read");
}

int
main(void)
{
	testBuilder();
	testMerge();
	testFormat();
	testPath();
	testPick();
	testBaseWorth();
	return tapDone();
}
