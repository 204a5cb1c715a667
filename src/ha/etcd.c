/*-------------------------------------------------------------------------
 * etcd.c
 *	  The etcd v3 client (see etcd.h): each call is one POST to the JSON
 *	  gateway through the HTTP layer, its body built and its answer read by
 *	  etcd_json.c.
 *
 * An answer with an error status is etcd's own refusal (its JSON says
 * why): gRPC code 5 (NOT_FOUND: an unknown lease) is DR_ERR_NOT_FOUND,
 * the rest DR_ERR_IO for a server-side state (no leader, timeout:
 * 5xx) and DR_ERR_INVALID for a request etcd refused (4xx).  No answer
 * at all moves to the next endpoint.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "common/json.h"
#include "ha/etcd.h"
#include "lib/stringinfo.h"
#include "storage/http/http.h"

struct EtcdClient
{
	HttpClient *http;
	char	   *endpoints[ETCD_ENDPOINTS_MAX];
	int			count;
	int			current;		/* the one that answered last */
	const DrHost *host;
};

void
etcdClientFree(EtcdClient *client)
{
	if (client == NULL)
		return;
	if (client->http)
		httpClientFree(client->http);
	for (int i = 0; i < client->count; i++)
		pfree(client->endpoints[i]);
	pfree(client);
}

EtcdClient *
etcdClientNew(const EtcdClientParam *param, DrError *err)
{
	EtcdClient *client = palloc0(sizeof(EtcdClient));
	HttpClientParam hp;
	const char *p = param->endpoints ? param->endpoints : "";

	/* "url[,url...]", spaces around each allowed */
	while (*p)
	{
		const char *end = strchr(p, ',');
		size_t		len = end ? (size_t) (end - p) : strlen(p);
		char	   *url;
		char		shown[DR_ERROR_VALUE_BUF];

		while (len > 0 && (*p == ' ' || *p == '\t'))
			p++, len--;
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '/'))
			len--;
		url = pnstrdup(p, len);
		if (strchr(url, '@') != NULL)
		{
			/* not repeated: it would show the password */
			drErrorSet(err, DR_ERR_CONFIG, "an etcd endpoint names a user or password "
					   "(not shown), and this client does not authenticate");
			pfree(url);
			etcdClientFree(client);
			return NULL;
		}
		if ((strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) ||
			strlen(url) <= 8 || strpbrk(url, " \t\r\n?#") != NULL)
		{
			drErrorSet(err, DR_ERR_CONFIG, "etcd endpoint \"%s\" is not a URL",
					   drErrorValue(url, shown));
			drErrorHint(err, "give ha_etcd_endpoints as a comma-separated list of URLs, such as "
						"http://10.0.0.1:2379,http://10.0.0.2:2379");
			pfree(url);
			etcdClientFree(client);
			return NULL;
		}
		if (client->count == ETCD_ENDPOINTS_MAX)
		{
			drErrorSet(err, DR_ERR_CONFIG, "more than %d etcd endpoints",
					   ETCD_ENDPOINTS_MAX);
			pfree(url);
			etcdClientFree(client);
			return NULL;
		}
		client->endpoints[client->count++] = url;
		p += end ? (size_t) (end - p) + 1 : strlen(p);
	}
	if (client->count == 0)
	{
		drErrorSet(err, DR_ERR_CONFIG, "no etcd endpoint given");
		etcdClientFree(client);
		return NULL;
	}

	memset(&hp, 0, sizeof(hp));
	hp.service = "etcd";
	hp.caFile = param->caFile;
	hp.connectTimeoutMs = param->timeoutMs > 0 ? param->timeoutMs : 2000;
	hp.totalTimeoutMs = hp.connectTimeoutMs;
	hp.retry.maxAttempts = 1;	/* the endpoints and the caller's loop retry */
	hp.host = param->host;
	client->host = param->host;
	client->http = httpClientNew(&hp, err);
	if (client->http == NULL)
	{
		etcdClientFree(client);
		return NULL;
	}
	return client;
}

/*
 * POST body to path on the first endpoint that answers, starting with the
 * one that answered last.  True with a 2xx answer in *resp; false with
 * err set (etcd's refusal, or no endpoint answered).
 */
static bool
etcdPost(EtcdClient *client, const char *path, const char *body,
		 HttpResponse *resp, DrError *err)
{
	const char *const headers[] = {"Content-Type: application/json", NULL};
	DrError		last;

	drErrorClear(&last);
	for (int n = 0; n < client->count; n++)
	{
		int			i = (client->current + n) % client->count;
		char	   *url = psprintf("%s%s", client->endpoints[i], path);
		HttpRequest req;
		bool		ok;

		memset(&req, 0, sizeof(req));
		req.method = "POST";
		req.url = url;
		req.headers = headers;
		req.body = body;
		req.bodyLen = strlen(body);
		req.responseMax = 1024 * 1024;
		req.host = client->host;
		memset(resp, 0, sizeof(*resp));
		ok = httpRequest(client->http, &req, resp, &last);
		pfree(url);
		if (!ok)
		{
			if (last.code == DR_ERR_CANCELED || last.code == DR_ERR_CONFIG)
				break;
			continue;			/* no answer: the next endpoint */
		}
		client->current = i;
		if (resp->status >= 200 && resp->status < 300)
			return true;
		{
			char	   *msg = etcdJsonErrorMessage(resp->body, resp->bodyLen);
			DrErrorCode code = resp->status == 404 ? DR_ERR_NOT_FOUND :
			resp->status >= 500 ? DR_ERR_IO : DR_ERR_INVALID;

			drErrorSet(err, code, "etcd %s at %s: HTTP %ld: %s", path,
					   client->endpoints[i], resp->status,
					   msg ? msg : "(no message)");
			if (msg)
				pfree(msg);
			httpResponseFree(resp);
			return false;
		}
	}
	if (err != NULL)
	{
		*err = last;
		if (last.code != DR_ERR_CANCELED)
		{
			drErrorPrefix(err, "no etcd endpoint answered %s (%d tried); the last: ",
						  path, client->count);
			drErrorHint(err, "check that etcd runs and ha_etcd_endpoints names it");
		}
	}
	return false;
}

