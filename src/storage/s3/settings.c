/*-------------------------------------------------------------------------
 * settings.c (s3)
 *	  The S3 driver's repository settings (common/config.h) and its
 *	  opening from a configured repository (storageOpen): the credentials
 *	  (from the settings, a secret file, or the standard environment
 *	  variables), the endpoint and the addressing style.
 *
 * Keys (repoN_<key>; docs/configuration.md):
 *	 s3_bucket (required; names the repository), s3_endpoint (host[:port];
 *	 default s3.<region>.amazonaws.com), s3_region (us-east-1), s3_uri_style
 *	 (host | path; host), s3_key, s3_key_secret or s3_key_secret_file,
 *	 s3_token, s3_ca_file, s3_ca_path, s3_tls (on), s3_part_size (16MB, at
 *	 least 5MB), s3_sse (aes256 | aws:kms), s3_sse_kms_key_id,
 *	 s3_storage_class, s3_list_max (keys per listing request, 1000; lower
 *	 for tests and stores with a smaller limit), path (key prefix).
 * Rules across keys: one of s3_key_secret and s3_key_secret_file; a key
 * without its secret (or the reverse) is refused; s3_tls = off only for a
 * loopback endpoint (a test server: credentials and backups never cross a
 * network in clear); a CA with TLS off, and a KMS key id without
 * s3_sse = aws:kms, mean nothing and are refused.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/s3/storage_s3.h"

static const char *const storageS3UriStyles[] = {"host", "path", NULL};
static const char *const storageS3Sse[] = {"aes256", "aws:kms", NULL};

static const ConfigKeyDef storageS3Keys[] = {
	{.name = "s3_bucket", .kind = CONFIG_KIND_STRING, .required = true,
	.example = "my-bucket"},
	{.name = "s3_endpoint", .kind = CONFIG_KIND_STRING},
	{.name = "s3_region", .kind = CONFIG_KIND_STRING, .defaultValue = "us-east-1"},
	{.name = "s3_uri_style", .kind = CONFIG_KIND_ENUM, .defaultValue = "host",
	.allowed = storageS3UriStyles},
	{.name = "s3_key", .kind = CONFIG_KIND_STRING},
	{.name = "s3_key_secret", .kind = CONFIG_KIND_SECRET},
	{.name = "s3_key_secret_file", .kind = CONFIG_KIND_PATH},
	{.name = "s3_token", .kind = CONFIG_KIND_SECRET},
	{.name = "s3_ca_file", .kind = CONFIG_KIND_PATH},
	{.name = "s3_ca_path", .kind = CONFIG_KIND_PATH},
	{.name = "s3_tls", .kind = CONFIG_KIND_BOOL, .defaultValue = "on"},
	{.name = "s3_part_size", .kind = CONFIG_KIND_SIZE, .defaultValue = "16MB",
	.min = STORAGE_S3_PART_MIN, .max = STORAGE_S3_PART_MAX},
	{.name = "s3_sse", .kind = CONFIG_KIND_ENUM, .allowed = storageS3Sse},
	{.name = "s3_sse_kms_key_id", .kind = CONFIG_KIND_STRING},
	{.name = "s3_storage_class", .kind = CONFIG_KIND_STRING},
	{.name = "s3_list_max", .kind = CONFIG_KIND_INT, .defaultValue = "1000",
	.min = 1, .max = STORAGE_S3_LIST_MAX},
	{.name = "path", .kind = CONFIG_KIND_PATH},
};

/* Whether host[:port] names the loopback interface. */
bool
storageS3EndpointIsLoopback(const char *endpoint)
{
	size_t		len = strcspn(endpoint, ":");

	if (endpoint[0] == '[')
		return strncmp(endpoint, "[::1]", 5) == 0 &&
			(endpoint[5] == '\0' || endpoint[5] == ':');
	return (len == 9 && strncmp(endpoint, "localhost", 9) == 0) ||
		(len == 9 && strncmp(endpoint, "127.0.0.1", 9) == 0);
}

