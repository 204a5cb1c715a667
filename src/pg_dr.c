/*-------------------------------------------------------------------------
 * pg_dr.c
 *	  Module entry point: settings, shared memory, background workers.
 *
 * pg_dr must be in shared_preload_libraries: it reserves shared memory (the
 * audit queue) and registers its background worker at postmaster start, so
 * _PG_init refuses to run otherwise, with a hint.  Each part defines its
 * own settings (<part>SettingsDefine(), the variables declared in the
 * part's header); pg_dr.config_file, which every part reads, is defined
 * here and declared in pg_dr.h.
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

#include "api/metrics.h"
#include "archive/archive.h"
#include "ops/catchup.h"
#include "backup/backup.h"
#include "common/compat.h"
#include "ha/ha_watch.h"
#include "ha/ha_state.h"
#include "ha/ha_worker.h"
#include "ops/alert.h"
#include "ops/audit.h"
#include "ops/objectives.h"
#include "ops/progress.h"
#include "ops/schedule.h"
#include "ops/worker.h"
#include "pg_dr.h"
#include "pitr/pitr.h"
#include "storage/storage.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

char	   *drConfigFile = NULL;

static shmem_request_hook_type prevShmemRequestHook = NULL;
static shmem_startup_hook_type prevShmemStartupHook = NULL;

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
	alertShmemRequest();
	objectivesShmemRequest();
	haWatchShmemRequest();
	haShmemRequest();
	RequestAddinShmemSpace(metricsHttpShmemSize());
	scheduleShmemRequest();
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
	alertShmemInit();
	objectivesShmemInit();
	haWatchShmemInit();
	haShmemInit();
	metricsHttpShmemInit();
	scheduleShmemInit();
	LWLockRelease(AddinShmemInitLock);
}

/* The one setting every part reads: where the configuration file is. */
static void
drSettingsDefine(void)
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
}

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_dr must be loaded via shared_preload_libraries"),
				 errhint("Add pg_dr to shared_preload_libraries in postgresql.conf and restart the server.")));

	/* each part defines its own settings; then the prefix is reserved */
	drSettingsDefine();
	archiveSettingsDefine();
	auditSettingsDefine();
	backupSettingsDefine();
	pitrSettingsDefine();
	workerSettingsDefine();
	objectivesSettingsDefine();
	metricsHttpSettingsDefine();
	scheduleSettingsDefine();
	MarkGUCPrefixReserved("pg_dr");
	/* the repository types the server can use, before any config is read */
	storageDriversRegister();

	prevShmemRequestHook = shmem_request_hook;
	shmem_request_hook = drShmemRequest;
	prevShmemStartupHook = shmem_startup_hook;
	shmem_startup_hook = drShmemStartup;

	workerRegister();
	archivePushRegister();
	haWorkerRegister();
	haHooksInstall();

	/* the worker's duties, in the order it runs them when several are due */
	auditDutiesRegister();
	pitrDutiesRegister();
	archiveDutiesRegister();
	catchupDutiesRegister();
	alertDutiesRegister();
	objectivesDutiesRegister();
	haWatchDutiesRegister();
	metricsHttpDutiesRegister();
	scheduleDutiesRegister();
}
