/*-------------------------------------------------------------------------
 * test_wal.c
 *	  Unit tests of src/common/wal.c.
 *
 * Covers: walSegmentName and walSegmentNameParse (round trip, 16 MB and
 * 1 GB segments, malformed names), walHistoryNameParse, walHistoryParse
 * (comments, any whitespace, lower-case locations, every refusal),
 * walHistoryTimelineOf (which timeline's file recovery reads around a
 * switch point, on and off a segment boundary, several switches),
 * walHistoryReaches (a backup before, at and after a switch point),
 * walSegmentHeaderCheck over crafted long page headers (the right segment,
 * unaligned; another segment's, naming it; wrong segment size, system
 * identifier, magic, short header; a newer timeline than the name's and
 * an older one, as in the first segment of a timeline; the size taken from
 * the header when the caller has none; a ".partial").
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "access/xlog_internal.h"

#include "common/wal.h"
#include "tap.h"

#define MB (1024 * 1024)

static WalHistory *
parse(const char *text, uint32 tli, DrError *err)
{
	drErrorClear(err);
	return walHistoryParse(text, strlen(text), tli, "test.history", err);
}

#define SYSID	UINT64CONST(7300000000000000001)

/* A long page header: the first page of a segment, as PostgreSQL writes it. */
static void
pageMake(XLogLongPageHeaderData *page, uint32 tli, uint64 pageaddr,
		 uint32 segSize, uint64 sysid)
{
	memset(page, 0, sizeof(*page));
	page->std.xlp_magic = XLOG_PAGE_MAGIC;
	page->std.xlp_info = XLP_LONG_HEADER;
	page->std.xlp_tli = tli;
	page->std.xlp_pageaddr = pageaddr;
	page->xlp_sysid = sysid;
	page->xlp_seg_size = segSize;
	page->xlp_xlog_blcksz = XLOG_BLCKSZ;
}

static bool
headerCheck(const char *name, const XLogLongPageHeaderData *page,
			uint32 segSize, uint64 sysid, char *actual, DrError *err)
{
	drErrorClear(err);
	return walSegmentHeaderCheck(name, page, sizeof(*page), segSize, sysid,
								 actual, err);
}