bool
etcdLeaseGrant(EtcdClient *client, int64 ttlSec, int64 *leaseId,
			   int64 *grantedTtl, DrError *err)
{
	char	   *body = etcdJsonLeaseGrantBody(ttlSec);
	HttpResponse resp;
	bool		ok;

	ok = etcdPost(client, "/v3/lease/grant", body, &resp, err);
	pfree(body);
	if (!ok)
		return false;
	ok = etcdJsonLeaseGrant(resp.body, resp.bodyLen, leaseId, grantedTtl, err);
	httpResponseFree(&resp);
	return ok;
}

bool
etcdLeaseKeepAlive(EtcdClient *client, int64 leaseId, int64 *ttl, DrError *err)
{
	char	   *body = etcdJsonLeaseIdBody(leaseId);
	HttpResponse resp;
	bool		ok;

	ok = etcdPost(client, "/v3/lease/keepalive", body, &resp, err);
	pfree(body);
	if (!ok)
		return false;
	ok = etcdJsonLeaseKeepAlive(resp.body, resp.bodyLen, leaseId, ttl, err);
	httpResponseFree(&resp);
	if (ok && *ttl == 0)
		return drErrorSet(err, DR_ERR_NOT_FOUND,
						  "etcd lease " INT64_FORMAT " is lost (expired or revoked)",
						  leaseId);
	return ok;
}

bool
etcdLeaseRevoke(EtcdClient *client, int64 leaseId, DrError *err)
{
	char	   *body = etcdJsonLeaseIdBody(leaseId);
	HttpResponse resp;
	bool		ok;

	ok = etcdPost(client, "/v3/lease/revoke", body, &resp, err);
	pfree(body);
	if (ok)
		httpResponseFree(&resp);
	return ok;
}

bool
etcdGet(EtcdClient *client, const char *key, EtcdKv *kv, bool *found,
		DrError *err)
{
	char	   *body = etcdJsonRangeBody(key);
	HttpResponse resp;
	bool		ok;

	*found = false;
	ok = etcdPost(client, "/v3/kv/range", body, &resp, err);
	pfree(body);
	if (!ok)
		return false;
	ok = etcdJsonRange(resp.body, resp.bodyLen, kv, found, err);
	httpResponseFree(&resp);
	return ok;
}

/*
 * POST a txn whose success branch puts and whose failure branch reads the
 * key: *put says which ran; when it did not, *current is the key as it is
 * (*currentFound; current may be NULL: not wanted).  Consumes body.
 */
static bool
etcdTxnPut(EtcdClient *client, char *body, bool *put, EtcdKv *current,
		   bool *currentFound, DrError *err)
{
	HttpResponse resp;
	EtcdKv		kv;
	bool		found;
	bool		ok;

	*put = false;
	*currentFound = false;
	ok = etcdPost(client, "/v3/kv/txn", body, &resp, err);
	pfree(body);
	if (!ok)
		return false;
	ok = etcdJsonTxn(resp.body, resp.bodyLen, put, &kv, &found, err);
	httpResponseFree(&resp);
	if (!ok)
		return false;
	if (found && current != NULL && !*put)
	{
		*current = kv;
		*currentFound = true;
	}
	else if (found)
		etcdKvFree(&kv);
	return true;
}

bool
etcdCreate(EtcdClient *client, const char *key, const char *value,
		   int64 leaseId, bool *created, EtcdKv *holder, bool *holderFound,
		   DrError *err)
{
	bool		found;

	if (!etcdTxnPut(client, etcdJsonCreateBody(key, value, leaseId), created, holder,
					&found, err))
		return false;
	if (holderFound)
		*holderFound = found;
	return true;
}

bool
etcdPutIfRevision(EtcdClient *client, const char *key, const char *value,
				  int64 modRevision, bool *put, EtcdKv *current, bool *currentFound,
				  DrError *err)
{
	return etcdTxnPut(client, etcdJsonPutIfRevisionBody(key, value, modRevision), put,
					  current, currentFound, err);
}

bool
etcdDeleteIfValue(EtcdClient *client, const char *key, const char *value,
				  bool *deleted, DrError *err)
{
	char	   *body = etcdJsonDeleteIfValueBody(key, value);
	HttpResponse resp;
	bool		found;
	bool		ok;

	*deleted = false;
	ok = etcdPost(client, "/v3/kv/txn", body, &resp, err);
	pfree(body);
	if (!ok)
		return false;
	ok = etcdJsonTxn(resp.body, resp.bodyLen, deleted, NULL, &found, err);
	httpResponseFree(&resp);
	return ok;
}
