/*-------------------------------------------------------------------------
 * test_ha_decide.c
 *	  Unit tests of the failover decision (src/ha/ha_decide.c).
 *
 * Covers: haSettingsCheck (the Patroni rule at, under and over its bound,
 * zero and negative values, the message naming the settings and the
 * fix); haDecide on bad settings and a self outside the nodes; a witness;
 * a standby: primary reachable, a new primary to follow, no primary known,
 * own role unknown, primary lost for less than the ttl, exactly the ttl,
 * a last contact in the future (clock went back), never in contact;
 * ha_failover off; the candidate: highest received LSN, then priority,
 * then name (ties), priority 0, an older timeline, a stale replica (lag
 * above ha_max_failover_lag, or unknown) never promoted and the critical
 * alert saying why, an unreachable better standby ignored; the quorum
 * without etcd: confirmations for the proposed term only, from reachable
 * voting nodes only, a witness's vote, a non-voting node, even node
 * counts (2 of 4 is not a majority), two nodes without a witness, an old
 * primary's confirmation ignored; with etcd: the free key taken first,
 * the key held by self (promote), by another, etcd unreachable; a primary
 * with etcd: lease renewed, renewal overdue (the ttl - retry bound and its
 * edge), key held by another, the failsafe (every other node in contact)
 * and its loss, a primary started while etcd does not answer (no lease
 * ever: failsafe, fence while a node is missing, the key taken once etcd
 * answers); a primary without etcd: a majority in contact, lost for
 * less than the bound, past it, an even count; an old primary seeing a
 * newer term or timeline stays fenced; a fenced primary with its licence
 * again resumes; a node pledged to a newer term does not count in the
 * primary's majority (the partial heal keeps an old primary fenced; with
 * etcd votes play no part); the term etcd records (an old primary alone
 * stays fenced and leaves a free key alone; a candidate proposes the term
 * after it); synchronous standbys (ANY 1 of two: both in contact needed,
 * a member ahead of the candidate, a name that is no node, "*"); a
 * standby behind the primary's timeline; split brain sweeps over time: a primary cut off alone
 * fences before any standby promotes (with and without etcd), a standby
 * cut off alone never promotes, two standbys each seeing only the witness
 * cannot both promote (haVoteDecide's one vote per term); haVoteDecide.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "ha/ha_decide.h"
#include "tap.h"

#define MS		((int64) 1000)
#define SEC		((int64) 1000000)
#define NOW		((TimestampTz) 850000000 * SEC)

enum
{
	P, S1, S2, W, NNODES
};

typedef struct Cluster
{
	HaNodeView nodes[NNODES];
	HaDecideInput in;
} Cluster;

/*
 * Primary P, standbys S1 and S2 following it, a witness W (only counted
 * when n is 4); everyone in contact, term 1, timeline 1, no etcd;
 * check 1 s, retry 2 s, ttl 10 s.
 */
static void
cluster(Cluster *c, int n, int self)
{
	static const char *const names[] = {"p", "s1", "s2", "w"};

	memset(c, 0, sizeof(*c));
	for (int i = 0; i < NNODES; i++)
	{
		HaNodeView *v = &c->nodes[i];

		v->name = names[i];
		v->role = i == P ? HA_ROLE_PRIMARY : i == W ? HA_ROLE_WITNESS : HA_ROLE_STANDBY;
		v->reachable = true;
		v->lastContact = NOW;
		v->receivedLsn = i == P ? 0x3000000 : 0x2000000;
		v->replayedLsn = v->receivedLsn;
		v->timeline = 1;
		v->term = 1;
		v->priority = i == W ? 0 : 100;
		v->lagBytes = i == P || i == W ? -1 : 0;
		v->voting = true;
		v->upstream = i == S1 || i == S2 ? "p" : NULL;
	}
	c->in.now = NOW;
	c->in.settings.failover = true;
	c->in.settings.checkIntervalMs = 1000;
	c->in.settings.retryTimeoutMs = 2000;
	c->in.settings.leaseTtlMs = 10000;
	c->in.settings.maxFailoverLag = 16 * 1024 * 1024;
	c->in.nodes = c->nodes;
	c->in.nNodes = n;
	c->in.self = self;
}

/* The primary was last seen ago ms before now by everyone else. */
static void
primaryLost(Cluster *c, int64 agoMs)
{
	c->nodes[P].reachable = false;
	c->nodes[P].lastContact = NOW - agoMs * MS;
}

static HaDecision
decide(Cluster *c)
{
	HaDecision d;

	haDecide(&c->in, &d);
	return d;
}

static void
testSettings(void)
{
	HaSettings	s = {true, 1000, 2000, 5000, 0, false};
	char		msg[HA_REASON_SIZE];
	Cluster		c;
	HaDecision	d;

	ok(haSettingsCheck(&s, msg, sizeof(msg)), "interval + 2 x retry = ttl: accepted");
	s.leaseTtlMs = 4999;
	ok(!haSettingsCheck(&s, msg, sizeof(msg)), "1 ms over the Patroni rule: refused");
	ok(strstr(msg, "ha_check_interval (1000 ms) + 2 x ha_retry_timeout (2000 ms) = 5000 ms") != NULL &&
	   strstr(msg, "ha_lease_ttl (4999 ms)") != NULL &&
	   strstr(msg, "raise ha_lease_ttl to at least 5000 ms") != NULL,
	   "... the message names the settings, the sum and the fix (%s)", msg);
	s.leaseTtlMs = 30000;
	ok(haSettingsCheck(&s, msg, sizeof(msg)), "well inside: accepted");
	s.checkIntervalMs = 0;
	ok(!haSettingsCheck(&s, msg, sizeof(msg)) && strstr(msg, "positive") != NULL,
	   "a zero check interval refused (%s)", msg);
	s.checkIntervalMs = 1000;
	s.retryTimeoutMs = -1;
	ok(!haSettingsCheck(&s, msg, sizeof(msg)), "a negative retry timeout refused");
	s.retryTimeoutMs = 2000;
	s.maxFailoverLag = -1;
	ok(!haSettingsCheck(&s, msg, sizeof(msg)) && strstr(msg, "ha_max_failover_lag") != NULL,
	   "a negative ha_max_failover_lag refused");

	cluster(&c, 3, S1);
	c.in.settings.leaseTtlMs = 4000;
	primaryLost(&c, 60000);
	d = decide(&c);
	is_int(d.action, HA_ACTION_ALERT, "haDecide with settings breaking the rule: alert");
	is_int(d.severity, HA_SEVERITY_CRITICAL, "... critical");
	ok(strstr(d.reason, "ha_lease_ttl") != NULL, "... saying why (%s)", d.reason);

	cluster(&c, 3, 3);
	d = decide(&c);
	is_int(d.action, HA_ACTION_ALERT, "self outside the registered nodes: alert");
	cluster(&c, 0, 0);
	d = decide(&c);
	is_int(d.action, HA_ACTION_ALERT, "no registered node: alert");
}

