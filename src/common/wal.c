/*-------------------------------------------------------------------------
 * wal.c
 *	  WAL file names and timeline history files (see wal.h).
 *
 * The history parser accepts what readTimeLineHistory() accepts (it reads
 * each line with sscanf "%u\t%X/%X", so any whitespace separates the
 * fields and the reason is free text) and refuses the same inconsistencies,
 * so that a file the server would reject is reported as damaged here, not
 * trusted.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "access/xlog_internal.h"

#include "common/hex.h"
#include "common/wal.h"

/* Segments per "log" (4 GiB of WAL): XLogSegmentsPerXLogId. */
static uint64
walSegmentsPerLog(uint32 segSize)
{
	return UINT64CONST(0x100000000) / segSize;
}

bool
walSegmentSizeValid(uint32 segSize)
{
	return segSize >= 1024 * 1024 && segSize <= 1024 * 1024 * 1024 &&
		(segSize & (segSize - 1)) == 0;
}

uint64
walSegmentOf(uint64 lsn, uint32 segSize)
{
	return lsn / segSize;
}

void
walSegmentName(char *buf, uint32 tli, uint64 segno, uint32 segSize)
{
	uint64		perLog = walSegmentsPerLog(segSize);

	snprintf(buf, WAL_NAME_LEN + 1, "%08X%08X%08X", tli,
			 (uint32) (segno / perLog), (uint32) (segno % perLog));
}

bool
walSegmentNameParse(const char *name, uint32 segSize, uint32 *tli,
					uint64 *segno)
{
	uint32		t,
				log,
				seg;

	if (strlen(name) != WAL_NAME_LEN ||
		!hexToUint32(name, 8, HEX_UPPER, &t) ||
		!hexToUint32(name + 8, 8, HEX_UPPER, &log) ||
		!hexToUint32(name + 16, 8, HEX_UPPER, &seg) ||
		seg >= walSegmentsPerLog(segSize))
		return false;
	*tli = t;
	*segno = (uint64) log * walSegmentsPerLog(segSize) + seg;
	return true;
}

bool
walHistoryNameParse(const char *name, uint32 *tli)
{
	return strlen(name) == 8 + strlen(".history") &&
		strcmp(name + 8, ".history") == 0 &&
		hexToUint32(name, 8, HEX_UPPER, tli);
}

/* Append a timeline to history, growing the array. */
static void
walHistoryAdd(WalHistory *history, int *size, uint32 tli, uint64 begin,
			  uint64 end)
{
	if (history->count == *size)
	{
		*size *= 2;
		history->timelines = repalloc(history->timelines,
									  *size * sizeof(WalTimeline));
	}
	history->timelines[history->count].tli = tli;
	history->timelines[history->count].begin = begin;
	history->timelines[history->count].end = end;
	history->count++;
}

/*
 * One line: "<tli><ws><hi>/<lo>[<ws><reason>]", the line already stripped
 * of leading whitespace and known not to be empty or a comment.
 */
static bool
walHistoryLineParse(const char *line, const char *lineEnd, uint32 *tli,
					uint64 *lsn)
{
	const char *p = line;
	uint64		v;
	uint32		hi = 0,
				lo = 0;
	int			digits;

	for (v = 0, digits = 0; p < lineEnd && *p >= '0' && *p <= '9'; p++, digits++)
	{
		v = v * 10 + (uint64) (*p - '0');
		if (v > PG_UINT32_MAX)
			return false;
	}
	if (digits == 0)
		return false;
	*tli = (uint32) v;

	if (p == lineEnd || (*p != ' ' && *p != '\t'))
		return false;
	while (p < lineEnd && (*p == ' ' || *p == '\t'))
		p++;

	for (int part = 0; part < 2; part++)
	{
		uint32		x = 0;

		for (digits = 0; p < lineEnd && digits <= 8; p++, digits++)
		{
			char		c = *p;

			if (c >= '0' && c <= '9')
				x = (x << 4) | (uint32) (c - '0');
			else if (c >= 'A' && c <= 'F')
				x = (x << 4) | (uint32) (c - 'A' + 10);
			else if (c >= 'a' && c <= 'f')
				x = (x << 4) | (uint32) (c - 'a' + 10);
			else
				break;
		}
		if (digits == 0 || digits > 8)
			return false;
		if (part == 0)
		{
			hi = x;
			if (p == lineEnd || *p != '/')
				return false;
			p++;
		}
		else
			lo = x;
	}
	/* the reason, if any, must be separated from the location */
	if (p < lineEnd && *p != ' ' && *p != '\t' && *p != '\r')
		return false;
	*lsn = ((uint64) hi << 32) | lo;
	return true;
}

