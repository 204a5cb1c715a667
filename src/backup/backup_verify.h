/*-------------------------------------------------------------------------
 * backup_verify.h
 *	  Offline verification of a backup and its chain: every object the
 *	  manifests name is read and checked, and every problem is reported.
 *	  Shared code: `pg_dr verify` and the server's dr_backup_verify().
 *
 * What is checked, for each backup verified:
 *	 - its manifest: read to its verified end, strictly (manifest.h);
 *	 - its chain: every parent exists, of the same cluster, server version,
 *	   block and WAL segment size, without a cycle (repo_backup.h);
 *	 - each store=full object: authenticated (codec.h), and its size,
 *	   SHA-256 and stored size those of its manifest entry;
 *	 - each store=delta object: authenticated, a well-formed block delta
 *	   (delta.h) with the backup's block size, the entry's file size and
 *	   page count, and the entry's stored size, whose pages XORed with the
 *	   parent's are pages the parent's file has;
 *	 - each store=parent or store=delta entry: the parent backup has the
 *	   file (and, for store=parent, with the same size);
 *	 - each WAL segment: authenticated, with its manifest size and SHA-256;
 *	 - a backup that stores no WAL (it left it to the archive): every
 *	   segment from its start to its stop LSN is in the archive, decodes,
 *	   and is the segment its name says (repo_archive.h), since without
 *	   them the backup cannot be restored at all.  A missing or damaged
 *	   one is a problem whose path is its archive path.
 * Objects the manifest does not name are not looked at (a backup is what
 * its manifest says).  Verification does not stop at the first problem:
 * each one is reported through the callback, and the call returns whether
 * there was none.
 *
 * Memory: one read buffer and two manifest readers, whatever the size of
 * the backup.  In the backend, codec errors are reported, not raised; out
 * of memory still raises.
 *-------------------------------------------------------------------------
 */
#ifndef DR_BACKUP_VERIFY_H
#define DR_BACKUP_VERIFY_H

#include "common/host.h"
#include "repo/repo.h"

/*
 * One problem: path is the repository path of the object concerned
 * ("backup/<id>/data/base/5/16384", "backup/<id>/manifest", ...).
 */
typedef void (*VerifyProblemFn) (void *arg, const char *path,
								 const char *message);

typedef struct VerifyParam
{
	bool		chain;			/* also the objects of every ancestor */
	VerifyProblemFn problem;	/* required */
	void	   *problemArg;
	/*
	 * Cancel, progress and notices (common/host.h); NULL = none.  Asked
	 * between objects and every VERIFY_CANCEL_CHECK bytes inside one;
	 * progress after each file entry (operation "verify", phase "files")
	 * and each WAL segment (phase "wal"), totals unknown (0).  A cancelled
	 * verification stops there: result->cancelled, and false whatever was
	 * found, so that it is never taken for a backup without problems.
	 */
	const DrHost *host;
} VerifyParam;

/* Inside a large object, the host is asked every this many bytes. */
#define VERIFY_CANCEL_CHECK		(4 * 1024 * 1024)

typedef struct VerifyResult
{
	int			backups;		/* backups whose objects were read */
	uint64		files;			/* file entries checked */
	uint64		objects;		/* objects read to their verified end */
	uint64		bytes;			/* plain bytes read */
	uint64		walSegments;
	uint64		problems;
	bool		cancelled;		/* the host cancelled: not verified */
} VerifyResult;

/*
 * Verify backupId (an id, or "latest").  Returns true when no problem was
 * found and the host did not cancel; result (may be NULL) is filled either
 * way.
 */
extern bool verifyBackup(Repo *repo, const char *backupId,
						 const VerifyParam *param, VerifyResult *result);

#endif							/* DR_BACKUP_VERIFY_H */
