/*-------------------------------------------------------------------------
 * repo_probe.c
 *	  Write, read back and remove a probe object under "check/"
 *	  (repo_probe.h).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <unistd.h>

#include "common/hex.h"
#include "common/keys.h"
#include "repo/repo_probe.h"

/* The bytes of random suffix in a probe's name. */
#define REPO_PROBE_NAME_RANDOM	8

/* Read the probe back and compare it with what was written. */
static bool
repoProbeReadBack(Storage *storage, const char *path, const uint8 *content,
				  DrError *err)
{
	char	   *got;
	size_t		len;
	bool		same;

	got = storageGet(storage, path, &len, REPO_PROBE_SIZE, err);
	if (got == NULL)
	{
		drErrorPrefix(err, "could not read the probe back: ");
		return false;
	}
	same = len == REPO_PROBE_SIZE && memcmp(got, content, len) == 0;
	pfree(got);
	if (!same)
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "probe object \"%s\" read back differs from what was written (%zu bytes read, %d written)",
						  path, len, REPO_PROBE_SIZE);
	return true;
}

bool
repoProbe(Repo *repo, DrError *err)
{
	Storage    *storage = repoStorage(repo);
	StorageWriteParam param = {0};
	uint8		content[REPO_PROBE_SIZE];
	uint8		random[REPO_PROBE_NAME_RANDOM];
	char		suffix[REPO_PROBE_NAME_RANDOM * 2 + 1];
	char	   *path;
	DrError		removeErr;
	bool		ok;

	if (!keyRandom(random, sizeof(random), err) ||
		!keyRandom(content, sizeof(content), err))
		return false;
	hexEncode(random, sizeof(random), HEX_LOWER, suffix);
	path = psprintf(REPO_PROBE_DIR "/probe.%d.%s", (int) getpid(), suffix);

	if (!storagePut(storage, path, content, sizeof(content), &param, err))
	{
		/* a failed write leaves nothing visible (storage.h) */
		drErrorPrefix(err, "could not write the probe: ");
		pfree(path);
		return false;
	}

	ok = repoProbeReadBack(storage, path, content, err);

	/* removed whatever the read found: no probe stays behind */
	drErrorClear(&removeErr);
	if (!storageRemove(storage, path, &removeErr))
	{
		if (ok)
		{
			*err = removeErr;
			drErrorPrefix(err, "could not remove the probe \"%s/%s\" (remove it by hand): ",
						  repoConfig(repo)->path, path);
		}
		else
			drErrorHint(err, "the probe \"%s/%s\" could not be removed either (%s): remove it by hand",
						repoConfig(repo)->path, path, removeErr.message);
		ok = false;
	}
	else
	{
		/*
		 * Another check's probe may be in the directory meanwhile: then it
		 * stays, and that check removes it.  Not an error either way.
		 */
		drErrorClear(&removeErr);
		(void) storageRemoveDir(storage, REPO_PROBE_DIR, &removeErr);
	}
	pfree(path);
	return ok;
}
