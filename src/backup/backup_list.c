/*-------------------------------------------------------------------------
 * backup_list.c
 *	  The sorted listing of the data directory that a backup copies.
 *
 * Files are listed depth first, each directory's entries sorted by name
 * with a '/' appended to directory names: that order is exactly the strcmp
 * order of the full paths, which the manifest requires and which lets an
 * incremental merge the listing with its parent's manifest in one pass
 * (both sorted), without holding either in memory.  Memory grows with the
 * largest single directory, not with the number of files.
 *
 * Left out, as pg_basebackup leaves them out: the contents of pg_wal (the
 * backup stores the WAL it needs itself), pg_replslot, pg_dynshmem,
 * pg_notify, pg_serial, pg_snapshots, pg_subtrans and pg_stat_tmp (the
 * directories themselves are kept: the server needs them); temporary files;
 * postmaster.pid and .opts; pg_internal.init; and backup_label and
 * tablespace_map, which the backup writes from pg_backup_stop's output.
 * Tablespaces are followed through their pg_tblspc symlinks, into this
 * server version's directory only.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "common/relpath.h"
#include "miscadmin.h"
#include "storage/fd.h"

#include "backup/backup_internal.h"

typedef struct ListEntryName
{
	char	   *name;
	char	   *key;			/* name, plus '/' for directories */
	bool		isDir;
	struct stat st;
} ListEntryName;

typedef struct ListState
{
	FILE	   *list;
	FILE	   *index;
	uint64		offset;
	BackupListing *listing;
	int			dirAlloc;
	int			tablespaceAlloc;
	/* parent manifest cursor (incremental) */
	ManifestReader *parent;
	bool		parentDone;
	bool		parentHave;
	ManifestFile parentFile;	/* current parent file entry */
	char	   *parentPath;
	/* the largest files so far: a min-heap on size, BACKUP_BIG_MAX long */
	BackupBig  *bigHeap;
	int			bigCount;
	uint64		partSize;		/* pg_dr.backup_part_size */
} ListState;

static const char *const excludeDirContents[] = {
	"pg_wal", "pg_replslot", "pg_dynshmem", "pg_notify", "pg_serial",
	"pg_snapshots", "pg_subtrans", "pg_stat_tmp", NULL
};

static const char *const excludeFiles[] = {
	"postmaster.pid", "postmaster.opts", "backup_label", "tablespace_map",
	"backup_label.old", "tablespace_map.old", "current_logfiles",
	"postgresql.auto.conf.tmp", NULL
};

static int
listEntryCompare(const void *a, const void *b)
{
	return strcmp(((const ListEntryName *) a)->key,
				  ((const ListEntryName *) b)->key);
}

/*
 * Is this a relation file (main fork, fsm, vm or init fork, any segment)?
 * Those live in global/, base/<db>/ and pg_tblspc/<ts>/<version>/<db>/, and
 * are named <relfilenode>[_<fork>][.<segno>].
 */
static bool
listIsRelation(const char *path, uint32 *segno)
{
	const char *name = strrchr(path, '/');
	const char *p;
	int			digits = 0;

	if (name == NULL)
		return false;
	if (strncmp(path, "global/", 7) != 0 && strncmp(path, "base/", 5) != 0 &&
		strncmp(path, "pg_tblspc/", 10) != 0)
		return false;
	name++;
	for (p = name; *p >= '0' && *p <= '9'; p++)
		digits++;
	if (digits == 0)
		return false;
	if (*p == '_')
	{
		if (strncmp(p, "_fsm", 4) == 0)
			p += 4;
		else if (strncmp(p, "_vm", 3) == 0)
			p += 3;
		else if (strncmp(p, "_init", 5) == 0)
			p += 5;
		else
			return false;
	}
	*segno = 0;
	if (*p == '.')
	{
		char	   *end;
		unsigned long n;

		p++;
		if (*p < '0' || *p > '9')
			return false;
		n = strtoul(p, &end, 10);
		if (*end != '\0')
			return false;
		*segno = (uint32) n;
		return true;
	}
	return *p == '\0';
}

static bool
listNameIn(const char *name, const char *const *names)
{
	for (; *names; names++)
		if (strcmp(name, *names) == 0)
			return true;
	return false;
}

