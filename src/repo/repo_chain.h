/*-------------------------------------------------------------------------
 * repo_chain.h
 *	  The manifests of a backup chain (a backup and its ancestors) merged by
 *	  path, as streams: what restore and verify walk, file by file.
 *-------------------------------------------------------------------------
 */
#ifndef DR_REPO_CHAIN_H
#define DR_REPO_CHAIN_H

#include "common/manifest.h"
#include "repo/repo.h"

/*
 * The manifests of ids[0..count) (a backup and its ancestors, newest
 * first) merged by path.  Next returns 1 with levels[i] the file entry of
 * ids[i] for the path of the next file of ids[0] (NULL where ids[i] has no
 * such file; levels[0] is never NULL), 0 once the manifest of ids[0] was
 * read to its verified end, -1 on error.  Entries stay valid until the
 * next call.
 */
typedef struct RepoChainIter RepoChainIter;

extern RepoChainIter *repoChainIterOpen(Repo *repo, char *const *ids,
											  int count, DrError *err);
extern int	repoChainIterNext(RepoChainIter *iter,
								 const ManifestFile *const **levels,
								 DrError *err);
extern void repoChainIterClose(RepoChainIter *iter);

/*
 * The level a file's content starts from: the first (newest) level that
 * stores it whole, after checking that every level before it has a parent
 * entry for the path and keeps its size (store=parent).  DR_ERR_CORRUPT
 * naming the file and the backups otherwise.
 */
extern bool repoChainSource(char *const *ids, int count,
							   const ManifestFile *const *levels, int *source,
							   DrError *err);

#endif							/* DR_REPO_CHAIN_H */
