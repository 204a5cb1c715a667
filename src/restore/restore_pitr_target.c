/*-------------------------------------------------------------------------
 * restore_pitr_target.c
 *	  Recovery target values: parsed and checked before anything is read,
 *	  and turned into the recovery settings of postgresql.auto.conf.
 *
 * The value handed to the server is the one the user gave, not one
 * rebuilt from what was parsed: the server parses it again, so pg_dr must
 * understand it exactly as the server will.  That is why a time must carry
 * its zone (Z, UTC, GMT or a numeric offset): without one, the server
 * reads it in its own TimeZone setting, which pg_dr cannot know when it
 * compares the time with the stop time of a backup.  Named zones are
 * refused for the same reason (the server's zone database and
 * abbreviations are its own).
 *
 * Values are quoted as strings of postgresql.auto.conf: a quote doubled,
 * a backslash doubled, newline and carriage return as \n and \r (the
 * configuration lexer admits neither raw inside a string).
 *
 * A transaction id must be written in plain decimal: the server reads
 * recovery_target_xid with strtou64(..., 0), which takes a leading 0 for
 * octal and 0x for hex; a leading zero is refused here rather than
 * silently meaning another transaction.
 *
 * Pure functions, no I/O: unit tested in test/unit/test_restore_pick.c.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "lib/stringinfo.h"
#include "restore/restore.h"
#include "restore/restore_internal.h"

#define USECS_PER_SEC		INT64CONST(1000000)
#define SECS_PER_DAY		INT64CONST(86400)

/* Largest zone offset the server accepts (MAX_TZDISP_HOUR). */
#define TARGET_ZONE_HOUR_MAX	15

static const char *const targetKindNames[] = {
	[RESTORE_TARGET_NONE] = "none",
	[RESTORE_TARGET_TIME] = "time",
	[RESTORE_TARGET_LSN] = "lsn",
	[RESTORE_TARGET_XID] = "xid",
	[RESTORE_TARGET_NAME] = "name",
	[RESTORE_TARGET_IMMEDIATE] = "immediate",
};

