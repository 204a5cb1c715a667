/*-------------------------------------------------------------------------
 * restore.c
 *	  Restore a backup into a data directory: the order of things (see
 *	  restore.h for the contract of each step).
 *
 * restoreBegin reads every manifest of the chain to its verified end before
 * anything is written: a restore never acts on a manifest that later turns
 * out damaged, and the counts for the plan come for free.
 *
 * restoreFinish runs after every file was restored: it first commits the
 * files restored in units by several jobs (restore_internal.h); cleaning the target
 * (delta mode) must not race with jobs still writing, and the directory
 * fsyncs of the same walk cover every file the jobs renamed.  WAL segments
 * and recovery settings come after it, then one syncfs() of every file
 * system written to (the files were not fsynced one by one:
 * restore_internal.h), then pg_control, last, with its directory fsynced.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "common/fs.h"
#include "restore/restore_internal.h"

/* Copy the caller's parameters: the Restore may outlive them. */
static void
restoreParamCopy(RestoreParam *dst, const RestoreParam *src)
{
	RestoreTablespaceMap *map = NULL;

	*dst = *src;
	dst->backupId = pstrdup(src->backupId);
	dst->targetDir = pstrdup(src->targetDir);
	if (src->tablespaceMapCount > 0)
	{
		map = palloc(src->tablespaceMapCount * sizeof(RestoreTablespaceMap));
		for (int i = 0; i < src->tablespaceMapCount; i++)
		{
			map[i].oid = src->tablespaceMap[i].oid;
			map[i].fromLocation = src->tablespaceMap[i].fromLocation ?
				pstrdup(src->tablespaceMap[i].fromLocation) : NULL;
			map[i].toLocation = pstrdup(src->tablespaceMap[i].toLocation);
		}
	}
	dst->tablespaceMap = map;
	dst->restoreProgram = src->restoreProgram ? pstrdup(src->restoreProgram) : NULL;
	dst->restoreConfigFile = src->restoreConfigFile ?
		pstrdup(src->restoreConfigFile) : NULL;
	dst->recoverySettings = src->recoverySettings ?
		pstrdup(src->recoverySettings) : NULL;
	if (src->fallbackCount > 0)
	{
		Repo	  **repos = palloc(src->fallbackCount * sizeof(Repo *));
		int		   *numbers = palloc(src->fallbackCount * sizeof(int));

		for (int i = 0; i < src->fallbackCount; i++)
		{
			repos[i] = src->fallbackRepos[i];
			numbers[i] = src->fallbackNumbers[i];
		}
		dst->fallbackRepos = repos;
		dst->fallbackNumbers = numbers;
	}
	else
	{
		dst->fallbackRepos = NULL;
		dst->fallbackNumbers = NULL;
		dst->fallbackCount = 0;
	}
	if (src->guardCount > 0)
	{
		RestoreGuard *guards = palloc(src->guardCount * sizeof(RestoreGuard));

		for (int i = 0; i < src->guardCount; i++)
		{
			guards[i].path = pstrdup(src->guards[i].path);
			guards[i].what = pstrdup(src->guards[i].what);
		}
		dst->guards = guards;
	}
	else
		dst->guards = NULL;
}

/*
 * The progress of the file step: its totals are the files restoreFiles
 * writes, every job's together (pg_control, written by restoreFinish, not
 * counted), so that the last report of a complete step says all of them.
 */
void
restoreFilesProgressInit(const Restore *restore, DrProgress *progress)
{
	memset(progress, 0, sizeof(*progress));
	progress->operation = "restore";
	progress->phase = "files";
	progress->itemsTotal = restore->plan.files - (restore->hasPgControl ? 1 : 0);
	progress->bytesTotal = restore->plan.bytes - restore->pgControlSize;
}

/* A path without trailing slashes ("/" alone is refused by the caller). */
static char *
restorePathClean(const char *path)
{
	size_t		len = strlen(path);

	while (len > 1 && path[len - 1] == '/')
		len--;
	return pnstrdup(path, len);
}

