/*-------------------------------------------------------------------------
 * test_repo_archive.c
 *	  Unit tests of the iterator over the WAL archive (repo_archive.c:
 *	  repoArchiveIterOpen/Next/Close), over the posix driver.
 *
 * Covers: a repository without archive/wal and an empty archive/wal list
 * nothing; the entries of an archive in name order, a log directory's
 * files right after it, each with its kind (log directory, segment,
 * ".partial", backup history file, timeline history file, unknown: a file
 * at the top, a file named like a log directory, a subdirectory of a log
 * directory, a segment in another segment's directory, a name in lower
 * case, a segment number beyond the segment size), timeline, segment
 * number, size, path and directory; temporary files never listed; the
 * same entries with pages of 1, 2 and 3 entries; the filter: kinds,
 * timelines, a range of segments (log directories outside it not
 * listed), one timeline and a few directories served by name without the
 * top of the archive; segment size 0: names valid for any size, no
 * segment numbers; filters refused (range without a size, invalid size,
 * empty ranges); entries removed while the iteration runs, each returned
 * once; an error of the storage (a symbolic link loop) ends the iteration
 * with the storage's error, at the top and in a log directory.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/stringinfo.h"

#include "repo/repo.h"
#include "repo/repo_archive.h"
#include "tap.h"
#include "test_support.h"

#define SEG16		(16 * 1024 * 1024)

static char tmpRoot[] = "/tmp/test_repo_archive.XXXXXX";

static const char *
kindName(RepoArchiveKind kind)
{
	switch (kind)
	{
		case REPO_ARCHIVE_DIR:
			return "dir";
		case REPO_ARCHIVE_SEGMENT:
			return "seg";
		case REPO_ARCHIVE_PARTIAL:
			return "partial";
		case REPO_ARCHIVE_BACKUP:
			return "backup";
		case REPO_ARCHIVE_HISTORY:
			return "history";
		case REPO_ARCHIVE_UNKNOWN:
			return "unknown";
		case REPO_ARCHIVE_SUMMARY:
			return "summary";
	}
	return "?";
}

/*
 * The iteration as text, one line per entry: "<kind> <path below
 * archive/wal>", with " tli=<tli>" and " seg=<segno>" where the kind has
 * them.  NULL (and *err set) when it failed.
 */
static char *
listText(Repo *repo, const RepoArchiveIterParam *param, DrError *err)
{
	RepoArchiveIter *iter = repoArchiveIterOpen(repo, param, err);
	const RepoArchiveEntry *entry;
	StringInfoData buf;
	bool		ok;

	if (iter == NULL)
		return NULL;
	initStringInfo(&buf);
	while ((ok = repoArchiveIterNext(iter, &entry, err)) && entry != NULL)
	{
		const char *below = entry->path + strlen("archive/wal/");

		appendStringInfo(&buf, "%s %s", kindName(entry->kind), below);
		if (entry->kind != REPO_ARCHIVE_UNKNOWN)
			appendStringInfo(&buf, " tli=%u", entry->tli);
		if (entry->kind != REPO_ARCHIVE_UNKNOWN &&
			entry->kind != REPO_ARCHIVE_HISTORY)
			appendStringInfo(&buf, " seg=" UINT64_FORMAT, entry->segno);
		appendStringInfoChar(&buf, '\n');
	}
	repoArchiveIterClose(iter);
	if (!ok)
	{
		pfree(buf.data);
		return NULL;
	}
	return track(buf.data);
}

static void
archiveFile(const char *root, const char *path, const char *content)
{
	fileWrite(tsprintf("%s/archive/wal/%s", root, path), content);
}

static void
archiveDir(const char *root, const char *path)
{
	if (mkdir(tsprintf("%s/archive/wal/%s", root, path), 0700) < 0)
		diag("mkdir %s: %s", path, strerror(errno));
}

