/*-------------------------------------------------------------------------
 * ha_state.h
 *	  What the HA worker (ha_worker.c) shares with the other processes of
 *	  its node, and what it keeps across restarts.  Server only.
 *
 * Shared memory (one lock, tranche HA_LWLOCK_TRANCHE):
 *	 - this node's HA state: its name, term, the vote it gave, whether it
 *	   is fenced, and until when it holds its licence to be primary;
 *	 - the contact other nodes made with this one (their checks call
 *	   pgdr.ha_peer_status(caller) here, which records the time: contact
 *	   is symmetric, ha_decide.h);
 *	 - what the worker last observed of every registered node, for the
 *	   dr_nodes view (pgdr.ha_observed()).
 *
 * The state file ($PGDATA/pg_dr_ha.state, written whole to a temporary
 * file, fsynced and renamed) keeps what must survive a restart: the node
 * it belongs to (a copy made by pg_basebackup names another node and is
 * ignored), the term, the vote given (term and candidate), whether the
 * node is fenced, the node it follows, and whether the write guard is on
 * (ha_failover ran here as a primary).
 *
 * Fencing (docs/ha.md, "What fencing does"): a fenced node refuses new
 * connections of users other than superusers (ClientAuthentication_hook),
 * and its worker terminates the client backends it had.  The write guard
 * (an XactCallback at PRE_COMMIT) makes every transaction that wrote
 * fail before its commit record unless the node holds its licence now:
 * not fenced, and the licence the worker last established (lease renewed,
 * majority or every node in contact) has not run out.  A primary frozen
 * past its licence (SIGSTOP) therefore commits nothing once it runs again,
 * before its worker has even looked.
 *-------------------------------------------------------------------------
 */
#ifndef DR_HA_STATE_H
#define DR_HA_STATE_H

#include "access/xlogdefs.h"
#include "datatype/timestamp.h"

#include "ha/ha_decide.h"

#define HA_LWLOCK_TRANCHE	"pg_dr ha"
#define HA_STATE_FILE		"pg_dr_ha.state"
#define HA_NAME_SIZE		64

/* What survives a restart (the state file). */
typedef struct HaPersist
{
	char		node[HA_NAME_SIZE];	/* ha_node_name it belongs to */
	uint64		term;			/* the term of this node's primary */
	uint64		votedTerm;		/* the last term it confirmed */
	char		votedFor[HA_NAME_SIZE];	/* ... for this candidate */
	bool		fenced;
	bool		guard;			/* the write guard is on from start */
	char		upstream[HA_NAME_SIZE];	/* the node it follows ("": none
										 * known) */
} HaPersist;

/* One registered node as the worker last observed it (dr_nodes). */
typedef struct HaObserved
{
	char		name[HA_NAME_SIZE];
	HaRole		role;
	TimeLineID	timeline;
	XLogRecPtr	receivedLsn;
	XLogRecPtr	replayedLsn;
	XLogRecPtr	flushedLsn;
	uint64		term;
	bool		reachable;
	TimestampTz lastSeen;		/* 0: never */
	TimestampTz lastSeenClock;	/* the same on haClockNow()'s clock */
	char		health[16];		/* ok, unreachable, lagging, fenced, ... */
	char		reason[HA_REASON_SIZE];
} HaObserved;

/*
 * The clock of every HA deadline and contact time: microseconds of the
 * host's monotonic clock that also runs while the machine is suspended
 * (CLOCK_BOOTTIME on Linux, else CLOCK_MONOTONIC), the same in every
 * process of the host.  A wall clock stepped back (or forward) by NTP or
 * by hand would stretch a licence, or make a voter think the primary was
 * gone long ago; this one is never stepped.  Only differences mean
 * anything; haClockToWall turns a reading into a timestamp to show (0
 * stays 0).
 */
extern TimestampTz haClockNow(void);
extern TimestampTz haClockToWall(TimestampTz clock);

extern void haShmemRequest(void);
extern void haShmemInit(void);

/* The fencing hooks (ClientAuthentication_hook, the commit guard). */
extern void haHooksInstall(void);

/*
 * The write guard's check, for a change that is not transactional (a
 * file written before the commit): ERROR, as at the commit, unless this
 * node holds its licence now (not fenced; the guard off, or its licence
 * not run out).  what names the change in the message.  haGuardHolds:
 * the same question, answered without an error.  Neither looks at a
 * switchover's hold of client writes.
 */
extern void haGuardCheck(const char *what);
extern bool haGuardHolds(void);

/*
 * The state file: read it (false when absent, unreadable or of another
 * node: *state zeroed with node set).
 */
