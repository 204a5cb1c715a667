/*-------------------------------------------------------------------------
 * hex.c
 *	  Hexadecimal digits (see hex.h).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "common/hex.h"

int
hexDigit(char c, HexCase hcase)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (hcase != HEX_UPPER && c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (hcase != HEX_LOWER && c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool
hexIs(const char *s, size_t len, HexCase hcase)
{
	for (size_t i = 0; i < len; i++)
		if (hexDigit(s[i], hcase) < 0)
			return false;
	return true;
}

void
hexEncode(const uint8 *bytes, size_t len, HexCase hcase, char *hex)
{
	const char *digits = hcase == HEX_UPPER ? "0123456789ABCDEF" :
		"0123456789abcdef";

	Assert(hcase != HEX_ANY);
	for (size_t i = 0; i < len; i++)
	{
		hex[2 * i] = digits[bytes[i] >> 4];
		hex[2 * i + 1] = digits[bytes[i] & 0x0f];
	}
	hex[2 * len] = '\0';
}

bool
hexDecode(const char *hex, HexCase hcase, uint8 *bytes, size_t len)
{
	if (strlen(hex) != 2 * len)
		return false;
	for (size_t i = 0; i < len; i++)
	{
		int			hi = hexDigit(hex[2 * i], hcase);
		int			lo = hexDigit(hex[2 * i + 1], hcase);

		if (hi < 0 || lo < 0)
			return false;
		bytes[i] = (uint8) ((hi << 4) | lo);
	}
	return true;
}

bool
hexToUint32(const char *s, int len, HexCase hcase, uint32 *value)
{
	uint32		v = 0;

	Assert(len >= 1 && len <= 8);
	for (int i = 0; i < len; i++)
	{
		int			d = hexDigit(s[i], hcase);

		if (d < 0)
			return false;
		v = (v << 4) | (uint32) d;
	}
	*value = v;
	return true;
}
