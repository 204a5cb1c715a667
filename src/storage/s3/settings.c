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
 *	 for tests and stores with a smaller limit), s3_role_arn and
 *	 s3_web_identity_token_file (web identity, s3_sts.h), s3_sts_endpoint
 *	 (host[:port], https; default sts.<region>.amazonaws.com), path (key
 *	 prefix).
 * Credentials, the first that is set: s3_key with its secret; s3_role_arn
 * with s3_web_identity_token_file; AWS_ACCESS_KEY_ID with
 * AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN); AWS_ROLE_ARN with
 * AWS_WEB_IDENTITY_TOKEN_FILE.  The session name is AWS_ROLE_SESSION_NAME,
 * else "pg_dr".  STS is reached with the repository's CA settings.
 * Rules across keys: one of s3_key_secret and s3_key_secret_file; a key
 * without its secret (or the reverse) is refused; s3_tls = off only for a
 * loopback endpoint (a test server: credentials and backups never cross a
 * network in clear); a CA with TLS off, and a KMS key id without
 * s3_sse = aws:kms, mean nothing and are refused.
 *
 * repoN_type = gcs is the same driver preset for Google Cloud Storage's
 * XML API with an HMAC key (docs/storage.md): keys gcs_bucket (required),
 * gcs_endpoint (storage.googleapis.com), gcs_uri_style, gcs_key and
 * gcs_key_secret or gcs_key_secret_file (required: GCS takes no AWS
 * environment credentials), gcs_ca_file, gcs_ca_path, gcs_tls,
 * gcs_part_size, gcs_list_max, path; the same rules across keys.  It
 * signs for region "auto" (what GCS expects of SigV4), removes one
 * object per DELETE (StorageS3Param.singleDeletes) and asks for
 * create-only writes with x-goog-if-generation-match: 0, GCS's If-None-Match
 * guarding reads only (StorageS3Param.generationMatch).  GCS has no
 * x-amz server-side encryption (it encrypts at rest by itself, with
 * customer-managed keys configured on the bucket): there is no gcs_sse,
 * and s3_sse under type gcs is an unknown setting.
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
	{.name = "s3_role_arn", .kind = CONFIG_KIND_STRING},
	{.name = "s3_web_identity_token_file", .kind = CONFIG_KIND_PATH},
	{.name = "s3_sts_endpoint", .kind = CONFIG_KIND_STRING},
	{.name = "path", .kind = CONFIG_KIND_PATH},
};

static const ConfigKeyDef storageGcsKeys[] = {
	{.name = "gcs_bucket", .kind = CONFIG_KIND_STRING, .required = true,
	.example = "my-bucket"},
	{.name = "gcs_endpoint", .kind = CONFIG_KIND_STRING,
	.defaultValue = STORAGE_GCS_ENDPOINT},
	{.name = "gcs_uri_style", .kind = CONFIG_KIND_ENUM, .defaultValue = "host",
	.allowed = storageS3UriStyles},
	{.name = "gcs_key", .kind = CONFIG_KIND_STRING, .required = true,
	.example = "GOOG1E..."},
	{.name = "gcs_key_secret", .kind = CONFIG_KIND_SECRET},
	{.name = "gcs_key_secret_file", .kind = CONFIG_KIND_PATH},
	{.name = "gcs_ca_file", .kind = CONFIG_KIND_PATH},
	{.name = "gcs_ca_path", .kind = CONFIG_KIND_PATH},
	{.name = "gcs_tls", .kind = CONFIG_KIND_BOOL, .defaultValue = "on"},
	{.name = "gcs_part_size", .kind = CONFIG_KIND_SIZE, .defaultValue = "16MB",
	.min = STORAGE_S3_PART_MIN, .max = STORAGE_S3_PART_MAX},
	{.name = "gcs_list_max", .kind = CONFIG_KIND_INT, .defaultValue = "1000",
	.min = 1, .max = STORAGE_S3_LIST_MAX},
	{.name = "path", .kind = CONFIG_KIND_PATH},
};

/*
 * A setting of the driver's type: "<type>_<suffix>" ("s3_bucket",
 * "gcs_bucket"), NULL when unset.  The name is built in name (64 bytes).
 */
static const char *
storageS3Setting(const ConfigRepo *repo, const char *suffix, char *name)
{
	snprintf(name, 64, "%s_%s", repo->driver->type, suffix);
	return configRepoGet(repo, name);
}

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