const char *
restoreTargetKindName(RestoreTargetKind kind)
{
	if ((int) kind < 0 || (int) kind >= (int) lengthof(targetKindNames))
		return "none";
	return targetKindNames[kind];
}

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian (H. Hinnant). */
static int64
targetDaysFromCivil(int y, int m, int d)
{
	int64		era;
	int64		yoe;
	int64		doy;
	int64		doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The inverse: y-m-d of a day count from 1970-01-01. */
static void
targetCivilFromDays(int64 z, int *y, int *m, int *d)
{
	int64		era;
	int64		doe;
	int64		yoe;
	int64		doy;
	int64		mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = (int) (yoe + era * 400 + (*m <= 2));
}

static bool
targetLeapYear(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Exactly n decimal digits at *p, advancing it; -1 if not. */
static int
targetDigits(const char **p, int n)
{
	int			v = 0;

	for (int i = 0; i < n; i++)
	{
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return v;
}

static bool
targetTimeError(DrError *err, const char *text, const char *why)
{
	drErrorSet(err, DR_ERR_INVALID, "invalid recovery target time \"%s\": %s",
			   text, why);
	drErrorHint(err, "Write it as YYYY-MM-DD HH:MM:SS[.fraction] followed by its zone: Z, UTC or an offset such as +02 or -05:30, for instance \"2024-05-01 12:00:00+00\".");
	return false;
}

/*
 * The zone at p: Z, UTC, GMT (any case), or +HH, +HHMM, +HH:MM, +HH:MM:SS
 * (or -).  Seconds east of UTC into *offset; false when p is anything else
 * or has anything after the zone.
 */
static bool
targetZoneParse(const char *p, int *offset)
{
	int			sign;
	int			h;
	int			m = 0;
	int			s = 0;

	if (pg_strcasecmp(p, "Z") == 0 || pg_strcasecmp(p, "UTC") == 0 ||
		pg_strcasecmp(p, "GMT") == 0)
	{
		*offset = 0;
		return true;
	}
	if (*p != '+' && *p != '-')
		return false;
	sign = *p == '-' ? -1 : 1;
	p++;
	if ((h = targetDigits(&p, 2)) < 0 || h > TARGET_ZONE_HOUR_MAX)
		return false;
	if (*p == ':')
	{
		p++;
		if ((m = targetDigits(&p, 2)) < 0 || m > 59)
			return false;
		if (*p == ':')
		{
			p++;
			if ((s = targetDigits(&p, 2)) < 0 || s > 59)
				return false;
		}
	}
	else if (*p != '\0' && ((m = targetDigits(&p, 2)) < 0 || m > 59))
		return false;
	if (*p != '\0')
		return false;
	*offset = sign * (h * 3600 + m * 60 + s);
	return true;
}

bool
restoreTargetTimeParse(const char *text, int64 *usec, DrError *err)
{
	static const int monthDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	const char *p = text;
	int			year,
				month,
				day,
				hour,
				minute,
				second = 0;
	int64		frac = 0;
	int			offset;
	int			limit;

	while (*p == ' ')
		p++;
	if ((year = targetDigits(&p, 4)) < 0 || *p++ != '-' ||
		(month = targetDigits(&p, 2)) < 0 || *p++ != '-' ||
		(day = targetDigits(&p, 2)) < 0)
		return targetTimeError(err, text, "the date is not YYYY-MM-DD");
	if (year < 1 || month < 1 || month > 12)
		return targetTimeError(err, text, "no such date");
	limit = monthDays[month - 1] + (month == 2 && targetLeapYear(year));
	if (day < 1 || day > limit)
		return targetTimeError(err, text, "no such date");

	if (*p == '\0')
		return targetTimeError(err, text, "the time of day is missing");
	if (*p != ' ' && *p != 'T' && *p != 't')
		return targetTimeError(err, text, "the date is not YYYY-MM-DD");
	p++;
	if ((hour = targetDigits(&p, 2)) < 0 || *p++ != ':' ||
		(minute = targetDigits(&p, 2)) < 0)
		return targetTimeError(err, text, "the time of day is not HH:MM:SS");
	if (*p == ':')
	{
		p++;
		if ((second = targetDigits(&p, 2)) < 0)
			return targetTimeError(err, text, "the time of day is not HH:MM:SS");
		if (*p == '.')
		{
			int			digits = 0;

			/* microseconds, rounded on the seventh digit */
			for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			{
				if (digits < 6)
					frac = frac * 10 + (*p - '0');
				else if (digits == 6 && *p >= '5')
					frac++;
			}
			if (digits == 0)
				return targetTimeError(err, text, "a fraction of a second needs digits");
			for (; digits < 6; digits++)
				frac *= 10;
		}
	}
	/* 60 is a leap second, as the server accepts it */
	if (hour > 23 || minute > 59 || second > 60)
		return targetTimeError(err, text, "no such time of day");

	while (*p == ' ')
		p++;
	if (*p == '\0')
		return targetTimeError(err, text, "the time zone is missing (the restored server would read the time in its own TimeZone, which pg_dr cannot know)");
	if (!targetZoneParse(p, &offset))
		return targetTimeError(err, text, "the time zone must be Z, UTC, GMT or a numeric offset");

	*usec = ((targetDaysFromCivil(year, month, day) * SECS_PER_DAY +
			  hour * 3600 + minute * 60 + second - offset) * USECS_PER_SEC) + frac;
	return true;
}

void
restoreTargetTimeFormat(int64 usec, char *buf, size_t len)
{
	int64		secs = usec / USECS_PER_SEC;
	int64		frac = usec % USECS_PER_SEC;
	int64		days;
	int64		rem;
	int			y,
				m,
				d;

	/* floor division: times before 1970 are negative */
	if (frac < 0)
	{
		frac += USECS_PER_SEC;
		secs--;
	}
	days = secs / SECS_PER_DAY;
	rem = secs % SECS_PER_DAY;
	if (rem < 0)
	{
		rem += SECS_PER_DAY;
		days--;
	}
	targetCivilFromDays(days, &y, &m, &d);
	if (frac != 0)
		snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d.%06d+00", y, m, d,
				 (int) (rem / 3600), (int) (rem / 60 % 60), (int) (rem % 60),
				 (int) frac);
	else
		snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d+00", y, m, d,
				 (int) (rem / 3600), (int) (rem / 60 % 60), (int) (rem % 60));
}

/* A transaction id in plain decimal (see the header comment). */
static bool
targetXidParse(const char *text, uint64 *xid, DrError *err)
{
	uint64		v = 0;
	const char *p;

	if (text[0] == '\0' || strspn(text, "0123456789") != strlen(text))
	{
		drErrorSet(err, DR_ERR_INVALID,
				   "invalid recovery target transaction id \"%s\": must be a positive decimal integer",
				   text);
		return false;
	}
	if (text[0] == '0')
	{
		drErrorSet(err, DR_ERR_INVALID,
				   "invalid recovery target transaction id \"%s\": must not start with 0",
				   text);
		drErrorHint(err, "The server would read a leading 0 as an octal number.");
		return false;
	}
	for (p = text; *p; p++)
	{
		if (v > (uint64) (PG_INT64_MAX - (*p - '0')) / 10)
			return drErrorSet(err, DR_ERR_INVALID,
							  "invalid recovery target transaction id \"%s\": out of range",
							  text);
		v = v * 10 + (uint64) (*p - '0');
	}
	/* 0 invalid, 1 bootstrap, 2 frozen: none of them ever commits */
	if ((v & PG_UINT32_MAX) < 3)
	{
		drErrorSet(err, DR_ERR_INVALID,
				   "invalid recovery target transaction id \"%s\": not a normal transaction id",
				   text);
		drErrorHint(err, "A normal transaction id is 3 or more (in its low 32 bits, when it carries an epoch as txid_current() returns it).");
		return false;
	}
	*xid = v;
	return true;
}

bool
restoreTargetParse(RestoreTargetKind kind, const char *value,
				   RestoreTarget *target, DrError *err)
{
	switch (kind)
	{
		case RESTORE_TARGET_TIME:
			if (!restoreTargetTimeParse(value, &target->timeUsec, err))
				return false;
			break;
		case RESTORE_TARGET_LSN:
			if (!manifestLsnParse(value, &target->lsn))
			{
				drErrorSet(err, DR_ERR_INVALID,
						   "invalid recovery target LSN \"%s\"", value);
				drErrorHint(err, "An LSN is written X/X, 1 to 8 hexadecimal digits each, as pg_current_wal_lsn() shows it.");
				return false;
			}
			break;
		case RESTORE_TARGET_XID:
			if (!targetXidParse(value, &target->xid, err))
				return false;
			break;
		case RESTORE_TARGET_NAME:
			if (value[0] == '\0')
				return drErrorSet(err, DR_ERR_INVALID,
								  "the recovery target name is empty");
			if (strlen(value) > RESTORE_TARGET_NAME_MAX)
			{
				drErrorSet(err, DR_ERR_INVALID,
						   "recovery target name \"%s\" is too long (%zu bytes)",
						   value, strlen(value));
				drErrorHint(err, "A restore point name has at most %d bytes.",
							RESTORE_TARGET_NAME_MAX);
				return false;
			}
			break;
		case RESTORE_TARGET_IMMEDIATE:
			if (value == NULL)
				value = "immediate";
			else if (strcmp(value, "immediate") != 0)
			{
				drErrorSet(err, DR_ERR_INVALID,
						   "invalid recovery target \"%s\"", value);
				drErrorHint(err, "The only recovery target given by name is \"immediate\": the end of the backup.");
				return false;
			}
			break;
		default:
			return drErrorSet(err, DR_ERR_INVALID, "unknown recovery target kind %d",
							  (int) kind);
	}
	target->kind = kind;
	target->value = value;
	return true;
}

/* name = 's', s quoted as a string of postgresql.auto.conf. */
static void
targetSettingAppend(StringInfo buf, const char *name, const char *s)
{
	appendStringInfo(buf, "%s = ", name);
	restoreConfQuote(buf, s);
	appendStringInfoChar(buf, '\n');
}

char *
restoreTargetSettings(const RestoreTarget *target)
{
	static const struct
	{
		RestoreTargetKind kind;
		const char *setting;
	}			settings[] = {
		{RESTORE_TARGET_IMMEDIATE, "recovery_target"},
		{RESTORE_TARGET_LSN, "recovery_target_lsn"},
		{RESTORE_TARGET_NAME, "recovery_target_name"},
		{RESTORE_TARGET_TIME, "recovery_target_time"},
		{RESTORE_TARGET_XID, "recovery_target_xid"},
	};
	StringInfoData buf;
	RestoreTargetKind kind = target ? target->kind : RESTORE_TARGET_NONE;

	initStringInfo(&buf);
	if (kind == RESTORE_TARGET_NONE)
		appendStringInfoString(&buf, "# no recovery target: replay the archived WAL to its end\n");
	else
		appendStringInfo(&buf, "# recovery target: %s (other targets emptied, the last setting of a name wins)\n",
						 restoreTargetKindName(kind));

	/*
	 * Empty every other target before setting ours: the server refuses a
	 * second target as it assigns them, in the order of their last lines.
	 */
	for (int i = 0; i < (int) lengthof(settings); i++)
		if (kind == RESTORE_TARGET_NONE || settings[i].kind != kind)
			targetSettingAppend(&buf, settings[i].setting, "");
	if (kind == RESTORE_TARGET_NONE)
	{
		/*
		 * Always written: a backup of a cluster that was itself restored
		 * carries that restore's setting ('current', a number), which would
		 * otherwise keep recovery off the timeline chosen here.
		 */
		if (target && target->timeline != 0)
			appendStringInfo(&buf, "recovery_target_timeline = '%u'\n",
							 target->timeline);
		else
			targetSettingAppend(&buf, "recovery_target_timeline", "latest");
		return buf.data;
	}

	for (int i = 0; i < (int) lengthof(settings); i++)
		if (settings[i].kind == kind)
			targetSettingAppend(&buf, settings[i].setting, target->value);
	if (kind != RESTORE_TARGET_IMMEDIATE)
		appendStringInfo(&buf, "recovery_target_inclusive = %s\n",
						 target->exclusive ? "off" : "on");
	targetSettingAppend(&buf, "recovery_target_action",
						target->action == RESTORE_TARGET_PAUSE ? "pause" : "promote");

	/*
	 * 'immediate' stops where the backup becomes consistent, on the
	 * backup's own timeline: following a newer one could only lead recovery
	 * away from it.  Otherwise the timeline the pick chose, or the newest.
	 */
	if (kind == RESTORE_TARGET_IMMEDIATE)
		targetSettingAppend(&buf, "recovery_target_timeline", "current");
	else if (target->timeline != 0)
		appendStringInfo(&buf, "recovery_target_timeline = '%u'\n",
						 target->timeline);
	else
		targetSettingAppend(&buf, "recovery_target_timeline", "latest");
	return buf.data;
}
