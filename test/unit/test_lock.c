/*-------------------------------------------------------------------------
 * test_lock.c
 *	  Unit tests of the pure parts of src/repo/repo_lock.c.
 *
 * Covers: repoLockNameParse (a heartbeat's name, other names of a backup
 * directory, sequence 0, lower-case and short names); repoLockFormat and
 * repoLockParse (round trip of a full and an incremental backup's lock;
 * refused: another backup, another sequence, no time, a malformed line,
 * a bad parent; unknown names ignored); repoLockLive (absent, live,
 * expired, future, unparsable).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "repo/repo_lock.h"
#include "tap.h"

#define NOW			((int64) 1700000000)
#define ID			"20261202-193000I"
#define PARENT		"20261202-120000F"

static void
testNames(void)
{
	uint64		seq = 0;

	ok(repoLockNameParse("lock.0000000000000001", &seq) && seq == 1, "first heartbeat");
	ok(repoLockNameParse("lock.00000000000000FF", &seq) && seq == 255, "hex sequence");
	ok(!repoLockNameParse("lock.0000000000000000", &seq), "sequence 0 refused");
	ok(!repoLockNameParse("lock.00000000000000ff", &seq), "lower case refused");
	ok(!repoLockNameParse("lock.000000000000001", &seq), "short name refused");
	ok(!repoLockNameParse("manifest", &seq), "the manifest is no heartbeat");
	ok(!repoLockNameParse("data", &seq), "nor the data directory");
}

static void
testContent(void)
{
	RepoLockState state;
	char	   *text;

	memset(&state, 0, sizeof(state));
	text = repoLockFormat(ID, PARENT, 3, NOW, "db1.example", 4242);
	ok(repoLockParse(text, ID, 3, &state), "round trip parses");
	ok(state.time == NOW, "time read back");
	is_str(state.parentId, PARENT, "parent read back");
	ok(!repoLockParse(text, "20261202-193001F", 3, &state), "another backup's lock refused");
	ok(!repoLockParse(text, ID, 4, &state), "a lock under another sequence refused");
	pfree(text);

	text = repoLockFormat("20261202-193000F", "", 1, NOW, "h", 1);
	ok(repoLockParse(text, "20261202-193000F", 1, &state) && state.parentId[0] == '\0',
	   "a full backup's lock: no parent");
	pfree(text);

	ok(!repoLockParse("backup = " ID "\nsequence = 1\n", ID, 1, &state), "no time refused");
	ok(!repoLockParse("backup = " ID "\nsequence = 1\ntime = -5\n", ID, 1, &state),
	   "negative time refused");
	ok(!repoLockParse("backup = " ID "\nsequence = 1\ntime 5\n", ID, 1, &state),
	   "malformed line refused");
	ok(!repoLockParse("backup = " ID "\nparent = ../x\nsequence = 1\ntime = 5\n", ID, 1, &state),
	   "a parent that is not a backup id refused");
	ok(repoLockParse("backup = " ID "\nsequence = 1\ntime = 5\nfuture = x\n", ID, 1, &state) &&
	   state.time == 5, "unknown names ignored");
}

static void
testLive(void)
{
	RepoLockState state;

	memset(&state, 0, sizeof(state));
	ok(!repoLockLive(&state, NOW), "no lock: not live");
	state.present = true;
	state.parsed = true;
	state.time = NOW - REPO_LOCK_HEARTBEAT;
	ok(repoLockLive(&state, NOW), "a recent heartbeat: live");
	state.time = NOW - REPO_LOCK_EXPIRE;
	ok(!repoLockLive(&state, NOW), "no heartbeat for REPO_LOCK_EXPIRE seconds: expired");
	state.time = NOW + 60;
	ok(repoLockLive(&state, NOW), "a heartbeat from the future: live");
	state.parsed = false;
	state.time = 0;
	ok(repoLockLive(&state, NOW), "unparsable: live (keeps, never loses)");
}

int
main(void)
{
	testNames();
	testContent();
	testLive();
	return tapDone();
}
