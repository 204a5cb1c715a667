/*-------------------------------------------------------------------------
 * cmd_wal_get.c
 *	  pg_dr wal-get: PostgreSQL's restore_command.  Fetch one WAL segment
 *	  or history file from the repository's archive into the path the
 *	  server asks for: from the first repository (in number order) that
 *	  has a good copy, or only from the one --repo names
 *	  (repo/repo_fallback.h).
 *
 * The exit status is what the server acts on, so it is chosen with care:
 *	 0    the file is at DESTPATH, authenticated and complete;
 *	 1    no repository's archive has it: the server's "not there" (it
 *	      then looks in pg_wal, or ends recovery), printed quietly;
 *	 126  anything else (unreadable repository, wrong key, a damaged object
 *	      and no good copy in another repository, disk full, even a usage
 *	      error): the server treats a status above
 *	      125 as fatal and stops, instead of taking the failure for the end
 *	      of the WAL and ending recovery early at the wrong point.
 *
 * The object is decoded (and authenticated: codec.h) into a temporary file
 * next to DESTPATH, fsynced, and renamed only once the decoder verified the
 * end: the server never reads a partial or unverified file.  It must also
 * be the file asked for (repo_archive.h: its binding, and a segment's first
 * page header against the segment size and system identifier of the
 * cluster being recovered, or else of the repository's newest backup):
 * recovery would take another segment's WAL for the end of the WAL and
 * promote early, so a mismatch is 126, with a message naming both
 * segments, and nothing is written to DESTPATH.
 *
 * Prefetch: recovery asks for one segment at a time and waits for each.
 * After serving segment S, wal-get starts a detached process that fetches
 * S+1 .. S+N (--prefetch N, default 4) in parallel, two at a time, into
 * pg_wal/pg_dr_prefetch/ (inside pg_wal, so no backup copies it): each one
 * decoded and verified like any other, then renamed into place.  The next
 * call finds its segment there and only renames it to DESTPATH (the same
 * file system).  The spool never holds more than the N segments after the
 * one being served: anything else there is removed.  A segment the archive
 * does not have yet is simply not prefetched.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "access/xlog_internal.h"
#include "catalog/pg_control.h"
#include "getopt_long.h"
#include "port/pg_crc32c.h"

#include "bin/cli.h"
#include "common/logging.h"
#include "common/manifest.h"
#include "common/wal.h"
#include "repo/repo.h"
#include "repo/repo_archive.h"
#include "repo/repo_backup.h"
#include "repo/repo_fallback.h"

/* Exit statuses of wal-get (see above). */
#define CLI_WAL_GET_MISSING		1
#define CLI_WAL_GET_FATAL		126

#define CLI_WAL_GET_BUFFER		(1024 * 1024)

#define CLI_WAL_PREFETCH_DIR	"pg_dr_prefetch"
#define CLI_WAL_PREFETCH_DEFAULT	4
#define CLI_WAL_PREFETCH_MAX	64
#define CLI_WAL_PREFETCH_JOBS	2

void
cliWalGetHelp(void)
{
	printf("%s wal-get fetches a WAL segment or timeline history file from the\n"
		   "repository's WAL archive, for PostgreSQL's restore_command:\n\n",
		   CLI_PROGNAME);
	printf("  restore_command = '%s wal-get --config /etc/pg_dr.conf %%f %%p'\n\n",
		   CLI_PROGNAME);
	printf("Usage:\n");
	printf("  %s wal-get [--config FILE] [--repo N] NAME DESTPATH\n", CLI_PROGNAME);
	printf("\nOptions:\n");
	cliCommandHelpConfig(22);
	printf("  -r, --repo=N        only repository N (default: every configured\n"
		   "                      repository in number order, the next one read\n"
		   "                      when a copy is missing or bad)\n");
	printf("  -p, --prefetch=N    fetch the next N segments ahead, in the background\n"
		   "                      (default %d, 0 = off)\n", CLI_WAL_PREFETCH_DEFAULT);
	printf("  -h, --help          show this help, then exit\n");
	printf("\nExit status: 0 when the file was fetched, 1 when the archive does not\n"
		   "have it, 126 on any other failure (PostgreSQL then stops recovery).\n");
}

