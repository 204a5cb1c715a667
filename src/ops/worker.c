/*-------------------------------------------------------------------------
 * worker.c
 *	  The pg_dr background worker.
 *
 * One worker per cluster, started once the data is consistent (on a hot
 * standby too, where only the duties registered with
 * dutyRegisterInRecovery run: they do not write; the others wait until
 * recovery has finished), connected to pg_dr.database and restarted by the
 * postmaster 5 s after it dies.  Its loop: reload settings on SIGHUP, run the duties the parts
 * registered that are due (duty.h: the audit drain and head publication,
 * the PITR restore points and RPO WAL switches, ...), sleep until the
 * next one is due or a backend sets its latch.  The worker knows no duty
 * by name: a part adds one without editing this file.  The stock handlers
 * are used for SIGTERM (die) and SIGHUP.
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
#include "ops/duty.h"
#include "ops/worker.h"
#include "pg_dr.h"

void
workerRegister(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS |
		BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
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

	/*
	 * The worker's own commits (audit rows, alerts, the replication
	 * history) never wait for a synchronous standby: when none answers, it
	 * is the worker that raises the alert saying so, and the lag watcher
	 * that changes synchronous_standby_names (ha/ha_watch.h).  What a
	 * client commits waits as configured.
	 */
	SetConfigOption("synchronous_commit", "local", PGC_SUSET, PGC_S_OVERRIDE);

	auditWriterAttach();
	ereport(LOG,
			(errmsg("pg_dr worker started in database \"%s\"", drDatabase)));

	for (;;)
	{
		int64		sleepMs;

		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		sleepMs = dutyRunRound();

		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 (long) sleepMs, PG_WAIT_EXTENSION);
	}
}
