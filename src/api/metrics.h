/*-------------------------------------------------------------------------
 * metrics.h
 *	  pg_dr's metrics in the Prometheus text exposition format (0.0.4):
 *	  the text itself (metrics.c, behind dr_metrics()) and the optional HTTP
 *	  endpoint that serves it (metrics_http.c, pg_dr.metrics_listen).
 *-------------------------------------------------------------------------
 */
#ifndef DR_API_METRICS_H
#define DR_API_METRICS_H

#include "lib/stringinfo.h"

/*
 * Append the exposition to out.  Runs inside a transaction with a
 * snapshot, in the database of the extension; reads the catalog as the
 * extension owner (api.h); ERROR when it cannot read it.
 */
extern void metricsExpositionBuild(StringInfo out);

/* pg_dr.metrics_listen: empty (off) or "address:port" (metrics_listen.h) */
extern char *drMetricsListen;

/* From _PG_init: the setting, the shared state, the duty that starts the
 * endpoint's worker. */
extern void metricsHttpSettingsDefine(void);
extern Size metricsHttpShmemSize(void);
extern void metricsHttpShmemInit(void);
extern void metricsHttpDutiesRegister(void);

/* Entry point of the endpoint's worker, named in its registration. */
extern PGDLLEXPORT void pg_dr_metrics_main(Datum arg);

#endif							/* DR_API_METRICS_H */
