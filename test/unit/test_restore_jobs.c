/*-------------------------------------------------------------------------
 * test_restore_jobs.c
 *	  Unit tests of src/restore/restore_jobs.c (the parallel restore job
 *	  engine) and restore_jobs_fork.c (its fork launcher), over a full
 *	  backup written straight into a temporary encrypted repository.
 *
 * Covers: the split, table-driven (one job; largest first onto the job
 * with the fewest bytes; ties by ordinal among equal sizes and by number
 * of files among equal loads, so empty files are spread; more jobs than
 * files; only the largest files placed first, the rest in manifest order;
 * no big files at all), its second pass rewound gives the same jobs, an
 * ordinal out of order is refused, and on 2,000 pseudo-random sizes the
 * loads differ by at most the largest file; restoreFiles through
 * restoreJobRun restores exactly the files the split gives each job (the
 * bytes per job are the split's); the engine with the fork launcher: 1, 2
 * and 4 jobs give identical targets (content, mode, mtime of every file,
 * links, directories) matching the backup, the result counts the files and
 * bytes of every job, progress reaches the host with every job's bytes;
 * a damaged object fails the restore with that job's error and leaves no
 * global/pg_control; a host that cancels (at once, and from a signal while
 * the jobs run) fails it with DR_ERR_CANCELED before the large file is
 * restored, no pg_control, and no child left behind; a number of jobs out
 * of range is refused.  Files in parts (manifest.h): a backup with its
 * files above 1 MB in parts restores in 1, 2 and 4 jobs to the same target
 * as from whole objects, counted once per file; the split gives the parts
 * of one file to several jobs, each job writes the bytes of its units, the
 * file stays under its temporary name until restoreFinish commits it; a
 * damaged part fails the restore (1 and 2 jobs) naming the file, leaving
 * nothing of it.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/manifest.h"
#include "lib/stringinfo.h"
#include "repo/repo.h"
#include "repo/repo_backup.h"
#include "restore/restore.h"
#include "restore/restore_jobs.h"
#include "tap.h"
#include "test_support.h"

#define BACKUP_ID		"20240101-000000F"
#define BIG_SIZE		(32 * 1024 * 1024)

static char tmpRoot[] = "/tmp/test_restore_jobs.XXXXXX";
static Repo *repo;

/* ---------------------------------------------------------------------
 * The split
 * ---------------------------------------------------------------------
 */

typedef struct SplitCase
{
	const char *name;
	int			jobs;
	int			bigMax;
	int			count;
	uint64		sizes[8];
	int			expected[8];	/* the job of each file */
} SplitCase;

static const SplitCase splitCases[] = {
	{"one job: every file on it", 1, 1024, 4,
	{5, 500, 0, 7}, {0, 0, 0, 0}},
	/* 50 -> 0, 40 -> 1, 30 -> 1 (40 < 50), 20 -> 0 (50 < 70), 10 -> 0 (70 = 70, fewer files) */
	{"largest first, onto the job with the fewest bytes", 2, 1024, 5,
	{10, 50, 30, 20, 40}, {0, 0, 1, 0, 1}},
	{"equal sizes: in manifest order, round the jobs", 3, 1024, 4,
	{5, 5, 5, 5}, {0, 1, 2, 0}},
	{"empty files are spread by their number", 2, 1024, 5,
	{0, 0, 0, 0, 0}, {0, 1, 0, 1, 0}},
	{"more jobs than files", 4, 1024, 2,
	{7, 3}, {0, 1}},
	/* big: 100 -> 0, 90 -> 1; then 1 -> 1 (91), 2 -> 1 (93), 3 -> 1 (96), 4 -> 1 (100) */
	{"only the largest placed first, the rest in manifest order", 2, 2, 6,
	{1, 100, 2, 90, 3, 4}, {1, 0, 1, 1, 1, 1}},
	/* 8 -> 0, 4 -> 1, 3 -> 1 (4 < 8), 2 -> 1 (7 < 8), 9 -> 0 (8 < 9) */
	{"no big files: every file on the job with the fewest bytes", 2, 0, 5,
	{8, 4, 3, 2, 9}, {0, 1, 1, 1, 0}},
	/* big: 60 -> 0, 50 -> 1, 40 -> 2; then 10 -> 2 (50), 30 -> 1 (50 = 50, one file less), 5 -> 2 */
	{"big files then the rest, three jobs", 3, 3, 6,
	{60, 10, 50, 30, 40, 5}, {0, 2, 1, 1, 2, 2}},
};

