/*-------------------------------------------------------------------------
 * test_restore.c
 *	  Unit tests of src/repo/repo_backup.c, src/restore (restore and
 *	  verify), over fake backups written straight into a temporary
 *	  encrypted repository with the repo, manifest and delta writers.
 *
 * The backups: a full one (files, an empty directory, a tablespace with
 * tablespace_map, an oddly named file, WAL), an incremental on top of it
 * (store=parent, deltas that extend and cut files, a new file, a file
 * dropped) and a second incremental on top of that.
 *
 * Covers: paths of objects and of the WAL archive (segments, history,
 * partial and backup history files; other names refused); listing (only
 * directories named like backup ids that have a manifest), latest,
 * resolve; chains (order, missing parent NOT_FOUND naming it, cycle and
 * foreign system identifier CORRUPT); restore of each backup compared
 * byte for byte with a model, with modes, mtimes, directories, the
 * tablespace link and a mapped location, tablespace_map rewritten,
 * recovery.signal, restore_command quoted for the shell, for %-escapes and
 * for the configuration file, WAL in pg_wal, no temporary files left; the
 * origin marker (the repository's identity and the backup) and
 * archive_mode = 'off' by default, neither with asPrimary (and a marker
 * the target had removed), archive_mode kept with RESTORE_ARCHIVE_PRESERVE;
 * the same restore in three jobs (Begin/Prepare/Files x3/Finish) with
 * progress reports through the host hooks (growing, within the plan's
 * totals); a restore its host cancels (DR_ERR_CANCELED, no pg_control,
 * no temporary file); verify's progress, and a cancelled verify (false,
 * result.cancelled); refusals (non-empty target, postmaster.pid, delta over
 * a directory without PG_VERSION, non-empty tablespace location, unknown
 * tablespace mapping, relative target); guards (a target or tablespace
 * location in or around a guarded directory, through a link, "/./",
 * "//" or a missing "x/.." refused before anything is written; path
 * resolution and overlap); delta mode over a modified target
 * (changed, cut, removed, extra files and directories, wrong modes), to an
 * older backup and back; a damaged object, a swapped object and a swapped
 * delta (bound to another name) detected by
 * restore (leaving no file under the name) and by verify, which reports
 * every problem, with its path; a missing parent for restore and verify;
 * verify of a backup that stores no WAL names the archived segment it
 * needs when the archive lacks it.  The full backup's manifest is a version 1
 * one; the second incremental keeps its objects in bundles (repo.h's
 * bundle writer, several bundle objects), so every restore, delta restore
 * and verify of it reads bundle entries; a flipped byte in one bundle
 * entry is caught by restore and verify naming the file's entry, and the
 * other entries of that bundle still read.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/delta.h"
#include "common/manifest.h"
#include "lib/stringinfo.h"
#include "repo/repo.h"
#include "repo/repo_backup.h"
#include "repo/repo_origin.h"
#include "restore/restore.h"
#include "backup/backup_verify.h"
#include "tap.h"
#include "test_support.h"

#define BLCK			1024
#define TS_OID			16400
#define WAL_NAME		"000000010000000000000002"

#define ID_F			"20240101-000000F"
#define ID_I1			"20240102-000000I"
#define ID_I2			"20240103-000000I"

static char tmpRoot[] = "/tmp/test_restore.XXXXXX";

/* One file of a backup: its content as the backup read it, and how stored. */
typedef struct TFile
{
	const char *path;
	ManifestStore store;
	char	   *content;
	size_t		len;
	const uint32 *blocks;		/* store=delta: the pages it holds */
	int			nblocks;
	uint32		mode;
	int64		mtime;
} TFile;

typedef struct TBackup
{
	const char *id;
	const char *parent;
	uint64		sysid;
	TFile	   *files;
	int			nfiles;
	const char *const *dirs;
	int			ndirs;
	const char *tsLocation;		/* NULL: no tablespace */
	bool		wal;
	bool		bundled;		/* objects in bundles (small ones, to make
								 * several), manifest version 2 */
	bool		version1;		/* the manifest says version 1 */
} TBackup;

/* Bundle size of a bundled test backup: a few entries each. */
#define TEST_BUNDLE_SIZE		300

/* RepoBundleParam.next */
static uint32
testBundleNext(void *arg)
{
	return (*(uint32 *) arg)++;
}

static Repo *repo;

static TFile
tf(const char *path, ManifestStore store, char *content, size_t len,
   const uint32 *blocks, int nblocks, uint32 mode, int64 mtime)
{
	TFile		f;

	f.path = path;
	f.store = store;
	f.content = content;
	f.len = len;
	f.blocks = blocks;
	f.nblocks = nblocks;
	f.mode = mode;
	f.mtime = mtime;
	return f;
}
static ConfigRepo testRepoConfig;
static char *walContent;

static char *
contentMake(size_t len, int seed)
{
	char	   *buf = track(palloc(len + 1));

	for (size_t i = 0; i < len; i++)
		buf[i] = (char) ((i * 7 + seed * 13) ^ (i >> 10));
	return buf;
}

static char *
contentCopy(const char *src, size_t len)
{
	char	   *buf = track(palloc(len + 1));

	memcpy(buf, src, len);
	return buf;
}

/*
 * An object of a bundled test backup: an entry of bundle, bound to its
 * data/<path> name, its place in mf (an object that grew past the entry
 * limit would be standalone: these never do).
 */
static bool
testBundlePut(RepoBundle *bundle, const char *path, const void *buf,
			  size_t len, const CodecDataKey *key, ManifestFile *mf,
			  DrError *err)
{
	RepoWriteParam param;
	RepoObjectWrite *ow;
	RepoObjectPlace place;
	CodecResult result;

	memset(&param, 0, sizeof(param));
	param.bundle = bundle;
	param.binding = path;		/* as the backup engine binds it */
	ow = repoObjectWriteBeginParam(repo, path, key, &param, err);
	if (ow == NULL)
		return false;
	if (!repoObjectWrite(ow, buf, len, err))
	{
		repoObjectWriteAbort(ow);
		return false;
	}
	if (!repoObjectWriteEndPlace(ow, &result, &place, err))
		return false;
	if (!place.bundled)
		return drErrorSet(err, DR_ERR_INTERNAL, "\"%s\" was not bundled", path);
	mf->objectSize = result.storedSize;
	mf->bundled = true;
	mf->bundle = place.bundle;
	mf->bundleOffset = place.offset;
	return true;
}

