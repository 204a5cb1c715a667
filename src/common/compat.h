/*-------------------------------------------------------------------------
 * compat.h
 *	  Every difference between the PostgreSQL versions pg_dr supports.
 *
 * pg_dr targets PostgreSQL 15.  Code elsewhere never tests PG_VERSION_NUM;
 * it uses the names defined here, so that 16 and 17 are a change to this
 * file alone.  Version constants use six digits (150000, 160000).
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

#endif							/* !FRONTEND */

#endif							/* DR_COMPAT_H */
