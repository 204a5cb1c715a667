/*-------------------------------------------------------------------------
 * test_ha_watch_decide.c
 *	  Unit tests of the lag watcher's decisions (src/ha/ha_watch_decide.c).
 *
 * Covers: threshold transitions from every level (above, exactly at, in
 * the hysteresis band, at and below the resolve point, unknown value,
 * threshold off), swept as a table; the replay delay (first sample,
 * caught up, moving, stuck, stuck then moving, PostgreSQL's own lag
 * larger, unknown position); a missing standby (present, within the
 * grace, at it, after it, forgotten, from every level); the synchronous
 * set (off, none, one, two sorted, duplicates, not streaming, lagging,
 * unknown lag, no bound, empty name, unchanged, quoting, too many names
 * to fit, none healthy keeps the setting); synchronous mode off (pg_dr's
 * own value in postgresql.auto.conf reset, an administrator's value or one
 * from postgresql.conf left alone, nothing when empty); a fenced node
 * writes nothing, on or off; which values are pg_dr's own form; the
 * tier's default.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "ha/ha_watch_decide.h"
#include "tap.h"

#define SEC		((int64) 1000000)
#define NOW		((TimestampTz) 849000000 * SEC)

static const char *const actNames[] = {"none", "raise", "resolve"};

static void
testThreshold(void)
{
	static const struct
	{
		HaWatchLevel level;
		bool		known;
		double		value;
		double		threshold;
		HaWatchAct	expected;
		const char *what;
	}			cases[] = {
		{HA_WATCH_UNKNOWN, true, 101, 100, HA_WATCH_RAISE, "unknown, above: raise"},
		{HA_WATCH_CLEAR, true, 101, 100, HA_WATCH_RAISE, "clear, above: raise"},
		{HA_WATCH_RAISED, true, 101, 100, HA_WATCH_NONE, "raised, above: stays"},
		{HA_WATCH_CLEAR, true, 100, 100, HA_WATCH_NONE, "clear, exactly at: nothing"},
		{HA_WATCH_RAISED, true, 100, 100, HA_WATCH_NONE, "raised, exactly at: stays"},
		{HA_WATCH_UNKNOWN, true, 100, 100, HA_WATCH_RESOLVE, "unknown, at: resolve a leftover"},
		{HA_WATCH_RAISED, true, 81, 100, HA_WATCH_NONE, "raised, in the band: stays"},
		{HA_WATCH_CLEAR, true, 81, 100, HA_WATCH_NONE, "clear, in the band: nothing"},
		{HA_WATCH_RAISED, true, 80, 100, HA_WATCH_RESOLVE, "raised, at 80 %: resolve"},
		{HA_WATCH_RAISED, true, 0, 100, HA_WATCH_RESOLVE, "raised, zero: resolve"},
		{HA_WATCH_CLEAR, true, 0, 100, HA_WATCH_NONE, "clear, zero: nothing"},
		{HA_WATCH_UNKNOWN, true, 0, 100, HA_WATCH_RESOLVE, "unknown, zero: resolve"},
		{HA_WATCH_RAISED, false, 0, 100, HA_WATCH_NONE, "raised, no value: stays"},
		{HA_WATCH_CLEAR, false, 0, 100, HA_WATCH_NONE, "clear, no value: nothing"},
		{HA_WATCH_UNKNOWN, false, 0, 100, HA_WATCH_NONE, "unknown, no value: nothing"},
		{HA_WATCH_RAISED, true, 1e12, 0, HA_WATCH_RESOLVE, "raised, threshold off: resolve"},
		{HA_WATCH_UNKNOWN, true, 1e12, 0, HA_WATCH_RESOLVE, "unknown, threshold off: resolve"},
		{HA_WATCH_CLEAR, true, 1e12, -1, HA_WATCH_NONE, "clear, threshold off: nothing"},
	};

	for (size_t i = 0; i < lengthof(cases); i++)
	{
		HaWatchAct	got = haWatchThreshold(cases[i].level, cases[i].known,
										   cases[i].value, cases[i].threshold);

		is_str(actNames[got], actNames[cases[i].expected], "%s", cases[i].what);
	}

	/* a lag that rises and falls, carried out as the watcher does */
	{
		static const double series[] = {10, 50, 120, 150, 90, 85, 70, 95, 130, 0};
		static const HaWatchAct expected[] = {
			HA_WATCH_RESOLVE, HA_WATCH_NONE, HA_WATCH_RAISE, HA_WATCH_NONE,
			HA_WATCH_NONE, HA_WATCH_NONE, HA_WATCH_RESOLVE, HA_WATCH_NONE,
		HA_WATCH_RAISE, HA_WATCH_RESOLVE};
		HaWatchLevel level = HA_WATCH_UNKNOWN;
		int			wrong = 0;

		for (size_t i = 0; i < lengthof(series); i++)
		{
			HaWatchAct	act = haWatchThreshold(level, true, series[i], 100);

			if (act != expected[i])
			{
				diag("step %zu: value %.0f gave %s", i, series[i], actNames[act]);
				wrong++;
			}
			if (act == HA_WATCH_RAISE)
				level = HA_WATCH_RAISED;
			else if (act == HA_WATCH_RESOLVE)
				level = HA_WATCH_CLEAR;
		}
		is_int(wrong, 0, "a series: one raise per crossing, resolved below 80 %%");
	}
}

