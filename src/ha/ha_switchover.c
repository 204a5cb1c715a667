/*-------------------------------------------------------------------------
 * ha_switchover.c
 *	  dr_switchover(): the old primary's side, the detached `pg_dr
 *	  switchover` it starts, and the target's promotion (ha_switchover.h;
 *	  docs/ha.md, "Switchover").
 *
 * Why a process outside the server: PostgreSQL 15 reads standby.signal
 * only at start, so the old primary becomes a standby only by a stop and
 * a start, and nothing inside a server outlives its stop.  The process is
 * forked twice from the caller's backend and calls setsid(), so the
 * postmaster's shutdown signals (sent to each child's process group) do
 * not reach it; every inherited descriptor but a pipe is closed before it
 * runs the pg_dr program of the server's bindir.  The pipe says whether
 * the caller's transaction committed ('c') or not (anything else, or
 * EOF): the process stops the server only after the call's result is on
 * its way to the client.
 *
 * Order, and why it loses nothing: client writes are held (the write
 * guard, ha_state.c) before the target's catch-up is measured; the stop
 * is a fast shutdown, in which the walsenders send every record, the
 * shutdown checkpoint included, and wait for the standbys' flush before
 * exiting; the target is promoted only once it has replayed that
 * checkpoint, the last record the old primary wrote.  So the old primary
 * has nothing the target lacks, and it follows the target without
 * pg_rewind.
 *
 * With etcd the licence is the leader key: pg_dr switchover records the
 * term in etcd and hands the key to the target before promoting it
 * (cmd_switchover.c, swEtcdHandOver); the voters' grant is still asked,
 * the target's own needed (haSwitchoverPromoteBegin), a majority not.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "postmaster/bgwriter.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/memutils.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "common/config.h"
#include "ha/etcd.h"
#include "ha/ha_peer.h"
#include "ha/ha_state.h"
#include "ha/ha_switchover.h"
#include "pg_dr.h"

#define MS	((int64) 1000)

/* the helper's log, in the data directory */
#define HA_SWITCHOVER_LOG	"pg_dr_switchover.log"

/* The registered nodes and their connections, for one call. */
typedef struct HaSwNodes
{
	HaPeer		peers[HA_NODES_MAX];
	int			n;
	int			self;
	int			target;
} HaSwNodes;

/* the write end of the pipe to the helper, until this transaction ends */
static int	haSwPipe = -1;
/* how long the helper waits for the server to stop (cmd_switchover.c) */
static int64 haSwStopWaitMs = 0;
static bool haSwCallbackRegistered = false;

/*
 * At the end of the caller's transaction: tell the helper whether it
 * committed; an abort lets the client writes go again.
 */
static void
haSwXactCallback(XactEvent event, void *arg)
{
	char		c;

	if (haSwPipe < 0)
		return;
	if (event == XACT_EVENT_COMMIT)
	{
		/*
		 * The server stops now.  Should it not (pg_dr switchover failed
		 * before its stop, or the stop never ends), the writes go on once
		 * pg_dr switchover has given up waiting for it.
		 */
		c = 'c';
		haSwitchoverHoldUntil(GetCurrentTimestamp() + (haSwStopWaitMs + 10000) * MS);
	}
	else if (event == XACT_EVENT_ABORT)
	{
		c = 'a';
		(void) haSwitchoverHold(0);
	}
	else
		return;
	if (write(haSwPipe, &c, 1) != 1)
		ereport(WARNING,
				(errmsg("could not tell pg_dr switchover the outcome of the transaction: %m")));
	close(haSwPipe);
	haSwPipe = -1;
}

/* ------------------------------------------------------------ registry */

static void
haSwRegistryRead(HaSwNodes *nodes, const char *self, const char *target)
{
	nodes->n = 0;
	nodes->self = -1;
	nodes->target = -1;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT name, conninfo FROM pgdr.nodes ORDER BY name",
					true, HA_NODES_MAX) != SPI_OK_SELECT)
		elog(ERROR, "could not read pgdr.nodes");
	for (uint64 i = 0; i < SPI_processed && nodes->n < HA_NODES_MAX; i++)
	{
		HaPeer	   *p = &nodes->peers[nodes->n];
		char	   *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		char	   *conninfo = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);

		memset(p, 0, sizeof(*p));
		strlcpy(p->name, name, sizeof(p->name));
		p->conninfo = MemoryContextStrdup(TopMemoryContext, conninfo);
		if (strcmp(name, self) == 0)
			nodes->self = nodes->n;
		if (strcmp(name, target) == 0)
			nodes->target = nodes->n;
		nodes->n++;
	}
	SPI_finish();
}