static void
testStandbyBasics(void)
{
	Cluster		c;
	HaDecision	d;

	cluster(&c, 4, W);
	primaryLost(&c, 60000);
	d = decide(&c);
	is_int(d.action, HA_ACTION_NONE, "a witness never acts (%s)", d.reason);

	cluster(&c, 3, S1);
	d = decide(&c);
	is_int(d.action, HA_ACTION_NONE, "standby, primary reachable: nothing (%s)", d.reason);

	cluster(&c, 3, S1);
	c.nodes[S1].upstream = "s2";
	d = decide(&c);
	is_int(d.action, HA_ACTION_FOLLOW, "following another node than the primary: follow");
	is_int(d.target, P, "... the primary");
	c.nodes[S1].upstream = NULL;
	d = decide(&c);
	is_int(d.action, HA_ACTION_FOLLOW, "upstream unknown: follow the primary");

	/* a new primary at term 2 while the old one still says primary */
	cluster(&c, 3, S2);
	c.nodes[S1].role = HA_ROLE_PRIMARY;
	c.nodes[S1].term = 2;
	c.nodes[S1].timeline = 2;
	d = decide(&c);
	is_int(d.action, HA_ACTION_FOLLOW, "two claim primary: follow the newer term");
	is_int(d.target, S1, "... the one at term 2 (%s)", d.reason);

	cluster(&c, 3, S1);
	c.nodes[P].role = HA_ROLE_UNKNOWN;
	primaryLost(&c, 60000);
	d = decide(&c);
	is_int(d.action, HA_ACTION_WAIT, "no node known as primary: wait, never promote (%s)",
		   d.reason);

	cluster(&c, 3, S1);
	c.nodes[S1].role = HA_ROLE_UNKNOWN;
	primaryLost(&c, 60000);
	d = decide(&c);
	is_int(d.action, HA_ACTION_WAIT, "own role unknown: wait (%s)", d.reason);
}

static void
testPrimaryLostTiming(void)
{
	Cluster		c;
	HaDecision	d;

	cluster(&c, 3, S1);
	c.nodes[S1].receivedLsn = 0x2000100;
	c.nodes[S2].confirmedTerm = 2;
	primaryLost(&c, 9999);
	d = decide(&c);
	is_int(d.action, HA_ACTION_WAIT, "primary lost 1 ms less than the ttl: wait (%s)", d.reason);

	ok(!d.askVotes, "... and asks no votes yet");

	c.nodes[S2].confirmedTerm = 0;
	primaryLost(&c, 10000);
	d = decide(&c);
	is_int(d.action, HA_ACTION_WAIT, "lost the ttl, no confirmation yet: wait (%s)", d.reason);
	ok(d.askVotes, "... asking the voters");
	is_int(d.term, 2, "... for term 2");
	c.nodes[S2].confirmedTerm = 2;

	c.in.self = S2;
	d = decide(&c);
	is_int(d.action, HA_ACTION_WAIT, "the same seen from s2, not the candidate: wait (%s)", d.reason);
	ok(!d.askVotes, "... and it asks no votes");
	c.in.self = S1;

	c.in.settings.etcd = true;
	c.in.etcdReachable = true;
	d = decide(&c);
	ok(!d.askVotes, "with etcd the candidate asks no votes (it takes the key: %s)", d.reason);
	c.in.settings.etcd = false;
	c.in.etcdReachable = false;

	d = decide(&c);
	is_int(d.action, HA_ACTION_PROMOTE, "lost exactly the ttl: promote (%s)", d.reason);
	ok(!d.askVotes, "... no votes asked once confirmed");
	is_int(d.term, 2, "... in term 2");
	is_int(d.target, S1, "... itself");

	/* the clock went back: a last contact in the future is "just now" */
	c.nodes[P].lastContact = NOW + 3600 * SEC;
	d = decide(&c);
	is_int(d.action, HA_ACTION_WAIT, "last contact in the future (clock went back): wait");

	c.nodes[P].lastContact = 0;
	d = decide(&c);
	is_int(d.action, HA_ACTION_PROMOTE, "never in contact with the primary: lost (%s)", d.reason);

	/* a contact only a microsecond after the ttl boundary */
	c.nodes[P].lastContact = NOW - 10000 * MS + 1;
	d = decide(&c);
	is_int(d.action, HA_ACTION_WAIT, "lost 1 us less than the ttl: wait");

	primaryLost(&c, 60000);
	c.in.settings.failover = false;
	d = decide(&c);
	is_int(d.action, HA_ACTION_ALERT, "ha_failover off: alert, no promotion");
	ok(strstr(d.reason, "ha_failover is off") != NULL, "... saying so (%s)", d.reason);
}

