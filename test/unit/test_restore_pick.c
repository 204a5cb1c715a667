/*-------------------------------------------------------------------------
 * test_restore_pick.c
 *	  Unit tests of the point-in-time restore decisions, without a server
 *	  or a repository: src/restore/restore_pitr_target.c (target values,
 *	  recovery settings) and src/restore/restore_pitr_pick.c (which backup,
 *	  what is refused).  restore_pitr_scan.c, which reads the inputs from a
 *	  repository, is covered by t/021_pitr.pl.
 *
 * Covers: time values with Z, UTC, GMT and numeric offsets (+HH, +HHMM,
 * +HH:MM, +HH:MM:SS), 'T' separator, optional seconds, fractions rounded
 * to microseconds, leap days, times before 1970; refused: no zone, a named
 * zone, words, impossible dates and times, offsets past 15 hours, trailing
 * text; the time formatter and its round trip; LSNs; transaction ids
 * (plain decimal, range, epoch, special ids, leading zero); restore point
 * names (length); immediate (NULL or "immediate", nothing else); the
 * recovery settings text for each kind (other targets emptied first,
 * inclusive, action, timeline; immediate: timeline 'current', no
 * inclusive) and its quoting (quote,
 * backslash, newline), and for no target.  The pick: an empty list; a
 * target before every backup (time and LSN, naming the earliest point);
 * a target exactly at a backup's end (stop LSN; stop time plus one second)
 * and just before it; between backups; ties on stop time; after the newest
 * archived WAL (LSN refused, time warned); an empty archive and an archive
 * that ends with the backup (LSN at the very stop allowed, anything else
 * refused; the hint says to run pg_switch_wal() on the source or wait for
 * the archiver); transaction ids and names (newest backup, or the one named);
 * a named backup that ends after the target or does not exist; several
 * timelines (a backup past the branch point left out, LSNs compared along
 * the history, a named backup off the history refused, no backup on the
 * history); no history (no filtering).  The WAL walk of
 * restore_pitr_name.c over WAL written here: restore points of the name
 * found on a page, across pages and across segments; another name, a bad
 * CRC not; a segment walked twice finds each once; a walk starting in a
 * segment skips the record continued into it; a segment at the wrong
 * address ends the record being read.  The timeline
 * (restore_pitr_timeline.c): the end of the WAL along each timeline
 * (restoreReachFollow: an ancestor's segments past its branch point left
 * out); a time or LSN target held by one timeline only, by several (the
 * one written last, a warning naming the others, ancestors not named);
 * an LSN before every branch point; targets that cannot be placed (the
 * one written last); a former primary that stopped (its descendant
 * chosen); a requested timeline (taken; unknown NOT_FOUND; one the named
 * backup is not on INVALID); only timelines the named backup reaches; the
 * recovery_target_timeline setting with and without a target.  A restore
 * point name (restoreTimelineCandidates, restoreTimelineNameChoose): the
 * candidates, written last first (only those the named backup reaches);
 * a name on another timeline than the one written last (that one, not
 * 'latest'); the same point in WAL all share (no warning); points of
 * that name at the same LSN in WAL not shared, and at another LSN (the
 * one written last, a warning naming the others); on none (INVALID,
 * naming every timeline searched and --target-timeline).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "access/rmgr.h"
#include "access/xlog_internal.h"
#include "access/xlogrecord.h"
#include "catalog/pg_control.h"
#include "port/pg_crc32c.h"

#include "common/manifest.h"
#include "common/wal.h"
#include "restore/restore.h"
#include "restore/restore_internal.h"
#include "tap.h"

#define SEG				(16 * 1024 * 1024)
#define USEC			INT64CONST(1000000)

/* 2024-05-01 12:00:00 UTC */
#define NOON			INT64CONST(1714564800)

static ManifestHeader
header(const char *id, uint32 tli, uint64 stopLsn, int64 stopTime)
{
	ManifestHeader h;

	memset(&h, 0, sizeof(h));
	strlcpy(h.backupId, id, sizeof(h.backupId));
	h.timeline = tli;
	h.startLsn = stopLsn - SEG;
	h.stopLsn = stopLsn;
	h.startTime = stopTime - 10;
	h.stopTime = stopTime;
	h.segmentSize = SEG;
	h.blockSize = 8192;
	return h;
}

static uint64
lsn(const char *text)
{
	uint64		v = 0;

	if (!manifestLsnParse(text, &v))
		abort();
	return v;
}

/* Parse a time; -1 (and a diagnostic) if refused. */
static int64
timeOf(const char *text)
{
	int64		usec;
	DrError		err;

	drErrorClear(&err);
	if (!restoreTargetTimeParse(text, &usec, &err))
	{
		diag("%s", err.message);
		return -1;
	}
	return usec;
}

static bool
timeRefused(const char *text, const char *why)
{
	int64		usec;
	DrError		err;
	bool		refused;

	drErrorClear(&err);
	refused = !restoreTargetTimeParse(text, &usec, &err) &&
		err.code == DR_ERR_INVALID && strstr(err.message, why) != NULL &&
		err.hint[0] != '\0';
	if (!refused)
		diag("got: %s", err.message);
	return refused;
}

