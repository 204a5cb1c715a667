/*-------------------------------------------------------------------------
 * test_hex.c
 *	  Unit tests of src/common/hex.c.
 *
 * Covers: hexEncode in lower case (ids, key ids, checksums) and upper case
 * (the manifest's %XX escapes), every byte value; hexDecode of exactly
 * 2 * len digits, in the case asked for (lower, upper, either), refusing a
 * short, long or empty string and a non-hex digit; hexDigit per case;
 * hexIs (case, stops at the terminator); hexToUint32 (8 digits, case,
 * a non-hex digit).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "common/hex.h"
#include "tap.h"

static void
testEncodeDecode(void)
{
	uint8		in[5] = {0x00, 0x7f, 0x80, 0xab, 0xff};
	uint8		out[5];
	char		hex[11];

	hexEncode(in, 5, HEX_LOWER, hex);
	is_str(hex, "007f80abff", "hexEncode HEX_LOWER is lower case");
	hexEncode(in, 5, HEX_UPPER, hex);
	is_str(hex, "007F80ABFF", "hexEncode HEX_UPPER is upper case");
	hexEncode(in, 0, HEX_LOWER, hex);
	is_str(hex, "", "hexEncode of no bytes is the empty string");

	ok(hexDecode("007F80abFF", HEX_ANY, out, 5) && memcmp(in, out, 5) == 0,
	   "hexDecode HEX_ANY reads either case");
	ok(!hexDecode("007f80abf", HEX_ANY, out, 5), "hexDecode refuses a short string");
	ok(!hexDecode("007f80abff00", HEX_ANY, out, 5), "hexDecode refuses a long string");
	ok(!hexDecode("007f80abfg", HEX_ANY, out, 5), "hexDecode refuses a non-hex digit");
	ok(!hexDecode("", HEX_ANY, out, 5), "hexDecode refuses an empty string");

	memset(out, 0, sizeof(out));
	ok(hexDecode("007f80abff", HEX_LOWER, out, 5) && memcmp(in, out, 5) == 0,
	   "hexDecode HEX_LOWER reads lower case");
	ok(!hexDecode("007f80abFf", HEX_LOWER, out, 5),
	   "hexDecode HEX_LOWER refuses an upper-case digit");
	memset(out, 0, sizeof(out));
	ok(hexDecode("007F80ABFF", HEX_UPPER, out, 5) && memcmp(in, out, 5) == 0,
	   "hexDecode HEX_UPPER reads upper case");
	ok(!hexDecode("007F80aBFF", HEX_UPPER, out, 5),
	   "hexDecode HEX_UPPER refuses a lower-case digit");

	/* every byte value survives both cases */
	{
		uint8		all[256];
		uint8		back[256];
		char		allHex[513];
		bool		same = true;

		for (int i = 0; i < 256; i++)
			all[i] = (uint8) i;
		for (int c = 0; c < 2; c++)
		{
			HexCase		hcase = c == 0 ? HEX_LOWER : HEX_UPPER;

			hexEncode(all, 256, hcase, allHex);
			same = same && strlen(allHex) == 512 &&
				hexDecode(allHex, hcase, back, 256) &&
				memcmp(all, back, 256) == 0;
		}
		ok(same, "every byte value round-trips in both cases");
	}
}

static void
testDigits(void)
{
	uint32		v = 0;

	is_int(hexDigit('0', HEX_LOWER), 0, "hexDigit '0'");
	is_int(hexDigit('9', HEX_UPPER), 9, "hexDigit '9'");
	is_int(hexDigit('a', HEX_LOWER), 10, "hexDigit 'a' lower");
	is_int(hexDigit('a', HEX_UPPER), -1, "hexDigit 'a' is not upper");
	is_int(hexDigit('F', HEX_UPPER), 15, "hexDigit 'F' upper");
	is_int(hexDigit('F', HEX_LOWER), -1, "hexDigit 'F' is not lower");
	is_int(hexDigit('f', HEX_ANY), 15, "hexDigit 'f' any");
	is_int(hexDigit('F', HEX_ANY), 15, "hexDigit 'F' any");
	is_int(hexDigit('g', HEX_ANY), -1, "hexDigit 'g'");
	is_int(hexDigit('\0', HEX_ANY), -1, "hexDigit of the terminator");

	ok(hexIs("0123456789ABCDEF", 16, HEX_UPPER), "hexIs upper");
	ok(!hexIs("0123456789abcdef", 16, HEX_UPPER), "hexIs upper refuses lower");
	ok(hexIs("0123456789abcdef", 16, HEX_LOWER), "hexIs lower");
	ok(!hexIs("ABC", 8, HEX_UPPER), "hexIs stops at the terminator of a short string");
	ok(hexIs("", 0, HEX_UPPER), "hexIs of nothing");

	ok(hexToUint32("0000000A", 8, HEX_UPPER, &v) && v == 10, "hexToUint32 small");
	ok(hexToUint32("FFFFFFFF", 8, HEX_UPPER, &v) && v == 0xFFFFFFFF,
	   "hexToUint32 largest");
	ok(!hexToUint32("0000000a", 8, HEX_UPPER, &v), "hexToUint32 upper refuses lower");
	ok(!hexToUint32("0000000G", 8, HEX_UPPER, &v), "hexToUint32 refuses a non-hex digit");
}

int
main(void)
{
	testEncodeDecode();
	testDigits();
	return tapDone();
}
