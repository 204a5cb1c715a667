/*-------------------------------------------------------------------------
 * cmd_info.c
 *	  pg_dr info: what the configured repositories hold, and the effective
 *	  configuration.
 *
 * Every selected repository is opened with repoOpen(), which checks the
 * passphrase, so a successful "pg_dr info" also proves the key file is the
 * right one.  All repositories are read before anything is printed: if one
 * cannot be opened the command fails with its error and prints nothing on
 * stdout (no partial report, no half a JSON document).
 *
 * Backups are the valid ones (repoBackupList: a directory under backup/
 * named like a backup id, with a manifest); each manifest is read to its
 * verified end for the kind, parent, times and sizes.  A backup whose
 * manifest cannot be read is shown with its error rather than failing the
 * whole report.  The WAL archive is counted as the files of archive/wal
 * (repoArchiveIter: segments, ".partial", backup and timeline history
 * files, and any other file at the top or in a log directory).  Listing
 * and manifests stream, so the memory used grows with the number of
 * backups, never with the number of files.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "getopt_long.h"

#include "bin/cli.h"
#include <time.h>

#include "common/hex.h"
#include "common/keys.h"
#include "common/manifest.h"
#include "repo/repo.h"
#include "repo/repo_archive.h"
#include "repo/repo_backup.h"
#include "repo/repo_hold.h"


/* One backup, from its manifest. */
typedef struct CliInfoBackup
{
	char	   *id;
	char	   *error;			/* the manifest could not be read; else NULL */
	ManifestHeader header;		/* label copied */
	uint64		files;
	uint64		size;			/* sum of the file sizes */
	uint64		stored;			/* sum of the stored object sizes */
	uint64		walSegments;
	int			tablespaces;
	RepoHold	hold;			/* legal hold (repo_hold.h) */
	char	   *holdError;		/* it cannot be read; else NULL */
} CliInfoBackup;

/* The archived segments of one timeline (not .partial, backup files). */
typedef struct CliInfoTimeline
{
	uint32		tli;
	char		first[MANIFEST_WAL_NAME_LEN + 1];
	char		last[MANIFEST_WAL_NAME_LEN + 1];
	int64		segments;
} CliInfoTimeline;

/* What one repository holds, gathered before anything is printed. */
typedef struct CliInfoRepo
{
	int			index;			/* N of repoN */
	const char *type;
	const char *path;
	int			format;
	const char *cipher;
	bool		encrypted;
	uint32		kdfIterations;	/* only when encrypted */
	char		kekId[KEY_KEK_ID_SIZE * 2 + 1]; /* only when encrypted */
	char	   *created;
	int			dataKeys;
	int			backupCount;
	CliInfoBackup *backups;		/* oldest first */
	int64		archiveFiles;
	int			timelineCount;
	CliInfoTimeline *timelines; /* ascending */
} CliInfoRepo;

void
cliInfoHelp(void)
{
	printf("%s info shows what the configured repositories hold and the\n"
		   "effective configuration.  It opens each repository, which checks\n"
		   "the passphrase.\n\n", CLI_PROGNAME);
	printf("Usage:\n");
	printf("  %s info [--config FILE] [--repo N] [--json]\n", CLI_PROGNAME);
	printf("\nOptions:\n");
	cliCommandHelpConfig(22);
	printf("  -r, --repo=N        only repository N (default: all configured)\n");
	printf("      --json          one JSON object instead of text\n");
	printf("  -h, --help          show this help, then exit\n");
	printf("\nExit status: 0 on success, 1 if a repository cannot be read, 2 on a usage error.\n");
}

/*
 * Read the manifest of one backup to its verified end.  A damaged or
 * unreadable manifest is recorded in out->error, not returned as a failure.
 */
