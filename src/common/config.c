/*-------------------------------------------------------------------------
 * config.c
 *	  Parse and check the pg_dr configuration file (see config.h).
 *
 * The parser is strict on purpose: a DR tool that silently ignores a
 * misspelt setting ("repo1_pth") or a second value for the same name
 * would back up to the wrong place and nobody would notice until a
 * restore.  So every problem is an error naming the file and the line,
 * with a hint when the fix is not obvious.
 *
 * Lexical rules (one line at a time, lines end at '\n', a '\r' before it
 * is dropped):
 *	 - blank lines and lines whose first non-blank character is '#' are
 *	   ignored;
 *	 - otherwise: name, optional blanks, '=', optional blanks, value;
 *	 - an unquoted value ends at '#' or at the end of the line, trailing
 *	   blanks removed;
 *	 - a value quoted with '...' or "..." is taken verbatim (no escapes; a
 *	   value cannot contain its own quote character), and only blanks or a
 *	   comment may follow it;
 *	 - NUL bytes, other control characters (tab excepted) and lines longer
 *	   than CONFIG_LINE_MAX bytes are refused.
 *
 * Three passes (see config.h for the drivers):
 *	 1. every line is read: global and common repository settings are
 *	    checked at once; a repoN_<key> that is not common is kept as it was
 *	    written, since repoN_type may come later in the file;
 *	 2. each such key is routed to the driver of its repository's type and
 *	    checked against the driver's description of it;
 *	 3. each repository is built: required settings, defaults, the
 *	    driver's rules across keys, and no two repositories in one place.
 * The DrConfig is returned only when the whole file is valid, so a caller
 * never sees half a configuration.
 *-------------------------------------------------------------------------
 */

#include "common/dr_c.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"

/* Largest configuration file read; it is a few lines in practice. */
#define CONFIG_FILE_MAX			(1024 * 1024)

#define CONFIG_SECRET_MASK		"********"

/* Registered storage drivers (configDriverRegister), few by nature. */
#define CONFIG_DRIVER_MAX		8

/* Longest key name, "repoN_" excepted (configEditDistance's rows). */
#define CONFIG_KEY_NAME_MAX		48

static const ConfigDriver *configDrivers[CONFIG_DRIVER_MAX];
static int	configDriverCount = 0;

/*
 * The settings config.c itself knows: the global ones, and those every
 * repository has whatever its driver (per-repository ones without their
 * "repoN_" prefix).
 */
typedef enum ConfigKey
{
	CONFIG_KEY_COMPRESS_TYPE,
	CONFIG_KEY_COMPRESS_LEVEL,
	CONFIG_KEY_REPO_TYPE,
	CONFIG_KEY_REPO_CIPHER_TYPE,
	CONFIG_KEY_REPO_CIPHER_KEY_FILE,
	CONFIG_KEY_REPO_RETENTION_FULL,
	CONFIG_KEY_REPO_RETENTION_FULL_DAYS,
	CONFIG_KEY_COUNT
} ConfigKey;

static const char *const configCompressTypes[] = {"zstd", "none", NULL};
static const char *const configCipherTypes[] = {"aes-256-gcm", "none", NULL};

/* repoN_type is an enumeration of the registered drivers (configTypeCheck) */
static const ConfigKeyDef configKeys[CONFIG_KEY_COUNT] = {
	[CONFIG_KEY_COMPRESS_TYPE] = {.name = "compress_type", .kind = CONFIG_KIND_ENUM,
	.defaultValue = "zstd", .allowed = configCompressTypes},
	[CONFIG_KEY_COMPRESS_LEVEL] = {.name = "compress_level", .kind = CONFIG_KIND_INT,
	.defaultValue = "3", .min = 1, .max = 19},
	[CONFIG_KEY_REPO_TYPE] = {.name = "type", .kind = CONFIG_KIND_ENUM,
	.required = true},
	[CONFIG_KEY_REPO_CIPHER_TYPE] = {.name = "cipher_type", .kind = CONFIG_KIND_ENUM,
	.defaultValue = "aes-256-gcm", .allowed = configCipherTypes},
	[CONFIG_KEY_REPO_CIPHER_KEY_FILE] = {.name = "cipher_key_file",
	.kind = CONFIG_KIND_PATH},
	[CONFIG_KEY_REPO_RETENTION_FULL] = {.name = "retention_full",
	.kind = CONFIG_KIND_INT, .min = 1, .max = 99999},
	[CONFIG_KEY_REPO_RETENTION_FULL_DAYS] = {.name = "retention_full_days",
	.kind = CONFIG_KIND_INT, .min = 1, .max = 99999},
};

static const bool configKeyPerRepo[CONFIG_KEY_COUNT] = {
	[CONFIG_KEY_REPO_TYPE] = true,
	[CONFIG_KEY_REPO_CIPHER_TYPE] = true,
	[CONFIG_KEY_REPO_CIPHER_KEY_FILE] = true,
	[CONFIG_KEY_REPO_RETENTION_FULL] = true,
	[CONFIG_KEY_REPO_RETENTION_FULL_DAYS] = true,
};

/* One value read from the file, already checked and normalized. */
typedef struct ConfigValue
{
	char	   *value;			/* NULL when not set in the file */
	int			line;
} ConfigValue;

/* A repoN_<key> for the repository's driver, as written (pass 1). */
typedef struct ConfigRaw
{
	char	   *key;			/* without "repoN_" */
	char	   *value;			/* checked in pass 2 */
	int			line;
	const ConfigKeyDef *def;	/* set in pass 2 */
} ConfigRaw;

/*
 * Parser state.  values[0] holds the global settings, values[N] the common
 * settings of repoN; a slot for a key of the other kind is never used.
 * raw[N] holds repoN's driver keys in the order of the file.
 */
typedef struct ConfigParser
{
	const char *source;
	ConfigValue values[CONFIG_REPO_MAX + 1][CONFIG_KEY_COUNT];
	ConfigRaw  *raw[CONFIG_REPO_MAX + 1];
	int			rawCount[CONFIG_REPO_MAX + 1];
	int			rawSize[CONFIG_REPO_MAX + 1];
	DrError    *err;
} ConfigParser;

/* What configNameLookup found. */
typedef enum ConfigNameResult
{
	CONFIG_NAME_FOUND,			/* a global or common setting: *key */
	CONFIG_NAME_DRIVER,			/* repoN_<suffix>, for the driver (pass 2) */
	CONFIG_NAME_UNKNOWN,
	CONFIG_NAME_BAD_REPO		/* repoN_<known> with N out of range */
} ConfigNameResult;

