/*-------------------------------------------------------------------------
 * repo_lock.h
 *	  Backup locks: how a running backup tells every expire -- the
 *	  server's and `pg_dr expire`, on any host -- that its manifest-less
 *	  directory is in use.
 *
 * The leader of a backup writes the heartbeat object
 *	 backup/<id>/lock.<sequence>	 (sequence: 16 hex digits, from 1)
 * before any other object of the backup and, while it runs, the next one
 * every REPO_LOCK_HEARTBEAT seconds, removing the previous one only after
 * the next is written; it removes the last one when the backup ends
 * (success or failure).  Nothing is overwritten in place and nothing
 * relies on a storage's modification times, so the protocol works on
 * object stores too.  The content is a few plain "name = value" lines
 * (backup, parent, host, pid, sequence, time): nothing secret, and
 * readable by a DBA.
 *
 * A lock is live while the time written in its newest heartbeat is less
 * than REPO_LOCK_EXPIRE seconds before the reader's clock (a time in the
 * future counts as live): the hosts' clocks must agree to within minutes.
 * A heartbeat whose content cannot be parsed counts as live (it keeps a
 * directory, never loses one).  A lock is expired when its owner died
 * without removing it: a crash of the server or of its host.  A caller on
 * the writer's own host may take a lock over sooner, when its writer is
 * provably gone (repoLockHolderGone: the catch-up, for a copy a crash cut
 * short); the protocol below keeps that safe even were it wrong.
 *
 * The race between a heartbeat and an expire that found the lock expired
 * (the backup was stalled for REPO_LOCK_EXPIRE seconds) is closed by the
 * order of operations on both sides:
 *	 heartbeat: write lock.<n+1>, then check that lock.<n> is still there
 *				(if not, the lock was taken away: the backup fails), then
 *				remove lock.<n>;
 *	 expire:	remove the heartbeats it read, then list again: any
 *				heartbeat there now is a backup that came back to life,
 *				and the directory stays.
 * Either expire sees lock.<n+1>, or the backup finds lock.<n> gone: a
 * removed directory never becomes a backup.
 *
 * The same heartbeat objects lock other things than a backup directory
 * (the ...In functions, which take the directory and the owner's name that
 * the "backup" line carries): the keyring's rotation holds
 * keys/rotation/lock.<sequence> while it runs (repo_keys.c), so that two
 * rotations never run at once.
 *-------------------------------------------------------------------------
 */
#ifndef DR_REPO_LOCK_H
#define DR_REPO_LOCK_H

#include "common/manifest.h"
#include "repo/repo.h"

/* Seconds between two heartbeats of a running backup. */
#define REPO_LOCK_HEARTBEAT		10
/* Seconds without a heartbeat after which a lock is expired. */
#define REPO_LOCK_EXPIRE		600

#define REPO_LOCK_PREFIX		"lock."
#define REPO_LOCK_SEQ_LEN		16
/* A heartbeat object is a few short lines. */
#define REPO_LOCK_SIZE_MAX		4096

/*
 * Who wrote a heartbeat, as its content says: host and pid, and for a
 * server process that set them (repoLockIdentitySet) the start of its
 * postmaster and its data directory (0 and "" when not written: the CLI,
 * an earlier release).
 */
typedef struct RepoLockHolder
{
	char		host[256];		/* "" when not written */
	int			pid;			/* 0 when not written */
	int64		start;			/* the postmaster's start as the server
								 * keeps it (PgStartTime), compared only
								 * for equality; 0: not written */
	char		dataDir[1024];	/* "" when not written */
} RepoLockHolder;

/* What an expire reads of a backup directory's lock. */
typedef struct RepoLockState
{
	bool		present;		/* a heartbeat object exists */
	bool		parsed;			/* the newest one could be parsed */
	uint64		sequence;		/* of the newest one */
	int64		time;			/* written in it (seconds since the epoch) */
	char		parentId[MANIFEST_ID_MAX + 1];	/* "" for a full backup */
	int			count;			/* heartbeat objects seen (normally 1) */
	uint64	   *sequences;		/* all of them, palloc'd; NULL when none */
	RepoLockHolder holder;		/* who wrote the newest one (when parsed) */
} RepoLockState;

