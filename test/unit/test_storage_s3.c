/*-------------------------------------------------------------------------
 * test_storage_s3.c
 *	  Unit tests of the S3 driver's pure parts (storage/s3/storage_s3.h,
 *	  settings.c): key mapping and the driver's settings.  Requests
 *	  against a server are t/052_s3.pl's.
 *
 * Covers: the key prefix from repoN_path (slashes at either end dropped,
 * none, root), the key of a path with and without a prefix, the key
 * prefix of a listed directory (root and below), the least name a later
 * listing entry can have (cut before a byte below '/'), loopback
 * endpoints (127.0.0.1, localhost, [::1], with and without a port, and
 * look-alikes refused); settings: a full configuration accepted with its
 * defaults (region, uri style, TLS, part size, list size) and its
 * secrets masked in the items; refused with the key's line: TLS off
 * toward a host that is not loopback, a CA with TLS off, both a secret
 * and a secret file, a key without a secret and a secret without a key,
 * a token without a key, an endpoint with a scheme, a bucket with '/', a
 * part size below 5 MiB, a KMS key id without aws:kms, an unknown uri
 * style; the secret file: read with its newline dropped, refused when
 * group or others can read it (mode shown, chmod hint), when missing,
 * when empty; opening a repository without any credentials (none set,
 * none in the environment) says where they come from.  Web identity:
 * role ARN and token file accepted together (opened without a request),
 * each alone refused, with repoN_s3_key refused, an STS endpoint with a
 * scheme refused.  The gcs type: a full configuration accepted with its
 * defaults (endpoint storage.googleapis.com, host style, TLS, part and
 * list sizes; the bucket naming the repository, the secret masked);
 * refused: no HMAC key, a key without its secret, TLS off toward a
 * remote host (named with gcs_ keys), an s3_ setting (x-amz SSE among
 * them) as a setting of the other type.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <stdlib.h>
#include <sys/stat.h>

#include "common/config.h"
#include "storage/s3/storage_s3.h"
#include "tap.h"
#include "test_support.h"

#define SRC "/etc/pg_dr.conf"

static DrConfig *
parse(const char *text, DrError *err)
{
	drErrorClear(err);
	return configParse(text, strlen(text), SRC, err);
}

/* The lines of a valid s3 repository, and extra lines after them. */
static char *
conf(const char *extra)
{
	return psprintf("repo1_type = s3\n"
					"repo1_s3_bucket = backups\n"
					"repo1_s3_key = AKIDEXAMPLE\n"
					"repo1_cipher_type = none\n"
					"%s", extra);
}

static void
expectRefused(const char *extra, const char *want, const char *what)
{
	DrError		err;
	char	   *text = conf(extra);
	DrConfig   *config = parse(text, &err);

	ok(config == NULL && err.code == DR_ERR_CONFIG, "%s: refused", what);
	if (!ok(strstr(err.message, want) != NULL, "%s: message", what))
		diag("message: %s\n#    wanted: %s", err.message, want);
	if (config)
		configFree(config);
	pfree(text);
}

static void
testKeys(void)
{
	char	   *s;

	is_str(s = storageS3PrefixNormalize("/cluster/main/"), "cluster/main",
		   "prefix: slashes at both ends dropped");
	pfree(s);
	is_str(s = storageS3PrefixNormalize(NULL), "", "prefix: none");
	pfree(s);
	is_str(s = storageS3PrefixNormalize("/"), "", "prefix: the root is none");
	pfree(s);

	is_str(s = storageS3Key("cluster/main", "backup/x/manifest"),
		   "cluster/main/backup/x/manifest", "key under a prefix");
	pfree(s);
	is_str(s = storageS3Key("", "pg_dr.repo"), "pg_dr.repo", "key without a prefix");
	pfree(s);
	is_str(s = storageS3Key("p", ""), "p", "the root's key is the prefix");
	pfree(s);

	is_str(s = storageS3DirPrefix("p", ""), "p/", "listing the root under a prefix");
	pfree(s);
	is_str(s = storageS3DirPrefix("", ""), "", "listing the root of the bucket");
	pfree(s);
	is_str(s = storageS3DirPrefix("", "archive/wal"), "archive/wal/",
		   "listing a directory");
	pfree(s);

	is_str(s = storageS3ListLeastNext("000000010000000000000005.00000028.backup"),
		   "000000010000000000000005", "least next name: cut before '.'");
	pfree(s);
	is_str(s = storageS3ListLeastNext("base/"), "base/",
		   "least next name: '/' and above kept");
	pfree(s);
	is_str(s = storageS3ListLeastNext("a-b"), "a", "least next name: cut before '-'");
	pfree(s);

	ok(storageS3EndpointIsLoopback("127.0.0.1:9000"), "loopback: 127.0.0.1 with a port");
	ok(storageS3EndpointIsLoopback("localhost"), "loopback: localhost");
	ok(storageS3EndpointIsLoopback("[::1]:443"), "loopback: [::1]");
	ok(!storageS3EndpointIsLoopback("127.0.0.10:9000"), "not loopback: 127.0.0.10");
	ok(!storageS3EndpointIsLoopback("localhost.example.com"),
	   "not loopback: a name starting with localhost");
	ok(!storageS3EndpointIsLoopback("s3.amazonaws.com"), "not loopback: S3");
}

