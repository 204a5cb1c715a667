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
 * never sees half a configuration.  What a valid value of each kind is,
 * the registry of drivers and a repository's driver settings are in
 * config_value.c.
 *-------------------------------------------------------------------------
 */

#include "common/dr_c.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config_internal.h"

/* Largest configuration file read; it is a few lines in practice. */
#define CONFIG_FILE_MAX			(1024 * 1024)

#define CONFIG_SECRET_MASK		"********"

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
	CONFIG_KEY_REPO_REQUIRED,
	/* high availability (config.h: DrHaConfig); first and last of them */
	CONFIG_KEY_HA_CLUSTER_NAME,
	CONFIG_KEY_HA_NODE_NAME,
	CONFIG_KEY_HA_FAILOVER,
	CONFIG_KEY_HA_CHECK_INTERVAL,
	CONFIG_KEY_HA_RETRY_TIMEOUT,
	CONFIG_KEY_HA_LEASE_TTL,
	CONFIG_KEY_HA_MAX_FAILOVER_LAG,
	CONFIG_KEY_HA_ETCD_ENDPOINTS,
	CONFIG_KEY_HA_WATCH_INTERVAL,
	CONFIG_KEY_HA_WATCH_HISTORY_INTERVAL,
	CONFIG_KEY_HA_WATCH_HISTORY_KEEP,
	CONFIG_KEY_HA_LAG_ALERT_BYTES,
	CONFIG_KEY_HA_LAG_ALERT_TIME,
	CONFIG_KEY_HA_SYNCHRONOUS,
	CONFIG_KEY_HA_WITNESS,
	CONFIG_KEY_HA_REGISTRY_CONNINFO,
	CONFIG_KEY_HA_START_COMMAND,
	CONFIG_KEY_ALERT_WEBHOOK_URL,
	CONFIG_KEY_ALERT_WEBHOOK_URL_WARNING,
	CONFIG_KEY_ALERT_WEBHOOK_URL_CRITICAL,
	CONFIG_KEY_ALERT_WEBHOOK_TIMEOUT,
	CONFIG_KEY_ALERT_ESCALATE_AFTER,
	CONFIG_KEY_COUNT
} ConfigKey;

