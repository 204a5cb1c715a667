/*-------------------------------------------------------------------------
 * config_value.c
 *	  The values of configuration settings (see config.h): the registry of
 *	  storage drivers' settings, the check of a value by the kind of its
 *	  key, and a repository's driver settings (configRepoGet/Set/Copy/...).
 *
 * The parser (config.c) reads the file and routes each value to the key
 * that describes it; what a valid value of a kind is, and its canonical
 * form, is decided here, for the file and for configRepoSet alike.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "common/config_internal.h"

/* Registered storage drivers (configDriverRegister), few by nature. */
#define CONFIG_DRIVER_MAX		8

static const ConfigDriver *configDrivers[CONFIG_DRIVER_MAX];
static int	configDriverCount = 0;

bool
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
	for (int k = 0; k < driver->keyCount; k++)
	{
		/* a common key would never reach the driver */
		Assert(strlen(driver->keys[k].name) <= CONFIG_KEY_NAME_MAX &&
			   !configKeyIsCommon(driver->keys[k].name));
	}
	if (configDriverCount < CONFIG_DRIVER_MAX)
		configDrivers[configDriverCount++] = driver;
}

const ConfigDriver *
configDriverNth(int n)
{
	return n >= 0 && n < configDriverCount ? configDrivers[n] : NULL;
}

const ConfigDriver *
configDriverFind(const char *type)
{
	for (int i = 0; i < configDriverCount; i++)
		if (pg_strcasecmp(configDrivers[i]->type, type) == 0)
			return configDrivers[i];
	return NULL;
}

const ConfigKeyDef *
configDriverKey(const ConfigDriver *driver, const char *key)
{
	for (int k = 0; k < driver->keyCount; k++)
		if (strcmp(driver->keys[k].name, key) == 0)
			return &driver->keys[k];
	return NULL;
}

const ConfigDriver *
configDriverDeclaring(const char *key, const ConfigDriver *except)
{
	for (int i = 0; i < configDriverCount; i++)
		if (configDrivers[i] != except &&
			configDriverKey(configDrivers[i], key) != NULL)
			return configDrivers[i];
	return NULL;
}

void
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

/* "invalid value "v" for "name"", or without the value when hidden. */
bool
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
configPathCheck(const char *name, bool hidden, char *value,
				ConfigProblem *problem)
{
	size_t		len = strlen(value);

	if (value[0] != '/')
	{
		if (hidden)
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
 * An http:// or https:// URL with a host, nothing that is not printable
 * ASCII and no white space.  The value is never quoted in the message: a
 * URL may carry a token.
 */
static bool
configUrlCheck(const char *name, const char *v, ConfigProblem *problem)
{
	size_t		scheme;
	const char *host;

	if (pg_strncasecmp(v, "https://", 8) == 0)
		scheme = 8;
	else if (pg_strncasecmp(v, "http://", 7) == 0)
		scheme = 7;
	else
	{
		configProblem(problem, "\"%s\" must be an http:// or https:// URL", name);
		snprintf(problem->hint, sizeof(problem->hint),
				 "write it as http://host[:port]/path or https://host[:port]/path");
		return false;
	}
	for (const char *c = v; *c != '\0'; c++)
	{
		if ((unsigned char) *c <= ' ' || (unsigned char) *c >= 0x7f)
		{
			configProblem(problem, "\"%s\" must not contain white space or control characters", name);
			snprintf(problem->hint, sizeof(problem->hint),
					 "percent-encode them (%%20 for a space)");
			return false;
		}
	}
	host = v + scheme;
	/* userinfo is allowed; the host after it must not be empty */
	if (strchr(host, '@') != NULL &&
		(strchr(host, '/') == NULL || strchr(host, '@') < strchr(host, '/')))
		host = strchr(host, '@') + 1;
	if (*host == '\0' || *host == '/' || *host == ':' || *host == '?' ||
		*host == '#')
		return configProblem(problem, "\"%s\" names no host", name);
	return true;
}

bool
configValueCheck(const ConfigKeyDef *def, const char *name, bool hidden,
				 char **value, ConfigProblem *problem)
{
	char	   *v = *value;
	char		expected[256];

	problem->hint[0] = '\0';
	switch (def->kind)
	{
		case CONFIG_KIND_STRING:
		case CONFIG_KIND_SECRET:
			if (v[0] == '\0')
				return configProblem(problem, "\"%s\" must not be empty", name);
			return true;
		case CONFIG_KIND_PATH:
			return configPathCheck(name, hidden, v, problem);
		case CONFIG_KIND_URL:
			return configUrlCheck(name, v, problem);
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

void
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
			valid = configValueCheck(def, def->name, configKeySecret(def, def->name),
									 &setting->value, &problem);
			Assert(valid);
		}
	}
}

const ConfigSetting *
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
	if (!configValueCheck(def, name, configKeySecret(def, name), &v, &problem))
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

bool
configKeySecret(const ConfigKeyDef *def, const char *name)
{
	return (def != NULL && (def->secret || def->kind == CONFIG_KIND_SECRET)) ||
		configNameIsSecret(name);
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
