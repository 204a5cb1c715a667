/*-------------------------------------------------------------------------
 * archive_shmem.c
 *	  Shared state of WAL archiving: statistics per repository, the files
 *	  being stored right now (claims), and the markers of files the
 *	  pre-push workers stored (see archive_internal.h for how the archiver
 *	  and the workers use them).
 *
 * One LWLock protects everything; it is held only to copy a few hundred
 * bytes, never across I/O.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/condition_variable.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/pmsignal.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "archive/archive_internal.h"

/*
 * Markers kept.  Workers push at most ARCHIVE_WORKERS_MAX * 4 files ahead,
 * and the archiver takes the marker of each file it archives, so a marker
 * is replaced before it is used only after a restart of the archiver.
 */
#define ARCHIVE_PUSHED_MAX		(64 * CONFIG_REPO_MAX)

/*
 * How often the archiver looks again while it waits for a worker, should
 * a wakeup be missed (a worker that dies holding a claim broadcasts
 * nothing; its claim is cleared when the postmaster restarts it).
 */
#define ARCHIVE_CLAIM_POLL_MS	100

typedef struct ArchiveRepoStats
{
	bool		used;			/* archived to or failed with */
	uint64		repoHash;		/* the repository these figures are of */
	ArchiveRepoStatus status;
} ArchiveRepoStats;

typedef struct ArchiveShared
{
	LWLock	   *lock;

	/* the file each process is storing; "" = none.  Slot 0: the archiver */
	char		claims[ARCHIVE_WORKERS_MAX + 1][ARCHIVE_NAME_MAX];

	/* broadcast when a worker lets go of a claim: the archiver may wait */
	ConditionVariable claimReleased;

	/* latches of the running workers (slot 0 unused), to wake them */
	Latch	   *pusherLatch[ARCHIVE_WORKERS_MAX + 1];

	/* what the workers stored or failed to store */
	ArchivePushed pushed[ARCHIVE_PUSHED_MAX];

	/* per repository number; 0 = failures before a repository was known */
	ArchiveRepoStats repo[CONFIG_REPO_MAX + 1];

	/* the backups each repository holds, as the catch-up listed them */
	bool		backupsKnown[CONFIG_REPO_MAX + 1];
	int			backupCount[CONFIG_REPO_MAX + 1];
	char		backupIds[CONFIG_REPO_MAX + 1][ARCHIVE_BACKUPS_MAX][ARCHIVE_BACKUP_ID_MAX + 1];
} ArchiveShared;

static ArchiveShared *archiveShared = NULL;

static Size
archiveShmemSize(void)
{
	return MAXALIGN(sizeof(ArchiveShared));
}

void
archiveShmemRequest(void)
{
	RequestAddinShmemSpace(archiveShmemSize());
	RequestNamedLWLockTranche(ARCHIVE_LWLOCK_TRANCHE, 1);
}

void
archiveShmemInit(void)
{
	bool		found;

	archiveShared = ShmemInitStruct("pg_dr archive", archiveShmemSize(),
									&found);
	if (!found)
	{
		memset(archiveShared, 0, sizeof(ArchiveShared));
		archiveShared->lock =
			&(GetNamedLWLockTranche(ARCHIVE_LWLOCK_TRANCHE))[0].lock;
		ConditionVariableInit(&archiveShared->claimReleased);
	}
}

/* Is name claimed by a slot other than self?  Lock held. */
static bool
archiveClaimedByOther(const char *name, int self)
{
	for (int i = 0; i <= ARCHIVE_WORKERS_MAX; i++)
		if (i != self && strcmp(archiveShared->claims[i], name) == 0)
			return true;
	return false;
}

