/*-------------------------------------------------------------------------
 * cmd_switchover.c
 *	  pg_dr switchover: the part of dr_switchover() that must outlive the
 *	  old primary's server (docs/ha.md, "Switchover").  Started by the
 *	  server (ha/ha_switchover.c), detached from it, with its output in
 *	  $PGDATA/pg_dr_switchover.log; not a command to type.
 *
 * In order:
 *	 1. it waits until the dr_switchover() call's transaction ends (a byte
 *		on --signal-fd: 'c' committed; anything else abandons, and the
 *		server, whose client writes an abort lets go again, is left as is);
 *	 2. it stops the server with a fast shutdown (SIGINT to the postmaster
 *		named by --postmaster-pid, once postmaster.pid says it is that one):
 *		the walsenders send every record, the shutdown checkpoint
 *		included, before they exit;
 *	 3. it reads pg_control: a clean shutdown, and its checkpoint's LSN;
 *	 4. it waits until the target (its conninfo in the environment, not on
 *		this command line) has replayed past that checkpoint;
 *	 5. with etcd (ha_etcd_endpoints), it records the term in etcd and
 *		hands the leader key from the old primary to the target
 *		(swEtcdHandOver); then it promotes the target
 *		(pgdr.ha_switchover_promote, which checks
 *		again) and records the switchover there with its duration
 *		(pgdr.ha_switchover_record: dr_failover_history and the audit
 *		trail);
 *	 6. it runs `pg_dr rejoin --source <target>` on the stopped data
 *		directory (standby.signal, primary_conninfo; pg_rewind only if
 *		the old primary went past the fork, which steps 2-4 rule out);
 *	 7. it starts the server (ha_start_command, %D the data directory;
 *		default pg_ctl start of its bindir).
 * When 3 or 4 fails, or 5 fails with the target still a standby, nothing
 * was handed over: what 5 changed in etcd is put back (swEtcdUndo) and
 * the server is started again as the primary it was.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "getopt_long.h"
#include "lib/stringinfo.h"
#include "libpq-fe.h"
#include "portability/instr_time.h"

#include "bin/cli.h"
#include "bin/rejoin.h"
#include "common/logging.h"
#include "ha/etcd.h"
#include "ha/ha_conninfo.h"

#define SW_OPT_TARGET		901
#define SW_OPT_TERM			902
#define SW_OPT_PID			903
#define SW_OPT_TIMEOUT		904
#define SW_OPT_ELAPSED		905
#define SW_OPT_SIGNAL_FD	906

#define SW_CONNINFO_ENV		"PG_DR_SWITCHOVER_CONNINFO"

typedef struct CliSwitchoverOptions
{
	const char *pgdata;
	const char *target;
	const char *term;
	long		postmasterPid;
	long		timeoutMs;
	long		elapsedMs;
	int			signalFd;
} CliSwitchoverOptions;

static const struct option cliSwitchoverOptions[] = {
	{"pgdata", required_argument, NULL, 'D'},
	{"target", required_argument, NULL, SW_OPT_TARGET},
	{"term", required_argument, NULL, SW_OPT_TERM},
	{"postmaster-pid", required_argument, NULL, SW_OPT_PID},
	{"timeout-ms", required_argument, NULL, SW_OPT_TIMEOUT},
	{"elapsed-ms", required_argument, NULL, SW_OPT_ELAPSED},
	{"signal-fd", required_argument, NULL, SW_OPT_SIGNAL_FD},
	{NULL, 0, NULL, 0}
};

void
cliSwitchoverHelp(void)
{
	printf("%s switchover finishes a planned switchover that dr_switchover() began\n"
		   "on the primary: it stops that server, promotes the target once it has\n"
		   "replayed the shutdown checkpoint (with etcd, after recording the term\n"
		   "there and handing the leader key to the target), and starts the old\n"
		   "primary as the target's standby.  The server starts it, detached, with\n"
		   "its output in $PGDATA/pg_dr_switchover.log; it is not meant to be run\n"
		   "by hand.\n\n",
		   CLI_PROGNAME);
	printf("Usage:\n");
	printf("  %s switchover [--config FILE] --pgdata DIR --target NAME --term N\n"
		   "      --postmaster-pid PID --timeout-ms MS --elapsed-ms MS --signal-fd FD\n",
		   CLI_PROGNAME);
	printf("\nOptions:\n");
	cliCommandHelpConfig(26);
	printf("  -r, --repo=N            accepted as by every command; switchover reads no\n"
		   "                          repository\n");
	printf("  -D, --pgdata=DIR        data directory of the old primary\n");
	printf("      --target=NAME       the standby to promote (its registered name)\n");
	printf("      --term=N            the term the old primary gave it\n");
	printf("      --postmaster-pid=PID  the old primary's postmaster, to stop\n");
	printf("      --timeout-ms=MS     how long the target may take to replay the\n"
		   "                          shutdown checkpoint (at least 10 s)\n");
	printf("      --elapsed-ms=MS     how long client writes had been held when this\n"
		   "                          started\n");
	printf("      --signal-fd=FD      the pipe on which the call says it committed\n");
	printf("  -h, --help              show this help, then exit\n");
	printf("\nThe target's conninfo is read from the environment variable %s.\n",
		   SW_CONNINFO_ENV);
	printf("\nExit status: 0 when the old primary was started as a standby of the\n"
		   "target, 1 otherwise, 2 on a usage error.\n");
}

static bool
cliSwitchoverNumber(const char *name, const char *arg, long *out)
{
	char	   *end;

	errno = 0;
	*out = strtol(arg, &end, 10);
	if (errno != 0 || *end != '\0' || *out < 0)
	{
		pg_log_error("invalid value \"%s\" for --%s", arg, name);
		return false;
	}
	return true;
}

static bool
cliSwitchoverOption(void *state, int c, const char *arg)
{
	CliSwitchoverOptions *opts = state;
	long		n;

	switch (c)
	{
		case 'D':
			opts->pgdata = arg;
			return true;
		case SW_OPT_TARGET:
			opts->target = arg;
			return true;
		case SW_OPT_TERM:
			opts->term = arg;
			return cliSwitchoverNumber("term", arg, &n);
		case SW_OPT_PID:
			return cliSwitchoverNumber("postmaster-pid", arg, &opts->postmasterPid);
		case SW_OPT_TIMEOUT:
			return cliSwitchoverNumber("timeout-ms", arg, &opts->timeoutMs);
		case SW_OPT_ELAPSED:
			return cliSwitchoverNumber("elapsed-ms", arg, &opts->elapsedMs);
		case SW_OPT_SIGNAL_FD:
			if (!cliSwitchoverNumber("signal-fd", arg, &n))
				return false;
			opts->signalFd = (int) n;
			return true;
	}
	return false;
}

static const CliCommandSpec cliSwitchoverSpec = {
	.name = "switchover",
	.help = cliSwitchoverHelp,
	.options = cliSwitchoverOptions,
	.shortOptions = "D:",
	.option = cliSwitchoverOption,
	.argsMin = 0,
	.argsMax = 0,
	.repoOptional = true,
};

/* A line of the log, with the time: the log is read after the fact. */
static void swLog(const char *fmt,...) pg_attribute_printf(1, 2);

