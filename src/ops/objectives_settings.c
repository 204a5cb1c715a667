/*-------------------------------------------------------------------------
 * objectives_settings.c
 *	  The settings (GUCs) of the objectives measured against reality,
 *	  defined by objectivesSettingsDefine() from _PG_init (objectives.h).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "ops/objectives.h"

int			drBackupOverdueAfter = 25 * 3600;
int			drObjectivesSampleInterval = 60;
int			drObjectivesHistoryRetention = 90 * 24 * 3600;
int			drObjectivesHistoryMax = 200000;
int			drObjectivesRpoSource = OBJ_RPO_MODE_AUTO;

static const struct config_enum_entry rpoSourceOptions[] = {
	{"auto", OBJ_RPO_MODE_AUTO, false},
	{"archive", OBJ_RPO_MODE_ARCHIVE, false},
	{"standby", OBJ_RPO_MODE_STANDBY, false},
	{"best", OBJ_RPO_MODE_BEST, false},
	{NULL, 0, false}
};

const char *
objectivesRpoModeName(int mode)
{
	for (const struct config_enum_entry *e = rpoSourceOptions; e->name != NULL; e++)
		if (e->val == mode)
			return e->name;
	return "unknown";
}

void
objectivesSettingsDefine(void)
{
	DefineCustomIntVariable("pg_dr.backup_overdue_after",
							"Age past which the newest valid backup is overdue (the verdict is at_risk, an alert is raised).",
							"0 turns the bound off.",
							&drBackupOverdueAfter,
							25 * 3600,
							0,
							366 * 24 * 3600,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_dr.objectives_sample_interval",
							"How often the pg_dr worker samples the objectives into dr_objectives_history and checks their alerts.",
							NULL,
							&drObjectivesSampleInterval,
							60,
							1,
							3600,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_dr.objectives_history_retention",
							"How long samples of dr_objectives_history are kept.",
							NULL,
							&drObjectivesHistoryRetention,
							90 * 24 * 3600,
							60,
							INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_dr.objectives_history_max",
							"Most samples dr_objectives_history keeps (the oldest go first).",
							NULL,
							&drObjectivesHistoryMax,
							200000,
							10,
							100000000,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomEnumVariable("pg_dr.objectives_rpo_source",
							 "Where the RPO actual comes from: the archive, the best healthy standby, or the better of both.",
							 "auto: the best synchronous standby's lag while one is healthy, else the archive's.",
							 &drObjectivesRpoSource,
							 OBJ_RPO_MODE_AUTO,
							 rpoSourceOptions,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);
}
