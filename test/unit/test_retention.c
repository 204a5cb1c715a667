/*-------------------------------------------------------------------------
 * test_retention.c
 *	  Unit tests of the retention decisions of src/ops/retention.c.
 *
 * Covers: retentionBackupsDecide (policy unset keeps everything; the N
 * newest fulls kept with their incrementals, chains of incrementals,
 * retention_full_days keeping a young full beyond N, a broken chain
 * before and after the oldest kept full, N larger than the number of
 * fulls, the parent chain of a running backup kept whatever the policy);
 * retentionWalRemovable (segments before and after the start,
 * .partial and .backup files, history files and unknown names kept,
 * newer timelines kept, older timelines on and off the history path,
 * unknown history kept conservatively, 1 GB segments);
 * unreadable manifests (everything older than the newest unreadable
 * backup kept, an incremental on top of one kept, newer backups still
 * under the policy); retentionKeepChain; retentionOrphanRemovable (the
 * running backup, a live lock on an old directory, an expired or absent
 * lock on an old or young directory, an unparsable lock, a heartbeat from
 * the future).  Legal holds: retentionKeepHeld (a held full beyond the
 * policy kept with nothing else, a held incremental with its chain, which
 * backups only a hold keeps, a held backup the policy keeps anyway, an
 * unknown id); WAL ranges of held backups (kept on their timeline only,
 * ends inclusive); the hold object's text (round trip, forever, every
 * malformed line refused) and repoHoldInEffect.  retentionPolicyChoose
 * (the repository's policy first, the tier's next, none; a whole policy
 * from one place; unset and negative values; a tier that could not be
 * read: the repository's policy, else unknown).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "ops/retention.h"
#include "repo/repo_hold.h"
#include "tap.h"

#define SEG16		(16 * 1024 * 1024)
#define DAY			86400
#define NOW			((int64) 1700000000)

static void
header(ManifestHeader *h, const char *id, const char *parent, int64 age)
{
	memset(h, 0, sizeof(*h));
	strlcpy(h->backupId, id, sizeof(h->backupId));
	h->incremental = parent != NULL;
	strlcpy(h->parentId, parent ? parent : "", sizeof(h->parentId));
	h->startTime = NOW - age;
	h->segmentSize = SEG16;
	h->timeline = 1;
}

/* "1100" for keep = {true, true, false, false} */
static char *
keepString(const bool *keep, int count)
{
	char	   *s = palloc(count + 1);

	for (int i = 0; i < count; i++)
		s[i] = keep[i] ? '1' : '0';
	s[count] = '\0';
	return s;
}

