/*-------------------------------------------------------------------------
 * test_error.c
 *	  Unit tests of src/common/error.c.
 *
 * Covers: drErrorSet (message, code, errno capture, %m), drErrorHint,
 * drErrorPrefix, drErrorClear, drErrorCodeName, drErrorValue (cap, UTF-8
 * boundary, control characters).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <errno.h>

#include "common/error.h"
#include "tap.h"

int
main(void)
{
	DrError		err;

	drErrorClear(&err);
	is_int(err.code, DR_OK, "clear resets the code");

	ok(!drErrorSet(&err, DR_ERR_CONFIG, "bad value \"%s\"", "x"),
	   "drErrorSet returns false");
	is_int(err.code, DR_ERR_CONFIG, "code kept");
	is_str(err.message, "bad value \"x\"", "message formatted");
	is_int(err.sysErrno, 0, "no errno for non-io errors");

	errno = ENOENT;
	drErrorSet(&err, DR_ERR_IO, "could not open \"%s\": %m", "f");
	is_int(err.sysErrno, ENOENT, "errno saved for io errors");
	is_str(err.message, "could not open \"f\": No such file or directory",
		   "%%m expands to strerror");

	drErrorHint(&err, "check %s", "it");
	is_str(err.hint, "Check it.", "hint set");
	drErrorPrefix(&err, "while %s: ", "testing");
	ok(strncmp(err.message, "while testing: could not open", 29) == 0,
	   "prefix prepended");
	is_int(err.code, DR_ERR_IO, "prefix keeps the code");
	is_str(drErrorCodeName(DR_ERR_CORRUPT), "corrupt", "code names");
	ok(!drErrorSet(NULL, DR_ERR_IO, "ignored"), "NULL err tolerated");

	/* drErrorValue: short values kept, long ones capped, no new lines */
	{
		char		buf[DR_ERROR_VALUE_BUF];
		char		longValue[300];
		char		utf8[DR_ERROR_VALUE_MAX + 8];

		is_str(drErrorValue("20240501-120000F", buf), "20240501-120000F",
			   "value: short value as is");
		memset(longValue, 'x', sizeof(longValue) - 1);
		longValue[sizeof(longValue) - 1] = '\0';
		drErrorValue(longValue, buf);
		is_int((int) strlen(buf), DR_ERROR_VALUE_MAX + 3, "value: capped at the maximum");
		ok(strcmp(buf + DR_ERROR_VALUE_MAX, "...") == 0, "value: '...' marks the cut");
		memset(longValue, 'y', DR_ERROR_VALUE_MAX);
		longValue[DR_ERROR_VALUE_MAX] = '\0';
		is_str(drErrorValue(longValue, buf), longValue,
			   "value: exactly the maximum is not cut");
		is_str(drErrorValue("a\nLABEL: b\r\x7f", buf), "a?LABEL: b??",
			   "value: control characters shown as '?'");
		/* a two-byte character across the limit is dropped whole */
		memset(utf8, 'z', DR_ERROR_VALUE_MAX - 1);
		strcpy(utf8 + DR_ERROR_VALUE_MAX - 1, "\xc3\xa9tail");
		drErrorValue(utf8, buf);
		is_int((int) strlen(buf), DR_ERROR_VALUE_MAX - 1 + 3,
			   "value: cut before a UTF-8 character, not inside it");
	}

	return tapDone();
}