void
archiveClaimForArchiver(const char *name, int waitMs)
{
	TimestampTz deadline;
	bool		slept = false;

	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), waitMs);
	for (;;)
	{
		bool		held;

		LWLockAcquire(archiveShared->lock, LW_EXCLUSIVE);
		held = archiveClaimedByOther(name, ARCHIVE_SLOT_ARCHIVER);

		/*
		 * After the wait, go ahead anyway: a worker stuck on slow storage
		 * must not stop archiving, and of two writers of one object the
		 * storage lets exactly one create it.
		 */
		if (!held || GetCurrentTimestamp() >= deadline || !PostmasterIsAlive())
		{
			strlcpy(archiveShared->claims[ARCHIVE_SLOT_ARCHIVER], name,
					ARCHIVE_NAME_MAX);
			LWLockRelease(archiveShared->lock);
			break;
		}
		LWLockRelease(archiveShared->lock);

		/*
		 * Woken when a worker lets go of a claim (the first call only
		 * prepares the sleep, so a release in between is not missed).
		 */
		if (!slept)
			ConditionVariablePrepareToSleep(&archiveShared->claimReleased);
		else
			(void) ConditionVariableTimedSleep(&archiveShared->claimReleased,
											   ARCHIVE_CLAIM_POLL_MS,
											   PG_WAIT_EXTENSION);
		slept = true;
	}
	if (slept)
	{
		ConditionVariableCancelSleep();

		/*
		 * Sleeping reset the archiver's latch, and with it perhaps a
		 * wakeup meant for the archiver's own loop (a new .ready file, a
		 * reload, a shutdown request): set it again, which costs at most
		 * one more look at archive_status.
		 */
		SetLatch(MyLatch);
	}
}

/*
 * Whether name is done for repoHash as far as the workers go: pushed, or
 * failed less than retryMs ago.  Lock held.
 */
static bool
archivePushDone(const char *name, uint64 repoHash, TimestampTz now,
				int retryMs)
{
	for (int i = 0; i < ARCHIVE_PUSHED_MAX; i++)
	{
		ArchivePushed *p = &archiveShared->pushed[i];

		if (p->repoHash != repoHash || strcmp(p->name, name) != 0)
			continue;
		return p->ok || now < TimestampTzPlusMilliseconds(p->at, retryMs);
	}
	return false;
}

bool
archiveClaimForPush(int slot, const char *name, const uint64 *repoHashes,
					int count, int retryMs)
{
	TimestampTz now = GetCurrentTimestamp();
	bool		claimed = false;

	Assert(slot > ARCHIVE_SLOT_ARCHIVER && slot <= ARCHIVE_WORKERS_MAX);
	LWLockAcquire(archiveShared->lock, LW_EXCLUSIVE);
	if (!archiveClaimedByOther(name, slot))
	{
		bool		skip = true;

		for (int r = 0; r < count && skip; r++)
			skip = archivePushDone(name, repoHashes[r], now, retryMs);
		if (!skip)
		{
			strlcpy(archiveShared->claims[slot], name, ARCHIVE_NAME_MAX);
			claimed = true;
		}
	}
	LWLockRelease(archiveShared->lock);
	return claimed;
}

bool
archivePushWanted(const char *name, uint64 repoHash, int retryMs)
{
	bool		done;

	LWLockAcquire(archiveShared->lock, LW_SHARED);
	done = archivePushDone(name, repoHash, GetCurrentTimestamp(), retryMs);
	LWLockRelease(archiveShared->lock);
	return !done;
}

void
archiveClaimRelease(int slot)
{
	if (archiveShared == NULL)
		return;
	LWLockAcquire(archiveShared->lock, LW_EXCLUSIVE);
	archiveShared->claims[slot][0] = '\0';
	LWLockRelease(archiveShared->lock);
	if (slot != ARCHIVE_SLOT_ARCHIVER)
		ConditionVariableBroadcast(&archiveShared->claimReleased);
}

