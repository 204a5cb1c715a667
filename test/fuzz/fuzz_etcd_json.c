/*-------------------------------------------------------------------------
 * fuzz_etcd_json.c
 *	  Fuzz target for the strict JSON reader (src/common/json.c) and the
 *	  readers of etcd's answers on it (src/ha/etcd_json.c).
 *
 * The input is read as a JSON document, then as each kind of etcd
 * answer (lease grant, keepalive, range, txn, error).  Whatever it holds,
 * each reading must either fail (the JSON reader with DR_ERR_CORRUPT and
 * a message starting "JSON: ", the etcd readers with DR_ERR_CORRUPT and
 * "etcd answer: ") or succeed with results whose invariants hold: every
 * string is valid UTF-8 of the length given, with no NUL inside; a
 * string written back with drJsonQuote reads back the same; a granted
 * lease has a positive id and TTL; a kv found has a key and a positive
 * create revision.  Never crash, leak or read out of bounds.
 *
 *	 make fuzz && build/fuzz/fuzz_etcd_json -max_len=4096    (libFuzzer)
 *	 build/fuzz-smoke/fuzz_etcd_json [iterations [seed]]  (fuzz_mutate.c; run by make unit)
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "common/json.h"
#include "fuzz_mutate.h"
#include "ha/etcd.h"
#include "lib/stringinfo.h"

static void
fuzzCheck(bool cond)
{
	if (!cond)
		abort();
}

static void
fuzzFailed(const DrError *err, const char *prefix)
{
	fuzzCheck(err->code == DR_ERR_CORRUPT);
	fuzzCheck(strncmp(err->message, prefix, strlen(prefix)) == 0);
}

/* Every string of the tree valid, and read back the same once quoted. */
static void
fuzzTree(const DrJson *j)
{
	if (j->type == DR_JSON_STRING)
	{
		StringInfoData buf;
		DrError		err;
		DrJson	   *back;

		fuzzCheck(strlen(j->text) == j->len && drJsonUtf8Valid(j->text, j->len));
		initStringInfo(&buf);
		drJsonQuote(&buf, j->text);
		back = drJsonParse(buf.data, buf.len, &err);
		fuzzCheck(back != NULL && back->type == DR_JSON_STRING &&
				  strcmp(back->text, j->text) == 0);
		drJsonFree(back);
		pfree(buf.data);
	}
	if (j->type == DR_JSON_NUMBER)
		fuzzCheck(j->len > 0 && strlen(j->text) == j->len);
	for (int i = 0; i < j->count; i++)
	{
		fuzzCheck(j->type == DR_JSON_ARRAY || j->type == DR_JSON_OBJECT);
		if (j->type == DR_JSON_OBJECT)
			fuzzCheck(drJsonUtf8Valid(j->keys[i], strlen(j->keys[i])));
		fuzzTree(&j->items[i]);
	}
}

static void
fuzzKv(const EtcdKv *kv)
{
	fuzzCheck(kv->key != NULL && kv->value != NULL && kv->createRevision > 0);
}

int
LLVMFuzzerTestOneInput(const uint8 *data, size_t size)
{
	const char *body = (const char *) data;
	DrError		err;
	DrJson	   *json;
	int64		id,
				ttl;
	EtcdKv		kv;
	bool		found,
				succeeded;
	char	   *msg;

	drErrorClear(&err);
	json = drJsonParse(body, size, &err);
	if (json == NULL)
		fuzzFailed(&err, "JSON: ");
	else
	{
		fuzzTree(json);
		drJsonFree(json);
	}

	if (etcdJsonLeaseGrant(body, size, &id, &ttl, &err))
		fuzzCheck(id > 0 && ttl > 0);
	else
		fuzzFailed(&err, "etcd answer: ");
	if (etcdJsonLeaseKeepAlive(body, size, 7, &ttl, &err))
		fuzzCheck(ttl >= 0);
	else
		fuzzFailed(&err, "etcd answer: ");
	if (etcdJsonRange(body, size, &kv, &found, &err))
	{
		if (found)
		{
			fuzzKv(&kv);
			etcdKvFree(&kv);
		}
	}
	else
		fuzzFailed(&err, "etcd answer: ");
	if (etcdJsonTxn(body, size, &succeeded, &kv, &found, &err))
	{
		if (found)
		{
			fuzzKv(&kv);
			etcdKvFree(&kv);
		}
	}
	else
		fuzzFailed(&err, "etcd answer: ");
	msg = etcdJsonErrorMessage(body, size);
	if (msg)
		pfree(msg);
	return 0;
}

/* Answers of etcd 3.4.23, and JSON's corners. */
static const char *const seeds[] = {
	"{\"header\":{\"cluster_id\":\"15118495548433857066\",\"member_id\":\"13668033151171901709\","
	"\"revision\":\"1\",\"raft_term\":\"2\"},\"ID\":\"4111120411880972037\",\"TTL\":\"2\"}",
	"{\"result\":{\"header\":{\"revision\":\"1\",\"raft_term\":\"2\"},\"ID\":\"7\",\"TTL\":\"2\"}}\n",
	"{\"result\":{\"header\":{\"revision\":\"3\"},\"ID\":\"7\"}}\n",
	"{\"header\":{\"revision\":\"2\"},\"succeeded\":true,\"responses\":[{\"response_put\":"
	"{\"header\":{\"revision\":\"2\"}}}]}",
	"{\"header\":{\"revision\":\"2\"},\"responses\":[{\"response_range\":{\"header\":"
	"{\"revision\":\"2\"},\"kvs\":[{\"key\":\"L3BnX2RyL2MvbGVhZGVy\",\"create_revision\":\"2\","
	"\"mod_revision\":\"2\",\"version\":\"1\",\"value\":\"czE=\",\"lease\":\"4111120411880972039\"}],"
	"\"count\":\"1\"}}]}",
	"{\"header\":{\"revision\":\"2\"},\"kvs\":[{\"key\":\"L2s=\",\"create_revision\":\"2\","
	"\"mod_revision\":\"2\",\"version\":\"1\",\"value\":\"czE=\"}],\"count\":\"1\"}",
	"{\"error\":\"etcdserver: requested lease not found\",\"message\":\"etcdserver: requested "
	"lease not found\",\"code\":5}",
	"[1, -0.5e+3, 0, true, false, null, \"a\\u00e9\\ud83d\\ude00\\n\\\"\", {\"\": []}]",
	"\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"",
	"-9223372036854775808",
};

const char *const *
fuzzSeeds(int *count)
{
	*count = lengthof(seeds);
	return seeds;
}
