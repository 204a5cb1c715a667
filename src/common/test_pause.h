/*-------------------------------------------------------------------------
 * test_pause.h
 *	  Pause points for TAP tests (test only): they make a race between two
 *	  processes deterministic.
 *
 * When the environment variable PG_DR_TEST_PAUSE_DIR names a directory and
 * the file <dir>/<point>.arm exists as the process reaches the point, the
 * process removes that file, creates <dir>/<point>.paused and waits until
 * the test removes it (at most TEST_PAUSE_MAX_S seconds).  Without the
 * variable a pause point costs one getenv().  Never set it in production.
 *
 * Points: "rotate-switch" (repo_keys.c: a key rotation, holding its lock,
 * between re-wrapping the keys and switching the info file),
 * "backup-key-new" (backup/backup.c: a backup, its repository open, before
 * it creates its data key), "catchup-bundle-ended" (ops/catchup.c: a
 * backup's copy, holding the target's lock, right after a bundle object of
 * the copy ended).
 *-------------------------------------------------------------------------
 */
#ifndef DR_TEST_PAUSE_H
#define DR_TEST_PAUSE_H

#define TEST_PAUSE_ENV			"PG_DR_TEST_PAUSE_DIR"
#define TEST_PAUSE_MAX_S		120

extern void drTestPause(const char *point);

#endif							/* DR_TEST_PAUSE_H */
