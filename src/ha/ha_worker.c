/*-------------------------------------------------------------------------
 * ha_worker.c
 *	  The HA worker: automatic failover (docs/ha.md).  A background worker
 *	  of its own on every node (primary and standbys, started once a
 *	  standby is consistent), not a duty of the pg_dr worker: that one
 *	  starts only after recovery and may spend minutes on a backup step,
 *	  while this one must act within ha_check_interval.
 *
 * Each round (every ha_check_interval):
 *	 1. the registry (pgdr.nodes, read in a transaction; a standby reads
 *		its replicated copy) and this node in it (ha_node_name);
 *	 2. with etcd: renew the lease it holds (keepalive), read the leader
 *		key;
 *	 3. every peer at once, through ha_peer.c, one deadline
 *		(ha_retry_timeout): pgdr.ha_peer_status(self) there, which answers
 *		its role, timeline, LSNs, term and vote, and records our contact;
 *	 4. the snapshot for haDecide (ha_decide.h): the peers' answers, the
 *		contact each made with us, this node's own position, the lags
 *		(the primary's flushed LSN minus each standby's received LSN, kept
 *		as "last known" while the primary cannot be seen);
 *	 5. the decision, and when it asks: take the leader key (etcd) or ask
 *		the voting peers for the term (pgdr.ha_vote), then decide again;
 *	 6. the action: promote (pg_promote), follow (primary_conninfo
 *		rewritten + reload), fence, resume, alert; and the licence the
 *		write guard checks (ha_state.h).
 * Every transition and the observation that caused it goes to the server
 * log and into pgdr.ha_events (audited by its trigger), written when this
 * node can write (a standby's events wait in memory until it is primary).
 *
 * Terms.  A node's term (the state file) is the term of the primary it
 * is or follows: the winner records the term it was promoted in before
 * pg_promote; a standby takes the term of the primary it follows.  A
 * standby's decision sees each node's max(term, the term it voted in), so
 * a candidate always proposes a term no voter has given yet; a primary's
 * sees the terms alone, so a vote that led nowhere fences nobody.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/pmsignal.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "common/config.h"
#include "ha/etcd.h"
#include "ha/ha_conninfo.h"
#include "ha/ha_decide.h"
#include "ha/ha_peer.h"
#include "ha/ha_state.h"
#include "ha/ha_worker.h"
#include "ops/alert.h"
#include "ops/duty.h"
#include "ops/worker.h"
#include "pg_dr.h"

#define MS	((int64) 1000)

/* One registered node as this worker knows it. */
typedef struct HaNode
{
	char		name[HA_NAME_SIZE];
	int			priority;
	bool		self;
	HaPeer		peer;			/* others: the connection */
	/* last known */
	HaRole		role;
	bool		reachable;		/* in this round */
	bool		everSeen;
	TimestampTz lastContact;
	XLogRecPtr	receivedLsn;
	XLogRecPtr	replayedLsn;
	XLogRecPtr	flushedLsn;
	TimeLineID	timeline;
	uint64		term;
	uint64		votedTerm;
	uint64		confirmedTerm;	/* the term it confirmed to us */
	int64		lagBytes;		/* -1: unknown */
	char		upstream[HA_NAME_SIZE];
	/* a primary: its synchronous standbys as it last reported them */
	int			syncNum;		/* 0: none */
	char		syncNames[1024];	/* comma-separated */
	char		error[256];
} HaNode;

/* An event for pgdr.ha_events, kept until this node can write it. */
typedef struct HaEvent
{
	TimestampTz at;
	char		action[16];
	uint64		term;
	char		reason[HA_REASON_SIZE];
	int64		durationMs;		/* promote: since the primary was last
								 * seen; -1: none */
} HaEvent;

#define HA_EVENTS_MAX	64

static HaNode haNodes[HA_NODES_MAX];
static int	haNodeCount = 0;
static int	haSelf = -1;
static HaEvent haEvents[HA_EVENTS_MAX];
static int	haEventCount = 0;

/* configuration */
static bool haConfigured = false;
static bool haWitness = false;	/* ha_witness: votes only */
static HaSettings haSettings;
static char haNodeName[HA_NAME_SIZE];
static char haLeaderKey[256];
static EtcdClient *haEtcd = NULL;

/* etcd */
static int64 haLeaseId = 0;
static TimestampTz haLastRenewal = 0;
static bool haEtcdReachable = false;
static bool haEtcdAsked = false;	/* etcd was asked once since the start */
static char haEtcdEndpoints[256];	/* ha_etcd_endpoints, for messages */
static char haHolder[HA_NAME_SIZE];
static bool haHolderKnown = false;
static char haTermKey[256];
static uint64 haEtcdTerm = 0;	/* the term key's value as last read */
static int64 haEtcdTermRev = 0; /* ... and its mod_revision (0: absent) */
static bool haLeaseAdoptTried = false;

/* the previous round, to log what changed */
static HaAction haLastAction = HA_ACTION_NONE;
static int	haLastTarget = -2;
static TimestampTz haLicensedUntil = 0;
static bool haGuardPersisted = false;

/* when this worker started: contact with the primary is not older */
static TimestampTz haWorkerStartedAt = 0;
static bool haReplacedLogged = false;
static bool haReplaced = false;	/* fenced and replaced (haSharedSetReplaced) */
static TimestampTz haWakeAt = 0;	/* the next round sooner (haWakeSet); 0: none */
static TimestampTz haRegistryReadAt = 0;	/* haRegistryDue; 0: read next round */

void
haWorkerRegister(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS |
		BGWORKER_BACKEND_DATABASE_CONNECTION;
	/* a standby runs it too: from the moment it accepts read queries */
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	worker.bgw_restart_time = 1;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "pg_dr");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "pg_dr_ha_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "pg_dr ha worker");
	snprintf(worker.bgw_type, BGW_MAXLEN, "pg_dr ha worker");
	RegisterBackgroundWorker(&worker);
}

/* ---------------------------------------------------------------- events */

static void
haEvent(const char *action, uint64 term, int64 durationMs, int elevel,
		const char *reason)
{
	HaEvent    *e;

	ereport(elevel,
			(errmsg("pg_dr ha: %s: %s", action, reason)));
	if (haEventCount == HA_EVENTS_MAX)
	{
		/* keep the newest: the oldest goes (it is in the server log) */
		memmove(&haEvents[0], &haEvents[1], sizeof(HaEvent) * (HA_EVENTS_MAX - 1));
		haEventCount--;
	}
	e = &haEvents[haEventCount++];
	e->at = GetCurrentTimestamp();
	strlcpy(e->action, action, sizeof(e->action));
	e->term = term;
	strlcpy(e->reason, reason, sizeof(e->reason));
	e->durationMs = durationMs;
}

