/*-------------------------------------------------------------------------
 * restore_fallback.c
 *	  A file or WAL segment of the backup read again from the next
 *	  repository when this one's copy is missing or damaged
 *	  (RestoreParam.fallbackRepos, repo/repo_fallback.h).
 *
 * The same backup id in another repository has the same files with the
 * same size and SHA-256, but its objects may differ (another key, other
 * bundles): a file is restored from the other repository's own manifests
 * of the chain, once they are found to give the file the size and SHA-256
 * this restore's manifest gives it.  A WAL segment's object has one name
 * in every repository and is checked against this restore's manifest.
 * A unit of a file in parts (restore_internal.h) is retried the same way
 * by restoreFileUnit (restore_file.c), which has the part's writer.
 * The fallback changes restore->repo for the one call and puts it back
 * (restoreFallbackUse, restoreFallbackEnd):
 * every job is a process of its own (or the only one), so nothing else
 * reads it meanwhile.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "repo/repo_fallback.h"
#include "restore/restore_internal.h"

/*
 * Read from fallback repository k until restoreFallbackEnd: restore->repo
 * is it, and its storage asks the restore's host while it waits, as the
 * restore's own repository's does (restoreBegin), so that a stalled read
 * there is cancellable too.  Returns what restoreFallbackEnd puts back.
 */
RestoreFallbackSaved
restoreFallbackUse(Restore *restore, int k)
{
	RestoreFallbackSaved saved;

	saved.repo = restore->repo;
	restore->repo = restore->param.fallbackRepos[k];
	saved.host = storageHostSet(repoStorage(restore->repo), restore->param.host);
	return saved;
}

void
restoreFallbackEnd(Restore *restore, RestoreFallbackSaved saved)
{
	storageHostSet(repoStorage(restore->repo), saved.host);
	restore->repo = saved.repo;
}

/* May a failed read go on with the fallback repositories? */
bool
restoreFallbackWorth(const Restore *restore, const DrError *err)
{
	return restore->param.fallbackCount > 0 && err != NULL &&
		repoReadFallsBack(err);
}

/*
 * A read that does not fall back: its error names the repository when the
 * caller named it (RestoreParam.repoNumber) and the copy is at fault.
 * Returns false.
 */
static bool
restoreFallbackNone(const Restore *restore, DrError *err)
{
	if (restore->param.repoNumber != 0 && err != NULL && repoReadFallsBack(err))
		drErrorPrefix(err, "repository %d: ", restore->param.repoNumber);
	return false;
}

/* Say a fallback to repository used (0: a fallback copy that failed too). */
static void
restoreFallbackSay(const Restore *restore, int failed, const DrError *err,
				   int used)
{
	char	   *msg = repoFallbackMessage(failed, NULL, err, "restored it", used);

	hostWarning(restore->param.host, msg);
	pfree(msg);
}

/*
 * The entries of mine's path in the chain as fallback repository k holds
 * it: the open iterator (close it after using *alt), or NULL with err.
 * Its level 0 must have the size, SHA-256 and parts of mine (the entry
 * this restore's manifest gives).
 */
RepoChainIter *
restoreFallbackLevels(Restore *restore, int k, const ManifestFile *mine,
					  const ManifestFile *const **alt, DrError *err)
{
	RepoChainIter *iter;

	/* the caller reads from repository k: restoreFallbackUse */
	Assert(restore->repo == restore->param.fallbackRepos[k]);
	iter = repoChainIterOpen(restore->repo, restore->chain->ids,
							 restore->chain->count, err);
	if (iter == NULL)
		return NULL;
	for (;;)
	{
		int			rc = repoChainIterNext(iter, alt, err);

		if (rc < 0)
			break;
		if (rc == 0)
		{
			drErrorSet(err, DR_ERR_NOT_FOUND,
					   "its manifest of backup \"%s\" has no file \"%s\"",
					   restore->chain->ids[0], mine->path);
			break;
		}
		if (strcmp((*alt)[0]->path, mine->path) != 0)
			continue;
		if ((*alt)[0]->size != mine->size ||
			memcmp((*alt)[0]->sha256, mine->sha256, CODEC_SHA256_SIZE) != 0 ||
			(*alt)[0]->parts != mine->parts)
		{
			drErrorSet(err, DR_ERR_CORRUPT,
					   "its manifest of backup \"%s\" gives file \"%s\" another size or SHA-256",
					   restore->chain->ids[0], mine->path);
			break;
		}
		return iter;
	}
	repoChainIterClose(iter);
	return NULL;
}

bool
restoreFile(Restore *restore, const ManifestFile *const *levels,
			bool *unchanged, DrError *err)
{
	RestoreFallbackSaved saved;
	DrError		first;
	bool		ok = false;

	if (restoreFileRead(restore, levels, unchanged, err))
		return true;
	if (!restoreFallbackWorth(restore, err))
		return restoreFallbackNone(restore, err);
	first = *err;
	for (int k = 0; k < restore->param.fallbackCount && !ok; k++)
	{
		const ManifestFile *const *alt;
		RepoChainIter *iter;
		DrError		e;

		drErrorClear(&e);
		saved = restoreFallbackUse(restore, k);
		iter = restoreFallbackLevels(restore, k, levels[0], &alt, &e);
		if (iter != NULL)
		{
			ok = restoreFileRead(restore, alt, unchanged, &e);
			repoChainIterClose(iter);
		}
		else
			drErrorPrefix(&e, "could not restore \"%s\" of backup \"%s\": ",
						  levels[0]->path, restore->chain->ids[0]);
		restoreFallbackEnd(restore, saved);
		if (ok)
			restoreFallbackSay(restore, restore->param.repoNumber, &first,
							   restore->param.fallbackNumbers[k]);
		else if (e.code == DR_ERR_CANCELED)
		{
			*err = e;
			return false;
		}
		else
			restoreFallbackSay(restore, restore->param.fallbackNumbers[k], &e, 0);
	}
	if (ok)
		return true;
	*err = first;
	drErrorPrefix(err, "repository %d: ", restore->param.repoNumber);
	drErrorHint(err, "No configured repository has a good copy of the file (the warnings say why); \"pg_dr verify\" checks each repository's copy.");
	return false;
}

bool
restoreWalSegment(Restore *restore, const ManifestWal *wal, DrError *err)
{
	RestoreFallbackSaved saved;
	DrError		first;
	bool		ok = false;

	if (restoreWalSegmentRead(restore, wal, err))
		return true;
	if (!restoreFallbackWorth(restore, err))
		return restoreFallbackNone(restore, err);
	first = *err;
	for (int k = 0; k < restore->param.fallbackCount && !ok; k++)
	{
		DrError		e;

		drErrorClear(&e);
		saved = restoreFallbackUse(restore, k);
		ok = restoreWalSegmentRead(restore, wal, &e);
		restoreFallbackEnd(restore, saved);
		if (ok)
			restoreFallbackSay(restore, restore->param.repoNumber, &first,
							   restore->param.fallbackNumbers[k]);
		else if (e.code == DR_ERR_CANCELED)
		{
			*err = e;
			return false;
		}
		else
			restoreFallbackSay(restore, restore->param.fallbackNumbers[k], &e, 0);
	}
	if (ok)
		return true;
	*err = first;
	drErrorPrefix(err, "repository %d: ", restore->param.repoNumber);
	drErrorHint(err, "No configured repository has a good copy of the segment (the warnings say why); \"pg_dr verify\" checks each repository's copy.");
	return false;
}
