/*-------------------------------------------------------------------------
 * ha_switchover.h
 *	  dr_switchover(target [, timeout]): a planned switchover with no data
 *	  lost, for PostgreSQL 15, which cannot demote a running primary
 *	  (docs/ha.md, "Switchover").  Server only.
 *
 * The old primary's side (haSwitchoverRun, in the caller's backend):
 * checks, a checkpoint (so that the shutdown checkpoint is short), holds
 * the writes of client sessions, waits until the target
 * has replayed all it has, gives the next term to the target in the
 * voters (its own consent: it is the primary that asks), then starts
 * `pg_dr switchover` detached from the server (its own session, no
 * inherited descriptor but a pipe) and returns.  When the caller's
 * transaction commits, the pipe says so and that process stops this
 * server (fast shutdown: the walsenders send everything, the shutdown
 * checkpoint included), checks the target replayed that checkpoint,
 * promotes it (pgdr.ha_switchover_promote there), records it, rejoins
 * this node as its standby (pg_dr rejoin) and starts it
 * (ha_start_command).  An abort of the caller's transaction abandons the
 * switchover: the writes go on.
 *-------------------------------------------------------------------------
 */
#ifndef DR_HA_SWITCHOVER_H
#define DR_HA_SWITCHOVER_H

#include "access/xlogdefs.h"
#include "datatype/timestamp.h"

/*
 * dr_switchover on the primary, run as the extension's owner (it reads
 * the registry's conninfos).  Refuses with 25001 inside a transaction
 * block, 55000 when no HA worker runs, on a standby, on a fenced node,
 * while another switchover runs, when the target did not catch up within
 * timeoutMs (counted from the hold of the writes) or the voters did not give it the
 * term; 0A000 with etcd; 22023 for this node or a node not registered
 * (the message lists the registered standbys); 08006 when the target does
 * not answer.  Returns what was handed off.
 */
extern char *haSwitchoverRun(const char *target, int64 timeoutMs);

/*
 * The target's side (pgdr.ha_switchover_promote, called by `pg_dr
 * switchover`): promote this standby in term, once it has replayed past
 * stopLsn (the old primary's shutdown checkpoint) and holds its own vote
 * for term.  ERROR 55000 otherwise.  Returns what it did.
 */
extern char *haSwitchoverPromote(const char *oldPrimary, uint64 term,
								 XLogRecPtr stopLsn);

/*
 * The switchover in dr_failover_history (durationMs: from the hold of
 * the writes to the end of the promotion) (pgdr.ha_events, action
 * "switchover"), on the new primary, as the extension's owner.
 */
extern void haSwitchoverRecord(uint64 term, int64 durationMs,
							   const char *reason);

#endif							/* DR_HA_SWITCHOVER_H */
