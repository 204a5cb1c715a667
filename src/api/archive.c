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
#include "access/xlog.h"
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
#include "repo/repo_fallback.h"
#include "archive/wal_verify.h"

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

/*
 * dr_wal_verify(): the WAL archive of every configured repository (or of
 * the one repo names), a row each.  With several, each archive is also
 * compared with the one that reaches furthest: the segments a repository
 * lacks past its own newest, and another holds, are its problems
 * (archiveVerifyBehind).  A repository that cannot be opened or read is a
 * row with that problem; with one repository it is an ERROR.
 */
Datum
dr_wal_verify(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ApiCall    *call = apiCallNew("dr_wal_verify");
	bool		repoNull = PG_NARGS() < 1 || PG_ARGISNULL(0);
	int32		repoArg = repoNull ? 0 : PG_GETARG_INT32(0);
	ArchiveVerifyResult *results = palloc0(sizeof(ArchiveVerifyResult) * CONFIG_REPO_MAX);
	int		   *numbers = palloc0(sizeof(int) * CONFIG_REPO_MAX);
	volatile int count = 0;
	bool		ok = true;
	int64		checked = 0;
	int64		problems = 0;

	InitMaterializedSRF(fcinfo, 0);
	if (!repoNull)
		apiArgInt64(call, "repo", repoArg);

	API_CALL_BEGIN(call);
	{
		DrConfig   *config = apiConfigLoad();
		int			forced = apiRepoArg(config, repoNull, repoArg);
		const DrHost *host;
		DrError		err;
		int			newest = -1;

		count = repoReadOrder(config, forced, numbers);
		if (count == 0)
		{
			configRepoFirst(config, &err);
			drEreport(ERROR, &err);
		}
		host = progressBegin("wal verify");
		for (int r = 0; r < count; r++)
		{
			ArchiveVerifyResult *result = &results[r];
			/* named in WARNINGs when several are configured, or one asked for */
			int			named = count > 1 || forced != 0 ? numbers[r] : 0;
			Repo	   *repo;

			drErrorClear(&err);
			repo = repoOpen(&config->repo[numbers[r]], &err);
			if (repo != NULL)
			{
				bool		walked = archiveVerify(repo, named, host, result, &err);

				repoClose(repo);
				if (walked)
					continue;
			}
			if (count == 1 || err.code == DR_ERR_CANCELED)
				drEreport(ERROR, &err);
			/* this repository's row says why; the others are checked */
			memset(result, 0, sizeof(*result));
			result->repo = named;
			result->ok = true;
			archiveVerifyProblemAdd(result, err.message);
		}

		/* what one archive holds past the newest segment of another */
		for (int r = 0; r < count; r++)
		{
			uint64		ahead;

			if (results[r].lastSegment[0] == '\0')
				continue;
			if (newest < 0 ||
				walVerifyBehind(results[newest].lastSegment,
								results[r].lastSegment, wal_segment_size, &ahead))
				newest = r;
		}
		for (int r = 0; r < count && newest >= 0; r++)
			if (r != newest)
				archiveVerifyBehind(&results[r], results[newest].lastSegment,
									numbers[newest]);
		progressEnd();
		configFree(config);
	}
	API_CALL_END(call);

	for (int r = 0; r < count; r++)
	{
		ArchiveVerifyResult *result = &results[r];
		Datum		values[6];
		bool		nulls[6];
		Datum	   *texts;
		int			n = 0;
		ListCell   *lc;

		ok &= result->ok;
		checked += result->segmentsChecked;
		problems += result->problemCount;

		memset(nulls, 0, sizeof(nulls));
		values[0] = BoolGetDatum(result->ok);
		values[1] = CStringGetTextDatum(result->firstSegment);
		nulls[1] = result->firstSegment[0] == '\0';
		values[2] = CStringGetTextDatum(result->lastSegment);
		nulls[2] = result->lastSegment[0] == '\0';
		values[3] = Int64GetDatum(result->segmentsChecked);
		values[5] = Int32GetDatum(numbers[r]);
		texts = palloc(sizeof(Datum) * (list_length(result->problems) + 1));
		foreach(lc, result->problems)
			texts[n++] = CStringGetTextDatum((char *) lfirst(lc));
		if (result->problemCount > n)
		{
			int			more = result->problemCount - n;

			texts[n++] = CStringGetTextDatum(psprintf("... and %d more problems", more));
		}
		values[4] = PointerGetDatum(construct_array(texts, n, TEXTOID, -1, false,
													TYPALIGN_INT));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	/* what was checked and what was found */
	apiArgBool(call, "ok", ok);
	apiArgInt64(call, "segments_checked", checked);
	apiArgInt64(call, "problems", problems);
	if (count == 1)
	{
		if (repoNull)
			apiArgInt64(call, "repo", numbers[0]);
		apiArgText(call, "first_segment", results[0].firstSegment);
		apiArgText(call, "last_segment", results[0].lastSegment);
	}
	else
		for (int r = 0; r < count; r++)
		{
			char		key[32];

			snprintf(key, sizeof(key), "repo%d_problems", numbers[r]);
			apiArgInt64(call, key, results[r].problemCount);
		}
	apiCallOk(call);
	return (Datum) 0;
}
