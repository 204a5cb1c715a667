/*-------------------------------------------------------------------------
 * ha_decide.c
 *	  The failover decision (see ha_decide.h for the rules and why they
 *	  never make two primaries).  Pure: every input is an argument.
 *
 * haDecide reads as a table of cases, in order; the first that applies
 * decides:
 *	 bad settings                        -> ALERT (critical)
 *	 self is a witness                   -> NONE (it only votes)
 *	 self is primary or fenced           -> haDecidePrimary
 *	 self is a standby (or unknown)      -> haDecideStandby
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "ha/ha_decide.h"

#define MS	((int64) 1000)		/* TimestampTz units per millisecond */

static void haSet(HaDecision *out, HaAction action, HaSeverity severity,
				  const char *fmt,...) pg_attribute_printf(4, 5);

static void
haSet(HaDecision *out, HaAction action, HaSeverity severity,
	  const char *fmt,...)
{
	va_list		ap;

	out->action = action;
	out->severity = severity;
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
}

const char *
haActionName(HaAction action)
{
	switch (action)
	{
		case HA_ACTION_NONE:
			return "none";
		case HA_ACTION_WAIT:
			return "wait";
		case HA_ACTION_PROMOTE:
			return "promote";
		case HA_ACTION_FOLLOW:
			return "follow";
		case HA_ACTION_FENCE:
			return "fence";
		case HA_ACTION_RESUME:
			return "resume";
		case HA_ACTION_ALERT:
			return "alert";
	}
	return "?";
}

const char *
haRoleName(HaRole role)
{
	switch (role)
	{
		case HA_ROLE_UNKNOWN:
			return "unknown";
		case HA_ROLE_PRIMARY:
			return "primary";
		case HA_ROLE_STANDBY:
			return "standby";
		case HA_ROLE_WITNESS:
			return "witness";
		case HA_ROLE_FENCED:
			return "fenced";
	}
	return "?";
}

bool
haSettingsCheck(const HaSettings *s, char *msg, size_t msgSize)
{
	if (s->checkIntervalMs <= 0 || s->retryTimeoutMs <= 0 || s->leaseTtlMs <= 0)
	{
		snprintf(msg, msgSize,
				 "ha_check_interval, ha_retry_timeout and ha_lease_ttl must be positive "
				 "(they are %lld ms, %lld ms and %lld ms)",
				 (long long) s->checkIntervalMs, (long long) s->retryTimeoutMs,
				 (long long) s->leaseTtlMs);
		return false;
	}
	if (s->maxFailoverLag < 0)
	{
		snprintf(msg, msgSize, "ha_max_failover_lag must not be negative (it is %lld)",
				 (long long) s->maxFailoverLag);
		return false;
	}
	/* each is below a day (the parser's bound), so no overflow */
	if (s->checkIntervalMs + 2 * s->retryTimeoutMs > s->leaseTtlMs)
	{
		snprintf(msg, msgSize,
				 "ha_check_interval (%lld ms) + 2 x ha_retry_timeout (%lld ms) = %lld ms "
				 "is more than ha_lease_ttl (%lld ms): a primary could not renew its "
				 "lease and fence itself before the lease runs out; raise ha_lease_ttl "
				 "to at least %lld ms or lower the other two",
				 (long long) s->checkIntervalMs, (long long) s->retryTimeoutMs,
				 (long long) (s->checkIntervalMs + 2 * s->retryTimeoutMs),
				 (long long) s->leaseTtlMs,
				 (long long) (s->checkIntervalMs + 2 * s->retryTimeoutMs));
		return false;
	}
	return true;
}

/*
 * Milliseconds since t, as seen at now; a t in the future (the clock went
 * back) counts as just now, and never (0) as very long ago.
 */
static int64
haSinceMs(TimestampTz now, TimestampTz t)
{
	if (t == 0)
		return PG_INT64_MAX / 2;
	if (t >= now)
		return 0;
	return (now - t) / MS;
}

