/*-------------------------------------------------------------------------
 * config_hint.c
 *	  What a configuration error suggests: the valid name closest to a
 *	  mistyped one ("did you mean"), a driver's keys, every valid name.
 *	  The parser (config.c) calls these when it reports a name it does not
 *	  know.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <limits.h>

#include "common/config_internal.h"

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
bool
configSuggest(const char *name, const ConfigDriver *driver, char *buf,
			  size_t size)
{
	int			repo = 1;
	int			bestDistance = INT_MAX;
	char		candidate[CONFIG_KEY_NAME_MAX + 16];

	if (strncmp(name, "repo", 4) == 0 && name[4] >= '1' &&
		name[4] <= '0' + CONFIG_REPO_MAX)
		repo = name[4] - '0';

	for (int k = 0; configGlobalKeyName(k, repo, candidate, sizeof(candidate)); k++)
		configSuggestTry(name, candidate, &bestDistance, buf, size);
	for (int i = 0; configDriverNth(i) != NULL; i++)
	{
		const ConfigDriver *d = configDriverNth(i);

		if (driver != NULL && d != driver)
			continue;
		for (int k = 0; k < d->keyCount; k++)
		{
			configKeyName(d->keys[k].name, true, repo,
						  candidate, sizeof(candidate));
			configSuggestTry(name, candidate, &bestDistance, buf, size);
		}
	}
	return bestDistance != INT_MAX;
}

/* The keys of driver, "repoN_a, repoN_b", for a hint. */
void
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
void
configValidNamesHint(DrError *err)
{
	char		drivers[200] = "";

	for (int i = 0; configDriverNth(i) != NULL; i++)
	{
		char		keys[160];

		configDriverKeyList(configDriverNth(i), 0, keys, sizeof(keys));
		if (i > 0)
			strlcat(drivers, "; ", sizeof(drivers));
		strlcat(drivers, configDriverNth(i)->type, sizeof(drivers));
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
