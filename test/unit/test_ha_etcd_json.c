/*-------------------------------------------------------------------------
 * test_ha_etcd_json.c
 *	  Unit tests of the JSON of etcd's gateway (src/ha/etcd_json.c), on
 *	  answers copied from etcd 3.4.23.
 *
 * Covers: the request bodies (lease grant and id as strings; keys and
 * values base64; the create-if-absent txn with its create_revision = 0
 * compare, the put under a lease (none: no "lease"), the failure branch's
 * range; the compare-and-delete txn), each a valid JSON document;
 * etcdJsonLeaseGrant (id and TTL as strings, as numbers; no ID, a TTL
 * that is not a number, not an object); etcdJsonLeaseKeepAlive (renewed;
 * the lost lease's answer without "TTL"; another lease's id; a stream
 * error; a second stream message ignored); etcdJsonRange (found, keys and
 * values decoded, revisions and lease; nothing found (no "kvs"); a value
 * absent (empty); bad base64; a kv without create revision; two kvs);
 * etcdJsonTxn (succeeded; compare failed: no "succeeded", the holder from
 * the failure branch's range; "succeeded" not a boolean; no header);
 * etcdJsonErrorMessage (etcd's error, a stream's, none, not JSON).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "common/json.h"
#include "ha/etcd.h"
#include "tap.h"

#define HEADER "\"header\":{\"cluster_id\":\"15118495548433857066\"," \
	"\"member_id\":\"13668033151171901709\",\"revision\":\"2\",\"raft_term\":\"2\"}"

static bool
valid(const char *body)
{
	DrError		err;
	DrJson	   *j = drJsonParse(body, strlen(body), &err);

	drJsonFree(j);
	return j != NULL;
}

static void
testBodies(void)
{
	char	   *b;

	b = etcdJsonLeaseGrantBody(10);
	is_str(b, "{\"TTL\":\"10\"}", "lease grant body");
	pfree(b);
	b = etcdJsonLeaseIdBody(INT64CONST(4111120411880972037));
	is_str(b, "{\"ID\":\"4111120411880972037\"}", "lease id body: 64 bits as a string");
	pfree(b);
	b = etcdJsonRangeBody("/pg_dr/c/leader");
	is_str(b, "{\"key\":\"L3BnX2RyL2MvbGVhZGVy\"}", "range body: the key base64");
	pfree(b);
	b = etcdJsonCreateBody("/k", "s1", 7);
	is_str(b, "{\"compare\":[{\"key\":\"L2s=\",\"result\":\"EQUAL\",\"target\":\"CREATE\","
		   "\"create_revision\":\"0\"}],\"success\":[{\"request_put\":{\"key\":\"L2s=\","
		   "\"value\":\"czE=\",\"lease\":\"7\"}}],\"failure\":[{\"request_range\":"
		   "{\"key\":\"L2s=\"}}]}",
		   "create-if-absent txn: create_revision = 0, put under the lease, else range");
	ok(valid(b), "... valid JSON");
	pfree(b);
	b = etcdJsonCreateBody("/k", "", 0);
	ok(strstr(b, "\"lease\"") == NULL && strstr(b, "\"value\":\"\"") != NULL,
	   "no lease: none named; an empty value");
	pfree(b);
	b = etcdJsonPutIfRevisionBody("/t", "3", 0);
	is_str(b, "{\"compare\":[{\"key\":\"L3Q=\",\"result\":\"EQUAL\",\"target\":\"CREATE\","
		   "\"create_revision\":\"0\"}],\"success\":[{\"request_put\":{\"key\":\"L3Q=\","
		   "\"value\":\"Mw==\"}}],\"failure\":[{\"request_range\":{\"key\":\"L3Q=\"}}]}",
		   "put-if-unchanged txn, key read absent: create_revision = 0, no lease");
	ok(valid(b), "... valid JSON");
	pfree(b);
	b = etcdJsonPutIfRevisionBody("/t", "4", 42);
	is_str(b, "{\"compare\":[{\"key\":\"L3Q=\",\"result\":\"EQUAL\",\"target\":\"MOD\","
		   "\"mod_revision\":\"42\"}],\"success\":[{\"request_put\":{\"key\":\"L3Q=\","
		   "\"value\":\"NA==\"}}],\"failure\":[{\"request_range\":{\"key\":\"L3Q=\"}}]}",
		   "... key read at revision 42: mod_revision = 42");
	ok(valid(b), "... valid JSON");
	pfree(b);
	b = etcdJsonDeleteIfValueBody("/k", "s1");
	is_str(b, "{\"compare\":[{\"key\":\"L2s=\",\"result\":\"EQUAL\",\"target\":\"VALUE\","
		   "\"value\":\"czE=\"}],\"success\":[{\"request_delete_range\":{\"key\":\"L2s=\"}}]}",
		   "compare-and-delete txn on the value");
	ok(valid(b), "... valid JSON");
	pfree(b);
}

static void
testLease(void)
{
	DrError		err;
	int64		id,
				ttl;
	const char *grant = "{" HEADER ",\"ID\":\"4111120411880972037\",\"TTL\":\"2\"}";
	const char *alive = "{\"result\":{" HEADER ",\"ID\":\"7\",\"TTL\":\"2\"}}\n";
	const char *lost = "{\"result\":{" HEADER ",\"ID\":\"7\"}}\n";

	ok(etcdJsonLeaseGrant(grant, strlen(grant), &id, &ttl, &err) &&
	   id == INT64CONST(4111120411880972037) && ttl == 2,
	   "grant: id and TTL from strings");
	ok(etcdJsonLeaseGrant("{\"ID\":12,\"TTL\":5}", strlen("{\"ID\":12,\"TTL\":5}"), &id, &ttl, &err) && id == 12 && ttl == 5,
	   "grant: numbers accepted too");
	ok(!etcdJsonLeaseGrant("{\"TTL\":\"5\"}", strlen("{\"TTL\":\"5\"}"), &id, &ttl, &err) &&
	   strstr(err.message, "without an ID") != NULL, "grant without ID refused (%s)",
	   err.message);
	ok(!etcdJsonLeaseGrant("{\"ID\":\"1\",\"TTL\":\"x\"}", strlen("{\"ID\":\"1\",\"TTL\":\"x\"}"), &id, &ttl, &err) &&
	   strstr(err.message, "\"TTL\" is not an integer") != NULL, "a TTL not a number (%s)",
	   err.message);
	ok(!etcdJsonLeaseGrant("[]", strlen("[]"), &id, &ttl, &err) && err.code == DR_ERR_CORRUPT,
	   "not an object (%s)", err.message);
	ok(!etcdJsonLeaseGrant("{", strlen("{"), &id, &ttl, &err) &&
	   strncmp(err.message, "etcd answer: JSON: ", 19) == 0, "not JSON (%s)", err.message);

	ok(etcdJsonLeaseKeepAlive(alive, strlen(alive), 7, &ttl, &err) && ttl == 2,
	   "keepalive: renewed, TTL 2");
	ok(etcdJsonLeaseKeepAlive(lost, strlen(lost), 7, &ttl, &err) && ttl == 0,
	   "keepalive of a lost lease: no TTL, read as 0");
	ok(!etcdJsonLeaseKeepAlive(alive, strlen(alive), 8, &ttl, &err),
	   "an answer for another lease refused");
	ok(!etcdJsonLeaseKeepAlive("{\"error\":{\"message\":\"x\"}}", strlen("{\"error\":{\"message\":\"x\"}}"), 7, &ttl, &err) &&
	   strstr(err.message, "stream error") != NULL, "a stream error (%s)", err.message);
	{
		const char *two = "{\"result\":{\"ID\":\"7\",\"TTL\":\"3\"}}\n{\"result\":{\"ID\":\"7\"}}\n";

		ok(etcdJsonLeaseKeepAlive(two, strlen(two), 7, &ttl, &err) && ttl == 3,
		   "a stream of two messages: the first one counts");
	}
}

static void
testRange(void)
{
	DrError		err;
	EtcdKv		kv;
	bool		found;
	const char *one = "{" HEADER ",\"kvs\":[{\"key\":\"L3BnX2RyL2MvbGVhZGVy\","
		"\"create_revision\":\"2\",\"mod_revision\":\"3\",\"version\":\"1\",\"value\":\"czE=\","
		"\"lease\":\"4111120411880972039\"}],\"count\":\"1\"}";
	const char *none = "{" HEADER "}";
	const char *noval = "{\"kvs\":[{\"key\":\"L2s=\",\"create_revision\":\"5\"}]}";

	ok(etcdJsonRange(one, strlen(one), &kv, &found, &err) && found, "range: found");
	is_str(kv.key, "/pg_dr/c/leader", "... key decoded");
	is_str(kv.value, "s1", "... value decoded");
	ok(kv.valueLen == 2 && kv.createRevision == 2 && kv.modRevision == 3 &&
	   kv.version == 1 && kv.lease == INT64CONST(4111120411880972039),
	   "... revisions, version and lease from strings");
	etcdKvFree(&kv);
	ok(etcdJsonRange(none, strlen(none), &kv, &found, &err) && !found,
	   "nothing found: no \"kvs\"");
	ok(etcdJsonRange(noval, strlen(noval), &kv, &found, &err) && found &&
	   kv.value[0] == '\0' && kv.valueLen == 0 && kv.lease == 0,
	   "an empty value and no lease: left out, read as empty and 0");
	etcdKvFree(&kv);
	ok(!etcdJsonRange("{\"kvs\":[{\"key\":\"L2s\",\"create_revision\":\"5\"}]}", strlen("{\"kvs\":[{\"key\":\"L2s\",\"create_revision\":\"5\"}]}"),
					  &kv, &found, &err) &&
	   strstr(err.message, "not base64") != NULL, "bad base64 refused (%s)", err.message);
	ok(!etcdJsonRange("{\"kvs\":[{\"key\":\"L2s=\"}]}", strlen("{\"kvs\":[{\"key\":\"L2s=\"}]}"), &kv, &found, &err) &&
	   strstr(err.message, "create revision") != NULL, "a kv without create revision refused");
	{
		const char *two = "{\"kvs\":[{\"key\":\"L2s=\",\"create_revision\":\"5\"},"
			"{\"key\":\"L2s=\",\"create_revision\":\"6\"}]}";

		ok(!etcdJsonRange(two, strlen(two), &kv, &found, &err),
		   "two kvs for one key refused");
	}
	ok(!etcdJsonRange("{\"kvs\":{}}", strlen("{\"kvs\":{}}"), &kv, &found, &err), "kvs not an array refused");
}

static void
testTxn(void)
{
	DrError		err;
	EtcdKv		kv;
	bool		found,
				succeeded;
	const char *won = "{" HEADER ",\"succeeded\":true,\"responses\":[{\"response_put\":"
		"{\"header\":{\"revision\":\"2\"}}}]}";
	const char *lost = "{" HEADER ",\"responses\":[{\"response_range\":{\"header\":"
		"{\"revision\":\"2\"},\"kvs\":[{\"key\":\"L3BnX2RyL2MvbGVhZGVy\",\"create_revision\":\"2\","
		"\"mod_revision\":\"2\",\"version\":\"1\",\"value\":\"czE=\","
		"\"lease\":\"4111120411880972039\"}],\"count\":\"1\"}}]}";
	const char *deleted = "{" HEADER ",\"succeeded\":true,\"responses\":"
		"[{\"response_delete_range\":{\"header\":{},\"deleted\":\"1\"}}]}";
	const char *notDeleted = "{" HEADER "}";

	ok(etcdJsonTxn(won, strlen(won), &succeeded, &kv, &found, &err) && succeeded && !found,
	   "txn succeeded");
	ok(etcdJsonTxn(lost, strlen(lost), &succeeded, &kv, &found, &err) && !succeeded && found,
	   "compare failed: no \"succeeded\", read as false");
	is_str(kv.value, "s1", "... the holder from the failure branch's range");
	etcdKvFree(&kv);
	ok(etcdJsonTxn(deleted, strlen(deleted), &succeeded, NULL, &found, &err) && succeeded,
	   "compare-and-delete done");
	ok(etcdJsonTxn(notDeleted, strlen(notDeleted), &succeeded, NULL, &found, &err) &&
	   !succeeded, "compare-and-delete not done: no \"succeeded\", no responses");
	ok(!etcdJsonTxn("{\"header\":{},\"succeeded\":\"true\"}", strlen("{\"header\":{},\"succeeded\":\"true\"}"), &succeeded, NULL, &found,
					&err) && strstr(err.message, "not a boolean") != NULL,
	   "\"succeeded\" as a string refused");
	ok(!etcdJsonTxn("{\"succeeded\":true}", strlen("{\"succeeded\":true}"), &succeeded, NULL, &found, &err) &&
	   strstr(err.message, "header") != NULL, "a txn answer without header refused");
	ok(!etcdJsonTxn("{\"header\":{},\"responses\":[1]}", strlen("{\"header\":{},\"responses\":[1]}"), &succeeded, &kv, &found, &err),
	   "a response that is not an object refused");
}

static void
testError(void)
{
	char	   *m;
	const char *e = "{\"error\":\"etcdserver: requested lease not found\","
		"\"message\":\"etcdserver: requested lease not found\",\"code\":5}";

	m = etcdJsonErrorMessage(e, strlen(e));
	is_str(m, "etcdserver: requested lease not found", "error message");
	pfree(m);
	m = etcdJsonErrorMessage("{\"error\":{\"message\":\"stream broke\"}}", 36);
	is_str(m, "stream broke", "a stream's error message");
	pfree(m);
	ok(etcdJsonErrorMessage("{\"x\":1}", 7) == NULL, "no message: NULL");
	ok(etcdJsonErrorMessage("<html>", 6) == NULL, "not JSON: NULL");
	ok(etcdJsonErrorMessage(NULL, 0) == NULL, "no body: NULL");
}

int
main(void)
{
	testBodies();
	testLease();
	testRange();
	testTxn();
	testError();
	return tapDone();
}
