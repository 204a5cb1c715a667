/*-------------------------------------------------------------------------
 * audit_note.c
 *	  The durable note that an operation began: a file under the data
 *	  directory, written and fsynced by the operation's own backend before
 *	  the operation does anything (see audit.h for why).
 *
 * A note is pg_dr/audit_inflight/<epoch>-<pid>-<n>: the shared memory's
 * epoch (auditShared->epoch, new at every start and crash restart of the
 * server), the backend's pid and a counter of the backend.  It holds one
 * AuditNote (audit_shared.h) with a CRC, written with O_EXCL, fsynced,
 * then the directory fsynced: once auditNoteWrite returns, the note
 * survives a crash of the whole server.  A note torn by a crash during
 * its write belongs to an operation that had not started (auditOpBegin
 * had not returned); its CRC fails and the sweep drops it.
 *
 * Why a file and not a row: a row the backend inserts commits with the
 * operation's transaction, so a failed or crashed operation's row would
 * vanish; a row the worker inserts on the backend's behalf (the earlier
 * design, pgdr.audit_inflight) is lost while it waits in shared memory,
 * and the operation had to wait for the worker before it could start.
 * The file needs neither: no autonomous transaction, no waiting.  Files
 * are not WAL-logged, so a standby promoted after its primary died does
 * not learn of the primary's operations in flight; the primary's own
 * data directory (restarted, or restored from a backup that copied the
 * note) does.
 *
 * The worker removes a note after it committed the operation's audit_log
 * row (audit_writer.c).  A crash between that commit and the unlink
 * leaves a note whose row exists: the sweep finds that row (same backend
 * pid, started_at to the microsecond and operation) and records nothing
 * a second time.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file_perm.h"
#include "miscadmin.h"
#include "port/pg_crc32c.h"
#include "storage/fd.h"

#include "ops/audit.h"
#include "ops/audit_shared.h"

#define AUDIT_NOTE_PARENT		"pg_dr"
#define AUDIT_NOTE_MAGIC		0x50444e31	/* "PDN1" */

/* Notes written by this backend so far: the <n> of the next name. */
static uint32 auditNoteCounter = 0;

static pg_crc32c
auditNoteCrc(const AuditNote *note)
{
	pg_crc32c	crc;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, (const char *) note + offsetof(AuditNote, startedAt),
				sizeof(AuditNote) - offsetof(AuditNote, startedAt));
	FIN_CRC32C(crc);
	return crc;
}

/* Make dir if missing, durably (the entry fsynced in its parent). */
static void
auditNoteMkdir(const char *dir, const char *parent)
{
	if (MakePGDirectory(dir) == 0)
	{
		fsync_fname(dir, true);
		fsync_fname(parent, true);
	}
	else if (errno != EEXIST)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m", dir)));
}

