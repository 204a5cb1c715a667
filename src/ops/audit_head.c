/*-------------------------------------------------------------------------
 * audit_head.c
 *	  The head of the audit chain, published outside the table: in every
 *	  repository, as audit/head-<row id>-<timeline>.
 *
 * The hash chain shows a row altered or removed in the middle, but not the
 * newest rows removed: what is left is still a valid chain.  So the worker
 * publishes the newest row's id and hash where the database cannot reach:
 * right after it wrote the end of a backup, and every AUDIT_HEAD_INTERVAL_MS
 * when the head moved.  dr_audit_verify() reads the heads back; one that
 * names a row the table no longer has (and dr_audit_expire() did not
 * remove), or a row with another hash, is a truncated or rewritten tail.
 *
 * A head object is small "name = value" text written with the repository's
 * codec: encrypted and authenticated when the repository is, atomic, never
 * overwritten (a name that exists holds the same head: success).  Older
 * heads of the same timeline are removed once a new one is written, but
 * only those that still match the table: a head contradicting it stays as
 * the evidence.
 *
 * A restored or promoted copy of the cluster shares the repository but
 * not the rows written after it branched off.  Each head records the
 * timeline and the WAL position at publication (after the row's commit),
 * and counts only when that position is in this cluster's history, the way
 * recovery decides which WAL it follows.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/timeline.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "common/config.h"
#include "ops/audit.h"
#include "ops/audit_shared.h"
#include "ops/duty.h"
#include "pg_dr.h"
#include "repo/repo.h"
#include "repo/repo_origin.h"
#include "storage/storage.h"

#define AUDIT_HEAD_DIR			"audit"
#define AUDIT_HEAD_PREFIX		"head-"
#define AUDIT_HEAD_MAGIC		"pg_dr audit head 1"
/* publish at least this often when the head moved (milliseconds) */
#define AUDIT_HEAD_INTERVAL_MS	(5 * 60 * 1000)
/* largest head object read back; one is about 250 bytes */
#define AUDIT_HEAD_SIZE_MAX		4096
/* heads read per repository; more means older ones could not be removed */
#define AUDIT_HEAD_LIST_MAX		1000

typedef struct AuditHead
{
	uint64		systemId;
	TimeLineID	timeline;
	XLogRecPtr	lsn;			/* insert position after the row's commit */
	int64		rowId;
	char		rowHash[65];	/* hex */
	char		publishedAt[64];	/* ISO 8601 UTC */
} AuditHead;

/*
 * The worker's open repositories, kept across rounds with one data key each:
 * a key per publication would grow the keyring without end.
 */
typedef struct AuditHeadRepo
{
	Repo	   *repo;
	const CodecDataKey *key;
	char	   *path;			/* what it was opened for */
	char	   *keyFile;
} AuditHeadRepo;

static AuditHeadRepo auditHeadRepos[CONFIG_REPO_MAX + 1];
static MemoryContext auditHeadContext = NULL;

/* In the worker: when the head was last tried, and the row id published everywhere. */
static TimestampTz auditHeadLastTry = 0;
static int64 auditHeadLastPublished = 0;

/* head-<20 digits>-<8 hex> */
static char *
auditHeadName(const AuditHead *head)
{
	return psprintf(AUDIT_HEAD_DIR "/" AUDIT_HEAD_PREFIX "%020lld-%08X",
					(long long) head->rowId, head->timeline);
}

static char *
auditHeadFormat(const AuditHead *head)
{
	return psprintf(AUDIT_HEAD_MAGIC "\n"
					"system_identifier = " UINT64_FORMAT "\n"
					"timeline = %u\n"
					"lsn = %X/%X\n"
					"row_id = " INT64_FORMAT "\n"
					"row_hash = %s\n"
					"published_at = %s\n",
					head->systemId, head->timeline, LSN_FORMAT_ARGS(head->lsn),
					head->rowId, head->rowHash, head->publishedAt);
}