static void
testCandidate(void)
{
	Cluster		c;
	HaDecision	d;

	/* S2 has more WAL: S1 waits for it, S2 promotes */
	cluster(&c, 3, S1);
	primaryLost(&c, 60000);
	c.nodes[S2].receivedLsn = 0x2000200;
	c.nodes[S2].confirmedTerm = 2;
	d = decide(&c);
	is_int(d.action, HA_ACTION_WAIT, "another standby has received more: wait");
	ok(strstr(d.reason, "candidate is \"s2\"") != NULL, "... naming it (%s)", d.reason);

	/* equal LSN: higher priority wins, even with a worse name */
	cluster(&c, 3, S2);
	primaryLost(&c, 60000);
	c.nodes[S1].confirmedTerm = 2;
	c.nodes[S2].priority = 50;
	d = decide(&c);
	is_int(d.action, HA_ACTION_WAIT, "same LSN, lower priority: wait");
	c.nodes[S2].priority = 150;
	d = decide(&c);
	is_int(d.action, HA_ACTION_PROMOTE, "same LSN, higher priority: promote");
	/* more WAL beats priority */
	c.nodes[S1].receivedLsn = 0x2000001;
	d = decide(&c);
	is_int(d.action, HA_ACTION_WAIT, "priority does not beat one more byte of WAL");

	/* full tie: the smallest name, seen the same from both sides */
	cluster(&c, 3, S1);
	primaryLost(&c, 60000);
	c.nodes[S2].confirmedTerm = 2;
	d = decide(&c);
	is_int(d.action, HA_ACTION_PROMOTE, "full tie: \"s1\" (smallest name) promotes");
	cluster(&c, 3, S2);
	primaryLost(&c, 60000);
	c.nodes[S1].confirmedTerm = 2;
	d = decide(&c);
	is_int(d.action, HA_ACTION_WAIT, "full tie seen from \"s2\": it waits");
	ok(strstr(d.reason, "\"s1\"") != NULL, "... for s1 (%s)", d.reason);

	/* priority 0: never, even with the most WAL */
	cluster(&c, 3, S1);
	primaryLost(&c, 60000);
	c.nodes[S2].confirmedTerm = 2;
	c.nodes[S2].receivedLsn = 0x9000000;
	c.nodes[S2].priority = 0;
	d = decide(&c);
	is_int(d.action, HA_ACTION_PROMOTE, "a priority 0 standby with more WAL is passed over");

	/* older timeline */
	cluster(&c, 3, S1);
	primaryLost(&c, 60000);
	c.nodes[S2].confirmedTerm = 2;
	c.nodes[S1].timeline = 1;
	c.nodes[S2].timeline = 2;
	c.nodes[S1].receivedLsn = 0x9000000;
	d = decide(&c);
	is_int(d.action, HA_ACTION_WAIT, "a standby on an older timeline is not the candidate");

	/* the stale replica */
	cluster(&c, 3, S1);
	primaryLost(&c, 60000);
	c.nodes[S2].reachable = false;
	c.nodes[S2].lastContact = NOW - 60000 * MS;
	c.nodes[S1].lagBytes = 64 * 1024 * 1024;
	d = decide(&c);
	is_int(d.action, HA_ACTION_ALERT, "the only standby is stale: no promotion, an alert");
	is_int(d.severity, HA_SEVERITY_CRITICAL, "... critical");
	ok(strstr(d.reason, "lag 67108864 bytes above ha_max_failover_lag 16777216") != NULL,
	   "... saying why (%s)", d.reason);
	c.nodes[S1].lagBytes = 16 * 1024 * 1024;
	c.nodes[S2].reachable = true;
	c.nodes[S2].confirmedTerm = 2;
	c.nodes[S2].lagBytes = 16 * 1024 * 1024 + 1;
	c.nodes[S2].receivedLsn = 0x9000000;
	d = decide(&c);
	is_int(d.action, HA_ACTION_PROMOTE,
		   "lag exactly at the bound qualifies; one byte above does not, whatever its LSN");
	c.nodes[S1].lagBytes = -1;
	d = decide(&c);
	is_int(d.action, HA_ACTION_ALERT, "lag unknown: never promoted");
	ok(strstr(d.reason, "\"s1\": lag unknown") != NULL, "... said (%s)", d.reason);

	/* a better standby this node cannot reach is not considered */
	cluster(&c, 4, S1);
	primaryLost(&c, 60000);
	c.nodes[S2].reachable = false;
	c.nodes[S2].lastContact = NOW - 60000 * MS;
	c.nodes[S2].receivedLsn = 0x9000000;
	c.nodes[W].confirmedTerm = 2;
	c.nodes[S2].confirmedTerm = 2;
	d = decide(&c);
	is_int(d.action, HA_ACTION_WAIT,
		   "an unreachable standby's confirmation is not counted (2 of 4)");
	c.nodes[P].voting = false;
	d = decide(&c);
	is_int(d.action, HA_ACTION_PROMOTE,
		   "with the primary not voting, s1 + witness are 2 of 3 (%s)", d.reason);
}

