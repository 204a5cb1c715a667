/*-------------------------------------------------------------------------
 * ha_watch.c
 *	  The lag watcher's duty (ha_watch.h says what it watches and where it
 *	  puts it).  A round:
 *	   1. the settings, re-read when the configuration file changed;
 *	   2. one read-only transaction samples pg_stat_replication (primary)
 *		  or the WAL receiver and replay (standby); the rows are published
 *		  into the ring (dr_replication);
 *	   3. on a primary, per standby, the replay delay and the decisions of
 *		  ha_watch_decide.h: alerts raised or resolved only when a level
 *		  changes (so a lasting problem is one raise, not one per sample),
 *		  synchronous_standby_names written only when the set of healthy
 *		  standbys changes (synchronous mode off: the value pg_dr wrote
 *		  reset, an administrator's left alone; never on a node that is
 *		  fenced or lacks its licence),
 *		  one transaction each and only when there is something to write;
 *	   4. on a primary, every ha_watch_history_interval, the history rows
 *		  and the pruning, in one transaction.
 *	  On a standby only 1 and 2 (it cannot write), and a LOG line when its
 *	  replay pause state changes.
 *
 * What the watcher knows of each standby (its levels, its replay track,
 * when it was last seen) lives in the worker only.  At the first round on
 * a primary it is seeded from the open "ha" alerts, so a worker that
 * restarted neither raises them again nor forgets a missing standby.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "common/config.h"
#include "ha/ha_state.h"
#include "ha/ha_watch_internal.h"
#include "ops/alert.h"
#include "ops/duty.h"
#include "pg_dr.h"
#include "pitr/pitr.h"

/* after a failed round, not again before this long */
#define HA_WATCH_RETRY_MS		5000
/* without HA configured, the file is looked at again after this long */
#define HA_WATCH_OFF_POLL_MS	10000
/* standbys the watcher remembers (present and missing) */
#define HA_WATCH_PEER_MAX		(2 * HA_WATCH_STANDBY_MAX)
#define HA_WATCH_SOURCE			"ha"
#define MS						((int64) 1000)

/* The settings the watcher uses, from the configuration file. */
typedef struct HaWatchSettings
{
	bool		on;				/* HA is configured */
	char		node[HA_WATCH_NAME_MAX];
	int			intervalMs;
	int			historyIntervalS;
	int			historyKeep;
	int64		lagBytes;		/* resolved: 0 = off */
	int			lagTimeMs;		/* -1: the tier's RPO */
	int			synchronous;	/* -1: the tier decides */
} HaWatchSettings;

/* One standby as the primary's watcher remembers it. */
typedef struct HaWatchPeer
{
	bool		used;
	char		name[HA_WATCH_NAME_MAX];
	TimestampTz lastSeen;
	HaWatchReplayTrack track;
	HaWatchLevel bytesLevel;
	HaWatchLevel timeLevel;
	HaWatchLevel missingLevel;
	bool		present;		/* in this round's sample */
	HaWatchSample last;			/* its row of this round, when present */
	/* the worst since the last history row */
	int64		worstReplayLagBytes;
	int64		worstReplayDelayMs;
} HaWatchPeer;

/* One alert to write, and the level it moves once written. */
typedef struct HaWatchAlertWrite
{
	HaWatchAct	act;
	char		key[ALERT_KEY_MAX];
	AlertSeverity severity;
	char		message[ALERT_MESSAGE_MAX];
	double		value;
	double		threshold;
	HaWatchLevel *level;
} HaWatchAlertWrite;

/* What one round's sampling transaction hands back. */
typedef struct HaWatchRound
{
	bool		primary;
	bool		installed;		/* pg_dr's tables exist in this database */
	int			count;
	int			more;			/* walsenders beyond HA_WATCH_STANDBY_MAX */
	HaWatchSample rows[HA_WATCH_STANDBY_MAX];
	int64		rpoMs;			/* the tier's RPO; 0 unknown */
	char		syncCurrent[HA_WATCH_SYNC_VALUE_MAX];
	bool		syncInAutoConf; /* syncCurrent is from postgresql.auto.conf */
} HaWatchRound;

static HaWatchSettings watch;
static bool watchConfigKnown = false;	/* watch is from a file read */
static char watchConfigPath[MAXPGPATH];
static struct timespec watchConfigMtime;
static off_t watchConfigSize = -1;
static char watchConfigError[256] = "";

static TimestampTz watchLastRun = 0;
static TimestampTz watchLastHistory = 0;
static bool watchPublishedRows = false;

static HaWatchPeer peers[HA_WATCH_PEER_MAX];
static bool peersSeeded = false;
static HaWatchLevel syncLevel = HA_WATCH_UNKNOWN;
static TimestampTz syncLastHealthy = 0; /* 0: not yet looked */
static char syncWritten[HA_WATCH_SYNC_VALUE_MAX];
static bool syncWrittenKnown = false;
/* reset from this value, until the reload shows it to this process too */
static char syncResetFrom[HA_WATCH_SYNC_VALUE_MAX];
static bool syncResetPending = false;
/* the administrator's value last said to be left alone ("": none) */
static char syncForeignSaid[HA_WATCH_SYNC_VALUE_MAX];
static bool syncFencedSaid = false;

/* standby side */
static HaWatchReplayTrack ownTrack;
static char ownPauseState[32] = "";