/* What is wrong with a value (configValueCheck), before the line is known. */
typedef struct ConfigProblem
{
	char		message[512];
	char		hint[200];
} ConfigProblem;

struct ConfigCheck
{
	struct ConfigParser *parser;
	const ConfigRepo *repo;
};

static bool configLineError(ConfigParser *parser, int line, const char *fmt,...) pg_attribute_printf(3, 4);
static bool configFileError(ConfigParser *parser, const char *fmt,...) pg_attribute_printf(2, 3);
static bool configProblem(ConfigProblem *problem, const char *fmt,...) pg_attribute_printf(2, 3);

/*
 * An error on a line of the file: '"file" line N: message', DR_ERR_CONFIG.
 * Always returns false.
 */
static bool
configLineError(ConfigParser *parser, int line, const char *fmt,...)
{
	char		message[sizeof(((DrError *) NULL)->message)];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	return drErrorSet(parser->err, DR_ERR_CONFIG, "\"%s\" line %d: %s",
					  parser->source, line, message);
}

/* An error about the file as a whole (a missing setting): '"file": ...'. */
static bool
configFileError(ConfigParser *parser, const char *fmt,...)
{
	char		message[sizeof(((DrError *) NULL)->message)];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	return drErrorSet(parser->err, DR_ERR_CONFIG, "\"%s\": %s",
					  parser->source, message);
}

static bool
configProblem(ConfigProblem *problem, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(problem->message, sizeof(problem->message), fmt, ap);
	va_end(ap);
	return false;
}

void
configDriverRegister(const ConfigDriver *driver)
{
	for (int i = 0; i < configDriverCount; i++)
	{
		if (configDrivers[i] == driver)
			return;
		/* two drivers of one type: a programming error */
		Assert(strcmp(configDrivers[i]->type, driver->type) != 0);
	}
	Assert(configDriverCount < CONFIG_DRIVER_MAX);
	Assert(driver->locationKey != NULL);
#ifdef USE_ASSERT_CHECKING
	for (int k = 0; k < driver->keyCount; k++)
	{
		Assert(strlen(driver->keys[k].name) <= CONFIG_KEY_NAME_MAX);
		for (int c = 0; c < CONFIG_KEY_COUNT; c++)
			Assert(!configKeyPerRepo[c] ||
				   strcmp(configKeys[c].name, driver->keys[k].name) != 0);
	}
#endif
	if (configDriverCount < CONFIG_DRIVER_MAX)
		configDrivers[configDriverCount++] = driver;
}

const ConfigDriver *
configDriverFind(const char *type)
{
	for (int i = 0; i < configDriverCount; i++)
		if (pg_strcasecmp(configDrivers[i]->type, type) == 0)
			return configDrivers[i];
	return NULL;
}

/* The description of key in driver, or NULL. */
static const ConfigKeyDef *
configDriverKey(const ConfigDriver *driver, const char *key)
{
	for (int k = 0; k < driver->keyCount; k++)
		if (strcmp(driver->keys[k].name, key) == 0)
			return &driver->keys[k];
	return NULL;
}

/* The first registered driver other than except that declares key. */
static const ConfigDriver *
configDriverDeclaring(const char *key, const ConfigDriver *except)
{
	for (int i = 0; i < configDriverCount; i++)
		if (configDrivers[i] != except &&
			configDriverKey(configDrivers[i], key) != NULL)
			return configDrivers[i];
	return NULL;
}

/* Full name of a key: "compress_type" or "repo2_path". */
static void
configKeyName(const char *key, bool perRepo, int repo, char *buf, size_t size)
{
	if (perRepo)
		snprintf(buf, size, "repo%d_%s", repo, key);
	else
		strlcpy(buf, key, size);
}

/*
 * "a, b or c" from a NULL-terminated list, or from the registered drivers'
 * types when list is NULL.
 */
static void
configJoin(const char *const *list, char *buf, size_t size)
{
	int			count = 0;

	if (list != NULL)
		while (list[count] != NULL)
			count++;
	else
		count = configDriverCount;
	buf[0] = '\0';
	for (int i = 0; i < count; i++)
	{
		const char *item = list != NULL ? list[i] : configDrivers[i]->type;

		if (i > 0)
			strlcat(buf, i == count - 1 ? " or " : ", ", size);
		strlcat(buf, item, size);
	}
}

/*
 * Map a setting name to a global or common key (FOUND), or to a driver
 * key of a repository (DRIVER: routed in pass 2).  "repoN_" names are split
 * by hand rather than matched against a table of every expansion, so that
 * a known suffix with a bad N gets its own message instead of "unknown
 * setting".
 */
static ConfigNameResult
configNameLookup(const char *name, ConfigKey *key, int *repo,
				 const char **suffix)
{
	const char *p;
	const char *digits;
	int			n = 0;
	bool		badRepo;

	for (int k = 0; k < CONFIG_KEY_COUNT; k++)
	{
		if (!configKeyPerRepo[k] && strcmp(name, configKeys[k].name) == 0)
		{
			*key = (ConfigKey) k;
			*repo = 0;
			return CONFIG_NAME_FOUND;
		}
	}

	if (strncmp(name, "repo", 4) != 0)
		return CONFIG_NAME_UNKNOWN;
	digits = p = name + 4;
	while (*p >= '0' && *p <= '9')
	{
		/* cap the value: only its range matters, not overflow */
		if (n <= CONFIG_REPO_MAX)
			n = n * 10 + (*p - '0');
		p++;
	}
	if (p == digits || *p != '_' || p[1] == '\0')
		return CONFIG_NAME_UNKNOWN;
	p++;
	/* "repo01_path" is refused too: one spelling per setting */
	badRepo = n < 1 || n > CONFIG_REPO_MAX || digits[0] == '0';
	*repo = n;
	*suffix = p;

	for (int k = 0; k < CONFIG_KEY_COUNT; k++)
	{
		if (configKeyPerRepo[k] && strcmp(p, configKeys[k].name) == 0)
		{
			if (badRepo)
				return CONFIG_NAME_BAD_REPO;
			*key = (ConfigKey) k;
			return CONFIG_NAME_FOUND;
		}
	}
	if (badRepo)
		return configDriverDeclaring(p, NULL) != NULL ?
			CONFIG_NAME_BAD_REPO : CONFIG_NAME_UNKNOWN;
	return CONFIG_NAME_DRIVER;
}

/*
 * Edit distance between a (any length) and b (a valid setting name, short),
 * ignoring case; used for "did you mean".  Two rows over b are enough.
 */