static void
haSwNodesFree(HaSwNodes *nodes)
{
	haPeersClear(nodes->peers, nodes->n);
	for (int i = 0; i < nodes->n; i++)
	{
		haPeerClose(&nodes->peers[i]);
		if (nodes->peers[i].conninfo)
			pfree(nodes->peers[i].conninfo);
		nodes->peers[i].conninfo = NULL;
	}
	nodes->n = 0;
}

/* "a, b" (the registered nodes but self), for messages */
static char *
haSwStandbyNames(const HaSwNodes *nodes)
{
	StringInfoData s;

	initStringInfo(&s);
	for (int i = 0; i < nodes->n; i++)
	{
		if (i == nodes->self)
			continue;
		appendStringInfo(&s, "%s\"%s\"", s.len > 0 ? ", " : "", nodes->peers[i].name);
	}
	if (s.len == 0)
		appendStringInfoString(&s, "none");
	return s.data;
}

static XLogRecPtr
haSwLsn(const char *s)
{
	unsigned int hi,
				lo;

	if (s == NULL || sscanf(s, "%X/%X", &hi, &lo) != 2)
		return InvalidXLogRecPtr;
	return ((uint64) hi << 32) | lo;
}

/* ------------------------------------------------------------ the helper */

/*
 * Start `pg_dr switchover` detached (see the file header) and set
 * haSwPipe.  ERROR when it cannot be started (the exec failed: a pipe
 * closed on exec says so).
 */
static void
haSwSpawn(const char *program, char *const argv[], const char *conninfo)
{
	int			sig[2];
	int			exe[2];
	char		logPath[MAXPGPATH];
	pid_t		pid;
	int			status;
	char		buf[256];
	ssize_t		got;

	snprintf(logPath, sizeof(logPath), "%s/%s", DataDir, HA_SWITCHOVER_LOG);
	if (pipe(sig) != 0 || pipe(exe) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create a pipe for pg_dr switchover: %m")));
	(void) fcntl(exe[1], F_SETFD, FD_CLOEXEC);
	(void) fcntl(sig[1], F_SETFD, FD_CLOEXEC);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
	{
		close(sig[0]);
		close(sig[1]);
		close(exe[0]);
		close(exe[1]);
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not fork pg_dr switchover: %m")));
	}
	if (pid == 0)
	{
		/* first child: a session of its own, then the grandchild */
		pid_t		grand;
		int			fd;
		sigset_t	all;

		if (setsid() < 0)
			_exit(1);
		grand = fork();
		if (grand != 0)
			_exit(grand < 0 ? 1 : 0);

		/* default signal dispositions, nothing blocked */
		for (int s = 1; s < NSIG; s++)
			if (s != SIGKILL && s != SIGSTOP)
				(void) signal(s, SIG_DFL);
		sigemptyset(&all);
		(void) sigprocmask(SIG_SETMASK, &all, NULL);

		/* descriptors: 0 /dev/null, 1 and 2 the log, 3 the pipe, 4 exec's */
		{
			int			sigHigh = fcntl(sig[0], F_DUPFD, 100);
			int			exeHigh = fcntl(exe[1], F_DUPFD, 100);

			if (sigHigh < 0 || exeHigh < 0)
				_exit(1);
			fd = open("/dev/null", O_RDONLY);
			if (fd < 0 || dup2(fd, 0) < 0)
				_exit(1);
			fd = open(logPath, O_WRONLY | O_CREAT | O_APPEND, 0600);
			if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
				_exit(1);
			if (dup2(sigHigh, 3) < 0 || dup2(exeHigh, 4) < 0)
				_exit(1);
			(void) fcntl(4, F_SETFD, FD_CLOEXEC);
			for (int i = 5; i < 65536; i++)
				(void) close(i);
		}
		if (setenv("PG_DR_SWITCHOVER_CONNINFO", conninfo, 1) != 0)
			_exit(1);
		execv(program, argv);
		{
			char		msg[256];
			int			len = snprintf(msg, sizeof(msg), "could not run \"%s\": %s",
									   program, strerror(errno));

			if (write(4, msg, len) < 0)
				_exit(127);
		}
		_exit(127);
	}

	/* the caller */
	close(sig[0]);
	close(exe[1]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	got = read(exe[0], buf, sizeof(buf) - 1);
	close(exe[0]);
	if (got != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
	{
		close(sig[1]);
		if (got > 0)
			buf[got] = '\0';
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not start pg_dr switchover: %s",
						got > 0 ? buf : "its first child failed (setsid, fork, or the log file)"),
				 errdetail("Its log is \"%s\".", logPath)));
	}
	haSwPipe = sig[1];
	if (!haSwCallbackRegistered)
	{
		RegisterXactCallback(haSwXactCallback, NULL);
		haSwCallbackRegistered = true;
	}
}