/* Move the parent cursor to the first file whose path >= path. */
static void
listParentSeek(ListState *state, const char *path)
{
	DrError		err;

	while (!state->parentDone)
	{
		ManifestEntry entry;
		int			rc;

		if (state->parentHave && strcmp(state->parentPath, path) >= 0)
			return;

		rc = manifestReaderNext(state->parent, &entry, &err);
		if (rc < 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("could not read the parent backup's manifest: %s",
							err.message)));
		if (rc == 0)
		{
			state->parentDone = true;
			state->parentHave = false;
			return;
		}
		if (entry.kind != MANIFEST_ENTRY_FILE)
			continue;
		if (state->parentPath)
			pfree(state->parentPath);
		state->parentPath = pstrdup(entry.file.path);
		state->parentFile = entry.file;
		state->parentFile.path = state->parentPath;
		state->parentHave = true;
	}
}

static bool
bigSmaller(const BackupBig *a, const BackupBig *b)
{
	return a->size < b->size || (a->size == b->size && a->index > b->index);
}

static void
bigSwap(BackupBig *a, BackupBig *b)
{
	BackupBig	t = *a;

	*a = *b;
	*b = t;
}

/* Keep the file among the largest ones, if it is. */
static void
listBigAdd(ListState *state, uint64 index, uint64 size, uint32 parts)
{
	BackupBig  *heap = state->bigHeap;
	BackupBig	big = {index, size, parts};
	int			i;

	if (size < BACKUP_BIG_MIN_SIZE)
		return;
	if (state->bigCount < BACKUP_BIG_MAX)
	{
		/* append, then up while smaller than the parent */
		i = state->bigCount++;
		heap[i] = big;
		while (i > 0 && bigSmaller(&heap[i], &heap[(i - 1) / 2]))
		{
			bigSwap(&heap[i], &heap[(i - 1) / 2]);
			i = (i - 1) / 2;
		}
		return;
	}
	if (!bigSmaller(&heap[0], &big))
		return;
	/* replace the smallest, then down while larger than a child */
	heap[0] = big;
	i = 0;
	for (;;)
	{
		int			l = 2 * i + 1;
		int			r = l + 1;
		int			m = i;

		if (l < state->bigCount && bigSmaller(&heap[l], &heap[m]))
			m = l;
		if (r < state->bigCount && bigSmaller(&heap[r], &heap[m]))
			m = r;
		if (m == i)
			break;
		bigSwap(&heap[i], &heap[m]);
		i = m;
	}
}

static int
bigIndexCompare(const void *a, const void *b)
{
	uint64		x = ((const BackupBig *) a)->index;
	uint64		y = ((const BackupBig *) b)->index;

	return x < y ? -1 : x > y;
}

static void
listWriteFile(ListState *state, const char *path, const struct stat *st)
{
	BackupListEntry entry;
	uint32		segno = 0;

	memset(&entry, 0, sizeof(entry));
	entry.pathLen = strlen(path);
	entry.size = st->st_size;
	entry.mode = st->st_mode & 07777;
	entry.mtime = st->st_mtime;
	if (listIsRelation(path, &segno))
	{
		entry.flags |= BACKUP_LIST_RELATION;
		entry.segno = segno;
	}

	if (state->parent)
	{
		listParentSeek(state, path);
		if (state->parentHave && strcmp(state->parentPath, path) == 0)
		{
			entry.flags |= BACKUP_LIST_PARENT;
			entry.parentSize = state->parentFile.size;
			entry.parentStore = state->parentFile.store;
			entry.parentObjectSize = state->parentFile.objectSize;
			entry.parentBundled = state->parentFile.bundled;
			entry.parentBundle = state->parentFile.bundle;
			entry.parentBundleOffset = state->parentFile.bundleOffset;
			entry.parentBound = state->parentFile.bound ? 1 : 0;
			memcpy(entry.parentSha256, state->parentFile.sha256,
				   CODEC_SHA256_SIZE);
			entry.parentParts = state->parentFile.parts;
		}
	}
	entry.parts = backupListParts(entry.size, entry.flags, state->partSize);

	if (fwrite(&state->offset, sizeof(uint64), 1, state->index) != 1 ||
		fwrite(&entry, sizeof(entry), 1, state->list) != 1 ||
		fwrite(path, 1, entry.pathLen, state->list) != entry.pathLen)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write the backup file list: %m")));
	state->offset += sizeof(entry) + entry.pathLen;
	listBigAdd(state, state->listing->fileCount, entry.size, entry.parts);
	state->listing->fileCount++;
	state->listing->totalBytes += st->st_size;
}

