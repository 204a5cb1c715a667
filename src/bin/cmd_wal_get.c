/*-------------------------------------------------------------------------
 * cmd_wal_get.c
 *	  pg_dr wal-get: PostgreSQL's restore_command.  Fetch one WAL segment
 *	  or history file from the repository's archive into the path the
 *	  server asks for.
 *
 * The exit status is what the server acts on, so it is chosen with care:
 *	 0    the file is at DESTPATH, authenticated and complete;
 *	 1    the archive does not have it: the server's "not there" (it then
 *	      looks in pg_wal, or ends recovery), printed quietly;
 *	 126  anything else (unreadable repository, wrong key, damaged object,
 *	      disk full, even a usage error): the server treats a status above
 *	      125 as fatal and stops, instead of taking the failure for the end
 *	      of the WAL and ending recovery early at the wrong point.
 *
 * The object is decoded (and authenticated: codec.h) into a temporary file
 * next to DESTPATH, fsynced, and renamed only once the decoder verified the
 * end: the server never reads a partial or unverified file.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "getopt_long.h"

#include "bin/cli.h"
#include "common/logging.h"
#include "common/manifest.h"
#include "repo/repo.h"
#include "repo/repo_backup.h"

/* Exit statuses of wal-get (see above). */
#define CLI_WAL_GET_MISSING		1
#define CLI_WAL_GET_FATAL		126

#define CLI_WAL_GET_BUFFER		(1024 * 1024)

void
cliWalGetHelp(void)
{
	printf("%s wal-get fetches a WAL segment or timeline history file from the\n"
		   "repository's WAL archive, for PostgreSQL's restore_command:\n\n",
		   CLI_PROGNAME);
	printf("  restore_command = '%s wal-get --config /etc/pg_dr.conf %%f %%p'\n\n",
		   CLI_PROGNAME);
	printf("Usage:\n");
	printf("  %s wal-get --config FILE [--repo N] NAME DESTPATH\n", CLI_PROGNAME);
	printf("\nOptions:\n");
	printf("  -c, --config=FILE   pg_dr configuration file (required)\n");
	printf("  -r, --repo=N        repository N (default: the first configured)\n");
	printf("  -h, --help          show this help, then exit\n");
	printf("\nExit status: 0 when the file was fetched, 1 when the archive does not\n"
		   "have it, 126 on any other failure (PostgreSQL then stops recovery).\n");
}

/*
 * Decode the object at objectPath into destPath; a status of the table
 * above.
 */