static int
configEditDistance(const char *a, const char *b)
{
	int			row[2][64];
	int			blen = strlen(b);
	int			cur = 0;

	Assert(blen < 64);
	for (int j = 0; j <= blen; j++)
		row[0][j] = j;
	for (int i = 1; a[i - 1] != '\0'; i++)
	{
		int			prev = cur;

		cur = 1 - cur;
		row[cur][0] = i;
		for (int j = 1; j <= blen; j++)
		{
			int			cost = pg_tolower((unsigned char) a[i - 1]) ==
				pg_tolower((unsigned char) b[j - 1]) ? 0 : 1;
			int			best = row[prev][j - 1] + cost;

			if (row[prev][j] + 1 < best)
				best = row[prev][j] + 1;
			if (row[cur][j - 1] + 1 < best)
				best = row[cur][j - 1] + 1;
			row[cur][j] = best;
		}
	}
	return row[cur][blen];
}

/* One candidate of configSuggest. */
static void
configSuggestTry(const char *name, const char *candidate, int *bestDistance,
				 char *buf, size_t size)
{
	int			distance = configEditDistance(name, candidate);

	/* a quarter of the name, at most 3: beyond that it is a guess */
	int			limit = Min(3, (int) strlen(candidate) / 4 + 1);

	if (distance <= limit && distance < *bestDistance)
	{
		*bestDistance = distance;
		strlcpy(buf, candidate, size);
	}
}

/*
 * The valid name closest to an unknown one, if it is close enough to be a
 * typo.  Per-repository names are tried with the N the user wrote (or 1),
 * so "repo2_pth" suggests "repo2_path"; driver keys are those of driver,
 * or of every registered driver when it is NULL.
 */
static bool
configSuggest(const char *name, const ConfigDriver *driver, char *buf,
			  size_t size)
{
	int			repo = 1;
	int			bestDistance = INT_MAX;
	char		candidate[CONFIG_KEY_NAME_MAX + 16];

	if (strncmp(name, "repo", 4) == 0 && name[4] >= '1' &&
		name[4] <= '0' + CONFIG_REPO_MAX)
		repo = name[4] - '0';

	for (int k = 0; k < CONFIG_KEY_COUNT; k++)
	{
		configKeyName(configKeys[k].name, configKeyPerRepo[k], repo,
					  candidate, sizeof(candidate));
		configSuggestTry(name, candidate, &bestDistance, buf, size);
	}
	for (int i = 0; i < configDriverCount; i++)
	{
		if (driver != NULL && configDrivers[i] != driver)
			continue;
		for (int k = 0; k < configDrivers[i]->keyCount; k++)
		{
			configKeyName(configDrivers[i]->keys[k].name, true, repo,
						  candidate, sizeof(candidate));
			configSuggestTry(name, candidate, &bestDistance, buf, size);
		}
	}
	return bestDistance != INT_MAX;
}

/* The keys of driver, "repoN_a, repoN_b", for a hint. */
static void
configDriverKeyList(const ConfigDriver *driver, int repo, char *buf,
					size_t size)
{
	buf[0] = '\0';
	for (int k = 0; k < driver->keyCount; k++)
	{
		char		name[CONFIG_KEY_NAME_MAX + 16];

		configKeyName(driver->keys[k].name, true, repo, name, sizeof(name));
		if (k > 0)
			strlcat(buf, ", ", size);
		strlcat(buf, name, size);
	}
}

/*
 * Hint listing every valid name, for a name too far from any of them:
 * the global and common settings, and each registered type's keys.
 */
static void
configValidNamesHint(DrError *err)
{
	char		drivers[200] = "";

	for (int i = 0; i < configDriverCount; i++)
	{
		char		keys[160];

		configDriverKeyList(configDrivers[i], 0, keys, sizeof(keys));
		if (i > 0)
			strlcat(drivers, "; ", sizeof(drivers));
		strlcat(drivers, configDrivers[i]->type, sizeof(drivers));
		strlcat(drivers, ": ", sizeof(drivers));
		strlcat(drivers, keys, sizeof(drivers));
	}
	/* repo0_x reads "repoN_x" in the list */
	for (char *p = strstr(drivers, "repo0_"); p != NULL; p = strstr(p, "repo0_"))
		p[4] = 'N';
	drErrorHint(err,
				"valid settings are compress_type, compress_level, repoN_type, "
				"repoN_cipher_type, repoN_cipher_key_file, repoN_retention_full, "
				"repoN_retention_full_days with N from 1 to %d, and each "
				"repository type's own (%s)", CONFIG_REPO_MAX, drivers);
}

/*
 * Whether the value of a setting must never be shown, even in an error.
 * Besides the secret settings, the key file's path: when it is wrong, it
 * is often because the passphrase itself was written in its place, and
 * the message would publish it (in dr_status, readable by dr_monitor, and
 * on the CLI's stderr).
 */
static bool
configValueHidden(const ConfigKeyDef *def, const char *name)
{
	return def == &configKeys[CONFIG_KEY_REPO_CIPHER_KEY_FILE] ||
		def->secret || def->kind == CONFIG_KIND_SECRET ||
		configNameIsSecret(name);
}

/* Whether a setting is shown masked in the items (config.h). */
static bool
configItemSecret(const ConfigKeyDef *def, const char *name)
{
	return (def != NULL && (def->secret || def->kind == CONFIG_KIND_SECRET)) ||
		configNameIsSecret(name);
}

/* "invalid value "v" for "name"", or without the value when hidden. */
static bool
configProblemInvalid(ConfigProblem *problem, const char *name,
					 const char *value, bool hidden, const char *expected)
{
	if (hidden)
		return configProblem(problem,
							 "invalid value for \"%s\" (not shown: it may be a secret): expected %s",
							 name, expected);
	return configProblem(problem, "invalid value \"%s\" for \"%s\": expected %s",
						 value, name, expected);
}

/* A number of bytes as written back: with the largest unit that fits. */
static void
configSizeFormat(int64 bytes, char *buf, size_t size)
{
	static const char *const units[] = {"TB", "GB", "MB", "kB"};

	for (int u = 0; u < (int) lengthof(units); u++)
	{
		int64		unit = (int64) 1 << (10 * (lengthof(units) - u));

		if (bytes != 0 && bytes % unit == 0)
		{
			snprintf(buf, size, INT64_FORMAT "%s", bytes / unit, units[u]);
			return;
		}
	}
	snprintf(buf, size, INT64_FORMAT, bytes);
}

