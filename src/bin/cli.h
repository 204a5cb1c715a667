/*-------------------------------------------------------------------------
 * cli.h
 *	  Declarations shared by the files of the pg_dr command-line program.
 *
 * The CLI is a thin layer over the shared libraries (config, repo,
 * storage): main.c dispatches to one cli<Command>Main() per command, each
 * of which starts with the shared preamble (command.c: options, the
 * configuration file, the repository), calls the libraries and turns a
 * DrError into a message on stderr and an exit status.
 *
 * Exit status contract (documented in docs/cli.md):
 *	 0  success
 *	 1  the operation failed (bad configuration, wrong key, I/O error, ...)
 *	 2  usage error: unknown command or option, missing required option,
 *	    malformed option value, extra arguments
 *	 130, 143  restore, verify or expire stopped by SIGINT or SIGTERM
 *	    (128 + the signal), at a safe point (progress.c)
 *-------------------------------------------------------------------------
 */
#ifndef DR_CLI_H
#define DR_CLI_H

#include "common/config.h"
#include "common/error.h"
#include "common/host.h"
#include "getopt_long.h"
#include "lib/stringinfo.h"
#include "repo/repo.h"

#define PG_DR_VERSION			"0.1.0"
#define CLI_PROGNAME			"pg_dr"

#define CLI_EXIT_OK				0
#define CLI_EXIT_FAILURE		1
#define CLI_EXIT_USAGE			2

/*
 * Commands (cmd_*.c).  Main receives the arguments from the command name
 * on (argv[0] is the command name) and returns the exit status; Help
 * prints the command's help to stdout.
 */
extern int	cliCheckMain(int argc, char **argv);
extern void cliCheckHelp(void);
extern int	cliExpireMain(int argc, char **argv);
extern void cliExpireHelp(void);
extern int	cliInfoMain(int argc, char **argv);
extern void cliInfoHelp(void);
extern int	cliRejoinMain(int argc, char **argv);
extern void cliRejoinHelp(void);
extern int	cliRepoCreateMain(int argc, char **argv);
extern void cliRepoCreateHelp(void);
extern int	cliRepoKeyRotateMain(int argc, char **argv);
extern void cliRepoKeyRotateHelp(void);
extern int	cliRestoreMain(int argc, char **argv);
extern void cliRestoreHelp(void);
extern int	cliSwitchoverMain(int argc, char **argv);
extern void cliSwitchoverHelp(void);
extern int	cliVerifyMain(int argc, char **argv);
extern void cliVerifyHelp(void);
extern int	cliWalGetMain(int argc, char **argv);
extern void cliWalGetHelp(void);

/*
 * argv[0] of the program as started (main.c), from which restore finds
 * its own absolute path for restore_command.
 */
extern const char *cliProgramArgv0;

/*
 * The preamble every command shares (command.c).
 *
 * A command declares its own options in a CliCommandSpec; cliCommandBegin
 * adds the ones every command takes (-c/--config, -r/--repo, -h/--help),
 * parses the command line, checks the number of positional arguments and
 * chooses the configuration file; cliCommandConfigLoad loads it and selects
 * the repository; cliCommandRepoOpen opens it; cliCommandEnd releases what
 * was loaded.  Each prints its own error: the caller only returns the
 * status.
 *
 * The configuration file is --config FILE, else the environment variable
 * PG_DR_CONFIG (when set and not empty), else CLI_CONFIG_DEFAULT.  The
 * default that does not exist is a usage error, as a missing --config was:
 * the user named no file.  A file that was named (by --config or
 * PG_DR_CONFIG) and cannot be read is a failure (status 1).
 */
#ifndef CLI_CONFIG_DEFAULT
#define CLI_CONFIG_DEFAULT		"/etc/pg_dr.conf"
#endif
#define CLI_CONFIG_ENV			"PG_DR_CONFIG"

/* cliCommandBegin's "go on" */
#define CLI_CONTINUE			(-1)

/* --progress (progress.c) */
typedef enum CliProgressMode
{
	CLI_PROGRESS_AUTO = 0,		/* a live line when stderr is a terminal */
	CLI_PROGRESS_ON,			/* that, or plain periodic lines */
	CLI_PROGRESS_OFF
} CliProgressMode;

typedef struct CliCommandSpec
{
	const char *name;			/* as typed: "repo-create" */
	void		(*help) (void);	/* prints the command's --help */

	/*
	 * The command's own options, in getopt_long's terms: long options
	 * ({NULL} ended, may be NULL) and short ones ("nb:", may be "").  Never
	 * config, repo or help: those are added.
	 */
	const struct option *options;
	const char *shortOptions;

	/*
	 * One of the command's own options was given (c is its val, arg its
	 * value or NULL); state is cliCommandBegin's.  False (error printed)
	 * stops with usageStatus.
	 */
	bool		(*option) (void *state, int c, const char *arg);

	/* positional arguments: argsMin to argsMax, argsMissing when fewer */
	int			argsMin;
	int			argsMax;
	const char *argsMissing;

	/*
	 * --repo only narrows the command to one repository: without it no
	 * repository is selected (info reports them all).
	 */
	bool		repoOptional;

	/* a long command: --progress=auto|on|off is added (cmd->progress) */
	bool		progress;

	/*
	 * Exit statuses of a usage error and of a failure of the preamble
	 * (configuration, repository).  0 means CLI_EXIT_USAGE and
	 * CLI_EXIT_FAILURE; wal-get has its own.
	 */
	int			usageStatus;
	int			failureStatus;
} CliCommandSpec;

