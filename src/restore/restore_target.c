/*-------------------------------------------------------------------------
 * restore_target.c
 *	  The target directory of a restore: the checks before anything is
 *	  written, its directories and tablespace links, and at the end the
 *	  delta-mode cleaning and the directory fsyncs.
 *
 * Safety first: a target with postmaster.pid may be a running cluster and
 * is always refused; a non-empty target is refused unless in delta mode,
 * and even then it must hold PG_VERSION, so that a mistyped --pgdata can
 * never have an unrelated directory emptied.  In a tablespace location
 * only the directories the backup lists (this server version's) are
 * touched: other versions' directories may belong to another cluster.
 *
 * The cleaning walk visits the target in the order of the manifest's file
 * lines (each directory's entries sorted by name, with '/' appended to
 * directories: exactly the strcmp order of full paths), so one cursor over
 * the manifest's files, never going back, says which files to keep.  The
 * backup's directories are looked up in a sorted array: directories are
 * few next to files.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <dirent.h>
#include <errno.h>
#include <unistd.h>

#include "common/fs.h"
#include "restore/restore_internal.h"

typedef enum RestoreWalkKind
{
	RESTORE_WALK_ROOT,			/* the data directory */
	RESTORE_WALK_TABLESPACE,	/* a tablespace location: only listed dirs */
	RESTORE_WALK_OTHER
} RestoreWalkKind;

typedef struct RestoreWalk
{
	Restore    *restore;
	bool		clean;
	RestoreResult *result;

	/* the backup's directories, sorted */
	char	  **dirs;
	int			dirCount;

	/* cursor over the backup's files */
	RepoBackupManifest *manifest;
	ManifestEntry entry;
	bool		have;
	bool		done;
} RestoreWalk;

typedef struct RestoreWalkEntry
{
	char	   *name;
	char	   *key;			/* name, with '/' for what is walked into */
	bool		walk;			/* a directory, or a link followed as one */
	bool		followed;		/* a link followed */
	bool		tablespace;		/* a link to a tablespace of the backup */
	bool		regular;
} RestoreWalkEntry;

static RestoreTablespace *
restoreTablespaceFind(Restore *restore, uint32 oid)
{
	for (int i = 0; i < restore->tablespaceCount; i++)
		if (restore->tablespaces[i].oid == oid)
			return &restore->tablespaces[i];
	return NULL;
}

/* "pg_tblspc/<oid>" of a tablespace of the backup? */
static RestoreTablespace *
restoreTablespaceOfPath(Restore *restore, const char *path)
{
	const char *p = path + strlen(RESTORE_TBLSPC_DIR "/");
	char	   *end;
	unsigned long oid;

	if (strncmp(path, RESTORE_TBLSPC_DIR "/", strlen(RESTORE_TBLSPC_DIR "/")) != 0 ||
		*p < '1' || *p > '9')
		return NULL;
	errno = 0;
	oid = strtoul(p, &end, 10);
	if (errno != 0 || *end != '\0' || oid > PG_UINT32_MAX)
		return NULL;
	return restoreTablespaceFind(restore, (uint32) oid);
}

/* ---------------------------------------------------------------------
 * Prepare
 * ---------------------------------------------------------------------
 */

/*
 * Is dir (the target, or tablespace oid's location when oid is not 0)
 * clear of every guard?  Both sides are resolved first: a link to the
 * data directory, or "/./" in a path, must not hide an overlap.  What
 * could still change between this check and the writes is the caller's
 * own directories, not the guards.
 */
