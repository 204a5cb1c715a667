/*-------------------------------------------------------------------------
 * archive.h
 *	  Continuous WAL archiving: pg_dr as an archive module
 *	  (archive_library = 'pg_dr'), the workers that push WAL ahead of the
 *	  archiver, their statistics, and the check of the archive's
 *	  continuity.
 *
 * Every WAL file the server hands to the archiver (segments, timeline and
 * backup history files) is stored, compressed and encrypted, in every
 * configured repository at repoArchiveWalPath(name) (repo_backup.h).  The
 * archive module's promise to the server: it returns true only once the
 * object is durable in every required repository (repoN_required) with
 * exactly the file's content -- a repository that is not required and
 * fails is left to the catch-up duty (ops/catchup.c); an
 * object that is already there counts only when its content is the
 * same; nothing is ever overwritten.  docs/archiving.md is the user's
 * view.
 *
 * Files:
 *	 archive_module.c   the archive module callbacks (archiver process)
 *	 archive_push.c     the pre-push background workers
 *	 archive_target.c   configuration, repository and data key of one
 *	                    process, and storing one WAL file (both of the above)
 *	 archive_shmem.c    shared state: statistics, claims, pushed markers
 *	 archive_ready.c    the .ready files: what is waiting, in archiver order
 *	 archive_verify.c   dr_wal_verify(): the check of archive/wal_verify.h
 *	 wal_summary.c      WAL summaries: format, builder, blocks to read
 *	 wal_summarize.c    WAL decoded into a summary (xlogreader)
 *	 wal_summary_duty.c the worker's duty: summarize archived segments
 *-------------------------------------------------------------------------
 */
#ifndef DR_ARCHIVE_H
#define DR_ARCHIVE_H

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "nodes/pg_list.h"
#include "common/error.h"
#include "common/host.h"

/* pg_dr.archive_workers is at most this */
#define ARCHIVE_WORKERS_MAX		8

/* Room for one error message in the statistics. */
#define ARCHIVE_ERROR_MAX		1024

/* pg_dr.archive_workers (archive_settings.c): workers pushing WAL ahead */
extern int	drArchiveWorkers;

/* pg_dr.archive_compress_level (archive_settings.c): zstd level of WAL */
extern int	drArchiveCompressLevel;
extern void archiveSettingsDefine(void);

/*
 * Shared memory (from the module's shmem hooks): the request reserves the
 * statistics and their lock, a tranche of its own.
 */
#define ARCHIVE_LWLOCK_TRANCHE	"pg_dr archive"
extern void archiveShmemRequest(void);
extern void archiveShmemInit(void);

/*
 * Register the pre-push workers at postmaster start: pg_dr.archive_workers
 * of them when archive_mode is not off.
 */
extern void archivePushRegister(void);

/*
 * Register the archive's duty in the pg_dr worker (from _PG_init): the WAL
 * summary of every archived segment (wal_summarize.h).
 */
extern void archiveDutiesRegister(void);

/* Entry point of a pre-push worker, named in its registration. */
extern PGDLLEXPORT void pg_dr_archive_push_main(Datum arg);

/*
 * The state of a repository as dr_repositories shows it: reachable and in
 * step (ok), behind and being filled by the catch-up duty (catching up),
 * its last contact failed to reach it (unreachable), or its last
 * operation failed otherwise (error).
 */
typedef enum ArchiveRepoState
{
	ARCHIVE_REPO_OK = 0,
	ARCHIVE_REPO_CATCHING_UP,
	ARCHIVE_REPO_UNREACHABLE,
	ARCHIVE_REPO_ERROR
} ArchiveRepoState;

extern const char *archiveRepoStateName(ArchiveRepoState state);

/*
 * Statistics of one repository, as dr_archive_status shows them, and its
 * state as dr_repositories shows it (shared memory: what the archiver,
 * the archive workers and the catch-up duty saw since the server started).
 */
typedef struct ArchiveRepoStatus
{
	int			repoNumber;		/* N of repoN; 0 = none could be chosen */
	char		lastArchived[64];	/* "" when none yet */
	TimestampTz lastArchivedAt;
	uint64		failedCount;
	char		lastError[ARCHIVE_ERROR_MAX];	/* "" when none */
	TimestampTz lastErrorAt;

	/* dr_repositories */
	ArchiveRepoState state;
	TimestampTz skipUntil;		/* a repository that is not required and
								 * failed: the archiver leaves it to the
								 * catch-up until then */
	bool		lagKnown;		/* the catch-up compared it with the others */
	char		newestBackup[64];	/* "" when none or not known */
	char		newestWal[64];
	int64		lagSegments;	/* WAL files the other repositories hold
								 * and this one misses */
	int64		lagBytes;		/* their sizes, as the catch-up counts them */
	int64		backupsMissing; /* backups the others hold, this one not */
	char		repoError[ARCHIVE_ERROR_MAX];	/* last error of any kind
												 * ("" when none) */
	TimestampTz repoErrorAt;
} ArchiveRepoStatus;

