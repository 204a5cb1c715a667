/*
 * failover_client.c
 *	  bench/failover's clock: the client that writes until a node commits.
 *
 *   failover_client HOST USER LIMIT_S PIDS PORT...
 *
 * It sends SIGKILL to every process in PIDS (comma-separated: the
 * primary's postmaster, and its failover daemon where one runs apart),
 * all at once, and starts its clock.  Then every 5 ms it tries each port
 * in turn:
 * a node it has no session with is connected to (connect_timeout 1 s);
 * on a session it runs INSERT INTO bench_failover (a standby refuses it
 * as read-only; its session is kept, and commits once that node is
 * promoted, as an application's pooled session would); a session that
 * fails otherwise is dropped and made again.  Prints "SECONDS PORT" for
 * the first commit, measured from the kill, or "none" after LIMIT_S.
 * One process with its sessions kept, so the figure is the failover's and
 * not a client's start-up (a psql per attempt cost 20 to 60 ms here).
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libpq-fe.h"

#define MAX_PORTS 8

/* a session the server ends says so on stderr: not this clock's business */
static void
quiet(void *arg, const char *message)
{
	(void) arg;
	(void) message;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	PGconn	   *conn[MAX_PORTS] = {0};
	int			nports = argc - 5;
	double		t0;
	double		limit;
	struct timespec pause = {0, 5 * 1000 * 1000};
	char	   *pids;

	if (argc < 6 || nports > MAX_PORTS)
	{
		fprintf(stderr, "usage: failover_client HOST USER LIMIT_S PIDS PORT... (at most %d ports)\n",
				MAX_PORTS);
		return 2;
	}
	limit = atof(argv[3]);
	pids = strdup(argv[4]);
	for (char *p = strtok(pids, ","); p != NULL; p = strtok(NULL, ","))
		if (atoi(p) > 1)
			(void) kill(atoi(p), SIGKILL);
	t0 = now();
	while (now() - t0 < limit)
	{
		for (int i = 0; i < nports; i++)
		{
			PGresult   *res;
			bool		ok;

			if (conn[i] == NULL)
			{
				const char *keys[] = {"host", "port", "user", "dbname", "connect_timeout", NULL};
				const char *vals[] = {argv[1], argv[5 + i], argv[2], "postgres", "1", NULL};

				conn[i] = PQconnectdbParams(keys, vals, 0);
				if (PQstatus(conn[i]) != CONNECTION_OK)
				{
					PQfinish(conn[i]);
					conn[i] = NULL;
					continue;
				}
				PQsetNoticeProcessor(conn[i], quiet, NULL);
			}
			res = PQexec(conn[i], "INSERT INTO bench_failover (at) VALUES (clock_timestamp())");
			ok = PQresultStatus(res) == PGRES_COMMAND_OK;
			PQclear(res);
			if (ok)
			{
				printf("%.6f %s\n", now() - t0, argv[5 + i]);
				for (int k = 0; k < nports; k++)
					if (conn[k])
						PQfinish(conn[k]);
				return 0;
			}
			if (PQstatus(conn[i]) != CONNECTION_OK)
			{
				PQfinish(conn[i]);
				conn[i] = NULL;
			}
		}
		nanosleep(&pause, NULL);
	}
	printf("none\n");
	return 0;
}