extern bool haPersistRead(const char *node, HaPersist *state);

/*
 * Changes of the persistent state: each takes the lock, changes the
 * shared copy, writes the state file (ERROR when it cannot: nothing is
 * said to a peer that is not on disk) and returns.
 */
extern void haStateLoad(const char *node);	/* the worker, at start */
extern void haStateSetTerm(uint64 term);
extern void haStateSetFenced(bool fenced);
extern void haStateSetGuard(bool guard);
extern void haStateSetUpstream(const char *upstream);

/*
 * A vote for term and candidate (haVoteDecide with this node's last
 * contact with the primary, the primary's checks of this node included,
 * and its own received LSN): recorded when granted, unless dryRun (a
 * pre-vote: would it be granted?).  Used by pgdr.ha_vote() and by the
 * candidate for itself.
 */
extern bool haStateVote(uint64 term, const char *candidate,
						XLogRecPtr candidateLsn, bool dryRun, char *reason,
						size_t reasonSize);

/* Worker side: publish what it knows. */
extern void haSharedGetPersist(HaPersist *state);
extern void haSharedSetSettings(const HaSettings *settings, bool running,
								bool witness);
extern void haSharedSetLicence(bool guard, TimestampTz licensedUntil);
extern void haSharedSetPrimaryContact(TimestampTz lastPrimaryContact,
									  const char *primary);
extern void haSharedSetObserved(const HaObserved *nodes, int n);
/* the last contact the peer named made with this node (0: none) */
extern TimestampTz haSharedIncomingContact(const char *peer);

/*
 * Whether a vote this node gave (a standby) asks the worker to stop
 * streaming from the old primary: taken once.
 */
extern bool haDetachTake(void);

/*
 * Fencing: SIGTERM to every client backend but this process (walsenders:
 * to every walsender instead, once the node knows it was replaced).
 */
extern int	haTerminateClients(bool walsenders);

/* The node is fenced and was replaced (a newer term seen): see haClientAuthentication. */
extern void haSharedSetReplaced(bool replaced);

/*
 * dr_failover(target, force): on the standby named target, checked
 * against what its HA worker observed -- ERROR 42704 for a node not
 * registered, 22023 when target is not this node, 55000 when this node is
 * a primary, when the primary was seen within ha_lease_ttl (it is
 * healthy), when this node is stale and force is false, and when the
 * worker could not get the licence (the leader key, a majority) or
 * promote, or found (force false) that promoting this node could lose
 * commits the primary acknowledged in synchronous mode
 * (haDecideSyncSafe) -- then carried out by the worker; returns what it
 * did.  One call at a time on a node: 55006 while another backend's call
 * runs (each call's force is its own).  A call that ends before the
 * worker took its request (cancelled) withdraws it.
 */
extern char *haFailoverManual(const char *target, bool force);

/* Worker side of dr_failover: its latch, the request taken, the result. */
struct Latch;
extern void haSharedSetWorkerLatch(struct Latch *latch);
extern bool haManualTake(bool *force);
extern void haManualDone(bool ok, const char *msg);

/* This node's WAL position as peers see it (ha_peer_status). */
extern void haSelfPosition(bool *inRecovery, TimeLineID *timeline,
						   XLogRecPtr *received, XLogRecPtr *replayed,
						   XLogRecPtr *flushed);

/*
 * dr_switchover() (ha_switchover.h).  The settings and whether the
 * worker runs, as it published them.
 */
extern void haSharedGetSettings(HaSettings *settings, bool *running);

/*
 * Hold the writes of client sessions (pid: the backend running the
 * switchover): false when another backend holds them.  0 lets them go
 * when this backend holds them.
 */
extern bool haSwitchoverHold(int pid);
/* The hold ends by itself at until (the server should have stopped). */
extern void haSwitchoverHoldUntil(TimestampTz until);

/*
 * On a standby, at its primary's request (from): give term to candidate,
 * recorded in the state file as a vote.  Granted when the term is newer
 * than any this node took or gave (or was given to candidate already),
 * and the node follows from.  *reason says why.
 */
extern bool haSwitchoverGrant(uint64 term, const char *candidate,
							  const char *from, char *reason,
							  size_t reasonSize);

/*
 * On the target, before pg_promote: true when its primary gave this node
 * term for a switchover (haSwitchoverGrant, since the server started)
 * and its vote in term is still its own; term becomes its term, and from
 * then until haSwitchoverPromoteEnd it votes for nobody.
 */
extern bool haSwitchoverPromoteBegin(uint64 term, char *reason,
									 size_t reasonSize);
extern void haSwitchoverPromoteEnd(void);

#endif							/* DR_HA_STATE_H */
