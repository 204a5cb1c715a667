/*-------------------------------------------------------------------------
 * error.h
 *	  How shared code (src/common, src/storage, src/repo) reports failure.
 *
 * Shared code never calls ereport: the backend and the CLI fail in
 * different ways.  A function that can fail takes a DrError * as its last
 * argument, returns false/NULL/-1 on failure and fills the DrError.  The
 * caller turns it into an ereport (drEreport in src/dr_ereport.c maps each
 * code to a SQLSTATE) or a message on stderr and an exit status (bin/).
 *-------------------------------------------------------------------------
 */
#ifndef DR_ERROR_H
#define DR_ERROR_H

typedef enum DrErrorCode
{
	DR_OK = 0,
	DR_ERR_IO,					/* a system call failed; sysErrno is set */
	DR_ERR_CONFIG,				/* configuration file or value is wrong */
	DR_ERR_CORRUPT,				/* stored data failed authentication or a
								 * checksum, or is malformed */
	DR_ERR_KEY,					/* wrong or unusable key or passphrase */
	DR_ERR_EXISTS,				/* object already exists (never overwritten) */
	DR_ERR_NOT_FOUND,			/* object or file does not exist */
	DR_ERR_INVALID,				/* bad argument from the caller */
	DR_ERR_PERMISSION,			/* unsafe or insufficient permissions */
	DR_ERR_INTERNAL,			/* library failure (OpenSSL, zstd) */
	DR_ERR_CANCELED				/* the host asked to stop (common/host.h) */
} DrErrorCode;

typedef struct DrError
{
	DrErrorCode code;
	int			sysErrno;		/* errno for DR_ERR_IO, else 0 */
	char		message[1024];	/* full sentence, lower case, no period */
	char		hint[256];		/* optional; empty when there is none */
} DrError;

/* Reset to DR_OK. */
extern void drErrorClear(DrError *err);

/*
 * Set code and message (printf-style; %m works and uses the current errno,
 * which is also saved in sysErrno).  Returns false so that callers can write
 * "return drErrorSet(...)".  err may be NULL: the failure is then only
 * signalled through the return value.
 */
extern bool drErrorSet(DrError *err, DrErrorCode code, const char *fmt,...) pg_attribute_printf(3, 4);

/*
 * Add a hint to an error already set.  It is made a sentence: first letter
 * capitalized, a full stop added when it ends without one.
 */
extern void drErrorHint(DrError *err, const char *fmt,...) pg_attribute_printf(2, 3);

/*
 * Prefix the message with context ("while reading \"x\": " ...), keeping
 * code and errno.
 */
extern void drErrorPrefix(DrError *err, const char *fmt,...) pg_attribute_printf(2, 3);

/*
 * A value the caller supplied (a backup id, a path), made fit to quote in a
 * message: at most DR_ERROR_VALUE_MAX bytes of it, cut at a UTF-8 character
 * boundary and followed by "..." when longer, control characters shown as
 * '?'.  buf must hold DR_ERROR_VALUE_BUF bytes; returns buf.  So that one
 * mistyped or hostile argument cannot fill a message, a log line or an
 * audit record, nor add lines to them.
 */
#define DR_ERROR_VALUE_MAX	64
#define DR_ERROR_VALUE_BUF	(DR_ERROR_VALUE_MAX + 4)
extern const char *drErrorValue(const char *value, char *buf);

/* Name of a code, for logs and tests ("corrupt", "io", ...). */
extern const char *drErrorCodeName(DrErrorCode code);

#endif							/* DR_ERROR_H */
