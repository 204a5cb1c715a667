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
 * The checked values are collected first and the DrConfig is built only
 * when the whole file is valid, so a caller never sees half a
 * configuration.
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

/* Every setting name, per-repository ones without their "repoN_" prefix. */
typedef enum ConfigKey
{
	CONFIG_KEY_COMPRESS_TYPE,
	CONFIG_KEY_COMPRESS_LEVEL,
	CONFIG_KEY_REPO_TYPE,
	CONFIG_KEY_REPO_PATH,
	CONFIG_KEY_REPO_CIPHER_TYPE,
	CONFIG_KEY_REPO_CIPHER_KEY_FILE,
	CONFIG_KEY_REPO_RETENTION_FULL,
	CONFIG_KEY_REPO_RETENTION_FULL_DAYS,
	CONFIG_KEY_COUNT
} ConfigKey;

typedef struct ConfigKeyDef
{
	const char *name;			/* suffix after "repoN_" when perRepo */
	bool		perRepo;
	const char *defaultValue;	/* NULL when there is no default */
} ConfigKeyDef;

static const ConfigKeyDef configKeys[CONFIG_KEY_COUNT] = {
	[CONFIG_KEY_COMPRESS_TYPE] = {"compress_type", false, "zstd"},
	[CONFIG_KEY_COMPRESS_LEVEL] = {"compress_level", false, "3"},
	[CONFIG_KEY_REPO_TYPE] = {"type", true, NULL},
	[CONFIG_KEY_REPO_PATH] = {"path", true, NULL},
	[CONFIG_KEY_REPO_CIPHER_TYPE] = {"cipher_type", true, "aes-256-gcm"},
	[CONFIG_KEY_REPO_CIPHER_KEY_FILE] = {"cipher_key_file", true, NULL},
	[CONFIG_KEY_REPO_RETENTION_FULL] = {"retention_full", true, NULL},
	[CONFIG_KEY_REPO_RETENTION_FULL_DAYS] = {"retention_full_days", true, NULL},
};

/* Hint listing every valid name, for a name too far from any of them. */
#define CONFIG_VALID_NAMES_HINT \
	"valid settings are compress_type, compress_level, repoN_type, " \
	"repoN_path, repoN_cipher_type, repoN_cipher_key_file, " \
	"repoN_retention_full and repoN_retention_full_days, with N from 1 to 4"

/* One value read from the file, already checked and normalized. */
typedef struct ConfigValue
{
	char	   *value;			/* NULL when not set in the file */
	int			line;
} ConfigValue;

/*
 * Parser state.  values[0] holds the global settings, values[N] those of
 * repoN; a slot for a key of the other kind is never used.
 */
typedef struct ConfigParser
{
	const char *source;
	ConfigValue values[CONFIG_REPO_MAX + 1][CONFIG_KEY_COUNT];
	DrError    *err;
} ConfigParser;

/* What configNameLookup found. */
typedef enum ConfigNameResult
{
	CONFIG_NAME_FOUND,
	CONFIG_NAME_UNKNOWN,
	CONFIG_NAME_BAD_REPO			/* repoN_<known> with N out of range */
} ConfigNameResult;

static bool configLineError(ConfigParser *parser, int line, const char *fmt,...) pg_attribute_printf(3, 4);
static bool configFileError(ConfigParser *parser, const char *fmt,...) pg_attribute_printf(2, 3);

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

/* Full name of a key: "compress_type" or "repo2_path". */
static void
configKeyName(ConfigKey key, int repo, char *buf, size_t size)
{
	if (configKeys[key].perRepo)
		snprintf(buf, size, "repo%d_%s", repo, configKeys[key].name);
	else
		strlcpy(buf, configKeys[key].name, size);
}

/*
 * Map a setting name to its key and repository number.  "repoN_" names are
 * split by hand rather than matched against a table of every expansion, so
 * that a known suffix with a bad N gets its own message instead of
 * "unknown setting".
 */
