/*-------------------------------------------------------------------------
 * metrics_http.c
 *	  The Prometheus endpoint: GET /metrics on pg_dr.metrics_listen, served
 *	  by a background worker of its own ("pg_dr metrics") with libmicrohttpd.
 *
 * The setting is empty (off) by default and takes effect on reload
 * (PGC_SIGHUP): turning it on, moving it and turning it off need no
 * restart, which a listener that a monitoring system depends on should not
 * demand.  The worker is therefore a dynamic one: the pg_dr worker's
 * "metrics endpoint" duty starts it when the setting is set and none runs;
 * it exits with status 0 (so the postmaster forgets it) when a reload
 * empties the setting.  Shared memory holds the PID of the one that runs,
 * so that a second one (the pg_dr worker restarted and lost its handle)
 * steps aside at once.
 *
 * A PostgreSQL backend is single-threaded: ereport, palloc, SPI and the
 * transaction machinery must never run on a thread PostgreSQL did not
 * create.  libmicrohttpd is therefore started without any thread of its own
 * (no MHD_USE_INTERNAL_POLLING_THREAD, no thread per connection) in its
 * "external polling" mode with epoll: the worker waits on its latch and on
 * MHD's epoll descriptor (readable when a connection or the listening
 * socket has work) with WaitLatchOrSocket, for at most what MHD_get_timeout
 * says, and then calls MHD_run(), which calls the request handler below on
 * this process's only thread.  A scrape runs metricsExpositionBuild() (the
 * code behind dr_metrics()) in a transaction of its own; an error there is
 * caught, logged and answered with 500, and never unwinds through MHD.
 *
 * Limits: 16 connections at once, 10 s of inactivity closes a connection,
 * 32 KiB of memory per connection (the request line and headers must fit:
 * MHD answers a bigger request with 431/413 itself).  Only GET and HEAD of
 * /metrics are served: another path is 404, another method 405.  There is
 * no authentication: bind to loopback (the example) or to an interface the
 * scraper alone can reach; no metric holds a secret (metrics.c).
 *
 * The listening socket is made here (socket, bind, listen) and handed to
 * MHD, so that a taken port or a foreign address is reported with the
 * system's reason and what to do.  A listener that cannot be opened is
 * retried after 10 s, 20 s, ... (at most 5 min), each failure logged; when
 * a reload moves the endpoint, the old listener serves until the new one
 * is open.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <microhttpd.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "api/metrics.h"
#include "common/listen_addr.h"
#include "ops/duty.h"
#include "ops/worker.h"
#include "pg_dr.h"

#define METRICS_HTTP_CONNECTIONS	16
#define METRICS_HTTP_TIMEOUT_S		10
#define METRICS_HTTP_MEMORY			(32 * 1024)
#define METRICS_HTTP_BACKLOG		64
#define METRICS_RETRY_MIN_MS		10000
#define METRICS_RETRY_MAX_MS		300000
/* how often the pg_dr worker checks that the endpoint's worker runs */
#define METRICS_DUTY_CHECK_MS		10000
/* after the endpoint's worker could not be started (no free slot) */
#define METRICS_DUTY_RETRY_MS		60000

#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

char	   *drMetricsListen = NULL;

typedef struct MetricsHttpShared
{
	slock_t		mutex;
	pid_t		pid;			/* the endpoint's worker; 0 when none runs */
} MetricsHttpShared;

static MetricsHttpShared *metricsShared = NULL;

/* --- the setting ------------------------------------------------------ */

static bool
metricsListenCheck(char **newval, void **extra, GucSource source)
{
	ListenAddr	addr;
	char		err[256];

	if (**newval == '\0' || listenAddrParse(*newval, &addr, err, sizeof(err)))
		return true;
	GUC_check_errdetail("In \"%s\", %s.", *newval, err);
	GUC_check_errhint("Write \"address:port\" with a numeric address, e.g. '127.0.0.1:9187' or '[::1]:9187', or '' to turn the endpoint off.");
	return false;
}

void
metricsHttpSettingsDefine(void)
{
	DefineCustomStringVariable("pg_dr.metrics_listen",
							   "Address and port of the Prometheus metrics endpoint (GET /metrics); empty: off.",
							   "A numeric IPv4 address or a bracketed IPv6 address, a colon and a port, "
							   "e.g. '127.0.0.1:9187'.  There is no authentication: choose an interface "
							   "only the scraper reaches.",
							   &drMetricsListen,
							   "",
							   PGC_SIGHUP,
							   0,
							   metricsListenCheck, NULL, NULL);
}

