/*-------------------------------------------------------------------------
 * cli.h
 *	  Declarations shared by the files of the pg_dr command-line program.
 *
 * The CLI is a thin layer over the shared libraries (config, repo,
 * storage): main.c dispatches to one cli<Command>Main() per command, each
 * of which parses its own options with getopt_long, calls the libraries
 * and turns a DrError into a message on stderr and an exit status.
 *
 * Exit status contract (documented in docs/cli.md):
 *	 0  success
 *	 1  the operation failed (bad configuration, wrong key, I/O error, ...)
 *	 2  usage error: unknown command or option, missing required option,
 *	    malformed option value, extra arguments
 *-------------------------------------------------------------------------
 */
#ifndef DR_CLI_H
#define DR_CLI_H

#include "common/config.h"
#include "common/error.h"
#include "lib/stringinfo.h"

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
extern int	cliExpireMain(int argc, char **argv);
extern void cliExpireHelp(void);
extern int	cliInfoMain(int argc, char **argv);
extern void cliInfoHelp(void);
extern int	cliRepoCreateMain(int argc, char **argv);
extern void cliRepoCreateHelp(void);
extern int	cliRepoKeyRotateMain(int argc, char **argv);
extern void cliRepoKeyRotateHelp(void);
extern int	cliRestoreMain(int argc, char **argv);
extern void cliRestoreHelp(void);
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
 * Option plumbing shared by the commands (main.c).  Each of these prints
 * its own error; the caller only returns the status.
 */

/*
 * Report a getopt_long() failure (c is what it returned: ':' for a missing
 * argument, '?' for an unknown option; the optstring must start with ':').
 * Returns CLI_EXIT_USAGE.
 */
extern int	cliOptionError(const char *command, int c, char **argv);

/* Report a usage error for command (printf-style).  Returns CLI_EXIT_USAGE. */
extern int	cliUsageError(const char *command, const char *fmt,...) pg_attribute_printf(2, 3);

/*
 * Parse a --repo value: 1..CONFIG_REPO_MAX.  False (error printed) when
 * it is not one.
 */
extern bool cliRepoNumberParse(const char *command, const char *arg,
							   int *repoNumber);

/* Load the configuration file; NULL (error printed) on failure. */
extern DrConfig *cliConfigLoad(const char *path);

/*
 * The repository a command works on: repoNumber, or the first configured
 * one when repoNumber is 0.  NULL (error printed) when it is not
 * configured.
 */
extern const ConfigRepo *cliRepoSelect(const DrConfig *config, int repoNumber);

/* Names for display. */
extern const char *cliRepoTypeName(ConfigRepoType type);
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

#endif							/* DR_CLI_H */
