/*-------------------------------------------------------------------------
 * restore_jobs.c
 *	  The parallel restore job engine (restore_jobs.h): the split of the
 *	  files among jobs, the wait loop over a launcher's jobs, one job's
 *	  share.
 *
 * Why the split needs two passes and not a list of files per job: a job
 * walks the merged manifests of the chain anyway (restoreFiles), so it
 * only has to know, file by file, whether the file is its own.  Keeping
 * the largest files (placed up front) and the running byte count per job
 * is enough for that, and stays small whatever the number of files.
 *
 * Why the engine fails on the first failed job rather than letting the
 * others finish: the restore cannot complete anyway, and a job that
 * failed for want of space or on a damaged object would be followed by
 * the others into the same wall.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <time.h>

#include "restore/restore_internal.h"
#include "restore/restore_jobs.h"

/* ---------------------------------------------------------------------
 * The split
 * ---------------------------------------------------------------------
 */

/* a ranks below b: smaller, or as large and later in the manifest */
static bool
restoreJobBigBelow(const RestoreJobBig *a, const RestoreJobBig *b)
{
	return a->size != b->size ? a->size < b->size : a->ordinal > b->ordinal;
}

static void
restoreJobBigSwap(RestoreJobBig *a, RestoreJobBig *b)
{
	RestoreJobBig tmp = *a;

	*a = *b;
	*b = tmp;
}

/* Restore the min-heap property from position i down. */
static void
restoreJobHeapDown(RestoreJobBig *heap, int count, int i)
{
	for (;;)
	{
		int			least = i;
		int			l = 2 * i + 1;
		int			r = l + 1;

		if (l < count && restoreJobBigBelow(&heap[l], &heap[least]))
			least = l;
		if (r < count && restoreJobBigBelow(&heap[r], &heap[least]))
			least = r;
		if (least == i)
			return;
		restoreJobBigSwap(&heap[i], &heap[least]);
		i = least;
	}
}

void
restoreJobSplitInit(RestoreJobSplit *split, int jobs, int bigMax)
{
	Assert(jobs >= 1 && jobs <= RESTORE_JOBS_MAX && bigMax >= 0);
	memset(split, 0, sizeof(*split));
	split->jobs = jobs;
	split->bigMax = bigMax;
	if (bigMax > 0)
		split->big = palloc(bigMax * sizeof(RestoreJobBig));
}

void
restoreJobSplitAdd(RestoreJobSplit *split, uint64 size)
{
	RestoreJobBig item;

	Assert(!split->placed);
	item.ordinal = split->files++;
	item.size = size;
	item.job = -1;
	if (split->bigMax == 0)
		return;
	if (split->bigCount < split->bigMax)
	{
		/* sift up */
		int			i = split->bigCount++;

		split->big[i] = item;
		while (i > 0 && restoreJobBigBelow(&split->big[i], &split->big[(i - 1) / 2]))
		{
			restoreJobBigSwap(&split->big[i], &split->big[(i - 1) / 2]);
			i = (i - 1) / 2;
		}
	}
	else if (restoreJobBigBelow(&split->big[0], &item))
	{
		split->big[0] = item;
		restoreJobHeapDown(split->big, split->bigCount, 0);
	}
}

/* The job with the fewest bytes, then the fewest files, then the lowest. */
static int
restoreJobLeast(const uint64 *load, const uint64 *files, int jobs)
{
	int			least = 0;

	for (int j = 1; j < jobs; j++)
		if (load[j] < load[least] ||
			(load[j] == load[least] && files[j] < files[least]))
			least = j;
	return least;
}

static int
restoreJobBigCmpSize(const void *a, const void *b)
{
	const RestoreJobBig *x = a;
	const RestoreJobBig *y = b;

	/* largest first; as large: first in the manifest first */
	if (restoreJobBigBelow(x, y))
		return 1;
	if (restoreJobBigBelow(y, x))
		return -1;
	return 0;
}

static int
restoreJobBigCmpOrdinal(const void *a, const void *b)
{
	const RestoreJobBig *x = a;
	const RestoreJobBig *y = b;

	return x->ordinal < y->ordinal ? -1 : x->ordinal > y->ordinal ? 1 : 0;
}