static HaWatchAlertWrite *alertWrites = NULL;
static int	alertWriteCount = 0;

/*
 * 1. The settings: the file is parsed again only when its path, size or
 * modification time changed.  A file that cannot be read turns the
 * watcher off, said once per problem.
 */
static void
haWatchSettingsRead(void)
{
	struct stat st;
	DrConfig   *config;
	DrError		err;
	MemoryContext cxt;
	MemoryContext old;

	if (drConfigFile == NULL || drConfigFile[0] == '\0')
	{
		memset(&watch, 0, sizeof(watch));
		watchConfigKnown = false;
		return;
	}
	if (stat(drConfigFile, &st) == 0 && watchConfigKnown &&
		strcmp(watchConfigPath, drConfigFile) == 0 &&
		st.st_size == watchConfigSize &&
		st.st_mtim.tv_sec == watchConfigMtime.tv_sec &&
		st.st_mtim.tv_nsec == watchConfigMtime.tv_nsec)
		return;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_dr lag watcher settings",
								ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(cxt);
	drErrorClear(&err);
	config = configLoad(drConfigFile, &err);
	MemoryContextSwitchTo(old);
	memset(&watch, 0, sizeof(watch));
	if (config == NULL)
	{
		if (strncmp(watchConfigError, err.message, sizeof(watchConfigError) - 1) != 0)
		{
			strlcpy(watchConfigError, err.message, sizeof(watchConfigError));
			ereport(WARNING,
					(errmsg("pg_dr lag watcher: %s", err.message),
					 err.hint[0] ? errhint("%s", err.hint) : 0,
					 errdetail("Replication is not watched until the configuration is valid.")));
		}
		watchConfigKnown = false;
		MemoryContextDelete(cxt);
		return;
	}
	watchConfigError[0] = '\0';
	/* a witness has no replication of the cluster's to watch */
	if (config->ha.configured && !config->ha.witness)
	{
		watch.on = true;
		strlcpy(watch.node, config->ha.nodeName, sizeof(watch.node));
		watch.intervalMs = config->ha.watchIntervalMs;
		watch.historyIntervalS = config->ha.watchHistoryIntervalS;
		watch.historyKeep = config->ha.watchHistoryKeep;
		watch.lagBytes = config->ha.lagAlertBytes >= 0 ?
			config->ha.lagAlertBytes : config->ha.maxFailoverLag;
		watch.lagTimeMs = config->ha.lagAlertTimeMs;
		watch.synchronous = config->ha.synchronous;
	}
	strlcpy(watchConfigPath, drConfigFile, sizeof(watchConfigPath));
	watchConfigSize = st.st_size;
	watchConfigMtime = st.st_mtim;
	watchConfigKnown = true;
	MemoryContextDelete(cxt);
}

/* Whether synchronous mode is on: the setting, else the tier's default. */
static bool
haWatchSyncOn(void)
{
	if (watch.synchronous >= 0)
		return watch.synchronous == 1;
	return haWatchSyncDefault(drTierName(drTier));
}

/* SPI helpers for the sampling query's columns. */
static char *
haWatchText(HeapTuple tup, TupleDesc desc, int col)
{
	char	   *v = SPI_getvalue(tup, desc, col);

	return v ? v : "";
}

static XLogRecPtr
haWatchLsn(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	return isnull ? InvalidXLogRecPtr : DatumGetLSN(d);
}

static int64
haWatchInt8(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	return isnull ? -1 : Max(DatumGetInt64(d), 0);
}

/* An interval column as milliseconds: SQL text of it, qualified. */
#define HA_WATCH_MS(expr) \
	"(pg_catalog.date_part('epoch', " expr ") OPERATOR(pg_catalog.*) " \
	"1000::pg_catalog.float8)::pg_catalog.int8"