/* Decimal digits only (no sign, no blanks, no "3.0", no "0x3"), or -1. */
static int64
configDigits(const char *s, size_t len)
{
	int64		n = 0;

	if (len == 0 || len > 15 || strspn(s, "0123456789") < len)
		return -1;
	for (size_t i = 0; i < len; i++)
		n = n * 10 + (s[i] - '0');
	return n;
}

/* A size with its optional unit, in bytes, or -1. */
static int64
configSizeParse(const char *value)
{
	static const struct
	{
		const char *unit;
		int			shift;
	}			units[] = {
		{"", 0}, {"b", 0}, {"k", 10}, {"kb", 10}, {"kib", 10},
		{"m", 20}, {"mb", 20}, {"mib", 20}, {"g", 30}, {"gb", 30},
		{"gib", 30}, {"t", 40}, {"tb", 40}, {"tib", 40}
	};
	size_t		digits = strspn(value, "0123456789");
	int64		n = configDigits(value, digits);

	if (n < 0)
		return -1;
	for (int u = 0; u < (int) lengthof(units); u++)
	{
		if (pg_strcasecmp(value + digits, units[u].unit) == 0)
		{
			if (n > (PG_INT64_MAX >> units[u].shift))
				return -1;
			return n << units[u].shift;
		}
	}
	return -1;
}

/* Check a path value and drop trailing slashes. */
static bool
configPathCheck(const ConfigKeyDef *def, const char *name, char *value,
				ConfigProblem *problem)
{
	size_t		len = strlen(value);

	if (value[0] != '/')
	{
		if (configValueHidden(def, name))
			configProblem(problem,
						  "\"%s\" must be an absolute path (its value is not shown: it may be a secret)",
						  name);
		else
			configProblem(problem,
						  "\"%s\" must be an absolute path, got \"%s\"",
						  name, value);
		strlcpy(problem->hint,
				"relative paths are refused because the server and the "
				"CLI run in different working directories",
				sizeof(problem->hint));
		return false;
	}
	while (len > 1 && value[len - 1] == '/')
		value[--len] = '\0';
	if (len == 1)
		return configProblem(problem, "\"%s\" must not be the root directory",
							 name);
	return true;
}

/*
 * Check one value against its key's description and put its canonical
 * form in *value (palloc'd; the old one is freed when replaced).
 * repoN_type is checked against the registered drivers.
 */
static bool
configValueCheck(const ConfigKeyDef *def, const char *name, char **value,
				 ConfigProblem *problem)
{
	char	   *v = *value;
	bool		hidden = configValueHidden(def, name);
	char		expected[256];

	problem->hint[0] = '\0';
	if (def == &configKeys[CONFIG_KEY_REPO_TYPE])
	{
		const ConfigDriver *driver = configDriverFind(v);

		if (driver == NULL)
		{
			if (configDriverCount == 0)
				return configProblem(problem,
									 "invalid value \"%s\" for \"%s\": no repository type is registered in this program",
									 v, name);
			configJoin(NULL, expected, sizeof(expected));
			return configProblemInvalid(problem, name, v, false, expected);
		}
		*value = pstrdup(driver->type);
		pfree(v);
		return true;
	}

	switch (def->kind)
	{
		case CONFIG_KIND_STRING:
		case CONFIG_KIND_SECRET:
			if (v[0] == '\0')
				return configProblem(problem, "\"%s\" must not be empty", name);
			return true;
		case CONFIG_KIND_PATH:
			return configPathCheck(def, name, v, problem);
		case CONFIG_KIND_ENUM:
			for (int i = 0; def->allowed[i] != NULL; i++)
			{
				if (pg_strcasecmp(v, def->allowed[i]) == 0)
				{
					/* the canonical spelling, as the driver lists it */
					strcpy(v, def->allowed[i]);
					return true;
				}
			}
			configJoin(def->allowed, expected, sizeof(expected));
			return configProblemInvalid(problem, name, v, hidden, expected);
		case CONFIG_KIND_BOOL:
			{
				static const char *const on[] = {"on", "true", "yes", "1"};
				static const char *const off[] = {"off", "false", "no", "0"};

				for (int i = 0; i < (int) lengthof(on); i++)
				{
					if (pg_strcasecmp(v, on[i]) == 0 ||
						pg_strcasecmp(v, off[i]) == 0)
					{
						*value = pstrdup(pg_strcasecmp(v, on[i]) == 0 ? "on" : "off");
						pfree(v);
						return true;
					}
				}
				return configProblemInvalid(problem, name, v, hidden,
											"on or off (or true/false, yes/no, 1/0)");
			}
		case CONFIG_KIND_INT:
			{
				int64		n = configDigits(v, strlen(v));

				if (n < def->min || n > def->max)
				{
					snprintf(expected, sizeof(expected),
							 "an integer from " INT64_FORMAT " to " INT64_FORMAT,
							 def->min, def->max);
					return configProblemInvalid(problem, name, v, hidden, expected);
				}
				/* normalize "03" to "3" for display */
				*value = psprintf(INT64_FORMAT, n);
				pfree(v);
				return true;
			}
		case CONFIG_KIND_SIZE:
			{
				int64		n = configSizeParse(v);

				if (n < def->min || n > def->max)
				{
					char		min[32];
					char		max[32];

					configSizeFormat(def->min, min, sizeof(min));
					configSizeFormat(def->max, max, sizeof(max));
					snprintf(expected, sizeof(expected),
							 "a size from %s to %s (in bytes, or with a unit: kB, MB, GB, TB)",
							 min, max);
					return configProblemInvalid(problem, name, v, hidden, expected);
				}
				*value = psprintf(INT64_FORMAT, n);
				pfree(v);
				return true;
			}
	}
	return configProblem(problem, "\"%s\" has a kind this program does not know",
						 name);
}

/*
 * configValueCheck on a line of the file; *value is freed on failure.
 */
static bool
configLineValueCheck(ConfigParser *parser, int line, const ConfigKeyDef *def,
					 const char *name, char **value)
{
	ConfigProblem problem;

	if (configValueCheck(def, name, value, &problem))
		return true;
	pfree(*value);
	*value = NULL;
	configLineError(parser, line, "%s", problem.message);
	if (problem.hint[0] != '\0')
		drErrorHint(parser->err, "%s", problem.hint);
	return false;
}