static void
listAddDir(ListState *state, const char *path, const struct stat *st)
{
	BackupListing *listing = state->listing;

	if (listing->dirCount == state->dirAlloc)
	{
		state->dirAlloc = state->dirAlloc ? state->dirAlloc * 2 : 64;
		listing->dirs = listing->dirs
			? repalloc(listing->dirs, state->dirAlloc * sizeof(ManifestDir))
			: palloc(state->dirAlloc * sizeof(ManifestDir));
	}
	listing->dirs[listing->dirCount].path = pstrdup(path);
	listing->dirs[listing->dirCount].mode = st->st_mode & 07777;
	listing->dirCount++;
}

/*
 * List directory "relpath" (relative to the data directory) whose real
 * location is "fspath".
 */
static void
listDir(ListState *state, const char *relpath, const char *fspath,
		bool contents)
{
	DIR		   *dir;
	struct dirent *de;
	ListEntryName *names = NULL;
	int			count = 0;
	int			alloc = 0;
	int			i;
	bool		tablespaceRoot;

	if (!contents)
		return;

	/* pg_tblspc/<oid>: only this server version's directory is ours */
	tablespaceRoot = strncmp(relpath, "pg_tblspc/", 10) == 0 &&
		strchr(relpath + 10, '/') == NULL;

	dir = AllocateDir(fspath);
	while ((de = ReadDir(dir, fspath)) != NULL)
	{
		char		full[MAXPGPATH];
		struct stat st;

		CHECK_FOR_INTERRUPTS();
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (strncmp(de->d_name, PG_TEMP_FILE_PREFIX, strlen(PG_TEMP_FILE_PREFIX)) == 0)
			continue;
		if (listNameIn(de->d_name, excludeFiles) && relpath[0] == '\0')
			continue;
		if (strcmp(de->d_name, "pg_internal.init") == 0)
			continue;
		if (tablespaceRoot && strcmp(de->d_name, TABLESPACE_VERSION_DIRECTORY) != 0)
			continue;

		snprintf(full, sizeof(full), "%s/%s", fspath, de->d_name);
		/* stat, following symlinks (pg_tblspc, a linked pg_wal) */
		if (stat(full, &st) != 0)
		{
			if (errno == ENOENT)
				continue;		/* removed since readdir: WAL covers it */
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not stat file \"%s\": %m", full)));
		}
		if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
			continue;			/* sockets and the like */

		if (count == alloc)
		{
			alloc = alloc ? alloc * 2 : 64;
			names = names ? repalloc(names, alloc * sizeof(ListEntryName))
				: palloc(alloc * sizeof(ListEntryName));
		}
		names[count].name = pstrdup(de->d_name);
		names[count].isDir = S_ISDIR(st.st_mode);
		names[count].key = names[count].isDir
			? psprintf("%s/", de->d_name) : names[count].name;
		names[count].st = st;
		count++;
	}
	FreeDir(dir);

	if (count > 1)
		qsort(names, count, sizeof(ListEntryName), listEntryCompare);

	for (i = 0; i < count; i++)
	{
		char	   *childRel;
		char	   *childFs;

		childRel = relpath[0] ? psprintf("%s/%s", relpath, names[i].name)
			: pstrdup(names[i].name);
		childFs = psprintf("%s/%s", fspath, names[i].name);

		if (!names[i].isDir)
			listWriteFile(state, childRel, &names[i].st);
		else
		{
			bool		descend = true;

			listAddDir(state, childRel, &names[i].st);
			if (relpath[0] == '\0' && listNameIn(names[i].name, excludeDirContents))
				descend = false;
			if (strcmp(names[i].name, PG_TEMP_FILES_DIR) == 0)
				descend = false;
			listDir(state, childRel, childFs, descend);
		}
		pfree(childRel);
		pfree(childFs);
	}

	for (i = 0; i < count; i++)
	{
		if (names[i].key != names[i].name)
			pfree(names[i].key);
		pfree(names[i].name);
	}
	if (names)
		pfree(names);
}

