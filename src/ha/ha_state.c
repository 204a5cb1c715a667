/*-------------------------------------------------------------------------
 * ha_state.c
 *	  The HA state shared by the processes of one node, the state file,
 *	  the fencing hooks and the SQL functions peers call (see ha_state.h).
 *
 * pgdr.ha_peer_status(caller) and pgdr.ha_vote(term, candidate, lsn) are
 * what a peer's HA worker runs here (dr_admin only, the extension script
 * says); pgdr.ha_observed() feeds the dr_nodes view.  None runs SQL: they
 * read and change shared memory and the state file.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <time.h>
#include <signal.h>
#include <unistd.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "catalog/pg_authid.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/auth.h"
#include "libpq/libpq-be.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "replication/syncrep.h"
#include "replication/walreceiver.h"
#include "storage/condition_variable.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/latch.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "common/config.h"
#include "ha/ha_state.h"
#include "pg_dr.h"

typedef struct HaIncoming
{
	char		name[HA_NAME_SIZE];
	TimestampTz at;
} HaIncoming;

typedef struct HaShared
{
	LWLock	   *lock;
	HaPersist	persist;
	bool		workerRunning;
	bool		witness;		/* ha_witness: this node only votes */
	HaSettings	settings;
	/* the commit guard */
	bool		guard;
	TimestampTz licensedUntil;
	/* for votes: this node's last contact with the primary it knows */
	TimestampTz lastPrimaryContact;
	char		primary[HA_NAME_SIZE];
	HaIncoming	incoming[HA_NODES_MAX];
	int			nObserved;
	HaObserved	observed[HA_NODES_MAX];
	/* dr_failover(): one request at a time, carried out by the worker */
	Latch	   *workerLatch;
	ConditionVariable manualCv;
	uint64		manualSeq;		/* bumped per request */
	bool		manualPending;
	bool		manualForce;	/* dr_failover(force => true) */
	bool		detachPending;	/* a vote was given: stop streaming from
								 * the old primary (haDetachTake) */
	bool		replaced;		/* fenced, and a newer term or primary
								 * seen: no standby streams from here */
	uint64		manualDoneSeq;	/* the request the result is of */
	bool		manualOk;
	char		manualMsg[HA_REASON_SIZE];
	int			manualPid;		/* the backend whose dr_failover() call
								 * holds the request slot; 0: none.  One
								 * call at a time, so that the force the
								 * worker takes is that call's own */
	uint64		manualTakenSeq; /* the request the worker took last */
	/* dr_switchover() (ha_switchover.c) */
	int			switchoverPid;	/* its backend while the old primary's
								 * client writes are held; 0: none */
	TimestampTz switchoverUntil;	/* ... until then (0: no limit yet) */
	bool		switchoverPromoting;	/* the target promotes itself: it
										 * votes for nobody */
	uint64		switchoverGranted;	/* the term a primary gave this node
									 * for a switchover (0: none); a vote
									 * of its own in an election it ran
									 * is no licence to promote */
} HaShared;

static HaShared *haShared = NULL;
static ClientAuthentication_hook_type prevClientAuthHook = NULL;
static ProcessUtility_hook_type prevProcessUtility = NULL;

PG_FUNCTION_INFO_V1(pg_dr_ha_peer_status);
PG_FUNCTION_INFO_V1(pg_dr_ha_vote);
PG_FUNCTION_INFO_V1(pg_dr_ha_observed);

TimestampTz
haClockNow(void)
{
	struct timespec ts;

#ifdef CLOCK_BOOTTIME
	if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
#endif
		if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
			elog(ERROR, "clock_gettime failed: %m");
	return (TimestampTz) ts.tv_sec * USECS_PER_SEC + ts.tv_nsec / 1000;
}

TimestampTz
haClockToWall(TimestampTz clock)
{
	if (clock == 0)
		return 0;
	return GetCurrentTimestamp() - (haClockNow() - clock);
}

void
haShmemRequest(void)
{
	RequestAddinShmemSpace(MAXALIGN(sizeof(HaShared)));
	RequestNamedLWLockTranche(HA_LWLOCK_TRANCHE, 1);
}

/*
 * The state file, "key=value" lines.  Read at postmaster start (the
 * fenced flag and the guard must hold before any client connects) and by
 * the worker.
 */
bool
haPersistRead(const char *node, HaPersist *state)
{
	FILE	   *f;
	char		line[256];
	HaPersist	read;

	memset(state, 0, sizeof(*state));
	if (node != NULL)
		strlcpy(state->node, node, sizeof(state->node));
	f = AllocateFile(HA_STATE_FILE, "r");
	if (f == NULL)
		return false;
	memset(&read, 0, sizeof(read));
	while (fgets(line, sizeof(line), f) != NULL)
	{
		char	   *eq = strchr(line, '=');
		char	   *v;

		if (eq == NULL)
			continue;
		*eq = '\0';
		v = eq + 1;
		v[strcspn(v, "\n")] = '\0';
		if (strcmp(line, "node") == 0)
			strlcpy(read.node, v, sizeof(read.node));
		else if (strcmp(line, "term") == 0)
			read.term = strtou64(v, NULL, 10);
		else if (strcmp(line, "voted_term") == 0)
			read.votedTerm = strtou64(v, NULL, 10);
		else if (strcmp(line, "voted_for") == 0)
			strlcpy(read.votedFor, v, sizeof(read.votedFor));
		else if (strcmp(line, "fenced") == 0)
			read.fenced = strcmp(v, "1") == 0;
		else if (strcmp(line, "guard") == 0)
			read.guard = strcmp(v, "1") == 0;
		else if (strcmp(line, "upstream") == 0)
			strlcpy(read.upstream, v, sizeof(read.upstream));
	}
	FreeFile(f);
	/* a copy of another node's file (pg_basebackup copies it): not ours */
	if (node == NULL || strcmp(read.node, node) != 0)
		return false;
	*state = read;
	return true;
}

