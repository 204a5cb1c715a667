/*-------------------------------------------------------------------------
 * cmd_repo.c
 *	  pg_dr repo-create and pg_dr repo-key-rotate: the repository's life
 *	  cycle commands.
 *
 * repo-create writes the info file of a new repository (repoCreate never
 * overwrites one) and then opens it, which proves the passphrase file and
 * the new info file agree before the user relies on them.
 *
 * repo-key-rotate re-wraps every data key under a new passphrase
 * (repoKeyRotate; see repo.h for why a crash at any point leaves exactly
 * one passphrase valid).  The configuration file is not edited: it may be
 * managed by other tools, so the command tells the user what to change.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <errno.h>
#include <limits.h>
#include <sys/stat.h>

#include "bin/cli.h"
#include "common/hex.h"
#include "common/keys.h"
#include "common/logging.h"
#include "repo/repo.h"

void
cliRepoCreateHelp(void)
{
	printf("%s repo-create initializes a new, empty repository: it writes the\n"
		   "repository's info file (format, cipher, key derivation settings).\n"
		   "An existing repository is never overwritten.\n\n", CLI_PROGNAME);
	printf("Usage:\n");
	printf("  %s repo-create [--config FILE] [--repo N] [--kdf-iterations N] [--owner USER]\n",
		   CLI_PROGNAME);
	printf("\nOptions:\n");
	cliCommandHelpConfig(27);
	printf("  -r, --repo=N             repository N (default: the first configured)\n");
	printf("      --kdf-iterations=N   PBKDF2 iterations for the passphrase\n"
		   "                           (default: %d)\n", KEY_KDF_ITERATIONS_DEFAULT);
	printf("      --owner=USER         run as root: create the repository as USER\n"
		   "                           (default: the owner of its directory or of\n"
		   "                           the nearest existing parent; never root)\n");
	printf("  -h, --help               show this help, then exit\n");
	printf("\nRun as root, it writes as the user who will own the repository, and\n"
		   "refuses when that would be root: the server could not read it.\n");
	printf("\nExit status: 0 on success, 1 if the repository could not be created,\n"
		   "2 on a usage error.\n");
}

void
cliRepoKeyRotateHelp(void)
{
	printf("%s repo-key-rotate re-wraps every data key of a repository under the\n"
		   "passphrase in a new key file.  Data objects are not rewritten.  Afterwards\n"
		   "only the new passphrase opens the repository: point repoN_cipher_key_file\n"
		   "at the new file in every configuration that uses this repository.\n\n",
		   CLI_PROGNAME);
	printf("Usage:\n");
	printf("  %s repo-key-rotate [--config FILE] --new-key-file FILE [--repo N]\n",
		   CLI_PROGNAME);
	printf("\nOptions:\n");
	cliCommandHelpConfig(27);
	printf("      --new-key-file=FILE  file holding the new passphrase (required;\n"
		   "                           mode 0600, at least %d characters)\n",
		   KEY_PASSPHRASE_MIN);
	printf("  -r, --repo=N             repository N (default: the first configured)\n");
	printf("  -h, --help               show this help, then exit\n");
	printf("\nExit status: 0 on success, 1 if the rotation failed, 2 on a usage error.\n");
}

/* Strictly parse a positive 32-bit count. */
static bool
cliRepoUint32Parse(const char *command, const char *option, const char *arg,
				   uint32 *value)
{
	char	   *end;
	unsigned long long parsed = 0;

	errno = 0;
	/* strtoull accepts "-1"; refuse a sign explicitly */
	if (arg[0] == '-' || arg[0] == '+')
		end = (char *) arg;
	else
		parsed = strtoull(arg, &end, 10);
	if (end == arg || *end != '\0' || errno != 0 ||
		parsed == 0 || parsed > PG_UINT32_MAX)
	{
		cliUsageError(command, "invalid value \"%s\" for option %s: must be 1 to %u",
					  arg, option, PG_UINT32_MAX);
		return false;
	}
	*value = (uint32) parsed;
	return true;
}

