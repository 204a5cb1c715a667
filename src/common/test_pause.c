/*-------------------------------------------------------------------------
 * test_pause.c
 *	  Pause points for TAP tests (see test_pause.h; test only).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/test_pause.h"

void
drTestPause(const char *point)
{
	const char *dir = getenv(TEST_PAUSE_ENV);
	char	   *arm;
	char	   *paused;
	struct stat st;
	int			fd;

	if (dir == NULL || dir[0] == '\0')
		return;
	arm = psprintf("%s/%s.arm", dir, point);
	paused = psprintf("%s/%s.paused", dir, point);
	if (unlink(arm) == 0)
	{
		fd = open(paused, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0)
		{
			close(fd);
			for (int i = 0; i < TEST_PAUSE_MAX_S * 20 && stat(paused, &st) == 0; i++)
				pg_usleep(50000L);
		}
	}
	pfree(arm);
	pfree(paused);
}