static void
testTimeParse(void)
{
	char		buf[RESTORE_TARGET_TIME_LEN];

	is_int(timeOf("2024-05-01 12:00:00+00"), NOON * USEC, "time with +00");
	is_int(timeOf("2024-05-01T12:00:00Z"), NOON * USEC, "ISO 8601 with T and Z");
	is_int(timeOf("2024-05-01 12:00:00 UTC"), NOON * USEC, "time with a space and UTC");
	is_int(timeOf("2024-05-01 12:00:00gmt"), NOON * USEC, "GMT in any case");
	is_int(timeOf("2024-05-01 14:30:00+02:30"), NOON * USEC, "offset +HH:MM");
	is_int(timeOf("2024-05-01 17:30:00+0530"), NOON * USEC, "offset +HHMM");
	is_int(timeOf("2024-05-01 07:00:00-05"), NOON * USEC, "negative offset -HH");
	is_int(timeOf("2024-05-01 12:53:28+00:53:28"), NOON * USEC, "offset with seconds");
	is_int(timeOf("2024-05-01 12:00+00"), NOON * USEC, "seconds are optional");
	is_int(timeOf("2024-05-01 12:00:00.25+00"), NOON * USEC + 250000,
		   "a fraction of a second");
	is_int(timeOf("2024-05-01 12:00:00.1234565+00"), NOON * USEC + 123457,
		   "a fraction rounded to microseconds on the seventh digit");
	is_int(timeOf("2024-05-01 12:00:00.9999999+00"), (NOON + 1) * USEC,
		   "a fraction that rounds up to the next second");
	is_int(timeOf("2024-05-01 12:00:00.123456789012+00"), NOON * USEC + 123457,
		   "digits past the seventh are ignored");
	is_int(timeOf("2024-02-29 00:00:00Z"), INT64CONST(1709164800) * USEC,
		   "a leap day");
	is_int(timeOf("2000-02-29 00:00:00Z"), INT64CONST(951782400) * USEC,
		   "a leap day of a century divisible by 400");
	is_int(timeOf("1969-12-31 23:59:59.5Z"), -500000, "a time before 1970");
	is_int(timeOf("1970-01-01 00:00:00Z"), 0, "the epoch");
	is_int(timeOf("2024-12-31 23:59:60Z"), INT64CONST(1735689600) * USEC,
		   "a leap second is the next second, as the server reads it");
	is_int(timeOf("  2024-05-01 12:00:00  +00"), NOON * USEC,
		   "spaces before the value and before the zone");

	ok(timeRefused("2024-05-01 12:00:00", "time zone is missing"),
	   "refused: no zone (the server would use its own TimeZone)");
	ok(timeRefused("2024-05-01 12:00:00 Europe/Paris", "numeric offset"),
	   "refused: a named zone");
	ok(timeRefused("2024-05-01 12:00:00 PST", "numeric offset"),
	   "refused: a zone abbreviation");
	ok(timeRefused("now", "YYYY-MM-DD"), "refused: now");
	ok(timeRefused("", "YYYY-MM-DD"), "refused: empty");
	ok(timeRefused("2024-05-01", "time of day is missing"), "refused: a date alone");
	ok(timeRefused("2024-5-1 12:00:00Z", "YYYY-MM-DD"), "refused: one-digit month");
	ok(timeRefused("2023-02-29 12:00:00Z", "no such date"), "refused: 29 February 2023");
	ok(timeRefused("1900-02-29 12:00:00Z", "no such date"), "refused: 29 February 1900");
	ok(timeRefused("2024-04-31 12:00:00Z", "no such date"), "refused: 31 April");
	ok(timeRefused("2024-00-10 12:00:00Z", "no such date"), "refused: month 0");
	ok(timeRefused("0000-01-01 12:00:00Z", "no such date"), "refused: year 0");
	ok(timeRefused("2024-05-01 24:00:00Z", "no such time"), "refused: hour 24");
	ok(timeRefused("2024-05-01 12:60:00Z", "no such time"), "refused: minute 60");
	ok(timeRefused("2024-05-01 12:00:61Z", "no such time"), "refused: second 61");
	ok(timeRefused("2024-05-01 12:00:00.Z", "needs digits"), "refused: a point without digits");
	ok(timeRefused("2024-05-01 12:00:00+16", "numeric offset"), "refused: an offset of 16 hours");
	ok(timeRefused("2024-05-01 12:00:00+02:60", "numeric offset"), "refused: 60 minutes of offset");
	ok(timeRefused("2024-05-01 12:00:00+2", "numeric offset"), "refused: one-digit offset");
	ok(timeRefused("2024-05-01 12:00:00+00 and more", "numeric offset"), "refused: text after the zone");
	ok(timeRefused("2024-05-01 12:00:00ZZ", "numeric offset"), "refused: two zones");
	ok(timeRefused("2024-05-01_12:00:00Z", "YYYY-MM-DD"), "refused: another separator");
	ok(timeRefused("2024-05-01 12h00Z", "HH:MM:SS"), "refused: 12h00");

	restoreTargetTimeFormat(NOON * USEC, buf, sizeof(buf));
	is_str(buf, "2024-05-01 12:00:00+00", "format: whole seconds");
	restoreTargetTimeFormat(NOON * USEC + 42, buf, sizeof(buf));
	is_str(buf, "2024-05-01 12:00:00.000042+00", "format: microseconds");
	is_int(timeOf(buf), NOON * USEC + 42, "format: read back the same");
	restoreTargetTimeFormat(-500000, buf, sizeof(buf));
	is_str(buf, "1969-12-31 23:59:59.500000+00", "format: before 1970");
	restoreTargetTimeFormat(INT64CONST(951782400) * USEC, buf, sizeof(buf));
	is_str(buf, "2000-02-29 00:00:00+00", "format: a leap day");
}

/* Parse a value of kind; true when accepted. */
static bool
parseOk(RestoreTargetKind kind, const char *value, RestoreTarget *target)
{
	DrError		err;

	memset(target, 0, sizeof(*target));
	drErrorClear(&err);
	if (restoreTargetParse(kind, value, target, &err))
		return target->kind == kind && target->value == value;
	return false;
}

static bool
parseRefused(RestoreTargetKind kind, const char *value, const char *why)
{
	RestoreTarget target;
	DrError		err;
	bool		refused;

	memset(&target, 0, sizeof(target));
	drErrorClear(&err);
	refused = !restoreTargetParse(kind, value, &target, &err) &&
		err.code == DR_ERR_INVALID && strstr(err.message, why) != NULL &&
		target.kind == RESTORE_TARGET_NONE;
	if (!refused)
		diag("got: %s", err.message);
	return refused;
}

static void
testValueParse(void)
{
	RestoreTarget t;
	char		name[RESTORE_TARGET_NAME_MAX + 2];

	ok(parseOk(RESTORE_TARGET_TIME, "2024-05-01 12:00:00+00", &t) &&
	   t.timeUsec == NOON * USEC, "time target parsed");
	ok(parseRefused(RESTORE_TARGET_TIME, "yesterday", "invalid recovery target time"),
	   "time target refused");

	ok(parseOk(RESTORE_TARGET_LSN, "0/2000138", &t) && t.lsn == 0x2000138,
	   "LSN 0/2000138");
	ok(parseOk(RESTORE_TARGET_LSN, "16/b374d848", &t) &&
	   t.lsn == ((UINT64CONST(0x16) << 32) | 0xB374D848), "LSN in lower case");
	ok(parseRefused(RESTORE_TARGET_LSN, "0/", "invalid recovery target LSN"),
	   "refused: LSN without its low half");
	ok(parseRefused(RESTORE_TARGET_LSN, "1/2/3", "invalid recovery target LSN"),
	   "refused: LSN with three parts");
	ok(parseRefused(RESTORE_TARGET_LSN, "123456789/0", "invalid recovery target LSN"),
	   "refused: LSN half of 9 digits");
	ok(parseRefused(RESTORE_TARGET_LSN, "2000138", "invalid recovery target LSN"),
	   "refused: LSN without a slash");

	ok(parseOk(RESTORE_TARGET_XID, "12345", &t) && t.xid == 12345, "xid 12345");
	ok(parseOk(RESTORE_TARGET_XID, "3", &t) && t.xid == 3, "xid 3, the first normal one");
	ok(parseOk(RESTORE_TARGET_XID, "4294967299", &t) && t.xid == UINT64CONST(4294967299),
	   "xid with an epoch (txid_current)");
	ok(parseOk(RESTORE_TARGET_XID, "9223372036854775807", &t),
	   "xid 2^63-1, the largest txid");
	ok(parseRefused(RESTORE_TARGET_XID, "9223372036854775808", "out of range"),
	   "refused: xid 2^63");
	ok(parseRefused(RESTORE_TARGET_XID, "99999999999999999999999", "out of range"),
	   "refused: xid past 2^64");
	ok(parseRefused(RESTORE_TARGET_XID, "2", "not a normal"), "refused: xid 2 (frozen)");
	ok(parseRefused(RESTORE_TARGET_XID, "4294967296", "not a normal"),
	   "refused: xid whose low 32 bits are 0");
	ok(parseRefused(RESTORE_TARGET_XID, "0123", "must not start with 0"),
	   "refused: leading 0 (octal for the server)");
	ok(parseRefused(RESTORE_TARGET_XID, "0", "must not start with 0"), "refused: xid 0");
	ok(parseRefused(RESTORE_TARGET_XID, "0x10", "positive decimal"), "refused: hex xid");
	ok(parseRefused(RESTORE_TARGET_XID, "-5", "positive decimal"), "refused: negative xid");
	ok(parseRefused(RESTORE_TARGET_XID, "12 ", "positive decimal"), "refused: trailing space");
	ok(parseRefused(RESTORE_TARGET_XID, "", "positive decimal"), "refused: empty xid");

	memset(name, 'n', sizeof(name));
	name[RESTORE_TARGET_NAME_MAX] = '\0';
	ok(parseOk(RESTORE_TARGET_NAME, name, &t), "name of 63 bytes");
	name[RESTORE_TARGET_NAME_MAX] = 'n';
	name[RESTORE_TARGET_NAME_MAX + 1] = '\0';
	ok(parseRefused(RESTORE_TARGET_NAME, name, "too long (64 bytes)"),
	   "refused: name of 64 bytes");
	ok(parseRefused(RESTORE_TARGET_NAME, "", "empty"), "refused: empty name");
	ok(parseRefused(RESTORE_TARGET_NONE, "x", "unknown"), "refused: no kind");
	ok(parseOk(RESTORE_TARGET_IMMEDIATE, "immediate", &t), "immediate");
	ok(parseRefused(RESTORE_TARGET_IMMEDIATE, "latest", "invalid recovery target \"latest\""),
	   "refused: a target name other than immediate");

	is_str(restoreTargetKindName(RESTORE_TARGET_TIME), "time", "kind name time");
	is_str(restoreTargetKindName(RESTORE_TARGET_NAME), "name", "kind name name");
	is_str(restoreTargetKindName((RestoreTargetKind) 99), "none", "kind name out of range");
}