/* Durably: a temporary file, fsynced, renamed (durable_rename). */
static void
haPersistWrite(const HaPersist *state)
{
	char		tmp[MAXPGPATH];
	char		buf[1024];
	int			fd;
	int			len;

	len = snprintf(buf, sizeof(buf),
				   "node=%s\nterm=" UINT64_FORMAT "\nvoted_term=" UINT64_FORMAT
				   "\nvoted_for=%s\nfenced=%d\nguard=%d\nupstream=%s\n",
				   state->node, state->term, state->votedTerm, state->votedFor,
				   state->fenced ? 1 : 0, state->guard ? 1 : 0, state->upstream);
	snprintf(tmp, sizeof(tmp), "%s.tmp", HA_STATE_FILE);
	fd = OpenTransientFile(tmp, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", tmp)));
	if (write(fd, buf, len) != len || pg_fsync(fd) != 0)
	{
		int			save = errno ? errno : ENOSPC;

		CloseTransientFile(fd);
		errno = save;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", tmp)));
	}
	if (CloseTransientFile(fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not close file \"%s\": %m", tmp)));
	(void) durable_rename(tmp, HA_STATE_FILE, ERROR);
}

void
haShmemInit(void)
{
	bool		found;

	haShared = ShmemInitStruct("pg_dr ha", sizeof(HaShared), &found);
	if (!found)
	{
		DrError		err;
		DrConfig   *config;

		memset(haShared, 0, sizeof(*haShared));
		haShared->lock = &(GetNamedLWLockTranche(HA_LWLOCK_TRANCHE))->lock;
		ConditionVariableInit(&haShared->manualCv);

		/*
		 * Before any client connects: a node that was fenced stays fenced,
		 * and one whose guard was on accepts no write until its worker has
		 * established its licence again.  Only the file of this node (its
		 * ha_node_name) counts.
		 */
		drErrorClear(&err);
		config = (drConfigFile != NULL && drConfigFile[0] != '\0') ?
			configLoad(drConfigFile, &err) : NULL;
		if (config != NULL && config->ha.configured && config->ha.nodeName != NULL &&
			haPersistRead(config->ha.nodeName, &haShared->persist))
		{
			haShared->guard = haShared->persist.guard || haShared->persist.fenced;
			haShared->licensedUntil = 0;
		}
		/* a witness says so from the start, worker running or not */
		if (config != NULL && config->ha.configured)
			haShared->witness = config->ha.witness;
		if (config != NULL)
			configFree(config);
	}
}

/*
 * Read under the lock: a vote a backend records meanwhile (haStateVote
 * writes the file under the same lock) is never overwritten by an older
 * copy of the file.
 */
void
haStateLoad(const char *node)
{
	HaPersist	p;

	LWLockAcquire(haShared->lock, LW_EXCLUSIVE);
	(void) haPersistRead(node, &p);
	haShared->persist = p;
	LWLockRelease(haShared->lock);
}

/*
 * With the lock held exclusively: write p to the file, then make it the
 * shared copy.  On an error the lock is released and the error goes on;
 * the shared copy is unchanged.
 */
static void
haPersistCommitLocked(const HaPersist *p)
{
	PG_TRY();
	{
		haPersistWrite(p);
	}
	PG_CATCH();
	{
		LWLockRelease(haShared->lock);
		PG_RE_THROW();
	}
	PG_END_TRY();
	haShared->persist = *p;
}

#define HA_PERSIST_CHANGE(stmt) \
	do { \
		HaPersist	p_; \
		LWLockAcquire(haShared->lock, LW_EXCLUSIVE); \
		p_ = haShared->persist; \
		{ HaPersist *p = &p_; stmt; } \
		haPersistCommitLocked(&p_); \
		LWLockRelease(haShared->lock); \
	} while (0)

void
haStateSetTerm(uint64 term)
{
	HA_PERSIST_CHANGE(p->term = term);
}

void
haStateSetFenced(bool fenced)
{
	HA_PERSIST_CHANGE(p->fenced = fenced);
}

void
haStateSetGuard(bool guard)
{
	HA_PERSIST_CHANGE(p->guard = guard);
}

void
haStateSetUpstream(const char *upstream)
{
	HA_PERSIST_CHANGE(strlcpy(p->upstream, upstream ? upstream : "", sizeof(p->upstream)));
}

void
haSharedGetPersist(HaPersist *state)
{
	LWLockAcquire(haShared->lock, LW_SHARED);
	*state = haShared->persist;
	LWLockRelease(haShared->lock);
}

