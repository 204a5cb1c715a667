/*-------------------------------------------------------------------------
 * backup_kind.h
 *	  Whether an incremental backup that was asked for is taken as one, or
 *	  as a full backup instead: a pure decision (backup_kind.c).
 *
 * dr_backup_incremental() without a parent builds on the newest valid
 * backup.  When there is nothing valid to build on -- no backup at all,
 * the newest one of another cluster, or its chain broken -- it takes a full
 * backup instead and says why (a NOTICE and its audit record), as
 * pgBackRest does, so that a schedule of incrementals alone (pg_cron)
 * starts itself.  The same when the newest backup's chain already holds
 * pg_dr.backup_chain_max backups: a chain never grows without bound, and
 * restore never has to apply more deltas than that.  strict => true never
 * changes the kind: the incremental is taken, or fails as it would.  A
 * named parent never changes it either.
 *-------------------------------------------------------------------------
 */
#ifndef DR_BACKUP_KIND_H
#define DR_BACKUP_KIND_H

#include "common/dr_c.h"

#define BACKUP_KIND_REASON_MAX	512

typedef struct BackupKindInput
{
	bool		incremental;	/* an incremental was asked for */
	bool		parentGiven;	/* ... on a named parent */
	bool		strict;			/* never change the kind */
	int			chainMax;		/* pg_dr.backup_chain_max */
	/* the newest valid backup (read only when a change is possible) */
	bool		latestFound;
	const char *latestId;
	bool		latestChainOk;	/* its chain resolves */
	const char *latestChainError;	/* why not, when it does not */
	bool		latestSameCluster;	/* system identifier of this cluster */
	int			latestChainLength;	/* backups in its chain, itself included */
} BackupKindInput;

typedef struct BackupKindDecision
{
	bool		incremental;	/* take an incremental (on the newest) */
	bool		fullInstead;	/* an incremental was asked, a full is taken */
	char		reason[BACKUP_KIND_REASON_MAX];	/* why, when fullInstead */
} BackupKindDecision;

/*
 * Whether a change is possible at all: only then does the caller need to
 * read the newest backup and its chain.
 */
extern bool backupKindMayChange(const BackupKindInput *in);

extern void backupKindDecide(const BackupKindInput *in,
							 BackupKindDecision *out);

#endif							/* DR_BACKUP_KIND_H */
