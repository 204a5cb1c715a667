/*-------------------------------------------------------------------------
 * fuzz_config.c
 *	  libFuzzer target for configParse (src/common/config.c).
 *
 * The input is taken as a configuration file.  Whatever it holds, the
 * parser must either return a configuration whose invariants hold (repos
 * numbered as configured, absolute paths without a trailing slash, a key
 * file exactly for encrypted repos, items sorted and sourced) or fail with
 * DR_ERR_CONFIG and a message naming the source; never crash, leak or read
 * out of bounds (the target is built with ASan and UBSan).
 *
 *	 make fuzz && build/fuzz/fuzz_config -max_len=8192
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "common/config.h"
#include "storage/storage.h"

extern int	LLVMFuzzerTestOneInput(const uint8 *data, size_t size);

/* Abort (so libFuzzer reports the input) when an invariant does not hold. */
static void
fuzzCheck(bool cond)
{
	if (!cond)
		abort();
}

static void
fuzzCheckConfig(const DrConfig *config)
{
	int			repos = 0;

	fuzzCheck(config->compressLevel >= 0 && config->compressLevel <= 19);
	for (int n = 1; n <= CONFIG_REPO_MAX; n++)
	{
		const ConfigRepo *repo = &config->repo[n];
		size_t		len;

		if (repo->index == 0)
			continue;
		repos++;
		fuzzCheck(repo->index == n);
		len = strlen(repo->path);
		fuzzCheck(len > 1 && repo->path[0] == '/' && repo->path[len - 1] != '/');
		fuzzCheck((repo->cipher == CONFIG_CIPHER_AES256GCM) ==
				  (repo->cipherKeyFile != NULL));
		fuzzCheck(repo->compressLevel == config->compressLevel);
	}
	fuzzCheck(repos == config->repoCount);
	for (int i = 0; i < config->itemCount; i++)
	{
		fuzzCheck(config->items[i].name && config->items[i].value &&
				  config->items[i].source);
		fuzzCheck(i == 0 ||
				  strcmp(config->items[i - 1].name, config->items[i].name) < 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8 *data, size_t size)
{
	DrError		err;
	DrConfig   *config;

	/* the drivers whose keys the parser knows; later calls do nothing */
	storageDriversRegister();
	drErrorClear(&err);
	config = configParse((const char *) data, size, "fuzz.conf", &err);
	if (config == NULL)
		fuzzCheck(err.code == DR_ERR_CONFIG &&
				  strncmp(err.message, "\"fuzz.conf\"", 11) == 0);
	else
	{
		fuzzCheckConfig(config);
		configFree(config);
	}
	return 0;
}
