/*-------------------------------------------------------------------------
 * archive_module.c
 *	  pg_dr as an archive module: archive_library = 'pg_dr'.
 *
 * The contract with the server (it marks a WAL file done, and may then
 * recycle it, only when archive_file_cb returned true):
 *	 - true only once the file is durable in every required repository
 *	   (repoN_required), as an object
 *	   whose content is exactly the file's: a new object is complete and
 *	   fsynced before its name appears (storage.h);
 *	 - an object already under that name counts only if it decodes (is
 *	   authentic) to the same size and SHA-256 -- a crash may fall between
 *	   storing the object and the server renaming ".ready" to ".done", and
 *	   a pre-push worker may have stored it.  Other content is never
 *	   overwritten: a loud WARNING, and false, until someone looks;
 *	 - an error of any kind is caught here, logged and counted, and the
 *	   answer is false: the archiver retries later instead of dying.
 * A worker's pushed marker (archive_internal.h) lets the callback skip
 * reading anything and asking the store: it checks that the marker is for
 * this repository (archiveRepoHash: type, location and every setting that
 * is not a secret) and that the local file is the one the worker read
 * (same inode, size, modification and change time as the worker saw
 * before and after reading it).
 *
 * Loading: the archiver loads archive_library with load_external_function.
 * pg_dr is also in shared_preload_libraries (its _PG_init refuses to run
 * otherwise), so the postmaster has loaded it already and the archiver,
 * forked from the postmaster, finds it in its list of loaded libraries:
 * _PG_init does not run a second time there, and the shared memory
 * pointers set up at postmaster start are valid.  (Without the preload,
 * _PG_init would run in the archiver and refuse with a hint; the archiver
 * would exit and be restarted, archiving nothing, which is the safe
 * failure.)  t/020_archive.pl archives with exactly this setup.
 *
 * Memory: a context of the module, reset after every file; the repository
 * stays open across files (archive_target.c).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/lwlock.h"
#include "utils/memutils.h"

#include "archive/archive_internal.h"
#include "common/compat.h"
#include "ops/alert.h"
#include "pg_dr.h"

#include DR_ARCHIVE_MODULE_HEADER

/*
 * How long the archiver waits for a worker that is storing the file it
 * was given, before it stores the file itself.
 */
#define ARCHIVE_WAIT_FOR_WORKER_MS	(60 * 1000)

extern PGDLLEXPORT void _PG_archive_module_init(ArchiveModuleCallbacks *cb);

/*
 * A repository that is not required and failed is left to the catch-up
 * duty for ARCHIVE_OPTIONAL_SKIP_MS: the archiver tries it again only
 * afterwards, so a repository that is down costs one attempt per period,
 * not one per file.
 */

/* One target per repository number; [0] unused. */
static ArchiveTarget archiveTargets[CONFIG_REPO_MAX + 1];
static MemoryContext archiveFileContext = NULL;

/*
 * Alerts (ops/alert.h), queued: the archiver is connected to no database.
 * One alert per repository, "archive_failing:repoN" (repo0: none could be
 * chosen), raised at each failure with the failures in a row as its
 * value, resolved by the next file archived.  A resolve is queued once
 * after a failure, and once after the archiver starts (an alert may be
 * open from before).
 */
static bool archiveAlertClear[CONFIG_REPO_MAX + 1];
static int	archiveFailuresInRow[CONFIG_REPO_MAX + 1];

static void
archiveAlertKey(int repoNumber, char *key, size_t size)
{
	snprintf(key, size, "archive_failing:repo%d", repoNumber);
}

static void
archiveModuleAlertFailed(const ArchiveTarget *target, int repoNumber,
						 const char *message)
{
	AlertRaise	raise;
	char		key[32];

	if (repoNumber < 0 || repoNumber > CONFIG_REPO_MAX)
		repoNumber = 0;
	archiveFailuresInRow[repoNumber]++;
	archiveAlertClear[repoNumber] = false;
	archiveAlertKey(repoNumber, key, sizeof(key));
	memset(&raise, 0, sizeof(raise));
	raise.source = "archive";
	raise.key = key;
	raise.severity = ALERT_WARNING;
	raise.message = repoNumber > 0 && target != NULL && target->configLoaded ?
		psprintf("WAL archiving into repo%d (\"%s\") fails: %s", repoNumber,
				 target->repoConfig.path, message) :
		psprintf("WAL archiving fails: %s", message);
	raise.hasValue = true;
	raise.value = archiveFailuresInRow[repoNumber];
	alertRaiseQueued(&raise);
}

