/*-------------------------------------------------------------------------
 * host.h
 *	  Host hooks: what a long shared operation (restore, backup verify, WAL
 *	  verify, retention) asks of whoever runs it — may I go on, here is how
 *	  far I am, tell the user this.
 *
 * Shared code runs in the server and in the CLI, which differ in exactly
 * these three things.  In the server the hooks check for a cancel request
 * (pg_cancel_backend, statement_timeout, shutdown), update the dr_progress
 * view and raise NOTICEs; in the CLI they watch for SIGINT/SIGTERM, print a
 * progress line and write to stderr.  Each Param of a long operation has a
 * `const DrHost *host` member; NULL means no hooks (nothing is checked,
 * nothing reported).
 *
 * Cancellation never jumps out of shared code: `cancelled` only answers.
 * When it answers true the operation stops at the next safe point, undoes
 * or leaves behind only what cannot look valid (see each operation's
 * header), and fails with DR_ERR_CANCELED.  The server then calls
 * CHECK_FOR_INTERRUPTS(), which raises the usual "canceling statement due
 * to user request" (57014); the CLI exits with its interrupted status.
 * So no file descriptor, lock or temporary file is left to a longjmp.
 *
 * Call hostCancelled() between units of work (a file, a segment, a backup;
 * inside a large file, every few MB) and hostProgress() after each unit.
 * Hooks must be cheap: the server's are a few stores to shared memory, the
 * CLI's print at most a few times a second.
 *-------------------------------------------------------------------------
 */
#ifndef DR_HOST_H
#define DR_HOST_H

/* What a long operation reports after each unit of work. */
typedef struct DrProgress
{
	const char *operation;		/* "restore", "verify", "wal verify",
								 * "expire" */
	const char *phase;			/* the step within it: "files", "wal",
								 * "finish", ...; never NULL */
	uint64		itemsDone;		/* files, segments, backups ... */
	uint64		itemsTotal;		/* 0 = not known */
	uint64		bytesDone;
	uint64		bytesTotal;		/* 0 = not known */
	const char *current;		/* the item just handled, NULL if none */
} DrProgress;

typedef struct DrHost
{
	/* true: stop at the next safe point and fail with DR_ERR_CANCELED */
	bool		(*cancelled) (void *arg);
	/* after a unit of work; the struct is valid during the call only */
	void		(*progress) (void *arg, const DrProgress *progress);
	/* a message for the user that is not an error (lower case, no period) */
	void		(*notice) (void *arg, const char *message);
	void	   *arg;
	/* a warning: something went wrong and was worked around (a fallback
	 * to another repository); NULL: given to notice */
	void		(*warning) (void *arg, const char *message);
} DrHost;

static inline bool
hostCancelled(const DrHost *host)
{
	return host != NULL && host->cancelled != NULL && host->cancelled(host->arg);
}

static inline void
hostProgress(const DrHost *host, const DrProgress *progress)
{
	if (host != NULL && host->progress != NULL)
		host->progress(host->arg, progress);
}

static inline void
hostNotice(const DrHost *host, const char *message)
{
	if (host != NULL && host->notice != NULL)
		host->notice(host->arg, message);
}

static inline void
hostWarning(const DrHost *host, const char *message)
{
	if (host != NULL && host->warning != NULL)
		host->warning(host->arg, message);
	else
		hostNotice(host, message);
}

#endif							/* DR_HOST_H */