void
haSharedSetSettings(const HaSettings *settings, bool running, bool witness)
{
	LWLockAcquire(haShared->lock, LW_EXCLUSIVE);
	if (settings != NULL)
	{
		haShared->settings = *settings;
		haShared->witness = witness;
	}
	haShared->workerRunning = running;
	LWLockRelease(haShared->lock);
}

void
haSharedSetLicence(bool guard, TimestampTz licensedUntil)
{
	LWLockAcquire(haShared->lock, LW_EXCLUSIVE);
	haShared->guard = guard;
	haShared->licensedUntil = licensedUntil;
	LWLockRelease(haShared->lock);
}

void
haSharedSetPrimaryContact(TimestampTz lastPrimaryContact, const char *primary)
{
	LWLockAcquire(haShared->lock, LW_EXCLUSIVE);
	haShared->lastPrimaryContact = lastPrimaryContact;
	strlcpy(haShared->primary, primary ? primary : "", sizeof(haShared->primary));
	LWLockRelease(haShared->lock);
}

void
haSharedSetObserved(const HaObserved *nodes, int n)
{
	LWLockAcquire(haShared->lock, LW_EXCLUSIVE);
	n = Min(n, HA_NODES_MAX);
	if (n > 0)
		memcpy(haShared->observed, nodes, n * sizeof(HaObserved));
	haShared->nObserved = n;
	LWLockRelease(haShared->lock);
}

TimestampTz
haSharedIncomingContact(const char *peer)
{
	TimestampTz at = 0;

	LWLockAcquire(haShared->lock, LW_SHARED);
	for (int i = 0; i < HA_NODES_MAX; i++)
		if (haShared->incoming[i].name[0] != '\0' &&
			strcmp(haShared->incoming[i].name, peer) == 0)
			at = haShared->incoming[i].at;
	LWLockRelease(haShared->lock);
	return at;
}

static void
haIncomingRecord(const char *peer, TimestampTz at)
{
	int			slot = -1;
	int			oldest = 0;

	LWLockAcquire(haShared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < HA_NODES_MAX; i++)
	{
		if (strcmp(haShared->incoming[i].name, peer) == 0)
		{
			slot = i;
			break;
		}
		if (haShared->incoming[i].at < haShared->incoming[oldest].at)
			oldest = i;
	}
	if (slot < 0)
		slot = oldest;
	strlcpy(haShared->incoming[slot].name, peer, HA_NAME_SIZE);
	haShared->incoming[slot].at = at;
	LWLockRelease(haShared->lock);
}

void
haSelfPosition(bool *inRecovery, TimeLineID *timeline, XLogRecPtr *received,
			   XLogRecPtr *replayed, XLogRecPtr *flushed)
{
	*inRecovery = RecoveryInProgress();
	if (*inRecovery)
	{
		TimeLineID	rcvTli = 0;
		TimeLineID	replayTli = 0;
		XLogRecPtr	rcv = GetWalRcvFlushRecPtr(NULL, &rcvTli);

		*replayed = GetXLogReplayRecPtr(&replayTli);
		/* nothing streamed yet (or only from the archive): what replayed */
		*received = rcv > *replayed ? rcv : *replayed;
		*flushed = *received;
		*timeline = Max(rcvTli, replayTli);
	}
	else
	{
		*flushed = GetFlushRecPtr(NULL);
		*received = *flushed;
		*replayed = *flushed;
		*timeline = GetWALInsertionTimeLine();
	}
}