static void
testBackups(void)
{
	ManifestHeader h[9];
	bool		keep[9];
	RetentionPolicy policy = {.fullCount = 0, .now = NOW};
	int			removed;

	/* F1 I1a I1b(of I1a) F2 I2a F3 I3a I3b(of I3a) I3c(of F3) */
	header(&h[0], "F1", NULL, 40 * DAY);
	header(&h[1], "I1a", "F1", 39 * DAY);
	header(&h[2], "I1b", "I1a", 38 * DAY);
	header(&h[3], "F2", NULL, 20 * DAY);
	header(&h[4], "I2a", "F2", 19 * DAY);
	header(&h[5], "F3", NULL, 2 * DAY);
	header(&h[6], "I3a", "F3", DAY);
	header(&h[7], "I3b", "I3a", DAY / 2);
	header(&h[8], "I3c", "F3", 60);

	removed = retentionBackupsDecide(h, 9, &policy, keep);
	is_int(removed, 0, "unset policy removes nothing");
	is_str(keepString(keep, 9), "111111111", "unset policy keeps all");

	policy.fullCount = 2;
	removed = retentionBackupsDecide(h, 9, &policy, keep);
	is_int(removed, 3, "2 fulls: the oldest full and its chain go");
	is_str(keepString(keep, 9), "000111111", "2 fulls: chains follow their full");

	policy.fullCount = 1;
	removed = retentionBackupsDecide(h, 9, &policy, keep);
	is_int(removed, 5, "1 full: two chains go");
	is_str(keepString(keep, 9), "000001111", "1 full: newest chain kept");

	policy.fullDays = 30;
	removed = retentionBackupsDecide(h, 9, &policy, keep);
	is_str(keepString(keep, 9), "000111111",
		   "days: a full younger than 30 days kept beyond N");
	is_int(removed, 3, "days: count");

	policy.fullDays = 1;
	retentionBackupsDecide(h, 9, &policy, keep);
	is_str(keepString(keep, 9), "000001111", "days: an older full still goes");

	policy.fullDays = 0;
	policy.fullCount = 5;
	removed = retentionBackupsDecide(h, 9, &policy, keep);
	is_int(removed, 0, "N beyond the number of fulls keeps all");

	/* a backup running on top of an old one keeps it, and its ancestors */
	policy.fullCount = 1;
	policy.keepChainOf = "I1b";
	removed = retentionBackupsDecide(h, 9, &policy, keep);
	is_str(keepString(keep, 9), "111001111",
		   "the running backup's parent I1b, I1a and F1 kept; F2's chain goes");
	is_int(removed, 2, "running parent: count");
	policy.keepChainOf = "F2";
	retentionBackupsDecide(h, 9, &policy, keep);
	is_str(keepString(keep, 9), "000101111", "a full parent alone, not its children");
	policy.keepChainOf = "gone";
	retentionBackupsDecide(h, 9, &policy, keep);
	is_str(keepString(keep, 9), "000001111", "an unknown parent changes nothing");
	policy.keepChainOf = NULL;

	/* broken chains: parents not in the repository */
	policy.fullCount = 1;
	strlcpy(h[1].parentId, "gone", sizeof(h[1].parentId));
	strlcpy(h[6].parentId, "gone", sizeof(h[6].parentId));
	retentionBackupsDecide(h, 9, &policy, keep);
	ok(!keep[1] && !keep[2], "orphan incremental before the oldest kept full goes (and its child)");
	ok(keep[6] && keep[7], "orphan incremental after the oldest kept full kept (and its child)");

	/* nothing but incrementals (all orphans), a policy set */
	header(&h[0], "I", "gone", DAY);
	removed = retentionBackupsDecide(h, 1, &policy, keep);
	ok(removed == 1 && !keep[0], "orphans without any full go");
	removed = retentionBackupsDecide(h, 0, &policy, keep);
	is_int(removed, 0, "no backup: nothing");
}

