/*-------------------------------------------------------------------------
 * repo_bundle.c
 *	  Bundles: small encoded objects packed end to end into larger
 *	  objects (contract in repo.h; the format of a backup's bundles in
 *	  manifest.h).
 *
 * Why: a cluster of 100,000 small relations would otherwise be 100,000
 * objects, each a file creation (posix) or a request (an object store),
 * which costs more than the bytes.  A bundle object is an ordinary storage
 * write: invisible until it ends, so an error or a crash leaves no partial
 * bundle under its name, and an entry is appended only once its object is
 * completely encoded (repo_object.c keeps it in memory until then), so a
 * bundle never holds part of an entry.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#ifndef FRONTEND
#include "utils/memutils.h"
#endif

#include "repo/repo_internal.h"

struct RepoBundle
{
	Repo	   *repo;
	char	   *prefix;
	uint64		sizeMax;
	size_t		entryMax;
	bool		deferSync;
	uint32		(*next) (void *arg);
	void	   *nextArg;

	StorageWrite *write;		/* the object being filled; NULL: none */
	uint32		number;			/* its number */
	uint64		size;			/* bytes in it so far */
	uint32		objects;		/* objects ended */
};

RepoBundle *
repoBundleNew(Repo *repo, const RepoBundleParam *param)
{
	RepoBundle *bundle = palloc0(sizeof(RepoBundle));

	bundle->repo = repo;
	bundle->prefix = pstrdup(param->prefix);
	bundle->sizeMax = param->sizeMax;
	bundle->entryMax = param->entryMax;
	bundle->deferSync = param->deferSync;
	bundle->next = param->next;
	bundle->nextArg = param->nextArg;
	return bundle;
}

size_t
repoBundleEntryMax(const RepoBundle *bundle)
{
	return bundle->entryMax;
}

uint32
repoBundleObjects(const RepoBundle *bundle)
{
	return bundle->objects;
}

/* End the object being filled: it becomes visible. */
static bool
repoBundleObjectEnd(RepoBundle *bundle, DrError *err)
{
	StorageWrite *write = bundle->write;

	bundle->write = NULL;
	if (!storageWriteEnd(write, err))
		return false;
	bundle->objects++;
	return true;
}

bool
repoBundleAppend(RepoBundle *bundle, const void *buf, size_t len,
				 RepoObjectPlace *place, DrError *err)
{
	if (bundle->write == NULL)
	{
		StorageWriteParam param = {0};
		char	   *path;

		/*
		 * The write outlives the object being appended: in the backend it
		 * must be allocated where the bundle is, not in the caller's
		 * context (a backup worker's per-file one).
		 */
#ifndef FRONTEND
		MemoryContext old = MemoryContextSwitchTo(GetMemoryChunkContext(bundle));
#endif

		bundle->number = bundle->next(bundle->nextArg);
		bundle->size = 0;
		path = psprintf("%s%u", bundle->prefix, bundle->number);
		param.deferSync = bundle->deferSync;
		bundle->write = storageWriteBegin(bundle->repo->storage, path, &param,
										  err);
		pfree(path);
#ifndef FRONTEND
		MemoryContextSwitchTo(old);
#endif
		if (bundle->write == NULL)
			return false;
	}
	if (!storageWrite(bundle->write, buf, len, err))
	{
		/* what the object holds is now unknown: give it up */
		storageWriteAbort(bundle->write);
		bundle->write = NULL;
		return false;
	}
	if (place)
	{
		place->bundled = true;
		place->bundle = bundle->number;
		place->offset = bundle->size;
	}
	bundle->size += len;
	if (bundle->size >= bundle->sizeMax)
		return repoBundleObjectEnd(bundle, err);
	return true;
}

bool
repoBundleEnd(RepoBundle *bundle, DrError *err)
{
	bool		ok = true;

	if (bundle->write != NULL)
		ok = repoBundleObjectEnd(bundle, err);
	pfree(bundle->prefix);
	pfree(bundle);
	return ok;
}

void
repoBundleAbort(RepoBundle *bundle)
{
	if (bundle == NULL)
		return;
	if (bundle->write != NULL)
		storageWriteAbort(bundle->write);
	pfree(bundle->prefix);
	pfree(bundle);
}