bool
haStateVote(uint64 term, const char *candidate, XLogRecPtr candidateLsn,
			bool dryRun, char *reason, size_t reasonSize)
{
	bool		inRecovery;
	TimeLineID	tli;
	XLogRecPtr	received,
				replayed,
				flushed;
	HaPersist	p;
	HaSettings	settings;
	TimestampTz lastPrimaryContact;
	bool		running;
	bool		witness;
	bool		granted;

	haSelfPosition(&inRecovery, &tli, &received, &replayed, &flushed);
	LWLockAcquire(haShared->lock, LW_EXCLUSIVE);
	p = haShared->persist;
	settings = haShared->settings;
	lastPrimaryContact = haShared->lastPrimaryContact;
	witness = haShared->witness;

	/*
	 * The primary's own checks of this node count as contact too, up to
	 * this moment (the worker folds them in only once per round): a voter
	 * the primary still reaches never confirms it gone.  So do those of
	 * any node not known to be a standby, a witness or a fenced old
	 * primary (after a restart this node may not know yet which one is
	 * the primary).
	 */
	for (int i = 0; i < HA_NODES_MAX; i++)
	{
		const HaIncoming *in = &haShared->incoming[i];
		bool		other = false;	/* known as a standby, a witness or a
									 * fenced old primary */

		if (in->name[0] == '\0' || in->at <= lastPrimaryContact)
			continue;
		for (int k = 0; k < haShared->nObserved; k++)
			if (strcmp(haShared->observed[k].name, in->name) == 0)
				other = haShared->observed[k].role == HA_ROLE_STANDBY ||
					haShared->observed[k].role == HA_ROLE_WITNESS ||
					haShared->observed[k].role == HA_ROLE_FENCED;
		/* the primary, or a node that may be one (unknown to this node) */
		if (!other || strcmp(in->name, haShared->primary) == 0)
			lastPrimaryContact = in->at;
	}
	running = haShared->workerRunning;
	if (!running)
	{
		LWLockRelease(haShared->lock);
		snprintf(reason, reasonSize,
				 "the HA worker of this node does not run: it knows nothing of the primary");
		return false;
	}
	if (!inRecovery && !p.fenced && !witness)
	{
		LWLockRelease(haShared->lock);
		snprintf(reason, reasonSize, "this node is a primary: it votes for no other");
		return false;
	}
	if (haShared->switchoverPromoting)
	{
		LWLockRelease(haShared->lock);
		snprintf(reason, reasonSize, "this node is being promoted by a switchover: it votes for no other");
		return false;
	}

	/*
	 * A witness has no WAL of the cluster's; a fenced old primary votes as
	 * a witness would: what it wrote after the fork is not the cluster's,
	 * so its own LSN does not bar anyone.
	 */
	granted = haVoteDecide(haClockNow(), &settings, lastPrimaryContact,
						   term, candidate, candidateLsn, p.votedTerm,
						   p.votedFor[0] ? p.votedFor : NULL,
						   inRecovery && !witness ? received : InvalidXLogRecPtr,
						   reason, reasonSize);
	if (granted && !dryRun)
	{
		p.votedTerm = term;
		strlcpy(p.votedFor, candidate, sizeof(p.votedFor));
		haPersistCommitLocked(&p);
		haShared->detachPending = inRecovery && !witness;
	}
	LWLockRelease(haShared->lock);

	/*
	 * A standby that confirmed the primary gone stops streaming from it at
	 * once: should the old primary run again (it was frozen, or cut off),
	 * the WAL it writes then -- never a commit, the guard sees to that,
	 * but a checkpoint, a restore point, a snapshot of running
	 * transactions -- would carry this standby past the point where the
	 * new primary's timeline forks, and it could not follow it.  The
	 * walreceiver is told to go now; the HA worker empties
	 * primary_conninfo in its next round, before the startup process
	 * starts a walreceiver again (wal_retrieve_retry_interval), and then
	 * follows whichever node is primary.
	 */
	if (granted && !dryRun && inRecovery && !witness && WalRcv != NULL)
	{
		pid_t		pid;

		SpinLockAcquire(&WalRcv->mutex);
		pid = WalRcv->pid;
		SpinLockRelease(&WalRcv->mutex);
		if (pid != 0)
			(void) kill(pid, SIGTERM);
	}
	return granted;
}

void
haSharedSetReplaced(bool replaced)
{
	LWLockAcquire(haShared->lock, LW_EXCLUSIVE);
	haShared->replaced = replaced;
	LWLockRelease(haShared->lock);
}

int
haTerminateClients(bool walsenders)
{
	int			n = pgstat_fetch_stat_numbackends();
	int			killed = 0;

	for (int i = 1; i <= n; i++)
	{
		LocalPgBackendStatus *l = pgstat_fetch_stat_local_beentry(i);

		if (l == NULL)
			continue;
		if (l->backendStatus.st_backendType == (walsenders ? B_WAL_SENDER : B_BACKEND) &&
			l->backendStatus.st_procpid > 0 &&
			l->backendStatus.st_procpid != MyProcPid &&
			kill(l->backendStatus.st_procpid, SIGTERM) == 0)
			killed++;
	}
	pgstat_clear_snapshot();
	return killed;
}

/*
 * Fencing at the door: a fenced node admits superusers only (the HA
 * checks of its peers, an administrator looking, dr_rejoin); everybody
 * else is refused with 57P03 before the session starts.
 */
static void
haClientAuthentication(Port *port, int status)
{
	bool		fenced;
	bool		replaced;

	if (prevClientAuthHook)
		prevClientAuthHook(port, status);
	if (status != STATUS_OK || haShared == NULL)
		return;
	LWLockAcquire(haShared->lock, LW_SHARED);
	fenced = haShared->persist.fenced;
	replaced = haShared->replaced;
	LWLockRelease(haShared->lock);
	if (fenced)
	{
		Oid			role = get_role_oid(port->user_name, true);

		/*
		 * No standby streams from a node that was replaced: what it
		 * writes now is not the cluster's (a checkpoint, a snapshot of
		 * running transactions) and would carry the standby past the new
		 * primary's fork.  A node fenced only for want of its licence
		 * still serves replication (a base backup while the cluster is
		 * being set up, standbys that will vote for it again).
		 */
		if ((am_walsender && replaced) ||
			(!am_walsender && (!OidIsValid(role) || !superuser_arg(role))))
			ereport(FATAL,
					(errcode(ERRCODE_CANNOT_CONNECT_NOW),
					 errmsg("this node is fenced: it may no longer be the primary"),
					 errhint("Connect to the current primary (SELECT name, role FROM dr_nodes on any node)."),
					 errdetail("pg_dr fenced it (docs/ha.md); it stays fenced until it has its licence again or is rejoined.")));
	}
}

bool
haGuardHolds(void)
{
	bool		guard;
	bool		fenced;
	TimestampTz until;

	if (haShared == NULL)
		return true;
	LWLockAcquire(haShared->lock, LW_SHARED);
	guard = haShared->guard;
	fenced = haShared->persist.fenced;
	until = haShared->licensedUntil;
	LWLockRelease(haShared->lock);
	if (fenced)
		return false;
	return !guard || haClockNow() < until;
}

