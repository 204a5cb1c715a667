/*-------------------------------------------------------------------------
 * cmd_restore.c
 *	  pg_dr restore: a backup (and the chain it depends on) into a data
 *	  directory, ready to recover.
 *
 * The library (restore/restore.h) does the work in four steps; with
 * --jobs N the file step runs in N forked processes, through the job
 * engine and its fork launcher (restore/restore_jobs.h), which then
 * finishes the restore.  If a job fails, the others are stopped and the
 * command fails: nothing is reported as restored, and the target has no
 * global/pg_control, so it cannot be started by mistake.  SIGINT and
 * SIGTERM are caught by the CLI's host (progress.c): the restore stops at
 * its next safe point (with --jobs, the engine stops the jobs at once),
 * fails with DR_ERR_CANCELED, and the command exits with 128 + the signal.
 *
 * restore_command in the restored configuration calls this very program
 * (its absolute path) with the absolute path of the configuration file and
 * the repository number, so that recovery fetches WAL with "pg_dr
 * wal-get" from the same repository.
 *
 * Point-in-time restore (--target-time, --target-lsn, --target-xid,
 * --target-name): the target value is checked with the other options,
 * before any file is read (a malformed one is a usage error); then, before
 * anything is written, the repository is scanned and the backup picked
 * (or the named one checked) by restoreTargetPick, which also refuses a
 * target the repository cannot reach.  The recovery settings go through
 * RestoreParam.recoverySettings.  Without a target, the recovery target
 * settings are still written, emptied: a backup of a cluster that was
 * itself restored to a target carries that target in its
 * postgresql.auto.conf, and would stop there again.
 *
 * The timeline (--target-timeline, or restoreFollowChoose, which
 * dr_restore() runs too) is chosen with or without a target, so that a
 * timeline another cluster archived into the repository never takes the
 * restore off the live cluster's history.
 * --as-primary and --archive-mode go to RestoreParam: without
 * --as-primary, the restored cluster does not write into this repository
 * (repo_origin.h).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "getopt_long.h"

#include "bin/cli.h"
#include "common/logging.h"
#include "common/owner.h"
#include "repo/repo.h"
#include "repo/repo_backup.h"
#include "repo/repo_fallback.h"
#include "restore/restore.h"
#include "restore/restore_jobs.h"

#define CLI_RESTORE_JOBS_MAX	RESTORE_JOBS_MAX

/* Long options without a short form. */
enum
{
	CLI_RESTORE_OPT_TARGET_TIME = 1000,
	CLI_RESTORE_OPT_TARGET_LSN,
	CLI_RESTORE_OPT_TARGET_XID,
	CLI_RESTORE_OPT_TARGET_NAME,
	CLI_RESTORE_OPT_TARGET_ACTION,
	CLI_RESTORE_OPT_TARGET_EXCLUSIVE,
	CLI_RESTORE_OPT_TARGET,
	CLI_RESTORE_OPT_OWNER,
	CLI_RESTORE_OPT_TARGET_TIMELINE,
	CLI_RESTORE_OPT_AS_PRIMARY,
	CLI_RESTORE_OPT_ARCHIVE_MODE
};

/* The recovery target options, as given. */
typedef struct CliRestoreTarget
{
	RestoreTargetKind kind;		/* NONE when no --target-... */
	const char *option;			/* "--target-time" ... */
	const char *value;
	const char *action;			/* NULL: promote */
	bool		exclusive;
	uint32		timeline;		/* --target-timeline; 0: chosen */
} CliRestoreTarget;

