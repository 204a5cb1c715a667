/*-------------------------------------------------------------------------
 * archive_internal.h
 *	  Internal to src/archive: what the archiver process and the pre-push
 *	  workers share.  Everyone else uses archive.h.
 *
 * How the two cooperate (nothing here is needed for correctness: the
 * archiver alone archives every file correctly; the workers only save it
 * time):
 *	 - A worker claims a .ready file among the next few the archiver will
 *	   ask for, stores it exactly as the archiver would, and records a
 *	   "pushed" marker: name, repository, size and SHA-256.
 *	 - The archiver claims the file it was given.  If a worker holds it,
 *	   it waits for the worker (a bounded time), woken when the worker
 *	   lets go.  With a marker for its file and repository, it checks that
 *	   the local file is still the one the worker read (ArchiveFileId)
 *	   and that the object exists; without one, or when the file is not
 *	   the same, it stores (or compares) the file itself.
 *	 - Only the archiver marks a file done (by returning true); a worker
 *	   never touches archive_status.
 * Markers live in shared memory: a restart loses them, and the archiver
 * then decodes the objects the workers stored and compares their content.
 *-------------------------------------------------------------------------
 */
#ifndef DR_ARCHIVE_INTERNAL_H
#define DR_ARCHIVE_INTERNAL_H

#include <sys/stat.h>

#include "archive/archive.h"
#include "common/codec.h"
#include "common/config.h"
#include "common/error.h"
#include "repo/repo.h"

/* Longest WAL file name the archiver hands out (MAX_XFN_CHARS), plus one. */
#define ARCHIVE_NAME_MAX		64

/* Read and encode WAL files this much at a time. */
#define ARCHIVE_BUFFER_SIZE		(1024 * 1024)

/* Claim slot of the archiver; the workers use 1 .. ARCHIVE_WORKERS_MAX. */
#define ARCHIVE_SLOT_ARCHIVER	0

/*
 * What one process archives to, and the I/O it has open.  Lives as long as
 * the process; the configuration is read again when pg_dr.config_file or
 * the file itself changes.
 */
typedef struct ArchiveTarget
{
	MemoryContext context;		/* configuration, repository, keys */
	bool		isWorker;		/* a pre-push worker: abandons a file
								 * between two pieces when it is asked to
								 * stop or the postmaster is gone */

	/* pg_dr.config_file as last loaded, and what stat said of it */
	char	   *configPath;
	struct stat configStat;
	bool		configLoaded;

	int			number;			/* N of the repoN this target stores into;
								 * 0: the first required repository */
	bool		configured;		/* repoN is in the configuration */
	bool		required;		/* and repoN_required is on */
	ConfigRepo	repoConfig;		/* repoN (strings in context) */
	Repo	   *repo;			/* NULL until opened */
	uint64		repoHash;		/* identifies the repository in markers */

	/* this process's data key for that repository (archive_target.c) */
	bool		keyMade;
	bool		keyNone;		/* made, and the repository is not encrypted */
	CodecDataKey key;

	/* open while one file is stored or compared: released after an ERROR */
	int			fd;				/* local file, -1 when none */
	RepoObjectWrite *write;
	RepoObjectRead *read;
	CodecEncoder *hasher;
} ArchiveTarget;

/*
 * Which local file, in which state, a push read: what fstat said of it
 * before the first and after the last read, when both said the same.  A
 * WAL file waiting for the archiver is not written by the server; any
 * write to it changes its modification and change times, any replacement
 * its inode.  So a file whose stat still matches holds what was read, and
 * the archiver need not read it again (archive_module.c).
 */
typedef struct ArchiveFileId
{
	bool		valid;			/* false: unknown, or it changed while read */
	dev_t		dev;
	ino_t		ino;
	off_t		size;
	struct timespec mtime;
	struct timespec ctime;
} ArchiveFileId;

/* Outcome of archivePut. */
typedef enum ArchivePutOutcome
{
	ARCHIVE_PUT_STORED = 1,		/* a new object, durable */
	ARCHIVE_PUT_IDENTICAL,		/* there already, with the same content */
	ARCHIVE_PUT_DIFFERENT		/* there already, with other content, or
								 * bound to another name (codec.h) */
} ArchivePutOutcome;

typedef struct ArchivePutResult
{
	ArchivePutOutcome outcome;
	uint64		size;			/* of the local file */
	uint8		sha256[CODEC_SHA256_SIZE];	/* of the local file */
	ArchiveFileId fileId;		/* the local file, as read */
	uint64		objectSize;		/* DIFFERENT: what the object holds */
	uint8		objectSha256[CODEC_SHA256_SIZE];
	bool		objectOtherName;	/* DIFFERENT: bound to another name */
	char	   *objectPath;		/* path in the repository (palloc'd) */
} ArchivePutResult;

