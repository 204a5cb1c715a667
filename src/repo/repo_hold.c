/*-------------------------------------------------------------------------
 * repo_hold.c
 *	  Legal hold objects (repo_hold.h).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "common/manifest.h"
#include "repo/repo_backup.h"
#include "repo/repo_hold.h"
#include "storage/storage.h"

char *
repoHoldPath(const char *backupId)
{
	return psprintf("%s/%s/hold", REPO_BACKUP_DIR, backupId);
}

void
repoHoldFormat(const RepoHold *hold, StringInfo out)
{
	appendStringInfo(out, "pg_dr-hold %d\n", REPO_HOLD_VERSION);
	if (hold->forever)
		appendStringInfoString(out, "until infinity\n");
	else
		appendStringInfo(out, "until " INT64_FORMAT "\n", hold->until);
	appendStringInfo(out, "set-at " INT64_FORMAT "\n", hold->setAt);
}

/* A decimal int64 without sign or leading zero (but "0"). */
static bool
repoHoldInt(const char *s, size_t len, int64 *value)
{
	int64		v = 0;

	if (len == 0 || len > 18 || (len > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*value = v;
	return true;
}

bool
repoHoldParse(const char *text, size_t len, RepoHold *hold, DrError *err)
{
	static const char *const keys[] = {"pg_dr-hold ", "until ", "set-at "};
	const char *p = text;
	const char *end = text + len;

	memset(hold, 0, sizeof(*hold));
	for (int line = 0; line < 3; line++)
	{
		const char *nl = memchr(p, '\n', end - p);
		size_t		keyLen = strlen(keys[line]);
		const char *v;
		size_t		vlen;
		int64		n;

		if (nl == NULL || (size_t) (nl - p) < keyLen ||
			memcmp(p, keys[line], keyLen) != 0)
			return drErrorSet(err, DR_ERR_CORRUPT,
							  "hold line %d: expected \"%.*s\"", line + 1,
							  (int) keyLen - 1, keys[line]);
		v = p + keyLen;
		vlen = nl - v;
		if (line == 0)
		{
			if (!repoHoldInt(v, vlen, &n) || n != REPO_HOLD_VERSION)
				return drErrorSet(err, DR_ERR_CORRUPT,
								  "hold line 1: version %.*s is not supported (this pg_dr reads version %d)",
								  (int) Min(vlen, 20), v, REPO_HOLD_VERSION);
		}
		else if (line == 1)
		{
			if (vlen == strlen("infinity") && memcmp(v, "infinity", vlen) == 0)
				hold->forever = true;
			else if (!repoHoldInt(v, vlen, &hold->until))
				return drErrorSet(err, DR_ERR_CORRUPT,
								  "hold line 2: invalid time");
		}
		else if (!repoHoldInt(v, vlen, &hold->setAt))
			return drErrorSet(err, DR_ERR_CORRUPT, "hold line 3: invalid time");
		p = nl + 1;
	}
	if (p != end)
		return drErrorSet(err, DR_ERR_CORRUPT, "hold: text after line 3");
	hold->present = true;
	return true;
}

bool
repoHoldInEffect(const RepoHold *hold, int64 now)
{
	return hold->present && (hold->forever || hold->until > now);
}

bool
repoHoldRead(Repo *repo, const char *backupId, RepoHold *hold, DrError *err)
{
	char	   *path = repoHoldPath(backupId);
	size_t		len;
	char	   *text;
	bool		ok;

	memset(hold, 0, sizeof(*hold));
	text = repoObjectGetBufferBound(repo, path, &len, REPO_HOLD_MAX, err);
	if (text == NULL)
	{
		pfree(path);
		if (err->code == DR_ERR_NOT_FOUND)
		{
			drErrorClear(err);
			return true;
		}
		return false;
	}
	ok = repoHoldParse(text, len, hold, err);
	if (!ok)
		drErrorPrefix(err, "backup %s: ", backupId);
	pfree(text);
	pfree(path);
	return ok;
}

bool
repoHoldWrite(Repo *repo, const char *backupId, const RepoHold *hold,
			  DrError *err)
{
	RepoBackupManifest *manifest;
	ManifestHeader header;
	const CodecDataKey *key = NULL;
	RepoWriteParam param = {0};
	RepoObjectWrite *write;
	StringInfoData text;
	char	   *path;
	bool		ok;

	/* the backup must exist; its data key encodes the hold */
	manifest = repoBackupManifestOpen(repo, backupId, err);
	if (manifest == NULL)
		return false;
	header = *repoBackupManifestHeader(manifest);
	repoBackupManifestClose(manifest);
	if (header.hasKey)
	{
		key = repoDataKeyGet(repo, header.keyId, err);
		if (key == NULL)
			return false;
	}

	initStringInfo(&text);
	repoHoldFormat(hold, &text);
	path = repoHoldPath(backupId);
	param.binding = path;
	param.replace = true;
	write = repoObjectWriteBeginParam(repo, path, key, &param, err);
	ok = write != NULL;
	if (ok && !repoObjectWrite(write, text.data, text.len, err))
	{
		repoObjectWriteAbort(write);
		ok = false;
	}
	else if (ok)
		ok = repoObjectWriteEnd(write, NULL, err);
	pfree(path);
	pfree(text.data);
	return ok;
}

bool
repoHoldRemove(Repo *repo, const char *backupId, DrError *err)
{
	char	   *path = repoHoldPath(backupId);
	bool		ok = storageRemove(repoStorage(repo), path, err);

	pfree(path);
	return ok;
}
