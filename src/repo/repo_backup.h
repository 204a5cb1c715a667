/*-------------------------------------------------------------------------
 * repo_backup.h
 *	  Backups as the repository holds them: listing, manifests, parent
 *	  chains, and where each object lives (layout in manifest.h).
 *
 * A backup exists when, and only when, its manifest does: a directory
 * under backup/ without one is a backup that never finished (or is being
 * written) and is not listed.  Everything here reads; nothing writes.
 *
 * WAL archive layout (written by the archiver, read by `pg_dr wal-get`):
 *	 archive/wal/<first 16 characters>/<segment>	  a segment ("<tli><log>"
 *												  directory keeps each
 *												  directory small), and
 *												  likewise "<segment>.partial"
 *												  backup history files and
 *												  WAL summaries
 *												  "<segment>.summary"
 *	 archive/wal/<TLI>.history						  timeline history files
 *-------------------------------------------------------------------------
 */
#ifndef DR_REPO_BACKUP_H
#define DR_REPO_BACKUP_H

#include "common/manifest.h"
#include "repo/repo.h"

#define REPO_BACKUP_DIR			"backup"
#define REPO_ARCHIVE_WAL_DIR	"archive/wal"

/* Paths of a backup's objects, palloc'd. */
extern char *repoBackupManifestPath(const char *backupId);
extern char *repoBackupDataPath(const char *backupId, const char *path);
extern char *repoBackupWalPath(const char *backupId, const char *segment);
/* Part k of a file stored in parts (manifest.h); the object is bound to it. */
extern char *repoBackupPartPath(const char *backupId, const char *path,
								uint32 part);
/* "backup/<id>/bundle/": the prefix of the bundle objects' paths. */
extern char *repoBackupBundlePrefix(const char *backupId);
extern char *repoBackupBundlePath(const char *backupId, uint32 bundle);

/*
 * The object of a stored file (store full or delta) of backup backupId:
 * data/<path>, or its entry of a bundle (manifest.h); read like any
 * object (repo.h).  Name: what to call it in messages, palloc'd -- the
 * data path, or "backup/<id>/bundle/<n>:<offset> (<file path>)".
 */
extern RepoObjectRead *repoBackupFileReadBegin(Repo *repo,
											   const char *backupId,
											   const ManifestFile *file,
											   DrError *err);
extern char *repoBackupFileObjectName(const char *backupId,
									  const ManifestFile *file);

/*
 * Path of a WAL archive file, palloc'd: a segment name (24 hex digits), a
 * "<segment>.partial", a backup history file "<segment>.<offset>.backup",
 * or a timeline history file "<TLI>.history".  NULL with DR_ERR_INVALID
 * for any other name (so that a name from a command line can never reach
 * outside the archive).
 */
extern char *repoArchiveWalPath(const char *name, DrError *err);

/* Path of the history file of timeline tli, palloc'd. */
extern char *repoArchiveHistoryPath(uint32 tli);

/*
 * The valid backups, ascending (that is, oldest first): directories under
 * backup/ named like a backup id whose manifest object exists.  *ids is a
 * palloc'd array of palloc'd strings (NULL when *count is 0); free it with
 * repoBackupListFree.
 */
extern bool repoBackupList(Repo *repo, char ***ids, int *count, DrError *err);
extern void repoBackupListFree(char **ids, int count);

/* The newest valid backup, palloc'd; DR_ERR_NOT_FOUND when there is none. */
extern char *repoBackupLatest(Repo *repo, DrError *err);

/*
 * "latest" or a backup id, checked: a palloc'd id of a backup whose
 * manifest exists.  DR_ERR_INVALID for a malformed id, DR_ERR_NOT_FOUND
 * (naming the repository) when there is no such backup.
 */
extern char *repoBackupResolve(Repo *repo, const char *idOrLatest,
							   DrError *err);

/*
 * An open manifest: the decoded object streamed through a ManifestReader.
 * Open reads and checks the header (its backup-id must be the id asked
 * for: DR_ERR_CORRUPT otherwise); DR_ERR_NOT_FOUND when the backup has no
 * manifest.  Error messages of the reader name the backup.
 *
 * Reading entries to the end (manifestReaderNext returning 0) also reads
 * the object to its verified end: only then is everything read known to
 * be authentic (codec.h).  Close releases everything, read to the end or
 * not.
 */
typedef struct RepoBackupManifest RepoBackupManifest;

extern RepoBackupManifest *repoBackupManifestOpen(Repo *repo,
												  const char *backupId,
												  DrError *err);
extern ManifestReader *repoBackupManifestReader(RepoBackupManifest *manifest);
extern const ManifestHeader *repoBackupManifestHeader(RepoBackupManifest *manifest);
extern void repoBackupManifestClose(RepoBackupManifest *manifest);

/*
 * A backup and its ancestors: ids[0] is the backup asked for, ids[i + 1]
 * the parent of ids[i], ids[count - 1] the full backup the chain starts
 * from; headers[i] is the manifest header of ids[i] (label palloc'd).
 */
typedef struct RepoBackupChain
{
	int			count;
	char	  **ids;
	ManifestHeader *headers;
} RepoBackupChain;

/*
 * Resolve the chain of backupId from the manifest headers.  Errors:
 * DR_ERR_NOT_FOUND naming the missing backup (and, for a parent, whose
 * parent it is); DR_ERR_CORRUPT for a cycle, or a parent from another
 * cluster (system identifier), another server version or another block or
 * WAL segment size.
 */
extern RepoBackupChain *repoBackupChain(Repo *repo, const char *backupId,
										DrError *err);
extern void repoBackupChainFree(RepoBackupChain *chain);

/*
 * The manifest headers of the valid backups, oldest first (labels
 * palloc'd): what the PITR pick, dr_expire() and `pg_dr expire` decide
 * from.  A manifest that cannot be read (damaged, its key missing, removed
 * meanwhile) does not fail the whole: its backup is left out of headers[]
 * and listed in unreadableIds[] with the reason in unreadable[] (a message
 * that names the backup), for the caller to warn about.  False only when
 * the repository cannot be listed.
 */
typedef struct RepoBackupHeaders
{
	int			count;
	ManifestHeader *headers;
	int			unreadableCount;
	char	  **unreadableIds;
	char	  **unreadable;
} RepoBackupHeaders;

extern bool repoBackupHeadersRead(Repo *repo, RepoBackupHeaders *headers,
								  DrError *err);
extern void repoBackupHeadersFree(RepoBackupHeaders *headers);

#endif							/* DR_REPO_BACKUP_H */