/*
 * The write guard's check (ha_state.h): ERROR (nothing committed) unless
 * this node holds its licence now.  what: the statement ("the
 * transaction", "COMMIT PREPARED").
 */
void
haGuardCheck(const char *what)
{
	bool		guard;
	bool		fenced;
	int			switchoverPid;
	TimestampTz until;
	TimestampTz now;

	if (haShared == NULL)
		return;
	LWLockAcquire(haShared->lock, LW_SHARED);
	guard = haShared->guard;
	fenced = haShared->persist.fenced;
	until = haShared->licensedUntil;
	switchoverPid = haShared->switchoverPid;
	if (haShared->switchoverUntil != 0 && GetCurrentTimestamp() >= haShared->switchoverUntil)
		switchoverPid = 0;
	LWLockRelease(haShared->lock);

	/*
	 * A switchover holds the writes of client sessions (background
	 * workers' own records go on: whatever they write before the shutdown
	 * is in the shutdown checkpoint's WAL, which the target must have
	 * before it is promoted).
	 */
	if (switchoverPid != 0 && MyBackendType == B_BACKEND)
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("a switchover is under way: the transaction is not committed"),
				 errdetail("dr_switchover() holds the writes of this primary while its target catches up."),
				 errhint("Retry on the new primary once the switchover is done (SELECT name, role FROM dr_nodes), or here if it is abandoned.")));
	if (!guard && !fenced)
		return;
	now = haClockNow();
	if (fenced)
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("this node is fenced: %s is not committed", what),
				 errhint("Write to the current primary (SELECT name, role FROM dr_nodes).")));
	if (now >= until)
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("this node does not hold its licence to be primary now: %s is not committed",
						what),
				 errdetail("pg_dr's HA worker has not renewed the licence (lease, or contact with a majority) since %s.",
						   until ? timestamptz_to_str(haClockToWall(until)) : "the server started"),
				 errhint("Retry in a moment, or write to the current primary (SELECT name, role FROM dr_nodes).")));
}

/*
 * The write guard: a transaction that wrote (has an xid) commits, or is
 * prepared for a two-phase commit, only while the node holds its
 * licence.  Checked at PRE_COMMIT and PRE_PREPARE, before the commit (or
 * prepare) record: the ERROR aborts it and nothing is acknowledged.
 */
static void
haXactCallback(XactEvent event, void *arg)
{
	if (event != XACT_EVENT_PRE_COMMIT && event != XACT_EVENT_PARALLEL_PRE_COMMIT &&
		event != XACT_EVENT_PRE_PREPARE)
		return;
	if (!TransactionIdIsValid(GetTopTransactionIdIfAny()))
		return;
	haGuardCheck(event == XACT_EVENT_PRE_PREPARE ? "the prepared transaction" :
				 "the transaction");
}

/*
 * COMMIT PREPARED writes the commit record of a transaction prepared
 * earlier, outside any PRE_COMMIT of its own: the guard checks it before
 * the statement runs.  (ROLLBACK PREPARED needs no licence.)
 */
static void
haProcessUtility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
				 ProcessUtilityContext context, ParamListInfo params,
				 QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;

	if (IsA(parsetree, TransactionStmt) &&
		((TransactionStmt *) parsetree)->kind == TRANS_STMT_COMMIT_PREPARED)
		haGuardCheck("COMMIT PREPARED");
	if (prevProcessUtility)
		prevProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv,
						   dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
								queryEnv, dest, qc);
}

void
haHooksInstall(void)
{
	prevClientAuthHook = ClientAuthentication_hook;
	ClientAuthentication_hook = haClientAuthentication;
	prevProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = haProcessUtility;
	RegisterXactCallback(haXactCallback, NULL);
}

/*
 * pgdr.ha_peer_status(caller text): this node as a peer's HA check sees
 * it, and the caller's contact recorded.
 */
Datum
pg_dr_ha_peer_status(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[11];
	bool		nulls[11] = {0};
	bool		inRecovery;
	TimeLineID	tli;
	XLogRecPtr	received,
				replayed,
				flushed;
	HaPersist	p;
	bool		running;
	bool		witness;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (!PG_ARGISNULL(0))
	{
		char	   *caller = text_to_cstring(PG_GETARG_TEXT_PP(0));

		if (strlen(caller) >= HA_NAME_SIZE)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("caller name too long")));
		haIncomingRecord(caller, haClockNow());
	}
	haSelfPosition(&inRecovery, &tli, &received, &replayed, &flushed);
	LWLockAcquire(haShared->lock, LW_SHARED);
	p = haShared->persist;
	running = haShared->workerRunning;
	witness = haShared->witness;
	LWLockRelease(haShared->lock);

	if (running && p.node[0] != '\0')
		values[0] = CStringGetTextDatum(p.node);
	else
		nulls[0] = true;
	values[1] = CStringGetTextDatum(witness ? "witness" : inRecovery ? "standby" :
									p.fenced ? "fenced" : "primary");
	values[2] = Int32GetDatum((int32) tli);
	values[3] = LSNGetDatum(received);
	values[4] = LSNGetDatum(replayed);
	values[5] = LSNGetDatum(flushed);
	values[6] = Int64GetDatum((int64) p.term);
	values[7] = Int64GetDatum((int64) p.votedTerm);
	if (p.upstream[0] != '\0')
		values[8] = CStringGetTextDatum(p.upstream);
	else
		nulls[8] = true;

	/*
	 * A primary's synchronous standbys as this backend parsed
	 * synchronous_standby_names: how many acknowledge a commit, and the
	 * names they are chosen from (a standby failing over needs to know
	 * where acknowledged commits can be).  NULL: no synchronous standby.
	 */
	if (!inRecovery && !witness && SyncRepConfig != NULL && SyncRepStandbyNames != NULL &&
		SyncRepStandbyNames[0] != '\0' && SyncRepConfig->nmembers > 0)
	{
		StringInfoData names;
		const char *m = SyncRepConfig->member_names;

		initStringInfo(&names);
		for (int i = 0; i < SyncRepConfig->nmembers; i++)
		{
			appendStringInfo(&names, "%s%s", i ? "," : "", m);
			m += strlen(m) + 1;
		}
		values[9] = Int32GetDatum(SyncRepConfig->num_sync);
		values[10] = CStringGetTextDatum(names.data);
	}
	else
		nulls[9] = nulls[10] = true;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/*
 * pgdr.ha_vote(term bigint, candidate text, candidate_lsn pg_lsn,
 * pre boolean): pre asks whether the vote would be granted, recording
 * nothing (the candidate's pre-vote).
 */