static void
testWal(void)
{
	RetentionWalKeep keep = {0};
	DrError		err;
	WalHistory *history3;
	const char *text3 = "1\t0/5000000\tno recovery target\n"
		"2\t0/9000000\tno recovery target\n";

	/* the oldest kept backup starts in segment 0x10 of timeline 1 */
	keep.segSize = SEG16;
	keep.startSegno = 0x10;
	keep.tli = 1;
	keep.history = NULL;

	ok(retentionWalRemovable("00000001000000000000000F", &keep), "segment before the start goes");
	ok(retentionWalRemovable("000000010000000000000001", &keep), "old segment goes");
	ok(!retentionWalRemovable("000000010000000000000010", &keep), "start segment kept");
	ok(!retentionWalRemovable("000000010000000100000000", &keep), "later log kept");
	ok(retentionWalRemovable("00000001000000000000000F.partial", &keep), "old .partial goes");
	ok(!retentionWalRemovable("000000010000000000000010.partial", &keep), ".partial at the start kept");
	ok(retentionWalRemovable("00000001000000000000000E.00000028.backup", &keep), "old .backup goes");
	ok(!retentionWalRemovable("000000010000000000000010.00000028.backup", &keep), ".backup at the start kept");
	ok(retentionWalRemovable("00000001000000000000000F.summary", &keep), "old WAL summary goes");
	ok(!retentionWalRemovable("000000010000000000000010.summary", &keep), "WAL summary at the start kept");
	ok(!retentionWalRemovable("00000001000000000000000F.summaryx", &keep), "a name longer than a summary's kept");
	ok(!retentionWalRemovable("00000002.history", &keep), "history file kept");
	ok(!retentionWalRemovable("000000020000000000000001", &keep), "newer timeline kept, even early");
	ok(!retentionWalRemovable("00000001000000000000000F.junk", &keep), "unknown suffix kept");
	ok(!retentionWalRemovable("00000001000000000000000F.0000002G.backup", &keep), "bad .backup kept");
	ok(!retentionWalRemovable("0000000100000000000000", &keep), "short name kept");
	ok(!retentionWalRemovable("00000001000000000000010F", &keep), "invalid segment name kept");
	ok(!retentionWalRemovable("README", &keep), "other name kept");

	/* the oldest kept backup is on timeline 3, which came from 1 then 2 */
	history3 = walHistoryParse(text3, strlen(text3), 3, "00000003.history", &err);
	if (!ok(history3 != NULL, "history parses"))
		diag("%s", err.message);
	keep.tli = 3;
	keep.startSegno = 0x0A;
	keep.history = history3;
	ok(retentionWalRemovable("000000030000000000000009", &keep), "T0 before the start goes");
	ok(!retentionWalRemovable("00000003000000000000000A", &keep), "T0 at the start kept");
	ok(retentionWalRemovable("000000020000000000000009", &keep), "ancestor before the start goes");
	ok(!retentionWalRemovable("00000002000000000000000A", &keep), "ancestor at/after the start kept");
	ok(!retentionWalRemovable("00000001000000000000000B", &keep), "older ancestor after the start kept");
	ok(!retentionWalRemovable("000000040000000000000001", &keep), "timeline newer than T0 kept");
	ok(!retentionWalRemovable("00000004.history", &keep), "history kept");

	/* a timeline below T0 that is not its ancestor */
	{
		const char *text5 = "1\t0/5000000\tx\n3\t0/9000000\tx\n";
		WalHistory *history5 = walHistoryParse(text5, strlen(text5), 5,
											   "00000005.history", &err);

		keep.tli = 5;
		keep.history = history5;
		ok(retentionWalRemovable("00000002000000000000000B", &keep),
		   "abandoned timeline after the start goes");
		ok(!retentionWalRemovable("00000003000000000000000B", &keep),
		   "ancestor timeline after the start kept");
		keep.history = NULL;
		ok(!retentionWalRemovable("00000002000000000000000B", &keep),
		   "unknown history: kept after the start");
		ok(retentionWalRemovable("000000020000000000000009", &keep),
		   "unknown history: before the start goes");
		walHistoryFree(history5);
	}
	walHistoryFree(history3);

	/* 1 GB segments: 4 per log */
	keep.segSize = 1024 * 1024 * 1024;
	keep.tli = 1;
	keep.startSegno = 5;	/* log 1, seg 1 */
	keep.history = NULL;
	ok(retentionWalRemovable("000000010000000100000000", &keep), "1 GB: before the start goes");
	ok(!retentionWalRemovable("000000010000000100000001", &keep), "1 GB: start kept");
}