/* Write a backup into the repository: objects, then the manifest. */
static bool
backupWrite(const TBackup *b)
{
	DrError		err;
	const CodecDataKey *key;
	StringInfoData text;
	ManifestWriter *writer;
	ManifestHeader h;
	bool		ok = true;
	RepoBundle *bundle = NULL;
	uint32		bundleNumber = 0;

	if (!repoDataKeyNew(repo, &key, &err))
	{
		diag("key: %s", err.message);
		return false;
	}
	if (b->bundled)
	{
		RepoBundleParam param;

		memset(&param, 0, sizeof(param));
		param.prefix = track(repoBackupBundlePrefix(b->id));
		param.sizeMax = TEST_BUNDLE_SIZE;
		param.entryMax = 1024 * 1024;
		param.next = testBundleNext;
		param.nextArg = &bundleNumber;
		bundle = repoBundleNew(repo, &param);
	}
	testBackupHeader(&h, b->id, "test", key->id, BLCK);
	h.incremental = b->parent != NULL;
	if (b->parent)
		strcpy(h.parentId, b->parent);
	if (b->sysid)
		h.systemIdentifier = b->sysid;

	initStringInfo(&text);
	writer = manifestWriterNew(sbWrite, &text);
	ok &= manifestWriteHeader(writer, &h, &err);
	if (b->tsLocation)
	{
		ManifestTablespace ts = {TS_OID, (char *) b->tsLocation};

		ok &= manifestWriteTablespace(writer, &ts, &err);
	}
	for (int i = 0; ok && i < b->ndirs; i++)
	{
		ManifestDir d = {(char *) b->dirs[i], 0700};

		ok &= manifestWriteDir(writer, &d, &err);
	}
	for (int i = 0; ok && i < b->nfiles; i++)
	{
		const TFile *f = &b->files[i];
		ManifestFile mf;
		CodecResult result;
		char	   *path = repoBackupDataPath(b->id, f->path);

		memset(&mf, 0, sizeof(mf));
		mf.path = (char *) f->path;
		mf.size = f->len;
		mf.mode = f->mode ? f->mode : 0600;
		mf.mtime = f->mtime ? f->mtime : 1700000000 + i;
		ok &= codecSha256(f->content, f->len, mf.sha256, &err);
		mf.store = f->store;
		if (f->store == MANIFEST_STORE_FULL && bundle)
			ok &= testBundlePut(bundle, path, f->content, f->len, key, &mf, &err);
		else if (f->store == MANIFEST_STORE_FULL)
		{
			ok &= repoObjectPutBufferBound(repo, path, f->content, f->len, key, &result, &err);
			mf.objectSize = result.storedSize;
		}
		else if (f->store == MANIFEST_STORE_DELTA)
		{
			StringInfoData delta;
			DeltaWriter *dw;

			initStringInfo(&delta);
			dw = deltaWriterNew(sbWrite, &delta, BLCK, f->len, &err);
			for (int p = 0; dw && p < f->nblocks; p++)
				ok &= deltaWritePage(dw, f->blocks[p],
									 f->content + (size_t) f->blocks[p] * BLCK, &err);
			ok &= dw && deltaWriterEnd(dw, &mf.blocks, &err);
			deltaWriterFree(dw);
			if (bundle)
				ok &= testBundlePut(bundle, path, delta.data, delta.len, key, &mf, &err);
			else
			{
				ok &= repoObjectPutBufferBound(repo, path, delta.data, delta.len, key, &result, &err);
				mf.objectSize = result.storedSize;
			}
			pfree(delta.data);
		}
		ok &= manifestWriteFile(writer, &mf, &err);
		pfree(path);
	}
	if (ok && b->wal)
	{
		ManifestWal w;
		char	   *path = repoBackupWalPath(b->id, WAL_NAME);

		memset(&w, 0, sizeof(w));
		strcpy(w.name, WAL_NAME);
		w.size = 8192;
		ok &= codecSha256(walContent, w.size, w.sha256, &err) &&
			repoObjectPutBuffer(repo, path, walContent, w.size, key, NULL, &err) &&
			manifestWriteWal(writer, &w, &err);
		pfree(path);
	}
	ok = ok && manifestWriterEnd(writer, &err);
	manifestWriterFree(writer);
	if (bundle)
		ok = repoBundleEnd(bundle, ok ? &err : &(DrError) {0}) && ok;
	if (ok && b->bundled)
		ok = ok(bundleNumber > 1, "backup %s: %u bundle objects", b->id,
				 bundleNumber);
	if (ok && b->version1)
	{
		/*
		 * without bundles and parts, version 1 is version 3 but for its
		 * first line and the part-size line
		 */
		char	   *partLine = strstr(text.data, "\npart-size ");
		char	   *partEnd = partLine ? strchr(partLine + 1, '\n') : NULL;

		ok = strncmp(text.data, "pg_dr-manifest 3\n", 17) == 0 &&
			strstr(text.data, " bundle=") == NULL &&
			strstr(text.data, " parts=") == NULL && partEnd != NULL;
		text.data[15] = '1';
		if (ok)
		{
			memmove(partLine, partEnd, text.data + text.len + 1 - partEnd);
			text.len -= (int) (partEnd - partLine);
		}
	}
	if (ok)
	{
		char	   *path = repoBackupManifestPath(b->id);

		ok = repoObjectPutBuffer(repo, path, text.data, text.len, key, NULL, &err);
		pfree(path);
	}
	if (!ok)
		diag("backup %s: %s", b->id, err.message);
	pfree(text.data);
	return ok;
}

/* ---------------------------------------------------------------------
 * The three backups and their models
 * ---------------------------------------------------------------------
 */

static TFile filesF[9];
static TFile filesI1[9];
static TFile filesI2[9];
static TBackup backupF;
static TBackup backupI1;
static TBackup backupI2;
static char *tsLocation;

static const char *const dirsF[] = {
	"base", "base/1", "empty_dir", "global", "pg_tblspc", "pg_tblspc/16400",
	"pg_tblspc/16400/PG_15_1", "pg_tblspc/16400/PG_15_1/1", "pg_wal",
	"pg_wal/archive_status",
};

static const uint32 blocksI1a[] = {1, 4, 5};
static const uint32 blocksI1b[] = {0};
static const uint32 blocksI2a[] = {1, 2};
static const uint32 blocksI2b[] = {0};

static void
backupsMake(void)
{
	char	   *c;
	int			n;

	tsLocation = tsprintf("%s/ts-original", tmpRoot);
	walContent = contentMake(8192, 99);

	/* full: paths in strcmp order */
	n = 0;
	filesF[n++] = tf("PG_VERSION", MANIFEST_STORE_FULL, contentCopy("15\n", 3), 3, NULL, 0, 0, 0);
	filesF[n++] = tf("base/1/100", MANIFEST_STORE_FULL, contentMake(4 * BLCK, 1), 4 * BLCK, NULL, 0, 0, 0);
	filesF[n++] = tf("base/1/200", MANIFEST_STORE_FULL, contentMake(3 * BLCK, 2), 3 * BLCK, NULL, 0, 0640, 1600000000);
	filesF[n++] = tf("base/1/300", MANIFEST_STORE_FULL, contentMake(2 * BLCK, 3), 2 * BLCK, NULL, 0, 0, 0);
	filesF[n++] = tf("global/pg_control", MANIFEST_STORE_FULL, contentMake(64, 4), 64, NULL, 0, 0, 0);
	filesF[n++] = tf("odd name %\n'x'", MANIFEST_STORE_FULL, contentCopy("odd", 3), 3, NULL, 0, 0, 0);
	filesF[n++] = tf("pg_tblspc/16400/PG_15_1/1/500", MANIFEST_STORE_FULL, contentMake(2 * BLCK, 5), 2 * BLCK, NULL, 0, 0, 0);
	filesF[n++] = tf("postgresql.auto.conf", MANIFEST_STORE_FULL, contentCopy("# auto\nwork_mem = '4MB'", 23), 23, NULL, 0, 0, 0);
	c = tsprintf("%d %s\n", TS_OID, tsLocation);
	filesF[n++] = tf("tablespace_map", MANIFEST_STORE_FULL, c, strlen(c), NULL, 0, 0, 0);
	backupF = (TBackup) {ID_F, NULL, 0, filesF, n, dirsF, lengthof(dirsF), tsLocation, true, false, false};
	backupF.version1 = true;

	/* first incremental */
	n = 0;
	filesI1[n++] = tf("PG_VERSION", MANIFEST_STORE_PARENT, filesF[0].content, 3, NULL, 0, 0, 0);
	c = contentMake(6 * BLCK, 0);
	memcpy(c, filesF[1].content, 4 * BLCK);
	memcpy(c + 1 * BLCK, contentMake(BLCK, 11), BLCK);
	memcpy(c + 4 * BLCK, contentMake(2 * BLCK, 12), 2 * BLCK);
	filesI1[n++] = tf("base/1/100", MANIFEST_STORE_DELTA, c, 6 * BLCK, blocksI1a, 3, 0, 0);
	c = contentCopy(filesF[2].content, 2 * BLCK);
	memcpy(c, contentMake(BLCK, 13), BLCK);
	filesI1[n++] = tf("base/1/200", MANIFEST_STORE_DELTA, c, 2 * BLCK, blocksI1b, 1, 0640, 1600000100);
	filesI1[n++] = tf("base/1/400", MANIFEST_STORE_FULL, contentMake(BLCK, 14), BLCK, NULL, 0, 0, 0);
	filesI1[n++] = tf("global/pg_control", MANIFEST_STORE_FULL, contentMake(64, 15), 64, NULL, 0, 0, 0);
	filesI1[n++] = tf("odd name %\n'x'", MANIFEST_STORE_PARENT, filesF[5].content, 3, NULL, 0, 0, 0);
	filesI1[n++] = tf("pg_tblspc/16400/PG_15_1/1/500", MANIFEST_STORE_PARENT, filesF[6].content, 2 * BLCK, NULL, 0, 0, 0);
	filesI1[n++] = tf("postgresql.auto.conf", MANIFEST_STORE_PARENT, filesF[7].content, 23, NULL, 0, 0, 0);
	filesI1[n++] = filesF[8];
	backupI1 = (TBackup) {ID_I1, ID_F, 0, filesI1, n, dirsF, lengthof(dirsF), tsLocation, true, false, false};

	/* second incremental */
	n = 0;
	filesI2[n++] = tf("PG_VERSION", MANIFEST_STORE_PARENT, filesF[0].content, 3, NULL, 0, 0, 0);
	filesI2[n++] = tf("base/1/100", MANIFEST_STORE_PARENT, filesI1[1].content, 6 * BLCK, NULL, 0, 0, 0);
	c = contentMake(3 * BLCK, 0);
	memcpy(c, filesI1[2].content, 2 * BLCK);
	memcpy(c + BLCK, contentMake(2 * BLCK, 16), 2 * BLCK);
	filesI2[n++] = tf("base/1/200", MANIFEST_STORE_DELTA, c, 3 * BLCK, blocksI2a, 2, 0600, 1600000200);
	c = contentCopy(filesI1[3].content, BLCK);
	memcpy(c, contentMake(BLCK, 17), BLCK);
	filesI2[n++] = tf("base/1/400", MANIFEST_STORE_DELTA, c, BLCK, blocksI2b, 1, 0, 0);
	filesI2[n++] = tf("global/pg_control", MANIFEST_STORE_FULL, contentMake(64, 18), 64, NULL, 0, 0, 0);
	filesI2[n++] = tf("odd name %\n'x'", MANIFEST_STORE_PARENT, filesF[5].content, 3, NULL, 0, 0, 0);
	filesI2[n++] = tf("pg_tblspc/16400/PG_15_1/1/500", MANIFEST_STORE_PARENT, filesF[6].content, 2 * BLCK, NULL, 0, 0, 0);
	filesI2[n++] = tf("postgresql.auto.conf", MANIFEST_STORE_PARENT, filesF[7].content, 23, NULL, 0, 0, 0);
	filesI2[n++] = filesF[8];
	backupI2 = (TBackup) {ID_I2, ID_I1, 0, filesI2, n, dirsF, lengthof(dirsF), tsLocation, true, false, false};
	backupI2.bundled = true;

	ok(backupWrite(&backupF) && backupWrite(&backupI1) && backupWrite(&backupI2),
	   "three backups written");
}

