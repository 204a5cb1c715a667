/*-------------------------------------------------------------------------
 * repo_chain_page.c
 *	  The pages of one file as a backup chain has it (repo_chain_page.h).
 *
 * One object read per level, all open at once while the file is read:
 * the merge itself is delta_chain.c's.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "common/delta_chain.h"
#include "repo/repo_backup.h"
#include "repo/repo_chain.h"
#include "repo/repo_chain_page.h"

/*
 * One level's object read forward; a whole copy in parts is its parts one
 * after the other (each but the last holds exactly its backup's part
 * size, so their concatenation is the file as the backup read it).
 */
typedef struct RepoChainPageStream
{
	Repo	   *repo;
	const RepoChainPageLevel *level;
	const char *path;			/* the file's path */
	uint32		part;			/* the part being read, when in parts */
	char	   *name;			/* the object being read */
	char	   *label;			/* the level's objects, for messages: the
								 * object, or its parts as ".../part/<path>/" and
								 * a star */
	RepoObjectRead *read;
} RepoChainPageStream;

struct RepoChainPage
{
	int			count;
	RepoChainPageLevel *levels;	/* a copy: the streams point into it */
	RepoChainPageStream *streams;
	DeltaChain *chain;
};

static bool
repoChainPageStreamOpen(RepoChainPageStream *stream, uint32 part, DrError *err)
{
	if (stream->read)
		repoObjectReadFree(stream->read);
	stream->read = NULL;
	if (stream->name)
		pfree(stream->name);
	stream->part = part;
	if (stream->level->parts > 0)
	{
		stream->name = repoBackupPartPath(stream->level->backupId,
										  stream->path, part);
		stream->read = repoObjectReadBegin(stream->repo, stream->name, err);
		/* every part is bound to its name (manifest.h) */
		if (stream->read != NULL &&
			!repoObjectReadBindingRequire(stream->read, stream->name, err))
		{
			repoObjectReadFree(stream->read);
			stream->read = NULL;
		}
	}
	else
	{
		/* data/<path>, or its entry of a bundle */
		ManifestFile file;

		memset(&file, 0, sizeof(file));
		file.path = (char *) stream->path;
		file.store = stream->level->store;
		file.objectSize = stream->level->objectSize;
		file.bundled = stream->level->bundled;
		file.bundle = stream->level->bundle;
		file.bundleOffset = stream->level->bundleOffset;
		file.bound = stream->level->bound;
		stream->name = repoBackupFileObjectName(stream->level->backupId, &file);
		stream->read = repoBackupFileReadBegin(stream->repo,
											   stream->level->backupId,
											   &file, err);
	}
	if (stream->read == NULL)
		return false;			/* the error names the object */
	/* never read to its end: its content hash would never be checked */
	repoObjectReadNoHash(stream->read);
	return true;
}

static ssize_t
repoChainPageRead(void *arg, void *buf, size_t len, DrError *err)
{
	RepoChainPageStream *stream = (RepoChainPageStream *) arg;

	for (;;)
	{
		ssize_t		n = repoObjectRead(stream->read, buf, len, err);

		if (n != 0 || stream->level->parts == 0 ||
			stream->part + 1 >= stream->level->parts)
			return n;
		if (!repoChainPageStreamOpen(stream, stream->part + 1, err))
			return -1;
	}
}

bool
repoChainPageLevels(char *const *ids, int count,
					const ManifestFile *const *levels,
					RepoChainPageLevel *out, int *outCount, DrError *err)
{
	int			source;
	int			n = 0;

	if (!repoChainSource(ids, count, levels, &source, err))
		return false;
	for (int i = 0; i <= source; i++)
	{
		/* store=parent: the level below's content, of the same size */
		if (levels[i]->store == MANIFEST_STORE_PARENT)
			continue;
		strlcpy(out[n].backupId, ids[i], sizeof(out[n].backupId));
		out[n].store = levels[i]->store;
		out[n].size = levels[i]->size;
		out[n].parts = levels[i]->parts;
		out[n].objectSize = levels[i]->objectSize;
		out[n].bundled = levels[i]->bundled;
		out[n].bundle = levels[i]->bundle;
		out[n].bundleOffset = levels[i]->bundleOffset;
		out[n].bound = levels[i]->bound;
		n++;
	}
	*outCount = n;
	return true;
}

RepoChainPage *
repoChainPageOpen(Repo *repo, const char *path, uint32 blockSize,
				  const RepoChainPageLevel *levels, int count, DrError *err)
{
	RepoChainPage *chain = palloc0(sizeof(RepoChainPage));
	DeltaChainLevel *streams = palloc0(Max(count, 1) * sizeof(DeltaChainLevel));

	chain->count = count;
	chain->levels = palloc0(Max(count, 1) * sizeof(RepoChainPageLevel));
	chain->streams = palloc0(Max(count, 1) * sizeof(RepoChainPageStream));
	for (int i = 0; i < count; i++)
	{
		RepoChainPageStream *stream = &chain->streams[i];

		if ((levels[i].store == MANIFEST_STORE_FULL) != (i == count - 1) ||
			(levels[i].store != MANIFEST_STORE_FULL &&
			 levels[i].store != MANIFEST_STORE_DELTA) ||
			(levels[i].parts > 0 && levels[i].store != MANIFEST_STORE_FULL))
		{
			drErrorSet(err, DR_ERR_INVALID,
					   "the chain of \"%s\" must be deltas on one whole copy (level %d of %d is stored as \"%s\"%s)",
					   path, i, count, manifestStoreName(levels[i].store),
					   levels[i].parts > 0 ? ", in parts" : "");
			goto fail;
		}
		chain->levels[i] = levels[i];
		stream->repo = repo;
		stream->level = &chain->levels[i];
		stream->path = path;
		if (!repoChainPageStreamOpen(stream, 0, err))
			goto fail;
		/* stays valid while the parts are read one after the other */
		stream->label = pstrdup(stream->name);
		if (levels[i].parts > 0)
			stream->label[strlen(stream->label) - 1] = '*';	/* ".../0" */
		streams[i].fn = repoChainPageRead;
		streams[i].arg = stream;
		streams[i].size = levels[i].size;
		streams[i].name = stream->label;
	}
	chain->chain = deltaChainNew(blockSize, streams, count, err);
	if (chain->chain == NULL)
		goto fail;
	pfree(streams);
	return chain;

fail:
	pfree(streams);
	repoChainPageClose(chain);
	return NULL;
}

uint32
repoChainPageBlocks(const RepoChainPage *chain)
{
	return deltaChainBlocks(chain->chain);
}

const char *
repoChainPageGet(RepoChainPage *chain, uint32 blockno, DrError *err)
{
	return deltaChainPage(chain->chain, blockno, err);
}

void
repoChainPageClose(RepoChainPage *chain)
{
	if (chain == NULL)
		return;
	/* the chain's readers first: they hold the objects' streams */
	deltaChainFree(chain->chain);
	for (int i = 0; i < chain->count; i++)
	{
		if (chain->streams[i].read)
			repoObjectReadFree(chain->streams[i].read);
		if (chain->streams[i].name)
			pfree(chain->streams[i].name);
		if (chain->streams[i].label)
			pfree(chain->streams[i].label);
	}
	pfree(chain->streams);
	pfree(chain->levels);
	pfree(chain);
}
