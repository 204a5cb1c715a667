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
	bool		owned;
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
	bundle->owned = param->owned;
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

/*
 * The write outlives the objects appended to it: in the backend, every
 * call on it runs in the bundle's context, not in the caller's (a backup
 * worker's per-file one, reset after each file), since a driver may
 * allocate as it goes (the S3 driver's part buffer, its requests).
 */
#ifndef FRONTEND
#define BUNDLE_CONTEXT_ENTER(bundle) \
	MemoryContext bundleOld = MemoryContextSwitchTo(GetMemoryChunkContext(bundle))
#define BUNDLE_CONTEXT_LEAVE() MemoryContextSwitchTo(bundleOld)
#else
#define BUNDLE_CONTEXT_ENTER(bundle) ((void) 0)
#define BUNDLE_CONTEXT_LEAVE() ((void) 0)
#endif

/* End the object being filled: it becomes visible. */
static bool
repoBundleObjectEnd(RepoBundle *bundle, DrError *err)
{
	StorageWrite *write = bundle->write;
	bool		ok;
	BUNDLE_CONTEXT_ENTER(bundle);

	bundle->write = NULL;
	ok = storageWriteEnd(write, err);
	BUNDLE_CONTEXT_LEAVE();
	if (!ok)
		return false;
	bundle->objects++;
	return true;
}

/* Give up the object being filled; nothing of it stays visible. */
static void
repoBundleObjectAbort(RepoBundle *bundle)
{
	BUNDLE_CONTEXT_ENTER(bundle);

	storageWriteAbort(bundle->write);
	bundle->write = NULL;
	BUNDLE_CONTEXT_LEAVE();
}

bool
repoBundleAppend(RepoBundle *bundle, const void *buf, size_t len,
				 RepoObjectPlace *place, DrError *err)
{
	bool		ok;

	if (bundle->write == NULL)
	{
		StorageWriteParam param = {0};
		char	   *path;
		BUNDLE_CONTEXT_ENTER(bundle);

		bundle->number = bundle->next(bundle->nextArg);
		bundle->size = 0;
		path = psprintf("%s%u", bundle->prefix, bundle->number);
		param.deferSync = bundle->deferSync;
		param.owned = bundle->owned;
		bundle->write = storageWriteBegin(bundle->repo->storage, path, &param,
										  err);
		pfree(path);
		BUNDLE_CONTEXT_LEAVE();
		if (bundle->write == NULL)
			return false;
	}
	{
		BUNDLE_CONTEXT_ENTER(bundle);

		ok = storageWrite(bundle->write, buf, len, err);
		BUNDLE_CONTEXT_LEAVE();
	}
	if (!ok)
	{
		/* what the object holds is now unknown: give it up */
		repoBundleObjectAbort(bundle);
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
		repoBundleObjectAbort(bundle);
	pfree(bundle->prefix);
	pfree(bundle);
}
