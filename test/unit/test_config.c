/*-------------------------------------------------------------------------
 * test_config.c
 *	  Unit tests of src/common/config.c.
 *
 * Covers: a full valid file (repos, enumerations, paths normalized,
 * compress level), defaults, quoting ('...' and "..."), comments (whole
 * line and after values), CRLF lines, the items list (every effective
 * setting, sorted, sources "default" / "file:line", secret masking through
 * configNameIsSecret), configRepoFirst, and every error path with its
 * message naming file and line: syntax, unterminated quote, text after a
 * quote, unknown setting (with "did you mean" and with the list of valid
 * names), repo number out of range, set twice, bad enumeration values,
 * compress_level range and form, relative and root paths, missing required
 * settings, key file inside the repository, retention_full and
 * retention_full_days (values, unset, range and form), two repos on one path, long
 * lines, NUL bytes, control characters; a passphrase written as the key
 * file's path not echoed; the key file inside the repository through "//",
 * "/./", "..", a symbolic link; an empty or comments-only file;
 * configLoad on a real file, a missing file (NOT_FOUND), a directory, a
 * FIFO (refused without blocking), an empty file, a file over the size
 * limit; the HA settings (not listed while unset; defaults; every value
 * read; ha_cluster_name and ha_node_name required once any is set; the
 * Patroni rule at its bound and past it, the message and the hint; a
 * value out of range or of the wrong form; etcd endpoints without a
 * scheme or with a password; the lag watcher's settings, their defaults,
 * unset thresholds and synchronous mode, bounds).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "storage/storage.h"
#include "tap.h"
#include "test_support.h"

#define SRC "/etc/pg_dr.conf"

static DrConfig *
parse(const char *text, DrError *err)
{
	drErrorClear(err);
	return configParse(text, strlen(text), SRC, err);
}

/*
 * Expect text to be refused with DR_ERR_CONFIG and a message containing
 * want (which names the line).
 */
static void
expectError(const char *text, const char *want, const char *what)
{
	DrError		err;
	DrConfig   *config = parse(text, &err);

	ok(config == NULL && err.code == DR_ERR_CONFIG, "%s: refused", what);
	if (!ok(strstr(err.message, want) != NULL, "%s: message", what))
		diag("message: %s\n#    wanted: %s", err.message, want);
	if (config)
		configFree(config);
}

