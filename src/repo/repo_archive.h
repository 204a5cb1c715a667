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

#endif							/* DR_REPO_ARCHIVE_H */
