/*-------------------------------------------------------------------------
 * rejoin_local.c
 *	  `pg_dr rejoin`'s side of the stopped data directory (rejoin.h): what
 *	  its pg_control and timeline history say, and the files that make it
 *	  start as a standby.
 *
 * pg_rewind copies the source's configuration files over the target's;
 * this node's own (its port, its pg_dr.config_file naming its
 * ha_node_name, its pg_hba.conf) are kept aside before and put back after
 * (rejoinLocalConfSave/Restore), as PostgreSQL's own pg_rewind tests do.
 *
 * Written durably and in an order a crash cannot hurt: postgresql.auto.conf
 * is replaced whole (temporary file, fsync, rename, directory fsync) before
 * standby.signal is created.  A crash in between leaves a stopped cluster
 * that would start as a primary with a primary_conninfo it ignores; the
 * command run again finishes it.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/pg_control.h"
#include "common/fs.h"
#include "common/string.h"
#include "lib/stringinfo.h"
#include "port/pg_crc32c.h"

#include "bin/rejoin.h"

#define REJOIN_AUTO_CONF		"postgresql.auto.conf"

/* A small file read whole, '\0'-terminated; NULL with errno when not. */
static char *
rejoinFileRead(const char *path, size_t max)
{
	char	   *buf = palloc(max + 1);
	ssize_t		n;
	size_t		have = 0;
	int			fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
	{
		pfree(buf);
		return NULL;
	}
	while (have < max && (n = read(fd, buf + have, max - have)) > 0)
		have += n;
	close(fd);
	buf[have] = '\0';
	return buf;
}

/* A server runs on pgdata: its postmaster.pid names a live process. */
static bool
rejoinLocalRunning(const char *pgdata, long *pid)
{
	char	   *path = psprintf("%s/postmaster.pid", pgdata);
	char	   *text = rejoinFileRead(path, 64);

	pfree(path);
	if (text == NULL)
		return false;
	*pid = strtol(text, NULL, 10);
	pfree(text);
	if (*pid <= 0)
		return false;
	/* EPERM: it exists, as another user */
	return kill((pid_t) *pid, 0) == 0 || errno == EPERM;
}

static const char *
rejoinStateName(DBState state)
{
	switch (state)
	{
		case DB_STARTUP:
			return "starting up";
		case DB_SHUTDOWNED:
			return "shut down";
		case DB_SHUTDOWNED_IN_RECOVERY:
			return "shut down in recovery";
		case DB_SHUTDOWNING:
			return "shutting down";
		case DB_IN_CRASH_RECOVERY:
			return "in crash recovery";
		case DB_IN_ARCHIVE_RECOVERY:
			return "in archive recovery";
		case DB_IN_PRODUCTION:
			return "in production";
	}
	return "unknown";
}

bool
rejoinLocalRead(const char *pgdata, RejoinLocal *local, char **error, char **hint)
{
	ControlFileData control;
	pg_crc32c	crc;
	char	   *path;
	char	   *text;
	long		pid;
	int			fd;
	ssize_t		n;

	memset(local, 0, sizeof(*local));
	local->pgdata = pgdata;
	*hint = NULL;

	path = psprintf("%s/PG_VERSION", pgdata);
	text = rejoinFileRead(path, 16);
	if (text == NULL)
	{
		*error = psprintf("could not read \"%s\": %m", path);
		*hint = pstrdup("--pgdata names the data directory of the old primary.");
		return false;
	}
	if (strtol(text, NULL, 10) != PG_VERSION_NUM / 10000)
	{
		*error = psprintf("\"%s\" is a data directory of PostgreSQL %s, not %d",
						  pgdata, pg_strip_crlf(text) > 0 ? text : "?",
						  PG_VERSION_NUM / 10000);
		return false;
	}

	if (rejoinLocalRunning(pgdata, &pid))
	{
		*error = psprintf("a server is still running on \"%s\" (PID %ld)", pgdata, pid);
		*hint = psprintf("A running server cannot become a standby: stop it first "
						 "(pg_ctl stop -D '%s' -m fast), then run this command again.",
						 pgdata);
		return false;
	}

	path = psprintf("%s/global/pg_control", pgdata);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
	{
		*error = psprintf("could not open \"%s\": %m", path);
		return false;
	}
	n = read(fd, &control, sizeof(control));
	close(fd);
	INIT_CRC32C(crc);
	COMP_CRC32C(crc, &control, offsetof(ControlFileData, crc));
	FIN_CRC32C(crc);
	if (n != (ssize_t) sizeof(control) || !EQ_CRC32C(crc, control.crc) ||
		control.pg_control_version != PG_CONTROL_VERSION)
	{
		*error = psprintf("\"%s\" is damaged or not PostgreSQL %d's (bad size, checksum or version)",
						  path, PG_VERSION_NUM / 10000);
		return false;
	}
	local->systemIdentifier = control.system_identifier;
	local->tli = control.checkPointCopy.ThisTimeLineID;
	local->cleanShutdown = control.state == DB_SHUTDOWNED ||
		control.state == DB_SHUTDOWNED_IN_RECOVERY;
	local->stateName = rejoinStateName(control.state);
	local->checkpoint = control.checkPoint;
	local->minRecoveryPoint = control.minRecoveryPoint;
	local->rewindable = control.data_checksum_version != 0 || control.wal_log_hints;

	/* the history of its timeline (timeline 1 has none) */
	text = NULL;
	if (local->tli > 1)
	{
		path = psprintf("%s/pg_wal/%08X.history", pgdata, local->tli);
		text = rejoinFileRead(path, 1024 * 1024);
		if (text == NULL)
		{
			*error = psprintf("could not read \"%s\", the history of its timeline %u: %m",
							  path, local->tli);
			return false;
		}
	}
	local->historyCount = haTimelineHistoryParse(text, local->tli, &local->history,
												 error);
	if (local->historyCount < 0)
		return false;
	return true;
}

