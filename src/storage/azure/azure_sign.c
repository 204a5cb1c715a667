/*-------------------------------------------------------------------------
 * azure_sign.c
 *	  Azure Storage Shared Key authorization (see azure_sign.h): string to
 *	  sign, HMAC-SHA256 signature, the Authorization header's value.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "lib/stringinfo.h"
#include "storage/azure/azure_sign.h"

/* A decoded account key is 64 bytes; room for longer ones. */
#define AZURE_SIGN_KEY_MAX	256

struct AzureSigner
{
	char	   *account;
	uint8		key[AZURE_SIGN_KEY_MAX];
	size_t		keyLen;
};

/* The standard headers of the string to sign, in its order (Content-Length apart). */
static const char *const azureSignStandard[] = {
	"content-encoding", "content-language", NULL /* content-length */ ,
	"content-md5", "content-type", "date", "if-modified-since", "if-match",
	"if-none-match", "if-unmodified-since", "range"
};

/* The value of a base64 character, -1 for another. */
static int
azureSignB64Value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Strict base64 (padding required, nothing else but the alphabet) into
 * out (at most outMax bytes); -1 when malformed or too long.
 */
static int
azureSignB64Decode(const char *s, uint8 *out, size_t outMax)
{
	size_t		len = strlen(s);
	size_t		n = 0;

	if (len == 0 || len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 4)
	{
		int			v[4];
		int			pad = 0;

		for (int k = 0; k < 4; k++)
		{
			if (s[i + k] == '=' && i + 4 == len && k >= 2)
			{
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0 || (v[k] = azureSignB64Value(s[i + k])) < 0)
				return -1;
		}
		if (n + 3 - pad > outMax)
			return -1;
		out[n++] = (uint8) ((v[0] << 2) | (v[1] >> 4));
		if (pad < 2)
			out[n++] = (uint8) (((v[1] & 15) << 4) | (v[2] >> 2));
		if (pad < 1)
			out[n++] = (uint8) (((v[2] & 3) << 6) | v[3]);
	}
	return (int) n;
}

AzureSigner *
azureSignerNew(const char *account, const char *keyBase64, DrError *err)
{
	AzureSigner *signer = palloc0(sizeof(AzureSigner));
	int			n = azureSignB64Decode(keyBase64, signer->key, sizeof(signer->key));

	if (n <= 0)
	{
		OPENSSL_cleanse(signer, sizeof(*signer));
		pfree(signer);
		drErrorSet(err, DR_ERR_CONFIG,
				   "the Azure account key of \"%s\" is not valid base64", account);
		drErrorHint(err, "copy the key (key1 or key2) of the storage account as the portal or \"az storage account keys list\" shows it");
		return NULL;
	}
	signer->keyLen = n;
	signer->account = pstrdup(account);
	return signer;
}

void
azureSignerFree(AzureSigner *signer)
{
	if (signer == NULL)
		return;
	pfree(signer->account);
	OPENSSL_cleanse(signer, sizeof(*signer));
	pfree(signer);
}

static bool
azureSignHasControl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char) *s < 0x20 && *s != '\t')
			return true;
	return false;
}

typedef struct AzureSignHeader
{
	char	   *name;			/* lower case */
	const char *value;
} AzureSignHeader;

static int
azureSignHeaderCmp(const void *a, const void *b)
{
	return strcmp(((const AzureSignHeader *) a)->name,
				  ((const AzureSignHeader *) b)->name);
}

/* A value trimmed, its runs of white space made one space. */
static void
azureSignAppendValue(StringInfo buf, const char *v)
{
	bool		space = false;

	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v; v++)
	{
		if (*v == ' ' || *v == '\t')
			space = true;
		else
		{
			if (space)
				appendStringInfoChar(buf, ' ');
			space = false;
			appendStringInfoChar(buf, *v);
		}
	}
}

typedef struct AzureSignQuery
{
	char	   *name;			/* lower case */
	const char *value;
} AzureSignQuery;

static int
azureSignQueryCmp(const void *a, const void *b)
{
	const AzureSignQuery *x = a;
	const AzureSignQuery *y = b;
	int			c = strcmp(x->name, y->name);

	return c != 0 ? c : strcmp(x->value, y->value);
}

