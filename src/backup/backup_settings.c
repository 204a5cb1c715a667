/*-------------------------------------------------------------------------
 * backup_settings.c
 *	  The backup part's settings (GUCs), defined by backupSettingsDefine()
 *	  from _PG_init and read by the backup code (backup.h).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "backup/backup.h"

int			drBackupWorkers = 2;
int			drBackupMaxRate = 0;
int			drBackupBundleLimit = 64;
int			drBackupWal = DR_BACKUP_WAL_AUTO;
int			drBackupPartSize = 64 * 1024;
int			drBackupChainMax = 32;

/* pg_dr.backup_part_size: a whole number of pages. */
static bool
backupPartSizeCheck(int *newval, void **extra, GucSource source)
{
	if (((int64) *newval * 1024) % BLCKSZ != 0)
	{
		GUC_check_errdetail("pg_dr.backup_part_size must be a multiple of the block size (%d kB).",
							BLCKSZ / 1024);
		return false;
	}
	return true;
}

static const struct config_enum_entry drBackupWalOptions[] = {
	{"auto", DR_BACKUP_WAL_AUTO, false},
	{"always", DR_BACKUP_WAL_ALWAYS, false},
	{NULL, 0, false}
};

void
backupSettingsDefine(void)
{
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

	DefineCustomIntVariable("pg_dr.backup_part_size",
							"Files larger than this are stored in parts of this size.",
							"The backup workers read the parts of one file at once, and "
							"restore jobs write them at once.  A multiple of the block size.",
							&drBackupPartSize,
							64 * 1024,
							1024,
							1024 * 1024,
							PGC_SUSET,
							GUC_UNIT_KB,
							backupPartSizeCheck, NULL, NULL);
	DefineCustomIntVariable("pg_dr.backup_bundle_limit",
							"Files smaller than this are packed into bundle objects.",
							"0 stores every file as an object of its own.  Bundles "
							"cut the number of repository objects of a cluster with "
							"many small relations.",
							&drBackupBundleLimit,
							64,
							0,
							16 * 1024,
							PGC_SUSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_dr.backup_chain_max",
							"Backups in a chain (a full and its incrementals) before an incremental is taken as a full.",
							"dr_backup_incremental() without a parent takes a full backup "
							"instead, with a NOTICE, when the newest backup's chain holds "
							"this many backups, so that a schedule of incrementals alone "
							"never grows a chain without bound (strict => true keeps the "
							"incremental).",
							&drBackupChainMax,
							32,
							2,
							1000,
							PGC_SUSET,
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
}
