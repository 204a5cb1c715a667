/*-------------------------------------------------------------------------
 * restore.h
 *	  Restore a backup (and the chain of backups it depends on) into a data
 *	  directory.  Shared code: the CLI runs it, and so can a worker of the
 *	  server restoring to a side directory.
 *
 * A restore is four steps, so that the file work can be spread over
 * processes (the CLI forks them; the server could start workers):
 *
 *	 restoreBegin	 plan, no side effects: resolve the backup ("latest" or
 *					 an id) and its parent chain, read every manifest of the
 *					 chain to its verified end, apply the tablespace map.
 *	 restorePrepare	 once: check the target (refuses a running cluster, and
 *					 a non-empty directory unless in delta mode), create it,
 *					 the tablespace links and every directory of the backup.
 *	 restoreFiles	 any number of processes, each with its own jobIndex:
 *					 restores the files whose ordinal in the manifest, modulo
 *					 jobs, is jobIndex; run by restoreJobRun
 *					 (restore_jobs.h), the files the split balanced by bytes
 *					 gives jobIndex.  A file stored in parts counts as one
 *					 unit per part (restore_internal.h), so that several
 *					 jobs write one large file.
 *	 restoreFinish	 once, after every restoreFiles succeeded: the files
 *					 written in units checked and given their name; delta-mode
 *					 removal of what the backup does not have, WAL segments
 *					 into pg_wal, recovery settings and the origin marker
 *					 (repo_origin.h), global/pg_control last, directory
 *					 fsyncs.
 *
 * Each process calls restoreBegin itself, or inherits the Restore across
 * fork(); the steps only share the target directory.  restore_jobs.h runs
 * the file step in parallel jobs through a launcher (the CLI forks them).
 *
 * A file is reconstructed from the nearest backup of the chain that stores
 * it whole, then the block deltas of the newer backups are applied, oldest
 * first (delta.h).  It is written under a temporary name in its directory,
 * fsynced, given its mode and mtime, and renamed: a file either has its
 * restored content or is not there under its name.  Every object read is
 * authenticated by the codec; a whole object's size and SHA-256 must be
 * those its manifest gives (store=delta and store=parent files cannot be
 * compared with the SHA-256 of the backup, see manifest.h).
 *
 * global/pg_control is written last, by restoreFinish (and, in delta mode,
 * removed by restorePrepare): until a restore completed, the directory
 * cannot be started as a cluster.
 *
 * Delta mode reuses the target: a file whose size and SHA-256 are those of
 * the manifest is kept (mode and mtime set), others are rewritten, and
 * restoreFinish removes files and directories the backup does not have.
 * A non-empty target must look like a data directory (PG_VERSION) so that
 * a wrong --pgdata cannot empty an unrelated directory; inside a tablespace
 * location only the directories the backup has (this server version's)
 * are touched.
 *
 * Memory: one copy buffer (RESTORE_BUFFER_SIZE) and one manifest reader per
 * backup of the chain, whatever the size of the files or their number;
 * restoreFinish in delta mode also holds the backup's directory list, and
 * a job of a parallel restore the split (RESTORE_JOBS_BIG_MAX files).
 *
 * In the backend, SHA-256 uses pg_cryptohash, which needs a resource owner.
 *-------------------------------------------------------------------------
 */
#ifndef DR_RESTORE_H
#define DR_RESTORE_H

#include "common/host.h"
#include "common/error.h"
#include "common/wal.h"
#include "repo/repo.h"
#include "repo/repo_backup.h"

/* Bytes moved from an object to a file at a time. */
#define RESTORE_BUFFER_SIZE		(1024 * 1024)

/* Inside a large file, the host is asked every this many bytes. */
#define RESTORE_CANCEL_CHECK	(4 * 1024 * 1024)

typedef struct Restore Restore;

/*
 * A tablespace restored somewhere else than its location in the manifest:
 * matched by oid, or (oid 0) by that location.
 */
typedef struct RestoreTablespaceMap
{
	uint32		oid;
	const char *fromLocation;	/* only when oid is 0 */
	const char *toLocation;		/* absolute */
} RestoreTablespaceMap;

/*
 * A directory a restore must neither write into nor contain: the running
 * cluster's data directory, its WAL directory and tablespaces, the
 * repository.  restorePrepare compares the target and every tablespace
 * location with each guard after resolving both (restorePathResolve), so
 * that a symbolic link or "/./" cannot lead a restore into one.
 */