static void
testQuorum(void)
{
	Cluster		c;
	HaDecision	d;

	cluster(&c, 3, S1);
	primaryLost(&c, 60000);
	d = decide(&c);
	is_int(d.action, HA_ACTION_WAIT, "3 nodes, only self confirms: 1 of 3, wait");
	ok(strstr(d.reason, "only 1 of 3") != NULL, "... saying so (%s)", d.reason);
	c.nodes[S2].confirmedTerm = 1;
	d = decide(&c);
	is_int(d.action, HA_ACTION_WAIT, "a confirmation for an older term does not count");
	c.nodes[S2].confirmedTerm = 3;
	d = decide(&c);
	is_int(d.action, HA_ACTION_WAIT, "nor one for another term");
	c.nodes[S2].confirmedTerm = 2;
	d = decide(&c);
	is_int(d.action, HA_ACTION_PROMOTE, "2 of 3 confirm term 2: promote");
	c.nodes[S2].voting = false;
	d = decide(&c);
	is_int(d.action, HA_ACTION_WAIT, "a non-voting node's confirmation does not count (1 of 2)");

	/* the term proposed is one past the highest any node knows */
	cluster(&c, 3, S1);
	primaryLost(&c, 60000);
	c.nodes[S2].term = 6;
	c.nodes[S2].confirmedTerm = 7;
	d = decide(&c);
	is_int(d.action, HA_ACTION_PROMOTE, "highest known term 6: proposes 7");
	is_int(d.term, 7, "... term 7");

	/* even count: P, S1, S2, W */
	cluster(&c, 4, S1);
	primaryLost(&c, 60000);
	c.nodes[W].confirmedTerm = 2;
	d = decide(&c);
	is_int(d.action, HA_ACTION_WAIT, "4 voting nodes: s1 + witness are 2, not a majority");
	c.nodes[S2].confirmedTerm = 2;
	d = decide(&c);
	is_int(d.action, HA_ACTION_PROMOTE, "3 of 4 (a witness among them): promote");

	/* two nodes: no quorum without a witness */
	cluster(&c, 2, S1);
	primaryLost(&c, 60000);
	d = decide(&c);
	is_int(d.action, HA_ACTION_WAIT, "primary + one standby, no witness: never promotes");
	/* with a witness (P, S1, W: the witness stands at index 3) */
	cluster(&c, 4, S1);
	c.nodes[S2].voting = false;
	c.nodes[S2].priority = 0;
	primaryLost(&c, 60000);
	c.nodes[W].confirmedTerm = 2;
	d = decide(&c);
	is_int(d.action, HA_ACTION_PROMOTE, "primary + standby + witness: the witness's vote licenses");

	/* an old primary's word is not a confirmation */
	cluster(&c, 3, S1);
	primaryLost(&c, 60000);
	c.nodes[S2].role = HA_ROLE_PRIMARY;
	c.nodes[S2].term = 1;
	c.nodes[S2].confirmedTerm = 2;
	c.nodes[P].term = 1;
	c.nodes[P].timeline = 2;	/* P is the newest primary, S2 an older one */
	c.nodes[S1].timeline = 2;	/* S1 followed P onto its timeline */
	d = decide(&c);
	is_int(d.action, HA_ACTION_WAIT, "a node saying primary does not confirm (%s)", d.reason);
}

static void
testStandbyEtcd(void)
{
	Cluster		c;
	HaDecision	d;

	cluster(&c, 3, S1);
	c.in.settings.etcd = true;
	c.in.etcdReachable = true;
	primaryLost(&c, 60000);
	d = decide(&c);
	is_int(d.action, HA_ACTION_WAIT, "etcd, candidate, key free: wait ...");
	ok(d.takeLeaderKey, "... and take the key");
	c.in.leaderKeyHolder = "s1";
	d = decide(&c);
	is_int(d.action, HA_ACTION_PROMOTE, "holding the key: promote, no confirmations needed");
	ok(!d.takeLeaderKey, "... nothing more to take");
	c.in.leaderKeyHolder = "p";
	d = decide(&c);
	is_int(d.action, HA_ACTION_WAIT, "the old primary's lease still holds the key: wait");
	ok(!d.takeLeaderKey, "... no attempt to take it");
	c.in.leaderKeyHolder = NULL;
	c.in.etcdReachable = false;
	d = decide(&c);
	is_int(d.action, HA_ACTION_WAIT, "etcd unreachable: no licence");
	is_int(d.severity, HA_SEVERITY_CRITICAL, "... critical");

	/* with etcd too, nothing happens while the primary is in contact */
	cluster(&c, 3, S1);
	c.in.settings.etcd = true;
	c.in.etcdReachable = true;
	primaryLost(&c, 5000);
	d = decide(&c);
	is_int(d.action, HA_ACTION_WAIT, "etcd, primary lost less than the ttl: wait");
	ok(!d.takeLeaderKey, "... without contending for the key");

	/* a non-candidate never takes the key */
	cluster(&c, 3, S2);
	c.in.settings.etcd = true;
	c.in.etcdReachable = true;
	primaryLost(&c, 60000);
	d = decide(&c);
	is_int(d.action, HA_ACTION_WAIT, "etcd, not the candidate: wait");
	ok(!d.takeLeaderKey, "... and leave the key to the candidate");
}

