/*-------------------------------------------------------------------------
 * metrics.c (api)
 *	  dr_metrics(): the state of pg_dr in the Prometheus text exposition
 *	  format (version 0.0.4), for a scraper or postgres_exporter.
 *
 * Every family has its HELP and TYPE lines, then its samples; label values
 * are escaped as the format says (backslash, double quote, newline).  No
 * secret is in any metric: configuration values are not exported, only
 * whether the configuration and the repositories are sound.  What it reads
 * (the status, the catalog of backups) is read as the extension owner with
 * the pinned search_path (api/as_owner.c); archiving comes from shared
 * memory.  It only reads, so it answers on a hot standby too (the
 * endpoint serves there): pg_dr_in_recovery says so, the RPO actual is
 * absent (a standby writes no WAL of its own), and the catalog figures
 * are the primary's as replicated.  Times are Unix seconds, sizes bytes,
 * durations seconds.  The
 * text is built by metricsExpositionBuild(), which the SQL function and
 * the HTTP endpoint (metrics_http.c) both call.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "api/api.h"
#include "api/metrics.h"
#include "archive/archive.h"
#include "common/config.h"
#include "ops/objectives.h"
#include "pg_dr.h"

PG_FUNCTION_INFO_V1(dr_metrics);

/* A label value, escaped (exposition format 0.0.4). */
static void
metricsLabel(StringInfo out, const char *value)
{
	for (const char *p = value; *p; p++)
	{
		if (*p == '\\' || *p == '"')
		{
			appendStringInfoChar(out, '\\');
			appendStringInfoChar(out, *p);
		}
		else if (*p == '\n')
			appendStringInfoString(out, "\\n");
		else
			appendStringInfoChar(out, *p);
	}
}

static void
metricsFamily(StringInfo out, const char *name, const char *type,
			  const char *help)
{
	appendStringInfo(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{label="value"} number, or name number when label is NULL */
static void
metricsSample(StringInfo out, const char *name, const char *label,
			  const char *labelValue, double value)
{
	appendStringInfoString(out, name);
	if (label != NULL)
	{
		appendStringInfo(out, "{%s=\"", label);
		metricsLabel(out, labelValue);
		appendStringInfoString(out, "\"}");
	}
	appendStringInfo(out, " %.17g\n", value);
}

static double
metricsTime(TimestampTz t)
{
	return (double) timestamptz_to_time_t(t) +
		(double) (t % USECS_PER_SEC) / USECS_PER_SEC;
}

/* A column of the current SPI row as a double (0 when NULL). */
static double
metricsDouble(int row, int col, bool *isnull)
{
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc,
								  col, isnull);

	return *isnull ? 0 : DatumGetFloat8(d);
}

static char *
metricsText(int row, int col)
{
	char	   *v = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);

	return v ? v : "";
}

