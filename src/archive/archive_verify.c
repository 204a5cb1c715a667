/*-------------------------------------------------------------------------
 * archive_verify.c
 *	  dr_wal_verify()'s check of the WAL archive of one repository: the
 *	  shared walk of archive/wal_verify.h, with each problem a WARNING (the
 *	  first hundred) and collected for the function's result; and what
 *	  it lacks of another repository's archive past its newest segment.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "miscadmin.h"

#include "archive/archive.h"
#include "pg_dr.h"
#include "archive/wal_verify.h"

/*
 * One problem: in the result's list (the repository's row names the
 * repository) and a WARNING, which names it when several are checked.
 */
static void
archiveVerifyProblem(void *arg, WalVerifyProblemKind kind, const char *message)
{
	ArchiveVerifyResult *result = arg;
	int			sqlstate = kind == WAL_VERIFY_MISSING ?
		ERRCODE_UNDEFINED_FILE : ERRCODE_DATA_CORRUPTED;
	char	   *where = result->repo != 0 ?
		psprintf("repository %d: ", result->repo) : pstrdup("");

	result->ok = false;
	result->problemCount++;
	if (result->problemCount <= ARCHIVE_VERIFY_PROBLEMS_MAX)
	{
		result->problems = lappend(result->problems, pstrdup(message));
		ereport(WARNING, (errcode(sqlstate),
						  errmsg_internal("%s%s", where, message)));
	}
	else if (result->problemCount == ARCHIVE_VERIFY_PROBLEMS_MAX + 1)
		ereport(WARNING,
				(errcode(sqlstate),
				 errmsg("%smore than %d problems in the WAL archive; the rest are counted, not listed",
						where, ARCHIVE_VERIFY_PROBLEMS_MAX)));
	pfree(where);
}

void
archiveVerifyProblemAdd(ArchiveVerifyResult *result, const char *message)
{
	archiveVerifyProblem(result, WAL_VERIFY_DAMAGED, message);
}

void
archiveVerifyBehind(ArchiveVerifyResult *result, const char *newest,
					int holder)
{
	uint64		count;
	char	   *message;

	if (!walVerifyBehind(result->lastSegment, newest, wal_segment_size, &count))
		return;
	if (count == 1)
		message = psprintf("WAL segment %s is missing from the archive, which ends with segment %s: repository %d holds it",
						   newest, result->lastSegment, holder);
	else
		message = psprintf("the WAL archive ends with segment %s: " UINT64_FORMAT " segments to %s are missing from it, which repository %d holds",
						   result->lastSegment, count, newest, holder);
	archiveVerifyProblem(result, WAL_VERIFY_MISSING, message);
	pfree(message);
}

bool
archiveVerify(Repo *repo, int repoNumber, const DrHost *host,
			  ArchiveVerifyResult *result, DrError *err)
{
	WalVerifyParam param;
	WalVerifyResult walk;

	memset(result, 0, sizeof(ArchiveVerifyResult));
	result->repo = repoNumber;
	result->ok = true;

	memset(&param, 0, sizeof(param));
	param.segSize = wal_segment_size;
	param.systemIdentifier = GetSystemIdentifier();
	param.problem = archiveVerifyProblem;
	param.arg = result;
	param.host = host;

	drErrorClear(err);
	if (!walVerify(repo, &param, &walk, err))
	{
		if (err->code != DR_ERR_CANCELED)
			drErrorPrefix(err, "could not verify the WAL archive: ");
		return false;
	}
	strlcpy(result->firstSegment, walk.firstSegment, sizeof(result->firstSegment));
	strlcpy(result->lastSegment, walk.lastSegment, sizeof(result->lastSegment));
	result->segmentsChecked = walk.segmentsChecked;
	return true;
}
