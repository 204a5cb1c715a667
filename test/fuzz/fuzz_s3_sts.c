/*-------------------------------------------------------------------------
 * fuzz_s3_sts.c
 *	  Fuzz target for STS AssumeRoleWithWebIdentity answers
 *	  (src/storage/s3/s3_sts.c, over s3_xml.c).
 *
 * Whatever the input holds, s3StsParse must either fail with
 * DR_ERR_CORRUPT and a message starting "STS answer: ", or succeed with
 * an answer whose invariants hold: an error has a non-empty code; a
 * success has a non-empty key, secret and session token and an
 * expiration.  s3StsError must then make a message of any error answer
 * without quoting the token it is given.  Never crash, leak or read out
 * of bounds.
 *
 *	 make fuzz && build/fuzz/fuzz_s3_sts -max_len=4096    (libFuzzer)
 *	 build/fuzz-smoke/fuzz_s3_sts [iterations [seed]]    (fuzz_mutate.c; run by make unit)
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "fuzz_mutate.h"
#include "storage/s3/s3_sts.h"

static void
fuzzCheck(bool cond)
{
	if (!cond)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8 *data, size_t size)
{
	S3StsAnswer answer;
	DrError		err;

	drErrorClear(&err);
	if (!s3StsParse((const char *) data, size, &answer, &err))
		fuzzCheck(err.code == DR_ERR_CORRUPT &&
				  strncmp(err.message, "STS answer: ", 12) == 0);
	else if (answer.isError)
	{
		fuzzCheck(answer.errorCode != NULL && answer.errorCode[0] != '\0');
		drErrorClear(&err);
		fuzzCheck(!s3StsError(&answer, 400, "arn:aws:iam::1:role/r", "/t",
							  "SECRET-TOKEN", &err));
		fuzzCheck(err.code != DR_OK && err.message[0] != '\0');
		fuzzCheck(strstr(err.message, "SECRET-TOKEN") == NULL);
	}
	else
	{
		fuzzCheck(answer.credentials.accessKey != NULL &&
				  answer.credentials.accessKey[0] != '\0');
		fuzzCheck(answer.credentials.secret != NULL &&
				  answer.credentials.secret[0] != '\0');
		fuzzCheck(answer.credentials.sessionToken != NULL &&
				  answer.credentials.sessionToken[0] != '\0');
	}
	s3StsAnswerClear(&answer);
	return 0;
}

static const char *const seeds[] = {
	"<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
	"<AssumeRoleWithWebIdentityResult>"
	"<SubjectFromWebIdentityToken>amzn1.account.AF6RHO7KZU5XRVQJGXK6HB56KR2A</SubjectFromWebIdentityToken>"
	"<Audience>client.5498841531868486423.1548@apps.example.com</Audience>"
	"<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/FederatedWebIdentityRole/app1</Arn>"
	"<AssumedRoleId>AROACLKWSDQRAOEXAMPLE:app1</AssumedRoleId></AssumedRoleUser>"
	"<Credentials><SessionToken>AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE</SessionToken>"
	"<SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>"
	"<Expiration>2014-10-24T23:00:23Z</Expiration>"
	"<AccessKeyId>ASgeIAIOSFODNN7EXAMPLE</AccessKeyId></Credentials>"
	"<SourceIdentity>SourceIdentityValue</SourceIdentity><Provider>www.amazon.com</Provider>"
	"</AssumeRoleWithWebIdentityResult>"
	"<ResponseMetadata><RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId></ResponseMetadata>"
	"</AssumeRoleWithWebIdentityResponse>",
	"<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>"
	"<Code>InvalidIdentityToken</Code><Message>Incorrect token audience</Message></Error>"
	"<RequestId>c5d1d7e4-0000-4000-8000-EXAMPLE</RequestId></ErrorResponse>",
	"<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredTokenException</Code>"
	"<Message>Token expired: current date/time 1700000000 must be before the expiration date/time 1690000000</Message>"
	"</Error><RequestId>r</RequestId></ErrorResponse>",
	"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
	"<Message>Not authorized to perform sts:AssumeRoleWithWebIdentity</Message></Error></ErrorResponse>",
};

const char *const *
fuzzSeeds(int *count)
{
	*count = lengthof(seeds);
	return seeds;
}
