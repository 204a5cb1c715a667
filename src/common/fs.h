/*-------------------------------------------------------------------------
 * fs.h
 *	  Local directories: mkdir -p and directory fsync, shared by the posix
 *	  storage driver and restore.
 *
 * PostgreSQL's pg_mkdir_p (port) creates the parents but neither fsyncs
 * what it created nor reports through a DrError, and it cannot replace a
 * file in the way (a delta restore must); so the tree has this one.
 *-------------------------------------------------------------------------
 */
#ifndef DR_FS_H
#define DR_FS_H

#include <sys/types.h>

#include "common/error.h"

/* fsMakeDirs flags */
#define FS_MKDIR_SYNC		0x01	/* fsync the parent of each directory made */
#define FS_MKDIR_REPLACE	0x02	/* remove a non-directory in the way */

/*
 * mkdir -p: create path and its missing parents with mode.  A directory
 * already there (or a link to one) is fine.  A non-directory in the way is
 * removed with FS_MKDIR_REPLACE and an error naming it otherwise.  With
 * FS_MKDIR_SYNC every new entry is made durable in its parent.  A
 * "Permission denied" names what denied it (ownerAccessDetail).
 */
extern bool fsMakeDirs(const char *path, mode_t mode, int flags, DrError *err);

/*
 * fsync a directory, so that entries created or removed in it are durable
 * (file systems that cannot fsync a directory are ignored, as PostgreSQL
 * does).
 */
extern bool fsSyncDir(const char *dir, DrError *err);

/* fsync the directory holding path ("." for a relative name). */
extern bool fsSyncParent(const char *path, DrError *err);

#endif							/* DR_FS_H */
