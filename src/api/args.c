/*-------------------------------------------------------------------------
 * args.c
 *	  Checks of the text arguments of the SQL-callable functions (see
 *	  api.h).
 *
 * A backup label ends up as a line of backup_label ("LABEL: ..."), which
 * PostgreSQL reads line by line without any quoting, so a newline in a
 * label adds a line of its own choosing: E'x\nSTART TIMELINE: 7' gives a
 * backup that verifies fine and can never start.  A restore point name
 * goes into the recovery settings a restore writes (recovery_target_name,
 * quoted there) and into the server log and the CLI's line-per-item
 * output, where a newline forges lines just the same.  So these arguments
 * are one line of printable text: every control character (0x01-0x1f and
 * 0x7f, tab included) is refused, with the first offending byte named.
 * NUL cannot occur in a text value.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "api/api.h"

void
apiTextArgCheck(const char *function, const char *argument, const char *value,
				size_t minBytes, size_t maxBytes)
{
	size_t		len = strlen(value);

	if (len < minBytes || len > maxBytes)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"%s\" of %s() must have %zu to %zu bytes, got %zu",
						argument, function, minBytes, maxBytes, len)));

	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) value[i];

		if (c < 0x20 || c == 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("argument \"%s\" of %s() contains a control character (0x%02x at byte %zu)",
							argument, function, c, i + 1),
					 errhint("Use one line of printable text: the value is written into files and output read line by line (backup_label, the recovery settings, logs).")));
	}
}