static void
testPrimary(void)
{
	Cluster		c;
	HaDecision	d;

	/* with etcd */
	cluster(&c, 3, P);
	c.in.settings.etcd = true;
	c.in.etcdReachable = true;
	c.in.leaderKeyHolder = "p";
	c.in.lastRenewal = NOW - 1000 * MS;
	d = decide(&c);
	is_int(d.action, HA_ACTION_NONE, "primary, lease renewed 1 s ago: fine (%s)", d.reason);
	c.nodes[S1].reachable = c.nodes[S2].reachable = false;
	c.nodes[S1].lastContact = c.nodes[S2].lastContact = NOW - 60000 * MS;
	c.in.lastRenewal = NOW - 7999 * MS;
	d = decide(&c);
	is_int(d.action, HA_ACTION_NONE, "renewed 1 ms inside ttl - retry: fine");
	c.in.lastRenewal = NOW - 8000 * MS;
	d = decide(&c);
	is_int(d.action, HA_ACTION_FENCE, "renewal ttl - retry ago: fence (%s)", d.reason);
	c.in.lastRenewal = 0;
	d = decide(&c);
	is_int(d.action, HA_ACTION_FENCE, "never renewed, alone: fence");
	/* failsafe */
	c.nodes[S1].reachable = c.nodes[S2].reachable = true;
	c.in.etcdReachable = false;
	c.in.lastRenewal = NOW - 60000 * MS;
	d = decide(&c);
	is_int(d.action, HA_ACTION_NONE, "etcd down, every other node in contact: failsafe keeps "
		   "the primary (%s)", d.reason);
	ok(strstr(d.reason, "failsafe") != NULL, "... said");
	c.nodes[S2].reachable = false;
	c.nodes[S2].lastContact = NOW - 3000 * MS;
	d = decide(&c);
	is_int(d.action, HA_ACTION_NONE, "one node seen 3 s ago: still failsafe");
	c.nodes[S2].lastContact = NOW - 8000 * MS;
	d = decide(&c);
	is_int(d.action, HA_ACTION_FENCE, "one node not seen for ttl - retry: fence");
	/* started while etcd does not answer: no lease ever, no key known */
	cluster(&c, 3, P);
	c.in.settings.etcd = true;
	c.in.etcdReachable = false;
	c.in.leaderKeyHolder = NULL;
	c.in.lastRenewal = 0;
	d = decide(&c);
	is_int(d.action, HA_ACTION_NONE, "etcd unreachable since the start, every node in contact: "
		   "failsafe (%s)", d.reason);
	ok(strstr(d.reason, "no lease held (etcd unreachable)") != NULL, "... says no lease is held");
	ok(!d.takeLeaderKey, "... and takes no key while etcd does not answer");
	c.nodes[S2].reachable = false;
	c.nodes[S2].lastContact = 0;
	d = decide(&c);
	is_int(d.action, HA_ACTION_FENCE, "... a standby never seen (not started yet): fence (%s)",
		   d.reason);
	c.nodes[S2].reachable = true;
	c.nodes[S2].lastContact = NOW;
	c.in.etcdReachable = true;
	d = decide(&c);
	is_int(d.action, HA_ACTION_NONE, "etcd answers, the key free: still failsafe ...");
	ok(d.takeLeaderKey, "... and take the key");
	/* key held by another */
	cluster(&c, 3, P);
	c.in.settings.etcd = true;
	c.in.etcdReachable = true;
	c.in.lastRenewal = NOW;
	c.in.leaderKeyHolder = "s2";
	d = decide(&c);
	is_int(d.action, HA_ACTION_FENCE, "the key held by another node: fence at once");
	c.in.leaderKeyHolder = NULL;
	d = decide(&c);
	is_int(d.action, HA_ACTION_NONE, "key free, lease fresh: fine ...");
	ok(d.takeLeaderKey, "... and take the key");

	/* without etcd */
	cluster(&c, 3, P);
	d = decide(&c);
	is_int(d.action, HA_ACTION_NONE, "no etcd, all in contact: fine (%s)", d.reason);
	c.nodes[S1].reachable = false;
	c.nodes[S1].lastContact = NOW - 60000 * MS;
	d = decide(&c);
	is_int(d.action, HA_ACTION_NONE, "one standby lost, majority kept (2 of 3): fine");
	c.nodes[S2].reachable = false;
	c.nodes[S2].lastContact = NOW - 7999 * MS;
	d = decide(&c);
	is_int(d.action, HA_ACTION_NONE, "majority last seen 7.999 s ago: not yet");
	c.nodes[S2].lastContact = NOW - 8000 * MS;
	d = decide(&c);
	is_int(d.action, HA_ACTION_FENCE, "majority lost ttl - retry ago: fence (%s)", d.reason);
	is_int(d.severity, HA_SEVERITY_CRITICAL, "... critical");

	/* 4 voting nodes: itself and one other are not a majority */
	cluster(&c, 4, P);
	c.nodes[S1].reachable = c.nodes[S2].reachable = false;
	c.nodes[S1].lastContact = c.nodes[S2].lastContact = NOW - 9000 * MS;
	d = decide(&c);
	is_int(d.action, HA_ACTION_FENCE, "4 voting nodes, only the witness seen: fence");

	/* no voting node at all: nothing can be licensed against it */
	cluster(&c, 3, P);
	for (int i = 0; i < 3; i++)
		c.nodes[i].voting = false;
	c.nodes[S1].reachable = c.nodes[S2].reachable = false;
	d = decide(&c);
	is_int(d.action, HA_ACTION_NONE, "no voting node, no etcd: no quorum can replace it");
}

static void
testOldPrimary(void)
{
	Cluster		c;
	HaDecision	d;

	cluster(&c, 3, P);
	c.nodes[S1].role = HA_ROLE_PRIMARY;
	c.nodes[S1].term = 2;
	d = decide(&c);
	is_int(d.action, HA_ACTION_FENCE, "a primary seeing a newer term: fence");
	ok(strstr(d.reason, "until it is rejoined") != NULL, "... until rejoined (%s)", d.reason);

	cluster(&c, 3, P);
	c.nodes[S2].term = 2;		/* a voter that confirmed term 2 */
	d = decide(&c);
	is_int(d.action, HA_ACTION_FENCE, "a standby knowing a newer term is enough");

	cluster(&c, 3, P);
	c.nodes[S1].role = HA_ROLE_PRIMARY;
	c.nodes[S1].timeline = 2;
	d = decide(&c);
	is_int(d.action, HA_ACTION_FENCE, "a primary on a newer timeline: fence");

	cluster(&c, 3, P);
	c.nodes[P].role = HA_ROLE_FENCED;
	c.nodes[S1].term = 2;
	d = decide(&c);
	is_int(d.action, HA_ACTION_FENCE, "fenced, newer term seen: stays fenced");

	cluster(&c, 3, P);
	c.nodes[P].role = HA_ROLE_FENCED;
	d = decide(&c);
	is_int(d.action, HA_ACTION_RESUME, "fenced, majority again, no newer term: resume (%s)",
		   d.reason);
	c.nodes[S1].reachable = c.nodes[S2].reachable = false;
	c.nodes[S1].lastContact = c.nodes[S2].lastContact = NOW - 60000 * MS;
	d = decide(&c);
	is_int(d.action, HA_ACTION_FENCE, "fenced, still alone: stays fenced");
}

/*
 * Without etcd, a node that confirmed a term newer than the primary's
 * has pledged itself to a candidate that may have won: it no longer
 * counts in the primary's majority.  The partial heal: the old primary,
 * fenced, sees again only a voter that confirmed the new primary's term
 * (and has not followed it yet, so its own term is still the old one):
 * it stays fenced.
 */