typedef struct RestoreGuard
{
	const char *path;			/* absolute */
	const char *what;			/* "the repository", for the message */
} RestoreGuard;

/* What happens to archive_mode in the restored configuration. */
typedef enum RestoreArchiveMode
{
	RESTORE_ARCHIVE_OFF = 0,	/* archive_mode = off written (the default) */
	RESTORE_ARCHIVE_PRESERVE	/* the backup's setting kept */
} RestoreArchiveMode;

typedef struct RestoreParam
{
	const char *backupId;		/* a backup id or "latest" */
	const char *targetDir;		/* absolute */
	bool		delta;			/* reuse and clean an existing target */
	const RestoreTablespaceMap *tablespaceMap;
	int			tablespaceMapCount;

	/*
	 * restore_command: "'<program>' wal-get --config '<configFile>' --repo
	 * <repoIndex> %f %p", without "--repo <repoIndex>" when it is 0 (then
	 * wal-get reads from every repository, falling back: repo_fallback.h).
	 * No restore_command when program is NULL.
	 */
	const char *restoreProgram; /* absolute path of pg_dr */
	const char *restoreConfigFile;	/* absolute path */
	int			restoreRepoIndex;

	/*
	 * Reading from several repositories (repo_fallback.h): repoNumber is
	 * the number of the repository restored from, named in the warnings
	 * and in the error of a copy that cannot be read (0: unnamed, when it
	 * is the only one), fallbackRepos[0..fallbackCount) the other repositories
	 * that hold the backup, in the order to try, fallbackNumbers their
	 * numbers (arrays copied, repositories not: the caller keeps them
	 * open until restoreFree).  A file whose copy fails to restore with
	 * an error repoReadFallsBack allows is restored from the first other
	 * repository whose copy of the same backup chain has it with the same
	 * size and SHA-256, and a WAL segment of the backup from the first
	 * other repository whose object has the size and SHA-256 of the
	 * manifest; a unit of a file in parts (restore_internal.h) from the
	 * first other repository whose copy gives the file the same entry and
	 * whose part is good.  Each fallback is said through host
	 * (hostWarning).
	 */
	int			repoNumber;
	Repo	   *const *fallbackRepos;
	const int  *fallbackNumbers;
	int			fallbackCount;

	/* more recovery settings (recovery targets ...), lines; NULL = none */
	const char *recoverySettings;

	/*
	 * Isolation from the repository restored from (repo_origin.h).  Unless
	 * asPrimary, restoreFinish writes the origin marker naming it, and with
	 * RESTORE_ARCHIVE_OFF also archive_mode = off: a restored cluster must
	 * not archive, back up or expire into its source's repository.
	 * asPrimary removes a marker the backup may carry instead.
	 */
	bool		asPrimary;
	RestoreArchiveMode archiveMode;

	/*
	 * Cancel, progress and notices (common/host.h); NULL = none.  Asked
	 * between files, every RESTORE_CANCEL_CHECK bytes inside one, and
	 * between WAL segments; progress after each file (operation "restore",
	 * phase "files": this call's files and bytes, of the plan's) and each
	 * segment (phase "wal").  Once restoreFinish writes the recovery
	 * settings nothing is asked: the rest is short.  A cancelled restore
	 * fails with DR_ERR_CANCELED, its temporary file removed, global/
	 * pg_control not written: the target cannot be started (see above).
	 */
	const DrHost *host;

	/* directories the restore must stay out of (copied) */
	const RestoreGuard *guards;
	int			guardCount;
} RestoreParam;

/* What restoreBegin found. */
typedef struct RestorePlan
{
	const char *backupId;		/* resolved */
	const RepoBackupChain *chain;	/* the backup first, the full last */
	uint64		dirs;
	uint64		files;
	uint64		bytes;			/* sum of the file sizes */
	uint64		walSegments;
	int			tablespaces;
} RestorePlan;

/* What one restoreFiles or restoreFinish call did. */
typedef struct RestoreResult
{
	uint64		filesWritten;
	uint64		filesUnchanged; /* delta mode */
	uint64		bytesWritten;
	uint64		walSegments;
	uint64		removed;		/* delta mode: files and directories */
} RestoreResult;

/*
 * Plan a restore (see above).  DR_ERR_NOT_FOUND for a missing backup or
 * parent, DR_ERR_CORRUPT for a damaged manifest or chain, DR_ERR_INVALID
 * for a bad parameter (relative target, a tablespace mapping that matches
 * no tablespace, two tablespaces mapped to one directory).
 */