/* A CodecSink into the temporary file. */
typedef struct CliWalFile
{
	int			fd;
	const char *path;
	bool		failed;			/* a write failed */
} CliWalFile;

static bool
cliWalFileWrite(void *arg, const void *buf, size_t len, DrError *err)
{
	CliWalFile *file = arg;
	const char *p = buf;

	while (len > 0)
	{
		ssize_t		w = write(file->fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
		{
			if (w == 0)
				errno = ENOSPC;
			file->failed = true;
			return drErrorSet(err, DR_ERR_IO, "could not write \"%s\": %m",
							  file->path);
		}
		p += w;
		len -= w;
	}
	return true;
}

/*
 * Decode the archived file name of repo into destPath, checked to be that
 * file (repo_archive.h); a status of the table above, with err set for
 * CLI_WAL_GET_FATAL, and *local set when the failure is on this side
 * (the temporary file, DESTPATH), not the repository's.
 */
static int
cliWalGetFetchOne(Repo *repo, const char *name, const RepoArchiveExpect *expect,
				  const char *destPath, bool *local, DrError *err)
{
	CliWalFile file;
	CodecSink	sink;
	char	   *tmp;

	*local = true;
	tmp = psprintf("%s.pg_dr-tmp.%d", destPath, (int) getpid());
	file.path = tmp;
	file.fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (file.fd < 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not create \"%s\": %m", tmp);
		pfree(tmp);
		return CLI_WAL_GET_FATAL;
	}
	sink.write = cliWalFileWrite;
	sink.arg = &file;

	file.failed = false;
	*local = false;
	if (!repoArchiveRead(repo, name, expect, sink, NULL, err))
	{
		/* a write into the temporary file failed: ours */
		*local = file.failed;
		if (err->code == DR_ERR_NOT_FOUND)
		{
			close(file.fd);
			unlink(tmp);
			pfree(tmp);
			return CLI_WAL_GET_MISSING;
		}
		goto fail;
	}

	*local = true;
	if (fsync(file.fd) < 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not fsync \"%s\": %m", tmp);
		goto fail;
	}
	if (close(file.fd) < 0)
	{
		file.fd = -1;
		drErrorSet(err, DR_ERR_IO, "could not close \"%s\": %m", tmp);
		goto fail;
	}
	file.fd = -1;
	if (rename(tmp, destPath) < 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not rename \"%s\" to \"%s\": %m",
				   tmp, destPath);
		goto fail;
	}
	pfree(tmp);
	return CLI_EXIT_OK;

fail:
	if (file.fd >= 0)
		close(file.fd);
	unlink(tmp);
	pfree(tmp);
	return CLI_WAL_GET_FATAL;
}

/*
 * Fetch name from the first repository of set that has a good copy
 * (repo/repo_fallback.h): a status of the table above.  Missing
 * everywhere is CLI_WAL_GET_MISSING, printed quietly; a copy that failed
 * in one repository and is good in a later one is served with a warning
 * naming both; no good copy but a bad one is CLI_WAL_GET_FATAL, with
 * every repository's error (none when quiet: a prefetch, best effort,
 * whose segment is fetched again, and its failure said, when recovery
 * asks for it).  A failure on this side (the temporary file, DESTPATH)
 * is no bad copy: it is fatal at once.
 */
