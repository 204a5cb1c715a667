/*-------------------------------------------------------------------------
 * catchup.h
 *	  The catch-up duty of the pg_dr worker: with several repositories,
 *	  copy to each one the archived WAL and the backups the others hold
 *	  and it misses (catchup.c; its decisions are catchup_decide.h).
 *-------------------------------------------------------------------------
 */
#ifndef DR_CATCHUP_H
#define DR_CATCHUP_H

/* Register the duty (from _PG_init). */
extern void catchupDutiesRegister(void);

/*
 * A backup ended (the worker's audit drain saw it): the next round runs
 * at once, copying it to the other repositories.
 */
extern void catchupBackupEnded(void);

#endif							/* DR_CATCHUP_H */