static void
testSettings(void)
{
	RestoreTarget t;
	char	   *text;

	parseOk(RESTORE_TARGET_TIME, "2024-05-01 12:00:00+00", &t);
	t.exclusive = true;
	t.action = RESTORE_TARGET_PAUSE;
	text = restoreTargetSettings(&t);
	is_str(text,
		   "# recovery target: time (other targets emptied, the last setting of a name wins)\n"
		   "recovery_target = ''\n"
		   "recovery_target_lsn = ''\n"
		   "recovery_target_name = ''\n"
		   "recovery_target_xid = ''\n"
		   "recovery_target_time = '2024-05-01 12:00:00+00'\n"
		   "recovery_target_inclusive = off\n"
		   "recovery_target_action = 'pause'\n"
		   "recovery_target_timeline = 'latest'\n",
		   "settings: time, exclusive, pause; the other targets emptied before it");
	pfree(text);

	parseOk(RESTORE_TARGET_LSN, "0/3000060", &t);
	text = restoreTargetSettings(&t);
	is_str(text,
		   "# recovery target: lsn (other targets emptied, the last setting of a name wins)\n"
		   "recovery_target = ''\n"
		   "recovery_target_name = ''\n"
		   "recovery_target_time = ''\n"
		   "recovery_target_xid = ''\n"
		   "recovery_target_lsn = '0/3000060'\n"
		   "recovery_target_inclusive = on\n"
		   "recovery_target_action = 'promote'\n"
		   "recovery_target_timeline = 'latest'\n",
		   "settings: LSN, inclusive, promote");
	pfree(text);

	parseOk(RESTORE_TARGET_XID, "4711", &t);
	text = restoreTargetSettings(&t);
	ok(strstr(text, "recovery_target_xid = '4711'\n") != NULL &&
	   strstr(text, "recovery_target_xid = ''") == NULL &&
	   strstr(text, "recovery_target_time = ''") != NULL, "settings: xid");
	pfree(text);

	parseOk(RESTORE_TARGET_NAME, "it's a\\b\nc\r", &t);
	text = restoreTargetSettings(&t);
	ok(strstr(text, "recovery_target_name = 'it''s a\\\\b\\nc\\r'\n") != NULL,
	   "settings: quote doubled, backslash doubled, newline and return escaped");
	pfree(text);

	memset(&t, 0, sizeof(t));
	ok(restoreTargetParse(RESTORE_TARGET_IMMEDIATE, NULL, &t, NULL) &&
	   t.kind == RESTORE_TARGET_IMMEDIATE && strcmp(t.value, "immediate") == 0,
	   "immediate: NULL means immediate");
	t.action = RESTORE_TARGET_PAUSE;
	text = restoreTargetSettings(&t);
	is_str(text,
		   "# recovery target: immediate (other targets emptied, the last setting of a name wins)\n"
		   "recovery_target_lsn = ''\n"
		   "recovery_target_name = ''\n"
		   "recovery_target_time = ''\n"
		   "recovery_target_xid = ''\n"
		   "recovery_target = 'immediate'\n"
		   "recovery_target_action = 'pause'\n"
		   "recovery_target_timeline = 'current'\n",
		   "settings: immediate on the backup's own timeline, no inclusive");
	pfree(text);

	text = restoreTargetSettings(NULL);
	is_str(text,
		   "# no recovery target: replay the archived WAL to its end\n"
		   "recovery_target = ''\n"
		   "recovery_target_lsn = ''\n"
		   "recovery_target_name = ''\n"
		   "recovery_target_time = ''\n"
		   "recovery_target_xid = ''\n"
		   "recovery_target_timeline = 'latest'\n",
		   "settings without a target: every target emptied, the newest timeline (a restored backup's own setting overridden)");
	pfree(text);
}

/* A repository: backups A, B, C on timeline 1; archive to segment 9. */
static ManifestHeader linear[3];

static RestoreReach
reachLinear(uint64 walEnd, int64 archived)
{
	RestoreReach r;

	linear[0] = header("20240101-000000F", 1, lsn("0/3000100"), NOON);
	linear[1] = header("20240102-000000I", 1, lsn("0/5000100"), NOON + 1000);
	linear[2] = header("20240103-000000I", 1, lsn("0/7000100"), NOON + 2000);
	memset(&r, 0, sizeof(r));
	r.backups = linear;
	r.backupCount = 3;
	r.history = walHistoryRoot(1);
	r.walEnd = walEnd;
	if (walEnd > 0)
		walSegmentName(r.walEndSegment, 1, walEnd / SEG - 1, SEG);
	r.walEndArchived = archived;
	return r;
}

static RestoreTarget
targetLsn(const char *text)
{
	RestoreTarget t;

	if (!parseOk(RESTORE_TARGET_LSN, text, &t))
		abort();
	return t;
}

static RestoreTarget
targetTime(int64 usec)
{
	RestoreTarget t;

	memset(&t, 0, sizeof(t));
	t.kind = RESTORE_TARGET_TIME;
	t.value = "(a time)";
	t.timeUsec = usec;
	return t;
}

/* The index picked, or -1 (the error's message checked to hold why). */
static int
pickOf(const RestoreReach *r, const RestoreTarget *t, const char *backupId,
	   DrErrorCode code, const char *why, RestorePick *out)
{
	RestorePick pick;
	DrError		err;

	drErrorClear(&err);
	if (restoreTargetPick(r, t, backupId, &pick, &err))
	{
		if (out)
			*out = pick;
		return pick.index;
	}
	if (err.code != code || why == NULL || strstr(err.message, why) == NULL ||
		err.hint[0] == '\0')
	{
		diag("unexpected refusal (%s): %s", drErrorCodeName(err.code), err.message);
		return -2;
	}
	return -1;
}

