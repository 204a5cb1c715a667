/*-------------------------------------------------------------------------
 * alert_queue.c
 *	  Raises and resolves from processes that cannot write pgdr.alerts now
 *	  (the archiver, a failing operation, a read-only transaction), kept in
 *	  shared memory until the worker's alert duty writes them.
 *
 * One slot per source and key: a newer request replaces the older one
 * (the latest state of a thing is what counts; a resolve queued after a
 * raise cancels it).  A full queue drops the new request, logs it and
 * counts it: an alert is not worth blocking the archiver for.  The queue
 * also carries the flag a backend sets when it committed alert events
 * itself, so that the worker sends their webhooks without waiting for
 * its next poll.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "ops/alert_internal.h"

typedef struct AlertQueueSlot
{
	bool		used;
	uint64		seq;			/* order of arrival */
	AlertRequest request;
} AlertQueueSlot;

typedef struct AlertQueueShared
{
	LWLock	   *lock;
	Latch	   *workerLatch;
	bool		poked;
	uint64		nextSeq;
	uint64		dropped;
	AlertQueueSlot slots[ALERT_QUEUE_SIZE];
} AlertQueueShared;

static AlertQueueShared *alertQueue = NULL;

static Size
alertShmemSize(void)
{
	return MAXALIGN(sizeof(AlertQueueShared));
}

void
alertShmemRequest(void)
{
	RequestAddinShmemSpace(alertShmemSize());
	RequestNamedLWLockTranche(ALERT_LWLOCK_TRANCHE, 1);
}

void
alertShmemInit(void)
{
	bool		found;

	alertQueue = ShmemInitStruct("pg_dr alert queue", alertShmemSize(), &found);
	if (!found)
	{
		memset(alertQueue, 0, sizeof(AlertQueueShared));
		alertQueue->lock =
			&(GetNamedLWLockTranche(ALERT_LWLOCK_TRANCHE))[0].lock;
		alertQueue->nextSeq = 1;
	}
}

static AlertQueueSlot *
alertQueueFind(const AlertRequest *request)
{
	for (int i = 0; i < ALERT_QUEUE_SIZE; i++)
	{
		AlertQueueSlot *slot = &alertQueue->slots[i];

		if (slot->used &&
			strcmp(slot->request.source, request->source) == 0 &&
			strcmp(slot->request.key, request->key) == 0)
			return slot;
	}
	return NULL;
}

static AlertQueueSlot *
alertQueueFree(void)
{
	for (int i = 0; i < ALERT_QUEUE_SIZE; i++)
		if (!alertQueue->slots[i].used)
			return &alertQueue->slots[i];
	return NULL;
}

static void
alertQueueWake(void)
{
	Latch	   *latch;

	LWLockAcquire(alertQueue->lock, LW_SHARED);
	latch = alertQueue->workerLatch;
	LWLockRelease(alertQueue->lock);
	if (latch != NULL)
		SetLatch(latch);
}

bool
alertQueuePut(const AlertRequest *request)
{
	AlertQueueSlot *slot;
	uint64		dropped = 0;

	if (alertQueue == NULL)
		return false;
	LWLockAcquire(alertQueue->lock, LW_EXCLUSIVE);
	slot = alertQueueFind(request);
	if (slot == NULL)
		slot = alertQueueFree();
	if (slot != NULL)
	{
		slot->used = true;
		slot->seq = alertQueue->nextSeq++;
		slot->request = *request;
	}
	else
		dropped = ++alertQueue->dropped;
	LWLockRelease(alertQueue->lock);

	if (slot == NULL)
	{
		/* the archiver calls this: a LOG line, never an ERROR */
		ereport(LOG,
				(errmsg("pg_dr alert queue is full: %s of %s/%s dropped (" UINT64_FORMAT " so far)",
						request->resolve ? "resolve" : "raise",
						request->source, request->key, dropped),
				 errhint("Check that the pg_dr worker is running (dr_status.worker_running).")));
		return false;
	}
	alertQueueWake();
	return true;
}

void
alertQueuePutBack(const AlertRequest *request)
{
	AlertQueueSlot *slot;

	LWLockAcquire(alertQueue->lock, LW_EXCLUSIVE);
	if (alertQueueFind(request) == NULL && (slot = alertQueueFree()) != NULL)
	{
		slot->used = true;
		/* before everything queued since: it was taken first */
		slot->seq = 0;
		slot->request = *request;
	}
	LWLockRelease(alertQueue->lock);
}

void
alertQueueDiscard(const AlertRequest *request)
{
	AlertQueueSlot *slot;

	if (alertQueue == NULL)
		return;
	LWLockAcquire(alertQueue->lock, LW_EXCLUSIVE);
	slot = alertQueueFind(request);
	if (slot != NULL)
		slot->used = false;
	LWLockRelease(alertQueue->lock);
}

int
alertQueueTake(AlertRequest *requests, int max)
{
	int			count = 0;

	LWLockAcquire(alertQueue->lock, LW_EXCLUSIVE);
	while (count < max)
	{
		AlertQueueSlot *oldest = NULL;

		for (int i = 0; i < ALERT_QUEUE_SIZE; i++)
		{
			AlertQueueSlot *slot = &alertQueue->slots[i];

			if (slot->used && (oldest == NULL || slot->seq < oldest->seq))
				oldest = slot;
		}
		if (oldest == NULL)
			break;
		requests[count++] = oldest->request;
		oldest->used = false;
	}
	LWLockRelease(alertQueue->lock);
	return count;
}

bool
alertQueueBusy(void)
{
	bool		busy;

	LWLockAcquire(alertQueue->lock, LW_SHARED);
	busy = alertQueue->poked;
	for (int i = 0; !busy && i < ALERT_QUEUE_SIZE; i++)
		busy = alertQueue->slots[i].used;
	LWLockRelease(alertQueue->lock);
	return busy;
}

bool
alertQueuePokedTake(void)
{
	bool		poked;

	LWLockAcquire(alertQueue->lock, LW_EXCLUSIVE);
	poked = alertQueue->poked;
	alertQueue->poked = false;
	LWLockRelease(alertQueue->lock);
	return poked;
}

void
alertQueuePoke(void)
{
	if (alertQueue == NULL)
		return;
	LWLockAcquire(alertQueue->lock, LW_EXCLUSIVE);
	alertQueue->poked = true;
	LWLockRelease(alertQueue->lock);
	alertQueueWake();
}

void
alertQueueWorkerSet(Latch *latch)
{
	LWLockAcquire(alertQueue->lock, LW_EXCLUSIVE);
	alertQueue->workerLatch = latch;
	LWLockRelease(alertQueue->lock);
}

uint64
alertQueueDropped(void)
{
	uint64		dropped;

	LWLockAcquire(alertQueue->lock, LW_SHARED);
	dropped = alertQueue->dropped;
	LWLockRelease(alertQueue->lock);
	return dropped;
}
