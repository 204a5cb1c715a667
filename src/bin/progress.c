/*-------------------------------------------------------------------------
 * progress.c
 *	  The CLI's host for long commands (restore, verify, expire): SIGINT
 *	  and SIGTERM cancel, progress goes to stderr (see cli.h, and
 *	  docs/cli.md for what the user sees).
 *
 * What is shown, with --progress:
 *	 auto (the default)  on a terminal, a live line per phase rewritten in
 *						 place at most four times a second (phase, count, bytes,
 *						 rate, ETA when the total is known); nothing when
 *						 stderr is not a terminal (a log or a pipe).
 *	 on					 the same on a terminal; otherwise a plain line
 *						 after the first unit of each phase, then every
 *						 10 seconds, and when a phase with a known total
 *						 completes.
 *	 off				 nothing.
 * Progress is on stderr so that stdout keeps only the command's report.
 *
 * Signals: the first SIGINT or SIGTERM only sets a flag, which the shared
 * code asks between units of work (common/host.h): the command stops at
 * a safe point, removes what it was writing, and exits with 128 + the
 * signal.  A second one to the command's own process is not caught: the
 * command dies at once, as without this handler.
 *
 * Only the command's own process calls this host.  Restore's jobs
 * (restore/restore_jobs_fork.c) report to the job engine in the parent
 * through a pipe and catch their own signals; the engine reports the whole
 * restore here, and stops the jobs when this host says a signal came.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "bin/cli.h"
#include "common/logging.h"

/* Microseconds between two lines: live on a terminal, plain otherwise. */
#define CLI_PROGRESS_LIVE_USEC		250000
#define CLI_PROGRESS_PLAIN_USEC		10000000

typedef struct CliProgressState
{
	/* the phase shown: changed by the first report of another phase */
	char		phase[32];
	uint64		itemsDone;		/* in this phase */
	uint64		bytesDone;
	uint64		itemsTotal;
	uint64		bytesTotal;
	int64		phaseStart;		/* usec, monotonic */
	int64		lastPrint;		/* usec; 0: nothing printed this phase */
	int			lineLen;		/* of the live line shown, 0 when none */
} CliProgressState;

static CliProgressState *cliProgress = NULL;	/* NULL: not begun */
static volatile sig_atomic_t cliProgressSignalled = 0;	/* the signal, or 0 */
static const char *cliProgressCommand = NULL;
static bool cliProgressLive = false;	/* rewrite one line in place */
static bool cliProgressPlain = false;	/* periodic lines */
static struct sigaction cliProgressOldInt;
static struct sigaction cliProgressOldTerm;

static int64
cliProgressNow(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
cliProgressSignal(int signo)
{
	/* a second signal: leave at once */
	if (cliProgressSignalled != 0)
	{
		signal(signo, SIG_DFL);
		raise(signo);
		return;
	}
	cliProgressSignalled = signo;
}

static bool
cliProgressCancelled(void *arg)
{
	return cliProgressSignalled != 0;
}

/* "1.5 GB": bytes for a human, binary units. */
static void
cliProgressBytes(StringInfo buf, double bytes)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
	int			u = 0;

	while (bytes >= 1024 && u < (int) lengthof(units) - 1)
	{
		bytes /= 1024;
		u++;
	}
	if (u == 0)
		appendStringInfo(buf, "%.0f %s", bytes, units[u]);
	else
		appendStringInfo(buf, "%.1f %s", bytes, units[u]);
}

/* "restore files 120/1043, 1.2 GB of 4.5 GB (26%), 85.3 MB/s, ETA 42s" */
static void
cliProgressLine(StringInfo buf, const char *operation, uint64 items,
				uint64 bytes, int64 now)
{
	CliProgressState *s = cliProgress;
	double		seconds = (double) (now - s->phaseStart) / 1000000;
	double		rate = seconds > 0 ? bytes / seconds : 0;
	double		left = -1;

	appendStringInfo(buf, "%s %s " UINT64_FORMAT, operation, s->phase, items);
	if (s->itemsTotal > 0)
		appendStringInfo(buf, "/" UINT64_FORMAT, s->itemsTotal);
	appendStringInfoString(buf, ", ");
	cliProgressBytes(buf, (double) bytes);
	if (s->bytesTotal > 0)
	{
		appendStringInfoString(buf, " of ");
		cliProgressBytes(buf, (double) s->bytesTotal);
		appendStringInfo(buf, " (%d%%)",
						 (int) (100.0 * Min(bytes, s->bytesTotal) / s->bytesTotal));
		if (rate > 0)
			left = (s->bytesTotal - Min(bytes, s->bytesTotal)) / rate;
	}
	else if (s->itemsTotal > 0 && items > 0 && seconds > 0)
		left = (s->itemsTotal - Min(items, s->itemsTotal)) * seconds / items;
	if (rate > 0)
	{
		appendStringInfoString(buf, ", ");
		cliProgressBytes(buf, rate);
		appendStringInfoString(buf, "/s");
	}
	if (left >= 0 && seconds >= 1)
	{
		long		l = (long) (left + 0.5);

		if (l >= 3600)
			appendStringInfo(buf, ", ETA %ldh%02ldm", l / 3600, (l / 60) % 60);
		else if (l >= 60)
			appendStringInfo(buf, ", ETA %ldm%02lds", l / 60, l % 60);
		else
			appendStringInfo(buf, ", ETA %lds", l);
	}
}