void
cliRestoreHelp(void)
{
	printf("%s restore restores a backup, and the backups it depends on, into a\n"
		   "data directory ready to recover: WAL segments of the backup in pg_wal,\n"
		   "recovery.signal, and a restore_command that fetches WAL with \"%s wal-get\".\n\n",
		   CLI_PROGNAME, CLI_PROGNAME);
	printf("Usage:\n");
	printf("  %s restore [--config FILE] --backup ID|latest --pgdata DIR [OPTION]...\n",
		   CLI_PROGNAME);
	printf("  %s restore [--config FILE] --pgdata DIR [--backup ID|latest]\n"
		   "        --target-time=T|--target-lsn=L|--target-xid=X|--target-name=N [OPTION]...\n",
		   CLI_PROGNAME);
	printf("\nOptions:\n");
	cliCommandHelpConfig(28);
	printf("  -r, --repo=N              only repository N (default: every configured\n"
		   "                            repository in number order, the next one read\n"
		   "                            when a copy is missing or bad)\n");
	printf("  -b, --backup=ID|latest    the backup to restore (required without a\n"
		   "                            target; with one, default: picked)\n");
	printf("  -D, --pgdata=DIR          target data directory (required; must be\n"
		   "                            empty or missing unless --delta)\n");
	printf("  -j, --jobs=N              restore files in N processes (default 1)\n");
	cliCommandHelpProgress(28);
	printf("      --delta               restore over an existing data directory:\n"
		   "                            keep files that match, rewrite the others,\n"
		   "                            remove what the backup does not have\n");
	printf("      --owner=USER          run as root: write the data directory as USER\n"
		   "                            (default: the owner of DIR or of its nearest\n"
		   "                            existing parent; never root)\n");
	printf("  -T, --tablespace-map=OID=DIR\n"
		   "                            restore tablespace OID (or the one at\n"
		   "                            OLDDIR, as OLDDIR=DIR) into DIR; repeatable\n");
	printf("      --as-primary          the restored cluster is the repository's new\n"
		   "                            primary: it may archive, back up and expire\n"
		   "                            there (default: it may not, see below)\n");
	printf("      --archive-mode=MODE   off (default without --as-primary): write\n"
		   "                            archive_mode = off; preserve: keep the backup's\n"
		   "                            (WAL then waits in pg_wal while pg_dr refuses\n"
		   "                            to archive into the repository restored from)\n");
	printf("  -h, --help                show this help, then exit\n");
	printf("\nPoint-in-time recovery (one target at most):\n");
	printf("      --target-time=T       stop at time T, with its zone\n"
		   "                            (\"2024-05-01 12:00:00+00\", Z, UTC, +HH:MM)\n");
	printf("      --target-lsn=L        stop at WAL location L (X/X)\n");
	printf("      --target-xid=X        stop at the commit of transaction X\n");
	printf("      --target-name=N       stop at restore point N\n");
	printf("      --target=immediate    stop at the end of the backup, as soon as it\n"
		   "                            is consistent (default backup: latest)\n");
	printf("      --target-action=A     at the target: promote (default) or pause\n");
	printf("      --target-exclusive    stop just before the target, not after it\n");
	printf("      --target-timeline=N   follow timeline N (default: the one that holds\n"
		   "                            the target, else the one archived last)\n");
	printf("\nWith a time or LSN target and no --backup (or --backup latest), the newest\n"
		   "backup that ended before the target is restored; with a transaction id, the\n"
		   "newest backup; with a restore point, the newest backup after whose end the\n"
		   "archived WAL holds it.  A target the repository cannot reach is refused\n"
		   "before anything is written.\n");
	printf("\nUnless --as-primary is given, the restored cluster is not the primary of\n"
		   "the repository it came from: pg_dr.origin in the data directory names that\n"
		   "repository, and pg_dr there refuses to archive, back up, expire or make\n"
		   "restore points into it until SELECT dr_declare_primary() is run.\n");
	printf("\nExit status: 0 on success, 1 if the restore failed, 2 on a usage error,\n"
		   "130 or 143 when stopped by SIGINT or SIGTERM.\n");
}

/* Strictly parse --jobs. */
static bool
cliRestoreJobsParse(const char *arg, int *jobs)
{
	char	   *end;
	long		value;

	errno = 0;
	value = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || value < 1 ||
		value > CLI_RESTORE_JOBS_MAX)
	{
		cliUsageError("restore", "invalid number of jobs \"%s\": must be 1 to %d",
					  arg, CLI_RESTORE_JOBS_MAX);
		return false;
	}
	*jobs = (int) value;
	return true;
}

/* Strictly parse --target-timeline: a timeline id, in decimal. */
static bool
cliRestoreTimelineParse(const char *arg, uint32 *tli)
{
	char	   *end;
	unsigned long long value;

	errno = 0;
	value = strtoull(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-' ||
		value < 1 || value > PG_UINT32_MAX - 1)
	{
		cliUsageError("restore", "invalid timeline \"%s\": must be a timeline id from 1 to %u",
					  arg, PG_UINT32_MAX - 1);
		return false;
	}
	*tli = (uint32) value;
	return true;
}

