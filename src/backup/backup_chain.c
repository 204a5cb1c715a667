/*-------------------------------------------------------------------------
 * backup_chain.c
 *	  The parent chain's levels of each relation file, from the leader to
 *	  the workers (format and why in backup_chain.h).
 *
 * The leader merges the file list (in manifest order) with the chain's
 * manifests (repoChainIterOpen over the parent and its ancestors, in the
 * same order): one forward pass over each, memory independent of the
 * number of files.  The manifests are read as far as the list needs
 * them, each chunk authenticated as it is read (codec.h); whether they
 * are whole is for verify and restore to say, as for every object of the
 * chain a worker reads (repo_chain_page.h).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <unistd.h>

#include "storage/fd.h"
#include "utils/memutils.h"

#include "backup/backup_chain.h"
#include "pg_dr.h"
#include "repo/repo_backup.h"
#include "repo/repo_chain.h"

#define BACKUP_CHAIN_SUFFIX		".chain"
#define BACKUP_CHAIN_INDEX		".chain.index"

/* One level in a record of <list>.chain. */
typedef struct BackupChainLevel
{
	uint32		level;			/* index into the chain's ids */
	uint32		store;
	uint32		parts;			/* of a whole copy in parts; 0: one object */
	uint64		size;
	uint64		objectSize;		/* its object (parts == 0) */
	uint32		bundled;		/* bool: an entry of bundle/<bundle> */
	uint32		bundle;
	uint64		bundleOffset;
	uint32		bound;			/* bool: ManifestFile.bound */
} BackupChainLevel;

static char *
backupChainPath(const char *listPath, const char *suffix)
{
	return psprintf("%s%s", listPath, suffix);
}

static void
backupChainWriteCheck(bool ok, const char *path)
{
	if (!ok)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", path)));
}

/* Does this list entry need a record: a relation file not whole in the parent? */
static bool
backupChainNeeds(const BackupListEntry *entry)
{
	return (entry->flags & BACKUP_LIST_RELATION) &&
		(entry->flags & BACKUP_LIST_PARENT) &&
		entry->parentStore != MANIFEST_STORE_FULL;
}

