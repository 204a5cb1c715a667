/*-------------------------------------------------------------------------
 * repo_probe.h
 *	  The repository's probe: proof that a repository can be written, read
 *	  and cleaned up, in a place it reserves for that (`pg_dr check`).
 *
 * Probes live under REPO_PROBE_DIR ("check/"), which nothing else in the
 * repository uses, so a probe can never be taken for a backup, a WAL file
 * or a key, and nothing that walks the repository (info, verify, expire,
 * the PITR scan) looks there.  Each probe has a name of its own (the pid
 * and random bytes), so several checks on several hosts may run at once.
 *
 * The probe goes through the storage driver, not the codec: an encrypted
 * repository stores only objects encrypted with a data key of its
 * keyring, and a data key made for a probe would stay in the keyring for
 * good.  Opening the repository already proved the passphrase (repo.h);
 * the WAL `pg_dr check` reads back proves the codec.
 *-------------------------------------------------------------------------
 */
#ifndef DR_REPO_PROBE_H
#define DR_REPO_PROBE_H

#include "repo/repo.h"

#define REPO_PROBE_DIR			"check"
#define REPO_PROBE_SIZE			4096	/* bytes of random content */

/*
 * Write a probe object of random content durably (as any object is
 * written: storage.h), read it back and compare, then remove it, and
 * REPO_PROBE_DIR when that left it empty.  Nothing is left behind when a
 * step fails either: the object is removed whenever it was written (a
 * failed write leaves nothing visible).  The error names the step and the
 * object; if even the removal failed, it says so and names what is left.
 */
extern bool repoProbe(Repo *repo, DrError *err);

#endif							/* DR_REPO_PROBE_H */
