/*-------------------------------------------------------------------------
 * listen_addr.h
 *	  A listen address written "address:port": the numeric IPv4 address
 *	  ("127.0.0.1:9187", "0.0.0.0:9187" for every interface) or the
 *	  bracketed numeric IPv6 address ("[::1]:9187", "[::]:9187"), and a
 *	  port from 1 to 65535.  No host name: a listener must not depend on
 *	  name resolution at start, and what it binds must be what was written.
 *
 * Pure (no I/O): pg_dr.metrics_listen's check hook and the endpoint's
 * worker both parse with it; test/unit/test_listen_addr.c tests it.
 *-------------------------------------------------------------------------
 */
#ifndef DR_LISTEN_ADDR_H
#define DR_LISTEN_ADDR_H

#include <sys/socket.h>

typedef struct ListenAddr
{
	int			family;			/* AF_INET or AF_INET6 */
	int			port;			/* 1 .. 65535 */
	struct sockaddr_storage addr;	/* address and port, ready for bind() */
	socklen_t	addrLen;
} ListenAddr;

/*
 * Parse text into *out.  False when it is not an address and port as
 * above, with what is wrong in err (errSize bytes, NUL-terminated), a
 * sentence the caller can show as it is.
 */
extern bool listenAddrParse(const char *text, ListenAddr *out, char *err,
							size_t errSize);

#endif							/* DR_LISTEN_ADDR_H */