static void
cliInfoBackupRead(Repo *repo, const char *id, CliInfoBackup *out)
{
	RepoBackupManifest *manifest;
	ManifestReader *reader;
	ManifestEntry entry;
	DrError		err;
	int			rc;

	memset(out, 0, sizeof(*out));
	out->id = pstrdup(id);
	drErrorClear(&err);
	manifest = repoBackupManifestOpen(repo, id, &err);
	if (manifest == NULL)
	{
		out->error = pstrdup(err.message);
		return;
	}
	out->header = *repoBackupManifestHeader(manifest);
	if (out->header.label)
		out->header.label = pstrdup(out->header.label);
	reader = repoBackupManifestReader(manifest);
	while ((rc = manifestReaderNext(reader, &entry, &err)) == 1)
	{
		switch (entry.kind)
		{
			case MANIFEST_ENTRY_FILE:
				out->files++;
				out->size += entry.file.size;
				out->stored += entry.file.objectSize;
				break;
			case MANIFEST_ENTRY_WAL:
				out->walSegments++;
				break;
			case MANIFEST_ENTRY_TABLESPACE:
				out->tablespaces++;
				break;
			case MANIFEST_ENTRY_DIR:
				break;
		}
	}
	if (rc < 0)
		out->error = pstrdup(err.message);
	repoBackupManifestClose(manifest);
	if (!repoHoldRead(repo, id, &out->hold, &err))
		out->holdError = pstrdup(err.message);
}

/* Unix seconds as ISO 8601 UTC. */
static void
cliInfoTime(int64 seconds, char *buf, size_t len)
{
	time_t		t = (time_t) seconds;
	struct tm	tm;

	if (gmtime_r(&t, &tm) == NULL ||
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, INT64_FORMAT, seconds);
}

/* The legal hold of a backup as text: NULL when it has none. */
static char *
cliInfoHoldText(const CliInfoBackup *b, bool json)
{
	char		until[64];

	if (b->holdError)
		return json ? pstrdup("unreadable") :
			psprintf("a hold that cannot be read (%s)", b->holdError);
	if (!b->hold.present)
		return NULL;
	if (b->hold.forever)
		return pstrdup(json ? "infinity" : "held until the hold is lifted");
	cliInfoTime(b->hold.until, until, sizeof(until));
	return json ? pstrdup(until) : psprintf("held until %s", until);
}


/*
 * Count the files of the WAL archive (repoArchiveIter: every kind), and
 * the first and last segment of each timeline: segments come in name
 * order, so a timeline's are together and ascending.
 */
static bool
cliInfoArchiveCount(Repo *repo, CliInfoRepo *out, DrError *err)
{
	RepoArchiveIter *iter;
	const RepoArchiveEntry *entry;
	bool		ok;
	int			allocated = 0;

	out->archiveFiles = 0;
	iter = repoArchiveIterOpen(repo, NULL, err);
	if (iter == NULL)
		return false;
	while ((ok = repoArchiveIterNext(iter, &entry, err)) && entry != NULL)
	{
		CliInfoTimeline *t;

		if (entry->isDir)
			continue;
		out->archiveFiles++;
		if (entry->kind != REPO_ARCHIVE_SEGMENT ||
			strlen(entry->name) != MANIFEST_WAL_NAME_LEN)
			continue;
		t = out->timelineCount > 0 ? &out->timelines[out->timelineCount - 1] : NULL;
		if (t == NULL || t->tli != entry->tli)
		{
			if (out->timelineCount == allocated)
			{
				allocated = allocated ? allocated * 2 : 4;
				out->timelines = out->timelines ?
					repalloc(out->timelines, allocated * sizeof(CliInfoTimeline)) :
					palloc(allocated * sizeof(CliInfoTimeline));
			}
			t = &out->timelines[out->timelineCount++];
			memset(t, 0, sizeof(*t));
			t->tli = entry->tli;
			strlcpy(t->first, entry->name, sizeof(t->first));
		}
		strlcpy(t->last, entry->name, sizeof(t->last));
		t->segments++;
	}
	repoArchiveIterClose(iter);
	return ok;
}

