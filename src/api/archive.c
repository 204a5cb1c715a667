/*-------------------------------------------------------------------------
 * archive.c (api)
 *	  The function behind dr_archive_status, and dr_wal_verify().
 *
 * dr_archive_status never fails for a problem it can show: the figures
 * come from shared memory (what the archiver did since the server
 * started) and from pg_wal/archive_status (what waits now).
 * dr_wal_verify() is audited; it reads the repository as the server, like
 * every other operation.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "api/api.h"
#include "ops/progress.h"
#include "archive/archive.h"
#include "common/config.h"
#include "ops/audit.h"
#include "pg_dr.h"
#include "repo/repo.h"

PG_FUNCTION_INFO_V1(pg_dr_archive_status);
PG_FUNCTION_INFO_V1(pg_dr_repositories);
PG_FUNCTION_INFO_V1(pg_dr_backup_repos);
PG_FUNCTION_INFO_V1(dr_wal_verify);

#define ARCHIVE_STATUS_COLUMNS	9

/*
 * The configuration, or NULL when there is none or it cannot be read
 * (dr_status reports why).
 */
static DrConfig *
apiArchiveConfig(void)
{
	DrError		err;

	if (drConfigFile == NULL || drConfigFile[0] == '\0')
		return NULL;
	return configLoad(drConfigFile, &err);
}

static int
apiArchiveRowCompare(const void *a, const void *b)
{
	const ArchiveRepoStatus *x = a;
	const ArchiveRepoStatus *y = b;

	return (x->repoNumber > y->repoNumber) - (x->repoNumber < y->repoNumber);
}

/*
 * What shared memory holds, and a row (of zeroes) for every configured
 * repository it does not hold yet, ascending by number; returns how many.
 */
static int
apiArchiveRows(ArchiveRepoStatus *rows, int max, DrConfig *config)
{
	int			count = archiveStatusRead(rows, max);

	for (int n = 1; config != NULL && n <= CONFIG_REPO_MAX; n++)
	{
		bool		found = false;

		if (config->repo[n].index == 0)
			continue;
		for (int i = 0; i < count && !found; i++)
			found = rows[i].repoNumber == n;
		if (!found && count < max)
		{
			memset(&rows[count], 0, sizeof(rows[count]));
			rows[count++].repoNumber = n;
		}
	}
	qsort(rows, count, sizeof(ArchiveRepoStatus), apiArchiveRowCompare);
	return count;
}

