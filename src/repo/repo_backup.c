/*-------------------------------------------------------------------------
 * repo_backup.c
 *	  Backups in a repository: paths, listing, manifests, parent chains
 *	  (see repo_backup.h).
 *
 * Only what a manifest names is trusted, and a backup is only what has a
 * manifest: listing checks that the object exists, and every reader of a
 * manifest checks that it describes the backup it was asked for (a
 * manifest copied into another backup's directory must not pass for it).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "common/hex.h"
#include "repo/repo_backup.h"

#define REPO_BACKUP_LATEST		"latest"

struct RepoBackupManifest
{
	RepoObjectRead *read;
	ManifestReader *reader;
};

/* Collects the names of the directories under backup/ that are backup ids. */
typedef struct RepoBackupNames
{
	char	  **names;
	int			count;
	int			size;
} RepoBackupNames;

char *
repoBackupManifestPath(const char *backupId)
{
	return psprintf("%s/%s/manifest", REPO_BACKUP_DIR, backupId);
}

char *
repoBackupDataPath(const char *backupId, const char *path)
{
	return psprintf("%s/%s/data/%s", REPO_BACKUP_DIR, backupId, path);
}

char *
repoBackupPartPath(const char *backupId, const char *path, uint32 part)
{
	return psprintf("%s/%s/part/%s/%u", REPO_BACKUP_DIR, backupId, path, part);
}

char *
repoBackupWalPath(const char *backupId, const char *segment)
{
	return psprintf("%s/%s/wal/%s", REPO_BACKUP_DIR, backupId, segment);
}

char *
repoBackupBundlePrefix(const char *backupId)
{
	return psprintf("%s/%s/bundle/", REPO_BACKUP_DIR, backupId);
}

char *
repoBackupBundlePath(const char *backupId, uint32 bundle)
{
	return psprintf("%s/%s/bundle/%u", REPO_BACKUP_DIR, backupId, bundle);
}

RepoObjectRead *
repoBackupFileReadBegin(Repo *repo, const char *backupId,
						const ManifestFile *file, DrError *err)
{
	RepoObjectRead *read;
	char	   *path;

	path = repoBackupDataPath(backupId, file->path);
	if (!file->bundled)
		read = repoObjectReadBegin(repo, path, err);
	else
	{
		char	   *bundlePath = repoBackupBundlePath(backupId, file->bundle);

		read = repoObjectReadBeginRange(repo, bundlePath, file->bundleOffset,
										file->objectSize, err);
		pfree(bundlePath);
	}
	/* a version 3 backup's object, or entry, is bound to data/<path> */
	if (read != NULL && file->bound &&
		!repoObjectReadBindingRequire(read, path, err))
	{
		repoObjectReadFree(read);
		read = NULL;
	}
	pfree(path);
	return read;
}

char *
repoBackupFileObjectName(const char *backupId, const ManifestFile *file)
{
	if (!file->bundled)
		return repoBackupDataPath(backupId, file->path);
	return psprintf("%s/%s/bundle/%u:" UINT64_FORMAT " (%s)", REPO_BACKUP_DIR,
					backupId, file->bundle, file->bundleOffset, file->path);
}

char *
repoArchiveWalPath(const char *name, DrError *err)
{
	size_t		len = strlen(name);
	bool		segmentDir = false;

	if (len == 8 + strlen(".history") && hexIs(name, 8, HEX_UPPER) &&
		strcmp(name + 8, ".history") == 0)
		return psprintf("%s/%s", REPO_ARCHIVE_WAL_DIR, name);

	if (len == MANIFEST_WAL_NAME_LEN && hexIs(name, len, HEX_UPPER))
		segmentDir = true;
	else if (len == MANIFEST_WAL_NAME_LEN + strlen(".partial") &&
			 hexIs(name, MANIFEST_WAL_NAME_LEN, HEX_UPPER) &&
			 strcmp(name + MANIFEST_WAL_NAME_LEN, ".partial") == 0)
		segmentDir = true;
	else if (len == MANIFEST_WAL_NAME_LEN + 1 + 8 + strlen(".backup") &&
			 hexIs(name, MANIFEST_WAL_NAME_LEN, HEX_UPPER) &&
			 name[MANIFEST_WAL_NAME_LEN] == '.' &&
			 hexIs(name + MANIFEST_WAL_NAME_LEN + 1, 8, HEX_UPPER) &&
			 strcmp(name + MANIFEST_WAL_NAME_LEN + 9, ".backup") == 0)
		segmentDir = true;

	if (!segmentDir)
	{
		drErrorSet(err, DR_ERR_INVALID,
				   "\"%s\" is not the name of a WAL segment or history file",
				   name);
		return NULL;
	}
	return psprintf("%s/%.16s/%s", REPO_ARCHIVE_WAL_DIR, name, name);
}

