/*-------------------------------------------------------------------------
 * repo_info.c
 *	  The repository info file, pg_dr.repo: "name = value" lines, '#'
 *	  comments.
 *
 *	 format          REPO_FORMAT
 *	 cipher          aes-256-gcm | none
 *	 kdf             pbkdf2-sha256           (encrypted repositories only)
 *	 kdf_iterations  PBKDF2 iterations       (encrypted repositories only)
 *	 kdf_salt        32 hex digits           (encrypted repositories only)
 *	 kek_id          16 hex digits           (encrypted repositories only)
 *	 created         ISO 8601 UTC
 *	 id              32 hex digits, random: the repository's identity
 *	                 (repo_origin.h); optional when reading, a repository
 *	                 made before it existed is known by "created"
 *
 * The reader is strict: this file decides which passphrase opens the
 * repository, so anything unexpected in it (an unknown or repeated name, a
 * malformed value, KDF fields in an unencrypted repository) is reported as
 * corruption rather than guessed around.  The format is checked before the
 * names, so that a file from a newer pg_dr says "unsupported format"
 * rather than "unknown name".
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <time.h>

#include "common/hex.h"
#include "repo/repo_internal.h"

typedef enum RepoInfoField
{
	REPO_INFO_FORMAT,
	REPO_INFO_CIPHER,
	REPO_INFO_KDF,
	REPO_INFO_KDF_ITERATIONS,
	REPO_INFO_KDF_SALT,
	REPO_INFO_KEK_ID,
	REPO_INFO_CREATED,
	REPO_INFO_ID,
	REPO_INFO_FIELD_COUNT
} RepoInfoField;

static const char *const repoInfoNames[REPO_INFO_FIELD_COUNT] = {
	[REPO_INFO_FORMAT] = "format",
	[REPO_INFO_CIPHER] = "cipher",
	[REPO_INFO_KDF] = "kdf",
	[REPO_INFO_KDF_ITERATIONS] = "kdf_iterations",
	[REPO_INFO_KDF_SALT] = "kdf_salt",
	[REPO_INFO_KEK_ID] = "kek_id",
	[REPO_INFO_CREATED] = "created",
	[REPO_INFO_ID] = "id",
};

static char *repoInfoFormatFields(const RepoInfo *info);

char *
repoInfoNow(void)
{
	time_t		now = time(NULL);
	struct tm	tm;
	char		buf[32];

	gmtime_r(&now, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return pstrdup(buf);
}

char *
repoInfoFormat(const RepoInfo *info)
{
	char	   *text;
	char	   *withId;
	char		id[2 * REPO_ID_SIZE + 1];

	text = repoInfoFormatFields(info);
	if (!info->hasId)
		return text;
	hexEncode(info->id, REPO_ID_SIZE, HEX_LOWER, id);
	withId = psprintf("%sid = %s\n", text, id);
	pfree(text);
	return withId;
}

/* Every field but the identity. */
static char *
repoInfoFormatFields(const RepoInfo *info)
{
	if (info->cipher == CONFIG_CIPHER_AES256GCM)
	{
		char		salt[2 * KEY_SALT_SIZE + 1];
		char		kekId[2 * KEY_KEK_ID_SIZE + 1];

		hexEncode(info->kdfSalt, KEY_SALT_SIZE, HEX_LOWER, salt);
		hexEncode(info->kekId, KEY_KEK_ID_SIZE, HEX_LOWER, kekId);
		return psprintf("# pg_dr repository: written by repo-create, replaced only by repo-key-rotate\n"
						"format = %d\n"
						"cipher = aes-256-gcm\n"
						"kdf = " REPO_KDF_NAME "\n"
						"kdf_iterations = %u\n"
						"kdf_salt = %s\n"
						"kek_id = %s\n"
						"created = %s\n",
						info->format, info->kdfIterations, salt, kekId,
						info->created);
	}
	return psprintf("# pg_dr repository: written by repo-create\n"
					"format = %d\n"
					"cipher = none\n"
					"created = %s\n",
					info->format, info->created);
}

