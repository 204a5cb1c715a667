/*-------------------------------------------------------------------------
 * azure_response.c
 *	  The Blob service's XML bodies read into C values (azure_response.h).
 *
 * The reader follows the element path the XML reader reports:
 * EnumerationResults (depth 1) holds the scalars Prefix, Marker,
 * MaxResults, Delimiter and NextMarker (depth 2) and Blobs (depth 2),
 * whose Blob and BlobPrefix (depth 3) are the entries: Name (depth 4),
 * and for a blob Properties (depth 4) with Content-Length, Last-Modified
 * and Etag (depth 5).  An entry is handed to the caller when it closes.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "storage/azure/azure_response.h"
#include "storage/s3/s3_xml.h"

typedef struct AzureReader
{
	AzureResponseParam param;
	AzureResponse res;
	bool		ownError;
	bool		inBlobs;		/* inside <Blobs> */
	int			entry;			/* 0 none, 1 Blob, 2 BlobPrefix */
	bool		inProperties;
	char	   *name;
	char	   *etag;
	bool		haveSize;
	int64		size;
	bool		haveTime;
	time_t		lastModified;
} AzureReader;

static bool azureResponseFail(AzureReader *r, DrError *err, const char *fmt,...) pg_attribute_printf(3, 4);

static bool
azureResponseFail(AzureReader *r, DrError *err, const char *fmt,...)
{
	char		msg[512];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->ownError = true;
	return drErrorSet(err, DR_ERR_CORRUPT, "Azure response: %s", msg);
}

static void
azureFree(char **s)
{
	if (*s)
		pfree(*s);
	*s = NULL;
}

static void
azureEntryClear(AzureReader *r)
{
	azureFree(&r->name);
	azureFree(&r->etag);
	r->haveSize = false;
	r->haveTime = false;
	r->inProperties = false;
}

void
azureResponseClear(AzureResponse *out)
{
	azureFree(&out->code);
	azureFree(&out->message);
	azureFree(&out->authDetail);
	azureFree(&out->prefix);
	azureFree(&out->marker);
	azureFree(&out->delimiter);
	azureFree(&out->nextMarker);
	memset(out, 0, sizeof(*out));
	out->maxResults = -1;
}

