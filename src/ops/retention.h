/*-------------------------------------------------------------------------
 * retention.h
 *	  Retention: which backups and which archived WAL a repository no
 *	  longer needs, and their removal (dr_expire(), `pg_dr expire`).
 *
 * The decisions are pure functions (unit tested); retentionRun() lists the
 * repository, decides and removes.
 *
 * Backups: the policy keeps the retentionFull newest full backups, every
 * full backup younger than retentionFullDays days, and every incremental
 * whose chain starts at a kept full backup.  An incremental whose parent
 * is not in the repository (a broken chain) is kept when it is newer than
 * the oldest kept full backup, removed otherwise.
 *
 * WAL: let S be the lowest start segment and T0 the lowest timeline of the
 * kept backups.  A segment (or its .partial, or a backup history file
 * named after it) of timeline T is kept when T > T0, or when it is at or
 * after S and T is T0 or an ancestor of T0 (when T0's history is not
 * known, any T at or after S is kept).  History files are always kept.
 * Anything else in the archive that is not recognised is kept.
 *
 * Legal holds (repo/repo_hold.h): a backup under a hold in effect is
 * kept with its chain whatever the policy; what it needs of the WAL
 * archive is its own range, from its start to its stop segment on its
 * timeline (the range of every backup of its chain that only the hold
 * keeps), not everything after it, so that an old held backup does not
 * keep the whole archive.  A hold that cannot be read counts as in effect.
 *
 * Unreadable manifests: a backup whose manifest cannot be read is left
 * out (the caller warns, naming it) and nothing it might need is removed.
 * Its parent chain and its WAL range cannot be known, so: every backup
 * older than the newest unreadable one is kept (any of them may be its
 * ancestor), every incremental on top of an unreadable one too, and no
 * archived WAL is removed while any manifest cannot be read.  The
 * unreadable backup itself is never removed: fix or remove it by hand.
 *
 * Running backups: a backup being written has a directory without a
 * manifest and a lock (repo_lock.h).  A live lock keeps the directory and
 * the chain of the backup's parent (named in the lock), whatever the
 * policy, for the server and the CLI alike.
 *
 * Removal order (crash safety): a backup's manifest goes first (from that
 * instant the backup no longer exists), then its tree.  A directory under
 * backup/ without a manifest is what such a crash, a backup that failed or
 * one whose server died leaves; it is removed when its lock is expired or
 * absent, it is older than RETENTION_ORPHAN_AGE seconds and it is not
 * the backup this server is writing (retentionOrphanRemovable, the rule
 * of repo/repo_leftover.h, which the next backup applies too when it
 * starts).
 *-------------------------------------------------------------------------
 */
#ifndef DR_RETENTION_H
#define DR_RETENTION_H

#include "common/host.h"
#include "common/manifest.h"
#include "common/wal.h"
#include "repo/repo.h"
#include "repo/repo_leftover.h"
#include "repo/repo_lock.h"

#define RETENTION_ORPHAN_AGE	REPO_LEFTOVER_DIR_AGE

typedef struct RetentionPolicy
{
	int			fullCount;		/* 0 = unset: keep everything */
	int			fullDays;		/* 0 = unset */
	int64		now;			/* seconds since the epoch */

	/*
	 * Kept whatever the policy, with its ancestors: the parent of the
	 * backup running now, which an incremental must still find when it
	 * ends.  NULL = none.
	 */
	const char *keepChainOf;

	/*
	 * The backups whose manifest cannot be read (see the header comment):
	 * every backup older than the newest of them is kept, and every
	 * incremental whose parent is one of them.
	 */
	const char *const *unreadable;
	int			unreadableCount;
} RetentionPolicy;

/*
 * Which policy dr_expire() and pg_dr expire apply to a repository: its own
 * when its configuration sets repoN_retention_full (with
 * repoN_retention_full_days), otherwise the tier's (dr_objectives.
 * retention_full and retention_full_days) when the tier sets
 * retention_full, otherwise none (fullCount 0: everything kept).  A whole
 * policy is taken from one place, never a count from one and days from the
 * other.  Values <= 0 are unset.  tierKnown false (pg_dr expire that could
 * not read the tier from the server): the tier's values are ignored and,
 * when the repository sets no count, the answer is UNKNOWN (fullCount 0:
 * everything kept; the caller says why).  Sets fullCount and fullDays;
 * returns where they came from.
 */
typedef enum RetentionPolicySource
{
	RETENTION_POLICY_NONE,
	RETENTION_POLICY_REPOSITORY,
	RETENTION_POLICY_TIER,
	RETENTION_POLICY_UNKNOWN
} RetentionPolicySource;

