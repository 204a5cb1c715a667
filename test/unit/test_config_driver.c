/*-------------------------------------------------------------------------
 * test_config_driver.c
 *	  Unit tests of per-driver repository settings (common/config.h,
 *	  storage/storage_registry.c).
 *
 * Besides the posix driver (registered by storageDriversRegister, as every
 * program does), the test registers the settings of a second driver,
 * "objtest", shaped like an object store: a required bucket (its location
 * key), an endpoint with a default, an enumeration, a size with bounds, a
 * boolean, an integer, an optional path and a secret whose name does not
 * look secret; its validate callback refuses a CA file with TLS
 * verification off.  It has settings only, no storage code.
 *
 * Covers: routing of repoN_<key> by repoN_type whatever the order of the
 * lines (type after the keys), canonical values (enumeration case, size
 * units, booleans, integers), defaults and their "default" source, the
 * items (secret masked whether declared or recognised by name, sources
 * "file:line"), configRepoGet/GetInt/GetBool; errors naming the file and
 * line: a key of another type, an unknown key (with the keys the type
 * accepts, or "did you mean"), an unknown type (with the types that
 * exist), bad values of each kind (a secret's value never shown), a bad
 * value whose type comes later, a missing required key (file-level, with
 * the example), the validate callback's error on its key's line, two
 * repositories of a type in one place, a repository number out of range
 * for a driver key, a typeless repository; configRepoSet/Copy/Equal/Clear;
 * storageOpen through the registry (posix opens, a type without storage
 * code is refused); registering twice counts once.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "common/config.h"
#include "storage/storage.h"
#include "tap.h"
#include "test_support.h"

#define SRC "/etc/pg_dr.conf"

static const char *const objtestRegions[] = {"eu-west", "us-east", NULL};

static const ConfigKeyDef objtestKeys[] = {
	{.name = "bucket", .kind = CONFIG_KIND_STRING, .required = true,
	.example = "my-bucket"},
	{.name = "endpoint", .kind = CONFIG_KIND_STRING,
	.defaultValue = "https://store.example"},
	{.name = "region", .kind = CONFIG_KIND_ENUM, .defaultValue = "eu-west",
	.allowed = objtestRegions},
	{.name = "part_size", .kind = CONFIG_KIND_SIZE, .defaultValue = "5MB",
	.min = 5 * 1024 * 1024, .max = INT64CONST(5) * 1024 * 1024 * 1024},
	{.name = "verify_tls", .kind = CONFIG_KIND_BOOL, .defaultValue = "on"},
	{.name = "retries", .kind = CONFIG_KIND_INT, .defaultValue = "3",
	.min = 0, .max = 10},
	{.name = "ca_file", .kind = CONFIG_KIND_PATH},
	{.name = "signing", .kind = CONFIG_KIND_SECRET},
	{.name = "secret_key", .kind = CONFIG_KIND_STRING},
};

/* A CA file means nothing when the certificate is not verified. */
static bool
objtestValidate(const ConfigRepo *repo, ConfigCheck *check)
{
	if (configRepoGet(repo, "ca_file") != NULL &&
		!configRepoGetBool(repo, "verify_tls"))
	{
		configCheckError(check, "ca_file",
						 "\"repo%d_ca_file\" has no effect with repo%d_verify_tls = off",
						 repo->index, repo->index);
		configCheckHint(check, "remove one of the two");
		return false;
	}
	return true;
}

static const ConfigDriver objtestDriver = {
	.type = "objtest",
	.keys = objtestKeys,
	.keyCount = lengthof(objtestKeys),
	.locationKey = "bucket",
	.validate = objtestValidate,
};

static DrConfig *
parse(const char *text, DrError *err)
{
	drErrorClear(err);
	return configParse(text, strlen(text), SRC, err);
}

/*
 * Expect text to be refused with DR_ERR_CONFIG, a message equal to want
 * (the file's name prefixed) and a hint containing wantHint (NULL: any).
 */
static void
expectError(const char *text, const char *want, const char *wantHint,
			const char *what)
{
	DrError		err;
	DrConfig   *config = parse(text, &err);
	char	   *full = psprintf("\"%s\"%s", SRC, want);

	ok(config == NULL && err.code == DR_ERR_CONFIG, "%s: refused", what);
	if (!ok(strcmp(err.message, full) == 0, "%s: message", what))
		diag("message: %s\n#    wanted: %s", err.message, full);
	if (wantHint != NULL &&
		!ok(strstr(err.hint, wantHint) != NULL, "%s: hint", what))
		diag("hint: %s\n#    wanted: %s", err.hint, wantHint);
	if (config)
		configFree(config);
	pfree(full);
}

