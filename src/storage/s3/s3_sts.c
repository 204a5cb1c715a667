/*-------------------------------------------------------------------------
 * s3_sts.c
 *	  Web-identity credentials: the STS AssumeRoleWithWebIdentity call and
 *	  its answer (see s3_sts.h).
 *
 * The answer is read with the driver's push XML reader (s3_xml.h): the
 * names of the open elements are kept by depth, and each leaf is placed
 * by its parent's name, so elements STS adds later (SourceIdentity,
 * Provider, ...) are skipped.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "lib/stringinfo.h"
#include "storage/http/http.h"
#include "storage/s3/s3_response.h"
#include "storage/s3/s3_sts.h"
#include "storage/s3/s3_xml.h"

/* ---- the answer ---- */

typedef struct S3StsParseState
{
	S3StsAnswer *out;
	char		names[S3_XML_DEPTH_MAX + 1][S3_XML_NAME_MAX + 1];
	bool		rootSeen;
	char	   *expiration;		/* as written, until checked */
} S3StsParseState;

static bool s3StsFail(DrError *err, const char *fmt,...) pg_attribute_printf(2, 3);

/* DR_ERR_CORRUPT; fmt starts with "STS answer: " */
static bool
s3StsFail(DrError *err, const char *fmt,...)
{
	char		message[256];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	return drErrorSet(err, DR_ERR_CORRUPT, "%s", message);
}

static bool
s3StsStart(void *arg, int depth, const char *name, DrError *err)
{
	S3StsParseState *st = arg;

	if (depth > S3_XML_DEPTH_MAX)
		return s3StsFail(err, "STS answer: elements nested too deep");
	strlcpy(st->names[depth], name, sizeof(st->names[depth]));
	if (depth == 1)
	{
		if (strcmp(name, "AssumeRoleWithWebIdentityResponse") == 0)
			st->out->isError = false;
		else if (strcmp(name, "ErrorResponse") == 0)
			st->out->isError = true;
		else
			return s3StsFail(err, "STS answer: unexpected document <%s>", name);
		st->rootSeen = true;
	}
	return true;
}

/* Keep text in *field, once. */
static bool
s3StsField(char **field, const char *name, const char *text, size_t len,
		   DrError *err)
{
	if (*field != NULL)
		return s3StsFail(err, "STS answer: <%s> appears twice", name);
	*field = pnstrdup(text, len);
	return true;
}

static bool
s3StsEnd(void *arg, int depth, const char *name, const char *text,
		 size_t textLen, bool leaf, DrError *err)
{
	S3StsParseState *st = arg;
	S3StsAnswer *out = st->out;
	const char *parent = depth >= 2 ? st->names[depth - 1] : "";

	if (!leaf)
		return true;
	if (!out->isError && strcmp(parent, "Credentials") == 0 && depth == 4)
	{
		if (strcmp(name, "AccessKeyId") == 0)
			return s3StsField(&out->credentials.accessKey, name, text, textLen, err);
		if (strcmp(name, "SecretAccessKey") == 0)
			return s3StsField(&out->credentials.secret, name, text, textLen, err);
		if (strcmp(name, "SessionToken") == 0)
			return s3StsField(&out->credentials.sessionToken, name, text, textLen, err);
		if (strcmp(name, "Expiration") == 0)
			return s3StsField(&st->expiration, name, text, textLen, err);
	}
	else if (!out->isError && strcmp(parent, "AssumedRoleUser") == 0 &&
			 strcmp(name, "Arn") == 0)
		return s3StsField(&out->assumedRoleArn, name, text, textLen, err);
	else if (out->isError && depth == 3 && strcmp(parent, "Error") == 0)
	{
		if (strcmp(name, "Code") == 0)
			return s3StsField(&out->errorCode, name, text, textLen, err);
		if (strcmp(name, "Message") == 0)
			return s3StsField(&out->errorMessage, name, text, textLen, err);
	}
	else if (strcmp(name, "RequestId") == 0 &&
			 (depth == 2 || strcmp(parent, "ResponseMetadata") == 0))
		return s3StsField(&out->requestId, name, text, textLen, err);
	return true;
}

