/*-------------------------------------------------------------------------
 * error.c
 *	  DrError: failure reports from shared code (see error.h).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <errno.h>

#include "common/error.h"

void
drErrorClear(DrError *err)
{
	if (err == NULL)
		return;
	err->code = DR_OK;
	err->sysErrno = 0;
	err->message[0] = '\0';
	err->hint[0] = '\0';
}

bool
drErrorSet(DrError *err, DrErrorCode code, const char *fmt,...)
{
	int			save_errno = errno;
	va_list		ap;

	if (err == NULL)
		return false;

	err->code = code;
	err->sysErrno = (code == DR_ERR_IO) ? save_errno : 0;
	err->hint[0] = '\0';

	/* restore errno so that %m in fmt expands to the caller's error */
	errno = save_errno;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	errno = save_errno;
	return false;
}

void
drErrorHint(DrError *err, const char *fmt,...)
{
	va_list		ap;
	size_t		len;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
	va_end(ap);

	/*
	 * Hints are sentences (PostgreSQL's style): callers write them as
	 * phrases, this makes them start with a capital and end with a stop.
	 */
	if (err->hint[0] >= 'a' && err->hint[0] <= 'z')
		err->hint[0] += 'A' - 'a';
	len = strlen(err->hint);
	if (len > 0 && len + 1 < sizeof(err->hint) &&
		strchr(".?!", err->hint[len - 1]) == NULL)
	{
		err->hint[len] = '.';
		err->hint[len + 1] = '\0';
	}
}

void
drErrorPrefix(DrError *err, const char *fmt,...)
{
	char		prefix[512];
	char		old[sizeof(err->message)];
	va_list		ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	strlcpy(old, err->message, sizeof(old));
	snprintf(err->message, sizeof(err->message), "%s%s", prefix, old);
}

const char *
drErrorCodeName(DrErrorCode code)
{
	switch (code)
	{
		case DR_OK:
			return "ok";
		case DR_ERR_IO:
			return "io";
		case DR_ERR_CONFIG:
			return "config";
		case DR_ERR_CORRUPT:
			return "corrupt";
		case DR_ERR_KEY:
			return "key";
		case DR_ERR_EXISTS:
			return "exists";
		case DR_ERR_NOT_FOUND:
			return "not-found";
		case DR_ERR_INVALID:
			return "invalid";
		case DR_ERR_PERMISSION:
			return "permission";
		case DR_ERR_INTERNAL:
			return "internal";
		case DR_ERR_CANCELED:
			return "canceled";
	}
	return "unknown";
}

const char *
drErrorValue(const char *value, char *buf)
{
	size_t		len = strlen(value);
	size_t		keep = len;
	size_t		i;

	if (len > DR_ERROR_VALUE_MAX)
	{
		/* cut before a UTF-8 continuation byte, never inside a character */
		keep = DR_ERROR_VALUE_MAX;
		while (keep > 0 && ((unsigned char) value[keep] & 0xc0) == 0x80)
			keep--;
	}
	for (i = 0; i < keep; i++)
	{
		unsigned char c = (unsigned char) value[i];

		/* a newline would let the value forge a line of a log */
		buf[i] = (c < 0x20 || c == 0x7f) ? '?' : (char) c;
	}
	if (keep < len)
	{
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}