/* ------------------------------------------------------------ the call */

/* Run sql on the target alone; its answer (one row) or an ERROR. */
static PGresult *
haSwTargetQuery(HaSwNodes *nodes, const char *sql, int nParams,
				const char *const *params, int timeoutMs, const char *app)
{
	bool		want[HA_NODES_MAX] = {0};
	HaPeer	   *t = &nodes->peers[nodes->target];

	want[nodes->target] = true;
	haPeersRun(nodes->peers, nodes->n, want, sql, nParams, params, timeoutMs, app);
	if (!t->ok || PQntuples(t->result) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("the target \"%s\" does not answer: %s", t->name,
						t->ok ? "no row" : t->error)));
	return t->result;
}

/*
 * With etcd, pg_dr switchover hands the leader key to the target once
 * this server has stopped.  So etcd must answer now and its leader key
 * must not name another node: else the call would stop this server and
 * give the voters a term for a switchover that cannot finish.  Checked
 * before anything changes; ERROR 08001 when etcd does not answer, 55000
 * when another node holds the key.
 */
static void
haSwEtcdCheck(const HaPersist *self)
{
	DrError		err;
	DrConfig   *config;
	EtcdClientParam param;
	EtcdClient *client;
	EtcdKv		kv;
	bool		found = false;
	bool		ok;
	char		key[256];
	char	   *endpoints;

	drErrorClear(&err);
	config = configLoad(drConfigFile, &err);
	if (config == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("the pg_dr configuration file cannot be read: %s", err.message)));
	if (!config->ha.configured || config->ha.etcdEndpoints == NULL)
	{
		configFree(config);
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the HA worker uses etcd but the pg_dr configuration file names no etcd endpoint now"),
				 errhint("Reload the configuration (SELECT pg_reload_conf()) on every node, then call dr_switchover again.")));
	}
	endpoints = pstrdup(config->ha.etcdEndpoints);
	snprintf(key, sizeof(key), "/pg_dr/%s/leader", config->ha.clusterName);
	memset(&param, 0, sizeof(param));
	param.endpoints = config->ha.etcdEndpoints;
	param.timeoutMs = (int) config->ha.retryTimeoutMs;
	client = etcdClientNew(&param, &err);
	configFree(config);
	if (client == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("ha_etcd_endpoints: %s", err.message)));
	memset(&kv, 0, sizeof(kv));
	ok = etcdGet(client, key, &kv, &found, &err);
	etcdClientFree(client);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
				 errmsg("etcd does not answer at '%s' (ha_etcd_endpoints): %s", endpoints,
						err.message),
				 errdetail("With etcd the switchover hands the leader key to the target; nothing was changed, this node stays the primary."),
				 errhint("Start etcd or make it reachable from this node, then call dr_switchover again.")));
	if (found && strcmp(kv.value, self->node) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("etcd's leader key %s names \"%s\", not this node \"%s\": nothing was changed",
						key, kv.value, self->node),
				 errhint("SELECT name, role FROM dr_nodes shows which node is the primary.")));
	if (found)
		etcdKvFree(&kv);
	pfree(endpoints);
}