/* The rules across keys of both types (the file's header). */
static bool
storageS3Validate(const ConfigRepo *repo, ConfigCheck *check)
{
	const char *t = repo->driver->type;
	bool		isS3 = strcmp(t, "s3") == 0;
	int			n = repo->index;
	char		name[64];
	const char *endpoint = storageS3Setting(repo, "endpoint", name);
	const char *bucket = storageS3Setting(repo, "bucket", name);
	bool		hasKey = storageS3Setting(repo, "key", name) != NULL;
	bool		hasSecret = storageS3Setting(repo, "key_secret", name) != NULL;
	bool		hasFile = storageS3Setting(repo, "key_secret_file", name) != NULL;
	const char *sse = isS3 ? configRepoGet(repo, "s3_sse") : NULL;

	if (strchr(bucket, '/') != NULL || strchr(bucket, ' ') != NULL)
	{
		storageS3Setting(repo, "bucket", name);
		return configCheckError(check, name,
								"\"repo%d_%s_bucket\" must be a bucket name, without '/' or spaces",
								n, t);
	}
	if (endpoint != NULL &&
		(strstr(endpoint, "://") != NULL || strchr(endpoint, '/') != NULL))
	{
		storageS3Setting(repo, "endpoint", name);
		configCheckError(check, name,
						 "\"repo%d_%s_endpoint\" must be host[:port], without a scheme or path",
						 n, t);
		configCheckHint(check, "say repo%d_%s_tls = off for http (loopback only)",
						n, t);
		return false;
	}
	if (hasSecret && hasFile)
	{
		storageS3Setting(repo, "key_secret_file", name);
		return configCheckError(check, name,
								"\"repo%d_%s_key_secret\" and \"repo%d_%s_key_secret_file\" cannot both be set",
								n, t, n, t);
	}
	if (hasKey != (hasSecret || hasFile))
	{
		storageS3Setting(repo, hasKey ? "key" : "key_secret", name);
		return configCheckError(check, name,
								"\"repo%d_%s_key\" and its secret (repo%d_%s_key_secret or repo%d_%s_key_secret_file) go together",
								n, t, n, t, n, t);
	}
	if (isS3 && configRepoGet(repo, "s3_token") != NULL && !hasKey)
		return configCheckError(check, "s3_token",
								"\"repo%d_s3_token\" needs repo%d_s3_key and its secret",
								n, n);
	if (!configRepoGetBool(repo, isS3 ? "s3_tls" : "gcs_tls"))
	{
		storageS3Setting(repo, "tls", name);
		if (endpoint == NULL || !storageS3EndpointIsLoopback(endpoint))
		{
			configCheckError(check, name,
							 "\"repo%d_%s_tls = off\" is allowed only for a loopback endpoint (127.0.0.1, localhost, [::1])",
							 n, t);
			configCheckHint(check, "credentials and backups must not cross a network in clear: use TLS, with repo%d_%s_ca_file for a private CA",
							n, t);
			return false;
		}
		if (storageS3Setting(repo, "ca_file", name) != NULL ||
			storageS3Setting(repo, "ca_path", name) != NULL)
		{
			storageS3Setting(repo, "tls", name);
			return configCheckError(check, name,
									"repo%d: a CA for TLS is set but repo%d_%s_tls is off",
									n, n, t);
		}
	}
	if (isS3 && (configRepoGet(repo, "s3_role_arn") != NULL) !=
		(configRepoGet(repo, "s3_web_identity_token_file") != NULL))
		return configCheckError(check,
								configRepoGet(repo, "s3_role_arn") != NULL ?
								"s3_role_arn" : "s3_web_identity_token_file",
								"\"repo%d_s3_role_arn\" and \"repo%d_s3_web_identity_token_file\" go together",
								n, n);
	if (isS3 && configRepoGet(repo, "s3_role_arn") != NULL && hasKey)
		return configCheckError(check, "s3_role_arn",
								"repo%d: \"repo%d_s3_role_arn\" (web identity) and \"repo%d_s3_key\" cannot both be set",
								n, n, n);
	if (isS3 && configRepoGet(repo, "s3_sts_endpoint") != NULL)
	{
		const char *sts = configRepoGet(repo, "s3_sts_endpoint");

		if (strstr(sts, "://") != NULL || strchr(sts, '/') != NULL)
			return configCheckError(check, "s3_sts_endpoint",
									"\"repo%d_s3_sts_endpoint\" must be host[:port], without a scheme or path (STS is always reached over https)",
									n);
	}
	if (isS3 && configRepoGet(repo, "s3_sse_kms_key_id") != NULL &&
		(sse == NULL || strcmp(sse, "aws:kms") != 0))
		return configCheckError(check, "s3_sse_kms_key_id",
								"\"repo%d_s3_sse_kms_key_id\" needs repo%d_s3_sse = aws:kms",
								n, n);
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
 * Credentials: the settings' when repoN_<type>_key is set, else (s3 only)
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
 */
static Storage *
storageS3Open(const ConfigRepo *repo, DrError *err)
{
	StorageS3Param p;
	bool		isS3 = strcmp(repo->driver->type, "s3") == 0;
	char		name[64];
	const char *secretFile = storageS3Setting(repo, "key_secret_file", name);
	const char *sse = isS3 ? configRepoGet(repo, "s3_sse") : NULL;
	char	   *secretRead = NULL;
	char	   *endpoint = NULL;
	char	   *stsEndpoint = NULL;
	Storage    *storage;

	memset(&p, 0, sizeof(p));
	p.type = repo->driver->type;
	p.bucket = storageS3Setting(repo, "bucket", name);
	/* GCS's SigV4 wants the region "auto" (its buckets have locations) */
	p.region = isS3 ? configRepoGet(repo, "s3_region") : "auto";
	p.endpoint = storageS3Setting(repo, "endpoint", name);
	if (p.endpoint == NULL)
		p.endpoint = endpoint = psprintf("s3.%s.amazonaws.com", p.region);
	p.hostStyle = strcmp(storageS3Setting(repo, "uri_style", name), "host") == 0;
	p.tls = configRepoGetBool(repo, isS3 ? "s3_tls" : "gcs_tls");
	p.prefix = configRepoGet(repo, "path");
	p.caFile = storageS3Setting(repo, "ca_file", name);
	p.caPath = storageS3Setting(repo, "ca_path", name);
	p.partSize = configRepoGetInt(repo, isS3 ? "s3_part_size" : "gcs_part_size");
	p.listMax = (int) configRepoGetInt(repo, isS3 ? "s3_list_max" : "gcs_list_max");
	if (isS3)
	{
		p.sse = sse == NULL ? NULL :
			strcmp(sse, "aes256") == 0 ? "AES256" : "aws:kms";
		p.sseKmsKeyId = configRepoGet(repo, "s3_sse_kms_key_id");
		p.storageClass = configRepoGet(repo, "s3_storage_class");
	}
	else
	{
		p.singleDeletes = true;
		p.generationMatch = true;
	}

	if (storageS3Setting(repo, "key", name) != NULL)
	{
		p.accessKey = storageS3Setting(repo, "key", name);
		p.token = isS3 ? configRepoGet(repo, "s3_token") : NULL;
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
			p.secret = storageS3Setting(repo, "key_secret", name);
	}
	else if (isS3 && configRepoGet(repo, "s3_role_arn") != NULL)
	{
		p.roleArn = configRepoGet(repo, "s3_role_arn");
		p.tokenFile = configRepoGet(repo, "s3_web_identity_token_file");
	}
	else if (isS3 && storageS3Env("AWS_ACCESS_KEY_ID") == NULL &&
			 storageS3Env("AWS_ROLE_ARN") != NULL &&
			 storageS3Env("AWS_WEB_IDENTITY_TOKEN_FILE") != NULL)
	{
		p.roleArn = storageS3Env("AWS_ROLE_ARN");
		p.tokenFile = storageS3Env("AWS_WEB_IDENTITY_TOKEN_FILE");
	}
	else if (isS3)
	{
		p.accessKey = storageS3Env("AWS_ACCESS_KEY_ID");
		p.secret = storageS3Env("AWS_SECRET_ACCESS_KEY");
		p.token = storageS3Env("AWS_SESSION_TOKEN");
	}
	if (p.roleArn != NULL)
	{
		p.sessionName = storageS3Env("AWS_ROLE_SESSION_NAME");
		if (p.sessionName == NULL)
			p.sessionName = "pg_dr";
		p.stsEndpoint = configRepoGet(repo, "s3_sts_endpoint");
		if (p.stsEndpoint == NULL)
			p.stsEndpoint = stsEndpoint = psprintf("sts.%s.amazonaws.com", p.region);
	}

	storage = storageS3New(&p, err);
	if (secretRead != NULL)
	{
		explicit_bzero(secretRead, strlen(secretRead));
		pfree(secretRead);
	}
	if (endpoint)
		pfree(endpoint);
	if (stsEndpoint)
		pfree(stsEndpoint);
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

static const ConfigDriver storageGcsSettings = {
	.type = "gcs",
	.keys = storageGcsKeys,
	.keyCount = lengthof(storageGcsKeys),
	.locationKey = "gcs_bucket",
	.validate = storageS3Validate,
};

const StorageDriverEntry storageGcsDriver = {
	.settings = &storageGcsSettings,
	.open = storageS3Open,
};
