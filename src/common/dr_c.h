/*-------------------------------------------------------------------------
 * dr_c.h
 *	  First include of every file that is compiled both into the extension
 *	  and into the pg_dr CLI (src/common, src/storage, src/repo).
 *
 * The same source is compiled twice: once for the backend and once with
 * -DFRONTEND for the CLI and the unit tests.  Code under these folders may
 * use palloc/pfree/psprintf (libpgcommon provides them in the frontend) but
 * never ereport/elog: it reports failure through a DrError (error.h) and the
 * caller decides how to fail.
 *-------------------------------------------------------------------------
 */
#ifndef DR_C_H
#define DR_C_H

#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include "common/compat.h"

#endif							/* DR_C_H */
