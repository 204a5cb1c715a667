/*-------------------------------------------------------------------------
 * restore_recovery.c
 *	  What turns a restored directory into a cluster that recovers:
 *	  recovery.signal, restore_command (and any other recovery settings)
 *	  appended to postgresql.auto.conf, and tablespace_map when tablespaces
 *	  were restored elsewhere.  Also what keeps it from writing into the
 *	  repository it came from: the origin marker and archive_mode = off.
 *
 * Isolation (repo_origin.h): a restored cluster keeps the backup's
 * archive_mode, archive_library and pg_dr.config_file, so started on the
 * same host it would archive its new timeline into the source's
 * repository.  archive_mode = off stops the archiver altogether (the
 * default); the marker, written in any case, makes pg_dr itself refuse to
 * write there -- so with archive_mode kept, WAL waits in pg_wal instead.
 * Both are undone by declaring the cluster primary (--as-primary, or
 * dr_declare_primary() and ALTER SYSTEM RESET archive_mode).
 *
 * restore_command runs "pg_dr wal-get" through the shell, so every path in
 * it is quoted three times over: for the shell ('...', a quote as '\''),
 * for restore_command's own placeholders (a '%' as "%%"), and as a string
 * of postgresql.auto.conf ('...', a quote as '', a backslash doubled).
 * Appending keeps what the backup had; the last setting of a name wins.
 *
 * tablespace_map: when present in the backup, the server recreates the
 * pg_tblspc links from it at the start of recovery, so it must name the
 * directories the tablespaces were restored to.  Paths are escaped as the
 * server's reader expects: a backslash before '\n', '\r' and '\\'.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "common/fs.h"
#include "lib/stringinfo.h"
#include "repo/repo_origin.h"
#include "restore/restore_internal.h"

#define RESTORE_AUTO_CONF		"postgresql.auto.conf"
#define RESTORE_RECOVERY_SIGNAL "recovery.signal"

/* s for the shell, then with restore_command's '%' doubled. */
static void
restoreShellQuote(StringInfo buf, const char *s)
{
	appendStringInfoChar(buf, '\'');
	for (; *s; s++)
	{
		if (*s == '\'')
			appendStringInfoString(buf, "'\\''");
		else if (*s == '%')
			appendStringInfoString(buf, "%%");
		else
			appendStringInfoChar(buf, *s);
	}
	appendStringInfoChar(buf, '\'');
}

void
restoreConfQuote(StringInfo buf, const char *s)
{
	appendStringInfoChar(buf, '\'');
	for (; *s; s++)
	{
		switch (*s)
		{
			case '\'':
				appendStringInfoString(buf, "''");
				break;
			case '\\':
				appendStringInfoString(buf, "\\\\");
				break;
			case '\n':
				appendStringInfoString(buf, "\\n");
				break;
			case '\r':
				appendStringInfoString(buf, "\\r");
				break;
			default:
				appendStringInfoChar(buf, *s);
		}
	}
	appendStringInfoChar(buf, '\'');
}

/* Append text to path (created if missing), on a line of its own. */
static bool
restoreAppend(const char *path, const char *text, DrError *err)
{
	int			fd;
	struct stat st;
	bool		created;

	created = lstat(path, &st) != 0;
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return drErrorSet(err, DR_ERR_IO, "could not open \"%s\": %m", path);
	if (fstat(fd, &st) < 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not stat \"%s\": %m", path);
		close(fd);
		return false;
	}
	if (st.st_size > 0)
	{
		char		last;

		if (pread(fd, &last, 1, st.st_size - 1) != 1)
		{
			drErrorSet(err, DR_ERR_IO, "could not read \"%s\": %m", path);
			close(fd);
			return false;
		}
		if (last != '\n' && !restoreWriteAll(fd, "\n", 1, path, err))
		{
			close(fd);
			return false;
		}
	}
	if (!restoreWriteAll(fd, text, strlen(text), path, err))
	{
		close(fd);
		return false;
	}
	if (fsync(fd) < 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not fsync \"%s\": %m", path);
		close(fd);
		return false;
	}
	if (close(fd) < 0)
		return drErrorSet(err, DR_ERR_IO, "could not close \"%s\": %m", path);
	return !created || fsSyncParent(path, err);
}