/* The highest term any node knows. */
static uint64
haMaxTerm(const HaDecideInput *in)
{
	uint64		max = 0;

	for (int i = 0; i < in->nNodes; i++)
		if (in->nodes[i].term > max)
			max = in->nodes[i].term;
	return max;
}

/*
 * The primary this node should consider current: the node other than
 * self that reports itself primary with the highest term, then timeline
 * (an old primary that has not yet learnt it was replaced still says
 * "primary").  -1 when none.
 */
static int
haCurrentPrimary(const HaDecideInput *in)
{
	int			best = -1;

	for (int i = 0; i < in->nNodes; i++)
	{
		const HaNodeView *n = &in->nodes[i];

		if (i == in->self || n->role != HA_ROLE_PRIMARY)
			continue;
		if (best < 0 || n->term > in->nodes[best].term ||
			(n->term == in->nodes[best].term &&
			 n->timeline > in->nodes[best].timeline))
			best = i;
	}
	return best;
}

/*
 * The time since which self has had contact with k of the voting nodes
 * (self counted at now, when voting): the k-th most recent contact.
 * 0 when fewer than k voting nodes exist.
 */
static TimestampTz
haContactOfK(const HaDecideInput *in, int k, bool votingOnly)
{
	TimestampTz times[HA_NODES_MAX];
	int			n = 0;
	uint64		selfTerm = in->nodes[in->self].term;

	for (int i = 0; i < in->nNodes && n < HA_NODES_MAX; i++)
	{
		const HaNodeView *v = &in->nodes[i];

		if (votingOnly && !v->voting)
			continue;
		if (i == in->self)
			times[n++] = in->now;
		else if (votingOnly && v->votedTerm > selfTerm)
			times[n++] = 0;		/* pledged to a newer term: not ours */
		else
			times[n++] = v->reachable ? in->now : v->lastContact;
	}
	if (k <= 0 || k > n)
		return 0;
	/* a selection sort of at most HA_NODES_MAX entries, descending */
	for (int i = 0; i < k; i++)
	{
		int			m = i;

		for (int j = i + 1; j < n; j++)
			if (times[j] > times[m])
				m = j;
		if (m != i)
		{
			TimestampTz t = times[i];

			times[i] = times[m];
			times[m] = t;
		}
	}
	return times[k - 1];
}

static int
haVotingCount(const HaDecideInput *in)
{
	int			n = 0;

	for (int i = 0; i < in->nNodes; i++)
		if (in->nodes[i].voting)
			n++;
	return n;
}

/* Voting nodes that confirmed a term newer than self's (not self). */
static int
haPledgedCount(const HaDecideInput *in)
{
	int			n = 0;

	for (int i = 0; i < in->nNodes; i++)
		if (i != in->self && in->nodes[i].voting &&
			in->nodes[i].votedTerm > in->nodes[in->self].term)
			n++;
	return n;
}

/* A node (other than self) that knows a newer term than self, or -1. */
static int
haNewerTerm(const HaDecideInput *in)
{
	const HaNodeView *self = &in->nodes[in->self];
	int			newer = -1;

	for (int i = 0; i < in->nNodes; i++)
	{
		const HaNodeView *n = &in->nodes[i];

		if (i == in->self)
			continue;
		if (n->term > self->term ||
			(n->role == HA_ROLE_PRIMARY && n->timeline > self->timeline))
		{
			if (newer < 0 || n->term > in->nodes[newer].term)
				newer = i;
		}
	}
	return newer;
}