static void
testUnreadable(void)
{
	ManifestHeader h[6];
	bool		keep[6];
	const char *unreadable[2];
	RetentionPolicy policy = {.fullCount = 1, .now = NOW};
	int			removed;

	/*
	 * F1 I1(F1) F2 [U: unreadable, between F2 and I2] I2(U) F3 I3(F3): ids
	 * are start times, so "older than U" is "id before U's".
	 */
	header(&h[0], "20260101-000000F", NULL, 40 * DAY);
	header(&h[1], "20260102-000000I", "20260101-000000F", 39 * DAY);
	header(&h[2], "20260110-000000F", NULL, 30 * DAY);
	header(&h[3], "20260121-000000I", "20260120-000000F", 19 * DAY);
	header(&h[4], "20260201-000000F", NULL, 10 * DAY);
	header(&h[5], "20260202-000000I", "20260201-000000F", 9 * DAY);

	removed = retentionBackupsDecide(h, 6, &policy, keep);
	is_str(keepString(keep, 6), "000011", "readable: only the newest chain kept");
	is_int(removed, 4, "readable: count");

	unreadable[0] = "20260120-000000F";
	policy.unreadable = unreadable;
	policy.unreadableCount = 1;
	removed = retentionBackupsDecide(h, 6, &policy, keep);
	is_str(keepString(keep, 6), "111111",
		   "unreadable U: everything older kept, and the incremental on top of U");
	is_int(removed, 0, "unreadable U: nothing removed");

	/* an unreadable backup older than everything: the policy applies above it */
	unreadable[0] = "20251201-000000F";
	removed = retentionBackupsDecide(h, 6, &policy, keep);
	is_str(keepString(keep, 6), "000011",
		   "an oldest unreadable backup protects nothing newer");
	is_int(removed, 4, "oldest unreadable: count");

	/* two: the newest one decides */
	unreadable[0] = "20260105-000000I";
	unreadable[1] = "20260115-000000I";
	policy.unreadableCount = 2;
	retentionBackupsDecide(h, 6, &policy, keep);
	is_str(keepString(keep, 6), "111111",
		   "two unreadable: everything older than the newest kept (and I2, a broken chain newer than a kept full)");

	/* no policy: the unreadable list changes nothing */
	policy.fullCount = 0;
	removed = retentionBackupsDecide(h, 6, &policy, keep);
	is_int(removed, 0, "unset policy with unreadable: nothing removed");

	/* the chain of a running backup's parent (read from its lock) */
	policy.fullCount = 1;
	policy.unreadableCount = 0;
	retentionBackupsDecide(h, 6, &policy, keep);
	retentionKeepChain(h, 6, "20260102-000000I", keep);
	is_str(keepString(keep, 6), "110011", "retentionKeepChain: I1 and F1 kept");
}

static void
testOrphans(void)
{
	RepoLockState lock;
	const int64 old = NOW - 2 * 3600;
	const int64 young = NOW - 60;

	memset(&lock, 0, sizeof(lock));
	ok(retentionOrphanRemovable(old, &lock, false, NOW),
	   "no lock, directory older than the age: removed");
	ok(retentionOrphanRemovable(old, NULL, false, NOW),
	   "no lock state at all: the same");
	ok(!retentionOrphanRemovable(young, &lock, false, NOW),
	   "no lock, young directory: kept");
	ok(!retentionOrphanRemovable(old, &lock, true, NOW),
	   "the backup this server runs: kept whatever its age");

	lock.present = true;
	lock.parsed = true;
	lock.sequence = 7;
	lock.time = NOW - 30;
	ok(!retentionOrphanRemovable(old, &lock, false, NOW),
	   "live lock (heartbeat 30 s ago) on a directory that looks 2 hours old: kept");
	lock.time = NOW - REPO_LOCK_EXPIRE + 1;
	ok(!retentionOrphanRemovable(old, &lock, false, NOW),
	   "heartbeat just younger than the expiry: kept");
	lock.time = NOW - REPO_LOCK_EXPIRE;
	ok(retentionOrphanRemovable(old, &lock, false, NOW),
	   "heartbeat exactly the expiry ago: expired, removed");
	lock.time = NOW - 3600;
	ok(retentionOrphanRemovable(old, &lock, false, NOW),
	   "expired lock on an old directory: removed");
	ok(!retentionOrphanRemovable(young, &lock, false, NOW),
	   "expired lock on a young directory: kept");
	lock.time = NOW + 300;
	ok(!retentionOrphanRemovable(old, &lock, false, NOW),
	   "heartbeat from the future (clock skew): live");
	lock.parsed = false;
	lock.time = 0;
	ok(!retentionOrphanRemovable(old, &lock, false, NOW),
	   "a lock that cannot be parsed keeps its directory");
}