static bool
azureKeep(AzureReader *r, char **field, const char *name, const char *text,
		  DrError *err)
{
	if (*field)
		return azureResponseFail(r, err, "element <%s> given twice", name);
	*field = pstrdup(text);
	return true;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64
azureDays(int y, int m, int d)
{
	int64		era;
	int			yoe;
	int			doy;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	return era * 146097 + (int64) yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static bool
azureNum(const char *s, int len, int min, int max, int *v)
{
	*v = 0;
	for (int i = 0; i < len; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return *v >= min && *v <= max;
}

bool
azureResponseTimeParse(const char *s, time_t *t)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int			y,
				mo = -1,
				d,
				h,
				mi,
				sec;
	bool		dayOk = false;

	/* "Wed, 09 Sep 2009 09:20:03 GMT": 29 characters */
	if (strlen(s) != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' ||
		s[11] != ' ' || s[16] != ' ' || s[19] != ':' || s[22] != ':' ||
		strcmp(s + 25, " GMT") != 0)
		return false;
	for (int i = 0; i < 7; i++)
		if (strncmp(s, days[i], 3) == 0)
			dayOk = true;
	for (int i = 0; i < 12; i++)
		if (strncmp(s + 8, months[i], 3) == 0)
			mo = i + 1;
	if (!dayOk || mo < 0 ||
		!azureNum(s + 12, 4, 1970, 9999, &y) ||
		!azureNum(s + 5, 2, 1, mdays[mo - 1], &d) ||
		!azureNum(s + 17, 2, 0, 23, &h) || !azureNum(s + 20, 2, 0, 59, &mi) ||
		!azureNum(s + 23, 2, 0, 60, &sec))
		return false;
	*t = (time_t) (azureDays(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec);
	return true;
}

static bool
azureSize(const char *s, int64 *v)
{
	*v = 0;
	if (*s == '\0')
		return false;
	for (; *s; s++)
	{
		if (*s < '0' || *s > '9' || *v > (PG_INT64_MAX - (*s - '0')) / 10)
			return false;
		*v = *v * 10 + (*s - '0');
	}
	return true;
}

static bool
azureStart(void *arg, int depth, const char *name, DrError *err)
{
	AzureReader *r = arg;

	if (depth == 1)
	{
		const char *want = r->param.kind == AZURE_RESPONSE_LIST ?
			"EnumerationResults" : "Error";

		if (strcmp(name, "Error") == 0)
			r->res.isError = true;
		else if (strcmp(name, want) != 0)
		{
			char		vbuf[DR_ERROR_VALUE_BUF];

			return azureResponseFail(r, err, "expected an <%s> document, got <%s>",
									 want, drErrorValue(name, vbuf));
		}
		return true;
	}
	if (r->res.isError || r->param.kind != AZURE_RESPONSE_LIST)
		return true;
	if (depth == 2 && strcmp(name, "Blobs") == 0)
		r->inBlobs = true;
	else if (depth == 3 && r->inBlobs)
	{
		azureEntryClear(r);
		r->entry = strcmp(name, "Blob") == 0 ? 1 :
			strcmp(name, "BlobPrefix") == 0 ? 2 : 0;
	}
	else if (depth == 4 && r->entry == 1 && strcmp(name, "Properties") == 0)
		r->inProperties = true;
	return true;
}

/* An entry closed: checked and handed to the caller. */
static bool
azureEntryEnd(AzureReader *r, DrError *err)
{
	AzureListEntry e = {0};
	bool		ok;

	if (r->name == NULL || r->name[0] == '\0')
		return azureResponseFail(r, err, "<%s> without a <Name>",
								 r->entry == 1 ? "Blob" : "BlobPrefix");
	if (!s3XmlUtf8Valid(r->name, strlen(r->name)))
		return azureResponseFail(r, err, "a <Name> that is not UTF-8");
	if (r->entry == 1 && !(r->haveSize && r->haveTime))
		return azureResponseFail(r, err, "<Blob> without <Content-Length> or <Last-Modified>");
	e.name = r->name;
	e.isPrefix = r->entry == 2;
	e.size = r->size;
	e.lastModified = r->lastModified;
	e.etag = r->etag;
	r->res.entries++;
	if (e.isPrefix)
		r->res.prefixes++;
	ok = r->param.listEntry(r->param.arg, &e, err);
	if (!ok)
		r->ownError = true;
	return ok;
}

static bool
azureEnd(void *arg, int depth, const char *name, const char *text,
		 size_t textLen, bool leaf, DrError *err)
{
	AzureReader *r = arg;
	AzureResponse *res = &r->res;

	if (res->isError)
	{
		if (depth != 2 || !leaf)
			return true;
		if (strcmp(name, "Code") == 0)
			return azureKeep(r, &res->code, name, text, err);
		if (strcmp(name, "Message") == 0)
			return azureKeep(r, &res->message, name, text, err);
		if (strcmp(name, "AuthenticationErrorDetail") == 0)
			return azureKeep(r, &res->authDetail, name, text, err);
		return true;
	}
	if (r->param.kind != AZURE_RESPONSE_LIST)
		return true;
	if (depth == 2)
	{
		if (strcmp(name, "Blobs") == 0)
		{
			r->inBlobs = false;
			return true;
		}
		if (!leaf)
			return true;
		if (strcmp(name, "Prefix") == 0)
			return azureKeep(r, &res->prefix, name, text, err);
		if (strcmp(name, "Marker") == 0)
			return azureKeep(r, &res->marker, name, text, err);
		if (strcmp(name, "Delimiter") == 0)
			return azureKeep(r, &res->delimiter, name, text, err);
		if (strcmp(name, "NextMarker") == 0)
			return azureKeep(r, &res->nextMarker, name, text, err);
		if (strcmp(name, "MaxResults") == 0)
		{
			int64		n;

			if (res->maxResults >= 0)
				return azureResponseFail(r, err, "element <MaxResults> given twice");
			if (!azureSize(text, &n) || n > PG_INT32_MAX)
				return azureResponseFail(r, err, "<MaxResults> is not a count");
			res->maxResults = (int) n;
		}
		return true;
	}
	if (!r->inBlobs || r->entry == 0)
		return true;
	if (depth == 3)
	{
		bool		ok = azureEntryEnd(r, err);

		azureEntryClear(r);
		r->entry = 0;
		return ok;
	}
	if (depth == 4)
	{
		if (strcmp(name, "Properties") == 0)
			r->inProperties = false;
		else if (leaf && strcmp(name, "Name") == 0)
			return azureKeep(r, &r->name, name, text, err);
		return true;
	}
	if (depth == 5 && r->inProperties && leaf)
	{
		if (strcmp(name, "Content-Length") == 0)
		{
			if (r->haveSize)
				return azureResponseFail(r, err, "element <Content-Length> given twice");
			if (!azureSize(text, &r->size))
				return azureResponseFail(r, err, "<Content-Length> is not a size in bytes");
			r->haveSize = true;
		}
		else if (strcmp(name, "Last-Modified") == 0)
		{
			if (r->haveTime)
				return azureResponseFail(r, err, "element <Last-Modified> given twice");
			if (!azureResponseTimeParse(text, &r->lastModified))
				return azureResponseFail(r, err, "<Last-Modified> is not an RFC 1123 date");
			r->haveTime = true;
		}
		else if (strcmp(name, "Etag") == 0)
			return azureKeep(r, &r->etag, name, text, err);
	}
	return true;
}

bool
azureResponseParseChunked(const AzureResponseParam *param, const char *body,
						  size_t len, size_t chunk, AzureResponse *out,
						  DrError *err)
{
	AzureReader *r = palloc0(sizeof(AzureReader));
	S3XmlCallbacks cb = {azureStart, azureEnd, r};
	S3Xml	   *xml;
	bool		ok = true;

	memset(out, 0, sizeof(*out));
	out->maxResults = -1;
	r->param = *param;
	r->res.maxResults = -1;
	xml = s3XmlNew(&cb);
	/* the Blob service starts its XML bodies with a UTF-8 byte order mark */
	if (len >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0)
	{
		body += 3;
		len -= 3;
	}
	if (chunk == 0)
		chunk = Max(len, 1);
	for (size_t pos = 0; ok && pos < len; pos += chunk)
		ok = s3XmlFeed(xml, body + pos, Min(chunk, len - pos), err);
	if (ok)
		ok = s3XmlFinish(xml, err);
	if (!ok && !r->ownError)
		drErrorPrefix(err, "Azure response: ");
	if (ok && r->res.isError && (r->res.code == NULL || r->res.code[0] == '\0'))
		ok = azureResponseFail(r, err, "<Error> without a <Code>");
	if (ok && !r->res.isError && param->kind == AZURE_RESPONSE_ERROR)
		ok = azureResponseFail(r, err, "expected an <Error> document");
	s3XmlFree(xml);
	azureEntryClear(r);
	if (ok)
		*out = r->res;
	else
		azureResponseClear(&r->res);
	pfree(r);
	return ok;
}

bool
azureResponseParse(const AzureResponseParam *param, const char *body,
				   size_t len, AzureResponse *out, DrError *err)
{
	return azureResponseParseChunked(param, body, len, 0, out, err);
}