static void
expectItem(const DrConfig *config, const char *name, const char *value,
		   const char *source)
{
	const ConfigItem *item = itemFind(config, name);

	if (!ok(item != NULL, "item %s", name))
		return;
	is_str(item->value, value, "item %s: value", name);
	is_str(item->source, source, "item %s: source", name);
}

static void
testRouting(void)
{
	DrError		err;
	DrConfig   *config;
	const ConfigRepo *r2;
	const ConfigItem *item;

	/* repo2's keys come before its type: the order does not matter */
	config = parse("repo1_type = posix\n"
				   "repo1_path = /srv/dr/repo1/\n"
				   "repo1_cipher_type = none\n"
				   "repo2_bucket = 'dr-bucket'\n"
				   "repo2_region = US-East\n"
				   "repo2_part_size = 16mb\n"
				   "repo2_verify_tls = No\n"
				   "repo2_retries = 07\n"
				   "repo2_signing = \"s3cr3t value\"\n"
				   "repo2_secret_key = hunter2\n"
				   "repo2_cipher_type = none\n"
				   "repo2_type = ObjTest\n", &err);
	if (!ok(config != NULL, "posix and objtest repositories parse"))
	{
		diag("%s", err.message);
		return;
	}
	is_int(config->repoCount, 2, "two repositories");
	ok(config->repo[1].driver == configDriverFind("posix"), "repo1: posix driver");
	is_str(config->repo[1].path, "/srv/dr/repo1", "repo1: location from repo1_path");
	is_str(configRepoGet(&config->repo[1], "path"), "/srv/dr/repo1",
		   "repo1: path in its settings list");

	r2 = &config->repo[2];
	ok(r2->driver == &objtestDriver, "repo2: routed to objtest (type on the last line)");
	is_int(r2->settingCount, lengthof(objtestKeys), "repo2: one setting per key");
	is_str(r2->path, "dr-bucket", "repo2: location is its bucket");
	is_str(configRepoGet(r2, "bucket"), "dr-bucket", "quoted string");
	is_str(configRepoGet(r2, "endpoint"), "https://store.example", "default filled in");
	is_str(configRepoGet(r2, "region"), "us-east", "enumeration, any case, canonical");
	is_str(configRepoGet(r2, "part_size"), "16777216", "size in bytes");
	ok(configRepoGetInt(r2, "part_size") == 16 * 1024 * 1024, "configRepoGetInt on a size");
	is_str(configRepoGet(r2, "verify_tls"), "off", "boolean canonical");
	ok(!configRepoGetBool(r2, "verify_tls"), "configRepoGetBool");
	ok(configRepoGetInt(r2, "retries") == 7, "integer");
	ok(configRepoGet(r2, "ca_file") == NULL, "unset optional key: NULL");
	is_str(configRepoGet(r2, "signing"), "s3cr3t value", "the driver reads the secret");
	is_int(r2->cipher, CONFIG_CIPHER_NONE, "common settings still in ConfigRepo");

	expectItem(config, "repo2_bucket", "dr-bucket", SRC ":4");
	expectItem(config, "repo2_type", "objtest", SRC ":12");
	expectItem(config, "repo2_endpoint", "https://store.example", "default");
	expectItem(config, "repo2_part_size", "16777216", SRC ":6");
	expectItem(config, "repo2_retries", "7", SRC ":8");
	ok(itemFind(config, "repo2_ca_file") == NULL, "unset optional key: no item");
	item = itemFind(config, "repo2_signing");
	ok(item != NULL && item->secret && strcmp(item->value, "********") == 0,
	   "declared secret masked in the items");
	item = itemFind(config, "repo2_secret_key");
	ok(item != NULL && item->secret && strcmp(item->value, "********") == 0,
	   "secret by its name masked too");
	for (int i = 0; i < config->itemCount; i++)
		if (strstr(config->items[i].value, "s3cr3t") != NULL ||
			strstr(config->items[i].value, "hunter2") != NULL)
			ok(false, "secret shown in item %s", config->items[i].name);
	configFree(config);

	/* the same keys in the other order read the same */
	config = parse("repo2_type = objtest\nrepo2_cipher_type = none\n"
				   "repo2_bucket = b\n", &err);
	ok(config != NULL && config->repo[2].driver == &objtestDriver &&
	   strcmp(config->repo[2].path, "b") == 0, "type first: same result");
	if (config)
		configFree(config);
}