/* Self is primary, or a fenced primary. */
static void
haDecidePrimary(const HaDecideInput *in, HaDecision *out)
{
	const HaSettings *s = &in->settings;
	const HaNodeView *self = &in->nodes[in->self];
	bool		fenced = self->role == HA_ROLE_FENCED;
	int64		boundMs = s->leaseTtlMs - s->retryTimeoutMs;
	int			newer = haNewerTerm(in);
	bool		licensed;
	char		why[HA_REASON_SIZE];

	/* replaced: stay fenced until rejoined */
	if (newer >= 0)
	{
		haSet(out, HA_ACTION_FENCE, HA_SEVERITY_CRITICAL,
			  "node \"%s\" knows term %llu (timeline %u), newer than this node's term %llu "
			  "(timeline %u): this node was replaced and stays fenced until it is rejoined",
			  in->nodes[newer].name, (unsigned long long) in->nodes[newer].term,
			  in->nodes[newer].timeline, (unsigned long long) self->term,
			  self->timeline);
		return;
	}

	if (s->etcd)
	{
		int64		sinceRenewal = haSinceMs(in->now, in->lastRenewal);
		int			others = in->nNodes - 1;
		TimestampTz allSeen = others > 0 ? haContactOfK(in, in->nNodes, false) : 0;
		int64		sinceAll = haSinceMs(in->now, allSeen);

		if (in->etcdTerm > self->term)
		{
			haSet(out, HA_ACTION_FENCE, HA_SEVERITY_CRITICAL,
				  "etcd records term %llu, newer than this node's term %llu: this node was "
				  "replaced and stays fenced until it is rejoined",
				  (unsigned long long) in->etcdTerm, (unsigned long long) self->term);
			return;
		}
		if (in->leaderKeyHolder != NULL &&
			strcmp(in->leaderKeyHolder, self->name) != 0)
		{
			haSet(out, HA_ACTION_FENCE, HA_SEVERITY_CRITICAL,
				  "the leader key is held by \"%s\": this node is not the primary",
				  in->leaderKeyHolder);
			return;
		}
		if (sinceRenewal < boundMs)
		{
			licensed = true;
			snprintf(why, sizeof(why), "lease renewed %lld ms ago", (long long) sinceRenewal);
		}
		else
		{
			char		lease[64];

			/* a primary started while etcd does not answer never had one */
			if (in->lastRenewal == 0)
				snprintf(lease, sizeof(lease), "no lease held");
			else
				snprintf(lease, sizeof(lease), "lease not renewed for %lld ms",
						 (long long) Min(sinceRenewal, PG_INT32_MAX));
			if (others > 0 && sinceAll < boundMs)
			{
				/* Patroni's failsafe: no standby contends while it sees us */
				licensed = true;
				snprintf(why, sizeof(why),
						 "%s (etcd %s), but contact with all %d other nodes within %lld ms "
						 "(failsafe)", lease, in->etcdReachable ? "answers" : "unreachable",
						 others, (long long) sinceAll);
			}
			else
			{
				licensed = false;
				snprintf(why, sizeof(why),
						 "%s (etcd %s) and not every other node was seen within "
						 "ha_lease_ttl - ha_retry_timeout = %lld ms", lease,
						 in->etcdReachable ? "answers" : "unreachable", (long long) boundMs);
			}
		}
		/* renewing needs the key: take it when it is free */
		out->takeLeaderKey = in->leaderKeyHolder == NULL && in->etcdReachable;
	}
	else
	{
		int			voting = haVotingCount(in);
		int			majority = voting / 2 + 1;
		TimestampTz since = haContactOfK(in, majority, true);
		int64		sinceMs = haSinceMs(in->now, since);

		if (voting == 0)
		{
			/*
			 * No quorum can be formed, so no standby can be licensed either:
			 * nothing to fence against.
			 */
			licensed = true;
			snprintf(why, sizeof(why),
					 "no voting node registered and no etcd: no standby can be promoted "
					 "automatically");
		}
		else if (sinceMs < boundMs)
		{
			licensed = true;
			snprintf(why, sizeof(why), "contact with a majority (%d of %d voting nodes) %lld ms ago",
					 majority, voting, (long long) sinceMs);
		}
		else
		{
			int			pledged = haPledgedCount(in);

			licensed = false;
			snprintf(why, sizeof(why),
					 "no contact with a majority (%d of %d voting nodes) for %lld ms, "
					 "ha_lease_ttl - ha_retry_timeout = %lld ms%s",
					 majority, voting, (long long) Min(sinceMs, PG_INT32_MAX),
					 (long long) boundMs,
					 pledged > 0 ? " (nodes that confirmed a newer term than this "
					 "node's do not count)" : "");
		}
	}

	if (licensed && fenced)
		haSet(out, HA_ACTION_RESUME, HA_SEVERITY_WARNING,
			  "licence to be primary regained (%s) and no newer term: accept writes again", why);
	else if (licensed)
		haSet(out, HA_ACTION_NONE, HA_SEVERITY_INFO, "primary: %s", why);
	else
		haSet(out, HA_ACTION_FENCE, HA_SEVERITY_CRITICAL, "%s: fence before another node "
			  "can be promoted", why);
}