/*
 * The repositories the archiver has worked with since the server started
 * (archived to or failed with), ascending by number; returns how many were
 * written to rows (at most max).
 */
extern int	archiveStatusRead(ArchiveRepoStatus *rows, int max);

/*
 * A failure reaching or using repository repoNumber (catch-up, backups):
 * its state becomes unreachable (unreachable true) or error, with message
 * as its last error.
 */
extern void archiveRepoFailure(int repoNumber, uint64 repoHash,
							   const char *message, bool unreachable);

/*
 * What the catch-up duty found of repository repoNumber: what it misses
 * (WAL files, bytes, backups), its newest backup and WAL segment (""
 * none).  When reachable, the state becomes catching up while something
 * is missing, else ok; otherwise it stays what the failure made it.
 */
extern void archiveRepoCatchupNote(int repoNumber, uint64 repoHash,
								   bool reachable, int64 lagSegments,
								   int64 lagBytes, int64 backupsMissing,
								   const char *newestBackup,
								   const char *newestWal);

/*
 * What identifies a repository in the statistics and in the archive
 * workers' records of their pushes: its type, location and every other
 * setting that is not a secret (an object store's endpoint, region, key
 * prefix, account...), so that a record made for one repository never
 * stands for another, of another type or moved elsewhere by a reload.
 */
struct ConfigRepo;
extern uint64 archiveRepoHash(const struct ConfigRepo *repo);

/*
 * The backups repository repoNumber holds, as the catch-up duty listed
 * them (ids ascending; the newest ARCHIVE_BACKUPS_MAX are kept).
 */
#define ARCHIVE_BACKUPS_MAX		512
#define ARCHIVE_BACKUP_ID_MAX	32
extern void archiveRepoBackupsNote(int repoNumber, uint64 repoHash,
								   char *const *ids, int count);

/*
 * Which repositories hold backup id: a bit per repository number (bit n:
 * repoN); false when no repository was listed yet.
 */
extern bool archiveBackupRepos(const char *id, uint32 *repos);

/* Whether an error code means the repository could not be reached. */
extern bool archiveErrorUnreachable(int drErrorCode);

/* What waits in pg_wal/archive_status. */
typedef struct ArchiveReadySummary
{
	int64		count;			/* .ready files */
	int64		bytes;			/* sizes of their WAL files */
	TimestampTz oldest;			/* mtime of the oldest .ready; 0 if none */
} ArchiveReadySummary;

extern void archiveReadySummary(ArchiveReadySummary *summary);

/* Result of dr_wal_verify(), for one repository. */
typedef struct ArchiveVerifyResult
{
	int			repo;			/* its number, in WARNINGs when not 0 */
	bool		ok;				/* no problem found */
	char		firstSegment[64];	/* "" when nothing was checked */
	char		lastSegment[64];
	int64		segmentsChecked;	/* segments read and authenticated */
	int			problemCount;	/* all problems, also those not in the list */
	List	   *problems;		/* of char *, at most ARCHIVE_VERIFY_PROBLEMS_MAX */
} ArchiveVerifyResult;

#define ARCHIVE_VERIFY_PROBLEMS_MAX	100

/*
 * Check the archive of repo (a Repo *): continuous from the start segment
 * of the oldest backup (or the oldest archived segment when there is no
 * backup) to the newest archived segment, following the timeline history
 * of the newest timeline, and every segment in that range and every
 * history file authentic and what its name says.  A WARNING for each
 * problem (starting "repository N: " when repoNumber is not 0); false
 * with err only when the repository cannot be read at all or host
 * (ops/progress.h; may be NULL) cancelled (DR_ERR_CANCELED).
 */
struct Repo;
extern bool archiveVerify(struct Repo *repo, int repoNumber,
						  const DrHost *host, ArchiveVerifyResult *result,
						  DrError *err);

/*
 * A problem of result's repository found from outside its own archive:
 * the repository cannot be opened (message), with a WARNING as for the
 * problems of archiveVerify.
 */
extern void archiveVerifyProblemAdd(ArchiveVerifyResult *result,
									const char *message);

/*
 * Compare result's archive with another repository's (holder), whose
 * newest segment is newest: the segments result's archive lacks past its
 * own newest are a problem of result (wal_verify.h, walVerifyBehind).
 */
extern void archiveVerifyBehind(ArchiveVerifyResult *result,
								const char *newest, int holder);

#endif							/* DR_ARCHIVE_H */
