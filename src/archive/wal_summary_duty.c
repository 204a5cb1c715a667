/*-------------------------------------------------------------------------
 * wal_summary_duty.c
 *	  The WAL summary duty: the archive part's duty in the pg_dr worker,
 *	  which summarizes every archived segment (wal_summary.h) and stores
 *	  the summary next to it in the archive.
 *
 * Why a duty of the worker and not the archive module: the archiver must
 * return as soon as a segment is durable (each second it spends is RPO
 * at risk under a backlog), while a summary can wait; decoding 16 MB of
 * WAL in the archiver would delay every segment behind it.  The worker
 * reads the segment back from the repository instead (the archive holds
 * it; pg_wal may have recycled it already), and a summary is never needed
 * for correctness: an incremental backup decodes whatever the summaries
 * do not cover yet, or reads everything.
 *
 * Segment N is summarized once the archive holds N and N + 1 (a record
 * that begins in N may end in N + 1), from where N - 1's summary ended
 * (the records chain), or, with no summary of N - 1, from the first
 * record that begins in N.  A segment missing from the archive while a
 * later one is there is a gap: it is skipped, and the chain of summaries
 * breaks there, which is what an incremental across it sees.
 *
 * Where it starts, when the worker starts or the timeline changes: after
 * the newest summary of the timeline; with none, at the start segment of
 * the newest backup (an incremental needs summaries from its parent's
 * start on; WAL before is of no use); with no backup, nowhere yet.
 *
 * Each round summarizes at most WAL_SUMMARY_ROUND_MAX segments and asks
 * to run again at once when it did, so that the other duties keep their
 * turn under a backlog.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "miscadmin.h"
#include "postmaster/pgarch.h"
#include "utils/timestamp.h"

#include "archive/archive_internal.h"
#include "archive/wal_summarize.h"
#include "common/wal.h"
#include "ops/duty.h"
#include "pg_dr.h"
#include "repo/repo_archive.h"
#include "repo/repo_backup.h"

#define WAL_SUMMARY_POLL_MS		10000
#define WAL_SUMMARY_ROUND_MAX	8

static ArchiveTarget sumTarget;
static bool sumTargetReady = false;

/* where the next summary starts (sumKnown: worked out for sumTli) */
static bool sumKnown = false;
static uint32 sumTli = 0;
static uint64 sumNextSegno = 0;
static XLogRecPtr sumNextStart = InvalidXLogRecPtr;	/* 0: first record */

static TimestampTz sumLastRound = 0;
static bool sumMore = false;

static void
sumCheck(bool ok, DrError *err)
{
	if (!ok)
		drEreport(ERROR, err);
}

static bool
sumArchived(Repo *repo, uint32 tli, uint64 segno)
{
	char		name[WAL_NAME_LEN + 1];
	char	   *path;
	bool		exists;
	DrError		err;

	walSegmentName(name, tli, segno, wal_segment_size);
	path = repoArchiveWalPath(name, &err);
	sumCheck(path != NULL, &err);
	sumCheck(storageExists(repoStorage(repo), path, &exists, &err), &err);
	pfree(path);
	return exists;
}

/* Where the next summary of timeline tli starts; false: nowhere yet. */
static bool
sumFindStart(Repo *repo, uint32 tli)
{
	RepoArchiveIterParam filter = {0};
	RepoArchiveIter *iter;
	const RepoArchiveEntry *entry;
	char	   *lastPath = NULL;
	uint64		lastSegno = 0;
	DrError		err;
	bool		ok;
	char	   *latest;

	filter.kinds = REPO_ARCHIVE_SUMMARY;
	filter.segSize = wal_segment_size;
	filter.tliMin = filter.tliMax = tli;
	iter = repoArchiveIterOpen(repo, &filter, &err);
	sumCheck(iter != NULL, &err);
	while ((ok = repoArchiveIterNext(iter, &entry, &err)) && entry != NULL)
	{
		if (lastPath)
			pfree(lastPath);
		lastPath = pstrdup(entry->path);
		lastSegno = entry->segno;
	}
	repoArchiveIterClose(iter);
	sumCheck(ok, &err);

	if (lastPath != NULL)
	{
		size_t		len;
		char	   *buf = repoObjectGetBuffer(repo, lastPath, &len, 1024 * 1024 * 1024, &err);
		WalSummary *s;

		sumCheck(buf != NULL, &err);
		s = walSummaryDecode(buf, len, &err);
		if (s == NULL)
			drErrorPrefix(&err, "\"%s\"", lastPath);
		sumCheck(s != NULL, &err);
		sumNextSegno = lastSegno + 1;
		sumNextStart = s->endLsn;
		walSummaryFree(s);
		return true;
	}

	latest = repoBackupLatest(repo, &err);
	if (latest == NULL && err.code == DR_ERR_NOT_FOUND)
		return false;
	sumCheck(latest != NULL, &err);
	{
		RepoBackupManifest *manifest = repoBackupManifestOpen(repo, latest, &err);
		const ManifestHeader *h;

		sumCheck(manifest != NULL, &err);
		h = repoBackupManifestHeader(manifest);
		if (h->timeline == tli)
			sumNextSegno = walSegmentOf(h->startLsn, wal_segment_size);
		else
			sumNextSegno = walSegmentOf(GetXLogInsertRecPtr(), wal_segment_size);
		repoBackupManifestClose(manifest);
	}
	sumNextStart = InvalidXLogRecPtr;
	return true;
}