/* ---------------------------------------------------------------------
 * Comparing a restored directory with a model
 * ---------------------------------------------------------------------
 */


/* Regular files under dir (following links), relative paths, into names. */
static void
treeFiles(const char *dir, const char *rel, StringInfo names, int *count)
{
	DIR		   *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL)
	{
		char	   *full;
		char	   *childRel;
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		full = psprintf("%s/%s", dir, de->d_name);
		childRel = rel[0] ? psprintf("%s/%s", rel, de->d_name) : pstrdup(de->d_name);
		if (stat(full, &st) == 0)
		{
			if (S_ISDIR(st.st_mode))
				treeFiles(full, childRel, names, count);
			else if (strstr(childRel, "/PG_16_2/") == NULL)
			{
				/* another cluster's directory in a tablespace is not ours */
				appendStringInfo(names, "[%s]", childRel);
				(*count)++;
			}
		}
		pfree(full);
		pfree(childRel);
	}
	closedir(d);
}

/*
 * Does dir hold exactly the files of b (content, mode, mtime), plus
 * recovery.signal, pg_dr.origin and the WAL segment, and nothing else?
 */
static bool
restoredMatches(const char *dir, const TBackup *b, bool tsMapped)
{
	StringInfoData names;
	int			count = 0;
	bool		same = true;
	struct stat st;

	for (int i = 0; i < b->nfiles; i++)
	{
		const TFile *f = &b->files[i];
		char	   *path = tsprintf("%s/%s", dir, f->path);
		size_t		len = 0;
		char	   *got = fileRead(path, &len);
		bool		autoConf = strcmp(f->path, "postgresql.auto.conf") == 0;
		bool		tsMap = strcmp(f->path, "tablespace_map") == 0;

		if (got == NULL)
		{
			diag("%s: missing", f->path);
			same = false;
			continue;
		}
		if (tsMap && tsMapped)
			continue;			/* rewritten; checked by the caller */
		if (autoConf ? (len < f->len || memcmp(got, f->content, f->len) != 0) :
			(len != f->len || memcmp(got, f->content, len) != 0))
		{
			diag("%s: content differs (%zu bytes, expected %zu)", f->path, len, f->len);
			same = false;
		}
		if (!autoConf && (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
						  (st.st_mode & 07777) != (f->mode ? f->mode : 0600) ||
						  st.st_mtime != (f->mtime ? f->mtime : 1700000000 + i)))
		{
			diag("%s: mode %o or mtime %ld wrong", f->path, st.st_mode & 07777,
				 (long) st.st_mtime);
			same = false;
		}
	}

	initStringInfo(&names);
	treeFiles(dir, "", &names, &count);
	if (count != b->nfiles + 3 ||
		strstr(names.data, "[recovery.signal]") == NULL ||
		strstr(names.data, "[" REPO_ORIGIN_FILE "]") == NULL ||
		strstr(names.data, "[pg_wal/" WAL_NAME "]") == NULL ||
		strstr(names.data, "tmp") != NULL)
	{
		diag("files: %d, expected %d: %s", count, b->nfiles + 3, names.data);
		same = false;
	}
	pfree(names.data);
	return same;
}

static bool
isDir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---------------------------------------------------------------------
 * Tests
 * ---------------------------------------------------------------------
 */

static void
testPaths(void)
{
	DrError		err;
	char	   *p;

	p = track(repoBackupManifestPath(ID_F));
	is_str(p, "backup/" ID_F "/manifest", "manifest path");
	p = track(repoBackupDataPath(ID_F, "base/1/2"));
	is_str(p, "backup/" ID_F "/data/base/1/2", "data path");
	p = track(repoBackupWalPath(ID_F, WAL_NAME));
	is_str(p, "backup/" ID_F "/wal/" WAL_NAME, "WAL path of a backup");
	p = track(repoArchiveWalPath(WAL_NAME, &err));
	is_str(p, "archive/wal/0000000100000000/" WAL_NAME, "archived segment");
	p = track(repoArchiveWalPath(WAL_NAME ".partial", &err));
	is_str(p, "archive/wal/0000000100000000/" WAL_NAME ".partial", "partial segment");
	p = track(repoArchiveWalPath(WAL_NAME ".00000028.backup", &err));
	is_str(p, "archive/wal/0000000100000000/" WAL_NAME ".00000028.backup",
		   "backup history file");
	p = track(repoArchiveWalPath("0000000A.history", &err));
	is_str(p, "archive/wal/0000000A.history", "timeline history file");
	p = track(repoArchiveHistoryPath(10));
	is_str(p, "archive/wal/0000000A.history", "history path of a timeline");
	ok(repoArchiveWalPath("../../etc/passwd", &err) == NULL && err.code == DR_ERR_INVALID &&
	   repoArchiveWalPath("00000001000000000000000a", &err) == NULL &&
	   repoArchiveWalPath("0000000a.history", &err) == NULL &&
	   repoArchiveWalPath(WAL_NAME "/x", &err) == NULL &&
	   repoArchiveWalPath("RECOVERYXLOG", &err) == NULL,
	   "other names refused");
}

