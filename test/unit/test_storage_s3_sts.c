/*-------------------------------------------------------------------------
 * test_storage_s3_sts.c
 *	  Unit tests of src/storage/s3/s3_sts.c (web-identity credentials:
 *	  STS AssumeRoleWithWebIdentity answers).  The call against a server
 *	  is t/055_s3_web_identity.pl's.
 *
 * Covers: AWS's documented AssumeRoleWithWebIdentityResponse read (key,
 * secret, session token, expiration in seconds, the assumed role's ARN,
 * the request id; SubjectFromWebIdentityToken, Audience, Provider and
 * SourceIdentity skipped), with an XML declaration and namespaces, and
 * an Expiration with fractional seconds; ErrorResponse documents read
 * (code, message, request id) for InvalidIdentityToken,
 * ExpiredTokenException and AccessDenied.  Refused, each with a message
 * starting "STS answer: ": a success without one of the four credential
 * fields or with one empty, a field twice, an Expiration that is not ISO
 * 8601, an ErrorResponse without Code, another document (an S3 <Error>,
 * an HTML page), malformed XML, an empty body, a body cut short at every
 * length.  s3StsRefreshAt: 5 minutes before expiry for STS's lifetimes
 * (15 min, 1 h), halfway for short ones, never after the expiry.
 * s3StsError: each code's message, SQLSTATE class (DrErrorCode) and
 * hint, the role and token file named, STS's message quoted unless it
 * holds the token, other codes and 5xx.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "storage/s3/s3_sts.h"
#include "tap.h"
#include "test_support.h"

/* AWS's example (API reference of AssumeRoleWithWebIdentity) */
static const char *const awsExample =
"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
"<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
"  <AssumeRoleWithWebIdentityResult>\n"
"    <SubjectFromWebIdentityToken>amzn1.account.AF6RHO7KZU5XRVQJGXK6HB56KR2A</SubjectFromWebIdentityToken>\n"
"    <Audience>client.5498841531868486423.1548@apps.example.com</Audience>\n"
"    <AssumedRoleUser>\n"
"      <Arn>arn:aws:sts::123456789012:assumed-role/FederatedWebIdentityRole/app1</Arn>\n"
"      <AssumedRoleId>AROACLKWSDQRAOEXAMPLE:app1</AssumedRoleId>\n"
"    </AssumedRoleUser>\n"
"    <Credentials>\n"
"      <SessionToken>AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE</SessionToken>\n"
"      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>\n"
"      <Expiration>2014-10-24T23:00:23Z</Expiration>\n"
"      <AccessKeyId>ASgeIAIOSFODNN7EXAMPLE</AccessKeyId>\n"
"    </Credentials>\n"
"    <SourceIdentity>SourceIdentityValue</SourceIdentity>\n"
"    <Provider>www.amazon.com</Provider>\n"
"  </AssumeRoleWithWebIdentityResult>\n"
"  <ResponseMetadata>\n"
"    <RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId>\n"
"  </ResponseMetadata>\n"
"</AssumeRoleWithWebIdentityResponse>\n";

/* an ErrorResponse as STS writes it */
static char *
errorDoc(const char *code, const char *message)
{
	return tsprintf("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
					"  <Error>\n    <Type>Sender</Type>\n    <Code>%s</Code>\n"
					"    <Message>%s</Message>\n  </Error>\n"
					"  <RequestId>7f0d2bde-EXAMPLE</RequestId>\n</ErrorResponse>\n",
					code, message);
}

/* A success document with the credentials part given. */
static char *
successDoc(const char *credentials)
{
	return tsprintf("<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
					"<Credentials>%s</Credentials></AssumeRoleWithWebIdentityResult>"
					"</AssumeRoleWithWebIdentityResponse>", credentials);
}

static void
refused(const char *body, const char *what, const char *fragment)
{
	S3StsAnswer a;
	DrError		err;
	bool		parsed;

	drErrorClear(&err);
	parsed = s3StsParse(body, strlen(body), &a, &err);
	ok(!parsed, "refused: %s", what);
	ok(err.code == DR_ERR_CORRUPT && strncmp(err.message, "STS answer: ", 12) == 0 &&
	   strstr(err.message, fragment) != NULL, "%s: message", what);
	if (parsed || strstr(err.message, fragment) == NULL)
		diag("message: %s", err.message);
	s3StsAnswerClear(&a);
}