/* --tablespace-map OID=DIR or OLDDIR=DIR. */
static bool
cliRestoreMapParse(const char *arg, RestoreTablespaceMap *map)
{
	const char *eq = strchr(arg, '=');
	char	   *left;

	memset(map, 0, sizeof(*map));
	if (eq == NULL || eq == arg || eq[1] == '\0')
	{
		cliUsageError("restore", "invalid tablespace mapping \"%s\": must be OID=DIR or OLDDIR=DIR",
					  arg);
		return false;
	}
	if (eq[1] != '/')
	{
		cliUsageError("restore", "invalid tablespace mapping \"%s\": the new directory must be an absolute path",
					  arg);
		return false;
	}
	left = pnstrdup(arg, eq - arg);
	if (strspn(left, "0123456789") == strlen(left))
	{
		unsigned long oid;

		errno = 0;
		oid = strtoul(left, NULL, 10);
		if (errno != 0 || oid == 0 || oid > PG_UINT32_MAX)
		{
			cliUsageError("restore", "invalid tablespace oid \"%s\"", left);
			pfree(left);
			return false;
		}
		map->oid = (uint32) oid;
		pfree(left);
	}
	else if (left[0] == '/')
		map->fromLocation = left;
	else
	{
		cliUsageError("restore", "invalid tablespace mapping \"%s\": the old directory must be an absolute path",
					  arg);
		pfree(left);
		return false;
	}
	map->toLocation = eq + 1;
	return true;
}

/*
 * The file step in count forked jobs, then the finish (restore_jobs.h).
 * The engine asks the CLI's host (progress.c) whether a signal came, and
 * then stops the jobs at once.
 */
static bool
cliRestoreJobs(Restore *restore, int count, RestoreResult *result,
			   DrError *err)
{
	RestoreJobLauncher *launcher = restoreJobsForkLauncher();
	bool		ok;

	ok = restoreJobsRun(restore, count, launcher, result, err);
	restoreJobsForkLauncherFree(launcher);
	return ok;
}

/* Record one --target-... option; false (error printed) for a second one. */
static bool
cliRestoreTargetSet(CliRestoreTarget *target, RestoreTargetKind kind,
					const char *option, const char *value)
{
	if (target->kind != RESTORE_TARGET_NONE)
	{
		if (strcmp(target->option, option) == 0)
			cliUsageError("restore", "option \"%s\" was given twice", option);
		else
			cliUsageError("restore", "only one recovery target can be given (%s and %s)",
						  target->option, option);
		return false;
	}
	target->kind = kind;
	target->option = option;
	target->value = value;
	return true;
}

/*
 * Check the target options together and parse the value into *parsed;
 * CLI_EXIT_OK, or CLI_EXIT_USAGE with the error printed.
 */
static int
cliRestoreTargetCheck(const CliRestoreTarget *target, RestoreTarget *parsed)
{
	DrError		err;

	memset(parsed, 0, sizeof(*parsed));
	if (target->kind == RESTORE_TARGET_NONE)
	{
		if (target->action != NULL)
			return cliUsageError("restore", "--target-action needs a recovery target (--target-time, --target-lsn, --target-xid or --target-name)");
		if (target->exclusive)
			return cliUsageError("restore", "--target-exclusive needs a recovery target (--target-time, --target-lsn or --target-xid)");
		return CLI_EXIT_OK;
	}

	drErrorClear(&err);
	if (!restoreTargetParse(target->kind, target->value, parsed, &err))
	{
		/* the hint says how to write the value: more use than --help */
		cliErrorReport(&err);
		return CLI_EXIT_USAGE;
	}
	if (target->exclusive && target->kind == RESTORE_TARGET_NAME)
		return cliUsageError("restore", "--target-exclusive does not apply to a restore point: recovery stops at it");
	if (target->exclusive && target->kind == RESTORE_TARGET_IMMEDIATE)
		return cliUsageError("restore", "--target-exclusive does not apply to --target immediate: recovery stops where the backup ends");
	if (target->timeline != 0 && target->kind == RESTORE_TARGET_IMMEDIATE)
		return cliUsageError("restore", "--target-timeline does not apply to --target immediate: recovery stays on the backup's own timeline");
	parsed->exclusive = target->exclusive;
	if (target->action == NULL || strcmp(target->action, "promote") == 0)
		parsed->action = RESTORE_TARGET_PROMOTE;
	else if (strcmp(target->action, "pause") == 0)
		parsed->action = RESTORE_TARGET_PAUSE;
	else
		return cliUsageError("restore", "invalid target action \"%s\": must be promote or pause",
							 target->action);
	return CLI_EXIT_OK;
}