extern Restore *restoreBegin(Repo *repo, const RestoreParam *param,
							 DrError *err);
extern const RestorePlan *restorePlanGet(const Restore *restore);

/*
 * Check and set up the target (once).  DR_ERR_INVALID for a target that
 * holds postmaster.pid, is not empty (without delta mode), or is not empty
 * and has no PG_VERSION (delta mode); likewise for tablespace locations;
 * and for a target or tablespace location that, resolved, lies inside a
 * guard or holds one (RestoreParam.guards).
 */
extern bool restorePrepare(Restore *restore, DrError *err);

/* Restore this job's share of the files; result may be NULL. */
extern bool restoreFiles(Restore *restore, int jobs, int jobIndex,
						 RestoreResult *result, DrError *err);

/* Complete the restore (once, after every restoreFiles); result may be NULL. */
extern bool restoreFinish(Restore *restore, RestoreResult *result,
						  DrError *err);

extern void restoreFree(Restore *restore);

/*
 * path with every symbolic link resolved, palloc'd: realpath() of its
 * nearest existing ancestor, then the components that do not exist yet
 * (they cannot be links: "." is dropped and ".." removes the component
 * before it).  NULL with DR_ERR_INVALID for a relative path, DR_ERR_IO
 * when an existing ancestor cannot be resolved.
 */
extern char *restorePathResolve(const char *path, DrError *err);

/*
 * Do resolved paths a and b overlap (one is b, inside b or holds b)?
 * Pure: both must come from restorePathResolve.
 */
extern bool restorePathOverlap(const char *a, const char *b);

/* Begin, Prepare, Files (one job), Finish, Free in one call. */
extern bool restoreRun(Repo *repo, const RestoreParam *param,
					   RestoreResult *result, DrError *err);

/*
 * Point-in-time restore: a recovery target, the backup it is reached from,
 * and the recovery settings that stop the server there.  docs/pitr.md is
 * the user's view.
 *
 *	 restore_pitr_target.c	the target values: parsed and checked, and
 *							the recovery settings lines (pure)
 *	 restore_pitr_pick.c	which backup, and whether the repository can
 *							reach the target at all (pure)
 *	 restore_pitr_scan.c	what the pick needs, read from a repository
 *	 restore_pitr_name.c	where a restore point is, read from the
 *							archived WAL, and the backup that reaches it
 *	 restore_pitr_timeline.c  which timeline recovery follows (pure)
 *	 restore_pitr_follow.c	scan, timeline, follow: what "pg_dr restore"
 *							and dr_restore() both run
 *
 * Why a backup must end before its target: recovery honours a target only
 * once consistent, that is after replaying its backup's WAL up to the stop
 * LSN; a target inside that range stops recovery with "requested recovery
 * stop point is before consistent recovery point".  A time or LSN target
 * is therefore reached from the newest backup that ended at or before it.
 * Transaction ids cannot be placed against a backup without reading WAL:
 * for them the newest backup is taken, unless the caller names one.  For
 * restore point names the archived WAL is read (restoreTargetNamePlace),
 * and the backup it gives is then checked by restoreTargetPick as a named
 * one.
 *
 * Why a target needs WAL after its backup: the backup's own WAL ends just
 * after its stop (pg_backup_stop switches segments), and PostgreSQL 13 and
 * later refuse to promote when recovery ran out of WAL before the target
 * ("recovery ended before configured recovery target was reached").
 */

typedef enum RestoreTargetKind
{
	RESTORE_TARGET_NONE = 0,	/* recover to the end of the WAL */
	RESTORE_TARGET_TIME,		/* recovery_target_time */
	RESTORE_TARGET_LSN,			/* recovery_target_lsn */
	RESTORE_TARGET_XID,			/* recovery_target_xid */
	RESTORE_TARGET_NAME,		/* recovery_target_name */
	RESTORE_TARGET_IMMEDIATE	/* recovery_target = 'immediate': the end
								 * of the backup */
} RestoreTargetKind;

typedef enum RestoreTargetAction
{
	RESTORE_TARGET_PROMOTE = 0, /* the default */
	RESTORE_TARGET_PAUSE
} RestoreTargetAction;

/* A restore point name is shorter than MAXFNAMELEN (64). */
#define RESTORE_TARGET_NAME_MAX		63

/* Room for a time as restoreTargetTimeFormat writes it. */
#define RESTORE_TARGET_TIME_LEN		40