static void
testSplitTable(void)
{
	for (int c = 0; c < (int) lengthof(splitCases); c++)
	{
		const SplitCase *t = &splitCases[c];
		RestoreJobSplit split;
		StringInfoData got;
		bool		same = true;
		bool		again = true;

		restoreJobSplitInit(&split, t->jobs, t->bigMax);
		for (int i = 0; i < t->count; i++)
			restoreJobSplitAdd(&split, t->sizes[i]);
		restoreJobSplitPlace(&split);
		initStringInfo(&got);
		for (int i = 0; i < t->count; i++)
		{
			int			job = restoreJobSplitNext(&split, i, t->sizes[i]);

			appendStringInfo(&got, "%s%d", i ? " " : "", job);
			same &= job == t->expected[i];
		}
		restoreJobSplitRewind(&split);
		for (int i = 0; i < t->count; i++)
			again &= restoreJobSplitNext(&split, i, t->sizes[i]) == t->expected[i];
		if (!ok(same && again, "split: %s", t->name))
			diag("jobs: %s (rewound: %s)", got.data, again ? "same" : "different");
		pfree(got.data);
		restoreJobSplitFree(&split);
	}
}

static void
testSplitProperties(void)
{
	enum
	{
		N = 2000, JOBS = 5
	};
	RestoreJobSplit split;
	uint64	   *sizes = track(palloc(N * sizeof(uint64)));
	uint64		load[JOBS] = {0};
	uint64		seed = 42;
	uint64		largest = 0;
	uint64		total = 0;
	uint64		min = PG_UINT64_MAX;
	uint64		max = 0;
	bool		inRange = true;

	for (int i = 0; i < N; i++)
	{
		/* a few large files among many small ones */
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		sizes[i] = (seed >> 33) % (i % 97 == 0 ? 1000000 : 20000);
		largest = Max(largest, sizes[i]);
		total += sizes[i];
	}
	restoreJobSplitInit(&split, JOBS, 50);
	for (int i = 0; i < N; i++)
		restoreJobSplitAdd(&split, sizes[i]);
	restoreJobSplitPlace(&split);
	ok(restoreJobSplitNext(&split, 1, sizes[1]) == -1,
	   "split: an ordinal out of order is refused");
	for (int i = 0; i < N; i++)
	{
		int			job = restoreJobSplitNext(&split, i, sizes[i]);

		inRange &= job >= 0 && job < JOBS;
		if (job >= 0 && job < JOBS)
			load[job] += sizes[i];
	}
	for (int j = 0; j < JOBS; j++)
	{
		min = Min(min, load[j]);
		max = Max(max, load[j]);
		total -= load[j];
	}
	ok(inRange && total == 0, "split: every file on one job of five");
	if (!ok(max - min <= largest,
			"split: 2,000 files on five jobs differ by at most the largest file"))
		diag("min " UINT64_FORMAT ", max " UINT64_FORMAT ", largest " UINT64_FORMAT,
			 min, max, largest);
	restoreJobSplitFree(&split);
}

/* ---------------------------------------------------------------------
 * The backup
 * ---------------------------------------------------------------------
 */

typedef struct TFile
{
	const char *path;
	size_t		len;
	uint32		mode;
	char	   *content;
} TFile;

static TFile files[] = {
	{"PG_VERSION", 3, 0600, NULL},
	{"base/1/1000", 300 * 1024, 0600, NULL},
	{"base/1/1001", 5 * 1024 * 1024, 0600, NULL},
	{"base/1/1002", 0, 0600, NULL},
	{"base/1/1003", 120 * 1024, 0640, NULL},
	{"base/1/1004", 2 * 1024 * 1024, 0600, NULL},
	{"base/1/1005", 17, 0600, NULL},
	{"base/1/1006", 800 * 1024, 0600, NULL},
	{"base/1/1007", 0, 0600, NULL},
	{"base/1/1008", 64 * 1024, 0600, NULL},
	{"global/1260", 8192, 0600, NULL},
	{"global/pg_control", 8192, 0600, NULL},
	{"pg_xact/0000", 8192, 0600, NULL},
	{"postgresql.conf", 40, 0600, NULL},
};

static const char *const dirs[] = {
	"base", "base/1", "global", "pg_wal", "pg_xact",
};

static uint64 filesBytes;		/* without pg_control: what the jobs write */

/* len bytes of a pattern of seed, palloc'd (not tracked) */
static char *
contentFill(size_t len, int seed)
{
	char	   *buf = palloc(len + 1);

	for (size_t i = 0; i < len; i++)
		buf[i] = (char) ((i * 7 + seed * 13) ^ (i >> 10));
	return buf;
}

