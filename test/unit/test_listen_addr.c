/*-------------------------------------------------------------------------
 * test_listen_addr.c
 *	  Unit tests of src/common/listen_addr.c.
 *
 * Covers: IPv4 and bracketed IPv6 addresses with a port (the address and
 * port in the sockaddr, network order); every interface (0.0.0.0, [::]);
 * ports 1 and 65535; refusing: no port, an empty, zero, too large, signed
 * or non-numeric port, a host name, an empty address, an IPv6 address
 * without brackets or without its port, a bad IPv4 address, an overlong
 * address; each refusal says what is wrong.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "common/listen_addr.h"
#include "tap.h"

static void
testGood(void)
{
	ListenAddr a;
	char		err[256];
	char		text[INET6_ADDRSTRLEN];

	ok(listenAddrParse("127.0.0.1:9187", &a, err, sizeof(err)), "IPv4 with a port");
	is_int(a.family, AF_INET, "IPv4 family");
	is_int(a.port, 9187, "IPv4 port");
	is_int(ntohs(((struct sockaddr_in *) &a.addr)->sin_port), 9187, "port in the sockaddr");
	inet_ntop(AF_INET, &((struct sockaddr_in *) &a.addr)->sin_addr, text, sizeof(text));
	is_str(text, "127.0.0.1", "address in the sockaddr");
	is_int((int) a.addrLen, (int) sizeof(struct sockaddr_in), "IPv4 length");

	ok(listenAddrParse("[::1]:1", &a, err, sizeof(err)), "IPv6 with port 1");
	is_int(a.family, AF_INET6, "IPv6 family");
	is_int(a.port, 1, "port 1");
	inet_ntop(AF_INET6, &((struct sockaddr_in6 *) &a.addr)->sin6_addr, text, sizeof(text));
	is_str(text, "::1", "IPv6 address in the sockaddr");

	ok(listenAddrParse("0.0.0.0:65535", &a, err, sizeof(err)) && a.port == 65535,
	   "every IPv4 interface, port 65535");
	ok(listenAddrParse("[::]:9187", &a, err, sizeof(err)), "every IPv6 interface");
	ok(listenAddrParse("[2001:db8::42]:80", &a, err, sizeof(err)), "a global IPv6 address");
}

static void
bad(const char *text, const char *says)
{
	ListenAddr a;
	char		err[256] = "";

	ok(!listenAddrParse(text, &a, err, sizeof(err)), "refuses \"%s\"", text);
	ok(strstr(err, says) != NULL, "  and says \"%s\" (%s)", says, err);
}

static void
testBad(void)
{
	bad("127.0.0.1", "no port");
	bad("127.0.0.1:", "is not a number from 1 to 65535");
	bad("127.0.0.1:0", "is not a number from 1 to 65535");
	bad("127.0.0.1:65536", "is not a number from 1 to 65535");
	bad("127.0.0.1:123456", "is not a number from 1 to 65535");
	bad("127.0.0.1:-1", "is not a number from 1 to 65535");
	bad("127.0.0.1:+80", "is not a number from 1 to 65535");
	bad("127.0.0.1:http", "is not a number from 1 to 65535");
	bad("localhost:9187", "host names are not accepted");
	bad(":9187", "is not a numeric IPv4 address");
	bad("127.0.0.256:9187", "is not a numeric IPv4 address");
	bad("::1:9187", "written in brackets");
	bad("[::1]", "followed by \":port\"");
	bad("[::1]9187", "followed by \":port\"");
	bad("[]:9187", "is not a numeric IPv6 address");
	bad("[1.2.3.4]:9187", "is not a numeric IPv6 address");
	bad("[::1:9187", "followed by \":port\"");
	bad("1111111111111111111111111111111111111111111111111111111111111111111:80",
		"is not a numeric IPv4 address");
	bad("", "no port");
}

int
main(void)
{
	testGood();
	testBad();
	return tapDone();
}
