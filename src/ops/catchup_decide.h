/*-------------------------------------------------------------------------
 * catchup_decide.h
 *	  The catch-up duty's decisions (ops/catchup.c), as pure functions:
 *	  what a repository misses of what the other repositories hold, how far
 *	  behind that puts it, and in which order the repositories that hold an
 *	  object are tried as its source.  Compiled into the CLI build too, for
 *	  the unit tests (test/unit/test_catchup.c).
 *
 * A listing is what one repository holds of one kind (the archived WAL
 * files, or the backups): names strictly ascending by strcmp, each with a
 * size (the object's stored size; 0 when unknown).  A repository whose
 * listing is not known (it could never be listed) is given as NULL: it
 * neither misses nor offers anything.
 *-------------------------------------------------------------------------
 */
#ifndef DR_CATCHUP_DECIDE_H
#define DR_CATCHUP_DECIDE_H

#include "common/config.h"

typedef struct CatchupList
{
	int			count;
	char	  **names;			/* ascending, no duplicates */
	uint64	   *sizes;			/* NULL: all unknown */
} CatchupList;

/* One object a repository misses. */
typedef struct CatchupMissing
{
	const char *name;			/* points into the source listing */
	uint64		size;
	uint32		sources;		/* bit n set: repoN holds it */
} CatchupMissing;

/* How far behind: the objects missing and their bytes. */
typedef struct CatchupLag
{
	int64		count;
	int64		bytes;
} CatchupLag;

/*
 * What lists[target] misses of the union of the other lists (lists has
 * CONFIG_REPO_MAX + 1 entries, [0] unused, NULL for a repository not
 * known or not configured), in name order.  The first max of them go to
 * out (max may be 0); *lag counts all of them.  A name of a WAL segment
 * (24 hexadecimal digits) counts segSize bytes; anything else its size.
 * Returns how many were written to out; 0 when lists[target] is NULL.
 *
 * floor (NULL: none): names that sort before it are not missed -- what the
 * target's own retention removed, or never needs: backups older than its
 * oldest backup, WAL before that backup's start segment.  Timeline
 * history files ("<tli>.history") are missed whatever the floor.
 */
extern int	catchupMissing(const CatchupList *const *lists, int target,
						   uint32 segSize, const char *floor,
						   CatchupMissing *out, int max, CatchupLag *lag);

/*
 * The repositories of the sources bitmask in the order to try them: the
 * required ones first, then the others, each group by number; never
 * target.  required has CONFIG_REPO_MAX + 1 entries.  Returns how many
 * were written to order (at most CONFIG_REPO_MAX).
 */
extern int	catchupSourceOrder(uint32 sources, const bool *required,
							   int target, int *order);

/*
 * The newest WAL segment of a listing of archived WAL files: the greatest
 * name of 24 hexadecimal digits, or NULL when it has none.  Timelines
 * sort first in a segment's name, so a newer timeline's segment wins.
 */
extern const char *catchupNewestSegment(const CatchupList *list);

/* Whether name is a WAL segment's (24 upper-case hexadecimal digits). */
extern bool catchupIsSegment(const char *name);

#endif							/* DR_CATCHUP_DECIDE_H */
