/*-------------------------------------------------------------------------
 * test_error.c
 *	  Unit tests of src/common/error.c.
 *
 * Covers: drErrorSet (message, code, errno capture, %m), drErrorHint,
 * drErrorPrefix, drErrorClear, drErrorCodeName.
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

	return tapDone();
}
