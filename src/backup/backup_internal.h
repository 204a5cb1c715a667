/*-------------------------------------------------------------------------
 * backup_internal.h
 *	  What the leader and the backup workers share; private to src/backup.
 *
 * The file list is two temporary files in base/pgsql_tmp (removed by the
 * server at startup after a crash): the list itself, one variable-length
 * BackupListEntry record per file in manifest order, and an index of
 * uint64 offsets into it, so that a worker can fetch entry i alone.  Each
 * worker appends one fixed-size BackupResult per file it stored to a
 * results file of its own; it claims files in increasing order, so each
 * results file is sorted and the leader merges them.
 *-------------------------------------------------------------------------
 */
#ifndef DR_BACKUP_INTERNAL_H
#define DR_BACKUP_INTERNAL_H

#include "port/atomics.h"

#include "backup/backup.h"
#include "common/codec.h"
#include "common/manifest.h"

#define BACKUP_WORKERS_MAX		16
#define BACKUP_ERROR_MAX		1024

/* Temporary files: PG_TEMP_FILE_PREFIX so that startup removes them. */
#define BACKUP_TMP_DIR			"base/pgsql_tmp"
#define BACKUP_TMP_PREFIX		"pgsql_tmp_pg_dr"

/* Flags of a list entry. */
#define BACKUP_LIST_RELATION	0x01	/* relation segment: pages, checksums */
#define BACKUP_LIST_PARENT		0x02	/* the parent backup has this path */

/*
 * The largest files are claimed first, largest first: a worker that picks
 * up a 1 GB segment near the end of the list keeps the backup waiting
 * while the others have nothing left to do.  Up to BACKUP_BIG_MAX files of
 * at least BACKUP_BIG_MIN_SIZE bytes (the largest ones); the rest, and all
 * of a backup with more, in list order.
 */
#define BACKUP_BIG_MAX			1024
#define BACKUP_BIG_MIN_SIZE		(8 * 1024 * 1024)

typedef struct BackupBig
{
	uint64		index;			/* in the list */
	uint64		size;			/* at listing time */
} BackupBig;

/* Fixed part of a list record; the path (pathLen bytes, no NUL) follows. */
typedef struct BackupListEntry
{
	uint32		pathLen;
	uint32		flags;
	uint64		size;			/* at listing time */
	uint32		mode;
	uint32		segno;			/* relation segment number (.N suffix) */
	int64		mtime;
	uint64		parentSize;
	uint8		parentSha256[CODEC_SHA256_SIZE];
	uint32		parentStore;	/* ManifestStore of the parent's entry */
	uint64		parentObjectSize;	/* and where its object is */
	uint32		parentBundled;	/* bool */
	uint32		parentBundle;
	uint64		parentBundleOffset;
} BackupListEntry;

/* What a worker did with one file. */
typedef enum BackupResultKind
{
	BACKUP_RESULT_STORED = 1,	/* store is full, parent or delta */
	BACKUP_RESULT_VANISHED		/* removed while the backup ran: WAL replay
								 * removes it as well, so it is left out */
} BackupResultKind;

typedef struct BackupResult
{
	uint64		index;
	uint32		kind;			/* BackupResultKind */
	uint32		store;			/* ManifestStore */
	uint64		size;			/* bytes read */
	uint32		mode;
	int64		mtime;			/* when it was opened */
	uint64		objectSize;
	uint32		blocks;
	uint32		corrupt;
	uint8		sha256[CODEC_SHA256_SIZE];
	uint32		bundled;		/* bool: an entry of bundle/<bundle> */
	uint32		bundle;
	uint64		bundleOffset;
} BackupResult;

