/*-------------------------------------------------------------------------
 * test_lock.c
 *	  Unit tests of the pure parts of src/repo/repo_lock.c.
 *
 * Covers: repoLockNameParse (a heartbeat's name, other names of a backup
 * directory, sequence 0, lower-case and short names); repoLockFormat and
 * repoLockParse (round trip of a full and an incremental backup's lock;
 * refused: another backup, another sequence, no time, a malformed line,
 * a bad parent; unknown names ignored); repoLockLive (absent, live,
 * expired, future, unparsable); over a posix repository, the protocol:
 * repoLockAcquire (first heartbeat, a second acquire refused),
 * repoLockHeartbeat (not before it is due unless forced, the next one
 * replaces the previous, a lock taken away fails the heartbeat with
 * NOT_FOUND), repoLockRead (no lock, the newest heartbeat, an unparsable
 * one), repoLockTake (taken; not taken when a heartbeat came meanwhile),
 * repoLockRelease (nothing left behind).  Who wrote a heartbeat: host and
 * pid parsed, with the postmaster's start and data directory once
 * repoLockIdentitySet gave them (and read back through repoLockRead);
 * repoLockHolderGone (another host never; this host with the pid gone;
 * pid alive: gone only under another start of the same data directory,
 * not the same start, another data directory, or a holder that did not
 * say; a heartbeat without host or pid never).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <errno.h>
#include <unistd.h>

#include "repo/repo_backup.h"
#include "repo/repo_lock.h"
#include "tap.h"
#include "test_support.h"

static char tmpRoot[] = "/tmp/test_lock.XXXXXX";

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
testHolder(void)
{
	RepoLockState state;
	RepoLockHolder h;
	char	   *text;

	memset(&state, 0, sizeof(state));
	text = repoLockFormat(ID, PARENT, 3, NOW, "db1.example", 4242);
	ok(repoLockParse(text, ID, 3, &state) &&
	   strcmp(state.holder.host, "db1.example") == 0 && state.holder.pid == 4242 &&
	   state.holder.start == 0 && state.holder.dataDir[0] == '\0',
	   "host and pid parsed; no start or data directory written: none");
	pfree(text);
	ok(repoLockParse("backup = " ID "\nsequence = 1\ntime = 5\nhost = h\npid = 7\n"
					 "start = 812345678901234\ndatadir = /srv/pg/15/main\n", ID, 1, &state) &&
	   state.holder.start == INT64CONST(812345678901234) &&
	   strcmp(state.holder.dataDir, "/srv/pg/15/main") == 0,
	   "start and data directory parsed");

	memset(&h, 0, sizeof(h));
	strlcpy(h.host, "db1", sizeof(h.host));
	h.pid = 4242;
	h.start = 100;
	strlcpy(h.dataDir, "/srv/main", sizeof(h.dataDir));
	ok(!repoLockHolderGone(&h, "db2", 100, "/srv/main", false),
	   "another host: never gone, whatever its pid");
	ok(repoLockHolderGone(&h, "db1", 100, "/srv/main", false),
	   "this host, its pid not alive: gone");
	ok(!repoLockHolderGone(&h, "db1", 100, "/srv/main", true),
	   "pid alive under the same postmaster start: not gone");
	ok(repoLockHolderGone(&h, "db1", 200, "/srv/main", true),
	   "pid alive, but another postmaster start of the same data directory: gone");
	ok(!repoLockHolderGone(&h, "db1", 200, "/srv/other", true),
	   "pid alive, another data directory's server: not gone");
	ok(!repoLockHolderGone(&h, "db1", 0, "/srv/main", true),
	   "pid alive, this process has no postmaster start: not gone");
	h.start = 0;
	h.dataDir[0] = '\0';
	ok(!repoLockHolderGone(&h, "db1", 200, "/srv/main", true),
	   "pid alive, a holder that did not say its start: not gone");
	ok(repoLockHolderGone(&h, "db1", 200, "/srv/main", false),
	   "a holder that did not say its start, pid gone: gone");
	h.pid = 0;
	ok(!repoLockHolderGone(&h, "db1", 200, "/srv/main", false),
	   "no pid written: never gone");
	h.pid = 1;
	h.host[0] = '\0';
	ok(!repoLockHolderGone(&h, "", 200, "/srv/main", false),
	   "no host written: never gone");
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

/* Whether backup/ID/lock.<seq> exists in the repository at root. */
static bool
lockExists(const char *root, uint64 seq)
{
	char	   *path = psprintf("%s/backup/%s/lock.%016llX", root, ID,
								(unsigned long long) seq);
	bool		exists = access(path, F_OK) == 0;

	pfree(path);
	return exists;
}

