/*-------------------------------------------------------------------------
 * archive_push.c
 *	  The pre-push workers: store WAL files in the repository before the
 *	  archiver asks for them, several at a time.
 *
 * The archiver hands pg_dr one file at a time and waits for the answer, so
 * archiving alone is as fast as one compress-encrypt-fsync after another.
 * pg_dr.archive_workers static background workers (registered at
 * postmaster start when archive_mode is on) work on the files after the
 * one the archiver is at, in parallel:
 *	 - each round, a worker reads the next few .ready names in the
 *	   archiver's order -- only the next ARCHIVE_PUSH_AHEAD per worker, so
 *	   the workers never run far ahead and every marker they leave is still
 *	   in the table when the archiver gets there;
 *	 - it claims the first one nobody holds and some repository still
 *	   wants (archive_shmem.c), stores it in every repository that wants it
 *	   with the archiver's own code (archivePut: a repository that is not
 *	   required and failed a moment ago is left to the catch-up duty), and
 *	   records a marker per repository with its size, SHA-256 and the
 *	   identity of the local file it read (ArchiveFileId), which lets the
 *	   archiver accept the push without reading the file again;
 *	 - it never renames a .ready file: only the archiver marks files done,
 *	   after checking the marker against the file.
 * Static workers rather than dynamic ones: they are needed for as long as
 * the server archives, the postmaster restarts one that dies, and nothing
 * has to launch them.  A worker idles while archive_library is not pg_dr.
 *
 * The archiver itself: switching archive_library to pg_dr by a reload
 * makes the archiver exit to load it, and the postmaster starts a new one
 * at once -- unless the last one started less than PGARCH_RESTART_INTERVAL
 * (10 s) ago, when it only tries again at its next wakeup, which can be a
 * minute later.  The workers have stored the waiting files meanwhile, but
 * none is marked done and pg_stat_archiver stands still.  So a worker that
 * finds no archiver while pg_dr archives wakes the postmaster once a
 * second (a background worker state change, which makes it run its main
 * loop, where it starts a missing archiver when allowed).
 *
 * A failed push is logged (at most once a minute per worker and message,
 * the archiver reports each failure anyway) and retried after
 * ARCHIVE_PUSH_RETRY_MS.  A worker wakes up when the archiver starts on a
 * file, and at least every ARCHIVE_PUSH_POLL_MS.  Asked to stop (SIGTERM,
 * at shutdown), or finding the postmaster gone, it abandons the file it is
 * on between two pieces, which removes its temporary object, and exits;
 * only a crash of the worker or of the host leaves a temporary object
 * behind (never listed or read, storage.h).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/pmsignal.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/backend_status.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "archive/archive_internal.h"
#include "common/compat.h"
#include "pg_dr.h"

#include DR_ARCHIVE_MODULE_HEADER

/* How many .ready files ahead each worker may work. */
#define ARCHIVE_PUSH_AHEAD		4
#define ARCHIVE_PUSH_WINDOW_MAX	(ARCHIVE_WORKERS_MAX * ARCHIVE_PUSH_AHEAD)

#define ARCHIVE_PUSH_POLL_MS	1000
#define ARCHIVE_PUSH_RETRY_MS	10000
#define ARCHIVE_PUSH_IDLE_MS	10000
#define ARCHIVE_PUSH_LOG_MS		60000

/* This worker's state. */
typedef struct ArchivePusher
{
	int			slot;
	ArchiveTarget targets[CONFIG_REPO_MAX + 1];	/* per repository; [0] unused */
	MemoryContext fileContext;	/* reset after every file */
	char		lastLogged[ARCHIVE_ERROR_MAX];
	TimestampTz lastLoggedAt;
	TimestampTz archiverCheckedAt;	/* archivePushArchiverCheck */
	TimestampTz openFailedAt[CONFIG_REPO_MAX + 1];	/* per repository */
} ArchivePusher;

void
archivePushRegister(void)
{
	BackgroundWorker worker;

	if (XLogArchiveMode == ARCHIVE_MODE_OFF || drArchiveWorkers <= 0)
		return;

	for (int slot = 1; slot <= drArchiveWorkers; slot++)
	{
		memset(&worker, 0, sizeof(worker));
		worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
		/* the archiver runs from then on (on a standby with "always") */
		worker.bgw_start_time = BgWorkerStart_ConsistentState;
		worker.bgw_restart_time = 5;
		snprintf(worker.bgw_library_name, BGW_MAXLEN, "pg_dr");
		snprintf(worker.bgw_function_name, BGW_MAXLEN, "pg_dr_archive_push_main");
		snprintf(worker.bgw_name, BGW_MAXLEN, "pg_dr archive worker %d", slot);
		snprintf(worker.bgw_type, BGW_MAXLEN, "pg_dr archive worker");
		worker.bgw_main_arg = Int32GetDatum(slot);
		RegisterBackgroundWorker(&worker);
	}
}

/*
 * Whether the archiver uses pg_dr: archive_library names it, with or
 * without a directory or the ".so".
 */
