/*-------------------------------------------------------------------------
 * ha_peer.h
 *	  The HA worker's connections to its peers: one libpq connection per
 *	  registered node, kept open between rounds, every step non-blocking
 *	  against one deadline for all peers at once (a peer that does not
 *	  answer, or is frozen, costs at most the deadline, never more, and
 *	  does not delay the answers of the others).  Server only.
 *
 * A connection asks the peer for statement_timeout (the deadline) and
 * the pinned search_path; the SQL run is schema-qualified anyway.  A
 * peer that misses the deadline is disconnected: the next round connects
 * anew.  Host names are resolved by libpq while starting the connection
 * (getaddrinfo blocks): register nodes by address to keep the deadline
 * exact.
 *-------------------------------------------------------------------------
 */
#ifndef DR_HA_PEER_H
#define DR_HA_PEER_H

#include "libpq-fe.h"

#define HA_PEER_PREPARED 8

typedef struct HaPeer
{
	char		name[64];
	char	   *conninfo;		/* in TopMemoryContext; NULL: unused slot */
	PGconn	   *conn;
	/* the last query's outcome */
	bool		ok;
	PGresult   *result;			/* when ok: the tuples (the caller clears
								 * it with haPeersClear) */
	char		error[256];
	/*
	 * The statements prepared on this connection (malloc'd copies of their
	 * SQL; statement i is named "pg_dr_ha_<i>"): a check every round is
	 * then a Bind and an Execute, not a parse and a plan.  Gone with the
	 * connection.
	 */
	char	   *prepared[HA_PEER_PREPARED];
	int			nPrepared;
} HaPeer;

/*
 * Run sql with params (the same for every peer; params[0] may be NULL to
 * mean "each peer's own name", unused) on every peer whose want[i] is
 * true, all at once, until every one answered or timeoutMs passed.
 * Each peer's ok/result/error is set.  appName: the application_name of
 * the connections.
 */
extern void haPeersRun(HaPeer *peers, int n, const bool *want,
					   const char *sql, int nParams, const char *const *params,
					   int timeoutMs, const char *appName);

/* The same with a deadline of its own for each peer (timeoutsMs[i]). */
extern void haPeersRunEach(HaPeer *peers, int n, const bool *want,
						   const int *timeoutsMs, const char *sql, int nParams,
						   const char *const *params, const char *appName);

/* PQclear every result kept. */
extern void haPeersClear(HaPeer *peers, int n);

/* Close a peer's connection (its conninfo changed, or it went away). */
extern void haPeerClose(HaPeer *peer);

#endif							/* DR_HA_PEER_H */
