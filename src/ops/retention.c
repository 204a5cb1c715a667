/*-------------------------------------------------------------------------
 * retention.c
 *	  Retention (see retention.h): the decisions, as pure functions, and
 *	  retentionRun(), which lists, decides and removes.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "common/hex.h"
#include "repo/repo_archive.h"
#include "repo/repo_backup.h"
#include "repo/repo_hold.h"
#include "ops/retention.h"

/* History files are a few lines per timeline. */
#define EXPIRE_HISTORY_MAX		(16 * 1024 * 1024)
/* "<tli><log>": the name of a directory under archive/wal */
#define EXPIRE_WAL_DIR_LEN		16

/* Whether id is one of the backups whose manifest cannot be read. */
static bool
expireUnreadable(const RetentionPolicy *policy, const char *id)
{
	for (int u = 0; u < policy->unreadableCount; u++)
		if (strcmp(policy->unreadable[u], id) == 0)
			return true;
	return false;
}

RetentionPolicySource
retentionPolicyChoose(int repoFull, int repoDays, int tierFull, int tierDays,
					  bool tierKnown, RetentionPolicy *policy)
{
	if (repoFull > 0)
	{
		policy->fullCount = repoFull;
		policy->fullDays = Max(repoDays, 0);
		return RETENTION_POLICY_REPOSITORY;
	}
	if (!tierKnown)
	{
		policy->fullCount = 0;
		policy->fullDays = 0;
		return RETENTION_POLICY_UNKNOWN;
	}
	if (tierFull > 0)
	{
		policy->fullCount = tierFull;
		policy->fullDays = Max(tierDays, 0);
		return RETENTION_POLICY_TIER;
	}
	policy->fullCount = 0;
	policy->fullDays = 0;
	return RETENTION_POLICY_NONE;
}

int
retentionBackupsDecide(const ManifestHeader *headers, int count,
						const RetentionPolicy *policy, bool *keep)
{
	int			fulls = 0;
	int			oldestKeptFull = -1;
	int			removed = 0;
	const char *newestUnreadable = NULL;

	for (int i = 0; i < count; i++)
		keep[i] = true;
	if (policy->fullCount <= 0)
		return 0;

	/* everything older than an unreadable backup may be its ancestor */
	for (int u = 0; u < policy->unreadableCount; u++)
		if (newestUnreadable == NULL ||
			strcmp(policy->unreadable[u], newestUnreadable) > 0)
			newestUnreadable = policy->unreadable[u];

	/* full backups, newest first */
	for (int i = count - 1; i >= 0; i--)
	{
		const ManifestHeader *h = &headers[i];

		if (h->incremental)
			continue;
		fulls++;
		keep[i] = fulls <= policy->fullCount ||
			(policy->fullDays > 0 &&
			 h->startTime > policy->now - (int64) policy->fullDays * 86400) ||
			(newestUnreadable != NULL &&
			 strcmp(h->backupId, newestUnreadable) < 0);
		if (keep[i])
			oldestKeptFull = i;
	}

	/* incrementals follow their parent (which comes before them) */
	for (int i = 0; i < count; i++)
	{
		const ManifestHeader *h = &headers[i];
		int			parent = -1;

		if (!h->incremental)
			continue;
		for (int j = i - 1; j >= 0; j--)
		{
			if (strcmp(headers[j].backupId, h->parentId) == 0)
			{
				parent = j;
				break;
			}
		}
		if (parent >= 0)
			keep[i] = keep[parent];
		else if (expireUnreadable(policy, h->parentId))
			keep[i] = true;		/* its parent is never removed */
		else
			keep[i] = oldestKeptFull >= 0 && i > oldestKeptFull;
		if (newestUnreadable != NULL &&
			strcmp(h->backupId, newestUnreadable) < 0)
			keep[i] = true;
	}

	/* the running backup's parent and its ancestors, whatever the policy */
	if (policy->keepChainOf != NULL)
		retentionKeepChain(headers, count, policy->keepChainOf, keep);

	for (int i = 0; i < count; i++)
		if (!keep[i])
			removed++;
	return removed;
}

