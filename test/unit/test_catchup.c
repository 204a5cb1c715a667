/*-------------------------------------------------------------------------
 * test_catchup.c
 *	  Unit tests of the catch-up duty's decisions (src/ops/catchup_decide.c).
 *
 * Covers: catchupMissing (nothing missing; a target missing files held
 * by one or two others, in name order, with the sources of each; a name
 * only in a later list; the bound on what is written while the lag
 * counts everything; segments counted at the segment size, other files
 * at their size; an unknown target; unknown sources ignored; an empty
 * target missing everything; a floor: older names not missed, history
 * files missed whatever the floor); catchupSourceOrder (required first, then
 * by number, never the target); catchupNewestSegment (history and
 * .partial names skipped, none); catchupIsSegment.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "ops/catchup_decide.h"
#include "tap.h"

#define SEG1	"000000010000000000000001"
#define SEG2	"000000010000000000000002"
#define SEG3	"000000010000000000000003"
#define HIST2	"00000002.history"
#define SEG4T2	"000000020000000000000004"

static CatchupList
list(char **names, uint64 *sizes, int count)
{
	CatchupList l;

	l.names = names;
	l.sizes = sizes;
	l.count = count;
	return l;
}

static void
testMissing(void)
{
	char	   *n1[] = {SEG1, SEG2, SEG3, HIST2};
	uint64		s1[] = {100, 100, 100, 40};
	char	   *n2[] = {SEG1, SEG3};
	uint64		s2[] = {90, 90};
	char	   *n3[] = {SEG2, SEG4T2};
	uint64		s3[] = {80, 80};
	CatchupList l1 = list(n1, s1, 4);
	CatchupList l2 = list(n2, s2, 2);
	CatchupList l3 = list(n3, s3, 2);
	CatchupList empty = list(NULL, NULL, 0);
	const CatchupList *lists[CONFIG_REPO_MAX + 1] = {NULL, &l1, &l2, NULL, NULL};
	CatchupMissing out[8];
	CatchupLag lag;
	int			n;

	n = catchupMissing(lists, 1, 16 * 1024 * 1024, NULL, out, 8, &lag);
	is_int(n, 0, "repo1 holds everything repo2 holds: nothing missing");
	is_int(lag.count, 0, "... no lag");
	is_int(lag.bytes, 0, "... no bytes");

	n = catchupMissing(lists, 2, 16 * 1024 * 1024, NULL, out, 8, &lag);
	is_int(n, 2, "repo2 misses two files of repo1");
	is_str(out[0].name, SEG2, "the segment first (name order)");
	is_str(out[1].name, HIST2, "then the history file");
	is_int(out[0].sources, 1 << 1, "held by repo1");
	is_int(lag.count, 2, "lag: two files");
	is_int(lag.bytes, 16 * 1024 * 1024 + 40,
		   "a segment counts the segment size, a history file its size");

	lists[3] = &l3;
	n = catchupMissing(lists, 2, 16 * 1024 * 1024, NULL, out, 8, &lag);
	is_int(n, 3, "with repo3: repo2 also misses a segment only repo3 has");
	is_str(out[0].name, SEG2, "the segment both hold first");
	is_int(out[0].sources, (1 << 1) | (1 << 3), "... held by repo1 and repo3");
	is_str(out[2].name, SEG4T2, "the later timeline's segment last");
	is_int(out[2].sources, 1 << 3, "... held by repo3 only");

	n = catchupMissing(lists, 2, 16 * 1024 * 1024, NULL, out, 1, &lag);
	is_int(n, 1, "bounded: one written");
	is_int(lag.count, 3, "... the lag counts all three");

	n = catchupMissing(lists, 2, 16 * 1024 * 1024, NULL, out, 0, &lag);
	is_int(n, 0, "max 0: none written");
	is_int(lag.count, 3, "... the lag still counted");

	n = catchupMissing(lists, 4, 16 * 1024 * 1024, NULL, out, 8, &lag);
	is_int(n, 0, "a repository not known misses nothing");
	is_int(lag.count, 0, "... and has no lag");

	lists[4] = &empty;
	n = catchupMissing(lists, 4, 0, NULL, out, 8, &lag);
	is_int(n, 5, "an empty repository misses the union of the others");
	is_int(lag.bytes, 100 + 100 + 100 + 80 + 40,
		   "segment size unknown (0): sizes counted as listed");
	is_str(out[0].name, SEG1, "in name order: " SEG1);
	is_str(out[4].name, SEG4T2, "... to " SEG4T2);
	is_int(out[0].size, 100, "the size of the first list holding it");

	/* a floor: what sorts before it is the target's own past */
	n = catchupMissing(lists, 4, 16 * 1024 * 1024, SEG3, out, 8, &lag);
	is_int(n, 3, "floor " SEG3 ": older segments not missed");
	is_str(out[0].name, SEG3, "the floor itself is missed");
	is_str(out[1].name, HIST2, "so is what comes after it");
	is_int(lag.count, 3, "the lag counts only those");

	n = catchupMissing(lists, 4, 16 * 1024 * 1024, "000000020000000000000001",
					   out, 8, &lag);
	is_int(n, 2, "floor on timeline 2: timeline 1's segments not missed");
	is_str(out[0].name, HIST2, "a history file below the floor is still missed");
	is_str(out[1].name, SEG4T2, "the segment above the floor is");
}

static void
testSourceOrder(void)
{
	bool		required[CONFIG_REPO_MAX + 1] = {false, false, false, true, false};
	int			order[CONFIG_REPO_MAX];
	int			n;

	n = catchupSourceOrder((1 << 1) | (1 << 2) | (1 << 3) | (1 << 4), required,
						   2, order);
	is_int(n, 3, "three sources besides the target");
	is_int(order[0], 3, "the required one first");
	is_int(order[1], 1, "then by number: repo1");
	is_int(order[2], 4, "... repo4");

	n = catchupSourceOrder(1 << 2, required, 2, order);
	is_int(n, 0, "the target is never its own source");
}

static void
testNewest(void)
{
	char	   *n1[] = {SEG1, SEG2, "000000010000000000000002.partial",
	HIST2};
	CatchupList l1 = list(n1, NULL, 4);
	char	   *n2[] = {HIST2};
	CatchupList l2 = list(n2, NULL, 1);

	is_str(catchupNewestSegment(&l1), SEG2, "newest segment: .partial and history skipped");
	ok(catchupNewestSegment(&l2) == NULL, "no segment: NULL");
	ok(catchupNewestSegment(NULL) == NULL, "no listing: NULL");
	ok(catchupIsSegment(SEG1), "a segment name");
	ok(!catchupIsSegment("000000010000000000000001.partial"), "a .partial is not");
	ok(!catchupIsSegment("00000001000000000000000a"), "lower case is not");
	ok(!catchupIsSegment("00000001000000000000001"), "23 digits are not");
}

int
main(void)
{
	testMissing();
	testSourceOrder();
	testNewest();
	return tapDone();
}