static void
testList(void)
{
	DrError		err;
	char	  **ids;
	int			count;
	char	   *latest;
	RepoBackupChain *chain;
	char	   *path;

	/* not backups: no manifest; a name that is not an id */
	path = tsprintf("%s/repo/backup/20240104-000000F/data", tmpRoot);
	ok(mkdir(tsprintf("%s/repo/backup/20240104-000000F", tmpRoot), 0700) == 0 &&
	   mkdir(path, 0700) == 0, "an unfinished backup directory");
	{
		const CodecDataKey *key;

		ok(repoDataKeyNew(repo, &key, &err) &&
		   repoObjectPutBuffer(repo, "backup/not-an-id/manifest", "x", 1, key, NULL, &err),
		   "a directory that is not a backup id, with a manifest object");
	}

	ok(repoBackupList(repo, &ids, &count, &err), "list");
	ok(count == 3 && strcmp(ids[0], ID_F) == 0 && strcmp(ids[1], ID_I1) == 0 &&
	   strcmp(ids[2], ID_I2) == 0, "list: the three backups, oldest first");
	repoBackupListFree(ids, count);
	latest = track(repoBackupLatest(repo, &err));
	is_str(latest, ID_I2, "latest");
	latest = track(repoBackupResolve(repo, "latest", &err));
	is_str(latest, ID_I2, "resolve latest");
	ok(repoBackupResolve(repo, "20240104-000000F", &err) == NULL &&
	   err.code == DR_ERR_NOT_FOUND && strstr(err.message, "does not exist"),
	   "resolve: a backup without manifest does not exist");
	ok(repoBackupResolve(repo, "bogus", &err) == NULL && err.code == DR_ERR_INVALID,
	   "resolve: a malformed id");

	chain = repoBackupChain(repo, ID_I2, &err);
	ok(chain && chain->count == 3 && strcmp(chain->ids[0], ID_I2) == 0 &&
	   strcmp(chain->ids[1], ID_I1) == 0 && strcmp(chain->ids[2], ID_F) == 0 &&
	   chain->headers[1].incremental && !chain->headers[2].incremental &&
	   strcmp(chain->headers[0].label, "test") == 0, "chain of the second incremental");
	repoBackupChainFree(chain);
	ok(repoBackupChain(repo, "20240104-000000F", &err) == NULL &&
	   err.code == DR_ERR_NOT_FOUND, "chain of a backup that does not exist");
}

static RestoreParam
paramMake(const char *id, const char *target)
{
	RestoreParam p;

	memset(&p, 0, sizeof(p));
	p.backupId = id;
	p.targetDir = target;
	p.restoreProgram = "/opt/it's/pg%dr";
	p.restoreConfigFile = "/etc/pg_dr.conf";
	p.restoreRepoIndex = 1;
	return p;
}

/*
 * A host (common/host.h) that counts progress reports, checks that the
 * counts of each call grow by one file at a time, and cancels once it has
 * seen cancelAfter reports (-1: never).
 */
typedef struct TestHost
{
	int			reports;
	int			cancelAfter;
	bool		growing;		/* every report one item and its bytes on */
	uint64		lastItems;
	uint64		lastBytes;
	bool		totalsKnown;	/* every report had its totals */
	const char *operation;		/* of the last report */
} TestHost;

static bool
testHostCancelled(void *arg)
{
	TestHost   *h = arg;

	return h->cancelAfter >= 0 && h->reports >= h->cancelAfter;
}

static void
testHostProgress(void *arg, const DrProgress *progress)
{
	TestHost   *h = arg;

	/* a new call (another job) starts from 1 again */
	if (progress->itemsDone != 1 &&
		(progress->itemsDone != h->lastItems + 1 ||
		 progress->bytesDone < h->lastBytes))
		h->growing = false;
	if (progress->itemsTotal == 0 || progress->bytesTotal == 0 ||
		progress->itemsDone > progress->itemsTotal)
		h->totalsKnown = false;
	h->lastItems = progress->itemsDone;
	h->lastBytes = progress->bytesDone;
	h->operation = progress->operation;
	h->reports++;
}

static DrHost
testHostMake(TestHost *h, int cancelAfter)
{
	DrHost		host = {testHostCancelled, testHostProgress, NULL, h, NULL};

	memset(h, 0, sizeof(*h));
	h->cancelAfter = cancelAfter;
	h->growing = true;
	h->totalsKnown = true;
	return host;
}

/* Regular files under dir (recursively), and those with a temporary name. */
static void
testFilesCount(const char *dir, int *files, int *temporary)
{
	DIR		   *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL)
	{
		char	   *path;
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		path = tsprintf("%s/%s", dir, de->d_name);
		if (lstat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode))
			testFilesCount(path, files, temporary);
		else if (S_ISREG(st.st_mode))
		{
			(*files)++;
			if (strstr(de->d_name, ".pg_dr-tmp.") != NULL)
				(*temporary)++;
		}
	}
	closedir(d);
}