static bool
storageS3Validate(const ConfigRepo *repo, ConfigCheck *check)
{
	const char *endpoint = configRepoGet(repo, "s3_endpoint");
	const char *bucket = configRepoGet(repo, "s3_bucket");
	bool		hasKey = configRepoGet(repo, "s3_key") != NULL;
	bool		hasSecret = configRepoGet(repo, "s3_key_secret") != NULL;
	bool		hasFile = configRepoGet(repo, "s3_key_secret_file") != NULL;
	const char *sse = configRepoGet(repo, "s3_sse");

	if (strchr(bucket, '/') != NULL || strchr(bucket, ' ') != NULL)
		return configCheckError(check, "s3_bucket",
								"\"repo%d_s3_bucket\" must be a bucket name, without '/' or spaces",
								repo->index);
	if (endpoint != NULL &&
		(strstr(endpoint, "://") != NULL || strchr(endpoint, '/') != NULL))
	{
		configCheckError(check, "s3_endpoint",
						 "\"repo%d_s3_endpoint\" must be host[:port], without a scheme or path",
						 repo->index);
		configCheckHint(check, "say repo%d_s3_tls = off for http (loopback only)",
						repo->index);
		return false;
	}
	if (hasSecret && hasFile)
		return configCheckError(check, "s3_key_secret_file",
								"\"repo%d_s3_key_secret\" and \"repo%d_s3_key_secret_file\" cannot both be set",
								repo->index, repo->index);
	if (hasKey != (hasSecret || hasFile))
		return configCheckError(check, hasKey ? "s3_key" : "s3_key_secret",
								"\"repo%d_s3_key\" and its secret (repo%d_s3_key_secret or repo%d_s3_key_secret_file) go together",
								repo->index, repo->index, repo->index);
	if (configRepoGet(repo, "s3_token") != NULL && !hasKey)
		return configCheckError(check, "s3_token",
								"\"repo%d_s3_token\" needs repo%d_s3_key and its secret",
								repo->index, repo->index);
	if (!configRepoGetBool(repo, "s3_tls"))
	{
		if (endpoint == NULL || !storageS3EndpointIsLoopback(endpoint))
		{
			configCheckError(check, "s3_tls",
							 "\"repo%d_s3_tls = off\" is allowed only for a loopback endpoint (127.0.0.1, localhost, [::1])",
							 repo->index);
			configCheckHint(check, "credentials and backups must not cross a network in clear: use TLS, with repo%d_s3_ca_file for a private CA",
							repo->index);
			return false;
		}
		if (configRepoGet(repo, "s3_ca_file") != NULL ||
			configRepoGet(repo, "s3_ca_path") != NULL)
			return configCheckError(check, "s3_tls",
									"repo%d: a CA for TLS is set but repo%d_s3_tls is off",
									repo->index, repo->index);
	}
	if (configRepoGet(repo, "s3_sse_kms_key_id") != NULL &&
		(sse == NULL || strcmp(sse, "aws:kms") != 0))
		return configCheckError(check, "s3_sse_kms_key_id",
								"\"repo%d_s3_sse_kms_key_id\" needs repo%d_s3_sse = aws:kms",
								repo->index, repo->index);
	return true;
}

/*
 * The secret from its file, checked like the passphrase file (common/keys.c):
 * a regular file that neither group nor others can access; the trailing
 * newline dropped.  Palloc'd.
 */
