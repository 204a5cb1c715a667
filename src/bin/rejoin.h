/*-------------------------------------------------------------------------
 * rejoin.h
 *	  The two halves of `pg_dr rejoin` (cmd_rejoin.c): the stopped data
 *	  directory (rejoin_local.c) and the new primary over libpq
 *	  (rejoin_source.c).  The decision between them is ha/ha_rejoin.h.
 *	  Each function that can fail returns false with *error (and *hint,
 *	  what to do, or NULL) palloc'd.
 *-------------------------------------------------------------------------
 */
#ifndef DR_BIN_REJOIN_H
#define DR_BIN_REJOIN_H

#include "libpq-fe.h"

#include "ha/ha_rejoin.h"

/* What the data directory's pg_control and history say. */
typedef struct RejoinLocal
{
	const char *pgdata;
	uint64		systemIdentifier;
	TimeLineID	tli;			/* of its last checkpoint */
	bool		cleanShutdown;
	const char *stateName;		/* "shut down", "in production", ... */
	XLogRecPtr	checkpoint;
	XLogRecPtr	minRecoveryPoint;
	bool		rewindable;		/* data checksums or wal_log_hints */
	HaTimeline *history;
	int			historyCount;
} RejoinLocal;

/*
 * Read pgdata: PostgreSQL 15's, no server running on it, pg_control and
 * the history of its timeline.
 */
extern bool rejoinLocalRead(const char *pgdata, RejoinLocal *local,
							char **error, char **hint);

/*
 * Make pgdata start as a standby of primaryConninfo: standby.signal, and
 * in postgresql.auto.conf primary_conninfo set (primary_slot_name
 * removed: a slot is the new primary's to give), each written durably.
 */
extern bool rejoinLocalStandbyWrite(const char *pgdata, const char *primaryConninfo,
									char **error, char **hint);

/*
 * This node's configuration files (postgresql.conf, postgresql.auto.conf,
 * pg_hba.conf, pg_ident.conf), kept while pg_rewind copies the source's
 * over them, then put back; a file that could not be read is left as
 * pg_rewind makes it.
 */
#define REJOIN_CONF_FILES	4
typedef struct RejoinConfSaved
{
	char	   *content[REJOIN_CONF_FILES];	/* NULL: not there */
} RejoinConfSaved;

extern void rejoinLocalConfSave(const char *pgdata, RejoinConfSaved *saved);
extern bool rejoinLocalConfRestore(const char *pgdata, const RejoinConfSaved *saved,
								   char **error);

/* The new primary, as found. */
typedef struct RejoinSource
{
	char	   *conninfo;		/* as given or registered */
	char	   *name;			/* its registered name, or NULL (--source) */
	PGconn	   *conn;
	char	   *schema;			/* pg_dr's schema, quoted; NULL if none */
	uint64		systemIdentifier;
	TimeLineID	tli;
	XLogRecPtr	flush;
	HaTimeline *history;
	int			historyCount;
} RejoinSource;

/*
 * Connect to conninfo and check it is a primary of the same system
 * (systemIdentifier); read its timeline, history and flush position, and
 * pg_dr's schema.  On failure the connection is closed.
 */
extern bool rejoinSourceOpen(RejoinSource *source, const char *conninfo,
							 uint64 systemIdentifier, char **error, char **hint);

/*
 * Find the primary among the registered nodes (pgdr.nodes, read through
 * registryConninfo), skipping self (this node's ha_node_name, may be
 * NULL), and open it as rejoinSourceOpen does.  Exactly one registered
 * node must answer as a primary of this system.
 */
extern bool rejoinSourceFind(RejoinSource *source, const char *registryConninfo,
							 const char *self, uint64 systemIdentifier,
							 char **error, char **hint);

/* CHECKPOINT on the source, so that its pg_control names its timeline. */
extern bool rejoinSourceCheckpoint(RejoinSource *source, char **error);

/*
 * Record the rejoin in the source's audit trail (dr_rejoin_record):
 * outcome "followed", "rewound" or "failed", and what happened.
 */
extern bool rejoinSourceRecord(RejoinSource *source, const char *node,
							   const char *outcome, const char *detail,
							   char **error);

extern void rejoinSourceClose(RejoinSource *source);

#endif							/* DR_BIN_REJOIN_H */
