/*-------------------------------------------------------------------------
 * audit_verify.c
 *	  The audit trail checked (dr_audit_verify(), and dr_audit_expire()
 *	  before it removes rows): the hash chain in the table, then the
 *	  chain's heads published in the repositories (audit_head.c).
 *
 * The chain is walked by pgdr.audit_verify_chain(), the SQL function that
 * shares pgdr.audit_digest() with the writer: one definition of a row's
 * hash serves both.  An intact chain can still have lost its newest rows;
 * the published heads show that, so they are read only when the chain
 * holds (a broken chain is reported first, where it breaks).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"

#include "ops/audit.h"
#include "ops/audit_shared.h"

/* A copy that outlives SPI_finish (in the context current at SPI_connect). */
static char *
auditSpiStrdup(const char *text)
{
	size_t		len = strlen(text);
	char	   *copy = SPI_palloc(len + 1);

	memcpy(copy, text, len + 1);
	return copy;
}

void
auditChainVerify(AuditVerifyResult *result)
{
	HeapTuple	tuple;
	TupleDesc	desc;
	bool		isnull;
	Datum		value;

	memset(result, 0, sizeof(*result));
	if (SPI_execute("SELECT ok, rows_checked, first_broken_id, problem"
					" FROM pgdr.audit_verify_chain()", true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not run pgdr.audit_verify_chain()");
	tuple = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;

	value = SPI_getbinval(tuple, desc, 1, &isnull);
	result->ok = !isnull && DatumGetBool(value);
	value = SPI_getbinval(tuple, desc, 2, &isnull);
	result->rowsChecked = isnull ? 0 : DatumGetInt64(value);
	value = SPI_getbinval(tuple, desc, 3, &isnull);
	result->firstBrokenId = isnull ? 0 : DatumGetInt64(value);
	if (SPI_getbinval(tuple, desc, 4, &isnull), !isnull)
		result->problem = auditSpiStrdup(SPI_getvalue(tuple, desc, 4));
}

void
auditVerify(AuditVerifyResult *result)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	auditChainVerify(result);
	if (result->ok)
	{
		int64		brokenId = 0;
		char	   *problem = NULL;

		if (!auditHeadCheck(&brokenId, &problem))
		{
			result->ok = false;
			result->firstBrokenId = brokenId;
			result->problem = auditSpiStrdup(problem);
		}
	}
	SPI_finish();
}
