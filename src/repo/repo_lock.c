/*-------------------------------------------------------------------------
 * repo_lock.c
 *	  Backup locks: heartbeat objects of a running backup (or of a key
 *	  rotation), and what an expire reads of them (see repo_lock.h for the
 *	  protocol).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <unistd.h>

#include "repo/repo_backup.h"
#include "repo/repo_lock.h"

struct RepoLock
{
	Repo	   *repo;
	char	   *dir;			/* where its heartbeats are */
	char	   *what;			/* for messages: "backup <id>" */
	char		backupId[MANIFEST_ID_MAX + 1];	/* its owner's name */
	char		parentId[MANIFEST_ID_MAX + 1];
	uint64		sequence;		/* of the heartbeat that exists */
	int64		written;		/* when it was written */
};

static char *
repoLockPath(const char *dir, uint64 sequence)
{
	return psprintf("%s/" REPO_LOCK_PREFIX "%016llX", dir,
					(unsigned long long) sequence);
}

/* backup/<id>: where a backup's heartbeats are */
static char *
repoLockBackupDir(const char *backupId)
{
	return psprintf("%s/%s", REPO_BACKUP_DIR, backupId);
}

bool
repoLockNameParse(const char *name, uint64 *sequence)
{
	const size_t prefix = strlen(REPO_LOCK_PREFIX);
	uint64		value = 0;

	if (strlen(name) != prefix + REPO_LOCK_SEQ_LEN ||
		strncmp(name, REPO_LOCK_PREFIX, prefix) != 0)
		return false;
	for (const char *p = name + prefix; *p; p++)
	{
		int			digit;

		if (*p >= '0' && *p <= '9')
			digit = *p - '0';
		else if (*p >= 'A' && *p <= 'F')
			digit = *p - 'A' + 10;
		else
			return false;
		value = (value << 4) | digit;
	}
	if (value == 0)
		return false;
	*sequence = value;
	return true;
}

char *
repoLockFormat(const char *backupId, const char *parentId, uint64 sequence,
			   int64 now, const char *host, int pid)
{
	return psprintf("# pg_dr lock: held by a running writer; see repo_lock.h\n"
					"backup = %s\n"
					"parent = %s\n"
					"host = %s\n"
					"pid = %d\n"
					"sequence = " UINT64_FORMAT "\n"
					"time = " INT64_FORMAT "\n",
					backupId, parentId ? parentId : "", host, pid, sequence,
					now);
}

/* A decimal number without sign, as repoLockFormat writes it. */
static bool
repoLockNumber(const char *s, uint64 *value)
{
	uint64		v = 0;

	if (*s == '\0' || strlen(s) > 19)
		return false;
	for (; *s; s++)
	{
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (*s - '0');
	}
	*value = v;
	return true;
}

bool
repoLockParse(const char *text, const char *backupId, uint64 sequence,
			  RepoLockState *state)
{
	char	   *copy = pstrdup(text);
	char	   *line;
	char	   *next;
	bool		haveBackup = false;
	bool		haveSequence = false;
	bool		haveTime = false;
	bool		ok = true;

	state->parentId[0] = '\0';
	memset(&state->holder, 0, sizeof(state->holder));
	for (line = copy; ok && line != NULL && *line; line = next)
	{
		char	   *eq;
		const char *value;
		uint64		number;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		eq = strstr(line, " = ");
		if (eq == NULL)
		{
			ok = false;
			break;
		}
		*eq = '\0';
		value = eq + 3;
		if (strcmp(line, "backup") == 0)
			haveBackup = ok = strcmp(value, backupId) == 0;
		else if (strcmp(line, "parent") == 0)
		{
			ok = value[0] == '\0' || manifestBackupIdValid(value);
			if (ok)
				strlcpy(state->parentId, value, sizeof(state->parentId));
		}
		else if (strcmp(line, "sequence") == 0)
			haveSequence = ok = repoLockNumber(value, &number) &&
				number == sequence;
		else if (strcmp(line, "time") == 0)
		{
			haveTime = ok = repoLockNumber(value, &number) &&
				number <= (uint64) PG_INT64_MAX;
			if (ok)
				state->time = (int64) number;
		}
		else if (strcmp(line, "host") == 0)
			strlcpy(state->holder.host, value, sizeof(state->holder.host));
		else if (strcmp(line, "pid") == 0)
		{
			if (repoLockNumber(value, &number) && number <= (uint64) PG_INT32_MAX)
				state->holder.pid = (int) number;
		}
		else if (strcmp(line, "start") == 0)
		{
			if (repoLockNumber(value, &number) && number <= (uint64) PG_INT64_MAX)
				state->holder.start = (int64) number;
		}
		else if (strcmp(line, "datadir") == 0)
			strlcpy(state->holder.dataDir, value, sizeof(state->holder.dataDir));
		/* names of later versions: informational */
	}
	pfree(copy);
	return ok && haveBackup && haveSequence && haveTime;
}

