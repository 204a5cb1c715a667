/*-------------------------------------------------------------------------
 * ha_watch_decide.h
 *	  The decisions of the lag watcher (ha/ha_watch.h), as pure functions:
 *	  when a threshold's alert is raised or resolved, how long replay has
 *	  made no progress, when a standby gone from pg_stat_replication is
 *	  missing and when it is forgotten, and what synchronous_standby_names
 *	  pg_dr writes in synchronous mode.  Compiled into the CLI build too,
 *	  for the unit tests (test/unit/test_ha_watch_decide.c); the watcher
 *	  gathers the inputs and carries the decisions out.
 *-------------------------------------------------------------------------
 */
#ifndef DR_HA_WATCH_DECIDE_H
#define DR_HA_WATCH_DECIDE_H

#include "access/xlogdefs.h"
#include "datatype/timestamp.h"

/* What the watcher knows of one alert of its own. */
typedef enum HaWatchLevel
{
	HA_WATCH_UNKNOWN = 0,		/* not decided since the worker started: an
								 * alert of an earlier worker may be open */
	HA_WATCH_CLEAR,				/* resolved (or never raised) by us */
	HA_WATCH_RAISED				/* raised by us and not resolved since */
} HaWatchLevel;

typedef enum HaWatchAct
{
	HA_WATCH_NONE,				/* write nothing */
	HA_WATCH_RAISE,				/* alertRaise, then the level is RAISED */
	HA_WATCH_RESOLVE			/* alertResolve, then the level is CLEAR */
} HaWatchAct;

/*
 * A raised threshold alert resolves once the value is at most this
 * percentage of the threshold, so that a value hovering around the
 * threshold does not raise and resolve every sample.
 */
#define HA_WATCH_RESOLVE_PERCENT	80

/*
 * A threshold: value above threshold raises; at most
 * HA_WATCH_RESOLVE_PERCENT of it resolves; in between nothing changes
 * (UNKNOWN resolves, so that an alert a previous worker left open does
 * not stay open for a value below the threshold).  threshold <= 0 means
 * the threshold is off: resolves.  !known (no value in this sample):
 * nothing changes.
 */
extern HaWatchAct haWatchThreshold(HaWatchLevel level, bool known,
								   double value, double threshold);

/*
 * How long replay has made no progress while behind, per standby, from
 * one sample to the next.  replayLsn: what the standby replayed;
 * targetLsn: what it should have replayed (on a primary, what was sent to
 * it; on a standby, what it received).  track keeps the last replayed LSN
 * seen and since when it has not moved; zeroed for a new standby.
 */
typedef struct HaWatchReplayTrack
{
	XLogRecPtr	replayLsn;		/* last seen; InvalidXLogRecPtr: none yet */
	TimestampTz since;			/* when replayLsn was first seen */
} HaWatchReplayTrack;

/*
 * Returns the replay delay in milliseconds: 0 when the standby replayed
 * everything it should have, else the time since its replay position
 * last moved (at least reportedMs, PostgreSQL's own replay lag, when that
 * is known: >= 0).  -1 when replayLsn is unknown (the track is kept).
 */
extern int64 haWatchReplayDelayMs(HaWatchReplayTrack *track,
								  XLogRecPtr replayLsn, XLogRecPtr targetLsn,
								  int64 reportedMs, TimestampTz now);

/*
 * A standby that was streaming and is no longer in pg_stat_replication:
 * present resolves; absent for at least graceMs raises; absent for at
 * least forgetMs resolves and sets *forget (the watcher stops expecting
 * it).  lastSeen: the last sample that showed it.
 */
#define HA_WATCH_MISSING_GRACE_MS	(10 * 1000)
#define HA_WATCH_FORGET_MS			((int64) 24 * 3600 * 1000)
extern HaWatchAct haWatchMissing(HaWatchLevel level, bool present,
								 TimestampTz lastSeen, TimestampTz now,
								 int64 graceMs, int64 forgetMs, bool *forget);

/* One standby as the synchronous set sees it. */
typedef struct HaWatchStandby
{
	const char *name;			/* application_name; NULL or "" is skipped */
	bool		streaming;		/* state = 'streaming' */
	int64		flushLagBytes;	/* behind the primary's WAL; -1 unknown */
} HaWatchStandby;

/* The longest synchronous_standby_names pg_dr writes (bytes, with NUL). */
#define HA_WATCH_SYNC_VALUE_MAX		1024

typedef struct HaWatchSyncInput
{
	bool		on;				/* ha_synchronous in effect */
	bool		fenced;			/* this node is fenced, or does not hold its
								 * licence to be primary now: it writes
								 * nothing */
	const HaWatchStandby *standbys;
	int			count;
	int64		maxLagBytes;	/* healthy: flush lag at most this; 0: any */
	const char *current;		/* synchronous_standby_names in effect */
	bool		currentInAutoConf;	/* ... set in postgresql.auto.conf
									 * (where pg_dr writes it) */
} HaWatchSyncInput;

typedef enum HaWatchSyncAction
{
	HA_WATCH_SYNC_KEEP,			/* leave synchronous_standby_names alone */
	HA_WATCH_SYNC_SET,			/* write value */
	HA_WATCH_SYNC_RESET			/* reset it (ALTER SYSTEM RESET): off, and
								 * the value in effect is pg_dr's own */
} HaWatchSyncAction;

typedef struct HaWatchSyncResult
{
	HaWatchSyncAction action;
	char		value[HA_WATCH_SYNC_VALUE_MAX]; /* the set of the healthy ones;
												 * "" when none */
	int			healthy;		/* healthy standbys (in value) */
	bool		noneHealthy;	/* on, and no standby is healthy: the set
								 * in effect is kept, commits wait */
	int			left;			/* healthy ones that did not fit in value */
	bool		foreign;		/* off, and a value pg_dr did not write is
								 * in effect: left alone */
} HaWatchSyncResult;

/*
 * Synchronous mode on: the healthy standbys (streaming, a name, flush lag
 * known and at most maxLagBytes unless that is 0), sorted by name, each
 * once, as ANY 1 ("a", "b") with names quoted as identifiers; written
 * only when it differs from current.  With none healthy the setting in
 * effect is kept (commits keep waiting for the last set: none
 * acknowledged is lost) and noneHealthy says so.
 *
 * Off: a current value that pg_dr wrote (haWatchSyncIsOwn, and set in
 * postgresql.auto.conf) is reset, so that a primary does not wait for
 * standbys named while synchronous mode was on, by it or by the primary
 * whose postgresql.auto.conf it inherited; any other non-empty value is
 * the administrator's: kept, and foreign says so.
 *
 * Fenced (or without its licence): the action is always KEEP (such a
 * node may be no primary of the cluster's; what it would write would be
 * carried into its next life as a standby); value, healthy and
 * noneHealthy are what they would be.
 */
extern void haWatchSyncDecide(const HaWatchSyncInput *in,
							  HaWatchSyncResult *out);

/*
 * Whether value is of exactly the form haWatchSyncDecide writes: "ANY 1 ("
 * then one or more non-empty names, each in double quotes (a '"' inside
 * doubled), strictly ascending (strcmp of the names unquoted), separated
 * by ", ", then ")" and nothing else.
 */
extern bool haWatchSyncIsOwn(const char *value);

/* The default of ha_synchronous for a tier: on for critical, else off. */
extern bool haWatchSyncDefault(const char *tierName);

#endif							/* DR_HA_WATCH_DECIDE_H */
