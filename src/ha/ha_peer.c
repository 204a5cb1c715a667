/*-------------------------------------------------------------------------
 * ha_peer.c
 *	  Queries to every peer at once, non-blocking, against one deadline
 *	  (see ha_peer.h).
 *
 * Each peer goes through: connect (PQconnectStartParams, then
 * PQconnectPoll whenever its socket is ready as libpq asked), send
 * (PQsendQueryParams on a non-blocking connection, PQflush until all is
 * out), receive (PQconsumeInput until PQisBusy is false, PQgetResult to
 * the end).  One poll() waits on every socket for what each needs, never
 * past the deadline.  At the deadline, every peer not done is
 * disconnected: its state (half a connection, half a result) is never
 * reused.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <poll.h>

#include "miscadmin.h"
#include "storage/pmsignal.h"
#include "portability/instr_time.h"

#include "ha/ha_decide.h"
#include "ha/ha_peer.h"

typedef enum
{
	HP_IDLE,					/* not asked */
	HP_CONNECTING,
	HP_SENDING,
	HP_RECEIVING,
	HP_DONE
} HpState;

void
haPeerClose(HaPeer *peer)
{
	if (peer->conn != NULL)
		PQfinish(peer->conn);
	peer->conn = NULL;
	for (int i = 0; i < peer->nPrepared; i++)
		free(peer->prepared[i]);
	peer->nPrepared = 0;
}

void
haPeersClear(HaPeer *peers, int n)
{
	for (int i = 0; i < n; i++)
	{
		if (peers[i].result != NULL)
			PQclear(peers[i].result);
		peers[i].result = NULL;
	}
}

static void
hpFail(HaPeer *peer, HpState *state, const char *what)
{
	char	   *nl;

	peer->ok = false;
	strlcpy(peer->error, what, sizeof(peer->error));
	/* libpq's messages end with a newline; keep one line */
	while ((nl = strchr(peer->error, '\n')) != NULL)
		*nl = (nl[1] == '\0') ? '\0' : ' ';
	haPeerClose(peer);
	*state = HP_DONE;
}

/* The query one round runs on every peer. */
typedef struct HpQuery
{
	const char *sql;
	int			nParams;
	const char *const *params;
} HpQuery;

/*
 * Send the query (the connection is ready): as the statement prepared on
 * this connection, or, the first time, its Parse first (*preparing: the
 * Execute follows once the Parse is answered, hpReceive); with every slot
 * taken, unprepared.
 */
static void
hpSend(HaPeer *peer, HpState *state, const HpQuery *q, bool *preparing)
{
	int			slot = -1;
	char		name[32];
	int			sent;

	for (int i = 0; i < peer->nPrepared; i++)
		if (strcmp(peer->prepared[i], q->sql) == 0)
			slot = i;
	*preparing = false;
	if (PQsetnonblocking(peer->conn, 1) != 0)
	{
		hpFail(peer, state, PQerrorMessage(peer->conn));
		return;
	}
	if (slot >= 0)
	{
		snprintf(name, sizeof(name), "pg_dr_ha_%d", slot);
		sent = PQsendQueryPrepared(peer->conn, name, q->nParams, q->params, NULL, NULL, 0);
	}
	else if (peer->nPrepared < HA_PEER_PREPARED)
	{
		snprintf(name, sizeof(name), "pg_dr_ha_%d", peer->nPrepared);
		sent = PQsendPrepare(peer->conn, name, q->sql, q->nParams, NULL);
		*preparing = true;
	}
	else
		sent = PQsendQueryParams(peer->conn, q->sql, q->nParams, NULL, q->params,
								 NULL, NULL, 0);
	if (!sent)
	{
		hpFail(peer, state, PQerrorMessage(peer->conn));
		return;
	}
	*state = HP_SENDING;
}

