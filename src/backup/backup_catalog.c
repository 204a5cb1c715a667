/*-------------------------------------------------------------------------
 * backup_catalog.c
 *	  pgdr.backups: the catalog's copy of what the repository's manifests
 *	  say.  The repository is the source of truth; backupCatalogSync()
 *	  rebuilds the table from it (dr_repository_sync()), so a cluster
 *	  restored from nothing but the repository can list every backup.
 *
 * This file is the only writer of the table: a backup's row when it
 * completes, the outcome of its verification, its removal by dr_expire(),
 * the rebuild.  Every SQL text names its schema and operators; the callers
 * run it as the extension owner with the pinned search_path (api.h).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "backup/backup.h"
#include "pg_dr.h"
#include "repo/repo.h"
#include "repo/repo_backup.h"

/*
 * Run one statement that changes pgdr.backups; ERROR "could not <what>"
 * unless SPI answers expected.  Returns the number of rows it changed.
 */
static uint64
catalogExecute(const char *sql, int nargs, Oid *argtypes, Datum *values,
			   const char *nulls, int expected, const char *what)
{
	uint64		processed;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args(sql, nargs, argtypes, values, nulls, false, 0) != expected)
		elog(ERROR, "could not %s", what);
	processed = SPI_processed;
	SPI_finish();
	return processed;
}

/* Record the backup in pgdr.backups (the catalog caches the repository). */
void
backupCatalogInsert(const BackupSummary *summary)
{
	const ManifestHeader *h = &summary->header;
	Oid			argtypes[16] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID,
		TIMESTAMPTZOID, LSNOID, LSNOID, INT4OID, INT8OID, INT8OID, INT8OID, INT8OID,
	INT8OID, INT4OID, INT8OID};
	Datum		values[16];
	char		nulls[16];

	memset(nulls, ' ', sizeof(nulls));
	values[0] = CStringGetTextDatum(h->backupId);
	values[1] = CStringGetTextDatum(h->incremental ? "incremental" : "full");
	values[2] = CStringGetTextDatum(h->parentId);
	if (h->parentId[0] == '\0')
		nulls[2] = 'n';
	if (h->label)
		values[3] = CStringGetTextDatum(h->label);
	else
		nulls[3] = 'n';
	values[4] = TimestampTzGetDatum(time_t_to_timestamptz((pg_time_t) h->startTime));
	values[5] = TimestampTzGetDatum(time_t_to_timestamptz((pg_time_t) h->stopTime));
	values[6] = LSNGetDatum(h->startLsn);
	values[7] = LSNGetDatum(h->stopLsn);
	values[8] = Int32GetDatum((int32) h->timeline);
	values[9] = Int64GetDatum((int64) summary->dataBytes);
	values[10] = Int64GetDatum((int64) summary->storedBytes);
	values[11] = Int64GetDatum((int64) summary->pagesChanged);
	values[12] = Int64GetDatum((int64) summary->corruptPages);
	values[13] = Int64GetDatum((int64) summary->files);
	values[14] = Int32GetDatum(1);
	/* the manifest does not record it: known only to the backup itself */
	values[15] = Int64GetDatum((int64) summary->bytesRead);
	if (!summary->bytesReadKnown)
		nulls[15] = 'n';

	catalogExecute("INSERT INTO pgdr.backups (backup_id, kind, parent_id, label,"
				   " started_at, finished_at, start_lsn, stop_lsn, timeline,"
				   " data_bytes, stored_bytes, pages_changed, corrupt_pages, files, repo,"
				   " bytes_read, status)"
				   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,"
				   " CASE WHEN $13 OPERATOR(pg_catalog.>) 0 THEN 'corrupt' ELSE 'valid' END)"
				   " ON CONFLICT (backup_id) DO NOTHING",
				   16, argtypes, values, nulls, SPI_OK_INSERT,
				   "record the backup in pgdr.backups");
}

void
backupCatalogVerified(const char *backupId, const char *error)
{
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		values[2];
	char		nulls[2] = {' ', ' '};

	values[0] = CStringGetTextDatum(backupId);
	if (error != NULL)
		values[1] = CStringGetTextDatum(error);
	else
		nulls[1] = 'n';
	catalogExecute("UPDATE pgdr.backups SET error = $2,"
				   " status = CASE WHEN $2 IS NOT NULL THEN 'damaged'"
				   " WHEN corrupt_pages OPERATOR(pg_catalog.>) 0 THEN 'corrupt'"
				   " ELSE 'valid' END"
				   " WHERE backup_id OPERATOR(pg_catalog.=) $1",
				   2, argtypes, values, nulls, SPI_OK_UPDATE,
				   "record the verification in pgdr.backups");
}