static bool
restoreGuardCheck(Restore *restore, const char *dir, uint32 oid, DrError *err)
{
	char	   *resolved = restorePathResolve(dir, err);
	bool		ok = true;

	if (resolved == NULL)
		return false;
	for (int i = 0; ok && i < restore->param.guardCount; i++)
	{
		const RestoreGuard *guard = &restore->param.guards[i];
		char	   *guardResolved = restorePathResolve(guard->path, err);

		if (guardResolved == NULL)
		{
			ok = false;
			break;
		}
		if (restorePathOverlap(resolved, guardResolved))
		{
			bool		moved = strcmp(resolved, dir) != 0;
			char		tablespace[32] = "";

			if (oid != 0)
				snprintf(tablespace, sizeof(tablespace), " for tablespace %u", oid);
			drErrorSet(err, DR_ERR_INVALID,
					   "%s \"%s\"%s overlaps %s \"%s\"%s%s%s",
					   oid != 0 ? "directory" : "target directory", dir,
					   tablespace, guard->what, guard->path,
					   moved ? " (it resolves to \"" : "",
					   moved ? resolved : "", moved ? "\")" : "");
			drErrorHint(err, "Restore into a directory of its own: neither inside nor holding a data directory, a tablespace or a repository.");
			ok = false;
		}
		pfree(guardResolved);
	}
	pfree(resolved);
	return ok;
}

static bool
restoreTargetCheck(Restore *restore, DrError *err)
{
	const char *target = restore->targetDir;
	struct stat st;
	char	   *path;
	bool		empty;
	bool		exists;
	bool		found;

	if (!restoreGuardCheck(restore, target, 0, err))
		return false;
	for (int i = 0; i < restore->tablespaceCount; i++)
		if (!restoreGuardCheck(restore, restore->tablespaces[i].target,
							   restore->tablespaces[i].oid, err))
			return false;

	/* a link to a directory is fine: the target is often a mount point */
	if (stat(target, &st) == 0 && !S_ISDIR(st.st_mode))
		return drErrorSet(err, DR_ERR_INVALID,
						  "target \"%s\" exists and is not a directory", target);

	path = psprintf("%s/postmaster.pid", target);
	found = lstat(path, &st) == 0;
	pfree(path);
	if (found)
	{
		drErrorSet(err, DR_ERR_INVALID,
				   "target directory \"%s\" holds postmaster.pid: a server may be running on it",
				   target);
		drErrorHint(err, "Stop the server first.  If none is running, remove postmaster.pid.");
		return false;
	}

	if (!restoreDirEmpty(target, &empty, &exists, err))
		return false;
	if (!empty && !restore->param.delta)
	{
		drErrorSet(err, DR_ERR_INVALID, "target directory \"%s\" is not empty",
				   target);
		drErrorHint(err, "Restore into an empty directory, or use delta mode (--delta) to restore over a data directory.");
		return false;
	}
	if (!empty)
	{
		path = psprintf("%s/PG_VERSION", target);
		found = lstat(path, &st) == 0 && S_ISREG(st.st_mode);
		pfree(path);
		if (!found)
		{
			drErrorSet(err, DR_ERR_INVALID,
					   "target directory \"%s\" is not empty and is not a data directory (it has no PG_VERSION)",
					   target);
			drErrorHint(err, "Delta mode only restores over a PostgreSQL data directory; check the target.");
			return false;
		}
	}

	for (int i = 0; i < restore->tablespaceCount; i++)
	{
		RestoreTablespace *ts = &restore->tablespaces[i];

		if (restore->param.delta)
			continue;
		if (!restoreDirEmpty(ts->target, &empty, &exists, err))
			return false;
		if (!empty)
		{
			drErrorSet(err, DR_ERR_INVALID,
					   "directory \"%s\" for tablespace %u is not empty",
					   ts->target, ts->oid);
			drErrorHint(err, "Map the tablespace to an empty directory (--tablespace-map %u=DIR), or use delta mode.",
						ts->oid);
			return false;
		}
	}
	return true;
}

/* pg_tblspc/<oid> -> its location (replacing another link in delta mode). */
static bool
restoreTablespaceLink(Restore *restore, RestoreTablespace *ts, DrError *err)
{
	char	   *link = psprintf("%s/%s/%u", restore->targetDir, RESTORE_TBLSPC_DIR,
								ts->oid);
	struct stat st;
	bool		ok = false;

	if (!fsMakeDirs(ts->target, RESTORE_DIR_MODE, 0, err))
		goto done;
	if (lstat(link, &st) == 0)
	{
		if (S_ISLNK(st.st_mode))
		{
			char		current[MAXPGPATH];
			ssize_t		len = readlink(link, current, sizeof(current) - 1);

			if (len >= 0)
			{
				current[len] = '\0';
				if (strcmp(current, ts->target) == 0)
				{
					ok = true;
					goto done;
				}
			}
		}
		if (!restoreRemoveTree(link, err))
			goto done;
	}
	else if (errno != ENOENT)
	{
		drErrorSet(err, DR_ERR_IO, "could not stat \"%s\": %m", link);
		goto done;
	}
	if (symlink(ts->target, link) < 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not create symbolic link \"%s\": %m", link);
		goto done;
	}
	ok = true;