/* The dynamic shared memory segment of one backup. */
typedef struct BackupShared
{
	/* set by the leader before the workers start, then read-only */
	char		backupId[MANIFEST_ID_MAX + 1];
	char		configFile[MAXPGPATH];
	int			repoIndex;
	bool		hasKey;
	uint8		keyId[CODEC_KEY_ID_SIZE];
	bool		incremental;
	char		parentId[MANIFEST_ID_MAX + 1];	/* incremental */
	uint64		parentStartLsn;
	uint64		startLsn;
	bool		dataChecksums;
	char		listPath[MAXPGPATH];
	char		indexPath[MAXPGPATH];
	char		resultPrefix[MAXPGPATH];	/* + ".<worker>" */
	uint64		fileCount;
	int			nworkers;
	int			maxRateKb;		/* per backup, kB/s; 0 = unlimited */
	uint64		bundleLimit;	/* files smaller than this go into bundles;
								 * 0 = none */

	/* the work */
	pg_atomic_uint64 nextBig;	/* next position in bigOrder to claim */
	pg_atomic_uint64 nextFile;	/* next list index to claim */
	pg_atomic_uint32 abort;		/* set by the leader: stop now */
	pg_atomic_uint32 nextBundle;	/* number of the next bundle object */

	/*
	 * The big files (BACKUP_BIG_MAX above): their list indexes, ascending;
	 * the order they are claimed in (positions in bigIndex, largest file
	 * first); and their results, by position, written by the worker that
	 * stored the file (kind 0 until then).
	 */
	uint32		bigCount;
	uint64		bigIndex[BACKUP_BIG_MAX];
	uint32		bigOrder[BACKUP_BIG_MAX];
	BackupResult bigResults[BACKUP_BIG_MAX];

	/* per worker, written by that worker only */
	struct
	{
		pg_atomic_uint32 state; /* 0 starting, 1 running, 2 done, 3 failed */
		int			sqlerrcode; /* of the error that stopped it */
		char		error[BACKUP_ERROR_MAX];
	}			worker[BACKUP_WORKERS_MAX];
} BackupShared;

#define BACKUP_WORKER_STARTING	0
#define BACKUP_WORKER_RUNNING	1
#define BACKUP_WORKER_DONE		2
#define BACKUP_WORKER_FAILED	3

/* backup_list.c: the sorted listing of the data directory */
typedef struct BackupListing
{
	uint64		fileCount;
	uint64		totalBytes;
	int			dirCount;
	ManifestDir *dirs;			/* sorted by path */
	int			tablespaceCount;
	ManifestTablespace *tablespaces;
	int			bigCount;
	BackupBig  *big;			/* the largest files, ascending by index */
} BackupListing;

/* Position of list index in shared->bigIndex, or -1 if not a big file. */
extern int	backupBigFind(const BackupShared *shared, uint64 index);

struct ManifestReader;

/*
 * List the data directory into listPath/indexPath, merging each file with
 * the parent's manifest entry when parent is not NULL (an incremental).
 * tablespaceMap is the content pg_backup_stop/start gave ("oid path" lines).
 */
extern void backupListWrite(const char *listPath, const char *indexPath,
							const char *tablespaceMap,
							struct ManifestReader *parent,
							BackupListing *listing);

/* Read list entry number index; path returned palloc'd. */
extern bool backupListRead(int indexFd, int listFd, uint64 index,
						   BackupListEntry *entry, char **path);

/*
 * Bundles: a worker fills bundle objects of about BACKUP_BUNDLE_SIZE bytes
 * (backup/<id>/bundle/<n>, manifest.h) with the files smaller than
 * shared->bundleLimit, one bundle object at a time.  An entry whose
 * encoded object passes BACKUP_BUNDLE_ENTRY_MAX (a file that grew while it
 * was read) is stored standalone instead, so a worker's memory for an
 * entry stays bounded.
 */
#define BACKUP_BUNDLE_SIZE		(4 * 1024 * 1024)
#define BACKUP_BUNDLE_ENTRY_MAX(limit)	((limit) * 2 + 64 * 1024)

/* backup_file.c: store one file (a worker's work) */
struct Repo;
struct RepoBundle;
/* bundle: the worker's bundle (NULL: bundles are off) */
extern void backupFileStore(struct Repo *repo, const CodecDataKey *key,
							BackupShared *shared, struct RepoBundle *bundle,
							const BackupListEntry *entry,
							const char *path, BackupResult *result);

#endif							/* DR_BACKUP_INTERNAL_H */
