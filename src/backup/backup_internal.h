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
	uint32		parts;			/* 0: stored whole; else its part count */
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
	uint32		parentParts;	/* the parent's parts= (0: one object) */
	uint32		parts;			/* 0: stored whole; else stored in this
								 * many parts (chosen at listing time) */
	uint64		parentObjectSize;	/* and where its object is */
	uint32		parentBundled;	/* bool */
	uint32		parentBundle;
	uint64		parentBundleOffset;
	uint32		parentBound;	/* bool: ManifestFile.bound */
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
	uint64		bytesRead;		/* of the file, from the data directory */
	uint32		bundled;		/* bool: an entry of bundle/<bundle> */
	uint32		bundle;
	uint64		bundleOffset;
} BackupResult;

/* What a worker did with one part of a file stored in parts. */
typedef struct BackupPartResult
{
	uint64		index;			/* the file, in the list */
	uint32		part;
	uint32		kind;			/* BackupResultKind */
	uint64		size;			/* plain bytes of the part (padded, but the
								 * last: manifest.h) */
	int64		mtime;			/* the file's, when it was opened */
	uint64		objectSize;
	uint32		corrupt;
	uint8		sha256[CODEC_SHA256_SIZE];	/* of the part's plain bytes */
} BackupPartResult;

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
	uint64		parentPartSize; /* the parent's part-size (0: version 1) */
	uint64		partSize;		/* pg_dr.backup_part_size, in bytes */
	uint64		startLsn;
	bool		dataChecksums;
	char		listPath[MAXPGPATH];
	char		indexPath[MAXPGPATH];
	char		resultPrefix[MAXPGPATH];	/* + ".<worker>" */
	char		chainPath[MAXPGPATH];	/* "" unless the parent is an
										 * incremental (backup_chain.h) */
	uint64		fileCount;
	int			nworkers;
	int			maxRateKb;		/* per backup, kB/s; 0 = unlimited */
	bool		walSummary;		/* incremental: backup/<id>/wal-summary
								 * names the blocks to read
								 * (backup_walsum.c) */
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
	 * stored the file (kind 0 until then; files in parts have none here).
	 * nextBig counts units: a big file stored whole is one, one in parts
	 * one per part; bigUnits[i] is the first unit of bigOrder[i]
	 * (bigUnits[bigCount]: their total).
	 */
	uint32		bigCount;
	uint64		bigIndex[BACKUP_BIG_MAX];
	uint32		bigOrder[BACKUP_BIG_MAX];
	uint32		bigParts[BACKUP_BIG_MAX];	/* by position, like bigIndex */
	uint64		bigUnits[BACKUP_BIG_MAX + 1];
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
							struct ManifestReader *parent, uint64 partSize,
							BackupListing *listing);

/*
 * How many parts a file of this size is stored in (0: whole): files larger
 * than partSize, but the relation files an incremental stores as a block
 * delta (flags: BACKUP_LIST_*).
 */
extern uint32 backupListParts(uint64 size, uint32 flags, uint64 partSize);

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
/* Store part k of a file stored in parts (entry->parts > k). */
extern void backupFileStorePart(struct Repo *repo, const CodecDataKey *key,
								BackupShared *shared,
								const BackupListEntry *entry, const char *path,
								uint32 part, BackupPartResult *result);

/*
 * backup_walsum.c: the blocks an incremental reads.  The leader makes the
 * backup's WAL summary from the parent's start to startLsn: true when it
 * stored one (then set shared->walSummary), false when the backup must
 * read every file whole (the reason is logged).
 */
extern bool backupWalSummaryPrepare(struct Repo *repo, const CodecDataKey *key,
									const char *backupId,
									const ManifestHeader *parent,
									uint64 startLsn, uint32 tli);
/*
 * A worker: the blocks of relation file path (size bytes now, parentSize
 * in the parent) to read, ascending and palloc'd, when the summary
 * vouches for the file; false: read it whole.
 */
extern bool backupWalSummaryPick(struct Repo *repo, const BackupShared *shared,
								 const char *path, uint64 parentSize,
								 uint64 size, uint32 **picked, uint32 *count);

#endif							/* DR_BACKUP_INTERNAL_H */