void
backupChainWrite(Repo *repo, BackupShared *shared)
{
	RepoBackupChain *chain;
	RepoChainIter *iter;
	DrError		err;
	char	   *dataPath;
	char	   *indexPath;
	FILE	   *data;
	FILE	   *index;
	int			listFd;
	int			listIndexFd;
	uint64		offset;
	uint32		count;
	const ManifestFile *const *levels = NULL;
	bool		iterDone = false;
	RepoChainPageLevel *found;
	MemoryContext fileContext;

	shared->chainPath[0] = '\0';
	chain = repoBackupChain(repo, shared->parentId, &err);
	if (chain == NULL)
		drEreport(ERROR, &err);
	if (chain->count == 1)
	{
		/* a full parent stores every file whole: the list says it all */
		repoBackupChainFree(chain);
		return;
	}

	dataPath = backupChainPath(shared->listPath, BACKUP_CHAIN_SUFFIX);
	indexPath = backupChainPath(shared->listPath, BACKUP_CHAIN_INDEX);
	data = AllocateFile(dataPath, PG_BINARY_W);
	index = AllocateFile(indexPath, PG_BINARY_W);
	if (data == NULL || index == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m",
						data == NULL ? dataPath : indexPath)));
	listFd = OpenTransientFile(shared->listPath, O_RDONLY | PG_BINARY);
	listIndexFd = OpenTransientFile(shared->indexPath, O_RDONLY | PG_BINARY);
	if (listFd < 0 || listIndexFd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open the backup file list: %m")));
	/* from here on the workers know to look for records */
	strlcpy(shared->chainPath, dataPath, sizeof(shared->chainPath));

	/* the header: the chain's ids, newest (the parent) first */
	count = (uint32) chain->count;
	backupChainWriteCheck(fwrite(&count, sizeof(count), 1, data) == 1, dataPath);
	for (int i = 0; i < chain->count; i++)
	{
		char		id[MANIFEST_ID_MAX + 1];

		memset(id, 0, sizeof(id));
		strlcpy(id, chain->ids[i], sizeof(id));
		backupChainWriteCheck(fwrite(id, sizeof(id), 1, data) == 1, dataPath);
	}
	offset = sizeof(count) + (uint64) count * (MANIFEST_ID_MAX + 1);

	iter = repoChainIterOpen(repo, chain->ids, chain->count, &err);
	if (iter == NULL)
		drEreport(ERROR, &err);
	found = palloc(chain->count * sizeof(RepoChainPageLevel));
	fileContext = AllocSetContextCreate(CurrentMemoryContext,
										"pg_dr backup chain",
										ALLOCSET_DEFAULT_SIZES);
	for (uint64 i = 0; i < shared->fileCount; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(fileContext);
		BackupListEntry entry;
		char	   *path;
		uint64		at = 0;

		if (!backupListRead(listIndexFd, listFd, i, &entry, &path))
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read entry " UINT64_FORMAT " of the backup file list: %m",
							i)));
		if (backupChainNeeds(&entry))
		{
			int			n;
			uint32		n32;

			/*
			 * The parent's files, until this one; in the outer context:
			 * what the iterator allocates must outlive this file.
			 */
			MemoryContextSwitchTo(old);
			while (!iterDone &&
				   (levels == NULL || strcmp(levels[0]->path, path) < 0))
			{
				int			rc = repoChainIterNext(iter, &levels, &err);

				if (rc < 0)
					drEreport(ERROR, &err);
				if (rc == 0)
				{
					iterDone = true;
					levels = NULL;
				}
			}
			MemoryContextSwitchTo(fileContext);
			if (levels == NULL || strcmp(levels[0]->path, path) != 0)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("file \"%s\" is no longer in the manifest of parent backup %s",
								path, shared->parentId)));
			if (!repoChainPageLevels(chain->ids, chain->count, levels, found,
									 &n, &err))
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("the chain of parent backup %s is damaged: %s",
								shared->parentId, err.message),
						 errhint("Check it with pg_dr verify --backup %s; take a full backup instead.",
								 shared->parentId)));
			at = offset;
			n32 = (uint32) n;
			backupChainWriteCheck(fwrite(&n32, sizeof(n32), 1, data) == 1, dataPath);
			offset += sizeof(n32);
			for (int l = 0; l < n; l++)
			{
				BackupChainLevel level;

				memset(&level, 0, sizeof(level));
				/* the level's index in the chain, from its id */
				for (int c = 0; c < chain->count; c++)
					if (strcmp(chain->ids[c], found[l].backupId) == 0)
						level.level = (uint32) c;
				level.store = found[l].store;
				level.size = found[l].size;
				level.parts = found[l].parts;
				level.objectSize = found[l].objectSize;
				level.bundled = found[l].bundled ? 1 : 0;
				level.bundle = found[l].bundle;
				level.bundleOffset = found[l].bundleOffset;
				level.bound = found[l].bound ? 1 : 0;
				backupChainWriteCheck(fwrite(&level, sizeof(level), 1, data) == 1,
									  dataPath);
				offset += sizeof(level);
			}
		}
		backupChainWriteCheck(fwrite(&at, sizeof(at), 1, index) == 1, indexPath);
		MemoryContextSwitchTo(old);
		MemoryContextReset(fileContext);
	}
	MemoryContextDelete(fileContext);
	repoChainIterClose(iter);

	backupChainWriteCheck(FreeFile(data) == 0, dataPath);
	backupChainWriteCheck(FreeFile(index) == 0, indexPath);
	CloseTransientFile(listFd);
	CloseTransientFile(listIndexFd);
	pfree(found);
	pfree(dataPath);
	pfree(indexPath);
	repoBackupChainFree(chain);
}

