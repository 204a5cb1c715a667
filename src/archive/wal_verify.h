/*-------------------------------------------------------------------------
 * wal_verify.h
 *	  Is the WAL archive of a repository good for point-in-time recovery?
 *	  Shared code: the server's dr_wal_verify() and `pg_dr verify --wal`.
 *
 * What recovery from the oldest backup to the newest archived WAL needs:
 *	 - the history file of the newest timeline (when it is not 1): it says
 *	   which timeline each segment is read from (common/wal.h);
 *	 - every segment from the one holding the oldest backup's start LSN to
 *	   the newest archived one, each from the timeline the history says;
 *	 - each of them intact: it must decode (the codec authenticates every
 *	   byte), hold exactly one segment, be bound to its name, and begin with
 *	   the long page header of that very segment (magic, address, segment
 *	   size, system identifier), so that an object stored under the wrong
 *	   name is found; repoArchiveRead (repo_archive.h) checks all of that,
 *	   for wal-get too.
 * Gaps are reported as ranges; every history file in the archive is
 * decoded too.  The backup must be on the newest timeline's history.
 * Without any backup the check starts at the oldest segment archived on
 * that history, and the segment size and system identifier are the
 * caller's, or (when the caller has none: the CLI) those of the newest
 * archived segment.
 *
 * Memory is bounded by the largest directory of the archive (one "log" of
 * segments) and the number of directories, not by the size of the
 * archive.
 *
 * The host (param->host) is asked before each segment; a cancelled walk
 * fails with DR_ERR_CANCELED (nothing is written, so nothing is left).
 * Progress after each segment: operation "wal verify", phase "segments",
 * of the range walked.  A repository without backups is said with
 * hostNotice.
 *-------------------------------------------------------------------------
 */
#ifndef DR_WAL_VERIFY_H
#define DR_WAL_VERIFY_H

#include "common/host.h"
#include "common/manifest.h"
#include "common/wal.h"
#include "repo/repo.h"

typedef enum WalVerifyProblemKind
{
	WAL_VERIFY_MISSING,			/* a segment or history file is not there */
	WAL_VERIFY_DAMAGED			/* it is there, but not what it must be */
} WalVerifyProblemKind;

/* One problem, as a complete sentence naming the file(s). */
typedef void (*WalVerifyProblemFn) (void *arg, WalVerifyProblemKind kind,
									const char *message);

typedef struct WalVerifyParam
{
	uint32		segSize;		/* the cluster's; 0: unknown */
	uint64		systemIdentifier;	/* the cluster's; 0: unknown */
	WalVerifyProblemFn problem; /* required */
	void	   *arg;				/* problem's */
	/* cancel, progress and notices (common/host.h); NULL = none */
	const DrHost *host;
} WalVerifyParam;

typedef struct WalVerifyResult
{
	bool		haveBackup;		/* the check started at a backup */
	char		backupId[MANIFEST_ID_MAX + 1];	/* the oldest backup, or "" */
	char		firstSegment[WAL_NAME_LEN + 1]; /* "" when nothing was */
	char		lastSegment[WAL_NAME_LEN + 1];	/* walked */
	uint64		segmentsChecked;	/* read to their verified end */
	uint64		problems;
	uint32		segSize;		/* the segment size the walk used */
} WalVerifyResult;

/*
 * Check the archive of repo.  False, with err set, only when the
 * repository cannot be read at all or the host cancelled; otherwise true,
 * and the problems found (result->problems, each passed to
 * param->problem) say whether the archive is good.
 */
extern bool walVerify(Repo *repo, const WalVerifyParam *param,
					  WalVerifyResult *result, DrError *err);

/*
 * Whether the archive whose newest segment is own (a result's
 * lastSegment) lacks WAL another repository's archive holds, whose newest
 * is other: other is a later segment, or the same one on a newer timeline.
 * *count: how many segments own lacks past its newest (at least 1 when
 * true).  False when either name is empty or not a segment's.  Pure.
 */
extern bool walVerifyBehind(const char *own, const char *other,
							uint32 segSize, uint64 *count);

#endif							/* DR_WAL_VERIFY_H */
