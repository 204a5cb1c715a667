/*-------------------------------------------------------------------------
 * restore_internal.h
 *	  Internal to src/restore.  Everyone else uses restore.h.
 *
 *	 restore.c           Begin/Prepare/Files/Finish: the order of things
 *	 restore_file.c      one file: whole object, then deltas; WAL segments
 *	 restore_fallback.c  a file or WAL segment read again from the next
 *	                     repository when this one's copy is bad
 *	 restore_target.c    the target directory: checks, directories,
 *	                     tablespace links, delta-mode cleaning, fsyncs
 *	 restore_recovery.c  recovery.signal, restore_command, tablespace_map
 *	 restore_fs.c        file system helpers (rm -r, SHA-256, paths
 *	                     resolved through links; mkdir -p and directory
 *	                     fsync are common/fs.c's)
 *	 restore_pitr_name.c the WAL record walk that finds restore points
 *	 restore_jobs.c      the file step in parallel jobs (restore_jobs.h);
 *	                     restore_jobs_fork.c, its CLI launcher
 *-------------------------------------------------------------------------
 */
#ifndef DR_RESTORE_INTERNAL_H
#define DR_RESTORE_INTERNAL_H

#include <sys/stat.h>

#include "lib/stringinfo.h"
#include "repo/repo_chain.h"
#include "restore/restore.h"
#include "restore/restore_jobs.h"

#define RESTORE_PG_CONTROL		"global/pg_control"
#define RESTORE_TABLESPACE_MAP	"tablespace_map"
#define RESTORE_TBLSPC_DIR		"pg_tblspc"
#define RESTORE_WAL_DIR			"pg_wal"

/* Mode of the directories restore creates that the manifest does not list. */
#define RESTORE_DIR_MODE		0700

typedef struct RestoreTablespace
{
	uint32		oid;
	char	   *location;		/* in the manifest */
	char	   *target;			/* where it is restored (mapped or not) */
} RestoreTablespace;

struct Restore
{
	Repo	   *repo;
	const DrHost *storageHostSaved; /* the storage's hooks before ours */
	RestoreParam param;			/* strings copied */
	char	   *targetDir;
	RepoBackupChain *chain;
	RestorePlan plan;
	RestoreTablespace *tablespaces;
	int			tablespaceCount;
	bool		remapped;		/* a tablespace is restored elsewhere */
	bool		hasPgControl;
	uint64		pgControlSize;	/* its size in the manifest */
	bool		hasTablespaceMap;
	char	   *buffer;			/* RESTORE_BUFFER_SIZE, allocated on use */
	char	   *lastDir;		/* last directory known to exist */

	/*
	 * Files in parts (manifest.h): whether any backup of the chain has one
	 * (else the steps below never look for them); and what names the
	 * temporary file and the digests file every job writes one such file
	 * through (restore_file.c): the process id of the process that began
	 * the restore and a token of that restore, both inherited by the jobs
	 * across fork().
	 */
	bool		hasParts;
	int			leaderPid;
	uint64		token;

	/*
	 * Which files restoreFiles restores for its job: the split of
	 * restore_jobs.c (set by restoreJobsRun, restoreJobRun), or NULL: the
	 * files whose ordinal, modulo jobs, is the job's index.
	 */
	RestoreJobSplit *split;

	/*
	 * Files are not fsynced one by one but all at once, by syncfs() of each
	 * file system written to (the target and every tablespace location),
	 * before pg_control is written: the descriptors are opened when the
	 * target is prepared, before any file is written, so that syncfs()
	 * reports every write-back error since.  syncCount 0: fsync each file.
	 */
	int		   *syncFds;
	int			syncCount;
};

/* restore.c: DR_ERR_CANCELED, "restore canceled"; returns false. */
extern bool restoreCancelled(DrError *err);

/* restore.c: the file step's progress, its totals set (every job's files). */
extern void restoreFilesProgressInit(const Restore *restore,
									 DrProgress *progress);

