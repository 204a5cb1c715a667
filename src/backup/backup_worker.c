/*-------------------------------------------------------------------------
 * backup_worker.c
 *	  A backup worker: a dynamic background worker that stores files.
 *
 * The leader starts pg_dr.backup_workers of them with the handle of the
 * backup's dynamic shared memory segment.  Each opens the repository
 * itself (its own storage handles and key cache), then claims list entries
 * one at a time until none is left, storing each file (backup_file.c):
 * first the largest files, largest first (their results go to the shared
 * segment), then the rest of the list from the shared counter, in order
 * (their results are appended to the worker's own results file: claims
 * only grow, so each results file is sorted by list index).  A large file
 * stored in parts is claimed part by part when it is among the largest
 * (so that every worker reads it), and stored part after part by the one
 * worker that claims it otherwise; part results go to the worker's
 * ".parts" file.
 *
 * Files below pg_dr.backup_bundle_limit go into the worker's bundle
 * (backup_internal.h), whose objects are numbered from a shared counter so
 * that no two workers use a number.  The worker ends its last bundle
 * object before it reports itself done: the leader writes the manifest
 * only after every worker is done, so every bundle object a manifest names
 * is complete (and, with the storage batch, durable) before it.
 *
 * A worker that fails records its error in the shared segment for the
 * leader, which reports it; one that sees the abort flag (the leader
 * failed or was cancelled) stops at the next chunk it reads.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <unistd.h>

#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/fd.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "backup/backup_internal.h"
#include "backup/backup_progress.h"
#include "common/config.h"
#include "pg_dr.h"
#include "repo/repo.h"
#include "repo/repo_backup.h"

/* The worker's bundle; abandoned (nothing visible) if the worker fails. */
static RepoBundle *workerBundle = NULL;

/* RepoBundleParam.next: bundle numbers from the backup's shared counter. */
static uint32
workerBundleNext(void *arg)
{
	BackupShared *shared = arg;

	return pg_atomic_fetch_add_u32(&shared->nextBundle, 1);
}

