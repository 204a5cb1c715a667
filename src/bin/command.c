/*-------------------------------------------------------------------------
 * command.c
 *	  The preamble every pg_dr command shares: the options all of them take
 *	  (-c/--config, -r/--repo, -h/--help), the check of positional
 *	  arguments, the choice and loading of the configuration file, the
 *	  selection and opening of the repository (see cli.h).
 *
 * Every usage error is found before any file is read (docs/cli.md), so
 * cliCommandBegin does all the checking that needs no file, and the
 * command adds its own checks before calling cliCommandConfigLoad.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <errno.h>
#include <sys/stat.h>

#include "bin/cli.h"
#include "common/logging.h"

/* The options every command takes, before the command's own. */
static const struct option cliCommandOptions[] = {
	{"config", required_argument, NULL, 'c'},
	{"repo", required_argument, NULL, 'r'},
	{"help", no_argument, NULL, 'h'},
};
#define CLI_COMMAND_SHORT	"c:r:h"

/* --progress, for the commands that take it (not a character: long only) */
#define CLI_COMMAND_OPT_PROGRESS	900
static const struct option cliCommandProgressOption =
{"progress", required_argument, NULL, CLI_COMMAND_OPT_PROGRESS};

/* Parse --progress; false (error printed) if not auto, on or off. */
static bool
cliCommandProgressParse(const char *command, const char *arg,
						CliProgressMode *mode)
{
	if (strcmp(arg, "auto") == 0)
		*mode = CLI_PROGRESS_AUTO;
	else if (strcmp(arg, "on") == 0)
		*mode = CLI_PROGRESS_ON;
	else if (strcmp(arg, "off") == 0)
		*mode = CLI_PROGRESS_OFF;
	else
	{
		cliUsageError(command, "invalid progress mode \"%s\": must be auto, on or off",
					  arg);
		return false;
	}
	return true;
}

/*
 * Report a getopt_long() failure (c is what it returned: ':' for a missing
 * argument, '?' for an unknown option; the optstring starts with ':').
 */
static void
cliCommandOptionError(const char *command, int c, char **argv)
{
	/*
	 * With a leading ':' in the optstring, getopt_long returns ':' for a
	 * missing argument, which can only happen to the last argument, so
	 * argv[optind - 1] is the option as the user spelled it.  For an
	 * unknown short option optopt names it (it may sit inside a group such
	 * as -xy); for an unknown long option optopt is 0.
	 */
	if (c == ':')
		cliUsageError(command, "option \"%s\" requires an argument",
					  argv[optind - 1]);
	else if (optopt != 0)
		cliUsageError(command, "invalid option \"-%c\"", optopt);
	else
		cliUsageError(command, "unrecognized option \"%s\"",
					  argv[optind - 1]);
}

/* Parse a --repo value: 1..CONFIG_REPO_MAX; false (error printed) if not. */
static bool
cliCommandRepoNumberParse(const char *command, const char *arg, int *repoNumber)
{
	char	   *end;
	long		value;

	errno = 0;
	value = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' ||
		value < 1 || value > CONFIG_REPO_MAX)
	{
		cliUsageError(command, "invalid repository number \"%s\": must be 1 to %d",
					  arg, CONFIG_REPO_MAX);
		return false;
	}
	*repoNumber = (int) value;
	return true;
}

/*
 * Choose the configuration file when --config was not given: PG_DR_CONFIG,
 * else the default.  Only the default is checked here (with stat, which
 * reads nothing): a missing one means the user named no file, a usage
 * error like a missing --config; one that was named is left to
 * cliCommandConfigLoad, whose error names it.
 */
static bool
cliCommandConfigChoose(CliCommand *cmd)
{
	const char *env;
	struct stat st;

	if (cmd->configPath != NULL)
	{
		cmd->configSource = "--config";
		return true;
	}
	env = getenv(CLI_CONFIG_ENV);
	if (env != NULL && env[0] != '\0')
	{
		cmd->configPath = env;
		cmd->configSource = CLI_CONFIG_ENV;
		return true;
	}
	if (stat(CLI_CONFIG_DEFAULT, &st) != 0 && errno == ENOENT)
	{
		cliUsageErrorDetail(cmd->spec->name,
							"no configuration file specified (--config), and the default \"" CLI_CONFIG_DEFAULT "\" does not exist",
							"Give the file with --config FILE, or name it in the environment variable " CLI_CONFIG_ENV ".");
		return false;
	}
	cmd->configPath = CLI_CONFIG_DEFAULT;
	cmd->configSource = "default";
	return true;
}