/* The sequence number of a heartbeat object's name; false for other names. */
extern bool repoLockNameParse(const char *name, uint64 *sequence);

/*
 * The content of heartbeat number sequence written at time now, palloc'd
 * (host and pid are the writer's; informational).
 */
extern char *repoLockFormat(const char *backupId, const char *parentId,
							uint64 sequence, int64 now, const char *host,
							int pid);

/*
 * Parse a heartbeat's content into state->time and state->parentId: false
 * unless it names backupId and sequence and has a valid time.
 */
extern bool repoLockParse(const char *text, const char *backupId,
						  uint64 sequence, RepoLockState *state);

/* Whether a lock keeps its directory at time now (see the header comment). */
extern bool repoLockLive(const RepoLockState *state, int64 now);

/*
 * What this process writes into its heartbeats besides host and pid: the
 * start of its postmaster and its data directory (a server process; the
 * CLI writes neither).  Process-wide, from the next heartbeat on.
 */
extern void repoLockIdentitySet(int64 postmasterStart, const char *dataDir);

/*
 * Whether the writer of a heartbeat is provably gone, so that its lock
 * may be taken over at once instead of once it expired: it ran on this
 * host (host), and either its pid is not alive there (pidAlive, which the
 * caller found with kill(pid, 0)), or it was a process of a server in
 * this very data directory (dataDir) under a postmaster that started at
 * another time than this one's (postmasterStart): PostgreSQL starts a
 * postmaster in a data directory only once no process of the previous
 * one is left (its shared memory interlock).  Never for a heartbeat that
 * does not say where it was written.  Pure.
 */
extern bool repoLockHolderGone(const RepoLockHolder *holder, const char *host,
							   int64 postmasterStart, const char *dataDir,
							   bool pidAlive);

/*
 * Read the lock of backup/<backupId>/: list its heartbeats and parse the
 * newest.  A directory without one gives present = false.  Free with
 * repoLockStateFree.
 */
extern bool repoLockRead(Repo *repo, const char *backupId,
						 RepoLockState *state, DrError *err);
extern void repoLockStateFree(RepoLockState *state);

/*
 * Take a lock away (expire): remove the heartbeats state lists, then list
 * again; *taken is false when a new heartbeat appeared (its owner lives:
 * leave the directory alone).
 */
extern bool repoLockTake(Repo *repo, const char *backupId,
						 const RepoLockState *state, bool *taken,
						 DrError *err);

/* The lock of a running backup, held by its leader. */
typedef struct RepoLock RepoLock;

/*
 * Write the first heartbeat of backupId (parentId: an incremental's
 * parent, "" or NULL for a full backup).  DR_ERR_EXISTS when that first
 * heartbeat exists already (another backup with the same id).
 */
extern RepoLock *repoLockAcquire(Repo *repo, const char *backupId,
								 const char *parentId, int64 now,
								 DrError *err);

/*
 * The next heartbeat, when REPO_LOCK_HEARTBEAT seconds have passed since
 * the last one (always with force).  Fails with DR_ERR_NOT_FOUND when the
 * lock was taken away: the backup must not complete.
 */
extern bool repoLockHeartbeat(RepoLock *lock, int64 now, bool force,
							  DrError *err);

/*
 * The same for heartbeats in any directory dir of the repository, owned
 * by owner (the "backup" line of the content; at most MANIFEST_ID_MAX
 * characters); what names the lock in messages ("backup <id>").  The
 * backup functions above are these with dir backup/<id> and owner <id>.
 */
extern bool repoLockReadIn(Repo *repo, const char *dir, const char *owner,
						   RepoLockState *state, DrError *err);
extern bool repoLockTakeIn(Repo *repo, const char *dir,
						   const RepoLockState *state, bool *taken,
						   DrError *err);
extern RepoLock *repoLockAcquireIn(Repo *repo, const char *dir,
								   const char *owner, const char *what,
								   const char *parentId, int64 now,
								   DrError *err);

/* Remove the heartbeat and free the lock (also when that fails). */
extern bool repoLockRelease(RepoLock *lock, DrError *err);

#endif							/* DR_REPO_LOCK_H */