char *
repoArchiveHistoryPath(uint32 tli)
{
	return psprintf("%s/%08X.history", REPO_ARCHIVE_WAL_DIR, tli);
}

static bool
repoBackupNameCollect(void *arg, const StorageInfo *info, DrError *err)
{
	RepoBackupNames *names = arg;

	if (!info->isDir || !manifestBackupIdValid(info->name))
		return true;
	if (names->count == names->size)
	{
		names->size = names->size == 0 ? 16 : names->size * 2;
		names->names = names->names == NULL ?
			palloc(names->size * sizeof(char *)) :
			repalloc(names->names, names->size * sizeof(char *));
	}
	names->names[names->count++] = pstrdup(info->name);
	return true;
}

static int
repoBackupNameCompare(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

bool
repoBackupList(Repo *repo, char ***ids, int *count, DrError *err)
{
	Storage    *storage = repoStorage(repo);
	RepoBackupNames names;
	int			kept = 0;

	memset(&names, 0, sizeof(names));
	if (!storageList(storage, REPO_BACKUP_DIR, repoBackupNameCollect, &names,
					 err))
	{
		repoBackupListFree(names.names, names.count);
		return false;
	}
	if (names.count > 1)
		qsort(names.names, names.count, sizeof(char *), repoBackupNameCompare);

	/*
	 * Existence is checked after the listing ended, not from its callback:
	 * a driver need not support nested operations.
	 */
	for (int i = 0; i < names.count; i++)
	{
		char	   *path = repoBackupManifestPath(names.names[i]);
		bool		exists;
		bool		ok = storageExists(storage, path, &exists, err);

		pfree(path);
		if (!ok)
		{
			/* names from i on were neither kept nor freed yet */
			for (int j = i; j < names.count; j++)
				pfree(names.names[j]);
			repoBackupListFree(names.names, kept);
			return false;
		}
		if (exists)
			names.names[kept++] = names.names[i];
		else
			pfree(names.names[i]);
	}

	if (kept == 0 && names.names != NULL)
	{
		pfree(names.names);
		names.names = NULL;
	}
	*ids = names.names;
	*count = kept;
	return true;
}

void
repoBackupListFree(char **ids, int count)
{
	if (ids == NULL)
		return;
	for (int i = 0; i < count; i++)
		pfree(ids[i]);
	pfree(ids);
}

char *
repoBackupLatest(Repo *repo, DrError *err)
{
	char	  **ids;
	int			count;
	char	   *latest;

	if (!repoBackupList(repo, &ids, &count, err))
		return NULL;
	if (count == 0)
	{
		drErrorSet(err, DR_ERR_NOT_FOUND, "repository \"%s\" has no backups",
				   repoConfig(repo)->path);
		return NULL;
	}
	latest = pstrdup(ids[count - 1]);
	repoBackupListFree(ids, count);
	return latest;
}

char *
repoBackupResolve(Repo *repo, const char *idOrLatest, DrError *err)
{
	char	   *path;
	bool		exists;
	bool		ok;

	if (strcmp(idOrLatest, REPO_BACKUP_LATEST) == 0)
		return repoBackupLatest(repo, err);
	if (!manifestBackupIdValid(idOrLatest))
	{
		char		shown[DR_ERROR_VALUE_BUF];

		drErrorSet(err, DR_ERR_INVALID, "invalid backup id \"%s\"",
				   drErrorValue(idOrLatest, shown));
		drErrorHint(err, "A backup id looks like 20240501-120000F (full) or 20240501-130000I (incremental), or use \"latest\".");
		return NULL;
	}
	path = repoBackupManifestPath(idOrLatest);
	ok = storageExists(repoStorage(repo), path, &exists, err);
	pfree(path);
	if (!ok)
		return NULL;
	if (!exists)
	{
		drErrorSet(err, DR_ERR_NOT_FOUND,
				   "backup \"%s\" does not exist in repository \"%s\"",
				   idOrLatest, repoConfig(repo)->path);
		drErrorHint(err, "\"pg_dr info\" lists the backups.");
		return NULL;
	}
	return pstrdup(idOrLatest);
}

/* ManifestReadFn over an encoded object. */
static ssize_t
repoBackupManifestRead(void *arg, void *buf, size_t len, DrError *err)
{
	return repoObjectRead((RepoObjectRead *) arg, buf, len, err);
}

RepoBackupManifest *
repoBackupManifestOpen(Repo *repo, const char *backupId, DrError *err)
{
	RepoBackupManifest *manifest;
	RepoObjectRead *read;
	ManifestReader *reader;
	char	   *path = repoBackupManifestPath(backupId);
	char	   *name;

	read = repoObjectReadBegin(repo, path, err);
	pfree(path);
	if (read == NULL)
	{
		if (err != NULL && err->code == DR_ERR_NOT_FOUND)
			drErrorSet(err, DR_ERR_NOT_FOUND,
					   "backup \"%s\" does not exist in repository \"%s\"",
					   backupId, repoConfig(repo)->path);
		return NULL;
	}

	name = psprintf("manifest of backup \"%s\"", backupId);
	reader = manifestReaderNewNamed(repoBackupManifestRead, read, name, err);
	pfree(name);
	if (reader == NULL)
	{
		repoObjectReadFree(read);
		return NULL;
	}
	if (strcmp(manifestReaderHeader(reader)->backupId, backupId) != 0)
	{
		drErrorSet(err, DR_ERR_CORRUPT,
				   "manifest of backup \"%s\" describes backup \"%s\"",
				   backupId, manifestReaderHeader(reader)->backupId);
		manifestReaderFree(reader);
		repoObjectReadFree(read);
		return NULL;
	}

	manifest = palloc(sizeof(RepoBackupManifest));
	manifest->read = read;
	manifest->reader = reader;
	return manifest;
}

ManifestReader *
repoBackupManifestReader(RepoBackupManifest *manifest)
{
	return manifest->reader;
}

const ManifestHeader *
repoBackupManifestHeader(RepoBackupManifest *manifest)
{
	return manifestReaderHeader(manifest->reader);
}

void
repoBackupManifestClose(RepoBackupManifest *manifest)
{
	if (manifest == NULL)
		return;
	manifestReaderFree(manifest->reader);
	repoObjectReadFree(manifest->read);
	pfree(manifest);
}

/* Can a backup of header parent be the parent of one of header child? */
static bool
repoBackupChainLink(const ManifestHeader *child, const ManifestHeader *parent,
					DrError *err)
{
	const char *what;

	if (parent->systemIdentifier != child->systemIdentifier)
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "backup \"%s\", the parent of \"%s\", is of another cluster (system identifier " UINT64_FORMAT " instead of " UINT64_FORMAT ")",
						  parent->backupId, child->backupId,
						  parent->systemIdentifier, child->systemIdentifier);
	/* PG_VERSION_NUM / 100 is the major version from 10 on */
	if (parent->pgVersion / 100 != child->pgVersion / 100)
		what = "another server version";
	else if (parent->blockSize != child->blockSize)
		what = "another block size";
	else if (parent->segmentSize != child->segmentSize)
		what = "another WAL segment size";
	else
		return true;
	return drErrorSet(err, DR_ERR_CORRUPT,
					  "backup \"%s\", the parent of \"%s\", is of %s",
					  parent->backupId, child->backupId, what);
}