static void
testValid(void)
{
	DrError		err;
	DrConfig   *config;
	const ConfigItem *item;
	bool		sorted = true;

	config = parse("# pg_dr\n"
				   "\n"
				   "repo1_type = posix\n"
				   "  repo1_path = '/srv/dr/repo1/'   # trailing slash dropped\n"
				   "repo1_cipher_key_file=\"/etc/pg_dr/key\"\n"
				   "repo3_type\t=\tPOSIX\n"
				   "repo3_path = /srv/dr/repo 3#comment\n"
				   "repo3_cipher_type = none\n"
				   "compress_level = 07\n", &err);
	if (!ok(config != NULL, "valid file parses"))
		diag("%s", err.message);
	if (config == NULL)
		return;

	is_str(config->path, SRC, "path kept");
	is_int(config->repoCount, 2, "two repos");
	is_int(config->repo[1].index, 1, "repo1 used");
	is_int(config->repo[2].index, 0, "repo2 unused");
	is_int(config->repo[3].index, 3, "repo3 used");
	ok(config->repo[1].driver == configDriverFind("posix"), "repo1 type");
	is_str(config->repo[1].path, "/srv/dr/repo1", "quoted path, trailing slash removed");
	is_int(config->repo[1].cipher, CONFIG_CIPHER_AES256GCM, "cipher defaults to aes-256-gcm");
	is_str(config->repo[1].cipherKeyFile, "/etc/pg_dr/key", "double-quoted key file");
	is_str(config->repo[3].path, "/srv/dr/repo 3", "unquoted value ends at comment, blanks inside kept");
	is_int(config->repo[3].cipher, CONFIG_CIPHER_NONE, "cipher none");
	ok(config->repo[3].cipherKeyFile == NULL, "no key file without cipher");
	is_int(config->compressLevel, 7, "compress level");
	is_int(config->repo[1].compressLevel, 7, "repo gets the compress level");
	ok(configRepoFirst(config, &err) == &config->repo[1], "first repo is repo1");

	/* repoN_required: on for the first configured repository only */
	ok(config->repo[1].required, "repo1 required by default");
	ok(!config->repo[3].required, "repo3 not required by default");
	is_str(itemFind(config, "repo1_required")->value, "on", "repo1_required shown on");
	is_str(itemFind(config, "repo3_required")->value, "off", "repo3_required shown off");

	/* 2 globals + repo1 (5) + repo3 (4: no key file) */
	is_int(config->itemCount, 11, "items: every effective setting");
	for (int i = 1; i < config->itemCount; i++)
		sorted &= strcmp(config->items[i - 1].name, config->items[i].name) < 0;
	ok(sorted, "items sorted by name");

	item = itemFind(config, "compress_type");
	ok(item && strcmp(item->value, "zstd") == 0 &&
	   strcmp(item->source, "default") == 0, "default item has source default");
	item = itemFind(config, "compress_level");
	ok(item && strcmp(item->value, "7") == 0 &&
	   strcmp(item->source, SRC ":9") == 0, "file item has source file:line");
	item = itemFind(config, "repo3_type");
	ok(item && strcmp(item->value, "posix") == 0, "enumeration stored in lower case");
	item = itemFind(config, "repo1_cipher_type");
	ok(item && strcmp(item->source, "default") == 0 &&
	   strcmp(item->value, "aes-256-gcm") == 0, "repo default item");
	item = itemFind(config, "repo1_cipher_key_file");
	ok(item && !item->secret && strcmp(item->value, "/etc/pg_dr/key") == 0,
	   "key file is a path, shown");
	ok(itemFind(config, "repo3_cipher_key_file") == NULL,
	   "unset optional setting not listed");
	configFree(config);

	/* defaults only */
	config = parse("compress_type = zstd\n", &err);
	ok(config != NULL, "file without repositories parses");
	if (config)
	{
		is_int(config->repoCount, 0, "no repos");
		is_int(config->compressLevel, 3, "compress level default 3");
		is_int(config->itemCount, 2, "two default items");
		ok(configRepoFirst(config, &err) == NULL && err.code == DR_ERR_CONFIG,
		   "configRepoFirst without repos: config error");
		configFree(config);
	}

	config = parse("compress_type = none\ncompress_level = 19\r\n"
				   "repo2_type = posix\r\nrepo2_path = /r\r\n"
				   "repo2_cipher_type = none\n", &err);
	ok(config != NULL, "CRLF lines parse");
	if (config)
	{
		is_int(config->compressLevel, 0, "compress none: level 0");
		is_str(config->repo[2].path, "/r", "CR dropped from value");
		ok(configRepoFirst(config, &err) == &config->repo[2], "first repo is repo2");
		configFree(config);
	}

	config = parse("repo1_type = posix\nrepo1_path = \"/a # b\"\n"
				   "repo1_cipher_type = 'none' # c\n", &err);
	ok(config && strcmp(config->repo[1].path, "/a # b") == 0,
	   "quoted value keeps '#'");
	if (config)
		configFree(config);

	ok(configNameIsSecret("repo1_s3_key"), "_key is secret");
	ok(configNameIsSecret("repo1_s3_key_secret"), "_secret is secret");
	ok(configNameIsSecret("repo1_azure_password"), "_password is secret");
	ok(configNameIsSecret("repo1_token"), "_token is secret");
	ok(!configNameIsSecret("repo1_cipher_key_file"), "_key_file is not secret");
	ok(!configNameIsSecret("repo1_path"), "path is not secret");
}