static void
testPledged(void)
{
	Cluster		c;
	HaDecision	d;

	cluster(&c, 3, P);
	c.nodes[S1].votedTerm = 2;
	c.nodes[S2].reachable = false;
	c.nodes[S2].lastContact = NOW - 60000 * MS;
	d = decide(&c);
	is_int(d.action, HA_ACTION_FENCE, "primary in contact only with a node pledged to term 2: "
		   "fence (%s)", d.reason);
	ok(strstr(d.reason, "confirmed a newer term") != NULL, "... the reason says why");
	c.nodes[S2].reachable = true;
	c.nodes[S2].lastContact = NOW;
	d = decide(&c);
	is_int(d.action, HA_ACTION_NONE, "the other standby in contact too: a majority without "
		   "the pledged node (%s)", d.reason);
	c.nodes[S2].votedTerm = 3;
	d = decide(&c);
	is_int(d.action, HA_ACTION_FENCE, "both standbys pledged to newer terms: fence");
	c.nodes[S1].votedTerm = c.nodes[S2].votedTerm = 1;
	d = decide(&c);
	is_int(d.action, HA_ACTION_NONE, "votes in its own term count for it");

	/* the partial heal */
	cluster(&c, 3, P);
	c.nodes[P].role = HA_ROLE_FENCED;
	c.nodes[S1].votedTerm = 2;
	c.nodes[S2].reachable = false;
	c.nodes[S2].lastContact = NOW - 60000 * MS;
	d = decide(&c);
	is_int(d.action, HA_ACTION_FENCE, "fenced old primary seeing only a voter of the new term: "
		   "stays fenced (%s)", d.reason);

	/*
	 * A standby that confirmed term 2 (and detached) sees the old primary
	 * of term 1 again before the new one: it does not follow it back.
	 */
	cluster(&c, 3, S1);
	c.nodes[S1].term = 2;		/* max(term, vote) in a standby's view */
	c.nodes[S1].upstream = NULL;
	d = decide(&c);
	is_int(d.action, HA_ACTION_WAIT, "a voter of term 2 does not follow the primary of term 1 "
		   "back (%s)", d.reason);
	c.nodes[P].term = 2;
	d = decide(&c);
	is_int(d.action, HA_ACTION_FOLLOW, "... a primary of term 2 it follows");

	/* with etcd the lease is the licence: votes play no part */
	cluster(&c, 3, P);
	c.in.settings.etcd = true;
	c.in.etcdReachable = true;
	c.in.leaderKeyHolder = "p";
	c.in.lastRenewal = NOW - 1000 * MS;
	c.nodes[S1].votedTerm = c.nodes[S2].votedTerm = 2;
	d = decide(&c);
	is_int(d.action, HA_ACTION_NONE, "with etcd, the lease holds whatever votes say");
}

/*
 * With etcd, the term etcd records: an old primary that sees no other
 * node learns from it that it was replaced; a candidate proposes a term
 * above it.
 */
static void
testEtcdTerm(void)
{
	Cluster		c;
	HaDecision	d;

	cluster(&c, 3, P);
	c.in.settings.etcd = true;
	c.in.etcdReachable = true;
	c.in.leaderKeyHolder = NULL;
	c.in.lastRenewal = NOW;
	c.nodes[P].role = HA_ROLE_FENCED;
	c.nodes[S1].reachable = c.nodes[S2].reachable = false;
	c.nodes[S1].lastContact = c.nodes[S2].lastContact = NOW - 60000 * MS;
	c.in.etcdTerm = 1;
	d = decide(&c);
	is_int(d.action, HA_ACTION_RESUME, "old primary alone, the key free, etcd term = its own: "
		   "resume (%s)", d.reason);
	c.in.etcdTerm = 2;
	d = decide(&c);
	is_int(d.action, HA_ACTION_FENCE, "etcd records a newer term: stays fenced (%s)", d.reason);
	ok(!d.takeLeaderKey, "... and does not take the free key");
	ok(strstr(d.reason, "until it is rejoined") != NULL, "... until rejoined");

	cluster(&c, 3, S1);
	c.in.settings.etcd = true;
	c.in.etcdReachable = true;
	c.in.leaderKeyHolder = "s1";
	primaryLost(&c, 60000);
	c.in.etcdTerm = 7;
	d = decide(&c);
	is_int(d.action, HA_ACTION_PROMOTE, "candidate holding the key: promote");
	is_int((int) d.term, 8, "... in the term after the one etcd records");
}

/*
 * Synchronous standbys: with ANY 1 (s1, s2), an acknowledged commit is
 * on s1 or s2; a candidate needs both in contact (2 - 1 + 1), and none
 * ahead of it.
 */