static void
testHeaderCheck(void)
{
	XLogLongPageHeaderData page;
	char		actual[WAL_NAME_LEN + 1];
	char		unaligned[sizeof(page) + 1];
	DrError		err;

	pageMake(&page, 1, UINT64CONST(0x1B000000), 16 * MB, SYSID);
	ok(headerCheck("00000001000000000000001B", &page, 16 * MB, SYSID, actual, &err) &&
	   actual[0] == '\0', "the segment its name says");
	memcpy(unaligned + 1, &page, sizeof(page));
	drErrorClear(&err);
	ok(walSegmentHeaderCheck("00000001000000000000001B", unaligned + 1, sizeof(page),
							 16 * MB, SYSID, NULL, &err), "unaligned bytes");
	ok(headerCheck("00000001000000000000001B.partial", &page, 16 * MB, SYSID, NULL, &err),
	   "a .partial of that segment");
	ok(headerCheck("00000001000000000000001B", &page, 16 * MB, 0, NULL, &err),
	   "system identifier not checked when unknown");

	/* another segment's WAL under the name: both named */
	pageMake(&page, 1, UINT64CONST(0x1C000000), 16 * MB, SYSID);
	ok(!headerCheck("00000001000000000000001B", &page, 16 * MB, SYSID, actual, &err) &&
	   err.code == DR_ERR_CORRUPT &&
	   strstr(err.message, "WAL segment 00000001000000000000001B holds the WAL of segment 00000001000000000000001C") != NULL &&
	   strstr(err.message, "0/1C000000, not 0/1B000000") != NULL,
	   "the next segment's WAL: %s", err.message);
	is_str(actual, "00000001000000000000001C", "the segment it holds");
	pageMake(&page, 1, UINT64CONST(0x11B000000), 16 * MB, SYSID);
	ok(!headerCheck("00000001000000000000001B", &page, 16 * MB, SYSID, actual, &err) &&
	   strcmp(actual, "00000001000000010000001B") == 0,
	   "the same segment number of another log: %s", err.message);
	pageMake(&page, 1, UINT64CONST(0x1B002000), 16 * MB, SYSID);
	ok(!headerCheck("00000001000000000000001B", &page, 16 * MB, SYSID, NULL, &err),
	   "a page inside the segment, not its first");

	/* timelines: older is the first segment of a timeline, newer is wrong */
	pageMake(&page, 1, UINT64CONST(0x1B000000), 16 * MB, SYSID);
	ok(headerCheck("00000002000000000000001B", &page, 16 * MB, SYSID, NULL, &err),
	   "the parent's WAL at the start of a timeline's first segment");
	pageMake(&page, 2, UINT64CONST(0x1B000000), 16 * MB, SYSID);
	ok(!headerCheck("00000001000000000000001B", &page, 16 * MB, SYSID, actual, &err) &&
	   strcmp(actual, "00000002000000000000001B") == 0 &&
	   strstr(err.message, "timeline 2") != NULL,
	   "timeline 2's segment under timeline 1's name: %s", err.message);

	/* the cluster */
	pageMake(&page, 1, UINT64CONST(0x1B000000), 16 * MB, SYSID + 1);
	ok(!headerCheck("00000001000000000000001B", &page, 16 * MB, SYSID, actual, &err) &&
	   err.code == DR_ERR_CORRUPT && strstr(err.message, "another cluster") != NULL &&
	   actual[0] == '\0', "another cluster's segment: %s", err.message);
	pageMake(&page, 1, UINT64CONST(0x1B00000), MB, SYSID);
	ok(!headerCheck("00000001000000000000001B", &page, 16 * MB, SYSID, NULL, &err) &&
	   strstr(err.message, "segments of 1048576 bytes, not 16777216") != NULL,
	   "another segment size: %s", err.message);
	ok(headerCheck("00000001000000000000001B", &page, 0, SYSID, NULL, &err),
	   "no size from the caller: the header's (1 MB), which parses the name");
	page.xlp_seg_size = 3 * MB;
	ok(!headerCheck("00000001000000000000001B", &page, 0, SYSID, NULL, &err) &&
	   strstr(err.message, "invalid segment size") != NULL,
	   "no size from the caller, an invalid one in the header: %s", err.message);

	/* not a page header of this version */
	pageMake(&page, 1, UINT64CONST(0x1B000000), 16 * MB, SYSID);
	page.std.xlp_magic ^= 1;
	ok(!headerCheck("00000001000000000000001B", &page, 16 * MB, SYSID, NULL, &err) &&
	   strstr(err.message, "page header of this server version") != NULL,
	   "another magic: %s", err.message);
	page.std.xlp_magic ^= 1;
	page.std.xlp_info = 0;
	ok(!headerCheck("00000001000000000000001B", &page, 16 * MB, SYSID, NULL, &err),
	   "a short page header where the long one must be");
	drErrorClear(&err);
	ok(!walSegmentHeaderCheck("00000001000000000000001B", &page, 20, 16 * MB, SYSID,
							  NULL, &err) && strstr(err.message, "too short") != NULL,
	   "20 bytes: %s", err.message);
}