/* Keep a driver key of repo for pass 2; false when it is set twice. */
static bool
configRawAdd(ConfigParser *parser, int repo, const char *name,
			 const char *key, char *value, int line)
{
	ConfigRaw  *raw;

	for (int i = 0; i < parser->rawCount[repo]; i++)
	{
		if (strcmp(parser->raw[repo][i].key, key) == 0)
		{
			pfree(value);
			return configLineError(parser, line,
								   "\"%s\" is set twice (first on line %d)",
								   name, parser->raw[repo][i].line);
		}
	}
	if (parser->rawCount[repo] == parser->rawSize[repo])
	{
		int			size = Max(8, parser->rawSize[repo] * 2);

		parser->raw[repo] = parser->raw[repo] == NULL ?
			palloc(sizeof(ConfigRaw) * size) :
			repalloc(parser->raw[repo], sizeof(ConfigRaw) * size);
		parser->rawSize[repo] = size;
	}
	raw = &parser->raw[repo][parser->rawCount[repo]++];
	raw->key = pstrdup(key);
	raw->value = value;
	raw->line = line;
	raw->def = NULL;
	return true;
}

/*
 * Parse one line (without its '\n').  Blank and comment lines are fine;
 * anything else must be a valid "name = value".
 */
static bool
configParseLine(ConfigParser *parser, int line, const char *p, const char *end)
{
	const char *nameStart;
	const char *nameEnd;
	const char *valueStart;
	const char *valueEnd;
	char	   *name;
	char	   *value;

	/* a CRLF file reads the same as an LF one */
	if (end > p && end[-1] == '\r')
		end--;

	if (end - p > CONFIG_LINE_MAX)
		return configLineError(parser, line,
							   "line is longer than %d bytes", CONFIG_LINE_MAX);
	for (const char *c = p; c < end; c++)
	{
		if (*c == '\0')
			return configLineError(parser, line, "line contains a NUL byte");
		if ((*c > 0 && *c < ' ' && *c != '\t') || *c == 0x7f)
			return configLineError(parser, line,
								   "line contains a control character (0x%02x)",
								   (unsigned char) *c);
	}

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || *p == '#')
		return true;

	nameStart = p;
	while (p < end && *p != ' ' && *p != '\t' && *p != '=' && *p != '#')
		p++;
	nameEnd = p;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (nameStart == nameEnd || p == end || *p != '=')
	{
		configLineError(parser, line, "syntax error: expected \"name = value\"");
		return false;
	}
	p++;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;

	name = pnstrdup(nameStart, nameEnd - nameStart);

	if (p < end && (*p == '\'' || *p == '"'))
	{
		char		quote = *p++;

		valueStart = p;
		while (p < end && *p != quote)
			p++;
		if (p == end)
		{
			configLineError(parser, line,
							"unterminated quoted value for \"%s\"", name);
			pfree(name);
			return false;
		}
		valueEnd = p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p < end && *p != '#')
		{
			configLineError(parser, line,
							"unexpected text after the quoted value of \"%s\"",
							name);
			pfree(name);
			return false;
		}
	}
	else
	{
		valueStart = p;
		while (p < end && *p != '#')
			p++;
		valueEnd = p;
		while (valueEnd > valueStart &&
			   (valueEnd[-1] == ' ' || valueEnd[-1] == '\t'))
			valueEnd--;
	}

	{
		ConfigKey	key = CONFIG_KEY_COUNT;
		int			repo = 0;
		const char *suffix = NULL;
		ConfigValue *slot;
		bool		result;

		switch (configNameLookup(name, &key, &repo, &suffix))
		{
			case CONFIG_NAME_FOUND:
				break;
			case CONFIG_NAME_DRIVER:
				value = pnstrdup(valueStart, valueEnd - valueStart);
				result = configRawAdd(parser, repo, name, suffix, value, line);
				pfree(name);
				return result;
			case CONFIG_NAME_BAD_REPO:
				configLineError(parser, line,
								"repository number in \"%s\" must be from 1 to %d",
								name, CONFIG_REPO_MAX);
				pfree(name);
				return false;
			case CONFIG_NAME_UNKNOWN:
				{
					char		suggestion[CONFIG_KEY_NAME_MAX + 16];

					configLineError(parser, line, "unknown setting \"%s\"", name);
					if (configSuggest(name, NULL, suggestion, sizeof(suggestion)))
						drErrorHint(parser->err, "did you mean \"%s\"?", suggestion);
					else
						configValidNamesHint(parser->err);
					pfree(name);
					return false;
				}
		}

		slot = &parser->values[repo][key];
		if (slot->value != NULL)
		{
			configLineError(parser, line,
							"\"%s\" is set twice (first on line %d)",
							name, slot->line);
			pfree(name);
			return false;
		}

		value = pnstrdup(valueStart, valueEnd - valueStart);
		result = configLineValueCheck(parser, line, &configKeys[key], name,
									  &value);
		if (result)
		{
			slot->value = value;
			slot->line = line;
		}
		pfree(name);
		return result;
	}
}

/*
 * Pass 2: each driver key of each repository, to the driver of its type.
 * A repository without a type is reported in pass 3, unless one of its
 * keys belongs to no driver at all.
 */
static bool
configRoute(ConfigParser *parser)
{
	for (int n = 1; n <= CONFIG_REPO_MAX; n++)
	{
		const char *type = parser->values[n][CONFIG_KEY_REPO_TYPE].value;
		const ConfigDriver *driver = type ? configDriverFind(type) : NULL;

		for (int i = 0; i < parser->rawCount[n]; i++)
		{
			ConfigRaw  *raw = &parser->raw[n][i];
			char	   *name;
			char		suggestion[CONFIG_KEY_NAME_MAX + 16];
			const ConfigDriver *other;
			bool		valid;

			if (driver != NULL)
				raw->def = configDriverKey(driver, raw->key);
			other = raw->def ? NULL : configDriverDeclaring(raw->key, driver);
			if (raw->def == NULL && driver == NULL && other != NULL)
				continue;		/* the missing type is reported in pass 3 */

			name = psprintf("repo%d_%s", n, raw->key);
			if (raw->def != NULL)
			{
				valid = configLineValueCheck(parser, raw->line, raw->def,
											 name, &raw->value);
				pfree(name);
				if (!valid)
					return false;
				continue;
			}

			if (driver != NULL && other != NULL)
				configLineError(parser, raw->line,
								"unknown setting \"%s\" for a repository of type %s (it is a setting of type %s)",
								name, driver->type, other->type);
			else
				configLineError(parser, raw->line, "unknown setting \"%s\"",
								name);
			if (configSuggest(name, driver, suggestion, sizeof(suggestion)))
				drErrorHint(parser->err, "did you mean \"%s\"?", suggestion);
			else if (driver != NULL)
			{
				char		keys[160];

				configDriverKeyList(driver, n, keys, sizeof(keys));
				drErrorHint(parser->err,
							"a repository of type %s accepts, besides the settings "
							"of every repository: %s", driver->type, keys);
			}
			else
				configValidNamesHint(parser->err);
			pfree(name);
			return false;
		}
	}
	return true;
}