static void
testSettings(void)
{
	DrError		err;
	DrConfig   *config;
	const ConfigRepo *r;
	char	   *text;

	text = conf("repo1_s3_key_secret = wJalrXUtnFEMI\nrepo1_s3_token = tok3n\n"
				"repo1_s3_endpoint = 127.0.0.1:9000\nrepo1_s3_tls = off\n"
				"repo1_path = /cluster/main/\nrepo1_s3_sse = AWS:KMS\n"
				"repo1_s3_sse_kms_key_id = kms-1\n");
	config = parse(text, &err);
	if (!ok(config != NULL, "a full s3 configuration is accepted"))
		diag("%s", err.message);
	else
	{
		r = &config->repo[1];
		is_str(configRepoGet(r, "s3_region"), "us-east-1", "default region");
		is_str(configRepoGet(r, "s3_uri_style"), "host", "default uri style");
		is_str(configRepoGet(r, "s3_sse"), "aws:kms", "sse as listed");
		ok(!configRepoGetBool(r, "s3_tls"), "TLS off for loopback");
		is_int((int) (configRepoGetInt(r, "s3_part_size") / (1024 * 1024)), 16,
			   "default part size 16 MiB");
		is_int((int) configRepoGetInt(r, "s3_list_max"), 1000, "default list size");
		is_str(r->path, "backups", "the bucket names the repository");
		for (int i = 0; i < config->itemCount; i++)
			if (strstr(config->items[i].value, "wJalrXUtnFEMI") != NULL ||
				strstr(config->items[i].value, "tok3n") != NULL)
				ok(false, "secret shown in item %s", config->items[i].name);
		is_str(itemFind(config, "repo1_s3_key_secret")->value, "********",
			   "the secret is masked");
		is_str(itemFind(config, "repo1_s3_token")->value, "********",
			   "the token is masked");
		configFree(config);
	}
	pfree(text);

	expectRefused("repo1_s3_key_secret = x\nrepo1_s3_endpoint = s3.example.com\n"
				  "repo1_s3_tls = off\n",
				  "\"repo1_s3_tls = off\" is allowed only for a loopback endpoint",
				  "TLS off toward another host");
	expectRefused("repo1_s3_key_secret = x\nrepo1_s3_endpoint = localhost:9\n"
				  "repo1_s3_tls = off\nrepo1_s3_ca_file = /etc/ca.pem\n",
				  "a CA for TLS is set but repo1_s3_tls is off", "a CA with TLS off");
	expectRefused("repo1_s3_key_secret = x\nrepo1_s3_key_secret_file = /etc/s\n",
				  "cannot both be set", "secret and secret file");
	expectRefused("", "\"repo1_s3_key\" and its secret", "a key without its secret");
	expectRefused("repo1_s3_key_secret = x\nrepo1_s3_endpoint = https://s3.example.com\n",
				  "must be host[:port], without a scheme or path", "an endpoint with a scheme");
	expectRefused("repo1_s3_key_secret = x\nrepo1_s3_part_size = 4MB\n",
				  "repo1_s3_part_size", "a part size below 5 MiB");
	expectRefused("repo1_s3_key_secret = x\nrepo1_s3_sse_kms_key_id = k\n",
				  "needs repo1_s3_sse = aws:kms", "a KMS key id without aws:kms");
	expectRefused("repo1_s3_key_secret = x\nrepo1_s3_uri_style = virtual\n",
				  "repo1_s3_uri_style", "an unknown uri style");

	config = parse("repo1_type = s3\nrepo1_s3_bucket = a/b\nrepo1_cipher_type = none\n", &err);
	ok(config == NULL && strstr(err.message, "must be a bucket name") != NULL,
	   "a bucket with '/' is refused");
	config = parse("repo1_type = s3\nrepo1_s3_bucket = b\nrepo1_s3_token = t\n"
				   "repo1_cipher_type = none\n", &err);
	ok(config == NULL && strstr(err.message, "\"repo1_s3_token\" needs repo1_s3_key") != NULL,
	   "a token without a key is refused");
}

