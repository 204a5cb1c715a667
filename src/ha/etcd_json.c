/*-------------------------------------------------------------------------
 * etcd_json.c
 *	  The JSON of etcd 3.4's gateway: request bodies and the readers of
 *	  its answers (see etcd.h for the quirks).  Pure: no I/O, unit tested
 *	  (test/unit/test_ha_etcd_json.c) and fuzzed (test/fuzz/fuzz_etcd_json.c).
 *
 * As seen from etcd 3.4.23 (the answers the unit tests hold are copied
 * from it):
 *	 grant:     {"header":{...},"ID":"7587...","TTL":"10"}
 *	 keepalive: {"result":{"header":{...},"ID":"7587...","TTL":"10"}}
 *	            (a lost lease: no "TTL"; the stream's later messages, if
 *	            any, follow on further lines and are not read)
 *	 range:     {"header":{...},"kvs":[{"key":"<b64>","create_revision":"2",
 *	            "mod_revision":"2","version":"1","value":"<b64>",
 *	            "lease":"7587..."}],"count":"1"}  (nothing found: no "kvs")
 *	 txn:       {"header":{...},"succeeded":true,"responses":[...]}
 *	            (compare failed: no "succeeded"; the failure branch's
 *	            "response_range" in "responses")
 *	 error:     {"error":"etcdserver: ...","message":"...","code":5}
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "common/base64.h"
#include "common/json.h"
#include "ha/etcd.h"
#include "lib/stringinfo.h"

void
etcdJsonBase64(StringInfo buf, const char *data, size_t len)
{
	int			need = pg_b64_enc_len((int) len);
	int			n;

	enlargeStringInfo(buf, need + 1);
	n = pg_b64_encode(data, (int) len, buf->data + buf->len, need);
	Assert(n >= 0);
	buf->len += n;
	buf->data[buf->len] = '\0';
}

static void
etcdJsonKeyField(StringInfo buf, const char *name, const char *data)
{
	appendStringInfo(buf, "\"%s\":\"", name);
	etcdJsonBase64(buf, data, strlen(data));
	appendStringInfoChar(buf, '"');
}

char *
etcdJsonLeaseGrantBody(int64 ttlSec)
{
	return psprintf("{\"TTL\":\"" INT64_FORMAT "\"}", ttlSec);
}

char *
etcdJsonLeaseIdBody(int64 leaseId)
{
	return psprintf("{\"ID\":\"" INT64_FORMAT "\"}", leaseId);
}

char *
etcdJsonRangeBody(const char *key)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	etcdJsonKeyField(&buf, "key", key);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

char *
etcdJsonCreateBody(const char *key, const char *value, int64 leaseId)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"compare\":[{");
	etcdJsonKeyField(&buf, "key", key);
	appendStringInfoString(&buf, ",\"result\":\"EQUAL\",\"target\":\"CREATE\","
						   "\"create_revision\":\"0\"}],\"success\":[{\"request_put\":{");
	etcdJsonKeyField(&buf, "key", key);
	appendStringInfoChar(&buf, ',');
	etcdJsonKeyField(&buf, "value", value);
	if (leaseId != 0)
		appendStringInfo(&buf, ",\"lease\":\"" INT64_FORMAT "\"", leaseId);
	appendStringInfoString(&buf, "}}],\"failure\":[{\"request_range\":{");
	etcdJsonKeyField(&buf, "key", key);
	appendStringInfoString(&buf, "}}]}");
	return buf.data;
}

/*
 * Put key = value unless the key changed since it was read at
 * modRevision (0: it was absent, so it must still be), else read it.
 */
char *
etcdJsonPutIfRevisionBody(const char *key, const char *value, int64 modRevision)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"compare\":[{");
	etcdJsonKeyField(&buf, "key", key);
	if (modRevision == 0)
		appendStringInfoString(&buf, ",\"result\":\"EQUAL\",\"target\":\"CREATE\","
							   "\"create_revision\":\"0\"}]");
	else
		appendStringInfo(&buf, ",\"result\":\"EQUAL\",\"target\":\"MOD\","
						 "\"mod_revision\":\"" INT64_FORMAT "\"}]", modRevision);
	appendStringInfoString(&buf, ",\"success\":[{\"request_put\":{");
	etcdJsonKeyField(&buf, "key", key);
	appendStringInfoChar(&buf, ',');
	etcdJsonKeyField(&buf, "value", value);
	appendStringInfoString(&buf, "}}],\"failure\":[{\"request_range\":{");
	etcdJsonKeyField(&buf, "key", key);
	appendStringInfoString(&buf, "}}]}");
	return buf.data;
}