RepoBackupChain *
repoBackupChain(Repo *repo, const char *backupId, DrError *err)
{
	RepoBackupChain *chain = palloc0(sizeof(RepoBackupChain));
	int			size = 4;
	char		id[MANIFEST_ID_MAX + 1];

	chain->ids = palloc(size * sizeof(char *));
	chain->headers = palloc(size * sizeof(ManifestHeader));
	strlcpy(id, backupId, sizeof(id));

	for (;;)
	{
		RepoBackupManifest *manifest;
		ManifestHeader *header;

		for (int i = 0; i < chain->count; i++)
			if (strcmp(chain->ids[i], id) == 0)
			{
				drErrorSet(err, DR_ERR_CORRUPT,
						   "the chain of backup \"%s\" has a cycle: backup \"%s\" is its own ancestor",
						   backupId, id);
				goto fail;
			}

		manifest = repoBackupManifestOpen(repo, id, err);
		if (manifest == NULL)
		{
			if (chain->count > 0 && err != NULL &&
				err->code == DR_ERR_NOT_FOUND)
				drErrorSet(err, DR_ERR_NOT_FOUND,
						   "backup \"%s\", the parent of \"%s\", does not exist in repository \"%s\"",
						   id, chain->ids[chain->count - 1],
						   repoConfig(repo)->path);
			goto fail;
		}

		if (chain->count == size)
		{
			size *= 2;
			chain->ids = repalloc(chain->ids, size * sizeof(char *));
			chain->headers = repalloc(chain->headers, size * sizeof(ManifestHeader));
		}
		header = &chain->headers[chain->count];
		*header = *repoBackupManifestHeader(manifest);
		if (header->label)
			header->label = pstrdup(header->label);
		repoBackupManifestClose(manifest);
		chain->ids[chain->count] = pstrdup(header->backupId);
		chain->count++;

		if (chain->count > 1 &&
			!repoBackupChainLink(&chain->headers[chain->count - 2], header, err))
			goto fail;
		if (!header->incremental)
			return chain;
		/* a copy: the array of headers may move */
		strlcpy(id, header->parentId, sizeof(id));
	}

fail:
	repoBackupChainFree(chain);
	return NULL;
}

