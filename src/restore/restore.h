/*-------------------------------------------------------------------------
 * restore.h
 *	  Restore a backup (and the chain of backups it depends on) into a data
 *	  directory.  Shared code: the CLI runs it, and so can a worker of the
 *	  server restoring to a side directory.
 *
 * A restore is four steps, so that the file work can be spread over
 * processes (the CLI forks them; the server could start workers):
 *
 *	 restoreBegin	 plan, no side effects: resolve the backup ("latest" or
 *					 an id) and its parent chain, read every manifest of the
 *					 chain to its verified end, apply the tablespace map.
 *	 restorePrepare	 once: check the target (refuses a running cluster, and
 *					 a non-empty directory unless in delta mode), create it,
 *					 the tablespace links and every directory of the backup.
 *	 restoreFiles	 any number of processes, each with its own jobIndex:
 *					 restores the files whose ordinal in the manifest, modulo
 *					 jobs, is jobIndex.
 *	 restoreFinish	 once, after every restoreFiles succeeded: delta-mode
 *					 removal of what the backup does not have, WAL segments
 *					 into pg_wal, recovery settings, global/pg_control last,
 *					 directory fsyncs.
 *
 * Each process calls restoreBegin itself, or inherits the Restore across
 * fork(); the steps only share the target directory.
 *
 * A file is reconstructed from the nearest backup of the chain that stores
 * it whole, then the block deltas of the newer backups are applied, oldest
 * first (delta.h).  It is written under a temporary name in its directory,
 * fsynced, given its mode and mtime, and renamed: a file either has its
 * restored content or is not there under its name.  Every object read is
 * authenticated by the codec; a whole object's size and SHA-256 must be
 * those its manifest gives (store=delta and store=parent files cannot be
 * compared with the SHA-256 of the backup, see manifest.h).
 *
 * global/pg_control is written last, by restoreFinish (and, in delta mode,
 * removed by restorePrepare): until a restore completed, the directory
 * cannot be started as a cluster.
 *
 * Delta mode reuses the target: a file whose size and SHA-256 are those of
 * the manifest is kept (mode and mtime set), others are rewritten, and
 * restoreFinish removes files and directories the backup does not have.
 * A non-empty target must look like a data directory (PG_VERSION) so that
 * a wrong --pgdata cannot empty an unrelated directory; inside a tablespace
 * location only the directories the backup has (this server version's)
 * are touched.
 *
 * Memory: one copy buffer (RESTORE_BUFFER_SIZE) and one manifest reader per
 * backup of the chain, whatever the size of the files or their number;
 * restoreFinish in delta mode also holds the backup's directory list.
 *
 * In the backend, SHA-256 uses pg_cryptohash, which needs a resource owner.
 *-------------------------------------------------------------------------
 */
#ifndef DR_RESTORE_H
#define DR_RESTORE_H

#include "common/error.h"
#include "repo/repo.h"
#include "repo/repo_backup.h"

/* Bytes moved from an object to a file at a time. */
#define RESTORE_BUFFER_SIZE		(1024 * 1024)

typedef struct Restore Restore;

/*
 * A tablespace restored somewhere else than its location in the manifest:
 * matched by oid, or (oid 0) by that location.
 */
typedef struct RestoreTablespaceMap
{
	uint32		oid;
	const char *fromLocation;	/* only when oid is 0 */
	const char *toLocation;		/* absolute */
} RestoreTablespaceMap;

/* Reported after each file restoreFiles handled. */
typedef struct RestoreProgress
{
	const char *path;			/* as in the manifest */
	uint64		size;
	bool		unchanged;		/* delta mode: the existing file was kept */
	uint64		filesDone;		/* by this call, this file included */
	uint64		bytesDone;
} RestoreProgress;

typedef void (*RestoreProgressFn) (void *arg, const RestoreProgress *progress);

typedef struct RestoreParam
{
	const char *backupId;		/* a backup id or "latest" */
	const char *targetDir;		/* absolute */
	bool		delta;			/* reuse and clean an existing target */
	const RestoreTablespaceMap *tablespaceMap;
	int			tablespaceMapCount;

	/*
	 * restore_command: "'<program>' wal-get --config '<configFile>' --repo
	 * <repoIndex> %f %p".  No restore_command when program is NULL.
	 */
	const char *restoreProgram; /* absolute path of pg_dr */
	const char *restoreConfigFile;	/* absolute path */
	int			restoreRepoIndex;

	/* more recovery settings (recovery targets ...), lines; NULL = none */
	const char *recoverySettings;

	RestoreProgressFn progress; /* optional */
	void	   *progressArg;
} RestoreParam;

/* What restoreBegin found. */
typedef struct RestorePlan
{
	const char *backupId;		/* resolved */
	const RepoBackupChain *chain;	/* the backup first, the full last */
	uint64		dirs;
	uint64		files;
	uint64		bytes;			/* sum of the file sizes */
	uint64		walSegments;
	int			tablespaces;
} RestorePlan;

/* What one restoreFiles or restoreFinish call did. */
typedef struct RestoreResult
{
	uint64		filesWritten;
	uint64		filesUnchanged; /* delta mode */
	uint64		bytesWritten;
	uint64		walSegments;
	uint64		removed;		/* delta mode: files and directories */
} RestoreResult;

/*
 * Plan a restore (see above).  DR_ERR_NOT_FOUND for a missing backup or
 * parent, DR_ERR_CORRUPT for a damaged manifest or chain, DR_ERR_INVALID
 * for a bad parameter (relative target, a tablespace mapping that matches
 * no tablespace, two tablespaces mapped to one directory).
 */
extern Restore *restoreBegin(Repo *repo, const RestoreParam *param,
							 DrError *err);
extern const RestorePlan *restorePlanGet(const Restore *restore);

/*
 * Check and set up the target (once).  DR_ERR_INVALID for a target that
 * holds postmaster.pid, is not empty (without delta mode), or is not empty
 * and has no PG_VERSION (delta mode); likewise for tablespace locations.
 */
extern bool restorePrepare(Restore *restore, DrError *err);

/* Restore this job's share of the files; result may be NULL. */
extern bool restoreFiles(Restore *restore, int jobs, int jobIndex,
						 RestoreResult *result, DrError *err);

/* Complete the restore (once, after every restoreFiles); result may be NULL. */
extern bool restoreFinish(Restore *restore, RestoreResult *result,
						  DrError *err);

extern void restoreFree(Restore *restore);

/* Begin, Prepare, Files (one job), Finish, Free in one call. */
extern bool restoreRun(Repo *repo, const RestoreParam *param,
					   RestoreResult *result, DrError *err);

#endif							/* DR_RESTORE_H */
