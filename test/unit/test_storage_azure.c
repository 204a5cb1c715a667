/*-------------------------------------------------------------------------
 * test_storage_azure.c
 *	  Unit tests of the Azure driver's pure parts (storage/azure/
 *	  storage_azure.h, settings.c): blob name mapping, block ids and the
 *	  driver's settings.  The signer is test_storage_azure_sign.c's, the
 *	  XML bodies test_storage_azure_response.c's, requests against a
 *	  server t/053_azure.pl's.
 *
 * Covers: block ids (base64 of the write's tag and the block number, all
 * of one length); the name prefix from repoN_path (slashes at either end
 * dropped, none), the blob name of a path with and without a prefix, the
 * name prefix of a listed directory (root and below); loopback endpoints
 * (127.0.0.1, localhost, [::1], look-alikes refused); settings: a
 * configuration accepted with its defaults (uri style, TLS, block size,
 * list size); refused with their messages: no credential, two
 * credentials, TLS off toward a host that is not loopback, a CA with TLS
 * off, an endpoint with a scheme, a block size below 64 kB, an account
 * name with capitals, a container name with a double hyphen.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "common/config.h"
#include "storage/azure/storage_azure.h"
#include "tap.h"
#include "test_support.h"

#define DEVKEY "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
#define SRC "/etc/pg_dr.conf"

static void
testNames(void)
{
	char		id[40];
	char	   *s;

	storageAzureBlockId("0123456789abcdef", 1, id);
	is_str(id, "MDEyMzQ1Njc4OWFiY2RlZi0wMDAwMDAx", "block id: base64 of tag-0000001");
	storageAzureBlockId("0123456789abcdef", 50000, id);
	is_int(strlen(id), 32, "block ids all of one length");

	is_str(s = storageAzurePrefixNormalize("/cluster/main/"), "cluster/main",
		   "prefix: slashes at both ends dropped");
	pfree(s);
	is_str(s = storageAzurePrefixNormalize(NULL), "", "prefix: none");
	pfree(s);
	is_str(s = storageAzureBlobName("cluster/main", "backup/x"), "cluster/main/backup/x",
		   "blob name under a prefix");
	pfree(s);
	is_str(s = storageAzureBlobName("", "pg_dr.repo"), "pg_dr.repo", "blob name without a prefix");
	pfree(s);
	is_str(s = storageAzureDirPrefix("p", ""), "p/", "listing the root under a prefix");
	pfree(s);
	is_str(s = storageAzureDirPrefix("", ""), "", "listing the root of the container");
	pfree(s);
	is_str(s = storageAzureDirPrefix("", "archive/wal"), "archive/wal/", "listing a directory");
	pfree(s);

	ok(storageAzureEndpointIsLoopback("127.0.0.1:10000"), "loopback: 127.0.0.1 with a port");
	ok(storageAzureEndpointIsLoopback("localhost"), "loopback: localhost");
	ok(storageAzureEndpointIsLoopback("[::1]:443"), "loopback: [::1]");
	ok(!storageAzureEndpointIsLoopback("localhost.example.com"),
	   "not loopback: a name starting with localhost");
	ok(!storageAzureEndpointIsLoopback("acct.blob.core.windows.net"), "not loopback: Azure");
}

static DrConfig *
parse(const char *text, DrError *err)
{
	drErrorClear(err);
	return configParse(text, strlen(text), SRC, err);
}

static char *
conf(const char *extra)
{
	return psprintf("repo1_type = azure\n"
					"repo1_azure_account = acct01\n"
					"repo1_azure_container = pg-dr\n"
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
testSettings(void)
{
	DrError		err;
	DrConfig   *config;
	char	   *text;

	text = conf("repo1_azure_key = " DEVKEY "\nrepo1_path = /cluster/main/\n");
	config = parse(text, &err);
	if (!ok(config != NULL, "an azure configuration is accepted"))
		diag("%s", err.message);
	else
	{
		const ConfigRepo *r = &config->repo[1];

		is_str(configRepoGet(r, "azure_uri_style"), "host", "default uri style");
		ok(configRepoGetBool(r, "azure_tls"), "TLS on by default");
		is_int((int) (configRepoGetInt(r, "azure_block_size") / (1024 * 1024)), 16,
			   "default block size 16 MiB");
		is_int((int) configRepoGetInt(r, "azure_list_max"), 5000, "default list size");
		configFree(config);
	}
	pfree(text);

	expectRefused("", "no Azure credentials", "no credential");
	expectRefused("repo1_azure_key = " DEVKEY "\nrepo1_azure_sas = sv=1&sig=x\n",
				  "more than one Azure credential", "a key and a SAS");
	expectRefused("repo1_azure_sas = sig=x\nrepo1_azure_tls = off\n",
				  "allowed only for a loopback endpoint", "TLS off toward Azure");
	expectRefused("repo1_azure_sas = sig=x\nrepo1_azure_tls = off\n"
				  "repo1_azure_endpoint = 127.0.0.1:10000\nrepo1_azure_ca_file = /ca.pem\n",
				  "a CA for TLS is set but", "a CA with TLS off");
	expectRefused("repo1_azure_sas = sig=x\nrepo1_azure_endpoint = https://x\n",
				  "must be host[:port]", "an endpoint with a scheme");
	expectRefused("repo1_azure_sas = sig=x\nrepo1_azure_block_size = 1kB\n",
				  "azure_block_size", "a block size below 64 kB");
	{
		char	   *t = psprintf("repo1_type = azure\nrepo1_azure_account = Acct\n"
								 "repo1_azure_container = c01\nrepo1_azure_sas = sig=x\n"
								 "repo1_cipher_type = none\n");

		config = parse(t, &err);
		ok(config == NULL && strstr(err.message, "must be a storage account name") != NULL,
		   "an account name with capitals is refused");
		pfree(t);
		t = psprintf("repo1_type = azure\nrepo1_azure_account = acct\n"
					 "repo1_azure_container = a--b\nrepo1_azure_sas = sig=x\n"
					 "repo1_cipher_type = none\n");
		config = parse(t, &err);
		ok(config == NULL && strstr(err.message, "must be a container name") != NULL,
		   "a container name with a double hyphen is refused");
		pfree(t);
	}
}

int
main(void)
{
	storageDriversRegister();
	testNames();
	testSettings();
	trackFree();
	return tapDone();
}
