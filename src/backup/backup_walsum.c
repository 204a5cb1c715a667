/*-------------------------------------------------------------------------
 * backup_walsum.c
 *	  An incremental backup that reads only what changed: the WAL summary
 *	  of the range from the parent's start to this backup's start, made by
 *	  the leader, and the blocks of each relation file it names, picked by
 *	  the workers (archive/wal_summary.h has the format and the decision).
 *
 * The leader (backupWalSummaryPrepare, after pg_backup_start, before the
 * workers start) chains the archive's summaries from the parent's start
 * LSN: each must start where the previous one ended, and the first at or
 * before the parent's start (a start LSN is a record boundary).  What the
 * summaries do not cover yet (the summary duty runs every few seconds and
 * needs the next segment archived; the last segments are still in pg_wal)
 * it decodes itself, from pg_wal, else from the archive; the backup's
 * temporary replication slot keeps pg_wal from its start on, and a segment
 * recycled before that is in the archive.  It stores the merged summary as
 * backup/<id>/wal-summary (not named by the manifest: a record of what the
 * backup relied on, removed with the backup), and the workers read that.
 *
 * Anything that cannot be vouched for reads everything, as before: a
 * parent on another timeline, a summary missing between two others (a gap
 * in the chain), a summary that does not vouch, WAL that cannot be read or
 * decoded.  The leader says why in the server log.
 *
 * Why the pages not named need not be read: a page the parent has and the
 * WAL of the range never referred to was not written since the parent's
 * start (every change of a WAL-logged page is a record that refers to it,
 * hint bits included when data checksums or wal_log_hints are on; without
 * them a hint bit is all that can differ, which is harmless).  Pages
 * changed after this backup's start are replayed from their full-page
 * images, as always.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "utils/memutils.h"

#include "archive/wal_summarize.h"
#include "backup/backup_internal.h"
#include "common/wal.h"
#include "pg_dr.h"
#include "repo/repo.h"
#include "repo/repo_archive.h"
#include "repo/repo_backup.h"

#define BACKUP_WALSUM_NAME		"wal-summary"
#define BACKUP_WALSUM_MAX		((size_t) 1024 * 1024 * 1024)

static char *
walsumPath(const char *backupId)
{
	return psprintf("%s/%s/%s", REPO_BACKUP_DIR, backupId, BACKUP_WALSUM_NAME);
}

static void
walsumFallback(const char *backupId, const char *why)
{
	ereport(LOG,
			(errmsg("pg_dr: incremental backup %s reads every file whole: %s",
					backupId, why)));
}

/* WAL the leader decodes itself at most (see below), in segments */
#define BACKUP_WALSUM_DECODE_SEGMENTS	64