static bool
restoreParamCheck(const RestoreParam *param, DrError *err)
{
	if (param->backupId == NULL)
		return drErrorSet(err, DR_ERR_INVALID, "no backup to restore was given");
	if (param->targetDir == NULL || param->targetDir[0] != '/')
		return drErrorSet(err, DR_ERR_INVALID,
						  "target directory \"%s\" must be an absolute path",
						  param->targetDir ? param->targetDir : "");
	if (strspn(param->targetDir, "/") == strlen(param->targetDir))
		return drErrorSet(err, DR_ERR_INVALID,
						  "the root directory cannot be a restore target");
	if (param->restoreProgram != NULL &&
		(param->restoreProgram[0] != '/' || param->restoreConfigFile == NULL ||
		 param->restoreConfigFile[0] != '/'))
		return drErrorSet(err, DR_ERR_INVALID,
						  "restore_command needs the absolute paths of pg_dr and of its configuration file");
	for (int i = 0; i < param->tablespaceMapCount; i++)
	{
		const RestoreTablespaceMap *map = &param->tablespaceMap[i];

		if (map->toLocation == NULL || map->toLocation[0] != '/')
			return drErrorSet(err, DR_ERR_INVALID,
							  "tablespace directory \"%s\" must be an absolute path",
							  map->toLocation ? map->toLocation : "");
		if (map->oid == 0 && map->fromLocation == NULL)
			return drErrorSet(err, DR_ERR_INVALID,
							  "a tablespace mapping needs an oid or a location");
	}
	return true;
}

/* Where each tablespace goes, after the mappings. */
static bool
restoreTablespacesMap(Restore *restore, DrError *err)
{
	const RestoreParam *param = &restore->param;

	for (int m = 0; m < param->tablespaceMapCount; m++)
	{
		const RestoreTablespaceMap *map = &param->tablespaceMap[m];
		bool		matched = false;

		for (int i = 0; i < restore->tablespaceCount; i++)
		{
			RestoreTablespace *ts = &restore->tablespaces[i];

			if (map->oid != 0 ? ts->oid != map->oid :
				strcmp(ts->location, map->fromLocation) != 0)
				continue;
			pfree(ts->target);
			ts->target = restorePathClean(map->toLocation);
			restore->remapped = true;
			matched = true;
		}
		if (!matched)
		{
			if (map->oid != 0)
				drErrorSet(err, DR_ERR_INVALID,
						   "backup \"%s\" has no tablespace with oid %u",
						   restore->chain->ids[0], map->oid);
			else
				drErrorSet(err, DR_ERR_INVALID,
						   "backup \"%s\" has no tablespace at \"%s\"",
						   restore->chain->ids[0], map->fromLocation);
			drErrorHint(err, "\"pg_dr info\" shows the tablespaces of a backup.");
			return false;
		}
	}

	for (int i = 0; i < restore->tablespaceCount; i++)
	{
		RestoreTablespace *ts = &restore->tablespaces[i];

		if (strcmp(ts->target, restore->targetDir) == 0)
			return drErrorSet(err, DR_ERR_INVALID,
							  "tablespace %u cannot be restored into the target directory itself",
							  ts->oid);
		for (int j = 0; j < i; j++)
			if (strcmp(ts->target, restore->tablespaces[j].target) == 0)
				return drErrorSet(err, DR_ERR_INVALID,
								  "tablespaces %u and %u would both be restored to \"%s\"",
								  restore->tablespaces[j].oid, ts->oid, ts->target);
	}
	return true;
}

/*
 * Read the manifest of chain level i to its verified end; for the backup
 * itself (level 0), gather the plan.
 */