void
archivePushedRecord(const ArchivePushed *pushed)
{
	ArchivePushed *slot = NULL;

	LWLockAcquire(archiveShared->lock, LW_EXCLUSIVE);
	/*
	 * The same file and repository again, else a free slot, else the
	 * oldest marker
	 */
	for (int i = 0; i < ARCHIVE_PUSHED_MAX && slot == NULL; i++)
		if (strcmp(archiveShared->pushed[i].name, pushed->name) == 0 &&
			archiveShared->pushed[i].repoHash == pushed->repoHash)
			slot = &archiveShared->pushed[i];
	for (int i = 0; i < ARCHIVE_PUSHED_MAX && slot == NULL; i++)
		if (archiveShared->pushed[i].name[0] == '\0')
			slot = &archiveShared->pushed[i];
	if (slot == NULL)
	{
		slot = &archiveShared->pushed[0];
		for (int i = 1; i < ARCHIVE_PUSHED_MAX; i++)
			if (archiveShared->pushed[i].at < slot->at)
				slot = &archiveShared->pushed[i];
	}
	*slot = *pushed;
	LWLockRelease(archiveShared->lock);
}

bool
archivePushedTake(const char *name, uint64 repoHash, ArchivePushed *pushed)
{
	bool		found = false;

	LWLockAcquire(archiveShared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < ARCHIVE_PUSHED_MAX; i++)
	{
		ArchivePushed *p = &archiveShared->pushed[i];

		/* a failure stays: it holds the workers back until its retry time */
		if (strcmp(p->name, name) != 0 || !p->ok || p->repoHash != repoHash)
			continue;
		*pushed = *p;
		found = true;
		memset(p, 0, sizeof(ArchivePushed));
		break;
	}
	LWLockRelease(archiveShared->lock);
	return found;
}

/*
 * The statistics slot of repoNumber, reset when it now means another
 * repository.  Lock held.
 */
static ArchiveRepoStats *
archiveStatsSlot(int repoNumber, uint64 repoHash)
{
	ArchiveRepoStats *stats;

	if (repoNumber < 0 || repoNumber > CONFIG_REPO_MAX)
		repoNumber = 0;
	stats = &archiveShared->repo[repoNumber];
	if (!stats->used || stats->repoHash != repoHash)
	{
		memset(stats, 0, sizeof(ArchiveRepoStats));
		stats->used = true;
		stats->repoHash = repoHash;
		stats->status.repoNumber = repoNumber;
	}
	return stats;
}

void
archiveStatsArchived(int repoNumber, uint64 repoHash, const char *name)
{
	ArchiveRepoStats *stats;

	LWLockAcquire(archiveShared->lock, LW_EXCLUSIVE);
	stats = archiveStatsSlot(repoNumber, repoHash);
	strlcpy(stats->status.lastArchived, name, sizeof(stats->status.lastArchived));
	stats->status.lastArchivedAt = GetCurrentTimestamp();
	/* reached again: the catch-up says whether it is still behind */
	if (stats->status.state == ARCHIVE_REPO_UNREACHABLE ||
		stats->status.state == ARCHIVE_REPO_ERROR)
		stats->status.state = stats->status.lagKnown &&
			stats->status.lagSegments + stats->status.backupsMissing > 0 ?
			ARCHIVE_REPO_CATCHING_UP : ARCHIVE_REPO_OK;
	stats->status.skipUntil = 0;
	LWLockRelease(archiveShared->lock);
}

void
archiveStatsFailed(int repoNumber, uint64 repoHash, const char *message)
{
	ArchiveRepoStats *stats;

	LWLockAcquire(archiveShared->lock, LW_EXCLUSIVE);
	stats = archiveStatsSlot(repoNumber, repoHash);
	stats->status.failedCount++;
	strlcpy(stats->status.lastError, message, sizeof(stats->status.lastError));
	stats->status.lastErrorAt = GetCurrentTimestamp();
	LWLockRelease(archiveShared->lock);
}