static int
cliWalGetFetch(const RepoReadSet *set, const char *name,
			   const RepoArchiveExpect *expect, const char *destPath,
			   bool quiet)
{
	RepoReadOutcome outcomes[CONFIG_REPO_MAX];
	DrError		errs[CONFIG_REPO_MAX];
	int			tried = 0;
	int			used;

	for (int i = 0; i < set->count; i++)
	{
		bool		local;
		int			rc;

		drErrorClear(&errs[i]);
		rc = cliWalGetFetchOne(set->repos[i], name, expect, destPath, &local,
							   &errs[i]);
		outcomes[i] = rc == CLI_EXIT_OK ? REPO_READ_OK :
			rc == CLI_WAL_GET_MISSING ? REPO_READ_MISSING : REPO_READ_FAILED;
		tried++;
		if (rc == CLI_EXIT_OK)
			break;
		/* a failure on this side (the destination) is no bad copy */
		if (rc == CLI_WAL_GET_FATAL && local)
		{
			if (!quiet)
				cliErrorReport(&errs[i]);
			return CLI_WAL_GET_FATAL;
		}
		if (rc == CLI_WAL_GET_FATAL && !repoReadFallsBack(&errs[i]))
			break;
	}
	switch (repoReadDecide(outcomes, tried, &used))
	{
		case REPO_READ_OK:
			for (int i = 0; i < used; i++)
			{
				char	   *msg;
				char	   *object = psprintf("WAL file \"%s\"", name);

				if (outcomes[i] == REPO_READ_MISSING)
					drErrorSet(&errs[i], DR_ERR_NOT_FOUND,
							   "its archive does not have it");
				msg = repoFallbackMessage(set->numbers[i], object, &errs[i],
										  "fetched it", set->numbers[used]);
				pg_log_warning("%s", msg);
				pfree(msg);
				pfree(object);
			}
			return CLI_EXIT_OK;
		case REPO_READ_MISSING:
			return CLI_WAL_GET_MISSING;
		case REPO_READ_FAILED:
			break;
	}
	for (int i = 0; i < tried && !quiet; i++)
		if (outcomes[i] == REPO_READ_FAILED)
		{
			if (set->count > 1 || set->forced)
				drErrorPrefix(&errs[i], "repository %d: ", set->numbers[i]);
			cliErrorReport(&errs[i]);
		}
	return CLI_WAL_GET_FATAL;
}

/*
 * The cluster being recovered, when wal-get runs as its restore_command:
 * the server runs it in its data directory, with DESTPATH in pg_wal.  True
 * when its pg_control could be read, with a right CRC: the segment size
 * and system identifier of the cluster the WAL must be of.
 */
static bool
cliWalExpectControl(const char *destPath, RepoArchiveExpect *expect)
{
	ControlFileData control;
	pg_crc32c	crc;
	ssize_t		n;
	int			fd;

	if (strncmp(destPath, "pg_wal/", strlen("pg_wal/")) != 0)
		return false;
	fd = open(XLOG_CONTROL_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, &control, sizeof(control));
	close(fd);
	if (n != (ssize_t) sizeof(control))
		return false;
	INIT_CRC32C(crc);
	COMP_CRC32C(crc, &control, offsetof(ControlFileData, crc));
	FIN_CRC32C(crc);
	if (!EQ_CRC32C(crc, control.crc) ||
		control.pg_control_version != PG_CONTROL_VERSION ||
		!walSegmentSizeValid(control.xlog_seg_size))
		return false;
	expect->segSize = control.xlog_seg_size;
	expect->systemIdentifier = control.system_identifier;
	return true;
}

/*
 * What the segments must be.  The cluster being recovered says it best
 * (cliWalExpectControl).  Otherwise (wal-get run by hand) the repository:
 * the segment size and system identifier of its newest backup whose
 * manifest can be read.  Without any, zero: each segment is then checked
 * against its own segment size, and the system identifier is not checked.
 * A backup that cannot be listed or read is no reason to refuse WAL: the
 * decoding still authenticates it, and its page header is still checked.
 */
static void
cliWalExpect(Repo *repo, const char *destPath, RepoArchiveExpect *expect)
{
	char	  **ids;
	int			count;
	DrError		err;

	memset(expect, 0, sizeof(RepoArchiveExpect));
	if (cliWalExpectControl(destPath, expect))
		return;
	drErrorClear(&err);
	if (!repoBackupList(repo, &ids, &count, &err))
		return;
	for (int i = count - 1; i >= 0; i--)
	{
		RepoBackupManifest *manifest = repoBackupManifestOpen(repo, ids[i], &err);
		const ManifestHeader *header;

		if (manifest == NULL)
			continue;
		header = repoBackupManifestHeader(manifest);
		expect->segSize = header->segmentSize;
		expect->systemIdentifier = header->systemIdentifier;
		repoBackupManifestClose(manifest);
		break;
	}
	repoBackupListFree(ids, count);
}

/*
 * The segment "ahead" segments after name, into next (25 bytes); false
 * when name is not a segment name.
 */