static bool
restoreManifestScan(Restore *restore, int level, DrError *err)
{
	RepoBackupManifest *manifest;
	ManifestReader *reader;
	RestorePlan *plan = &restore->plan;
	int			size = 0;
	bool		ok = true;

	manifest = repoBackupManifestOpen(restore->repo, restore->chain->ids[level],
									  err);
	if (manifest == NULL)
		return false;
	reader = repoBackupManifestReader(manifest);
	for (;;)
	{
		ManifestEntry entry;
		int			rc = manifestReaderNext(reader, &entry, err);

		if (rc <= 0)
		{
			ok = rc == 0;
			break;
		}
		if (entry.kind == MANIFEST_ENTRY_FILE && entry.file.parts > 0)
			restore->hasParts = true;
		if (level > 0)
			continue;
		switch (entry.kind)
		{
			case MANIFEST_ENTRY_TABLESPACE:
				for (int i = 0; i < restore->tablespaceCount; i++)
					if (restore->tablespaces[i].oid == entry.tablespace.oid)
					{
						ok = drErrorSet(err, DR_ERR_CORRUPT,
										"manifest of backup \"%s\" lists tablespace %u twice",
										restore->chain->ids[0], entry.tablespace.oid);
						break;
					}
				if (!ok)
					break;
				if (restore->tablespaceCount == size)
				{
					size = size ? size * 2 : 8;
					restore->tablespaces = restore->tablespaces ?
						repalloc(restore->tablespaces, size * sizeof(RestoreTablespace)) :
						palloc(size * sizeof(RestoreTablespace));
				}
				restore->tablespaces[restore->tablespaceCount].oid = entry.tablespace.oid;
				restore->tablespaces[restore->tablespaceCount].location =
					pstrdup(entry.tablespace.location);
				restore->tablespaces[restore->tablespaceCount].target =
					restorePathClean(entry.tablespace.location);
				restore->tablespaceCount++;
				break;
			case MANIFEST_ENTRY_DIR:
				plan->dirs++;
				break;
			case MANIFEST_ENTRY_FILE:
				plan->files++;
				plan->bytes += entry.file.size;
				if (strcmp(entry.file.path, RESTORE_PG_CONTROL) == 0)
				{
					restore->hasPgControl = true;
					restore->pgControlSize = entry.file.size;
				}
				else if (strcmp(entry.file.path, RESTORE_TABLESPACE_MAP) == 0)
					restore->hasTablespaceMap = true;
				break;
			case MANIFEST_ENTRY_WAL:
				plan->walSegments++;
				break;
		}
		if (!ok)
			break;
	}
	repoBackupManifestClose(manifest);
	return ok;
}

Restore *
restoreBegin(Repo *repo, const RestoreParam *param, DrError *err)
{
	Restore    *restore;
	char	   *backupId;

	if (!restoreParamCheck(param, err))
		return NULL;

	restore = palloc0(sizeof(Restore));
	restore->repo = repo;
	restore->leaderPid = (int) getpid();
	{
		struct timespec now;

		/* tells this restore's digests from any a crashed one left */
		clock_gettime(CLOCK_REALTIME, &now);
		restore->token = ((uint64) now.tv_sec * 1000000000 + now.tv_nsec) ^
			((uint64) getpid() << 40);
	}
	restoreParamCopy(&restore->param, param);
	/* a stalled read from the repository is cancellable (storage.h) */
	restore->storageHostSaved = storageHostSet(repoStorage(repo), param->host);
	restore->targetDir = restorePathClean(param->targetDir);

	backupId = repoBackupResolve(repo, param->backupId, err);
	if (backupId == NULL)
		goto fail;
	restore->chain = repoBackupChain(repo, backupId, err);
	pfree(backupId);
	if (restore->chain == NULL)
		goto fail;

	for (int i = 0; i < restore->chain->count; i++)
		if (!restoreManifestScan(restore, i, err))
			goto fail;
	if (!restoreTablespacesMap(restore, err))
		goto fail;

	restore->plan.backupId = restore->chain->ids[0];
	restore->plan.chain = restore->chain;
	restore->plan.tablespaces = restore->tablespaceCount;
	return restore;

fail:
	restoreFree(restore);
	return NULL;
}

