/*-------------------------------------------------------------------------
 * test_wal_verify.c
 *	  Unit tests of the pure part of src/archive/wal_verify.c (the walk
 *	  itself runs against real archives in t/020, t/021 and t/065).
 *
 * Covers: walVerifyBehind (another archive reaching further on the same
 * timeline, counted; the same newest segment; one behind the other, not
 * the reverse; the same segment on a newer timeline, one segment; a later
 * segment on an older timeline; across a log boundary; 1 GB segments;
 * empty and malformed names).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "archive/wal_verify.h"
#include "tap.h"

#define MB (1024 * 1024)

static void
testBehind(void)
{
	uint64		count;

	ok(walVerifyBehind("000000010000000000000010", "000000010000000000000013",
					   16 * MB, &count) && count == 3,
	   "three segments further on the same timeline: behind by 3");
	ok(!walVerifyBehind("000000010000000000000013", "000000010000000000000010",
						16 * MB, &count) && count == 0,
	   "the archive that reaches further is not behind");
	ok(!walVerifyBehind("000000010000000000000013", "000000010000000000000013",
						16 * MB, &count) && count == 0,
	   "the same newest segment: not behind");
	ok(walVerifyBehind("000000010000000000000013", "000000020000000000000013",
					   16 * MB, &count) && count == 1,
	   "the same segment on a newer timeline: behind by that segment");
	ok(!walVerifyBehind("000000020000000000000013", "000000010000000000000013",
						16 * MB, &count),
	   "the same segment on an older timeline: not behind");
	ok(walVerifyBehind("000000020000000000000013", "000000010000000000000015",
					   16 * MB, &count) && count == 2,
	   "a later segment on an older timeline: behind by the segments between");
	ok(walVerifyBehind("0000000100000000000000FF", "000000010000000100000001",
					   16 * MB, &count) && count == 2,
	   "across a log boundary (256 segments of 16 MB)");
	ok(walVerifyBehind("000000010000000000000003", "000000010000000100000000",
					   1024 * MB, &count) && count == 1,
	   "1 GB segments: four to a log");
	ok(!walVerifyBehind("", "000000010000000000000013", 16 * MB, &count) &&
	   count == 0, "an empty archive's name: nothing to compare");
	ok(!walVerifyBehind("000000010000000000000013", "", 16 * MB, &count),
	   "against an empty name: nothing");
	ok(!walVerifyBehind("000000010000000000000013", "00000001.history",
						16 * MB, &count),
	   "a name that is not a segment's: nothing");
}

int
main(void)
{
	testBehind();
	return tapDone();
}
