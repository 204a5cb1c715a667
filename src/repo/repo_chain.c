/*-------------------------------------------------------------------------
 * repo_chain.c
 *	  The manifests of a backup chain merged by path, as streams.
 *
 * Every manifest lists its files in strictly ascending strcmp order, so
 * the file entries of all backups of a chain for one path can be found by
 * advancing one cursor per manifest, never going back: a k-way merge
 * driven by the newest backup.  Memory is one manifest reader per backup,
 * whatever the number of files.
 *
 * Only the newest manifest is read to its end (which verifies the whole
 * object, codec.h); the others are left once they have no files left to
 * offer.  restoreBegin has read every one of them to its verified end
 * before anything is written.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "repo/repo_backup.h"
#include "repo/repo_chain.h"

typedef struct RepoChainCursor
{
	RepoBackupManifest *manifest;
	ManifestEntry entry;
	bool		have;			/* entry holds a file */
	bool		done;			/* no more files */
} RepoChainCursor;

struct RepoChainIter
{
	int			count;
	RepoChainCursor *cursors;
	const ManifestFile **levels;
	bool		ended;
};

RepoChainIter *
repoChainIterOpen(Repo *repo, char *const *ids, int count, DrError *err)
{
	RepoChainIter *iter = palloc0(sizeof(RepoChainIter));

	iter->count = count;
	iter->cursors = palloc0(count * sizeof(RepoChainCursor));
	iter->levels = palloc0(count * sizeof(ManifestFile *));
	for (int i = 0; i < count; i++)
	{
		iter->cursors[i].manifest = repoBackupManifestOpen(repo, ids[i], err);
		if (iter->cursors[i].manifest == NULL)
		{
			repoChainIterClose(iter);
			return NULL;
		}
	}
	return iter;
}

void
repoChainIterClose(RepoChainIter *iter)
{
	if (iter == NULL)
		return;
	for (int i = 0; i < iter->count; i++)
		repoBackupManifestClose(iter->cursors[i].manifest);
	pfree(iter->cursors);
	pfree(iter->levels);
	pfree(iter);
}

/*
 * Move cursor to its next file entry.  The newest manifest (read) is read
 * on to its end once its files are over; the others are left there.
 */
static bool
repoChainCursorNext(RepoChainCursor *cursor, bool readToEnd,
					   DrError *err)
{
	ManifestReader *reader = repoBackupManifestReader(cursor->manifest);

	cursor->have = false;
	while (!cursor->done)
	{
		int			rc = manifestReaderNext(reader, &cursor->entry, err);

		if (rc < 0)
			return false;
		if (rc == 0)
			cursor->done = true;
		else if (cursor->entry.kind == MANIFEST_ENTRY_FILE)
		{
			cursor->have = true;
			return true;
		}
		else if (cursor->entry.kind == MANIFEST_ENTRY_WAL && !readToEnd)
			cursor->done = true;
	}
	return true;
}

int
repoChainIterNext(RepoChainIter *iter, const ManifestFile *const **levels,
					 DrError *err)
{
	RepoChainCursor *first = &iter->cursors[0];
	const char *path;

	if (iter->ended)
		return 0;
	if (!repoChainCursorNext(first, true, err))
		return -1;
	if (!first->have)
	{
		iter->ended = true;
		return 0;
	}
	path = first->entry.file.path;
	iter->levels[0] = &first->entry.file;

	for (int i = 1; i < iter->count; i++)
	{
		RepoChainCursor *cursor = &iter->cursors[i];

		while (!cursor->done &&
			   (!cursor->have || strcmp(cursor->entry.file.path, path) < 0))
		{
			if (!repoChainCursorNext(cursor, false, err))
				return -1;
		}
		iter->levels[i] = (cursor->have &&
						   strcmp(cursor->entry.file.path, path) == 0) ?
			&cursor->entry.file : NULL;
	}
	*levels = iter->levels;
	return 1;
}

bool
repoChainSource(char *const *ids, int count,
				   const ManifestFile *const *levels, int *source,
				   DrError *err)
{
	const char *path = levels[0]->path;

	for (int i = 0; i < count; i++)
	{
		if (levels[i] == NULL)
			return drErrorSet(err, DR_ERR_CORRUPT,
							  "file \"%s\" of backup \"%s\" is stored as \"%s\", but backup \"%s\", its parent, does not have it",
							  path, ids[i - 1],
							  manifestStoreName(levels[i - 1]->store), ids[i]);
		if (levels[i]->store == MANIFEST_STORE_FULL)
		{
			*source = i;
			return true;
		}
		/* unchanged since the parent: the parent's copy has the same size */
		if (levels[i]->store == MANIFEST_STORE_PARENT && i + 1 < count &&
			levels[i + 1] != NULL && levels[i + 1]->size != levels[i]->size)
			return drErrorSet(err, DR_ERR_CORRUPT,
							  "file \"%s\" of backup \"%s\" is stored as \"parent\" with size " UINT64_FORMAT ", but backup \"%s\" has it with size " UINT64_FORMAT,
							  path, ids[i], levels[i]->size, ids[i + 1],
							  levels[i + 1]->size);
	}
	/* the last backup of a chain is a full backup: its files are full */
	return drErrorSet(err, DR_ERR_CORRUPT,
					  "file \"%s\" of backup \"%s\" has no whole copy in its chain",
					  path, ids[0]);
}