void
retentionKeepChain(const ManifestHeader *headers, int count, const char *id,
					bool *keep)
{
	for (int i = count - 1; i >= 0; i--)
	{
		if (strcmp(headers[i].backupId, id) != 0)
			continue;
		keep[i] = true;
		if (!headers[i].incremental)
			break;
		id = headers[i].parentId;	/* parents come before children */
	}
}

void
retentionKeepHeld(const ManifestHeader *headers, int count,
				  const char *const *held, int heldCount, bool *keep,
				  bool *heldOnly)
{
	bool	   *before = palloc(sizeof(bool) * Max(count, 1));

	memcpy(before, keep, sizeof(bool) * count);
	for (int h = 0; h < heldCount; h++)
		retentionKeepChain(headers, count, held[h], keep);
	if (heldOnly != NULL)
		for (int i = 0; i < count; i++)
			heldOnly[i] = keep[i] && !before[i];
	pfree(before);
}

/* the rule every writer applies when it starts (repo/repo_leftover.h) */
bool
retentionOrphanRemovable(int64 dirMtime, const RepoLockState *lock,
						  bool running, int64 now)
{
	return repoLeftoverDirRemovable(dirMtime, lock, running, now);
}

bool
retentionWalRemovable(const char *name, const RetentionWalKeep *keep)
{
	char		segment[WAL_NAME_LEN + 1];
	const char *rest;
	uint32		tli;
	uint64		segno;

	if (strlen(name) < WAL_NAME_LEN)
		return false;
	memcpy(segment, name, WAL_NAME_LEN);
	segment[WAL_NAME_LEN] = '\0';
	if (!walSegmentNameParse(segment, keep->segSize, &tli, &segno))
		return false;
	rest = name + WAL_NAME_LEN;
	if (!(rest[0] == '\0' || strcmp(rest, ".partial") == 0 ||
		  strcmp(rest, ".summary") == 0 ||
		  (strlen(rest) == 16 && rest[0] == '.' && hexIs(rest + 1, 8, HEX_UPPER) &&
		   strcmp(rest + 9, ".backup") == 0)))
		return false;

	if (tli > keep->tli)
		return false;
	if (segno >= keep->startSegno)
	{
		if (tli == keep->tli || keep->history == NULL ||
			walHistoryFind(keep->history, tli) != NULL)
			return false;
	}
	/* what a backup kept by a legal hold needs */
	for (int r = 0; r < keep->rangeCount; r++)
		if (tli == keep->ranges[r].tli && segno >= keep->ranges[r].fromSegno &&
			segno <= keep->ranges[r].toSegno)
			return false;
	return true;
}

/* Names (and sizes) of one storage directory. */
typedef struct ExpireList
{
	int			count;
	int			size;
	char	  **names;
	bool	   *isDir;
	uint64	   *bytes;
	int64	   *mtime;
} ExpireList;

static bool
expireListAdd(void *arg, const StorageInfo *info, DrError *err)
{
	ExpireList *list = arg;

	if (list->count == list->size)
	{
		list->size = list->size ? list->size * 2 : 32;
		list->names = list->names ? repalloc(list->names, sizeof(char *) * list->size) :
			palloc(sizeof(char *) * list->size);
		list->isDir = list->isDir ? repalloc(list->isDir, sizeof(bool) * list->size) :
			palloc(sizeof(bool) * list->size);
		list->bytes = list->bytes ? repalloc(list->bytes, sizeof(uint64) * list->size) :
			palloc(sizeof(uint64) * list->size);
		list->mtime = list->mtime ? repalloc(list->mtime, sizeof(int64) * list->size) :
			palloc(sizeof(int64) * list->size);
	}
	list->names[list->count] = pstrdup(info->name);
	list->isDir[list->count] = info->isDir;
	list->bytes[list->count] = info->size;
	list->mtime[list->count] = info->mtime;
	list->count++;
	return true;
}

