/*-------------------------------------------------------------------------
 * restore_jobs_fork.c
 *	  The restore job launcher of the CLI (restore_jobs.h): one fork()ed
 *	  child per job.  Frontend only: listed in FE_ONLY_SRCS (Makefile,
 *	  mk/frontend.mk), so the extension never compiles it -- a server
 *	  process must not fork.
 *
 * A child inherits the Restore (prepared, with its split), catches SIGINT
 * and SIGTERM with a handler of its own (both stay blocked from before
 * fork() until then) that its host's cancelled hook answers: stopped, the
 * job ends at its next safe point, removes the file it was writing and
 * reports DR_ERR_CANCELED, so a stopped restore leaves no temporary file
 * behind.  It runs restoreJobRun and
 * writes to its pipe: its progress at most every RESTORE_JOBS_POLL_MS, its
 * notices, and last its result (ok or its DrError).  Then it _exit()s,
 * leaving the parent's stdio buffers and atexit handlers alone.
 *
 * Each message is one write() of a fixed-size struct smaller than
 * PIPE_BUF, so it arrives whole and is read whole.  The parent polls the
 * pipes; end of file on one means its child is gone, and the child is then
 * reaped: it succeeded only if it reported a result and exited with 0.  A
 * child that dies without reporting (killed, out of memory) fails the
 * restore with a message saying so.  stop sends SIGTERM to every child
 * still running and reaps them.
 *-------------------------------------------------------------------------
 */
#ifndef FRONTEND
#error "restore_jobs_fork.c is frontend code: a server process must not fork"
#endif

#include "common/dr_c.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "restore/restore_internal.h"

typedef enum RestoreForkMsgKind
{
	RESTORE_FORK_MSG_PROGRESS = 1,
	RESTORE_FORK_MSG_NOTICE,
	RESTORE_FORK_MSG_RESULT
} RestoreForkMsgKind;

/* What a child writes to its pipe, one write() each. */
typedef struct RestoreForkMsg
{
	RestoreForkMsgKind kind;
	uint64		filesDone;		/* PROGRESS */
	uint64		bytesDone;
	char		notice[1280];	/* NOTICE */
	bool		warning;		/* NOTICE: a warning (hostWarning) */
	bool		ok;				/* RESULT */
	RestoreResult result;
	DrError		error;
} RestoreForkMsg;

StaticAssertDecl(sizeof(RestoreForkMsg) <= PIPE_BUF,
				 "a restore job's message must be written atomically");

typedef struct RestoreForkJob
{
	pid_t		pid;			/* 0: not started, or reaped */
	int			fd;				/* read end of its pipe; -1 once closed */
	bool		reported;		/* its RESULT message arrived */
	RestoreForkMsg last;		/* that message */
} RestoreForkJob;

typedef struct RestoreFork
{
	RestoreJobLauncher launcher;	/* first: the struct handed out */
	RestoreForkJob jobs[RESTORE_JOBS_MAX];
	int			next;			/* where the next wait starts looking */
} RestoreFork;

/* The child's side of its pipe. */
typedef struct RestoreForkChild
{
	int			fd;
	int64		sentMs;			/* when progress was last sent */
} RestoreForkChild;

/* One message to the parent; false when it could not be written whole. */
static bool
restoreForkSend(int fd, const RestoreForkMsg *msg)
{
	ssize_t		n;

	do
		n = write(fd, msg, sizeof(*msg));
	while (n < 0 && errno == EINTR);
	return n == (ssize_t) sizeof(*msg);
}

/* The child's host: progress (throttled) and notices go to the pipe. */
static void
restoreForkChildProgress(void *arg, const DrProgress *progress)
{
	RestoreForkChild *child = arg;
	int64		now = restoreJobsNowMs();
	RestoreForkMsg msg;

	if (now - child->sentMs < RESTORE_JOBS_POLL_MS)
		return;
	child->sentMs = now;
	memset(&msg, 0, sizeof(msg));
	msg.kind = RESTORE_FORK_MSG_PROGRESS;
	msg.filesDone = progress->itemsDone;
	msg.bytesDone = progress->bytesDone;
	(void) restoreForkSend(child->fd, &msg);
}

static void
restoreForkChildSay(RestoreForkChild *child, const char *message, bool warning)
{
	RestoreForkMsg msg;

	memset(&msg, 0, sizeof(msg));
	msg.kind = RESTORE_FORK_MSG_NOTICE;
	msg.warning = warning;
	strlcpy(msg.notice, message, sizeof(msg.notice));
	(void) restoreForkSend(child->fd, &msg);
}

static void
restoreForkChildNotice(void *arg, const char *message)
{
	restoreForkChildSay(arg, message, false);
}