/*
 * Whether node i can be the candidate, and if not why (appended to why).
 * maxTimeline: the highest timeline of the standbys considered.
 */
static bool
haQualifies(const HaDecideInput *in, int i, TimeLineID maxTimeline,
			char *why, size_t whySize)
{
	const HaNodeView *n = &in->nodes[i];
	size_t		len = strlen(why);
	const char *no = NULL;
	char		buf[128];

	if (n->priority <= 0)
		no = "priority 0";
	else if (n->timeline < maxTimeline)
	{
		snprintf(buf, sizeof(buf), "timeline %u behind %u", n->timeline, maxTimeline);
		no = buf;
	}
	else if (n->lagBytes < 0)
		no = "lag unknown";
	else if (n->lagBytes > in->settings.maxFailoverLag)
	{
		snprintf(buf, sizeof(buf), "lag %lld bytes above ha_max_failover_lag %lld",
				 (long long) n->lagBytes, (long long) in->settings.maxFailoverLag);
		no = buf;
	}
	if (no == NULL)
		return true;
	snprintf(why + len, whySize - len, "%s\"%s\": %s", len > 0 ? "; " : "", n->name, no);
	return false;
}

/* Whether a is a better candidate than b. */
static bool
haBetter(const HaNodeView *a, const HaNodeView *b)
{
	if (a->receivedLsn != b->receivedLsn)
		return a->receivedLsn > b->receivedLsn;
	if (a->priority != b->priority)
		return a->priority > b->priority;
	return strcmp(a->name, b->name) < 0;
}

/*
 * Node i may hold commits the primary acknowledged: a member of its
 * synchronous standbys as last reported, or any node not known to be a
 * primary, a fenced old primary or a witness -- the report may be older
 * than the set in force (a standby added since could have acknowledged
 * commits alone), and a node this one has not reached since its start
 * (role unknown) may be streaming now.
 */
static bool
haSyncMember(const HaDecideInput *in, int i)
{
	/*
	 * A standby, or a node not reached since this one started (role
	 * unknown): it may stream and acknowledge.  Not a primary, a fenced
	 * old primary (its LSNs are on a timeline that lost) or a witness.
	 */
	if (in->nodes[i].role == HA_ROLE_STANDBY || in->nodes[i].role == HA_ROLE_UNKNOWN)
		return true;
	for (int k = 0; k < in->nSyncNames; k++)
		if (strcmp(in->syncNames[k], "*") == 0 ?
			in->nodes[i].role == HA_ROLE_STANDBY :
			strcmp(in->syncNames[k], in->nodes[i].name) == 0)
			return true;
	return false;
}