void
auditNoteWrite(const AuditOp *op, char *name, size_t nameSize)
{
	AuditNote  *note;
	char		path[MAXPGPATH];
	int			fd;

	auditNoteMkdir(AUDIT_NOTE_PARENT, ".");
	auditNoteMkdir(AUDIT_NOTE_DIR, AUDIT_NOTE_PARENT);

	note = palloc0(sizeof(AuditNote));
	note->magic = AUDIT_NOTE_MAGIC;
	note->startedAt = op->startedAt;
	note->pid = MyProcPid;
	strlcpy(note->sessionUser, op->sessionUser, sizeof(note->sessionUser));
	strlcpy(note->currentUser, op->currentUser, sizeof(note->currentUser));
	strlcpy(note->operation, op->operation, sizeof(note->operation));
	if (strlen(op->arguments) >= sizeof(note->arguments))
		snprintf(note->arguments, sizeof(note->arguments),
				 "{\"truncated\": true, \"length\": %zu}", strlen(op->arguments));
	else
		strlcpy(note->arguments, op->arguments, sizeof(note->arguments));
	note->crc = auditNoteCrc(note);

	/*
	 * A note outlives its backend until the worker has chained the
	 * operation's end, so an earlier backend with this pid may have left
	 * one of the same name: take the next number then.
	 */
	for (int tries = 0;; tries++)
	{
		snprintf(name, nameSize, "%016llx-%d-%u",
				 (unsigned long long) auditShared->epoch, MyProcPid,
				 auditNoteCounter++);
		snprintf(path, sizeof(path), "%s/%s", AUDIT_NOTE_DIR, name);
		fd = OpenTransientFile(path, O_WRONLY | O_CREAT | O_EXCL | PG_BINARY);
		if (fd >= 0 || errno != EEXIST || tries >= 1000)
			break;
	}
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create audit note \"%s\": %m", path),
				 errhint("pg_dr operations note in the data directory that they began, so that a crash cannot lose their audit record.")));
	errno = 0;
	if (write(fd, note, sizeof(AuditNote)) != sizeof(AuditNote))
	{
		int			save = errno ? errno : ENOSPC;

		CloseTransientFile(fd);
		unlink(path);
		errno = save;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write audit note \"%s\": %m", path)));
	}
	if (pg_fsync(fd) != 0)
		ereport(data_sync_elevel(ERROR),
				(errcode_for_file_access(),
				 errmsg("could not fsync audit note \"%s\": %m", path)));
	CloseTransientFile(fd);
	fsync_fname(AUDIT_NOTE_DIR, true);
	pfree(note);
}

void
auditNoteRemove(const char *name)
{
	char		path[MAXPGPATH];

	if (name[0] == '\0')
		return;
	snprintf(path, sizeof(path), "%s/%s", AUDIT_NOTE_DIR, name);
	/* not durable on purpose: a note that comes back is found recorded */
	if (unlink(path) != 0 && errno != ENOENT)
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("could not remove audit note \"%s\": %m", path)));
}

bool
auditNoteOfEarlierLifetime(const char *name)
{
	unsigned long long epoch;
	int			pid;
	unsigned int n;
	char		tail;

	if (sscanf(name, "%16llx-%d-%u%c", &epoch, &pid, &n, &tail) != 3)
		return false;
	return (int64) epoch != auditShared->epoch;
}

List *
auditNotesOfEarlierLifetimes(void)
{
	DIR		   *dir;
	struct dirent *de;
	List	   *names = NIL;

	dir = AllocateDir(AUDIT_NOTE_DIR);
	if (dir == NULL && errno == ENOENT)
		return NIL;
	while ((de = ReadDir(dir, AUDIT_NOTE_DIR)) != NULL)
	{
		if (auditNoteOfEarlierLifetime(de->d_name))
			names = lappend(names, pstrdup(de->d_name));
	}
	FreeDir(dir);
	return names;
}

bool
auditNoteRead(const char *name, AuditNote *note)
{
	char		path[MAXPGPATH];
	int			fd;
	ssize_t		got;

	snprintf(path, sizeof(path), "%s/%s", AUDIT_NOTE_DIR, name);
	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
	{
		if (errno == ENOENT)
			return false;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open audit note \"%s\": %m", path)));
	}
	got = read(fd, note, sizeof(AuditNote));
	if (got < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read audit note \"%s\": %m", path)));
	CloseTransientFile(fd);

	if (got != sizeof(AuditNote) || note->magic != AUDIT_NOTE_MAGIC ||
		!EQ_CRC32C(note->crc, auditNoteCrc(note)))
	{
		ereport(LOG,
				(errmsg("pg_dr audit: note \"%s\" is incomplete, dropped: it was being written when the server stopped, before its operation began",
						path)));
		return false;
	}
	/* terminate every text field whatever the file says */
	note->sessionUser[sizeof(note->sessionUser) - 1] = '\0';
	note->currentUser[sizeof(note->currentUser) - 1] = '\0';
	note->operation[sizeof(note->operation) - 1] = '\0';
	note->arguments[sizeof(note->arguments) - 1] = '\0';
	return true;
}
