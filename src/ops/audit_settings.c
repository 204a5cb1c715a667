/*-------------------------------------------------------------------------
 * audit_settings.c
 *	  The audit trail's settings (GUCs), defined by auditSettingsDefine()
 *	  from _PG_init (audit.h).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "ops/audit.h"

int			drAuditRetention = 7 * 365 * 24 * 60;	/* 7 years, in minutes */
int			drAuditTimeout = 30;

void
auditSettingsDefine(void)
{
	DefineCustomIntVariable("pg_dr.audit_retention",
							"Audit rows younger than this are never removed.",
							"dr_audit_expire() removes only older rows.",
							&drAuditRetention,
							7 * 365 * 24 * 60,
							24 * 60,	/* at least a day */
							INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_MIN,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_dr.audit_timeout",
							"How long an operation waits for its audit row to be written.",
							NULL,
							&drAuditTimeout,
							30,
							1,
							3600,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);
}