static char *
haSwitchoverRunChecked(HaSwNodes *nodes, const HaPersist *self,
					   const HaSettings *settings, const char *target,
					   int64 timeoutMs)
{
	bool		want[HA_NODES_MAX];
	const char *params[3];
	char		app[NAMEDATALEN];
	char		termText[32];
	HaPeer	   *t;
	TimeLineID	tli = GetWALInsertionTimeLine();
	uint64		term = Max(self->term, self->votedTerm);
	XLogRecPtr	heldAt;
	TimestampTz heldSince;
	XLogRecPtr	replayed = InvalidXLogRecPtr;
	int			granted = 1;	/* this node: its consent */
	StringInfoData refusals;
	char		program[MAXPGPATH];
	char		timeoutText[32],
				elapsedText[32],
				pidText[32];
	char	   *argv[24];
	int			argc = 0;

	snprintf(app, sizeof(app), "pg_dr switchover %s", self->node);

	/* every other node: its state (the target must answer) */
	for (int i = 0; i < nodes->n; i++)
		want[i] = i != nodes->self;
	params[0] = self->node;
	haPeersRun(nodes->peers, nodes->n, want,
			   "SELECT node, role, timeline, replayed_lsn, term, voted_term"
			   " FROM pgdr.ha_peer_status($1)",
			   1, params, (int) settings->retryTimeoutMs, app);
	t = &nodes->peers[nodes->target];
	if (!t->ok || PQntuples(t->result) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("the target \"%s\" does not answer: %s", target,
						t->ok ? "pgdr.ha_peer_status() gave no row" : t->error),
				 errhint("The registered standbys are %s; dr_nodes says which answer.",
						 haSwStandbyNames(nodes))));
	if (strcmp(PQgetvalue(t->result, 0, 1), "standby") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the target \"%s\" is not a standby (it answers as %s)", target,
						PQgetvalue(t->result, 0, 1))));
	if ((TimeLineID) strtoul(PQgetvalue(t->result, 0, 2), NULL, 10) != tli)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the target \"%s\" is on timeline %s, this primary on timeline %u",
						target, PQgetvalue(t->result, 0, 2), tli),
				 errhint("Only a standby of this primary can take over without losing data.")));
	for (int i = 0; i < nodes->n; i++)
	{
		HaPeer	   *p = &nodes->peers[i];

		if (i == nodes->self || !p->ok || PQntuples(p->result) != 1)
			continue;
		term = Max(term, strtou64(PQgetvalue(p->result, 0, 4), NULL, 10));
		term = Max(term, strtou64(PQgetvalue(p->result, 0, 5), NULL, 10));
	}
	term++;
	haPeersClear(nodes->peers, nodes->n);
	if (settings->etcd)
		haSwEtcdCheck(self);

	/*
	 * A checkpoint first, while writes go on: the shutdown checkpoint then
	 * has little to flush, and the time without a primary (the stop and
	 * the promotion) stays short, well inside ha_lease_ttl.
	 */
	RequestCheckpoint(CHECKPOINT_IMMEDIATE | CHECKPOINT_FORCE | CHECKPOINT_WAIT);

	/* the writes of client sessions are held from here */
	if (!haSwitchoverHold(MyProcPid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("another switchover is under way on this node")));
	heldAt = GetXLogInsertRecPtr();
	heldSince = GetCurrentTimestamp();
	ereport(LOG,
			(errmsg("pg_dr ha: switchover to \"%s\": client writes held at %X/%X, waiting for it to replay them",
					target, LSN_FORMAT_ARGS(heldAt))));

	/* the target catches up, or the switchover is abandoned */
	for (;;)
	{
		PGresult   *r = haSwTargetQuery(nodes,
										"SELECT pg_catalog.pg_last_wal_replay_lsn()::pg_catalog.text",
										0, NULL, (int) settings->retryTimeoutMs, app);

		replayed = PQgetisnull(r, 0, 0) ? InvalidXLogRecPtr : haSwLsn(PQgetvalue(r, 0, 0));
		haPeersClear(nodes->peers, nodes->n);
		if (replayed >= heldAt)
			break;
		if (GetCurrentTimestamp() - heldSince >= timeoutMs * MS)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("the target \"%s\" did not replay this primary's WAL up to %X/%X within %lld ms (it replayed up to %X/%X): the switchover is abandoned, this node stays the primary",
							target, LSN_FORMAT_ARGS(heldAt), (long long) timeoutMs,
							LSN_FORMAT_ARGS(replayed)),
					 errhint("Check its replication (dr_replication, pg_get_wal_replay_pause_state() there), then run dr_switchover again, with a longer timeout if it is busy.")));
		CHECK_FOR_INTERRUPTS();
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 50L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}

	/* the next term, given to the target by this primary in the voters */
	snprintf(termText, sizeof(termText), UINT64_FORMAT, term);
	params[0] = termText;
	params[1] = target;
	params[2] = self->node;
	for (int i = 0; i < nodes->n; i++)
		want[i] = i != nodes->self;
	haPeersRun(nodes->peers, nodes->n, want,
			   "SELECT granted, reason FROM pgdr.ha_switchover_grant($1::pg_catalog.int8, $2, $3)",
			   3, params, (int) settings->retryTimeoutMs, app);
	initStringInfo(&refusals);
	for (int i = 0; i < nodes->n; i++)
	{
		HaPeer	   *p = &nodes->peers[i];
		bool		ok;

		if (i == nodes->self)
			continue;
		ok = p->ok && PQntuples(p->result) == 1 &&
			strcmp(PQgetvalue(p->result, 0, 0), "t") == 0;
		if (ok)
			granted++;
		else
			appendStringInfo(&refusals, "%s\"%s\": %s", refusals.len ? "; " : "", p->name,
							 p->ok && PQntuples(p->result) == 1 ?
							 PQgetvalue(p->result, 0, 1) : p->error);
		if (i == nodes->target && !ok)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("the target \"%s\" did not take term " UINT64_FORMAT ": %s: the switchover is abandoned, this node stays the primary",
							target, term, refusals.data)));
	}
	haPeersClear(nodes->peers, nodes->n);

	/*
	 * With etcd the licence is the leader key, not the voters: pg_dr
	 * switchover hands the key to the target (and records the term in
	 * etcd) once this server has stopped.  The target's own grant is
	 * still needed (haSwitchoverPromoteBegin checks it), a majority not.
	 */
	if (!settings->etcd && granted * 2 <= nodes->n)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("only %d of %d registered nodes give term " UINT64_FORMAT " to \"%s\" (more than half needed): the switchover is abandoned, this node stays the primary",
						granted, nodes->n, term, target),
				 errdetail("%s", refusals.data)));

	/* the process that stops this server and finishes */
	snprintf(program, sizeof(program), "%s", my_exec_path);
	get_parent_directory(program);
	strlcat(program, "/pg_dr", sizeof(program));
	if (access(program, X_OK) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not find the pg_dr program at \"%s\": %m", program),
				 errhint("Install pg_dr beside the server's programs (its bindir).")));
	snprintf(timeoutText, sizeof(timeoutText), INT64_FORMAT, timeoutMs);
	haSwStopWaitMs = Max(timeoutMs, 300 * 1000);
	snprintf(elapsedText, sizeof(elapsedText), INT64_FORMAT,
			 (int64) ((GetCurrentTimestamp() - heldSince) / MS));
	snprintf(pidText, sizeof(pidText), "%d", (int) PostmasterPid);
	argv[argc++] = program;		/* pg_dr finds its bindir by it */
	argv[argc++] = "switchover";
	argv[argc++] = "--config";
	argv[argc++] = drConfigFile;
	argv[argc++] = "--pgdata";
	argv[argc++] = DataDir;
	argv[argc++] = "--target";
	argv[argc++] = (char *) target;
	argv[argc++] = "--term";
	argv[argc++] = termText;
	argv[argc++] = "--postmaster-pid";
	argv[argc++] = pidText;
	argv[argc++] = "--timeout-ms";
	argv[argc++] = timeoutText;
	argv[argc++] = "--elapsed-ms";
	argv[argc++] = elapsedText;
	argv[argc++] = "--signal-fd";
	argv[argc++] = "3";
	argv[argc] = NULL;
	haSwSpawn(program, argv, nodes->peers[nodes->target].conninfo);

	ereport(LOG,
			(errmsg("pg_dr ha: switchover to \"%s\" in term " UINT64_FORMAT ": it replayed up to %X/%X; pg_dr switchover stops this server once the call commits",
					target, term, LSN_FORMAT_ARGS(replayed))));
	return psprintf("switchover to \"%s\" in term " UINT64_FORMAT " handed off: it has replayed up to %X/%X, and %d of %d nodes gave it the term; "
					"this server stops now, then pg_dr switchover promotes \"%s\" once it has replayed the shutdown checkpoint, and starts this server as its standby "
					"(log: \"%s/%s\"; the outcome: dr_failover_history on \"%s\")",
					target, term, LSN_FORMAT_ARGS(replayed), granted, nodes->n, target,
					DataDir, HA_SWITCHOVER_LOG, target);
}