void
archiveRepoBackupsNote(int repoNumber, uint64 repoHash, char *const *ids,
					   int count)
{
	int			first = Max(0, count - ARCHIVE_BACKUPS_MAX);

	if (archiveShared == NULL || repoNumber < 1 || repoNumber > CONFIG_REPO_MAX)
		return;
	LWLockAcquire(archiveShared->lock, LW_EXCLUSIVE);
	(void) archiveStatsSlot(repoNumber, repoHash);
	archiveShared->backupsKnown[repoNumber] = true;
	archiveShared->backupCount[repoNumber] = count - first;
	for (int i = first; i < count; i++)
		strlcpy(archiveShared->backupIds[repoNumber][i - first], ids[i],
				ARCHIVE_BACKUP_ID_MAX + 1);
	LWLockRelease(archiveShared->lock);
}

bool
archiveBackupRepos(const char *id, uint32 *repos)
{
	bool		known = false;

	*repos = 0;
	if (archiveShared == NULL)
		return false;
	LWLockAcquire(archiveShared->lock, LW_SHARED);
	for (int n = 1; n <= CONFIG_REPO_MAX; n++)
	{
		int			lo = 0;
		int			hi = archiveShared->backupCount[n] - 1;

		if (!archiveShared->backupsKnown[n])
			continue;
		known = true;
		/* ids ascending: a binary search */
		while (lo <= hi)
		{
			int			mid = (lo + hi) / 2;
			int			c = strcmp(archiveShared->backupIds[n][mid], id);

			if (c == 0)
			{
				*repos |= (uint32) 1 << n;
				break;
			}
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid - 1;
		}
	}
	LWLockRelease(archiveShared->lock);
	return known;
}

const char *
archiveRepoStateName(ArchiveRepoState state)
{
	switch (state)
	{
		case ARCHIVE_REPO_OK:
			return "ok";
		case ARCHIVE_REPO_CATCHING_UP:
			return "catching up";
		case ARCHIVE_REPO_UNREACHABLE:
			return "unreachable";
		case ARCHIVE_REPO_ERROR:
			return "error";
	}
	return "error";
}

bool
archiveErrorUnreachable(int drErrorCode)
{
	/* the network, the disk, or the repository itself is not there */
	return drErrorCode == DR_ERR_IO || drErrorCode == DR_ERR_NOT_FOUND;
}

void
archiveRepoFailure(int repoNumber, uint64 repoHash, const char *message,
				   bool unreachable)
{
	ArchiveRepoStats *stats;

	if (archiveShared == NULL)
		return;
	LWLockAcquire(archiveShared->lock, LW_EXCLUSIVE);
	stats = archiveStatsSlot(repoNumber, repoHash);
	stats->status.state = unreachable ? ARCHIVE_REPO_UNREACHABLE :
		ARCHIVE_REPO_ERROR;
	strlcpy(stats->status.repoError, message, sizeof(stats->status.repoError));
	stats->status.repoErrorAt = GetCurrentTimestamp();
	LWLockRelease(archiveShared->lock);
}

/*
 * An archive failure in repoNumber: counted (dr_archive_status), the
 * repository's state set (dr_repositories), and for a repository that is
 * not required, the archiver leaves it alone for skipMs (0: not).
 */
void
archiveStatsRepoFailed(int repoNumber, uint64 repoHash, const char *message,
					   bool unreachable, int skipMs)
{
	ArchiveRepoStats *stats;
	TimestampTz now = GetCurrentTimestamp();

	LWLockAcquire(archiveShared->lock, LW_EXCLUSIVE);
	stats = archiveStatsSlot(repoNumber, repoHash);
	stats->status.failedCount++;
	strlcpy(stats->status.lastError, message, sizeof(stats->status.lastError));
	stats->status.lastErrorAt = now;
	stats->status.state = unreachable ? ARCHIVE_REPO_UNREACHABLE :
		ARCHIVE_REPO_ERROR;
	strlcpy(stats->status.repoError, message, sizeof(stats->status.repoError));
	stats->status.repoErrorAt = now;
	if (skipMs > 0)
		stats->status.skipUntil = TimestampTzPlusMilliseconds(now, skipMs);
	LWLockRelease(archiveShared->lock);
}