static bool
cliWalNext(const char *name, uint64 segSize, int ahead, char *next)
{
	unsigned int tli,
				log,
				seg;
	uint64		perLog = UINT64CONST(0x100000000) / segSize;
	uint64		no;

	if (!manifestWalNameValid(name) || strlen(name) != MANIFEST_WAL_NAME_LEN ||
		sscanf(name, "%08X%08X%08X", &tli, &log, &seg) != 3)
		return false;
	no = (uint64) log * perLog + seg + ahead;
	snprintf(next, MANIFEST_WAL_NAME_LEN + 1, "%08X%08X%08X",
			 tli, (unsigned int) (no / perLog), (unsigned int) (no % perLog));
	return true;
}

/* One prefetch worker: every jobs-th of the next count segments. */
static void
cliWalPrefetchJob(const RepoReadSet *set, const RepoArchiveExpect *expect,
				  const char *name, uint64 segSize, const char *spool,
				  int count, int jobs, int job)
{
	for (int ahead = 1 + job; ahead <= count; ahead += jobs)
	{
		char		next[MANIFEST_WAL_NAME_LEN + 1];
		char	   *target;
		char	   *lock;
		struct stat st;
		int			fd;
		int			rc;

		if (!cliWalNext(name, segSize, ahead, next))
			return;
		target = psprintf("%s/%s", spool, next);
		if (stat(target, &st) == 0)
			continue;			/* already there */

		/* one fetcher per segment, across overlapping prefetch runs */
		lock = psprintf("%s.lock", target);
		fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
		{
			/* a lock older than ten minutes belongs to a dead prefetch */
			if (stat(lock, &st) == 0 && st.st_mtime < time(NULL) - 600)
				unlink(lock);
			continue;
		}
		close(fd);

		rc = cliWalGetFetch(set, next, expect, target, true);
		unlink(lock);
		if (rc != CLI_EXIT_OK)
			return;				/* not archived yet (or damaged): stop here */
	}
}

/*
 * Remove from the spool what is not among the count segments after name:
 * consumed segments, another timeline's, leftovers of a crashed fetch.
 */
static void
cliWalPrefetchClean(const char *name, uint64 segSize, const char *spool,
					int count)
{
	DIR		   *dir = opendir(spool);
	struct dirent *de;

	if (dir == NULL)
		return;
	while ((de = readdir(dir)) != NULL)
	{
		bool		wanted = false;
		char	   *path;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		for (int ahead = 1; ahead <= count && !wanted; ahead++)
		{
			char		next[MANIFEST_WAL_NAME_LEN + 1];

			if (cliWalNext(name, segSize, ahead, next) &&
				strncmp(de->d_name, next, MANIFEST_WAL_NAME_LEN) == 0)
				wanted = true;
		}
		path = psprintf("%s/%s", spool, de->d_name);
		/* a wanted segment's temporary file or lock may be in use */
		if (!wanted || (strchr(de->d_name, '.') != NULL &&
						stat(path, &st) == 0 && st.st_mtime < time(NULL) - 600))
			unlink(path);
		pfree(path);
	}
	closedir(dir);
}

/*
 * Start fetching the count segments after name in a detached process (see
 * the file header).  Best effort: any failure here only means no prefetch.
 */
static void
cliWalPrefetchStart(const RepoReadSet *set, const RepoArchiveExpect *expect,
					const char *name, uint64 segSize, const char *spool,
					int count)
{
	pid_t		pid;
	pid_t		workers[CLI_WAL_PREFETCH_JOBS];
	int			devnull;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return;
	if (pid > 0)
	{
		/* the first child exits at once: the server must not wait for us */
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return;
	}
	if (setsid() < 0 || fork() != 0)
		_exit(0);

	/* the detached process */
	devnull = open("/dev/null", O_RDONLY);
	if (devnull >= 0)
	{
		dup2(devnull, STDIN_FILENO);
		close(devnull);
	}
	if (mkdir(spool, 0700) < 0 && errno != EEXIST)
		_exit(0);
	cliWalPrefetchClean(name, segSize, spool, count);

	for (int job = 0; job < CLI_WAL_PREFETCH_JOBS; job++)
	{
		workers[job] = fork();
		if (workers[job] == 0)
		{
			cliWalPrefetchJob(set, expect, name, segSize, spool, count,
							  CLI_WAL_PREFETCH_JOBS, job);
			_exit(0);
		}
	}
	for (int job = 0; job < CLI_WAL_PREFETCH_JOBS; job++)
		if (workers[job] > 0)
			while (waitpid(workers[job], NULL, 0) < 0 && errno == EINTR)
				;
	_exit(0);
}

