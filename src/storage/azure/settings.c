/*-------------------------------------------------------------------------
 * settings.c (azure)
 *	  The Azure Blob Storage driver's repository settings
 *	  (common/config.h) and its opening from a configured repository
 *	  (storageOpen): the credentials (Shared Key or SAS token, from the
 *	  settings or from a file), the endpoint and the addressing style.
 *
 * Keys (repoN_<key>; docs/configuration.md):
 *	 azure_account (required), azure_container (required; names the
 *	 repository), azure_key or azure_key_file (the account's Shared Key,
 *	 base64), azure_sas or azure_sas_file (a SAS token instead),
 *	 azure_endpoint (host[:port]; default <account>.blob.core.windows.net),
 *	 azure_uri_style (host | path; host: the account is in the host name;
 *	 path: /<account>/<container>/<blob>, as azurite wants), azure_tls
 *	 (on), azure_ca_file, azure_ca_path, azure_block_size (16MB: larger
 *	 objects go up in blocks of this size), azure_list_max (results per
 *	 List Blobs request, 5000), path (blob name prefix).
 * Rules across keys: exactly one credential (key, key file, SAS, SAS
 * file); azure_tls = off only for a loopback endpoint; a CA with TLS off
 * means nothing and is refused.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/azure/storage_azure.h"

static const char *const storageAzureUriStyles[] = {"host", "path", NULL};

static const ConfigKeyDef storageAzureKeys[] = {
	{.name = "azure_account", .kind = CONFIG_KIND_STRING, .required = true,
	.example = "mystorageaccount"},
	{.name = "azure_container", .kind = CONFIG_KIND_STRING, .required = true,
	.example = "pgdr"},
	{.name = "azure_key", .kind = CONFIG_KIND_SECRET},
	{.name = "azure_key_file", .kind = CONFIG_KIND_PATH},
	{.name = "azure_sas", .kind = CONFIG_KIND_SECRET},
	{.name = "azure_sas_file", .kind = CONFIG_KIND_PATH},
	{.name = "azure_endpoint", .kind = CONFIG_KIND_STRING},
	{.name = "azure_uri_style", .kind = CONFIG_KIND_ENUM, .defaultValue = "host",
	.allowed = storageAzureUriStyles},
	{.name = "azure_tls", .kind = CONFIG_KIND_BOOL, .defaultValue = "on"},
	{.name = "azure_ca_file", .kind = CONFIG_KIND_PATH},
	{.name = "azure_ca_path", .kind = CONFIG_KIND_PATH},
	{.name = "azure_block_size", .kind = CONFIG_KIND_SIZE, .defaultValue = "16MB",
	.min = STORAGE_AZURE_BLOCK_MIN, .max = STORAGE_AZURE_BLOCK_MAX},
	{.name = "azure_list_max", .kind = CONFIG_KIND_INT, .defaultValue = "5000",
	.min = 1, .max = STORAGE_AZURE_LIST_MAX},
	{.name = "path", .kind = CONFIG_KIND_PATH},
};

bool
storageAzureEndpointIsLoopback(const char *endpoint)
{
	size_t		len = strcspn(endpoint, ":");

	if (endpoint[0] == '[')
		return strncmp(endpoint, "[::1]", 5) == 0 &&
			(endpoint[5] == '\0' || endpoint[5] == ':');
	return (len == 9 && strncmp(endpoint, "localhost", 9) == 0) ||
		(len == 9 && strncmp(endpoint, "127.0.0.1", 9) == 0);
}

/* Azure's rules: account 3-24 of [a-z0-9]; container 3-63 of [a-z0-9-]. */
static bool
storageAzureNameValid(const char *s, int min, int max, bool hyphen)
{
	int			len = (int) strlen(s);

	if (len < min || len > max)
		return false;
	for (int i = 0; i < len; i++)
	{
		char		c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			  (hyphen && c == '-' && i > 0 && i < len - 1 && s[i - 1] != '-')))
			return false;
	}
	return true;
}

static bool
storageAzureValidate(const ConfigRepo *repo, ConfigCheck *check)
{
	const char *endpoint = configRepoGet(repo, "azure_endpoint");
	const char *creds[] = {"azure_key", "azure_key_file", "azure_sas", "azure_sas_file"};
	int			count = 0;

	if (!storageAzureNameValid(configRepoGet(repo, "azure_account"), 3, 24, false))
		return configCheckError(check, "azure_account",
								"\"repo%d_azure_account\" must be a storage account name: 3 to 24 lower-case letters and digits",
								repo->index);
	if (!storageAzureNameValid(configRepoGet(repo, "azure_container"), 3, 63, true))
		return configCheckError(check, "azure_container",
								"\"repo%d_azure_container\" must be a container name: 3 to 63 lower-case letters, digits and single hyphens",
								repo->index);
	for (int i = 0; i < (int) lengthof(creds); i++)
		if (configRepoGet(repo, creds[i]) != NULL)
			count++;
	if (count != 1)
	{
		configCheckError(check, count == 0 ? "azure_key" : "azure_sas",
						 count == 0 ?
						 "repo%d: no Azure credentials" :
						 "repo%d: more than one Azure credential is set",
						 repo->index);
		configCheckHint(check, "set exactly one of repo%d_azure_key, repo%d_azure_key_file, repo%d_azure_sas and repo%d_azure_sas_file",
						repo->index, repo->index, repo->index, repo->index);
		return false;
	}
	if (endpoint != NULL &&
		(strstr(endpoint, "://") != NULL || strchr(endpoint, '/') != NULL))
	{
		configCheckError(check, "azure_endpoint",
						 "\"repo%d_azure_endpoint\" must be host[:port], without a scheme or path",
						 repo->index);
		configCheckHint(check, "say repo%d_azure_tls = off for http (loopback only)",
						repo->index);
		return false;
	}
	if (!configRepoGetBool(repo, "azure_tls"))
	{
		if (endpoint == NULL || !storageAzureEndpointIsLoopback(endpoint))
		{
			configCheckError(check, "azure_tls",
							 "\"repo%d_azure_tls = off\" is allowed only for a loopback endpoint (127.0.0.1, localhost, [::1])",
							 repo->index);
			configCheckHint(check, "credentials and backups must not cross a network in clear: use TLS, with repo%d_azure_ca_file for a private CA",
							repo->index);
			return false;
		}
		if (configRepoGet(repo, "azure_ca_file") != NULL ||
			configRepoGet(repo, "azure_ca_path") != NULL)
			return configCheckError(check, "azure_tls",
									"repo%d: a CA for TLS is set but repo%d_azure_tls is off",
									repo->index, repo->index);
	}
	return true;
}

