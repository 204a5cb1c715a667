/*-------------------------------------------------------------------------
 * test_repo_chain_page.c
 *	  Unit tests of src/repo/repo_chain_page.c, and of restore and verify
 *	  over chained XOR deltas, on four backups written into a temporary
 *	  encrypted repository the way an incremental writes them: each changed
 *	  page the parent has XORed with the page as the parent's chain has it
 *	  (repoChainPageGet), whatever the parent stores.
 *
 * The chain: a full F; I1 on F (file A extended, B cut, XORed pages and
 * new ones); I2 on I1 (A unchanged: store=parent; B extended again); I3
 * on I2 (A cut, XORed over a store=parent level onto I1's delta and F's
 * copy; B XORed onto I2's delta of I1's delta).
 *
 * Covers: repoChainPageLevels (store=parent levels left out, newest first
 * down to the whole copy; a level missing the file refused as corrupt);
 * every page of every file at every level read through repoChainPageGet
 * equal to the model; restoreRun of each backup equal to the model byte
 * for byte; verifyBackup of the chain with no problem; a flipped byte in
 * I1's delta of A: the chain reader fails naming the object, restore of
 * I3 fails, verify of I3 reports the object.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "common/delta.h"
#include "common/manifest.h"
#include "lib/stringinfo.h"
#include "repo/repo.h"
#include "repo/repo_backup.h"
#include "repo/repo_chain.h"
#include "repo/repo_chain_page.h"
#include "restore/restore.h"
#include "backup/backup_verify.h"
#include "tap.h"
#include "test_support.h"

#define BLCK		1024
#define NFILES		5
#define NBACKUPS	4

static char tmpRoot[] = "/tmp/test_repo_chain_page.XXXXXX";
static Repo *repo;
static char *walContent;

static const char *const ids[NBACKUPS] = {
	"20240101-000000F", "20240102-000000I", "20240103-000000I", "20240104-000000I"
};

/* Paths in manifest (strcmp) order; A and B are the relation files. */
static const char *const paths[NFILES] = {
	"PG_VERSION", "base/1/100", "base/1/200", "global/pg_control",
	"postgresql.auto.conf"
};
#define FILE_A		1
#define FILE_B		2

/* One file of one backup: its content and how it is stored. */
typedef struct TFile
{
	ManifestStore store;
	char	   *content;
	size_t		len;
	uint32		changed[16];	/* store=delta: pages stored */
	int			nchanged;
} TFile;

static TFile files[NBACKUPS][NFILES];

static char *
contentMake(size_t len, int seed)
{
	char	   *buf = track(palloc(len + 1));

	for (size_t i = 0; i < len; i++)
		buf[i] = (char) ((i * 7 + seed * 13) ^ (i >> 10) ^ (seed * i >> 8));
	return buf;
}

/* A relation file at level n: the previous content cut or extended, pages changed. */
static void
fileEvolve(int n, int f, uint32 pages, const uint32 *changed, int nchanged)
{
	TFile	   *prev = &files[n - 1][f];
	TFile	   *t = &files[n][f];

	t->len = (size_t) pages * BLCK;
	t->content = track(palloc0(t->len + 1));
	memcpy(t->content, prev->content, Min(prev->len, t->len));
	for (int i = 0; i < nchanged; i++)
	{
		/* a few bytes changed, as in a page where a tuple was updated */
		char	   *page = t->content + (size_t) changed[i] * BLCK;

		if ((size_t) (changed[i] + 1) * BLCK > Min(prev->len, t->len))
			memcpy(page, contentMake(BLCK, 100 * n + changed[i]), BLCK);
		else
			for (int k = 0; k < 16; k++)
				page[(k * 61 + n) % BLCK] ^= (char) (k + n + 1);
		t->changed[i] = changed[i];
	}
	t->nchanged = nchanged;
	t->store = nchanged == 0 && pages * BLCK == prev->len ?
		MANIFEST_STORE_PARENT : MANIFEST_STORE_DELTA;
}

