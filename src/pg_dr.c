/*-------------------------------------------------------------------------
 * pg_dr.c
 *	  Module entry point: settings, shared memory, background workers.
 *
 * pg_dr must be in shared_preload_libraries: it reserves shared memory (the
 * audit queue) and registers its background worker at postmaster start, so
 * _PG_init refuses to run otherwise, with a hint.  Every GUC is defined
 * here; the parts read the variables declared in pg_dr.h.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"

#include "archive/archive.h"
#include "backup/backup.h"
#include "common/compat.h"
#include "ops/audit.h"
#include "ops/progress.h"
#include "ops/worker.h"
#include "pg_dr.h"
#include "pitr/pitr.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

char	   *drConfigFile = NULL;
char	   *drDatabase = NULL;
int			drTier = DR_TIER_CRITICAL;
int			drAuditRetention = 7 * 365 * 24 * 60;	/* 7 years, in minutes */
int			drAuditTimeout = 30;
int			drBackupWorkers = 2;
int			drBackupMaxRate = 0;
int			drPitrInterval = 15 * 60;
int			drBackupWal = DR_BACKUP_WAL_AUTO;

static const struct config_enum_entry drBackupWalOptions[] = {
	{"auto", DR_BACKUP_WAL_AUTO, false},
	{"always", DR_BACKUP_WAL_ALWAYS, false},
	{NULL, 0, false}
};
int			drArchiveWorkers = 2;

static const struct config_enum_entry drTierOptions[] = {
	{"critical", DR_TIER_CRITICAL, false},
	{"high", DR_TIER_HIGH, false},
	{"medium", DR_TIER_MEDIUM, false},
	{"low", DR_TIER_LOW, false},
	{NULL, 0, false}
};

static shmem_request_hook_type prevShmemRequestHook = NULL;
static shmem_startup_hook_type prevShmemStartupHook = NULL;

const char *
drTierName(int tier)
{
	const struct config_enum_entry *entry;

	for (entry = drTierOptions; entry->name != NULL; entry++)
		if (entry->val == tier)
			return entry->name;
	return "unknown";
}

static void
drShmemRequest(void)
{
	if (prevShmemRequestHook)
		prevShmemRequestHook();
	/* each part reserves its memory and its own named LWLock tranche */
	auditShmemRequest();
	RequestAddinShmemSpace(backupShmemSize());
	archiveShmemRequest();
	progressShmemRequest();
}

static void
drShmemStartup(void)
{
	if (prevShmemStartupHook)
		prevShmemStartupHook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	auditShmemInit();
	backupShmemInit();
	archiveShmemInit();
	progressShmemInit();
	LWLockRelease(AddinShmemInitLock);
}

static void
drDefineSettings(void)
{
	DefineCustomStringVariable("pg_dr.config_file",
							   "Path of the pg_dr configuration file (shared with the pg_dr CLI).",
							   "Empty means pg_dr has no repository configured.  A superuser may "
							   "point a session at another file to check it; background work "
							   "always uses the server's value.",
							   &drConfigFile,
							   "",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("pg_dr.database",
							   "Database in which the pg_dr extension and its worker live.",
							   NULL,
							   &drDatabase,
							   "postgres",
							   PGC_POSTMASTER,
							   0,
							   NULL, NULL, NULL);

	DefineCustomEnumVariable("pg_dr.tier",
							 "Recovery tier this cluster is measured against (see dr_objectives).",
							 NULL,
							 &drTier,
							 DR_TIER_CRITICAL,
							 drTierOptions,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pg_dr.audit_retention",
							"Audit rows younger than this are never removed.",
							"dr_audit_expire() removes only older rows.",
							&drAuditRetention,
							7 * 365 * 24 * 60,
							24 * 60,	/* at least a day */
							INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_MIN,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_dr.audit_timeout",
							"How long an operation waits for its audit row to be written.",
							NULL,
							&drAuditTimeout,
							30,
							1,
							3600,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_dr.backup_workers",
							"Background workers that copy a backup's files in parallel.",
							"Each needs a slot of max_worker_processes while a backup runs.",
							&drBackupWorkers,
							2,
							1,
							16,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_dr.backup_max_rate",
							"Most data a backup reads per second, all workers together.",
							"0 means no limit.  Protects the server's I/O from a backup.",
							&drBackupMaxRate,
							0,
							0,
							INT_MAX,
							PGC_SUSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_dr.archive_workers",
							"Background workers that push WAL files to the repository ahead of the archiver.",
							"They start only when archive_mode is on, and work only while archive_library "
							"is pg_dr; 0 leaves all the work to the archiver.  Each needs a slot of "
							"max_worker_processes.",
							&drArchiveWorkers,
							2,
							0,
							ARCHIVE_WORKERS_MAX,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomEnumVariable("pg_dr.backup_wal",
							 "Whether a backup stores the WAL it needs to be consistent.",
							 "auto: only while pg_dr is not archiving reliably (with pg_dr as "
							 "archive_library and no failure since the last success, the backup "
							 "waits for its WAL to be archived instead); always: every backup "
							 "is self-contained.",
							 &drBackupWal,
							 DR_BACKUP_WAL_AUTO,
							 drBackupWalOptions,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pg_dr.pitr_interval",
							"How often the pg_dr worker creates a named restore point.",
							"0 turns scheduled restore points off.",
							&drPitrInterval,
							15 * 60,
							0,
							7 * 24 * 3600,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("pg_dr");
}

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_dr must be loaded via shared_preload_libraries"),
				 errhint("Add pg_dr to shared_preload_libraries in postgresql.conf and restart the server.")));

	drDefineSettings();

	prevShmemRequestHook = shmem_request_hook;
	shmem_request_hook = drShmemRequest;
	prevShmemStartupHook = shmem_startup_hook;
	shmem_startup_hook = drShmemStartup;

	workerRegister();
	archivePushRegister();

	/* the worker's duties, in the order it runs them when several are due */
	auditDutiesRegister();
	pitrDutiesRegister();
}
