/*-------------------------------------------------------------------------
 * objectives.c
 *	  Measuring the recovery objectives (objectivesMeasure) and recording
 *	  the restore and replay rates (objectivesRateRecord); objectives.h
 *	  says where each figure comes from.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "access/timeline.h"
#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "access/xlogrecovery.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "archive/archive.h"
#include "common/config.h"
#include "ha/ha_watch.h"
#include "ops/objectives.h"
#include "pitr/pitr.h"

/* The last moment nothing was seen waiting for the archive (0: not seen). */
typedef struct ObjectivesShared
{
	pg_atomic_uint64 lastIdleSeen;
} ObjectivesShared;

static ObjectivesShared *objectivesShared = NULL;

void
objectivesShmemRequest(void)
{
	RequestAddinShmemSpace(MAXALIGN(sizeof(ObjectivesShared)));
}

void
objectivesShmemInit(void)
{
	bool		found;

	objectivesShared = ShmemInitStruct("pg_dr objectives", sizeof(ObjectivesShared), &found);
	if (!found)
		pg_atomic_init_u64(&objectivesShared->lastIdleSeen, 0);
}

static double
getFloat(int col, bool *isnull)
{
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, isnull);

	return *isnull ? 0 : DatumGetFloat8(d);
}

/* The tier's targets, in seconds. */
static void
measureTargets(ObjectivesMeasure *m)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	bool		n1,
				n2;

	args[0] = CStringGetTextDatum(m->tier);
	if (SPI_execute_with_args("SELECT pg_catalog.date_part('epoch', rpo),"
							  " pg_catalog.date_part('epoch', rto)"
							  " FROM pgdr.objectives WHERE tier OPERATOR(pg_catalog.=) $1",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pgdr.objectives");
	if (SPI_processed != 1)
		return;
	m->input.rpoTargetSec = getFloat(1, &n1);
	m->input.rtoTargetSec = getFloat(2, &n2);
	m->input.targetsKnown = !n1 && !n2;
}

/*
 * The RPO actual and the archive's health: whether WAL waits for the
 * archive (a .ready file, or WAL in the current segment), since when.
 */
static void
measureArchive(ObjectivesMeasure *m)
{
	ArchiveReadySummary ready;
	ArchiveRepoStatus rows[CONFIG_REPO_MAX + 1];
	int			count;
	bool		waiting;
	TimestampTz lastArchived;
	TimestampTz lastIdle;

	m->input.archiveOldestWaitSec = -1;
	if (!XLogArchivingActive() ||
		XLogArchiveLibrary == NULL || strcmp(XLogArchiveLibrary, "pg_dr") != 0)
	{
		m->archiveHealth = OBJ_ARCHIVE_OFF;
		snprintf(m->rpoReason, sizeof(m->rpoReason),
				 "WAL is not archived by pg_dr (archive_mode = on and archive_library = 'pg_dr' are needed)");
		return;
	}

	/* failing now: a repository's last failure came after its last success */
	count = archiveStatusRead(rows, lengthof(rows));
	for (int i = 0; i < count; i++)
		if (rows[i].lastErrorAt != 0 && rows[i].lastErrorAt >= rows[i].lastArchivedAt)
			m->input.archiveFailing = true;

	archiveReadySummary(&ready);
	m->archivePending = ready.count;
	if (ready.count > 0 && ready.oldest != 0)
		m->input.archiveOldestWaitSec =
			ready.oldest >= m->now ? 0 : (double) (m->now - ready.oldest) / 1000000.0;

	if (RecoveryInProgress())
	{
		snprintf(m->rpoReason, sizeof(m->rpoReason),
				 "the server is in recovery: it writes no WAL of its own");
		m->archiveHealth = m->input.archiveFailing ? OBJ_ARCHIVE_FAILING : OBJ_ARCHIVE_OK;
		return;
	}

	/*
	 * The insert position of an empty segment is just past its long page
	 * header (pitr.c says the same): nothing written there yet.
	 */
	waiting = ready.count > 0 ||
		XLogSegmentOffset(GetXLogInsertRecPtr(), wal_segment_size) > SizeOfXLogLongPHD;
	if (!waiting)
		pg_atomic_write_u64(&objectivesShared->lastIdleSeen, (uint64) m->now);
	lastIdle = (TimestampTz) pg_atomic_read_u64(&objectivesShared->lastIdleSeen);
	lastArchived = pgstat_fetch_stat_archiver()->last_archived_timestamp;

	m->input.rpoKnown = objectivesRpoActual(m->now, waiting, lastArchived, lastIdle,
											&m->input.rpoActualSec);
	if (!m->input.rpoKnown)
		snprintf(m->rpoReason, sizeof(m->rpoReason),
				 "WAL waits for the archive and no WAL file was archived since the server's statistics began");

	if (m->input.archiveFailing)
		m->archiveHealth = OBJ_ARCHIVE_FAILING;
	else if (m->input.targetsKnown && m->input.archiveOldestWaitSec >
			 m->input.rpoTargetSec * OBJ_ARCHIVE_LAG_FRACTION)
		m->archiveHealth = OBJ_ARCHIVE_LAGGING;
	else
		m->archiveHealth = OBJ_ARCHIVE_OK;
}

/*
 * The RPO actual from the standbys (objectives_verdict.h): on a primary,
 * the lag watcher's newest round (its samples of pg_stat_replication),
 * the best healthy standby's flush lag, chosen over the archive's figure
 * by pg_dr.objectives_rpo_source.  Nothing on a standby or without
 * samples (no HA configured: the watcher does not run).
 */
static void
measureStandbys(ObjectivesMeasure *m)
{
	HaWatchSample *samples = NULL;
	ObjectivesStandby standbys[HA_WATCH_STANDBY_MAX];
	int			count;
	int			n = 0;
	int			best;
	int			bestSync;
	double		lag = 0;
	double		syncLag = 0;
	bool		known;
	double		seconds;

	m->rpoSource = "archive";
	if (drObjectivesRpoSource == OBJ_RPO_MODE_ARCHIVE || RecoveryInProgress())
		return;
	count = haWatchNow(&samples);
	for (int i = 0; i < count && n < HA_WATCH_STANDBY_MAX; i++)
	{
		const HaWatchSample *s = &samples[i];

		if (!s->primary || s->name[0] == '\0')
			continue;
		standbys[n].streaming = strcmp(s->state, "streaming") == 0;
		standbys[n].synchronous = strcmp(s->syncState, "sync") == 0 ||
			strcmp(s->syncState, "quorum") == 0;
		standbys[n].flushLagMs = s->flushLagMs;
		standbys[n].flushLagBytes = s->flushLagBytes;
		standbys[n].sampleAgeSec = (double) (m->now - s->sampledAt) / 1000000.0;
		n++;
	}
	best = objectivesStandbyBest(standbys, n, false, &lag);
	bestSync = objectivesStandbyBest(standbys, n, true, &syncLag);
	if (objectivesRpoChoose((ObjectivesRpoMode) drObjectivesRpoSource,
							m->input.rpoKnown, m->input.rpoActualSec,
							best >= 0, lag, bestSync >= 0, syncLag,
							&known, &seconds))
	{
		int			used = drObjectivesRpoSource == OBJ_RPO_MODE_AUTO ? bestSync : best;
		int			k = 0;

		/* the name of the used one: the used-th standby kept above */
		for (int i = 0; i < count; i++)
		{
			if (!samples[i].primary || samples[i].name[0] == '\0')
				continue;
			if (k++ == used)
			{
				strlcpy(m->rpoStandby, samples[i].name, sizeof(m->rpoStandby));
				break;
			}
		}
		m->rpoSource = "standby";
		m->input.rpoKnown = known;
		m->input.rpoActualSec = seconds;
		m->rpoReason[0] = '\0';
	}
	if (samples != NULL)
		pfree(samples);
}

/* The newest valid backup and the RTO estimate for it. */
static void
measureBackup(ObjectivesMeasure *m)
{
	bool		isnull;
	XLogRecPtr	startLsn;
	XLogRecPtr	now;
	RtoModelInput rin;
	char	   *id;

	if (SPI_execute("SELECT backup_id, finished_at, data_bytes, start_lsn FROM pgdr.backups"
					" WHERE status OPERATOR(pg_catalog.=) 'valid'"
					" ORDER BY finished_at DESC, backup_id DESC LIMIT 1",
					true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pgdr.backups");
	if (SPI_processed != 1)
		return;
	m->input.backupExists = true;
	id = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	strlcpy(m->backupId, id ? id : "", sizeof(m->backupId));
	m->backupAt = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
													SPI_tuptable->tupdesc, 2, &isnull));
	m->input.backupAgeSec = m->backupAt >= m->now ? 0 :
		(double) (m->now - m->backupAt) / 1000000.0;
	memset(&rin, 0, sizeof(rin));
	rin.chainBytes = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
												 SPI_tuptable->tupdesc, 3, &isnull));
	startLsn = DatumGetLSN(SPI_getbinval(SPI_tuptable->vals[0],
										 SPI_tuptable->tupdesc, 4, &isnull));
	now = RecoveryInProgress() ? GetXLogReplayRecPtr(NULL) : GetXLogInsertRecPtr();
	m->walBytes = now > startLsn ? (int64) (now - startLsn) : 0;
	rin.walBytes = m->walBytes;
	rin.restoreRate = m->restoreRate;
	rin.replayRate = m->replayRate;
	rtoModelEstimate(&rin, &m->rto);
	m->input.rtoEstimateSec = m->rto.totalSec;
}