bool
configCheckError(ConfigCheck *check, const char *key, const char *fmt,...)
{
	char		message[sizeof(((DrError *) NULL)->message)];
	const ConfigRepo *repo = check->repo;
	int			line = 0;
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);

	if (key != NULL)
	{
		for (int k = 0; k < CONFIG_KEY_COUNT; k++)
			if (configKeyPerRepo[k] && strcmp(configKeys[k].name, key) == 0)
				line = check->parser->values[repo->index][k].line;
		for (int s = 0; s < repo->settingCount; s++)
			if (strcmp(repo->settings[s].def->name, key) == 0)
				line = repo->settings[s].line;
	}
	if (line > 0)
		return configLineError(check->parser, line, "%s", message);
	return configFileError(check->parser, "repo%d: %s", repo->index, message);
}

void
configCheckHint(ConfigCheck *check, const char *fmt,...)
{
	char		hint[sizeof(((DrError *) NULL)->hint)];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(hint, sizeof(hint), fmt, ap);
	va_end(ap);
	drErrorHint(check->parser->err, "%s", hint);
}

/* The settings list of repo's driver, with the defaults in place. */
static void
configRepoSettingsInit(ConfigRepo *repo)
{
	const ConfigDriver *driver = repo->driver;

	repo->settingCount = driver->keyCount;
	repo->settings = palloc0(sizeof(ConfigSetting) * Max(1, driver->keyCount));
	for (int k = 0; k < driver->keyCount; k++)
	{
		const ConfigKeyDef *def = &driver->keys[k];
		ConfigSetting *setting = &repo->settings[k];

		setting->def = def;
		if (def->defaultValue != NULL)
		{
			ConfigProblem problem;
			bool		valid PG_USED_FOR_ASSERTS_ONLY;

			setting->value = pstrdup(def->defaultValue);
			/* a driver's default is written like a value in a file */
			valid = configValueCheck(def, def->name, &setting->value, &problem);
			Assert(valid);
		}
	}
}

static const ConfigSetting *
configRepoSetting(const ConfigRepo *repo, const char *key)
{
	for (int s = 0; s < repo->settingCount; s++)
		if (strcmp(repo->settings[s].def->name, key) == 0)
			return &repo->settings[s];
	/* a driver asks only for its own keys */
	Assert(false);
	return NULL;
}

const char *
configRepoGet(const ConfigRepo *repo, const char *key)
{
	const ConfigSetting *setting = configRepoSetting(repo, key);

	return setting ? setting->value : NULL;
}

int64
configRepoGetInt(const ConfigRepo *repo, const char *key)
{
	const char *value = configRepoGet(repo, key);

	return value ? strtoi64(value, NULL, 10) : 0;
}

bool
configRepoGetBool(const ConfigRepo *repo, const char *key)
{
	const char *value = configRepoGet(repo, key);

	return value != NULL && strcmp(value, "on") == 0;
}

bool
configRepoSet(ConfigRepo *repo, const char *key, const char *value,
			  DrError *err)
{
	const ConfigKeyDef *def = configDriverKey(repo->driver, key);
	ConfigSetting *setting;
	char		name[CONFIG_KEY_NAME_MAX + 16];
	char	   *v;
	ConfigProblem problem;

	snprintf(name, sizeof(name), "repo%d_%s", repo->index, key);
	if (def == NULL)
		return drErrorSet(err, DR_ERR_CONFIG,
						  "unknown setting \"%s\" for a repository of type %s",
						  name, repo->driver->type);
	if (repo->settings == NULL)
		configRepoSettingsInit(repo);
	v = pstrdup(value);
	if (!configValueCheck(def, name, &v, &problem))
	{
		pfree(v);
		drErrorSet(err, DR_ERR_CONFIG, "%s", problem.message);
		if (problem.hint[0] != '\0')
			drErrorHint(err, "%s", problem.hint);
		return false;
	}
	setting = &repo->settings[def - repo->driver->keys];
	if (setting->value)
		pfree(setting->value);
	setting->value = v;
	setting->line = 0;
	if (strcmp(key, repo->driver->locationKey) == 0)
	{
		if (repo->path)
			pfree(repo->path);
		repo->path = pstrdup(v);
	}
	return true;
}

void
configRepoCopy(ConfigRepo *dst, const ConfigRepo *src)
{
	*dst = *src;
	dst->path = src->path ? pstrdup(src->path) : NULL;
	dst->cipherKeyFile = src->cipherKeyFile ? pstrdup(src->cipherKeyFile) : NULL;
	if (src->settings != NULL)
	{
		dst->settings = palloc(sizeof(ConfigSetting) * Max(1, src->settingCount));
		for (int s = 0; s < src->settingCount; s++)
		{
			dst->settings[s] = src->settings[s];
			if (src->settings[s].value)
				dst->settings[s].value = pstrdup(src->settings[s].value);
		}
	}
}

void
configRepoClear(ConfigRepo *repo)
{
	if (repo->path)
		pfree(repo->path);
	if (repo->cipherKeyFile)
		pfree(repo->cipherKeyFile);
	for (int s = 0; s < repo->settingCount && repo->settings; s++)
		if (repo->settings[s].value)
			pfree(repo->settings[s].value);
	if (repo->settings)
		pfree(repo->settings);
	memset(repo, 0, sizeof(*repo));
}

/* strcmp for strings that may be NULL. */
static bool
configStrEqual(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
		(a != NULL && b != NULL && strcmp(a, b) == 0);
}

/*
 * Same repository opened the same way: everything but retention, which
 * does not change how it is read or written.
 */
bool
configRepoEqual(const ConfigRepo *a, const ConfigRepo *b)
{
	if (a->index != b->index || a->driver != b->driver ||
		a->cipher != b->cipher || a->compressLevel != b->compressLevel ||
		a->path == NULL || b->path == NULL || strcmp(a->path, b->path) != 0 ||
		!configStrEqual(a->cipherKeyFile, b->cipherKeyFile) ||
		a->settingCount != b->settingCount)
		return false;
	for (int s = 0; s < a->settingCount; s++)
		if (!configStrEqual(a->settings[s].value, b->settings[s].value))
			return false;
	return true;
}

