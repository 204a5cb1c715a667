/*-------------------------------------------------------------------------
 * repo_fallback.c
 *	  Reading from several repositories: the order, when to go on with the
 *	  next repository, the warning, and the set of open repositories
 *	  (repo_fallback.h).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "repo/repo_backup.h"
#include "repo/repo_fallback.h"

int
repoReadOrder(const DrConfig *config, int forced, int *numbers)
{
	int			count = 0;

	if (forced != 0)
	{
		if (forced < 1 || forced > CONFIG_REPO_MAX ||
			config->repo[forced].index == 0)
			return 0;
		numbers[0] = forced;
		return 1;
	}
	for (int i = 1; i <= CONFIG_REPO_MAX; i++)
		if (config->repo[i].index != 0)
			numbers[count++] = i;
	return count;
}

bool
repoForcedCheck(const DrConfig *config, int forced, DrError *err)
{
	int			numbers[CONFIG_REPO_MAX];
	int			count = repoReadOrder(config, 0, numbers);
	char		list[64] = "";

	if (forced >= 1 && forced <= CONFIG_REPO_MAX &&
		config->repo[forced].index != 0)
		return true;
	for (int i = 0; i < count; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%d",
				 i == 0 ? "" : i == count - 1 ? " and " : ", ", numbers[i]);
	if (count == 0)
		drErrorSet(err, DR_ERR_INVALID,
				   "repository %d is not configured: \"%s\" configures no repository",
				   forced, config->path);
	else
		drErrorSet(err, DR_ERR_INVALID,
				   "repository %d is not configured: \"%s\" configures %s %s",
				   forced, config->path,
				   count == 1 ? "repository" : "repositories", list);
	drErrorHint(err, "Name a configured repository, or none to read the first one with a good copy.");
	return false;
}

bool
repoReadFallsBack(const DrError *err)
{
	switch (err->code)
	{
		case DR_ERR_NOT_FOUND:
		case DR_ERR_CORRUPT:
		case DR_ERR_KEY:
		case DR_ERR_IO:
			return true;
		default:
			return false;
	}
}

RepoReadOutcome
repoReadDecide(const RepoReadOutcome *outcomes, int count, int *used)
{
	bool		failed = false;

	*used = -1;
	for (int i = 0; i < count; i++)
	{
		if (outcomes[i] == REPO_READ_OK)
		{
			*used = i;
			return REPO_READ_OK;
		}
		if (outcomes[i] == REPO_READ_FAILED)
			failed = true;
	}
	return failed ? REPO_READ_FAILED : REPO_READ_MISSING;
}

char *
repoFallbackMessage(int failed, const char *object, const DrError *err,
					const char *what, int used)
{
	const char *sep = object != NULL ? ": " : "";

	if (object == NULL)
		object = "";
	if (used == 0)
		return psprintf("repository %d: %s%s%s", failed, object, sep,
						err->message);
	return psprintf("repository %d: %s%s%s; %s from repository %d instead",
					failed, object, sep, err->message, what, used);
}

bool
repoReadSetOpen(const DrConfig *config, int forced, const DrHost *host,
				RepoReadSet *set, DrError *err)
{
	int			numbers[CONFIG_REPO_MAX];
	int			count = repoReadOrder(config, forced, numbers);
	DrError		first;
	int			firstNumber = 0;

	memset(set, 0, sizeof(*set));
	set->forced = forced != 0;
	if (count == 0)
	{
		if (forced != 0)
		{
			drErrorSet(err, DR_ERR_CONFIG,
					   "repository %d is not configured in \"%s\"",
					   forced, config->path);
			drErrorHint(err, "Set repo%d_type and the repository's location in the configuration file.",
						forced);
			return false;
		}
		return drErrorSet(err, DR_ERR_CONFIG,
						  "no repository is configured in \"%s\"", config->path);
	}
	drErrorClear(&first);
	for (int i = 0; i < count; i++)
	{
		DrError		e;
		Repo	   *repo;

		drErrorClear(&e);
		repo = repoOpen(&config->repo[numbers[i]], &e);
		if (repo != NULL)
		{
			if (firstNumber != 0)
			{
				char	   *msg = repoFallbackMessage(firstNumber, "opening the repository",
													  &first, "reading", numbers[i]);

				hostWarning(host, msg);
				pfree(msg);
				firstNumber = -1;	/* said once */
			}
			set->numbers[set->count] = numbers[i];
			set->repos[set->count] = repo;
			set->count++;
			continue;
		}
		if (firstNumber == 0)
		{
			first = e;
			firstNumber = numbers[i];
			/* a configuration or internal error is no missing copy */
			if (!repoReadFallsBack(&e))
				break;
		}
		else if (set->count > 0)
		{
			char	   *msg = psprintf("repository %d cannot be opened and is not read: %s",
									   numbers[i], e.message);

			hostWarning(host, msg);
			pfree(msg);
		}
	}
	if (set->count == 0 || (firstNumber > 0 && !repoReadFallsBack(&first)))
	{
		repoReadSetClose(set);
		*err = first;
		return false;
	}
	return true;
}

void
repoReadSetClose(RepoReadSet *set)
{
	for (int i = 0; i < set->count; i++)
		repoClose(set->repos[i]);
	set->count = 0;
}

int
repoReadSetFind(const RepoReadSet *set, int number)
{
	for (int i = 0; i < set->count; i++)
		if (set->numbers[i] == number)
			return i;
	return -1;
}

char *
repoReadSetLatest(const RepoReadSet *set)
{
	char	   *newest = NULL;

	for (int i = 0; i < set->count; i++)
	{
		DrError		err;
		char	   *id;

		drErrorClear(&err);
		id = repoBackupLatest(set->repos[i], &err);
		if (id == NULL)
			continue;
		/* backup ids begin with their start time: newer sorts later */
		if (newest == NULL || strcmp(id, newest) > 0)
		{
			if (newest)
				pfree(newest);
			newest = id;
		}
		else
			pfree(id);
	}
	return newest;
}
