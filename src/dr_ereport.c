/*-------------------------------------------------------------------------
 * dr_ereport.c
 *	  From DrError (shared code) to ereport, for every part that runs in the
 *	  server.
 *
 * Each DrErrorCode maps to one SQLSTATE a user can catch:
 *	 io          file access class (from the saved errno: 58P01, 42501, ...)
 *	 config      F0000 config_file_error
 *	 corrupt     XX001 data_corrupted
 *	 key         28000 invalid_authorization_specification
 *	 exists      42710 duplicate_object
 *	 not-found   42704 undefined_object
 *	 invalid     22023 invalid_parameter_value
 *	 permission  42501 insufficient_privilege
 *	 internal    XX000 internal_error
 *	 canceled    57014 query_canceled, raised by CHECK_FOR_INTERRUPTS()
 *	             when an interrupt is pending (ops/progress.h)
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>

#include "common/error.h"
#include "miscadmin.h"
#include "pg_dr.h"

static int
drErrorSqlState(const DrError *err)
{
	switch (err->code)
	{
		case DR_ERR_IO:
			errno = err->sysErrno;
			return errcode_for_file_access();
		case DR_ERR_CONFIG:
			return errcode(ERRCODE_CONFIG_FILE_ERROR);
		case DR_ERR_CORRUPT:
			return errcode(ERRCODE_DATA_CORRUPTED);
		case DR_ERR_KEY:
			return errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION);
		case DR_ERR_EXISTS:
			return errcode(ERRCODE_DUPLICATE_OBJECT);
		case DR_ERR_NOT_FOUND:
			return errcode(ERRCODE_UNDEFINED_OBJECT);
		case DR_ERR_INVALID:
			return errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		case DR_ERR_PERMISSION:
			return errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
		case DR_ERR_CANCELED:
			return errcode(ERRCODE_QUERY_CANCELED);
		case DR_OK:
		case DR_ERR_INTERNAL:
			break;
	}
	return errcode(ERRCODE_INTERNAL_ERROR);
}

void
drEreport(int elevel, const DrError *err)
{
	/*
	 * An operation its host cancelled: the pending interrupt raises the
	 * error PostgreSQL raises for it anywhere else (user request,
	 * statement timeout, termination).  When none is pending any more, or
	 * interrupts are held, the 57014 below says the same.
	 */
	if (elevel >= ERROR && err->code == DR_ERR_CANCELED)
		CHECK_FOR_INTERRUPTS();
	ereport(elevel,
			(drErrorSqlState(err),
			 errmsg_internal("%s", err->message),
			 err->hint[0] ? errhint("%s", err->hint) : 0));
}