/* Every entry of the archive built by main, in name order (16 MB). */
static const char *const allEntries =
"dir 0000000100000000 tli=1 seg=0\n"
"seg 0000000100000000/000000010000000000000001 tli=1 seg=1\n"
"backup 0000000100000000/000000010000000000000001.00000028.backup tli=1 seg=1\n"
"summary 0000000100000000/000000010000000000000001.summary tli=1 seg=1\n"
"seg 0000000100000000/000000010000000000000002 tli=1 seg=2\n"
"partial 0000000100000000/000000010000000000000002.partial tli=1 seg=2\n"
"unknown 0000000100000000/00000001000000000000000a\n"
"unknown 0000000100000000/000000010000000000000100\n"
"unknown 0000000100000000/000000010000000100000003\n"
"unknown 0000000100000000/junk\n"
"unknown 0000000100000000/sub\n"
"dir 0000000100000001 tli=1 seg=256\n"
"seg 0000000100000001/000000010000000100000000 tli=1 seg=256\n"
"dir 0000000100000002 tli=1 seg=512\n"
"seg 0000000100000002/000000010000000200000007 tli=1 seg=519\n"
"history 00000002.history tli=2\n"
"dir 0000000200000000 tli=2 seg=0\n"
"seg 0000000200000000/000000020000000000000005 tli=2 seg=5\n"
"history 00000003.history tli=3\n"
"unknown 0000000300000000\n"
"unknown README\n"
"unknown archive-status\n";

static void
testEmpty(Repo *repo, const char *root)
{
	DrError		err;
	char	   *text;

	text = listText(repo, NULL, &err);
	is_str(text, "", "no archive/wal: nothing listed");
	if (mkdir(tsprintf("%s/archive", root), 0700) < 0 ||
		mkdir(tsprintf("%s/archive/wal", root), 0700) < 0)
		diag("mkdir archive/wal: %s", strerror(errno));
	text = listText(repo, NULL, &err);
	is_str(text, "", "empty archive/wal: nothing listed");
}

static void
testOrderKinds(Repo *repo)
{
	DrError		err;
	RepoArchiveIterParam param = {0};
	RepoArchiveIter *iter;
	const RepoArchiveEntry *entry;
	bool		checked = false;

	param.segSize = SEG16;
	is_str(listText(repo, &param, &err), allEntries,
		   "every entry in name order, with its kind, timeline and segment");

	for (int page = 1; page <= 3; page++)
	{
		param.pageSize = page;
		is_str(listText(repo, &param, &err), allEntries,
			   "pages of %d entries: the same entries", page);
	}
	param.pageSize = 0;

	/* the fields of one entry */
	iter = repoArchiveIterOpen(repo, &param, &err);
	while (iter && repoArchiveIterNext(iter, &entry, &err) && entry != NULL)
	{
		if (strcmp(entry->name, "000000010000000000000002") != 0)
			continue;
		ok(entry->kind == REPO_ARCHIVE_SEGMENT && !entry->isDir &&
		   entry->size == 5 && entry->mtime > 0 &&
		   strcmp(entry->dir, "0000000100000000") == 0 &&
		   strcmp(entry->path,
				  "archive/wal/0000000100000000/000000010000000000000002") == 0,
		   "a segment's size, time, directory and path");
		checked = true;
	}
	repoArchiveIterClose(iter);
	ok(checked, "the segment was listed");

	iter = repoArchiveIterOpen(repo, &param, &err);
	ok(iter && repoArchiveIterNext(iter, &entry, &err) && entry &&
	   entry->kind == REPO_ARCHIVE_DIR && entry->isDir && entry->dir == NULL,
	   "a log directory is at the top (no directory of its own)");
	repoArchiveIterClose(iter);
}