done:
	pfree(link);
	return ok;
}

/* The backup's directories, in manifest order (parents first). */
static bool
restoreTargetDirs(Restore *restore, DrError *err)
{
	RepoBackupManifest *manifest;
	ManifestReader *reader;
	bool		ok = true;

	manifest = repoBackupManifestOpen(restore->repo, restore->chain->ids[0], err);
	if (manifest == NULL)
		return false;
	reader = repoBackupManifestReader(manifest);
	for (;;)
	{
		ManifestEntry entry;
		RestoreTablespace *ts;
		char	   *path;
		int			rc = manifestReaderNext(reader, &entry, err);

		if (rc < 0)
		{
			ok = false;
			break;
		}
		if (rc == 0 || entry.kind == MANIFEST_ENTRY_FILE ||
			entry.kind == MANIFEST_ENTRY_WAL)
			break;
		if (entry.kind != MANIFEST_ENTRY_DIR)
			continue;

		/* the link made above stands for a tablespace's directory */
		ts = restoreTablespaceOfPath(restore, entry.dir.path);
		path = ts ? pstrdup(ts->target) :
			psprintf("%s/%s", restore->targetDir, entry.dir.path);
		if (ts == NULL &&
			!fsMakeDirs(path, (mode_t) entry.dir.mode,
						restore->param.delta ? FS_MKDIR_REPLACE : 0, err))
			ok = false;
		else if (chmod(path, (mode_t) entry.dir.mode) < 0)
			ok = drErrorSet(err, DR_ERR_IO, "could not set the mode of \"%s\": %m",
							path);
		pfree(path);
		if (!ok)
			break;
	}
	repoBackupManifestClose(manifest);
	return ok;
}

bool
restoreTargetPrepare(Restore *restore, DrError *err)
{
	char	   *path;

	if (!restoreTargetCheck(restore, err))
		return false;
	if (!fsMakeDirs(restore->targetDir, RESTORE_DIR_MODE, 0, err))
		return false;

	/* until pg_control is back (restoreFinish), the target cannot start */
	if (restore->param.delta)
	{
		bool		ok = true;

		path = psprintf("%s/%s", restore->targetDir, RESTORE_PG_CONTROL);
		if (unlink(path) == 0)
			ok = fsSyncParent(path, err);
		else if (errno != ENOENT && errno != ENOTDIR)
			ok = drErrorSet(err, DR_ERR_IO, "could not remove \"%s\": %m", path);
		pfree(path);
		if (!ok)
			return false;
	}

	if (restore->tablespaceCount > 0)
	{
		path = psprintf("%s/%s", restore->targetDir, RESTORE_TBLSPC_DIR);
		if (!fsMakeDirs(path, RESTORE_DIR_MODE,
						restore->param.delta ? FS_MKDIR_REPLACE : 0, err))
		{
			pfree(path);
			return false;
		}
		pfree(path);
		for (int i = 0; i < restore->tablespaceCount; i++)
			if (!restoreTablespaceLink(restore, &restore->tablespaces[i], err))
				return false;
	}

	return restoreTargetDirs(restore, err);
}

/* ---------------------------------------------------------------------
 * Cleaning (delta mode) and directory fsyncs
 * ---------------------------------------------------------------------
 */