static void
testSecretFile(void)
{
	char		root[] = "/tmp/test_storage_s3.XXXXXX";
	char	   *path;
	char	   *secret;
	DrError		err;

	testTmpRootMake(root);
	path = psprintf("%s/secret", root);
	fileWrite(path, "wJalrXUtnFEMI/K7MDENG\n");
	chmod(path, 0600);
	drErrorClear(&err);
	secret = storageS3SecretFileRead(path, &err);
	is_str(secret ? secret : "(null)", "wJalrXUtnFEMI/K7MDENG",
		   "secret file: read, newline dropped");
	if (secret)
		pfree(secret);

	chmod(path, 0640);
	secret = storageS3SecretFileRead(path, &err);
	ok(secret == NULL && err.code == DR_ERR_PERMISSION &&
	   strstr(err.message, "is accessible by group or others (mode 0640)") != NULL &&
	   strstr(err.hint, "chmod 600") != NULL,
	   "secret file readable by the group: refused, with the mode and the fix");

	fileWrite(path, "\n");
	chmod(path, 0600);
	secret = storageS3SecretFileRead(path, &err);
	ok(secret == NULL && strstr(err.message, "is empty") != NULL,
	   "an empty secret file is refused");

	secret = storageS3SecretFileRead("/nonexistent/secret", &err);
	ok(secret == NULL && err.code == DR_ERR_NOT_FOUND, "a missing secret file: not found");

	testTreeRemove(root);
	pfree(path);
}

static void
testNoCredentials(void)
{
	DrError		err;
	DrConfig   *config;
	Storage    *storage;

	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_ROLE_ARN");
	unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
	config = parse("repo1_type = s3\nrepo1_s3_bucket = b\nrepo1_cipher_type = none\n", &err);
	if (!ok(config != NULL, "credentials may come from the environment"))
		return;
	storage = storageOpen(&config->repo[1], &err);
	ok(storage == NULL && err.code == DR_ERR_CONFIG &&
	   strstr(err.message, "no credentials") != NULL &&
	   strstr(err.hint, "AWS_ACCESS_KEY_ID") != NULL,
	   "no credentials anywhere: said, with where they come from");
	configFree(config);
}

static void
testWebIdentity(void)
{
	DrError		err;
	DrConfig   *config;
	Storage    *storage;
	const char *wi = "repo1_type = s3\nrepo1_s3_bucket = b\nrepo1_cipher_type = none\n"
		"repo1_s3_role_arn = 'arn:aws:iam::123456789012:role/r'\n"
		"repo1_s3_web_identity_token_file = /var/run/token\n";

	config = parse(wi, &err);
	if (ok(config != NULL, "web identity: role ARN and token file accepted"))
	{
		/* nothing is sent before the first request: STS is not asked yet */
		storage = storageOpen(&config->repo[1], &err);
		ok(storage != NULL, "opened without credentials in hand");
		if (storage)
			storageFree(storage);
		configFree(config);
	}
	else
		diag("%s", err.message);
	config = parse("repo1_type = s3\nrepo1_s3_bucket = b\nrepo1_cipher_type = none\n"
				   "repo1_s3_role_arn = 'arn:aws:iam::123456789012:role/r'\n", &err);
	ok(config == NULL && strstr(err.message, "\"repo1_s3_role_arn\" and \"repo1_s3_web_identity_token_file\" go together") != NULL,
	   "a role ARN without a token file is refused");
	config = parse("repo1_type = s3\nrepo1_s3_bucket = b\nrepo1_cipher_type = none\n"
				   "repo1_s3_web_identity_token_file = /t\n", &err);
	ok(config == NULL && strstr(err.message, "go together") != NULL,
	   "a token file without a role ARN is refused");
	expectRefused("repo1_s3_key_secret = x\nrepo1_s3_role_arn = arn:aws:iam::1:role/r\n"
				  "repo1_s3_web_identity_token_file = /t\n",
				  "\"repo1_s3_role_arn\" (web identity) and \"repo1_s3_key\" cannot both be set",
				  "web identity and a key");
	config = parse(tsprintf("%srepo1_s3_sts_endpoint = https://sts.example.com\n", wi), &err);
	ok(config == NULL && strstr(err.message, "\"repo1_s3_sts_endpoint\" must be host[:port]") != NULL,
	   "an STS endpoint with a scheme is refused");
}