static void
testPickLinear(void)
{
	RestoreReach r = reachLinear(lsn("0/A000000"), NOON + 5000);
	RestoreReach empty;
	RestoreTarget t;
	RestorePick pick;

	memset(&empty, 0, sizeof(empty));
	t = targetLsn("0/6000000");
	is_int(pickOf(&empty, &t, NULL, DR_ERR_NOT_FOUND, "holds no backup", NULL), -1,
		   "empty list: no backup, NOT_FOUND");
	t.kind = RESTORE_TARGET_NONE;
	{
		DrError		err;

		drErrorClear(&err);
		ok(!restoreTargetPick(&r, &t, NULL, &pick, &err) && err.code == DR_ERR_INVALID &&
		   pick.index == -1, "no target is not a target");
	}

	/* before every backup */
	t = targetLsn("0/2000000");
	is_int(pickOf(&r, &t, NULL, DR_ERR_INVALID,
				  "is before the earliest point the repository can recover to, 0/3000100 (the end of backup 20240101-000000F)",
				  NULL), -1, "LSN before every backup: refused, naming the earliest point");
	t = targetTime(NOON * USEC);
	is_int(pickOf(&r, &t, NULL, DR_ERR_INVALID,
				  "before the earliest point the repository can recover to, 2024-05-01 12:00:01+00",
				  NULL), -1,
		   "time exactly at the oldest stop-time: refused (the stop may be up to a second later)");
	t = targetTime((NOON + 1) * USEC - 1);
	is_int(pickOf(&r, &t, NULL, DR_ERR_INVALID, "earliest point", NULL), -1,
		   "time a microsecond before the oldest backup's end: refused");

	/* exactly at an end */
	t = targetTime((NOON + 1) * USEC);
	is_int(pickOf(&r, &t, NULL, 0, NULL, &pick), 0,
		   "time exactly one second after the oldest stop-time: the oldest backup");
	ok(strstr(pick.reason, "ended before the target") != NULL, "reason says why");
	t = targetLsn("0/5000100");
	is_int(pickOf(&r, &t, NULL, 0, NULL, NULL), 1, "LSN exactly at a stop LSN: that backup");
	t = targetLsn("0/50000FF");
	is_int(pickOf(&r, &t, NULL, 0, NULL, NULL), 0, "LSN just before a stop LSN: the one before");
	t = targetTime((NOON + 1001) * USEC);
	is_int(pickOf(&r, &t, NULL, 0, NULL, NULL), 1, "time exactly at the second backup's end");
	t = targetTime((NOON + 1001) * USEC - 1);
	is_int(pickOf(&r, &t, NULL, 0, NULL, NULL), 0, "time just before it: the first");

	/* between, after */
	t = targetLsn("0/6123456");
	is_int(pickOf(&r, &t, "latest", 0, NULL, NULL), 1,
		   "LSN between two backups: the older (--backup latest picks too)");
	t = targetLsn("0/A000000");
	is_int(pickOf(&r, &t, NULL, 0, NULL, NULL), 2, "LSN at the end of the archive: the newest");
	t = targetLsn("0/A000001");
	is_int(pickOf(&r, &t, NULL, DR_ERR_INVALID,
				  "is after the newest WAL the repository holds, 0/A000000 (the end of archived segment 000000010000000000000009)",
				  NULL), -1, "LSN after the archive: refused, naming the newest WAL");
	t = targetTime((NOON + 4000) * USEC);
	is_int(pickOf(&r, &t, NULL, 0, NULL, &pick), 2, "time after every backup: the newest");
	is_str(pick.warning, "", "no warning before the newest segment was stored");
	t = targetTime((NOON + 5000) * USEC + USEC / 2);
	is_int(pickOf(&r, &t, NULL, 0, NULL, &pick), 2,
		   "time in the second the newest segment was stored at: allowed");
	is_str(pick.warning, "",
		   "no warning: the store time is cut down to the second, the segment may hold that time");
	t = targetTime((NOON + 5001) * USEC);
	is_int(pickOf(&r, &t, NULL, 0, NULL, &pick), 2,
		   "time after the newest segment was stored: allowed");
	ok(strstr(pick.warning, "after the newest archived WAL (segment 000000010000000000000009, stored at 2024-05-01 13:23:20+00)") != NULL &&
	   strstr(pick.warningHint, "recovery ended before configured recovery target was reached") != NULL,
	   "with a warning naming the segment and what the server will do");

	/* ties on stop time: the later stop LSN */
	linear[1].stopTime = linear[2].stopTime;
	t = targetTime((NOON + 2001) * USEC);
	is_int(pickOf(&r, &t, NULL, 0, NULL, NULL), 2, "same stop-time: the later stop LSN");
	linear[1].stopTime = NOON + 1000;

	/* transaction ids and names */
	parseOk(RESTORE_TARGET_XID, "4711", &t);
	is_int(pickOf(&r, &t, NULL, 0, NULL, &pick), 2, "xid: the newest backup");
	ok(strstr(pick.reason, "cannot be placed against backups without reading WAL") != NULL &&
	   strstr(pick.reason, "2024-05-01 12:33:20+00") != NULL,
	   "reason says why, and when the backup stopped");
	parseOk(RESTORE_TARGET_NAME, "before upgrade", &t);
	is_int(pickOf(&r, &t, NULL, 0, NULL, NULL), 2, "name: the newest backup");
	is_int(pickOf(&r, &t, "20240101-000000F", 0, NULL, &pick), 0,
		   "name: --backup overrides");
	is_str(pick.reason, "named with --backup", "reason: named");

	/* a named backup */
	t = targetLsn("0/6000000");
	is_int(pickOf(&r, &t, "20240102-000000I", 0, NULL, NULL), 1,
		   "LSN with a named backup that ended before it");
	is_int(pickOf(&r, &t, "20240103-000000I", DR_ERR_INVALID,
				  "backup \"20240103-000000I\" ends at 0/7000100, after the recovery target LSN \"0/6000000\"",
				  NULL), -1, "LSN with a named backup that ends after it: refused");
	t = targetTime(NOON * USEC + 5);
	is_int(pickOf(&r, &t, "20240101-000000F", DR_ERR_INVALID,
				  "ends at 2024-05-01 12:00:01+00, after the recovery target time", NULL), -1,
		   "time with a named backup that ends after it: refused");
	is_int(pickOf(&r, &t, "20990101-000000F", DR_ERR_NOT_FOUND, "is not in the repository", NULL),
		   -1, "a named backup that does not exist: NOT_FOUND");

	walHistoryFree(r.history);
}