/* A field that must be there and not empty. */
static bool
s3StsRequired(const char *value, const char *name, DrError *err)
{
	if (value == NULL || value[0] == '\0')
		return s3StsFail(err, "STS answer: no <%s>", name);
	return true;
}

bool
s3StsParse(const char *body, size_t len, S3StsAnswer *out, DrError *err)
{
	S3StsParseState *st = palloc0(sizeof(S3StsParseState));
	S3XmlCallbacks cb = {s3StsStart, s3StsEnd, st};
	S3Xml	   *xml;
	bool		ok;

	memset(out, 0, sizeof(*out));
	st->out = out;
	xml = s3XmlNew(&cb);
	ok = s3XmlFeed(xml, body, len, err) && s3XmlFinish(xml, err);
	s3XmlFree(xml);
	if (!ok && err != NULL && strncmp(err->message, "STS answer: ", 12) != 0)
		drErrorPrefix(err, "STS answer: ");
	if (ok && !st->rootSeen)
		ok = s3StsFail(err, "STS answer: empty document");
	if (ok && out->isError)
		ok = s3StsRequired(out->errorCode, "Code", err);
	else if (ok)
	{
		time_t		t;

		ok = s3StsRequired(out->credentials.accessKey, "AccessKeyId", err) &&
			s3StsRequired(out->credentials.secret, "SecretAccessKey", err) &&
			s3StsRequired(out->credentials.sessionToken, "SessionToken", err) &&
			s3StsRequired(st->expiration, "Expiration", err);
		if (ok && !s3ResponseTimeParse(st->expiration, &t))
			ok = s3StsFail(err, "STS answer: <Expiration> is not an ISO 8601 time: \"%s\"",
						   st->expiration);
		if (ok)
			out->credentials.expiration = t;
	}
	if (st->expiration)
		pfree(st->expiration);
	pfree(st);
	return ok;
}

static void
s3StsWipe(char **s)
{
	if (*s == NULL)
		return;
	explicit_bzero(*s, strlen(*s));
	pfree(*s);
	*s = NULL;
}

void
s3StsCredentialsClear(S3StsCredentials *c)
{
	s3StsWipe(&c->accessKey);
	s3StsWipe(&c->secret);
	s3StsWipe(&c->sessionToken);
	c->expiration = 0;
}

void
s3StsAnswerClear(S3StsAnswer *a)
{
	s3StsCredentialsClear(&a->credentials);
	s3StsWipe(&a->assumedRoleArn);
	s3StsWipe(&a->errorCode);
	s3StsWipe(&a->errorMessage);
	s3StsWipe(&a->requestId);
}

time_t
s3StsRefreshAt(time_t obtained, time_t expiration)
{
	time_t		life = expiration - obtained;
	time_t		before = S3_STS_REFRESH_BEFORE;

	if (life / 2 < before)
		before = life / 2;
	if (before < 0)
		before = 0;
	return expiration - before;
}

/* ---- errors ---- */