/* archive_target.c */

extern void archiveTargetInit(ArchiveTarget *target, bool isWorker,
							  int number);

/*
 * Load pg_dr.config_file if it (or the setting) changed since the last
 * call, and open the target's repository (repoN, N = target->number) if it
 * is not open.  True with target->configured false when the configuration
 * has no repoN: nothing to store there.
 */
/*
 * Read pg_dr.config_file again if it changed, without opening the
 * repository (whether a repository is required is decided on it).
 */
extern bool archiveTargetConfigRefresh(ArchiveTarget *target, DrError *err);
extern bool archiveTargetRefresh(ArchiveTarget *target, int *repoNumber,
								 DrError *err);

/*
 * Store the WAL file at path (relative to the data directory) under name
 * in the target's repository, or compare it with the object already
 * there.  A WAL segment must have wal_segment_size bytes.
 */
extern bool archivePut(ArchiveTarget *target, const char *name,
					   const char *path, ArchivePutResult *result,
					   DrError *err);

/* Whether the file at path is still the file id describes (a valid id). */
extern bool archiveFileSame(const char *path, const ArchiveFileId *id);

/* Release what an ERROR left open (file, object write or read, hasher). */
extern void archiveTargetCleanup(ArchiveTarget *target);

/*
 * Close the repository (which wipes its key-encryption key); it is opened
 * again by the next archiveTargetRefresh.  The data key stays: it is in
 * the repository's keyring.
 */
extern void archiveTargetClose(ArchiveTarget *target);

/* Close the repository and wipe the data key: the process is done. */
extern void archiveTargetFree(ArchiveTarget *target);

/* archive_shmem.c */

/* A pushed marker, as recorded by a worker. */
typedef struct ArchivePushed
{
	char		name[ARCHIVE_NAME_MAX];	/* "" = free slot */
	uint64		repoHash;
	bool		ok;				/* stored or found identical; false: failed */
	uint64		size;
	uint8		sha256[CODEC_SHA256_SIZE];
	ArchiveFileId fileId;		/* the local file the worker read */
	TimestampTz at;
} ArchivePushed;

/*
 * The archiver claims name, first waiting (at most waitMs) for a worker
 * that holds it; a worker letting go of a file wakes it.
 */
extern void archiveClaimForArchiver(const char *name, int waitMs);

/*
 * A worker claims name unless someone holds it, or for each of the
 * repositories repoHashes[0 .. count-1] it was pushed already or a push
 * of it failed less than retryMs ago.
 */
extern bool archiveClaimForPush(int slot, const char *name,
								const uint64 *repoHashes, int count,
								int retryMs);
/*
 * Whether a worker should push name to repoHash: no successful marker,
 * and no failed one younger than retryMs.
 */
extern bool archivePushWanted(const char *name, uint64 repoHash, int retryMs);
extern void archiveClaimRelease(int slot);

extern void archivePushedRecord(const ArchivePushed *pushed);
/*
 * The successful marker of name for repoHash, removed from the table;
 * false if there is none.  Markers of the other repositories stay.
 */
extern bool archivePushedTake(const char *name, uint64 repoHash,
							  ArchivePushed *pushed);

extern void archiveStatsArchived(int repoNumber, uint64 repoHash,
								 const char *name);
extern void archiveStatsFailed(int repoNumber, uint64 repoHash,
							   const char *message);
/*
 * The same, and the repository's state (unreachable or error); a
 * repository that is not required is then left alone by the archiver for
 * skipMs (0: not skipped).
 */
extern void archiveStatsRepoFailed(int repoNumber, uint64 repoHash,
								   const char *message, bool unreachable,
								   int skipMs);
/* Whether the archiver leaves repoNumber alone now (archiveStatsRepoFailed). */
extern bool archiveRepoSkipped(int repoNumber, uint64 repoHash);
/* Leave repoNumber alone for skipMs (a worker's failure there). */
extern void archiveRepoSkip(int repoNumber, uint64 repoHash, int skipMs);

/*
 * How long the archiver and the workers leave a repository that is not
 * required alone after it failed: the catch-up copies what it misses.
 */
#define ARCHIVE_OPTIONAL_SKIP_MS	(30 * 1000)

/* Workers publish their latch; the archiver wakes them. */
extern void archivePusherAttach(int slot);
extern void archivePushersWake(void);

/* archive_ready.c */

/*
 * The first max names waiting (.ready), in the order the archiver takes
 * them (timeline history files first, then by name); returns how many.
 */
extern int	archiveReadyNext(char (*names)[ARCHIVE_NAME_MAX], int max);

/* Whether name still waits for the archiver. */
extern bool archiveReadyExists(const char *name);

#endif							/* DR_ARCHIVE_INTERNAL_H */