static void
testSuccess(void)
{
	S3StsAnswer a;
	DrError		err;
	char	   *frac;

	drErrorClear(&err);
	ok(s3StsParse(awsExample, strlen(awsExample), &a, &err), "AWS's example read");
	ok(!a.isError, "a success");
	is_str(a.credentials.accessKey, "ASgeIAIOSFODNN7EXAMPLE", "access key");
	is_str(a.credentials.secret, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY", "secret");
	is_str(a.credentials.sessionToken, "AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE",
		   "session token");
	is_int(a.credentials.expiration, 1414191623, "expiration 2014-10-24T23:00:23Z");
	is_str(a.assumedRoleArn,
		   "arn:aws:sts::123456789012:assumed-role/FederatedWebIdentityRole/app1",
		   "the assumed role");
	is_str(a.requestId, "ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE", "request id");
	s3StsAnswerClear(&a);
	ok(a.credentials.secret == NULL && a.credentials.sessionToken == NULL,
	   "cleared");

	frac = successDoc("<AccessKeyId>K</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
					  "<SessionToken>T</SessionToken>"
					  "<Expiration>2026-12-03T12:00:00.123Z</Expiration>");
	ok(s3StsParse(frac, strlen(frac), &a, &err), "an Expiration with a fraction read");
	is_int(a.credentials.expiration, 1796299200, "to the second");
	s3StsAnswerClear(&a);
}

static void
testErrors(void)
{
	static const char *const codes[] = {
		"InvalidIdentityToken", "ExpiredTokenException", "AccessDenied"
	};
	S3StsAnswer a;
	DrError		err;

	for (int i = 0; i < (int) lengthof(codes); i++)
	{
		char	   *doc = errorDoc(codes[i], "a &lt;message&gt;");

		drErrorClear(&err);
		ok(s3StsParse(doc, strlen(doc), &a, &err), "%s read", codes[i]);
		ok(a.isError, "%s: an error", codes[i]);
		is_str(a.errorCode, codes[i], "%s: code", codes[i]);
		is_str(a.errorMessage, "a <message>", "%s: message decoded", codes[i]);
		is_str(a.requestId, "7f0d2bde-EXAMPLE", "%s: request id", codes[i]);
		s3StsAnswerClear(&a);
	}
}

static void
testRefusals(void)
{
	const char *cred4 = "<AccessKeyId>K</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
		"<SessionToken>T</SessionToken><Expiration>2026-12-03T12:00:00Z</Expiration>";
	size_t		len = strlen(awsExample);
	int			cutRefused = 0;

	refused(successDoc("<SecretAccessKey>S</SecretAccessKey><SessionToken>T</SessionToken>"
					   "<Expiration>2026-12-03T12:00:00Z</Expiration>"),
			"no AccessKeyId", "no <AccessKeyId>");
	refused(successDoc("<AccessKeyId>K</AccessKeyId><SessionToken>T</SessionToken>"
					   "<Expiration>2026-12-03T12:00:00Z</Expiration>"),
			"no SecretAccessKey", "no <SecretAccessKey>");
	refused(successDoc("<AccessKeyId>K</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
					   "<Expiration>2026-12-03T12:00:00Z</Expiration>"),
			"no SessionToken", "no <SessionToken>");
	refused(successDoc("<AccessKeyId>K</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
					   "<SessionToken>T</SessionToken>"),
			"no Expiration", "no <Expiration>");
	refused(successDoc("<AccessKeyId></AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
					   "<SessionToken>T</SessionToken><Expiration>2026-12-03T12:00:00Z</Expiration>"),
			"an empty AccessKeyId", "no <AccessKeyId>");
	refused(successDoc(tsprintf("%s<AccessKeyId>K2</AccessKeyId>", cred4)),
			"AccessKeyId twice", "<AccessKeyId> appears twice");
	refused(successDoc("<AccessKeyId>K</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
					   "<SessionToken>T</SessionToken><Expiration>tomorrow</Expiration>"),
			"a bad Expiration", "<Expiration> is not an ISO 8601 time");
	refused("<ErrorResponse><Error><Type>Sender</Type><Message>m</Message></Error></ErrorResponse>",
			"an ErrorResponse without Code", "no <Code>");
	refused("<Error><Code>AccessDenied</Code><Message>S3's</Message></Error>",
			"an S3 error document", "unexpected document <Error>");
	refused("<html><body>Service Unavailable</body></html>", "an HTML page",
			"unexpected document <html>");
	refused("<AssumeRoleWithWebIdentityResponse><x>", "malformed XML", "STS answer: ");
	refused("", "an empty body", "STS answer: ");
	refused("<!DOCTYPE a [<!ENTITY e \"x\">]><AssumeRoleWithWebIdentityResponse/>",
			"a DOCTYPE", "STS answer: ");

	/* every proper prefix of a good answer is refused, none crashes */
	for (size_t cut = 0; cut < len; cut++)
	{
		S3StsAnswer a;
		DrError		err;

		drErrorClear(&err);
		if (!s3StsParse(awsExample, cut, &a, &err) && err.code == DR_ERR_CORRUPT)
			cutRefused++;
		s3StsAnswerClear(&a);
	}
	/* but for the final newline, which is white space after the root */
	is_int(cutRefused, len - 1, "the answer cut short at every length is refused");
}

static void
testRefreshAt(void)
{
	time_t		t0 = 1796299200;

	is_int(s3StsRefreshAt(t0, t0 + 3600), t0 + 3600 - 300,
		   "an hour's credentials: asked again 5 minutes before expiry");
	is_int(s3StsRefreshAt(t0, t0 + 900), t0 + 600,
		   "STS's shortest (15 min): 5 minutes before");
	is_int(s3StsRefreshAt(t0, t0 + 4), t0 + 2, "4 seconds' credentials: halfway");
	is_int(s3StsRefreshAt(t0, t0 + 600), t0 + 300, "10 minutes: halfway, 5 before");
	is_int(s3StsRefreshAt(t0, t0 - 10), t0 - 10,
		   "already expired: at once (never after the expiry)");
}

static void
stsError(const char *code, const char *message, long status,
		 DrErrorCode wantCode, const char *wantMessage, const char *wantHint)
{
	S3StsAnswer a;
	DrError		err;
	char	   *doc = errorDoc(code, message);

	drErrorClear(&err);
	if (!s3StsParse(doc, strlen(doc), &a, &err))
	{
		ok(false, "%s parsed", code);
		return;
	}
	ok(!s3StsError(&a, status, "arn:aws:iam::123456789012:role/pgdr", "/var/run/token",
				   "eyJSECRETTOKEN", &err), "%s: false", code);
	is_int(err.code, wantCode, "%s: its error code", code);
	ok(strstr(err.message, wantMessage) != NULL, "%s: message", code);
	if (strstr(err.message, wantMessage) == NULL)
		diag("message: %s", err.message);
	ok(wantHint == NULL ? err.hint[0] == '\0' : strstr(err.hint, wantHint) != NULL,
	   "%s: hint", code);
	if (wantHint != NULL && strstr(err.hint, wantHint) == NULL)
		diag("hint: %s", err.hint);
	ok(strstr(err.message, "eyJSECRETTOKEN") == NULL &&
	   strstr(err.hint, "eyJSECRETTOKEN") == NULL, "%s: no token", code);
	s3StsAnswerClear(&a);
}

static void
testStsError(void)
{
	stsError("InvalidIdentityToken", "Incorrect token audience", 400, DR_ERR_KEY,
			 "STS refused the web identity token of \"/var/run/token\" for role \"arn:aws:iam::123456789012:role/pgdr\" (HTTP 400 InvalidIdentityToken: Incorrect token audience) (request id 7f0d2bde-EXAMPLE)",
			 "trust its issuer");
	stsError("InvalidIdentityToken", "the token eyJSECRETTOKEN is malformed", 400,
			 DR_ERR_KEY, "(HTTP 400 InvalidIdentityToken) (request id", "trust its issuer");
	stsError("ExpiredTokenException", "Token expired: current date/time 1700000000 must be before the expiration date/time 1690000000",
			 400, DR_ERR_KEY,
			 "the web identity token in \"/var/run/token\" has expired (HTTP 400 ExpiredTokenException: Token expired",
			 "The kubelet rewrites");
	stsError("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity", 403,
			 DR_ERR_PERMISSION,
			 "STS denied assuming role \"arn:aws:iam::123456789012:role/pgdr\" with the web identity token of \"/var/run/token\" (HTTP 403 AccessDenied: Not authorized",
			 "trust policy must allow sts:AssumeRoleWithWebIdentity");
	stsError("IDPRejectedClaim", "claims rejected", 403, DR_ERR_PERMISSION,
			 "STS denied assuming role", "trust policy");
	stsError("RegionDisabledException", "STS is not activated", 403, DR_ERR_CONFIG,
			 "STS is not enabled in the region", "repoN_s3_sts_endpoint");
	stsError("ValidationError", "1 validation error detected", 400, DR_ERR_CONFIG,
			 "STS refused to assume role \"arn:aws:iam::123456789012:role/pgdr\" (HTTP 400 ValidationError: 1 validation error detected)",
			 "repoN_s3_role_arn");
	stsError("InternalFailure", "oops", 500, DR_ERR_IO,
			 "(HTTP 500 InternalFailure: oops)", NULL);
}

int
main(void)
{
	testSuccess();
	testErrors();
	testRefusals();
	testRefreshAt();
	testStsError();
	trackFree();
	return tapDone();
}
