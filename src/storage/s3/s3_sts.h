/*-------------------------------------------------------------------------
 * s3_sts.h
 *	  Web-identity credentials of the S3 driver: AWS STS
 *	  AssumeRoleWithWebIdentity, the way Kubernetes service accounts
 *	  (EKS "IRSA", or any OIDC issuer trusted by the role) get temporary
 *	  credentials: a token file the kubelet keeps fresh, and a role ARN.
 *
 * The call (s3StsAssume) is one unsigned HTTPS POST to the STS endpoint
 * with the form fields Action=AssumeRoleWithWebIdentity,
 * Version=2011-06-15, RoleArn, RoleSessionName and WebIdentityToken (the
 * token file's content, read afresh for every call: the kubelet rotates
 * it).  The answer is an AssumeRoleWithWebIdentityResponse whose
 * Credentials hold AccessKeyId, SecretAccessKey, SessionToken and
 * Expiration, or an ErrorResponse (InvalidIdentityToken,
 * ExpiredTokenException, AccessDenied, ...), each turned into its own
 * DrError with what to do.
 *
 * Secrets: the token, the secret access key and the session token never
 * appear in a message (an STS message quoting the token is left out), and
 * are wiped when freed (s3StsAnswerClear, s3StsCredentialsClear).
 *-------------------------------------------------------------------------
 */
#ifndef DR_S3_STS_H
#define DR_S3_STS_H

#include <time.h>

#include "common/error.h"
#include "common/host.h"

#define S3_STS_VERSION		"2011-06-15"
/* what the answer may weigh: AWS's are about 2 KB */
#define S3_STS_ANSWER_MAX	(64 * 1024)
/* a projected service account token is about 1 KB; JWTs stay well below */
#define S3_STS_TOKEN_MAX	(16 * 1024)

/* Temporary credentials, palloc'd. */
typedef struct S3StsCredentials
{
	char	   *accessKey;
	char	   *secret;
	char	   *sessionToken;
	time_t		expiration;		/* seconds since the epoch */
} S3StsCredentials;

/* What an STS answer says (s3StsParse). */
typedef struct S3StsAnswer
{
	bool		isError;		/* an ErrorResponse */
	S3StsCredentials credentials;	/* when not isError */
	char	   *assumedRoleArn; /* AssumedRoleUser/Arn, NULL if absent */
	char	   *errorCode;		/* when isError: "InvalidIdentityToken" ... */
	char	   *errorMessage;	/* NULL if absent */
	char	   *requestId;		/* NULL if absent */
} S3StsAnswer;

/*
 * Parse an STS answer body (pure; unit and fuzz tested).  A success must
 * have the four credential fields, non-empty, and an Expiration in ISO
 * 8601 (UTC); an ErrorResponse must have a Code.  DR_ERR_CORRUPT, with a
 * message starting "STS answer: ", for anything else (another document,
 * a field twice, malformed XML).  *out is cleared first; free it with
 * s3StsAnswerClear whatever the result.
 */
extern bool s3StsParse(const char *body, size_t len, S3StsAnswer *out,
					   DrError *err);

/* Wipe the secrets and free everything in *answer. */
extern void s3StsAnswerClear(S3StsAnswer *answer);
extern void s3StsCredentialsClear(S3StsCredentials *credentials);

/*
 * When to ask again for credentials obtained at obtained that expire at
 * expiration: 5 minutes before they expire, or halfway through their
 * life when that is shorter (STS gives at least 15 minutes; a test server
 * may give seconds).  Pure.
 */
#define S3_STS_REFRESH_BEFORE	300
extern time_t s3StsRefreshAt(time_t obtained, time_t expiration);

/*
 * The DrError of an STS error answer (pure, unit tested): by code, what
 * failed and what to do, with the role and the token file named; the
 * STS message is quoted unless it holds token.  Returns false.
 */
extern bool s3StsError(const S3StsAnswer *answer, long status,
					   const char *roleArn, const char *tokenFile,
					   const char *token, DrError *err);

/* One AssumeRoleWithWebIdentity call. */
typedef struct S3StsParam
{
	const char *endpoint;		/* host[:port], reached over https */
	const char *roleArn;
	const char *sessionName;
	const char *tokenFile;
	const char *caFile;			/* NULL: the system's CAs */
	const char *caPath;
	const DrHost *host;			/* cancel while waiting; NULL: none */
} S3StsParam;

/*
 * Read the token file, call STS, parse its answer into *out (free with
 * s3StsCredentialsClear).  Errors: the token file unreadable, empty or
 * too large (naming it), STS unreachable (the HTTP layer's error), or
 * STS's refusal (s3StsError).
 */
extern bool s3StsAssume(const S3StsParam *param, S3StsCredentials *out,
						DrError *err);

#endif							/* DR_S3_STS_H */