int
main(void)
{
	char		name[WAL_NAME_LEN + 1];
	uint32		tli;
	uint64		segno;
	DrError		err;
	WalHistory *h;

	/* names */
	walSegmentName(name, 1, 1, 16 * MB);
	is_str(name, "000000010000000000000001", "segment 1 of timeline 1");
	walSegmentName(name, 3, 256 + 5, 16 * MB);
	is_str(name, "000000030000000100000005", "16 MB: 256 segments per log");
	walSegmentName(name, 2, 9, 1024 * MB);
	is_str(name, "000000020000000200000001", "1 GB: 4 segments per log");
	ok(walSegmentNameParse("0000000A00000001000000FF", 16 * MB, &tli, &segno) &&
	   tli == 10 && segno == 256 + 255, "parse: timeline and segment number");
	ok(!walSegmentNameParse("000000010000000100000100", 16 * MB, &tli, &segno),
	   "parse: segment part beyond the log refused");
	ok(!walSegmentNameParse("00000001000000010000000a", 16 * MB, &tli, &segno),
	   "parse: lower-case refused");
	ok(!walSegmentNameParse("00000001000000010000000", 16 * MB, &tli, &segno),
	   "parse: short name refused");
	ok(!walSegmentNameParse("000000010000000100000001.partial", 16 * MB, &tli, &segno),
	   "parse: .partial is not a segment");
	ok(walSegmentSizeValid(16 * MB) && walSegmentSizeValid(MB) &&
	   walSegmentSizeValid(1024 * MB) && !walSegmentSizeValid(3 * MB) &&
	   !walSegmentSizeValid(512 * 1024), "segment sizes");
	ok(walHistoryNameParse("0000000B.history", &tli) && tli == 11,
	   "history name");
	ok(!walHistoryNameParse("0000000b.history", &tli) &&
	   !walHistoryNameParse("0000000B.histor", &tli), "bad history names");

	/* histories */
	h = parse("# comment\n\n1\t0/5000000\tno recovery target specified\n", 2, &err);
	ok(h != NULL, "one ancestor parses");
	if (h)
	{
		is_int(h->count, 2, "two timelines");
		ok(h->timelines[0].tli == 1 && h->timelines[0].begin == 0 &&
		   h->timelines[0].end == 0x5000000, "timeline 1 ends at the switch point");
		ok(h->timelines[1].tli == 2 && h->timelines[1].begin == 0x5000000 &&
		   h->timelines[1].end == WAL_LSN_END, "timeline 2 begins there, no end");

		/* switch point on a segment boundary: segment 5 is timeline 2's */
		is_int(walHistoryTimelineOf(h, 4, 16 * MB), 1, "segment 4 from timeline 1");
		is_int(walHistoryTimelineOf(h, 5, 16 * MB), 2, "segment 5 from timeline 2");
		is_int(walHistoryTimelineOf(h, 9, 16 * MB), 2, "segment 9 from timeline 2");
		ok(walHistoryReaches(h, 1, 0x4FFFFFF), "a backup before the switch reaches timeline 2");
		ok(!walHistoryReaches(h, 1, 0x5000000), "a backup at the switch point on timeline 1 does not");
		ok(walHistoryReaches(h, 2, 0x5000000), "one on timeline 2 does");
		ok(!walHistoryReaches(h, 3, 0x6000000), "an unknown timeline does not");
		walHistoryFree(h);
	}

	/* switch point inside a segment, several switches, spaces, lower case */
	h = parse("1 0/3000128 a\n  2\t0/7a00000\tb\r\n4\t1/20\n", 5, &err);
	ok(h != NULL && h->count == 4, "three ancestors with any whitespace");
	if (h)
	{
		is_int(walHistoryTimelineOf(h, 2, 16 * MB), 1, "segment 2: timeline 1");
		is_int(walHistoryTimelineOf(h, 3, 16 * MB), 2,
			   "segment 3 holds the switch point: the new timeline's copy");
		is_int(walHistoryTimelineOf(h, 7, 16 * MB), 4, "segment 7: timeline 4");
		is_int(walHistoryTimelineOf(h, 255, 16 * MB), 4, "segment 255: timeline 4");
		is_int(walHistoryTimelineOf(h, 256, 16 * MB), 5, "segment 256 (1/0): timeline 5");
		ok(walHistoryFind(h, 3) == NULL, "timeline 3 is not an ancestor");
		walHistoryFree(h);
	}

	h = walHistoryRoot(1);
	is_int(walHistoryTimelineOf(h, 12345, 16 * MB), 1, "root history: always timeline 1");
	ok(walHistoryReaches(h, 1, 0x12345678), "root history reaches itself");
	walHistoryFree(h);

	/* refusals */
	ok(parse("x\t0/1\n", 2, &err) == NULL && err.code == DR_ERR_CORRUPT &&
	   strstr(err.message, "line 1") != NULL, "not a timeline: corrupt, with the line");
	ok(parse("1\n", 2, &err) == NULL, "timeline without switch point");
	ok(parse("1\t0/\n", 2, &err) == NULL, "switch point without low part");
	ok(parse("1\t0/5x\n", 2, &err) == NULL, "junk after the switch point");
	ok(parse("1\t0/123456789\n", 2, &err) == NULL, "more than 8 hex digits");
	ok(parse("2\t0/5\n1\t0/6\n", 3, &err) == NULL &&
	   strstr(err.message, "line 2") != NULL, "timelines must increase");
	ok(parse("1\t0/6\n2\t0/5\n", 3, &err) == NULL, "switch points must not go back");
	ok(parse("1\t0/6\n2\t0/7\n", 2, &err) == NULL, "ancestors must be older than the timeline");
	ok(parse("4294967296\t0/5\n", 5, &err) == NULL, "timeline beyond 32 bits");
	h = parse("", 1, &err);
	ok(h != NULL && h->count == 1 && h->timelines[0].tli == 1, "empty file: the timeline alone");
	walHistoryFree(h);

	testHeaderCheck();
	return tapDone();
}
