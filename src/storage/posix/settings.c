/*-------------------------------------------------------------------------
 * settings.c (posix)
 *	  The posix driver's repository settings (common/config.h) and its
 *	  opening from a configured repository (storageOpen).
 *
 * Keys: repoN_path, the absolute path of the repository's directory
 * (required; it names the repository in messages, and two posix
 * repositories may not share it).  Rule across keys: the passphrase file
 * must not be inside the repository, since a key kept next to the data it
 * protects protects nothing.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <limits.h>
#include <stdlib.h>

#include "storage/posix/storage_posix.h"

static const ConfigKeyDef storagePosixKeys[] = {
	{.name = "path", .kind = CONFIG_KIND_PATH, .required = true,
	.example = "'/absolute/path/of/the/repository'"},
};

/*
 * A path as the kernel will see it: its longest existing leading part
 * resolved with realpath() (symbolic links, "." and "..", repeated
 * slashes), the rest appended and canonicalized.  Palloc'd.
 */
static char *
storagePosixPathResolve(const char *path)
{
	char	   *prefix = pstrdup(path);
	char		resolved[PATH_MAX];
	char	   *result;

	while (realpath(prefix, resolved) == NULL)
	{
		char	   *slash = strrchr(prefix, '/');

		/* "/" always resolves, and every value starts with '/' */
		if (slash == NULL)
		{
			strlcpy(resolved, "/", sizeof(resolved));
			break;
		}
		if (slash == prefix)
			slash++;
		*slash = '\0';
	}
	result = psprintf("%s/%s", resolved, path + strlen(prefix));
	canonicalize_path(result);
	pfree(prefix);
	return result;
}

/*
 * Whether path is dir or inside it, once both are resolved: a string
 * comparison alone is defeated by "//", "/./", ".." or a symbolic link.
 */
static bool
storagePosixPathInside(const char *path, const char *dir)
{
	char	   *p = storagePosixPathResolve(path);
	char	   *d = storagePosixPathResolve(dir);
	size_t		dlen = strlen(d);
	bool		inside;

	inside = strcmp(d, "/") == 0 ||
		(strncmp(p, d, dlen) == 0 && (p[dlen] == '/' || p[dlen] == '\0'));
	pfree(p);
	pfree(d);
	return inside;
}

static bool
storagePosixValidate(const ConfigRepo *repo, ConfigCheck *check)
{
	const char *path = configRepoGet(repo, "path");

	if (repo->cipherKeyFile != NULL &&
		storagePosixPathInside(repo->cipherKeyFile, path))
		return configCheckError(check, "cipher_key_file",
								"\"repo%d_cipher_key_file\" must not be inside the repository \"%s\"",
								repo->index, path);
	return true;
}

static Storage *
storagePosixOpen(const ConfigRepo *repo, DrError *err)
{
	return storagePosixNew(configRepoGet(repo, "path"), err);
}

static const ConfigDriver storagePosixSettings = {
	.type = "posix",
	.keys = storagePosixKeys,
	.keyCount = lengthof(storagePosixKeys),
	.locationKey = "path",
	.validate = storagePosixValidate,
};

const StorageDriverEntry storagePosixDriver = {
	.settings = &storagePosixSettings,
	.open = storagePosixOpen,
};