static void
testPickArchiveEnds(void)
{
	RestoreReach r = reachLinear(0, 0);
	RestoreTarget t;

	/* the archive is empty */
	t = targetLsn("0/7000100");
	is_int(pickOf(&r, &t, NULL, 0, NULL, NULL), 2,
		   "empty archive: LSN at the newest backup's stop is reachable");
	t = targetLsn("0/7000101");
	is_int(pickOf(&r, &t, NULL, DR_ERR_INVALID,
				  "after the newest WAL the repository holds, 0/7000100: the end of backup 20240103-000000I, after which the WAL archive holds nothing",
				  NULL), -1, "empty archive: LSN after the newest stop refused");
	t = targetLsn("0/6000000");
	is_int(pickOf(&r, &t, NULL, DR_ERR_INVALID, "0/5000100: the end of backup 20240102-000000I",
				  NULL), -1,
		   "empty archive: LSN between two backups refused (no WAL after the older one)");
	t = targetTime((NOON + 4000) * USEC);
	is_int(pickOf(&r, &t, NULL, DR_ERR_INVALID, "the WAL archive is empty", NULL), -1,
		   "empty archive: time refused");
	parseOk(RESTORE_TARGET_XID, "4711", &t);
	is_int(pickOf(&r, &t, NULL, DR_ERR_INVALID, "the WAL archive is empty", NULL), -1,
		   "empty archive: xid refused");
	walHistoryFree(r.history);

	/* the archive ends with the newest backup's stop segment */
	r = reachLinear(lsn("0/8000000"), NOON + 2001);
	t = targetTime((NOON + 2500) * USEC);
	is_int(pickOf(&r, &t, NULL, DR_ERR_INVALID,
				  "holds nothing after the end of backup 20240103-000000I (0/7000100); its newest segment is 000000010000000000000007",
				  NULL), -1, "archive ending with the backup's stop segment: time refused");
	t = targetTime((NOON + 1500) * USEC);
	is_int(pickOf(&r, &t, NULL, 0, NULL, NULL), 1,
		   "but a time reached from an older backup is fine");
	t = targetLsn("0/7FFFFFF");
	is_int(pickOf(&r, &t, NULL, DR_ERR_INVALID, "after the newest WAL", NULL), -1,
		   "and an LSN past the stop, inside the stop segment, is refused");
	/* both refusals say what to do about WAL not archived yet */
	{
		DrError		err;
		RestoreTarget targets[2];
		RestorePick pick;

		targets[0] = targetLsn("0/7FFFFFF");
		targets[1] = targetTime((NOON + 2500) * USEC);
		for (int i = 0; i < 2; i++)
		{
			drErrorClear(&err);
			ok(!restoreTargetPick(&r, &targets[i], NULL, &pick, &err) &&
			   strstr(err.hint, "run SELECT pg_switch_wal()") != NULL &&
			   strstr(err.hint, "wait for the archiver") != NULL,
			   "WAL not archived (%s target): the hint says to switch WAL on the source or wait",
			   i == 0 ? "LSN" : "time");
		}
	}
	walHistoryFree(r.history);
}

static void
testPickTimelines(void)
{
	/* timeline 2 branched off timeline 1 at 0/6000000 */
	static const char historyText[] = "1\t0/6000000\tno recovery target specified\n";
	ManifestHeader b[4];
	RestoreReach r;
	RestoreTarget t;
	DrError		err;

	b[0] = header("20240101-000000F", 1, lsn("0/3000100"), NOON);
	b[1] = header("20240102-000000F", 1, lsn("0/7000100"), NOON + 1000);	/* off */
	b[2] = header("20240103-000000F", 2, lsn("0/8000100"), NOON + 2000);
	b[3] = header("20240104-000000I", 2, lsn("0/9000100"), NOON + 3000);
	memset(&r, 0, sizeof(r));
	r.backups = b;
	r.backupCount = 4;
	drErrorClear(&err);
	r.history = walHistoryParse(historyText, strlen(historyText), 2,
								"00000002.history", &err);
	ok(r.history != NULL, "history of timeline 2 parsed");
	r.walEnd = lsn("0/C000000");
	walSegmentName(r.walEndSegment, 2, 11, SEG);

	t = targetLsn("0/7800000");
	is_int(pickOf(&r, &t, NULL, 0, NULL, NULL), 0,
		   "several timelines: a backup of timeline 1 past the branch point is left out");
	t = targetTime((NOON + 1500) * USEC);
	is_int(pickOf(&r, &t, NULL, 0, NULL, NULL), 0, "the same for a time target");
	t = targetLsn("0/8000100");
	is_int(pickOf(&r, &t, NULL, 0, NULL, NULL), 2,
		   "several timelines: exactly at the stop of a timeline 2 backup");
	t = targetLsn("0/B000000");
	is_int(pickOf(&r, &t, NULL, 0, NULL, NULL), 3, "several timelines: the newest");
	is_int(pickOf(&r, &t, "20240102-000000F", DR_ERR_INVALID,
				  "(timeline 1, stop LSN 0/7000100) is not on the history of timeline 2", NULL),
		   -1, "a named backup off the history: refused");
	t = targetLsn("0/2000000");
	is_int(pickOf(&r, &t, NULL, DR_ERR_INVALID, "(the end of backup 20240101-000000F)", NULL),
		   -1, "several timelines: before every backup, naming the oldest on the history");

	/* without a history, nothing is left out */
	walHistoryFree(r.history);
	r.history = NULL;
	t = targetLsn("0/7800000");
	is_int(pickOf(&r, &t, NULL, 0, NULL, NULL), 1, "no history: every backup counts");

	/* a timeline without a backup on its history */
	r.history = walHistoryRoot(3);
	is_int(pickOf(&r, &t, NULL, DR_ERR_INVALID,
				  "no backup of the repository is on the history of timeline 3", NULL),
		   -1, "no backup on the newest timeline's history: refused");
	walHistoryFree(r.history);
}

/* ---- the WAL walk of restore_pitr_name.c, over WAL written here ---- */

#define FAKE_SEG			(1024 * 1024)

typedef struct FakeWal
{
	char	   *buf;			/* two segments, from LSN 0 */
	uint64		pos;			/* where the next byte goes */
} FakeWal;

static size_t
fakeHeaderSize(uint64 page)
{
	return page % FAKE_SEG == 0 ? SizeOfXLogLongPHD : SizeOfXLogShortPHD;
}

static void
fakeInit(FakeWal *w)
{
	w->buf = palloc0(2 * FAKE_SEG);
	for (uint64 page = 0; page < 2 * FAKE_SEG; page += XLOG_BLCKSZ)
	{
		XLogLongPageHeaderData h;

		memset(&h, 0, sizeof(h));
		h.std.xlp_magic = XLOG_PAGE_MAGIC;
		h.std.xlp_tli = 1;
		h.std.xlp_pageaddr = page;
		if (page % FAKE_SEG == 0)
		{
			h.std.xlp_info = XLP_LONG_HEADER;
			h.xlp_seg_size = FAKE_SEG;
			h.xlp_xlog_blcksz = XLOG_BLCKSZ;
		}
		memcpy(w->buf + page, &h, fakeHeaderSize(page));
	}
	w->pos = SizeOfXLogLongPHD;
}