bool
s3StsError(const S3StsAnswer *answer, long status, const char *roleArn,
		   const char *tokenFile, const char *token, DrError *err)
{
	const char *code = answer->errorCode != NULL ? answer->errorCode : "";
	char		detail[512] = "";
	char		rid[160] = "";

	/* STS's own words, unless they quote the token */
	if (answer->errorMessage != NULL && answer->errorMessage[0] != '\0' &&
		(token == NULL || token[0] == '\0' ||
		 strstr(answer->errorMessage, token) == NULL))
		snprintf(detail, sizeof(detail), ": %s", answer->errorMessage);
	if (answer->requestId != NULL)
		snprintf(rid, sizeof(rid), " (request id %s)", answer->requestId);

	if (strcmp(code, "InvalidIdentityToken") == 0)
	{
		drErrorSet(err, DR_ERR_KEY,
				   "STS refused the web identity token of \"%s\" for role \"%s\" (HTTP %ld InvalidIdentityToken%s)%s",
				   tokenFile, roleArn, status, detail, rid);
		drErrorHint(err, "the file must hold the service account's current token, and the role's trust policy must trust its issuer (the cluster's OIDC provider) and audience (sts.amazonaws.com)");
	}
	else if (strcmp(code, "ExpiredTokenException") == 0 ||
			 strcmp(code, "ExpiredToken") == 0)
	{
		drErrorSet(err, DR_ERR_KEY,
				   "the web identity token in \"%s\" has expired (HTTP %ld %s%s)%s",
				   tokenFile, status, code, detail, rid);
		drErrorHint(err, "the kubelet rewrites a projected service account token before it expires: check that the file is the mounted token, not a stale copy");
	}
	else if (strcmp(code, "AccessDenied") == 0 ||
			 strcmp(code, "IDPRejectedClaim") == 0)
	{
		drErrorSet(err, DR_ERR_PERMISSION,
				   "STS denied assuming role \"%s\" with the web identity token of \"%s\" (HTTP %ld %s%s)%s",
				   roleArn, tokenFile, status, code, detail, rid);
		drErrorHint(err, "the role's trust policy must allow sts:AssumeRoleWithWebIdentity for this identity (its issuer, audience and subject, e.g. system:serviceaccount:NAMESPACE:NAME)");
	}
	else if (strcmp(code, "RegionDisabledException") == 0)
	{
		drErrorSet(err, DR_ERR_CONFIG,
				   "STS is not enabled in the region of its endpoint (HTTP %ld %s%s)%s",
				   status, code, detail, rid);
		drErrorHint(err, "activate STS for the region in the account, or set repoN_s3_sts_endpoint to an enabled region's");
	}
	else
	{
		drErrorSet(err, status >= 500 ? DR_ERR_IO : DR_ERR_CONFIG,
				   "STS refused to assume role \"%s\" (HTTP %ld%s%s%s)%s",
				   roleArn, status, code[0] ? " " : "", code, detail, rid);
		if (status < 500)
			drErrorHint(err, "check repoN_s3_role_arn (or AWS_ROLE_ARN) and repoN_s3_sts_endpoint");
	}
	return false;
}

/* ---- the call ---- */

/* The token file's content without surrounding white space, palloc'd. */
static char *
s3StsTokenRead(const char *path, DrError *err)
{
	StringInfoData buf;
	char		chunk[4096];
	int			fd;
	ssize_t		n;
	size_t		start = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
	{
		/* never DR_ERR_NOT_FOUND: that would read as a missing object */
		drErrorSet(err, errno == EACCES ? DR_ERR_PERMISSION : DR_ERR_CONFIG,
				   "could not open the web identity token file \"%s\": %m", path);
		drErrorHint(err, "set AWS_WEB_IDENTITY_TOKEN_FILE (or repoN_s3_web_identity_token_file) to the service account token the pod mounts");
		return NULL;
	}
	initStringInfo(&buf);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0)
	{
		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			drErrorSet(err, DR_ERR_IO, "could not read the web identity token file \"%s\": %m",
					   path);
			break;
		}
		if (buf.len + n > S3_STS_TOKEN_MAX)
		{
			drErrorSet(err, DR_ERR_CONFIG,
					   "the web identity token file \"%s\" is larger than %d bytes",
					   path, S3_STS_TOKEN_MAX);
			n = -1;
			break;
		}
		appendBinaryStringInfo(&buf, chunk, n);
	}
	close(fd);
	explicit_bzero(chunk, sizeof(chunk));
	if (n < 0)
	{
		explicit_bzero(buf.data, buf.len);
		pfree(buf.data);
		return NULL;
	}
	while (buf.len > 0 && (buf.data[buf.len - 1] == '\n' ||
						   buf.data[buf.len - 1] == '\r' ||
						   buf.data[buf.len - 1] == ' ' ||
						   buf.data[buf.len - 1] == '\t'))
		buf.data[--buf.len] = '\0';
	while (start < (size_t) buf.len &&
		   (buf.data[start] == ' ' || buf.data[start] == '\n' ||
			buf.data[start] == '\t' || buf.data[start] == '\r'))
		start++;
	if (start == (size_t) buf.len)
	{
		pfree(buf.data);
		drErrorSet(err, DR_ERR_CONFIG, "the web identity token file \"%s\" is empty",
				   path);
		return NULL;
	}
	if (start > 0)
	{
		char	   *t = pstrdup(buf.data + start);

		explicit_bzero(buf.data, buf.len);
		pfree(buf.data);
		return t;
	}
	return buf.data;
}