static void
fileWhole(TFile *t, ManifestStore store, char *content, size_t len)
{
	memset(t, 0, sizeof(TFile));
	t->store = store;
	t->content = content;
	t->len = len;
}

static void
modelMake(void)
{
	static const uint32 a1[] = {1, 3, 8, 9};
	static const uint32 b1[] = {1};
	static const uint32 b2[] = {0, 2, 3, 4};
	static const uint32 a3[] = {0, 3, 5};
	static const uint32 b3[] = {2, 4};

	for (int n = 0; n < NBACKUPS; n++)
	{
		fileWhole(&files[n][0], n == 0 ? MANIFEST_STORE_FULL : MANIFEST_STORE_PARENT,
				  track(pstrdup("15\n")), 3);
		fileWhole(&files[n][3], MANIFEST_STORE_FULL, contentMake(64, 50 + n), 64);
		fileWhole(&files[n][4], n == 0 ? MANIFEST_STORE_FULL : MANIFEST_STORE_PARENT,
				  track(pstrdup("# auto\n")), 7);
	}
	fileWhole(&files[0][FILE_A], MANIFEST_STORE_FULL, contentMake(8 * BLCK, 1), 8 * BLCK);
	fileWhole(&files[0][FILE_B], MANIFEST_STORE_FULL, contentMake(4 * BLCK, 2), 4 * BLCK);
	fileEvolve(1, FILE_A, 10, a1, lengthof(a1));	/* extended */
	fileEvolve(1, FILE_B, 2, b1, lengthof(b1));		/* cut */
	fileEvolve(2, FILE_A, 10, NULL, 0);				/* store=parent */
	fileEvolve(2, FILE_B, 5, b2, lengthof(b2));		/* extended again */
	fileEvolve(3, FILE_A, 6, a3, lengthof(a3));		/* cut, XORed down the chain */
	fileEvolve(3, FILE_B, 5, b3, lengthof(b3));
}

/*
 * The delta of file f of backup n, as an incremental writes it: pages
 * below baseBlocks XORed with the parent chain's page.  The chain's
 * levels come from the manifests of backups n-1 .. 0.
 */
static bool
deltaMake(int n, int f, StringInfo out, DrError *err)
{
	TFile	   *t = &files[n][f];
	uint64		parentSize = files[n - 1][f].len;
	uint32		baseBlocks = (uint32) Min(parentSize / BLCK, t->len / BLCK);
	RepoChainPage *chain = NULL;
	DeltaWriter *writer;
	char		page[BLCK];
	bool		ok = true;

	if (baseBlocks > 0)
	{
		char	   *chainIds[NBACKUPS];
		RepoChainIter *iter;
		const ManifestFile *const *levels;
		RepoChainPageLevel found[NBACKUPS];
		int			count = 0;
		int			rc;

		for (int i = 0; i < n; i++)
			chainIds[i] = unconstify(char *, ids[n - 1 - i]);
		iter = repoChainIterOpen(repo, chainIds, n, err);
		if (iter == NULL)
			return false;
		while ((rc = repoChainIterNext(iter, &levels, err)) == 1 &&
			   strcmp(levels[0]->path, paths[f]) != 0)
			;
		ok = rc == 1 &&
			repoChainPageLevels(chainIds, n, levels, found, &count, err) &&
			(chain = repoChainPageOpen(repo, paths[f], BLCK, found, count, err)) != NULL;
		repoChainIterClose(iter);
		if (!ok)
			return false;
	}
	writer = deltaWriterNewBase(sbWrite, out, BLCK, t->len, baseBlocks, err);
	for (int i = 0; ok && writer && i < t->nchanged; i++)
	{
		uint32		b = t->changed[i];

		memcpy(page, t->content + (size_t) b * BLCK, BLCK);
		if (b < baseBlocks)
		{
			const char *base = repoChainPageGet(chain, b, err);

			if (base == NULL)
				ok = false;
			else
				deltaPageXor(page, base, BLCK);
		}
		ok = ok && deltaWritePage(writer, b, page, err);
	}
	ok = ok && writer && deltaWriterEnd(writer, NULL, err);
	deltaWriterFree(writer);
	repoChainPageClose(chain);
	return ok;
}