/* Parse head text; false when anything is missing or malformed. */
static bool
auditHeadParse(char *text, AuditHead *head)
{
	char	   *line;
	char	   *save = NULL;
	int			found = 0;

	memset(head, 0, sizeof(*head));
	line = strtok_r(text, "\n", &save);
	if (line == NULL || strcmp(line, AUDIT_HEAD_MAGIC) != 0)
		return false;
	while ((line = strtok_r(NULL, "\n", &save)) != NULL)
	{
		unsigned long long u;
		long long	ll;
		unsigned int hi,
					lo;

		if (sscanf(line, "system_identifier = %llu", &u) == 1)
			head->systemId = u, found |= 1;
		else if (sscanf(line, "timeline = %u", &hi) == 1)
			head->timeline = hi, found |= 2;
		else if (sscanf(line, "lsn = %X/%X", &hi, &lo) == 2)
			head->lsn = ((uint64) hi << 32) | lo, found |= 4;
		else if (sscanf(line, "row_id = %lld", &ll) == 1)
			head->rowId = ll, found |= 8;
		else if (sscanf(line, "row_hash = %64s", head->rowHash) == 1 &&
				 strlen(head->rowHash) == 64)
			found |= 16;
		else if (sscanf(line, "published_at = %63s", head->publishedAt) == 1)
			found |= 32;
	}
	return found == 63;
}

/*
 * Whether the head was published in this cluster's history: same system,
 * and its WAL position on our timeline or before we branched off its.
 */
static bool
auditHeadApplies(const AuditHead *head)
{
	TimeLineID	current;
	List	   *history;
	bool		applies;

	if (head->systemId != GetSystemIdentifier() || RecoveryInProgress())
		return false;
	current = GetWALInsertionTimeLine();
	if (head->timeline == current)
		return true;
	history = readTimeLineHistory(current);
	applies = tliInHistory(head->timeline, history) &&
		head->lsn <= tliSwitchPoint(head->timeline, history, NULL);
	list_free_deep(history);
	return applies;
}

/*
 * Compare a head with the table (SPI connected, allowed to read it).
 * Returns false with *problem set when the table lost or changed its row.
 */