/* Open one repository and read what info reports about it. */
static bool
cliInfoRepoGather(const ConfigRepo *config, CliInfoRepo *out, DrError *err)
{
	Repo	   *repo;
	const RepoInfo *info;
	char	  **ids;
	bool		ok = false;

	memset(out, 0, sizeof(*out));
	out->index = config->index;
	out->type = cliRepoTypeName(config);
	out->path = config->path;

	repo = repoOpen(config, err);
	if (repo == NULL)
		return false;

	info = repoInfoGet(repo);
	out->format = info->format;
	out->cipher = cliCipherName(info->cipher);
	out->encrypted = info->cipher != CONFIG_CIPHER_NONE;
	if (out->encrypted)
	{
		out->kdfIterations = info->kdfIterations;
		hexEncode(info->kekId, KEY_KEK_ID_SIZE, HEX_LOWER, out->kekId);
	}
	out->created = info->created != NULL ? pstrdup(info->created) : NULL;

	if (!repoDataKeyCount(repo, &out->dataKeys, err))
		goto done;

	if (!repoBackupList(repo, &ids, &out->backupCount, err))
		goto done;
	if (out->backupCount > 0)
		out->backups = palloc0(out->backupCount * sizeof(CliInfoBackup));
	for (int i = 0; i < out->backupCount; i++)
		cliInfoBackupRead(repo, ids[i], &out->backups[i]);
	repoBackupListFree(ids, out->backupCount);

	if (!cliInfoArchiveCount(repo, out, err))
		goto done;

	ok = true;
done:
	repoClose(repo);
	return ok;
}

/*
 * Two lines a backup:
 *	   20240102-000000I  incremental of 20240101-000000F, label "nightly"
 *						 started 2024-01-02T00:00:00Z at 0/5000028, stopped 2024-01-02T00:00:05Z at 0/5000100 on timeline 1, 996 files, 55417085 bytes
 *						 (10234567 stored), 1 WAL segment
 */
static void
cliInfoBackupText(StringInfo buf, const CliInfoBackup *b)
{
	const ManifestHeader *h = &b->header;
	char		started[64];
	char		startLsn[32];
	char	   *hold;
	char		stopped[64];
	char		stopLsn[32];

	appendStringInfo(buf, "    %s  ", b->id);
	if (b->error)
	{
		appendStringInfoString(buf, "unreadable: ");
		cliTextString(buf, b->error);
		appendStringInfoChar(buf, '\n');
		return;
	}
	if (h->incremental)
		appendStringInfo(buf, "incremental of %s", h->parentId);
	else
		appendStringInfoString(buf, "full");
	if (h->label)
	{
		appendStringInfoString(buf, ", label \"");
		cliTextString(buf, h->label);
		appendStringInfoChar(buf, '"');
	}
	if ((hold = cliInfoHoldText(b, false)) != NULL)
	{
		appendStringInfoString(buf, ", ");
		cliTextString(buf, hold);
	}
	cliInfoTime(h->startTime, started, sizeof(started));
	cliInfoTime(h->stopTime, stopped, sizeof(stopped));
	/* PITR picks backups by stop time and stop LSN: show both */
	manifestLsnFormat(h->startLsn, startLsn, sizeof(startLsn));
	manifestLsnFormat(h->stopLsn, stopLsn, sizeof(stopLsn));
	appendStringInfo(buf, "\n                      started %s at %s, stopped %s at %s on timeline %u, " UINT64_FORMAT " files, " UINT64_FORMAT " bytes (" UINT64_FORMAT " stored), " UINT64_FORMAT " WAL segment%s\n",
					 started, startLsn, stopped, stopLsn, h->timeline,
					 b->files, b->size, b->stored, b->walSegments,
					 b->walSegments == 1 ? "" : "s");
}

static void
cliInfoBackupJson(StringInfo buf, const CliInfoBackup *b)
{
	const ManifestHeader *h = &b->header;
	char		text[64];

	appendStringInfoString(buf, "{\"id\": ");
	cliJsonString(buf, b->id);
	if (b->error)
	{
		appendStringInfoString(buf, ", \"error\": ");
		cliJsonString(buf, b->error);
		appendStringInfoChar(buf, '}');
		return;
	}
	appendStringInfo(buf, ", \"kind\": \"%s\", \"parent\": ",
					 h->incremental ? "incremental" : "full");
	cliJsonString(buf, h->incremental ? h->parentId : NULL);
	appendStringInfoString(buf, ", \"label\": ");
	cliJsonString(buf, h->label);
	appendStringInfo(buf, ", \"timeline\": %u", h->timeline);
	manifestLsnFormat(h->startLsn, text, sizeof(text));
	appendStringInfo(buf, ", \"start_lsn\": \"%s\"", text);
	manifestLsnFormat(h->stopLsn, text, sizeof(text));
	appendStringInfo(buf, ", \"stop_lsn\": \"%s\"", text);
	cliInfoTime(h->startTime, text, sizeof(text));
	appendStringInfo(buf, ", \"start_time\": \"%s\"", text);
	cliInfoTime(h->stopTime, text, sizeof(text));
	appendStringInfo(buf, ", \"stop_time\": \"%s\"", text);
	appendStringInfo(buf, ", \"files\": " UINT64_FORMAT ", \"size\": " UINT64_FORMAT
					 ", \"stored_size\": " UINT64_FORMAT ", \"wal_segments\": " UINT64_FORMAT
					 ", \"tablespaces\": %d, \"hold\": ",
					 b->files, b->size, b->stored, b->walSegments, b->tablespaces);
	cliJsonString(buf, cliInfoHoldText(b, true));
	appendStringInfoChar(buf, '}');
}