typedef struct CliCommand
{
	const CliCommandSpec *spec;
	const char *configPath;		/* the file chosen, as given */
	const char *configSource;	/* "--config", CLI_CONFIG_ENV or "default" */
	int			repoNumber;		/* --repo, 0 when not given */
	char	  **args;			/* the positional arguments */
	int			argCount;
	DrConfig   *config;			/* cliCommandConfigLoad */
	const ConfigRepo *repoConfig;	/* cliCommandConfigLoad; NULL for all
									 * (repoOptional without --repo) */
	Repo	   *repo;			/* cliCommandRepoOpen; closed by End */
	int			usageStatus;	/* resolved from spec */
	int			failureStatus;
	CliProgressMode progress;	/* --progress, when spec->progress */
} CliCommand;

/*
 * Parse argv (argv[0] is the command's name) for spec; state goes to
 * spec->option.  Returns CLI_CONTINUE to go on, or the status to exit with
 * (0 after --help).
 */
extern int	cliCommandBegin(CliCommand *cmd, const CliCommandSpec *spec,
							void *state, int argc, char **argv);

/*
 * Load the configuration file and select the repository (--repo N, or the
 * first configured).  False (error printed): exit with cmd->failureStatus.
 */
extern bool cliCommandConfigLoad(CliCommand *cmd);

/* Open the selected repository into cmd->repo; false (error printed). */
extern bool cliCommandRepoOpen(CliCommand *cmd);

/*
 * Close the repository and free the configuration (either may be absent);
 * returns status, so that "return cliCommandEnd(&cmd, status);" ends a
 * command.
 */
extern int	cliCommandEnd(CliCommand *cmd, int status);

/*
 * Print the --config line of a command's --help, its description from
 * column on (where the command's other descriptions start), so that every
 * command says alike where the file is looked for.
 */
extern void cliCommandHelpConfig(int column);

/* The same for --progress (a command whose spec has progress). */
extern void cliCommandHelpProgress(int column);

/*
 * The host of a long command (progress.c): SIGINT and SIGTERM cancel it,
 * progress is shown on stderr as mode says, notices are logged.
 *
 * cliProgressBegin installs the signal handlers and returns the host to
 * put in the operation's Param; its state is shared with the processes
 * the command forks afterwards (restore --jobs), so a signal to the
 * parent stops every job and each job's files count in one line.
 * cliProgressBreak ends a live line before other output goes to the
 * terminal.  cliProgressEnd ends the line, restores the handlers and
 * returns the exit status: status itself, unless a signal stopped the
 * command (status not 0), then 128 + the signal, with a message.
 */
extern const DrHost *cliProgressBegin(const char *command, CliProgressMode mode);
extern void cliProgressBreak(void);
extern int	cliProgressEnd(int status);

/* Report a usage error for command (printf-style).  Returns CLI_EXIT_USAGE. */
extern int	cliUsageError(const char *command, const char *fmt,...) pg_attribute_printf(2, 3);

/*
 * The same with a message already formatted and a detail line (how to fix
 * it, or NULL) before the hint to --help.
 */
extern int	cliUsageErrorDetail(const char *command, const char *message,
								const char *detail);

/* Names for display. */
extern const char *cliRepoTypeName(const ConfigRepo *repo);
extern const char *cliCipherName(ConfigCipher cipher);

/*
 * Run as the owner of what the command writes (owner.c): when root,
 * decide with ownerDecide (--owner USER, or the owner of target or its
 * nearest existing parent), create target and its missing parents owned
 * by that user when createTarget, then leave root for good (supplementary
 * groups, group, user).  A no-op for any other user (but --owner must
 * then name that user).  False (error printed) when refused or when
 * leaving root failed.
 */
extern bool cliOwnerBecome(const char *command, const char *option,
						   const char *target, bool createTarget);

/* Reporting (output.c). */

/* Print err to stderr as "pg_dr: error: ..." and its hint, if any. */
extern void cliErrorReport(const DrError *err);

/*
 * Append str to buf as a JSON string literal (quotes included): control
 * characters escaped, bytes that are not valid UTF-8 replaced by U+FFFD so
 * that the result is always valid JSON.  NULL is appended as null.
 */
extern void cliJsonString(StringInfo buf, const char *str);

/*
 * Append str to buf for a terminal: names read from a repository may hold
 * anything, so control characters are shown as \xNN instead of being
 * sent to the terminal (a newline would forge a line of the report).
 */
extern void cliTextString(StringInfo buf, const char *str);

/* Write buf to stdout; false (error printed) if that fails. */
extern bool cliOutputFlush(StringInfo buf);

/*
 * A host that only prints warnings ("pg_dr: warning: ..."), for what a
 * command reads before its own host (if any) is set up: the fallbacks
 * from one repository to the next (repo/repo_fallback.h).
 */
extern const DrHost cliWarnHost;

#endif							/* DR_CLI_H */