/* (ha_decide.h) */
bool
haDecideSyncSafe(const HaDecideInput *in, int cand, char *why, size_t whySize)
{
	int			members = 0;
	int			seen = 0;
	int			need;
	bool		star = false;

	if (in->syncNum <= 0)
		return true;

	for (int k = 0; k < in->nSyncNames; k++)
		if (strcmp(in->syncNames[k], "*") == 0)
			star = true;
	for (int i = 0; i < in->nNodes; i++)
	{
		const HaNodeView *n = &in->nodes[i];

		if (!haSyncMember(in, i))
			continue;
		members++;
		if (i != in->self && !n->reachable)
			continue;
		seen++;
		if (n->receivedLsn > in->nodes[cand].receivedLsn)
		{
			snprintf(why, whySize,
					 "synchronous standby \"%s\" received %X/%X, more than the candidate "
					 "\"%s\" (%X/%X)", n->name, LSN_FORMAT_ARGS(n->receivedLsn),
					 in->nodes[cand].name, LSN_FORMAT_ARGS(in->nodes[cand].receivedLsn));
			return false;
		}
	}
	/* names that are no registered node are members never in contact */
	if (!star)
		for (int k = 0; k < in->nSyncNames; k++)
		{
			bool		registered = false;

			for (int i = 0; i < in->nNodes && !registered; i++)
				registered = strcmp(in->syncNames[k], in->nodes[i].name) == 0;
			if (!registered)
				members++;
		}
	need = members - in->syncNum + 1;
	if (seen >= need)
		return true;
	snprintf(why, whySize,
			 "commits waited for %d of the synchronous standbys; of the %d standbys that may "
			 "hold such commits only %d %s in contact, %d needed to be sure to hold every "
			 "acknowledged commit",
			 in->syncNum, members, seen, seen == 1 ? "is" : "are", need);
	return false;
}