/* Whether a setting name holds a secret (see config.h). */
bool
configNameIsSecret(const char *name)
{
	static const char *const suffixes[] = {
		"_key", "_secret", "_password", "_passphrase", "_token", "_credential",
		"_credentials"
	};
	size_t		len = strlen(name);

	for (size_t i = 0; i < lengthof(suffixes); i++)
	{
		size_t		slen = strlen(suffixes[i]);

		if (len >= slen && strcmp(name + len - slen, suffixes[i]) == 0)
			return true;
	}
	return false;
}

static int
configItemCompare(const void *a, const void *b)
{
	return strcmp(((const ConfigItem *) a)->name, ((const ConfigItem *) b)->name);
}

/* Add one effective setting to the display list; nothing when unset. */
static void
configItemAdd(DrConfig *config, const char *source, const char *name,
			  const ConfigKeyDef *def, const char *value, int line)
{
	ConfigItem *item;

	if (value == NULL)
		return;
	item = &config->items[config->itemCount++];
	item->name = pstrdup(name);
	item->secret = configItemSecret(def, name);
	item->value = pstrdup(item->secret ? CONFIG_SECRET_MASK : value);
	if (line > 0)
		item->source = psprintf("%s:%d", source, line);
	else
		item->source = pstrdup("default");
}

/* Value of a global or common setting, or its default. */
static const char *
configValueGet(ConfigParser *parser, ConfigKey key, int repo)
{
	const char *value = parser->values[repo][key].value;

	return value != NULL ? value : configKeys[key].defaultValue;
}

/* Whether any line of the file set something for repoN (0: globals). */
static bool
configRepoUsed(const ConfigParser *parser, int n)
{
	if (parser->rawCount[n] > 0)
		return true;
	for (int k = 0; k < CONFIG_KEY_COUNT; k++)
		if (parser->values[n][k].value != NULL)
			return true;
	return false;
}

/*
 * Pass 3 for repoN: its ConfigRepo, with required settings present, the
 * driver's rules and no other repository in the same place.
 */
static bool
configRepoBuild(ConfigParser *parser, DrConfig *config, int n)
{
	ConfigValue *v = parser->values[n];
	ConfigRepo *repo = &config->repo[n];
	const ConfigDriver *driver;
	const ConfigSetting *location;
	ConfigCheck check = {parser, repo};
	char		name[CONFIG_KEY_NAME_MAX + 16];

	if (v[CONFIG_KEY_REPO_TYPE].value == NULL)
	{
		char		types[128];

		configFileError(parser, "repo%d: \"repo%d_type\" is required", n, n);
		configJoin(NULL, types, sizeof(types));
		drErrorHint(parser->err, "add repo%d_type = %s", n,
					configDriverCount > 0 ? types : "posix");
		return false;
	}
	driver = configDriverFind(v[CONFIG_KEY_REPO_TYPE].value);
	Assert(driver != NULL);

	repo->index = n;
	repo->driver = driver;
	configRepoSettingsInit(repo);
	for (int i = 0; i < parser->rawCount[n]; i++)
	{
		ConfigRaw  *raw = &parser->raw[n][i];
		ConfigSetting *setting = &repo->settings[raw->def - driver->keys];

		if (setting->value)
			pfree(setting->value);
		setting->value = pstrdup(raw->value);
		setting->line = raw->line;
	}
	for (int s = 0; s < repo->settingCount; s++)
	{
		const ConfigKeyDef *def = repo->settings[s].def;

		if (def->required && repo->settings[s].value == NULL)
		{
			configFileError(parser, "repo%d: \"repo%d_%s\" is required",
							n, n, def->name);
			if (def->example != NULL)
				drErrorHint(parser->err, "add repo%d_%s = %s", n, def->name,
							def->example);
			return false;
		}
	}

	repo->cipher =
		strcmp(configValueGet(parser, CONFIG_KEY_REPO_CIPHER_TYPE, n),
			   "none") == 0 ? CONFIG_CIPHER_NONE : CONFIG_CIPHER_AES256GCM;
	if (repo->cipher == CONFIG_CIPHER_AES256GCM)
	{
		if (v[CONFIG_KEY_REPO_CIPHER_KEY_FILE].value == NULL)
		{
			configFileError(parser,
							"repo%d: \"repo%d_cipher_key_file\" is required when repo%d_cipher_type is aes-256-gcm",
							n, n, n);
			drErrorHint(parser->err,
						"name the passphrase file with repo%d_cipher_key_file, "
						"or set repo%d_cipher_type = none for an unencrypted repository",
						n, n);
			return false;
		}
		/* a key file next to cipher_type = none has no effect: not kept */
		repo->cipherKeyFile = pstrdup(v[CONFIG_KEY_REPO_CIPHER_KEY_FILE].value);
	}
	repo->compressLevel = config->compressLevel;
	if (v[CONFIG_KEY_REPO_RETENTION_FULL].value != NULL)
		repo->retentionFull = atoi(v[CONFIG_KEY_REPO_RETENTION_FULL].value);
	if (v[CONFIG_KEY_REPO_RETENTION_FULL_DAYS].value != NULL)
		repo->retentionFullDays =
			atoi(v[CONFIG_KEY_REPO_RETENTION_FULL_DAYS].value);

	location = configRepoSetting(repo, driver->locationKey);
	Assert(location != NULL && location->value != NULL);
	repo->path = pstrdup(location->value);

	if (driver->validate != NULL && !driver->validate(repo, &check))
		return false;

	/* two repositories in one place would overwrite each other */
	for (int m = 1; m < n; m++)
	{
		const ConfigRepo *other = &config->repo[m];

		if (other->driver == driver && strcmp(other->path, repo->path) == 0)
			return configLineError(parser, location->line,
								   "repo%d and repo%d have the same %s \"%s\"",
								   m, n, driver->locationKey, other->path);
	}

	for (int k = 0; k < CONFIG_KEY_COUNT; k++)
	{
		if (!configKeyPerRepo[k])
			continue;
		configKeyName(configKeys[k].name, true, n, name, sizeof(name));
		configItemAdd(config, parser->source, name, &configKeys[k],
					  configValueGet(parser, (ConfigKey) k, n), v[k].line);
	}
	for (int s = 0; s < repo->settingCount; s++)
	{
		configKeyName(repo->settings[s].def->name, true, n, name, sizeof(name));
		configItemAdd(config, parser->source, name, repo->settings[s].def,
					  repo->settings[s].value, repo->settings[s].line);
	}
	config->repoCount++;
	return true;
}