/* Write backup n: objects, then the manifest. */
static bool
backupWrite(int n)
{
	DrError		err;
	const CodecDataKey *key;
	StringInfoData text;
	ManifestWriter *writer;
	ManifestHeader h;
	bool		ok;

	if (!repoDataKeyNew(repo, &key, &err))
	{
		diag("key: %s", err.message);
		return false;
	}
	testBackupHeader(&h, ids[n], "test", key->id, BLCK);
	h.incremental = n > 0;
	if (n > 0)
		strcpy(h.parentId, ids[n - 1]);
	initStringInfo(&text);
	writer = manifestWriterNew(sbWrite, &text);
	ok = manifestWriteHeader(writer, &h, &err);
	for (int f = 0; ok && f < NFILES; f++)
	{
		TFile	   *t = &files[n][f];
		ManifestFile mf;
		CodecResult result;
		char	   *path = repoBackupDataPath(ids[n], paths[f]);

		memset(&mf, 0, sizeof(mf));
		mf.path = unconstify(char *, paths[f]);
		mf.size = t->len;
		mf.mode = 0600;
		mf.mtime = 1700000000 + f;
		mf.store = t->store;
		mf.blocks = t->store == MANIFEST_STORE_DELTA ? t->nchanged : 0;
		ok = codecSha256(t->content, t->len, mf.sha256, &err);
		if (ok && t->store == MANIFEST_STORE_FULL)
		{
			ok = repoObjectPutBufferBound(repo, path, t->content, t->len, key, &result, &err);
			mf.objectSize = result.storedSize;
		}
		else if (ok && t->store == MANIFEST_STORE_DELTA)
		{
			StringInfoData delta;

			initStringInfo(&delta);
			ok = deltaMake(n, f, &delta, &err) &&
				repoObjectPutBufferBound(repo, path, delta.data, delta.len, key, &result, &err);
			mf.objectSize = result.storedSize;
			pfree(delta.data);
		}
		ok = ok && manifestWriteFile(writer, &mf, &err);
		pfree(path);
	}
	if (ok)
	{
		ManifestWal w;
		char	   *path = repoBackupWalPath(ids[n], "000000010000000000000002");

		memset(&w, 0, sizeof(w));
		strcpy(w.name, "000000010000000000000002");
		w.size = 8192;
		ok = codecSha256(walContent, w.size, w.sha256, &err) &&
			repoObjectPutBuffer(repo, path, walContent, w.size, key, NULL, &err) &&
			manifestWriteWal(writer, &w, &err);
		pfree(path);
	}
	ok = ok && manifestWriterEnd(writer, &err);
	manifestWriterFree(writer);
	if (ok)
	{
		char	   *path = repoBackupManifestPath(ids[n]);

		ok = repoObjectPutBuffer(repo, path, text.data, text.len, key, NULL, &err);
		pfree(path);
	}
	if (!ok)
		diag("backup %s: %s", ids[n], err.message);
	pfree(text.data);
	return ok;
}

/* The levels of file f in the chain of backup n (ids newest first). */
static bool
levelsOf(int n, int f, RepoChainPageLevel *found, int *count, DrError *err)
{
	char	   *chainIds[NBACKUPS];
	RepoChainIter *iter;
	const ManifestFile *const *levels;
	int			rc;
	bool		ok;

	for (int i = 0; i <= n; i++)
		chainIds[i] = unconstify(char *, ids[n - i]);
	iter = repoChainIterOpen(repo, chainIds, n + 1, err);
	if (iter == NULL)
		return false;
	while ((rc = repoChainIterNext(iter, &levels, err)) == 1 &&
		   strcmp(levels[0]->path, paths[f]) != 0)
		;
	ok = rc == 1 && repoChainPageLevels(chainIds, n + 1, levels, found, count, err);
	repoChainIterClose(iter);
	return ok;
}