char *
etcdJsonDeleteIfValueBody(const char *key, const char *value)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"compare\":[{");
	etcdJsonKeyField(&buf, "key", key);
	appendStringInfoString(&buf, ",\"result\":\"EQUAL\",\"target\":\"VALUE\",");
	etcdJsonKeyField(&buf, "value", value);
	appendStringInfoString(&buf, "}],\"success\":[{\"request_delete_range\":{");
	etcdJsonKeyField(&buf, "key", key);
	appendStringInfoString(&buf, "}}]}");
	return buf.data;
}

static bool
etcdJsonBad(DrError *err, const char *what)
{
	return drErrorSet(err, DR_ERR_CORRUPT, "etcd answer: %s", what);
}

/* Parse body as one JSON object. */
static DrJson *
etcdJsonObject(const char *body, size_t len, DrError *err)
{
	DrJson	   *json = drJsonParse(body, len, err);

	if (json == NULL)
	{
		drErrorPrefix(err, "etcd answer: ");
		return NULL;
	}
	if (json->type != DR_JSON_OBJECT)
	{
		drJsonFree(json);
		etcdJsonBad(err, "not a JSON object");
		return NULL;
	}
	return json;
}

/*
 * An optional int64 member: absent is 0 (the gateway leaves zero values
 * out); present, it must be an integer (string or number).
 */
static bool
etcdJsonInt(const DrJson *obj, const char *name, int64 *value, DrError *err)
{
	const DrJson *m = drJsonGet(obj, name);

	*value = 0;
	if (m == NULL)
		return true;
	if (!drJsonInt64(m, value))
	{
		drErrorSet(err, DR_ERR_CORRUPT, "etcd answer: \"%s\" is not an integer", name);
		return false;
	}
	return true;
}

/* A base64 member, decoded (absent: empty); palloc'd, NUL-terminated. */
static bool
etcdJsonBytes(const DrJson *obj, const char *name, char **out, size_t *outLen,
			  DrError *err)
{
	const DrJson *m = drJsonGet(obj, name);
	const char *s = drJsonString(m);
	int			n;

	*out = NULL;
	if (m == NULL)
	{
		*out = pstrdup("");
		if (outLen)
			*outLen = 0;
		return true;
	}
	if (s == NULL)
	{
		drErrorSet(err, DR_ERR_CORRUPT, "etcd answer: \"%s\" is not a string", name);
		return false;
	}
	*out = palloc(pg_b64_dec_len((int) m->len) + 1);
	n = pg_b64_decode(s, (int) m->len, *out, pg_b64_dec_len((int) m->len));
	if (n < 0)
	{
		pfree(*out);
		*out = NULL;
		drErrorSet(err, DR_ERR_CORRUPT, "etcd answer: \"%s\" is not base64", name);
		return false;
	}
	(*out)[n] = '\0';
	if (outLen)
		*outLen = n;
	return true;
}

void
etcdKvFree(EtcdKv *kv)
{
	if (kv->key)
		pfree(kv->key);
	if (kv->value)
		pfree(kv->value);
	memset(kv, 0, sizeof(*kv));
}

/* One entry of "kvs". */
static bool
etcdJsonKv(const DrJson *e, EtcdKv *kv, DrError *err)
{
	memset(kv, 0, sizeof(*kv));
	if (e->type != DR_JSON_OBJECT)
		return etcdJsonBad(err, "a \"kvs\" entry is not an object");
	if (drJsonGet(e, "key") == NULL)
		return etcdJsonBad(err, "a \"kvs\" entry has no key");
	if (!etcdJsonBytes(e, "key", &kv->key, NULL, err) ||
		!etcdJsonBytes(e, "value", &kv->value, &kv->valueLen, err) ||
		!etcdJsonInt(e, "create_revision", &kv->createRevision, err) ||
		!etcdJsonInt(e, "mod_revision", &kv->modRevision, err) ||
		!etcdJsonInt(e, "version", &kv->version, err) ||
		!etcdJsonInt(e, "lease", &kv->lease, err))
	{
		etcdKvFree(kv);
		return false;
	}
	if (kv->createRevision <= 0)
	{
		etcdKvFree(kv);
		return etcdJsonBad(err, "a key without a create revision");
	}
	return true;
}

/* A range response object: at most one kv (we ask for one key). */
static bool
etcdJsonRangeObject(const DrJson *obj, EtcdKv *kv, bool *found, DrError *err)
{
	const DrJson *kvs = drJsonGet(obj, "kvs");

	*found = false;
	if (kvs == NULL)
		return true;
	if (kvs->type != DR_JSON_ARRAY)
		return etcdJsonBad(err, "\"kvs\" is not an array");
	if (kvs->count == 0)
		return true;
	if (kvs->count > 1)
		return etcdJsonBad(err, "more than one key for a one-key range");
	if (!etcdJsonKv(&kvs->items[0], kv, err))
		return false;
	*found = true;
	return true;
}