static void
testErrors(void)
{
	expectError("repo1_type = posix\nrepo1_path = /r\nrepo1_cipher_type = none\n"
				"repo1_bucket = b\n",
				" line 4: unknown setting \"repo1_bucket\" for a repository of type posix (it is a setting of type objtest)",
				"repository of type posix accepts, besides the settings of every repository: repo1_path", "key of another type");
	expectError("repo3_cipher_type = none\nrepo3_bucket = b\nrepo3_colour = red\n"
				"repo3_type = objtest\n",
				" line 3: unknown setting \"repo3_colour\"",
				"repository of type objtest accepts, besides the settings of every repository: repo3_bucket, repo3_endpoint, repo3_region",
				"unknown key: the keys of the type");
	expectError("repo2_type = objtest\nrepo2_bucket = b\nrepo2_endpont = x\n",
				" line 3: unknown setting \"repo2_endpont\"",
				"Did you mean \"repo2_endpoint\"?", "typo of a driver key");
	expectError("repo2_colour = red\nrepo2_cipher_type = none\n",
				" line 1: unknown setting \"repo2_colour\"", NULL,
				"typeless repository, key of no driver");
	expectError("repo2_bucket = b\nrepo2_cipher_type = none\n",
				": repo2: \"repo2_type\" is required",
				"dd repo2_type = posix, s3, azure, gcs or objtest",
				"typeless repository, key of a driver");
	expectError("\nrepo1_type = ftp\n",
				" line 2: invalid value \"ftp\" for \"repo1_type\": expected posix, s3, azure, gcs or objtest",
				NULL, "unknown type: the types that exist");
	expectError("repo5_bucket = b\n",
				" line 1: repository number in \"repo5_bucket\" must be from 1 to 4",
				NULL, "driver key, repository number out of range");
	expectError("repo2_bucket = b\nrepo2_bucket = c\nrepo2_type = objtest\n",
				" line 2: \"repo2_bucket\" is set twice (first on line 1)",
				NULL, "driver key set twice");

	/* bad values, reported on their line even when the type comes later */
	expectError("repo2_bucket = b\nrepo2_part_size = 1MB\nrepo2_type = objtest\n",
				" line 2: invalid value \"1MB\" for \"repo2_part_size\": expected a size from 5MB to 5GB (in bytes, or with a unit: kB, MB, GB, TB)",
				NULL, "size below its minimum, type later");
	expectError("repo2_type = objtest\nrepo2_bucket = b\nrepo2_part_size = 12 parsecs\n",
				" line 3: invalid value \"12 parsecs\" for \"repo2_part_size\": expected a size from 5MB to 5GB (in bytes, or with a unit: kB, MB, GB, TB)",
				NULL, "size with an unknown unit");
	expectError("repo2_type = objtest\nrepo2_bucket = b\nrepo2_part_size = 99999999999999999999\n",
				" line 3: invalid value \"99999999999999999999\" for \"repo2_part_size\": expected a size from 5MB to 5GB (in bytes, or with a unit: kB, MB, GB, TB)",
				NULL, "size too large to represent");
	expectError("repo2_type = objtest\nrepo2_bucket = b\nrepo2_retries = 11\n",
				" line 3: invalid value \"11\" for \"repo2_retries\": expected an integer from 0 to 10",
				NULL, "integer above its maximum");
	expectError("repo2_type = objtest\nrepo2_bucket = b\nrepo2_retries = -1\n",
				" line 3: invalid value \"-1\" for \"repo2_retries\": expected an integer from 0 to 10",
				NULL, "negative integer");
	expectError("repo2_type = objtest\nrepo2_bucket = b\nrepo2_verify_tls = maybe\n",
				" line 3: invalid value \"maybe\" for \"repo2_verify_tls\": expected on or off (or true/false, yes/no, 1/0)",
				NULL, "boolean");
	expectError("repo2_type = objtest\nrepo2_bucket = b\nrepo2_region = mars\n",
				" line 3: invalid value \"mars\" for \"repo2_region\": expected eu-west or us-east",
				NULL, "enumeration");
	expectError("repo2_type = objtest\nrepo2_bucket = ''\n",
				" line 2: \"repo2_bucket\" must not be empty", NULL, "empty string");
	expectError("repo2_type = objtest\nrepo2_bucket = b\nrepo2_ca_file = ca.pem\n",
				" line 3: \"repo2_ca_file\" must be an absolute path, got \"ca.pem\"",
				"elative paths are refused", "relative path");
	expectError("repo2_type = objtest\nrepo2_bucket = b\nrepo2_signing =\n",
				" line 3: \"repo2_signing\" must not be empty", NULL, "empty secret");

	/* pass 3: required keys, the driver's rules, one place per repository */
	expectError("repo2_type = objtest\nrepo2_cipher_type = none\nrepo2_region = us-east\n",
				": repo2: \"repo2_bucket\" is required",
				"dd repo2_bucket = my-bucket", "missing required key");
	expectError("repo2_type = objtest\nrepo2_cipher_type = none\nrepo2_bucket = b\n"
				"repo2_ca_file = /etc/ca.pem\nrepo2_verify_tls = off\n",
				" line 4: \"repo2_ca_file\" has no effect with repo2_verify_tls = off",
				"emove one of the two", "validate callback, on its key's line");
	expectError("repo1_type = objtest\nrepo1_cipher_type = none\nrepo1_bucket = b\n"
				"repo3_type = objtest\nrepo3_cipher_type = none\nrepo3_bucket = b\n",
				" line 6: repo1 and repo3 have the same bucket \"b\"", NULL,
				"two repositories, one bucket");
	{
		DrError		err;
		DrConfig   *config = parse("repo1_type = objtest\nrepo1_cipher_type = none\n"
								   "repo1_bucket = b\n"
								   "repo2_type = posix\nrepo2_cipher_type = none\n"
								   "repo2_path = /b\n", &err);

		ok(config != NULL, "the same place under two types is no clash");
		if (config)
			configFree(config);
	}
	/* the value of a secret never appears in a message */
	{
		DrError		err;
		DrConfig   *config = parse("repo2_type = objtest\nrepo2_signing = s3cr3t\n"
								   "repo2_secret_key = hunter2\nrepo2_bucket = ''\n", &err);

		ok(config == NULL && strstr(err.message, "line 4") != NULL &&
		   strstr(err.message, "s3cr3t") == NULL &&
		   strstr(err.message, "hunter2") == NULL, "secrets not in the error");
	}
}