void
backupCatalogRemove(const char *backupId)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];

	values[0] = CStringGetTextDatum(backupId);
	catalogExecute("DELETE FROM pgdr.backups WHERE backup_id OPERATOR(pg_catalog.=) $1",
				   1, argtypes, values, NULL, SPI_OK_DELETE,
				   psprintf("delete backup %s from pgdr.backups", backupId));
}

/*
 * Drop the rows of repository 1 whose backup the repository no longer
 * holds (a backup is what has a manifest), except runningId's (NULL:
 * none): what a dr_expire() that failed or was canceled after removing
 * backups left behind, its own catalog changes rolled back with it.
 * Returns how many rows went.
 */
int
backupCatalogPrune(Repo *repo, const char *runningId)
{
	DrError		err;
	char	  **ids;
	int			count;
	Datum	   *elems;
	Oid			argtypes[2] = {TEXTARRAYOID, TEXTOID};
	Datum		values[2];
	char		nulls[2] = {' ', ' '};
	int			pruned;

	if (!repoBackupList(repo, &ids, &count, &err))
		drEreport(ERROR, &err);
	elems = palloc((count + 1) * sizeof(Datum));
	for (int i = 0; i < count; i++)
		elems[i] = CStringGetTextDatum(ids[i]);
	values[0] = PointerGetDatum(construct_array(elems, count, TEXTOID, -1,
												false, TYPALIGN_INT));
	if (runningId != NULL)
		values[1] = CStringGetTextDatum(runningId);
	else
		nulls[1] = 'n';
	pruned = (int) catalogExecute("DELETE FROM pgdr.backups"
				   " WHERE repo OPERATOR(pg_catalog.=) 1"
				   " AND NOT (backup_id OPERATOR(pg_catalog.=) ANY ($1))"
				   " AND backup_id IS DISTINCT FROM $2",
				   2, argtypes, values, nulls, SPI_OK_DELETE,
				   "drop the backups the repository no longer holds from pgdr.backups");
	repoBackupListFree(ids, count);
	pfree(elems);
	return pruned;
}

static bool
catalogWalSize(void *arg, const StorageInfo *info, DrError *err)
{
	if (!info->isDir)
		*(uint64 *) arg += info->size;
	return true;
}

bool
backupSummaryRead(Repo *repo, const char *backupId, BackupSummary *summary,
				  DrError *err)
{
	RepoBackupManifest *manifest;
	ManifestReader *reader;
	ManifestEntry entry;
	char	   *walDir;
	int			rc;

	memset(summary, 0, sizeof(*summary));
	manifest = repoBackupManifestOpen(repo, backupId, err);
	if (manifest == NULL)
		return false;
	summary->header = *repoBackupManifestHeader(manifest);
	if (summary->header.label)
		summary->header.label = pstrdup(summary->header.label);
	reader = repoBackupManifestReader(manifest);
	while ((rc = manifestReaderNext(reader, &entry, err)) > 0)
	{
		if (entry.kind != MANIFEST_ENTRY_FILE)
			continue;
		summary->files++;
		summary->dataBytes += entry.file.size;
		summary->storedBytes += entry.file.objectSize;
		summary->pagesChanged += entry.file.blocks;
		summary->corruptPages += entry.file.corrupt;
	}
	repoBackupManifestClose(manifest);
	if (rc < 0)
		return false;

	/* the manifest does not record the stored size of WAL objects */
	walDir = psprintf(REPO_BACKUP_DIR "/%s/wal", backupId);
	if (!storageList(repoStorage(repo), walDir, catalogWalSize,
					 &summary->storedBytes, err))
		return false;
	pfree(walDir);
	return true;
}

int
backupCatalogSync(Repo *repo)
{
	DrError		err;
	char	  **ids;
	int			count;
	int			inserted = 0;

	if (!repoBackupList(repo, &ids, &count, &err))
		drEreport(ERROR, &err);

	catalogExecute("DELETE FROM pgdr.backups", 0, NULL, NULL, NULL,
				   SPI_OK_DELETE, "clear pgdr.backups");

	/*
	 * A manifest that cannot be read leaves its backup out, with a WARNING
	 * naming it, as `pg_dr info`, the PITR pick and dr_expire() do: one
	 * damaged backup must not hide all the others.
	 */
	for (int i = 0; i < count; i++)
	{
		BackupSummary summary;

		CHECK_FOR_INTERRUPTS();
		drErrorClear(&err);
		if (!backupSummaryRead(repo, ids[i], &summary, &err))
		{
			ereport(WARNING,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("backup %s is skipped: %s", ids[i], err.message),
					 errdetail("It is left out of dr_backups while its manifest cannot be read."),
					 errhint("Check it with \"pg_dr verify --backup %s\".", ids[i])));
			continue;
		}
		backupCatalogInsert(&summary);
		inserted++;
	}
	repoBackupListFree(ids, count);
	return inserted;
}