static void
restoreForkChildWarning(void *arg, const char *message)
{
	restoreForkChildSay(arg, message, true);
}

/* In the child: SIGINT or SIGTERM asks the job to stop. */
static volatile sig_atomic_t restoreForkChildStop = 0;

static void
restoreForkChildSignal(SIGNAL_ARGS)
{
	restoreForkChildStop = 1;
}

static bool
restoreForkChildCancelled(void *arg)
{
	return restoreForkChildStop != 0;
}

/*
 * In the child: run the job, report, exit.  Never returns.  SIGINT and
 * SIGTERM arrive blocked (see restoreForkStart): one sent meanwhile is
 * delivered to the child's own handler, installed before they are
 * unblocked, and stops the job like any later one.
 */
static void
restoreForkChildRun(Restore *restore, int jobs, int job, int fd,
					const sigset_t *mask)
{
	RestoreForkChild child;
	DrHost		host;
	RestoreForkMsg *msg = palloc0(sizeof(RestoreForkMsg));
	bool		sent;

	pqsignal(SIGINT, restoreForkChildSignal);
	pqsignal(SIGTERM, restoreForkChildSignal);
	sigprocmask(SIG_SETMASK, mask, NULL);

	child.fd = fd;
	child.sentMs = restoreJobsNowMs();
	memset(&host, 0, sizeof(host));
	host.cancelled = restoreForkChildCancelled;
	host.progress = restoreForkChildProgress;
	host.notice = restoreForkChildNotice;
	host.warning = restoreForkChildWarning;
	host.arg = &child;

	drErrorClear(&msg->error);
	msg->kind = RESTORE_FORK_MSG_RESULT;
	msg->ok = restoreJobRun(restore, jobs, job, &host, &msg->result,
							&msg->error);
	sent = restoreForkSend(fd, msg);
	fflush(stdout);
	fflush(stderr);
	_exit(sent ? 0 : 1);
}

static bool
restoreForkStart(void *arg, Restore *restore, int jobs, int job, DrError *err)
{
	RestoreFork *forker = arg;
	int			fds[2];
	pid_t		pid;
	int			forkErrno;
	sigset_t	block;
	sigset_t	mask;

	Assert(job >= 0 && job < RESTORE_JOBS_MAX && forker->jobs[job].pid == 0);
	/* what is buffered would be written by the parent and every child */
	fflush(stdout);
	fflush(stderr);
	if (pipe(fds) < 0)
		return drErrorSet(err, DR_ERR_IO, "could not create a pipe: %m");

	/*
	 * Until the child has installed its own SIGINT and SIGTERM handler,
	 * the caller's (which set a flag in the caller's state, not the
	 * job's) would catch a stop meant for the job: block both across
	 * fork().
	 */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &mask);
	pid = fork();
	forkErrno = errno;
	if (pid != 0)
		sigprocmask(SIG_SETMASK, &mask, NULL);
	if (pid < 0)
	{
		errno = forkErrno;
		drErrorSet(err, DR_ERR_IO, "could not start restore job %d: %m", job + 1);
		close(fds[0]);
		close(fds[1]);
		return false;
	}
	if (pid == 0)
	{
		close(fds[0]);
		/* the other jobs' pipes are the parent's business */
		for (int j = 0; j < RESTORE_JOBS_MAX; j++)
			if (forker->jobs[j].fd >= 0)
				close(forker->jobs[j].fd);
		restoreForkChildRun(restore, jobs, job, fds[1], &mask);
	}
	close(fds[1]);
	forker->jobs[job].pid = pid;
	forker->jobs[job].fd = fds[0];
	forker->jobs[job].reported = false;
	return true;
}

/* waitpid() for one child, through EINTR; its status. */
static int
restoreForkReap(RestoreForkJob *job)
{
	int			status = 0;

	while (waitpid(job->pid, &status, 0) < 0 && errno == EINTR)
		;
	job->pid = 0;
	return status;
}

/* Job index's pipe reached its end: reap it, and say how it ended. */
static void
restoreForkDone(RestoreForkJob *job, int index, RestoreJobEvent *event)
{
	int			status;

	close(job->fd);
	job->fd = -1;
	status = restoreForkReap(job);

	event->kind = RESTORE_JOB_EVENT_DONE;
	event->job = index;
	drErrorClear(&event->error);
	if (job->reported && WIFEXITED(status) && WEXITSTATUS(status) == 0)
	{
		event->ok = job->last.ok;
		event->result = job->last.result;
		event->error = job->last.error;
	}
	else if (WIFSIGNALED(status))
	{
		event->ok = false;
		drErrorSet(&event->error, DR_ERR_INTERNAL,
				   "restore job %d was terminated by signal %d",
				   index + 1, WTERMSIG(status));
	}
	else
	{
		event->ok = false;
		drErrorSet(&event->error, DR_ERR_INTERNAL,
				   "restore job %d ended without reporting", index + 1);
	}
}

