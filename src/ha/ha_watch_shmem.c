/*-------------------------------------------------------------------------
 * ha_watch_shmem.c
 *	  The lag watcher's ring of recent samples in shared memory: written by
 *	  the worker's duty once per round, read by dr_replication.
 *
 * One LWLock of its own tranche (HA_WATCH_LWLOCK_TRANCHE) guards the ring:
 * the writer holds it exclusively while it copies one round in, readers
 * share it while they copy the newest round out, so a reader never sees
 * half a round.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "ha/ha_watch_internal.h"

typedef struct HaWatchShared
{
	LWLock	   *lock;
	uint64		round;			/* the newest published round; 0: none */
	int			roundStart;		/* its first row in the ring */
	int			roundCount;		/* its rows */
	int			next;			/* where the next row goes */
	HaWatchSample ring[HA_WATCH_RING];
} HaWatchShared;

static HaWatchShared *haWatchShared = NULL;

static Size
haWatchShmemSize(void)
{
	return sizeof(HaWatchShared);
}

void
haWatchShmemRequest(void)
{
	RequestAddinShmemSpace(haWatchShmemSize());
	RequestNamedLWLockTranche(HA_WATCH_LWLOCK_TRANCHE, 1);
}

void
haWatchShmemInit(void)
{
	bool		found;

	haWatchShared = ShmemInitStruct("pg_dr replication samples",
									haWatchShmemSize(), &found);
	if (!found)
	{
		memset(haWatchShared, 0, haWatchShmemSize());
		haWatchShared->lock =
			&(GetNamedLWLockTranche(HA_WATCH_LWLOCK_TRANCHE))[0].lock;
	}
}

void
haWatchPublish(const HaWatchSample *rows, int count)
{
	HaWatchShared *s = haWatchShared;

	Assert(count >= 0 && count <= HA_WATCH_STANDBY_MAX);
	if (s == NULL)
		return;
	LWLockAcquire(s->lock, LW_EXCLUSIVE);
	s->round++;
	s->roundStart = s->next;
	s->roundCount = count;
	for (int i = 0; i < count; i++)
	{
		HaWatchSample *slot = &s->ring[s->next];

		*slot = rows[i];
		slot->round = s->round;
		s->next = (s->next + 1) % HA_WATCH_RING;
	}
	LWLockRelease(s->lock);
}

int
haWatchNow(HaWatchSample **samples)
{
	HaWatchShared *s = haWatchShared;
	int			count;

	*samples = NULL;
	if (s == NULL)
		return 0;
	LWLockAcquire(s->lock, LW_SHARED);
	count = s->roundCount;
	if (count > 0)
	{
		*samples = palloc(sizeof(HaWatchSample) * count);
		for (int i = 0; i < count; i++)
			(*samples)[i] = s->ring[(s->roundStart + i) % HA_WATCH_RING];
	}
	LWLockRelease(s->lock);
	return count;
}