/* Flush what is queued; then receive. */
static void
hpFlush(HaPeer *peer, HpState *state)
{
	int			r = PQflush(peer->conn);

	if (r < 0)
		hpFail(peer, state, PQerrorMessage(peer->conn));
	else if (r == 0)
		*state = HP_RECEIVING;
}

/* Read what arrived; collect the result when complete. */
static void
hpReceive(HaPeer *peer, HpState *state, const HpQuery *q, bool *preparing)
{
	if (!PQconsumeInput(peer->conn))
	{
		hpFail(peer, state, PQerrorMessage(peer->conn));
		return;
	}
	while (!PQisBusy(peer->conn))
	{
		PGresult   *res = PQgetResult(peer->conn);

		if (*preparing)
		{
			/* the Parse: its one result, then the end of it */
			if (res == NULL)
			{
				char	   *copy = strdup(q->sql);

				if (copy == NULL)
				{
					hpFail(peer, state, "out of memory");
					return;
				}
				peer->prepared[peer->nPrepared++] = copy;
				hpSend(peer, state, q, preparing);
				if (*state == HP_SENDING)
					hpFlush(peer, state);
				return;
			}
			if (PQresultStatus(res) != PGRES_COMMAND_OK)
			{
				char		msg[256];

				strlcpy(msg, PQresultErrorMessage(res), sizeof(msg));
				PQclear(res);
				hpFail(peer, state, msg);
				return;
			}
			PQclear(res);
			continue;
		}
		if (res == NULL)
		{
			*state = HP_DONE;
			if (peer->result == NULL && peer->ok)
				hpFail(peer, state, "no result");
			return;
		}
		if (PQresultStatus(res) == PGRES_TUPLES_OK && peer->result == NULL)
		{
			peer->result = res;
			peer->ok = true;
		}
		else
		{
			if (PQresultStatus(res) != PGRES_TUPLES_OK)
			{
				peer->ok = false;
				strlcpy(peer->error, PQresultErrorMessage(res), sizeof(peer->error));
				peer->error[strcspn(peer->error, "\n")] = '\0';
				if (peer->result != NULL)
					PQclear(peer->result);
				peer->result = NULL;
			}
			PQclear(res);
		}
	}
}

void
haPeersRun(HaPeer *peers, int n, const bool *want, const char *sql,
		   int nParams, const char *const *params, int timeoutMs,
		   const char *appName)
{
	int			timeouts[HA_NODES_MAX];

	Assert(n <= HA_NODES_MAX);
	for (int i = 0; i < n; i++)
		timeouts[i] = timeoutMs;
	haPeersRunEach(peers, n, want, timeouts, sql, nParams, params, appName);
}