/* --- shared memory ---------------------------------------------------- */

Size
metricsHttpShmemSize(void)
{
	return MAXALIGN(sizeof(MetricsHttpShared));
}

void
metricsHttpShmemInit(void)
{
	bool		found;

	metricsShared = ShmemInitStruct("pg_dr metrics endpoint",
									sizeof(MetricsHttpShared), &found);
	if (!found)
	{
		SpinLockInit(&metricsShared->mutex);
		metricsShared->pid = 0;
	}
}

static pid_t
metricsRunningPid(void)
{
	pid_t		pid;

	SpinLockAcquire(&metricsShared->mutex);
	pid = metricsShared->pid;
	SpinLockRelease(&metricsShared->mutex);
	return pid;
}

/*
 * Claim the endpoint for this process; false when another live process
 * holds it.  A PID left by a process that died without its exit callback
 * (it cannot: a crash restarts every process and shared memory with it) is
 * taken over all the same.
 */
static bool
metricsClaim(pid_t *holder)
{
	bool		claimed;

	SpinLockAcquire(&metricsShared->mutex);
	*holder = metricsShared->pid;
	claimed = *holder == 0 || *holder == MyProcPid ||
		(kill(*holder, 0) != 0 && errno == ESRCH);
	if (claimed)
		metricsShared->pid = MyProcPid;
	SpinLockRelease(&metricsShared->mutex);
	return claimed;
}

static void
metricsRelease(int code, Datum arg)
{
	SpinLockAcquire(&metricsShared->mutex);
	if (metricsShared->pid == MyProcPid)
		metricsShared->pid = 0;
	SpinLockRelease(&metricsShared->mutex);
}

/* --- the duty of the pg_dr worker that starts the endpoint's worker ---- */

static BackgroundWorkerHandle *metricsWorkerHandle = NULL;

/* Whether the endpoint's worker runs or is about to (started, restarting). */
static bool
metricsWorkerAlive(void)
{
	if (metricsWorkerHandle != NULL)
	{
		pid_t		pid;

		switch (GetBackgroundWorkerPid(metricsWorkerHandle, &pid))
		{
			case BGWH_STARTED:
			case BGWH_NOT_YET_STARTED:	/* also: waiting to be restarted */
				return true;
			default:
				pfree(metricsWorkerHandle);
				metricsWorkerHandle = NULL;
				break;
		}
	}
	return metricsRunningPid() != 0;
}

static TimestampTz
metricsDutyNextDue(TimestampTz now, void *arg)
{
	if (drMetricsListen == NULL || drMetricsListen[0] == '\0')
		return DUTY_NEVER;
	return metricsWorkerAlive() ? now + METRICS_DUTY_CHECK_MS * INT64CONST(1000) : now;
}

static bool
metricsDutyRun(TimestampTz now, void *arg)
{
	BackgroundWorker worker;
	MemoryContext oldcxt;
	bool		registered;

	if (drMetricsListen == NULL || drMetricsListen[0] == '\0' || metricsWorkerAlive())
		return true;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS |
		BGWORKER_BACKEND_DATABASE_CONNECTION;
	/* on a hot standby too: a scrape only reads (dr_metrics) */
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	/* restarted after a failure; status 0 (setting emptied) unregisters it */
	worker.bgw_restart_time = 10;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "pg_dr");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "pg_dr_metrics_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "pg_dr metrics");
	snprintf(worker.bgw_type, BGW_MAXLEN, "pg_dr metrics");

	oldcxt = MemoryContextSwitchTo(TopMemoryContext);
	registered = RegisterDynamicBackgroundWorker(&worker, &metricsWorkerHandle);
	MemoryContextSwitchTo(oldcxt);
	if (!registered)
	{
		metricsWorkerHandle = NULL;
		ereport(WARNING,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("could not start the pg_dr metrics worker for pg_dr.metrics_listen \"%s\": no background worker slot is free",
						drMetricsListen),
				 errhint("Raise max_worker_processes and restart the server; pg_dr tries again every minute.")));
		return false;
	}
	return true;
}