typedef struct RestoreTarget
{
	RestoreTargetKind kind;
	const char *value;			/* as given (not copied): what the server
								 * parses, so what it reads is what was
								 * checked */
	int64		timeUsec;		/* TIME: microseconds since 1970-01-01 UTC */
	uint64		lsn;			/* LSN */
	uint64		xid;			/* XID (may carry an epoch, as txid_current) */
	bool		exclusive;		/* recovery_target_inclusive = off */
	RestoreTargetAction action;
	uint32		timeline;		/* recovery_target_timeline; 0: 'latest' */
} RestoreTarget;

/*
 * Parse and check a target value of kind into target (kind, value and the
 * parsed field; exclusive and action are left alone).  DR_ERR_INVALID with
 * a message and a hint for a malformed value:
 *	 TIME  "YYYY-MM-DD HH:MM[:SS[.fraction]]" ('T' may separate date and
 *		   time) followed by the zone: Z, UTC, GMT or a numeric offset
 *		   (+HH, +HHMM, +HH:MM[:SS]).  PostgreSQL accepts more, but a time
 *		   without an explicit zone would be read in the restored server's
 *		   TimeZone, which the backup pick cannot know.
 *	 LSN   X/X (1 to 8 hex digits each)
 *	 XID   a decimal integer at most 2^63-1 whose low 32 bits are a normal
 *		   transaction id (3 or more)
 *	 NAME  1 to RESTORE_TARGET_NAME_MAX bytes
 *	 IMMEDIATE  "immediate" (or NULL)
 */
extern bool restoreTargetParse(RestoreTargetKind kind, const char *value,
							   RestoreTarget *target, DrError *err);

/* The TIME syntax above alone: microseconds since the epoch. */
extern bool restoreTargetTimeParse(const char *text, int64 *usec,
								   DrError *err);

/*
 * usec as "YYYY-MM-DD HH:MM:SS[.ffffff]+00", a value restoreTargetTimeParse
 * (and PostgreSQL) accepts; buf holds RESTORE_TARGET_TIME_LEN bytes.
 */
extern void restoreTargetTimeFormat(int64 usec, char *buf, size_t len);

/* "time", "lsn", "xid", "name", "immediate" (or "none"). */
extern const char *restoreTargetKindName(RestoreTargetKind kind);

/*
 * The recovery settings for RestoreParam.recoverySettings, palloc'd lines:
 * every recovery target setting emptied first (a backup of a cluster that
 * was itself restored to a target carries that target in its
 * postgresql.auto.conf, and two targets are an error), then the target,
 * recovery_target_inclusive = off when exclusive, recovery_target_action
 * and recovery_target_timeline ('latest', or target->timeline).  For
 * RESTORE_TARGET_NONE only the emptied targets, and the timeline when
 * target->timeline is set.  For RESTORE_TARGET_IMMEDIATE, recovery_target =
 * 'immediate', the action, and recovery_target_timeline = 'current': the
 * backup's own timeline, which holds its end whatever came after.  Values
 * are quoted for postgresql.auto.conf.
 */
extern char *restoreTargetSettings(const RestoreTarget *target);

/* One archived WAL segment, as the scan found it. */
typedef struct RestoreWalSegment
{
	uint32		tli;
	uint64		segno;
	int64		mtime;			/* when it was stored (Unix seconds) */
} RestoreWalSegment;

/*
 * A timeline the repository knows: one with a history file in the archive,
 * or one a backup was taken on.
 */
typedef struct RestoreTimeline
{
	uint32		tli;
	WalHistory *history;		/* its ancestry (a root without a file) */
	int64		created;		/* when its history file was stored (Unix
								 * seconds); 0 without one */
	uint64		walEnd;			/* end of its newest own archived segment,
								 * 0 when none */
	int64		walEndArchived; /* when that segment was stored */
} RestoreTimeline;

/*
 * What a repository can recover to.  backups[] are the manifest headers of
 * the backups whose manifest could be read, oldest first; timelines[] every
 * timeline known, ascending, and segments[] every archived segment.
 * history is that of the timeline recovery will follow (restoreReachFollow
 * sets it; the scan starts with the newest, the one recovery_target_timeline
 * = 'latest' follows), NULL when unknown (then backups are not filtered by
 * timeline); walEnd is the end LSN of the newest archived segment recovery
 * reads along history (0 when the archive holds none).
 */
