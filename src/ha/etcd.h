/*-------------------------------------------------------------------------
 * etcd.h
 *	  The etcd v3 client of high availability: leases and the leader key,
 *	  over etcd 3.4's JSON gateway (grpc-gateway, "/v3/...") through the
 *	  one HTTP layer (storage/http/http.h).
 *
 * What it does, one request each:
 *	 etcdLeaseGrant      POST /v3/lease/grant       a lease of ttl seconds
 *	 etcdLeaseKeepAlive  POST /v3/lease/keepalive   renew; a lease that
 *	                     expired or was revoked is reported as lost
 *	 etcdLeaseRevoke     POST /v3/lease/revoke      end it now (its keys go)
 *	 etcdGet             POST /v3/kv/range          one key
 *	 etcdCreate          POST /v3/kv/txn            create-if-absent: compare
 *	                     create_revision = 0, put under a lease; else read
 *	                     the holder
 *	 etcdPutIfRevision   POST /v3/kv/txn            compare mod_revision (0:
 *	                     absent), put without a lease; else read it
 *	 etcdDeleteIfValue   POST /v3/kv/txn            compare value = ours,
 *	                     delete (release only what we hold)
 *
 * The gateway's quirks, handled in etcd_json.c: 64-bit numbers (ids,
 * revisions, TTLs) come as JSON strings; keys and values are base64;
 * fields with their zero value are left out (a txn whose compare failed
 * has no "succeeded", a lost lease's keepalive answer has no "TTL", a
 * range that found nothing has no "kvs"); errors come as {"error",
 * "code", "message"} with an HTTP error status.
 *
 * Endpoints: a comma-separated list of base URLs (http://host:port or
 * https://...).  A request that gets no answer from one (connection
 * refused, timeout) goes to the next, each tried once per request; the
 * one that answered is tried first next time.  The HTTP layer's own
 * retries are off (one attempt per endpoint): a lease is renewed against
 * a deadline, and the caller's loop is the retry.
 *-------------------------------------------------------------------------
 */
#ifndef DR_ETCD_H
#define DR_ETCD_H

#include "common/error.h"
#include "common/host.h"

typedef struct EtcdClient EtcdClient;

#define ETCD_ENDPOINTS_MAX	16

typedef struct EtcdClientParam
{
	const char *endpoints;		/* "http://127.0.0.1:2379,http://..." */
	int			timeoutMs;		/* one request to one endpoint, whole
								 * (ha_retry_timeout) */
	const char *caFile;			/* https: PEM bundle; NULL: the system's */
	const DrHost *host;			/* cancel checks; NULL: none */
} EtcdClientParam;

/* One key as etcd holds it. */
typedef struct EtcdKv
{
	char	   *key;			/* palloc'd, decoded */
	char	   *value;			/* palloc'd, decoded, NUL-terminated */
	size_t		valueLen;
	int64		createRevision;
	int64		modRevision;
	int64		version;
	int64		lease;			/* 0: none */
} EtcdKv;

/* err: DR_ERR_CONFIG for an endpoint list that is not one. */
extern EtcdClient *etcdClientNew(const EtcdClientParam *param, DrError *err);
extern void etcdClientFree(EtcdClient *client);

/*
 * A lease of ttlSec seconds: its id and the TTL etcd granted (etcd may
 * raise a TTL below its minimum).
 */
extern bool etcdLeaseGrant(EtcdClient *client, int64 ttlSec, int64 *leaseId,
						   int64 *grantedTtl, DrError *err);

/*
 * Renew a lease: true with the TTL it has again; false with
 * DR_ERR_NOT_FOUND when the lease is lost (expired or revoked: the
 * keys under it are gone), other codes when etcd did not answer.
 */
extern bool etcdLeaseKeepAlive(EtcdClient *client, int64 leaseId, int64 *ttl,
							   DrError *err);

/* End a lease now; a lease already gone is DR_ERR_NOT_FOUND. */
extern bool etcdLeaseRevoke(EtcdClient *client, int64 leaseId, DrError *err);

/* Read one key: *found false when absent (kv untouched). */
extern bool etcdGet(EtcdClient *client, const char *key, EtcdKv *kv,
					bool *found, DrError *err);

/*
 * Create key with value under leaseId (0: no lease) unless it exists
 * (create_revision = 0).  *created says which; when not created and
 * holder is not NULL, *holder is the key as it is, read by the failure
 * branch of the same transaction (so it is the value that beat ours), and
 * *holderFound true (the compare and the read are one transaction: a key
 * that failed the compare is there to be read).
 */
extern bool etcdCreate(EtcdClient *client, const char *key, const char *value,
					   int64 leaseId, bool *created, EtcdKv *holder,
					   bool *holderFound, DrError *err);

/*
 * Put key = value (no lease) only if the key is as it was read: its
 * mod_revision is still modRevision (0: still absent).  *put says
 * whether; when not, *current is the key as it is now (*currentFound).
 */
extern bool etcdPutIfRevision(EtcdClient *client, const char *key,
							  const char *value, int64 modRevision, bool *put,
							  EtcdKv *current, bool *currentFound, DrError *err);

/* Delete key only if its value is value: *deleted says whether it was. */
extern bool etcdDeleteIfValue(EtcdClient *client, const char *key,
							  const char *value, bool *deleted, DrError *err);

extern void etcdKvFree(EtcdKv *kv);

/*
 * The JSON of requests and answers (etcd_json.c): pure, unit tested and
 * fuzzed without etcd.  Each reader takes the answer's body and fails
 * with DR_ERR_CORRUPT ("etcd answer: ...") when it is not what etcd
 * sends.
 */
struct StringInfoData;
extern void etcdJsonBase64(struct StringInfoData *buf, const char *data, size_t len);
extern char *etcdJsonLeaseGrantBody(int64 ttlSec);
extern char *etcdJsonLeaseIdBody(int64 leaseId);
extern char *etcdJsonRangeBody(const char *key);
extern char *etcdJsonCreateBody(const char *key, const char *value, int64 leaseId);
extern char *etcdJsonDeleteIfValueBody(const char *key, const char *value);
extern char *etcdJsonPutIfRevisionBody(const char *key, const char *value,
									   int64 modRevision);

extern bool etcdJsonLeaseGrant(const char *body, size_t len, int64 *leaseId,
							   int64 *ttl, DrError *err);
/* *ttl 0: the lease is lost */
extern bool etcdJsonLeaseKeepAlive(const char *body, size_t len, int64 leaseId,
								   int64 *ttl, DrError *err);
extern bool etcdJsonRange(const char *body, size_t len, EtcdKv *kv, bool *found,
						  DrError *err);
/* a txn's answer: *succeeded, and the kv of its first range response */
extern bool etcdJsonTxn(const char *body, size_t len, bool *succeeded,
						EtcdKv *kv, bool *found, DrError *err);
/* an error answer's "message" (or "error"), palloc'd; NULL when none */
extern char *etcdJsonErrorMessage(const char *body, size_t len);

#endif							/* DR_ETCD_H */
