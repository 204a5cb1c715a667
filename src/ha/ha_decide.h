/*-------------------------------------------------------------------------
 * ha_decide.h
 *	  The failover decision of high availability, as a pure function: what
 *	  one node does now, given its snapshot of every registered node, the
 *	  settings and the time.  No I/O: the worker that will gather the
 *	  snapshot (checks of the peers, the etcd client of etcd.h) and carry
 *	  the action out is not built yet; this is unit tested on its own
 *	  (test/unit/test_ha_decide.c) and compiled into the CLI build too.
 *
 * Words.  A node's view of a peer is what it last learnt from it: its
 * role, LSNs, timeline, term, lag.  "Contact" with a peer is a successful
 * exchange in either direction (this node's check of the peer, or the
 * peer's check of this node), so contact is symmetric within a check
 * interval: when the primary had contact with X at T, X had contact with
 * the primary at T too.  The quorum rule below relies on that.  Times are
 * this node's own clock; only differences of its own readings are used.
 *
 * The licence to be primary:
 *  - with etcd (ha_etcd_endpoints set): holding the leader key under a
 *    lease.  A primary whose last successful renewal (the time the
 *    keepalive was sent, so the server's expiry is never earlier) is
 *    older than ha_lease_ttl - ha_retry_timeout fences itself: that
 *    leaves one retry timeout to finish fencing before the lease expires
 *    and a standby can take the key.  Exception, Patroni's failsafe: a
 *    primary that cannot renew but has contact with every other
 *    registered node within the same bound keeps going (no standby
 *    contends for the key while it has contact with the primary, below),
 *    also one that never held a lease (started while etcd did not
 *    answer): the standbys' rule does not depend on it.
 *    A leader key held by another node fences the primary at once.
 *  - without etcd: a strict majority of the registered voting nodes (a
 *    witness votes; a registered primary is counted in the total) have
 *    each confirmed to the candidate, for the term it proposes, that they
 *    had no contact with the primary for ha_lease_ttl.  A voter confirms
 *    one candidate per term (haVoteDecide).  The primary fences itself
 *    when it has had no contact with a strict majority of the voting
 *    nodes (itself counted when it votes) for ha_lease_ttl -
 *    ha_retry_timeout; a node that confirmed a term newer than the
 *    primary's own (votedTerm) no longer counts for it: it has pledged
 *    itself to a candidate that may have won.  Any
 *    majority the primary last saw and any majority that confirmed share
 *    a voter, which by the symmetry of contact had contact with the
 *    primary no later than the primary had with it: the primary fenced
 *    before the confirmations could all be given.
 *
 * A standby never moves while it has had contact with the primary within
 * ha_lease_ttl (nor contends for the leader key): in the kill -9 case the
 * lease expires after the same ttl anyway.
 *
 * The candidate: among the standbys this node has contact with now (and
 * itself), with priority > 0 (0: never promoted), on the highest timeline
 * among them, whose last known lag is known and at most
 * ha_max_failover_lag: the highest received LSN, then the highest
 * priority, then the smallest name (every node picks the same one).  When
 * none qualifies, no promotion, and a critical alert says why.
 *
 * An old primary (or a fenced node) that sees a newer term, or a primary on
 * a newer timeline, stays fenced until rejoined.  With etcd, the winner
 * records its term in etcd (a key of its own, no lease) before it
 * promotes, so an old primary that sees no other node (they are all
 * down) still learns from etcd that it was replaced, and never takes a
 * free leader key on data the cluster has moved past.  A fenced primary that
 * has its licence again and sees no newer term resumes.
 *
 * Synchronous standbys: when the primary last reported that each commit
 * waits for syncNum standbys, an acknowledged commit is on syncNum of the
 * standbys that may be in its set: the names it reported and, since that
 * report may be older than the set in force (a standby added since may
 * have acknowledged commits alone), every other standby too.  Of those n,
 * any n - syncNum + 1 hold every acknowledged commit.  No promotion unless
 * that many are in contact (self counted) and none received more than the
 * candidate; else a critical alert says so.  A reported name that is no
 * registered node is a member never in contact.
 *
 * The settings rule (Patroni's): ha_check_interval + 2 * ha_retry_timeout
 * <= ha_lease_ttl (a renewal every interval, each taking up to one retry
 * timeout, and one more to fence, all before the lease runs out).
 *-------------------------------------------------------------------------
 */
#ifndef DR_HA_DECIDE_H
#define DR_HA_DECIDE_H

#include "access/xlogdefs.h"
#include "datatype/timestamp.h"

#define HA_REASON_SIZE		320
#define HA_NODES_MAX		64

typedef enum HaRole
{
	HA_ROLE_UNKNOWN,
	HA_ROLE_PRIMARY,
	HA_ROLE_STANDBY,
	HA_ROLE_WITNESS,
	HA_ROLE_FENCED				/* a primary that stopped accepting writes */
} HaRole;