static void
testLevels(void)
{
	RepoChainPageLevel found[NBACKUPS];
	int			count = 0;
	DrError		err;
	const ManifestFile *levels[3];
	ManifestFile a = {0};
	ManifestFile b = {0};
	char	   *chainIds[3] = {"20240103-000000I", "20240102-000000I", "20240101-000000F"};

	ok(levelsOf(3, FILE_A, found, &count, &err) && count == 3 &&
	   strcmp(found[0].backupId, ids[3]) == 0 && found[0].store == MANIFEST_STORE_DELTA &&
	   found[0].size == 6 * BLCK &&
	   strcmp(found[1].backupId, ids[1]) == 0 && found[1].size == 10 * BLCK &&
	   strcmp(found[2].backupId, ids[0]) == 0 && found[2].store == MANIFEST_STORE_FULL &&
	   found[2].size == 8 * BLCK,
	   "A in I3's chain: I3's delta, I1's delta (I2's store=parent left out), F's copy");
	ok(levelsOf(3, FILE_B, found, &count, &err) && count == 4,
	   "B in I3's chain: four levels");
	ok(levelsOf(0, FILE_A, found, &count, &err) && count == 1 &&
	   found[0].store == MANIFEST_STORE_FULL, "A in F: its whole copy alone");

	/* a level without the file */
	a.path = "base/1/100";
	a.store = MANIFEST_STORE_DELTA;
	b.path = "base/1/100";
	b.store = MANIFEST_STORE_FULL;
	levels[0] = &a;
	levels[1] = NULL;
	levels[2] = &b;
	ok(!repoChainPageLevels(chainIds, 3, levels, found, &count, &err) &&
	   err.code == DR_ERR_CORRUPT && strstr(err.message, "does not have it") != NULL,
	   "a level missing the file: corrupt");
}

/* Every page of every relation file at every level, through the reader. */
static void
testPages(void)
{
	int			bad = 0;
	int			checked = 0;

	for (int n = 0; n < NBACKUPS; n++)
	{
		for (int f = FILE_A; f <= FILE_B; f++)
		{
			RepoChainPageLevel found[NBACKUPS];
			int			count;
			DrError		err;
			RepoChainPage *chain;

			if (!levelsOf(n, f, found, &count, &err) ||
				(chain = repoChainPageOpen(repo, paths[f], BLCK, found, count, &err)) == NULL)
			{
				diag("%s of %s: %s", paths[f], ids[n], err.message);
				bad++;
				continue;
			}
			if (repoChainPageBlocks(chain) != files[n][f].len / BLCK)
				bad++;
			for (uint32 b = 0; b < repoChainPageBlocks(chain); b++)
			{
				const char *page = repoChainPageGet(chain, b, &err);

				checked++;
				if (page == NULL ||
					memcmp(page, files[n][f].content + (size_t) b * BLCK, BLCK) != 0)
					bad++;
			}
			repoChainPageClose(chain);
		}
	}
	is_int(bad, 0, "every page of A and B at every level, as the model (%d pages)", checked);
}

static void
problemCollect(void *arg, const char *path, const char *message)
{
	StringInfo	s = arg;

	appendStringInfo(s, "%s: %s\n", path, message);
}

static bool
verifyRun(const char *id, StringInfo problems)
{
	VerifyParam param;

	resetStringInfo(problems);
	memset(&param, 0, sizeof(param));
	param.chain = true;
	param.problem = problemCollect;
	param.problemArg = problems;
	return verifyBackup(repo, id, &param, NULL);
}

static RestoreParam
paramMake(const char *id, const char *target)
{
	RestoreParam p;

	memset(&p, 0, sizeof(p));
	p.backupId = id;
	p.targetDir = target;
	p.restoreProgram = "/usr/bin/pg_dr";
	p.restoreConfigFile = "/etc/pg_dr.conf";
	p.restoreRepoIndex = 1;
	return p;
}

