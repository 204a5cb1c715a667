/*-------------------------------------------------------------------------
 * backup_chain.h
 *	  For an incremental: where each relation file's pages are in the
 *	  parent's chain, handed from the leader to the backup workers.
 *
 * A worker XORs each changed page with the page as restoring the parent
 * would write it (repo_chain_page.h).  When the parent stores the file
 * whole, the list entry says all a worker needs (the parent's id and
 * size).  Otherwise (the parent stores it as a delta, or not at all) the
 * levels below come from the manifests of the whole chain, which the
 * leader merges with the file list once, before the workers start, into
 * two temporary files next to the list (removed with it, and by the
 * server at startup after a crash):
 *	 <list>.chain		 the chain's backup ids (newest first), then one
 *						 record per file that needs one: its levels
 *	 <list>.chain.index	 a uint64 offset into <list>.chain per list entry,
 *						 0 for none
 * Workers claim files out of order (the largest first), so they look
 * records up by list index instead of merging manifests themselves.
 *-------------------------------------------------------------------------
 */
#ifndef DR_BACKUP_CHAIN_H
#define DR_BACKUP_CHAIN_H

#include "backup/backup_internal.h"
#include "repo/repo_chain_page.h"

/*
 * Leader, after the list is written and shared is filled in: write the
 * chain files when the parent is an incremental (setting
 * shared->chainPath), or nothing (chainPath "") when it is a full backup.
 * ERROR when a manifest of the chain cannot be read or does not hold
 * together (a file with no whole copy below it).
 */
extern void backupChainWrite(struct Repo *repo, BackupShared *shared);

/* Remove the chain files of the list at listPath, if any. */
extern void backupChainRemove(const char *listPath);

/*
 * Worker: the levels of list entry index (a relation file the parent has),
 * newest first, palloc'd; returns their count.  ERROR when the chain files
 * cannot be read.
 */
extern int	backupChainLevels(const BackupShared *shared,
							  const BackupListEntry *entry, uint64 index,
							  RepoChainPageLevel **levels);

#endif							/* DR_BACKUP_CHAIN_H */