static void
haEventsWriteStep(void *arg)
{
	Oid			argtypes[6] = {TIMESTAMPTZOID, TEXTOID, TEXTOID, INT8OID, TEXTOID, INT8OID};

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	for (int i = 0; i < haEventCount; i++)
	{
		HaEvent    *e = &haEvents[i];
		Datum		values[6];
		char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};

		values[0] = TimestampTzGetDatum(e->at);
		values[1] = CStringGetTextDatum(haNodeName);
		values[2] = CStringGetTextDatum(e->action);
		values[3] = Int64GetDatum((int64) e->term);
		values[4] = CStringGetTextDatum(e->reason);
		values[5] = Int64GetDatum(e->durationMs);
		if (e->durationMs < 0)
			nulls[5] = 'n';
		if (SPI_execute_with_args("INSERT INTO pgdr.ha_events (at, node, action, term, reason, duration_ms)"
								  " VALUES ($1, $2, $3, $4, $5, $6)",
								  6, argtypes, values, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not insert into pgdr.ha_events");
	}
	SPI_finish();
}

/* Write the events kept, when this node is a primary that may write. */
static void
haEventsFlush(void)
{
	HaPersist	p;

	if (haEventCount == 0 || RecoveryInProgress())
		return;
	haSharedGetPersist(&p);
	if (p.fenced)
		return;
	if (dutyXactRun("pg_dr ha: recording events", haEventsWriteStep, NULL))
		haEventCount = 0;
}

/* ---------------------------------------------------------- configuration */

static void
haConfigRead(void)
{
	DrError		err;
	DrConfig   *config;
	EtcdClient *etcd = NULL;
	static bool complained = false;

	if (drConfigFile == NULL || drConfigFile[0] == '\0')
	{
		/* no configuration file at all: HA is off */
		if (haEtcd != NULL)
			etcdClientFree(haEtcd);
		haEtcd = NULL;
		haConfigured = false;
		return;
	}
	drErrorClear(&err);
	config = configLoad(drConfigFile, &err);
	if (config == NULL)
	{
		/*
		 * A file that cannot be read (a typo, a half-written edit) changes
		 * nothing: the settings in force stay, and so do the rounds, the
		 * write guard and the fencing.  Only a file read whole that has no
		 * ha_* setting takes HA out.
		 */
		if (!complained)
			ereport(WARNING,
					(errmsg("pg_dr ha: the configuration file cannot be read: %s", err.message),
					 errdetail("The HA settings in force stay until it can be read."),
					 errhint("Fix it and reload (SELECT pg_reload_conf()).")));
		complained = true;
		return;
	}
	complained = false;
	if (config->ha.configured && config->ha.etcdEndpoints != NULL)
	{
		EtcdClientParam param;

		memset(&param, 0, sizeof(param));
		param.endpoints = config->ha.etcdEndpoints;
		param.timeoutMs = config->ha.retryTimeoutMs;
		etcd = etcdClientNew(&param, &err);
		if (etcd == NULL)
		{
			ereport(WARNING,
					(errmsg("pg_dr ha: %s", err.message),
					 errdetail("The HA settings in force stay until the etcd endpoints can be used.")));
			configFree(config);
			return;
		}
	}
	if (haEtcd != NULL)
		etcdClientFree(haEtcd);
	haEtcd = etcd;
	haConfigured = config->ha.configured;
	if (config->ha.configured)
	{
		haSettings.failover = config->ha.failover;
		haSettings.checkIntervalMs = config->ha.checkIntervalMs;
		haSettings.retryTimeoutMs = config->ha.retryTimeoutMs;
		haSettings.leaseTtlMs = config->ha.leaseTtlMs;
		haSettings.maxFailoverLag = config->ha.maxFailoverLag;
		haSettings.etcd = config->ha.etcdEndpoints != NULL;
		haWitness = config->ha.witness;
		strlcpy(haNodeName, config->ha.nodeName, sizeof(haNodeName));
		snprintf(haLeaderKey, sizeof(haLeaderKey), "/pg_dr/%s/leader", config->ha.clusterName);
		snprintf(haTermKey, sizeof(haTermKey), "/pg_dr/%s/term", config->ha.clusterName);
		strlcpy(haEtcdEndpoints, config->ha.etcdEndpoints ? config->ha.etcdEndpoints : "",
				sizeof(haEtcdEndpoints));
	}
	configFree(config);
}

/* ---------------------------------------------------------------- registry */

typedef struct HaRegRow
{
	char		name[HA_NAME_SIZE];
	char	   *conninfo;
	int			priority;
} HaRegRow;

typedef struct HaRegRead
{
	HaRegRow	rows[HA_NODES_MAX];
	int			n;
	MemoryContext cxt;
} HaRegRead;

static void
haRegistryStep(void *arg)
{
	HaRegRead  *r = arg;
	char		timeout[32];

	/*
	 * A lock held on pgdr.nodes (an ALTER, a LOCK TABLE) must not stop the
	 * rounds: wait at most one retry timeout, then the round is skipped
	 * (the next one tries again).
	 */
	snprintf(timeout, sizeof(timeout), "%lld", (long long) haSettings.retryTimeoutMs);
	(void) set_config_option("lock_timeout", timeout, PGC_SUSET, PGC_S_SESSION,
							 GUC_ACTION_LOCAL, true, 0, false);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT name, conninfo, priority FROM pgdr.nodes ORDER BY name",
					true, HA_NODES_MAX) != SPI_OK_SELECT)
		elog(ERROR, "could not read pgdr.nodes");
	r->n = 0;
	for (uint64 i = 0; i < SPI_processed && r->n < HA_NODES_MAX; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		char	   *name = SPI_getvalue(t, d, 1);
		char	   *conninfo = SPI_getvalue(t, d, 2);
		char	   *prio = SPI_getvalue(t, d, 3);

		strlcpy(r->rows[r->n].name, name, HA_NAME_SIZE);
		r->rows[r->n].conninfo = MemoryContextStrdup(r->cxt, conninfo);
		r->rows[r->n].priority = atoi(prio);
		r->n++;
	}
	SPI_finish();
}