/* The status row: objectives of the tier and the health signals. */
static void
metricsStatus(StringInfo out)
{
	bool		isnull;
	char	   *tier;

	if (SPI_execute("SELECT tier,"
					" pg_catalog.date_part('epoch', rpo_target)::pg_catalog.float8,"
					" pg_catalog.date_part('epoch', rto_target)::pg_catalog.float8,"
					" config_ok::pg_catalog.int4::pg_catalog.float8,"
					" repository_ok::pg_catalog.int4::pg_catalog.float8,"
					" worker_running::pg_catalog.int4::pg_catalog.float8,"
					" audit_pending::pg_catalog.float8,"
					" repositories::pg_catalog.float8,"
					" (restored_from IS NOT NULL)::pg_catalog.int4::pg_catalog.float8"
					" FROM pgdr._status()", true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read pgdr._status()");
	tier = pstrdup(metricsText(0, 1));

	metricsFamily(out, "pg_dr_objective_rpo_seconds", "gauge",
				  "Recovery point objective of the cluster's tier.");
	metricsSample(out, "pg_dr_objective_rpo_seconds", "tier", tier,
				  metricsDouble(0, 2, &isnull));
	metricsFamily(out, "pg_dr_objective_rto_seconds", "gauge",
				  "Recovery time objective of the cluster's tier.");
	metricsSample(out, "pg_dr_objective_rto_seconds", "tier", tier,
				  metricsDouble(0, 3, &isnull));
	metricsFamily(out, "pg_dr_config_ok", "gauge",
				  "1 when the pg_dr configuration file reads without error.");
	metricsSample(out, "pg_dr_config_ok", NULL, NULL, metricsDouble(0, 4, &isnull));
	metricsFamily(out, "pg_dr_repository_ok", "gauge",
				  "1 when every repository opens and WAL archiving into none of them is failing.");
	metricsSample(out, "pg_dr_repository_ok", NULL, NULL, metricsDouble(0, 5, &isnull));
	metricsFamily(out, "pg_dr_repositories", "gauge",
				  "Repositories configured.");
	metricsSample(out, "pg_dr_repositories", NULL, NULL, metricsDouble(0, 8, &isnull));
	metricsFamily(out, "pg_dr_worker_running", "gauge",
				  "1 when the pg_dr background worker runs.");
	metricsSample(out, "pg_dr_worker_running", NULL, NULL, metricsDouble(0, 6, &isnull));
	metricsFamily(out, "pg_dr_audit_pending", "gauge",
				  "Audit records not yet in the hash chain.");
	metricsSample(out, "pg_dr_audit_pending", NULL, NULL, metricsDouble(0, 7, &isnull));
	metricsFamily(out, "pg_dr_restored_not_primary", "gauge",
				  "1 when this is a restored cluster not yet declared primary of its repository.");
	metricsSample(out, "pg_dr_restored_not_primary", NULL, NULL,
				  metricsDouble(0, 9, &isnull));
	metricsFamily(out, "pg_dr_in_recovery", "gauge",
				  "1 on a hot standby: no RPO actual here (scrape the primary for it); the catalog figures are the primary's as replicated.");
	metricsSample(out, "pg_dr_in_recovery", NULL, NULL, RecoveryInProgress() ? 1 : 0);
}

/*
 * The objectives measured, as dr_status shows them (ops/objectives.h):
 * RPO actual (no sample while it cannot be measured), RTO estimate (none
 * without a valid backup), the verdict as a state set, the rates used and
 * whether they were measured.
 */
static void
metricsObjectives(StringInfo out)
{
	ObjectivesMeasure m;
	static const ObjectivesVerdictKind kinds[] = {
		OBJ_VERDICT_OK, OBJ_VERDICT_AT_RISK, OBJ_VERDICT_BREACHED
	};

	memset(&m, 0, sizeof(m));
	objectivesMeasure(&m);

	metricsFamily(out, "pg_dr_rpo_actual_seconds", "gauge",
				  "Age of the oldest WAL not yet in every required repository (0: none waits), or the best healthy standby's flush lag when pg_dr_rpo_from_standby is 1; absent while it cannot be measured.");
	if (m.input.rpoKnown)
		metricsSample(out, "pg_dr_rpo_actual_seconds", NULL, NULL, m.input.rpoActualSec);
	metricsFamily(out, "pg_dr_rpo_from_standby", "gauge",
				  "1 when the RPO actual is a standby's replication lag (dr_status.rpo_source, pg_dr.objectives_rpo_source), 0 when it is the archive's.");
	metricsSample(out, "pg_dr_rpo_from_standby", NULL, NULL,
				  strcmp(m.rpoSource, "standby") == 0 ? 1 : 0);
	metricsFamily(out, "pg_dr_rto_estimate_seconds", "gauge",
				  "Estimated time to restore the newest backup chain and replay the WAL since, at the rates measured on this host; absent without a valid backup.");
	if (m.input.backupExists)
		metricsSample(out, "pg_dr_rto_estimate_seconds", NULL, NULL, m.input.rtoEstimateSec);
	metricsFamily(out, "pg_dr_verdict", "gauge",
				  "1 for the verdict of dr_status (ok, at_risk, breached), 0 for the others.");
	for (int i = 0; i < (int) lengthof(kinds); i++)
		metricsSample(out, "pg_dr_verdict", "verdict", objectivesVerdictName(kinds[i]),
					  m.verdict.kind == kinds[i] ? 1 : 0);
	metricsFamily(out, "pg_dr_wal_since_backup_bytes", "gauge",
				  "WAL written since the start of the newest valid backup (what a restore replays).");
	if (m.input.backupExists)
		metricsSample(out, "pg_dr_wal_since_backup_bytes", NULL, NULL, (double) m.walBytes);
	metricsFamily(out, "pg_dr_rate_bytes_per_second", "gauge",
				  "Restore and replay rates the RTO estimate uses (the model's default until measured).");
	metricsSample(out, "pg_dr_rate_bytes_per_second", "kind", "restore",
				  m.restoreRate > 0 ? m.restoreRate : RTO_DEFAULT_RESTORE_RATE);
	metricsSample(out, "pg_dr_rate_bytes_per_second", "kind", "replay",
				  m.replayRate > 0 ? m.replayRate : RTO_DEFAULT_REPLAY_RATE);
	metricsFamily(out, "pg_dr_rate_measured", "gauge",
				  "1 when the rate was measured on this host, 0 when the default is used.");
	metricsSample(out, "pg_dr_rate_measured", "kind", "restore", m.restoreRate > 0 ? 1 : 0);
	metricsSample(out, "pg_dr_rate_measured", "kind", "replay", m.replayRate > 0 ? 1 : 0);
}

/* The catalog of backups: counts, and the newest valid one of each kind. */
static void
metricsBackups(StringInfo out)
{
	static const char *const kinds[] = {"full", "incremental"};
	static const char *const families[][3] = {
		{"pg_dr_backup_last_success_timestamp_seconds", "gauge",
		"End of the newest valid backup of the kind."},
		{"pg_dr_backup_last_duration_seconds", "gauge",
		"How long the newest valid backup of the kind took."},
		{"pg_dr_backup_last_data_bytes", "gauge",
		"Bytes of the files of the newest valid backup of the kind."},
		{"pg_dr_backup_last_stored_bytes", "gauge",
		"Bytes the newest valid backup of the kind stores in the repository."},
	};
	double		values[2][4];
	bool		have[2] = {false, false};
	bool		isnull;

	if (SPI_execute("SELECT kind, status, pg_catalog.count(*)::pg_catalog.float8"
					" FROM pgdr.backups GROUP BY kind, status ORDER BY kind, status",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read pgdr.backups");
	metricsFamily(out, "pg_dr_backups", "gauge",
				  "Backups in the catalog (dr_backups), by kind and status.");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		appendStringInfoString(out, "pg_dr_backups{kind=\"");
		metricsLabel(out, metricsText(r, 1));
		appendStringInfoString(out, "\",status=\"");
		metricsLabel(out, metricsText(r, 2));
		appendStringInfo(out, "\"} %.17g\n", metricsDouble(r, 3, &isnull));
	}

	for (int k = 0; k < 2; k++)
	{
		Oid			argtypes[1] = {TEXTOID};
		Datum		args[1] = {CStringGetTextDatum(kinds[k])};

		if (SPI_execute_with_args("SELECT pg_catalog.date_part('epoch', finished_at)::pg_catalog.float8,"
								  " pg_catalog.date_part('epoch', finished_at OPERATOR(pg_catalog.-) started_at)::pg_catalog.float8,"
								  " data_bytes::pg_catalog.float8, stored_bytes::pg_catalog.float8"
								  " FROM pgdr.backups"
								  " WHERE kind OPERATOR(pg_catalog.=) $1"
								  " AND status OPERATOR(pg_catalog.=) 'valid'"
								  " ORDER BY finished_at DESC LIMIT 1",
								  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read pgdr.backups");
		if (SPI_processed == 1)
		{
			have[k] = true;
			for (int c = 0; c < 4; c++)
				values[k][c] = metricsDouble(0, c + 1, &isnull);
		}
	}
	for (int f = 0; f < 4; f++)
	{
		metricsFamily(out, families[f][0], families[f][1], families[f][2]);
		for (int k = 0; k < 2; k++)
			if (have[k])
				metricsSample(out, families[f][0], "kind", kinds[k], values[k][f]);
	}
}

/* WAL archiving: per repository from shared memory, what waits from pg_wal. */
static void
metricsArchive(StringInfo out)
{
	ArchiveRepoStatus rows[CONFIG_REPO_MAX + 1];
	int			count = archiveStatusRead(rows, lengthof(rows));
	ArchiveReadySummary ready;
	char		repo[16];

	metricsFamily(out, "pg_dr_archive_last_success_timestamp_seconds", "gauge",
				  "When a WAL file was last archived into the repository (since the server started).");
	for (int i = 0; i < count; i++)
		if (rows[i].repoNumber > 0 && rows[i].lastArchivedAt != 0)
		{
			snprintf(repo, sizeof(repo), "%d", rows[i].repoNumber);
			metricsSample(out, "pg_dr_archive_last_success_timestamp_seconds",
						  "repo", repo, metricsTime(rows[i].lastArchivedAt));
		}
	metricsFamily(out, "pg_dr_archive_failures_total", "counter",
				  "WAL archiving failures into the repository since the server started.");
	for (int i = 0; i < count; i++)
		if (rows[i].repoNumber > 0)
		{
			snprintf(repo, sizeof(repo), "%d", rows[i].repoNumber);
			metricsSample(out, "pg_dr_archive_failures_total", "repo", repo,
						  (double) rows[i].failedCount);
		}
	metricsFamily(out, "pg_dr_archive_last_failure_timestamp_seconds", "gauge",
				  "When WAL archiving into the repository last failed (since the server started).");
	for (int i = 0; i < count; i++)
		if (rows[i].repoNumber > 0 && rows[i].lastErrorAt != 0)
		{
			snprintf(repo, sizeof(repo), "%d", rows[i].repoNumber);
			metricsSample(out, "pg_dr_archive_last_failure_timestamp_seconds",
						  "repo", repo, metricsTime(rows[i].lastErrorAt));
		}

	archiveReadySummary(&ready);
	metricsFamily(out, "pg_dr_archive_pending_segments", "gauge",
				  "WAL files waiting to be archived (.ready in pg_wal/archive_status).");
	metricsSample(out, "pg_dr_archive_pending_segments", NULL, NULL, (double) ready.count);
	metricsFamily(out, "pg_dr_archive_pending_bytes", "gauge",
				  "Bytes of the WAL files waiting to be archived.");
	metricsSample(out, "pg_dr_archive_pending_bytes", NULL, NULL, (double) ready.bytes);
	metricsFamily(out, "pg_dr_archive_oldest_pending_timestamp_seconds", "gauge",
				  "When the oldest WAL file waiting to be archived was ready (absent when none waits).");
	if (ready.count > 0 && ready.oldest != 0)
		metricsSample(out, "pg_dr_archive_oldest_pending_timestamp_seconds", NULL, NULL,
					  metricsTime(ready.oldest));
}

/* Alerts open in dr_alerts (ops/alert.c), by source and severity. */
static void
metricsAlerts(StringInfo out)
{
	bool		isnull;

	if (SPI_execute("SELECT source, severity, pg_catalog.count(*)::pg_catalog.float8"
					" FROM pgdr.alerts WHERE resolved_at IS NULL"
					" GROUP BY source, severity ORDER BY source, severity",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read pgdr.alerts");
	metricsFamily(out, "pg_dr_alerts_open", "gauge",
				  "Alerts raised and not resolved (dr_alerts), by source and severity.");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		appendStringInfoString(out, "pg_dr_alerts_open{source=\"");
		metricsLabel(out, metricsText(r, 1));
		appendStringInfoString(out, "\",severity=\"");
		metricsLabel(out, metricsText(r, 2));
		appendStringInfo(out, "\"} %.17g\n", metricsDouble(r, 3, &isnull));
	}
}

/*
 * Backup jobs (dr_jobs: scheduled, and manual calls pg_cron's included):
 * how many finished, by trigger, kind and result (a counter: the rows of
 * pgdr.jobs and those pruned from it, pgdr.jobs_pruned), and how many run
 * now.
 */
static void
metricsJobs(StringInfo out)
{
	bool		isnull;
	double		running = 0;

	if (SPI_execute("SELECT t.trigger, t.kind, t.result, pg_catalog.sum(t.n)::pg_catalog.float8"
					" FROM (SELECT j.trigger, j.kind, j.result, pg_catalog.count(*) AS n"
					" FROM pgdr.jobs j GROUP BY j.trigger, j.kind, j.result"
					" UNION ALL SELECT p.trigger, p.kind, p.result, p.jobs FROM pgdr.jobs_pruned p) t"
					" GROUP BY t.trigger, t.kind, t.result"
					" ORDER BY t.trigger, t.kind, t.result", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read pgdr.jobs");
	metricsFamily(out, "pg_dr_jobs_total", "counter",
				  "Backup jobs finished (dr_jobs), by trigger (scheduled, manual), kind and result (ok, failed, cancelled).");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		if (strcmp(metricsText(r, 3), "running") == 0)
		{
			running += metricsDouble(r, 4, &isnull);
			continue;
		}
		appendStringInfoString(out, "pg_dr_jobs_total{trigger=\"");
		metricsLabel(out, metricsText(r, 1));
		appendStringInfoString(out, "\",kind=\"");
		metricsLabel(out, metricsText(r, 2));
		appendStringInfoString(out, "\",result=\"");
		metricsLabel(out, metricsText(r, 3));
		appendStringInfo(out, "\"} %.17g\n", metricsDouble(r, 4, &isnull));
	}
	metricsFamily(out, "pg_dr_jobs_running", "gauge",
				  "Backup jobs running now (dr_jobs).");
	metricsSample(out, "pg_dr_jobs_running", NULL, NULL, running);
}

void
metricsExpositionBuild(StringInfo out)
{
	ApiOwnerContext owner;

	metricsFamily(out, "pg_dr_info", "gauge", "pg_dr is installed; its version.");
	metricsSample(out, "pg_dr_info", "version", PG_DR_VERSION, 1);

	apiAsOwnerBegin(&owner);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	metricsStatus(out);
	metricsBackups(out);
	metricsAlerts(out);
	metricsJobs(out);
	SPI_finish();
	metricsObjectives(out);
	apiAsOwnerEnd(&owner);

	metricsArchive(out);
}

Datum
dr_metrics(PG_FUNCTION_ARGS)
{
	StringInfoData out;

	initStringInfo(&out);
	metricsExpositionBuild(&out);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(out.data, out.len));
}