static void
testApi(void)
{
	DrError		err;
	ConfigRepo	repo;
	ConfigRepo	copy;
	Storage    *storage;

	memset(&repo, 0, sizeof(repo));
	repo.index = 2;
	repo.driver = &objtestDriver;
	ok(configRepoSet(&repo, "bucket", "api-bucket", &err), "configRepoSet");
	is_str(repo.path, "api-bucket", "configRepoSet of the location key sets path");
	is_str(configRepoGet(&repo, "region"), "eu-west", "defaults filled in by configRepoSet");
	ok(configRepoGetInt(&repo, "part_size") == 5 * 1024 * 1024,
	   "a default size is canonical too");
	ok(!configRepoSet(&repo, "part_size", "1kB", &err) && err.code == DR_ERR_CONFIG &&
	   strcmp(err.message, "invalid value \"1kB\" for \"repo2_part_size\": expected a size from 5MB to 5GB (in bytes, or with a unit: kB, MB, GB, TB)") == 0,
	   "configRepoSet checks the value");
	ok(!configRepoSet(&repo, "path", "/x", &err) &&
	   strcmp(err.message, "unknown setting \"repo2_path\" for a repository of type objtest") == 0,
	   "configRepoSet refuses a key of another type");

	configRepoCopy(&copy, &repo);
	ok(copy.settings != repo.settings && configRepoEqual(&copy, &repo), "copy is equal");
	ok(configRepoSet(&copy, "part_size", "1GiB", &err) && !configRepoEqual(&copy, &repo),
	   "a changed driver key makes them differ");
	is_str(configRepoGet(&repo, "part_size"), "5242880", "the original is unchanged");

	storage = storageOpen(&repo, &err);
	ok(storage == NULL && err.code == DR_ERR_CONFIG &&
	   strstr(err.message, "no storage driver for repositories of type \"objtest\"") != NULL,
	   "storageOpen: a type with settings only is refused");
	configRepoClear(&copy);
	configRepoClear(&repo);
	ok(repo.settings == NULL && repo.path == NULL, "configRepoClear");

	memset(&repo, 0, sizeof(repo));
	repo.index = 1;
	repo.driver = configDriverFind("POSIX");
	ok(repo.driver != NULL && configRepoSet(&repo, "path", "/tmp/test_config_driver.none/", &err),
	   "a posix repository set by hand");
	is_str(repo.path, "/tmp/test_config_driver.none", "path canonical");
	storage = storageOpen(&repo, &err);
	ok(storage != NULL && strcmp(storageName(storage), "posix") == 0,
	   "storageOpen: posix through the registry");
	storageFree(storage);
	configRepoClear(&repo);
}

int
main(void)
{
	/* what every program does, then the test's own driver, twice */
	storageDriversRegister();
	storageDriversRegister();
	configDriverRegister(&objtestDriver);
	configDriverRegister(&objtestDriver);
	ok(configDriverFind("objtest") == &objtestDriver &&
	   configDriverFind("posix") != NULL && configDriverFind("ftp") == NULL,
	   "registry: posix and objtest");

	testRouting();
	testErrors();
	testApi();
	return tapDone();
}