static bool
auditHeadMatches(const AuditHead *head, const char *where, char **problem)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1];
	HeapTuple	tuple;
	TupleDesc	desc;
	char	   *rowHash;
	char	   *before;
	char	   *removedId;
	char	   *anchorHash;

	values[0] = Int64GetDatum(head->rowId);
	if (SPI_execute_with_args("SELECT "
							  "(SELECT pg_catalog.encode(row_hash, 'hex') FROM pgdr.audit_log"
							  " WHERE id OPERATOR(pg_catalog.=) $1), "
							  "(SELECT pg_catalog.max(id) FROM pgdr.audit_log"
							  " WHERE id OPERATOR(pg_catalog.<) $1), "
							  "(SELECT last_removed_id FROM pgdr.audit_anchor), "
							  "(SELECT pg_catalog.encode(row_hash, 'hex') FROM pgdr.audit_anchor)",
							  1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not compare an audit head with pgdr.audit_log");
	tuple = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	rowHash = SPI_getvalue(tuple, desc, 1);
	before = SPI_getvalue(tuple, desc, 2);
	removedId = SPI_getvalue(tuple, desc, 3);
	anchorHash = SPI_getvalue(tuple, desc, 4);

	if (rowHash != NULL)
	{
		if (strcmp(rowHash, head->rowHash) == 0)
			return true;
		*problem = psprintf("row " INT64_FORMAT " differs from the head %s holds, published at %s "
							"(the row was replaced or the chain rewritten after it)",
							head->rowId, where, head->publishedAt);
		return false;
	}

	/* gone: fine if dr_audit_expire() removed it */
	if (removedId != NULL && head->rowId <= pg_strtoint64(removedId))
	{
		if (head->rowId < pg_strtoint64(removedId) ||
			strcmp(anchorHash, head->rowHash) == 0)
			return true;
		*problem = psprintf("the expired row " INT64_FORMAT " differs from the head %s holds, published at %s",
							head->rowId, where, head->publishedAt);
		return false;
	}

	if (before == NULL && removedId != NULL)
		before = removedId;
	if (before != NULL)
		*problem = psprintf("rows after id %s were removed: %s holds a head at id " INT64_FORMAT
							" published at %s",
							before, where, head->rowId, head->publishedAt);
	else
		*problem = psprintf("every row up to id " INT64_FORMAT " was removed: %s holds a head at id "
							INT64_FORMAT " published at %s",
							head->rowId, where, head->rowId, head->publishedAt);
	return false;
}

/* storageList callback: collect the names of head objects. */
static bool
auditHeadListOne(void *arg, const StorageInfo *info, DrError *err)
{
	List	  **names = (List **) arg;

	if (!info->isDir && strncmp(info->name, AUDIT_HEAD_PREFIX,
								strlen(AUDIT_HEAD_PREFIX)) == 0 &&
		list_length(*names) < AUDIT_HEAD_LIST_MAX)
		*names = lappend(*names, psprintf(AUDIT_HEAD_DIR "/%s", info->name));
	return true;
}

/* Read and parse one head object (DR_ERR_CORRUPT when malformed). */
static bool
auditHeadRead(Repo *repo, const char *path, AuditHead *head, DrError *err)
{
	size_t		len;
	char	   *text = repoObjectGetBuffer(repo, path, &len, AUDIT_HEAD_SIZE_MAX, err);

	if (text == NULL)
		return false;
	if (!auditHeadParse(text, head))
		return drErrorSet(err, DR_ERR_CORRUPT, "audit head \"%s/%s\" is malformed",
						  repoConfig(repo)->path, path);
	return true;
}

/*----------------------------------------------------------------------
 * Verification (dr_audit_verify)
 *----------------------------------------------------------------------
 */

/* Check every head of one repository; false with *problem on a mismatch. */
static bool
auditHeadCheckRepo(const ConfigRepo *config, int64 *brokenId, char **problem)
{
	Repo	   *repo;
	List	   *names = NIL;
	ListCell   *lc;
	DrError		err;
	char	   *where;
	bool		ok = true;

	repo = repoOpen(config, &err);
	if (repo == NULL ||
		!storageList(repoStorage(repo), AUDIT_HEAD_DIR, auditHeadListOne, &names, &err))
	{
		ereport(WARNING,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not read the audit heads of repository \"%s\": %s",
						config->path, err.message),
				 errdetail("The removal of the newest audit rows is not checked against this repository.")));
		if (repo)
			repoClose(repo);
		return true;
	}

	foreach(lc, names)
	{
		const char *path = lfirst(lc);
		AuditHead	head;

		if (!auditHeadRead(repo, path, &head, &err))
		{
			ereport(WARNING,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("could not read audit head: %s", err.message)));
			continue;
		}
		if (!auditHeadApplies(&head))
			continue;
		where = psprintf("repository \"%s\" (%s)", config->path, path);
		if (!auditHeadMatches(&head, where, problem))
		{
			*brokenId = head.rowId;
			ok = false;
			break;
		}
	}
	repoClose(repo);
	return ok;
}

bool
auditHeadCheck(int64 *brokenId, char **problem)
{
	DrConfig   *config;
	DrError		err;

	if (drConfigFile == NULL || drConfigFile[0] == '\0')
		return true;
	config = configLoad(drConfigFile, &err);
	if (config == NULL)
	{
		ereport(WARNING,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("could not check the published audit heads: %s", err.message)));
		return true;
	}
	for (int n = 1; n <= CONFIG_REPO_MAX; n++)
	{
		if (config->repo[n].index == 0)
			continue;
		if (!auditHeadCheckRepo(&config->repo[n], brokenId, problem))
		{
			configFree(config);
			return false;
		}
	}
	configFree(config);
	return true;
}

/*----------------------------------------------------------------------
 * Publication (worker)
 *----------------------------------------------------------------------
 */

static void
auditHeadRepoForget(AuditHeadRepo *cached)
{
	if (cached->repo)
		repoClose(cached->repo);
	if (cached->path)
		pfree(cached->path);
	if (cached->keyFile)
		pfree(cached->keyFile);
	memset(cached, 0, sizeof(*cached));
}