/* The options of repo-create, set by cliRepoCreateOption. */
typedef struct CliRepoCreateOpts
{
	uint32		kdfIterations;	/* 0 = the library's default */
	const char *owner;
} CliRepoCreateOpts;

static bool
cliRepoCreateOption(void *state, int c, const char *arg)
{
	CliRepoCreateOpts *opts = state;

	if (c == 'o')
	{
		opts->owner = arg;
		return true;
	}
	Assert(c == 'k');
	return cliRepoUint32Parse("repo-create", "--kdf-iterations", arg,
							  &opts->kdfIterations);
}

static const struct option cliRepoCreateOptions[] = {
	{"kdf-iterations", required_argument, NULL, 'k'},
	{"owner", required_argument, NULL, 'o'},
	{NULL, 0, NULL, 0}
};

static const CliCommandSpec cliRepoCreateSpec = {
	.name = "repo-create",
	.help = cliRepoCreateHelp,
	.options = cliRepoCreateOptions,
	.shortOptions = "",
	.option = cliRepoCreateOption,
};

int
cliRepoCreateMain(int argc, char **argv)
{
	CliCommand	cmd;
	CliRepoCreateOpts opts = {0};
	const char *command = cliRepoCreateSpec.name;
	const ConfigRepo *repoConfig;
	const RepoInfo *info;
	DrError		err;
	int			status;

	if ((status = cliCommandBegin(&cmd, &cliRepoCreateSpec, &opts, argc, argv)) != CLI_CONTINUE)
		return status;
	if (!cliCommandConfigLoad(&cmd))
		return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);
	repoConfig = cmd.repoConfig;

	/* the server reads the repository as its owner: write it as that user */
	if (!cliOwnerBecome(command, opts.owner, repoConfig->path, true))
		return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);

	drErrorClear(&err);
	if (!repoCreate(repoConfig, opts.kdfIterations, &err))
	{
		cliErrorReport(&err);
		return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);
	}

	/*
	 * Open what was just written: this reads the info file back and checks
	 * the passphrase against it, so "created" means "usable".
	 */
	cmd.repo = repoOpen(repoConfig, &err);
	if (cmd.repo == NULL)
	{
		drErrorPrefix(&err, "repository %d was created but cannot be opened: ",
					  repoConfig->index);
		cliErrorReport(&err);
		return cliCommandEnd(&cmd, CLI_EXIT_FAILURE);
	}
	info = repoInfoGet(cmd.repo);

	printf("created repository %d (%s) at \"%s\"\n", repoConfig->index,
		   cliRepoTypeName(repoConfig), repoConfig->path);
	printf("  format:  %d\n", info->format);
	printf("  cipher:  %s\n", cliCipherName(info->cipher));
	if (info->cipher != CONFIG_CIPHER_NONE)
	{
		char		kekId[KEY_KEK_ID_SIZE * 2 + 1];

		hexEncode(info->kekId, KEY_KEK_ID_SIZE, HEX_LOWER, kekId);
		printf("  kdf:     pbkdf2-sha256, %u iterations\n", info->kdfIterations);
		printf("  kek id:  %s\n", kekId);
	}
	printf("  created: %s\n", info->created != NULL ? info->created : "unknown");
	if (info->cipher != CONFIG_CIPHER_NONE)
		printf("Keep a copy of the key file \"%s\" apart from the repository:\n"
			   "without its passphrase nothing in this repository can be read.\n",
			   repoConfig->cipherKeyFile);

	return cliCommandEnd(&cmd, CLI_EXIT_OK);
}