static void
workerRun(BackupShared *shared, int workerIndex)
{
	DrConfig   *config;
	Repo	   *repo;
	const CodecDataKey *key = NULL;
	DrError		err;
	int			listFd;
	int			indexFd;
	char	   *resultPath;
	FILE	   *results;
	char	   *partsPath;
	FILE	   *partsFile;
	MemoryContext fileContext;

	config = configLoad(shared->configFile, &err);
	if (config == NULL)
		drEreport(ERROR, &err);
	if (shared->repoIndex < 1 || shared->repoIndex > CONFIG_REPO_MAX ||
		config->repo[shared->repoIndex].index == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("repository %d is no longer configured in \"%s\"",
						shared->repoIndex, shared->configFile)));
	repo = repoOpen(&config->repo[shared->repoIndex], &err);
	if (repo == NULL)
		drEreport(ERROR, &err);
	if (shared->hasKey)
	{
		key = repoDataKeyGet(repo, shared->keyId, &err);
		if (key == NULL)
			drEreport(ERROR, &err);
	}

	listFd = OpenTransientFile(shared->listPath, O_RDONLY | PG_BINARY);
	indexFd = OpenTransientFile(shared->indexPath, O_RDONLY | PG_BINARY);
	if (listFd < 0 || indexFd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open the backup file list: %m")));
	resultPath = psprintf("%s.%d", shared->resultPrefix, workerIndex);
	results = AllocateFile(resultPath, PG_BINARY_W);
	if (results == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", resultPath)));

	partsPath = psprintf("%s.%d.parts", shared->resultPrefix, workerIndex);
	partsFile = AllocateFile(partsPath, PG_BINARY_W);
	if (partsFile == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", partsPath)));
	if (shared->bundleLimit > 0)
	{
		RepoBundleParam param;

		memset(&param, 0, sizeof(param));
		param.prefix = repoBackupBundlePrefix(shared->backupId);
		param.sizeMax = BACKUP_BUNDLE_SIZE;
		param.entryMax = BACKUP_BUNDLE_ENTRY_MAX(shared->bundleLimit);
		param.deferSync = true;
		param.owned = true;
		param.next = workerBundleNext;
		param.nextArg = shared;
		workerBundle = repoBundleNew(repo, &param);
	}

	fileContext = AllocSetContextCreate(CurrentMemoryContext,
										"pg_dr backup file",
										ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		uint64		claim = pg_atomic_fetch_add_u64(&shared->nextBig, 1);
		int			big = -1;
		int64		part = -1;	/* a big file's part claimed, or -1 */
		uint64		index;
		MemoryContext old;
		BackupListEntry entry;
		BackupResult result;
		char	   *path;

		/* the big files first, largest first; then the list in order */
		if (claim < shared->bigUnits[shared->bigCount])
		{
			/* the big file whose units hold claim: bigUnits ascends */
			int			lo = 0;
			int			hi = (int) shared->bigCount - 1;

			while (lo < hi)
			{
				int			mid = (lo + hi + 1) / 2;

				if (shared->bigUnits[mid] <= claim)
					lo = mid;
				else
					hi = mid - 1;
			}
			big = shared->bigOrder[lo];
			index = shared->bigIndex[big];
			if (shared->bigParts[big] > 0)
				part = (int64) (claim - shared->bigUnits[lo]);
		}
		else
		{
			index = pg_atomic_fetch_add_u64(&shared->nextFile, 1);
			if (index >= shared->fileCount)
				break;
			if (backupBigFind(shared, index) >= 0)
				continue;		/* claimed in the first pass */
		}
		if (pg_atomic_read_u32(&shared->abort) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("backup %s was cancelled", shared->backupId)));

		old = MemoryContextSwitchTo(fileContext);
		if (!backupListRead(indexFd, listFd, index, &entry, &path))
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read entry " UINT64_FORMAT " of the backup file list: %m",
							index)));
		if (entry.parts > 0)
		{
			/* one part claimed, or every part of a file not among the big */
			uint32		first = part >= 0 ? (uint32) part : 0;
			uint32		end = part >= 0 ? (uint32) part + 1 : entry.parts;

			for (uint32 k = first; k < end; k++)
			{
				BackupPartResult partResult;

				memset(&partResult, 0, sizeof(partResult));
				partResult.index = index;
				partResult.part = k;
				backupFileStorePart(repo, key, shared, &entry, path, k,
									&partResult);
				if (fwrite(&partResult, sizeof(partResult), 1, partsFile) != 1)
					ereport(ERROR,
							(errcode_for_file_access(),
							 errmsg("could not write file \"%s\": %m", partsPath)));
			}
			/* a file counts as done with its last part */
			if (end == entry.parts)
				pg_atomic_fetch_add_u64(&backupProgress->filesDone, 1);
		}
		else
		{
			memset(&result, 0, sizeof(result));
			result.index = index;
			backupFileStore(repo, key, shared, workerBundle, &entry, path,
							&result);
			if (big >= 0)
				shared->bigResults[big] = result;	/* read after the workers
													 * end */
			else if (fwrite(&result, sizeof(result), 1, results) != 1)
				ereport(ERROR,
						(errcode_for_file_access(),
						 errmsg("could not write file \"%s\": %m", resultPath)));
			pg_atomic_fetch_add_u64(&backupProgress->filesDone, 1);
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(fileContext);
	}

	/* the last bundle object, before the leader can write the manifest */
	if (workerBundle != NULL)
	{
		RepoBundle *bundle = workerBundle;

		workerBundle = NULL;
		if (!repoBundleEnd(bundle, &err))
			drEreport(ERROR, &err);
	}
	if (FreeFile(results) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", resultPath)));
	if (FreeFile(partsFile) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", partsPath)));
	CloseTransientFile(listFd);
	CloseTransientFile(indexFd);
	repoClose(repo);
	configFree(config);
}

void
pg_dr_backup_worker_main(Datum arg)
{
	dsm_segment *segment;
	BackupShared *shared;
	int			workerIndex;
	MemoryContext workerContext;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	CurrentResourceOwner = ResourceOwnerCreate(NULL, "pg_dr backup worker");
	segment = dsm_attach(DatumGetUInt32(arg));
	if (segment == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not attach to the backup's shared memory segment"),
				 errdetail("The backup that started this worker has ended.")));
	shared = dsm_segment_address(segment);
	memcpy(&workerIndex, MyBgworkerEntry->bgw_extra, sizeof(int));
	if (workerIndex < 0 || workerIndex >= BACKUP_WORKERS_MAX)
		elog(ERROR, "invalid backup worker index %d", workerIndex);

	pgstat_report_appname("pg_dr backup worker");
	pg_atomic_write_u32(&shared->worker[workerIndex].state, BACKUP_WORKER_RUNNING);

	workerContext = AllocSetContextCreate(TopMemoryContext, "pg_dr backup worker",
										  ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(workerContext);

	PG_TRY();
	{
		workerRun(shared, workerIndex);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		/* tell the leader why, then let the error end this process */
		MemoryContextSwitchTo(workerContext);
		repoBundleAbort(workerBundle);
		workerBundle = NULL;
		edata = CopyErrorData();
		strlcpy(shared->worker[workerIndex].error, edata->message,
				BACKUP_ERROR_MAX);
		shared->worker[workerIndex].sqlerrcode = edata->sqlerrcode;
		pg_write_barrier();
		pg_atomic_write_u32(&shared->worker[workerIndex].state, BACKUP_WORKER_FAILED);
		PG_RE_THROW();
	}
	PG_END_TRY();

	pg_atomic_write_u32(&shared->worker[workerIndex].state, BACKUP_WORKER_DONE);
	dsm_detach(segment);
}