/* Where a record of len bytes written at pos would end (or, copy = write it). */
static uint64
fakeWrite(FakeWal *w, const char *rec, uint32 len, bool copy, uint64 *start)
{
	uint64		pos = MAXALIGN(w->pos);
	uint32		done = 0;

	if (pos % XLOG_BLCKSZ == 0)
		pos += fakeHeaderSize(pos);
	*start = pos;
	while (done < len)
	{
		uint32		n;

		if (pos % XLOG_BLCKSZ == 0)
		{
			if (copy)
			{
				XLogPageHeaderData h;

				memcpy(&h, w->buf + pos, sizeof(h));
				h.xlp_info |= XLP_FIRST_IS_CONTRECORD;
				h.xlp_rem_len = len - done;
				memcpy(w->buf + pos, &h, sizeof(h));
			}
			pos += fakeHeaderSize(pos);
		}
		n = Min(len - done, (uint32) (XLOG_BLCKSZ - pos % XLOG_BLCKSZ));
		if (copy)
			memcpy(w->buf + pos, rec + done, n);
		done += n;
		pos += n;
	}
	if (copy)
		w->pos = pos;
	return pos;
}

/* A record of another resource manager, len bytes in all. */
static void
fakeFiller(FakeWal *w, uint32 len)
{
	char	   *rec = palloc0(len);
	XLogRecord	hdr;
	uint64		start;

	memset(&hdr, 0, sizeof(hdr));
	hdr.xl_tot_len = len;
	hdr.xl_rmid = RM_HEAP_ID;
	memcpy(rec, &hdr, sizeof(hdr));
	fakeWrite(w, rec, len, true, &start);
	pfree(rec);
}

/* Filler so that the next record starts at lsn (MAXALIGNed, past pos). */
static void
fakeFillTo(FakeWal *w, uint64 lsn)
{
	for (uint32 len = SizeOfXLogRecord; len < FAKE_SEG; len++)
	{
		uint64		start;
		uint64		end = fakeWrite(w, NULL, len, false, &start);

		if (MAXALIGN(end) == lsn ||
			(MAXALIGN(end) % XLOG_BLCKSZ == 0 &&
			 MAXALIGN(end) + fakeHeaderSize(MAXALIGN(end)) == lsn))
		{
			fakeFiller(w, len);
			return;
		}
	}
	diag("cannot fill to %X", (unsigned) lsn);
}

/* The end of the last restore point written, MAXALIGNed as XLogInsert's. */
static uint64 fakeLastEnd;

/* A restore point record; a bad CRC when broken.  Its start LSN. */
static uint64
fakeRestorePoint(FakeWal *w, const char *name, bool broken)
{
	char		rec[SizeOfXLogRecord + 2 + sizeof(xl_restore_point)];
	XLogRecord	hdr;
	xl_restore_point point;
	pg_crc32c	crc;
	uint64		start;

	memset(&hdr, 0, sizeof(hdr));
	memset(&point, 0, sizeof(point));
	point.rp_time = 12345;
	strlcpy(point.rp_name, name, sizeof(point.rp_name));
	hdr.xl_tot_len = sizeof(rec);
	hdr.xl_rmid = RM_XLOG_ID;
	hdr.xl_info = XLOG_RESTORE_POINT;
	rec[SizeOfXLogRecord] = (char) XLR_BLOCK_ID_DATA_SHORT;
	rec[SizeOfXLogRecord + 1] = (char) sizeof(point);
	memcpy(rec + SizeOfXLogRecord + 2, &point, sizeof(point));
	INIT_CRC32C(crc);
	COMP_CRC32C(crc, rec + SizeOfXLogRecord, sizeof(rec) - SizeOfXLogRecord);
	COMP_CRC32C(crc, &hdr, offsetof(XLogRecord, xl_crc));
	FIN_CRC32C(crc);
	hdr.xl_crc = broken ? crc ^ 1 : crc;
	memcpy(rec, &hdr, SizeOfXLogRecord);
	fakeLastEnd = MAXALIGN(fakeWrite(w, rec, sizeof(rec), true, &start));
	return start;
}

static bool
walkFound(const RestoreWalWalk *walk, const uint64 *lsns, int count)
{
	if (walk->foundCount != count)
	{
		diag("found %d restore points, expected %d", walk->foundCount, count);
		return false;
	}
	for (int i = 0; i < count; i++)
		if (walk->found[i].lsn != lsns[i] || walk->found[i].time != 12345 ||
			walk->found[i].endLsn <= lsns[i])
		{
			diag("point %d at %X, expected %X", i, (unsigned) walk->found[i].lsn,
				 (unsigned) lsns[i]);
			return false;
		}
	return true;
}

static void
testWalWalk(void)
{
	FakeWal		w;
	RestoreWalWalk walk;
	uint64		p[4];
	uint64		crossSeg;
	uint64		p1End;

	fakeInit(&w);
	fakeFiller(&w, 100);
	p[0] = fakeRestorePoint(&w, "before upgrade", false);
	fakeRestorePoint(&w, "before upgrade 2", false);	/* another name */
	fakeFiller(&w, 3 * XLOG_BLCKSZ);	/* across pages */
	fakeFillTo(&w, 5 * XLOG_BLCKSZ - 40);
	p[1] = fakeRestorePoint(&w, "before upgrade", false);	/* across a page */
	p1End = fakeLastEnd;
	fakeRestorePoint(&w, "before upgrade", true);	/* torn: bad CRC */
	fakeFillTo(&w, FAKE_SEG - 48);
	crossSeg = fakeRestorePoint(&w, "before upgrade", false);	/* across segments */
	fakeFiller(&w, 20000);
	p[2] = fakeRestorePoint(&w, "before upgrade", false);
	p[3] = 0;

	restoreWalWalkInit(&walk, "before upgrade");
	restoreWalWalkSegment(&walk, w.buf, FAKE_SEG, 0);
	restoreWalWalkSegment(&walk, w.buf + FAKE_SEG, FAKE_SEG, FAKE_SEG);
	ok(walkFound(&walk, (uint64[]) {p[0], p[1], crossSeg, p[2]}, 4),
	   "walk: every restore point of the name, across pages and segments; not another name, not a bad CRC");
	restoreWalWalkSegment(&walk, w.buf + FAKE_SEG, FAKE_SEG, FAKE_SEG);
	is_int(walk.foundCount, 4, "walk: a segment read twice finds each point once");
	ok(walk.found[1].endLsn == p1End && p1End == 5 * XLOG_BLCKSZ + SizeOfXLogShortPHD + 64,
	   "walk: a point's end is where XLogInsert says it ends, past the page header it crossed");
	restoreWalWalkFree(&walk);

	restoreWalWalkInit(&walk, "before upgrade");
	restoreWalWalkSegment(&walk, w.buf + FAKE_SEG, FAKE_SEG, FAKE_SEG);
	ok(walkFound(&walk, &p[2], 1),
	   "walk from the second segment: the record continued into it is skipped, the next found");
	restoreWalWalkFree(&walk);

	restoreWalWalkInit(&walk, "before upgrade");
	restoreWalWalkSegment(&walk, w.buf, FAKE_SEG, 0);
	restoreWalWalkGap(&walk);
	restoreWalWalkSegment(&walk, w.buf + FAKE_SEG, FAKE_SEG, 2 * FAKE_SEG);
	ok(walkFound(&walk, p, 2),
	   "walk: a segment at the wrong address is not WAL of the place: the record across it is lost");
	restoreWalWalkFree(&walk);

	restoreWalWalkInit(&walk, "no such point");
	restoreWalWalkSegment(&walk, w.buf, FAKE_SEG, 0);
	restoreWalWalkSegment(&walk, w.buf + FAKE_SEG, FAKE_SEG, FAKE_SEG);
	is_int(walk.foundCount, 0, "walk: a name that is not there is not found");
	restoreWalWalkFree(&walk);
	pfree(w.buf);
}

