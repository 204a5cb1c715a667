/*-------------------------------------------------------------------------
 * compat.h
 *	  Every difference between the PostgreSQL versions pg_dr supports.
 *
 * pg_dr targets PostgreSQL 15.  Code elsewhere never tests PG_VERSION_NUM;
 * it uses the names defined here.  Version constants use six digits
 * (150000, 160000).  Not yet covered: PostgreSQL 16 also changed the
 * archive module's entry point (_PG_archive_module_init returns its
 * callbacks) and the callbacks' signatures (an ArchiveModuleState first),
 * which archive_module.c still writes the PostgreSQL 15 way; a port to 16
 * adds their names here and changes that file.
 *-------------------------------------------------------------------------
 */
#ifndef DR_COMPAT_H
#define DR_COMPAT_H

#if PG_VERSION_NUM < 150000
#error "pg_dr requires PostgreSQL 15 or later"
#endif

#ifndef FRONTEND

/*
 * Archive modules: PostgreSQL 15 passes a callbacks struct to
 * _PG_archive_module_init(); 16 returns a const pointer from
 * _PG_archive_module_init(void) and moved the header.
 */
#if PG_VERSION_NUM < 160000
#define DR_ARCHIVE_MODULE_HEADER "postmaster/pgarch.h"
#else
#define DR_ARCHIVE_MODULE_HEADER "archive/archive_module.h"
#endif

/*
 * Shared memory must be requested from shmem_request_hook since 15; the
 * hook does not exist before 15 (we do not support < 15 anyway).
 */
#define DR_HAVE_SHMEM_REQUEST_HOOK 1

/*
 * The n-th entry (1-based) of this process's snapshot of the backend
 * status array: renamed in 16.
 */
#if PG_VERSION_NUM < 160000
#define drBackendStatusByIndex(n)	pgstat_fetch_stat_local_beentry(n)
#else
#define drBackendStatusByIndex(n)	pgstat_get_local_beentry_by_index(n)
#endif

#endif							/* !FRONTEND */

#endif							/* DR_COMPAT_H */