void
restoreJobSplitPlace(RestoreJobSplit *split)
{
	Assert(!split->placed);
	if (split->bigCount > 0)
	{
		qsort(split->big, split->bigCount, sizeof(RestoreJobBig),
			  restoreJobBigCmpSize);
		for (int i = 0; i < split->bigCount; i++)
		{
			int			job = restoreJobLeast(split->bigLoad, split->bigFiles,
											  split->jobs);

			split->big[i].job = job;
			split->bigLoad[job] += split->big[i].size;
			split->bigFiles[job]++;
		}
		/* the second pass meets them in manifest order */
		qsort(split->big, split->bigCount, sizeof(RestoreJobBig),
			  restoreJobBigCmpOrdinal);
	}
	split->placed = true;
	restoreJobSplitRewind(split);
}

void
restoreJobSplitRewind(RestoreJobSplit *split)
{
	Assert(split->placed);
	memcpy(split->load, split->bigLoad, sizeof(split->load));
	memcpy(split->loadFiles, split->bigFiles, sizeof(split->loadFiles));
	split->bigNext = 0;
	split->nextOrdinal = 0;
}

int
restoreJobSplitNext(RestoreJobSplit *split, uint64 ordinal, uint64 size)
{
	int			job;

	Assert(split->placed);
	if (ordinal != split->nextOrdinal)
		return -1;
	split->nextOrdinal++;
	if (split->bigNext < split->bigCount &&
		split->big[split->bigNext].ordinal == ordinal)
	{
		/* its bytes were counted when it was placed */
		return split->big[split->bigNext++].job;
	}
	job = restoreJobLeast(split->load, split->loadFiles, split->jobs);
	split->load[job] += size;
	split->loadFiles[job]++;
	return job;
}

void
restoreJobSplitFree(RestoreJobSplit *split)
{
	if (split->big)
		pfree(split->big);
	split->big = NULL;
	split->bigCount = 0;
}

/*
 * The split of restore's units among jobs, from the manifests of the chain
 * (the files restoreFiles walks, in the same order: repo_chain.h; a file in
 * parts is one unit per part, restore_internal.h); palloc'd.
 */
static RestoreJobSplit *
restoreJobSplitLoad(Restore *restore, int jobs, DrError *err)
{
	RestoreJobSplit *split = palloc(sizeof(RestoreJobSplit));
	RepoChainIter *iter;
	bool		ok = true;

	restoreJobSplitInit(split, jobs, RESTORE_JOBS_BIG_MAX);
	iter = repoChainIterOpen(restore->repo, restore->chain->ids,
							 restore->chain->count, err);
	if (iter == NULL)
		ok = false;
	else
	{
		for (;;)
		{
			const ManifestFile *const *levels;
			int			source;
			int			units;
			int			rc = repoChainIterNext(iter, &levels, err);

			if (rc <= 0)
			{
				ok = rc == 0;
				break;
			}
			units = restoreFileUnits(restore, levels, &source, err);
			if (units < 0)
			{
				ok = false;
				break;
			}
			if (units == 0)
				restoreJobSplitAdd(split, levels[0]->size);
			for (int u = 0; u < units; u++)
				restoreJobSplitAdd(split,
								   restoreFileUnitBytes(restore, levels, source, u));
		}
		repoChainIterClose(iter);
	}
	if (!ok)
	{
		restoreJobSplitFree(split);
		pfree(split);
		return NULL;
	}
	restoreJobSplitPlace(split);
	return split;
}

/* Drop the split restore holds, if any. */
static void
restoreJobSplitDrop(Restore *restore)
{
	if (restore->split == NULL)
		return;
	restoreJobSplitFree(restore->split);
	pfree(restore->split);
	restore->split = NULL;
}

/* ---------------------------------------------------------------------
 * One job
 * ---------------------------------------------------------------------
 */

bool
restoreJobRun(Restore *restore, int jobs, int job, const DrHost *host,
			  RestoreResult *result, DrError *err)
{
	const DrHost *saved = restore->param.host;
	bool		ok;

	if (jobs < 1 || jobs > RESTORE_JOBS_MAX || job < 0 || job >= jobs)
		return drErrorSet(err, DR_ERR_INVALID,
						  "invalid restore job %d of %d", job, jobs);
	if (restore->split != NULL && restore->split->jobs != jobs)
		restoreJobSplitDrop(restore);
	if (restore->split == NULL &&
		(restore->split = restoreJobSplitLoad(restore, jobs, err)) == NULL)
		return false;

	restore->param.host = host;
	storageHostSet(repoStorage(restore->repo), host);
	repoReadAheadBegin(restore->repo);
	ok = restoreFiles(restore, jobs, job, result, err);
	repoReadAheadEnd(restore->repo);
	storageHostSet(repoStorage(restore->repo), saved);
	restore->param.host = saved;
	return ok;
}

/* ---------------------------------------------------------------------
 * The engine
 * ---------------------------------------------------------------------
 */