/*
 * Pick the timeline recovery follows and, for a target, the backup (or
 * check the one named) before anything is written: the id, palloc'd, or
 * NULL with *errOut set.  target->timeline is set unless the newest
 * timeline was chosen ('latest' then says the same).
 */
static char *
cliRestoreTargetPick(Repo *repo, RestoreTarget *target, uint32 requestedTli,
					 const char *backupId, char **reason, char **tliReason,
					 DrError *errOut)
{
	RestoreFollow follow;
	RestoreReach *reach;
	RestorePick pick;
	DrError		err;
	char	   *id = NULL;
	char	   *nameReason = NULL;
	bool		chosen;

	drErrorClear(&err);
	chosen = restoreFollowChoose(repo, target, backupId, requestedTli,
								 &follow, &err);
	reach = follow.reach;
	for (int i = 0; reach != NULL && i < reach->unreadableCount; i++)
		pg_log_warning("left out of the choice of a backup: %s", reach->unreadable[i]);
	if (!chosen)
	{
		*errOut = err;
		goto done;
	}
	if (follow.pick.warning[0] != '\0')
	{
		pg_log_warning("%s", follow.pick.warning);
		if (follow.pick.warningHint[0] != '\0')
			pg_log_warning_hint("%s", follow.pick.warningHint);
	}
	*tliReason = pstrdup(follow.pick.reason);

	if (target->kind == RESTORE_TARGET_NONE)
	{
		id = follow.backupId;
		follow.backupId = NULL;
		goto done;
	}

	/* a restore point was placed by reading the archived WAL for it */
	if (target->kind == RESTORE_TARGET_NAME && follow.nameIndex >= 0)
	{
		char		at[32];
		bool		named = backupId != NULL && strcmp(backupId, "latest") != 0;

		manifestLsnFormat(follow.nameLsn, at, sizeof(at));
		backupId = reach->backups[follow.nameIndex].backupId;
		nameReason = psprintf("%s (restore point \"%s\" found in the archived WAL at %s)",
							  named ? "named with --backup" :
							  "the newest backup from which recovery reaches the restore point",
							  target->value, at);
	}

	if (restoreTargetPick(reach, target, backupId, &pick, &err))
	{
		id = pstrdup(reach->backups[pick.index].backupId);
		*reason = nameReason ? nameReason : pstrdup(pick.reason);
		if (pick.warning[0] != '\0')
		{
			pg_log_warning("%s", pick.warning);
			if (pick.warningHint[0] != '\0')
				pg_log_warning_hint("%s", pick.warningHint);
		}
	}
	else
		*errOut = err;

done:
	restoreFollowFree(&follow);
	return id;
}

