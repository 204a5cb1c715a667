/*-------------------------------------------------------------------------
 * worker.c
 *	  The pg_dr background worker.
 *
 * One worker per cluster, started once recovery has finished (it writes),
 * connected to pg_dr.database and restarted by the postmaster 5 s after it
 * dies.  Its loop: reload settings on SIGHUP, drain the audit queue,
 * publish the audit chain's head (audit_head.c), make
 * the scheduled restore points and RPO WAL switches (pitr.c), sleep
 * until a backend sets its latch or the round timer fires.  The stock
 * handlers are used for SIGTERM (die) and SIGHUP.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/wait_event.h"

#include "ops/audit.h"
#include "ops/worker.h"
#include "pg_dr.h"
#include "pitr/pitr.h"

/* a round at least this often, even with no latch set (milliseconds) */
#define WORKER_ROUND_MS			10000

void
workerRegister(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS |
		BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "pg_dr");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "pg_dr_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "pg_dr worker");
	snprintf(worker.bgw_type, BGW_MAXLEN, "pg_dr worker");
	RegisterBackgroundWorker(&worker);
}

void
pg_dr_worker_main(Datum arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnection(drDatabase, NULL, 0);
	pgstat_report_appname("pg_dr worker");

	/*
	 * The worker runs as the bootstrap superuser.  Without this, its SQL
	 * would see the database's default search_path ("$user", public), and
	 * on a cluster where public is writable by everyone (the default before
	 * PostgreSQL 15, kept by upgrades) anyone could plant a better-matching
	 * function there, e.g. public.nextval(text).  PGC_S_OVERRIDE: neither
	 * ALTER DATABASE/ROLE SET nor a configuration reload changes it.
	 */
	SetConfigOption("search_path", DR_SAFE_SEARCH_PATH,
					PGC_SUSET, PGC_S_OVERRIDE);

	auditWriterAttach();
	ereport(LOG,
			(errmsg("pg_dr worker started in database \"%s\"", drDatabase)));

	for (;;)
	{
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		auditWriterDrain();
		auditHeadPublishRound();
		pitrRound();

		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 auditPendingCount() > 0 ? 1000 : WORKER_ROUND_MS,
						 PG_WAIT_EXTENSION);
	}
}