static void
testReplayDelay(void)
{
	HaWatchReplayTrack t = {0};

	is_int(haWatchReplayDelayMs(&t, InvalidXLogRecPtr, 100, -1, NOW), -1,
		   "unknown replay position: unknown delay");
	ok(t.since == 0, "... and the track untouched");
	is_int(haWatchReplayDelayMs(&t, 100, 100, -1, NOW), 0, "caught up: no delay");
	is_int(haWatchReplayDelayMs(&t, 100, 200, -1, NOW + 3 * SEC), 3000,
		   "behind and not moved for 3 s: 3000 ms");
	is_int(haWatchReplayDelayMs(&t, 100, 300, -1, NOW + 10 * SEC), 10000,
		   "still stuck while more arrives: 10000 ms");
	is_int(haWatchReplayDelayMs(&t, 150, 300, -1, NOW + 11 * SEC), 0,
		   "it moved: the delay starts over");
	is_int(haWatchReplayDelayMs(&t, 150, 300, 250, NOW + 11 * SEC + 100 * 1000), 250,
		   "PostgreSQL's replay lag when larger");
	is_int(haWatchReplayDelayMs(&t, 150, 300, -1, NOW + 12 * SEC), 1000,
		   "stuck again for 1 s");
	is_int(haWatchReplayDelayMs(&t, 300, 300, 5000, NOW + 13 * SEC), 0,
		   "caught up: 0, whatever the last reported lag");

	memset(&t, 0, sizeof(t));
	is_int(haWatchReplayDelayMs(&t, 100, 200, -1, NOW), 0,
		   "first sample behind: no history, no delay yet");
	is_int(haWatchReplayDelayMs(&t, 100, 200, -1, NOW + 2 * SEC), 2000,
		   "second sample, same place: 2000 ms");
}

static void
testMissing(void)
{
	bool		forget = true;
	int64		g = HA_WATCH_MISSING_GRACE_MS;
	int64		f = HA_WATCH_FORGET_MS;

	is_int(haWatchMissing(HA_WATCH_RAISED, true, NOW, NOW, g, f, &forget),
		   HA_WATCH_RESOLVE, "back: resolve");
	ok(!forget, "... not forgotten");
	is_int(haWatchMissing(HA_WATCH_CLEAR, true, NOW, NOW, g, f, &forget),
		   HA_WATCH_NONE, "present and clear: nothing");
	is_int(haWatchMissing(HA_WATCH_UNKNOWN, true, NOW, NOW, g, f, &forget),
		   HA_WATCH_RESOLVE, "present, unknown: resolve a leftover");
	is_int(haWatchMissing(HA_WATCH_CLEAR, false, NOW, NOW + g * 1000 - 1, g, f, &forget),
		   HA_WATCH_NONE, "gone within the grace: nothing yet");
	is_int(haWatchMissing(HA_WATCH_CLEAR, false, NOW, NOW + g * 1000, g, f, &forget),
		   HA_WATCH_RAISE, "gone for the grace: raise");
	is_int(haWatchMissing(HA_WATCH_RAISED, false, NOW, NOW + 60 * SEC, g, f, &forget),
		   HA_WATCH_NONE, "still gone, raised: stays");
	is_int(haWatchMissing(HA_WATCH_UNKNOWN, false, NOW, NOW + 60 * SEC, g, f, &forget),
		   HA_WATCH_RAISE, "gone, unknown: raise");
	is_int(haWatchMissing(HA_WATCH_RAISED, false, NOW, NOW + f * 1000, g, f, &forget),
		   HA_WATCH_RESOLVE, "gone for a day: resolved");
	ok(forget, "... and forgotten");
	is_int(haWatchMissing(HA_WATCH_CLEAR, false, NOW, NOW + f * 1000, g, f, &forget),
		   HA_WATCH_NONE, "forgotten while clear: nothing to write");
	ok(forget, "... forgotten all the same");
}

