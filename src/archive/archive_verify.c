/*-------------------------------------------------------------------------
 * archive_verify.c
 *	  dr_wal_verify()'s check of the WAL archive: the shared walk of
 *	  archive/wal_verify.h, with each problem a WARNING (the first few
 *	  hundred) and collected for the function's result.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "miscadmin.h"

#include "archive/archive.h"
#include "pg_dr.h"
#include "archive/wal_verify.h"

static void
archiveVerifyProblem(void *arg, WalVerifyProblemKind kind, const char *message)
{
	ArchiveVerifyResult *result = arg;
	int			sqlstate = kind == WAL_VERIFY_MISSING ?
		ERRCODE_UNDEFINED_FILE : ERRCODE_DATA_CORRUPTED;

	result->ok = false;
	result->problemCount++;
	if (result->problemCount <= ARCHIVE_VERIFY_PROBLEMS_MAX)
	{
		result->problems = lappend(result->problems, pstrdup(message));
		ereport(WARNING, (errcode(sqlstate), errmsg_internal("%s", message)));
	}
	else if (result->problemCount == ARCHIVE_VERIFY_PROBLEMS_MAX + 1)
		ereport(WARNING,
				(errcode(sqlstate),
				 errmsg("more than %d problems in the WAL archive; the rest are counted, not listed",
						ARCHIVE_VERIFY_PROBLEMS_MAX)));
}

void
archiveVerify(Repo *repo, const DrHost *host, ArchiveVerifyResult *result)
{
	WalVerifyParam param;
	WalVerifyResult walk;
	DrError		err;

	memset(result, 0, sizeof(ArchiveVerifyResult));
	result->ok = true;

	memset(&param, 0, sizeof(param));
	param.segSize = wal_segment_size;
	param.systemIdentifier = GetSystemIdentifier();
	param.problem = archiveVerifyProblem;
	param.arg = result;
	param.host = host;

	drErrorClear(&err);
	if (!walVerify(repo, &param, &walk, &err))
	{
		if (err.code != DR_ERR_CANCELED)
			drErrorPrefix(&err, "could not verify the WAL archive: ");
		drEreport(ERROR, &err);
	}
	strlcpy(result->firstSegment, walk.firstSegment, sizeof(result->firstSegment));
	strlcpy(result->lastSegment, walk.lastSegment, sizeof(result->lastSegment));
	result->segmentsChecked = walk.segmentsChecked;
	if (result->problemCount > ARCHIVE_VERIFY_PROBLEMS_MAX)
		result->problems = lappend(result->problems,
								   psprintf("... and %d more problems",
											result->problemCount - ARCHIVE_VERIFY_PROBLEMS_MAX));
}