/* True if a and b name the same existing file. */
static bool
cliRepoSameFile(const char *a, const char *b)
{
	struct stat sa;
	struct stat sb;

	if (stat(a, &sa) != 0 || stat(b, &sb) != 0)
		return false;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static bool
cliRepoKeyRotateOption(void *state, int c, const char *arg)
{
	Assert(c == 'n');
	*(const char **) state = arg;	/* --new-key-file */
	return true;
}

static const struct option cliRepoKeyRotateOptions[] = {
	{"new-key-file", required_argument, NULL, 'n'},
	{NULL, 0, NULL, 0}
};

static const CliCommandSpec cliRepoKeyRotateSpec = {
	.name = "repo-key-rotate",
	.help = cliRepoKeyRotateHelp,
	.options = cliRepoKeyRotateOptions,
	.shortOptions = "",
	.option = cliRepoKeyRotateOption,
};

int
cliRepoKeyRotateMain(int argc, char **argv)
{
	CliCommand	cmd;
	const char *command = cliRepoKeyRotateSpec.name;
	const char *newKeyArg = NULL;
	char	   *newKeyFile;
	const ConfigRepo *repoConfig;
	Repo	   *repo;
	char		oldKekId[KEY_KEK_ID_SIZE * 2 + 1];
	char		newKekId[KEY_KEK_ID_SIZE * 2 + 1];
	int			dataKeys;
	DrError		err;
	int			status;

	if ((status = cliCommandBegin(&cmd, &cliRepoKeyRotateSpec, &newKeyArg, argc, argv)) != CLI_CONTINUE)
		return status;
	if (newKeyArg == NULL)
		return cliUsageError(command, "no new key file specified (--new-key-file)");

	status = CLI_EXIT_FAILURE;
	if (!cliCommandConfigLoad(&cmd))
		goto done_config;
	repoConfig = cmd.repoConfig;

	if (repoConfig->cipher == CONFIG_CIPHER_NONE)
	{
		pg_log_error("repository %d is not encrypted: it has no key to rotate",
					 repoConfig->index);
		goto done_config;
	}

	/*
	 * The configuration needs an absolute path, so resolve it now and print
	 * the one to put there.
	 */
	newKeyFile = make_absolute_path(newKeyArg);
	if (newKeyFile == NULL)
	{
		pg_log_error("could not resolve path \"%s\": %m", newKeyArg);
		goto done_config;
	}
	if (cliRepoSameFile(newKeyFile, repoConfig->cipherKeyFile))
	{
		pg_log_error("the new key file \"%s\" is the current key file of repository %d",
					 newKeyArg, repoConfig->index);
		pg_log_error_hint("Write the new passphrase to a new file, e.g. with \"openssl rand -base64 48\".");
		goto done_path;
	}

	/* new key objects must stay readable by the repository's owner */
	if (!cliOwnerBecome(command, NULL, repoConfig->path, false))
		goto done_path;

	if (!cliCommandRepoOpen(&cmd))
		goto done_path;
	repo = cmd.repo;
	drErrorClear(&err);
	hexEncode(repoInfoGet(repo)->kekId, KEY_KEK_ID_SIZE, HEX_LOWER, oldKekId);

	if (!repoKeyRotate(repo, newKeyFile, &err) ||
		!repoDataKeyCount(repo, &dataKeys, &err))
	{
		cliErrorReport(&err);
		goto done_path;
	}
	hexEncode(repoInfoGet(repo)->kekId, KEY_KEK_ID_SIZE, HEX_LOWER, newKekId);

	printf("repository %d: re-wrapped %d data key%s under the new passphrase\n",
		   repoConfig->index, dataKeys, dataKeys == 1 ? "" : "s");
	printf("  kek id: %s -> %s\n", oldKekId, newKekId);
	printf("The old passphrase no longer opens this repository.  Now set\n"
		   "  repo%d_cipher_key_file = '%s'\n"
		   "in \"%s\" and in every other configuration that uses this repository\n"
		   "(reload or restart the server so that it reads the change), and keep\n"
		   "a copy of the new key file apart from the repository.\n",
		   repoConfig->index, newKeyFile, cmd.config->path);
	status = CLI_EXIT_OK;

done_path:
	free(newKeyFile);
done_config:
	return cliCommandEnd(&cmd, status);
}