static int
restoreStringCompare(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static int
restoreWalkEntryCompare(const void *a, const void *b)
{
	return strcmp(((const RestoreWalkEntry *) a)->key,
				  ((const RestoreWalkEntry *) b)->key);
}

static bool
restoreWalkDirListed(RestoreWalk *walk, const char *path)
{
	return walk->dirCount > 0 &&
		bsearch(&path, walk->dirs, walk->dirCount, sizeof(char *),
				restoreStringCompare) != NULL;
}

/* Does the backup have file path?  Paths come in ascending order. */
static bool
restoreWalkFileListed(RestoreWalk *walk, const char *path, bool *listed,
					  DrError *err)
{
	ManifestReader *reader = repoBackupManifestReader(walk->manifest);

	while (!walk->done &&
		   (!walk->have || strcmp(walk->entry.file.path, path) < 0))
	{
		int			rc = manifestReaderNext(reader, &walk->entry, err);

		walk->have = false;
		if (rc < 0)
			return false;
		if (rc == 0 || walk->entry.kind == MANIFEST_ENTRY_WAL)
			walk->done = true;
		else if (walk->entry.kind == MANIFEST_ENTRY_FILE)
			walk->have = true;
	}
	*listed = walk->have && strcmp(walk->entry.file.path, path) == 0;
	return true;
}

/* Read, classify and sort the entries of directory abs. */
static bool
restoreWalkList(RestoreWalk *walk, const char *abs, const char *rel,
				RestoreWalkKind kind, RestoreWalkEntry **entries, int *count,
				DrError *err)
{
	DIR		   *dir = opendir(abs);
	struct dirent *de;
	int			size = 0;

	*entries = NULL;
	*count = 0;
	if (dir == NULL)
		return drErrorSet(err, DR_ERR_IO, "could not open directory \"%s\": %m",
						  abs);
	for (;;)
	{
		RestoreWalkEntry *e;
		struct stat st;
		char	   *full;
		char	   *childRel;

		errno = 0;
		de = readdir(dir);
		if (de == NULL)
		{
			if (errno != 0)
			{
				drErrorSet(err, DR_ERR_IO, "could not read directory \"%s\": %m", abs);
				closedir(dir);
				return false;
			}
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (kind == RESTORE_WALK_ROOT && strcmp(de->d_name, "lost+found") == 0)
			continue;

		full = psprintf("%s/%s", abs, de->d_name);
		if (lstat(full, &st) < 0)
		{
			drErrorSet(err, DR_ERR_IO, "could not stat \"%s\": %m", full);
			pfree(full);
			closedir(dir);
			return false;
		}
		if (*count == size)
		{
			size = size ? size * 2 : 64;
			*entries = *entries ? repalloc(*entries, size * sizeof(RestoreWalkEntry))
				: palloc(size * sizeof(RestoreWalkEntry));
		}
		e = &(*entries)[(*count)++];
		memset(e, 0, sizeof(*e));
		e->name = pstrdup(de->d_name);
		e->regular = S_ISREG(st.st_mode);
		e->walk = S_ISDIR(st.st_mode);

		/* links: a tablespace of the backup, and a linked pg_wal, are followed */
		childRel = psprintf("%s%s", rel, de->d_name);
		if (S_ISLNK(st.st_mode))
		{
			struct stat target;

			e->tablespace = restoreTablespaceOfPath(walk->restore, childRel) != NULL;
			if ((e->tablespace ||
				 (kind == RESTORE_WALK_ROOT && strcmp(de->d_name, RESTORE_WAL_DIR) == 0)) &&
				stat(full, &target) == 0 && S_ISDIR(target.st_mode))
				e->walk = e->followed = true;
		}
		e->key = e->walk ? psprintf("%s/", e->name) : e->name;
		pfree(childRel);
		pfree(full);
	}
	closedir(dir);
	if (*count > 1)
		qsort(*entries, *count, sizeof(RestoreWalkEntry), restoreWalkEntryCompare);
	return true;
}

static bool
restoreWalkRemove(RestoreWalk *walk, const char *path, DrError *err)
{
	if (unlink(path) < 0 && errno != ENOENT)
		return drErrorSet(err, DR_ERR_IO, "could not remove \"%s\": %m", path);
	if (walk->result)
		walk->result->removed++;
	return true;
}

/*
 * Walk directory abs (rel: its path in the manifest, with a trailing '/',
 * or "" for the root): in clean mode remove what the backup does not have;
 * fsync it after its entries.
 */
static bool
restoreWalkDir(RestoreWalk *walk, const char *abs, const char *rel,
			   RestoreWalkKind kind, DrError *err)
{
	RestoreWalkEntry *entries;
	int			count;
	bool		ok = true;
	int			i;

	if (!restoreWalkList(walk, abs, rel, kind, &entries, &count, err))
		return false;

	for (i = 0; i < count && ok; i++)
	{
		RestoreWalkEntry *e = &entries[i];
		char	   *childAbs = psprintf("%s/%s", abs, e->name);
		char	   *childRel = psprintf("%s%s", rel, e->name);

		if (e->walk)
		{
			bool		listed = restoreWalkDirListed(walk, childRel);

			/* in a tablespace location, other directories are not ours */
			if (kind != RESTORE_WALK_TABLESPACE || listed)
			{
				char	   *sub = psprintf("%s/", childRel);

				ok = restoreWalkDir(walk, childAbs, sub,
									e->tablespace ? RESTORE_WALK_TABLESPACE :
									RESTORE_WALK_OTHER, err);
				pfree(sub);
				if (ok && walk->clean && !listed && !e->followed)
				{
					/* emptied above unless files of the backup are in it */
					if (rmdir(childAbs) == 0)
					{
						if (walk->result)
							walk->result->removed++;
					}
					else if (errno != ENOTEMPTY && errno != EEXIST)
						ok = drErrorSet(err, DR_ERR_IO,
										"could not remove directory \"%s\": %m",
										childAbs);
				}
			}
		}
		else if (walk->clean && kind != RESTORE_WALK_TABLESPACE)
		{
			bool		listed = false;

			if (e->regular)
				ok = restoreWalkFileListed(walk, childRel, &listed, err);
			if (ok && !listed)
				ok = restoreWalkRemove(walk, childAbs, err);
		}
		pfree(childAbs);
		pfree(childRel);
	}

	for (i = 0; i < count; i++)
	{
		if (entries[i].key != entries[i].name)
			pfree(entries[i].key);
		pfree(entries[i].name);
	}
	if (entries)
		pfree(entries);

	return ok && fsSyncDir(abs, err);
}

bool
restoreTargetClean(Restore *restore, bool clean, RestoreResult *result,
				   DrError *err)
{
	RestoreWalk walk;
	ManifestReader *reader;
	int			size = 0;
	bool		ok = false;

	memset(&walk, 0, sizeof(walk));
	walk.restore = restore;
	walk.clean = clean;
	walk.result = result;

	/* the directories; the reader then stays for the file cursor */
	walk.manifest = repoBackupManifestOpen(restore->repo, restore->chain->ids[0],
										   err);
	if (walk.manifest == NULL)
		return false;
	reader = repoBackupManifestReader(walk.manifest);
	for (;;)
	{
		int			rc = manifestReaderNext(reader, &walk.entry, err);

		if (rc < 0)
			goto done;
		if (rc == 0)
		{
			walk.done = true;
			break;
		}
		if (walk.entry.kind == MANIFEST_ENTRY_FILE)
		{
			walk.have = true;
			break;
		}
		if (walk.entry.kind == MANIFEST_ENTRY_WAL)
		{
			walk.done = true;
			break;
		}
		if (walk.entry.kind != MANIFEST_ENTRY_DIR)
			continue;
		if (walk.dirCount == size)
		{
			size = size ? size * 2 : 64;
			walk.dirs = walk.dirs ? repalloc(walk.dirs, size * sizeof(char *))
				: palloc(size * sizeof(char *));
		}
		walk.dirs[walk.dirCount++] = pstrdup(walk.entry.dir.path);
	}

	ok = restoreWalkDir(&walk, restore->targetDir, "", RESTORE_WALK_ROOT, err);

done:
	for (int i = 0; i < walk.dirCount; i++)
		pfree(walk.dirs[i]);
	if (walk.dirs)
		pfree(walk.dirs);
	repoBackupManifestClose(walk.manifest);
	return ok;
}