static void
expireListFree(ExpireList *list)
{
	for (int i = 0; i < list->count; i++)
		pfree(list->names[i]);
	if (list->names)
	{
		pfree(list->names);
		pfree(list->isDir);
		pfree(list->bytes);
		pfree(list->mtime);
	}
	memset(list, 0, sizeof(*list));
}

/* Bytes of the objects under dir, recursively. */
static bool
expireTreeSize(Storage *storage, const char *dir, uint64 *bytes, DrError *err)
{
	ExpireList list = {0};
	bool		result;

	result = storageList(storage, dir, expireListAdd, &list, err);
	for (int i = 0; result && i < list.count; i++)
	{
		if (list.isDir[i])
		{
			char	   *sub = psprintf("%s/%s", dir, list.names[i]);

			result = expireTreeSize(storage, sub, bytes, err);
			pfree(sub);
		}
		else
			*bytes += list.bytes[i];
	}
	expireListFree(&list);
	return result;
}

/* Remove a backup: manifest first, then the rest of its directory. */
static bool
expireBackupRemove(Storage *storage, const char *id, bool hasManifest,
				   bool dryRun, uint64 *bytes, DrError *err)
{
	char	   *dir = psprintf("%s/%s", REPO_BACKUP_DIR, id);
	bool		result;

	result = expireTreeSize(storage, dir, bytes, err);
	if (result && !dryRun)
	{
		if (hasManifest)
		{
			char	   *manifest = repoBackupManifestPath(id);

			result = storageRemove(storage, manifest, err);
			pfree(manifest);
		}
		if (result)
			result = storageRemoveTree(storage, dir, err);
	}
	if (!result)
		drErrorPrefix(err, "could not remove backup %s: ", id);
	pfree(dir);
	return result;
}

/* The history of tli from the archive; NULL when it cannot be read. */
static WalHistory *
expireHistoryRead(Repo *repo, uint32 tli)
{
	char	   *path;
	char	   *text;
	char		name[32];
	size_t		len;
	WalHistory *history;
	DrError		err;

	if (tli <= 1)
		return walHistoryRoot(tli);
	path = repoArchiveHistoryPath(tli);
	text = repoObjectGetBuffer(repo, path, &len, EXPIRE_HISTORY_MAX, &err);
	pfree(path);
	if (text == NULL)
		return NULL;
	snprintf(name, sizeof(name), "%08X.history", tli);
	history = walHistoryParse(text, len, tli, name, &err);
	pfree(text);
	return history;
}

/* DR_ERR_CANCELED: the host asked to stop between two removals. */
static bool
expireCancelled(DrError *err)
{
	return drErrorSet(err, DR_ERR_CANCELED, "expire canceled");
}

/* One removal done (or decided, in a dry run). */
static void
expireProgress(const DrHost *host, const char *phase, int done,
			   const char *current, uint64 bytesFreed)
{
	DrProgress	progress;

	memset(&progress, 0, sizeof(progress));
	progress.operation = "expire";
	progress.phase = phase;
	progress.itemsDone = (uint64) done;
	progress.bytesDone = bytesFreed;
	progress.current = current;
	hostProgress(host, &progress);
}

/*
 * Remove an emptied log directory, never recursively: the archiver may
 * just have stored a segment there, which keeps it (the error says so and
 * is of no consequence).
 */
static void
expireWalDirDone(Storage *storage, const char *dir, int listed, int removed,
				 bool dryRun)
{
	char	   *path;
	DrError		dirErr;

	if (dryRun || removed == 0 || removed != listed)
		return;
	path = psprintf("%s/%s", REPO_ARCHIVE_WAL_DIR, dir);
	(void) storageRemoveDir(storage, path, &dirErr);
	pfree(path);
}

/*
 * The log directories of timelines up to the start's (the others hold
 * nothing to remove and are not listed), each file in them decided by
 * retentionWalRemovable from its name.
 */