Datum
pg_dr_ha_vote(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[2];
	bool		nulls[2] = {0};
	int64		term;
	char	   *candidate;
	char		reason[HA_REASON_SIZE];
	bool		granted;
	bool		pre;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("pgdr.ha_vote() needs a term, a candidate and its LSN")));
	term = PG_GETARG_INT64(0);
	candidate = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (term <= 0 || strlen(candidate) < 1 || strlen(candidate) >= HA_NAME_SIZE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pgdr.ha_vote(): the term must be positive and the candidate a node name")));
	pre = PG_NARGS() > 3 && !PG_ARGISNULL(3) && PG_GETARG_BOOL(3);
	granted = haStateVote((uint64) term, candidate, PG_GETARG_LSN(2), pre,
						  reason, sizeof(reason));
	ereport(LOG,
			(errmsg("pg_dr ha: %svote for \"%s\" in term " INT64_FORMAT " %s: %s",
					pre ? "pre-" : "", candidate, term,
					granted ? "granted" : "refused", reason)));
	values[0] = BoolGetDatum(granted);
	values[1] = CStringGetTextDatum(reason);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/* pgdr.ha_observed(): what the HA worker last observed (dr_nodes). */
Datum
pg_dr_ha_observed(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HaObserved *copy;
	int			n;

	InitMaterializedSRF(fcinfo, 0);
	copy = palloc(sizeof(HaObserved) * HA_NODES_MAX);
	LWLockAcquire(haShared->lock, LW_SHARED);
	n = haShared->workerRunning ? haShared->nObserved : 0;
	memcpy(copy, haShared->observed, n * sizeof(HaObserved));
	LWLockRelease(haShared->lock);

	for (int i = 0; i < n; i++)
	{
		HaObserved *o = &copy[i];
		Datum		values[9];
		bool		nulls[9] = {0};
		bool		known = o->lastSeen != 0;

		values[0] = CStringGetTextDatum(o->name);
		values[1] = CStringGetTextDatum(haRoleName(o->role));
		values[2] = Int32GetDatum((int32) o->timeline);
		nulls[2] = !known;
		values[3] = LSNGetDatum(o->receivedLsn);
		nulls[3] = !known || o->role == HA_ROLE_PRIMARY;
		values[4] = LSNGetDatum(o->replayedLsn);
		nulls[4] = !known || o->role == HA_ROLE_PRIMARY;
		values[5] = LSNGetDatum(o->flushedLsn);
		nulls[5] = !known;
		values[6] = CStringGetTextDatum(o->health);
		values[7] = TimestampTzGetDatum(o->lastSeen);
		nulls[7] = !known;
		values[8] = CStringGetTextDatum(o->reason);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

void
haSharedSetWorkerLatch(Latch *latch)
{
	LWLockAcquire(haShared->lock, LW_EXCLUSIVE);
	haShared->workerLatch = latch;
	LWLockRelease(haShared->lock);
}

bool
haDetachTake(void)
{
	bool		pending;

	LWLockAcquire(haShared->lock, LW_EXCLUSIVE);
	pending = haShared->detachPending;
	haShared->detachPending = false;
	LWLockRelease(haShared->lock);
	return pending;
}

bool
haManualTake(bool *force)
{
	bool		pending;

	LWLockAcquire(haShared->lock, LW_EXCLUSIVE);
	pending = haShared->manualPending;
	*force = haShared->manualForce;
	haShared->manualPending = false;
	if (pending)
		haShared->manualTakenSeq = haShared->manualSeq;
	LWLockRelease(haShared->lock);
	return pending;
}

void
haManualDone(bool ok, const char *msg)
{
	LWLockAcquire(haShared->lock, LW_EXCLUSIVE);
	haShared->manualDoneSeq = haShared->manualTakenSeq;
	haShared->manualOk = ok;
	strlcpy(haShared->manualMsg, msg, sizeof(haShared->manualMsg));
	LWLockRelease(haShared->lock);
	ConditionVariableBroadcast(&haShared->manualCv);
}

/* the request of this backend's dr_failover() call (0: none queued) */
static uint64 haManualMySeq = 0;

/*
 * The end of this backend's dr_failover() call, however it ends (an
 * error, a cancel, a terminate): the slot is free again, and a request
 * the worker has not taken yet is withdrawn, so a call given up on
 * promotes nothing later.  A request already taken is carried out.
 */
static void
haManualRelease(int code, Datum arg)
{
	LWLockAcquire(haShared->lock, LW_EXCLUSIVE);
	if (haShared->manualPid == MyProcPid)
	{
		haShared->manualPid = 0;
		if (haManualMySeq != 0 && haShared->manualPending &&
			haShared->manualSeq == haManualMySeq)
			haShared->manualPending = false;
	}
	LWLockRelease(haShared->lock);
	haManualMySeq = 0;
}

static char *haFailoverManualHeld(const char *target, bool force);

/*
 * dr_failover(target, force) on this node (see ha_state.h).  One call at
 * a time: the request the worker takes carries one force flag, so a
 * second call while one runs is refused (55006) rather than have the
 * worker carry out the two with the force of either.
 */
char *
haFailoverManual(const char *target, bool force)
{
	int			holder;
	char	   *result;

	LWLockAcquire(haShared->lock, LW_EXCLUSIVE);
	holder = haShared->manualPid;
	if (holder == 0)
		haShared->manualPid = MyProcPid;
	LWLockRelease(haShared->lock);
	if (holder != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("another dr_failover() is running on this node"),
				 errdetail("The backend with PID %d called it and waits for its outcome.", holder),
				 errhint("Wait for it to end (its outcome is in dr_nodes and dr_failover_history), or cancel it with pg_cancel_backend(%d).",
						 holder)));

	PG_ENSURE_ERROR_CLEANUP(haManualRelease, (Datum) 0);
	{
		result = haFailoverManualHeld(target, force);
	}
	PG_END_ENSURE_ERROR_CLEANUP(haManualRelease, (Datum) 0);
	haManualRelease(0, (Datum) 0);
	return result;
}

/*
 * dr_failover's work, the slot held.  The checks read what this node's HA
 * worker last observed; the promotion itself is the worker's, under the
 * same licence as an automatic one.
 */
static char *
haFailoverManualHeld(const char *target, bool force)
{
	HaShared	snap;
	int			self = -1;
	int			primary = -1;
	TimestampTz now = haClockNow();
	uint64		seq;
	TimestampTz deadline;
	bool		done = false;

	LWLockAcquire(haShared->lock, LW_SHARED);
	memcpy(&snap, haShared, offsetof(HaShared, workerLatch));
	LWLockRelease(haShared->lock);

	if (!snap.workerRunning || snap.persist.node[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no HA worker runs on this node"),
				 errhint("Set the ha_* settings in the pg_dr configuration file (docs/ha.md) and reload.")));
	for (int i = 0; i < snap.nObserved; i++)
		if (strcmp(snap.observed[i].name, target) == 0)
			self = i;
	if (self < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("no node \"%s\" is registered", target),
				 errhint("SELECT name FROM dr_nodes lists the registered nodes.")));
	if (strcmp(target, snap.persist.node) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dr_failover() promotes the node it runs on, which is \"%s\", not \"%s\"",
						snap.persist.node, target),
				 errhint("Connect to \"%s\" and run dr_failover('%s') there.", target, target)));
	if (!RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("node \"%s\" is a primary already", target)));
	for (int i = 0; i < snap.nObserved; i++)
	{
		HaObserved *o = &snap.observed[i];

		if (i != self && o->role == HA_ROLE_PRIMARY &&
			(primary < 0 || o->term > snap.observed[primary].term))
			primary = i;
	}
	if (primary >= 0 && snap.observed[primary].lastSeenClock != 0 &&
		(now - snap.observed[primary].lastSeenClock) / 1000 < snap.settings.leaseTtlMs)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the primary \"%s\" is healthy: this node had contact with it %lld ms ago, less than ha_lease_ttl (%lld ms)",
						snap.observed[primary].name,
						(long long) ((now - snap.observed[primary].lastSeenClock) / 1000),
						(long long) snap.settings.leaseTtlMs),
				 errhint("dr_failover() is for a primary that is down: it is refused until the primary has not answered for ha_lease_ttl.")));
	if (!force && strcmp(snap.observed[self].health, "ok") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("node \"%s\" is stale (%s): %s", target,
						snap.observed[self].health, snap.observed[self].reason),
				 errdetail("Its last known lag behind the primary is above ha_max_failover_lag, or unknown."),
				 errhint("Promote a standby that is not behind (SELECT name, health FROM dr_nodes), or pass force => true to promote this one and lose what it did not receive.")));

	/* the request; the worker carries it out in its next round */
	LWLockAcquire(haShared->lock, LW_EXCLUSIVE);
	seq = ++haShared->manualSeq;
	haManualMySeq = seq;
	haShared->manualPending = true;
	haShared->manualForce = force;
	if (haShared->workerLatch)
		SetLatch(haShared->workerLatch);
	LWLockRelease(haShared->lock);

	deadline = now + (snap.settings.leaseTtlMs + 2 * snap.settings.retryTimeoutMs) * 1000 +
		60 * USECS_PER_SEC;
	ConditionVariablePrepareToSleep(&haShared->manualCv);
	while (haClockNow() < deadline)
	{
		LWLockAcquire(haShared->lock, LW_SHARED);
		done = haShared->manualDoneSeq >= seq;
		LWLockRelease(haShared->lock);
		if (done)
			break;
		(void) ConditionVariableTimedSleep(&haShared->manualCv, 100, PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
	if (!done)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the HA worker did not carry out the failover in time"),
				 errhint("Look at the server log (pg_dr ha: ...) and dr_nodes.")));
	LWLockAcquire(haShared->lock, LW_SHARED);
	{
		bool		ok = haShared->manualOk;
		char	   *msg = pstrdup(haShared->manualMsg);

		LWLockRelease(haShared->lock);
		if (!ok)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("failover to \"%s\" not done: %s", target, msg)));
		return msg;
	}
}