static void
testErrors(void)
{
	DrError		err;
	DrConfig   *config;
	char	   *text;

	expectError("repo1_type = posix\nrepo1_path /x\n",
				"\"" SRC "\" line 2: syntax error", "missing '='");
	expectError("= x\n", "line 1: syntax error", "missing name");
	expectError("\n\nrepo1_path = '/x\n", "line 3: unterminated quoted value",
				"unterminated quote");
	expectError("repo1_path = '/x' y\n", "line 1: unexpected text after the quoted value",
				"text after quote");

	config = parse("repo1_type = posix\n# c\n\nrepo1_pth = /x\n", &err);
	ok(config == NULL && err.code == DR_ERR_CONFIG, "typo refused");
	is_str(err.message, "\"" SRC "\" line 4: unknown setting \"repo1_pth\"",
		   "unknown setting names file and line");
	is_str(err.hint, "Did you mean \"repo1_path\"?", "did you mean");

	config = parse("compression_type = zstd\n", &err);
	is_str(err.hint, "Did you mean \"compress_type\"?", "did you mean, global");
	config = parse("repo2_Cipher_Type = none\n", &err);
	is_str(err.hint, "Did you mean \"repo2_cipher_type\"?", "did you mean keeps N, ignores case");
	config = parse("archive_mode = on\n", &err);
	ok(strstr(err.hint, "Valid settings are") != NULL, "far name: list of valid names");
	ok(strstr(err.message, "line 1: unknown setting \"archive_mode\"") != NULL,
	   "far name message");

	expectError("repo5_path = /x\n",
				"line 1: repository number in \"repo5_path\" must be from 1 to 4",
				"repo number 5");
	expectError("repo0_type = posix\n", "line 1: repository number", "repo number 0");
	expectError("repo01_type = posix\n", "line 1: repository number", "repo number 01");
	expectError("repo99999999999999999999_type = posix\n", "line 1: repository number",
				"huge repo number");

	expectError("repo1_path = /x\nrepo1_type = posix\nrepo1_path = /y\n",
				"line 3: \"repo1_path\" is set twice (first on line 1)",
				"set twice");
	expectError("compress_type = zstd\n\ncompress_type = zstd\n",
				"line 3: \"compress_type\" is set twice (first on line 1)",
				"set twice, same value");

	expectError("\ncompress_type = lz4\n",
				"line 2: invalid value \"lz4\" for \"compress_type\": expected zstd or none",
				"compress_type lz4");
	expectError("compress_type =\n", "line 1: invalid value \"\" for \"compress_type\"",
				"empty value");
	expectError("compress_level = 0\n",
				"line 1: invalid value \"0\" for \"compress_level\": expected an integer from 1 to 19",
				"compress_level 0");
	expectError("compress_level = 20\n", "line 1: invalid value \"20\"", "compress_level 20");
	expectError("compress_level = -1\n", "line 1: invalid value \"-1\"", "compress_level -1");
	expectError("compress_level = 3x\n", "line 1: invalid value \"3x\"", "compress_level 3x");
	expectError("compress_level = 3.0\n", "line 1: invalid value \"3.0\"", "compress_level 3.0");
	expectError("repo1_type = ftp\n",
				"line 1: invalid value \"ftp\" for \"repo1_type\": expected posix, s3, azure or gcs",
				"repo type ftp");
	expectError("repo1_cipher_type = aes\n",
				"line 1: invalid value \"aes\" for \"repo1_cipher_type\": expected aes-256-gcm or none",
				"cipher aes");

	config = parse("repo1_type = posix\nrepo1_path = srv/repo\n", &err);
	ok(config == NULL && err.code == DR_ERR_CONFIG, "relative path refused");
	is_str(err.message,
		   "\"" SRC "\" line 2: \"repo1_path\" must be an absolute path, got \"srv/repo\"",
		   "relative path message");
	ok(err.hint[0] != '\0', "relative path hint");
	expectError("repo1_cipher_key_file = key\n",
				"line 1: \"repo1_cipher_key_file\" must be an absolute path",
				"relative key file");
	expectError("repo1_path = ///\nrepo1_type = posix\n",
				"line 1: \"repo1_path\" must not be the root directory",
				"root path");

	config = parse("repo1_path = /x\nrepo1_cipher_type = none\n", &err);
	ok(config == NULL && err.code == DR_ERR_CONFIG, "missing type refused");
	is_str(err.message, "\"" SRC "\": repo1: \"repo1_type\" is required", "missing type message");
	expectError("repo2_type = posix\n", "repo2: \"repo2_path\" is required", "missing path");
	expectError("repo1_type = posix\nrepo1_path = /a\nrepo1_cipher_type = none\n"
				"repo1_required = off\n"
				"repo2_type = posix\nrepo2_path = /b\nrepo2_cipher_type = none\n",
				"no repository is required: every repoN_required is off",
				"no repository required");
	expectError("repo1_type = posix\nrepo1_path = /a\nrepo1_cipher_type = none\n"
				"repo1_required = maybe\n",
				"repo1_required", "required is a boolean");
	config = parse("repo1_type = posix\nrepo1_path = /x\n", &err);
	ok(config == NULL && err.code == DR_ERR_CONFIG, "missing key file refused");
	is_str(err.message,
		   "\"" SRC "\": repo1: \"repo1_cipher_key_file\" is required when repo1_cipher_type is aes-256-gcm",
		   "missing key file message");
	ok(strstr(err.hint, "repo1_cipher_type = none") != NULL, "missing key file hint");

	expectError("repo1_type = posix\nrepo1_path = /x\n"
				"repo1_cipher_key_file = /x/key\n",
				"line 3: \"repo1_cipher_key_file\" must not be inside the repository",
				"key file inside the repository");
	expectError("repo1_type = posix\nrepo1_path = /x\nrepo1_cipher_type = none\n"
				"repo2_type = posix\nrepo2_path = /x/\nrepo2_cipher_type = none\n",
				"line 5: repo1 and repo2 have the same path \"/x\"",
				"two repos, one path");

	/* a line of exactly CONFIG_LINE_MAX bytes is fine, one more is not */
	text = palloc(CONFIG_LINE_MAX + 64);
	snprintf(text, CONFIG_LINE_MAX + 64, "compress_type = none\n#%0*d\n",
			 CONFIG_LINE_MAX - 1, 0);
	config = parse(text, &err);
	ok(config != NULL, "line of CONFIG_LINE_MAX bytes accepted");
	if (config)
		configFree(config);
	snprintf(text, CONFIG_LINE_MAX + 64, "\n#%0*d\n", CONFIG_LINE_MAX, 0);
	expectError(text, "line 2: line is longer than 4096 bytes", "long line");
	pfree(text);

	{
		static const char nul[] = "compress_type = zstd\n\ncompress_level\0 = 3\n";

		config = configParse(nul, sizeof(nul) - 1, SRC, &err);
	}
	ok(config == NULL && err.code == DR_ERR_CONFIG, "NUL refused");
	is_str(err.message, "\"" SRC "\" line 3: line contains a NUL byte", "NUL message");
	expectError("compress_type = zs\x01td\n", "line 1: line contains a control character (0x01)",
				"control character");
}