const RestorePlan *
restorePlanGet(const Restore *restore)
{
	return &restore->plan;
}

/* Open what restoreSyncAll syncs: before any file is written. */
static bool
restoreSyncOpen(Restore *restore, DrError *err)
{
#ifdef HAVE_SYNCFS
	int			count = 1 + restore->tablespaceCount;

	restore->syncFds = palloc(count * sizeof(int));
	for (int i = 0; i < count; i++)
	{
		const char *dir = i == 0 ? restore->targetDir :
			restore->tablespaces[i - 1].target;
		int			fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd < 0)
			return drErrorSet(err, DR_ERR_IO, "could not open directory \"%s\": %m",
							  dir);
		restore->syncFds[restore->syncCount++] = fd;
	}
#endif
	return true;
}

static void
restoreSyncClose(Restore *restore)
{
	for (int i = 0; i < restore->syncCount; i++)
		close(restore->syncFds[i]);
	restore->syncCount = 0;
	if (restore->syncFds)
		pfree(restore->syncFds);
	restore->syncFds = NULL;
}

bool
restoreSyncAll(Restore *restore, DrError *err)
{
	bool		ok = true;

#ifdef HAVE_SYNCFS
	for (int i = 0; ok && i < restore->syncCount; i++)
	{
		if (syncfs(restore->syncFds[i]) < 0)
			ok = drErrorSet(err, DR_ERR_IO,
							"could not synchronize the file system of \"%s\": %m",
							i == 0 ? restore->targetDir :
							restore->tablespaces[i - 1].target);
	}
#endif
	/* whatever comes after is fsynced file by file */
	restoreSyncClose(restore);
	return ok;
}

void
restoreWriteBackStart(const Restore *restore, int fd, uint64 offset,
					  uint64 len)
{
#ifdef HAVE_SYNC_FILE_RANGE
	if (restore->syncCount > 0)
		(void) sync_file_range(fd, (off_t) offset, (off_t) len,
							   SYNC_FILE_RANGE_WRITE);
#endif
}

bool
restorePrepare(Restore *restore, DrError *err)
{
	return restoreTargetPrepare(restore, err) && restoreSyncOpen(restore, err);
}

