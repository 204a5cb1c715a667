/*-------------------------------------------------------------------------
 * main.c
 *	  The pg_dr command-line program: dispatch to a command, --help and
 *	  --version, usage errors, and display names.
 *
 * Usage: pg_dr COMMAND [OPTION]...   (see docs/cli.md)
 *
 * The CLI reads the same configuration file as the server, so that it works
 * while the server is down.  Each command lives in its own cmd_*.c file and
 * starts with the preamble of command.c (shared options, configuration,
 * repository); this file only finds it.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"


#include "getopt_long.h"

#include "bin/cli.h"
#include "common/logging.h"

typedef struct CliCommandEntry
{
	const char *name;
	const char *summary;		/* one line for --help */
	int			(*main) (int argc, char **argv);
	void		(*help) (void);
} CliCommandEntry;

/* In the order --help lists them. */
static const CliCommandEntry cliCommands[] = {
	{"check", "prove the chain end to end on a running server",
	cliCheckMain, cliCheckHelp},
	{"expire", "remove backups and WAL beyond the retention policy",
	cliExpireMain, cliExpireHelp},
	{"info", "show what repositories hold and the effective configuration",
	cliInfoMain, cliInfoHelp},
	{"rejoin", "make a stopped old primary a standby of the new one",
	cliRejoinMain, cliRejoinHelp},
	{"repo-create", "initialize a new, empty repository",
	cliRepoCreateMain, cliRepoCreateHelp},
	{"repo-key-rotate", "re-wrap a repository's data keys under a new passphrase",
	cliRepoKeyRotateMain, cliRepoKeyRotateHelp},
	{"restore", "restore a backup into a data directory",
	cliRestoreMain, cliRestoreHelp},
	{"switchover", "finish a dr_switchover() (started by the server, not by hand)",
	cliSwitchoverMain, cliSwitchoverHelp},
	{"verify", "read and check every object of backups",
	cliVerifyMain, cliVerifyHelp},
	{"wal-get", "fetch a WAL file from the archive (for restore_command)",
	cliWalGetMain, cliWalGetHelp},
};

const char *cliProgramArgv0 = CLI_PROGNAME;

static void
cliHelp(void)
{
	int			i;

	printf("%s is the command-line side of pg_dr, disaster recovery for PostgreSQL.\n"
		   "It reads the same configuration file as the server, so it also works\n"
		   "while the server is down.\n\n", CLI_PROGNAME);
	printf("Usage:\n");
	printf("  %s COMMAND [OPTION]...\n", CLI_PROGNAME);
	printf("  %s help [COMMAND]\n", CLI_PROGNAME);
	printf("\nCommands:\n");
	for (i = 0; i < (int) lengthof(cliCommands); i++)
		printf("  %-17s %s\n", cliCommands[i].name, cliCommands[i].summary);
	printf("\nOptions:\n");
	printf("  -V, --version     output version information, then exit\n");
	printf("  -?, --help        show this help, then exit\n");
	printf("\nRun \"%s help COMMAND\" or \"%s COMMAND --help\" for the options of a command.\n",
		   CLI_PROGNAME, CLI_PROGNAME);
	printf("\nEvery command reads the configuration file given with --config FILE,\n"
		   "else the one named by $" CLI_CONFIG_ENV ", else " CLI_CONFIG_DEFAULT ".\n");
	printf("\nExit status: 0 on success, 1 if the operation failed, 2 on a usage error.\n");
}

static const CliCommandEntry *
cliCommandFind(const char *name)
{
	int			i;

	for (i = 0; i < (int) lengthof(cliCommands); i++)
		if (strcmp(cliCommands[i].name, name) == 0)
			return &cliCommands[i];
	return NULL;
}

static bool
cliIsHelpOption(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-?") == 0 ||
		strcmp(arg, "-h") == 0;
}

int
main(int argc, char **argv)
{
	const CliCommandEntry *command;

	/* always "pg_dr", whatever name the program was started under */
	pg_logging_init(CLI_PROGNAME);
	cliProgramArgv0 = argv[0];
	/* the repository types this program can read, before any config */
	storageDriversRegister();

	if (argc < 2)
		return cliUsageError(NULL, "no command specified");

	if (cliIsHelpOption(argv[1]))
	{
		cliHelp();
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
	{
		printf("%s %s\n", CLI_PROGNAME, PG_DR_VERSION);
		return CLI_EXIT_OK;
	}

	if (strcmp(argv[1], "help") == 0)
	{
		if (argc == 2)
		{
			cliHelp();
			return CLI_EXIT_OK;
		}
		if (argc > 3)
			return cliUsageError(NULL, "too many command-line arguments (first is \"%s\")",
								 argv[3]);
		command = cliCommandFind(argv[2]);
		if (command == NULL)
			return cliUsageError(NULL, "unknown command \"%s\"", argv[2]);
		command->help();
		return CLI_EXIT_OK;
	}

	if (argv[1][0] == '-')
		return cliUsageError(NULL, "unrecognized option \"%s\"", argv[1]);

	command = cliCommandFind(argv[1]);
	if (command == NULL)
		return cliUsageError(NULL, "unknown command \"%s\"", argv[1]);

	/* "-?" cannot be a getopt option; the commands take --help and -h */
	if (argc > 2 && cliIsHelpOption(argv[2]))
	{
		command->help();
		return CLI_EXIT_OK;
	}

	/* the command sees its own name as argv[0], as getopt expects */
	return command->main(argc - 1, argv + 1);
}

int
cliUsageError(const char *command, const char *fmt,...)
{
	va_list		ap;
	char		message[1024];

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	return cliUsageErrorDetail(command, message, NULL);
}

int
cliUsageErrorDetail(const char *command, const char *message, const char *detail)
{
	pg_log_error("%s", message);
	if (detail != NULL)
		pg_log_error_detail("%s", detail);
	if (command != NULL)
		pg_log_error_hint("Try \"%s %s --help\" for more information.",
						  CLI_PROGNAME, command);
	else
		pg_log_error_hint("Try \"%s --help\" for more information.",
						  CLI_PROGNAME);
	return CLI_EXIT_USAGE;
}

const char *
cliRepoTypeName(const ConfigRepo *repo)
{
	return repo->driver != NULL ? repo->driver->type : "unknown";
}

const char *
cliCipherName(ConfigCipher cipher)
{
	switch (cipher)
	{
		case CONFIG_CIPHER_AES256GCM:
			return "aes-256-gcm";
		case CONFIG_CIPHER_NONE:
			return "none";
	}
	return "unknown";
}
