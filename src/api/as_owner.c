/*-------------------------------------------------------------------------
 * as_owner.c
 *	  Running as the pg_dr extension's owner, with the pinned search_path
 *	  (apiAsOwnerBegin/End, see api.h): how API functions reach the
 *	  internal tables of schema pgdr.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "utils/elog.h"
#include "utils/guc.h"
#include "utils/syscache.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/genam.h"
#include "catalog/indexing.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"

#include "api/api.h"
#include "pg_dr.h"

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

	/*
	 * As a SECURITY DEFINER function with SET search_path does: a new nest
	 * level, so that End (or abort) puts the caller's value back, whatever
	 * the work in between set.
	 */
	context->gucNestLevel = NewGUCNestLevel();
	(void) set_config_option("search_path", DR_SAFE_SEARCH_PATH,
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

void
apiAsOwnerEnd(ApiOwnerContext *context)
{
	AtEOXact_GUC(true, context->gucNestLevel);
	SetUserIdAndSecContext(context->savedUserId, context->savedSecContext);
}