static double
cliRestoreNow(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void
cliRestoreSummary(const RestorePlan *plan, const RestoreParam *param,
				  const RestoreTarget *target, const char *pickReason,
				  const char *tliReason,
				  const RestoreResult *result, int jobs, double seconds)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "restored backup %s to \"", plan->backupId);
	cliTextString(&buf, param->targetDir);
	appendStringInfo(&buf, "\"%s\n", param->delta ? " (delta)" : "");
	if (target->kind == RESTORE_TARGET_IMMEDIATE)
		appendStringInfo(&buf, "  target:      immediate (the end of the backup), then %s\n",
						 target->action == RESTORE_TARGET_PAUSE ? "pause" : "promote");
	else if (target->kind != RESTORE_TARGET_NONE)
	{
		appendStringInfo(&buf, "  target:      %s \"", restoreTargetKindName(target->kind));
		cliTextString(&buf, target->value);
		appendStringInfo(&buf, "\"%s, then %s\n",
						 target->kind == RESTORE_TARGET_NAME ? "" :
						 target->exclusive ? ", exclusive" : ", inclusive",
						 target->action == RESTORE_TARGET_PAUSE ? "pause" : "promote");
		if (pickReason != NULL)
			appendStringInfo(&buf, "  picked:      %s\n", pickReason);
	}
	if (tliReason != NULL)
		appendStringInfo(&buf, "  timeline:    %s\n", tliReason);
	appendStringInfo(&buf, "  primary:     %s\n", param->asPrimary ?
					 "yes (--as-primary): may archive, back up and expire into the repository" :
					 param->archiveMode == RESTORE_ARCHIVE_OFF ?
					 "no: archive_mode = off, and pg_dr refuses to write into the repository until SELECT dr_declare_primary()" :
					 "no: pg_dr refuses to write into the repository until SELECT dr_declare_primary()");
	if (param->repoNumber != 0)
		appendStringInfo(&buf, "  repository:  %d%s\n", param->repoNumber,
						 param->fallbackCount > 0 ?
						 " (a file or WAL segment whose copy is bad there is read from the next repository)" : "");
	appendStringInfoString(&buf, "  chain:       ");
	for (int i = 0; i < plan->chain->count; i++)
		appendStringInfo(&buf, "%s%s", i > 0 ? " <- " : "", plan->chain->ids[i]);
	appendStringInfoChar(&buf, '\n');
	appendStringInfo(&buf, "  files:       " UINT64_FORMAT ", " UINT64_FORMAT " bytes",
					 plan->files, plan->bytes);
	if (param->delta)
		appendStringInfo(&buf, " (" UINT64_FORMAT " unchanged, " UINT64_FORMAT " written, " UINT64_FORMAT " removed)",
						 result->filesUnchanged,
						 plan->files - result->filesUnchanged, result->removed);
	appendStringInfoChar(&buf, '\n');
	appendStringInfo(&buf, "  directories: " UINT64_FORMAT "\n", plan->dirs);
	if (plan->tablespaces > 0)
		appendStringInfo(&buf, "  tablespaces: %d\n", plan->tablespaces);
	appendStringInfo(&buf, "  wal:         " UINT64_FORMAT " segment%s\n",
					 result->walSegments, result->walSegments == 1 ? "" : "s");
	appendStringInfo(&buf, "  time:        %.1f s, %d job%s\n", seconds, jobs,
					 jobs > 1 ? "s" : "");
	cliOutputFlush(&buf);
	pfree(buf.data);
}

/* The options of restore, set by cliRestoreOption. */
typedef struct CliRestoreOpts
{
	RestoreParam *param;		/* backupId, delta, asPrimary */
	const char *pgdata;
	const char *owner;
	int			jobs;
	RestoreTablespaceMap *maps; /* room for one per argument */
	int			mapCount;
	CliRestoreTarget target;
	const char *archiveMode;
} CliRestoreOpts;

static bool
cliRestoreOption(void *state, int c, const char *arg)
{
	CliRestoreOpts *opts = state;

	switch (c)
	{
		case 'b':
			opts->param->backupId = arg;
			return true;
		case 'D':
			opts->pgdata = arg;
			return true;
		case 'j':
			return cliRestoreJobsParse(arg, &opts->jobs);
		case 'd':
			opts->param->delta = true;
			return true;
		case 'T':
			if (!cliRestoreMapParse(arg, &opts->maps[opts->mapCount]))
				return false;
			opts->mapCount++;
			return true;
		case CLI_RESTORE_OPT_TARGET_TIME:
			return cliRestoreTargetSet(&opts->target, RESTORE_TARGET_TIME,
									   "--target-time", arg);
		case CLI_RESTORE_OPT_TARGET_LSN:
			return cliRestoreTargetSet(&opts->target, RESTORE_TARGET_LSN,
									   "--target-lsn", arg);
		case CLI_RESTORE_OPT_TARGET_XID:
			return cliRestoreTargetSet(&opts->target, RESTORE_TARGET_XID,
									   "--target-xid", arg);
		case CLI_RESTORE_OPT_TARGET_NAME:
			return cliRestoreTargetSet(&opts->target, RESTORE_TARGET_NAME,
									   "--target-name", arg);
		case CLI_RESTORE_OPT_TARGET_ACTION:
			opts->target.action = arg;
			return true;
		case CLI_RESTORE_OPT_TARGET_EXCLUSIVE:
			opts->target.exclusive = true;
			return true;
		case CLI_RESTORE_OPT_TARGET:
			return cliRestoreTargetSet(&opts->target, RESTORE_TARGET_IMMEDIATE,
									   "--target", arg);
		case CLI_RESTORE_OPT_OWNER:
			opts->owner = arg;
			return true;
		case CLI_RESTORE_OPT_TARGET_TIMELINE:
			return cliRestoreTimelineParse(arg, &opts->target.timeline);
		case CLI_RESTORE_OPT_AS_PRIMARY:
			opts->param->asPrimary = true;
			return true;
		case CLI_RESTORE_OPT_ARCHIVE_MODE:
			opts->archiveMode = arg;
			return true;
	}
	Assert(false);
	return false;
}