static bool
restoreForkWait(void *arg, int timeoutMs, RestoreJobEvent *event, DrError *err)
{
	RestoreFork *forker = arg;
	struct pollfd fds[RESTORE_JOBS_MAX];
	int			index[RESTORE_JOBS_MAX];
	int			count = 0;
	int			rc;

	event->kind = RESTORE_JOB_EVENT_NONE;
	/* start where the last wait left off, so that no job starves another */
	for (int k = 0; k < RESTORE_JOBS_MAX; k++)
	{
		int			j = (forker->next + k) % RESTORE_JOBS_MAX;

		if (forker->jobs[j].fd < 0)
			continue;
		fds[count].fd = forker->jobs[j].fd;
		fds[count].events = POLLIN;
		fds[count].revents = 0;
		index[count++] = j;
	}
	if (count == 0)
		return true;

	rc = poll(fds, count, timeoutMs);
	if (rc < 0 && errno == EINTR)
		return true;			/* a signal: the engine looks at its host */
	if (rc < 0)
		return drErrorSet(err, DR_ERR_IO, "could not wait for the restore jobs: %m");

	for (int i = 0; rc > 0 && i < count; i++)
	{
		RestoreForkJob *job = &forker->jobs[index[i]];
		RestoreForkMsg msg;
		ssize_t		n;

		if (fds[i].revents == 0)
			continue;
		forker->next = (index[i] + 1) % RESTORE_JOBS_MAX;
		n = read(job->fd, &msg, sizeof(msg));
		if (n < 0 && errno == EINTR)
			return true;
		if (n < 0)
			return drErrorSet(err, DR_ERR_IO, "could not read from restore job %d: %m",
							  index[i] + 1);
		if (n == 0)
		{
			restoreForkDone(job, index[i], event);
			return true;
		}
		if (n != (ssize_t) sizeof(msg))
			return drErrorSet(err, DR_ERR_INTERNAL,
							  "restore job %d sent a truncated report (%zd bytes)",
							  index[i] + 1, n);
		switch (msg.kind)
		{
			case RESTORE_FORK_MSG_PROGRESS:
				event->kind = RESTORE_JOB_EVENT_PROGRESS;
				event->job = index[i];
				event->filesDone = msg.filesDone;
				event->bytesDone = msg.bytesDone;
				break;
			case RESTORE_FORK_MSG_NOTICE:
				event->kind = RESTORE_JOB_EVENT_NOTICE;
				event->job = index[i];
				strlcpy(event->notice, msg.notice, sizeof(event->notice));
				event->warning = msg.warning;
				break;
			case RESTORE_FORK_MSG_RESULT:
				/* DONE comes with the end of the pipe, once it is reaped */
				job->reported = true;
				job->last = msg;
				break;
			default:
				return drErrorSet(err, DR_ERR_INTERNAL,
								  "restore job %d sent a report of unknown kind %d",
								  index[i] + 1, (int) msg.kind);
		}
		return true;
	}
	return true;
}

static void
restoreForkStop(void *arg)
{
	RestoreFork *forker = arg;

	for (int j = 0; j < RESTORE_JOBS_MAX; j++)
		if (forker->jobs[j].pid > 0)
			kill(forker->jobs[j].pid, SIGTERM);
	for (int j = 0; j < RESTORE_JOBS_MAX; j++)
	{
		RestoreForkJob *job = &forker->jobs[j];

		if (job->pid > 0)
			(void) restoreForkReap(job);
		if (job->fd >= 0)
			close(job->fd);
		job->fd = -1;
	}
}

RestoreJobLauncher *
restoreJobsForkLauncher(void)
{
	RestoreFork *forker = palloc0(sizeof(RestoreFork));

	for (int j = 0; j < RESTORE_JOBS_MAX; j++)
		forker->jobs[j].fd = -1;
	forker->launcher.start = restoreForkStart;
	forker->launcher.wait = restoreForkWait;
	forker->launcher.stop = restoreForkStop;
	forker->launcher.arg = forker;
	return &forker->launcher;
}

void
restoreJobsForkLauncherFree(RestoreJobLauncher *launcher)
{
	RestoreFork *forker = (RestoreFork *) launcher;

	if (forker == NULL)
		return;
	/* a launcher freed with jobs still running stops them */
	restoreForkStop(forker);
	pfree(forker);
}