#define CONFIG_KEY_HA_FIRST		CONFIG_KEY_HA_CLUSTER_NAME
#define CONFIG_KEY_HA_LAST		CONFIG_KEY_HA_START_COMMAND

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
	/* default: on for the first configured repository (configBuild) */
	[CONFIG_KEY_REPO_REQUIRED] = {.name = "required", .kind = CONFIG_KIND_BOOL},
	[CONFIG_KEY_HA_CLUSTER_NAME] = {.name = "ha_cluster_name", .kind = CONFIG_KIND_STRING},
	[CONFIG_KEY_HA_NODE_NAME] = {.name = "ha_node_name", .kind = CONFIG_KIND_STRING},
	[CONFIG_KEY_HA_FAILOVER] = {.name = "ha_failover", .kind = CONFIG_KIND_BOOL,
	.defaultValue = "off"},
	/* milliseconds */
	[CONFIG_KEY_HA_CHECK_INTERVAL] = {.name = "ha_check_interval", .kind = CONFIG_KIND_INT,
	.defaultValue = "1000", .min = 10, .max = 600000},
	[CONFIG_KEY_HA_RETRY_TIMEOUT] = {.name = "ha_retry_timeout", .kind = CONFIG_KIND_INT,
	.defaultValue = "2000", .min = 10, .max = 600000},
	[CONFIG_KEY_HA_LEASE_TTL] = {.name = "ha_lease_ttl", .kind = CONFIG_KIND_INT,
	.defaultValue = "5000", .min = 100, .max = 3600000},
	[CONFIG_KEY_HA_MAX_FAILOVER_LAG] = {.name = "ha_max_failover_lag",
	.kind = CONFIG_KIND_SIZE, .defaultValue = "16777216", .min = 0,
	.max = INT64CONST(1) << 40},
	[CONFIG_KEY_HA_ETCD_ENDPOINTS] = {.name = "ha_etcd_endpoints",
	.kind = CONFIG_KIND_STRING},
	/* the lag watcher (ha/ha_watch.h): milliseconds, seconds, rows */
	[CONFIG_KEY_HA_WATCH_INTERVAL] = {.name = "ha_watch_interval", .kind = CONFIG_KIND_INT,
	.defaultValue = "1000", .min = 100, .max = 600000},
	[CONFIG_KEY_HA_WATCH_HISTORY_INTERVAL] = {.name = "ha_watch_history_interval",
	.kind = CONFIG_KIND_INT, .defaultValue = "60", .min = 1, .max = 86400},
	[CONFIG_KEY_HA_WATCH_HISTORY_KEEP] = {.name = "ha_watch_history_keep",
	.kind = CONFIG_KIND_INT, .defaultValue = "100000", .min = 10, .max = 100000000},
	/* unset: ha_max_failover_lag; 0: no byte threshold */
	[CONFIG_KEY_HA_LAG_ALERT_BYTES] = {.name = "ha_lag_alert_bytes",
	.kind = CONFIG_KIND_SIZE, .min = 0, .max = INT64CONST(1) << 40},
	/* milliseconds; unset: the tier's RPO; 0: no time threshold */
	[CONFIG_KEY_HA_LAG_ALERT_TIME] = {.name = "ha_lag_alert_time", .kind = CONFIG_KIND_INT,
	.min = 0, .max = 7 * 24 * 3600 * 1000},
	/* unset: the tier decides (critical: on) */
	[CONFIG_KEY_HA_SYNCHRONOUS] = {.name = "ha_synchronous", .kind = CONFIG_KIND_BOOL},
	/* a node with no data of the cluster's that only votes */
	[CONFIG_KEY_HA_WITNESS] = {.name = "ha_witness", .kind = CONFIG_KIND_BOOL,
	.defaultValue = "off"},
	/* a libpq conninfo, which may hold a password: hidden when shown */
	[CONFIG_KEY_HA_REGISTRY_CONNINFO] = {.name = "ha_registry_conninfo",
	.kind = CONFIG_KIND_STRING, .secret = true},
	/* a shell command; %D: the data directory (dr_switchover, docs/ha.md) */
	[CONFIG_KEY_HA_START_COMMAND] = {.name = "ha_start_command",
	.kind = CONFIG_KIND_STRING},
	/* a webhook URL may carry a token: hidden in dr_config and pg_dr info */
	[CONFIG_KEY_ALERT_WEBHOOK_URL] = {.name = "alert_webhook_url",
	.kind = CONFIG_KIND_URL, .secret = true},
	[CONFIG_KEY_ALERT_WEBHOOK_URL_WARNING] = {.name = "alert_webhook_url_warning",
	.kind = CONFIG_KIND_URL, .secret = true},
	[CONFIG_KEY_ALERT_WEBHOOK_URL_CRITICAL] = {.name = "alert_webhook_url_critical",
	.kind = CONFIG_KIND_URL, .secret = true},
	[CONFIG_KEY_ALERT_WEBHOOK_TIMEOUT] = {.name = "alert_webhook_timeout",
	.kind = CONFIG_KIND_INT, .min = 1, .max = 300},
	[CONFIG_KEY_ALERT_ESCALATE_AFTER] = {.name = "alert_escalate_after",
	.kind = CONFIG_KIND_INT, .min = 1, .max = 7 * 24 * 3600},
};