static bool
expireWal(Repo *repo, const RetentionWalKeep *keep, bool dryRun,
		  const DrHost *host, RetentionResult *result, DrError *err)
{
	Storage    *storage = repoStorage(repo);
	RepoArchiveIterParam filter = {0};
	RepoArchiveIter *iter;
	const RepoArchiveEntry *entry;
	char		dir[EXPIRE_WAL_DIR_LEN + 1] = "";
	int			listed = 0;
	int			removed = 0;
	bool		ok;

	filter.kinds = REPO_ARCHIVE_DIR | REPO_ARCHIVE_SEGMENT |
		REPO_ARCHIVE_PARTIAL | REPO_ARCHIVE_BACKUP | REPO_ARCHIVE_SUMMARY |
		REPO_ARCHIVE_UNKNOWN;
	filter.segSize = keep->segSize;
	filter.tliMax = keep->tli;
	iter = repoArchiveIterOpen(repo, &filter, err);
	if (iter == NULL)
		return false;
	while ((ok = repoArchiveIterNext(iter, &entry, err)) && entry != NULL)
	{
		if (entry->kind == REPO_ARCHIVE_DIR)
		{
			/* the previous directory is done */
			if (dir[0] != '\0')
				expireWalDirDone(storage, dir, listed, removed, dryRun);
			strlcpy(dir, entry->name, sizeof(dir));
			listed = removed = 0;
			continue;
		}
		if (entry->dir == NULL)
			continue;			/* at the top of archive/wal */
		listed++;
		if (entry->isDir || !retentionWalRemovable(entry->name, keep))
			continue;
		if (hostCancelled(host))
		{
			ok = expireCancelled(err);
			break;
		}
		if (!dryRun && !(ok = storageRemove(storage, entry->path, err)))
			break;
		result->walRemoved++;
		result->bytesFreed += entry->size;
		removed++;
		expireProgress(host, "wal", result->walRemoved, entry->name,
					   result->bytesFreed);
	}
	if (ok && dir[0] != '\0')
		expireWalDirDone(storage, dir, listed, removed, dryRun);
	repoArchiveIterClose(iter);
	return ok;
}

/* Whether a directory name is one of the backups listed. */
static bool
expireListed(const RepoBackupHeaders *list, const char *name)
{
	for (int i = 0; i < list->count; i++)
		if (strcmp(list->headers[i].backupId, name) == 0)
			return true;
	for (int i = 0; i < list->unreadableCount; i++)
		if (strcmp(list->unreadableIds[i], name) == 0)
			return true;
	return false;
}