/* repoLockIdentitySet: what this process's heartbeats say of it. */
static int64 repoLockStart = 0;
static char repoLockDataDir[1024] = "";

void
repoLockIdentitySet(int64 postmasterStart, const char *dataDir)
{
	repoLockStart = postmasterStart;
	/* one line of the heartbeat: a path with a newline is left out */
	if (dataDir != NULL && strchr(dataDir, '\n') == NULL &&
		strlen(dataDir) < sizeof(repoLockDataDir))
		strlcpy(repoLockDataDir, dataDir, sizeof(repoLockDataDir));
	else
		repoLockDataDir[0] = '\0';
}

bool
repoLockHolderGone(const RepoLockHolder *holder, const char *host,
				   int64 postmasterStart, const char *dataDir, bool pidAlive)
{
	if (holder->host[0] == '\0' || holder->pid <= 0 ||
		strcmp(holder->host, host) != 0)
		return false;
	if (!pidAlive)
		return true;
	/* the pid is alive: another process's now, when the postmaster changed */
	return holder->start != 0 && postmasterStart != 0 &&
		holder->dataDir[0] != '\0' && dataDir != NULL &&
		strcmp(holder->dataDir, dataDir) == 0 &&
		holder->start != postmasterStart;
}

bool
repoLockLive(const RepoLockState *state, int64 now)
{
	if (!state->present)
		return false;
	if (!state->parsed)
		return true;
	return state->time > now - REPO_LOCK_EXPIRE;
}

static bool
repoLockCollect(void *arg, const StorageInfo *info, DrError *err)
{
	RepoLockState *state = arg;
	uint64		sequence;

	if (info->isDir || !repoLockNameParse(info->name, &sequence))
		return true;
	/* normally one, two while a heartbeat is being written */
	state->sequences = state->sequences == NULL ?
		palloc(sizeof(uint64)) :
		repalloc(state->sequences, sizeof(uint64) * (state->count + 1));
	state->sequences[state->count++] = sequence;
	if (!state->present || sequence > state->sequence)
		state->sequence = sequence;
	state->present = true;
	return true;
}

bool
repoLockRead(Repo *repo, const char *backupId, RepoLockState *state,
			 DrError *err)
{
	char	   *dir = repoLockBackupDir(backupId);
	bool		ok = repoLockReadIn(repo, dir, backupId, state, err);

	pfree(dir);
	return ok;
}

bool
repoLockReadIn(Repo *repo, const char *dir, const char *owner,
			   RepoLockState *state, DrError *err)
{
	const char *backupId = owner;
	char	   *path;
	char	   *text;
	size_t		len;
	DrError		readErr;
	bool		ok;

	memset(state, 0, sizeof(*state));
	ok = storageList(repoStorage(repo), dir, repoLockCollect, state, err);
	if (!ok || !state->present)
		return ok;

	path = repoLockPath(dir, state->sequence);
	drErrorClear(&readErr);
	text = storageGet(repoStorage(repo), path, &len, REPO_LOCK_SIZE_MAX,
					  &readErr);
	pfree(path);
	if (text == NULL)
	{
		/* removed since it was listed: its owner moved on (or ended) */
		if (readErr.code == DR_ERR_NOT_FOUND)
			return true;
		/* too large: not ours to judge, keep the directory (parsed false) */
		if (readErr.code == DR_ERR_INVALID)
			return true;
		*err = readErr;
		return false;
	}
	state->parsed = strlen(text) == len &&
		repoLockParse(text, backupId, state->sequence, state);
	pfree(text);
	return true;
}

void
repoLockStateFree(RepoLockState *state)
{
	if (state->sequences)
		pfree(state->sequences);
	state->sequences = NULL;
	state->count = 0;
}

bool
repoLockTake(Repo *repo, const char *backupId, const RepoLockState *state,
			 bool *taken, DrError *err)
{
	char	   *dir = repoLockBackupDir(backupId);
	bool		ok = repoLockTakeIn(repo, dir, state, taken, err);

	pfree(dir);
	return ok;
}

