/*-------------------------------------------------------------------------
 * repo_origin.h
 *	  The origin marker: which repository a restored data directory came
 *	  from, so that the restored cluster never writes into it by mistake.
 *
 * A restore leaves "pg_dr.origin" in the data directory it writes (unless
 * told the result is the new primary).  It names the repository by its
 * identity (the random "id" of its info file, repo.h), not by its path: a
 * path can be a symlink, a mount point or a copy, an identity cannot.
 * While the marker names the repository pg_dr.config_file points at, the
 * restored cluster's pg_dr refuses to write there -- archiving, backups,
 * expiry, restore points -- because a test restore started on the same
 * host would otherwise archive a new timeline, backups and deletions into
 * the source's repository, and the source's own point-in-time recovery
 * would then follow the wrong timeline.  Pointed at another repository,
 * the cluster may write there.
 *
 * dr_declare_primary() (or "pg_dr restore --as-primary") removes the
 * marker: from then on the cluster is the repository's primary.
 *
 * Shared code: the restore writes the marker (CLI and server), the server
 * reads it.  The file is "name = value" lines:
 *	 repository       the identity (repoIdentity)
 *	 repository_path  where it was, for messages only
 *	 backup           the backup restored
 *	 restored         ISO 8601 UTC
 *-------------------------------------------------------------------------
 */
#ifndef DR_REPO_ORIGIN_H
#define DR_REPO_ORIGIN_H

#include "common/error.h"
#include "repo/repo.h"

#define REPO_ORIGIN_FILE		"pg_dr.origin"

/* "created-2024-05-01T12:00:00Z" is the longest identity. */
#define REPO_IDENTITY_LEN		64

typedef struct RepoOrigin
{
	char		repository[REPO_IDENTITY_LEN + 1];
	char		repositoryPath[1024];	/* "" when unknown */
	char		backup[128];
	char		restored[32];
} RepoOrigin;

/*
 * The identity of a repository: its id in hex, or, for a repository made
 * before ids existed, "created-" and its creation time.  buf holds
 * REPO_IDENTITY_LEN + 1 bytes.
 */
extern void repoIdentity(const RepoInfo *info, char *buf);

/* The marker's text (palloc'd), and its parser (DR_ERR_CORRUPT).  Pure. */
extern char *repoOriginFormat(const RepoOrigin *origin);
extern bool repoOriginParse(const char *text, size_t len, RepoOrigin *origin,
							DrError *err);

/* Does origin name the repository described by info?  Pure. */
extern bool repoOriginIsRepo(const RepoOrigin *origin, const RepoInfo *info);

/*
 * Write the marker into dataDir durably (temporary file, fsync, rename,
 * directory fsync), replacing one that is there.
 */
extern bool repoOriginWrite(const char *dataDir, const RepoOrigin *origin,
							DrError *err);

/*
 * Read dataDir's marker; *found false (and true returned) when there is
 * none.  DR_ERR_CORRUPT for a marker that is not a small regular file of
 * the format above.
 */
extern bool repoOriginRead(const char *dataDir, RepoOrigin *origin,
						   bool *found, DrError *err);

/* Remove dataDir's marker durably; *removed false when there was none. */
extern bool repoOriginRemove(const char *dataDir, bool *removed, DrError *err);

/*
 * May this data directory write into the repository of config (info: its
 * info file, or NULL to read it here)?  False with DR_ERR_PERMISSION and a
 * message naming what (such as "archiving") when the marker names that
 * repository; false with the marker's own error when it cannot be read.
 * True when there is no marker, when it names another repository, and
 * when the repository's info file cannot be read (the write then fails on
 * its own).
 */
extern bool repoOriginGuard(const char *dataDir, const ConfigRepo *config,
							const RepoInfo *info, const char *what,
							DrError *err);

#endif							/* DR_REPO_ORIGIN_H */