/*
 * A secret from its file, checked like the passphrase file (common/keys.c):
 * a regular file that neither group nor others can access; trailing
 * newlines and spaces dropped.  what names it in messages ("Azure key
 * file").  Palloc'd.
 */
char *
storageAzureSecretFileRead(const char *path, const char *what, DrError *err)
{
	char		buf[4096];
	struct stat st;
	ssize_t		n;
	size_t		len = 0;
	int			fd;
	char	   *secret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
	{
		drErrorSet(err, errno == ENOENT ? DR_ERR_NOT_FOUND :
				   errno == EACCES ? DR_ERR_PERMISSION : DR_ERR_IO,
				   "could not open %s \"%s\": %m", what, path);
		return NULL;
	}
	if (fstat(fd, &st) != 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not stat %s \"%s\": %m", what, path);
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode))
	{
		drErrorSet(err, DR_ERR_CONFIG, "%s \"%s\" is not a regular file", what, path);
		close(fd);
		return NULL;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
	{
		drErrorSet(err, DR_ERR_PERMISSION,
				   "%s \"%s\" is accessible by group or others (mode %04o)",
				   what, path, (unsigned int) (st.st_mode & 07777));
		drErrorHint(err, "run chmod 600 on it");
		close(fd);
		return NULL;
	}
	while (len < sizeof(buf) &&
		   (n = read(fd, buf + len, sizeof(buf) - len)) != 0)
	{
		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			drErrorSet(err, DR_ERR_IO, "could not read %s \"%s\": %m", what, path);
			close(fd);
			explicit_bzero(buf, sizeof(buf));
			return NULL;
		}
		len += n;
	}
	close(fd);
	if (len == sizeof(buf))
	{
		explicit_bzero(buf, sizeof(buf));
		drErrorSet(err, DR_ERR_CONFIG, "%s \"%s\" is too long", what, path);
		return NULL;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
					   buf[len - 1] == ' '))
		len--;
	if (len == 0)
	{
		drErrorSet(err, DR_ERR_CONFIG, "%s \"%s\" is empty", what, path);
		return NULL;
	}
	secret = pnstrdup(buf, len);
	explicit_bzero(buf, sizeof(buf));
	return secret;
}

static Storage *
storageAzureOpen(const ConfigRepo *repo, DrError *err)
{
	StorageAzureParam p;
	const char *keyFile = configRepoGet(repo, "azure_key_file");
	const char *sasFile = configRepoGet(repo, "azure_sas_file");
	char	   *secretRead = NULL;
	char	   *endpoint = NULL;
	Storage    *storage;

	memset(&p, 0, sizeof(p));
	p.account = configRepoGet(repo, "azure_account");
	p.container = configRepoGet(repo, "azure_container");
	p.endpoint = configRepoGet(repo, "azure_endpoint");
	if (p.endpoint == NULL)
		p.endpoint = endpoint = psprintf("%s.blob.core.windows.net", p.account);
	p.pathStyle = strcmp(configRepoGet(repo, "azure_uri_style"), "path") == 0;
	p.tls = configRepoGetBool(repo, "azure_tls");
	p.prefix = configRepoGet(repo, "path");
	p.caFile = configRepoGet(repo, "azure_ca_file");
	p.caPath = configRepoGet(repo, "azure_ca_path");
	p.blockSize = configRepoGetInt(repo, "azure_block_size");
	p.listMax = (int) configRepoGetInt(repo, "azure_list_max");
	p.key = configRepoGet(repo, "azure_key");
	p.sas = configRepoGet(repo, "azure_sas");
	if (keyFile != NULL || sasFile != NULL)
	{
		secretRead = storageAzureSecretFileRead(keyFile ? keyFile : sasFile,
												keyFile ? "Azure key file" : "Azure SAS file",
												err);
		if (secretRead == NULL)
		{
			drErrorPrefix(err, "repo%d: ", repo->index);
			if (endpoint)
				pfree(endpoint);
			return NULL;
		}
		if (keyFile)
			p.key = secretRead;
		else
			p.sas = secretRead;
	}
	storage = storageAzureNew(&p, err);
	if (storage == NULL)
		drErrorPrefix(err, "repo%d: ", repo->index);
	if (secretRead != NULL)
	{
		explicit_bzero(secretRead, strlen(secretRead));
		pfree(secretRead);
	}
	if (endpoint)
		pfree(endpoint);
	return storage;
}

static const ConfigDriver storageAzureSettings = {
	.type = "azure",
	.keys = storageAzureKeys,
	.keyCount = lengthof(storageAzureKeys),
	.locationKey = "azure_container",
	.validate = storageAzureValidate,
};

const StorageDriverEntry storageAzureDriver = {
	.settings = &storageAzureSettings,
	.open = storageAzureOpen,
};