/* Build the DrConfig from a parser whose every line was checked. */
static DrConfig *
configBuild(ConfigParser *parser)
{
	DrConfig   *config = palloc0(sizeof(DrConfig));
	int			itemMax = CONFIG_KEY_COUNT;

	config->path = pstrdup(parser->source);
	if (strcmp(configValueGet(parser, CONFIG_KEY_COMPRESS_TYPE, 0), "zstd") == 0)
		config->compressLevel =
			atoi(configValueGet(parser, CONFIG_KEY_COMPRESS_LEVEL, 0));

	/* the largest list possible: globals plus every key of every repo */
	for (int n = 1; n <= CONFIG_REPO_MAX; n++)
	{
		const char *type = parser->values[n][CONFIG_KEY_REPO_TYPE].value;
		const ConfigDriver *driver = type ? configDriverFind(type) : NULL;

		itemMax += CONFIG_KEY_COUNT + (driver ? driver->keyCount : 0);
	}
	config->items = palloc0(sizeof(ConfigItem) * itemMax);
	for (int k = 0; k < CONFIG_KEY_COUNT; k++)
	{
		if (configKeyPerRepo[k])
			continue;
		configItemAdd(config, parser->source, configKeys[k].name,
					  &configKeys[k], configValueGet(parser, (ConfigKey) k, 0),
					  parser->values[0][k].line);
	}

	for (int n = 1; n <= CONFIG_REPO_MAX; n++)
	{
		if (!configRepoUsed(parser, n))
			continue;
		if (!configRepoBuild(parser, config, n))
		{
			configFree(config);
			return NULL;
		}
	}

	qsort(config->items, config->itemCount, sizeof(ConfigItem),
		  configItemCompare);
	return config;
}

static void
configParserFree(ConfigParser *parser)
{
	for (int n = 0; n <= CONFIG_REPO_MAX; n++)
	{
		for (int k = 0; k < CONFIG_KEY_COUNT; k++)
			if (parser->values[n][k].value != NULL)
				pfree(parser->values[n][k].value);
		for (int i = 0; i < parser->rawCount[n]; i++)
		{
			pfree(parser->raw[n][i].key);
			if (parser->raw[n][i].value)
				pfree(parser->raw[n][i].value);
		}
		if (parser->raw[n])
			pfree(parser->raw[n]);
	}
}

DrConfig *
configParse(const char *text, size_t len, const char *sourceName,
			DrError *err)
{
	ConfigParser parser;
	const char *p = text;
	const char *end = text + len;
	int			line = 1;
	DrConfig   *config = NULL;
	bool		any = false;

	memset(&parser, 0, sizeof(parser));
	parser.source = sourceName != NULL ? sourceName : "configuration";
	parser.err = err;

	while (p < end)
	{
		const char *eol = memchr(p, '\n', end - p);

		if (eol == NULL)
			eol = end;
		if (!configParseLine(&parser, line, p, eol))
			goto done;
		p = eol + 1;
		line++;
	}

	/*
	 * A file without a single setting is a mistake (an editor or a
	 * deployment that truncated it): it would otherwise load fine and leave
	 * every caller with no repository and nothing said about why.
	 */
	for (int n = 0; n <= CONFIG_REPO_MAX; n++)
		any |= configRepoUsed(&parser, n);
	if (!any)
	{
		configFileError(&parser, "the configuration file has no settings");
		drErrorHint(err, "set at least repo1_type and repo1_path (docs/configuration.md)");
		goto done;
	}

	if (configRoute(&parser))
		config = configBuild(&parser);

done:
	configParserFree(&parser);
	return config;
}

/* What a file that is not a regular one is, for the message. */
static const char *
configFileType(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	return "of another kind";
}

DrConfig *
configLoad(const char *path, DrError *err)
{
	int			fd;
	struct stat st;
	char	   *text;
	size_t		len = 0;
	DrConfig   *config;

	/*
	 * O_NONBLOCK: opening a FIFO for reading waits for a writer, in a
	 * system call no cancel interrupts; with it the open returns at once
	 * and the type check below refuses anything but a regular file (for
	 * which the flag changes nothing).
	 */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
	{
		drErrorSet(err, errno == ENOENT ? DR_ERR_NOT_FOUND : DR_ERR_IO,
				   "could not open configuration file \"%s\": %m", path);
		return NULL;
	}
	if (fstat(fd, &st) < 0)
	{
		drErrorSet(err, DR_ERR_IO,
				   "could not stat configuration file \"%s\": %m", path);
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode))
	{
		drErrorSet(err, DR_ERR_CONFIG,
				   "configuration file \"%s\" is not a regular file (it is %s)",
				   path, configFileType(st.st_mode));
		drErrorHint(err, "name a regular file of at most %d bytes",
					CONFIG_FILE_MAX);
		close(fd);
		return NULL;
	}

	/*
	 * Read at most one byte more than allowed, whatever st_size said: the
	 * file may grow between fstat and read, and memory must stay bounded.
	 */
	text = palloc(CONFIG_FILE_MAX + 1);
	for (;;)
	{
		ssize_t		n = read(fd, text + len, CONFIG_FILE_MAX + 1 - len);

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			drErrorSet(err, DR_ERR_IO,
					   "could not read configuration file \"%s\": %m", path);
			close(fd);
			pfree(text);
			return NULL;
		}
		if (n == 0)
			break;
		len += n;
		if (len > CONFIG_FILE_MAX)
		{
			drErrorSet(err, DR_ERR_CONFIG,
					   "configuration file \"%s\" is larger than %d bytes",
					   path, CONFIG_FILE_MAX);
			close(fd);
			pfree(text);
			return NULL;
		}
	}
	close(fd);

	config = configParse(text, len, path, err);
	pfree(text);
	return config;
}

void
configFree(DrConfig *config)
{
	if (config == NULL)
		return;
	for (int n = 1; n <= CONFIG_REPO_MAX; n++)
		configRepoClear(&config->repo[n]);
	for (int i = 0; i < config->itemCount; i++)
	{
		pfree(config->items[i].name);
		pfree(config->items[i].value);
		pfree(config->items[i].source);
	}
	if (config->items)
		pfree(config->items);
	pfree(config->path);
	pfree(config);
}

const ConfigRepo *
configRepoFirst(const DrConfig *config, DrError *err)
{
	for (int n = 1; n <= CONFIG_REPO_MAX; n++)
	{
		if (config->repo[n].index != 0)
			return &config->repo[n];
	}
	drErrorSet(err, DR_ERR_CONFIG, "\"%s\": no repository is configured",
			   config->path);
	drErrorHint(err, "set repo1_type and repo1_path");
	return NULL;
}
