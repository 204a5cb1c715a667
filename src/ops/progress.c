/*-------------------------------------------------------------------------
 * progress.c
 *	  The server's host for long shared operations, and the slots behind
 *	  dr_progress (see progress.h).
 *
 * A slot belongs to the process whose PGPROC number indexes it; only that
 * process writes it, under the slot's spinlock, and dr_progress copies it
 * under the same lock, so a reader never sees half of an update.  The
 * hooks run between units of work, at most a few stores each.
 *
 * Clearing does not rely on the caller alone: an error leaves the
 * caller's code through a longjmp, so the end of the transaction (or of
 * the subtransaction an operation began in) and the exit of the backend
 * clear the slot too.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

#include "ops/progress.h"

typedef struct ProgressSlot
{
	slock_t		mutex;
	ProgressEntry entry;		/* entry.pid 0: nothing running */
} ProgressSlot;

static ProgressSlot *progressSlots = NULL;
static int	progressSlotCount = 0;

/* This backend's operation: the subtransaction it began in, or none. */
static SubTransactionId progressSubXact = InvalidSubTransactionId;
static bool progressCallbacksSet = false;

static Size
progressShmemSize(void)
{
	return mul_size(MaxBackends, sizeof(ProgressSlot));
}

void
progressShmemRequest(void)
{
	RequestAddinShmemSpace(progressShmemSize());
}

void
progressShmemInit(void)
{
	bool		found;

	progressSlotCount = MaxBackends;
	progressSlots = ShmemInitStruct("pg_dr progress", progressShmemSize(),
									&found);
	if (!found)
	{
		for (int i = 0; i < progressSlotCount; i++)
		{
			SpinLockInit(&progressSlots[i].mutex);
			memset(&progressSlots[i].entry, 0, sizeof(ProgressEntry));
		}
	}
}

/* This process's slot; NULL for a process without one (never a backend). */
static ProgressSlot *
progressMySlot(void)
{
	if (progressSlots == NULL || MyProc == NULL ||
		MyProc->pgprocno < 0 || MyProc->pgprocno >= progressSlotCount)
		return NULL;
	return &progressSlots[MyProc->pgprocno];
}

static void
progressClear(void)
{
	ProgressSlot *slot = progressMySlot();

	progressSubXact = InvalidSubTransactionId;
	if (slot == NULL)
		return;
	SpinLockAcquire(&slot->mutex);
	memset(&slot->entry, 0, sizeof(ProgressEntry));
	SpinLockRelease(&slot->mutex);
}

static void
progressXactCallback(XactEvent event, void *arg)
{
	if (progressSubXact != InvalidSubTransactionId &&
		(event == XACT_EVENT_ABORT || event == XACT_EVENT_COMMIT ||
		 event == XACT_EVENT_PARALLEL_ABORT))
		progressClear();
}

/* An error caught by a savepoint or an exception block. */
static void
progressSubXactCallback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB && progressSubXact == mySubid)
		progressClear();
}

static void
progressExit(int code, Datum arg)
{
	progressClear();
}

/* The host's hooks. */

static bool
progressCancelled(void *arg)
{
	return QueryCancelPending || ProcDiePending;
}

static void
progressReport(void *arg, const DrProgress *progress)
{
	ProgressSlot *slot = progressMySlot();

	if (slot == NULL)
		return;
	SpinLockAcquire(&slot->mutex);
	strlcpy(slot->entry.phase, progress->phase, PROGRESS_NAME_LEN);
	slot->entry.itemsDone = progress->itemsDone;
	slot->entry.itemsTotal = progress->itemsTotal;
	slot->entry.bytesDone = progress->bytesDone;
	slot->entry.bytesTotal = progress->bytesTotal;
	strlcpy(slot->entry.current, progress->current ? progress->current : "",
			PROGRESS_CURRENT_LEN);
	SpinLockRelease(&slot->mutex);
}

static void
progressNotice(void *arg, const char *message)
{
	ereport(NOTICE, (errmsg_internal("%s", message)));
}

static void
progressWarning(void *arg, const char *message)
{
	ereport(WARNING, (errmsg_internal("%s", message)));
}

static const DrHost progressHost = {
	.cancelled = progressCancelled,
	.progress = progressReport,
	.notice = progressNotice,
	.arg = NULL,
	.warning = progressWarning,
};

const DrHost *
progressBegin(const char *operation)
{
	ProgressSlot *slot = progressMySlot();

	if (!progressCallbacksSet)
	{
		RegisterXactCallback(progressXactCallback, NULL);
		RegisterSubXactCallback(progressSubXactCallback, NULL);
		before_shmem_exit(progressExit, (Datum) 0);
		progressCallbacksSet = true;
	}
	progressSubXact = GetCurrentSubTransactionId();
	if (slot != NULL)
	{
		SpinLockAcquire(&slot->mutex);
		memset(&slot->entry, 0, sizeof(ProgressEntry));
		slot->entry.pid = MyProcPid;
		strlcpy(slot->entry.operation, operation, PROGRESS_NAME_LEN);
		strlcpy(slot->entry.phase, "start", PROGRESS_NAME_LEN);
		slot->entry.started = GetCurrentTimestamp();
		SpinLockRelease(&slot->mutex);
	}
	return &progressHost;
}

void
progressEnd(void)
{
	progressClear();
}

int
progressSnapshot(ProgressEntry **entries)
{
	ProgressEntry *out;
	int			count = 0;

	out = palloc(sizeof(ProgressEntry) * Max(progressSlotCount, 1));
	for (int i = 0; i < progressSlotCount; i++)
	{
		ProgressSlot *slot = &progressSlots[i];

		SpinLockAcquire(&slot->mutex);
		if (slot->entry.pid != 0)
			out[count++] = slot->entry;
		SpinLockRelease(&slot->mutex);
	}
	*entries = out;
	return count;
}