Datum
pg_dr_archive_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ArchiveRepoStatus rows[CONFIG_REPO_MAX + 1];
	ArchiveReadySummary ready;
	TimestampTz now = GetCurrentTimestamp();
	double		lag = 0;
	int			count;

	DrConfig   *config = apiArchiveConfig();

	InitMaterializedSRF(fcinfo, 0);

	/* every configured repository has a row, archived to yet or not */
	count = apiArchiveRows(rows, lengthof(rows), config);
	if (count == 0)
	{
		memset(&rows[0], 0, sizeof(rows[0]));
		count = 1;
	}
	if (config != NULL)
		configFree(config);
	archiveReadySummary(&ready);
	if (ready.count > 0 && now > ready.oldest)
		lag = (double) (now - ready.oldest) / USECS_PER_SEC;

	for (int i = 0; i < count; i++)
	{
		ArchiveRepoStatus *row = &rows[i];
		Datum		values[ARCHIVE_STATUS_COLUMNS];
		bool		nulls[ARCHIVE_STATUS_COLUMNS];

		memset(nulls, 0, sizeof(nulls));
		values[0] = Int32GetDatum(row->repoNumber);
		nulls[0] = row->repoNumber == 0;
		values[1] = CStringGetTextDatum(row->lastArchived);
		nulls[1] = row->lastArchived[0] == '\0';
		values[2] = TimestampTzGetDatum(row->lastArchivedAt);
		nulls[2] = row->lastArchivedAt == 0;
		values[3] = Int64GetDatum(ready.count);
		values[4] = Int64GetDatum(ready.bytes);
		values[5] = Float8GetDatum(lag);
		values[6] = Int64GetDatum((int64) row->failedCount);
		values[7] = CStringGetTextDatum(row->lastError);
		nulls[7] = row->lastError[0] == '\0';
		values[8] = TimestampTzGetDatum(row->lastErrorAt);
		nulls[8] = row->lastErrorAt == 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

#define REPOSITORIES_COLUMNS	12

/*
 * dr_repositories: a row per configured repository, with what shared
 * memory says of it (archive/archive.h).  Lag is NULL until the catch-up
 * duty compared the repository with the others (with one repository it
 * is 0).
 */
Datum
pg_dr_repositories(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ArchiveRepoStatus rows[CONFIG_REPO_MAX + 1];
	DrConfig   *config = apiArchiveConfig();
	int			count;

	InitMaterializedSRF(fcinfo, 0);
	if (config == NULL)
		return (Datum) 0;
	count = apiArchiveRows(rows, lengthof(rows), config);
	for (int i = 0; i < count; i++)
	{
		ArchiveRepoStatus *row = &rows[i];
		const ConfigRepo *repo;
		Datum		values[REPOSITORIES_COLUMNS];
		bool		nulls[REPOSITORIES_COLUMNS];
		bool		lagKnown = row->lagKnown || config->repoCount == 1;
		bool		archiveLater = row->lastErrorAt > row->repoErrorAt;

		if (row->repoNumber < 1 || row->repoNumber > CONFIG_REPO_MAX ||
			config->repo[row->repoNumber].index == 0)
			continue;
		repo = &config->repo[row->repoNumber];
		memset(nulls, 0, sizeof(nulls));
		values[0] = Int32GetDatum(repo->index);
		values[1] = CStringGetTextDatum(repo->driver->type);
		/* the driver's location key: a path or a bucket, never a secret */
		values[2] = CStringGetTextDatum(repo->path);
		values[3] = BoolGetDatum(repo->required);
		values[4] = CStringGetTextDatum(archiveRepoStateName(row->state));
		values[5] = CStringGetTextDatum(row->newestBackup);
		nulls[5] = row->newestBackup[0] == '\0';
		/* with one repository, the newest WAL is what was archived last */
		values[6] = CStringGetTextDatum(row->newestWal[0] != '\0' ?
										row->newestWal : row->lastArchived);
		nulls[6] = row->newestWal[0] == '\0' && row->lastArchived[0] == '\0';
		values[7] = Int64GetDatum(row->lagSegments);
		values[8] = Int64GetDatum(row->lagBytes);
		values[9] = Int64GetDatum(row->backupsMissing);
		nulls[7] = nulls[8] = nulls[9] = !lagKnown;
		values[10] = CStringGetTextDatum(archiveLater ? row->lastError :
										 row->repoError);
		nulls[10] = (archiveLater ? row->lastError : row->repoError)[0] == '\0';
		values[11] = TimestampTzGetDatum(archiveLater ? row->lastErrorAt :
										 row->repoErrorAt);
		nulls[11] = nulls[10];
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	configFree(config);
	return (Datum) 0;
}

/*
 * dr_backups.repos: the repositories holding a backup, ascending; NULL
 * until the catch-up duty listed any repository.
 */
Datum
pg_dr_backup_repos(PG_FUNCTION_ARGS)
{
	char	   *id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	uint32		repos;
	Datum		numbers[CONFIG_REPO_MAX];
	int			count = 0;

	if (!archiveBackupRepos(id, &repos))
		PG_RETURN_NULL();
	for (int n = 1; n <= CONFIG_REPO_MAX; n++)
		if (repos & ((uint32) 1 << n))
			numbers[count++] = Int32GetDatum(n);
	PG_RETURN_ARRAYTYPE_P(construct_array(numbers, count, INT4OID, sizeof(int32),
										  true, TYPALIGN_INT));
}

Datum
dr_wal_verify(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	ApiCall    *call = apiCallNew("dr_wal_verify");
	ArchiveVerifyResult *result = palloc0(sizeof(ArchiveVerifyResult));
	volatile int repoNumber = 0;
	Datum		values[5];
	bool		nulls[5];
	Datum	   *problems;
	int			n = 0;
	ListCell   *lc;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	API_CALL_BEGIN(call);
	{
		DrConfig   *config;
		Repo	   *repo = apiRepoOpen(&config);

		repoNumber = repoConfig(repo)->index;
		archiveVerify(repo, progressBegin("wal verify"), result);
		progressEnd();
		repoClose(repo);
		configFree(config);
	}
	API_CALL_END(call);

	/* what was checked and what was found */
	apiArgInt64(call, "repo", repoNumber);
	apiArgBool(call, "ok", result->ok);
	apiArgText(call, "first_segment", result->firstSegment);
	apiArgText(call, "last_segment", result->lastSegment);
	apiArgInt64(call, "segments_checked", result->segmentsChecked);
	apiArgInt64(call, "problems", result->problemCount);
	apiCallOk(call);

	memset(nulls, 0, sizeof(nulls));
	values[0] = BoolGetDatum(result->ok);
	values[1] = CStringGetTextDatum(result->firstSegment);
	nulls[1] = result->firstSegment[0] == '\0';
	values[2] = CStringGetTextDatum(result->lastSegment);
	nulls[2] = result->lastSegment[0] == '\0';
	values[3] = Int64GetDatum(result->segmentsChecked);
	problems = palloc(sizeof(Datum) * Max(list_length(result->problems), 1));
	foreach(lc, result->problems)
		problems[n++] = CStringGetTextDatum((char *) lfirst(lc));
	values[4] = PointerGetDatum(construct_array(problems, n, TEXTOID, -1, false,
												TYPALIGN_INT));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
													  values, nulls)));
}