/* restore.c: syncfs() every file system of the restore (see above). */
extern bool restoreSyncAll(Restore *restore, DrError *err);

/*
 * Meanwhile, start writing back what was written to fd in [offset, offset
 * + len) (len 0: to the end) without waiting, so that the disk works while
 * the jobs decode and syncfs() finds little left to do.  A hint: errors
 * are left to syncfs().
 */
extern void restoreWriteBackStart(const Restore *restore, int fd,
								  uint64 offset, uint64 len);

/* Start write-back every this many bytes of a file. */
#define RESTORE_WRITE_BACK_AFTER	(8 * 1024 * 1024)

/* restore_jobs.c: CLOCK_MONOTONIC in milliseconds (also the fork launcher's) */
extern int64 restoreJobsNowMs(void);

/* restore_file.c */

/*
 * Restore one file of the target backup (levels as from the iterator).
 * *unchanged: delta mode kept the existing file.
 */
extern bool restoreFile(Restore *restore, const ManifestFile *const *levels,
						bool *unchanged, DrError *err);

/*
 * Files restored in parts.  Outside delta mode, a file whose content starts
 * from a backup that stores it in parts is restored in units, one per part
 * of that backup, which the split spreads over the jobs like files: each
 * unit writes its range into one temporary file shared by every job (sized
 * once to the file's size; pwrite at the unit's offsets) and its part's
 * digest into a digests file next to it; restoreFinish then checks each
 * such file's digests against its manifest entry and commits it (mode,
 * mtime, fsync or syncfs, rename).  In delta mode the file is restored
 * whole by one job (restoreFile), part after part.
 *
 * restoreFileUnits: the number of units of the file (0: restored whole by
 * restoreFile), and the level its content starts from; -1 on error.
 */
extern int	restoreFileUnits(Restore *restore, const ManifestFile *const *levels,
							 int *source, DrError *err);
/* The bytes of the file unit u writes (for the split and progress). */
extern uint64 restoreFileUnitBytes(Restore *restore,
								   const ManifestFile *const *levels,
								   int source, uint32 u);
/* Restore unit u of such a file (any job). */
extern bool restoreFileUnit(Restore *restore, const ManifestFile *const *levels,
							int source, uint32 u, DrError *err);
/* Check and commit every file restored in units (restoreFinish). */
extern bool restorePartsCommit(Restore *restore, DrError *err);
/* Remove what units left of files not committed (a failed restore). */
extern void restorePartsAbandon(Restore *restore);

/* Restore one WAL segment of the target backup into pg_wal. */
extern bool restoreWalSegment(Restore *restore, const ManifestWal *wal,
							  DrError *err);

/*
 * restoreFile and restoreWalSegment read from restore->repo alone
 * (restore_file.c); the functions above, in restore_fallback.c, call them
 * and, when they fail with an error repoReadFallsBack allows, call them
 * again with restore->repo set to each fallback repository in turn
 * (RestoreParam.fallbackRepos).
 */
extern bool restoreFileRead(Restore *restore, const ManifestFile *const *levels,
							bool *unchanged, DrError *err);
extern bool restoreWalSegmentRead(Restore *restore, const ManifestWal *wal,
								  DrError *err);
/*
 * restore_fallback.c: read from fallback repository k (restore->repo set
 * to it, its storage given the restore's host) until restoreFallbackEnd.
 */
typedef struct RestoreFallbackSaved
{
	Repo	   *repo;
	const DrHost *host;
} RestoreFallbackSaved;
extern RestoreFallbackSaved restoreFallbackUse(Restore *restore, int k);
extern void restoreFallbackEnd(Restore *restore, RestoreFallbackSaved saved);

/* restore_fallback.c: may err go on with the fallback repositories? */
extern bool restoreFallbackWorth(const Restore *restore, const DrError *err);
/*
 * restore_fallback.c: the entries of mine's path in the chain as fallback
 * repository k holds it (between restoreFallbackUse and End), checked to
 * give it mine's size, SHA-256 and parts: the open iterator (closed by
 * the caller after using *alt, before restoreFallbackEnd), or NULL with
 * err.
 */
