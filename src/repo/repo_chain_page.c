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

struct RepoChainPage
{
	int			count;
	RepoObjectRead **reads;
	char	  **names;			/* object paths, for messages */
	DeltaChain *chain;
};

static ssize_t
repoChainPageRead(void *arg, void *buf, size_t len, DrError *err)
{
	return repoObjectRead((RepoObjectRead *) arg, buf, len, err);
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
	chain->reads = palloc0(Max(count, 1) * sizeof(RepoObjectRead *));
	chain->names = palloc0(Max(count, 1) * sizeof(char *));
	for (int i = 0; i < count; i++)
	{
		if ((levels[i].store == MANIFEST_STORE_FULL) != (i == count - 1) ||
			(levels[i].store != MANIFEST_STORE_FULL &&
			 levels[i].store != MANIFEST_STORE_DELTA))
		{
			drErrorSet(err, DR_ERR_INVALID,
					   "the chain of \"%s\" must be deltas on one whole copy (level %d of %d is stored as \"%s\")",
					   path, i, count, manifestStoreName(levels[i].store));
			goto fail;
		}
		chain->names[i] = repoBackupDataPath(levels[i].backupId, path);
		chain->reads[i] = repoObjectReadBegin(repo, chain->names[i], err);
		if (chain->reads[i] == NULL)
			goto fail;			/* the error names the object */
		/* never read to its end: its content hash would never be checked */
		repoObjectReadNoHash(chain->reads[i]);
		streams[i].fn = repoChainPageRead;
		streams[i].arg = chain->reads[i];
		streams[i].size = levels[i].size;
		streams[i].name = chain->names[i];
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
		if (chain->reads[i])
			repoObjectReadFree(chain->reads[i]);
		if (chain->names[i])
			pfree(chain->names[i]);
	}
	pfree(chain->reads);
	pfree(chain->names);
	pfree(chain);
}
