/*-------------------------------------------------------------------------
 * ha_watch.h
 *	  The lag watcher: a duty of the pg_dr worker on every node of an HA
 *	  cluster (any ha_* setting in the configuration file), run every
 *	  ha_watch_interval, in recovery too (docs/ha.md, "The lag watcher").
 *
 * On a primary it samples pg_stat_replication, one row per walsender:
 * positions, lag in bytes and time, sync state.  On a standby it samples
 * its WAL receiver (status, received position, sender), its replay
 * position, whether replay is paused, and the replay timestamp lag.
 *
 * The samples go into a bounded ring in shared memory (HA_WATCH_RING
 * rows); the rows of the newest round are dr_replication.  A primary also
 * writes every ha_watch_history_interval one row per standby into
 * pgdr.replication_history (dr_replication_history), with the worst
 * replay lag the ring saw since the row before, and prunes that table to
 * ha_watch_history_keep rows and HA_WATCH_HISTORY_DAYS days.  A standby
 * cannot write: its samples are in its shared memory only, and what the
 * primary records about it replicates to it.
 *
 * Alerts (source "ha", through ops/alert.h) are raised by the primary,
 * which sees every standby: replay lag above ha_lag_alert_bytes or
 * ha_lag_alert_time (the watcher's replay delay, which grows while a
 * standby's replay is paused or stuck), a standby gone from
 * pg_stat_replication, and in synchronous mode no healthy standby.  A
 * standby logs the changes of its own replay pause state.  The decisions
 * are ha_watch_decide.h's; synchronous_standby_names is written by
 * ha_watch_sync.c.
 *-------------------------------------------------------------------------
 */
#ifndef DR_HA_WATCH_H
#define DR_HA_WATCH_H

#include "access/xlogdefs.h"
#include "datatype/timestamp.h"

/* rows of the ring; the newest round's rows are dr_replication */
#define HA_WATCH_RING			256
/* walsenders one round keeps (more are counted, not kept) */
#define HA_WATCH_STANDBY_MAX	32
/* history rows older than this are removed too */
#define HA_WATCH_HISTORY_DAYS	30
#define HA_WATCH_NAME_MAX		64

/* One row of dr_replication; -1 (lags, delays) or Invalid (LSNs): NULL. */
typedef struct HaWatchSample
{
	uint64		round;			/* the watcher's round that took it */
	TimestampTz sampledAt;
	bool		primary;		/* taken on a primary (a walsender) or on a
								 * standby (its own WAL receiver and replay) */
	char		node[HA_WATCH_NAME_MAX];	/* this node's ha_node_name */
	char		name[HA_WATCH_NAME_MAX];	/* primary: the standby's
											 * application_name; standby: its
											 * own node name */
	char		address[HA_WATCH_NAME_MAX]; /* primary: client_addr (empty:
											 * a Unix socket); standby: the
											 * sender, host:port */
	char		state[32];		/* walsender state; standby: WAL receiver
								 * status ("" when none runs) */
	char		syncState[16];	/* primary: sync_state */
	char		pauseState[32]; /* standby: pg_get_wal_replay_pause_state() */
	XLogRecPtr	sentLsn;		/* primary: sent; standby: received */
	XLogRecPtr	writeLsn;
	XLogRecPtr	flushLsn;
	XLogRecPtr	replayLsn;
	int64		writeLagBytes;	/* behind the primary's current WAL position
								 * (standby: behind what it received) */
	int64		flushLagBytes;
	int64		replayLagBytes;
	int64		writeLagMs;		/* pg_stat_replication's lag times */
	int64		flushLagMs;
	int64		replayLagMs;
	int64		replayDelayMs;	/* the watcher's: how long replay has not moved
								 * while behind (ha_watch_decide.h) */
	int64		replayTimestampLagMs;	/* standby: now - the last replayed
										 * commit's timestamp */
} HaWatchSample;

/* The newest round, copied out for dr_replication (palloc'd; may be 0). */
extern int	haWatchNow(HaWatchSample **samples);

/* Shared memory (the module's shmem hooks) and the worker's duty. */
#define HA_WATCH_LWLOCK_TRANCHE	"pg_dr replication"
extern void haWatchShmemRequest(void);
extern void haWatchShmemInit(void);
extern void haWatchDutiesRegister(void);

#endif							/* DR_HA_WATCH_H */