/* The rate of a kind from its newest measurements: 0 when none. */
static void
measureRate(const char *kind, double *rate, TimestampTz *at)
{
	Oid			argtypes[2] = {TEXTOID, INT4OID};
	Datum		args[2];
	bool		isnull;
	Datum		d;

	*rate = 0;
	*at = 0;
	args[0] = CStringGetTextDatum(kind);
	args[1] = Int32GetDatum(OBJECTIVES_RATE_SAMPLES);
	if (SPI_execute_with_args("SELECT pg_catalog.sum(s.bytes)::pg_catalog.float8"
							  " OPERATOR(pg_catalog./) pg_catalog.sum(s.seconds),"
							  " pg_catalog.max(s.measured_at)"
							  " FROM (SELECT r.bytes, r.seconds, r.measured_at FROM pgdr.rate_samples r"
							  " WHERE r.kind OPERATOR(pg_catalog.=) $1"
							  " ORDER BY r.measured_at DESC LIMIT $2) s",
							  2, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pgdr.rate_samples");
	if (SPI_processed != 1)
		return;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return;
	*rate = DatumGetFloat8(d);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	*at = isnull ? 0 : DatumGetTimestampTz(d);
}

void
objectivesRatesGet(double *restoreRate, double *replayRate)
{
	TimestampTz at;

	measureRate("restore", restoreRate, &at);
	measureRate("replay", replayRate, &at);
}

static void
measureAlerts(ObjectivesMeasure *m)
{
	bool		isnull;

	if (SPI_execute("SELECT pg_catalog.count(*)::pg_catalog.int4 FROM pgdr.alerts"
					" WHERE resolved_at IS NULL", true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read pgdr.alerts");
	m->openAlerts = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
												SPI_tuptable->tupdesc, 1, &isnull));
}

void
objectivesMeasure(ObjectivesMeasure *m)
{
	memset(m, 0, sizeof(*m));
	m->now = GetCurrentTimestamp();
	m->tier = drTierName(drTier);
	m->input.backupOverdueSec = drBackupOverdueAfter;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	measureTargets(m);
	measureRate("restore", &m->restoreRate, &m->restoreMeasuredAt);
	measureRate("replay", &m->replayRate, &m->replayMeasuredAt);
	measureBackup(m);
	measureAlerts(m);
	SPI_finish();
	measureArchive(m);
	measureStandbys(m);

	if (!m->input.backupExists)
	{
		/* the model's flags, for the view: no estimate, no figures */
		RtoModelInput rin = {-1, 0, m->restoreRate, m->replayRate};

		rtoModelEstimate(&rin, &m->rto);
	}
	objectivesVerdict(&m->input, &m->verdict);
}

void
objectivesRateRecord(const char *kind, int64 bytes, double seconds, const char *source)
{
	Oid			argtypes[5] = {TEXTOID, INT8OID, FLOAT8OID, TEXTOID, INT4OID};
	Datum		args[5];

	if (bytes <= 0 || seconds <= 0)
		return;
	args[0] = CStringGetTextDatum(kind);
	args[1] = Int64GetDatum(bytes);
	args[2] = Float8GetDatum(seconds);
	args[3] = CStringGetTextDatum(source);
	args[4] = Int32GetDatum(OBJECTIVES_RATE_KEEP);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("INSERT INTO pgdr.rate_samples (kind, measured_at, bytes, seconds, source)"
							  " VALUES ($1, pg_catalog.clock_timestamp(), $2, $3, $4)",
							  4, argtypes, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not record a rate in pgdr.rate_samples");
	if (SPI_execute_with_args("DELETE FROM pgdr.rate_samples WHERE kind OPERATOR(pg_catalog.=) $1"
							  " AND id OPERATOR(pg_catalog.<) (SELECT r.id FROM pgdr.rate_samples r"
							  "  WHERE r.kind OPERATOR(pg_catalog.=) $1"
							  "  ORDER BY r.id DESC OFFSET ($5 OPERATOR(pg_catalog.-) 1) LIMIT 1)",
							  5, argtypes, args, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not bound pgdr.rate_samples");
	SPI_finish();
}

/*
 * The replay rate of a recovery this server just finished (objectives.h):
 * the cluster was restored from a backup (backup_label.old names where the
 * backup's WAL starts), its recovery ended at the start of the current
 * timeline, when that timeline's history file was written, during this
 * server's lifetime (so it ran from this server's start).  Recorded once
 * (its source names the timeline and the backup), as the extension owner
 * in a transaction that can write.
 */
void
objectivesReplayRecord(void)
{
	char		path[MAXPGPATH];
	char		line[256];
	char		startTime[64] = "";
	char		source[160];
	FILE	   *file;
	uint32		hi,
				lo;
	XLogRecPtr	start = InvalidXLogRecPtr;
	XLogRecPtr	end;
	TimeLineID	tli;
	List	   *history;
	struct stat st;
	TimestampTz endedAt;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	bool		recorded;

	if (RecoveryInProgress())
		return;
	snprintf(path, sizeof(path), "%s/backup_label.old", DataDir);
	file = AllocateFile(path, "r");
	if (file == NULL)
		return;
	while (fgets(line, sizeof(line), file) != NULL)
	{
		if (sscanf(line, "START WAL LOCATION: %X/%X", &hi, &lo) == 2)
			start = ((uint64) hi << 32) | lo;
		else if (strncmp(line, "START TIME: ", 12) == 0)
		{
			strlcpy(startTime, line + 12, sizeof(startTime));
			startTime[strcspn(startTime, "\n")] = '\0';
		}
	}
	FreeFile(file);

	tli = GetWALInsertionTimeLine();
	if (XLogRecPtrIsInvalid(start) || tli <= 1)
		return;
	TLHistoryFilePath(path, tli);
	if (stat(path, &st) != 0)
		return;
	endedAt = time_t_to_timestamptz(st.st_mtim.tv_sec) + st.st_mtim.tv_nsec / 1000;
	if (endedAt <= PgStartTime)
		return;					/* an earlier lifetime's recovery */
	history = readTimeLineHistory(tli);
	end = ((TimeLineHistoryEntry *) linitial(history))->begin;
	if (end <= start)
		return;

	snprintf(source, sizeof(source), "recovery to timeline %u of the backup started %s",
			 tli, startTime);
	args[0] = CStringGetTextDatum(source);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT 1 FROM pgdr.rate_samples"
							  " WHERE kind OPERATOR(pg_catalog.=) 'replay'"
							  " AND source OPERATOR(pg_catalog.=) $1",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pgdr.rate_samples");
	recorded = SPI_processed > 0;
	SPI_finish();
	if (recorded)
		return;
	objectivesRateRecord("replay", (int64) (end - start),
						 (double) (endedAt - PgStartTime) / 1000000.0, source);
	ereport(LOG,
			(errmsg("pg_dr: replay rate measured: %llu bytes of WAL in %.1f s (%s)",
					(unsigned long long) (end - start),
					(double) (endedAt - PgStartTime) / 1000000.0, source)));
}