static void
testProtocol(void)
{
	ConfigRepo	config;
	Repo	   *repo;
	RepoLock   *lock;
	RepoLockState state;
	DrError		err;
	bool		taken = false;
	char	   *path;
	FILE	   *f;

	config = testConfigRepo(psprintf("%s/repo", tmpRoot), NULL);
	drErrorClear(&err);
	if (!ok(repoCreate(&config, 1000, &err), "repository created"))
		diag("%s", err.message);
	repo = repoOpen(&config, &err);
	if (!ok(repo != NULL, "repository opened"))
	{
		diag("%s", err.message);
		return;
	}

	ok(repoLockRead(repo, ID, &state, &err) && !state.present,
	   "no directory: no lock");

	lock = repoLockAcquire(repo, ID, PARENT, NOW, &err);
	ok(lock != NULL && lockExists(config.path, 1), "acquire writes heartbeat 1");
	ok(repoLockAcquire(repo, ID, PARENT, NOW, &err) == NULL &&
	   err.code == DR_ERR_EXISTS, "a second acquire of the same backup is refused");
	ok(repoLockRead(repo, ID, &state, &err) && state.present && state.parsed &&
	   state.sequence == 1 && state.time == NOW && strcmp(state.parentId, PARENT) == 0 &&
	   state.count == 1, "read: heartbeat 1, its time and the parent");
	ok(repoLockLive(&state, NOW + REPO_LOCK_EXPIRE - 1) &&
	   !repoLockLive(&state, NOW + REPO_LOCK_EXPIRE), "live until REPO_LOCK_EXPIRE");
	repoLockStateFree(&state);

	ok(repoLockHeartbeat(lock, NOW + REPO_LOCK_HEARTBEAT - 1, false, &err) &&
	   lockExists(config.path, 1) && !lockExists(config.path, 2),
	   "no heartbeat before it is due");
	ok(repoLockHeartbeat(lock, NOW + REPO_LOCK_HEARTBEAT, false, &err) &&
	   !lockExists(config.path, 1) && lockExists(config.path, 2),
	   "the next heartbeat replaces the previous one");
	ok(repoLockHeartbeat(lock, NOW + REPO_LOCK_HEARTBEAT + 1, true, &err) &&
	   lockExists(config.path, 3), "a forced heartbeat is written at once");

	/* an expire read heartbeat 3, then the backup wrote heartbeat 4 */
	ok(repoLockRead(repo, ID, &state, &err) && state.sequence == 3, "read: heartbeat 3");
	ok(repoLockHeartbeat(lock, NOW + 100, false, &err) && lockExists(config.path, 4),
	   "heartbeat 4");
	ok(repoLockTake(repo, ID, &state, &taken, &err) && !taken,
	   "take after a newer heartbeat: not taken (its owner lives)");
	ok(lockExists(config.path, 4), "and heartbeat 4 is still there");
	repoLockStateFree(&state);

	/* an expire takes the lock: the next heartbeat of the backup fails */
	ok(repoLockRead(repo, ID, &state, &err) && state.sequence == 4, "read: heartbeat 4");
	ok(repoLockTake(repo, ID, &state, &taken, &err) && taken, "take: taken");
	repoLockStateFree(&state);
	ok(!repoLockHeartbeat(lock, NOW + 200, true, &err) && err.code == DR_ERR_NOT_FOUND,
	   "the backup's next heartbeat finds its lock taken away");
	ok(strstr(err.message, "was taken away") != NULL, "and says so");
	ok(repoLockRelease(lock, &err) && !lockExists(config.path, 5),
	   "release removes the heartbeat it wrote meanwhile");
	ok(repoLockRead(repo, ID, &state, &err) && !state.present, "nothing left behind");

	/* a heartbeat that cannot be parsed */
	path = psprintf("%s/backup/%s/lock.0000000000000009", config.path, ID);
	f = fopen(path, "w");
	fputs("garbage\n", f);
	fclose(f);
	ok(repoLockRead(repo, ID, &state, &err) && state.present && !state.parsed &&
	   repoLockLive(&state, NOW + 10 * REPO_LOCK_EXPIRE),
	   "an unparsable heartbeat counts as live");
	repoLockStateFree(&state);
	pfree(path);

	/* an ordinary life: acquire, release */
	lock = repoLockAcquire(repo, "20261202-200000F", NULL, NOW, &err);
	ok(lock != NULL && repoLockRelease(lock, &err), "acquire and release");
	ok(repoLockRead(repo, "20261202-200000F", &state, &err) && !state.present,
	   "a released lock leaves no heartbeat");

	/* a server's heartbeat says its postmaster's start and data directory */
	repoLockIdentitySet(INT64CONST(777000111), "/srv/pg/main");
	lock = repoLockAcquire(repo, "20261202-210000F", NULL, NOW, &err);
	ok(lock != NULL && repoLockRead(repo, "20261202-210000F", &state, &err) &&
	   state.parsed && state.holder.pid == (int) getpid() &&
	   state.holder.start == INT64CONST(777000111) &&
	   strcmp(state.holder.dataDir, "/srv/pg/main") == 0,
	   "read back: this process, its postmaster start and data directory");
	repoLockStateFree(&state);
	ok(lock != NULL && repoLockRelease(lock, &err), "released");
	repoLockIdentitySet(0, NULL);
	repoClose(repo);
	pfree(config.path);
}

int
main(void)
{
	testTmpRootMake(tmpRoot);
	testNames();
	testContent();
	testHolder();
	testLive();
	testProtocol();
	testTreeRemove(tmpRoot);
	return tapDone();
}