static const struct option cliRestoreOptions[] = {
	{"backup", required_argument, NULL, 'b'},
	{"pgdata", required_argument, NULL, 'D'},
	{"jobs", required_argument, NULL, 'j'},
	{"delta", no_argument, NULL, 'd'},
	{"tablespace-map", required_argument, NULL, 'T'},
	{"target-time", required_argument, NULL, CLI_RESTORE_OPT_TARGET_TIME},
	{"target-lsn", required_argument, NULL, CLI_RESTORE_OPT_TARGET_LSN},
	{"target-xid", required_argument, NULL, CLI_RESTORE_OPT_TARGET_XID},
	{"target-name", required_argument, NULL, CLI_RESTORE_OPT_TARGET_NAME},
	{"target-action", required_argument, NULL, CLI_RESTORE_OPT_TARGET_ACTION},
	{"target-exclusive", no_argument, NULL, CLI_RESTORE_OPT_TARGET_EXCLUSIVE},
	{"target", required_argument, NULL, CLI_RESTORE_OPT_TARGET},
	{"owner", required_argument, NULL, CLI_RESTORE_OPT_OWNER},
	{"target-timeline", required_argument, NULL, CLI_RESTORE_OPT_TARGET_TIMELINE},
	{"as-primary", no_argument, NULL, CLI_RESTORE_OPT_AS_PRIMARY},
	{"archive-mode", required_argument, NULL, CLI_RESTORE_OPT_ARCHIVE_MODE},
	{NULL, 0, NULL, 0}
};

static const CliCommandSpec cliRestoreSpec = {
	.name = "restore",
	.help = cliRestoreHelp,
	.options = cliRestoreOptions,
	.shortOptions = "b:D:j:T:",
	.option = cliRestoreOption,
	.progress = true,
};