extern RetentionPolicySource retentionPolicyChoose(int repoFull, int repoDays,
												   int tierFull, int tierDays,
												   bool tierKnown,
												   RetentionPolicy *policy);

/*
 * headers[0..count) are the backups, oldest first (the order of
 * repoBackupList).  Sets keep[i]; returns how many are not kept.  With
 * fullCount 0 every backup is kept.
 */
extern int	retentionBackupsDecide(const ManifestHeader *headers, int count,
									const RetentionPolicy *policy,
									bool *keep);

/* Set keep[] for backup id and its ancestors among headers[0..count). */
extern void retentionKeepChain(const ManifestHeader *headers, int count,
								const char *id, bool *keep);

/*
 * Whether a directory under backup/ without a manifest may be removed at
 * time now: not when it is the backup this server is writing (running),
 * not while its lock is live, and only when its modification time is
 * older than RETENTION_ORPHAN_AGE.
 */
extern bool retentionOrphanRemovable(int64 dirMtime, const RepoLockState *lock,
									  bool running, int64 now);

/*
 * Keep backup ids held[0..heldCount) and their chains (keep[] set), and
 * say in heldOnly[] (may be NULL) which backups only a hold keeps.
 */
extern void retentionKeepHeld(const ManifestHeader *headers, int count,
							  const char *const *held, int heldCount,
							  bool *keep, bool *heldOnly);

/* The WAL of one backup kept only by a hold: its segments on its timeline. */
typedef struct RetentionWalRange
{
	uint32		tli;
	uint64		fromSegno;
	uint64		toSegno;		/* inclusive */
} RetentionWalRange;

/* What the kept backups need of the WAL archive. */
typedef struct RetentionWalKeep
{
	uint32		segSize;
	uint64		startSegno;		/* S */
	uint32		tli;			/* T0 */
	const WalHistory *history;	/* of T0; NULL = unknown */
	const RetentionWalRange *ranges;	/* of held backups; also kept */
	int			rangeCount;
} RetentionWalKeep;

/*
 * Whether a file of the WAL archive (its name without directory) may be
 * removed: a segment, "<segment>.partial", "<segment>.<8 hex>.backup" or
 * "<segment>.summary" (its WAL summary, removed with it) that no kept
 * backup needs.  Anything else (history files, unknown names)
 * is kept.
 */
extern bool retentionWalRemovable(const char *name,
								   const RetentionWalKeep *keep);

typedef struct RetentionParam
{
	RetentionPolicy policy;
	bool		dryRun;			/* decide and report, remove nothing */
	const char *runningBackupId;	/* never treated as an orphan; NULL */
	/* called for each backup removed (or to be, with dryRun); may be NULL */
	void		(*onBackup) (void *arg, const char *backupId, bool orphan);
	/* called for each backup left out, with the reason; may be NULL */
	void		(*onUnreadable) (void *arg, const char *backupId,
								 const char *message);
	/* called for each hold that cannot be read (kept as held); may be NULL */
	void		(*onHoldError) (void *arg, const char *backupId,
								const char *message);
	void	   *arg;

	/*
	 * Cancel, progress and notices (common/host.h); NULL = none.  Asked
	 * before each removal (a backup, a directory, a WAL file): what was
	 * removed stays removed (each removal is crash-safe on its own, see
	 * above) and the run fails with DR_ERR_CANCELED.  Progress after each
	 * removal: operation "expire", phase "backups", "orphans" or "wal",
	 * the count of that phase and the bytes freed so far; totals unknown.
	 */
	const DrHost *host;
} RetentionParam;

typedef struct RetentionResult
{
	bool		policySet;		/* false: nothing was considered */
	int			backupsKept;
	int			backupsRemoved;	/* with manifest */
	int			orphansRemoved; /* manifest-less directories */
	int			walRemoved;
	bool		walSkipped;		/* no backup kept: WAL left alone */
	int			backupsUnreadable;	/* manifests that cannot be read */
	bool		walKept;		/* a backup's needs are unknown (unreadable,
								 * or completed meanwhile): no WAL removed */
	int			backupsLocked;	/* directories kept by a live lock */
	int			backupsHeld;	/* under a legal hold in effect (kept) */
	uint64		bytesFreed;
	char		oldestKept[MANIFEST_ID_MAX + 1];	/* "" when none */
	char		walKeepFrom[WAL_NAME_LEN + 1];	/* "" when no WAL was removed */
} RetentionResult;

/* Apply the policy to the repository (see the header comment). */
extern bool retentionRun(Repo *repo, const RetentionParam *param,
					   RetentionResult *result, DrError *err);

#endif							/* DR_RETENTION_H */