/* Summarize segment sumNextSegno and store the summary. */
static void
sumOne(Repo *repo, const CodecDataKey *key, uint32 tli)
{
	WalSummarizeParam param;
	WalSummary *s;
	char		name[WAL_NAME_LEN + 1];
	char	   *path;
	StringInfoData buf;
	DrError		err;

	memset(&param, 0, sizeof(param));
	param.tli = tli;
	param.segSize = wal_segment_size;
	param.systemIdentifier = GetSystemIdentifier();
	param.startLsn = sumNextStart;
	param.firstSegno = sumNextSegno;
	XLogSegNoOffsetToRecPtr(sumNextSegno + 1, 0, wal_segment_size, param.stopLsn);
	param.repo = repo;
	param.localFirst = false;

	s = walSummarize(&param, &err);
	sumCheck(s != NULL, &err);

	walSegmentName(name, tli, sumNextSegno, wal_segment_size);
	path = repoArchiveSummaryPath(name, &err);
	sumCheck(path != NULL, &err);
	initStringInfo(&buf);
	walSummaryEncode(s, &buf);
	/* there already: made before a restart, from the same WAL */
	if (!repoObjectPutBuffer(repo, path, buf.data, buf.len, key, NULL, &err) &&
		err.code != DR_ERR_EXISTS)
		drEreport(ERROR, &err);
	/*
	 * Expire may have removed the segment meanwhile (a new full backup
	 * made it useless): then the summary goes too.  Should expire remove
	 * the segment between this check and its listing of the directory,
	 * the next expire removes the summary, which it decides by name.
	 */
	if (!sumArchived(repo, tli, sumNextSegno) &&
		!storageRemove(repoStorage(repo), path, &err))
		drEreport(WARNING, &err);
	if (!s->vouched)
		ereport(LOG,
				(errmsg("pg_dr: the WAL summary of segment %s does not vouch for its blocks: %s",
						name, s->reason),
				 errdetail("An incremental backup across it reads every file whole.")));
	sumNextSegno++;
	sumNextStart = s->endLsn;
	walSummaryFree(s);
	pfree(buf.data);
	pfree(path);
}

static void
sumRoundStep(void *arg)
{
	DrError		err;
	int			repoNumber;
	uint32		tli = GetWALInsertionTimeLine();
	Repo	   *repo;
	const CodecDataKey *key;
	int			done = 0;

	if (!sumTargetReady)
	{
		archiveTargetInit(&sumTarget, false, 0);
		sumTargetReady = true;
	}
	sumCheck(archiveTargetRefresh(&sumTarget, &repoNumber, &err), &err);
	repo = sumTarget.repo;
	key = sumTarget.keyNone ? NULL : &sumTarget.key;

	if (!sumKnown || sumTli != tli)
	{
		if (!sumFindStart(repo, tli))
			return;
		sumKnown = true;
		sumTli = tli;
	}

	while (done < WAL_SUMMARY_ROUND_MAX)
	{
		if (!sumArchived(repo, tli, sumNextSegno + 1))
			break;
		if (!sumArchived(repo, tli, sumNextSegno))
		{
			char		name[WAL_NAME_LEN + 1];
			char		ready[MAXPGPATH];
			struct stat st;

			/*
			 * Still to be archived (the push workers store segments in
			 * parallel, so the next one can land first): wait for it.
			 */
			walSegmentName(name, tli, sumNextSegno, wal_segment_size);
			snprintf(ready, sizeof(ready), XLOGDIR "/archive_status/%s.ready", name);
			if (stat(ready, &st) == 0)
				break;

			/* a gap in the archive: the chain of summaries breaks here */
			ereport(LOG,
					(errmsg("pg_dr: segment %s is missing from the archive; it has no WAL summary",
							name)));
			sumNextSegno++;
			sumNextStart = InvalidXLogRecPtr;
			continue;
		}
		sumOne(repo, key, tli);
		done++;
	}
	sumMore = (done == WAL_SUMMARY_ROUND_MAX);
}

static TimestampTz
sumNextDue(TimestampTz now, void *arg)
{
	if (sumMore)
		return now;
	return TimestampTzPlusMilliseconds(sumLastRound, WAL_SUMMARY_POLL_MS);
}

static bool
sumRun(TimestampTz now, void *arg)
{
	bool		ok;

	sumLastRound = now;
	sumMore = false;
	if (RecoveryInProgress() || !XLogArchivingActive() ||
		XLogArchiveLibrary == NULL || strcmp(XLogArchiveLibrary, "pg_dr") != 0)
		return true;
	ok = dutyXactRun("pg_dr: summarizing archived WAL", sumRoundStep, NULL);
	if (!ok)
	{
		/* worked out again: the failure may have been halfway */
		sumKnown = false;
		archiveTargetClose(&sumTarget);
	}
	return ok;
}

void
archiveDutiesRegister(void)
{
	dutyRegister("wal summary", sumNextDue, sumRun, NULL, WAL_SUMMARY_POLL_MS);
}