/* Read the registry; keep what is known of nodes still registered. */
static bool
haRegistryRefresh(void)
{
	static MemoryContext cxt = NULL;
	HaRegRead	r;
	HaNode		old[HA_NODES_MAX];
	int			oldCount = haNodeCount;

	if (cxt == NULL)
		cxt = AllocSetContextCreate(TopMemoryContext, "pg_dr ha registry",
									ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(cxt);
	memset(&r, 0, sizeof(r));
	r.cxt = cxt;
	if (!dutyXactRun(NULL, haRegistryStep, &r))
		return false;

	memcpy(old, haNodes, sizeof(HaNode) * oldCount);
	memset(haNodes, 0, sizeof(haNodes));
	haSelf = -1;
	for (int i = 0; i < r.n; i++)
	{
		HaNode	   *n = &haNodes[i];
		bool		kept = false;

		for (int j = 0; j < oldCount; j++)
			if (strcmp(old[j].name, r.rows[i].name) == 0)
			{
				*n = old[j];
				old[j].name[0] = '\0';	/* taken */
				kept = true;
				break;
			}
		if (!kept)
		{
			strlcpy(n->name, r.rows[i].name, sizeof(n->name));
			n->lagBytes = -1;
			n->role = HA_ROLE_UNKNOWN;
		}
		n->priority = r.rows[i].priority;
		n->self = strcmp(n->name, haNodeName) == 0;
		if (n->self)
			haSelf = i;
		/* a changed conninfo: a new connection */
		if (n->peer.conninfo == NULL || strcmp(n->peer.conninfo, r.rows[i].conninfo) != 0)
		{
			haPeerClose(&n->peer);
			if (n->peer.conninfo)
				pfree(n->peer.conninfo);
			n->peer.conninfo = MemoryContextStrdup(TopMemoryContext, r.rows[i].conninfo);
		}
		strlcpy(n->peer.name, n->name, sizeof(n->peer.name));
	}
	/* nodes unregistered: their connections go */
	for (int j = 0; j < oldCount; j++)
		if (old[j].name[0] != '\0')
		{
			haPeerClose(&old[j].peer);
			if (old[j].peer.result)
				PQclear(old[j].peer.result);
			if (old[j].peer.conninfo)
				pfree(old[j].peer.conninfo);
		}
	haNodeCount = r.n;
	return true;
}

/*
 * Whether this round reads the registry: every round while a node is not
 * reachable (a failover may be near, and the majority counts the nodes
 * registered now) or this node is not in it, else once a second.  At rest
 * with a short ha_check_interval, a transaction per round on a table that
 * seldom changes was most of the worker's time; a node registered or
 * unregistered is seen within a second.
 */
static bool
haRegistryDue(TimestampTz now)
{
	if (haRegistryReadAt == 0 || haSelf < 0 || haNodeCount == 0 ||
		now - haRegistryReadAt >= 1000 * MS)
		return true;
	for (int i = 0; i < haNodeCount; i++)
		if (!haNodes[i].self && !haNodes[i].reachable)
			return true;
	return false;
}

/* ---------------------------------------------------------------- etcd */

static void haAlert(const char *key, AlertSeverity severity, const char *message);

/*
 * etcd did not answer (err): said in the server log and by a critical
 * alert when it answered before or was never asked since the start (a
 * node started while etcd is down says so at once).
 */
static void
haEtcdUnreachable(const DrError *err)
{
	if (haEtcdReachable || !haEtcdAsked)
	{
		char		msg[ALERT_MESSAGE_MAX];

		ereport(WARNING,
				(errmsg("pg_dr ha: etcd unreachable: %s", err->message),
				 errdetail("ha_etcd_endpoints is '%s'. Without etcd no standby can be promoted, and a primary keeps its licence only while it sees every registered node (failsafe).",
						   haEtcdEndpoints)));
		snprintf(msg, sizeof(msg), "etcd does not answer at '%s' (ha_etcd_endpoints): %s; "
				 "no standby can be promoted until it answers, and the primary keeps "
				 "accepting writes only while it sees every registered node",
				 haEtcdEndpoints, err->message);
		haAlert("etcd_unreachable", ALERT_CRITICAL, msg);
	}
	haEtcdAsked = true;
	haEtcdReachable = false;
}

/* etcd answered: said when it did not before. */
static void
haEtcdAnswered(void)
{
	if (!haEtcdReachable)
	{
		ereport(LOG, (errmsg("pg_dr ha: etcd answers at '%s'", haEtcdEndpoints)));
		if (haEtcdAsked)
			alertResolveQueued("ha", "etcd_unreachable");
	}
	haEtcdAsked = true;
	haEtcdReachable = true;
}

static void
haEtcdRound(void)
{
	DrError		err;
	EtcdKv		kv;
	bool		found;

	if (haEtcd == NULL)
		return;

	/*
	 * A worker that restarted lost its lease id, not its lease: when the
	 * leader key names this node, its lease is ours to renew (else the key
	 * would expire under a primary that still runs).  Once per start.
	 */
	if (haLeaseId == 0 && !haLeaseAdoptTried && !RecoveryInProgress())
	{
		drErrorClear(&err);
		memset(&kv, 0, sizeof(kv));
		if (etcdGet(haEtcd, haLeaderKey, &kv, &found, &err))
		{
			haLeaseAdoptTried = true;
			if (found && strcmp(kv.value, haNodeName) == 0 && kv.lease != 0)
			{
				haLeaseId = kv.lease;
				ereport(LOG, (errmsg("pg_dr ha: the leader key names this node: renewing its "
									 "lease %lld", (long long) haLeaseId)));
			}
			if (found)
				etcdKvFree(&kv);
		}
		else
		{
			/*
			 * The leader key is not read again in this round: a second
			 * wait of a retry timeout would outlast the failsafe licence
			 * (below, the write guard).
			 */
			haEtcdUnreachable(&err);
			return;
		}
	}
	if (haLeaseId != 0)
	{
		TimestampTz sent = haClockNow();
		int64		ttl;

		drErrorClear(&err);
		if (etcdLeaseKeepAlive(haEtcd, haLeaseId, &ttl, &err))
		{
			haLastRenewal = sent;
			haEtcdAnswered();
		}
		else if (err.code == DR_ERR_NOT_FOUND)
		{
			ereport(LOG, (errmsg("pg_dr ha: etcd lease %lld lost: %s",
								 (long long) haLeaseId, err.message)));
			haLeaseId = 0;
			haEtcdAnswered();
		}
		else
		{
			haEtcdUnreachable(&err);

			/*
			 * No second wait of a retry timeout for the leader key in the
			 * same round: the round must end (and the decision fence, if
			 * it must) within ha_lease_ttl - ha_retry_timeout of the last
			 * renewal.  The key and the term as last read stay.
			 */
			return;
		}
	}
	drErrorClear(&err);
	memset(&kv, 0, sizeof(kv));
	if (etcdGet(haEtcd, haLeaderKey, &kv, &found, &err))
	{
		haEtcdAnswered();
		haHolderKnown = found;
		if (found)
		{
			strlcpy(haHolder, kv.value, sizeof(haHolder));
			etcdKvFree(&kv);
		}
	}
	else
	{
		haEtcdUnreachable(&err);
		/* the holder as last read stays */
		return;
	}
	/* the term etcd records (it only grows: keep the highest seen) */
	drErrorClear(&err);
	memset(&kv, 0, sizeof(kv));
	if (etcdGet(haEtcd, haTermKey, &kv, &found, &err))
	{
		if (found)
		{
			uint64		t = strtou64(kv.value, NULL, 10);

			haEtcdTermRev = kv.modRevision;
			if (t > haEtcdTerm)
				haEtcdTerm = t;
			etcdKvFree(&kv);
		}
		else
			haEtcdTermRev = 0;
	}
	else
		haEtcdUnreachable(&err);
}

/*
 * Record term in etcd before promoting in it: only over the value last
 * read (compare on its revision), so two candidates never both record
 * one.  False when etcd did not take it (another wrote first, or etcd
 * did not answer): no promotion this round.
 */
static bool
haEtcdRecordTerm(uint64 term)
{
	DrError		err;
	char		value[32];
	bool		put;
	bool		found;
	EtcdKv		current;

	if (term <= haEtcdTerm)
	{
		ereport(LOG, (errmsg("pg_dr ha: term " UINT64_FORMAT " is not newer than the term etcd "
							 "records (" UINT64_FORMAT ")", term, haEtcdTerm)));
		return false;
	}
	snprintf(value, sizeof(value), UINT64_FORMAT, term);
	drErrorClear(&err);
	memset(&current, 0, sizeof(current));
	if (!etcdPutIfRevision(haEtcd, haTermKey, value, haEtcdTermRev, &put, &current, &found, &err))
	{
		ereport(LOG, (errmsg("pg_dr ha: term " UINT64_FORMAT " not recorded in etcd: %s",
							 term, err.message)));
		return false;
	}
	if (!put)
	{
		if (found)
		{
			uint64		t = strtou64(current.value, NULL, 10);

			haEtcdTermRev = current.modRevision;
			haEtcdTerm = Max(haEtcdTerm, t);
			etcdKvFree(&current);
		}
		ereport(LOG, (errmsg("pg_dr ha: term " UINT64_FORMAT " not recorded: etcd's term key "
							 "changed meanwhile (it records " UINT64_FORMAT ")",
							 term, haEtcdTerm)));
		return false;
	}
	haEtcdTerm = term;
	return true;
}

/* Take the free leader key under our lease; true when we hold it. */
static bool
haEtcdTakeKey(void)
{
	DrError		err;
	bool		created = false;
	bool		holderFound = false;
	EtcdKv		holder;

	drErrorClear(&err);
	if (haLeaseId == 0)
	{
		TimestampTz sent = haClockNow();
		int64		granted;
		int64		ttlSec = (haSettings.leaseTtlMs + 999) / 1000;

		if (!etcdLeaseGrant(haEtcd, ttlSec, &haLeaseId, &granted, &err))
		{
			ereport(LOG, (errmsg("pg_dr ha: etcd lease not granted: %s", err.message)));
			haLeaseId = 0;
			return false;
		}
		haLastRenewal = sent;
	}
	memset(&holder, 0, sizeof(holder));
	if (!etcdCreate(haEtcd, haLeaderKey, haNodeName, haLeaseId, &created,
					&holder, &holderFound, &err))
	{
		ereport(LOG, (errmsg("pg_dr ha: leader key not taken: %s", err.message)));
		return false;
	}
	if (created)
	{
		strlcpy(haHolder, haNodeName, sizeof(haHolder));
		haHolderKnown = true;
		ereport(LOG, (errmsg("pg_dr ha: took the leader key %s under lease %lld",
							 haLeaderKey, (long long) haLeaseId)));
		return true;
	}
	if (holderFound)
	{
		strlcpy(haHolder, holder.value, sizeof(haHolder));
		haHolderKnown = true;
		etcdKvFree(&holder);
	}
	return strcmp(haHolder, haNodeName) == 0;
}

/* ---------------------------------------------------------------- peers */

static bool
haParseLsn(const char *s, XLogRecPtr *lsn)
{
	unsigned int hi,
				lo;

	if (s == NULL || sscanf(s, "%X/%X", &hi, &lo) != 2)
		return false;
	*lsn = ((uint64) hi << 32) | lo;
	return true;
}

static HaRole
haRoleParse(const char *s)
{
	if (s == NULL)
		return HA_ROLE_UNKNOWN;
	if (strcmp(s, "primary") == 0)
		return HA_ROLE_PRIMARY;
	if (strcmp(s, "standby") == 0)
		return HA_ROLE_STANDBY;
	if (strcmp(s, "fenced") == 0)
		return HA_ROLE_FENCED;
	if (strcmp(s, "witness") == 0)
		return HA_ROLE_WITNESS;
	return HA_ROLE_UNKNOWN;
}

static void
haPeersCheck(bool selfPrimary)
{
	HaPeer		peers[HA_NODES_MAX];
	bool		want[HA_NODES_MAX];
	int			timeouts[HA_NODES_MAX];
	const char *params[1] = {haNodeName};
	char		app[NAMEDATALEN];
	TimestampTz sent = haClockNow();
	TimestampTz received;

	snprintf(app, sizeof(app), "pg_dr ha %s", haNodeName);
	for (int i = 0; i < haNodeCount; i++)
	{
		peers[i] = haNodes[i].peer;
		want[i] = !haNodes[i].self;

		/*
		 * A peer that did not answer last round is waited for at most
		 * ha_check_interval, when that is shorter than ha_retry_timeout:
		 * waiting a whole retry timeout for a node that is gone every
		 * round made a round last that long, and a primary's licence
		 * (ha_lease_ttl - ha_retry_timeout from a round's start) could run
		 * out before the next round renewed it, with a majority in sight.
		 */
		timeouts[i] = (int) (haNodes[i].reachable ? haSettings.retryTimeoutMs :
							 Min(haSettings.retryTimeoutMs, haSettings.checkIntervalMs));
	}
	haPeersRunEach(peers, haNodeCount, want, timeouts,
				   "SELECT node, role, timeline, received_lsn, replayed_lsn, flushed_lsn,"
				   " term, voted_term, upstream, sync_num, sync_names"
				   " FROM pgdr.ha_peer_status($1)",
				   1, params, app);
	received = haClockNow();

	for (int i = 0; i < haNodeCount; i++)
	{
		HaNode	   *n = &haNodes[i];
		HaPeer	   *p = &peers[i];
		bool		was = n->reachable;

		n->peer = *p;
		if (n->self)
			continue;
		n->reachable = false;
		if (p->ok && PQntuples(p->result) == 1)
		{
			PGresult   *r = p->result;
			const char *node = PQgetisnull(r, 0, 0) ? NULL : PQgetvalue(r, 0, 0);

			if (node != NULL && strcmp(node, n->name) != 0)
				snprintf(n->error, sizeof(n->error),
						 "answers as node \"%s\", not \"%s\": check its conninfo in dr_nodes",
						 node, n->name);
			else
			{
				n->reachable = true;
				n->everSeen = true;
				n->role = haRoleParse(PQgetvalue(r, 0, 1));
				n->timeline = (TimeLineID) strtoul(PQgetvalue(r, 0, 2), NULL, 10);
				(void) haParseLsn(PQgetvalue(r, 0, 3), &n->receivedLsn);
				(void) haParseLsn(PQgetvalue(r, 0, 4), &n->replayedLsn);
				(void) haParseLsn(PQgetvalue(r, 0, 5), &n->flushedLsn);
				n->term = strtou64(PQgetvalue(r, 0, 6), NULL, 10);
				n->votedTerm = strtou64(PQgetvalue(r, 0, 7), NULL, 10);
				strlcpy(n->upstream, PQgetisnull(r, 0, 8) ? "" : PQgetvalue(r, 0, 8),
						sizeof(n->upstream));
				n->syncNum = PQgetisnull(r, 0, 9) ? 0 : atoi(PQgetvalue(r, 0, 9));
				strlcpy(n->syncNames, PQgetisnull(r, 0, 10) ? "" : PQgetvalue(r, 0, 10),
						sizeof(n->syncNames));
				/* contact: as late as it may be for a standby, as early
				 * for a primary (ha_decide.h: the primary's view of a
				 * contact is never later than the other's) */
				n->lastContact = selfPrimary ? sent : received;
				n->error[0] = '\0';
			}
		}
		else if (p->ok)
			snprintf(n->error, sizeof(n->error), "pgdr.ha_peer_status() answered %d rows",
					 PQntuples(p->result));
		else
			strlcpy(n->error, p->error[0] ? p->error : "no answer", sizeof(n->error));
		if (!n->reachable && n->lastContact == 0)
			n->role = n->everSeen ? n->role : HA_ROLE_UNKNOWN;
		if (was != n->reachable)
			ereport(LOG,
					(errmsg("pg_dr ha: node \"%s\" %s%s%s", n->name,
							n->reachable ? "reachable" : "unreachable",
							n->reachable ? "" : ": ", n->reachable ? "" : n->error)));
	}
	haPeersClear(peers, haNodeCount);
	for (int i = 0; i < haNodeCount; i++)
		haNodes[i].peer.result = NULL;
}

/*
 * Ask the reachable voting peers for term for this node (pre: whether
 * they would grant it, recording nothing); a granted real vote sets the
 * node's confirmedTerm.  Returns how many granted.
 */
static int
haVoteRound(uint64 term, bool pre)
{
	HaPeer		peers[HA_NODES_MAX];
	bool		want[HA_NODES_MAX];
	char		termText[32];
	char		lsnText[32];
	const char *params[4];
	char		app[NAMEDATALEN];
	HaNode	   *self = &haNodes[haSelf];
	int			granted = 0;

	snprintf(termText, sizeof(termText), UINT64_FORMAT, term);
	snprintf(lsnText, sizeof(lsnText), "%X/%X", LSN_FORMAT_ARGS(self->receivedLsn));
	params[0] = termText;
	params[1] = haNodeName;
	params[2] = lsnText;
	params[3] = pre ? "true" : "false";
	snprintf(app, sizeof(app), "pg_dr ha %s", haNodeName);
	for (int i = 0; i < haNodeCount; i++)
	{
		peers[i] = haNodes[i].peer;
		want[i] = !haNodes[i].self && haNodes[i].reachable;
	}
	haPeersRun(peers, haNodeCount, want,
			   "SELECT granted, reason FROM pgdr.ha_vote($1::pg_catalog.int8, $2,"
			   " $3::pg_catalog.pg_lsn, $4::pg_catalog.bool)",
			   4, params, (int) haSettings.retryTimeoutMs, app);
	for (int i = 0; i < haNodeCount; i++)
	{
		HaNode	   *n = &haNodes[i];

		n->peer = peers[i];
		if (!want[i])
			continue;
		if (peers[i].ok && PQntuples(peers[i].result) == 1)
		{
			bool		yes = strcmp(PQgetvalue(peers[i].result, 0, 0), "t") == 0;

			if (yes)
			{
				granted++;
				if (!pre)
					n->confirmedTerm = term;
			}
			ereport(LOG,
					(errmsg("pg_dr ha: node \"%s\" %s term " UINT64_FORMAT "%s: %s", n->name,
							yes ? "confirms" : "does not confirm", term,
							pre ? " (pre-vote)" : "", PQgetvalue(peers[i].result, 0, 1))));
		}
		else
			ereport(LOG,
					(errmsg("pg_dr ha: node \"%s\" did not answer the %s: %s", n->name,
							pre ? "pre-vote" : "vote", peers[i].error)));
	}
	haPeersClear(peers, haNodeCount);
	for (int i = 0; i < haNodeCount; i++)
		haNodes[i].peer.result = NULL;
	return granted;
}

/*
 * Ask the reachable voting peers to confirm term for this node: first a
 * pre-vote, which records nothing anywhere; only when a majority would
 * confirm does this node give its own vote and ask for the real ones.
 * So a standby cut off from the primary alone (the others still see it)
 * pledges no voter, not even itself, to a term that cannot win: a
 * pledge to a newer term takes the voter out of the primary's majority
 * (ha_decide.h), and a lost election would leave it there.
 */
static void
haAskVotes(uint64 term)
{
	char		reason[HA_REASON_SIZE];
	HaNode	   *self = &haNodes[haSelf];
	int			would;

	if (!haStateVote(term, haNodeName, self->receivedLsn, true, reason, sizeof(reason)))
	{
		ereport(LOG, (errmsg("pg_dr ha: no own vote for term " UINT64_FORMAT ": %s",
							 term, reason)));
		return;
	}
	would = 1 + haVoteRound(term, true);
	if (would * 2 <= haNodeCount)
	{
		ereport(LOG, (errmsg("pg_dr ha: pre-vote for term " UINT64_FORMAT ": %d of %d voting "
							 "nodes would confirm (more than half needed): no election",
							 term, would, haNodeCount)));
		return;
	}
	/* this node's own vote first: it confirms one candidate per term */
	if (!haStateVote(term, haNodeName, self->receivedLsn, false, reason, sizeof(reason)))
	{
		ereport(LOG, (errmsg("pg_dr ha: no own vote for term " UINT64_FORMAT ": %s",
							 term, reason)));
		return;
	}
	(void) haVoteRound(term, false);
}

/*
 * When the next round is due sooner than ha_check_interval: a standby
 * that lost the primary (p, without etcd) decides again the moment
 * ha_lease_ttl has passed since its last contact, not up to a check
 * interval later.  Past that moment the voters' own last contacts may
 * still be a little younger than the TTL (each saw the primary in its own
 * round, up to ha_check_interval later, or was checked by it), so a
 * refused pre-vote is asked again every HA_WAKE_RETRY_MS until they too
 * have gone a whole TTL without the primary: at most ha_check_interval +
 * ha_retry_timeout later.  After that a refusal is for a reason that
 * waiting a few ms does not change (the voters still see the primary), and
 * the rounds keep their interval.
 */
#define HA_WAKE_RETRY_MS 10

static void
haWakeSet(int p)
{
	TimestampTz now = haClockNow();
	TimestampTz deadline;

	haWakeAt = 0;
	if (haSettings.etcd || !haSettings.failover || haWitness || p < 0 || p == haSelf ||
		!RecoveryInProgress() || haNodes[p].reachable || !haNodes[p].everSeen ||
		haNodes[p].lastContact == 0)
		return;
	deadline = haNodes[p].lastContact + haSettings.leaseTtlMs * MS;
	if (now < deadline)
		haWakeAt = deadline + MS;
	else if (now < deadline + (haSettings.checkIntervalMs + haSettings.retryTimeoutMs) * MS)
		haWakeAt = now + HA_WAKE_RETRY_MS * MS;
}

/* ---------------------------------------------------------------- actions */

typedef struct HaFollowArg
{
	const char *conninfo;
} HaFollowArg;

/*
 * primary_conninfo rewritten the way ALTER SYSTEM does it:
 * AlterSystemSetConfigFile writes postgresql.auto.conf under its lock
 * (AutoFileLock, so a concurrent ALTER SYSTEM is not lost), to a
 * temporary file that is fsynced and renamed into place; it needs a
 * transaction (it checks superuser, which this worker is: it runs as the
 * bootstrap superuser) but writes no WAL, so it works on a standby.  The
 * caller then signals the postmaster to reload: PostgreSQL 15 applies a
 * changed primary_conninfo on reload (the startup process restarts the
 * WAL receiver with the new value), no restart needed.
 */
static void
haFollowStep(void *arg)
{
	HaFollowArg *a = arg;
	AlterSystemStmt *stmt = makeNode(AlterSystemStmt);
	VariableSetStmt *set = makeNode(VariableSetStmt);
	A_Const    *value = makeNode(A_Const);

	value->val.sval.type = T_String;
	value->val.sval.sval = pstrdup(a->conninfo);
	value->location = -1;
	set->kind = VAR_SET_VALUE;
	set->name = "primary_conninfo";
	set->args = list_make1(value);
	stmt->setstmt = set;
	AlterSystemSetConfigFile(stmt);
}

static bool
haFollow(HaNode *target)
{
	HaFollowArg a;
	StringInfoData conninfo;

	initStringInfo(&conninfo);
	/* the registry's conninfo, and our name for pg_stat_replication */
	appendStringInfo(&conninfo, "%s application_name=%s", target->peer.conninfo, haNodeName);
	a.conninfo = conninfo.data;
	if (!dutyXactRun("pg_dr ha: rewriting primary_conninfo", haFollowStep, &a))
		return false;
	if (kill(PostmasterPid, SIGHUP) != 0)
	{
		ereport(WARNING, (errmsg("pg_dr ha: could not signal the postmaster to reload: %m")));
		return false;
	}
	return true;
}

/*
 * A vote this node gave says the primary is gone: stream from nobody
 * until a primary is seen again (the FOLLOW rule then attaches this node
 * to it, since it follows no node).  haStateVote already told the
 * walreceiver to go.
 */
static void
haDetach(void)
{
	HaFollowArg a;

	a.conninfo = "";
	if (!dutyXactRun("pg_dr ha: emptying primary_conninfo", haFollowStep, &a))
		return;
	if (kill(PostmasterPid, SIGHUP) != 0)
		ereport(WARNING, (errmsg("pg_dr ha: could not signal the postmaster to reload: %m")));
	haStateSetUpstream("");
	haEvent("detach", 0, -1, LOG, "this node confirmed the primary gone: it streams from no "
			"node until it follows the next primary");
}

/*
 * pg_promote(wait => false), then wait up to 60 s for recovery to end,
 * looking every 5 ms: pg_promote's own wait looks every 100 ms, a tenth
 * of a second added to every failover.  True once promoted.
 */
static bool
haPromote(void)
{
	volatile bool signalled = false;
	MemoryContext cxt = CurrentMemoryContext;
	TimestampTz deadline;

	PG_TRY();
	{
		signalled = DatumGetBool(DirectFunctionCall2(pg_promote, BoolGetDatum(false),
													 Int32GetDatum(60)));
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		EmitErrorReport();
		FlushErrorState();
	}
	PG_END_TRY();
	if (!signalled)
		return false;
	deadline = haClockNow() + 60 * 1000 * MS;
	while (RecoveryInProgress() && haClockNow() < deadline)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 5,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	if (RecoveryInProgress())
		ereport(WARNING,
				(errmsg("pg_dr ha: this node was asked to promote, but it is still in recovery after 60 s")));
	return !RecoveryInProgress();
}

/* An alert of source "ha", written by the pg_dr worker (queued). */
static void
haAlert(const char *key, AlertSeverity severity, const char *message)
{
	AlertRaise	raise;

	memset(&raise, 0, sizeof(raise));
	raise.source = "ha";
	raise.key = key;
	raise.severity = severity;
	raise.message = message;
	alertRaiseQueued(&raise);
}

/* ---------------------------------------------------------------- round */

static void
haObservedPublish(const HaDecision *d)
{
	HaObserved obs[HA_NODES_MAX];

	memset(obs, 0, sizeof(obs));
	for (int i = 0; i < haNodeCount; i++)
	{
		HaNode	   *n = &haNodes[i];
		HaObserved *o = &obs[i];

		strlcpy(o->name, n->name, sizeof(o->name));
		o->role = n->role;
		o->timeline = n->timeline;
		o->receivedLsn = n->receivedLsn;
		o->replayedLsn = n->replayedLsn;
		o->flushedLsn = n->flushedLsn;
		o->term = n->term;
		o->reachable = n->self || n->reachable;
		o->lastSeenClock = n->self ? haClockNow() : n->lastContact;
		o->lastSeen = haClockToWall(o->lastSeenClock);
		if (n->role == HA_ROLE_FENCED)
			strlcpy(o->health, "fenced", sizeof(o->health));
		else if (!o->reachable)
			strlcpy(o->health, "unreachable", sizeof(o->health));
		else if (n->role == HA_ROLE_STANDBY && n->lagBytes > haSettings.maxFailoverLag)
			strlcpy(o->health, "lagging", sizeof(o->health));
		else if (n->role == HA_ROLE_STANDBY && n->lagBytes < 0)
			strlcpy(o->health, "lag unknown", sizeof(o->health));
		else
			strlcpy(o->health, "ok", sizeof(o->health));
		if (n->self && haSettings.etcd && !haEtcdReachable)
			snprintf(o->reason, sizeof(o->reason), "this node: etcd does not answer at '%s'; %s%s%s",
					 haEtcdEndpoints, d ? haActionName(d->action) : "observing",
					 d ? ": " : "", d ? d->reason : " (ha_failover is off)");
		else if (n->self)
			snprintf(o->reason, sizeof(o->reason), "this node: %s%s%s",
					 d ? haActionName(d->action) : "observing",
					 d ? ": " : "", d ? d->reason : " (ha_failover is off)");
		else if (!n->reachable)
			snprintf(o->reason, sizeof(o->reason), "%s", n->error);
		else if (n->role == HA_ROLE_STANDBY)
			snprintf(o->reason, sizeof(o->reason), "answers; term " UINT64_FORMAT
					 ", lag %lld bytes, follows %s", n->term, (long long) n->lagBytes,
					 n->upstream[0] ? n->upstream : "?");
		else
			snprintf(o->reason, sizeof(o->reason), "answers; term " UINT64_FORMAT, n->term);
	}
	haSharedSetObserved(obs, haNodeCount);
}

/* The node other than self that is primary with the highest term. */
static int
haPrimaryIndex(void)
{
	int			best = -1;

	for (int i = 0; i < haNodeCount; i++)
	{
		HaNode	   *n = &haNodes[i];

		if (n->self || n->role != HA_ROLE_PRIMARY)
			continue;
		if (best < 0 || n->term > haNodes[best].term ||
			(n->term == haNodes[best].term && n->timeline > haNodes[best].timeline))
			best = i;
	}
	return best;
}

static void haInputBuild(bool selfStandby, HaDecideInput *out, HaNodeView *views,
						 const char **syncNames);

static void
haDecideNow(bool selfStandby, HaDecision *d)
{
	HaNodeView views[HA_NODES_MAX];
	HaDecideInput in;
	const char *syncNames[HA_NODES_MAX];

	haInputBuild(selfStandby, &in, views, syncNames);
	haDecide(&in, d);
}

/*
 * The decision's input as this worker knows it now; views and syncNames
 * (HA_NODES_MAX each) hold what it points to.
 */
static void
haInputBuild(bool selfStandby, HaDecideInput *out, HaNodeView *views,
			 const char **syncNames)
{
	HaDecideInput in;
	int			nSync = 0;
	int			p;

	memset(&in, 0, sizeof(in));
	for (int i = 0; i < haNodeCount; i++)
	{
		HaNode	   *n = &haNodes[i];
		HaNodeView *v = &views[i];

		v->name = n->name;
		v->role = n->role;
		v->reachable = n->self || n->reachable;
		v->lastContact = n->lastContact;
		v->receivedLsn = n->receivedLsn;
		v->replayedLsn = n->replayedLsn;
		v->timeline = n->timeline;
		v->term = selfStandby ? Max(n->term, n->votedTerm) : n->term;
		v->votedTerm = n->votedTerm;
		v->priority = n->priority;
		v->lagBytes = n->lagBytes;
		v->voting = true;
		v->confirmedTerm = n->confirmedTerm;
		v->upstream = n->upstream[0] ? n->upstream : NULL;
	}
	in.now = haClockNow();
	in.settings = haSettings;
	in.nodes = views;
	in.nNodes = haNodeCount;
	in.self = haSelf;
	in.etcdReachable = haEtcdReachable;
	in.leaderKeyHolder = haHolderKnown ? haHolder : NULL;
	in.lastRenewal = haLeaseId != 0 ? haLastRenewal : 0;
	in.etcdTerm = haSettings.etcd ? haEtcdTerm : 0;

	/* the synchronous standbys the current primary last reported */
	p = selfStandby ? haPrimaryIndex() : -1;
	if (p >= 0 && haNodes[p].syncNum > 0)
	{
		char	   *copy = pstrdup(haNodes[p].syncNames);
		char	   *save = NULL;

		for (char *tok = strtok_r(copy, ",", &save); tok != NULL && nSync < HA_NODES_MAX;
			 tok = strtok_r(NULL, ",", &save))
			syncNames[nSync++] = tok;
		in.syncNum = haNodes[p].syncNum;
		in.syncNames = syncNames;
		in.nSyncNames = nSync;
	}
	*out = in;
}

/*
 * Promote this node in term: the term on disk first, pg_promote, the
 * licence the write guard checks, the event with the measured time.
 * old: the primary it replaces (-1: unknown).  msg (when not NULL) says
 * what happened.
 */
static bool
haDoPromote(uint64 term, const char *reason, int old, TimestampTz roundStart,
			char *msg, size_t msgSize)
{
	int64		boundMs = haSettings.leaseTtlMs - haSettings.retryTimeoutMs;
	TimestampTz lost = old >= 0 ? haNodes[old].lastContact : 0;
	TimestampTz evidence = haSettings.etcd ? haLastRenewal : roundStart;
	TimestampTz done;
	char		text[HA_REASON_SIZE];

	ereport(LOG, (errmsg("pg_dr ha: promote: %s", reason)));
	if (haSettings.etcd && !haEtcdRecordTerm(term))
	{
		snprintf(text, sizeof(text), "term " UINT64_FORMAT " could not be recorded in etcd: "
				 "no promotion (the server log says why)", term);
		if (msg)
			strlcpy(msg, text, msgSize);
		return false;
	}
	haStateSetTerm(term);
	haStateSetUpstream("");
	/* the licence it was given holds for the new primary */
	haSharedSetLicence(true, evidence + boundMs * MS);
	if (!haPromote())
	{
		snprintf(text, sizeof(text), "pg_promote() did not finish: this node is still a standby");
		haEvent("alert", term, -1, WARNING, text);
		if (msg)
			strlcpy(msg, text, msgSize);
		return false;
	}
	done = haClockNow();
	haLicensedUntil = evidence + boundMs * MS;
	haStateSetGuard(true);
	haGuardPersisted = true;
	snprintf(text, sizeof(text), "promoted in term " UINT64_FORMAT " after %lld ms "
			 "without the primary: %s", term,
			 lost ? (long long) ((done - lost) / MS) : -1LL, reason);
	haEvent("promote", term, lost ? (done - lost) / MS : -1, LOG, text);
	if (msg)
		strlcpy(msg, text, msgSize);
	return true;
}

/*
 * dr_failover() asked this node to promote itself (its checks passed in
 * the caller's backend): the licence as for an automatic failover (the
 * leader key; a majority confirming a new term), then the promotion.
 */
static void
haManualFailover(bool inRecovery, int p, TimestampTz roundStart, bool force)
{
	uint64		term = 0;
	char		msg[HA_REASON_SIZE];
	char		reason[HA_REASON_SIZE];

	if (!inRecovery)
	{
		haManualDone(false, "this node is a primary already");
		return;
	}
	if (!force)
	{
		HaNodeView views[HA_NODES_MAX];
		HaDecideInput in;
		const char *syncNames[HA_NODES_MAX];

		haInputBuild(true, &in, views, syncNames);
		if (!haDecideSyncSafe(&in, haSelf, reason, sizeof(reason)))
		{
			snprintf(msg, sizeof(msg), "promoting this node could lose acknowledged commits: "
					 "%s; pass force => true to accept that", reason);
			haManualDone(false, msg);
			return;
		}
	}
	for (int i = 0; i < haNodeCount; i++)
		term = Max(term, Max(haNodes[i].term, haNodes[i].votedTerm));
	if (haSettings.etcd)
		term = Max(term, haEtcdTerm);
	term++;
	if (haSettings.etcd)
	{
		if (!haEtcdReachable)
		{
			snprintf(msg, sizeof(msg), "etcd does not answer at '%s' (ha_etcd_endpoints; the "
					 "server log says why): no licence to be primary, nothing was changed; "
					 "start etcd, then try again", haEtcdEndpoints);
			haManualDone(false, msg);
			return;
		}
		if (!haEtcdTakeKey())
		{
			snprintf(msg, sizeof(msg), "the leader key is held by \"%s\" (its lease has not run out)",
					 haHolderKnown ? haHolder : "?");
			haManualDone(false, msg);
			return;
		}
	}
	else
	{
		int			confirmed = 1;	/* this node, if its own vote holds */
		HaPersist	pst;

		haAskVotes(term);
		haSharedGetPersist(&pst);
		if (pst.votedTerm != term || strcmp(pst.votedFor, haNodeName) != 0)
			confirmed = 0;
		for (int i = 0; i < haNodeCount; i++)
			if (!haNodes[i].self && haNodes[i].confirmedTerm == term)
				confirmed++;
		if (confirmed * 2 <= haNodeCount)
		{
			snprintf(msg, sizeof(msg), "only %d of %d voting nodes confirm term " UINT64_FORMAT
					 " (more than half needed; the server logs say why each refused)",
					 confirmed, haNodeCount, term);
			haManualDone(false, msg);
			return;
		}
	}
	snprintf(reason, sizeof(reason), "dr_failover() asked for it%s",
			 haSettings.etcd ? "; this node holds the leader key" : "; a majority confirms");
	if (haDoPromote(term, reason, p, roundStart, msg, sizeof(msg)))
		haManualDone(true, msg);
	else
		haManualDone(false, msg);
}

static void
haRound(void)
{
	HaNode	   *self;
	HaPersist	persist;
	bool		inRecovery;
	TimeLineID	tli;
	XLogRecPtr	received,
				replayed,
				flushed;
	TimestampTz roundStart = haClockNow();
	int			p;
	HaDecision	d;
	int64		boundMs = haSettings.leaseTtlMs - haSettings.retryTimeoutMs;
	bool		manualForce = false;

	haWakeAt = 0;				/* set again by the decision below, if it asks */
	/* a dead postmaster's node checks nobody (see haPeersRun) */
	if (!PostmasterIsAlive())
		proc_exit(1);
	if (haRegistryDue(roundStart))
	{
		if (!haRegistryRefresh())
			return;
		haRegistryReadAt = roundStart;
	}
	if (haSelf < 0)
	{
		haSharedSetObserved(NULL, 0);
		/* not in the cluster: nothing to guard against */
		haSharedSetLicence(false, 0);
		if (haGuardPersisted)
		{
			haStateSetGuard(false);
			haGuardPersisted = false;
		}
		if (haLastAction != HA_ACTION_ALERT)
			ereport(WARNING,
					(errmsg("pg_dr ha: this node, \"%s\" (ha_node_name), is not registered: nothing is checked",
							haNodeName),
					 errhint("Register it on the primary with dr_node_register('%s', conninfo).",
							 haNodeName)));
		haLastAction = HA_ACTION_ALERT;
		return;
	}
	self = &haNodes[haSelf];
	if (haDetachTake() && RecoveryInProgress())
		haDetach();
	haSharedGetPersist(&persist);

	/* this node as it is */
	haSelfPosition(&inRecovery, &tli, &received, &replayed, &flushed);
	if (inRecovery && persist.fenced)
	{
		/* rejoined as a standby: the fence is lifted */
		haStateSetFenced(false);
		haReplaced = false;
		haSharedSetReplaced(false);
		haEvent("unfence", persist.term, -1, LOG,
				"this node runs as a standby now: a fence is for primaries");
		haSharedGetPersist(&persist);
	}
	self->role = haWitness ? HA_ROLE_WITNESS : inRecovery ? HA_ROLE_STANDBY :
		persist.fenced ? HA_ROLE_FENCED : HA_ROLE_PRIMARY;
	self->timeline = tli;
	self->receivedLsn = received;
	self->replayedLsn = replayed;
	self->flushedLsn = flushed;
	self->term = persist.term;
	self->votedTerm = persist.votedTerm;
	strlcpy(self->upstream, persist.upstream, sizeof(self->upstream));
	self->lastContact = roundStart;
	self->everSeen = true;
	if (!inRecovery)
		self->lagBytes = -1;

	if (haSettings.etcd)
		haEtcdRound();
	haPeersCheck(!inRecovery);

	/* the contact peers made with us counts too (symmetry) */
	for (int i = 0; i < haNodeCount; i++)
	{
		TimestampTz in;

		if (haNodes[i].self)
			continue;
		in = haSharedIncomingContact(haNodes[i].name);
		if (in > haNodes[i].lastContact)
			haNodes[i].lastContact = in;
	}

	/*
	 * Lags: the primary's flushed LSN as last known (now, when it answers)
	 * against what each standby in contact has received now, so a
	 * standby's lag is never older than this round; one on another
	 * timeline than the primary's has no comparable position (unknown).
	 */
	p = (inRecovery || persist.fenced || haWitness) ? haPrimaryIndex() : haSelf;
	if (p >= 0 && haNodes[p].everSeen)
	{
		XLogRecPtr	top = haNodes[p].flushedLsn;

		for (int i = 0; i < haNodeCount; i++)
		{
			HaNode	   *n = &haNodes[i];

			if (i == p || n->role != HA_ROLE_STANDBY || !(n->self || n->reachable))
				continue;
			if (n->timeline != haNodes[p].timeline)
				n->lagBytes = -1;
			else
				n->lagBytes = top > n->receivedLsn ? (int64) (top - n->receivedLsn) : 0;
		}
	}
	/* what the votes of this node need: its last contact with the primary */
	if (p >= 0 && p != haSelf)
		haSharedSetPrimaryContact(haNodes[p].reachable ? haClockNow() :
								  Max(haNodes[p].lastContact, haWorkerStartedAt),
								  haNodes[p].name);
	else if (!inRecovery && !persist.fenced && !haWitness)
		haSharedSetPrimaryContact(haClockNow(), haNodeName);

	/* a standby takes the term of the primary it follows */
	if (inRecovery && p >= 0 && haNodes[p].reachable &&
		strcmp(persist.upstream, haNodes[p].name) == 0 && haNodes[p].term > persist.term)
	{
		haStateSetTerm(haNodes[p].term);
		self->term = haNodes[p].term;
	}

	if (haManualTake(&manualForce))
	{
		haManualFailover(inRecovery, p, roundStart, manualForce);
		/* this node as it is now, for the decision below */
		haSelfPosition(&inRecovery, &tli, &received, &replayed, &flushed);
		haSharedGetPersist(&persist);
		self->role = inRecovery ? HA_ROLE_STANDBY : HA_ROLE_PRIMARY;
		self->timeline = tli;
		self->receivedLsn = received;
		self->replayedLsn = replayed;
		self->flushedLsn = flushed;
		self->term = persist.term;
		strlcpy(self->upstream, persist.upstream, sizeof(self->upstream));
	}

	if (!haSettings.failover && inRecovery)
	{
		/*
		 * A standby observes, and follows a new primary (made by
		 * dr_failover).  A primary keeps its licence and fences as with
		 * ha_failover on (below): dr_failover can promote a standby while
		 * the primary is cut off rather than dead, and the old one must
		 * then stop writing just the same.
		 */
		haDecideNow(inRecovery, &d);
		if (d.action == HA_ACTION_FOLLOW && haFollow(&haNodes[d.target]))
		{
			haStateSetUpstream(haNodes[d.target].name);
			if (haNodes[d.target].term > persist.term)
				haStateSetTerm(haNodes[d.target].term);
			haEvent("follow", haNodes[d.target].term, -1, LOG, d.reason);
		}
		else if (d.action == HA_ACTION_ALERT && haLastAction != HA_ACTION_ALERT)
		{
			haEvent("alert", self->term, -1, WARNING, d.reason);
			haAlert("failover", d.severity == HA_SEVERITY_CRITICAL ?
					ALERT_CRITICAL : ALERT_WARNING, d.reason);
		}
		else if (d.action != HA_ACTION_ALERT && haLastAction == HA_ACTION_ALERT)
			alertResolveQueued("ha", "failover");
		haLastAction = d.action;
		haLastTarget = d.target;
		haObservedPublish(&d);
		if (haGuardPersisted || persist.guard)
		{
			haStateSetGuard(false);
			haGuardPersisted = false;
		}
		haSharedSetLicence(false, 0);
		haEventsFlush();
		return;
	}

	haDecideNow(inRecovery, &d);
	if (haSettings.etcd && d.takeLeaderKey && haEtcdReachable)
	{
		if (haEtcdTakeKey())
			haDecideNow(inRecovery, &d);
	}
	if (!haSettings.etcd && d.askVotes)
	{
		haAskVotes(d.term);
		haDecideNow(inRecovery, &d);
	}

	/* log what changed */
	if (d.action != haLastAction || d.target != haLastTarget)
	{
		if (d.action == HA_ACTION_NONE || d.action == HA_ACTION_WAIT)
			haEvent(haActionName(d.action), self->term, -1, LOG, d.reason);
	}

	switch (d.action)
	{
		case HA_ACTION_PROMOTE:
			(void) haDoPromote(d.term, d.reason, p, roundStart, NULL, 0);
			break;
		case HA_ACTION_FOLLOW:
			{
				HaNode	   *t = &haNodes[d.target];

				if (haFollow(t))
				{
					haStateSetUpstream(t->name);
					if (t->term > persist.term)
						haStateSetTerm(t->term);
					haEvent("follow", t->term, -1, LOG, d.reason);
				}
				break;
			}
		case HA_ACTION_FENCE:
			/* replaced: no walsender, every round (one may have started) */
			if (haReplaced)
				(void) haTerminateClients(true);
			/* replaced: said once, when first seen */
			if (strstr(d.reason, "stays fenced until it is rejoined") != NULL && !haReplaced)
			{
				int			cut;

				/* no standby streams from here any more */
				haReplaced = true;
				haSharedSetReplaced(true);
				cut = haTerminateClients(true);
				if (persist.fenced && !haReplacedLogged)
				{
					haReplacedLogged = true;
					haEvent("fence", persist.term, -1, LOG, d.reason);
				}
				if (cut > 0)
					ereport(LOG, (errmsg("pg_dr ha: %d walsenders terminated: this node was "
										 "replaced", cut)));
			}
			if (!persist.fenced)
			{
				int			killed;
				char		msg[HA_REASON_SIZE + 64];

				haStateSetFenced(true);
				haSharedSetLicence(true, 0);
				haLicensedUntil = 0;
				killed = haTerminateClients(false);
				snprintf(msg, sizeof(msg), "%s (%d client sessions terminated)", d.reason, killed);
				haEvent("fence", persist.term, -1, WARNING, msg);
				haAlert("fenced", ALERT_CRITICAL, msg);
			}
			break;
		case HA_ACTION_RESUME:
			haStateSetFenced(false);
			haReplacedLogged = false;
			haReplaced = false;
			haSharedSetReplaced(false);
			haEvent("resume", persist.term, -1, WARNING, d.reason);
			alertResolveQueued("ha", "fenced");
			break;
		case HA_ACTION_ALERT:
			if (d.action != haLastAction)
			{
				haEvent("alert", self->term, -1, WARNING, d.reason);
				haAlert("failover", d.severity == HA_SEVERITY_CRITICAL ?
						ALERT_CRITICAL : ALERT_WARNING, d.reason);
			}
			break;
		case HA_ACTION_NONE:
		case HA_ACTION_WAIT:
			if (haLastAction == HA_ACTION_ALERT)
				alertResolveQueued("ha", "failover");
			break;
	}
	haLastAction = d.action;
	haLastTarget = d.target;
	haWakeSet(p);

	/* the licence the write guard checks (a primary that is not fenced) */
	haSharedGetPersist(&persist);
	if (!RecoveryInProgress() && !persist.fenced && !haWitness &&
		(d.action == HA_ACTION_NONE || d.action == HA_ACTION_RESUME ||
		 d.action == HA_ACTION_PROMOTE))
	{
		TimestampTz evidence = 0;
		int			reachable = 0;

		/*
		 * As the decision counts (ha_decide.h): a node that confirmed a
		 * term newer than this node's is not in its majority.
		 */
		for (int i = 0; i < haNodeCount; i++)
			if (haNodes[i].self ||
				(haNodes[i].reachable && haNodes[i].votedTerm <= persist.term))
				reachable++;
		if (haSettings.etcd)
		{
			if (haHolderKnown && strcmp(haHolder, haNodeName) == 0 && haLeaseId != 0)
				evidence = haLastRenewal;

			/*
			 * The failsafe: every node in contact, since the earliest of
			 * those contacts (each made after etcd answered or timed out
			 * in this round, so a round that waited for an etcd that does
			 * not answer still leaves a licence that outlasts the next
			 * round).  No standby contends before ha_lease_ttl after its
			 * own contact with this node, which is not earlier.
			 */
			if (reachable == haNodeCount && haNodeCount > 1)
			{
				TimestampTz all = 0;

				for (int i = 0; i < haNodeCount; i++)
					if (!haNodes[i].self && (all == 0 || haNodes[i].lastContact < all))
						all = haNodes[i].lastContact;
				evidence = Max(evidence, Max(all, roundStart));
			}
		}
		else if (reachable * 2 > haNodeCount)
			evidence = roundStart;
		if (evidence != 0 && evidence + boundMs * MS > haLicensedUntil)
			haLicensedUntil = evidence + boundMs * MS;
		haSharedSetLicence(true, haLicensedUntil);
		if (!haGuardPersisted)
		{
			haStateSetGuard(true);
			haGuardPersisted = true;
		}
	}
	haObservedPublish(&d);
	haEventsFlush();
}

static void
haWorkerExit(int code, Datum arg)
{
	haSharedSetSettings(NULL, false, false);
	haSharedSetWorkerLatch(NULL);
}

void
pg_dr_ha_worker_main(Datum arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnection(drDatabase, NULL, 0);
	pgstat_report_appname("pg_dr ha worker");
	/* as in the pg_dr worker (worker.c): its SQL sees only pg_catalog */
	SetConfigOption("search_path", DR_SAFE_SEARCH_PATH, PGC_SUSET, PGC_S_OVERRIDE);

	/*
	 * As in the pg_dr worker too: its own commits (pgdr.ha_events) never
	 * wait for a synchronous standby, or a primary whose standbys are gone
	 * would stop its rounds and its lease renewals in that wait.
	 */
	SetConfigOption("synchronous_commit", "local", PGC_SUSET, PGC_S_OVERRIDE);
	on_shmem_exit(haWorkerExit, (Datum) 0);
	haSharedSetWorkerLatch(MyLatch);

	/*
	 * What this node has not seen counts as seen just now: a voter whose
	 * worker (re)starts confirms that the primary is gone only after
	 * ha_lease_ttl of its own without contact, never at once because its
	 * memory of the primary was lost with the restart.
	 */
	haWorkerStartedAt = haClockNow();
	haSharedSetPrimaryContact(haWorkerStartedAt, NULL);

	haConfigRead();
	if (haConfigured)
	{
		HaPersist	loaded;

		haStateLoad(haNodeName);
		haSharedGetPersist(&loaded);
		haGuardPersisted = loaded.guard;
		haSharedSetSettings(&haSettings, true, haWitness);
		ereport(LOG,
				(errmsg("pg_dr ha worker started: node \"%s\", failover %s, %s, check every %lld ms",
						haNodeName, haSettings.failover ? "on" : "off",
						haSettings.etcd ? "etcd" : "quorum of the registered nodes",
						(long long) haSettings.checkIntervalMs)));
	}

	for (;;)
	{
		TimestampTz start = haClockNow();
		int64		sleepMs;

		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			char		before[HA_NAME_SIZE];

			ConfigReloadPending = false;
			strlcpy(before, haNodeName, sizeof(before));
			ProcessConfigFile(PGC_SIGHUP);
			haConfigRead();
			haRegistryReadAt = 0;
			/* the state file is this node's: read again only for another */
			if (haConfigured && strcmp(before, haNodeName) != 0)
				haStateLoad(haNodeName);
			haSharedSetSettings(haConfigured ? &haSettings : NULL, haConfigured, haWitness);

			/*
			 * HA taken out of the configuration: nobody establishes a
			 * licence any more, so the write guard goes (a fence stays: it
			 * is lifted by a rejoin, or by HA seeing the licence again).
			 */
			if (!haConfigured)
			{
				haSharedSetLicence(false, 0);
				if (haGuardPersisted)
				{
					haStateSetGuard(false);
					haGuardPersisted = false;
				}
			}
		}
		if (haConfigured)
		{
			MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_dr ha round",
													  ALLOCSET_DEFAULT_SIZES);
			MemoryContext old = MemoryContextSwitchTo(cxt);

			haRound();
			MemoryContextSwitchTo(old);
			MemoryContextDelete(cxt);
			sleepMs = haSettings.checkIntervalMs - (haClockNow() - start) / MS;
			if (haWakeAt != 0 && (haWakeAt - haClockNow()) / MS < sleepMs)
				sleepMs = (haWakeAt - haClockNow()) / MS;
			if (sleepMs < 0)
				sleepMs = 0;
		}
		else
			sleepMs = 60000;	/* nothing to do until a reload says otherwise */
		pgstat_report_activity(STATE_IDLE, NULL);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 (long) sleepMs, PG_WAIT_EXTENSION);
	}
}