WalHistory *
walHistoryParse(const char *text, size_t len, uint32 tli, const char *name,
				DrError *err)
{
	WalHistory *history = palloc0(sizeof(WalHistory));
	int			size = 8;
	const char *p = text;
	const char *end = text + len;
	int			lineNo = 0;
	uint64		prevEnd = 0;

	history->tli = tli;
	history->timelines = palloc(size * sizeof(WalTimeline));

	while (p < end)
	{
		const char *lineEnd = memchr(p, '\n', end - p);
		const char *next;
		uint32		parent;
		uint64		switchpoint;

		if (lineEnd == NULL)
			lineEnd = end;
		next = lineEnd < end ? lineEnd + 1 : end;
		lineNo++;

		while (p < lineEnd && (*p == ' ' || *p == '\t' || *p == '\r'))
			p++;
		if (p == lineEnd || *p == '#')
		{
			p = next;
			continue;
		}

		if (!walHistoryLineParse(p, lineEnd, &parent, &switchpoint))
		{
			drErrorSet(err, DR_ERR_CORRUPT,
					   "history file \"%s\" line %d: expected a timeline and a switch point (\"<tli>\\t<X/X>\")",
					   name, lineNo);
			goto fail;
		}
		if (history->count > 0 &&
			parent <= history->timelines[history->count - 1].tli)
		{
			drErrorSet(err, DR_ERR_CORRUPT,
					   "history file \"%s\" line %d: timeline %u does not follow timeline %u",
					   name, lineNo, parent,
					   history->timelines[history->count - 1].tli);
			goto fail;
		}
		if (switchpoint < prevEnd)
		{
			drErrorSet(err, DR_ERR_CORRUPT,
					   "history file \"%s\" line %d: the switch point of timeline %u lies before that of the timeline before it",
					   name, lineNo, parent);
			goto fail;
		}
		walHistoryAdd(history, &size, parent, prevEnd, switchpoint);
		prevEnd = switchpoint;
		p = next;
	}

	if (history->count > 0 &&
		tli <= history->timelines[history->count - 1].tli)
	{
		drErrorSet(err, DR_ERR_CORRUPT,
				   "history file \"%s\" names timeline %u, which is not older than timeline %u itself",
				   name, history->timelines[history->count - 1].tli, tli);
		goto fail;
	}
	walHistoryAdd(history, &size, tli, prevEnd, WAL_LSN_END);
	return history;

fail:
	walHistoryFree(history);
	return NULL;
}

WalHistory *
walHistoryRoot(uint32 tli)
{
	WalHistory *history = palloc0(sizeof(WalHistory));

	history->tli = tli;
	history->count = 1;
	history->timelines = palloc(sizeof(WalTimeline));
	history->timelines[0].tli = tli;
	history->timelines[0].begin = 0;
	history->timelines[0].end = WAL_LSN_END;
	return history;
}

void
walHistoryFree(WalHistory *history)
{
	if (history == NULL)
		return;
	pfree(history->timelines);
	pfree(history);
}

const WalTimeline *
walHistoryFind(const WalHistory *history, uint32 tli)
{
	for (int i = 0; i < history->count; i++)
		if (history->timelines[i].tli == tli)
			return &history->timelines[i];
	return NULL;
}

uint32
walHistoryTimelineOf(const WalHistory *history, uint64 segno, uint32 segSize)
{
	/* newest first, as recovery tries them */
	for (int i = history->count - 1; i > 0; i--)
	{
		const WalTimeline *t = &history->timelines[i];

		if (walSegmentOf(t->begin, segSize) <= segno)
			return t->tli;
	}
	return history->timelines[0].tli;
}

bool
walHistoryReaches(const WalHistory *history, uint32 tli, uint64 lsn)
{
	const WalTimeline *t = walHistoryFind(history, tli);

	return t != NULL && t->begin <= lsn && lsn < t->end;
}

bool
walSegmentHeaderCheck(const char *name, const void *page, size_t len,
					  uint32 segSize, uint64 systemIdentifier, char *actual,
					  DrError *err)
{
	XLogLongPageHeaderData header;
	char		segment[WAL_NAME_LEN + 1];
	char		other[WAL_NAME_LEN + 1];
	uint32		tli;
	uint64		segno;

	if (actual)
		actual[0] = '\0';
	strlcpy(segment, name, sizeof(segment));
	if (len < sizeof(header))
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "WAL segment %s is too short to begin with a WAL page header (%zu bytes)",
						  name, len);
	/* the file's bytes need not be aligned for the struct */
	memcpy(&header, page, sizeof(header));
	if (header.std.xlp_magic != XLOG_PAGE_MAGIC ||
		!(header.std.xlp_info & XLP_LONG_HEADER))
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "WAL segment %s does not begin with a WAL page header of this server version (magic 0x%04X)",
						  name, header.std.xlp_magic);
	if (segSize == 0)
	{
		if (!walSegmentSizeValid(header.xlp_seg_size))
			return drErrorSet(err, DR_ERR_CORRUPT,
							  "WAL segment %s gives an invalid segment size (%u bytes)",
							  name, header.xlp_seg_size);
		segSize = header.xlp_seg_size;
	}
	if (header.xlp_seg_size != segSize)
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "WAL segment %s was written with segments of %u bytes, not %u",
						  name, header.xlp_seg_size, segSize);
	if (!walSegmentNameParse(segment, segSize, &tli, &segno))
		return drErrorSet(err, DR_ERR_INVALID,
						  "\"%s\" is not the name of a WAL segment of %u bytes",
						  name, segSize);

	walSegmentName(other, header.std.xlp_tli,
				   header.std.xlp_pageaddr / segSize, segSize);
	if (header.std.xlp_pageaddr != segno * segSize ||
		header.std.xlp_tli > tli)
	{
		if (actual)
			strlcpy(actual, other, WAL_NAME_LEN + 1);
		if (header.std.xlp_pageaddr != segno * segSize)
			return drErrorSet(err, DR_ERR_CORRUPT,
							  "WAL segment %s holds the WAL of segment %s (its first page is at %X/%X, not %X/%X)",
							  name, other,
							  LSN_FORMAT_ARGS(header.std.xlp_pageaddr),
							  LSN_FORMAT_ARGS(segno * segSize));
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "WAL segment %s holds the WAL of segment %s (timeline %u, newer than the name's %u)",
						  name, other, header.std.xlp_tli, tli);
	}
	if (systemIdentifier != 0 && header.xlp_sysid != systemIdentifier)
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "WAL segment %s is of another cluster (system identifier " UINT64_FORMAT ", not " UINT64_FORMAT ")",
						  name, header.xlp_sysid, systemIdentifier);
	return true;
}