/* Self is a standby (or does not know its role yet). */
static void
haDecideStandby(const HaDecideInput *in, HaDecision *out)
{
	const HaSettings *s = &in->settings;
	const HaNodeView *self = &in->nodes[in->self];
	int			p = haCurrentPrimary(in);
	const HaNodeView *primary;
	int64		unseenMs;
	TimeLineID	maxTimeline = 0;
	int			cand = -1;
	char		why[HA_REASON_SIZE] = "";
	uint64		term;

	if (self->role != HA_ROLE_STANDBY)
	{
		haSet(out, HA_ACTION_WAIT, HA_SEVERITY_WARNING,
			  "this node's role is %s: no decision until it is known", haRoleName(self->role));
		return;
	}
	if (p < 0)
	{
		haSet(out, HA_ACTION_WAIT, HA_SEVERITY_WARNING,
			  "no registered node is known as primary: nothing to fail over from");
		return;
	}
	primary = &in->nodes[p];

	/* a newer primary than the one followed: follow it */
	/*
	 * Never back to a primary older than the term this node confirmed to
	 * a candidate (self->term is max(term, vote) in a standby's view): it
	 * pledged that primary gone, and streaming from it again could
	 * acknowledge its commits where the new primary does not have them.
	 */
	if (primary->reachable && primary->term < self->term)
	{
		haSet(out, HA_ACTION_WAIT, HA_SEVERITY_WARNING,
			  "\"%s\" reports itself primary in term %llu, but this node confirmed term %llu "
			  "to a candidate: it follows no primary older than that",
			  primary->name, (unsigned long long) primary->term,
			  (unsigned long long) self->term);
		return;
	}
	if (primary->reachable &&
		(self->upstream == NULL || strcmp(self->upstream, primary->name) != 0))
	{
		out->target = p;
		haSet(out, HA_ACTION_FOLLOW, HA_SEVERITY_WARNING,
			  "\"%s\" is the primary (term %llu, timeline %u) and this node follows %s%s%s",
			  primary->name, (unsigned long long) primary->term, primary->timeline,
			  self->upstream ? "\"" : "", self->upstream ? self->upstream : "no node",
			  self->upstream ? "\"" : "");
		return;
	}

	unseenMs = primary->reachable ? 0 : haSinceMs(in->now, primary->lastContact);
	if (primary->reachable)
	{
		haSet(out, HA_ACTION_NONE, HA_SEVERITY_INFO, "primary \"%s\" reachable", primary->name);
		return;
	}
	if (unseenMs < s->leaseTtlMs)
	{
		haSet(out, HA_ACTION_WAIT, HA_SEVERITY_WARNING,
			  "primary \"%s\" unreachable for %lld ms; failover is considered after "
			  "ha_lease_ttl (%lld ms)",
			  primary->name, (long long) unseenMs, (long long) s->leaseTtlMs);
		return;
	}
	if (!s->failover)
	{
		haSet(out, HA_ACTION_ALERT, HA_SEVERITY_CRITICAL,
			  "primary \"%s\" unreachable for %lld ms and ha_failover is off: "
			  "fail over by hand (dr_failover)",
			  primary->name, (long long) Min(unseenMs, PG_INT32_MAX));
		return;
	}

	/* the candidate among self and the standbys in contact now */
	for (int i = 0; i < in->nNodes; i++)
	{
		const HaNodeView *n = &in->nodes[i];

		if (n->role == HA_ROLE_STANDBY && (i == in->self || n->reachable) &&
			n->priority > 0 && n->timeline > maxTimeline)
			maxTimeline = n->timeline;
	}
	/* a standby on an older timeline than the primary's never qualifies */
	if (primary->timeline > maxTimeline)
		maxTimeline = primary->timeline;
	for (int i = 0; i < in->nNodes; i++)
	{
		const HaNodeView *n = &in->nodes[i];

		if (n->role != HA_ROLE_STANDBY || (i != in->self && !n->reachable))
			continue;
		if (!haQualifies(in, i, maxTimeline, why, sizeof(why)))
			continue;
		if (cand < 0 || haBetter(n, &in->nodes[cand]))
			cand = i;
	}
	if (cand < 0)
	{
		haSet(out, HA_ACTION_ALERT, HA_SEVERITY_CRITICAL,
			  "primary \"%s\" unreachable for %lld ms and no standby can be promoted: %s",
			  primary->name, (long long) Min(unseenMs, PG_INT32_MAX),
			  why[0] ? why : "no standby in contact");
		return;
	}
	if (!haDecideSyncSafe(in, cand, why, sizeof(why)))
	{
		haSet(out, HA_ACTION_ALERT, HA_SEVERITY_CRITICAL,
			  "primary \"%s\" unreachable for %lld ms and no standby can be promoted "
			  "without losing acknowledged commits: %s",
			  primary->name, (long long) Min(unseenMs, PG_INT32_MAX), why);
		return;
	}
	if (cand != in->self)
	{
		haSet(out, HA_ACTION_WAIT, HA_SEVERITY_WARNING,
			  "primary \"%s\" unreachable for %lld ms; the candidate is \"%s\" "
			  "(received %X/%X, priority %d)",
			  primary->name, (long long) Min(unseenMs, PG_INT32_MAX),
			  in->nodes[cand].name, LSN_FORMAT_ARGS(in->nodes[cand].receivedLsn),
			  in->nodes[cand].priority);
		return;
	}

	/* this node is the candidate: the licence */
	term = Max(haMaxTerm(in), s->etcd ? in->etcdTerm : 0) + 1;
	if (s->etcd)
	{
		if (!in->etcdReachable)
			haSet(out, HA_ACTION_WAIT, HA_SEVERITY_CRITICAL,
				  "this node is the candidate but etcd is unreachable: no licence, "
				  "no promotion");
		else if (in->leaderKeyHolder == NULL)
		{
			out->takeLeaderKey = true;
			haSet(out, HA_ACTION_WAIT, HA_SEVERITY_WARNING,
				  "this node is the candidate: take the free leader key first");
		}
		else if (strcmp(in->leaderKeyHolder, self->name) == 0)
		{
			out->target = in->self;
			out->term = term;
			haSet(out, HA_ACTION_PROMOTE, HA_SEVERITY_WARNING,
				  "primary \"%s\" unreachable for %lld ms; this node holds the leader key "
				  "and is the candidate (received %X/%X): promote in term %llu",
				  primary->name, (long long) Min(unseenMs, PG_INT32_MAX),
				  LSN_FORMAT_ARGS(self->receivedLsn), (unsigned long long) term);
		}
		else
			haSet(out, HA_ACTION_WAIT, HA_SEVERITY_WARNING,
				  "this node is the candidate but the leader key is held by \"%s\"",
				  in->leaderKeyHolder);
		return;
	}
	else
	{
		int			voting = haVotingCount(in);
		int			confirmed = 0;

		for (int i = 0; i < in->nNodes; i++)
		{
			const HaNodeView *n = &in->nodes[i];

			if (!n->voting)
				continue;
			/* self confirms by what it sees: no contact for the ttl (above) */
			if (i == in->self ||
				(n->reachable && n->role != HA_ROLE_PRIMARY && n->confirmedTerm == term))
				confirmed++;
		}
		if (confirmed * 2 > voting)
		{
			out->target = in->self;
			out->term = term;
			haSet(out, HA_ACTION_PROMOTE, HA_SEVERITY_WARNING,
				  "primary \"%s\" unreachable for %lld ms; %d of %d voting nodes confirm for "
				  "term %llu and this node is the candidate (received %X/%X): promote",
				  primary->name, (long long) Min(unseenMs, PG_INT32_MAX), confirmed, voting,
				  (unsigned long long) term, LSN_FORMAT_ARGS(self->receivedLsn));
		}
		else
		{
			out->askVotes = true;
			out->term = term;
			haSet(out, HA_ACTION_WAIT, HA_SEVERITY_WARNING,
				  "this node is the candidate but only %d of %d voting nodes confirm the "
				  "primary lost for term %llu (more than half needed): no promotion",
				  confirmed, voting, (unsigned long long) term);
		}
	}
}