/*
 * The origin marker naming the repository restored from, or, for the new
 * primary, no marker (not even one the backup carried).
 */
static bool
restoreOriginWrite(Restore *restore, DrError *err)
{
	RepoOrigin	origin;
	bool		removed;

	if (restore->param.asPrimary)
		return repoOriginRemove(restore->targetDir, &removed, err);
	memset(&origin, 0, sizeof(origin));
	repoIdentity(repoInfoGet(restore->repo), origin.repository);
	strlcpy(origin.repositoryPath, repoConfig(restore->repo)->path,
			sizeof(origin.repositoryPath));
	strlcpy(origin.backup, restore->chain->ids[0], sizeof(origin.backup));
	return repoOriginWrite(restore->targetDir, &origin, err);
}

bool
restoreRecoveryWrite(Restore *restore, DrError *err)
{
	const RestoreParam *param = &restore->param;
	StringInfoData text;
	char	   *path;
	bool		ok;

	initStringInfo(&text);
	appendStringInfo(&text, "# recovery settings added by pg_dr restore of backup %s\n",
					 restore->chain->ids[0]);
	if (param->restoreProgram != NULL)
	{
		StringInfoData command;

		initStringInfo(&command);
		restoreShellQuote(&command, param->restoreProgram);
		appendStringInfoString(&command, " wal-get --config ");
		restoreShellQuote(&command, param->restoreConfigFile);
		if (param->restoreRepoIndex != 0)
			appendStringInfo(&command, " --repo %d", param->restoreRepoIndex);
		appendStringInfoString(&command, " %f %p");
		appendStringInfoString(&text, "restore_command = ");
		restoreConfQuote(&text, command.data);
		appendStringInfoChar(&text, '\n');
		pfree(command.data);
	}
	if (param->recoverySettings != NULL && param->recoverySettings[0] != '\0')
	{
		appendStringInfoString(&text, param->recoverySettings);
		if (text.data[text.len - 1] != '\n')
			appendStringInfoChar(&text, '\n');
	}

	if (!param->asPrimary && param->archiveMode == RESTORE_ARCHIVE_OFF)
		appendStringInfoString(&text,
							   "# not the repository's primary (pg_dr.origin): no archiving until\n"
							   "# SELECT dr_declare_primary(); ALTER SYSTEM RESET archive_mode; and a restart\n"
							   "archive_mode = 'off'\n");

	path = psprintf("%s/%s", restore->targetDir, RESTORE_AUTO_CONF);
	ok = restoreAppend(path, text.data, err);
	pfree(path);
	pfree(text.data);
	if (!ok)
		return false;

	if (!restoreOriginWrite(restore, err))
		return false;

	path = psprintf("%s/%s", restore->targetDir, RESTORE_RECOVERY_SIGNAL);
	ok = restoreFilePut(path, "", 0, 0600, err);
	pfree(path);
	return ok;
}

bool
restoreTablespaceMapWrite(Restore *restore, DrError *err)
{
	StringInfoData text;
	char	   *path;
	bool		ok;

	if (!restore->hasTablespaceMap || !restore->remapped)
		return true;

	initStringInfo(&text);
	for (int i = 0; i < restore->tablespaceCount; i++)
	{
		appendStringInfo(&text, "%u ", restore->tablespaces[i].oid);
		for (const char *p = restore->tablespaces[i].target; *p; p++)
		{
			if (*p == '\n' || *p == '\r' || *p == '\\')
				appendStringInfoChar(&text, '\\');
			appendStringInfoChar(&text, *p);
		}
		appendStringInfoChar(&text, '\n');
	}
	path = psprintf("%s/%s", restore->targetDir, RESTORE_TABLESPACE_MAP);
	ok = restoreFilePut(path, text.data, text.len, 0600, err);
	pfree(path);
	pfree(text.data);
	return ok;
}
