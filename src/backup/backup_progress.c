/*-------------------------------------------------------------------------
 * backup_progress.c
 *	  The running backup in shared memory (see backup_progress.h).
 *
 * The struct is both the lock that keeps backups one at a time and the
 * source of dr_backup_progress.  It lives in shared memory, so a crash of
 * the server, which also ends any backup, releases it; an error in the
 * leader releases it through the leader's cleanup.  Workers add to the
 * counters with atomics and never take the mutex.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "backup/backup.h"
#include "backup/backup_progress.h"

BackupProgress *backupProgress = NULL;

Size
backupShmemSize(void)
{
	return MAXALIGN(sizeof(BackupProgress));
}

void
backupShmemInit(void)
{
	bool		found;

	backupProgress = ShmemInitStruct("pg_dr backup progress",
									 backupShmemSize(), &found);
	if (!found)
	{
		memset(backupProgress, 0, sizeof(BackupProgress));
		SpinLockInit(&backupProgress->mutex);
		pg_atomic_init_u64(&backupProgress->filesTotal, 0);
		pg_atomic_init_u64(&backupProgress->filesDone, 0);
		pg_atomic_init_u64(&backupProgress->bytesTotal, 0);
		pg_atomic_init_u64(&backupProgress->bytesDone, 0);
	}
}

bool
backupProgressBegin(const char *backupId, int *holderPid, char *holderId)
{
	bool		taken = false;

	SpinLockAcquire(&backupProgress->mutex);
	if (backupProgress->running)
	{
		*holderPid = backupProgress->leaderPid;
		strlcpy(holderId, backupProgress->backupId, MANIFEST_ID_MAX + 1);
	}
	else
	{
		backupProgress->running = true;
		backupProgress->leaderPid = MyProcPid;
		strlcpy(backupProgress->backupId, backupId, sizeof(backupProgress->backupId));
		backupProgress->parentId[0] = '\0';
		strlcpy(backupProgress->phase, "starting", sizeof(backupProgress->phase));
		backupProgress->startedAt = GetCurrentTimestamp();
		taken = true;
	}
	SpinLockRelease(&backupProgress->mutex);

	if (taken)
	{
		pg_atomic_write_u64(&backupProgress->filesTotal, 0);
		pg_atomic_write_u64(&backupProgress->filesDone, 0);
		pg_atomic_write_u64(&backupProgress->bytesTotal, 0);
		pg_atomic_write_u64(&backupProgress->bytesDone, 0);
	}
	return taken;
}

void
backupProgressPhase(const char *phase)
{
	SpinLockAcquire(&backupProgress->mutex);
	if (backupProgress->running && backupProgress->leaderPid == MyProcPid)
		strlcpy(backupProgress->phase, phase, sizeof(backupProgress->phase));
	SpinLockRelease(&backupProgress->mutex);
}

void
backupProgressParent(const char *parentId)
{
	SpinLockAcquire(&backupProgress->mutex);
	if (backupProgress->running && backupProgress->leaderPid == MyProcPid)
		strlcpy(backupProgress->parentId, parentId,
				sizeof(backupProgress->parentId));
	SpinLockRelease(&backupProgress->mutex);
}

void
backupProgressEnd(void)
{
	if (backupProgress == NULL)
		return;
	SpinLockAcquire(&backupProgress->mutex);
	if (backupProgress->running && backupProgress->leaderPid == MyProcPid)
	{
		backupProgress->running = false;
		backupProgress->leaderPid = 0;
		backupProgress->backupId[0] = '\0';
		backupProgress->phase[0] = '\0';
	}
	SpinLockRelease(&backupProgress->mutex);
}

void
backupProgressSnapshot(BackupProgressSnapshot *snapshot)
{
	memset(snapshot, 0, sizeof(*snapshot));
	if (backupProgress == NULL)
		return;
	SpinLockAcquire(&backupProgress->mutex);
	snapshot->running = backupProgress->running;
	if (snapshot->running)
	{
		snapshot->leaderPid = backupProgress->leaderPid;
		strlcpy(snapshot->backupId, backupProgress->backupId,
				sizeof(snapshot->backupId));
		strlcpy(snapshot->parentId, backupProgress->parentId,
				sizeof(snapshot->parentId));
		strlcpy(snapshot->phase, backupProgress->phase,
				sizeof(snapshot->phase));
		snapshot->startedAt = backupProgress->startedAt;
	}
	SpinLockRelease(&backupProgress->mutex);
	if (!snapshot->running)
		return;

	/* the workers add to these without the mutex */
	snapshot->filesTotal = pg_atomic_read_u64(&backupProgress->filesTotal);
	snapshot->filesDone = pg_atomic_read_u64(&backupProgress->filesDone);
	snapshot->bytesTotal = pg_atomic_read_u64(&backupProgress->bytesTotal);
	snapshot->bytesDone = pg_atomic_read_u64(&backupProgress->bytesDone);
}