static void
cliInfoText(StringInfo buf, const DrConfig *config, const CliInfoRepo *repos,
			int repoCount)
{
	int			i;
	int			j;

	appendStringInfo(buf, "config: %s\n", config->path);

	for (i = 0; i < repoCount; i++)
	{
		const CliInfoRepo *r = &repos[i];

		appendStringInfo(buf, "\nrepository %d\n", r->index);
		appendStringInfo(buf, "  type:        %s\n", r->type);
		appendStringInfo(buf, "  path:        %s\n", r->path);
		appendStringInfo(buf, "  format:      %d\n", r->format);
		appendStringInfo(buf, "  cipher:      %s\n", r->cipher);
		if (r->encrypted)
		{
			appendStringInfo(buf, "  kdf:         pbkdf2-sha256, %u iterations\n",
							 r->kdfIterations);
			appendStringInfo(buf, "  kek id:      %s\n", r->kekId);
		}
		else
		{
			appendStringInfoString(buf, "  kdf:         none\n");
			appendStringInfoString(buf, "  kek id:      none\n");
		}
		appendStringInfo(buf, "  created:     %s\n",
						 r->created != NULL ? r->created : "unknown");
		appendStringInfo(buf, "  data keys:   %d\n", r->dataKeys);
		if (r->backupCount == 0)
			appendStringInfoString(buf, "  backups:     none\n");
		else
		{
			appendStringInfo(buf, "  backups:     %d\n", r->backupCount);
			for (j = 0; j < r->backupCount; j++)
				cliInfoBackupText(buf, &r->backups[j]);
		}
		if (r->archiveFiles == 0)
			appendStringInfoString(buf, "  wal archive: none\n");
		else
			appendStringInfo(buf, "  wal archive: " INT64_FORMAT " files\n",
							 r->archiveFiles);
		for (j = 0; j < r->timelineCount; j++)
			appendStringInfo(buf, "    timeline %u: " INT64_FORMAT " segment%s, %s to %s\n",
							 r->timelines[j].tli, r->timelines[j].segments,
							 r->timelines[j].segments == 1 ? "" : "s",
							 r->timelines[j].first, r->timelines[j].last);
	}

	appendStringInfoString(buf, "\nsettings\n");
	for (i = 0; i < config->itemCount; i++)
		appendStringInfo(buf, "  %s = %s (%s)\n", config->items[i].name,
						 config->items[i].value, config->items[i].source);
}