static void
testRestore(void)
{
	DrError		err;
	RestoreResult result;
	RestoreParam param;
	RestoreTablespaceMap map;
	char	   *target;
	char	   *text;
	char		linkTarget[MAXPGPATH];
	size_t		len;
	ssize_t		n;

	/* the full backup, its tablespace where it was */
	target = tsprintf("%s/r-full", tmpRoot);
	param = paramMake(ID_F, target);
	memset(&result, 0, sizeof(result));
	if (!ok(restoreRun(repo, &param, &result, &err), "restore of the full backup"))
		diag("%s", err.message);
	ok(restoredMatches(target, &backupF, false), "full: every file as backed up");
	ok(result.filesWritten == 8 && result.walSegments == 1,
	   "full: 8 files written by the files step (pg_control last), 1 WAL segment");
	ok(isDir(tsprintf("%s/empty_dir", target)) && isDir(tsprintf("%s/pg_wal/archive_status", target)),
	   "full: empty directories exist");
	n = readlink(tsprintf("%s/pg_tblspc/%d", target, TS_OID), linkTarget, MAXPGPATH - 1);
	ok(n > 0 && (linkTarget[n] = '\0', strcmp(linkTarget, tsLocation) == 0),
	   "full: pg_tblspc link to the tablespace location");
	ok(fileRead(tsprintf("%s/PG_15_1/1/500", tsLocation), &len) != NULL,
	   "full: the tablespace's file in its location");
	text = fileRead(tsprintf("%s/postgresql.auto.conf", target), &len);
	ok(text && strstr(text, "work_mem = '4MB'\n# recovery settings added by pg_dr restore of backup " ID_F "\n"),
	   "auto.conf: the backup's content, then the settings on lines of their own");
	ok(text && strstr(text, "\nrestore_command = '''/opt/it''\\\\''''s/pg%%dr'' wal-get --config ''/etc/pg_dr.conf'' --repo 1 %f %p'\n"),
	   "restore_command quoted for the shell, %%-escapes and the file");
	if (text && !strstr(text, "restore_command = '''"))
		diag("%s", text);
	ok(text && strstr(text, "\narchive_mode = 'off'\n"),
	   "auto.conf: archive_mode = 'off' by default");
	{
		RepoOrigin	origin;
		bool		found;
		char		identity[REPO_IDENTITY_LEN + 1];

		repoIdentity(repoInfoGet(repo), identity);
		ok(repoOriginRead(target, &origin, &found, &err) && found &&
		   strcmp(origin.repository, identity) == 0 &&
		   strcmp(origin.backup, ID_F) == 0 && origin.restored[0] != '\0',
		   "origin marker: the repository's identity and the backup");
		ok(repoInfoGet(repo)->hasId && strlen(identity) == 2 * REPO_ID_SIZE,
		   "the repository has an id, the identity is its hex");

		/* the new primary: no marker, archive_mode as in the backup */
		target = tsprintf("%s/r-primary", tmpRoot);
		param = paramMake(ID_F, target);
		param.asPrimary = true;
		param.archiveMode = RESTORE_ARCHIVE_PRESERVE;
		map.oid = TS_OID;
		map.fromLocation = NULL;
		map.toLocation = tsprintf("%s/ts-primary", tmpRoot);
		param.tablespaceMap = &map;
		param.tablespaceMapCount = 1;
		if (!ok(restoreRun(repo, &param, NULL, &err), "restore as the new primary"))
			diag("%s", err.message);
		ok(repoOriginRead(target, &origin, &found, &err) && !found,
		   "as primary: no origin marker");
		text = fileRead(tsprintf("%s/postgresql.auto.conf", target), &len);
		ok(text && strstr(text, "archive_mode") == NULL,
		   "as primary: archive_mode left as the backup had it");

		/* kept archive_mode, but not the primary: marker only */
		target = tsprintf("%s/r-preserve", tmpRoot);
		param = paramMake(ID_F, target);
		param.archiveMode = RESTORE_ARCHIVE_PRESERVE;
		map.toLocation = tsprintf("%s/ts-preserve", tmpRoot);
		param.tablespaceMap = &map;
		param.tablespaceMapCount = 1;
		if (!ok(restoreRun(repo, &param, NULL, &err), "restore keeping archive_mode"))
			diag("%s", err.message);
		text = fileRead(tsprintf("%s/postgresql.auto.conf", target), &len);
		ok(text && strstr(text, "archive_mode") == NULL &&
		   repoOriginRead(target, &origin, &found, &err) && found,
		   "archive mode preserve: no archive_mode line, the marker written");

		/* a delta restore as primary removes the marker the target had */
		param.delta = true;
		param.asPrimary = true;
		if (!ok(restoreRun(repo, &param, NULL, &err), "delta restore as primary"))
			diag("%s", err.message);
		ok(repoOriginRead(target, &origin, &found, &err) && !found,
		   "delta as primary: the marker is gone");
		target = tsprintf("%s/r-full", tmpRoot);
	}

	/* the second incremental: three backups merged; tablespace mapped */
	target = tsprintf("%s/r-i2", tmpRoot);
	param = paramMake(ID_I2, target);
	map.oid = TS_OID;
	map.fromLocation = NULL;
	map.toLocation = tsprintf("%s/ts-mapped/", tmpRoot);
	param.tablespaceMap = &map;
	param.tablespaceMapCount = 1;
	if (!ok(restoreRun(repo, &param, &result, &err), "restore of the second incremental"))
		diag("%s", err.message);
	ok(restoredMatches(target, &backupI2, true),
	   "second incremental: full copies with both deltas applied, parents followed");
	ok(access(tsprintf("%s/base/1/300", target), F_OK) != 0,
	   "second incremental: a file dropped since the full is not restored");
	n = readlink(tsprintf("%s/pg_tblspc/%d", target, TS_OID), linkTarget, MAXPGPATH - 1);
	ok(n > 0 && (linkTarget[n] = '\0',
				 strcmp(linkTarget, tsprintf("%s/ts-mapped", tmpRoot)) == 0),
	   "mapped tablespace: link to the new directory");
	ok(fileRead(tsprintf("%s/ts-mapped/PG_15_1/1/500", tmpRoot), &len) != NULL && len == 2 * BLCK,
	   "mapped tablespace: its file there");
	text = fileRead(tsprintf("%s/tablespace_map", target), &len);
	is_str(text, tsprintf("%d %s/ts-mapped\n", TS_OID, tmpRoot),
		   "tablespace_map names the new directory");

	/* the first incremental in three jobs, in-process */
	{
		Restore    *restore;
		TestHost	counts;
		DrHost		host = testHostMake(&counts, -1);
		bool		all = true;

		target = tsprintf("%s/r-i1-jobs", tmpRoot);
		param = paramMake(ID_I1, target);
		map.oid = 0;
		map.fromLocation = tsLocation;
		map.toLocation = tsprintf("%s/ts-jobs", tmpRoot);
		param.tablespaceMap = &map;
		param.tablespaceMapCount = 1;
		param.host = &host;
		restore = restoreBegin(repo, &param, &err);
		ok(restore && restorePlanGet(restore)->files == 9 &&
		   restorePlanGet(restore)->chain->count == 2 &&
		   restorePlanGet(restore)->walSegments == 1 &&
		   restorePlanGet(restore)->dirs == lengthof(dirsF) &&
		   restorePlanGet(restore)->bytes == 3 + 6 * BLCK + 2 * BLCK + BLCK + 64 + 3 +
		   2 * BLCK + 23 + filesF[8].len, "plan: files, bytes, dirs, chain, WAL");
		all &= restore && restorePrepare(restore, &err);
		for (int j = 0; all && j < 3; j++)
			all &= restoreFiles(restore, 3, j, NULL, &err);
		all &= restore && restoreFinish(restore, NULL, &err);
		if (!ok(all, "three jobs"))
			diag("%s", err.message);
		restoreFree(restore);
		/* 8 files by the jobs (pg_control comes last), 1 WAL segment */
		is_int(counts.reports, 9, "progress reported once a file, once a WAL segment");
		ok(counts.growing && counts.totalsKnown,
		   "progress: each call's counts grow by one, within the plan's totals");
		ok(restoredMatches(target, &backupI1, true), "three jobs: the first incremental");
		ok(restoreFiles(restore = restoreBegin(repo, &param, &err), 3, 3, NULL, &err) == false &&
		   err.code == DR_ERR_INVALID, "job index past the jobs refused");
		restoreFree(restore);
	}

	/* cancelled by its host after 3 files: nothing that looks restored */
	{
		TestHost	counts;
		DrHost		host = testHostMake(&counts, 3);
		int			files = 0;
		int			temporary = 0;

		target = tsprintf("%s/r-cancel", tmpRoot);
		param = paramMake(ID_I2, target);
		map.oid = TS_OID;
		map.fromLocation = NULL;
		map.toLocation = tsprintf("%s/ts-cancel", tmpRoot);
		param.tablespaceMap = &map;
		param.tablespaceMapCount = 1;
		param.host = &host;
		ok(!restoreRun(repo, &param, NULL, &err) && err.code == DR_ERR_CANCELED,
		   "cancelled restore: fails with DR_ERR_CANCELED");
		is_int(counts.reports, 3, "cancelled restore: stopped after the third file");
		ok(access(tsprintf("%s/global/pg_control", target), F_OK) != 0 &&
		   access(tsprintf("%s/recovery.signal", target), F_OK) != 0,
		   "cancelled restore: no pg_control, no recovery.signal (cannot be started)");
		testFilesCount(target, &files, &temporary);
		testFilesCount(map.toLocation, &files, &temporary);
		ok(files == 3 && temporary == 0,
		   "cancelled restore: the 3 files reported, no temporary file");
		if (files != 3 || temporary != 0)
			diag("%d files, %d temporary", files, temporary);
	}
}