/* The lines of a valid gcs repository, and extra lines after them. */
static char *
gcsConf(const char *extra)
{
	return tsprintf("repo1_type = gcs\n"
					"repo1_gcs_bucket = pg-backups\n"
					"repo1_cipher_type = none\n"
					"%s", extra);
}

static void
gcsRefused(const char *extra, const char *want, const char *what)
{
	DrError		err;
	DrConfig   *config = parse(gcsConf(extra), &err);

	ok(config == NULL && err.code == DR_ERR_CONFIG, "gcs, %s: refused", what);
	if (!ok(config == NULL && strstr(err.message, want) != NULL, "gcs, %s: message", what))
		diag("message: %s\n#    wanted: %s", err.message, want);
	if (config)
		configFree(config);
}

static void
testGcs(void)
{
	DrError		err;
	DrConfig   *config;
	const ConfigRepo *r;

	config = parse(gcsConf("repo1_gcs_key = GOOG1EXAMPLE\nrepo1_gcs_key_secret = bGoa+V7g/yqDXvKRqq+JTFn4uQZbPiQJo4pf9RzJ\n"
						   "repo1_path = /prod/\n"), &err);
	if (!ok(config != NULL, "a gcs configuration is accepted"))
		diag("%s", err.message);
	else
	{
		Storage    *storage;

		r = &config->repo[1];
		is_str(r->driver->type, "gcs", "of type gcs");
		is_str(configRepoGet(r, "gcs_endpoint"), "storage.googleapis.com",
			   "default endpoint");
		is_str(configRepoGet(r, "gcs_uri_style"), "host", "default uri style");
		ok(configRepoGetBool(r, "gcs_tls"), "TLS on");
		is_int((int) (configRepoGetInt(r, "gcs_part_size") / (1024 * 1024)), 16,
			   "default part size 16 MiB");
		is_int((int) configRepoGetInt(r, "gcs_list_max"), 1000, "default list size");
		is_str(r->path, "pg-backups", "the bucket names the repository");
		is_str(itemFind(config, "repo1_gcs_key_secret")->value, "********",
			   "the secret is masked");
		storage = storageOpen(r, &err);
		ok(storage != NULL && strcmp(storageName(storage), "s3") == 0,
		   "opened by the s3 driver");
		if (storage)
			storageFree(storage);
		configFree(config);
	}
	gcsRefused("", "\"repo1_gcs_key\" is required", "no HMAC key");
	gcsRefused("repo1_gcs_key = GOOG1EXAMPLE\n",
			   "\"repo1_gcs_key\" and its secret (repo1_gcs_key_secret or repo1_gcs_key_secret_file) go together",
			   "a key without its secret");
	gcsRefused("repo1_gcs_key = G\nrepo1_gcs_key_secret = s\nrepo1_gcs_tls = off\n",
			   "\"repo1_gcs_tls = off\" is allowed only for a loopback endpoint",
			   "TLS off toward storage.googleapis.com");
	gcsRefused("repo1_gcs_key = G\nrepo1_gcs_key_secret = s\nrepo1_s3_sse = aes256\n",
			   "unknown setting \"repo1_s3_sse\" for a repository of type gcs",
			   "x-amz server-side encryption");
	gcsRefused("repo1_gcs_key = G\nrepo1_gcs_key_secret = s\nrepo1_gcs_endpoint = http://x\n",
			   "\"repo1_gcs_endpoint\" must be host[:port]", "an endpoint with a scheme");
}

int
main(void)
{
	storageDriversRegister();
	testKeys();
	testSettings();
	testSecretFile();
	testNoCredentials();
	testWebIdentity();
	testGcs();
	trackFree();
	return tapDone();
}
