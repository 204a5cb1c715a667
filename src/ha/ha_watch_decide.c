/*-------------------------------------------------------------------------
 * ha_watch_decide.c
 *	  The lag watcher's decisions (ha_watch_decide.h says which).  Pure:
 *	  every input is an argument; no I/O, no clock, no server.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "ha/ha_watch_decide.h"

#define MS	((int64) 1000)		/* TimestampTz units per millisecond */

HaWatchAct
haWatchThreshold(HaWatchLevel level, bool known, double value,
				 double threshold)
{
	if (threshold <= 0)
		return level == HA_WATCH_CLEAR ? HA_WATCH_NONE : HA_WATCH_RESOLVE;
	if (!known)
		return HA_WATCH_NONE;
	if (value > threshold)
		return level == HA_WATCH_RAISED ? HA_WATCH_NONE : HA_WATCH_RAISE;
	if (value <= threshold * HA_WATCH_RESOLVE_PERCENT / 100.0)
		return level == HA_WATCH_CLEAR ? HA_WATCH_NONE : HA_WATCH_RESOLVE;
	/* between: a raised alert stays until the value is well below */
	return level == HA_WATCH_UNKNOWN ? HA_WATCH_RESOLVE : HA_WATCH_NONE;
}

int64
haWatchReplayDelayMs(HaWatchReplayTrack *track, XLogRecPtr replayLsn,
					 XLogRecPtr targetLsn, int64 reportedMs, TimestampTz now)
{
	int64		delay;

	if (replayLsn == InvalidXLogRecPtr)
		return -1;
	if (track->replayLsn != replayLsn || track->since == 0)
	{
		/* it moved (or is new): no progress missed so far */
		track->replayLsn = replayLsn;
		track->since = now;
	}
	if (targetLsn == InvalidXLogRecPtr || replayLsn >= targetLsn)
		delay = 0;
	else
		delay = now > track->since ? (now - track->since) / MS : 0;
	if (reportedMs > delay && replayLsn < targetLsn)
		delay = reportedMs;
	return delay;
}

HaWatchAct
haWatchMissing(HaWatchLevel level, bool present, TimestampTz lastSeen,
			   TimestampTz now, int64 graceMs, int64 forgetMs, bool *forget)
{
	int64		absentMs = now > lastSeen ? (now - lastSeen) / MS : 0;

	*forget = false;
	if (present)
		return level == HA_WATCH_CLEAR ? HA_WATCH_NONE : HA_WATCH_RESOLVE;
	if (absentMs >= forgetMs)
	{
		*forget = true;
		return level == HA_WATCH_CLEAR ? HA_WATCH_NONE : HA_WATCH_RESOLVE;
	}
	if (absentMs >= graceMs)
		return level == HA_WATCH_RAISED ? HA_WATCH_NONE : HA_WATCH_RAISE;
	/* a walreceiver reconnecting is gone for a moment: not yet */
	return HA_WATCH_NONE;
}

static int
haWatchNameCompare(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* Append "name" (quoted, '"' doubled) to buf; false when it does not fit. */
static bool
haWatchQuoteAppend(char *buf, size_t size, size_t *len, const char *name,
				   bool first)
{
	size_t		need = (first ? 0 : 2) + 2 + strlen(name) + 2;	/* ", " "" ")" */
	size_t		pos = *len;

	for (const char *p = name; *p; p++)
		if (*p == '"')
			need++;
	if (pos + need >= size)
		return false;
	if (!first)
	{
		buf[pos++] = ',';
		buf[pos++] = ' ';
	}
	buf[pos++] = '"';
	for (const char *p = name; *p; p++)
	{
		if (*p == '"')
			buf[pos++] = '"';
		buf[pos++] = *p;
	}
	buf[pos++] = '"';
	buf[pos] = '\0';
	*len = pos;
	return true;
}

void
haWatchSyncDecide(const HaWatchSyncInput *in, HaWatchSyncResult *out)
{
	const char **names;
	int			count = 0;
	size_t		len;
	const char *prefix = "ANY 1 (";

	memset(out, 0, sizeof(*out));
	out->action = HA_WATCH_SYNC_KEEP;
	if (!in->on)
	{
		if (in->current == NULL || in->current[0] == '\0')
			return;
		if (in->currentInAutoConf && haWatchSyncIsOwn(in->current))
		{
			if (!in->fenced)
				out->action = HA_WATCH_SYNC_RESET;
		}
		else
			out->foreign = true;
		return;
	}

	names = palloc(sizeof(char *) * Max(in->count, 1));
	for (int i = 0; i < in->count; i++)
	{
		const HaWatchStandby *s = &in->standbys[i];

		if (s->name == NULL || s->name[0] == '\0' || !s->streaming)
			continue;
		if (in->maxLagBytes > 0 &&
			(s->flushLagBytes < 0 || s->flushLagBytes > in->maxLagBytes))
			continue;
		names[count++] = s->name;
	}
	if (count > 1)
		qsort(names, count, sizeof(char *), haWatchNameCompare);

	strlcpy(out->value, prefix, sizeof(out->value));
	len = strlen(prefix);
	for (int i = 0; i < count; i++)
	{
		if (i > 0 && strcmp(names[i], names[i - 1]) == 0)
			continue;			/* two walsenders of one name: one entry */
		if (out->left > 0 ||
			!haWatchQuoteAppend(out->value, sizeof(out->value), &len, names[i],
								out->healthy == 0))
		{
			out->left++;
			continue;
		}
		out->healthy++;
	}
	pfree(names);

	if (out->healthy == 0)
	{
		out->value[0] = '\0';
		out->noneHealthy = true;
		return;
	}
	/* room for ")" was kept by haWatchQuoteAppend */
	out->value[len++] = ')';
	out->value[len] = '\0';
	if (!in->fenced &&
		(in->current == NULL || strcmp(in->current, out->value) != 0))
		out->action = HA_WATCH_SYNC_SET;
}

bool
haWatchSyncIsOwn(const char *value)
{
	const char *prefix = "ANY 1 (";
	const char *p;
	char		prev[HA_WATCH_SYNC_VALUE_MAX];
	char		name[HA_WATCH_SYNC_VALUE_MAX];
	bool		first = true;

	if (value == NULL || strncmp(value, prefix, strlen(prefix)) != 0)
		return false;
	p = value + strlen(prefix);
	prev[0] = '\0';
	for (;;)
	{
		size_t		len = 0;

		if (!first)
		{
			if (p[0] != ',' || p[1] != ' ')
				return false;
			p += 2;
		}
		if (*p++ != '"')
			return false;
		for (;;)
		{
			if (*p == '\0')
				return false;	/* unterminated */
			if (*p == '"')
			{
				if (p[1] != '"')
					break;
				p++;			/* "" is one " */
			}
			if (len + 1 >= sizeof(name))
				return false;
			name[len++] = *p++;
		}
		p++;					/* the closing " */
		name[len] = '\0';
		/* non-empty, and after the one before it: sorted, each once */
		if (len == 0 || (!first && strcmp(prev, name) >= 0))
			return false;
		strlcpy(prev, name, sizeof(prev));
		first = false;
		if (*p == ')')
			return p[1] == '\0';
	}
}

bool
haWatchSyncDefault(const char *tierName)
{
	return tierName != NULL && strcmp(tierName, "critical") == 0;
}
