/*-------------------------------------------------------------------------
 * test_support.h
 *	  Helpers the C unit tests share (after tap.h): test vectors in hex.
 *
 * Header-only, like tap.h: each test is one translation unit, and a file
 * uses what it needs (static inline, so an unused helper costs nothing).
 *-------------------------------------------------------------------------
 */
#ifndef DR_TEST_SUPPORT_H
#define DR_TEST_SUPPORT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hex.h"

/*
 * Decode a test vector of lower-case hex into out (strlen(hex) / 2 bytes).
 * A malformed vector is a broken test, not a failed check: bail out.
 */
static inline void
testHexDecode(const char *hex, uint8 *out)
{
	if (!hexDecode(hex, HEX_LOWER, out, strlen(hex) / 2))
	{
		printf("Bail out! malformed hex test vector \"%s\"\n", hex);
		exit(1);
	}
}

#endif							/* DR_TEST_SUPPORT_H */
