/*-------------------------------------------------------------------------
 * audit_expire.c
 *	  dr_audit_expire(): remove the audit rows older than
 *	  pg_dr.audit_retention and move the anchor, so that verification
 *	  starts after them.
 *
 * Rows go only as a prefix of the chain: every row up to the newest one
 * that has no younger row before it (finished_at orders rows only roughly,
 * ids exactly).  The anchor keeps the last removed row's id and hash: the
 * oldest kept row must chain to it, and a row at or below it must not be
 * there (pgdr.audit_verify_chain()).  Removing rows would hide a broken
 * link among them, so the chain is checked first and nothing is removed
 * from a broken one.
 *
 * The append-only guard (audit_guard.c) lets these changes through only
 * while auditExpireInProgress is set, in this backend, around the one
 * statement below, and only for rows older than the cutoff.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/timestamp.h"

#include "ops/audit.h"
#include "ops/audit_shared.h"
#include "pg_dr.h"

bool		auditExpireInProgress = false;

TimestampTz
auditRetentionCutoff(void)
{
	return GetCurrentTimestamp() - (int64) drAuditRetention * 60 * USECS_PER_SEC;
}

int64
auditExpire(void)
{
	AuditVerifyResult chain;
	Oid			argtypes[1] = {TIMESTAMPTZOID};
	Datum		values[1];
	volatile int64 removed = 0;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	auditChainVerify(&chain);
	if (!chain.ok)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the pg_dr audit trail is broken; refusing to remove rows from it"),
				 errdetail("%s", chain.problem),
				 errhint("Run dr_audit_verify() and investigate before expiring audit rows.")));

	values[0] = TimestampTzGetDatum(auditRetentionCutoff());
	auditExpireInProgress = true;
	PG_TRY();
	{
		int			ret;
		bool		isnull;

		ret = SPI_execute_with_args(
									"WITH lim AS ("
									"  SELECT coalesce((SELECT pg_catalog.min(id) OPERATOR(pg_catalog.-) 1"
									"                   FROM pgdr.audit_log"
									"                   WHERE finished_at OPERATOR(pg_catalog.>=) $1),"
									"                  (SELECT pg_catalog.max(id) FROM pgdr.audit_log)) AS last_id),"
									" gone AS ("
									"  DELETE FROM pgdr.audit_log a USING lim"
									"  WHERE a.id OPERATOR(pg_catalog.<=) lim.last_id"
									"  RETURNING a.id, a.row_hash),"
									" newest AS (SELECT id, row_hash FROM gone ORDER BY id DESC LIMIT 1)"
									" INSERT INTO pgdr.audit_anchor (singleton, last_removed_id, row_hash)"
									" SELECT true, id, row_hash FROM newest"
									" ON CONFLICT (singleton) DO UPDATE"
									"   SET last_removed_id = excluded.last_removed_id,"
									"       row_hash = excluded.row_hash"
									" RETURNING (SELECT pg_catalog.count(*) FROM gone)",
									1, argtypes, values, NULL, false, 0);
		if (ret != SPI_OK_INSERT_RETURNING)
			elog(ERROR, "could not remove expired audit rows");
		if (SPI_processed == 1)
			removed = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
												  SPI_tuptable->tupdesc,
												  1, &isnull));
	}
	PG_FINALLY();
	{
		auditExpireInProgress = false;
	}
	PG_END_TRY();

	SPI_finish();
	return removed;
}