static char *
contentMake(size_t len, int seed)
{
	return track(contentFill(len, seed));
}

/*
 * Store content as a file in parts of partSize (manifest.h): each part
 * bound to its name; mf gets the SHA-256 of the parts' digests, their
 * stored size and their number.
 */
static bool
partsWrite(const char *id, const char *content, size_t len, uint64 partSize,
		   const CodecDataKey *key, ManifestFile *mf, DrError *err)
{
	uint32		parts = (uint32) ((len + partSize - 1) / partSize);
	uint8	   *digests = palloc(parts * CODEC_SHA256_SIZE);
	bool		ok = true;

	mf->parts = parts;
	mf->objectSize = 0;
	for (uint32 k = 0; ok && k < parts; k++)
	{
		char	   *path = repoBackupPartPath(id, mf->path, k);
		size_t		from = (size_t) (k * partSize);
		size_t		n = k + 1 < parts ? (size_t) partSize : len - from;
		RepoWriteParam param = {.binding = path};
		RepoObjectWrite *w = repoObjectWriteBeginParam(repo, path, key, &param, err);
		CodecResult result;

		ok = w != NULL && repoObjectWrite(w, content + from, n, err);
		if (!ok && w != NULL)
			repoObjectWriteAbort(w);
		ok = ok && repoObjectWriteEnd(w, &result, err);
		if (ok)
		{
			memcpy(digests + k * CODEC_SHA256_SIZE, result.sha256, CODEC_SHA256_SIZE);
			mf->objectSize += result.storedSize;
		}
		pfree(path);
	}
	ok = ok && codecSha256(digests, parts * CODEC_SHA256_SIZE, mf->sha256, err);
	pfree(digests);
	return ok;
}

/*
 * A full backup of files (plus, when big, one large file) into repo; files
 * larger than partSize (0: none) in parts.
 */
static bool
backupWriteParts(const char *id, bool big, uint64 partSize)
{
	DrError		err;
	const CodecDataKey *key;
	StringInfoData text;
	ManifestWriter *writer;
	ManifestHeader h;
	bool		ok = true;

	if (!repoDataKeyNew(repo, &key, &err))
	{
		diag("key: %s", err.message);
		return false;
	}
	testBackupHeader(&h, id, "jobs", key->id, 8192);
	if (partSize > 0)
		h.partSize = partSize;

	initStringInfo(&text);
	writer = manifestWriterNew(sbWrite, &text);
	ok &= manifestWriteHeader(writer, &h, &err);
	for (int i = 0; ok && i < (int) lengthof(dirs); i++)
	{
		ManifestDir d = {(char *) dirs[i], 0700};

		ok &= manifestWriteDir(writer, &d, &err);
	}
	for (int i = 0; ok && i < (int) lengthof(files) + (big ? 1 : 0); i++)
	{
		TFile		bigFile = {"base/1/big", BIG_SIZE, 0600, NULL};
		const TFile *f;
		ManifestFile mf;
		CodecResult result;
		char	   *path;

		/* the big file goes where its path sorts: after base/1/1008 */
		if (big && i == 10)
		{
			bigFile.content = contentFill(BIG_SIZE, 77);
			f = &bigFile;
		}
		else
			f = &files[big && i > 10 ? i - 1 : i];
		path = repoBackupDataPath(id, f->path);
		memset(&result, 0, sizeof(result));
		memset(&mf, 0, sizeof(mf));
		mf.path = (char *) f->path;
		mf.size = f->len;
		mf.mode = f->mode;
		mf.mtime = 1700000000 + i;
		mf.store = MANIFEST_STORE_FULL;
		if (partSize > 0 && f->len > partSize)
			ok &= partsWrite(id, f->content, f->len, partSize, key, &mf, &err);
		else
		{
			ok &= codecSha256(f->content, f->len, mf.sha256, &err) &&
				repoObjectPutBufferBound(repo, path, f->content, f->len, key, &result, &err);
			mf.objectSize = result.storedSize;
		}
		ok &= manifestWriteFile(writer, &mf, &err);
		pfree(path);
		if (f == &bigFile)
			pfree(bigFile.content);
	}
	ok = ok && manifestWriterEnd(writer, &err);
	manifestWriterFree(writer);
	if (ok)
	{
		char	   *path = repoBackupManifestPath(id);

		ok = repoObjectPutBuffer(repo, path, text.data, text.len, key, NULL, &err);
		pfree(path);
	}
	if (!ok)
		diag("backup %s: %s", id, err.message);
	pfree(text.data);
	return ok;
}