static void
s3StsFormAdd(StringInfo body, const char *name, const char *value)
{
	if (body->len > 0)
		appendStringInfoChar(body, '&');
	httpUrlEncode(body, name, false);
	appendStringInfoChar(body, '=');
	httpUrlEncode(body, value, false);
}

bool
s3StsAssume(const S3StsParam *param, S3StsCredentials *out, DrError *err)
{
	HttpClientParam cp;
	HttpClient *http;
	HttpRequest req;
	HttpResponse resp;
	S3StsAnswer answer;
	StringInfoData body;
	char	   *token;
	char	   *url;
	const char *headers[3];
	bool		ok = false;

	memset(out, 0, sizeof(*out));
	token = s3StsTokenRead(param->tokenFile, err);
	if (token == NULL)
		return false;

	memset(&cp, 0, sizeof(cp));
	cp.service = "sts";
	cp.caFile = param->caFile;
	cp.caPath = param->caPath;
	cp.host = param->host;
	http = httpClientNew(&cp, err);
	if (http == NULL)
	{
		explicit_bzero(token, strlen(token));
		pfree(token);
		return false;
	}

	initStringInfo(&body);
	s3StsFormAdd(&body, "Action", "AssumeRoleWithWebIdentity");
	s3StsFormAdd(&body, "Version", S3_STS_VERSION);
	s3StsFormAdd(&body, "RoleArn", param->roleArn);
	s3StsFormAdd(&body, "RoleSessionName", param->sessionName);
	s3StsFormAdd(&body, "WebIdentityToken", token);
	url = psprintf("https://%s/", param->endpoint);
	headers[0] = "Content-Type: application/x-www-form-urlencoded; charset=utf-8";
	headers[1] = "Accept: application/xml";
	headers[2] = NULL;

	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = url;
	req.headers = headers;
	req.body = body.data;
	req.bodyLen = body.len;
	req.responseMax = S3_STS_ANSWER_MAX;
	req.host = param->host;
	memset(&answer, 0, sizeof(answer));
	if (!httpRequest(http, &req, &resp, err))
	{
		if (err != NULL && err->code != DR_ERR_CANCELED)
		{
			drErrorPrefix(err, "could not get web identity credentials from STS at \"%s\": ",
						  param->endpoint);
			if (err->hint[0] == '\0')
				drErrorHint(err, "check repoN_s3_sts_endpoint (default sts.<region>.amazonaws.com) and that this host reaches it");
		}
	}
	else if (!s3StsParse(resp.body != NULL ? resp.body : "",
						 resp.body != NULL ? resp.bodyLen : 0, &answer, err))
	{
		/* not STS's XML: say what came */
		if (resp.status != 200)
			drErrorSet(err, DR_ERR_IO,
					   "STS at \"%s\" answered HTTP %ld%s%s without an STS error document",
					   param->endpoint, resp.status,
					   resp.errorCode[0] ? " " : "", resp.errorCode);
		else
			drErrorPrefix(err, "STS at \"%s\": ", param->endpoint);
	}
	else if (answer.isError || resp.status != 200)
	{
		if (!answer.isError)
			drErrorSet(err, DR_ERR_IO, "STS at \"%s\" answered HTTP %ld with credentials",
					   param->endpoint, resp.status);
		else
			s3StsError(&answer, resp.status, param->roleArn, param->tokenFile,
					   token, err);
	}
	else
	{
		/* the credentials move to *out */
		*out = answer.credentials;
		memset(&answer.credentials, 0, sizeof(answer.credentials));
		ok = true;
	}
	if (resp.body != NULL)
		explicit_bzero(resp.body, resp.bodyLen);
	httpResponseFree(&resp);
	s3StsAnswerClear(&answer);
	httpClientFree(http);
	explicit_bzero(body.data, body.len);
	pfree(body.data);
	explicit_bzero(token, strlen(token));
	pfree(token);
	pfree(url);
	return ok;
}
