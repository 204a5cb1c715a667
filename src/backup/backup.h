/*-------------------------------------------------------------------------
 * backup.h
 *	  Full and block-level incremental backups, taken by the server.
 *
 * backupRun() is called by dr_backup_full() and dr_backup_incremental() in
 * the caller's backend (the leader).  It takes the backup with the
 * non-exclusive backup API, hands the files to pg_dr.backup_workers dynamic
 * background workers, makes sure the WAL from start to stop is kept --
 * stored with the backup (self-contained), or, when pg_dr archives into
 * the repository and pg_dr.backup_wal allows it, left to the archive and
 * waited for -- and writes the manifest last: a backup without its
 * manifest does not exist.  One backup runs at a time per cluster.
 *
 * Data flow: leader lists the data directory (sorted, see backup_list.c)
 * into a temporary file, merged with the parent's manifest for an
 * incremental; workers claim files one at a time from a shared counter
 * (backup_worker.c) -- a large file part by part (pg_dr.backup_part_size,
 * manifest.h) -- and store each one (backup_file.c), writing a result
 * record to a file of their own; the leader merges the results in list
 * order into the manifest.  Memory stays bounded whatever the number or
 * size of files.
 *-------------------------------------------------------------------------
 */
#ifndef DR_BACKUP_H
#define DR_BACKUP_H

#include "access/xlogdefs.h"
#include "common/manifest.h"
#include "fmgr.h"

struct DrConfig;

typedef struct BackupParam
{
	const struct DrConfig *config;	/* from pg_dr.config_file */
	const char *configFile;		/* its path, for the workers */
	bool		incremental;
	const char *parentId;		/* incremental: NULL = latest valid backup */
	const char *label;			/* NULL = none */
	bool		strict;			/* incremental: never a full instead
								 * (backup_kind.h) */
} BackupParam;

/* What the catalog (pgdr.backups) records of a backup; all from the manifest. */
typedef struct BackupSummary
{
	ManifestHeader header;
	uint64		dataBytes;		/* sum of file sizes */
	uint64		storedBytes;	/* sum of object sizes, WAL included */
	uint64		pagesChanged;	/* pages stored in deltas */
	uint64		corruptPages;	/* pages that failed checksum verification */
	uint64		files;
	uint64		bytesRead;		/* read from the data directory (the sizes
								 * of the files read whole, the pages of
								 * the files an incremental read in part) */
	bool		bytesReadKnown; /* false when summed up from a manifest */
	bool		fullInstead;	/* an incremental was asked for; a full was
								 * taken (backup_kind.h), because: */
	char		fullInsteadReason[512];
} BackupSummary;

/* Take a backup; returns its id (palloc'd).  Errors are ereport'ed. */
extern char *backupRun(const BackupParam *param, BackupSummary *summary);

/* backup_catalog.c: pgdr.backups, the catalog's copy of the manifests */
struct Repo;
/* Read a backup's manifest and sum it up. */
extern bool backupSummaryRead(struct Repo *repo, const char *backupId,
							  BackupSummary *summary, DrError *err);
/* Insert one backup (SPI; the caller runs as the extension owner). */
extern void backupCatalogInsert(const BackupSummary *summary);
/*
 * Rebuild pgdr.backups from the repository; returns the number of backups
 * recorded (one whose manifest cannot be read is skipped with a WARNING).
 */
extern int	backupCatalogSync(struct Repo *repo);
/*
 * The outcome of a verification (dr_backup_verify()): error NULL when the
 * backup and its chain read back intact (status valid, or corrupt when it
 * stored corrupt pages), else the first problem (status damaged).  A
 * backup the catalog does not list is left alone.  SPI; the caller runs
 * as the extension owner.
 */
extern void backupCatalogVerified(const char *backupId, const char *error);
/*
 * A backup removed from the repository (dr_expire()): its row goes.  SPI;
 * the caller runs as the extension owner.
 */
extern void backupCatalogRemove(const char *backupId);
/*
 * Rows of backups the repository no longer holds go (but runningId's, a
 * backup still being written; NULL: none); returns how many.  What a
 * dr_expire() that failed part-way left: its catalog changes were rolled
 * back, its removals in the repository were not.  SPI; the caller runs as
 * the extension owner.
 */
extern int	backupCatalogPrune(struct Repo *repo, const char *runningId);

/* Settings (backup_settings.c), defined by backupSettingsDefine(). */
extern void backupSettingsDefine(void);
/* pg_dr.backup_workers: background workers copying a backup's files */
extern int	drBackupWorkers;
/* pg_dr.backup_max_rate: kB/s a backup reads at most; 0 = no limit */
extern int	drBackupMaxRate;
/* pg_dr.backup_part_size: kB; larger files are stored in parts of it */
extern int	drBackupPartSize;
/* pg_dr.backup_bundle_limit: kB; smaller files go into bundles; 0 = off */
extern int	drBackupBundleLimit;
/* pg_dr.backup_chain_max: backups in a chain before a full is taken */
extern int	drBackupChainMax;
/* pg_dr.backup_wal: whether backups store their WAL themselves */
typedef enum DrBackupWal
{
	DR_BACKUP_WAL_AUTO,			/* unless pg_dr archives reliably */
	DR_BACKUP_WAL_ALWAYS
} DrBackupWal;
extern int	drBackupWal;

/* Shared memory: the progress of the running backup, and the lock. */
extern Size backupShmemSize(void);
extern void backupShmemInit(void);

/* Entry point of a backup worker. */
extern PGDLLEXPORT void pg_dr_backup_worker_main(Datum arg);

#endif							/* DR_BACKUP_H */