static bool
backupWrite(const char *id, bool big)
{
	return backupWriteParts(id, big, 0);
}

/* ---------------------------------------------------------------------
 * Comparing targets
 * ---------------------------------------------------------------------
 */

/*
 * Do directories a and b hold the same entries, with the same content,
 * mode and mtime for files?  What the finish writes has the time of the
 * restore: pg_dr.origin (holds it: compared by presence only),
 * recovery.signal and postgresql.auto.conf (content only).  Differences
 * are diag()'d.
 */
static bool
treeSame(const char *a, const char *b)
{
	DIR		   *d = opendir(a);
	struct dirent *de;
	bool		same = true;
	int			countA = 0;
	int			countB = 0;

	if (d == NULL)
	{
		diag("cannot open %s", a);
		return false;
	}
	while ((de = readdir(d)) != NULL)
	{
		char	   *pa;
		char	   *pb;
		struct stat sa;
		struct stat sb;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		countA++;
		pa = psprintf("%s/%s", a, de->d_name);
		pb = psprintf("%s/%s", b, de->d_name);
		if (lstat(pa, &sa) != 0 || lstat(pb, &sb) != 0 ||
			(sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT) ||
			(sa.st_mode & 07777) != (sb.st_mode & 07777))
		{
			diag("%s: missing or of another type or mode in %s", pa, b);
			same = false;
		}
		else if (S_ISDIR(sa.st_mode))
			same &= treeSame(pa, pb);
		else if (S_ISREG(sa.st_mode) && strcmp(de->d_name, "pg_dr.origin") != 0)
		{
			size_t		la = 0;
			size_t		lb = 0;
			char	   *ca = fileRead(pa, &la);
			char	   *cb = fileRead(pb, &lb);

			bool		written = strcmp(de->d_name, "recovery.signal") == 0 ||
				strcmp(de->d_name, "postgresql.auto.conf") == 0;

			if (ca == NULL || cb == NULL || la != lb || memcmp(ca, cb, la) != 0 ||
				(!written && sa.st_mtime != sb.st_mtime))
			{
				diag("%s: content or mtime differs in %s", pa, b);
				same = false;
			}
		}
		pfree(pa);
		pfree(pb);
	}
	closedir(d);
	d = opendir(b);
	while (d != NULL && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			countB++;
	if (d != NULL)
		closedir(d);
	if (countA != countB)
	{
		diag("%s has %d entries, %s %d", a, countA, b, countB);
		same = false;
	}
	return same;
}

/* Does dir hold every file of the backup, as backed up? */
static bool
targetMatches(const char *dir)
{
	bool		same = true;

	for (int i = 0; i < (int) lengthof(files); i++)
	{
		size_t		len;
		char	   *got = fileRead(tsprintf("%s/%s", dir, files[i].path), &len);
		bool		conf = strcmp(files[i].path, "postgresql.conf") == 0;

		if (got == NULL || (conf ? len < files[i].len : len != files[i].len) ||
			memcmp(got, files[i].content, files[i].len) != 0)
		{
			diag("%s: missing or different", files[i].path);
			same = false;
		}
	}
	return same;
}

static bool
fileExists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* ---------------------------------------------------------------------
 * The engine
 * ---------------------------------------------------------------------
 */

/* A host that records progress and cancels when told. */
typedef struct TestHost
{
	int			progressCalls;
	DrProgress	last;
	int			cancelAfter;	/* cancelled() answers true from this call
								 * on; 0: never */
	int			alarmAt;		/* at this call, SIGALRM in 1 ms; 0: never */
	int			cancelCalls;
} TestHost;

static volatile sig_atomic_t testSignal = 0;

static bool
testCancelled(void *arg)
{
	TestHost   *h = arg;

	h->cancelCalls++;
	if (h->cancelCalls == h->alarmAt)
	{
		struct itimerval timer;

		memset(&timer, 0, sizeof(timer));
		timer.it_value.tv_usec = 1000;
		setitimer(ITIMER_REAL, &timer, NULL);
	}
	if (testSignal)
		return true;
	return h->cancelAfter > 0 && h->cancelCalls >= h->cancelAfter;
}

static void
testProgress(void *arg, const DrProgress *progress)
{
	TestHost   *h = arg;

	h->progressCalls++;
	h->last = *progress;
}

static void
testSignalCatch(SIGNAL_ARGS)
{
	testSignal = postgres_signal_arg;
}

/* Begin, Prepare, restoreJobsRun with the fork launcher, Free. */
static bool
jobsRestore(const char *id, const char *target, int jobs, TestHost *th,
			RestoreResult *result, DrError *err)
{
	RestoreParam param;
	DrHost		host = {testCancelled, testProgress, NULL, th, NULL};
	Restore    *restore;
	RestoreJobLauncher *launcher;
	bool		ok;

	memset(&param, 0, sizeof(param));
	param.backupId = id;
	param.targetDir = target;
	param.host = &host;
	memset(result, 0, sizeof(*result));
	restore = restoreBegin(repo, &param, err);
	if (restore == NULL)
		return false;
	if (!restorePrepare(restore, err))
	{
		restoreFree(restore);
		return false;
	}
	launcher = restoreJobsForkLauncher();
	ok = restoreJobsRun(restore, jobs, launcher, result, err);
	restoreJobsForkLauncherFree(launcher);
	restoreFree(restore);
	return ok;
}

/* No child of this process left (every job was reaped). */
static bool
noChildLeft(void)
{
	int			status;

	return waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD;
}

static void
testEngine(void)
{
	const int	counts[] = {1, 2, 4};
	char	   *targets[3];
	DrError		err;
	RestoreResult result;

	for (int c = 0; c < 3; c++)
	{
		TestHost	th;

		memset(&th, 0, sizeof(th));
		targets[c] = tsprintf("%s/r-%d", tmpRoot, counts[c]);
		drErrorClear(&err);
		if (!ok(jobsRestore(BACKUP_ID, targets[c], counts[c], &th, &result, &err),
				"restore in %d job%s", counts[c], counts[c] > 1 ? "s" : ""))
			diag("%s", err.message);
		ok(result.filesWritten == lengthof(files) - 1 &&
		   result.bytesWritten == filesBytes,
		   "%d jobs: every file but pg_control counted once, with its bytes", counts[c]);
		ok(th.progressCalls >= 1 && strcmp(th.last.operation, "restore") == 0 &&
		   strcmp(th.last.phase, "files") == 0 &&
		   th.last.bytesDone == filesBytes && th.last.itemsDone == lengthof(files) - 1 &&
		   th.last.itemsTotal == lengthof(files) - 1 &&
		   th.last.bytesTotal == filesBytes,
		   "%d jobs: progress reached the host, last with every job's files and bytes",
		   counts[c]);
		ok(fileExists(tsprintf("%s/global/pg_control", targets[c])),
		   "%d jobs: finished (pg_control written)", counts[c]);
	}
	ok(targetMatches(targets[0]), "one job: every file as backed up");
	ok(treeSame(targets[0], targets[1]) && treeSame(targets[1], targets[0]),
	   "two jobs: the same target as one");
	ok(treeSame(targets[0], targets[2]) && treeSame(targets[2], targets[0]),
	   "four jobs: the same target as one");
	ok(noChildLeft(), "every job reaped");

	{
		TestHost	th;

		memset(&th, 0, sizeof(th));
		ok(!jobsRestore(BACKUP_ID, tsprintf("%s/r-65", tmpRoot), RESTORE_JOBS_MAX + 1,
						&th, &result, &err) && err.code == DR_ERR_INVALID,
		   "%d jobs refused", RESTORE_JOBS_MAX + 1);
	}
}

/* restoreJobRun in this process, job by job: the split's bytes per job. */
static void
testJobShares(void)
{
	enum
	{
		JOBS = 3
	};
	RestoreParam param;
	Restore    *restore;
	RestoreJobSplit split;
	DrError		err;
	uint64		expected[JOBS] = {0};
	bool		same = true;
	char	   *target = tsprintf("%s/r-shares", tmpRoot);

	/* what the split gives each job, from the sizes in manifest order */
	restoreJobSplitInit(&split, JOBS, RESTORE_JOBS_BIG_MAX);
	for (int i = 0; i < (int) lengthof(files); i++)
		restoreJobSplitAdd(&split, files[i].len);
	restoreJobSplitPlace(&split);
	for (int i = 0; i < (int) lengthof(files); i++)
	{
		int			job = restoreJobSplitNext(&split, i, files[i].len);

		if (strcmp(files[i].path, "global/pg_control") != 0)
			expected[job] += files[i].len;
	}
	restoreJobSplitFree(&split);

	memset(&param, 0, sizeof(param));
	param.backupId = BACKUP_ID;
	param.targetDir = target;
	restore = restoreBegin(repo, &param, &err);
	ok(restore != NULL && restorePrepare(restore, &err), "shares: begun and prepared");
	for (int j = 0; restore != NULL && j < JOBS; j++)
	{
		RestoreResult result;

		memset(&result, 0, sizeof(result));
		if (!restoreJobRun(restore, JOBS, j, NULL, &result, &err))
		{
			diag("job %d: %s", j, err.message);
			same = false;
		}
		else if (result.bytesWritten != expected[j])
		{
			diag("job %d: " UINT64_FORMAT " bytes, the split gives it " UINT64_FORMAT,
				 j, result.bytesWritten, expected[j]);
			same = false;
		}
	}
	ok(same, "shares: each job restored the bytes the split gives it");
	ok(expected[0] > 0 && expected[1] > 0 && expected[2] > 0,
	   "shares: every job had files");
	ok(restore != NULL && restoreFinish(restore, NULL, &err) &&
	   treeSame(tsprintf("%s/r-1", tmpRoot), target),
	   "shares: the three shares and the finish make the same target");
	ok(restore != NULL && !restoreJobRun(restore, JOBS, JOBS, NULL, NULL, &err) &&
	   err.code == DR_ERR_INVALID, "shares: a job past the jobs refused");
	restoreFree(restore);
}

static void
testFailure(void)
{
	char	   *object = tsprintf("%s/repo/backup/%s/data/base/1/1006", tmpRoot, BACKUP_ID);
	char	   *target = tsprintf("%s/r-damaged", tmpRoot);
	TestHost	th;
	DrError		err;
	RestoreResult result;

	fileByteFlip(object);
	memset(&th, 0, sizeof(th));
	drErrorClear(&err);
	ok(!jobsRestore(BACKUP_ID, target, 2, &th, &result, &err),
	   "a damaged object: the restore in two jobs fails");
	if (!ok(err.code == DR_ERR_CORRUPT && strstr(err.message, "base/1/1006") != NULL,
			"the failed job's error, naming the file"))
		diag("%s: %s", drErrorCodeName(err.code), err.message);
	ok(!fileExists(tsprintf("%s/global/pg_control", target)),
	   "a failed restore leaves no pg_control");
	ok(noChildLeft(), "failed: every job reaped");
	fileByteFlip(object);
}

static void
testCancel(void)
{
	const char *bigId = "20240102-000000F";
	char	   *target = tsprintf("%s/r-cancel", tmpRoot);
	char	   *target2 = tsprintf("%s/r-signal", tmpRoot);
	TestHost	th;
	DrError		err;
	RestoreResult result;
	pqsigfunc	old;

	ok(backupWrite(bigId, true), "a backup with a %d MB file", BIG_SIZE / (1024 * 1024));

	/* asked before any job starts */
	memset(&th, 0, sizeof(th));
	th.cancelAfter = 1;
	drErrorClear(&err);
	ok(!jobsRestore(bigId, target, 2, &th, &result, &err) &&
	   err.code == DR_ERR_CANCELED, "cancelled at once: DR_ERR_CANCELED");
	ok(!fileExists(tsprintf("%s/global/pg_control", target)),
	   "cancelled at once: no pg_control");

	/*
	 * A signal while the jobs run, as the CLI sees SIGTERM: the timer is
	 * set at the engine's second question, its first once the jobs started.
	 */
	old = pqsignal(SIGALRM, testSignalCatch);
	memset(&th, 0, sizeof(th));
	th.alarmAt = 2;
	drErrorClear(&err);
	ok(!jobsRestore(bigId, target2, 2, &th, &result, &err) &&
	   err.code == DR_ERR_CANCELED, "a signal during the jobs: DR_ERR_CANCELED");
	if (err.code != DR_ERR_CANCELED)
		diag("%s: %s", drErrorCodeName(err.code), err.message);
	ok(testSignal == SIGALRM && th.cancelCalls > 2,
	   "the engine asked the host again after the signal");
	ok(!fileExists(tsprintf("%s/base/1/big", target2)),
	   "stopped before the large file was restored");
	ok(!fileExists(tsprintf("%s/global/pg_control", target2)),
	   "a cancelled restore leaves no pg_control");
	ok(noChildLeft(), "cancelled: every job reaped");
	pqsignal(SIGALRM, old);
	testSignal = 0;
}

/* Any temporary file of a file in parts (pg_dr-tmp, pg_dr-sums) in dir? */
static bool
partsLeftIn(const char *dir)
{
	DIR		   *d = opendir(dir);
	struct dirent *de;
	bool		left = false;

	if (d == NULL)
		return false;
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".pg_dr-") != NULL)
		{
			diag("left: %s/%s", dir, de->d_name);
			left = true;
		}
	closedir(d);
	return left;
}