static const bool configKeyPerRepo[CONFIG_KEY_COUNT] = {
	[CONFIG_KEY_REPO_TYPE] = true,
	[CONFIG_KEY_REPO_CIPHER_TYPE] = true,
	[CONFIG_KEY_REPO_CIPHER_KEY_FILE] = true,
	[CONFIG_KEY_REPO_RETENTION_FULL] = true,
	[CONFIG_KEY_REPO_RETENTION_FULL_DAYS] = true,
	[CONFIG_KEY_REPO_REQUIRED] = true,
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

struct ConfigCheck
{
	struct ConfigParser *parser;
	const ConfigRepo *repo;
};

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

bool
configKeyIsCommon(const char *key)
{
	for (int k = 0; k < CONFIG_KEY_COUNT; k++)
		if (configKeyPerRepo[k] && strcmp(configKeys[k].name, key) == 0)
			return true;
	return false;
}

bool
configGlobalKeyName(int n, int repo, char *buf, size_t size)
{
	if (n < 0 || n >= CONFIG_KEY_COUNT)
		return false;
	configKeyName(configKeys[n].name, configKeyPerRepo[n], repo, buf, size);
	return true;
}

void
configKeyName(const char *key, bool perRepo, int repo, char *buf, size_t size)
{
	if (perRepo)
		snprintf(buf, size, "repo%d_%s", repo, key);
	else
		strlcpy(buf, key, size);
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
		configKeySecret(def, name);
}

/*
 * repoN_type: one of the registered drivers, stored as the driver spells
 * its type.
 */
static bool
configTypeCheck(const char *name, char **value, ConfigProblem *problem)
{
	const ConfigDriver *driver = configDriverFind(*value);
	char		expected[256];

	problem->hint[0] = '\0';
	if (driver == NULL)
	{
		if (configDriverNth(0) == NULL)
			return configProblem(problem,
								 "invalid value \"%s\" for \"%s\": no repository type is registered in this program",
								 *value, name);
		configJoin(NULL, expected, sizeof(expected));
		return configProblemInvalid(problem, name, *value, false, expected);
	}
	pfree(*value);
	*value = pstrdup(driver->type);
	return true;
}

/*
 * Check a value on a line of the file (configValueCheck, or
 * configTypeCheck for repoN_type); *value is freed on failure.
 */
static bool
configLineValueCheck(ConfigParser *parser, int line, const ConfigKeyDef *def,
					 const char *name, char **value)
{
	ConfigProblem problem;
	bool		valid;

	if (def == &configKeys[CONFIG_KEY_REPO_TYPE])
		valid = configTypeCheck(name, value, &problem);
	else
		valid = configValueCheck(def, name, configValueHidden(def, name),
								 value, &problem);
	if (valid)
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
	item->secret = configKeySecret(def, name);
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
					configDriverNth(0) != NULL ? types : "posix");
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

	/* the first configured repository is required unless the file says */
	if (v[CONFIG_KEY_REPO_REQUIRED].value != NULL)
		repo->required = strcmp(v[CONFIG_KEY_REPO_REQUIRED].value, "on") == 0;
	else
		repo->required = config->repoCount == 0;

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
					  k == CONFIG_KEY_REPO_REQUIRED ?
					  (repo->required ? "on" : "off") :
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

static void
configHaFree(DrHaConfig *ha)
{
	if (ha->clusterName)
		pfree(ha->clusterName);
	if (ha->nodeName)
		pfree(ha->nodeName);
	if (ha->etcdEndpoints)
		pfree(ha->etcdEndpoints);
	if (ha->registryConninfo)
		pfree(ha->registryConninfo);
	if (ha->startCommand)
		pfree(ha->startCommand);
	memset(ha, 0, sizeof(*ha));
}

/*
 * The HA settings (DrHaConfig): none set, HA is not configured; any set,
 * ha_cluster_name and ha_node_name are required; ha_failover = on needs
 * nothing more (without etcd, the quorum of registered voting nodes is
 * the licence).  Patroni's rule between the timings is checked here: a
 * primary renews its lease every ha_check_interval, a renewal may take
 * up to ha_retry_timeout, and fencing one more, all before ha_lease_ttl
 * runs out (ha/ha_decide.c refuses to decide on settings that break it
 * and says the same).
 */
static bool
configHaBuild(ConfigParser *parser, DrHaConfig *ha)
{
	const ConfigValue *v = parser->values[0];
	int			lastLine = 0;
	int			ttlLine;

	memset(ha, 0, sizeof(*ha));
	for (int k = CONFIG_KEY_HA_FIRST; k <= CONFIG_KEY_HA_LAST; k++)
		if (v[k].value != NULL)
		{
			ha->configured = true;
			lastLine = Max(lastLine, v[k].line);
		}
	if (!ha->configured)
		return true;
	if (v[CONFIG_KEY_HA_CLUSTER_NAME].value == NULL ||
		v[CONFIG_KEY_HA_NODE_NAME].value == NULL)
	{
		configLineError(parser, lastLine,
						"high availability needs ha_cluster_name and ha_node_name");
		drErrorHint(parser->err, "name the cluster and this node in it, or remove the "
					"ha_* settings");
		return false;
	}
	ha->clusterName = pstrdup(v[CONFIG_KEY_HA_CLUSTER_NAME].value);
	ha->nodeName = pstrdup(v[CONFIG_KEY_HA_NODE_NAME].value);
	ha->failover = strcmp(configValueGet(parser, CONFIG_KEY_HA_FAILOVER, 0), "on") == 0;
	ha->checkIntervalMs = atoi(configValueGet(parser, CONFIG_KEY_HA_CHECK_INTERVAL, 0));
	ha->retryTimeoutMs = atoi(configValueGet(parser, CONFIG_KEY_HA_RETRY_TIMEOUT, 0));
	ha->leaseTtlMs = atoi(configValueGet(parser, CONFIG_KEY_HA_LEASE_TTL, 0));
	ha->maxFailoverLag = strtoll(configValueGet(parser, CONFIG_KEY_HA_MAX_FAILOVER_LAG, 0),
								 NULL, 10);
	ha->watchIntervalMs = atoi(configValueGet(parser, CONFIG_KEY_HA_WATCH_INTERVAL, 0));
	ha->watchHistoryIntervalS =
		atoi(configValueGet(parser, CONFIG_KEY_HA_WATCH_HISTORY_INTERVAL, 0));
	ha->watchHistoryKeep = atoi(configValueGet(parser, CONFIG_KEY_HA_WATCH_HISTORY_KEEP, 0));
	ha->lagAlertBytes = v[CONFIG_KEY_HA_LAG_ALERT_BYTES].value != NULL ?
		strtoll(v[CONFIG_KEY_HA_LAG_ALERT_BYTES].value, NULL, 10) : -1;
	ha->lagAlertTimeMs = v[CONFIG_KEY_HA_LAG_ALERT_TIME].value != NULL ?
		atoi(v[CONFIG_KEY_HA_LAG_ALERT_TIME].value) : -1;
	ha->synchronous = v[CONFIG_KEY_HA_SYNCHRONOUS].value == NULL ? -1 :
		strcmp(v[CONFIG_KEY_HA_SYNCHRONOUS].value, "on") == 0 ? 1 : 0;
	ha->witness = strcmp(configValueGet(parser, CONFIG_KEY_HA_WITNESS, 0), "on") == 0;
	if (v[CONFIG_KEY_HA_ETCD_ENDPOINTS].value != NULL)
	{
		const char *p = v[CONFIG_KEY_HA_ETCD_ENDPOINTS].value;

		/*
		 * Each a URL with a scheme and no user or password: the client
		 * (ha/etcd.c) speaks to etcd without authentication, and this
		 * value is shown in dr_config.
		 */
		while (*p)
		{
			size_t		len = strcspn(p, ",");
			char	   *one = pnstrdup(p, len);
			char	   *u = one + strspn(one, " \t");

			if ((strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) ||
				strchr(u, '@') != NULL)
			{
				char		shown[DR_ERROR_VALUE_BUF];

				/* a password is not repeated into dr_status.config_error */
				if (strchr(u, '@') != NULL)
					configLineError(parser, v[CONFIG_KEY_HA_ETCD_ENDPOINTS].line,
									"ha_etcd_endpoints: an endpoint names a user or password "
									"(not shown), and the etcd client does not authenticate");
				else
					configLineError(parser, v[CONFIG_KEY_HA_ETCD_ENDPOINTS].line,
									"ha_etcd_endpoints: \"%s\" is not an http:// or https:// URL",
									drErrorValue(u, shown));
				drErrorHint(parser->err, "give a comma-separated list such as "
							"http://10.0.0.1:2379,http://10.0.0.2:2379");
				pfree(one);
				configHaFree(ha);
				return false;
			}
			pfree(one);
			p += len;
			if (*p == ',')
				p++;
		}
		ha->etcdEndpoints = pstrdup(v[CONFIG_KEY_HA_ETCD_ENDPOINTS].value);
	}
	if (v[CONFIG_KEY_HA_REGISTRY_CONNINFO].value != NULL)
		ha->registryConninfo = pstrdup(v[CONFIG_KEY_HA_REGISTRY_CONNINFO].value);
	if (v[CONFIG_KEY_HA_START_COMMAND].value != NULL)
		ha->startCommand = pstrdup(v[CONFIG_KEY_HA_START_COMMAND].value);

	if ((int64) ha->checkIntervalMs + 2 * (int64) ha->retryTimeoutMs > ha->leaseTtlMs)
	{
		ttlLine = v[CONFIG_KEY_HA_LEASE_TTL].line;
		if (ttlLine == 0)
			ttlLine = lastLine;
		configLineError(parser, ttlLine,
						"ha_check_interval (%d ms) + 2 x ha_retry_timeout (%d ms) = %lld ms is "
						"more than ha_lease_ttl (%d ms): a primary could not renew its lease "
						"and fence itself before the lease runs out",
						ha->checkIntervalMs, ha->retryTimeoutMs,
						(long long) ha->checkIntervalMs + 2 * (long long) ha->retryTimeoutMs,
						ha->leaseTtlMs);
		drErrorHint(parser->err, "raise ha_lease_ttl to at least %lld ms, or lower "
					"ha_check_interval or ha_retry_timeout",
					(long long) ha->checkIntervalMs + 2 * (long long) ha->retryTimeoutMs);
		configHaFree(ha);
		return false;
	}
	/*
	 * etcd grants a lease in whole seconds (the HA worker rounds up): below a
	 * second the TTL asked for is not the one the key lives by.
	 */
	if (ha->etcdEndpoints != NULL && ha->leaseTtlMs < 1000)
	{
		ttlLine = v[CONFIG_KEY_HA_LEASE_TTL].line;
		if (ttlLine == 0)
			ttlLine = lastLine;
		configLineError(parser, ttlLine,
						"ha_lease_ttl (%d ms) is below a second, and etcd grants leases "
						"in whole seconds", ha->leaseTtlMs);
		drErrorHint(parser->err, "with ha_etcd_endpoints, set ha_lease_ttl to 1000 ms or "
					"more; below a second works only with the quorum of nodes (no etcd)");
		configHaFree(ha);
		return false;
	}
	return true;
}

/* A palloc'd copy of a value, or NULL. */
static char *
configValueCopy(const char *value)
{
	return value != NULL ? pstrdup(value) : NULL;
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
	if (!configHaBuild(parser, &config->ha))
	{
		configFree(config);
		return NULL;
	}
	config->alertWebhookUrl =
		configValueCopy(configValueGet(parser, CONFIG_KEY_ALERT_WEBHOOK_URL, 0));
	config->alertWebhookUrlWarning =
		configValueCopy(configValueGet(parser, CONFIG_KEY_ALERT_WEBHOOK_URL_WARNING, 0));
	config->alertWebhookUrlCritical =
		configValueCopy(configValueGet(parser, CONFIG_KEY_ALERT_WEBHOOK_URL_CRITICAL, 0));
	if (configValueGet(parser, CONFIG_KEY_ALERT_WEBHOOK_TIMEOUT, 0) != NULL)
		config->alertWebhookTimeoutS =
			atoi(configValueGet(parser, CONFIG_KEY_ALERT_WEBHOOK_TIMEOUT, 0));
	if (configValueGet(parser, CONFIG_KEY_ALERT_ESCALATE_AFTER, 0) != NULL)
		config->alertEscalateAfterS =
			atoi(configValueGet(parser, CONFIG_KEY_ALERT_ESCALATE_AFTER, 0));

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
		/* the HA settings are listed once HA is configured */
		if (k >= CONFIG_KEY_HA_FIRST && k <= CONFIG_KEY_HA_LAST && !config->ha.configured)
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

	/* WAL archiving succeeds once a segment is in the required ones */
	if (config->repoCount > 0)
	{
		bool		required = false;

		for (int n = 1; n <= CONFIG_REPO_MAX; n++)
			required |= config->repo[n].index != 0 && config->repo[n].required;
		if (!required)
		{
			configFileError(parser, "no repository is required: every repoN_required is off");
			drErrorHint(parser->err, "set repoN_required = on for at least one repository: WAL archiving succeeds once a segment is durable in every required repository");
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
	configHaFree(&config->ha);
	if (config->alertWebhookUrl)
		pfree(config->alertWebhookUrl);
	if (config->alertWebhookUrlWarning)
		pfree(config->alertWebhookUrlWarning);
	if (config->alertWebhookUrlCritical)
		pfree(config->alertWebhookUrlCritical);
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

const ConfigRepo *
configRepoFirstRequired(const DrConfig *config, DrError *err)
{
	for (int n = 1; n <= CONFIG_REPO_MAX; n++)
	{
		if (config->repo[n].index != 0 && config->repo[n].required)
			return &config->repo[n];
	}
	return configRepoFirst(config, err);
}