/* ------------------------------------------------------------ switchover */

void
haSharedGetSettings(HaSettings *settings, bool *running)
{
	LWLockAcquire(haShared->lock, LW_SHARED);
	*settings = haShared->settings;
	*running = haShared->workerRunning;
	LWLockRelease(haShared->lock);
}

bool
haSwitchoverHold(int pid)
{
	bool		taken;

	LWLockAcquire(haShared->lock, LW_EXCLUSIVE);
	if (pid == 0)
	{
		/* let go: only this backend's own hold */
		taken = haShared->switchoverPid == MyProcPid;
		if (taken)
			haShared->switchoverPid = 0;
	}
	else
	{
		taken = haShared->switchoverPid == 0 || haShared->switchoverPid == pid ||
			(haShared->switchoverUntil != 0 &&
			 GetCurrentTimestamp() >= haShared->switchoverUntil);
		if (taken)
			haShared->switchoverPid = pid;
	}
	if (taken)
		haShared->switchoverUntil = 0;
	LWLockRelease(haShared->lock);
	return taken;
}

void
haSwitchoverHoldUntil(TimestampTz until)
{
	LWLockAcquire(haShared->lock, LW_EXCLUSIVE);
	if (haShared->switchoverPid != 0)
		haShared->switchoverUntil = until;
	LWLockRelease(haShared->lock);
}