/*
 * The files above 1 MB of dir have the mode and mtime they have in the
 * restore of the same files from whole objects (r-1; the backups differ
 * in id, so whole trees cannot be compared: postgresql.conf names it).
 */
static bool
partsMetaSame(const char *dir)
{
	const char *const paths[] = {"base/1/1001", "base/1/1004"};
	bool		same = true;

	for (int i = 0; i < (int) lengthof(paths); i++)
	{
		struct stat a;
		struct stat b;

		if (stat(tsprintf("%s/r-1/%s", tmpRoot, paths[i]), &a) != 0 ||
			stat(tsprintf("%s/%s", dir, paths[i]), &b) != 0 ||
			a.st_mode != b.st_mode || a.st_mtime != b.st_mtime)
		{
			diag("%s: mode or mtime differs", paths[i]);
			same = false;
		}
	}
	return same;
}

/*
 * Files in parts: the same backup with its files above 1 MB in parts of
 * 1 MB restores, in 1, 2 and 4 jobs, to the target of the whole-object
 * backup; the split spreads the parts of one file over the jobs and each
 * job writes the bytes of its units; a damaged part fails the restore
 * naming the file and leaves nothing of it.
 */
static void
testParts(void)
{
	enum
	{
		JOBS = 2
	};
	const char *id = "20240103-000000F";
	const uint64 partSize = 1024 * 1024;
	const int	counts[] = {1, 2, 4};
	RestoreJobSplit split;
	RestoreParam param;
	Restore    *restore;
	DrError		err;
	RestoreResult result;
	uint64		expected[JOBS] = {0};
	bool		jobsOf1001[JOBS] = {false};
	uint64		ordinal = 0;
	bool		same = true;
	char	   *target = tsprintf("%s/p-shares", tmpRoot);
	char	   *object;

	ok(backupWriteParts(id, false, partSize), "a backup with files in parts of 1 MB");
	ok(fileExists(tsprintf("%s/repo/backup/%s/part/base/1/1001/4", tmpRoot, id)) &&
	   !fileExists(tsprintf("%s/repo/backup/%s/part/base/1/1001/5", tmpRoot, id)) &&
	   !fileExists(tsprintf("%s/repo/backup/%s/data/base/1/1001", tmpRoot, id)),
	   "a 5 MB file is 5 part objects");

	for (int c = 0; c < 3; c++)
	{
		TestHost	th;
		char	   *dir = tsprintf("%s/p-%d", tmpRoot, counts[c]);

		memset(&th, 0, sizeof(th));
		drErrorClear(&err);
		if (!ok(jobsRestore(id, dir, counts[c], &th, &result, &err),
				"parts: restore in %d job%s", counts[c], counts[c] > 1 ? "s" : ""))
			diag("%s", err.message);
		ok(result.filesWritten == lengthof(files) - 1 &&
		   result.bytesWritten == filesBytes &&
		   th.last.itemsDone == lengthof(files) - 1 && th.last.bytesDone == filesBytes,
		   "parts, %d jobs: every file counted once, with its bytes", counts[c]);
		ok(targetMatches(dir) && !partsLeftIn(tsprintf("%s/base/1", dir)),
		   "parts, %d jobs: every file as backed up, no temporary file left", counts[c]);
	}
	ok(partsMetaSame(tsprintf("%s/p-2", tmpRoot)) &&
	   treeSame(tsprintf("%s/p-1", tmpRoot), tsprintf("%s/p-2", tmpRoot)) &&
	   treeSame(tsprintf("%s/p-2", tmpRoot), tsprintf("%s/p-4", tmpRoot)) &&
	   treeSame(tsprintf("%s/p-4", tmpRoot), tsprintf("%s/p-1", tmpRoot)),
	   "parts: 1, 2 and 4 jobs make the same target; the files in parts have the mode and mtime of the whole-object restore");

	/* the split of the units: 1 MB each for the parts of a file */
	restoreJobSplitInit(&split, JOBS, RESTORE_JOBS_BIG_MAX);
	for (int i = 0; i < (int) lengthof(files); i++)
	{
		if (files[i].len > partSize && strcmp(files[i].path, "global/pg_control") != 0)
			for (size_t off = 0; off < files[i].len; off += partSize)
				restoreJobSplitAdd(&split, Min(partSize, files[i].len - off));
		else
			restoreJobSplitAdd(&split, files[i].len);
	}
	restoreJobSplitPlace(&split);
	for (int i = 0; i < (int) lengthof(files); i++)
	{
		bool		control = strcmp(files[i].path, "global/pg_control") == 0;

		if (files[i].len > partSize && !control)
		{
			for (size_t off = 0; off < files[i].len; off += partSize)
			{
				uint64		n = Min(partSize, files[i].len - off);
				int			job = restoreJobSplitNext(&split, ordinal++, n);

				expected[job] += n;
				if (strcmp(files[i].path, "base/1/1001") == 0)
					jobsOf1001[job] = true;
			}
		}
		else
		{
			int			job = restoreJobSplitNext(&split, ordinal++, files[i].len);

			if (!control)
				expected[job] += files[i].len;
		}
	}
	restoreJobSplitFree(&split);
	ok(jobsOf1001[0] && jobsOf1001[1], "parts: the split gives parts of one file to both jobs");

	memset(&param, 0, sizeof(param));
	param.backupId = id;
	param.targetDir = target;
	restore = restoreBegin(repo, &param, &err);
	ok(restore != NULL && restorePrepare(restore, &err), "parts shares: begun and prepared");
	for (int j = 0; restore != NULL && j < JOBS; j++)
	{
		memset(&result, 0, sizeof(result));
		if (!restoreJobRun(restore, JOBS, j, NULL, &result, &err))
		{
			diag("job %d: %s", j, err.message);
			same = false;
		}
		else if (result.bytesWritten != expected[j])
		{
			diag("job %d: " UINT64_FORMAT " bytes, the split gives it " UINT64_FORMAT,
				 j, result.bytesWritten, expected[j]);
			same = false;
		}
	}
	ok(same, "parts shares: each job wrote the bytes of the units the split gives it");
	ok(!fileExists(tsprintf("%s/base/1/1001", target)) &&
	   partsLeftIn(tsprintf("%s/base/1", target)),
	   "parts shares: before the finish, a file in parts is only under its temporary name");
	ok(restore != NULL && restoreFinish(restore, NULL, &err) &&
	   treeSame(tsprintf("%s/p-1", tmpRoot), target) &&
	   !partsLeftIn(tsprintf("%s/base/1", target)),
	   "parts shares: the finish commits it: the same target, nothing left");
	restoreFree(restore);

	/* a damaged part */
	object = tsprintf("%s/repo/backup/%s/part/base/1/1001/3", tmpRoot, id);
	fileByteFlip(object);
	for (int jobs = 1; jobs <= 2; jobs++)
	{
		TestHost	th;
		char	   *dir = tsprintf("%s/p-damaged-%d", tmpRoot, jobs);

		memset(&th, 0, sizeof(th));
		drErrorClear(&err);
		ok(!jobsRestore(id, dir, jobs, &th, &result, &err) &&
		   err.code == DR_ERR_CORRUPT && strstr(err.message, "\"base/1/1001\"") != NULL,
		   "parts, %d job%s: a damaged part fails the restore, naming the file",
		   jobs, jobs > 1 ? "s" : "");
		if (err.code != DR_ERR_CORRUPT)
			diag("%s: %s", drErrorCodeName(err.code), err.message);
		ok(!fileExists(tsprintf("%s/base/1/1001", dir)) &&
		   !partsLeftIn(tsprintf("%s/base/1", dir)) &&
		   !fileExists(tsprintf("%s/global/pg_control", dir)),
		   "parts, %d job%s: nothing of the file is left, no pg_control",
		   jobs, jobs > 1 ? "s" : "");
	}
	fileByteFlip(object);
	ok(noChildLeft(), "parts: every job reaped");
}

int
main(void)
{
	DrError		err;
	ConfigRepo	config;
	char	   *keyFile;

	testTmpRootMake(tmpRoot);
	keyFile = tsprintf("%s/key", tmpRoot);
	fileWrite(keyFile, "correct horse battery staple, and more of it\n");
	config = testConfigRepo(tsprintf("%s/repo", tmpRoot), keyFile);
	if (!repoCreate(&config, 1000, &err) || (repo = repoOpen(&config, &err)) == NULL)
	{
		printf("Bail out! repository: %s\n", err.message);
		return 1;
	}
	for (int i = 0; i < (int) lengthof(files); i++)
	{
		files[i].content = contentMake(files[i].len, i);
		if (strcmp(files[i].path, "global/pg_control") != 0)
			filesBytes += files[i].len;
	}

	testSplitTable();
	testSplitProperties();
	ok(backupWrite(BACKUP_ID, false), "a full backup written");
	testEngine();
	testJobShares();
	testFailure();
	testCancel();
	testParts();

	repoClose(repo);
	testTreeRemove(tmpRoot);
	trackFree();
	return tapDone();
}