/*
 * Timeline 1 from 0, archived up to segment 12; timeline 2 branched off at
 * 0/6000000, segments 6 to 8; timeline 3 branched off at 0/7000000,
 * segments 7 to 9.  Backup F on timeline 1 before both branch points, G on
 * timeline 1 after the first.
 */
static ManifestHeader tlBackups[2];
static RestoreTimeline tlTimelines[3];
static RestoreWalSegment tlSegments[32];

static RestoreReach
reachTimelines(int64 tl1End)
{
	static const char h2[] = "1\t0/6000000\tno recovery target specified\n";
	static const char h3[] = "1\t0/7000000\tno recovery target specified\n";
	RestoreReach r;
	DrError		err;
	int			n = 0;

	tlBackups[0] = header("20240101-000000F", 1, lsn("0/3000100"), NOON);
	tlBackups[1] = header("20240102-000000F", 1, lsn("0/6800100"), NOON + 1200);
	memset(tlTimelines, 0, sizeof(tlTimelines));
	tlTimelines[0].tli = 1;
	tlTimelines[0].history = walHistoryRoot(1);
	tlTimelines[1].tli = 2;
	tlTimelines[1].history = walHistoryParse(h2, strlen(h2), 2, "00000002.history", &err);
	tlTimelines[1].created = NOON + 1000;
	tlTimelines[2].tli = 3;
	tlTimelines[2].history = walHistoryParse(h3, strlen(h3), 3, "00000003.history", &err);
	tlTimelines[2].created = NOON + 1500;
	for (int i = 1; i <= 12; i++)
		tlSegments[n++] = (RestoreWalSegment) {1, i, tl1End - (12 - i) * 10};
	for (int i = 6; i <= 8; i++)
		tlSegments[n++] = (RestoreWalSegment) {2, i, NOON + 1000 + (i - 6) * 50};
	for (int i = 7; i <= 9; i++)
		tlSegments[n++] = (RestoreWalSegment) {3, i, NOON + 1500 + (i - 7) * 50};
	/* each timeline's own end, as the scan computes it */
	tlTimelines[0].walEnd = 13 * (uint64) SEG;
	tlTimelines[0].walEndArchived = tl1End;
	tlTimelines[1].walEnd = 9 * (uint64) SEG;
	tlTimelines[1].walEndArchived = NOON + 1100;
	tlTimelines[2].walEnd = 10 * (uint64) SEG;
	tlTimelines[2].walEndArchived = NOON + 1600;

	memset(&r, 0, sizeof(r));
	r.backups = tlBackups;
	r.backupCount = 2;
	r.timelines = tlTimelines;
	r.timelineCount = 3;
	r.segments = tlSegments;
	r.segmentCount = n;
	r.segSize = SEG;
	r.newestTli = 3;
	restoreReachFollow(&r, 3);
	return r;
}

static void
reachTimelinesFree(void)
{
	for (int i = 0; i < 3; i++)
		walHistoryFree(tlTimelines[i].history);
}

/* The timeline picked (0 and a diagnostic on a surprise). */
static uint32
tliOf(const RestoreReach *r, const RestoreTarget *t, const char *backupId,
	  uint32 requested, RestoreTimelinePick *out)
{
	DrError		err;

	drErrorClear(&err);
	if (!restoreTimelinePick(r, t, backupId, requested, out, &err))
	{
		diag("refused: %s", err.message);
		return 0;
	}
	return out->tli;
}

static void
testTimelines(void)
{
	RestoreReach r = reachTimelines(NOON + 3000);
	RestoreTimelinePick pick;
	RestoreTarget t;
	RestoreTarget none;
	DrError		err;
	char	   *text;

	/* the end of the WAL along each timeline */
	is_str(r.walEndSegment, "000000030000000000000009", "follow 3: its newest segment");
	restoreReachFollow(&r, 2);
	ok(r.history == tlTimelines[1].history && r.walEnd == 9 * (uint64) SEG,
	   "follow 2: its history, WAL to the end of its segment 8");
	is_str(r.walEndSegment, "000000020000000000000008",
		   "follow 2: timeline 1's segments past the branch point left out");
	restoreReachFollow(&r, 1);
	is_str(r.walEndSegment, "00000001000000000000000C", "follow 1: timeline 1's newest");
	ok(r.walEndArchived == NOON + 3000, "follow 1: when it was stored");

	/* a time only timeline 1 holds: after the others stopped */
	t = targetTime((NOON + 2000) * USEC);
	is_int(tliOf(&r, &t, NULL, 0, &pick), 1,
		   "a time after the other timelines stopped: timeline 1, not the newest");
	ok(!pick.latest && strstr(pick.reason, "the only one") != NULL &&
	   pick.warning[0] == '\0', "the only one holding it: said so, no warning");

	/*
	 * a time in the second timeline 1's newest segment was stored at (the
	 * store time is cut down to the second): timeline 1 holds it (it did
	 * not, and the restore then followed timeline 3, "archived last")
	 */
	t = targetTime((NOON + 3000) * USEC + USEC / 2);
	is_int(tliOf(&r, &t, NULL, 0, &pick), 1,
		   "a time in the second of timeline 1's newest segment: timeline 1");
	ok(strstr(pick.reason, "the only one") != NULL,
	   "which holds it, and only it");

	/* a time two timelines hold: the one written last, the other named */
	t = targetTime((NOON + 1050) * USEC);
	is_int(tliOf(&r, &t, NULL, 0, &pick), 1,
		   "a time timelines 1 and 2 hold: timeline 1, written last");
	if (!ok(strstr(pick.warning, "could follow (2); following timeline 1") != NULL &&
			strstr(pick.warningHint, "--target-timeline") != NULL,
			"the warning names timeline 2 and --target-timeline"))
		diag("%s", pick.warning);

	/* LSNs: in every timeline's own part, or before the branch points */
	t = targetLsn("0/8800000");
	is_int(tliOf(&r, &t, NULL, 0, &pick), 1, "an LSN all three hold: timeline 1");
	ok(strstr(pick.warning, "(2 and 3)") != NULL, "the warning names 2 and 3");
	t = targetLsn("0/2000000");
	is_int(tliOf(&r, &t, NULL, 0, &pick), 1, "an LSN before the branch points: timeline 1");
	ok(pick.warning[0] == '\0', "only timeline 1 holds it in its own part: no warning");
	t = targetLsn("0/9800000");
	is_int(tliOf(&r, &t, NULL, 0, &pick), 1,
		   "an LSN past timeline 3's end: timeline 1 still holds it");

	/* what cannot be placed: the timeline written last */
	memset(&none, 0, sizeof(none));
	is_int(tliOf(&r, &none, NULL, 0, &pick), 1, "no target: the timeline written last");
	ok(strstr(pick.warning, "(2 and 3)") != NULL, "no target: the others named");
	t = targetLsn("0/1000000");
	parseOk(RESTORE_TARGET_XID, "1000", &t);
	is_int(tliOf(&r, &t, NULL, 0, &pick), 1, "a transaction id: the timeline written last");

	/* a former primary that stopped: its descendants go on */
	reachTimelinesFree();
	r = reachTimelines(NOON + 900);
	tlTimelines[0].walEndArchived = NOON + 900;
	is_int(tliOf(&r, &none, NULL, 0, &pick), 3,
		   "timeline 1 stopped first: the timeline written last, 3");
	ok(pick.latest, "3 is the newest: 'latest' says the same");
	if (!ok(strstr(pick.warning, "could follow (2)") != NULL,
			"an ancestor is no alternative, a sibling is"))
		diag("%s", pick.warning);
	t = targetTime((NOON + 1550) * USEC);
	is_int(tliOf(&r, &t, NULL, 0, &pick), 3, "a time only timeline 3 holds");
	t = targetTime((NOON + 500) * USEC);
	is_int(tliOf(&r, &t, NULL, 0, &pick), 1, "a time before both branches: timeline 1");

	/* requested */
	is_int(tliOf(&r, &none, NULL, 2, &pick), 2, "--target-timeline 2: taken");
	ok(strstr(pick.reason, "--target-timeline") != NULL && !pick.latest,
	   "the reason names the option");
	drErrorClear(&err);
	ok(!restoreTimelinePick(&r, &none, NULL, 9, &pick, &err) &&
	   err.code == DR_ERR_NOT_FOUND &&
	   strstr(err.message, "timeline 9 is not in the repository") != NULL,
	   "an unknown timeline: NOT_FOUND");
	drErrorClear(&err);
	ok(!restoreTimelinePick(&r, &none, "20240102-000000F", 2, &pick, &err) &&
	   err.code == DR_ERR_INVALID &&
	   strstr(err.message, "backup \"20240102-000000F\" is not on the history of timeline 2") != NULL &&
	   err.hint[0] != '\0',
	   "a timeline the backup is not on: INVALID");

	/* only timelines the named backup reaches: G is past timeline 2's branch */
	is_int(tliOf(&r, &none, "20240102-000000F", 0, &pick), 3,
		   "backup G: timeline 2 is out of reach, 3 is the one written last");
	tlTimelines[2].walEndArchived = NOON + 100;
	tlTimelines[0].walEndArchived = NOON + 800;
	is_int(tliOf(&r, &none, "20240102-000000F", 0, &pick), 1,
		   "backup G, timeline 1 written last: 1");
	reachTimelinesFree();

	/* the setting */
	none.timeline = 2;
	text = restoreTargetSettings(&none);
	ok(strstr(text, "\nrecovery_target_timeline = '2'\n") != NULL,
	   "no target, timeline 2: recovery_target_timeline = '2'");
	pfree(text);
	t = targetTime((NOON + 500) * USEC);
	t.timeline = 1;
	text = restoreTargetSettings(&t);
	ok(strstr(text, "\nrecovery_target_timeline = '1'\n") != NULL &&
	   strstr(text, "latest") == NULL,
	   "a target on timeline 1: recovery_target_timeline = '1', not 'latest'");
	pfree(text);
}