static void
testFilter(Repo *repo)
{
	DrError		err;
	RepoArchiveIterParam param = {0};

	param.segSize = SEG16;
	param.kinds = REPO_ARCHIVE_SEGMENT;
	is_str(listText(repo, &param, &err),
		   "seg 0000000100000000/000000010000000000000001 tli=1 seg=1\n"
		   "seg 0000000100000000/000000010000000000000002 tli=1 seg=2\n"
		   "seg 0000000100000001/000000010000000100000000 tli=1 seg=256\n"
		   "seg 0000000100000002/000000010000000200000007 tli=1 seg=519\n"
		   "seg 0000000200000000/000000020000000000000005 tli=2 seg=5\n",
		   "kinds: segments only");

	param.kinds = REPO_ARCHIVE_HISTORY | REPO_ARCHIVE_UNKNOWN;
	param.tliMin = 3;
	is_str(listText(repo, &param, &err),
		   "history 00000003.history tli=3\n"
		   "unknown 0000000300000000\n"
		   "unknown README\n"
		   "unknown archive-status\n",
		   "kinds and timelines: history files from timeline 3, unknown names at the top");

	param.kinds = REPO_ARCHIVE_DIR | REPO_ARCHIVE_SEGMENT | REPO_ARCHIVE_HISTORY;
	param.tliMin = 2;
	param.tliMax = 2;
	is_str(listText(repo, &param, &err),
		   "history 00000002.history tli=2\n"
		   "dir 0000000200000000 tli=2 seg=0\n"
		   "seg 0000000200000000/000000020000000000000005 tli=2 seg=5\n",
		   "one timeline");

	param.kinds = REPO_ARCHIVE_DIR | REPO_ARCHIVE_SEGMENT | REPO_ARCHIVE_PARTIAL;
	param.tliMin = 0;
	param.tliMax = 1;
	param.segFrom = 2;
	param.segTo = 256;
	is_str(listText(repo, &param, &err),
		   "dir 0000000100000000 tli=1 seg=0\n"
		   "seg 0000000100000000/000000010000000000000002 tli=1 seg=2\n"
		   "partial 0000000100000000/000000010000000000000002.partial tli=1 seg=2\n"
		   "dir 0000000100000001 tli=1 seg=256\n"
		   "seg 0000000100000001/000000010000000100000000 tli=1 seg=256\n",
		   "a range of segments: directories outside it not even listed");

	param.segTo = 0;
	param.segFrom = 300;
	is_str(listText(repo, &param, &err),
		   "dir 0000000100000001 tli=1 seg=256\n"
		   "dir 0000000100000002 tli=1 seg=512\n"
		   "seg 0000000100000002/000000010000000200000007 tli=1 seg=519\n",
		   "a range of segments open at its end: a directory it meets, its segments in the range");

	/* one timeline, a few directories, segments only: by name */
	memset(&param, 0, sizeof(param));
	param.segSize = SEG16;
	param.kinds = REPO_ARCHIVE_SEGMENT | REPO_ARCHIVE_BACKUP;
	param.tliMin = param.tliMax = 1;
	param.segFrom = 0;
	param.segTo = 3 * 256 - 1;
	is_str(listText(repo, &param, &err),
		   "seg 0000000100000000/000000010000000000000001 tli=1 seg=1\n"
		   "backup 0000000100000000/000000010000000000000001.00000028.backup tli=1 seg=1\n"
		   "seg 0000000100000000/000000010000000000000002 tli=1 seg=2\n"
		   "seg 0000000100000001/000000010000000100000000 tli=1 seg=256\n"
		   "seg 0000000100000002/000000010000000200000007 tli=1 seg=519\n",
		   "one timeline and three directories by name: the same entries");

	/* segment size unknown: any valid name, no numbers */
	memset(&param, 0, sizeof(param));
	param.kinds = REPO_ARCHIVE_SEGMENT;
	param.tliMax = 1;
	is_str(listText(repo, &param, &err),
		   "seg 0000000100000000/000000010000000000000001 tli=1 seg=0\n"
		   "seg 0000000100000000/000000010000000000000002 tli=1 seg=0\n"
		   "seg 0000000100000000/000000010000000000000100 tli=1 seg=0\n"
		   "seg 0000000100000001/000000010000000100000000 tli=1 seg=0\n"
		   "seg 0000000100000002/000000010000000200000007 tli=1 seg=0\n",
		   "segment size 0: names valid for any size, no segment numbers");

	/* filters that make no sense */
	memset(&param, 0, sizeof(param));
	param.segTo = 10;
	ok(repoArchiveIterOpen(repo, &param, &err) == NULL &&
	   err.code == DR_ERR_INVALID, "a range of segments without a size: INVALID");
	param.segSize = 12345;
	ok(repoArchiveIterOpen(repo, &param, &err) == NULL &&
	   err.code == DR_ERR_INVALID, "an invalid segment size: INVALID");
	param.segSize = SEG16;
	param.segFrom = 11;
	ok(repoArchiveIterOpen(repo, &param, &err) == NULL &&
	   err.code == DR_ERR_INVALID, "segments ending before they begin: INVALID");
	memset(&param, 0, sizeof(param));
	param.tliMin = 3;
	param.tliMax = 2;
	ok(repoArchiveIterOpen(repo, &param, &err) == NULL &&
	   err.code == DR_ERR_INVALID, "timelines ending before they begin: INVALID");
}

/* Entries removed as they are returned (as retention does). */
static void
testRemoveWhileListing(Repo *repo, const char *root)
{
	DrError		err;
	RepoArchiveIterParam param = {0};
	RepoArchiveIter *iter;
	const RepoArchiveEntry *entry;
	int			seen = 0;
	int			removed = 0;
	bool		ok2;
	char	   *rest;

	archiveDir(root, "0000000500000000");
	for (int i = 1; i <= 7; i++)
		archiveFile(root, tsprintf("0000000500000000/0000000500000000000000%02X", i),
					"x");
	param.segSize = SEG16;
	param.kinds = REPO_ARCHIVE_SEGMENT;
	param.tliMin = 5;
	param.pageSize = 2;
	iter = repoArchiveIterOpen(repo, &param, &err);
	while ((ok2 = repoArchiveIterNext(iter, &entry, &err)) && entry != NULL)
	{
		seen++;
		if (storageRemove(repoStorage(repo), entry->path, &err))
			removed++;
	}
	repoArchiveIterClose(iter);
	ok(ok2 && seen == 7 && removed == 7,
	   "entries removed while listed in pages of 2: each returned once");
	param.pageSize = 0;
	rest = listText(repo, &param, &err);
	is_str(rest, "", "and they are gone");
	rmdir(tsprintf("%s/archive/wal/0000000500000000", root));
}