/* What this node knows of one registered node (itself included). */
typedef struct HaNodeView
{
	const char *name;			/* unique in the cluster */
	HaRole		role;			/* as it last reported (self: as it is) */
	bool		reachable;		/* contact in this node's last check */
	TimestampTz lastContact;	/* last contact (0: never; self: ignored) */
	XLogRecPtr	receivedLsn;	/* standby: WAL received */
	XLogRecPtr	replayedLsn;	/* standby: WAL replayed */
	TimeLineID	timeline;
	uint64		term;			/* the highest term it knows */
	uint64		votedTerm;		/* the last term it confirmed to a candidate
								 * (without etcd; 0: none) */
	int			priority;		/* higher is preferred; 0: never promoted */
	int64		lagBytes;		/* last known lag behind the primary; -1:
								 * unknown */
	bool		voting;			/* counts in the quorum without etcd */
	/* without etcd: the term for which it confirmed to this node that it
	 * lost the primary (0: none) */
	uint64		confirmedTerm;
	const char *upstream;		/* standby: the node it follows (NULL:
								 * unknown) */
} HaNodeView;

/* The settings (milliseconds, bytes), as the config file gives them. */
typedef struct HaSettings
{
	bool		failover;		/* ha_failover */
	int64		checkIntervalMs;	/* ha_check_interval */
	int64		retryTimeoutMs; /* ha_retry_timeout */
	int64		leaseTtlMs;		/* ha_lease_ttl (the quorum timeout
								 * without etcd) */
	int64		maxFailoverLag; /* ha_max_failover_lag, bytes */
	bool		etcd;			/* ha_etcd_endpoints set */
} HaSettings;

typedef struct HaDecideInput
{
	TimestampTz now;
	HaSettings	settings;
	const HaNodeView *nodes;	/* every registered node */
	int			nNodes;
	int			self;			/* index of this node in nodes */
	/* with etcd */
	bool		etcdReachable;	/* the last request got an answer */
	const char *leaderKeyHolder;	/* the leader key's value as last read;
									 * NULL: no key */
	TimestampTz lastRenewal;	/* when the last successful keepalive of
								 * our lease was sent (0: none) */
	uint64		etcdTerm;		/* the term etcd records (the term key, as
								 * last read; 0: none) */
	/*
	 * The current primary's synchronous standbys as it last reported them:
	 * syncNum of the names acknowledge each commit ("*": any standby).
	 * syncNum 0: none, commits wait for no standby.
	 */
	int			syncNum;
	const char *const *syncNames;
	int			nSyncNames;
} HaDecideInput;

typedef enum HaAction
{
	HA_ACTION_NONE,				/* all is well as it is */
	HA_ACTION_WAIT,				/* something is pending: look again */
	HA_ACTION_PROMOTE,			/* promote this node (term: the new term) */
	HA_ACTION_FOLLOW,			/* follow nodes[target] */
	HA_ACTION_FENCE,			/* stop accepting writes (stay fenced) */
	HA_ACTION_RESUME,			/* a fenced primary has its licence again */
	HA_ACTION_ALERT				/* nothing can be done: raise an alert */
} HaAction;

typedef enum HaSeverity
{
	HA_SEVERITY_INFO,
	HA_SEVERITY_WARNING,
	HA_SEVERITY_CRITICAL
} HaSeverity;

typedef struct HaDecision
{
	HaAction	action;
	int			target;			/* FOLLOW: the node; PROMOTE: self; else -1 */
	uint64		term;			/* PROMOTE: the term to record */
	bool		takeLeaderKey;	/* with etcd: try to create the leader key
								 * (this node is the candidate, or the
								 * primary without it) */
	bool		askVotes;		/* without etcd: this node is the candidate
								 * and lacks confirmations: ask the voting
								 * nodes for term (haVoteDecide on each),
								 * then decide again */
	HaSeverity	severity;		/* of the reason (ALERT: warning or
								 * critical) */
	char		reason[HA_REASON_SIZE];
} HaDecision;

extern void haDecide(const HaDecideInput *in, HaDecision *out);

/*
 * Whether promoting nodes[cand] keeps every acknowledged commit (the
 * synchronous standbys rule above; true when the primary reported none):
 * enough of the standbys that may hold them in contact, none ahead of
 * cand.  why (overwritten) says what is missing.  dr_failover() without
 * force checks it too.
 */
extern bool haDecideSyncSafe(const HaDecideInput *in, int cand, char *why,
							 size_t whySize);

/*
 * The settings rule: false with a message in msg (and what to do) when a
 * value is out of range or ha_check_interval + 2 * ha_retry_timeout >
 * ha_lease_ttl.
 */
extern bool haSettingsCheck(const HaSettings *settings, char *msg,
							size_t msgSize);

/*
 * Without etcd, a voter's answer to "candidate asks your confirmation for
 * term": granted when the voter has had no contact with the primary for
 * ha_lease_ttl (lastPrimaryContact; 0: never), the term is newer than
 * the one it last confirmed (lastTerm) or the same term for the same
 * candidate (lastCandidate), and the candidate's received LSN is not
 * behind the voter's own (a voter that is a standby: ownReceivedLsn; a
 * witness passes InvalidXLogRecPtr).  reason says why not.
 */
extern bool haVoteDecide(TimestampTz now, const HaSettings *settings,
						 TimestampTz lastPrimaryContact,
						 uint64 term, const char *candidate,
						 XLogRecPtr candidateReceivedLsn,
						 uint64 lastTerm, const char *lastCandidate,
						 XLogRecPtr ownReceivedLsn,
						 char *reason, size_t reasonSize);

extern const char *haActionName(HaAction action);
extern const char *haRoleName(HaRole role);

#endif							/* DR_HA_DECIDE_H */
