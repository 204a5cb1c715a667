/*-------------------------------------------------------------------------
 * pitr.c (api)
 *	  dr_restore_point(name): a named restore point on demand, recorded
 *	  with the scheduled ones (dr_restore_points).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "access/xlog_internal.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"

#include "api/api.h"
#include "ops/audit.h"
#include "pitr/pitr.h"

PG_FUNCTION_INFO_V1(dr_restore_point);

Datum
dr_restore_point(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ApiCall    *call = apiCallNew("dr_restore_point");
	volatile XLogRecPtr lsn = InvalidXLogRecPtr;

	/* recovery_target_name is one line of the recovery settings */
	apiTextArgCheck("dr_restore_point", "name", name, 1, MAXFNAMELEN - 1);

	apiArgText(call, "name", name);
	API_CALL_BEGIN(call);
	{
		ApiOwnerContext owner;

		/* its WAL record would be archived into the source's repository */
		apiOriginGuardConfigured("dr_restore_point");
		apiAsOwnerBegin(&owner);
		lsn = pitrRestorePointCreate(name, "manual");
		apiAsOwnerEnd(&owner);
	}
	API_CALL_END(call);

	/* the record says where the point is */
	apiArgText(call, "lsn", psprintf("%X/%X", LSN_FORMAT_ARGS(lsn)));
	apiCallOk(call);
	PG_RETURN_LSN(lsn);
}