/* What the engine knows of one job. */
typedef struct RestoreJobState
{
	bool		running;
	uint64		filesDone;
	uint64		bytesDone;
} RestoreJobState;

int64
restoreJobsNowMs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The bytes and files of every job, to the host. */
static void
restoreJobsProgress(Restore *restore, const RestoreJobState *state, int jobs)
{
	DrProgress	progress;

	restoreFilesProgressInit(restore, &progress);
	for (int j = 0; j < jobs; j++)
	{
		progress.itemsDone += state[j].filesDone;
		progress.bytesDone += state[j].bytesDone;
	}
	hostProgress(restore->param.host, &progress);
}

bool
restoreJobsRun(Restore *restore, int jobs, const RestoreJobLauncher *launcher,
			   RestoreResult *result, DrError *err)
{
	const DrHost *host = restore->param.host;
	RestoreJobState *state;
	RestoreJobEvent *event;
	int			running = 0;
	bool		ok = true;
	int64		reported;

	if (jobs < 1 || jobs > RESTORE_JOBS_MAX)
		return drErrorSet(err, DR_ERR_INVALID,
						  "invalid number of restore jobs %d: must be 1 to %d",
						  jobs, RESTORE_JOBS_MAX);
	if (hostCancelled(host))
		return drErrorSet(err, DR_ERR_CANCELED, "restore canceled");

	/* once here, rather than in each job: they inherit it or compute it */
	restoreJobSplitDrop(restore);
	restore->split = restoreJobSplitLoad(restore, jobs, err);
	if (restore->split == NULL)
		return false;

	state = palloc0(jobs * sizeof(RestoreJobState));
	event = palloc(sizeof(RestoreJobEvent));
	for (int j = 0; j < jobs; j++)
	{
		if (!launcher->start(launcher->arg, restore, jobs, j, err))
		{
			ok = false;
			break;
		}
		state[j].running = true;
		running++;
	}

	reported = restoreJobsNowMs();
	while (ok && running > 0)
	{
		int64		now;

		if (hostCancelled(host))
		{
			ok = drErrorSet(err, DR_ERR_CANCELED, "restore canceled");
			break;
		}
		memset(event, 0, sizeof(*event));
		if (!launcher->wait(launcher->arg, RESTORE_JOBS_POLL_MS, event, err))
		{
			ok = false;
			break;
		}
		if (event->kind != RESTORE_JOB_EVENT_NONE &&
			(event->job < 0 || event->job >= jobs || !state[event->job].running))
		{
			ok = drErrorSet(err, DR_ERR_INTERNAL,
							"the restore job launcher reported on job %d, which is not running",
							event->job + 1);
			break;
		}
		switch (event->kind)
		{
			case RESTORE_JOB_EVENT_NONE:
				break;
			case RESTORE_JOB_EVENT_PROGRESS:
				state[event->job].filesDone = event->filesDone;
				state[event->job].bytesDone = event->bytesDone;
				break;
			case RESTORE_JOB_EVENT_NOTICE:
				if (event->warning)
					hostWarning(host, event->notice);
				else
					hostNotice(host, event->notice);
				break;
			case RESTORE_JOB_EVENT_DONE:
				state[event->job].running = false;
				running--;
				if (!event->ok)
				{
					/* a job killed by the signal that cancels us is canceled */
					if (hostCancelled(host))
						ok = drErrorSet(err, DR_ERR_CANCELED, "restore canceled");
					else
					{
						if (err)
							*err = event->error;
						ok = false;
					}
					break;
				}
				state[event->job].filesDone = event->result.filesWritten +
					event->result.filesUnchanged;
				state[event->job].bytesDone = Max(state[event->job].bytesDone,
												  event->result.bytesWritten);
				if (result)
				{
					result->filesWritten += event->result.filesWritten;
					result->filesUnchanged += event->result.filesUnchanged;
					result->bytesWritten += event->result.bytesWritten;
				}
				break;
		}
		now = restoreJobsNowMs();
		if (ok && (now - reported >= RESTORE_JOBS_PROGRESS_MS || running == 0))
		{
			restoreJobsProgress(restore, state, jobs);
			reported = now;
		}
	}
	if (!ok && running > 0)
		launcher->stop(launcher->arg);
	pfree(event);
	pfree(state);
	restoreJobSplitDrop(restore);

	if (!ok)
	{
		/* files in parts whose units some jobs had written */
		restorePartsAbandon(restore);
		return false;
	}
	if (hostCancelled(host))
		return drErrorSet(err, DR_ERR_CANCELED, "restore canceled");
	return restoreFinish(restore, result, err);
}