bool
restoreFiles(Restore *restore, int jobs, int jobIndex, RestoreResult *result,
			 DrError *err)
{
	const DrHost *host = restore->param.host;
	RepoChainIter *iter;
	DrProgress	progress;
	uint64		ordinal = 0;
	bool		ok = true;

	if (jobs < 1 || jobIndex < 0 || jobIndex >= jobs)
		return drErrorSet(err, DR_ERR_INVALID,
						  "invalid restore job %d of %d", jobIndex, jobs);

	if (restore->split != NULL)
	{
		if (restore->split->jobs != jobs)
			return drErrorSet(err, DR_ERR_INVALID,
							  "restore job %d of %d, but the files were split among %d jobs",
							  jobIndex, jobs, restore->split->jobs);
		restoreJobSplitRewind(restore->split);
	}
	restoreFilesProgressInit(restore, &progress);
	iter = repoChainIterOpen(restore->repo, restore->chain->ids,
								restore->chain->count, err);
	if (iter == NULL)
		return false;
	for (;;)
	{
		const ManifestFile *const *levels;
		bool		unchanged;
		int			rc;
		int			units;
		int			source;

		if (hostCancelled(host))
		{
			ok = restoreCancelled(err);
			break;
		}
		rc = repoChainIterNext(iter, &levels, err);
		if (rc <= 0)
		{
			ok = rc == 0;
			break;
		}
		/* a file in parts: its units, each to the job the split gives */
		units = restoreFileUnits(restore, levels, &source, err);
		if (units < 0)
		{
			ok = false;
			break;
		}
		if (units > 0)
		{
			for (uint32 u = 0; ok && u < (uint32) units; u++)
			{
				uint64		bytes = restoreFileUnitBytes(restore, levels, source, u);

				if (restore->split != NULL ?
					restoreJobSplitNext(restore->split, ordinal++, bytes) != jobIndex :
					ordinal++ % jobs != (uint64) jobIndex)
					continue;
				if (hostCancelled(host))
				{
					ok = restoreCancelled(err);
					break;
				}
				if (!restoreFileUnit(restore, levels, source, u, err))
				{
					ok = false;
					break;
				}
				/* the file counts once, with its first unit */
				if (result)
				{
					if (u == 0)
						result->filesWritten++;
					result->bytesWritten += bytes;
				}
				if (u == 0)
					progress.itemsDone++;
				progress.bytesDone += bytes;
				progress.current = levels[0]->path;
				hostProgress(host, &progress);
			}
			if (!ok)
				break;
			continue;
		}

		if (restore->split != NULL ?
			restoreJobSplitNext(restore->split, ordinal++, levels[0]->size) != jobIndex :
			ordinal++ % jobs != (uint64) jobIndex)
			continue;
		/* written last, by restoreFinish */
		if (strcmp(levels[0]->path, RESTORE_PG_CONTROL) == 0)
			continue;

		if (!restoreFile(restore, levels, &unchanged, err))
		{
			ok = false;
			break;
		}
		if (result)
		{
			if (unchanged)
				result->filesUnchanged++;
			else
			{
				result->filesWritten++;
				result->bytesWritten += levels[0]->size;
			}
		}
		progress.itemsDone++;
		progress.bytesDone += levels[0]->size;
		progress.current = levels[0]->path;
		hostProgress(host, &progress);
	}
	repoChainIterClose(iter);

	/*
	 * A single job failed: what its units wrote of files in parts goes (the
	 * job engine does it when jobs > 1, once every job stopped).
	 */
	if (!ok && jobs == 1)
		restorePartsAbandon(restore);
	return ok;
}

bool
restoreCancelled(DrError *err)
{
	return drErrorSet(err, DR_ERR_CANCELED, "restore canceled");
}

/* The WAL segments of the backup, into pg_wal. */
static bool
restoreWal(Restore *restore, RestoreResult *result, DrError *err)
{
	const DrHost *host = restore->param.host;
	RepoBackupManifest *manifest;
	ManifestReader *reader;
	DrProgress	progress;
	char	   *dir;
	bool		ok = true;

	memset(&progress, 0, sizeof(progress));
	progress.operation = "restore";
	progress.phase = "wal";
	progress.itemsTotal = restore->plan.walSegments;
	progress.bytesTotal = restore->plan.walSegments *
		restore->chain->headers[0].segmentSize;
	manifest = repoBackupManifestOpen(restore->repo, restore->chain->ids[0], err);
	if (manifest == NULL)
		return false;
	reader = repoBackupManifestReader(manifest);
	for (;;)
	{
		ManifestEntry entry;
		int			rc;

		if (hostCancelled(host))
		{
			ok = restoreCancelled(err);
			break;
		}
		rc = manifestReaderNext(reader, &entry, err);
		if (rc <= 0)
		{
			ok = rc == 0;
			break;
		}
		if (entry.kind != MANIFEST_ENTRY_WAL)
			continue;
		if (!restoreWalSegment(restore, &entry.wal, err))
		{
			ok = false;
			break;
		}
		if (result)
			result->walSegments++;
		progress.itemsDone++;
		progress.bytesDone += entry.wal.size;
		progress.current = entry.wal.name;
		hostProgress(host, &progress);
	}
	repoBackupManifestClose(manifest);

	dir = psprintf("%s/%s", restore->targetDir, RESTORE_WAL_DIR);
	if (ok && restore->plan.walSegments > 0)
		ok = fsSyncDir(dir, err);
	pfree(dir);
	return ok;
}

