/*-------------------------------------------------------------------------
 * dr_error.c
 *	  From DrError (shared code) to ereport (server), and running as the
 *	  extension's owner.
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
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>

#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "utils/elog.h"
#include "utils/syscache.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/genam.h"
#include "catalog/indexing.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"

#include "api/api.h"

static int
apiErrorSqlState(const DrError *err)
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
		case DR_OK:
		case DR_ERR_INTERNAL:
			break;
	}
	return errcode(ERRCODE_INTERNAL_ERROR);
}

void
apiErrorReport(int elevel, const DrError *err)
{
	ereport(elevel,
			(apiErrorSqlState(err),
			 errmsg_internal("%s", err->message),
			 err->hint[0] ? errhint("%s", err->hint) : 0));
}

/* Owner of the pg_dr extension, from pg_extension. */
static Oid
apiExtensionOwner(void)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	Oid			owner = InvalidOid;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum("pg_dr"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
		owner = ((Form_pg_extension) GETSTRUCT(tuple))->extowner;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	if (!OidIsValid(owner))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"pg_dr\" is not installed in this database")));
	return owner;
}

void
apiAsOwnerBegin(ApiOwnerContext *context)
{
	Oid			owner = apiExtensionOwner();

	GetUserIdAndSecContext(&context->savedUserId, &context->savedSecContext);
	SetUserIdAndSecContext(owner,
						   context->savedSecContext |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
}

void
apiAsOwnerEnd(ApiOwnerContext *context)
{
	SetUserIdAndSecContext(context->savedUserId, context->savedSecContext);
}