void
archiveRepoSkip(int repoNumber, uint64 repoHash, int skipMs)
{
	ArchiveRepoStats *stats;

	LWLockAcquire(archiveShared->lock, LW_EXCLUSIVE);
	stats = archiveStatsSlot(repoNumber, repoHash);
	stats->status.skipUntil =
		TimestampTzPlusMilliseconds(GetCurrentTimestamp(), skipMs);
	LWLockRelease(archiveShared->lock);
}

bool
archiveRepoSkipped(int repoNumber, uint64 repoHash)
{
	ArchiveRepoStats *stats;
	bool		skip;

	LWLockAcquire(archiveShared->lock, LW_EXCLUSIVE);
	stats = archiveStatsSlot(repoNumber, repoHash);
	skip = stats->status.skipUntil > GetCurrentTimestamp();
	LWLockRelease(archiveShared->lock);
	return skip;
}

void
archiveRepoCatchupNote(int repoNumber, uint64 repoHash, bool reachable,
					   int64 lagSegments, int64 lagBytes, int64 backupsMissing,
					   const char *newestBackup, const char *newestWal)
{
	ArchiveRepoStats *stats;

	if (archiveShared == NULL)
		return;
	LWLockAcquire(archiveShared->lock, LW_EXCLUSIVE);
	stats = archiveStatsSlot(repoNumber, repoHash);
	stats->status.lagKnown = true;
	stats->status.lagSegments = lagSegments;
	stats->status.lagBytes = lagBytes;
	stats->status.backupsMissing = backupsMissing;
	strlcpy(stats->status.newestBackup, newestBackup,
			sizeof(stats->status.newestBackup));
	strlcpy(stats->status.newestWal, newestWal,
			sizeof(stats->status.newestWal));
	if (reachable)
		stats->status.state = lagSegments + backupsMissing > 0 ?
			ARCHIVE_REPO_CATCHING_UP : ARCHIVE_REPO_OK;
	LWLockRelease(archiveShared->lock);
}

int
archiveStatusRead(ArchiveRepoStatus *rows, int max)
{
	int			n = 0;

	if (archiveShared == NULL)
		return 0;
	LWLockAcquire(archiveShared->lock, LW_SHARED);
	for (int i = 0; i <= CONFIG_REPO_MAX && n < max; i++)
		if (archiveShared->repo[i].used)
			rows[n++] = archiveShared->repo[i].status;
	LWLockRelease(archiveShared->lock);
	return n;
}

/* before_shmem_exit: a worker that exits holds nothing and needs no wakeup. */
static void
archivePusherDetach(int code, Datum arg)
{
	int			slot = DatumGetInt32(arg);

	LWLockAcquire(archiveShared->lock, LW_EXCLUSIVE);
	archiveShared->pusherLatch[slot] = NULL;
	archiveShared->claims[slot][0] = '\0';
	LWLockRelease(archiveShared->lock);
	ConditionVariableBroadcast(&archiveShared->claimReleased);
}

void
archivePusherAttach(int slot)
{
	LWLockAcquire(archiveShared->lock, LW_EXCLUSIVE);
	archiveShared->pusherLatch[slot] = MyLatch;
	archiveShared->claims[slot][0] = '\0';
	LWLockRelease(archiveShared->lock);
	before_shmem_exit(archivePusherDetach, Int32GetDatum(slot));
}

void
archivePushersWake(void)
{
	Latch	   *latches[ARCHIVE_WORKERS_MAX + 1];

	/* SetLatch outside the lock: it may signal another process */
	LWLockAcquire(archiveShared->lock, LW_SHARED);
	memcpy(latches, archiveShared->pusherLatch, sizeof(latches));
	LWLockRelease(archiveShared->lock);
	for (int i = 1; i <= ARCHIVE_WORKERS_MAX; i++)
		if (latches[i] != NULL)
			SetLatch(latches[i]);
}