void
backupChainRemove(const char *listPath)
{
	char	   *dataPath = backupChainPath(listPath, BACKUP_CHAIN_SUFFIX);
	char	   *indexPath = backupChainPath(listPath, BACKUP_CHAIN_INDEX);

	(void) unlink(dataPath);
	(void) unlink(indexPath);
	pfree(dataPath);
	pfree(indexPath);
}

/* pread exactly len bytes, or ERROR. */
static void
backupChainRead(int fd, void *buf, size_t len, uint64 offset, const char *path)
{
	if (pg_pread(fd, buf, len, (off_t) offset) != (ssize_t) len)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read file \"%s\": %m", path)));
}

int
backupChainLevels(const BackupShared *shared, const BackupListEntry *entry,
				  uint64 index, RepoChainPageLevel **levels)
{
	char	   *indexPath;
	int			dataFd;
	int			indexFd;
	uint64		offset;
	uint32		count;
	uint32		n;
	RepoChainPageLevel *out;

	/* whole in the parent: one level */
	if (!backupChainNeeds(entry))
	{
		out = palloc0(sizeof(RepoChainPageLevel));
		strlcpy(out->backupId, shared->parentId, sizeof(out->backupId));
		out->store = MANIFEST_STORE_FULL;
		out->size = entry->parentSize;
		out->parts = entry->parentParts;
		out->objectSize = entry->parentObjectSize;
		out->bundled = entry->parentBundled != 0;
		out->bundle = entry->parentBundle;
		out->bundleOffset = entry->parentBundleOffset;
		out->bound = entry->parentBound != 0;
		*levels = out;
		return 1;
	}
	if (shared->chainPath[0] == '\0')
		elog(ERROR, "parent backup %s is a full backup, yet it does not store a file whole",
			 shared->parentId);

	/* a file at a time: opening is cheap next to reading the relation */
	indexPath = backupChainPath(shared->listPath, BACKUP_CHAIN_INDEX);
	dataFd = OpenTransientFile(shared->chainPath, O_RDONLY | PG_BINARY);
	indexFd = OpenTransientFile(indexPath, O_RDONLY | PG_BINARY);
	if (dataFd < 0 || indexFd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m",
						dataFd < 0 ? shared->chainPath : indexPath)));
	backupChainRead(indexFd, &offset, sizeof(offset), index * sizeof(uint64),
					indexPath);
	backupChainRead(dataFd, &count, sizeof(count), 0, shared->chainPath);
	if (offset == 0)
		elog(ERROR, "no chain record for entry " UINT64_FORMAT " of the backup file list",
			 index);
	backupChainRead(dataFd, &n, sizeof(n), offset, shared->chainPath);
	if (n == 0 || n > count)
		elog(ERROR, "chain record of entry " UINT64_FORMAT " has %u levels, the chain %u",
			 index, n, count);
	out = palloc0(n * sizeof(RepoChainPageLevel));
	for (uint32 l = 0; l < n; l++)
	{
		BackupChainLevel level;

		backupChainRead(dataFd, &level, sizeof(level),
						offset + sizeof(n) + (uint64) l * sizeof(level),
						shared->chainPath);
		if (level.level >= count)
			elog(ERROR, "chain record of entry " UINT64_FORMAT " names level %u of %u",
				 index, level.level, count);
		backupChainRead(dataFd, out[l].backupId, MANIFEST_ID_MAX + 1,
						sizeof(count) + (uint64) level.level * (MANIFEST_ID_MAX + 1),
						shared->chainPath);
		out[l].backupId[MANIFEST_ID_MAX] = '\0';
		out[l].store = level.store;
		out[l].size = level.size;
		out[l].parts = level.parts;
		out[l].objectSize = level.objectSize;
		out[l].bundled = level.bundled != 0;
		out[l].bundle = level.bundle;
		out[l].bundleOffset = level.bundleOffset;
		out[l].bound = level.bound != 0;
	}
	CloseTransientFile(dataFd);
	CloseTransientFile(indexFd);
	pfree(indexPath);
	*levels = out;
	return (int) n;
}