void
repoBackupChainFree(RepoBackupChain *chain)
{
	if (chain == NULL)
		return;
	for (int i = 0; i < chain->count; i++)
	{
		pfree(chain->ids[i]);
		if (chain->headers[i].label)
			pfree(chain->headers[i].label);
	}
	pfree(chain->ids);
	pfree(chain->headers);
	pfree(chain);
}

bool
repoBackupHeadersRead(Repo *repo, RepoBackupHeaders *headers, DrError *err)
{
	char	  **ids;
	int			count;

	memset(headers, 0, sizeof(*headers));
	if (!repoBackupList(repo, &ids, &count, err))
		return false;
	if (count > 0)
	{
		headers->headers = palloc0(count * sizeof(ManifestHeader));
		headers->unreadableIds = palloc0(count * sizeof(char *));
		headers->unreadable = palloc0(count * sizeof(char *));
	}
	for (int i = 0; i < count; i++)
	{
		RepoBackupManifest *manifest;
		ManifestHeader *h;
		DrError		one;

		drErrorClear(&one);
		manifest = repoBackupManifestOpen(repo, ids[i], &one);
		if (manifest == NULL)
		{
			headers->unreadableIds[headers->unreadableCount] = pstrdup(ids[i]);
			/* the reader's messages name the backup; others need not */
			headers->unreadable[headers->unreadableCount++] =
				strstr(one.message, ids[i]) ? pstrdup(one.message) :
				psprintf("backup \"%s\": %s", ids[i], one.message);
			continue;
		}
		h = &headers->headers[headers->count++];
		*h = *repoBackupManifestHeader(manifest);
		if (h->label)
			h->label = pstrdup(h->label);
		repoBackupManifestClose(manifest);
	}
	repoBackupListFree(ids, count);
	return true;
}

void
repoBackupHeadersFree(RepoBackupHeaders *headers)
{
	for (int i = 0; i < headers->count; i++)
		if (headers->headers[i].label)
			pfree(headers->headers[i].label);
	for (int i = 0; i < headers->unreadableCount; i++)
	{
		pfree(headers->unreadableIds[i]);
		pfree(headers->unreadable[i]);
	}
	if (headers->headers)
	{
		pfree(headers->headers);
		pfree(headers->unreadableIds);
		pfree(headers->unreadable);
	}
	memset(headers, 0, sizeof(*headers));
}