static void
testSynchronous(void)
{
	static const char *const both[] = {"s1", "s2"};
	static const char *const one[] = {"s1"};
	static const char *const ghost[] = {"s1", "gone"};
	static const char *const star[] = {"*"};
	Cluster		c;
	HaDecision	d;

	cluster(&c, 3, S2);
	primaryLost(&c, 60000);
	c.nodes[S2].receivedLsn = 0x2000100;
	c.nodes[S1].confirmedTerm = 2;
	c.in.syncNum = 1;
	c.in.syncNames = both;
	c.in.nSyncNames = 2;
	d = decide(&c);
	is_int(d.action, HA_ACTION_PROMOTE, "ANY 1 (s1, s2), both in contact: the most advanced "
		   "promotes (%s)", d.reason);
	c.nodes[S1].reachable = false;
	c.nodes[S1].lastContact = NOW - 60000 * MS;
	d = decide(&c);
	is_int(d.action, HA_ACTION_ALERT, "ANY 1 (s1, s2), s1 out of contact: s2 may lack an "
		   "acknowledged commit, no promotion (%s)", d.reason);
	is_int(d.severity, HA_SEVERITY_CRITICAL, "... critical");
	ok(strstr(d.reason, "of the 2 standbys that may hold such commits only 1 is in contact, "
			  "2 needed") != NULL, "... says why");
	c.in.syncNames = both + 1;	/* the report names s2 alone */
	c.in.nSyncNames = 1;
	d = decide(&c);
	is_int(d.action, HA_ACTION_ALERT, "reported ANY 1 (s2) but s1 out of contact: s1 may have "
		   "been added since and acknowledged commits alone, no promotion (%s)", d.reason);
	c.in.syncNames = both;
	c.in.nSyncNames = 2;
	c.in.syncNames = one;
	c.in.nSyncNames = 1;
	c.nodes[S1].reachable = true;
	c.nodes[S1].lastContact = NOW;
	c.nodes[S1].priority = 0;	/* s1 holds every commit but is never promoted */
	c.nodes[S1].receivedLsn = 0x2000200;
	d = decide(&c);
	is_int(d.action, HA_ACTION_ALERT, "s1 (the synchronous one) ahead of the candidate s2: "
		   "no promotion (%s)", d.reason);
	c.nodes[S1].receivedLsn = 0x2000100;
	c.nodes[S1].confirmedTerm = 2;
	d = decide(&c);
	is_int(d.action, HA_ACTION_PROMOTE, "s2, not a member but level with s1: promote (%s)",
		   d.reason);
	c.in.syncNames = ghost;
	c.in.nSyncNames = 2;
	c.in.syncNum = 1;
	d = decide(&c);
	is_int(d.action, HA_ACTION_ALERT, "a member that is no registered node is never in "
		   "contact (%s)", d.reason);
	c.in.syncNames = star;
	c.in.nSyncNames = 1;
	c.in.syncNum = 1;
	c.nodes[S1].reachable = false;
	c.nodes[S1].lastContact = NOW - 60000 * MS;
	d = decide(&c);
	is_int(d.action, HA_ACTION_ALERT, "ANY 1 (*): every standby is a member (%s)", d.reason);
	c.in.syncNum = 0;
	d = decide(&c);
	is_int(d.action, HA_ACTION_WAIT, "no synchronous standby: the usual rules (asks votes)");

	/*
	 * A fenced old primary (its WAL on a timeline that lost, its LSN
	 * anything) is no member; a node never reached (role unknown) is.
	 */
	cluster(&c, 4, S2);
	primaryLost(&c, 60000);
	c.nodes[W].role = HA_ROLE_FENCED;
	c.nodes[W].receivedLsn = 0x9000000;
	c.nodes[S1].confirmedTerm = 2;
	c.nodes[W].confirmedTerm = 2;
	c.nodes[S2].receivedLsn = 0x2000100;
	c.in.syncNum = 1;
	c.in.syncNames = both;
	c.in.nSyncNames = 2;
	d = decide(&c);
	is_int(d.action, HA_ACTION_PROMOTE, "a fenced old primary ahead in LSN is no synchronous "
		   "member (%s)", d.reason);
	c.nodes[W].role = HA_ROLE_UNKNOWN;
	c.nodes[W].reachable = false;
	c.nodes[W].lastContact = 0;
	c.nodes[W].receivedLsn = 0;
	d = decide(&c);
	is_int(d.action, HA_ACTION_ALERT, "a registered node never reached may be one: no "
		   "promotion without it (%s)", d.reason);
}

/* A standby on an older timeline than the primary's never qualifies. */
static void
testTimeline(void)
{
	Cluster		c;
	HaDecision	d;

	cluster(&c, 3, S1);
	primaryLost(&c, 60000);
	c.nodes[P].timeline = 2;
	c.nodes[S2].timeline = 2;
	d = decide(&c);
	is_int(d.action, HA_ACTION_WAIT, "s1 on timeline 1, the primary on 2: s1 is no candidate");
	ok(strstr(d.reason, "\"s2\"") != NULL, "... s2 is (%s)", d.reason);
	c.nodes[S2].timeline = 1;
	d = decide(&c);
	is_int(d.action, HA_ACTION_ALERT, "both standbys behind the primary's timeline: none "
		   "promoted (%s)", d.reason);
	ok(strstr(d.reason, "timeline 1 behind 2") != NULL, "... the reason names the timelines");
}

/*
 * Partition sweeps: time runs in steps of 100 ms from the cut; at every
 * step, the cut-off primary's decision and each standby's are taken.  The
 * property: no step has a standby promoting while the primary is not
 * fenced (then two primaries could acknowledge writes).
 */
static void
testSplitBrain(bool etcd)
{
	const TimestampTz cut = NOW;
	bool		bad = false;
	bool		promoted = false;
	TimestampTz fencedAt = 0,
				promotedAt = 0;

	for (int64 step = 0; step <= 300; step++)
	{
		TimestampTz t = cut + step * 100 * MS;
		Cluster		pc,
					sc;
		HaDecision	pd,
					sd;
		bool		fenced;

		/* the primary: alone since the cut (and etcd unreachable since) */
		cluster(&pc, 3, P);
		pc.in.now = t;
		pc.in.settings.etcd = etcd;
		pc.in.etcdReachable = false;
		pc.in.leaderKeyHolder = "p";
		pc.in.lastRenewal = cut - 1000 * MS;	/* the last renewal before the cut */
		for (int i = S1; i <= S2; i++)
		{
			pc.nodes[i].reachable = t == cut;
			pc.nodes[i].lastContact = cut;
		}
		pd = decide(&pc);
		fenced = pd.action == HA_ACTION_FENCE;
		if (fenced && fencedAt == 0)
			fencedAt = t;

		/* s1: sees s2, not the primary since the cut */
		cluster(&sc, 3, S1);
		sc.in.now = t;
		sc.nodes[P].reachable = t == cut;
		sc.nodes[P].lastContact = cut;
		sc.in.settings.etcd = etcd;

		/*
		 * s2's answer to s1's request for term 2, as s2 decides it: it
		 * lost the primary at the cut too (its own checks and the
		 * primary's of it stopped then), it gave no vote before, and s1
		 * is level with it.
		 */
		{
			char		why[HA_REASON_SIZE];

			sc.nodes[S2].confirmedTerm =
				haVoteDecide(t, &sc.in.settings, cut, 2, "s1", sc.nodes[S1].receivedLsn,
							 1, "p", sc.nodes[S2].receivedLsn, why, sizeof(why)) ? 2 : 0;
		}
		sc.in.etcdReachable = true;
		/* the old lease expires ttl after the last renewal; then s1 takes it */
		sc.in.leaderKeyHolder = t >= cut - 1000 * MS + 10000 * MS ? "s1" : "p";
		sd = decide(&sc);
		if (sd.action == HA_ACTION_PROMOTE)
		{
			if (!promoted)
				promotedAt = t;
			promoted = true;
			if (!fenced)
				bad = true;
		}
	}
	ok(!bad, "%s: never a promotion while the cut-off primary is unfenced",
	   etcd ? "etcd" : "quorum");
	ok(promoted && fencedAt != 0 && fencedAt < promotedAt,
	   "... the primary fenced %lld ms after the cut, the standby promoted after %lld ms",
	   (long long) ((fencedAt - cut) / MS), (long long) ((promotedAt - cut) / MS));
}