bool
repoLockTakeIn(Repo *repo, const char *dir, const RepoLockState *state,
			   bool *taken, DrError *err)
{
	RepoLockState again;
	bool		ok = true;

	for (int i = 0; ok && i < state->count; i++)
	{
		char	   *path = repoLockPath(dir, state->sequences[i]);

		ok = storageRemove(repoStorage(repo), path, err);
		pfree(path);
	}
	if (!ok)
		return false;

	/* a heartbeat written meanwhile: its owner lives (repo_lock.h) */
	memset(&again, 0, sizeof(again));
	ok = storageList(repoStorage(repo), dir, repoLockCollect, &again, err);
	*taken = ok && !again.present;
	repoLockStateFree(&again);
	return ok;
}

/* Write heartbeat number sequence of lock. */
static bool
repoLockWrite(RepoLock *lock, uint64 sequence, int64 now, DrError *err)
{
	char		host[256];
	char	   *path = repoLockPath(lock->dir, sequence);
	char	   *text;
	StorageWriteParam param = {0};
	bool		ok;

	if (gethostname(host, sizeof(host)) != 0)
		strlcpy(host, "unknown", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	text = repoLockFormat(lock->backupId, lock->parentId, sequence, now, host,
						  (int) getpid());
	if (repoLockStart != 0 && repoLockDataDir[0] != '\0')
	{
		char	   *more = psprintf("%sstart = " INT64_FORMAT "\ndatadir = %s\n",
									text, repoLockStart, repoLockDataDir);

		pfree(text);
		text = more;
	}
	ok = storagePut(repoStorage(lock->repo), path, text, strlen(text), &param,
					err);
	if (!ok)
		drErrorPrefix(err, "could not write the lock of %s: ",
					  lock->what);
	pfree(text);
	pfree(path);
	return ok;
}

RepoLock *
repoLockAcquire(Repo *repo, const char *backupId, const char *parentId,
				int64 now, DrError *err)
{
	char	   *dir = repoLockBackupDir(backupId);
	char	   *what = psprintf("backup %s", backupId);
	RepoLock   *lock = repoLockAcquireIn(repo, dir, backupId, what, parentId,
										 now, err);

	pfree(what);
	pfree(dir);
	return lock;
}

RepoLock *
repoLockAcquireIn(Repo *repo, const char *dir, const char *owner,
				  const char *what, const char *parentId, int64 now,
				  DrError *err)
{
	RepoLock   *lock = palloc0(sizeof(RepoLock));

	lock->repo = repo;
	lock->dir = pstrdup(dir);
	lock->what = pstrdup(what);
	strlcpy(lock->backupId, owner, sizeof(lock->backupId));
	strlcpy(lock->parentId, parentId ? parentId : "", sizeof(lock->parentId));
	if (!repoLockWrite(lock, 1, now, err))
	{
		pfree(lock->what);
		pfree(lock->dir);
		pfree(lock);
		return NULL;
	}
	lock->sequence = 1;
	lock->written = now;
	return lock;
}

bool
repoLockHeartbeat(RepoLock *lock, int64 now, bool force, DrError *err)
{
	char	   *previous;
	bool		exists;
	bool		ok;

	if (!force && now >= lock->written && now < lock->written + REPO_LOCK_HEARTBEAT)
		return true;
	if (!repoLockWrite(lock, lock->sequence + 1, now, err))
		return false;
	lock->sequence++;
	lock->written = now;

	/* the previous one must still be there (the race in repo_lock.h) */
	previous = repoLockPath(lock->dir, lock->sequence - 1);
	ok = storageExists(repoStorage(lock->repo), previous, &exists, err);
	if (ok && !exists)
	{
		ok = drErrorSet(err, DR_ERR_NOT_FOUND,
						"the lock of %s was taken away: another process (an expire, the next backup, a key rotation) found it without a heartbeat for %d seconds and removed what it kept",
						lock->what, REPO_LOCK_EXPIRE);
		drErrorHint(err, "It cannot complete; run it again.  A writer that stalls for that long (a backup waiting for WAL archiving, for instance) loses its lock.");
	}
	if (ok)
		ok = storageRemove(repoStorage(lock->repo), previous, err);
	pfree(previous);
	return ok;
}

bool
repoLockRelease(RepoLock *lock, DrError *err)
{
	char	   *path;
	bool		ok;

	if (lock == NULL)
		return true;
	path = repoLockPath(lock->dir, lock->sequence);
	ok = storageRemove(repoStorage(lock->repo), path, err);
	pfree(path);
	pfree(lock->what);
	pfree(lock->dir);
	pfree(lock);
	return ok;
}
