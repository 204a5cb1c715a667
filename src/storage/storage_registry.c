/*-------------------------------------------------------------------------
 * storage_registry.c
 *	  The storage drivers this program has, registered once at startup
 *	  (storageDriversRegister), and the opening of a configured repository
 *	  through its driver (storageOpen).
 *
 * Each driver's settings go to the configuration parser
 * (configDriverRegister), which routes repoN_<key> to the driver named by
 * repoN_type; the parsed ConfigRepo points at the driver's ConfigDriver,
 * by which storageOpen finds the driver's open function here.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "storage/storage_driver.h"

/* Storage drivers, few by nature. */
#define STORAGE_DRIVER_MAX		8

static const StorageDriverEntry *storageDrivers[STORAGE_DRIVER_MAX];
static int	storageDriverCount = 0;

void
storageDriverRegister(const StorageDriverEntry *entry)
{
	for (int i = 0; i < storageDriverCount; i++)
		if (storageDrivers[i] == entry)
			return;
	Assert(storageDriverCount < STORAGE_DRIVER_MAX);
	if (storageDriverCount == STORAGE_DRIVER_MAX)
		return;
	storageDrivers[storageDriverCount++] = entry;
	configDriverRegister(entry->settings);
}

void
storageDriversRegister(void)
{
	storageDriverRegister(&storagePosixDriver);
	storageDriverRegister(&storageS3Driver);
	storageDriverRegister(&storageAzureDriver);
	storageDriverRegister(&storageGcsDriver);
}

Storage *
storageOpen(const ConfigRepo *repo, DrError *err)
{
	for (int i = 0; i < storageDriverCount; i++)
		if (repo->driver != NULL && storageDrivers[i]->settings == repo->driver)
			return storageDrivers[i]->open(repo, err);
	drErrorSet(err, DR_ERR_CONFIG,
			   "repo%d: this program has no storage driver for repositories of type \"%s\"",
			   repo->index, repo->driver ? repo->driver->type : "");
	drErrorHint(err, "use a pg_dr built with that repository type");
	return NULL;
}