bool
backupWalSummaryPrepare(Repo *repo, const CodecDataKey *key,
						const char *backupId, const ManifestHeader *parent,
						uint64 startLsn, uint32 tli)
{
	RepoArchiveIterParam filter = {0};
	RepoArchiveIter *iter;
	const RepoArchiveEntry *entry;
	WalSummaryBuilder *b;
	WalSummary *merged;
	uint64		cursor = parent->startLsn;
	uint64		startSeg = walSegmentOf(parent->startLsn, wal_segment_size);
	int			used = 0;
	char	   *why = NULL;
	DrError		err;
	bool		ok = true;
	StringInfoData buf;
	char	   *path;

	if (parent->timeline != tli)
	{
		walsumFallback(backupId, psprintf("the parent backup is on timeline %u, this one on %u",
										  parent->timeline, tli));
		return false;
	}

	b = walSummaryBuilderNew(tli, parent->startLsn);

	/* the archive's summaries, chained from the parent's start */
	filter.kinds = REPO_ARCHIVE_SUMMARY;
	filter.segSize = wal_segment_size;
	filter.tliMin = filter.tliMax = tli;
	filter.segFrom = startSeg > 0 ? startSeg - 1 : 0;
	iter = repoArchiveIterOpen(repo, &filter, &err);
	if (iter == NULL)
		drEreport(ERROR, &err);
	while (cursor < startLsn &&
		   (ok = repoArchiveIterNext(iter, &entry, &err)) && entry != NULL)
	{
		size_t		len;
		char	   *data = repoObjectGetBuffer(repo, entry->path, &len,
											   BACKUP_WALSUM_MAX, &err);
		WalSummary *s = data ? walSummaryDecode(data, len, &err) : NULL;

		if (s == NULL)
		{
			why = psprintf("WAL summary \"%s\" could not be read: %s",
						   entry->name, err.message);
			break;
		}
		pfree(data);
		if (s->endLsn <= cursor)
		{
			walSummaryFree(s);
			continue;
		}
		if (s->startLsn > cursor)
		{
			why = psprintf("the WAL summaries have a gap from %X/%X to %X/%X (before \"%s\")",
						   LSN_FORMAT_ARGS(cursor), LSN_FORMAT_ARGS(s->startLsn),
						   entry->name);
			walSummaryFree(s);
			break;
		}
		if (!s->vouched)
		{
			why = psprintf("WAL summary \"%s\" does not vouch for its blocks: %s",
						   entry->name, s->reason);
			walSummaryFree(s);
			break;
		}
		walSummaryAddSummary(b, s);
		cursor = s->endLsn;
		used++;
		walSummaryFree(s);
	}
	repoArchiveIterClose(iter);
	if (why == NULL && !ok)
		drEreport(ERROR, &err);

	/*
	 * The rest, not summarized yet -- within bounds: the leader decodes it
	 * before the workers start, while nothing renews the backup's lock or
	 * asks for cancel, so a summary duty far behind means reading every
	 * file whole instead.
	 */
	if (why == NULL && cursor < startLsn &&
		startLsn - cursor > (uint64) BACKUP_WALSUM_DECODE_SEGMENTS * wal_segment_size)
		why = psprintf("the archive's WAL summaries end at %X/%X, more than %d segments before the backup's start %X/%X",
					   LSN_FORMAT_ARGS(cursor), BACKUP_WALSUM_DECODE_SEGMENTS,
					   LSN_FORMAT_ARGS(startLsn));
	if (why == NULL && cursor < startLsn)
	{
		WalSummarizeParam param;
		WalSummary *tail;

		memset(&param, 0, sizeof(param));
		param.tli = tli;
		param.segSize = wal_segment_size;
		param.systemIdentifier = GetSystemIdentifier();
		param.startLsn = cursor;
		param.stopLsn = startLsn;
		param.repo = repo;
		param.localFirst = true;
		tail = walSummarize(&param, &err);
		if (tail == NULL)
			why = psprintf("the WAL from %X/%X to %X/%X could not be read: %s",
						   LSN_FORMAT_ARGS(cursor), LSN_FORMAT_ARGS(startLsn),
						   err.message);
		else if (!tail->vouched)
			why = psprintf("the WAL from %X/%X on cannot be vouched for: %s",
						   LSN_FORMAT_ARGS(cursor), tail->reason);
		else
			walSummaryAddSummary(b, tail);
		walSummaryFree(tail);
	}
	if (why != NULL)
	{
		walsumFallback(backupId, why);
		return false;
	}

	merged = walSummaryBuilderEnd(b, startLsn);
	initStringInfo(&buf);
	walSummaryEncode(merged, &buf);
	path = walsumPath(backupId);
	if (!repoObjectPutBuffer(repo, path, buf.data, buf.len, key, NULL, &err))
		drEreport(ERROR, &err);
	ereport(LOG,
			(errmsg("pg_dr: incremental backup %s reads the blocks that the WAL from %X/%X to %X/%X touched in %u relation forks (%d archived WAL summaries, the WAL from %X/%X decoded)",
					backupId, LSN_FORMAT_ARGS(parent->startLsn),
					LSN_FORMAT_ARGS(startLsn), merged->count, used,
					LSN_FORMAT_ARGS(cursor))));
	walSummaryFree(merged);
	pfree(buf.data);
	pfree(path);
	return true;
}

/* The worker's copy of the backup's summary (a worker serves one backup). */
static WalSummary *walsumLoaded = NULL;

static const WalSummary *
walsumGet(Repo *repo, const BackupShared *shared)
{
	if (walsumLoaded == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
		char	   *path = walsumPath(shared->backupId);
		size_t		len;
		DrError		err;
		char	   *data = repoObjectGetBuffer(repo, path, &len, BACKUP_WALSUM_MAX, &err);

		if (data == NULL)
			drEreport(ERROR, &err);
		walsumLoaded = walSummaryDecode(data, len, &err);
		if (walsumLoaded == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("could not read \"%s\": %s", path, err.message)));
		pfree(data);
		pfree(path);
		MemoryContextSwitchTo(old);
	}
	return walsumLoaded;
}

/* Has the relation of main-fork file path an init fork (unlogged)? */
static bool
walsumUnlogged(const char *path)
{
	const char *dot = strrchr(path, '.');
	const char *slash = strrchr(path, '/');
	size_t		len = (dot != NULL && (slash == NULL || dot > slash)) ?
		(size_t) (dot - path) : strlen(path);
	char	   *init = psprintf("%.*s_init", (int) len, path);
	struct stat st;
	bool		unlogged = stat(init, &st) == 0;

	pfree(init);
	return unlogged;
}

bool
backupWalSummaryPick(Repo *repo, const BackupShared *shared, const char *path,
					 uint64 parentSize, uint64 size, uint32 **picked,
					 uint32 *count)
{
	const char *why;

	if (!shared->walSummary)
		return false;
	return walSummaryPick(walsumGet(repo, shared), path, walsumUnlogged(path),
						  RELSEG_SIZE, (uint32) (parentSize / BLCKSZ),
						  (uint32) (size / BLCKSZ), picked, count, &why);
}
