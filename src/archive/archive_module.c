/*-------------------------------------------------------------------------
 * archive_module.c
 *	  pg_dr as an archive module: archive_library = 'pg_dr'.
 *
 * The contract with the server (it marks a WAL file done, and may then
 * recycle it, only when archive_file_cb returned true):
 *	 - true only once the file is durable in the repository, as an object
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
 * reading anything: it checks that the local file is the one the worker
 * read (same inode, size, modification and change time as the worker saw
 * before and after reading it) and that the object is there.
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

static ArchiveTarget archiveTarget;
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
archiveModuleAlertFailed(int repoNumber, const char *message)
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
	raise.message = repoNumber > 0 && archiveTarget.configLoaded ?
		psprintf("WAL archiving into repo%d (\"%s\") fails: %s", repoNumber,
				 archiveTarget.repoConfig.path, message) :
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

/* Log a failure and count it in dr_archive_status. */
static void
archiveModuleFailed(const char *file, int repoNumber, DrError *err)
{
	drErrorPrefix(err, "could not archive \"%s\": ", file);
	archiveStatsFailed(repoNumber, archiveTarget.repoHash, err->message);
	archiveModuleAlertFailed(repoNumber, err->message);
	drEreport(WARNING, err);
}

/* The same object name with other content: refused, loudly. */
static void
archiveModuleDifferent(const char *file, int repoNumber,
					   const ArchivePutResult *put)
{
	char		localHex[2 * CODEC_SHA256_SIZE + 1];
	char		objectHex[2 * CODEC_SHA256_SIZE + 1];
	char	   *message;

	codecSha256Hex(put->sha256, localHex);
	codecSha256Hex(put->objectSha256, objectHex);
	message = psprintf("WAL file \"%s\" is already in repository \"%s\" with other content; it is not overwritten",
					   file, archiveTarget.repoConfig.path);
	archiveStatsFailed(repoNumber, archiveTarget.repoHash, message);
	archiveModuleAlertFailed(repoNumber, message);
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
 * modification and change time) and the object is there.  Otherwise the
 * slow path compares the file's content with the object's.
 */
static bool
archiveModulePushed(const char *file, const char *path)
{
	ArchivePushed pushed;
	bool		exists;
	DrError		err;

	if (!archivePushedTake(file, archiveTarget.repoHash, &pushed))
		return false;
	drErrorClear(&err);
	if (!archiveFileSame(path, &pushed.fileId) ||
		!archiveObjectExists(&archiveTarget, file, &exists, &err))
		return false;			/* the slow path reports the problem */
	return exists;
}

static bool
archiveModuleFileInternal(const char *file, const char *path)
{
	ArchivePutResult put;
	DrError		err;
	int			repoNumber;

	drErrorClear(&err);
	if (!archiveTargetRefresh(&archiveTarget, &repoNumber, &err))
	{
		archiveModuleFailed(file, repoNumber, &err);
		return false;
	}

	/* claimed first, so that the workers take the files after this one */
	archiveClaimForArchiver(file, ARCHIVE_WAIT_FOR_WORKER_MS);
	archivePushersWake();

	if (archiveModulePushed(file, path))
	{
		ereport(DEBUG1,
				(errmsg_internal("\"%s\" was pushed to the repository by a pg_dr archive worker",
								 file)));
		archiveStatsArchived(repoNumber, archiveTarget.repoHash, file);
		archiveModuleAlertArchived(repoNumber);
		return true;
	}

	if (!archivePut(&archiveTarget, file, path, &put, &err))
	{
		archiveModuleFailed(file, repoNumber, &err);
		return false;
	}
	if (put.outcome == ARCHIVE_PUT_DIFFERENT)
	{
		archiveModuleDifferent(file, repoNumber, &put);
		return false;
	}
	ereport(DEBUG1,
			(errmsg_internal("\"%s\" %s repository \"%s\"", file,
							 put.outcome == ARCHIVE_PUT_STORED ?
							 "archived to" : "was already identical in",
							 archiveTarget.repoConfig.path)));
	archiveStatsArchived(repoNumber, archiveTarget.repoHash, file);
	archiveModuleAlertArchived(repoNumber);
	return true;
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

		archiveTargetCleanup(&archiveTarget);
		LWLockReleaseAll();
		archiveStatsFailed(archiveTarget.configLoaded ?
						   archiveTarget.repoConfig.index : 0,
						   archiveTarget.repoHash, edata->message);
		archiveModuleAlertFailed(archiveTarget.configLoaded ?
								 archiveTarget.repoConfig.index : 0,
								 edata->message);
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
	archiveTargetFree(&archiveTarget);
}

void
_PG_archive_module_init(ArchiveModuleCallbacks *cb)
{
	archiveTargetInit(&archiveTarget, false);
	archiveFileContext = AllocSetContextCreate(TopMemoryContext,
											   "pg_dr archive file",
											   ALLOCSET_DEFAULT_SIZES);
	cb->check_configured_cb = archiveModuleConfigured;
	cb->archive_file_cb = archiveModuleFile;
	cb->shutdown_cb = archiveModuleShutdown;
}