void
metricsHttpDutiesRegister(void)
{
	/* it starts a worker and writes nothing: on a hot standby too */
	dutyRegisterInRecovery("metrics endpoint", metricsDutyNextDue, metricsDutyRun,
						   NULL, METRICS_DUTY_RETRY_MS);
}

/* --- the HTTP server (runs in the endpoint's worker) ------------------- */

typedef struct MetricsListener
{
	struct MHD_Daemon *daemon;	/* NULL when not listening */
	int			epollFd;		/* MHD's epoll descriptor, to wait on */
	char		text[256];		/* the setting it was opened for */
} MetricsListener;

/* libmicrohttpd's own error messages, into the server log */
static void
metricsMhdLog(void *cls, const char *format, va_list ap)
{
	char		line[512];
	size_t		len;

	vsnprintf(line, sizeof(line), format, ap);
	len = strlen(line);
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	ereport(LOG, (errmsg("pg_dr metrics: %s", line)));
}

static enum MHD_Result
metricsReply(struct MHD_Connection *connection, unsigned int status,
			 const char *contentType, const char *body, size_t len,
			 const char *allow)
{
	struct MHD_Response *response;
	enum MHD_Result result;

	response = MHD_create_response_from_buffer(len, (void *) body,
											   MHD_RESPMEM_MUST_COPY);
	if (response == NULL)
		return MHD_NO;			/* MHD closes the connection */
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, contentType);
	if (allow != NULL)
		MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, allow);
	result = MHD_queue_response(connection, status, response);
	MHD_destroy_response(response);
	return result;
}

static void
metricsScrapeStep(void *arg)
{
	metricsExpositionBuild((StringInfo) arg);
}

/*
 * The request handler, called by MHD_run() on this thread once the
 * request's headers are in.  No request has a body worth reading: the
 * answer is queued on the first call (MHD then discards what a client
 * uploads and closes that connection).
 */