static ConfigNameResult
configNameLookup(const char *name, ConfigKey *key, int *repo)
{
	const char *p;
	const char *digits;
	int			n = 0;

	for (int k = 0; k < CONFIG_KEY_COUNT; k++)
	{
		if (!configKeys[k].perRepo && strcmp(name, configKeys[k].name) == 0)
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
	if (p == digits || *p != '_')
		return CONFIG_NAME_UNKNOWN;

	for (int k = 0; k < CONFIG_KEY_COUNT; k++)
	{
		if (configKeys[k].perRepo && strcmp(p + 1, configKeys[k].name) == 0)
		{
			/* "repo01_path" is refused too: one spelling per setting */
			if (n < 1 || n > CONFIG_REPO_MAX || digits[0] == '0')
				return CONFIG_NAME_BAD_REPO;
			*key = (ConfigKey) k;
			*repo = n;
			return CONFIG_NAME_FOUND;
		}
	}
	return CONFIG_NAME_UNKNOWN;
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

/*
 * The valid name closest to an unknown one, if it is close enough to be a
 * typo.  Per-repository names are tried with the N the user wrote (or 1),
 * so "repo2_pth" suggests "repo2_path".
 */
static bool
configSuggest(const char *name, char *buf, size_t size)
{
	int			repo = 1;
	int			bestDistance = INT_MAX;

	if (strncmp(name, "repo", 4) == 0 && name[4] >= '1' &&
		name[4] <= '0' + CONFIG_REPO_MAX)
		repo = name[4] - '0';

	for (int k = 0; k < CONFIG_KEY_COUNT; k++)
	{
		char		candidate[64];
		int			distance;
		int			limit;

		configKeyName((ConfigKey) k, repo, candidate, sizeof(candidate));
		distance = configEditDistance(name, candidate);
		/* a quarter of the name, at most 3: beyond that it is a guess */
		limit = Min(3, (int) strlen(candidate) / 4 + 1);
		if (distance <= limit && distance < bestDistance)
		{
			bestDistance = distance;
			strlcpy(buf, candidate, size);
		}
	}
	return bestDistance != INT_MAX;
}

/*
 * Whether the value of a setting must never be shown, even in an error.
 * Besides the secret settings (configNameIsSecret), the key file's path:
 * when it is wrong, it is often because the passphrase itself was written
 * in its place, and the message would publish it (in dr_status, readable
 * by dr_monitor, and on the CLI's stderr).
 */
static bool
configValueHidden(ConfigKey key, const char *name)
{
	return key == CONFIG_KEY_REPO_CIPHER_KEY_FILE || configNameIsSecret(name);
}

/* Check an absolute path value and drop trailing slashes. */
static bool
configCheckPath(ConfigParser *parser, int line, ConfigKey key,
				const char *name, char *value)
{
	size_t		len = strlen(value);

	if (value[0] != '/')
	{
		if (configValueHidden(key, name))
			configLineError(parser, line,
							"\"%s\" must be an absolute path (its value is not shown: it may be a secret)",
							name);
		else
			configLineError(parser, line,
							"\"%s\" must be an absolute path, got \"%s\"",
							name, value);
		drErrorHint(parser->err,
					"relative paths are refused because the server and the "
					"CLI run in different working directories");
		return false;
	}
	while (len > 1 && value[len - 1] == '/')
		value[--len] = '\0';
	if (len == 1)
		return configLineError(parser, line,
							   "\"%s\" must not be the root directory", name);
	return true;
}

/*
 * Check one value for its key and store its canonical form in *value
 * (enumerations are matched ignoring case and stored in lower case).
 */
static bool
configCheckValue(ConfigParser *parser, int line, ConfigKey key,
				 const char *name, char *value)
{
	switch (key)
	{
		case CONFIG_KEY_COMPRESS_TYPE:
			if (pg_strcasecmp(value, "zstd") != 0 &&
				pg_strcasecmp(value, "none") != 0)
				return configLineError(parser, line,
									   "invalid value \"%s\" for \"%s\": expected zstd or none",
									   value, name);
			break;
		case CONFIG_KEY_COMPRESS_LEVEL:
			{
				size_t		len = strlen(value);
				int			level;

				/* digits only: no sign, no blanks, no "3.0", no "0x3" */
				if (len == 0 || len > 2 || strspn(value, "0123456789") != len)
					level = -1;
				else
					level = atoi(value);
				if (level < 1 || level > 19)
					return configLineError(parser, line,
										   "invalid value \"%s\" for \"%s\": expected an integer from 1 to 19",
										   value, name);
				/* normalize "03" to "3" for display */
				snprintf(value, len + 1, "%d", level);
				break;
			}
		case CONFIG_KEY_REPO_RETENTION_FULL:
		case CONFIG_KEY_REPO_RETENTION_FULL_DAYS:
			{
				size_t		len = strlen(value);
				int			n;

				/* digits only, as for compress_level */
				if (len == 0 || len > 5 || strspn(value, "0123456789") != len)
					n = -1;
				else
					n = atoi(value);
				if (n < 1 || n > 99999)
					return configLineError(parser, line,
										   "invalid value \"%s\" for \"%s\": expected an integer from 1 to 99999",
										   value, name);
				snprintf(value, len + 1, "%d", n);
				break;
			}
		case CONFIG_KEY_REPO_TYPE:
			if (pg_strcasecmp(value, "posix") != 0)
				return configLineError(parser, line,
									   "invalid value \"%s\" for \"%s\": expected posix",
									   value, name);
			break;
		case CONFIG_KEY_REPO_CIPHER_TYPE:
			if (pg_strcasecmp(value, "aes-256-gcm") != 0 &&
				pg_strcasecmp(value, "none") != 0)
				return configLineError(parser, line,
									   "invalid value \"%s\" for \"%s\": expected aes-256-gcm or none",
									   value, name);
			break;
		case CONFIG_KEY_REPO_PATH:
		case CONFIG_KEY_REPO_CIPHER_KEY_FILE:
			return configCheckPath(parser, line, key, name, value);
		case CONFIG_KEY_COUNT:
			Assert(false);
			break;
	}

	/* the enumerations: store them as documented */
	for (char *p = value; *p; p++)
		*p = pg_tolower((unsigned char) *p);
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
	ConfigKey	key;
	int			repo;
	ConfigValue *slot;

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

	switch (configNameLookup(name, &key, &repo))
	{
		case CONFIG_NAME_FOUND:
			break;
		case CONFIG_NAME_BAD_REPO:
			configLineError(parser, line,
							"repository number in \"%s\" must be from 1 to %d",
							name, CONFIG_REPO_MAX);
			pfree(name);
			return false;
		case CONFIG_NAME_UNKNOWN:
			{
				char		suggestion[64];

				configLineError(parser, line, "unknown setting \"%s\"", name);
				if (configSuggest(name, suggestion, sizeof(suggestion)))
					drErrorHint(parser->err, "did you mean \"%s\"?", suggestion);
				else
					drErrorHint(parser->err, CONFIG_VALID_NAMES_HINT);
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
	if (!configCheckValue(parser, line, key, name, value))
	{
		pfree(value);
		pfree(name);
		return false;
	}
	slot->value = value;
	slot->line = line;
	pfree(name);
	return true;
}

/*
 * A path as the kernel will see it: its longest existing leading part
 * resolved with realpath() (symbolic links, "." and "..", repeated
 * slashes), the rest appended and canonicalized.  Palloc'd.
 */
static char *
configPathResolve(const char *path)
{
	char	   *prefix = pstrdup(path);
	char		resolved[PATH_MAX];
	char	   *result;

	while (realpath(prefix, resolved) == NULL)
	{
		char	   *slash = strrchr(prefix, '/');

		/* "/" always resolves, and every value starts with '/' */
		if (slash == NULL)
		{
			strlcpy(resolved, "/", sizeof(resolved));
			break;
		}
		if (slash == prefix)
			slash++;
		*slash = '\0';
	}
	result = psprintf("%s/%s", resolved, path + strlen(prefix));
	canonicalize_path(result);
	pfree(prefix);
	return result;
}

/*
 * Whether path is dir or inside it, once both are resolved: a string
 * comparison alone is defeated by "//", "/./", ".." or a symbolic link.
 */
static bool
configPathInside(const char *path, const char *dir)
{
	char	   *p = configPathResolve(path);
	char	   *d = configPathResolve(dir);
	size_t		dlen = strlen(d);
	bool		inside;

	inside = strcmp(d, "/") == 0 ||
		(strncmp(p, d, dlen) == 0 && (p[dlen] == '/' || p[dlen] == '\0'));
	pfree(p);
	pfree(d);
	return inside;
}

/*
 * Checks across settings, once every line was read: required settings of
 * each configured repository, and combinations that would defeat the
 * purpose of the configuration.
 */
static bool
configCheckRepos(ConfigParser *parser)
{
	for (int n = 1; n <= CONFIG_REPO_MAX; n++)
	{
		ConfigValue *v = parser->values[n];
		bool		used = false;
		const char *cipher;

		for (int k = 0; k < CONFIG_KEY_COUNT; k++)
			used |= v[k].value != NULL;
		if (!used)
			continue;

		if (v[CONFIG_KEY_REPO_TYPE].value == NULL)
		{
			configFileError(parser, "repo%d: \"repo%d_type\" is required", n, n);
			drErrorHint(parser->err, "add repo%d_type = posix", n);
			return false;
		}
		if (v[CONFIG_KEY_REPO_PATH].value == NULL)
		{
			configFileError(parser, "repo%d: \"repo%d_path\" is required", n, n);
			drErrorHint(parser->err,
						"add repo%d_path = '/absolute/path/of/the/repository'", n);
			return false;
		}

		cipher = v[CONFIG_KEY_REPO_CIPHER_TYPE].value ?
			v[CONFIG_KEY_REPO_CIPHER_TYPE].value :
			configKeys[CONFIG_KEY_REPO_CIPHER_TYPE].defaultValue;
		if (strcmp(cipher, "aes-256-gcm") == 0)
		{
			const char *keyFile = v[CONFIG_KEY_REPO_CIPHER_KEY_FILE].value;
			const char *path = v[CONFIG_KEY_REPO_PATH].value;

			if (keyFile == NULL)
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

			/* a passphrase kept next to the data it protects protects nothing */
			if (configPathInside(keyFile, path))
				return configLineError(parser,
									   v[CONFIG_KEY_REPO_CIPHER_KEY_FILE].line,
									   "\"repo%d_cipher_key_file\" must not be inside the repository \"%s\"",
									   n, path);
		}

		/* two repositories in one directory would overwrite each other */
		for (int m = 1; m < n; m++)
		{
			const char *other = parser->values[m][CONFIG_KEY_REPO_PATH].value;

			if (other != NULL &&
				strcmp(other, v[CONFIG_KEY_REPO_PATH].value) == 0)
				return configLineError(parser, v[CONFIG_KEY_REPO_PATH].line,
									   "repo%d and repo%d have the same path \"%s\"",
									   m, n, other);
		}
	}
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

/* Add one effective setting to the display list. */
static void
configItemAdd(DrConfig *config, const char *source, ConfigKey key, int repo,
			  const ConfigValue *value)
{
	ConfigItem *item = &config->items[config->itemCount++];
	char		name[64];

	configKeyName(key, repo, name, sizeof(name));
	item->name = pstrdup(name);
	item->secret = configNameIsSecret(name);
	if (item->secret)
		item->value = pstrdup(CONFIG_SECRET_MASK);
	else if (value->value != NULL)
		item->value = pstrdup(value->value);
	else
		item->value = pstrdup(configKeys[key].defaultValue);
	if (value->value != NULL)
		item->source = psprintf("%s:%d", source, value->line);
	else
		item->source = pstrdup("default");
}

/* Value of a setting, or its default. */
static const char *
configValueGet(ConfigParser *parser, ConfigKey key, int repo)
{
	const char *value = parser->values[repo][key].value;

	return value != NULL ? value : configKeys[key].defaultValue;
}

/* Build the DrConfig from a fully checked parser. */
static DrConfig *
configBuild(ConfigParser *parser)
{
	DrConfig   *config = palloc0(sizeof(DrConfig));
	int			compressLevel = 0;

	config->path = pstrdup(parser->source);
	if (strcmp(configValueGet(parser, CONFIG_KEY_COMPRESS_TYPE, 0), "zstd") == 0)
		compressLevel = atoi(configValueGet(parser, CONFIG_KEY_COMPRESS_LEVEL, 0));
	config->compressLevel = compressLevel;

	/* the largest list possible: globals plus every key of every repo */
	config->items = palloc0(sizeof(ConfigItem) *
							(CONFIG_REPO_MAX + 1) * CONFIG_KEY_COUNT);
	configItemAdd(config, parser->source, CONFIG_KEY_COMPRESS_TYPE, 0,
				  &parser->values[0][CONFIG_KEY_COMPRESS_TYPE]);
	configItemAdd(config, parser->source, CONFIG_KEY_COMPRESS_LEVEL, 0,
				  &parser->values[0][CONFIG_KEY_COMPRESS_LEVEL]);

	for (int n = 1; n <= CONFIG_REPO_MAX; n++)
	{
		ConfigValue *v = parser->values[n];
		ConfigRepo *repo = &config->repo[n];

		/* configCheckRepos made sure a used repo has its type and path */
		if (v[CONFIG_KEY_REPO_PATH].value == NULL)
			continue;

		repo->index = n;
		repo->type = CONFIG_REPO_POSIX;
		repo->path = pstrdup(v[CONFIG_KEY_REPO_PATH].value);
		repo->cipher =
			strcmp(configValueGet(parser, CONFIG_KEY_REPO_CIPHER_TYPE, n),
				   "none") == 0 ? CONFIG_CIPHER_NONE : CONFIG_CIPHER_AES256GCM;
		/* a key file next to cipher_type = none has no effect: not kept */
		if (repo->cipher == CONFIG_CIPHER_AES256GCM)
			repo->cipherKeyFile =
				pstrdup(v[CONFIG_KEY_REPO_CIPHER_KEY_FILE].value);
		repo->compressLevel = compressLevel;
		if (v[CONFIG_KEY_REPO_RETENTION_FULL].value != NULL)
			repo->retentionFull = atoi(v[CONFIG_KEY_REPO_RETENTION_FULL].value);
		if (v[CONFIG_KEY_REPO_RETENTION_FULL_DAYS].value != NULL)
			repo->retentionFullDays =
				atoi(v[CONFIG_KEY_REPO_RETENTION_FULL_DAYS].value);
		config->repoCount++;

		for (int k = 0; k < CONFIG_KEY_COUNT; k++)
		{
			if (!configKeys[k].perRepo)
				continue;
			/* show what is in effect: nothing for an unset optional path */
			if (v[k].value == NULL && configKeys[k].defaultValue == NULL)
				continue;
			configItemAdd(config, parser->source, (ConfigKey) k, n, &v[k]);
		}
	}

	qsort(config->items, config->itemCount, sizeof(ConfigItem),
		  configItemCompare);
	return config;
}

/* Whether any line of the file set anything. */
static bool
configHasSettings(const ConfigParser *parser)
{
	for (int n = 0; n <= CONFIG_REPO_MAX; n++)
		for (int k = 0; k < CONFIG_KEY_COUNT; k++)
			if (parser->values[n][k].value != NULL)
				return true;
	return false;
}

static void
configParserFree(ConfigParser *parser)
{
	for (int n = 0; n <= CONFIG_REPO_MAX; n++)
		for (int k = 0; k < CONFIG_KEY_COUNT; k++)
			if (parser->values[n][k].value != NULL)
				pfree(parser->values[n][k].value);
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
	if (!configHasSettings(&parser))
	{
		configFileError(&parser, "the configuration file has no settings");
		drErrorHint(err, "set at least repo1_type and repo1_path (docs/configuration.md)");
		goto done;
	}

	if (configCheckRepos(&parser))
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
	{
		if (config->repo[n].path)
			pfree(config->repo[n].path);
		if (config->repo[n].cipherKeyFile)
			pfree(config->repo[n].cipherKeyFile);
	}
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
