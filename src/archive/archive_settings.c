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
}