char *
azureStringToSign(const char *account, const AzureSignRequest *req,
				  DrError *err)
{
	StringInfoData buf;
	AzureSignHeader *h = palloc(sizeof(AzureSignHeader) * (req->headerCount + 1));
	AzureSignQuery *q = palloc(sizeof(AzureSignQuery) * (req->queryCount + 1));
	int			hn = 0;
	bool		ok = true;

	for (int i = 0; i < req->headerCount; i++)
	{
		if (azureSignHasControl(req->headers[i].name) ||
			azureSignHasControl(req->headers[i].value))
		{
			ok = drErrorSet(err, DR_ERR_INVALID,
							"header \"%s\" holds a control character",
							req->headers[i].name);
			break;
		}
		h[hn].name = pstrdup(req->headers[i].name);
		for (char *p = h[hn].name; *p; p++)
			*p = pg_tolower((unsigned char) *p);
		h[hn].value = req->headers[i].value;
		for (int k = 0; k < hn && ok; k++)
			if (strcmp(h[k].name, h[hn].name) == 0)
				ok = drErrorSet(err, DR_ERR_INVALID, "header \"%s\" given twice",
								h[hn].name);
		hn++;
		if (!ok)
			break;
	}
	if (!ok)
	{
		for (int i = 0; i < hn; i++)
			pfree(h[i].name);
		pfree(h);
		pfree(q);
		return NULL;
	}

	initStringInfo(&buf);
	appendStringInfo(&buf, "%s\n", req->method);
	for (int s = 0; s < (int) lengthof(azureSignStandard); s++)
	{
		const char *value = "";

		if (azureSignStandard[s] == NULL)
		{
			if (req->contentLength > 0)
				appendStringInfo(&buf, UINT64_FORMAT, req->contentLength);
			appendStringInfoChar(&buf, '\n');
			continue;
		}
		for (int i = 0; i < hn; i++)
			if (strcmp(h[i].name, azureSignStandard[s]) == 0)
				value = h[i].value;
		appendStringInfo(&buf, "%s\n", value);
	}

	qsort(h, hn, sizeof(AzureSignHeader), azureSignHeaderCmp);
	for (int i = 0; i < hn; i++)
		if (strncmp(h[i].name, "x-ms-", 5) == 0)
		{
			appendStringInfo(&buf, "%s:", h[i].name);
			azureSignAppendValue(&buf, h[i].value);
			appendStringInfoChar(&buf, '\n');
		}

	appendStringInfo(&buf, "/%s%s", account, req->path[0] ? req->path : "/");
	for (int i = 0; i < req->queryCount; i++)
	{
		q[i].name = pstrdup(req->query[i].name);
		for (char *p = q[i].name; *p; p++)
			*p = pg_tolower((unsigned char) *p);
		q[i].value = req->query[i].value;
	}
	qsort(q, req->queryCount, sizeof(AzureSignQuery), azureSignQueryCmp);
	for (int i = 0; i < req->queryCount; i++)
	{
		if (i > 0 && strcmp(q[i].name, q[i - 1].name) == 0)
			appendStringInfo(&buf, ",%s", q[i].value);
		else
			appendStringInfo(&buf, "\n%s:%s", q[i].name, q[i].value);
	}

	for (int i = 0; i < hn; i++)
		pfree(h[i].name);
	for (int i = 0; i < req->queryCount; i++)
		pfree(q[i].name);
	pfree(h);
	pfree(q);
	return buf.data;
}

bool
azureSignText(const AzureSigner *signer, const char *text,
			  char sig[AZURE_SIGN_SIG_LEN], DrError *err)
{
	uint8		md[EVP_MAX_MD_SIZE];
	unsigned int mdLen = 0;

	if (HMAC(EVP_sha256(), signer->key, (int) signer->keyLen,
			 (const unsigned char *) text, strlen(text), md, &mdLen) == NULL ||
		mdLen != 32)
		return drErrorSet(err, DR_ERR_INTERNAL, "could not compute HMAC-SHA256");
	EVP_EncodeBlock((unsigned char *) sig, md, (int) mdLen);
	OPENSSL_cleanse(md, sizeof(md));
	return true;
}

char *
azureSignAuthorization(const AzureSigner *signer, const AzureSignRequest *req,
					   DrError *err)
{
	char	   *text = azureStringToSign(signer->account, req, err);
	char		sig[AZURE_SIGN_SIG_LEN];
	char	   *result;

	if (text == NULL)
		return NULL;
	if (!azureSignText(signer, text, sig, err))
	{
		pfree(text);
		return NULL;
	}
	result = psprintf("SharedKey %s:%s", signer->account, sig);
	pfree(text);
	return result;
}

void
azureSignDateFormat(time_t t, char buf[AZURE_SIGN_DATE_LEN])
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm	tm;

	gmtime_r(&t, &tm);
	snprintf(buf, AZURE_SIGN_DATE_LEN, "%s, %02d %s %04d %02d:%02d:%02d GMT",
			 days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
}

char *
azureSignPathEncode(const char *s)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
			c == '~' || c == '/')
			appendStringInfoChar(&buf, (char) c);
		else
			appendStringInfo(&buf, "%%%02X", c);
	}
	return buf.data;
}