static void
testHolds(void)
{
	ManifestHeader h[6];
	bool		keep[6];
	bool		heldOnly[6];
	RetentionPolicy policy = {.fullCount = 1, .now = NOW};
	const char *held[2];

	/* F1 I1 I2 F2 I3 F3: one full kept by the policy (F3) */
	header(&h[0], "20240101-000000F", NULL, 50 * DAY);
	header(&h[1], "20240102-000000I", "20240101-000000F", 49 * DAY);
	header(&h[2], "20240103-000000I", "20240102-000000I", 48 * DAY);
	header(&h[3], "20240110-000000F", NULL, 40 * DAY);
	header(&h[4], "20240111-000000I", "20240110-000000F", 39 * DAY);
	header(&h[5], "20240120-000000F", NULL, 30 * DAY);
	retentionBackupsDecide(h, 6, &policy, keep);
	is_str(keepString(keep, 6), "000001", "the policy keeps the newest full");

	held[0] = "20240102-000000I";
	retentionKeepHeld(h, 6, held, 1, keep, heldOnly);
	is_str(keepString(keep, 6), "110001", "a held incremental is kept with its chain, not its child");
	is_str(keepString(heldOnly, 6), "110000", "only the hold keeps F1 and I1");

	retentionBackupsDecide(h, 6, &policy, keep);
	held[0] = "20240110-000000F";
	held[1] = "20240120-000000F";
	retentionKeepHeld(h, 6, held, 2, keep, heldOnly);
	is_str(keepString(keep, 6), "000101", "a held full beyond the policy is kept alone");
	is_str(keepString(heldOnly, 6), "000100", "a held backup the policy keeps is not 'held only'");

	retentionBackupsDecide(h, 6, &policy, keep);
	held[0] = "20991231-000000F";
	retentionKeepHeld(h, 6, held, 1, keep, NULL);
	is_str(keepString(keep, 6), "000001", "a hold naming no listed backup keeps nothing more");

	/* WAL: the policy keeps from segment 0x40 of timeline 2; two held ranges */
	{
		RetentionWalRange ranges[2] = {{1, 0x10, 0x12}, {2, 0x20, 0x20}};
		RetentionWalKeep wal = {0};

		wal.segSize = SEG16;
		wal.startSegno = 0x40;
		wal.tli = 2;
		wal.ranges = ranges;
		wal.rangeCount = 2;
		ok(retentionWalRemovable("00000001000000000000000F", &wal), "held range: the segment before it goes");
		ok(!retentionWalRemovable("000000010000000000000010", &wal), "held range: its first segment kept");
		ok(!retentionWalRemovable("000000010000000000000012", &wal), "held range: its last segment kept");
		ok(!retentionWalRemovable("000000010000000000000011.00000028.backup", &wal), "held range: its backup file kept");
		ok(retentionWalRemovable("000000010000000000000013", &wal), "held range: the segment after it goes");
		ok(retentionWalRemovable("000000020000000000000010", &wal), "held range: the same numbers on another timeline go");
		ok(!retentionWalRemovable("000000020000000000000020", &wal), "a one-segment range kept");
		ok(retentionWalRemovable("000000020000000000000021", &wal), "between a range and the start: goes");
		ok(!retentionWalRemovable("000000020000000000000040", &wal), "the policy's start still kept");
	}
}