static int
cliWalGetFetch(Repo *repo, const char *name, const char *objectPath,
			   const char *destPath)
{
	DrError		err;
	RepoObjectRead *read;
	CodecResult result;
	char	   *tmp;
	char	   *buffer;
	int			fd;

	drErrorClear(&err);
	read = repoObjectReadBegin(repo, objectPath, &err);
	if (read == NULL)
	{
		if (err.code == DR_ERR_NOT_FOUND)
			return CLI_WAL_GET_MISSING;
		cliErrorReport(&err);
		return CLI_WAL_GET_FATAL;
	}

	tmp = psprintf("%s.pg_dr-tmp.%d", destPath, (int) getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
	{
		pg_log_error("could not create \"%s\": %m", tmp);
		repoObjectReadFree(read);
		pfree(tmp);
		return CLI_WAL_GET_FATAL;
	}

	buffer = palloc(CLI_WAL_GET_BUFFER);
	for (;;)
	{
		ssize_t		n = repoObjectRead(read, buffer, CLI_WAL_GET_BUFFER, &err);
		char	   *p = buffer;

		if (n < 0)
		{
			repoObjectReadFree(read);
			goto fail;
		}
		if (n == 0)
			break;
		while (n > 0)
		{
			ssize_t		w = write(fd, p, n);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
			{
				if (w == 0)
					errno = ENOSPC;
				drErrorSet(&err, DR_ERR_IO, "could not write \"%s\": %m", tmp);
				repoObjectReadFree(read);
				goto fail;
			}
			p += w;
			n -= w;
		}
	}
	if (!repoObjectReadEnd(read, &result, &err))
		goto fail;

	/* a segment is a power of two from 1 MB to 1 GB long */
	if (manifestWalNameValid(name) &&
		(result.rawSize < 1024 * 1024 || result.rawSize > 1024 * 1024 * 1024 ||
		 (result.rawSize & (result.rawSize - 1)) != 0))
	{
		drErrorSet(&err, DR_ERR_CORRUPT,
				   "archived WAL segment \"%s\" is " UINT64_FORMAT " bytes long, not a WAL segment size",
				   name, result.rawSize);
		goto fail;
	}

	if (fsync(fd) < 0)
	{
		drErrorSet(&err, DR_ERR_IO, "could not fsync \"%s\": %m", tmp);
		goto fail;
	}
	if (close(fd) < 0)
	{
		fd = -1;
		drErrorSet(&err, DR_ERR_IO, "could not close \"%s\": %m", tmp);
		goto fail;
	}
	fd = -1;
	if (rename(tmp, destPath) < 0)
	{
		drErrorSet(&err, DR_ERR_IO, "could not rename \"%s\" to \"%s\": %m",
				   tmp, destPath);
		goto fail;
	}
	pfree(buffer);
	pfree(tmp);
	return CLI_EXIT_OK;

fail:
	cliErrorReport(&err);
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	pfree(buffer);
	pfree(tmp);
	return CLI_WAL_GET_FATAL;
}

int
cliWalGetMain(int argc, char **argv)
{
	static const struct option options[] = {
		{"config", required_argument, NULL, 'c'},
		{"repo", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	const char *command = "wal-get";
	const char *configPath = NULL;
	const char *name;
	const char *destPath;
	int			repoNumber = 0;
	DrConfig   *config;
	const ConfigRepo *repoConfig;
	Repo	   *repo;
	char	   *objectPath;
	DrError		err;
	int			status;
	int			c;

	/* usage errors are fatal too: never let recovery take them for "missing" */
	while ((c = getopt_long(argc, argv, ":c:r:h", options, NULL)) != -1)
	{
		switch (c)
		{
			case 'c':
				configPath = optarg;
				break;
			case 'r':
				if (!cliRepoNumberParse(command, optarg, &repoNumber))
					return CLI_WAL_GET_FATAL;
				break;
			case 'h':
				cliWalGetHelp();
				return CLI_EXIT_OK;
			default:
				cliOptionError(command, c, argv);
				return CLI_WAL_GET_FATAL;
		}
	}
	if (configPath == NULL)
	{
		cliUsageError(command, "no configuration file specified (--config)");
		return CLI_WAL_GET_FATAL;
	}
	if (argc - optind != 2)
	{
		if (argc - optind > 2)
			cliUsageError(command, "too many command-line arguments (first is \"%s\")",
						  argv[optind + 2]);
		else
			cliUsageError(command, "a WAL file name and a destination path are required");
		return CLI_WAL_GET_FATAL;
	}
	name = argv[optind];
	destPath = argv[optind + 1];

	drErrorClear(&err);
	objectPath = repoArchiveWalPath(name, &err);
	if (objectPath == NULL)
	{
		cliErrorReport(&err);
		return CLI_WAL_GET_FATAL;
	}

	config = cliConfigLoad(configPath);
	if (config == NULL)
		return CLI_WAL_GET_FATAL;
	repoConfig = cliRepoSelect(config, repoNumber);
	if (repoConfig == NULL)
	{
		configFree(config);
		return CLI_WAL_GET_FATAL;
	}
	repo = repoOpen(repoConfig, &err);
	if (repo == NULL)
	{
		cliErrorReport(&err);
		configFree(config);
		return CLI_WAL_GET_FATAL;
	}

	status = cliWalGetFetch(repo, name, objectPath, destPath);

	pfree(objectPath);
	repoClose(repo);
	configFree(config);
	return status;
}
