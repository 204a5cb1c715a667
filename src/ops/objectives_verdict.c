/*-------------------------------------------------------------------------
 * objectives_verdict.c
 *	  The objectives verdict and the RPO actual (objectives_verdict.h).
 *	  Pure: no I/O, no server calls.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "ops/objectives_verdict.h"

static const char *const verdictNames[] = {"ok", "at_risk", "breached"};

const char *
objectivesVerdictName(ObjectivesVerdictKind kind)
{
	if ((int) kind < 0 || (int) kind >= (int) lengthof(verdictNames))
		return "unknown";
	return verdictNames[kind];
}

bool
objectivesVerdictParse(const char *name, ObjectivesVerdictKind *kind)
{
	for (int i = 0; i < (int) lengthof(verdictNames); i++)
		if (strcmp(name, verdictNames[i]) == 0)
		{
			*kind = (ObjectivesVerdictKind) i;
			return true;
		}
	return false;
}

/* Append "; " and a finding to the reason (cut at its size). */
static void
reasonAdd(ObjectivesVerdict *out, const char *fmt, double a, double b)
{
	size_t		len = strlen(out->reason);
	char		line[200];

	snprintf(line, sizeof(line), fmt, a, b);
	snprintf(out->reason + len, sizeof(out->reason) - len, "%s%s",
			 len > 0 ? "; " : "", line);
}

void
objectivesVerdict(const ObjectivesInput *in, ObjectivesVerdict *out)
{
	memset(out, 0, sizeof(*out));

	/* breaching findings first, so the reason names them first */
	if (in->targetsKnown && in->rpoKnown && in->rpoActualSec > in->rpoTargetSec)
	{
		out->findings |= OBJ_FINDING_RPO_BREACHED;
		reasonAdd(out, "RPO actual %.0f s passes the RPO target %.0f s",
				  in->rpoActualSec, in->rpoTargetSec);
	}
	if (!in->backupExists)
	{
		out->findings |= OBJ_FINDING_NO_BACKUP;
		reasonAdd(out, "no valid backup to restore from", 0, 0);
	}

	if (!in->targetsKnown)
	{
		out->findings |= OBJ_FINDING_NO_TARGETS;
		reasonAdd(out, "the tier has no objectives in dr_objectives", 0, 0);
	}
	if (!in->rpoKnown)
	{
		out->findings |= OBJ_FINDING_RPO_UNKNOWN;
		reasonAdd(out, "RPO actual unknown (see rpo_actual_reason)", 0, 0);
	}
	else if (in->targetsKnown &&
			 !(out->findings & OBJ_FINDING_RPO_BREACHED) &&
			 in->rpoActualSec > in->rpoTargetSec * OBJ_RPO_AT_RISK_FRACTION)
	{
		out->findings |= OBJ_FINDING_RPO_AT_RISK;
		reasonAdd(out, "RPO actual %.0f s passes three quarters of the RPO target %.0f s",
				  in->rpoActualSec, in->rpoTargetSec);
	}
	if (in->targetsKnown && in->backupExists &&
		in->rtoEstimateSec > in->rtoTargetSec)
	{
		out->findings |= OBJ_FINDING_RTO_ABOVE;
		reasonAdd(out, "RTO estimate %.0f s passes the RTO target %.0f s",
				  in->rtoEstimateSec, in->rtoTargetSec);
	}
	if (in->backupExists && in->backupOverdueSec > 0 &&
		in->backupAgeSec > in->backupOverdueSec)
	{
		out->findings |= OBJ_FINDING_BACKUP_OVERDUE;
		reasonAdd(out, "newest valid backup is %.0f s old, overdue after %.0f s",
				  in->backupAgeSec, in->backupOverdueSec);
	}
	if (in->archiveFailing)
	{
		out->findings |= OBJ_FINDING_ARCHIVE_FAILING;
		reasonAdd(out, "WAL archiving is failing", 0, 0);
	}
	if (in->targetsKnown && in->archiveOldestWaitSec >= 0 &&
		in->archiveOldestWaitSec > in->rpoTargetSec * OBJ_ARCHIVE_LAG_FRACTION)
	{
		out->findings |= OBJ_FINDING_ARCHIVE_LAGGING;
		reasonAdd(out, "the oldest WAL waiting for the archive is %.0f s old, more than half the RPO target %.0f s",
				  in->archiveOldestWaitSec, in->rpoTargetSec);
	}

	if (out->findings & OBJ_FINDINGS_BREACHED)
		out->kind = OBJ_VERDICT_BREACHED;
	else if (out->findings != 0)
		out->kind = OBJ_VERDICT_AT_RISK;
	else
		out->kind = OBJ_VERDICT_OK;
}

bool
objectivesRpoActual(TimestampTz now, bool walWaiting, TimestampTz lastArchived,
					TimestampTz lastIdleSeen, double *seconds)
{
	TimestampTz since = Max(lastArchived, lastIdleSeen);

	*seconds = 0;
	if (!walWaiting)
		return true;
	if (since <= 0)
		return false;
	*seconds = since >= now ? 0 : (double) (now - since) / 1000000.0;
	return true;
}

int
objectivesStandbyBest(const ObjectivesStandby *standbys, int count,
					  bool syncOnly, double *lagSec)
{
	int			best = -1;

	*lagSec = 0;
	for (int i = 0; i < count; i++)
	{
		const ObjectivesStandby *s = &standbys[i];
		double		lag;

		if (!s->streaming || (syncOnly && !s->synchronous) ||
			s->sampleAgeSec < 0 || s->sampleAgeSec > OBJ_STANDBY_SAMPLE_MAX_AGE_SEC)
			continue;
		if (s->flushLagMs >= 0)
			lag = (double) s->flushLagMs / 1000.0;
		else if (s->flushLagBytes == 0)
			lag = 0;			/* caught up: the lag times were cleared */
		else
			continue;			/* behind by an unknown time */
		if (best < 0 || lag < *lagSec)
		{
			best = i;
			*lagSec = lag;
		}
	}
	return best;
}

bool
objectivesRpoChoose(ObjectivesRpoMode mode, bool archiveKnown, double archiveSec,
					bool standbyKnown, double standbySec,
					bool syncKnown, double syncSec,
					bool *known, double *seconds)
{
	bool		useStandby = false;
	double		standby = standbySec;

	switch (mode)
	{
		case OBJ_RPO_MODE_AUTO:
			useStandby = syncKnown;
			standby = syncSec;
			break;
		case OBJ_RPO_MODE_ARCHIVE:
			useStandby = false;
			break;
		case OBJ_RPO_MODE_STANDBY:
			useStandby = standbyKnown;
			break;
		case OBJ_RPO_MODE_BEST:
			useStandby = standbyKnown && (!archiveKnown || standbySec < archiveSec);
			break;
	}
	if (useStandby)
	{
		*known = true;
		*seconds = standby;
	}
	else
	{
		*known = archiveKnown;
		*seconds = archiveKnown ? archiveSec : 0;
	}
	return useStandby;
}