char *
haSwitchoverRun(const char *target, int64 timeoutMs)
{
	HaSettings	settings;
	bool		running;
	HaPersist	self;
	HaSwNodes  *nodes;
	char	   *volatile result = NULL;

	haSharedGetSettings(&settings, &running);
	haSharedGetPersist(&self);
	if (!running || self.node[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no HA worker runs on this node: high availability is not configured"),
				 errhint("Set the ha_* settings in the pg_dr configuration file (docs/ha.md) and reload.")));
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("dr_switchover() runs on the primary; this node, \"%s\", is a standby",
						self.node),
				 errhint("Connect to the primary (SELECT name, role FROM dr_nodes) and run it there.")));
	if (self.fenced)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("this node, \"%s\", is fenced: it may no longer be the primary", self.node)));
	if (IsTransactionBlock())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("dr_switchover() cannot run inside a transaction block"),
				 errhint("The server stops once the call commits: run it alone.")));
	if (strcmp(target, self.node) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is this node, the primary already", target)));
	if (drConfigFile == NULL || drConfigFile[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_dr.config_file is not set")));

	nodes = palloc0(sizeof(HaSwNodes));
	PG_TRY();
	{
		haSwRegistryRead(nodes, self.node, target);
		if (nodes->self < 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("this node, \"%s\", is not registered", self.node)));
		if (nodes->target < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("no node \"%s\" is registered; the registered standbys are %s",
							target, haSwStandbyNames(nodes)),
					 errhint("SELECT name, role FROM dr_nodes lists them.")));
		result = haSwitchoverRunChecked(nodes, &self, &settings, target, timeoutMs);
	}
	PG_CATCH();
	{
		(void) haSwitchoverHold(0);
		if (haSwPipe >= 0)
		{
			close(haSwPipe);
			haSwPipe = -1;
		}
		haSwNodesFree(nodes);
		PG_RE_THROW();
	}
	PG_END_TRY();
	haSwNodesFree(nodes);
	return result;
}