static bool
retentionRunInner(Repo *repo, const RetentionParam *param,
				  RetentionResult *result, DrError *err)
{
	Storage    *storage = repoStorage(repo);
	RepoBackupHeaders list;
	const ManifestHeader *headers;
	int			count;
	bool	   *keep = NULL;
	bool		ok = true;
	ExpireList	dirs = {0};
	RepoLockState *locks = NULL;
	bool	   *candidate = NULL;
	const char **unknown = NULL;
	RetentionPolicy policy = param->policy;
	RetentionWalKeep walKeep = {0};
	int			oldest = -1;
	WalHistory *history = NULL;
	bool	   *heldOnly = NULL;
	const char **held = NULL;
	int			heldCount = 0;
	RetentionWalRange *ranges = NULL;

	memset(result, 0, sizeof(*result));
	result->policySet = param->policy.fullCount > 0;
	if (!result->policySet)
		return true;

	/* the backups; an unreadable manifest leaves its backup out */
	if (!repoBackupHeadersRead(repo, &list, err))
		return false;
	headers = list.headers;
	count = list.count;
	for (int u = 0; u < list.unreadableCount; u++)
	{
		result->backupsUnreadable++;
		if (param->onUnreadable)
			param->onUnreadable(param->arg, list.unreadableIds[u],
								list.unreadable[u]);
	}

	/*
	 * The directories without a manifest and their locks, read before
	 * deciding: a live lock keeps its parent's chain.  A directory whose
	 * manifest appeared since the backups were listed is a backup that
	 * completed meanwhile: its chain and WAL are not known, so it counts
	 * as unreadable for this run (without a warning).
	 */
	ok = storageList(storage, REPO_BACKUP_DIR, expireListAdd, &dirs, err);
	if (!ok)
		goto done;
	locks = palloc0(sizeof(RepoLockState) * Max(dirs.count, 1));
	candidate = palloc0(sizeof(bool) * Max(dirs.count, 1));
	unknown = palloc(sizeof(char *) * (list.unreadableCount + dirs.count + 1));
	for (int u = 0; u < list.unreadableCount; u++)
		unknown[u] = list.unreadableIds[u];
	policy.unreadable = unknown;
	policy.unreadableCount = list.unreadableCount;
	for (int i = 0; i < dirs.count; i++)
	{
		char	   *manifest;
		bool		exists;

		if (!dirs.isDir[i] || !manifestBackupIdValid(dirs.names[i]) ||
			expireListed(&list, dirs.names[i]))
			continue;
		/* the lock first: a backup writes its manifest, then unlocks */
		ok = repoLockRead(repo, dirs.names[i], &locks[i], err);
		if (!ok)
			goto done;
		manifest = repoBackupManifestPath(dirs.names[i]);
		ok = storageExists(storage, manifest, &exists, err);
		pfree(manifest);
		if (!ok)
			goto done;
		if (exists)
			unknown[policy.unreadableCount++] = dirs.names[i];
		else
			candidate[i] = true;
	}

	keep = palloc0(sizeof(bool) * Max(count, 1));
	heldOnly = palloc0(sizeof(bool) * Max(count, 1));
	retentionBackupsDecide(headers, count, &policy, keep);
	for (int i = 0; i < dirs.count; i++)
		if (candidate[i] && locks[i].parentId[0] &&
			repoLockLive(&locks[i], policy.now))
			retentionKeepChain(headers, count, locks[i].parentId, keep);

	/* legal holds: the held backups with their chains */
	held = palloc(sizeof(char *) * Max(count, 1));
	for (int i = 0; i < count; i++)
	{
		RepoHold	hold;
		DrError		holdErr;

		if (!repoHoldRead(repo, headers[i].backupId, &hold, &holdErr))
		{
			if (holdErr.code == DR_ERR_CANCELED)
			{
				*err = holdErr;
				ok = false;
				goto done;
			}
			/* cannot tell: kept as held, and said */
			if (param->onHoldError)
				param->onHoldError(param->arg, headers[i].backupId,
								   holdErr.message);
			held[heldCount++] = headers[i].backupId;
		}
		else if (repoHoldInEffect(&hold, policy.now))
			held[heldCount++] = headers[i].backupId;
	}
	result->backupsHeld = heldCount;
	retentionKeepHeld(headers, count, held, heldCount, keep, heldOnly);
	ranges = palloc(sizeof(RetentionWalRange) * Max(count, 1));

	/* what the kept backups need of the WAL, decided before any removal */
	for (int i = 0; i < count; i++)
	{
		uint64		segno;

		if (!keep[i])
			continue;
		result->backupsKept++;
		if (!walSegmentSizeValid(headers[i].segmentSize))
		{
			ok = drErrorSet(err, DR_ERR_CORRUPT,
							"backup %s names an invalid WAL segment size (%u bytes)",
							headers[i].backupId, headers[i].segmentSize);
			goto done;
		}
		segno = walSegmentOf(headers[i].startLsn, headers[i].segmentSize);
		if (heldOnly[i])
		{
			RetentionWalRange *r = &ranges[walKeep.rangeCount++];

			r->tli = headers[i].timeline;
			r->fromSegno = segno;
			r->toSegno = walSegmentOf(headers[i].stopLsn > 0 ? headers[i].stopLsn - 1 : 0,
									  headers[i].segmentSize);
			r->toSegno = Max(r->toSegno, segno);
			continue;
		}
		if (oldest < 0)
		{
			strlcpy(result->oldestKept, headers[i].backupId,
					sizeof(result->oldestKept));
			walKeep.segSize = headers[i].segmentSize;
			walKeep.startSegno = segno;
			walKeep.tli = headers[i].timeline;
			oldest = i;
		}
		else
		{
			walKeep.startSegno = Min(walKeep.startSegno, segno);
			walKeep.tli = Min(walKeep.tli, headers[i].timeline);
		}
	}

	/* backups beyond the policy: manifest first, then the tree */
	for (int i = 0; i < count; i++)
	{
		if (keep[i])
			continue;
		if (hostCancelled(param->host))
		{
			ok = expireCancelled(err);
			goto done;
		}
		if (!expireBackupRemove(storage, headers[i].backupId, true,
								param->dryRun, &result->bytesFreed, err))
		{
			ok = false;
			goto done;
		}
		result->backupsRemoved++;
		if (param->onBackup)
			param->onBackup(param->arg, headers[i].backupId, false);
		expireProgress(param->host, "backups", result->backupsRemoved,
					   headers[i].backupId, result->bytesFreed);
	}

	/* directories without a manifest: crashed removals, unfinished backups */
	for (int i = 0; ok && i < dirs.count; i++)
	{
		bool		running;
		char	   *manifest;
		bool		exists;
		bool		taken = true;

		if (!candidate[i])
			continue;
		if (hostCancelled(param->host))
		{
			ok = expireCancelled(err);
			break;
		}
		running = param->runningBackupId &&
			strcmp(param->runningBackupId, dirs.names[i]) == 0;
		if (!retentionOrphanRemovable(dirs.mtime[i], &locks[i], running,
									   policy.now))
		{
			if (!running && repoLockLive(&locks[i], policy.now))
				result->backupsLocked++;
			continue;
		}
		/* written since it was listed? then it is not an orphan */
		manifest = repoBackupManifestPath(dirs.names[i]);
		ok = storageExists(storage, manifest, &exists, err);
		pfree(manifest);
		if (!ok || exists)
			continue;
		/* an expired lock: take it, unless its owner comes back to life */
		if (!param->dryRun && locks[i].present)
		{
			ok = repoLockTake(repo, dirs.names[i], &locks[i], &taken, err);
			if (!ok || !taken)
				continue;
		}
		ok = expireBackupRemove(storage, dirs.names[i], false, param->dryRun,
								&result->bytesFreed, err);
		if (ok)
		{
			result->orphansRemoved++;
			if (param->onBackup)
				param->onBackup(param->arg, dirs.names[i], true);
			expireProgress(param->host, "orphans", result->orphansRemoved,
						   dirs.names[i], result->bytesFreed);
		}
	}
	if (!ok)
		goto done;

	/*
	 * WAL: only when a backup is kept to anchor it, and never while a
	 * backup's needs are unknown (the header comment).
	 */
	if (policy.unreadableCount > 0)
	{
		result->walKept = true;
		goto done;
	}
	if (oldest < 0)
	{
		result->walSkipped = true;
		goto done;
	}
	history = expireHistoryRead(repo, walKeep.tli);
	walKeep.history = history;
	walKeep.ranges = ranges;
	walSegmentName(result->walKeepFrom, walKeep.tli, walKeep.startSegno,
				   walKeep.segSize);
	ok = expireWal(repo, &walKeep, param->dryRun, param->host, result, err);

done:
	if (history)
		walHistoryFree(history);
	if (locks)
	{
		for (int i = 0; i < dirs.count; i++)
			repoLockStateFree(&locks[i]);
		pfree(locks);
		pfree(candidate);
		pfree(unknown);
	}
	expireListFree(&dirs);
	if (keep)
		pfree(keep);
	if (heldOnly)
		pfree(heldOnly);
	if (held)
		pfree(held);
	if (ranges)
		pfree(ranges);
	repoBackupHeadersFree(&list);
	return ok;
}

/* A stalled request to the repository is cancellable too (storage.h). */
bool
retentionRun(Repo *repo, const RetentionParam *param, RetentionResult *result,
			 DrError *err)
{
	const DrHost *saved = storageHostSet(repoStorage(repo), param->host);
	bool		ok = retentionRunInner(repo, param, result, err);

	storageHostSet(repoStorage(repo), saved);
	return ok;
}