/* Parse tablespace_map text ("oid path" lines) into the listing. */
static void
listTablespaces(ListState *state, const char *tablespaceMap)
{
	BackupListing *listing = state->listing;
	const char *p = tablespaceMap;

	while (p && *p)
	{
		const char *eol = strchr(p, '\n');
		size_t		len = eol ? (size_t) (eol - p) : strlen(p);
		char	   *line = pnstrdup(p, len);
		char	   *space = strchr(line, ' ');

		if (space != NULL)
		{
			*space = '\0';
			if (listing->tablespaceCount == state->tablespaceAlloc)
			{
				state->tablespaceAlloc = state->tablespaceAlloc ? state->tablespaceAlloc * 2 : 8;
				listing->tablespaces = listing->tablespaces
					? repalloc(listing->tablespaces,
							   state->tablespaceAlloc * sizeof(ManifestTablespace))
					: palloc(state->tablespaceAlloc * sizeof(ManifestTablespace));
			}
			listing->tablespaces[listing->tablespaceCount].oid = (uint32) strtoul(line, NULL, 10);
			/* tablespace_map escapes newlines in paths with a backslash */
			listing->tablespaces[listing->tablespaceCount].location = pstrdup(space + 1);
			listing->tablespaceCount++;
		}
		pfree(line);
		p = eol ? eol + 1 : NULL;
	}
}

uint32
backupListParts(uint64 size, uint32 flags, uint64 partSize)
{
	uint64		parts;

	/* an incremental stores these as a block delta, written whole */
	if ((flags & BACKUP_LIST_RELATION) && (flags & BACKUP_LIST_PARENT) &&
		size % BLCKSZ == 0)
		return 0;
	if (partSize == 0 || size <= partSize)
		return 0;
	parts = (size + partSize - 1) / partSize;
	return parts > PG_UINT32_MAX ? PG_UINT32_MAX : (uint32) parts;
}

void
backupListWrite(const char *listPath, const char *indexPath,
				const char *tablespaceMap, ManifestReader *parent,
				uint64 partSize, BackupListing *listing)
{
	ListState	state;

	memset(&state, 0, sizeof(state));
	memset(listing, 0, sizeof(*listing));
	state.partSize = partSize;
	state.listing = listing;
	state.parent = parent;
	state.parentDone = (parent == NULL);
	state.bigHeap = palloc(BACKUP_BIG_MAX * sizeof(BackupBig));

	state.list = AllocateFile(listPath, PG_BINARY_W);
	if (state.list == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", listPath)));
	state.index = AllocateFile(indexPath, PG_BINARY_W);
	if (state.index == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", indexPath)));

	listTablespaces(&state, tablespaceMap);
	listDir(&state, "", ".", true);

	/* a final offset, so that entry i spans offset[i] .. offset[i + 1] */
	if (fwrite(&state.offset, sizeof(uint64), 1, state.index) != 1 ||
		FreeFile(state.list) != 0 || FreeFile(state.index) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write the backup file list: %m")));

	if (state.bigCount > 1)
		qsort(state.bigHeap, state.bigCount, sizeof(BackupBig), bigIndexCompare);
	listing->big = state.bigHeap;
	listing->bigCount = state.bigCount;
}

bool
backupListRead(int indexFd, int listFd, uint64 index, BackupListEntry *entry,
			   char **path)
{
	uint64		offset;

	if (pg_pread(indexFd, &offset, sizeof(offset), index * sizeof(uint64)) !=
		sizeof(offset) ||
		pg_pread(listFd, entry, sizeof(*entry), offset) != sizeof(*entry))
		return false;
	*path = palloc(entry->pathLen + 1);
	if (pg_pread(listFd, *path, entry->pathLen, offset + sizeof(*entry)) !=
		entry->pathLen)
		return false;
	(*path)[entry->pathLen] = '\0';
	return true;
}

int
backupBigFind(const BackupShared *shared, uint64 index)
{
	int			lo = 0;
	int			hi = (int) shared->bigCount - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (shared->bigIndex[mid] == index)
			return mid;
		if (shared->bigIndex[mid] < index)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}