static void
testStandbyCutOff(void)
{
	Cluster		c;
	HaDecision	d;
	bool		promoted = false;

	/* s2 cut off from p and s1: it never has a majority */
	for (int64 step = 0; step <= 300; step++)
	{
		cluster(&c, 3, S2);
		c.in.now = NOW + step * 100 * MS;
		c.nodes[P].reachable = c.nodes[S1].reachable = false;
		c.nodes[P].lastContact = c.nodes[S1].lastContact = NOW;
		d = decide(&c);
		if (d.action == HA_ACTION_PROMOTE)
			promoted = true;
	}
	ok(!promoted, "a standby cut off alone never promotes itself");

	/* same with etcd it cannot reach */
	cluster(&c, 3, S2);
	c.in.settings.etcd = true;
	c.in.etcdReachable = false;
	c.nodes[P].reachable = c.nodes[S1].reachable = false;
	c.nodes[P].lastContact = c.nodes[S1].lastContact = NOW - 60000 * MS;
	d = decide(&c);
	is_int(d.action, HA_ACTION_WAIT, "cut off from etcd too: no promotion");
}

/* s1 and s2 cannot see each other; both see the witness only */
static void
testTwoCandidates(void)
{
	Cluster		a,
				b;
	HaDecision	da,
				db;
	char		why[HA_REASON_SIZE];
	HaSettings	s = {true, 1000, 2000, 10000, 0, false};
	bool		wToS1,
				wToS2;

	cluster(&a, 4, S1);
	primaryLost(&a, 60000);
	a.nodes[S2].reachable = false;
	a.nodes[S2].lastContact = NOW - 60000 * MS;
	a.nodes[P].voting = false;	/* 3 voters: s1, s2, w */
	cluster(&b, 4, S2);
	primaryLost(&b, 60000);
	b.nodes[S1].reachable = false;
	b.nodes[S1].lastContact = NOW - 60000 * MS;
	b.nodes[P].voting = false;

	/* the witness votes once in term 2: s1 asked first */
	wToS1 = haVoteDecide(NOW, &s, NOW - 60000 * MS, 2, "s1", 0x2000000, 1, "p",
						 InvalidXLogRecPtr, why, sizeof(why));
	wToS2 = haVoteDecide(NOW, &s, NOW - 60000 * MS, 2, "s2", 0x2000000, 2, "s1",
						 InvalidXLogRecPtr, why, sizeof(why));
	ok(wToS1 && !wToS2, "the witness confirms term 2 once (%s)", why);
	a.nodes[W].confirmedTerm = wToS1 ? 2 : 0;
	b.nodes[W].confirmedTerm = wToS2 ? 2 : 0;
	da = decide(&a);
	db = decide(&b);
	is_int(da.action, HA_ACTION_PROMOTE, "s1 with the witness's vote: 2 of 3, promote");
	is_int(db.action, HA_ACTION_WAIT, "s2 without it: wait (%s)", db.reason);
}

static void
testVote(void)
{
	HaSettings	s = {true, 1000, 2000, 10000, 0, false};
	char		why[HA_REASON_SIZE];

	ok(!haVoteDecide(NOW, &s, NOW - 5000 * MS, 2, "s1", 10, 1, "p", 0, why, sizeof(why)),
	   "no vote while the primary was seen within the ttl (%s)", why);
	ok(haVoteDecide(NOW, &s, NOW - 10000 * MS, 2, "s1", 10, 1, "p", 0, why, sizeof(why)),
	   "a vote once the ttl passed (%s)", why);
	ok(haVoteDecide(NOW, &s, 0, 2, "s1", 10, 2, "s1", 0, why, sizeof(why)),
	   "asked again by the same candidate, same term: the same answer");
	ok(!haVoteDecide(NOW, &s, 0, 2, "s2", 10, 2, "s1", 0, why, sizeof(why)),
	   "another candidate in the same term: refused (%s)", why);
	ok(!haVoteDecide(NOW, &s, 0, 1, "s2", 10, 2, "s1", 0, why, sizeof(why)),
	   "an older term: refused");
	ok(haVoteDecide(NOW, &s, 0, 3, "s2", 10, 2, "s1", 0, why, sizeof(why)),
	   "a newer term: granted");
	ok(!haVoteDecide(NOW, &s, 0, 3, "s2", 10, 2, "s1", 11, why, sizeof(why)),
	   "a candidate behind the voter's own WAL: refused (%s)", why);
	ok(!haVoteDecide(NOW, &s, NOW + 3600 * SEC, 3, "s2", 10, 2, "s1", 0, why, sizeof(why)),
	   "a last contact in the future (clock went back): refused");
}

static void
testNames(void)
{
	is_str(haActionName(HA_ACTION_PROMOTE), "promote", "action names");
	is_str(haActionName(HA_ACTION_RESUME), "resume", "... resume");
	is_str(haRoleName(HA_ROLE_FENCED), "fenced", "role names");
	is_str(haRoleName(HA_ROLE_UNKNOWN), "unknown", "... unknown");
}

int
main(void)
{
	testSettings();
	testStandbyBasics();
	testPrimaryLostTiming();
	testCandidate();
	testQuorum();
	testStandbyEtcd();
	testPrimary();
	testOldPrimary();
	testPledged();
	testEtcdTerm();
	testSynchronous();
	testTimeline();
	testSplitBrain(false);
	testSplitBrain(true);
	testStandbyCutOff();
	testTwoCandidates();
	testVote();
	testNames();
	return tapDone();
}