static enum MHD_Result
metricsAnswer(void *cls, struct MHD_Connection *connection, const char *url,
			  const char *method, const char *version, const char *uploadData,
			  size_t *uploadDataSize, void **requestContext)
{
	static const char notFound[] = "404 not found: pg_dr serves /metrics\n";
	static const char notAllowed[] = "405 method not allowed: /metrics answers GET and HEAD\n";
	static const char failed[] = "500 the metrics could not be read; the server log says why\n";
	MemoryContext scrapeContext;
	MemoryContext oldcxt;
	StringInfoData out;
	bool		done;
	enum MHD_Result result;

	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
		strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return metricsReply(connection, MHD_HTTP_METHOD_NOT_ALLOWED,
							"text/plain; charset=utf-8", notAllowed,
							sizeof(notAllowed) - 1, "GET, HEAD");
	if (strcmp(url, "/metrics") != 0)
		return metricsReply(connection, MHD_HTTP_NOT_FOUND,
							"text/plain; charset=utf-8", notFound,
							sizeof(notFound) - 1, NULL);

	/* the text outlives the transaction that builds it: its own context */
	scrapeContext = AllocSetContextCreate(TopMemoryContext, "pg_dr metrics scrape",
										  ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(scrapeContext);
	initStringInfo(&out);
	MemoryContextSwitchTo(oldcxt);

	done = dutyXactRun("pg_dr metrics: scrape", metricsScrapeStep, &out);
	if (done)
		result = metricsReply(connection, MHD_HTTP_OK, METRICS_CONTENT_TYPE,
							  out.data, out.len, NULL);
	else
		result = metricsReply(connection, MHD_HTTP_INTERNAL_SERVER_ERROR,
							  "text/plain; charset=utf-8", failed,
							  sizeof(failed) - 1, NULL);
	MemoryContextDelete(scrapeContext);
	return result;
}

/* The SQLSTATE of a listener that could not be opened, by errno. */
static int
metricsListenCode(int err)
{
	switch (err)
	{
		case EADDRINUSE:
			return ERRCODE_OBJECT_IN_USE;
		case EADDRNOTAVAIL:
		case EAFNOSUPPORT:
			return ERRCODE_INVALID_PARAMETER_VALUE;
		case EACCES:
			return ERRCODE_INSUFFICIENT_PRIVILEGE;
		default:
			return ERRCODE_SYSTEM_ERROR;
	}
}

/* What to tell a user whose listener could not be opened. */
static const char *
metricsListenHint(int err)
{
	switch (err)
	{
		case EADDRINUSE:
			return "Another program listens on that port: stop it, or set pg_dr.metrics_listen to a free port and reload.";
		case EADDRNOTAVAIL:
			return "No interface of this host has that address: set pg_dr.metrics_listen to one it has (127.0.0.1 for this host alone) and reload.";
		case EACCES:
			return "Ports below 1024 need a privilege the server does not have: choose a port from 1024 up and reload.";
		case EAFNOSUPPORT:
			return "This host has no IPv6 (or no IPv4): use an address of the other family and reload.";
		default:
			return "Set pg_dr.metrics_listen to another address and reload, or to '' to turn the endpoint off.";
	}
}

/*
 * Open a listener on text; false (logged, with what to do and when the
 * next try is: retryMs) when it cannot.  On success *listener serves it.
 */
static bool
metricsListenerOpen(const char *text, MetricsListener *listener, int retryMs)
{
	ListenAddr	addr;
	char		err[256];
	int			fd;
	int			one = 1;
	const union MHD_DaemonInfo *info;

	if (!listenAddrParse(text, &addr, err, sizeof(err)))
	{
		/* the check hook refuses such a value: only a corrupt setting */
		ereport(WARNING,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pg_dr.metrics_listen \"%s\" is not an address: %s", text, err),
				 errhint("Write \"address:port\", e.g. '127.0.0.1:9187', and reload.")));
		return false;
	}

	fd = socket(addr.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0)
		(void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 ||
		bind(fd, (struct sockaddr *) &addr.addr, addr.addrLen) != 0 ||
		listen(fd, METRICS_HTTP_BACKLOG) != 0)
	{
		int			saved = errno;

		if (fd >= 0)
			close(fd);
		errno = saved;
		ereport(WARNING,
				(errcode(metricsListenCode(saved)),
				 errmsg("could not listen on \"%s\" (pg_dr.metrics_listen) for the metrics endpoint: %m", text),
				 errhint("%s  pg_dr tries again in %d s, then less and less often, every %d min at most.",
						 metricsListenHint(saved), retryMs / 1000,
						 METRICS_RETRY_MAX_MS / 60000)));
		return false;
	}

	/* no thread of MHD's own: see the file header */
	listener->daemon = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG,
										0, NULL, NULL,
										metricsAnswer, NULL,
										MHD_OPTION_EXTERNAL_LOGGER, metricsMhdLog, NULL,
										MHD_OPTION_LISTEN_SOCKET, (MHD_socket) fd,
										MHD_OPTION_CONNECTION_LIMIT,
										(unsigned int) METRICS_HTTP_CONNECTIONS,
										MHD_OPTION_CONNECTION_TIMEOUT,
										(unsigned int) METRICS_HTTP_TIMEOUT_S,
										MHD_OPTION_CONNECTION_MEMORY_LIMIT,
										(size_t) METRICS_HTTP_MEMORY,
										MHD_OPTION_END);
	if (listener->daemon == NULL)
	{
		close(fd);
		ereport(WARNING,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not start the HTTP server of the metrics endpoint on \"%s\"", text),
				 errhint("The lines before say why; pg_dr tries again in %d s.",
						 retryMs / 1000)));
		return false;
	}
	info = MHD_get_daemon_info(listener->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	listener->epollFd = info->epoll_fd;
	strlcpy(listener->text, text, sizeof(listener->text));
	ereport(LOG,
			(errmsg("pg_dr metrics endpoint listening on http://%s/metrics", text)));
	return true;
}

/* Stop a listener (MHD closes its socket and connections). */
static void
metricsListenerClose(MetricsListener *listener)
{
	if (listener->daemon != NULL)
		MHD_stop_daemon(listener->daemon);
	listener->daemon = NULL;
	listener->epollFd = -1;
	listener->text[0] = '\0';
}

static unsigned int
metricsConnections(struct MHD_Daemon *daemon)
{
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

	return info != NULL ? info->num_connections : 0;
}

/*
 * Let MHD do what is ready.  At the connection limit MHD takes its
 * listening socket out of its epoll set, and puts it back only at the
 * start of a run, once connections have closed: after a run that closed
 * any, run again, or the wait would not see new connections (those queued
 * in the kernel's backlog would never be accepted).  A run closes what is
 * there to close, so this ends; the bound is for safety.
 */
