/*-------------------------------------------------------------------------
 * repo_chain_page.h
 *	  The pages of one file as a backup chain in the repository has it:
 *	  the objects of the levels that store the file, opened as a
 *	  DeltaChain (common/delta_chain.h).
 *
 * What an incremental XORs its changed pages with: the page as restoring
 * its parent would write it, whether the parent stores the file whole, as
 * a delta on a delta, or not at all (store=parent).
 *-------------------------------------------------------------------------
 */
#ifndef DR_REPO_CHAIN_PAGE_H
#define DR_REPO_CHAIN_PAGE_H

#include "common/manifest.h"
#include "repo/repo.h"

/* A backup that stores the file (whole or as a delta), and its size there. */
typedef struct RepoChainPageLevel
{
	char		backupId[MANIFEST_ID_MAX + 1];
	uint32		store;			/* MANIFEST_STORE_DELTA or _FULL */
	uint64		size;
	uint32		parts;			/* a whole copy in parts: their number (the
								 * manifest's parts=); 0: one object */
	uint64		objectSize;		/* where its one object is (parts == 0): */
	bool		bundled;		/* an entry of bundle/<bundle> at */
	uint32		bundle;			/* bundleOffset, objectSize bytes long; */
	uint64		bundleOffset;	/* else data/<path> */
	bool		bound;			/* its objects are bound to their names
								 * (ManifestFile.bound) */
} RepoChainPageLevel;

/*
 * The levels of a file of a chain: from the entries of ids[0..count)
 * (repoChainIterNext), those that store something, newest first, down to
 * the newest whole copy (repoChainSource).  out has room for count
 * levels; *outCount is at least 1.  DR_ERR_CORRUPT as repoChainSource.
 */
extern bool repoChainPageLevels(char *const *ids, int count,
								const ManifestFile *const *levels,
								RepoChainPageLevel *out, int *outCount,
								DrError *err);

typedef struct RepoChainPage RepoChainPage;

/*
 * Open the objects of file path at every level (newest first, the last
 * whole, as repoChainPageLevels gives them) and their deltas' headers.
 * The objects are read forward and never to their end, so without their
 * content hash (each chunk of an encrypted object is still authenticated
 * as it is read); restore and verify read them whole.  Errors name the
 * object: DR_ERR_NOT_FOUND when one is gone, DR_ERR_CORRUPT when a delta
 * does not fit its level.
 */
extern RepoChainPage *repoChainPageOpen(Repo *repo, const char *path,
										uint32 blockSize,
										const RepoChainPageLevel *levels,
										int count, DrError *err);

/* Pages of the file at the newest level (deltaChainBlocks). */
extern uint32 repoChainPageBlocks(const RepoChainPage *chain);

/* Page blockno, in ascending order (deltaChainPage). */
extern const char *repoChainPageGet(RepoChainPage *chain, uint32 blockno,
									DrError *err);

extern void repoChainPageClose(RepoChainPage *chain);

#endif							/* DR_REPO_CHAIN_PAGE_H */