char *
storageS3SecretFileRead(const char *path, DrError *err)
{
	char		buf[1024];
	struct stat st;
	ssize_t		n;
	size_t		len = 0;
	int			fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
	{
		drErrorSet(err, errno == ENOENT ? DR_ERR_NOT_FOUND :
				   errno == EACCES ? DR_ERR_PERMISSION : DR_ERR_IO,
				   "could not open S3 secret file \"%s\": %m", path);
		return NULL;
	}
	if (fstat(fd, &st) != 0)
	{
		drErrorSet(err, DR_ERR_IO, "could not stat S3 secret file \"%s\": %m", path);
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode))
	{
		drErrorSet(err, DR_ERR_CONFIG, "S3 secret file \"%s\" is not a regular file",
				   path);
		close(fd);
		return NULL;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
	{
		drErrorSet(err, DR_ERR_PERMISSION,
				   "S3 secret file \"%s\" is accessible by group or others (mode %04o)",
				   path, (unsigned int) (st.st_mode & 07777));
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
			drErrorSet(err, DR_ERR_IO, "could not read S3 secret file \"%s\": %m",
					   path);
			close(fd);
			return NULL;
		}
		len += n;
	}
	close(fd);
	if (len == sizeof(buf))
	{
		explicit_bzero(buf, sizeof(buf));
		drErrorSet(err, DR_ERR_CONFIG, "S3 secret file \"%s\" is too long", path);
		return NULL;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
					   buf[len - 1] == ' '))
		len--;
	if (len == 0)
	{
		drErrorSet(err, DR_ERR_CONFIG, "S3 secret file \"%s\" is empty", path);
		return NULL;
	}
	{
		char	   *secret = pnstrdup(buf, len);

		explicit_bzero(buf, sizeof(buf));
		return secret;
	}
}

/* Environment variable value, NULL when unset or empty. */
static const char *
storageS3Env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/*
 * Credentials: the settings' when repoN_s3_key is set, else
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
 */
static Storage *
storageS3Open(const ConfigRepo *repo, DrError *err)
{
	StorageS3Param p;
	const char *secretFile = configRepoGet(repo, "s3_key_secret_file");
	const char *sse = configRepoGet(repo, "s3_sse");
	char	   *secretRead = NULL;
	char	   *endpoint = NULL;
	Storage    *storage;

	memset(&p, 0, sizeof(p));
	p.bucket = configRepoGet(repo, "s3_bucket");
	p.region = configRepoGet(repo, "s3_region");
	p.endpoint = configRepoGet(repo, "s3_endpoint");
	if (p.endpoint == NULL)
		p.endpoint = endpoint = psprintf("s3.%s.amazonaws.com", p.region);
	p.hostStyle = strcmp(configRepoGet(repo, "s3_uri_style"), "host") == 0;
	p.tls = configRepoGetBool(repo, "s3_tls");
	p.prefix = configRepoGet(repo, "path");
	p.caFile = configRepoGet(repo, "s3_ca_file");
	p.caPath = configRepoGet(repo, "s3_ca_path");
	p.partSize = configRepoGetInt(repo, "s3_part_size");
	p.sse = sse == NULL ? NULL : strcmp(sse, "aes256") == 0 ? "AES256" : "aws:kms";
	p.sseKmsKeyId = configRepoGet(repo, "s3_sse_kms_key_id");
	p.storageClass = configRepoGet(repo, "s3_storage_class");
	p.listMax = (int) configRepoGetInt(repo, "s3_list_max");

	if (configRepoGet(repo, "s3_key") != NULL)
	{
		p.accessKey = configRepoGet(repo, "s3_key");
		p.token = configRepoGet(repo, "s3_token");
		if (secretFile != NULL)
		{
			secretRead = storageS3SecretFileRead(secretFile, err);
			if (secretRead == NULL)
			{
				drErrorPrefix(err, "repo%d: ", repo->index);
				return NULL;
			}
			p.secret = secretRead;
		}
		else
			p.secret = configRepoGet(repo, "s3_key_secret");
	}
	else
	{
		p.accessKey = storageS3Env("AWS_ACCESS_KEY_ID");
		p.secret = storageS3Env("AWS_SECRET_ACCESS_KEY");
		p.token = storageS3Env("AWS_SESSION_TOKEN");
	}

	storage = storageS3New(&p, err);
	if (secretRead != NULL)
	{
		explicit_bzero(secretRead, strlen(secretRead));
		pfree(secretRead);
	}
	if (endpoint)
		pfree(endpoint);
	return storage;
}

static const ConfigDriver storageS3Settings = {
	.type = "s3",
	.keys = storageS3Keys,
	.keyCount = lengthof(storageS3Keys),
	.locationKey = "s3_bucket",
	.validate = storageS3Validate,
};

const StorageDriverEntry storageS3Driver = {
	.settings = &storageS3Settings,
	.open = storageS3Open,
};
