/*-------------------------------------------------------------------------
 * tap.h
 *	  A minimal TAP producer for the C unit tests (run by prove).
 *
 * Each test file declares what it covers in its header comment, calls the
 * checks below and ends with "return tapDone();".
 *-------------------------------------------------------------------------
 */
#ifndef DR_TAP_H
#define DR_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int	tapCount = 0;
static int	tapFailed = 0;

static inline bool tapOk(bool cond, const char *file, int line,
						 const char *fmt,...) pg_attribute_printf(4, 5);

static inline bool
tapOk(bool cond, const char *file, int line, const char *fmt,...)
{
	va_list		ap;

	tapCount++;
	printf("%sok %d - ", cond ? "" : "not ", tapCount);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
	{
		tapFailed++;
		printf("#   Failed test at %s line %d.\n", file, line);
	}
	fflush(stdout);
	return cond;
}

#define ok(cond, ...) tapOk((cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, expected, ...) \
	do { \
		long long got_ = (long long) (got); \
		long long exp_ = (long long) (expected); \
		if (!ok(got_ == exp_, __VA_ARGS__)) \
			printf("#          got: %lld\n#     expected: %lld\n", got_, exp_); \
	} while (0)

#define is_str(got, expected, ...) \
	do { \
		const char *got_ = (got); \
		const char *exp_ = (expected); \
		bool eq_ = (got_ && exp_) ? strcmp(got_, exp_) == 0 : got_ == exp_; \
		if (!ok(eq_, __VA_ARGS__)) \
			printf("#          got: '%s'\n#     expected: '%s'\n", \
				   got_ ? got_ : "(null)", exp_ ? exp_ : "(null)"); \
	} while (0)

/* print a diagnostic line */
#define diag(...) \
	do { printf("# "); printf(__VA_ARGS__); printf("\n"); } while (0)

static inline int
tapDone(void)
{
	printf("1..%d\n", tapCount);
	return tapFailed == 0 ? 0 : 1;
}

#endif							/* DR_TAP_H */