static void
testRefusals(void)
{
	DrError		err;
	RestoreParam param;
	RestoreTablespaceMap map;
	char	   *target;

	target = tsprintf("%s/nonempty", tmpRoot);
	mkdir(target, 0700);
	fileWrite(tsprintf("%s/PG_VERSION", target), "15\n");
	param = paramMake(ID_F, target);
	ok(!restoreRun(repo, &param, NULL, &err) && err.code == DR_ERR_INVALID &&
	   strstr(err.message, "is not empty") && err.hint[0] != '\0',
	   "a non-empty target is refused, with a hint");
	ok(!isDir(tsprintf("%s/base", target)), "and left alone");

	fileWrite(tsprintf("%s/postmaster.pid", target), "1234\n");
	param.delta = true;
	ok(!restoreRun(repo, &param, NULL, &err) && err.code == DR_ERR_INVALID &&
	   strstr(err.message, "postmaster.pid"), "postmaster.pid refused, even in delta mode");
	unlink(tsprintf("%s/postmaster.pid", target));

	target = tsprintf("%s/not-a-cluster", tmpRoot);
	mkdir(target, 0700);
	fileWrite(tsprintf("%s/precious", target), "keep me\n");
	param = paramMake(ID_F, target);
	param.delta = true;
	ok(!restoreRun(repo, &param, NULL, &err) && strstr(err.message, "no PG_VERSION"),
	   "delta mode refuses a non-empty directory without PG_VERSION");
	ok(access(tsprintf("%s/precious", target), F_OK) == 0, "and leaves it alone");

	/* the original tablespace location holds files from the first restore */
	target = tsprintf("%s/r-ts-busy", tmpRoot);
	param = paramMake(ID_F, target);
	ok(!restoreRun(repo, &param, NULL, &err) && strstr(err.message, "for tablespace 16400 is not empty"),
	   "a non-empty tablespace location is refused");

	map.oid = 99;
	map.fromLocation = NULL;
	map.toLocation = "/tmp/x";
	param.tablespaceMap = &map;
	param.tablespaceMapCount = 1;
	ok(restoreBegin(repo, &param, &err) == NULL && err.code == DR_ERR_INVALID &&
	   strstr(err.message, "no tablespace with oid 99"), "a mapping of an unknown oid refused");
	map.oid = TS_OID;
	map.toLocation = "relative";
	ok(restoreBegin(repo, &param, &err) == NULL && err.code == DR_ERR_INVALID,
	   "a relative tablespace directory refused");
	param = paramMake(ID_F, "relative/dir");
	ok(restoreBegin(repo, &param, &err) == NULL && err.code == DR_ERR_INVALID,
	   "a relative target refused");
	param = paramMake("20991231-000000F", target);
	ok(restoreBegin(repo, &param, &err) == NULL && err.code == DR_ERR_NOT_FOUND,
	   "a backup that does not exist");
}

/* Every way into a guarded directory is refused, before anything is written. */
static void
testGuards(void)
{
	DrError		err;
	RestoreParam param;
	RestoreGuard guards[2];
	RestoreTablespaceMap map;
	char	   *live = tsprintf("%s/live", tmpRoot);
	char	   *real;
	char	   *resolved;
	struct
	{
		const char *target;
		const char *why;
	}			cases[] = {
		{tsprintf("%s/live", tmpRoot), "the live directory itself"},
		{tsprintf("%s/live/", tmpRoot), "with a trailing slash"},
		{tsprintf("%s/./live/sub", tmpRoot), "through /./"},
		{tsprintf("%s//live//sub", tmpRoot), "through //"},
		{tsprintf("%s/x/../live/sub", tmpRoot), "through a missing x/.."},
		{tsprintf("%s/link/pg_replslot", tmpRoot), "through a link to it"},
		{tsprintf("%s/link/new/deeper", tmpRoot), "through a link, several levels missing"},
		{tmpRoot, "holding it"},
		{tsprintf("%s/repo/backup", tmpRoot), "inside the repository"},
	};

	mkdir(live, 0700);
	mkdir(tsprintf("%s/live/pg_replslot", tmpRoot), 0700);
	if (symlink(live, tsprintf("%s/link", tmpRoot)) != 0)
		diag("symlink: %s", strerror(errno));
	real = restorePathResolve(live, &err);

	/* the resolution itself */
	resolved = restorePathResolve(tsprintf("%s/link/./a/../b//c/", tmpRoot), &err);
	is_str(resolved, tsprintf("%s/b/c", real),
		   "resolve: the link followed, missing components taken lexically");
	resolved = restorePathResolve(tsprintf("%s/link/..", tmpRoot), &err);
	ok(resolved && real && strcmp(resolved, real) != 0 &&
	   restorePathOverlap(resolved, real), "resolve: link/.. is the link's parent, as the kernel sees it");
	ok(restorePathResolve("relative", &err) == NULL && err.code == DR_ERR_INVALID,
	   "resolve: a relative path refused");
	ok(!restorePathOverlap("/a/b", "/a/bc") && restorePathOverlap("/a/b", "/a/b/c") &&
	   restorePathOverlap("/a/b/c", "/a/b") && restorePathOverlap("/a", "/a"),
	   "overlap: whole components only, either way");

	guards[0].path = live;
	guards[0].what = "the running cluster's data directory";
	guards[1].path = testRepoConfig.path;
	guards[1].what = "the repository of repo1";
	for (int i = 0; i < (int) lengthof(cases); i++)
	{
		param = paramMake(ID_F, cases[i].target);
		param.guards = guards;
		param.guardCount = 2;
		/* the tablespace's own location is taken by an earlier restore */
		map.oid = TS_OID;
		map.fromLocation = NULL;
		map.toLocation = tsprintf("%s/ts-guard-%d", tmpRoot, i);
		param.tablespaceMap = &map;
		param.tablespaceMapCount = 1;
		if (!ok(!restoreRun(repo, &param, NULL, &err) && err.code == DR_ERR_INVALID &&
				strstr(err.message, " overlaps ") && err.hint[0] != '\0',
				"guard: target refused %s", cases[i].why))
			diag("got: %s", err.message);
	}
	ok(!isDir(tsprintf("%s/live/sub", tmpRoot)) && !isDir(tsprintf("%s/live/pg_replslot/base", tmpRoot)) &&
	   !isDir(tsprintf("%s/live/new", tmpRoot)) && !isDir(tsprintf("%s/ts-guard-0", tmpRoot)),
	   "guard: nothing written");
	param = paramMake(ID_F, tsprintf("%s/link/pg_replslot", tmpRoot));
	param.guards = guards;
	param.guardCount = 2;
	restoreRun(repo, &param, NULL, &err);
	ok(strstr(err.message, tsprintf("(it resolves to \"%s/pg_replslot\")", real)) != NULL,
	   "guard: the message says where the target really is");

	/* a tablespace location is checked too */
	param = paramMake(ID_F, tsprintf("%s/r-guard-ts", tmpRoot));
	param.guards = guards;
	param.guardCount = 2;
	map.toLocation = tsprintf("%s/link/ts", tmpRoot);
	param.tablespaceMap = &map;
	param.tablespaceMapCount = 1;
	ok(!restoreRun(repo, &param, NULL, &err) &&
	   strstr(err.message, tsprintf("for tablespace %d overlaps the running cluster's data directory", TS_OID)),
	   "guard: a tablespace location through a link refused");
	ok(!isDir(tsprintf("%s/r-guard-ts", tmpRoot)), "and the target left alone");

	/* next to a guard is fine */
	map.toLocation = tsprintf("%s/ts-guard-ok", tmpRoot);
	param.targetDir = tsprintf("%s/livex", tmpRoot);
	if (!ok(restoreRun(repo, &param, NULL, &err), "guard: a sibling named like it is restored"))
		diag("%s", err.message);
}

