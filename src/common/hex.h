/*-------------------------------------------------------------------------
 * hex.h
 *	  Hexadecimal digits: the one encoder and decoder of the tree.
 *
 * PostgreSQL 15 has no hex codec for frontend code (common/hex.h existed
 * only in 14; the backend's hex_encode/hex_decode live in utils/adt and
 * report through ereport), so the CLI and the extension share this one.
 *
 * Every on-disk format says which case it writes and which it reads, and
 * that matters: ids, key ids and checksums are lower case (manifest,
 * repository info, key file names, JSON), WAL file names and the manifest's
 * %XX escapes are upper case.  So each call names the case; HEX_ANY reads
 * either (never written).
 *-------------------------------------------------------------------------
 */
#ifndef DR_HEX_H
#define DR_HEX_H

typedef enum HexCase
{
	HEX_LOWER,					/* 0-9 a-f */
	HEX_UPPER,					/* 0-9 A-F */
	HEX_ANY						/* either; for reading only */
} HexCase;

/* The value of digit c in that case, or -1. */
extern int	hexDigit(char c, HexCase hcase);

/*
 * Whether s[0..len) are all hex digits of that case.  Stops at the first
 * character that is not, so a shorter string (its terminator) is false
 * without reading past it.
 */
extern bool hexIs(const char *s, size_t len, HexCase hcase);

/*
 * The 2 * len digits of bytes, terminated: hex has room for 2 * len + 1
 * bytes.  hcase is HEX_LOWER or HEX_UPPER.
 */
extern void hexEncode(const uint8 *bytes, size_t len, HexCase hcase, char *hex);

/*
 * Decode hex, which must be exactly 2 * len digits of that case (a longer
 * or shorter string is not this value), into bytes[0..len).  False, bytes
 * undefined, otherwise.
 */
extern bool hexDecode(const char *hex, HexCase hcase, uint8 *bytes, size_t len);

/*
 * s[0..len) (1 to 8 digits of that case) as a number, as WAL file names
 * carry their parts; false on any other character.
 */
extern bool hexToUint32(const char *s, int len, HexCase hcase, uint32 *value);

#endif							/* DR_HEX_H */