static void
testSync(void)
{
	HaWatchStandby s[6];
	HaWatchSyncInput in = {.on = true, .standbys = s, .maxLagBytes = 1000};
	HaWatchSyncResult r;

	memset(s, 0, sizeof(s));
	s[0] = (HaWatchStandby) {"s2", true, 0};
	s[1] = (HaWatchStandby) {"s1", true, 10};

	in.on = false;
	in.count = 2;
	haWatchSyncDecide(&in, &r);
	ok(r.action == HA_WATCH_SYNC_KEEP && !r.noneHealthy, "off: nothing is touched");

	in.on = true;
	in.current = "";
	haWatchSyncDecide(&in, &r);
	ok(r.action == HA_WATCH_SYNC_SET, "two healthy, empty setting: set");
	is_str(r.value, "ANY 1 (\"s1\", \"s2\")", "sorted, quoted");
	is_int(r.healthy, 2, "two healthy");

	in.current = "ANY 1 (\"s1\", \"s2\")";
	haWatchSyncDecide(&in, &r);
	ok(r.action == HA_WATCH_SYNC_KEEP, "the same set in effect: nothing written");

	s[0].streaming = false;		/* s2 in catchup */
	haWatchSyncDecide(&in, &r);
	ok(r.action == HA_WATCH_SYNC_SET, "one not streaming: set changes");
	is_str(r.value, "ANY 1 (\"s1\")", "... to the other alone");

	s[0].streaming = true;
	s[1].flushLagBytes = 1001;	/* s1 too far behind */
	haWatchSyncDecide(&in, &r);
	is_str(r.value, "ANY 1 (\"s2\")", "lagging above the bound: left out");
	s[1].flushLagBytes = 1000;
	haWatchSyncDecide(&in, &r);
	is_str(r.value, "ANY 1 (\"s1\", \"s2\")", "exactly at the bound: healthy");
	s[1].flushLagBytes = -1;
	haWatchSyncDecide(&in, &r);
	is_str(r.value, "ANY 1 (\"s2\")", "unknown lag with a bound: left out");
	in.maxLagBytes = 0;
	haWatchSyncDecide(&in, &r);
	is_str(r.value, "ANY 1 (\"s1\", \"s2\")", "no bound: any streaming one");
	in.maxLagBytes = 1000;
	s[1].flushLagBytes = 0;

	s[2] = (HaWatchStandby) {"s1", true, 0};
	s[3] = (HaWatchStandby) {"", true, 0};
	s[4] = (HaWatchStandby) {NULL, true, 0};
	s[5] = (HaWatchStandby) {"we\"ird", true, 0};
	in.count = 6;
	in.current = NULL;
	haWatchSyncDecide(&in, &r);
	is_str(r.value, "ANY 1 (\"s1\", \"s2\", \"we\"\"ird\")",
		   "duplicates once, no empty name, quotes doubled");
	is_int(r.healthy, 3, "three distinct healthy");

	/* none healthy: keep what is in effect, say so */
	for (int i = 0; i < 6; i++)
		s[i].streaming = false;
	in.current = "ANY 1 (\"s1\", \"s2\")";
	haWatchSyncDecide(&in, &r);
	ok(r.action == HA_WATCH_SYNC_KEEP && r.noneHealthy && r.healthy == 0,
	   "none healthy: the last set is kept, commits wait");
	in.count = 0;
	haWatchSyncDecide(&in, &r);
	ok(r.action == HA_WATCH_SYNC_KEEP && r.noneHealthy, "no standby at all: kept too");
	in.current = "";
	haWatchSyncDecide(&in, &r);
	ok(r.action == HA_WATCH_SYNC_KEEP && r.noneHealthy,
	   "none ever healthy: pg_dr does not make up a set");

	/* more names than fit */
	{
		HaWatchStandby many[40];
		char		names[40][64];

		for (int i = 0; i < 40; i++)
		{
			snprintf(names[i], sizeof(names[i]), "standby_with_a_long_name_%02d", i);
			many[i] = (HaWatchStandby) {names[i], true, 0};
		}
		in.standbys = many;
		in.count = 40;
		haWatchSyncDecide(&in, &r);
		ok(r.action == HA_WATCH_SYNC_SET && r.left > 0 && r.healthy + r.left == 40,
		   "too many to fit: %d written, %d left out", r.healthy, r.left);
		ok(strlen(r.value) < HA_WATCH_SYNC_VALUE_MAX &&
		   r.value[strlen(r.value) - 1] == ')', "... and the value is whole");
	}

	/* fenced: the set it would write is worked out, never written */
	{
		HaWatchStandby two[2] = {{"s2", true, 0}, {"s1", true, 0}};

		in.standbys = two;
		in.count = 2;
		in.current = "ANY 1 (\"s1\")";
		in.fenced = true;
		haWatchSyncDecide(&in, &r);
		ok(r.action == HA_WATCH_SYNC_KEEP, "fenced, the healthy set changed: nothing written");
		is_str(r.value, "ANY 1 (\"s1\", \"s2\")", "... the set is still worked out");
		in.fenced = false;
		haWatchSyncDecide(&in, &r);
		ok(r.action == HA_WATCH_SYNC_SET, "not fenced: the same round writes it");
	}

	ok(haWatchSyncDefault("critical"), "critical: synchronous by default");
	ok(!haWatchSyncDefault("high") && !haWatchSyncDefault("low") &&
	   !haWatchSyncDefault(NULL), "other tiers: asynchronous");
}