int
cliRestoreMain(int argc, char **argv)
{
	CliCommand	cmd;
	CliRestoreOpts opts;
	const char *command = cliRestoreSpec.name;
	const char *configPath;
	const char *pgdata;
	const char *owner;
	int			jobs;
	RestoreParam param;
	RestoreTablespaceMap *maps;
	RestoreGuard *guards = NULL;
	int			mapCount;
	char		program[MAXPGPATH];
	char	   *configAbs = NULL;
	char	   *pgdataAbs = NULL;
	DrConfig   *config;
	Repo	   *repo;
	RepoReadSet set;
	char	   *latestId = NULL;
	Repo	   *fallbackRepos[CONFIG_REPO_MAX];
	int			fallbackNumbers[CONFIG_REPO_MAX];
	Restore    *restore = NULL;
	RestoreResult result;
	CliRestoreTarget targetOpt;
	RestoreTarget target;
	char	   *pickedId = NULL;
	char	   *pickReason = NULL;
	char	   *tliReason = NULL;
	const char *archiveMode;
	char	   *settings = NULL;
	DrError		err;
	double		start = cliRestoreNow();
	bool		prepared = false;
	int			status;

	memset(&param, 0, sizeof(param));
	memset(&opts, 0, sizeof(opts));
	memset(&set, 0, sizeof(set));
	opts.param = &param;
	opts.jobs = 1;
	opts.maps = palloc0(argc * sizeof(RestoreTablespaceMap));
	if ((status = cliCommandBegin(&cmd, &cliRestoreSpec, &opts, argc, argv)) != CLI_CONTINUE)
		return status;
	configPath = cmd.configPath;
	pgdata = opts.pgdata;
	owner = opts.owner;
	jobs = opts.jobs;
	maps = opts.maps;
	mapCount = opts.mapCount;
	targetOpt = opts.target;
	archiveMode = opts.archiveMode;

	if ((status = cliRestoreTargetCheck(&targetOpt, &target)) != CLI_EXIT_OK)
		return status;
	status = CLI_EXIT_FAILURE;
	if (param.backupId == NULL && target.kind == RESTORE_TARGET_NONE)
		return cliUsageError(command, "no backup specified (--backup ID or --backup latest)");
	if (param.backupId == NULL && target.kind == RESTORE_TARGET_IMMEDIATE)
		param.backupId = "latest";
	if (pgdata == NULL)
		return cliUsageError(command, "no target directory specified (--pgdata)");
	/* the new primary keeps archiving unless told otherwise */
	if (archiveMode == NULL)
		param.archiveMode = param.asPrimary ? RESTORE_ARCHIVE_PRESERVE : RESTORE_ARCHIVE_OFF;
	else if (strcmp(archiveMode, "off") == 0)
		param.archiveMode = RESTORE_ARCHIVE_OFF;
	else if (strcmp(archiveMode, "preserve") == 0)
		param.archiveMode = RESTORE_ARCHIVE_PRESERVE;
	else
		return cliUsageError(command, "invalid archive mode \"%s\": must be off or preserve",
							 archiveMode);

	if (!cliCommandConfigLoad(&cmd))
		goto done;
	config = cmd.config;

	/* restore_command needs absolute paths: recovery runs elsewhere */
	configAbs = make_absolute_path(configPath);
	pgdataAbs = make_absolute_path(pgdata);
	if (configAbs == NULL || pgdataAbs == NULL)
		goto done;
	if (find_my_exec(cliProgramArgv0, program) != 0)
	{
		pg_log_error("could not find the absolute path of this program (\"%s\")",
					 cliProgramArgv0);
		goto done;
	}

	/*
	 * PostgreSQL starts only on a data directory its user owns: write it
	 * as that user.  Recovery then runs restore_command as that user too,
	 * so the configuration must be readable by it.
	 */
	if (!cliOwnerBecome(command, owner, pgdataAbs, true))
		goto done;
	if (access(configAbs, R_OK) != 0)
	{
		drErrorClear(&err);
		drErrorSet(&err, DR_ERR_IO,
				   "the configuration file \"%s\" cannot be read by the user the restored cluster's restore_command runs as: %m",
				   configAbs);
		ownerAccessDetail(&err, configAbs, errno);
		cliErrorReport(&err);
		goto done;
	}

	param.targetDir = pgdataAbs;
	param.tablespaceMap = maps;
	param.tablespaceMapCount = mapCount;
	param.restoreProgram = program;
	param.restoreConfigFile = configAbs;

	/*
	 * Never into a repository (nor around one).  The CLI cannot know which
	 * server's data directory is live: restorePrepare already refuses a
	 * target that holds postmaster.pid.
	 */
	guards = palloc0(CONFIG_REPO_MAX * sizeof(RestoreGuard));
	for (int i = 1; i <= CONFIG_REPO_MAX; i++)
		/* an object store's location (a bucket) is no local directory */
		if (config->repo[i].index != 0 && config->repo[i].path != NULL &&
			config->repo[i].path[0] == '/')
		{
			guards[param.guardCount].path = config->repo[i].path;
			guards[param.guardCount].what = psprintf("the repository of repo%d", i);
			param.guardCount++;
		}
	param.guards = guards;

	drErrorClear(&err);
	memset(&result, 0, sizeof(result));
	if (!repoReadSetOpen(config, cmd.repoNumber, &cliWarnHost, &set, &err))
	{
		cliErrorReport(&err);
		goto done;
	}

	/*
	 * "latest" is the newest backup of every repository read: one that
	 * missed the newest (it was down) is not read for it, but falls back.
	 */
	if (param.backupId != NULL && strcmp(param.backupId, "latest") == 0 &&
		set.count > 1 && (latestId = repoReadSetLatest(&set)) != NULL)
		param.backupId = latestId;

	/* SIGINT and SIGTERM caught from here on (progress.c) */
	param.host = cliProgressBegin(command, cmd.progress);
	/* recovery reads WAL as restore does: from the one forced, or every one */
	param.restoreRepoIndex = set.forced ? set.numbers[0] : 0;

	/*
	 * The repository restored from: the first that can pick the timeline
	 * and the backup, and plan the restore.  The others are the fallbacks
	 * of its files and WAL (restore.h).
	 */
	for (int r = 0; r < set.count; r++)
	{
		RestoreParam tried = param;
		DrError		e;

		drErrorClear(&e);
		repo = set.repos[r];
		if (pickReason)
			pfree(pickReason);
		if (tliReason)
			pfree(tliReason);
		if (settings)
			pfree(settings);
		pickReason = tliReason = settings = NULL;

		/*
		 * The timeline, and the backup for a target, before anything is
		 * written.  'immediate' needs no pick: it stops at the end of the
		 * backup given, on its own timeline, with no WAL but the backup's.
		 */
		if (target.kind != RESTORE_TARGET_IMMEDIATE)
		{
			if (pickedId)
				pfree(pickedId);
			target.timeline = 0;
			pickedId = cliRestoreTargetPick(repo, &target, targetOpt.timeline,
											param.backupId, &pickReason,
											&tliReason, &e);
			tried.backupId = pickedId;
		}
		settings = restoreTargetSettings(&target);
		tried.recoverySettings = settings;
		/* named in messages when it is not the only one configured */
		tried.repoNumber = set.count > 1 || set.forced ? set.numbers[r] : 0;
		tried.fallbackRepos = fallbackRepos;
		tried.fallbackNumbers = fallbackNumbers;
		tried.fallbackCount = 0;
		for (int k = 0; k < set.count; k++)
			if (k != r)
			{
				fallbackRepos[tried.fallbackCount] = set.repos[k];
				fallbackNumbers[tried.fallbackCount] = set.numbers[k];
				tried.fallbackCount++;
			}
		if (tried.backupId != NULL)
		{
			restore = restoreBegin(repo, &tried, &e);
			if (restore != NULL)
			{
				param = tried;
				break;
			}
		}

		/*
		 * Another repository may hold what this one misses (a backup, a
		 * manifest, the WAL a target needs): the next one is tried.
		 */
		if (e.code == DR_ERR_CANCELED || r == set.count - 1 ||
			(!repoReadFallsBack(&e) && e.code != DR_ERR_INVALID))
		{
			err = e;
			if (set.count > 1 || set.forced)
				drErrorPrefix(&err, "repository %d: ", set.numbers[r]);
			cliErrorReport(&err);
			goto done;
		}
		{
			char	   *msg = repoFallbackMessage(set.numbers[r], NULL, &e,
												  "restoring", set.numbers[r + 1]);

			hostWarning(param.host, msg);
			pfree(msg);
		}
	}
	if (!restorePrepare(restore, &err))
	{
		cliErrorReport(&err);
		goto done;
	}
	prepared = true;

	if (jobs == 1 ?
		(!restoreFiles(restore, 1, 0, &result, &err) ||
		 !restoreFinish(restore, &result, &err)) :
		!cliRestoreJobs(restore, jobs, &result, &err))
	{
		cliErrorReport(&err);
		goto done;
	}
	cliProgressBreak();
	cliRestoreSummary(restorePlanGet(restore), &param, &target, pickReason,
					  tliReason, &result, jobs, cliRestoreNow() - start);
	status = CLI_EXIT_OK;

done:
	status = cliProgressEnd(status);
	if (status != CLI_EXIT_OK && prepared)
		pg_log_error_hint("The target directory is incomplete and cannot be started.  Fix the cause and run the restore again with --delta.");
	restoreFree(restore);
	if (configAbs)
		free(configAbs);
	if (pgdataAbs)
		free(pgdataAbs);
	if (pickedId)
		pfree(pickedId);
	if (pickReason)
		pfree(pickReason);
	if (tliReason)
		pfree(tliReason);
	if (settings)
		pfree(settings);
	repoReadSetClose(&set);
	return cliCommandEnd(&cmd, status);
}