bool
haSwitchoverGrant(uint64 term, const char *candidate, const char *from,
				  char *reason, size_t reasonSize)
{
	HaPersist	p;
	bool		granted = false;

	if (!RecoveryInProgress())
	{
		snprintf(reason, reasonSize, "this node is not a standby");
		return false;
	}
	LWLockAcquire(haShared->lock, LW_EXCLUSIVE);
	p = haShared->persist;
	if (!haShared->workerRunning || p.node[0] == '\0')
		snprintf(reason, reasonSize, "the HA worker of this node does not run");
	else if (haShared->primary[0] != '\0' && strcmp(haShared->primary, from) != 0)
		snprintf(reason, reasonSize, "this node follows \"%s\", not \"%s\"",
				 haShared->primary, from);
	else if (p.votedTerm == term && strcmp(p.votedFor, candidate) == 0)
	{
		snprintf(reason, reasonSize, "term " UINT64_FORMAT " was given to \"%s\" already",
				 term, candidate);
		granted = true;
	}
	else if (term <= p.votedTerm || term <= p.term)
		snprintf(reason, reasonSize, "term " UINT64_FORMAT " is not newer than this node's (term " UINT64_FORMAT ", voted in " UINT64_FORMAT ")",
				 term, p.term, p.votedTerm);
	else
	{
		p.votedTerm = term;
		strlcpy(p.votedFor, candidate, sizeof(p.votedFor));
		haPersistCommitLocked(&p);
		if (strcmp(candidate, p.node) == 0)
			haShared->switchoverGranted = term;
		snprintf(reason, reasonSize, "term " UINT64_FORMAT " given to \"%s\" by its primary \"%s\" (switchover)",
				 term, candidate, from);
		granted = true;
	}
	LWLockRelease(haShared->lock);
	return granted;
}

bool
haSwitchoverPromoteBegin(uint64 term, char *reason, size_t reasonSize)
{
	HaPersist	p;
	bool		ok = false;

	LWLockAcquire(haShared->lock, LW_EXCLUSIVE);
	p = haShared->persist;
	if (!haShared->workerRunning || p.node[0] == '\0')
		snprintf(reason, reasonSize, "the HA worker of this node does not run");
	else if (p.votedTerm != term || strcmp(p.votedFor, p.node) != 0 ||
			 haShared->switchoverGranted != term)
		snprintf(reason, reasonSize, "this node holds no licence for term " UINT64_FORMAT " (its last vote: term " UINT64_FORMAT " for \"%s\"%s)",
				 term, p.votedTerm, p.votedFor,
				 haShared->switchoverGranted == term ? "" : "; no primary gave it this term for a switchover since it started");
	else
	{
		p.term = term;
		p.upstream[0] = '\0';
		haPersistCommitLocked(&p);
		haShared->switchoverPromoting = true;
		ok = true;
	}
	LWLockRelease(haShared->lock);
	return ok;
}

void
haSwitchoverPromoteEnd(void)
{
	LWLockAcquire(haShared->lock, LW_EXCLUSIVE);
	haShared->switchoverPromoting = false;
	LWLockRelease(haShared->lock);
}