/* Synchronous mode off: pg_dr's own value is reset, no other. */
static void
testSyncOff(void)
{
	HaWatchStandby s[1] = {{"s1", true, 0}};
	HaWatchSyncInput in = {.on = false, .standbys = s, .count = 1,
	.currentInAutoConf = true};
	HaWatchSyncResult r;
	static const struct
	{
		const char *value;
		bool		own;
	}			forms[] = {
		{"ANY 1 (\"s1\")", true},
		{"ANY 1 (\"n2\", \"n3\")", true},
		{"ANY 1 (\"a\", \"b\", \"we\"\"ird\")", true},
		{"ANY 1 (\"n3\", \"n2\")", false},	/* not sorted */
		{"ANY 1 (\"n2\", \"n2\")", false},	/* twice */
		{"ANY 1 (n2, n3)", false},			/* unquoted */
		{"ANY 1 (\"n2\",\"n3\")", false},	/* no space */
		{"ANY 2 (\"n2\", \"n3\")", false},
		{"FIRST 1 (\"n2\", \"n3\")", false},
		{"any 1 (\"n2\")", false},
		{"ANY 1 (\"n2\") ", false},			/* trailing */
		{"ANY 1 (\"n2\"", false},
		{"ANY 1 (\"n2)", false},
		{"ANY 1 (\"\")", false},				/* empty name */
		{"ANY 1 ()", false},
		{"\"n2\"", false},
		{"n2", false},
		{"*", false},
		{"", false},
	};

	for (size_t i = 0; i < lengthof(forms); i++)
		ok(haWatchSyncIsOwn(forms[i].value) == forms[i].own, "'%s': %s", forms[i].value,
		   forms[i].own ? "pg_dr's form" : "not pg_dr's");
	ok(!haWatchSyncIsOwn(NULL), "NULL: not pg_dr's");

	in.current = "ANY 1 (\"n2\", \"n3\")";
	haWatchSyncDecide(&in, &r);
	ok(r.action == HA_WATCH_SYNC_RESET && !r.foreign,
	   "off, pg_dr's set (naming nodes that may be gone): reset");
	in.fenced = true;
	haWatchSyncDecide(&in, &r);
	ok(r.action == HA_WATCH_SYNC_KEEP && !r.foreign, "... not on a fenced node");
	in.fenced = false;
	in.currentInAutoConf = false;
	haWatchSyncDecide(&in, &r);
	ok(r.action == HA_WATCH_SYNC_KEEP && r.foreign,
	   "off, pg_dr's form but from postgresql.conf: left alone, said");
	in.currentInAutoConf = true;
	in.current = "FIRST 1 (n2, n3)";
	haWatchSyncDecide(&in, &r);
	ok(r.action == HA_WATCH_SYNC_KEEP && r.foreign,
	   "off, an administrator's value: left alone, said");
	in.current = "";
	haWatchSyncDecide(&in, &r);
	ok(r.action == HA_WATCH_SYNC_KEEP && !r.foreign, "off, empty: nothing to do");
	in.current = NULL;
	haWatchSyncDecide(&in, &r);
	ok(r.action == HA_WATCH_SYNC_KEEP && !r.foreign && !r.noneHealthy,
	   "off, unknown: nothing to do");

	/* on again: pg_dr's value replaces whatever is there */
	in.on = true;
	in.current = "FIRST 1 (n2, n3)";
	haWatchSyncDecide(&in, &r);
	ok(r.action == HA_WATCH_SYNC_SET && !r.foreign, "on: an administrator's value is replaced");
	ok(haWatchSyncIsOwn(r.value), "what pg_dr writes is of its own form");
}

int
main(void)
{
	testThreshold();
	testReplayDelay();
	testMissing();
	testSync();
	testSyncOff();
	return tapDone();
}