static void
cliProgressReport(void *arg, const DrProgress *progress)
{
	CliProgressState *s = cliProgress;
	uint64		items = progress->itemsDone;
	uint64		bytes = progress->bytesDone;
	int64		now = cliProgressNow();
	bool		complete;
	StringInfoData buf;

	/* counts start again with each phase and each operation */
	if (strcmp(s->phase, progress->phase) != 0)
	{
		/* the last line of the phase before stays on the terminal */
		cliProgressBreak();
		strlcpy(s->phase, progress->phase, sizeof(s->phase));
		s->itemsDone = s->bytesDone = 0;
		s->phaseStart = now;
		s->lastPrint = 0;
	}
	/* the report that completes a phase with a known total is shown */
	complete = progress->itemsTotal > 0 && items == progress->itemsTotal &&
		items > s->itemsDone;
	s->itemsTotal = progress->itemsTotal;
	s->bytesTotal = progress->bytesTotal;
	s->itemsDone = items;
	s->bytesDone = bytes;

	if (!cliProgressLive && !cliProgressPlain)
		return;
	if (!complete && s->lastPrint != 0 &&
		now - s->lastPrint < (cliProgressLive ? CLI_PROGRESS_LIVE_USEC : CLI_PROGRESS_PLAIN_USEC))
		return;
	s->lastPrint = now;

	initStringInfo(&buf);
	cliProgressLine(&buf, progress->operation, items, bytes, now);
	if (cliProgressLive)
	{
		int			pad = s->lineLen > buf.len ? s->lineLen - buf.len : 0;

		fprintf(stderr, "\r%s%*s", buf.data, pad, "");
		s->lineLen = buf.len;
	}
	else
		fprintf(stderr, "%s\n", buf.data);
	fflush(stderr);
	pfree(buf.data);
}

void
cliProgressBreak(void)
{
	if (cliProgress != NULL && cliProgress->lineLen > 0)
	{
		fputc('\n', stderr);
		cliProgress->lineLen = 0;
	}
}

static void
cliProgressNotice(void *arg, const char *message)
{
	cliProgressBreak();
	pg_log_info("%s", message);
}

static void
cliProgressWarning(void *arg, const char *message)
{
	cliProgressBreak();
	pg_log_warning("%s", message);
}

static const DrHost cliProgressHost = {
	.cancelled = cliProgressCancelled,
	.progress = cliProgressReport,
	.notice = cliProgressNotice,
	.arg = NULL,
	.warning = cliProgressWarning,
};

const DrHost *
cliProgressBegin(const char *command, CliProgressMode mode)
{
	struct sigaction sa;
	bool		tty = isatty(fileno(stderr));

	Assert(cliProgress == NULL);
	cliProgress = palloc0(sizeof(CliProgressState));
	cliProgressCommand = command;
	cliProgressLive = mode != CLI_PROGRESS_OFF && tty;
	cliProgressPlain = mode == CLI_PROGRESS_ON && !tty;
	cliProgressSignalled = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cliProgressSignal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, &cliProgressOldInt);
	sigaction(SIGTERM, &sa, &cliProgressOldTerm);
	return &cliProgressHost;
}

int
cliProgressEnd(int status)
{
	int			signo;

	if (cliProgress == NULL)
		return status;
	cliProgressBreak();
	sigaction(SIGINT, &cliProgressOldInt, NULL);
	sigaction(SIGTERM, &cliProgressOldTerm, NULL);
	signo = cliProgressSignalled;
	if (signo != 0 && status != CLI_EXIT_OK)
	{
		pg_log_error("%s stopped by %s", cliProgressCommand,
					 signo == SIGINT ? "SIGINT" : "SIGTERM");
		status = 128 + signo;
	}
	pfree(cliProgress);
	cliProgress = NULL;
	return status;
}
