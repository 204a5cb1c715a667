/*-------------------------------------------------------------------------
 * pitr_settings.c
 *	  The settings (GUCs) of recovery objectives and PITR: pg_dr.tier and
 *	  pg_dr.pitr_interval, defined by pitrSettingsDefine() from _PG_init
 *	  (pitr.h).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/guc.h"

#include "pitr/pitr.h"

int			drTier = DR_TIER_CRITICAL;
int			drPitrInterval = 15 * 60;

static const struct config_enum_entry drTierOptions[] = {
	{"critical", DR_TIER_CRITICAL, false},
	{"high", DR_TIER_HIGH, false},
	{"medium", DR_TIER_MEDIUM, false},
	{"low", DR_TIER_LOW, false},
	{NULL, 0, false}
};

const char *
drTierName(int tier)
{
	const struct config_enum_entry *entry;

	for (entry = drTierOptions; entry->name != NULL; entry++)
		if (entry->val == tier)
			return entry->name;
	return "unknown";
}

void
pitrSettingsDefine(void)
{
	DefineCustomEnumVariable("pg_dr.tier",
							 "Recovery tier this cluster is measured against (see dr_objectives).",
							 NULL,
							 &drTier,
							 DR_TIER_CRITICAL,
							 drTierOptions,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pg_dr.pitr_interval",
							"How often the pg_dr worker creates a named restore point.",
							"0 turns scheduled restore points off.",
							&drPitrInterval,
							15 * 60,
							0,
							7 * 24 * 3600,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);
}