void
haPeersRunEach(HaPeer *peers, int n, const bool *want, const int *timeoutsMs,
			   const char *sql, int nParams, const char *const *params,
			   const char *appName)
{
	HpState		state[HA_NODES_MAX];
	bool		preparing[HA_NODES_MAX] = {0};
	HpQuery		q = {sql, nParams, params};
	PostgresPollingStatusType connPoll[HA_NODES_MAX];
	instr_time	start;
	char		options[128];

	Assert(n <= HA_NODES_MAX);
	INSTR_TIME_SET_CURRENT(start);

	for (int i = 0; i < n; i++)
	{
		HaPeer	   *p = &peers[i];

		state[i] = HP_IDLE;
		p->ok = false;
		p->error[0] = '\0';
		if (p->result != NULL)
			PQclear(p->result);
		p->result = NULL;
		if (!want[i] || p->conninfo == NULL)
			continue;
		if (p->conn != NULL && PQstatus(p->conn) != CONNECTION_OK)
			haPeerClose(p);
		if (p->conn == NULL)
		{
			const char *keys[] = {"dbname", "options", "application_name",
			"connect_timeout", NULL};
			const char *vals[] = {p->conninfo, options, appName, "10", NULL};

			snprintf(options, sizeof(options),
					 "-c statement_timeout=%d -c search_path=pg_catalog,pg_temp",
					 Max(timeoutsMs[i], 1));
			p->conn = PQconnectStartParams(keys, vals, 1);
			if (p->conn == NULL)
			{
				hpFail(p, &state[i], "out of memory");
				continue;
			}
			if (PQstatus(p->conn) == CONNECTION_BAD)
			{
				hpFail(p, &state[i], PQerrorMessage(p->conn));
				continue;
			}
			state[i] = HP_CONNECTING;
			connPoll[i] = PGRES_POLLING_WRITING;
		}
		else
			hpSend(p, &state[i], &q, &preparing[i]);
	}

	for (;;)
	{
		struct pollfd fds[HA_NODES_MAX];
		int			idx[HA_NODES_MAX];
		int			nfds = 0;
		instr_time	now;
		long		elapsed;
		long		wait;
		int			rc;

		INSTR_TIME_SET_CURRENT(now);
		INSTR_TIME_SUBTRACT(now, start);
		elapsed = (long) INSTR_TIME_GET_MILLISEC(now);
		wait = -1;
		for (int i = 0; i < n; i++)
		{
			short		events = 0;

			/* a peer past its own deadline is given up */
			if ((state[i] == HP_CONNECTING || state[i] == HP_SENDING ||
				 state[i] == HP_RECEIVING) && elapsed >= timeoutsMs[i])
			{
				char		msg[128];

				snprintf(msg, sizeof(msg), "no answer within %d ms (%s)", timeoutsMs[i],
						 state[i] == HP_CONNECTING ? "connecting" : "waiting for the result");
				hpFail(&peers[i], &state[i], msg);
				continue;
			}
			if (state[i] == HP_CONNECTING)
				events = connPoll[i] == PGRES_POLLING_READING ? POLLIN : POLLOUT;
			else if (state[i] == HP_SENDING)
				events = POLLOUT | POLLIN;
			else if (state[i] == HP_RECEIVING)
				events = POLLIN;
			if (events == 0)
				continue;
			fds[nfds].fd = PQsocket(peers[i].conn);
			fds[nfds].events = events;
			fds[nfds].revents = 0;
			idx[nfds++] = i;
			if (wait < 0 || timeoutsMs[i] - elapsed < wait)
				wait = timeoutsMs[i] - elapsed;
		}
		if (nfds == 0)
			break;
		rc = poll(fds, nfds, (int) wait);
		CHECK_FOR_INTERRUPTS();

		/*
		 * A node whose postmaster died checks nobody any more: its checks
		 * would count as contact with it on the peers, and delay their
		 * failover by the rest of this round.
		 */
		if (!PostmasterIsAlive())
			ereport(FATAL,
					(errcode(ERRCODE_ADMIN_SHUTDOWN),
					 errmsg("terminating: the postmaster died")));
		if (rc < 0)
		{
			if (errno == EINTR)
				continue;
			elog(ERROR, "poll() failed: %m");
		}
		for (int k = 0; k < nfds; k++)
		{
			int			i = idx[k];
			HaPeer	   *p = &peers[i];

			if (fds[k].revents == 0)
				continue;
			switch (state[i])
			{
				case HP_CONNECTING:
					connPoll[i] = PQconnectPoll(p->conn);
					if (connPoll[i] == PGRES_POLLING_FAILED)
						hpFail(p, &state[i], PQerrorMessage(p->conn));
					else if (connPoll[i] == PGRES_POLLING_OK)
						hpSend(p, &state[i], &q, &preparing[i]);
					break;
				case HP_SENDING:
					hpFlush(p, &state[i]);
					if (state[i] == HP_RECEIVING && (fds[k].revents & POLLIN))
						hpReceive(p, &state[i], &q, &preparing[i]);
					break;
				case HP_RECEIVING:
					hpReceive(p, &state[i], &q, &preparing[i]);
					break;
				default:
					break;
			}
		}
	}
}