static bool
archivePushEnabled(void)
{
	const char *name;
	size_t		len;

	if (XLogArchiveLibrary == NULL)
		return false;
	name = strrchr(XLogArchiveLibrary, '/');
	name = name ? name + 1 : XLogArchiveLibrary;
	len = strlen(name);
	if (len > 3 && strcmp(name + len - 3, ".so") == 0)
		len -= 3;
	return len == strlen("pg_dr") && strncmp(name, "pg_dr", len) == 0;
}

/*
 * Wake the postmaster when the server should have an archiver and has
 * none (see the header).  At most once a second.
 */
static void
archivePushArchiverCheck(ArchivePusher *pusher)
{
	TimestampTz now = GetCurrentTimestamp();
	int			count;

	if (!TimestampDifferenceExceeds(pusher->archiverCheckedAt, now,
									ARCHIVE_PUSH_POLL_MS))
		return;
	pusher->archiverCheckedAt = now;
	/* the archiver runs in recovery only with archive_mode = always */
	if (RecoveryInProgress() && !XLogArchivingAlways())
		return;

	pgstat_clear_backend_activity_snapshot();
	count = pgstat_fetch_stat_numbackends();
	for (int i = 1; i <= count; i++)
	{
		LocalPgBackendStatus *entry = drBackendStatusByIndex(i);

		if (entry != NULL && entry->backendStatus.st_backendType == B_ARCHIVER)
		{
			pgstat_clear_backend_activity_snapshot();
			return;
		}
	}
	pgstat_clear_backend_activity_snapshot();
	SendPostmasterSignal(PMSIGNAL_BACKGROUND_WORKER_CHANGE);
}

/* Log a failure, but the same one only once a minute. */
static void
archivePushLog(ArchivePusher *pusher, DrError *err)
{
	TimestampTz now = GetCurrentTimestamp();

	if (strcmp(pusher->lastLogged, err->message) == 0 &&
		now < TimestampTzPlusMilliseconds(pusher->lastLoggedAt, ARCHIVE_PUSH_LOG_MS))
		return;
	strlcpy(pusher->lastLogged, err->message, sizeof(pusher->lastLogged));
	pusher->lastLoggedAt = now;
	drEreport(WARNING, err);
}

/*
 * Push one claimed file.  Returns the marker to record; a failure is
 * logged here (unless the archiver finished the file meanwhile, which
 * explains a vanished or recycled file).
 */
static void
archivePushFile(ArchivePusher *pusher, ArchiveTarget *target,
				const char *name, ArchivePushed *marker)
{
	char		path[MAXPGPATH];
	ArchivePutResult put;
	DrError		err;

	snprintf(path, sizeof(path), XLOGDIR "/%s", name);
	drErrorClear(&err);
	if (archivePut(target, name, path, &put, &err) &&
		put.outcome != ARCHIVE_PUT_DIFFERENT)
	{
		marker->ok = true;
		marker->size = put.size;
		memcpy(marker->sha256, put.sha256, CODEC_SHA256_SIZE);
		marker->fileId = put.fileId;
		return;
	}
	marker->ok = false;
	/* stopping, or the archiver finished the file meanwhile: nothing wrong */
	if (ShutdownRequestPending || !archiveReadyExists(name))
		return;
	if (err.code == DR_OK)
		drErrorSet(&err, DR_ERR_EXISTS,
				   "repository \"%s\" already holds other content under this name (\"%s\"); it is not overwritten",
				   target->repoConfig.path, put.objectPath);
	drErrorPrefix(&err, "archive worker could not push \"%s\" to repository %d: ",
				  name, target->repoConfig.index);
	/*
	 * The archiver counts the failures; the repository is known to be
	 * failing, and one that is not required is left to the catch-up
	 */
	archiveRepoFailure(target->repoConfig.index, target->repoHash,
					   err.message, archiveErrorUnreachable(err.code));
	if (!target->required)
		archiveRepoSkip(target->repoConfig.index, target->repoHash,
						ARCHIVE_OPTIONAL_SKIP_MS);
	archivePushLog(pusher, &err);
}

/*
 * One push to one repository, with every ERROR caught: the worker goes on
 * with others.
 */
static void
archivePushOneRepo(ArchivePusher *pusher, ArchiveTarget *target,
				   const char *name)
{
	ArchivePushed marker;
	MemoryContext old = MemoryContextSwitchTo(pusher->fileContext);

	memset(&marker, 0, sizeof(marker));
	strlcpy(marker.name, name, sizeof(marker.name));
	marker.repoHash = target->repoHash;

	PG_TRY();
	{
		archivePushFile(pusher, target, name, &marker);
	}
	PG_CATCH();
	{
		HOLD_INTERRUPTS();
		MemoryContextSwitchTo(pusher->fileContext);
		EmitErrorReport();
		FlushErrorState();
		archiveTargetCleanup(target);
		LWLockReleaseAll();
		marker.ok = false;
		RESUME_INTERRUPTS();
	}
	PG_END_TRY();

	marker.at = GetCurrentTimestamp();
	archivePushedRecord(&marker);
	MemoryContextSwitchTo(old);
	MemoryContextReset(pusher->fileContext);
}