/*
 * Issue 8 item 12: no secret in messages, the key-inside-repository check
 * on resolved paths, an empty file.
 */
static void
testSecretsAndPaths(void)
{
	DrError		err;
	DrConfig   *config;
	char		dir[] = "/tmp/test_config_paths.XXXXXX";
	char	   *text;

	/* a passphrase written in place of the key file's path */
	config = parse("repo1_type = posix\nrepo1_path = /srv/repo\n"
				   "repo1_cipher_key_file = 'Tr0ub4dor&3 correct horse'\n", &err);
	ok(config == NULL && err.code == DR_ERR_CONFIG, "passphrase as key path refused");
	is_str(err.message,
		   "\"" SRC "\" line 3: \"repo1_cipher_key_file\" must be an absolute path (its value is not shown: it may be a secret)",
		   "message names setting and line, not the value");
	ok(strstr(err.message, "Tr0ub4dor") == NULL && strstr(err.hint, "Tr0ub4dor") == NULL,
	   "passphrase not in message nor hint");

	/* "//", "/./" and ".." do not hide the repository from the check */
	expectError("repo1_type = posix\nrepo1_path = /srv/repo\n"
				"repo1_cipher_key_file = //srv/repo/key\n",
				"line 3: \"repo1_cipher_key_file\" must not be inside the repository",
				"key file inside the repository, '//'");
	expectError("repo1_type = posix\nrepo1_path = /srv//repo/\n"
				"repo1_cipher_key_file = /srv/./repo/sub/key\n",
				"must not be inside the repository", "key file inside the repository, '/./'");
	expectError("repo1_type = posix\nrepo1_path = /srv/repo\n"
				"repo1_cipher_key_file = /srv/repo/sub/..\n",
				"must not be inside the repository", "key file is the repository itself");
	config = parse("repo1_type = posix\nrepo1_path = /srv/repo\n"
				   "repo1_cipher_key_file = /srv/repo.key\n", &err);
	ok(config != NULL, "a key file next to the repository is fine");
	if (config)
		configFree(config);

	/* a symbolic link to the repository, and ".." over existing directories */
	if (ok(mkdtemp(dir) != NULL, "paths: temp dir"))
	{
		char		repo[256];
		char		link[256];
		char		other[256];

		snprintf(repo, sizeof(repo), "%s/repo", dir);
		snprintf(link, sizeof(link), "%s/link", dir);
		snprintf(other, sizeof(other), "%s/other", dir);
		ok(mkdir(repo, 0700) == 0 && mkdir(other, 0700) == 0 &&
		   symlink(repo, link) == 0, "paths: repo, other dir, link to repo");

		text = psprintf("repo1_type = posix\nrepo1_path = %s\n"
						"repo1_cipher_key_file = %s/key\n", repo, link);
		expectError(text, "must not be inside the repository",
					"key file through a symbolic link to the repository");
		pfree(text);
		text = psprintf("repo1_type = posix\nrepo1_path = %s\n"
						"repo1_cipher_key_file = %s/../repo/key\n", repo, other);
		expectError(text, "must not be inside the repository",
					"key file through '..' of an existing directory");
		pfree(text);
		text = psprintf("repo1_type = posix\nrepo1_path = %s\n"
						"repo1_cipher_key_file = %s/key\n", link, repo);
		expectError(text, "must not be inside the repository",
					"repository named through a symbolic link");
		pfree(text);
		text = psprintf("repo1_type = posix\nrepo1_path = %s\n"
						"repo1_cipher_key_file = %s/key\n", repo, other);
		config = parse(text, &err);
		ok(config != NULL, "key file in another directory is fine");
		if (config)
			configFree(config);
		pfree(text);

		unlink(link);
		rmdir(repo);
		rmdir(other);
		rmdir(dir);
	}

	/* an empty file, or one of comments only, is an error that says so */
	config = parse("", &err);
	ok(config == NULL && err.code == DR_ERR_CONFIG, "empty file refused");
	is_str(err.message, "\"" SRC "\": the configuration file has no settings",
		   "empty file message");
	ok(strstr(err.hint, "repo1_path") != NULL, "empty file hint");
	expectError("# nothing here\n\n   \n", "the configuration file has no settings",
				"comments only");
}

