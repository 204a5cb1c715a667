/*-------------------------------------------------------------------------
 * listen_addr.c
 *	  Parsing "address:port" (see listen_addr.h).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "common/listen_addr.h"

bool
listenAddrParse(const char *text, ListenAddr *out, char *err, size_t errSize)
{
	char		host[INET6_ADDRSTRLEN + 1];
	const char *portText;
	size_t		hostLen;
	long		port = 0;

	memset(out, 0, sizeof(*out));
	if (text[0] == '[')
	{
		const char *close = strchr(text, ']');

		if (close == NULL || close[1] != ':')
		{
			snprintf(err, errSize, "an IPv6 address is written in brackets and followed by \":port\", as in \"[::1]:9187\"");
			return false;
		}
		hostLen = close - text - 1;
		if (hostLen >= sizeof(host))
		{
			snprintf(err, errSize, "\"%.*s\" is not a numeric IPv6 address", (int) Min(hostLen, 64), text + 1);
			return false;
		}
		memcpy(host, text + 1, hostLen);
		host[hostLen] = '\0';
		portText = close + 2;
		out->family = AF_INET6;
	}
	else
	{
		const char *colon = strrchr(text, ':');

		if (colon == NULL)
		{
			snprintf(err, errSize, "no port: write \"address:port\", as in \"127.0.0.1:9187\"");
			return false;
		}
		hostLen = colon - text;
		if (memchr(text, ':', hostLen) != NULL)
		{
			snprintf(err, errSize, "an IPv6 address is written in brackets, as in \"[::1]:9187\"");
			return false;
		}
		if (hostLen >= sizeof(host))
		{
			snprintf(err, errSize, "\"%.*s\" is not a numeric IPv4 address", (int) Min(hostLen, 64), text);
			return false;
		}
		memcpy(host, text, hostLen);
		host[hostLen] = '\0';
		portText = colon + 1;
		out->family = AF_INET;
	}

	/* the port: 1 to 5 decimal digits, 1 .. 65535 */
	if (portText[0] == '\0' || strspn(portText, "0123456789") != strlen(portText) ||
		strlen(portText) > 5)
	{
		snprintf(err, errSize, "the port \"%s\" is not a number from 1 to 65535", portText);
		return false;
	}
	for (const char *p = portText; *p; p++)
		port = port * 10 + (*p - '0');
	if (port < 1 || port > 65535)
	{
		snprintf(err, errSize, "the port \"%s\" is not a number from 1 to 65535", portText);
		return false;
	}
	out->port = (int) port;

	if (out->family == AF_INET)
	{
		struct sockaddr_in *sin = (struct sockaddr_in *) &out->addr;

		if (host[0] == '\0' || inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		{
			snprintf(err, errSize, "\"%s\" is not a numeric IPv4 address (host names are not accepted)", host);
			return false;
		}
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16) port);
		out->addrLen = sizeof(*sin);
	}
	else
	{
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &out->addr;

		if (host[0] == '\0' || inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
		{
			snprintf(err, errSize, "\"%s\" is not a numeric IPv6 address", host);
			return false;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16) port);
		out->addrLen = sizeof(*sin6);
	}
	return true;
}