/* A non-empty decimal number without sign or blanks, below 2^31. */
static bool
repoInfoNumber(const char *s, uint32 *value)
{
	uint64		v = 0;

	if (*s == '\0' || strlen(s) > 10)
		return false;
	for (; *s; s++)
	{
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (*s - '0');
	}
	if (v > PG_INT32_MAX)
		return false;
	*value = (uint32) v;
	return true;
}

/* "YYYY-MM-DDTHH:MM:SSZ", digits where digits belong. */
static bool
repoInfoTimestamp(const char *s)
{
	static const char pattern[] = "dddd-dd-ddTdd:dd:ddZ";

	if (strlen(s) != sizeof(pattern) - 1)
		return false;
	for (int i = 0; pattern[i]; i++)
	{
		if (pattern[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pattern[i])
			return false;
	}
	return true;
}

static bool repoInfoCorrupt(DrError *err, const char *where, const char *fmt,...) pg_attribute_printf(3, 4);

static bool
repoInfoCorrupt(DrError *err, const char *where, const char *fmt,...)
{
	char		detail[512];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	drErrorSet(err, DR_ERR_CORRUPT, "repository info file \"%s\" is corrupt: %s",
			   where, detail);
	drErrorHint(err, "the file is written only by pg_dr repo-create and repo-key-rotate; restore it from a copy");
	return false;
}

/* Split one line into name and value, both trimmed, in place. */
static bool
repoInfoSplit(char *line, char **name, char **value)
{
	char	   *eq = strchr(line, '=');
	char	   *end;

	if (eq == NULL)
		return false;
	*eq = '\0';
	*name = line;
	*value = eq + 1;
	while (**name == ' ' || **name == '\t')
		(*name)++;
	for (end = eq; end > *name && (end[-1] == ' ' || end[-1] == '\t'); end--)
		end[-1] = '\0';
	while (**value == ' ' || **value == '\t')
		(*value)++;
	end = *value + strlen(*value);
	while (end > *value && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return **name != '\0';
}

bool
repoInfoParse(const char *text, size_t len, const char *where, RepoInfo *info,
			  DrError *err)
{
	char	   *copy;
	char	   *line;
	char	   *next;
	char	   *values[REPO_INFO_FIELD_COUNT] = {0};
	int			lineNo = 0;
	int			unknownLine = 0;
	char	   *unknownName = NULL;
	uint32		format;
	bool		encrypted;
	bool		result = false;

	memset(info, 0, sizeof(*info));
	if (memchr(text, '\0', len) != NULL)
		return repoInfoCorrupt(err, where, "it contains a NUL byte");

	copy = pnstrdup(text, len);
	for (line = copy; line != NULL; line = next)
	{
		char	   *name;
		char	   *value;
		int			field;

		lineNo++;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		while (*line == ' ' || *line == '\t')
			line++;
		if (*line == '\0' || *line == '#' || strcmp(line, "\r") == 0)
			continue;
		if (!repoInfoSplit(line, &name, &value))
		{
			repoInfoCorrupt(err, where, "line %d is not \"name = value\"", lineNo);
			goto done;
		}
		for (field = 0; field < REPO_INFO_FIELD_COUNT; field++)
			if (strcmp(name, repoInfoNames[field]) == 0)
				break;
		if (field == REPO_INFO_FIELD_COUNT)
		{
			/* reported after the format check, see the file header */
			if (unknownName == NULL)
			{
				unknownName = name;
				unknownLine = lineNo;
			}
			continue;
		}
		if (values[field] != NULL)
		{
			repoInfoCorrupt(err, where, "line %d: \"%s\" is set twice", lineNo,
							name);
			goto done;
		}
		values[field] = value;
	}

	if (values[REPO_INFO_FORMAT] == NULL)
	{
		repoInfoCorrupt(err, where, "\"format\" is missing");
		goto done;
	}
	if (!repoInfoNumber(values[REPO_INFO_FORMAT], &format))
	{
		repoInfoCorrupt(err, where, "invalid format \"%s\"",
						values[REPO_INFO_FORMAT]);
		goto done;
	}
	if (format != REPO_FORMAT)
	{
		drErrorSet(err, DR_ERR_CORRUPT,
				   "repository info file \"%s\" has format %u, but this version of pg_dr reads only format %d",
				   where, format, REPO_FORMAT);
		drErrorHint(err, "use the version of pg_dr that created the repository");
		goto done;
	}
	if (unknownName != NULL)
	{
		repoInfoCorrupt(err, where, "line %d: unknown name \"%s\"", unknownLine,
						unknownName);
		goto done;
	}
	info->format = (int) format;

	if (values[REPO_INFO_CIPHER] == NULL)
	{
		repoInfoCorrupt(err, where, "\"cipher\" is missing");
		goto done;
	}
	if (strcmp(values[REPO_INFO_CIPHER], "aes-256-gcm") == 0)
		info->cipher = CONFIG_CIPHER_AES256GCM;
	else if (strcmp(values[REPO_INFO_CIPHER], "none") == 0)
		info->cipher = CONFIG_CIPHER_NONE;
	else
	{
		repoInfoCorrupt(err, where, "unknown cipher \"%s\"",
						values[REPO_INFO_CIPHER]);
		goto done;
	}
	encrypted = info->cipher == CONFIG_CIPHER_AES256GCM;

	for (int field = REPO_INFO_KDF; field <= REPO_INFO_KEK_ID; field++)
	{
		/* key fields beside "cipher = none" would mean an edited file */
		if (encrypted != (values[field] != NULL))
		{
			repoInfoCorrupt(err, where, encrypted ? "\"%s\" is missing" :
							"\"%s\" is set but the repository is not encrypted",
							repoInfoNames[field]);
			goto done;
		}
	}
	if (encrypted)
	{
		if (strcmp(values[REPO_INFO_KDF], REPO_KDF_NAME) != 0)
		{
			repoInfoCorrupt(err, where, "unknown kdf \"%s\"", values[REPO_INFO_KDF]);
			goto done;
		}
		if (!repoInfoNumber(values[REPO_INFO_KDF_ITERATIONS], &info->kdfIterations) ||
			info->kdfIterations == 0)
		{
			repoInfoCorrupt(err, where, "invalid kdf_iterations \"%s\"",
							values[REPO_INFO_KDF_ITERATIONS]);
			goto done;
		}
		if (!hexDecode(values[REPO_INFO_KDF_SALT], HEX_LOWER, info->kdfSalt, KEY_SALT_SIZE))
		{
			repoInfoCorrupt(err, where, "invalid kdf_salt \"%s\"",
							values[REPO_INFO_KDF_SALT]);
			goto done;
		}
		if (!hexDecode(values[REPO_INFO_KEK_ID], HEX_LOWER, info->kekId, KEY_KEK_ID_SIZE))
		{
			repoInfoCorrupt(err, where, "invalid kek_id \"%s\"",
							values[REPO_INFO_KEK_ID]);
			goto done;
		}
	}

	if (values[REPO_INFO_CREATED] == NULL)
	{
		repoInfoCorrupt(err, where, "\"created\" is missing");
		goto done;
	}
	if (!repoInfoTimestamp(values[REPO_INFO_CREATED]))
	{
		repoInfoCorrupt(err, where, "invalid created \"%s\"",
						values[REPO_INFO_CREATED]);
		goto done;
	}
	if (values[REPO_INFO_ID] != NULL)
	{
		if (!hexDecode(values[REPO_INFO_ID], HEX_LOWER, info->id, REPO_ID_SIZE))
		{
			repoInfoCorrupt(err, where, "invalid id \"%s\"",
							values[REPO_INFO_ID]);
			goto done;
		}
		info->hasId = true;
	}
	info->created = pstrdup(values[REPO_INFO_CREATED]);
	result = true;

done:
	pfree(copy);
	return result;
}