/* The prefetch spool: a directory next to DESTPATH (that is, in pg_wal). */
static char *
cliWalSpool(const char *destPath)
{
	const char *slash = strrchr(destPath, '/');

	if (slash == NULL)
		return pstrdup(CLI_WAL_PREFETCH_DIR);
	return psprintf("%.*s/%s", (int) (slash - destPath), destPath,
					CLI_WAL_PREFETCH_DIR);
}

static bool
cliWalGetOption(void *state, int c, const char *arg)
{
	char	   *end;
	long		n;

	Assert(c == 'p');
	n = strtol(arg, &end, 10);
	if (*arg == '\0' || *end != '\0' || n < 0 || n > CLI_WAL_PREFETCH_MAX)
	{
		cliUsageError("wal-get", "invalid value \"%s\" for option --prefetch: expected 0 to %d",
					  arg, CLI_WAL_PREFETCH_MAX);
		return false;
	}
	*(int *) state = (int) n;	/* --prefetch */
	return true;
}

static const struct option cliWalGetOptions[] = {
	{"prefetch", required_argument, NULL, 'p'},
	{NULL, 0, NULL, 0}
};

/* usage errors are fatal too: never let recovery take them for "missing" */
static const CliCommandSpec cliWalGetSpec = {
	.name = "wal-get",
	.help = cliWalGetHelp,
	.options = cliWalGetOptions,
	.shortOptions = "p:",
	.option = cliWalGetOption,
	.argsMin = 2,
	.argsMax = 2,
	.argsMissing = "a WAL file name and a destination path are required",
	.usageStatus = CLI_WAL_GET_FATAL,
	.failureStatus = CLI_WAL_GET_FATAL,
};

int
cliWalGetMain(int argc, char **argv)
{
	CliCommand	cmd;
	int			prefetch = CLI_WAL_PREFETCH_DEFAULT;
	char	   *spool = NULL;
	const char *name;
	const char *destPath;
	Repo	   *repo;
	RepoReadSet set;
	char	   *objectPath;
	RepoArchiveExpect expect;
	DrError		err;
	int			status;

	if ((status = cliCommandBegin(&cmd, &cliWalGetSpec, &prefetch, argc, argv)) != CLI_CONTINUE)
		return status;
	name = cmd.args[0];
	destPath = cmd.args[1];

	drErrorClear(&err);
	objectPath = repoArchiveWalPath(name, &err);
	if (objectPath == NULL)
	{
		cliErrorReport(&err);
		return CLI_WAL_GET_FATAL;
	}

	if (!cliCommandConfigLoad(&cmd))
		return cliCommandEnd(&cmd, CLI_WAL_GET_FATAL);
	/* every repository, in number order, unless --repo forces one */
	drErrorClear(&err);
	if (!repoReadSetOpen(cmd.config, cmd.repoNumber, &cliWarnHost, &set, &err))
	{
		cliErrorReport(&err);
		return cliCommandEnd(&cmd, CLI_WAL_GET_FATAL);
	}
	repo = set.repos[0];

	/* what the segments must be: the cluster's, or the repository's */
	cliWalExpect(repo, destPath, &expect);

	/* a prefetched segment (checked when fetched) only needs to be moved */
	status = -1;
	if (prefetch > 0 && manifestWalNameValid(name) &&
		strlen(name) == MANIFEST_WAL_NAME_LEN)
	{
		char	   *spooled;

		spool = cliWalSpool(destPath);
		spooled = psprintf("%s/%s", spool, name);
		if (rename(spooled, destPath) == 0)
			status = CLI_EXIT_OK;
		pfree(spooled);
	}
	if (status < 0)
		status = cliWalGetFetch(&set, name, &expect, destPath, false);

	if (status == CLI_EXIT_OK && spool != NULL)
	{
		struct stat st;

		if (stat(destPath, &st) == 0 && st.st_size > 0 &&
			(st.st_size & (st.st_size - 1)) == 0)
			cliWalPrefetchStart(&set, &expect, name, (uint64) st.st_size,
								spool, prefetch);
	}

	pfree(objectPath);
	repoReadSetClose(&set);
	return cliCommandEnd(&cmd, status);
}