static void
archiveModuleAlertArchived(int repoNumber)
{
	char		key[32];

	if (repoNumber < 0 || repoNumber > CONFIG_REPO_MAX)
		return;
	archiveFailuresInRow[repoNumber] = 0;
	if (!archiveAlertClear[repoNumber])
	{
		archiveAlertClear[repoNumber] = true;
		archiveAlertKey(repoNumber, key, sizeof(key));
		alertResolveQueued("archive", key);
	}
	/* the failure to choose any repository is over too */
	if (repoNumber != 0 && !archiveAlertClear[0])
	{
		archiveAlertClear[0] = true;
		archiveAlertKey(0, key, sizeof(key));
		alertResolveQueued("archive", key);
	}
}

/*
 * Log a failure and count it in dr_archive_status; a repository that is
 * not required is skipped for a while (a LOG, not a WARNING: archiving
 * goes on).
 */
static void
archiveModuleFailed(ArchiveTarget *target, const char *file, int repoNumber,
					DrError *err)
{
	bool		optional = target->configured && !target->required;

	drErrorPrefix(err, "could not archive \"%s\": ", file);
	archiveStatsRepoFailed(repoNumber, target->repoHash, err->message,
						   archiveErrorUnreachable(err->code),
						   optional ? ARCHIVE_OPTIONAL_SKIP_MS : 0);
	archiveModuleAlertFailed(target, repoNumber, err->message);
	if (optional)
	{
		ereport(LOG,
				(errmsg("pg_dr archive: %s", err->message),
				 errdetail("Repository %d is not required: archiving goes on, and the catch-up copies what it misses once it is back.",
						   repoNumber)));
		return;
	}
	drEreport(WARNING, err);
}

/* The same object name with other content: refused, loudly. */
static void
archiveModuleDifferent(ArchiveTarget *target, const char *file,
					   int repoNumber, const ArchivePutResult *put)
{
	char		localHex[2 * CODEC_SHA256_SIZE + 1];
	char		objectHex[2 * CODEC_SHA256_SIZE + 1];
	char	   *message;

	codecSha256Hex(put->sha256, localHex);
	codecSha256Hex(put->objectSha256, objectHex);
	message = psprintf("WAL file \"%s\" is already in repository \"%s\" with other content; it is not overwritten",
					   file, target->repoConfig.path);
	archiveStatsRepoFailed(repoNumber, target->repoHash, message, false,
						   target->required ? 0 : ARCHIVE_OPTIONAL_SKIP_MS);
	archiveModuleAlertFailed(target, repoNumber, message);
	ereport(WARNING,
			(errcode(ERRCODE_DUPLICATE_OBJECT),
			 errmsg_internal("%s", message),
			 put->objectOtherName ?
			 errdetail("Object \"%s\" was written as another WAL file: its header binds it to another name.",
					   put->objectPath) :
			 errdetail("Object \"%s\" holds " UINT64_FORMAT " bytes with SHA-256 %s; the local file has " UINT64_FORMAT " bytes with SHA-256 %s.",
					   put->objectPath, put->objectSize, objectHex,
					   put->size, localHex),
			 errhint("Another cluster may be archiving into the same repository.  Find out where the object came from; once it is moved away, archiving continues with this file.")));
}

/*
 * The fast path: a worker stored this file.  True when the local file is
 * still the one the worker read (ArchiveFileId: same inode, size,
 * modification and change time).  The worker records the push only once
 * the object is durable in this repository (the repository's hash in the
 * record covers its type, location and every setting that is not a
 * secret: a configuration pointing elsewhere since does not match), so
 * the object is not asked for again: on an object store that would be one
 * more round trip per segment in the archiver's serial loop.  Otherwise
 * the slow path compares the file's content with the object's.
 */
static bool
archiveModulePushed(ArchiveTarget *target, const char *file, const char *path)
{
	ArchivePushed pushed;

	if (!archivePushedTake(file, target->repoHash, &pushed))
		return false;
	return archiveFileSame(path, &pushed.fileId);
}

/* Store the file in one repository; false when it is not durable there. */
static bool
archiveModuleRepo(ArchiveTarget *target, const char *file, const char *path,
				  int repoNumber)
{
	ArchivePutResult put;
	DrError		err;

	if (archiveModulePushed(target, file, path))
	{
		ereport(DEBUG1,
				(errmsg_internal("\"%s\" was pushed to repository %d by a pg_dr archive worker",
								 file, repoNumber)));
		archiveStatsArchived(repoNumber, target->repoHash, file);
		archiveModuleAlertArchived(repoNumber);
		return true;
	}

	drErrorClear(&err);
	if (!archivePut(target, file, path, &put, &err))
	{
		archiveModuleFailed(target, file, repoNumber, &err);
		return false;
	}
	if (put.outcome == ARCHIVE_PUT_DIFFERENT)
	{
		archiveModuleDifferent(target, file, repoNumber, &put);
		return false;
	}
	ereport(DEBUG1,
			(errmsg_internal("\"%s\" %s repository \"%s\"", file,
							 put.outcome == ARCHIVE_PUT_STORED ?
							 "archived to" : "was already identical in",
							 target->repoConfig.path)));
	archiveStatsArchived(repoNumber, target->repoHash, file);
	archiveModuleAlertArchived(repoNumber);
	return true;
}

