/*-------------------------------------------------------------------------
 * archive_ready.c
 *	  The WAL files waiting for the archiver: one "<name>.ready" file each
 *	  in pg_wal/archive_status, turned into "<name>.done" by the archiver
 *	  once archive_file_cb returned true.
 *
 * Names are taken as the archiver takes them (pgarch.c): a base name of
 * MIN_XFN_CHARS to MAX_XFN_CHARS characters out of VALID_XFN_CHARS, and in
 * its order: timeline history files first, then by name.  A scan holds at
 * most the names asked for, whatever the number of files.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "access/xlog_internal.h"
#include "storage/fd.h"
#include "utils/timestamp.h"

#include "archive/archive_internal.h"
#include "common/compat.h"
#include "common/wal.h"

#include DR_ARCHIVE_MODULE_HEADER

#define ARCHIVE_STATUS_DIR		XLOGDIR "/archive_status"
#define ARCHIVE_READY_SUFFIX	".ready"

/*
 * The base name of a status file if it is a ".ready" of a name the
 * archiver would take (copied into base), else false.
 */
static bool
archiveReadyName(const char *file, char *base)
{
	size_t		len = strlen(file);
	size_t		baseLen;

	if (len <= strlen(ARCHIVE_READY_SUFFIX) ||
		strcmp(file + len - strlen(ARCHIVE_READY_SUFFIX), ARCHIVE_READY_SUFFIX) != 0)
		return false;
	baseLen = len - strlen(ARCHIVE_READY_SUFFIX);
	if (baseLen < MIN_XFN_CHARS || baseLen > MAX_XFN_CHARS ||
		strspn(file, VALID_XFN_CHARS) < baseLen)
		return false;
	memcpy(base, file, baseLen);
	base[baseLen] = '\0';
	return true;
}

/* The archiver's order: negative when a comes first. */
static int
archiveReadyCompare(const char *a, const char *b)
{
	uint32		tli;
	bool		aHistory = walHistoryNameParse(a, &tli);
	bool		bHistory = walHistoryNameParse(b, &tli);

	if (aHistory != bHistory)
		return aHistory ? -1 : 1;
	return strcmp(a, b);
}

int
archiveReadyNext(char (*names)[ARCHIVE_NAME_MAX], int max)
{
	DIR		   *dir;
	struct dirent *de;
	int			count = 0;

	dir = AllocateDir(ARCHIVE_STATUS_DIR);
	while ((de = ReadDir(dir, ARCHIVE_STATUS_DIR)) != NULL)
	{
		char		base[ARCHIVE_NAME_MAX];
		int			pos;

		if (!archiveReadyName(de->d_name, base))
			continue;
		/* insertion into the sorted prefix, keeping the first max */
		pos = count;
		while (pos > 0 && archiveReadyCompare(base, names[pos - 1]) < 0)
			pos--;
		if (pos >= max)
			continue;
		if (count < max)
			count++;
		memmove(names[pos + 1], names[pos],
				(count - 1 - pos) * sizeof(names[0]));
		strlcpy(names[pos], base, ARCHIVE_NAME_MAX);
	}
	FreeDir(dir);
	return count;
}

bool
archiveReadyExists(const char *name)
{
	char		path[MAXPGPATH];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s%s", ARCHIVE_STATUS_DIR, name,
			 ARCHIVE_READY_SUFFIX);
	return stat(path, &st) == 0;
}

void
archiveReadySummary(ArchiveReadySummary *summary)
{
	DIR		   *dir;
	struct dirent *de;
	time_t		oldest = 0;

	memset(summary, 0, sizeof(ArchiveReadySummary));
	dir = AllocateDir(ARCHIVE_STATUS_DIR);
	while ((de = ReadDir(dir, ARCHIVE_STATUS_DIR)) != NULL)
	{
		char		base[ARCHIVE_NAME_MAX];
		char		path[MAXPGPATH];
		struct stat st;

		if (!archiveReadyName(de->d_name, base))
			continue;

		/* either may go away while we look: the archiver is at work */
		snprintf(path, sizeof(path), "%s/%s", ARCHIVE_STATUS_DIR, de->d_name);
		if (stat(path, &st) != 0)
			continue;
		summary->count++;
		if (oldest == 0 || st.st_mtime < oldest)
			oldest = st.st_mtime;
		snprintf(path, sizeof(path), "%s/%s", XLOGDIR, base);
		if (stat(path, &st) == 0)
			summary->bytes += st.st_size;
	}
	FreeDir(dir);
	summary->oldest = oldest ? time_t_to_timestamptz(oldest) : 0;
}