/* ------------------------------------------------------------ the target */

char *
haSwitchoverPromote(const char *oldPrimary, uint64 term, XLogRecPtr stopLsn)
{
	char		reason[HA_REASON_SIZE];
	HaSettings	settings;
	bool		running;
	XLogRecPtr	replayed;
	TimestampTz begin = GetCurrentTimestamp();
	volatile bool promoted = false;
	MemoryContext cxt = CurrentMemoryContext;

	if (!RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("this node is not a standby: nothing to promote")));
	replayed = GetXLogReplayRecPtr(NULL);
	if (replayed <= stopLsn)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("this node replayed up to %X/%X, not past the old primary's shutdown checkpoint at %X/%X: not promoted",
						LSN_FORMAT_ARGS(replayed), LSN_FORMAT_ARGS(stopLsn))));
	if (!haSwitchoverPromoteBegin(term, reason, sizeof(reason)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("not promoted: %s", reason)));
	haSharedGetSettings(&settings, &running);

	/* as an automatic promotion (ha_worker.c): the licence holds for now */
	haSharedSetLicence(settings.failover,
					   begin + (settings.leaseTtlMs - settings.retryTimeoutMs) * MS);
	PG_TRY();
	{
		promoted = DatumGetBool(DirectFunctionCall2(pg_promote, BoolGetDatum(true),
													Int32GetDatum(60)));
	}
	PG_CATCH();
	{
		haSwitchoverPromoteEnd();
		PG_RE_THROW();
	}
	PG_END_TRY();
	haSwitchoverPromoteEnd();
	MemoryContextSwitchTo(cxt);
	if (!promoted || RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_promote() did not finish within 60 s: this node is still a standby")));
	if (settings.failover)
		haStateSetGuard(true);
	ereport(LOG,
			(errmsg("pg_dr ha: switchover: promoted in term " UINT64_FORMAT " after \"%s\" stopped at %X/%X (replayed up to %X/%X)",
					term, oldPrimary, LSN_FORMAT_ARGS(stopLsn), LSN_FORMAT_ARGS(replayed))));
	return psprintf("promoted in term " UINT64_FORMAT " in %lld ms, after replaying \"%s\"'s shutdown checkpoint at %X/%X",
					term, (long long) ((GetCurrentTimestamp() - begin) / MS), oldPrimary,
					LSN_FORMAT_ARGS(stopLsn));
}