/* global/pg_control, the last file of a restore. */
static bool
restorePgControl(Restore *restore, DrError *err)
{
	RepoChainIter *iter;
	bool		ok = true;

	if (!restore->hasPgControl)
		return true;
	iter = repoChainIterOpen(restore->repo, restore->chain->ids,
								restore->chain->count, err);
	if (iter == NULL)
		return false;
	for (;;)
	{
		const ManifestFile *const *levels;
		bool		unchanged;
		char	   *path;
		int			rc = repoChainIterNext(iter, &levels, err);

		if (rc <= 0)
		{
			ok = rc == 0;
			break;
		}
		if (strcmp(levels[0]->path, RESTORE_PG_CONTROL) != 0)
			continue;
		ok = restoreFile(restore, levels, &unchanged, err);
		if (ok)
		{
			path = psprintf("%s/%s", restore->targetDir, RESTORE_PG_CONTROL);
			ok = fsSyncParent(path, err);
			pfree(path);
		}
		break;
	}
	repoChainIterClose(iter);
	return ok;
}

bool
restoreFinish(Restore *restore, RestoreResult *result, DrError *err)
{
	/* files restored in units first: the cleaning's fsyncs cover them */
	if (!restorePartsCommit(restore, err))
	{
		restorePartsAbandon(restore);
		return false;
	}
	return restoreTargetClean(restore, restore->param.delta, result, err) &&
		restoreWal(restore, result, err) &&
		restoreTablespaceMapWrite(restore, err) &&
		restoreRecoveryWrite(restore, err) &&
		restoreSyncAll(restore, err) &&
		restorePgControl(restore, err) &&
		fsSyncDir(restore->targetDir, err);
}

void
restoreFree(Restore *restore)
{
	RestoreParam *param;

	if (restore == NULL)
		return;
	param = &restore->param;
	storageHostSet(repoStorage(restore->repo), restore->storageHostSaved);
	pfree((char *) param->backupId);
	pfree((char *) param->targetDir);
	for (int i = 0; i < param->tablespaceMapCount; i++)
	{
		if (param->tablespaceMap[i].fromLocation)
			pfree((char *) param->tablespaceMap[i].fromLocation);
		pfree((char *) param->tablespaceMap[i].toLocation);
	}
	if (param->tablespaceMap)
		pfree((RestoreTablespaceMap *) param->tablespaceMap);
	if (param->restoreProgram)
		pfree((char *) param->restoreProgram);
	if (param->restoreConfigFile)
		pfree((char *) param->restoreConfigFile);
	if (param->recoverySettings)
		pfree((char *) param->recoverySettings);
	for (int i = 0; i < param->guardCount; i++)
	{
		pfree((char *) param->guards[i].path);
		pfree((char *) param->guards[i].what);
	}
	if (param->guards)
		pfree((RestoreGuard *) param->guards);
	if (param->fallbackRepos)
		pfree((Repo **) param->fallbackRepos);
	if (param->fallbackNumbers)
		pfree((int *) param->fallbackNumbers);

	for (int i = 0; i < restore->tablespaceCount; i++)
	{
		pfree(restore->tablespaces[i].location);
		pfree(restore->tablespaces[i].target);
	}
	restoreSyncClose(restore);
	if (restore->tablespaces)
		pfree(restore->tablespaces);
	repoBackupChainFree(restore->chain);
	pfree(restore->targetDir);
	if (restore->buffer)
		pfree(restore->buffer);
	if (restore->lastDir)
		pfree(restore->lastDir);
	if (restore->split)
	{
		restoreJobSplitFree(restore->split);
		pfree(restore->split);
	}
	pfree(restore);
}

bool
restoreRun(Repo *repo, const RestoreParam *param, RestoreResult *result,
		   DrError *err)
{
	Restore    *restore = restoreBegin(repo, param, err);
	bool		ok;

	if (restore == NULL)
		return false;
	ok = restorePrepare(restore, err) &&
		restoreFiles(restore, 1, 0, result, err) &&
		restoreFinish(restore, result, err);
	restoreFree(restore);
	return ok;
}