static void
metricsRun(struct MHD_Daemon *daemon)
{
	for (int i = 0; i < METRICS_HTTP_CONNECTIONS + 2; i++)
	{
		unsigned int before = metricsConnections(daemon);

		(void) MHD_run(daemon);
		if (metricsConnections(daemon) >= before)
			break;
	}
}

void
pg_dr_metrics_main(Datum arg)
{
	MetricsListener current = {NULL, -1, ""};
	TimestampTz retryAt = 0;
	int			retryMs = METRICS_RETRY_MIN_MS;
	pid_t		holder;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	if (!metricsClaim(&holder))
	{
		ereport(LOG,
				(errmsg("pg_dr metrics worker: another one (PID %d) serves the endpoint; exiting",
						(int) holder)));
		proc_exit(0);
	}
	before_shmem_exit(metricsRelease, 0);

	if (!MHD_is_feature_supported(MHD_FEATURE_EPOLL))
		ereport(FATAL,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the libmicrohttpd pg_dr is linked with has no epoll support"),
				 errhint("Install a libmicrohttpd built with epoll (Debian's is), or set pg_dr.metrics_listen to ''.")));

	BackgroundWorkerInitializeConnection(drDatabase, NULL, 0);
	pgstat_report_appname("pg_dr metrics");
	/* as the pg_dr worker does (worker.c): no search_path a user could plant in */
	SetConfigOption("search_path", DR_SAFE_SEARCH_PATH,
					PGC_SUSET, PGC_S_OVERRIDE);

	for (;;)
	{
		MHD_UNSIGNED_LONG_LONG mhdTimeout;
		long		timeoutMs = -1;
		int			events = WL_LATCH_SET | WL_EXIT_ON_PM_DEATH;

		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			if (drMetricsListen[0] == '\0')
			{
				ereport(LOG,
						(errmsg("pg_dr.metrics_listen is empty: the metrics endpoint stops")));
				metricsListenerClose(&current);
				proc_exit(0);	/* status 0: not restarted */
			}
			if (strcmp(drMetricsListen, current.text) != 0)
			{
				retryAt = 0;	/* a new address: try it at once */
				retryMs = METRICS_RETRY_MIN_MS;
			}
		}

		/* open the listener the setting names, keeping the old one until then */
		if (drMetricsListen[0] != '\0' && strcmp(drMetricsListen, current.text) != 0)
		{
			TimestampTz now = GetCurrentTimestamp();

			if (now >= retryAt)
			{
				MetricsListener next = {NULL, -1, ""};

				if (metricsListenerOpen(drMetricsListen, &next, retryMs))
				{
					if (current.daemon != NULL)
						ereport(LOG,
								(errmsg("pg_dr metrics endpoint no longer listens on \"%s\"",
										current.text)));
					metricsListenerClose(&current);
					current = next;
					retryMs = METRICS_RETRY_MIN_MS;
				}
				else
				{
					if (current.daemon != NULL)
						ereport(LOG,
								(errmsg("pg_dr metrics endpoint still listens on \"%s\"",
										current.text)));
					retryAt = now + retryMs * INT64CONST(1000);
					retryMs = Min(retryMs * 2, METRICS_RETRY_MAX_MS);
				}
			}
			if (retryAt > now)
				timeoutMs = (long) ((retryAt - now) / 1000) + 1;
		}

		if (current.daemon != NULL)
		{
			events |= WL_SOCKET_READABLE;
			if (MHD_get_timeout(current.daemon, &mhdTimeout) == MHD_YES &&
				(timeoutMs < 0 || mhdTimeout < (MHD_UNSIGNED_LONG_LONG) timeoutMs))
				timeoutMs = (long) Min(mhdTimeout, (MHD_UNSIGNED_LONG_LONG) 3600000);
		}
		if (timeoutMs >= 0)
			events |= WL_TIMEOUT;

		(void) WaitLatchOrSocket(MyLatch, events,
								 current.daemon != NULL ? current.epollFd : PGINVALID_SOCKET,
								 timeoutMs, PG_WAIT_EXTENSION);

		/* connections, the listening socket, MHD's own timeouts */
		if (current.daemon != NULL)
			metricsRun(current.daemon);
	}
}