typedef struct RestoreReach
{
	ManifestHeader *backups;
	int			backupCount;
	char	  **unreadable;		/* one message per backup left out */
	int			unreadableCount;
	WalHistory *history;
	uint64		walEnd;
	char		walEndSegment[MANIFEST_WAL_NAME_LEN + 1];	/* "" if none */
	int64		walEndArchived; /* when it was stored (Unix seconds, from
								 * the storage); 0 when unknown */
	RestoreTimeline *timelines;
	int			timelineCount;
	RestoreWalSegment *segments;
	int			segmentCount;
	uint32		segSize;
	uint32		newestTli;		/* what 'latest' follows; 0 when unknown */
} RestoreReach;

/*
 * Read the backups' manifest headers, every timeline's history and the
 * archived segments (repo_backup.h has the layout), then follow the newest
 * timeline.  A manifest that cannot be read leaves its backup out, with a
 * message in unreadable[]; DR_ERR_CORRUPT for a damaged history file;
 * DR_ERR_IO when the storage cannot be listed.
 */
extern RestoreReach *restoreReachScan(Repo *repo, DrError *err);
extern void restoreReachFree(RestoreReach *reach);

/*
 * Make recovery follow timeline tli (one of reach->timelines): history
 * and the end of the archived WAL along it.  Pure.
 */
extern void restoreReachFollow(RestoreReach *reach, uint32 tli);

/* Which timeline recovery follows, and why. */
typedef struct RestoreTimelinePick
{
	uint32		tli;
	bool		latest;			/* the newest timeline, not asked for: the
								 * setting can stay 'latest' */
	char		reason[256];
	char		warning[512];	/* "" or a warning to show */
	char		warningHint[256];
} RestoreTimelinePick;

/*
 * Choose the timeline recovery follows for target (RESTORE_TARGET_NONE:
 * the end of the archive), or check requested (0: choose).  Pure.
 *
 * Only a timeline that a backup can reach counts (one whose history
 * passes through some backup's stop; backupId's, when not NULL).  Among them, the timelines that
 * contain the target in their own part -- from where they branched off
 * (for a time, when their history file was stored) to their newest
 * archived segment -- and when several do, or the target cannot be
 * placed (transaction id, restore point, no target), the one whose WAL
 * was archived last: the timeline still being written is the live
 * cluster's, while another timeline that stopped growing is most likely
 * a test restore or a former primary.  Ties go to the higher timeline.
 * A warning names the other timelines whenever more than one could
 * serve.  DR_ERR_NOT_FOUND for a requested timeline the repository does
 * not know, DR_ERR_INVALID for one no backup can reach.
 */
extern bool restoreTimelinePick(const RestoreReach *reach,
								const RestoreTarget *target,
								const char *backupId, uint32 requested,
								RestoreTimelinePick *pick, DrError *err);

/*
 * The timelines a restore could follow (those some backup, or backupId,
 * can reach), the one whose WAL was archived last first, into tlis (room
 * for reach->timelineCount); their number.  Pure.
 */
extern int	restoreTimelineCandidates(const RestoreReach *reach,
									  const char *backupId, uint32 *tlis);

/*
 * The timeline a restore point name is followed on, from what the search
 * of each candidate's archived WAL found: tlis[] as
 * restoreTimelineCandidates orders them, found[c] where the point of that
 * name recovery along tlis[c] would stop at ends (0: none it can reach).
 * The first candidate that holds it; a warning names the other timelines
 * that hold a point of that name in WAL they do not share with the one
 * chosen (restore points are unique per cluster, but each cluster that
 * archived a timeline here may have made one).  DR_ERR_INVALID naming the
 * timelines searched when none holds it.  Pure.
 */
extern bool restoreTimelineNameChoose(const RestoreReach *reach,
									  const char *name, const uint32 *tlis,
									  const uint64 *found, int count,
									  RestoreTimelinePick *pick,
									  DrError *err);

/* The backup a target is restored from, and what to tell the user. */
typedef struct RestorePick
{
	int			index;			/* into reach->backups */
	char		reason[256];	/* why this one, for a summary */
	char		warning[1024];	/* "" or a warning to show */
	char		warningHint[512];	/* "" or its hint */
} RestorePick;