static void
testDelta(void)
{
	DrError		err;
	RestoreParam param;
	RestoreResult result;
	char	   *target = tsprintf("%s/r-i2", tmpRoot);
	RestoreTablespaceMap map;

	/* damage the restored second incremental in every way */
	fileWrite(tsprintf("%s/base/1/100", target), "short");
	fileWrite(tsprintf("%s/PG_VERSION", target), "16\n");	/* same size */
	unlink(tsprintf("%s/base/1/400", target));
	chmod(tsprintf("%s/base/1/200", target), 0666);
	fileWrite(tsprintf("%s/base/1/999", target), "extra");
	mkdir(tsprintf("%s/extra_dir", target), 0700);
	mkdir(tsprintf("%s/extra_dir/sub", target), 0700);
	fileWrite(tsprintf("%s/extra_dir/sub/f", target), "extra");
	fileWrite(tsprintf("%s/standby.signal", target), "");
	fileWrite(tsprintf("%s/pg_wal/000000010000000000000009", target), "old wal");
	fileWrite(tsprintf("%s/ts-mapped/PG_15_1/1/777", tmpRoot), "extra in the tablespace");
	mkdir(tsprintf("%s/ts-mapped/PG_16_2", tmpRoot), 0700);
	fileWrite(tsprintf("%s/ts-mapped/PG_16_2/other", tmpRoot), "another cluster's");

	/* back to the first incremental */
	param = paramMake(ID_I1, target);
	param.delta = true;
	map.oid = TS_OID;
	map.fromLocation = NULL;
	map.toLocation = tsprintf("%s/ts-mapped", tmpRoot);
	param.tablespaceMap = &map;
	param.tablespaceMapCount = 1;
	memset(&result, 0, sizeof(result));
	if (!ok(restoreRun(repo, &param, &result, &err), "delta restore of the first incremental"))
		diag("%s", err.message);
	ok(restoredMatches(target, &backupI1, true), "delta: exactly the first incremental");
	ok(!isDir(tsprintf("%s/extra_dir", target)), "delta: extra directories removed");
	ok(access(tsprintf("%s/ts-mapped/PG_15_1/1/777", tmpRoot), F_OK) != 0,
	   "delta: extra file in the tablespace's version directory removed");
	ok(access(tsprintf("%s/ts-mapped/PG_16_2/other", tmpRoot), F_OK) == 0,
	   "delta: another version's directory in the tablespace left alone");
	ok(result.filesUnchanged == 2 && result.filesWritten == 6 && result.removed == 10,
	   "delta: kept " UINT64_FORMAT ", wrote " UINT64_FORMAT ", removed " UINT64_FORMAT,
	   result.filesUnchanged, result.filesWritten, result.removed);

	/* to the full backup: the dropped file comes back */
	param.backupId = ID_F;
	if (!ok(restoreRun(repo, &param, NULL, &err), "delta restore of the full backup"))
		diag("%s", err.message);
	ok(restoredMatches(target, &backupF, true), "delta: exactly the full backup");

	/*
	 * And again: every file kept but the two restore changes after the
	 * fact (postgresql.auto.conf, and tablespace_map since it is mapped);
	 * recovery.signal, pg_dr.origin and the WAL segment are removed and
	 * written again.
	 */
	memset(&result, 0, sizeof(result));
	if (!ok(restoreRun(repo, &param, &result, &err) && result.filesWritten == 2 &&
	   result.filesUnchanged == 6 && result.removed == 3,
	   "delta over itself: every file kept but auto.conf and tablespace_map"))
		diag("written " UINT64_FORMAT ", kept " UINT64_FORMAT ", removed " UINT64_FORMAT,
			 result.filesWritten, result.filesUnchanged, result.removed);
	ok(restoredMatches(target, &backupF, true), "and still the full backup");
}

/* Problems reported by verify, gathered. */
typedef struct Problems
{
	int			count;
	StringInfoData text;
} Problems;

static void
problemCollect(void *arg, const char *path, const char *message)
{
	Problems   *p = arg;

	p->count++;
	appendStringInfo(&p->text, "%s: %s\n", path, message);
}

static bool
verifyRun(const char *id, bool chain, Problems *problems, VerifyResult *result)
{
	VerifyParam param;

	problems->count = 0;
	resetStringInfo(&problems->text);
	memset(&param, 0, sizeof(param));
	param.chain = chain;
	param.problem = problemCollect;
	param.problemArg = problems;
	return verifyBackup(repo, id, &param, result);
}

static void
fileCopy(const char *from, const char *to)
{
	size_t		len;
	char	   *content = fileRead(from, &len);
	int			fd = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (content == NULL || fd < 0 || write(fd, content, len) != (ssize_t) len)
		diag("cannot copy %s", from);
	if (fd >= 0)
		close(fd);
}