void
haSwitchoverRecord(uint64 term, int64 durationMs, const char *reason)
{
	HaPersist	self;
	Oid			argtypes[5] = {TEXTOID, TEXTOID, INT8OID, TEXTOID, INT8OID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};

	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("a switchover is recorded on the new primary; this node is a standby")));
	haSharedGetPersist(&self);
	if (self.node[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no HA worker runs on this node")));
	values[0] = CStringGetTextDatum(self.node);
	values[1] = CStringGetTextDatum("switchover");
	values[2] = Int64GetDatum((int64) term);
	values[3] = CStringGetTextDatum(reason);
	values[4] = Int64GetDatum(durationMs);
	if (durationMs < 0)
		nulls[4] = 'n';
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("INSERT INTO pgdr.ha_events (at, node, action, term, reason, duration_ms)"
							  " VALUES (pg_catalog.clock_timestamp(), $1, $2, $3, $4, $5)",
							  5, argtypes, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not insert into pgdr.ha_events");
	SPI_finish();
}

/* ------------------------------------------------------------ SQL */

PG_FUNCTION_INFO_V1(pg_dr_ha_switchover_grant);
PG_FUNCTION_INFO_V1(pg_dr_ha_switchover_promote);

/*
 * pgdr.ha_switchover_grant(term bigint, candidate text, from_primary
 * text, OUT granted boolean, OUT reason text): the primary from_primary,
 * switching over to candidate, gives it term in this voter
 * (haSwitchoverGrant).  dr_admin only (the extension script).
 */
Datum
pg_dr_ha_switchover_grant(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[2];
	bool		nulls[2] = {0};
	int64		term;
	char	   *candidate;
	char	   *from;
	char		reason[HA_REASON_SIZE];
	bool		granted;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("pgdr.ha_switchover_grant() needs a term, a candidate and the primary")));
	term = PG_GETARG_INT64(0);
	candidate = text_to_cstring(PG_GETARG_TEXT_PP(1));
	from = text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (term <= 0 || strlen(candidate) < 1 || strlen(candidate) >= HA_NAME_SIZE ||
		strlen(from) < 1 || strlen(from) >= HA_NAME_SIZE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pgdr.ha_switchover_grant(): the term must be positive, the candidate and the primary node names")));
	granted = haSwitchoverGrant((uint64) term, candidate, from, reason, sizeof(reason));
	ereport(LOG,
			(errmsg("pg_dr ha: switchover: term " INT64_FORMAT " for \"%s\" %s: %s",
					term, candidate, granted ? "given" : "refused", reason)));
	values[0] = BoolGetDatum(granted);
	values[1] = CStringGetTextDatum(reason);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/*
 * pgdr.ha_switchover_promote(old_primary text, term bigint, stop_lsn
 * pg_lsn) returns text: haSwitchoverPromote.  dr_admin only.
 */
Datum
pg_dr_ha_switchover_promote(PG_FUNCTION_ARGS)
{
	char	   *old;
	int64		term;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("pgdr.ha_switchover_promote() needs the old primary, the term and its stop LSN")));
	old = text_to_cstring(PG_GETARG_TEXT_PP(0));
	term = PG_GETARG_INT64(1);
	if (term <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pgdr.ha_switchover_promote(): the term must be positive")));
	PG_RETURN_TEXT_P(cstring_to_text(haSwitchoverPromote(old, (uint64) term,
														 PG_GETARG_LSN(2))));
}