/* The worker's handle and key for a configured repository (opened if need be). */
static AuditHeadRepo *
auditHeadRepoGet(const ConfigRepo *config, DrError *err)
{
	AuditHeadRepo *cached = &auditHeadRepos[config->index];
	const char *keyFile = config->cipherKeyFile ? config->cipherKeyFile : "";
	MemoryContext old;

	if (cached->repo &&
		(strcmp(cached->path, config->path) != 0 ||
		 strcmp(cached->keyFile, keyFile) != 0))
		auditHeadRepoForget(cached);
	if (cached->repo)
		return cached;

	old = MemoryContextSwitchTo(auditHeadContext);
	cached->repo = repoOpen(config, err);
	if (cached->repo && !repoDataKeyNew(cached->repo, &cached->key, err))
	{
		repoClose(cached->repo);
		cached->repo = NULL;
	}
	if (cached->repo)
	{
		cached->path = pstrdup(config->path);
		cached->keyFile = pstrdup(keyFile);
	}
	MemoryContextSwitchTo(old);
	return cached->repo ? cached : NULL;
}

/*
 * Write head into one repository, then remove the older heads that still
 * match the table.  SPI connected.  Returns false (err set) when the write
 * failed.
 */
static bool
auditHeadPublishRepo(const ConfigRepo *config, const AuditHead *head,
					 DrError *err)
{
	AuditHeadRepo *cached = auditHeadRepoGet(config, err);
	char	   *path = auditHeadName(head);
	char	   *text = auditHeadFormat(head);
	List	   *names = NIL;
	ListCell   *lc;

	if (cached == NULL)
		return false;
	if (!repoObjectPutBuffer(cached->repo, path, text, strlen(text), cached->key,
							 NULL, err))
	{
		if (err->code != DR_ERR_EXISTS)
		{
			auditHeadRepoForget(cached);
			return false;
		}
		drErrorClear(err);		/* published before: the same head */
	}

	/* older heads: keep only those the table contradicts, and foreign ones */
	if (!storageList(repoStorage(cached->repo), AUDIT_HEAD_DIR, auditHeadListOne,
					 &names, err))
		return true;			/* the head is out; tidy up next time */
	foreach(lc, names)
	{
		const char *other = lfirst(lc);
		AuditHead	old;
		char	   *problem;
		DrError		oneErr;

		/*
		 * Only heads of this timeline: another one's (a restored copy, the
		 * server before a promotion) is that cluster's evidence, not ours.
		 */
		if (strcmp(other, path) == 0 ||
			!auditHeadRead(cached->repo, other, &old, &oneErr) ||
			old.rowId >= head->rowId || old.timeline != head->timeline ||
			!auditHeadApplies(&old))
			continue;
		if (!auditHeadMatches(&old, psprintf("repository \"%s\" (%s)", config->path, other),
							  &problem))
		{
			ereport(WARNING,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("the pg_dr audit trail does not match a published head: %s", problem),
					 errhint("Run dr_audit_verify(); the head is kept as evidence.")));
			continue;
		}
		if (!storageRemove(repoStorage(cached->repo), other, &oneErr))
			ereport(LOG,
					(errmsg("could not remove old audit head: %s", oneErr.message)));
	}
	return true;
}

/*
 * Read the newest row (SPI connected) and publish it where needed.
 * Returns the id published everywhere, or 0.
 */