static void
swLog(const char *fmt,...)
{
	va_list		ap;
	struct timespec ts;
	struct tm	tm;
	char		when[64];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(stderr, "%s.%03d UTC pg_dr switchover[%d]: ", when,
			(int) (ts.tv_nsec / 1000000), (int) getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

static int64
swMsSince(instr_time start)
{
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, start);
	return (int64) INSTR_TIME_GET_MILLISEC(now);
}

/* The transaction of the call: true when it committed. */
static bool
swWaitCommit(int fd)
{
	struct pollfd p;
	char		c = 0;
	int			rc;

	p.fd = fd;
	p.events = POLLIN;
	p.revents = 0;
	do
		rc = poll(&p, 1, 600 * 1000);
	while (rc < 0 && errno == EINTR);
	if (rc <= 0)
	{
		swLog("the dr_switchover() call did not end within 600 s: switchover abandoned");
		return false;
	}
	if (read(fd, &c, 1) != 1 || c != 'c')
	{
		swLog("the dr_switchover() call did not commit: switchover abandoned, the server goes on as the primary");
		return false;
	}
	return true;
}

/* The first line of postmaster.pid (0: none). */
static long
swPostmasterPid(const char *pgdata)
{
	char		path[MAXPGPATH];
	char		line[64];
	FILE	   *f;
	long		pid = 0;

	snprintf(path, sizeof(path), "%s/postmaster.pid", pgdata);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	if (fgets(line, sizeof(line), f) != NULL)
		pid = strtol(line, NULL, 10);
	fclose(f);
	return pid;
}

/* Fast shutdown of the server, and its end. */
static bool
swStop(const char *pgdata, long pid, int64 waitMs)
{
	instr_time	start;

	if (swPostmasterPid(pgdata) != pid)
	{
		swLog("postmaster.pid of \"%s\" does not name PID %ld: not stopping anything", pgdata, pid);
		return false;
	}
	if (kill((pid_t) pid, SIGINT) != 0)
	{
		swLog("could not signal the postmaster (PID %ld): %m", pid);
		return false;
	}
	swLog("fast shutdown of the server (PID %ld) requested", pid);
	INSTR_TIME_SET_CURRENT(start);
	while (swMsSince(start) < waitMs)
	{
		/*
		 * As pg_ctl stop: postmaster.pid goes last, after the shutdown
		 * checkpoint (the process itself may linger as a zombie of a
		 * parent that reaps it late).
		 */
		if (swPostmasterPid(pgdata) != pid)
		{
			swLog("the server stopped after %lld ms", (long long) swMsSince(start));
			return true;
		}
		pg_usleep(20 * 1000);
	}
	swLog("the server (PID %ld) did not stop within %lld ms", pid, (long long) waitMs);
	return false;
}

static PGconn *
swConnect(const char *conninfo)
{
	const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
	const char *values[] = {conninfo, "10", "pg_dr switchover", NULL};
	PGconn	   *conn = PQconnectdbParams(keys, values, 1);

	if (PQstatus(conn) != CONNECTION_OK)
	{
		swLog("could not connect to the target (%s): %s", haConninfoRedact(conninfo),
			  PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

/* One value of a one-row query, palloc'd; NULL (logged) on failure. */
static char *
swQuery(PGconn *conn, const char *sql, int nParams, const char *const *params)
{
	PGresult   *r = PQexecParams(conn, sql, nParams, NULL, params, NULL, NULL, 0);
	char	   *v = NULL;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = pstrdup(PQgetisnull(r, 0, 0) ? "" : PQgetvalue(r, 0, 0));
	else
		swLog("the target answered: %s", PQerrorMessage(conn));
	PQclear(r);
	return v;
}

/* The target replayed past lsn within waitMs. */
static bool
swWaitReplay(const char *conninfo, XLogRecPtr lsn, int64 waitMs)
{
	instr_time	start;
	char		lsnText[32];
	const char *params[1] = {lsnText};
	PGconn	   *conn = NULL;

	snprintf(lsnText, sizeof(lsnText), "%X/%X", LSN_FORMAT_ARGS(lsn));
	INSTR_TIME_SET_CURRENT(start);
	while (swMsSince(start) < waitMs)
	{
		char	   *v;

		if (conn == NULL && (conn = swConnect(conninfo)) == NULL)
		{
			pg_usleep(200 * 1000);
			continue;
		}
		v = swQuery(conn, "SELECT pg_catalog.pg_last_wal_replay_lsn() OPERATOR(pg_catalog.>)"
					" $1::pg_catalog.pg_lsn", 1, params);
		if (v != NULL && strcmp(v, "t") == 0)
		{
			swLog("the target replayed past the shutdown checkpoint at %s after %lld ms",
				  lsnText, (long long) swMsSince(start));
			PQfinish(conn);
			return true;
		}
		if (v == NULL)
		{
			PQfinish(conn);
			conn = NULL;
		}
		pg_usleep(20 * 1000);
	}
	swLog("the target did not replay past the shutdown checkpoint at %s within %lld ms",
		  lsnText, (long long) waitMs);
	if (conn)
		PQfinish(conn);
	return false;
}

/* s in single quotes for /bin/sh */
static void
swShellQuote(StringInfo out, const char *s)
{
	appendStringInfoChar(out, '\'');
	for (; *s; s++)
	{
		if (*s == '\'')
			appendStringInfoString(out, "'\\''");
		else
			appendStringInfoChar(out, *s);
	}
	appendStringInfoChar(out, '\'');
}

/* The start command, %D replaced by the data directory, quoted; %% a %. */
static char *
swStartCommand(const char *configured, const char *pgdata, const char *bindir)
{
	StringInfoData cmd;
	StringInfoData def;
	const char *p;

	initStringInfo(&def);
	if (configured == NULL)
	{
		char		path[MAXPGPATH];

		snprintf(path, sizeof(path), "%s/pg_ctl", bindir);
		swShellQuote(&def, path);
		appendStringInfoString(&def, " start -w -t 3600 -D %D -l %D/pg_dr_switchover.log");
		configured = def.data;
	}
	initStringInfo(&cmd);
	for (p = configured; *p; p++)
	{
		if (p[0] == '%' && p[1] == 'D')
		{
			swShellQuote(&cmd, pgdata);
			p++;
		}
		else if (p[0] == '%' && p[1] == '%')
		{
			appendStringInfoChar(&cmd, '%');
			p++;
		}
		else
			appendStringInfoChar(&cmd, *p);
	}
	pfree(def.data);
	return cmd.data;
}

static bool
swStart(const char *command, const char *as)
{
	int			rc;

	swLog("starting the server as %s: %s", as, command);
	fflush(stdout);
	rc = system(command);
	if (rc != 0)
	{
		swLog("the start command failed (%s %d)",
			  rc > 0 && WIFEXITED(rc) ? "exit status" : "status",
			  rc > 0 && WIFEXITED(rc) ? WEXITSTATUS(rc) : rc);
		return false;
	}
	swLog("the server started as %s", as);
	return true;
}

/* `pg_dr rejoin --config F --pgdata D --source conninfo`, this program */
static bool
swRejoin(const char *self, const char *config, const char *pgdata, const char *conninfo)
{
	pid_t		pid;
	int			status;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
	{
		swLog("could not fork pg_dr rejoin: %m");
		return false;
	}
	if (pid == 0)
	{
		execl(self, CLI_PROGNAME, "rejoin", "--config", config, "--pgdata", pgdata,
			  "--source", conninfo, (char *) NULL);
		fprintf(stderr, "could not run \"%s\": %m\n", self);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
	{
		if (errno != EINTR)
		{
			swLog("could not wait for pg_dr rejoin: %m");
			return false;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
	{
		swLog("pg_dr rejoin failed: the old primary is left stopped; run pg_dr rejoin by hand (docs/ha.md, \"Rejoin\")");
		return false;
	}
	return true;
}


/* ------------------------------------------------------------ etcd */

/*
 * With etcd (ha_etcd_endpoints) the licence to be primary is the leader
 * key, so the key goes from the old primary to the target before the
 * target promotes: the target holds it from the moment it is primary,
 * and no other standby can take it meanwhile.
 */
typedef struct SwEtcd
{
	EtcdClient *client;
	char		leaderKey[256];
	char		termKey[256];
	bool		termRecorded;	/* this process wrote the term key */
	bool		termWasThere;	/* ... over a value (else it was absent) */
	char		termBefore[32]; /* that value */
	int64		lease;			/* the lease the target's key is under (0:
								 * none) */
} SwEtcd;

/*
 * Hand the licence over, in this order: (1) the term key gets term, with
 * a compare on the revision read (as the HA worker records a failover's
 * term, so no two nodes promote in one term), after checking it is newer
 * than what etcd records; (2) the old primary's lease is revoked (its key
 * goes with it; the key must name the old primary or be absent); (3) the
 * key is created, naming the target, under a new lease of ha_lease_ttl,
 * which the target's HA worker adopts once it is primary (as after a
 * worker restart, ha_worker.c).  False (logged) when any step fails:
 * swEtcdUndo then puts back what this process changed.
 */
static bool
swEtcdHandOver(SwEtcd *e, const DrConfig *config, const char *target, uint64 term)
{
	EtcdClientParam param;
	DrError		err;
	EtcdKv		kv;
	bool		found = false;
	bool		done = false;
	char		termText[32];
	int64		oldLease = 0;
	int64		granted;
	EtcdKv		holder;
	bool		holderFound = false;

	memset(&param, 0, sizeof(param));
	param.endpoints = config->ha.etcdEndpoints;
	param.timeoutMs = config->ha.retryTimeoutMs;
	drErrorClear(&err);
	e->client = etcdClientNew(&param, &err);
	if (e->client == NULL)
	{
		swLog("etcd: %s", err.message);
		return false;
	}
	snprintf(e->leaderKey, sizeof(e->leaderKey), "/pg_dr/%s/leader", config->ha.clusterName);
	snprintf(e->termKey, sizeof(e->termKey), "/pg_dr/%s/term", config->ha.clusterName);
	snprintf(termText, sizeof(termText), UINT64_FORMAT, term);

	/* the leader key: the old primary's, or free */
	memset(&kv, 0, sizeof(kv));
	if (!etcdGet(e->client, e->leaderKey, &kv, &found, &err))
	{
		swLog("etcd: could not read %s: %s", e->leaderKey, err.message);
		return false;
	}
	if (found)
	{
		bool		ours = strcmp(kv.value, config->ha.nodeName) == 0;

		if (!ours)
			swLog("etcd: the leader key names \"%s\", not this node \"%s\"", kv.value,
				  config->ha.nodeName);
		oldLease = kv.lease;
		etcdKvFree(&kv);
		if (!ours)
			return false;
	}

	/* 1. the term */
	memset(&kv, 0, sizeof(kv));
	if (!etcdGet(e->client, e->termKey, &kv, &found, &err))
	{
		swLog("etcd: could not read %s: %s", e->termKey, err.message);
		return false;
	}
	e->termWasThere = found;
	if (found)
	{
		uint64		t = strtou64(kv.value, NULL, 10);
		int64		rev = kv.modRevision;

		strlcpy(e->termBefore, kv.value, sizeof(e->termBefore));
		etcdKvFree(&kv);
		if (t >= term)
		{
			swLog("etcd records term " UINT64_FORMAT ", not older than term " UINT64_FORMAT
				  ": another node was promoted meanwhile", t, term);
			return false;
		}
		if (!etcdPutIfRevision(e->client, e->termKey, termText, rev, &done, &kv, &found, &err))
		{
			swLog("etcd: term %s not recorded: %s", termText, err.message);
			return false;
		}
	}
	else if (!etcdPutIfRevision(e->client, e->termKey, termText, 0, &done, &kv, &found, &err))
	{
		swLog("etcd: term %s not recorded: %s", termText, err.message);
		return false;
	}
	if (!done)
	{
		swLog("etcd: term %s not recorded: the term key changed meanwhile (it records %s)",
			  termText, found ? kv.value : "nothing");
		if (found)
			etcdKvFree(&kv);
		return false;
	}
	e->termRecorded = true;
	swLog("etcd: term %s recorded in %s", termText, e->termKey);

	/* 2. the old primary's lease, and with it its key */
	if (oldLease != 0)
	{
		if (!etcdLeaseRevoke(e->client, oldLease, &err) && err.code != DR_ERR_NOT_FOUND)
		{
			swLog("etcd: could not revoke the old primary's lease %lld: %s",
				  (long long) oldLease, err.message);
			return false;
		}
		drErrorClear(&err);
		swLog("etcd: the old primary's lease %lld revoked", (long long) oldLease);
	}
	if (!etcdDeleteIfValue(e->client, e->leaderKey, config->ha.nodeName, &done, &err))
	{
		swLog("etcd: could not release the leader key: %s", err.message);
		return false;
	}

	/* 3. the key, for the target */
	if (!etcdLeaseGrant(e->client, (config->ha.leaseTtlMs + 999) / 1000, &e->lease,
						&granted, &err))
	{
		swLog("etcd: no lease granted: %s", err.message);
		e->lease = 0;
		return false;
	}
	memset(&holder, 0, sizeof(holder));
	if (!etcdCreate(e->client, e->leaderKey, target, e->lease, &done, &holder,
					&holderFound, &err))
	{
		swLog("etcd: the leader key not taken for \"%s\": %s", target, err.message);
		return false;
	}
	if (!done)
	{
		swLog("etcd: the leader key was taken meanwhile by \"%s\"",
			  holderFound ? holder.value : "?");
		if (holderFound)
			etcdKvFree(&holder);
		return false;
	}
	swLog("etcd: the leader key names \"%s\" under lease %lld (its HA worker renews it once it is primary)",
		  target, (long long) e->lease);
	return true;
}

static void
swEtcdEnd(SwEtcd *e)
{
	if (e->client != NULL)
		etcdClientFree(e->client);
	e->client = NULL;
}

/*
 * The target was not promoted: revoke the target's lease (its key goes),
 * and put the term key back as it was if it still holds our term, so the
 * old primary, started again, is not fenced as replaced and takes the
 * free key (or adopts its lease, when nothing was revoked).
 */
static void
swEtcdUndo(SwEtcd *e, uint64 term)
{
	DrError		err;
	EtcdKv		kv;
	bool		found = false;
	bool		done = false;

	if (e->client == NULL)
		return;
	drErrorClear(&err);
	if (e->lease != 0)
	{
		if (etcdLeaseRevoke(e->client, e->lease, &err) || err.code == DR_ERR_NOT_FOUND)
			swLog("etcd: the target's lease %lld revoked: the leader key is free", (long long) e->lease);
		else
			swLog("etcd: could not revoke the target's lease %lld: %s (it runs out within ha_lease_ttl)",
				  (long long) e->lease, err.message);
		e->lease = 0;
	}
	if (!e->termRecorded)
		return;
	drErrorClear(&err);
	memset(&kv, 0, sizeof(kv));
	if (!etcdGet(e->client, e->termKey, &kv, &found, &err))
	{
		swLog("etcd: could not read %s to put it back: %s", e->termKey, err.message);
		return;
	}
	if (!found || strtou64(kv.value, NULL, 10) != term)
	{
		if (found)
			etcdKvFree(&kv);
		swLog("etcd: the term key no longer holds term " UINT64_FORMAT ": left as it is", term);
		return;
	}
	if (e->termWasThere)
	{
		EtcdKv		cur;
		bool		curFound = false;

		memset(&cur, 0, sizeof(cur));
		if (etcdPutIfRevision(e->client, e->termKey, e->termBefore, kv.modRevision, &done,
							  &cur, &curFound, &err) && curFound)
			etcdKvFree(&cur);
	}
	else
		(void) etcdDeleteIfValue(e->client, e->termKey, kv.value, &done, &err);
	etcdKvFree(&kv);
	if (done)
		swLog("etcd: the term key put back as it was (%s)", e->termWasThere ? e->termBefore : "absent");
	else
		swLog("etcd: the term key could not be put back%s%s: the old primary will fence itself as replaced",
			  err.message[0] ? ": " : "", err.message);
}

int
cliSwitchoverMain(int argc, char **argv)
{
	CliCommand	cmd;
	CliSwitchoverOptions opts;
	instr_time	start;
	const char *env;
	char	   *conninfo;
	char		self[MAXPGPATH];
	char		bindir[MAXPGPATH];
	char	   *startCommand;
	RejoinLocal local;
	char	   *error = NULL;
	char	   *hint = NULL;
	char		lsnText[32];
	char		durationText[32];
	const char *params[4];
	PGconn	   *conn;
	char	   *promoted;
	int64		durationMs;
	int			status;
	SwEtcd		etcd;
	uint64		term;

	INSTR_TIME_SET_CURRENT(start);
	memset(&etcd, 0, sizeof(etcd));
	memset(&opts, 0, sizeof(opts));
	opts.signalFd = -1;
	status = cliCommandBegin(&cmd, &cliSwitchoverSpec, &opts, argc, argv);
	if (status != CLI_CONTINUE)
		return status;
	if (opts.pgdata == NULL || opts.target == NULL || opts.term == NULL ||
		opts.postmasterPid <= 0 || opts.signalFd < 0)
		return cliUsageError("switchover", "--pgdata, --target, --term, --postmaster-pid and --signal-fd are needed (dr_switchover() gives them)");
	env = getenv(SW_CONNINFO_ENV);
	if (env == NULL || env[0] == '\0')
		return cliUsageError("switchover", "%s is not set (dr_switchover() sets it)", SW_CONNINFO_ENV);
	term = strtou64(opts.term, NULL, 10);
	conninfo = pstrdup(env);
	unsetenv(SW_CONNINFO_ENV);
	if (!cliCommandConfigLoad(&cmd))
		return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);
	if (find_my_exec(cliProgramArgv0, self) != 0)
	{
		swLog("could not find where this program is installed");
		return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);
	}
	strlcpy(bindir, self, sizeof(bindir));
	get_parent_directory(bindir);
	startCommand = swStartCommand(cmd.config->ha.startCommand, opts.pgdata, bindir);
	swLog("switchover to \"%s\" in term %s: waiting for the dr_switchover() call to commit",
		  opts.target, opts.term);

	/* 1. the call committed */
	if (!swWaitCommit(opts.signalFd))
		return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);
	close(opts.signalFd);
	/* its result on the way to the client before the server stops */
	pg_usleep(100 * 1000);

	/* 2. stop (the server lets client writes go again 10 s after this wait, ha_switchover.c) */
	if (!swStop(opts.pgdata, opts.postmasterPid, Max(opts.timeoutMs, 300 * 1000L)))
		return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);

	/* 3. the shutdown checkpoint */
	if (!rejoinLocalRead(opts.pgdata, &local, &error, &hint))
	{
		swLog("%s", error);
		swStart(startCommand, "the primary it was");
		return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);
	}
	if (!local.cleanShutdown)
	{
		swLog("the server did not shut down cleanly (%s): nothing handed over", local.stateName);
		swStart(startCommand, "the primary it was");
		return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);
	}
	snprintf(lsnText, sizeof(lsnText), "%X/%X", LSN_FORMAT_ARGS(local.checkpoint));
	swLog("shut down cleanly; shutdown checkpoint at %s on timeline %u", lsnText, local.tli);

	/* 4. the target has it all */
	if (!swWaitReplay(conninfo, local.checkpoint, Max(opts.timeoutMs, 10 * 1000L)))
	{
		swLog("nothing handed over: \"%s\" is not promoted", opts.target);
		swStart(startCommand, "the primary it was");
		return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);
	}

	/* 5. with etcd, the licence: the term, then the leader key */
	if (cmd.config->ha.etcdEndpoints != NULL &&
		!swEtcdHandOver(&etcd, cmd.config, opts.target, term))
	{
		swEtcdUndo(&etcd, term);
		swEtcdEnd(&etcd);
		swLog("nothing handed over: \"%s\" is not promoted", opts.target);
		swStart(startCommand, "the primary it was");
		return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);
	}

	/* promote, record */
	if ((conn = swConnect(conninfo)) == NULL)
	{
		swEtcdUndo(&etcd, term);
		swEtcdEnd(&etcd);
		swLog("nothing handed over: \"%s\" is not promoted", opts.target);
		swStart(startCommand, "the primary it was");
		return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);
	}
	params[0] = cmd.config->ha.nodeName;
	params[1] = opts.term;
	params[2] = lsnText;
	promoted = swQuery(conn, "SELECT pgdr.ha_switchover_promote($1, $2::pg_catalog.int8,"
					   " $3::pg_catalog.pg_lsn)", 3, params);
	if (promoted == NULL)
	{
		char	   *standby = swQuery(conn, "SELECT pg_catalog.pg_is_in_recovery()", 0, NULL);

		PQfinish(conn);
		if (standby != NULL && strcmp(standby, "t") == 0)
		{
			swEtcdUndo(&etcd, term);
			swEtcdEnd(&etcd);
			swLog("nothing handed over: \"%s\" is still a standby", opts.target);
			swStart(startCommand, "the primary it was");
		}
		else
			swLog("whether \"%s\" was promoted is not known: the old primary is left stopped; look at \"%s\", then run pg_dr rejoin or start it",
				  opts.target, opts.target);
		return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);
	}
	if (etcd.lease != 0)
	{
		DrError		err;
		int64		ttl;

		/* the target's worker renews it from its next round; meanwhile */
		drErrorClear(&err);
		if (!etcdLeaseKeepAlive(etcd.client, etcd.lease, &ttl, &err))
			swLog("etcd: the target's lease %lld not renewed: %s", (long long) etcd.lease,
				  err.message);
	}
	swEtcdEnd(&etcd);
	durationMs = opts.elapsedMs + swMsSince(start);
	swLog("\"%s\" %s; writes were held for %lld ms until then", opts.target, promoted,
		  (long long) durationMs);
	snprintf(durationText, sizeof(durationText), "%lld", (long long) durationMs);
	params[0] = cmd.config->ha.nodeName;
	params[1] = opts.term;
	params[2] = durationText;
	params[3] = promoted;
	if (swQuery(conn, "SELECT pgdr.ha_switchover_record($1, $2::pg_catalog.int8,"
				" $3::pg_catalog.int8, $4)", 4, params) == NULL)
		swLog("the switchover could not be recorded on \"%s\" (above); it is done", opts.target);
	PQfinish(conn);

	/* 6. a standby of the target, 7. started */
	if (!swRejoin(self, cmd.config->path, opts.pgdata, conninfo))
		return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);
	if (!swStart(startCommand, "a standby of the new primary"))
		return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);
	swLog("switchover to \"%s\" done", opts.target);
	return cliCommandEnd(&cmd, CLI_EXIT_OK);
}