static void
testRestoreVerify(void)
{
	StringInfoData problems;

	initStringInfo(&problems);
	for (int n = 0; n < NBACKUPS; n++)
	{
		char	   *target = tsprintf("%s/r%d", tmpRoot, n);
		RestoreParam param = paramMake(ids[n], target);
		RestoreResult result;
		DrError		err;
		bool		same = true;

		memset(&result, 0, sizeof(result));
		if (!ok(restoreRun(repo, &param, &result, &err), "restore of %s", ids[n]))
			diag("%s", err.message);
		for (int f = FILE_A; f <= FILE_B; f++)
		{
			size_t		len;
			char	   *got = fileRead(tsprintf("%s/%s", target, paths[f]), &len);

			same &= got != NULL && len == files[n][f].len &&
				memcmp(got, files[n][f].content, len) == 0;
		}
		ok(same, "%s: A and B restored as the model", ids[n]);
	}
	ok(verifyRun(ids[3], &problems), "verify of I3 and its chain: no problem");
	if (problems.len > 0)
		diag("%s", problems.data);

	/* damage I1's delta of A: every reader of the chain above it fails */
	{
		char	   *object = tsprintf("%s/repo/backup/%s/data/%s", tmpRoot, ids[1], paths[FILE_A]);
		RepoChainPageLevel found[NBACKUPS];
		int			count;
		DrError		err;
		RepoChainPage *chain;
		const char *page = NULL;
		RestoreParam param = paramMake(ids[3], tsprintf("%s/r-bad", tmpRoot));
		RestoreResult result;

		fileByteFlip(object);
		chain = levelsOf(3, FILE_A, found, &count, &err) ?
			repoChainPageOpen(repo, paths[FILE_A], BLCK, found, count, &err) : NULL;
		for (uint32 b = 0; chain != NULL && b < repoChainPageBlocks(chain); b++)
			if ((page = repoChainPageGet(chain, b, &err)) == NULL)
				break;
		ok((chain == NULL || page == NULL) &&
		   strstr(err.message, tsprintf("backup/%s/data/%s", ids[1], paths[FILE_A])) != NULL,
		   "the chain reader fails on the damaged delta, naming it");
		if (strstr(err.message, ids[1]) == NULL)
			diag("%s", err.message);
		repoChainPageClose(chain);

		memset(&result, 0, sizeof(result));
		ok(!restoreRun(repo, &param, &result, &err) &&
		   strstr(err.message, paths[FILE_A]) != NULL,
		   "restore of I3 fails, naming the file");
		ok(!verifyRun(ids[3], &problems) &&
		   strstr(problems.data, tsprintf("backup/%s/data/%s", ids[1], paths[FILE_A])) != NULL,
		   "verify of I3 reports the damaged delta of I1");
	}
	pfree(problems.data);
}

int
main(void)
{
	DrError		err;
	char	   *keyFile;
	int			fd;
	ConfigRepo	config;
	bool		written = true;

	testTmpRootMake(tmpRoot);
	keyFile = tsprintf("%s/key", tmpRoot);
	fd = open(keyFile, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, "correct horse battery staple, and more of it\n", 45) != 45)
	{
		printf("Bail out! key file: %s\n", strerror(errno));
		return 1;
	}
	close(fd);
	config = testConfigRepo(tsprintf("%s/repo", tmpRoot), keyFile);
	if (!repoCreate(&config, 1000, &err) || (repo = repoOpen(&config, &err)) == NULL)
	{
		printf("Bail out! repository: %s\n", err.message);
		return 1;
	}
	walContent = contentMake(8192, 99);
	modelMake();
	for (int n = 0; n < NBACKUPS; n++)
		written &= backupWrite(n);
	ok(written, "four backups written, deltas XORed down the chain");

	testLevels();
	testPages();
	testRestoreVerify();

	repoClose(repo);
	configRepoClear(&config);
	testTreeRemove(tmpRoot);
	trackFree();
	return tapDone();
}