bool
etcdJsonLeaseGrant(const char *body, size_t len, int64 *leaseId, int64 *ttl,
				   DrError *err)
{
	DrJson	   *json = etcdJsonObject(body, len, err);
	bool		ok;

	if (json == NULL)
		return false;
	ok = etcdJsonInt(json, "ID", leaseId, err) && etcdJsonInt(json, "TTL", ttl, err);
	if (ok && (*leaseId <= 0 || *ttl <= 0))
		ok = etcdJsonBad(err, "lease grant without an ID or a TTL");
	drJsonFree(json);
	return ok;
}

bool
etcdJsonLeaseKeepAlive(const char *body, size_t len, int64 leaseId, int64 *ttl,
					   DrError *err)
{
	const char *nl = memchr(body, '\n', len);
	DrJson	   *json;
	const DrJson *result;
	int64		id;
	bool		ok = false;

	/* a stream: the first message only */
	json = etcdJsonObject(body, nl ? (size_t) (nl - body) : len, err);
	if (json == NULL)
		return false;
	result = drJsonGet(json, "result");
	if (drJsonGet(json, "error") != NULL)
		etcdJsonBad(err, "keepalive stream error");
	else if (result == NULL || result->type != DR_JSON_OBJECT)
		etcdJsonBad(err, "keepalive without a result");
	else if (etcdJsonInt(result, "ID", &id, err) &&
			 etcdJsonInt(result, "TTL", ttl, err))
	{
		if (id != leaseId)
			etcdJsonBad(err, "keepalive answer for another lease");
		else if (*ttl < 0)
			etcdJsonBad(err, "negative TTL");
		else
			ok = true;
	}
	drJsonFree(json);
	return ok;
}

bool
etcdJsonRange(const char *body, size_t len, EtcdKv *kv, bool *found, DrError *err)
{
	DrJson	   *json = etcdJsonObject(body, len, err);
	bool		ok;

	if (json == NULL)
		return false;
	ok = etcdJsonRangeObject(json, kv, found, err);
	drJsonFree(json);
	return ok;
}

bool
etcdJsonTxn(const char *body, size_t len, bool *succeeded, EtcdKv *kv,
			bool *found, DrError *err)
{
	DrJson	   *json = etcdJsonObject(body, len, err);
	const DrJson *s,
			   *responses;
	bool		ok = true;

	if (json == NULL)
		return false;
	*found = false;
	s = drJsonGet(json, "succeeded");
	/* absent when the compare failed (false is a zero value) */
	if (s == NULL)
		*succeeded = false;
	else if (s->type == DR_JSON_TRUE || s->type == DR_JSON_FALSE)
		*succeeded = s->type == DR_JSON_TRUE;
	else
		ok = etcdJsonBad(err, "\"succeeded\" is not a boolean");
	if (ok && drJsonGet(json, "header") == NULL)
		ok = etcdJsonBad(err, "txn answer without a header");
	responses = drJsonGet(json, "responses");
	if (ok && responses != NULL)
	{
		if (responses->type != DR_JSON_ARRAY)
			ok = etcdJsonBad(err, "\"responses\" is not an array");
		for (int i = 0; ok && i < responses->count; i++)
		{
			const DrJson *range = drJsonGet(&responses->items[i], "response_range");

			if (responses->items[i].type != DR_JSON_OBJECT)
				ok = etcdJsonBad(err, "a response is not an object");
			else if (range != NULL && !*found && kv != NULL)
			{
				if (range->type != DR_JSON_OBJECT)
					ok = etcdJsonBad(err, "\"response_range\" is not an object");
				else
					ok = etcdJsonRangeObject(range, kv, found, err);
			}
		}
	}
	drJsonFree(json);
	return ok;
}

char *
etcdJsonErrorMessage(const char *body, size_t len)
{
	DrError		err;
	DrJson	   *json;
	const char *m;
	char	   *msg = NULL;

	if (body == NULL)
		return NULL;
	drErrorClear(&err);
	json = drJsonParse(body, len, &err);
	if (json == NULL)
		return NULL;
	m = drJsonString(drJsonGet(json, "message"));
	if (m == NULL)
		m = drJsonString(drJsonGet(json, "error"));
	if (m == NULL)				/* a stream's error: {"error":{"message":...}} */
		m = drJsonString(drJsonGet(drJsonGet(json, "error"), "message"));
	if (m != NULL)
		msg = pstrdup(m);
	drJsonFree(json);
	return msg;
}