static void
testCorruption(void)
{
	DrError		err;
	RestoreParam param;
	Problems	problems;
	VerifyResult result;
	char	   *repoDir = tsprintf("%s/repo", tmpRoot);
	char	   *deltaObject = tsprintf("%s/backup/%s/data/base/1/100", repoDir, ID_I1);
	char	   *saved = tsprintf("%s/saved-object", tmpRoot);
	char	   *fullObject = tsprintf("%s/backup/%s/data/base/1/300", repoDir, ID_F);
	char	   *savedFull = tsprintf("%s/saved-full", tmpRoot);
	char	   *target;

	initStringInfo(&problems.text);

	/* with a host: progress per file entry and segment; then cancelled */
	{
		TestHost	counts;
		DrHost		host = testHostMake(&counts, -1);
		VerifyParam param;

		memset(&param, 0, sizeof(param));
		param.chain = true;
		param.problem = problemCollect;
		param.problemArg = &problems;
		param.host = &host;
		ok(verifyBackup(repo, ID_I2, &param, &result) && !result.cancelled &&
		   counts.reports == (int) (result.files + result.walSegments) &&
		   counts.growing && strcmp(counts.operation, "verify") == 0,
		   "verify: one progress report per file entry and WAL segment, growing");
		host = testHostMake(&counts, 2);
		ok(!verifyBackup(repo, ID_I2, &param, &result) && result.cancelled &&
		   result.problems == 0 && counts.reports == 2,
		   "cancelled verify: false (not verified), no problem, after 2 reports");
	}
	ok(verifyRun(ID_I2, true, &problems, &result) && problems.count == 0,
	   "verify: the second incremental and its chain are intact");
	/* full: 9 whole + WAL; first incremental: 3 whole, 2 deltas, WAL; second: 2, 2, WAL */
	if (!ok(result.backups == 3 && result.files == 27 && result.walSegments == 3 &&
			result.objects == 10 + 6 + 5, "verify: 3 backups, 27 entries, 21 objects read"))
		diag("%d backups, " UINT64_FORMAT " files, " UINT64_FORMAT " objects",
			 result.backups, result.files, result.objects);
	ok(verifyRun(ID_I2, false, &problems, &result) && result.backups == 1,
	   "verify without the chain: one backup");

	/* a flipped byte in a delta object */
	fileCopy(deltaObject, saved);
	fileByteFlip(deltaObject);
	target = tsprintf("%s/r-corrupt", tmpRoot);
	param = paramMake(ID_I2, target);
	param.tablespaceMap = &(RestoreTablespaceMap) {TS_OID, NULL, tsprintf("%s/ts-corrupt", tmpRoot)};
	param.tablespaceMapCount = 1;
	ok(!restoreRun(repo, &param, NULL, &err) && err.code == DR_ERR_CORRUPT &&
	   strstr(err.message, "\"base/1/100\"") && strstr(err.message, ID_I1),
	   "restore: a damaged object is CORRUPT, naming the file and the backup");
	ok(access(tsprintf("%s/base/1/100", target), F_OK) != 0,
	   "restore: nothing under the damaged file's name");
	ok(access(tsprintf("%s/global/pg_control", target), F_OK) != 0,
	   "restore: no pg_control after a failed restore");
	ok(!verifyRun(ID_I2, true, &problems, &result) && problems.count == 1 &&
	   strstr(problems.text.data, "backup/" ID_I1 "/data/base/1/100: "),
	   "verify: the damaged object, with its path");
	ok(verifyRun(ID_F, true, &problems, &result), "verify: the full backup is still intact");

	/* and a whole object swapped for another of the right kind */
	fileCopy(fullObject, savedFull);
	fileCopy(tsprintf("%s/backup/%s/data/base/1/200", repoDir, ID_F), fullObject);
	ok(!verifyRun(ID_I2, true, &problems, &result) && problems.count == 2 &&
	   strstr(problems.text.data, "backup/" ID_F "/data/base/1/300: object holds"),
	   "verify: every problem reported, the swapped object too");
	target = tsprintf("%s/r-swapped", tmpRoot);
	param = paramMake(ID_F, target);
	param.tablespaceMap = &(RestoreTablespaceMap) {TS_OID, NULL, tsprintf("%s/ts-swapped", tmpRoot)};
	param.tablespaceMapCount = 1;
	ok(!restoreRun(repo, &param, NULL, &err) && err.code == DR_ERR_CORRUPT &&
	   strstr(err.message, "base/1/300"), "restore: a swapped object is CORRUPT");
	fileCopy(savedFull, fullObject);
	fileCopy(saved, deltaObject);
	ok(verifyRun(ID_I2, true, &problems, &result), "verify: intact once repaired");

	/*
	 * A block delta swapped for another file's delta of the same backup
	 * (nothing but the binding ties a delta to its file: manifest.h)
	 */
	fileCopy(deltaObject, saved);
	fileCopy(tsprintf("%s/backup/%s/data/base/1/200", repoDir, ID_I1), deltaObject);
	if (!ok(!verifyRun(ID_I1, false, &problems, &result) && problems.count == 1 &&
			strstr(problems.text.data, "backup/" ID_I1 "/data/base/1/100: ") &&
			strstr(problems.text.data, "bound to another name"),
			"verify: a swapped delta is bound to another name"))
		diag("%s", problems.text.data);
	target = tsprintf("%s/r-swapped-delta", tmpRoot);
	param = paramMake(ID_I1, target);
	param.tablespaceMap = &(RestoreTablespaceMap) {TS_OID, NULL, tsprintf("%s/ts-swapped-delta", tmpRoot)};
	param.tablespaceMapCount = 1;
	if (!ok(!restoreRun(repo, &param, NULL, &err) && err.code == DR_ERR_CORRUPT &&
			strstr(err.message, "base/1/100") &&
			strstr(err.message, "bound to another name"),
			"restore: a swapped delta is CORRUPT"))
		diag("%s", err.message);
	fileCopy(saved, deltaObject);

	/* a missing object */
	rename(tsprintf("%s/backup/%s/wal/%s", repoDir, ID_I2, WAL_NAME), saved);
	ok(!verifyRun(ID_I2, false, &problems, &result) && problems.count == 1 &&
	   strstr(problems.text.data, "/wal/" WAL_NAME ": object is missing"),
	   "verify: a missing WAL segment");
	rename(saved, tsprintf("%s/backup/%s/wal/%s", repoDir, ID_I2, WAL_NAME));

	/*
	 * A flipped byte in the payload of the first entry of a bundle (the
	 * delta of base/1/200, the second incremental's first stored file):
	 * that file fails, naming its entry; the bundle's other entries read.
	 */
	{
		char	   *bundle0 = tsprintf("%s/backup/%s/bundle/0", repoDir, ID_I2);
		char	   *savedBundle = tsprintf("%s/saved-bundle", tmpRoot);
		int			fd;
		char		c = 0;

		fileCopy(bundle0, savedBundle);
		fd = open(bundle0, O_RDWR);
		if (fd < 0 || pread(fd, &c, 1, CODEC_HEADER_SIZE + 20) != 1)
			diag("cannot read %s", bundle0);
		c ^= 0x01;
		if (fd < 0 || pwrite(fd, &c, 1, CODEC_HEADER_SIZE + 20) != 1)
			diag("cannot write %s", bundle0);
		if (fd >= 0)
			close(fd);
		if (!ok(!verifyRun(ID_I2, false, &problems, &result) && problems.count == 1 &&
				strstr(problems.text.data, "backup/" ID_I2 "/bundle/0:0 (base/1/200): ") &&
				strstr(problems.text.data, "failed authentication"),
				"verify: a damaged bundle entry, naming the bundle, offset and file"))
			diag("%s", problems.text.data);
		target = tsprintf("%s/r-bundle", tmpRoot);
		param = paramMake(ID_I2, target);
		param.tablespaceMap = &(RestoreTablespaceMap) {TS_OID, NULL, tsprintf("%s/ts-bundle", tmpRoot)};
		param.tablespaceMapCount = 1;
		if (!ok(!restoreRun(repo, &param, NULL, &err) && err.code == DR_ERR_CORRUPT &&
				strstr(err.message, "could not restore \"base/1/200\" of backup \"" ID_I2 "\"") &&
				strstr(err.message, "entry at offset 0 of object"),
				"restore: a damaged bundle entry is CORRUPT, naming the file"))
			diag("%s", err.message);
		fileCopy(savedBundle, bundle0);
		ok(verifyRun(ID_I2, false, &problems, &result), "verify: the bundle repaired");
	}

	/* a missing parent */
	{
		TFile		orphanFiles[1];
		TBackup		orphan;
		RepoBackupChain *chain;

		orphanFiles[0] = tf("a", MANIFEST_STORE_PARENT, filesF[0].content, 3, NULL, 0, 0, 0);
		orphan = (TBackup) {"20240105-000000I", "20231231-000000F", 0, orphanFiles, 1, NULL, 0,
		NULL, false, false, false};
		ok(backupWrite(&orphan), "an incremental whose parent is gone");
		chain = repoBackupChain(repo, orphan.id, &err);
		ok(chain == NULL && err.code == DR_ERR_NOT_FOUND &&
		   strstr(err.message, "backup \"20231231-000000F\", the parent of \"20240105-000000I\", does not exist"),
		   "chain: the missing parent named");
		param = paramMake(orphan.id, tsprintf("%s/r-orphan", tmpRoot));
		ok(!restoreRun(repo, &param, NULL, &err) && err.code == DR_ERR_NOT_FOUND &&
		   strstr(err.message, "20231231-000000F"), "restore: missing parent, NOT_FOUND");
		ok(!isDir(tsprintf("%s/r-orphan", tmpRoot)), "restore: the target was not created");
		/* it stores no WAL: the archive must have what it needs (it does not) */
		ok(!verifyRun(orphan.id, true, &problems, &result) && problems.count == 2 &&
		   strstr(problems.text.data, "backup/20240105-000000I/manifest: backup \"20231231-000000F\""),
		   "verify: the missing parent reported");
		ok(strstr(problems.text.data, "archive/wal/0000000100000000/" WAL_NAME ": WAL segment "
				  WAL_NAME " is missing from the archive; backup 20240105-000000I needs it") != NULL,
		   "verify: and the archived WAL segment it needs, missing");
	}

	/* a parent of another cluster, and a cycle */
	{
		TFile		files[1];
		TBackup		b;
		RepoBackupChain *chain;

		files[0] = tf("a", MANIFEST_STORE_FULL, filesF[0].content, 3, NULL, 0, 0, 0);
		b = (TBackup) {"20240106-000000I", ID_F, 42, files, 1, NULL, 0, NULL, false, false, false};
		ok(backupWrite(&b), "an incremental of another cluster");
		chain = repoBackupChain(repo, b.id, &err);
		ok(chain == NULL && err.code == DR_ERR_CORRUPT && strstr(err.message, "another cluster"),
		   "chain: a parent of another cluster is CORRUPT");
		b = (TBackup) {"20240107-000000I", "20240108-000000I", 0, files, 1, NULL, 0, NULL, false, false, false};
		ok(backupWrite(&b), "incremental A with parent B");
		b = (TBackup) {"20240108-000000I", "20240107-000000I", 0, files, 1, NULL, 0, NULL, false, false, false};
		ok(backupWrite(&b), "incremental B with parent A");
		chain = repoBackupChain(repo, b.id, &err);
		ok(chain == NULL && err.code == DR_ERR_CORRUPT && strstr(err.message, "cycle"),
		   "chain: a cycle is CORRUPT");
	}
	pfree(problems.text.data);
}

int
main(void)
{
	DrError		err;
	char	   *keyFile;
	int			fd;

	testTmpRootMake(tmpRoot);
	keyFile = tsprintf("%s/key", tmpRoot);
	fd = open(keyFile, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, "correct horse battery staple, and more of it\n", 45) != 45)
	{
		printf("Bail out! key file: %s\n", strerror(errno));
		return 1;
	}
	close(fd);

	testRepoConfig = testConfigRepo(tsprintf("%s/repo", tmpRoot), keyFile);
	if (!repoCreate(&testRepoConfig, 1000, &err) ||
		(repo = repoOpen(&testRepoConfig, &err)) == NULL)
	{
		printf("Bail out! repository: %s\n", err.message);
		return 1;
	}

	testPaths();
	backupsMake();
	testList();
	testRestore();
	testRefusals();
	testGuards();
	testDelta();
	testCorruption();

	repoClose(repo);
	testTreeRemove(tmpRoot);
	trackFree();
	return tapDone();
}