/* s as a quoted value of a configuration file: 'it''s' */
static void
rejoinConfQuote(StringInfo buf, const char *s)
{
	appendStringInfoChar(buf, '\'');
	for (; *s; s++)
	{
		if (*s == '\'')
			appendStringInfoChar(buf, '\'');
		else if (*s == '\\')
			appendStringInfoChar(buf, '\\');
		appendStringInfoChar(buf, *s);
	}
	appendStringInfoChar(buf, '\'');
}

/* The line sets name (name, then spaces or '='). */
static bool
rejoinConfLineSets(const char *line, size_t len, const char *name)
{
	size_t		nameLen = strlen(name);

	while (len > 0 && (*line == ' ' || *line == '\t'))
		line++, len--;
	return len > nameLen && strncmp(line, name, nameLen) == 0 &&
		(line[nameLen] == ' ' || line[nameLen] == '\t' || line[nameLen] == '=');
}

/* Write path whole through a temporary file, durably. */
static bool
rejoinFileReplace(const char *path, const char *data, size_t len, char **error)
{
	char	   *tmp = psprintf("%s.pg_dr-rejoin", path);
	DrError		err;
	int			fd;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, S_IRUSR | S_IWUSR);
	if (fd < 0)
	{
		*error = psprintf("could not create \"%s\": %m", tmp);
		return false;
	}
	errno = 0;
	if ((len > 0 && write(fd, data, len) != (ssize_t) len) || fsync(fd) != 0)
	{
		if (errno == 0)
			errno = ENOSPC;
		*error = psprintf("could not write \"%s\": %m", tmp);
		close(fd);
		unlink(tmp);
		return false;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0)
	{
		*error = psprintf("could not write \"%s\": %m", path);
		unlink(tmp);
		return false;
	}
	drErrorClear(&err);
	if (!fsSyncParent(path, &err))
	{
		*error = pstrdup(err.message);
		return false;
	}
	return true;
}

bool
rejoinLocalStandbyWrite(const char *pgdata, const char *primaryConninfo,
						char **error, char **hint)
{
	char	   *path = psprintf("%s/" REJOIN_AUTO_CONF, pgdata);
	char	   *old = rejoinFileRead(path, 16 * 1024 * 1024);
	StringInfoData buf;
	const char *p;

	*hint = NULL;
	if (old == NULL && errno != ENOENT)
	{
		*error = psprintf("could not read \"%s\": %m", path);
		return false;
	}
	initStringInfo(&buf);
	if (old == NULL)
		appendStringInfoString(&buf, "# Do not edit this file manually!\n"
							   "# It will be overwritten by the ALTER SYSTEM command.\n");
	/* every line but those setting what is set here */
	for (p = old != NULL ? old : ""; *p;)
	{
		size_t		len = strcspn(p, "\n");

		if (!rejoinConfLineSets(p, len, "primary_conninfo") &&
			!rejoinConfLineSets(p, len, "primary_slot_name"))
		{
			appendBinaryStringInfo(&buf, p, len);
			appendStringInfoChar(&buf, '\n');
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	appendStringInfoString(&buf, "primary_conninfo = ");
	rejoinConfQuote(&buf, primaryConninfo);
	appendStringInfoChar(&buf, '\n');
	if (!rejoinFileReplace(path, buf.data, buf.len, error))
		return false;

	path = psprintf("%s/standby.signal", pgdata);
	if (!rejoinFileReplace(path, "", 0, error))
		return false;
	return true;
}

/* The configuration files kept through pg_rewind. */
static const char *const rejoinConfFiles[REJOIN_CONF_FILES] = {
	"postgresql.conf", REJOIN_AUTO_CONF, "pg_hba.conf", "pg_ident.conf"
};

void
rejoinLocalConfSave(const char *pgdata, RejoinConfSaved *saved)
{
	for (int i = 0; i < REJOIN_CONF_FILES; i++)
	{
		char	   *path = psprintf("%s/%s", pgdata, rejoinConfFiles[i]);

		saved->content[i] = rejoinFileRead(path, 16 * 1024 * 1024);
		pfree(path);
	}
}

bool
rejoinLocalConfRestore(const char *pgdata, const RejoinConfSaved *saved,
					   char **error)
{
	for (int i = 0; i < REJOIN_CONF_FILES; i++)
	{
		char	   *path;

		if (saved->content[i] == NULL)
			continue;
		path = psprintf("%s/%s", pgdata, rejoinConfFiles[i]);
		if (!rejoinFileReplace(path, saved->content[i], strlen(saved->content[i]), error))
			return false;
		pfree(path);
	}
	return true;
}