/*
 * Every configured repository gets the file; the answer is true only when
 * it is durable in every required one.  A repository that is not required
 * gets one attempt (with the storage's own retries and timeouts); when it
 * fails, or while it is skipped after a failure, the file is left to the
 * catch-up duty.
 */
static bool
archiveModuleFileInternal(const char *file, const char *path)
{
	bool		archived = true;
	bool		anyRequired = false;
	bool		claimed = false;

	for (int n = 1; n <= CONFIG_REPO_MAX; n++)
	{
		ArchiveTarget *target = &archiveTargets[n];
		DrError		err;
		int			repoNumber;

		/*
		 * Not required and failing: not even opened again for a while;
		 * whether it is required is read from the configuration as it is
		 * now (it may have become required since it failed)
		 */
		drErrorClear(&err);
		if (target->configLoaded && archiveTargetConfigRefresh(target, &err) &&
			target->configured && !target->required &&
			archiveRepoSkipped(n, target->repoHash))
			continue;
		drErrorClear(&err);
		if (!archiveTargetRefresh(target, &repoNumber, &err))
		{
			/* no configuration at all: counted once, as repository 0 */
			if (!target->configLoaded)
			{
				archiveModuleFailed(target, file, n == 1 ? 0 : n, &err);
				return false;
			}
			if (target->required)
				archived = false;
			archiveModuleFailed(target, file, repoNumber, &err);
			continue;
		}
		if (!target->configured)
			continue;
		anyRequired |= target->required;
		if (!target->required && archiveRepoSkipped(repoNumber, target->repoHash))
			continue;

		/* claimed first, so that the workers take the files after this one */
		if (!claimed)
		{
			archiveClaimForArchiver(file, ARCHIVE_WAIT_FOR_WORKER_MS);
			archivePushersWake();
			claimed = true;
		}
		if (!archiveModuleRepo(target, file, path, repoNumber) &&
			target->required)
			archived = false;
	}
	/* the configuration requires at least one (config.c): never none */
	return archived && anyRequired;
}

static bool
archiveModuleFile(const char *file, const char *path)
{
	MemoryContext old = MemoryContextSwitchTo(archiveFileContext);
	volatile bool archived = false;

	/*
	 * The archiver runs at the bottom of the exception stack, where an
	 * ERROR would become FATAL and restart it: catch everything.
	 */
	PG_TRY();
	{
		archived = archiveModuleFileInternal(file, path);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		HOLD_INTERRUPTS();
		MemoryContextSwitchTo(archiveFileContext);
		edata = CopyErrorData();
		EmitErrorReport();
		FlushErrorState();

		for (int n = 1; n <= CONFIG_REPO_MAX; n++)
			archiveTargetCleanup(&archiveTargets[n]);
		LWLockReleaseAll();
		archiveStatsFailed(0, 0, edata->message);
		archiveModuleAlertFailed(NULL, 0, edata->message);
		RESUME_INTERRUPTS();
		archived = false;
	}
	PG_END_TRY();

	archiveClaimRelease(ARCHIVE_SLOT_ARCHIVER);
	MemoryContextSwitchTo(old);
	MemoryContextReset(archiveFileContext);
	return archived;
}

/* Without a configuration file there is nowhere to archive to. */
static bool
archiveModuleConfigured(void)
{
	return drConfigFile != NULL && drConfigFile[0] != '\0';
}

static void
archiveModuleShutdown(void)
{
	for (int n = 1; n <= CONFIG_REPO_MAX; n++)
		archiveTargetFree(&archiveTargets[n]);
}

void
_PG_archive_module_init(ArchiveModuleCallbacks *cb)
{
	for (int n = 1; n <= CONFIG_REPO_MAX; n++)
		archiveTargetInit(&archiveTargets[n], false, n);
	archiveFileContext = AllocSetContextCreate(TopMemoryContext,
											   "pg_dr archive file",
											   ALLOCSET_DEFAULT_SIZES);
	cb->check_configured_cb = archiveModuleConfigured;
	cb->archive_file_cb = archiveModuleFile;
	cb->shutdown_cb = archiveModuleShutdown;
}