/*
 * Push a claimed file to every repository that wants it: no marker yet,
 * not failed a moment ago, and (one that is not required) not left to
 * the catch-up after a failure.
 */
static void
archivePushOne(ArchivePusher *pusher, const char *name)
{
	/* the required repositories first: the archiver waits for those */
	for (int i = 0; i < 2 * CONFIG_REPO_MAX; i++)
	{
		ArchiveTarget *target = &pusher->targets[i % CONFIG_REPO_MAX + 1];

		if ((i < CONFIG_REPO_MAX) != target->required)
			continue;
		if (!target->configured || target->repo == NULL ||
			!archivePushWanted(name, target->repoHash, ARCHIVE_PUSH_RETRY_MS) ||
			(!target->required &&
			 archiveRepoSkipped(target->repoConfig.index, target->repoHash)))
			continue;
		if (ShutdownRequestPending)
			break;
		archivePushOneRepo(pusher, target, name);
	}
	archiveClaimRelease(pusher->slot);
}

/*
 * One round: push the first file of the window nobody else has.  Returns
 * how long to wait before the next round.
 */
static long
archivePushRound(ArchivePusher *pusher)
{
	char		names[ARCHIVE_PUSH_WINDOW_MAX][ARCHIVE_NAME_MAX];
	uint64		hashes[CONFIG_REPO_MAX];
	int			hashCount = 0;
	int			count;
	TimestampTz now = GetCurrentTimestamp();

	/*
	 * Every repository, opened if it is not; one that cannot be opened is
	 * tried again only after ARCHIVE_PUSH_RETRY_MS (opening is slow on
	 * purpose, and a repository that is down costs its timeouts).
	 */
	for (int n = 1; n <= CONFIG_REPO_MAX; n++)
	{
		ArchiveTarget *target = &pusher->targets[n];
		int			repoNumber;
		DrError		err;

		if (target->repo == NULL && target->configured &&
			!TimestampDifferenceExceeds(pusher->openFailedAt[n], now,
										ARCHIVE_PUSH_RETRY_MS))
			continue;
		drErrorClear(&err);
		if (!archiveTargetRefresh(target, &repoNumber, &err))
		{
			pusher->openFailedAt[n] = now;
			if (!target->configLoaded)
			{
				drErrorPrefix(&err, "archive worker cannot push WAL: ");
				archivePushLog(pusher, &err);
				return ARCHIVE_PUSH_RETRY_MS;
			}
			drErrorPrefix(&err, "archive worker cannot push WAL to repository %d: ",
						  repoNumber);
			archiveRepoFailure(repoNumber, target->repoHash, err.message,
							   archiveErrorUnreachable(err.code));
			archivePushLog(pusher, &err);
			continue;
		}
		if (target->configured && target->repo != NULL &&
			(target->required ||
			 !archiveRepoSkipped(repoNumber, target->repoHash)))
			hashes[hashCount++] = target->repoHash;
	}
	if (hashCount == 0)
		return ARCHIVE_PUSH_RETRY_MS;

	count = archiveReadyNext(names, Min(drArchiveWorkers * ARCHIVE_PUSH_AHEAD,
										ARCHIVE_PUSH_WINDOW_MAX));
	for (int i = 0; i < count; i++)
	{
		if (!archiveClaimForPush(pusher->slot, names[i], hashes, hashCount,
								 ARCHIVE_PUSH_RETRY_MS))
			continue;
		/* the archiver may have finished it since the scan */
		if (!archiveReadyExists(names[i]))
		{
			archiveClaimRelease(pusher->slot);
			continue;
		}
		archivePushOne(pusher, names[i]);
		/* straight on to the next file */
		return 0;
	}
	return ARCHIVE_PUSH_POLL_MS;
}

void
pg_dr_archive_push_main(Datum arg)
{
	ArchivePusher pusher;

	/* on SIGTERM, abandon the file in progress cleanly, then exit */
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();

	memset(&pusher, 0, sizeof(pusher));
	pusher.slot = DatumGetInt32(arg);
	for (int n = 1; n <= CONFIG_REPO_MAX; n++)
		archiveTargetInit(&pusher.targets[n], true, n);
	pusher.fileContext = AllocSetContextCreate(TopMemoryContext,
											   "pg_dr archive worker file",
											   ALLOCSET_DEFAULT_SIZES);
	archivePusherAttach(pusher.slot);

	for (;;)
	{
		long		waitMs = ARCHIVE_PUSH_IDLE_MS;

		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ShutdownRequestPending)
			proc_exit(0);
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		if (archivePushEnabled())
		{
			waitMs = archivePushRound(&pusher);
			archivePushArchiverCheck(&pusher);
		}
		if (waitMs > 0)
			(void) WaitLatch(MyLatch,
							 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 waitMs, PG_WAIT_EXTENSION);
	}
}