/* restoreTimelineNameChoose over the candidates of reachTimelines */
static uint32
nameTli(const RestoreReach *r, const uint32 *tlis, int count,
		const char *at1, const char *at2, const char *at3,
		RestoreTimelinePick *pick)
{
	uint64		found[3];
	const char *at[3] = {at1, at2, at3};
	DrError		err;

	/* found[] follows the order of tlis, at1..at3 name timelines 1..3 */
	for (int c = 0; c < count; c++)
		found[c] = at[tlis[c] - 1] ? lsn(at[tlis[c] - 1]) : 0;
	drErrorClear(&err);
	if (!restoreTimelineNameChoose(r, "p", tlis, found, count, pick, &err))
	{
		diag("refused: %s", err.message);
		return 0;
	}
	return pick->tli;
}

static void
testTimelineNames(void)
{
	RestoreReach r = reachTimelines(NOON + 3000);
	RestoreTimelinePick pick;
	uint32		tlis[3];
	uint64		none[3] = {0, 0, 0};
	DrError		err;
	int			count;

	/* timeline 1 written last, then 3, then 2 */
	count = restoreTimelineCandidates(&r, NULL, tlis);
	ok(count == 3 && tlis[0] == 1 && tlis[1] == 3 && tlis[2] == 2,
	   "candidates: the timeline written last first (1, 3, 2)");
	ok(restoreTimelineCandidates(&r, "20240102-000000F", tlis) == 2 &&
	   tlis[0] == 1 && tlis[1] == 3,
	   "candidates for backup G: timeline 2 is out of its reach");
	count = restoreTimelineCandidates(&r, NULL, tlis);

	/* made on timeline 2 after its branch point: only 2 holds it */
	is_int(nameTli(&r, tlis, count, NULL, "0/6500000", NULL, &pick), 2,
		   "a name only timeline 2 holds: timeline 2, not the one written last");
	ok(!pick.latest && pick.warning[0] == '\0' &&
	   strstr(pick.reason, "timeline 2, the one written last whose archived WAL holds") != NULL,
	   "timeline 2 is not the newest ('latest' would be 3), no warning, the reason says why");

	/* before every branch point: one point all timelines share */
	is_int(nameTli(&r, tlis, count, "0/2000000", "0/2000000", "0/2000000", &pick), 1,
		   "a name in WAL all timelines share: the one written last");
	if (!ok(pick.warning[0] == '\0', "the same point: no warning"))
		diag("%s", pick.warning);
	ok(strstr(pick.reason, "archived last and holds the restore point") != NULL,
	   "the reason says it was archived last");

	/* two clusters each made one */
	is_int(nameTli(&r, tlis, count, "0/8800000", NULL, "0/8800000", &pick), 1,
		   "the same LSN on timelines 1 and 3, in WAL they do not share: timeline 1");
	if (!ok(strstr(pick.warning, "timeline 3 holds another restore point \"p\"; following timeline 1") != NULL &&
			strstr(pick.warningHint, "--target-timeline") != NULL,
			"the warning names timeline 3 and --target-timeline"))
		diag("%s", pick.warning);
	is_int(nameTli(&r, tlis, count, "0/2000000", "0/6500000", "0/7800000", &pick), 1,
		   "points of the name on every timeline, apart: timeline 1");
	if (!ok(strstr(pick.warning, "timelines 2 and 3 holds another") != NULL,
			"the warning names timelines 2 and 3"))
		diag("%s", pick.warning);

	/* on none */
	drErrorClear(&err);
	ok(!restoreTimelineNameChoose(&r, "p", tlis, none, count, &pick, &err) &&
	   err.code == DR_ERR_INVALID &&
	   strstr(err.message, "restore point \"p\" is not in the archived WAL of timelines 1, 2 and 3") != NULL &&
	   strstr(err.hint, "--target-timeline") != NULL,
	   "on no timeline: INVALID, naming the timelines searched and --target-timeline");
	reachTimelinesFree();
}

int
main(void)
{
	testTimeParse();
	testValueParse();
	testSettings();
	testPickLinear();
	testPickArchiveEnds();
	testPickTimelines();
	testWalWalk();
	testTimelines();
	testTimelineNames();
	return tapDone();
}
