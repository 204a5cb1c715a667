/*-------------------------------------------------------------------------
 * archive_settings.c
 *	  The archive part's settings (GUCs), defined by archiveSettingsDefine()
 *	  from _PG_init (archive.h).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/guc.h"

#include "archive/archive.h"

int			drArchiveWorkers = 2;
int			drArchiveCompressLevel = 1;

void
archiveSettingsDefine(void)
{
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

	/*
	 * Level 1 by default: the archiver stores WAL as fast as the server
	 * writes it, and a backlog after an outage is when the recovery point
	 * is most at risk.  WAL compresses nearly as well at level 1 as at 3
	 * for about half the CPU time (docs/performance.md).
	 */
	DefineCustomIntVariable("pg_dr.archive_compress_level",
							"zstd level of the WAL files pg_dr archives.",
							"Used instead of the configuration file's compress_level for archived WAL "
							"(backups keep compress_level); WAL is not compressed when compress_type is none.",
							&drArchiveCompressLevel,
							1,
							1,
							19,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);
}