int
cliCommandBegin(CliCommand *cmd, const CliCommandSpec *spec, void *state,
				int argc, char **argv)
{
	struct option *options;
	char	   *shortOptions;
	int			ownCount = 0;
	int			nargs;
	int			c;

	memset(cmd, 0, sizeof(*cmd));
	cmd->spec = spec;
	cmd->usageStatus = spec->usageStatus != 0 ? spec->usageStatus : CLI_EXIT_USAGE;
	cmd->failureStatus = spec->failureStatus != 0 ? spec->failureStatus : CLI_EXIT_FAILURE;

	/* the shared options, then the command's own, then the terminator */
	if (spec->options != NULL)
		while (spec->options[ownCount].name != NULL)
			ownCount++;
	options = palloc0(sizeof(struct option) *
					  (lengthof(cliCommandOptions) + ownCount + 2));
	memcpy(options, cliCommandOptions, sizeof(cliCommandOptions));
	if (ownCount > 0)
		memcpy(options + lengthof(cliCommandOptions), spec->options,
			   sizeof(struct option) * ownCount);
	if (spec->progress)
		options[lengthof(cliCommandOptions) + ownCount] = cliCommandProgressOption;
	shortOptions = psprintf(":" CLI_COMMAND_SHORT "%s",
							spec->shortOptions != NULL ? spec->shortOptions : "");

	while ((c = getopt_long(argc, argv, shortOptions, options, NULL)) != -1)
	{
		switch (c)
		{
			case 'c':
				cmd->configPath = optarg;
				break;
			case 'r':
				if (!cliCommandRepoNumberParse(spec->name, optarg, &cmd->repoNumber))
					return cmd->usageStatus;
				break;
			case 'h':
				spec->help();
				return CLI_EXIT_OK;
			case CLI_COMMAND_OPT_PROGRESS:
				if (!cliCommandProgressParse(spec->name, optarg, &cmd->progress))
					return cmd->usageStatus;
				break;
			case ':':
			case '?':
				cliCommandOptionError(spec->name, c, argv);
				return cmd->usageStatus;
			default:
				if (!spec->option(state, c, optarg))
					return cmd->usageStatus;
				break;
		}
	}

	nargs = argc - optind;
	if (nargs > spec->argsMax)
	{
		cliUsageError(spec->name, "too many command-line arguments (first is \"%s\")",
					  argv[optind + spec->argsMax]);
		return cmd->usageStatus;
	}
	if (nargs < spec->argsMin)
	{
		cliUsageError(spec->name, "%s", spec->argsMissing);
		return cmd->usageStatus;
	}
	cmd->args = argv + optind;
	cmd->argCount = nargs;

	if (!cliCommandConfigChoose(cmd))
		return cmd->usageStatus;
	return CLI_CONTINUE;
}

bool
cliCommandConfigLoad(CliCommand *cmd)
{
	DrError		err;

	drErrorClear(&err);
	cmd->config = configLoad(cmd->configPath, &err);
	if (cmd->config == NULL)
	{
		/* the path is in the message; say where it came from */
		if (strcmp(cmd->configSource, CLI_CONFIG_ENV) == 0)
		{
			drErrorPrefix(&err, "%s: ", CLI_CONFIG_ENV);
			if (err.hint[0] == '\0')
				drErrorHint(&err, "%s names the configuration file when --config is not given: correct or unset it, or give the file with --config FILE.",
							CLI_CONFIG_ENV);
		}
		cliErrorReport(&err);
		return false;
	}

	if (cmd->repoNumber == 0)
	{
		if (cmd->spec->repoOptional)
			return true;
		cmd->repoConfig = configRepoFirst(cmd->config, &err);
		if (cmd->repoConfig == NULL)
		{
			cliErrorReport(&err);
			return false;
		}
		return true;
	}

	Assert(cmd->repoNumber >= 1 && cmd->repoNumber <= CONFIG_REPO_MAX);
	if (cmd->config->repo[cmd->repoNumber].index == 0)
	{
		pg_log_error("repository %d is not configured in \"%s\"",
					 cmd->repoNumber, cmd->config->path);
		pg_log_error_hint("Set repo%d_type and repo%d_path in the configuration file.",
						  cmd->repoNumber, cmd->repoNumber);
		return false;
	}
	cmd->repoConfig = &cmd->config->repo[cmd->repoNumber];
	return true;
}

bool
cliCommandRepoOpen(CliCommand *cmd)
{
	DrError		err;

	Assert(cmd->repoConfig != NULL && cmd->repo == NULL);
	drErrorClear(&err);
	cmd->repo = repoOpen(cmd->repoConfig, &err);
	if (cmd->repo == NULL)
	{
		cliErrorReport(&err);
		return false;
	}
	return true;
}

int
cliCommandEnd(CliCommand *cmd, int status)
{
	if (cmd->repo != NULL)
		repoClose(cmd->repo);
	cmd->repo = NULL;
	if (cmd->config != NULL)
		configFree(cmd->config);
	cmd->config = NULL;
	cmd->repoConfig = NULL;
	return status;
}

void
cliCommandHelpProgress(int column)
{
	printf("      %-*s%s\n%*s%s\n%*s%s\n", column - 6, "--progress=MODE",
		   "progress on stderr: auto (the default: a live",
		   column, "", "line on a terminal, nothing otherwise), on (also",
		   column, "", "a line every 10 s when not a terminal) or off");
}

void
cliCommandHelpConfig(int column)
{
	printf("  %-*s%s\n%*s%s\n", column - 2, "-c, --config=FILE",
		   "configuration file (default: $" CLI_CONFIG_ENV " when set,",
		   column, "", "else " CLI_CONFIG_DEFAULT ")");
}