static void
testRetention(void)
{
	DrError		err;
	DrConfig   *config;
	const ConfigItem *item;

	config = parse("repo1_type = posix\nrepo1_path = /a\nrepo1_cipher_type = none\n"
				   "repo1_retention_full = 02\nrepo1_retention_full_days = 30\n"
				   "repo2_type = posix\nrepo2_path = /b\nrepo2_cipher_type = none\n",
				   &err);
	if (!ok(config != NULL, "retention: parses"))
	{
		diag("%s", err.message);
		return;
	}
	is_int(config->repo[1].retentionFull, 2, "retention: full count");
	is_int(config->repo[1].retentionFullDays, 30, "retention: full days");
	is_int(config->repo[2].retentionFull, 0, "retention: unset is 0");
	is_int(config->repo[2].retentionFullDays, 0, "retention: days unset is 0");
	item = itemFind(config, "repo1_retention_full");
	ok(item && strcmp(item->value, "2") == 0, "retention: item normalized");
	ok(itemFind(config, "repo2_retention_full") == NULL,
	   "retention: unset, no item");
	configFree(config);

	expectError("repo1_type = posix\nrepo1_path = /a\nrepo1_cipher_type = none\n"
				"repo1_retention_full = 0\n",
				SRC "\" line 4: invalid value \"0\" for \"repo1_retention_full\": expected an integer from 1 to 99999",
				"retention_full 0");
	expectError("repo1_type = posix\nrepo1_path = /a\nrepo1_cipher_type = none\n"
				"repo1_retention_full_days = -3\n",
				"invalid value \"-3\" for \"repo1_retention_full_days\"",
				"retention_full_days negative");
	expectError("repo1_type = posix\nrepo1_path = /a\nrepo1_cipher_type = none\n"
				"repo1_retention_full = two\n",
				"invalid value \"two\"", "retention_full not a number");
	expectError("repo1_retention_ful = 2\n", "unknown setting", "retention typo");
}

static void
testLoad(void)
{
	char		dir[] = "/tmp/test_config.XXXXXX";
	char		path[256];
	char		missing[256];
	DrError		err;
	DrConfig   *config;
	FILE	   *f;

	if (!ok(mkdtemp(dir) != NULL, "temp dir"))
		return;
	snprintf(path, sizeof(path), "%s/pg_dr.conf", dir);
	snprintf(missing, sizeof(missing), "%s/nope.conf", dir);

	f = fopen(path, "w");
	fprintf(f, "repo1_type = posix\nrepo1_path = /srv\nrepo1_cipher_type = none\n"
			"bogus = 1\n");
	fclose(f);
	config = configLoad(path, &err);
	ok(config == NULL && err.code == DR_ERR_CONFIG, "load: content error");
	ok(strncmp(err.message, "\"", 1) == 0 && strstr(err.message, "pg_dr.conf\" line 4:") != NULL,
	   "load: message names the file and line");

	f = fopen(path, "w");
	fprintf(f, "repo1_type = posix\nrepo1_path = /srv\nrepo1_cipher_type = none\n");
	fclose(f);
	config = configLoad(path, &err);
	ok(config != NULL && config->repo[1].index == 1, "load: valid file");
	if (config)
	{
		is_str(config->path, path, "load: path kept");
		configFree(config);
	}

	config = configLoad(missing, &err);
	ok(config == NULL && err.code == DR_ERR_NOT_FOUND, "load: missing file is NOT_FOUND");
	ok(strstr(err.message, "nope.conf\"") != NULL, "load: missing file named");

	config = configLoad(dir, &err);
	ok(config == NULL && err.code != DR_OK, "load: directory refused");

	/*
	 * A FIFO: refused at once, not waited on (the open used to block until
	 * a writer came; the alarm turns a hang into a failure).
	 */
	unlink(path);
	if (ok(mkfifo(path, 0600) == 0, "load: FIFO created"))
	{
		alarm(10);
		config = configLoad(path, &err);
		alarm(0);
		ok(config == NULL && err.code == DR_ERR_CONFIG, "load: FIFO refused");
		ok(strstr(err.message, "is not a regular file (it is a FIFO)") != NULL,
		   "load: FIFO message says what it is");
		unlink(path);
	}

	/* an empty file */
	f = fopen(path, "w");
	fclose(f);
	config = configLoad(path, &err);
	ok(config == NULL && err.code == DR_ERR_CONFIG &&
	   strstr(err.message, "has no settings") != NULL, "load: empty file refused");
	ok(err.message[0] != '\0', "load: with a message");

	/* over the size limit: a file of 1 MiB + 1 of comment */
	f = fopen(path, "w");
	for (int i = 0; i < 1024 * 1024 / 64 + 1; i++)
		fprintf(f, "#%062d\n", i);
	fclose(f);
	config = configLoad(path, &err);
	ok(config == NULL && err.code == DR_ERR_CONFIG &&
	   strstr(err.message, "is larger than") != NULL, "load: big file refused");

	unlink(path);
	rmdir(dir);
}