static int64
auditHeadPublishAll(int64 lastPublished, bool force)
{
	AuditHead	head;
	DrConfig   *config;
	DrError		err;
	int64		published = 0;
	bool		allOk = true;

	if (SPI_execute("SELECT id, pg_catalog.encode(row_hash, 'hex') FROM pgdr.audit_log "
					"ORDER BY id DESC LIMIT 1", true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the newest audit row");
	if (SPI_processed != 1)
		return 0;

	memset(&head, 0, sizeof(head));
	head.rowId = pg_strtoint64(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	strlcpy(head.rowHash, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2),
			sizeof(head.rowHash));
	if (head.rowId == lastPublished && !force)
		return lastPublished;

	head.systemId = GetSystemIdentifier();
	head.timeline = GetWALInsertionTimeLine();
	head.lsn = GetXLogInsertRecPtr();	/* past the row's commit */
	{
		pg_time_t	now = (pg_time_t) time(NULL);

		pg_strftime(head.publishedAt, sizeof(head.publishedAt), "%Y-%m-%dT%H:%M:%SZ",
					pg_gmtime(&now));
	}

	config = configLoad(drConfigFile, &err);
	if (config == NULL)
	{
		ereport(LOG,
				(errmsg("pg_dr audit head not published: %s", err.message)));
		return 0;
	}
	for (int n = 1; n <= CONFIG_REPO_MAX; n++)
	{
		if (config->repo[n].index == 0)
			continue;

		/*
		 * A restored cluster not yet declared primary writes nothing into
		 * the repository it came from (repo_origin.h): not even a head,
		 * which the source would later read as its own history.
		 */
		if (!repoOriginGuard(DataDir, &config->repo[n], NULL,
							 "publishing the audit head", &err))
		{
			ereport(DEBUG1,
					(errmsg("pg_dr audit head not published in repository \"%s\": %s",
							config->repo[n].path, err.message)));
			continue;
		}
		if (!auditHeadPublishRepo(&config->repo[n], &head, &err))
		{
			ereport(LOG,
					(errmsg("pg_dr audit head not published in repository \"%s\": %s",
							config->repo[n].path, err.message)));
			allOk = false;
		}
	}
	if (allOk)
		published = head.rowId;
	configFree(config);
	return published;
}

/* The publication, in its transaction (dutyXactRun); arg: force it. */
static void
auditHeadPublishStep(void *arg)
{
	bool		force = *(bool *) arg;
	int64		published;

	if (!OidIsValid(get_extension_oid("pg_dr", true)))
		return;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	published = auditHeadPublishAll(auditHeadLastPublished, force);
	if (published != 0)
		auditHeadLastPublished = published;
	SPI_finish();
}

bool
auditHeadPublishRound(void)
{
	TimestampTz now = GetCurrentTimestamp();
	bool		force = auditHeadBackupEnded;

	if (!force && auditHeadLastTry != 0 &&
		!TimestampDifferenceExceeds(auditHeadLastTry, now, AUDIT_HEAD_INTERVAL_MS))
		return true;
	auditHeadBackupEnded = false;
	auditHeadLastTry = now;
	if (drConfigFile == NULL || drConfigFile[0] == '\0')
		return true;
	if (auditHeadContext == NULL)
		auditHeadContext = AllocSetContextCreate(TopMemoryContext,
												 "pg_dr audit head",
												 ALLOCSET_SMALL_SIZES);

	if (!dutyXactRun("publishing the pg_dr audit head", auditHeadPublishStep,
					 &force))
	{
		/* a handle left mid-operation is not reused */
		for (int n = 0; n <= CONFIG_REPO_MAX; n++)
			auditHeadRepoForget(&auditHeadRepos[n]);
		return false;
	}
	return true;
}

/*
 * The head duty: due when a backup's end was written (the drain, which
 * runs before it, sets auditHeadBackupEnded), at the first round, and
 * every AUDIT_HEAD_INTERVAL_MS after the last try.
 */
static TimestampTz
auditHeadNextDue(TimestampTz now, void *arg)
{
	if (auditHeadBackupEnded || auditHeadLastTry == 0)
		return now;
	return auditHeadLastTry + (TimestampTz) AUDIT_HEAD_INTERVAL_MS * 1000;
}

static bool
auditHeadRun(TimestampTz now, void *arg)
{
	return auditHeadPublishRound();
}

void
auditHeadDutyRegister(void)
{
	/* a failed try waits for the next interval, as its due time says */
	dutyRegister("audit head", auditHeadNextDue, auditHeadRun, NULL, 0);
}