/* The tier's RPO in milliseconds (0 when unknown), as pitr.c reads it. */
static int64
haWatchRpoMs(void)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	bool		isnull;
	Datum		ms;

	values[0] = CStringGetTextDatum(drTierName(drTier));
	if (SPI_execute_with_args("SELECT " HA_WATCH_MS("o.rpo")
							  " FROM pgdr.objectives o WHERE o.tier OPERATOR(pg_catalog.=) $1",
							  1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		return 0;
	ms = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt64(ms);
}

/*
 * 2. A primary's sample: one row per standby, a walsender that reports a
 * replay position.  Not standbys: a base backup ('backup'), the WAL
 * stream of pg_basebackup and pg_receivewal (they never replay: no
 * replay_lsn), logical replication (a logical slot).
 */
static void
haWatchSamplePrimary(HaWatchRound *round, TimestampTz now)
{
	uint64		rows;

	if (SPI_execute("SELECT r.application_name, "
					"pg_catalog.host(r.client_addr), r.state, r.sync_state, "
					"r.sent_lsn, r.write_lsn, r.flush_lsn, r.replay_lsn, "
					"pg_catalog.pg_wal_lsn_diff(c.lsn, r.write_lsn)::pg_catalog.int8, "
					"pg_catalog.pg_wal_lsn_diff(c.lsn, r.flush_lsn)::pg_catalog.int8, "
					"pg_catalog.pg_wal_lsn_diff(c.lsn, r.replay_lsn)::pg_catalog.int8, "
					HA_WATCH_MS("r.write_lag") ", "
					HA_WATCH_MS("r.flush_lag") ", "
					HA_WATCH_MS("r.replay_lag")
					" FROM pg_catalog.pg_stat_replication r, "
					"(SELECT pg_catalog.pg_current_wal_lsn() AS lsn) c "
					"WHERE r.state OPERATOR(pg_catalog.<>) 'backup' "
					"AND r.replay_lsn IS NOT NULL "
					"AND NOT EXISTS (SELECT FROM pg_catalog.pg_replication_slots l "
					"WHERE l.active_pid OPERATOR(pg_catalog.=) r.pid "
					"AND l.slot_type OPERATOR(pg_catalog.=) 'logical') "
					"ORDER BY r.application_name, r.pid",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_stat_replication");
	rows = SPI_processed;
	for (uint64 i = 0; i < rows; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		HaWatchSample *s;

		if (round->count >= HA_WATCH_STANDBY_MAX)
		{
			round->more++;
			continue;
		}
		s = &round->rows[round->count++];
		memset(s, 0, sizeof(*s));
		s->sampledAt = now;
		s->primary = true;
		strlcpy(s->node, watch.node, sizeof(s->node));
		strlcpy(s->name, haWatchText(tup, desc, 1), sizeof(s->name));
		strlcpy(s->address, haWatchText(tup, desc, 2), sizeof(s->address));
		strlcpy(s->state, haWatchText(tup, desc, 3), sizeof(s->state));
		strlcpy(s->syncState, haWatchText(tup, desc, 4), sizeof(s->syncState));
		s->sentLsn = haWatchLsn(tup, desc, 5);
		s->writeLsn = haWatchLsn(tup, desc, 6);
		s->flushLsn = haWatchLsn(tup, desc, 7);
		s->replayLsn = haWatchLsn(tup, desc, 8);
		s->writeLagBytes = haWatchInt8(tup, desc, 9);
		s->flushLagBytes = haWatchInt8(tup, desc, 10);
		s->replayLagBytes = haWatchInt8(tup, desc, 11);
		s->writeLagMs = haWatchInt8(tup, desc, 12);
		s->flushLagMs = haWatchInt8(tup, desc, 13);
		s->replayLagMs = haWatchInt8(tup, desc, 14);
		s->replayTimestampLagMs = -1;
	}
}

/* 2. A standby's sample: its WAL receiver and replay, one row. */
static void
haWatchSampleStandby(HaWatchRound *round, TimestampTz now)
{
	HeapTuple	tup;
	TupleDesc	desc;
	HaWatchSample *s = &round->rows[0];
	char	   *host;
	char	   *port;

	if (SPI_execute("SELECT w.status, w.sender_host, w.sender_port::pg_catalog.text, "
					"w.written_lsn, pg_catalog.pg_last_wal_receive_lsn(), "
					"pg_catalog.pg_last_wal_replay_lsn(), "
					"pg_catalog.pg_get_wal_replay_pause_state(), "
					HA_WATCH_MS("pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) "
								"pg_catalog.pg_last_xact_replay_timestamp()")
					" FROM (SELECT 1) x LEFT JOIN pg_catalog.pg_stat_wal_receiver w ON true",
					true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read pg_stat_wal_receiver");
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	memset(s, 0, sizeof(*s));
	round->count = 1;
	s->sampledAt = now;
	s->primary = false;
	strlcpy(s->node, watch.node, sizeof(s->node));
	strlcpy(s->name, watch.node, sizeof(s->name));
	strlcpy(s->state, haWatchText(tup, desc, 1), sizeof(s->state));
	host = haWatchText(tup, desc, 2);
	port = haWatchText(tup, desc, 3);
	if (host[0])
		snprintf(s->address, sizeof(s->address), "%s:%s", host, port);
	s->writeLsn = haWatchLsn(tup, desc, 4);
	s->sentLsn = haWatchLsn(tup, desc, 5);	/* received */
	s->flushLsn = s->sentLsn;
	s->replayLsn = haWatchLsn(tup, desc, 6);
	strlcpy(s->pauseState, haWatchText(tup, desc, 7), sizeof(s->pauseState));
	s->replayTimestampLagMs = haWatchInt8(tup, desc, 8);
	s->writeLagBytes = s->flushLagBytes = -1;
	s->replayLagBytes = s->sentLsn != InvalidXLogRecPtr && s->replayLsn != InvalidXLogRecPtr ?
		(s->sentLsn > s->replayLsn ? (int64) (s->sentLsn - s->replayLsn) : 0) : -1;
	s->writeLagMs = s->flushLagMs = s->replayLagMs = -1;
}

static HaWatchPeer *
haWatchPeerFind(const char *name, bool create)
{
	HaWatchPeer *free = NULL;

	for (int i = 0; i < HA_WATCH_PEER_MAX; i++)
	{
		if (peers[i].used && strcmp(peers[i].name, name) == 0)
			return &peers[i];
		if (!peers[i].used && free == NULL)
			free = &peers[i];
	}
	if (!create || free == NULL)
		return NULL;
	memset(free, 0, sizeof(*free));
	free->used = true;
	strlcpy(free->name, name, sizeof(free->name));
	/* after the seeding, nothing of it is open: its levels are clear */
	free->bytesLevel = free->timeLevel = free->missingLevel = HA_WATCH_CLEAR;
	free->worstReplayLagBytes = free->worstReplayDelayMs = -1;
	return free;
}

/*
 * The first round on a primary: the open "ha" alerts say which levels are
 * raised (a worker that restarted), and which standbys were missing.
 */
static void
haWatchSeed(TimestampTz now)
{
	uint64		rows;

	if (SPI_execute("SELECT a.key, a.raised_at FROM pgdr.alerts a "
					"WHERE a.source OPERATOR(pg_catalog.=) 'ha' "
					"AND a.resolved_at IS NULL", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the open pg_dr alerts");
	rows = SPI_processed;
	for (uint64 i = 0; i < rows; i++)
	{
		char	   *key = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		bool		isnull;
		TimestampTz raisedAt = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[i],
																 SPI_tuptable->tupdesc, 2,
																 &isnull));
		char	   *colon = key ? strchr(key, ':') : NULL;
		HaWatchPeer *peer;

		if (key != NULL && strcmp(key, "synchronous_no_standby") == 0)
		{
			syncLevel = HA_WATCH_RAISED;
			continue;
		}
		if (colon == NULL)
			continue;
		*colon = '\0';
		peer = haWatchPeerFind(colon + 1, true);
		if (peer == NULL)
			continue;
		if (peer->lastSeen == 0)
			peer->lastSeen = now;
		if (strcmp(peer->name, watch.node) == 0)
		{
			/*
			 * An alert about this node as a standby, raised by the primary
			 * it followed before it was promoted: forgotten at once, which
			 * resolves it (haWatchPeersDecide).
			 */
			peer->lastSeen = now - HA_WATCH_FORGET_MS * MS;
		}
		if (strcmp(key, "replication_lag_bytes") == 0)
			peer->bytesLevel = HA_WATCH_RAISED;
		else if (strcmp(key, "replication_lag_time") == 0)
			peer->timeLevel = HA_WATCH_RAISED;
		else if (strcmp(key, "standby_missing") == 0)
		{
			peer->missingLevel = HA_WATCH_RAISED;
			/* missing since at least the grace before it was raised */
			peer->lastSeen = Min(peer->lastSeen,
								 raisedAt - HA_WATCH_MISSING_GRACE_MS * MS);
		}
	}
	if (syncLevel == HA_WATCH_UNKNOWN)
		syncLevel = HA_WATCH_CLEAR;
	peersSeeded = true;
}

/*
 * Whether synchronous_standby_names is set in postgresql.auto.conf, where
 * pg_dr writes it (pg_settings.sourcefile, which the bootstrap superuser
 * the worker runs as may read).  A value from postgresql.conf is the
 * administrator's whatever its form.
 */
static void
haWatchSyncSource(HaWatchRound *round)
{
	char	   *file;
	const char *base;

	if (SPI_execute("SELECT s.sourcefile FROM pg_catalog.pg_settings s "
					"WHERE s.name OPERATOR(pg_catalog.=) 'synchronous_standby_names'",
					true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_settings");
	round->syncInAutoConf = false;
	if (SPI_processed != 1)
		return;
	file = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (file == NULL)
		return;
	base = strrchr(file, '/');
	base = base ? base + 1 : file;
	round->syncInAutoConf = strcmp(base, PG_AUTOCONF_FILENAME) == 0;
}

/* The sampling step: one read-only transaction. */
static void
haWatchSampleStep(void *arg)
{
	HaWatchRound *round = arg;
	TimestampTz now = GetCurrentTimestamp();

	round->primary = !RecoveryInProgress();
	round->installed = OidIsValid(get_extension_oid("pg_dr", true));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (round->primary)
	{
		haWatchSamplePrimary(round, now);
		haWatchSyncSource(round);
		if (round->installed)
		{
			round->rpoMs = haWatchRpoMs();
			if (!peersSeeded)
				haWatchSeed(now);
		}
	}
	else
		haWatchSampleStandby(round, now);
	SPI_finish();
	strlcpy(round->syncCurrent,
			GetConfigOption("synchronous_standby_names", false, false),
			sizeof(round->syncCurrent));
}

/* Queue an alert write for this round. */
static void haWatchAlertAdd(HaWatchAct act, HaWatchLevel *level, AlertSeverity severity,
							double value, double threshold, const char *keyFmt,
							const char *name, const char *fmt,...) pg_attribute_printf(8, 9);

static void
haWatchAlertAdd(HaWatchAct act, HaWatchLevel *level, AlertSeverity severity,
				double value, double threshold, const char *keyFmt,
				const char *name, const char *fmt,...)
{
	HaWatchAlertWrite *w;
	va_list		ap;

	if (act == HA_WATCH_NONE)
		return;
	if (alertWrites == NULL)
		alertWrites = MemoryContextAllocZero(TopMemoryContext,
											 sizeof(HaWatchAlertWrite) * (3 * HA_WATCH_PEER_MAX + 1));
	w = &alertWrites[alertWriteCount++];
	memset(w, 0, sizeof(*w));
	w->act = act;
	w->level = level;
	w->severity = severity;
	w->value = value;
	w->threshold = threshold;
	snprintf(w->key, sizeof(w->key), keyFmt, name);
	va_start(ap, fmt);
	vsnprintf(w->message, sizeof(w->message), fmt, ap);
	va_end(ap);
}

/* The alert step: every queued write, in one transaction. */
static void
haWatchAlertStep(void *arg)
{
	for (int i = 0; i < alertWriteCount; i++)
	{
		HaWatchAlertWrite *w = &alertWrites[i];

		if (w->act == HA_WATCH_RAISE)
		{
			AlertRaise	r = {
				.source = HA_WATCH_SOURCE,
				.key = w->key,
				.severity = w->severity,
				.message = w->message,
				.hasValue = true,
				.value = w->value,
				.hasThreshold = true,
				.threshold = w->threshold,
			};

			(void) alertRaise(&r);
		}
		else
			alertResolve(HA_WATCH_SOURCE, w->key);
	}
}

/* 3. Per standby: replay delay, worst values, threshold and missing alerts. */
static void
haWatchPeersDecide(HaWatchRound *round, TimestampTz now)
{
	double		timeThresholdMs = watch.lagTimeMs >= 0 ? watch.lagTimeMs : round->rpoMs;
	const char *timeSetting = watch.lagTimeMs >= 0 ? "ha_lag_alert_time" : "the tier's RPO";

	for (int i = 0; i < HA_WATCH_PEER_MAX; i++)
		peers[i].present = false;

	for (int i = 0; i < round->count; i++)
	{
		HaWatchSample *s = &round->rows[i];
		HaWatchPeer *peer;

		if (s->name[0] == '\0')
			continue;
		peer = haWatchPeerFind(s->name, true);
		if (peer == NULL)
			continue;			/* more names than remembered: not watched */
		if (peer->present)
		{
			/* a second walsender of one name: the first one counts */
			s->replayDelayMs = haWatchReplayDelayMs(&peer->track, s->replayLsn,
													s->sentLsn, s->replayLagMs, now);
			continue;
		}
		peer->present = true;
		peer->lastSeen = now;
		s->replayDelayMs = haWatchReplayDelayMs(&peer->track, s->replayLsn,
												s->sentLsn, s->replayLagMs, now);
		peer->last = *s;
		peer->worstReplayLagBytes = Max(peer->worstReplayLagBytes, s->replayLagBytes);
		peer->worstReplayDelayMs = Max(peer->worstReplayDelayMs, s->replayDelayMs);

		haWatchAlertAdd(haWatchThreshold(peer->bytesLevel, s->replayLagBytes >= 0,
										 (double) s->replayLagBytes, (double) watch.lagBytes),
						&peer->bytesLevel, ALERT_WARNING,
						(double) s->replayLagBytes, (double) watch.lagBytes,
						"replication_lag_bytes:%s", s->name,
						"standby \"%s\" of primary \"%s\" has %lld bytes of WAL not replayed "
						"(replay position %X/%X), more than ha_lag_alert_bytes (%lld)",
						s->name, watch.node, (long long) s->replayLagBytes,
						LSN_FORMAT_ARGS(s->replayLsn), (long long) watch.lagBytes);
		haWatchAlertAdd(haWatchThreshold(peer->timeLevel, s->replayDelayMs >= 0,
										 (double) s->replayDelayMs, timeThresholdMs),
						&peer->timeLevel, ALERT_WARNING,
						s->replayDelayMs / 1000.0, timeThresholdMs / 1000.0,
						"replication_lag_time:%s", s->name,
						"standby \"%s\" of primary \"%s\" is %.1f s behind in replay "
						"(replayed up to %X/%X, sent up to %X/%X; when the replay position "
						"does not move, replay is paused or stuck: see "
						"pg_get_wal_replay_pause_state() on it); threshold %.1f s (%s)",
						s->name, watch.node, s->replayDelayMs / 1000.0,
						LSN_FORMAT_ARGS(s->replayLsn), LSN_FORMAT_ARGS(s->sentLsn),
						timeThresholdMs / 1000.0, timeSetting);
	}

	for (int i = 0; i < HA_WATCH_PEER_MAX; i++)
	{
		HaWatchPeer *peer = &peers[i];
		bool		forget;
		HaWatchAct	act;

		if (!peer->used)
			continue;
		act = haWatchMissing(peer->missingLevel, peer->present, peer->lastSeen, now,
							 HA_WATCH_MISSING_GRACE_MS, HA_WATCH_FORGET_MS, &forget);
		haWatchAlertAdd(act, &peer->missingLevel,
						ALERT_WARNING, (now - peer->lastSeen) / 1000000.0,
						HA_WATCH_MISSING_GRACE_MS / 1000.0,
						"standby_missing:%s", peer->name,
						peer->present ? "standby \"%s\" of primary \"%s\" is back" :
						"standby \"%s\" is gone from pg_stat_replication of primary \"%s\": "
						"no WAL is streamed to it",
						peer->name, watch.node);
		if (forget)
		{
			/* a day gone: what is still open about it is closed */
			haWatchAlertAdd(peer->bytesLevel == HA_WATCH_CLEAR ? HA_WATCH_NONE : HA_WATCH_RESOLVE,
							&peer->bytesLevel, ALERT_WARNING, 0, 0,
							"replication_lag_bytes:%s", peer->name, "forgotten");
			haWatchAlertAdd(peer->timeLevel == HA_WATCH_CLEAR ? HA_WATCH_NONE : HA_WATCH_RESOLVE,
							&peer->timeLevel, ALERT_WARNING, 0, 0,
							"replication_lag_time:%s", peer->name, "forgotten");
			if (strcmp(peer->name, watch.node) == 0)
				ereport(LOG,
						(errmsg("pg_dr lag watcher: this node is the primary now: the alerts about it as a standby are resolved")));
			else
				ereport(LOG,
						(errmsg("pg_dr lag watcher: standby \"%s\" forgotten: not seen since %s",
								peer->name, timestamptz_to_str(peer->lastSeen))));
			peer->used = false;
		}
	}
}

/* 3. Synchronous mode: the set, written when it changes; the alert. */
static void
haWatchSyncDecideRound(HaWatchRound *round, HaWatchSyncResult *result,
					   TimestampTz now)
{
	HaWatchStandby standbys[HA_WATCH_STANDBY_MAX];
	HaWatchSyncInput in;
	bool		on = haWatchSyncOn();
	HaWatchAct	act;
	bool		forget;

	for (int i = 0; i < round->count; i++)
	{
		standbys[i].name = round->rows[i].name;
		standbys[i].streaming = strcmp(round->rows[i].state, "streaming") == 0;
		standbys[i].flushLagBytes = round->rows[i].flushLagBytes;
	}
	memset(&in, 0, sizeof(in));
	in.on = on;
	in.standbys = standbys;
	in.count = round->count;
	in.maxLagBytes = watch.lagBytes;
	/* what we wrote, until the reload shows it to this process too */
	in.current = syncWrittenKnown ? syncWritten : round->syncCurrent;
	in.currentInAutoConf = syncWrittenKnown || round->syncInAutoConf;
	if (syncResetPending && !syncWrittenKnown &&
		strcmp(round->syncCurrent, syncResetFrom) == 0 && round->syncInAutoConf)
		in.current = "";		/* reset, the reload not seen yet */
	else
		syncResetPending = false;

	/*
	 * A node that is fenced, or does not hold its licence to be primary
	 * now, writes no synchronous_standby_names: it may be no primary of
	 * the cluster's, the write guard would refuse the audit record, and
	 * the file, which is not transactional, would keep the value into the
	 * node's next life as a standby.
	 */
	in.fenced = !haGuardHolds();
	if (in.fenced != syncFencedSaid)
	{
		syncFencedSaid = in.fenced;
		if (in.fenced)
			ereport(LOG,
					(errmsg("pg_dr lag watcher: this node is fenced or does not hold its licence to be primary now: synchronous_standby_names stays '%s' until it does",
							in.current)));
	}
	haWatchSyncDecide(&in, result);
	if (result->foreign)
	{
		if (strcmp(syncForeignSaid, in.current) != 0)
		{
			strlcpy(syncForeignSaid, in.current, sizeof(syncForeignSaid));
			ereport(LOG,
					(errmsg("pg_dr lag watcher: synchronous mode is off; synchronous_standby_names = '%s' was not written by pg_dr (%s): left alone",
							in.current,
							in.currentInAutoConf ? "not of the form ANY 1 (\"name\", ...) it writes" :
							"it is not set in postgresql.auto.conf"),
					 errhint("Commits wait for the standbys it names; to stop that, ALTER SYSTEM RESET synchronous_standby_names (or remove it from postgresql.conf) and SELECT pg_reload_conf().")));
		}
	}
	else
		syncForeignSaid[0] = '\0';
	if (result->left > 0 && result->action == HA_WATCH_SYNC_SET)
		ereport(WARNING,
				(errmsg("pg_dr lag watcher: %d healthy standbys do not fit in synchronous_standby_names",
						result->left)));

	/*
	 * The alert, when no standby has been healthy for the grace of a
	 * missing standby: standbys reconnecting after a restart of the
	 * primary take a moment, and that is no emergency.
	 */
	if (!on || !result->noneHealthy || syncLastHealthy == 0)
		syncLastHealthy = now;
	act = haWatchMissing(syncLevel, !on || !result->noneHealthy, syncLastHealthy, now,
						 HA_WATCH_MISSING_GRACE_MS, PG_INT64_MAX / MS, &forget);
	if (act == HA_WATCH_RESOLVE)
		haWatchAlertAdd(act, &syncLevel, ALERT_CRITICAL, 0, 0, "synchronous_no_standby%s", "",
						"resolved");
	else if (act == HA_WATCH_RAISE)
	{
		if (in.current[0] != '\0')
			haWatchAlertAdd(HA_WATCH_RAISE, &syncLevel, ALERT_CRITICAL, 0, 1,
							"synchronous_no_standby%s", "",
							"synchronous mode: no standby of primary \"%s\" is healthy; "
							"synchronous_standby_names stays '%s', so commits wait until one "
							"of those standbys is back (none acknowledged is lost)",
							watch.node, in.current);
		else
			haWatchAlertAdd(HA_WATCH_RAISE, &syncLevel, ALERT_CRITICAL, 0, 1,
							"synchronous_no_standby%s", "",
							"synchronous mode: no standby of primary \"%s\" has been healthy "
							"yet; synchronous_standby_names is empty, so commits do not wait "
							"and are on no standby",
							watch.node);
	}
}

typedef struct HaWatchSyncArgs
{
	const char *value;
	const char *previous;
	const char *reason;
} HaWatchSyncArgs;

static void
haWatchSyncStep(void *arg)
{
	HaWatchSyncArgs *a = arg;

	haWatchSyncWrite(a->value, a->previous, a->reason);
}

/* 4. History: one row per standby remembered, then the pruning. */
static void
haWatchHistoryStep(void *arg)
{
	TimestampTz now = *(TimestampTz *) arg;
	Oid			types[19] = {TIMESTAMPTZOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
		TEXTOID, PG_LSNOID, PG_LSNOID, PG_LSNOID, PG_LSNOID, INT8OID, INT8OID,
	INT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, INT8OID, FLOAT8OID};
	Oid			pruneTypes[2] = {INT4OID, INT4OID};
	Datum		prune[2];

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	for (int i = 0; i < HA_WATCH_PEER_MAX; i++)
	{
		HaWatchPeer *p = &peers[i];
		const HaWatchSample *s = &p->last;
		Datum		v[19];
		char		n[19];

		if (!p->used)
			continue;
		memset(n, ' ', sizeof(n));
		v[0] = TimestampTzGetDatum(now);
		v[1] = CStringGetTextDatum(watch.node);
		v[2] = CStringGetTextDatum(p->name);
		if (!p->present)
		{
			/* missing: its name and state only */
			memset(n + 3, 'n', sizeof(n) - 3);
			v[4] = CStringGetTextDatum("missing");
			n[4] = ' ';
		}
		else
		{
			v[3] = CStringGetTextDatum(s->address);
			n[3] = s->address[0] ? ' ' : 'n';
			v[4] = CStringGetTextDatum(s->state);
			v[5] = CStringGetTextDatum(s->syncState);
			v[6] = LSNGetDatum(s->sentLsn);
			v[7] = LSNGetDatum(s->writeLsn);
			v[8] = LSNGetDatum(s->flushLsn);
			v[9] = LSNGetDatum(s->replayLsn);
			for (int c = 6; c <= 9; c++)
				n[c] = DatumGetLSN(v[c]) == InvalidXLogRecPtr ? 'n' : ' ';
			v[10] = Int64GetDatum(s->writeLagBytes);
			v[11] = Int64GetDatum(s->flushLagBytes);
			v[12] = Int64GetDatum(s->replayLagBytes);
			v[13] = Float8GetDatum(s->writeLagMs / 1000.0);
			v[14] = Float8GetDatum(s->flushLagMs / 1000.0);
			v[15] = Float8GetDatum(s->replayLagMs / 1000.0);
			v[16] = Float8GetDatum(s->replayDelayMs / 1000.0);
			n[10] = s->writeLagBytes < 0 ? 'n' : ' ';
			n[11] = s->flushLagBytes < 0 ? 'n' : ' ';
			n[12] = s->replayLagBytes < 0 ? 'n' : ' ';
			n[13] = s->writeLagMs < 0 ? 'n' : ' ';
			n[14] = s->flushLagMs < 0 ? 'n' : ' ';
			n[15] = s->replayLagMs < 0 ? 'n' : ' ';
			n[16] = s->replayDelayMs < 0 ? 'n' : ' ';
			v[17] = Int64GetDatum(p->worstReplayLagBytes);
			v[18] = Float8GetDatum(p->worstReplayDelayMs / 1000.0);
			n[17] = p->worstReplayLagBytes < 0 ? 'n' : ' ';
			n[18] = p->worstReplayDelayMs < 0 ? 'n' : ' ';
		}
		if (SPI_execute_with_args("INSERT INTO pgdr.replication_history (sampled_at, node, "
								  "standby, client_addr, state, sync_state, sent_lsn, write_lsn, "
								  "flush_lsn, replay_lsn, write_lag_bytes, flush_lag_bytes, "
								  "replay_lag_bytes, write_lag, flush_lag, replay_lag, "
								  "replay_delay, worst_replay_lag_bytes, worst_replay_delay) "
								  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
								  "pg_catalog.make_interval(0, 0, 0, 0, 0, 0, $14), "
								  "pg_catalog.make_interval(0, 0, 0, 0, 0, 0, $15), "
								  "pg_catalog.make_interval(0, 0, 0, 0, 0, 0, $16), "
								  "pg_catalog.make_interval(0, 0, 0, 0, 0, 0, $17), $18, "
								  "pg_catalog.make_interval(0, 0, 0, 0, 0, 0, $19))",
								  19, types, v, n, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not insert into pgdr.replication_history");
	}

	prune[0] = Int32GetDatum(watch.historyKeep);
	prune[1] = Int32GetDatum(HA_WATCH_HISTORY_DAYS);
	if (SPI_execute_with_args("DELETE FROM pgdr.replication_history h "
							  "WHERE h.sampled_at OPERATOR(pg_catalog.<) (pg_catalog.now() "
							  "OPERATOR(pg_catalog.-) pg_catalog.make_interval(0, 0, 0, $2)) "
							  "OR h.id OPERATOR(pg_catalog.<=) (SELECT x.id FROM "
							  "pgdr.replication_history x ORDER BY x.id DESC OFFSET $1 LIMIT 1)",
							  2, pruneTypes, prune, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not prune pgdr.replication_history");
	SPI_finish();
}

/* The primary's round after its sample. */
static bool
haWatchPrimaryRound(HaWatchRound *round, TimestampTz now)
{
	HaWatchSyncResult sync;
	bool		ok = true;

	alertWriteCount = 0;
	haWatchPeersDecide(round, now);
	haWatchSyncDecideRound(round, &sync, now);
	haWatchPublish(round->rows, round->count);
	watchPublishedRows = true;

	if (alertWriteCount > 0)
	{
		if (dutyXactRun("pg_dr: raising replication alerts", haWatchAlertStep, NULL))
		{
			for (int i = 0; i < alertWriteCount; i++)
				*alertWrites[i].level = alertWrites[i].act == HA_WATCH_RAISE ?
					HA_WATCH_RAISED : HA_WATCH_CLEAR;
		}
		else
			ok = false;
	}

	if (sync.action == HA_WATCH_SYNC_RESET)
	{
		HaWatchSyncArgs args;
		const char *previous = syncWrittenKnown ? syncWritten : round->syncCurrent;

		args.value = NULL;
		args.previous = previous;
		args.reason = "synchronous mode is off, and the value is the set pg_dr wrote while it was on "
			"(here, or on the primary this node's postgresql.auto.conf came from)";
		if (dutyXactRun("pg_dr: resetting synchronous_standby_names", haWatchSyncStep, &args))
		{
			strlcpy(syncResetFrom, previous, sizeof(syncResetFrom));
			syncResetPending = true;
			syncWrittenKnown = false;
		}
		else
			ok = false;
	}
	else if (sync.action == HA_WATCH_SYNC_SET)
	{
		HaWatchSyncArgs args;
		char		reason[256];
		const char *previous = syncWrittenKnown ? syncWritten : round->syncCurrent;

		snprintf(reason, sizeof(reason), "synchronous mode: the healthy standbys are %d of %d",
				 sync.healthy, round->count);
		args.value = sync.value;
		args.previous = previous;
		args.reason = reason;
		if (dutyXactRun("pg_dr: setting synchronous_standby_names", haWatchSyncStep, &args))
		{
			strlcpy(syncWritten, sync.value, sizeof(syncWritten));
			syncWrittenKnown = true;
			syncResetPending = false;
		}
		else
			ok = false;
	}
	else if (syncWrittenKnown && strcmp(round->syncCurrent, syncWritten) == 0)
		syncWrittenKnown = false;	/* the reload shows it: read it again */

	if (watch.historyIntervalS > 0 &&
		now - watchLastHistory >= (int64) watch.historyIntervalS * USECS_PER_SEC)
	{
		if (dutyXactRun("pg_dr: writing the replication history", haWatchHistoryStep, &now))
		{
			watchLastHistory = now;
			for (int i = 0; i < HA_WATCH_PEER_MAX; i++)
				peers[i].worstReplayLagBytes = peers[i].worstReplayDelayMs = -1;
		}
		else
			ok = false;
	}
	return ok;
}

/* The standby's round after its sample: the pause state said in the log. */
static void
haWatchStandbyRound(HaWatchRound *round, TimestampTz now)
{
	HaWatchSample *s = &round->rows[0];

	s->replayDelayMs = haWatchReplayDelayMs(&ownTrack, s->replayLsn, s->sentLsn, -1, now);
	if (strcmp(ownPauseState, s->pauseState) != 0)
	{
		if (strcmp(s->pauseState, "not paused") != 0)
			ereport(LOG,
					(errmsg("pg_dr lag watcher: WAL replay on this standby is %s", s->pauseState),
					 errhint("SELECT pg_wal_replay_resume() resumes it; meanwhile the primary's "
							 "watcher sees the replay delay grow.")));
		else if (ownPauseState[0] != '\0')
			ereport(LOG, (errmsg("pg_dr lag watcher: WAL replay on this standby resumed")));
		strlcpy(ownPauseState, s->pauseState, sizeof(ownPauseState));
	}
	haWatchPublish(round->rows, round->count);
	watchPublishedRows = true;
}

static TimestampTz
haWatchNextDue(TimestampTz now, void *arg)
{
	haWatchSettingsRead();
	if (!watch.on)
		return watchLastRun == 0 || !watchPublishedRows ?
			TimestampTzPlusMilliseconds(watchLastRun, HA_WATCH_OFF_POLL_MS) : now;
	return TimestampTzPlusMilliseconds(watchLastRun, watch.intervalMs);
}

static bool
haWatchRun(TimestampTz now, void *arg)
{
	HaWatchRound *round;
	bool		ok;

	watchLastRun = now;
	if (!watch.on)
	{
		/* turned off: dr_replication says nothing any more */
		if (watchPublishedRows)
			haWatchPublish(NULL, 0);
		watchPublishedRows = false;
		return true;
	}

	round = palloc0(sizeof(HaWatchRound));
	if (!dutyXactRun(NULL, haWatchSampleStep, round))
	{
		pfree(round);
		return false;
	}
	if (round->more > 0)
		ereport(DEBUG1,
				(errmsg("pg_dr lag watcher: %d walsenders beyond the first %d are not watched",
						round->more, HA_WATCH_STANDBY_MAX)));
	if (round->primary)
	{
		memset(&ownTrack, 0, sizeof(ownTrack));
		ownPauseState[0] = '\0';
		if (!round->installed)
		{
			haWatchPublish(round->rows, round->count);
			watchPublishedRows = true;
			ok = true;
		}
		else
			ok = haWatchPrimaryRound(round, now);
	}
	else
	{
		haWatchStandbyRound(round, now);
		ok = true;
	}
	pfree(round);
	return ok;
}

void
haWatchDutiesRegister(void)
{
	dutyRegisterInRecovery("lag watcher", haWatchNextDue, haWatchRun, NULL,
						   HA_WATCH_RETRY_MS);
}