static void
testHa(void)
{
	DrError		err;
	DrConfig   *config;

	config = parse("repo1_type = posix\nrepo1_path = /r\nrepo1_cipher_type = none\n", &err);
	ok(config != NULL && !config->ha.configured, "no ha_* setting: HA not configured");
	ok(itemFind(config, "ha_lease_ttl") == NULL, "... and no ha_* item listed");
	configFree(config);

	config = parse("ha_cluster_name = c1\nha_node_name = n1\n", &err);
	ok(config != NULL && config->ha.configured, "cluster and node named: configured (%s)",
	   err.message);
	if (config)
	{
		is_str(config->ha.clusterName, "c1", "ha_cluster_name");
		is_str(config->ha.nodeName, "n1", "ha_node_name");
		ok(!config->ha.failover, "ha_failover off by default");
		is_int(config->ha.checkIntervalMs, 1000, "ha_check_interval default 1000 ms");
		is_int(config->ha.retryTimeoutMs, 2000, "ha_retry_timeout default 2000 ms");
		is_int(config->ha.leaseTtlMs, 5000, "ha_lease_ttl default 5000 ms");
		is_int(config->ha.maxFailoverLag, 16 * 1024 * 1024, "ha_max_failover_lag default 16MB");
		ok(config->ha.etcdEndpoints == NULL, "no etcd by default");
		ok(itemFind(config, "ha_lease_ttl") != NULL &&
		   strcmp(itemFind(config, "ha_lease_ttl")->source, "default") == 0,
		   "the ha_* items listed, defaults too");
		configFree(config);
	}

	config = parse("ha_cluster_name = c1\nha_node_name = 'node 2'\nha_failover = on\n"
				   "ha_check_interval = 500\nha_retry_timeout = 1000\nha_lease_ttl = 2500\n"
				   "ha_max_failover_lag = 1MB\n"
				   "ha_etcd_endpoints = http://10.0.0.1:2379,http://10.0.0.2:2379\n", &err);
	ok(config != NULL, "every HA setting, interval + 2 x retry = ttl (%s)", err.message);
	if (config)
	{
		ok(config->ha.failover && config->ha.checkIntervalMs == 500 &&
		   config->ha.retryTimeoutMs == 1000 && config->ha.leaseTtlMs == 2500 &&
		   config->ha.maxFailoverLag == 1024 * 1024, "... each read");
		is_str(config->ha.nodeName, "node 2", "... a quoted node name");
		is_str(config->ha.etcdEndpoints, "http://10.0.0.1:2379,http://10.0.0.2:2379",
			   "... the etcd endpoints");
		configFree(config);
	}

	expectError("ha_cluster_name = c1\nha_lease_ttl = 9000\n",
				SRC "\" line 2: high availability needs ha_cluster_name and ha_node_name",
				"a node name missing");
	expectError("ha_failover = on\n", "needs ha_cluster_name and ha_node_name",
				"ha_failover alone");
	expectError("ha_cluster_name = c1\nha_node_name = n1\nha_lease_ttl = 4999\n",
				SRC "\" line 3: ha_check_interval (1000 ms) + 2 x ha_retry_timeout (2000 ms) = "
				"5000 ms is more than ha_lease_ttl (4999 ms)",
				"the Patroni rule broken by ha_lease_ttl");
	expectError("ha_cluster_name = c1\nha_node_name = n1\nha_retry_timeout = 3000\n",
				"line 3: ha_check_interval (1000 ms) + 2 x ha_retry_timeout (3000 ms) = 7000 ms",
				"the Patroni rule broken by ha_retry_timeout (the ttl at its default)");
	config = parse("ha_cluster_name = c1\nha_node_name = n1\nha_lease_ttl = 4000\n", &err);
	ok(config == NULL && strstr(err.hint, "at least 5000 ms") != NULL,
	   "... the hint says how far to raise it (%s)", err.hint);
	configFree(config);
	expectError("ha_cluster_name = c1\nha_node_name = n1\nha_check_interval = 1s\n",
				"line 3", "a check interval with a unit (milliseconds only)");
	expectError("ha_cluster_name = c1\nha_node_name = n1\nha_lease_ttl = 99\n",
				"line 3", "a lease TTL below 100 ms");
	config = parse("ha_cluster_name = c1\nha_node_name = n1\nha_check_interval = 100\n"
				   "ha_retry_timeout = 75\nha_lease_ttl = 250\n", &err);
	ok(config != NULL && config->ha.leaseTtlMs == 250 && config->ha.retryTimeoutMs == 75 &&
	   config->ha.checkIntervalMs == 100,
	   "a lease below a second without etcd (100 + 2 x 75 <= 250)");
	configFree(config);
	expectError("ha_cluster_name = c1\nha_node_name = n1\nha_check_interval = 100\n"
				"ha_retry_timeout = 75\nha_lease_ttl = 250\n"
				"ha_etcd_endpoints = http://127.0.0.1:2379\n",
				SRC "\" line 5: ha_lease_ttl (250 ms) is below a second, and etcd grants leases "
				"in whole seconds", "a lease below a second with etcd");
	expectError("ha_cluster_name = c1\nha_node_name = n1\n"
				"ha_etcd_endpoints = http://a:2379, 10.0.0.2:2379\n",
				"line 3: ha_etcd_endpoints: \"10.0.0.2:2379\" is not an http:// or https:// URL",
				"an etcd endpoint without a scheme");
	expectError("ha_cluster_name = c1\nha_node_name = n1\n"
				"ha_etcd_endpoints = http://root:pw@a:2379\n",
				"line 3: ha_etcd_endpoints: an endpoint names a user or password (not shown)",
				"an etcd endpoint with a password");
	config = parse("ha_cluster_name = c1\nha_node_name = n1\n"
				   "ha_etcd_endpoints = http://root:s3cret@a:2379\n", &err);
	ok(config == NULL && strstr(err.message, "s3cret") == NULL,
	   "... the password not in the message");
	configFree(config);
	expectError("ha_cluster_name = c1\nha_node_name = n1\nha_failover = maybe\n",
				"line 3", "ha_failover not a boolean");

	/* the lag watcher's settings */
	config = parse("ha_cluster_name = c1\nha_node_name = n1\n", &err);
	ok(config != NULL && config->ha.watchIntervalMs == 1000 &&
	   config->ha.watchHistoryIntervalS == 60 && config->ha.watchHistoryKeep == 100000,
	   "lag watcher defaults: 1000 ms, history every 60 s, 100000 rows");
	ok(config != NULL && config->ha.lagAlertBytes == -1 && config->ha.lagAlertTimeMs == -1 &&
	   config->ha.synchronous == -1,
	   "thresholds and synchronous mode unset: ha_max_failover_lag, the tier's RPO, the tier");
	configFree(config);
	config = parse("ha_cluster_name = c1\nha_node_name = n1\nha_watch_interval = 250\n"
				   "ha_watch_history_interval = 5\nha_watch_history_keep = 20\n"
				   "ha_lag_alert_bytes = 64MB\nha_lag_alert_time = 0\nha_synchronous = on\n",
				   &err);
	ok(config != NULL, "every lag watcher setting (%s)", err.message);
	if (config)
	{
		ok(config->ha.watchIntervalMs == 250 && config->ha.watchHistoryIntervalS == 5 &&
		   config->ha.watchHistoryKeep == 20, "... intervals and the history bound read");
		ok(config->ha.lagAlertBytes == 64 * 1024 * 1024 && config->ha.lagAlertTimeMs == 0,
		   "... 64MB in bytes, a time threshold of 0 (off)");
		is_int(config->ha.synchronous, 1, "... ha_synchronous on");
		configFree(config);
	}
	config = parse("ha_cluster_name = c1\nha_node_name = n1\nha_synchronous = off\n", &err);
	ok(config != NULL && config->ha.synchronous == 0, "ha_synchronous off");
	ok(config != NULL && !config->ha.witness, "not a witness by default");
	if (config)
		configFree(config);
	config = parse("ha_cluster_name = c1\nha_node_name = w\nha_witness = on\n", &err);
	ok(config != NULL && config->ha.witness, "ha_witness on");
	if (config)
		configFree(config);
	expectError("ha_watch_interval = 500\n", "needs ha_cluster_name and ha_node_name",
				"a lag watcher setting alone: HA must be named");
	expectError("ha_cluster_name = c1\nha_node_name = n1\nha_watch_interval = 99\n",
				"line 3", "a watch interval below 100 ms");
	expectError("ha_cluster_name = c1\nha_node_name = n1\nha_watch_history_keep = 9\n",
				"line 3", "a history bound below 10 rows");
	expectError("ha_cluster_name = c1\nha_node_name = n1\nha_synchronous = sometimes\n",
				"line 3", "ha_synchronous not a boolean");
}

