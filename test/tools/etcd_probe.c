/*-------------------------------------------------------------------------
 * etcd_probe.c
 *	  A test program of the etcd client (src/ha/etcd.c): one operation on
 *	  the leader key or a lease against a real etcd, printing what came
 *	  back, for t/060_etcd.pl.  Built by "make unit" and "make tapcheck"
 *	  into build/test/; never installed.
 *
 *	etcd_probe ENDPOINTS campaign KEY VALUE TTL [--at UNIX_MS] [--hold MS]
 *	    wait until UNIX_MS (so that two probes race), grant a lease of
 *	    TTL seconds, create KEY = VALUE under the lease if absent; prints
 *	    "lease ID ttl T", then "won" or "lost holder=V lease=L"; a winner
 *	    keeps the lease alive for MS milliseconds (every TTL/3 s, printing
 *	    "renewed ttl=T" each time), then exits without revoking it (the
 *	    lease then expires on its own)
 *	etcd_probe ENDPOINTS get KEY           "value=V lease=L" or "absent"
 *	etcd_probe ENDPOINTS keepalive ID      "renewed ttl=T", or "lost" and
 *	                                       exit 3 when the lease is gone
 *	etcd_probe ENDPOINTS release KEY VALUE "released" or "not held"
 *	etcd_probe ENDPOINTS revoke ID         "revoked", or "lost" and exit 3
 *
 * Any other failure prints "error: <code>: <message>" (and "hint: ...")
 * to stderr and exits 1.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <sys/time.h>
#include <unistd.h>

#include "ha/etcd.h"

static int64
nowMs(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64) tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void
sleepUntil(int64 ms)
{
	int64		left;

	while ((left = ms - nowMs()) > 0)
		usleep((useconds_t) Min(left, 100) * 1000);
}

static int
fail(const DrError *err)
{
	if (err->code == DR_ERR_NOT_FOUND)
	{
		printf("lost\n");
		fprintf(stderr, "%s\n", err->message);
		return 3;
	}
	fprintf(stderr, "error: %s: %s\n", drErrorCodeName(err->code), err->message);
	if (err->hint[0])
		fprintf(stderr, "hint: %s\n", err->hint);
	return 1;
}

static int
usage(void)
{
	fprintf(stderr, "usage: etcd_probe ENDPOINTS campaign KEY VALUE TTL [--at UNIX_MS] [--hold MS]\n"
			"       etcd_probe ENDPOINTS get KEY | keepalive ID | release KEY VALUE | revoke ID\n");
	return 2;
}

static int
campaign(EtcdClient *c, int argc, char **argv, DrError *err)
{
	const char *key = argv[0];
	const char *value = argv[1];
	int64		ttl = strtoll(argv[2], NULL, 10);
	int64		at = 0,
				hold = 0;
	int64		lease,
				granted;
	bool		created,
				found;
	EtcdKv		holder;

	for (int i = 3; i + 1 < argc; i += 2)
	{
		if (strcmp(argv[i], "--at") == 0)
			at = strtoll(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--hold") == 0)
			hold = strtoll(argv[i + 1], NULL, 10);
		else
			return usage();
	}
	/* the lease is granted at the start line, so its TTL starts there */
	if (at > 0)
		sleepUntil(at);
	if (!etcdLeaseGrant(c, ttl, &lease, &granted, err))
		return fail(err);
	printf("lease " INT64_FORMAT " ttl " INT64_FORMAT "\n", lease, granted);
	fflush(stdout);
	memset(&holder, 0, sizeof(holder));
	if (!etcdCreate(c, key, value, lease, &created, &holder, &found, err))
		return fail(err);
	if (!created)
	{
		printf("lost holder=%s lease=" INT64_FORMAT "\n", found ? holder.value : "?",
			   holder.lease);
		etcdKvFree(&holder);
		/* the loser's lease is of no use */
		if (!etcdLeaseRevoke(c, lease, err))
			return fail(err);
		return 0;
	}
	printf("won\n");
	fflush(stdout);
	for (int64 end = nowMs() + hold; nowMs() < end;)
	{
		int64		left;

		usleep((useconds_t) Max(granted * 1000 / 3, 100) * 1000);
		if (!etcdLeaseKeepAlive(c, lease, &left, err))
			return fail(err);
		printf("renewed ttl=" INT64_FORMAT "\n", left);
		fflush(stdout);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	EtcdClientParam param;
	EtcdClient *c;
	DrError		err;
	const char *cmd;
	int			rc = 0;

	if (argc < 4)
		return usage();
	drErrorClear(&err);
	memset(&param, 0, sizeof(param));
	param.endpoints = argv[1];
	param.timeoutMs = 2000;
	c = etcdClientNew(&param, &err);
	if (c == NULL)
		return fail(&err);
	cmd = argv[2];
	if (strcmp(cmd, "campaign") == 0 && argc >= 6)
		rc = campaign(c, argc - 3, argv + 3, &err);
	else if (strcmp(cmd, "get") == 0)
	{
		EtcdKv		kv;
		bool		found;

		if (!etcdGet(c, argv[3], &kv, &found, &err))
			rc = fail(&err);
		else if (!found)
			printf("absent\n");
		else
		{
			printf("value=%s lease=" INT64_FORMAT "\n", kv.value, kv.lease);
			etcdKvFree(&kv);
		}
	}
	else if (strcmp(cmd, "keepalive") == 0)
	{
		int64		ttl;

		if (!etcdLeaseKeepAlive(c, strtoll(argv[3], NULL, 10), &ttl, &err))
			rc = fail(&err);
		else
			printf("renewed ttl=" INT64_FORMAT "\n", ttl);
	}
	else if (strcmp(cmd, "release") == 0 && argc >= 5)
	{
		bool		deleted;

		if (!etcdDeleteIfValue(c, argv[3], argv[4], &deleted, &err))
			rc = fail(&err);
		else
			printf("%s\n", deleted ? "released" : "not held");
	}
	else if (strcmp(cmd, "revoke") == 0)
	{
		if (!etcdLeaseRevoke(c, strtoll(argv[3], NULL, 10), &err))
			rc = fail(&err);
		else
			printf("revoked\n");
	}
	else
		rc = usage();
	etcdClientFree(c);
	return rc;
}