static void
cliInfoJson(StringInfo buf, const DrConfig *config, const CliInfoRepo *repos,
			int repoCount)
{
	int			i;
	int			j;

	appendStringInfoString(buf, "{\"config\": ");
	cliJsonString(buf, config->path);

	appendStringInfoString(buf, ",\n \"repositories\": [");
	for (i = 0; i < repoCount; i++)
	{
		const CliInfoRepo *r = &repos[i];

		appendStringInfo(buf, "%s\n  {\"repo\": %d, \"type\": ",
						 i > 0 ? "," : "", r->index);
		cliJsonString(buf, r->type);
		appendStringInfoString(buf, ", \"path\": ");
		cliJsonString(buf, r->path);
		appendStringInfo(buf, ", \"format\": %d, \"cipher\": ", r->format);
		cliJsonString(buf, r->cipher);
		if (r->encrypted)
			appendStringInfo(buf, ", \"kdf\": \"pbkdf2-sha256\", \"kdf_iterations\": %u, \"kek_id\": \"%s\"",
							 r->kdfIterations, r->kekId);
		else
			appendStringInfoString(buf, ", \"kdf\": \"none\", \"kdf_iterations\": null, \"kek_id\": null");
		appendStringInfoString(buf, ", \"created\": ");
		cliJsonString(buf, r->created);
		appendStringInfo(buf, ", \"data_keys\": %d, \"backups\": [", r->dataKeys);
		for (j = 0; j < r->backupCount; j++)
		{
			appendStringInfoString(buf, j > 0 ? ",\n    " : "\n    ");
			cliInfoBackupJson(buf, &r->backups[j]);
		}
		appendStringInfo(buf, "], \"archive_segments\": " INT64_FORMAT
						 ", \"archive_timelines\": [", r->archiveFiles);
		for (j = 0; j < r->timelineCount; j++)
			appendStringInfo(buf, "%s{\"timeline\": %u, \"segments\": " INT64_FORMAT
							 ", \"first\": \"%s\", \"last\": \"%s\"}",
							 j > 0 ? ", " : "", r->timelines[j].tli,
							 r->timelines[j].segments, r->timelines[j].first,
							 r->timelines[j].last);
		appendStringInfoString(buf, "]}");
	}
	appendStringInfoString(buf, repoCount > 0 ? "\n ],\n" : "],\n");

	appendStringInfoString(buf, " \"settings\": [");
	for (i = 0; i < config->itemCount; i++)
	{
		appendStringInfoString(buf, i > 0 ? ",\n  {\"name\": " : "\n  {\"name\": ");
		cliJsonString(buf, config->items[i].name);
		appendStringInfoString(buf, ", \"value\": ");
		cliJsonString(buf, config->items[i].value);
		appendStringInfoString(buf, ", \"source\": ");
		cliJsonString(buf, config->items[i].source);
		appendStringInfoChar(buf, '}');
	}
	appendStringInfoString(buf, config->itemCount > 0 ? "\n ]}\n" : "]}\n");
}

static bool
cliInfoOption(void *state, int c, const char *arg)
{
	Assert(c == 'j');
	*(bool *) state = true;		/* --json */
	return true;
}

static const struct option cliInfoOptions[] = {
	{"json", no_argument, NULL, 'j'},
	{NULL, 0, NULL, 0}
};

static const CliCommandSpec cliInfoSpec = {
	.name = "info",
	.help = cliInfoHelp,
	.options = cliInfoOptions,
	.shortOptions = "",
	.option = cliInfoOption,
	.repoOptional = true,
};

int
cliInfoMain(int argc, char **argv)
{
	CliCommand	cmd;
	int			repoNumber;
	bool		json = false;
	DrConfig   *config;
	CliInfoRepo *repos;
	int			repoCount = 0;
	int			status;
	int			i;
	StringInfoData buf;

	if ((status = cliCommandBegin(&cmd, &cliInfoSpec, &json, argc, argv)) != CLI_CONTINUE)
		return status;
	/* this checks that repository --repo N, if given, is configured */
	if (!cliCommandConfigLoad(&cmd))
		return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);
	config = cmd.config;
	repoNumber = cmd.repoNumber;
	status = CLI_EXIT_OK;

	repos = palloc0(sizeof(CliInfoRepo) * CONFIG_REPO_MAX);
	for (i = 1; i <= CONFIG_REPO_MAX && status == CLI_EXIT_OK; i++)
	{
		DrError		err;

		if (config->repo[i].index == 0 || (repoNumber != 0 && i != repoNumber))
			continue;
		drErrorClear(&err);
		if (!cliInfoRepoGather(&config->repo[i], &repos[repoCount], &err))
		{
			/* with several repositories, say which one failed */
			if (config->repoCount > 1 && repoNumber == 0)
				drErrorPrefix(&err, "repo%d: ", i);
			cliErrorReport(&err);
			status = CLI_EXIT_FAILURE;
			break;
		}
		repoCount++;
	}

	if (status == CLI_EXIT_OK)
	{
		initStringInfo(&buf);
		if (json)
			cliInfoJson(&buf, config, repos, repoCount);
		else
			cliInfoText(&buf, config, repos, repoCount);
		if (!cliOutputFlush(&buf))
			status = CLI_EXIT_FAILURE;
		pfree(buf.data);
	}

	return cliCommandEnd(&cmd, status);
}