static void
testStorageError(Repo *repo, const char *root)
{
	DrError		err;
	RepoArchiveIterParam param = {0};
	char	   *loop = tsprintf("%s/archive/wal/loop", root);
	char	   *inner = tsprintf("%s/archive/wal/0000000100000001/loop", root);

	/* a symbolic link to itself: stat fails with ELOOP */
	if (symlink("loop", loop) < 0)
		diag("symlink: %s", strerror(errno));
	ok(listText(repo, NULL, &err) == NULL && err.code == DR_ERR_IO &&
	   strstr(err.message, "loop") != NULL,
	   "an error listing the top ends the iteration with the storage's error");

	param.segSize = SEG16;
	param.kinds = REPO_ARCHIVE_SEGMENT;
	param.tliMin = param.tliMax = 1;
	param.segTo = 511;
	is_str(listText(repo, &param, &err),
		   "seg 0000000100000000/000000010000000000000001 tli=1 seg=1\n"
		   "seg 0000000100000000/000000010000000000000002 tli=1 seg=2\n"
		   "seg 0000000100000001/000000010000000100000000 tli=1 seg=256\n",
		   "by name, the top of the archive is not listed");
	unlink(loop);

	if (symlink("loop", inner) < 0)
		diag("symlink: %s", strerror(errno));
	ok(listText(repo, &param, &err) == NULL && err.code == DR_ERR_IO &&
	   strstr(err.message, "0000000100000001") != NULL,
	   "an error listing a log directory ends the iteration with the storage's error");
	unlink(inner);
	ok(listText(repo, &param, &err) != NULL, "listed again once it is gone");
}

int
main(void)
{
	char	   *root;
	ConfigRepo	config;
	Repo	   *repo;
	DrError		err;

	testTmpRootMake(tmpRoot);
	root = tsprintf("%s/repo", tmpRoot);
	config = testConfigRepo(root, NULL);
	if (!repoCreate(&config, 0, &err) || (repo = repoOpen(&config, &err)) == NULL)
	{
		printf("Bail out! repository: %s\n", err.message);
		return 1;
	}

	testEmpty(repo, root);

	archiveDir(root, "0000000100000000");
	archiveFile(root, "0000000100000000/000000010000000000000002", "seg 2");
	archiveFile(root, "0000000100000000/000000010000000000000001", "seg 1");
	archiveFile(root, "0000000100000000/000000010000000000000002.partial", "p");
	archiveFile(root, "0000000100000000/000000010000000000000001.00000028.backup", "b");
	archiveFile(root, "0000000100000000/000000010000000000000001.summary", "w");
	archiveFile(root, "0000000100000000/000000010000000000000100", "beyond 16 MB");
	archiveFile(root, "0000000100000000/000000010000000100000003", "elsewhere");
	archiveFile(root, "0000000100000000/00000001000000000000000a", "lower");
	archiveFile(root, "0000000100000000/junk", "j");
	archiveFile(root, "0000000100000000/000000010000000000000003.tmp.123.4", "t");
	archiveDir(root, "0000000100000000/sub");
	archiveDir(root, "0000000100000002");
	archiveFile(root, "0000000100000002/000000010000000200000007", "s");
	archiveDir(root, "0000000100000001");
	archiveFile(root, "0000000100000001/000000010000000100000000", "s");
	archiveDir(root, "0000000200000000");
	archiveFile(root, "0000000200000000/000000020000000000000005", "s");
	archiveFile(root, "00000003.history", "h");
	archiveFile(root, "00000002.history", "h");
	archiveFile(root, "0000000300000000", "a file, not a directory");
	archiveFile(root, "README", "r");
	archiveDir(root, "archive-status");

	testOrderKinds(repo);
	testFilter(repo);
	testRemoveWhileListing(repo, root);
	testStorageError(repo, root);

	repoClose(repo);
	testTreeRemove(tmpRoot);
	trackFree();
	return tapDone();
}