/*
 * Choose the backup for target (RESTORE_TARGET_NONE is not a target) from
 * reach, or check backupId when the caller names one (NULL or "latest":
 * choose).  Pure: the decision depends on its arguments only.
 *
 * Chosen: among the backups on reach->history, the one with the newest
 * end at or before the target -- for TIME, the stop time plus one second
 * (stop-time is whole seconds rounded down, and a transaction can commit
 * until the real stop); for LSN, the stop LSN -- and for XID and NAME the
 * newest.  Refused with DR_ERR_INVALID, naming the nearest point that can
 * be reached: a TIME or LSN target before the end of every backup (or of
 * the backup named); an LSN target after the newest WAL the repository
 * holds (the newest archived segment, or the backup's stop when the
 * archive holds nothing after it); any other target when the archive
 * holds no WAL after the backup (an LSN target at the backup's very stop
 * needs none); a named backup that is not on reach->history.
 * DR_ERR_NOT_FOUND when there is no backup, or no backup backupId.  A TIME
 * target after the moment the newest archived segment was stored is
 * allowed, with a warning: the archive may hold no commit after it.
 */
extern bool restoreTargetPick(const RestoreReach *reach,
							  const RestoreTarget *target,
							  const char *backupId, RestorePick *pick,
							  DrError *err);

/*
 * Where restore point target->value (a NAME target) is, and the backup to
 * reach it from, found in the archived WAL along reach->history
 * (restore_pitr_name.c says why the WAL): the newest backup (or the one
 * backupId names) for which the first restore point of that name at or
 * after the backup's start lies at or after its stop.  *index into
 * reach->backups, *lsn where the point's record ends (the LSN
 * pg_create_restore_point() and dr_restore_point() return).  *index is -1 and
 * the result true when there is no backup or no archived WAL to look in:
 * restoreTargetPick, called next with the backup found, says what is
 * missing.  DR_ERR_INVALID when the name is not in the archived WAL after
 * any usable backup's start, or only inside a backup's own WAL; DR_ERR_IO
 * or DR_ERR_CORRUPT when a segment cannot be read.
 */
extern bool restoreTargetNamePlace(Repo *repo, const RestoreReach *reach,
								   const RestoreTarget *target,
								   const char *backupId, int *index,
								   uint64 *lsn, DrError *err);

/*
 * For a NAME target with no timeline named: search the archived WAL of
 * every timeline restoreTimelineCandidates gives, and follow the one
 * restoreTimelineNameChoose chooses (reach is left following it): *pick,
 * and *index and *lsn as restoreTargetNamePlace gives them along it.
 * True with *index -1 and *pick untouched when no timeline has a backup
 * and archived WAL to look in.  DR_ERR_INVALID when no timeline holds the
 * name after a backup's end; DR_ERR_IO or DR_ERR_CORRUPT when a segment
 * cannot be read.
 */
extern bool restoreTargetNameTimeline(Repo *repo, RestoreReach *reach,
									  const RestoreTarget *target,
									  const char *backupId,
									  RestoreTimelinePick *pick, int *index,
									  uint64 *lsn, DrError *err);

/*
 * The timeline a restore follows, chosen as both "pg_dr restore" and
 * dr_restore() choose it (restore_pitr_follow.c): the repository scanned,
 * restoreTimelinePick (or, for a restore point name with several
 * timelines and none requested, restoreTargetNameTimeline), and reach left
 * following the timeline chosen.
 */
typedef struct RestoreFollow
{
	RestoreReach *reach;		/* NULL when the scan failed */
	RestoreTimelinePick pick;	/* the timeline, why, and a warning */
	char	   *backupId;		/* no target: the backup, resolved
								 * (palloc'd); NULL otherwise */
	int			nameIndex;		/* NAME: the backup that reaches the
								 * restore point (into reach->backups),
								 * -1 when not placed */
	uint64		nameLsn;		/* NAME: where the point's record ends */
} RestoreFollow;

/*
 * Choose the timeline for target (RESTORE_TARGET_NONE: the end of the
 * archive; not RESTORE_TARGET_IMMEDIATE, which stays on the backup's own
 * timeline) from backupId (NULL or "latest": any backup; for no target
 * the newest), or check requested (0: choose).  Sets target->timeline: 0
 * when the newest timeline was chosen without being requested ('latest'
 * says the same).  follow->reach is kept even on failure, so that the
 * caller can report its unreadable backups; restoreFollowFree frees it
 * all.
 */
extern bool restoreFollowChoose(Repo *repo, RestoreTarget *target,
								const char *backupId, uint32 requested,
								RestoreFollow *follow, DrError *err);
extern void restoreFollowFree(RestoreFollow *follow);

#endif							/* DR_RESTORE_H */
