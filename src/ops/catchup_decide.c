/*-------------------------------------------------------------------------
 * catchup_decide.c
 *	  The catch-up duty's decisions (see catchup_decide.h).  Pure: every
 *	  input is an argument, so the rules are unit tested without a server.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "ops/catchup_decide.h"

bool
catchupIsSegment(const char *name)
{
	int			i;

	for (i = 0; name[i] != '\0'; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
			  (name[i] >= 'A' && name[i] <= 'F')))
			return false;
	return i == 24;
}

int
catchupMissing(const CatchupList *const *lists, int target, uint32 segSize,
			   const char *floor, CatchupMissing *out, int max,
			   CatchupLag *lag)
{
	int			pos[CONFIG_REPO_MAX + 1] = {0};
	const CatchupList *mine;
	int			minePos = 0;
	int			written = 0;

	lag->count = 0;
	lag->bytes = 0;
	if (target < 1 || target > CONFIG_REPO_MAX || lists[target] == NULL)
		return 0;
	mine = lists[target];

	/* a k-way merge of the other listings, in name order */
	for (;;)
	{
		const char *name = NULL;
		uint64		size = 0;
		uint32		sources = 0;
		int			cmp = 1;

		for (int n = 1; n <= CONFIG_REPO_MAX; n++)
		{
			const CatchupList *list = lists[n];
			int			c;

			if (n == target || list == NULL || pos[n] >= list->count)
				continue;
			c = name == NULL ? -1 : strcmp(list->names[pos[n]], name);
			if (c < 0)
			{
				name = list->names[pos[n]];
				size = list->sizes ? list->sizes[pos[n]] : 0;
				sources = 0;
			}
			if (c <= 0)
				sources |= (uint32) 1 << n;
		}
		if (name == NULL)
			break;
		for (int n = 1; n <= CONFIG_REPO_MAX; n++)
			if (sources & ((uint32) 1 << n))
				pos[n]++;

		/* does the target hold it? its listing is in the same order */
		while (minePos < mine->count &&
			   (cmp = strcmp(mine->names[minePos], name)) < 0)
			minePos++;
		if (minePos < mine->count && cmp == 0)
			continue;
		/* below the target's own horizon: not missed */
		if (floor != NULL && strcmp(name, floor) < 0 &&
			strstr(name, ".history") == NULL)
			continue;

		lag->count++;
		lag->bytes += catchupIsSegment(name) && segSize > 0 ?
			(int64) segSize : (int64) size;
		if (written < max)
		{
			out[written].name = name;
			out[written].size = size;
			out[written].sources = sources;
			written++;
		}
	}
	return written;
}

int
catchupSourceOrder(uint32 sources, const bool *required, int target,
				   int *order)
{
	int			count = 0;

	for (int pass = 0; pass < 2; pass++)
		for (int n = 1; n <= CONFIG_REPO_MAX; n++)
			if (n != target && (sources & ((uint32) 1 << n)) &&
				required[n] == (pass == 0))
				order[count++] = n;
	return count;
}

const char *
catchupNewestSegment(const CatchupList *list)
{
	if (list == NULL)
		return NULL;
	for (int i = list->count - 1; i >= 0; i--)
		if (catchupIsSegment(list->names[i]))
			return list->names[i];
	return NULL;
}
