/*-------------------------------------------------------------------------
 * pg_dr.h
 *	  Settings (GUCs) of the pg_dr extension, defined in one place
 *	  (pg_dr.c) and read by every part running in the server.
 *-------------------------------------------------------------------------
 */
#ifndef PG_DR_H
#define PG_DR_H

#define PG_DR_VERSION			"0.1.0"

/*
 * The search_path of every SQL text pg_dr runs with privileges other than
 * the caller's (as the extension owner, or in the pg_dr worker): nothing a
 * user can create is found in it (pg_temp is never searched for functions
 * and operators, and every relation pg_dr names is schema-qualified).
 */
#define DR_SAFE_SEARCH_PATH		"pg_catalog, pg_temp"

typedef enum DrTier
{
	DR_TIER_CRITICAL,
	DR_TIER_HIGH,
	DR_TIER_MEDIUM,
	DR_TIER_LOW
} DrTier;

/* pg_dr.config_file: path of the configuration shared with the CLI */
extern char *drConfigFile;
/* pg_dr.database: where the worker connects and the extension lives */
extern char *drDatabase;
/* pg_dr.tier: the recovery tier this cluster is measured against */
extern int	drTier;
/* pg_dr.audit_retention: minutes an audit row is kept at least */
extern int	drAuditRetention;
/* pg_dr.audit_timeout: seconds a backend waits for its audit row */
extern int	drAuditTimeout;
/* pg_dr.backup_workers: background workers copying a backup's files */
extern int	drBackupWorkers;
/* pg_dr.backup_max_rate: kB/s a backup reads at most; 0 = no limit */
extern int	drBackupMaxRate;
/* pg_dr.backup_wal: whether backups store their WAL themselves */
typedef enum DrBackupWal
{
	DR_BACKUP_WAL_AUTO,			/* unless pg_dr archives reliably */
	DR_BACKUP_WAL_ALWAYS
} DrBackupWal;
extern int	drBackupWal;

/* pg_dr.pitr_interval: seconds between scheduled restore points; 0 = none */
extern int	drPitrInterval;
/* pg_dr.archive_workers: workers pushing WAL ahead of the archiver */
extern int	drArchiveWorkers;

extern const char *drTierName(int tier);

/*
 * Raise a DrError from shared code as an ereport with the SQLSTATE that
 * fits its code (dr_ereport.c).  Does not return when elevel >= ERROR.
 */
struct DrError;
extern void drEreport(int elevel, const struct DrError *err);

#endif							/* PG_DR_H */