extern RepoChainIter *restoreFallbackLevels(Restore *restore, int k,
											const ManifestFile *mine,
											const ManifestFile *const **alt,
											DrError *err);

/* restore_target.c */
extern bool restoreTargetPrepare(Restore *restore, DrError *err);
extern bool restoreTargetClean(Restore *restore, bool clean,
							   RestoreResult *result, DrError *err);

/* restore_recovery.c */
extern bool restoreRecoveryWrite(Restore *restore, DrError *err);
extern bool restoreTablespaceMapWrite(Restore *restore, DrError *err);

/* restore_pitr_name.c: the record walk (pure, fed segments in order) */

/* Records up to this size are collected whole (a restore point: ~100). */
#define RESTORE_WAL_RECORD_MAX	256

typedef struct RestoreWalPoint
{
	uint64		lsn;			/* where its record starts */
	uint64		endLsn;			/* where it ends, MAXALIGNed (XLogInsert's
								 * result) */
	int64		time;			/* rp_time (TimestampTz) */
} RestoreWalPoint;

typedef struct RestoreWalWalk
{
	const char *name;			/* the restore point sought */
	/* the record being read, across pages and segments */
	bool		inRecord;
	uint64		recLsn;
	uint32		recTotal;
	uint32		recDone;
	char		rec[RESTORE_WAL_RECORD_MAX];
	/* restore points of that name, with a good CRC; each LSN once */
	RestoreWalPoint *found;
	int			foundCount;
	int			foundSize;
} RestoreWalWalk;

extern void restoreWalWalkInit(RestoreWalWalk *walk, const char *name);

/*
 * The segment starting at segStart (len bytes): follows its pages, the
 * records on them and the one continued from the previous segment fed.
 * Pages that are not WAL of that address end the record being read.
 */
extern void restoreWalWalkSegment(RestoreWalWalk *walk, const char *seg,
								  size_t len, uint64 segStart);

/* The next segment fed does not follow the last one. */
extern void restoreWalWalkGap(RestoreWalWalk *walk);
extern void restoreWalWalkFree(RestoreWalWalk *walk);

/* restore_fs.c */

/* rm -r without following links; a missing path is fine. */
extern bool restoreRemoveTree(const char *path, DrError *err);
/*
 * Whether directory path is missing or empty (lost+found does not count:
 * a mount point has one).
 */
extern bool restoreDirEmpty(const char *path, bool *empty, bool *exists,
							DrError *err);
/*
 * Whether path is a regular file of this size and SHA-256 (not following a
 * link).  Reads it only when the size matches, asking host every
 * RESTORE_CANCEL_CHECK bytes (DR_ERR_CANCELED).  parts > 0: sha256 is
 * that of a file in that many parts of partSize (manifest.h), the SHA-256
 * of the parts' digests.
 */
extern bool restoreFileSame(const char *path, uint64 size, const uint8 *sha256,
							uint64 partSize, uint32 parts, char *buffer,
							const DrHost *host, bool *same, DrError *err);
/* write(2) all of buf. */
extern bool restoreWriteAll(int fd, const void *buf, size_t len,
							const char *path, DrError *err);
/* Write a small file atomically (temp, fsync, rename, directory fsync). */
extern bool restoreFilePut(const char *path, const void *buf, size_t len,
						   mode_t mode, DrError *err);
/* The temporary name of a file restore writes. */
extern char *restoreTempName(const char *path);

/*
 * s as a quoted string of a configuration file (postgresql.auto.conf):
 * quotes doubled, backslash, newline and return escaped
 * (restore_recovery.c).
 */
extern void restoreConfQuote(StringInfo buf, const char *s);

#endif							/* DR_RESTORE_INTERNAL_H */