/* The alert settings (ops/alert.h): webhook URLs, timeout, escalation. */
static void
testAlerts(void)
{
	DrError		err;
	DrConfig   *config;

	config = parse("repo1_type = posix\nrepo1_path = /x\nrepo1_cipher_type = none\n", &err);
	ok(config != NULL && config->alertWebhookUrl == NULL &&
	   config->alertWebhookUrlWarning == NULL &&
	   config->alertWebhookUrlCritical == NULL &&
	   config->alertWebhookTimeoutS == 0 && config->alertEscalateAfterS == 0,
	   "alerts: unset by default");
	for (int i = 0; config && i < config->itemCount; i++)
		ok(strncmp(config->items[i].name, "alert_", 6) != 0,
		   "alerts: unset settings are not listed (%s)", config->items[i].name);
	if (config)
		configFree(config);

	config = parse("repo1_type = posix\nrepo1_path = /x\nrepo1_cipher_type = none\n"
				   "alert_webhook_url = 'https://user:tok@hooks.example.com/x?token=abc'\n"
				   "alert_webhook_url_warning = http://127.0.0.1:8080/w\n"
				   "alert_webhook_url_critical = HTTPS://pager.example.com/c\n"
				   "alert_webhook_timeout = 5\nalert_escalate_after = 900\n", &err);
	if (!ok(config != NULL, "alerts: every setting accepted"))
		diag("%s", err.message);
	if (config)
	{
		is_str(config->alertWebhookUrl, "https://user:tok@hooks.example.com/x?token=abc",
			   "alerts: the URL as written");
		is_str(config->alertWebhookUrlWarning, "http://127.0.0.1:8080/w", "alerts: warning URL");
		is_str(config->alertWebhookUrlCritical, "HTTPS://pager.example.com/c",
			   "alerts: a scheme in capitals is a scheme");
		is_int(config->alertWebhookTimeoutS, 5, "alerts: timeout");
		is_int(config->alertEscalateAfterS, 900, "alerts: escalation delay");
		for (int i = 0; i < config->itemCount; i++)
			if (strcmp(config->items[i].name, "alert_webhook_url") == 0)
				is_str(config->items[i].value, "********", "alerts: the URL is hidden (it may hold a token)");
		configFree(config);
	}

	expectError("alert_webhook_url = ftp://example.com/x\n",
				"line 1: \"alert_webhook_url\" must be an http:// or https:// URL",
				"alerts: ftp URL");
	expectError("alert_webhook_url_critical = /var/run/hook\n",
				"line 1: \"alert_webhook_url_critical\" must be an http:// or https:// URL",
				"alerts: a path is no URL");
	expectError("alert_webhook_url_warning = 'http://host/a b'\n",
				"\"alert_webhook_url_warning\" must not contain white space",
				"alerts: a space in the URL");
	expectError("alert_webhook_url = http:///x\n", "\"alert_webhook_url\" names no host",
				"alerts: no host");
	expectError("alert_webhook_url = http://u:p@/x\n", "\"alert_webhook_url\" names no host",
				"alerts: userinfo and no host");
	expectError("alert_webhook_timeout = 0\n", "invalid value \"0\" for \"alert_webhook_timeout\"",
				"alerts: timeout 0");
	expectError("alert_escalate_after = 10m\n", "invalid value \"10m\" for \"alert_escalate_after\"",
				"alerts: escalation with a unit");
	/* the refused URL is not echoed: it may hold a token */
	config = parse("alert_webhook_url = ftp://secret-token@x/\n", &err);
	ok(config == NULL && strstr(err.message, "secret-token") == NULL,
	   "alerts: a refused URL is not in the message");
}

int
main(void)
{
	storageDriversRegister();
	testAlerts();
	testValid();
	testErrors();
	testSecretsAndPaths();
	testRetention();
	testLoad();
	testHa();
	return tapDone();
}