void
haDecide(const HaDecideInput *in, HaDecision *out)
{
	char		msg[HA_REASON_SIZE];
	const HaNodeView *self;

	memset(out, 0, sizeof(*out));
	out->target = -1;

	if (in->nNodes <= 0 || in->nNodes > HA_NODES_MAX ||
		in->self < 0 || in->self >= in->nNodes)
	{
		haSet(out, HA_ACTION_ALERT, HA_SEVERITY_CRITICAL,
			  "this node is not among the %d registered nodes (at most %d)",
			  in->nNodes, HA_NODES_MAX);
		return;
	}
	if (!haSettingsCheck(&in->settings, msg, sizeof(msg)))
	{
		haSet(out, HA_ACTION_ALERT, HA_SEVERITY_CRITICAL, "%s", msg);
		return;
	}
	self = &in->nodes[in->self];
	switch (self->role)
	{
		case HA_ROLE_WITNESS:
			haSet(out, HA_ACTION_NONE, HA_SEVERITY_INFO, "witness: votes only");
			return;
		case HA_ROLE_PRIMARY:
		case HA_ROLE_FENCED:
			haDecidePrimary(in, out);
			return;
		case HA_ROLE_STANDBY:
		case HA_ROLE_UNKNOWN:
			haDecideStandby(in, out);
			return;
	}
}

bool
haVoteDecide(TimestampTz now, const HaSettings *settings,
			 TimestampTz lastPrimaryContact, uint64 term, const char *candidate,
			 XLogRecPtr candidateReceivedLsn, uint64 lastTerm,
			 const char *lastCandidate, XLogRecPtr ownReceivedLsn,
			 char *reason, size_t reasonSize)
{
	int64		unseenMs = haSinceMs(now, lastPrimaryContact);

	if (unseenMs < settings->leaseTtlMs)
	{
		snprintf(reason, reasonSize,
				 "contact with the primary %lld ms ago, less than ha_lease_ttl (%lld ms)",
				 (long long) unseenMs, (long long) settings->leaseTtlMs);
		return false;
	}
	if (term < lastTerm ||
		(term == lastTerm &&
		 (lastCandidate == NULL || strcmp(lastCandidate, candidate) != 0)))
	{
		snprintf(reason, reasonSize,
				 "already confirmed term %llu for \"%s\"",
				 (unsigned long long) lastTerm, lastCandidate ? lastCandidate : "?");
		return false;
	}
	if (candidateReceivedLsn < ownReceivedLsn)
	{
		snprintf(reason, reasonSize,
				 "candidate \"%s\" received %X/%X, behind this node's %X/%X",
				 candidate, LSN_FORMAT_ARGS(candidateReceivedLsn),
				 LSN_FORMAT_ARGS(ownReceivedLsn));
		return false;
	}
	snprintf(reason, reasonSize, "confirmed term %llu for \"%s\"",
			 (unsigned long long) term, candidate);
	return true;
}
