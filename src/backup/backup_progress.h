/*-------------------------------------------------------------------------
 * backup_progress.h
 *	  The running backup in shared memory: the one-at-a-time lock and the
 *	  progress the dr_backup_progress view shows.
 *
 * The struct's fields are the backup part's own (the leader and its
 * workers write them); every other part reads a copy taken under the
 * lock, backupProgressSnapshot().
 *-------------------------------------------------------------------------
 */
#ifndef DR_BACKUP_PROGRESS_H
#define DR_BACKUP_PROGRESS_H

#include "datatype/timestamp.h"
#include "port/atomics.h"
#include "storage/spin.h"

#include "common/manifest.h"

typedef struct BackupProgress
{
	slock_t		mutex;			/* protects running..phase */
	bool		running;		/* a backup holds the lock */
	int			leaderPid;
	char		backupId[MANIFEST_ID_MAX + 1];
	char		parentId[MANIFEST_ID_MAX + 1];	/* an incremental's; "" */
	char		phase[32];		/* starting, copying, wal, manifest */
	TimestampTz startedAt;
	pg_atomic_uint64 filesTotal;
	pg_atomic_uint64 filesDone;
	pg_atomic_uint64 bytesTotal;
	pg_atomic_uint64 bytesDone;
} BackupProgress;

extern BackupProgress *backupProgress;

/* The running backup as it stands, copied under the lock. */
typedef struct BackupProgressSnapshot
{
	bool		running;		/* false: no backup runs, the rest is zero */
	int			leaderPid;
	char		backupId[MANIFEST_ID_MAX + 1];
	char		parentId[MANIFEST_ID_MAX + 1];	/* an incremental's; "" */
	char		phase[32];
	TimestampTz startedAt;
	uint64		filesTotal;
	uint64		filesDone;
	uint64		bytesTotal;
	uint64		bytesDone;
} BackupProgressSnapshot;

extern void backupProgressSnapshot(BackupProgressSnapshot *snapshot);

/* Take the lock; false (holder's pid and id filled) when a backup runs. */
extern bool backupProgressBegin(const char *backupId, int *holderPid,
								char *holderId);
extern void backupProgressPhase(const char *phase);
/* The parent of the running incremental: dr_expire() keeps its chain. */
extern void backupProgressParent(const char *parentId);
/* Release the lock if this backend holds it. */
extern void backupProgressEnd(void);

#endif							/* DR_BACKUP_PROGRESS_H */