static void
testHoldText(void)
{
	RepoHold	hold = {0};
	RepoHold	back;
	StringInfoData text;
	DrError		err;
	const char *bad[] = {
		"",
		"pg_dr-hold 2\nuntil 5\nset-at 1\n",
		"pg_dr-hold 1\nuntil soon\nset-at 1\n",
		"pg_dr-hold 1\nuntil -5\nset-at 1\n",
		"pg_dr-hold 1\nuntil 05\nset-at 1\n",
		"pg_dr-hold 1\nset-at 1\nuntil 5\n",
		"pg_dr-hold 1\nuntil 5\nset-at 1",
		"pg_dr-hold 1\nuntil 5\nset-at 1\nextra\n",
		"pg_dr-hold 1\nuntil 5\nset-at 99999999999999999999\n",
	};

	hold.present = true;
	hold.until = NOW + DAY;
	hold.setAt = NOW;
	initStringInfo(&text);
	repoHoldFormat(&hold, &text);
	is_str(text.data, "pg_dr-hold 1\nuntil 1700086400\nset-at 1700000000\n", "the hold's text");
	ok(repoHoldParse(text.data, text.len, &back, &err) && back.present &&
	   !back.forever && back.until == hold.until && back.setAt == NOW, "it reads back");
	ok(repoHoldInEffect(&back, NOW) && !repoHoldInEffect(&back, NOW + DAY) &&
	   !repoHoldInEffect(&back, NOW + 2 * DAY), "in effect before its end only");

	resetStringInfo(&text);
	hold.forever = true;
	repoHoldFormat(&hold, &text);
	is_str(text.data, "pg_dr-hold 1\nuntil infinity\nset-at 1700000000\n", "a hold for ever");
	ok(repoHoldParse(text.data, text.len, &back, &err) && back.forever &&
	   repoHoldInEffect(&back, INT64CONST(0x7fffffffffff)), "for ever is in effect at any time");
	memset(&back, 0, sizeof(back));
	ok(!repoHoldInEffect(&back, NOW), "no hold is not in effect");

	for (int i = 0; i < (int) lengthof(bad); i++)
		ok(!repoHoldParse(bad[i], strlen(bad[i]), &back, &err) &&
		   err.code == DR_ERR_CORRUPT && !back.present,
		   "malformed hold %d refused (%s)", i, err.message);
}

typedef struct PolicyCase
{
	const char *name;
	int			repoFull,
				repoDays,
				tierFull,
				tierDays;
	bool		tierKnown;
	RetentionPolicySource source;
	int			full,
				days;
} PolicyCase;

static const PolicyCase policyCases[] = {
	{"nothing set: no policy", 0, 0, 0, 0, true, RETENTION_POLICY_NONE, 0, 0},
	{"the repository's count", 3, 0, 0, 0, true, RETENTION_POLICY_REPOSITORY, 3, 0},
	{"the repository's count and days", 3, 7, 0, 0, true, RETENTION_POLICY_REPOSITORY, 3, 7},
	{"the repository's wins over the tier's", 3, 0, 10, 30, true, RETENTION_POLICY_REPOSITORY, 3, 0},
	{"the tier's when the repository sets no count", 0, 0, 10, 30, true, RETENTION_POLICY_TIER, 10, 30},
	{"repository days without a count: the tier's whole policy", 0, 7, 10, 30, true, RETENTION_POLICY_TIER, 10, 30},
	{"tier days without a count: no policy", 0, 0, 0, 30, true, RETENTION_POLICY_NONE, 0, 0},
	{"negative values are unset", -1, -5, 2, -3, true, RETENTION_POLICY_TIER, 2, 0},
	{"tier unknown, the repository's count: the repository's", 3, 7, 0, 0, false, RETENTION_POLICY_REPOSITORY, 3, 7},
	{"tier unknown, no count of the repository: unknown, nothing removed", 0, 7, 0, 0, false, RETENTION_POLICY_UNKNOWN, 0, 0},
	{"tier unknown: its values (stale, say) are not used", 0, 0, 2, 5, false, RETENTION_POLICY_UNKNOWN, 0, 0},
};

static void
testPolicyChoose(void)
{
	for (int i = 0; i < (int) lengthof(policyCases); i++)
	{
		const PolicyCase *c = &policyCases[i];
		RetentionPolicy p;
		RetentionPolicySource src;

		memset(&p, 0x7f, sizeof(p));
		src = retentionPolicyChoose(c->repoFull, c->repoDays, c->tierFull, c->tierDays,
									c->tierKnown, &p);
		is_int(src, c->source, "%s: source", c->name);
		is_int(p.fullCount, c->full, "%s: full count", c->name);
		is_int(p.fullDays, c->days, "%s: full days", c->name);
	}
}

int
main(void)
{
	testPolicyChoose();
	testBackups();
	testWal();
	testUnreadable();
	testOrphans();
	testHolds();
	testHoldText();
	return tapDone();
}
