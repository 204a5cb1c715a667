/*-------------------------------------------------------------------------
 * repo_archive.h
 *	  Files of the WAL archive read back, and checked to be the file their
 *	  name says: the one reader behind `pg_dr wal-get`, the WAL archive
 *	  verification (dr_wal_verify(), `pg_dr verify --wal`) and a backup's
 *	  verification of the archived WAL it needs.
 *
 * An archived object that decodes is authentic, but that alone does not
 * make it the file it is found under: another segment's object copied to a
 * segment's name decodes perfectly.  Served to recovery, its first page is
 * at the wrong address, which recovery takes for the end of the WAL: it
 * ends early and promotes with committed transactions missing.  So the
 * reader checks, before a byte reaches the caller:
 *	 - the object's binding (codec.h): the archive module binds every file
 *	   it stores to its WAL file name; objects written before bindings have
 *	   none and pass this check;
 *	 - for a segment (and a ".partial"): its first page's long header is
 *	   that segment's (walSegmentHeaderCheck: address, segment size,
 *	   system identifier, timeline), and at its end, that it holds exactly
 *	   one segment.
 * Layout of the archive: repo_backup.h.
 *
 * The archive is listed by one iterator (repoArchiveIterOpen): every part
 * that walks it (retention, the PITR scan, WAL verification, `pg_dr
 * info`) goes through it, so that paging (storageListOpen) and the
 * reading of names exist once.
 *-------------------------------------------------------------------------
 */
#ifndef DR_REPO_ARCHIVE_H
#define DR_REPO_ARCHIVE_H

#include "repo/repo.h"

/* What the cluster the archive belongs to says. */
typedef struct RepoArchiveExpect
{
	uint32		segSize;		/* WAL segment size; 0: the segment's own */
	uint64		systemIdentifier;	/* 0: not checked */
} RepoArchiveExpect;

/*
 * Read the archived file name (a segment, "<segment>.partial", a backup
 * history file or a timeline history file) to its verified end, passing
 * its plain bytes to sink (sink.write NULL: nowhere).  Nothing reaches the
 * sink before the checks above that can be made at the start passed; as
 * with any object, what reached it is only verified once this returned
 * true.  result (may be NULL): what the object held.
 *
 * Errors, each a sentence naming the file: DR_ERR_NOT_FOUND when the
 * archive does not have it; DR_ERR_CORRUPT when it is damaged or is not
 * the file its name says (naming the segment it holds instead, when it
 * holds another); DR_ERR_INVALID for a name that is not a WAL file's;
 * anything else when the repository could not be read (DR_ERR_IO,
 * DR_ERR_KEY), or the sink's error.
 */
extern bool repoArchiveRead(Repo *repo, const char *name,
							const RepoArchiveExpect *expect, CodecSink sink,
							CodecResult *result, DrError *err);

/*
 * A whole archived file (a history file), palloc'd, with a '\0' after it
 * not counted in *len; checked like repoArchiveRead (DR_ERR_INVALID above
 * maxLen).
 */
extern char *repoArchiveGetBuffer(Repo *repo, const char *name, size_t *len,
								  size_t maxLen, DrError *err);

/*
 * What an entry of archive/wal is, by its name.  At the top: the log
 * directories "<tli><log>" (16 hex digits; each holds the files of 4 GB of
 * WAL of one timeline) and the timeline history files "<tli>.history".
 * In a log directory: segments, "<segment>.partial", backup history
 * files "<segment>.<offset, 8 hex digits>.backup" and WAL summaries
 * "<segment>.summary" (archive/wal_summary.h: the blocks the records
 * beginning in that segment touched), each named after a segment of that
 * directory.  Anything else, at either level (a segment
 * in another segment's directory, a subdirectory of a log directory, a
 * name in lower case), is unknown: the caller decides what it means.
 */
typedef enum RepoArchiveKind
{
	REPO_ARCHIVE_DIR = 0x01,
	REPO_ARCHIVE_SEGMENT = 0x02,
	REPO_ARCHIVE_PARTIAL = 0x04,
	REPO_ARCHIVE_BACKUP = 0x08,
	REPO_ARCHIVE_HISTORY = 0x10,
	REPO_ARCHIVE_UNKNOWN = 0x20,
	REPO_ARCHIVE_SUMMARY = 0x40,
} RepoArchiveKind;

#define REPO_ARCHIVE_ALL		0x7f

/*
 * What to list (every field 0: everything).  A log directory that the
 * filter excludes as a whole is not listed at all; one is listed only when
 * a kind found in log directories is asked for.  A filter of one timeline
 * and a few log directories' segments (segTo set) asking only for
 * segments, ".partial" or backup history files is served without listing
 * the top of the archive: its directories are listed by name.
 */
typedef struct RepoArchiveIterParam
{
	uint32		kinds;			/* REPO_ARCHIVE_* bits; 0: all */
	/*
	 * The WAL segment size, which numbers segments (segno): names valid for
	 * it only are segments.  0: unknown; names valid for any size are
	 * segments, segno is left 0 and no segment range may be given.
	 */
	uint32		segSize;
	uint32		tliMin;			/* timelines from (0: the first) */
	uint32		tliMax;			/* to, inclusive (0: the last) */
	uint64		segFrom;		/* segments from (needs segSize) */
	uint64		segTo;			/* to, inclusive (0: the last) */
	int			pageSize;		/* storage listing page; 0: the default */
} RepoArchiveIterParam;

/*
 * Path of the WAL summary of a segment (its name: 24 hex digits),
 * palloc'd; NULL with DR_ERR_INVALID for any other name.
 */
extern char *repoArchiveSummaryPath(const char *segment, DrError *err);

typedef struct RepoArchiveEntry
{
	RepoArchiveKind kind;
	const char *name;			/* in its directory */
	const char *path;			/* from the repository root */
	const char *dir;			/* the log directory it is in; NULL at the top */
	bool		isDir;
	uint32		tli;			/* not for UNKNOWN */
	uint64		segno;			/* the segment's (DIR: its first) with segSize */
	uint64		size;
	int64		mtime;			/* seconds since the epoch */
} RepoArchiveEntry;

typedef struct RepoArchiveIter RepoArchiveIter;

/*
 * The entries of archive/wal in name order (a log directory's files come
 * right after the directory itself), as the filter asks; an archive
 * without archive/wal lists nothing.  Memory is bounded by two listing
 * pages (the top and one log directory).  Entries may be removed while
 * the iteration runs (retention does).  DR_ERR_INVALID for a filter that
 * makes no sense.
 */
extern RepoArchiveIter *repoArchiveIterOpen(Repo *repo,
											const RepoArchiveIterParam *param,
											DrError *err);
/*
 * The next entry: false when the repository could not be listed (the
 * storage's error); true with *entry NULL at the end.  *entry and its
 * strings are valid until the next call.
 */
extern bool repoArchiveIterNext(RepoArchiveIter *iter,
								const RepoArchiveEntry **entry, DrError *err);
extern void repoArchiveIterClose(RepoArchiveIter *iter);

#endif							/* DR_REPO_ARCHIVE_H */
